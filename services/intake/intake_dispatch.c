/*  What a ticket shows about routing's work on it (intake_dispatch.h).  */
#include "intake_dispatch.h"
#include "asp_events.h"
#include "intake_archive.h"
#include "intake_ticket.h"
#include <assert.h>
#include <string.h>

typedef intake_field_t s_field_t;

#define S_NOTE_MAX INTAKE_FIELD_TEXT_MAX
#define S_FIELDS 7

static const struct {
    const char *type;
    const char *view;               //  event.lua's a.view
    s_field_t fields [S_FIELDS];
} s_events [] = {
    { ASP_EV_WO_OFFERED, "offered", {
        { "partner_id", 's', true, ASP_ID_MAX - 1, NULL },
        { "choice", 's', false, 32, &asp_vocab_choice },
        { "score", 'i', false, 0, NULL }, { "candidates", 'i', false, 0, NULL },
        { "free", 'i', false, 0, NULL } } },
    { ASP_EV_WO_UNROUTABLE, "unroutable", {
        { "reason", 's', true, 32, &asp_vocab_unroutable_reason },
        { "refusals", 'i', false, 0, NULL } } },
    { ASP_EV_WO_APPOINTMENT, "appointment", {
        { "partner_id", 's', true, ASP_ID_MAX - 1, NULL },
        { "appointment_ms", 'i', true, 0, NULL }, { "end_ms", 'i', false, 0, NULL },
        { "previous_ms", 'i', false, 0, NULL }, { "late", 'b', false, 0, NULL },
        { "changes", 'i', false, 0, NULL } } },
    { ASP_EV_WO_APPOINTMENT_MISSED, "missed", {
        { "partner_id", 's', true, ASP_ID_MAX - 1, NULL },
        { "appointment_ms", 'i', true, 0, NULL } } },
    { ASP_EV_WO_RETURNED, "returned", {
        { "partner_id", 's', true, ASP_ID_MAX - 1, NULL },
        { "reason", 's', true, 32, &asp_vocab_unable_reason },
        { "note", 's', false, S_NOTE_MAX, NULL } } },
};
#define S_NEVENTS (sizeof s_events / sizeof s_events [0])

int
intake_event_check (const char *type, const intake_field_t *fields, size_t n, const msgpack_object *body,
                    char *reason, size_t len)
{
    char buf [INTAKE_FIELD_TEXT_MAX + 1], words [200];
    for (size_t i = 0; i < n && fields [i].name; i++) {
        const s_field_t *f = &fields [i];
        int64_t n;
        bool b;
        assert (f->type != 's' || f->max <= INTAKE_FIELD_TEXT_MAX);
        int got = f->type == 's'? asp_mp_get_str (body, f->name, buf, f->max + 1):
                  f->type == 'i'? asp_mp_get_int (body, f->name, &n): asp_mp_get_bool (body, f->name, &b);
        bool empty = got == 1 || (got == 0 && f->type == 's' && !*buf);
        if (empty && !f->required)
            continue;               //  absent, or "" (e.g. no note)
        if (empty) {
            snprintf (reason, len, "%s: field %s is required", type, f->name);
            return -1;
        }
        if (got < 0 && f->type == 's') {
            snprintf (reason, len, "%s: field %s must be a string of at most %zu bytes", type, f->name, f->max);
            return -1;
        }
        if (got < 0) {
            snprintf (reason, len, "%s: field %s must be %s", type, f->name,
                      f->type == 'i'? "an integer": "true or false");
            return -1;
        }
        if (f->vocab && asp_vocab_parse (f->vocab, buf) < 0) {
            snprintf (reason, len, "%s: field %s must be one of %s", type, f->name,
                      asp_vocab_join (f->vocab, words, sizeof words));
            return -1;
        }
        if (f->type == 'i' && strcmp (f->name, "score") && n < 0) {
            snprintf (reason, len, "%s: field %s must not be negative", type, f->name);
            return -1;
        }
    }
    return 0;
}

//  An integer field, def when absent (checked before).
static int64_t
s_int (const msgpack_object *body, const char *name, int64_t def)
{
    int64_t n = def;
    asp_mp_get_int (body, name, &n);
    return n;
}

