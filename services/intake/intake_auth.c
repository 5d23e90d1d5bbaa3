#include "intake_auth.h"
#include "asp_config.h"
#include "asp_log.h"
#include <assert.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_TOKENS 64
#define S_TOKEN_MAX  128
#define S_PREFIX     "c1."

static const char *s_role_names [INTAKE_ROLE_COUNT] = {
    "agent", "supervisor", "ops", "admin", "system", "customer"
};

struct intake_auth_t {
    struct {
        unsigned char hash [crypto_generichash_BYTES];
        intake_role_t role;
        char name [64];
    } tokens [S_MAX_TOKENS];
    int ntokens;
    unsigned char key [crypto_auth_KEYBYTES];
    int64_t ttl_s;
};

const char *
intake_role_name (intake_role_t role)
{
    return role < INTAKE_ROLE_COUNT? s_role_names [role]: "?";
}

//  Staff and system roles only: "customer" is never configured, it is what
//  a per-ticket token is.
static int
s_staff_role (const char *name)
{
    for (int i = 0; i < INTAKE_ROLE_CUSTOMER; i++)
        if (strcmp (name, s_role_names [i]) == 0)
            return i;
    return -1;
}

//  "token:role[:name],..." -> tokens; -1 when malformed.
static int
s_parse_tokens (intake_auth_t *self, const char *spec)
{
    char *copy = strdup (spec), *save = NULL;
    int rc = 0;
    for (char *item = strtok_r (copy, ",", &save); item && rc == 0; item = strtok_r (NULL, ",", &save)) {
        char *role = strchr (item, ':');
        char *name = role? strchr (role + 1, ':'): NULL;
        if (name)
            *name++ = 0;
        if (!role || role == item || self->ntokens == S_MAX_TOKENS
        ||  (size_t) (role - item) >= S_TOKEN_MAX || strncmp (item, S_PREFIX, 3) == 0
        ||  (name && (!*name || strlen (name) >= sizeof self->tokens [0].name))) {
            rc = -1;
            break;
        }
        *role++ = 0;
        int r = s_staff_role (role);
        if (r < 0) {
            rc = -1;
            break;
        }
        crypto_generichash (self->tokens [self->ntokens].hash, crypto_generichash_BYTES,
                            (const unsigned char *) item, strlen (item), NULL, 0);
        self->tokens [self->ntokens].role = (intake_role_t) r;
        snprintf (self->tokens [self->ntokens].name, sizeof self->tokens [0].name, "%s", name? name: role);
        self->ntokens++;
    }
    free (copy);
    return rc;
}

intake_auth_t *
intake_auth_new_from (const char *spec, const char *key_hex, int64_t ttl_s)
{
    if (sodium_init () < 0)
        return NULL;
    intake_auth_t *self = (intake_auth_t *) calloc (1, sizeof *self);
    assert (self);
    self->ttl_s = ttl_s;
    size_t keylen = 0;
    if (s_parse_tokens (self, spec? spec: "") < 0
    ||  (key_hex && *key_hex
         && (strlen (key_hex) != 2 * sizeof self->key
             || sodium_hex2bin (self->key, sizeof self->key, key_hex, strlen (key_hex),
                                NULL, &keylen, NULL) != 0
             || keylen != sizeof self->key))) {
        free (self);
        return NULL;
    }
    //  Without a configured key the tokens die with the process: fine for a
    //  demo, wrong for production (the README says to set it).
    if (!key_hex || !*key_hex)
        crypto_auth_keygen (self->key);
    return self;
}

