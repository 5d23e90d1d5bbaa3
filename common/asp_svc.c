#include "asp_svc.h"
#include "asp_config.h"
#include "asp_curve.h"
#include "asp_log.h"
#include "asp_svcstat.h"
#include <assert.h>
#include <stdatomic.h>

#define S_BATCH_MAX 256

typedef struct {
    char type [ASP_TYPE_MAX];
    asp_prepare_fn *prepare;
    asp_committed_fn *committed;
    void *arg;
} s_handler_t;

struct asp_svc_t {
    asp_svc_id_t id;
    zloop_t *loop;
    asp_rds_t *rds;
    asp_outbox_t *outbox;
    asp_metrics_t *metrics;
    asp_httpd_t *httpd;
    asp_curve_t *curve;             //  bus authentication (and the ZAP handler)
    zsock_t *inbox;
    s_handler_t handlers [32];
    int nhandlers;
    size_t outbox_max;
    bool inbox_paused;
    atomic_bool redis_up;
    uint64_t probed_trips;          //  round trips at the last tick (s_on_tick)
    int64_t probe_at;               //  an idle loop pings Redis once a second
    atomic_bool stopping;           //  asp_svc_stop: end the loop at the next tick
    asp_counter_t *m_received, *m_applied, *m_duplicate, *m_stale, *m_refused, *m_retry;
    asp_counter_t *m_auth_refused;
    asp_histo_t *m_handle;          //  receipt to answer, per bus message
    asp_svcstat_writer_t *beat;     //  the heartbeat, written from s_on_tick
    int64_t beat_at;                //  its next write (monotonic ms)
};

static double
s_gauge_outbox (void *arg)
{
    return (double) asp_outbox_pending (((asp_svc_t *) arg)->outbox);
}

static double
s_gauge_redis (void *arg)
{
    return atomic_load (&((asp_svc_t *) arg)->redis_up)? 1: 0;
}

static double
s_gauge_round_trips (void *arg)
{
    return (double) asp_rds_round_trips (((asp_svc_t *) arg)->rds);
}

static double
s_gauge_commands (void *arg)
{
    return (double) asp_rds_commands (((asp_svc_t *) arg)->rds);
}

static bool
s_health (void *arg, char *detail, size_t len)
{
    asp_svc_t *self = (asp_svc_t *) arg;
    bool up = atomic_load (&self->redis_up);
    snprintf (detail, len, "{\"service\":\"%s\",\"redis\":%s,\"outbox_pending\":%zu}",
              asp_svc_name (self->id), up? "true": "false", asp_outbox_pending (self->outbox));
    return up;
}

