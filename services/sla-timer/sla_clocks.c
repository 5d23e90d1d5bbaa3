#include "sla_clocks.h"
#include "asp_config.h"
#include "asp_log.h"
#include "asp_vocab.h"
#include <assert.h>

extern const char asp_lua_start [];
extern const char asp_lua_stop [];
extern const char asp_lua_fire [];
extern const char asp_lua_mark [];

#define S_FIRE_BATCH 500

struct sla_clocks_t {
    asp_svc_t *svc;
    asp_script_t *start, *stop, *fire, *mark;
    int64_t response_ms, resolve_standard_ms, resolve_express_ms, return_visit_ms;
    int64_t warn_pct;
    int64_t rescan_ms;
    int64_t hint;                   //  earliest deadline we know of (epoch ms)
    int timer_id;
    asp_counter_t *m_warnings, *m_breaches;
};

typedef struct {
    const char *clock;
    int64_t due;
} s_clock_t;

//  A txn on the due set and clocks of ticket (K[1], K[2]).
static asp_txn_t *
s_txn (asp_script_t *script, const char *ticket)
{
    asp_txn_t *txn = asp_txn_new (script, asp_shard_of (ticket));
    asp_txn_key (txn, SLA_KEY_DUE);
    asp_txn_key (txn, SLA_KEY_CLOCKS, ticket);
    return txn;
}

static asp_txn_t *
s_start_txn (sla_clocks_t *self, const asp_envelope_t *env, s_clock_t *clocks, int n)
{
    asp_txn_t *txn = s_txn (self->start, env->ticket);
    asp_txn_inbox (txn, env->id);
    asp_txn_arg (txn, "%s", env->ticket);
    for (int i = 0; i < n; i++) {
        int64_t duration = clocks [i].due - env->time_ms;
        int64_t warn = env->time_ms + duration * self->warn_pct / 100;
        asp_txn_arg (txn, "%s", clocks [i].clock);
        asp_txn_arg (txn, "%lld", (long long) warn);
        asp_txn_arg (txn, "%lld", (long long) clocks [i].due);
        if (warn < self->hint)
            self->hint = warn;      //  set before commit: a harmless early look
    }
    return txn;
}

static asp_txn_t *
s_stop_txn (sla_clocks_t *self, const asp_envelope_t *env, const char **clocks)
{
    asp_txn_t *txn = s_txn (self->stop, env->ticket);
    asp_txn_inbox (txn, env->id);
    asp_txn_arg (txn, "%s", env->ticket);
    for (int i = 0; clocks [i]; i++)
        asp_txn_arg (txn, "%s", clocks [i]);
    return txn;
}

static bool
s_need_ticket (const asp_envelope_t *env, char *reason, size_t len)
{
    if (*env->ticket)
        return true;
    snprintf (reason, len, "%s needs a ticket id", env->type);
    return false;
}

static asp_txn_t *
s_on_created (asp_svc_t *svc, const asp_envelope_t *env, char *reason, size_t len, void *arg)
{
    (void) svc;
    sla_clocks_t *self = (sla_clocks_t *) arg;
    if (!s_need_ticket (env, reason, len))
        return NULL;
    char tier [16] = "", list [64];
    int rc = asp_mp_get_str (env->body, "tier", tier, sizeof tier);
    int t = rc == 1? ASP_TIER_STANDARD: asp_vocab_parse (&asp_vocab_tier, tier);
    if (rc == -1 || t < 0) {
        snprintf (reason, len, "tier must be one of %s", asp_vocab_join (&asp_vocab_tier, list, sizeof list));
        return NULL;
    }
    int64_t resolve = t == ASP_TIER_EXPRESS? self->resolve_express_ms: self->resolve_standard_ms;
    s_clock_t clocks [] = {
        { "response", env->time_ms + self->response_ms },
        { "resolution", env->time_ms + resolve },
    };
    return s_start_txn (self, env, clocks, 2);
}

static asp_txn_t *
s_on_visit (asp_svc_t *svc, const asp_envelope_t *env, char *reason, size_t len, void *arg)
{
    (void) svc;
    sla_clocks_t *self = (sla_clocks_t *) arg;
    if (!s_need_ticket (env, reason, len))
        return NULL;
    int64_t due = env->time_ms + self->return_visit_ms;
    if (asp_mp_get_int (env->body, "due_ms", &due) < 0) {
        snprintf (reason, len, "due_ms must be an integer");
        return NULL;
    }
    s_clock_t clocks [] = { { "return_visit", due } };
    return s_start_txn (self, env, clocks, 1);
}

