/*  The staff operations on a ticket (intake_actions.h).   */
#include "intake_actions.h"
#include "intake_partners.h"
#include "asp_config.h"
#include "intake_ticket.h"
#include <assert.h>
#include <string.h>

//  One action in progress: the request, the ticket as read, the script's
//  arguments and the txn.
typedef struct {
    intake_api_t *api;
    const intake_call_t *call;
    asp_http_res_t *res;
    const char *id;                 //  the ticket
    cJSON *body;
    redisReply *ticket;             //  HGETALL of the ticket
    asp_mpmap_t *args;
    asp_txn_t *txn;
    int64_t now;
    int accepted;                   //  the answer's status: 200, or 202 when set
} s_act_t;

//  What each refusal of the scripts answers. %s is the ticket id.
static const intake_refusal_t s_refusals [] = {
    { "unknown_ticket",       404, "no ticket %s" },
    { "not_owner",            403, "ticket %s is owned by another agent: its owner, a supervisor, ops or an admin may do this" },
    { "ticket_changed",       409, "ticket %s changed meanwhile (a new work order was started): read it and retry" },
    { "already_closed",       409, "ticket %s is closed: reopen it first" },
    { "already_cancelled",    409, "ticket %s is cancelled" },
    { "already_waiting",      409, "ticket %s is already waiting for the customer" },
    { "not_waiting",          409, "ticket %s is not waiting for the customer" },
    { "too_late_to_change",   409, "the work of ticket %s is done: its priority and tier no longer change" },
    { "not_cancellable",      409, "the work of ticket %s is done: close it instead of cancelling it" },
    { "not_completed",        409, "the work of ticket %s is not done yet: cancel it or wait for completion" },
    { "not_reopenable",       409, "only a closed ticket can be reopened; ticket %s is not closed" },
    { "reopen_window_passed", 409, "ticket %s was closed longer ago than the reopen window (ASP_REOPEN_DAYS): create a new ticket" },
    { "no_open_work_order",   409, "ticket %s has no open field work order to dispatch (its type has no field work, or the work is done or cancelled)" },
    { "not_redispatchable",   409, "ticket %s has no failed or stuck work order to re-dispatch (its partner did not report not_fixed and holds no accepted work)" },
};

void
intake_actions_init (intake_api_t *api)
{
    api->reopen_window_ms = 86400000LL * asp_cfg_int ("ASP_REOPEN_DAYS", 30, 1, 3650);
}

//  A field of the ticket as read, "" when absent.
static const char *
s_field (const s_act_t *act, const char *name)
{
    const redisReply *r = act->ticket;
    for (size_t i = 0; i + 1 < r->elements; i += 2)
        if (strcmp (r->element [i]->str, name) == 0)
            return r->element [i + 1]->str;
    return "";
}

static int64_t
s_gen (const s_act_t *act)
{
    const char *g = s_field (act, "gen");
    return *g? strtoll (g, NULL, 10): 1;
}

static void
s_end (s_act_t *act)
{
    cJSON_Delete (act->body);
    if (act->ticket)
        freeReplyObject (act->ticket);
    asp_mpmap_destroy (&act->args);
    asp_txn_destroy (&act->txn);
}

//  Reads the ticket the action is about. false when it answered.
static bool
s_read (s_act_t *act)
{
    char key [ASP_KEY_MAX];
    intake_key (key, sizeof key, INTAKE_KEY_TICKET, act->id);
    act->ticket = asp_rds_cmd (act->api->rds, "HGETALL %s", key);
    if (!act->ticket || act->ticket->type != REDIS_REPLY_ARRAY) {
        intake_storage_down (act->res);
        return false;
    }
    if (act->ticket->elements == 0) {
        asp_http_error (act->res, 404, "not_found", "no ticket %s", act->id);
        return false;
    }
    return true;
}

static void
s_init (s_act_t *act, intake_api_t *api, const intake_call_t *call, asp_http_res_t *res)
{
    memset (act, 0, sizeof *act);
    act->api = api;
    act->call = call;
    act->res = res;
    act->id = call->param [0];
    act->now = asp_now_ms ();
}

