#include "asp_visits.h"
#include "asp_id.h"
#include "asp_keys.h"
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
asp_visit_ticket (const char *visit, char *ticket, size_t len)
{
    //  The same shape as its work order's id, with V for W.
    char wo [ASP_CHILD_ID_MAX];
    size_t n = visit? strlen (visit): 0;
    if (n < 2 || n >= sizeof wo || visit [0] != 'V')
        return -1;
    memcpy (wo, visit, n + 1);
    wo [0] = 'W';
    return asp_wo_ticket (wo, ticket, len);
}

//  A hash reply's field, or NULL.
static const char *
s_field (const redisReply *r, const char *name)
{
    for (size_t i = 0; i + 1 < r->elements; i += 2)
        if (r->element [i]->str && strcmp (r->element [i]->str, name) == 0)
            return r->element [i + 1]->str;
    return NULL;
}

static void
s_add_num (cJSON *o, const char *name, const char *v)
{
    if (v && *v)
        cJSON_AddNumberToObject (o, name, strtod (v, NULL));
}

static void
s_add_str (cJSON *o, const char *name, const char *v)
{
    if (v && *v)
        cJSON_AddStringToObject (o, name, v);
}

static void
s_add_bool (cJSON *o, const char *name, const char *v)
{
    if (v && *v)
        cJSON_AddBoolToObject (o, name, strcmp (v, "1") == 0);
}

//  The visit in record r (HGETALL of fb:<ticket>) if it is visit (NULL
//  for any visit), else NULL.
static cJSON *
s_visit (const redisReply *r, const char *ticket, const char *visit, int64_t now)
{
    if (!r || r->type != REDIS_REPLY_ARRAY)
        return NULL;
    const char *id = s_field (r, "visit_id"), *state = s_field (r, "vstate");
    //  A not_fixed completion records its visit id but schedules nothing.
    int st = asp_vocab_parse (&asp_vocab_visit_state, state);
    if (!id || st < 0 || (visit && strcmp (id, visit)))
        return NULL;
    cJSON *o = cJSON_CreateObject ();
    cJSON_AddStringToObject (o, "visit_id", id);
    cJSON_AddStringToObject (o, "ticket_id", ticket);
    s_add_str (o, "wo_id", s_field (r, "wo_id"));
    s_add_str (o, "partner_id", s_field (r, "partner_id"));
    cJSON_AddStringToObject (o, "state", state);
    s_add_num (o, "scheduled_ms", s_field (r, "completed_ms"));
    const char *due = s_field (r, "visit_due_ms");
    s_add_num (o, "due_ms", due);
    bool active = st == ASP_VISIT_OPEN || st == ASP_VISIT_ASSIGNED;
    cJSON_AddBoolToObject (o, "overdue", active && due && strtoll (due, NULL, 10) < now);
    const char *agent = s_field (r, "agent");
    if (agent)
        cJSON_AddStringToObject (o, "agent", agent);
    else
        cJSON_AddNullToObject (o, "agent");
    const char *attempts = s_field (r, "attempts"), *reminders = s_field (r, "reminders");
    cJSON_AddNumberToObject (o, "attempts", attempts? strtod (attempts, NULL): 0);
    cJSON_AddNumberToObject (o, "reminders", reminders? strtod (reminders, NULL): 0);
    const char *by = s_field (r, "answered_by");
    if (by) {
        cJSON *a = cJSON_AddObjectToObject (o, "answer");
        cJSON_AddStringToObject (a, "answered_by", by);
        s_add_num (a, "satisfaction", s_field (r, "score"));
        s_add_bool (a, "resolved", s_field (r, "resolved"));
        s_add_bool (a, "on_time", s_field (r, "on_time"));
        s_add_bool (a, "complaint", s_field (r, "complaint"));
        s_add_str (a, "comment", s_field (r, "comment"));
        s_add_str (a, "fault_cause", s_field (r, "fault_cause"));
        s_add_str (a, "repair_status", s_field (r, "repair_status"));
        s_add_str (a, "arrival", s_field (r, "arrival"));
        s_add_num (a, "work_quality", s_field (r, "work_quality"));
    }
    s_add_num (o, "closed_ms", s_field (r, "closed_ms"));
    s_add_str (o, "close_reason", s_field (r, "close_reason"));
    return o;
}

