#include "asp_keys.h"
#include <assert.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

unsigned
asp_shard_of (const char *id)
{
    //  FNV-1a: cheap, and spreads the random tails of our ids evenly.
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *) id; *p; p++) {
        h ^= *p;
        h *= 16777619u;
    }
    return h % ASP_SHARDS;
}

void
asp_shard_id_new (char *buf, const char *prefix, unsigned shard)
{
    assert (shard < ASP_SHARDS);
    do
        asp_id_new (buf, prefix);
    while (asp_shard_of (buf) != shard);
}

int
asp_key_fmt (char *buf, size_t len, unsigned shard, const char *fmt, ...)
{
    assert (shard < ASP_SHARDS);
    int n = snprintf (buf, len, "{s%u}:", shard);
    if (n < 0 || (size_t) n >= len) {
        if (len)
            *buf = 0;
        return -1;
    }
    va_list ap;
    va_start (ap, fmt);
    int m = vsnprintf (buf + n, len - (size_t) n, fmt, ap);
    va_end (ap);
    if (m < 0 || (size_t) (n + m) >= len) {
        *buf = 0;
        return -1;
    }
    return n + m;
}

const char *
asp_key (char *buf, size_t len, unsigned shard, const char *pattern, const char *id)
{
    //  pattern comes from a service's key header, not from outside.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    int n = asp_key_fmt (buf, len, shard, pattern, id);
#pragma GCC diagnostic pop
    assert (n > 0);
    return buf;
}

void
asp_keys_test (void)
{
    //  Stable: the scheme is a data format.
    assert (asp_shard_of ("") == 5);        //  FNV-1a offset basis % 16
    unsigned a = asp_shard_of ("T1");
    assert (a < ASP_SHARDS && asp_shard_of ("T1") == a);
    //  Every shard is reachable and ids spread over them.
    unsigned hits [ASP_SHARDS] = { 0 };
    char id [32];
    for (int i = 0; i < 16000; i++) {
        snprintf (id, sizeof id, "T%d", i);
        hits [asp_shard_of (id)]++;
    }
    for (int s = 0; s < ASP_SHARDS; s++)
        assert (hits [s] > 700 && hits [s] < 1300);
    char id2 [ASP_ID_MAX];
    for (unsigned s = 0; s < ASP_SHARDS; s++) {
        asp_shard_id_new (id2, "T", s);
        assert (id2 [0] == 'T' && asp_shard_of (id2) == s);
    }
    char key [ASP_KEY_MAX];
    assert (asp_key_fmt (key, sizeof key, 7, "tk:%s", "T1") == 10);
    assert (strcmp (key, "{s7}:tk:T1") == 0);
    assert (strcmp (asp_key (key, sizeof key, 3, "t:%s:tl", "T9"), "{s3}:t:T9:tl") == 0);
    assert (strcmp (asp_key (key, sizeof key, 3, "sla:due", ""), "{s3}:sla:due") == 0);
    char small [8];
    assert (asp_key_fmt (small, sizeof small, 12, "tk:%s", "T1") == -1 && !*small);
    assert (asp_key_fmt (small, 3, 12, "x") == -1 && !*small);
}
