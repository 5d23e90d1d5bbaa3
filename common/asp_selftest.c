#include "asp_selftest.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
asp_selftest_skip (const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    vprintf (fmt, ap);
    va_end (ap);
    printf (": skipped\n");
    fflush (stdout);
    exit (ASP_SELFTEST_SKIP);
}

void
asp_selftest_need_redis (const char *who)
{
    if (!getenv ("ASP_REDIS_PORT"))
        asp_selftest_skip ("%s: no redis-server (ASP_REDIS_PORT unset; tests/with_redis.sh starts one)", who);
}

static bool
s_named (const char *name, int argc, char *argv [])
{
    for (int a = 0; a < argc; a++)
        if (strcmp (argv [a], name) == 0)
            return true;
    return false;
}

int
asp_selftest_main (const char *program, const asp_selftest_t *tests, size_t count,
                   int argc, char *argv [])
{
    if (argc == 1 && strcmp (argv [0], "--list") == 0) {
        for (size_t i = 0; i < count; i++)
            printf ("%s\n", tests [i].name);
        return 0;
    }
    for (int a = 0; a < argc; a++) {
        size_t i = 0;
        while (i < count && strcmp (tests [i].name, argv [a]) != 0)
            i++;
        if (i == count) {
            fprintf (stderr, "%s: no self-test named '%s' (--list shows them)\n", program, argv [a]);
            return 1;
        }
    }
    bool redis = getenv ("ASP_REDIS_PORT") != NULL;
    int ran = 0, skipped = 0;
    for (size_t i = 0; i < count; i++) {
        if (argc > 0 && !s_named (tests [i].name, argc, argv))
            continue;
        if ((tests [i].flags & ASP_SELFTEST_REDIS) && !redis) {
            printf ("%s %s: no redis-server (ASP_REDIS_PORT unset): skipped\n", program, tests [i].name);
            skipped++;
            continue;
        }
        printf ("%s %s ...\n", program, tests [i].name);
        fflush (stdout);
        tests [i].test ();
        ran++;
    }
    printf ("%s: %d passed, %d skipped\n", program, ran, skipped);
    return skipped? ASP_SELFTEST_SKIP: 0;
}
