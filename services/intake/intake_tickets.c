/*  The ticket routes: create, read, timeline, the customer's survey.   */
#include "intake_tickets.h"
#include "asp_clocks.h"
#include "asp_json.h"
#include "asp_log.h"
#include "intake_actions.h"
#include "intake_archive.h"
#include "intake_ticket.h"
#include <assert.h>
#include <sodium.h>
#include <string.h>

typedef struct {
    const char *type, *tier, *channel, *agent, *description;
    const char *customer_id;
    const char *name, *phone, *region, *area, *address, *cclass;
    const char *serial, *model, *category;
    const char *fault;              //  the brand's fault code, or NULL
    int64_t purchase_ms;            //  product.purchase_date, or 0
    int64_t priority;
    int64_t price;                  //  the order's price, minor units, when has_price
    bool has_price;
} s_ticket_t;

//  The highest price a ticket takes, minor units (10^8 in major units:
//  beyond any appliance, far inside a double's exact integers).
#define S_PRICE_MAX 10000000000LL

//  The customer comes inline (found or created by phone), by customer_id,
//  or not at all when the unit has one on record; the product always
//  names its serial, with model and category when it may be new.
static bool
s_validate_ticket (const cJSON *j, s_ticket_t *t, intake_err_t *err)
{
    static const char *top [] = { "type", "tier", "priority", "customer", "customer_id", "product",
                                  "description", "channel", "agent", "fault", "price", NULL };
    static const char *cust [] = { "name", "phone", "region", "area", "address", "class", NULL };
    static const char *prod [] = { "serial", "model", "category", "purchase_date", NULL };
    if (!cJSON_IsObject (j))
        return intake_fail (err, "%s must be a JSON object", "the body");
    if (!intake_v_only (j, top, "", err)
    ||  !intake_v_str (j, "type", "type", 1, 32, &asp_vocab_kind, true, &t->type, err)
    ||  !intake_v_str (j, "tier", "tier", 1, 32, &asp_vocab_tier, false, &t->tier, err)
    ||  !intake_v_str (j, "channel", "channel", 1, 32, &asp_vocab_channel, false, &t->channel, err)
    ||  !intake_v_str (j, "agent", "agent", 1, 64, NULL, false, &t->agent, err)
    ||  !intake_v_str (j, "description", "description", 1, 2000, NULL, true, &t->description, err)
    ||  !intake_v_str (j, "customer_id", "customer_id", 1, ASP_ID_MAX - 1, NULL, false, &t->customer_id, err))
        return false;
    if (t->customer_id && !asp_id_valid (t->customer_id, strlen (t->customer_id)))
        return intake_fail (err, "%s must be a customer id", "customer_id");
    if (!intake_v_str (j, "fault", "fault", 1, 32, NULL, false, &t->fault, err))
        return false;
    if (t->fault && !asp_id_valid (t->fault, strlen (t->fault)))
        return intake_fail (err, "%s must be a fault code of [A-Za-z0-9._:-]", "fault");
    t->priority = 3;
    if (!intake_v_int (j, "priority", "priority", 1, 5, false, &t->priority, err)
    ||  !intake_v_int (j, "price", "price", 0, S_PRICE_MAX, false, &t->price, err))
        return false;
    const cJSON *price = cJSON_GetObjectItemCaseSensitive (j, "price");
    t->has_price = price && !cJSON_IsNull (price);
    const cJSON *c = cJSON_GetObjectItemCaseSensitive (j, "customer");
    if (c && t->customer_id)
        return intake_fail (err, "give %s or customer_id, not both", "customer");
    if (c && !cJSON_IsObject (c))
        return intake_fail (err, "%s must be an object", "customer");
    if (c && (!intake_v_only (c, cust, "customer", err)
    ||  !intake_v_str (c, "name", "customer.name", 1, 64, NULL, true, &t->name, err)
    ||  !intake_v_str (c, "phone", "customer.phone", 1, 32, NULL, true, &t->phone, err)
    ||  !intake_v_phone (t->phone, "customer.phone", err)
    ||  !intake_v_str (c, "region", "customer.region", 1, 64, NULL, true, &t->region, err)
    ||  !intake_v_str (c, "area", "customer.area", 1, 64, NULL, false, &t->area, err)
    ||  !intake_v_str (c, "address", "customer.address", 1, 256, NULL, false, &t->address, err)
    ||  !intake_v_str (c, "class", "customer.class", 1, 1, &asp_vocab_class, false, &t->cclass, err)))
        return false;
    const cJSON *pr = cJSON_GetObjectItemCaseSensitive (j, "product");
    if (!cJSON_IsObject (pr))
        return intake_fail (err, "%s is required and must be an object", "product");
    if (!intake_v_only (pr, prod, "product", err)
    ||  !intake_v_serial (pr, "serial", "product.serial", true, &t->serial, err)
    ||  !intake_v_str (pr, "model", "product.model", 1, 64, NULL, false, &t->model, err)
    ||  !intake_v_str (pr, "category", "product.category", 1, 64, NULL, false, &t->category, err)
    ||  !intake_v_date (pr, "purchase_date", "product.purchase_date", false, &t->purchase_ms, err))
        return false;
    if (!t->tier) t->tier = asp_vocab_name (&asp_vocab_tier, ASP_TIER_STANDARD);
    if (!t->channel) t->channel = asp_vocab_name (&asp_vocab_channel, ASP_CHANNEL_WEB);
    if (!t->agent) t->agent = "";
    if (c && !t->address) t->address = "";
    return true;
}

