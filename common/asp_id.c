#include "asp_id.h"
#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

static _Thread_local uint64_t s_state;

uint64_t
asp_rand64 (void)
{
    //  xorshift64*, seeded per thread from the kernel; fast and good enough
    //  to keep ids from colliding across processes and restarts.
    if (s_state == 0) {
        if (getrandom (&s_state, sizeof s_state, 0) != sizeof s_state || s_state == 0)
            s_state = (uint64_t) asp_mono_us () ^ (uint64_t) pthread_self () ^ 0x9E3779B97F4A7C15ull;
    }
    s_state ^= s_state >> 12;
    s_state ^= s_state << 25;
    s_state ^= s_state >> 27;
    return s_state * 0x2545F4914F6CDD1Dull;
}

int64_t
asp_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
asp_mono_ms (void)
{
    return asp_mono_us () / 1000;
}

int64_t
asp_mono_us (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static char *
s_base36 (char *out, uint64_t v)
{
    char tmp [16];
    int n = 0;
    do {
        tmp [n++] = "0123456789abcdefghijklmnopqrstuvwxyz" [v % 36];
        v /= 36;
    } while (v);
    while (n)
        *out++ = tmp [--n];
    return out;
}

void
asp_id_new (char *buf, const char *prefix)
{
    size_t plen = prefix? strlen (prefix): 0;
    if (plen > 8)
        plen = 8;
    memcpy (buf, prefix, plen);
    char *p = s_base36 (buf + plen, (uint64_t) asp_now_ms ());
    p = s_base36 (p, asp_rand64 ());
    *p = 0;
}

int
asp_id_valid (const char *s, size_t len)
{
    if (!s || len == 0 || len >= ASP_ID_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s [i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
              || c == '.' || c == '_' || c == ':' || c == '-'))
            return 0;
    }
    return 1;
}

int
asp_child_id_valid (const char *s, size_t len, char prefix)
{
    return s && len >= 2 && s [0] == prefix && asp_id_valid (s + 1, len - 1);
}

void
asp_id_test (void)
{
    char a [ASP_ID_MAX], b [ASP_ID_MAX];
    asp_id_new (a, "T");
    asp_id_new (b, "T");
    assert (a [0] == 'T' && strcmp (a, b) != 0);
    assert (asp_id_valid (a, strlen (a)));
    assert (!asp_id_valid ("bad id", 6));
    assert (!asp_id_valid ("", 0));
    assert (asp_now_ms () > 1600000000000LL);
    //  The boundary: the longest valid ticket id still names a work order
    //  that fits ASP_CHILD_ID_MAX; one character more is not an id.
    char ticket [ASP_ID_MAX + 1], wo [ASP_CHILD_ID_MAX + 1];
    memset (ticket, 'x', ASP_ID_MAX);
    ticket [ASP_ID_MAX - 1] = 0;
    assert (asp_id_valid (ticket, ASP_ID_MAX - 1));
    assert (snprintf (wo, ASP_CHILD_ID_MAX, "W%s", ticket) == ASP_CHILD_ID_MAX - 1);
    assert (asp_child_id_valid (wo, strlen (wo), 'W'));
    assert (!asp_child_id_valid (wo, strlen (wo), 'V'));
    ticket [ASP_ID_MAX - 1] = 'x';
    ticket [ASP_ID_MAX] = 0;
    assert (!asp_id_valid (ticket, ASP_ID_MAX));
    snprintf (wo, sizeof wo, "W%s", ticket);
    assert (!asp_child_id_valid (wo, strlen (wo), 'W'));
    assert (!asp_child_id_valid ("W", 1, 'W') && !asp_child_id_valid ("W a", 3, 'W'));
}
