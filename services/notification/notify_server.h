/*  notify_server: the notification service put together.

    The bus side runs in asp_svc's loop (notify_events records and queues);
    ASP_NOTIFY_WORKERS threads deliver (notify_worker); a 100 ms timer in
    the loop does the housekeeping: the start-up recovery of what a crash
    left in processing (workers wait for it), moving due retries back to
    pending, reading the queue lengths for /metrics, and reloading the
    templates (ASP_NOTIFY_TEMPLATES) when a file changed (looked at once a
    second) or on SIGHUP: a refused set keeps the one in use.

    Metrics (prefix asp_, label service="notification"):
      notify_queued_total, notify_delivered_total, notify_retried_total,
      notify_dead_total, notify_channel_fallback_total (sent by the default
      channel: theirs is not configured here), notify_delivery_seconds (histogram of successful
      attempts), notify_templates_reloads_total,
      notify_templates_reload_errors_total, gauges notify_pending, notify_processing, notify_retry,
      notify_dead_letters.                                                 */
#ifndef NOTIFY_SERVER_H
#define NOTIFY_SERVER_H
#include "asp_svc.h"

typedef struct notify_server_t notify_server_t;

//  Reads the configuration (exits 2 when invalid) and starts the workers.
notify_server_t *notify_server_new (void);
//  Serves until SIGINT/SIGTERM, then stops the workers.
int  notify_server_run (notify_server_t *self);
void notify_server_destroy (notify_server_t **self_p);
//  The service runtime underneath (borrowed), e.g. to run it from a test.
asp_svc_t *notify_server_svc (notify_server_t *self);

//  The whole service over real sockets, Redis and its delivery threads.
void notify_server_test (void);

#endif
