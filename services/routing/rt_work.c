#include "rt_work.h"
#include "asp_config.h"
#include "asp_events.h"
#include "asp_log.h"
#include "rt_store.h"
#include <assert.h>

extern const char asp_lua_wo_common [];
extern const char asp_lua_wo_progress [];
extern const char asp_lua_wo_complete [];
extern const char asp_lua_wo_unable [];
extern const char asp_lua_wo_missed [];

//  Missed appointments looked at per shard and tick.
#define S_MISSED_BATCH 64

//  Every ERROR code a partner can get, each with its counter.
static const char *s_codes [] = {
    "bad_message", "not_ready", "unknown_work_order", "not_yours", "offer_expired",
    "not_accepted", "bad_state", "bad_appointment", "rate_limited",
    "bad_certificate"           //  not an ERROR: a READY answered DISCONNECT (certificate gone)
};
#define S_CODES (sizeof s_codes / sizeof s_codes [0])

struct rt_work_t {
    asp_rds_t *rds;
    asp_script_t *progress, *complete, *unable, *missed;
    int64_t notice_ms;              //  ASP_RESCHEDULE_NOTICE_MS
    int64_t grace_ms;               //  ASP_APPOINTMENT_GRACE_MS
    int64_t rate;                   //  ASP_PARTNER_RATE, messages/s per connection
    int64_t next_tick;              //  monotonic ms
    asp_counter_t *m_refused [S_CODES];
    asp_counter_t *m_appointments, *m_late, *m_missed;
};

rt_work_t *
rt_work_new (asp_rds_t *rds, asp_metrics_t *m)
{
    rt_work_t *self = (rt_work_t *) calloc (1, sizeof *self);
    assert (self);
    self->rds = rds;
    self->progress = asp_rds_script_lib (self->rds, "wo_progress", asp_lua_wo_common, asp_lua_wo_progress);
    self->complete = asp_rds_script_lib (self->rds, "wo_complete", asp_lua_wo_common, asp_lua_wo_complete);
    self->unable = asp_rds_script_lib (self->rds, "wo_unable", asp_lua_wo_common, asp_lua_wo_unable);
    self->missed = asp_rds_script_lib (self->rds, "wo_missed", asp_lua_wo_common, asp_lua_wo_missed);
    self->notice_ms = asp_cfg_int ("ASP_RESCHEDULE_NOTICE_MS", 7200000, 0, 30 * 86400 * 1000LL);
    self->grace_ms = asp_cfg_int ("ASP_APPOINTMENT_GRACE_MS", 1800000, 0, 7 * 86400 * 1000LL);
    self->rate = asp_cfg_int ("ASP_PARTNER_RATE", 500, 1, 1000000);
    for (size_t i = 0; i < S_CODES; i++) {
        char name [64], help [128];
        snprintf (name, sizeof name, "partner_%s_total", s_codes [i]);
        snprintf (help, sizeof help, "Partner messages refused with ERROR %s (rate_limited: dropped; "
                  "bad_certificate: DISCONNECT).", s_codes [i]);
        self->m_refused [i] = asp_metrics_counter (m, name, help);
    }
    self->m_appointments = asp_metrics_counter (m, "appointments_booked_total", "Appointments booked or changed by partners.");
    self->m_late = asp_metrics_counter (m, "appointments_late_changes_total", "Appointment changes inside the notice period.");
    self->m_missed = asp_metrics_counter (m, "appointments_missed_total", "Appointments missed (no on_site or COMPLETE by the deadline).");
    return self;
}

void
rt_work_destroy (rt_work_t **self_p)
{
    //  The scripts belong to the Redis connection, the counters to svc.
    free (*self_p);
    *self_p = NULL;
}

void
rt_work_features (aspw_msg_t *welcome)
{
    static const char *features [] = {
        ASPW_FEATURE_LIST, ASPW_FEATURE_UNABLE, ASPW_FEATURE_APPOINTMENT, ASPW_FEATURE_DETAIL
    };
    aspw_strv_set (&welcome->features, &welcome->nfeatures, features, 4);
}

//  --------------------------------------------------------------------------
//  Refusals

