#include "intake_api.h"
#include "asp_config.h"
#include "asp_json.h"
#include "asp_log.h"
#include "asp_vocab.h"
#include "intake_ticket.h"
#include <assert.h>
#include <sodium.h>
#include <string.h>

extern const char asp_lua_create [];
extern const char asp_lua_survey [];

#define S_MAX_TOKENS 32

typedef enum {
    S_ROLE_AGENT = 0,
    S_ROLE_SUPERVISOR,
    S_ROLE_OPS,
    S_ROLE_ADMIN,
    S_ROLE_SYSTEM,
    S_ROLE_ANY = 100                //  tokens off: everything is allowed
} s_role_t;

typedef enum {
    S_ROUTE_CREATE = 0,
    S_ROUTE_READ,                   //  the ticket and its timeline
    S_ROUTE_SURVEY
} s_route_t;

struct intake_api_t {
    asp_svc_t *svc;
    asp_rds_t *rds;                 //  this thread's own connection
    asp_script_t *create;
    asp_script_t *survey;
    asp_outbox_remote_t *outbox;
    int64_t idem_ttl_s;
    struct { char token [128]; s_role_t role; } tokens [S_MAX_TOKENS];
    int ntokens;
    asp_histo_t *ack_latency;
    asp_counter_t *created, *invalid;
};

static const char *s_roles [] = { "agent", "supervisor", "ops", "admin", "system", NULL };

static bool
s_in (const char *value, const char **set)
{
    for (int i = 0; set [i]; i++)
        if (strcmp (value, set [i]) == 0)
            return true;
    return false;
}

static int
s_role_parse (const char *name)
{
    for (int i = 0; s_roles [i]; i++)
        if (strcmp (name, s_roles [i]) == 0)
            return i;
    return -1;
}

//  Who may use each route (docs/http-api.md, "Roles"). Ops watch; agents
//  and supervisors serve customers; systems integrate (order management,
//  the survey channel); admin may do everything.
#define S_ROLE(r) (1u << (r))
static const struct {
    const char *what;               //  for the 403's message
    unsigned roles;
} s_routes [] = {
    [S_ROUTE_CREATE]   = { "create tickets",
        S_ROLE (S_ROLE_AGENT) | S_ROLE (S_ROLE_SUPERVISOR) | S_ROLE (S_ROLE_ADMIN) | S_ROLE (S_ROLE_SYSTEM) },
    [S_ROUTE_READ]     = { "read tickets",
        S_ROLE (S_ROLE_AGENT) | S_ROLE (S_ROLE_SUPERVISOR) | S_ROLE (S_ROLE_OPS) | S_ROLE (S_ROLE_ADMIN)
        | S_ROLE (S_ROLE_SYSTEM) },
    [S_ROUTE_SURVEY]   = { "record survey answers",
        S_ROLE (S_ROLE_AGENT) | S_ROLE (S_ROLE_SUPERVISOR) | S_ROLE (S_ROLE_ADMIN) | S_ROLE (S_ROLE_SYSTEM) },
};

static void
s_parse_tokens (intake_api_t *self, const char *spec)
{
    //  "token:role,token:role"
    char *copy = strdup (spec), *save = NULL;
    for (char *item = strtok_r (copy, ",", &save); item; item = strtok_r (NULL, ",", &save)) {
        char *colon = strchr (item, ':');
        if (!colon || colon == item || self->ntokens == S_MAX_TOKENS
        ||  strlen (item) >= sizeof self->tokens [0].token || s_role_parse (colon + 1) < 0) {
            asp_log_error ("bad configuration: ASP_API_TOKENS must be token:role pairs, roles %s",
                           "agent|supervisor|ops|admin|system");
            exit (2);
        }
        *colon = 0;
        snprintf (self->tokens [self->ntokens].token, sizeof self->tokens [0].token, "%s", item);
        self->tokens [self->ntokens].role = (s_role_t) s_role_parse (colon + 1);
        self->ntokens++;
    }
    free (copy);
}

