#include "feedback_strikes.h"
#include "feedback_visits.h"
#include "asp_config.h"
#include "asp_json.h"
#include "asp_log.h"
#include <assert.h>

extern const char asp_lua_ladder [];
extern const char asp_lua_strike_sent [];

#define S_DEFAULT_STEPS "warning,penalty,removal"
#define S_DAY_MS 86400000LL

static const char *s_action_names [] = { "struck", "withdrawn", "reviewed" };

struct feedback_strikes_t {
    asp_svc_t *svc;
    asp_script_t *ladder, *sent;
    feedback_ladder_cfg_t cfg;
    int64_t interval_ms;
    int timer_id;
    asp_counter_t *m_changes;
    asp_family_t *m_outcomes;       //  ladder changes by action (feedback_strike_action_name)
};

//  A ladder as read: its version and strikes (the review's words beside
//  each, kept as they were).
typedef struct {
    char ver [32];
    bool removed;                   //  as read
    feedback_strike_t *strike;
    char (*reason) [256];
    char (*by) [ASP_ID_MAX];
    int64_t *reviewed_ms;
    size_t n, max;
} s_ladder_t;


//  --------------------------------------------------------------------------
//  The ladder's rule

const char *
feedback_strike_action_name (feedback_strike_action_t action)
{
    return action <= FEEDBACK_STRIKE_REVIEWED? s_action_names [action]: "?";
}

int
feedback_ladder_steps (feedback_ladder_cfg_t *cfg, const char *spec, char *err, size_t errlen)
{
    cfg->steps = 0;
    const char *p = spec;
    while (*p) {
        size_t len = strcspn (p, ",");
        int step = asp_vocab_parsen (&asp_vocab_strike_step, p, len);
        if (step < 0) {
            snprintf (err, errlen, "unknown step \"%.*s\" (warning, penalty or removal)", (int) len, p);
            return -1;
        }
        if (cfg->steps == FEEDBACK_LADDER_MAX) {
            snprintf (err, errlen, "more than %d steps", FEEDBACK_LADDER_MAX);
            return -1;
        }
        if (cfg->steps && cfg->step [cfg->steps - 1] == ASP_STRIKE_REMOVAL) {
            snprintf (err, errlen, "removal must be the last step");
            return -1;
        }
        cfg->step [cfg->steps++] = (asp_strike_step_t) step;
        p += len;
        if (*p == ',' && *++p == '\0') {
            snprintf (err, errlen, "empty step at the end");
            return -1;
        }
    }
    if (cfg->steps == 0) {
        snprintf (err, errlen, "no steps");
        return -1;
    }
    return 0;
}

static bool
s_counts (const feedback_strike_t *s)
{
    return s->state != ASP_STRIKE_OVERTURNED;
}

//  True when a comes before b: by time, then id (a total order, so the
//  levels do not depend on the order the strikes arrived in).
static bool
s_before (const feedback_strike_t *a, const feedback_strike_t *b)
{
    return a->ms < b->ms || (a->ms == b->ms && strcmp (a->id, b->id) <= 0);
}

static asp_strike_step_t
s_step_of (const feedback_ladder_cfg_t *cfg, int64_t level)
{
    size_t i = (size_t) level < cfg->steps? (size_t) level: cfg->steps;
    return cfg->step [i - 1];
}

bool
feedback_ladder_levels (const feedback_ladder_cfg_t *cfg, feedback_strike_t *strikes, size_t n)
{
    bool removed = false;
    for (size_t i = 0; i < n; i++) {
        feedback_strike_t *x = &strikes [i];
        x->level = x->technician_level = 0;
        if (!s_counts (x))
            continue;
        for (size_t j = 0; j < n; j++) {
            const feedback_strike_t *y = &strikes [j];
            if (!s_counts (y) || !s_before (y, x) || y->ms <= x->ms - cfg->window_ms)
                continue;
            x->level++;
            if (*x->technician && streq (x->technician, y->technician))
                x->technician_level++;
        }
        if (s_step_of (cfg, x->level) == ASP_STRIKE_REMOVAL)
            removed = true;
    }
    return removed;
}


//  --------------------------------------------------------------------------
//  The ladder in Redis

static void
s_ladder_free (s_ladder_t *l)
{
    free (l->strike);
    free (l->reason);
    free (l->by);
    free (l->reviewed_ms);
    memset (l, 0, sizeof *l);
}

//  A new zeroed slot at the end.
static size_t
s_ladder_push (s_ladder_t *l)
{
    if (l->n == l->max) {
        l->max = l->max? 2 * l->max: 8;
        l->strike = realloc (l->strike, l->max * sizeof *l->strike);
        l->reason = realloc (l->reason, l->max * sizeof *l->reason);
        l->by = realloc (l->by, l->max * sizeof *l->by);
        l->reviewed_ms = realloc (l->reviewed_ms, l->max * sizeof *l->reviewed_ms);
        assert (l->strike && l->reason && l->by && l->reviewed_ms);
    }
    size_t i = l->n++;
    memset (&l->strike [i], 0, sizeof l->strike [i]);
    l->reason [i][0] = l->by [i][0] = '\0';
    l->reviewed_ms [i] = 0;
    return i;
}

