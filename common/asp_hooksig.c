#include "asp_hooksig.h"
#include "asp_config.h"
#include <assert.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

int
asp_hooksig_parse (const char *value, asp_hooksig_keys_t *keys, char *why, size_t whylen)
{
    memset (keys, 0, sizeof *keys);
    if (!value || !*value)
        return 0;
    for (const char *at = value;;) {
        const char *comma = strchr (at, ',');
        size_t len = comma? (size_t) (comma - at): strlen (at);
        if (keys->count == ASP_HOOKSIG_KEYS) {
            snprintf (why, whylen, "more than %d secrets (the new one and, while rotating, the old one)",
                      ASP_HOOKSIG_KEYS);
            return -1;
        }
        if (len < ASP_HOOKSIG_KEY_MIN || len > ASP_HOOKSIG_KEY_MAX) {
            snprintf (why, whylen, "secret %d is %zu bytes; it must be %d..%d bytes", keys->count + 1,
                      len, ASP_HOOKSIG_KEY_MIN, ASP_HOOKSIG_KEY_MAX);
            return -1;
        }
        memcpy (keys->key [keys->count], at, len);
        keys->key [keys->count][len] = 0;
        keys->len [keys->count++] = len;
        if (!comma)
            return 0;
        at = comma + 1;
    }
}

static void
s_mac (const char *key, size_t keylen, const char *stamp, size_t stamplen, const char *body,
       size_t len, unsigned char *mac)
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init (&st, (const unsigned char *) key, keylen);
    crypto_auth_hmacsha256_update (&st, (const unsigned char *) stamp, stamplen);
    crypto_auth_hmacsha256_update (&st, (const unsigned char *) ".", 1);
    crypto_auth_hmacsha256_update (&st, (const unsigned char *) body, len);
    crypto_auth_hmacsha256_final (&st, mac);
}

void
asp_hooksig_sign (const asp_hooksig_keys_t *keys, int64_t timestamp, const char *body, size_t len,
                  char *out)
{
    char stamp [24];
    int stamplen = snprintf (stamp, sizeof stamp, "%lld", (long long) timestamp);
    size_t used = 0;
    out [0] = 0;
    for (int i = 0; i < keys->count; i++) {
        unsigned char mac [crypto_auth_hmacsha256_BYTES];
        s_mac (keys->key [i], keys->len [i], stamp, (size_t) stamplen, body, len, mac);
        if (i)
            out [used++] = ',';
        memcpy (out + used, "v1=", 3);
        sodium_bin2hex (out + used + 3, ASP_HOOKSIG_MAX - used - 3, mac, sizeof mac);
        used += 3 + 2 * sizeof mac;
    }
}

int
asp_hooksig_verify (const asp_hooksig_keys_t *keys, const char *timestamp, const char *signature,
                    const char *body, size_t len, int64_t now, int window_s, char *why, size_t whylen)
{
    int64_t ts;
    if (!timestamp || asp_parse_int (timestamp, 0, INT64_MAX / 2, &ts)) {
        snprintf (why, whylen, "X-ASP-Timestamp must be the unix time in seconds");
        return -1;
    }
    if (ts < now - window_s || ts > now + window_s) {
        snprintf (why, whylen, "X-ASP-Timestamp is %lld s away from now (the window is %d s)",
                  (long long) (ts - now), window_s);
        return -1;
    }
    if (!signature) {
        snprintf (why, whylen, "X-ASP-Signature is missing");
        return -1;
    }
    //  Every key against every v1= of the header; an unknown scheme is
    //  skipped (a future v2 beside v1).
    unsigned char macs [ASP_HOOKSIG_KEYS][crypto_auth_hmacsha256_BYTES];
    for (int i = 0; i < keys->count; i++)
        s_mac (keys->key [i], keys->len [i], timestamp, strlen (timestamp), body, len, macs [i]);
    bool match = false;
    for (const char *at = signature; at && *at;) {
        while (*at == ' ')
            at++;
        const char *end = strchr (at, ',');
        size_t n = end? (size_t) (end - at): strlen (at);
        unsigned char got [crypto_auth_hmacsha256_BYTES];
        size_t got_len = 0;
        if (n == 3 + 2 * sizeof got && memcmp (at, "v1=", 3) == 0
        &&  sodium_hex2bin (got, sizeof got, at + 3, n - 3, NULL, &got_len, NULL) == 0
        &&  got_len == sizeof got)
            for (int i = 0; i < keys->count; i++)
                if (sodium_memcmp (got, macs [i], sizeof got) == 0)
                    match = true;
        at = end? end + 1: NULL;
    }
    if (!match) {
        snprintf (why, whylen, "no X-ASP-Signature v1= matches the body and timestamp");
        return -1;
    }
    return 0;
}