bool
rt_work_admit (rt_work_t *self, rt_conn_t *conn, int64_t now, bool *tell)
{
    //  A token bucket: rate tokens a second, at most 2 x rate saved up.
    double cap = 2.0 * (double) self->rate;
    if (conn->tokens_at == 0)
        conn->tokens = cap;
    else
        conn->tokens += (double) (now - conn->tokens_at) * (double) self->rate / 1000.0;
    if (conn->tokens > cap)
        conn->tokens = cap;
    conn->tokens_at = now;
    *tell = false;
    if (conn->tokens >= 1.0) {
        conn->tokens -= 1.0;
        return true;
    }
    rt_work_refused (self, "rate_limited");
    if (now - conn->limited_at >= 1000) {
        conn->limited_at = now;
        *tell = true;
        asp_log_kv (ASP_LOG_WARN, "partner over its message rate: messages dropped",
                    "partner", conn->partner? conn->partner->id: "", NULL);
    }
    return false;
}

void
rt_work_refused (rt_work_t *self, const char *code)
{
    for (size_t i = 0; i < S_CODES; i++)
        if (streq (code, s_codes [i])) {
            asp_counter_inc (self->m_refused [i]);
            return;
        }
}

const char *
rt_work_check (const aspw_msg_t *cmd, int64_t now, char *why, size_t whylen)
{
    if (cmd->id != ASPW_PROGRESS)
        return NULL;
    bool booking = cmd->stage == ASP_STAGE_SCHEDULED && cmd->has_appointment;
    if (cmd->has_end && !booking)
        snprintf (why, whylen, "end_ms needs a scheduled PROGRESS with appointment_ms");
    else
    if (booking && cmd->appointment_ms < now - RT_APPT_PAST_MS)
        snprintf (why, whylen, "appointment_ms is in the past (more than 5 minutes before now)");
    else
    if (booking && cmd->appointment_ms > now + RT_APPT_AHEAD_MS)
        snprintf (why, whylen, "appointment_ms is more than 180 days ahead");
    else
    if (booking && cmd->has_end && cmd->end_ms <= cmd->appointment_ms)
        snprintf (why, whylen, "end_ms must be after appointment_ms");
    else
        return NULL;
    return why;
}

//  --------------------------------------------------------------------------
//  Commands

//  A txn on work order wo_id (K[1]) in its shard.
static const char *
s_reply_str (const redisReply *r, size_t i)
{
    return i < r->elements && r->element [i]->type == REDIS_REPLY_STRING? r->element [i]->str: NULL;
}

//  The work order's current appointment as Redis has it ("" when none),
//  its highest seq and its appointment changes; -1 when Redis failed.
static int
s_read_appointment (rt_work_t *self, const char *wo_id, char *appt, size_t len, int64_t *seq,
                    int64_t *changes)
{
    char key [ASP_KEY_MAX];
    asp_key_fmt (key, sizeof key, rt_wo_shard (wo_id), RT_KEY_WO, wo_id);
    redisReply *r = asp_rds_cmd (self->rds, "HMGET %s appt_ms seq appt_changes", key);
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 3) {
        if (r)
            freeReplyObject (r);
        return -1;
    }
    const char *s;
    snprintf (appt, len, "%s", (s = s_reply_str (r, 0))? s: "");
    *seq = (s = s_reply_str (r, 1))? strtoll (s, NULL, 10): 0;
    *changes = (s = s_reply_str (r, 2))? strtoll (s, NULL, 10): 0;
    freeReplyObject (r);
    return 0;
}

