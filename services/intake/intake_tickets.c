/*  The ticket routes: create, read, timeline, the customer's survey.   */
#include "intake_tickets.h"
#include "asp_json.h"
#include "asp_log.h"
#include "intake_ticket.h"
#include <assert.h>
#include <sodium.h>
#include <string.h>

typedef struct {
    const char *type, *tier, *channel, *agent, *description;
    const char *name, *phone, *region, *address, *cclass;
    const char *serial, *model, *category;
    int64_t priority;
} s_ticket_t;

static bool
s_validate_ticket (const cJSON *j, s_ticket_t *t, intake_err_t *err)
{
    static const char *top [] = { "type", "tier", "priority", "customer", "product", "description",
                                  "channel", "agent", NULL };
    static const char *cust [] = { "name", "phone", "region", "address", "class", NULL };
    static const char *prod [] = { "serial", "model", "category", NULL };
    if (!cJSON_IsObject (j))
        return intake_fail (err, "%s must be a JSON object", "the body");
    if (!intake_v_only (j, top, "", err)
    ||  !intake_v_str (j, "type", "type", 1, 32, &asp_vocab_kind, true, &t->type, err)
    ||  !intake_v_str (j, "tier", "tier", 1, 32, &asp_vocab_tier, false, &t->tier, err)
    ||  !intake_v_str (j, "channel", "channel", 1, 32, &asp_vocab_channel, false, &t->channel, err)
    ||  !intake_v_str (j, "agent", "agent", 1, 64, NULL, false, &t->agent, err)
    ||  !intake_v_str (j, "description", "description", 1, 2000, NULL, true, &t->description, err))
        return false;
    t->priority = 3;
    if (!intake_v_int (j, "priority", "priority", 1, 5, false, &t->priority, err))
        return false;
    const cJSON *c = cJSON_GetObjectItemCaseSensitive (j, "customer");
    if (!cJSON_IsObject (c))
        return intake_fail (err, "%s is required and must be an object", "customer");
    if (!intake_v_only (c, cust, "customer", err)
    ||  !intake_v_str (c, "name", "customer.name", 1, 64, NULL, true, &t->name, err)
    ||  !intake_v_str (c, "phone", "customer.phone", 1, 32, NULL, true, &t->phone, err)
    ||  !intake_v_phone (t->phone, "customer.phone", err)
    ||  !intake_v_str (c, "region", "customer.region", 1, 64, NULL, true, &t->region, err)
    ||  !intake_v_str (c, "address", "customer.address", 1, 256, NULL, false, &t->address, err)
    ||  !intake_v_str (c, "class", "customer.class", 1, 1, &asp_vocab_class, false, &t->cclass, err))
        return false;
    const cJSON *pr = cJSON_GetObjectItemCaseSensitive (j, "product");
    if (!cJSON_IsObject (pr))
        return intake_fail (err, "%s is required and must be an object", "product");
    if (!intake_v_only (pr, prod, "product", err)
    ||  !intake_v_str (pr, "serial", "product.serial", 1, 64, NULL, true, &t->serial, err)
    ||  !intake_v_str (pr, "model", "product.model", 1, 64, NULL, true, &t->model, err)
    ||  !intake_v_str (pr, "category", "product.category", 1, 64, NULL, true, &t->category, err))
        return false;
    if (!t->tier) t->tier = asp_vocab_name (&asp_vocab_tier, ASP_TIER_STANDARD);
    if (!t->channel) t->channel = asp_vocab_name (&asp_vocab_channel, ASP_CHANNEL_WEB);
    if (!t->cclass) t->cclass = asp_vocab_name (&asp_vocab_class, ASP_CLASS_C);
    if (!t->agent) t->agent = "";
    if (!t->address) t->address = "";
    return true;
}

typedef struct {
    int64_t score;
    const cJSON *resolved, *on_time;
    const char *comment;
} s_survey_t;