//  Validates the body (only the fields in allowed; check, when given,
//  looks at the rest) and reads the ticket. false when it answered.
static bool
s_begin (s_act_t *act, intake_api_t *api, const intake_call_t *call, const asp_http_req_t *req,
         asp_http_res_t *res, const char **allowed,
         bool (*check) (const cJSON *body, intake_err_t *err))
{
    s_init (act, api, call, res);
    if (intake_overloaded (api, res) || !(act->body = intake_body (req, res)))
        return false;
    intake_err_t err;
    if (!cJSON_IsObject (act->body)) {
        asp_counter_inc (api->invalid);
        asp_http_error (res, 400, "invalid_field", "the body must be a JSON object");
        return false;
    }
    if (!intake_v_only (act->body, allowed, "", &err) || (check && !check (act->body, &err))) {
        asp_counter_inc (api->invalid);
        asp_http_error (res, 400, "invalid_field", "%s", err.message);
        return false;
    }
    return s_read (act);
}

//  A string field the action takes: reason, text, note.
static const char *
s_text (const s_act_t *act, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive (act->body, name);
    return cJSON_IsString (v)? v->valuestring: NULL;
}

static bool
s_check_reason (const cJSON *body, intake_err_t *err)
{
    const char *s;
    return intake_v_str (body, "reason", "reason", 1, 500, NULL, true, &s, err);
}

static bool
s_check_note (const cJSON *body, intake_err_t *err)
{
    const char *s;
    return intake_v_str (body, "note", "note", 1, 500, NULL, false, &s, err);
}

static bool
s_check_text (const cJSON *body, intake_err_t *err)
{
    const char *s;
    return intake_v_str (body, "text", "text", 1, 2000, NULL, true, &s, err);
}

//  Starts the script's arguments and the txn: the guards' values (an
//  agent must own the ticket when owned_only), the timeline entry of type
//  with data (taken; who acted is added) and now.
static void
s_prepare (s_act_t *act, intake_script_id_t script, bool owned_only, const char *type, cJSON *data)
{
    const intake_caller_t *c = &act->call->caller;
    bool agent = !c->open && c->role == INTAKE_ROLE_AGENT;
    act->args = asp_mpmap_new ();
    asp_mpmap_str (act->args, "owner_is", owned_only && agent? c->who: "");
    char gen [24], now [24];
    snprintf (gen, sizeof gen, "%lld", (long long) s_gen (act));
    snprintf (now, sizeof now, "%lld", (long long) act->now);
    asp_mpmap_str (act->args, "gen", gen);
    asp_mpmap_str (act->args, "now", now);
    cJSON_AddStringToObject (data, "by", c->open? "": c->who);
    cJSON_AddStringToObject (data, "role", c->open? "": intake_role_name (c->role));
    char *entry = intake_timeline_entry (type, act->now, data);
    asp_mpmap_str (act->args, "entry", entry);
    cJSON_free (entry);
    act->txn = asp_txn_new (act->api->script [script], asp_shard_of (act->id));
    intake_ticket_keys (act->txn, act->id);
}

static void
s_arg_rank (s_act_t *act, const char *name, asp_status_t status)
{
    char v [8];
    snprintf (v, sizeof v, "%d", (int) status);
    asp_mpmap_str (act->args, name, v);
}

//  An event about the ticket, continuing its trace, naming who acted.
static asp_msg_t *
s_event (const s_act_t *act, const char *type)
{
    const char *trace = s_field (act, "trace");
    asp_msg_t *msg = asp_msg_new (type, act->id, *trace? trace: NULL);
    asp_mpmap_str (msg->body, "by", act->call->caller.open? "": act->call->caller.who);
    return msg;
}

