/*  intake_zmq: the ASPI/1 endpoint for systems (CURVE ROUTER, own thread). */
#include "intake_zmq.h"
#include "asp_config.h"
#include "asp_json.h"
#include "asp_log.h"
#include "intake_api.h"
#include "intake_auth.h"
#include <assert.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

struct intake_zmq_t {
    asp_svc_t *svc;
    const intake_api_t *first;
    zsock_t *router;                //  used by the actor only once it runs
    zcertstore_t *certs;            //  the admitted systems (actor only)
    size_t max_body;
    zactor_t *actor;
    asp_counter_t *requests, *errors;
};

//  ---------------------------------------------------------------------
//  Decoding

static int
s_refuse (asp_http_res_t *res, int status, const char *code, const char *what, size_t arg)
{
    asp_http_error (res, status, code, what, arg);
    return status;
}

static bool
s_printable (const uint8_t *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s [i] <= 0x20 || s [i] >= 0x7f)
            return false;
    return true;
}

static int
s_hex (uint8_t c)
{
    return c >= '0' && c <= '9'? c - '0': c >= 'a' && c <= 'f'? c - 'a' + 10: c >= 'A' && c <= 'F'? c - 'A' + 10: -1;
}

//  %XX- and '+'-decodes s (len bytes) to out (NUL-terminated); false when
//  an escape is malformed, the result holds a NUL or is not UTF-8.
static bool
s_unescape (const char *s, size_t len, char *out)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = (uint8_t) s [i];
        if (c == '%') {
            int hi = i + 2 < len? s_hex ((uint8_t) s [i + 1]): -1;
            int lo = hi >= 0? s_hex ((uint8_t) s [i + 2]): -1;
            if (lo < 0 || (hi == 0 && lo == 0))
                return false;
            c = (uint8_t) (hi * 16 + lo);
            i += 2;
        }
        else
        if (c == '+')
            c = ' ';
        out [n++] = (char) c;
    }
    out [n] = 0;
    return asp_utf8_valid (out, n);
}

//  The query (len bytes after '?') into req's name/value pairs.
static bool
s_query (const char *q, size_t len, intake_zmq_req_t *req)
{
    char *out = req->qbuf;
    for (size_t at = 0; at <= len && len; ) {
        const char *amp = (const char *) memchr (q + at, '&', len - at);
        size_t pl = amp? (size_t) (amp - (q + at)): len - at;
        const char *eq = (const char *) memchr (q + at, '=', pl);
        size_t nl = eq? (size_t) (eq - (q + at)): pl;
        if (nl == 0 || req->nquery == INTAKE_ZMQ_QUERY_MAX)
            return false;
        req->qname [req->nquery] = out;
        if (!s_unescape (q + at, nl, out))
            return false;
        out += strlen (out) + 1;
        req->qvalue [req->nquery] = out;
        if (!s_unescape (eq? eq + 1: q + at + pl, eq? pl - nl - 1: 0, out))
            return false;
        out += strlen (out) + 1;
        req->nquery++;
        at += pl + 1;
    }
    return true;
}

