/*  asp_curve: CurveZMQ on the internal bus, and the process's ZAP handler.

    Threat. Without it, anything that reaches a bus port can inject a
    well-formed event (a forged ticket.closed) into any service. With it,
    every bus connection is encrypted and both ends prove their keys: the
    inbox (ROUTER) is a CURVE server that admits only client keys whose
    public certificate is in ASP_BUS_CERT_DIR; each outbox DEALER is a
    CURVE client with this service's key that also checks it reached the
    real destination (the server key is <dst>.cert in that folder). A
    process without a service key is refused at the handshake, before any
    frame is read, and counted (bus_auth_refused_total). A stolen service
    secret key is not covered: rotate it (README, Operations).

    One ZAP handler per process. libzmq asks whatever is bound on
    inproc://zeromq.zap.01 about every handshake in the process, and CZMQ's
    zauth keeps one certificate store for all of them. Routing serves the
    partners (ZAP domain "aspw") and the bus (domain "bus") in one process,
    and a partner key must never pass the bus; so this class runs a small
    ZAP actor with one zcertstore per domain. Otherwise it follows zauth:
    NULL is allowed (no CURVE socket sees it), a CURVE key is looked up in
    its domain's folder (rescanned when the folder changes, so adding a key
    needs no restart), and User-Id is the client key in Z85. Keys may also
    be admitted or refused one by one (asp_curve_key): routing's partner
    registry, which wins over the folder.

    Counting. A plain (NULL) client never reaches ZAP: the mechanism
    mismatch ends its handshake first. So refusals are counted from a
    socket monitor on the inbox (handshake failed: auth, protocol, or no
    detail), read by the service's loop.

    Configuration, read once in asp_curve_new (exit 2 when wrong):
      ASP_BUS_CERT      this service's secret certificate file (required)
      ASP_BUS_CERT_DIR  folder of the services' public certificates, each
                        named <service>.cert (intake, routing, sla,
                        notification, feedback); the inbox trusts every
                        certificate in it (required)
      ASP_BUS_INSECURE  1: plain ZeroMQ on the bus, nothing above is read
                        (development only; every service must agree)

    Ownership: the class owns its ZAP actor, its certificate and the inbox
    monitor; sockets, loop and counter are borrowed. Destroy it after every
    CURVE socket of the process.                                           */
#ifndef ASP_CURVE_H
#define ASP_CURVE_H
#include "asp_events.h"
#include "asp_metrics.h"
#include <czmq.h>

//  ZAP domains: the bus inbox, and routing's partner socket.
#define ASP_CURVE_BUS      "bus"
#define ASP_CURVE_PARTNERS "aspw"

typedef struct asp_curve_t asp_curve_t;

//  Reads the configuration above for service self and starts the ZAP
//  handler (always: routing's partner socket needs it even when the bus is
//  insecure). Exits with status 2 on a configuration error.
asp_curve_t *asp_curve_new (asp_svc_id_t self);
void asp_curve_destroy (asp_curve_t **self_p);
//  Admits CURVE clients of this ZAP domain whose public certificate is in
//  dir (replacing what the domain had). Returns when the handler has it.
void asp_curve_allow (asp_curve_t *self, const char *domain, const char *dir);
//  Keys admitted or refused one by one, without files: routing's partner
//  registry (the keys of active and suspended partners, and the removed
//  ones, which must fail the handshake from then on). A verdict wins over
//  the domain's folder; FORGET leaves the key to the folder again.
//  Returns when the handler has it, so the next handshake sees it.
typedef enum { ASP_CURVE_KEY_FORGET = 0, ASP_CURVE_KEY_ALLOW, ASP_CURVE_KEY_DENY } asp_curve_verdict_t;
void asp_curve_key (asp_curve_t *self, const char *domain, const char *key, asp_curve_verdict_t verdict);
//  Makes sock, not yet bound, the bus inbox's CURVE server and counts its
//  refused handshakes into refused from loop. Only the monitor when
//  insecure (a refused handshake is still one).
void asp_curve_bus_server (asp_curve_t *self, zsock_t *sock, zloop_t *loop, asp_counter_t *refused);
//  Stops counting; call before destroying the inbox socket.
void asp_curve_bus_server_end (asp_curve_t *self);
//  Makes sock, not yet connected, a CURVE client of dst's inbox. Exits
//  with status 2 when dst's public certificate is missing.
void asp_curve_bus_client (asp_curve_t *self, zsock_t *sock, asp_svc_id_t dst);
//  False when ASP_BUS_INSECURE=1.
bool asp_curve_secure (asp_curve_t *self);

void asp_curve_test (void);
#endif