//  Copies the fields named (NULL-terminated) that body has into obj
//  (checked before: strings and integers).
static void
s_copy (cJSON *obj, const msgpack_object *body, const char **names)
{
    for (int i = 0; names [i]; i++) {
        char str [ASP_CHILD_ID_MAX];
        if (asp_mp_get_str (body, names [i], str, sizeof str) == 0)
            cJSON_AddStringToObject (obj, names [i], str);
        else
        if (asp_mp_get (body, names [i]))
            cJSON_AddNumberToObject (obj, names [i], (double) s_int (body, names [i], 0));
    }
}

//  Why routing chose the partner, in words, for the timeline.
static void
s_why (const msgpack_object *body, cJSON *data)
{
    char choice [32];
    if (asp_mp_get_str (body, "choice", choice, sizeof choice) != 0)
        return;
    char why [200];
    int64_t score = s_int (body, "score", -1), candidates = s_int (body, "candidates", 0);
    switch (asp_vocab_parse (&asp_vocab_choice, choice)) {
        case ASP_CHOICE_ORIGINAL_INSTALLER:
            snprintf (why, sizeof why, "the original installer of the unit (%lld eligible partners)",
                      (long long) candidates);
            break;
        case ASP_CHOICE_OVERRIDE:
            snprintf (why, sizeof why, "a supervisor's override");
            break;
        default:
            if (score < 0)
                snprintf (why, sizeof why, "the best of %lld eligible partners (not scored yet)",
                          (long long) candidates);
            else
                snprintf (why, sizeof why, "the best score (%lld per mille) of %lld eligible partners",
                          (long long) score, (long long) candidates);
    }
    cJSON_AddStringToObject (data, "why", why);
}

//  Adds key: the JSON of obj (taken) to a.
static void
s_arg_json (asp_mpmap_t *a, const char *key, cJSON *obj)
{
    char *json = cJSON_PrintUnformatted (obj);
    asp_mpmap_str (a, key, json);
    cJSON_free (json);
    cJSON_Delete (obj);
}

int
intake_dispatch_event (const asp_envelope_t *env, asp_mpmap_t *a, cJSON *data, bool *copy_fields,
                       char *reason, size_t reason_len)
{
    const msgpack_object *body = env->body;
    *copy_fields = true;
    asp_mpmap_bool (a, "clears", streq (env->type, ASP_EV_WO_OFFERED) || streq (env->type, ASP_EV_WO_ASSIGNED));
    asp_mpmap_int (a, "completed_rank", ASP_STATUS_COMPLETED);
    size_t i = 0;
    while (i < S_NEVENTS && !streq (s_events [i].type, env->type))
        i++;
    if (i == S_NEVENTS) {
        asp_mpmap_str (a, "view", "");
        return 0;
    }
    char wo [ASP_CHILD_ID_MAX] = "";
    if (asp_mp_get_str (body, "wo_id", wo, sizeof wo) != 0 || !*wo) {
        snprintf (reason, reason_len, "%s: field wo_id is required", env->type);
        return -1;
    }
    if (intake_event_check (env->type, s_events [i].fields, S_FIELDS, body, reason, reason_len))
        return -1;
    const char *view = s_events [i].view;
    asp_mpmap_str (a, "view", view);
    if (streq (view, "offered")) {
        static const char *shown [] = { "partner_id", "choice", "score", "candidates", "free", NULL };
        cJSON *d = cJSON_CreateObject ();
        s_copy (d, body, shown);
        cJSON_AddNumberToObject (d, "at_ms", (double) env->time_ms);
        s_arg_json (a, "dispatch", d);
        s_why (body, data);
    }
    else
    if (streq (view, "unroutable")) {
        static const char *shown [] = { "reason", "refusals", "wo_id", NULL };
        cJSON *u = cJSON_CreateObject ();
        s_copy (u, body, shown);
        cJSON_AddNumberToObject (u, "at_ms", (double) env->time_ms);
        s_arg_json (a, "unroutable", u);
    }
    else
    if (streq (view, "appointment")) {
        bool late = false;
        asp_mp_get_bool (body, "late", &late);
        asp_mpmap_int (a, "appt_at", s_int (body, "appointment_ms", 0));
        asp_mpmap_int (a, "appt_end", s_int (body, "end_ms", 0));
        asp_mpmap_int (a, "changes", s_int (body, "changes", 0));
        asp_mpmap_bool (a, "late", late);
    }
    else
    if (streq (view, "missed"))
        asp_mpmap_int (a, "missed_at", s_int (body, "appointment_ms", 0));
    else
        *copy_fields = false;       //  returned: the partner no longer holds it
    return 0;
}