int
asp_visit_read (asp_rds_t *rds, const char *visit, int64_t now, cJSON **body)
{
    *body = NULL;
    char ticket [ASP_ID_MAX], key [ASP_KEY_MAX];
    if (asp_visit_ticket (visit, ticket, sizeof ticket))
        return 0;
    asp_key_fmt (key, sizeof key, asp_shard_of (ticket), ASP_VISIT_KEY_RECORD, ticket);
    redisReply *r = asp_rds_hgetall (rds, key);
    if (!r)
        return -1;
    *body = s_visit (r, ticket, visit, now);
    freeReplyObject (r);
    return 0;
}

typedef struct {
    const char *ticket;
    int64_t due;
} s_item_t;

static int
s_by_due (const void *a, const void *b)
{
    const s_item_t *x = (const s_item_t *) a, *y = (const s_item_t *) b;
    if (x->due != y->due)
        return x->due < y->due? -1: 1;
    return strcmp (x->ticket, y->ticket);
}

int
asp_visit_list (asp_rds_t *rds, asp_visit_state_t state, int64_t due_before, size_t offset,
                size_t limit, int64_t now, cJSON **body)
{
    *body = NULL;
    assert (state == ASP_VISIT_OPEN || state == ASP_VISIT_ASSIGNED);
    //  Each shard's first offset + limit + 1 by due time hold the page and
    //  tell whether another follows.
    char until [24], count [24];
    snprintf (until, sizeof until, "(%lld", (long long) due_before);
    snprintf (count, sizeof count, "%zu", offset + limit + 1);
    const char *argv [] = { "ZRANGEBYSCORE", state == ASP_VISIT_OPEN? ASP_VISIT_KEY_OPEN: ASP_VISIT_KEY_ASSIGNED,
                            "-inf", until, "WITHSCORES", "LIMIT", "0", count };
    redisReply *replies [ASP_SHARDS];
    int rc = asp_rds_each_shard (rds, 8, argv, replies);
    size_t n = 0, cap = 0;
    for (unsigned s = 0; s < ASP_SHARDS; s++)
        if (replies [s] && replies [s]->type == REDIS_REPLY_ARRAY)
            cap += replies [s]->elements / 2;
    s_item_t *items = (s_item_t *) calloc (cap + 1, sizeof *items);
    assert (items);
    for (unsigned s = 0; rc == 0 && s < ASP_SHARDS; s++)
        for (size_t i = 0; i + 1 < replies [s]->elements; i += 2)
            items [n++] = (s_item_t) { replies [s]->element [i]->str,
                                       strtoll (replies [s]->element [i + 1]->str, NULL, 10) };
    qsort (items, n, sizeof *items, s_by_due);
    size_t first = offset < n? offset: n, last = first + limit < n? first + limit: n;
    //  The page's records in one pipeline.
    char key [ASP_KEY_MAX];
    for (size_t i = first; rc == 0 && i < last; i++) {
        asp_key_fmt (key, sizeof key, asp_shard_of (items [i].ticket), ASP_VISIT_KEY_RECORD, items [i].ticket);
        const char *hget [] = { "HGETALL", key };
        if (asp_rds_append (rds, 2, hget, NULL))
            rc = -1;
    }
    cJSON *out = rc == 0? cJSON_CreateObject (): NULL;
    cJSON *list = out? cJSON_AddArrayToObject (out, "visits"): NULL;
    for (size_t i = first; rc == 0 && i < last; i++) {
        redisReply *r = asp_rds_reply (rds);
        if (!r || r->type != REDIS_REPLY_ARRAY)
            rc = -1;
        //  One answered or claimed between the two reads is left out of
        //  this page (its state is no longer the one asked for).
        cJSON *v = rc == 0? s_visit (r, items [i].ticket, NULL, now): NULL;
        const char *st = v? cJSON_GetStringValue (cJSON_GetObjectItem (v, "state")): NULL;
        if (v && asp_vocab_parse (&asp_vocab_visit_state, st) == (int) state)
            cJSON_AddItemToArray (list, v);
        else
            cJSON_Delete (v);
        if (r)
            freeReplyObject (r);
    }
    if (out && last < n)
        cJSON_AddNumberToObject (out, "next_offset", (double) last);
    else
    if (out)
        cJSON_AddNullToObject (out, "next_offset");
    free (items);
    for (unsigned s = 0; s < ASP_SHARDS; s++)
        if (replies [s])
            freeReplyObject (replies [s]);
    if (rc) {
        cJSON_Delete (out);
        return -1;
    }
    *body = out;
    return 0;
}

//  --------------------------------------------------------------------------
//  Self-test: ids, and the reader against records written the way
//  feedback writes them.

#include "asp_selftest.h"

