/*  The ops summary (intake_ops.h).                                        */
#include "intake_ops.h"
#include "asp_notify_keys.h"
#include "asp_visits.h"
#include "intake_ops_stream.h"
#include "intake_partners.h"
#include "intake_ticket.h"
#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

//  The partners the summary lists, and the regions and partners of its
//  SLA breakdown.
#define S_TOP_MAX       20
#define S_BY_PARTNER    50
#define S_HOUR_MS       ((int64_t) 3600000)
//  A service's figures older than this are stale: the service is down.
#define S_SVC_STALE_MS  30000

//  Routing's live state of the partners, written every few seconds with
//  an expiry (services/routing/rt_live.h, whose key and format these
//  are): field <partner id> -> "<connected 0|1>|<load>|<capacity>".
//  Absent: routing is down.
#define RT_LIVE_KEY     "asp:rtlive"
#define S_KEY_RTLIVE    RT_LIVE_KEY
#define S_KEY_SVCSTAT   "asp:svcstat:%s"
#define S_KEY_SCORES    "rt:scores"

static const char *s_services [] = { "intake", "routing", "sla-timer", "notification", "feedback" };
#define S_NSERVICES (sizeof s_services / sizeof s_services [0])

//  Per shard, the commands of the first round trip, in order.
typedef enum {
    C_STATUS, C_OPS, C_UNROUTABLE, C_DUE, C_BREACHED, C_ESCALATED, C_VISITS, C_N_PENDING,
    C_N_PROCESSING, C_N_RETRY, C_N_DEAD, C_DUE_IDS, C_BREACHED_IDS, C_ESCALATED_IDS, C_PARTNERS,
    C_SCORES, C_PER_SHARD
} s_cmd_t;

//  ---------------------------------------------------------------------
//  A pipeline of text commands

typedef struct {
    asp_rds_t *rds;
    size_t n;
    bool failed;
} s_pipe_t;

//  Appends one command (argc strings).
static void
s_send (s_pipe_t *p, int argc, ...)
{
    const char *argv [16];
    size_t lens [16];
    assert (argc <= 16);
    va_list ap;
    va_start (ap, argc);
    for (int i = 0; i < argc; i++) {
        argv [i] = va_arg (ap, const char *);
        lens [i] = strlen (argv [i]);
    }
    va_end (ap);
    if (!p->failed && asp_rds_append (p->rds, argc, argv, lens) == 0)
        p->n++;
    else
        p->failed = true;
}

//  Reads every reply of p into r (p->n of them, NULL when lost); false
//  when Redis failed or a reply is an error.
static bool
s_collect (s_pipe_t *p, redisReply **r)
{
    bool ok = !p->failed;
    for (size_t i = 0; i < p->n; i++) {
        r [i] = ok? asp_rds_reply (p->rds): NULL;
        if (!r [i] || r [i]->type == REDIS_REPLY_ERROR)
            ok = false;
    }
    return ok;
}

static void
s_free (redisReply **r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (r [i])
            freeReplyObject (r [i]);
}

static int64_t
s_int (const redisReply *r)
{
    if (r && r->type == REDIS_REPLY_INTEGER)
        return r->integer;
    if (r && r->type == REDIS_REPLY_STRING)
        return strtoll (r->str, NULL, 10);
    return 0;
}

//  Adds add to the integer member name of obj (created at 0).
static void
s_add (cJSON *obj, const char *name, double add)
{
    cJSON *c = cJSON_GetObjectItemCaseSensitive (obj, name);
    if (c)
        cJSON_SetNumberValue (c, c->valuedouble + add);
    else
        cJSON_AddNumberToObject (obj, name, add);
}

//  ---------------------------------------------------------------------
//  The SLA breakdown: per region and per partner

typedef struct {
    char name [ASP_ID_MAX + 64];
    int64_t n [3];                  //  due_1h, breached, escalated
} s_group_t;

typedef struct {
    s_group_t *g;
    size_t n, cap;
} s_groups_t;

static s_group_t *
s_group (s_groups_t *gs, const char *name)
{
    for (size_t i = 0; i < gs->n; i++)
        if (streq (gs->g [i].name, name))
            return &gs->g [i];
    if (gs->n == gs->cap) {
        gs->cap = gs->cap? 2 * gs->cap: 16;
        gs->g = (s_group_t *) realloc (gs->g, gs->cap * sizeof *gs->g);
        assert (gs->g);
    }
    s_group_t *g = &gs->g [gs->n++];
    memset (g, 0, sizeof *g);
    snprintf (g->name, sizeof g->name, "%s", name);
    return g;
}

