#include "rt_server.h"
#include "asp_config.h"
#include "asp_log.h"
#include "aspw_proto.h"
#include "rt_deadlines.h"
#include "rt_dispatch.h"
#include "rt_orders.h"
#include "rt_partners.h"
#include "rt_live.h"
#include "rt_registry.h"
#include "rt_store.h"
#include "rt_work.h"
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <sys/stat.h>

//  Partner messages read per batch, and offers made per dispatch round:
//  each batch is one Redis pipeline.
#define S_BATCH_MAX 256

//  One Redis step in a batch, and what to do once it is known.
typedef enum { S_COMMAND, S_OFFER, S_WITHDRAW, S_RETURN, S_UNROUTABLE } s_kind_t;

typedef struct {
    s_kind_t kind;
    asp_txn_t *txn;
    aspw_msg_t *cmd;                //  S_COMMAND: the partner's command (owned)
    uint8_t rid [ASPW_RID_MAX];       //  S_COMMAND: who asked; S_WITHDRAW: whom to tell
    size_t rid_len;
    char wo_id [RT_WO_ID_MAX];
    char partner [RT_PARTNER_ID_MAX];
    int64_t attempt;                //  S_OFFER: the new attempt; S_WITHDRAW: the one withdrawn
    bool exclude;                   //  S_WITHDRAW: do not offer it to this partner again
    const char *why;                //  S_WITHDRAW: reason told to the partner
    asp_unroutable_reason_t reason; //  S_UNROUTABLE
    bool lost;                      //  outcome unknown (Redis failed)
} s_job_t;

typedef struct {
    s_job_t *items;
    size_t size, cap;
} s_jobs_t;

struct rt_server_t {
    asp_svc_t *svc;
    zloop_t *loop;
    rt_store_t *store;
    rt_registry_t *registry;
    rt_orders_t *orders;
    rt_deadlines_t *deadlines;
    rt_work_t *work;                //  progress, appointments, UNABLE, refusals
    rt_dispatch_t *dispatch;
    zlistx_t *escalate;             //  wo_ids over ASP_OFFER_MAX_REFUSALS, not yet recorded
    zlistx_t *retract;              //  wo_ids whose offer an override takes back
    zcertstore_t *certs;
    rt_partners_t *partners;        //  the partner registry's projection
    zsock_t *router;
    int64_t heartbeat_ms;
    int64_t liveness;
    int64_t offer_timeout_ms;
    int64_t offer_timeout_express_ms;
    int64_t max_refusals;
    int64_t round_ms;               //  after this, partners that said no are asked again
    int64_t next_round_check;       //  monotonic ms
    int64_t next_live;              //  monotonic ms of the next rt_live write
    char *live_last;                //  what rt_live wrote last (rt_live_write)
    int tick_timer;
    int kick_timer;                 //  -1 when not armed
    bool loaded;                    //  open work orders loaded from Redis
    bool load_warned;
    bool dispatch_due;              //  something changed that may allow an offer
    bool sweep_due;                 //  a registry change to apply to offers and connections
    uint64_t offer_counter;
    asp_counter_t *m_messages, *m_errors, *m_unknown, *m_offers, *m_expired,
                  *m_withdrawn, *m_created, *m_completed, *m_returned, *m_rounds, *m_express;
    atomic_llong g_live, g_open, g_pending, g_unroutable;
};

static void s_dispatch (rt_server_t *self);
static void s_sweep (rt_server_t *self);

static void s_fatal (const char *fmt, ...) __attribute__ ((format (printf, 1, 2), noreturn));

//  A configuration error: say what is wrong and exit with status 2.
static void
s_fatal (const char *fmt, ...)
{
    char text [512];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (text, sizeof text, fmt, ap);
    va_end (ap);
    asp_log_error ("%s", text);
    exit (2);
}

//  --------------------------------------------------------------------------
//  Jobs

static s_job_t *
s_job_add (s_jobs_t *jobs, s_kind_t kind)
{
    if (jobs->size == jobs->cap) {
        jobs->cap = jobs->cap? jobs->cap * 2: 16;
        jobs->items = (s_job_t *) realloc (jobs->items, jobs->cap * sizeof (s_job_t));
        assert (jobs->items);
    }
    s_job_t *job = &jobs->items [jobs->size++];
    memset (job, 0, sizeof *job);
    job->kind = kind;
    return job;
}

static void
s_jobs_free (s_jobs_t *jobs)
{
    for (size_t i = 0; i < jobs->size; i++) {
        asp_txn_destroy (&jobs->items [i].txn);
        aspw_msg_destroy (&jobs->items [i].cmd);
    }
    free (jobs->items);
    memset (jobs, 0, sizeof *jobs);
}

//  --------------------------------------------------------------------------
//  Sending to partners

//  Sends m and destroys it. A partner whose connection is gone
//  (EHOSTUNREACH) is treated as silent at the next tick.
static void
s_send (rt_server_t *self, const uint8_t *rid, size_t rid_len, aspw_msg_t **m_p)
{
    aspw_msg_t *m = *m_p;
    int rc = aspw_msg_send (m, self->router, rid, rid_len);
    int err = errno;
    if (rc) {
        rt_conn_t *conn = rt_registry_conn (self->registry, rid, rid_len);
        if (err == EHOSTUNREACH && conn)
            conn->last_heard = INT64_MIN / 4;
        asp_log_debug ("%s to %s not sent: %s", aspw_command_name (m->id),
                       conn? conn->partner->id: "?", zmq_strerror (err));
    }
    aspw_msg_destroy (m_p);
}

//  A CONFIRM or ERROR for cmd: they echo its ref, wo_id, and the offer_id
//  (ACCEPT, DECLINE) and seq (PROGRESS) when it had them, so that the
//  answer to an old offer is never taken for the answer to the current one.
static aspw_msg_t *
s_answer (aspw_command_t id, const aspw_msg_t *cmd)
{
    aspw_msg_t *m = aspw_msg_new (id);
    snprintf (m->ref, sizeof m->ref, "%s", cmd->name);
    snprintf (m->wo_id, sizeof m->wo_id, "%s", cmd->wo_id);
    if (cmd->id == ASPW_ACCEPT || cmd->id == ASPW_DECLINE)
        snprintf (m->offer_id, sizeof m->offer_id, "%s", cmd->offer_id);
    if (cmd->id == ASPW_PROGRESS)
        m->seq = cmd->seq;
    return m;
}

static void
s_error (rt_server_t *self, const uint8_t *rid, size_t rid_len, const char *partner, const aspw_msg_t *cmd,
         const char *code, const char *reason)
{
    asp_counter_inc (self->m_errors);
    rt_work_refused (self->work, code);
    asp_log_kv (ASP_LOG_WARN, "partner command refused", "partner", partner, "ref", cmd->name,
                "wo_id", cmd->wo_id, "code", code, "reason", reason, NULL);
    aspw_msg_t *m = s_answer (ASPW_ERROR, cmd);
    snprintf (m->code, sizeof m->code, "%s", code);
    snprintf (m->reason, sizeof m->reason, "%s", reason);
    s_send (self, rid, rid_len, &m);
}

static void
s_disconnect (rt_server_t *self, const uint8_t *rid, size_t rid_len, const char *reason)
{
    aspw_msg_t *m = aspw_msg_new (ASPW_DISCONNECT);
    snprintf (m->reason, sizeof m->reason, "%s", reason);
    s_send (self, rid, rid_len, &m);
}

//  OFFER (expires_ms >= 0) or ASSIGNED (expires_ms < 0) of order.
static aspw_msg_t *
s_order_msg (const rt_order_t *order, int64_t expires_ms)
{
    aspw_msg_t *m = aspw_msg_new (expires_ms >= 0? ASPW_OFFER: ASPW_ASSIGNED);
    snprintf (m->wo_id, sizeof m->wo_id, "%s", order->id);
    snprintf (m->offer_id, sizeof m->offer_id, "%s.%lld", order->id, (long long) order->attempt);
    snprintf (m->ticket_id, sizeof m->ticket_id, "%s", order->ticket);
    m->kind = order->kind;
    snprintf (m->category, sizeof m->category, "%s", order->category);
    snprintf (m->region, sizeof m->region, "%s", order->region);
    m->priority = order->priority;
    m->tier = order->tier;
    snprintf (m->summary, sizeof m->summary, "%s", order->summary);
    m->expires_ms = expires_ms;
    m->seq = order->seq;            //  ASSIGNED: where the partner left off
    return m;
}

static void
s_send_offer (rt_server_t *self, rt_order_t *order, int64_t now)
{
    rt_conn_t *conn = order->partner->conn;
    if (!rt_partner_live (order->partner))
        return;
    int64_t left = order->expires - now;
    aspw_msg_t *m = s_order_msg (order, left > 0? left: 0);
    s_send (self, conn->rid, conn->rid_len, &m);
}

//  --------------------------------------------------------------------------
//  The mirror follows Redis

static void
s_arm_offer (rt_server_t *self, rt_order_t *order)
{
    //  Each tier has its offer window.
    order->expires = asp_mono_ms () + (order->tier == ASP_TIER_EXPRESS? self->offer_timeout_express_ms
                                                                      : self->offer_timeout_ms);
    rt_deadlines_add (self->deadlines, order->expires, order->id, order->attempt);
}

//  Applies a script's view of a work order to the mirror; returns the
//  order, or NULL when it is not (or no longer) open.
static rt_order_t *
s_sync (rt_server_t *self, const char *wo_id, const rt_view_t *view)
{
    rt_order_t *order = rt_orders_lookup (self->orders, wo_id);
    if (!order)
        return NULL;
    if (!view->found || view->state == ASP_WO_COMPLETED || view->state == ASP_WO_CANCELLED) {
        rt_orders_remove (self->orders, order);
        self->dispatch_due = true;              //  credit freed
        return NULL;
    }
    order->seq = view->seq;
    if (view->state == ASP_WO_PENDING) {
        if (order->state != ASP_WO_PENDING) {
            rt_orders_set (self->orders, order, ASP_WO_PENDING, NULL, view->attempt, true);
            self->dispatch_due = true;
        }
        else
            order->attempt = view->attempt;
        return order;
    }
    if (!*view->partner) {
        asp_log_error ("work order %s is %s without a partner", wo_id,
                       asp_vocab_name (&asp_vocab_wo_state, view->state));
        return order;
    }
    rt_partner_t *partner = rt_registry_partner (self->registry, view->partner, true);
    if (view->state == ASP_WO_OFFERED) {
        if (order->state != ASP_WO_OFFERED || order->partner != partner || order->attempt != view->attempt) {
            //  An offer the mirror did not know (its reply was lost after
            //  Redis applied it): make it real for the partner too.
            rt_orders_set (self->orders, order, ASP_WO_OFFERED, partner, view->attempt, false);
            s_arm_offer (self, order);
            s_send_offer (self, order, asp_mono_ms ());
        }
    }
    else
    if (view->state == ASP_WO_ASSIGNED)
        rt_orders_set (self->orders, order, ASP_WO_ASSIGNED, partner, view->attempt, false);
    return order;
}

