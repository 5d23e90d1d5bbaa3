/*  The partner registry's routes (intake_partners.h).                   */
#include "intake_partners.h"
#include "asp_quality.h"
#include "asp_hours.h"
#include "asp_json.h"
#include "asp_log.h"
#include "intake_archive.h"
#include "intake_ticket.h"
#include <assert.h>
#include <string.h>
#include <zmq.h>

#define S_KEY_Z85       40          //  a CURVE public key in Z85
#define S_KEY_HEX       65          //  its 32 bytes in hex, with the NUL
#define S_LIST_BATCH    100         //  ids read per shard per step of a list
#define S_TRIES         3           //  a PATCH that races another change

//  The record's fields, in the order answers show them.
static const char *s_fields [] = {
    "partner_id", "name", "status", "regions", "areas", "categories", "kinds", "capacity_cap",
    "express", "hours", "curve_key", "technicians", "contact", NULL
};

//  ---------------------------------------------------------------------
//  Validation

//  hours: {"utc_offset": "+08:00", "days": {"mon": ["08:00-18:00", ...], ...}};
//  a day not named is closed.
static bool
s_v_hours (const cJSON *rec, intake_err_t *err)
{
    const cJSON *h = cJSON_GetObjectItemCaseSensitive (rec, "hours");
    if (!h || cJSON_IsNull (h))
        return true;
    static const char *allowed [] = { "utc_offset", "days", NULL };
    const char *offset;
    const cJSON *days = cJSON_GetObjectItemCaseSensitive (h, "days");
    int minutes;
    if (!cJSON_IsObject (h))
        return intake_fail (err, "%s must be an object {utc_offset, days}", "hours");
    if (!intake_v_only (h, allowed, "hours", err)
    ||  !intake_v_str (h, "utc_offset", "hours.utc_offset", 6, 6, NULL, true, &offset, err))
        return false;
    if (!asp_hours_offset (offset, &minutes))
        return intake_fail (err, "%s must be an offset from -12:00 to +14:00 such as \"+08:00\"",
                            "hours.utc_offset");
    if (!cJSON_IsObject (days))
        return intake_fail (err, "%s is required: an object of days (mon..sun) to time ranges",
                            "hours.days");
    if (!intake_v_only (days, (const char **) asp_hours_days, "hours.days", err))
        return false;
    for (const cJSON *d = days->child; d; d = d->next) {
        char path [32];
        const cJSON *ranges;
        snprintf (path, sizeof path, "hours.days.%s", d->string);
        for (const cJSON *k = days->child; k != d; k = k->next)
            if (streq (k->string, d->string))
                return intake_fail (err, "%s is named twice", path);
        if (!intake_v_strv (days, d->string, path, 0, ASP_HOURS_RANGES, 11, 11, NULL, true, &ranges, err))
            return false;
        for (const cJSON *r = ranges->child; r; r = r->next) {
            int from, to;
            if (!asp_hours_range (r->valuestring, &from, &to))
                return intake_fail (err, "%s must hold ranges \"HH:MM-HH:MM\" (start before end, "
                                    "end at most 24:00)", path);
        }
    }
    return true;
}

//  A CURVE public key: 40 characters of Z85 (canonical) for 32 bytes.
static bool
s_key_bytes (const char *z85, uint8_t *bytes)
{
    char again [S_KEY_Z85 + 1];
    return strlen (z85) == S_KEY_Z85 && zmq_z85_decode (bytes, z85)
        && zmq_z85_encode (again, bytes, 32) && strcmp (again, z85) == 0;
}

static void
s_key_hex (const char *z85, char *hex)
{
    uint8_t bytes [32];
    bool ok = s_key_bytes (z85, bytes);
    assert (ok);
    for (int i = 0; i < 32; i++)
        snprintf (hex + 2 * i, 3, "%02x", bytes [i]);
}

static bool
s_v_technicians (const cJSON *rec, intake_err_t *err)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive (rec, "technicians");
    if (!list || cJSON_IsNull (list))
        return true;
    if (!cJSON_IsArray (list) || cJSON_GetArraySize (list) > 500)
        return intake_fail (err, "%s must be an array of at most 500 {id, name, phone}", "technicians");
    static const char *allowed [] = { "id", "name", "phone", NULL };
    for (const cJSON *t = list->child; t; t = t->next) {
        const char *id, *name, *phone;
        if (!cJSON_IsObject (t))
            return intake_fail (err, "%s must hold objects {id, name, phone}", "technicians");
        if (!intake_v_only (t, allowed, "technicians[]", err)
        ||  !intake_v_str (t, "id", "technicians[].id", 1, 64, NULL, true, &id, err)
        ||  !intake_v_str (t, "name", "technicians[].name", 1, 200, NULL, true, &name, err)
        ||  !intake_v_str (t, "phone", "technicians[].phone", 1, 32, NULL, false, &phone, err)
        ||  (phone && !intake_v_phone (phone, "technicians[].phone", err)))
            return false;
        if (!asp_id_valid (id, strlen (id)))
            return intake_fail (err, "%s must be 1 to 64 characters of A-Z a-z 0-9 . _ : -", "technicians[].id");
        for (const cJSON *k = list->child; k != t; k = k->next)
            if (strcmp (cJSON_GetObjectItem (k, "id")->valuestring, id) == 0)
                return intake_fail (err, "%s lists a technician id twice", "technicians");
    }
    return true;
}