intake_auth_t *
intake_auth_new (void)
{
    const char *spec = asp_cfg_str ("ASP_API_TOKENS", "");
    const char *key = asp_cfg_str ("ASP_CUSTOMER_TOKEN_KEY", "");
    int64_t ttl = asp_cfg_int ("ASP_CUSTOMER_TOKEN_TTL_S", 90 * 86400, 60, 3650LL * 86400);
    intake_auth_t *self = intake_auth_new_from (spec, key, ttl);
    if (!self) {
        intake_auth_t *probe = intake_auth_new_from (spec, NULL, ttl);
        asp_log_error ("bad configuration: %s",
                       probe? "ASP_CUSTOMER_TOKEN_KEY must be 64 hex characters (32 bytes)"
                            : "ASP_API_TOKENS must be token:role[:name] pairs separated by commas, "
                              "roles agent|supervisor|ops|admin|system, tokens not starting with c1.");
        intake_auth_destroy (&probe);
        exit (2);
    }
    if (!*key && self->ntokens > 0)
        asp_log_warn ("ASP_CUSTOMER_TOKEN_KEY is not set: customer links die with this process");
    return self;
}

void
intake_auth_destroy (intake_auth_t **self_p)
{
    if (*self_p) {
        sodium_memzero (*self_p, sizeof **self_p);
        free (*self_p);
        *self_p = NULL;
    }
}

static void
s_mac (intake_auth_t *self, const char *signed_part, size_t len, char *hex)
{
    unsigned char mac [crypto_auth_BYTES];
    crypto_auth (mac, (const unsigned char *) signed_part, len, self->key);
    sodium_bin2hex (hex, 2 * sizeof mac + 1, mac, sizeof mac);
}

void
intake_auth_customer_token (intake_auth_t *self, const char *ticket, int64_t now_s, char *out)
{
    int n = snprintf (out, INTAKE_TOKEN_MAX, S_PREFIX "%s.%lld.", ticket, (long long) (now_s + self->ttl_s));
    assert (n > 0 && n + 2 * crypto_auth_BYTES < INTAKE_TOKEN_MAX);
    s_mac (self, out, (size_t) n - 1, out + n);
}

//  A customer token: c1.<ticket>.<expiry>.<mac>.
static intake_auth_result_t
s_customer (intake_auth_t *self, const char *token, int64_t now_s, intake_caller_t *caller)
{
    size_t len = strlen (token);
    if (len >= INTAKE_TOKEN_MAX || len < 2 * crypto_auth_BYTES + 8)
        return INTAKE_AUTH_MISSING;
    const char *mac = token + len - 2 * crypto_auth_BYTES;
    if (mac [-1] != '.')
        return INTAKE_AUTH_MISSING;
    char want [2 * crypto_auth_BYTES + 1];
    s_mac (self, token, (size_t) (mac - token - 1), want);
    if (sodium_memcmp (want, mac, 2 * crypto_auth_BYTES) != 0)
        return INTAKE_AUTH_MISSING;
    //  Signed, so well formed: c1.<ticket>.<expiry>
    const char *ticket = token + 3;
    const char *dot = memchr (ticket, '.', (size_t) (mac - ticket));
    if (!dot || !asp_id_valid (ticket, (size_t) (dot - ticket)))
        return INTAKE_AUTH_MISSING;
    //  The ticket id may hold dots: the expiry is after the last one.
    const char *exp = mac - 2;
    while (exp > ticket && *exp != '.')
        exp--;
    long long expiry = strtoll (exp + 1, NULL, 10);
    if (expiry < now_s)
        return INTAKE_AUTH_EXPIRED;
    caller->role = INTAKE_ROLE_CUSTOMER;
    snprintf (caller->who, sizeof caller->who, "%.*s", (int) (exp - ticket), ticket);
    return INTAKE_AUTH_OK;
}

intake_auth_result_t
intake_auth_check (intake_auth_t *self, const char *authorization, int64_t now_s, intake_caller_t *caller)
{
    memset (caller, 0, sizeof *caller);
    if (self->ntokens == 0) {
        caller->open = true;
        caller->role = INTAKE_ROLE_ADMIN;
        snprintf (caller->who, sizeof caller->who, "anonymous");
        return INTAKE_AUTH_OK;
    }
    if (!authorization || strncmp (authorization, "Bearer ", 7) != 0)
        return INTAKE_AUTH_MISSING;
    const char *token = authorization + 7;
    if (strncmp (token, S_PREFIX, 3) == 0)
        return s_customer (self, token, now_s, caller);
    //  Tokens are compared by their hashes, every one of them, so the time
    //  taken says nothing about which one nearly matched.
    unsigned char hash [crypto_generichash_BYTES];
    crypto_generichash (hash, sizeof hash, (const unsigned char *) token, strlen (token), NULL, 0);
    int found = -1;
    for (int i = 0; i < self->ntokens; i++)
        if (sodium_memcmp (hash, self->tokens [i].hash, sizeof hash) == 0 && found < 0)
            found = i;
    if (found < 0)
        return INTAKE_AUTH_MISSING;
    caller->role = self->tokens [found].role;
    snprintf (caller->who, sizeof caller->who, "%s", self->tokens [found].name);
    return INTAKE_AUTH_OK;
}

