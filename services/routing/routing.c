/*  asp-routing: the routing service.

    Turns each ticket into a work order, offers it to partner service
    centers connected as workers (docs/partner-protocol.md), and records
    their answers, progress and completion. See rt_server.h.

    Usage: asp-routing              run (configured by environment variables)
           asp-routing --selftest [--list | name...]   the classes' self tests */
#include "asp_log.h"
#include "asp_selftest.h"
#include "rt_live.h"
#include "asp_svc.h"
#include "rt_deadlines.h"
#include "rt_dispatch.h"
#include "rt_index.h"
#include "rt_orders.h"
#include "rt_partners.h"
#include "rt_profile.h"
#include "rt_queue.h"
#include "rt_registry.h"
#include "rt_server.h"
#include "rt_store.h"
#include "rt_work.h"
#include <stdio.h>
#include <string.h>

int
main (int argc, char *argv [])
{
    if (argc > 1 && strcmp (argv [1], "--selftest") == 0) {
        //  Same list as ROUTING_SELFTESTS in CMakeLists.txt (routing_selftest_list).
        static const asp_selftest_t tests [] = {
            { "deadlines", rt_deadlines_test, 0 },
            { "registry", rt_registry_test, 0 },
            { "orders", rt_orders_test, 0 },
            { "queue", rt_queue_test, 0 },
            { "index", rt_index_test, 0 },
            { "dispatch", rt_dispatch_test, 0 },
            { "store", rt_store_test, ASP_SELFTEST_REDIS },
            { "work", rt_work_test, 0 },
            { "server", rt_server_test, ASP_SELFTEST_REDIS },
            { "profile", rt_profile_test, 0 },
            { "partners", rt_partners_test, ASP_SELFTEST_REDIS },
            { "live", rt_live_test, 0 },
        };
        asp_log_init ("routing");
        return asp_selftest_main ("asp-routing", tests, sizeof tests / sizeof tests [0], argc - 2, argv + 2);
    }
    if (argc > 1) {
        fprintf (stderr, "usage: asp-routing [--selftest [--list | name...]]   (configured by ASP_* environment variables)\n");
        return 2;
    }
    asp_svc_t *svc = asp_svc_new (ASP_SVC_ROUTING);
    rt_server_t *server = rt_server_new (svc);
    int rc = asp_svc_run (svc);
    rt_server_destroy (&server);
    asp_svc_destroy (&svc);
    return rc;
}
