#include "intake_http.h"
#include "asp_json.h"
#include "asp_log.h"
#include <assert.h>
#include <ctype.h>
#include <string.h>
#include <time.h>

//  ---------------------------------------------------------------------
//  Routing

//  Matches path against pattern, copying {..} segments into call; true
//  when every segment matches. *bad_param is set when the shape matches
//  but a parameter is not a plausible id (a 404, not a 405).
static bool
s_match (const char *pattern, const char *path, intake_call_t *call, bool *bad_param)
{
    int np = 0;
    while (*pattern && *path) {
        if (*pattern != '/' || *path != '/')
            return false;
        pattern++, path++;
        const char *pe = strchr (pattern, '/'), *se = strchr (path, '/');
        size_t pl = pe? (size_t) (pe - pattern): strlen (pattern);
        size_t sl = se? (size_t) (se - path): strlen (path);
        if (*pattern == '{') {
            if (np == INTAKE_MAX_PARAMS)
                return false;
            if (!asp_id_valid (path, sl))
                *bad_param = true;
            snprintf (call->pbuf [np], ASP_ID_MAX, "%.*s", (int) (sl < ASP_ID_MAX? sl: ASP_ID_MAX - 1), path);
            call->param [np] = call->pbuf [np];
            np++;
        }
        else
        if (pl != sl || memcmp (pattern, path, pl) != 0)
            return false;
        pattern += pl, path += sl;
    }
    return *pattern == 0 && (*path == 0 || strcmp (path, "/") == 0);
}

//  Answers req; returns the route that matched, NULL when none did.
static const intake_route_t *
s_dispatch (intake_api_t *api, const intake_route_t *routes, size_t n,
            const intake_caller_t *caller, const asp_http_req_t *req, asp_http_res_t *res)
{
    intake_call_t call;
    const intake_route_t *route = NULL;
    bool shape = false, bad_param = false;
    for (size_t i = 0; i < n && !route; i++) {
        memset (&call, 0, sizeof call);
        bool bad = false;
        if (!s_match (routes [i].pattern, req->url, &call, &bad))
            continue;
        shape = true;
        bad_param |= bad;
        if (strcmp (routes [i].method, req->method) == 0 && !bad)
            route = &routes [i];
    }
    if (!route) {
        if (shape && !bad_param)
            asp_http_error (res, 405, "method_not_allowed", "%s is not allowed on %.100s", req->method, req->url);
        else
            asp_http_error (res, 404, "not_found", "no such endpoint or id: %s %.100s", req->method, req->url);
        return NULL;
    }
    intake_auth_result_t auth = INTAKE_AUTH_OK;
    if (caller)
        call.caller = *caller;
    else
        auth = intake_auth_check (api->auth, asp_http_header (req, "Authorization"),
                                  asp_now_ms () / 1000, &call.caller);
    if (auth == INTAKE_AUTH_EXPIRED) {
        asp_http_error (res, 401, "token_expired", "this access link has expired; ask for a new one");
        return route;
    }
    if (auth != INTAKE_AUTH_OK) {
        asp_http_error (res, 401, "unauthorized", "a valid 'Authorization: Bearer <token>' header is required");
        return route;
    }
    const intake_caller_t *c = &call.caller;
    //  Counted per caller after authentication, so an unknown token cannot
    //  use up a real caller's allowance.
    int retry_after = 1;
    if (!intake_limit_take (api->limit, c->who, asp_mono_us (), &retry_after)) {
        asp_http_error (res, 429, "rate_limited", "more than the allowed requests a second from %s; retry later",
                        c->who);
        res->retry_after = retry_after;
        return route;
    }
    if (!c->open && !(route->roles & INTAKE_ROLE_BIT (c->role))) {
        asp_http_error (res, 403, "forbidden", "role %s may not %s", intake_role_name (c->role), route->what);
        return route;
    }
    //  A customer token opens its own ticket only: routes that admit
    //  customers take the ticket id as their first parameter.
    if (c->role == INTAKE_ROLE_CUSTOMER && (!call.param [0] || strcmp (call.param [0], c->who) != 0)) {
        asp_http_error (res, 403, "forbidden", "this access token is for another ticket");
        return route;
    }
    route->fn (api, &call, req, res);
    return route;
}

