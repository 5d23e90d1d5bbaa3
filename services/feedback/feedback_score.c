#include "feedback_score.h"
#include "feedback_visits.h"
#include "asp_config.h"
#include "asp_json.h"
#include "asp_log.h"
#include <assert.h>
#include <time.h>

extern const char asp_lua_scored [];
extern const char asp_lua_prune [];
extern const char asp_lua_warned [];
extern const char asp_lua_window [];

//  Partners scored per pipeline (a tick scores every marked one, this
//  many at a time).
#define S_SCORE_BATCH 256
#define S_DEFAULT_WEIGHTS "on_time=20,first_fix=20,repeat=15,install_return=10,satisfaction=15,complaints=10,sla=10"
//  Technicians of a partner scored with it (more are left out, logged).
#define S_TECHS_MAX 500
//  Count fields of old days dropped per shard per tick.
#define S_PRUNE_BATCH 1000

static const char *s_component_names [FEEDBACK_COMPONENTS] = {
    "on_time", "first_fix", "repeat", "install_return", "satisfaction", "complaints", "sla"
};

//  fb:days count names, in feedback_counts_t's order (common.lua's
//  contribution writes them).
static const char *s_count_names [] = {
    "completed", "fixed", "redone", "repeats", "installs", "install_returns", "surveys", "score_sum",
    "resolved", "arrivals", "late_arrivals", "booked", "late", "missed", "complaints", "breaches",
    "compensation"
};
#define S_COUNTS (sizeof s_count_names / sizeof s_count_names [0])
static_assert (S_COUNTS * sizeof (int64_t) == sizeof (feedback_counts_t),
               "feedback_counts_t and s_count_names must list the same counts");

//  One marked partner: its mark in each shard (NULL where unmarked),
//  borrowed from the tick's replies.
typedef struct {
    const char *id;
    const char *mark [ASP_SHARDS];
} s_marked_t;

struct feedback_score_t {
    asp_svc_t *svc;
    asp_script_t *scored, *prune, *window, *warned;
    feedback_formula_t formula;
    feedback_quality_t quality;
    int64_t interval_ms;            //  ASP_SCORE_INTERVAL_MS
    asp_warn_config_t warn;         //  the early warning's (ASP_WARN_*)
    int64_t warn_interval_ms;       //  ASP_WARN_INTERVAL_MS
    int64_t warned_ms;              //  when the early warning last ran
    asp_counter_t *m_warnings;
    int timer_id;
    int64_t day;                    //  the UTC day whose scores were re-marked
    asp_counter_t *m_published;
    //  A tick's work space.
    s_marked_t marked [S_SCORE_BATCH];
    feedback_counts_t counts [S_SCORE_BATCH * FEEDBACK_WINDOWS];
    zlistx_t *techs [S_SCORE_BATCH];        //  each partner's technicians' subjects
    feedback_counts_t *tech_counts;         //  theirs, both windows each, in that order
    bool published [S_SCORE_BATCH];
    asp_txn_t *txns [S_SCORE_BATCH * ASP_SHARDS];
};

const char *
feedback_component_name (feedback_component_t component)
{
    return component < FEEDBACK_COMPONENTS? s_component_names [component]: "?";
}

//  The component named by the len bytes at name, or -1.
static int
s_component_of (const char *name, size_t len)
{
    for (int c = 0; c < FEEDBACK_COMPONENTS; c++)
        if (strlen (s_component_names [c]) == len && memcmp (name, s_component_names [c], len) == 0)
            return c;
    return -1;
}

int
feedback_formula_weights (feedback_formula_t *formula, const char *spec, char *err, size_t errlen)
{
    int64_t weight [FEEDBACK_COMPONENTS] = { 0 };
    bool named [FEEDBACK_COMPONENTS] = { false };
    int64_t sum = 0;
    const char *p = spec;
    while (*p) {
        size_t len = strcspn (p, ",");
        const char *eq = memchr (p, '=', len);
        int c = eq? s_component_of (p, (size_t) (eq - p)): -1;
        char value [16] = "";
        if (eq && (size_t) (p + len - eq - 1) < sizeof value)
            memcpy (value, eq + 1, (size_t) (p + len - eq - 1));
        if (c < 0 || named [c]
        ||  asp_parse_int (value, 0, 1000, &weight [c])) {
            snprintf (err, errlen, "'%.*s' is not one of on_time, first_fix, repeat, install_return, "
                      "satisfaction, complaints, sla (each at most once) = an integer 0..1000", (int) len, p);
            return -1;
        }
        named [c] = true;
        sum += weight [c];
        p += len + (p [len] == ',');
        if (p [-1] == ',' && !*p) {
            snprintf (err, errlen, "a trailing comma");
            return -1;
        }
    }
    if (sum == 0) {
        snprintf (err, errlen, "the weights add up to 0");
        return -1;
    }
    memcpy (formula->weight, weight, sizeof weight);
    return 0;
}

//  (1000 × good + prior × k) / (n + k), rounded; good_milli is 1000 × good,
//  kept within 0..1000 × n (counts from another generation's order of
//  arrival may overshoot a little).
static int64_t
s_shrunk (const feedback_formula_t *f, int64_t good_milli, int64_t n)
{
    if (n < 0)
        n = 0;
    good_milli = good_milli < 0? 0: good_milli > 1000 * n? 1000 * n: good_milli;
    int64_t den = n + f->prior_samples;
    if (den == 0)
        return f->prior;
    return (good_milli + f->prior * f->prior_samples + den / 2) / den;
}

void
feedback_formula_rate (const feedback_formula_t *f, const feedback_counts_t *c, feedback_rating_t *r)
{
    int64_t n [FEEDBACK_COMPONENTS], good [FEEDBACK_COMPONENTS];
    n [FEEDBACK_ON_TIME] = c->booked + c->arrivals;
    good [FEEDBACK_ON_TIME] = 1000 * (n [FEEDBACK_ON_TIME] - c->missed - c->late - c->late_arrivals);
    n [FEEDBACK_FIRST_FIX] = c->completed;
    good [FEEDBACK_FIRST_FIX] = 1000 * (c->fixed - c->redone);
    n [FEEDBACK_REPEAT] = c->fixed;
    good [FEEDBACK_REPEAT] = 1000 * (c->fixed - c->repeats);
    n [FEEDBACK_INSTALL_RETURN] = c->installs;
    good [FEEDBACK_INSTALL_RETURN] = 1000 * (c->installs - c->install_returns);
    //  Survey scores 1..5: 1 is 0 ‰, 5 is 1000 ‰.
    n [FEEDBACK_SATISFACTION] = c->surveys;
    good [FEEDBACK_SATISFACTION] = 250 * (c->score_sum - c->surveys);
    //  Of the work orders completed, the share without a complaint, and
    //  without a breach of a partner's clock.
    n [FEEDBACK_COMPLAINTS] = c->completed;
    good [FEEDBACK_COMPLAINTS] = 1000 * (c->completed - c->complaints);
    n [FEEDBACK_SLA] = c->completed;
    good [FEEDBACK_SLA] = 1000 * (c->completed - c->breaches);
    int64_t sum = 0, weights = 0;
    r->samples = 0;
    for (int i = 0; i < FEEDBACK_COMPONENTS; i++) {
        r->component [i] = s_shrunk (f, good [i], n [i]);
        r->samples += n [i] > 0? n [i]: 0;
        sum += f->weight [i] * r->component [i];
        weights += f->weight [i];
    }
    r->score = weights? (sum + weights / 2) / weights: f->prior;
}