//  Runs the txn and answers: 200 with the ticket's status after the
//  action, or the refusal.
static void
s_finish (s_act_t *act, const char *status_after)
{
    asp_txn_arg_map (act->txn, &act->args);
    if (intake_commit (act->api, act->txn, act->res, s_refusals, sizeof s_refusals / sizeof s_refusals [0],
                       act->id)) {
        cJSON *out = cJSON_CreateObject ();
        cJSON_AddStringToObject (out, "ticket_id", act->id);
        cJSON_AddStringToObject (out, "status", status_after? status_after: s_field (act, "status"));
        asp_http_json (act->res, act->accepted? act->accepted: 200, cJSON_PrintUnformatted (out));
        cJSON_Delete (out);
    }
    s_end (act);
}

static const char *
s_status_name (asp_status_t status)
{
    return asp_vocab_name (&asp_vocab_status, status);
}

//  --------------------------------------------------------------------------
//  The routes

void
intake_actions_note (intake_api_t *api, const intake_call_t *call, const asp_http_req_t *req,
                     asp_http_res_t *res)
{
    static const char *allowed [] = { "text", NULL };
    s_act_t act;
    if (!s_begin (&act, api, call, req, res, allowed, s_check_text)) {
        s_end (&act);
        return;
    }
    cJSON *data = cJSON_CreateObject ();
    cJSON_AddStringToObject (data, "text", s_text (&act, "text"));
    s_prepare (&act, INTAKE_SCRIPT_NOTE, false, "ticket.note", data);
    s_finish (&act, NULL);
}

//  Waiting for the customer, or resumed.
static void
s_wait (intake_api_t *api, const intake_call_t *call, const asp_http_req_t *req, asp_http_res_t *res,
        bool waiting)
{
    static const char *w_allowed [] = { "reason", NULL };
    static const char *r_allowed [] = { "note", NULL };
    s_act_t act;
    if (!s_begin (&act, api, call, req, res, waiting? w_allowed: r_allowed,
                  waiting? s_check_reason: s_check_note)) {
        s_end (&act);
        return;
    }
    const char *type = waiting? ASP_EV_TICKET_WAITING: ASP_EV_TICKET_RESUMED;
    const char *what = waiting? "reason": "note";
    const char *text = s_text (&act, what);
    cJSON *data = cJSON_CreateObject ();
    if (text)
        cJSON_AddStringToObject (data, what, text);
    s_prepare (&act, INTAKE_SCRIPT_WAIT, false, type, data);
    asp_mpmap_str (act.args, "waiting", waiting? "1": "0");
    asp_msg_t *msg = s_event (&act, type);
    asp_mpmap_str (msg->body, what, text? text: "");
    asp_txn_publish (act.txn, &msg);
    s_finish (&act, NULL);
}

void
intake_actions_waiting (intake_api_t *api, const intake_call_t *call, const asp_http_req_t *req,
                        asp_http_res_t *res)
{
    s_wait (api, call, req, res, true);
}

void
intake_actions_resume (intake_api_t *api, const intake_call_t *call, const asp_http_req_t *req,
                       asp_http_res_t *res)
{
    s_wait (api, call, req, res, false);
}

static bool
s_check_update (const cJSON *body, intake_err_t *err)
{
    const char *s;
    int64_t n = 0;
    if (!intake_v_int (body, "priority", "priority", 1, 5, false, &n, err)
    ||  !intake_v_str (body, "tier", "tier", 1, 32, &asp_vocab_tier, false, &s, err)
    ||  !intake_v_str (body, "reason", "reason", 1, 500, NULL, false, &s, err))
        return false;
    if (!cJSON_HasObjectItem (body, "priority") && !cJSON_HasObjectItem (body, "tier"))
        return intake_fail (err, "%s: give priority, tier or both", "the body");
    return true;
}

//  The express tier is a paid on-site product: only for tickets a
//  partner visits.
static bool
s_express_allowed (const char *type)
{
    int kind = asp_vocab_parse (&asp_vocab_kind, type);
    return kind != ASP_KIND_COMPLAINT && kind != ASP_KIND_CONSULTATION;
}

