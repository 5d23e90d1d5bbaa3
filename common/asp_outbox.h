/*  asp_outbox: reliable delivery of committed messages to other services.

    Scripts commit outgoing messages to Redis hashes {s<n>}:ob:<self>:<dst>
    (one per shard, see asp_keys.h) in the same atomic step as the state
    change (see asp_txn). This class sends them over one DEALER per
    destination and forgets them only when the receiver acknowledges:
    ["ACK", id...] after it has applied them durably, or ["NAK", id, reason]
    when it refuses them: then one script moves them to the dead letters
    {s<n>}:dl:<self>:<dst> (the reason in {s<n>}:dlr:<self>:<dst>), retried
    until Redis confirms. Unacknowledged messages are sent again every
    ASP_RESEND_MS. asp_outbox_recover reads whatever is in Redis: at start,
    and again whenever a transaction's reply was lost in this process
    (asp_txn_lost_total moved), since that script may have committed
    messages nobody holds in memory. Delivery is therefore at least once;
    receivers apply each message id once.

    DEALERs use ZMQ_IMMEDIATE, so nothing queues towards a peer that is not
    connected: an unreachable service costs memory here, bounded by what
    intake accepts (ASP_OUTBOX_MAX), never unbounded socket queues.

    Other threads hand committed messages to the loop's thread through an
    asp_outbox_remote_t (an inproc PUSH), since ZeroMQ sockets are not
    thread-safe.                                                           */
#ifndef ASP_OUTBOX_H
#define ASP_OUTBOX_H
#include "asp_curve.h"
#include "asp_events.h"
#include "asp_rds.h"
#include "asp_txn.h"
#include <czmq.h>

typedef struct asp_outbox_t asp_outbox_t;
typedef struct asp_outbox_remote_t asp_outbox_remote_t;

//  Connects one DEALER per destination to ASP_<SVC>_BUS, each a CURVE
//  client set up by curve (see asp_curve). rds and curve are borrowed.
asp_outbox_t *asp_outbox_new (asp_svc_id_t self, asp_rds_t *rds, asp_curve_t *curve);
void asp_outbox_destroy (asp_outbox_t **self_p);
//  Registers the ACK readers, the inproc reader and the resend timer; the
//  timer also completes recovery when Redis was down at start.
int  asp_outbox_attach (asp_outbox_t *self, zloop_t *loop);
//  Loads unacknowledged messages from Redis (at start, and after a lost
//  reply). 0 when done, -1 to retry later (the resend timer does).
int  asp_outbox_recover (asp_outbox_t *self);
//  Tracks a message committed in shard's outbox hash and sends it now.
void asp_outbox_add (asp_outbox_t *self, asp_svc_id_t dst, unsigned shard, const char *id,
                     const char *data, size_t size);
//  Adds every message of txn if the script emitted them.
void asp_outbox_add_txn (asp_outbox_t *self, asp_txn_t *txn);
//  Messages not yet acknowledged (readable from any thread).
size_t asp_outbox_pending (asp_outbox_t *self);
//  Counters for /metrics.
uint64_t asp_outbox_sent (asp_outbox_t *self);
uint64_t asp_outbox_resent (asp_outbox_t *self);
uint64_t asp_outbox_acked (asp_outbox_t *self);
uint64_t asp_outbox_dead (asp_outbox_t *self);

//  A handle for one other thread; create it in any thread, use it in one.
asp_outbox_remote_t *asp_outbox_remote_new (asp_outbox_t *outbox);
void asp_outbox_remote_destroy (asp_outbox_remote_t **self_p);
void asp_outbox_remote_add_txn (asp_outbox_remote_t *self, asp_txn_t *txn);

void asp_outbox_test (void);
#endif
