/*  intake_warranty: the 三包 policy, its file, and the remedy it gives.  */
#include "intake_warranty.h"
#include "asp_sighup.h"
#include "asp_config.h"
#include "asp_filewatch.h"
#include "asp_id.h"
#include "asp_log.h"
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DAY_MS 86400000LL

struct intake_warranty_t {
    pthread_mutex_t lock;           //  guards everything below
    char *path;                     //  NULL: built-in
    intake_warranty_rule_t rules [INTAKE_WARRANTY_RULES_MAX];
    int count;
    int64_t loaded_ms;
    asp_filewatch_t *watch;         //  when to read path again (NULL: built-in)
    char last_error [320];          //  of the last load that failed, if the
    int64_t last_error_ms;          //  last load failed; else empty
    uint64_t reloads, reload_errors;
    asp_counter_t *reloads_c, *errors_c;
    pthread_t hup_thread;
    bool hup_running;
    atomic_bool stopping;
};

void
intake_warranty_default_rule (intake_warranty_rule_t *rule)
{
    *rule = (intake_warranty_rule_t) { "*", 7, 15, 12, 2 };
}

//  ---------------------------------------------------------------------
//  The decision

//  Midnight UTC of the date months after the purchase date (clamped to
//  the month's last day: 31 January + 1 month is 28 or 29 February).
static int64_t
s_add_months (int64_t day_ms, int months)
{
    time_t t = (time_t) (day_ms / 1000);
    struct tm tm;
    gmtime_r (&t, &tm);
    int mday = tm.tm_mday;
    int total = tm.tm_mon + months;
    struct tm target = { .tm_year = tm.tm_year + total / 12, .tm_mon = total % 12, .tm_mday = 1 };
    //  The last day of the target month: day 0 of the month after.
    struct tm last = { .tm_year = target.tm_year, .tm_mon = target.tm_mon + 1, .tm_mday = 0 };
    time_t lt = timegm (&last);
    gmtime_r (&lt, &last);
    target.tm_mday = mday < last.tm_mday? mday: last.tm_mday;
    return (int64_t) timegm (&target) * 1000;
}

//  "water_heater", or "water_heater (default policy)" when "*" decided.
static const char *
s_for (const intake_warranty_rule_t *rule, const char *category, char *buf, size_t len)
{
    snprintf (buf, len, "%.64s%s", category && *category? category: "this category",
              strcmp (rule->category, "*") == 0? " (default policy)": "");
    return buf;
}