int
intake_zmq_decode (const uint8_t *const *data, const size_t *size, size_t count, size_t max_body,
                   intake_zmq_req_t *req, asp_http_res_t *res)
{
    memset (req, 0, sizeof *req);
    if (count != INTAKE_ZMQ_FRAMES)
        return s_refuse (res, 400, "invalid_request", "a request is 5 frames (version, method, path, "
                         "idempotency key, body), not %zu", count);
    size_t vl = strlen (INTAKE_ZMQ_VERSION);
    if (size [0] != vl || memcmp (data [0], INTAKE_ZMQ_VERSION, vl) != 0)
        return s_refuse (res, 400, "invalid_request", "the first frame must be ASPI/1%.0zu", 0);
    bool method_ok = size [1] >= 1 && size [1] < sizeof req->method;
    for (size_t i = 0; method_ok && i < size [1]; i++)
        method_ok = data [1][i] >= 'A' && data [1][i] <= 'Z';
    if (!method_ok)
        return s_refuse (res, 400, "invalid_request", "the method must be 1 to %zu capital letters",
                         sizeof req->method - 1);
    memcpy (req->method, data [1], size [1]);
    if (size [2] < 1 || size [2] > INTAKE_ZMQ_PATH_MAX || data [2][0] != '/' || !s_printable (data [2], size [2]))
        return s_refuse (res, 400, "invalid_request", "the path must be 1 to %zu bytes of printable ASCII "
                         "starting with /", (size_t) INTAKE_ZMQ_PATH_MAX);
    const char *path = (const char *) data [2];
    const char *qm = (const char *) memchr (path, '?', size [2]);
    size_t pl = qm? (size_t) (qm - path): size [2];
    memcpy (req->path, path, pl);
    if (qm && !s_query (qm + 1, size [2] - pl - 1, req))
        return s_refuse (res, 400, "invalid_request", "the query must be at most %d name=value pairs, "
                         "%%XX-escaped, of UTF-8 without NUL", INTAKE_ZMQ_QUERY_MAX);
    if (size [3] > INTAKE_ZMQ_KEY_MAX || !s_printable (data [3], size [3]))
        return s_refuse (res, 400, "invalid_header", "the idempotency key must be at most %zu bytes of "
                         "printable ASCII", (size_t) INTAKE_ZMQ_KEY_MAX);
    memcpy (req->idem, data [3], size [3]);
    if (size [4] > max_body)
        return s_refuse (res, 413, "too_large", "request body exceeds %zu bytes", max_body);
    req->body = (char *) malloc (size [4] + 1);
    assert (req->body);
    if (size [4])
        memcpy (req->body, data [4], size [4]);
    req->body [size [4]] = 0;
    req->body_len = size [4];
    return 0;
}

void
intake_zmq_req_free (intake_zmq_req_t *req)
{
    free (req->body);
    req->body = NULL;
}

//  What the handlers may ask: the key, the media type (always JSON), the
//  query. No Authorization: the caller is the CURVE key's.
static const char *
s_lookup (void *arg, asp_http_field_t field, const char *name)
{
    intake_zmq_req_t *req = (intake_zmq_req_t *) arg;
    if (field == ASP_HTTP_QUERY) {
        for (int i = 0; i < req->nquery; i++)
            if (strcmp (req->qname [i], name) == 0)
                return req->qvalue [i];
        return NULL;
    }
    if (strcasecmp (name, "Idempotency-Key") == 0)
        return *req->idem? req->idem: NULL;
    if (strcasecmp (name, "Content-Type") == 0)
        return "application/json";
    return NULL;
}

asp_http_req_t
intake_zmq_http_req (intake_zmq_req_t *req)
{
    asp_http_req_t r = { req->method, req->path, req->body? req->body: "", req->body_len, NULL, s_lookup, req };
    return r;
}

//  ---------------------------------------------------------------------
//  Serving

//  The caller the CURVE key in user_id stands for; false when the key is
//  not (or no longer) admitted.
static bool
s_caller (intake_zmq_t *self, const char *user_id, intake_caller_t *caller)
{
    zcert_t *cert = user_id? zcertstore_lookup (self->certs, user_id): NULL;
    if (!cert)
        return false;
    const char *name = zcert_meta (cert, "name");
    memset (caller, 0, sizeof *caller);
    caller->role = INTAKE_ROLE_SYSTEM;
    snprintf (caller->who, sizeof caller->who, "%.40s", name && *name? name: user_id);
    return true;
}

