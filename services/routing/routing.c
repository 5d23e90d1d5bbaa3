/*  asp-routing: the routing service.

    Turns each ticket into a work order, offers it to partner service
    centers connected as workers (docs/partner-protocol.md), and records
    their answers, progress and completion. See rt_server.h.

    Usage: asp-routing              run (configured by environment variables)
           asp-routing --selftest   run the classes' self tests             */
#include "asp_log.h"
#include "asp_svc.h"
#include "rt_deadlines.h"
#include "rt_orders.h"
#include "rt_registry.h"
#include "rt_server.h"
#include "rt_store.h"
#include <stdio.h>
#include <string.h>

int
main (int argc, char *argv [])
{
    if (argc == 2 && strcmp (argv [1], "--selftest") == 0) {
        asp_log_init ("routing");
        printf ("Running asp-routing self tests...\n");
        rt_deadlines_test ();
        rt_registry_test ();
        rt_orders_test ();
        rt_store_test ();
        printf ("Tests passed OK\n");
        return 0;
    }
    if (argc > 1) {
        fprintf (stderr, "usage: asp-routing [--selftest]   (configured by ASP_* environment variables)\n");
        return 2;
    }
    asp_svc_t *svc = asp_svc_new (ASP_SVC_ROUTING);
    rt_server_t *server = rt_server_new (svc);
    int rc = asp_svc_run (svc);
    rt_server_destroy (&server);
    asp_svc_destroy (&svc);
    return rc;
}