void
intake_actions_update (intake_api_t *api, const intake_call_t *call, const asp_http_req_t *req,
                       asp_http_res_t *res)
{
    static const char *allowed [] = { "priority", "tier", "reason", NULL };
    s_act_t act;
    if (!s_begin (&act, api, call, req, res, allowed, s_check_update)) {
        s_end (&act);
        return;
    }
    const char *tier = s_text (&act, "tier");
    const cJSON *p = cJSON_GetObjectItemCaseSensitive (act.body, "priority");
    if (tier && strcmp (tier, "express") == 0 && !s_express_allowed (s_field (&act, "type"))) {
        asp_http_error (res, 409, "tier_not_offered", "the express tier is not offered for a %s ticket",
                        s_field (&act, "type"));
        s_end (&act);
        return;
    }
    char priority [24];
    const char *fields [4];
    size_t n = 0;
    cJSON *data = cJSON_CreateObject ();
    if (p) {
        snprintf (priority, sizeof priority, "%d", p->valueint);
        fields [n++] = "priority";
        fields [n++] = priority;
        cJSON_AddNumberToObject (data, "priority", p->valueint);
    }
    if (tier) {
        fields [n++] = "tier";
        fields [n++] = tier;
        cJSON_AddStringToObject (data, "tier", tier);
    }
    if (s_text (&act, "reason"))
        cJSON_AddStringToObject (data, "reason", s_text (&act, "reason"));
    s_prepare (&act, INTAKE_SCRIPT_UPDATE, false, "ticket.updated", data);
    asp_mpmap_str (act.args, "before_completion", "1");
    s_arg_rank (&act, "completed_rank", ASP_STATUS_COMPLETED);
    asp_mpmap_strv (act.args, "fields", fields, n);
    s_finish (&act, NULL);
}

static bool
s_check_owner (const cJSON *body, intake_err_t *err)
{
    const char *s;
    return intake_v_str (body, "owner", "owner", 1, 63, NULL, true, &s, err)
        && intake_v_str (body, "reason", "reason", 1, 500, NULL, false, &s, err);
}

void
intake_actions_owner (intake_api_t *api, const intake_call_t *call, const asp_http_req_t *req,
                      asp_http_res_t *res)
{
    static const char *allowed [] = { "owner", "reason", NULL };
    s_act_t act;
    if (!s_begin (&act, api, call, req, res, allowed, s_check_owner)) {
        s_end (&act);
        return;
    }
    const char *owner = s_text (&act, "owner");
    cJSON *data = cJSON_CreateObject ();
    cJSON_AddStringToObject (data, "from", s_field (&act, "owner"));
    cJSON_AddStringToObject (data, "to", owner);
    if (s_text (&act, "reason"))
        cJSON_AddStringToObject (data, "reason", s_text (&act, "reason"));
    s_prepare (&act, INTAKE_SCRIPT_UPDATE, false, "ticket.owner_changed", data);
    asp_mpmap_str (act.args, "before_completion", "0");
    s_arg_rank (&act, "completed_rank", ASP_STATUS_COMPLETED);
    const char *fields [] = { "owner", owner };
    asp_mpmap_strv (act.args, "fields", fields, 2);
    //  sla-timer's ladder names the owner at its "agent" step.
    asp_msg_t *msg = s_event (&act, ASP_EV_TICKET_OWNER_CHANGED);
    asp_mpmap_str (msg->body, "owner", owner);
    asp_mpmap_str (msg->body, "previous", s_field (&act, "owner"));
    asp_txn_publish (act.txn, &msg);
    s_finish (&act, NULL);
}

//  The current work order as read.
static void
s_current_wo (const s_act_t *act, char *out, size_t outlen)
{
    const char *wo = s_field (act, "wo_id");
    if (*wo)
        snprintf (out, outlen, "%s", wo);
    else
        asp_wo_id (act->id, 1, out, outlen);
}