static bool
s_v_contact (const cJSON *rec, intake_err_t *err)
{
    const cJSON *c = cJSON_GetObjectItemCaseSensitive (rec, "contact");
    if (!c || cJSON_IsNull (c))
        return true;
    static const char *allowed [] = { "email", "phone", NULL };
    const char *email, *phone;
    if (!cJSON_IsObject (c) || !c->child)
        return intake_fail (err, "%s must be an object with email, phone or both", "contact");
    if (!intake_v_only (c, allowed, "contact", err)
    ||  !intake_v_str (c, "email", "contact.email", 3, 254, NULL, false, &email, err)
    ||  !intake_v_str (c, "phone", "contact.phone", 1, 32, NULL, false, &phone, err)
    ||  (phone && !intake_v_phone (phone, "contact.phone", err)))
        return false;
    const char *at = email? strchr (email, '@'): NULL;
    if (email && (!at || at == email || !at [1] || strchr (at + 1, '@') || strchr (email, ' ')))
        return intake_fail (err, "%s must be an e-mail address", "contact.email");
    return true;
}

bool
intake_partner_valid (const cJSON *rec, bool create, intake_err_t *err)
{
    const char *id, *name, *status, *key;
    const cJSON *regions, *areas, *categories, *kinds;
    int64_t cap = 0;
    if (!cJSON_IsObject (rec))
        return intake_fail (err, "%s must be a JSON object", "the body");
    if (!intake_v_only (rec, s_fields, "", err)
    ||  !intake_v_str (rec, "partner_id", "partner_id", 1, ASP_ID_MAX - 1, NULL, true, &id, err)
    ||  !intake_v_str (rec, "name", "name", 1, 200, NULL, true, &name, err)
    ||  !intake_v_str (rec, "status", "status", 1, 16, &asp_vocab_partner_status, false, &status, err)
    ||  !intake_v_strv (rec, "regions", "regions", 1, 64, 1, 64, NULL, true, &regions, err)
    ||  !intake_v_strv (rec, "areas", "areas", 0, 256, 3, 129, NULL, false, &areas, err)
    ||  !intake_v_strv (rec, "categories", "categories", 1, 64, 1, 64, NULL, true, &categories, err)
    ||  !intake_v_strv (rec, "kinds", "kinds", 1, 6, 1, 16, &asp_vocab_kind, false, &kinds, err)
    ||  !intake_v_int (rec, "capacity_cap", "capacity_cap", 1, 1000, true, &cap, err)
    ||  !s_v_hours (rec, err)
    ||  !intake_v_str (rec, "curve_key", "curve_key", 1, 64, NULL, false, &key, err)
    ||  !s_v_technicians (rec, err)
    ||  !s_v_contact (rec, err))
        return false;
    if (!asp_id_valid (id, strlen (id)))
        return intake_fail (err, "%s must be 1 to 47 characters of A-Z a-z 0-9 . _ : -", "partner_id");
    if (create && status && asp_vocab_parse (&asp_vocab_partner_status, status) == ASP_PARTNER_REMOVED)
        return intake_fail (err, "%s of a new partner must be active or suspended", "status");
    const cJSON *express = cJSON_GetObjectItemCaseSensitive (rec, "express");
    if (express && !cJSON_IsBool (express))
        return intake_fail (err, "%s must be true or false", "express");
    for (const cJSON *a = areas? areas->child: NULL; a; a = a->next) {
        const char *slash = strchr (a->valuestring, '/');
        if (!slash || slash == a->valuestring || !slash [1] || strchr (slash + 1, '/'))
            return intake_fail (err, "%s must hold \"region/area\" names", "areas");
    }
    for (const cJSON *k = kinds? kinds->child: NULL; k; k = k->next)
        if (!asp_kind_field_work ((asp_kind_t) asp_vocab_parse (&asp_vocab_kind, k->valuestring)))
            return intake_fail (err, "%s must hold kinds of field work (installation, repair, "
                                "maintenance, return)", "kinds");
    uint8_t bytes [32];
    if (key && !s_key_bytes (key, bytes))
        return intake_fail (err, "%s must be a CURVE public key: 40 characters of Z85 (32 bytes)",
                            "curve_key");
    return true;
}

//  The record as stored and answered: its fields in order (the defaults
//  filled in), then version and updated_ms. A new tree.
static cJSON *
s_canonical (const cJSON *rec, int64_t version, int64_t now)
{
    cJSON *out = cJSON_CreateObject ();
    for (int i = 0; s_fields [i]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive (rec, s_fields [i]);
        if (v && !cJSON_IsNull (v))
            cJSON_AddItemToObject (out, s_fields [i], cJSON_Duplicate (v, true));
        else
        if (streq (s_fields [i], "status"))
            cJSON_AddStringToObject (out, "status", "active");
        else
        if (streq (s_fields [i], "express"))
            cJSON_AddFalseToObject (out, "express");
        else
        if (streq (s_fields [i], "technicians"))
            cJSON_AddArrayToObject (out, "technicians");
    }
    cJSON_AddNumberToObject (out, "version", (double) version);
    cJSON_AddNumberToObject (out, "updated_ms", (double) now);
    return out;
}

static const char *
s_str (const cJSON *rec, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive (rec, name);
    return cJSON_IsString (v)? v->valuestring: "";
}

//  ---------------------------------------------------------------------
//  Steps

//  The stored record of id: 0 (a tree in *rec, the caller deletes it), 1
//  none, -1 Redis unavailable.
static int
s_read (intake_api_t *api, const char *id, cJSON **rec)
{
    char key [ASP_KEY_MAX];
    intake_key (key, sizeof key, INTAKE_KEY_PARTNER, id);
    redisReply *r = asp_rds_cmd (api->rds, "HGET %s record", key);
    *rec = NULL;
    if (!r || r->type == REDIS_REPLY_ERROR) {
        if (r)
            freeReplyObject (r);
        return -1;
    }
    if (r->type == REDIS_REPLY_STRING)
        *rec = cJSON_Parse (r->str);
    freeReplyObject (r);
    return *rec? 0: 1;
}

