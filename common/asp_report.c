#include "asp_report.h"
#include "asp_config.h"
#include "asp_keys.h"
#include <assert.h>
#include <czmq.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  The counts read, as common.lua names them.
typedef enum {
    S_CREATED, S_COMPLETED, S_FIXED, S_REDONE, S_REPEATS, S_INSTALLS, S_INSTALL_RETURNS,
    S_SURVEYS, S_SCORE_SUM, S_ARRIVALS, S_LATE_ARRIVALS, S_COMPLAINTS, S_BREACHES, S_WARNED,
    S_COMPENSATION, S_COUNTS
} s_count_t;

static const char *s_count_names [S_COUNTS] = {
    "created", "completed", "fixed", "redone", "repeats", "installs", "install_returns",
    "surveys", "score_sum", "arrivals", "late_arrivals", "complaints", "breaches", "warned",
    "compensation"
};

static const char s_letters [] = { [ASP_REPORT_BY_REGION] = 'r', [ASP_REPORT_BY_PARTNER] = 'p',
                                   [ASP_REPORT_BY_CATEGORY] = 'c' };
static const char *s_by_names [] = { [ASP_REPORT_BY_REGION] = "region", [ASP_REPORT_BY_PARTNER] = "partner",
                                     [ASP_REPORT_BY_CATEGORY] = "category" };

//  A group's sums: over the period (report), or the recent window and the
//  baseline (warning).
typedef struct {
    char id [ASP_REPORT_GROUP_MAX + 2];     //  "<letter>|<id>"
    int64_t sum [2][S_COUNTS];
} s_group_t;

//  A count field split: "[m]<n>|<count>|<letter>|<id>".
typedef struct {
    int64_t n;                  //  the day, or the month yyyymm
    s_count_t count;
    char letter;
    const char *id;
} s_field_t;

static int
s_field_parse (const char *f, s_field_t *out)
{
    if (*f == 'm')
        f++;
    char *end;
    out->n = strtoll (f, &end, 10);
    if (end == f || *end != '|')
        return -1;
    const char *count = end + 1, *bar = strchr (count, '|');
    if (!bar || !bar [1] || bar [2] != '|')
        return -1;
    for (int c = 0; c < S_COUNTS; c++)
        if (strlen (s_count_names [c]) == (size_t) (bar - count)
        &&  memcmp (s_count_names [c], count, (size_t) (bar - count)) == 0) {
            out->count = (s_count_t) c;
            out->letter = bar [1];
            out->id = bar + 3;
            return 0;
        }
    return -1;
}

//  Which fields a reader wants, and where each goes.
typedef bool (s_want_fn) (const s_field_t *field, void *arg);
typedef void (s_take_fn) (const s_field_t *field, int64_t value, void *arg);

//  Reads the fields of hash whose index scores are in [lo, hi] and that
//  want accepts, in every shard, two round trips: the index's members,
//  then the values of the wanted ones; take gets each. 0, or -1 when
//  Redis failed.
static int
s_read_fields (asp_rds_t *rds, const char *index, const char *hash, int64_t lo, int64_t hi,
               s_want_fn *want, s_take_fn *take, void *arg)
{
    char slo [24], shi [24];
    snprintf (slo, sizeof slo, "%lld", (long long) lo);
    snprintf (shi, sizeof shi, "%lld", (long long) hi);
    const char *argv [] = { "ZRANGEBYSCORE", index, slo, shi };
    redisReply *members [ASP_SHARDS];
    if (asp_rds_each_shard (rds, 4, argv, members))
        return -1;
    //  HMGET <hash> <wanted...> per shard that has any.
    const char **av [ASP_SHARDS] = { NULL };
    s_field_t *fields [ASP_SHARDS] = { NULL };
    size_t n [ASP_SHARDS] = { 0 };
    char keys [ASP_SHARDS][ASP_KEY_MAX];
    int rc = 0;
    for (unsigned s = 0; s < ASP_SHARDS && rc == 0; s++) {
        redisReply *m = members [s];
        av [s] = (const char **) calloc (m->elements + 2, sizeof (char *));
        fields [s] = (s_field_t *) calloc (m->elements + 1, sizeof (s_field_t));
        assert (av [s] && fields [s]);
        asp_key_fmt (keys [s], sizeof keys [s], s, "%s", hash);
        av [s][0] = "HMGET";
        av [s][1] = keys [s];
        for (size_t i = 0; i < m->elements; i++) {
            s_field_t f;
            if (m->element [i]->type == REDIS_REPLY_STRING && s_field_parse (m->element [i]->str, &f) == 0
            &&  want (&f, arg)) {
                fields [s][n [s]] = f;
                av [s][2 + n [s]++] = m->element [i]->str;
            }
        }
        if (n [s] && asp_rds_append (rds, (int) (2 + n [s]), av [s], NULL))
            rc = -1;
    }
    for (unsigned s = 0; s < ASP_SHARDS && rc == 0; s++) {
        if (!n [s])
            continue;
        redisReply *v = asp_rds_reply (rds);
        if (!v || v->type != REDIS_REPLY_ARRAY || v->elements != n [s])
            rc = -1;
        for (size_t i = 0; rc == 0 && i < n [s]; i++)
            if (v->element [i]->type == REDIS_REPLY_STRING)
                take (&fields [s][i], strtoll (v->element [i]->str, NULL, 10), arg);
        if (v)
            freeReplyObject (v);
    }
    if (rc)
        asp_rds_drop (rds);         //  replies may be pending: start clean
    for (unsigned s = 0; s < ASP_SHARDS; s++) {
        free (av [s]);
        free (fields [s]);
        freeReplyObject (members [s]);
    }
    return rc;
}

