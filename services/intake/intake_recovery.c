/*  Service-recovery records (intake_recovery.h).   */
#include "intake_recovery.h"
#include "intake_search.h"
#include "intake_ticket.h"
#include "asp_config.h"
#include "asp_json.h"
#include "asp_log.h"
#include "sla_policy.h"
#include <assert.h>
#include <stdlib.h>
#include <string.h>

//  Records one ticket may have: a ticket with more is a case for a
//  manager, not for another record.
#define S_PER_TICKET    20
//  The largest compensation a record names (minor units): ten million in
//  major units, far above any cap; a typo, not a gesture.
#define S_COMP_MAX      1000000000LL
#define S_TEXT_MAX      2000

//  What each refusal of recovery.lua answers.
static const intake_refusal_t s_refusals [] = {
    { "unknown_ticket",      404, "no ticket %s" },
    { "unknown_recovery",    404, "no such recovery record on ticket %s" },
    { "recovery_changed",    409, "a recovery record of ticket %s changed meanwhile: read it and retry" },
    { "too_many_recoveries", 409, "ticket %s has as many recovery records as one ticket may have (20)" },
};

void
intake_recovery_init (intake_api_t *api)
{
    const char *path = asp_cfg_str ("ASP_SLA_POLICY_FILE", NULL);
    char why [512];
    api->policy = sla_policy_watch_new (path && *path? path: NULL, why, sizeof why);
    if (!api->policy) {
        asp_log_error ("bad configuration: ASP_SLA_POLICY_FILE: %s", why);
        exit (2);
    }
}

//  ---------------------------------------------------------------------
//  Caps

//  Whose cap an intake role spends: the admin is intake's top staff role,
//  the manager's cap (as is a caller when tokens are off).
static asp_sla_role_t
s_cap_role (const intake_caller_t *c)
{
    if (c->open || c->role == INTAKE_ROLE_ADMIN)
        return ASP_SLA_ROLE_MANAGER;
    return c->role == INTAKE_ROLE_SUPERVISOR? ASP_SLA_ROLE_SUPERVISOR: ASP_SLA_ROLE_AGENT;
}

//  true when role may approve amount under policy; else the refusal's
//  message in why. A file without any [approval] cap limits nobody (as
//  sla-timer's compensation rules read it).
static bool
s_within_cap (const sla_policy_t *policy, asp_sla_role_t role, int64_t amount, char *why, size_t len)
{
    int64_t cap = sla_policy_cap (policy, role);
    if (amount == 0 || cap >= amount)
        return true;
    int covers = -1, top = -1;
    for (int r = 0; r <= ASP_SLA_ROLE_MANAGER; r++) {
        int64_t c = sla_policy_cap (policy, (asp_sla_role_t) r);
        if (c >= amount && covers < 0)
            covers = r;
        if (c >= 0 && (top < 0 || c > sla_policy_cap (policy, (asp_sla_role_t) top)))
            top = r;
    }
    if (top < 0)
        return true;
    const char *name = asp_vocab_name (&asp_vocab_sla_role, role);
    if (covers >= 0)
        snprintf (why, len, "compensation %lld is over the %s cap of %lld (minor units; the SLA policy's "
                  "[approval]): a %s, whose cap is %lld, may approve it", (long long) amount, name,
                  (long long) (cap < 0? 0: cap), asp_vocab_name (&asp_vocab_sla_role, covers),
                  (long long) sla_policy_cap (policy, (asp_sla_role_t) covers));
    else
        snprintf (why, len, "compensation %lld is over the %s cap of %lld (minor units; the SLA policy's "
                  "[approval]) and over every role's: the highest is the %s's, %lld", (long long) amount, name,
                  (long long) (cap < 0? 0: cap), asp_vocab_name (&asp_vocab_sla_role, top),
                  (long long) sla_policy_cap (policy, (asp_sla_role_t) top));
    return false;
}