static asp_txn_t *
s_on_stop (asp_svc_t *svc, const asp_envelope_t *env, char *reason, size_t len, void *arg)
{
    (void) svc;
    sla_clocks_t *self = (sla_clocks_t *) arg;
    if (!s_need_ticket (env, reason, len))
        return NULL;
    static const char *assigned [] = { "response", NULL };
    static const char *completed [] = { "resolution", NULL };
    static const char *redispatched [] = { "return_visit", NULL };
    //  Closed or cancelled: every clock.
    static const char *closed [] = { "response", "resolution", "return_visit", NULL };
    const char **clocks = strcmp (env->type, ASP_EV_WO_ASSIGNED) == 0? assigned:
                          strcmp (env->type, ASP_EV_WO_COMPLETED) == 0? completed:
                          strcmp (env->type, ASP_EV_TICKET_REDISPATCHED) == 0? redispatched: closed;
    return s_stop_txn (self, env, clocks);
}

//  A txn that records fields (name, value, ... NULL) on the ticket's
//  clock hash (mark.lua), once for env.
static asp_txn_t *
s_mark_txn (sla_clocks_t *self, const asp_envelope_t *env, const char **fields)
{
    asp_txn_t *txn = s_txn (self->mark, env->ticket);
    asp_txn_inbox (txn, env->id);
    asp_txn_arg (txn, "%s", env->ticket);
    for (int i = 0; fields [i]; i++)
        asp_txn_arg (txn, "%s", fields [i]);
    return txn;
}

//  ticket.waiting / ticket.resumed: the flag the pausing policy will read.
static asp_txn_t *
s_on_waiting (asp_svc_t *svc, const asp_envelope_t *env, char *reason, size_t len, void *arg)
{
    (void) svc;
    if (!s_need_ticket (env, reason, len))
        return NULL;
    char at [24];
    snprintf (at, sizeof at, "%lld", (long long) env->time_ms);
    const char *fields [] = {
        "waiting", strcmp (env->type, ASP_EV_TICKET_WAITING) == 0? "1": "0", "waiting_ms", at, NULL
    };
    return s_mark_txn ((sla_clocks_t *) arg, env, fields);
}

//  workorder.appointment / workorder.appointment_missed: the appointment
//  the on-time policies will measure against (the SLA issue's), recorded
//  on the ticket's clock hash.
static asp_txn_t *
s_on_appointment (asp_svc_t *svc, const asp_envelope_t *env, char *reason, size_t len, void *arg)
{
    (void) svc;
    if (!s_need_ticket (env, reason, len))
        return NULL;
    int64_t at, end = 0, changes = 0;
    bool late = false;
    if (asp_mp_get_int (env->body, "appointment_ms", &at) != 0
    ||  asp_mp_get_int (env->body, "end_ms", &end) < 0 || asp_mp_get_int (env->body, "changes", &changes) < 0
    ||  asp_mp_get_bool (env->body, "late", &late) < 0) {
        snprintf (reason, len, "%s: appointment_ms is required; appointment_ms, end_ms and changes "
                  "must be integers, late true or false", env->type);
        return NULL;
    }
    char at_s [24], end_s [24], changes_s [24];
    snprintf (at_s, sizeof at_s, "%lld", (long long) at);
    snprintf (end_s, sizeof end_s, "%lld", (long long) end);
    snprintf (changes_s, sizeof changes_s, "%lld", (long long) changes);
    const char *booked [] = {
        "appointment_ms", at_s, "appointment_end_ms", end_s, "appointment_changes", changes_s,
        "appointment_late", late? "1": "0", "appointment_missed", "0", NULL
    };
    const char *missed [] = { "appointment_missed", "1", "missed_ms", at_s, NULL };
    return s_mark_txn ((sla_clocks_t *) arg, env,
                       strcmp (env->type, ASP_EV_WO_APPOINTMENT) == 0? booked: missed);
}

int
sla_clocks_parse_member (const char *member, char *ticket, size_t tlen, char *clock, size_t clen,
                         char *phase, size_t plen, int64_t *due)
{
    const char *a = strchr (member, '|');
    const char *b = a? strchr (a + 1, '|'): NULL;
    const char *c = b? strchr (b + 1, '|'): NULL;
    if (!c || (size_t) (a - member) >= tlen || (size_t) (b - a - 1) >= clen || (size_t) (c - b - 1) >= plen)
        return -1;
    snprintf (ticket, tlen, "%.*s", (int) (a - member), member);
    snprintf (clock, clen, "%.*s", (int) (b - a - 1), a + 1);
    snprintf (phase, plen, "%.*s", (int) (c - b - 1), b + 1);
    char *end;
    *due = strtoll (c + 1, &end, 10);
    return *end? -1: 0;
}