void
asp_hooksig_test (void)
{
    assert (sodium_init () >= 0);
    char why [200];
    asp_hooksig_keys_t keys;
    assert (asp_hooksig_parse (NULL, &keys, why, sizeof why) == 0 && keys.count == 0);
    assert (asp_hooksig_parse ("short", &keys, why, sizeof why) == -1 && strstr (why, "5 bytes"));
    assert (asp_hooksig_parse ("0123456789abcdef0123456789abcdef,", &keys, why, sizeof why) == -1);
    assert (asp_hooksig_parse ("0123456789abcdef0123456789abcdef,0123456789abcdef0123456789abcdef,"
                               "0123456789abcdef0123456789abcdef", &keys, why, sizeof why) == -1);
    //  The worked example of docs/notifications.md (tests/channels_test.py
    //  checks the document's copy with Python's hmac).
    assert (asp_hooksig_parse ("whsec_0123456789abcdef0123456789abcdef", &keys, why, sizeof why) == 0);
    const char *body = "{\"id\":\"N0123456789abcdef01234567\",\"template\":\"received\"}";
    char sig [ASP_HOOKSIG_MAX];
    asp_hooksig_sign (&keys, 1796188743, body, strlen (body), sig);
    assert (strcmp (sig, "v1=6b139a1501dddcd7e3cda013851945cb7942fdcad6b1129bff66e255207a2548") == 0);
    //  Rotation: new first, then the old one.
    assert (asp_hooksig_parse ("whsec_0123456789abcdef0123456789abcdef,whsec_old_secret_is_still_32_bytes_long",
                               &keys, why, sizeof why) == 0 && keys.count == 2);
    asp_hooksig_sign (&keys, 1796188743, body, strlen (body), sig);
    assert (strcmp (sig, "v1=6b139a1501dddcd7e3cda013851945cb7942fdcad6b1129bff66e255207a2548,"
                         "v1=e8bdde7fac7ff686cced1274c419bccc699ebe7784a2bfbf2aabab81eb35f9b7") == 0);
    size_t len = strlen (body);
    //  Verified by the old secret alone, and by the new alone.
    asp_hooksig_keys_t old_only, new_only;
    assert (asp_hooksig_parse ("whsec_old_secret_is_still_32_bytes_long", &old_only, why, sizeof why) == 0);
    assert (asp_hooksig_parse ("whsec_0123456789abcdef0123456789abcdef", &new_only, why, sizeof why) == 0);
    assert (asp_hooksig_verify (&old_only, "1796188743", sig, body, len, 1796188743, 300, why, sizeof why) == 0);
    assert (asp_hooksig_verify (&new_only, "1796188743", sig, body, len, 1796188800, 300, why, sizeof why) == 0);
    //  Outside the window, a changed body, a wrong key, garbage: refused.
    assert (asp_hooksig_verify (&new_only, "1796188743", sig, body, len, 1796189044, 300, why, sizeof why) == -1);
    assert (strstr (why, "window"));
    assert (asp_hooksig_verify (&new_only, "1796188743", sig, body, len, 1796188442, 300, why, sizeof why) == -1);
    assert (asp_hooksig_verify (&new_only, "1796188743", sig, body, len - 1, 1796188743, 300, why, sizeof why) == -1);
    assert (asp_hooksig_verify (&new_only, "1796188744", sig, body, len, 1796188743, 300, why, sizeof why) == -1);
    asp_hooksig_keys_t other;
    assert (asp_hooksig_parse ("another_secret_of_32_bytes_or_more", &other, why, sizeof why) == 0);
    assert (asp_hooksig_verify (&other, "1796188743", sig, body, len, 1796188743, 300, why, sizeof why) == -1);
    assert (asp_hooksig_verify (&new_only, NULL, sig, body, len, 1796188743, 300, why, sizeof why) == -1);
    assert (asp_hooksig_verify (&new_only, "1796188743", NULL, body, len, 1796188743, 300, why, sizeof why) == -1);
    assert (asp_hooksig_verify (&new_only, "1796188743", "v1=zz", body, len, 1796188743, 300, why, sizeof why) == -1);
    assert (asp_hooksig_verify (&new_only, "17961887x", sig, body, len, 1796188743, 300, why, sizeof why) == -1);
    printf ("asp_hooksig_test: ok\n");
}
