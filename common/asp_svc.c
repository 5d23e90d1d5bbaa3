#include "asp_svc.h"
#include "asp_config.h"
#include "asp_curve.h"
#include "asp_log.h"
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
    asp_counter_t *m_received, *m_applied, *m_duplicate, *m_stale, *m_refused, *m_retry;
    asp_counter_t *m_auth_refused;
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
    atomic_store (&self->redis_up, asp_rds_ready (self->rds));
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
