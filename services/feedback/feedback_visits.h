/*  feedback_visits: return visits (回访), surveys and closure.

    workorder.completed schedules the return visit (due within
    ASP_SLA_RETURN_VISIT_S, which sla-timer watches) and publishes
    visit.scheduled; notification then asks the customer. The visit is a
    task for staff too (common/asp_visits.h names its fields and lists,
    which intake reads): open in fb:visits:open, visit.claimed (intake)
    moves it to fb:visits:assigned, visit.attempted counts a call that did
    not reach the customer (visit.lua). survey.submitted (from intake's
    API: the customer's survey, or staff's outcome with its fields, the
    first of the two only) records the answer, adds it to the partner's
    score record, ends the visit done and publishes ticket.closed (reason
    survey or visit). Unanswered, a survey reminder (visit.reminder) goes
    out every ASP_VISIT_REMIND_S, at most ASP_VISIT_REMINDERS (remind.lua),
    and ASP_VISIT_NO_RESPONSE_D days (ASP_SURVEY_CLOSE_S seconds when set)
    after the visit was scheduled the ticket closes (ticket.closed, reason
    no_response; autoclose.lua): feedback owns closure and the visit, so
    the timers are here, beside the state they guard (sla-timer's
    return_visit clock measures the promise, a different thing). A
    not_fixed completion schedules no visit (the ticket waits for staff to
    re-dispatch it); ticket.redispatched starts the record over for the
    new work order, and a reopen counts a repeat repair; staff's
    ticket.closed drops the planned close. Either may arrive first after a
    restart; the scripts make both orders end in the same state (the
    ticket's record and the partner's counts).

    It also keeps the quality facts the scores come from (feedback_score.h):
    each message that is one (a completion, a re-dispatch or reopen, a
    survey answer, an appointment booked, changed late or missed, a
    ticket's creation with its unit's history, a service-recovery
    record's latest revision) is added once (the inbox)
    to the ticket's facts, and the script then recomputes the ticket's
    whole contribution to the counts from its facts alone and applies the
    difference to what it contributed before (common.lua's settle): the
    counts are a function of the set of facts, never of the order they
    arrived in (a survey before the completion it answers, a re-dispatch
    before the old work order's completion, ...). A fact counts for the
    partner and for the technician who did the work, and for the ticket's
    region and category (its type; from its creation fact, once that is
    there: common/asp_report.h, the reports and early warning), on the UTC
    day of the
    fact's own time (the event's time_ms, not its arrival): UTC, not the
    region's day, so that one day means the same everywhere and monthly
    reports by region need no time zone table (a region's midnight is at
    most a few hours off). Each change marks the partner (a technician's
    marks its partner) in the same step; feedback_score publishes the
    scores of the marked partners.

    Keys, in the ticket's shard (asp_keys.h: "{s<n>}:" + name):
      fb:<ticket>       hash: the ticket's visit, survey and who did the work
      fb:<ticket>:q     hash: the ticket's quality facts (common.lua lists
                        them) and, in 'x', what they contributed to
                        fb:days; expires ASP_QUALITY_KEEP_D days after its
                        last change
      fb:days           hash: the shard's counts by day, fields
                        "<day>|<count>|p|<partner>" and
                        "<day>|<count>|t|<partner>|<technician>" (day: UTC
                        days since 1970; technicians are named within their
                        partner), and for the early warning's counts
                        (created, completed, complaints, breaches, warned)
                        "<day>|<count>|r|<region>", "...|c|<category>",
                        counts:
                          created    tickets created (regions, categories)
                          completed  work orders completed (any result)
                          fixed      of them done (fixed, installed)
                          redone     done, yet the ticket got a new work
                                     order (redispatch or reopen)
                          repeats    repeat repairs: a reopen, or a new
                                     repair ticket of the unit within
                                     ASP_REPEAT_WINDOW_D of its previous
                                     repair (counted against that repair)
                          installs   installations done (result installed)
                          install_returns  repair tickets of a unit within
                                     ASP_INSTALL_RETURN_D of its
                                     installation (against the installer)
                          complaints survey answers with complaint: true
                          breaches   sla.breached of a partner's clock
                          warned     sla.warning of a partner's clock
                          compensation  sla.compensation amounts of a
                                     partner's clock and the compensation
                                     of service-recovery records (minor
                                     units)
                          recoveries service-recovery records closed
                                     (resolved or unresolved), counted
                                     against whoever's work order was
                                     current when the record opened
                          recovered_fast  of them resolved within
                                     ASP_RECOVERY_FAST_H (24) of opening
                          surveys, score_sum, resolved   survey answers
                          arrivals, late_arrivals   answers on punctuality
                          booked     first appointment bookings
                          late       changes inside the notice period
                          missed     appointments missed
                        a subject's counts are the sums over the ASP_SHARDS
                        hashes and the window's days (feedback_score's
                        window.lua, one call per subject and shard)
      fb:dayidx         sorted set: each fb:days field scored by its day,
                        so that days older than ASP_QUALITY_KEEP_D are
                        dropped (feedback_score's timer, prune.lua)
      fb:months         hash: the reported counts by UTC month,
                        "m<yyyymm>|<count>|p|<partner>", "...|r|<region>",
                        "...|c|<category>" (common/asp_report.h)
      fb:monthidx       sorted set: each fb:months field scored yyyymm
                        (reports read a period by score; months older
                        than ASP_REPORT_KEEP_M are dropped by prune.lua)
      fb:techs          sorted set (all scores 0, read by lexical range):
                        "<partner>|<technician>" with counts in this shard
      fb:dirty          hash: partner -> changes since its score was last
                        published from this shard's counts (the mark)
      fb:close_due      sorted set: "<ticket>|<wo_id>" scored by when the
                        ticket closes if its visit is still unanswered
      fb:remind_due     sorted set: "<ticket>|<wo_id>" scored by when its
                        next survey reminder is due
      fb:visits:open, fb:visits:assigned   sorted sets: the open and the
                        claimed visits' tickets by due time (asp_visits.h)
      fb:strikes_due, fb:strikes_sent   hashes: the complaints' strikes to
                        deliver to the partners' ladders, and delivered
                        (feedback_strikes.h)
    In the shard of a warning's id:
      fb:warned         hash: "<scope>|<id>|<metric>" -> the UTC day its
                        quality.warning was last published (warned.lua)
    And in the partner's shard:
      fb:scores         hash: "<partner>:ms" when its score was last
                        published, "<partner>:score" that score (‰),
                        "<partner>:body" the event's body as JSON (the
                        fields are named in common/asp_quality.h: intake
                        reads them)

    Memory (measured, Redis 7.0, hashtable and skiplist encodings): a
    fb:days field is about 85 bytes and its fb:dayidx member about 135,
    220 together. A partner with a few tickets a day (so a few shards a
    day, about 8 counts each) has about 8 × 97 days × 4 shards ≈ 3,100
    fields (≈ 0.7 MB), each technician as much again for its own work;
    the bound, every one of the 18 counts every day in every shard, is
    18 × 97 × 16 ≈ 28,000 (≈ 6.1 MB). By month, a partner working every
    day: about 12 counts × 25 months × 16 shards ≈ 4,800 fields (≈ 1 MB;
    bound 15 × 25 × 16 = 6,000); a region or category as much, and at
    most 5 × 97 × 16 ≈ 7,800 day fields (≈ 1.7 MB). A ticket's facts are
    under 2 KB (their 'x' lists the month and group fields too) and live
    ASP_QUALITY_KEEP_D days after their last change.                      */
