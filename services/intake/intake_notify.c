/*  Notification's dead letters, listed and replayed (intake_notify.h).   */
#include "intake_notify.h"
#include "asp_log.h"
#include "asp_notify_keys.h"
#include "intake_ticket.h"
#include <assert.h>
#include <stdlib.h>
#include <string.h>

//  The hash fields an item shows, in HMGET order.
static const char *s_shown [] = {
    ASP_NOTIFY_F_TICKET, ASP_NOTIFY_F_TEMPLATE, ASP_NOTIFY_F_CHANNEL, ASP_NOTIFY_F_TO,
    ASP_NOTIFY_F_ATTEMPTS, ASP_NOTIFY_F_LAST_ERROR, ASP_NOTIFY_F_DEAD_MS, ASP_NOTIFY_F_REPLAYS,
    ASP_NOTIFY_F_STATE
};
#define S_SHOWN (sizeof s_shown / sizeof s_shown [0])
enum { S_TICKET, S_TEMPLATE, S_CHANNEL, S_TO, S_ATTEMPTS, S_ERROR, S_DEAD_MS, S_REPLAYS, S_STATE };

//  One dead letter read: its id, shard and the hash's fields.
typedef struct {
    char id [ASP_ID_MAX];
    unsigned shard;
    int64_t dead_ms;
    redisReply *r;                  //  HMGET of s_shown; owned
} s_dead_t;

void
intake_notify_mask (const char *to, char *out, size_t outlen)
{
    const char *at = strchr (to, '@');
    if (!*to)
        snprintf (out, outlen, "%s", "");
    else
    if (at && at > to)
        snprintf (out, outlen, "%c***%s", *to, at);
    else
        asp_mask_phone (to, out, outlen);
}

static const char *
s_str (const redisReply *r, size_t i)
{
    return r->element [i]->type == REDIS_REPLY_STRING? r->element [i]->str: "";
}

static cJSON *
s_item (const s_dead_t *d)
{
    cJSON *o = cJSON_CreateObject ();
    char to [300];
    intake_notify_mask (s_str (d->r, S_TO), to, sizeof to);
    cJSON_AddStringToObject (o, "id", d->id);
    cJSON_AddStringToObject (o, "ticket_id", s_str (d->r, S_TICKET));
    cJSON_AddStringToObject (o, "template", s_str (d->r, S_TEMPLATE));
    cJSON_AddStringToObject (o, "channel", s_str (d->r, S_CHANNEL));
    cJSON_AddStringToObject (o, "to", to);
    cJSON_AddNumberToObject (o, "attempts", (double) atoll (s_str (d->r, S_ATTEMPTS)));
    cJSON_AddStringToObject (o, "last_error", s_str (d->r, S_ERROR));
    cJSON_AddNumberToObject (o, "dead_ms", (double) d->dead_ms);
    cJSON_AddNumberToObject (o, "replays", (double) atoll (s_str (d->r, S_REPLAYS)));
    return o;
}

//  Newest first; the id breaks ties so pages do not overlap.
static int
s_newest_first (const void *a, const void *b)
{
    const s_dead_t *x = (const s_dead_t *) a, *y = (const s_dead_t *) b;
    if (x->dead_ms != y->dead_ms)
        return x->dead_ms > y->dead_ms? -1: 1;
    return strcmp (x->id, y->id);
}

