/*  The archive's routes: customers, units, merge and the lookup.        */
#include "intake_archive_routes.h"
#include "asp_calendar.h"
#include "asp_json.h"
#include "asp_log.h"
#include "intake_archive.h"
#include "intake_ticket.h"
#include <assert.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

#define S_PHONES_MAX    5       //  phones per customer at creation
#define S_PARTS_MAX     200     //  parts and consumables kept per unit
#define S_ATTRS_MAX     32      //  free attributes per unit

//  ---------------------------------------------------------------------
//  Pipelines of plain commands

typedef struct {
    int argc;
    const char *argv [9];
    char key [ASP_KEY_MAX];     //  argv [1] points here when set by s_cmd
} s_cmd_t;

//  Sets cmd to verb + the key fmt of id + up to 6 more arguments
//  (NULL-terminated).
static void
s_cmd (s_cmd_t *cmd, const char *verb, const char *fmt, const char *id, ...)
{
    intake_key (cmd->key, sizeof cmd->key, fmt, id);
    cmd->argv [0] = verb;
    cmd->argv [1] = cmd->key;
    cmd->argc = 2;
    va_list ap;
    va_start (ap, id);
    const char *a;
    while (cmd->argc < 9 && (a = va_arg (ap, const char *)))
        cmd->argv [cmd->argc++] = a;
    va_end (ap);
}

//  Runs n commands in one round trip; replies [i] owned by the caller
//  (s_free). false when Redis failed (every reply NULL).
static bool
s_run (asp_rds_t *rds, s_cmd_t *cmds, size_t n, redisReply **replies)
{
    for (size_t i = 0; i < n; i++)
        replies [i] = NULL;
    if (!asp_rds_ready (rds))
        return false;
    for (size_t i = 0; i < n; i++)
        if (asp_rds_append (rds, cmds [i].argc, cmds [i].argv, NULL))
            return false;
    for (size_t i = 0; i < n; i++)
        if (!(replies [i] = asp_rds_reply (rds)) || replies [i]->type == REDIS_REPLY_ERROR) {
            for (size_t k = 0; k <= i; k++)
                if (replies [k])
                    freeReplyObject (replies [k]);
            //  Read what is left of the pipeline, so the connection stays in step.
            for (size_t k = i + 1; k < n; k++) {
                redisReply *r = asp_rds_reply (rds);
                if (!r)
                    break;
                freeReplyObject (r);
            }
            for (size_t k = 0; k < n; k++)
                replies [k] = NULL;
            return false;
        }
    return true;
}

static void
s_free (redisReply **replies, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (replies [i])
            freeReplyObject (replies [i]);
}

//  ---------------------------------------------------------------------
//  Views

//  Staff who serve customers see phones whole; ops and systems masked.
static bool
s_show_phone (const intake_call_t *call)
{
    intake_role_t r = call->caller.role;
    return call->caller.open || r == INTAKE_ROLE_AGENT || r == INTAKE_ROLE_SUPERVISOR || r == INTAKE_ROLE_ADMIN;
}

static void
s_add_date (cJSON *obj, const char *name, const char *ms)
{
    if (!ms || !*ms)
        return;
    time_t t = (time_t) (strtoll (ms, NULL, 10) / 1000);
    struct tm tm;
    gmtime_r (&t, &tm);
    char day [16];
    strftime (day, sizeof day, "%Y-%m-%d", &tm);
    cJSON_AddStringToObject (obj, name, day);
}

static void
s_add_json (cJSON *obj, const char *name, const char *text, bool array)
{
    cJSON *v = text? cJSON_Parse (text): NULL;
    if (!v)
        v = array? cJSON_CreateArray (): cJSON_CreateObject ();
    cJSON_AddItemToObject (obj, name, v);
}

//  A customer hash (HGETALL) as JSON.
static cJSON *
s_customer_view (const redisReply *h, bool show_phone)
{
    cJSON *o = cJSON_CreateObject ();
    static const char *text [] = { "id", "name", "address", "region", "class", "language", "email", "channel",
                                   "tz", "merged_into", NULL };
    for (int i = 0; text [i]; i++) {
        const char *v = intake_hash_field (h, text [i]);
        bool optional = strcmp (text [i], "email") == 0 || strcmp (text [i], "channel") == 0
                     || strcmp (text [i], "tz") == 0;
        if (v && (*v || !optional))
            cJSON_AddStringToObject (o, text [i], v);
    }
    cJSON *phones = cJSON_AddArrayToObject (o, "phones");
    const char *list = intake_hash_field (h, "phones");
    while (list && *list) {
        size_t n = strcspn (list, ",");
        char one [40], masked [40];
        snprintf (one, sizeof one, "%.*s", (int) (n < 39? n: 39), list);
        if (!show_phone)
            asp_mask_phone (one, masked, sizeof masked);
        cJSON_AddItemToArray (phones, cJSON_CreateString (show_phone? one: masked));
        list += n + (list [n] == ',');
    }
    const char *v;
    if ((v = intake_hash_field (h, "created_ms")))
        cJSON_AddNumberToObject (o, "created_ms", strtod (v, NULL));
    if ((v = intake_hash_field (h, "updated_ms")))
        cJSON_AddNumberToObject (o, "updated_ms", strtod (v, NULL));
    return o;
}

//  A unit hash (HGETALL) as JSON.
static cJSON *
s_unit_view (const redisReply *h)
{
    cJSON *o = cJSON_CreateObject ();
    static const char *text [] = { "serial", "model", "category", "purchase_channel", "installer_partner",
                                   "installer_technician", "installed_by_ticket", NULL };
    for (int i = 0; text [i]; i++) {
        const char *v = intake_hash_field (h, text [i]);
        if (v)
            cJSON_AddStringToObject (o, text [i], v);
    }
    const char *v = intake_hash_field (h, "customer");
    cJSON_AddItemToObject (o, "customer_id", v && *v? cJSON_CreateString (v): cJSON_CreateNull ());
    s_add_date (o, "purchase_date", intake_hash_field (h, "purchase_date"));
    s_add_date (o, "install_date", intake_hash_field (h, "install_date"));
    s_add_json (o, "attributes", intake_hash_field (h, "attributes"), false);
    s_add_json (o, "parts", intake_hash_field (h, "parts"), true);
    if ((v = intake_hash_field (h, "created_ms")))
        cJSON_AddNumberToObject (o, "created_ms", strtod (v, NULL));
    if ((v = intake_hash_field (h, "updated_ms")))
        cJSON_AddNumberToObject (o, "updated_ms", strtod (v, NULL));
    return o;
}

//  ---------------------------------------------------------------------
//  Validation

static bool
s_v_id (const cJSON *obj, const char *key, bool required, const char **out, intake_err_t *err)
{
    if (!intake_v_str (obj, key, key, 1, ASP_ID_MAX - 1, NULL, required, out, err))
        return false;
    if (*out && !asp_id_valid (*out, strlen (*out)))
        return intake_fail (err, "%s must be a customer id", key);
    return true;
}

//  The customer's own fields (POST: name and region required).
typedef struct s_customer_t s_customer_t;
static bool s_v_contact (const cJSON *j, bool create, s_customer_t *c, intake_err_t *err);
struct s_customer_t {
    const char *name, *region, *address, *cclass, *language, *add_phone;
    const char *email, *channel, *tz;   //  "" (PATCH) removes it
    const char *phones [S_PHONES_MAX];
    size_t nphones;
};