typedef struct {
    int64_t score;
    const cJSON *resolved, *on_time, *complaint;
    const char *comment;
} s_survey_t;

static bool
s_validate_survey (const cJSON *j, s_survey_t *s, intake_err_t *err)
{
    static const char *allowed [] = { "score", "resolved", "comment", "on_time", "complaint", NULL };
    s->resolved = cJSON_GetObjectItemCaseSensitive (j, "resolved");
    s->on_time = cJSON_GetObjectItemCaseSensitive (j, "on_time");
    s->complaint = cJSON_GetObjectItemCaseSensitive (j, "complaint");
    s->comment = NULL;
    bool valid = cJSON_IsObject (j) || intake_fail (err, "%s must be a JSON object", "the body");
    valid = valid && intake_v_only (j, allowed, "", err);
    valid = valid && intake_v_int (j, "score", "score", 1, 5, true, &s->score, err);
    if (valid && !cJSON_IsBool (s->resolved))
        valid = intake_fail (err, "%s is required: true or false", "resolved");
    if (valid && s->on_time && !cJSON_IsBool (s->on_time) && !cJSON_IsNull (s->on_time))
        valid = intake_fail (err, "%s must be true or false", "on_time");
    if (valid && s->complaint && !cJSON_IsBool (s->complaint))
        valid = intake_fail (err, "%s must be true or false", "complaint");
    return valid && intake_v_str (j, "comment", "comment", 0, 2000, NULL, false, &s->comment, err);
}

//  An Idempotency-Key is bound to the request's fingerprint (BLAKE2b of
//  its length-prefixed names and values), so the same key with another
//  request is refused instead of silently answering with the first ticket.
#define S_FINGERPRINT_BYTES 16