//  Reads up to per_shard ids of each shard's dead list (shards from
//  first, every step) and the total length, then their hashes: *list
//  (owned by the caller, *n of them). 0, or -1 when Redis failed.
static int
s_read (asp_rds_t *rds, unsigned first, unsigned step, int64_t per_shard, s_dead_t **list, size_t *n,
        int64_t *total)
{
    *list = NULL;
    *n = 0;
    *total = 0;
    char key [ASP_KEY_MAX], stop [24];
    snprintf (stop, sizeof stop, "%lld", (long long) per_shard - 1);
    unsigned shards = 0;
    for (unsigned s = first; s < ASP_SHARDS; s += step, shards++) {
        asp_key (key, sizeof key, s, ASP_NOTIFY_KEY_DEAD, "");
        const char *llen [] = { "LLEN", key };
        const char *lrange [] = { "LRANGE", key, "0", stop };
        if (asp_rds_append (rds, 2, llen, NULL) || asp_rds_append (rds, 4, lrange, NULL))
            return -1;
    }
    int rc = 0;
    size_t cap = 0;
    for (unsigned i = 0, s = first; i < shards; i++, s += step)
        for (int k = 0; k < 2; k++) {
            redisReply *r = asp_rds_reply (rds);
            if (!r)
                return -1;              //  the connection is gone, every reply with it
            if (k == 0 && r->type == REDIS_REPLY_INTEGER)
                *total += r->integer;
            else
            if (k == 1 && r->type == REDIS_REPLY_ARRAY)
                for (size_t e = 0; e < r->elements; e++) {
                    const redisReply *v = r->element [e];
                    if (v->type != REDIS_REPLY_STRING || !asp_notify_id_valid (v->str))
                        continue;       //  not one notification wrote
                    if (*n == cap) {
                        cap = cap? 2 * cap: 64;
                        *list = (s_dead_t *) realloc (*list, cap * sizeof **list);
                        assert (*list);
                    }
                    s_dead_t *d = &(*list) [(*n)++];
                    memset (d, 0, sizeof *d);
                    snprintf (d->id, sizeof d->id, "%s", v->str);
                    d->shard = s;
                }
            else
                rc = -1;
            freeReplyObject (r);
        }
    for (size_t i = 0; rc == 0 && i < *n; i++) {
        asp_key (key, sizeof key, (*list) [i].shard, ASP_NOTIFY_KEY_NOTE, (*list) [i].id);
        const char *argv [2 + S_SHOWN] = { "HMGET", key };
        memcpy (argv + 2, s_shown, sizeof s_shown);
        rc = asp_rds_append (rds, 2 + S_SHOWN, argv, NULL);
    }
    for (size_t i = 0; rc == 0 && i < *n; i++) {
        redisReply *r = asp_rds_reply (rds);
        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != S_SHOWN) {
            if (r)
                freeReplyObject (r);
            //  Read every reply left, so none is taken for another's.
            for (size_t j = i + 1; r && j < *n; j++)
                if ((r = asp_rds_reply (rds)))
                    freeReplyObject (r);
            return -1;
        }
        (*list) [i].r = r;
        (*list) [i].dead_ms = atoll (s_str (r, S_DEAD_MS));
    }
    return rc;
}

static void
s_free (s_dead_t *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (list [i].r)
            freeReplyObject (list [i].r);
    free (list);
}

void
intake_notify_dead (intake_api_t *api, const intake_call_t *call, const asp_http_req_t *req,
                    asp_http_res_t *res)
{
    (void) call;
    static const char *allowed [] = { "limit", "offset", "ticket", NULL };
    cJSON *params = intake_query (req, allowed, res);
    if (!params)
        return;
    int64_t limit, offset;
    const char *ticket = NULL;
    intake_err_t err = { "" };
    if (!intake_v_str (params, "ticket", "ticket", 1, ASP_ID_MAX - 1, NULL, false, &ticket, &err)
    ||  (ticket && !asp_id_valid (ticket, strlen (ticket))
         && !intake_fail (&err, "%s must be a ticket id: 1 to 47 characters of [A-Za-z0-9._:-]", "ticket"))) {
        intake_invalid (api, res, &err);
        cJSON_Delete (params);
        return;
    }
    if (!intake_query_int (req, "limit", 1, INTAKE_NOTIFY_LIMIT_MAX, 50, &limit, res)
    ||  !intake_query_int (req, "offset", 0, INTAKE_NOTIFY_OFFSET_MAX, 0, &offset, res)) {
        cJSON_Delete (params);
        return;
    }
    s_dead_t *list = NULL;
    size_t n = 0;
    int64_t total = 0;
    int rc = !asp_rds_ready (api->rds)? -1:
             ticket? s_read (api->rds, asp_shard_of (ticket), ASP_SHARDS, INTAKE_NOTIFY_SCAN, &list, &n, &total):
                     s_read (api->rds, 0, 1, offset + limit, &list, &n, &total);
    if (rc) {
        if (rc == -1 && asp_rds_ready (api->rds))
            asp_log_warn ("dead letters: an unexpected Redis reply");
        intake_storage_down (res);
        s_free (list, n);
        cJSON_Delete (params);
        return;
    }
    //  Only dead letters (one replayed meanwhile may still be listed
    //  between the two reads), and only the ticket's when asked.
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        bool keep = streq (s_str (list [i].r, S_STATE), ASP_NOTIFY_STATE_DEAD)
                 && (!ticket || streq (s_str (list [i].r, S_TICKET), ticket));
        if (keep) {
            s_dead_t tmp = list [kept];
            list [kept++] = list [i];
            list [i] = tmp;
        }
    }
    if (ticket)
        total = (int64_t) kept;
    if (kept > 1)               //  list is NULL when there is none
        qsort (list, kept, sizeof *list, s_newest_first);
    cJSON *out = cJSON_CreateObject ();
    cJSON_AddNumberToObject (out, "count", (double) total);
    cJSON_AddNumberToObject (out, "offset", (double) offset);
    cJSON *items = cJSON_AddArrayToObject (out, "items");
    for (size_t i = (size_t) offset; i < kept && i < (size_t) (offset + limit); i++)
        cJSON_AddItemToArray (items, s_item (&list [i]));
    asp_http_json (res, 200, cJSON_PrintUnformatted (out));
    cJSON_Delete (out);
    s_free (list, n);
    cJSON_Delete (params);
}

