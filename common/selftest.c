/*  asp-selftest: the self-tests of the common classes.
    Usage: asp-selftest [--list | class ...]   (all when none named)
    The list below is checked against ASP_COMMON_SELFTESTS in
    tests/CMakeLists.txt, which registers one ctest per class.              */
#include "asp_calendar.h"
#include "asp_clocks.h"
#include "asp_quality.h"
#include "asp_report.h"
#include "asp_visits.h"
#include "asp_config.h"
#include "asp_curl.h"
#include "asp_curve.h"
#include "asp_envelope.h"
#include "asp_events.h"
#include "asp_filewatch.h"
#include "asp_sighup.h"
#include "asp_hooksig.h"
#include "asp_hours.h"
#include "asp_httpd.h"
#include "asp_id.h"
#include "asp_json.h"
#include "asp_keys.h"
#include "asp_log.h"
#include "asp_metrics.h"
#include "asp_mp.h"
#include "asp_outbox.h"
#include "asp_rds.h"
#include "asp_selftest.h"
#include "asp_svc.h"
#include "asp_svcstat.h"
#include "asp_txn.h"
#include "asp_vocab.h"

static const asp_selftest_t s_tests [] = {
    { "id", asp_id_test, 0 },
    { "keys", asp_keys_test, 0 },
    { "config", asp_config_test, 0 },
    { "log", asp_log_test, 0 },
    { "mp", asp_mp_test, 0 },
    { "vocab", asp_vocab_test, 0 },
    { "envelope", asp_envelope_test, 0 },
    { "events", asp_events_test, 0 },
    { "json", asp_json_test, 0 },
    { "curl", asp_curl_test, 0 },
    { "hooksig", asp_hooksig_test, 0 },
    { "metrics", asp_metrics_test, 0 },
    { "httpd", asp_httpd_test, 0 },
    { "outbox", asp_outbox_test, ASP_SELFTEST_REDIS },
    { "curve", asp_curve_test, 0 },
    { "hours", asp_hours_test, 0 },
    { "calendar", asp_calendar_test, 0 },
    { "filewatch", asp_filewatch_test, 0 },
    { "sighup", asp_sighup_test, 0 },
    { "clocks", asp_clocks_test, 0 },
    { "quality", asp_quality_test, ASP_SELFTEST_REDIS },
    { "report", asp_report_test, ASP_SELFTEST_REDIS },
    { "visits", asp_visits_test, ASP_SELFTEST_REDIS },
    { "rds", asp_rds_test, ASP_SELFTEST_REDIS },
    { "txn", asp_txn_test, ASP_SELFTEST_REDIS },
    { "svc", asp_svc_test, ASP_SELFTEST_REDIS },
    { "svcstat", asp_svcstat_test, ASP_SELFTEST_REDIS },
};

int
main (int argc, char *argv [])
{
    asp_log_init ("selftest");
    return asp_selftest_main ("asp-selftest", s_tests, sizeof s_tests / sizeof s_tests [0],
                              argc - 1, argv + 1);
}