int
intake_partner_status (intake_api_t *api, const char *partner_id, char *status, size_t len)
{
    char key [ASP_KEY_MAX];
    intake_key (key, sizeof key, INTAKE_KEY_PARTNER, partner_id);
    redisReply *r = asp_rds_cmd (api->rds, "HGET %s status", key);
    int rc = !r || r->type == REDIS_REPLY_ERROR? -1: r->type == REDIS_REPLY_STRING? 0: 1;
    if (rc == 0)
        snprintf (status, len, "%s", r->str);
    if (r)
        freeReplyObject (r);
    return rc;
}

//  Claims the CURVE key z85 for id (arc_phone.lua on its index). An index
//  that names a partner whose record does not name the key is stale and
//  taken over. 0, 1 (another partner's: its id in owner), -1.
static int
s_claim_key (intake_api_t *api, const char *id, const char *z85, char *owner)
{
    char hex [S_KEY_HEX], key [ASP_KEY_MAX];
    s_key_hex (z85, hex);
    intake_key (key, sizeof key, INTAKE_KEY_PARTNER_KEY, hex);
    redisReply *r = asp_rds_cmd (api->rds, "GET %s", key);
    if (!r || r->type == REDIS_REPLY_ERROR) {
        if (r)
            freeReplyObject (r);
        return -1;
    }
    snprintf (owner, ASP_ID_MAX, "%s", r->type == REDIS_REPLY_STRING? r->str: "");
    freeReplyObject (r);
    if (*owner && !streq (owner, id)) {
        cJSON *other = NULL;
        int rc = s_read (api, owner, &other);
        bool names_it = rc == 0 && streq (s_str (other, "curve_key"), z85);
        cJSON_Delete (other);
        if (rc < 0)
            return -1;
        if (names_it)
            return 1;
    }
    asp_txn_t *txn = asp_txn_new (api->script [INTAKE_SCRIPT_ARC_PHONE], asp_shard_of (hex));
    asp_txn_key (txn, INTAKE_KEY_PARTNER_KEY, hex);
    asp_txn_arg (txn, "%s", id);
    asp_txn_arg (txn, "%s", owner);
    asp_txn_arg (txn, "claim");
    asp_txn_exec (api->rds, ASP_SVC_INTAKE, &txn, 1);
    asp_txn_outcome_t o = asp_txn_outcome (txn);
    if (o == ASP_TXN_REJECT)
        snprintf (owner, ASP_ID_MAX, "%s", asp_txn_reply_str (txn, 3));
    asp_txn_destroy (&txn);
    return o == ASP_TXN_OK? 0: o == ASP_TXN_REJECT? 1: -1;
}

//  Gives the key's index back when it still names id (best effort: a
//  stale index is free anyway).
static void
s_release_key (intake_api_t *api, const char *id, const char *z85)
{
    char hex [S_KEY_HEX];
    s_key_hex (z85, hex);
    asp_txn_t *txn = asp_txn_new (api->script [INTAKE_SCRIPT_ARC_PHONE], asp_shard_of (hex));
    asp_txn_key (txn, INTAKE_KEY_PARTNER_KEY, hex);
    asp_txn_arg (txn, "%s", id);
    asp_txn_arg (txn, "%s", "");
    asp_txn_arg (txn, "release");
    asp_txn_exec (api->rds, ASP_SVC_INTAKE, &txn, 1);
    asp_txn_destroy (&txn);
}

//  pt_write.lua: stores rec (canonical) and emits partner.changed with it.
//  Returns the outcome; the reason into why.
static asp_txn_outcome_t
s_write (intake_api_t *api, const cJSON *rec, const char *mode, int64_t expect, char *why, size_t whylen)
{
    const char *id = s_str (rec, "partner_id");
    char *json = cJSON_PrintUnformatted (rec);
    char version [24], now [24];
    snprintf (version, sizeof version, "%lld", (long long) cJSON_GetObjectItem (rec, "version")->valuedouble);
    snprintf (now, sizeof now, "%lld", (long long) cJSON_GetObjectItem (rec, "updated_ms")->valuedouble);
    const char *fields [] = {
        "id", id, "record", json, "status", s_str (rec, "status"), "version", version,
        "curve_key", s_str (rec, "curve_key"), "updated_ms", now
    };
    asp_mpmap_t *a = asp_mpmap_new ();
    asp_mpmap_str (a, "mode", mode);
    asp_mpmap_str (a, "id", id);
    asp_mpmap_int (a, "version", expect);
    asp_mpmap_strv (a, "fields", fields, sizeof fields / sizeof fields [0]);
    asp_txn_t *txn = asp_txn_new (api->script [INTAKE_SCRIPT_PARTNER], asp_shard_of (id));
    asp_txn_key (txn, INTAKE_KEY_PARTNER, id);
    asp_txn_key (txn, INTAKE_KEY_PARTNERS);
    asp_txn_arg_map (txn, &a);
    asp_msg_t *msg = asp_msg_new (ASP_EV_PARTNER_CHANGED, NULL, NULL);
    asp_json_to_mpmap (rec, msg->body);
    asp_txn_publish (txn, &msg);
    asp_txn_exec (api->rds, ASP_SVC_INTAKE, &txn, 1);
    asp_txn_outcome_t o = asp_txn_outcome (txn);
    snprintf (why, whylen, "%s", asp_txn_reason (txn));
    if (o == ASP_TXN_OK && asp_txn_emitted (txn))
        asp_outbox_remote_add_txn (api->outbox, txn);
    asp_txn_destroy (&txn);
    cJSON_free (json);
    if (o == ASP_TXN_OK)
        asp_log_kv (ASP_LOG_INFO, "partner changed", "partner", id, "status", s_str (rec, "status"),
                    "version", version, NULL);
    return o;
}