asp_svc_t *
asp_svc_new (asp_svc_id_t id)
{
    asp_log_init (asp_svc_name (id));
    zsys_init ();
    zsys_set_logstream (NULL);
    asp_svc_t *self = (asp_svc_t *) calloc (1, sizeof *self);
    assert (self);
    self->id = id;
    self->outbox_max = (size_t) asp_cfg_int ("ASP_OUTBOX_MAX", 100000, 100, 100000000);
    asp_txn_init ();
    self->loop = zloop_new ();
    self->curve = asp_curve_new (id);
    self->rds = asp_rds_new ();
    self->outbox = asp_outbox_new (id, self->rds, self->curve);
    self->metrics = asp_metrics_new (asp_svc_name (id));
    self->m_received = asp_metrics_counter (self->metrics, "bus_received_total", "Bus messages received.");
    self->m_applied = asp_metrics_counter (self->metrics, "bus_applied_total", "Bus messages applied.");
    self->m_duplicate = asp_metrics_counter (self->metrics, "bus_duplicate_total", "Bus messages seen before.");
    self->m_stale = asp_metrics_counter (self->metrics, "bus_stale_total", "Bus messages that changed nothing.");
    self->m_refused = asp_metrics_counter (self->metrics, "bus_refused_total", "Bus messages refused (NAK).");
    self->m_retry = asp_metrics_counter (self->metrics, "bus_unacked_total", "Bus messages left for the sender to resend.");
    self->m_auth_refused = asp_metrics_counter (self->metrics, "bus_auth_refused_total",
                                                "Bus connections refused at the handshake (no service certificate).");
    self->m_handle = asp_metrics_histo (self->metrics, "bus_handle_seconds",
                                        "Time from a bus message's receipt to its answer (its batch's).");
    self->beat = asp_svcstat_writer_new (asp_svcstat_service (id), self->m_received, self->m_handle);
    asp_metrics_gauge (self->metrics, "outbox_pending", "Messages awaiting acknowledgement.", s_gauge_outbox, self);
    asp_metrics_gauge (self->metrics, "redis_up", "1 when Redis answers.", s_gauge_redis, self);
    asp_metrics_gauge (self->metrics, "redis_round_trips", "Redis round trips made by the loop thread.",
                       s_gauge_round_trips, self);
    asp_metrics_gauge (self->metrics, "redis_commands", "Redis commands sent by the loop thread.",
                       s_gauge_commands, self);

    const char *ep = asp_cfg_str ("ASP_BUS_BIND", asp_cfg_str (asp_svc_bus_var (id), asp_svc_bus_default (id)));
    self->inbox = zsock_new (ZMQ_ROUTER);
    assert (self->inbox);
    //  Refuse over 1 MiB at the transport; between 64 KiB and 1 MiB the
    //  envelope decoder answers with a NAK that says why.
    zsock_set_maxmsgsize (self->inbox, 1024 * 1024);
    zsock_set_rcvhwm (self->inbox, 100000);
    zsock_set_sndhwm (self->inbox, 100000);
    zsock_set_router_mandatory (self->inbox, 1);
    asp_curve_bus_server (self->curve, self->inbox, self->loop, self->m_auth_refused);
    if (zsock_bind (self->inbox, "%s", ep) < 0) {
        asp_log_error ("cannot bind the bus inbox on %s: %s", ep, zmq_strerror (zmq_errno ()));
        exit (2);
    }
    asp_log_info ("bus inbox on %s (%s)", ep, asp_curve_secure (self->curve)? "CURVE": "insecure");
    asp_outbox_attach (self->outbox, self->loop);
    return self;
}

void
asp_svc_destroy (asp_svc_t **self_p)
{
    asp_svc_t *self = *self_p;
    if (!self)
        return;
    asp_httpd_destroy (&self->httpd);
    asp_outbox_destroy (&self->outbox);
    asp_curve_bus_server_end (self->curve);
    zsock_destroy (&self->inbox);
    zloop_destroy (&self->loop);
    asp_curve_destroy (&self->curve);   //  after every CURVE socket
    asp_rds_destroy (&self->rds);
    asp_svcstat_writer_destroy (&self->beat);
    asp_metrics_destroy (&self->metrics);
    free (self);
    *self_p = NULL;
}

void
asp_svc_on (asp_svc_t *self, const char *type, asp_prepare_fn *prepare, asp_committed_fn *committed, void *arg)
{
    assert (self->nhandlers < 32);
    assert (asp_event_subscribers (type) & ASP_BIT (self->id));
    s_handler_t *h = &self->handlers [self->nhandlers++];
    snprintf (h->type, sizeof h->type, "%s", type);
    h->prepare = prepare;
    h->committed = committed;
    h->arg = arg;
}

void
asp_svc_http (asp_svc_t *self, int port, asp_http_handler_fn *handler, void *arg)
{
    asp_httpd_destroy (&self->httpd);
    if (port == 0)
        return;                     //  just stopped
    self->httpd = asp_httpd_new (port, asp_cfg_str ("ASP_HTTP_BIND", NULL),
                                 (size_t) asp_cfg_int ("ASP_HTTP_MAX_BODY", 64 * 1024, 1024, 16 * 1024 * 1024),
                                 handler, arg, self->metrics, s_health, self);
    if (!self->httpd)
        exit (2);
    asp_log_info ("http on port %d", port);
}

void
asp_svc_heartbeat (asp_svc_t *self, asp_counter_t *counter, asp_histo_t *histo)
{
    asp_svcstat_writer_meters (self->beat, counter, histo);
}

asp_svc_id_t asp_svc_id (asp_svc_t *self) { return self->id; }
zloop_t *asp_svc_loop (asp_svc_t *self) { return self->loop; }
asp_curve_t *asp_svc_curve (asp_svc_t *self) { return self->curve; }
asp_rds_t *asp_svc_rds (asp_svc_t *self) { return self->rds; }
asp_outbox_t *asp_svc_outbox (asp_svc_t *self) { return self->outbox; }
asp_metrics_t *asp_svc_metrics (asp_svc_t *self) { return self->metrics; }

