/*  asp-feedback: return visits, surveys, closure, partners' quality scores, the
    three-strike ladder.

    Usage: asp-feedback                               serve (ASP_* variables)
           asp-feedback --selftest [--list | name...] its classes' self-tests
                                                      (against Redis)      */
#include "asp_selftest.h"
#include "asp_svc.h"
#include "feedback_score.h"
#include "feedback_strikes.h"
#include "feedback_visits.h"

int
main (int argc, char *argv [])
{
    if (argc > 1 && streq (argv [1], "--selftest")) {
        //  Same list as FEEDBACK_SELFTESTS in CMakeLists.txt (feedback_selftest_list).
        static const asp_selftest_t tests [] = {
            { "visits", feedback_visits_test, ASP_SELFTEST_REDIS },
            { "score", feedback_score_test, ASP_SELFTEST_REDIS },
            { "strikes", feedback_strikes_test, ASP_SELFTEST_REDIS },
        };
        return asp_selftest_main ("asp-feedback", tests, sizeof tests / sizeof tests [0], argc - 2, argv + 2);
    }
    if (argc > 1) {
        fprintf (stderr, "usage: asp-feedback [--selftest [--list | name...]]   (configured by ASP_* variables)\n");
        return 2;
    }
    asp_svc_t *svc = asp_svc_new (ASP_SVC_FEEDBACK);
    feedback_visits_t *visits = feedback_visits_new (svc);
    feedback_score_t *score = feedback_score_new (svc);
    feedback_strikes_t *strikes = feedback_strikes_new (svc);
    asp_svc_run (svc);
    asp_svc_destroy (&svc);
    feedback_strikes_destroy (&strikes);
    feedback_score_destroy (&score);
    feedback_visits_destroy (&visits);
    return 0;
}