static void
s_answer (asp_http_res_t *res, int status, const cJSON *rec)
{
    asp_http_json (res, status, cJSON_PrintUnformatted (rec));
}

//  ---------------------------------------------------------------------
//  Routes

void
intake_partners_create (intake_api_t *api, const intake_call_t *call, const asp_http_req_t *req,
                        asp_http_res_t *res)
{
    (void) call;
    if (intake_overloaded (api, res))
        return;
    cJSON *j = intake_body (req, res);
    if (!j)
        return;
    intake_err_t err;
    if (!intake_partner_valid (j, true, &err)) {
        intake_invalid (api, res, &err);
        cJSON_Delete (j);
        return;
    }
    cJSON *rec = s_canonical (j, 1, asp_now_ms ());
    cJSON_Delete (j);
    const char *id = s_str (rec, "partner_id"), *z85 = s_str (rec, "curve_key");
    cJSON *old = NULL;
    char owner [ASP_ID_MAX] = "", why [64] = "";
    //  Refused before anything is written when the id is taken; then the
    //  key's index (intent first), then the record.
    int rc = s_read (api, id, &old);
    rc = rc == 0? 2: rc == 1? 0: -1;
    if (rc == 0 && *z85)
        rc = s_claim_key (api, id, z85, owner);
    if (rc == 0) {
        asp_txn_outcome_t o = s_write (api, rec, "create", 0, why, sizeof why);
        rc = o == ASP_TXN_OK? 0: o == ASP_TXN_REJECT? 2: -1;
        //  Lost a race for the id: give the key back unless it was the
        //  winner's already.
        if (rc == 2 && *z85 && !streq (owner, id))
            s_release_key (api, id, z85);
    }
    if (rc == 0) {
        s_answer (res, 201, rec);
        snprintf (res->location, sizeof res->location, "/v1/partners/%s", id);
    }
    else
    if (rc == 1)
        asp_http_error (res, 409, "curve_key_taken", "that curve_key belongs to partner %s", owner);
    else
    if (rc == 2)
        asp_http_error (res, 409, "partner_exists", "partner %s is already in the registry", id);
    else
        intake_storage_down (res);
    cJSON_Delete (old);
    cJSON_Delete (rec);
}

void
intake_partners_get (intake_api_t *api, const intake_call_t *call, const asp_http_req_t *req,
                     asp_http_res_t *res)
{
    (void) req;
    cJSON *rec = NULL;
    int rc = s_read (api, call->param [0], &rec);
    if (rc == 0)
        s_answer (res, 200, rec);
    else
    if (rc == 1)
        asp_http_error (res, 404, "not_found", "no partner %s", call->param [0]);
    else
        intake_storage_down (res);
    cJSON_Delete (rec);
}

//  0 when the registry has a record of partner id; else -1 with the
//  answer given (404 unknown, 503 storage down).
static int
s_registered (intake_api_t *api, const char *id, asp_http_res_t *res)
{
    cJSON *rec = NULL;
    int rc = s_read (api, id, &rec);
    cJSON_Delete (rec);
    if (rc == 1)
        asp_http_error (res, 404, "not_found", "no partner %s", id);
    else
    if (rc != 0)
        intake_storage_down (res);
    return rc == 0? 0: -1;
}

void
intake_partners_quality (intake_api_t *api, const intake_call_t *call, const asp_http_req_t *req,
                         asp_http_res_t *res)
{
    (void) req;
    const char *id = call->param [0];
    cJSON *body = NULL;
    if (asp_quality_read (api->rds, id, &body)) {
        intake_storage_down (res);
        return;
    }
    //  A partner known only by its certificate (ASP_PARTNER_CERTS, no
    //  registry record) is scored too: only one neither scored nor
    //  registered is unknown.
    if (!body) {
        if (s_registered (api, id, res))
            return;
        body = cJSON_CreateObject ();
        cJSON_AddStringToObject (body, "partner_id", id);
        cJSON_AddNullToObject (body, "scored_ms");
    }
    s_answer (res, 200, body);
    cJSON_Delete (body);
}

void
intake_partners_strikes (intake_api_t *api, const intake_call_t *call, const asp_http_req_t *req,
                         asp_http_res_t *res)
{
    (void) req;
    const char *id = call->param [0];
    cJSON *body = NULL;
    if (asp_quality_strikes (api->rds, id, &body)) {
        intake_storage_down (res);
        return;
    }
    //  As for quality: a partner known only by its certificate has a
    //  ladder too; one with neither ladder nor record is unknown.
    if (!body) {
        if (s_registered (api, id, res))
            return;
        body = cJSON_CreateObject ();
        cJSON_AddStringToObject (body, "partner_id", id);
        cJSON_AddFalseToObject (body, "removed");
        cJSON_AddNumberToObject (body, "version", 0);
        cJSON_AddArrayToObject (body, "strikes");
    }
    s_answer (res, 200, body);
    cJSON_Delete (body);
}