asp_script_t *
asp_svc_script (asp_svc_t *self, const char *name, const char *body)
{
    return asp_rds_script (self->rds, name, body);
}

asp_script_t *
asp_svc_script_lib (asp_svc_t *self, const char *name, const char *lib, const char *body)
{
    return asp_rds_script_lib (self->rds, name, lib, body);
}

bool
asp_svc_overloaded (asp_svc_t *self)
{
    return asp_outbox_pending (self->outbox) > self->outbox_max;
}

int
asp_svc_commit (asp_svc_t *self, asp_txn_t **txns, size_t count)
{
    int rc = asp_txn_exec (self->rds, self->id, txns, count);
    atomic_store (&self->redis_up, rc == 0 || asp_rds_ready (self->rds));
    for (size_t i = 0; i < count; i++)
        asp_outbox_add_txn (self->outbox, txns [i]);
    return rc;
}

//  One inbound message in the batch being processed.
typedef struct {
    zmsg_t *msg;                    //  owns the frame env's strings point into
    zframe_t *identity;
    asp_envelope_t *env;
    s_handler_t *handler;
    asp_txn_t *txn;
    char reason [200];
    enum { S_ACK, S_NAK, S_NONE } answer;
} s_item_t;

static s_handler_t *
s_handler (asp_svc_t *self, const char *type)
{
    for (int i = 0; i < self->nhandlers; i++)
        if (strcmp (self->handlers [i].type, type) == 0)
            return &self->handlers [i];
    return NULL;
}

//  Decodes and prepares one message; sets the answer when no txn is needed.
static void
s_prepare (asp_svc_t *self, zmsg_t *msg, s_item_t *it)
{
    it->identity = zmsg_pop (msg);
    it->answer = S_NAK;
    if (zmsg_size (msg) != 1) {
        snprintf (it->reason, sizeof it->reason, "expected exactly one frame after the identity, got %zu",
                  zmsg_size (msg));
        return;
    }
    zframe_t *frame = zmsg_first (msg);
    char err [160];
    it->env = asp_envelope_decode (zframe_data (frame), zframe_size (frame), err, sizeof err);
    if (!it->env) {
        snprintf (it->reason, sizeof it->reason, "%s", err);
        return;
    }
    it->handler = s_handler (self, it->env->type);
    if (!it->handler) {
        snprintf (it->reason, sizeof it->reason, "service %s does not handle message type '%s'",
                  asp_svc_name (self->id), it->env->type);
        return;
    }
    it->txn = it->handler->prepare (self, it->env, it->reason, sizeof it->reason, it->handler->arg);
    if (it->txn)
        it->answer = S_NONE;        //  decided by the script
    else
    if (!*it->reason)
        it->answer = S_ACK;
}

static void
s_answer (asp_svc_t *self, s_item_t *items, int n)
{
    //  One ACK message per sender, listing every id it may forget.
    for (int i = 0; i < n; i++) {
        if (!items [i].identity || items [i].answer == S_NONE)
            continue;
        if (items [i].answer == S_NAK) {
            asp_counter_inc (self->m_refused);
            asp_log_kv (ASP_LOG_WARN, "bus message refused", "id", items [i].env? items [i].env->id: "",
                        "reason", items [i].reason, NULL);
            zmsg_t *nak = zmsg_new ();
            zmsg_append (nak, &items [i].identity);
            zmsg_addstr (nak, "NAK");
            zmsg_addstr (nak, items [i].env? items [i].env->id: "");
            zmsg_addstr (nak, items [i].reason);
            if (zmsg_send (&nak, self->inbox))
                zmsg_destroy (&nak);
            continue;
        }
        zmsg_t *ack = zmsg_new ();
        zmsg_addstr (ack, "ACK");
        for (int j = i; j < n; j++)
            if (items [j].answer == S_ACK && items [j].identity
            &&  zframe_eq (items [j].identity, items [i].identity)) {
                zmsg_addstr (ack, items [j].env->id);
                if (j != i) {
                    zframe_destroy (&items [j].identity);
                    items [j].answer = S_NONE;
                }
            }
        zmsg_prepend (ack, &items [i].identity);
        //  EHOSTUNREACH: the sender is gone; it resends after its restart.
        if (zmsg_send (&ack, self->inbox))
            zmsg_destroy (&ack);
    }
}