//  The group of field in groups (a new one when first seen).
static s_group_t *
s_group (zhashx_t *groups, const s_field_t *field)
{
    char id [sizeof ((s_group_t *) 0)->id];
    snprintf (id, sizeof id, "%c|%s", field->letter, field->id);
    s_group_t *g = (s_group_t *) zhashx_lookup (groups, id);
    if (!g) {
        g = (s_group_t *) calloc (1, sizeof *g);
        assert (g);
        snprintf (g->id, sizeof g->id, "%s", id);
        zhashx_insert (groups, id, g);
    }
    return g;
}

static void
s_group_free (void **item)
{
    free (*item);
    *item = NULL;
}

static int
s_by_id (const void *a, const void *b)
{
    return strcmp ((*(s_group_t *const *) a)->id, (*(s_group_t *const *) b)->id);
}

//  The groups, in order of id; a new array of borrowed pointers (caller
//  frees), *n its length.
static s_group_t **
s_sorted (zhashx_t *groups, size_t *n)
{
    *n = zhashx_size (groups);
    s_group_t **list = (s_group_t **) calloc (*n + 1, sizeof *list);
    assert (list);
    size_t i = 0;
    for (s_group_t *g = (s_group_t *) zhashx_first (groups); g; g = (s_group_t *) zhashx_next (groups))
        list [i++] = g;
    qsort (list, *n, sizeof *list, s_by_id);
    return list;
}

//  {rate (or the name given), numerator, denominator}; the value null
//  when the denominator is 0, else rounded to 4 decimals.
static void
s_ratio (cJSON *parent, const char *name, const char *value, int64_t num, int64_t den)
{
    cJSON *o = cJSON_AddObjectToObject (parent, name);
    if (den > 0)
        cJSON_AddNumberToObject (o, value, round ((double) num / (double) den * 10000.0) / 10000.0);
    else
        cJSON_AddNullToObject (o, value);
    cJSON_AddNumberToObject (o, "numerator", (double) num);
    cJSON_AddNumberToObject (o, "denominator", (double) den);
}

//  --------------------------------------------------------------------------
//  Reports