static void
s_copy_json_str (const cJSON *o, const char *key, char *out, size_t len)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive (o, key);
    snprintf (out, len, "%s", cJSON_IsString (v)? v->valuestring: "");
}

//  Reads partner's ladder. 0, or -1 when Redis failed.
static int
s_ladder_read (asp_rds_t *rds, const char *partner, s_ladder_t *l)
{
    memset (l, 0, sizeof *l);
    char key [ASP_KEY_MAX];
    asp_key_fmt (key, sizeof key, asp_shard_of (partner), FEEDBACK_KEY_LADDER, partner);
    redisReply *r = asp_rds_cmd (rds, "HGETALL %s", key);
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        if (r)
            freeReplyObject (r);
        return -1;
    }
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const char *f = r->element [i]->str, *v = r->element [i + 1]->str;
        if (!f || !v)
            continue;
        if (streq (f, "ver"))
            snprintf (l->ver, sizeof l->ver, "%s", v);
        if (streq (f, "removed"))
            l->removed = streq (v, "1");
        if (strncmp (f, "s|", 2) != 0)
            continue;
        cJSON *o = cJSON_Parse (v);
        if (!o)
            continue;           //  not ours to mend: left as it is
        size_t k = s_ladder_push (l);
        feedback_strike_t *s = &l->strike [k];
        snprintf (s->id, sizeof s->id, "%s", f + 2);
        s_copy_json_str (o, "ticket_id", s->ticket, sizeof s->ticket);
        s_copy_json_str (o, "technician_id", s->technician, sizeof s->technician);
        s->ms = asp_json_get_int (o, "ms", 0);
        char state [16];
        s_copy_json_str (o, "state", state, sizeof state);
        int st = asp_vocab_parse (&asp_vocab_strike_state, state);
        s->state = st < 0? ASP_STRIKE_ACTIVE: (asp_strike_state_t) st;
        s_copy_json_str (o, "reason", l->reason [k], sizeof l->reason [k]);
        s_copy_json_str (o, "by", l->by [k], sizeof l->by [k]);
        l->reviewed_ms [k] = asp_json_get_int (o, "reviewed_ms", 0);
        cJSON_Delete (o);
    }
    freeReplyObject (r);
    return 0;
}

static ssize_t
s_ladder_find (const s_ladder_t *l, const char *id)
{
    for (size_t i = 0; i < l->n; i++)
        if (streq (l->strike [i].id, id))
            return (ssize_t) i;
    return -1;
}

//  Strike k as the ladder keeps it (JSON, caller frees with cJSON_free).
static char *
s_strike_json (const feedback_ladder_cfg_t *cfg, const s_ladder_t *l, size_t k)
{
    const feedback_strike_t *s = &l->strike [k];
    cJSON *o = cJSON_CreateObject ();
    cJSON_AddStringToObject (o, "ticket_id", s->ticket);
    cJSON_AddStringToObject (o, "technician_id", s->technician);
    cJSON_AddNumberToObject (o, "ms", (double) s->ms);
    cJSON_AddStringToObject (o, "state", asp_vocab_name (&asp_vocab_strike_state, s->state));
    cJSON_AddNumberToObject (o, "level", (double) s->level);
    cJSON_AddStringToObject (o, "step", s->level? asp_vocab_name (&asp_vocab_strike_step, s_step_of (cfg, s->level)): "");
    cJSON_AddNumberToObject (o, "technician_level", (double) s->technician_level);
    cJSON_AddStringToObject (o, "technician_step", s->technician_level?
                             asp_vocab_name (&asp_vocab_strike_step, s_step_of (cfg, s->technician_level)): "");
    if (l->reviewed_ms [k]) {
        cJSON_AddStringToObject (o, "reason", l->reason [k]);
        cJSON_AddStringToObject (o, "by", l->by [k]);
        cJSON_AddNumberToObject (o, "reviewed_ms", (double) l->reviewed_ms [k]);
    }
    char *text = cJSON_PrintUnformatted (o);
    cJSON_Delete (o);
    return text;
}

