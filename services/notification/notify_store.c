#include "notify_store.h"
#include "asp_selftest.h"
#include "asp_config.h"
#include "asp_log.h"
#include "asp_txn.h"
#include <assert.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const char asp_lua_delivered [];
extern const char asp_lua_failed [];
extern const char asp_lua_promote [];
extern const char asp_lua_recover [];

struct notify_store_t {
    asp_rds_t *rds;             //  borrowed
    notify_policy_t policy;
    int redis_timeout_ms;
    asp_script_t *delivered, *failed, *promote, *recover;
};

void
notify_policy_load (notify_policy_t *self)
{
    self->max_attempts = (int) asp_cfg_int ("ASP_NOTIFY_RETRIES", 8, 1, 100);
    self->backoff_ms = asp_cfg_int ("ASP_NOTIFY_BACKOFF_MS", 1000, 1, 3600 * 1000);
    self->backoff_max_ms = asp_cfg_int ("ASP_NOTIFY_BACKOFF_MAX_MS", 300 * 1000, 1, 24 * 3600 * 1000);
    if (self->backoff_max_ms < self->backoff_ms)
        self->backoff_max_ms = self->backoff_ms;
}

int64_t
notify_policy_delay_ms (const notify_policy_t *self, int failed, uint64_t rnd)
{
    int64_t delay = self->backoff_ms;
    for (int i = 1; i < failed && delay < self->backoff_max_ms; i++)
        delay *= 2;
    if (delay > self->backoff_max_ms)
        delay = self->backoff_max_ms;
    int64_t jitter = delay / 5;
    return jitter > 0? delay - (int64_t) (rnd % (uint64_t) (jitter + 1)): delay;
}

void
notify_item_reset (notify_item_t *item)
{
    free (item->json);
    memset (item, 0, sizeof *item);
}

notify_store_t *
notify_store_new (asp_rds_t *rds, const notify_policy_t *policy)
{
    notify_store_t *self = (notify_store_t *) calloc (1, sizeof *self);
    assert (self);
    self->rds = rds;
    self->policy = *policy;
    self->redis_timeout_ms = (int) asp_cfg_int ("ASP_REDIS_TIMEOUT_MS", 2000, 10, 60000);
    self->delivered = asp_rds_script (rds, "notify_delivered", asp_lua_delivered);
    self->failed = asp_rds_script (rds, "notify_failed", asp_lua_failed);
    self->promote = asp_rds_script (rds, "notify_promote", asp_lua_promote);
    self->recover = asp_rds_script (rds, "notify_recover", asp_lua_recover);
    return self;
}