static void
s_serve (intake_zmq_t *self, intake_api_t *api)
{
    zmsg_t *msg = zmsg_recv (self->router);
    if (!msg)
        return;
    asp_counter_inc (self->requests);
    zframe_t *rid = zmsg_pop (msg);
    zframe_t *first = zmsg_first (msg);
    //  The authenticated key, set by the ZAP handler: never the payload.
    const char *user_id = first? zframe_meta (first, "User-Id"): NULL;
    bool delimiter = first && zframe_size (first) == 0;
    if (delimiter) {
        zframe_t *empty = zmsg_pop (msg);
        zframe_destroy (&empty);
    }
    const uint8_t *data [INTAKE_ZMQ_FRAMES];
    size_t size [INTAKE_ZMQ_FRAMES], count = 0;
    for (zframe_t *f = zmsg_first (msg); f; f = zmsg_next (msg), count++)
        if (count < INTAKE_ZMQ_FRAMES) {
            data [count] = zframe_data (f);
            size [count] = zframe_size (f);
        }
    intake_zmq_req_t req;
    asp_http_res_t res = { 0 };
    intake_caller_t caller;
    if (intake_zmq_decode (data, size, count, self->max_body, &req, &res) == 0) {
        if (s_caller (self, user_id, &caller)) {
            asp_http_req_t hreq = intake_zmq_http_req (&req);
            res.status = 500;
            intake_api_handle_as (api, &caller, &hreq, &res);
        }
        else
            asp_http_error (&res, 401, "unauthorized", "this key is not (or no longer) admitted");
    }
    intake_zmq_req_free (&req);
    zmsg_destroy (&msg);
    if (!res.body)
        asp_http_error (&res, res.status, "internal", "no response body");
    if (res.status >= 400)
        asp_counter_inc (self->errors);
    zmsg_t *reply = zmsg_new ();
    zmsg_append (reply, &rid);
    if (delimiter)
        zmsg_addmem (reply, NULL, 0);
    zmsg_addstr (reply, INTAKE_ZMQ_VERSION);
    zmsg_addstrf (reply, "%d", res.status);
    zmsg_addmem (reply, res.body, res.body_len);
    free (res.body);
    //  A client that has gone loses its reply (ROUTER drops it).
    if (zmsg_send (&reply, self->router))
        zmsg_destroy (&reply);
}

static void
s_actor (zsock_t *pipe, void *arg)
{
    intake_zmq_t *self = (intake_zmq_t *) arg;
    intake_api_t *api = intake_api_new_sibling (self->first);
    zpoller_t *poller = zpoller_new (pipe, self->router, NULL);
    //  Only $TERM ends it: main destroys it after the loop stopped.
    zpoller_set_nonstop (poller, true);
    zsock_signal (pipe, 0);
    while (true) {
        void *which = zpoller_wait (poller, -1);
        if (which == self->router)
            s_serve (self, api);
        else
        if (which == pipe) {
            char *cmd = zstr_recv (pipe);
            bool term = !cmd || streq (cmd, "$TERM");
            zstr_free (&cmd);
            if (term)
                break;
        }
    }
    zpoller_destroy (&poller);
    intake_api_destroy (&api);
}

static void
s_fatal (const char *fmt, const char *value)
{
    asp_log_error (fmt, value);
    exit (2);
}

