/*  intake_api: the public HTTP/JSON API (docs/http-api.md).

    Runs in the HTTP server's thread with its own Redis connection; the
    messages a request commits reach the loop's outbox through an
    asp_outbox_remote_t. The routes, who may call each, and the state they
    share are in intake_http.h.                                            */
#ifndef INTAKE_API_H
#define INTAKE_API_H
#include "asp_svc.h"

typedef struct intake_api_t intake_api_t;

//  Reads ASP_API_TOKENS, ASP_CUSTOMER_TOKEN_*, ASP_IDEMPOTENCY_TTL_S;
//  exits 2 naming the variable when one is malformed. warranty is the
//  process's 三包 policy (intake_warranty.h), shared, not owned.
typedef struct intake_warranty_t intake_warranty_t;
intake_api_t *intake_api_new (asp_svc_t *svc, intake_warranty_t *warranty);
//  Another thread's api beside first (intake_zmq): its own Redis
//  connection, scripts and outbox remote; first's tokens, customer token
//  key, settings and metrics. Create it in the thread that uses it;
//  destroy it before first.
intake_api_t *intake_api_new_sibling (const intake_api_t *first);
void intake_api_destroy (intake_api_t **self_p);
//  The asp_http_handler_fn to give asp_svc_http.
void intake_api_handle (const asp_http_req_t *req, asp_http_res_t *res, void *arg);
//  The same routes for a caller authenticated another way (a system's
//  CURVE key): no Authorization header is read.
typedef struct intake_caller_t intake_caller_t;
void intake_api_handle_as (intake_api_t *self, const intake_caller_t *caller,
                           const asp_http_req_t *req, asp_http_res_t *res);

void intake_api_test (void);
#endif
