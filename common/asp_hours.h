/*  asp_hours: opening hours as the partner registry writes them.

    A partner's hours (docs/http-api.md, the partner record) are an offset
    from UTC, "+08:00", and per day of the week ("mon".."sun") a list of
    ranges "HH:MM-HH:MM" of local time (start before end; an end may be
    "24:00"). Intake checks them with these functions and routing reads
    them with the same ones, so both agree on every string.

    No state; libc only.                                                  */
#ifndef ASP_HOURS_H
#define ASP_HOURS_H
#include <stdbool.h>
#include <stdint.h>

#define ASP_HOURS_RANGES 8          //  ranges per day at most

//  The days' names, Monday first, NULL-terminated.
extern const char *const asp_hours_days [8];

//  "+08:00" (-12:00..+14:00) into minutes east of UTC; false when not one.
bool asp_hours_offset (const char *s, int *minutes);
//  "08:00-18:00" into minutes of the day, from < to <= 1440; false when
//  not one.
bool asp_hours_range (const char *s, int *from, int *to);
//  The day's index (0 = mon), or -1.
int  asp_hours_day (const char *name);
//  The local day of the week (0 = mon) and minute of the day at epoch_ms
//  (ms since the epoch, UTC) for an offset in minutes.
void asp_hours_local (int64_t epoch_ms, int offset, int *day, int *minute);

void asp_hours_test (void);
#endif
