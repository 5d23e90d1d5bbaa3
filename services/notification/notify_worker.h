/*  notify_worker: one delivery thread.

    Each worker has its own Redis connection (blocking BLMOVE is fine
    here: it waits at most half a second, then looks at the stop flag) and
    its own channel (for a webhook: its own libcurl handle, kept alive). It
    takes a notification, sends it, and settles the outcome in Redis; see
    notify_store for the queue and the crash story.

    Workers start taking work only once `ready` is true (the start-up
    recovery is done) and stop between notifications when `stop` is true
    or CZMQ saw SIGINT/SIGTERM; a post in flight is finished and recorded
    first, bounded by the webhook timeout.                                 */
#ifndef NOTIFY_WORKER_H
#define NOTIFY_WORKER_H
#include "asp_metrics.h"
#include "notify_store.h"
#include <stdatomic.h>

//  Meters shared by every worker (atomic counters, owned by the metrics).
typedef struct {
    asp_counter_t *delivered;
    asp_counter_t *retried;
    asp_counter_t *dead;
    asp_histo_t *latency;       //  one delivery attempt that succeeded
} notify_meters_t;

typedef struct notify_worker_t notify_worker_t;

//  Creates the worker's Redis connection and channel and starts its thread.
//  NULL when the channel configuration is invalid. meters, ready and stop
//  are borrowed and must outlive the worker.
notify_worker_t *notify_worker_new (int index, const notify_policy_t *policy,
                                    const notify_meters_t *meters,
                                    atomic_bool *ready, atomic_bool *stop);
//  Waits for the thread to end (set stop first), then frees everything.
void notify_worker_destroy (notify_worker_t **self_p);
const char *notify_worker_channel (notify_worker_t *self);

#endif