//  Worst first: breached, then escalated, then due within the hour; then
//  by name, so the order is stable.
static int
s_group_cmp (const void *a, const void *b)
{
    const s_group_t *x = (const s_group_t *) a, *y = (const s_group_t *) b;
    if (x->n [1] != y->n [1]) return x->n [1] > y->n [1]? -1: 1;
    if (x->n [2] != y->n [2]) return x->n [2] > y->n [2]? -1: 1;
    if (x->n [0] != y->n [0]) return x->n [0] > y->n [0]? -1: 1;
    return strcmp (x->name, y->name);
}

static cJSON *
s_groups_json (s_groups_t *gs, const char *key, size_t max)
{
    if (gs->n)
        qsort (gs->g, gs->n, sizeof *gs->g, s_group_cmp);
    cJSON *arr = cJSON_CreateArray ();
    for (size_t i = 0; i < gs->n && i < max; i++) {
        cJSON *o = cJSON_CreateObject ();
        cJSON_AddStringToObject (o, key, gs->g [i].name);
        cJSON_AddNumberToObject (o, "due_1h", (double) gs->g [i].n [0]);
        cJSON_AddNumberToObject (o, "breached", (double) gs->g [i].n [1]);
        cJSON_AddNumberToObject (o, "escalated", (double) gs->g [i].n [2]);
        cJSON_AddItemToArray (arr, o);
    }
    free (gs->g);
    return arr;
}

//  The tickets at risk (the id lists of C_DUE_IDS..C_ESCALATED_IDS of each
//  shard) by region and partner: one HMGET each, one round trip. false
//  when Redis failed.
static bool
s_sla_breakdown (asp_rds_t *rds, redisReply **r, cJSON *sla)
{
    s_pipe_t p = { rds, 0, false };
    int *kind = (int *) calloc (INTAKE_OPS_RISK_MAX, sizeof *kind);
    assert (kind);
    size_t n = 0;
    bool partial = false;
    for (int k = 0; k < 3; k++)
        for (unsigned s = 0; s < ASP_SHARDS; s++) {
            const redisReply *ids = r [s * C_PER_SHARD + C_DUE_IDS + k];
            //  The shard's share was capped (s_send_counts): more at risk
            //  than the breakdown counts.
            if (s_int (r [s * C_PER_SHARD + C_DUE + k]) > (int64_t) ids->elements)
                partial = true;
            for (size_t i = 0; ids->type == REDIS_REPLY_ARRAY && i < ids->elements && n < INTAKE_OPS_RISK_MAX; i++) {
                char key [ASP_KEY_MAX];
                asp_key (key, sizeof key, s, INTAKE_KEY_TICKET, ids->element [i]->str);
                s_send (&p, 4, "HMGET", key, "customer_region", "partner_id");
                kind [n++] = k;
            }
        }
    redisReply **rec = (redisReply **) calloc (n + 1, sizeof *rec);
    assert (rec);
    bool ok = s_collect (&p, rec);
    s_groups_t regions = { 0 }, partners = { 0 };
    for (size_t i = 0; ok && i < n; i++) {
        if (rec [i]->type != REDIS_REPLY_ARRAY || rec [i]->elements != 2)
            continue;
        const redisReply *region = rec [i]->element [0], *partner = rec [i]->element [1];
        s_group (&regions, region->type == REDIS_REPLY_STRING? region->str: "")->n [kind [i]]++;
        if (partner->type == REDIS_REPLY_STRING && *partner->str)
            s_group (&partners, partner->str)->n [kind [i]]++;
    }
    s_free (rec, n);
    free (rec);
    free (kind);
    cJSON_AddItemToObject (sla, "by_region", s_groups_json (&regions, "region", SIZE_MAX));
    cJSON_AddItemToObject (sla, "by_partner", s_groups_json (&partners, "partner", S_BY_PARTNER));
    cJSON_AddBoolToObject (sla, "partial", partial);
    return ok;
}

//  ---------------------------------------------------------------------
//  Partners

