#include "notify_server.h"
#include "asp_config.h"
#include "asp_log.h"
#include "asp_svc.h"
#include "notify_events.h"
#include "notify_store.h"
#include "notify_worker.h"
#include <assert.h>
#include <stdatomic.h>

#define S_MAX_WORKERS 64
#define S_PROMOTE_BATCH 1000

struct notify_server_t {
    asp_svc_t *svc;
    notify_events_t *events;
    notify_store_t *store;      //  on the loop's Redis connection
    notify_policy_t policy;
    notify_meters_t meters;
    asp_counter_t *queued;
    notify_bell_t *bell;        //  rung when work is queued
    notify_worker_t *workers [S_MAX_WORKERS];
    int nworkers;
    atomic_bool recovered;      //  workers wait for this
    atomic_bool stop;
    //  Queue lengths, refreshed by the timer, read by the HTTP thread.
    _Atomic int64_t pending, processing, retry, dead;
};

static double s_gauge_pending (void *arg) { return (double) atomic_load (&((notify_server_t *) arg)->pending); }
static double s_gauge_processing (void *arg) { return (double) atomic_load (&((notify_server_t *) arg)->processing); }
static double s_gauge_retry (void *arg) { return (double) atomic_load (&((notify_server_t *) arg)->retry); }
static double s_gauge_dead (void *arg) { return (double) atomic_load (&((notify_server_t *) arg)->dead); }

static void
s_metrics (notify_server_t *self)
{
    asp_metrics_t *m = asp_svc_metrics (self->svc);
    self->queued = asp_metrics_counter (m, "notify_queued_total", "Notifications recorded and queued.");
    self->meters.delivered = asp_metrics_counter (m, "notify_delivered_total", "Notifications delivered.");
    self->meters.retried = asp_metrics_counter (m, "notify_retried_total",
                                                "Failed delivery attempts scheduled for a retry.");
    self->meters.dead = asp_metrics_counter (m, "notify_dead_total", "Notifications moved to dead letters.");
    self->meters.latency = asp_metrics_histo (m, "notify_delivery_seconds",
                                              "Duration of successful delivery attempts.");
    asp_metrics_gauge (m, "notify_pending", "Notifications waiting for a worker.", s_gauge_pending, self);
    asp_metrics_gauge (m, "notify_processing", "Notifications being delivered.", s_gauge_processing, self);
    asp_metrics_gauge (m, "notify_retry", "Notifications waiting for their next attempt.", s_gauge_retry, self);
    asp_metrics_gauge (m, "notify_dead_letters", "Notifications in the dead-letter list.", s_gauge_dead, self);
}

static int
s_on_tick (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop; (void) timer_id;
    notify_server_t *self = (notify_server_t *) arg;
    if (!atomic_load (&self->recovered)) {
        //  Before any worker takes work: what was in flight when the last
        //  process died goes back to pending.
        int moved = notify_store_recover (self->store);
        if (moved < 0)
            return 0;           //  Redis not there yet: next tick
        if (moved > 0)
            asp_log_info ("recovered %d notification(s) left in processing; sending them again", moved);
        atomic_store (&self->recovered, true);
    }
    if (notify_store_promote (self->store, S_PROMOTE_BATCH) > 0)
        notify_bell_ring (self->bell);
    notify_depths_t d;
    if (notify_store_depths (self->store, &d) == 0) {
        atomic_store (&self->pending, d.pending);
        atomic_store (&self->processing, d.processing);
        atomic_store (&self->retry, d.retry);
        atomic_store (&self->dead, d.dead);
    }
    return 0;
}

notify_server_t *
notify_server_new (void)
{
    notify_server_t *self = (notify_server_t *) calloc (1, sizeof *self);
    assert (self);
    self->svc = asp_svc_new (ASP_SVC_NOTIFICATION);
    const char *lang_name = asp_cfg_str ("ASP_NOTIFY_LANG", "zh-CN");
    notify_lang_t lang;
    if (notify_lang_parse (lang_name, &lang)) {
        asp_log_error ("bad configuration: ASP_NOTIFY_LANG='%s' must be zh-CN or en", lang_name);
        exit (2);
    }
    int nworkers = (int) asp_cfg_int ("ASP_NOTIFY_WORKERS", 2, 1, S_MAX_WORKERS);
    notify_policy_load (&self->policy);
    s_metrics (self);
    self->bell = notify_bell_new ();
    self->events = notify_events_new (self->svc, lang, self->queued, self->bell);
    self->store = notify_store_new (asp_svc_rds (self->svc), &self->policy);
    for (int i = 0; i < nworkers; i++) {
        self->workers [i] = notify_worker_new (i, nworkers, &self->policy, &self->meters, self->bell,
                                               &self->recovered, &self->stop);
        if (!self->workers [i])
            exit (2);           //  the channel said why
        self->nworkers++;
    }
    zloop_timer (asp_svc_loop (self->svc), 100, 0, s_on_tick, self);
    asp_log_info ("notification: %d worker(s), channel %s, lang %s, %d attempt(s), backoff %lld..%lld ms",
                  nworkers, notify_worker_channel (self->workers [0]), notify_lang_name (lang),
                  self->policy.max_attempts, (long long) self->policy.backoff_ms,
                  (long long) self->policy.backoff_max_ms);
    return self;
}

int
notify_server_run (notify_server_t *self)
{
    int rc = asp_svc_run (self->svc);
    //  Workers finish the notification in hand, record it, and stop.
    atomic_store (&self->stop, true);
    for (int i = 0; i < self->nworkers; i++)
        notify_worker_destroy (&self->workers [i]);
    self->nworkers = 0;
    asp_log_info ("notification workers stopped");
    return rc;
}

void
notify_server_destroy (notify_server_t **self_p)
{
    notify_server_t *self = *self_p;
    if (!self)
        return;
    atomic_store (&self->stop, true);
    for (int i = 0; i < self->nworkers; i++)
        notify_worker_destroy (&self->workers [i]);
    notify_store_destroy (&self->store);
    notify_events_destroy (&self->events);
    asp_svc_destroy (&self->svc);   //  stops HTTP first; its gauges read self
    notify_bell_destroy (&self->bell);
    free (self);
    *self_p = NULL;
}