//  Counts by the route's template, never the raw URL (ids would make a
//  label set per ticket).
void
intake_http_dispatch (intake_api_t *api, const intake_route_t *routes, size_t n,
                      const intake_caller_t *caller, const asp_http_req_t *req, asp_http_res_t *res)
{
    int64_t started = asp_mono_us ();
    const intake_route_t *route = s_dispatch (api, routes, n, caller, req, res);
    int64_t took = asp_mono_us () - started;
    if (!api->m_requests)
        return;                     //  a test's api without metrics
    static const char *classes [] = { "1xx", "2xx", "3xx", "4xx", "5xx" };
    int c = res->status / 100;
    const char *pattern = route? route->pattern: "unmatched";
    asp_counter_inc (asp_family_counter (api->m_requests, pattern, route? route->method: "other",
                                         c >= 1 && c <= 5? classes [c - 1]: "other"));
    asp_histo_observe_us (asp_family_histo (api->m_route_latency, pattern, NULL, NULL), took);
    asp_histo_observe_us (api->m_latency, took);
}

//  ---------------------------------------------------------------------
//  Common answers

void
intake_storage_down (asp_http_res_t *res)
{
    asp_http_error (res, 503, "unavailable", "storage is unavailable; retry shortly");
    res->retry_after = 1;
}

void
intake_refuse (asp_http_res_t *res, const intake_refusal_t *table, size_t n, const char *why, const char *arg)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp (table [i].code, why) == 0) {
            asp_http_error (res, table [i].status, table [i].status == 404? "not_found": table [i].code,
                            table [i].message, arg);
            return;
        }
    asp_http_error (res, 500, "internal", "%s", why);
}

bool
intake_commit (intake_api_t *api, asp_txn_t *txn, asp_http_res_t *res, const intake_refusal_t *refusals,
               size_t n, const char *arg)
{
    asp_txn_exec (api->rds, ASP_SVC_INTAKE, &txn, 1);
    asp_txn_outcome_t outcome = asp_txn_outcome (txn);
    if (outcome == ASP_TXN_OK) {
        if (asp_txn_emitted (txn))
            asp_outbox_remote_add_txn (api->outbox, txn);
        return true;
    }
    if (outcome == ASP_TXN_REJECT)
        intake_refuse (res, refusals, n, asp_txn_reason (txn), arg);
    else
        intake_storage_down (res);
    return false;
}

bool
intake_overloaded (intake_api_t *api, asp_http_res_t *res)
{
    if (!asp_svc_overloaded (api->svc))
        return false;
    asp_http_error (res, 503, "overloaded", "too many messages awaiting delivery; retry shortly");
    res->retry_after = 1;
    return true;
}

bool
intake_fail (intake_err_t *err, const char *fmt, const char *field)
{
    snprintf (err->message, sizeof err->message, fmt, field);
    return false;
}

void
intake_invalid (intake_api_t *api, asp_http_res_t *res, const intake_err_t *err)
{
    asp_counter_inc (api->invalid);
    asp_http_error (res, 400, "invalid_field", "%s", err->message);
}

//  Deepest nesting of arrays and objects outside strings: cJSON would
//  recurse 1000 levels before refusing, and no request of ours nests more
//  than INTAKE_JSON_MAX_DEPTH.
static int
s_depth (const char *s, size_t len)
{
    int depth = 0, deepest = 0;
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        char c = s [i];
        if (in_string) {
            if (c == '\\')
                i++;
            else
            if (c == '"')
                in_string = false;
        }
        else
        if (c == '"')
            in_string = true;
        else
        if (c == '{' || c == '[') {
            if (++depth > deepest)
                deepest = depth;
        }
        else
        if (c == '}' || c == ']')
            depth--;
    }
    return deepest;
}

