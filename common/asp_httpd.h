/*  asp_httpd: the HTTP glue over libmicrohttpd.

    One internal thread (epoll) serves all connections. Bodies are read up
    to a cap (413 beyond it). /metrics and /healthz are built in; every
    other request goes to the handler, which fills a response. Errors are
    JSON: {"error":{"code":"...","message":"..."}}.                         */
#ifndef ASP_HTTPD_H
#define ASP_HTTPD_H
#include "asp_metrics.h"
#include <stdbool.h>
#include <stddef.h>

typedef struct asp_httpd_t asp_httpd_t;

//  Where a request that did not come over HTTP keeps its headers and query
//  parameters (intake's ZeroMQ endpoint): the value of name, or NULL.
typedef enum { ASP_HTTP_HEADER = 0, ASP_HTTP_QUERY } asp_http_field_t;
typedef const char *(asp_http_lookup_fn) (void *arg, asp_http_field_t field, const char *name);

typedef struct {
    const char *method;
    const char *url;            //  the path, without the query
    const char *body;           //  NUL-terminated, body_len bytes
    size_t body_len;
    void *conn;                 //  libmicrohttpd's connection, or NULL:
    asp_http_lookup_fn *lookup; //  then asp_http_header and _query ask
    void *lookup_arg;           //  lookup (NULL: no headers, no query)
} asp_http_req_t;

typedef struct {
    int status;
    char *body;                 //  malloc'd, freed by httpd
    size_t body_len;
    const char *content_type;
    char location [128];        //  optional Location header
    int retry_after;            //  optional Retry-After header (seconds)
    //  Optional extra headers: name, value, name, value, ..., NULL. Static
    //  storage (not freed); set after asp_http_error/_json, which keep it.
    const char *const *headers;
    //  Set by asp_http_stream_open: the body is sent as it is written
    //  (status 200, chunked), not from body.
    struct asp_http_stream_t *stream;
} asp_http_res_t;

typedef void (asp_http_handler_fn) (const asp_http_req_t *req, asp_http_res_t *res, void *arg);
//  Health probe: returns true when healthy, may write a JSON object to detail.
typedef bool (asp_health_fn) (void *arg, char *detail, size_t detail_len);

//  Starts serving on port (0 picks none: returns NULL). bind_addr may be NULL
//  (all interfaces). handler may be NULL (only /metrics, /healthz).
asp_httpd_t *asp_httpd_new (int port, const char *bind_addr, size_t max_body,
                            asp_http_handler_fn *handler, void *arg,
                            asp_metrics_t *metrics, asp_health_fn *health, void *health_arg);
void asp_httpd_destroy (asp_httpd_t **self_p);

const char *asp_http_header (const asp_http_req_t *req, const char *name);
//  A query parameter ("?phone=..."), decoded; NULL when absent.
const char *asp_http_query (const asp_http_req_t *req, const char *name);
//  Calls fn for every query parameter, in the order of the URL, with its
//  decoded name and value (value "" for "?flag"); stops when fn returns
//  false. Returns how many parameters fn saw.
typedef bool (asp_http_query_fn) (const char *name, const char *value, void *arg);
int asp_http_query_each (const asp_http_req_t *req, asp_http_query_fn *fn, void *arg);
//  Sets a JSON body (takes ownership of json) and status.
void asp_http_json (asp_http_res_t *res, int status, char *json);
//  Sets a JSON error body.
void asp_http_error (asp_http_res_t *res, int status, const char *code, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));

//  ---------------------------------------------------------------------
//  Streamed responses (Server-Sent Events and the like).
//
//  A handler that answers with a stream calls asp_http_stream_open and
//  gives the handle to whoever writes (another thread may). Written bytes
//  are queued (up to max_queued; a client that reads slower is cut off);
//  when the queue is empty the connection is suspended (libmicrohttpd's
//  suspend/resume: an idle stream costs no CPU) and a write resumes it.
//  A client that went away is noticed at the next write; then, or when
//  the server stops, the stream is gone: writes fail. The handle has two
//  owners, the server and the writer: each lets go once (the writer with
//  asp_http_stream_release), the last frees it.
typedef struct asp_http_stream_t asp_http_stream_t;

//  Makes res a stream of content_type (copied) with status 200; returns
//  the writer's handle, or NULL when req did not come over HTTP (then res
//  is untouched).
asp_http_stream_t *asp_http_stream_open (const asp_http_req_t *req, asp_http_res_t *res,
                                         const char *content_type, size_t max_queued);
//  Queues len bytes: 0, or -1 when the stream is gone or its queue full
//  (the stream is then ended: the client reconnects).
int asp_http_stream_write (asp_http_stream_t *self, const char *data, size_t len);
//  True when the client went away, the stream was ended or the server stops.
bool asp_http_stream_gone (asp_http_stream_t *self);
//  Ends the response once what was queued is sent.
void asp_http_stream_end (asp_http_stream_t *self);
//  The writer lets go (ends the stream if it was not ended); NULLs *self_p.
void asp_http_stream_release (asp_http_stream_t **self_p);
//  An SSE frame: "event: <event>\n" (when not NULL), "id: <id>\n" (when
//  not NULL), "data: <data>\n\n" (data one line): a string the caller
//  frees, NULL when data or id holds a line break.
char *asp_sse_frame (const char *event, const char *id, const char *data);

void asp_httpd_test (void);
#endif