//  The caps in force now (a changed file is reloaded here, at most once a
//  second; a bad one is logged and the old caps stay).
static const sla_policy_t *
s_policy (intake_api_t *api)
{
    if (sla_policy_watch_check (api->policy, asp_mono_ms ()) < 0)
        asp_log_error ("ASP_SLA_POLICY_FILE refused, the caps in force stay: %s",
                       sla_policy_watch_error (api->policy));
    return sla_policy_watch_current (api->policy);
}

//  ---------------------------------------------------------------------
//  One change in progress

typedef struct {
    intake_api_t *api;
    const intake_call_t *call;
    asp_http_res_t *res;
    const char *id;                 //  the ticket
    cJSON *body;
    redisReply *ticket;             //  HMGET id trace partner_id customer_region
    cJSON *record;                  //  as read (PATCH), then as it will be
    int64_t now;
} s_change_t;

static void
s_end (s_change_t *ch)
{
    cJSON_Delete (ch->body);
    cJSON_Delete (ch->record);
    if (ch->ticket)
        freeReplyObject (ch->ticket);
}

static const char *
s_ticket_field (const s_change_t *ch, size_t i)
{
    const redisReply *r = ch->ticket->element [i];
    return r->type == REDIS_REPLY_STRING? r->str: "";
}

//  Reads what the record takes from the ticket. false when it answered.
static bool
s_read_ticket (s_change_t *ch)
{
    char key [ASP_KEY_MAX];
    intake_key (key, sizeof key, INTAKE_KEY_TICKET, ch->id);
    ch->ticket = asp_rds_cmd (ch->api->rds, "HMGET %s id trace partner_id customer_region", key);
    if (!ch->ticket || ch->ticket->type != REDIS_REPLY_ARRAY || ch->ticket->elements != 4) {
        intake_storage_down (ch->res);
        return false;
    }
    if (!*s_ticket_field (ch, 0)) {
        asp_http_error (ch->res, 404, "not_found", "no ticket %s", ch->id);
        return false;
    }
    return true;
}

//  The body: a JSON object of only allowed fields, each valid. false
//  when it answered.
static bool
s_begin (s_change_t *ch, intake_api_t *api, const intake_call_t *call, const asp_http_req_t *req,
         asp_http_res_t *res, bool open)
{
    static const char *open_allowed [] = { "category", "root_cause", "action", "compensation", NULL };
    static const char *patch_allowed [] = { "root_cause", "action", "compensation", "outcome", NULL };
    memset (ch, 0, sizeof *ch);
    ch->api = api;
    ch->call = call;
    ch->res = res;
    ch->id = call->param [0];
    ch->now = asp_now_ms ();
    if (intake_overloaded (api, res) || !(ch->body = intake_body (req, res)))
        return false;
    intake_err_t err = { "" };
    const char *s;
    int64_t n;
    bool valid = cJSON_IsObject (ch->body) || intake_fail (&err, "%s must be a JSON object", "the body");
    valid = valid && intake_v_only (ch->body, open? open_allowed: patch_allowed, "", &err)
        && intake_v_str (ch->body, "category", "category", 1, 32, &asp_vocab_recovery_category, open, &s, &err)
        && intake_v_str (ch->body, "root_cause", "root_cause", 1, S_TEXT_MAX, NULL, false, &s, &err)
        && intake_v_str (ch->body, "action", "action", 1, S_TEXT_MAX, NULL, false, &s, &err)
        && intake_v_int (ch->body, "compensation", "compensation", 0, S_COMP_MAX, false, &n, &err)
        && intake_v_str (ch->body, "outcome", "outcome", 1, 16, &asp_vocab_recovery_outcome, false, &s, &err);
    if (valid && !open && cJSON_GetArraySize (ch->body) == 0)
        valid = intake_fail (&err, "%s: give root_cause, action, compensation or outcome", "the body");
    if (!valid) {
        intake_invalid (api, res, &err);
        return false;
    }
    return s_read_ticket (ch);
}

