#include "notify_worker.h"
#include "asp_log.h"
#include "notify_channel.h"
#include <assert.h>
#include <czmq.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>

struct notify_bell_t {
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    uint64_t rings;
};

notify_bell_t *
notify_bell_new (void)
{
    notify_bell_t *self = (notify_bell_t *) calloc (1, sizeof *self);
    assert (self);
    pthread_mutex_init (&self->mutex, NULL);
    //  Timed waits on the monotonic clock: a wall clock step is no wake-up.
    pthread_condattr_t attr;
    pthread_condattr_init (&attr);
    pthread_condattr_setclock (&attr, CLOCK_MONOTONIC);
    pthread_cond_init (&self->cond, &attr);
    pthread_condattr_destroy (&attr);
    return self;
}

void
notify_bell_destroy (notify_bell_t **self_p)
{
    notify_bell_t *self = *self_p;
    if (!self)
        return;
    pthread_cond_destroy (&self->cond);
    pthread_mutex_destroy (&self->mutex);
    free (self);
    *self_p = NULL;
}

void
notify_bell_ring (notify_bell_t *self)
{
    pthread_mutex_lock (&self->mutex);
    self->rings++;
    pthread_cond_broadcast (&self->cond);
    pthread_mutex_unlock (&self->mutex);
}

uint64_t
notify_bell_rings (notify_bell_t *self)
{
    pthread_mutex_lock (&self->mutex);
    uint64_t rings = self->rings;
    pthread_mutex_unlock (&self->mutex);
    return rings;
}