static double
s_gauge_round_trips (void *arg)
{
    return (double) asp_rds_round_trips (((intake_api_t *) arg)->rds);
}

static double
s_gauge_commands (void *arg)
{
    return (double) asp_rds_commands (((intake_api_t *) arg)->rds);
}

intake_api_t *
intake_api_new (asp_svc_t *svc)
{
    intake_api_t *self = (intake_api_t *) calloc (1, sizeof *self);
    assert (self);
    self->svc = svc;
    self->rds = asp_rds_new ();
    self->create = asp_rds_script (self->rds, "intake_create", asp_lua_create);
    self->survey = asp_rds_script (self->rds, "intake_survey", asp_lua_survey);
    self->outbox = asp_outbox_remote_new (asp_svc_outbox (svc));
    self->idem_ttl_s = asp_cfg_int ("ASP_IDEMPOTENCY_TTL_S", 86400, 60, 30 * 86400);
    s_parse_tokens (self, asp_cfg_str ("ASP_API_TOKENS", ""));
    asp_metrics_t *m = asp_svc_metrics (svc);
    self->ack_latency = asp_metrics_histo (m, "intake_ack_seconds", "Time to answer a ticket creation.");
    self->created = asp_metrics_counter (m, "tickets_created_total", "Tickets created.");
    self->invalid = asp_metrics_counter (m, "requests_invalid_total", "Requests refused as invalid.");
    asp_metrics_gauge (m, "http_redis_round_trips", "Redis round trips made by the HTTP thread.",
                       s_gauge_round_trips, self);
    asp_metrics_gauge (m, "http_redis_commands", "Redis commands sent by the HTTP thread.",
                       s_gauge_commands, self);
    return self;
}

void
intake_api_destroy (intake_api_t **self_p)
{
    intake_api_t *self = *self_p;
    if (self) {
        asp_outbox_remote_destroy (&self->outbox);
        asp_rds_destroy (&self->rds);
        free (self);
        *self_p = NULL;
    }
}

//  ---------------------------------------------------------------------
//  Validation: every field checked, every refusal names the field.

typedef struct {
    char message [256];
} s_err_t;

static bool
s_fail (s_err_t *err, const char *fmt, const char *field)
{
    snprintf (err->message, sizeof err->message, fmt, field);
    return false;
}

//  Required (minlen >= 1) or optional string in [minlen, maxlen], optionally
//  a word of vocab. *out is NULL when optional and absent.
static bool
s_str (const cJSON *obj, const char *key, const char *path, size_t minlen, size_t maxlen,
       const asp_vocab_t *vocab, bool required, const char **out, s_err_t *err)
{
    int rc = asp_json_str (obj, key, minlen, maxlen, out);
    if (rc == 1) {
        if (required)
            return s_fail (err, "%s is required", path);
        return true;
    }
    if (rc == -1) {
        snprintf (err->message, sizeof err->message,
                  "%s must be a string of %zu to %zu characters without control characters",
                  path, minlen, maxlen);
        return false;
    }
    if (vocab && asp_vocab_parse (vocab, *out) < 0) {
        char list [200];
        snprintf (err->message, sizeof err->message, "%s must be one of: %s", path,
                  asp_vocab_join (vocab, list, sizeof list));
        return false;
    }
    return true;
}

static bool
s_only (const cJSON *obj, const char **allowed, const char *where, s_err_t *err)
{
    for (const cJSON *c = obj->child; c; c = c->next)
        if (!s_in (c->string, allowed)) {
            snprintf (err->message, sizeof err->message, "unknown field %s%s%.64s",
                      where, *where? ".": "", c->string);
            return false;
        }
    return true;
}

