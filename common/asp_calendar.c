/*  asp_calendar: business hours in a time zone (see asp_calendar.h).

    The zone is read once, at build, into a table of its offset changes
    (transitions). Every local-to-wall conversion after that (the day
    starts, the working ranges, asp_calendar_at) uses only that table, so
    a built calendar never touches libc's time-zone state again.

    Per day i (local date ASP_CAL_FROM + i) the calendar keeps the wall
    time its local date starts (start [i]), the business ms before it
    (before [i]) and its working ranges as wall ms from the day's start.
    Day i is [start [i], start [i + 1]): its length is whatever the zone
    says (23 h, 25 h), and its ranges were converted with the offsets of
    that very day, so business time is real elapsed time.                */
#include "asp_calendar.h"
#include "asp_hours.h"
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DAY_MS      86400000LL
#define HOUR_MS     3600000LL
#define MARK_HOLIDAY 1
#define MARK_WORKDAY 2

//  Local working hours of one day, minutes of the day.
typedef struct {
    int n;
    int from [ASP_CAL_RANGES], to [ASP_CAL_RANGES];
} s_hours_t;

//  Working ranges of one day, wall ms from the day's start.
typedef struct {
    int32_t from [ASP_CAL_RANGES], to [ASP_CAL_RANGES];
} s_ranges_t;

struct asp_calbuild_t {
    char name [64];
    char zone [64];
    char tz [320];                  //  what TZ is set to while building
    s_hours_t week [7];             //  0 = Monday
    uint8_t *mark;                  //  per day: MARK_HOLIDAY | MARK_WORKDAY
    uint16_t *hours_ix;             //  per make-up day: 0 Monday's, k custom [k - 1]
    s_hours_t *custom;              //  make-up days' own hours, one per line
    size_t ncustom;
};

struct asp_calendar_t {
    char name [64];
    char zone [64];
    bool all_day;                   //  24x7: no ranges, B = wall - origin
    int64_t base_off;               //  offset (ms east of UTC) before tr_at [0]
    int64_t *tr_at;                 //  transitions: wall ms ...
    int64_t *tr_off;                //  ... and the offset from then on
    size_t ntr;
    int64_t *start;                 //  ASP_CAL_DAYS + 1 day starts, wall ms
    int64_t *before;                //  business ms at each day start
    s_ranges_t *ranges;             //  per day
    uint8_t *nranges;               //  per day
};

static void
s_why (char *why, size_t len, const char *fmt, ...)
{
    if (!why || !len)
        return;
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (why, len, fmt, ap);
    va_end (ap);
}

//  --- civil dates (proleptic Gregorian, H. Hinnant's algorithms) ----------

static int64_t
s_days_from_civil (int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0? y: y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2? -3: 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void
s_civil_from_days (int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0? z: z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int) (doy - (153 * mp + 2) / 5 + 1);
    *m = (int) (mp < 10? mp + 3: mp - 9);
    *y = (int) (yoe + era * 400 + (*m <= 2));
}

//  Days since 1970-01-01 of ASP_CAL_FROM, the calendar's day 0 (no
//  sscanf: it is called in every lookup's conversions).
static int64_t
s_origin_days (void)
{
    const char *f = ASP_CAL_FROM;
#define D(i) (f [i] - '0')
    return s_days_from_civil (D (0) * 1000 + D (1) * 100 + D (2) * 10 + D (3),
                              D (5) * 10 + D (6), D (8) * 10 + D (9));
#undef D
}

static void
s_date_str (int64_t day, char *out, size_t len)
{
    int y, m, d;
    s_civil_from_days (s_origin_days () + day, &y, &m, &d);
    snprintf (out, len, "%04d-%02d-%02d", y, m, d);
}