void
notify_bell_wait (notify_bell_t *self, uint64_t seen, int timeout_ms)
{
    struct timespec until;
    clock_gettime (CLOCK_MONOTONIC, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long) (timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock (&self->mutex);
    while (self->rings == seen)
        if (pthread_cond_timedwait (&self->cond, &self->mutex, &until))
            break;                  //  timed out (or an error: look anyway)
    pthread_mutex_unlock (&self->mutex);
}

struct notify_worker_t {
    int index;
    unsigned first, step;           //  the shards it serves
    notify_bell_t *bell;
    pthread_t thread;
    bool started;
    asp_rds_t *rds;
    notify_store_t *store;
    asp_outbox_remote_t *remote;    //  what a settle commits, to the loop's outbox
    const notify_config_t *config;
    notify_channels_t *channels;
    const notify_meters_t *meters;
    atomic_bool *ready;
    atomic_bool *stop;
};

static bool
s_stopping (notify_worker_t *self)
{
    return atomic_load (self->stop) || zsys_interrupted;
}

static void
s_nap (int ms)
{
    struct timespec ts = { ms / 1000, (long) (ms % 1000) * 1000000L };
    nanosleep (&ts, NULL);
}

//  What one attempt came to, as the metrics name it.
typedef enum { S_DELIVERED, S_RETRIED, S_DEAD, S_DEFERRED, S_OUTCOMES } s_outcome_t;
static const char *s_outcome_names [S_OUTCOMES] = { "delivered", "retried", "dead", "deferred" };

static void
s_count (notify_worker_t *self, asp_notify_channel_t channel, s_outcome_t outcome)
{
    const char *name = asp_vocab_name (&asp_vocab_notify_channel, channel);
    asp_counter_inc (asp_family_counter (self->meters->sends, name? name: "default", s_outcome_names [outcome], NULL));
}

//  Records the outcome of an attempt. Redis may be away for a while; the
//  outcome must be recorded, not the delivery repeated, so keep trying
//  until it is back or we are told to stop (then the id stays in
//  processing and the next start sends it again: at least once).
static bool
s_settle (notify_worker_t *self, const notify_item_t *item, asp_notify_channel_t channel,
          notify_result_t result, const char *err, notify_fate_t *fate)
{
    for (;;) {
        int rc = result == NOTIFY_SENT? notify_store_delivered (self->store, item, channel):
                 notify_store_failed (self->store, item, channel, err, result == NOTIFY_REFUSED, fate);
        if (rc == 0)
            return true;
        if (s_stopping (self)) {
            asp_log_kv (ASP_LOG_WARN, "delivery outcome not recorded (Redis down at shutdown); "
                        "it is sent again after the restart", "id", item->id, NULL);
            return false;
        }
        s_nap (100);
    }
}

static void
s_log (asp_log_level_t level, const char *msg, const notify_item_t *item, int attempt,
       const char *reason)
{
    char to [64], tries [16];
    asp_mask_phone (item->phone, to, sizeof to);
    snprintf (tries, sizeof tries, "%d", attempt);
    const char *channel = asp_vocab_name (&asp_vocab_notify_channel, item->channel);
    asp_log_kv (level, msg, "id", item->id, "ticket", item->ticket, "template", item->tpl,
                "to", to, "channel", channel? channel: "default", "attempt", tries,
                reason? "reason": NULL, reason, NULL);
}

//  Sets msg's channel and address: the recorded ones, or the default's
//  when the recorded channel is not configured here (never silently).
static void
s_route (notify_worker_t *self, const notify_item_t *item, notify_msg_t *msg)
{
    asp_notify_channel_t channel = notify_channels_route (self->config, item->channel);
    if (channel == item->channel)
        return;
    asp_counter_inc (self->meters->fallback);
    const char *was = asp_vocab_name (&asp_vocab_notify_channel, item->channel);
    asp_log_kv (ASP_LOG_WARN, "notification's channel not configured here; sent by the default",
                "id", item->id, "channel", was? was: "?", "default",
                asp_vocab_name (&asp_vocab_notify_channel, channel), NULL);
    msg->channel = channel;
    msg->to = channel == ASP_NOTIFY_SMS? item->phone: channel == ASP_NOTIFY_EMAIL? item->email: "";
}

static void
s_deliver (notify_worker_t *self, const notify_claim_t *claim)
{
    notify_item_t item = { 0 };
    int rc;
    while ((rc = notify_store_load (self->store, claim, &item)) == -1) {
        if (s_stopping (self))
            return;             //  still in processing: recovered at the next start
        s_nap (100);
    }
    if (rc == 1) {
        asp_log_kv (ASP_LOG_WARN, "queued notification no longer exists; skipped", "id", claim->id, NULL);
        return;
    }
    int attempt = item.attempts + 1;
    char err [320];
    notify_msg_t msg = { .id = item.id, .channel = item.channel, .to = item.to, .subject = item.subject,
                         .text = item.text, .json = item.json, .json_len = item.json_len,
                         .attempt = attempt };
    s_route (self, &item, &msg);
    //  The recipient's rate limit, in the shard of their address.
    int64_t later = 0;
    while ((rc = notify_store_rate (self->store, &item, msg.channel, msg.to, &later)) == -1) {
        if (s_stopping (self)) {
            notify_item_reset (&item);
            return;             //  still in processing: recovered at the next start
        }
        s_nap (100);
    }
    if (rc == 1) {
        while ((rc = notify_store_defer (self->store, &item, later)) == -1 && !s_stopping (self))
            s_nap (100);
        if (rc == 0) {
            asp_counter_inc (self->meters->deferred);
            s_count (self, msg.channel, S_DEFERRED);
            s_log (ASP_LOG_INFO, "notification over its recipient's rate limit; deferred", &item, attempt, NULL);
        }
        notify_item_reset (&item);
        return;
    }
    int64_t started = asp_mono_us ();
    notify_result_t result = notify_channels_send (self->channels, &msg, err, sizeof err);
    int64_t took = asp_mono_us () - started;
    notify_fate_t fate = NOTIFY_FATE_RETRY;
    if (s_settle (self, &item, msg.channel, result, err, &fate)) {
        if (result == NOTIFY_SENT) {
            asp_histo_observe_us (self->meters->latency, took);
            asp_counter_inc (self->meters->delivered);
            s_count (self, msg.channel, S_DELIVERED);
            s_log (ASP_LOG_INFO, "notification delivered", &item, attempt, NULL);
        }
        else
        if (fate == NOTIFY_FATE_GONE)
            s_log (ASP_LOG_WARN, "notification vanished during its delivery attempt", &item, attempt, err);
        else
        if (fate == NOTIFY_FATE_DEAD) {
            asp_counter_inc (self->meters->dead);
            s_count (self, msg.channel, S_DEAD);
            s_log (ASP_LOG_ERROR, result == NOTIFY_REFUSED?
                   "notification refused by the receiver; moved to dead letters":
                   "notification failed its last attempt; moved to dead letters",
                   &item, attempt, err);
        }
        else {
            asp_counter_inc (self->meters->retried);
            s_count (self, msg.channel, S_RETRIED);
            s_log (ASP_LOG_WARN, "notification delivery failed; retry scheduled", &item, attempt, err);
        }
    }
    notify_item_reset (&item);
}

static void *
s_run (void *arg)
{
    notify_worker_t *self = (notify_worker_t *) arg;
    while (!s_stopping (self)) {
        if (!atomic_load (self->ready)) {
            s_nap (50);
            continue;
        }
        uint64_t rings = notify_bell_rings (self->bell);
        notify_claim_t claims [ASP_SHARDS];
        int n = notify_store_claim (self->store, self->first, self->step, claims, ASP_SHARDS);
        //  Claimed ones are delivered even when stopping: each is quick,
        //  bounded by the channel's timeout, and else would wait in
        //  processing for the next start.
        for (int i = 0; i < n; i++)
            s_deliver (self, &claims [i]);
        if (n == 0)
            notify_bell_wait (self->bell, rings, 500);
        else
        if (n == -1) {
            //  The connection died with claims on the way: Redis may have
            //  moved ids to processing whose replies never came, and no
            //  worker holds them. Every worker waits until the server has
            //  put processing back in pending (at least once: a worker's
            //  own delivery still in flight may be sent again, with the
            //  same id, which receivers drop).
            atomic_store (self->ready, false);
            s_nap (200);        //  Redis down; asp_rds backs off the reconnects
        }
    }
    return NULL;
}

notify_worker_t *
notify_worker_new (int index, int count, const notify_config_t *config, const notify_policy_t *policy,
                   const notify_meters_t *meters, asp_outbox_t *outbox,
                   notify_bell_t *bell, atomic_bool *ready, atomic_bool *stop)
{
    assert (index >= 0 && index < count);
    notify_worker_t *self = (notify_worker_t *) calloc (1, sizeof *self);
    assert (self);
    self->index = index;
    self->first = (unsigned) index % ASP_SHARDS;
    self->step = count < ASP_SHARDS? (unsigned) count: ASP_SHARDS;
    self->bell = bell;
    self->meters = meters;
    self->ready = ready;
    self->stop = stop;
    self->config = config;
    self->channels = notify_channels_new (config);
    if (!self->channels) {
        notify_worker_destroy (&self);
        return NULL;
    }
    self->rds = asp_rds_new ();
    self->remote = outbox? asp_outbox_remote_new (outbox): NULL;
    self->store = notify_store_new (self->rds, policy, self->remote);
    //  Signals belong to the main thread, whose loop stops on them; the
    //  worker sees the stop flag instead.
    sigset_t block, saved;
    sigemptyset (&block);
    sigaddset (&block, SIGINT);
    sigaddset (&block, SIGTERM);
    pthread_sigmask (SIG_BLOCK, &block, &saved);
    int rc = pthread_create (&self->thread, NULL, s_run, self);
    pthread_sigmask (SIG_SETMASK, &saved, NULL);
    if (rc) {
        asp_log_error ("notification: cannot start worker %d: %s", index, strerror (rc));
        notify_worker_destroy (&self);
        return NULL;
    }
    self->started = true;
    return self;
}

void
notify_worker_destroy (notify_worker_t **self_p)
{
    notify_worker_t *self = *self_p;
    if (!self)
        return;
    if (self->started) {
        atomic_store (self->stop, true);
        pthread_join (self->thread, NULL);
    }
    notify_store_destroy (&self->store);
    asp_outbox_remote_destroy (&self->remote);
    asp_rds_destroy (&self->rds);
    notify_channels_destroy (&self->channels);
    free (self);
    *self_p = NULL;
}
