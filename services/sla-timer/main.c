/*  asp-sla-timer: every deadline, fired once.                             */
#include "asp_selftest.h"
#include "asp_svc.h"
#include "sla_clocks.h"
#include "sla_policy.h"
#include <string.h>

int
main (int argc, char *argv [])
{
    if (argc > 1 && strcmp (argv [1], "--selftest") == 0) {
        //  Same list as SLA_SELFTESTS in CMakeLists.txt (sla_selftest_list).
        static const asp_selftest_t tests [] = {
            { "clocks", sla_clocks_test, 0 },
            { "policy", sla_policy_test, 0 },
        };
        return asp_selftest_main ("asp-sla-timer", tests, sizeof tests / sizeof tests [0], argc - 2, argv + 2);
    }
    asp_svc_t *svc = asp_svc_new (ASP_SVC_SLA);
    sla_clocks_t *clocks = sla_clocks_new (svc);
    asp_svc_run (svc);
    asp_svc_destroy (&svc);
    sla_clocks_destroy (&clocks);
    return 0;
}