//  Builds the txn that fires one timer; NULL (and the member is dropped)
//  when the member is malformed.
static asp_txn_t *
s_fire_txn (sla_clocks_t *self, unsigned shard, const char *member)
{
    char ticket [ASP_ID_MAX], clock [32], phase [16];
    int64_t due;
    if (sla_clocks_parse_member (member, ticket, sizeof ticket, clock, sizeof clock, phase, sizeof phase, &due)
    ||  asp_shard_of (ticket) != shard) {
        asp_log_error ("sla: malformed timer '%s' removed", member);
        char key [ASP_KEY_MAX];
        asp_key_fmt (key, sizeof key, shard, SLA_KEY_DUE);
        redisReply *r = asp_rds_cmd (asp_svc_rds (self->svc), "ZREM %s %s", key, member);
        if (r)
            freeReplyObject (r);
        return NULL;
    }
    bool breach = strcmp (phase, "breach") == 0;
    asp_msg_t *msg = asp_msg_new (breach? ASP_EV_SLA_BREACHED: ASP_EV_SLA_WARNING, ticket, NULL);
    asp_mpmap_str (msg->body, "clock", clock);
    asp_mpmap_int (msg->body, "due_ms", due);
    asp_mpmap_int (msg->body, "level", breach? 2: 1);
    asp_txn_t *txn = s_txn (self->fire, ticket);
    asp_txn_arg (txn, "%s", member);
    asp_txn_arg (txn, "%s", clock);
    asp_txn_arg (txn, "%s", phase);
    asp_txn_publish (txn, &msg);
    asp_txn_set_user (txn, breach? self->m_breaches: self->m_warnings);
    return txn;
}

//  Reads the earliest S_FIRE_BATCH timers of every shard, one pipeline;
//  replies [shard] are owned by the caller. 0, or -1 when Redis failed.
static int
s_read_due (sla_clocks_t *self, redisReply **replies)
{
    char limit [16];
    snprintf (limit, sizeof limit, "%d", S_FIRE_BATCH);
    const char *argv [] = { "ZRANGE", SLA_KEY_DUE, "-inf", "+inf", "BYSCORE", "LIMIT", "0", limit, "WITHSCORES" };
    int rc = asp_rds_each_shard (asp_svc_rds (self->svc), 9, argv, replies);
    for (unsigned n = 0; rc == 0 && n < ASP_SHARDS; n++)
        if (replies [n]->type != REDIS_REPLY_ARRAY)
            rc = -1;
    return rc;
}

//  Prepares the due timers of one shard's reply; lowers *hint to the
//  first that is not due yet.
static void
s_due_txns (sla_clocks_t *self, unsigned shard, const redisReply *r, int64_t now,
            asp_txn_t **txns, size_t *n, int64_t *hint)
{
    size_t i = 0;
    for (; i + 1 < r->elements; i += 2) {
        int64_t at = strtoll (r->element [i + 1]->str, NULL, 10);
        if (at > now) {
            if (at < *hint)
                *hint = at;
            return;
        }
        asp_txn_t *txn = s_fire_txn (self, shard, r->element [i]->str);
        if (txn)
            txns [(*n)++] = txn;
    }
    if (r->elements / 2 == S_FIRE_BATCH)
        *hint = now;                //  a full batch: more may be due
}

static int
s_on_tick (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop; (void) timer_id;
    sla_clocks_t *self = (sla_clocks_t *) arg;
    int64_t now = asp_now_ms ();
    if (now < self->hint)
        return 0;
    //  The earliest S_FIRE_BATCH timers of each shard: those due fire now;
    //  the first one not due yet becomes the hint.
    redisReply *replies [ASP_SHARDS] = { NULL };
    int rc = s_read_due (self, replies);
    asp_txn_t **txns = NULL;
    size_t n = 0;
    int64_t hint = INT64_MAX;
    if (rc == 0) {
        txns = (asp_txn_t **) malloc (ASP_SHARDS * S_FIRE_BATCH * sizeof (asp_txn_t *));
        assert (txns);
        for (unsigned s = 0; s < ASP_SHARDS; s++)
            s_due_txns (self, s, replies [s], now, txns, &n, &hint);
    }
    for (unsigned s = 0; s < ASP_SHARDS; s++)
        if (replies [s])
            freeReplyObject (replies [s]);
    if (rc == 0 && n)
        rc = asp_svc_commit (self->svc, txns, n);
    for (size_t i = 0; i < n; i++) {
        if (asp_txn_outcome (txns [i]) == ASP_TXN_OK)
            asp_counter_inc ((asp_counter_t *) asp_txn_user (txns [i]));
        asp_txn_destroy (&txns [i]);
    }
    free (txns);
    //  On failure keep looking every tick until Redis answers. Otherwise
    //  look again at the earliest deadline, and at least every rescan_ms:
    //  timers another instance (or an operator) added are not missed.
    if (hint > now + self->rescan_ms)
        hint = now + self->rescan_ms;
    self->hint = rc == 0? hint: now;
    return 0;
}