//  email and channel (the preferred one for notifications: sms, email or
//  webhook). A PATCH may clear either with "". Channel email needs an
//  address: in the same body, or (PATCH) already on the customer, which
//  the route checks.
static bool
s_v_contact (const cJSON *j, bool create, s_customer_t *c, intake_err_t *err)
{
    if (!intake_v_str (j, "email", "email", create? 1: 0, 254, NULL, false, &c->email, err)
    ||  !intake_v_str (j, "channel", "channel", create? 1: 0, 16, NULL, false, &c->channel, err))
        return false;
    if (c->email && *c->email && !intake_v_email (c->email, "email", err))
        return false;
    if (c->channel && *c->channel) {
        int ch = asp_vocab_parse (&asp_vocab_notify_channel, c->channel);
        if (ch != ASP_NOTIFY_SMS && ch != ASP_NOTIFY_EMAIL && ch != ASP_NOTIFY_WEBHOOK)
            return intake_fail (err, "%s must be sms, email or webhook (the customer's preferred channel)", "channel");
    }
    if (create && c->channel && strcmp (c->channel, "email") == 0 && !c->email)
        return intake_fail (err, "%s email needs the customer's email", "channel");
    //  tz: the customer's own time zone (IANA, in tzdata), for the times
    //  their notifications show.
    if (!intake_v_str (j, "tz", "tz", create? 1: 0, 63, NULL, false, &c->tz, err))
        return false;
    if (c->tz && *c->tz) {
        char why [160];
        asp_calendar_t *zone = asp_calendar_new_24x7 ("tz", c->tz, why, sizeof why);
        if (!zone)
            return intake_fail (err, "%s must be a time zone of tzdata, e.g. Asia/Shanghai", "tz");
        asp_calendar_destroy (&zone);
    }
    return true;
}

static bool
s_validate_customer (const cJSON *j, bool create, s_customer_t *c, intake_err_t *err)
{
    static const char *post [] = { "name", "phone", "phones", "region", "address", "class", "language",
                                   "email", "channel", "tz", NULL };
    static const char *patch [] = { "name", "add_phone", "region", "address", "class", "language",
                                    "email", "channel", "tz", NULL };
    memset (c, 0, sizeof *c);
    if (!cJSON_IsObject (j))
        return intake_fail (err, "%s must be a JSON object", "the body");
    if (!intake_v_only (j, create? post: patch, "", err)
    ||  !intake_v_str (j, "name", "name", 1, 64, NULL, create, &c->name, err)
    ||  !intake_v_str (j, "region", "region", 1, 64, NULL, create, &c->region, err)
    ||  !intake_v_str (j, "address", "address", 0, 256, NULL, false, &c->address, err)
    ||  !intake_v_str (j, "class", "class", 1, 1, &asp_vocab_class, false, &c->cclass, err)
    ||  !intake_v_str (j, "language", "language", 1, 8, &asp_vocab_lang, false, &c->language, err)
    ||  !s_v_contact (j, create, c, err))
        return false;
    if (!create) {
        if (!intake_v_str (j, "add_phone", "add_phone", 1, 32, NULL, false, &c->add_phone, err)
        ||  (c->add_phone && !intake_v_phone (c->add_phone, "add_phone", err)))
            return false;
        if (!c->name && !c->region && !c->address && !c->cclass && !c->language && !c->add_phone
        &&  !c->email && !c->channel && !c->tz)
            return intake_fail (err, "%s: nothing to change", "the body");
        return true;
    }
    const char *one = NULL;
    if (!intake_v_str (j, "phone", "phone", 1, 32, NULL, false, &one, err))
        return false;
    const cJSON *many = cJSON_GetObjectItemCaseSensitive (j, "phones");
    if (one && many)
        return intake_fail (err, "give %s or phones, not both", "phone");
    if (one)
        c->phones [c->nphones++] = one;
    else
    if (!cJSON_IsArray (many) || cJSON_GetArraySize (many) < 1 || cJSON_GetArraySize (many) > S_PHONES_MAX)
        return intake_fail (err, "%s is required: a phone, or phones (1 to 5)", "phone");
    else
        for (const cJSON *p = many->child; p; p = p->next) {
            if (!cJSON_IsString (p) || !asp_utf8_valid (p->valuestring, strlen (p->valuestring))
            ||  strlen (p->valuestring) > 32)
                return intake_fail (err, "%s must be strings of at most 32 bytes", "phones");
            c->phones [c->nphones++] = p->valuestring;
        }
    for (size_t i = 0; i < c->nphones; i++) {
        if (!intake_v_phone (c->phones [i], c->nphones > 1? "phones": "phone", err))
            return false;
        char di [INTAKE_DIGITS_MAX], dk [INTAKE_DIGITS_MAX];
        intake_phone_digits (c->phones [i], di, sizeof di);
        for (size_t k = 0; k < i; k++) {
            intake_phone_digits (c->phones [k], dk, sizeof dk);
            if (strcmp (di, dk) == 0)
                return intake_fail (err, "%s lists the same number twice", "phones");
        }
    }
    if (!c->cclass) c->cclass = asp_vocab_name (&asp_vocab_class, ASP_CLASS_C);
    if (!c->language) c->language = asp_vocab_name (&asp_vocab_lang, ASP_LANG_ZH_CN);
    if (!c->address) c->address = "";
    if (!c->email) c->email = "";
    if (!c->channel) c->channel = "";
    if (!c->tz) c->tz = "";
    return true;
}

//  Free attributes: a flat object of strings, numbers and booleans (null
//  removes one, in a PATCH).
static bool
s_v_attributes (const cJSON *j, bool patch, const cJSON **out, intake_err_t *err)
{
    *out = cJSON_GetObjectItemCaseSensitive (j, "attributes");
    if (!*out)
        return true;
    if (!cJSON_IsObject (*out) || cJSON_GetArraySize (*out) > S_ATTRS_MAX)
        return intake_fail (err, "%s must be an object of at most 32 members", "attributes");
    for (const cJSON *a = (*out)->child; a; a = a->next) {
        if (strlen (a->string) < 1 || strlen (a->string) > 64 || !asp_utf8_valid (a->string, strlen (a->string)))
            return intake_fail (err, "%s names must be 1 to 64 bytes of UTF-8", "attributes");
        bool ok = cJSON_IsNumber (a) || cJSON_IsBool (a) || (patch && cJSON_IsNull (a))
               || (cJSON_IsString (a) && strlen (a->valuestring) <= 256
                   && asp_utf8_valid (a->valuestring, strlen (a->valuestring)));
        if (!ok)
            return intake_fail (err, "%s values must be strings (256 bytes at most), numbers or booleans",
                                "attributes");
    }
    return true;
}

typedef struct {
    const char *serial, *model, *category, *customer_id, *purchase_channel, *partner, *technician;
    int64_t purchase_ms, install_ms;
    const cJSON *attributes;
    char *part;                 //  JSON of the part to append, or NULL (freed by caller)
} s_unit_t;

static bool
s_validate_part (const cJSON *p, s_unit_t *u, intake_err_t *err)
{
    static const char *allowed [] = { "part", "qty", "date", "ticket", NULL };
    const char *name, *ticket;
    int64_t qty = 1, date = 0;
    if (!cJSON_IsObject (p))
        return intake_fail (err, "%s must be an object", "add_part");
    if (!intake_v_only (p, allowed, "add_part", err)
    ||  !intake_v_str (p, "part", "add_part.part", 1, 64, NULL, true, &name, err)
    ||  !intake_v_int (p, "qty", "add_part.qty", 1, 1000, false, &qty, err)
    ||  !intake_v_date (p, "date", "add_part.date", false, &date, err)
    ||  !intake_v_str (p, "ticket", "add_part.ticket", 1, ASP_ID_MAX - 1, NULL, false, &ticket, err))
        return false;
    if (ticket && !asp_id_valid (ticket, strlen (ticket)))
        return intake_fail (err, "%s must be a ticket id", "add_part.ticket");
    cJSON *o = cJSON_CreateObject ();
    cJSON_AddStringToObject (o, "part", name);
    cJSON_AddNumberToObject (o, "qty", (double) qty);
    char day [16] = "";
    time_t t = (time_t) ((date? date: asp_now_ms ()) / 1000);
    struct tm tm;
    gmtime_r (&t, &tm);
    strftime (day, sizeof day, "%Y-%m-%d", &tm);
    cJSON_AddStringToObject (o, "date", day);
    if (ticket)
        cJSON_AddStringToObject (o, "ticket", ticket);
    u->part = cJSON_PrintUnformatted (o);
    cJSON_Delete (o);
    return true;
}