cJSON *
intake_parse_json (const char *body, size_t len, intake_err_t *err)
{
    if (len == 0 || memchr (body, 0, len)) {
        intake_fail (err, "%s must be a JSON document without NUL bytes", "the body");
        return NULL;
    }
    if (s_depth (body, len) > INTAKE_JSON_MAX_DEPTH) {
        snprintf (err->message, sizeof err->message, "the body nests deeper than %d levels",
                  INTAKE_JSON_MAX_DEPTH);
        return NULL;
    }
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts (body, len, &end, 0);
    //  Only whitespace may follow the document.
    while (j && end < body + len && strchr (" \t\r\n", *end))
        end++;
    if (j && end != body + len) {
        cJSON_Delete (j);
        j = NULL;
    }
    if (!j)
        snprintf (err->message, sizeof err->message, "the body is not valid JSON (near byte %ld)",
                  end? (long) (end - body): 0L);
    return j;
}

cJSON *
intake_body (const asp_http_req_t *req, asp_http_res_t *res)
{
    const char *ct = asp_http_header (req, "Content-Type");
    if (!ct || strncasecmp (ct, "application/json", 16) != 0) {
        asp_http_error (res, 415, "unsupported_media_type", "Content-Type must be application/json");
        return NULL;
    }
    intake_err_t err = { "" };
    cJSON *j = intake_parse_json (req->body, req->body_len, &err);
    if (!j)
        asp_http_error (res, 400, strstr (err.message, "nests deeper")? "too_deep": "invalid_json",
                        "%s", err.message);
    return j;
}

//  ---------------------------------------------------------------------
//  Fields

static bool
s_in (const char *value, const char **set)
{
    for (int i = 0; set [i]; i++)
        if (strcmp (value, set [i]) == 0)
            return true;
    return false;
}

bool
intake_v_only (const cJSON *obj, const char **allowed, const char *where, intake_err_t *err)
{
    for (const cJSON *c = obj->child; c; c = c->next)
        if (!s_in (c->string, allowed)) {
            snprintf (err->message, sizeof err->message, "unknown field %s%s%.64s",
                      where, *where? ".": "", c->string);
            return false;
        }
    return true;
}

bool
intake_v_str (const cJSON *obj, const char *key, const char *path, size_t minlen, size_t maxlen,
              const asp_vocab_t *vocab, bool required, const char **out, intake_err_t *err)
{
    int rc = asp_json_str (obj, key, minlen, maxlen, out);
    if (rc == 1)
        return required? intake_fail (err, "%s is required", path): true;
    if (rc == -2)
        return intake_fail (err, "%s must be valid UTF-8", path);
    if (rc == -1) {
        snprintf (err->message, sizeof err->message,
                  "%s must be a string of %zu to %zu bytes without control characters", path, minlen, maxlen);
        return false;
    }
    if (vocab && asp_vocab_parse (vocab, *out) < 0) {
        char list [200];
        snprintf (err->message, sizeof err->message, "%s must be one of: %s", path,
                  asp_vocab_join (vocab, list, sizeof list));
        return false;
    }
    return true;
}

bool
intake_v_strv (const cJSON *obj, const char *key, const char *path, size_t minn, size_t maxn,
               size_t minlen, size_t maxlen, const asp_vocab_t *vocab, bool required,
               const cJSON **out, intake_err_t *err)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive (obj, key);
    *out = NULL;
    if (!j || cJSON_IsNull (j))
        return required? intake_fail (err, "%s is required", path): true;
    int n = cJSON_IsArray (j)? cJSON_GetArraySize (j): -1;
    if (n < (int) minn || n > (int) maxn) {
        snprintf (err->message, sizeof err->message, "%s must be an array of %zu to %zu strings",
                  path, minn, maxn);
        return false;
    }
    for (const cJSON *i = j->child; i; i = i->next) {
        int rc = asp_json_text (i, minlen, maxlen);
        if (rc == -2)
            return intake_fail (err, "%s must hold valid UTF-8", path);
        if (rc == -1) {
            snprintf (err->message, sizeof err->message,
                      "%s must hold strings of %zu to %zu bytes without control characters", path,
                      minlen, maxlen);
            return false;
        }
        if (vocab && asp_vocab_parse (vocab, i->valuestring) < 0) {
            char list [200];
            snprintf (err->message, sizeof err->message, "%s must hold words of: %s", path,
                      asp_vocab_join (vocab, list, sizeof list));
            return false;
        }
        for (const cJSON *k = j->child; k != i; k = k->next)
            if (strcmp (k->valuestring, i->valuestring) == 0)
                return intake_fail (err, "%s lists a value twice", path);
    }
    *out = j;
    return true;
}

