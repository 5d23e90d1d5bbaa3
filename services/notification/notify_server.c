#include "notify_server.h"
#include "asp_config.h"
#include "asp_log.h"
#include "asp_svc.h"
#include "notify_events.h"
#include "notify_store.h"
#include "notify_worker.h"
#include "asp_filewatch.h"
#include "asp_sighup.h"
#include <assert.h>
#include <stdatomic.h>
#include <unistd.h>

#define S_MAX_WORKERS 64
#define S_PROMOTE_BATCH 1000

struct notify_server_t {
    asp_svc_t *svc;
    notify_events_t *events;
    notify_store_t *store;      //  on the loop's Redis connection
    notify_policy_t policy;
    notify_config_t config;     //  the channels; workers and events borrow it
    notify_templates_t *templates;  //  the words; events borrows them
    char *templates_dir;        //  ASP_NOTIFY_TEMPLATES (NULL: the built-in copy)
    asp_filewatch_t *watch [NOTIFY_LANG_COUNT];     //  one per language file
    notify_rules_t *rules;      //  who hears of what; events borrows them
    char *rules_path;           //  ASP_NOTIFY_RULES (NULL: the built-in copy)
    asp_filewatch_t *rules_watch;   //  NULL with the built-in copy
    asp_counter_t *m_rules_reloads, *m_rules_reload_errors;
    sla_policy_watch_t *sla;    //  sla-timer's policy file: regions' supervisors, managers
    asp_counter_t *m_reloads, *m_reload_errors;
    asp_sighup_t *hup;          //  SIGHUP, read in the loop
    notify_meters_t meters;
    asp_counter_t *queued;
    notify_bell_t *bell;        //  rung when work is queued
    notify_worker_t *workers [S_MAX_WORKERS];
    int nworkers;
    atomic_bool recovered;      //  workers wait for this
    uint64_t ticks;
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
    self->meters.fallback = asp_metrics_counter (m, "notify_channel_fallback_total",
        "Notifications sent by the default channel because theirs is not configured here.");
    self->m_reloads = asp_metrics_counter (m, "notify_templates_reloads_total",
                                           "Template files loaded again after the start.");
    self->m_reload_errors = asp_metrics_counter (m, "notify_templates_reload_errors_total",
                                                 "Template file changes refused (the templates in use stayed).");
    self->m_rules_reloads = asp_metrics_counter (m, "notify_rules_reloads_total",
                                                 "Rules files loaded again after the start.");
    self->m_rules_reload_errors = asp_metrics_counter (m, "notify_rules_reload_errors_total",
                                                       "Rules file changes refused (the rules in use stayed).");
    self->meters.deferred = asp_metrics_counter (m, "notify_rate_deferred_total",
        "Notifications deferred to the next window: their recipient was over the channel's rate limit.");
    self->meters.latency = asp_metrics_histo (m, "notify_delivery_seconds",
                                              "Duration of successful delivery attempts.");
    self->meters.sends = asp_metrics_counter_family (m, "notify_sends_total",
        "Delivery attempts by the channel used and their outcome (delivered, retried, dead, deferred).",
        "channel,outcome", 64);
    asp_metrics_gauge (m, "notify_pending", "Notifications waiting for a worker.", s_gauge_pending, self);
    asp_metrics_gauge (m, "notify_processing", "Notifications being delivered.", s_gauge_processing, self);
    asp_metrics_gauge (m, "notify_retry", "Notifications waiting for their next attempt.", s_gauge_retry, self);
    asp_metrics_gauge (m, "notify_dead_letters", "Notifications in the dead-letter list.", s_gauge_dead, self);
}