static bool
s_validate_unit (const cJSON *j, bool create, s_unit_t *u, intake_err_t *err)
{
    static const char *post [] = { "serial", "model", "category", "customer_id", "purchase_date",
                                   "purchase_channel", "install_date", "installer_partner",
                                   "installer_technician", "attributes", NULL };
    static const char *patch [] = { "model", "category", "customer_id", "purchase_date",
                                    "purchase_channel", "install_date", "installer_partner",
                                    "installer_technician", "attributes", "add_part", NULL };
    memset (u, 0, sizeof *u);
    if (!cJSON_IsObject (j))
        return intake_fail (err, "%s must be a JSON object", "the body");
    if (!intake_v_only (j, create? post: patch, "", err)
    ||  (create && !intake_v_serial (j, "serial", "serial", true, &u->serial, err))
    ||  !intake_v_str (j, "model", "model", 1, 64, NULL, create, &u->model, err)
    ||  !intake_v_str (j, "category", "category", 1, 64, NULL, create, &u->category, err)
    ||  !s_v_id (j, "customer_id", false, &u->customer_id, err)
    ||  !intake_v_date (j, "purchase_date", "purchase_date", false, &u->purchase_ms, err)
    ||  !intake_v_str (j, "purchase_channel", "purchase_channel", 1, 64, NULL, false, &u->purchase_channel, err)
    ||  !intake_v_date (j, "install_date", "install_date", false, &u->install_ms, err)
    ||  !intake_v_str (j, "installer_partner", "installer_partner", 1, 64, NULL, false, &u->partner, err)
    ||  !intake_v_str (j, "installer_technician", "installer_technician", 1, 64, NULL, false,
                      &u->technician, err)
    ||  !s_v_attributes (j, !create, &u->attributes, err))
        return false;
    const cJSON *part = cJSON_GetObjectItemCaseSensitive (j, "add_part");
    if (part && !s_validate_part (part, u, err))
        return false;
    if (!create && !j->child)
        return intake_fail (err, "%s: nothing to change", "the body");
    return true;
}

//  The unit's own fields as field, value pairs into f (at least 18
//  slots; num holds the numbers' text). Returns the count.
static size_t
s_unit_fields (const s_unit_t *u, const char **f, char num [2][24])
{
    size_t n = 0;
#define S_PAIR(k, v) do { if (v) { f [n++] = k; f [n++] = v; } } while (0)
    S_PAIR ("model", u->model);
    S_PAIR ("category", u->category);
    S_PAIR ("purchase_channel", u->purchase_channel);
    S_PAIR ("installer_partner", u->partner);
    S_PAIR ("installer_technician", u->technician);
    if (u->purchase_ms) {
        snprintf (num [0], 24, "%lld", (long long) u->purchase_ms);
        S_PAIR ("purchase_date", num [0]);
    }
    if (u->install_ms) {
        snprintf (num [1], 24, "%lld", (long long) u->install_ms);
        S_PAIR ("install_date", num [1]);
    }
#undef S_PAIR
    return n;
}

//  ---------------------------------------------------------------------
//  Steps

//  arc_cust.lua on cid, following merges: adds phones, units and fields.
//  0 done (final in *final), 1 no such customer, -1 Redis unavailable.
static int
s_cust_edit (intake_api_t *api, const char *cid, const char **fields, size_t nfields,
             const char **phones, size_t nphones, const char **units, size_t nunits,
             const char **tickets, size_t ntickets, char *final)
{
    snprintf (final, ASP_ID_MAX, "%s", cid);
    for (int hops = 0; hops < 8; hops++) {
        asp_mpmap_t *a = asp_mpmap_new ();
        asp_mpmap_strv (a, "fields", fields, nfields);
        asp_mpmap_strv (a, "phones", phones, nphones);
        asp_mpmap_strv (a, "units", units, nunits);
        asp_mpmap_strv (a, "tickets", tickets, ntickets);
        asp_mpmap_int (a, "now", asp_now_ms ());
        asp_txn_t *txn = asp_txn_new (api->script [INTAKE_SCRIPT_ARC_CUST], asp_shard_of (final));
        intake_archive_customer_keys (txn, final);
        asp_txn_arg_map (txn, &a);
        asp_txn_exec (api->rds, ASP_SVC_INTAKE, &txn, 1);
        asp_txn_outcome_t o = asp_txn_outcome (txn);
        bool merged = o == ASP_TXN_OK && strcmp (asp_txn_reply_str (txn, 3), "merged") == 0;
        if (merged)
            snprintf (final, ASP_ID_MAX, "%s", asp_txn_reply_str (txn, 4));
        asp_txn_destroy (&txn);
        if (o == ASP_TXN_REJECT)
            return 1;
        if (o != ASP_TXN_OK)
            return -1;
        if (!merged)
            return 0;
    }
    return -1;
}

//  arc_phone.lua for each phone: claim for cid (taking over `expect`'s
//  entries), or release. Returns 0, 1 (a phone is taken: its owner in
//  owner), -1.
static int
s_phones (intake_api_t *api, const char *cid, const char **phones, size_t n, const char **expect,
          const char *mode, char *owner)
{
    asp_txn_t *txns [S_PHONES_MAX + 1];
    assert (n <= S_PHONES_MAX + 1);
    for (size_t i = 0; i < n; i++) {
        char digits [INTAKE_DIGITS_MAX];
        intake_phone_digits (phones [i], digits, sizeof digits);
        txns [i] = asp_txn_new (api->script [INTAKE_SCRIPT_ARC_PHONE], asp_shard_of (digits));
        asp_txn_key (txns [i], INTAKE_KEY_PHONE, digits);
        asp_txn_arg (txns [i], "%s", cid);
        asp_txn_arg (txns [i], "%s", expect && expect [i]? expect [i]: "");
        asp_txn_arg (txns [i], "%s", mode);
    }
    asp_txn_exec (api->rds, ASP_SVC_INTAKE, txns, n);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (asp_txn_outcome (txns [i]) == ASP_TXN_REJECT && rc == 0) {
            snprintf (owner, ASP_ID_MAX, "%s", asp_txn_reply_str (txns [i], 3));
            rc = 1;
        }
        else
        if (asp_txn_outcome (txns [i]) != ASP_TXN_OK && asp_txn_outcome (txns [i]) != ASP_TXN_REJECT)
            rc = -1;
        asp_txn_destroy (&txns [i]);
    }
    return rc;
}