//  A booking: the details the script checks and applies, and the
//  workorder.appointment event. -1 when Redis could not be read.
static int
s_booking (rt_work_t *self, asp_txn_t *txn, asp_mpmap_t *d, const aspw_msg_t *cmd, const char *partner_id,
           const rt_order_t *order)
{
    char prev [32];
    int64_t seq, changes;
    if (s_read_appointment (self, cmd->wo_id, prev, sizeof prev, &seq, &changes))
        return -1;
    if (cmd->seq <= seq)
        return 0;               //  an older report than one recorded: a step, not a booking
    int64_t now = asp_now_ms ();
    int64_t previous = *prev? strtoll (prev, NULL, 10): 0;
    //  Late: a change made within the notice period before the slot it moves.
    bool late = previous > 0 && previous - now < self->notice_ms;
    int64_t end = cmd->has_end? cmd->end_ms: 0;
    char text [32];
    asp_mpmap_str (d, "prev", prev);
    snprintf (text, sizeof text, "%lld", (long long) cmd->appointment_ms);
    asp_mpmap_str (d, "appt", text);
    snprintf (text, sizeof text, "%lld", (long long) end);
    asp_mpmap_str (d, "end", text);
    asp_mpmap_str (d, "late", late? "1": "0");
    snprintf (text, sizeof text, "%lld", (long long) ((end? end: cmd->appointment_ms) + self->grace_ms));
    asp_mpmap_str (d, "deadline", text);
    //  Bookings after the first, as the script will store it.
    changes = previous? changes + 1: 0;
    asp_msg_t *msg = rt_store_event (ASP_EV_WO_APPOINTMENT, cmd->wo_id, order);
    asp_mpmap_str (msg->body, "partner_id", partner_id);
    asp_mpmap_int (msg->body, "appointment_ms", cmd->appointment_ms);
    asp_mpmap_int (msg->body, "end_ms", end);
    asp_mpmap_int (msg->body, "previous_ms", previous);
    asp_mpmap_bool (msg->body, "late", late);
    asp_mpmap_int (msg->body, "changes", changes);
    asp_txn_publish (txn, &msg);
    asp_counter_inc (self->m_appointments);
    if (late)
        asp_counter_inc (self->m_late);
    return 0;
}

static asp_txn_t *
s_progress (rt_work_t *self, const aspw_msg_t *cmd, const char *partner_id, const rt_order_t *order)
{
    const char *stage = asp_vocab_name (&asp_vocab_stage, cmd->stage);
    asp_txn_t *txn = rt_store_wo_txn (self->progress, cmd->wo_id);
    asp_txn_key (txn, RT_KEY_APPT);
    asp_txn_arg (txn, "%s", partner_id);
    asp_txn_arg (txn, "%lld", (long long) cmd->seq);
    asp_txn_arg (txn, "%s", stage);
    asp_txn_arg (txn, "%lld", (long long) asp_now_ms ());
    asp_mpmap_t *d = asp_mpmap_new ();
    if (cmd->has_note)
        asp_mpmap_str (d, "note", cmd->note);
    if (cmd->has_technician)
        asp_mpmap_str (d, "technician", cmd->technician);
    if (cmd->stage == ASP_STAGE_SCHEDULED && cmd->has_appointment
    &&  s_booking (self, txn, d, cmd, partner_id, order)) {
        asp_mpmap_destroy (&d);
        asp_txn_destroy (&txn);
        return NULL;
    }
    asp_txn_arg_map (txn, &d);
    asp_msg_t *msg = rt_store_event (ASP_EV_WO_PROGRESS, cmd->wo_id, order);
    asp_mpmap_str (msg->body, "partner_id", partner_id);
    asp_mpmap_int (msg->body, "seq", cmd->seq);
    asp_mpmap_str (msg->body, "stage", stage);
    if (cmd->has_note)
        asp_mpmap_str (msg->body, "note", cmd->note);
    if (cmd->has_appointment)
        asp_mpmap_int (msg->body, "appointment_ms", cmd->appointment_ms);
    if (cmd->has_part)
        asp_mpmap_str (msg->body, "part", cmd->part);
    if (cmd->has_technician)
        asp_mpmap_str (msg->body, "technician", cmd->technician);
    asp_txn_publish (txn, &msg);
    return txn;
}

//  COMPLETE's parts, as the codec decoded them, into the event.
static void
s_parts (asp_mpmap_t *body, const aspw_msg_t *cmd)
{
    aspw_msg_t *copy = aspw_msg_new (ASPW_COMPLETE);
    copy->parts = cmd->parts;       //  borrowed: the codec's encoder writes the array
    copy->nparts = cmd->nparts;
    char *data;
    size_t size;
    aspw_msg_encode (copy, &data, &size);
    copy->parts = NULL;
    copy->nparts = 0;
    aspw_msg_destroy (&copy);
    msgpack_unpacked u;
    msgpack_unpacked_init (&u);
    char err [64];
    if (asp_mp_unpack (&u, data, size, err, sizeof err) == 0) {
        const msgpack_object *parts = asp_mp_get (&u.data, "parts");
        if (parts)
            asp_mpmap_obj (body, "parts", parts);
    }
    msgpack_unpacked_destroy (&u);
    free (data);
}

