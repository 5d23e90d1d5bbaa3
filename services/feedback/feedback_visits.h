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

    It also keeps each partner's counts for its quality score: the
    completions above, and workorder.appointment / appointment_missed
    (booked, late changes, missed). Every count changes in the script of
    the message that causes it (once, through the inbox) and marks the
    partner in the same step; feedback_score publishes the score of the
    marked partners.

    Keys, in the ticket's shard (asp_keys.h: "{s<n>}:" + name):
      fb:<ticket>       hash: the ticket's visit, survey and who did the work
      fb:partners       hash: per-partner counts of the shard's tickets,
                        fields "<partner>:<count>", counts:
                          completed  work orders completed (any result)
                          fixed      of them done (fixed, installed)
                          redone     done, yet the ticket got a new work
                                     order (redispatch or reopen)
                          repeats    reopened for the same fault (repeat
                                     repairs)
                          surveys, score_sum, resolved   survey answers
                          arrivals, late_arrivals   answers on punctuality
                          booked     first appointment bookings
                          late       changes inside the notice period
                          missed     appointments missed
                        a partner's counts are the sums over the ASP_SHARDS
                        hashes (feedback_partner_counts)
      fb:dirty          hash: partner -> changes since its score was last
                        published from this shard's counts (the mark)
      fb:close_due      sorted set: "<ticket>|<wo_id>" scored by when the
                        ticket closes if its survey is still unanswered
    And in the partner's shard:
      fb:scores         hash: "<partner>:ms" when its score was last
                        published, "<partner>:score" that score (‰)     */
#ifndef FEEDBACK_VISITS_H
#define FEEDBACK_VISITS_H
#include "asp_svc.h"

#define FEEDBACK_KEY_TICKET    "fb:%s"
#define FEEDBACK_KEY_PARTNERS  "fb:partners"
#define FEEDBACK_KEY_CLOSE_DUE "fb:close_due"
#define FEEDBACK_KEY_DIRTY     "fb:dirty"
#define FEEDBACK_KEY_SCORES    "fb:scores"

typedef struct feedback_visits_t feedback_visits_t;

feedback_visits_t *feedback_visits_new (asp_svc_t *svc);
void feedback_visits_destroy (feedback_visits_t **self_p);

void feedback_visits_test (void);
//  For the feedback self-tests (needs a probe started on the service):
//  delivers workorder.completed of wo for ticket, by partner, with result,
//  and waits for its ACK.
typedef struct asp_probe_t asp_probe_t;
void feedback_test_completed (asp_probe_t *probe, const char *ticket, const char *wo,
                              const char *partner, const char *result);

#endif