//  Who owns each phone now: owners [i] "" when free or dangling (then
//  dangling [i] names the missing customer, which the claim may replace).
//  0, 1 (phone i is taken by an existing customer: *taken = i), -1.
static int
s_phone_owners (intake_api_t *api, const char **phones, size_t n, const char *self,
                char owners [][ASP_ID_MAX], size_t *taken)
{
    s_cmd_t cmds [S_PHONES_MAX];
    redisReply *r [S_PHONES_MAX];
    for (size_t i = 0; i < n; i++) {
        char digits [INTAKE_DIGITS_MAX];
        intake_phone_digits (phones [i], digits, sizeof digits);
        s_cmd (&cmds [i], "GET", INTAKE_KEY_PHONE, digits, NULL);
    }
    if (!s_run (api->rds, cmds, n, r))
        return -1;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        snprintf (owners [i], ASP_ID_MAX, "%s", r [i]->type == REDIS_REPLY_STRING? r [i]->str: "");
        if (*owners [i] && (!self || strcmp (owners [i], self) != 0))
            s_cmd (&cmds [m++], "EXISTS", INTAKE_KEY_CUSTOMER, owners [i], NULL);
    }
    s_free (r, n);
    if (m && !s_run (api->rds, cmds, m, r))
        return -1;
    int rc = 0;
    m = 0;
    for (size_t i = 0; i < n; i++)
        if (*owners [i] && (!self || strcmp (owners [i], self) != 0) && r [m++]->integer == 1 && rc == 0) {
            *taken = i;
            rc = 1;
        }
    s_free (r, m);
    return rc;
}

//  Answers the customer cid as it is now (200), or 404.
static void
s_answer_customer (intake_api_t *api, const intake_call_t *call, const char *cid, int status,
                   asp_http_res_t *res)
{
    s_cmd_t cmds [3];
    redisReply *r [3];
    s_cmd (&cmds [0], "HGETALL", INTAKE_KEY_CUSTOMER, cid, NULL);
    s_cmd (&cmds [1], "SMEMBERS", INTAKE_KEY_CUST_UNITS, cid, NULL);
    s_cmd (&cmds [2], "ZCARD", INTAKE_KEY_CUST_TICKETS, cid, NULL);
    if (!s_run (api->rds, cmds, 3, r)) {
        intake_storage_down (res);
        return;
    }
    if (r [0]->elements == 0)
        asp_http_error (res, 404, "not_found", "no customer %s", cid);
    else
    if (intake_hash_field (r [0], "merged_into")) {
        //  A merged duplicate answers with a pointer to the survivor.
        cJSON *o = cJSON_CreateObject ();
        cJSON_AddStringToObject (o, "id", cid);
        cJSON_AddStringToObject (o, "merged_into", intake_hash_field (r [0], "merged_into"));
        asp_http_json (res, status, cJSON_PrintUnformatted (o));
        cJSON_Delete (o);
    }
    else {
        cJSON *o = s_customer_view (r [0], s_show_phone (call));
        cJSON *units = cJSON_AddArrayToObject (o, "units");
        for (size_t i = 0; i < r [1]->elements; i++)
            cJSON_AddItemToArray (units, cJSON_CreateString (r [1]->element [i]->str));
        cJSON_AddNumberToObject (o, "tickets", (double) r [2]->integer);
        asp_http_json (res, status, cJSON_PrintUnformatted (o));
        cJSON_Delete (o);
    }
    s_free (r, 3);
}

//  ---------------------------------------------------------------------
//  Customers

void
intake_customers_create (intake_api_t *api, const intake_call_t *call, const asp_http_req_t *req,
                         asp_http_res_t *res)
{
    cJSON *j = intake_body (req, res);
    if (!j)
        return;
    s_customer_t c;
    intake_err_t err;
    if (!s_validate_customer (j, true, &c, &err)) {
        intake_invalid (api, res, &err);
        cJSON_Delete (j);
        return;
    }
    //  Refuse a phone that names an existing customer before writing.
    char owners [S_PHONES_MAX][ASP_ID_MAX], owner [ASP_ID_MAX] = "";
    size_t taken = 0;
    int rc = s_phone_owners (api, c.phones, c.nphones, NULL, owners, &taken);
    if (rc == 0) {
        char digits [INTAKE_DIGITS_MAX], cid [ASP_ID_MAX], now [24];
        intake_phone_digits (c.phones [0], digits, sizeof digits);
        asp_shard_id_new (cid, "C", asp_shard_of (digits));
        //  Further phones first (index before the customer), then the
        //  customer with its first phone's index, atomically.
        const char *expect [S_PHONES_MAX];
        for (size_t i = 0; i < c.nphones; i++)
            expect [i] = owners [i];
        rc = c.nphones > 1? s_phones (api, cid, c.phones + 1, c.nphones - 1, expect + 1, "claim", owner): 0;
        char list [S_PHONES_MAX * 34] = "";
        for (size_t i = 0; i < c.nphones; i++)
            snprintf (list + strlen (list), sizeof list - strlen (list), "%s%s", i? ",": "", c.phones [i]);
        snprintf (now, sizeof now, "%lld", (long long) asp_now_ms ());
        const char *fields [] = {
            "id", cid, "name", c.name, "phones", list, "region", c.region, "address", c.address,
            "class", c.cclass, "language", c.language, "email", c.email, "channel", c.channel, "tz", c.tz,
            "created_ms", now, "updated_ms", now
        };
        if (rc == 0) {
            asp_mpmap_t *a = asp_mpmap_new ();
            asp_mpmap_str (a, "cid", cid);
            asp_mpmap_strv (a, "fields", fields, sizeof fields / sizeof fields [0]);
            asp_mpmap_bool (a, "find", false);
            asp_mpmap_str (a, "expect", owners [0]);
            asp_mpmap_str (a, "ticket", "");
            asp_mpmap_int (a, "created_ms", 0);
            asp_mpmap_str (a, "serial", "");
            asp_txn_t *txn = asp_txn_new (api->script [INTAKE_SCRIPT_ARC_CUSTOMER], asp_shard_of (digits));
            asp_txn_key (txn, INTAKE_KEY_PHONE, digits);
            intake_archive_customer_keys (txn, cid);
            asp_txn_arg_map (txn, &a);
            asp_txn_exec (api->rds, ASP_SVC_INTAKE, &txn, 1);
            if (asp_txn_outcome (txn) == ASP_TXN_REJECT) {
                snprintf (owner, sizeof owner, "%s", asp_txn_reply_str (txn, 3));
                rc = 1;
            }
            else
            if (asp_txn_outcome (txn) != ASP_TXN_OK)
                rc = -1;
            asp_txn_destroy (&txn);
        }
        //  Lost a race for a phone: give back the ones claimed.
        if (rc == 1 && c.nphones > 1) {
            char ignored [ASP_ID_MAX];
            s_phones (api, cid, c.phones + 1, c.nphones - 1, NULL, "release", ignored);
        }
        if (rc == 0)
            s_answer_customer (api, call, cid, 201, res);
        if (rc == 0)
            snprintf (res->location, sizeof res->location, "/v1/customers/%s", cid);
    }
    else
    if (rc == 1)
        snprintf (owner, sizeof owner, "%s", owners [taken]);
    if (rc == 1)
        asp_http_error (res, 409, "phone_taken", "that phone belongs to customer %s", owner);
    else
    if (rc < 0)
        intake_storage_down (res);
    cJSON_Delete (j);
}

void
intake_customers_get (intake_api_t *api, const intake_call_t *call, const asp_http_req_t *req,
                      asp_http_res_t *res)
{
    (void) req;
    s_answer_customer (api, call, call->param [0], 200, res);
}

//  True when the change would leave a customer whose preferred channel
//  is email without an address (r: HMGET id merged_into email channel).
static bool
s_email_missing (const s_customer_t *c, const redisReply *r)
{
    const redisReply *email = r->element [2], *channel = r->element [3];
    const char *will_email = c->email? c->email: email->type == REDIS_REPLY_STRING? email->str: "";
    const char *will_channel = c->channel? c->channel: channel->type == REDIS_REPLY_STRING? channel->str: "";
    return strcmp (will_channel, "email") == 0 && !*will_email;
}