intake_zmq_t *
intake_zmq_new (asp_svc_t *svc, const intake_api_t *first)
{
    const char *bind = asp_cfg_str ("ASP_INTAKE_API_ZMQ", NULL);
    if (!bind)
        return NULL;
    const char *cert_file = asp_cfg_str ("ASP_INTAKE_API_CERT", NULL);
    const char *dir = asp_cfg_str ("ASP_INTAKE_API_CERTS", NULL);
    if (!zsys_has_curve ())
        s_fatal ("bad configuration: ASP_INTAKE_API_ZMQ=%s needs CURVE, which libzmq lacks", bind);
    zcert_t *cert = cert_file? zcert_load (cert_file): NULL;
    if (!cert || streq (zcert_secret_txt (cert), "0000000000000000000000000000000000000000"))
        s_fatal ("bad configuration: ASP_INTAKE_API_CERT='%s' must name intake's secret certificate file "
                 "(asp-certgen --name intake-api)", cert_file? cert_file: "");
    struct stat st;
    if (!dir || stat (dir, &st) || !S_ISDIR (st.st_mode))
        s_fatal ("bad configuration: ASP_INTAKE_API_CERTS='%s' must name the folder of the systems' "
                 "public certificates", dir? dir: "");
    intake_zmq_t *self = (intake_zmq_t *) calloc (1, sizeof *self);
    assert (self);
    self->svc = svc;
    self->first = first;
    self->max_body = (size_t) asp_cfg_int ("ASP_HTTP_MAX_BODY", 64 * 1024, 1024, 16 * 1024 * 1024);
    asp_curve_allow (asp_svc_curve (svc), INTAKE_ZMQ_DOMAIN, dir);
    self->certs = zcertstore_new (dir);
    self->router = zsock_new (ZMQ_ROUTER);
    assert (self->router);
    zcert_apply (cert, self->router);
    zcert_destroy (&cert);
    zsock_set_curve_server (self->router, 1);
    zsock_set_zap_domain (self->router, INTAKE_ZMQ_DOMAIN);
    //  Outsiders reach it: no frame larger than a body and its envelope.
    zsock_set_maxmsgsize (self->router, (int64_t) self->max_body + 2 * INTAKE_ZMQ_PATH_MAX);
    if (zsock_bind (self->router, "%s", bind) < 0)
        s_fatal ("bad configuration: cannot bind ASP_INTAKE_API_ZMQ=%s", bind);
    asp_metrics_t *m = asp_svc_metrics (svc);
    self->requests = asp_metrics_counter (m, "zmq_requests_total", "Requests on the ZeroMQ API (ASPI/1).");
    self->errors = asp_metrics_counter (m, "zmq_errors_total", "ZeroMQ API answers with status >= 400.");
    self->actor = zactor_new (s_actor, self);
    asp_log_info ("systems' API on %s (ASPI/1, CURVE, certificates in %s)", bind, dir);
    return self;
}

void
intake_zmq_destroy (intake_zmq_t **self_p)
{
    intake_zmq_t *self = *self_p;
    if (self) {
        zactor_destroy (&self->actor);
        zsock_destroy (&self->router);
        zcertstore_destroy (&self->certs);
        free (self);
        *self_p = NULL;
    }
}

//  ---------------------------------------------------------------------
//  Self-test: the decoder

static int
s_decode (const char *f0, const char *f1, const char *f2, const char *f3, const char *f4,
          size_t count, intake_zmq_req_t *req, char *code)
{
    const uint8_t *data [] = { (const uint8_t *) f0, (const uint8_t *) f1, (const uint8_t *) f2,
                               (const uint8_t *) f3, (const uint8_t *) f4 };
    size_t size [] = { strlen (f0), strlen (f1), strlen (f2), strlen (f3), strlen (f4) };
    asp_http_res_t res = { 0 };
    int rc = intake_zmq_decode (data, size, count, 16, req, &res);
    *code = 0;
    if (res.body) {
        const char *c = strstr (res.body, "\"code\":\"");
        assert (c && rc == res.status);
        sscanf (c + 8, "%31[a-z_]", code);
        free (res.body);
    }
    intake_zmq_req_free (req);
    return rc;
}

