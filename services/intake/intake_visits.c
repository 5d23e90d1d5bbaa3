/*  The return visits' routes (intake_visits.h).                          */
#include "intake_visits.h"
#include "intake_ticket.h"
#include "asp_visits.h"
#include "asp_log.h"
#include <assert.h>
#include <stdarg.h>
#include <string.h>

#define S_LIST_MAX   200
#define S_OFFSET_MAX 10000

//  The visit's id and its ticket; answers 404 when id is not a visit id.
static bool
s_ticket (const char *id, char *ticket, size_t len, asp_http_res_t *res)
{
    if (asp_visit_ticket (id, ticket, len) == 0)
        return true;
    asp_http_error (res, 404, "not_found", "no visit %s", id);
    return false;
}

void
intake_visits_list (intake_api_t *api, const intake_call_t *call, const asp_http_req_t *req,
                    asp_http_res_t *res)
{
    (void) call;
    static const char *allowed [] = { "state", "due_before", "limit", "offset", NULL };
    cJSON *params = intake_query (req, allowed, res);
    if (!params)
        return;
    //  Only the staff's work lists: an ended visit is read by its id.
    const char *state = NULL;
    intake_err_t err;
    bool valid = intake_v_str (params, "state", "state", 1, 16, NULL, false, &state, &err);
    int st = state? asp_vocab_parse (&asp_vocab_visit_state, state): ASP_VISIT_OPEN;
    if (valid && st != ASP_VISIT_OPEN && st != ASP_VISIT_ASSIGNED) {
        snprintf (err.message, sizeof err.message, "state must be %s or %s (an ended visit is read by its id)",
                  asp_vocab_name (&asp_vocab_visit_state, ASP_VISIT_OPEN),
                  asp_vocab_name (&asp_vocab_visit_state, ASP_VISIT_ASSIGNED));
        valid = false;
    }
    cJSON_Delete (params);
    if (!valid) {
        asp_http_error (res, 400, "invalid_query", "%s", err.message);
        return;
    }
    int64_t due_before, limit, offset;
    if (!intake_query_int (req, "due_before", 0, INT64_MAX, INT64_MAX, &due_before, res)
    ||  !intake_query_int (req, "limit", 1, S_LIST_MAX, 50, &limit, res)
    ||  !intake_query_int (req, "offset", 0, S_OFFSET_MAX, 0, &offset, res))
        return;
    cJSON *body = NULL;
    if (!asp_rds_ready (api->rds)
    ||  asp_visit_list (api->rds, (asp_visit_state_t) st, due_before, (size_t) offset, (size_t) limit,
                        asp_now_ms (), &body)) {
        intake_storage_down (res);
        return;
    }
    asp_http_json (res, 200, cJSON_PrintUnformatted (body));
    cJSON_Delete (body);
}

void
intake_visits_get (intake_api_t *api, const intake_call_t *call, const asp_http_req_t *req,
                   asp_http_res_t *res)
{
    (void) req;
    const char *id = call->param [0];
    char ticket [ASP_ID_MAX];
    if (!s_ticket (id, ticket, sizeof ticket, res))
        return;
    cJSON *body = NULL;
    if (!asp_rds_ready (api->rds) || asp_visit_read (api->rds, id, asp_now_ms (), &body)) {
        intake_storage_down (res);
        return;
    }
    if (!body) {
        asp_http_error (res, 404, "not_found", "no visit %s", id);
        return;
    }
    asp_http_json (res, 200, cJSON_PrintUnformatted (body));
    cJSON_Delete (body);
}

//  The answer of a claim or an outcome: 202 with fields (name, value
//  pairs, NULL-terminated).
static void
s_accepted (asp_http_res_t *res, const char *first, ...)
{
    cJSON *out = cJSON_CreateObject ();
    va_list ap;
    va_start (ap, first);
    for (const char *name = first; name; name = va_arg (ap, const char *))
        cJSON_AddStringToObject (out, name, va_arg (ap, const char *));
    va_end (ap);
    asp_http_json (res, 202, cJSON_PrintUnformatted (out));
    cJSON_Delete (out);
}

//  The 409s and 404 the visit scripts' refusals mean.
static void
s_refused (asp_txn_t *txn, const char *id, asp_http_res_t *res)
{
    const char *why = asp_txn_reason (txn);
    if (asp_txn_outcome (txn) == ASP_TXN_REJECT)
        asp_http_error (res, 404, "not_found", "no visit %s", id);
    else
    if (streq (why, "visit_ended"))
        asp_http_error (res, 409, "visit_ended", "visit %s has ended (done, no_response or cancelled)", id);
    else
    if (streq (why, "already_claimed"))
        asp_http_error (res, 409, "already_claimed", "visit %s was claimed by another agent", id);
    else
    if (streq (why, "already_answered"))
        asp_http_error (res, 409, "already_answered", "visit %s was already answered", id);
    else
    if (streq (why, "not_claimed"))
        asp_http_error (res, 409, "not_claimed", "claim visit %s before recording its outcome", id);
    else
        intake_storage_down (res);
}