static int
s_on_inbox (zloop_t *loop, zsock_t *reader, void *arg)
{
    (void) loop;
    asp_svc_t *self = (asp_svc_t *) arg;
    if (asp_svc_overloaded (self)) {
        //  Backpressure: stop taking messages until the outbox drains.
        zloop_reader_end (self->loop, self->inbox);
        self->inbox_paused = true;
        asp_log_warn ("outbox above ASP_OUTBOX_MAX: pausing the inbox");
        return 0;
    }
    s_item_t items [S_BATCH_MAX];
    asp_txn_t *txns [S_BATCH_MAX];
    int n = 0, ntx = 0;
    int64_t started = asp_mono_us ();
    while (n < S_BATCH_MAX && (zsock_events (reader) & ZMQ_POLLIN)) {
        zmsg_t *msg = zmsg_recv (reader);
        if (!msg)
            break;
        memset (&items [n], 0, sizeof items [n]);
        asp_counter_inc (self->m_received);
        //  The decoded envelope points into the frame: keep the message
        //  until the whole batch, committed callbacks included, is done.
        items [n].msg = msg;
        s_prepare (self, msg, &items [n]);
        if (items [n].txn)
            txns [ntx++] = items [n].txn;
        n++;
    }
    if (ntx) {
        int rc = asp_txn_exec (self->rds, self->id, txns, (size_t) ntx);
        atomic_store (&self->redis_up, rc == 0);
    }
    for (int i = 0; i < n; i++) {
        s_item_t *it = &items [i];
        if (!it->txn)
            continue;
        asp_txn_t *txn = it->txn;
        switch (asp_txn_outcome (txn)) {
            case ASP_TXN_OK:
            case ASP_TXN_DUP:
            case ASP_TXN_STALE:
                asp_outbox_add_txn (self->outbox, txn);
                it->answer = S_ACK;
                asp_counter_inc (asp_txn_outcome (txn) == ASP_TXN_OK? self->m_applied:
                                 asp_txn_outcome (txn) == ASP_TXN_DUP? self->m_duplicate: self->m_stale);
                break;
            case ASP_TXN_REJECT:
                it->answer = S_NAK;
                snprintf (it->reason, sizeof it->reason, "%s", asp_txn_reason (txn));
                break;
            default:
                //  Lost or a Redis error (e.g. LOADING after a restart):
                //  say nothing; the sender's resend brings it back.
                it->answer = S_NONE;
                asp_counter_inc (self->m_retry);
                zframe_destroy (&it->identity);
        }
        if (it->handler->committed && it->answer != S_NONE)
            it->handler->committed (self, it->env, txn, it->handler->arg);
    }
    s_answer (self, items, n);
    int64_t took = asp_mono_us () - started;
    for (int i = 0; i < n; i++)
        asp_histo_observe_us (self->m_handle, took);
    for (int i = 0; i < n; i++) {
        zframe_destroy (&items [i].identity);
        asp_txn_destroy (&items [i].txn);
        asp_envelope_destroy (&items [i].env);
        zmsg_destroy (&items [i].msg);
    }
    return 0;
}