sla_clocks_t *
sla_clocks_new (asp_svc_t *svc)
{
    sla_clocks_t *self = (sla_clocks_t *) calloc (1, sizeof *self);
    assert (self);
    self->svc = svc;
    self->start = asp_svc_script (svc, "sla_start", asp_lua_start);
    self->stop = asp_svc_script (svc, "sla_stop", asp_lua_stop);
    self->fire = asp_svc_script (svc, "sla_fire", asp_lua_fire);
    self->mark = asp_svc_script (svc, "sla_mark", asp_lua_mark);
    self->response_ms = 1000 * asp_cfg_int ("ASP_SLA_RESPONSE_S", 7200, 1, 365 * 86400);
    self->resolve_standard_ms = 1000 * asp_cfg_int ("ASP_SLA_RESOLVE_STANDARD_S", 86400, 1, 365 * 86400);
    self->resolve_express_ms = 1000 * asp_cfg_int ("ASP_SLA_RESOLVE_EXPRESS_S", 21600, 1, 365 * 86400);
    self->return_visit_ms = 1000 * asp_cfg_int ("ASP_SLA_RETURN_VISIT_S", 86400, 1, 365 * 86400);
    self->warn_pct = asp_cfg_int ("ASP_SLA_WARN_PCT", 80, 1, 99);
    self->rescan_ms = asp_cfg_int ("ASP_SLA_RESCAN_MS", 1000, 10, 3600000);
    self->hint = 0;                 //  look at once: deadlines may have passed while we were down
    asp_metrics_t *m = asp_svc_metrics (svc);
    self->m_warnings = asp_metrics_counter (m, "sla_warnings_total", "SLA warnings fired.");
    self->m_breaches = asp_metrics_counter (m, "sla_breaches_total", "SLA breaches fired.");
    asp_svc_on (svc, ASP_EV_TICKET_CREATED, s_on_created, NULL, self);
    asp_svc_on (svc, ASP_EV_VISIT_SCHEDULED, s_on_visit, NULL, self);
    asp_svc_on (svc, ASP_EV_WO_ASSIGNED, s_on_stop, NULL, self);
    asp_svc_on (svc, ASP_EV_WO_COMPLETED, s_on_stop, NULL, self);
    asp_svc_on (svc, ASP_EV_TICKET_CLOSED, s_on_stop, NULL, self);
    asp_svc_on (svc, ASP_EV_TICKET_CANCELLED, s_on_stop, NULL, self);
    asp_svc_on (svc, ASP_EV_TICKET_REDISPATCHED, s_on_stop, NULL, self);
    asp_svc_on (svc, ASP_EV_TICKET_WAITING, s_on_waiting, NULL, self);
    asp_svc_on (svc, ASP_EV_TICKET_RESUMED, s_on_waiting, NULL, self);
    asp_svc_on (svc, ASP_EV_WO_APPOINTMENT, s_on_appointment, NULL, self);
    asp_svc_on (svc, ASP_EV_WO_APPOINTMENT_MISSED, s_on_appointment, NULL, self);
    self->timer_id = zloop_timer (asp_svc_loop (svc), (size_t) asp_cfg_int ("ASP_SLA_TICK_MS", 100, 5, 60000),
                                  0, s_on_tick, self);
    return self;
}

void
sla_clocks_destroy (sla_clocks_t **self_p)
{
    if (*self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}

void
sla_clocks_test (void)
{
    char t [ASP_ID_MAX], c [32], p [16];
    int64_t due;
    assert (sla_clocks_parse_member ("Tabc|response|breach|1700", t, sizeof t, c, sizeof c, p, sizeof p, &due) == 0);
    assert (strcmp (t, "Tabc") == 0 && strcmp (c, "response") == 0 && strcmp (p, "breach") == 0 && due == 1700);
    assert (sla_clocks_parse_member ("Tabc|response|breach", t, sizeof t, c, sizeof c, p, sizeof p, &due) == -1);
    assert (sla_clocks_parse_member ("Tabc|response|breach|17x", t, sizeof t, c, sizeof c, p, sizeof p, &due) == -1);
}