void
intake_partners_review (intake_api_t *api, const intake_call_t *call, const asp_http_req_t *req,
                        asp_http_res_t *res)
{
    const char *id = call->param [0], *strike = call->param [1];
    if (intake_overloaded (api, res))
        return;
    cJSON *body = intake_body (req, res);
    if (!body)
        return;
    static const char *allowed [] = { "decision", "reason", NULL };
    const char *decision, *reason;
    intake_err_t err;
    if (!cJSON_IsObject (body)) {
        snprintf (err.message, sizeof err.message, "the body must be a JSON object");
        intake_invalid (api, res, &err);
    }
    else
    if (!intake_v_only (body, allowed, "", &err)
    ||  !intake_v_str (body, "decision", "decision", 1, 16, &asp_vocab_strike_review, true, &decision, &err)
    ||  !intake_v_str (body, "reason", "reason", 1, 500, NULL, true, &reason, &err))
        intake_invalid (api, res, &err);
    else {
        asp_txn_t *txn = asp_txn_new (api->script [INTAKE_SCRIPT_STRIKE_REVIEW], asp_shard_of (id));
        asp_txn_key (txn, ASP_QUALITY_KEY_LADDER, id);
        asp_txn_arg (txn, "%s", strike);
        asp_msg_t *msg = asp_msg_new (ASP_EV_STRIKE_REVIEWED, NULL, NULL);
        asp_mpmap_str (msg->body, "partner_id", id);
        asp_mpmap_str (msg->body, "strike_id", strike);
        asp_mpmap_str (msg->body, "decision", decision);
        asp_mpmap_str (msg->body, "reason", reason);
        asp_mpmap_str (msg->body, "by", call->caller.who);
        asp_txn_publish (txn, &msg);
        asp_txn_exec (api->rds, ASP_SVC_INTAKE, &txn, 1);
        asp_txn_outcome_t o = asp_txn_outcome (txn);
        if (o == ASP_TXN_OK && asp_txn_emitted (txn))
            asp_outbox_remote_add_txn (api->outbox, txn);
        if (o == ASP_TXN_OK) {
            cJSON *out = cJSON_CreateObject ();
            cJSON_AddStringToObject (out, "partner_id", id);
            cJSON_AddStringToObject (out, "strike_id", strike);
            cJSON_AddStringToObject (out, "decision", decision);
            cJSON_AddStringToObject (out, "reason", reason);
            s_answer (res, 202, out);
            cJSON_Delete (out);
            asp_log_kv (ASP_LOG_INFO, "strike reviewed", "partner", id, "strike", strike,
                        "decision", decision, "by", call->caller.who, NULL);
        }
        else
        if (o == ASP_TXN_REJECT)
            asp_http_error (res, 404, "unknown_strike", "partner %s has no strike %s", id, strike);
        else
            intake_storage_down (res);
        asp_txn_destroy (&txn);
    }
    cJSON_Delete (body);
}

//  The stored record old with the PATCH body applied (null removes an
//  optional field); a new tree, not yet checked.
static cJSON *
s_merge (const cJSON *old, const cJSON *patch)
{
    cJSON *rec = cJSON_Duplicate (old, true);
    cJSON_DeleteItemFromObjectCaseSensitive (rec, "version");
    cJSON_DeleteItemFromObjectCaseSensitive (rec, "updated_ms");
    for (const cJSON *f = patch->child; f; f = f->next) {
        cJSON_DeleteItemFromObjectCaseSensitive (rec, f->string);
        if (!cJSON_IsNull (f))
            cJSON_AddItemToObject (rec, f->string, cJSON_Duplicate (f, true));
    }
    return rec;
}

//  One try of a PATCH: 0 done (the record in *out), 1 answered, 2 another
//  change came first (try again), -1 Redis unavailable.
static int
s_patch_once (intake_api_t *api, const char *id, const cJSON *patch, cJSON **out, asp_http_res_t *res)
{
    cJSON *old = NULL;
    int rc = s_read (api, id, &old);
    if (rc == 1)
        asp_http_error (res, 404, "not_found", "no partner %s", id);
    if (rc)
        return rc;
    intake_err_t err;
    cJSON *want = s_merge (old, patch);
    const cJSON *v = cJSON_GetObjectItem (old, "version");
    int64_t version = cJSON_IsNumber (v)? (int64_t) v->valuedouble: 0;
    const char *was = s_str (old, "curve_key");
    if (streq (s_str (old, "status"), "removed")) {
        asp_http_error (res, 409, "partner_removed", "partner %s was removed: removal is final", id);
        rc = 1;
    }
    else
    if (!intake_partner_valid (want, false, &err)) {
        intake_invalid (api, res, &err);
        rc = 1;
    }
    //  The same values again: answered as it is, nothing written.
    const cJSON *u = cJSON_GetObjectItem (old, "updated_ms");
    cJSON *same = rc? NULL: s_canonical (want, version, cJSON_IsNumber (u)? (int64_t) u->valuedouble: 0);
    if (same && cJSON_Compare (same, old, true)) {
        *out = same;
        cJSON_Delete (want);
        cJSON_Delete (old);
        return 0;
    }
    cJSON_Delete (same);
    cJSON *rec = rc? NULL: s_canonical (want, version + 1, asp_now_ms ());
    const char *z85 = rec? s_str (rec, "curve_key"): "";
    char owner [ASP_ID_MAX] = "", why [64] = "";
    bool new_key = rec && *z85 && !streq (z85, was);
    if (new_key)
        rc = s_claim_key (api, id, z85, owner);
    if (rc == 1 && new_key)
        asp_http_error (res, 409, "curve_key_taken", "that curve_key belongs to partner %s", owner);
    if (rc == 0) {
        asp_txn_outcome_t o = s_write (api, rec, "update", version, why, sizeof why);
        rc = o == ASP_TXN_OK? 0: o == ASP_TXN_STALE? 2: o == ASP_TXN_REJECT? 3: -1;
    }
    if (rc == 3 && streq (why, "partner_removed"))
        asp_http_error (res, 409, "partner_removed", "partner %s was removed: removal is final", id);
    else
    if (rc == 3)
        asp_http_error (res, 404, "not_found", "no partner %s", id);
    //  The record no longer names the old key: give it back.
    if (rc == 0 && *was && !streq (was, z85))
        s_release_key (api, id, was);
    if (rc == 0)
        *out = rec;
    else
        cJSON_Delete (rec);
    cJSON_Delete (want);
    cJSON_Delete (old);
    return rc == 3? 1: rc;
}