typedef struct {
    char id [ASP_ID_MAX];
    char name [201];
    char status [16];
    int connected;                  //  -1 unknown (routing down)
    int64_t load, capacity;         //  -1 unknown
    double score;                   //  -1 never scored
} s_partner_t;

//  Busiest first (load, then load/capacity), then by id.
static int
s_partner_cmp (const void *a, const void *b)
{
    const s_partner_t *x = (const s_partner_t *) a, *y = (const s_partner_t *) b;
    if (x->load != y->load) return x->load > y->load? -1: 1;
    return strcmp (x->id, y->id);
}

//  Reads routing's live field of a partner ("c|load|cap").
static void
s_live (s_partner_t *pt, const redisReply *live)
{
    pt->connected = -1;
    pt->load = pt->capacity = -1;
    if (!live || live->type != REDIS_REPLY_ARRAY)
        return;
    for (size_t i = 0; i + 1 < live->elements; i += 2)
        if (streq (live->element [i]->str, pt->id)) {
            long long c = 0, l = 0, cap = 0;
            if (sscanf (live->element [i + 1]->str, "%lld|%lld|%lld", &c, &l, &cap) == 3) {
                pt->connected = c != 0;
                pt->load = l;
                pt->capacity = cap;
            }
            else
                pt->connected = 0;
            return;
        }
    //  Routing is up (its hash is there) and does not know it: not
    //  connected, no load.
    if (live->elements > 0) {
        pt->connected = 0;
        pt->load = 0;
    }
}

static double
s_score (redisReply **r, const char *id)
{
    const redisReply *scores = r [asp_shard_of (id) * C_PER_SHARD + C_SCORES];
    for (size_t i = 0; scores->type == REDIS_REPLY_ARRAY && i + 1 < scores->elements; i += 2)
        if (streq (scores->element [i]->str, id))
            return strtod (scores->element [i + 1]->str, NULL) / 10.0;
    return -1;
}

static void
s_num_or_null (cJSON *o, const char *name, double v, bool known)
{
    if (known)
        cJSON_AddNumberToObject (o, name, v);
    else
        cJSON_AddNullToObject (o, name);
}