static const char *
s_str (const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive (obj, name);
    return cJSON_IsString (v)? v->valuestring: NULL;
}

static void
s_set (cJSON *obj, const char *name, cJSON *value)
{
    if (cJSON_HasObjectItem (obj, name))
        cJSON_ReplaceItemInObjectCaseSensitive (obj, name, value);
    else
        cJSON_AddItemToObject (obj, name, value);
}

//  Applies the body's compensation when it changes the amount: within the
//  caller's cap, named as its approver. false when it answered 403.
static bool
s_compensation (s_change_t *ch, bool *changed)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive (ch->body, "compensation");
    *changed = false;
    if (!cJSON_IsNumber (v) || (int64_t) v->valuedouble == asp_json_get_int (ch->record, "compensation", 0))
        return true;
    int64_t amount = (int64_t) v->valuedouble;
    const intake_caller_t *c = &ch->call->caller;
    asp_sla_role_t role = s_cap_role (c);
    char why [400];
    if (!s_within_cap (s_policy (ch->api), role, amount, why, sizeof why)) {
        asp_http_error (ch->res, 403, "over_cap", "%s", why);
        return false;
    }
    s_set (ch->record, "compensation", cJSON_CreateNumber ((double) amount));
    s_set (ch->record, "approved_by", amount? cJSON_CreateString (c->open? "": c->who): cJSON_CreateNull ());
    s_set (ch->record, "approver_role", amount? cJSON_CreateString (asp_vocab_name (&asp_vocab_sla_role, role))
                                              : cJSON_CreateNull ());
    *changed = true;
    return true;
}

//  The event for feedback (and, when resolved with compensation, for
//  notification), continuing the ticket's trace.
static void
s_event (s_change_t *ch, asp_txn_t *txn)
{
    const cJSON *r = ch->record;
    const char *trace = s_ticket_field (ch, 1);
    asp_msg_t *msg = asp_msg_new (ASP_EV_RECOVERY_RECORDED, ch->id, *trace? trace: NULL);
    asp_mpmap_t *b = msg->body;
    asp_mpmap_str (b, "recovery_id", s_str (r, "id"));
    asp_mpmap_str (b, "category", s_str (r, "category"));
    asp_mpmap_str (b, "outcome", s_str (r, "outcome"));
    asp_mpmap_int (b, "compensation", asp_json_get_int (r, "compensation", 0));
    asp_mpmap_int (b, "amount", asp_json_get_int (r, "compensation", 0));
    asp_mpmap_str (b, "approver", s_str (r, "approver_role")? s_str (r, "approver_role"): "");
    asp_mpmap_int (b, "opened_ms", asp_json_get_int (r, "opened_ms", 0));
    asp_mpmap_int (b, "resolved_ms", asp_json_get_int (r, "resolved_ms", 0));
    asp_mpmap_int (b, "rev", asp_json_get_int (r, "rev", 0));
    bool tell = streq (s_str (r, "outcome"), "resolved") && asp_json_get_int (r, "compensation", 0) > 0;
    if (tell)
        asp_txn_publish (txn, &msg);
    else
        asp_txn_send (txn, ASP_SVC_FEEDBACK, &msg);
}