//  A decline or a lapse of order by partner_id: after ASP_OFFER_MAX_REFUSALS
//  of them the work order is escalated (recorded with the next batch,
//  once). A supervisor's choice that refused lets normal routing resume.
static void
s_refused (rt_server_t *self, rt_order_t *order, const char *partner_id)
{
    order->refusals++;
    if (streq (order->override, partner_id))
        order->override [0] = 0;
    if (order->refusals >= self->max_refusals && !order->escalated
    &&  !zlistx_find (self->escalate, order->id))
        zlistx_add_end (self->escalate, order->id);
}

static const char *
s_reason (const char *code, const rt_view_t *view, char *buf, size_t len)
{
    if (streq (code, "unknown_work_order"))
        return "no such work order";
    if (streq (code, "not_yours"))
        return "the work order is not offered or assigned to you";
    if (streq (code, "offer_expired"))
        return "the offer_id is not the current offer";
    if (streq (code, "not_accepted"))
        return "the work order is offered to you: ACCEPT the current offer, then send this again";
    snprintf (buf, len, "the work order is %s",
              view->found? asp_vocab_name (&asp_vocab_wo_state, view->state): "unknown");
    return buf;
}

//  --------------------------------------------------------------------------
//  Finishing each kind of job once its txn ran

static void
s_finish_command (rt_server_t *self, s_job_t *job)
{
    aspw_msg_t *cmd = job->cmd;
    if (!asp_txn_known (job->txn)) {
        //  Outcome unknown (Redis down): no answer, the partner resends.
        asp_log_kv (ASP_LOG_WARN, "partner command not stored; the partner will resend",
                    "partner", job->partner, "ref", cmd->name, "wo_id", cmd->wo_id,
                    "code", asp_txn_outcome_name (asp_txn_outcome (job->txn)), NULL);
        return;
    }
    rt_view_t view;
    rt_store_view (job->txn, &view);
    rt_order_t *order = s_sync (self, cmd->wo_id, &view);
    asp_txn_outcome_t outcome = asp_txn_outcome (job->txn);
    bool ok = outcome == ASP_TXN_OK;
    if (outcome == ASP_TXN_STALE && cmd->id == ASPW_PROGRESS) {
        //  A booking crossed another change of the appointment (rt_work):
        //  no answer, the partner sends it again.
        asp_log_kv (ASP_LOG_INFO, "appointment moved meanwhile; the partner will resend",
                    "partner", job->partner, "wo_id", cmd->wo_id, NULL);
        return;
    }
    if (ok || outcome == ASP_TXN_DUP) {
        if (ok) {
            if ((cmd->id == ASPW_DECLINE || cmd->id == ASPW_UNABLE) && order) {
                rt_order_exclude (order, job->partner);
                s_refused (self, order, job->partner);
            }
            if (cmd->id == ASPW_COMPLETE)
                asp_counter_inc (self->m_completed);
            if (cmd->id == ASPW_UNABLE)
                asp_counter_inc (self->m_returned);
            asp_log_kv (ASP_LOG_INFO, "work order updated by partner", "partner", job->partner,
                        "ref", cmd->name, "wo_id", cmd->wo_id, "state",
                        view.found? asp_vocab_name (&asp_vocab_wo_state, view.state): "", NULL);
        }
        aspw_msg_t *m = s_answer (ASPW_CONFIRM, cmd);
        m->duplicate = !ok;
        s_send (self, job->rid, job->rid_len, &m);
    }
    else {
        const char *code = outcome == ASP_TXN_REJECT? view.why: "bad_state";
        char buf [64];
        s_error (self, job->rid, job->rid_len, job->partner, cmd, code, s_reason (code, &view, buf, sizeof buf));
    }
}

static void
s_finish_offer (rt_server_t *self, s_job_t *job)
{
    if (!asp_txn_known (job->txn)) {
        job->lost = true;           //  reverted by s_run, in reverse order
        return;
    }
    rt_view_t view;
    rt_store_view (job->txn, &view);
    rt_order_t *order = s_sync (self, job->wo_id, &view);
    if (!order || asp_txn_outcome (job->txn) != ASP_TXN_OK)
        return;                     //  stale: the mirror now follows Redis
    s_arm_offer (self, order);
    asp_counter_inc (self->m_offers);
    if (order->tier == ASP_TIER_EXPRESS)
        asp_counter_inc (self->m_express);
    rt_orders_set_unroutable (self->orders, order, false);    //  wo_offer.lua took it out
    s_send_offer (self, order, asp_mono_ms ());
    char attempt [24];
    snprintf (attempt, sizeof attempt, "%lld", (long long) order->attempt);
    asp_log_kv (ASP_LOG_INFO, "work order offered", "wo_id", order->id, "partner", job->partner,
                "attempt", attempt, NULL);
}

static void
s_finish_withdraw (rt_server_t *self, s_job_t *job)
{
    if (!asp_txn_known (job->txn)) {
        //  Try again soon: the deadline finds it still offered.
        rt_order_t *order = rt_orders_lookup (self->orders, job->wo_id);
        if (order && order->state == ASP_WO_OFFERED && order->attempt == job->attempt)
            rt_deadlines_add (self->deadlines, asp_mono_ms () + self->heartbeat_ms, order->id, order->attempt);
        return;
    }
    rt_view_t view;
    rt_store_view (job->txn, &view);
    rt_order_t *order = s_sync (self, job->wo_id, &view);
    if (asp_txn_outcome (job->txn) != ASP_TXN_OK)
        return;
    if (order && job->exclude) {
        rt_order_exclude (order, job->partner);
        s_refused (self, order, job->partner);
    }
    asp_counter_inc (job->exclude? self->m_expired: self->m_withdrawn);
    asp_log_kv (ASP_LOG_INFO, "offer withdrawn", "wo_id", job->wo_id, "partner", job->partner,
                "reason", job->why, NULL);
    if (job->rid_len) {
        aspw_msg_t *m = aspw_msg_new (ASPW_WITHDRAW);
        snprintf (m->wo_id, sizeof m->wo_id, "%s", job->wo_id);
        snprintf (m->reason, sizeof m->reason, "%s", job->why);
        s_send (self, job->rid, job->rid_len, &m);
    }
}

//  An accepted work order its partner gave back (a removed partner's).
static void
s_finish_return (rt_server_t *self, s_job_t *job)
{
    if (!asp_txn_known (job->txn))
        return;                     //  the next sweep of the partner retries
    rt_view_t view;
    rt_store_view (job->txn, &view);
    rt_order_t *order = s_sync (self, job->wo_id, &view);
    if (asp_txn_outcome (job->txn) != ASP_TXN_OK)
        return;
    if (order)
        rt_order_exclude (order, job->partner);
    asp_counter_inc (self->m_returned);
    asp_log_kv (ASP_LOG_INFO, "work order returned", "wo_id", job->wo_id, "partner", job->partner,
                "reason", job->why, NULL);
}

static void
s_finish_unroutable (rt_server_t *self, s_job_t *job)
{
    rt_order_t *order = rt_orders_lookup (self->orders, job->wo_id);
    bool refusals = job->reason == ASP_UNROUTABLE_REFUSALS;
    if (!asp_txn_known (job->txn)) {
        //  Not known to be recorded: again with a later batch.
        job->lost = true;
        if (order && refusals)
            zlistx_add_end (self->escalate, order->id);
        else
        if (order)
            rt_queue_unpark (rt_orders_queue (self->orders), order);
        return;
    }
    asp_txn_outcome_t outcome = asp_txn_outcome (job->txn);
    if (!order || (outcome != ASP_TXN_OK && outcome != ASP_TXN_DUP))
        return;
    if (refusals)
        order->escalated = true;
    else
        rt_orders_set_unroutable (self->orders, order, true);
    if (outcome == ASP_TXN_OK) {
        char n [24];
        snprintf (n, sizeof n, "%lld", (long long) order->refusals);
        asp_log_kv (ASP_LOG_WARN, "work order unroutable", "wo_id", order->id, "reason",
                    asp_vocab_name (&asp_vocab_unroutable_reason, job->reason), "refusals", n, NULL);
    }
}

//  Runs every job's txn as one pipeline, then finishes each. Returns the
//  number of offers (and unroutable records) whose outcome is unknown.
static size_t
s_run (rt_server_t *self, s_jobs_t *jobs)
{
    if (jobs->size == 0)
        return 0;
    asp_txn_t **txns = (asp_txn_t **) malloc (jobs->size * sizeof (asp_txn_t *));
    assert (txns);
    for (size_t i = 0; i < jobs->size; i++)
        txns [i] = jobs->items [i].txn;
    asp_svc_commit (self->svc, txns, jobs->size);
    free (txns);
    for (size_t i = 0; i < jobs->size; i++) {
        s_job_t *job = &jobs->items [i];
        if (job->kind == S_COMMAND)
            s_finish_command (self, job);
        else
        if (job->kind == S_OFFER)
            s_finish_offer (self, job);
        else
        if (job->kind == S_RETURN)
            s_finish_return (self, job);
        else
        if (job->kind == S_UNROUTABLE)
            s_finish_unroutable (self, job);
        else
            s_finish_withdraw (self, job);
    }
    //  Offers that may not have been stored go back to the head of the
    //  FIFO; in reverse, so they keep their order.
    size_t lost = 0;
    for (size_t i = jobs->size; i-- > 0;) {
        s_job_t *job = &jobs->items [i];
        if ((job->kind != S_OFFER && job->kind != S_UNROUTABLE) || !job->lost)
            continue;
        lost++;
        if (job->kind == S_UNROUTABLE)
            continue;
        rt_order_t *order = rt_orders_lookup (self->orders, job->wo_id);
        if (order && order->state == ASP_WO_OFFERED && order->attempt == job->attempt)
            rt_orders_set (self->orders, order, ASP_WO_PENDING, NULL, job->attempt - 1, true);
        self->dispatch_due = true;
    }
    s_jobs_free (jobs);
    return lost;
}