void
notify_store_destroy (notify_store_t **self_p)
{
    if (*self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}

//  Runs one script transaction; -1 when its outcome is unknown.
static int
s_exec (notify_store_t *self, asp_txn_t *txn)
{
    if (asp_txn_exec (self->rds, ASP_SVC_NOTIFICATION, &txn, 1))
        return -1;
    if (asp_txn_is (txn, "ok") || asp_txn_is (txn, "stale"))
        return 0;
    //  A Redis error (e.g. LOADING after its restart): like down, try later.
    asp_log_warn ("notify store: %s: %s", asp_txn_code (txn), asp_txn_reason (txn));
    return -1;
}

static int64_t
s_reply_count (asp_txn_t *txn)
{
    const char *n = asp_txn_reply_str (txn, 2);
    return n? atoll (n): 0;
}

int
notify_store_claim (notify_store_t *self, int wait_ms, char *id, size_t idlen)
{
    //  The wait must end before the socket timeout, or hiredis reports a
    //  timeout and drops the connection. 0 would mean forever.
    int limit = self->redis_timeout_ms / 2;
    if (wait_ms > limit)
        wait_ms = limit;
    if (wait_ms < 1)
        wait_ms = 1;
    char secs [32];
    snprintf (secs, sizeof secs, "%d.%03d", wait_ms / 1000, wait_ms % 1000);
    redisReply *r = asp_rds_cmd (self->rds, "BLMOVE %s %s RIGHT LEFT %s",
                                 NOTIFY_KEY_PENDING, NOTIFY_KEY_PROCESSING, secs);
    if (!r)
        return -1;
    int rc = 0;
    if (r->type == REDIS_REPLY_STRING && r->len > 0 && r->len < idlen) {
        memcpy (id, r->str, r->len);
        id [r->len] = 0;
        rc = 1;
    }
    else
    if (r->type == REDIS_REPLY_ERROR) {
        asp_log_warn ("notify store: BLMOVE: %s", r->str);
        rc = -1;
    }
    else
    if (r->type == REDIS_REPLY_STRING) {
        //  Not an id we could have written: drop it from processing.
        asp_log_error ("notify store: ignoring a malformed queue entry of %zu bytes", r->len);
        redisReply *d = asp_rds_cmd (self->rds, "LREM %s 1 %b", NOTIFY_KEY_PROCESSING, r->str, r->len);
        if (d)
            freeReplyObject (d);
    }
    freeReplyObject (r);
    return rc;
}

static const char *
s_field (const redisReply *r, const char *name)
{
    for (size_t i = 0; i + 1 < r->elements; i += 2)
        if (r->element [i]->type == REDIS_REPLY_STRING && strcmp (r->element [i]->str, name) == 0)
            return r->element [i + 1]->type == REDIS_REPLY_STRING? r->element [i + 1]->str: "";
    return "";
}

//  The webhook body, as the brief's contract says (docs: notification).
static char *
s_build_json (const redisReply *r)
{
    cJSON *j = cJSON_CreateObject ();
    cJSON_AddStringToObject (j, "id", s_field (r, "id"));
    cJSON_AddStringToObject (j, "ticket_id", s_field (r, "ticket"));
    cJSON_AddStringToObject (j, "event", s_field (r, "event"));
    cJSON_AddStringToObject (j, "template", s_field (r, "template"));
    cJSON_AddStringToObject (j, "audience", s_field (r, "audience"));
    cJSON_AddStringToObject (j, "lang", s_field (r, "lang"));
    cJSON_AddStringToObject (j, "text", s_field (r, "text"));
    if (strcmp (s_field (r, "to_known"), "1") == 0) {
        cJSON *to = cJSON_AddObjectToObject (j, "to");
        cJSON_AddStringToObject (to, "name", s_field (r, "to_name"));
        cJSON_AddStringToObject (to, "phone", s_field (r, "to_phone"));
    }
    else
        cJSON_AddNullToObject (j, "to");       //  staff, or contact unknown
    cJSON *data = cJSON_Parse (s_field (r, "data"));
    cJSON_AddItemToObject (j, "data", data? data: cJSON_CreateObject ());
    cJSON_AddNumberToObject (j, "created_ms", (double) atoll (s_field (r, "created_ms")));
    char *json = cJSON_PrintUnformatted (j);
    cJSON_Delete (j);
    return json;
}

int
notify_store_load (notify_store_t *self, const char *id, notify_item_t *item)
{
    notify_item_reset (item);
    redisReply *r = asp_rds_cmd (self->rds, "HGETALL %s%s", NOTIFY_KEY_NOTE, id);
    if (!r)
        return -1;
    if (r->type != REDIS_REPLY_ARRAY) {
        freeReplyObject (r);
        return -1;
    }
    if (r->elements == 0) {
        freeReplyObject (r);
        //  Expired or deleted by hand: nothing to send.
        redisReply *d = asp_rds_cmd (self->rds, "LREM %s 1 %s", NOTIFY_KEY_PROCESSING, id);
        if (!d)
            return -1;
        freeReplyObject (d);
        return 1;
    }
    snprintf (item->id, sizeof item->id, "%s", id);
    snprintf (item->ticket, sizeof item->ticket, "%s", s_field (r, "ticket"));
    snprintf (item->tpl, sizeof item->tpl, "%s", s_field (r, "template"));
    snprintf (item->phone, sizeof item->phone, "%s", s_field (r, "to_phone"));
    item->attempts = atoi (s_field (r, "attempts"));
    item->json = s_build_json (r);
    assert (item->json);
    item->json_len = strlen (item->json);
    freeReplyObject (r);
    return 0;
}

int
notify_store_delivered (notify_store_t *self, const notify_item_t *item)
{
    asp_txn_t *txn = asp_txn_new (self->delivered);
    asp_txn_key (txn, "%s%s", NOTIFY_KEY_NOTE, item->id);
    asp_txn_key (txn, "%s", NOTIFY_KEY_PROCESSING);
    asp_txn_arg (txn, "%s", item->id);
    asp_txn_arg (txn, "%lld", (long long) asp_now_ms ());
    int rc = s_exec (self, txn);
    asp_txn_destroy (&txn);
    return rc;
}

int
notify_store_failed (notify_store_t *self, const notify_item_t *item, const char *error,
                     bool permanent, notify_fate_t *fate)
{
    int64_t now = asp_now_ms ();
    int64_t due = now + notify_policy_delay_ms (&self->policy, item->attempts + 1, asp_rand64 ());
    asp_txn_t *txn = asp_txn_new (self->failed);
    asp_txn_key (txn, "%s%s", NOTIFY_KEY_NOTE, item->id);
    asp_txn_key (txn, "%s", NOTIFY_KEY_PROCESSING);
    asp_txn_key (txn, "%s", NOTIFY_KEY_RETRY);
    asp_txn_key (txn, "%s", NOTIFY_KEY_DEAD);
    asp_txn_arg (txn, "%s", item->id);
    asp_txn_arg (txn, "%lld", (long long) now);
    asp_txn_arg (txn, "%s", error);
    asp_txn_arg (txn, "%d", self->policy.max_attempts);
    asp_txn_arg (txn, "%lld", (long long) due);
    asp_txn_arg (txn, "%s", permanent? "1": "0");
    int rc = s_exec (self, txn);
    const char *what = asp_txn_reply_str (txn, 2);
    *fate = asp_txn_is (txn, "stale")? NOTIFY_FATE_GONE:
            what && strcmp (what, "dead") == 0? NOTIFY_FATE_DEAD: NOTIFY_FATE_RETRY;
    asp_txn_destroy (&txn);
    return rc;
}

int
notify_store_promote (notify_store_t *self, int limit)
{
    asp_txn_t *txn = asp_txn_new (self->promote);
    asp_txn_key (txn, "%s", NOTIFY_KEY_RETRY);
    asp_txn_key (txn, "%s", NOTIFY_KEY_PENDING);
    asp_txn_arg (txn, "%lld", (long long) asp_now_ms ());
    asp_txn_arg (txn, "%d", limit);
    int rc = s_exec (self, txn);
    int64_t moved = rc? -1: s_reply_count (txn);
    asp_txn_destroy (&txn);
    return (int) moved;
}

int
notify_store_recover (notify_store_t *self)
{
    asp_txn_t *txn = asp_txn_new (self->recover);
    asp_txn_key (txn, "%s", NOTIFY_KEY_PROCESSING);
    asp_txn_key (txn, "%s", NOTIFY_KEY_PENDING);
    int rc = s_exec (self, txn);
    int64_t moved = rc? -1: s_reply_count (txn);
    asp_txn_destroy (&txn);
    return (int) moved;
}

int
notify_store_depths (notify_store_t *self, notify_depths_t *depths)
{
    if (!asp_rds_ready (self->rds))
        return -1;
    static const char *cmds [4][2] = {
        { "LLEN", NOTIFY_KEY_PENDING }, { "LLEN", NOTIFY_KEY_PROCESSING },
        { "ZCARD", NOTIFY_KEY_RETRY }, { "LLEN", NOTIFY_KEY_DEAD },
    };
    int64_t *out [4] = { &depths->pending, &depths->processing, &depths->retry, &depths->dead };
    for (int i = 0; i < 4; i++) {
        size_t lens [2] = { strlen (cmds [i][0]), strlen (cmds [i][1]) };
        if (asp_rds_append (self->rds, 2, cmds [i], lens))
            return -1;
    }
    //  Read every reply, even after a bad one, so none is left behind.
    int rc = 0;
    for (int i = 0; i < 4; i++) {
        redisReply *r = asp_rds_reply (self->rds);
        if (!r)
            return -1;
        if (r->type == REDIS_REPLY_INTEGER)
            *out [i] = r->integer;
        else
            rc = -1;
        freeReplyObject (r);
    }
    return rc;
}

//  Writes a notification the way record.lua does, for the self-test.
static void
s_test_put (asp_rds_t *rds, const char *id)
{
    redisReply *r = asp_rds_cmd (rds,
        "HSET %s%s id %s ticket Ttest event ticket.created template received audience customer "
        "lang en text hello data {\"k\":1} created_ms 1700000000000 to_known 1 to_name Li "
        "to_phone 13812345678 state queued attempts 0", NOTIFY_KEY_NOTE, id, id);
    assert (r && r->type == REDIS_REPLY_INTEGER);
    freeReplyObject (r);
    r = asp_rds_cmd (rds, "LPUSH %s %s", NOTIFY_KEY_PENDING, id);
    assert (r);
    freeReplyObject (r);
}

static void
s_test_del (asp_rds_t *rds)
{
    redisReply *r = asp_rds_cmd (rds, "DEL %s %s %s %s %sNtest1 %sNtest2 %sNgone", NOTIFY_KEY_PENDING,
                                 NOTIFY_KEY_PROCESSING, NOTIFY_KEY_RETRY, NOTIFY_KEY_DEAD,
                                 NOTIFY_KEY_NOTE, NOTIFY_KEY_NOTE, NOTIFY_KEY_NOTE);
    assert (r);
    freeReplyObject (r);
}

void
notify_store_test (void)
{
    notify_policy_t policy = { 2, 1000, 4000 };
    //  Backoff doubles up to the cap; jitter takes off at most 20%.
    assert (notify_policy_delay_ms (&policy, 1, 0) == 1000);
    assert (notify_policy_delay_ms (&policy, 2, 0) == 2000);
    assert (notify_policy_delay_ms (&policy, 3, 0) == 4000);
    assert (notify_policy_delay_ms (&policy, 30, 0) == 4000);
    for (uint64_t rnd = 0; rnd < 1000; rnd += 37) {
        int64_t d = notify_policy_delay_ms (&policy, 1, rnd);
        assert (d >= 800 && d <= 1000);
    }
    asp_selftest_need_redis ("notify_store_test");
    asp_rds_t *rds = asp_rds_new ();
    notify_store_t *store = notify_store_new (rds, &policy);
    assert (asp_rds_ready (rds));
    s_test_del (rds);
    s_test_put (rds, "Ntest1");
    s_test_put (rds, "Ntest2");

    //  First in, first out; the body has the contract's fields.
    char id [ASP_ID_MAX];
    assert (notify_store_claim (store, 100, id, sizeof id) == 1 && strcmp (id, "Ntest1") == 0);
    notify_item_t item = { 0 };
    assert (notify_store_load (store, id, &item) == 0);
    assert (strcmp (item.phone, "13812345678") == 0 && item.attempts == 0);
    cJSON *j = cJSON_Parse (item.json);
    assert (j);
    assert (strcmp (cJSON_GetObjectItem (j, "ticket_id")->valuestring, "Ttest") == 0);
    assert (strcmp (cJSON_GetObjectItem (cJSON_GetObjectItem (j, "to"), "phone")->valuestring, "13812345678") == 0);
    assert (cJSON_GetObjectItem (cJSON_GetObjectItem (j, "data"), "k")->valueint == 1);
    assert (cJSON_GetObjectItem (j, "created_ms")->valuedouble == 1700000000000.0);
    cJSON_Delete (j);

    //  A failure schedules a retry; promote brings it back when due.
    notify_fate_t fate;
    assert (notify_store_failed (store, &item, "http 503", false, &fate) == 0 && fate == NOTIFY_FATE_RETRY);
    notify_depths_t d;
    assert (notify_store_depths (store, &d) == 0);
    assert (d.pending == 1 && d.processing == 0 && d.retry == 1 && d.dead == 0);
    assert (notify_store_promote (store, 10) == 0);     //  not due yet
    redisReply *r = asp_rds_cmd (rds, "ZADD %s 1 Ntest1", NOTIFY_KEY_RETRY);
    freeReplyObject (r);
    assert (notify_store_promote (store, 10) == 1);
    //  Ntest2 was first in pending: it comes first.
    assert (notify_store_claim (store, 100, id, sizeof id) == 1 && strcmp (id, "Ntest2") == 0);
    //  A crash now: recovery puts it back.
    assert (notify_store_recover (store) == 1);
    assert (notify_store_claim (store, 100, id, sizeof id) == 1 && strcmp (id, "Ntest2") == 0);
    assert (notify_store_load (store, id, &item) == 0);
    assert (notify_store_delivered (store, &item) == 0);
    r = asp_rds_cmd (rds, "HMGET %sNtest2 state attempts", NOTIFY_KEY_NOTE);
    assert (r && strcmp (r->element [0]->str, "delivered") == 0 && strcmp (r->element [1]->str, "1") == 0);
    freeReplyObject (r);
    r = asp_rds_cmd (rds, "TTL %sNtest2", NOTIFY_KEY_NOTE);
    assert (r && r->integer > 0);
    freeReplyObject (r);

    //  The second failure is the last allowed attempt: dead letter.
    assert (notify_store_claim (store, 100, id, sizeof id) == 1 && strcmp (id, "Ntest1") == 0);
    assert (notify_store_load (store, id, &item) == 0 && item.attempts == 1);
    assert (notify_store_failed (store, &item, "http 503", false, &fate) == 0 && fate == NOTIFY_FATE_DEAD);
    assert (notify_store_depths (store, &d) == 0);
    assert (d.pending == 0 && d.processing == 0 && d.retry == 0 && d.dead == 1);
    //  Nothing left: claim times out quietly.
    assert (notify_store_claim (store, 50, id, sizeof id) == 0);
    //  A vanished notification is dropped from processing.
    r = asp_rds_cmd (rds, "LPUSH %s Ngone", NOTIFY_KEY_PENDING);
    freeReplyObject (r);
    assert (notify_store_claim (store, 100, id, sizeof id) == 1);
    assert (notify_store_load (store, id, &item) == 1);
    assert (notify_store_depths (store, &d) == 0 && d.processing == 0);
    //  Gone between loading and settling: said so, nothing else changes.
    snprintf (item.id, sizeof item.id, "Ngone");
    assert (notify_store_failed (store, &item, "x", false, &fate) == 0 && fate == NOTIFY_FATE_GONE);
    assert (notify_store_depths (store, &d) == 0 && d.retry == 0 && d.dead == 1);
    notify_item_reset (&item);
    s_test_del (rds);
    notify_store_destroy (&store);
    asp_rds_destroy (&rds);
    printf ("notify_store_test: ok\n");
}