//  Writes the record (rev_was: its revision as read, "" for a new one),
//  with a timeline entry of type carrying data (taken), and answers
//  status with the record, or the refusal.
static void
s_commit (s_change_t *ch, const char *rev_was, const char *type, cJSON *data, bool publish, int status)
{
    const intake_caller_t *c = &ch->call->caller;
    const char *rid = s_str (ch->record, "id");
    cJSON_AddStringToObject (data, "recovery_id", rid);
    cJSON_AddStringToObject (data, "by", c->open? "": c->who);
    cJSON_AddStringToObject (data, "role", c->open? "": intake_role_name (c->role));
    char *entry = intake_timeline_entry (type, ch->now, data);
    char *record = cJSON_PrintUnformatted (ch->record);
    char now [24], opened [24], max [8], member [2 * ASP_ID_MAX + 2];
    snprintf (now, sizeof now, "%lld", (long long) ch->now);
    snprintf (opened, sizeof opened, "%lld", (long long) asp_json_get_int (ch->record, "opened_ms", 0));
    snprintf (max, sizeof max, "%d", S_PER_TICKET);
    snprintf (member, sizeof member, "%s|%s", ch->id, rid);
    asp_mpmap_t *args = asp_mpmap_new ();
    asp_mpmap_str (args, "rid", rid);
    asp_mpmap_str (args, "rev_was", rev_was);
    asp_mpmap_str (args, "record", record);
    asp_mpmap_str (args, "opened_ms", opened);
    asp_mpmap_str (args, "member", member);
    asp_mpmap_str (args, "entry", entry);
    asp_mpmap_str (args, "now", now);
    asp_mpmap_str (args, "max", max);
    cJSON_free (entry);
    asp_txn_t *txn = asp_txn_new (ch->api->script [INTAKE_SCRIPT_RECOVERY], asp_shard_of (ch->id));
    intake_ticket_keys (txn, ch->id);
    asp_txn_key (txn, INTAKE_KEY_RECOVERY, ch->id);
    asp_txn_key (txn, INTAKE_KEY_RECOVERY_INDEX);
    asp_txn_arg_map (txn, &args);
    if (publish)
        s_event (ch, txn);
    if (intake_commit (ch->api, txn, ch->res, s_refusals, sizeof s_refusals / sizeof s_refusals [0], ch->id))
        asp_http_json (ch->res, status, record);    //  the answer owns it
    else
        cJSON_free (record);
    asp_txn_destroy (&txn);
}

//  Copies the body's texts into the record; data (the timeline's) names
//  what changed.
static void
s_texts (s_change_t *ch, cJSON *data)
{
    static const char *texts [] = { "root_cause", "action", NULL };
    for (int i = 0; texts [i]; i++) {
        const char *v = s_str (ch->body, texts [i]);
        if (v) {
            s_set (ch->record, texts [i], cJSON_CreateString (v));
            cJSON_AddStringToObject (data, texts [i], v);
        }
    }
}

//  ---------------------------------------------------------------------
//  The routes

void
intake_recovery_open (intake_api_t *api, const intake_call_t *call, const asp_http_req_t *req,
                      asp_http_res_t *res)
{
    s_change_t ch;
    if (!s_begin (&ch, api, call, req, res, true)) {
        s_end (&ch);
        return;
    }
    const intake_caller_t *c = &call->caller;
    char rid [ASP_ID_MAX];
    asp_id_new (rid, "R");
    cJSON *r = ch.record = cJSON_CreateObject ();
    cJSON_AddStringToObject (r, "id", rid);
    cJSON_AddStringToObject (r, "ticket_id", ch.id);
    cJSON_AddStringToObject (r, "category", s_str (ch.body, "category"));
    cJSON_AddNullToObject (r, "root_cause");
    cJSON_AddNullToObject (r, "action");
    cJSON_AddNumberToObject (r, "compensation", 0);
    cJSON_AddNullToObject (r, "approved_by");
    cJSON_AddNullToObject (r, "approver_role");
    cJSON_AddStringToObject (r, "outcome", "open");
    cJSON_AddNumberToObject (r, "opened_ms", (double) ch.now);
    cJSON_AddStringToObject (r, "opened_by", c->open? "": c->who);
    cJSON_AddNullToObject (r, "resolved_ms");
    cJSON_AddNullToObject (r, "time_to_resolve_ms");
    cJSON_AddNumberToObject (r, "updated_ms", (double) ch.now);
    cJSON_AddNumberToObject (r, "rev", 1);
    const char *partner = s_ticket_field (&ch, 2), *region = s_ticket_field (&ch, 3);
    cJSON_AddItemToObject (r, "partner_id", *partner? cJSON_CreateString (partner): cJSON_CreateNull ());
    cJSON_AddItemToObject (r, "region", *region? cJSON_CreateString (region): cJSON_CreateNull ());
    bool comp;
    if (!s_compensation (&ch, &comp)) {
        s_end (&ch);
        return;
    }
    cJSON *data = cJSON_CreateObject ();
    cJSON_AddStringToObject (data, "category", s_str (r, "category"));
    s_texts (&ch, data);
    if (comp)
        cJSON_AddNumberToObject (data, "compensation", (double) asp_json_get_int (r, "compensation", 0));
    s_commit (&ch, "", "recovery.opened", data, comp, 201);
    s_end (&ch);
}