int
asp_report_period (const char *period, const char *at, int *first, int *last)
{
    if (!period)
        return -1;
    asp_report_period_t p = streq (period, "month")? ASP_REPORT_MONTH
                          : streq (period, "quarter")? ASP_REPORT_QUARTER
                          : streq (period, "year")? ASP_REPORT_YEAR: (asp_report_period_t) -1;
    if ((int) p < 0)
        return -1;
    int year = 0, part = 0, used = 0;
    if (!at || strlen (at) < 4)
        return -2;
    int got = p == ASP_REPORT_MONTH? sscanf (at, "%4d-%2d%n", &year, &part, &used)
            : p == ASP_REPORT_QUARTER? sscanf (at, "%4d-Q%1d%n", &year, &part, &used)
            : sscanf (at, "%4d%n", &year, &used);
    //  Exactly the form, digits where digits go ("2026-1" is not a month).
    size_t len = p == ASP_REPORT_MONTH? 7: p == ASP_REPORT_QUARTER? 7: 4;
    bool digits = true;
    for (size_t i = 0; i < len && i < strlen (at); i++)
        if ((i < 4 || (p == ASP_REPORT_MONTH && i > 4) || (p == ASP_REPORT_QUARTER && i == 6))
        &&  (at [i] < '0' || at [i] > '9'))
            digits = false;
    if (got != (p == ASP_REPORT_YEAR? 1: 2) || (size_t) used != strlen (at) || strlen (at) != len || !digits
    ||  year < 1970 || year > 9999)
        return -2;
    if (p == ASP_REPORT_MONTH && (part < 1 || part > 12))
        return -2;
    if (p == ASP_REPORT_QUARTER && (part < 1 || part > 4))
        return -2;
    *first = p == ASP_REPORT_MONTH? year * 100 + part
           : p == ASP_REPORT_QUARTER? year * 100 + 3 * part - 2: year * 100 + 1;
    *last = p == ASP_REPORT_MONTH? *first: p == ASP_REPORT_QUARTER? *first + 2: year * 100 + 12;
    return 0;
}

int
asp_report_by (const char *by, asp_report_by_t *out)
{
    for (int b = 0; by && b <= ASP_REPORT_BY_CATEGORY; b++)
        if (streq (by, s_by_names [b])) {
            *out = (asp_report_by_t) b;
            return 0;
        }
    return -1;
}

typedef struct {
    zhashx_t *groups;
    char letter;
} s_report_read_t;

static bool
s_report_want (const s_field_t *field, void *arg)
{
    return field->letter == ((s_report_read_t *) arg)->letter;
}

static void
s_report_take (const s_field_t *field, int64_t value, void *arg)
{
    s_group (((s_report_read_t *) arg)->groups, field)->sum [0][field->count] += value;
}

int
asp_report_read (asp_rds_t *rds, asp_report_by_t by, int first, int last, cJSON **out)
{
    *out = NULL;
    s_report_read_t read = { zhashx_new (), s_letters [by] };
    zhashx_t *groups = read.groups;
    zhashx_set_destructor (groups, s_group_free);
    if (s_read_fields (rds, ASP_REPORT_KEY_MONTH_INDEX, ASP_REPORT_KEY_MONTHS, first, last,
                       s_report_want, s_report_take, &read)) {
        zhashx_destroy (&groups);
        return -1;
    }
    size_t n;
    s_group_t **list = s_sorted (groups, &n);
    cJSON *array = cJSON_CreateArray ();
    for (size_t i = 0; i < n; i++) {
        const int64_t *c = list [i]->sum [0];
        cJSON *g = cJSON_CreateObject ();
        cJSON_AddStringToObject (g, "id", list [i]->id + 2);
        if (by == ASP_REPORT_BY_PARTNER)
            cJSON_AddNullToObject (g, "tickets_created");
        else
            cJSON_AddNumberToObject (g, "tickets_created", (double) c [S_CREATED]);
        cJSON_AddNumberToObject (g, "work_orders_completed", (double) c [S_COMPLETED]);
        //  Arrivals the customers judged, not late.
        s_ratio (g, "on_time", "rate", c [S_ARRIVALS] - c [S_LATE_ARRIVALS], c [S_ARRIVALS]);
        //  Work orders completed without a breach of a partner clock (the
        //  bus carries breaches, not every clock's stop).
        int64_t unbreached = c [S_COMPLETED] - c [S_BREACHES];
        s_ratio (g, "sla_compliance", "rate", unbreached > 0? unbreached: 0, c [S_COMPLETED]);
        s_ratio (g, "first_time_fix", "rate", c [S_FIXED] - c [S_REDONE], c [S_COMPLETED]);
        s_ratio (g, "repeat_repair", "rate", c [S_REPEATS], c [S_FIXED]);
        s_ratio (g, "install_return", "rate", c [S_INSTALL_RETURNS], c [S_INSTALLS]);
        s_ratio (g, "satisfaction", "mean", c [S_SCORE_SUM], c [S_SURVEYS]);
        cJSON_AddNumberToObject (g, "complaints", (double) c [S_COMPLAINTS]);
        cJSON_AddNumberToObject (g, "sla_warnings", (double) c [S_WARNED]);
        cJSON_AddNumberToObject (g, "sla_breaches", (double) c [S_BREACHES]);
        cJSON_AddNumberToObject (g, "compensation", (double) c [S_COMPENSATION]);
        cJSON_AddItemToArray (array, g);
    }
    free (list);
    zhashx_destroy (&groups);
    *out = array;
    return 0;
}