void
intake_visits_claim (intake_api_t *api, const intake_call_t *call, const asp_http_req_t *req,
                     asp_http_res_t *res)
{
    (void) req;
    const char *id = call->param [0], *who = call->caller.who;
    char ticket [ASP_ID_MAX];
    if (intake_overloaded (api, res) || !s_ticket (id, ticket, sizeof ticket, res))
        return;
    asp_txn_t *txn = asp_txn_new (api->script [INTAKE_SCRIPT_VISIT_CLAIM], asp_shard_of (ticket));
    asp_txn_key (txn, ASP_VISIT_KEY_RECORD, ticket);
    asp_txn_key (txn, INTAKE_KEY_VCLAIM, ticket);
    asp_txn_arg (txn, "%s", id);
    asp_txn_arg (txn, "%s", who);
    asp_msg_t *msg = asp_msg_new (ASP_EV_VISIT_CLAIMED, ticket, NULL);
    asp_mpmap_str (msg->body, "visit_id", id);
    asp_mpmap_str (msg->body, "by", who);
    asp_txn_publish (txn, &msg);
    asp_txn_exec (api->rds, ASP_SVC_INTAKE, &txn, 1);
    if (asp_txn_outcome (txn) == ASP_TXN_OK) {
        if (asp_txn_emitted (txn)) {
            asp_outbox_remote_add_txn (api->outbox, txn);
            asp_log_kv (ASP_LOG_INFO, "visit claimed", "visit", id, "by", who, NULL);
        }
        s_accepted (res, "visit_id", id, "ticket_id", ticket, "state", "assigned", "agent", who, NULL);
    }
    else
        s_refused (txn, id, res);
    asp_txn_destroy (&txn);
}

//  The outcome's fields, checked.
typedef struct {
    bool reached, complaint;
    const char *fault_cause, *repair_status, *arrival, *suggestions;
    int64_t work_quality, satisfaction;
} s_outcome_t;

static bool
s_validate (const cJSON *j, s_outcome_t *o, intake_err_t *err)
{
    static const char *allowed [] = { "reached", "fault_cause", "repair_status", "arrival", "work_quality",
                                      "satisfaction", "suggestions", "complaint", NULL };
    memset (o, 0, sizeof *o);
    bool valid = cJSON_IsObject (j) || intake_fail (err, "%s must be a JSON object", "the body");
    valid = valid && intake_v_only (j, allowed, "", err);
    const cJSON *reached = valid? cJSON_GetObjectItemCaseSensitive (j, "reached"): NULL;
    if (valid && !cJSON_IsBool (reached))
        valid = intake_fail (err, "%s is required: true (the customer answered) or false (not reached)",
                             "reached");
    o->reached = cJSON_IsTrue (reached);
    //  Not reached, the answer's fields are optional (still checked when
    //  given); reached, all but the texts and complaint are required.
    bool need = o->reached;
    valid = valid && intake_v_str (j, "fault_cause", "fault_cause", 0, 1000, NULL, false, &o->fault_cause, err)
                  && intake_v_str (j, "repair_status", "repair_status", 1, 16, &asp_vocab_repair_status, need,
                                   &o->repair_status, err)
                  && intake_v_str (j, "arrival", "arrival", 1, 16, &asp_vocab_arrival, need, &o->arrival, err)
                  && intake_v_int (j, "work_quality", "work_quality", 1, 5, need, &o->work_quality, err)
                  && intake_v_int (j, "satisfaction", "satisfaction", 1, 5, need, &o->satisfaction, err)
                  && intake_v_str (j, "suggestions", "suggestions", 0, 2000, NULL, false, &o->suggestions, err);
    const cJSON *complaint = valid? cJSON_GetObjectItemCaseSensitive (j, "complaint"): NULL;
    if (valid && complaint && !cJSON_IsBool (complaint))
        valid = intake_fail (err, "%s must be true or false", "complaint");
    o->complaint = cJSON_IsTrue (complaint);
    return valid;
}

