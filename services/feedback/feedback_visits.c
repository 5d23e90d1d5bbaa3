#include "feedback_visits.h"
#include "feedback_strikes.h"
#include "feedback_score.h"
#include "asp_config.h"
#include "asp_log.h"
#include "asp_vocab.h"
#include <assert.h>

extern const char asp_lua_common [];
extern const char asp_lua_completed [];
extern const char asp_lua_survey [];
extern const char asp_lua_closed [];
extern const char asp_lua_redispatched [];
extern const char asp_lua_autoclose [];
extern const char asp_lua_appointment [];
extern const char asp_lua_created [];
extern const char asp_lua_sla [];
extern const char asp_lua_recovery [];
extern const char asp_lua_remind [];
extern const char asp_lua_visit [];

//  Planned closes (and reminders) read per shard per tick.
#define S_CLOSE_BATCH 100

struct feedback_visits_t {
    asp_svc_t *svc;
    asp_script_t *completed, *survey, *closed, *redispatched, *autoclose, *appointment, *created, *sla;
    asp_script_t *recovery;
    int64_t recovery_fast_ms;       //  ASP_RECOVERY_FAST_H: a recovery resolved "quickly"
    asp_script_t *remind, *visit;
    feedback_quality_t quality;     //  windows and the facts' lifetime
    int64_t visit_ms;               //  ASP_SLA_RETURN_VISIT_S: the visit's due time
    int64_t close_ms;               //  ASP_VISIT_NO_RESPONSE_D (or ASP_SURVEY_CLOSE_S)
    int64_t remind_ms;              //  ASP_VISIT_REMIND_S
    int reminders;                  //  ASP_VISIT_REMINDERS
    int timer_id;
    asp_counter_t *m_scheduled, *m_closed, *m_autoclosed, *m_reminded;
    asp_family_t *m_surveys;        //  surveys by outcome (s_survey_t)
};

//  How a survey ended, as the metrics name it.
typedef enum { S_SURVEY_RESOLVED, S_SURVEY_UNRESOLVED, S_SURVEY_NO_RESPONSE, S_SURVEYS } s_survey_t;
static const char *s_survey_names [S_SURVEYS] = { "resolved", "unresolved", "no_response" };

static void
s_count_survey (feedback_visits_t *self, s_survey_t outcome)
{
    asp_counter_inc (asp_family_counter (self->m_surveys, s_survey_names [outcome], NULL, NULL));
}

//  A txn on the ticket's record, its shard's counts by day, planned
//  closes and partner marks, the ticket's quality facts, the shard's
//  count index and technicians, the strikes to deliver, the planned
//  reminders, the open and assigned visits, the counts by month and their
//  index (K[1..13], common.lua).
static asp_txn_t *
s_ticket_txn (asp_script_t *script, const char *ticket)
{
    asp_txn_t *txn = asp_txn_new (script, asp_shard_of (ticket));
    asp_txn_key (txn, FEEDBACK_KEY_TICKET, ticket);
    asp_txn_key (txn, FEEDBACK_KEY_DAYS);
    asp_txn_key (txn, FEEDBACK_KEY_CLOSE_DUE);
    asp_txn_key (txn, FEEDBACK_KEY_DIRTY);
    asp_txn_key (txn, FEEDBACK_KEY_FACTS, ticket);
    asp_txn_key (txn, FEEDBACK_KEY_DAY_INDEX);
    asp_txn_key (txn, FEEDBACK_KEY_TECHS);
    asp_txn_key (txn, FEEDBACK_KEY_STRIKES_DUE);
    asp_txn_key (txn, FEEDBACK_KEY_REMIND_DUE);
    asp_txn_key (txn, ASP_VISIT_KEY_OPEN);
    asp_txn_key (txn, ASP_VISIT_KEY_ASSIGNED);
    asp_txn_key (txn, FEEDBACK_KEY_MONTHS);
    asp_txn_key (txn, FEEDBACK_KEY_MONTH_INDEX);
    return txn;
}

//  The last argument of every feedback script: the quality settings
//  (common.lua parses them).
static void
s_settings (feedback_visits_t *self, asp_txn_t *txn)
{
    const int64_t day = 86400000;
    asp_txn_arg (txn, "%lld,%lld,%lld", (long long) (self->quality.keep_d * day),
                 (long long) (self->quality.repeat_d * day), (long long) (self->quality.install_d * day));
}

//  The same for a message from the bus, applied once.
static asp_txn_t *
s_txn (asp_script_t *script, const asp_envelope_t *env)
{
    asp_txn_t *txn = s_ticket_txn (script, env->ticket);
    asp_txn_inbox (txn, env->id);
    return txn;
}

static asp_txn_t *
s_on_completed (asp_svc_t *svc, const asp_envelope_t *env, char *reason, size_t len, void *arg)
{
    (void) svc;
    feedback_visits_t *self = (feedback_visits_t *) arg;
    char partner [ASP_ID_MAX] = "", wo [ASP_CHILD_ID_MAX] = "", result [32] = "", tech [ASP_ID_MAX] = "";
    char ticket [ASP_ID_MAX];
    if (!*env->ticket
    ||  asp_mp_get_str (env->body, "partner_id", partner, sizeof partner) || !*partner
    ||  strchr (partner, '|')
    ||  asp_mp_get_str (env->body, "wo_id", wo, sizeof wo) || asp_wo_ticket (wo, ticket, sizeof ticket)
    ||  !streq (ticket, env->ticket)
    ||  asp_mp_get_str (env->body, "result", result, sizeof result)
    ||  asp_vocab_parse (&asp_vocab_result, result) < 0
    ||  asp_mp_get_str (env->body, "technician", tech, sizeof tech) < 0 || strchr (tech, '|')) {
        char list [64];
        snprintf (reason, len, "workorder.completed needs a ticket id, string partner_id and the ticket's "
                  "wo_id, a result (%s) and an optional technician string without '|'",
                  asp_vocab_join (&asp_vocab_result, list, sizeof list));
        return NULL;
    }
    if (env->time_ms <= 0) {
        snprintf (reason, len, "%s needs time_ms > 0 (the day its quality facts count on)", env->type);
        return NULL;
    }
    int64_t now = asp_now_ms ();
    //  One visit per work order: V + the wo_id without its W.
    char visit [ASP_CHILD_ID_MAX];
    snprintf (visit, sizeof visit, "V%s", wo + 1);
    asp_msg_t *msg = asp_msg_reply (ASP_EV_VISIT_SCHEDULED, env);
    asp_mpmap_str (msg->body, "visit_id", visit);
    asp_mpmap_int (msg->body, "due_ms", now + self->visit_ms);
    asp_mpmap_str (msg->body, "partner_id", partner);
    asp_mpmap_str (msg->body, "wo_id", wo);
    asp_txn_t *txn = s_txn (self->completed, env);
    asp_txn_arg (txn, "%s", visit);
    asp_txn_arg (txn, "%lld", (long long) (now + self->visit_ms));
    asp_txn_arg (txn, "%s", partner);
    asp_txn_arg (txn, "%s", wo);
    asp_txn_arg (txn, "%s", result);
    asp_txn_arg (txn, "%lld", (long long) now);
    asp_txn_arg (txn, "%s", env->ticket);
    asp_txn_arg (txn, "%lld", (long long) (now + self->close_ms));
    asp_txn_arg (txn, "%s", tech);
    asp_txn_arg (txn, "%lld", (long long) env->time_ms);
    if (self->reminders > 0)
        asp_txn_arg (txn, "%lld", (long long) (now + self->remind_ms));
    else
        asp_txn_arg (txn, "%s", "");
    s_settings (self, txn);
    asp_txn_publish (txn, &msg);
    asp_txn_set_user (txn, self->m_scheduled);
    return txn;
}