//  Appends one CSV field (quoted when it holds a comma, quote or line
//  break; quotes doubled), a comma before all but the first.
static void
s_csv_field (zchunk_t *out, const char *v, bool first)
{
    if (!first)
        zchunk_extend (out, ",", 1);
    if (!strpbrk (v, ",\"\r\n")) {
        zchunk_extend (out, v, strlen (v));
        return;
    }
    zchunk_extend (out, "\"", 1);
    for (const char *p = v; *p; p++) {
        zchunk_extend (out, p, 1);
        if (*p == '"')
            zchunk_extend (out, "\"", 1);
    }
    zchunk_extend (out, "\"", 1);
}

//  A JSON number as CSV shows it ('' for null).
static void
s_csv_number (zchunk_t *out, const cJSON *v)
{
    char num [32] = "";
    if (cJSON_IsNumber (v)) {
        double d = cJSON_GetNumberValue (v);
        if (d == floor (d) && fabs (d) < 1e15)
            snprintf (num, sizeof num, "%lld", (long long) d);
        else
            snprintf (num, sizeof num, "%.4f", d);
    }
    s_csv_field (out, num, false);
}

char *
asp_report_csv (const cJSON *groups, asp_report_by_t by)
{
    static const char *ratios [] = { "on_time", "sla_compliance", "first_time_fix", "repeat_repair",
                                     "install_return", "satisfaction" };
    static const char *plain [] = { "complaints", "sla_warnings", "sla_breaches", "compensation" };
    zchunk_t *out = zchunk_new (NULL, 1024);
    char name [64];
    s_csv_field (out, s_by_names [by], true);
    s_csv_field (out, "tickets_created", false);
    s_csv_field (out, "work_orders_completed", false);
    for (size_t r = 0; r < sizeof ratios / sizeof *ratios; r++) {
        snprintf (name, sizeof name, "%s_%s", ratios [r], streq (ratios [r], "satisfaction")? "mean": "rate");
        s_csv_field (out, name, false);
        snprintf (name, sizeof name, "%s_numerator", ratios [r]);
        s_csv_field (out, name, false);
        snprintf (name, sizeof name, "%s_denominator", ratios [r]);
        s_csv_field (out, name, false);
    }
    for (size_t p = 0; p < sizeof plain / sizeof *plain; p++)
        s_csv_field (out, plain [p], false);
    zchunk_extend (out, "\r\n", 2);
    const cJSON *g;
    cJSON_ArrayForEach (g, groups) {
        s_csv_field (out, cJSON_GetStringValue (cJSON_GetObjectItem (g, "id")), true);
        s_csv_number (out, cJSON_GetObjectItem (g, "tickets_created"));
        s_csv_number (out, cJSON_GetObjectItem (g, "work_orders_completed"));
        for (size_t r = 0; r < sizeof ratios / sizeof *ratios; r++) {
            const cJSON *o = cJSON_GetObjectItem (g, ratios [r]);
            s_csv_number (out, cJSON_GetObjectItem (o, streq (ratios [r], "satisfaction")? "mean": "rate"));
            s_csv_number (out, cJSON_GetObjectItem (o, "numerator"));
            s_csv_number (out, cJSON_GetObjectItem (o, "denominator"));
        }
        for (size_t p = 0; p < sizeof plain / sizeof *plain; p++)
            s_csv_number (out, cJSON_GetObjectItem (g, plain [p]));
        zchunk_extend (out, "\r\n", 2);
    }
    zchunk_extend (out, "", 1);
    char *text = strdup ((const char *) zchunk_data (out));
    assert (text);
    zchunk_destroy (&out);
    return text;
}

//  --------------------------------------------------------------------------
//  Early warning

void
asp_warn_config (asp_warn_config_t *config)
{
    config->recent_d = (int) asp_cfg_int ("ASP_WARN_RECENT_D", 7, 1, 90);
    config->baseline_d = (int) asp_cfg_int ("ASP_WARN_BASELINE_D", 30, 1, 90);
    config->min_volume = (int) asp_cfg_int ("ASP_WARN_MIN_VOLUME", 5, 1, 1000000);
    config->factor_pct = (int) asp_cfg_int ("ASP_WARN_FACTOR_PCT", 150, 100, 100000);
}