//  --------------------------------------------------------------------------
//  Dispatch: pending work orders to partners

//  An order stopped counting against partner: its credit may be free.
static void
s_released (void *arg, rt_partner_t *partner)
{
    rt_server_t *self = (rt_server_t *) arg;
    rt_dispatch_credit (self->dispatch, partner);
    self->dispatch_due = true;
}

//  Escalations and overrides' take-backs, waiting for a batch.
static void
s_side_jobs (rt_server_t *self, s_jobs_t *jobs)
{
    for (char *id = (char *) zlistx_first (self->escalate); id; id = (char *) zlistx_first (self->escalate)) {
        rt_order_t *order = rt_orders_lookup (self->orders, id);
        if (order && !order->escalated) {
            s_job_t *job = s_job_add (jobs, S_UNROUTABLE);
            job->txn = rt_store_unroutable (self->store, order, ASP_UNROUTABLE_REFUSALS);
            job->reason = ASP_UNROUTABLE_REFUSALS;
            snprintf (job->wo_id, sizeof job->wo_id, "%s", order->id);
        }
        zlistx_delete (self->escalate, zlistx_cursor (self->escalate));
    }
    for (char *id = (char *) zlistx_first (self->retract); id; id = (char *) zlistx_first (self->retract)) {
        rt_order_t *order = rt_orders_lookup (self->orders, id);
        if (order && order->state == ASP_WO_OFFERED && *order->override
        &&  !streq (order->partner->id, order->override)) {
            rt_partner_t *partner = order->partner;
            s_job_t *job = s_job_add (jobs, S_WITHDRAW);
            job->txn = rt_store_withdraw (self->store, order, partner->id, order->attempt, "override", false);
            snprintf (job->wo_id, sizeof job->wo_id, "%s", order->id);
            snprintf (job->partner, sizeof job->partner, "%s", partner->id);
            job->attempt = order->attempt;
            job->why = "withdrawn: a supervisor chose another partner";
            if (rt_partner_live (partner)) {
                memcpy (job->rid, partner->conn->rid, partner->conn->rid_len);
                job->rid_len = partner->conn->rid_len;
            }
        }
        zlistx_delete (self->retract, zlistx_cursor (self->retract));
    }
}

//  Batches of offers, in the order rt_dispatch decides them, while
//  something changed that may allow one.
static void
s_dispatch (rt_server_t *self)
{
    if (!self->loaded)
        return;
    while (self->dispatch_due) {
        self->dispatch_due = false;
        s_jobs_t jobs = { 0 };
        s_side_jobs (self, &jobs);
        asp_counter_inc (self->m_rounds);
        rt_dispatch_round (self->dispatch);
        int64_t now = asp_mono_ms (), epoch = asp_now_ms ();
        rt_order_t *order;
        rt_partner_t *partner;
        rt_why_t why;
        rt_next_t next;
        while (jobs.size < S_BATCH_MAX
           && (next = rt_dispatch_next (self->dispatch, now, epoch, &order, &partner, &why)) != RT_NEXT_NONE) {
            if (next == RT_NEXT_UNROUTABLE) {
                s_job_t *job = s_job_add (&jobs, S_UNROUTABLE);
                job->txn = rt_store_unroutable (self->store, order, ASP_UNROUTABLE_NO_ELIGIBLE);
                job->reason = ASP_UNROUTABLE_NO_ELIGIBLE;
                snprintf (job->wo_id, sizeof job->wo_id, "%s", order->id);
                continue;
            }
            s_job_t *job = s_job_add (&jobs, S_OFFER);
            job->txn = rt_store_offer (self->store, order, partner->id, &why);
            job->attempt = order->attempt + 1;
            snprintf (job->wo_id, sizeof job->wo_id, "%s", order->id);
            snprintf (job->partner, sizeof job->partner, "%s", partner->id);
            partner->last_offer = ++self->offer_counter;
            //  Counted against the partner now (and out of the queue), so
            //  the next choice sees the credit it has left.
            rt_orders_set (self->orders, order, ASP_WO_OFFERED, partner, job->attempt, false);
        }
        bool full = jobs.size >= S_BATCH_MAX;
        if (full)
            rt_dispatch_stop (self->dispatch);
        if (jobs.size == 0 || s_run (self, &jobs) > 0)
            break;                  //  nothing to do, or Redis failed: the tick retries
        if (full)
            self->dispatch_due = true;
    }
}

static int
s_on_kick (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop; (void) timer_id;
    rt_server_t *self = (rt_server_t *) arg;
    self->kick_timer = -1;
    if (self->sweep_due)
        s_sweep (self);
    s_dispatch (self);
    return 0;
}

//  Dispatches soon, from the loop, after the current bus batch is answered.
static void
s_kick (rt_server_t *self)
{
    if (self->kick_timer == -1)
        self->kick_timer = zloop_timer (self->loop, 1, 1, s_on_kick, self);
}

//  --------------------------------------------------------------------------
//  Partner connections

//  The partner_id of a CURVE key, from its certificate's metadata.
static int
s_partner_of (rt_server_t *self, const char *user_id, char *out, size_t outlen, const char **why)
{
    //  The registry first; then the certificate folder.
    int rc = rt_partners_lookup (self->partners, user_id, out, outlen, why);
    if (rc != 1)
        return rc;
    zcert_t *cert = zcertstore_lookup (self->certs, user_id);
    if (!cert) {
        *why = "the certificate is no longer in ASP_PARTNER_CERTS";
        return -1;
    }
    const char *pid = zcert_meta (cert, "partner_id");
    if (!pid || !asp_id_valid (pid, strlen (pid)) || strlen (pid) >= outlen) {
        *why = "the certificate has no valid partner_id metadata";
        return -1;
    }
    snprintf (out, outlen, "%s", pid);
    return rt_partners_admit (self->partners, out, user_id, why);
}

//  A connection is gone (silent, or said DISCONNECT): its offers are
//  withdrawn and go to other partners; what it accepted stays its own.
static void
s_conn_lost (rt_server_t *self, rt_conn_t *conn, const char *event_reason, const char *why, s_jobs_t *jobs)
{
    rt_partner_t *partner = conn->partner;
    if (conn->state == RT_CONN_READY && partner->conn == conn) {
        size_t withdrawn = 0;
        for (rt_order_t *order = (rt_order_t *) zhashx_first (partner->held); order;
             order = (rt_order_t *) zhashx_next (partner->held)) {
            if (order->state != ASP_WO_OFFERED)
                continue;
            s_job_t *job = s_job_add (jobs, S_WITHDRAW);
            job->txn = rt_store_withdraw (self->store, order, partner->id, order->attempt, event_reason, false);
            snprintf (job->wo_id, sizeof job->wo_id, "%s", order->id);
            snprintf (job->partner, sizeof job->partner, "%s", partner->id);
            job->attempt = order->attempt;
            job->why = why;
            memcpy (job->rid, conn->rid, conn->rid_len);
            job->rid_len = conn->rid_len;
            withdrawn++;
        }
        char n [24];
        snprintf (n, sizeof n, "%zu", withdrawn);
        asp_log_kv (ASP_LOG_INFO, "partner gone", "partner", partner->id, "reason", why,
                    "offers_withdrawn", n, NULL);
    }
    rt_registry_drop (self->registry, conn);
}

//  After READY and for LIST: ASSIGNED for each accepted work order (with
//  where it stands), and the offers still open (the same offer_id, with
//  the time it has left).
static void
s_resume (rt_server_t *self, rt_partner_t *partner, int64_t now, size_t *assigned, size_t *offered)
{
    rt_conn_t *conn = partner->conn;
    aspw_msg_t **jobs = (aspw_msg_t **) calloc (zhashx_size (partner->held) + 1, sizeof (aspw_msg_t *));
    assert (jobs);
    *assigned = *offered = 0;
    for (rt_order_t *order = (rt_order_t *) zhashx_first (partner->held); order;
         order = (rt_order_t *) zhashx_next (partner->held))
        if (order->state == ASP_WO_ASSIGNED)
            jobs [(*assigned)++] = s_order_msg (order, -1);
    rt_work_details (self->work, jobs, *assigned);
    for (size_t i = 0; i < *assigned; i++)
        s_send (self, conn->rid, conn->rid_len, &jobs [i]);
    free (jobs);
    for (rt_order_t *order = (rt_order_t *) zhashx_first (partner->held); order;
         order = (rt_order_t *) zhashx_next (partner->held))
        if (order->state == ASP_WO_OFFERED) {
            s_send_offer (self, order, now);
            (*offered)++;
        }
}

//  LIST: what s_resume sends, then LISTED with the counts.
static void
s_list (rt_server_t *self, rt_conn_t *conn, int64_t now)
{
    aspw_msg_t *m = aspw_msg_new (ASPW_LISTED);
    size_t assigned, offered;
    s_resume (self, conn->partner, now, &assigned, &offered);
    m->listed_assigned = (int64_t) assigned;
    m->listed_offered = (int64_t) offered;
    m->listed_count = (int64_t) (assigned + offered);
    s_send (self, conn->rid, conn->rid_len, &m);
    char na [24], no [24];
    snprintf (na, sizeof na, "%zu", assigned);
    snprintf (no, sizeof no, "%zu", offered);
    asp_log_kv (ASP_LOG_INFO, "partner listed its work", "partner", conn->partner->id,
                "assigned", na, "offered", no, NULL);
}