void
intake_customers_patch (intake_api_t *api, const intake_call_t *call, const asp_http_req_t *req,
                        asp_http_res_t *res)
{
    const char *cid = call->param [0];
    cJSON *j = intake_body (req, res);
    if (!j)
        return;
    s_customer_t c;
    intake_err_t err;
    if (!s_validate_customer (j, false, &c, &err)) {
        intake_invalid (api, res, &err);
        cJSON_Delete (j);
        return;
    }
    //  Exists, not merged, and the phone to add is free: read first.
    s_cmd_t cmd;
    redisReply *r;
    s_cmd (&cmd, "HMGET", INTAKE_KEY_CUSTOMER, cid, "id", "merged_into", "email", "channel", NULL);
    int rc = s_run (api->rds, &cmd, 1, &r)? 0: -1;
    char owners [1][ASP_ID_MAX] = { "" }, owner [ASP_ID_MAX] = "", final [ASP_ID_MAX];
    size_t taken;
    if (rc == 0 && r->element [0]->type != REDIS_REPLY_STRING)
        asp_http_error (res, 404, "not_found", "no customer %s", cid);
    else
    if (rc == 0 && r->element [1]->type == REDIS_REPLY_STRING)
        asp_http_error (res, 409, "customer_merged", "customer %s was merged into %s: change that one",
                        cid, r->element [1]->str);
    else
    if (rc == 0 && s_email_missing (&c, r)) {
        asp_counter_inc (api->invalid);
        asp_http_error (res, 400, "invalid_field", "channel email needs the customer's email: give email too");
    }
    else
    if (rc == 0) {
        if (c.add_phone)
            rc = s_phone_owners (api, &c.add_phone, 1, cid, owners, &taken);
        const char *expect [1] = { owners [0] };
        if (rc == 0 && c.add_phone)
            rc = s_phones (api, cid, &c.add_phone, 1, expect, "claim", owner);
        else
        if (rc == 1)
            snprintf (owner, sizeof owner, "%s", owners [0]);
        const char *fields [16];
        size_t n = 0;
#define S_PAIR(k, v) do { if (v) { fields [n++] = k; fields [n++] = v; } } while (0)
        S_PAIR ("name", c.name);
        S_PAIR ("region", c.region);
        S_PAIR ("address", c.address);
        S_PAIR ("class", c.cclass);
        S_PAIR ("language", c.language);
        S_PAIR ("email", c.email);
        S_PAIR ("channel", c.channel);
        S_PAIR ("tz", c.tz);
#undef S_PAIR
        if (rc == 0)
            rc = s_cust_edit (api, cid, fields, n, &c.add_phone, c.add_phone? 1: 0, NULL, 0, NULL, 0, final) == 0?
                 0: -1;
        if (rc == 0)
            s_answer_customer (api, call, final, 200, res);
        else
        if (rc == 1)
            asp_http_error (res, 409, "phone_taken", "that phone belongs to customer %s", owner);
        else
            intake_storage_down (res);
    }
    else
        intake_storage_down (res);
    if (r)
        freeReplyObject (r);
    cJSON_Delete (j);
}

//  Steps 2 and 3 of a merge, after the duplicate from was marked (m: the
//  mark's reply): the survivor to takes the phones, units and tickets;
//  then each phone's index and each unit's owner move to it, where they
//  still point at the duplicate. 0, or -1 (Redis: the same merge again
//  completes it).
static int
s_merge_move (intake_api_t *api, const char *from, const char *to, const redisReply *m)
{
    const char *plist = m->element [3]->str;
    const redisReply *units = m->element [4], *tickets = m->element [5];
    size_t np = 0, nu = units->elements, nt = tickets->elements;
    char *pcopy = strdup (plist);
    const char **phones = (const char **) calloc (strlen (plist) / 2 + 2, sizeof (char *));
    const char **ulist = (const char **) calloc (nu + 1, sizeof (char *));
    const char **tlist = (const char **) calloc (nt + 1, sizeof (char *));
    assert (pcopy && phones && ulist && tlist);
    for (char *save = NULL, *p = strtok_r (pcopy, ",", &save); p; p = strtok_r (NULL, ",", &save))
        phones [np++] = p;
    for (size_t i = 0; i < nu; i++)
        ulist [i] = units->element [i]->str;
    for (size_t i = 0; i + 1 < nt; i += 2) {
        tlist [i] = tickets->element [i + 1]->str;      //  score, then id
        tlist [i + 1] = tickets->element [i]->str;
    }
    char final [ASP_ID_MAX];
    int rc = s_cust_edit (api, to, NULL, 0, phones, np, ulist, nu, tlist, nt, final) == 0? 0: -1;
    size_t nsteps = np + nu;
    asp_txn_t **steps = (asp_txn_t **) calloc (nsteps + 1, sizeof (asp_txn_t *));
    assert (steps);
    int64_t now = asp_now_ms ();
    for (size_t i = 0; rc == 0 && i < np; i++) {
        char digits [INTAKE_DIGITS_MAX];
        intake_phone_digits (phones [i], digits, sizeof digits);
        steps [i] = asp_txn_new (api->script [INTAKE_SCRIPT_ARC_PHONE], asp_shard_of (digits));
        asp_txn_key (steps [i], INTAKE_KEY_PHONE, digits);
        asp_txn_arg (steps [i], "%s", to);
        asp_txn_arg (steps [i], "%s", from);
        asp_txn_arg (steps [i], "claim");
    }
    for (size_t i = 0; rc == 0 && i < nu; i++) {
        asp_mpmap_t *a = asp_mpmap_new ();
        asp_mpmap_str (a, "mode", "owner");
        asp_mpmap_str (a, "from", from);
        asp_mpmap_str (a, "to", to);
        asp_mpmap_int (a, "now", now);
        asp_txn_t *t = steps [np + i] = asp_txn_new (api->script [INTAKE_SCRIPT_ARC_UNIT], asp_shard_of (ulist [i]));
        asp_txn_key (t, INTAKE_KEY_UNIT, ulist [i]);
        asp_txn_arg_map (t, &a);
    }
    if (rc == 0 && nsteps && asp_txn_exec (api->rds, ASP_SVC_INTAKE, steps, nsteps))
        rc = -1;
    for (size_t i = 0; i < nsteps; i++) {
        //  A phone that moved on meanwhile, or a unit that was never
        //  there, stays as it is: nothing to fix.
        if (steps [i] && !asp_txn_known (steps [i]))
            rc = -1;
        asp_txn_destroy (&steps [i]);
    }
    if (rc == 0)
        asp_log_info ("customer %s merged into %s (%zu phones, %zu units, %zu tickets)", from, to, np, nu, nt / 2);
    free (steps);
    free (pcopy);
    free (phones);
    free (ulist);
    free (tlist);
    return rc;
}