//  The optional fields of a staff's visit outcome on survey.submitted
//  (intake checked them; checked again: the bus is not trusted).
typedef struct {
    char by [64], fault_cause [1024], repair_status [16], arrival [16], work_quality [4];
} s_outcome_t;

static int
s_survey_outcome (const asp_envelope_t *env, s_outcome_t *o, char *reason, size_t len)
{
    memset (o, 0, sizeof *o);
    int64_t quality = 0;
    int rc_q = asp_mp_get_int (env->body, "work_quality", &quality);
    const char *bad = asp_mp_get_str (env->body, "by", o->by, sizeof o->by) < 0? "by"
                    : asp_mp_get_str (env->body, "fault_cause", o->fault_cause, sizeof o->fault_cause) < 0
                      ? "fault_cause"
                    : asp_mp_get_str (env->body, "repair_status", o->repair_status, sizeof o->repair_status) < 0
                      || (*o->repair_status && asp_vocab_parse (&asp_vocab_repair_status, o->repair_status) < 0)
                      ? "repair_status"
                    : asp_mp_get_str (env->body, "arrival", o->arrival, sizeof o->arrival) < 0
                      || (*o->arrival && asp_vocab_parse (&asp_vocab_arrival, o->arrival) < 0)? "arrival"
                    : rc_q < 0 || (rc_q == 0 && (quality < 1 || quality > 5))? "work_quality": NULL;
    if (bad) {
        snprintf (reason, len, "survey.submitted: %s is not valid (a staff outcome's by, fault_cause, "
                  "repair_status, arrival and work_quality 1..5 are optional)", bad);
        return -1;
    }
    if (rc_q == 0)
        snprintf (o->work_quality, sizeof o->work_quality, "%d", (int) quality);
    return 0;
}

//  survey.submitted (intake): the visit's answer, the customer's own
//  survey or the staff's outcome of a call that reached them (with by
//  and the outcome's fields); either is the one answer (intake lets
//  only the first through).
static asp_txn_t *
s_on_survey (asp_svc_t *svc, const asp_envelope_t *env, char *reason, size_t len, void *arg)
{
    (void) svc;
    feedback_visits_t *self = (feedback_visits_t *) arg;
    int64_t score;
    bool resolved, on_time = false;
    char comment [2048] = "";
    int on_time_rc = asp_mp_get_bool (env->body, "on_time", &on_time);
    bool complaint = false;
    if (asp_mp_get_bool (env->body, "complaint", &complaint) < 0) {
        snprintf (reason, len, "survey.submitted: complaint must be a bool");
        return NULL;
    }
    if (!*env->ticket
    ||  asp_mp_get_int (env->body, "score", &score) || score < 1 || score > 5
    ||  asp_mp_get_bool (env->body, "resolved", &resolved)
    ||  asp_mp_get_str (env->body, "comment", comment, sizeof comment) < 0
    ||  on_time_rc < 0) {
        snprintf (reason, len, "survey.submitted needs a ticket id, score 1..5, resolved bool, "
                               "optional comment string and on_time bool");
        return NULL;
    }
    s_outcome_t o;
    if (s_survey_outcome (env, &o, reason, len))
        return NULL;
    if (env->time_ms <= 0) {
        snprintf (reason, len, "%s needs time_ms > 0 (the day its quality facts count on)", env->type);
        return NULL;
    }
    asp_msg_t *msg = asp_msg_reply (ASP_EV_TICKET_CLOSED, env);
    asp_mpmap_str (msg->body, "reason", *o.by? "visit": "survey");
    asp_mpmap_int (msg->body, "score", score);
    asp_txn_t *txn = s_txn (self->survey, env);
    asp_txn_arg (txn, "%lld", (long long) score);
    asp_txn_arg (txn, "%d", resolved? 1: 0);
    asp_txn_arg (txn, "%s", comment);
    asp_txn_arg (txn, "%s", on_time_rc == 0? (on_time? "1": "0"): "");
    asp_txn_arg (txn, "%lld", (long long) asp_now_ms ());
    asp_txn_arg (txn, "%s", env->ticket);
    asp_txn_arg (txn, "%lld", (long long) env->time_ms);
    asp_txn_arg (txn, "%s", complaint? "1": "0");
    asp_txn_arg (txn, "%s", *o.by? o.by: "customer");
    asp_txn_arg (txn, "%s", o.fault_cause);
    asp_txn_arg (txn, "%s", o.repair_status);
    asp_txn_arg (txn, "%s", o.arrival);
    asp_txn_arg (txn, "%s", o.work_quality);
    s_settings (self, txn);
    //  Not to ourselves: feedback consumes the ticket.closed of staff.
    asp_txn_publish_others (txn, ASP_SVC_FEEDBACK, &msg);
    asp_txn_set_user (txn, self->m_closed);
    return txn;
}

//  visit.claimed / visit.attempted (intake): an agent took the visit, or
//  called without reaching the customer (visit.lua).
static asp_txn_t *
s_on_visit (asp_svc_t *svc, const asp_envelope_t *env, char *reason, size_t len, void *arg)
{
    (void) svc;
    feedback_visits_t *self = (feedback_visits_t *) arg;
    char visit [ASP_CHILD_ID_MAX] = "", by [64] = "", ticket [ASP_ID_MAX];
    if (asp_mp_get_str (env->body, "visit_id", visit, sizeof visit)
    ||  asp_visit_ticket (visit, ticket, sizeof ticket) || !streq (ticket, env->ticket)
    ||  asp_mp_get_str (env->body, "by", by, sizeof by) || !*by) {
        snprintf (reason, len, "%s needs the ticket's visit_id and by, a non-empty string", env->type);
        return NULL;
    }
    asp_txn_t *txn = s_txn (self->visit, env);
    asp_txn_arg (txn, "%s", streq (env->type, ASP_EV_VISIT_CLAIMED)? "claim": "attempt");
    asp_txn_arg (txn, "%s", visit);
    asp_txn_arg (txn, "%s", by);
    asp_txn_arg (txn, "%lld", (long long) asp_now_ms ());
    asp_txn_arg (txn, "%s", env->ticket);
    s_settings (self, txn);
    return txn;
}

//  ticket.closed from intake (staff closed it without a survey).
static asp_txn_t *
s_on_closed (asp_svc_t *svc, const asp_envelope_t *env, char *reason, size_t len, void *arg)
{
    (void) svc;
    feedback_visits_t *self = (feedback_visits_t *) arg;
    char why [64] = "";
    if (!*env->ticket || asp_mp_get_str (env->body, "reason", why, sizeof why) < 0) {
        snprintf (reason, len, "ticket.closed needs a ticket id and an optional reason string");
        return NULL;
    }
    asp_txn_t *txn = s_txn (self->closed, env);
    asp_txn_arg (txn, "%s", env->ticket);
    asp_txn_arg (txn, "%s", *why? why: "staff");
    asp_txn_arg (txn, "%lld", (long long) asp_now_ms ());
    s_settings (self, txn);
    return txn;
}