static bool
s_validate_survey (const cJSON *j, s_survey_t *s, intake_err_t *err)
{
    static const char *allowed [] = { "score", "resolved", "comment", "on_time", NULL };
    s->resolved = cJSON_GetObjectItemCaseSensitive (j, "resolved");
    s->on_time = cJSON_GetObjectItemCaseSensitive (j, "on_time");
    s->comment = NULL;
    bool valid = cJSON_IsObject (j) || intake_fail (err, "%s must be a JSON object", "the body");
    valid = valid && intake_v_only (j, allowed, "", err);
    valid = valid && intake_v_int (j, "score", "score", 1, 5, true, &s->score, err);
    if (valid && !cJSON_IsBool (s->resolved))
        valid = intake_fail (err, "%s is required: true or false", "resolved");
    if (valid && s->on_time && !cJSON_IsBool (s->on_time) && !cJSON_IsNull (s->on_time))
        valid = intake_fail (err, "%s must be true or false", "on_time");
    return valid && intake_v_str (j, "comment", "comment", 0, 2000, NULL, false, &s->comment, err);
}

//  The first S_ASKED_FIELDS entries of a ticket's fields are the caller's
//  request; an Idempotency-Key is bound to their fingerprint (BLAKE2b of
//  the length-prefixed names and values), so the same key with another
//  request is refused instead of silently answering with the first ticket.
#define S_ASKED_FIELDS      28
#define S_FINGERPRINT_BYTES 16

static void
s_fingerprint (const char **fields, size_t n, char *hex)
{
    crypto_generichash_state st;
    crypto_generichash_init (&st, NULL, 0, S_FINGERPRINT_BYTES);
    for (size_t i = 0; i < n; i++) {
        uint32_t len = (uint32_t) strlen (fields [i]);
        crypto_generichash_update (&st, (const unsigned char *) &len, sizeof len);
        crypto_generichash_update (&st, (const unsigned char *) fields [i], len);
    }
    unsigned char out [S_FINGERPRINT_BYTES];
    crypto_generichash_final (&st, out, sizeof out);
    sodium_bin2hex (hex, 2 * S_FINGERPRINT_BYTES + 1, out, sizeof out);
}

//  First-contact responsibility: the staff member who takes the request
//  owns the ticket until it closes. A system (order management, a
//  logistics scan) may name the agent; otherwise the ticket waits for a
//  supervisor to assign an owner.
static const char *
s_owner (const intake_call_t *call, const s_ticket_t *t)
{
    const intake_caller_t *c = &call->caller;
    if (!c->open && c->role != INTAKE_ROLE_SYSTEM)
        return c->who;
    return t->agent;
}

