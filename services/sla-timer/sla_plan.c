#include "sla_plan.h"
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool
sla_plan_event_dated (asp_clock_t clock)
{
    return clock == ASP_CLOCK_APPOINTMENT_KEPT || clock == ASP_CLOCK_CALLBACK;
}

int64_t
sla_plan_add (const asp_calendar_t *cal, int64_t wall, int64_t ms)
{
    if (cal) {
        int64_t at = ms >= 0? asp_calendar_add (cal, wall, ms):
                     asp_calendar_wall (cal, asp_calendar_business (cal, wall) + ms);
        if (at >= 0)
            return at;
    }
    return wall + ms;
}

int64_t
sla_plan_between (const asp_calendar_t *cal, int64_t from, int64_t to)
{
    if (cal) {
        int64_t b = asp_calendar_between (cal, from, to);
        if (b != INT64_MIN)
            return b;
    }
    return to - from;
}

int
sla_plan_new (sla_plan_t *self, const sla_policy_t *policy, const sla_target_t *target,
              asp_clock_t clock, const char *region, int64_t start, int64_t anchor,
              char *why, size_t why_len)
{
    memset (self, 0, sizeof *self);
    self->basis = target->basis;
    self->start = start;
    const asp_calendar_t *business = sla_policy_calendar (policy, region);
    const asp_calendar_t *zone = target->basis == ASP_BASIS_BUSINESS? business:
                                 sla_policy_calendar_24x7 (policy, region);
    self->cal = target->basis == ASP_BASIS_BUSINESS? business: NULL;
    self->cal_name = asp_calendar_name (zone);
    if (target->fixed) {
        //  A promise of a local time: "tomorrow 10:00" where the customer is.
        self->due = asp_calendar_at (zone, start, target->at_days, target->at_hh, target->at_mm,
                                     target->at_working);
        if (self->due < 0) {
            snprintf (why, why_len, "fixed time outside calendar %s", self->cal_name);
            return -1;
        }
        self->target_ms = sla_plan_between (self->cal, start, self->due);
    }
    else {
        int64_t from = sla_plan_event_dated (clock)? anchor: start;
        self->due = sla_plan_add (self->cal, from, target->target_ms);
        self->target_ms = target->target_ms;
    }
    //  The warning at warn_pct of the clock's whole span in its basis (for
    //  an event-dated clock: from its start to its due time).
    int64_t span = sla_plan_between (self->cal, start, self->due);
    self->at [0] = span > 0? sla_plan_add (self->cal, start, span * target->warn_pct / 100): self->due;
    if (self->at [0] > self->due)
        self->at [0] = self->due;
    self->at [1] = self->due;
    self->nphases = 2;
    const sla_ladder_t *ladder = target->ladder;
    for (int k = 0; ladder && k < ladder->nsteps && k < SLA_STEPS_MAX; k++)
        self->at [self->nphases++] = sla_plan_add (self->cal, self->due, ladder->steps [k].delay_ms);
    return 0;
}

void
sla_plan_shift (const asp_calendar_t *cal, int64_t *at, int n, int first, int64_t paused_at,
                int64_t resumed_at)
{
    if (resumed_at <= paused_at)
        return;
    for (int i = first < 0? 0: first; i < n; i++)
        //  A phase that was already due when the clock paused stays where
        //  it is (it fires now); the others keep their distance in basis.
        if (at [i] > paused_at)
            at [i] = sla_plan_add (cal, resumed_at, sla_plan_between (cal, paused_at, at [i]));
}

const char *
sla_plan_format (const int64_t *at, int n, char *out, size_t len)
{
    size_t used = 0;
    out [0] = 0;
    for (int i = 0; i < n && used < len; i++) {
        int w = snprintf (out + used, len - used, i? ",%lld": "%lld", (long long) at [i]);
        assert (w > 0 && (size_t) w < len - used);
        used += (size_t) w;
    }
    return out;
}

int
sla_plan_parse (const char *text, int64_t *at, int max)
{
    int n = 0;
    const char *p = text;
    if (!p || !*p)
        return -1;
    while (*p) {
        if (n == max)
            return -1;
        char *end;
        long long v = strtoll (p, &end, 10);
        if (end == p || (*end && *end != ','))
            return -1;
        at [n++] = v;
        if (*end && !end [1])
            return -1;              //  a trailing comma
        p = *end? end + 1: end;
    }
    return n;
}