//  The partner section: each registered partner's record (one round
//  trip), routing's live state and scores.
static bool
s_partners (asp_rds_t *rds, redisReply **r, const redisReply *live, int64_t offered, cJSON *out)
{
    s_pipe_t p = { rds, 0, false };
    size_t n = 0;
    for (unsigned s = 0; s < ASP_SHARDS; s++) {
        const redisReply *ids = r [s * C_PER_SHARD + C_PARTNERS];
        for (size_t i = 0; ids->type == REDIS_REPLY_ARRAY && i < ids->elements; i++) {
            char key [ASP_KEY_MAX];
            asp_key (key, sizeof key, s, INTAKE_KEY_PARTNER, ids->element [i]->str);
            s_send (&p, 4, "HMGET", key, "status", "record");
            n++;
        }
    }
    redisReply **rec = (redisReply **) calloc (n + 1, sizeof *rec);
    s_partner_t *pts = (s_partner_t *) calloc (n + 1, sizeof *pts);
    assert (rec && pts);
    bool ok = s_collect (&p, rec);
    size_t np = 0;
    int64_t registered = 0, connected = 0, suspended = 0, load = 0, capacity = 0;
    for (unsigned s = 0, k = 0; ok && s < ASP_SHARDS; s++) {
        const redisReply *ids = r [s * C_PER_SHARD + C_PARTNERS];
        for (size_t i = 0; ids->type == REDIS_REPLY_ARRAY && i < ids->elements; i++, k++) {
            const redisReply *st = rec [k]->element [0], *js = rec [k]->element [1];
            if (st->type != REDIS_REPLY_STRING || streq (st->str, "removed"))
                continue;
            s_partner_t *pt = &pts [np++];
            snprintf (pt->id, sizeof pt->id, "%s", ids->element [i]->str);
            snprintf (pt->status, sizeof pt->status, "%s", st->str);
            cJSON *rj = js->type == REDIS_REPLY_STRING? cJSON_Parse (js->str): NULL;
            const char *name = cJSON_GetStringValue (cJSON_GetObjectItem (rj, "name"));
            snprintf (pt->name, sizeof pt->name, "%s", name? name: "");
            cJSON *cap = cJSON_GetObjectItem (rj, "capacity_cap");
            s_live (pt, live);
            //  Routing's capacity is the partner's READY credit within the
            //  cap; without routing, the registry's cap.
            if (pt->capacity < 0 && cJSON_IsNumber (cap))
                pt->capacity = (int64_t) cap->valuedouble;
            cJSON_Delete (rj);
            pt->score = s_score (r, pt->id);
            registered++;
            suspended += streq (pt->status, "suspended");
            connected += pt->connected == 1;
            load += pt->load > 0? pt->load: 0;
            capacity += pt->capacity > 0? pt->capacity: 0;
        }
    }
    s_free (rec, n);
    free (rec);
    bool live_known = live && live->type == REDIS_REPLY_ARRAY && live->elements > 0;
    //  Routing knows every partner, those its certificate folder admits
    //  without a registry record too: the totals are routing's when it is up.
    if (live_known) {
        connected = load = capacity = 0;
        for (size_t i = 0; i + 1 < live->elements; i += 2) {
            long long c = 0, l = 0, cap = 0;
            if (strcmp (live->element [i]->str, "up")
            &&  sscanf (live->element [i + 1]->str, "%lld|%lld|%lld", &c, &l, &cap) == 3) {
                connected += c != 0;
                load += l;
                capacity += cap;
            }
        }
    }
    cJSON *o = cJSON_AddObjectToObject (out, "partners");
    cJSON_AddNumberToObject (o, "registered", (double) registered);
    s_num_or_null (o, "connected", (double) connected, live_known);
    cJSON_AddNumberToObject (o, "suspended", (double) suspended);
    s_num_or_null (o, "load", (double) load, live_known);
    cJSON_AddNumberToObject (o, "capacity", (double) capacity);
    cJSON_AddNumberToObject (o, "offers_pending", (double) offered);
    //  No platform record counts offers that lapsed (routing re-offers in
    //  memory): null until one exists (docs/http-api.md, "Ops").
    cJSON_AddNullToObject (o, "offers_lapsed_1h");
    if (np)
        qsort (pts, np, sizeof *pts, s_partner_cmp);
    cJSON *top = cJSON_AddArrayToObject (o, "top");
    for (size_t i = 0; i < np && i < S_TOP_MAX; i++) {
        cJSON *t = cJSON_CreateObject ();
        cJSON_AddStringToObject (t, "id", pts [i].id);
        cJSON_AddStringToObject (t, "name", pts [i].name);
        cJSON_AddStringToObject (t, "status", pts [i].status);
        if (pts [i].connected < 0)
            cJSON_AddNullToObject (t, "connected");
        else
            cJSON_AddBoolToObject (t, "connected", pts [i].connected == 1);
        s_num_or_null (t, "load", (double) pts [i].load, pts [i].load >= 0);
        s_num_or_null (t, "capacity", (double) pts [i].capacity, pts [i].capacity >= 0);
        s_num_or_null (t, "score", pts [i].score, pts [i].score >= 0);
        cJSON_AddItemToArray (top, t);
    }
    free (pts);
    return ok;
}

//  ---------------------------------------------------------------------
//  Services

//  One service's entry from its asp:svcstat hash (HGETALL reply).
static cJSON *
s_service (const char *name, const redisReply *h, int64_t now_ms)
{
    double v [4] = { -1, -1, -1, -1 };      //  time_ms, rate_per_s, p50_ms, p99_ms
    static const char *fields [4] = { "time_ms", "rate_per_s", "p50_ms", "p99_ms" };
    for (size_t i = 0; h && h->type == REDIS_REPLY_ARRAY && i + 1 < h->elements; i += 2)
        for (int f = 0; f < 4; f++)
            if (streq (h->element [i]->str, fields [f])) {
                char *end = NULL;
                double d = strtod (h->element [i + 1]->str, &end);
                if (end != h->element [i + 1]->str && !*end && d >= 0)
                    v [f] = d;
            }
    bool up = v [0] >= 0 && now_ms - (int64_t) v [0] <= S_SVC_STALE_MS;
    cJSON *o = cJSON_CreateObject ();
    cJSON_AddStringToObject (o, "name", name);
    cJSON_AddBoolToObject (o, "up", up);
    s_num_or_null (o, "age_ms", (double) (now_ms - (int64_t) v [0]), v [0] >= 0);
    s_num_or_null (o, "rate_per_s", v [1], up && v [1] >= 0);
    s_num_or_null (o, "p50_ms", v [2], up && v [2] >= 0);
    s_num_or_null (o, "p99_ms", v [3], up && v [3] >= 0);
    return o;
}