//  ticket.redispatched: a new work order generation.
static asp_txn_t *
s_on_redispatched (asp_svc_t *svc, const asp_envelope_t *env, char *reason, size_t len, void *arg)
{
    (void) svc;
    feedback_visits_t *self = (feedback_visits_t *) arg;
    char wo [ASP_CHILD_ID_MAX] = "", ticket [ASP_ID_MAX];
    bool repeat = false;
    if (asp_mp_get_str (env->body, "wo_id", wo, sizeof wo) || asp_wo_ticket (wo, ticket, sizeof ticket)
    ||  !streq (ticket, env->ticket) || asp_mp_get_bool (env->body, "repeat_repair", &repeat) < 0) {
        snprintf (reason, len, "ticket.redispatched needs the ticket's new wo_id and an optional "
                               "repeat_repair bool");
        return NULL;
    }
    if (env->time_ms <= 0) {
        snprintf (reason, len, "%s needs time_ms > 0 (the day its quality facts count on)", env->type);
        return NULL;
    }
    asp_txn_t *txn = s_txn (self->redispatched, env);
    asp_txn_arg (txn, "%s", wo);
    asp_txn_arg (txn, "%s", repeat? "1": "0");
    asp_txn_arg (txn, "%s", env->ticket);
    asp_txn_arg (txn, "%lld", (long long) env->time_ms);
    s_settings (self, txn);
    return txn;
}

//  workorder.appointment and workorder.appointment_missed (routing): the
//  partner's appointment counts. A change made with notice counts nothing
//  (acknowledged without touching Redis).
static asp_txn_t *
s_on_appointment (asp_svc_t *svc, const asp_envelope_t *env, char *reason, size_t len, void *arg)
{
    (void) svc;
    feedback_visits_t *self = (feedback_visits_t *) arg;
    bool missed = streq (env->type, ASP_EV_WO_APPOINTMENT_MISSED);
    char partner [ASP_ID_MAX] = "", wo [ASP_CHILD_ID_MAX] = "", ticket [ASP_ID_MAX];
    int64_t at, previous = 0;
    bool late = false;
    if (asp_mp_get_str (env->body, "partner_id", partner, sizeof partner) || !*partner
    ||  strchr (partner, '|')
    ||  asp_mp_get_str (env->body, "wo_id", wo, sizeof wo) || asp_wo_ticket (wo, ticket, sizeof ticket)
    ||  !streq (ticket, env->ticket) || asp_mp_get_int (env->body, "appointment_ms", &at) || at < 0
    ||  asp_mp_get_int (env->body, "previous_ms", &previous) < 0 || previous < 0
    ||  asp_mp_get_bool (env->body, "late", &late) < 0) {
        snprintf (reason, len, "%s needs the ticket's wo_id, a partner_id string, appointment_ms >= 0 "
                  "and optional previous_ms >= 0 and late bool", env->type);
        return NULL;
    }
    const char *counts [2];
    size_t n = 0;
    if (missed)
        counts [n++] = "missed";
    else {
        if (previous == 0)
            counts [n++] = "booked";
        if (late)
            counts [n++] = "late";
    }
    if (n == 0)
        return NULL;
    if (env->time_ms <= 0) {
        snprintf (reason, len, "%s needs time_ms > 0 (the day its quality facts count on)", env->type);
        return NULL;
    }
    asp_txn_t *txn = s_txn (self->appointment, env);
    asp_txn_arg (txn, "%s", partner);
    asp_txn_arg (txn, "%s", wo);
    asp_txn_arg (txn, "%lld", (long long) env->time_ms);
    for (size_t i = 0; i < n; i++)
        asp_txn_arg (txn, "%s", counts [i]);
    s_settings (self, txn);
    return txn;
}

//  Reads one "who did it" group of ticket.created (prefix "install" or
//  "prev_repair": <prefix>_ms, _partner, _technician) into map as
//  <short>_ms, _p, _t. 0 (absent groups are fine), or -1 naming the
//  field in reason.
static int
s_created_group (const asp_envelope_t *env, const char *prefix, const char *brief, asp_mpmap_t *map,
                 char *reason, size_t len)
{
    char fms [32], fp [32], ft [40], key [16];
    snprintf (fms, sizeof fms, "%s_ms", prefix);
    snprintf (fp, sizeof fp, "%s_partner", prefix);
    snprintf (ft, sizeof ft, "%s_technician", prefix);
    int64_t ms = 0;
    char partner [ASP_ID_MAX] = "", tech [ASP_ID_MAX] = "";
    int rc_ms = asp_mp_get_int (env->body, fms, &ms);
    int rc_p = asp_mp_get_str (env->body, fp, partner, sizeof partner);
    const char *bad = rc_ms < 0 || ms < 0? fms
                    : rc_p < 0 || strchr (partner, '|') || (rc_ms == 0 && (rc_p || !*partner))? fp
                    : asp_mp_get_str (env->body, ft, tech, sizeof tech) < 0 || strchr (tech, '|')? ft: NULL;
    if (bad) {
        snprintf (reason, len, "ticket.created: %s must be %s", bad,
                  bad == fms? "an integer >= 0 (ms)": "a string without '|' (with its _ms)");
        return -1;
    }
    if (rc_ms == 0) {
        snprintf (key, sizeof key, "%s_ms", brief);
        asp_mpmap_int (map, key, ms);
        snprintf (key, sizeof key, "%s_p", brief);
        asp_mpmap_str (map, key, partner);
        snprintf (key, sizeof key, "%s_t", brief);
        asp_mpmap_str (map, key, tech);
    }
    return 0;
}

//  ticket.created: every ticket's creation is a quality fact (created.lua):
//  its region and type group its counts in the reports and early warning,
//  and for a repair of a unit with a history (its installation, its
//  previous repair done) that history judges the earlier work.
static asp_txn_t *
s_on_created (asp_svc_t *svc, const asp_envelope_t *env, char *reason, size_t len, void *arg)
{
    (void) svc;
    feedback_visits_t *self = (feedback_visits_t *) arg;
    char type [32] = "";
    if (!*env->ticket || asp_mp_get_str (env->body, "type", type, sizeof type)
    ||  asp_vocab_parse (&asp_vocab_kind, type) < 0) {
        snprintf (reason, len, "ticket.created needs a ticket id and a type string");
        return NULL;
    }
    if (env->time_ms <= 0) {
        snprintf (reason, len, "%s needs time_ms > 0 (the day its quality facts count on)", env->type);
        return NULL;
    }
    asp_mpmap_t *map = asp_mpmap_new ();
    asp_mpmap_int (map, "ms", env->time_ms);
    asp_mpmap_str (map, "type", type);
    //  The region as the ticket has it ('' when it has none: a group of
    //  its own); '|' would split the count's field name.
    char region [ASP_REPORT_GROUP_MAX] = "";
    if (asp_mp_get_str (env->body, "region", region, sizeof region) < 0 || strchr (region, '|')) {
        snprintf (reason, len, "ticket.created: region must be a string without '|' (< %d bytes)",
                  ASP_REPORT_GROUP_MAX);
        asp_mpmap_destroy (&map);
        return NULL;
    }
    asp_mpmap_str (map, "region", region);
    if (s_created_group (env, "install", "inst", map, reason, len)
    ||  s_created_group (env, "prev_repair", "prev", map, reason, len)) {
        asp_mpmap_destroy (&map);
        return NULL;
    }
    asp_txn_t *txn = s_txn (self->created, env);
    asp_txn_arg_map (txn, &map);
    s_settings (self, txn);
    return txn;
}