static int
s_on_tick (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop; (void) timer_id;
    asp_svc_t *self = (asp_svc_t *) arg;
    if (atomic_load (&self->stopping))
        return -1;
    //  A connection is only found dead when it is used: an idle service
    //  (no round trip since the last tick) pings, at most once a second,
    //  or its /healthz would say Redis is up long after Redis went away.
    bool up = asp_rds_ready (self->rds);
    if (up && asp_rds_round_trips (self->rds) == self->probed_trips && asp_mono_ms () >= self->probe_at) {
        self->probe_at = asp_mono_ms () + 1000;
        redisReply *pong = asp_rds_cmd (self->rds, "PING");
        up = pong && pong->type == REDIS_REPLY_STATUS;
        if (pong)
            freeReplyObject (pong);
    }
    self->probed_trips = asp_rds_round_trips (self->rds);
    atomic_store (&self->redis_up, up);
    //  The heartbeat: one round trip every 5 s, skipped while Redis is
    //  down (the interval is measured all the same; the hash expires).
    int64_t mono = asp_mono_ms ();
    if (mono >= self->beat_at) {
        self->beat_at = mono + ASP_SVCSTAT_INTERVAL_MS;
        if (up && asp_svcstat_writer_write (self->beat, self->rds, mono, asp_now_ms ()))
            asp_log_warn ("heartbeat %s not written: Redis failed", asp_svc_name (self->id));
        else
        if (!up)
            asp_svcstat_writer_measure (self->beat, mono, asp_now_ms (), &(asp_svcstat_t) { 0 });
    }
    if (self->inbox_paused && asp_outbox_pending (self->outbox) < self->outbox_max / 2) {
        zloop_reader (self->loop, self->inbox, s_on_inbox, self);
        self->inbox_paused = false;
        asp_log_info ("outbox drained: inbox resumed");
    }
    return 0;
}

int
asp_svc_run (asp_svc_t *self)
{
    if (!self->httpd) {
        int port = (int) asp_cfg_int ("ASP_METRICS_PORT", 0, 0, 65535);
        if (port)
            asp_svc_http (self, port, NULL, NULL);
    }
    atomic_store (&self->redis_up, asp_rds_ready (self->rds));
    asp_outbox_recover (self->outbox);
    zloop_reader (self->loop, self->inbox, s_on_inbox, self);
    zloop_timer (self->loop, 250, 0, s_on_tick, self);
    asp_log_info ("%s running", asp_svc_name (self->id));
    zloop_start (self->loop);
    asp_log_info ("%s stopping", asp_svc_name (self->id));
    return 0;
}

void
asp_svc_stop (asp_svc_t *self)
{
    atomic_store (&self->stopping, true);
}

//  --------------------------------------------------------------------------
//  Self-test: a real service loop on its own thread, a real Redis, real
//  sockets (asp_probe): what a sender and a receiver of the bus see.

#include "asp_probe.h"
#include "asp_selftest.h"

#define S_TEST_IN  ASP_EV_TICKET_CREATED   //  one sla-timer consumes
#define S_TEST_OUT "svctest.out"

//  Counts each applied message once; body "mode" = "stale" changes nothing.
static const char s_test_lua [] =
    "if A[1] == 'stale' then return stale('told to') end\n"
    "if seen() then return dup() end\n"
    "redis.call('HINCRBY', K[1], 'applied', 1)\n"
    "return ok()\n";

static asp_txn_t *
s_test_prepare (asp_svc_t *svc, const asp_envelope_t *env, char *reason, size_t len, void *arg)
{
    (void) svc;
    char mode [16] = "";
    if (asp_mp_get_str (env->body, "mode", mode, sizeof mode) < 0 || strcmp (mode, "refuse") == 0) {
        snprintf (reason, len, "told to refuse");
        return NULL;
    }
    asp_txn_t *txn = asp_txn_new ((asp_script_t *) arg, asp_shard_of (env->ticket));
    asp_txn_inbox (txn, env->id);
    asp_txn_key (txn, "svctest:%s", env->ticket);
    asp_txn_arg (txn, "%s", mode);
    asp_msg_t *out = asp_msg_reply (S_TEST_OUT, env);
    asp_txn_send (txn, ASP_SVC_NOTIFICATION, &out);
    return txn;
}

static long long
s_test_applied (asp_probe_t *probe, const char *ticket)
{
    char key [ASP_KEY_MAX];
    asp_key_fmt (key, sizeof key, asp_shard_of (ticket), "svctest:%s", ticket);
    redisReply *r = asp_rds_cmd (asp_probe_rds (probe), "HGET %s applied", key);
    assert (r);
    long long n = r->type == REDIS_REPLY_STRING? atoll (r->str): 0;
    freeReplyObject (r);
    return n;
}

static asp_svc_t *
s_test_service (asp_probe_t *probe)
{
    asp_svc_t *svc = asp_svc_new (ASP_SVC_SLA);
    asp_script_t *script = asp_svc_script (svc, "svc_test", s_test_lua);
    asp_svc_on (svc, S_TEST_IN, s_test_prepare, NULL, script);
    asp_probe_start (probe, svc);
    return svc;
}