void
intake_tickets_create (intake_api_t *api, const intake_call_t *call, const asp_http_req_t *req,
                       asp_http_res_t *res)
{
    int64_t started = asp_mono_us ();
    if (intake_overloaded (api, res))
        return;
    const char *idem = asp_http_header (req, "Idempotency-Key");
    if (idem && !asp_id_valid (idem, strlen (idem))) {
        asp_http_error (res, 400, "invalid_header",
                        "Idempotency-Key must be 1 to 47 characters of [A-Za-z0-9._:-]");
        return;
    }
    cJSON *j = intake_body (req, res);
    if (!j)
        return;
    s_ticket_t t = { 0 };
    intake_err_t err;
    if (!s_validate_ticket (j, &t, &err)) {
        asp_counter_inc (api->invalid);
        asp_http_error (res, 400, "invalid_field", "%s", err.message);
        cJSON_Delete (j);
        return;
    }
    //  With an Idempotency-Key the ticket lives in the key's shard, so one
    //  script can check the key and create the ticket.
    char id [ASP_ID_MAX];
    asp_id_new (id, "T");
    if (idem)
        asp_shard_id_new (id, "T", asp_shard_of (idem));
    int64_t now = asp_now_ms ();

    asp_msg_t *msg = asp_msg_new (ASP_EV_TICKET_CREATED, id, NULL);
    asp_mpmap_t *b = msg->body;
    asp_mpmap_str (b, "type", t.type);
    asp_mpmap_str (b, "tier", t.tier);
    asp_mpmap_int (b, "priority", t.priority);
    asp_mpmap_str (b, "category", t.category);
    asp_mpmap_str (b, "region", t.region);
    asp_mpmap_str (b, "model", t.model);
    asp_mpmap_str (b, "serial", t.serial);
    asp_mpmap_strn (b, "summary", t.description, strnlen (t.description, 200));
    asp_mpmap_str (b, "customer_name", t.name);
    asp_mpmap_str (b, "customer_phone", t.phone);
    asp_mpmap_str (b, "customer_class", t.cclass);
    asp_mpmap_str (b, "channel", t.channel);
    char trace [ASP_ID_MAX];
    snprintf (trace, sizeof trace, "%s", msg->trace);

    cJSON *data = cJSON_CreateObject ();
    cJSON_AddStringToObject (data, "type", t.type);
    cJSON_AddStringToObject (data, "tier", t.tier);
    cJSON_AddStringToObject (data, "channel", t.channel);
    char *entry = intake_timeline_entry (ASP_EV_TICKET_CREATED, now, data);

    char priority [24], created [24];
    snprintf (priority, sizeof priority, "%lld", (long long) t.priority);
    snprintf (created, sizeof created, "%lld", (long long) now);
    //  What the caller asked for (the fingerprint an Idempotency-Key is
    //  bound to), then what intake adds.
    const char *fields [] = {
        "type", t.type, "tier", t.tier, "channel", t.channel, "agent", t.agent,
        "description", t.description,
        "customer_name", t.name, "customer_phone", t.phone, "customer_region", t.region,
        "customer_address", t.address, "customer_class", t.cclass,
        "serial", t.serial, "model", t.model, "category", t.category, "priority", priority,
        "id", id,
        "trace", trace, "created_ms", created, "updated_ms", created, "owner", s_owner (call, &t)
    };
    assert (strcmp (fields [S_ASKED_FIELDS], "id") == 0);
    char fingerprint [2 * S_FINGERPRINT_BYTES + 1];
    s_fingerprint (fields, S_ASKED_FIELDS, fingerprint);
    asp_mpmap_t *a = asp_mpmap_new ();
    asp_mpmap_str (a, "id", id);
    asp_mpmap_str (a, "entry", entry);
    asp_mpmap_int (a, "idem_ttl_s", api->idem_ttl_s);
    asp_mpmap_str (a, "fingerprint", fingerprint);
    asp_mpmap_str (a, "status", asp_vocab_name (&asp_vocab_status, ASP_STATUS_RECEIVED));
    asp_mpmap_strv (a, "fields", fields, sizeof fields / sizeof fields [0]);
    cJSON_free (entry);
    asp_txn_t *txn = asp_txn_new (api->script [INTAKE_SCRIPT_CREATE], asp_shard_of (id));
    intake_ticket_keys (txn, id);
    if (idem)
        asp_txn_key (txn, INTAKE_KEY_IDEM, idem);
    asp_txn_arg_map (txn, &a);
    asp_txn_publish (txn, &msg);
    cJSON_Delete (j);

    asp_txn_exec (api->rds, ASP_SVC_INTAKE, &txn, 1);
    if (asp_txn_outcome (txn) == ASP_TXN_OK) {
        const char *what = asp_txn_reply_str (txn, 2);
        const char *tid = asp_txn_reply_str (txn, 3);
        bool created = what && strcmp (what, "created") == 0;
        asp_outbox_remote_add_txn (api->outbox, txn);
        cJSON *out = cJSON_CreateObject ();
        cJSON_AddStringToObject (out, "id", tid? tid: id);
        cJSON_AddStringToObject (out, "status", asp_vocab_name (&asp_vocab_status, ASP_STATUS_RECEIVED));
        char token [INTAKE_TOKEN_MAX];
        intake_auth_customer_token (api->auth, tid? tid: id, now / 1000, token);
        cJSON_AddStringToObject (out, "customer_token", token);
        if (created) {
            cJSON_AddNumberToObject (out, "created_ms", (double) now);
            asp_counter_inc (api->created);
        }
        else
            cJSON_AddBoolToObject (out, "idempotent_replay", 1);
        asp_http_json (res, created? 201: 200, cJSON_PrintUnformatted (out));
        snprintf (res->location, sizeof res->location, "/v1/tickets/%s", tid? tid: id);
        cJSON_Delete (out);
        asp_histo_observe_us (api->ack_latency, asp_mono_us () - started);
    }
    else
    if (asp_txn_outcome (txn) == ASP_TXN_REJECT && strcmp (asp_txn_reason (txn), "idempotency_key_reused") == 0)
        asp_http_error (res, 422, "idempotency_key_reused",
                        "Idempotency-Key %s was used for a different request (ticket %s); use a new key",
                        idem, asp_txn_reply_str (txn, 3)? asp_txn_reply_str (txn, 3): "?");
    else
    if (asp_txn_outcome (txn) == ASP_TXN_REJECT)
        asp_http_error (res, 500, "internal", "%s", asp_txn_reason (txn));
    else
        intake_storage_down (res);
    asp_txn_destroy (&txn);
}