//  Cancel (terminal) or close without survey: reason required, status
//  to, guarded by completion (cancel before, close after).
static void
s_end_ticket (intake_api_t *api, const intake_call_t *call, const asp_http_req_t *req,
              asp_http_res_t *res, bool cancel)
{
    static const char *allowed [] = { "reason", NULL };
    s_act_t act;
    if (!s_begin (&act, api, call, req, res, allowed, s_check_reason)) {
        s_end (&act);
        return;
    }
    const char *reason = s_text (&act, "reason");
    asp_status_t to = cancel? ASP_STATUS_CANCELLED: ASP_STATUS_CLOSED;
    const char *type = cancel? ASP_EV_TICKET_CANCELLED: ASP_EV_TICKET_CLOSED;
    cJSON *data = cJSON_CreateObject ();
    cJSON_AddStringToObject (data, "reason", reason);
    s_prepare (&act, cancel? INTAKE_SCRIPT_CANCEL: INTAKE_SCRIPT_CLOSE, true, type, data);
    asp_mpmap_str (act.args, "reason", reason);
    asp_mpmap_str (act.args, "by", call->caller.open? "": call->caller.who);
    s_arg_rank (&act, "completed_rank", ASP_STATUS_COMPLETED);
    s_arg_rank (&act, "rank", to);
    int kind = asp_vocab_parse (&asp_vocab_kind, s_field (&act, "type"));
    asp_mpmap_str (act.args, "staff_handled", kind >= 0 && !asp_kind_field_work ((asp_kind_t) kind)? "1": "0");
    char wo [ASP_CHILD_ID_MAX];
    s_current_wo (&act, wo, sizeof wo);
    asp_msg_t *msg = s_event (&act, type);
    asp_mpmap_str (msg->body, "wo_id", wo);
    if (cancel)
        asp_mpmap_str (msg->body, "reason", reason);
    else {
        //  Closed by staff: feedback's own closes say "survey", "visit" or "no_response".
        asp_mpmap_str (msg->body, "reason", "staff");
        asp_mpmap_str (msg->body, "note", reason);
    }
    //  intake consumes ticket.closed from feedback; its own goes to the others.
    asp_txn_publish_others (act.txn, ASP_SVC_INTAKE, &msg);
    s_finish (&act, s_status_name (to));
}

void
intake_actions_cancel (intake_api_t *api, const intake_call_t *call, const asp_http_req_t *req,
                       asp_http_res_t *res)
{
    s_end_ticket (api, call, req, res, true);
}

void
intake_actions_close (intake_api_t *api, const intake_call_t *call, const asp_http_req_t *req,
                      asp_http_res_t *res)
{
    s_end_ticket (api, call, req, res, false);
}

