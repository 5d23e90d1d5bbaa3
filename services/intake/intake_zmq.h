/*  intake_zmq: intake's API for systems over ZeroMQ (ASPI/1).

    Order management and logistics systems create, read and look up
    tickets with the same routes, validation, idempotency and answers as
    the HTTP API (intake_api_handle_as: the same route table and
    handlers), over a ROUTER socket that is a CURVE server. A request
    (after the ROUTER's routing id; a REQ client's empty delimiter is
    kept and sent back) is five frames:

        "ASPI/1" | method | path[?query] | Idempotency-Key or "" | body

    and its reply three:

        "ASPI/1" | status (decimal text, e.g. "201") | body (JSON)

    Decoding is strict (intake_zmq_decode): five frames, the version, a
    method of 1..7 capital letters, a path of printable ASCII from "/"
    (at most 1024 bytes; the query is name=value pairs joined by "&",
    %XX-decoded, valid UTF-8, at most 16), a key of printable ASCII, a
    body of at most ASP_HTTP_MAX_BODY bytes. Anything else is answered
    400 invalid_request (413 too_large), never a crash.

    Authentication is the CURVE handshake: the process's ZAP handler
    (asp_curve, domain "aspi") admits only client keys whose public
    certificate is in ASP_INTAKE_API_CERTS (rescanned when the folder
    changes); a client with another key never gets a connection. The
    caller is role system, named by the certificate's "name" metadata
    (asp-certgen --name). No bearer token is read on this socket.

    The socket runs in its own thread (a zactor) with its own
    intake_api_t (intake_api_new_sibling: its own Redis connection), so
    HTTP and ZeroMQ never share a hiredis context. Requests are served
    one at a time in arrival order; a reply whose client has gone is
    dropped (retry with the same Idempotency-Key).

    Configuration (read once; exit 2 when wrong):
      ASP_INTAKE_API_ZMQ    endpoint to bind (e.g. tcp://0.0.0.0:7111); unset:
                            no ZeroMQ endpoint
      ASP_INTAKE_API_CERT   intake's secret certificate for this socket
      ASP_INTAKE_API_CERTS  folder of the systems' public certificates  */
#ifndef INTAKE_ZMQ_H
#define INTAKE_ZMQ_H
#include "asp_httpd.h"
#include "asp_svc.h"
#include <stddef.h>
#include <stdint.h>

#define INTAKE_ZMQ_VERSION   "ASPI/1"
#define INTAKE_ZMQ_DOMAIN    "aspi"         //  ZAP domain
#define INTAKE_ZMQ_FRAMES    5
#define INTAKE_ZMQ_PATH_MAX  1024
#define INTAKE_ZMQ_KEY_MAX   64
#define INTAKE_ZMQ_QUERY_MAX 16

typedef struct intake_api_t intake_api_t;
typedef struct intake_zmq_t intake_zmq_t;

//  One decoded request. Owns body (NUL-terminated); intake_zmq_req_free.
typedef struct {
    char method [8];
    char path [INTAKE_ZMQ_PATH_MAX + 1];    //  without the query
    char idem [INTAKE_ZMQ_KEY_MAX + 1];     //  "" when none
    int nquery;
    const char *qname [INTAKE_ZMQ_QUERY_MAX], *qvalue [INTAKE_ZMQ_QUERY_MAX];
    char qbuf [INTAKE_ZMQ_PATH_MAX + 2 * INTAKE_ZMQ_QUERY_MAX + 2];   //  the decoded query's words
    char *body;
    size_t body_len;
} intake_zmq_req_t;

//  Decodes count frames (data [i], size [i] bytes each) into req. 0 when
//  valid; else the error answer (400 or 413) is in res. Safe on any input
//  (fuzzed: fuzz/fuzz_intake_zmq). Free req either way.
int intake_zmq_decode (const uint8_t *const *data, const size_t *size, size_t count, size_t max_body,
                       intake_zmq_req_t *req, asp_http_res_t *res);
void intake_zmq_req_free (intake_zmq_req_t *req);
//  req as the handlers read it (headers and query through req).
asp_http_req_t intake_zmq_http_req (intake_zmq_req_t *req);

//  Starts the endpoint when ASP_INTAKE_API_ZMQ is set (else NULL), beside
//  first (the HTTP thread's api, which must outlive it).
intake_zmq_t *intake_zmq_new (asp_svc_t *svc, const intake_api_t *first);
void intake_zmq_destroy (intake_zmq_t **self_p);

void intake_zmq_test (void);
#endif
