/*  asp-feedback: return visits, surveys, scores, closure.                  */
#include "asp_svc.h"
#include "feedback_visits.h"

int
main (void)
{
    asp_svc_t *svc = asp_svc_new (ASP_SVC_FEEDBACK);
    feedback_visits_t *visits = feedback_visits_new (svc);
    asp_svc_run (svc);
    asp_svc_destroy (&svc);
    feedback_visits_destroy (&visits);
    return 0;
}
