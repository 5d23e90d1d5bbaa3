/*  asp-sla-timer: every promise to a customer, watched and fired once.   */
#include "asp_config.h"
#include "asp_log.h"
#include "asp_selftest.h"
#include "asp_svc.h"
#include "sla_clocks.h"
#include "asp_sighup.h"
#include "sla_fire.h"
#include "sla_heap.h"
#include "sla_plan.h"
#include "sla_policy.h"
#include <string.h>

int
main (int argc, char *argv [])
{
    if (argc > 1 && strcmp (argv [1], "--selftest") == 0) {
        //  Same list as SLA_SELFTESTS in CMakeLists.txt (sla_selftest_list).
        static const asp_selftest_t tests [] = {
            { "heap", sla_heap_test, 0 },
            { "policy", sla_policy_test, 0 },
            { "plan", sla_plan_test, 0 },
            { "clocks", sla_clocks_test, 0 },
            { "fire", sla_fire_test, ASP_SELFTEST_REDIS },
        };
        return asp_selftest_main ("asp-sla-timer", tests, sizeof tests / sizeof tests [0], argc - 2, argv + 2);
    }
    //  Before any thread starts: SIGHUP is read in the loop (sla_fire,
    //  asp_sighup.h), never delivered (it would end the zloop's poll).
    asp_sighup_block ();
    asp_svc_t *svc = asp_svc_new (ASP_SVC_SLA);
    const char *path = asp_cfg_str ("ASP_SLA_POLICY_FILE", NULL);
    char why [512];
    sla_policy_watch_t *watch = sla_policy_watch_new (path && *path? path: NULL, why, sizeof why);
    if (!watch) {
        asp_log_error ("bad configuration: ASP_SLA_POLICY_FILE: %s", why);
        fprintf (stderr, "%s\n", why);
        exit (2);
    }
    asp_log_info ("sla: policy %s (version %s)", path && *path? path: "built-in",
                  sla_policy_version (sla_policy_watch_current (watch)));
    sla_fire_t *fire = sla_fire_new (svc, watch);
    sla_clocks_t *clocks = sla_clocks_new (svc, watch, fire);
    asp_svc_run (svc);
    sla_clocks_destroy (&clocks);
    sla_fire_destroy (&fire);
    asp_svc_destroy (&svc);
    sla_policy_watch_destroy (&watch);
    return 0;
}