typedef struct {
    zhashx_t *groups;
    int64_t today, recent_d;
} s_warn_read_t;

static bool
s_warn_want (const s_field_t *field, void *arg)
{
    (void) arg;
    return (field->letter == 'p' || field->letter == 'r' || field->letter == 'c')
        && (field->count == S_COMPLETED || field->count == S_COMPLAINTS
         || field->count == S_BREACHES || field->count == S_WARNED);
}

static void
s_warn_take (const s_field_t *field, int64_t value, void *arg)
{
    s_warn_read_t *w = (s_warn_read_t *) arg;
    int recent = field->n > w->today - w->recent_d && field->n <= w->today? 0: 1;
    s_group (w->groups, field)->sum [recent][field->count] += value;
}

//  {rate, numerator, denominator} of the window.
static cJSON *
s_window (int64_t num, int64_t den)
{
    cJSON *holder = cJSON_CreateObject ();
    s_ratio (holder, "w", "rate", num, den);
    cJSON *w = cJSON_DetachItemFromObject (holder, "w");
    cJSON_Delete (holder);
    return w;
}

int
asp_warn_read (asp_rds_t *rds, const asp_warn_config_t *config, int64_t today, cJSON **out)
{
    *out = NULL;
    s_warn_read_t w = { zhashx_new (), today, config->recent_d };
    zhashx_set_destructor (w.groups, s_group_free);
    if (s_read_fields (rds, ASP_REPORT_KEY_DAY_INDEX, ASP_REPORT_KEY_DAYS,
                       today - config->recent_d - config->baseline_d + 1, today, s_warn_want, s_warn_take, &w)) {
        zhashx_destroy (&w.groups);
        return -1;
    }
    size_t n;
    s_group_t **list = s_sorted (w.groups, &n);
    cJSON *array = cJSON_CreateArray ();
    for (size_t i = 0; i < n; i++) {
        const int64_t *r = list [i]->sum [0], *b = list [i]->sum [1];
        if (r [S_COMPLETED] < config->min_volume)
            continue;
        //  Per metric: the numerators in the two windows (the
        //  denominator is the work orders completed in each).
        const struct { const char *name; int64_t recent, baseline; } metrics [] = {
            { "complaints", r [S_COMPLAINTS], b [S_COMPLAINTS] },
            { "sla", r [S_BREACHES] + r [S_WARNED], b [S_BREACHES] + b [S_WARNED] },
        };
        for (size_t m = 0; m < sizeof metrics / sizeof *metrics; m++) {
            //  recent / r_den > factor × baseline / b_den, in integers;
            //  an empty baseline counts as a rate of 0.
            int64_t rn = metrics [m].recent, bn = metrics [m].baseline;
            int64_t rd = r [S_COMPLETED], bd = b [S_COMPLETED];
            bool rising = rn > 0 && (bd == 0 || rn * bd * 100 > (int64_t) config->factor_pct * bn * rd);
            if (!rising)
                continue;
            cJSON *o = cJSON_CreateObject ();
            char letter = list [i]->id [0];
            cJSON_AddStringToObject (o, "scope", letter == 'p'? "partner": letter == 'r'? "region": "category");
            cJSON_AddStringToObject (o, "id", list [i]->id + 2);
            cJSON_AddStringToObject (o, "metric", metrics [m].name);
            cJSON_AddItemToObject (o, "recent", s_window (rn, rd));
            cJSON_AddItemToObject (o, "baseline", s_window (bn, bd));
            cJSON_AddNumberToObject (o, "factor_pct", config->factor_pct);
            cJSON_AddItemToArray (array, o);
        }
    }
    free (list);
    zhashx_destroy (&w.groups);
    *out = array;
    return 0;
}

//  --------------------------------------------------------------------------