void
intake_tickets_get (intake_api_t *api, const intake_call_t *call, const asp_http_req_t *req,
                    asp_http_res_t *res)
{
    (void) req;
    const char *id = call->param [0];
    char key [ASP_KEY_MAX];
    intake_key (key, sizeof key, INTAKE_KEY_TICKET, id);
    redisReply *r = asp_rds_cmd (api->rds, "HGETALL %s", key);
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        if (r)
            freeReplyObject (r);
        intake_storage_down (res);
        return;
    }
    if (r->elements == 0) {
        freeReplyObject (r);
        asp_http_error (res, 404, "not_found", "no ticket %s", id);
        return;
    }
    cJSON *out = cJSON_CreateObject ();
    cJSON *cust = cJSON_CreateObject ();
    cJSON *prod = cJSON_CreateObject ();
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const char *k = r->element [i]->str, *v = r->element [i + 1]->str;
        if (strcmp (k, "rank") == 0 || strcmp (k, "trace") == 0)
            continue;
        if (strcmp (k, "customer_phone") == 0) {
            char masked [64];
            asp_mask_phone (v, masked, sizeof masked);
            cJSON_AddStringToObject (cust, "phone", masked);
        }
        else
        if (strncmp (k, "customer_", 9) == 0)
            cJSON_AddStringToObject (cust, k + 9, v);
        else
        if (strcmp (k, "serial") == 0 || strcmp (k, "model") == 0 || strcmp (k, "category") == 0)
            cJSON_AddStringToObject (prod, k, v);
        else
        if (strcmp (k, "waiting") == 0)
            cJSON_AddBoolToObject (out, k, strcmp (v, "1") == 0);
        else
        if (strcmp (k, "priority") == 0 || strcmp (k, "score") == 0 || strcmp (k, "gen") == 0
        ||  strcmp (k, "repeat_repairs") == 0 || (strlen (k) > 3 && strcmp (k + strlen (k) - 3, "_ms") == 0))
            cJSON_AddNumberToObject (out, k, strtod (v, NULL));
        else
            cJSON_AddStringToObject (out, k, v);
    }
    cJSON_AddItemToObject (out, "customer", cust);
    cJSON_AddItemToObject (out, "product", prod);
    freeReplyObject (r);
    asp_http_json (res, 200, cJSON_PrintUnformatted (out));
    cJSON_Delete (out);
}

