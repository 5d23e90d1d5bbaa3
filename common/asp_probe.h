/*  asp_probe: drives one service from a self-test, over real sockets.

    asp_probe_new points every ASP_<SVC>_BUS at a fresh ipc:// endpoint of
    its own (so self-tests running in parallel never meet), binds a ROUTER
    on each other service's endpoint (they receive what the service under
    test sends, and answer ACK or NAK as the test says) and connects a
    DEALER to the tested service's inbox (it sends as another service
    would). Create it before asp_svc_new / asp_outbox_new, which read
    those variables. asp_probe_start runs asp_svc_run on a thread of its
    own; the test thread keeps the probe's sockets and its own Redis
    connection. The Redis keys tests look at are named here, once. The bus
    runs insecure (ASP_BUS_INSECURE=1): the probe holds no service key.
    Its own test is asp_svc_test, which cannot pass without it.        */
#ifndef ASP_PROBE_H
#define ASP_PROBE_H
#include "asp_svc.h"

typedef struct asp_probe_t asp_probe_t;

asp_probe_t *asp_probe_new (asp_svc_id_t svc);
void asp_probe_destroy (asp_probe_t **self_p);
//  Runs asp_svc_run (svc) on a new thread; svc is borrowed until stop.
void asp_probe_start (asp_probe_t *self, asp_svc_t *svc);
//  Stops the loop (asp_svc_stop) and joins the thread.
void asp_probe_stop (asp_probe_t *self);

//  Sends bytes, or an encoded message, to the service's inbox.
void asp_probe_send (asp_probe_t *self, const void *data, size_t size);
void asp_probe_send_msg (asp_probe_t *self, asp_msg_t *msg);
//  The service's next answer, ["ACK", id...] or ["NAK", id, reason]; NULL
//  after timeout_ms. Caller destroys.
zmsg_t *asp_probe_answer (asp_probe_t *self, int timeout_ms);
//  Waits for an ACK (or NAK) that names id; true when it came.
bool asp_probe_expect (asp_probe_t *self, const char *verdict, const char *id, int timeout_ms);

//  The next message the service sent to peer, decoded; NULL after
//  timeout_ms. *identity receives the sender's routing id (caller destroys)
//  for asp_probe_reply.
asp_envelope_t *asp_probe_recv (asp_probe_t *self, asp_svc_id_t peer, zframe_t **identity,
                                int timeout_ms);
//  Receives (and drops) what the service sends peer until nothing came for
//  quiet_ms; returns how many messages that was.
int asp_probe_drain (asp_probe_t *self, asp_svc_id_t peer, int quiet_ms);
//  Answers as peer: verdict "ACK" (reason NULL) or "NAK".
void asp_probe_reply (asp_probe_t *self, asp_svc_id_t peer, zframe_t *identity,
                      const char *verdict, const char *id, const char *reason);

//  The probe's own Redis connection (ASP_REDIS_*), for checks.
asp_rds_t *asp_probe_rds (asp_probe_t *self);
//  HLEN of the tested service's outbox towards peer / its dead letters.
long long asp_probe_outbox_len (asp_probe_t *self, asp_svc_id_t peer);
long long asp_probe_dead_len (asp_probe_t *self, asp_svc_id_t peer);

#endif
