/*  List and search tickets; the queue counts (intake_search.h).         */
#include "intake_search.h"
#include "asp_log.h"
#include "intake_ticket.h"
#include <assert.h>
#include <inttypes.h>
#include <sodium.h>
#include <string.h>

//  Latest score a query may name: 9999-12-31T23:59:59.999Z.
#define S_MS_MAX        INTAKE_MS_MAX
#define S_TAG_BYTES     12
#define S_CURSOR_MAX    200
//  Entries a shard reads per ZRANGE, and candidates per HMGET batch, when
//  a filter may drop most of them.
#define S_FILTER_BATCH  128

typedef struct {
    int64_t score;                  //  created_ms
    char id [ASP_ID_MAX];
} s_pos_t;

//  The ops view's drill-downs (intake_ops.h): the queue a ticket waits in
//  and its SLA risk, as the ticket scripts keep them on the record.
typedef enum { S_QUEUE_NONE = 0, S_QUEUE_PARTS, S_QUEUE_CUSTOMER, S_QUEUE_SURVEY } s_queue_t;
static const char *s_queue_names [] = { "", "waiting_parts", "waiting_customer", "survey_pending", NULL };
typedef enum { S_SLA_NONE = 0, S_SLA_DUE_1H, S_SLA_BREACHED, S_SLA_ESCALATED } s_sla_t;
static const char *s_sla_names [] = { "", "due_1h", "breached", "escalated", NULL };
#define S_HOUR_MS ((int64_t) 3600000)

//  One query, validated.
typedef struct {
    const char *status, *type, *region, *partner, *owner, *serial;
    char phone [24];                //  digits only; "" when not asked
    bool at_risk, desc, open_only;
    bool open;                      //  open=true
    s_queue_t queue;
    s_sla_t sla;
    int64_t now_ms;                 //  due_1h: due in [now_ms, now_ms + 1 h]
    int64_t from_ms, to_ms, limit;
    bool has_cursor;
    s_pos_t cursor;
} s_query_t;

//  The record fields a query reads, in HMGET order.
typedef enum {
    F_STATUS, F_TYPE, F_TIER, F_PRIORITY, F_OWNER, F_NAME, F_REGION, F_PHONE, F_SERIAL,
    F_MODEL, F_CATEGORY, F_PARTNER, F_CREATED, F_UPDATED, F_ALERT, F_WAITING, F_WAITING_PARTS,
    F_SLA_LEVEL, F_SLA_DUE, F_COUNT
} s_field_t;
static const char *s_fields [F_COUNT] = {
    "status", "type", "tier", "priority", "owner", "customer_name", "customer_region",
    "customer_phone", "serial", "model", "category", "partner_id", "created_ms", "updated_ms",
    "sla_alert", "waiting", "waiting_parts", "sla_level", "sla_due_ms"
};

//  Statuses of the open part of a ticket's life: a query for one of them
//  may walk ix:open. Any other status (closed, or one added later) walks
//  every ticket: slower, never wrong.
static const asp_status_t s_open [] = {
    ASP_STATUS_RECEIVED, ASP_STATUS_OFFERED, ASP_STATUS_ASSIGNED, ASP_STATUS_IN_PROGRESS,
    ASP_STATUS_COMPLETED, ASP_STATUS_VISIT_SCHEDULED
};

static bool
s_status_open (const char *status)
{
    int v = asp_vocab_parse (&asp_vocab_status, status);
    for (size_t i = 0; i < sizeof s_open / sizeof s_open [0]; i++)
        if (v == (int) s_open [i])
            return true;
    return false;
}

//  ---------------------------------------------------------------------
//  The cursor

//  The query's filters as one string (what a cursor is bound to); the
//  values have no control characters, so "\n" separates them.
static void
s_canon (const s_query_t *q, char *out, size_t len)
{
    snprintf (out, len, "%s\n%s\n%s\n%s\n%s\n%s\n%s\n%" PRId64 "\n%" PRId64 "\n%d\n%d\n%d\n%d\n%d",
              q->status? q->status: "", q->type? q->type: "", q->region? q->region: "",
              q->partner? q->partner: "", q->owner? q->owner: "", q->serial? q->serial: "",
              q->phone, q->from_ms, q->to_ms, q->at_risk, q->desc, q->open, (int) q->queue, (int) q->sla);
}