void
intake_tickets_timeline (intake_api_t *api, const intake_call_t *call, const asp_http_req_t *req,
                         asp_http_res_t *res)
{
    (void) req;
    const char *id = call->param [0];
    //  Two commands, one round trip: existence and the entries.
    const char *a1 [] = { "EXISTS", NULL };
    const char *a2 [] = { "LRANGE", NULL, "0", "999" };
    char k1 [ASP_KEY_MAX], k2 [ASP_KEY_MAX];
    intake_key (k1, sizeof k1, INTAKE_KEY_TICKET, id);
    intake_key (k2, sizeof k2, INTAKE_KEY_TIMELINE, id);
    a1 [1] = k1;
    a2 [1] = k2;
    size_t l1 [] = { 6, strlen (k1) };
    size_t l2 [] = { 6, strlen (k2), 1, 3 };
    if (!asp_rds_ready (api->rds) || asp_rds_append (api->rds, 2, a1, l1) || asp_rds_append (api->rds, 4, a2, l2)) {
        intake_storage_down (res);
        return;
    }
    redisReply *exists = asp_rds_reply (api->rds);
    redisReply *list = exists? asp_rds_reply (api->rds): NULL;
    if (!exists || !list || list->type != REDIS_REPLY_ARRAY) {
        if (exists) freeReplyObject (exists);
        if (list) freeReplyObject (list);
        intake_storage_down (res);
        return;
    }
    if (exists->integer == 0)
        asp_http_error (res, 404, "not_found", "no ticket %s", id);
    else {
        cJSON *out = cJSON_CreateObject ();
        cJSON_AddStringToObject (out, "ticket_id", id);
        cJSON *events = cJSON_AddArrayToObject (out, "events");
        for (size_t i = 0; i < list->elements; i++) {
            cJSON *e = cJSON_Parse (list->element [i]->str);
            if (e)
                cJSON_AddItemToArray (events, e);
        }
        asp_http_json (res, 200, cJSON_PrintUnformatted (out));
        cJSON_Delete (out);
    }
    freeReplyObject (exists);
    freeReplyObject (list);
}

void
intake_tickets_survey (intake_api_t *api, const intake_call_t *call, const asp_http_req_t *req,
                       asp_http_res_t *res)
{
    const char *id = call->param [0];
    cJSON *j = intake_body (req, res);
    if (!j)
        return;
    intake_err_t err = { "" };
    s_survey_t survey;
    bool valid = s_validate_survey (j, &survey, &err);
    int64_t score = survey.score;
    const cJSON *resolved = survey.resolved, *on_time = survey.on_time;
    const char *comment = survey.comment;
    if (!valid) {
        asp_counter_inc (api->invalid);
        asp_http_error (res, 400, "invalid_field", "%s", err.message);
        cJSON_Delete (j);
        return;
    }
    int64_t now = asp_now_ms ();
    asp_msg_t *msg = asp_msg_new (ASP_EV_SURVEY_SUBMITTED, id, NULL);
    asp_mpmap_int (msg->body, "score", score);
    asp_mpmap_bool (msg->body, "resolved", cJSON_IsTrue (resolved));
    asp_mpmap_str (msg->body, "comment", comment? comment: "");
    if (cJSON_IsBool (on_time))
        asp_mpmap_bool (msg->body, "on_time", cJSON_IsTrue (on_time));
    cJSON *data = cJSON_CreateObject ();
    cJSON_AddNumberToObject (data, "score", (double) score);
    cJSON_AddBoolToObject (data, "resolved", cJSON_IsTrue (resolved));
    char *entry = intake_timeline_entry (ASP_EV_SURVEY_SUBMITTED, now, data);
    cJSON_Delete (j);

    asp_txn_t *txn = asp_txn_new (api->script [INTAKE_SCRIPT_SURVEY], asp_shard_of (id));
    intake_ticket_keys (txn, id);
    asp_txn_key (txn, INTAKE_KEY_SURVEY, id);
    asp_txn_arg (txn, "%lld", (long long) now);
    asp_txn_arg (txn, "%s", entry);
    asp_txn_arg (txn, "%d", ASP_STATUS_COMPLETED);
    cJSON_free (entry);
    asp_txn_publish (txn, &msg);
    asp_txn_exec (api->rds, ASP_SVC_INTAKE, &txn, 1);
    asp_txn_outcome_t outcome = asp_txn_outcome (txn);
    if (outcome == ASP_TXN_OK) {
        asp_outbox_remote_add_txn (api->outbox, txn);
        char *body = NULL;
        if (asprintf (&body, "{\"ticket_id\":\"%s\",\"status\":\"survey_received\"}", id) < 0)
            body = NULL;
        asp_http_json (res, 202, body);
    }
    else
    if (outcome == ASP_TXN_REJECT)
        asp_http_error (res, 404, "not_found", "no ticket %s", id);
    else
    if (outcome == ASP_TXN_STALE && strcmp (asp_txn_reason (txn), "already_answered") == 0)
        asp_http_error (res, 409, "already_answered", "the survey of ticket %s was already answered", id);
    else
    if (outcome == ASP_TXN_STALE)
        asp_http_error (res, 409, "not_completed", "ticket %s is not completed yet; retry later", id);
    else
        intake_storage_down (res);
    asp_txn_destroy (&txn);
}


