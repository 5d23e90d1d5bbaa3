/*  asp_visits: where feedback keeps the return visits (回访), for the
    readers outside feedback (intake's GET /v1/visits and the checks of
    its claim and outcome scripts).

    feedback owns these keys and writes them (services/feedback/
    feedback_visits.h: completed.lua schedules a visit, visit.lua applies a
    claim or an unanswered call, survey.lua an answer, autoclose.lua the
    no_response close); intake only reads them. Both use this header: it is
    the one place that names the keys and fields. (Intake reads instead of
    feedback projecting the visits to intake by events: the visit is
    feedback's state, a projection would be a second copy to keep in step,
    and the list must show a claim or an answer as soon as it is applied.)

    A visit's id is "V" + its work order's id without the "W"
    (V<ticket> or V<ticket>.<n>): one visit per work order, and the ticket
    (so the shard) follows from the id.

    Keys, in the ticket's shard (asp_keys.h: "{s<n>}:" + name):
      fb:<ticket>         hash (ASP_VISIT_KEY_RECORD): the ticket's visit
                          of its current work order; fields:
        visit_id, wo_id, partner_id   the visit and the work it follows up
        completed_ms      when it was scheduled (the completion arrived)
        visit_due_ms      scheduled + ASP_SLA_RETURN_VISIT_S
        vstate            asp_visit_state_t's word
        agent             who claimed it (absent while open)
        attempts          calls that did not reach the customer
        reminders         survey reminders sent to the customer
        answered_by       "customer" (the survey link) or the staff name
        score, resolved, on_time, complaint, comment   the answer as the
                          quality facts count it (score: satisfaction)
        fault_cause, repair_status, arrival, work_quality   the staff's
                          outcome (absent for a customer's survey)
        closed_ms, close_reason   once the ticket closed
      fb:visits:open      sorted set (ASP_VISIT_KEY_OPEN): the open
                          visits' tickets by due time
      fb:visits:assigned  sorted set (ASP_VISIT_KEY_ASSIGNED): the claimed
                          ones, the same way                             */
#ifndef ASP_VISITS_H
#define ASP_VISITS_H
#include <cjson/cJSON.h>
#include "asp_rds.h"
#include "asp_vocab.h"

#define ASP_VISIT_KEY_RECORD   "fb:%s"
#define ASP_VISIT_KEY_OPEN     "fb:visits:open"
#define ASP_VISIT_KEY_ASSIGNED "fb:visits:assigned"

//  The ticket of visit id visit, into ticket (len bytes). 0, or -1 when
//  visit is not a visit id.
int asp_visit_ticket (const char *visit, char *ticket, size_t len);

//  Reads visit in one round trip: *body {visit_id, ticket_id, wo_id,
//  partner_id, state, scheduled_ms, due_ms, overdue, agent, attempts,
//  reminders, and once answered answered_by and the answer} (a new
//  object, caller deletes), or NULL when there is no such visit (the
//  ticket's current one is another). overdue: open or assigned past its
//  due time at now. 0, or -1 when Redis failed.
int asp_visit_read (asp_rds_t *rds, const char *visit, int64_t now, cJSON **body);

//  Lists the visits in state (open or assigned) due before due_before,
//  earliest due first (then by ticket), skipping offset, at most limit
//  (each as asp_visit_read gives it): *body {visits: [...], next_offset
//  (null on the last page)}, a new object. Two round trips. 0, or -1 when
//  Redis failed.
int asp_visit_list (asp_rds_t *rds, asp_visit_state_t state, int64_t due_before, size_t offset,
                    size_t limit, int64_t now, cJSON **body);

void asp_visits_test (void);
#endif