//  The counts of n subjects ("p|<partner>" or "t|<partner>|<technician>"),
//  summed over every shard, over the windows [w] days up to today (UTC
//  days since 1970), into counts [FEEDBACK_WINDOWS * i + w], in one
//  pipelined round trip. 0, or -1 when Redis failed (counts unreliable).
static int
s_counts (feedback_score_t *self, const char **subjects, size_t n, int64_t today,
          const int64_t windows [FEEDBACK_WINDOWS], feedback_counts_t *counts)
{
    memset (counts, 0, sizeof *counts * n * FEEDBACK_WINDOWS);
    asp_rds_t *rds = asp_svc_rds (self->svc);
    if (!asp_rds_ready (rds))
        return -1;
    //  One window.lua per subject and shard (the day fields stay in Redis,
    //  the sums come back), pipelined. Its argv: the key, the prelude's
    //  four (asp_txn.h: one key, no message, no inbox), then its own.
    char day [24], w0 [24], w1 [24], key [ASP_KEY_MAX];
    snprintf (day, sizeof day, "%lld", (long long) today);
    snprintf (w0, sizeof w0, "%lld", (long long) windows [0]);
    snprintf (w1, sizeof w1, "%lld", (long long) windows [1]);
    const char *argv [1 + 4 + 4 + S_COUNTS] = { key, "1", "0", "0", "0", NULL, day, w0, w1 };
    size_t lens [1 + 4 + 4 + S_COUNTS];
    for (size_t i = 0; i < S_COUNTS; i++)
        argv [9 + i] = s_count_names [i];
    int nargs = 4 + 4 + (int) S_COUNTS;
    int rc = 0;
    for (size_t p = 0; p < n && rc == 0; p++) {
        argv [5] = subjects [p];
        for (unsigned s = 0; s < ASP_SHARDS && rc == 0; s++) {
            asp_key_fmt (key, sizeof key, s, FEEDBACK_KEY_DAYS);
            for (int i = 0; i < 1 + nargs; i++)
                lens [i] = strlen (argv [i]);
            if (asp_rds_append_script (rds, self->window, 1, nargs, argv, lens))
                rc = -1;            //  the connection is dropped, with what was pending
        }
    }
    for (size_t p = 0; p < n && rc == 0; p++)
        for (unsigned s = 0; s < ASP_SHARDS && rc == 0; s++) {
            redisReply *r = asp_rds_reply (rds);
            if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != FEEDBACK_WINDOWS * S_COUNTS)
                rc = -1;
            for (size_t i = 0; rc == 0 && i < r->elements; i++) {
                int64_t *sums = (int64_t *) &counts [FEEDBACK_WINDOWS * p + i / S_COUNTS];
                if (r->element [i]->type == REDIS_REPLY_INTEGER)
                    sums [i % S_COUNTS] += r->element [i]->integer;
            }
            if (r)
                freeReplyObject (r);
        }
    if (rc)
        asp_rds_drop (rds);         //  replies may be pending: start clean
    return rc;
}

int
feedback_test_counts (asp_rds_t *rds, const char **partners, size_t n, feedback_counts_t *counts)
{
    //  Every field of every shard, read plainly (a test's few facts).
    memset (counts, 0, sizeof *counts * n);
    int64_t today = asp_now_ms () / FEEDBACK_DAY_MS;
    const char *argv [] = { "HGETALL", FEEDBACK_KEY_DAYS };
    redisReply *replies [ASP_SHARDS];
    int rc = asp_rds_each_shard (rds, 2, argv, replies);
    for (unsigned s = 0; s < ASP_SHARDS; s++) {
        redisReply *r = replies [s];
        for (size_t i = 0; rc == 0 && r && i + 1 < r->elements; i += 2) {
            char count [32], partner [ASP_ID_MAX];
            long long day;
            if (sscanf (r->element [i]->str, "%lld|%31[^|]|p|%47s", &day, count, partner) != 3
            ||  day > today || day <= today - 366)
                continue;
            for (size_t p = 0; p < n; p++)
                for (size_t c = 0; c < S_COUNTS && streq (partner, partners [p]); c++)
                    if (streq (count, s_count_names [c]))
                        ((int64_t *) &counts [p]) [c] += strtoll (r->element [i + 1]->str, NULL, 10);
        }
        if (r)
            freeReplyObject (r);
    }
    return rc;
}

void
feedback_quality_config (feedback_quality_t *q)
{
    q->short_d = asp_cfg_int ("ASP_QUALITY_SHORT_D", 30, 1, 365);
    q->long_d = asp_cfg_int ("ASP_QUALITY_LONG_D", 90, 1, 366);
    q->keep_d = asp_cfg_int ("ASP_QUALITY_KEEP_D", q->long_d + 7, 1, 3660);
    q->repeat_d = asp_cfg_int ("ASP_REPEAT_WINDOW_D", 30, 1, 3660);
    q->install_d = asp_cfg_int ("ASP_INSTALL_RETURN_D", 90, 1, 3660);
    //  A year's report needs its 12 months; 25 keep last year's whole
    //  while this one fills, for a comparison.
    q->keep_m = asp_cfg_int ("ASP_REPORT_KEEP_M", 25, 13, 1200);
    if (q->long_d <= q->short_d) {
        asp_log_error ("bad configuration: ASP_QUALITY_LONG_D (%lld) must be longer than ASP_QUALITY_SHORT_D (%lld)",
                       (long long) q->long_d, (long long) q->short_d);
        exit (2);
    }
    if (q->keep_d < q->long_d) {
        asp_log_error ("bad configuration: ASP_QUALITY_KEEP_D (%lld) must be at least ASP_QUALITY_LONG_D (%lld)",
                       (long long) q->keep_d, (long long) q->long_d);
        exit (2);
    }
}

//  --------------------------------------------------------------------------
//  The timer

//  The marked partners of every shard, from the skip-th (in order of first
//  appearance) on, at most S_SCORE_BATCH; their ids and marks point into
//  replies.
static size_t
s_marked (redisReply **replies, size_t skip, s_marked_t *marked)
{
    size_t seen = 0, count = 0;
    zhashx_t *index = zhashx_new ();            //  id -> its ordinal + 1
    for (unsigned s = 0; s < ASP_SHARDS; s++) {
        redisReply *r = replies [s];
        for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2) {
            const char *id = r->element [i]->str;
            if (!id || strlen (id) >= ASP_ID_MAX || !r->element [i + 1]->str)
                continue;
            size_t ord = (size_t) zhashx_lookup (index, id);
            bool fresh = !ord;
            if (fresh) {
                ord = ++seen;
                zhashx_insert (index, id, (void *) ord);
            }
            if (ord - 1 < skip || ord - 1 >= skip + S_SCORE_BATCH)
                continue;
            s_marked_t *m = &marked [ord - 1 - skip];
            if (fresh) {
                memset (m, 0, sizeof *m);
                m->id = id;
                count++;
            }
            m->mark [s] = r->element [i + 1]->str;
        }
    }
    zhashx_destroy (&index);
    return count;
}

