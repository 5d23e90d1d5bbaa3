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
extern const char asp_lua_rate [];
extern const char asp_lua_defer [];

struct notify_store_t {
    asp_rds_t *rds;             //  borrowed
    asp_outbox_remote_t *remote;    //  borrowed, may be NULL
    notify_policy_t policy;
    int redis_timeout_ms;
    asp_script_t *delivered, *failed, *promote, *recover, *rate, *defer;
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
    free (item->text);
    free (item->subject);
    memset (item, 0, sizeof *item);
}

notify_store_t *
notify_store_new (asp_rds_t *rds, const notify_policy_t *policy, asp_outbox_remote_t *remote)
{
    notify_store_t *self = (notify_store_t *) calloc (1, sizeof *self);
    assert (self);
    self->rds = rds;
    self->remote = remote;
    self->policy = *policy;
    self->redis_timeout_ms = (int) asp_cfg_int ("ASP_REDIS_TIMEOUT_MS", 2000, 10, 60000);
    self->delivered = asp_rds_script (rds, "notify_delivered", asp_lua_delivered);
    self->failed = asp_rds_script (rds, "notify_failed", asp_lua_failed);
    self->promote = asp_rds_script (rds, "notify_promote", asp_lua_promote);
    self->recover = asp_rds_script (rds, "notify_recover", asp_lua_recover);
    self->rate = asp_rds_script (rds, "notify_rate", asp_lua_rate);
    self->defer = asp_rds_script (rds, "notify_defer", asp_lua_defer);
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

//  Runs script transactions as one pipeline; -1 when an outcome is unknown.
static int
s_exec (notify_store_t *self, asp_txn_t **txns, size_t n)
{
    if (asp_txn_exec (self->rds, ASP_SVC_NOTIFICATION, txns, n))
        return -1;
    for (size_t i = 0; i < n; i++) {
        asp_txn_outcome_t o = asp_txn_outcome (txns [i]);
        if (o != ASP_TXN_OK && o != ASP_TXN_STALE) {
            //  A Redis error (e.g. LOADING after its restart): like down, try later.
            asp_log_warn ("notify store: %s: %s", asp_txn_outcome_name (o), asp_txn_reason (txns [i]));
            return -1;
        }
    }
    return 0;
}

//  The count (in the reply's why slot) of each txn, summed; -1 when any
//  outcome is unknown. Destroys the txns.
static int
s_exec_count (notify_store_t *self, asp_txn_t **txns, size_t n)
{
    int rc = s_exec (self, txns, n);
    int64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        const char *c = asp_txn_reason (txns [i]);
        total += atoll (c);
        asp_txn_destroy (&txns [i]);
    }
    return rc? -1: (int) total;
}


