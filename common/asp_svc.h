/*  asp_svc: the runtime every service is built on.

    It owns the zloop, the Redis connection, the outbox, the metrics, the
    HTTP server for /metrics and /healthz, the heartbeat (asp_svcstat),
    and the inbox: a ROUTER bound on
    the service's bus endpoint. Inbound messages are read in batches, each
    decoded strictly and handed to the handler registered for its type,
    which prepares one asp_txn. The whole batch runs as one Redis pipeline;
    then the committed messages go to the outbox and each sender gets an ACK
    (applied, duplicate or stale) or a NAK with the reason (refused). A
    message whose outcome is unknown (Redis down) is not acknowledged, so
    its sender sends it again.                                              */
#ifndef ASP_SVC_H
#define ASP_SVC_H
#include "asp_curve.h"
#include "asp_envelope.h"
#include "asp_events.h"
#include "asp_httpd.h"
#include "asp_metrics.h"
#include "asp_outbox.h"
#include "asp_rds.h"
#include "asp_txn.h"
#include <czmq.h>

typedef struct asp_svc_t asp_svc_t;

//  Prepares the transaction for one inbound message, in the shard of its
//  ticket (asp_shard_of (env->ticket)). Return NULL to answer without
//  touching Redis: with reason set, a NAK (refused); with reason empty, an
//  ACK (nothing to do).
typedef asp_txn_t *(asp_prepare_fn) (asp_svc_t *svc, const asp_envelope_t *env,
                                     char *reason, size_t reason_len, void *arg);
//  Called after the batch ran, for each transaction whose outcome is known
//  (asp_txn_known), while env is still valid.
typedef void (asp_committed_fn) (asp_svc_t *svc, const asp_envelope_t *env,
                                 asp_txn_t *txn, void *arg);

//  Sets up everything from the environment: ASP_<SVC>_BUS (bind endpoint
//  unless ASP_BUS_BIND is set), ASP_METRICS_PORT, the Redis settings, the
//  bus certificates (asp_curve: the inbox is a CURVE server, the outbox
//  CURVE clients, unless ASP_BUS_INSECURE=1).
//  Exits with status 2 on a configuration error.
asp_svc_t *asp_svc_new (asp_svc_id_t id);
void asp_svc_destroy (asp_svc_t **self_p);
void asp_svc_on (asp_svc_t *self, const char *type, asp_prepare_fn *prepare,
                 asp_committed_fn *committed, void *arg);
//  Serve this handler on the HTTP port (with /metrics, /healthz) instead of
//  the plain metrics server. Call before asp_svc_run. Port 0 stops the
//  server (do that before destroying what the handler uses).
void asp_svc_http (asp_svc_t *self, int port, asp_http_handler_fn *handler, void *arg);
//  Runs transactions that do not come from the inbox (timers, partners,
//  HTTP) as one pipeline, and hands their committed messages to the
//  outbox. Returns asp_txn_exec's result.
int  asp_svc_commit (asp_svc_t *self, asp_txn_t **txns, size_t count);
//  Runs the loop until SIGINT/SIGTERM or asp_svc_stop.
int  asp_svc_run (asp_svc_t *self);
//  Ends asp_svc_run from any thread, within one tick (250 ms).
void asp_svc_stop (asp_svc_t *self);

asp_svc_id_t   asp_svc_id (asp_svc_t *self);
zloop_t       *asp_svc_loop (asp_svc_t *self);
//  The process's CURVE authority (e.g. to admit partners on another socket).
asp_curve_t   *asp_svc_curve (asp_svc_t *self);
asp_rds_t     *asp_svc_rds (asp_svc_t *self);
asp_outbox_t  *asp_svc_outbox (asp_svc_t *self);
asp_metrics_t *asp_svc_metrics (asp_svc_t *self);
//  Registers a script on the service's Redis connection.
asp_script_t  *asp_svc_script (asp_svc_t *self, const char *name, const char *body);
//  Same, with the service's own Lua library (asp_rds_script_lib).
asp_script_t  *asp_svc_script_lib (asp_svc_t *self, const char *name, const char *lib, const char *body);
//  True when the outbox holds more than ASP_OUTBOX_MAX messages: callers
//  refuse new work (HTTP 503) instead of growing without bound.
bool asp_svc_overloaded (asp_svc_t *self);

//  The heartbeat (asp_svcstat.h) the loop writes every 5 s measures
//  counter (NULL: the histogram's count) and histo. By default: bus
//  messages received and asp_bus_handle_seconds. Call before asp_svc_run.
void asp_svc_heartbeat (asp_svc_t *self, asp_counter_t *counter, asp_histo_t *histo);

void asp_svc_test (void);

#endif