static void
s_fingerprint (const char **fields, size_t n, char *hex)
{
    crypto_generichash_state st;
    crypto_generichash_init (&st, NULL, 0, S_FINGERPRINT_BYTES);
    for (size_t i = 0; i < n; i++) {
        const char *f = fields [i]? fields [i]: "";
        uint32_t len = (uint32_t) strlen (f);
        crypto_generichash_update (&st, (const unsigned char *) &len, sizeof len);
        crypto_generichash_update (&st, (const unsigned char *) f, len);
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

//  Claims the Idempotency-Key idem for the ticket id, pre-minted in the
//  unit's shard; on a retry id becomes the ticket the key already names.
//  0, else answered: 422 (the key
//  was used for another request) or 503.
static int
s_claim (intake_api_t *api, const char *idem, const char *fingerprint, char *id, asp_http_res_t *res)
{
    asp_txn_t *txn = asp_txn_new (api->script [INTAKE_SCRIPT_IDEM], asp_shard_of (idem));
    asp_txn_key (txn, INTAKE_KEY_IDEM, idem);
    asp_txn_arg (txn, "%s", id);
    asp_txn_arg (txn, "%s", fingerprint);
    asp_txn_arg (txn, "%lld", (long long) api->idem_ttl_s);
    asp_txn_exec (api->rds, ASP_SVC_INTAKE, &txn, 1);
    int rc = -1;
    const char *earlier = asp_txn_reply_str (txn, 3);
    if (asp_txn_outcome (txn) == ASP_TXN_OK && asp_txn_reply_str (txn, 4)) {
        snprintf (id, ASP_ID_MAX, "%s", asp_txn_reply_str (txn, 4));
        rc = 0;
    }
    else
    if (asp_txn_outcome (txn) == ASP_TXN_REJECT)
        asp_http_error (res, 422, "idempotency_key_reused",
                        "Idempotency-Key %s was used for a different request (ticket %s); use a new key",
                        idem, earlier? earlier: "?");
    else
        intake_storage_down (res);
    asp_txn_destroy (&txn);
    return rc;
}

//  The ticket's customer and unit (intake_archive.h): reads first, so that
//  a refusal (422) writes nothing. 0, or answered.
static int
s_find (intake_api_t *api, const s_ticket_t *t, const char *fault_key, intake_party_t *p, asp_http_res_t *res)
{
    memset (p, 0, sizeof *p);
    p->fault_key = fault_key;
    p->customer_id = t->customer_id;
    p->name = t->name;
    p->phone = t->phone;
    p->region = t->region;
    p->address = t->address;
    p->cclass = t->cclass? t->cclass: asp_vocab_name (&asp_vocab_class, ASP_CLASS_C);
    p->serial = t->serial;
    p->model = t->model;
    p->category = t->category;
    char code [32], why [256];
    int rc = intake_archive_find (api, p, code, sizeof code, why, sizeof why);
    if (rc < 0)
        intake_storage_down (res);
    else
    if (rc > 0) {
        asp_counter_inc (api->invalid);
        asp_http_error (res, 422, code, "%s", why);
    }
    return rc;
}

//  How often a creation decides again when the unit changed under it.
#define S_DECIDE_TRIES 4

//  200 for a request that joined (and maybe reopened) ticket id.
static void
s_answer_joined (intake_api_t *api, const intake_party_t *p, const char *serial, const char *id,
                 const char *status, const char *contacts, bool reopened, asp_http_res_t *res)
{
    cJSON *out = cJSON_CreateObject ();
    cJSON_AddStringToObject (out, "id", id);
    cJSON_AddStringToObject (out, "status", status);
    cJSON_AddStringToObject (out, "customer_id", p->cid);
    cJSON_AddStringToObject (out, "serial", serial);
    char token [INTAKE_TOKEN_MAX];
    intake_auth_customer_token (api->auth, id, asp_now_ms () / 1000, token);
    cJSON_AddStringToObject (out, "customer_token", token);
    cJSON_AddBoolToObject (out, "joined", 1);
    cJSON_AddBoolToObject (out, "reopened", reopened);
    cJSON_AddNumberToObject (out, "contacts", strtod (contacts, NULL));
    asp_http_json (res, 200, cJSON_PrintUnformatted (out));
    snprintf (res->location, sizeof res->location, "/v1/tickets/%s", id);
    cJSON_Delete (out);
}

//  Puts the request (whose own id is contact) on open ticket last as a
//  repeat contact. 0 answered, 1 decide again (the ticket closed meanwhile).
static int
s_join (intake_api_t *api, const intake_call_t *call, const s_ticket_t *t, const intake_party_t *p,
        const char *contact, const char *last, const char *status, bool reopened, asp_http_res_t *res)
{
    int64_t now = asp_now_ms ();
    cJSON *data = cJSON_CreateObject ();
    cJSON_AddStringToObject (data, "contact", contact);
    cJSON_AddStringToObject (data, "channel", t->channel);
    cJSON_AddStringToObject (data, "by", call->caller.open? "": call->caller.who);
    char summary [201];
    snprintf (summary, sizeof summary, "%s", t->description);
    cJSON_AddStringToObject (data, "description", summary);
    char *entry = intake_timeline_entry ("contact.repeated", now, data);
    asp_mpmap_t *a = asp_mpmap_new ();
    asp_mpmap_str (a, "contact", contact);
    asp_mpmap_str (a, "entry", entry);
    asp_mpmap_int (a, "now", now);
    cJSON_free (entry);
    asp_txn_t *txn = asp_txn_new (api->script [INTAKE_SCRIPT_JOIN], asp_shard_of (last));
    intake_ticket_keys (txn, last);
    asp_txn_key (txn, INTAKE_KEY_CONTACTS, last);
    asp_txn_arg_map (txn, &a);
    asp_txn_exec (api->rds, ASP_SVC_INTAKE, &txn, 1);
    int rc = 0;
    if (asp_txn_outcome (txn) == ASP_TXN_OK)
        s_answer_joined (api, p, t->serial, last, reopened? asp_vocab_name (&asp_vocab_status, ASP_STATUS_RECEIVED): status,
                         asp_txn_reply_str (txn, 4)? asp_txn_reply_str (txn, 4): "1", reopened, res);
    else
    if (asp_txn_outcome (txn) == ASP_TXN_STALE)
        rc = 1;
    else
        intake_storage_down (res);
    asp_txn_destroy (&txn);
    return rc;
}

//  Reads the unit's latest ticket for fault_key into last ("" for none)
//  and its count of tickets for it. 0, or -1 after answering 503.
static int
s_unit_history (intake_api_t *api, const char *serial, const char *fault_key, char *last, int *earlier,
                asp_http_res_t *res)
{
    *last = 0;
    *earlier = 0;
    char key [ASP_KEY_MAX];
    intake_key (key, sizeof key, INTAKE_KEY_UNIT, serial);
    redisReply *r = asp_rds_cmd (api->rds, "HMGET %s fault:%s faults:%s", key, fault_key, fault_key);
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
        if (r)
            freeReplyObject (r);
        intake_storage_down (res);
        return -1;
    }
    if (r->element [0]->type == REDIS_REPLY_STRING)
        snprintf (last, ASP_ID_MAX, "%s", r->element [0]->str);
    if (r->element [1]->type == REDIS_REPLY_STRING)
        *earlier = atoi (r->element [1]->str);
    freeReplyObject (r);
    return 0;
}

//  The repeat-contact decision for request t (its own ticket id: id)
//  about the unit's latest ticket for its fault, last: when that ticket is
//  open, joins it; closed within the reopen window, reopens and joins it.
//  0 answered; 1 create a new ticket (last is what the unit must still
//  name when it is committed).
static int
s_decide (intake_api_t *api, const intake_call_t *call, const s_ticket_t *t, const intake_party_t *p,
          const char *id, const char *last, asp_http_res_t *res)
{
    //  None yet, or it is this request's own (a retry): create.
    if (!*last || strcmp (last, id) == 0)
        return 1;
    char tkey [ASP_KEY_MAX], ckey [ASP_KEY_MAX];
    intake_key (tkey, sizeof tkey, INTAKE_KEY_TICKET, last);
    intake_key (ckey, sizeof ckey, INTAKE_KEY_CONTACTS, last);
    redisReply *t_r = asp_rds_cmd (api->rds, "HMGET %s status closed_ms", tkey);
    redisReply *c_r = t_r? asp_rds_cmd (api->rds, "SISMEMBER %s %s", ckey, id): NULL;
    if (!t_r || !c_r || t_r->type != REDIS_REPLY_ARRAY || t_r->elements != 2 || c_r->type != REDIS_REPLY_INTEGER) {
        if (t_r) freeReplyObject (t_r);
        if (c_r) freeReplyObject (c_r);
        intake_storage_down (res);
        return 0;
    }
    char status [32] = "";
    if (t_r->element [0]->type == REDIS_REPLY_STRING)
        snprintf (status, sizeof status, "%s", t_r->element [0]->str);
    int64_t closed_ms = t_r->element [1]->type == REDIS_REPLY_STRING? strtoll (t_r->element [1]->str, NULL, 10): 0;
    bool joined_before = c_r->integer == 1;
    freeReplyObject (t_r);
    freeReplyObject (c_r);
    int st = asp_vocab_parse (&asp_vocab_status, status);
    if (joined_before || (st >= 0 && st != ASP_STATUS_CLOSED && st != ASP_STATUS_CANCELLED))
        return s_join (api, call, t, p, id, last, status, false, res);
    if (st == ASP_STATUS_CLOSED && asp_now_ms () - closed_ms <= api->reopen_window_ms) {
        int rc = intake_actions_reopen_for (api, &call->caller, last,
                                            "the customer reported the same fault again");
        if (rc < 0) {
            intake_storage_down (res);
            return 0;
        }
        if (rc == 0)
            return s_join (api, call, t, p, id, last, status, true, res);
    }
    return 1;
}

//  The decision with what intake_archive_find read, or (reread: the unit
//  changed meanwhile) with a fresh read of the unit's history.
static int
s_repeat (intake_api_t *api, const intake_call_t *call, const s_ticket_t *t, const intake_party_t *p,
          const char *id, const char *fault_key, bool reread, char *last, int *earlier, asp_http_res_t *res)
{
    snprintf (last, ASP_ID_MAX, "%s", p->fault_last);
    *earlier = p->fault_earlier;
    if (reread && s_unit_history (api, t->serial, fault_key, last, earlier, res))
        return 0;
    return s_decide (api, call, t, p, id, last, res);
}

//  Creates ticket id (the request t, its party p), unless the unit's
//  latest ticket for the fault is no longer expect_last. earlier: the
//  unit's tickets for the same fault before this one (the 三包 decision's
//  repair history). Answers and
//  returns 0, or returns 1 (unit_changed: decide again) without answering.
static int
s_commit (intake_api_t *api, const intake_call_t *call, const s_ticket_t *t, const intake_party_t *p,
          const char *id, const char *idem, const char *fault_key, const char *expect_last,
          int earlier, int64_t started, asp_http_res_t *res)
{
    int64_t now = asp_now_ms ();
    char priority [24];
    snprintf (priority, sizeof priority, "%lld", (long long) t->priority);
    int rc = 0;
    //  The ticket records what the request said, or what the archive
    //  holds where the request only named the customer or the unit.
    const char *name = t->name? t->name: p->c_name;
    const char *phone = t->phone? t->phone: p->c_phone;
    const char *region = t->region? t->region: p->c_region;
    const char *address = t->address? t->address: p->c_address;
    const char *cclass = t->cclass? t->cclass: *p->c_class? p->c_class: asp_vocab_name (&asp_vocab_class, ASP_CLASS_C);
    const char *model = p->unit_known? p->unit_model: t->model;
    const char *category = p->unit_known? p->unit_category: t->category;
    //  The 三包 remedy: from the unit's purchase date (the archive's, else
    //  the request's), its category and its tickets for the same fault.
    int64_t purchase_ms = p->unit_known && p->unit_purchase_ms? p->unit_purchase_ms: t->purchase_ms;
    intake_warranty_in_t win = {
        .type = (asp_kind_t) asp_vocab_parse (&asp_vocab_kind, t->type), .category = category,
        .purchase_ms = purchase_ms? purchase_ms: INTAKE_WARRANTY_UNKNOWN, .now_ms = now,
        .same_fault_repairs = earlier
    };
    intake_warranty_out_t wout;
    intake_warranty_decide (api->warranty, &win, &wout);
    const char *remedy = wout.applies? asp_vocab_name (&asp_vocab_remedy, wout.remedy): "";
    //  For routing: the customer's area (finer than the region), and the
    //  unit's installer of record, whom it prefers for a repair or a
    //  maintenance of that unit (ticket.created's area and installer).
    const char *area = t->area? t->area: "";
    const char *installer = (win.type == ASP_KIND_REPAIR || win.type == ASP_KIND_MAINTENANCE)
                            && p->unit_known? p->unit_installer: "";

    asp_msg_t *msg = asp_msg_new (ASP_EV_TICKET_CREATED, id, NULL);
    asp_mpmap_t *b = msg->body;
    asp_mpmap_str (b, "type", t->type);
    asp_mpmap_str (b, "tier", t->tier);
    asp_mpmap_int (b, "priority", t->priority);
    asp_mpmap_str (b, "category", category);
    asp_mpmap_str (b, "region", region);
    asp_mpmap_str (b, "model", model);
    asp_mpmap_str (b, "serial", t->serial);
    asp_mpmap_strn (b, "summary", t->description, strnlen (t->description, 200));
    asp_mpmap_str (b, "customer_id", p->cid);
    asp_mpmap_str (b, "customer_name", name);
    asp_mpmap_str (b, "customer_phone", phone);
    asp_mpmap_str (b, "customer_class", cclass);
    //  How the customer wants to be told (notification): the archive's.
    if (*p->c_language)
        asp_mpmap_str (b, "customer_language", p->c_language);
    if (*p->c_email)
        asp_mpmap_str (b, "customer_email", p->c_email);
    if (*p->c_channel)
        asp_mpmap_str (b, "customer_channel", p->c_channel);
    if (*p->c_tz)
        asp_mpmap_str (b, "customer_tz", p->c_tz);
    asp_mpmap_str (b, "channel", t->channel);
    asp_mpmap_str (b, "owner", s_owner (call, t));     //  who answers for it (首问负责制)
    //  The customer's own link to the ticket (read it, answer its survey),
    //  for the message that tells them it was received.
    char token [INTAKE_TOKEN_MAX];
    intake_auth_customer_token (api->auth, id, now / 1000, token);
    if (*api->customer_link) {
        char link [INTAKE_LINK_MAX + INTAKE_TOKEN_MAX + ASP_ID_MAX + 32];
        snprintf (link, sizeof link, "%s%sticket=%s&token=%s", api->customer_link,
                  strchr (api->customer_link, '?')? "&": "?", id, token);
        asp_mpmap_str (b, "customer_link", link);
    }
    if (*remedy)
        asp_mpmap_str (b, "remedy", remedy);
    if (*area)
        asp_mpmap_str (b, "area", area);
    if (*installer)
        asp_mpmap_str (b, "installer", installer);
    //  For feedback's quality facts: the unit's installation and latest
    //  repair done, so that a repair soon after either counts a
    //  first-install return or a repeat repair against whoever did it
    //  (feedback decides, without reading intake's keys).
    if (p->unit_known && p->unit_install_ms && *p->unit_installer) {
        asp_mpmap_int (b, "install_ms", p->unit_install_ms);
        asp_mpmap_str (b, "install_partner", p->unit_installer);
        if (*p->unit_installer_tech)
            asp_mpmap_str (b, "install_technician", p->unit_installer_tech);
    }
    if (p->unit_known && p->repair_ms && *p->repair_partner) {
        asp_mpmap_int (b, "prev_repair_ms", p->repair_ms);
        asp_mpmap_str (b, "prev_repair_partner", p->repair_partner);
        if (*p->repair_tech)
            asp_mpmap_str (b, "prev_repair_technician", p->repair_tech);
    }
    if (t->has_price)               //  for compensation rules (sla-timer)
        asp_mpmap_int (b, "price", t->price);
    char trace [ASP_ID_MAX];
    snprintf (trace, sizeof trace, "%s", msg->trace);

    cJSON *data = cJSON_CreateObject ();
    cJSON_AddStringToObject (data, "type", t->type);
    cJSON_AddStringToObject (data, "tier", t->tier);
    cJSON_AddStringToObject (data, "channel", t->channel);
    if (wout.applies) {
        cJSON_AddStringToObject (data, "remedy", remedy);
        cJSON_AddStringToObject (data, "remedy_reason", wout.reason);
    }
    char *entry = intake_timeline_entry (ASP_EV_TICKET_CREATED, now, data);

    char created [24], purchase [24], price [24] = "";
    if (t->has_price)
        snprintf (price, sizeof price, "%lld", (long long) t->price);
    snprintf (purchase, sizeof purchase, "%lld", (long long) t->purchase_ms);
    snprintf (created, sizeof created, "%lld", (long long) now);
    const char *fields [] = {
        "type", t->type, "tier", t->tier, "channel", t->channel, "agent", t->agent,
        "description", t->description, "customer_id", p->cid,
        "customer_name", name, "customer_phone", phone, "customer_region", region,
        "customer_address", address, "customer_class", cclass,
        "serial", t->serial, "model", model, "category", category, "priority", priority,
        "id", id, "trace", trace, "created_ms", created, "updated_ms", created, "owner", s_owner (call, t),
        //  Optional: the fields from here on are left out when empty.
        "fault", t->fault? t->fault: "", "remedy", remedy, "remedy_reason", wout.applies? wout.reason: "",
        "customer_area", area, "installer", installer, "price", price
    };
    size_t nfields = sizeof fields / sizeof fields [0];
    size_t optional = 0;            //  the first optional pair: "fault"
    while (strcmp (fields [optional], "fault"))
        optional += 2;
    size_t k = 0;                   //  compact: drop every empty optional pair
    for (size_t i = 0; i < nfields; i += 2)
        if (*fields [i + 1] || i < optional) {
            fields [k] = fields [i];
            fields [k + 1] = fields [i + 1];
            k += 2;
        }
    nfields = k;
    //  A new unit, registered with the ticket (its customer's step above
    //  already lists it).
    const char *unit [] = {
        "serial", t->serial, "model", t->model, "category", t->category, "customer", p->cid,
        "attributes", "{}", "parts", "[]", "created_ms", created, "updated_ms", created,
        "purchase_date", purchase     //  last: left out when unknown
    };
    size_t nunit = sizeof unit / sizeof unit [0] - (t->purchase_ms? 0: 2);
    asp_mpmap_t *a = asp_mpmap_new ();
    asp_mpmap_str (a, "id", id);
    asp_mpmap_str (a, "entry", entry);
    asp_mpmap_str (a, "status", asp_vocab_name (&asp_vocab_status, ASP_STATUS_RECEIVED));
    asp_mpmap_bool (a, "claimed", idem != NULL);
    asp_mpmap_int (a, "created_ms", now);
    asp_mpmap_str (a, "customer", p->cid);
    asp_mpmap_str (a, "fault_key", fault_key);
    asp_mpmap_str (a, "expect_last", expect_last);
    asp_mpmap_strv (a, "fields", fields, nfields);
    asp_mpmap_strv (a, "unit", unit, t->model && t->category? nunit: 0);
    cJSON_free (entry);
    asp_txn_t *txn = asp_txn_new (api->script [INTAKE_SCRIPT_CREATE], asp_shard_of (id));
    intake_ticket_keys (txn, id);
    asp_txn_key (txn, INTAKE_KEY_UNIT, t->serial);
    asp_txn_key (txn, INTAKE_KEY_UNIT_TICKETS, t->serial);
    asp_txn_arg_map (txn, &a);
    asp_txn_publish (txn, &msg);

    asp_txn_exec (api->rds, ASP_SVC_INTAKE, &txn, 1);
    if (asp_txn_outcome (txn) == ASP_TXN_OK) {
        bool made = strcmp (asp_txn_reply_str (txn, 2), "created") == 0;
        asp_outbox_remote_add_txn (api->outbox, txn);
        cJSON *out = cJSON_CreateObject ();
        cJSON_AddStringToObject (out, "id", id);
        cJSON_AddStringToObject (out, "status", asp_vocab_name (&asp_vocab_status, ASP_STATUS_RECEIVED));
        cJSON_AddStringToObject (out, "customer_id", p->cid);
        cJSON_AddStringToObject (out, "serial", t->serial);
        cJSON_AddStringToObject (out, "customer_token", token);
        if (made && wout.applies) {     //  a replay reads it from the ticket
            cJSON_AddStringToObject (out, "remedy", remedy);
            cJSON_AddStringToObject (out, "remedy_reason", wout.reason);
        }
        if (made) {
            cJSON_AddNumberToObject (out, "created_ms", (double) now);
            asp_counter_inc (api->created);
        }
        else
            cJSON_AddBoolToObject (out, "idempotent_replay", 1);
        asp_http_json (res, made? 201: 200, cJSON_PrintUnformatted (out));
        snprintf (res->location, sizeof res->location, "/v1/tickets/%s", id);
        cJSON_Delete (out);
        asp_histo_observe_us (api->ack_latency, asp_mono_us () - started);
    }
    else
    if (asp_txn_outcome (txn) == ASP_TXN_REJECT && strcmp (asp_txn_reason (txn), "unit_changed") == 0)
        rc = 1;
    else
    if (asp_txn_outcome (txn) == ASP_TXN_REJECT && strcmp (asp_txn_reason (txn), "unknown_unit") == 0)
        asp_http_error (res, 422, "unknown_unit", "product->serial %s is not in the archive", t->serial);
    else
    if (asp_txn_outcome (txn) == ASP_TXN_REJECT)
        asp_http_error (res, 500, "internal", "%s", asp_txn_reason (txn));
    else
        intake_storage_down (res);
    asp_txn_destroy (&txn);
    return rc;
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
    intake_party_t p;
    if (!s_validate_ticket (j, &t, &err)) {
        intake_invalid (api, res, &err);
        cJSON_Delete (j);
        return;
    }
    char fault_key [80];
    snprintf (fault_key, sizeof fault_key, "%s:%s", t.type, t.fault? t.fault: "");
    if (s_find (api, &t, fault_key, &p, res)) {
        cJSON_Delete (j);
        return;
    }
    //  What the caller asked for: the fingerprint an Idempotency-Key is
    //  bound to.
    char priority [24], price [24];
    snprintf (priority, sizeof priority, "%lld", (long long) t.priority);
    snprintf (price, sizeof price, "%lld", (long long) t.price);
    const char *asked [] = {
        "type", t.type, "tier", t.tier, "channel", t.channel, "agent", t.agent,
        "description", t.description, "customer_id", t.customer_id,
        "customer_name", t.name, "customer_phone", t.phone, "customer_region", t.region,
        "customer_address", t.address, "customer_class", t.cclass,
        "serial", t.serial, "model", t.model, "category", t.category, "priority", priority,
        "fault", t.fault,
        "customer_area", t.area, "price", price     //  only when given (keys bound before them still match)
    };
    size_t nasked = sizeof asked / sizeof asked [0] - 4;
    if (t.area) {
        asked [nasked++] = "customer_area";
        asked [nasked++] = t.area;
    }
    if (t.has_price) {
        asked [nasked++] = "price";
        asked [nasked++] = price;
    }
    char fingerprint [2 * S_FINGERPRINT_BYTES + 1];
    s_fingerprint (asked, nasked, fingerprint);
    //  The ticket lives in its unit's shard. With an Idempotency-Key its
    //  id is claimed first (in the key's shard): a retry after a crash
    //  between the steps below gets the same id and completes that ticket.
    char id [ASP_ID_MAX];
    asp_shard_id_new (id, "T", asp_shard_of (t.serial));
    if (idem && s_claim (api, idem, fingerprint, id, res)) {
        cJSON_Delete (j);
        return;
    }
    int64_t now = asp_now_ms ();
    //  The customer's step: lists the ticket there before it exists.
    if (intake_archive_attach (api, &p, id, now)) {
        intake_storage_down (res);
        cJSON_Delete (j);
        return;
    }
    //  A repeat contact joins the open ticket of the same unit and fault;
    //  the same fault back soon after closing reopens its ticket; else a
    //  new ticket. The decision is checked where it is committed (the
    //  unit's latest ticket for the fault must not have changed), so
    //  concurrent requests about one fault make one ticket.
    int rc = 1;
    for (int tries = 0; rc == 1 && tries < S_DECIDE_TRIES; tries++) {
        char last [ASP_ID_MAX];
        int earlier;
        rc = s_repeat (api, call, &t, &p, id, fault_key, tries > 0, last, &earlier, res);
        if (rc == 1)
            rc = s_commit (api, call, &t, &p, id, idem, fault_key, last, earlier, started, res);
    }
    if (rc == 1) {
        asp_http_error (res, 409, "busy", "ticket %s's unit changed while it was being created; retry", id);
        res->retry_after = 1;
    }
    cJSON_Delete (j);       //  last: t's strings point into it
}

//  The record's fields that are numbers (a hash holds only strings): the
//  counters and every time. The answer gives them as JSON numbers, as the
//  create and join answers do.
static bool
s_numeric_field (const char *k)
{
    static const char *counters [] = { "priority", "score", "gen", "repeat_repairs", "contacts", "price", "sla_level",
                                       NULL };
    for (size_t i = 0; counters [i]; i++)
        if (strcmp (k, counters [i]) == 0)
            return true;
    size_t len = strlen (k);
    return len > 3 && strcmp (k + len - 3, "_ms") == 0;
}

//  Two reads of ticket id in one round trip: first (HGETALL or EXISTS) of
//  its record, and HGETALL of its SLA clocks (sla-timer's hash, in the
//  same shard: asp_clocks.h). 0, or -1 after answering 503 (replies
//  freed).
static int
s_read_with_clocks (intake_api_t *api, const char *id, const char *first, redisReply **ticket,
                    redisReply **clocks, asp_http_res_t *res)
{
    char k1 [ASP_KEY_MAX], k2 [ASP_KEY_MAX];
    intake_key (k1, sizeof k1, INTAKE_KEY_TICKET, id);
    intake_key (k2, sizeof k2, ASP_CLOCKS_KEY, id);
    const char *a1 [] = { first, k1 }, *a2 [] = { "HGETALL", k2 };
    size_t l1 [] = { strlen (first), strlen (k1) }, l2 [] = { 7, strlen (k2) };
    *ticket = *clocks = NULL;
    if (asp_rds_ready (api->rds) && !asp_rds_append (api->rds, 2, a1, l1) && !asp_rds_append (api->rds, 2, a2, l2)) {
        *ticket = asp_rds_reply (api->rds);
        *clocks = *ticket? asp_rds_reply (api->rds): NULL;
    }
    //  The clocks' reply may be anything (asp_clocks_json copes); the
    //  ticket's must be what was asked.
    int want = strcmp (first, "EXISTS") == 0? REDIS_REPLY_INTEGER: REDIS_REPLY_ARRAY;
    if (*ticket && *clocks && (*ticket)->type == want)
        return 0;
    if (*ticket) freeReplyObject (*ticket);
    if (*clocks) freeReplyObject (*clocks);
    *ticket = *clocks = NULL;
    intake_storage_down (res);
    return -1;
}

//  The ticket's clocks for caller: staff see everything asp_clocks_json
//  shows; the customer (their ticket's token) only which promises run,
//  their state and when they are due, not the policies, the escalations
//  or what is owed internally.
static cJSON *
s_clocks_for (const intake_caller_t *caller, const redisReply *clocks)
{
    cJSON *all = asp_clocks_json (clocks, asp_now_ms ());
    if (caller->open || caller->role != INTAKE_ROLE_CUSTOMER)
        return all;
    static const char *shown [] = { "clock", "state", "due_ms", NULL };
    cJSON *c;
    cJSON_ArrayForEach (c, all) {
        cJSON *f = c->child;
        while (f) {
            cJSON *next = f->next;
            size_t i = 0;
            while (shown [i] && strcmp (shown [i], f->string))
                i++;
            if (!shown [i])
                cJSON_Delete (cJSON_DetachItemViaPointer (c, f));
            f = next;
        }
    }
    return all;
}

void
intake_tickets_get (intake_api_t *api, const intake_call_t *call, const asp_http_req_t *req,
                    asp_http_res_t *res)
{
    (void) req;
    const char *id = call->param [0];
    redisReply *r, *clocks;
    if (s_read_with_clocks (api, id, "HGETALL", &r, &clocks, res))
        return;
    if (r->elements == 0) {
        freeReplyObject (r);
        freeReplyObject (clocks);
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
        if (strcmp (k, "waiting") == 0 || strcmp (k, "sla_alert") == 0 || strcmp (k, "appointment_missed") == 0
        ||  strcmp (k, "waiting_parts") == 0)
            cJSON_AddBoolToObject (out, k, strcmp (v, "1") == 0);
        else
        if (strcmp (k, "dispatch") == 0 || strcmp (k, "appointment") == 0 || strcmp (k, "unroutable") == 0
        ||  strcmp (k, "compensation") == 0) {
            //  Views kept as JSON: routing's of the work order
            //  (intake_dispatch.h), sla-timer's compensation (intake_sla.h).
            cJSON *view = cJSON_Parse (v);
            if (view)
                cJSON_AddItemToObject (out, k, view);
        }
        else
        if (s_numeric_field (k))
            cJSON_AddNumberToObject (out, k, strtod (v, NULL));
        else
            cJSON_AddStringToObject (out, k, v);
    }
    cJSON_AddItemToObject (out, "customer", cust);
    cJSON_AddItemToObject (out, "product", prod);
    cJSON_AddItemToObject (out, "clocks", s_clocks_for (&call->caller, clocks));
    freeReplyObject (r);
    freeReplyObject (clocks);
    asp_http_json (res, 200, cJSON_PrintUnformatted (out));
    cJSON_Delete (out);
}

void
intake_tickets_clocks (intake_api_t *api, const intake_call_t *call, const asp_http_req_t *req,
                       asp_http_res_t *res)
{
    (void) req;
    const char *id = call->param [0];
    redisReply *exists, *clocks;
    if (s_read_with_clocks (api, id, "EXISTS", &exists, &clocks, res))
        return;
    if (exists->integer == 0)
        asp_http_error (res, 404, "not_found", "no ticket %s", id);
    else {
        cJSON *out = cJSON_CreateObject ();
        cJSON_AddStringToObject (out, "ticket_id", id);
        cJSON_AddItemToObject (out, "clocks", s_clocks_for (&call->caller, clocks));
        asp_http_json (res, 200, cJSON_PrintUnformatted (out));
        cJSON_Delete (out);
    }
    freeReplyObject (exists);
    freeReplyObject (clocks);
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
        intake_invalid (api, res, &err);
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
    //  A complaint about the work (feedback's quality score counts it).
    if (cJSON_IsTrue (survey.complaint))
        asp_mpmap_bool (msg->body, "complaint", true);
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
                            "\"region\":\"sh\"},\"product\":{\"serial\":\"SN-1\",\"model\":\"M\",\"category\":\"heater\"},"
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
    //  The price: an integer of minor units, 0 to 10^10, optional.
    assert (!t.has_price);
    cJSON_AddNumberToObject (j, "price", 1e10);
    assert (s_validate_ticket (j, &t, &err) && t.has_price && t.price == S_PRICE_MAX);
    const double bad_prices [] = { 1e10 + 1, -1, 12.5 };
    for (size_t i = 0; i < sizeof bad_prices / sizeof bad_prices [0]; i++) {
        cJSON_ReplaceItemInObject (j, "price", cJSON_CreateNumber (bad_prices [i]));
        assert (!s_validate_ticket (j, &t, &err) && strstr (err.message, "price must be an integer from 0 to"));
    }
    cJSON_ReplaceItemInObject (j, "price", cJSON_CreateString ("100"));
    assert (!s_validate_ticket (j, &t, &err) && strstr (err.message, "price"));
    cJSON_ReplaceItemInObject (j, "price", cJSON_CreateNull ());
    assert (s_validate_ticket (j, &t, &err) && !t.has_price);
    cJSON_DeleteItemFromObject (j, "price");
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