//  --------------------------------------------------------------------------
//  Self-test

#define S_H  3600000LL
#define S_M  60000LL

//  2026-03-02 (a Monday) 00:00 UTC, in ms.
#define S_MON 1772409600000LL

static const char s_test_policy [] =
    "[calendar office]\n"
    "zone = UTC\n"
    "hours = mon-fri 09:00-18:00\n"
    "holiday = 2026-03-04\n"
    "[region *]\n"
    "calendar = office\n"
    "supervisor = sup@example\n"
    "manager = mgr@example\n"
    "[ladder two]\n"
    "step = supervisor 1h\n"
    "step = manager 2h\n"
    "[policy standard]\n"
    "ladder = two\n"
    "first_response = 4h calendar\n"
    "resolution = 10h business warn=50%\n"
    "appointment_kept = 30m\n"
    "callback = 0m\n"
    "[policy next-day]\n"
    "match = type=consultation\n"
    "base = standard\n"
    "first_response = at 10:00 +1d\n"
    "[policy days]\n"
    "match = type=return\n"
    "base = standard\n"
    "first_response = at 18:00 +2wd business\n";

void
sla_plan_test (void)
{
    char why [200], text [SLA_PH_TEXT_MAX];
    sla_policy_t *policy = sla_policy_parse ("plan-test", s_test_policy, why, sizeof why);
    if (!policy)
        fprintf (stderr, "sla_plan_test: %s\n", why);
    assert (policy);
    const sla_rule_t *std = sla_policy_select (policy, ASP_KIND_REPAIR, ASP_TIER_STANDARD, ASP_CLASS_B, "north");
    assert (std && strcmp (std->name, "standard") == 0);
    sla_plan_t plan;

    //  Calendar time: 4 h from Monday 10:00, warned at 80%, then the ladder.
    int64_t start = S_MON + 10 * S_H;
    assert (sla_plan_new (&plan, policy, &std->clocks [ASP_CLOCK_FIRST_RESPONSE], ASP_CLOCK_FIRST_RESPONSE,
                          "north", start, 0, why, sizeof why) == 0);
    assert (plan.cal == NULL && plan.basis == ASP_BASIS_CALENDAR);
    assert (plan.due == start + 4 * S_H && plan.target_ms == 4 * S_H);
    assert (plan.nphases == 4 && plan.at [0] == start + 192 * S_M && plan.at [1] == plan.due);
    assert (plan.at [2] == plan.due + S_H && plan.at [3] == plan.due + 2 * S_H);

    //  Business time: 10 h from Monday 17:00 = 1 h Monday, 9 h Tuesday:
    //  due Tuesday 18:00; warned at 5 h (Tuesday 13:00); the ladder's 1 h
    //  after Tuesday 18:00 lands on Thursday 10:00 (Wednesday a holiday).
    start = S_MON + 17 * S_H;
    assert (sla_plan_new (&plan, policy, &std->clocks [ASP_CLOCK_RESOLUTION], ASP_CLOCK_RESOLUTION,
                          "north", start, 0, why, sizeof why) == 0);
    assert (plan.cal && plan.basis == ASP_BASIS_BUSINESS && strcmp (plan.cal_name, "office") == 0);
    assert (plan.due == S_MON + 24 * S_H + 18 * S_H);
    assert (plan.at [0] == S_MON + 24 * S_H + 13 * S_H);
    assert (plan.at [2] == S_MON + 3 * 24 * S_H + 10 * S_H);
    assert (plan.at [3] == S_MON + 3 * 24 * S_H + 11 * S_H);
    //  Paused Tuesday 12:00 (6 business hours left), resumed Thursday
    //  09:30: due Thursday 15:30; the warning (Tuesday 13:00) moves to
    //  Thursday 10:30; a phase before the pause stays.
    int64_t at [SLA_PHASES_MAX];
    memcpy (at, plan.at, sizeof at);
    sla_plan_shift (plan.cal, at, plan.nphases, 0, S_MON + 24 * S_H + 12 * S_H, S_MON + 3 * 24 * S_H + 9 * S_H + 30 * S_M);
    assert (at [1] == S_MON + 3 * 24 * S_H + 15 * S_H + 30 * S_M);
    assert (at [0] == S_MON + 3 * 24 * S_H + 10 * S_H + 30 * S_M);
    memcpy (at, plan.at, sizeof at);
    sla_plan_shift (plan.cal, at, plan.nphases, 0, S_MON + 24 * S_H + 14 * S_H, S_MON + 3 * 24 * S_H + 9 * S_H);
    assert (at [0] == plan.at [0] && at [1] == S_MON + 3 * 24 * S_H + 13 * S_H);
    //  Calendar time: every phase moves by the wall time paused.
    memcpy (at, plan.at, sizeof at);
    sla_plan_shift (NULL, at, plan.nphases, 1, plan.at [0] - 1, plan.at [0] + 99);
    assert (at [0] == plan.at [0] && at [1] == plan.at [1] + 100);

    //  Event-dated: 30 min of grace after the slot's end; the warning at
    //  80% of the whole span from the booking.
    start = S_MON + 8 * S_H;
    assert (sla_plan_new (&plan, policy, &std->clocks [ASP_CLOCK_APPOINTMENT_KEPT], ASP_CLOCK_APPOINTMENT_KEPT,
                          "north", start, S_MON + 12 * S_H, why, sizeof why) == 0);
    assert (plan.due == S_MON + 12 * S_H + 30 * S_M && plan.at [0] == start + (270 * S_M * 80 / 100));
    //  No grace (a call-back promised for 09:00, booked at 09:00): due at
    //  once, warned at the same instant.
    assert (sla_plan_new (&plan, policy, &std->clocks [ASP_CLOCK_CALLBACK], ASP_CLOCK_CALLBACK,
                          "north", S_MON + 9 * S_H, S_MON + 9 * S_H, why, sizeof why) == 0);
    assert (plan.due == S_MON + 9 * S_H && plan.at [0] == plan.due);

    //  Fixed times: next day 10:00 (calendar), and 18:00 two working days
    //  on (business: Monday -> Tuesday, Thursday, Wednesday a holiday).
    const sla_rule_t *nd = sla_policy_select (policy, ASP_KIND_CONSULTATION, ASP_TIER_STANDARD, ASP_CLASS_B, "x");
    assert (strcmp (nd->name, "next-day") == 0);
    start = S_MON + 15 * S_H;
    assert (sla_plan_new (&plan, policy, &nd->clocks [ASP_CLOCK_FIRST_RESPONSE], ASP_CLOCK_FIRST_RESPONSE,
                          "x", start, 0, why, sizeof why) == 0);
    assert (plan.due == S_MON + 24 * S_H + 10 * S_H && plan.target_ms == 19 * S_H);
    const sla_rule_t *days = sla_policy_select (policy, ASP_KIND_RETURN, ASP_TIER_STANDARD, ASP_CLASS_B, "x");
    assert (sla_plan_new (&plan, policy, &days->clocks [ASP_CLOCK_FIRST_RESPONSE], ASP_CLOCK_FIRST_RESPONSE,
                          "x", start, 0, why, sizeof why) == 0);
    assert (plan.due == S_MON + 3 * 24 * S_H + 18 * S_H);
    assert (plan.target_ms == 3 * S_H + 9 * S_H + 9 * S_H);

    //  Text round trip; garbage refused.
    int64_t back [SLA_PHASES_MAX];
    sla_plan_format (plan.at, plan.nphases, text, sizeof text);
    assert (sla_plan_parse (text, back, SLA_PHASES_MAX) == plan.nphases);
    assert (memcmp (back, plan.at, (size_t) plan.nphases * sizeof back [0]) == 0);
    assert (sla_plan_parse ("1,2,", back, SLA_PHASES_MAX) == -1);
    assert (sla_plan_parse ("1,x", back, SLA_PHASES_MAX) == -1);
    assert (sla_plan_parse ("", back, SLA_PHASES_MAX) == -1);
    assert (sla_plan_parse ("1,2,3", back, 2) == -1);
    assert (sla_plan_add (NULL, 5, 7) == 12 && sla_plan_between (NULL, 5, 12) == 7);
    sla_policy_destroy (&policy);
}