//  ---------------------------------------------------------------------
//  The summary

//  The first round trip: C_PER_SHARD commands per shard, then each
//  service's figures, then routing's live state.
static void
s_send_counts (s_pipe_t *p, int64_t now_ms)
{
    char lo [24], hi [24], risk [24];
    snprintf (lo, sizeof lo, "%" PRId64, now_ms);
    snprintf (hi, sizeof hi, "%" PRId64, now_ms + S_HOUR_MS);
    //  Each shard's share of the tickets whose region is read.
    snprintf (risk, sizeof risk, "%d", INTAKE_OPS_RISK_MAX / 3 / ASP_SHARDS);
    for (unsigned s = 0; s < ASP_SHARDS; s++) {
        char k [C_PER_SHARD][ASP_KEY_MAX];
        asp_key (k [C_STATUS], ASP_KEY_MAX, s, INTAKE_KEY_COUNTS, NULL);
        asp_key (k [C_OPS], ASP_KEY_MAX, s, INTAKE_KEY_OPS, NULL);
        asp_key (k [C_UNROUTABLE], ASP_KEY_MAX, s, INTAKE_KEY_UNROUTABLE, NULL);
        asp_key (k [C_DUE], ASP_KEY_MAX, s, INTAKE_KEY_SLA_DUE, NULL);
        asp_key (k [C_BREACHED], ASP_KEY_MAX, s, INTAKE_KEY_SLA_BREACHED, NULL);
        asp_key (k [C_ESCALATED], ASP_KEY_MAX, s, INTAKE_KEY_SLA_ESCALATED, NULL);
        asp_key (k [C_VISITS], ASP_KEY_MAX, s, ASP_VISIT_KEY_OPEN, NULL);
        asp_key (k [C_N_PENDING], ASP_KEY_MAX, s, ASP_NOTIFY_KEY_PENDING, NULL);
        asp_key (k [C_N_PROCESSING], ASP_KEY_MAX, s, ASP_NOTIFY_KEY_PROCESSING, NULL);
        asp_key (k [C_N_RETRY], ASP_KEY_MAX, s, ASP_NOTIFY_KEY_RETRY, NULL);
        asp_key (k [C_N_DEAD], ASP_KEY_MAX, s, ASP_NOTIFY_KEY_DEAD, NULL);
        asp_key (k [C_PARTNERS], ASP_KEY_MAX, s, INTAKE_KEY_PARTNERS, NULL);
        asp_key (k [C_SCORES], ASP_KEY_MAX, s, S_KEY_SCORES, NULL);
        s_send (p, 2, "HGETALL", k [C_STATUS]);
        s_send (p, 2, "HGETALL", k [C_OPS]);
        s_send (p, 2, "ZCARD", k [C_UNROUTABLE]);
        s_send (p, 4, "ZCOUNT", k [C_DUE], lo, hi);
        s_send (p, 2, "ZCARD", k [C_BREACHED]);
        s_send (p, 2, "ZCARD", k [C_ESCALATED]);
        s_send (p, 2, "ZCARD", k [C_VISITS]);
        s_send (p, 2, "LLEN", k [C_N_PENDING]);
        s_send (p, 2, "LLEN", k [C_N_PROCESSING]);
        s_send (p, 2, "ZCARD", k [C_N_RETRY]);
        s_send (p, 2, "LLEN", k [C_N_DEAD]);
        s_send (p, 8, "ZRANGE", k [C_DUE], lo, hi, "BYSCORE", "LIMIT", "0", risk);
        s_send (p, 4, "ZRANGE", k [C_BREACHED], "0", risk);
        s_send (p, 4, "ZRANGE", k [C_ESCALATED], "0", risk);
        s_send (p, 4, "ZRANGE", k [C_PARTNERS], "0", "-1");
        s_send (p, 2, "HGETALL", k [C_SCORES]);
    }
    for (size_t i = 0; i < S_NSERVICES; i++) {
        char key [ASP_KEY_MAX];
        snprintf (key, sizeof key, S_KEY_SVCSTAT, s_services [i]);
        s_send (p, 2, "HGETALL", key);
    }
    s_send (p, 2, "HGETALL", S_KEY_RTLIVE);
}