void
asp_visits_test (void)
{
    char t [ASP_ID_MAX];
    assert (asp_visit_ticket ("VT1", t, sizeof t) == 0 && strcmp (t, "T1") == 0);
    assert (asp_visit_ticket ("VT1.3", t, sizeof t) == 0 && strcmp (t, "T1") == 0);
    assert (asp_visit_ticket ("WT1", t, sizeof t) == -1 && asp_visit_ticket ("V", t, sizeof t) == -1);
    assert (asp_visit_ticket (NULL, t, sizeof t) == -1 && asp_visit_ticket ("V.2", t, sizeof t) == -1);

    asp_selftest_need_redis ("asp_visits_test");
    asp_rds_t *rds = asp_rds_new ();
    assert (asp_rds_ready (rds));
    const char *tickets [] = { "TVA", "TVB", "TVC", "TVD" };
    const char *states [] = { "open", "open", "assigned", "open" };
    const int64_t due [] = { 3000, 1000, 2000, 1000 };
    char key [ASP_KEY_MAX];
    for (int i = 0; i < 4; i++) {
        unsigned shard = asp_shard_of (tickets [i]);
        asp_key_fmt (key, sizeof key, shard, ASP_VISIT_KEY_RECORD, tickets [i]);
        redisReply *r = asp_rds_cmd (rds, "HSET %s visit_id V%s wo_id W%s vstate %s visit_due_ms %lld "
                                     "completed_ms 10 partner_id P1", key, tickets [i], tickets [i],
                                     states [i], (long long) due [i]);
        assert (r && r->type == REDIS_REPLY_INTEGER);
        freeReplyObject (r);
        asp_key_fmt (key, sizeof key, shard, i == 2? ASP_VISIT_KEY_ASSIGNED: ASP_VISIT_KEY_OPEN);
        r = asp_rds_cmd (rds, "ZADD %s %lld %s", key, (long long) due [i], tickets [i]);
        assert (r && r->type == REDIS_REPLY_INTEGER);
        freeReplyObject (r);
    }
    cJSON *body;
    assert (asp_visit_read (rds, "VTVA", 2000, &body) == 0 && body);
    assert (cJSON_IsFalse (cJSON_GetObjectItem (body, "overdue")));
    assert (strcmp (cJSON_GetStringValue (cJSON_GetObjectItem (body, "ticket_id")), "TVA") == 0);
    cJSON_Delete (body);
    assert (asp_visit_read (rds, "VTVA", 3001, &body) == 0 && body);
    assert (cJSON_IsTrue (cJSON_GetObjectItem (body, "overdue")));
    cJSON_Delete (body);
    assert (asp_visit_read (rds, "VTVA.2", 0, &body) == 0 && !body);
    assert (asp_visit_read (rds, "VTVZ", 0, &body) == 0 && !body);

    //  Open ones by due time, then ticket, a page at a time.
    assert (asp_visit_list (rds, ASP_VISIT_OPEN, 1LL << 50, 0, 2, 0, &body) == 0 && body);
    cJSON *list = cJSON_GetObjectItem (body, "visits");
    assert (cJSON_GetArraySize (list) == 2);
    assert (strcmp (cJSON_GetStringValue (cJSON_GetObjectItem (cJSON_GetArrayItem (list, 0), "visit_id")),
                    "VTVB") == 0);
    assert (strcmp (cJSON_GetStringValue (cJSON_GetObjectItem (cJSON_GetArrayItem (list, 1), "visit_id")),
                    "VTVD") == 0);
    assert (cJSON_GetNumberValue (cJSON_GetObjectItem (body, "next_offset")) == 2);
    cJSON_Delete (body);
    assert (asp_visit_list (rds, ASP_VISIT_OPEN, 1LL << 50, 2, 2, 0, &body) == 0 && body);
    list = cJSON_GetObjectItem (body, "visits");
    assert (cJSON_GetArraySize (list) == 1 && cJSON_IsNull (cJSON_GetObjectItem (body, "next_offset")));
    cJSON_Delete (body);
    //  due_before is exclusive; assigned ones are their own list.
    assert (asp_visit_list (rds, ASP_VISIT_OPEN, 1000, 0, 10, 0, &body) == 0 && body);
    assert (cJSON_GetArraySize (cJSON_GetObjectItem (body, "visits")) == 0);
    cJSON_Delete (body);
    assert (asp_visit_list (rds, ASP_VISIT_ASSIGNED, 1LL << 50, 0, 10, 0, &body) == 0 && body);
    list = cJSON_GetObjectItem (body, "visits");
    assert (cJSON_GetArraySize (list) == 1);
    cJSON_Delete (body);
    asp_rds_destroy (&rds);
}