void
intake_customers_merge (intake_api_t *api, const intake_call_t *call, const asp_http_req_t *req,
                        asp_http_res_t *res)
{
    const char *to = call->param [0];
    cJSON *j = intake_body (req, res);
    if (!j)
        return;
    static const char *allowed [] = { "from", NULL };
    const char *from = NULL;
    intake_err_t err;
    bool valid = (cJSON_IsObject (j) || intake_fail (&err, "%s must be a JSON object", "the body"))
              && intake_v_only (j, allowed, "", &err) && s_v_id (j, "from", true, &from, &err);
    if (valid && strcmp (from, to) == 0)
        valid = intake_fail (&err, "%s must name another customer", "from");
    if (!valid) {
        intake_invalid (api, res, &err);
        cJSON_Delete (j);
        return;
    }
    s_cmd_t cmds [2];
    redisReply *r [2];
    s_cmd (&cmds [0], "HMGET", INTAKE_KEY_CUSTOMER, to, "id", "merged_into", NULL);
    s_cmd (&cmds [1], "HMGET", INTAKE_KEY_CUSTOMER, from, "id", "merged_into", NULL);
    if (!s_run (api->rds, cmds, 2, r)) {
        intake_storage_down (res);
        cJSON_Delete (j);
        return;
    }
    bool to_ok = r [0]->element [0]->type == REDIS_REPLY_STRING;
    bool from_ok = r [1]->element [0]->type == REDIS_REPLY_STRING;
    const char *to_into = r [0]->element [1]->type == REDIS_REPLY_STRING? r [0]->element [1]->str: NULL;
    const char *from_into = r [1]->element [1]->type == REDIS_REPLY_STRING? r [1]->element [1]->str: NULL;
    if (!to_ok || !from_ok)
        asp_http_error (res, 404, "not_found", "no customer %s", to_ok? from: to);
    else
    if (to_into)
        asp_http_error (res, 409, "already_merged", "customer %s was merged into %s", to, to_into);
    else
    if (from_into && strcmp (from_into, to) != 0)
        asp_http_error (res, 409, "already_merged", "customer %s was merged into %s", from, from_into);
    else {
        //  1. Mark the duplicate (readers follow it from now on) and learn
        //  what moves.
        asp_txn_t *mark = asp_txn_new (api->script [INTAKE_SCRIPT_ARC_MERGE], asp_shard_of (from));
        intake_archive_customer_keys (mark, from);
        asp_txn_arg (mark, "%s", to);
        asp_txn_arg (mark, "%lld", (long long) asp_now_ms ());
        asp_txn_exec (api->rds, ASP_SVC_INTAKE, &mark, 1);
        const redisReply *m = asp_txn_reply (mark);
        if (asp_txn_outcome (mark) == ASP_TXN_STALE)
            asp_http_error (res, 409, "already_merged", "customer %s was merged into %s", from,
                            asp_txn_reply_str (mark, 3));
        else
        if (asp_txn_outcome (mark) != ASP_TXN_OK || m->elements < 6)
            intake_storage_down (res);
        else
        if (s_merge_move (api, from, to, m) == 0)
            s_answer_customer (api, call, to, 200, res);
        else
            intake_storage_down (res);
        asp_txn_destroy (&mark);
    }
    s_free (r, 2);
    cJSON_Delete (j);
}

//  ---------------------------------------------------------------------
//  Units

static void
s_answer_unit (intake_api_t *api, const char *serial, int status, asp_http_res_t *res)
{
    s_cmd_t cmds [2];
    redisReply *r [2];
    char last [16];
    snprintf (last, sizeof last, "%d", INTAKE_LOOKUP_MAX - 1);
    s_cmd (&cmds [0], "HGETALL", INTAKE_KEY_UNIT, serial, NULL);
    s_cmd (&cmds [1], "ZREVRANGE", INTAKE_KEY_UNIT_TICKETS, serial, "0", last, NULL);
    if (!s_run (api->rds, cmds, 2, r)) {
        intake_storage_down (res);
        return;
    }
    if (r [0]->elements == 0)
        asp_http_error (res, 404, "not_found", "no unit %s", serial);
    else {
        cJSON *o = s_unit_view (r [0]);
        cJSON *t = cJSON_AddArrayToObject (o, "tickets");
        for (size_t i = 0; i < r [1]->elements; i++)
            cJSON_AddItemToArray (t, cJSON_CreateString (r [1]->element [i]->str));
        asp_http_json (res, status, cJSON_PrintUnformatted (o));
        cJSON_Delete (o);
    }
    s_free (r, 2);
}

//  arc_unit.lua in its mode with the unit's fields; the reply's reason
//  into why. Returns the outcome.
static asp_txn_outcome_t
s_unit_step (intake_api_t *api, const char *serial, const char *mode, const s_unit_t *u,
             const char **extra, size_t nextra, char *why, size_t whylen)
{
    const char *f [32];
    char num [2][24];
    size_t n = s_unit_fields (u, f, num);
    for (size_t i = 0; i < nextra; i++)
        f [n++] = extra [i];
    char *attrs = u->attributes? cJSON_PrintUnformatted (u->attributes): NULL;
    asp_mpmap_t *a = asp_mpmap_new ();
    asp_mpmap_str (a, "mode", mode);
    asp_mpmap_strv (a, "fields", f, n);
    asp_mpmap_str (a, "attributes", attrs? attrs: "");
    asp_mpmap_str (a, "part", u->part? u->part: "");
    asp_mpmap_int (a, "parts_max", S_PARTS_MAX);
    asp_mpmap_int (a, "now", asp_now_ms ());
    cJSON_free (attrs);
    asp_txn_t *txn = asp_txn_new (api->script [INTAKE_SCRIPT_ARC_UNIT], asp_shard_of (serial));
    asp_txn_key (txn, INTAKE_KEY_UNIT, serial);
    asp_txn_arg_map (txn, &a);
    asp_txn_exec (api->rds, ASP_SVC_INTAKE, &txn, 1);
    asp_txn_outcome_t o = asp_txn_outcome (txn);
    snprintf (why, whylen, "%s", asp_txn_reason (txn));
    asp_txn_destroy (&txn);
    return o;
}

//  The unit exists (*exists) and the customer, when named, exists and is
//  not merged (else answered 422). 0, or answered.
static int
s_unit_checks (intake_api_t *api, const char *serial, const char *cid, bool *exists, asp_http_res_t *res)
{
    s_cmd_t cmds [2];
    redisReply *r [2];
    s_cmd (&cmds [0], "EXISTS", INTAKE_KEY_UNIT, serial, NULL);
    if (cid)
        s_cmd (&cmds [1], "HMGET", INTAKE_KEY_CUSTOMER, cid, "id", "merged_into", NULL);
    size_t n = cid? 2: 1;
    if (!s_run (api->rds, cmds, n, r)) {
        intake_storage_down (res);
        return -1;
    }
    *exists = r [0]->integer == 1;
    int rc = 0;
    if (cid && r [1]->element [0]->type != REDIS_REPLY_STRING) {
        asp_counter_inc (api->invalid);
        asp_http_error (res, 422, "unknown_customer", "no customer %s", cid);
        rc = -1;
    }
    else
    if (cid && r [1]->element [1]->type == REDIS_REPLY_STRING) {
        asp_http_error (res, 422, "unknown_customer", "customer %s was merged into %s", cid,
                        r [1]->element [1]->str);
        rc = -1;
    }
    s_free (r, n);
    return rc;
}

//  The request's body as a valid unit change (create: a new unit), or NULL
//  when answered (415, 400).
static cJSON *
s_unit_body (intake_api_t *api, const asp_http_req_t *req, asp_http_res_t *res, bool create, s_unit_t *u)
{
    cJSON *j = intake_body (req, res);
    intake_err_t err;
    if (j && !s_validate_unit (j, create, u, &err)) {
        intake_invalid (api, res, &err);
        cJSON_free (u->part);
        cJSON_Delete (j);
        j = NULL;
    }
    return j;
}

void
intake_units_create (intake_api_t *api, const intake_call_t *call, const asp_http_req_t *req,
                     asp_http_res_t *res)
{
    (void) call;
    s_unit_t u;
    bool exists = false;
    cJSON *j = s_unit_body (api, req, res, true, &u);
    if (!j)
        return;
    if (s_unit_checks (api, u.serial, u.customer_id, &exists, res) == 0) {
        char final [ASP_ID_MAX] = "", why [64], now [24];
        int rc = 0;
        if (exists)
            rc = 1;
        else
        if (u.customer_id)      //  the customer lists it first
            rc = s_cust_edit (api, u.customer_id, NULL, 0, NULL, 0, &u.serial, 1, NULL, 0, final) == 0? 0: -1;
        snprintf (now, sizeof now, "%lld", (long long) asp_now_ms ());
        const char *extra [] = { "serial", u.serial, "created_ms", now, "parts", "[]", "attributes", "{}",
                                 "customer", final };
        if (rc == 0) {
            asp_txn_outcome_t o = s_unit_step (api, u.serial, "create", &u, extra,
                                               *final? 10: 8, why, sizeof why);
            rc = o == ASP_TXN_OK? 0: o == ASP_TXN_REJECT? 1: -1;
        }
        if (rc == 0) {
            s_answer_unit (api, u.serial, 201, res);
            snprintf (res->location, sizeof res->location, "/v1/units/%s", u.serial);
        }
        else
        if (rc == 1)
            asp_http_error (res, 409, "unit_exists", "unit %s is already in the archive", u.serial);
        else
            intake_storage_down (res);
    }
    cJSON_free (u.part);
    cJSON_Delete (j);
}

