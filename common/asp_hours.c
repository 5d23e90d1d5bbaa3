#include "asp_hours.h"
#include <assert.h>
#include <string.h>

const char *const asp_hours_days [8] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun", NULL };

//  "HH:MM" at s into minutes of the day (24:00 only as an end); -1.
static int
s_clock (const char *s, bool end)
{
    if (!(s [0] >= '0' && s [0] <= '2' && s [1] >= '0' && s [1] <= '9' && s [2] == ':'
          && s [3] >= '0' && s [3] <= '5' && s [4] >= '0' && s [4] <= '9'))
        return -1;
    int m = ((s [0] - '0') * 10 + s [1] - '0') * 60 + (s [3] - '0') * 10 + s [4] - '0';
    return m < 24 * 60 || (end && m == 24 * 60)? m: -1;
}

bool
asp_hours_offset (const char *s, int *minutes)
{
    if (strlen (s) != 6 || (s [0] != '+' && s [0] != '-'))
        return false;
    int m = s_clock (s + 1, false);
    if (m < 0 || (s [0] == '-' && m > 12 * 60) || (s [0] == '+' && m > 14 * 60))
        return false;
    *minutes = s [0] == '-'? -m: m;
    return true;
}

bool
asp_hours_range (const char *s, int *from, int *to)
{
    if (strlen (s) != 11 || s [5] != '-')
        return false;
    *from = s_clock (s, false);
    *to = s_clock (s + 6, true);
    return *from >= 0 && *to > *from;
}

int
asp_hours_day (const char *name)
{
    for (int i = 0; asp_hours_days [i]; i++)
        if (strcmp (asp_hours_days [i], name) == 0)
            return i;
    return -1;
}

void
asp_hours_local (int64_t epoch_ms, int offset, int *day, int *minute)
{
    int64_t local = epoch_ms / 60000 + offset;      //  minutes
    int64_t days = local >= 0? local / 1440: (local - 1439) / 1440;
    *minute = (int) (local - days * 1440);
    //  1970-01-01 was a Thursday (3 when Monday is 0).
    *day = (int) (((days + 3) % 7 + 7) % 7);
}

void
asp_hours_test (void)
{
    int m, from, to, day, minute;
    assert (asp_hours_offset ("+08:00", &m) && m == 480);
    assert (asp_hours_offset ("-03:30", &m) && m == -210);
    assert (asp_hours_offset ("+14:00", &m) && !asp_hours_offset ("+14:01", &m));
    assert (!asp_hours_offset ("-12:30", &m) && !asp_hours_offset ("08:00", &m));
    assert (!asp_hours_offset ("+8:00", &m) && !asp_hours_offset ("+08:60", &m));
    assert (asp_hours_range ("08:00-18:30", &from, &to) && from == 480 && to == 1110);
    assert (asp_hours_range ("00:00-24:00", &from, &to) && to == 1440);
    assert (!asp_hours_range ("18:00-08:00", &from, &to) && !asp_hours_range ("24:00-24:00", &from, &to));
    assert (!asp_hours_range ("08:00-08:00", &from, &to) && !asp_hours_range ("08:00~18:00", &from, &to));
    assert (!asp_hours_range ("08:00-18:00 ", &from, &to));
    assert (asp_hours_day ("mon") == 0 && asp_hours_day ("sun") == 6 && asp_hours_day ("Mon") == -1);
    //  2024-01-01 00:30 UTC was a Monday; at +08:00 08:30 the same day;
    //  at -01:00 Sunday 23:30.
    int64_t t = 1704069000000LL;
    asp_hours_local (t, 0, &day, &minute);
    assert (day == 0 && minute == 30);
    asp_hours_local (t, 480, &day, &minute);
    assert (day == 0 && minute == 510);
    asp_hours_local (t, -60, &day, &minute);
    assert (day == 6 && minute == 1410);
    asp_hours_local (0, -60, &day, &minute);        //  before the epoch: Wednesday 23:00
    assert (day == 2 && minute == 1380);
}