int
notify_store_claim (notify_store_t *self, unsigned first, unsigned step, notify_claim_t *claims,
                    size_t max)
{
    assert (step > 0);
    if (!asp_rds_ready (self->rds))
        return -1;
    unsigned shards [ASP_SHARDS];
    size_t n = 0;
    for (unsigned s = first; s < ASP_SHARDS && n < max; s += step) {
        char from [ASP_KEY_MAX], to [ASP_KEY_MAX];
        asp_key (from, sizeof from, s, NOTIFY_KEY_PENDING, "");
        asp_key (to, sizeof to, s, NOTIFY_KEY_PROCESSING, "");
        const char *argv [] = { "LMOVE", from, to, "RIGHT", "LEFT" };
        size_t lens [] = { 5, strlen (from), strlen (to), 5, 4 };
        if (asp_rds_append (self->rds, 5, argv, lens))
            return -1;
        shards [n++] = s;
    }
    int got = 0;
    bool down = false;
    for (size_t i = 0; i < n; i++) {
        redisReply *r = asp_rds_reply (self->rds);
        if (!r) {
            down = true;
            break;                  //  the connection is gone, and every reply with it
        }
        if (r->type == REDIS_REPLY_STRING && asp_id_valid (r->str, r->len)) {
            memcpy (claims [got].id, r->str, r->len + 1);
            claims [got++].shard = shards [i];
        }
        else
        if (r->type == REDIS_REPLY_ERROR) {
            asp_log_warn ("notify store: LMOVE: %s", r->str);
            down = true;
        }
        else
        if (r->type == REDIS_REPLY_STRING) {
            //  Not an id we could have written: drop it from processing.
            asp_log_error ("notify store: ignoring a malformed queue entry of %zu bytes", r->len);
            char key [ASP_KEY_MAX];
            asp_key (key, sizeof key, shards [i], NOTIFY_KEY_PROCESSING, "");
            redisReply *d = asp_rds_cmd (self->rds, "LREM %s 1 %b", key, r->str, r->len);
            if (d)
                freeReplyObject (d);
        }
        freeReplyObject (r);
    }
    //  What was claimed before a failure is in processing: recovered at
    //  the next start if we cannot settle it.
    return got? got: down? -1: 0;
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
    cJSON_AddStringToObject (j, "ticket_id", s_field (r, ASP_NOTIFY_F_TICKET));
    cJSON_AddStringToObject (j, "event", s_field (r, "event"));
    cJSON_AddStringToObject (j, "template", s_field (r, ASP_NOTIFY_F_TEMPLATE));
    cJSON_AddStringToObject (j, "audience", s_field (r, "audience"));
    cJSON_AddStringToObject (j, "lang", s_field (r, "lang"));
    cJSON_AddStringToObject (j, "text", s_field (r, "text"));
    //  A notification recorded before channels existed went by the default.
    if (*s_field (r, ASP_NOTIFY_F_CHANNEL))
        cJSON_AddStringToObject (j, "channel", s_field (r, ASP_NOTIFY_F_CHANNEL));
    if (strcmp (s_field (r, "to_known"), "1") == 0) {
        cJSON *to = cJSON_AddObjectToObject (j, "to");
        cJSON_AddStringToObject (to, "name", s_field (r, "to_name"));
        cJSON_AddStringToObject (to, "phone", s_field (r, "to_phone"));
        if (*s_field (r, "to_email"))
            cJSON_AddStringToObject (to, "email", s_field (r, "to_email"));
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
notify_store_load (notify_store_t *self, const notify_claim_t *claim, notify_item_t *item)
{
    notify_item_reset (item);
    const char *id = claim->id;
    char key [ASP_KEY_MAX];
    redisReply *r = asp_rds_cmd (self->rds, "HGETALL %s", asp_key (key, sizeof key, claim->shard, NOTIFY_KEY_NOTE, id));
    if (!r)
        return -1;
    if (r->type != REDIS_REPLY_ARRAY) {
        freeReplyObject (r);
        return -1;
    }
    if (r->elements == 0) {
        freeReplyObject (r);
        //  Expired or deleted by hand: nothing to send.
        redisReply *d = asp_rds_cmd (self->rds, "LREM %s 1 %s",
                                     asp_key (key, sizeof key, claim->shard, NOTIFY_KEY_PROCESSING, ""), id);
        if (!d)
            return -1;
        freeReplyObject (d);
        return 1;
    }
    snprintf (item->id, sizeof item->id, "%s", id);
    item->shard = claim->shard;
    snprintf (item->ticket, sizeof item->ticket, "%s", s_field (r, ASP_NOTIFY_F_TICKET));
    snprintf (item->tpl, sizeof item->tpl, "%s", s_field (r, ASP_NOTIFY_F_TEMPLATE));
    snprintf (item->audience, sizeof item->audience, "%s", s_field (r, "audience"));
    snprintf (item->trace, sizeof item->trace, "%s", s_field (r, "trace"));
    snprintf (item->phone, sizeof item->phone, "%s", s_field (r, "to_phone"));
    snprintf (item->email, sizeof item->email, "%s", s_field (r, "to_email"));
    snprintf (item->to, sizeof item->to, "%s", s_field (r, ASP_NOTIFY_F_TO));
    snprintf (item->lang, sizeof item->lang, "%s", s_field (r, "lang"));
    //  An unknown word (a hash from another version) is -1: the worker
    //  sends it by the default channel and says so.
    item->channel = (asp_notify_channel_t) asp_vocab_parse (&asp_vocab_notify_channel, s_field (r, ASP_NOTIFY_F_CHANNEL));
    item->text = strdup (s_field (r, "text"));
    item->subject = strdup (s_field (r, "subject"));
    assert (item->text && item->subject);
    item->attempts = atoi (s_field (r, ASP_NOTIFY_F_ATTEMPTS));
    item->urgent = strcmp (s_field (r, "urgent"), "1") == 0;
    long long max = 0, win = 0;
    if (sscanf (s_field (r, "rate"), "%lld/%lld", &max, &win) == 2 && max > 0 && win > 0) {
        item->rate_max = max;
        item->rate_window_ms = win;
    }
    item->json = s_build_json (r);
    assert (item->json);
    item->json_len = strlen (item->json);
    freeReplyObject (r);
    return 0;
}

//  The final state of a customer's notification goes on its ticket's
//  timeline (intake). Staff and ops notifications stay off it: the ticket
//  already shows what they were about (the breach, the escalation, the
//  unroutable work order), and each would cost intake a script per
//  notification (README, Benchmark: the cost per ticket life).
static void
s_tell (notify_store_t *self, asp_txn_t *txn, const char *type, const notify_item_t *item,
        asp_notify_channel_t channel, const char *error)
{
    if (!self->remote || !*item->ticket || strcmp (item->audience, "customer") != 0)
        return;
    asp_msg_t *msg = asp_msg_new (type, item->ticket, *item->trace? item->trace: NULL);
    asp_mpmap_str (msg->body, "id", item->id);
    asp_mpmap_str (msg->body, "template", item->tpl);
    const char *name = asp_vocab_name (&asp_vocab_notify_channel, channel);
    asp_mpmap_str (msg->body, "channel", name? name: "");
    //  The script counts this attempt the same way (one process settles).
    asp_mpmap_int (msg->body, "attempts", item->attempts + 1);
    if (error)
        asp_mpmap_str (msg->body, "error", error);
    asp_txn_publish (txn, &msg);
}

//  Runs one settle and hands what it committed to the loop's outbox.
static int
s_settle (notify_store_t *self, asp_txn_t *txn)
{
    int rc = s_exec (self, &txn, 1);
    if (rc == 0 && self->remote && asp_txn_emitted (txn))
        asp_outbox_remote_add_txn (self->remote, txn);
    return rc;
}

int
notify_store_delivered (notify_store_t *self, const notify_item_t *item, asp_notify_channel_t channel)
{
    asp_txn_t *txn = asp_txn_new (self->delivered, item->shard);
    asp_txn_key (txn, NOTIFY_KEY_NOTE, item->id);
    asp_txn_key (txn, NOTIFY_KEY_PROCESSING);
    asp_txn_arg (txn, "%s", item->id);
    asp_txn_arg (txn, "%lld", (long long) asp_now_ms ());
    s_tell (self, txn, ASP_EV_NOTIFICATION_DELIVERED, item, channel, NULL);
    int rc = s_settle (self, txn);
    asp_txn_destroy (&txn);
    return rc;
}

int
notify_store_failed (notify_store_t *self, const notify_item_t *item, asp_notify_channel_t channel,
                     const char *error, bool permanent, notify_fate_t *fate)
{
    int64_t now = asp_now_ms ();
    int64_t due = now + notify_policy_delay_ms (&self->policy, item->attempts + 1, asp_rand64 ());
    asp_txn_t *txn = asp_txn_new (self->failed, item->shard);
    asp_txn_key (txn, NOTIFY_KEY_NOTE, item->id);
    asp_txn_key (txn, NOTIFY_KEY_PROCESSING);
    asp_txn_key (txn, NOTIFY_KEY_RETRY);
    asp_txn_key (txn, NOTIFY_KEY_DEAD);
    asp_txn_arg (txn, "%s", item->id);
    asp_txn_arg (txn, "%lld", (long long) now);
    asp_txn_arg (txn, "%s", error);
    asp_txn_arg (txn, "%d", self->policy.max_attempts);
    asp_txn_arg (txn, "%lld", (long long) due);
    asp_txn_arg (txn, "%s", permanent? "1": "0");
    //  Committed only when the script makes it a dead letter.
    s_tell (self, txn, ASP_EV_NOTIFICATION_DEAD, item, channel, error);
    int rc = s_settle (self, txn);
    *fate = asp_txn_outcome (txn) == ASP_TXN_STALE? NOTIFY_FATE_GONE:
            strcmp (asp_txn_reason (txn), "dead") == 0? NOTIFY_FATE_DEAD: NOTIFY_FATE_RETRY;
    asp_txn_destroy (&txn);
    return rc;
}

int
notify_store_rate (notify_store_t *self, const notify_item_t *item, asp_notify_channel_t channel, const char *to,
                   int64_t *later)
{
    if (!item->rate_max || !to || !*to)
        return 0;
    int64_t now = asp_now_ms ();
    int64_t window = now / item->rate_window_ms;
    //  The address in the key only as a digest: no phone number in a key name.
    char digest [ASP_ID_MAX], name [ASP_KEY_MAX];
    const char *word = asp_vocab_name (&asp_vocab_notify_channel, channel);
    zdigest_t *d = zdigest_new ();
    assert (d);
    zdigest_update (d, (const byte *) to, strlen (to));
    snprintf (digest, sizeof digest, "%.24s", zdigest_string (d));
    zdigest_destroy (&d);
    snprintf (name, sizeof name, "%s:%s:%lld", word? word: "?", digest, (long long) window);
    asp_txn_t *txn = asp_txn_new (self->rate, asp_shard_of (digest));
    asp_txn_key (txn, NOTIFY_KEY_RATE, name);
    asp_txn_arg (txn, "%lld", (long long) item->rate_max);
    asp_txn_arg (txn, "%lld", (long long) item->rate_window_ms);
    asp_txn_arg (txn, "%s", item->urgent? "1": "0");
    int rc = s_exec (self, &txn, 1);
    if (rc == 0 && strcmp (asp_txn_reason (txn), "defer") == 0) {
        *later = (window + 1) * item->rate_window_ms;
        rc = 1;
    }
    asp_txn_destroy (&txn);
    return rc;
}

int
notify_store_defer (notify_store_t *self, const notify_item_t *item, int64_t due)
{
    asp_txn_t *txn = asp_txn_new (self->defer, item->shard);
    asp_txn_key (txn, NOTIFY_KEY_NOTE, item->id);
    asp_txn_key (txn, NOTIFY_KEY_PROCESSING);
    asp_txn_key (txn, NOTIFY_KEY_RETRY);
    asp_txn_arg (txn, "%s", item->id);
    asp_txn_arg (txn, "%lld", (long long) due);
    int rc = s_exec (self, &txn, 1);
    asp_txn_destroy (&txn);
    return rc;
}

int
notify_store_promote (notify_store_t *self, int limit)
{
    asp_txn_t *txns [ASP_SHARDS];
    for (unsigned n = 0; n < ASP_SHARDS; n++) {
        txns [n] = asp_txn_new (self->promote, n);
        asp_txn_key (txns [n], NOTIFY_KEY_RETRY);
        asp_txn_key (txns [n], NOTIFY_KEY_PENDING);
        asp_txn_arg (txns [n], "%lld", (long long) asp_now_ms ());
        asp_txn_arg (txns [n], "%d", limit);
    }
    return s_exec_count (self, txns, ASP_SHARDS);
}

int
notify_store_recover (notify_store_t *self)
{
    asp_txn_t *txns [ASP_SHARDS];
    for (unsigned n = 0; n < ASP_SHARDS; n++) {
        txns [n] = asp_txn_new (self->recover, n);
        asp_txn_key (txns [n], NOTIFY_KEY_PROCESSING);
        asp_txn_key (txns [n], NOTIFY_KEY_PENDING);
    }
    return s_exec_count (self, txns, ASP_SHARDS);
}

int
notify_store_depths (notify_store_t *self, notify_depths_t *depths)
{
    memset (depths, 0, sizeof *depths);
    if (!asp_rds_ready (self->rds))
        return -1;
    static const char *cmds [4][2] = {
        { "LLEN", NOTIFY_KEY_PENDING }, { "LLEN", NOTIFY_KEY_PROCESSING },
        { "ZCARD", NOTIFY_KEY_RETRY }, { "LLEN", NOTIFY_KEY_DEAD },
    };
    int64_t *out [4] = { &depths->pending, &depths->processing, &depths->retry, &depths->dead };
    for (unsigned n = 0; n < ASP_SHARDS; n++)
        for (int i = 0; i < 4; i++) {
            char key [ASP_KEY_MAX];
            const char *argv [2] = { cmds [i][0], asp_key (key, sizeof key, n, cmds [i][1], "") };
            size_t lens [2] = { strlen (argv [0]), strlen (argv [1]) };
            if (asp_rds_append (self->rds, 2, argv, lens))
                return -1;
        }
    //  Read every reply, even after a bad one, so none is left behind.
    int rc = 0;
    for (unsigned n = 0; n < ASP_SHARDS; n++)
        for (int i = 0; i < 4; i++) {
            redisReply *r = asp_rds_reply (self->rds);
            if (!r)
                return -1;
            if (r->type == REDIS_REPLY_INTEGER)
                *out [i] += r->integer;
            else
                rc = -1;
            freeReplyObject (r);
        }
    return rc;
}

//  The self-test's notifications all belong to ticket Ttest.
#define S_TEST_SHARD (asp_shard_of ("Ttest"))

//  Writes a notification the way record.lua does, for the self-test.
static void
s_test_put (asp_rds_t *rds, const char *id)
{
    char key [ASP_KEY_MAX];
    redisReply *r = asp_rds_cmd (rds,
        "HSET %s id %s ticket Ttest event ticket.created template received audience customer "
        "lang en text hello data {\"k\":1} created_ms 1700000000000 to_known 1 to_name Li "
        "to_phone 13812345678 to_email li@example.com channel sms to 13812345678 state queued attempts 0",
        asp_key (key, sizeof key, S_TEST_SHARD, NOTIFY_KEY_NOTE, id), id);
    assert (r && r->type == REDIS_REPLY_INTEGER);
    freeReplyObject (r);
    r = asp_rds_cmd (rds, "LPUSH %s %s", asp_key (key, sizeof key, S_TEST_SHARD, NOTIFY_KEY_PENDING, ""), id);
    assert (r);
    freeReplyObject (r);
}

//  cmd <the key> [a1 [a2]]
static void
s_test_cmd (asp_rds_t *rds, const char *cmd, const char *fmt, const char *id, const char *a1,
            const char *a2)
{
    char key [ASP_KEY_MAX];
    const char *argv [] = { cmd, asp_key (key, sizeof key, S_TEST_SHARD, fmt, id), a1, a2 };
    int argc = a2? 4: a1? 3: 2;
    size_t lens [4];
    for (int i = 0; i < argc; i++)
        lens [i] = strlen (argv [i]);
    redisReply *r = asp_rds_cmdv (rds, argc, argv, lens);
    assert (r && r->type != REDIS_REPLY_ERROR);
    freeReplyObject (r);
}

static void
s_test_del (asp_rds_t *rds)
{
    const char *lists [] = { NOTIFY_KEY_PENDING, NOTIFY_KEY_PROCESSING, NOTIFY_KEY_RETRY, NOTIFY_KEY_DEAD };
    for (int i = 0; i < 4; i++)
        s_test_cmd (rds, "DEL", lists [i], "", NULL, NULL);
    const char *notes [] = { "Ntest1", "Ntest2", "Ngone" };
    for (int i = 0; i < 3; i++)
        s_test_cmd (rds, "DEL", NOTIFY_KEY_NOTE, notes [i], NULL, NULL);
}

//  Claims the next of the test's shard; 1 with its id in claim, or 0.
static int
s_test_claim (notify_store_t *store, notify_claim_t *claim)
{
    return notify_store_claim (store, S_TEST_SHARD, ASP_SHARDS, claim, 1);
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
    asp_txn_init ();
    asp_rds_t *rds = asp_rds_new ();
    notify_store_t *store = notify_store_new (rds, &policy, NULL);
    assert (asp_rds_ready (rds));
    s_test_del (rds);
    s_test_put (rds, "Ntest1");
    s_test_put (rds, "Ntest2");

    //  First in, first out; the body has the contract's fields.
    notify_claim_t claim;
    assert (s_test_claim (store, &claim) == 1 && strcmp (claim.id, "Ntest1") == 0);
    assert (claim.shard == S_TEST_SHARD);
    notify_item_t item = { 0 };
    assert (notify_store_load (store, &claim, &item) == 0);
    assert (strcmp (item.phone, "13812345678") == 0 && item.attempts == 0 && item.shard == S_TEST_SHARD);
    assert (item.channel == ASP_NOTIFY_SMS && strcmp (item.to, "13812345678") == 0);
    assert (strcmp (item.email, "li@example.com") == 0 && strcmp (item.text, "hello") == 0);
    cJSON *j = cJSON_Parse (item.json);
    assert (j);
    assert (strcmp (cJSON_GetObjectItem (j, "ticket_id")->valuestring, "Ttest") == 0);
    assert (strcmp (cJSON_GetObjectItem (cJSON_GetObjectItem (j, "to"), "phone")->valuestring, "13812345678") == 0);
    assert (cJSON_GetObjectItem (cJSON_GetObjectItem (j, "data"), "k")->valueint == 1);
    assert (cJSON_GetObjectItem (j, "created_ms")->valuedouble == 1700000000000.0);
    cJSON_Delete (j);

    //  A failure schedules a retry; promote brings it back when due.
    notify_fate_t fate;
    assert (notify_store_failed (store, &item, item.channel, "http 503", false, &fate) == 0 && fate == NOTIFY_FATE_RETRY);
    notify_depths_t d;
    assert (notify_store_depths (store, &d) == 0);
    assert (d.pending == 1 && d.processing == 0 && d.retry == 1 && d.dead == 0);
    assert (notify_store_promote (store, 10) == 0);     //  not due yet
    s_test_cmd (rds, "ZADD", NOTIFY_KEY_RETRY, "", "1", "Ntest1");
    assert (notify_store_promote (store, 10) == 1);
    //  Ntest2 was first in pending: it comes first.
    assert (s_test_claim (store, &claim) == 1 && strcmp (claim.id, "Ntest2") == 0);
    //  A crash now: recovery puts it back.
    assert (notify_store_recover (store) == 1);
    assert (s_test_claim (store, &claim) == 1 && strcmp (claim.id, "Ntest2") == 0);
    assert (notify_store_load (store, &claim, &item) == 0);
    assert (notify_store_delivered (store, &item, item.channel) == 0);
    char key [ASP_KEY_MAX];
    redisReply *r = asp_rds_cmd (rds, "HMGET %s state attempts", asp_key (key, sizeof key, S_TEST_SHARD, NOTIFY_KEY_NOTE, "Ntest2"));
    assert (r && strcmp (r->element [0]->str, "delivered") == 0 && strcmp (r->element [1]->str, "1") == 0);
    freeReplyObject (r);
    r = asp_rds_cmd (rds, "TTL %s", key);
    assert (r && r->integer > 0);
    freeReplyObject (r);

    //  The second failure is the last allowed attempt: dead letter.
    assert (s_test_claim (store, &claim) == 1 && strcmp (claim.id, "Ntest1") == 0);
    assert (notify_store_load (store, &claim, &item) == 0 && item.attempts == 1);
    assert (notify_store_failed (store, &item, item.channel, "http 503", false, &fate) == 0 && fate == NOTIFY_FATE_DEAD);
    assert (notify_store_depths (store, &d) == 0);
    assert (d.pending == 0 && d.processing == 0 && d.retry == 0 && d.dead == 1);
    //  Nothing left in any shard: claim finds nothing.
    notify_claim_t all [ASP_SHARDS];
    assert (notify_store_claim (store, 0, 1, all, ASP_SHARDS) == 0);
    //  A vanished notification is dropped from processing.
    s_test_cmd (rds, "LPUSH", NOTIFY_KEY_PENDING, "", "Ngone", NULL);
    assert (notify_store_claim (store, 0, 1, all, ASP_SHARDS) == 1 && all [0].shard == S_TEST_SHARD);
    assert (notify_store_load (store, &all [0], &item) == 1);
    assert (notify_store_depths (store, &d) == 0 && d.processing == 0);
    //  Gone between loading and settling: said so, nothing else changes.
    snprintf (item.id, sizeof item.id, "Ngone");
    assert (notify_store_failed (store, &item, item.channel, "x", false, &fate) == 0 && fate == NOTIFY_FATE_GONE);
    assert (notify_store_depths (store, &d) == 0 && d.retry == 0 && d.dead == 1);
    //  Garbage in a queue is dropped, not claimed.
    s_test_cmd (rds, "LPUSH", NOTIFY_KEY_PENDING, "", "bad!id", NULL);
    assert (s_test_claim (store, &claim) == 0);
    assert (notify_store_depths (store, &d) == 0 && d.pending == 0 && d.processing == 0);
    notify_item_reset (&item);
    s_test_del (rds);
    notify_store_destroy (&store);
    asp_rds_destroy (&rds);
    printf ("notify_store_test: ok\n");
}