#ifndef FEEDBACK_VISITS_H
#define FEEDBACK_VISITS_H
#include "asp_quality.h"
#include "asp_report.h"
#include "asp_visits.h"
#include "asp_svc.h"

#define FEEDBACK_KEY_TICKET    ASP_VISIT_KEY_RECORD          //  read by intake too
#define FEEDBACK_KEY_FACTS     "fb:%s:q"
#define FEEDBACK_KEY_DAYS      ASP_REPORT_KEY_DAYS           //  read by intake too
#define FEEDBACK_KEY_DAY_INDEX ASP_REPORT_KEY_DAY_INDEX
#define FEEDBACK_KEY_MONTHS    ASP_REPORT_KEY_MONTHS
#define FEEDBACK_KEY_MONTH_INDEX ASP_REPORT_KEY_MONTH_INDEX
#define FEEDBACK_KEY_WARNED    "fb:warned"
#define FEEDBACK_KEY_TECHS     "fb:techs"
#define FEEDBACK_KEY_CLOSE_DUE "fb:close_due"
#define FEEDBACK_KEY_REMIND_DUE "fb:remind_due"
#define FEEDBACK_KEY_DIRTY     "fb:dirty"
#define FEEDBACK_KEY_SCORES    ASP_QUALITY_KEY_SCORES        //  read by intake too

typedef struct feedback_visits_t feedback_visits_t;

feedback_visits_t *feedback_visits_new (asp_svc_t *svc);
void feedback_visits_destroy (feedback_visits_t **self_p);

void feedback_visits_test (void);
//  For the feedback self-tests (needs a probe started on the service):
//  delivers workorder.completed of wo for ticket, by partner, with result,
//  and waits for its ACK.
typedef struct asp_probe_t asp_probe_t;
void feedback_test_completed (asp_probe_t *probe, const char *ticket, const char *wo,
                              const char *partner, const char *result);

#endif