cJSON *
intake_ops_summary (asp_rds_t *rds, int64_t now_ms)
{
    if (!asp_rds_ready (rds))
        return NULL;
    s_pipe_t p = { rds, 0, false };
    s_send_counts (&p, now_ms);
    size_t total = ASP_SHARDS * C_PER_SHARD + S_NSERVICES + 1;
    redisReply *r [ASP_SHARDS * C_PER_SHARD + S_NSERVICES + 1] = { 0 };
    assert (p.failed || p.n == total);
    if (!s_collect (&p, r)) {
        s_free (r, total);
        return NULL;
    }
    cJSON *out = cJSON_CreateObject ();
    cJSON_AddNumberToObject (out, "time_ms", (double) now_ms);
    cJSON *tickets = cJSON_AddObjectToObject (out, "tickets");
    cJSON *by_status = cJSON_CreateObject (), *by_type = cJSON_CreateObject (), *ops = cJSON_CreateObject ();
    for (int i = 0; i < asp_vocab_status.count; i++)
        cJSON_AddNumberToObject (by_status, asp_vocab_name (&asp_vocab_status, i), 0);
    for (int i = 0; i < asp_vocab_kind.count; i++)
        cJSON_AddNumberToObject (by_type, asp_vocab_name (&asp_vocab_kind, i), 0);
    int64_t n [C_PER_SHARD] = { 0 };
    for (unsigned s = 0; s < ASP_SHARDS; s++) {
        redisReply **sr = r + s * C_PER_SHARD;
        for (size_t i = 0; i + 1 < sr [C_STATUS]->elements; i += 2)
            s_add (by_status, sr [C_STATUS]->element [i]->str, (double) s_int (sr [C_STATUS]->element [i + 1]));
        for (size_t i = 0; i + 1 < sr [C_OPS]->elements; i += 2) {
            const char *f = sr [C_OPS]->element [i]->str;
            double v = (double) s_int (sr [C_OPS]->element [i + 1]);
            if (strncmp (f, "open:", 5) == 0)
                s_add (by_type, f + 5, v);
            else
                s_add (ops, f, v);
        }
        for (int c = C_UNROUTABLE; c <= C_N_DEAD; c++)
            n [c] += s_int (sr [c]);
    }
    int64_t open = 0;
    for (int i = 0; i < asp_vocab_status.count; i++)
        if (i != ASP_STATUS_CLOSED && i != ASP_STATUS_CANCELLED)
            open += (int64_t) cJSON_GetObjectItem (by_status, asp_vocab_name (&asp_vocab_status, i))->valuedouble;
    int64_t offered = (int64_t) cJSON_GetObjectItem (by_status, "offered")->valuedouble;
    int64_t survey = (int64_t) cJSON_GetObjectItem (by_status, "visit_scheduled")->valuedouble;
    cJSON_AddNumberToObject (tickets, "open", (double) open);
    cJSON_AddItemToObject (tickets, "by_status", by_status);
    cJSON_AddItemToObject (tickets, "by_type", by_type);

    cJSON *queues = cJSON_AddObjectToObject (out, "queues");
    cJSON *wc = cJSON_GetObjectItem (ops, "wait_customer"), *wp = cJSON_GetObjectItem (ops, "wait_parts");
    cJSON_AddNumberToObject (queues, "unroutable", (double) n [C_UNROUTABLE]);
    cJSON_AddNumberToObject (queues, "waiting_parts", wp? wp->valuedouble: 0);
    cJSON_AddNumberToObject (queues, "waiting_customer", wc? wc->valuedouble: 0);
    cJSON_AddNumberToObject (queues, "survey_pending", (double) survey);
    cJSON_AddNumberToObject (queues, "visits_open", (double) n [C_VISITS]);
    cJSON_AddNumberToObject (queues, "dead_letters", (double) n [C_N_DEAD]);
    cJSON_Delete (ops);

    cJSON *sla = cJSON_AddObjectToObject (out, "sla");
    cJSON_AddNumberToObject (sla, "due_1h", (double) n [C_DUE]);
    cJSON_AddNumberToObject (sla, "breached", (double) n [C_BREACHED]);
    cJSON_AddNumberToObject (sla, "escalated", (double) n [C_ESCALATED]);
    bool ok = s_sla_breakdown (rds, r, sla)
           && s_partners (rds, r, r [total - 1], offered, out);
    cJSON *notes = cJSON_AddObjectToObject (out, "notifications");
    cJSON_AddNumberToObject (notes, "pending", (double) (n [C_N_PENDING] + n [C_N_PROCESSING]));
    cJSON_AddNumberToObject (notes, "failing", (double) n [C_N_RETRY]);
    cJSON_AddNumberToObject (notes, "dead", (double) n [C_N_DEAD]);
    cJSON *svcs = cJSON_AddArrayToObject (out, "services");
    for (size_t i = 0; i < S_NSERVICES; i++)
        cJSON_AddItemToArray (svcs, s_service (s_services [i], r [ASP_SHARDS * C_PER_SHARD + i], now_ms));
    s_free (r, total);
    if (!ok) {
        cJSON_Delete (out);
        return NULL;
    }
    return out;
}

