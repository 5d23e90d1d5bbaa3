/*  intake_auth: who is calling intake.

    Staff and systems present a bearer token from ASP_API_TOKENS
    ("token:role[:name],..."); the name (default: the role) is who the
    timeline and the ticket's owner record. A customer presents a
    per-ticket access token, minted when the ticket is created and sent in
    the link they receive:

        c1.<ticket id>.<expiry, unix seconds>.<mac>

    mac is HMAC-SHA-512-256 (libsodium crypto_auth) of "c1.<ticket>.<expiry>"
    under ASP_CUSTOMER_TOKEN_KEY (64 hex characters). Nothing is stored:
    the token is valid while the key is. A customer token admits only the
    routes that list INTAKE_ROLE_CUSTOMER, and only for its own ticket.

    Tokens are compared in constant time. Without ASP_API_TOKENS every call
    is allowed (a local demo): intake_caller_t.open says so.                */
#ifndef INTAKE_AUTH_H
#define INTAKE_AUTH_H
#include "asp_id.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    INTAKE_ROLE_AGENT = 0,
    INTAKE_ROLE_SUPERVISOR,
    INTAKE_ROLE_OPS,
    INTAKE_ROLE_ADMIN,
    INTAKE_ROLE_SYSTEM,
    INTAKE_ROLE_CUSTOMER,           //  a per-ticket access token
    INTAKE_ROLE_COUNT
} intake_role_t;

#define INTAKE_ROLE_BIT(r) (1u << (r))
#define INTAKE_STAFF (INTAKE_ROLE_BIT (INTAKE_ROLE_AGENT) | INTAKE_ROLE_BIT (INTAKE_ROLE_SUPERVISOR) \
                      | INTAKE_ROLE_BIT (INTAKE_ROLE_ADMIN))
#define INTAKE_READERS (INTAKE_STAFF | INTAKE_ROLE_BIT (INTAKE_ROLE_OPS) | INTAKE_ROLE_BIT (INTAKE_ROLE_SYSTEM))

typedef enum {
    INTAKE_AUTH_OK = 0,
    INTAKE_AUTH_MISSING,            //  no or unknown token: 401
    INTAKE_AUTH_EXPIRED             //  a customer token past its expiry: 401
} intake_auth_result_t;

typedef struct intake_caller_t {
    intake_role_t role;
    bool open;                      //  tokens off: every route allowed
    char who [64];                  //  staff name; the ticket id for a customer
} intake_caller_t;

typedef struct intake_auth_t intake_auth_t;

//  Reads ASP_API_TOKENS, ASP_CUSTOMER_TOKEN_KEY and ASP_CUSTOMER_TOKEN_TTL_S;
//  exits 2 naming the variable when one is malformed.
intake_auth_t *intake_auth_new (void);
//  For tests: from the values themselves (key_hex may be NULL: a random
//  key). NULL when spec or key_hex is malformed.
intake_auth_t *intake_auth_new_from (const char *spec, const char *key_hex, int64_t ttl_s);
void intake_auth_destroy (intake_auth_t **self_p);

//  Who sends the Authorization header value (may be NULL), at now_s.
intake_auth_result_t intake_auth_check (intake_auth_t *self, const char *authorization,
                                        int64_t now_s, intake_caller_t *caller);
//  A customer token for ticket, valid from now_s for the configured TTL,
//  into out (INTAKE_TOKEN_MAX bytes).
#define INTAKE_TOKEN_MAX (ASP_ID_MAX + 96)
void intake_auth_customer_token (intake_auth_t *self, const char *ticket, int64_t now_s, char *out);
//  The role's name ("agent"), or "?".
const char *intake_role_name (intake_role_t role);

void intake_auth_test (void);
#endif