//  Puts a rating's score, components and samples, and the window's
//  complaints, breaches and compensation paid, into map, each key after
//  prefix ("" or "short_").
static void
s_put_rating (asp_mpmap_t *map, const char *prefix, const feedback_rating_t *rating,
              const feedback_counts_t *counts)
{
    char key [64];
    snprintf (key, sizeof key, "%scomplaints_n", prefix);
    asp_mpmap_int (map, key, counts->complaints);
    snprintf (key, sizeof key, "%sbreaches", prefix);
    asp_mpmap_int (map, key, counts->breaches);
    snprintf (key, sizeof key, "%scompensation", prefix);
    asp_mpmap_int (map, key, counts->compensation);
    snprintf (key, sizeof key, "%sscore", prefix);
    asp_mpmap_int (map, key, rating->score);
    for (int i = 0; i < FEEDBACK_COMPONENTS; i++) {
        snprintf (key, sizeof key, "%s%s", prefix, s_component_names [i]);
        asp_mpmap_int (map, key, rating->component [i]);
    }
    snprintf (key, sizeof key, "%ssamples", prefix);
    asp_mpmap_int (map, key, rating->samples);
}

//  Puts the maps as an array under key in map.
static void
s_put_maps (asp_mpmap_t *map, const char *key, asp_mpmap_t **maps, size_t n)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buf, msgpack_sbuffer_write);
    msgpack_pack_array (&pk, n);
    for (size_t i = 0; i < n; i++)
        asp_mpmap_pack (maps [i], &pk);
    msgpack_unpacked u;
    msgpack_unpacked_init (&u);
    int rc = msgpack_unpack_next (&u, buf.data, buf.size, NULL);
    assert (rc == MSGPACK_UNPACK_SUCCESS);
    asp_mpmap_obj (map, key, &u.data);
    msgpack_unpacked_destroy (&u);
    msgpack_sbuffer_destroy (&buf);
}

//  The technicians of the tick's count marked partners (fb:techs of every
//  shard, one pipeline), each partner's in order of id (a tick that lists
//  them in another shard order publishes the same body), into
//  self->techs [i], and their counts over both windows (one more
//  pipeline) into self->tech_counts, partner by partner. -1 when Redis
//  failed.
static int
s_technicians (feedback_score_t *self, size_t count, int64_t today, const int64_t *windows)
{
    asp_rds_t *rds = asp_svc_rds (self->svc);
    int rc = asp_rds_ready (rds)? 0: -1;
    for (size_t i = 0; i < count && rc == 0; i++) {
        char min [ASP_ID_MAX + 4], max [ASP_ID_MAX + 4];
        snprintf (min, sizeof min, "[%s|", self->marked [i].id);
        snprintf (max, sizeof max, "(%s}", self->marked [i].id);
        for (unsigned s = 0; s < ASP_SHARDS && rc == 0; s++) {
            char key [ASP_KEY_MAX];
            asp_key_fmt (key, sizeof key, s, FEEDBACK_KEY_TECHS);
            const char *argv [] = { "ZRANGEBYLEX", key, min, max };
            rc = asp_rds_append (rds, 4, argv, NULL);
        }
    }
    size_t total = 0;
    for (size_t i = 0; i < count && rc == 0; i++) {
        zlistx_t *names = zlistx_new ();
        zlistx_set_destructor (names, (zlistx_destructor_fn *) zstr_free);
        zlistx_set_comparator (names, (zlistx_comparator_fn *) strcmp);
        self->techs [i] = names;
        for (unsigned s = 0; s < ASP_SHARDS && rc == 0; s++) {
            redisReply *r = asp_rds_reply (rds);
            if (!r || r->type != REDIS_REPLY_ARRAY)
                rc = -1;
            for (size_t e = 0; rc == 0 && e < r->elements; e++) {
                char *name = zsys_sprintf ("t|%s", r->element [e]->str);
                if (zlistx_find (names, name) || zlistx_size (names) == S_TECHS_MAX) {
                    if (zlistx_size (names) == S_TECHS_MAX && !zlistx_find (names, name))
                        asp_log_error ("feedback: partner %s has more than %d technicians; the rest "
                                       "are not scored", self->marked [i].id, S_TECHS_MAX);
                    zstr_free (&name);
                }
                else
                    zlistx_add_end (names, name);
            }
            if (r)
                freeReplyObject (r);
        }
        zlistx_sort (names);
        total += zlistx_size (names);
    }
    if (rc) {
        asp_rds_drop (rds);         //  replies may be pending: start clean
        return -1;
    }
    const char **subjects = (const char **) calloc (total + 1, sizeof *subjects);
    assert (subjects);
    size_t n = 0;
    for (size_t i = 0; i < count; i++)
        for (char *t = (char *) zlistx_first (self->techs [i]); t; t = (char *) zlistx_next (self->techs [i]))
            subjects [n++] = t;
    free (self->tech_counts);
    self->tech_counts = (feedback_counts_t *) calloc (total * FEEDBACK_WINDOWS + 1, sizeof *self->tech_counts);
    assert (self->tech_counts);
    if (total && s_counts (self, subjects, total, today, windows, self->tech_counts))
        rc = -1;
    free (subjects);
    return rc;
}

//  Puts the technicians names (their subjects "t|<partner>|<technician>")
//  with their counts (both windows each, in order) as an array under
//  "technicians" in body.
static void
s_put_technicians (feedback_score_t *self, asp_mpmap_t *body, const char *partner, zlistx_t *names,
                   const feedback_counts_t *counts)
{
    size_t n = zlistx_size (names), i = 0;
    asp_mpmap_t **maps = (asp_mpmap_t **) calloc (n + 1, sizeof *maps);
    assert (maps);
    for (char *t = (char *) zlistx_first (names); t; t = (char *) zlistx_next (names), i++) {
        feedback_rating_t rating [FEEDBACK_WINDOWS];
        for (int w = 0; w < FEEDBACK_WINDOWS; w++)
            feedback_formula_rate (&self->formula, &counts [FEEDBACK_WINDOWS * i + (size_t) w], &rating [w]);
        maps [i] = asp_mpmap_new ();
        //  "t|<partner>|<technician>": the technician's id is the rest.
        asp_mpmap_str (maps [i], "technician_id", t + 3 + strlen (partner));
        s_put_rating (maps [i], "", &rating [1], &counts [FEEDBACK_WINDOWS * i + 1]);
        s_put_rating (maps [i], "short_", &rating [0], &counts [FEEDBACK_WINDOWS * i]);
    }
    s_put_maps (body, "technicians", maps, n);
    for (i = 0; i < n; i++)
        asp_mpmap_destroy (&maps [i]);
    free (maps);
}

//  The txn of scored.lua in shard for partner m; with rating (the short
//  and the long window's), the one that publishes (the partner's shard)
//  with its technicians (names, tech_counts), else one that only clears
//  the mark.
static asp_txn_t *
s_scored_txn (feedback_score_t *self, const s_marked_t *m, unsigned shard,
              const feedback_rating_t *rating, const feedback_counts_t *counts, zlistx_t *names,
              const feedback_counts_t *tech_counts, int64_t now)
{
    asp_msg_t *msg = NULL;
    if (rating) {
        msg = asp_msg_new (ASP_EV_PARTNER_SCORED, NULL, NULL);
        msg->time_ms = now;             //  the time the interval guard compares
        asp_mpmap_str (msg->body, "partner_id", m->id);
        s_put_rating (msg->body, "", &rating [1], &counts [1]);
        asp_mpmap_int (msg->body, "window_days", self->quality.long_d);
        asp_mpmap_int (msg->body, "short_days", self->quality.short_d);
        s_put_rating (msg->body, "short_", &rating [0], &counts [0]);
        s_put_technicians (self, msg->body, m->id, names, tech_counts);
    }
    asp_txn_t *txn = asp_txn_new (self->scored, shard);
    asp_txn_key (txn, FEEDBACK_KEY_DIRTY);
    asp_txn_key (txn, FEEDBACK_KEY_SCORES);
    asp_txn_arg (txn, "%s", m->id);
    asp_txn_arg (txn, "%s", m->mark [shard]? m->mark [shard]: "");
    asp_txn_arg (txn, "%lld", (long long) now);
    if (!rating) {
        asp_txn_arg (txn, "%s", "");        //  no interval: only clear the mark
        return txn;
    }
    asp_txn_arg (txn, "%lld", (long long) self->interval_ms);
    asp_txn_arg (txn, "%lld", (long long) rating [1].score);
    //  The body as JSON, kept beside the score for staff's reads
    //  (asp_quality.h).
    char *data;
    size_t size;
    asp_mpmap_bytes (msg->body, &data, &size);
    msgpack_unpacked u;
    msgpack_unpacked_init (&u);
    int rc = msgpack_unpack_next (&u, data, size, NULL);
    assert (rc == MSGPACK_UNPACK_SUCCESS);
    cJSON *json = asp_json_from_mp (&u.data);
    char *text = cJSON_PrintUnformatted (json);
    asp_txn_arg (txn, "%s", text);
    cJSON_free (text);
    cJSON_Delete (json);
    msgpack_unpacked_destroy (&u);
    free (data);
    asp_txn_publish (txn, &msg);
    return txn;
}