void
intake_units_get (intake_api_t *api, const intake_call_t *call, const asp_http_req_t *req,
                  asp_http_res_t *res)
{
    (void) req;
    if (!intake_serial_valid (call->param [0]))
        asp_http_error (res, 404, "not_found", "no unit %s", call->param [0]);
    else
        s_answer_unit (api, call->param [0], 200, res);
}

void
intake_units_patch (intake_api_t *api, const intake_call_t *call, const asp_http_req_t *req,
                    asp_http_res_t *res)
{
    const char *serial = call->param [0];
    s_unit_t u;
    bool exists = false;
    cJSON *j = s_unit_body (api, req, res, false, &u);
    if (!j)
        return;
    if (!intake_serial_valid (serial))
        asp_http_error (res, 404, "not_found", "no unit %s", serial);
    else
    if (s_unit_checks (api, serial, u.customer_id, &exists, res) == 0) {
        char final [ASP_ID_MAX] = "", why [64];
        int rc = exists? 0: 1;
        if (rc == 0 && u.customer_id)   //  the new owner lists it first
            rc = s_cust_edit (api, u.customer_id, NULL, 0, NULL, 0, &serial, 1, NULL, 0, final) == 0? 0: -1;
        const char *extra [] = { "customer", final };
        asp_txn_outcome_t o = ASP_TXN_NEW;
        if (rc == 0) {
            o = s_unit_step (api, serial, "patch", &u, extra, *final? 2: 0, why, sizeof why);
            rc = o == ASP_TXN_OK? 0: o == ASP_TXN_REJECT? 1: -1;
        }
        if (rc == 0)
            s_answer_unit (api, serial, 200, res);
        else
        if (rc == 1 && strcmp (why, "too_many_parts") == 0)
            asp_http_error (res, 422, "too_many_parts", "unit %s already lists %d parts", serial, S_PARTS_MAX);
        else
        if (rc == 1)
            asp_http_error (res, 404, "not_found", "no unit %s", serial);
        else
            intake_storage_down (res);
    }
    cJSON_free (u.part);
    cJSON_Delete (j);
}

//  ---------------------------------------------------------------------
//  Lookup: the agent's first screen

//  Adds the tickets (ids in r, newest first) that are not in seen yet.
static size_t
s_collect (const redisReply *r, const char **ids, size_t n, size_t max)
{
    for (size_t i = 0; r && i < r->elements && n < max; i++) {
        bool dup = false;
        for (size_t k = 0; k < n && !dup; k++)
            dup = strcmp (ids [k], r->element [i]->str) == 0;
        if (!dup)
            ids [n++] = r->element [i]->str;
    }
    return n;
}

static int
s_by_created (const void *a, const void *b)
{
    double x = cJSON_GetObjectItem (*(cJSON * const *) a, "created_ms")->valuedouble;
    double y = cJSON_GetObjectItem (*(cJSON * const *) b, "created_ms")->valuedouble;
    return x < y? 1: x > y? -1: 0;
}

void
intake_lookup (intake_api_t *api, const intake_call_t *call, const asp_http_req_t *req,
               asp_http_res_t *res)
{
    const char *phone = asp_http_query (req, "phone");
    const char *serial = asp_http_query (req, "serial");
    intake_err_t err;
    if ((phone != NULL) == (serial != NULL)) {
        asp_http_error (res, 400, "invalid_query", "give one of phone or serial");
        return;
    }
    if (phone && !intake_v_phone (phone, "phone", &err)) {
        asp_http_error (res, 400, "invalid_query", "%s", err.message);
        return;
    }
    if (serial && !intake_serial_valid (serial)) {
        asp_http_error (res, 400, "invalid_query", "serial must be 4 to 40 characters of A-Z a-z 0-9 . _ : -");
        return;
    }
    char last [16], digits [INTAKE_DIGITS_MAX], cid [ASP_ID_MAX] = "";
    snprintf (last, sizeof last, "%d", INTAKE_LOOKUP_MAX - 1);
    //  Round trip 1: the entry point (the phone's index, or the unit).
    s_cmd_t first [2];
    redisReply *r1 [2] = { NULL, NULL };
    size_t n1 = 1;
    if (phone) {
        intake_phone_digits (phone, digits, sizeof digits);
        s_cmd (&first [0], "GET", INTAKE_KEY_PHONE, digits, NULL);
    }
    else {
        s_cmd (&first [0], "HGET", INTAKE_KEY_UNIT, serial, "customer", NULL);
        s_cmd (&first [1], "ZREVRANGE", INTAKE_KEY_UNIT_TICKETS, serial, "0", last, NULL);
        n1 = 2;
    }
    if (!s_run (api->rds, first, n1, r1)) {
        intake_storage_down (res);
        return;
    }
    if (r1 [0]->type == REDIS_REPLY_STRING)
        snprintf (cid, sizeof cid, "%s", r1 [0]->str);
    if (phone && !*cid) {
        asp_http_error (res, 404, "not_found", "no customer with that phone");
        s_free (r1, n1);
        return;
    }
    //  Round trip 2 (and one more per merge followed): the customer, their
    //  units and tickets; the unit itself for a serial lookup.
    redisReply *r2 [4] = { NULL };
    s_cmd_t second [4];
    for (int hops = 0; ; hops++) {
        size_t n2 = 0;
        if (*cid) {
            s_cmd (&second [n2++], "HGETALL", INTAKE_KEY_CUSTOMER, cid, NULL);
            s_cmd (&second [n2++], "SMEMBERS", INTAKE_KEY_CUST_UNITS, cid, NULL);
            s_cmd (&second [n2++], "ZREVRANGE", INTAKE_KEY_CUST_TICKETS, cid, "0", last, NULL);
        }
        if (serial)
            s_cmd (&second [n2++], "HGETALL", INTAKE_KEY_UNIT, serial, NULL);
        if (!s_run (api->rds, second, n2, r2)) {
            intake_storage_down (res);
            s_free (r1, n1);
            return;
        }
        const char *into = *cid? intake_hash_field (r2 [0], "merged_into"): NULL;
        if (!into || hops == 4)
            break;
        snprintf (cid, sizeof cid, "%s", into);
        s_free (r2, n2);
    }
    const redisReply *ch = *cid? r2 [0]: NULL;
    const redisReply *uh = serial? r2 [*cid? 3: 0]: NULL;
    if (serial && uh->elements == 0) {
        asp_http_error (res, 404, "not_found", "no unit %s", serial);
        s_free (r1, n1);
        s_free (r2, 4);
        return;
    }
    if (ch && ch->elements == 0)
        ch = NULL;              //  a reference that does not resolve
    if (phone && !ch) {
        asp_http_error (res, 404, "not_found", "no customer with that phone");
        s_free (r1, n1);
        s_free (r2, 4);
        return;
    }
    //  Round trip 3: every unit and ticket listed (those that do not
    //  resolve, or whose unit now belongs to someone else, are skipped).
    const char *serials [INTAKE_LOOKUP_MAX], *tickets [2 * INTAKE_LOOKUP_MAX];
    size_t nu = 0, nt = 0;
    if (ch)
        for (size_t i = 0; i < r2 [1]->elements && nu < INTAKE_LOOKUP_MAX; i++)
            if (!serial || strcmp (r2 [1]->element [i]->str, serial) != 0)
                serials [nu++] = r2 [1]->element [i]->str;
    if (ch)
        nt = s_collect (r2 [2], tickets, nt, 2 * INTAKE_LOOKUP_MAX);
    if (serial)
        nt = s_collect (r1 [1], tickets, nt, 2 * INTAKE_LOOKUP_MAX);
    size_t n3 = nu + nt;
    s_cmd_t *third = (s_cmd_t *) calloc (n3 + 1, sizeof (s_cmd_t));
    redisReply **r3 = (redisReply **) calloc (n3 + 1, sizeof (redisReply *));
    assert (third && r3);
    for (size_t i = 0; i < nu; i++)
        s_cmd (&third [i], "HGETALL", INTAKE_KEY_UNIT, serials [i], NULL);
    for (size_t i = 0; i < nt; i++)
        s_cmd (&third [nu + i], "HMGET", INTAKE_KEY_TICKET, tickets [i], "type", "status", "created_ms",
               "serial", "description", "customer_id", NULL);
    if (n3 && !s_run (api->rds, third, n3, r3))
        intake_storage_down (res);
    else {
        cJSON *out = cJSON_CreateObject ();
        cJSON_AddItemToObject (out, "customer", ch? s_customer_view (ch, s_show_phone (call)): cJSON_CreateNull ());
        cJSON *units = cJSON_AddArrayToObject (out, "units");
        if (uh)
            cJSON_AddItemToArray (units, s_unit_view (uh));
        for (size_t i = 0; i < nu; i++) {
            const char *owner = intake_hash_field (r3 [i], "customer");
            if (r3 [i]->elements && owner && strcmp (owner, cid) == 0)
                cJSON_AddItemToArray (units, s_unit_view (r3 [i]));
        }
        cJSON **list = (cJSON **) calloc (nt + 1, sizeof (cJSON *));
        assert (list);
        size_t nl = 0, open = 0;
        for (size_t i = 0; i < nt; i++) {
            redisReply *t = r3 [nu + i];
            if (t->element [0]->type != REDIS_REPLY_STRING)
                continue;       //  listed before it was made, or never made
            cJSON *o = cJSON_CreateObject ();
            cJSON_AddStringToObject (o, "id", tickets [i]);
            cJSON_AddStringToObject (o, "type", t->element [0]->str);
            const char *status = t->element [1]->type == REDIS_REPLY_STRING? t->element [1]->str: "";
            cJSON_AddStringToObject (o, "status", status);
            cJSON_AddNumberToObject (o, "created_ms", t->element [2]->type == REDIS_REPLY_STRING?
                                     strtod (t->element [2]->str, NULL): 0);
            if (t->element [3]->type == REDIS_REPLY_STRING)
                cJSON_AddStringToObject (o, "serial", t->element [3]->str);
            if (t->element [4]->type == REDIS_REPLY_STRING)
                cJSON_AddStringToObject (o, "summary", t->element [4]->str);
            bool closed = strcmp (status, "closed") == 0 || strcmp (status, "cancelled") == 0;
            cJSON_AddBoolToObject (o, "open", !closed);
            open += !closed;
            list [nl++] = o;
        }
        qsort (list, nl, sizeof (cJSON *), s_by_created);
        cJSON *arr = cJSON_AddArrayToObject (out, "tickets");
        for (size_t i = 0; i < nl; i++)
            cJSON_AddItemToArray (arr, list [i]);
        cJSON_AddNumberToObject (out, "open_tickets", (double) open);
        free (list);
        asp_http_json (res, 200, cJSON_PrintUnformatted (out));
        cJSON_Delete (out);
    }
    s_free (r3, n3);
    free (r3);
    free (third);
    s_free (r1, n1);
    s_free (r2, 4);
}

