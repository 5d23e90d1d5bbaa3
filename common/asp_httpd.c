#include "asp_httpd.h"
#include "asp_log.h"
#include <arpa/inet.h>
#include <assert.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct asp_httpd_t {
    struct MHD_Daemon *daemon;
    size_t max_body;
    asp_http_handler_fn *handler;
    void *arg;
    asp_metrics_t *metrics;
    asp_health_fn *health;
    void *health_arg;
    asp_counter_t *requests;
    asp_counter_t *errors;
};

typedef struct {
    char *body;
    size_t len, cap;
    bool too_large;
} s_request_t;

void
asp_http_json (asp_http_res_t *res, int status, char *json)
{
    free (res->body);
    res->status = status;
    res->body = json;
    res->body_len = json? strlen (json): 0;
    res->content_type = "application/json";
}

void
asp_http_error (asp_http_res_t *res, int status, const char *code, const char *fmt, ...)
{
    char msg [512], esc [1100];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (msg, sizeof msg, fmt, ap);
    va_end (ap);
    asp_json_escape (esc, sizeof esc, msg, strlen (msg));
    char *json = NULL;
    if (asprintf (&json, "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}", code, esc) < 0)
        json = NULL;
    asp_http_json (res, status, json);
}

static const char *
s_lookup (const asp_http_req_t *req, asp_http_field_t field, const char *name)
{
    if (req->conn)
        return MHD_lookup_connection_value ((struct MHD_Connection *) req->conn,
                                            field == ASP_HTTP_HEADER? MHD_HEADER_KIND: MHD_GET_ARGUMENT_KIND, name);
    return req->lookup? req->lookup (req->lookup_arg, field, name): NULL;
}

const char *
asp_http_header (const asp_http_req_t *req, const char *name)
{
    return s_lookup (req, ASP_HTTP_HEADER, name);
}

const char *
asp_http_query (const asp_http_req_t *req, const char *name)
{
    return s_lookup (req, ASP_HTTP_QUERY, name);
}

typedef struct {
    asp_http_query_fn *fn;
    void *arg;
    bool stopped;
} s_query_walk_t;

static enum MHD_Result
s_query_one (void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void) kind;
    s_query_walk_t *walk = (s_query_walk_t *) cls;
    if (!walk->fn (key, value? value: "", walk->arg))
        walk->stopped = true;
    return walk->stopped? MHD_NO: MHD_YES;
}

int
asp_http_query_each (const asp_http_req_t *req, asp_http_query_fn *fn, void *arg)
{
    s_query_walk_t walk = { fn, arg, false };
    return MHD_get_connection_values ((struct MHD_Connection *) req->conn, MHD_GET_ARGUMENT_KIND,
                                      s_query_one, &walk);
}

static void
s_builtin (asp_httpd_t *self, const char *url, asp_http_res_t *res)
{
    if (strcmp (url, "/metrics") == 0) {
        res->status = 200;
        res->body = asp_metrics_render (self->metrics);
        res->body_len = strlen (res->body);
        res->content_type = "text/plain; version=0.0.4";
        return;
    }
    char detail [512] = "{}";
    bool ok = self->health? self->health (self->health_arg, detail, sizeof detail): true;
    char *json = NULL;
    if (asprintf (&json, "{\"status\":\"%s\",\"detail\":%s}", ok? "ok": "degraded", detail) < 0)
        json = NULL;
    asp_http_json (res, ok? 200: 503, json);
}

