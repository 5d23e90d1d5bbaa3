/*  asp-selftest: runs the self-test of every common class.
    Usage: asp-selftest [class ...]   (all when none named)                 */
#include "asp_config.h"
#include "asp_curl.h"
#include "asp_curve.h"
#include "asp_envelope.h"
#include "asp_events.h"
#include "asp_httpd.h"
#include "asp_id.h"
#include "asp_json.h"
#include "asp_keys.h"
#include "asp_log.h"
#include "asp_metrics.h"
#include "asp_mp.h"
#include "asp_outbox.h"
#include "asp_rds.h"
#include "asp_txn.h"
#include "asp_vocab.h"
#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    void (*test) (void);
} s_tests [] = {
    { "id", asp_id_test },
    { "keys", asp_keys_test },
    { "config", asp_config_test },
    { "log", asp_log_test },
    { "mp", asp_mp_test },
    { "vocab", asp_vocab_test },
    { "envelope", asp_envelope_test },
    { "events", asp_events_test },
    { "json", asp_json_test },
    { "curl", asp_curl_test },
    { "metrics", asp_metrics_test },
    { "httpd", asp_httpd_test },
    { "outbox", asp_outbox_test },
    { "curve", asp_curve_test },
    { "rds", asp_rds_test },
    { "txn", asp_txn_test },
};

int
main (int argc, char *argv [])
{
    asp_log_init ("selftest");
    int ran = 0;
    for (size_t i = 0; i < sizeof s_tests / sizeof s_tests [0]; i++) {
        bool wanted = argc < 2;
        for (int a = 1; a < argc; a++)
            if (strcmp (argv [a], s_tests [i].name) == 0)
                wanted = true;
        if (!wanted)
            continue;
        printf ("selftest %s ...\n", s_tests [i].name);
        s_tests [i].test ();
        ran++;
    }
    if (ran == 0) {
        fprintf (stderr, "no such test\n");
        return 1;
    }
    printf ("selftest: %d passed\n", ran);
    return 0;
}