void
intake_archive_routes_test (void)
{
    intake_err_t err;
    s_customer_t c;
    cJSON *j = cJSON_Parse ("{\"name\":\"Li\",\"phones\":[\"138 1234 5678\",\"+86 13812345678\"],\"region\":\"n\"}");
    assert (s_validate_customer (j, true, &c, &err) && c.nphones == 2);
    cJSON_ReplaceItemInObject (j, "phones", cJSON_Parse ("[\"138 1234 5678\",\"13812345678\"]"));
    assert (!s_validate_customer (j, true, &c, &err) && strstr (err.message, "twice"));
    cJSON_Delete (j);
    //  email and channel: strict, with the reason.
    static const struct { const char *body; bool create; const char *why; } contacts [] = {
        { "{\"name\":\"Li\",\"phone\":\"13812345678\",\"region\":\"n\",\"email\":\"li@example.com\",\"channel\":\"email\"}", true, NULL },
        { "{\"name\":\"Li\",\"phone\":\"13812345678\",\"region\":\"n\",\"channel\":\"sms\"}", true, NULL },
        { "{\"name\":\"Li\",\"phone\":\"13812345678\",\"region\":\"n\",\"channel\":\"email\"}", true, "needs the customer's email" },
        { "{\"name\":\"Li\",\"phone\":\"13812345678\",\"region\":\"n\",\"channel\":\"file\"}", true, "sms, email or webhook" },
        { "{\"name\":\"Li\",\"phone\":\"13812345678\",\"region\":\"n\",\"channel\":\"\"}", true, "channel" },
        { "{\"name\":\"Li\",\"phone\":\"13812345678\",\"region\":\"n\",\"email\":\"li@example\"}", true, "domain must have a dot" },
        { "{\"name\":\"Li\",\"phone\":\"13812345678\",\"region\":\"n\",\"email\":7}", true, "email" },
        { "{\"email\":\"\",\"channel\":\"\"}", false, NULL },
        { "{\"channel\":\"pigeon\"}", false, "sms, email or webhook" },
        { "{\"tz\":\"Europe/Berlin\"}", false, NULL },
        { "{\"tz\":\"Mars/Olympus\"}", false, "tz must be a time zone" },
        { "{\"tz\":\"../etc/passwd\"}", false, "tz must be a time zone" },
        { NULL, false, NULL }
    };
    for (int i = 0; contacts [i].body; i++) {
        j = cJSON_Parse (contacts [i].body);
        assert (j);
        bool ok = s_validate_customer (j, contacts [i].create, &c, &err);
        assert (ok == !contacts [i].why);
        assert (ok || strstr (err.message, contacts [i].why));
        cJSON_Delete (j);
    }
    s_unit_t u;
    j = cJSON_Parse ("{\"serial\":\"SN-1000\",\"model\":\"M\",\"category\":\"c\",\"attributes\":{\"h\":7,\"n\":{}}}");
    assert (!s_validate_unit (j, true, &u, &err) && strstr (err.message, "attributes"));
    cJSON_DeleteItemFromObject (cJSON_GetObjectItem (j, "attributes"), "n");
    assert (s_validate_unit (j, true, &u, &err));
    cJSON_Delete (j);
    j = cJSON_Parse ("{\"add_part\":{\"part\":\"filter\",\"qty\":2,\"date\":\"2024-01-02\"}}");
    assert (s_validate_unit (j, false, &u, &err) && strcmp (u.part,
            "{\"part\":\"filter\",\"qty\":2,\"date\":\"2024-01-02\"}") == 0);
    cJSON_free (u.part);
    cJSON_Delete (j);
    cJSON *o = cJSON_CreateObject ();
    s_add_date (o, "d", "1709164800000");
    assert (strcmp (cJSON_GetObjectItem (o, "d")->valuestring, "2024-02-29") == 0);
    cJSON_Delete (o);
}
