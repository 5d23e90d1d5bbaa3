/*  asp_calendar: business hours in a time zone, with holidays and
    make-up working days (调休), as one monotone "business clock".

    A calendar is a time zone (an IANA name from tzdata, "Asia/Shanghai",
    or "UTC"), weekly working hours (per day of the week, up to
    ASP_CAL_RANGES ranges of local time "HH:MM-HH:MM"), holidays (dates on
    which nobody works, whatever the weekday) and make-up working days
    (dates worked although the weekday is off, with their own hours or,
    by default, Monday's). A date that is both is refused.

    The calendar turns wall time (epoch ms, UTC) into business time: B(t)
    is the number of working milliseconds between the calendar's origin
    (ASP_CAL_FROM, local midnight) and t. B is monotone and flat outside
    working hours, so
      - the business time between a and b is B(b) - B(a);
      - "target business ms after t" is the earliest wall time u with
        B(u) = B(t) + target (asp_calendar_add): a deadline never lands in
        a closed period, it lands on the instant the target is reached;
      - a paused clock keeps its remaining business time B(due) - B(pause)
        and, resumed at r, is due at asp_calendar_add (r, remaining).
    The 24x7 calendar (no hours given: asp_calendar_new_24x7) has B(t) = t
    - origin, so calendar-time clocks use the same arithmetic.

    Days are precomputed from ASP_CAL_FROM for ASP_CAL_DAYS days (local
    midnights from the zone, so daylight-saving days of 23 or 25 hours are
    exact); a time outside that range is an error, never a guess. Lookups
    are O(log days), no allocation, no libc time-zone state after build:
    a built calendar is immutable and may be shared by threads.

    Building reads the zone (its offset changes over the range, with
    tzset/localtime_r under TZ) and restores TZ; do it from one thread (the
    services build calendars at start and reload). The zone must be in
    tzdata (/usr/share/zoneinfo, or $TZDIR): glibc would silently take UTC
    for an unknown name, so the builder looks for the file itself ("UTC"
    also works without tzdata).

    Ownership: asp_calendar_build returns a new calendar the caller
    destroys; a builder is consumed by build.                               */
#ifndef ASP_CALENDAR_H
#define ASP_CALENDAR_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ASP_CAL_RANGES  4           //  working ranges per day at most
#define ASP_CAL_FROM    "2020-01-01"
#define ASP_CAL_DAYS    (30 * 366)  //  to 2050

typedef struct asp_calendar_t asp_calendar_t;
typedef struct asp_calbuild_t asp_calbuild_t;

//  A builder for a calendar named name in zone; NULL and why when the
//  zone is unknown (not in tzdata) or the name is empty / longer than 63.
asp_calbuild_t *asp_calbuild_new (const char *name, const char *zone, char *why, size_t why_len);
void asp_calbuild_destroy (asp_calbuild_t **self_p);
//  Working hours on some weekdays: spec is "mon-fri 09:00-18:00",
//  "sat 09:00-12:00", "mon,wed 08:00-12:00 13:00-17:30", "sun closed".
//  Later lines for a day replace earlier ones. 0, or -1 and why.
int asp_calbuild_hours (asp_calbuild_t *self, const char *spec, char *why, size_t why_len);
//  Holidays: "2026-10-01", "2026-10-01..2026-10-08" or a comma list of
//  either. 0, or -1 and why (bad date, outside the calendar's range).
int asp_calbuild_holiday (asp_calbuild_t *self, const char *spec, char *why, size_t why_len);
//  Make-up working days, same syntax; optional hours "2026-09-27 09:00-18:00"
//  (else Monday's hours). 0, or -1 and why.
int asp_calbuild_workday (asp_calbuild_t *self, const char *spec, char *why, size_t why_len);
//  Builds the calendar and destroys the builder (*self_p = NULL). NULL and
//  why when the calendar has no working time at all, or a date is both a
//  holiday and a make-up day.
asp_calendar_t *asp_calbuild_build (asp_calbuild_t **self_p, char *why, size_t why_len);

//  The always-open calendar in zone (B(t) = t - origin).
asp_calendar_t *asp_calendar_new_24x7 (const char *name, const char *zone, char *why, size_t why_len);
void asp_calendar_destroy (asp_calendar_t **self_p);

const char *asp_calendar_name (const asp_calendar_t *self);
const char *asp_calendar_zone (const asp_calendar_t *self);
bool asp_calendar_is_24x7 (const asp_calendar_t *self);
//  True when wall is inside the calendar's range.
bool asp_calendar_covers (const asp_calendar_t *self, int64_t wall_ms);

//  B(wall): working ms from the origin to wall. -1 outside the range.
int64_t asp_calendar_business (const asp_calendar_t *self, int64_t wall_ms);
//  The earliest wall time with B = business (the inverse of B on working
//  instants). -1 outside the range.
int64_t asp_calendar_wall (const asp_calendar_t *self, int64_t business);
//  The earliest wall time u >= wall with B(u) = B(wall) + business_ms.
//  -1 when that is outside the range.
int64_t asp_calendar_add (const asp_calendar_t *self, int64_t wall_ms, int64_t business_ms);
//  B(to) - B(from); negative when to < from. INT64_MIN outside the range.
int64_t asp_calendar_between (const asp_calendar_t *self, int64_t from_ms, int64_t to_ms);
//  True when wall is inside working hours.
bool asp_calendar_working (const asp_calendar_t *self, int64_t wall_ms);
//  A fixed time: local hh:mm on the day days after wall's local date
//  (days >= 0); with working_days, counting only days with working
//  time and landing on one (a 24x7 calendar: every day). -1 outside the
//  range or for hh/mm out of 0..23 / 0..59.
int64_t asp_calendar_at (const asp_calendar_t *self, int64_t wall_ms, int days, int hh, int mm,
                         bool working_days);
//  Local date and time of wall, "2026-10-01 09:30" (out has >= 17 bytes).
void asp_calendar_local (const asp_calendar_t *self, int64_t wall_ms, char *out, size_t len);

void asp_calendar_test (void);
#endif