//  partner.strike: what happened to strike s (action) on partner's ladder,
//  and where the ladder now stands (its version orders the events).
static asp_msg_t *
s_event (feedback_strikes_t *self, const char *partner, const feedback_strike_t *s,
         feedback_strike_action_t action, const char *reason, bool was_removed, bool removed, int64_t ver)
{
    //  The word notification tells ops by: the step a strike reached, one
    //  withdrawn, or the review (reinstated when it ended a removal).
    const char *notice = action == FEEDBACK_STRIKE_WITHDRAWN? "withdrawn":
                         action == FEEDBACK_STRIKE_REVIEWED && was_removed && !removed? "reinstated":
                         action == FEEDBACK_STRIKE_REVIEWED? asp_vocab_name (&asp_vocab_strike_state, s->state):
                         s->level? asp_vocab_name (&asp_vocab_strike_step, s_step_of (&self->cfg, s->level)): "withdrawn";
    asp_msg_t *msg = asp_msg_new (ASP_EV_PARTNER_STRIKE, s->ticket, NULL);
    asp_mpmap_str (msg->body, "partner_id", partner);
    asp_mpmap_str (msg->body, "action", feedback_strike_action_name (action));
    asp_mpmap_str (msg->body, "strike_id", s->id);
    asp_mpmap_str (msg->body, "technician_id", s->technician);
    asp_mpmap_int (msg->body, "strike_ms", s->ms);
    asp_mpmap_str (msg->body, "state", asp_vocab_name (&asp_vocab_strike_state, s->state));
    asp_mpmap_int (msg->body, "level", s->level);
    asp_mpmap_str (msg->body, "step", s->level? asp_vocab_name (&asp_vocab_strike_step, s_step_of (&self->cfg, s->level)): "");
    asp_mpmap_int (msg->body, "technician_level", s->technician_level);
    asp_mpmap_str (msg->body, "technician_step", s->technician_level?
                   asp_vocab_name (&asp_vocab_strike_step, s_step_of (&self->cfg, s->technician_level)): "");
    if (reason)
        asp_mpmap_str (msg->body, "reason", reason);
    asp_mpmap_bool (msg->body, "removed", removed);
    asp_mpmap_int (msg->body, "ladder_version", ver);
    asp_mpmap_str (msg->body, "notice", notice);
    return msg;
}

//  The txn that writes the ladder as it now is (every strike, with its
//  levels recomputed; gone, the field of a strike withdrawn) if it did not
//  move since it was read, with partner.strike about subject (strike k, or
//  gone when k < 0).
static asp_txn_t *
s_ladder_txn (feedback_strikes_t *self, const char *partner, s_ladder_t *l, const char *gone,
              ssize_t k_subject, const feedback_strike_t *gone_strike, feedback_strike_action_t action)
{
    bool removed = feedback_ladder_levels (&self->cfg, l->strike, l->n);
    int64_t ver = strtoll (l->ver, NULL, 10) + 1;
    feedback_strike_t was;
    if (k_subject < 0) {
        was = *gone_strike;
        was.level = was.technician_level = 0;
    }
    asp_msg_t *msg = s_event (self, partner, k_subject < 0? &was: &l->strike [k_subject], action,
                              k_subject >= 0 && l->reviewed_ms [k_subject]? l->reason [k_subject]: NULL,
                              l->removed, removed, ver);
    asp_txn_t *txn = asp_txn_new (self->ladder, asp_shard_of (partner));
    asp_txn_key (txn, FEEDBACK_KEY_LADDER, partner);
    asp_txn_arg (txn, "%s", l->ver);
    for (size_t k = 0; k < l->n; k++) {
        char *text = s_strike_json (&self->cfg, l, k);
        asp_txn_arg (txn, "s|%s", l->strike [k].id);
        asp_txn_arg (txn, "%s", text);
        cJSON_free (text);
    }
    if (gone) {
        asp_txn_arg (txn, "s|%s", gone);
        asp_txn_arg (txn, "%s", "");
    }
    asp_txn_arg (txn, "removed");
    asp_txn_arg (txn, "%s", removed? "1": "");
    asp_txn_publish (txn, &msg);
    return txn;
}

//  The same, run now: 0, or -1 (try again later).
static int
s_ladder_write (feedback_strikes_t *self, const char *partner, s_ladder_t *l, const char *gone,
                ssize_t k_subject, const feedback_strike_t *gone_strike, feedback_strike_action_t action)
{
    asp_txn_t *txn = s_ladder_txn (self, partner, l, gone, k_subject, gone_strike, action);
    asp_svc_commit (self->svc, &txn, 1);
    int rc = asp_txn_outcome (txn) == ASP_TXN_OK? 0: -1;
    if (rc)
        asp_log_warn ("strikes: ladder of %s not written (%s %s): again next tick", partner,
                         asp_txn_outcome_name (asp_txn_outcome (txn)), asp_txn_reason (txn));
    else {
        asp_counter_add (self->m_changes, 1);
        asp_counter_inc (asp_family_counter (self->m_outcomes, feedback_strike_action_name (action), NULL, NULL));
    }
    asp_txn_destroy (&txn);
    return rc;
}

