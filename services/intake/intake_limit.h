/*  intake_limit: a request rate limit per caller (a token bucket each).

    One caller (a staff token's name, a system, a customer's ticket) may
    make `rate` requests a second on average and `burst` at once; beyond
    that intake answers 429 with Retry-After instead of letting one client
    starve the others or queue work it cannot take. Buckets live in a
    fixed table (oldest replaced when full): a caller forgotten that way
    just starts with a full bucket again.

    Not thread-safe: each intake_api_t (one per serving thread) has its own. */
#ifndef INTAKE_LIMIT_H
#define INTAKE_LIMIT_H
#include <stdbool.h>
#include <stdint.h>

typedef struct intake_limit_t intake_limit_t;

//  rate 0 turns limiting off (every request allowed).
intake_limit_t *intake_limit_new (double rate, double burst);
void intake_limit_destroy (intake_limit_t **self_p);
//  True when who may make a request at now_us (monotonic); else false and
//  *retry_after_s is when a token will be there (at least 1).
bool intake_limit_take (intake_limit_t *self, const char *who, int64_t now_us, int *retry_after_s);

void intake_limit_test (void);
#endif