static bool
s_phone (const char *phone, s_err_t *err)
{
    int digits = 0;
    for (const char *p = phone; *p; p++) {
        if (*p >= '0' && *p <= '9')
            digits++;
        else
        if (*p != '+' && *p != '-' && *p != ' ')
            return s_fail (err, "%s may hold only digits, +, - and spaces", "customer.phone");
    }
    if (digits < 5 || digits > 20)
        return s_fail (err, "%s must have 5 to 20 digits", "customer.phone");
    return true;
}

//  True when j is a JSON number holding an integer in lo..hi. The range is
//  checked before the cast: casting 1e300 (or NaN) to an integer is
//  undefined behaviour (found by fuzz/fuzz_intake_body).
static bool
s_int_in (const cJSON *j, int lo, int hi)
{
    if (!cJSON_IsNumber (j))
        return false;
    double v = j->valuedouble;
    return v >= lo && v <= hi && v == (double) (int) v;
}

typedef struct {
    const char *type, *tier, *channel, *agent, *description;
    const char *name, *phone, *region, *address, *cclass;
    const char *serial, *model, *category;
    int64_t priority;
} s_ticket_t;

static bool
s_validate_ticket (const cJSON *j, s_ticket_t *t, s_err_t *err)
{
    static const char *top [] = { "type", "tier", "priority", "customer", "product", "description",
                                  "channel", "agent", NULL };
    static const char *cust [] = { "name", "phone", "region", "address", "class", NULL };
    static const char *prod [] = { "serial", "model", "category", NULL };
    if (!cJSON_IsObject (j))
        return s_fail (err, "%s must be a JSON object", "the body");
    if (!s_only (j, top, "", err)
    ||  !s_str (j, "type", "type", 1, 32, &asp_vocab_kind, true, &t->type, err)
    ||  !s_str (j, "tier", "tier", 1, 32, &asp_vocab_tier, false, &t->tier, err)
    ||  !s_str (j, "channel", "channel", 1, 32, &asp_vocab_channel, false, &t->channel, err)
    ||  !s_str (j, "agent", "agent", 1, 64, NULL, false, &t->agent, err)
    ||  !s_str (j, "description", "description", 1, 2000, NULL, true, &t->description, err))
        return false;
    const cJSON *p = cJSON_GetObjectItemCaseSensitive (j, "priority");
    t->priority = 3;
    if (p && !cJSON_IsNull (p)) {
        if (!s_int_in (p, 1, 5))
            return s_fail (err, "%s must be an integer from 1 to 5", "priority");
        t->priority = (int64_t) p->valuedouble;
    }
    const cJSON *c = cJSON_GetObjectItemCaseSensitive (j, "customer");
    if (!cJSON_IsObject (c))
        return s_fail (err, "%s is required and must be an object", "customer");
    if (!s_only (c, cust, "customer", err)
    ||  !s_str (c, "name", "customer.name", 1, 64, NULL, true, &t->name, err)
    ||  !s_str (c, "phone", "customer.phone", 1, 32, NULL, true, &t->phone, err)
    ||  !s_phone (t->phone, err)
    ||  !s_str (c, "region", "customer.region", 1, 64, NULL, true, &t->region, err)
    ||  !s_str (c, "address", "customer.address", 1, 256, NULL, false, &t->address, err)
    ||  !s_str (c, "class", "customer.class", 1, 1, &asp_vocab_class, false, &t->cclass, err))
        return false;
    const cJSON *pr = cJSON_GetObjectItemCaseSensitive (j, "product");
    if (!cJSON_IsObject (pr))
        return s_fail (err, "%s is required and must be an object", "product");
    if (!s_only (pr, prod, "product", err)
    ||  !s_str (pr, "serial", "product.serial", 1, 64, NULL, true, &t->serial, err)
    ||  !s_str (pr, "model", "product.model", 1, 64, NULL, true, &t->model, err)
    ||  !s_str (pr, "category", "product.category", 1, 64, NULL, true, &t->category, err))
        return false;
    if (!t->tier) t->tier = asp_vocab_name (&asp_vocab_tier, ASP_TIER_STANDARD);
    if (!t->channel) t->channel = asp_vocab_name (&asp_vocab_channel, ASP_CHANNEL_WEB);
    if (!t->cclass) t->cclass = asp_vocab_name (&asp_vocab_class, ASP_CLASS_C);
    if (!t->agent) t->agent = "";
    if (!t->address) t->address = "";
    return true;
}

