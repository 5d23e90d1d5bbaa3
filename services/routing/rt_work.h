/*  rt_work: the work a partner holds, past ACCEPT: progress with its
    appointments, completion with its details, UNABLE, the details that
    ASSIGNED carries, and the refusals every partner message may meet
    (the per-connection flood limit and one counter per ERROR code).

    rt_server owns the partner socket and the batch of Redis steps; it
    asks this class for the txns of PROGRESS, COMPLETE and UNABLE (so their
    rules live here, next to their Lua scripts) and hands back the
    outcome through the view, like any partner command.

    Appointments. A PROGRESS `scheduled` with `appointment_ms` books the
    work order's appointment (or changes it). The work order hash keeps
    appt_ms, end_ms, appt_changes (bookings after the first), appt_late
    (changes made less than ASP_RESCHEDULE_NOTICE_MS before the previous
    slot), arrived (an on_site since the booking) and missed (the
    appointment already reported missed). Each booking puts the work order
    in its shard's sorted set rt:appt, scored by its deadline: the slot's
    end (or the appointment when there is no end) + ASP_APPOINTMENT_GRACE_MS.
    rt_work_tick looks for deadlines passed without on_site or COMPLETE and
    publishes workorder.appointment_missed once for each; it lives in Redis,
    so a restart of routing misses nothing and repeats nothing.

    The event of a booking says what it changed (previous_ms, late,
    changes), which the script cannot write into the message it commits;
    so the txn is built from the work order as Redis has it (one read per
    booking, which is rare) and the script checks that nothing moved in
    between: when something did, it answers stale and the partner, having
    no answer, sends the PROGRESS again.

    Configuration: ASP_RESCHEDULE_NOTICE_MS (7200000),
    ASP_APPOINTMENT_GRACE_MS (1800000), ASP_PARTNER_RATE (messages per
    second per connection, 500; bursts of twice that).                    */
#ifndef RT_WORK_H
#define RT_WORK_H
#include "asp_svc.h"
#include "aspw_proto.h"
#include "rt_orders.h"
#include "rt_registry.h"

//  The sorted set of booked appointments, per shard.
#define RT_KEY_APPT  "rt:appt"
//  An appointment may lie at most this far back (late reports) or ahead.
#define RT_APPT_PAST_MS   (5 * 60 * 1000LL)
#define RT_APPT_AHEAD_MS  (180 * 86400 * 1000LL)

typedef struct rt_work_t rt_work_t;

//  Reads its settings, registers its scripts on rds and its counters on
//  metrics (both borrowed).
rt_work_t *rt_work_new (asp_rds_t *rds, asp_metrics_t *metrics);
void rt_work_destroy (rt_work_t **self_p);

//  The platform's features, for WELCOME.
void rt_work_features (aspw_msg_t *welcome);

//  Flood limit: true when conn may send one more message now. When it
//  may not, *tell says whether to answer ERROR rate_limited (once a second
//  at most); the message is dropped and counted either way.
bool rt_work_admit (rt_work_t *self, rt_conn_t *conn, int64_t now_mono, bool *tell);

//  Counts one refusal of a partner message by its ERROR code (or
//  "bad_certificate": a READY whose certificate is gone, answered DISCONNECT).
void rt_work_refused (rt_work_t *self, const char *code);

//  Checks what the codec cannot (it needs the clock): the appointment of a
//  PROGRESS. NULL when fine, else the reason for ERROR bad_appointment.
const char *rt_work_check (const aspw_msg_t *cmd, int64_t now_ms, char *why, size_t whylen);

//  The txn of a PROGRESS, COMPLETE or UNABLE (cmd, checked) from
//  partner_id; order is the mirror's (NULL when not open there). NULL
//  when Redis could not be read for a booking (no answer: the partner
//  sends it again).
asp_txn_t *rt_work_command (rt_work_t *self, const aspw_msg_t *cmd, const char *partner_id,
                            const rt_order_t *order);

//  An accepted work order goes back to routing: pending, partner_id
//  excluded, its progress and appointment dropped, workorder.returned with
//  reason (an unable_reason word) and note. UNABLE's txn, and the one
//  routing runs for a partner the brand removed (partner_removed).
asp_txn_t *rt_work_return (rt_work_t *self, const char *wo_id, const rt_order_t *order,
                           const char *partner_id, const char *reason, const char *note);

//  Fills the details of n ASSIGNED messages (stage, appointment, slot end,
//  technician, note) from Redis, in one round trip; leaves them bare when
//  Redis fails (the details are optional).
void rt_work_details (rt_work_t *self, aspw_msg_t **assigned, size_t n);

//  Reports missed appointments whose deadline passed (at most once a
//  second; a bounded number per shard each time), committed through svc.
void rt_work_tick (rt_work_t *self, asp_svc_t *svc);

//  The clock rules of an appointment and the flood limit (no Redis; the
//  scripts run in rt_store_test and the end-to-end tests).
void rt_work_test (void);
#endif