void
intake_auth_test (void)
{
    assert (!intake_auth_new_from ("x", NULL, 60));
    assert (!intake_auth_new_from ("x:wizard", NULL, 60));
    assert (!intake_auth_new_from ("x:customer", NULL, 60));
    assert (!intake_auth_new_from ("c1.x:agent", NULL, 60));
    assert (!intake_auth_new_from ("x:agent:", NULL, 60));
    assert (!intake_auth_new_from ("x:agent", "abcd", 60));
    assert (!intake_auth_new_from ("x:agent", "zz", 60));

    intake_caller_t c;
    intake_auth_t *open = intake_auth_new_from ("", NULL, 60);
    assert (intake_auth_check (open, NULL, 0, &c) == INTAKE_AUTH_OK && c.open);
    intake_auth_destroy (&open);

    const char *key = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    intake_auth_t *a = intake_auth_new_from ("s3cret:agent:li.wei,ops1:ops", key, 3600);
    assert (a);
    assert (intake_auth_check (a, "Bearer s3cret", 0, &c) == INTAKE_AUTH_OK);
    assert (c.role == INTAKE_ROLE_AGENT && strcmp (c.who, "li.wei") == 0 && !c.open);
    assert (intake_auth_check (a, "Bearer ops1", 0, &c) == INTAKE_AUTH_OK);
    assert (c.role == INTAKE_ROLE_OPS && strcmp (c.who, "ops") == 0);
    assert (intake_auth_check (a, "Bearer s3cre", 0, &c) == INTAKE_AUTH_MISSING);
    assert (intake_auth_check (a, "Bearer s3cretx", 0, &c) == INTAKE_AUTH_MISSING);
    assert (intake_auth_check (a, "s3cret", 0, &c) == INTAKE_AUTH_MISSING);
    assert (intake_auth_check (a, NULL, 0, &c) == INTAKE_AUTH_MISSING);

    char tok [INTAKE_TOKEN_MAX], bearer [INTAKE_TOKEN_MAX + 8];
    intake_auth_customer_token (a, "T1.x-9", 1000, tok);
    snprintf (bearer, sizeof bearer, "Bearer %s", tok);
    assert (intake_auth_check (a, bearer, 1000, &c) == INTAKE_AUTH_OK);
    assert (c.role == INTAKE_ROLE_CUSTOMER && strcmp (c.who, "T1.x-9") == 0);
    assert (intake_auth_check (a, bearer, 4601, &c) == INTAKE_AUTH_EXPIRED);
    //  Any change to the signed part or the mac is refused.
    for (size_t i = 7; i < strlen (bearer); i++) {
        char forged [sizeof bearer];
        snprintf (forged, sizeof forged, "%s", bearer);
        forged [i] = forged [i] == '1'? '2': '1';
        assert (intake_auth_check (a, forged, 1000, &c) != INTAKE_AUTH_OK);
    }
    //  Another key's token is foreign.
    intake_auth_t *b = intake_auth_new_from ("s3cret:agent", NULL, 3600);
    assert (intake_auth_check (b, bearer, 1000, &c) == INTAKE_AUTH_MISSING);
    intake_auth_destroy (&b);
    assert (intake_auth_check (a, "Bearer c1.", 0, &c) == INTAKE_AUTH_MISSING);
    assert (intake_auth_check (a, "Bearer c1.T1.5.zz", 0, &c) == INTAKE_AUTH_MISSING);
    intake_auth_destroy (&a);
    assert (a == NULL);
}