//  Sends one S_TEST_IN for ticket with mode; returns it (caller destroys).
static asp_msg_t *
s_test_send (asp_probe_t *probe, const char *ticket, const char *mode)
{
    asp_msg_t *msg = asp_msg_new (S_TEST_IN, ticket, NULL);
    if (mode)
        asp_mpmap_str (msg->body, "mode", mode);
    asp_probe_send_msg (probe, msg);
    return msg;
}

//  Waits until the outbox hash towards notification holds n entries.
static bool
s_test_outbox_is (asp_probe_t *probe, long long n)
{
    for (int i = 0; i < 100; i++) {
        if (asp_probe_outbox_len (probe, ASP_SVC_NOTIFICATION) == n)
            return true;
        zclock_sleep (50);
    }
    return false;
}

//  A NAK that names nothing (or the id) and gives a reason containing what.
static void
s_test_nak (asp_probe_t *probe, const char *what)
{
    zmsg_t *nak = asp_probe_answer (probe, 5000);
    assert (nak && zmsg_size (nak) == 3);
    assert (zframe_streq (zmsg_first (nak), "NAK"));
    zmsg_next (nak);
    char *reason = zframe_strdup (zmsg_next (nak));
    if (!strstr (reason, what))
        fprintf (stderr, "asp_svc_test: NAK reason '%s' lacks '%s'\n", reason, what);
    assert (strstr (reason, what));
    free (reason);
    zmsg_destroy (&nak);
}