//  The answer as feedback counts a survey: satisfaction is the score,
//  fixed is resolved, on time is punctual (late and no_show are not).
static asp_msg_t *
s_answer_msg (const char *ticket, const char *id, const char *who, const s_outcome_t *o)
{
    asp_msg_t *msg = asp_msg_new (ASP_EV_SURVEY_SUBMITTED, ticket, NULL);
    asp_mpmap_int (msg->body, "score", o->satisfaction);
    asp_mpmap_bool (msg->body, "resolved",
                    asp_vocab_parse (&asp_vocab_repair_status, o->repair_status) == ASP_REPAIR_FIXED);
    asp_mpmap_bool (msg->body, "on_time", asp_vocab_parse (&asp_vocab_arrival, o->arrival) == ASP_ARRIVAL_ON_TIME);
    asp_mpmap_str (msg->body, "comment", o->suggestions? o->suggestions: "");
    if (o->complaint)
        asp_mpmap_bool (msg->body, "complaint", true);
    asp_mpmap_str (msg->body, "visit_id", id);
    asp_mpmap_str (msg->body, "by", who);
    asp_mpmap_str (msg->body, "fault_cause", o->fault_cause? o->fault_cause: "");
    asp_mpmap_str (msg->body, "repair_status", o->repair_status);
    asp_mpmap_str (msg->body, "arrival", o->arrival);
    asp_mpmap_int (msg->body, "work_quality", o->work_quality);
    return msg;
}

void
intake_visits_outcome (intake_api_t *api, const intake_call_t *call, const asp_http_req_t *req,
                       asp_http_res_t *res)
{
    const char *id = call->param [0], *who = call->caller.who;
    char ticket [ASP_ID_MAX];
    if (intake_overloaded (api, res) || !s_ticket (id, ticket, sizeof ticket, res))
        return;
    cJSON *j = intake_body (req, res);
    if (!j)
        return;
    intake_err_t err = { "" };
    s_outcome_t o;
    if (!s_validate (j, &o, &err)) {
        intake_invalid (api, res, &err);
        cJSON_Delete (j);
        return;
    }
    int64_t now = asp_now_ms ();
    asp_msg_t *msg;
    cJSON *data = cJSON_CreateObject ();
    cJSON_AddStringToObject (data, "visit_id", id);
    cJSON_AddStringToObject (data, "by", who);
    if (o.reached) {
        msg = s_answer_msg (ticket, id, who, &o);
        cJSON_AddNumberToObject (data, "score", (double) o.satisfaction);
        cJSON_AddStringToObject (data, "repair_status", o.repair_status);
    }
    else {
        msg = asp_msg_new (ASP_EV_VISIT_ATTEMPTED, ticket, NULL);
        asp_mpmap_str (msg->body, "visit_id", id);
        asp_mpmap_str (msg->body, "by", who);
    }
    char *entry = intake_timeline_entry (o.reached? ASP_EV_SURVEY_SUBMITTED: ASP_EV_VISIT_ATTEMPTED, now, data);
    cJSON_Delete (j);
    bool lead = call->caller.role == INTAKE_ROLE_SUPERVISOR || call->caller.role == INTAKE_ROLE_ADMIN;
    asp_txn_t *txn = asp_txn_new (api->script [INTAKE_SCRIPT_VISIT_OUTCOME], asp_shard_of (ticket));
    //  The ticket's keys (its timeline entry is a change the ops feed
    //  carries: ticket.lua), then the visit's.
    intake_ticket_keys (txn, ticket);
    asp_txn_key (txn, INTAKE_KEY_SURVEY, ticket);
    asp_txn_key (txn, ASP_VISIT_KEY_RECORD, ticket);
    asp_txn_key (txn, INTAKE_KEY_VCLAIM, ticket);
    asp_txn_arg (txn, "%s", id);
    asp_txn_arg (txn, "%s", who);
    asp_txn_arg (txn, "%s", lead? "1": "0");
    asp_txn_arg (txn, "%s", o.reached? "1": "0");
    asp_txn_arg (txn, "%lld", (long long) now);
    asp_txn_arg (txn, "%s", entry);
    cJSON_free (entry);
    asp_txn_publish (txn, &msg);
    asp_txn_exec (api->rds, ASP_SVC_INTAKE, &txn, 1);
    if (asp_txn_outcome (txn) == ASP_TXN_OK) {
        asp_outbox_remote_add_txn (api->outbox, txn);
        s_accepted (res, "visit_id", id, "ticket_id", ticket, "status", o.reached? "answer_received": "attempt_recorded",
                    NULL);
        asp_log_kv (ASP_LOG_INFO, "visit outcome", "visit", id, "by", who, "reached", o.reached? "yes": "no", NULL);
    }
    else
        s_refused (txn, id, res);
    asp_txn_destroy (&txn);
}