//  ---------------------------------------------------------------------
//  Handlers

static void
s_storage_down (asp_http_res_t *res)
{
    asp_http_error (res, 503, "unavailable", "storage is unavailable; retry shortly");
    res->retry_after = 1;
}

//  One JSON document without NUL bytes (body holds len bytes and a NUL
//  after them); NULL with the reason in err.
static cJSON *
s_parse_json (const char *body, size_t len, s_err_t *err)
{
    if (len == 0 || strlen (body) != len) {
        s_fail (err, "%s must be a JSON document without NUL bytes", "the body");
        return NULL;
    }
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithOpts (body, &end, 1);
    if (!j)
        snprintf (err->message, sizeof err->message, "the body is not valid JSON (near byte %ld)",
                  end? (long) (end - body): 0L);
    return j;
}

static cJSON *
s_parse_body (const asp_http_req_t *req, asp_http_res_t *res)
{
    const char *ct = asp_http_header (req, "Content-Type");
    if (!ct || strncasecmp (ct, "application/json", 16) != 0) {
        asp_http_error (res, 415, "unsupported_media_type", "Content-Type must be application/json");
        return NULL;
    }
    s_err_t err = { "" };
    cJSON *j = s_parse_json (req->body, req->body_len, &err);
    if (!j)
        asp_http_error (res, 400, "invalid_json", "%s", err.message);
    return j;
}

typedef struct {
    const cJSON *score, *resolved, *on_time;
    const char *comment;
} s_survey_t;

static bool
s_validate_survey (const cJSON *j, s_survey_t *s, s_err_t *err)
{
    static const char *allowed [] = { "score", "resolved", "comment", "on_time", NULL };
    s->score = cJSON_GetObjectItemCaseSensitive (j, "score");
    s->resolved = cJSON_GetObjectItemCaseSensitive (j, "resolved");
    s->on_time = cJSON_GetObjectItemCaseSensitive (j, "on_time");
    s->comment = NULL;
    bool valid = cJSON_IsObject (j) || s_fail (err, "%s must be a JSON object", "the body");
    valid = valid && s_only (j, allowed, "", err);
    if (valid && !s_int_in (s->score, 1, 5))
        valid = s_fail (err, "%s is required: an integer from 1 to 5", "score");
    if (valid && !cJSON_IsBool (s->resolved))
        valid = s_fail (err, "%s is required: true or false", "resolved");
    if (valid && s->on_time && !cJSON_IsBool (s->on_time) && !cJSON_IsNull (s->on_time))
        valid = s_fail (err, "%s must be true or false", "on_time");
    return valid && s_str (j, "comment", "comment", 0, 2000, NULL, false, &s->comment, err);
}

