/*  feedback_visits: return visits (回访), surveys and closure.

    workorder.completed schedules the return visit (due within
    ASP_SLA_RETURN_VISIT_S, which sla-timer watches) and publishes
    visit.scheduled; notification then asks the customer. survey.submitted
    (from intake's API) records the answer, adds it to the partner's score
    record and publishes ticket.closed. A survey still unanswered
    ASP_SURVEY_CLOSE_S after the visit was scheduled closes the ticket
    (ticket.closed, reason no_survey): feedback owns closure and the visit,
    so the timer is here, beside the state it guards (sla-timer's
    return_visit clock measures the promise, a different thing). A
    not_fixed completion schedules no visit (the ticket waits for staff to
    re-dispatch it); ticket.redispatched starts the record over for the
    new work order, and a reopen counts a repeat repair; staff's
    ticket.closed drops the planned close. Either may arrive first after a
    restart; the scripts make both orders end in the same state (the
    ticket's record and the partner's counts).

    Keys, in the ticket's shard (asp_keys.h: "{s<n>}:" + name):
      fb:<ticket>       hash: the ticket's visit, survey and who did the work
      fb:partners       hash: per-partner counts of the shard's tickets,
                        fields "<partner>:completed", ":surveys",
                        ":score_sum", ":resolved", ":repeats" (reopened
                        for the same fault: repeat repairs); a partner's
                        score is the sum over the ASP_SHARDS hashes
                        (feedback_partner_score)
      fb:close_due      sorted set: "<ticket>|<wo_id>" scored by when the
                        ticket closes if its survey is still unanswered     */
#ifndef FEEDBACK_VISITS_H
#define FEEDBACK_VISITS_H
#include "asp_svc.h"

#define FEEDBACK_KEY_TICKET    "fb:%s"
#define FEEDBACK_KEY_PARTNERS  "fb:partners"
#define FEEDBACK_KEY_CLOSE_DUE "fb:close_due"

//  A partner's counts, summed over every shard.
typedef struct {
    int64_t completed, surveys, score_sum, resolved;
} feedback_score_t;

typedef struct feedback_visits_t feedback_visits_t;

feedback_visits_t *feedback_visits_new (asp_svc_t *svc);
void feedback_visits_destroy (feedback_visits_t **self_p);
//  Reads partner's counts (one pipelined round trip). 0, or -1 when Redis
//  failed.
int  feedback_partner_score (asp_rds_t *rds, const char *partner, feedback_score_t *score);

void feedback_visits_test (void);

#endif