//  Strike id (ticket, technician, ms) is on partner's ladder: added, or
//  moved to what its survey answer now says. 0, or -1.
static int
s_add (feedback_strikes_t *self, const char *partner, const char *id, const char *ticket,
       const char *tech, int64_t ms)
{
    s_ladder_t l;
    if (s_ladder_read (asp_svc_rds (self->svc), partner, &l))
        return -1;
    ssize_t k = s_ladder_find (&l, id);
    int rc = 0;
    if (k < 0 || l.strike [k].ms != ms || !streq (l.strike [k].technician, tech)) {
        if (k < 0) {
            k = (ssize_t) s_ladder_push (&l);
            snprintf (l.strike [k].id, sizeof l.strike [k].id, "%s", id);
            l.strike [k].state = ASP_STRIKE_ACTIVE;
        }
        snprintf (l.strike [k].ticket, sizeof l.strike [k].ticket, "%s", ticket);
        snprintf (l.strike [k].technician, sizeof l.strike [k].technician, "%s", tech);
        l.strike [k].ms = ms;
        rc = s_ladder_write (self, partner, &l, NULL, k, NULL, FEEDBACK_STRIKE_STRUCK);
    }
    s_ladder_free (&l);
    return rc;
}

//  Strike id is no longer partner's (its survey answer now counts for
//  another completion, or none). 0, or -1.
static int
s_withdraw (feedback_strikes_t *self, const char *partner, const char *id)
{
    s_ladder_t l;
    if (s_ladder_read (asp_svc_rds (self->svc), partner, &l))
        return -1;
    ssize_t k = s_ladder_find (&l, id);
    int rc = 0;
    if (k >= 0) {
        feedback_strike_t gone = l.strike [k];
        l.strike [k] = l.strike [l.n - 1];
        memcpy (l.reason [k], l.reason [l.n - 1], sizeof l.reason [k]);
        memcpy (l.by [k], l.by [l.n - 1], sizeof l.by [k]);
        l.reviewed_ms [k] = l.reviewed_ms [l.n - 1];
        l.n--;
        rc = s_ladder_write (self, partner, &l, id, -1, &gone, FEEDBACK_STRIKE_WITHDRAWN);
    }
    s_ladder_free (&l);
    return rc;
}

//  The review of strike on partner's ladder as a txn applied once per
//  msg_id; NULL when the ladder has no such strike (or Redis failed: then
//  *failed).
static asp_txn_t *
s_review_txn (feedback_strikes_t *self, const char *partner, const char *strike,
              asp_strike_review_t decision, const char *reason, const char *by, const char *msg_id,
              bool *failed)
{
    s_ladder_t l;
    *failed = s_ladder_read (asp_svc_rds (self->svc), partner, &l) != 0;
    if (*failed)
        return NULL;
    ssize_t k = s_ladder_find (&l, strike);
    asp_txn_t *txn = NULL;
    if (k >= 0) {
        l.strike [k].state = decision == ASP_REVIEW_OVERTURN? ASP_STRIKE_OVERTURNED:
                                                                   ASP_STRIKE_UPHELD;
        snprintf (l.reason [k], sizeof l.reason [k], "%s", reason);
        snprintf (l.by [k], sizeof l.by [k], "%s", by);
        l.reviewed_ms [k] = asp_now_ms ();
        txn = s_ladder_txn (self, partner, &l, NULL, k, NULL, FEEDBACK_STRIKE_REVIEWED);
        if (msg_id)
            asp_txn_inbox (txn, msg_id);
    }
    s_ladder_free (&l);
    return txn;
}

//  strike.reviewed (intake: ops' decision on a strike): the ladder steps
//  back (overturn) or keeps its steps (uphold), once. A strike the ladder
//  does not have is refused (NAK, named).
static asp_txn_t *
s_on_reviewed (asp_svc_t *svc, const asp_envelope_t *env, char *reason, size_t len, void *arg)
{
    (void) svc;
    feedback_strikes_t *self = (feedback_strikes_t *) arg;
    char partner [ASP_ID_MAX], strike [2 * ASP_ID_MAX], decision [16], why [512] = "", by [ASP_ID_MAX] = "";
    if (asp_mp_get_str (env->body, "partner_id", partner, sizeof partner)
    ||  !asp_id_valid (partner, strlen (partner))) {
        snprintf (reason, len, "strike.reviewed needs partner_id, a partner id");
        return NULL;
    }
    if (asp_mp_get_str (env->body, "strike_id", strike, sizeof strike) || !*strike) {
        snprintf (reason, len, "strike.reviewed needs strike_id, a string");
        return NULL;
    }
    int review;
    if (asp_mp_get_str (env->body, "decision", decision, sizeof decision)
    ||  (review = asp_vocab_parse (&asp_vocab_strike_review, decision)) < 0) {
        snprintf (reason, len, "strike.reviewed needs decision, uphold or overturn");
        return NULL;
    }
    if (asp_mp_get_str (env->body, "reason", why, sizeof why) < 0
    ||  asp_mp_get_str (env->body, "by", by, sizeof by) < 0) {
        snprintf (reason, len, "strike.reviewed: reason and by must be strings");
        return NULL;
    }
    bool failed;
    asp_txn_t *txn = s_review_txn (self, partner, strike, (asp_strike_review_t) review, why, by, env->id, &failed);
    if (!txn)
        snprintf (reason, len, failed? "strike.reviewed: Redis failed, send again":
                                       "strike.reviewed: unknown strike_id %s of partner %s", strike, partner);
    return txn;
}