//  Reads the templates again; a refused set keeps the one in use.
static void
s_reload_templates (notify_server_t *self)
{
    int64_t now = asp_mono_ms ();
    for (int lang = 0; lang < NOTIFY_LANG_COUNT; lang++)
        asp_filewatch_mark (self->watch [lang], now);
    char why [400];
    notify_templates_t *fresh = notify_templates_load (self->templates_dir, why, sizeof why);
    if (!fresh) {
        asp_counter_inc (self->m_reload_errors);
        asp_log_error ("notification: templates refused, the ones in use stay: %s", why);
        return;
    }
    notify_events_set_templates (self->events, fresh);
    notify_templates_destroy (&self->templates);
    self->templates = fresh;
    asp_counter_inc (self->m_reloads);
    asp_log_info ("notification: templates reloaded from %s", self->templates_dir);
}

//  Reads the rules again; a refused file keeps the rules in use.
static void
s_reload_rules (notify_server_t *self)
{
    asp_filewatch_mark (self->rules_watch, asp_mono_ms ());
    char why [400];
    notify_rules_t *fresh = notify_rules_load (self->rules_path, why, sizeof why);
    if (!fresh) {
        asp_counter_inc (self->m_rules_reload_errors);
        asp_log_error ("notification: rules refused, the ones in use stay: %s", why);
        return;
    }
    notify_events_set_rules (self->events, fresh);
    notify_rules_destroy (&self->rules);
    self->rules = fresh;
    asp_counter_inc (self->m_rules_reloads);
    asp_log_info ("notification: rules reloaded from %s", self->rules_path);
}

//  When a language file, the rules or the SLA policy file changed (looked
//  at once a second) or SIGHUP came.
static void
s_check_files (notify_server_t *self)
{
    if (self->rules_watch && asp_filewatch_due (self->rules_watch, asp_mono_ms ()))
        s_reload_rules (self);
    if (sla_policy_watch_check (self->sla, asp_mono_ms ()) < 0)
        asp_log_error ("notification: SLA policy file refused, the one in use stays: %s",
                       sla_policy_watch_error (self->sla));
    if (!self->templates_dir)
        return;
    bool due = false;
    int64_t now = asp_mono_ms ();
    for (int lang = 0; lang < NOTIFY_LANG_COUNT; lang++)
        due = asp_filewatch_due (self->watch [lang], now) || due;
    if (due)
        s_reload_templates (self);
}

//  SIGHUP: every file read again now.
static void
s_on_hup (void *arg)
{
    notify_server_t *self = (notify_server_t *) arg;
    for (int lang = 0; lang < NOTIFY_LANG_COUNT && self->templates_dir; lang++)
        asp_filewatch_hup (self->watch [lang]);
    if (self->rules_watch)
        asp_filewatch_hup (self->rules_watch);
    sla_policy_watch_hup (self->sla);
    s_check_files (self);
}

