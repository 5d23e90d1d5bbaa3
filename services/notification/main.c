/*  asp-notification: every message to a person or an outside system.

    Consumes the bus events routed to it (common/asp_events.c), records one
    notification per event, template and recipient (the rules file,
    notify_rules.h), and delivers it through the recipient's channel (webhook, e-mail, SMS, file, stdout; notify_channel.h)
    with retries, backoff and dead letters. See notify_server.h and the classes it names.

    Usage: asp-notification            serve (configured by ASP_* variables)
           asp-notification --selftest [--list | name...]
                                       the self-tests of its classes (the
                                       store's and server's need Redis)     */
#include "asp_log.h"
#include "asp_selftest.h"
#include "asp_sighup.h"
#include "notify_channel.h"
#include "notify_events.h"
#include "notify_rules.h"
#include "notify_server.h"
#include "notify_store.h"
#include "notify_templates.h"
#include "notify_text.h"
#include <curl/curl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

int
main (int argc, char *argv [])
{
    if (curl_global_init (CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf (stderr, "asp-notification: libcurl failed to initialise\n");
        return 1;
    }
    //  Before any thread: libsodium's own set-up is not thread-safe.
    if (sodium_init () < 0) {
        fprintf (stderr, "asp-notification: libsodium failed to initialise\n");
        return 1;
    }
    if (argc > 1 && strcmp (argv [1], "--selftest") == 0) {
        //  Same list as NOTIFY_SELFTESTS in CMakeLists.txt (notification_selftest_list).
        static const asp_selftest_t tests [] = {
            { "text", notify_text_test, 0 },
            { "templates", notify_templates_test, 0 },
            { "rules", notify_rules_test, 0 },
            { "events", notify_events_test, 0 },
            { "channel", notify_channel_test, 0 },
            { "store", notify_store_test, ASP_SELFTEST_REDIS },
            { "server", notify_server_test, ASP_SELFTEST_REDIS },
        };
        asp_log_init ("notification");
        int rc = asp_selftest_main ("asp-notification", tests, sizeof tests / sizeof tests [0], argc - 2, argv + 2);
        curl_global_cleanup ();
        return rc;
    }
    //  Before any thread starts: the server reads SIGHUP in its loop
    //  (asp_sighup.h) to reload its files.
    asp_sighup_block ();
    if (argc > 1) {
        fprintf (stderr, "usage: asp-notification [--selftest [--list | name...]]\n");
        return 2;
    }
    notify_server_t *server = notify_server_new ();
    int rc = notify_server_run (server);
    notify_server_destroy (&server);
    curl_global_cleanup ();
    return rc;
}
