/*  asp-sla-timer: every deadline, fired once.                             */
#include "asp_svc.h"
#include "sla_clocks.h"
#include <string.h>

int
main (int argc, char *argv [])
{
    if (argc > 1 && strcmp (argv [1], "--selftest") == 0) {
        sla_clocks_test ();
        printf ("sla-timer selftest: 1 passed\n");
        return 0;
    }
    asp_svc_t *svc = asp_svc_new (ASP_SVC_SLA);
    sla_clocks_t *clocks = sla_clocks_new (svc);
    asp_svc_run (svc);
    asp_svc_destroy (&svc);
    sla_clocks_destroy (&clocks);
    return 0;
}
