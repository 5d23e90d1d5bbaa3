#include "asp_httpd.h"
#include "asp_log.h"
#include <arpa/inet.h>
#include <assert.h>
#include <microhttpd.h>
#include <pthread.h>
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
    //  The streams being served (asp_http_stream_t), so that stopping
    //  resumes the suspended ones first (libmicrohttpd requires it).
    pthread_mutex_t streams_lock;
    struct asp_http_stream_t *streams;
};

//  A streamed response: a queue the writer fills and libmicrohttpd's
//  content reader empties, under lock.
struct asp_http_stream_t {
    pthread_mutex_t lock;
    char *content_type;
    char *buf;                      //  queued bytes: buf [0..len)
    size_t len, cap, max;
    struct MHD_Connection *conn;    //  set when the response is queued
    asp_httpd_t *httpd;             //  the server serving it (NULL before)
    bool suspended;                 //  the reader suspended the connection
    bool ended;                     //  no more writes: end once sent
    bool gone;                      //  the server let go (client gone, stop)
    int refs;                       //  server + writer
    struct asp_http_stream_t *next, *prev;  //  in httpd->streams
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

//  ---------------------------------------------------------------------
//  Streams

static void
s_stream_unref (asp_http_stream_t *st)
{
    pthread_mutex_lock (&st->lock);
    bool last = --st->refs == 0;
    pthread_mutex_unlock (&st->lock);
    if (last) {
        pthread_mutex_destroy (&st->lock);
        free (st->content_type);
        free (st->buf);
        free (st);
    }
}

//  Resumes a suspended stream's connection; st->lock held.
static void
s_stream_wake (asp_http_stream_t *st)
{
    if (st->suspended && st->conn) {
        st->suspended = false;
        MHD_resume_connection (st->conn);
    }
}

asp_http_stream_t *
asp_http_stream_open (const asp_http_req_t *req, asp_http_res_t *res, const char *content_type,
                      size_t max_queued)
{
    if (!req->conn)
        return NULL;
    asp_http_stream_t *st = (asp_http_stream_t *) calloc (1, sizeof *st);
    assert (st);
    pthread_mutex_init (&st->lock, NULL);
    st->content_type = strdup (content_type);
    st->max = max_queued;
    st->refs = 2;
    free (res->body);
    res->body = NULL;
    res->body_len = 0;
    res->status = 200;
    res->stream = st;
    return st;
}

int
asp_http_stream_write (asp_http_stream_t *self, const char *data, size_t len)
{
    int rc = 0;
    pthread_mutex_lock (&self->lock);
    if (self->gone || self->ended)
        rc = -1;
    else
    if (self->len + len > self->max) {
        //  A client that reads slower than we write: cut off (it
        //  reconnects and resumes), never an unbounded queue.
        self->ended = true;
        rc = -1;
    }
    else
    if (len > 0) {
        if (self->len + len > self->cap) {
            self->cap = (self->len + len) * 2;
            self->buf = (char *) realloc (self->buf, self->cap);
            assert (self->buf);
        }
        memcpy (self->buf + self->len, data, len);
        self->len += len;
    }
    s_stream_wake (self);
    pthread_mutex_unlock (&self->lock);
    return rc;
}

bool
asp_http_stream_gone (asp_http_stream_t *self)
{
    pthread_mutex_lock (&self->lock);
    bool gone = self->gone || self->ended;
    pthread_mutex_unlock (&self->lock);
    return gone;
}

void
asp_http_stream_end (asp_http_stream_t *self)
{
    pthread_mutex_lock (&self->lock);
    self->ended = true;
    s_stream_wake (self);
    pthread_mutex_unlock (&self->lock);
}

void
asp_http_stream_release (asp_http_stream_t **self_p)
{
    if (*self_p) {
        asp_http_stream_end (*self_p);
        s_stream_unref (*self_p);
        *self_p = NULL;
    }
}

char *
asp_sse_frame (const char *event, const char *id, const char *data)
{
    if (strpbrk (data, "\r\n") || (id && strpbrk (id, "\r\n")) || (event && strpbrk (event, "\r\n")))
        return NULL;
    char *frame = NULL;
    if (asprintf (&frame, "%s%s%s%s%s%sdata: %s\n\n", event? "event: ": "", event? event: "", event? "\n": "",
                  id? "id: ": "", id? id: "", id? "\n": "", data) < 0)
        return NULL;
    return frame;
}

//  libmicrohttpd's content reader: what is queued, the end, or nothing yet
//  (then the connection sleeps until a write resumes it).
static ssize_t
s_stream_read (void *cls, uint64_t pos, char *buf, size_t max)
{
    (void) pos;
    asp_http_stream_t *st = (asp_http_stream_t *) cls;
    ssize_t n = 0;
    pthread_mutex_lock (&st->lock);
    if (st->len > 0) {
        n = (ssize_t) (st->len < max? st->len: max);
        memcpy (buf, st->buf, (size_t) n);
        memmove (st->buf, st->buf + n, st->len - (size_t) n);
        st->len -= (size_t) n;
    }
    else
    if (st->ended || st->gone)
        n = MHD_CONTENT_READER_END_OF_STREAM;
    else {
        st->suspended = true;
        MHD_suspend_connection (st->conn);
    }
    pthread_mutex_unlock (&st->lock);
    return n;
}

//  The response let go of its reader: the client went away or the stream
//  ended. The server's reference goes.
static void
s_stream_free (void *cls)
{
    asp_http_stream_t *st = (asp_http_stream_t *) cls;
    asp_httpd_t *httpd = st->httpd;
    pthread_mutex_lock (&httpd->streams_lock);
    if (st->prev) st->prev->next = st->next;
    else          httpd->streams = st->next;
    if (st->next) st->next->prev = st->prev;
    pthread_mutex_unlock (&httpd->streams_lock);
    pthread_mutex_lock (&st->lock);
    st->gone = true;
    st->conn = NULL;
    pthread_mutex_unlock (&st->lock);
    s_stream_unref (st);
}

static enum MHD_Result
s_stream_queue (asp_httpd_t *self, struct MHD_Connection *conn, asp_http_res_t *res)
{
    asp_http_stream_t *st = res->stream;
    pthread_mutex_lock (&st->lock);
    st->conn = conn;
    st->httpd = self;
    pthread_mutex_unlock (&st->lock);
    pthread_mutex_lock (&self->streams_lock);
    st->next = self->streams;
    st->prev = NULL;
    if (self->streams)
        self->streams->prev = st;
    self->streams = st;
    pthread_mutex_unlock (&self->streams_lock);
    struct MHD_Response *response =
        MHD_create_response_from_callback (MHD_SIZE_UNKNOWN, 4096, s_stream_read, st, s_stream_free);
    if (!response) {
        s_stream_free (st);
        return MHD_NO;
    }
    MHD_add_response_header (response, "Content-Type", st->content_type);
    MHD_add_response_header (response, "Cache-Control", "no-cache");
    enum MHD_Result rc = MHD_queue_response (conn, MHD_HTTP_OK, response);
    MHD_destroy_response (response);
    return rc;
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
    if (res.stream && res.status == 200 && !res.body)
        return s_stream_queue (self, conn, &res);
    if (res.stream)                 //  opened, then refused: the server's part goes
        s_stream_unref (res.stream);
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
    pthread_mutex_init (&self->streams_lock, NULL);
    struct sockaddr_in sa;
    memset (&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons ((uint16_t) port);
    sa.sin_addr.s_addr = htonl (INADDR_ANY);
    if (bind_addr && *bind_addr && inet_pton (AF_INET, bind_addr, &sa.sin_addr) != 1) {
        asp_log_error ("http: bad bind address '%s'", bind_addr);
        pthread_mutex_destroy (&self->streams_lock);
        free (self);
        return NULL;
    }
    self->daemon = MHD_start_daemon (
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME,
        (uint16_t) port, NULL, NULL, s_access, self,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &sa,
        MHD_OPTION_NOTIFY_COMPLETED, s_completed, self,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned) 1000,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) 30,
        MHD_OPTION_END);
    if (!self->daemon) {
        asp_log_error ("http: cannot listen on port %d", port);
        pthread_mutex_destroy (&self->streams_lock);
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
        //  Every stream ends and every suspended one wakes: stopping with
        //  a suspended connection is not allowed.
        pthread_mutex_lock (&self->streams_lock);
        for (asp_http_stream_t *st = self->streams; st; st = st->next) {
            pthread_mutex_lock (&st->lock);
            st->ended = true;
            s_stream_wake (st);
            pthread_mutex_unlock (&st->lock);
        }
        pthread_mutex_unlock (&self->streams_lock);
        MHD_stop_daemon (self->daemon);
        pthread_mutex_destroy (&self->streams_lock);
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

    //  SSE frames: event, id, one line of data; a line break is refused.
    char *f = asp_sse_frame ("summary", NULL, "{\"a\":1}");
    assert (f && strcmp (f, "event: summary\ndata: {\"a\":1}\n\n") == 0);
    free (f);
    f = asp_sse_frame ("tickets", "c1", "{}");
    assert (f && strcmp (f, "event: tickets\nid: c1\ndata: {}\n\n") == 0);
    free (f);
    assert (!asp_sse_frame ("x", NULL, "a\nb") && !asp_sse_frame ("x", "a\r", "b"));

    //  A stream only over HTTP; one opened queues up to its limit, then
    //  is ended; the writer's release and the server's free it (the
    //  server's side played here without a connection).
    asp_http_res_t sres = { 0 };
    assert (!asp_http_stream_open (&req, &sres, "text/event-stream", 8) && !sres.stream);
    req.conn = (void *) &sres;      //  any non-NULL: the stream is not served
    asp_http_stream_t *st = asp_http_stream_open (&req, &sres, "text/event-stream", 8);
    assert (st && sres.stream == st && sres.status == 200);
    assert (asp_http_stream_write (st, "abcd", 4) == 0 && !asp_http_stream_gone (st));
    char buf [16];
    assert (s_stream_read (st, 0, buf, 2) == 2 && memcmp (buf, "ab", 2) == 0);
    assert (asp_http_stream_write (st, "efghij", 6) == 0);
    assert (asp_http_stream_write (st, "k", 1) == -1 && asp_http_stream_gone (st));
    assert (s_stream_read (st, 2, buf, sizeof buf) == 8 && memcmp (buf, "cdefghij", 8) == 0);
    assert (s_stream_read (st, 10, buf, sizeof buf) == MHD_CONTENT_READER_END_OF_STREAM);
    asp_http_stream_release (&st);
    assert (!st);
    s_stream_unref (sres.stream);       //  the server's reference
}