//  Reopen or re-dispatch (a new work order generation) of the ticket act
//  has read; answers.
static void
s_redispatch_run (s_act_t *act_p, bool reopen)
{
    s_act_t act = *act_p;           //  ours now: s_finish / s_end free it
    intake_api_t *api = act.api;
    asp_http_res_t *res = act.res;
    const char *reason = s_text (&act, "reason");
    int64_t gen = s_gen (&act) + 1;
    char old_wo [ASP_CHILD_ID_MAX], new_wo [ASP_CHILD_ID_MAX], gen_s [24], window [24];
    s_current_wo (&act, old_wo, sizeof old_wo);
    if (asp_wo_id (act.id, gen, new_wo, sizeof new_wo)) {
        asp_http_error (res, 409, "too_many_work_orders", "ticket %s cannot name another work order", act.id);
        s_end (&act);
        return;
    }
    snprintf (gen_s, sizeof gen_s, "%lld", (long long) gen);
    snprintf (window, sizeof window, "%lld", (long long) api->reopen_window_ms);
    //  Why a new work order: the customer says the fault is back, the
    //  partner could not fix it, or it cannot finish what it accepted.
    const char *why = reopen? "reopen":
                      strcmp (s_field (&act, "result"), "not_fixed") == 0? "not_fixed": "unable_to_complete";
    const char *type = reopen? "ticket.reopened": ASP_EV_TICKET_REDISPATCHED;
    cJSON *data = cJSON_CreateObject ();
    cJSON_AddStringToObject (data, "reason", reason);
    cJSON_AddStringToObject (data, "cause", why);
    cJSON_AddStringToObject (data, "wo_id", new_wo);
    cJSON_AddStringToObject (data, "previous_wo_id", old_wo);
    s_prepare (&act, INTAKE_SCRIPT_REDISPATCH, !reopen, type, data);
    asp_txn_key (act.txn, INTAKE_KEY_SURVEY, act.id);
    asp_mpmap_str (act.args, "mode", reopen? "reopen": "redispatch");
    asp_mpmap_str (act.args, "new_gen", gen_s);
    asp_mpmap_str (act.args, "new_wo", new_wo);
    asp_mpmap_str (act.args, "window_ms", window);

    asp_msg_t *msg = s_event (&act, ASP_EV_TICKET_REDISPATCHED);
    asp_mpmap_t *b = msg->body;
    asp_mpmap_str (b, "wo_id", new_wo);
    asp_mpmap_str (b, "previous_wo_id", old_wo);
    asp_mpmap_str (b, "cause", why);
    asp_mpmap_bool (b, "repeat_repair", reopen);
    asp_mpmap_str (b, "reason", reason);
    //  What routing needs to offer the new work order (as in ticket.created).
    asp_mpmap_str (b, "type", s_field (&act, "type"));
    asp_mpmap_str (b, "tier", s_field (&act, "tier"));
    asp_mpmap_int (b, "priority", strtoll (s_field (&act, "priority"), NULL, 10));
    asp_mpmap_str (b, "category", s_field (&act, "category"));
    asp_mpmap_str (b, "region", s_field (&act, "customer_region"));
    asp_mpmap_str (b, "model", s_field (&act, "model"));
    asp_mpmap_str (b, "serial", s_field (&act, "serial"));
    asp_mpmap_strn (b, "summary", s_field (&act, "description"), strnlen (s_field (&act, "description"), 200));
    //  Optional, as in ticket.created: the customer's area, the unit's installer.
    if (*s_field (&act, "customer_area"))
        asp_mpmap_str (b, "area", s_field (&act, "customer_area"));
    if (*s_field (&act, "installer"))
        asp_mpmap_str (b, "installer", s_field (&act, "installer"));
    asp_txn_publish (act.txn, &msg);
    s_finish (&act, s_status_name (ASP_STATUS_RECEIVED));
}

static void
s_redispatch (intake_api_t *api, const intake_call_t *call, const asp_http_req_t *req,
              asp_http_res_t *res, bool reopen)
{
    static const char *allowed [] = { "reason", NULL };
    s_act_t act;
    if (s_begin (&act, api, call, req, res, allowed, s_check_reason))
        s_redispatch_run (&act, reopen);
    else
        s_end (&act);
}

int
intake_actions_reopen_for (intake_api_t *api, const intake_caller_t *caller, const char *id,
                           const char *reason)
{
    intake_call_t call;
    memset (&call, 0, sizeof call);
    call.caller = *caller;
    snprintf (call.pbuf [0], sizeof call.pbuf [0], "%s", id);
    call.param [0] = call.pbuf [0];
    //  The action answers as it would over HTTP; its status is the outcome.
    asp_http_res_t scratch;
    memset (&scratch, 0, sizeof scratch);
    s_act_t act;
    s_init (&act, api, &call, &scratch);
    act.body = cJSON_CreateObject ();
    cJSON_AddStringToObject (act.body, "reason", reason);
    if (s_read (&act))
        s_redispatch_run (&act, true);
    else
        s_end (&act);
    free (scratch.body);
    return scratch.status == 200? 0: scratch.status == 503 || scratch.status == 0? -1: 1;
}

void
intake_actions_reopen (intake_api_t *api, const intake_call_t *call, const asp_http_req_t *req,
                       asp_http_res_t *res)
{
    s_redispatch (api, call, req, res, true);
}

void
intake_actions_redispatch (intake_api_t *api, const intake_call_t *call, const asp_http_req_t *req,
                           asp_http_res_t *res)
{
    s_redispatch (api, call, req, res, false);
}

//  A call-back promise: a future time, at most this far ahead.
#define S_PROMISE_MAX_MS (90 * 86400000LL)
//  ticket.responded carries at most this much of the message: sla-timer
//  needs only that there was an answer, the timeline keeps it whole.
#define S_RESPONDED_MAX 200