void
intake_partners_patch (intake_api_t *api, const intake_call_t *call, const asp_http_req_t *req,
                       asp_http_res_t *res)
{
    const char *id = call->param [0];
    if (intake_overloaded (api, res))
        return;
    cJSON *j = intake_body (req, res);
    if (!j)
        return;
    intake_err_t err;
    bool valid = cJSON_IsObject (j) || intake_fail (&err, "%s must be a JSON object", "the body");
    if (valid && cJSON_GetObjectItemCaseSensitive (j, "partner_id"))
        valid = intake_fail (&err, "%s cannot change (it names the partner)", "partner_id");
    if (valid && !j->child)
        valid = intake_fail (&err, "%s: nothing to change", "the body");
    if (valid)
        valid = intake_v_only (j, s_fields, "", &err);
    if (!valid) {
        intake_invalid (api, res, &err);
        cJSON_Delete (j);
        return;
    }
    int rc = 2;
    cJSON *rec = NULL;
    for (int i = 0; i < S_TRIES && rc == 2; i++)
        rc = s_patch_once (api, id, j, &rec, res);
    if (rc == 0)
        s_answer (res, 200, rec);
    else
    if (rc == 2)
        asp_http_error (res, 409, "partner_changed", "partner %s kept changing meanwhile: read it and retry", id);
    else
    if (rc < 0)
        intake_storage_down (res);
    cJSON_Delete (rec);
    cJSON_Delete (j);
}

//  ---------------------------------------------------------------------
//  The list: every shard's ids in order, merged, filtered

typedef struct {
    const char *status, *region, *category;
} s_filter_t;

static bool
s_has (const cJSON *rec, const char *field, const char *want)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive (rec, field);
    for (const cJSON *i = cJSON_IsArray (list)? list->child: NULL; i; i = i->next)
        if (cJSON_IsString (i) && (streq (i->valuestring, want) || streq (i->valuestring, "*")))
            return true;
    return false;
}

static bool
s_match (const cJSON *rec, const s_filter_t *f)
{
    return (!f->status || streq (s_str (rec, "status"), f->status))
        && (!f->region || s_has (rec, "regions", f->region))
        && (!f->category || s_has (rec, "categories", f->category));
}

static int
s_by_id (const void *a, const void *b)
{
    return strcmp (*(const char * const *) a, *(const char * const *) b);
}

//  The next ids after pos ("" from the start) over every shard, in order:
//  up to ASP_SHARDS * S_LIST_BATCH of them, all that come before what a
//  shard did not return yet. ids [] point into r (the caller frees r).
//  *more: the shards hold more after the last one. -1 Redis unavailable.
static int
s_next_ids (intake_api_t *api, const char *pos, redisReply **r, const char **ids, size_t *n, bool *more)
{
    char min [ASP_ID_MAX + 1], batch [16];
    snprintf (min, sizeof min, "%s%s", *pos? "(": "-", *pos? pos: "");
    snprintf (batch, sizeof batch, "%d", S_LIST_BATCH);
    const char *argv [] = { "ZRANGEBYLEX", INTAKE_KEY_PARTNERS, min, "+", "LIMIT", "0", batch };
    if (asp_rds_each_shard (api->rds, 7, argv, r))
        return -1;
    //  A shard that returned a full batch may hold more: nothing after its
    //  last id is certain yet.
    const char *bound = NULL;
    *n = 0;
    for (int s = 0; s < ASP_SHARDS; s++) {
        for (size_t i = 0; i < r [s]->elements; i++)
            ids [(*n)++] = r [s]->element [i]->str;
        const char *last = r [s]->elements == S_LIST_BATCH? r [s]->element [S_LIST_BATCH - 1]->str: NULL;
        if (last && (!bound || strcmp (last, bound) < 0))
            bound = last;
    }
    qsort (ids, *n, sizeof ids [0], s_by_id);
    *more = bound != NULL;
    while (bound && *n && strcmp (ids [*n - 1], bound) > 0)
        (*n)--;
    return 0;
}

//  Reads the records of ids [0..n) in one round trip into recs (NULL
//  where gone). -1 Redis unavailable.
static int
s_read_many (intake_api_t *api, const char **ids, size_t n, cJSON **recs)
{
    for (size_t i = 0; i < n; i++)
        recs [i] = NULL;
    if (!asp_rds_ready (api->rds))
        return -1;
    char key [ASP_KEY_MAX];
    for (size_t i = 0; i < n; i++) {
        intake_key (key, sizeof key, INTAKE_KEY_PARTNER, ids [i]);
        const char *argv [] = { "HGET", key, "record" };
        if (asp_rds_append (api->rds, 3, argv, NULL))
            return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        redisReply *r = asp_rds_reply (api->rds);
        if (!r) {
            rc = -1;
            break;
        }
        if (r->type == REDIS_REPLY_STRING)
            recs [i] = cJSON_Parse (r->str);
        freeReplyObject (r);
    }
    return rc;
}

