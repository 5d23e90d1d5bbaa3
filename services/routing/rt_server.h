/*  rt_server: the routing service's engine.

    It lives on asp_svc's zloop and owns:
    - the partner ROUTER (ASPW/1 over CURVE; the process's ZAP handler,
      asp_curve, checks each key against the certificate folder
      ASP_PARTNER_CERTS in the domain "aspw", and every message is
      authorised by its "User-Id" metadata, the Z85 client key, mapped to
      the certificate's partner_id);
    - the ticket.created handler on the bus, which creates work order
      W<ticket id> once;
    - the dispatcher, which offers pending work orders (FIFO) to the best
      live partner with free credit;
    - one periodic timer for heartbeats, partner liveness and offer expiry
      (over rt_deadlines, not one zloop timer per offer).

    Every change of a work order is a guarded Lua step (rt_store) run as
    part of one pipeline per batch; partners get CONFIRM only after it is
    stored, and the bus events go out through the transactional outbox.
    What a partner does past ACCEPT (PROGRESS with appointments, COMPLETE,
    UNABLE), the details of ASSIGNED, the flood limit and the refusal
    counters are rt_work's; this class hooks them in (LIST is answered
    here, from the mirror, with rt_work's details).
    Configuration: ASP_PARTNER_BIND, ASP_PARTNER_CERTS, ASP_ROUTING_CERT,
    ASP_OFFER_TIMEOUT_MS, ASP_HEARTBEAT_MS, ASP_LIVENESS (and rt_work's).   */
#ifndef RT_SERVER_H
#define RT_SERVER_H
#include "asp_svc.h"

typedef struct rt_server_t rt_server_t;

//  Sets up on svc from the environment; exits with status 2 and a clear
//  message on a configuration error (missing certificate, bad bind).
rt_server_t *rt_server_new (asp_svc_t *svc);
void rt_server_destroy (rt_server_t **self_p);

//  The engine over a real loop, Redis and a partner socket (CURVE).
void rt_server_test (void);

#endif