static bool
s_check_respond (const cJSON *body, intake_err_t *err)
{
    const char *s;
    int64_t promise = 0;
    if (!intake_v_str (body, "message", "message", 1, 2000, NULL, true, &s, err)
    ||  !intake_v_int (body, "promise_ms", "promise_ms", 0, INT64_C (1) << 52, false, &promise, err))
        return false;
    if (!cJSON_HasObjectItem (body, "promise_ms") || cJSON_IsNull (cJSON_GetObjectItem (body, "promise_ms")))
        return true;
    int64_t now = asp_now_ms ();
    if (promise <= now)
        return intake_fail (err, "%s must be in the future (ms since the epoch)", "promise_ms");
    if (promise > now + S_PROMISE_MAX_MS)
        return intake_fail (err, "%s may be at most 90 days ahead", "promise_ms");
    return true;
}

//  How many bytes of s (valid UTF-8) fit in max without cutting a
//  character in two.
static size_t
s_utf8_cut (const char *s, size_t max)
{
    size_t len = strlen (s);
    if (len <= max)
        return len;
    while (max > 0 && ((unsigned char) s [max] & 0xC0) == 0x80)
        max--;
    return max;
}

void
intake_actions_respond (intake_api_t *api, const intake_call_t *call, const asp_http_req_t *req,
                        asp_http_res_t *res)
{
    static const char *allowed [] = { "message", "promise_ms", NULL };
    s_act_t act;
    if (!s_begin (&act, api, call, req, res, allowed, s_check_respond)) {
        s_end (&act);
        return;
    }
    const char *message = s_text (&act, "message");
    const cJSON *p = cJSON_GetObjectItemCaseSensitive (act.body, "promise_ms");
    bool promised = cJSON_IsNumber (p);
    char promise [24] = "";
    if (promised)
        snprintf (promise, sizeof promise, "%lld", (long long) p->valuedouble);
    cJSON *data = cJSON_CreateObject ();
    cJSON_AddStringToObject (data, "message", message);
    if (promised)
        cJSON_AddNumberToObject (data, "promise_ms", p->valuedouble);
    s_prepare (&act, INTAKE_SCRIPT_RESPOND, true, ASP_EV_TICKET_RESPONDED, data);
    asp_mpmap_str (act.args, "promise_ms", promise);
    //  Nobody may consume it yet (sla-timer's handler adds its subscriber
    //  bit), and asp_txn_publish refuses an event without subscribers.
    if (asp_event_subscribers (ASP_EV_TICKET_RESPONDED)) {
        asp_msg_t *msg = s_event (&act, ASP_EV_TICKET_RESPONDED);
        asp_mpmap_strn (msg->body, "message", message, s_utf8_cut (message, S_RESPONDED_MAX));
        if (promised)
            asp_mpmap_int (msg->body, "promise_ms", (int64_t) p->valuedouble);
        asp_txn_publish (act.txn, &msg);
    }
    s_finish (&act, NULL);
}

static bool
s_check_override (const cJSON *body, intake_err_t *err)
{
    const char *partner, *s;
    if (!intake_v_str (body, "partner_id", "partner_id", 1, ASP_ID_MAX - 1, NULL, true, &partner, err)
    ||  !intake_v_str (body, "note", "note", 1, 500, NULL, false, &s, err))
        return false;
    if (!asp_id_valid (partner, strlen (partner)))
        return intake_fail (err, "%s must be a partner id: 1 to 47 characters of [A-Za-z0-9._:-]", "partner_id");
    return true;
}