//  Finds the notification by id in every shard: its shard and ticket, and
//  its state. 1 found, 0 not, -1 Redis failed.
static int
s_find (asp_rds_t *rds, const char *id, unsigned *shard, char *ticket, size_t ticket_len, char *state,
        size_t state_len)
{
    for (unsigned s = 0; s < ASP_SHARDS; s++) {
        char key [ASP_KEY_MAX];
        asp_key (key, sizeof key, s, ASP_NOTIFY_KEY_NOTE, id);
        const char *argv [] = { "HMGET", key, ASP_NOTIFY_F_TICKET, ASP_NOTIFY_F_STATE };
        if (asp_rds_append (rds, 4, argv, NULL))
            return -1;
    }
    int found = 0;
    for (unsigned s = 0; s < ASP_SHARDS; s++) {
        redisReply *r = asp_rds_reply (rds);
        if (!r)
            return -1;
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2)
            found = found? found: -1;
        else
        if (r->element [0]->type == REDIS_REPLY_STRING && found == 0) {
            *shard = s;
            snprintf (ticket, ticket_len, "%s", r->element [0]->str);
            snprintf (state, state_len, "%s", s_str (r, 1));
            found = 1;
        }
        freeReplyObject (r);
    }
    return found;
}

void
intake_notify_replay (intake_api_t *api, const intake_call_t *call, const asp_http_req_t *req,
                      asp_http_res_t *res)
{
    (void) req;
    const char *id = call->param [0];
    if (!asp_notify_id_valid (id)) {
        intake_err_t err;
        intake_fail (&err, "%s must be a notification id: N and 24 lowercase hex digits", "id");
        intake_invalid (api, res, &err);
        return;
    }
    if (intake_overloaded (api, res))
        return;
    unsigned shard = 0;
    char ticket [ASP_ID_MAX] = "", state [16] = "";
    int found = asp_rds_ready (api->rds)? s_find (api->rds, id, &shard, ticket, sizeof ticket, state, sizeof state): -1;
    if (found < 0) {
        intake_storage_down (res);
        return;
    }
    if (found == 0) {
        asp_http_error (res, 404, "not_found", "no notification %s", id);
        return;
    }
    if (!streq (state, ASP_NOTIFY_STATE_DEAD)) {
        asp_http_error (res, 409, "not_dead", "notification %s is %s, not a dead letter", id, state);
        return;
    }
    if (!asp_id_valid (ticket, strlen (ticket)) || asp_shard_of (ticket) != shard) {
        //  Notification records each in its ticket's shard: never here.
        asp_http_error (res, 500, "internal", "notification %s is not in its ticket's shard", id);
        return;
    }
    const intake_caller_t *c = &call->caller;
    int64_t now = asp_now_ms ();
    cJSON *data = cJSON_CreateObject ();
    cJSON_AddStringToObject (data, "id", id);
    cJSON_AddStringToObject (data, "by", c->open? "": c->who);
    cJSON_AddStringToObject (data, "role", c->open? "": intake_role_name (c->role));
    char *entry = intake_timeline_entry (ASP_EV_NOTIFICATION_REPLAY, now, data);
    asp_mpmap_t *a = asp_mpmap_new ();
    asp_mpmap_str (a, "entry", entry);
    cJSON_free (entry);
    char now_s [24];
    snprintf (now_s, sizeof now_s, "%lld", (long long) now);
    asp_mpmap_str (a, "now", now_s);
    asp_txn_t *txn = asp_txn_new (api->script [INTAKE_SCRIPT_NOTIFY_REPLAY], shard);
    intake_ticket_keys (txn, ticket);
    asp_txn_key (txn, ASP_NOTIFY_KEY_NOTE, id);
    asp_txn_arg_map (txn, &a);
    asp_msg_t *msg = asp_msg_new (ASP_EV_NOTIFICATION_REPLAY, ticket, NULL);
    asp_mpmap_str (msg->body, "id", id);
    asp_mpmap_str (msg->body, "by", c->open? "": c->who);
    asp_txn_publish (txn, &msg);
    asp_txn_exec (api->rds, ASP_SVC_INTAKE, &txn, 1);
    asp_txn_outcome_t o = asp_txn_outcome (txn);
    const char *why = asp_txn_reason (txn);
    if (o == ASP_TXN_OK) {
        asp_outbox_remote_add_txn (api->outbox, txn);
        cJSON *out = cJSON_CreateObject ();
        cJSON_AddStringToObject (out, "id", id);
        cJSON_AddStringToObject (out, "ticket_id", ticket);
        cJSON_AddStringToObject (out, "status", "replay_requested");
        asp_http_json (res, 202, cJSON_PrintUnformatted (out));
        cJSON_Delete (out);
        asp_log_kv (ASP_LOG_INFO, "dead letter replay requested", "id", id, "ticket", ticket,
                    "by", c->open? "": c->who, NULL);
    }
    else
    if (o == ASP_TXN_REJECT && streq (why, "not_dead"))
        asp_http_error (res, 409, "not_dead", "notification %s is not a dead letter any more", id);
    else
    if (o == ASP_TXN_REJECT && streq (why, "unknown_ticket"))
        asp_http_error (res, 404, "not_found", "no ticket %s for notification %s", ticket, id);
    else
    if (o == ASP_TXN_REJECT)
        asp_http_error (res, 500, "internal", "%s", why);
    else
        intake_storage_down (res);
    asp_txn_destroy (&txn);
}