//  sla.warning / sla.breached / sla.compensation (sla-timer): a warning
//  and a breach of a partner's clock, and what a partner's late clock
//  owed the customer, count against the partner (sla.lua; the warnings
//  feed the early warning, which flags a rising rate before the breaches). The clocks of the partner's promises: accepting
//  the work order, booking, arriving, keeping the appointment, resolving.
//  Any other clock (first response, call-backs, complaints, the return
//  visit: the brand's own staff) is acknowledged without touching Redis.
static asp_txn_t *
s_on_sla (asp_svc_t *svc, const asp_envelope_t *env, char *reason, size_t len, void *arg)
{
    (void) svc;
    feedback_visits_t *self = (feedback_visits_t *) arg;
    bool breach = streq (env->type, ASP_EV_SLA_BREACHED);
    bool warning = streq (env->type, ASP_EV_SLA_WARNING);
    char clock [40] = "";
    int64_t amount = 0;
    int c = -1;
    if (!*env->ticket || asp_mp_get_str (env->body, "clock", clock, sizeof clock)
    ||  (c = asp_vocab_parse (&asp_vocab_clock, clock)) < 0) {
        snprintf (reason, len, "%s needs a ticket id and a clock string naming a clock", env->type);
        return NULL;
    }
    if (!breach && !warning && (asp_mp_get_int (env->body, "amount", &amount) || amount < 0)) {
        snprintf (reason, len, "%s needs amount, an integer >= 0", env->type);
        return NULL;
    }
    if (env->time_ms <= 0) {
        snprintf (reason, len, "%s needs time_ms > 0 (the day its quality facts count on)", env->type);
        return NULL;
    }
    bool partners = c == ASP_CLOCK_PARTNER_ACCEPTANCE || c == ASP_CLOCK_APPOINTMENT_MADE
                 || c == ASP_CLOCK_ONSITE_ARRIVAL || c == ASP_CLOCK_APPOINTMENT_KEPT
                 || c == ASP_CLOCK_RESOLUTION;
    if (!partners || (!breach && !warning && amount == 0))
        return NULL;
    asp_txn_t *txn = s_txn (self->sla, env);
    asp_txn_arg (txn, "%s", breach? "b": warning? "w": "m");
    asp_txn_arg (txn, "%lld", (long long) env->time_ms);
    asp_txn_arg (txn, "%s", clock);
    asp_txn_arg (txn, "%lld", (long long) amount);
    s_settings (self, txn);
    return txn;
}

//  recovery.recorded (intake): a service-recovery record closed or its
//  compensation set, a quality fact of the ticket (recovery.lua); resolved
//  within ASP_RECOVERY_FAST_H of its opening, it was recovered fast.
static asp_txn_t *
s_on_recovery (asp_svc_t *svc, const asp_envelope_t *env, char *reason, size_t len, void *arg)
{
    (void) svc;
    feedback_visits_t *self = (feedback_visits_t *) arg;
    char rid [ASP_ID_MAX] = "", outcome [16] = "";
    int64_t rev = 0, amount = -1, opened = 0, resolved = -1;
    int out = -1;
    if (!*env->ticket || asp_mp_get_str (env->body, "recovery_id", rid, sizeof rid) || !asp_id_valid (rid, strlen (rid))
    ||  asp_mp_get_str (env->body, "outcome", outcome, sizeof outcome)
    ||  (out = asp_vocab_parse (&asp_vocab_recovery_outcome, outcome)) < 0
    ||  asp_mp_get_int (env->body, "rev", &rev) || rev < 1
    ||  asp_mp_get_int (env->body, "compensation", &amount) || amount < 0
    ||  asp_mp_get_int (env->body, "opened_ms", &opened) || opened <= 0
    ||  asp_mp_get_int (env->body, "resolved_ms", &resolved) || resolved < 0
    ||  (out != ASP_RECOVERY_OPEN && resolved < opened) || env->time_ms <= 0) {
        snprintf (reason, len, "%s needs a ticket id, recovery_id, outcome (open, resolved, unresolved), "
                  "rev >= 1, compensation >= 0, opened_ms > 0, resolved_ms (>= opened_ms once closed, "
                  "else 0) and time_ms > 0", env->type);
        return NULL;
    }
    bool closed = out != ASP_RECOVERY_OPEN;
    bool fast = out == ASP_RECOVERY_RESOLVED && resolved - opened <= self->recovery_fast_ms;
    asp_txn_t *txn = s_txn (self->recovery, env);
    asp_txn_arg (txn, "%s", rid);
    asp_txn_arg (txn, "%lld", (long long) rev);
    asp_txn_arg (txn, "%s", outcome);
    asp_txn_arg (txn, "%lld", (long long) amount);
    asp_txn_arg (txn, "%lld", (long long) opened);
    asp_txn_arg (txn, "%lld", (long long) (closed? resolved: env->time_ms));
    asp_txn_arg (txn, "%s", fast? "1": "0");
    s_settings (self, txn);
    return txn;
}

//  --------------------------------------------------------------------------
//  The visit's timers: survey reminders every ASP_VISIT_REMIND_S (at most
//  ASP_VISIT_REMINDERS) and the no-response close ASP_VISIT_NO_RESPONSE_D
//  after the visit was scheduled. One zloop timer reads the due ones of
//  every shard in one pipeline per set; each is a guarded step
//  (remind.lua, autoclose.lua) that publishes its event once
//  (visit.reminder; ticket.closed, reason no_response), whatever restarts
//  or ticks race for it.

typedef enum { S_TIMER_CLOSE = 0, S_TIMER_REMIND } s_timer_t;

static asp_txn_t *
s_timer_txn (feedback_visits_t *self, s_timer_t timer, unsigned shard, const char *member, int64_t now)
{
    char ticket [ASP_ID_MAX], visit [ASP_CHILD_ID_MAX];
    const char *bar = strchr (member, '|');
    size_t n = bar? (size_t) (bar - member): 0;
    if (!bar || n == 0 || n >= sizeof ticket || bar [1] != 'W')
        return NULL;
    memcpy (ticket, member, n);
    ticket [n] = 0;
    if (asp_shard_of (ticket) != shard)
        return NULL;
    snprintf (visit, sizeof visit, "V%s", bar + 2);
    asp_txn_t *txn = s_ticket_txn (timer == S_TIMER_CLOSE? self->autoclose: self->remind, ticket);
    asp_txn_arg (txn, "%s", member);
    asp_txn_arg (txn, "%lld", (long long) now);
    asp_msg_t *msg;
    if (timer == S_TIMER_CLOSE) {
        asp_txn_arg (txn, "%s", ticket);
        msg = asp_msg_new (ASP_EV_TICKET_CLOSED, ticket, NULL);
        asp_mpmap_str (msg->body, "reason", "no_response");
        asp_mpmap_str (msg->body, "wo_id", bar + 1);
    }
    else {
        asp_txn_arg (txn, "%d", self->reminders);
        asp_txn_arg (txn, "%lld", (long long) self->remind_ms);
        msg = asp_msg_new (ASP_EV_VISIT_REMINDER, ticket, NULL);
        asp_mpmap_str (msg->body, "visit_id", visit);
    }
    s_settings (self, txn);
    asp_txn_publish_others (txn, ASP_SVC_FEEDBACK, &msg);
    return txn;
}

