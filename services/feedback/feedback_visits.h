/*  feedback_visits: return visits (回访), surveys and closure.

    workorder.completed schedules the return visit (due within
    ASP_SLA_RETURN_VISIT_S, which sla-timer watches) and publishes
    visit.scheduled; notification then asks the customer. survey.submitted
    (from intake's API) records the answer, adds it to the partner's score
    record (fb:partner:<id>: completed, surveys, score_sum, resolved) and
    publishes ticket.closed. Either may arrive first after a restart; the
    scripts make both orders end in the same state.                         */
#ifndef FEEDBACK_VISITS_H
#define FEEDBACK_VISITS_H
#include "asp_svc.h"

typedef struct feedback_visits_t feedback_visits_t;

feedback_visits_t *feedback_visits_new (asp_svc_t *svc);
void feedback_visits_destroy (feedback_visits_t **self_p);

void feedback_visits_test (void);

#endif
