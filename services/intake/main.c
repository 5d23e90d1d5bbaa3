/*  asp-intake: the public API, ticket creation, and the ticket record that
    every other service's events update.                                   */
#include "asp_config.h"
#include "asp_log.h"
#include "asp_selftest.h"
#include "asp_sighup.h"
#include "intake_notify.h"
#include "intake_ops.h"
#include "intake_ops_stream.h"
#include "asp_svc.h"
#include "intake_actions.h"
#include "intake_api.h"
#include "intake_archive.h"
#include "intake_archive_routes.h"
#include "intake_dashboard.h"
#include "intake_auth.h"
#include "intake_dispatch.h"
#include "intake_http.h"
#include "intake_limit.h"
#include "intake_partners.h"
#include "intake_recovery.h"
#include "intake_search.h"
#include "intake_sla.h"
#include "intake_tickets.h"
#include "intake_events.h"
#include "intake_ticket.h"
#include "intake_warranty.h"
#include "intake_warranty_api.h"
#include "intake_zmq.h"
#include <string.h>

int
main (int argc, char *argv [])
{
    if (argc > 1 && strcmp (argv [1], "--selftest") == 0) {
        //  Same list as INTAKE_SELFTESTS in CMakeLists.txt (intake_selftest_list).
        static const asp_selftest_t tests [] = {
            { "ticket", intake_ticket_test, 0 },
            { "auth", intake_auth_test, 0 },
            { "http", intake_http_test, 0 },
            { "limit", intake_limit_test, 0 },
            { "tickets", intake_tickets_test, 0 },
            { "search", intake_search_test, 0 },
            { "api", intake_api_test, 0 },
            { "archive", intake_archive_test, ASP_SELFTEST_REDIS },
            { "archive_routes", intake_archive_routes_test, 0 },
            { "actions", intake_actions_test, 0 },
            { "dispatch", intake_dispatch_test, 0 },
            { "sla", intake_sla_test, 0 },
            { "warranty", intake_warranty_test, 0 },
            { "warranty_api", intake_warranty_api_test, 0 },
            { "zmq", intake_zmq_test, 0 },
            { "partners", intake_partners_test, 0 },
            { "notify", intake_notify_test, 0 },
            { "recovery", intake_recovery_test, 0 },
            { "dashboard", intake_dashboard_test, 0 },
            { "ops", intake_ops_test, 0 },
            { "ops_stream", intake_ops_stream_test, 0 },
        };
        return asp_selftest_main ("asp-intake", tests, sizeof tests / sizeof tests [0], argc - 2, argv + 2);
    }
    //  Before any thread starts, so that only the warranty's watcher
    //  takes SIGHUP (a poll interrupted by it would end the zloop).
    asp_sighup_block ();
    asp_svc_t *svc = asp_svc_new (ASP_SVC_INTAKE);
    intake_events_register (svc);
    intake_warranty_t *warranty = intake_warranty_new_env (asp_svc_metrics (svc));
    intake_warranty_watch_sighup (warranty);
    intake_api_t *api = intake_api_new (svc, warranty);
    intake_zmq_t *zmq = intake_zmq_new (svc, api);
    asp_svc_http (svc, (int) asp_cfg_int ("ASP_HTTP_PORT", 8080, 1, 65535), intake_api_handle, api);
    asp_svc_run (svc);
    //  Stop HTTP and ZeroMQ first: their threads use api.
    asp_svc_http (svc, 0, NULL, NULL);
    intake_zmq_destroy (&zmq);
    intake_api_destroy (&api);
    intake_warranty_destroy (&warranty);
    asp_svc_destroy (&svc);
    return 0;
}