bool
intake_v_int (const cJSON *obj, const char *key, const char *path, int64_t lo, int64_t hi,
              bool required, int64_t *out, intake_err_t *err)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive (obj, key);
    if (!j || cJSON_IsNull (j))
        return required? intake_fail (err, "%s is required", path): true;
    //  The range is checked before the cast: casting 1e300 (or NaN) to an
    //  integer is undefined behaviour (found by fuzz/fuzz_intake_body).
    double v = cJSON_IsNumber (j)? j->valuedouble: (double) lo - 1;
    if (!(v >= (double) lo && v <= (double) hi) || v != (double) (int64_t) v) {
        snprintf (err->message, sizeof err->message, "%s must be an integer from %lld to %lld",
                  path, (long long) lo, (long long) hi);
        return false;
    }
    *out = (int64_t) v;
    return true;
}

bool
intake_v_phone (const char *phone, const char *path, intake_err_t *err)
{
    int digits = 0;
    for (const char *p = phone; *p; p++) {
        if (*p >= '0' && *p <= '9')
            digits++;
        else
        if (*p != '+' && *p != '-' && *p != ' ')
            return intake_fail (err, "%s may hold only digits, +, - and spaces", path);
    }
    if (digits < 5 || digits > 20)
        return intake_fail (err, "%s must have 5 to 20 digits", path);
    return true;
}

bool
intake_v_email (const char *email, const char *path, intake_err_t *err)
{
    const char *at = strrchr (email, '@');
    size_t len = strlen (email);
    if (!at || len > 254)
        return intake_fail (err, "%s must be an e-mail address (local@domain, at most 254 bytes)", path);
    size_t local = (size_t) (at - email);
    if (local < 1 || local > 64 || email [0] == '.' || at [-1] == '.')
        return intake_fail (err, "%s: the part before @ must be 1 to 64 characters, not starting or ending with a dot", path);
    for (const char *p = email; p < at; p++)
        if (!(isalnum ((unsigned char) *p) || strchr (".!#$%&'*+/=?^_`{|}~-", *p)) || (*p == '.' && p [1] == '.'))
            return intake_fail (err, "%s: the part before @ may hold letters, digits, .!#$%%&'*+/=?^_`{|}~- (no two dots in a row)", path);
    int labels = 0;
    for (const char *p = at + 1;;) {
        size_t n = strcspn (p, ".");
        if (n < 1 || n > 63 || p [0] == '-' || p [n - 1] == '-')
            return intake_fail (err, "%s: the domain must be labels of 1 to 63 letters, digits or '-' (not at either end), joined by dots", path);
        for (size_t i = 0; i < n; i++)
            if (!isalnum ((unsigned char) p [i]) && p [i] != '-')
                return intake_fail (err, "%s: the domain may hold only letters, digits, '-' and dots", path);
        labels++;
        if (!p [n])
            break;
        p += n + 1;
    }
    if (labels < 2)
        return intake_fail (err, "%s: the domain must have a dot (e.g. example.com)", path);
    return true;
}

void
intake_phone_digits (const char *phone, char *out, size_t outlen)
{
    size_t n = 0;
    for (const char *p = phone; *p && n + 1 < outlen; p++)
        if (*p >= '0' && *p <= '9')
            out [n++] = *p;
    out [n] = 0;
}

