/*  asp_selftest: the runner every self-test binary shares.

    Each class x has void x_test (void): it asserts, so a failure aborts.
    A binary lists its classes in one table and hands argv to
    asp_selftest_main, which understands
        --list        print the table's names, one a line (ctest checks this
                      list against the one in CMake: tests/CMakeLists.txt)
        name ...      run these (all when none named)
    A test that cannot run (no Redis, a missing tool) is a skip, never a
    pass: the process prints why and ends with ASP_SELFTEST_SKIP, which
    ctest reports as skipped (SKIP_RETURN_CODE). Tests flagged
    ASP_SELFTEST_REDIS need a redis-server on ASP_REDIS_PORT
    (tests/with_redis.sh starts a throwaway one); without it they are
    skipped by the runner, before they start.                              */
#ifndef ASP_SELFTEST_H
#define ASP_SELFTEST_H
#include <stdbool.h>
#include <stddef.h>

#define ASP_SELFTEST_SKIP   77      //  exit status of a test that did not run
#define ASP_SELFTEST_REDIS  1       //  flag: needs ASP_REDIS_PORT

typedef struct {
    const char *name;
    void (*test) (void);
    unsigned flags;
} asp_selftest_t;

//  Runs the tests named in argv (argv [0] is the first name, not the
//  program), or all; returns the process's exit status: 0 all ran and
//  passed, ASP_SELFTEST_SKIP when one could not run, 1 on a usage error.
int  asp_selftest_main (const char *program, const asp_selftest_t *tests, size_t count,
                        int argc, char *argv []);
//  Prints "<why>: skipped" and ends the process with ASP_SELFTEST_SKIP.
void asp_selftest_skip (const char *fmt, ...) __attribute__ ((noreturn, format (printf, 1, 2)));
//  Skips unless ASP_REDIS_PORT is set (for tests called outside the runner).
void asp_selftest_need_redis (const char *who);

#endif
