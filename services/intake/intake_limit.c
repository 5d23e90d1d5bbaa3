#include "intake_limit.h"
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_BUCKETS 1024

typedef struct {
    char who [64];
    double tokens;
    int64_t at_us;                  //  when tokens was right
} s_bucket_t;

struct intake_limit_t {
    double rate, burst;
    s_bucket_t bucket [S_BUCKETS];
};

intake_limit_t *
intake_limit_new (double rate, double burst)
{
    intake_limit_t *self = (intake_limit_t *) calloc (1, sizeof *self);
    assert (self);
    self->rate = rate;
    self->burst = burst < 1? 1: burst;
    return self;
}

void
intake_limit_destroy (intake_limit_t **self_p)
{
    free (*self_p);
    *self_p = NULL;
}

//  The caller's bucket: found, or a free or the least recently used slot.
static s_bucket_t *
s_bucket (intake_limit_t *self, const char *who, int64_t now_us)
{
    s_bucket_t *oldest = &self->bucket [0];
    for (int i = 0; i < S_BUCKETS; i++) {
        s_bucket_t *b = &self->bucket [i];
        if (strncmp (b->who, who, sizeof b->who - 1) == 0 && b->who [0])
            return b;
        if (!b->who [0] || b->at_us < oldest->at_us)
            oldest = b;
        if (!b->who [0])
            break;
    }
    snprintf (oldest->who, sizeof oldest->who, "%s", who);
    oldest->tokens = self->burst;
    oldest->at_us = now_us;
    return oldest;
}

bool
intake_limit_take (intake_limit_t *self, const char *who, int64_t now_us, int *retry_after_s)
{
    if (self->rate <= 0)
        return true;
    s_bucket_t *b = s_bucket (self, who, now_us);
    b->tokens += (double) (now_us - b->at_us) / 1e6 * self->rate;
    if (b->tokens > self->burst)
        b->tokens = self->burst;
    b->at_us = now_us;
    if (b->tokens >= 1) {
        b->tokens -= 1;
        return true;
    }
    //  Whole seconds, rounded up (Retry-After has no fractions).
    double wait = (1 - b->tokens) / self->rate;
    *retry_after_s = (int) wait + ((double) (int) wait < wait);
    if (*retry_after_s < 1)
        *retry_after_s = 1;
    return false;
}

void
intake_limit_test (void)
{
    intake_limit_t *off = intake_limit_new (0, 0);
    int retry = 0;
    for (int i = 0; i < 10000; i++)
        assert (intake_limit_take (off, "a", 0, &retry));
    intake_limit_destroy (&off);

    intake_limit_t *l = intake_limit_new (2, 3);
    //  A burst of 3, then refused until time refills it at 2 a second.
    for (int i = 0; i < 3; i++)
        assert (intake_limit_take (l, "agent", 0, &retry));
    assert (!intake_limit_take (l, "agent", 0, &retry) && retry == 1);
    assert (intake_limit_take (l, "other", 0, &retry));
    assert (!intake_limit_take (l, "agent", 400000, &retry));
    assert (intake_limit_take (l, "agent", 500000, &retry));
    assert (!intake_limit_take (l, "agent", 500000, &retry));
    //  Many callers: the table recycles, nobody is refused on first sight.
    char who [32];
    for (int i = 0; i < 5 * S_BUCKETS; i++) {
        snprintf (who, sizeof who, "c%d", i);
        assert (intake_limit_take (l, who, 1000000 + i, &retry));
    }
    intake_limit_destroy (&l);
    assert (l == NULL);
}