int
intake_api_check_body (const char *what, const char *body, size_t len, char *err, size_t errlen)
{
    char *copy = (char *) malloc (len + 1);
    assert (copy);
    memcpy (copy, body, len);
    copy [len] = 0;
    s_err_t why = { "" };
    cJSON *j = s_parse_json (copy, len, &why);
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

static void
s_create (intake_api_t *self, const asp_http_req_t *req, asp_http_res_t *res)
{
    int64_t started = asp_mono_us ();
    if (asp_svc_overloaded (self->svc)) {
        asp_http_error (res, 503, "overloaded", "too many messages awaiting delivery; retry shortly");
        res->retry_after = 1;
        return;
    }
    const char *idem = asp_http_header (req, "Idempotency-Key");
    if (idem && !asp_id_valid (idem, strlen (idem))) {
        asp_http_error (res, 400, "invalid_header",
                        "Idempotency-Key must be 1 to 47 characters of [A-Za-z0-9._:-]");
        return;
    }
    cJSON *j = s_parse_body (req, res);
    if (!j)
        return;
    s_ticket_t t = { 0 };
    s_err_t err;
    if (!s_validate_ticket (j, &t, &err)) {
        asp_counter_inc (self->invalid);
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
        "id", id, "status", asp_vocab_name (&asp_vocab_status, ASP_STATUS_RECEIVED), "rank", "0",
        "trace", trace, "created_ms", created, "updated_ms", created
    };
    assert (strcmp (fields [S_ASKED_FIELDS], "id") == 0);
    char fingerprint [2 * S_FINGERPRINT_BYTES + 1];
    s_fingerprint (fields, S_ASKED_FIELDS, fingerprint);
    asp_mpmap_t *a = asp_mpmap_new ();
    asp_mpmap_str (a, "id", id);
    asp_mpmap_str (a, "entry", entry);
    asp_mpmap_int (a, "idem_ttl_s", self->idem_ttl_s);
    asp_mpmap_str (a, "fingerprint", fingerprint);
    asp_mpmap_strv (a, "fields", fields, sizeof fields / sizeof fields [0]);
    cJSON_free (entry);
    asp_txn_t *txn = asp_txn_new (self->create, asp_shard_of (id));
    intake_ticket_keys (txn, id);
    if (idem)
        asp_txn_key (txn, INTAKE_KEY_IDEM, idem);
    asp_txn_arg_map (txn, &a);
    asp_txn_publish (txn, &msg);
    cJSON_Delete (j);

    asp_txn_exec (self->rds, ASP_SVC_INTAKE, &txn, 1);
    if (asp_txn_outcome (txn) == ASP_TXN_OK) {
        const char *what = asp_txn_reply_str (txn, 2);
        const char *tid = asp_txn_reply_str (txn, 3);
        bool created = what && strcmp (what, "created") == 0;
        asp_outbox_remote_add_txn (self->outbox, txn);
        cJSON *out = cJSON_CreateObject ();
        cJSON_AddStringToObject (out, "id", tid? tid: id);
        cJSON_AddStringToObject (out, "status", asp_vocab_name (&asp_vocab_status, ASP_STATUS_RECEIVED));
        if (created) {
            cJSON_AddNumberToObject (out, "created_ms", (double) now);
            asp_counter_inc (self->created);
        }
        else
            cJSON_AddBoolToObject (out, "idempotent_replay", 1);
        asp_http_json (res, created? 201: 200, cJSON_PrintUnformatted (out));
        snprintf (res->location, sizeof res->location, "/v1/tickets/%s", tid? tid: id);
        cJSON_Delete (out);
        asp_histo_observe_us (self->ack_latency, asp_mono_us () - started);
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
        s_storage_down (res);
    asp_txn_destroy (&txn);
}

static void
s_get (intake_api_t *self, const char *id, asp_http_res_t *res)
{
    char key [ASP_KEY_MAX];
    intake_key (key, sizeof key, INTAKE_KEY_TICKET, id);
    redisReply *r = asp_rds_cmd (self->rds, "HGETALL %s", key);
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        if (r)
            freeReplyObject (r);
        s_storage_down (res);
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
        if (strcmp (k, "priority") == 0 || strcmp (k, "created_ms") == 0
        ||  strcmp (k, "updated_ms") == 0 || strcmp (k, "score") == 0)
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

static void
s_timeline (intake_api_t *self, const char *id, asp_http_res_t *res)
{
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
    if (!asp_rds_ready (self->rds) || asp_rds_append (self->rds, 2, a1, l1) || asp_rds_append (self->rds, 4, a2, l2)) {
        s_storage_down (res);
        return;
    }
    redisReply *exists = asp_rds_reply (self->rds);
    redisReply *list = exists? asp_rds_reply (self->rds): NULL;
    if (!exists || !list || list->type != REDIS_REPLY_ARRAY) {
        if (exists) freeReplyObject (exists);
        if (list) freeReplyObject (list);
        s_storage_down (res);
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

static void
s_survey (intake_api_t *self, const char *id, const asp_http_req_t *req, asp_http_res_t *res)
{
    cJSON *j = s_parse_body (req, res);
    if (!j)
        return;
    s_err_t err = { "" };
    s_survey_t survey;
    bool valid = s_validate_survey (j, &survey, &err);
    const cJSON *score = survey.score, *resolved = survey.resolved, *on_time = survey.on_time;
    const char *comment = survey.comment;
    if (!valid) {
        asp_counter_inc (self->invalid);
        asp_http_error (res, 400, "invalid_field", "%s", err.message);
        cJSON_Delete (j);
        return;
    }
    int64_t now = asp_now_ms ();
    asp_msg_t *msg = asp_msg_new (ASP_EV_SURVEY_SUBMITTED, id, NULL);
    asp_mpmap_int (msg->body, "score", (int64_t) score->valuedouble);
    asp_mpmap_bool (msg->body, "resolved", cJSON_IsTrue (resolved));
    asp_mpmap_str (msg->body, "comment", comment? comment: "");
    if (cJSON_IsBool (on_time))
        asp_mpmap_bool (msg->body, "on_time", cJSON_IsTrue (on_time));
    cJSON *data = cJSON_CreateObject ();
    cJSON_AddNumberToObject (data, "score", score->valuedouble);
    cJSON_AddBoolToObject (data, "resolved", cJSON_IsTrue (resolved));
    char *entry = intake_timeline_entry (ASP_EV_SURVEY_SUBMITTED, now, data);
    cJSON_Delete (j);

    asp_txn_t *txn = asp_txn_new (self->survey, asp_shard_of (id));
    intake_ticket_keys (txn, id);
    asp_txn_key (txn, INTAKE_KEY_SURVEY, id);
    asp_txn_arg (txn, "%lld", (long long) now);
    asp_txn_arg (txn, "%s", entry);
    asp_txn_arg (txn, "%d", ASP_STATUS_COMPLETED);
    cJSON_free (entry);
    asp_txn_publish (txn, &msg);
    asp_txn_exec (self->rds, ASP_SVC_INTAKE, &txn, 1);
    asp_txn_outcome_t outcome = asp_txn_outcome (txn);
    if (outcome == ASP_TXN_OK) {
        asp_outbox_remote_add_txn (self->outbox, txn);
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
        s_storage_down (res);
    asp_txn_destroy (&txn);
}

//  The caller's role: S_ROLE_ANY when tokens are off (a demo), -1 after
//  answering 401.
static int
s_caller (intake_api_t *self, const asp_http_req_t *req, asp_http_res_t *res)
{
    if (self->ntokens == 0)
        return S_ROLE_ANY;
    const char *auth = asp_http_header (req, "Authorization");
    if (auth && strncmp (auth, "Bearer ", 7) == 0)
        for (int i = 0; i < self->ntokens; i++)
            if (strcmp (auth + 7, self->tokens [i].token) == 0)
                return (int) self->tokens [i].role;
    asp_http_error (res, 401, "unauthorized", "a valid 'Authorization: Bearer <token>' header is required");
    return -1;
}

//  True when role may use route; otherwise answers 403 (nothing changes).
static bool
s_allowed (int role, s_route_t route, asp_http_res_t *res)
{
    if (role == S_ROLE_ANY || (s_routes [route].roles & S_ROLE (role)))
        return true;
    asp_http_error (res, 403, "forbidden", "role %s may not %s", s_roles [role], s_routes [route].what);
    return false;
}

void
intake_api_handle (const asp_http_req_t *req, asp_http_res_t *res, void *arg)
{
    intake_api_t *self = (intake_api_t *) arg;
    const char *url = req->url;
    bool post = strcmp (req->method, "POST") == 0;
    bool get = strcmp (req->method, "GET") == 0;
    if (strncmp (url, "/v1/tickets", 11) != 0 || (url [11] && url [11] != '/')) {
        asp_http_error (res, 404, "not_found", "no such endpoint: %s %.100s", req->method, url);
        return;
    }
    int role = s_caller (self, req, res);
    if (role < 0)
        return;
    if (url [11] == 0 || (url [11] == '/' && url [12] == 0)) {
        if (post && s_allowed (role, S_ROUTE_CREATE, res))
            s_create (self, req, res);
        else
        if (post)
            ;                       //  refused: 403 written
        else
            asp_http_error (res, 405, "method_not_allowed", "use POST /v1/tickets");
        return;
    }
    //  /v1/tickets/{id}[/timeline|/survey]
    const char *idp = url + 12;
    const char *slash = strchr (idp, '/');
    size_t idlen = slash? (size_t) (slash - idp): strlen (idp);
    if (!asp_id_valid (idp, idlen)) {
        asp_http_error (res, 404, "not_found", "no ticket %.*s", (int) (idlen > 64? 64: idlen), idp);
        return;
    }
    char id [ASP_ID_MAX];
    snprintf (id, sizeof id, "%.*s", (int) idlen, idp);
    const char *rest = slash? slash: "";
    if (*rest == 0 && get) {
        if (s_allowed (role, S_ROUTE_READ, res))
            s_get (self, id, res);
    }
    else
    if (strcmp (rest, "/timeline") == 0 && get) {
        if (s_allowed (role, S_ROUTE_READ, res))
            s_timeline (self, id, res);
    }
    else
    if (strcmp (rest, "/survey") == 0 && post) {
        if (s_allowed (role, S_ROUTE_SURVEY, res))
            s_survey (self, id, req, res);
    }
    else
    if (*rest == 0 || strcmp (rest, "/timeline") == 0 || strcmp (rest, "/survey") == 0)
        asp_http_error (res, 405, "method_not_allowed", "%s is not allowed on %.100s", req->method, url);
    else
        asp_http_error (res, 404, "not_found", "no such endpoint: %s %.100s", req->method, url);
}

void
intake_api_test (void)
{
    s_ticket_t t;
    s_err_t err;
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
    assert (intake_api_check_body ("survey", survey, strlen (survey), why, sizeof why) == 0 && !*why);
    assert (intake_api_check_body ("survey", survey, 10, why, sizeof why) == -1 && strstr (why, "not valid JSON"));
    const char nul [] = "{\"score\":4,\0\"resolved\":true}";
    assert (intake_api_check_body ("survey", nul, sizeof nul - 1, why, sizeof why) == -1 && strstr (why, "NUL"));
    const char score [] = "{\"score\":6,\"resolved\":true}";
    assert (intake_api_check_body ("survey", score, strlen (score), why, sizeof why) == -1 && strstr (why, "score"));
    assert (intake_api_check_body ("ticket", "[]", 2, why, sizeof why) == -1 && strstr (why, "JSON object"));
    //  Numbers far out of range are refused, not cast (undefined behaviour).
    const char huge [] = "{\"score\":1e300,\"resolved\":true}";
    assert (intake_api_check_body ("survey", huge, strlen (huge), why, sizeof why) == -1 && strstr (why, "score"));
    const char prio [] = "{\"type\":\"repair\",\"priority\":-2e121,\"description\":\"x\"}";
    assert (intake_api_check_body ("ticket", prio, strlen (prio), why, sizeof why) == -1 && strstr (why, "priority"));
    assert (intake_api_check_body ("ticket", "", 0, why, sizeof why) == -1);
}