static void
s_reviewed (asp_svc_t *svc, const asp_envelope_t *env, asp_txn_t *txn, void *arg)
{
    (void) svc; (void) env;
    feedback_strikes_t *self = (feedback_strikes_t *) arg;
    if (asp_txn_outcome (txn) == ASP_TXN_OK) {
        asp_counter_add (self->m_changes, 1);
        asp_counter_inc (asp_family_counter (self->m_outcomes,
                                             feedback_strike_action_name (FEEDBACK_STRIKE_REVIEWED), NULL, NULL));
    }
}


//  --------------------------------------------------------------------------
//  The timer: strikes from the tickets' shards to the partners' ladders

//  Parses "<partner>|<technician>|<ms>" ('' is none: *partner empty).
static int
s_attribution (const char *a, char *partner, char *tech, int64_t *ms)
{
    *partner = *tech = '\0';
    *ms = 0;
    if (!*a)
        return 0;
    const char *bar1 = strchr (a, '|'), *bar2 = bar1? strchr (bar1 + 1, '|'): NULL;
    if (!bar2 || bar1 == a || bar1 - a >= ASP_ID_MAX || bar2 - bar1 - 1 >= ASP_ID_MAX)
        return -1;
    snprintf (partner, ASP_ID_MAX, "%.*s", (int) (bar1 - a), a);
    snprintf (tech, ASP_ID_MAX, "%.*s", (int) (bar2 - bar1 - 1), bar1 + 1);
    *ms = strtoll (bar2 + 1, NULL, 10);
    return 0;
}

//  Delivers strike id of shard (now attributed as due) to the ladders,
//  then records it as sent there.
static void
s_deliver (feedback_strikes_t *self, unsigned shard, const char *id, const char *due)
{
    asp_rds_t *rds = asp_svc_rds (self->svc);
    char key [ASP_KEY_MAX];
    asp_key_fmt (key, sizeof key, shard, FEEDBACK_KEY_STRIKES_SENT);
    redisReply *r = asp_rds_cmd (rds, "HGET %s %s", key, id);
    if (!r || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_NIL)) {
        if (r)
            freeReplyObject (r);
        return;
    }
    char partner [ASP_ID_MAX], tech [ASP_ID_MAX], was [ASP_ID_MAX], was_tech [ASP_ID_MAX];
    char ticket [ASP_ID_MAX];
    int64_t ms, was_ms;
    int bad = s_attribution (due, partner, tech, &ms)
            | s_attribution (r->type == REDIS_REPLY_STRING? r->str: "", was, was_tech, &was_ms);
    freeReplyObject (r);
    const char *dash = strrchr (id, '-');
    if (bad || !dash || dash - id >= ASP_ID_MAX) {
        asp_log_warn ("strikes: %s: bad entry \"%s\", left as it is", id, due);
        return;
    }
    snprintf (ticket, sizeof ticket, "%.*s", (int) (dash - id), id);
    if (*was && !streq (was, partner) && s_withdraw (self, was, id))
        return;
    if (*partner && s_add (self, partner, id, ticket, tech, ms))
        return;
    asp_txn_t *txn = asp_txn_new (self->sent, shard);
    asp_txn_key (txn, FEEDBACK_KEY_STRIKES_DUE);
    asp_txn_key (txn, FEEDBACK_KEY_STRIKES_SENT);
    asp_txn_arg (txn, "%s", id);
    asp_txn_arg (txn, "%s", due);
    asp_svc_commit (self->svc, &txn, 1);
    asp_txn_destroy (&txn);
}

static int
s_on_tick (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop; (void) timer_id;
    feedback_strikes_t *self = (feedback_strikes_t *) arg;
    if (!asp_rds_ready (asp_svc_rds (self->svc)))
        return 0;
    const char *argv [] = { "HGETALL", FEEDBACK_KEY_STRIKES_DUE };
    redisReply *replies [ASP_SHARDS];
    if (asp_rds_each_shard (asp_svc_rds (self->svc), 2, argv, replies) == 0)
        for (unsigned s = 0; s < ASP_SHARDS; s++) {
            redisReply *r = replies [s];
            for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2)
                if (r->element [i]->str && r->element [i + 1]->str)
                    s_deliver (self, s, r->element [i]->str, r->element [i + 1]->str);
        }
    for (unsigned s = 0; s < ASP_SHARDS; s++)
        if (replies [s])
            freeReplyObject (replies [s]);
    return 0;
}