//  Runs txns, then destroys them; returns how many were applied.
static size_t
s_commit (feedback_score_t *self, asp_txn_t **txns, size_t count, bool *applied)
{
    size_t ok = 0;
    if (count)
        asp_svc_commit (self->svc, txns, count);
    for (size_t i = 0; i < count; i++) {
        bool done = asp_txn_outcome (txns [i]) == ASP_TXN_OK;
        if (applied)
            applied [i] = done;
        ok += done;
        asp_txn_destroy (&txns [i]);
    }
    return ok;
}

//  Scores count marked partners: first the scores (each clears its mark
//  in the partner's shard), then, for those published, their marks in the
//  other shards.
static void
s_score (feedback_score_t *self, size_t count, int64_t now)
{
    char subjects [S_SCORE_BATCH][ASP_ID_MAX + 2];
    const char *ids [S_SCORE_BATCH];
    for (size_t i = 0; i < count; i++) {
        snprintf (subjects [i], sizeof subjects [i], "p|%s", self->marked [i].id);
        ids [i] = subjects [i];
    }
    int64_t windows [FEEDBACK_WINDOWS] = { self->quality.short_d, self->quality.long_d };
    if (s_counts (self, ids, count, now / FEEDBACK_DAY_MS, windows,
                                 self->counts))
        return;
    size_t made = 0, tech = 0;
    if (s_technicians (self, count, now / FEEDBACK_DAY_MS, windows) == 0)
        for (size_t i = 0; i < count; i++) {
            feedback_rating_t rating [FEEDBACK_WINDOWS];
            for (int w = 0; w < FEEDBACK_WINDOWS; w++)
                feedback_formula_rate (&self->formula, &self->counts [FEEDBACK_WINDOWS * i + (size_t) w],
                                       &rating [w]);
            self->txns [made++] = s_scored_txn (self, &self->marked [i], asp_shard_of (self->marked [i].id),
                                                rating, &self->counts [FEEDBACK_WINDOWS * i], self->techs [i],
                                                &self->tech_counts [FEEDBACK_WINDOWS * tech], now);
            tech += zlistx_size (self->techs [i]);
        }
    for (size_t i = 0; i < count; i++)
        zlistx_destroy (&self->techs [i]);
    asp_counter_add (self->m_published, s_commit (self, self->txns, made, self->published));
    size_t clears = 0;
    for (size_t i = 0; i < made; i++)
        for (unsigned s = 0; self->published [i] && s < ASP_SHARDS; s++)
            if (self->marked [i].mark [s] && s != asp_shard_of (self->marked [i].id))
                self->txns [clears++] = s_scored_txn (self, &self->marked [i], s, NULL, NULL, NULL, NULL, now);
    s_commit (self, self->txns, clears, NULL);
}

//  Drops the count fields of days older than ASP_QUALITY_KEEP_D and of
//  months older than ASP_REPORT_KEEP_M, at most S_PRUNE_BATCH of each per
//  shard per tick (prune.lua).
static void
s_prune (feedback_score_t *self, int64_t now)
{
    asp_txn_t *txns [ASP_SHARDS];
    for (unsigned s = 0; s < ASP_SHARDS; s++) {
        txns [s] = asp_txn_new (self->prune, s);
        asp_txn_key (txns [s], FEEDBACK_KEY_DAYS);
        asp_txn_key (txns [s], FEEDBACK_KEY_DAY_INDEX);
        asp_txn_arg (txns [s], "%lld", (long long) (now / FEEDBACK_DAY_MS - self->quality.keep_d));
        asp_txn_arg (txns [s], "%d", S_PRUNE_BATCH);
    }
    s_commit (self, txns, ASP_SHARDS, NULL);
    //  And the reports' months older than ASP_REPORT_KEEP_M (this month
    //  counts as one), with the same script: their index is scored yyyymm.
    time_t secs = (time_t) (now / 1000);
    struct tm tm;
    gmtime_r (&secs, &tm);
    int64_t m = (int64_t) (tm.tm_year + 1900) * 12 + tm.tm_mon - (self->quality.keep_m - 1);
    for (unsigned s = 0; s < ASP_SHARDS; s++) {
        txns [s] = asp_txn_new (self->prune, s);
        asp_txn_key (txns [s], FEEDBACK_KEY_MONTHS);
        asp_txn_key (txns [s], FEEDBACK_KEY_MONTH_INDEX);
        asp_txn_arg (txns [s], "%lld", (long long) ((m / 12) * 100 + m % 12 + 1));
        asp_txn_arg (txns [s], "%d", S_PRUNE_BATCH);
    }
    s_commit (self, txns, ASP_SHARDS, NULL);
}

//  A rate in ‰ (0 when there is nothing to divide).
static int64_t
s_permille (const cJSON *window)
{
    double num = cJSON_GetNumberValue (cJSON_GetObjectItem (window, "numerator"));
    double den = cJSON_GetNumberValue (cJSON_GetObjectItem (window, "denominator"));
    return den > 0? (int64_t) (num * 1000.0 / den + 0.5): 0;
}