static void
s_ready (rt_server_t *self, const uint8_t *rid, size_t rid_len, const char *user_id, rt_conn_t *conn,
         const aspw_msg_t *cmd, int64_t now, s_jobs_t *jobs)
{
    char pid [RT_PARTNER_ID_MAX];
    const char *why;
    if (s_partner_of (self, user_id, pid, sizeof pid, &why)) {
        asp_log_kv (ASP_LOG_ERROR, "partner refused", "key", user_id, "reason", why, NULL);
        rt_work_refused (self->work, "bad_certificate");
        if (conn)
            s_conn_lost (self, conn, "partner refused", why, jobs);
        s_disconnect (self, rid, rid_len, why);
        return;
    }
    rt_partner_t *partner = rt_registry_partner (self->registry, pid, true);
    rt_conn_t *old = partner->conn;
    if (old && (old->rid_len != rid_len || memcmp (old->rid, rid, rid_len) != 0)) {
        //  The partner reconnected before we noticed the old connection
        //  die: the new one takes over what it holds, offers included.
        s_disconnect (self, old->rid, old->rid_len, "replaced by a newer connection");
        rt_registry_drop (self->registry, old);
    }
    rt_partner_set (partner, cmd->capacity, cmd->skills, cmd->nskills, cmd->regions, cmd->nregions);
    conn = rt_registry_connect (self->registry, rid, rid_len, user_id, partner, RT_CONN_READY, now);
    conn->last_sent = now;
    rt_dispatch_partner (self->dispatch, partner);
    rt_dispatch_credit (self->dispatch, partner);

    aspw_msg_t *m = aspw_msg_new (ASPW_WELCOME);
    snprintf (m->partner_id, sizeof m->partner_id, "%s", partner->id);
    m->heartbeat_ms = self->heartbeat_ms;
    m->liveness = self->liveness;
    m->offer_timeout_ms = self->offer_timeout_ms;
    rt_work_features (m);
    s_send (self, rid, rid_len, &m);
    size_t assigned, offered;
    s_resume (self, partner, now, &assigned, &offered);
    self->dispatch_due = true;
    char cap [24], na [24], no [24];
    snprintf (cap, sizeof cap, "%lld", (long long) cmd->capacity);
    snprintf (na, sizeof na, "%zu", assigned);
    snprintf (no, sizeof no, "%zu", offered);
    asp_log_kv (ASP_LOG_INFO, "partner ready", "partner", partner->id, "capacity", cap,
                "assigned", na, "offered", no, "software", cmd->software, NULL);
}

//  A READY that failed to decode: remember the connection so that what it
//  sends next gets not_ready (it must fix its READY) rather than DISCONNECT.
static void
s_refuse_ready (rt_server_t *self, const uint8_t *rid, size_t rid_len, const char *user_id, int64_t now)
{
    char pid [RT_PARTNER_ID_MAX];
    const char *why;
    if (s_partner_of (self, user_id, pid, sizeof pid, &why) == 0)
        rt_registry_connect (self->registry, rid, rid_len, user_id,
                             rt_registry_partner (self->registry, pid, true), RT_CONN_REFUSED, now);
}

static void
s_command (rt_server_t *self, rt_conn_t *conn, aspw_msg_t **cmd_p, s_jobs_t *jobs)
{
    aspw_msg_t *cmd = *cmd_p;
    if (!asp_child_id_valid (cmd->wo_id, strlen (cmd->wo_id), 'W')) {
        s_error (self, conn->rid, conn->rid_len, conn->partner->id, cmd, "unknown_work_order",
                 "no such work order");
        return;
    }
    char why [128];
    if (rt_work_check (cmd, asp_now_ms (), why, sizeof why)) {
        s_error (self, conn->rid, conn->rid_len, conn->partner->id, cmd, "bad_appointment", why);
        return;
    }
    const rt_order_t *order = rt_orders_lookup (self->orders, cmd->wo_id);
    asp_txn_t *txn = cmd->id == ASPW_PROGRESS || cmd->id == ASPW_COMPLETE || cmd->id == ASPW_UNABLE
                   ? rt_work_command (self->work, cmd, conn->partner->id, order)
                   : rt_store_command (self->store, cmd, conn->partner->id, order);
    if (!txn)
        return;                     //  Redis failed: no answer, the partner resends
    s_job_t *job = s_job_add (jobs, S_COMMAND);
    job->txn = txn;
    job->cmd = cmd;
    *cmd_p = NULL;
    memcpy (job->rid, conn->rid, conn->rid_len);
    job->rid_len = conn->rid_len;
    snprintf (job->wo_id, sizeof job->wo_id, "%.*s", (int) sizeof job->wo_id - 1, cmd->wo_id);
    snprintf (job->partner, sizeof job->partner, "%s", conn->partner->id);
}

static void
s_handle (rt_server_t *self, zmsg_t *msg, s_jobs_t *jobs)
{
    asp_counter_inc (self->m_messages);
    zframe_t *rid_frame = zmsg_pop (msg);
    size_t rid_len = rid_frame? zframe_size (rid_frame): 0;
    zframe_t *first = zmsg_first (msg);
    //  The authenticated key, set by the ZAP handler: never trust the payload.
    const char *user_id = first? zframe_meta (first, "User-Id"): NULL;
    if (rid_len == 0 || rid_len > ASPW_RID_MAX || !user_id || strlen (user_id) != 40) {
        asp_log_warn ("partner message without a routing id or CURVE User-Id: dropped");
        zframe_destroy (&rid_frame);
        return;
    }
    uint8_t rid [ASPW_RID_MAX];
    memcpy (rid, zframe_data (rid_frame), rid_len);
    zframe_destroy (&rid_frame);
    int64_t now = asp_mono_ms ();
    rt_conn_t *conn = rt_registry_conn (self->registry, rid, rid_len);
    bool tell;
    if (conn && !rt_work_admit (self->work, conn, now, &tell)) {
        //  Over its rate: dropped unread (garbage floods cost no decoding).
        if (tell) {
            aspw_msg_t *m = aspw_msg_new (ASPW_ERROR);
            snprintf (m->code, sizeof m->code, "rate_limited");
            snprintf (m->reason, sizeof m->reason, "more than the allowed messages per second: messages dropped");
            s_send (self, rid, rid_len, &m);
        }
        return;
    }
    aspw_msg_t *cmd = aspw_msg_new (ASPW_HEARTBEAT);
    char err [200];
    int rc = aspw_msg_decode (cmd, msg, ASPW_FROM_PARTNER, err, sizeof err);
    if (conn && rc == 0)
        conn->last_heard = now;     //  any well-formed message is a sign of life
    if (rc) {
        if (!conn && streq (cmd->name, "READY"))
            s_refuse_ready (self, rid, rid_len, user_id, now);
        s_error (self, rid, rid_len, conn? conn->partner->id: "", cmd, "bad_message", err);
    }
    else
    if (cmd->id == ASPW_READY)
        s_ready (self, rid, rid_len, user_id, conn, cmd, now, jobs);
    else
    if (!conn) {
        asp_counter_inc (self->m_unknown);
        s_disconnect (self, rid, rid_len, "unknown connection: reconnect with a fresh socket and send READY");
    }
    else
    if (conn->state != RT_CONN_READY) {
        //  not_ready refuses the connection: the partner reconnects and
        //  sends READY again. A HEARTBEAT is only a sign of life.
        if (cmd->id != ASPW_HEARTBEAT)
            s_error (self, rid, rid_len, conn->partner->id, cmd, "not_ready",
                     "this connection's READY was refused: reconnect and send a valid READY");
    }
    else
    if (cmd->id == ASPW_DISCONNECT)
        s_conn_lost (self, conn, "partner disconnected", "partner disconnected", jobs);
    else
    if (cmd->id == ASPW_LIST)
        s_list (self, conn, now);
    else
    if (cmd->id != ASPW_HEARTBEAT)
        s_command (self, conn, &cmd, jobs);
    aspw_msg_destroy (&cmd);
}

static void
s_gauges (rt_server_t *self)
{
    atomic_store (&self->g_live, (long long) rt_registry_live (self->registry));
    atomic_store (&self->g_open, (long long) rt_orders_size (self->orders));
    atomic_store (&self->g_pending, (long long) rt_queue_size (rt_orders_queue (self->orders)));
    atomic_store (&self->g_unroutable, (long long) rt_orders_unroutable (self->orders));
}

static int
s_on_partner (zloop_t *loop, zsock_t *reader, void *arg)
{
    (void) loop;
    rt_server_t *self = (rt_server_t *) arg;
    s_jobs_t jobs = { 0 };
    for (int n = 0; n < S_BATCH_MAX && (zsock_events (reader) & ZMQ_POLLIN); n++) {
        zmsg_t *msg = zmsg_recv (reader);
        if (!msg)
            break;
        s_handle (self, msg, &jobs);
        zmsg_destroy (&msg);
    }
    s_run (self, &jobs);
    s_dispatch (self);
    s_gauges (self);
    return 0;
}

//  --------------------------------------------------------------------------
//  The periodic tick: load, heartbeats, liveness, offer expiry

static void
s_try_load (rt_server_t *self)
{
    size_t n;
    if (rt_partners_load (self->partners) || rt_store_load (self->store, self->orders, self->registry, &n)) {
        if (!self->load_warned)
            asp_log_warn ("cannot load open work orders from Redis yet; partners wait");
        self->load_warned = true;
        return;
    }
    self->loaded = true;
    self->dispatch_due = true;
    self->sweep_due = true;         //  what the registry changed while routing was down
    //  Partners reconnect within a few heartbeats of a start: no order is
    //  called unroutable before they had the time.
    rt_dispatch_grace (self->dispatch, asp_mono_ms () + 2 * self->liveness * self->heartbeat_ms);
    zloop_reader (self->loop, self->router, s_on_partner, self);
    asp_log_info ("loaded %zu open work orders; serving partners", n);
}

static void
s_heartbeats (rt_server_t *self, int64_t now, s_jobs_t *jobs)
{
    zhashx_t *conns = rt_registry_conns (self->registry);
    rt_conn_t **silent = (rt_conn_t **) calloc (zhashx_size (conns) + 1, sizeof (rt_conn_t *));
    assert (silent);
    size_t nsilent = 0;
    for (rt_conn_t *conn = (rt_conn_t *) zhashx_first (conns); conn; conn = (rt_conn_t *) zhashx_next (conns)) {
        if (now - conn->last_heard > self->liveness * self->heartbeat_ms)
            silent [nsilent++] = conn;
        else
        if (conn->state == RT_CONN_READY && now - conn->last_sent >= self->heartbeat_ms) {
            conn->last_sent = now;
            aspw_send_body (self->router, conn->rid, conn->rid_len, ASPW_HEARTBEAT, NULL, 0);
        }
    }
    for (size_t i = 0; i < nsilent; i++)
        s_conn_lost (self, silent [i], "timeout", "partner silent too long", jobs);
    free (silent);
}