feedback_strikes_t *
feedback_strikes_new (asp_svc_t *svc)
{
    feedback_strikes_t *self = (feedback_strikes_t *) calloc (1, sizeof *self);
    assert (self);
    self->svc = svc;
    char err [256];
    const char *steps = asp_cfg_str ("ASP_STRIKES", S_DEFAULT_STEPS);
    if (feedback_ladder_steps (&self->cfg, steps, err, sizeof err)) {
        asp_log_error ("bad configuration: ASP_STRIKES: %s; write e.g. \"%s\"", err, S_DEFAULT_STEPS);
        exit (2);
    }
    self->cfg.window_ms = asp_cfg_int ("ASP_STRIKE_WINDOW_D", 365, 1, 3650) * S_DAY_MS;
    self->interval_ms = asp_cfg_int ("ASP_SCORE_INTERVAL_MS", 5000, 10, 86400000);
    self->ladder = asp_svc_script (svc, "feedback_ladder", asp_lua_ladder);
    self->sent = asp_svc_script (svc, "feedback_strike_sent", asp_lua_strike_sent);
    self->m_changes = asp_metrics_counter (asp_svc_metrics (svc), "strike_ladder_changes_total",
                                           "Changes written to the partners' strike ladders.");
    self->m_outcomes = asp_metrics_counter_family (asp_svc_metrics (svc), "strikes_total",
        "Strike ladder changes by what happened (struck, withdrawn, reviewed).", "outcome", 16);
    self->timer_id = zloop_timer (asp_svc_loop (svc), (size_t) self->interval_ms, 0, s_on_tick, self);
    asp_svc_on (svc, ASP_EV_STRIKE_REVIEWED, s_on_reviewed, s_reviewed, self);
    return self;
}