//  Reads record rid of the ticket into ch->record. false when it answered.
static bool
s_read_record (s_change_t *ch, const char *rid)
{
    char key [ASP_KEY_MAX];
    intake_key (key, sizeof key, INTAKE_KEY_RECOVERY, ch->id);
    redisReply *r = asp_rds_cmd (ch->api->rds, "HGET %s %s", key, rid);
    bool ok = r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_NIL);
    if (!ok)
        intake_storage_down (ch->res);
    else
    if (r->type == REDIS_REPLY_NIL)
        asp_http_error (ch->res, 404, "not_found", "no recovery record %s on ticket %s", rid, ch->id);
    else
    if (!(ch->record = cJSON_Parse (r->str))) {
        asp_http_error (ch->res, 500, "internal", "recovery record %s is not JSON", rid);
        asp_log_error ("recovery record %s of ticket %s is not JSON", rid, ch->id);
    }
    if (r)
        freeReplyObject (r);
    return ch->record != NULL;
}

void
intake_recovery_patch (intake_api_t *api, const intake_call_t *call, const asp_http_req_t *req,
                       asp_http_res_t *res)
{
    s_change_t ch;
    const char *rid = call->param [1];
    if (!s_begin (&ch, api, call, req, res, false) || !s_read_record (&ch, rid)) {
        s_end (&ch);
        return;
    }
    cJSON *r = ch.record;
    if (!streq (s_str (r, "outcome"), "open")) {
        asp_http_error (res, 409, "recovery_closed", "recovery record %s is %s: a closed record does not change "
                        "(open another)", rid, s_str (r, "outcome"));
        s_end (&ch);
        return;
    }
    const char *outcome = s_str (ch.body, "outcome");
    bool resolving = outcome && streq (outcome, "resolved");
    if (resolving && !s_str (ch.body, "action") && !s_str (r, "action")) {
        asp_http_error (res, 409, "action_required", "recovery record %s cannot be resolved before the action "
                        "taken is recorded: give action", rid);
        s_end (&ch);
        return;
    }
    bool comp;
    if (!s_compensation (&ch, &comp)) {
        s_end (&ch);
        return;
    }
    char rev_was [24];
    snprintf (rev_was, sizeof rev_was, "%lld", (long long) asp_json_get_int (r, "rev", 0));
    cJSON *data = cJSON_CreateObject ();
    s_texts (&ch, data);
    if (comp)
        cJSON_AddNumberToObject (data, "compensation", (double) asp_json_get_int (r, "compensation", 0));
    bool closing = outcome && !streq (outcome, "open");
    if (closing) {
        int64_t opened = asp_json_get_int (r, "opened_ms", 0);
        s_set (r, "outcome", cJSON_CreateString (outcome));
        s_set (r, "resolved_ms", cJSON_CreateNumber ((double) ch.now));
        s_set (r, "time_to_resolve_ms", cJSON_CreateNumber ((double) (ch.now - opened)));
        cJSON_AddStringToObject (data, "outcome", outcome);
    }
    s_set (r, "updated_ms", cJSON_CreateNumber ((double) ch.now));
    s_set (r, "rev", cJSON_CreateNumber ((double) (asp_json_get_int (r, "rev", 0) + 1)));
    s_commit (&ch, rev_was, "recovery.updated", data, closing || comp, 200);
    s_end (&ch);
}