static void
s_expire_offers (rt_server_t *self, int64_t now, s_jobs_t *jobs)
{
    char key [RT_WO_ID_MAX];
    int64_t attempt;
    while (rt_deadlines_pop (self->deadlines, now, key, sizeof key, &attempt)) {
        rt_order_t *order = rt_orders_lookup (self->orders, key);
        if (!order || order->state != ASP_WO_OFFERED || order->attempt != attempt || order->expires > now)
            continue;               //  answered, or re-armed since
        //  A live partner let the offer lapse: not offered it again. One
        //  that is gone keeps its chance for when it comes back.
        bool live = rt_partner_live (order->partner);
        s_job_t *job = s_job_add (jobs, S_WITHDRAW);
        job->txn = rt_store_withdraw (self->store, order, order->partner->id, attempt, "timeout", live);
        snprintf (job->wo_id, sizeof job->wo_id, "%s", order->id);
        snprintf (job->partner, sizeof job->partner, "%s", order->partner->id);
        job->attempt = attempt;
        job->exclude = live;
        job->why = live? "offer expired": "partner silent too long";
        if (live) {
            memcpy (job->rid, order->partner->conn->rid, order->partner->conn->rid_len);
            job->rid_len = order->partner->conn->rid_len;
        }
    }
}

static int
s_on_tick (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop; (void) timer_id;
    rt_server_t *self = (rt_server_t *) arg;
    if (!self->loaded)
        s_try_load (self);
    int64_t now = asp_mono_ms ();
    s_jobs_t jobs = { 0 };
    s_heartbeats (self, now, &jobs);
    s_expire_offers (self, now, &jobs);
    s_run (self, &jobs);
    if (self->loaded)
        rt_work_tick (self->work, self->svc);
    if (now >= self->next_round_check) {
        //  Pending orders whose exclusions have aged may now be offered.
        self->next_round_check = now + 1000;
        if (rt_queue_size (rt_orders_queue (self->orders)))
            self->dispatch_due = true;
        self->sweep_due = true;     //  retries what Redis failed to take
    }
    if (self->sweep_due)
        s_sweep (self);
    if (rt_dispatch_tick (self->dispatch, now))
        self->dispatch_due = true;
    s_dispatch (self);
    s_gauges (self);
    if (now >= self->next_live) {
        //  The partners' live state for the ops dashboard (rt_live.h).
        self->next_live = now + RT_LIVE_EVERY_MS;
        if (rt_live_write (asp_svc_rds (self->svc), self->registry, &self->live_last))
            asp_rds_drop (asp_svc_rds (self->svc));
    }
    return 0;
}

//  --------------------------------------------------------------------------
//  ticket.created from the bus

static bool
s_ticket_wo_id (const asp_envelope_t *env, char *wo_id, size_t len)
{
    snprintf (wo_id, len, "W%s", env->ticket);
    return *env->ticket && asp_child_id_valid (wo_id, strlen (wo_id), 'W');
}

static asp_txn_t *
s_prepare_ticket (asp_svc_t *svc, const asp_envelope_t *env, char *reason, size_t reason_len, void *arg)
{
    (void) svc;
    rt_server_t *self = (rt_server_t *) arg;
    char wo_id [RT_WO_ID_MAX];
    rt_ticket_t ticket;
    if (!s_ticket_wo_id (env, wo_id, sizeof wo_id)) {
        snprintf (reason, reason_len, "ticket.created needs a ticket id that can name a work order");
        return NULL;
    }
    if (rt_ticket_parse (env->body, &ticket, reason, reason_len))
        return NULL;
    if (!asp_kind_field_work (ticket.kind))
        return NULL;                //  staff handle it: no work order (ACK)
    return rt_store_create (self->store, wo_id, env->ticket, env->trace, &ticket, env->id);
}

//  A new pending work order, committed, joins the mirror.
static void
s_add_order (rt_server_t *self, const asp_envelope_t *env, const char *wo_id, const rt_ticket_t *t)
{
    rt_order_t *order = rt_order_new (wo_id, env->ticket, env->trace, t->kind, t->tier, t->category,
                                      t->region, t->summary, t->priority);
    snprintf (order->installer, sizeof order->installer, "%s", t->installer);
    rt_order_set_area (order, t->area);
    if (rt_orders_insert (self->orders, &order)) {
        asp_counter_inc (self->m_created);
        asp_log_kv (ASP_LOG_INFO, "work order created", "wo_id", wo_id, "category", t->category,
                    "region", t->region, NULL);
    }
    self->dispatch_due = true;
    s_kick (self);
}

//  Whether a script's view shows a work order that is still open.
static bool
s_view_open (const rt_view_t *view)
{
    return view->found && view->state != ASP_WO_COMPLETED && view->state != ASP_WO_CANCELLED;
}

//  A message that created a work order came back as a duplicate while the
//  mirror lacks the order: the first delivery's script ran but its reply
//  was lost (Redis died or timed out after running it), so the order was
//  never taken into memory, and nothing else would take it before a
//  restart: the ticket would wait for ever. The script's view says whether
//  it is still open; if so it joins the mirror as Redis has it. True when
//  the order is to be added.
static bool
s_dup_creates (rt_server_t *self, asp_txn_t *txn, const char *wo_id, rt_view_t *view)
{
    rt_store_view (txn, view);
    if (!s_view_open (view) || rt_orders_lookup (self->orders, wo_id))
        return false;
    asp_log_kv (ASP_LOG_WARN, "work order stored by a script whose reply was lost; taken into memory now",
                "wo_id", wo_id, "state", asp_vocab_name (&asp_vocab_wo_state, view->state), NULL);
    return true;
}

static void
s_committed_ticket (asp_svc_t *svc, const asp_envelope_t *env, asp_txn_t *txn, void *arg)
{
    (void) svc;
    rt_server_t *self = (rt_server_t *) arg;
    char wo_id [RT_WO_ID_MAX], err [200];
    rt_ticket_t t;
    rt_view_t view;
    asp_txn_outcome_t outcome = asp_txn_outcome (txn);
    if ((outcome != ASP_TXN_OK && outcome != ASP_TXN_DUP) || !s_ticket_wo_id (env, wo_id, sizeof wo_id)
    ||  rt_ticket_parse (env->body, &t, err, sizeof err))
        return;
    if (outcome == ASP_TXN_OK)
        s_add_order (self, env, wo_id, &t);
    else
    if (s_dup_creates (self, txn, wo_id, &view)) {
        s_add_order (self, env, wo_id, &t);
        s_sync (self, wo_id, &view);
    }
}

//  --------------------------------------------------------------------------
//  ticket.cancelled and ticket.redispatched: the work order is withdrawn

//  The body's work order id field of this ticket into wo_id; false (and
//  a reason) when absent or another ticket's.
static bool
s_body_wo_id (const asp_envelope_t *env, const char *field, char *wo_id, size_t len,
              char *reason, size_t reason_len)
{
    char ticket [ASP_ID_MAX];
    if (asp_mp_get_str (env->body, field, wo_id, len) != 0
    ||  asp_wo_ticket (wo_id, ticket, sizeof ticket) || !streq (ticket, env->ticket)) {
        snprintf (reason, reason_len, "%s needs %s, a work order id of ticket %s", env->type, field,
                  env->ticket);
        return false;
    }
    return true;
}

//  A work order Redis just cancelled leaves the mirror; the partner that
//  holds it (offered or accepted) is told at once with WITHDRAW
//  "cancelled". One that is not connected learns it from the ERROR its
//  next command about it gets.
static void
s_withdraw_cancelled (rt_server_t *self, const char *wo_id)
{
    rt_order_t *order = rt_orders_lookup (self->orders, wo_id);
    if (!order)
        return;
    rt_partner_t *partner = order->partner;
    if (partner && rt_partner_live (partner)) {
        aspw_msg_t *m = aspw_msg_new (ASPW_WITHDRAW);
        snprintf (m->wo_id, sizeof m->wo_id, "%s", wo_id);
        snprintf (m->reason, sizeof m->reason, "%s", ASPW_WITHDRAW_CANCELLED);
        s_send (self, partner->conn->rid, partner->conn->rid_len, &m);
    }
    asp_log_kv (ASP_LOG_INFO, "work order cancelled", "wo_id", wo_id,
                "partner", partner? partner->id: "", NULL);
    asp_counter_inc (self->m_withdrawn);
    rt_orders_remove (self->orders, order);
    self->dispatch_due = true;
    s_kick (self);
}

static asp_txn_t *
s_prepare_cancel (asp_svc_t *svc, const asp_envelope_t *env, char *reason, size_t reason_len, void *arg)
{
    (void) svc;
    rt_server_t *self = (rt_server_t *) arg;
    char wo_id [RT_WO_ID_MAX];
    if (!s_body_wo_id (env, "wo_id", wo_id, sizeof wo_id, reason, reason_len))
        return NULL;
    return rt_store_cancel (self->store, wo_id, env->id);
}

static void
s_committed_cancel (asp_svc_t *svc, const asp_envelope_t *env, asp_txn_t *txn, void *arg)
{
    (void) svc;
    rt_server_t *self = (rt_server_t *) arg;
    char wo_id [RT_WO_ID_MAX], err [200];
    asp_txn_outcome_t outcome = asp_txn_outcome (txn);
    //  A duplicate too: the script cancelled it before, and the mirror
    //  still has it only if that reply was lost (s_dup_creates).
    if ((outcome == ASP_TXN_OK || outcome == ASP_TXN_DUP)
    &&  s_body_wo_id (env, "wo_id", wo_id, sizeof wo_id, err, sizeof err))
        s_withdraw_cancelled (self, wo_id);
}