//  ---------------------------------------------------------------------
//  The queue

#define S_QUEUE_MAX 500

typedef struct {
    char id [ASP_ID_MAX];
    double since;
} s_entry_t;

static int
s_by_since (const void *x, const void *y)
{
    const s_entry_t *a = (const s_entry_t *) x, *b = (const s_entry_t *) y;
    return a->since < b->since? -1: a->since > b->since? 1: strcmp (a->id, b->id);
}

//  The record's fields an entry shows, in HMGET order.
static const char *s_shown [] = {
    "unroutable", "status", "type", "tier", "priority", "category", "customer_region",
    "customer_area", "owner"
};
#define S_SHOWN (sizeof s_shown / sizeof s_shown [0])

//  One queue entry from its ticket's fields (r: the HMGET reply).
static cJSON *
s_item (const s_entry_t *e, const redisReply *r)
{
    cJSON *item = cJSON_CreateObject ();
    cJSON_AddStringToObject (item, "ticket_id", e->id);
    cJSON_AddNumberToObject (item, "since_ms", e->since);
    for (size_t i = 0; i < S_SHOWN && i < r->elements; i++) {
        const char *v = r->element [i]->type == REDIS_REPLY_STRING? r->element [i]->str: NULL;
        const char *name = strncmp (s_shown [i], "customer_", 9) == 0? s_shown [i] + 9: s_shown [i];
        if (!v)
            continue;
        if (streq (name, "unroutable")) {
            cJSON *u = cJSON_Parse (v);
            if (!u)
                continue;
            //  wo_id, reason, refusals, at_ms (the latest word).
            cJSON *f;
            cJSON_ArrayForEach (f, u)
                cJSON_AddItemToObject (item, f->string, cJSON_Duplicate (f, 1));
            cJSON_Delete (u);
        }
        else
        if (streq (name, "priority"))
            cJSON_AddNumberToObject (item, name, strtod (v, NULL));
        else
            cJSON_AddStringToObject (item, name, v);
    }
    return item;
}

//  The oldest limit entries of every shard's queue, merged, oldest first,
//  into entries (n of them, at most limit); *total gets the queue's length.
//  0, or -1 when Redis failed.
static int
s_oldest (asp_rds_t *rds, int64_t limit, s_entry_t *entries, size_t *n, int64_t *total)
{
    char last [24];
    snprintf (last, sizeof last, "%lld", (long long) limit - 1);
    const char *range [] = { "ZRANGE", INTAKE_KEY_UNROUTABLE, "0", last, "WITHSCORES" };
    const char *card [] = { "ZCARD", INTAKE_KEY_UNROUTABLE };
    redisReply *r [ASP_SHARDS] = { NULL }, *c [ASP_SHARDS] = { NULL };
    int rc = asp_rds_each_shard (rds, 5, range, r);
    if (rc == 0)
        rc = asp_rds_each_shard (rds, 2, card, c);
    s_entry_t *all = (s_entry_t *) calloc (ASP_SHARDS * (size_t) limit, sizeof (s_entry_t));
    assert (all);
    size_t count = 0;
    *total = 0;
    for (unsigned s = 0; rc == 0 && s < ASP_SHARDS; s++) {
        *total += c [s]->integer;
        for (size_t i = 0; r [s]->type == REDIS_REPLY_ARRAY && i + 1 < r [s]->elements; i += 2) {
            snprintf (all [count].id, ASP_ID_MAX, "%s", r [s]->element [i]->str);
            all [count++].since = strtod (r [s]->element [i + 1]->str, NULL);
        }
    }
    for (unsigned s = 0; s < ASP_SHARDS; s++) {
        if (r [s])
            freeReplyObject (r [s]);
        if (c [s])
            freeReplyObject (c [s]);
    }
    qsort (all, count, sizeof all [0], s_by_since);
    *n = count < (size_t) limit? count: (size_t) limit;
    memcpy (entries, all, *n * sizeof all [0]);
    free (all);
    return rc;
}

