/*  sla_plan: a clock's phases in wall time, from its target and calendar.

    A running clock has phases: 0 the warning (at warn_pct of its target),
    1 the breach (its due time), 2.. the steps of its escalation ladder
    (the breach plus each step's delay). Every interval is measured in the
    clock's basis: a business clock counts only the working time of its
    region's calendar (asp_calendar: B(t) is monotone, so "x business ms
    after t" is asp_calendar_add), a calendar clock every millisecond
    (plain arithmetic: the 24x7 calendar's B(t) is t minus a constant, so
    it needs no calendar except to place a fixed time in the region's
    zone).

    The due time of a clock: its target after its start (a duration), the
    fixed local time its target names ("at 10:00 +1d", in the region's
    zone, +Nwd counting working days), or for a clock dated by its event
    (appointment_kept: the slot's end; callback: the promised time) the
    target as grace after that anchor.

    A pause moves every phase still to come by the paused time in the
    clock's basis (sla_plan_shift): a business clock keeps its remaining
    business time, new = add (resume, B(old) - B(pause)).

    Phases travel as text on the clock's hash ("w,d,e1,e2", field c:ph).
    Pure functions of their arguments: no Redis, no state.                 */
#ifndef SLA_PLAN_H
#define SLA_PLAN_H
#include "sla_policy.h"

#define SLA_PHASES_MAX  (2 + SLA_STEPS_MAX)
#define SLA_PH_TEXT_MAX (SLA_PHASES_MAX * 21)

typedef struct {
    const asp_calendar_t *cal;      //  the business calendar, NULL for calendar time
    const char *cal_name;           //  the calendar named on the clock (c:cal)
    asp_basis_t basis;
    int64_t start, due;
    int64_t target_ms;              //  c:tg: basis ms (for a fixed time: start to due)
    int nphases;
    int64_t at [SLA_PHASES_MAX];    //  0 warning, 1 due, 2.. ladder steps
} sla_plan_t;

//  True for the clocks whose due time is their event's date plus a grace.
bool sla_plan_event_dated (asp_clock_t clock);
//  Plans clock with target (of policy, for a ticket of region) started
//  at start; anchor is the event's date for event-dated clocks (else
//  ignored). 0, or -1 with why when a time falls outside the calendars.
int sla_plan_new (sla_plan_t *self, const sla_policy_t *policy, const sla_target_t *target,
                  asp_clock_t clock, const char *region, int64_t start, int64_t anchor,
                  char *why, size_t why_len);
//  x business (or calendar) ms after wall in cal (NULL: calendar time);
//  calendar time when cal cannot tell (outside its range).
int64_t sla_plan_add (const asp_calendar_t *cal, int64_t wall, int64_t ms);
//  B(to) - B(from) in cal (NULL: to - from).
int64_t sla_plan_between (const asp_calendar_t *cal, int64_t from, int64_t to);
//  Moves phases at [first..n) that were still ahead at paused_at by the
//  pause that ended at resumed_at, in cal's basis.
void sla_plan_shift (const asp_calendar_t *cal, int64_t *at, int n, int first,
                     int64_t paused_at, int64_t resumed_at);
//  "w,d,e1,..." of at [0..n) into out; returns out.
const char *sla_plan_format (const int64_t *at, int n, char *out, size_t len);
//  Parses that text into at (max entries); the count, or -1.
int sla_plan_parse (const char *text, int64_t *at, int max);

void sla_plan_test (void);
#endif