//  The records of a ticket, oldest first.
static int
s_by_opened (const void *a, const void *b)
{
    const cJSON *x = *(const cJSON *const *) a, *y = *(const cJSON *const *) b;
    int64_t p = asp_json_get_int (x, "opened_ms", 0), q = asp_json_get_int (y, "opened_ms", 0);
    return p < q? -1: p > q? 1: strcmp (s_str (x, "id"), s_str (y, "id"));
}

void
intake_recovery_ticket (intake_api_t *api, const intake_call_t *call, const asp_http_req_t *req,
                        asp_http_res_t *res)
{
    (void) req;
    const char *id = call->param [0];
    char tkey [ASP_KEY_MAX], rkey [ASP_KEY_MAX];
    intake_key (tkey, sizeof tkey, INTAKE_KEY_TICKET, id);
    intake_key (rkey, sizeof rkey, INTAKE_KEY_RECOVERY, id);
    redisReply *e = asp_rds_cmd (api->rds, "EXISTS %s", tkey);
    redisReply *all = e && e->type == REDIS_REPLY_INTEGER && e->integer? asp_rds_cmd (api->rds, "HVALS %s", rkey): NULL;
    if (!e || e->type != REDIS_REPLY_INTEGER || (e->integer && (!all || all->type != REDIS_REPLY_ARRAY)))
        intake_storage_down (res);
    else
    if (!e->integer)
        asp_http_error (res, 404, "not_found", "no ticket %s", id);
    else {
        cJSON *items [S_PER_TICKET];
        size_t n = 0;
        for (size_t i = 0; i < all->elements && n < S_PER_TICKET; i++)
            if ((items [n] = cJSON_Parse (all->element [i]->str)))
                n++;
        qsort (items, n, sizeof items [0], s_by_opened);
        cJSON *out = cJSON_CreateObject ();
        cJSON_AddStringToObject (out, "ticket_id", id);
        cJSON *list = cJSON_AddArrayToObject (out, "recoveries");
        for (size_t i = 0; i < n; i++)
            cJSON_AddItemToArray (list, items [i]);
        asp_http_json (res, 200, cJSON_PrintUnformatted (out));
        cJSON_Delete (out);
    }
    if (e)
        freeReplyObject (e);
    if (all)
        freeReplyObject (all);
}

//  ---------------------------------------------------------------------
//  The list across tickets

typedef struct {
    const char *category, *outcome, *partner, *region;
    int64_t from_ms, to_ms, limit, offset;
} s_filter_t;

//  One index entry: "<ticket>|<rid>" and its opened_ms.
typedef struct {
    const char *member;
    int64_t opened;
} s_entry_t;

static int
s_newest_first (const void *a, const void *b)
{
    const s_entry_t *x = (const s_entry_t *) a, *y = (const s_entry_t *) b;
    return x->opened > y->opened? -1: x->opened < y->opened? 1: strcmp (y->member, x->member);
}

static bool
s_matches (const s_filter_t *f, const cJSON *r)
{
    const char *partner = s_str (r, "partner_id"), *region = s_str (r, "region");
    return (!f->category || streq (f->category, s_str (r, "category")))
        && (!f->outcome || streq (f->outcome, s_str (r, "outcome")))
        && (!f->partner || (partner && streq (f->partner, partner)))
        && (!f->region || (region && streq (f->region, region)));
}