static asp_txn_t *
s_complete (rt_work_t *self, const aspw_msg_t *cmd, const char *partner_id, const rt_order_t *order)
{
    const char *result = asp_vocab_name (&asp_vocab_result, cmd->result);
    asp_txn_t *txn = rt_store_wo_txn (self->complete, cmd->wo_id);
    asp_txn_key (txn, RT_KEY_OPEN);
    asp_txn_key (txn, RT_KEY_APPT);
    asp_txn_arg (txn, "%s", partner_id);
    asp_txn_arg (txn, "%s", result);
    asp_txn_arg (txn, "%lld", (long long) asp_now_ms ());
    asp_mpmap_t *d = asp_mpmap_new ();
    asp_msg_t *msg = rt_store_event (ASP_EV_WO_COMPLETED, cmd->wo_id, order);
    asp_mpmap_str (msg->body, "partner_id", partner_id);
    asp_mpmap_str (msg->body, "result", result);
    if (cmd->has_note)
        asp_mpmap_str (msg->body, "note", cmd->note);
    if (cmd->has_technician) {
        asp_mpmap_str (msg->body, "technician", cmd->technician);
        asp_mpmap_str (d, "technician", cmd->technician);
    }
    if (cmd->has_resolution) {
        asp_mpmap_str (msg->body, "resolution", cmd->resolution);
        asp_mpmap_str (d, "resolution", cmd->resolution);
    }
    if (cmd->nparts)
        s_parts (msg->body, cmd);
    if (cmd->has_fee) {
        char fee [24];
        snprintf (fee, sizeof fee, "%lld", (long long) cmd->fee);
        asp_mpmap_int (msg->body, "fee", cmd->fee);
        asp_mpmap_str (d, "fee", fee);
    }
    asp_txn_arg_map (txn, &d);
    asp_txn_publish (txn, &msg);
    return txn;
}

asp_txn_t *
rt_work_return (rt_work_t *self, const char *wo_id, const rt_order_t *order, const char *partner_id,
                const char *reason, const char *note)
{
    asp_txn_t *txn = rt_store_wo_txn (self->unable, wo_id);
    asp_txn_key (txn, RT_KEY_APPT);
    asp_txn_arg (txn, "%s", partner_id);
    asp_txn_arg (txn, "%s", reason);
    asp_txn_arg (txn, "%lld", (long long) asp_now_ms ());
    asp_msg_t *msg = rt_store_event (ASP_EV_WO_RETURNED, wo_id, order);
    asp_mpmap_str (msg->body, "partner_id", partner_id);
    asp_mpmap_str (msg->body, "reason", reason);
    asp_mpmap_str (msg->body, "note", note? note: "");
    asp_txn_publish (txn, &msg);
    return txn;
}

static asp_txn_t *
s_unable (rt_work_t *self, const aspw_msg_t *cmd, const char *partner_id, const rt_order_t *order)
{
    return rt_work_return (self, cmd->wo_id, order, partner_id, cmd->reason, cmd->has_note? cmd->note: "");
}

asp_txn_t *
rt_work_command (rt_work_t *self, const aspw_msg_t *cmd, const char *partner_id, const rt_order_t *order)
{
    switch (cmd->id) {
        case ASPW_PROGRESS: return s_progress (self, cmd, partner_id, order);
        case ASPW_COMPLETE: return s_complete (self, cmd, partner_id, order);
        case ASPW_UNABLE:   return s_unable (self, cmd, partner_id, order);
        default:            assert (false); return NULL;
    }
}

//  --------------------------------------------------------------------------
//  ASSIGNED's details

//  Appends a command of argc (at most 8) text words to rds's pipeline; 0 or -1.
static int
s_append (asp_rds_t *rds, int argc, const char **argv)
{
    size_t lens [8];
    assert (argc <= 8);
    for (int i = 0; i < argc; i++)
        lens [i] = strlen (argv [i]);
    return asp_rds_append (rds, argc, argv, lens);
}