static void
s_tag (const char *payload, size_t plen, const s_query_t *q, unsigned char *tag)
{
    char canon [512];
    s_canon (q, canon, sizeof canon);
    crypto_generichash_state st;
    crypto_generichash_init (&st, NULL, 0, S_TAG_BYTES);
    crypto_generichash_update (&st, (const unsigned char *) payload, plen);
    crypto_generichash_update (&st, (const unsigned char *) "", 1);
    crypto_generichash_update (&st, (const unsigned char *) canon, strlen (canon));
    crypto_generichash_final (&st, tag, S_TAG_BYTES);
}

//  The cursor that continues q after pos, into out (S_CURSOR_MAX bytes).
static void
s_cursor_encode (const s_query_t *q, const s_pos_t *pos, char *out)
{
    unsigned char raw [ASP_ID_MAX + 32 + S_TAG_BYTES];
    int n = snprintf ((char *) raw, sizeof raw, "%c%" PRId64 ".%s", q->desc? 'd': 'a', pos->score, pos->id);
    assert (n > 0 && (size_t) n + S_TAG_BYTES <= sizeof raw);
    s_tag ((const char *) raw, (size_t) n, q, raw + n);
    sodium_bin2base64 (out, S_CURSOR_MAX, raw, (size_t) n + S_TAG_BYTES,
                       sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

//  Reads a cursor of q (its filters and sort already set) into q->cursor;
//  false when it is not one.
static bool
s_cursor_decode (s_query_t *q, const char *cursor)
{
    unsigned char raw [ASP_ID_MAX + 32 + S_TAG_BYTES];
    size_t len = 0;
    if (sodium_base642bin (raw, sizeof raw - 1, cursor, strlen (cursor), NULL, &len, NULL,
                           sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0
    ||  len < S_TAG_BYTES + 4)
        return false;
    size_t plen = len - S_TAG_BYTES;
    unsigned char want [S_TAG_BYTES];
    s_tag ((const char *) raw, plen, q, want);
    if (sodium_memcmp (want, raw + plen, S_TAG_BYTES) != 0)
        return false;
    raw [plen] = 0;
    const char *p = (const char *) raw;
    if (*p != (q->desc? 'd': 'a'))
        return false;
    char *end = NULL;
    long long score = strtoll (p + 1, &end, 10);
    if (end == p + 1 || *end != '.' || score < 0 || score > S_MS_MAX
    ||  !asp_id_valid (end + 1, strlen (end + 1)))
        return false;
    q->cursor.score = score;
    snprintf (q->cursor.id, sizeof q->cursor.id, "%s", end + 1);
    q->has_cursor = true;
    return true;
}

//  ---------------------------------------------------------------------
//  The query's parameters

bool
intake_search_v_time (const cJSON *j, const char *name, bool end_of_day, int64_t *out, intake_err_t *err)
{
    const char *s;
    if (!intake_v_str (j, name, name, 1, 24, NULL, false, &s, err))
        return false;
    if (!s)
        return true;
    if (strchr (s, '-')) {
        if (!intake_parse_date (s, name, out, err))
            return false;
        if (end_of_day)
            *out += 86400000LL - 1;
        return true;
    }
    size_t digits = strspn (s, "0123456789");
    if (digits == 0 || digits > 15 || s [digits] || strtoll (s, NULL, 10) > S_MS_MAX)
        return intake_fail (err, "%s must be a date YYYY-MM-DD or milliseconds since the epoch", name);
    *out = strtoll (s, NULL, 10);
    return true;
}

//  The index of word in names (NULL-terminated, names [0] "" for none)
//  into *out: false when it is none of them.
static bool
s_word (const char **names, const char *word, int *out)
{
    for (int i = 1; names [i]; i++)
        if (streq (names [i], word)) {
            *out = i;
            return true;
        }
    return false;
}

//  Fills q from the request; false when it answered 400 (the query names
//  what is wrong). q's strings point into *j, which the caller deletes.
static bool
s_parse (const asp_http_req_t *req, asp_http_res_t *res, s_query_t *q, cJSON **j)
{
    static const char *allowed [] = { "status", "type", "region", "partner", "owner", "phone", "serial",
                                      "from", "to", "at_risk", "sort", "limit", "cursor", "queue", "sla",
                                      "open", NULL };
    memset (q, 0, sizeof *q);
    q->to_ms = S_MS_MAX;
    *j = intake_query (req, allowed, res);
    if (!*j)
        return false;
    intake_err_t err = { "" };
    const char *phone = NULL, *at_risk = NULL, *sort = NULL, *cursor = NULL, *queue = NULL, *sla = NULL,
               *open = NULL;
    bool valid = intake_v_str (*j, "status", "status", 1, 32, &asp_vocab_status, false, &q->status, &err)
        && intake_v_str (*j, "type", "type", 1, 32, &asp_vocab_kind, false, &q->type, &err)
        && intake_v_str (*j, "region", "region", 1, 64, NULL, false, &q->region, &err)
        && intake_v_str (*j, "partner", "partner", 1, 64, NULL, false, &q->partner, &err)
        && intake_v_str (*j, "owner", "owner", 1, 64, NULL, false, &q->owner, &err)
        && intake_v_str (*j, "serial", "serial", 1, 64, NULL, false, &q->serial, &err)
        && intake_v_str (*j, "phone", "phone", 1, 32, NULL, false, &phone, &err)
        && (!phone || intake_v_phone (phone, "phone", &err))
        && intake_search_v_time (*j, "from", false, &q->from_ms, &err)
        && intake_search_v_time (*j, "to", true, &q->to_ms, &err)
        && intake_v_str (*j, "at_risk", "at_risk", 1, 8, NULL, false, &at_risk, &err)
        && (!at_risk || streq (at_risk, "true") || intake_fail (&err, "%s may only be true", "at_risk"))
        && intake_v_str (*j, "sort", "sort", 1, 16, NULL, false, &sort, &err)
        && (!sort || streq (sort, "created") || streq (sort, "-created")
            || intake_fail (&err, "%s must be created or -created", "sort"))
        && intake_v_str (*j, "cursor", "cursor", 1, S_CURSOR_MAX - 1, NULL, false, &cursor, &err)
        && intake_v_str (*j, "open", "open", 1, 8, NULL, false, &open, &err)
        && (!open || streq (open, "true") || intake_fail (&err, "%s may only be true", "open"))
        && intake_v_str (*j, "queue", "queue", 1, 32, NULL, false, &queue, &err)
        && (!queue || s_word (s_queue_names, queue, (int *) &q->queue)
            || intake_fail (&err, "%s must be waiting_parts, waiting_customer or survey_pending", "queue"))
        && intake_v_str (*j, "sla", "sla", 1, 32, NULL, false, &sla, &err)
        && (!sla || s_word (s_sla_names, sla, (int *) &q->sla)
            || intake_fail (&err, "%s must be due_1h, breached or escalated", "sla"));
    if (valid && q->from_ms > q->to_ms)
        valid = intake_fail (&err, "%s must not be after to", "from");
    if (!valid) {
        asp_http_error (res, 400, "invalid_query", "%s", err.message);
        return false;
    }
    if (!intake_query_int (req, "limit", 1, 100, 20, &q->limit, res))
        return false;
    if (phone)
        intake_phone_digits (phone, q->phone, sizeof q->phone);
    q->at_risk = at_risk != NULL;
    q->desc = !sort || streq (sort, "-created");
    q->open = open != NULL;
    q->now_ms = asp_now_ms ();
    //  The queues and the SLA risk are of open tickets only (ix:open).
    q->open_only = q->at_risk || q->open || q->queue || q->sla || (q->status && s_status_open (q->status));
    if (cursor && !s_cursor_decode (q, cursor)) {
        asp_http_error (res, 400, "invalid_cursor",
                        "cursor is not one this query returned; start again without it");
        return false;
    }
    return true;
}

//  a equals b, which is not NULL (czmq's streq takes no NULL).
static bool
s_eq (const char *a, const char *b)
{
    return a && strcmp (a, b) == 0;
}

//  The fields a filter of q reads (always the status: a record without
//  one is gone), into want; returns how many.
static int
s_filter_fields (const s_query_t *q, s_field_t *want)
{
    int n = 0;
    want [n++] = F_STATUS;
    if (q->type) want [n++] = F_TYPE;
    if (q->region) want [n++] = F_REGION;
    if (q->partner) want [n++] = F_PARTNER;
    if (q->owner) want [n++] = F_OWNER;
    if (q->serial) want [n++] = F_SERIAL;
    if (*q->phone) want [n++] = F_PHONE;
    if (q->at_risk) want [n++] = F_ALERT;
    if (q->queue == S_QUEUE_CUSTOMER) want [n++] = F_WAITING;
    if (q->queue == S_QUEUE_PARTS) want [n++] = F_WAITING_PARTS;
    if (q->sla) want [n++] = F_SLA_LEVEL;
    if (q->sla == S_SLA_DUE_1H) want [n++] = F_SLA_DUE;
    return n;
}

//  The values of an HMGET of the fields want (nwant) into v, by field;
//  the fields not read and those the record lacks are NULL.
static void
s_values (const redisReply *r, const s_field_t *want, int nwant, const char **v)
{
    for (int i = 0; i < F_COUNT; i++)
        v [i] = NULL;
    for (int i = 0; i < nwant; i++)
        if (r->element [i]->type == REDIS_REPLY_STRING)
            v [want [i]] = r->element [i]->str;
}

static bool
s_terminal (const char *status)
{
    return streq (status, "closed") || streq (status, "cancelled");
}

//  The ops view's drill-downs: the same conditions that put the ticket in
//  intake_ops' counts (ticket.lua's ops counts, event.lua's SLA risk).
static bool
s_match_ops (const s_query_t *q, const char **v)
{
    if ((q->queue || q->sla) && s_terminal (v [F_STATUS]))
        return false;
    if ((q->queue == S_QUEUE_PARTS && !s_eq (v [F_WAITING_PARTS], "1"))
    ||  (q->queue == S_QUEUE_CUSTOMER && !s_eq (v [F_WAITING], "1"))
    ||  (q->queue == S_QUEUE_SURVEY && !s_eq (v [F_STATUS], "visit_scheduled")))
        return false;
    int64_t level = v [F_SLA_LEVEL]? strtoll (v [F_SLA_LEVEL], NULL, 10): 0;
    int64_t due = v [F_SLA_DUE]? strtoll (v [F_SLA_DUE], NULL, 10): 0;
    switch (q->sla) {
        case S_SLA_DUE_1H:
            return level == 1 && due > 0 && due >= q->now_ms && due <= q->now_ms + S_HOUR_MS;
        case S_SLA_BREACHED:
            return level >= 2;
        case S_SLA_ESCALATED:
            return level >= 3;
        default:
            return true;
    }
}

//  True when the record (its values by field) matches q.
static bool
s_match (const s_query_t *q, const char **v)
{
    if (!v [F_STATUS])
        return false;               //  no such record
    char digits [24] = "";
    if (*q->phone && v [F_PHONE])
        intake_phone_digits (v [F_PHONE], digits, sizeof digits);
    return (!q->status || s_eq (v [F_STATUS], q->status))
        && (!q->type || s_eq (v [F_TYPE], q->type))
        && (!q->region || s_eq (v [F_REGION], q->region))
        && (!q->partner || s_eq (v [F_PARTNER], q->partner))
        && (!q->owner || s_eq (v [F_OWNER], q->owner))
        && (!q->serial || s_eq (v [F_SERIAL], q->serial))
        && (!*q->phone || s_eq (digits, q->phone))
        && (!q->at_risk || s_eq (v [F_ALERT], "1"))
        && (!q->open || !s_terminal (v [F_STATUS]))
        && s_match_ops (q, v);
}

static bool
s_filtered (const s_query_t *q)
{
    return q->status || q->type || q->region || q->partner || q->owner || q->serial || *q->phone || q->at_risk
        || q->open || q->queue || q->sla;
}

//  A ticket as a list shows it (the shape of GET /v1/tickets/{id}, fewer
//  fields; the phone masked).
static cJSON *
s_summary (const char *id, const redisReply *r)
{
    //  Read with every field, in s_field_t order.
    const char *v [F_COUNT];
    for (int i = 0; i < F_COUNT; i++)
        v [i] = r->element [i]->type == REDIS_REPLY_STRING? r->element [i]->str: "";
    cJSON *t = cJSON_CreateObject ();
    cJSON_AddStringToObject (t, "id", id);
    cJSON_AddStringToObject (t, "status", v [F_STATUS]);
    cJSON_AddStringToObject (t, "type", v [F_TYPE]);
    cJSON_AddStringToObject (t, "tier", v [F_TIER]);
    cJSON_AddNumberToObject (t, "priority", strtod (v [F_PRIORITY], NULL));
    cJSON_AddStringToObject (t, "owner", v [F_OWNER]);
    cJSON *c = cJSON_AddObjectToObject (t, "customer");
    char masked [64];
    asp_mask_phone (v [F_PHONE], masked, sizeof masked);
    cJSON_AddStringToObject (c, "name", v [F_NAME]);
    cJSON_AddStringToObject (c, "phone", masked);
    cJSON_AddStringToObject (c, "region", v [F_REGION]);
    cJSON *p = cJSON_AddObjectToObject (t, "product");
    cJSON_AddStringToObject (p, "serial", v [F_SERIAL]);
    cJSON_AddStringToObject (p, "model", v [F_MODEL]);
    cJSON_AddStringToObject (p, "category", v [F_CATEGORY]);
    if (*v [F_PARTNER])
        cJSON_AddStringToObject (t, "partner_id", v [F_PARTNER]);
    cJSON_AddBoolToObject (t, "sla_alert", streq (v [F_ALERT], "1"));
    cJSON_AddNumberToObject (t, "created_ms", strtod (v [F_CREATED], NULL));
    cJSON_AddNumberToObject (t, "updated_ms", strtod (v [F_UPDATED], NULL));
    return t;
}

//  ---------------------------------------------------------------------
//  The walk: the shards' sets merged in sort order

typedef struct {
    s_pos_t buf [S_FILTER_BATCH];
    size_t n, at;                   //  buffered entries; next to take
    size_t skip;                    //  LIMIT offset of the next read
    bool end;                       //  nothing after buf
    bool has_last;
    s_pos_t last;                   //  last entry taken (or the cursor)
} s_shard_t;

typedef struct {
    const s_query_t *q;
    size_t batch;                   //  entries per ZRANGE
    s_shard_t shard [ASP_SHARDS];
} s_walk_t;

//  a before b in the sort order (ties on created_ms: by id, as Redis
//  orders a zset's members of one score).
static bool
s_before (const s_query_t *q, const s_pos_t *a, const s_pos_t *b)
{
    int c = a->score < b->score? -1: a->score > b->score? 1: strcmp (a->id, b->id);
    return q->desc? c > 0: c < 0;
}

//  Reads the next entries of every shard whose buffer is empty, in one
//  round trip. -1 when Redis failed.
static int
s_fill (asp_rds_t *rds, s_walk_t *w)
{
    const s_query_t *q = w->q;
    unsigned asked [ASP_SHARDS];
    size_t nasked = 0;
    if (!asp_rds_ready (rds))
        return -1;
    for (unsigned n = 0; n < ASP_SHARDS; n++) {
        s_shard_t *s = &w->shard [n];
        if (s->at < s->n || s->end)
            continue;
        //  From the last entry taken on (inclusive: members of the same
        //  score come again and are dropped below).
        int64_t lo = q->from_ms, hi = q->to_ms;
        if (s->has_last) {
            if (q->desc) hi = s->last.score;
            else         lo = s->last.score;
        }
        char key [ASP_KEY_MAX], los [24], his [24], skip [24], count [24];
        asp_key (key, sizeof key, n, q->open_only? INTAKE_KEY_OPEN: INTAKE_KEY_ALL, NULL);
        snprintf (los, sizeof los, "%" PRId64, lo);
        snprintf (his, sizeof his, "%" PRId64, hi);
        snprintf (skip, sizeof skip, "%zu", s->skip);
        snprintf (count, sizeof count, "%zu", w->batch);
        const char *argv [] = { "ZRANGE", key, q->desc? his: los, q->desc? los: his, "BYSCORE",
                                "LIMIT", skip, count, "WITHSCORES", "REV" };
        int argc = q->desc? 10: 9;
        size_t lens [10];
        for (int i = 0; i < argc; i++)
            lens [i] = strlen (argv [i]);
        if (asp_rds_append (rds, argc, argv, lens))
            return -1;
        asked [nasked++] = n;
    }
    int rc = 0;
    for (size_t k = 0; k < nasked; k++) {
        redisReply *r = asp_rds_reply (rds);
        if (!r)
            return -1;              //  the connection is gone, and every reply
        s_shard_t *s = &w->shard [asked [k]];
        if (r->type != REDIS_REPLY_ARRAY || r->elements % 2)
            rc = -1;
        else {
            s->n = s->at = 0;
            size_t got = r->elements / 2, dropped = 0;
            for (size_t i = 0; i < got; i++) {
                s_pos_t *e = &s->buf [s->n];
                e->score = strtoll (r->element [2 * i + 1]->str, NULL, 10);
                snprintf (e->id, sizeof e->id, "%s", r->element [2 * i]->str);
                if (s->has_last && !s_before (q, &s->last, e))
                    dropped++;
                else
                    s->n++;
            }
            s->end = got < w->batch;
            //  A full read of entries all taken before: more of one score
            //  than a read holds; read past them.
            s->skip = got > 0 && dropped == got? s->skip + got: 0;
        }
        freeReplyObject (r);
    }
    return rc;
}

//  The shard whose next entry comes first: -1 when every shard is done,
//  -2 when a shard must be read first.
static int
s_next (s_walk_t *w)
{
    int best = -1;
    for (unsigned n = 0; n < ASP_SHARDS; n++) {
        s_shard_t *s = &w->shard [n];
        if (s->at == s->n && !s->end)
            return -2;
        if (s->at < s->n && (best < 0 || s_before (w->q, &s->buf [s->at], &w->shard [best].buf [w->shard [best].at])))
            best = (int) n;
    }
    return best;
}

//  HMGETs the fields want (nwant) of the records of cand (n of them), in
//  one round trip, into r.
static int
s_records (asp_rds_t *rds, const s_pos_t *cand, size_t n, const s_field_t *want, int nwant,
           redisReply **r)
{
    const char *argv [2 + F_COUNT];
    size_t lens [2 + F_COUNT];
    argv [0] = "HMGET";
    argv [1] = "";
    for (int i = 0; i < nwant; i++)
        argv [2 + i] = s_fields [want [i]];
    for (int i = 0; i < 2 + nwant; i++)
        lens [i] = strlen (argv [i]);
    for (size_t i = 0; i < n; i++)
        r [i] = NULL;
    if (!asp_rds_ready (rds))
        return -1;
    for (size_t i = 0; i < n; i++) {
        char key [ASP_KEY_MAX];
        intake_key (key, sizeof key, INTAKE_KEY_TICKET, cand [i].id);
        argv [1] = key;
        lens [1] = strlen (key);
        if (asp_rds_append (rds, 2 + nwant, argv, lens))
            return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        r [i] = asp_rds_reply (rds);
        if (!r [i])
            return -1;
        if (r [i]->type != REDIS_REPLY_ARRAY || r [i]->elements != (size_t) nwant)
            rc = -1;
    }
    return rc;
}

static void
s_free_replies (redisReply **r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (r [i])
            freeReplyObject (r [i]);
}

typedef struct {
    cJSON *tickets;
    size_t found, examined;
    bool partial, more;
    s_pos_t next;                   //  where the next page starts, if more
} s_page_t;

//  Examines the candidates cand (n, in order) against w's query: adds the
//  matches' summaries to page until it is full. 1 when it is, 0 when the
//  walk goes on, -1 when Redis failed.
static int
s_examine (asp_rds_t *rds, s_walk_t *w, const s_pos_t *cand, size_t n, s_page_t *page)
{
    const s_query_t *q = w->q;
    s_pos_t match [S_FILTER_BATCH];
    redisReply *rec [S_FILTER_BATCH], *matched [S_FILTER_BATCH];
    const char *v [F_COUNT];
    //  Filtered: the filters' fields first, then whole summaries of the
    //  matches only (most candidates of a rare filter fail).
    s_field_t want [F_COUNT];
    bool filtered = s_filtered (q);
    int nwant = filtered? s_filter_fields (q, want): F_COUNT;
    for (int f = 0; !filtered && f < F_COUNT; f++)
        want [f] = (s_field_t) f;
    if (s_records (rds, cand, n, want, nwant, rec)) {
        s_free_replies (rec, n);
        return -1;
    }
    size_t nm = 0;
    bool full = false;
    for (size_t i = 0; i < n && !full; i++) {
        s_values (rec [i], want, nwant, v);
        page->examined++;
        page->next = cand [i];
        if (s_match (q, v)) {
            match [nm] = cand [i];
            matched [nm++] = rec [i];
            rec [i] = NULL;
            full = page->found + nm == (size_t) q->limit;
            //  More only if something follows (or may: unread).
            if (full)
                page->more = i + 1 < n || s_next (w) != -1;
        }
    }
    s_free_replies (rec, n);
    int rc = 0;
    if (filtered && nm > 0) {
        s_free_replies (matched, nm);
        for (int f = 0; f < F_COUNT; f++)
            want [f] = (s_field_t) f;
        rc = s_records (rds, match, nm, want, F_COUNT, matched);
    }
    for (size_t i = 0; rc == 0 && i < nm; i++) {
        s_values (matched [i], want, F_COUNT, v);
        //  A record that changed between the two reads is left out (the
        //  page may then hold fewer than limit: next_cursor goes on).
        if (s_match (q, v)) {
            cJSON_AddItemToArray (page->tickets, s_summary (match [i].id, matched [i]));
            page->found++;
        }
    }
    s_free_replies (matched, nm);
    return rc? -1: full? 1: 0;
}

//  Walks w until the page is full, the sets end or the budget is spent.
//  -1 when Redis failed.
static int
s_walk (asp_rds_t *rds, s_walk_t *w, size_t budget, s_page_t *page)
{
    const s_query_t *q = w->q;
    s_pos_t cand [S_FILTER_BATCH];
    while (true) {
        if (page->examined >= budget) {
            //  Spent: partial, unless the sets end here anyway.
            page->partial = page->more = s_next (w) != -1;
            return 0;
        }
        size_t room = s_filtered (q)? S_FILTER_BATCH: (size_t) q->limit - page->found;
        size_t n = 0;
        int next;
        while ((next = s_next (w)) >= 0 && n < room && page->examined + n < budget) {
            s_shard_t *s = &w->shard [next];
            cand [n++] = s->last = s->buf [s->at++];
            s->has_last = true;
        }
        if (n == 0 && next == -1)
            return 0;                           //  the sets ended: no more
        if (n == 0 && s_fill (rds, w))          //  a shard must be read
            return -1;
        int rc = n > 0? s_examine (rds, w, cand, n, page): 0;
        if (rc)
            return rc < 0? -1: 0;
    }
}

void
intake_search_list (intake_api_t *api, const intake_call_t *call, const asp_http_req_t *req,
                    asp_http_res_t *res)
{
    (void) call;
    s_query_t q;
    cJSON *params = NULL;
    if (!s_parse (req, res, &q, &params)) {
        asp_counter_inc (api->invalid);
        cJSON_Delete (params);
        return;
    }
    s_walk_t *w = (s_walk_t *) calloc (1, sizeof *w);
    assert (w);
    w->q = &q;
    w->batch = s_filtered (&q)? S_FILTER_BATCH: (size_t) q.limit;
    for (unsigned n = 0; n < ASP_SHARDS; n++)
        if (q.has_cursor) {
            w->shard [n].last = q.cursor;
            w->shard [n].has_last = true;
        }
    s_page_t page = { cJSON_CreateArray (), 0, 0, false, false, { 0, "" } };
    if (s_walk (api->rds, w, (size_t) api->search_scan_max, &page) == 0) {
        cJSON *out = cJSON_CreateObject ();
        cJSON_AddItemToObject (out, "tickets", page.tickets);
        if (page.more) {
            char cursor [S_CURSOR_MAX];
            s_cursor_encode (&q, &page.next, cursor);
            cJSON_AddStringToObject (out, "next_cursor", cursor);
        }
        else
            cJSON_AddNullToObject (out, "next_cursor");
        cJSON_AddBoolToObject (out, "partial", page.partial);
        cJSON_AddNumberToObject (out, "scanned", (double) page.examined);
        asp_http_json (res, 200, cJSON_PrintUnformatted (out));
        cJSON_Delete (out);
    }
    else {
        cJSON_Delete (page.tickets);
        intake_storage_down (res);
    }
    free (w);
    cJSON_Delete (params);
}

//  ---------------------------------------------------------------------
//  The queue counts

//  Adds each shard's HGETALL (field, count, ...) into counts.
static void
s_sum_hashes (redisReply **replies, cJSON *counts)
{
    for (unsigned n = 0; n < ASP_SHARDS; n++)
        for (size_t i = 0; i + 1 < replies [n]->elements; i += 2) {
            const char *status = replies [n]->element [i]->str;
            double add = strtod (replies [n]->element [i + 1]->str, NULL);
            cJSON *c = cJSON_GetObjectItemCaseSensitive (counts, status);
            if (c)
                cJSON_SetNumberValue (c, c->valuedouble + add);
            else
                cJSON_AddNumberToObject (counts, status, add);
        }
}

//  One owner's count of each status: HMGET of "<status>:<owner>" per shard.
#define S_STATUS_MAX 24
static int
s_owner_counts (asp_rds_t *rds, const char *owner, cJSON *queue)
{
    char fields [S_STATUS_MAX][100];
    const char *argv [2 + S_STATUS_MAX] = { "HMGET", INTAKE_KEY_OWNER };
    int nst = asp_vocab_status.count;
    assert (nst <= S_STATUS_MAX);
    for (int i = 0; i < nst; i++) {
        snprintf (fields [i], sizeof fields [i], "%s:%s", asp_vocab_name (&asp_vocab_status, i), owner);
        argv [2 + i] = fields [i];
    }
    redisReply *r [ASP_SHARDS];
    int rc = asp_rds_each_shard (rds, 2 + nst, argv, r);
    for (int i = 0; i < nst; i++) {
        double sum = 0;
        for (unsigned n = 0; rc == 0 && n < ASP_SHARDS; n++)
            if (r [n]->type == REDIS_REPLY_ARRAY && r [n]->elements == (size_t) nst
            &&  r [n]->element [i]->type == REDIS_REPLY_STRING)
                sum += strtod (r [n]->element [i]->str, NULL);
        cJSON_AddNumberToObject (queue, asp_vocab_name (&asp_vocab_status, i), sum);
    }
    s_free_replies (r, ASP_SHARDS);
    return rc;
}

void
intake_search_counts (intake_api_t *api, const intake_call_t *call, const asp_http_req_t *req,
                      asp_http_res_t *res)
{
    (void) call;
    static const char *allowed [] = { "owner", NULL };
    cJSON *params = intake_query (req, allowed, res);
    if (!params)
        return;
    const char *owner;
    intake_err_t err = { "" };
    if (!intake_v_str (params, "owner", "owner", 1, 64, NULL, false, &owner, &err)) {
        asp_http_error (res, 400, "invalid_query", "%s", err.message);
        cJSON_Delete (params);
        return;
    }
    cJSON *out = cJSON_CreateObject ();
    cJSON *counts = cJSON_AddObjectToObject (out, "counts");
    for (int i = 0; i < asp_vocab_status.count; i++)
        cJSON_AddNumberToObject (counts, asp_vocab_name (&asp_vocab_status, i), 0);
    const char *argv [] = { "HGETALL", INTAKE_KEY_COUNTS };
    redisReply *r [ASP_SHARDS];
    int rc = asp_rds_each_shard (api->rds, 2, argv, r);
    if (rc == 0)
        s_sum_hashes (r, counts);
    s_free_replies (r, ASP_SHARDS);
    double total = 0;
    for (cJSON *c = counts->child; c; c = c->next)
        total += c->valuedouble;
    cJSON_AddNumberToObject (out, "total", total);
    if (rc == 0 && owner) {
        cJSON_AddStringToObject (out, "owner", owner);
        rc = s_owner_counts (api->rds, owner, cJSON_AddObjectToObject (out, "queue"));
    }
    if (rc == 0)
        asp_http_json (res, 200, cJSON_PrintUnformatted (out));
    else
        intake_storage_down (res);
    cJSON_Delete (out);
    cJSON_Delete (params);
}

//  ---------------------------------------------------------------------

void
intake_search_test (void)
{
    s_query_t q = { .status = "received", .region = "north", .to_ms = S_MS_MAX, .desc = true };
    s_pos_t pos = { 1795340616756LL, "Tabc123" };
    char cursor [S_CURSOR_MAX];
    s_cursor_encode (&q, &pos, cursor);
    s_query_t back = q;
    assert (s_cursor_decode (&back, cursor));
    assert (back.has_cursor && back.cursor.score == pos.score && streq (back.cursor.id, pos.id));
    //  Another query (a filter, the sort) refuses it.
    back = q;
    back.region = "south";
    assert (!s_cursor_decode (&back, cursor));
    back = q;
    back.desc = false;
    assert (!s_cursor_decode (&back, cursor));
    //  Any changed character, garbage, a cut: refused.
    for (size_t i = 0; cursor [i]; i++) {
        char edited [S_CURSOR_MAX];
        snprintf (edited, sizeof edited, "%s", cursor);
        edited [i] = edited [i] == 'A'? 'B': 'A';
        back = q;
        assert (!s_cursor_decode (&back, edited));
    }
    const char *garbage [] = { "", "x", "!!!!", "YWJj", "not a cursor at all, really not", NULL };
    for (int i = 0; garbage [i]; i++) {
        back = q;
        assert (!s_cursor_decode (&back, garbage [i]));
    }
    cursor [strlen (cursor) - 3] = 0;
    back = q;
    assert (!s_cursor_decode (&back, cursor));

    //  The merge order: created_ms, then id; reversed for -created.
    s_pos_t a = { 5, "Ta" }, b = { 5, "Tb" }, c = { 6, "T0" };
    q.desc = false;
    assert (s_before (&q, &a, &b) && s_before (&q, &b, &c) && !s_before (&q, &a, &a));
    q.desc = true;
    assert (s_before (&q, &c, &b) && s_before (&q, &b, &a));

    assert (s_status_open ("received") && s_status_open ("visit_scheduled"));
    assert (!s_status_open ("closed") && !s_status_open ("cancelled"));

    //  Time bounds: a date is its whole day; ms as they are.
    cJSON *j = cJSON_Parse ("{\"d\":\"2024-02-29\",\"m\":\"1709164800000\",\"x\":\"12ab\",\"y\":\"2024-02-30\"}");
    intake_err_t err;
    int64_t ms = 0;
    assert (intake_search_v_time (j, "d", false, &ms, &err) && ms == 1709164800000LL);
    assert (intake_search_v_time (j, "d", true, &ms, &err) && ms == 1709164800000LL + 86399999);
    assert (intake_search_v_time (j, "m", false, &ms, &err) && ms == 1709164800000LL);
    assert (!intake_search_v_time (j, "x", false, &ms, &err) && strstr (err.message, "x must be"));
    assert (!intake_search_v_time (j, "y", false, &ms, &err) && strstr (err.message, "calendar"));
    cJSON_Delete (j);
}