void
intake_actions_override (intake_api_t *api, const intake_call_t *call, const asp_http_req_t *req,
                         asp_http_res_t *res)
{
    static const char *allowed [] = { "partner_id", "note", NULL };
    s_act_t act;
    if (!s_begin (&act, api, call, req, res, allowed, s_check_override)) {
        s_end (&act);
        return;
    }
    const char *partner = s_text (&act, "partner_id"), *note = s_text (&act, "note");
    //  Routing would hold the order for a partner that is not active
    //  until it is: refused instead. One the registry does not know may
    //  be admitted by its certificate file alone: sent on, as before.
    char status [16];
    int known = intake_partner_status (api, partner, status, sizeof status);
    if (known < 0 || (known == 0 && asp_vocab_parse (&asp_vocab_partner_status, status) != ASP_PARTNER_ACTIVE)) {
        if (known < 0)
            intake_storage_down (res);
        else
            asp_http_error (res, 409, "partner_not_active", "partner %s is %s in the registry: only an active partner "
                            "can be sent work", partner, status);
        s_end (&act);
        return;
    }
    char wo [ASP_CHILD_ID_MAX];
    s_current_wo (&act, wo, sizeof wo);
    cJSON *data = cJSON_CreateObject ();
    cJSON_AddStringToObject (data, "wo_id", wo);
    cJSON_AddStringToObject (data, "partner_id", partner);
    if (note)
        cJSON_AddStringToObject (data, "note", note);
    s_prepare (&act, INTAKE_SCRIPT_OVERRIDE, false, ASP_EV_TICKET_OVERRIDE, data);
    int kind = asp_vocab_parse (&asp_vocab_kind, s_field (&act, "type"));
    asp_mpmap_str (act.args, "field_work", kind >= 0 && asp_kind_field_work ((asp_kind_t) kind)? "1": "0");
    s_arg_rank (&act, "completed_rank", ASP_STATUS_COMPLETED);
    //  Routing withdraws any offer of the work order and offers it to
    //  this partner (contract: ticket.override).
    asp_msg_t *msg = s_event (&act, ASP_EV_TICKET_OVERRIDE);
    asp_mpmap_str (msg->body, "wo_id", wo);
    asp_mpmap_str (msg->body, "partner_id", partner);
    asp_mpmap_str (msg->body, "note", note? note: "");
    asp_txn_publish (act.txn, &msg);
    act.accepted = 202;             //  routing acts on it next
    s_finish (&act, NULL);
}

void
intake_actions_test (void)
{
    assert (s_express_allowed ("repair") && !s_express_allowed ("consultation"));
    //  ticket.responded's message is cut between characters, never inside one.
    assert (s_utf8_cut ("abc", 200) == 3 && s_utf8_cut ("abcdef", 4) == 4);
    assert (s_utf8_cut ("\xe5\x9b\x9e\xe5\xa4\x8d", 4) == 3 && s_utf8_cut ("\xe5\x9b\x9e\xe5\xa4\x8d", 2) == 0);
    intake_err_t err;
    char body [160];
    cJSON *j = cJSON_Parse ("{\"message\":\"ok\"}");
    assert (s_check_respond (j, &err));
    cJSON_Delete (j);
    snprintf (body, sizeof body, "{\"message\":\"ok\",\"promise_ms\":%lld}", (long long) asp_now_ms () + 3600000);
    j = cJSON_Parse (body);
    assert (s_check_respond (j, &err));
    cJSON_Delete (j);
    snprintf (body, sizeof body, "{\"message\":\"ok\",\"promise_ms\":%lld}", (long long) asp_now_ms () - 1);
    j = cJSON_Parse (body);
    assert (!s_check_respond (j, &err) && strstr (err.message, "promise_ms must be in the future"));
    cJSON_Delete (j);
    snprintf (body, sizeof body, "{\"message\":\"ok\",\"promise_ms\":%lld}",
              (long long) (asp_now_ms () + S_PROMISE_MAX_MS + 60000));
    j = cJSON_Parse (body);
    assert (!s_check_respond (j, &err) && strstr (err.message, "90 days"));
    cJSON_Delete (j);
    j = cJSON_Parse ("{\"message\":\"\"}");
    assert (!s_check_respond (j, &err) && strstr (err.message, "message must be a string of 1 to 2000"));
    cJSON_Delete (j);
    for (size_t i = 0; i < sizeof s_refusals / sizeof s_refusals [0]; i++)
        assert (strstr (s_refusals [i].message, "%s") && s_refusals [i].status >= 400);
}