//  The early warning (common/asp_report.h): every rising rate becomes a
//  quality.warning for notification, once per scope, id and metric per
//  UTC day (warned.lua, in the shard of the id). Its envelope names a
//  "ticket" made of that key (notification files every message under
//  one): the same each time, so a replay finds the same record.
static void
s_warn (feedback_score_t *self, int64_t now)
{
    int64_t today = now / FEEDBACK_DAY_MS;
    cJSON *list = NULL;
    if (asp_warn_read (asp_svc_rds (self->svc), &self->warn, today, &list))
        return;                     //  Redis failed: the next run tries again
    size_t n = (size_t) cJSON_GetArraySize (list), made = 0;
    asp_txn_t **txns = (asp_txn_t **) calloc (n + 1, sizeof *txns);
    assert (txns);
    const cJSON *w;
    cJSON_ArrayForEach (w, list) {
        const char *scope = cJSON_GetStringValue (cJSON_GetObjectItem (w, "scope"));
        const char *id = cJSON_GetStringValue (cJSON_GetObjectItem (w, "id"));
        const char *metric = cJSON_GetStringValue (cJSON_GetObjectItem (w, "metric"));
        const cJSON *recent = cJSON_GetObjectItem (w, "recent"), *baseline = cJSON_GetObjectItem (w, "baseline");
        char field [ASP_REPORT_GROUP_MAX + 64], ticket [ASP_ID_MAX];
        snprintf (field, sizeof field, "%s|%s|%s", scope, id, metric);
        zdigest_t *d = zdigest_new ();
        zdigest_update (d, (const byte *) field, strlen (field));
        snprintf (ticket, sizeof ticket, "Q%.24s", zdigest_string (d));
        zdigest_destroy (&d);
        asp_msg_t *msg = asp_msg_new (ASP_EV_QUALITY_WARNING, ticket, NULL);
        asp_mpmap_str (msg->body, "scope", scope);
        asp_mpmap_str (msg->body, "id", id);
        asp_mpmap_str (msg->body, "metric", metric);
        asp_mpmap_int (msg->body, "recent", s_permille (recent));
        asp_mpmap_int (msg->body, "baseline", s_permille (baseline));
        asp_mpmap_int (msg->body, "recent_n", (int64_t) cJSON_GetNumberValue (cJSON_GetObjectItem (recent, "numerator")));
        asp_mpmap_int (msg->body, "recent_d", (int64_t) cJSON_GetNumberValue (cJSON_GetObjectItem (recent, "denominator")));
        asp_mpmap_int (msg->body, "baseline_n",
                       (int64_t) cJSON_GetNumberValue (cJSON_GetObjectItem (baseline, "numerator")));
        asp_mpmap_int (msg->body, "baseline_d",
                       (int64_t) cJSON_GetNumberValue (cJSON_GetObjectItem (baseline, "denominator")));
        asp_mpmap_int (msg->body, "recent_days", self->warn.recent_d);
        asp_mpmap_int (msg->body, "baseline_days", self->warn.baseline_d);
        //  For the people notification tells (its templates show note).
        char note [512];
        snprintf (note, sizeof note, "%s %s: %s %lld/%lld (%d d) against %lld/%lld (%d d before)",
                  scope, id, metric,
                  (long long) cJSON_GetNumberValue (cJSON_GetObjectItem (recent, "numerator")),
                  (long long) cJSON_GetNumberValue (cJSON_GetObjectItem (recent, "denominator")),
                  self->warn.recent_d,
                  (long long) cJSON_GetNumberValue (cJSON_GetObjectItem (baseline, "numerator")),
                  (long long) cJSON_GetNumberValue (cJSON_GetObjectItem (baseline, "denominator")),
                  self->warn.baseline_d);
        asp_mpmap_str (msg->body, "note", note);
        asp_txn_t *txn = asp_txn_new (self->warned, asp_shard_of (id));
        asp_txn_key (txn, FEEDBACK_KEY_WARNED);
        asp_txn_arg (txn, "%s", field);
        asp_txn_arg (txn, "%lld", (long long) today);
        asp_txn_publish (txn, &msg);
        txns [made++] = txn;
    }
    asp_counter_add (self->m_warnings, s_commit (self, txns, made, NULL));
    free (txns);
    cJSON_Delete (list);
}

//  Marks every partner whose score was last published before day today:
//  its windows moved on without a new fact (days left them), so it is
//  scored again. Once a day (and at start), a few round trips per shard.
//  0, or -1 when Redis failed (the next tick tries again). On rds: the
//  loop's own connection (the self-test, on another thread, passes its
//  own: one connection is never shared by two threads).
static int
s_remark (asp_rds_t *rds, int64_t today)
{
    const char *argv [] = { "HKEYS", FEEDBACK_KEY_SCORES };
    redisReply *keys [ASP_SHARDS];
    int rc = asp_rds_each_shard (rds, 2, argv, keys);
    for (unsigned s = 0; rc == 0 && s < ASP_SHARDS; s++) {
        redisReply *k = keys [s];
        //  HMGET key <p>:ms ... for every "<p>:ms" field.
        size_t n = 0;
        const char **av = (const char **) calloc (k->elements + 2, sizeof *av);
        assert (av);
        char key [ASP_KEY_MAX];
        asp_key_fmt (key, sizeof key, s, FEEDBACK_KEY_SCORES);
        av [0] = "HMGET";
        av [1] = key;
        for (size_t i = 0; i < k->elements; i++) {
            const char *f = k->element [i]->str;
            size_t len = f? strlen (f): 0;
            if (len > 3 && streq (f + len - 3, ":ms"))
                av [2 + n++] = f;
        }
        redisReply *ms = n? asp_rds_cmdv (rds, (int) (2 + n), av, NULL): NULL;
        if (n && (!ms || ms->type != REDIS_REPLY_ARRAY || ms->elements != n))
            rc = -1;
        for (size_t i = 0; rc == 0 && i < n; i++) {
            if (ms->element [i]->type != REDIS_REPLY_STRING
            ||  strtoll (ms->element [i]->str, NULL, 10) / FEEDBACK_DAY_MS >= today)
                continue;
            char partner [ASP_ID_MAX], dirty [ASP_KEY_MAX];
            snprintf (partner, sizeof partner, "%.*s", (int) (strlen (av [2 + i]) - 3), av [2 + i]);
            asp_key_fmt (dirty, sizeof dirty, s, FEEDBACK_KEY_DIRTY);
            redisReply *r = asp_rds_cmd (rds, "HSETNX %s %s day", dirty, partner);
            if (!r || r->type != REDIS_REPLY_INTEGER)
                rc = -1;
            if (r)
                freeReplyObject (r);
        }
        if (ms)
            freeReplyObject (ms);
        free (av);
    }
    for (unsigned s = 0; s < ASP_SHARDS; s++)
        if (keys [s])
            freeReplyObject (keys [s]);
    return rc;
}

//  Every interval: on a new day, the partners to score again; the marks
//  of every shard in one round trip, then the marked partners,
//  S_SCORE_BATCH at a time.
static int
s_on_tick (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop; (void) timer_id;
    feedback_score_t *self = (feedback_score_t *) arg;
    if (!asp_rds_ready (asp_svc_rds (self->svc)))
        return 0;
    int64_t now = asp_now_ms ();
    if (now / FEEDBACK_DAY_MS != self->day && s_remark (asp_svc_rds (self->svc), now / FEEDBACK_DAY_MS) == 0)
        self->day = now / FEEDBACK_DAY_MS;
    const char *argv [] = { "HGETALL", FEEDBACK_KEY_DIRTY };
    redisReply *replies [ASP_SHARDS];
    if (asp_rds_each_shard (asp_svc_rds (self->svc), 2, argv, replies) == 0)
        for (size_t skip = 0; ; skip += S_SCORE_BATCH) {
            size_t count = s_marked (replies, skip, self->marked);
            if (count)
                s_score (self, count, now);
            if (count < S_SCORE_BATCH)
                break;
        }
    for (unsigned s = 0; s < ASP_SHARDS; s++)
        if (replies [s])
            freeReplyObject (replies [s]);
    s_prune (self, now);
    if (now - self->warned_ms >= self->warn_interval_ms) {
        self->warned_ms = now;
        s_warn (self, now);
    }
    return 0;
}

