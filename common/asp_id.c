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

int
asp_wo_id (const char *ticket, int64_t gen, char *out, size_t outlen)
{
    int n = gen <= 1? snprintf (out, outlen, "W%s", ticket)
                    : snprintf (out, outlen, "W%s.%lld", ticket, (long long) gen);
    if (n < 0 || (size_t) n >= outlen || !asp_child_id_valid (out, (size_t) n, 'W')) {
        if (outlen)
            *out = 0;
        return -1;
    }
    return 0;
}

int
asp_wo_ticket (const char *wo_id, char *out, size_t outlen)
{
    size_t len = wo_id? strlen (wo_id): 0;
    if (!asp_child_id_valid (wo_id, len, 'W'))
        return -1;
    const char *end = wo_id + len;
    const char *dot = strrchr (wo_id, '.');
    if (dot && dot [1] && strspn (dot + 1, "0123456789") == strlen (dot + 1))
        end = dot;
    size_t n = (size_t) (end - wo_id - 1);
    if (n == 0 || n >= outlen)
        return -1;
    memcpy (out, wo_id + 1, n);
    out [n] = 0;
    return 0;
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
    //  Work order generations, and back to the ticket.
    char t [ASP_ID_MAX];
    assert (asp_wo_id ("T1", 1, wo, sizeof wo) == 0 && strcmp (wo, "WT1") == 0);
    assert (asp_wo_ticket (wo, t, sizeof t) == 0 && strcmp (t, "T1") == 0);
    assert (asp_wo_id ("T1", 12, wo, sizeof wo) == 0 && strcmp (wo, "WT1.12") == 0);
    assert (asp_wo_ticket (wo, t, sizeof t) == 0 && strcmp (t, "T1") == 0);
    assert (asp_wo_ticket ("WT1.x", t, sizeof t) == 0 && strcmp (t, "T1.x") == 0);
    assert (asp_wo_ticket ("W.2", t, sizeof t) == -1 && asp_wo_ticket ("VT1", t, sizeof t) == -1);
    ticket [ASP_ID_MAX - 1] = 0;
    assert (asp_wo_id (ticket, 1, wo, sizeof wo) == 0 && asp_wo_id (ticket, 2, wo, sizeof wo) == -1 && !*wo);
}