#define S_FIELDS 5

static const struct {
    const char *type;
    intake_field_t fields [S_FIELDS];
} s_events [] = {
    { ASP_EV_NOTIFICATION_DELIVERED, {
        { "id", 's', true, ASP_ID_MAX - 1, NULL }, { "template", 's', true, 32, NULL },
        { "channel", 's', true, 16, &asp_vocab_notify_channel }, { "attempts", 'i', true, 0, NULL } } },
    { ASP_EV_NOTIFICATION_DEAD, {
        { "id", 's', true, ASP_ID_MAX - 1, NULL }, { "template", 's', true, 32, NULL },
        { "channel", 's', true, 16, &asp_vocab_notify_channel }, { "attempts", 'i', true, 0, NULL },
        { "error", 's', true, INTAKE_FIELD_TEXT_MAX, NULL } } },
};
#define S_NEVENTS (sizeof s_events / sizeof s_events [0])

bool
intake_notify_is (const char *type)
{
    for (size_t i = 0; i < S_NEVENTS; i++)
        if (streq (s_events [i].type, type))
            return true;
    return false;
}

int
intake_notify_event (const asp_envelope_t *env, asp_mpmap_t *a, char *reason, size_t reason_len)
{
    size_t i = 0;
    while (i < S_NEVENTS && !streq (s_events [i].type, env->type))
        i++;
    assert (i < S_NEVENTS);         //  called only when intake_notify_is
    if (intake_event_check (env->type, s_events [i].fields, S_FIELDS, env->body, reason, reason_len))
        return -1;
    char id [ASP_ID_MAX] = "";
    asp_mp_get_str (env->body, "id", id, sizeof id);
    if (!asp_notify_id_valid (id)) {
        snprintf (reason, reason_len, "%s: field id must be a notification id (N and 24 hex digits)", env->type);
        return -1;
    }
    asp_mpmap_str (a, "view", "");
    asp_mpmap_bool (a, "clears", false);
    asp_mpmap_bool (a, "name_owner", false);
    asp_mpmap_bool (a, "timeline_only", true);
    return 0;
}