feedback_score_t *
feedback_score_new (asp_svc_t *svc)
{
    feedback_score_t *self = (feedback_score_t *) calloc (1, sizeof *self);
    assert (self);
    self->svc = svc;
    char err [256];
    const char *weights = asp_cfg_str ("ASP_SCORE_WEIGHTS", S_DEFAULT_WEIGHTS);
    if (feedback_formula_weights (&self->formula, weights, err, sizeof err)) {
        asp_log_error ("bad configuration: ASP_SCORE_WEIGHTS: %s; write e.g. \"%s\"", err, S_DEFAULT_WEIGHTS);
        exit (2);
    }
    self->formula.prior = asp_cfg_int ("ASP_SCORE_PRIOR", 700, 0, 1000);
    self->formula.prior_samples = asp_cfg_int ("ASP_SCORE_PRIOR_SAMPLES", 10, 0, 1000000);
    self->interval_ms = asp_cfg_int ("ASP_SCORE_INTERVAL_MS", 5000, 10, 86400000);
    feedback_quality_config (&self->quality);
    asp_warn_config (&self->warn);
    self->warn_interval_ms = asp_cfg_int ("ASP_WARN_INTERVAL_MS", 60000, 10, 86400000);
    if (self->warn.recent_d + self->warn.baseline_d > self->quality.keep_d) {
        asp_log_error ("bad configuration: ASP_WARN_RECENT_D + ASP_WARN_BASELINE_D (%d) must be at most "
                       "ASP_QUALITY_KEEP_D (%lld): older days are gone",
                       self->warn.recent_d + self->warn.baseline_d, (long long) self->quality.keep_d);
        exit (2);
    }
    self->warned = asp_svc_script (svc, "feedback_warned", asp_lua_warned);
    self->m_warnings = asp_metrics_counter (asp_svc_metrics (svc), "quality_warnings_published_total",
                                            "quality.warning events committed to the outbox.");
    self->scored = asp_svc_script (svc, "feedback_scored", asp_lua_scored);
    self->prune = asp_svc_script (svc, "feedback_prune", asp_lua_prune);
    self->window = asp_svc_script (svc, "feedback_window", asp_lua_window);
    self->m_published = asp_metrics_counter (asp_svc_metrics (svc), "partner_scores_published_total",
                                             "partner.scored events committed to the outbox.");
    self->timer_id = zloop_timer (asp_svc_loop (svc), (size_t) self->interval_ms, 0, s_on_tick, self);
    return self;
}

void
feedback_score_destroy (feedback_score_t **self_p)
{
    if (*self_p) {
        free ((*self_p)->tech_counts);
        free (*self_p);
        *self_p = NULL;
    }
}

//  --------------------------------------------------------------------------
//  Self-test: the formula, then the timer on a real service loop (asp_probe)
//  and a real Redis.

#include "asp_probe.h"
#include "asp_selftest.h"

static void
s_test_formula (void)
{
    feedback_formula_t f = { .prior = 700, .prior_samples = 10 };
    char err [256];
    const char *bad [] = {
        "", "on_time=25,", "on_time", "on_time=", "speed=10", "on_time=1,on_time=2", "on_time=0,repeat=0",
        "on_time=1001", "on_time=-1", "on_time=2x", "on_time=25,,repeat=1", " on_time=25", "ON_TIME=1",
        "on_time=99999999999999999999"
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
        err [0] = 0;
        if (feedback_formula_weights (&f, bad [i], err, sizeof err) == 0 || !*err)
            fprintf (stderr, "feedback_score_test: weights '%s' were accepted\n", bad [i]);
        assert (feedback_formula_weights (&f, bad [i], err, sizeof err) == -1 && *err);
    }
    assert (feedback_formula_weights (&f, "satisfaction=1", err, sizeof err) == 0);
    assert (f.weight [FEEDBACK_SATISFACTION] == 1 && f.weight [FEEDBACK_ON_TIME] == 0);
    assert (feedback_formula_weights (&f, S_DEFAULT_WEIGHTS, err, sizeof err) == 0);
    assert (f.weight [FEEDBACK_ON_TIME] == 20 && f.weight [FEEDBACK_FIRST_FIX] == 20
         && f.weight [FEEDBACK_REPEAT] == 15 && f.weight [FEEDBACK_INSTALL_RETURN] == 10
         && f.weight [FEEDBACK_SATISFACTION] == 15 && f.weight [FEEDBACK_COMPLAINTS] == 10
         && f.weight [FEEDBACK_SLA] == 10);
    assert (streq (feedback_component_name (FEEDBACK_REPEAT), "repeat"));

    //  No samples: the prior everywhere (a new partner is neither top nor
    //  bottom).
    feedback_counts_t none = { 0 };
    feedback_rating_t r;
    feedback_formula_rate (&f, &none, &r);
    assert (r.score == 700 && r.samples == 0);
    for (int i = 0; i < FEEDBACK_COMPONENTS; i++)
        assert (r.component [i] == 700);
    //  One job done well barely moves it: (1000 + 700 × 10) / 11 = 727.
    feedback_counts_t one = { .completed = 1, .fixed = 1 };
    feedback_formula_rate (&f, &one, &r);
    assert (r.component [FEEDBACK_FIRST_FIX] == 727 && r.component [FEEDBACK_REPEAT] == 727);
    assert (r.component [FEEDBACK_ON_TIME] == 700 && r.samples == 4);
    //  A hundred jobs done well: (100000 + 7000) / 110 = 973 everywhere.
    feedback_counts_t good = { .completed = 100, .fixed = 100, .surveys = 100, .score_sum = 500,
                               .booked = 60, .arrivals = 40, .installs = 100 };
    feedback_rating_t g;
    feedback_formula_rate (&f, &good, &g);
    for (int i = 0; i < FEEDBACK_COMPONENTS; i++)
        assert (g.component [i] == 973);
    assert (g.score == 973 && g.samples == 700);
    //  Each failure lowers its own component only.
    struct { feedback_counts_t counts; feedback_component_t hit; int64_t want; } cases [] = {
        //  20 of 100 appointments missed, 10 changed late, 10 arrivals late:
        //  (60000 + 7000) / 110 = 609.
        { { .completed = 100, .fixed = 100, .surveys = 100, .score_sum = 500, .booked = 60,
            .arrivals = 40, .missed = 20, .late = 10, .late_arrivals = 10, .installs = 100 }, FEEDBACK_ON_TIME, 609 },
        //  30 redone: (70000 + 7000) / 110 = 700; the repeat share stays.
        { { .completed = 100, .fixed = 100, .redone = 30, .surveys = 100, .score_sum = 500,
            .booked = 60, .arrivals = 40, .installs = 100 }, FEEDBACK_FIRST_FIX, 700 },
        //  50 repeat repairs of 100 done: (50000 + 7000) / 110 = 518.
        { { .completed = 100, .fixed = 100, .repeats = 50, .surveys = 100, .score_sum = 500,
            .booked = 60, .arrivals = 40, .installs = 100 }, FEEDBACK_REPEAT, 518 },
        //  Every survey 1 of 5: (0 + 7000) / 110 = 64.
        { { .completed = 100, .fixed = 100, .surveys = 100, .score_sum = 100, .booked = 60,
            .arrivals = 40, .installs = 100 }, FEEDBACK_SATISFACTION, 64 },
        //  30 first-install returns of 100 installations: (70000 + 7000) / 110 = 700.
        { { .completed = 100, .fixed = 100, .surveys = 100, .score_sum = 500, .booked = 60,
            .arrivals = 40, .installs = 100, .install_returns = 30 }, FEEDBACK_INSTALL_RETURN, 700 },
        //  40 complaints, 20 breaches of 100 work orders: (60000 + 7000) / 110 = 609,
        //  (80000 + 7000) / 110 = 791.
        { { .completed = 100, .fixed = 100, .surveys = 100, .score_sum = 500, .booked = 60,
            .arrivals = 40, .installs = 100, .complaints = 40 }, FEEDBACK_COMPLAINTS, 609 },
        { { .completed = 100, .fixed = 100, .surveys = 100, .score_sum = 500, .booked = 60,
            .arrivals = 40, .installs = 100, .breaches = 20, .compensation = 5000 }, FEEDBACK_SLA, 791 },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases [0]; c++) {
        feedback_formula_rate (&f, &cases [c].counts, &r);
        for (int i = 0; i < FEEDBACK_COMPONENTS; i++)
            assert (r.component [i] == (i == (int) cases [c].hit? cases [c].want: 973));
        //  The weighted mean, rounded.
        int64_t sum = 0;
        for (int i = 0; i < FEEDBACK_COMPONENTS; i++)
            sum += f.weight [i] * r.component [i];
        assert (r.score == (sum + 50) / 100 && r.score < g.score);
    }
    //  Counts that overshoot (more redone than done) stay in range.
    feedback_counts_t odd = { .completed = 2, .fixed = 1, .redone = 5, .repeats = 9, .booked = 1, .missed = 3 };
    feedback_formula_rate (&f, &odd, &r);
    assert (r.component [FEEDBACK_FIRST_FIX] == 583 && r.component [FEEDBACK_REPEAT] == 636
         && r.component [FEEDBACK_ON_TIME] == 636);
    //  Without a prior weight, the raw shares; only one weight: that
    //  component is the score.
    feedback_formula_t raw = { .weight = { 1 }, .prior = 700, .prior_samples = 0 };
    feedback_counts_t half = { .booked = 4, .missed = 2 };
    feedback_formula_rate (&raw, &half, &r);
    assert (r.component [FEEDBACK_ON_TIME] == 500 && r.score == 500);
    assert (r.component [FEEDBACK_FIRST_FIX] == 700);
}

