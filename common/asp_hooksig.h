/*  asp_hooksig: the webhook signature (docs/notifications.md, "Signing").

    X-ASP-Timestamp: <unix seconds>
    X-ASP-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>
    (the Stripe scheme; libsodium's crypto_auth_hmacsha256). While a secret
    is rotated both are configured ("new,old"): the signer writes one v1=
    per secret, new first, comma-separated; a verifier accepts a request
    when any v1= matches any of its secrets (compared in constant time)
    and the timestamp is within the replay window of its clock.

    The sender (notification's webhook) and the simulated customer (the
    receiver of tests and run.sh) share this; tests/channels_test.py checks
    both against Python's hmac, an independent implementation.

    Call sodium_init before any of it.                                     */
#ifndef ASP_HOOKSIG_H
#define ASP_HOOKSIG_H
#include <stddef.h>
#include <stdint.h>

#define ASP_HOOKSIG_KEY_MIN   32    //  bytes of a secret, at least
#define ASP_HOOKSIG_KEY_MAX   255
#define ASP_HOOKSIG_KEYS      2     //  the current secret and, while rotating, the old
#define ASP_HOOKSIG_WINDOW_S  300   //  the replay window: +-5 minutes
//  The header value's room: "v1=" + 64 hex per key, commas, NUL.
#define ASP_HOOKSIG_MAX       (ASP_HOOKSIG_KEYS * 68 + 1)

typedef struct {
    char key [ASP_HOOKSIG_KEYS][ASP_HOOKSIG_KEY_MAX + 1];
    size_t len [ASP_HOOKSIG_KEYS];
    int count;                      //  0: no secret (unsigned)
} asp_hooksig_keys_t;

//  Parses "secret" or "new,old" (NULL or "": no secret). 0, or -1 with
//  the reason in why (too short, too long, empty, more than two).
int  asp_hooksig_parse (const char *value, asp_hooksig_keys_t *keys, char *why, size_t whylen);
//  Writes the X-ASP-Signature value for body at timestamp into out
//  (ASP_HOOKSIG_MAX bytes): one "v1=<hex>" per key, new first.
void asp_hooksig_sign (const asp_hooksig_keys_t *keys, int64_t timestamp, const char *body,
                       size_t len, char *out);
//  Checks a request's timestamp and signature headers (either may be
//  NULL: missing) against keys at now (unix seconds). 0 when a signature
//  matches and the timestamp is within window_s, else -1 and why.
int  asp_hooksig_verify (const asp_hooksig_keys_t *keys, const char *timestamp, const char *signature,
                         const char *body, size_t len, int64_t now, int window_s, char *why,
                         size_t whylen);

void asp_hooksig_test (void);
#endif