static enum MHD_Result
s_access (void *cls, struct MHD_Connection *conn, const char *url, const char *method,
          const char *version, const char *upload_data, size_t *upload_size, void **con_cls)
{
    (void) version;
    asp_httpd_t *self = (asp_httpd_t *) cls;
    s_request_t *rq = (s_request_t *) *con_cls;
    if (!rq) {
        rq = (s_request_t *) calloc (1, sizeof *rq);
        if (!rq)
            return MHD_NO;
        *con_cls = rq;
        return MHD_YES;
    }
    if (*upload_size) {
        if (!rq->too_large && rq->len + *upload_size > self->max_body)
            rq->too_large = true;
        if (!rq->too_large) {
            if (rq->len + *upload_size + 1 > rq->cap) {
                rq->cap = (rq->len + *upload_size + 1) * 2;
                rq->body = (char *) realloc (rq->body, rq->cap);
                if (!rq->body)
                    return MHD_NO;
            }
            memcpy (rq->body + rq->len, upload_data, *upload_size);
            rq->len += *upload_size;
            rq->body [rq->len] = 0;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    asp_counter_inc (self->requests);
    asp_http_res_t res = { 0 };
    res.status = 500;
    if (rq->too_large)
        asp_http_error (&res, 413, "too_large", "request body exceeds %zu bytes", self->max_body);
    else
    if (strcmp (method, "GET") == 0 && (strcmp (url, "/metrics") == 0 || strcmp (url, "/healthz") == 0))
        s_builtin (self, url, &res);
    else
    if (self->handler) {
        asp_http_req_t req = { method, url, rq->body? rq->body: "", rq->len, conn, NULL, NULL };
        self->handler (&req, &res, self->arg);
    }
    else
        asp_http_error (&res, 404, "not_found", "no such endpoint: %s %s", method, url);
    if (!res.body)
        asp_http_error (&res, res.status, "internal", "no response body");
    if (res.status >= 400)
        asp_counter_inc (self->errors);
    struct MHD_Response *response =
        MHD_create_response_from_buffer (res.body_len, res.body, MHD_RESPMEM_MUST_FREE);
    if (!response) {
        free (res.body);
        return MHD_NO;
    }
    MHD_add_response_header (response, "Content-Type", res.content_type? res.content_type: "application/json");
    if (*res.location)
        MHD_add_response_header (response, "Location", res.location);
    if (res.retry_after > 0) {
        char ra [16];
        snprintf (ra, sizeof ra, "%d", res.retry_after);
        MHD_add_response_header (response, "Retry-After", ra);
    }
    for (const char *const *h = res.headers; h && h [0] && h [1]; h += 2)
        MHD_add_response_header (response, h [0], h [1]);
    enum MHD_Result rc = MHD_queue_response (conn, (unsigned) res.status, response);
    MHD_destroy_response (response);
    return rc;
}

static void
s_completed (void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void) cls; (void) conn; (void) toe;
    s_request_t *rq = (s_request_t *) *con_cls;
    if (rq) {
        free (rq->body);
        free (rq);
        *con_cls = NULL;
    }
}

asp_httpd_t *
asp_httpd_new (int port, const char *bind_addr, size_t max_body, asp_http_handler_fn *handler,
               void *arg, asp_metrics_t *metrics, asp_health_fn *health, void *health_arg)
{
    if (port <= 0)
        return NULL;
    asp_httpd_t *self = (asp_httpd_t *) calloc (1, sizeof *self);
    assert (self);
    self->max_body = max_body;
    self->handler = handler;
    self->arg = arg;
    self->metrics = metrics;
    self->health = health;
    self->health_arg = health_arg;
    self->requests = asp_metrics_counter (metrics, "http_requests_total", "HTTP requests served.");
    self->errors = asp_metrics_counter (metrics, "http_errors_total", "HTTP responses with status >= 400.");
    struct sockaddr_in sa;
    memset (&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons ((uint16_t) port);
    sa.sin_addr.s_addr = htonl (INADDR_ANY);
    if (bind_addr && *bind_addr && inet_pton (AF_INET, bind_addr, &sa.sin_addr) != 1) {
        asp_log_error ("http: bad bind address '%s'", bind_addr);
        free (self);
        return NULL;
    }
    self->daemon = MHD_start_daemon (
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG,
        (uint16_t) port, NULL, NULL, s_access, self,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &sa,
        MHD_OPTION_NOTIFY_COMPLETED, s_completed, self,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned) 1000,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) 30,
        MHD_OPTION_END);
    if (!self->daemon) {
        asp_log_error ("http: cannot listen on port %d", port);
        free (self);
        return NULL;
    }
    return self;
}

void
asp_httpd_destroy (asp_httpd_t **self_p)
{
    asp_httpd_t *self = *self_p;
    if (self) {
        MHD_stop_daemon (self->daemon);
        free (self);
        *self_p = NULL;
    }
}

static const char *
s_test_lookup (void *arg, asp_http_field_t field, const char *name)
{
    return field == ASP_HTTP_HEADER && strcmp (name, "X") == 0? (const char *) arg: NULL;
}

void
asp_httpd_test (void)
{
    //  A request without a connection reads its headers through lookup.
    asp_http_req_t req = { "GET", "/", "", 0, NULL, s_test_lookup, (void *) "y" };
    assert (strcmp (asp_http_header (&req, "X"), "y") == 0 && !asp_http_query (&req, "X"));
    req.lookup = NULL;
    assert (!asp_http_header (&req, "X"));

    asp_http_res_t res = { 0 };
    asp_http_error (&res, 400, "invalid", "field \"%s\" is wrong", "x");
    assert (res.status == 400);
    assert (strstr (res.body, "\"code\":\"invalid\""));
    assert (strstr (res.body, "field \\\"x\\\" is wrong"));
    free (res.body);
}