void
asp_svc_test (void)
{
    asp_selftest_need_redis ("asp_svc_test");
    setenv ("ASP_RESEND_MS", "200", 1);
    setenv ("ASP_OUTBOX_MAX", "100", 1);        //  the smallest allowed
    asp_probe_t *probe = asp_probe_new (ASP_SVC_SLA);
    asp_svc_t *svc = s_test_service (probe);

    //  Applied: ACK, state changed once, the emitted message is sent.
    asp_msg_t *msg = s_test_send (probe, "T1", NULL);
    assert (asp_probe_expect (probe, "ACK", msg->id, 5000));
    assert (s_test_applied (probe, "T1") == 1);
    zframe_t *who = NULL;
    asp_envelope_t *out = asp_probe_recv (probe, ASP_SVC_NOTIFICATION, &who, 5000);
    assert (out && strcmp (out->type, S_TEST_OUT) == 0 && strcmp (out->ticket, "T1") == 0);
    char out_id [ASP_ID_MAX];
    snprintf (out_id, sizeof out_id, "%s", out->id);
    asp_envelope_destroy (&out);
    assert (asp_probe_outbox_len (probe, ASP_SVC_NOTIFICATION) == 1);
    //  Not acknowledged: sent again after ASP_RESEND_MS.
    zframe_t *who2 = NULL;
    out = asp_probe_recv (probe, ASP_SVC_NOTIFICATION, &who2, 3000);
    assert (out && strcmp (out->id, out_id) == 0);
    asp_envelope_destroy (&out);
    zframe_destroy (&who2);
    //  Acknowledged: deleted from Redis, never sent again.
    asp_probe_reply (probe, ASP_SVC_NOTIFICATION, who, "ACK", out_id, NULL);
    zframe_destroy (&who);
    assert (s_test_outbox_is (probe, 0));
    asp_probe_drain (probe, ASP_SVC_NOTIFICATION, 600);
    assert (asp_probe_drain (probe, ASP_SVC_NOTIFICATION, 600) == 0);

    //  A duplicate: ACK again, applied once, nothing sent twice.
    asp_probe_send_msg (probe, msg);
    assert (asp_probe_expect (probe, "ACK", msg->id, 5000));
    assert (s_test_applied (probe, "T1") == 1);
    assert (asp_probe_drain (probe, ASP_SVC_NOTIFICATION, 500) == 0);
    asp_msg_destroy (&msg);
    //  A guard that fails (stale): ACK, nothing changed, nothing sent.
    msg = s_test_send (probe, "T9", "stale");
    assert (asp_probe_expect (probe, "ACK", msg->id, 5000));
    assert (s_test_applied (probe, "T9") == 0);
    asp_msg_destroy (&msg);

    //  Refusals: a NAK that says why; nothing written.
    asp_probe_send (probe, "\xc1", 1);
    s_test_nak (probe, "msgpack");
    msg = asp_msg_new ("svctest.unknown", "T2", NULL);
    asp_probe_send_msg (probe, msg);
    s_test_nak (probe, "does not handle");
    asp_msg_destroy (&msg);
    msg = s_test_send (probe, "T2", "refuse");
    s_test_nak (probe, "told to refuse");
    asp_msg_destroy (&msg);
    assert (s_test_applied (probe, "T2") == 0);
    assert (asp_probe_drain (probe, ASP_SVC_NOTIFICATION, 300) == 0);

    //  The receiver refuses what we sent: a dead letter, out of the outbox.
    msg = s_test_send (probe, "T3", NULL);
    assert (asp_probe_expect (probe, "ACK", msg->id, 5000));
    asp_msg_destroy (&msg);
    out = asp_probe_recv (probe, ASP_SVC_NOTIFICATION, &who, 5000);
    assert (out);
    asp_probe_reply (probe, ASP_SVC_NOTIFICATION, who, "NAK", out->id, "no thanks");
    asp_envelope_destroy (&out);
    zframe_destroy (&who);
    assert (s_test_outbox_is (probe, 0));
    assert (asp_probe_dead_len (probe, ASP_SVC_NOTIFICATION) == 1);
    asp_probe_drain (probe, ASP_SVC_NOTIFICATION, 500);

    //  Restart with a message unacknowledged: the new process recovers it
    //  from Redis and sends it again.
    msg = s_test_send (probe, "T4", NULL);
    assert (asp_probe_expect (probe, "ACK", msg->id, 5000));
    asp_msg_destroy (&msg);
    out = asp_probe_recv (probe, ASP_SVC_NOTIFICATION, NULL, 5000);
    assert (out);
    snprintf (out_id, sizeof out_id, "%s", out->id);
    asp_envelope_destroy (&out);
    asp_probe_stop (probe);
    asp_svc_destroy (&svc);
    asp_probe_drain (probe, ASP_SVC_NOTIFICATION, 300);
    svc = s_test_service (probe);
    out = asp_probe_recv (probe, ASP_SVC_NOTIFICATION, &who, 5000);
    assert (out && strcmp (out->id, out_id) == 0);
    asp_probe_reply (probe, ASP_SVC_NOTIFICATION, who, "ACK", out->id, NULL);
    asp_envelope_destroy (&out);
    zframe_destroy (&who);
    assert (s_test_outbox_is (probe, 0));
    asp_probe_drain (probe, ASP_SVC_NOTIFICATION, 500);

    //  Backpressure: with more than ASP_OUTBOX_MAX unacknowledged, the inbox
    //  pauses (no answer); once the receiver acknowledges, it resumes.
    const int flood = 101;
    for (int i = 0; i < flood; i++) {
        char ticket [16];
        snprintf (ticket, sizeof ticket, "B%d", i);
        msg = s_test_send (probe, ticket, NULL);
        assert (asp_probe_expect (probe, "ACK", msg->id, 5000));
        asp_msg_destroy (&msg);
    }
    assert (s_test_outbox_is (probe, flood));
    asp_msg_t *held = s_test_send (probe, "held", NULL);
    assert (!asp_probe_answer (probe, 1000));
    assert (s_test_applied (probe, "held") == 0);
    zhashx_t *acked = zhashx_new ();
    while (zhashx_size (acked) < (size_t) flood) {
        out = asp_probe_recv (probe, ASP_SVC_NOTIFICATION, &who, 5000);
        assert (out);
        asp_probe_reply (probe, ASP_SVC_NOTIFICATION, who, "ACK", out->id, NULL);
        zhashx_update (acked, out->id, (void *) 1);
        asp_envelope_destroy (&out);
        zframe_destroy (&who);
    }
    zhashx_destroy (&acked);
    assert (asp_probe_expect (probe, "ACK", held->id, 5000));
    assert (s_test_applied (probe, "held") == 1);
    asp_msg_destroy (&held);

    asp_probe_stop (probe);
    asp_svc_destroy (&svc);
    asp_probe_destroy (&probe);
}