void
intake_partners_list (intake_api_t *api, const intake_call_t *call, const asp_http_req_t *req,
                      asp_http_res_t *res)
{
    (void) call;
    static const char *allowed [] = { "status", "region", "category", "limit", "cursor", NULL };
    cJSON *q = intake_query (req, allowed, res);
    if (!q)
        return;
    s_filter_t f = { NULL, NULL, NULL };
    const char *cursor = NULL;
    int64_t limit = 20;
    intake_err_t err;
    bool valid = intake_v_str (q, "status", "status", 1, 16, &asp_vocab_partner_status, false, &f.status, &err)
              && intake_v_str (q, "region", "region", 1, 64, NULL, false, &f.region, &err)
              && intake_v_str (q, "category", "category", 1, 64, NULL, false, &f.category, &err)
              && intake_v_str (q, "cursor", "cursor", 1, ASP_ID_MAX - 1, NULL, false, &cursor, &err);
    if (!valid)
        asp_http_error (res, 400, "invalid_query", "%s", err.message);
    else
    if (cursor && !asp_id_valid (cursor, strlen (cursor)))
        asp_http_error (res, 400, "invalid_cursor", "cursor is not one this list returned; start again without it");
    if (!valid || (cursor && !asp_id_valid (cursor, strlen (cursor)))
    ||  !intake_query_int (req, "limit", 1, 100, 20, &limit, res)) {
        cJSON_Delete (q);
        return;
    }
    char pos [ASP_ID_MAX];
    snprintf (pos, sizeof pos, "%s", cursor? cursor: "");
    cJSON *out = cJSON_CreateObject ();
    cJSON *list = cJSON_AddArrayToObject (out, "partners");
    int found = 0;
    int64_t examined = 0;
    bool more = true, partial = false, failed = false;
    const char *ids [ASP_SHARDS * S_LIST_BATCH];
    cJSON *recs [ASP_SHARDS * S_LIST_BATCH];
    while (more && found < limit && !failed) {
        if (examined >= api->search_scan_max) {
            partial = true;
            break;
        }
        redisReply *r [ASP_SHARDS] = { NULL };
        size_t n = 0;
        failed = s_next_ids (api, pos, r, ids, &n, &more) || s_read_many (api, ids, n, recs);
        size_t i = 0;
        for (; i < n && !failed && found < limit; i++) {
            if (recs [i] && s_match (recs [i], &f)) {
                cJSON_AddItemToArray (list, recs [i]);
                recs [i] = NULL;
                found++;
            }
            snprintf (pos, sizeof pos, "%s", ids [i]);
            examined++;
        }
        more = more || i < n;
        for (size_t k = 0; k < n; k++)
            cJSON_Delete (recs [k]);
        for (int s = 0; s < ASP_SHARDS; s++)
            if (r [s])
                freeReplyObject (r [s]);
        if (n == 0 && !failed)
            more = false;
    }
    if (failed)
        intake_storage_down (res);
    else {
        if (more)
            cJSON_AddStringToObject (out, "next_cursor", pos);
        else
            cJSON_AddNullToObject (out, "next_cursor");
        cJSON_AddBoolToObject (out, "partial", partial);
        asp_http_json (res, 200, cJSON_PrintUnformatted (out));
    }
    cJSON_Delete (out);
    cJSON_Delete (q);
}

//  ---------------------------------------------------------------------
//  Self-test: the checks of a record, without Redis

static void
s_expect_invalid (const char *json, const char *field)
{
    cJSON *j = cJSON_Parse (json);
    intake_err_t err;
    assert (j);
    bool ok = intake_partner_valid (j, true, &err);
    if (ok || !strstr (err.message, field))
        fprintf (stderr, "intake_partners_test: %s -> %s\n", json, ok? "valid": err.message);
    assert (!ok && strstr (err.message, field));
    cJSON_Delete (j);
}