//  Checks a body built by the test; frees it.
static int
s_test_check (const char *type, asp_mpmap_t *body, char *why, size_t len)
{
    asp_msg_t *msg = asp_msg_new (type, "T1", NULL);
    asp_mpmap_destroy (&msg->body);
    msg->body = body;
    char *data;
    asp_envelope_t *env = asp_msg_to_envelope (&msg, &data);
    asp_mpmap_t *a = asp_mpmap_new ();
    int rc = intake_notify_event (env, a, why, len);
    asp_mpmap_destroy (&a);
    asp_envelope_destroy (&env);
    free (data);
    return rc;
}

static asp_mpmap_t *
s_test_body (const char *id, const char *channel, int64_t attempts, const char *error)
{
    asp_mpmap_t *b = asp_mpmap_new ();
    asp_mpmap_str (b, "id", id);
    asp_mpmap_str (b, "template", "received");
    asp_mpmap_str (b, "channel", channel);
    asp_mpmap_int (b, "attempts", attempts);
    if (error)
        asp_mpmap_str (b, "error", error);
    return b;
}

void
intake_notify_test (void)
{
    //  Intake subscribes to each, so none is refused forever.
    for (size_t i = 0; i < S_NEVENTS; i++)
        assert (asp_event_subscribers (s_events [i].type) & ASP_BIT (ASP_SVC_INTAKE));
    assert (intake_notify_is (ASP_EV_NOTIFICATION_DEAD) && !intake_notify_is (ASP_EV_SLA_WARNING));
    const char *nid = "N0123456789abcdef01234567";
    char why [200];
    assert (s_test_check (ASP_EV_NOTIFICATION_DELIVERED, s_test_body (nid, "sms", 1, NULL), why, sizeof why) == 0);
    assert (s_test_check (ASP_EV_NOTIFICATION_DEAD, s_test_body (nid, "webhook", 3, "http 422"), why,
                          sizeof why) == 0);
    assert (s_test_check (ASP_EV_NOTIFICATION_DEAD, s_test_body (nid, "webhook", 3, NULL), why, sizeof why) == -1
            && strstr (why, "error"));
    assert (s_test_check (ASP_EV_NOTIFICATION_DELIVERED, s_test_body (nid, "pigeon", 1, NULL), why, sizeof why) == -1
            && strstr (why, "channel"));
    assert (s_test_check (ASP_EV_NOTIFICATION_DELIVERED, s_test_body ("Tnot", "sms", 1, NULL), why, sizeof why) == -1
            && strstr (why, "field id"));
    assert (s_test_check (ASP_EV_NOTIFICATION_DELIVERED, s_test_body (nid, "sms", -1, NULL), why, sizeof why) == -1
            && strstr (why, "attempts"));
    char out [64];
    intake_notify_mask ("13812345678", out, sizeof out);
    assert (streq (out, "138****5678"));
    intake_notify_mask ("li.wei@example.com", out, sizeof out);
    assert (streq (out, "l***@example.com"));
    intake_notify_mask ("", out, sizeof out);
    assert (streq (out, ""));
    assert (asp_notify_id_valid ("N0123456789abcdef01234567"));
    assert (!asp_notify_id_valid ("N0123456789ABCDEF01234567"));
    assert (!asp_notify_id_valid ("N0123"));
    assert (!asp_notify_id_valid ("T0123456789abcdef01234567"));
    s_dead_t d [] = { { "Na", 0, 5, NULL }, { "Nb", 0, 9, NULL }, { "Nc", 0, 5, NULL } };
    qsort (d, 3, sizeof d [0], s_newest_first);
    assert (streq (d [0].id, "Nb") && streq (d [1].id, "Na") && streq (d [2].id, "Nc"));
}