int
intake_tickets_check_body (const char *what, const char *body, size_t len, char *err, size_t errlen)
{
    char *copy = (char *) malloc (len + 1);
    assert (copy);
    memcpy (copy, body, len);
    copy [len] = 0;
    intake_err_t why = { "" };
    cJSON *j = intake_parse_json (copy, len, &why);
    bool valid = j != NULL;
    if (valid && streq (what, "ticket")) {
        s_ticket_t t = { 0 };
        valid = s_validate_ticket (j, &t, &why);
    }
    else
    if (valid) {
        s_survey_t s;
        valid = s_validate_survey (j, &s, &why);
    }
    cJSON_Delete (j);
    free (copy);
    snprintf (err, errlen, "%s", valid? "": why.message);
    return valid? 0: -1;
}

void
intake_tickets_test (void)
{
    s_ticket_t t;
    intake_err_t err;
    cJSON *j = cJSON_Parse ("{\"type\":\"repair\",\"customer\":{\"name\":\"王\",\"phone\":\"13812345678\","
                            "\"region\":\"sh\"},\"product\":{\"serial\":\"S1\",\"model\":\"M\",\"category\":\"heater\"},"
                            "\"description\":\"no hot water\"}");
    memset (&t, 0, sizeof t);
    assert (s_validate_ticket (j, &t, &err));
    assert (strcmp (t.tier, "standard") == 0 && t.priority == 3);
    cJSON_ReplaceItemInObject (j, "type", cJSON_CreateString ("teleport"));
    assert (!s_validate_ticket (j, &t, &err) && strstr (err.message, "type must be one of"));
    cJSON_ReplaceItemInObject (j, "type", cJSON_CreateString ("repair"));
    cJSON_AddNumberToObject (j, "bogus", 1);
    assert (!s_validate_ticket (j, &t, &err) && strstr (err.message, "unknown field bogus"));
    cJSON_DeleteItemFromObject (j, "bogus");
    cJSON_ReplaceItemInObject (cJSON_GetObjectItem (j, "customer"), "phone", cJSON_CreateString ("call me"));
    assert (!s_validate_ticket (j, &t, &err) && strstr (err.message, "customer.phone"));
    cJSON_Delete (j);

    //  Whole bodies, as the handlers (and the fuzz target) see them.
    char why [256];
    const char survey [] = "{\"score\":4,\"resolved\":true,\"comment\":\"ok\"}";
    assert (intake_tickets_check_body ("survey", survey, strlen (survey), why, sizeof why) == 0 && !*why);
    assert (intake_tickets_check_body ("survey", survey, 10, why, sizeof why) == -1 && strstr (why, "not valid JSON"));
    const char nul [] = "{\"score\":4,\0\"resolved\":true}";
    assert (intake_tickets_check_body ("survey", nul, sizeof nul - 1, why, sizeof why) == -1 && strstr (why, "NUL"));
    const char score [] = "{\"score\":6,\"resolved\":true}";
    assert (intake_tickets_check_body ("survey", score, strlen (score), why, sizeof why) == -1 && strstr (why, "score"));
    assert (intake_tickets_check_body ("ticket", "[]", 2, why, sizeof why) == -1 && strstr (why, "JSON object"));
    //  Numbers far out of range are refused, not cast (undefined behaviour).
    const char huge [] = "{\"score\":1e300,\"resolved\":true}";
    assert (intake_tickets_check_body ("survey", huge, strlen (huge), why, sizeof why) == -1 && strstr (why, "score"));
    const char prio [] = "{\"type\":\"repair\",\"priority\":-2e121,\"description\":\"x\"}";
    assert (intake_tickets_check_body ("ticket", prio, strlen (prio), why, sizeof why) == -1 && strstr (why, "priority"));
    assert (intake_tickets_check_body ("ticket", "", 0, why, sizeof why) == -1);
}