void
intake_dispatch_queue (intake_api_t *api, const intake_call_t *call, const asp_http_req_t *req,
                       asp_http_res_t *res)
{
    (void) call;
    static const char *allowed [] = { "limit", NULL };
    cJSON *params = intake_query (req, allowed, res);
    if (!params)
        return;
    cJSON_Delete (params);
    int64_t limit;
    if (!intake_query_int (req, "limit", 1, S_QUEUE_MAX, 100, &limit, res))
        return;
    s_entry_t *entries = (s_entry_t *) calloc ((size_t) limit, sizeof (s_entry_t));
    assert (entries);
    size_t n = 0;
    int64_t total = 0;
    //  Then every entry's ticket: one pipeline.
    int rc = asp_rds_ready (api->rds)? s_oldest (api->rds, limit, entries, &n, &total): -1;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char key [ASP_KEY_MAX];
        intake_key (key, sizeof key, INTAKE_KEY_TICKET, entries [i].id);
        const char *argv [2 + S_SHOWN] = { "HMGET", key };
        memcpy (argv + 2, s_shown, sizeof s_shown);
        rc = asp_rds_append (api->rds, 2 + S_SHOWN, argv, NULL);
    }
    cJSON *out = cJSON_CreateObject ();
    cJSON_AddNumberToObject (out, "count", (double) total);
    cJSON *items = cJSON_AddArrayToObject (out, "items");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        redisReply *r = asp_rds_reply (api->rds);
        if (!r || r->type != REDIS_REPLY_ARRAY)
            rc = -1;
        else
        if (r->elements == S_SHOWN && r->element [0]->type == REDIS_REPLY_STRING)
            cJSON_AddItemToArray (items, s_item (&entries [i], r));
        //  else: it left the queue since (its ticket no longer unroutable)
        if (r)
            freeReplyObject (r);
    }
    if (rc == 0)
        asp_http_json (res, 200, cJSON_PrintUnformatted (out));
    else
        intake_storage_down (res);
    cJSON_Delete (out);
    free (entries);
}

void
intake_dispatch_test (void)
{
    //  Every event here is routed to intake, and every vocabulary field has its words.
    for (size_t i = 0; i < S_NEVENTS; i++)
        assert (asp_event_subscribers (s_events [i].type) & ASP_BIT (ASP_SVC_INTAKE));
    //  A returned work order: an empty note is no note; a reason out of
    //  the vocabulary and a mistyped field are refused.
    const s_field_t *returned = s_events [S_NEVENTS - 1].fields;
    assert (streq (s_events [S_NEVENTS - 1].type, ASP_EV_WO_RETURNED));
    char why [200];
    for (int i = 0; i < 3; i++) {
        asp_mpmap_t *m = asp_mpmap_new ();
        asp_mpmap_str (m, "partner_id", "P1");
        asp_mpmap_str (m, "reason", i == 1? "bored": "no_parts");
        if (i == 2)
            asp_mpmap_int (m, "note", 7);
        else
            asp_mpmap_str (m, "note", "");
        char *data; size_t size;
        asp_mpmap_bytes (m, &data, &size);
        msgpack_unpacked u;
        msgpack_unpacked_init (&u);
        assert (asp_mp_unpack (&u, data, size, why, sizeof why) == 0);
        int rc = intake_event_check (ASP_EV_WO_RETURNED, returned, S_FIELDS, &u.data, why, sizeof why);
        assert (i == 0? rc == 0: rc == -1 && strstr (why, i == 1? "reason must be one of": "note must be a string"));
        msgpack_unpacked_destroy (&u);
        free (data);
        asp_mpmap_destroy (&m);
    }
    s_entry_t e [] = { { "T2", 5 }, { "T1", 5 }, { "T0", 9 }, { "T3", 1 } };
    qsort (e, 4, sizeof e [0], s_by_since);
    assert (streq (e [0].id, "T3") && streq (e [1].id, "T1") && streq (e [3].id, "T0"));
}