void
intake_zmq_test (void)
{
    intake_zmq_req_t req;
    char code [32];
    assert (s_decode ("ASPI/1", "GET", "/v1/tickets/T1", "", "", 5, &req, code) == 0);
    assert (streq (req.method, "GET") && streq (req.path, "/v1/tickets/T1") && !*req.idem);
    assert (s_decode ("ASPI/1", "POST", "/v1/tickets", "k-1", "{}", 5, &req, code) == 0);
    assert (streq (req.idem, "k-1") && req.body_len == 2);
    //  The query, decoded.
    const char *f [] = { "ASPI/1", "GET", "/v1/lookup?phone=%2B86+138&serial=S%C3%A9&x", "", "" };
    const uint8_t *data [5];
    size_t size [5];
    for (int i = 0; i < 5; i++)
        data [i] = (const uint8_t *) f [i], size [i] = strlen (f [i]);
    asp_http_res_t res = { 0 };
    assert (intake_zmq_decode (data, size, 5, 16, &req, &res) == 0 && !res.body);
    asp_http_req_t hreq = intake_zmq_http_req (&req);
    assert (streq (hreq.url, "/v1/lookup"));
    assert (streq (asp_http_query (&hreq, "phone"), "+86 138") && streq (asp_http_query (&hreq, "serial"), "S\xc3\xa9"));
    assert (streq (asp_http_query (&hreq, "x"), "") && !asp_http_query (&hreq, "y"));
    assert (streq (asp_http_header (&hreq, "content-type"), "application/json"));
    assert (!asp_http_header (&hreq, "Authorization") && !asp_http_header (&hreq, "Idempotency-Key"));
    intake_zmq_req_free (&req);
    //  Refusals.
    assert (s_decode ("ASPI/1", "GET", "/", "", "", 4, &req, code) == 400 && streq (code, "invalid_request"));
    assert (s_decode ("ASPI/1", "GET", "/", "", "", 6, &req, code) == 400);
    assert (s_decode ("ASPI/2", "GET", "/", "", "", 5, &req, code) == 400);
    assert (s_decode ("ASPI/1", "get", "/", "", "", 5, &req, code) == 400);
    assert (s_decode ("ASPI/1", "", "/", "", "", 5, &req, code) == 400);
    assert (s_decode ("ASPI/1", "POSTPOST", "/", "", "", 5, &req, code) == 400);
    assert (s_decode ("ASPI/1", "GET", "v1", "", "", 5, &req, code) == 400);
    assert (s_decode ("ASPI/1", "GET", "/a b", "", "", 5, &req, code) == 400);
    assert (s_decode ("ASPI/1", "GET", "/\xe7\x8e\x8b", "", "", 5, &req, code) == 400);
    assert (s_decode ("ASPI/1", "GET", "/?a=%zz", "", "", 5, &req, code) == 400);
    assert (s_decode ("ASPI/1", "GET", "/?a=%00", "", "", 5, &req, code) == 400);
    assert (s_decode ("ASPI/1", "GET", "/?a=%ff", "", "", 5, &req, code) == 400);
    assert (s_decode ("ASPI/1", "GET", "/?a=%4", "", "", 5, &req, code) == 400);
    assert (s_decode ("ASPI/1", "GET", "/?=1", "", "", 5, &req, code) == 400);
    assert (s_decode ("ASPI/1", "GET", "/?a&&b", "", "", 5, &req, code) == 400);
    assert (s_decode ("ASPI/1", "GET", "/?a=1&", "", "", 5, &req, code) == 400);
    assert (s_decode ("ASPI/1", "GET", "/?a&b&c&d&e&f&g&h&i&j&k&l&m&n&o&p&q", "", "", 5, &req, code) == 400);
    assert (s_decode ("ASPI/1", "GET", "/?a&b&c&d&e&f&g&h&i&j&k&l&m&n&o&p", "", "", 5, &req, code) == 0);
    assert (s_decode ("ASPI/1", "POST", "/", "a key", "", 5, &req, code) == 400 && streq (code, "invalid_header"));
    assert (s_decode ("ASPI/1", "POST", "/", "", "{\"a\":\"0123456789\"}", 5, &req, code) == 413
            && streq (code, "too_large"));
    //  A NUL inside a frame is refused where it matters.
    const uint8_t nul [] = "GE\0T";
    data [1] = nul, size [1] = 4;
    assert (intake_zmq_decode (data, size, 5, 16, &req, &res) == 400);
    free (res.body);
    intake_zmq_req_free (&req);
}