//  How long the test waits for a score it expects: generous, because only
//  a failing run waits it out and a loaded machine (other tests, the
//  sanitizers) can hold a 200 ms tick back for seconds.
#define S_TEST_WAIT_MS 20000

//  The next partner.scored feedback sent routing, acknowledged; NULL after
//  timeout_ms. Resends of the one before (an ACK may cross one) are
//  skipped. Caller destroys.
static asp_envelope_t *
s_test_scored (asp_probe_t *probe, int timeout_ms)
{
    static char last [ASP_ID_MAX];
    int64_t until = zclock_mono () + timeout_ms;
    while (zclock_mono () < until) {
        zframe_t *who;
        asp_envelope_t *env = asp_probe_recv (probe, ASP_SVC_ROUTING, &who,
                                              (int) (until - zclock_mono ()) + 1);
        if (!env)
            break;
        assert (streq (env->type, ASP_EV_PARTNER_SCORED));
        asp_probe_reply (probe, ASP_SVC_ROUTING, who, "ACK", env->id, NULL);
        zframe_destroy (&who);
        if (!streq (env->id, last)) {
            snprintf (last, sizeof last, "%s", env->id);
            return env;
        }
        asp_envelope_destroy (&env);
    }
    return NULL;
}

//  Marks of partner left in every shard.
static int
s_test_marks_now (asp_probe_t *probe, const char *partner)
{
    int marks = 0;
    for (unsigned s = 0; s < ASP_SHARDS; s++) {
        char key [ASP_KEY_MAX];
        asp_key_fmt (key, sizeof key, s, FEEDBACK_KEY_DIRTY);
        redisReply *r = asp_rds_cmd (asp_probe_rds (probe), "HEXISTS %s %s", key, partner);
        assert (r && r->type == REDIS_REPLY_INTEGER);
        marks += (int) r->integer;
        freeReplyObject (r);
    }
    return marks;
}

//  The same once it is want (the clears follow the publish), or after 5 s.
static int
s_test_marks (asp_probe_t *probe, const char *partner, int want)
{
    int marks = s_test_marks_now (probe, partner);
    for (int i = 0; i < 100 && marks != want; i++) {
        zclock_sleep (50);
        marks = s_test_marks_now (probe, partner);
    }
    return marks;
}

//  workorder.completed of ticket's first work order (W<ticket>).
static void
s_test_completed (asp_probe_t *probe, const char *ticket, const char *partner, const char *result)
{
    char wo [ASP_CHILD_ID_MAX];
    snprintf (wo, sizeof wo, "W%s", ticket);
    feedback_test_completed (probe, ticket, wo, partner, result);
}

