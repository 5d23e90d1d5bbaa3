/*  intake_api: the public HTTP/JSON API (see docs/http-api.md).

    Runs in the HTTP server's thread with its own Redis connection; the
    messages a request commits reach the loop's outbox through an
    asp_outbox_remote_t. A ticket is in Redis (AOF) before 201 is sent.    */
#ifndef INTAKE_API_H
#define INTAKE_API_H
#include "asp_svc.h"

typedef struct intake_api_t intake_api_t;

//  Reads ASP_API_TOKENS; exits 2 when malformed.
intake_api_t *intake_api_new (asp_svc_t *svc);
void intake_api_destroy (intake_api_t **self_p);
//  The asp_http_handler_fn to give asp_svc_http.
void intake_api_handle (const asp_http_req_t *req, asp_http_res_t *res, void *arg);

//  Decodes and validates a request body as POST /v1/tickets (what "ticket")
//  or POST /v1/tickets/{id}/survey ("survey") does, without a server or
//  Redis: 0 when it would be accepted, else -1 and the 400 answer's
//  message in err. Any bytes (len of them) are safe: the fuzz target
//  (fuzz/fuzz_intake_body.c) calls it.
int intake_api_check_body (const char *what, const char *body, size_t len, char *err, size_t errlen);

void intake_api_test (void);
#endif