//  Runs the due timers of one set (key) in every shard.
static void
s_fire (feedback_visits_t *self, s_timer_t timer, int64_t now)
{
    asp_rds_t *rds = asp_svc_rds (self->svc);
    char until [24], limit [8];
    snprintf (until, sizeof until, "%lld", (long long) now);
    snprintf (limit, sizeof limit, "%d", S_CLOSE_BATCH);
    const char *argv [] = { "ZRANGEBYSCORE", timer == S_TIMER_CLOSE? FEEDBACK_KEY_CLOSE_DUE: FEEDBACK_KEY_REMIND_DUE,
                            "-inf", until, "LIMIT", "0", limit };
    redisReply *replies [ASP_SHARDS];
    asp_rds_each_shard (rds, 7, argv, replies);
    asp_txn_t *txns [ASP_SHARDS * S_CLOSE_BATCH];
    size_t count = 0;
    for (unsigned s = 0; s < ASP_SHARDS; s++) {
        redisReply *r = replies [s];
        for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
            asp_txn_t *txn = s_timer_txn (self, timer, s, r->element [i]->str, now);
            if (txn)
                txns [count++] = txn;
            else
                asp_log_error ("feedback: malformed visit timer '%.80s' left alone", r->element [i]->str);
        }
        if (r)
            freeReplyObject (r);
    }
    if (count)
        asp_svc_commit (self->svc, txns, count);
    for (size_t i = 0; i < count; i++) {
        if (asp_txn_outcome (txns [i]) == ASP_TXN_OK) {
            asp_counter_inc (timer == S_TIMER_CLOSE? self->m_autoclosed: self->m_reminded);
            if (timer == S_TIMER_CLOSE)
                s_count_survey (self, S_SURVEY_NO_RESPONSE);
        }
        asp_txn_destroy (&txns [i]);
    }
}

static int
s_on_tick (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop; (void) timer_id;
    feedback_visits_t *self = (feedback_visits_t *) arg;
    if (!asp_rds_ready (asp_svc_rds (self->svc)))
        return 0;
    int64_t now = asp_now_ms ();
    s_fire (self, S_TIMER_CLOSE, now);
    s_fire (self, S_TIMER_REMIND, now);
    return 0;
}

static void
s_count (asp_svc_t *svc, const asp_envelope_t *env, asp_txn_t *txn, void *arg)
{
    (void) svc;
    //  Only what published its event: a not_fixed completion schedules no visit.
    if (asp_txn_outcome (txn) == ASP_TXN_OK && asp_txn_emitted (txn)) {
        asp_counter_inc ((asp_counter_t *) asp_txn_user (txn));
        bool resolved = false;
        if (strcmp (env->type, ASP_EV_SURVEY_SUBMITTED) == 0 && asp_mp_get_bool (env->body, "resolved", &resolved) == 0)
            s_count_survey ((feedback_visits_t *) arg, resolved? S_SURVEY_RESOLVED: S_SURVEY_UNRESOLVED);
    }
}

feedback_visits_t *
feedback_visits_new (asp_svc_t *svc)
{
    feedback_visits_t *self = (feedback_visits_t *) calloc (1, sizeof *self);
    assert (self);
    self->svc = svc;
    self->completed = asp_svc_script_lib (svc, "feedback_completed", asp_lua_common, asp_lua_completed);
    self->survey = asp_svc_script_lib (svc, "feedback_survey", asp_lua_common, asp_lua_survey);
    self->closed = asp_svc_script_lib (svc, "feedback_closed", asp_lua_common, asp_lua_closed);
    self->redispatched = asp_svc_script_lib (svc, "feedback_redispatched", asp_lua_common, asp_lua_redispatched);
    self->autoclose = asp_svc_script_lib (svc, "feedback_autoclose", asp_lua_common, asp_lua_autoclose);
    self->appointment = asp_svc_script_lib (svc, "feedback_appointment", asp_lua_common, asp_lua_appointment);
    self->created = asp_svc_script_lib (svc, "feedback_created", asp_lua_common, asp_lua_created);
    self->sla = asp_svc_script_lib (svc, "feedback_sla", asp_lua_common, asp_lua_sla);
    self->recovery = asp_svc_script_lib (svc, "feedback_recovery", asp_lua_common, asp_lua_recovery);
    self->recovery_fast_ms = 3600000LL * asp_cfg_int ("ASP_RECOVERY_FAST_H", 24, 1, 24 * 365);
    self->remind = asp_svc_script_lib (svc, "feedback_remind", asp_lua_common, asp_lua_remind);
    self->visit = asp_svc_script_lib (svc, "feedback_visit", asp_lua_common, asp_lua_visit);
    feedback_quality_config (&self->quality);
    self->visit_ms = 1000 * asp_cfg_int ("ASP_SLA_RETURN_VISIT_S", 86400, 1, 365 * 86400);
    //  ASP_SURVEY_CLOSE_S, the older name in seconds, wins when set (the
    //  tests close in seconds).
    const char *old = getenv ("ASP_SURVEY_CLOSE_S");
    self->close_ms = old && *old? 1000 * asp_cfg_int ("ASP_SURVEY_CLOSE_S", 7 * 86400, 1, 365 * 86400)
                   : 86400000LL * asp_cfg_int ("ASP_VISIT_NO_RESPONSE_D", 7, 1, 365);
    self->remind_ms = 1000 * asp_cfg_int ("ASP_VISIT_REMIND_S", 86400, 1, 365 * 86400);
    self->reminders = (int) asp_cfg_int ("ASP_VISIT_REMINDERS", 2, 0, 10);
    asp_metrics_t *m = asp_svc_metrics (svc);
    self->m_scheduled = asp_metrics_counter (m, "visits_scheduled_total", "Return visits scheduled.");
    self->m_closed = asp_metrics_counter (m, "tickets_closed_total", "Tickets closed after a survey.");
    self->m_autoclosed = asp_metrics_counter (m, "tickets_autoclosed_total",
                                              "Tickets closed because their visit was not answered in time.");
    self->m_reminded = asp_metrics_counter (m, "visit_reminders_total", "Survey reminders sent to customers.");
    self->m_surveys = asp_metrics_counter_family (m, "surveys_total",
        "Surveys that closed their ticket, by outcome (resolved, unresolved, no_response).", "outcome", 16);
    asp_svc_on (svc, ASP_EV_WO_COMPLETED, s_on_completed, s_count, self);
    asp_svc_on (svc, ASP_EV_SURVEY_SUBMITTED, s_on_survey, s_count, self);
    asp_svc_on (svc, ASP_EV_VISIT_CLAIMED, s_on_visit, NULL, self);
    asp_svc_on (svc, ASP_EV_VISIT_ATTEMPTED, s_on_visit, NULL, self);
    asp_svc_on (svc, ASP_EV_TICKET_CLOSED, s_on_closed, NULL, self);
    asp_svc_on (svc, ASP_EV_TICKET_REDISPATCHED, s_on_redispatched, NULL, self);
    asp_svc_on (svc, ASP_EV_WO_APPOINTMENT, s_on_appointment, NULL, self);
    asp_svc_on (svc, ASP_EV_WO_APPOINTMENT_MISSED, s_on_appointment, NULL, self);
    asp_svc_on (svc, ASP_EV_TICKET_CREATED, s_on_created, NULL, self);
    asp_svc_on (svc, ASP_EV_SLA_WARNING, s_on_sla, NULL, self);
    asp_svc_on (svc, ASP_EV_SLA_BREACHED, s_on_sla, NULL, self);
    asp_svc_on (svc, ASP_EV_SLA_COMPENSATION, s_on_sla, NULL, self);
    asp_svc_on (svc, ASP_EV_RECOVERY_RECORDED, s_on_recovery, NULL, self);
    self->timer_id = zloop_timer (asp_svc_loop (svc), (size_t) asp_cfg_int ("ASP_FEEDBACK_TICK_MS", 1000, 10, 60000),
                                  0, s_on_tick, self);
    return self;
}