void
rt_work_details (rt_work_t *self, aspw_msg_t **assigned, size_t n)
{
    size_t sent = 0;
    for (; sent < n; sent++) {
        char key [ASP_KEY_MAX];
        asp_key_fmt (key, sizeof key, rt_wo_shard (assigned [sent]->wo_id), RT_KEY_WO, assigned [sent]->wo_id);
        const char *argv [] = { "HMGET", key, "last_stage", "appt_ms", "end_ms", "technician", "last_note" };
        if (s_append (self->rds, 7, argv))
            break;
    }
    for (size_t i = 0; i < sent; i++) {
        redisReply *r = asp_rds_reply (self->rds);
        if (!r)
            return;
        aspw_msg_t *m = assigned [i];
        const char *s;
        int stage;
        if (r->type == REDIS_REPLY_ARRAY) {
            if ((s = s_reply_str (r, 0)) && (stage = asp_vocab_parse (&asp_vocab_stage, s)) >= 0) {
                m->stage = (asp_stage_t) stage;
                m->has_stage = true;
            }
            if ((s = s_reply_str (r, 1)) && *s) {
                m->appointment_ms = strtoll (s, NULL, 10);
                m->has_appointment = true;
            }
            if ((s = s_reply_str (r, 2)) && *s && strtoll (s, NULL, 10) > 0) {
                m->end_ms = strtoll (s, NULL, 10);
                m->has_end = true;
            }
            if ((s = s_reply_str (r, 3))) {
                aspw_text_cut (m->technician, sizeof m->technician, s);
                m->has_technician = true;
            }
            if ((s = s_reply_str (r, 4))) {
                aspw_text_cut (m->note, sizeof m->note, s);
                m->has_note = true;
            }
        }
        freeReplyObject (r);
    }
}

//  --------------------------------------------------------------------------
//  Missed appointments

//  The missed appointments of one shard whose deadline passed (due, the
//  shard's rt:appt up to now), as txns added to txns (and their work orders
//  to wo_ids).
static void
s_missed_shard (rt_work_t *self, unsigned shard, const redisReply *due, int64_t now, asp_txn_t **txns,
                char (*wo_ids) [RT_WO_ID_MAX], size_t *count)
{
    for (size_t i = 0; i < due->elements && i < S_MISSED_BATCH; i++) {
        if (due->element [i]->type != REDIS_REPLY_STRING)
            continue;
        const char *wo_id = due->element [i]->str;
        char key [ASP_KEY_MAX];
        asp_key_fmt (key, sizeof key, shard, RT_KEY_WO, wo_id);
        redisReply *r = asp_rds_cmd (self->rds, "HMGET %s partner appt_ms ticket trace", key);
        const char *partner = r && r->type == REDIS_REPLY_ARRAY? s_reply_str (r, 0): NULL;
        const char *appt = r && r->type == REDIS_REPLY_ARRAY? s_reply_str (r, 1): NULL;
        asp_txn_t *txn = asp_txn_new (self->missed, shard);
        asp_txn_key (txn, RT_KEY_WO, wo_id);
        asp_txn_key (txn, RT_KEY_APPT);
        asp_txn_arg (txn, "%s", wo_id);
        asp_txn_arg (txn, "%lld", (long long) now);
        asp_txn_arg (txn, "%s", partner? partner: "");
        asp_txn_arg (txn, "%s", appt? appt: "");
        if (partner && appt) {
            const char *ticket = s_reply_str (r, 2), *trace = s_reply_str (r, 3);
            asp_msg_t *msg = asp_msg_new (ASP_EV_WO_APPOINTMENT_MISSED, ticket? ticket: "",
                                          trace && *trace? trace: NULL);
            asp_mpmap_str (msg->body, "wo_id", wo_id);
            asp_mpmap_str (msg->body, "partner_id", partner);
            asp_mpmap_int (msg->body, "appointment_ms", strtoll (appt, NULL, 10));
            asp_txn_publish (txn, &msg);
        }
        if (r)
            freeReplyObject (r);
        snprintf (wo_ids [*count], RT_WO_ID_MAX, "%s", wo_id);
        txns [(*count)++] = txn;
    }
}

//  The due part of every shard's rt:appt, in one round trip: due [shard]
//  (NULL where Redis failed; the caller frees them).
static void
s_missed_due (rt_work_t *self, int64_t now, redisReply **due)
{
    char zkey [ASP_KEY_MAX], max [24], limit [24];
    snprintf (max, sizeof max, "%lld", (long long) now);
    snprintf (limit, sizeof limit, "%d", S_MISSED_BATCH);
    unsigned sent = 0;
    for (; sent < ASP_SHARDS; sent++) {
        asp_key_fmt (zkey, sizeof zkey, sent, RT_KEY_APPT);
        const char *argv [] = { "ZRANGEBYSCORE", zkey, "-inf", max, "LIMIT", "0", limit };
        if (s_append (self->rds, 7, argv))
            break;
    }
    for (unsigned shard = 0; shard < ASP_SHARDS; shard++) {
        due [shard] = shard < sent? asp_rds_reply (self->rds): NULL;
        if (due [shard] && due [shard]->type != REDIS_REPLY_ARRAY) {
            freeReplyObject (due [shard]);
            due [shard] = NULL;
        }
    }
}

