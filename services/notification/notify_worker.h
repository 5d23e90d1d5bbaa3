/*  notify_worker: one delivery thread.

    Each worker has its own Redis connection and one instance of each
    configured channel (webhook, SMTP, SMS: each its own libcurl handle,
    kept alive), and serves a fixed set of
    shards: worker i of n takes shards i, i + n, ... (with more workers than
    shards, several share one). It claims one notification per shard in
    one round trip, sends each, and settles each outcome in Redis; see
    notify_store for the queues and the crash story. When its shards are
    empty it sleeps on the bell (notify_bell_t) until the loop thread rings
    it (a notification recorded or a retry due) or half a second passed,
    so nothing waits on a wake-up that got lost.

    Workers start taking work only once `ready` is true (the start-up
    recovery is done); a worker whose claim lost the connection sets it
    false, so that the server recovers processing again before anyone
    claims more (an id Redis moved whose reply never came is held by no
    worker) and stop between notifications when `stop` is true
    or CZMQ saw SIGINT/SIGTERM; a post in flight is finished and recorded
    first, bounded by the channel's timeout. A notification recorded for a
    channel not configured in this process (the configuration changed
    since) goes by the default, logged and counted.                                 */
#ifndef NOTIFY_WORKER_H
#define NOTIFY_WORKER_H
#include "asp_metrics.h"
#include "notify_channel.h"
#include "notify_store.h"
#include <stdatomic.h>

//  Meters shared by every worker (atomic counters, owned by the metrics).
typedef struct {
    asp_counter_t *delivered;
    asp_counter_t *retried;
    asp_counter_t *dead;
    asp_histo_t *latency;       //  one delivery attempt that succeeded
    asp_counter_t *fallback;    //  sent by the default: its channel is not configured here
    asp_counter_t *deferred;    //  over its recipient's rate limit: waits for the next window
    asp_family_t *sends;        //  by channel and outcome (notify_worker.c's s_outcome_t)
} notify_meters_t;

//  A doorbell: the loop thread rings, idle workers wake. Thread-safe.
typedef struct notify_bell_t notify_bell_t;
notify_bell_t *notify_bell_new (void);
void notify_bell_destroy (notify_bell_t **self_p);
void notify_bell_ring (notify_bell_t *self);
//  The number of rings so far; pass it to notify_bell_wait.
uint64_t notify_bell_rings (notify_bell_t *self);
//  Sleeps until the bell rang after `seen` rings, or timeout_ms passed.
void notify_bell_wait (notify_bell_t *self, uint64_t seen, int timeout_ms);

typedef struct notify_worker_t notify_worker_t;

//  Creates the worker's Redis connection and channel and starts its thread.
//  NULL when a channel cannot be set up. config, meters, outbox (the
//  loop's, where the events its settles commit go; NULL: none), bell,
//  ready and stop are borrowed and must outlive the worker.
notify_worker_t *notify_worker_new (int index, int count, const notify_config_t *config,
                                    const notify_policy_t *policy,
                                    const notify_meters_t *meters, asp_outbox_t *outbox, notify_bell_t *bell,
                                    atomic_bool *ready, atomic_bool *stop);
//  Waits for the thread to end (set stop first), then frees everything.
void notify_worker_destroy (notify_worker_t **self_p);

#endif
