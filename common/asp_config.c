#include "asp_config.h"
#include "asp_log.h"
#include <assert.h>
#include <errno.h>
#include <stdlib.h>

int
asp_parse_int (const char *s, int64_t min, int64_t max, int64_t *out)
{
    if (!s || !*s)
        return -1;
    char *end = NULL;
    errno = 0;
    long long v = strtoll (s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

const char *
asp_cfg_str (const char *name, const char *dflt)
{
    const char *v = getenv (name);
    return (v && *v)? v: dflt;
}

int64_t
asp_cfg_int (const char *name, int64_t dflt, int64_t min, int64_t max)
{
    const char *v = getenv (name);
    if (!v || !*v)
        return dflt;
    int64_t out;
    if (asp_parse_int (v, min, max, &out)) {
        asp_log_error ("bad configuration: %s='%s' must be an integer in [%lld, %lld]",
                       name, v, (long long) min, (long long) max);
        exit (2);
    }
    return out;
}

void
asp_config_test (void)
{
    int64_t v;
    assert (asp_parse_int ("42", 0, 100, &v) == 0 && v == 42);
    assert (asp_parse_int ("42x", 0, 100, &v) == -1);
    assert (asp_parse_int ("101", 0, 100, &v) == -1);
    assert (asp_parse_int ("", 0, 100, &v) == -1);
    setenv ("ASP_TEST_CFG", "7", 1);
    assert (asp_cfg_int ("ASP_TEST_CFG", 1, 0, 10) == 7);
    assert (asp_cfg_int ("ASP_TEST_CFG_UNSET", 3, 0, 10) == 3);
    assert (*asp_cfg_str ("ASP_TEST_CFG_UNSET", "d") == 'd');
    unsetenv ("ASP_TEST_CFG");
}