//  Fills f from the query; false when it answered 400.
static bool
s_parse_filter (const asp_http_req_t *req, asp_http_res_t *res, s_filter_t *f, cJSON **j)
{
    static const char *allowed [] = { "category", "outcome", "partner", "region", "from", "to",
                                      "limit", "offset", NULL };
    memset (f, 0, sizeof *f);
    f->to_ms = INTAKE_MS_MAX;
    if (!(*j = intake_query (req, allowed, res)))
        return false;
    intake_err_t err = { "" };
    bool valid = intake_v_str (*j, "category", "category", 1, 32, &asp_vocab_recovery_category, false,
                               &f->category, &err)
        && intake_v_str (*j, "outcome", "outcome", 1, 16, &asp_vocab_recovery_outcome, false, &f->outcome, &err)
        && intake_v_str (*j, "partner", "partner", 1, 64, NULL, false, &f->partner, &err)
        && intake_v_str (*j, "region", "region", 1, 64, NULL, false, &f->region, &err)
        && intake_search_v_time (*j, "from", false, &f->from_ms, &err)
        && intake_search_v_time (*j, "to", true, &f->to_ms, &err);
    if (valid && f->from_ms > f->to_ms)
        valid = intake_fail (&err, "%s must not be after to", "from");
    if (!valid) {
        asp_http_error (res, 400, "invalid_query", "%s", err.message);
        return false;
    }
    return intake_query_int (req, "limit", 1, 100, 20, &f->limit, res)
        && intake_query_int (req, "offset", 0, 100000, 0, &f->offset, res);
}

//  The records of entries (n), one pipelined HGET each, into page: those
//  that match f, after skipping f->offset of them. false when Redis failed.
static bool
s_page (intake_api_t *api, const s_filter_t *f, const s_entry_t *entries, size_t n, cJSON *page,
        int64_t *matched)
{
    for (size_t i = 0; i < n; i++) {
        char ticket [ASP_ID_MAX], key [ASP_KEY_MAX];
        const char *bar = strchr (entries [i].member, '|');
        snprintf (ticket, sizeof ticket, "%.*s", bar? (int) (bar - entries [i].member): 0, entries [i].member);
        intake_key (key, sizeof key, INTAKE_KEY_RECOVERY, ticket);
        const char *argv [] = { "HGET", key, bar? bar + 1: "" };
        if (asp_rds_append (api->rds, 3, argv, NULL))
            return false;
    }
    bool ok = true;
    for (size_t i = 0; i < n; i++) {
        redisReply *r = ok? asp_rds_reply (api->rds): NULL;
        ok = ok && r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_NIL);
        cJSON *rec = ok && r->type == REDIS_REPLY_STRING? cJSON_Parse (r->str): NULL;
        if (rec && s_matches (f, rec) && (*matched)++ >= f->offset
        &&  cJSON_GetArraySize (page) < f->limit) {
            cJSON_AddItemToArray (page, rec);
            rec = NULL;
        }
        cJSON_Delete (rec);
        if (r)
            freeReplyObject (r);
    }
    return ok;
}