static void
s_test_timer (void)
{
    setenv ("ASP_SCORE_INTERVAL_MS", "200", 1);
    //  One tick scores 300 partners in one pipeline: on a loaded machine
    //  its replies can take longer than the default 2 s, and a tick whose
    //  read times out scores nobody (the next one tries again, and times
    //  out the same way). What is tested here is the scoring, not that.
    setenv ("ASP_REDIS_TIMEOUT_MS", "15000", 1);
    asp_probe_t *probe = asp_probe_new (ASP_SVC_FEEDBACK);
    asp_svc_t *svc = asp_svc_new (ASP_SVC_FEEDBACK);
    feedback_visits_t *visits = feedback_visits_new (svc);
    feedback_score_t *self = feedback_score_new (svc);
    asp_probe_start (probe, svc);
    asp_rds_t *rds = asp_probe_rds (probe);
    const char *partner = "PS";
    unsigned home = asp_shard_of (partner);

    //  Work orders in two shards other than the partner's: one score,
    //  its marks cleared everywhere, the score kept in the partner's shard.
    char t1 [ASP_ID_MAX], t2 [ASP_ID_MAX];
    asp_shard_id_new (t1, "T", (home + 1) % ASP_SHARDS);
    asp_shard_id_new (t2, "T", (home + 2) % ASP_SHARDS);
    s_test_completed (probe, t1, partner, "fixed");
    s_test_completed (probe, t2, partner, "not_fixed");
    //  (A tick between the two completions scores the first alone.)
    asp_envelope_t *env = NULL;
    int64_t score, first_fix, samples = 0;
    while (samples != 7) {      //  first_fix, complaints and sla 2 each, repeat 1
        asp_envelope_destroy (&env);
        env = s_test_scored (probe, S_TEST_WAIT_MS);
        assert (env);
        char id [ASP_ID_MAX];
        assert (asp_mp_get_str (env->body, "partner_id", id, sizeof id) == 0 && streq (id, partner));
        assert (asp_mp_get_int (env->body, "score", &score) == 0);
        assert (asp_mp_get_int (env->body, "first_fix", &first_fix) == 0);
        assert (asp_mp_get_int (env->body, "samples", &samples) == 0);
    }
    feedback_counts_t counts;
    assert (feedback_test_counts (rds, &partner, 1, &counts) == 0);
    feedback_rating_t want;
    feedback_formula_rate (&self->formula, &counts, &want);
    //  (1000 + 7000) / 12 = 667 for one fix of two.
    assert (first_fix == 667 && want.component [FEEDBACK_FIRST_FIX] == 667);
    assert (score == want.score && samples == 7);
    for (int i = 0; i < FEEDBACK_COMPONENTS; i++) {
        int64_t v;
        assert (asp_mp_get_int (env->body, s_component_names [i], &v) == 0 && v == want.component [i]);
    }
    int64_t first_ms = env->time_ms;
    asp_envelope_destroy (&env);
    assert (s_test_marks (probe, partner, 0) == 0);
    char key [ASP_KEY_MAX];
    asp_key_fmt (key, sizeof key, home, FEEDBACK_KEY_SCORES);
    redisReply *r = asp_rds_cmd (rds, "HGET %s PS:score", key);
    assert (r && r->type == REDIS_REPLY_STRING && atoll (r->str) == score);
    freeReplyObject (r);

    //  A new day: a partner last scored yesterday is scored again (its
    //  windows moved), one scored today is not.
    char ykey [ASP_KEY_MAX];
    asp_key_fmt (ykey, sizeof ykey, asp_shard_of ("PY"), FEEDBACK_KEY_SCORES);
    r = asp_rds_cmd (rds, "HSET %s PY:ms %lld PY:score 1 PY:body {}", ykey,
                     (long long) (asp_now_ms () - FEEDBACK_DAY_MS));
    freeReplyObject (r);
    assert (s_remark (rds, asp_now_ms () / FEEDBACK_DAY_MS) == 0);
    assert (s_test_marks_now (probe, "PY") == 1 && s_test_marks_now (probe, partner) == 0);
    env = s_test_scored (probe, S_TEST_WAIT_MS);
    assert (env);
    char py [ASP_ID_MAX];
    assert (asp_mp_get_str (env->body, "partner_id", py, sizeof py) == 0 && streq (py, "PY"));
    asp_envelope_destroy (&env);
    assert (s_test_marks (probe, "PY", 0) == 0);

    //  More changes at once: one more score, at least an interval later.
    char t3 [ASP_ID_MAX];
    asp_shard_id_new (t3, "T", home);
    s_test_completed (probe, t3, partner, "fixed");
    env = s_test_scored (probe, S_TEST_WAIT_MS);
    assert (env && env->time_ms - first_ms >= 200);
    asp_envelope_destroy (&env);
    env = s_test_scored (probe, 500);
    assert (!env);

    //  A mark left behind (a crash before its clear) scores again; a
    //  score published "just now" (by an earlier run) holds the next one
    //  back, the mark kept, until the interval has passed.
    r = asp_rds_cmd (rds, "HSET %s PS:ms %lld", key, (long long) asp_now_ms () + 60000);
    freeReplyObject (r);
    asp_key_fmt (key, sizeof key, (home + 3) % ASP_SHARDS, FEEDBACK_KEY_DIRTY);
    r = asp_rds_cmd (rds, "HSET %s PS 99", key);
    freeReplyObject (r);
    env = s_test_scored (probe, 600);
    assert (!env && s_test_marks_now (probe, partner) == 1);
    asp_key_fmt (key, sizeof key, home, FEEDBACK_KEY_SCORES);
    r = asp_rds_cmd (rds, "HDEL %s PS:ms", key);
    freeReplyObject (r);
    env = s_test_scored (probe, S_TEST_WAIT_MS);
    assert (env);
    asp_envelope_destroy (&env);
    assert (s_test_marks (probe, partner, 0) == 0);

    //  The reports' months: one older than ASP_REPORT_KEEP_M (25) is
    //  dropped by a tick, this month's stays.
    char months [ASP_KEY_MAX], monthidx [ASP_KEY_MAX];
    asp_key_fmt (months, sizeof months, home, FEEDBACK_KEY_MONTHS);
    asp_key_fmt (monthidx, sizeof monthidx, home, FEEDBACK_KEY_MONTH_INDEX);
    time_t secs = (time_t) (asp_now_ms () / 1000);
    struct tm tm;
    gmtime_r (&secs, &tm);
    int this_month = (tm.tm_year + 1900) * 100 + tm.tm_mon + 1;
    int old_month = (tm.tm_year + 1900 - 3) * 100 + tm.tm_mon + 1;
    r = asp_rds_cmd (rds, "HSET %s m%d|completed|p|PM 2 m%d|completed|p|PM 3", months, old_month, this_month);
    freeReplyObject (r);
    r = asp_rds_cmd (rds, "ZADD %s %d m%d|completed|p|PM %d m%d|completed|p|PM", monthidx,
                     old_month, old_month, this_month, this_month);
    freeReplyObject (r);
    bool pruned = false;
    for (int i = 0; i < 100 && !pruned; i++) {
        r = asp_rds_cmd (rds, "HEXISTS %s m%d|completed|p|PM", months, old_month);
        pruned = r && r->type == REDIS_REPLY_INTEGER && r->integer == 0;
        freeReplyObject (r);
        if (!pruned)
            zclock_sleep (50);
    }
    assert (pruned);
    r = asp_rds_cmd (rds, "ZSCORE %s m%d|completed|p|PM", monthidx, old_month);
    assert (r && r->type == REDIS_REPLY_NIL);
    freeReplyObject (r);
    r = asp_rds_cmd (rds, "HGET %s m%d|completed|p|PM", months, this_month);
    assert (r && r->type == REDIS_REPLY_STRING && streq (r->str, "3"));
    freeReplyObject (r);
    r = asp_rds_cmd (rds, "ZSCORE %s m%d|completed|p|PM", monthidx, this_month);
    assert (r && r->type == REDIS_REPLY_STRING && atoi (r->str) == this_month);
    freeReplyObject (r);

    //  More marked partners than one pipeline takes (marked at once, in
    //  one command): every one scored in one tick (the prior: no counts),
    //  every mark cleared.
    enum { many = S_SCORE_BATCH + 44 };
    const char *argv [2 + 2 * many];
    char names [many][8];
    argv [0] = "HSET";
    argv [1] = key;
    asp_key_fmt (key, sizeof key, home, FEEDBACK_KEY_DIRTY);
    for (int i = 0; i < many; i++) {
        snprintf (names [i], sizeof names [i], "PX%03d", i);
        argv [2 + 2 * i] = names [i];
        argv [3 + 2 * i] = "1";
    }
    r = asp_rds_cmdv (rds, 2 + 2 * many, argv, NULL);
    assert (r && r->type == REDIS_REPLY_INTEGER && r->integer == many);
    freeReplyObject (r);
    zhashx_t *scored = zhashx_new ();
    int64_t tick = 0;
    while (zhashx_size (scored) < (size_t) many && (env = s_test_scored (probe, S_TEST_WAIT_MS))) {
        char id [ASP_ID_MAX];
        assert (asp_mp_get_str (env->body, "partner_id", id, sizeof id) == 0 && strncmp (id, "PX", 2) == 0);
        assert (asp_mp_get_int (env->body, "score", &score) == 0 && score == 700);
        assert (tick == 0 || env->time_ms == tick);
        tick = env->time_ms;
        zhashx_update (scored, id, (void *) 1);
        asp_envelope_destroy (&env);
    }
    assert (zhashx_size (scored) == (size_t) many);
    zhashx_destroy (&scored);
    int left = 0;
    for (int i = 0; i < 100; i++) {
        left = 0;
        for (unsigned sh = 0; sh < ASP_SHARDS; sh++) {
            asp_key_fmt (key, sizeof key, sh, FEEDBACK_KEY_DIRTY);
            r = asp_rds_cmd (rds, "HLEN %s", key);
            left += (int) r->integer;
            freeReplyObject (r);
        }
        if (left == 0)
            break;
        zclock_sleep (50);
    }
    assert (left == 0);

    asp_probe_stop (probe);
    asp_svc_destroy (&svc);
    feedback_score_destroy (&self);
    feedback_visits_destroy (&visits);
    asp_probe_destroy (&probe);
    unsetenv ("ASP_SCORE_INTERVAL_MS");
    unsetenv ("ASP_REDIS_TIMEOUT_MS");
}

void
feedback_score_test (void)
{
    s_test_formula ();
    asp_selftest_need_redis ("feedback_score_test");
    s_test_timer ();
}