bool
intake_serial_valid (const char *serial)
{
    size_t len = strlen (serial);
    return len >= 4 && len <= 40 && asp_id_valid (serial, len);
}

bool
intake_v_serial (const cJSON *obj, const char *key, const char *path, bool required,
                 const char **out, intake_err_t *err)
{
    if (!intake_v_str (obj, key, path, 1, 64, NULL, required, out, err))
        return false;
    if (*out && !intake_serial_valid (*out))
        return intake_fail (err, "%s must be 4 to 40 characters of A-Z a-z 0-9 . _ : -", path);
    return true;
}

bool
intake_v_date (const cJSON *obj, const char *key, const char *path, bool required,
               int64_t *out_ms, intake_err_t *err)
{
    const char *s;
    int64_t ms;
    if (!intake_v_str (obj, key, path, 10, 10, NULL, required, &s, err))
        return false;
    if (!s)
        return true;
    if (!intake_parse_date (s, path, &ms, err))
        return false;
    if (ms > asp_now_ms ())
        return intake_fail (err, "%s may not be in the future", path);
    *out_ms = ms;
    return true;
}

bool
intake_parse_date (const char *s, const char *path, int64_t *out_ms, intake_err_t *err)
{
    int y, m, d;
    char tail;
    if (strlen (s) != 10 || sscanf (s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || s [4] != '-' || s [7] != '-'
    ||  y < 1970 || m < 1 || m > 12 || d < 1 || d > 31)
        return intake_fail (err, "%s must be a date YYYY-MM-DD", path);
    struct tm tm = { .tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d };
    time_t t = timegm (&tm);
    //  timegm normalises 2026-02-30 to March: such a date does not exist.
    struct tm back;
    gmtime_r (&t, &back);
    if (back.tm_mday != d || back.tm_mon != m - 1)
        return intake_fail (err, "%s is not a calendar date", path);
    *out_ms = (int64_t) t * 1000;
    return true;
}

typedef struct {
    cJSON *obj;
    const char **allowed;
    bool unknown, repeated;
    char name [65];
} s_query_t;

static bool
s_query_one (const char *name, const char *value, void *arg)
{
    s_query_t *q = (s_query_t *) arg;
    snprintf (q->name, sizeof q->name, "%s", name);
    q->unknown = !s_in (name, q->allowed);
    q->repeated = !q->unknown && cJSON_GetObjectItemCaseSensitive (q->obj, name);
    if (!q->unknown && !q->repeated)
        cJSON_AddStringToObject (q->obj, name, value);
    return !q->unknown && !q->repeated;
}

cJSON *
intake_query (const asp_http_req_t *req, const char **allowed, asp_http_res_t *res)
{
    s_query_t q = { cJSON_CreateObject (), allowed, false, false, "" };
    asp_http_query_each (req, s_query_one, &q);
    if (!q.unknown && !q.repeated)
        return q.obj;
    //  The name is the caller's: printed, never trusted (JSON-escaped by
    //  asp_http_error, cut at 64 bytes).
    if (q.unknown)
        asp_http_error (res, 400, "invalid_query", "unknown query parameter %s", q.name);
    else
        asp_http_error (res, 400, "invalid_query", "query parameter %s is repeated", q.name);
    cJSON_Delete (q.obj);
    return NULL;
}

bool
intake_query_int (const asp_http_req_t *req, const char *name, int64_t lo, int64_t hi,
                  int64_t def, int64_t *out, asp_http_res_t *res)
{
    const char *v = asp_http_query (req, name);
    *out = def;
    if (!v)
        return true;
    char *end = NULL;
    long long n = strtoll (v, &end, 10);
    if (!*v || *end || n < lo || n > hi) {
        asp_http_error (res, 400, "invalid_query", "query parameter %s must be an integer from %lld to %lld",
                        name, (long long) lo, (long long) hi);
        return false;
    }
    *out = n;
    return true;
}

void
intake_http_test (void)
{
    intake_call_t call;
    bool bad = false;
    memset (&call, 0, sizeof call);
    assert (s_match ("/v1/tickets/{id}/timeline", "/v1/tickets/T1/timeline", &call, &bad) && !bad);
    assert (strcmp (call.param [0], "T1") == 0);
    assert (s_match ("/v1/tickets", "/v1/tickets/", &call, &bad));
    assert (!s_match ("/v1/tickets", "/v1/ticketsx", &call, &bad));
    assert (!s_match ("/v1/tickets/{id}", "/v1/tickets/T1/survey", &call, &bad));
    assert (!s_match ("/v1/tickets/{id}/survey", "/v1/tickets/T1", &call, &bad));
    assert (s_match ("/v1/tickets/{id}", "/v1/tickets/..%2fetc", &call, &bad) && bad);

    intake_err_t err;
    assert (!intake_parse_json ("[[[[[[[[[1]]]]]]]]]", 19, &err) && strstr (err.message, "deeper"));
    const char *deep_string = "{\"s\":\"[[[[[[[[[[\"}";
    cJSON *j = intake_parse_json (deep_string, strlen (deep_string), &err);
    assert (j);
    cJSON_Delete (j);
    assert (!intake_parse_json ("{} x", 4, &err) && strstr (err.message, "not valid JSON"));
    assert (!intake_parse_json ("{}\0", 3, &err) && strstr (err.message, "NUL"));
    j = intake_parse_json ("{\"d\":\"2024-02-29\",\"e\":\"2023-02-29\",\"f\":\"2999-01-01\",\"u\":\"\xff\","
                           "\"n\":7}", 66, &err);
    assert (j);
    int64_t ms = 0;
    assert (intake_v_date (j, "d", "d", true, &ms, &err) && ms == 1709164800000LL);
    assert (!intake_v_date (j, "e", "e", true, &ms, &err) && strstr (err.message, "calendar"));
    assert (!intake_v_date (j, "f", "f", true, &ms, &err) && strstr (err.message, "future"));
    const char *s;
    assert (!intake_v_str (j, "u", "u", 0, 9, NULL, true, &s, &err) && strstr (err.message, "UTF-8"));
    int64_t n = 3;
    assert (intake_v_int (j, "n", "n", 1, 9, true, &n, &err) && n == 7);
    assert (!intake_v_int (j, "n", "n", 1, 5, true, &n, &err) && strstr (err.message, "1 to 5"));
    assert (!intake_v_int (j, "d", "d", 1, 5, true, &n, &err));
    assert (intake_v_int (j, "zz", "zz", 1, 5, false, &n, &err) && n == 7);
    cJSON_Delete (j);
    char digits [32];
    intake_phone_digits ("+86 138-1234 5678", digits, sizeof digits);
    assert (strcmp (digits, "8613812345678") == 0);
    assert (!intake_v_phone ("call me", "p", &err));
    assert (intake_v_email ("li.lei+svc@mail.example.com", "email", &err));
    assert (intake_v_email ("a@b.cn", "email", &err));
    const char *bad_emails [] = { "", "li", "li@", "@example.com", "li@example", "li@@example.com",
        ".li@example.com", "li.@example.com", "li..lei@example.com", "li lei@example.com",
        "li@-example.com", "li@example-.com", "li@exa_mple.com", "li@example..com", "li@example.com.",
        "li@example.com>\r\nRCPT TO:<x@y.z", "李@example.com", NULL };
    for (int i = 0; bad_emails [i]; i++)
        assert (!intake_v_email (bad_emails [i], "email", &err) && strstr (err.message, "email"));
    assert (intake_serial_valid ("SN-0001") && intake_serial_valid ("a.b:c_d"));
    assert (!intake_serial_valid ("S1") && !intake_serial_valid ("SN 01") && !intake_serial_valid ("SN/001"));
    assert (!intake_serial_valid ("0123456789012345678901234567890123456789X"));
}