static void
s_remedy (intake_warranty_out_t *out, asp_remedy_t remedy, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

static void
s_remedy (intake_warranty_out_t *out, asp_remedy_t remedy, const char *fmt, ...)
{
    out->applies = true;
    out->remedy = remedy;
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (out->reason, sizeof out->reason, fmt, ap);
    va_end (ap);
}

void
intake_warranty_decide_rule (const intake_warranty_rule_t *rule, const intake_warranty_in_t *in,
                             intake_warranty_out_t *out)
{
    memset (out, 0, sizeof *out);
    out->rule = *rule;
    out->days = -1;
    const char *type = asp_vocab_name (&asp_vocab_kind, (int) in->type);
    if (in->type != ASP_KIND_RETURN && in->type != ASP_KIND_REPAIR && in->type != ASP_KIND_MAINTENANCE) {
        snprintf (out->reason, sizeof out->reason, "%s tickets carry no 三包 remedy", type? type: "these");
        return;
    }
    if (in->purchase_ms == INTAKE_WARRANTY_UNKNOWN) {
        s_remedy (out, ASP_REMEDY_PAID_REPAIR, "purchase date unknown: 三包 remedies need proof of "
                  "purchase; record the purchase date and the remedy is decided again");
        return;
    }
    //  A purchase date after now (clocks apart) counts as today.
    int64_t since = in->now_ms > in->purchase_ms? in->now_ms - in->purchase_ms: 0;
    int64_t d = since / DAY_MS;
    out->days = d;
    char cat [100];
    s_for (rule, in->category, cat, sizeof cat);
    bool covered = in->now_ms < s_add_months (in->purchase_ms, rule->repair_months) + DAY_MS;
    bool repeated = rule->repairs_for_exchange > 0 && in->same_fault_repairs >= rule->repairs_for_exchange;
    if (in->type == ASP_KIND_RETURN && d <= rule->refund_days)
        s_remedy (out, ASP_REMEDY_REFUND, "purchased %lld days ago: within the %d-day refund period for %s",
                  (long long) d, rule->refund_days, cat);
    else
    if (in->type == ASP_KIND_RETURN && d <= rule->exchange_days)
        s_remedy (out, ASP_REMEDY_EXCHANGE, "purchased %lld days ago: past the %d-day refund period, "
                  "within the %d-day exchange period for %s",
                  (long long) d, rule->refund_days, rule->exchange_days, cat);
    else
    if (covered && repeated)
        s_remedy (out, ASP_REMEDY_EXCHANGE, "repaired %d times for the same fault within the %d-month "
                  "warranty for %s (purchased %lld days ago): qualifies for exchange",
                  in->same_fault_repairs, rule->repair_months, cat, (long long) d);
    else
    if (covered)
        s_remedy (out, ASP_REMEDY_REPAIR, "purchased %lld days ago: %swithin the %d-month warranty for %s",
                  (long long) d, in->type == ASP_KIND_RETURN? "past the exchange period; repaired free ": "",
                  rule->repair_months, cat);
    else
        s_remedy (out, ASP_REMEDY_PAID_REPAIR, "purchased %lld days ago: past the %d-month warranty for %s",
                  (long long) d, rule->repair_months, cat);
}

//  ---------------------------------------------------------------------
//  The file

//  Printable ASCII of a token for a message (the file may hold anything;
//  messages end up in JSON and logs).
static const char *
s_show (const char *s, size_t len, char *buf, size_t buflen)
{
    size_t n = 0;
    for (size_t i = 0; i < len && n + 4 < buflen; i++)
        buf [n++] = s [i] > 0x20 && s [i] < 0x7f? s [i]: '?';
    if (len > n && n + 4 <= buflen)
        memcpy (buf + n, "...", 3), n += 3;
    buf [n] = 0;
    return buf;
}

static int
s_fail (char *err, size_t errlen, const char *name, int line, const char *fmt, ...)
    __attribute__ ((format (printf, 5, 6)));

static int
s_fail (char *err, size_t errlen, const char *name, int line, const char *fmt, ...)
{
    char why [256];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (why, sizeof why, fmt, ap);
    va_end (ap);
    snprintf (err, errlen, "%s:%d: %s", name, line, why);
    return -1;
}

static bool
s_category_valid (const char *s, size_t len)
{
    if (len == 1 && *s == '*')
        return true;
    return len >= 1 && len < INTAKE_WARRANTY_CATEGORY_MAX && asp_id_valid (s, len);
}

//  The fields of one rule, in the file's order.
static const struct {
    const char *name;
    int lo, hi;
} s_fields [] = {
    { "refund_days", 0, 365 }, { "exchange_days", 0, 365 },
    { "repair_months", 0, 120 }, { "repairs_for_exchange", 0, 100 },
};

//  One line (without its newline, comments not yet cut) into rule; 1 when
//  it holds a rule, 0 when blank, -1 with err set.
static int
s_parse_line (const char *s, size_t len, const char *name, int line, intake_warranty_rule_t *rule,
              char *err, size_t errlen)
{
    char show [48];
    if (memchr (s, 0, len))
        return s_fail (err, errlen, name, line, "a NUL byte");
    const char *hash = (const char *) memchr (s, '#', len);
    if (hash)
        len = (size_t) (hash - s);
    const char *tok [6];
    size_t tlen [6];
    int n = 0;
    for (size_t i = 0; i < len; ) {
        if (s [i] == ' ' || s [i] == '\t' || s [i] == '\r') {
            i++;
            continue;
        }
        size_t j = i;
        while (j < len && s [j] != ' ' && s [j] != '\t' && s [j] != '\r')
            j++;
        if (n < 6)
            tok [n] = s + i, tlen [n] = j - i;
        n++;
        i = j;
    }
    if (n == 0)
        return 0;
    if (n != 5)
        return s_fail (err, errlen, name, line, "expected 5 fields (category refund_days exchange_days "
                       "repair_months repairs_for_exchange), found %d", n);
    if (!s_category_valid (tok [0], tlen [0]))
        return s_fail (err, errlen, name, line, "category '%s' must be * or 1 to 63 characters of "
                       "[A-Za-z0-9._-]", s_show (tok [0], tlen [0], show, sizeof show));
    snprintf (rule->category, sizeof rule->category, "%.*s", (int) tlen [0], tok [0]);
    int *value [] = { &rule->refund_days, &rule->exchange_days, &rule->repair_months,
                      &rule->repairs_for_exchange };
    for (int f = 0; f < 4; f++) {
        char num [16];
        int64_t v = 0;
        s_show (tok [f + 1], tlen [f + 1], num, sizeof num);
        if (tlen [f + 1] >= sizeof num - 4 || asp_parse_int (num, s_fields [f].lo, s_fields [f].hi, &v))
            return s_fail (err, errlen, name, line, "%s '%s' must be an integer from %d to %d",
                           s_fields [f].name, num, s_fields [f].lo, s_fields [f].hi);
        *value [f] = (int) v;
    }
    if (rule->exchange_days < rule->refund_days)
        return s_fail (err, errlen, name, line, "exchange_days (%d) is shorter than refund_days (%d)",
                       rule->exchange_days, rule->refund_days);
    return 1;
}

int
intake_warranty_parse (const char *text, size_t len, const char *name,
                       intake_warranty_rule_t *rules, int *count, char *err, size_t errlen)
{
    *count = 0;
    int line = 1;
    for (size_t at = 0; at < len; line++) {
        if (at >= INTAKE_WARRANTY_FILE_MAX)
            return s_fail (err, errlen, name, line, "the file is larger than %d bytes", INTAKE_WARRANTY_FILE_MAX);
        const char *nl = (const char *) memchr (text + at, '\n', len - at);
        size_t ll = nl? (size_t) (nl - (text + at)): len - at;
        if (ll > INTAKE_WARRANTY_LINE_MAX)
            return s_fail (err, errlen, name, line, "the line is longer than %d bytes", INTAKE_WARRANTY_LINE_MAX);
        intake_warranty_rule_t rule;
        int rc = s_parse_line (text + at, ll, name, line, &rule, err, errlen);
        if (rc < 0)
            return -1;
        if (rc > 0) {
            for (int i = 0; i < *count; i++)
                if (strcmp (rules [i].category, rule.category) == 0)
                    return s_fail (err, errlen, name, line, "category %s is defined twice", rule.category);
            if (*count == INTAKE_WARRANTY_RULES_MAX)
                return s_fail (err, errlen, name, line, "more than %d rules", INTAKE_WARRANTY_RULES_MAX);
            rules [(*count)++] = rule;
        }
        at += ll + 1;
    }
    return 0;
}

//  Reads and parses path into rules; 0 or -1 with err.
static int
s_load_file (const char *path, intake_warranty_rule_t *rules, int *count, char *err, size_t errlen)
{
    FILE *f = fopen (path, "rb");
    if (!f) {
        snprintf (err, errlen, "%s: cannot read (%s)", path, strerror (errno));
        return -1;
    }
    char *text = (char *) malloc (INTAKE_WARRANTY_FILE_MAX + 1);
    assert (text);
    size_t len = fread (text, 1, INTAKE_WARRANTY_FILE_MAX + 1, f);
    int rc = ferror (f)? -1: 0;
    fclose (f);
    if (rc)
        snprintf (err, errlen, "%s: cannot read (%s)", path, strerror (errno));
    else
        rc = intake_warranty_parse (text, len, path, rules, count, err, errlen);
    free (text);
    return rc;
}

//  ---------------------------------------------------------------------
//  The class

//  Loads the file into self (lock held): the new rules replace the old
//  ones only when the whole file is valid.
static int
s_reload_locked (intake_warranty_t *self)
{
    if (!self->path)
        return 0;
    asp_filewatch_mark (self->watch, asp_mono_ms ());
    intake_warranty_rule_t *rules = (intake_warranty_rule_t *) malloc (sizeof self->rules);
    assert (rules);
    int count = 0;
    char err [sizeof self->last_error];
    int rc = s_load_file (self->path, rules, &count, err, sizeof err);
    if (rc == 0) {
        memcpy (self->rules, rules, sizeof self->rules);
        self->count = count;
        self->loaded_ms = asp_now_ms ();
        self->last_error [0] = 0;
        self->reloads++;
        if (self->reloads_c)
            asp_counter_inc (self->reloads_c);
        asp_log_info ("warranty: policy loaded from %s (%d rules)", self->path, count);
    }
    else {
        snprintf (self->last_error, sizeof self->last_error, "%s", err);
        self->last_error_ms = asp_now_ms ();
        self->reload_errors++;
        if (self->errors_c)
            asp_counter_inc (self->errors_c);
        asp_log_error ("warranty: policy refused, the old one stays: %s", err);
    }
    free (rules);
    return rc;
}

//  Reloads when the file changed, looking at most once a second.
static void
s_check_locked (intake_warranty_t *self)
{
    if (self->watch && asp_filewatch_due (self->watch, asp_mono_ms ()))
        s_reload_locked (self);
}

intake_warranty_t *
intake_warranty_new (const char *path, asp_metrics_t *metrics, char *err, size_t errlen)
{
    intake_warranty_t *self = (intake_warranty_t *) calloc (1, sizeof *self);
    assert (self);
    pthread_mutex_init (&self->lock, NULL);
    intake_warranty_default_rule (&self->rules [0]);
    self->count = 1;
    self->loaded_ms = asp_now_ms ();
    if (path) {
        self->path = strdup (path);
        assert (self->path);
        self->watch = asp_filewatch_new (path, 1000);
        if (s_reload_locked (self)) {
            snprintf (err, errlen, "%s", self->last_error);
            intake_warranty_destroy (&self);
            return NULL;
        }
    }
    if (metrics) {
        self->reloads_c = asp_metrics_counter (metrics, "warranty_reloads_total",
                                               "Warranty policy files loaded (start and reloads).");
        self->errors_c = asp_metrics_counter (metrics, "warranty_reload_errors_total",
                                              "Warranty policy files refused on reload (the old policy stayed).");
        asp_counter_add (self->reloads_c, self->reloads);
    }
    return self;
}

intake_warranty_t *
intake_warranty_new_env (asp_metrics_t *metrics)
{
    const char *path = asp_cfg_str ("ASP_WARRANTY_FILE", NULL);
    char err [320];
    intake_warranty_t *self = intake_warranty_new (path, metrics, err, sizeof err);
    if (!self) {
        asp_log_error ("bad configuration: ASP_WARRANTY_FILE: %s", err);
        exit (2);
    }
    return self;
}

void
intake_warranty_destroy (intake_warranty_t **self_p)
{
    intake_warranty_t *self = *self_p;
    if (self) {
        if (self->hup_running) {
            atomic_store (&self->stopping, true);
            pthread_kill (self->hup_thread, SIGHUP);
            pthread_join (self->hup_thread, NULL);
        }
        pthread_mutex_destroy (&self->lock);
        asp_filewatch_destroy (&self->watch);
        free (self->path);
        free (self);
        *self_p = NULL;
    }
}

//  The category's rule, else "*", else the built-in default.
static void
s_rule_locked (intake_warranty_t *self, const char *category, intake_warranty_rule_t *rule)
{
    const intake_warranty_rule_t *star = NULL;
    for (int i = 0; i < self->count; i++) {
        if (category && strcmp (self->rules [i].category, category) == 0) {
            *rule = self->rules [i];
            return;
        }
        if (strcmp (self->rules [i].category, "*") == 0)
            star = &self->rules [i];
    }
    if (star)
        *rule = *star;
    else
        intake_warranty_default_rule (rule);
}

void
intake_warranty_decide (intake_warranty_t *self, const intake_warranty_in_t *in, intake_warranty_out_t *out)
{
    intake_warranty_rule_t rule;
    pthread_mutex_lock (&self->lock);
    s_check_locked (self);
    s_rule_locked (self, in->category, &rule);
    pthread_mutex_unlock (&self->lock);
    intake_warranty_decide_rule (&rule, in, out);
}

int
intake_warranty_reload (intake_warranty_t *self)
{
    pthread_mutex_lock (&self->lock);
    int rc = s_reload_locked (self);
    pthread_mutex_unlock (&self->lock);
    return rc;
}

cJSON *
intake_warranty_describe (intake_warranty_t *self)
{
    cJSON *out = cJSON_CreateObject ();
    pthread_mutex_lock (&self->lock);
    s_check_locked (self);
    cJSON_AddStringToObject (out, "source", self->path? self->path: "built-in");
    cJSON_AddNumberToObject (out, "loaded_ms", (double) self->loaded_ms);
    cJSON *rules = cJSON_AddArrayToObject (out, "rules");
    bool star = false;
    for (int i = 0; i <= self->count; i++) {
        intake_warranty_rule_t dflt, *r = &dflt;
        if (i < self->count)
            r = &self->rules [i];
        else
        if (star)
            break;
        else
            intake_warranty_default_rule (&dflt);       //  the "*" a file left out
        star |= strcmp (r->category, "*") == 0;
        cJSON *j = cJSON_CreateObject ();
        cJSON_AddStringToObject (j, "category", r->category);
        cJSON_AddNumberToObject (j, "refund_days", r->refund_days);
        cJSON_AddNumberToObject (j, "exchange_days", r->exchange_days);
        cJSON_AddNumberToObject (j, "repair_months", r->repair_months);
        cJSON_AddNumberToObject (j, "repairs_for_exchange", r->repairs_for_exchange);
        cJSON_AddItemToArray (rules, j);
    }
    cJSON_AddNumberToObject (out, "reloads", (double) self->reloads);
    cJSON_AddNumberToObject (out, "reload_errors", (double) self->reload_errors);
    if (*self->last_error) {
        cJSON *e = cJSON_AddObjectToObject (out, "last_error");
        cJSON_AddStringToObject (e, "message", self->last_error);
        cJSON_AddNumberToObject (e, "time_ms", (double) self->last_error_ms);
    }
    else
        cJSON_AddNullToObject (out, "last_error");
    pthread_mutex_unlock (&self->lock);
    return out;
}

//  ---------------------------------------------------------------------
//  SIGHUP

static void *
s_hup_main (void *arg)
{
    intake_warranty_t *self = (intake_warranty_t *) arg;
    sigset_t set;
    sigemptyset (&set);
    sigaddset (&set, SIGHUP);
    while (true) {
        int sig = 0;
        if (sigwait (&set, &sig) != 0 || atomic_load (&self->stopping))
            break;
        asp_log_info ("warranty: SIGHUP, reloading %s", self->path? self->path: "(built-in policy)");
        intake_warranty_reload (self);
    }
    return NULL;
}

void
intake_warranty_watch_sighup (intake_warranty_t *self)
{
    asp_sighup_block ();
    if (!self->hup_running && pthread_create (&self->hup_thread, NULL, s_hup_main, self) == 0)
        self->hup_running = true;
}

//  ---------------------------------------------------------------------
//  Self-test

static int64_t
s_day (int y, int m, int d)
{
    struct tm tm = { .tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d };
    return (int64_t) timegm (&tm) * 1000;
}

//  The remedy for type, purchased on p, asked at now (+ 12 h: days are
//  whole days whatever the hour), after repairs; -1: no remedy.
static int
s_remedy_at (const intake_warranty_rule_t *rule, asp_kind_t type, int64_t p, int64_t now, int repairs)
{
    intake_warranty_in_t in = { type, "water_heater", p, now + DAY_MS / 2, repairs };
    intake_warranty_out_t out;
    intake_warranty_decide_rule (rule, &in, &out);
    assert (*out.reason);
    return out.applies? (int) out.remedy: -1;
}

static void
s_expect_errorn (const char *text, size_t len, const char *want)
{
    intake_warranty_rule_t *rules = (intake_warranty_rule_t *) malloc (sizeof (intake_warranty_rule_t)
                                                                       * INTAKE_WARRANTY_RULES_MAX);
    int count = 0;
    char err [320] = "";
    int rc = intake_warranty_parse (text, len, "w.conf", rules, &count, err, sizeof err);
    if (rc != -1 || !strstr (err, want))
        fprintf (stderr, "warranty parse: want '%s', got rc %d '%s'\n", want, rc, err);
    assert (rc == -1 && strstr (err, want));
    free (rules);
}

static void
s_expect_error (const char *text, const char *want)
{
    s_expect_errorn (text, strlen (text), want);
}

void
intake_warranty_test (void)
{
    intake_warranty_rule_t r;
    intake_warranty_default_rule (&r);
    int64_t p = s_day (2025, 3, 10);
    //  Returns: refund through day 7, exchange through day 15, then a free
    //  repair through the same date 12 months later, then paid.
    assert (s_remedy_at (&r, ASP_KIND_RETURN, p, p, 0) == ASP_REMEDY_REFUND);
    assert (s_remedy_at (&r, ASP_KIND_RETURN, p, p + 7 * DAY_MS, 0) == ASP_REMEDY_REFUND);
    assert (s_remedy_at (&r, ASP_KIND_RETURN, p, p + 8 * DAY_MS, 0) == ASP_REMEDY_EXCHANGE);
    assert (s_remedy_at (&r, ASP_KIND_RETURN, p, p + 15 * DAY_MS, 0) == ASP_REMEDY_EXCHANGE);
    assert (s_remedy_at (&r, ASP_KIND_RETURN, p, p + 16 * DAY_MS, 0) == ASP_REMEDY_REPAIR);
    assert (s_remedy_at (&r, ASP_KIND_RETURN, p, p + 16 * DAY_MS, 2) == ASP_REMEDY_EXCHANGE);
    assert (s_remedy_at (&r, ASP_KIND_RETURN, p, s_day (2026, 3, 10), 0) == ASP_REMEDY_REPAIR);
    assert (s_remedy_at (&r, ASP_KIND_RETURN, p, s_day (2026, 3, 11), 0) == ASP_REMEDY_PAID_REPAIR);
    assert (s_remedy_at (&r, ASP_KIND_RETURN, p, s_day (2026, 3, 11), 5) == ASP_REMEDY_PAID_REPAIR);
    //  Repairs: free through the anniversary, exchange from the K-th
    //  same-fault repair within it, paid after.
    for (int t = ASP_KIND_REPAIR; t <= ASP_KIND_MAINTENANCE; t++) {
        assert (s_remedy_at (&r, t, p, p, 0) == ASP_REMEDY_REPAIR);
        assert (s_remedy_at (&r, t, p, p + 3 * DAY_MS, 1) == ASP_REMEDY_REPAIR);
        assert (s_remedy_at (&r, t, p, p + 3 * DAY_MS, 2) == ASP_REMEDY_EXCHANGE);
        assert (s_remedy_at (&r, t, p, s_day (2026, 3, 10), 2) == ASP_REMEDY_EXCHANGE);
        assert (s_remedy_at (&r, t, p, s_day (2026, 3, 10), 0) == ASP_REMEDY_REPAIR);
        assert (s_remedy_at (&r, t, p, s_day (2026, 3, 11), 0) == ASP_REMEDY_PAID_REPAIR);
        assert (s_remedy_at (&r, t, p, s_day (2026, 3, 11), 3) == ASP_REMEDY_PAID_REPAIR);
        assert (s_remedy_at (&r, t, INTAKE_WARRANTY_UNKNOWN, p, 3) == ASP_REMEDY_PAID_REPAIR);
    }
    assert (s_remedy_at (&r, ASP_KIND_RETURN, INTAKE_WARRANTY_UNKNOWN, p, 0) == ASP_REMEDY_PAID_REPAIR);
    //  Types without a remedy, whatever the dates.
    assert (s_remedy_at (&r, ASP_KIND_INSTALLATION, p, p, 0) == -1);
    assert (s_remedy_at (&r, ASP_KIND_COMPLAINT, p, p, 0) == -1);
    assert (s_remedy_at (&r, ASP_KIND_CONSULTATION, INTAKE_WARRANTY_UNKNOWN, p, 0) == -1);
    //  Months end on the last day when the date does not exist (2024 is a
    //  leap year), and a purchase "after now" counts as today.
    intake_warranty_rule_t m = { "*", 0, 0, 1, 0 };
    assert (s_remedy_at (&m, ASP_KIND_REPAIR, s_day (2024, 1, 31), s_day (2024, 2, 29), 9) == ASP_REMEDY_REPAIR);
    assert (s_remedy_at (&m, ASP_KIND_REPAIR, s_day (2024, 1, 31), s_day (2024, 3, 1), 0) == ASP_REMEDY_PAID_REPAIR);
    assert (s_remedy_at (&m, ASP_KIND_RETURN, p + DAY_MS, p, 0) == ASP_REMEDY_REFUND);
    assert (s_remedy_at (&m, ASP_KIND_RETURN, p, p + DAY_MS, 0) == ASP_REMEDY_REPAIR);
    m.repair_months = 0;
    assert (s_remedy_at (&m, ASP_KIND_REPAIR, p, p, 0) == ASP_REMEDY_REPAIR);
    assert (s_remedy_at (&m, ASP_KIND_REPAIR, p, p + DAY_MS, 0) == ASP_REMEDY_PAID_REPAIR);
    //  The reason names the numbers and the policy that decided.
    intake_warranty_in_t in = { ASP_KIND_RETURN, "water_heater", p, p + 5 * DAY_MS, 0 };
    intake_warranty_out_t out;
    intake_warranty_decide_rule (&r, &in, &out);
    assert (out.days == 5 && strcmp (out.reason, "purchased 5 days ago: within the 7-day refund period for "
                                     "water_heater (default policy)") == 0);

    //  The parser: valid files, comments, blanks, CRLF, no "*".
    intake_warranty_rule_t *rules = (intake_warranty_rule_t *) malloc (sizeof (intake_warranty_rule_t)
                                                                       * INTAKE_WARRANTY_RULES_MAX);
    int count = -1;
    char err [320] = "";
    const char good [] = "# the 三包 periods\n\n*\t7 15 12 2\r\nwater_heater 7 15 36 2  # three years\n"
                         "tv 0 0 0 0";
    assert (intake_warranty_parse (good, strlen (good), "w.conf", rules, &count, err, sizeof err) == 0);
    assert (count == 3 && strcmp (rules [1].category, "water_heater") == 0 && rules [1].repair_months == 36);
    assert (rules [2].repairs_for_exchange == 0 && rules [0].exchange_days == 15);
    assert (intake_warranty_parse ("", 0, "w.conf", rules, &count, err, sizeof err) == 0 && count == 0);
    free (rules);
    //  Every error class, with its line.
    s_expect_error ("* 7 15 12\n", "w.conf:1: expected 5 fields");
    s_expect_error ("\n\n* 7 15 12 2 9\n", "w.conf:3: expected 5 fields");
    s_expect_error ("# x\nwater/heater 7 15 12 2\n", "w.conf:2: category 'water/heater' must be *");
    s_expect_error ("\xe7\x83\xad 7 15 12 2\n", "w.conf:1: category '?\?\?' must be");
    s_expect_error ("* seven 15 12 2\n", "w.conf:1: refund_days 'seven' must be an integer from 0 to 365");
    s_expect_error ("* 7 366 12 2\n", "w.conf:1: exchange_days '366' must be");
    s_expect_error ("* 7 15 -1 2\n", "w.conf:1: repair_months '-1' must be an integer from 0 to 120");
    s_expect_error ("* 7 15 12 99999999999999999999\n", "w.conf:1: repairs_for_exchange '999999999999...'");
    s_expect_error ("* 7 15 12 2.5\n", "w.conf:1: repairs_for_exchange '2.5'");
    s_expect_error ("* 9 5 12 2\n", "w.conf:1: exchange_days (5) is shorter than refund_days (9)");
    s_expect_error ("tv 7 15 12 2\n* 7 15 12 2\ntv 1 2 3 4\n", "w.conf:3: category tv is defined twice");
    const char nul [] = "* 7 15 12 2\nx 7 15\0 12 2\n";
    s_expect_errorn (nul, sizeof nul - 1, "w.conf:2: a NUL byte");
    char *big = (char *) malloc (INTAKE_WARRANTY_FILE_MAX + 600);
    memset (big, ' ', 400);
    big [400] = 0;
    s_expect_error (big, "w.conf:1: the line is longer than 255 bytes");
    size_t n = 0;
    for (int i = 0; n < INTAKE_WARRANTY_FILE_MAX + 100; i++)
        n += (size_t) sprintf (big + n, "c%d 1 2 3 4\n", i);
    s_expect_error (big, "w.conf:257: more than 256 rules");
    for (n = 0; n < INTAKE_WARRANTY_FILE_MAX + 100; )
        n += (size_t) sprintf (big + n, "# %s\n", "a comment to fill the file");
    s_expect_error (big, ": the file is larger than 65536 bytes");
    free (big);

    //  The class: a file, a change seen within a second, a bad reload
    //  that keeps the old policy, a missing file at start.
    char path [] = "/tmp/asp-warranty-XXXXXX";
    int fd = mkstemp (path);
    assert (fd >= 0);
    FILE *f = fdopen (fd, "w");
    fputs ("* 7 15 12 2\nwater_heater 3 10 24 2\n", f);
    fclose (f);
    intake_warranty_t *w = intake_warranty_new (path, NULL, err, sizeof err);
    assert (w);
    in = (intake_warranty_in_t) { ASP_KIND_RETURN, "water_heater", p, p + 5 * DAY_MS, 0 };
    intake_warranty_decide (w, &in, &out);
    assert (out.remedy == ASP_REMEDY_EXCHANGE && strcmp (out.rule.category, "water_heater") == 0);
    in.category = "tv";
    intake_warranty_decide (w, &in, &out);
    assert (out.remedy == ASP_REMEDY_REFUND && strcmp (out.rule.category, "*") == 0);
    asp_filewatch_mark (w->watch, asp_mono_ms () - 1001);   //  as if a second went by
    f = fopen (path, "w");
    fputs ("* 7 15 12 2\nwater_heater 30 30 24 2\n", f);
    fclose (f);
    in.category = "water_heater";
    intake_warranty_decide (w, &in, &out);
    assert (out.remedy == ASP_REMEDY_REFUND && out.rule.refund_days == 30);
    f = fopen (path, "w");
    fputs ("* 7 15 12 2\n\nwater_heater 30 30 24\n", f);
    fclose (f);
    assert (intake_warranty_reload (w) == -1);
    intake_warranty_decide (w, &in, &out);
    assert (out.rule.refund_days == 30);
    cJSON *d = intake_warranty_describe (w);
    const cJSON *le = cJSON_GetObjectItem (cJSON_GetObjectItem (d, "last_error"), "message");
    assert (cJSON_IsString (le) && strstr (le->valuestring, ":3: expected 5 fields"));
    assert (cJSON_GetArraySize (cJSON_GetObjectItem (d, "rules")) == 2);
    cJSON_Delete (d);
    intake_warranty_destroy (&w);
    unlink (path);
    assert (!intake_warranty_new (path, NULL, err, sizeof err) && strstr (err, "cannot read"));
    //  Built in: "*" only.
    w = intake_warranty_new (NULL, NULL, err, sizeof err);
    d = intake_warranty_describe (w);
    assert (cJSON_GetArraySize (cJSON_GetObjectItem (d, "rules")) == 1);
    assert (strcmp (cJSON_GetObjectItem (d, "source")->valuestring, "built-in") == 0);
    cJSON_Delete (d);
    intake_warranty_destroy (&w);
}