void
rt_work_tick (rt_work_t *self, asp_svc_t *svc)
{
    int64_t mono = asp_mono_ms ();
    if (mono < self->next_tick)
        return;
    self->next_tick = mono + 1000;
    int64_t now = asp_now_ms ();
    asp_txn_t *txns [S_MISSED_BATCH];
    char wo_ids [S_MISSED_BATCH][RT_WO_ID_MAX];
    redisReply *due [ASP_SHARDS];
    s_missed_due (self, now, due);
    for (unsigned shard = 0; shard < ASP_SHARDS; shard++) {
        size_t count = 0;
        if (due [shard]) {
            s_missed_shard (self, shard, due [shard], now, txns, wo_ids, &count);
            freeReplyObject (due [shard]);
        }
        if (count == 0)
            continue;
        asp_svc_commit (svc, txns, count);
        for (size_t i = 0; i < count; i++) {
            if (asp_txn_outcome (txns [i]) == ASP_TXN_OK) {
                asp_counter_inc (self->m_missed);
                asp_log_kv (ASP_LOG_WARN, "appointment missed", "wo_id", wo_ids [i], NULL);
            }
            asp_txn_destroy (&txns [i]);
        }
    }
}

//  --------------------------------------------------------------------------
//  Self test: the clock rules of an appointment and the flood limit.

void
rt_work_test (void)
{
    aspw_msg_t *m = aspw_msg_new (ASPW_PROGRESS);
    char why [128];
    int64_t now = 1800000000000;
    m->stage = ASP_STAGE_SCHEDULED;
    assert (rt_work_check (m, now, why, sizeof why) == NULL);       //  a stage only
    m->has_appointment = true;
    m->appointment_ms = now + 3600000;
    assert (rt_work_check (m, now, why, sizeof why) == NULL);
    m->appointment_ms = now - RT_APPT_PAST_MS - 1;
    assert (rt_work_check (m, now, why, sizeof why) && strstr (why, "past"));
    m->appointment_ms = now - RT_APPT_PAST_MS;                      //  a late report of a slot just begun
    assert (rt_work_check (m, now, why, sizeof why) == NULL);
    m->appointment_ms = now + RT_APPT_AHEAD_MS + 1;
    assert (rt_work_check (m, now, why, sizeof why) && strstr (why, "180"));
    m->appointment_ms = now + 3600000;
    m->has_end = true;
    m->end_ms = m->appointment_ms;
    assert (rt_work_check (m, now, why, sizeof why) && strstr (why, "after"));
    m->end_ms = m->appointment_ms + 1;
    assert (rt_work_check (m, now, why, sizeof why) == NULL);
    m->stage = ASP_STAGE_ON_SITE;                                   //  end_ms without a booking
    assert (rt_work_check (m, now, why, sizeof why) && strstr (why, "end_ms"));
    m->has_end = false;                                             //  another stage's appointment_ms
    m->appointment_ms = 1;                                          //  is only carried (first ASPW/1)
    assert (rt_work_check (m, now, why, sizeof why) == NULL);
    aspw_msg_destroy (&m);

    //  The token bucket, without Redis: a burst of 2 x rate, then rate/s.
    rt_work_t bucket = { .rate = 10 };
    rt_conn_t conn = { .partner = NULL };
    asp_metrics_t *metrics = asp_metrics_new ("routing");
    bucket.m_refused [S_CODES - 2] = asp_metrics_counter (metrics, "partner_rate_limited_total", "test");
    bool tell;
    int admitted = 0, told = 0;
    for (int i = 0; i < 30; i++) {
        admitted += rt_work_admit (&bucket, &conn, 1000, &tell);
        told += tell;
    }
    assert (admitted == 20 && told == 1);
    assert (rt_work_admit (&bucket, &conn, 1100, &tell) && !tell);  //  0.1 s later: one more
    assert (!rt_work_admit (&bucket, &conn, 1100, &tell) && !tell); //  and not two; told once a second
    assert (rt_work_admit (&bucket, &conn, 2000, &tell) && !tell);  //  refilled
    asp_metrics_destroy (&metrics);
}