void
intake_recovery_list (intake_api_t *api, const intake_call_t *call, const asp_http_req_t *req,
                      asp_http_res_t *res)
{
    (void) call;
    s_filter_t f;
    cJSON *j = NULL;
    if (!s_parse_filter (req, res, &f, &j)) {
        cJSON_Delete (j);
        return;
    }
    //  Every shard's newest entries within from..to, at most the scan
    //  budget each; merged newest first, the budget examined.
    char from [24], to [24], max [24];
    snprintf (from, sizeof from, "%lld", (long long) f.from_ms);
    snprintf (to, sizeof to, "%lld", (long long) f.to_ms);
    snprintf (max, sizeof max, "%lld", (long long) api->search_scan_max);
    const char *argv [] = { "ZREVRANGEBYSCORE", INTAKE_KEY_RECOVERY_INDEX, to, from, "WITHSCORES",
                            "LIMIT", "0", max };
    redisReply *shards [ASP_SHARDS];
    bool ok = asp_rds_each_shard (api->rds, 8, argv, shards) == 0;
    size_t total = 0;
    bool partial = false;           //  a shard had more than its budget
    for (unsigned s = 0; ok && s < ASP_SHARDS; s++) {
        total += shards [s]->elements / 2;
        partial = partial || shards [s]->elements / 2 >= (size_t) api->search_scan_max;
    }
    s_entry_t *entries = (s_entry_t *) calloc (total + 1, sizeof *entries);
    assert (entries);
    size_t n = 0;
    for (unsigned s = 0; ok && s < ASP_SHARDS; s++)
        for (size_t i = 0; i + 1 < shards [s]->elements; i += 2) {
            entries [n].member = shards [s]->element [i]->str;
            entries [n++].opened = strtoll (shards [s]->element [i + 1]->str, NULL, 10);
        }
    qsort (entries, n, sizeof *entries, s_newest_first);
    if (n > (size_t) api->search_scan_max) {
        partial = true;
        n = (size_t) api->search_scan_max;
    }
    cJSON *out = cJSON_CreateObject ();
    cJSON *page = cJSON_AddArrayToObject (out, "recoveries");
    int64_t matched = 0;
    ok = ok && s_page (api, &f, entries, n, page, &matched);
    if (ok) {
        cJSON_AddNumberToObject (out, "count", (double) matched);
        cJSON_AddNumberToObject (out, "scanned", (double) n);
        cJSON_AddBoolToObject (out, "partial", partial);
        asp_http_json (res, 200, cJSON_PrintUnformatted (out));
    }
    else
        intake_storage_down (res);
    cJSON_Delete (out);
    free (entries);
    for (unsigned s = 0; s < ASP_SHARDS; s++)
        if (shards [s])
            freeReplyObject (shards [s]);
    cJSON_Delete (j);
}

void
intake_recovery_test (void)
{
    //  Caps: the shipped file's (agent 50, supervisor 500, manager 5000
    //  major units).
    sla_policy_t *p = sla_policy_default ();
    char why [400];
    assert (s_within_cap (p, ASP_SLA_ROLE_AGENT, 0, why, sizeof why));
    assert (s_within_cap (p, ASP_SLA_ROLE_AGENT, 5000, why, sizeof why));
    assert (!s_within_cap (p, ASP_SLA_ROLE_AGENT, 5001, why, sizeof why));
    assert (strstr (why, "agent cap of 5000") && strstr (why, "a supervisor, whose cap is 50000"));
    assert (s_within_cap (p, ASP_SLA_ROLE_MANAGER, 500000, why, sizeof why));
    assert (!s_within_cap (p, ASP_SLA_ROLE_MANAGER, 500001, why, sizeof why));
    assert (strstr (why, "over every role's: the highest is the manager's, 500000"));
    sla_policy_destroy (&p);
    //  No [approval] at all: nobody is limited.
    p = sla_policy_parse ("t", "[calendar c]\nzone = UTC\nhours = mon-fri 09:00-17:00\n"
                               "[region *]\ncalendar = c\n[policy std]\nfirst_response = 1h\n",
                          why, sizeof why);
    assert (p);
    assert (s_within_cap (p, ASP_SLA_ROLE_AGENT, S_COMP_MAX, why, sizeof why));
    sla_policy_destroy (&p);
    intake_caller_t c = { INTAKE_ROLE_ADMIN, false, "a" };
    assert (s_cap_role (&c) == ASP_SLA_ROLE_MANAGER);
    c.role = INTAKE_ROLE_SUPERVISOR;
    assert (s_cap_role (&c) == ASP_SLA_ROLE_SUPERVISOR);
    c.role = INTAKE_ROLE_AGENT;
    assert (s_cap_role (&c) == ASP_SLA_ROLE_AGENT);
    for (size_t i = 0; i < sizeof s_refusals / sizeof s_refusals [0]; i++)
        assert (strstr (s_refusals [i].message, "%s") && s_refusals [i].status >= 400);
}