void
intake_partners_test (void)
{
    const char *good = "{\"partner_id\":\"P9\",\"name\":\"North Fix\",\"regions\":[\"north\"],"
                       "\"areas\":[\"north/d1\"],\"categories\":[\"*\"],\"kinds\":[\"repair\"],"
                       "\"capacity_cap\":5,\"express\":true,\"hours\":{\"utc_offset\":\"+08:00\","
                       "\"days\":{\"mon\":[\"08:00-12:00\",\"13:00-24:00\"],\"sun\":[]}},"
                       "\"curve_key\":\"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\","
                       "\"technicians\":[{\"id\":\"t1\",\"name\":\"Wang\",\"phone\":\"13800000000\"}],"
                       "\"contact\":{\"email\":\"ops@north.example\"}}";
    cJSON *j = cJSON_Parse (good);
    intake_err_t err;
    assert (intake_partner_valid (j, true, &err));
    cJSON *rec = s_canonical (j, 1, 1000);
    assert (streq (s_str (rec, "status"), "active") && rec->child && streq (rec->child->string, "partner_id"));
    char hex [S_KEY_HEX];
    s_key_hex (s_str (rec, "curve_key"), hex);
    assert (strlen (hex) == 64);
    //  A PATCH merge: null removes an optional field, the rest replaces.
    cJSON *patch = cJSON_Parse ("{\"hours\":null,\"status\":\"suspended\",\"capacity_cap\":2}");
    cJSON *merged = s_merge (rec, patch);
    assert (intake_partner_valid (merged, false, &err));
    assert (!cJSON_GetObjectItem (merged, "hours") && !cJSON_GetObjectItem (merged, "version"));
    assert (cJSON_GetObjectItem (merged, "capacity_cap")->valuedouble == 2);
    s_filter_t f = { "suspended", "north", "boilers" };
    assert (s_match (merged, &f));
    f.region = "south";
    assert (!s_match (merged, &f));
    cJSON_Delete (merged);
    cJSON_Delete (patch);
    cJSON_Delete (rec);
    cJSON_Delete (j);

    s_expect_invalid ("[]", "the body");
    s_expect_invalid ("{\"name\":\"x\"}", "partner_id");
    s_expect_invalid ("{\"partner_id\":\"P 1\",\"name\":\"x\",\"regions\":[\"n\"],\"categories\":[\"c\"],"
                      "\"capacity_cap\":1}", "partner_id");
    s_expect_invalid ("{\"partner_id\":\"P1\",\"name\":\"x\",\"regions\":[],\"categories\":[\"c\"],"
                      "\"capacity_cap\":1}", "regions");
    s_expect_invalid ("{\"partner_id\":\"P1\",\"name\":\"x\",\"regions\":[\"n\",\"n\"],\"categories\":[\"c\"],"
                      "\"capacity_cap\":1}", "regions");
    s_expect_invalid ("{\"partner_id\":\"P1\",\"name\":\"x\",\"regions\":[\"n\"],\"categories\":[\"c\"],"
                      "\"capacity_cap\":1001}", "capacity_cap");
    s_expect_invalid ("{\"partner_id\":\"P1\",\"name\":\"x\",\"regions\":[\"n\"],\"categories\":[\"c\"],"
                      "\"capacity_cap\":1,\"kinds\":[\"consultation\"]}", "kinds");
    s_expect_invalid ("{\"partner_id\":\"P1\",\"name\":\"x\",\"regions\":[\"n\"],\"categories\":[\"c\"],"
                      "\"capacity_cap\":1,\"areas\":[\"north\"]}", "areas");
    s_expect_invalid ("{\"partner_id\":\"P1\",\"name\":\"x\",\"regions\":[\"n\"],\"categories\":[\"c\"],"
                      "\"capacity_cap\":1,\"status\":\"removed\"}", "status");
    s_expect_invalid ("{\"partner_id\":\"P1\",\"name\":\"x\",\"regions\":[\"n\"],\"categories\":[\"c\"],"
                      "\"capacity_cap\":1,\"express\":\"yes\"}", "express");
    s_expect_invalid ("{\"partner_id\":\"P1\",\"name\":\"x\",\"regions\":[\"n\"],\"categories\":[\"c\"],"
                      "\"capacity_cap\":1,\"curve_key\":\"short\"}", "curve_key");
    //  41 characters, and one outside Z85's alphabet.
    s_expect_invalid ("{\"partner_id\":\"P1\",\"name\":\"x\",\"regions\":[\"n\"],\"categories\":[\"c\"],"
                      "\"capacity_cap\":1,\"curve_key\":\"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7a\"}", "curve_key");
    s_expect_invalid ("{\"partner_id\":\"P1\",\"name\":\"x\",\"regions\":[\"n\"],\"categories\":[\"c\"],"
                      "\"capacity_cap\":1,\"curve_key\":\"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf~\"}", "curve_key");
    s_expect_invalid ("{\"partner_id\":\"P1\",\"name\":\"x\",\"regions\":[\"n\"],\"categories\":[\"c\"],"
                      "\"capacity_cap\":1,\"hours\":{\"utc_offset\":\"+15:00\",\"days\":{}}}", "utc_offset");
    s_expect_invalid ("{\"partner_id\":\"P1\",\"name\":\"x\",\"regions\":[\"n\"],\"categories\":[\"c\"],"
                      "\"capacity_cap\":1,\"hours\":{\"utc_offset\":\"+01:00\",\"days\":{\"mon\":[\"18:00-08:00\"]}}}",
                      "hours.days.mon");
    s_expect_invalid ("{\"partner_id\":\"P1\",\"name\":\"x\",\"regions\":[\"n\"],\"categories\":[\"c\"],"
                      "\"capacity_cap\":1,\"hours\":{\"utc_offset\":\"+01:00\",\"days\":{\"xmas\":[]}}}", "xmas");
    s_expect_invalid ("{\"partner_id\":\"P1\",\"name\":\"x\",\"regions\":[\"n\"],\"categories\":[\"c\"],"
                      "\"capacity_cap\":1,\"hours\":{\"utc_offset\":\"+01:00\",\"days\":{\"mon\":[],\"mon\":[]}}}",
                      "twice");
    s_expect_invalid ("{\"partner_id\":\"P1\",\"name\":\"x\",\"regions\":[\"n\"],\"categories\":[\"c\"],"
                      "\"capacity_cap\":1,\"technicians\":[{\"id\":\"a\",\"name\":\"A\"},{\"id\":\"a\",\"name\":\"B\"}]}",
                      "technicians");
    s_expect_invalid ("{\"partner_id\":\"P1\",\"name\":\"x\",\"regions\":[\"n\"],\"categories\":[\"c\"],"
                      "\"capacity_cap\":1,\"contact\":{\"email\":\"nobody\"}}", "contact.email");
    s_expect_invalid ("{\"partner_id\":\"P1\",\"name\":\"x\",\"regions\":[\"n\"],\"categories\":[\"c\"],"
                      "\"capacity_cap\":1,\"version\":3}", "version");
}