void
feedback_visits_destroy (feedback_visits_t **self_p)
{
    if (*self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}

//  --------------------------------------------------------------------------
//  Self-test: the real service loop (asp_probe), a real Redis. Both arrival
//  orders of workorder.completed and survey.submitted must leave the same
//  ticket and partner records (the header's promise).

#include "asp_probe.h"
#include "asp_selftest.h"

//  A field of the ticket's feedback record ("-" when absent); caller frees.
static char *
s_test_field (asp_probe_t *probe, const char *ticket, const char *field)
{
    char key [ASP_KEY_MAX];
    asp_key_fmt (key, sizeof key, asp_shard_of (ticket), FEEDBACK_KEY_TICKET, ticket);
    redisReply *r = asp_rds_cmd (asp_probe_rds (probe), "HGET %s %s", key, field);
    assert (r);
    char *value = strdup (r->type == REDIS_REPLY_STRING? r->str: "-");
    freeReplyObject (r);
    return value;
}

static void
s_test_deliver (asp_probe_t *probe, const char *type, const char *ticket, const char *partner,
                asp_msg_t **resend)
{
    asp_msg_t *msg = asp_msg_new (type, ticket, NULL);
    if (streq (type, ASP_EV_WO_COMPLETED)) {
        asp_mpmap_str (msg->body, "partner_id", partner);
        char wo [ASP_CHILD_ID_MAX];
        snprintf (wo, sizeof wo, "W%s", ticket);
        asp_mpmap_str (msg->body, "wo_id", wo);
        asp_mpmap_str (msg->body, "result", "fixed");
    }
    else {
        asp_mpmap_int (msg->body, "score", 4);
        asp_mpmap_bool (msg->body, "resolved", true);
        asp_mpmap_str (msg->body, "comment", "ok");
    }
    asp_probe_send_msg (probe, msg);
    assert (asp_probe_expect (probe, "ACK", msg->id, 5000));
    if (resend)
        *resend = msg;
    else
        asp_msg_destroy (&msg);
}

void
feedback_test_completed (asp_probe_t *probe, const char *ticket, const char *wo, const char *partner,
                         const char *result)
{
    asp_msg_t *msg = asp_msg_new (ASP_EV_WO_COMPLETED, ticket, NULL);
    asp_mpmap_str (msg->body, "partner_id", partner);
    asp_mpmap_str (msg->body, "wo_id", wo);
    asp_mpmap_str (msg->body, "result", result);
    asp_probe_send_msg (probe, msg);
    assert (asp_probe_expect (probe, "ACK", msg->id, 5000));
    asp_msg_destroy (&msg);
}

//  Sends msg times times, each answered verdict; destroys it.
static void
s_test_send (asp_probe_t *probe, asp_msg_t *msg, const char *verdict, int times)
{
    for (int i = 0; i < times; i++) {
        asp_probe_send_msg (probe, msg);
        assert (asp_probe_expect (probe, verdict, msg->id, 5000));
    }
    asp_msg_destroy (&msg);
}

//  An appointment event about wo of ticket by partner (NULL: none);
//  previous < 0 leaves previous_ms and late out.
static asp_msg_t *
s_test_appointment (const char *type, const char *ticket, const char *wo, const char *partner,
                    int64_t previous, bool late)
{
    asp_msg_t *msg = asp_msg_new (type, ticket, NULL);
    asp_mpmap_str (msg->body, "wo_id", wo);
    if (partner)
        asp_mpmap_str (msg->body, "partner_id", partner);
    asp_mpmap_int (msg->body, "appointment_ms", 1700000000000LL);
    if (previous >= 0) {
        asp_mpmap_int (msg->body, "previous_ms", previous);
        asp_mpmap_bool (msg->body, "late", late);
    }
    return msg;
}

static bool
s_test_is (asp_probe_t *probe, const char *ticket, const char *field, const char *want)
{
    char *value = s_test_field (probe, ticket, field);
    bool same = streq (value, want);
    if (!same)
        fprintf (stderr, "feedback_visits_test: %s %s is %s, not %s\n", ticket, field, value, want);
    free (value);
    return same;
}

//  Whether ticket is in its shard's list (a sorted set) key.
static bool
s_test_listed (asp_probe_t *probe, const char *ticket, const char *list)
{
    char key [ASP_KEY_MAX];
    asp_key_fmt (key, sizeof key, asp_shard_of (ticket), list);
    redisReply *r = asp_rds_cmd (asp_probe_rds (probe), "ZSCORE %s %s", key, ticket);
    assert (r);
    bool in = r->type == REDIS_REPLY_STRING;
    freeReplyObject (r);
    return in;
}

void
feedback_visits_test (void)
{
    asp_selftest_need_redis ("feedback_visits_test");
    asp_probe_t *probe = asp_probe_new (ASP_SVC_FEEDBACK);
    asp_svc_t *svc = asp_svc_new (ASP_SVC_FEEDBACK);
    feedback_visits_t *self = feedback_visits_new (svc);
    asp_probe_start (probe, svc);

    //  Ticket TA: completed, then the survey (the usual order). Ticket TB:
    //  the survey first (a redelivery after a restart), then completed;
    //  each message twice (at-least-once delivery).
    asp_msg_t *again;
    s_test_deliver (probe, ASP_EV_WO_COMPLETED, "TA", "PA", &again);
    s_test_deliver (probe, ASP_EV_SURVEY_SUBMITTED, "TA", NULL, NULL);
    asp_probe_send_msg (probe, again);
    assert (asp_probe_expect (probe, "ACK", again->id, 5000));
    asp_msg_destroy (&again);
    s_test_deliver (probe, ASP_EV_SURVEY_SUBMITTED, "TB", NULL, NULL);
    s_test_deliver (probe, ASP_EV_WO_COMPLETED, "TB", "PB", &again);
    asp_probe_send_msg (probe, again);
    assert (asp_probe_expect (probe, "ACK", again->id, 5000));
    asp_msg_destroy (&again);

    const char *both [] = { "PA", "PB" };
    feedback_counts_t counts [2];
    assert (feedback_test_counts (asp_probe_rds (probe), both, 2, counts) == 0);
    feedback_counts_t pa = counts [0], pb = counts [1];
    if (memcmp (&pa, &pb, sizeof pa))
        fprintf (stderr, "feedback_visits_test: partner counts differ by arrival order: "
                 "completed %lld/%lld, surveys %lld/%lld, score_sum %lld/%lld, resolved %lld/%lld\n",
                 (long long) pa.completed, (long long) pb.completed, (long long) pa.surveys,
                 (long long) pb.surveys, (long long) pa.score_sum, (long long) pb.score_sum,
                 (long long) pa.resolved, (long long) pb.resolved);
    assert (pa.completed == 1 && pa.fixed == 1 && pa.surveys == 1 && pa.score_sum == 4 && pa.resolved == 1);
    assert (memcmp (&pa, &pb, sizeof pa) == 0);
    const char *ticket_fields [] = { "state", "result", "score", "resolved" };
    for (size_t i = 0; i < sizeof ticket_fields / sizeof ticket_fields [0]; i++) {
        char *a = s_test_field (probe, "TA", ticket_fields [i]);
        char *b = s_test_field (probe, "TB", ticket_fields [i]);
        if (strcmp (a, b))
            fprintf (stderr, "feedback_visits_test: ticket %s: %s vs %s\n", ticket_fields [i], a, b);
        assert (streq (a, b) && !streq (a, "-"));
        free (a);
        free (b);
    }
    char *partner = s_test_field (probe, "TB", "partner_id");
    assert (streq (partner, "PB"));
    free (partner);
    //  Refused with a reason, nothing written.
    asp_msg_t *bad = asp_msg_new (ASP_EV_SURVEY_SUBMITTED, "TC", NULL);
    asp_mpmap_int (bad->body, "score", 9);
    asp_mpmap_bool (bad->body, "resolved", true);
    asp_probe_send_msg (probe, bad);
    assert (asp_probe_expect (probe, "NAK", bad->id, 5000));
    asp_msg_destroy (&bad);
    char *state = s_test_field (probe, "TC", "state");
    assert (streq (state, "-"));
    free (state);

    //  The visit as staff's task: listed open, claimed (twice: once),
    //  an attempt, then staff's answer ends it done and unlisted; garbage
    //  in the staff's fields NAKed naming the field.
    feedback_test_completed (probe, "TV", "WTV", "PV", "fixed");
    assert (s_test_is (probe, "TV", "vstate", "open") && s_test_listed (probe, "TV", ASP_VISIT_KEY_OPEN));
    for (int i = 0; i < 2; i++) {
        asp_msg_t *claim = asp_msg_new (ASP_EV_VISIT_CLAIMED, "TV", NULL);
        asp_mpmap_str (claim->body, "visit_id", "VTV");
        asp_mpmap_str (claim->body, "by", "alice");
        s_test_send (probe, claim, "ACK", 2);
    }
    assert (s_test_is (probe, "TV", "vstate", "assigned") && s_test_is (probe, "TV", "agent", "alice"));
    assert (s_test_listed (probe, "TV", ASP_VISIT_KEY_ASSIGNED) && !s_test_listed (probe, "TV", ASP_VISIT_KEY_OPEN));
    asp_msg_t *msg = asp_msg_new (ASP_EV_VISIT_ATTEMPTED, "TV", NULL);
    asp_mpmap_str (msg->body, "visit_id", "VTV");
    asp_mpmap_str (msg->body, "by", "alice");
    s_test_send (probe, msg, "ACK", 2);
    assert (s_test_is (probe, "TV", "attempts", "1"));
    msg = asp_msg_new (ASP_EV_VISIT_CLAIMED, "TV", NULL);
    asp_mpmap_str (msg->body, "visit_id", "VTX");
    asp_mpmap_str (msg->body, "by", "bob");
    s_test_send (probe, msg, "NAK", 1);
    const char *fields [] = { "work_quality", "repair_status", "arrival" };
    for (size_t i = 0; i < 3; i++) {
        msg = asp_msg_new (ASP_EV_SURVEY_SUBMITTED, "TV", NULL);
        asp_mpmap_str (msg->body, fields [i], "9");
        asp_mpmap_int (msg->body, "score", 4);
        asp_mpmap_bool (msg->body, "resolved", true);
        asp_mpmap_str (msg->body, "by", "alice");
        asp_probe_send_msg (probe, msg);
        zmsg_t *answer = asp_probe_answer (probe, 5000);
        assert (answer && zmsg_size (answer) == 3);
        char *verdict = zmsg_popstr (answer), *id = zmsg_popstr (answer), *why = zmsg_popstr (answer);
        assert (streq (verdict, "NAK") && strstr (why, fields [i]));
        zstr_free (&verdict);
        zstr_free (&id);
        zstr_free (&why);
        zmsg_destroy (&answer);
        asp_msg_destroy (&msg);
    }
    msg = asp_msg_new (ASP_EV_SURVEY_SUBMITTED, "TV", NULL);
    asp_mpmap_int (msg->body, "score", 3);
    asp_mpmap_bool (msg->body, "resolved", false);
    asp_mpmap_str (msg->body, "by", "alice");
    asp_mpmap_str (msg->body, "repair_status", "partly");
    asp_mpmap_str (msg->body, "arrival", "no_show");
    asp_mpmap_int (msg->body, "work_quality", 2);
    s_test_send (probe, msg, "ACK", 2);
    assert (s_test_is (probe, "TV", "vstate", "done") && s_test_is (probe, "TV", "answered_by", "alice"));
    assert (s_test_is (probe, "TV", "work_quality", "2") && s_test_is (probe, "TV", "repair_status", "partly"));
    assert (!s_test_listed (probe, "TV", ASP_VISIT_KEY_ASSIGNED) && !s_test_listed (probe, "TV", ASP_VISIT_KEY_OPEN));

    //  Generations: a not_fixed completion schedules no visit; the
    //  re-dispatch starts the record over (a reopen would count a repeat
    //  repair); a late completion of the old work order changes nothing;
    //  the new one's schedules the visit and plans the automatic close.
    feedback_test_completed (probe, "TD", "WTD", "PD", "not_fixed");
    assert (s_test_is (probe, "TD", "state", "not_fixed") && s_test_is (probe, "TD", "visit_id", "VTD"));
    asp_msg_t *again_rd = asp_msg_new (ASP_EV_TICKET_REDISPATCHED, "TD", NULL);
    asp_mpmap_str (again_rd->body, "wo_id", "WTD.2");
    asp_mpmap_bool (again_rd->body, "repeat_repair", true);
    asp_probe_send_msg (probe, again_rd);
    assert (asp_probe_expect (probe, "ACK", again_rd->id, 5000));
    asp_msg_destroy (&again_rd);
    assert (s_test_is (probe, "TD", "state", "-") && s_test_is (probe, "TD", "wo_id", "WTD.2"));
    feedback_test_completed (probe, "TD", "WTD", "PD", "fixed");
    assert (s_test_is (probe, "TD", "state", "-") && s_test_is (probe, "TD", "partner_id", "-"));
    feedback_test_completed (probe, "TD", "WTD.2", "PE", "fixed");
    assert (s_test_is (probe, "TD", "state", "visit_scheduled") && s_test_is (probe, "TD", "visit_id", "VTD.2"));
    char key [ASP_KEY_MAX];
    asp_key_fmt (key, sizeof key, asp_shard_of ("TD"), FEEDBACK_KEY_DAYS);
    redisReply *r = asp_rds_cmd (asp_probe_rds (probe), "HGET %s %lld|repeats|p|PD", key,
                                 (long long) (asp_now_ms () / FEEDBACK_DAY_MS));
    assert (r && r->type == REDIS_REPLY_STRING && streq (r->str, "1"));
    freeReplyObject (r);
    asp_key_fmt (key, sizeof key, asp_shard_of ("TD"), FEEDBACK_KEY_CLOSE_DUE);
    r = asp_rds_cmd (asp_probe_rds (probe), "ZSCORE %s TD|WTD.2", key);
    assert (r && r->type == REDIS_REPLY_STRING);
    freeReplyObject (r);
    const char *pd [] = { "PD" };
    assert (feedback_test_counts (asp_probe_rds (probe), pd, 1, counts) == 0);
    assert (counts [0].completed == 1 && counts [0].fixed == 0 && counts [0].redone == 0
         && counts [0].repeats == 1);

    //  The score's counts: a work order done, answered "late" and badly,
    //  then reopened (redone and a repeat repair); the new one's
    //  appointments: booked, changed late, changed with notice (nothing to
    //  count), missed. Every message twice, counted once; refusals count
    //  nothing. The partner is marked in the ticket's shard.
    feedback_test_completed (probe, "TE", "WTE", "PF", "fixed");
    msg = asp_msg_new (ASP_EV_SURVEY_SUBMITTED, "TE", NULL);
    asp_mpmap_int (msg->body, "score", 2);
    asp_mpmap_bool (msg->body, "resolved", false);
    asp_mpmap_bool (msg->body, "on_time", false);
    s_test_send (probe, msg, "ACK", 2);
    msg = asp_msg_new (ASP_EV_TICKET_REDISPATCHED, "TE", NULL);
    asp_mpmap_str (msg->body, "wo_id", "WTE.2");
    asp_mpmap_bool (msg->body, "repeat_repair", true);
    s_test_send (probe, msg, "ACK", 2);
    s_test_send (probe, s_test_appointment (ASP_EV_WO_APPOINTMENT, "TE", "WTE.2", "PF", 0, false), "ACK", 2);
    s_test_send (probe, s_test_appointment (ASP_EV_WO_APPOINTMENT, "TE", "WTE.2", "PF", 5, true), "ACK", 2);
    s_test_send (probe, s_test_appointment (ASP_EV_WO_APPOINTMENT, "TE", "WTE.2", "PF", 6, false), "ACK", 2);
    s_test_send (probe, s_test_appointment (ASP_EV_WO_APPOINTMENT_MISSED, "TE", "WTE.2", "PF", -1, false),
                 "ACK", 2);
    s_test_send (probe, s_test_appointment (ASP_EV_WO_APPOINTMENT_MISSED, "TE", "WTX", "PF", -1, false),
                 "NAK", 1);
    s_test_send (probe, s_test_appointment (ASP_EV_WO_APPOINTMENT, "TE", "WTE.2", NULL, 0, false), "NAK", 1);
    msg = s_test_appointment (ASP_EV_WO_APPOINTMENT, "TE", "WTE.2", "PF", -1, false);
    asp_mpmap_int (msg->body, "previous_ms", -7);
    s_test_send (probe, msg, "NAK", 1);
    msg = s_test_appointment (ASP_EV_WO_APPOINTMENT, "TE", "WTE.2", "PF", -1, false);
    asp_mpmap_str (msg->body, "late", "yes");
    s_test_send (probe, msg, "NAK", 1);
    const char *pf [] = { "PF" };
    assert (feedback_test_counts (asp_probe_rds (probe), pf, 1, counts) == 0);
    feedback_counts_t want = { .completed = 1, .fixed = 1, .redone = 1, .repeats = 1, .surveys = 1,
                               .score_sum = 2, .arrivals = 1, .late_arrivals = 1, .booked = 1,
                               .late = 1, .missed = 1 };
    assert (memcmp (&counts [0], &want, sizeof want) == 0);
    asp_key_fmt (key, sizeof key, asp_shard_of ("TE"), FEEDBACK_KEY_DIRTY);
    r = asp_rds_cmd (asp_probe_rds (probe), "HGET %s PF", key);
    assert (r && r->type == REDIS_REPLY_STRING && streq (r->str, "6"));     //  one per script
    freeReplyObject (r);

    //  Garbage in the quality facts' fields: NAKed naming the field,
    //  nothing written. (The bad value goes first: a map read takes the
    //  first of a key given twice.)
    struct { const char *type, *field, *bad; int64_t bad_int; } garbage [] = {
        { ASP_EV_TICKET_CREATED, "install_ms", NULL, -5 },
        { ASP_EV_TICKET_CREATED, "install_ms", "yesterday", 0 },
        { ASP_EV_TICKET_CREATED, "prev_repair_partner", "P|1", 0 },
        { ASP_EV_TICKET_CREATED, "prev_repair_technician", NULL, 7 },
        { ASP_EV_WO_COMPLETED, "technician", "a|b", 0 },
        { ASP_EV_WO_COMPLETED, "technician", NULL, 3 },
    };
    for (size_t i = 0; i < sizeof garbage / sizeof garbage [0]; i++) {
        msg = asp_msg_new (garbage [i].type, "TG", NULL);
        if (garbage [i].bad)
            asp_mpmap_str (msg->body, garbage [i].field, garbage [i].bad);
        else
            asp_mpmap_int (msg->body, garbage [i].field, garbage [i].bad_int);
        if (streq (garbage [i].type, ASP_EV_TICKET_CREATED)) {
            asp_mpmap_str (msg->body, "type", "repair");
            asp_mpmap_int (msg->body, "install_ms", 1);
            asp_mpmap_str (msg->body, "install_partner", "PI");
            asp_mpmap_int (msg->body, "prev_repair_ms", 1);
            asp_mpmap_str (msg->body, "prev_repair_partner", "PR");
        }
        else {
            asp_mpmap_str (msg->body, "partner_id", "PG");
            asp_mpmap_str (msg->body, "wo_id", "WTG");
            asp_mpmap_str (msg->body, "result", "fixed");
        }
        asp_probe_send_msg (probe, msg);
        zmsg_t *answer = asp_probe_answer (probe, 5000);
        assert (answer && zmsg_size (answer) == 3);
        char *verdict = zmsg_popstr (answer), *id = zmsg_popstr (answer), *why = zmsg_popstr (answer);
        if (!streq (verdict, "NAK") || !strstr (why, garbage [i].field))
            fprintf (stderr, "feedback_visits_test: %s with a bad %s: %s %s\n", garbage [i].type,
                     garbage [i].field, verdict, why);
        assert (streq (verdict, "NAK") && streq (id, msg->id) && strstr (why, garbage [i].field));
        zstr_free (&verdict);
        zstr_free (&id);
        zstr_free (&why);
        zmsg_destroy (&answer);
        asp_msg_destroy (&msg);
    }
    char facts [ASP_KEY_MAX];
    asp_key_fmt (facts, sizeof facts, asp_shard_of ("TG"), FEEDBACK_KEY_FACTS, "TG");
    r = asp_rds_cmd (asp_probe_rds (probe), "EXISTS %s", facts);
    assert (r && r->type == REDIS_REPLY_INTEGER && r->integer == 0);
    freeReplyObject (r);

    //  A repair ticket of a unit installed and repaired in the windows: a
    //  repeat repair of the previous repair, no first-install return (the
    //  unit was repaired since); the same for a maintenance ticket judges
    //  no earlier work, yet counts a ticket created in its region and
    //  category (the reports' volumes).
    int64_t now = asp_now_ms ();
    const char *types [] = { "repair", "maintenance" };
    const char *tickets [] = { "TH", "TI" };
    for (int i = 0; i < 2; i++) {
        msg = asp_msg_new (ASP_EV_TICKET_CREATED, tickets [i], NULL);
        asp_mpmap_str (msg->body, "type", types [i]);
        asp_mpmap_str (msg->body, "region", "north");
        asp_mpmap_int (msg->body, "install_ms", now - 20 * FEEDBACK_DAY_MS);
        asp_mpmap_str (msg->body, "install_partner", "PI");
        asp_mpmap_int (msg->body, "prev_repair_ms", now - 10 * FEEDBACK_DAY_MS);
        asp_mpmap_str (msg->body, "prev_repair_partner", "PR");
        asp_mpmap_str (msg->body, "prev_repair_technician", "tr");
        s_test_send (probe, msg, "ACK", 2);
    }
    const char *pr [] = { "PR", "PI" };
    assert (feedback_test_counts (asp_probe_rds (probe), pr, 2, counts) == 0);
    assert (counts [0].repeats == 1 && counts [0].install_returns == 0);
    assert (counts [1].repeats == 0 && counts [1].install_returns == 0);
    char days [ASP_KEY_MAX];
    asp_key_fmt (days, sizeof days, asp_shard_of ("TI"), FEEDBACK_KEY_DAYS);
    r = asp_rds_cmd (asp_probe_rds (probe), "HGET %s %lld|created|c|maintenance", days,
                     (long long) (now / FEEDBACK_DAY_MS));
    assert (r && r->type == REDIS_REPLY_STRING && streq (r->str, "1"));
    freeReplyObject (r);
    r = asp_rds_cmd (asp_probe_rds (probe), "HGET %s %lld|created|r|north", days,
                     (long long) (now / FEEDBACK_DAY_MS));
    assert (r && r->type == REDIS_REPLY_STRING && streq (r->str, "1"));
    freeReplyObject (r);

    asp_probe_stop (probe);
    asp_svc_destroy (&svc);
    feedback_visits_destroy (&self);
    asp_probe_destroy (&probe);
}