//  The ops routes take no query parameters: any is refused (400, answered
//  in res) so that a typo is not silently ignored. Returns true when none.
static bool
s_no_query (intake_api_t *api, const asp_http_req_t *req, asp_http_res_t *res)
{
    static const char *allowed [] = { NULL };
    cJSON *q = intake_query (req, allowed, res);
    if (!q) {
        asp_counter_inc (api->invalid);
        return false;
    }
    cJSON_Delete (q);
    return true;
}

void
intake_ops_get_summary (intake_api_t *api, const intake_call_t *call, const asp_http_req_t *req,
                        asp_http_res_t *res)
{
    (void) call;
    if (!s_no_query (api, req, res))
        return;
    cJSON *s = intake_ops_summary (api->rds, asp_now_ms ());
    if (!s) {
        intake_storage_down (res);
        return;
    }
    asp_http_json (res, 200, cJSON_PrintUnformatted (s));
    cJSON_Delete (s);
}

//  Bytes a stream client may leave unread (several summaries and full
//  frames): a slower reader is cut off, and reconnects.
#define S_STREAM_QUEUE_MAX (4 * 1024 * 1024)

void
intake_ops_get_stream (intake_api_t *api, const intake_call_t *call, const asp_http_req_t *req,
                       asp_http_res_t *res)
{
    (void) call;
    if (!s_no_query (api, req, res))
        return;
    asp_http_stream_t *st = api->ops_stream
                          ? asp_http_stream_open (req, res, "text/event-stream", S_STREAM_QUEUE_MAX): NULL;
    if (!st) {
        asp_http_error (res, 400, "not_streamable", "the ops stream is served over HTTP only");
        return;
    }
    if (intake_ops_stream_add (api->ops_stream, st, asp_http_header (req, "Last-Event-ID"))) {
        asp_http_stream_release (&st);
        asp_http_error (res, 503, "too_many_streams", "the ops stream serves as many clients as it may; retry later");
        res->retry_after = intake_ops_stream_retry_s (api->ops_stream);
    }
}

void
intake_ops_test (void)
{
    //  Worst first, then by name.
    s_groups_t gs = { 0 };
    s_group (&gs, "b")->n [0] = 3;
    s_group (&gs, "a")->n [1] = 1;
    s_group (&gs, "c")->n [1] = 1;
    s_group (&gs, "b")->n [2] = 0;
    assert (gs.n == 3);
    cJSON *arr = s_groups_json (&gs, "region", 2);
    assert (cJSON_GetArraySize (arr) == 2);
    assert (streq (cJSON_GetStringValue (cJSON_GetObjectItem (cJSON_GetArrayItem (arr, 0), "region")), "a"));
    assert (streq (cJSON_GetStringValue (cJSON_GetObjectItem (cJSON_GetArrayItem (arr, 1), "region")), "c"));
    cJSON_Delete (arr);

    //  A service without figures is down, its numbers null; stale figures too.
    cJSON *o = s_service ("intake", NULL, 1000000);
    assert (cJSON_IsFalse (cJSON_GetObjectItem (o, "up")) && cJSON_IsNull (cJSON_GetObjectItem (o, "p99_ms")));
    cJSON_Delete (o);

    //  A partner routing does not list while routing is up: not connected.
    s_partner_t pt = { .id = "P1" };
    s_live (&pt, NULL);
    assert (pt.connected == -1 && pt.load == -1);
}