static asp_txn_t *
s_prepare_redispatch (asp_svc_t *svc, const asp_envelope_t *env, char *reason, size_t reason_len, void *arg)
{
    (void) svc;
    rt_server_t *self = (rt_server_t *) arg;
    char wo_id [RT_WO_ID_MAX], previous [RT_WO_ID_MAX];
    rt_ticket_t ticket;
    if (!s_body_wo_id (env, "wo_id", wo_id, sizeof wo_id, reason, reason_len)
    ||  !s_body_wo_id (env, "previous_wo_id", previous, sizeof previous, reason, reason_len)
    ||  rt_ticket_parse (env->body, &ticket, reason, reason_len))
        return NULL;
    if (!asp_kind_field_work (ticket.kind))
        return NULL;                //  a reopened consultation: staff again (ACK)
    return rt_store_redispatch (self->store, wo_id, previous, env->ticket, env->trace, &ticket, env->id);
}

static void
s_committed_redispatch (asp_svc_t *svc, const asp_envelope_t *env, asp_txn_t *txn, void *arg)
{
    (void) svc;
    rt_server_t *self = (rt_server_t *) arg;
    char wo_id [RT_WO_ID_MAX], previous [RT_WO_ID_MAX], err [200];
    rt_ticket_t t;
    rt_view_t view;
    asp_txn_outcome_t outcome = asp_txn_outcome (txn);
    if ((outcome != ASP_TXN_OK && outcome != ASP_TXN_DUP)
    ||  !s_body_wo_id (env, "wo_id", wo_id, sizeof wo_id, err, sizeof err)
    ||  !s_body_wo_id (env, "previous_wo_id", previous, sizeof previous, err, sizeof err)
    ||  rt_ticket_parse (env->body, &t, err, sizeof err))
        return;
    //  The script cancelled the previous work order whatever it answered
    //  later, so a duplicate takes it out of the mirror too.
    s_withdraw_cancelled (self, previous);
    if (outcome == ASP_TXN_OK)
        s_add_order (self, env, wo_id, &t);
    else
    if (s_dup_creates (self, txn, wo_id, &view)) {
        s_add_order (self, env, wo_id, &t);
        s_sync (self, wo_id, &view);
    }
}

//  --------------------------------------------------------------------------
//  partner.changed from the bus: the registry's record takes effect at once

//  A partner that is not active: its open offers are withdrawn (it is
//  told, unless removed). A removed one is also told DISCONNECT and its
//  connection forgotten (its key already fails the handshake), and what
//  it accepted goes back to routing with this partner excluded. Each
//  step is guarded in Redis, so doing it again changes nothing.
static void
s_partner_status (rt_server_t *self, rt_partner_t *partner, s_jobs_t *jobs)
{
    asp_partner_status_t status = rt_profile_status (partner->profile);
    if (status == ASP_PARTNER_ACTIVE)
        return;
    bool removed = status == ASP_PARTNER_REMOVED;
    rt_conn_t *conn = partner->conn;
    for (rt_order_t *order = (rt_order_t *) zhashx_first (partner->held); order;
         order = (rt_order_t *) zhashx_next (partner->held)) {
        s_job_t *job = NULL;
        if (order->state == ASP_WO_OFFERED) {
            job = s_job_add (jobs, S_WITHDRAW);
            job->why = removed? "partner removed": "partner suspended";
            job->txn = rt_store_withdraw (self->store, order, partner->id, order->attempt, job->why, false);
            job->attempt = order->attempt;
            if (conn && !removed) {
                memcpy (job->rid, conn->rid, conn->rid_len);
                job->rid_len = conn->rid_len;
            }
        }
        else
        if (removed && order->state == ASP_WO_ASSIGNED) {
            job = s_job_add (jobs, S_RETURN);
            job->why = asp_vocab_name (&asp_vocab_unable_reason, ASP_UNABLE_PARTNER_REMOVED);
            job->txn = rt_work_return (self->work, order->id, order, partner->id, job->why,
                                       "the brand removed the partner from the registry");
        }
        if (job) {
            snprintf (job->wo_id, sizeof job->wo_id, "%s", order->id);
            snprintf (job->partner, sizeof job->partner, "%s", partner->id);
        }
    }
    if (removed && conn) {
        //  The key it connected with fails the handshake from now on, even
        //  one the record does not name (a certificate in the folder).
        const char *why;
        rt_partners_admit (self->partners, partner->id, conn->user_id, &why);
        asp_log_kv (ASP_LOG_INFO, "partner gone", "partner", partner->id, "reason", "partner removed", NULL);
        s_disconnect (self, conn->rid, conn->rid_len, "partner removed");
        rt_registry_drop (self->registry, conn);
    }
}

static void
s_sweep (rt_server_t *self)
{
    if (!self->loaded)
        return;                     //  after the open work orders are known
    self->sweep_due = false;
    s_jobs_t jobs = { 0 };
    for (rt_partner_t *p = rt_partners_first (self->partners); p; p = rt_partners_next (self->partners))
        s_partner_status (self, p, &jobs);
    s_run (self, &jobs);
}

static asp_txn_t *
s_prepare_partner (asp_svc_t *svc, const asp_envelope_t *env, char *reason, size_t reason_len, void *arg)
{
    (void) svc;
    return rt_partners_store (((rt_server_t *) arg)->partners, env, reason, reason_len);
}

//  Applied in memory once stored; its effects run from the loop, after
//  the bus batch is answered. A newer status, cap or key counts at once.
//  A duplicate or stale one is offered to memory too (only a newer
//  version than memory's is taken): a resend after a lost reply must not
//  leave memory behind Redis.
static void
s_committed_partner (asp_svc_t *svc, const asp_envelope_t *env, asp_txn_t *txn, void *arg)
{
    (void) svc;
    rt_server_t *self = (rt_server_t *) arg;
    asp_partner_status_t was;
    asp_txn_outcome_t o = asp_txn_outcome (txn);
    rt_partner_t *partner;
    if ((o != ASP_TXN_OK && o != ASP_TXN_DUP && o != ASP_TXN_STALE)
    ||  !(partner = rt_partners_apply (self->partners, env->body, &was)))
        return;
    //  Its record may admit classes it did not (parked orders come back)
    //  or raise its cap.
    rt_dispatch_partner (self->dispatch, partner);
    rt_dispatch_credit (self->dispatch, partner);
    self->sweep_due = true;
    self->dispatch_due = true;
    s_kick (self);
}

//  --------------------------------------------------------------------------
//  ticket.override: a supervisor's choice of partner

//  The override's partner_id and by (staff name, optional) from the body.
static bool
s_override_body (const asp_envelope_t *env, char *wo_id, size_t wo_len, char *pid, size_t pid_len,
                 char *by, size_t by_len, char *reason, size_t reason_len)
{
    if (!s_body_wo_id (env, "wo_id", wo_id, wo_len, reason, reason_len))
        return false;
    if (asp_mp_get_str (env->body, "partner_id", pid, pid_len) != 0 || !asp_id_valid (pid, strlen (pid))) {
        snprintf (reason, reason_len, "ticket.override needs partner_id, a partner id");
        return false;
    }
    if (asp_mp_get_str (env->body, "by", by, by_len) == -1) {
        snprintf (reason, reason_len, "ticket.override's by must be a string of at most %zu bytes", by_len - 1);
        return false;
    }
    return true;
}

static asp_txn_t *
s_prepare_override (asp_svc_t *svc, const asp_envelope_t *env, char *reason, size_t reason_len, void *arg)
{
    (void) svc;
    rt_server_t *self = (rt_server_t *) arg;
    char wo_id [RT_WO_ID_MAX], pid [RT_PARTNER_ID_MAX], by [ASPW_STR_MAX + 1] = "";
    if (!s_override_body (env, wo_id, sizeof wo_id, pid, sizeof pid, by, sizeof by, reason, reason_len))
        return NULL;
    return rt_store_override (self->store, wo_id, pid, by, env->id);
}

//  The order waits for the chosen partner; an offer to another one is
//  taken back first.
static void
s_committed_override (asp_svc_t *svc, const asp_envelope_t *env, asp_txn_t *txn, void *arg)
{
    (void) svc;
    rt_server_t *self = (rt_server_t *) arg;
    char wo_id [RT_WO_ID_MAX], pid [RT_PARTNER_ID_MAX], by [ASPW_STR_MAX + 1] = "", err [200];
    if (asp_txn_outcome (txn) != ASP_TXN_OK
    ||  !s_override_body (env, wo_id, sizeof wo_id, pid, sizeof pid, by, sizeof by, err, sizeof err))
        return;
    rt_order_t *order = rt_orders_lookup (self->orders, wo_id);
    if (!order)
        return;
    asp_log_kv (ASP_LOG_INFO, "override", "wo_id", wo_id, "partner", pid, "by", by, NULL);
    if (order->state == ASP_WO_OFFERED && streq (order->partner->id, pid))
        return;                     //  already offered to that partner
    rt_dispatch_override (self->dispatch, order, pid);
    if (order->state == ASP_WO_OFFERED && !zlistx_find (self->retract, order->id))
        zlistx_add_end (self->retract, order->id);
    self->dispatch_due = true;
    s_kick (self);
}

//  --------------------------------------------------------------------------
//  partner.scored: a partner's quality score, from feedback

static bool
s_scored_body (const asp_envelope_t *env, char *pid, size_t pid_len, int64_t *score,
               char *reason, size_t reason_len)
{
    if (asp_mp_get_str (env->body, "partner_id", pid, pid_len) != 0 || !asp_id_valid (pid, strlen (pid))) {
        snprintf (reason, reason_len, "partner.scored needs partner_id, a partner id");
        return false;
    }
    if (asp_mp_get_int (env->body, "score", score) != 0 || *score < 0 || *score > 1000) {
        snprintf (reason, reason_len, "partner.scored needs score, an integer in 0..1000 (per mille)");
        return false;
    }
    return true;
}

static asp_txn_t *
s_prepare_scored (asp_svc_t *svc, const asp_envelope_t *env, char *reason, size_t reason_len, void *arg)
{
    (void) svc;
    rt_server_t *self = (rt_server_t *) arg;
    char pid [RT_PARTNER_ID_MAX];
    int64_t score;
    if (!s_scored_body (env, pid, sizeof pid, &score, reason, reason_len))
        return NULL;
    return rt_store_score (self->store, pid, score, env->id);
}