static int
s_on_tick (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop; (void) timer_id;
    notify_server_t *self = (notify_server_t *) arg;
    if (!atomic_load (&self->recovered)) {
        //  Before any worker takes work, and again after a worker lost
        //  its connection while claiming: what no worker holds goes back
        //  to pending.
        int moved = notify_store_recover (self->store);
        if (moved < 0)
            return 0;           //  Redis not there yet: next tick
        if (moved > 0)
            asp_log_info ("recovered %d notification(s) left in processing; sending them again", moved);
        atomic_store (&self->recovered, true);
    }
    s_check_files (self);
    if (notify_store_promote (self->store, S_PROMOTE_BATCH) > 0)
        notify_bell_ring (self->bell);
    //  The gauges read 4 x ASP_SHARDS lengths: once a second is enough.
    if (self->ticks++ % 10)
        return 0;
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
    if (notify_config_load (&self->config))
        exit (2);               //  it said why
    const char *dir = asp_cfg_str ("ASP_NOTIFY_TEMPLATES", NULL);
    char why [400];
    self->templates_dir = dir? strdup (dir): NULL;
    for (int l = 0; dir && l < NOTIFY_LANG_COUNT; l++) {
        char path [600];
        notify_templates_path (dir, (notify_lang_t) l, path, sizeof path);
        self->watch [l] = asp_filewatch_new (path, 1000);
        asp_filewatch_mark (self->watch [l], asp_mono_ms ());
    }
    if (!(self->templates = notify_templates_load (dir, why, sizeof why))) {
        asp_log_error ("bad configuration: ASP_NOTIFY_TEMPLATES: %s", why);
        exit (2);
    }
    const char *rules = asp_cfg_str ("ASP_NOTIFY_RULES", NULL);
    self->rules_path = rules? strdup (rules): NULL;
    if (rules) {
        self->rules_watch = asp_filewatch_new (rules, 1000);
        asp_filewatch_mark (self->rules_watch, asp_mono_ms ());
    }
    if (!(self->rules = notify_rules_load (rules, why, sizeof why))) {
        asp_log_error ("bad configuration: ASP_NOTIFY_RULES: %s", why);
        exit (2);
    }
    //  The same file and variable as sla-timer's: one list of the regions'
    //  supervisors and managers.
    const char *sla = asp_cfg_str ("ASP_SLA_POLICY_FILE", NULL);
    if (!(self->sla = sla_policy_watch_new (sla, why, sizeof why))) {
        asp_log_error ("bad configuration: ASP_SLA_POLICY_FILE: %s", why);
        exit (2);
    }
    notify_policy_load (&self->policy);
    s_metrics (self);
    self->bell = notify_bell_new ();
    self->events = notify_events_new (self->svc, lang, &self->config, self->templates, self->rules,
                                      self->queued, self->meters.fallback, self->bell);
    notify_events_set_sla (self->events, self->sla);
    self->store = notify_store_new (asp_svc_rds (self->svc), &self->policy, NULL);
    for (int i = 0; i < nworkers; i++) {
        self->workers [i] = notify_worker_new (i, nworkers, &self->config, &self->policy, &self->meters,
                                               asp_svc_outbox (self->svc), self->bell,
                                               &self->recovered, &self->stop);
        if (!self->workers [i])
            exit (2);           //  the channel said why
        self->nworkers++;
    }
    zloop_timer (asp_svc_loop (self->svc), 100, 0, s_on_tick, self);
    //  The templates, the rules and the SLA policy file.
    self->hup = asp_sighup_new (asp_svc_loop (self->svc), "notification", s_on_hup, self);
    char channels [80] = "";
    for (int c = 0; c < ASP_NOTIFY_CHANNELS; c++)
        if (self->config.configured [c])
            snprintf (channels + strlen (channels), sizeof channels - strlen (channels), "%s%s",
                      *channels? ",": "", asp_vocab_name (&asp_vocab_notify_channel, c));
    asp_log_info ("notification: %d worker(s), channels %s (default %s%s), lang %s, %d attempt(s), "
                  "backoff %lld..%lld ms", nworkers, channels,
                  asp_vocab_name (&asp_vocab_notify_channel, self->config.fallback),
                  self->config.secrets.count? ", webhooks signed": "", notify_lang_name (lang),
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
    asp_sighup_destroy (&self->hup);    //  before the loop it is polled in
    asp_svc_destroy (&self->svc);   //  stops HTTP first; its gauges read self
    notify_bell_destroy (&self->bell);
    notify_templates_destroy (&self->templates);
    notify_rules_destroy (&self->rules);
    asp_filewatch_destroy (&self->rules_watch);
    sla_policy_watch_destroy (&self->sla);
    free (self->rules_path);
    for (int l = 0; l < NOTIFY_LANG_COUNT; l++)
        asp_filewatch_destroy (&self->watch [l]);
    free (self->templates_dir);
    free (self);
    *self_p = NULL;
}

asp_svc_t *
notify_server_svc (notify_server_t *self)
{
    return self->svc;
}

//  --------------------------------------------------------------------------
//  Self-test: events in over the bus (asp_probe), notifications out through
//  the worker threads into a file channel; each once, bad input refused.

#include "asp_probe.h"
#include "asp_selftest.h"

//  Lines in path (0 when it does not exist yet).
static int
s_test_lines (const char *path)
{
    FILE *f = fopen (path, "r");
    int lines = 0, c;
    while (f && (c = fgetc (f)) != EOF)
        lines += c == '\n';
    if (f)
        fclose (f);
    return lines;
}

static bool
s_test_lines_are (const char *path, int n)
{
    for (int i = 0; i < 100 && s_test_lines (path) < n; i++)
        zclock_sleep (50);
    return s_test_lines (path) == n;
}

void
notify_server_test (void)
{
    asp_selftest_need_redis ("notify_server_test");
    char path [] = "/tmp/asp-notify-test-XXXXXX";
    int fd = mkstemp (path);
    assert (fd >= 0);
    close (fd);
    setenv ("ASP_NOTIFY_FILE", path, 1);
    unsetenv ("ASP_NOTIFY_WEBHOOK_URL");
    setenv ("ASP_NOTIFY_WORKERS", "3", 1);
    asp_probe_t *probe = asp_probe_new (ASP_SVC_NOTIFICATION);
    notify_server_t *self = notify_server_new ();
    asp_probe_start (probe, notify_server_svc (self));

    //  Many events at once: the three workers deliver in parallel.
    const int count = 40;
    asp_msg_t *first = NULL;
    for (int i = 0; i < count; i++) {
        char ticket [16];
        snprintf (ticket, sizeof ticket, "TN%d", i);
        asp_msg_t *msg = asp_msg_new (ASP_EV_TICKET_CREATED, ticket, NULL);
        asp_mpmap_str (msg->body, "customer_name", "Li Lei");
        asp_mpmap_str (msg->body, "customer_phone", "13812345678");
        asp_probe_send_msg (probe, msg);
        assert (asp_probe_expect (probe, "ACK", msg->id, 5000));
        if (i == 0)
            first = msg;
        else
            asp_msg_destroy (&msg);
    }
    assert (s_test_lines_are (path, count));
    //  Delivered once: the same event again is acknowledged, not resent.
    asp_probe_send_msg (probe, first);
    assert (asp_probe_expect (probe, "ACK", first->id, 5000));
    asp_msg_destroy (&first);
    zclock_sleep (300);
    assert (s_test_lines (path) == count);
    //  Refused with the field named, nothing delivered.
    asp_msg_t *bad = asp_msg_new (ASP_EV_TICKET_CREATED, "TNX", NULL);
    asp_mpmap_str (bad->body, "customer_name", "Li Lei");
    asp_probe_send_msg (probe, bad);
    zmsg_t *nak = asp_probe_answer (probe, 5000);
    assert (nak && zframe_streq (zmsg_first (nak), "NAK") && zmsg_size (nak) == 3);
    char *reason = zframe_strdup (zmsg_last (nak));
    assert (strstr (reason, "customer_phone"));
    free (reason);
    zmsg_destroy (&nak);
    asp_msg_destroy (&bad);
    zclock_sleep (300);
    assert (s_test_lines (path) == count);
    //  One notification per ticket: every line names a different one.
    zhashx_t *seen = zhashx_new ();
    FILE *f = fopen (path, "r");
    char line [4096];
    while (f && fgets (line, sizeof line, f)) {
        const char *at = strstr (line, "\"ticket_id\":\"TN");
        assert (at);
        char ticket [16] = "";
        sscanf (at + 13, "%15[A-Z0-9]", ticket);
        assert (zhashx_insert (seen, ticket, (void *) 1) == 0);
    }
    assert (zhashx_size (seen) == (size_t) count);
    zhashx_destroy (&seen);
    if (f)
        fclose (f);

    asp_probe_stop (probe);
    notify_server_destroy (&self);
    asp_probe_destroy (&probe);
    unlink (path);
    unsetenv ("ASP_NOTIFY_FILE");
}