void
asp_report_test (void)
{
    int first, last;
    assert (asp_report_period ("month", "2026-11", &first, &last) == 0 && first == 202611 && last == 202611);
    assert (asp_report_period ("quarter", "2026-Q4", &first, &last) == 0 && first == 202610 && last == 202612);
    assert (asp_report_period ("year", "2026", &first, &last) == 0 && first == 202601 && last == 202612);
    assert (asp_report_period ("week", "2026", &first, &last) == -1);
    assert (asp_report_period (NULL, "2026", &first, &last) == -1);
    assert (asp_report_period ("month", "2026-13", &first, &last) == -2);
    assert (asp_report_period ("month", "2026-1", &first, &last) == -2);
    assert (asp_report_period ("month", "2026-011", &first, &last) == -2);
    assert (asp_report_period ("month", "2026", &first, &last) == -2);
    assert (asp_report_period ("quarter", "2026-Q5", &first, &last) == -2);
    assert (asp_report_period ("year", "26", &first, &last) == -2);
    assert (asp_report_period ("year", "+026", &first, &last) == -2);
    assert (asp_report_period ("year", NULL, &first, &last) == -2);
    asp_report_by_t by;
    assert (asp_report_by ("partner", &by) == 0 && by == ASP_REPORT_BY_PARTNER);
    assert (asp_report_by ("type", &by) == -1 && asp_report_by (NULL, &by) == -1);

    s_field_t f;
    assert (s_field_parse ("m202611|completed|r|north|east", &f) == 0 && f.n == 202611
            && f.count == S_COMPLETED && f.letter == 'r' && streq (f.id, "north|east"));
    assert (s_field_parse ("20500|warned|p|P1", &f) == 0 && f.n == 20500 && f.count == S_WARNED);
    assert (s_field_parse ("20500|resolved|p|P1", &f) == -1);      //  not read here
    assert (s_field_parse ("20500|completed|pp|P1", &f) == -1);
    assert (s_field_parse ("x|completed|p|P1", &f) == -1);

    //  Against Redis: two shards' months, read and summed, CSV quoted.
    asp_rds_t *rds = asp_rds_new ();
    assert (asp_rds_ready (rds));
    char key [ASP_KEY_MAX], idx [ASP_KEY_MAX];
    const char *fields [][2] = {
        { "m202611|completed|r|north", "3" }, { "m202611|fixed|r|north", "3" },
        { "m202611|redone|r|north", "1" }, { "m202611|breaches|r|north", "1" },
        { "m202611|score_sum|r|north", "9" }, { "m202611|surveys|r|north", "2" },
        { "m202611|created|r|a,\"b\"", "1" }, { "m202610|completed|r|north", "5" },
        { "m202611|completed|p|P1", "7" },
    };
    for (unsigned s = 0; s < 2; s++) {
        asp_key_fmt (key, sizeof key, s, ASP_REPORT_KEY_MONTHS);
        asp_key_fmt (idx, sizeof idx, s, ASP_REPORT_KEY_MONTH_INDEX);
        freeReplyObject (asp_rds_cmd (rds, "DEL %s %s", key, idx));
        for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
            freeReplyObject (asp_rds_cmd (rds, "HSET %s %s %s", key, fields [i][0], fields [i][1]));
            freeReplyObject (asp_rds_cmd (rds, "ZADD %s %d %s", idx, atoi (fields [i][0] + 1), fields [i][0]));
        }
    }
    cJSON *groups;
    assert (asp_report_read (rds, ASP_REPORT_BY_REGION, 202611, 202611, &groups) == 0);
    assert (cJSON_GetArraySize (groups) == 2);
    cJSON *north = cJSON_GetArrayItem (groups, 1);
    assert (streq (cJSON_GetObjectItem (north, "id")->valuestring, "north"));
    assert (cJSON_GetObjectItem (north, "work_orders_completed")->valuedouble == 6);
    cJSON *ftf = cJSON_GetObjectItem (north, "first_time_fix");
    assert (cJSON_GetObjectItem (ftf, "numerator")->valuedouble == 4
            && cJSON_GetObjectItem (ftf, "denominator")->valuedouble == 6
            && cJSON_GetObjectItem (ftf, "rate")->valuedouble == 0.6667);
    assert (cJSON_IsNull (cJSON_GetObjectItem (cJSON_GetObjectItem (north, "on_time"), "rate")));
    assert (cJSON_GetObjectItem (cJSON_GetObjectItem (north, "satisfaction"), "mean")->valuedouble == 4.5);
    char *csv = asp_report_csv (groups, ASP_REPORT_BY_REGION);
    assert (strncmp (csv, "region,tickets_created,work_orders_completed,on_time_rate,", 58) == 0);
    assert (strstr (csv, "\r\n\"a,\"\"b\"\"\",2,0,,0,0,"));
    assert (strstr (csv, "\r\nnorth,0,6,,0,0,0.6667,4,6,0.6667,4,6,"));
    free (csv);
    cJSON_Delete (groups);
    assert (asp_report_read (rds, ASP_REPORT_BY_REGION, 202610, 202612, &groups) == 0);
    north = cJSON_GetArrayItem (groups, 1);
    assert (cJSON_GetObjectItem (north, "work_orders_completed")->valuedouble == 16);
    cJSON_Delete (groups);
    assert (asp_report_read (rds, ASP_REPORT_BY_PARTNER, 202611, 202611, &groups) == 0);
    assert (cJSON_GetArraySize (groups) == 1);
    assert (cJSON_IsNull (cJSON_GetObjectItem (cJSON_GetArrayItem (groups, 0), "tickets_created")));
    cJSON_Delete (groups);

    //  The early warning: P1 rising (3 complaints in 5 recent work orders
    //  against 1 in 10 before), P2 as much but below the volume.
    int64_t today = 20500;
    asp_warn_config_t config = { 7, 30, 5, 150 };
    asp_key_fmt (key, sizeof key, 0, ASP_REPORT_KEY_DAYS);
    asp_key_fmt (idx, sizeof idx, 0, ASP_REPORT_KEY_DAY_INDEX);
    freeReplyObject (asp_rds_cmd (rds, "DEL %s %s", key, idx));
    const char *days [][2] = {
        { "20500|completed|p|P1", "5" }, { "20498|complaints|p|P1", "3" },
        { "20480|completed|p|P1", "10" }, { "20480|complaints|p|P1", "1" },
        { "20460|complaints|p|P1", "50" },          //  before the baseline
        { "20500|completed|p|P2", "4" }, { "20500|complaints|p|P2", "3" },
        { "20500|completed|r|north", "5" }, { "20500|warned|r|north", "1" },
        { "20490|completed|r|north", "5" }, { "20490|breaches|r|north", "1" },
    };
    for (size_t i = 0; i < sizeof days / sizeof *days; i++) {
        freeReplyObject (asp_rds_cmd (rds, "HSET %s %s %s", key, days [i][0], days [i][1]));
        freeReplyObject (asp_rds_cmd (rds, "ZADD %s %d %s", idx, atoi (days [i][0]), days [i][0]));
    }
    cJSON *warnings;
    assert (asp_warn_read (rds, &config, today, &warnings) == 0);
    assert (cJSON_GetArraySize (warnings) == 1);
    cJSON *w = cJSON_GetArrayItem (warnings, 0);
    assert (streq (cJSON_GetObjectItem (w, "scope")->valuestring, "partner"));
    assert (streq (cJSON_GetObjectItem (w, "id")->valuestring, "P1"));
    assert (streq (cJSON_GetObjectItem (w, "metric")->valuestring, "complaints"));
    assert (cJSON_GetObjectItem (cJSON_GetObjectItem (w, "recent"), "rate")->valuedouble == 0.6);
    assert (cJSON_GetObjectItem (cJSON_GetObjectItem (w, "baseline"), "numerator")->valuedouble == 1);
    cJSON_Delete (warnings);
    //  north: 1 in 5 against 1 in 5 is not rising; at a factor of 100 % it
    //  still is not (equal is not above).
    config.factor_pct = 100;
    assert (asp_warn_read (rds, &config, today, &warnings) == 0);
    assert (cJSON_GetArraySize (warnings) == 1);
    cJSON_Delete (warnings);
    for (unsigned s = 0; s < 2; s++) {
        asp_key_fmt (key, sizeof key, s, ASP_REPORT_KEY_MONTHS);
        asp_key_fmt (idx, sizeof idx, s, ASP_REPORT_KEY_MONTH_INDEX);
        freeReplyObject (asp_rds_cmd (rds, "DEL %s %s", key, idx));
    }
    asp_key_fmt (key, sizeof key, 0, ASP_REPORT_KEY_DAYS);
    asp_key_fmt (idx, sizeof idx, 0, ASP_REPORT_KEY_DAY_INDEX);
    freeReplyObject (asp_rds_cmd (rds, "DEL %s %s", key, idx));
    asp_rds_destroy (&rds);
}