void
feedback_strikes_destroy (feedback_strikes_t **self_p)
{
    if (*self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}


//  --------------------------------------------------------------------------
//  Self-test: the rule, then the ladder on a real service loop (asp_probe)

#include "asp_probe.h"

static void
s_test_rule (void)
{
    feedback_ladder_cfg_t cfg;
    char err [128];
    assert (feedback_ladder_steps (&cfg, "warning,penalty,removal", err, sizeof err) == 0);
    assert (cfg.steps == 3 && cfg.step [2] == ASP_STRIKE_REMOVAL);
    assert (feedback_ladder_steps (&cfg, "warning,removal,penalty", err, sizeof err) == -1);
    assert (strstr (err, "last"));
    assert (feedback_ladder_steps (&cfg, "warning,slap", err, sizeof err) == -1);
    assert (strstr (err, "slap"));
    assert (feedback_ladder_steps (&cfg, "", err, sizeof err) == -1);
    assert (feedback_ladder_steps (&cfg, "warning,", err, sizeof err) == -1);
    assert (feedback_ladder_steps (&cfg, "warning,warning,penalty", err, sizeof err) == 0);

    //  Three strikes in any order: levels 1, 2, 3 by time, removed; the
    //  technicians counted apart; one overturned: no removal; one out of
    //  the window before the next: it does not count towards it.
    assert (feedback_ladder_steps (&cfg, "warning,penalty,removal", err, sizeof err) == 0);
    cfg.window_ms = 100;
    feedback_strike_t s [3] = {
        { .id = "T3-1", .technician = "a", .ms = 30 },
        { .id = "T1-1", .technician = "a", .ms = 10 },
        { .id = "T2-1", .technician = "b", .ms = 20 },
    };
    assert (feedback_ladder_levels (&cfg, s, 3));
    assert (s [1].level == 1 && s [2].level == 2 && s [0].level == 3);
    assert (s [1].technician_level == 1 && s [0].technician_level == 2 && s [2].technician_level == 1);
    s [2].state = ASP_STRIKE_OVERTURNED;
    assert (!feedback_ladder_levels (&cfg, s, 3));
    assert (s [0].level == 2 && s [2].level == 0);
    s [2].state = ASP_STRIKE_UPHELD;
    s [0].ms = 111;                         //  T1-1 (10) is out of its window
    assert (!feedback_ladder_levels (&cfg, s, 3));
    assert (s [0].level == 2);
    //  Same time: the id decides, whatever the order.
    s [0].ms = s [2].ms = 20;
    feedback_ladder_levels (&cfg, s, 3);
    assert (s [2].level == 2 && s [0].level == 3);
}

//  Sends a work order's completion by partner and technician, or a
//  survey answer (complaint), and waits for its ACK.
static void
s_test_send (asp_probe_t *probe, const char *type, const char *ticket, const char *partner,
             const char *tech, int64_t ms)
{
    asp_msg_t *msg = asp_msg_new (type, ticket, NULL);
    msg->time_ms = ms;
    if (streq (type, ASP_EV_WO_COMPLETED)) {
        char wo [ASP_CHILD_ID_MAX];
        snprintf (wo, sizeof wo, "W%s", ticket);
        asp_mpmap_str (msg->body, "partner_id", partner);
        asp_mpmap_str (msg->body, "wo_id", wo);
        asp_mpmap_str (msg->body, "result", "fixed");
        asp_mpmap_str (msg->body, "technician", tech);
    }
    else {
        asp_mpmap_int (msg->body, "score", 1);
        asp_mpmap_bool (msg->body, "resolved", false);
        asp_mpmap_bool (msg->body, "complaint", true);
    }
    for (int i = 0; i < 2; i++) {           //  twice: applied once
        asp_probe_send_msg (probe, msg);
        assert (asp_probe_expect (probe, "ACK", msg->id, 5000));
    }
    asp_msg_destroy (&msg);
}

//  The field of partner's ladder (NULL when absent; caller frees).
static char *
s_test_field (asp_probe_t *probe, const char *partner, const char *field)
{
    char key [ASP_KEY_MAX];
    asp_key_fmt (key, sizeof key, asp_shard_of (partner), FEEDBACK_KEY_LADDER, partner);
    redisReply *r = asp_rds_cmd (asp_probe_rds (probe), "HGET %s %s", key, field);
    assert (r);
    char *v = r->type == REDIS_REPLY_STRING? strdup (r->str): NULL;
    freeReplyObject (r);
    return v;
}

//  Waits (5 s at most) until partner's ladder has version ver.
static void
s_test_ver (asp_probe_t *probe, const char *partner, const char *ver)
{
    char *v = NULL;
    for (int i = 0; i < 100; i++) {
        free (v);
        v = s_test_field (probe, partner, "ver");
        if (v && streq (v, ver))
            break;
        zclock_sleep (50);
    }
    if (!v || !streq (v, ver))
        fprintf (stderr, "ladder of %s: version %s, want %s\n", partner, v? v: "none", ver);
    assert (v && streq (v, ver));
    free (v);
}

//  Strike id's field key (a string) on partner's ladder.
static void
s_test_strike (asp_probe_t *probe, const char *partner, const char *id, const char *key,
               const char *want)
{
    char field [2 * ASP_ID_MAX + 2];
    snprintf (field, sizeof field, "s|%s", id);
    char *v = s_test_field (probe, partner, field);
    assert (v);
    cJSON *o = cJSON_Parse (v);
    assert (o);
    const cJSON *x = cJSON_GetObjectItemCaseSensitive (o, key);
    if (!cJSON_IsString (x) || !streq (x->valuestring, want))
        fprintf (stderr, "strike %s: %s, want %s=%s\n", id, v, key, want);
    assert (cJSON_IsString (x) && streq (x->valuestring, want));
    cJSON_Delete (o);
    free (v);
}

//  The next partner.strike feedback sent routing, acknowledged (resends of
//  the one before skipped); checks its strike, step and removed.
static void
s_test_event (asp_probe_t *probe, const char *strike, const char *action, const char *step,
              bool removed)
{
    static char last [ASP_ID_MAX];
    int64_t until = zclock_mono () + 5000;
    asp_envelope_t *env = NULL;
    while (!env && zclock_mono () < until) {
        zframe_t *who;
        env = asp_probe_recv (probe, ASP_SVC_ROUTING, &who, (int) (until - zclock_mono ()) + 1);
        assert (env);
        assert (streq (env->type, ASP_EV_PARTNER_STRIKE));
        asp_probe_reply (probe, ASP_SVC_ROUTING, who, "ACK", env->id, NULL);
        zframe_destroy (&who);
        if (streq (env->id, last))
            asp_envelope_destroy (&env);
    }
    assert (env);
    snprintf (last, sizeof last, "%s", env->id);
    char v [64];
    bool b;
    assert (asp_mp_get_str (env->body, "strike_id", v, sizeof v) == 0 && streq (v, strike));
    assert (asp_mp_get_str (env->body, "action", v, sizeof v) == 0 && streq (v, action));
    assert (asp_mp_get_str (env->body, "step", v, sizeof v) == 0 && streq (v, step));
    assert (asp_mp_get_bool (env->body, "removed", &b) == 0 && b == removed);
    asp_envelope_destroy (&env);
}

//  strike.reviewed from "intake", twice: answered verdict both times.
static void
s_test_review (asp_probe_t *probe, const char *partner, const char *strike, const char *decision,
               const char *reason, const char *verdict)
{
    asp_msg_t *msg = asp_msg_new (ASP_EV_STRIKE_REVIEWED, NULL, NULL);
    asp_mpmap_str (msg->body, "partner_id", partner);
    asp_mpmap_str (msg->body, "strike_id", strike);
    asp_mpmap_str (msg->body, "decision", decision);
    asp_mpmap_str (msg->body, "reason", reason);
    asp_mpmap_str (msg->body, "by", "op1");
    for (int i = 0; i < 2; i++) {
        asp_probe_send_msg (probe, msg);
        assert (asp_probe_expect (probe, verdict, msg->id, 5000));
    }
    asp_msg_destroy (&msg);
}

static void
s_test_ladder (void)
{
    setenv ("ASP_SCORE_INTERVAL_MS", "100", 1);
    asp_probe_t *probe = asp_probe_new (ASP_SVC_FEEDBACK);
    asp_svc_t *svc = asp_svc_new (ASP_SVC_FEEDBACK);
    feedback_visits_t *visits = feedback_visits_new (svc);
    feedback_strikes_t *self = feedback_strikes_new (svc);
    asp_probe_start (probe, svc);
    asp_probe_drain (probe, ASP_SVC_ROUTING, 0);
    int64_t day = asp_now_ms () - 10 * S_DAY_MS;

    //  Three complaints about PL's work: warning, penalty, removal. The
    //  second survey arrives before its completion (nothing to strike
    //  until then), every message twice.
    s_test_send (probe, ASP_EV_WO_COMPLETED, "TS1", "PL", "ta", day);
    s_test_send (probe, ASP_EV_SURVEY_SUBMITTED, "TS1", NULL, NULL, day + 1000);
    s_test_ver (probe, "PL", "1");
    s_test_event (probe, "TS1-1", "struck", "warning", false);
    s_test_strike (probe, "PL", "TS1-1", "step", "warning");
    s_test_strike (probe, "PL", "TS1-1", "technician_step", "warning");
    s_test_send (probe, ASP_EV_SURVEY_SUBMITTED, "TS2", NULL, NULL, day + 3000);
    s_test_send (probe, ASP_EV_WO_COMPLETED, "TS2", "PL", "tb", day + 2000);
    s_test_ver (probe, "PL", "2");
    s_test_event (probe, "TS2-1", "struck", "penalty", false);
    s_test_strike (probe, "PL", "TS2-1", "step", "penalty");
    s_test_strike (probe, "PL", "TS2-1", "technician_step", "warning");
    char *removed = s_test_field (probe, "PL", "removed");
    assert (!removed);
    s_test_send (probe, ASP_EV_WO_COMPLETED, "TS3", "PL", "ta", day + 4000);
    s_test_send (probe, ASP_EV_SURVEY_SUBMITTED, "TS3", NULL, NULL, day + 5000);
    s_test_ver (probe, "PL", "3");
    s_test_event (probe, "TS3-1", "struck", "removal", true);
    s_test_strike (probe, "PL", "TS3-1", "step", "removal");
    s_test_strike (probe, "PL", "TS3-1", "technician_step", "penalty");
    removed = s_test_field (probe, "PL", "removed");
    assert (removed && streq (removed, "1"));
    free (removed);

    //  A strike delivered again (a crash before its queue entry was
    //  dropped) changes nothing.
    char key [ASP_KEY_MAX];
    asp_key_fmt (key, sizeof key, asp_shard_of ("TS1"), FEEDBACK_KEY_STRIKES_SENT);
    redisReply *r = asp_rds_cmd (asp_probe_rds (probe), "HGET %s TS1-1", key);
    assert (r && r->type == REDIS_REPLY_STRING);
    char sent [128];
    snprintf (sent, sizeof sent, "%s", r->str);
    freeReplyObject (r);
    asp_key_fmt (key, sizeof key, asp_shard_of ("TS1"), FEEDBACK_KEY_STRIKES_DUE);
    r = asp_rds_cmd (asp_probe_rds (probe), "HSET %s TS1-1 %s", key, sent);
    freeReplyObject (r);
    for (int i = 0; i < 100; i++) {
        r = asp_rds_cmd (asp_probe_rds (probe), "HEXISTS %s TS1-1", key);
        long long left = r->integer;
        freeReplyObject (r);
        if (!left)
            break;
        zclock_sleep (50);
    }
    s_test_ver (probe, "PL", "3");

    //  Ops overturn the second: the third is a penalty now, PL is back;
    //  upholding the first changes no step. An unknown strike: 1.
    s_test_review (probe, "PL", "TS2-1", "overturn", "not our fault", "ACK");
    s_test_event (probe, "TS2-1", "reviewed", "", false);
    s_test_strike (probe, "PL", "TS2-1", "state", "overturned");
    s_test_strike (probe, "PL", "TS2-1", "reason", "not our fault");
    s_test_strike (probe, "PL", "TS3-1", "step", "penalty");
    removed = s_test_field (probe, "PL", "removed");
    assert (!removed);
    s_test_review (probe, "PL", "TS1-1", "uphold", "fair", "ACK");
    s_test_event (probe, "TS1-1", "reviewed", "warning", false);
    s_test_strike (probe, "PL", "TS1-1", "state", "upheld");
    s_test_strike (probe, "PL", "TS1-1", "step", "warning");
    s_test_review (probe, "PL", "TS9-1", "uphold", "?", "NAK");
    s_test_review (probe, "PL", "TS1-1", "forgive", "?", "NAK");
    s_test_ver (probe, "PL", "5");
    asp_probe_drain (probe, ASP_SVC_ROUTING, 100);

    asp_probe_stop (probe);
    feedback_strikes_destroy (&self);
    feedback_visits_destroy (&visits);
    asp_svc_destroy (&svc);
    asp_probe_destroy (&probe);
}

void
feedback_strikes_test (void)
{
    s_test_rule ();
    s_test_ladder ();
}
