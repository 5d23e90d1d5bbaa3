/*  asp_sighup: SIGHUP ("read your files again") handled in a service's
    zloop.

    A signal handler runs on whatever thread the kernel picks and may do
    almost nothing safely, and a poll that a signal interrupts ends a
    zloop. So SIGHUP is blocked in every thread (asp_sighup_block, before
    the first thread starts: threads inherit the mask) and read from a
    signalfd that the loop polls like a socket: the reload then runs on
    the loop's thread, between two messages, with no lock. Without the
    block the default action of SIGHUP would end the process.

    Ownership: the caller owns the watch and destroys it before the loop.
    Not thread-safe (the loop's thread only).                             */
#ifndef ASP_SIGHUP_H
#define ASP_SIGHUP_H
#include <czmq.h>

typedef struct asp_sighup_t asp_sighup_t;
typedef void (asp_sighup_fn) (void *arg);

//  Blocks SIGHUP in the calling thread and so in every thread it starts
//  afterwards. Call it first thing in main.
void asp_sighup_block (void);
//  Calls fn (arg) on loop's thread after SIGHUP (several pending at once:
//  once). name says whose reload in the log. NULL (logged) when the system
//  gives no signalfd: SIGHUP then reloads nothing, files are still looked
//  at on their own pace.
asp_sighup_t *asp_sighup_new (zloop_t *loop, const char *name, asp_sighup_fn *fn, void *arg);
void asp_sighup_destroy (asp_sighup_t **self_p);

void asp_sighup_test (void);
#endif