//  "YYYY-MM-DD" at *p into a day index of the calendar; advances *p.
static int
s_date (const char **p, int *day, char *why, size_t why_len)
{
    const char *s = *p;
    int y, m, d, n = 0;
    if (sscanf (s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10 || s [4] != '-' || s [7] != '-') {
        s_why (why, why_len, "bad date \"%.10s\" (YYYY-MM-DD)", s);
        return -1;
    }
    int64_t z = s_days_from_civil (y, m, d);
    int yy, mm, dd;
    s_civil_from_days (z, &yy, &mm, &dd);
    if (m < 1 || m > 12 || yy != y || mm != m || dd != d) {
        s_why (why, why_len, "no such date \"%.10s\"", s);
        return -1;
    }
    int64_t i = z - s_origin_days ();
    if (i < 0 || i >= ASP_CAL_DAYS) {
        char last [16];
        s_date_str (ASP_CAL_DAYS - 1, last, sizeof last);
        s_why (why, why_len, "date %.10s is outside the calendar's range %s..%s", s, ASP_CAL_FROM, last);
        return -1;
    }
    *day = (int) i;
    *p = s + 10;
    return 0;
}

//  --- the zone ---------------------------------------------------------------

//  Checks that zone names a tzdata file (glibc silently takes UTC for an
//  unknown name, so we look ourselves) and sets tz to what TZ must hold.
static int
s_zone (const char *zone, char *tz, size_t tz_len, char *why, size_t why_len)
{
    size_t len = strlen (zone);
    bool ok = len > 0 && len < 64 && zone [0] != '/' && !strstr (zone, "..");
    for (const char *c = zone; ok && *c; c++)
        ok = (*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9')
             || strchr ("/_+-", *c);
    if (!ok) {
        s_why (why, why_len, "bad time zone name \"%.64s\"", zone);
        return -1;
    }
    const char *dir = getenv ("TZDIR");
    snprintf (tz, tz_len, ":%s/%s", dir && *dir? dir: "/usr/share/zoneinfo", zone);
    FILE *file = fopen (tz + 1, "rb");
    char magic [4] = { 0 };
    bool tzif = file && fread (magic, 1, 4, file) == 4 && memcmp (magic, "TZif", 4) == 0;
    if (file)
        fclose (file);
    if (tzif)
        return 0;
    if (strcmp (zone, "UTC") == 0) {
        //  UTC needs no data: a POSIX TZ string says it.
        snprintf (tz, tz_len, "UTC0");
        return 0;
    }
    s_why (why, why_len, "unknown time zone \"%s\" (not in tzdata: %s)", zone, tz + 1);
    return -1;
}

//  Offset east of UTC in ms at wall second t, from libc (TZ already set).
static int64_t
s_libc_off (time_t t)
{
    struct tm tm;
    if (!localtime_r (&t, &tm))
        return 0;
    return (int64_t) tm.tm_gmtoff * 1000;
}

static void
s_add_transition (asp_calendar_t *self, size_t *cap, int64_t at, int64_t off)
{
    if (self->ntr == *cap) {
        *cap = *cap? *cap * 2: 16;
        self->tr_at = (int64_t *) realloc (self->tr_at, *cap * sizeof (int64_t));
        self->tr_off = (int64_t *) realloc (self->tr_off, *cap * sizeof (int64_t));
        assert (self->tr_at && self->tr_off);
    }
    self->tr_at [self->ntr] = at;
    self->tr_off [self->ntr++] = off;
}

//  Reads the zone's offset changes over the calendar's range (with two
//  days to spare) under TZ = tz, and restores TZ. Zones change offset at
//  most a few times a year: a probe a day finds each change, then a
//  bisection finds its second (localtime_r costs ~0.5 us: probing every
//  hour would make a build take 0.1 s). A change undone within the same
//  day would be missed; tzdata has none.
static void
s_read_zone (asp_calendar_t *self, const char *tz)
{
    const char *old = getenv ("TZ");
    char *saved = old? strdup (old): NULL;
    setenv ("TZ", tz, 1);
    tzset ();
    time_t from = (time_t) ((s_origin_days () - 2) * 86400);
    time_t to = (time_t) ((s_origin_days () + ASP_CAL_DAYS + 2) * 86400);
    size_t cap = 0;
    self->base_off = s_libc_off (from);
    int64_t off = self->base_off;
    const time_t step = 24 * 3600;
    for (time_t t = from; t < to; t += step) {
        int64_t next = s_libc_off (t + step);
        if (next == off)
            continue;
        time_t lo = t, hi = t + step;       //  off at lo, next at hi
        while (hi - lo > 1) {
            time_t mid = lo + (hi - lo) / 2;
            if (s_libc_off (mid) == off)
                lo = mid;
            else
                hi = mid;
        }
        s_add_transition (self, &cap, (int64_t) hi * 1000, s_libc_off (hi));
        off = s_libc_off (hi);
        t = hi - step;                      //  go on from the change
    }
    if (saved)
        setenv ("TZ", saved, 1);
    else
        unsetenv ("TZ");
    tzset ();
    free (saved);
}

//  Index of the last transition at or before wall, or -1.
static ptrdiff_t
s_transition (const asp_calendar_t *self, int64_t wall)
{
    ptrdiff_t lo = -1, hi = (ptrdiff_t) self->ntr;  //  tr_at [lo] <= wall < tr_at [hi]
    while (hi - lo > 1) {
        ptrdiff_t mid = lo + (hi - lo) / 2;
        if (self->tr_at [mid] <= wall)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

static int64_t
s_off (const asp_calendar_t *self, int64_t wall)
{
    ptrdiff_t i = s_transition (self, wall);
    return i < 0? self->base_off: self->tr_off [i];
}

//  The earliest wall time whose local time is `local` (ms since the epoch
//  as if the zone were UTC). A local time skipped by a change (spring
//  forward) gives the instant of the change: the first one after it; a
//  repeated one (fall back) its first occurrence. Monotone in local.
static int64_t
s_wall_of_local (const asp_calendar_t *self, int64_t local)
{
    //  Offsets are within +-16 h: every candidate lies in this window.
    int64_t lo = local - 16 * HOUR_MS, hi = local + 16 * HOUR_MS;
    ptrdiff_t i = s_transition (self, lo);
    int64_t best = INT64_MAX;
    for (ptrdiff_t k = i; k < (ptrdiff_t) self->ntr && (k < 0 || self->tr_at [k] <= hi); k++) {
        int64_t o = k < 0? self->base_off: self->tr_off [k];
        int64_t u = local - o;
        if (s_off (self, u) == o && u < best)
            best = u;
    }
    if (best != INT64_MAX)
        return best;
    //  Skipped: the change whose jump steps over local.
    for (ptrdiff_t k = i + 1; k < (ptrdiff_t) self->ntr && self->tr_at [k] <= hi; k++) {
        int64_t before = k > 0? self->tr_off [k - 1]: self->base_off;
        if (self->tr_at [k] + before <= local && local < self->tr_at [k] + self->tr_off [k])
            return self->tr_at [k];
    }
    return local - s_off (self, local);     //  not reached for real zones
}

//  Local midnight of day i, ms as if the zone were UTC.
static int64_t
s_local_day (int64_t i)
{
    return (s_origin_days () + i) * DAY_MS;
}

//  --- the builder ------------------------------------------------------------

asp_calbuild_t *
asp_calbuild_new (const char *name, const char *zone, char *why, size_t why_len)
{
    if (!name || !*name || strlen (name) > 63) {
        s_why (why, why_len, "calendar name must have 1..63 characters");
        return NULL;
    }
    char tz [320];
    if (!zone)
        s_why (why, why_len, "no time zone given");
    if (!zone || s_zone (zone, tz, sizeof tz, why, why_len))
        return NULL;
    asp_calbuild_t *self = (asp_calbuild_t *) calloc (1, sizeof *self);
    assert (self);
    snprintf (self->name, sizeof self->name, "%s", name);
    snprintf (self->zone, sizeof self->zone, "%s", zone);
    snprintf (self->tz, sizeof self->tz, "%s", tz);
    self->mark = (uint8_t *) calloc (ASP_CAL_DAYS, 1);
    self->hours_ix = (uint16_t *) calloc (ASP_CAL_DAYS, sizeof (uint16_t));
    assert (self->mark && self->hours_ix);
    return self;
}

void
asp_calbuild_destroy (asp_calbuild_t **self_p)
{
    assert (self_p);
    asp_calbuild_t *self = *self_p;
    if (!self)
        return;
    free (self->mark);
    free (self->hours_ix);
    free (self->custom);
    free (self);
    *self_p = NULL;
}

//  True when hhmm ("HH:MM") is a time of the day: a start when end is
//  false (00:00..23:59), an end when it is true (00:01..24:00). Asks
//  asp_hours_range, so both agree on every string.
static bool
s_clock_ok (const char *hhmm, bool end)
{
    char probe [16];
    int f, t;
    snprintf (probe, sizeof probe, end? "00:00-%.5s": "%.5s-24:00", hhmm);
    return asp_hours_range (probe, &f, &t);
}

//  One "HH:MM-HH:MM" range; the why says which part is wrong.
static int
s_range (const char *tok, int *from, int *to, char *why, size_t why_len)
{
    if (asp_hours_range (tok, from, to))
        return 0;
    if (strlen (tok) != 11 || tok [5] != '-')
        s_why (why, why_len, "bad hours \"%s\" (HH:MM-HH:MM)", tok);
    else if (!s_clock_ok (tok, false))
        s_why (why, why_len, "bad hours \"%s\": no such time %.5s (00:00..23:59)", tok, tok);
    else if (!s_clock_ok (tok + 6, true))
        s_why (why, why_len, "bad hours \"%s\": no such time %.5s (00:01..24:00)", tok, tok + 6);
    else
        s_why (why, why_len, "bad hours \"%s\": the start is not before the end", tok);
    return -1;
}

//  Ranges from the tokens "HH:MM-HH:MM ..." (strtok_r state in save),
//  in order and not overlapping; "closed" alone for none.
static int
s_hours (char *tok, char **save, bool closed_ok, s_hours_t *h, char *why, size_t why_len)
{
    memset (h, 0, sizeof *h);
    if (tok && strcmp (tok, "closed") == 0) {
        if (!closed_ok || strtok_r (NULL, " \t", save)) {
            s_why (why, why_len, closed_ok? "\"closed\" takes no hours": "a make-up day cannot be closed");
            return -1;
        }
        return 0;
    }
    if (!tok) {
        s_why (why, why_len, "no hours given (HH:MM-HH:MM ..., or closed)");
        return -1;
    }
    for (; tok; tok = strtok_r (NULL, " \t", save)) {
        if (h->n == ASP_CAL_RANGES) {
            s_why (why, why_len, "more than %d ranges in a day", ASP_CAL_RANGES);
            return -1;
        }
        if (s_range (tok, &h->from [h->n], &h->to [h->n], why, why_len))
            return -1;
        if (h->n && h->from [h->n] < h->to [h->n - 1]) {
            s_why (why, why_len, "hours \"%s\" overlap or come before the previous range", tok);
            return -1;
        }
        h->n++;
    }
    return 0;
}

//  "mon-fri", "mon,wed", "sat" into a set of weekdays (bit 0 = Monday).
static int
s_days (char *tok, unsigned *set, char *why, size_t why_len)
{
    *set = 0;
    char *save = NULL;
    for (char *item = strtok_r (tok, ",", &save); item; item = strtok_r (NULL, ",", &save)) {
        char *dash = strchr (item, '-');
        if (dash)
            *dash = 0;
        int a = asp_hours_day (item), b = dash? asp_hours_day (dash + 1): a;
        if (a < 0 || b < 0 || b < a) {
            s_why (why, why_len, "bad days \"%s%s%s\" (mon..sun, a range like mon-fri, or a comma list)",
                   item, dash? "-": "", dash? dash + 1: "");
            return -1;
        }
        for (int d = a; d <= b; d++)
            *set |= 1u << d;
    }
    if (!*set)
        s_why (why, why_len, "no days given (mon..sun)");
    return *set? 0: -1;
}

int
asp_calbuild_hours (asp_calbuild_t *self, const char *spec, char *why, size_t why_len)
{
    assert (self && spec);
    char copy [256];
    if (strlen (spec) >= sizeof copy) {
        s_why (why, why_len, "hours line too long");
        return -1;
    }
    snprintf (copy, sizeof copy, "%s", spec);
    char *save = NULL;
    char *days = strtok_r (copy, " \t", &save);
    unsigned set;
    s_hours_t h;
    if (!days) {
        s_why (why, why_len, "empty hours (e.g. \"mon-fri 09:00-18:00\")");
        return -1;
    }
    if (s_days (days, &set, why, why_len)
        || s_hours (strtok_r (NULL, " \t", &save), &save, true, &h, why, why_len))
        return -1;
    //  Only now, so a refused line changes nothing.
    for (int d = 0; d < 7; d++)
        if (set & (1u << d))
            self->week [d] = h;
    return 0;
}

#define S_PAIRS 64                  //  dates or ranges in one line at most

//  A comma list of dates and date ranges at s into pairs [first, last]
//  (day indexes); returns where the list ends and the count in *n, or
//  NULL. Marks nothing: a refused line must change nothing.
static const char *
s_dates (const char *s, int pairs [S_PAIRS][2], size_t *n, char *why, size_t why_len)
{
    for (*n = 0;; s++) {
        s += strspn (s, " \t");
        int a, b;
        if (s_date (&s, &a, why, why_len))
            return NULL;
        b = a;
        if (strncmp (s, "..", 2) == 0 && (s += 2, s_date (&s, &b, why, why_len)))
            return NULL;
        if (b < a) {
            s_why (why, why_len, "date range ends before it starts");
            return NULL;
        }
        if (*n == S_PAIRS) {
            s_why (why, why_len, "more than %d dates or ranges in one line", S_PAIRS);
            return NULL;
        }
        pairs [*n][0] = a, pairs [(*n)++][1] = b;
        s += strspn (s, " \t");
        if (*s != ',')
            return s;
    }
}

int
asp_calbuild_holiday (asp_calbuild_t *self, const char *spec, char *why, size_t why_len)
{
    assert (self && spec);
    int pairs [S_PAIRS][2];
    size_t n;
    const char *end = s_dates (spec, pairs, &n, why, why_len);
    if (end && *end)
        s_why (why, why_len, "unexpected \"%s\" after the dates", end);
    if (!end || *end)
        return -1;
    for (size_t i = 0; i < n; i++)
        for (int d = pairs [i][0]; d <= pairs [i][1]; d++)
            self->mark [d] |= MARK_HOLIDAY;
    return 0;
}

int
asp_calbuild_workday (asp_calbuild_t *self, const char *spec, char *why, size_t why_len)
{
    assert (self && spec);
    int pairs [S_PAIRS][2];
    size_t n;
    const char *end = s_dates (spec, pairs, &n, why, why_len);
    if (!end)
        return -1;
    char rest [256];
    s_hours_t h = { 0 };
    if (strlen (end) >= sizeof rest) {
        s_why (why, why_len, "hours too long");
        return -1;
    }
    snprintf (rest, sizeof rest, "%s", end);
    char *save = NULL, *tok = strtok_r (rest, " \t", &save);
    if (tok && s_hours (tok, &save, false, &h, why, why_len))
        return -1;
    if (h.n && self->ncustom == UINT16_MAX) {
        s_why (why, why_len, "too many make-up day lines with hours");
        return -1;
    }
    //  Index 0: Monday's hours; k: custom [k - 1]. A later line wins.
    uint16_t ix = 0;
    if (h.n) {
        self->custom = (s_hours_t *) realloc (self->custom, (self->ncustom + 1) * sizeof h);
        assert (self->custom);
        self->custom [self->ncustom++] = h;
        ix = (uint16_t) self->ncustom;
    }
    for (size_t i = 0; i < n; i++)
        for (int d = pairs [i][0]; d <= pairs [i][1]; d++) {
            self->mark [d] |= MARK_WORKDAY;
            self->hours_ix [d] = ix;
        }
    return 0;
}

//  --- building the table -----------------------------------------------------

static asp_calendar_t *
s_calendar_new (const char *name, const char *zone, const char *tz, bool all_day)
{
    asp_calendar_t *self = (asp_calendar_t *) calloc (1, sizeof *self);
    assert (self);
    snprintf (self->name, sizeof self->name, "%s", name);
    snprintf (self->zone, sizeof self->zone, "%s", zone);
    self->all_day = all_day;
    s_read_zone (self, tz);
    self->start = (int64_t *) malloc ((ASP_CAL_DAYS + 1) * sizeof (int64_t));
    assert (self->start);
    for (int i = 0; i <= ASP_CAL_DAYS; i++)
        self->start [i] = s_wall_of_local (self, s_local_day (i));
    return self;
}

//  The local hours of day i: a holiday has none, a make-up day its own
//  or Monday's, any other day its weekday's.
static const s_hours_t *
s_day_hours (const asp_calbuild_t *b, int i)
{
    static const s_hours_t none = { 0 };
    if (b->mark [i] & MARK_HOLIDAY)
        return &none;
    if (b->mark [i] & MARK_WORKDAY)
        return b->hours_ix [i]? &b->custom [b->hours_ix [i] - 1]: &b->week [0];
    int64_t weekday = ((s_origin_days () + i) % 7 + 7 + 3) % 7;    //  1970-01-01: Thursday
    return &b->week [weekday];
}

//  Day i's ranges into wall ms from its start, with that day's offsets;
//  a range the zone skips entirely (02:00-03:00 on a spring-forward day)
//  is dropped. Returns the day's working ms.
static int64_t
s_fill_day (asp_calendar_t *self, int i, const s_hours_t *h)
{
    int64_t local = s_local_day (i), start = self->start [i];
    int n = 0;
    int64_t total = 0;
    for (int k = 0; k < h->n; k++) {
        int64_t f = s_wall_of_local (self, local + h->from [k] * 60000LL) - start;
        int64_t t = s_wall_of_local (self, local + h->to [k] * 60000LL) - start;
        if (t <= f)
            continue;
        self->ranges [i].from [n] = (int32_t) f;
        self->ranges [i].to [n++] = (int32_t) t;
        total += t - f;
    }
    self->nranges [i] = (uint8_t) n;
    return total;
}

//  The first date marked both holiday and make-up day, or -1.
static int
s_conflict (const asp_calbuild_t *self)
{
    for (int d = 0; d < ASP_CAL_DAYS; d++)
        if (self->mark [d] == (MARK_HOLIDAY | MARK_WORKDAY))
            return d;
    return -1;
}

asp_calendar_t *
asp_calbuild_build (asp_calbuild_t **self_p, char *why, size_t why_len)
{
    assert (self_p && *self_p);
    asp_calbuild_t *b = *self_p;
    int bad = s_conflict (b);
    if (bad >= 0) {
        char date [16];
        s_date_str (bad, date, sizeof date);
        s_why (why, why_len, "calendar %s: %s is both a holiday and a make-up working day", b->name, date);
        asp_calbuild_destroy (self_p);
        return NULL;
    }
    asp_calendar_t *self = s_calendar_new (b->name, b->zone, b->tz, false);
    self->before = (int64_t *) malloc ((ASP_CAL_DAYS + 1) * sizeof (int64_t));
    self->ranges = (s_ranges_t *) calloc (ASP_CAL_DAYS, sizeof (s_ranges_t));
    self->nranges = (uint8_t *) calloc (ASP_CAL_DAYS, 1);
    assert (self->before && self->ranges && self->nranges);
    self->before [0] = 0;
    for (int i = 0; i < ASP_CAL_DAYS; i++)
        self->before [i + 1] = self->before [i] + s_fill_day (self, i, s_day_hours (b, i));
    if (self->before [ASP_CAL_DAYS] == 0) {
        s_why (why, why_len, "calendar %s has no working time at all", b->name);
        asp_calendar_destroy (&self);
    }
    asp_calbuild_destroy (self_p);
    return self;
}

asp_calendar_t *
asp_calendar_new_24x7 (const char *name, const char *zone, char *why, size_t why_len)
{
    asp_calbuild_t *b = asp_calbuild_new (name, zone, why, why_len);
    if (!b)
        return NULL;
    asp_calendar_t *self = s_calendar_new (b->name, b->zone, b->tz, true);
    asp_calbuild_destroy (&b);
    return self;
}

void
asp_calendar_destroy (asp_calendar_t **self_p)
{
    assert (self_p);
    asp_calendar_t *self = *self_p;
    if (!self)
        return;
    free (self->tr_at);
    free (self->tr_off);
    free (self->start);
    free (self->before);
    free (self->ranges);
    free (self->nranges);
    free (self);
    *self_p = NULL;
}

//  --- lookups ----------------------------------------------------------------

const char *
asp_calendar_name (const asp_calendar_t *self)
{
    return self->name;
}

const char *
asp_calendar_zone (const asp_calendar_t *self)
{
    return self->zone;
}

bool
asp_calendar_is_24x7 (const asp_calendar_t *self)
{
    return self->all_day;
}

bool
asp_calendar_covers (const asp_calendar_t *self, int64_t wall_ms)
{
    return wall_ms >= self->start [0] && wall_ms < self->start [ASP_CAL_DAYS];
}

//  The day holding wall (start [i] <= wall < start [i + 1]); -1 outside.
static int
s_day_of (const asp_calendar_t *self, int64_t wall)
{
    if (!asp_calendar_covers (self, wall))
        return -1;
    int lo = 0, hi = ASP_CAL_DAYS;
    while (hi - lo > 1) {
        int mid = lo + (hi - lo) / 2;
        if (self->start [mid] <= wall)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

int64_t
asp_calendar_business (const asp_calendar_t *self, int64_t wall_ms)
{
    int i = s_day_of (self, wall_ms);
    if (i < 0)
        return -1;
    if (self->all_day)
        return wall_ms - self->start [0];
    int64_t off = wall_ms - self->start [i], b = self->before [i];
    const s_ranges_t *r = &self->ranges [i];
    for (int k = 0; k < self->nranges [i] && off > r->from [k]; k++)
        b += (off < r->to [k]? off: r->to [k]) - r->from [k];
    return b;
}

int64_t
asp_calendar_wall (const asp_calendar_t *self, int64_t business)
{
    if (self->all_day) {
        bool in = business >= 0 && business < self->start [ASP_CAL_DAYS] - self->start [0];
        return in? self->start [0] + business: -1;
    }
    if (business < 0 || business > self->before [ASP_CAL_DAYS])
        return -1;
    if (business == 0)
        return self->start [0];
    //  The first day whose end reaches business: the instant is in it
    //  (on a range's end when it ends exactly there, not the next day).
    int lo = -1, hi = ASP_CAL_DAYS - 1;     //  before [lo + 1] < business <= before [hi + 1]
    while (hi - lo > 1) {
        int mid = lo + (hi - lo) / 2;
        if (self->before [mid + 1] >= business)
            hi = mid;
        else
            lo = mid;
    }
    int64_t rest = business - self->before [hi];
    const s_ranges_t *r = &self->ranges [hi];
    for (int k = 0; k < self->nranges [hi]; k++) {
        if (rest <= r->to [k] - r->from [k])
            return self->start [hi] + r->from [k] + rest;
        rest -= r->to [k] - r->from [k];
    }
    assert (false);                         //  before [] and ranges disagree
    return -1;
}

int64_t
asp_calendar_add (const asp_calendar_t *self, int64_t wall_ms, int64_t business_ms)
{
    int64_t b = asp_calendar_business (self, wall_ms);
    if (b < 0 || business_ms < 0 || business_ms > INT64_MAX / 2)
        return -1;
    //  wall(B + 0) may be the end of the last range, before wall_ms.
    int64_t u = asp_calendar_wall (self, b + business_ms);
    return u < 0? -1: u > wall_ms? u: wall_ms;
}

int64_t
asp_calendar_between (const asp_calendar_t *self, int64_t from_ms, int64_t to_ms)
{
    int64_t a = asp_calendar_business (self, from_ms), b = asp_calendar_business (self, to_ms);
    return a < 0 || b < 0? INT64_MIN: b - a;
}

bool
asp_calendar_working (const asp_calendar_t *self, int64_t wall_ms)
{
    int i = s_day_of (self, wall_ms);
    if (i < 0 || self->all_day)
        return i >= 0;
    int64_t off = wall_ms - self->start [i];
    for (int k = 0; k < self->nranges [i]; k++)
        if (off >= self->ranges [i].from [k] && off < self->ranges [i].to [k])
            return true;
    return false;
}

//  The first day from i on with working time, or ASP_CAL_DAYS.
static int
s_next_work (const asp_calendar_t *self, int i)
{
    while (i < ASP_CAL_DAYS && !self->all_day && self->nranges [i] == 0)
        i++;
    return i;
}

int64_t
asp_calendar_at (const asp_calendar_t *self, int64_t wall_ms, int days, int hh, int mm,
                 bool working_days)
{
    int i = s_day_of (self, wall_ms);
    if (i < 0 || days < 0 || hh < 0 || hh > 23 || mm < 0 || mm > 59)
        return -1;
    if (!working_days)
        i = days > ASP_CAL_DAYS? ASP_CAL_DAYS: i + days;
    else if (days == 0)
        i = s_next_work (self, i);          //  today if it works
    else
        for (int n = 0; n < days && i < ASP_CAL_DAYS; n++)
            i = s_next_work (self, i + 1);  //  working days after today
    if (i >= ASP_CAL_DAYS)
        return -1;
    int64_t u = s_wall_of_local (self, s_local_day (i) + (hh * 60 + mm) * 60000LL);
    return asp_calendar_covers (self, u)? u: -1;
}

void
asp_calendar_local (const asp_calendar_t *self, int64_t wall_ms, char *out, size_t len)
{
    int64_t local = wall_ms + s_off (self, wall_ms);
    int64_t day = local >= 0? local / DAY_MS: (local - DAY_MS + 1) / DAY_MS;
    int64_t minute = (local - day * DAY_MS) / 60000;
    int y, m, d;
    s_civil_from_days (day, &y, &m, &d);
    snprintf (out, len, "%04d-%02d-%02d %02d:%02d", y, m, d, (int) (minute / 60), (int) (minute % 60));
}

//  --- self-test --------------------------------------------------------------

static bool
s_streq (const char *a, const char *b)
{
    return strcmp (a, b) == 0;
}

//  Wall ms of a UTC date and time.
static int64_t
s_utc (int y, int m, int d, int hh, int mm)
{
    return s_days_from_civil (y, m, d) * DAY_MS + (hh * 60 + mm) * 60000LL;
}

//  Asserts that the builder refuses spec (hours, holiday or workday) with
//  a why containing expect, and changes nothing (the builder stays usable).
static void
s_test_refused (asp_calbuild_t *b, int (*fn) (asp_calbuild_t *, const char *, char *, size_t),
                const char *spec, const char *expect)
{
    char why [256] = "";
    int rc = fn (b, spec, why, sizeof why);
    if (rc != -1 || !strstr (why, expect))
        fprintf (stderr, "calendar: \"%s\": rc %d why \"%s\", expected \"%s\"\n", spec, rc, why, expect);
    assert (rc == -1 && strstr (why, expect));
}

static void
s_test_refusals (void)
{
    char why [256];
    assert (!asp_calbuild_new ("x", "Mars/Olympus_Mons", why, sizeof why));
    assert (strstr (why, "unknown time zone \"Mars/Olympus_Mons\""));
    assert (!asp_calbuild_new ("x", "Asia", why, sizeof why));          //  a folder
    assert (!asp_calbuild_new ("x", "../../etc/passwd", why, sizeof why) && strstr (why, "bad time zone"));
    assert (!asp_calbuild_new ("x", "", why, sizeof why));
    assert (!asp_calbuild_new ("", "UTC", why, sizeof why) && strstr (why, "name"));
    assert (!asp_calendar_new_24x7 ("x", "Nowhere/City", why, sizeof why) && strstr (why, "unknown time zone"));

    asp_calbuild_t *b = asp_calbuild_new ("cn", "Asia/Shanghai", why, sizeof why);
    assert (b);
    assert (asp_calbuild_hours (b, "mon-fri 09:00-18:00", why, sizeof why) == 0);
    s_test_refused (b, asp_calbuild_hours, "mon 25:00-26:00", "no such time 25:00");
    s_test_refused (b, asp_calbuild_hours, "mon 09:00-24:30", "no such time 24:30");
    s_test_refused (b, asp_calbuild_hours, "mon 18:00-09:00", "start is not before the end");
    s_test_refused (b, asp_calbuild_hours, "mon 09:00-09:00", "start is not before the end");
    s_test_refused (b, asp_calbuild_hours, "mon 9:00-18:00", "HH:MM-HH:MM");
    s_test_refused (b, asp_calbuild_hours, "mon 09:00-13:00 12:00-18:00", "overlap");
    s_test_refused (b, asp_calbuild_hours, "mon 01:00-02:00 03:00-04:00 05:00-06:00 07:00-08:00 09:00-10:00",
                    "more than 4 ranges");
    s_test_refused (b, asp_calbuild_hours, "monday 09:00-18:00", "bad days \"monday\"");
    s_test_refused (b, asp_calbuild_hours, "fri-mon 09:00-18:00", "bad days \"fri-mon\"");
    s_test_refused (b, asp_calbuild_hours, "mon", "no hours given");
    s_test_refused (b, asp_calbuild_hours, "sun closed 09:00-10:00", "takes no hours");
    s_test_refused (b, asp_calbuild_hours, "", "empty hours");
    s_test_refused (b, asp_calbuild_holiday, "2026-02-30", "no such date \"2026-02-30\"");
    s_test_refused (b, asp_calbuild_holiday, "2026-13-01", "no such date");
    s_test_refused (b, asp_calbuild_holiday, "2026-1-01", "bad date");
    s_test_refused (b, asp_calbuild_holiday, "2019-12-31", "outside the calendar's range 2020-01-01..2050-01-22");
    s_test_refused (b, asp_calbuild_holiday, "2050-01-23", "outside");
    s_test_refused (b, asp_calbuild_holiday, "2026-10-08..2026-10-01", "ends before it starts");
    s_test_refused (b, asp_calbuild_holiday, "2026-10-01 09:00-18:00", "unexpected");
    s_test_refused (b, asp_calbuild_holiday, "2026-10-01, 2026-02-30", "no such date");   //  nothing marked
    s_test_refused (b, asp_calbuild_holiday, "", "bad date");
    s_test_refused (b, asp_calbuild_workday, "2026-09-27 closed", "cannot be closed");
    s_test_refused (b, asp_calbuild_workday, "2026-09-27 25:00-26:00", "no such time 25:00");
    s_test_refused (b, asp_calbuild_workday, "2026-09-27, 2026-10-32", "no such date");
    asp_calendar_t *cal = asp_calbuild_build (&b, why, sizeof why);
    assert (cal && !b);
    //  The refused lines changed nothing: Thursday 2026-10-01 works, Monday
    //  2026-09-28 is still 09:00-18:00 (CST is UTC+8), Sunday 09-27 is off.
    assert (asp_calendar_working (cal, s_utc (2026, 10, 1, 2, 0)));
    assert (asp_calendar_between (cal, s_utc (2026, 9, 28, 0, 0), s_utc (2026, 9, 29, 0, 0)) == 9 * HOUR_MS);
    assert (!asp_calendar_working (cal, s_utc (2026, 9, 27, 2, 0)));
    asp_calendar_destroy (&cal);
    assert (!cal);

    b = asp_calbuild_new ("both", "UTC", why, sizeof why);
    assert (asp_calbuild_hours (b, "mon-fri 09:00-18:00", why, sizeof why) == 0);
    assert (asp_calbuild_holiday (b, "2026-10-01..2026-10-08", why, sizeof why) == 0);
    assert (asp_calbuild_workday (b, "2026-10-10, 2026-10-03", why, sizeof why) == 0);
    assert (!asp_calbuild_build (&b, why, sizeof why) && !b);
    assert (strstr (why, "2026-10-03 is both a holiday and a make-up working day"));

    b = asp_calbuild_new ("idle", "UTC", why, sizeof why);
    assert (asp_calbuild_hours (b, "mon-sun closed", why, sizeof why) == 0);
    assert (!asp_calbuild_build (&b, why, sizeof why) && !b && strstr (why, "no working time"));
    b = asp_calbuild_new ("idle", "UTC", why, sizeof why);
    assert (!asp_calbuild_build (&b, why, sizeof why) && strstr (why, "no working time"));
    asp_calbuild_destroy (&b);                      //  NULL: nothing to do
}

//  Weekends, business arithmetic and the edges of the range, in UTC.
static void
s_test_utc (void)
{
    char why [256], local [32];
    asp_calbuild_t *b = asp_calbuild_new ("office", "UTC", why, sizeof why);
    assert (b && asp_calbuild_hours (b, "mon-fri 09:00-18:00", why, sizeof why) == 0);
    asp_calendar_t *cal = asp_calbuild_build (&b, why, sizeof why);
    assert (cal && !asp_calendar_is_24x7 (cal));
    assert (s_streq (asp_calendar_name (cal), "office") && s_streq (asp_calendar_zone (cal), "UTC"));
    int64_t fri17 = s_utc (2026, 1, 2, 17, 0), mon10 = s_utc (2026, 1, 5, 10, 0);
    assert (asp_calendar_add (cal, fri17, 2 * HOUR_MS) == mon10);
    assert (asp_calendar_between (cal, fri17, mon10) == 2 * HOUR_MS);
    assert (asp_calendar_between (cal, mon10, fri17) == -2 * HOUR_MS);
    //  Flat over the weekend; wall () gives the earliest instant: Friday 18:00.
    int64_t fri18 = s_utc (2026, 1, 2, 18, 0), sat12 = s_utc (2026, 1, 3, 12, 0);
    int64_t mon09 = s_utc (2026, 1, 5, 9, 0);
    assert (asp_calendar_business (cal, sat12) == asp_calendar_business (cal, fri18));
    assert (asp_calendar_business (cal, mon09) == asp_calendar_business (cal, fri18));
    assert (asp_calendar_wall (cal, asp_calendar_business (cal, sat12)) == fri18);
    assert (asp_calendar_add (cal, sat12, 0) == sat12);
    assert (asp_calendar_add (cal, sat12, 1) == mon09 + 1);
    assert (asp_calendar_add (cal, fri18, 9 * HOUR_MS) == s_utc (2026, 1, 5, 18, 0));
    assert (asp_calendar_add (cal, fri17, -1) == -1);
    assert (!asp_calendar_working (cal, sat12) && asp_calendar_working (cal, mon09));
    assert (!asp_calendar_working (cal, s_utc (2026, 1, 5, 18, 0)));
    assert (asp_calendar_working (cal, s_utc (2026, 1, 5, 17, 59)));
    //  A week is 45 h; the origin is 2020-01-01 00:00 UTC.
    assert (asp_calendar_between (cal, mon09, mon09 + 7 * DAY_MS) == 45 * HOUR_MS);
    assert (asp_calendar_business (cal, s_utc (2020, 1, 1, 0, 0)) == 0);
    assert (asp_calendar_wall (cal, 0) == s_utc (2020, 1, 1, 0, 0));
    assert (asp_calendar_wall (cal, 1) == s_utc (2020, 1, 1, 9, 0) + 1);
    asp_calendar_local (cal, mon10 + 59999, local, sizeof local);
    assert (s_streq (local, "2026-01-05 10:00"));
    //  Outside the range: errors, never guesses.
    int64_t before = s_utc (2019, 12, 31, 23, 59), after = s_utc (2050, 1, 23, 0, 0);
    assert (!asp_calendar_covers (cal, before) && !asp_calendar_covers (cal, after));
    assert (asp_calendar_covers (cal, after - 1));
    assert (asp_calendar_business (cal, before) == -1 && asp_calendar_business (cal, after) == -1);
    assert (asp_calendar_between (cal, before, mon10) == INT64_MIN);
    assert (asp_calendar_wall (cal, -1) == -1 && asp_calendar_wall (cal, INT64_MAX / 4) == -1);
    assert (asp_calendar_add (cal, mon10, 30LL * 366 * DAY_MS) == -1);
    assert (asp_calendar_add (cal, mon10, INT64_MAX) == -1);
    assert (asp_calendar_at (cal, before, 0, 10, 0, false) == -1);
    assert (asp_calendar_at (cal, s_utc (2050, 1, 20, 0, 0), 5, 10, 0, false) == -1);
    assert (asp_calendar_at (cal, mon10, 20000, 10, 0, true) == -1);
    assert (!asp_calendar_working (cal, after));
    //  The last instant with B = the total is still an answer.
    int64_t total = asp_calendar_business (cal, after - 1);
    assert (asp_calendar_wall (cal, total) <= after - 1 && asp_calendar_wall (cal, total + 1) == -1);
    asp_calendar_destroy (&cal);

    cal = asp_calendar_new_24x7 ("utc24", "UTC", why, sizeof why);
    assert (cal && asp_calendar_is_24x7 (cal));
    assert (asp_calendar_business (cal, sat12) == sat12 - s_utc (2020, 1, 1, 0, 0));
    assert (asp_calendar_add (cal, fri17, 2 * HOUR_MS) == fri17 + 2 * HOUR_MS);
    assert (asp_calendar_working (cal, sat12) && !asp_calendar_working (cal, before));
    assert (asp_calendar_wall (cal, asp_calendar_business (cal, sat12)) == sat12);
    //  Every day counts as a working day.
    assert (asp_calendar_at (cal, fri17, 1, 10, 0, true) == s_utc (2026, 1, 3, 10, 0));
    assert (asp_calendar_at (cal, fri17, 0, 10, 0, false) == s_utc (2026, 1, 2, 10, 0));
    assert (asp_calendar_wall (cal, -1) == -1);
    asp_calendar_destroy (&cal);
}

//  The mainland-China calendar: National Day, its make-up days, a lunch break.
static asp_calendar_t *
s_test_cn_new (const char *hours)
{
    char why [256];
    asp_calbuild_t *b = asp_calbuild_new ("cn", "Asia/Shanghai", why, sizeof why);
    assert (b);
    assert (asp_calbuild_hours (b, "mon-sun 08:00-20:00", why, sizeof why) == 0);
    assert (asp_calbuild_hours (b, hours, why, sizeof why) == 0);       //  replaces
    assert (asp_calbuild_hours (b, "sat,sun closed", why, sizeof why) == 0);
    assert (asp_calbuild_holiday (b, "2026-10-01..2026-10-08, 2026-02-15..2026-02-23", why, sizeof why) == 0);
    assert (asp_calbuild_workday (b, "2026-09-27, 2026-10-10", why, sizeof why) == 0);
    assert (asp_calbuild_workday (b, "2026-02-14", why, sizeof why) == 0);
    assert (asp_calbuild_workday (b, "2026-02-28 08:00-10:00", why, sizeof why) == 0);
    assert (asp_calbuild_workday (b, "2026-02-28 10:00-16:00", why, sizeof why) == 0);  //  a later line wins
    asp_calendar_t *cal = asp_calbuild_build (&b, why, sizeof why);
    assert (cal);
    return cal;
}

//  Local time in Shanghai (UTC+8, no daylight saving since 1991).
static int64_t
s_cst (int y, int m, int d, int hh, int mm)
{
    return s_utc (y, m, d, hh, mm) - 8 * HOUR_MS;
}

static void
s_test_cn (void)
{
    asp_calendar_t *cal = s_test_cn_new ("mon-fri 09:00-18:00");
    //  Wednesday 09-30 17:00 + 4 h: 1 h that day, the holiday, Friday 10-09 12:00.
    assert (asp_calendar_add (cal, s_cst (2026, 9, 30, 17, 0), 4 * HOUR_MS) == s_cst (2026, 10, 9, 12, 0));
    assert (!asp_calendar_working (cal, s_cst (2026, 10, 5, 10, 0)));  //  a Monday of the holiday
    assert (asp_calendar_between (cal, s_cst (2026, 10, 1, 0, 0), s_cst (2026, 10, 9, 0, 0)) == 0);
    //  Make-up days work with Monday's hours: Saturday 09-26 10:00 + 1 h is
    //  Sunday 09-27 10:00; Friday 10-09 17:00 + 2 h is Saturday 10-10 10:00.
    assert (asp_calendar_working (cal, s_cst (2026, 9, 27, 9, 0)));
    assert (!asp_calendar_working (cal, s_cst (2026, 9, 27, 18, 0)));
    assert (asp_calendar_add (cal, s_cst (2026, 9, 26, 10, 0), HOUR_MS) == s_cst (2026, 9, 27, 10, 0));
    assert (asp_calendar_add (cal, s_cst (2026, 10, 9, 17, 0), 2 * HOUR_MS) == s_cst (2026, 10, 10, 10, 0));
    //  A make-up day with its own hours (the later line): 6 h.
    assert (asp_calendar_between (cal, s_cst (2026, 2, 28, 0, 0), s_cst (2026, 3, 1, 0, 0)) == 6 * HOUR_MS);
    assert (asp_calendar_working (cal, s_cst (2026, 2, 28, 15, 59)));
    assert (!asp_calendar_working (cal, s_cst (2026, 2, 28, 9, 0)));
    assert (asp_calendar_between (cal, s_cst (2026, 2, 14, 0, 0), s_cst (2026, 2, 15, 0, 0)) == 9 * HOUR_MS);
    //  Fixed times: +Nd counts days, +Nwd working days (skipping weekends
    //  and holidays, counting make-up days).
    int64_t fri = s_cst (2026, 9, 25, 15, 0), wed = s_cst (2026, 9, 30, 10, 0);
    assert (asp_calendar_at (cal, fri, 1, 10, 0, false) == s_cst (2026, 9, 26, 10, 0));
    assert (asp_calendar_at (cal, fri, 0, 10, 0, false) == s_cst (2026, 9, 25, 10, 0));
    assert (asp_calendar_at (cal, fri, 3, 18, 0, true) == s_cst (2026, 9, 29, 18, 0));   //  Sun 27 worked
    assert (asp_calendar_at (cal, fri, 1, 18, 0, true) == s_cst (2026, 9, 27, 18, 0));   //  lands on it
    assert (asp_calendar_at (cal, wed, 1, 10, 0, false) == s_cst (2026, 10, 1, 10, 0));
    assert (asp_calendar_at (cal, wed, 1, 10, 0, true) == s_cst (2026, 10, 9, 10, 0));
    assert (asp_calendar_at (cal, wed, 2, 10, 0, true) == s_cst (2026, 10, 10, 10, 0));  //  Saturday, worked
    assert (asp_calendar_at (cal, wed, 0, 10, 0, true) == wed);
    assert (asp_calendar_at (cal, s_cst (2026, 10, 3, 12, 0), 0, 9, 30, true) == s_cst (2026, 10, 9, 9, 30));
    assert (asp_calendar_at (cal, wed, 0, 24, 0, false) == -1 && asp_calendar_at (cal, wed, 0, 10, 60, false) == -1);
    assert (asp_calendar_at (cal, wed, -1, 10, 0, false) == -1 && asp_calendar_at (cal, wed, 0, -1, 0, true) == -1);
    char local [32];
    asp_calendar_local (cal, s_cst (2026, 10, 1, 9, 30), local, sizeof local);
    assert (s_streq (local, "2026-10-01 09:30"));
    asp_calendar_destroy (&cal);

    //  Two ranges a day: the lunch break does not count.
    cal = s_test_cn_new ("mon-fri 09:00-12:00 13:00-18:00");
    int64_t mon11 = s_cst (2026, 9, 28, 11, 0);
    assert (asp_calendar_add (cal, mon11, 2 * HOUR_MS) == s_cst (2026, 9, 28, 14, 0));
    assert (asp_calendar_between (cal, mon11, s_cst (2026, 9, 28, 14, 0)) == 2 * HOUR_MS);
    assert (asp_calendar_add (cal, mon11, HOUR_MS) == s_cst (2026, 9, 28, 12, 0));
    assert (!asp_calendar_working (cal, s_cst (2026, 9, 28, 12, 30)));
    assert (asp_calendar_working (cal, s_cst (2026, 9, 28, 13, 0)));
    assert (asp_calendar_wall (cal, asp_calendar_business (cal, s_cst (2026, 9, 28, 12, 30)))
            == s_cst (2026, 9, 28, 12, 0));
    assert (asp_calendar_between (cal, s_cst (2026, 9, 28, 0, 0), s_cst (2026, 9, 29, 0, 0)) == 8 * HOUR_MS);
    //  The make-up day has Monday's two ranges.
    assert (!asp_calendar_working (cal, s_cst (2026, 9, 27, 12, 30)));
    asp_calendar_destroy (&cal);
}

//  Europe/Berlin across 2026's switches: Sunday 03-29 has 23 h (02:00
//  CET -> 03:00 CEST at 01:00 UTC), Sunday 10-25 has 25 h (03:00 CEST ->
//  02:00 CET at 01:00 UTC). Business time is real time in both.
static void
s_test_dst (void)
{
    char why [256], local [32];
    asp_calbuild_t *b = asp_calbuild_new ("de", "Europe/Berlin", why, sizeof why);
    assert (b && asp_calbuild_hours (b, "mon-sun 01:00-04:00 09:00-18:00", why, sizeof why) == 0);
    asp_calendar_t *cal = asp_calbuild_build (&b, why, sizeof why);
    assert (cal);
    //  Local midnights: 03-28 23:00 UTC (CET), 03-29 22:00 UTC (CEST) ...
    int64_t m28 = s_utc (2026, 3, 27, 23, 0), m29 = s_utc (2026, 3, 28, 23, 0), m30 = s_utc (2026, 3, 29, 22, 0);
    assert (asp_calendar_between (cal, m28, m29) == 12 * HOUR_MS);
    //  01:00-04:00 is 00:00-02:00 UTC: 2 h; 09:00-18:00 CEST 9 h.
    assert (asp_calendar_between (cal, m29, m30) == 11 * HOUR_MS);
    assert (asp_calendar_working (cal, s_utc (2026, 3, 29, 1, 30)));        //  03:30 CEST
    assert (!asp_calendar_working (cal, s_utc (2026, 3, 29, 2, 0)));        //  04:00 CEST
    assert (asp_calendar_add (cal, s_utc (2026, 3, 29, 0, 30), HOUR_MS) == s_utc (2026, 3, 29, 1, 30));
    assert (asp_calendar_add (cal, s_utc (2026, 3, 29, 0, 30), 2 * HOUR_MS) == s_utc (2026, 3, 29, 7, 30));
    assert (asp_calendar_between (cal, s_utc (2026, 3, 29, 7, 0), s_utc (2026, 3, 29, 16, 0)) == 9 * HOUR_MS);
    //  10-25: 01:00 CEST = 23:00 UTC on the 24th to 04:00 CET = 03:00 UTC: 4 h.
    int64_t m25 = s_utc (2026, 10, 24, 22, 0), m26 = s_utc (2026, 10, 25, 23, 0);
    assert (asp_calendar_between (cal, m25, m26) == 13 * HOUR_MS);
    assert (asp_calendar_between (cal, s_utc (2026, 10, 25, 8, 0), s_utc (2026, 10, 25, 17, 0)) == 9 * HOUR_MS);
    assert (asp_calendar_add (cal, s_utc (2026, 10, 24, 23, 0), 4 * HOUR_MS) == s_utc (2026, 10, 25, 3, 0));
    asp_calendar_local (cal, s_utc (2026, 3, 29, 1, 0), local, sizeof local);
    assert (s_streq (local, "2026-03-29 03:00"));
    asp_calendar_local (cal, s_utc (2026, 10, 25, 0, 30), local, sizeof local);
    assert (s_streq (local, "2026-10-25 02:30"));
    asp_calendar_local (cal, s_utc (2026, 10, 25, 1, 30), local, sizeof local);
    assert (s_streq (local, "2026-10-25 02:30"));
    asp_calendar_destroy (&cal);

    //  Open all day: the days themselves are 23 and 25 h.
    b = asp_calbuild_new ("de-all", "Europe/Berlin", why, sizeof why);
    assert (b && asp_calbuild_hours (b, "mon-sun 00:00-24:00", why, sizeof why) == 0);
    cal = asp_calbuild_build (&b, why, sizeof why);
    assert (asp_calendar_between (cal, m29, m30) == 23 * HOUR_MS);
    assert (asp_calendar_between (cal, m25, m26) == 25 * HOUR_MS);
    asp_calendar_destroy (&cal);

    //  24x7: fixed times in the zone; 02:30 is skipped on 03-29 (the
    //  switch instant answers) and repeated on 10-25 (the first one).
    cal = asp_calendar_new_24x7 ("de24", "Europe/Berlin", why, sizeof why);
    assert (cal && asp_calendar_between (cal, m29, m30) == 23 * HOUR_MS);
    int64_t sat = s_utc (2026, 3, 28, 11, 0);
    assert (asp_calendar_at (cal, sat, 1, 10, 0, false) == s_utc (2026, 3, 29, 8, 0));
    assert (asp_calendar_at (cal, sat, 0, 10, 0, false) == s_utc (2026, 3, 28, 9, 0));
    assert (asp_calendar_at (cal, sat, 1, 2, 30, false) == s_utc (2026, 3, 29, 1, 0));
    assert (asp_calendar_at (cal, m25, 0, 2, 30, false) == s_utc (2026, 10, 25, 0, 30));
    assert (asp_calendar_at (cal, m25, 0, 3, 0, false) == s_utc (2026, 10, 25, 2, 0));
    assert (asp_calendar_at (cal, m25, 1, 0, 0, false) == m26);
    asp_calendar_destroy (&cal);
}

//  A reproducible generator for the property loops (xorshift64).
static uint64_t
s_rand (uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

//  The laws of a business clock at many random instants: wall () inverts
//  B on its range and gives the earliest instant; B is monotone; add ()
//  reaches exactly its target, the last ms before it was worked, never
//  before the start; add (t, between (t, u)) is at most u.
static void
s_test_laws (const asp_calendar_t *cal, uint64_t seed)
{
    int64_t lo = s_utc (2020, 1, 1, 0, 0), span = s_utc (2049, 12, 1, 0, 0) - lo;
    for (int n = 0; n < 20000; n++) {
        int64_t t = lo + (int64_t) (s_rand (&seed) % (uint64_t) span);
        int64_t u = t + (int64_t) (s_rand (&seed) % (uint64_t) (40 * DAY_MS));
        int64_t ms = (int64_t) (s_rand (&seed) % (uint64_t) (30 * DAY_MS));
        if (n % 4 == 0)
            t -= t % 60000;                 //  on the minute: range edges
        int64_t bt = asp_calendar_business (cal, t), bu = asp_calendar_business (cal, u);
        assert (bt >= 0 && bu >= bt);
        int64_t w = asp_calendar_wall (cal, bt);
        assert (w <= t && asp_calendar_business (cal, w) == bt);
        assert (bt == 0? w == asp_calendar_wall (cal, 0): asp_calendar_business (cal, w - 1) == bt - 1);
        int64_t d = asp_calendar_between (cal, t, u);
        int64_t a = asp_calendar_add (cal, t, d);
        assert (a >= t && a <= u && asp_calendar_business (cal, a) == bu);
        int64_t due = asp_calendar_add (cal, t, ms);
        if (due < 0)
            continue;                       //  past 2050-01-22
        assert (due >= t && asp_calendar_business (cal, due) == bt + ms);
        assert (ms == 0 || asp_calendar_business (cal, due - 1) == bt + ms - 1);
        assert (asp_calendar_working (cal, t) == (asp_calendar_business (cal, t + 1) == bt + 1));
    }
}

void
asp_calendar_test (void)
{
    //  Building leaves TZ as it found it, set or not.
    const char *tz = getenv ("TZ");
    char *saved = tz? strdup (tz): NULL;
    setenv ("TZ", "America/New_York", 1);
    s_test_refusals ();
    assert (s_streq (getenv ("TZ"), "America/New_York"));
    unsetenv ("TZ");
    s_test_utc ();
    assert (!getenv ("TZ"));
    s_test_cn ();
    s_test_dst ();

    char why [256];
    asp_calendar_t *cals [5];
    cals [0] = s_test_cn_new ("mon-fri 09:00-12:00 13:00-18:00");
    cals [1] = asp_calendar_new_24x7 ("utc24", "UTC", why, sizeof why);
    asp_calbuild_t *b = asp_calbuild_new ("de", "Europe/Berlin", why, sizeof why);
    assert (asp_calbuild_hours (b, "mon-sun 01:00-04:00 09:00-18:00", why, sizeof why) == 0);
    cals [2] = asp_calbuild_build (&b, why, sizeof why);
    b = asp_calbuild_new ("ny", "America/New_York", why, sizeof why);
    assert (asp_calbuild_hours (b, "sun 00:00-02:30 23:00-24:00", why, sizeof why) == 0);
    assert (asp_calbuild_holiday (b, "2026-12-27", why, sizeof why) == 0);
    cals [3] = asp_calbuild_build (&b, why, sizeof why);
    cals [4] = asp_calendar_new_24x7 ("lhi", "Australia/Lord_Howe", why, sizeof why);   //  30 min switches
    //  New York's switches are at 02:00 local on Sundays: 02:30 is skipped
    //  on 03-08 (the range ends at the switch, 07:00 UTC) and comes twice
    //  on 11-01 (the second one, EST, ends it: 07:30 UTC).
    int64_t ny = s_utc (2026, 3, 8, 5, 0);
    assert (asp_calendar_between (cals [3], ny, ny + DAY_MS) == 3 * HOUR_MS);
    assert (asp_calendar_add (cals [3], ny, 2 * HOUR_MS) == s_utc (2026, 3, 8, 7, 0));
    assert (asp_calendar_add (cals [3], ny, 2 * HOUR_MS + 1) == s_utc (2026, 3, 9, 3, 0) + 1);
    ny = s_utc (2026, 11, 1, 4, 0);
    assert (asp_calendar_between (cals [3], ny, ny + 2 * DAY_MS) == 4 * HOUR_MS + 30 * 60000);
    assert (asp_calendar_at (cals [3], ny, 0, 1, 30, false) == s_utc (2026, 11, 1, 5, 30));
    assert (asp_calendar_at (cals [3], ny, 0, 2, 30, false) == s_utc (2026, 11, 1, 7, 30));
    assert (asp_calendar_at (cals [3], ny, 0, 0, 0, false) == ny);
    for (int i = 0; i < 5; i++) {
        assert (cals [i]);
        s_test_laws (cals [i], 0x9E3779B97F4A7C15ULL + (uint64_t) i);
        asp_calendar_destroy (&cals [i]);
    }
    if (saved)
        setenv ("TZ", saved, 1);
    else
        unsetenv ("TZ");
    tzset ();
    free (saved);
}