static void
s_committed_scored (asp_svc_t *svc, const asp_envelope_t *env, asp_txn_t *txn, void *arg)
{
    (void) svc;
    rt_server_t *self = (rt_server_t *) arg;
    char pid [RT_PARTNER_ID_MAX], err [200];
    int64_t score;
    if (asp_txn_outcome (txn) != ASP_TXN_OK || !s_scored_body (env, pid, sizeof pid, &score, err, sizeof err))
        return;
    rt_registry_partner (self->registry, pid, true)->score = score;
    char n [24];
    snprintf (n, sizeof n, "%lld", (long long) score);
    asp_log_kv (ASP_LOG_INFO, "partner scored", "partner", pid, "score", n, NULL);
}

//  --------------------------------------------------------------------------
//  partner.strike: a step of a partner's three-strike ladder, from feedback.
//  Routing keeps only whether the partner is removed (no new work until
//  ops overturn a strike), as of the ladder's newest version.

static bool
s_strike_body (const asp_envelope_t *env, char *pid, size_t pid_len, int64_t *version, bool *removed,
               char *reason, size_t reason_len)
{
    if (asp_mp_get_str (env->body, "partner_id", pid, pid_len) != 0 || !asp_id_valid (pid, strlen (pid))) {
        snprintf (reason, reason_len, "partner.strike needs partner_id, a partner id");
        return false;
    }
    if (asp_mp_get_int (env->body, "ladder_version", version) != 0 || *version < 1) {
        snprintf (reason, reason_len, "partner.strike needs ladder_version, an integer >= 1");
        return false;
    }
    if (asp_mp_get_bool (env->body, "removed", removed) != 0) {
        snprintf (reason, reason_len, "partner.strike needs removed, a bool");
        return false;
    }
    return true;
}

static asp_txn_t *
s_prepare_strike (asp_svc_t *svc, const asp_envelope_t *env, char *reason, size_t reason_len, void *arg)
{
    (void) svc;
    rt_server_t *self = (rt_server_t *) arg;
    char pid [RT_PARTNER_ID_MAX];
    int64_t version;
    bool removed;
    if (!s_strike_body (env, pid, sizeof pid, &version, &removed, reason, reason_len))
        return NULL;
    return rt_store_removed (self->store, pid, version, removed, env->id);
}

static void
s_committed_strike (asp_svc_t *svc, const asp_envelope_t *env, asp_txn_t *txn, void *arg)
{
    (void) svc;
    rt_server_t *self = (rt_server_t *) arg;
    char pid [RT_PARTNER_ID_MAX], err [200];
    int64_t version;
    bool removed;
    if (asp_txn_outcome (txn) != ASP_TXN_OK
    ||  !s_strike_body (env, pid, sizeof pid, &version, &removed, err, sizeof err))
        return;
    rt_partner_t *partner = rt_registry_partner (self->registry, pid, true);
    if (version <= partner->removed_version)
        return;
    bool was = partner->removed;
    partner->removed = removed;
    partner->removed_version = version;
    if (was == removed)
        return;
    asp_log_kv (ASP_LOG_INFO, removed? "partner removed by its strikes": "partner reinstated",
                "partner", pid, NULL);
    //  Reinstated: its classes are looked at again, parked orders come
    //  back (as for a record that admits more).
    rt_dispatch_partner (self->dispatch, partner);
    rt_dispatch_credit (self->dispatch, partner);
    self->sweep_due = true;
    self->dispatch_due = true;
    s_kick (self);
}

//  --------------------------------------------------------------------------
//  Construction

static double
s_gauge_live (void *arg)
{
    return (double) atomic_load (&((rt_server_t *) arg)->g_live);
}

static double
s_gauge_open (void *arg)
{
    return (double) atomic_load (&((rt_server_t *) arg)->g_open);
}

static double
s_gauge_pending (void *arg)
{
    return (double) atomic_load (&((rt_server_t *) arg)->g_pending);
}

static double
s_gauge_unroutable (void *arg)
{
    return (double) atomic_load (&((rt_server_t *) arg)->g_unroutable);
}

static void
s_metrics (rt_server_t *self)
{
    asp_metrics_t *m = asp_svc_metrics (self->svc);
    self->m_messages = asp_metrics_counter (m, "partner_messages_total", "Messages received from partners.");
    self->m_errors = asp_metrics_counter (m, "partner_errors_total", "ERROR replies sent to partners.");
    self->m_unknown = asp_metrics_counter (m, "partner_unknown_total", "Messages from unknown connections (answered DISCONNECT).");
    self->m_offers = asp_metrics_counter (m, "offers_sent_total", "Work order offers made.");
    self->m_expired = asp_metrics_counter (m, "offers_expired_total", "Offers that lapsed unanswered.");
    self->m_withdrawn = asp_metrics_counter (m, "offers_withdrawn_total", "Offers withdrawn because the partner went away.");
    self->m_created = asp_metrics_counter (m, "workorders_created_total", "Work orders created.");
    self->m_completed = asp_metrics_counter (m, "workorders_completed_total", "Work orders completed.");
    self->m_returned = asp_metrics_counter (m, "workorders_returned_total",
                                            "Accepted work orders given back to routing (workorder.returned).");
    asp_metrics_gauge (m, "partners_live", "Partners connected and READY.", s_gauge_live, self);
    asp_metrics_gauge (m, "workorders_open", "Work orders not completed.", s_gauge_open, self);
    asp_metrics_gauge (m, "workorders_pending", "Work orders waiting for a partner.", s_gauge_pending, self);
    asp_metrics_gauge (m, "workorders_unroutable", "Work orders in the unroutable queue (no partner could fit).",
                       s_gauge_unroutable, self);
    self->m_rounds = asp_metrics_counter (m, "dispatch_rounds_total", "Dispatch rounds (batches of offers) run.");
    self->m_express = asp_metrics_counter (m, "offers_express_total", "Offers of express-tier work orders.");
}

//  The CURVE server socket; exits on a configuration error.
static void
s_partner_socket (rt_server_t *self, const char *certs_dir, const char *cert_file, const char *bind)
{
    if (!zsys_has_curve ())
        s_fatal ("libzmq has no CURVE support");
    zcert_t *cert = zcert_load (cert_file);
    if (!cert)
        s_fatal ("cannot load the routing certificate '%s' (ASP_ROUTING_CERT): "
                 "file missing, unreadable or not a certificate", cert_file);
    if (streq (zcert_secret_txt (cert), "0000000000000000000000000000000000000000"))
        s_fatal ("'%s' has no secret key: ASP_ROUTING_CERT must name routing's secret certificate",
                 cert_file);
    struct stat st;
    if (stat (certs_dir, &st) || !S_ISDIR (st.st_mode))
        s_fatal ("ASP_PARTNER_CERTS='%s' is not a folder", certs_dir);
    //  The process's ZAP handler (asp_curve, shared with the bus, which
    //  has its own domain) admits only keys whose certificate is in the
    //  folder; it rescans the folder when it changes, so adding a partner
    //  needs no restart.
    asp_curve_allow (asp_svc_curve (self->svc), ASP_CURVE_PARTNERS, certs_dir);
    self->certs = zcertstore_new (certs_dir);
    self->router = zsock_new (ZMQ_ROUTER);
    assert (self->router);
    zcert_apply (cert, self->router);
    zcert_destroy (&cert);
    zsock_set_curve_server (self->router, 1);
    zsock_set_zap_domain (self->router, ASP_CURVE_PARTNERS);
    zsock_set_maxmsgsize (self->router, ASPW_TRANSPORT_MAX);
    zsock_set_router_mandatory (self->router, 1);
    zsock_set_sndhwm (self->router, 10000);
    zsock_set_rcvhwm (self->router, 10000);
    if (zsock_bind (self->router, "%s", bind) < 0)
        s_fatal ("cannot bind the partner socket on %s (ASP_PARTNER_BIND): %s", bind, zmq_strerror (zmq_errno ()));
    asp_log_info ("partners on %s (CURVE, certificates in %s)", bind, certs_dir);
}

rt_server_t *
rt_server_new (asp_svc_t *svc)
{
    const char *certs_dir = asp_cfg_str ("ASP_PARTNER_CERTS", NULL);
    const char *cert_file = asp_cfg_str ("ASP_ROUTING_CERT", NULL);
    const char *bind = asp_cfg_str ("ASP_PARTNER_BIND", "tcp://127.0.0.1:7110");
    if (!cert_file)
        s_fatal ("ASP_ROUTING_CERT is not set: it must name routing's secret certificate file");
    if (!certs_dir)
        s_fatal ("ASP_PARTNER_CERTS is not set: it must name the folder of partner public certificates");

    rt_server_t *self = (rt_server_t *) calloc (1, sizeof *self);
    assert (self);
    self->svc = svc;
    self->loop = asp_svc_loop (svc);
    self->heartbeat_ms = asp_cfg_int ("ASP_HEARTBEAT_MS", 1000, 10, 600000);
    self->liveness = asp_cfg_int ("ASP_LIVENESS", 3, 1, 100);
    self->offer_timeout_ms = asp_cfg_int ("ASP_OFFER_TIMEOUT_MS", 10000, 100, 7 * 86400 * 1000LL);
    self->round_ms = asp_cfg_int ("ASP_REOFFER_ROUND_MS", 60000, 0, 7 * 86400 * 1000LL);
    self->offer_timeout_express_ms = asp_cfg_int ("ASP_OFFER_TIMEOUT_EXPRESS_MS", self->offer_timeout_ms,
                                                  100, 7 * 86400 * 1000LL);
    self->max_refusals = asp_cfg_int ("ASP_OFFER_MAX_REFUSALS", 5, 1, 1000);
    int64_t score_prior = asp_cfg_int ("ASP_SCORE_PRIOR", 700, 0, 1000);
    self->kick_timer = -1;
    s_partner_socket (self, certs_dir, cert_file, bind);
    self->store = rt_store_new (asp_svc_rds (svc));
    self->registry = rt_registry_new ();
    self->partners = rt_partners_new (svc, self->registry);
    self->orders = rt_orders_new ();
    self->deadlines = rt_deadlines_new ();
    self->work = rt_work_new (asp_svc_rds (svc), asp_svc_metrics (svc));
    self->dispatch = rt_dispatch_new (self->registry, self->orders, score_prior, self->round_ms);
    rt_orders_on_release (self->orders, s_released, self);
    self->escalate = zlistx_new ();
    self->retract = zlistx_new ();
    for (zlistx_t **l = (zlistx_t *[]) { self->escalate, self->retract, NULL }; *l; l++) {
        zlistx_set_destructor (*l, (zlistx_destructor_fn *) zstr_free);
        zlistx_set_duplicator (*l, (zlistx_duplicator_fn *) strdup);
        zlistx_set_comparator (*l, (zlistx_comparator_fn *) strcmp);
    }
    s_metrics (self);
    asp_svc_on (svc, ASP_EV_TICKET_CREATED, s_prepare_ticket, s_committed_ticket, self);
    asp_svc_on (svc, ASP_EV_TICKET_CANCELLED, s_prepare_cancel, s_committed_cancel, self);
    asp_svc_on (svc, ASP_EV_TICKET_REDISPATCHED, s_prepare_redispatch, s_committed_redispatch, self);
    asp_svc_on (svc, ASP_EV_PARTNER_CHANGED, s_prepare_partner, s_committed_partner, self);
    asp_svc_on (svc, ASP_EV_TICKET_OVERRIDE, s_prepare_override, s_committed_override, self);
    asp_svc_on (svc, ASP_EV_PARTNER_SCORED, s_prepare_scored, s_committed_scored, self);
    asp_svc_on (svc, ASP_EV_PARTNER_STRIKE, s_prepare_strike, s_committed_strike, self);

    //  One timer for every deadline: fine enough for heartbeats and for
    //  offer expiry, cheap whatever the number of offers.
    int64_t window = self->offer_timeout_ms < self->offer_timeout_express_ms? self->offer_timeout_ms
                                                                            : self->offer_timeout_express_ms;
    int64_t tick = (self->heartbeat_ms < window? self->heartbeat_ms: window) / 4;
    self->tick_timer = zloop_timer (self->loop, (size_t) (tick < 10? 10: tick > 100? 100: tick), 0, s_on_tick, self);
    s_try_load (self);
    return self;
}

void
rt_server_destroy (rt_server_t **self_p)
{
    rt_server_t *self = *self_p;
    if (!self)
        return;
    if (self->loaded)
        zloop_reader_end (self->loop, self->router);
    zloop_timer_end (self->loop, self->tick_timer);
    if (self->kick_timer != -1)
        zloop_timer_end (self->loop, self->kick_timer);
    //  The ZAP handler (asp_svc's) goes after this socket.
    zsock_destroy (&self->router);
    zcertstore_destroy (&self->certs);
    rt_dispatch_destroy (&self->dispatch);
    zlistx_destroy (&self->escalate);
    zlistx_destroy (&self->retract);
    rt_orders_destroy (&self->orders);
    rt_partners_destroy (&self->partners);
    rt_registry_destroy (&self->registry);
    rt_deadlines_destroy (&self->deadlines);
    rt_work_destroy (&self->work);
    rt_store_destroy (&self->store);
    free (self->live_last);
    free (self);
    *self_p = NULL;
}

//  --------------------------------------------------------------------------
//  Self-test: the engine on a real service loop (asp_probe), real Redis, a
//  real partner DEALER over CURVE: a ticket in from the bus becomes an
//  offer, the partner accepts, the bus hears workorder.assigned. Garbage
//  and an unknown key change nothing.

#include "asp_probe.h"
#include "asp_selftest.h"

//  Sends command with body (the codec frames it) from a partner socket.
static void
s_test_send (zsock_t *partner, aspw_command_t command, asp_mpmap_t *body)
{
    char *data; size_t size;
    asp_mpmap_bytes (body, &data, &size);
    assert (aspw_send_body (partner, NULL, 0, command, data, size) == 0);
    free (data);
    asp_mpmap_destroy (&body);
}

//  Waits up to 5 s for the platform's next command other than HEARTBEAT,
//  decoded by the codec into reply; true when it is want.
static bool
s_test_expect (zsock_t *partner, aspw_command_t want, aspw_msg_t *reply)
{
    zpoller_t *poller = zpoller_new (partner, NULL);
    bool found = false;
    for (int64_t until = asp_mono_ms () + 5000; asp_mono_ms () < until;) {
        if (!zpoller_wait (poller, 200))
            continue;
        zmsg_t *msg = zmsg_recv (partner);
        char err [160];
        assert (msg && aspw_msg_decode (reply, msg, ASPW_FROM_PLATFORM, err, sizeof err) == 0);
        zmsg_destroy (&msg);
        if (reply->id == ASPW_HEARTBEAT)
            continue;
        found = reply->id == want;
        break;
    }
    zpoller_destroy (&poller);
    return found;
}

//  A partner DEALER with its own key pair, connected over CURVE.
static zsock_t *
s_test_partner (zcert_t *mine, zcert_t *server, const char *endpoint)
{
    zsock_t *sock = zsock_new (ZMQ_DEALER);
    assert (sock);
    zcert_apply (mine, sock);
    zsock_set_curve_serverkey (sock, zcert_public_txt (server));
    assert (zsock_connect (sock, "%s", endpoint) == 0);
    return sock;
}

//  Waits for the next bus event of type sent to intake; true when it came.
static bool
s_test_event (asp_probe_t *probe, const char *type)
{
    for (int64_t until = asp_mono_ms () + 5000; asp_mono_ms () < until;) {
        zframe_t *who = NULL;
        asp_envelope_t *env = asp_probe_recv (probe, ASP_SVC_INTAKE, &who, 500);
        if (!env)
            continue;
        bool match = streq (env->type, type);
        asp_probe_reply (probe, ASP_SVC_INTAKE, who, "ACK", env->id, NULL);
        zframe_destroy (&who);
        asp_envelope_destroy (&env);
        if (match)
            return true;
    }
    return false;
}

void
rt_server_test (void)
{
    asp_selftest_need_redis ("rt_server_test");
    char dir [] = "/tmp/asp-rt-test-XXXXXX";
    assert (mkdtemp (dir));
    char path [128], partners [64], endpoint [96];
    zcert_t *routing = zcert_new ();
    snprintf (path, sizeof path, "%s/routing.cert", dir);
    assert (zcert_save (routing, path) == 0);
    snprintf (partners, sizeof partners, "%s/partners", dir);
    assert (zsys_dir_create ("%s", partners) == 0);
    zcert_t *known = zcert_new ();
    zcert_set_meta (known, "partner_id", "P1");
    snprintf (path, sizeof path, "%s/P1.cert", partners);
    assert (zcert_save_public (known, path) == 0);
    zcert_t *stranger = zcert_new ();
    snprintf (path, sizeof path, "%s/routing.cert_secret", dir);
    setenv ("ASP_ROUTING_CERT", path, 1);
    setenv ("ASP_PARTNER_CERTS", partners, 1);
    snprintf (endpoint, sizeof endpoint, "ipc://%s/partners.ipc", dir);
    setenv ("ASP_PARTNER_BIND", endpoint, 1);
    setenv ("ASP_HEARTBEAT_MS", "200", 1);

    asp_probe_t *probe = asp_probe_new (ASP_SVC_ROUTING);
    asp_svc_t *svc = asp_svc_new (ASP_SVC_ROUTING);
    rt_server_t *self = rt_server_new (svc);
    asp_probe_start (probe, svc);

    //  An unknown key is refused at the handshake: no answer at all.
    zsock_t *intruder = s_test_partner (stranger, routing, endpoint);
    asp_mpmap_t *ready = asp_mpmap_new ();
    asp_mpmap_int (ready, "capacity", 1);
    s_test_send (intruder, ASPW_READY, ready);
    zpoller_t *poller = zpoller_new (intruder, NULL);
    assert (!zpoller_wait (poller, 500));
    zpoller_destroy (&poller);
    zsock_destroy (&intruder);

    //  The known partner: READY → WELCOME; garbage → ERROR bad_message.
    zsock_t *partner = s_test_partner (known, routing, endpoint);
    ready = asp_mpmap_new ();
    asp_mpmap_int (ready, "capacity", 1);
    const char *any [] = { "*" };
    asp_mpmap_strv (ready, "skills", any, 1);
    asp_mpmap_strv (ready, "regions", any, 1);
    s_test_send (partner, ASPW_READY, ready);
    aspw_msg_t *reply = aspw_msg_new (ASPW_HEARTBEAT);
    assert (s_test_expect (partner, ASPW_WELCOME, reply) && streq (reply->partner_id, "P1"));
    zstr_sendx (partner, ASPW_SIGNATURE, "FLY", "\x80", NULL);
    assert (s_test_expect (partner, ASPW_ERROR, reply) && streq (reply->code, "bad_message"));

    //  A ticket from the bus: ACK, then an OFFER to the partner.
    asp_msg_t *msg = asp_msg_new (ASP_EV_TICKET_CREATED, "TS1", NULL);
    asp_mpmap_str (msg->body, "type", "repair");
    asp_mpmap_str (msg->body, "category", "water_heater");
    asp_mpmap_str (msg->body, "region", "north");
    asp_probe_send_msg (probe, msg);
    assert (asp_probe_expect (probe, "ACK", msg->id, 5000));
    asp_msg_destroy (&msg);
    assert (s_test_expect (partner, ASPW_OFFER, reply) && streq (reply->wo_id, "WTS1"));
    assert (s_test_event (probe, ASP_EV_WO_OFFERED));

    //  ACCEPT → CONFIRM, and the bus hears workorder.assigned.
    asp_mpmap_t *accept = asp_mpmap_new ();
    asp_mpmap_str (accept, "wo_id", reply->wo_id);
    asp_mpmap_str (accept, "offer_id", reply->offer_id);
    s_test_send (partner, ASPW_ACCEPT, accept);
    assert (s_test_expect (partner, ASPW_CONFIRM, reply) && streq (reply->ref, "ACCEPT"));
    assert (s_test_event (probe, ASP_EV_WO_ASSIGNED));
    aspw_msg_destroy (&reply);

    zsock_destroy (&partner);
    asp_probe_stop (probe);
    rt_server_destroy (&self);
    asp_svc_destroy (&svc);
    asp_probe_destroy (&probe);
    zcert_destroy (&routing);
    zcert_destroy (&known);
    zcert_destroy (&stranger);
    zdir_t *tmp = zdir_new (dir, NULL);
    zdir_remove (tmp, true);
    zdir_destroy (&tmp);
}
