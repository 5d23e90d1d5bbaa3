/*  sla_policy: the SLA policy file (docs/sla.md, "The policy file").

    Reading happens in two passes. The first goes through the file line by
    line: inih splits "name = value" and strips comments, our reader
    (s_read_line) counts lines, opens sections and refuses over-long ones;
    each key is checked as far as it can be on its own (syntax, ranges,
    duplicates). The first error there ends the parse. The second pass
    works on the whole file: builds the calendars, resolves names (region
    -> calendar, policy -> ladder, rule, base), inheritance and the
    file-wide rules (a [region *], one catch-all, no two policies with the
    same match); of its errors the one on the earliest line is reported.  */
#include "sla_policy.h"
#include "asp_filewatch.h"
#include "asp_log.h"
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const char asp_lua_policies [];      //  deploy/sla/policies.conf (asp_embed)

#define S_MINUTE_MS     60000LL
#define S_HOUR_MS       (60 * S_MINUTE_MS)
#define S_DAY_MS        (24 * S_HOUR_MS)
#define S_TARGET_MAX    (366 * S_DAY_MS)
#define S_MONEY_MAX     1000000000000LL     //  minor units: 10^10 major, far above any price
#define S_LINE_MAX      200                 //  inih's line buffer (Debian's build: INI_MAX_LINE)
#define S_FILE_MAX      (1024 * 1024)
#define S_ROLES         3                   //  asp_sla_role_t values
#define S_WARN_DEFAULT  80

//  A calendar section: its lines are kept until the whole file is read,
//  so that "zone" may come after "hours" (the builder needs the zone).
typedef enum { S_CAL_HOURS, S_CAL_HOLIDAY, S_CAL_WORKDAY } s_cal_key_t;
typedef struct {
    s_cal_key_t key;
    int line;
    char *value;
} s_cal_line_t;

typedef struct {
    char name [SLA_NAME_MAX];
    int line;
    char *zone;
    int zone_line;
    s_cal_line_t *lines;
    int nlines;
    asp_calendar_t *cal, *cal24;
} s_cal_t;

typedef struct {
    char name [SLA_NAME_MAX];       //  "*": every region without a section
    int line;
    char calendar [SLA_NAME_MAX];   //  "" when not given (the "*" region's)
    int calendar_line;
    const s_cal_t *cal;             //  resolved
    char *to [S_ROLES];             //  recipients per role; NULL not given
} s_region_t;

typedef struct {
    sla_ladder_t ladder;
    int line;
} s_ladder_t;

typedef struct {
    sla_comp_t comp;
    int line;
    bool has_percent, has_per_day, has_min, has_max;
    int max_line;
} s_comp_t;

//  One clock line of a policy as written: what it sets itself. Unset
//  options take the policy's defaults once inheritance is resolved.
typedef struct {
    bool given;
    int line;
    bool off;                       //  "<clock> = off": not run
    sla_target_t target;            //  basis, target, fixed, pause (as written)
    bool warn_given, ladder_given, ladder_none;
    int warn_pct;
    char ladder [SLA_NAME_MAX];
    char comp [SLA_NAME_MAX];       //  "" none
} s_line_t;

typedef struct {
    sla_rule_t rule;                //  what callers see (rule.regions -> regions)
    char **regions;
    bool has_match;
    int match_line;
    int nkeys;                      //  keys in match: specificity
    unsigned key_set;               //  which keys (bit per s_match_key)
    char base [SLA_NAME_MAX];
    int base_line;
    bool warn_given, ladder_given, ladder_none, retarget_given;
    int warn_pct;
    int warn_line, ladder_line;
    char ladder [SLA_NAME_MAX];
    s_line_t lines [ASP_CLOCK_COUNT];
    //  Resolution (second pass)
    int state;                      //  0 not yet, 1 on the stack, 2 done
    int eff_warn;
    bool eff_ladder_given, eff_ladder_none;
    char eff_ladder [SLA_NAME_MAX];
    int eff_ladder_line;
    bool eff_retarget;
    s_line_t eff [ASP_CLOCK_COUNT];
} s_policy_t;

struct sla_policy_t {
    char version [17];
    s_cal_t *cals;
    int ncals;
    s_region_t *regions;
    int nregions;
    s_ladder_t *ladders;
    int nladders;
    s_comp_t *comps;
    int ncomps;
    s_policy_t *policies;
    int npolicies;
    int64_t caps [S_ROLES];         //  -1: none
    int approval_line;
    const s_region_t *star;         //  [region *]
};

//  ---------------------------------------------------------------------
//  The parse's state

typedef enum {
    S_SEC_NONE, S_SEC_CALENDAR, S_SEC_REGION, S_SEC_LADDER, S_SEC_COMPENSATION,
    S_SEC_APPROVAL, S_SEC_POLICY
} s_section_t;

typedef struct {
    sla_policy_t *self;
    const char *name;               //  the file's name, for messages
    const char *text, *pos;         //  the reader's input
    int line;                       //  the line inih works on
    int lines;                      //  lines read so far
    s_section_t section;
    void *cur;                      //  the open section's object (index below)
    int cur_index;
    unsigned seen;                  //  single keys seen in the section (bits)
    int error_line;                 //  0: no error yet
    char error [400];
    bool second;                    //  second pass: keep the earliest line
} s_parse_t;

static void
s_fail (s_parse_t *p, int line, const char *fmt, ...) __attribute__ ((format (printf, 3, 4)));
static void
s_fail (s_parse_t *p, int line, const char *fmt, ...)
{
    //  Lines count from 1: error_line 0 means "no error", so an error on
    //  line 0 would be lost and the file taken.
    assert (line >= 1);
    //  First pass: the first error stands. Second: the earliest line.
    if (p->error_line && (!p->second || line >= p->error_line))
        return;
    va_list args;
    va_start (args, fmt);
    char why [320];
    vsnprintf (why, sizeof why, fmt, args);
    va_end (args);
    snprintf (p->error, sizeof p->error, "%s:%d: %s", p->name, line, why);
    p->error_line = line;
}

//  Appends one zeroed element to a growing array.
static void *
s_push (void **array, int *count, size_t size)
{
    char *grown = (char *) realloc (*array, (size_t) (*count + 1) * size);
    assert (grown);
    memset (grown + (size_t) *count * size, 0, size);
    *array = grown;
    return grown + (size_t) (*count)++ * size;
}

static char *
s_strdup (const char *s)
{
    char *copy = strdup (s);
    assert (copy);
    return copy;
}

//  ---------------------------------------------------------------------
//  Values

//  Names of policies, calendars, ladders, rules, regions: 1..63 of
//  [A-Za-z0-9._-] ("*" for the default region is handled by the caller).
static bool
s_name_ok (const char *s)
{
    size_t n = strlen (s);
    if (n == 0 || n >= SLA_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum ((unsigned char) s [i]) && !strchr ("._-", s [i]))
            return false;
    return true;
}

//  A non-negative decimal integer of at most 12 digits from *s.
static bool
s_digits (const char **s, int64_t *out)
{
    const char *c = *s;
    int64_t v = 0;
    int n = 0;
    while (isdigit ((unsigned char) *c)) {
        if (++n > 12)
            return false;
        v = v * 10 + (*c++ - '0');
    }
    if (n == 0)
        return false;
    *s = c;
    *out = v;
    return true;
}

//  "90m", "4h", "1d12h", "3d", "45s", "0m": each unit at most once, in
//  the order d h m s. -1 when not a duration.
static int
s_duration (const char *s, int64_t *ms)
{
    static const struct { char unit; int64_t ms; } units [] = {
        { 'd', S_DAY_MS }, { 'h', S_HOUR_MS }, { 'm', S_MINUTE_MS }, { 's', 1000 }
    };
    int64_t total = 0;
    size_t next = 0;                //  the first unit still allowed
    if (!*s)
        return -1;
    while (*s) {
        int64_t v;
        if (!s_digits (&s, &v) || v > 1000000)
            return -1;
        size_t u = next;
        while (u < 4 && units [u].unit != *s)
            u++;
        if (u == 4)
            return -1;
        total += v * units [u].ms;
        next = u + 1;
        s++;
    }
    *ms = total;
    return 0;
}

//  Money in major units with up to two decimals ("30", "0.5", "12.34")
//  into minor units.
static int
s_money (const char *s, int64_t *minor)
{
    int64_t whole, frac = 0;
    if (!s_digits (&s, &whole) || whole > S_MONEY_MAX / 100)
        return -1;
    if (*s == '.') {
        s++;
        const char *start = s;
        if (!s_digits (&s, &frac) || s - start > 2)
            return -1;
        if (s - start == 1)
            frac *= 10;
    }
    if (*s)
        return -1;
    *minor = whole * 100 + frac;
    return 0;
}

//  "NN" or "NN%" (integer).
static int
s_pct (const char *s, int64_t *pct)
{
    if (!s_digits (&s, pct))
        return -1;
    if (*s == '%')
        s++;
    return *s? -1: 0;
}

//  Splits s (modified) at spaces and tabs into at most max words.
static int
s_words (char *s, char **words, int max)
{
    int n = 0;
    char *save = NULL;
    for (char *w = strtok_r (s, " \t", &save); w; w = strtok_r (NULL, " \t", &save)) {
        if (n == max)
            return -1;
        words [n++] = w;
    }
    return n;
}

//  ---------------------------------------------------------------------
//  Sections

static const char *s_section_names [] = {
    NULL, "calendar", "region", "ladder", "compensation", "approval", "policy"
};

//  Opens the section of header (the text between the brackets).
static void
s_section_open (s_parse_t *p, const char *header)
{
    sla_policy_t *self = p->self;
    char copy [S_LINE_MAX];
    snprintf (copy, sizeof copy, "%s", header);
    char *words [3];
    int n = s_words (copy, words, 3);
    p->seen = 0;
    p->section = S_SEC_NONE;
    if (n < 1 || n > 2) {
        s_fail (p, p->line, "a section is [<kind> <name>] or [approval]");
        return;
    }
    s_section_t sec = S_SEC_NONE;
    for (int i = 1; i <= S_SEC_POLICY; i++)
        if (strcmp (words [0], s_section_names [i]) == 0)
            sec = (s_section_t) i;
    if (sec == S_SEC_NONE) {
        s_fail (p, p->line, "unknown section [%s] (calendar, region, ladder, compensation, approval, policy)",
                words [0]);
        return;
    }
    if (sec == S_SEC_APPROVAL) {
        if (n != 1)
            s_fail (p, p->line, "[approval] has no name");
        else
        if (self->approval_line)
            s_fail (p, p->line, "duplicate [approval] (first at line %d)", self->approval_line);
        else
            self->approval_line = p->line;
        p->section = sec;
        return;
    }
    if (n != 2) {
        s_fail (p, p->line, "[%s] needs a name: [%s <name>]", words [0], words [0]);
        return;
    }
    const char *name = words [1];
    bool star = sec == S_SEC_REGION && strcmp (name, "*") == 0;
    if (!star && !s_name_ok (name)) {
        s_fail (p, p->line, "bad name '%s': 1 to %d of A-Z a-z 0-9 . _ -", name, SLA_NAME_MAX - 1);
        return;
    }
    //  Duplicate names within a kind of section.
    int first = 0;
    switch (sec) {
        case S_SEC_CALENDAR:
            for (int i = 0; i < self->ncals && !first; i++)
                if (strcmp (self->cals [i].name, name) == 0)
                    first = self->cals [i].line;
            break;
        case S_SEC_REGION:
            for (int i = 0; i < self->nregions && !first; i++)
                if (strcmp (self->regions [i].name, name) == 0)
                    first = self->regions [i].line;
            break;
        case S_SEC_LADDER:
            for (int i = 0; i < self->nladders && !first; i++)
                if (strcmp (self->ladders [i].ladder.name, name) == 0)
                    first = self->ladders [i].line;
            break;
        case S_SEC_COMPENSATION:
            for (int i = 0; i < self->ncomps && !first; i++)
                if (strcmp (self->comps [i].comp.name, name) == 0)
                    first = self->comps [i].line;
            break;
        default:
            for (int i = 0; i < self->npolicies && !first; i++)
                if (strcmp (self->policies [i].rule.name, name) == 0)
                    first = self->policies [i].rule.line;
    }
    if (first) {
        s_fail (p, p->line, "duplicate [%s %s] (first at line %d)", words [0], name, first);
        return;
    }
    p->section = sec;
    switch (sec) {
        case S_SEC_CALENDAR: {
            s_cal_t *c = (s_cal_t *) s_push ((void **) &self->cals, &self->ncals, sizeof *c);
            snprintf (c->name, sizeof c->name, "%s", name);
            c->line = p->line;
            p->cur_index = self->ncals - 1;
            break;
        }
        case S_SEC_REGION: {
            s_region_t *r = (s_region_t *) s_push ((void **) &self->regions, &self->nregions, sizeof *r);
            snprintf (r->name, sizeof r->name, "%s", name);
            r->line = p->line;
            p->cur_index = self->nregions - 1;
            break;
        }
        case S_SEC_LADDER: {
            s_ladder_t *l = (s_ladder_t *) s_push ((void **) &self->ladders, &self->nladders, sizeof *l);
            snprintf (l->ladder.name, sizeof l->ladder.name, "%s", name);
            l->line = p->line;
            p->cur_index = self->nladders - 1;
            break;
        }
        case S_SEC_COMPENSATION: {
            s_comp_t *c = (s_comp_t *) s_push ((void **) &self->comps, &self->ncomps, sizeof *c);
            snprintf (c->comp.name, sizeof c->comp.name, "%s", name);
            c->line = p->line;
            p->cur_index = self->ncomps - 1;
            break;
        }
        default: {
            s_policy_t *pol = (s_policy_t *) s_push ((void **) &self->policies, &self->npolicies, sizeof *pol);
            snprintf (pol->rule.name, sizeof pol->rule.name, "%s", name);
            pol->rule.line = p->line;
            p->cur_index = self->npolicies - 1;
        }
    }
}

//  A key that may appear once per section: false (and an error) on its
//  second time. bit is the key's own bit in p->seen.
static bool
s_once (s_parse_t *p, unsigned bit, const char *key)
{
    if (p->seen & bit) {
        s_fail (p, p->line, "duplicate key '%s' in this section", key);
        return false;
    }
    p->seen |= bit;
    return true;
}

static void
s_key_calendar (s_parse_t *p, const char *key, const char *value)
{
    s_cal_t *c = &p->self->cals [p->cur_index];
    s_cal_key_t k;
    if (strcmp (key, "zone") == 0) {
        if (s_once (p, 1, key)) {
            c->zone = s_strdup (value);
            c->zone_line = p->line;
        }
        return;
    }
    if (strcmp (key, "hours") == 0)
        k = S_CAL_HOURS;
    else
    if (strcmp (key, "holiday") == 0)
        k = S_CAL_HOLIDAY;
    else
    if (strcmp (key, "workday") == 0)
        k = S_CAL_WORKDAY;
    else {
        s_fail (p, p->line, "unknown key '%s' in [calendar] (zone, hours, holiday, workday)", key);
        return;
    }
    s_cal_line_t *l = (s_cal_line_t *) s_push ((void **) &c->lines, &c->nlines, sizeof *l);
    *l = (s_cal_line_t) { k, p->line, s_strdup (value) };
}

static void
s_key_region (s_parse_t *p, const char *key, const char *value)
{
    s_region_t *r = &p->self->regions [p->cur_index];
    if (strcmp (key, "calendar") == 0) {
        if (!s_once (p, 1, key))
            return;
        if (!s_name_ok (value)) {
            s_fail (p, p->line, "bad calendar name '%s'", value);
            return;
        }
        snprintf (r->calendar, sizeof r->calendar, "%s", value);
        r->calendar_line = p->line;
        return;
    }
    int role = asp_vocab_parse (&asp_vocab_sla_role, key);
    if (role == ASP_SLA_ROLE_AGENT) {
        s_fail (p, p->line, "'agent' has no recipients here: an agent step goes to the ticket's owner");
        return;
    }
    if (role < 0) {
        s_fail (p, p->line, "unknown key '%s' in [region] (calendar, supervisor, manager)", key);
        return;
    }
    if (s_once (p, 2u << role, key))
        r->to [role] = s_strdup (value);
}

static void
s_key_ladder (s_parse_t *p, const char *key, const char *value)
{
    s_ladder_t *l = &p->self->ladders [p->cur_index];
    if (strcmp (key, "step") != 0) {
        s_fail (p, p->line, "unknown key '%s' in [ladder] (step)", key);
        return;
    }
    char copy [S_LINE_MAX];
    snprintf (copy, sizeof copy, "%s", value);
    char *words [2];
    int64_t delay;
    if (s_words (copy, words, 2) != 2) {
        s_fail (p, p->line, "a step is '<role> <delay after the breach>', e.g. 'supervisor 2h'");
        return;
    }
    int role = asp_vocab_parse (&asp_vocab_sla_role, words [0]);
    if (role < 0) {
        char roles [80];
        s_fail (p, p->line, "unknown role '%s' (%s)", words [0],
                asp_vocab_join (&asp_vocab_sla_role, roles, sizeof roles));
        return;
    }
    if (s_duration (words [1], &delay) || delay > S_TARGET_MAX) {
        s_fail (p, p->line, "bad delay '%s': a duration like 30m, 2h, 1d12h, at most 366d", words [1]);
        return;
    }
    if (l->ladder.nsteps == SLA_STEPS_MAX) {
        s_fail (p, p->line, "more than %d steps in a ladder", SLA_STEPS_MAX);
        return;
    }
    if (l->ladder.nsteps && delay <= l->ladder.steps [l->ladder.nsteps - 1].delay_ms) {
        s_fail (p, p->line, "ladder delays must increase: %s is not after the step before", words [1]);
        return;
    }
    l->ladder.steps [l->ladder.nsteps++] = (sla_step_t) { (asp_sla_role_t) role, delay };
}

static void
s_key_compensation (s_parse_t *p, const char *key, const char *value)
{
    s_comp_t *c = &p->self->comps [p->cur_index];
    int64_t v;
    if (strcmp (key, "percent") == 0) {
        //  Up to two decimals: basis points.
        char copy [32];
        snprintf (copy, sizeof copy, "%s", value);
        size_t n = strlen (copy);
        if (n && copy [n - 1] == '%')
            copy [n - 1] = 0;
        if (!s_once (p, 1, key))
            return;
        if (s_money (copy, &v) || v > 10000) {
            s_fail (p, p->line, "percent must be 0 to 100 (up to two decimals), not '%s'", value);
            return;
        }
        c->comp.percent_bp = v;
        c->has_percent = true;
    }
    else
    if (strcmp (key, "per_day") == 0 || strcmp (key, "min") == 0 || strcmp (key, "max") == 0) {
        unsigned bit = key [0] == 'p'? 2: key [1] == 'i'? 4: 8;
        if (!s_once (p, bit, key))
            return;
        if (s_money (value, &v)) {
            s_fail (p, p->line, "%s is an amount in major units with up to two decimals, not '%s'",
                    key, value);
            return;
        }
        if (bit == 2) {
            if (v == 0) {
                s_fail (p, p->line, "per_day must be more than 0");
                return;
            }
            c->comp.per_day = v;
            c->has_per_day = true;
        }
        else
        if (bit == 4) {
            c->comp.min = v;
            c->has_min = true;
        }
        else {
            if (v == 0) {
                s_fail (p, p->line, "max must be more than 0 (leave it out for no maximum)");
                return;
            }
            c->comp.max = v;
            c->has_max = true;
            c->max_line = p->line;
        }
    }
    else {
        s_fail (p, p->line, "unknown key '%s' in [compensation] (percent, per_day, min, max)", key);
        return;
    }
    if (c->has_percent && c->has_per_day)
        s_fail (p, p->line, "a rule has percent or per_day, not both");
    else
    if (c->has_min && c->has_max && c->comp.min > c->comp.max)
        s_fail (p, p->line, "min is more than max");
}

static void
s_key_approval (s_parse_t *p, const char *key, const char *value)
{
    int role = asp_vocab_parse (&asp_vocab_sla_role, key);
    if (role < 0) {
        s_fail (p, p->line, "unknown key '%s' in [approval] (agent, supervisor, manager)", key);
        return;
    }
    int64_t v;
    if (!s_once (p, 1u << role, key))
        return;
    if (s_money (value, &v)) {
        s_fail (p, p->line, "a cap is an amount in major units with up to two decimals, not '%s'", value);
        return;
    }
    p->self->caps [role] = v;
}

//  "type=repair,installation tier=express class=A region=north,east"
enum { S_KEY_TYPE = 1, S_KEY_TIER = 2, S_KEY_CLASS = 4, S_KEY_REGION = 8 };

static void
s_key_match (s_parse_t *p, s_policy_t *pol, const char *value)
{
    char copy [S_LINE_MAX];
    snprintf (copy, sizeof copy, "%s", value);
    char *words [8];
    int n = s_words (copy, words, 8);
    if (n <= 0) {
        s_fail (p, p->line, "match needs at least one of type=, tier=, class=, region=");
        return;
    }
    pol->has_match = true;
    pol->match_line = p->line;
    for (int i = 0; i < n; i++) {
        char *eq = strchr (words [i], '=');
        if (!eq || !eq [1]) {
            s_fail (p, p->line, "'%s': a match is <key>=<value>[,<value>...]", words [i]);
            return;
        }
        *eq = 0;
        const char *key = words [i];
        char *list = eq + 1;
        const asp_vocab_t *vocab = NULL;
        unsigned bit, *mask = NULL;
        if (strcmp (key, "type") == 0)
            bit = S_KEY_TYPE, vocab = &asp_vocab_kind, mask = &pol->rule.kinds;
        else
        if (strcmp (key, "tier") == 0)
            bit = S_KEY_TIER, vocab = &asp_vocab_tier, mask = &pol->rule.tiers;
        else
        if (strcmp (key, "class") == 0)
            bit = S_KEY_CLASS, vocab = &asp_vocab_class, mask = &pol->rule.classes;
        else
        if (strcmp (key, "region") == 0)
            bit = S_KEY_REGION;
        else {
            s_fail (p, p->line, "unknown match key '%s' (type, tier, class, region)", key);
            return;
        }
        if (pol->key_set & bit) {
            s_fail (p, p->line, "match key '%s' given twice", key);
            return;
        }
        pol->key_set |= bit;
        pol->nkeys++;
        char *save = NULL;
        for (char *v = strtok_r (list, ",", &save); v; v = strtok_r (NULL, ",", &save)) {
            if (vocab) {
                int x = asp_vocab_parse (vocab, v);
                if (x < 0) {
                    char words_ [160];
                    s_fail (p, p->line, "unknown %s '%s' (%s)", key, v,
                            asp_vocab_join (vocab, words_, sizeof words_));
                    return;
                }
                *mask |= 1u << x;
            }
            else {
                if (!s_name_ok (v)) {
                    s_fail (p, p->line, "bad region name '%s'", v);
                    return;
                }
                pol->regions = (char **) realloc (pol->regions, (size_t) (pol->rule.nregions + 1) * sizeof (char *));
                assert (pol->regions);
                pol->regions [pol->rule.nregions++] = s_strdup (v);
            }
        }
    }
    pol->rule.regions = (const char *const *) pol->regions;
}

//  A clock line: "<target> [calendar|business] [pause=a,b] [warn=NN%]
//  [ladder=<name>|none] [compensation=<rule>]", or "off".
static void
s_key_clock (s_parse_t *p, s_policy_t *pol, asp_clock_t clock, const char *value)
{
    s_line_t *l = &pol->lines [clock];
    if (l->given) {
        s_fail (p, p->line, "duplicate clock '%s' in this policy (first at line %d)",
                asp_vocab_name (&asp_vocab_clock, clock), l->line);
        return;
    }
    *l = (s_line_t) { .given = true, .line = p->line };
    char copy [S_LINE_MAX];
    snprintf (copy, sizeof copy, "%s", value);
    char *w [12];
    int n = s_words (copy, w, 12);
    if (n <= 0) {
        s_fail (p, p->line, "a clock line has a target: 4h, 1d12h, at 10:00 +1d, or off");
        return;
    }
    if (strcmp (w [0], "off") == 0) {
        if (n > 1)
            s_fail (p, p->line, "'off' takes no options");
        l->off = true;
        return;
    }
    //  Clocks dated by their event take a grace after it, not a time.
    bool dated = clock == ASP_CLOCK_APPOINTMENT_KEPT || clock == ASP_CLOCK_CALLBACK;
    sla_target_t *t = &l->target;
    int i = 1;
    if (strcmp (w [0], "at") == 0) {
        int hh, mm, days, used = 0;
        char unit [4] = "";
        if (dated) {
            s_fail (p, p->line, "%s is dated by its event: its target is a grace (e.g. 30m), not a time",
                    asp_vocab_name (&asp_vocab_clock, clock));
            return;
        }
        if (n < 3 || sscanf (w [1], "%2d:%2d%n", &hh, &mm, &used) != 2 || w [1][used]
        || hh < 0 || hh > 23 || mm < 0 || mm > 59 || strlen (w [1]) != 5) {
            s_fail (p, p->line, "a fixed time is 'at HH:MM +Nd' or 'at HH:MM +Nwd'");
            return;
        }
        used = 0;
        if (sscanf (w [2], "+%3d%3[dw]%n", &days, unit, &used) != 2 || w [2][used]
        || (strcmp (unit, "d") && strcmp (unit, "wd")) || days < 0 || days > 366) {
            s_fail (p, p->line, "'%s': days after the start are +Nd or +Nwd (working days), N 0..366", w [2]);
            return;
        }
        t->fixed = true;
        t->at_hh = hh;
        t->at_mm = mm;
        t->at_days = days;
        t->at_working = unit [0] == 'w';
        i = 3;
    }
    else {
        int64_t ms;
        if (s_duration (w [0], &ms)) {
            s_fail (p, p->line, "bad target '%s': a duration like 90m, 4h, 1d12h, 3d, or 'at HH:MM +Nd'", w [0]);
            return;
        }
        if (ms > S_TARGET_MAX || (ms == 0 && !dated)) {
            s_fail (p, p->line, "target %s out of range: more than 0 and at most 366d%s", w [0],
                    dated? "": " (0 only for the grace of appointment_kept and callback)");
            return;
        }
        t->target_ms = ms;
    }
    t->basis = ASP_BASIS_CALENDAR;
    bool basis_given = false;
    for (; i < n; i++) {
        char *opt = w [i];
        int basis = asp_vocab_parse (&asp_vocab_basis, opt);
        if (basis >= 0) {
            if (basis_given) {
                s_fail (p, p->line, "basis given twice");
                return;
            }
            basis_given = true;
            t->basis = (asp_basis_t) basis;
            continue;
        }
        char *eq = strchr (opt, '=');
        if (!eq) {
            s_fail (p, p->line, "unknown option '%s' (calendar, business, pause=, warn=, ladder=, compensation=)", opt);
            return;
        }
        *eq = 0;
        char *arg = eq + 1;
        if (strcmp (opt, "pause") == 0) {
            char *save = NULL;
            for (char *v = strtok_r (arg, ",", &save); v; v = strtok_r (NULL, ",", &save)) {
                int bit = asp_vocab_parse (&asp_vocab_pause, v);
                if (bit < 0) {
                    s_fail (p, p->line, "unknown pause '%s' (customer, parts)", v);
                    return;
                }
                t->pause_mask |= 1u << bit;
            }
        }
        else
        if (strcmp (opt, "warn") == 0) {
            int64_t pct;
            if (s_pct (arg, &pct) || pct < 1 || pct > 99) {
                s_fail (p, p->line, "warn must be 1%% to 99%%, not '%s'", arg);
                return;
            }
            l->warn_given = true;
            l->warn_pct = (int) pct;
        }
        else
        if (strcmp (opt, "ladder") == 0) {
            l->ladder_given = true;
            l->ladder_none = strcmp (arg, "none") == 0;
            if (!l->ladder_none && !s_name_ok (arg)) {
                s_fail (p, p->line, "bad ladder name '%s'", arg);
                return;
            }
            snprintf (l->ladder, sizeof l->ladder, "%s", arg);
        }
        else
        if (strcmp (opt, "compensation") == 0) {
            if (!s_name_ok (arg)) {
                s_fail (p, p->line, "bad compensation rule name '%s'", arg);
                return;
            }
            snprintf (l->comp, sizeof l->comp, "%s", arg);
        }
        else {
            s_fail (p, p->line, "unknown option '%s=' (pause=, warn=, ladder=, compensation=)", opt);
            return;
        }
    }
    if (t->fixed && t->at_working && t->basis != ASP_BASIS_BUSINESS)
        s_fail (p, p->line, "+%dwd counts working days: give the business basis", t->at_days);
}

static void
s_key_policy (s_parse_t *p, const char *key, const char *value)
{
    s_policy_t *pol = &p->self->policies [p->cur_index];
    int clock = asp_vocab_parse (&asp_vocab_clock, key);
    if (clock >= 0) {
        s_key_clock (p, pol, (asp_clock_t) clock, value);
        return;
    }
    if (strcmp (key, "match") == 0) {
        if (s_once (p, 1, key))
            s_key_match (p, pol, value);
    }
    else
    if (strcmp (key, "base") == 0) {
        if (!s_once (p, 2, key))
            return;
        if (!s_name_ok (value)) {
            s_fail (p, p->line, "bad policy name '%s'", value);
            return;
        }
        snprintf (pol->base, sizeof pol->base, "%s", value);
        pol->base_line = p->line;
    }
    else
    if (strcmp (key, "warn") == 0) {
        int64_t pct;
        if (!s_once (p, 4, key))
            return;
        if (s_pct (value, &pct) || pct < 1 || pct > 99) {
            s_fail (p, p->line, "warn must be 1%% to 99%%, not '%s'", value);
            return;
        }
        pol->warn_given = true;
        pol->warn_pct = (int) pct;
        pol->warn_line = p->line;
    }
    else
    if (strcmp (key, "ladder") == 0) {
        if (!s_once (p, 8, key))
            return;
        pol->ladder_none = strcmp (value, "none") == 0;
        if (!pol->ladder_none && !s_name_ok (value)) {
            s_fail (p, p->line, "bad ladder name '%s'", value);
            return;
        }
        pol->ladder_given = true;
        pol->ladder_line = p->line;
        snprintf (pol->ladder, sizeof pol->ladder, "%s", value);
    }
    else
    if (strcmp (key, "retarget") == 0) {
        if (!s_once (p, 16, key))
            return;
        if (strcmp (value, "yes") && strcmp (value, "no")) {
            s_fail (p, p->line, "retarget is yes or no, not '%s'", value);
            return;
        }
        pol->retarget_given = true;
        pol->rule.retarget = value [0] == 'y';
    }
    else {
        char clocks [300];
        s_fail (p, p->line, "unknown key '%s' in [policy] (match, base, warn, ladder, retarget, or a clock: %s)",
                key, asp_vocab_join (&asp_vocab_clock, clocks, sizeof clocks));
    }
}

//  inih's handler: one "name = value" of the line p->line.
static int
s_handler (void *user, const char *section, const char *key, const char *value)
{
    (void) section;                 //  the reader opened it (empty sections too)
    s_parse_t *p = (s_parse_t *) user;
    if (p->error_line)
        return 1;
    if (!*value) {
        s_fail (p, p->line, "'%s' has no value", key);
        return 1;
    }
    switch (p->section) {
        case S_SEC_NONE:
            s_fail (p, p->line, "'%s' outside a section", key);
            break;
        case S_SEC_CALENDAR:     s_key_calendar (p, key, value); break;
        case S_SEC_REGION:       s_key_region (p, key, value); break;
        case S_SEC_LADDER:       s_key_ladder (p, key, value); break;
        case S_SEC_COMPENSATION: s_key_compensation (p, key, value); break;
        case S_SEC_APPROVAL:     s_key_approval (p, key, value); break;
        case S_SEC_POLICY:       s_key_policy (p, key, value); break;
    }
    return 1;
}

//  inih's reader: the next line of p->text into line. It counts lines
//  (Debian's inih does not pass line numbers to the handler), strips the
//  indentation (so that inih never takes an indented line for the
//  continuation of the one before), refuses lines longer than inih's
//  buffer (it would cut them in two), and opens sections here, so that
//  a section with no keys is seen too.
static char *
s_read_line (char *line, int size, void *stream)
{
    s_parse_t *p = (s_parse_t *) stream;
    if (!*p->pos)
        return NULL;
    const char *end = strchr (p->pos, '\n');
    size_t len = end? (size_t) (end - p->pos): strlen (p->pos);
    const char *start = p->pos;
    p->pos += len + (end? 1: 0);
    p->line = ++p->lines;
    //  A UTF-8 byte order mark (inih would skip it, but after our look
    //  for a section header).
    if (p->line == 1 && len >= 3 && memcmp (start, "\xEF\xBB\xBF", 3) == 0) {
        start += 3;
        len -= 3;
    }
    while (len && (*start == ' ' || *start == '\t')) {
        start++;
        len--;
    }
    if (len && start [len - 1] == '\r')
        len--;
    line [0] = 0;
    if (p->error_line)
        return line;
    if (len >= (size_t) size - 1) {
        s_fail (p, p->line, "line longer than %d characters", size - 2);
        return line;
    }
    memcpy (line, start, len);
    line [len] = 0;
    if (line [0] == '[') {
        const char *close = strchr (line, ']');
        if (!close)
            s_fail (p, p->line, "section header without ']'");
        else {
            char header [S_LINE_MAX];
            snprintf (header, sizeof header, "%.*s", (int) (close - line - 1), line + 1);
            s_section_open (p, header);
        }
    }
    return line;
}

//  ---------------------------------------------------------------------
//  Second pass

static s_cal_t *
s_find_cal (sla_policy_t *self, const char *name)
{
    for (int i = 0; i < self->ncals; i++)
        if (strcmp (self->cals [i].name, name) == 0)
            return &self->cals [i];
    return NULL;
}

static const s_ladder_t *
s_find_ladder (const sla_policy_t *self, const char *name)
{
    for (int i = 0; i < self->nladders; i++)
        if (strcmp (self->ladders [i].ladder.name, name) == 0)
            return &self->ladders [i];
    return NULL;
}

static const s_comp_t *
s_find_comp (const sla_policy_t *self, const char *name)
{
    for (int i = 0; i < self->ncomps; i++)
        if (strcmp (self->comps [i].comp.name, name) == 0)
            return &self->comps [i];
    return NULL;
}

static s_policy_t *
s_find_policy (const sla_policy_t *self, const char *name)
{
    for (int i = 0; i < self->npolicies; i++)
        if (strcmp (self->policies [i].rule.name, name) == 0)
            return &self->policies [i];
    return NULL;
}

static void
s_build_calendar (s_parse_t *p, s_cal_t *c)
{
    char why [256] = "";
    if (!c->zone) {
        s_fail (p, c->line, "[calendar %s] has no zone", c->name);
        return;
    }
    asp_calbuild_t *b = asp_calbuild_new (c->name, c->zone, why, sizeof why);
    if (!b) {
        s_fail (p, c->zone_line, "zone '%s': %s", c->zone, why);
        return;
    }
    for (int i = 0; i < c->nlines; i++) {
        s_cal_line_t *l = &c->lines [i];
        int rc = l->key == S_CAL_HOURS? asp_calbuild_hours (b, l->value, why, sizeof why)
               : l->key == S_CAL_HOLIDAY? asp_calbuild_holiday (b, l->value, why, sizeof why)
               : asp_calbuild_workday (b, l->value, why, sizeof why);
        if (rc) {
            s_fail (p, l->line, "%s", why);
            asp_calbuild_destroy (&b);
            return;
        }
    }
    c->cal = asp_calbuild_build (&b, why, sizeof why);
    if (!c->cal) {
        s_fail (p, c->line, "[calendar %s]: %s", c->name, why);
        return;
    }
    char name24 [SLA_NAME_MAX + 8];
    snprintf (name24, sizeof name24, "%s/24x7", c->name);
    c->cal24 = asp_calendar_new_24x7 (name24, c->zone, why, sizeof why);
    if (!c->cal24)
        s_fail (p, c->zone_line, "zone '%s': %s", c->zone, why);
}

//  Inheritance: the base's settings, then the policy's own (recursion
//  on base; a policy met again on the way is a cycle).
static int
s_resolve (s_parse_t *p, s_policy_t *pol)
{
    if (pol->state == 2)
        return 0;
    if (pol->state == 1) {
        s_fail (p, pol->base_line, "base cycle: [policy %s] inherits from itself", pol->rule.name);
        return -1;
    }
    pol->state = 1;
    pol->eff_warn = S_WARN_DEFAULT;
    if (*pol->base) {
        s_policy_t *base = s_find_policy (p->self, pol->base);
        if (!base) {
            s_fail (p, pol->base_line, "unknown policy '%s' (base)", pol->base);
            pol->state = 2;
            return -1;
        }
        if (s_resolve (p, base)) {
            pol->state = 2;
            return -1;
        }
        pol->eff_warn = base->eff_warn;
        pol->eff_ladder_given = base->eff_ladder_given;
        pol->eff_ladder_none = base->eff_ladder_none;
        pol->eff_ladder_line = base->eff_ladder_line;
        memcpy (pol->eff_ladder, base->eff_ladder, sizeof pol->eff_ladder);
        pol->eff_retarget = base->eff_retarget;
        memcpy (pol->eff, base->eff, sizeof pol->eff);
    }
    if (pol->warn_given)
        pol->eff_warn = pol->warn_pct;
    if (pol->ladder_given) {
        pol->eff_ladder_given = true;
        pol->eff_ladder_none = pol->ladder_none;
        pol->eff_ladder_line = pol->ladder_line;
        memcpy (pol->eff_ladder, pol->ladder, sizeof pol->eff_ladder);
    }
    if (pol->retarget_given)
        pol->eff_retarget = pol->rule.retarget;
    for (int c = 0; c < ASP_CLOCK_COUNT; c++)
        if (pol->lines [c].given)
            pol->eff [c] = pol->lines [c];
    pol->state = 2;
    return 0;
}

//  The public rule of pol from its resolved lines.
static void
s_finish (s_parse_t *p, s_policy_t *pol)
{
    sla_policy_t *self = p->self;
    pol->rule.retarget = pol->eff_retarget;
    const sla_ladder_t *dflt = NULL;
    if (pol->eff_ladder_given && !pol->eff_ladder_none) {
        const s_ladder_t *l = s_find_ladder (self, pol->eff_ladder);
        if (!l)
            s_fail (p, pol->eff_ladder_line, "unknown ladder '%s'", pol->eff_ladder);
        else
            dflt = &l->ladder;
    }
    for (int c = 0; c < ASP_CLOCK_COUNT; c++) {
        s_line_t *l = &pol->eff [c];
        sla_target_t *t = &pol->rule.clocks [c];
        memset (t, 0, sizeof *t);
        if (!l->given || l->off)
            continue;
        *t = l->target;
        t->on = true;
        t->warn_pct = l->warn_given? l->warn_pct: pol->eff_warn;
        t->ladder = dflt;
        if (l->ladder_given) {
            t->ladder = NULL;
            if (!l->ladder_none) {
                const s_ladder_t *lad = s_find_ladder (self, l->ladder);
                if (!lad)
                    s_fail (p, l->line, "unknown ladder '%s'", l->ladder);
                else
                    t->ladder = &lad->ladder;
            }
        }
        if (*l->comp) {
            const s_comp_t *comp = s_find_comp (self, l->comp);
            if (!comp)
                s_fail (p, l->line, "unknown compensation rule '%s'", l->comp);
            else
                t->comp = &comp->comp;
        }
    }
}

//  The names pol's own lines use, whether or not its base resolved (so
//  that the earliest of several errors is the one reported).
static void
s_check_names (s_parse_t *p, const s_policy_t *pol)
{
    if (pol->ladder_given && !pol->ladder_none && !s_find_ladder (p->self, pol->ladder))
        s_fail (p, pol->ladder_line, "unknown ladder '%s'", pol->ladder);
    for (int c = 0; c < ASP_CLOCK_COUNT; c++) {
        const s_line_t *l = &pol->lines [c];
        if (!l->given)
            continue;
        if (l->ladder_given && !l->ladder_none && !s_find_ladder (p->self, l->ladder))
            s_fail (p, l->line, "unknown ladder '%s'", l->ladder);
        if (*l->comp && !s_find_comp (p->self, l->comp))
            s_fail (p, l->line, "unknown compensation rule '%s'", l->comp);
    }
}

//  Two policies with the same keys and values in their match.
static bool
s_same_match (const s_policy_t *a, const s_policy_t *b)
{
    if (a->key_set != b->key_set || a->rule.kinds != b->rule.kinds || a->rule.tiers != b->rule.tiers
    ||  a->rule.classes != b->rule.classes || a->rule.nregions != b->rule.nregions)
        return false;
    for (int i = 0; i < a->rule.nregions; i++) {
        bool found = false;
        for (int j = 0; j < b->rule.nregions && !found; j++)
            found = strcmp (a->rule.regions [i], b->rule.regions [j]) == 0;
        if (!found)
            return false;
    }
    //  Region lists of the same length, each of a's in b's: the same set
    //  unless b repeats a name; refuse repeats below via the other way.
    for (int j = 0; j < b->rule.nregions; j++) {
        bool found = false;
        for (int i = 0; i < a->rule.nregions && !found; i++)
            found = strcmp (a->rule.regions [i], b->rule.regions [j]) == 0;
        if (!found)
            return false;
    }
    return true;
}

static void
s_second_pass (s_parse_t *p)
{
    sla_policy_t *self = p->self;
    p->second = true;
    //  File-wide errors name the last line; an empty file (an editor's
    //  truncate-then-write seen half way) has none: line 1.
    int last = p->lines? p->lines: 1;
    for (int i = 0; i < self->ncals; i++)
        s_build_calendar (p, &self->cals [i]);
    for (int i = 0; i < self->nregions; i++) {
        s_region_t *r = &self->regions [i];
        if (strcmp (r->name, "*") == 0)
            self->star = r;
        if (*r->calendar) {
            r->cal = s_find_cal (self, r->calendar);
            if (!r->cal)
                s_fail (p, r->calendar_line, "unknown calendar '%s'", r->calendar);
        }
    }
    if (!self->star)
        s_fail (p, last, "no [region *]: every region without a section of its own needs it");
    else
    if (!*self->star->calendar)
        s_fail (p, self->star->line, "[region *] needs a calendar");
    for (int i = 0; i < self->ncomps; i++) {
        s_comp_t *c = &self->comps [i];
        if (!c->has_percent && !c->has_per_day)
            s_fail (p, c->line, "[compensation %s] needs percent or per_day", c->comp.name);
    }
    for (int i = 0; i < self->nladders; i++)
        if (self->ladders [i].ladder.nsteps == 0)
            s_fail (p, self->ladders [i].line, "[ladder %s] has no steps", self->ladders [i].ladder.name);
    const s_policy_t *catch_all = NULL;
    for (int i = 0; i < self->npolicies; i++) {
        s_policy_t *pol = &self->policies [i];
        s_check_names (p, pol);
        if (s_resolve (p, pol) == 0)
            s_finish (p, pol);
        if (!pol->has_match && !catch_all)
            catch_all = pol;
        for (int j = 0; j < i; j++)
            if (s_same_match (&self->policies [j], pol)) {
                s_fail (p, pol->has_match? pol->match_line: pol->rule.line,
                        "[policy %s] has the same match as [policy %s] (line %d)", pol->rule.name,
                        self->policies [j].rule.name, self->policies [j].rule.line);
                break;
            }
    }
    if (!catch_all)
        s_fail (p, last, "no policy without a match line: every ticket needs one (e.g. [policy standard])");
}

//  ---------------------------------------------------------------------
//  Loading

//  FNV-1a, 64 bits: which text is live (not a security hash).
static void
s_version (sla_policy_t *self, const char *text)
{
    uint64_t h = 1469598103934665603ULL;
    for (const unsigned char *c = (const unsigned char *) text; *c; c++)
        h = (h ^ *c) * 1099511628211ULL;
    snprintf (self->version, sizeof self->version, "%016" PRIx64, h);
}

sla_policy_t *
sla_policy_parse (const char *name, const char *text, char *why, size_t why_len)
{
    sla_policy_t *self = (sla_policy_t *) calloc (1, sizeof *self);
    assert (self);
    for (int r = 0; r < S_ROLES; r++)
        self->caps [r] = -1;
    s_parse_t p = { .self = self, .name = name, .text = text, .pos = text };
    int rc = ini_parse_stream (s_read_line, &p, s_handler, &p);
    //  inih's own errors: a line that is neither a section, a comment nor
    //  "name = value" (the handler never saw it).
    if (rc > 0)
        s_fail (&p, rc, "expected '[section]', 'name = value' or a comment");
    else
    if (rc < 0)
        s_fail (&p, 1, "cannot parse (out of memory)");
    if (!p.error_line)
        s_second_pass (&p);
    if (p.error_line) {
        snprintf (why, why_len, "%s", p.error);
        sla_policy_destroy (&self);
        return NULL;
    }
    s_version (self, text);
    return self;
}

sla_policy_t *
sla_policy_load (const char *path, char *why, size_t why_len)
{
    FILE *file = fopen (path, "rb");
    if (!file) {
        snprintf (why, why_len, "%s:0: cannot open: %s", path, strerror (errno));
        return NULL;
    }
    char *text = (char *) malloc (S_FILE_MAX + 1);
    assert (text);
    size_t len = fread (text, 1, S_FILE_MAX + 1, file);
    bool failed = ferror (file);
    fclose (file);
    sla_policy_t *self = NULL;
    if (failed)
        snprintf (why, why_len, "%s:0: cannot read", path);
    else
    if (len > S_FILE_MAX)
        snprintf (why, why_len, "%s:0: larger than %d bytes", path, S_FILE_MAX);
    else
    if (memchr (text, 0, len))
        snprintf (why, why_len, "%s:0: contains a NUL byte (not a text file)", path);
    else {
        text [len] = 0;
        self = sla_policy_parse (path, text, why, why_len);
    }
    free (text);
    return self;
}

sla_policy_t *
sla_policy_default (void)
{
    char why [400];
    sla_policy_t *self = sla_policy_parse ("deploy/sla/policies.conf", asp_lua_policies, why, sizeof why);
    //  Tested at build time (sla_policy_test): never fails in a build
    //  that passed its tests.
    if (!self)
        asp_log_error ("the compiled-in SLA policy is refused: %s", why);
    assert (self);
    return self;
}

void
sla_policy_destroy (sla_policy_t **self_p)
{
    sla_policy_t *self = *self_p;
    if (!self)
        return;
    for (int i = 0; i < self->ncals; i++) {
        s_cal_t *c = &self->cals [i];
        for (int j = 0; j < c->nlines; j++)
            free (c->lines [j].value);
        free (c->lines);
        free (c->zone);
        asp_calendar_destroy (&c->cal);
        asp_calendar_destroy (&c->cal24);
    }
    free (self->cals);
    for (int i = 0; i < self->nregions; i++)
        for (int r = 0; r < S_ROLES; r++)
            free (self->regions [i].to [r]);
    free (self->regions);
    free (self->ladders);
    free (self->comps);
    for (int i = 0; i < self->npolicies; i++) {
        s_policy_t *pol = &self->policies [i];
        for (int j = 0; j < pol->rule.nregions; j++)
            free (pol->regions [j]);
        free (pol->regions);
    }
    free (self->policies);
    free (self);
    *self_p = NULL;
}

//  ---------------------------------------------------------------------
//  Queries

const char *
sla_policy_version (const sla_policy_t *self)
{
    return self->version;
}

static bool
s_matches (const sla_rule_t *rule, asp_kind_t kind, asp_tier_t tier, asp_class_t cclass, const char *region)
{
    if ((rule->kinds && !(rule->kinds & (1u << kind)))
    ||  (rule->tiers && !(rule->tiers & (1u << tier)))
    ||  (rule->classes && !(rule->classes & (1u << cclass))))
        return false;
    if (rule->nregions == 0)
        return true;
    for (int i = 0; region && i < rule->nregions; i++)
        if (strcmp (rule->regions [i], region) == 0)
            return true;
    return false;
}

const sla_rule_t *
sla_policy_select (const sla_policy_t *self, asp_kind_t kind, asp_tier_t tier, asp_class_t cclass,
                   const char *region)
{
    const s_policy_t *best = NULL;
    for (int i = 0; i < self->npolicies; i++) {
        const s_policy_t *pol = &self->policies [i];
        //  Strictly more keys: of equally specific ones the first stays.
        if ((!best || pol->nkeys > best->nkeys)
        &&  s_matches (&pol->rule, kind, tier, cclass, region))
            best = pol;
    }
    assert (best);                  //  a loaded file has a catch-all
    return &best->rule;
}

const sla_rule_t *
sla_policy_rule (const sla_policy_t *self, const char *name)
{
    const s_policy_t *pol = s_find_policy (self, name);
    return pol? &pol->rule: NULL;
}

static const s_region_t *
s_region (const sla_policy_t *self, const char *region)
{
    for (int i = 0; region && i < self->nregions; i++)
        if (strcmp (self->regions [i].name, region) == 0)
            return &self->regions [i];
    return self->star;
}

const asp_calendar_t *
sla_policy_calendar (const sla_policy_t *self, const char *region)
{
    const s_region_t *r = s_region (self, region);
    return (r->cal? r->cal: self->star->cal)->cal;
}

const asp_calendar_t *
sla_policy_calendar_24x7 (const sla_policy_t *self, const char *region)
{
    const s_region_t *r = s_region (self, region);
    return (r->cal? r->cal: self->star->cal)->cal24;
}

const asp_calendar_t *
sla_policy_calendar_named (const sla_policy_t *self, const char *name)
{
    for (int i = 0; i < self->ncals; i++) {
        if (strcmp (asp_calendar_name (self->cals [i].cal), name) == 0)
            return self->cals [i].cal;
        if (strcmp (asp_calendar_name (self->cals [i].cal24), name) == 0)
            return self->cals [i].cal24;
    }
    return NULL;
}

const char *
sla_policy_recipients (const sla_policy_t *self, const char *region, asp_sla_role_t role)
{
    if ((int) role < 0 || role >= S_ROLES)
        return "";
    const s_region_t *r = s_region (self, region);
    const char *to = r->to [role]? r->to [role]: self->star->to [role];
    return to? to: "";
}

int64_t
sla_policy_cap (const sla_policy_t *self, asp_sla_role_t role)
{
    return (int) role >= 0 && role < S_ROLES? self->caps [role]: -1;
}

int64_t
sla_policy_compensation (const sla_policy_t *self, const sla_comp_t *rule, int64_t price,
                         int64_t late_ms, asp_sla_role_t *approver, bool *capped)
{
    int64_t amount;
    if (rule->per_day) {
        //  Each started day counts, and a late clock is at least a day late.
        int64_t days = late_ms > 0? (late_ms + S_DAY_MS - 1) / S_DAY_MS: 1;
        amount = days > S_MONEY_MAX / rule->per_day? S_MONEY_MAX: days * rule->per_day;
    }
    else {
        if (price < 0)
            price = 0;
        if (price > S_MONEY_MAX)
            price = S_MONEY_MAX;
        //  Rounded half up to the minor unit.
        amount = (price * rule->percent_bp + 5000) / 10000;
    }
    if (amount < rule->min)
        amount = rule->min;
    if (rule->max && amount > rule->max)
        amount = rule->max;
    //  The lowest role whose cap covers it; else the highest cap.
    *capped = false;
    int top = -1;
    for (int r = 0; r < S_ROLES; r++) {
        if (self->caps [r] < 0)
            continue;
        if (amount <= self->caps [r]) {
            *approver = (asp_sla_role_t) r;
            return amount;
        }
        if (top < 0 || self->caps [r] > self->caps [top])
            top = r;
    }
    if (top < 0) {
        //  No [approval] caps at all: nothing limits it, the top role approves.
        *approver = ASP_SLA_ROLE_MANAGER;
        return amount;
    }
    *approver = (asp_sla_role_t) top;
    *capped = true;
    return self->caps [top];
}

//  ---------------------------------------------------------------------
//  The watcher

struct sla_policy_watch_t {
    sla_policy_t *current;
    asp_filewatch_t *file;          //  NULL: the compiled-in default
    char error [400];
};

sla_policy_watch_t *
sla_policy_watch_new (const char *path, char *why, size_t why_len)
{
    sla_policy_watch_t *self = (sla_policy_watch_t *) calloc (1, sizeof *self);
    assert (self);
    if (!path) {
        self->current = sla_policy_default ();
        return self;
    }
    self->file = asp_filewatch_new (path, 1000);
    asp_filewatch_mark (self->file, 0);
    self->current = sla_policy_load (path, why, why_len);
    if (!self->current)
        sla_policy_watch_destroy (&self);
    return self;
}

void
sla_policy_watch_destroy (sla_policy_watch_t **self_p)
{
    sla_policy_watch_t *self = *self_p;
    if (self) {
        sla_policy_destroy (&self->current);
        asp_filewatch_destroy (&self->file);
        free (self);
        *self_p = NULL;
    }
}

int
sla_policy_watch_check (sla_policy_watch_t *self, int64_t now_ms)
{
    if (!self->file || !asp_filewatch_due (self->file, now_ms))
        return 0;
    //  Marked before reading: a change while we read is seen next time.
    asp_filewatch_mark (self->file, now_ms);
    char why [sizeof self->error];
    sla_policy_t *fresh = sla_policy_load (asp_filewatch_path (self->file), why, sizeof why);
    if (!fresh) {
        snprintf (self->error, sizeof self->error, "%s", why);
        asp_log_error ("SLA policy refused, the old one stays: %s", why);
        return -1;
    }
    asp_log_info ("SLA policy %s loaded from %s", sla_policy_version (fresh),
                  asp_filewatch_path (self->file));
    sla_policy_destroy (&self->current);
    self->current = fresh;
    self->error [0] = 0;
    return 1;
}

void
sla_policy_watch_hup (sla_policy_watch_t *self)
{
    if (self->file)
        asp_filewatch_hup (self->file);
}

const sla_policy_t *
sla_policy_watch_current (const sla_policy_watch_t *self)
{
    return self->current;
}

const char *
sla_policy_watch_error (const sla_policy_watch_t *self)
{
    return self->error;
}

//  ---------------------------------------------------------------------
//  Self-test

#include <sys/stat.h>
#include <unistd.h>

//  A small valid file; the refusal cases add lines after its line 7.
#define S_MIN   "[calendar c]\n"                    /* 1 */ \
                "zone = UTC\n"                      /* 2 */ \
                "hours = mon-fri 09:00-17:00\n"     /* 3 */ \
                "[region *]\n"                      /* 4 */ \
                "calendar = c\n"                    /* 5 */ \
                "[policy std]\n"                    /* 6 */ \
                "first_response = 1h\n"             /* 7 */

//  text is refused with "t.conf:<line>: ..." containing want.
static void
s_refused (const char *text, int line, const char *want)
{
    char why [400] = "";
    sla_policy_t *self = sla_policy_parse ("t.conf", text, why, sizeof why);
    char head [32];
    snprintf (head, sizeof head, "t.conf:%d: ", line);
    bool ok = !self && strncmp (why, head, strlen (head)) == 0 && strstr (why, want);
    if (!ok)
        fprintf (stderr, "sla_policy: want '%s%s', got %s '%s'\n--\n%s--\n", head, want,
                 self? "a policy": "", why, text);
    assert (ok);
}

static sla_policy_t *
s_parsed (const char *text)
{
    char why [400] = "";
    sla_policy_t *self = sla_policy_parse ("t.conf", text, why, sizeof why);
    if (!self)
        fprintf (stderr, "sla_policy: refused: %s\n--\n%s--\n", why, text);
    assert (self);
    return self;
}

static const sla_target_t *
s_target (const sla_policy_t *self, const char *policy, asp_clock_t clock)
{
    const sla_rule_t *rule = sla_policy_rule (self, policy);
    assert (rule);
    return &rule->clocks [clock];
}

//  The amount, approver and capped of rule (named) at price / late_ms.
static void
s_owes (const sla_policy_t *self, const char *policy, asp_clock_t clock, int64_t price, int64_t late_ms,
        int64_t amount, asp_sla_role_t approver, bool capped)
{
    const sla_target_t *t = s_target (self, policy, clock);
    assert (t->comp);
    asp_sla_role_t who = (asp_sla_role_t) -1;
    bool cut = !capped;
    int64_t got = sla_policy_compensation (self, t->comp, price, late_ms, &who, &cut);
    if (got != amount || who != approver || cut != capped)
        fprintf (stderr, "sla_policy: %s/%s price %" PRId64 " late %" PRId64 ": want %" PRId64
                 " %d %d, got %" PRId64 " %d %d\n", policy, asp_vocab_name (&asp_vocab_clock, clock),
                 price, late_ms, amount, approver, capped, got, who, cut);
    assert (got == amount && who == approver && cut == capped);
}

static void
s_write_file (const char *path, const char *text)
{
    //  Written beside and renamed over: a new inode, as editors do.
    char tmp [256];
    snprintf (tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen (tmp, "w");
    assert (f);
    fputs (text, f);
    assert (fclose (f) == 0);
    assert (rename (tmp, path) == 0);
}

static void
s_test_refusals (void)
{
    //  Syntax and the first pass, each on its line.
    s_refused (S_MIN "[polcy x]\n", 8, "unknown section [polcy]");
    s_refused (S_MIN "[policy]\n", 8, "needs a name");
    s_refused (S_MIN "[approval x]\n", 8, "[approval] has no name");
    s_refused (S_MIN "[policy a b c]\n", 8, "a section is");
    s_refused (S_MIN "[policy bad/name]\n", 8, "bad name");
    s_refused (S_MIN "[policy x\n", 8, "without ']'");
    s_refused (S_MIN "just words\n", 8, "expected '[section]'");
    s_refused ("zone = UTC\n" S_MIN, 1, "outside a section");
    s_refused (S_MIN "warn =\n", 8, "has no value");
    s_refused (S_MIN "colour = red\n", 8, "unknown key 'colour' in [policy]");
    s_refused (S_MIN "first_reponse = 4h\n", 8, "unknown key 'first_reponse'");
    s_refused (S_MIN "first_response = 2h\n", 8, "duplicate clock 'first_response' in this policy (first at line 7)");
    s_refused (S_MIN "[calendar c]\nzone = UTC\n", 8, "duplicate [calendar c] (first at line 1)");
    s_refused (S_MIN "[region *]\n", 8, "duplicate [region *] (first at line 4)");
    s_refused (S_MIN "[policy std]\n", 8, "duplicate [policy std] (first at line 6)");
    s_refused (S_MIN "[ladder l]\nstep = agent 1h\n[ladder l]\n", 10, "duplicate [ladder l] (first at line 8)");
    s_refused (S_MIN "[compensation r]\npercent = 1\n[compensation r]\n", 10, "duplicate [compensation r]");
    s_refused (S_MIN "[approval]\nagent = 1\n[approval]\n", 10, "duplicate [approval] (first at line 8)");
    s_refused (S_MIN "warn = 80%\nwarn = 70%\n", 9, "duplicate key 'warn'");
    s_refused (S_MIN "[calendar d]\nzone = UTC\nzone = UTC\n", 10, "duplicate key 'zone'");
    s_refused (S_MIN "[calendar d]\ncolour = red\n", 9, "unknown key 'colour' in [calendar]");
    s_refused (S_MIN "[region north]\nagent = a@b\n", 9, "'agent' has no recipients here");
    s_refused (S_MIN "[region north]\nclerk = a@b\n", 9, "unknown key 'clerk' in [region]");
    s_refused (S_MIN "[ladder l]\nstep = clerk 1h\n", 9, "unknown role 'clerk'");
    s_refused (S_MIN "[ladder l]\nstep = agent\n", 9, "a step is");
    s_refused (S_MIN "[ladder l]\nstep = agent 1x\n", 9, "bad delay '1x'");
    s_refused (S_MIN "[ladder l]\nstep = agent 367d\n", 9, "at most 366d");
    s_refused (S_MIN "[ladder l]\nstep = agent 2h\nstep = supervisor 2h\n", 10, "ladder delays must increase");
    s_refused (S_MIN "[ladder l]\nstep = agent 2h\nstep = supervisor 1h\n", 10, "ladder delays must increase");
    s_refused (S_MIN "[ladder l]\nstep = agent 1h\nstep = agent 2h\nstep = agent 3h\nstep = agent 4h\n"
               "step = agent 5h\nstep = agent 6h\nstep = agent 7h\nstep = agent 8h\nstep = agent 9h\n",
               17, "more than 8 steps");
    s_refused (S_MIN "[compensation r]\npercent = 101\n", 9, "percent must be 0 to 100");
    s_refused (S_MIN "[compensation r]\npercent = -1\n", 9, "percent must be 0 to 100");
    s_refused (S_MIN "[compensation r]\npercent = 5.125\n", 9, "percent must be 0 to 100");
    s_refused (S_MIN "[compensation r]\npercent = 5\nper_day = 2\n", 10, "percent or per_day, not both");
    s_refused (S_MIN "[compensation r]\npercent = 5\nmin = 30\nmax = 1\n", 11, "min is more than max");
    s_refused (S_MIN "[compensation r]\npercent = 5\nmax = 0\n", 10, "max must be more than 0");
    s_refused (S_MIN "[compensation r]\nper_day = 0\n", 9, "per_day must be more than 0");
    s_refused (S_MIN "[compensation r]\nmin = 1,5\n", 9, "min is an amount");
    s_refused (S_MIN "[compensation r]\nrate = 5\n", 9, "unknown key 'rate' in [compensation]");
    s_refused (S_MIN "[approval]\nclerk = 5\n", 9, "unknown key 'clerk' in [approval]");
    s_refused (S_MIN "[approval]\nagent = lots\n", 9, "a cap is an amount");
    //  Targets.
    s_refused (S_MIN "resolution = 0m\n", 8, "target 0m out of range");
    s_refused (S_MIN "resolution = -4h\n", 8, "bad target '-4h'");
    s_refused (S_MIN "resolution = 367d\n", 8, "target 367d out of range");
    s_refused (S_MIN "resolution = 366d1s\n", 8, "out of range");
    s_refused (S_MIN "resolution = 4h4h\n", 8, "bad target");
    s_refused (S_MIN "resolution = 4x\n", 8, "bad target");
    s_refused (S_MIN "resolution = 4h weekly\n", 8, "unknown option 'weekly'");
    s_refused (S_MIN "resolution = 4h calendar business\n", 8, "basis given twice");
    s_refused (S_MIN "resolution = 4h pause=lunch\n", 8, "unknown pause 'lunch'");
    s_refused (S_MIN "resolution = 4h warn=0%\n", 8, "warn must be 1% to 99%");
    s_refused (S_MIN "resolution = 4h warn=100%\n", 8, "warn must be 1% to 99%");
    s_refused (S_MIN "warn = 100%\n", 8, "warn must be 1% to 99%");
    s_refused (S_MIN "resolution = 4h colour=red\n", 8, "unknown option 'colour='");
    s_refused (S_MIN "resolution = off 4h\n", 8, "'off' takes no options");
    s_refused (S_MIN "resolution = at 25:00 +1d\n", 8, "a fixed time is");
    s_refused (S_MIN "resolution = at 10:00\n", 8, "a fixed time is");
    s_refused (S_MIN "resolution = at 10:00 +1w\n", 8, "+Nd or +Nwd");
    s_refused (S_MIN "resolution = at 10:00 +367d\n", 8, "+Nd or +Nwd");
    s_refused (S_MIN "resolution = at 10:00 +3wd\n", 8, "give the business basis");
    s_refused (S_MIN "callback = at 10:00 +1d\n", 8, "dated by its event");
    s_refused (S_MIN "retarget = maybe\n", 8, "retarget is yes or no");
    //  Match lines.
    s_refused (S_MIN "[policy x]\nmatch = colour=red\n", 9, "unknown match key 'colour'");
    s_refused (S_MIN "[policy x]\nmatch = type=fridge\n", 9, "unknown type 'fridge'");
    s_refused (S_MIN "[policy x]\nmatch = tier=gold\n", 9, "unknown tier 'gold'");
    s_refused (S_MIN "[policy x]\nmatch = class=D\n", 9, "unknown class 'D'");
    s_refused (S_MIN "[policy x]\nmatch = tier=express tier=standard\n", 9, "given twice");
    s_refused (S_MIN "[policy x]\nmatch = express\n", 9, "a match is <key>=<value>");
    //  A line longer than inih's buffer is refused, not cut in two.
    char long_line [400];
    snprintf (long_line, sizeof long_line, S_MIN "[policy x]\nmatch = region=%0250d\n", 0);
    s_refused (long_line, 9, "line longer than");

    //  The second pass: names, file-wide rules, each on its line.
    s_refused (S_MIN "[calendar d]\nhours = mon 09:00-10:00\n", 8, "[calendar d] has no zone");
    s_refused (S_MIN "[calendar d]\nzone = Mars/Olympus\nhours = mon 09:00-10:00\n", 9, "zone 'Mars/Olympus'");
    s_refused (S_MIN "[calendar d]\nzone = UTC\nhours = someday 09:00-10:00\n", 10, "");
    s_refused (S_MIN "[calendar d]\nzone = UTC\nhours = mon 09:00-10:00\nholiday = 2026-02-30\n", 11, "");
    s_refused (S_MIN "[region north]\ncalendar = nowhere\n", 9, "unknown calendar 'nowhere'");
    s_refused ("[calendar c]\nzone = UTC\nhours = mon 09:00-10:00\n[region north]\ncalendar = c\n"
               "[policy std]\nfirst_response = 1h\n", 7, "no [region *]");
    //  An empty file (fuzz_sla_policy: once taken, its error on line 0
    //  lost, and the first ticket asserted in sla_policy_select).
    s_refused ("", 1, "no [region *]");
    s_refused ("\xEF\xBB\xBF", 1, "no [region *]");
    s_refused ("; nothing but a comment\n", 1, "no [region *]");
    s_refused ("[calendar c]\nzone = UTC\nhours = mon 09:00-10:00\n[region *]\nsupervisor = a@b\n"
               "[policy std]\nfirst_response = 1h\n", 4, "[region *] needs a calendar");
    s_refused (S_MIN "ladder = steep\n", 8, "unknown ladder 'steep'");
    s_refused (S_MIN "resolution = 4h ladder=steep\n", 8, "unknown ladder 'steep'");
    s_refused (S_MIN "resolution = 4h compensation=gift\n", 8, "unknown compensation rule 'gift'");
    s_refused (S_MIN "[policy x]\nmatch = tier=express\nbase = nope\n", 10, "unknown policy 'nope' (base)");
    s_refused (S_MIN "[policy a]\nmatch = tier=express\nbase = b\n[policy b]\nmatch = type=repair\nbase = a\n",
               10, "base cycle");
    s_refused (S_MIN "[policy a]\nmatch = tier=express\nbase = a\n", 10, "base cycle");
    s_refused (S_MIN "[ladder l]\n", 8, "[ladder l] has no steps");
    s_refused (S_MIN "[compensation r]\nmin = 1\n", 8, "needs percent or per_day");
    s_refused ("[calendar c]\nzone = UTC\nhours = mon 09:00-10:00\n[region *]\ncalendar = c\n"
               "[policy x]\nmatch = tier=express\nfirst_response = 1h\n", 8, "no policy without a match line");
    s_refused (S_MIN "[policy again]\nfirst_response = 2h\n", 8, "[policy again] has the same match as [policy std] (line 6)");
    s_refused (S_MIN "[policy a]\nmatch = tier=express region=n,s\n[policy b]\nmatch = region=s,n tier=express\n",
               11, "[policy b] has the same match as [policy a]");
    //  Of several errors of the second pass, the earliest line.
    s_refused (S_MIN "[policy a]\nmatch = tier=express\nladder = steep\nbase = nope\n", 10, "unknown ladder");
    //  An empty section is still a section: seen, checked, counted.
    s_refused (S_MIN "[policy empty]\n", 8, "[policy empty] has the same match as [policy std]");
    //  Not a text file.
    char why [400];
    assert (!sla_policy_load ("/nonexistent/sla.conf", why, sizeof why));
    assert (strncmp (why, "/nonexistent/sla.conf:0: cannot open", 36) == 0);
}

static void
s_test_syntax_and_selection (void)
{
    //  Indentation, ':' as separator, inline comments, '#' comments, a
    //  BOM, CRLF: all read as written.
    sla_policy_t *self = s_parsed (
        "\xEF\xBB\xBF# a comment\r\n"
        "[calendar c]   ; its comment\r\n"
        "    zone: UTC\r\n"
        "    hours = mon-fri 09:00-17:00   ; HH:MM only in values\n"
        "[region *]\n"
        "  calendar = c\n"
        "  supervisor = s1@x, s2@x\n"
        "[region north]\n"
        "  manager = m@north\n"
        "[policy std]\n"
        "first_response = 1h\n"
        "[policy express]\n"
        "match = tier=express\n"
        "first_response = 2h\n"
        "[policy repair]\n"
        "match = type=repair,installation\n"
        "first_response = 3h\n"
        "[policy repair-a]\n"
        "match = type=repair class=A\n"
        "first_response = 4h\n"
        "[policy north-a]\n"
        "match = class=A region=north,east\n"
        "first_response = 5h\n"
        "[policy express-a]\n"
        "match = class=A tier=express\n"
        "first_response = 6h\n");
    //  Nothing else fits: the catch-all.
    assert (strcmp (sla_policy_select (self, ASP_KIND_COMPLAINT, ASP_TIER_STANDARD, ASP_CLASS_B, "south")->name, "std") == 0);
    //  One key each.
    assert (strcmp (sla_policy_select (self, ASP_KIND_COMPLAINT, ASP_TIER_EXPRESS, ASP_CLASS_B, "south")->name, "express") == 0);
    assert (strcmp (sla_policy_select (self, ASP_KIND_INSTALLATION, ASP_TIER_STANDARD, ASP_CLASS_B, NULL)->name, "repair") == 0);
    //  Ties of one key (express, repair): the first in the file.
    assert (strcmp (sla_policy_select (self, ASP_KIND_REPAIR, ASP_TIER_EXPRESS, ASP_CLASS_B, NULL)->name, "express") == 0);
    //  Two keys beat one.
    assert (strcmp (sla_policy_select (self, ASP_KIND_REPAIR, ASP_TIER_STANDARD, ASP_CLASS_A, "south")->name, "repair-a") == 0);
    assert (strcmp (sla_policy_select (self, ASP_KIND_CONSULTATION, ASP_TIER_STANDARD, ASP_CLASS_A, "east")->name, "north-a") == 0);
    //  Ties of two keys (repair-a, north-a, express-a all fit): the first.
    assert (strcmp (sla_policy_select (self, ASP_KIND_REPAIR, ASP_TIER_EXPRESS, ASP_CLASS_A, "north")->name, "repair-a") == 0);
    assert (strcmp (sla_policy_select (self, ASP_KIND_COMPLAINT, ASP_TIER_EXPRESS, ASP_CLASS_A, "north")->name, "north-a") == 0);
    assert (strcmp (sla_policy_select (self, ASP_KIND_COMPLAINT, ASP_TIER_EXPRESS, ASP_CLASS_A, "south")->name, "express-a") == 0);
    //  A region list only matches its regions (and no region: none).
    assert (strcmp (sla_policy_select (self, ASP_KIND_COMPLAINT, ASP_TIER_STANDARD, ASP_CLASS_A, NULL)->name, "std") == 0);
    //  Recipients: the region's, else "*"'s; "" when neither.
    assert (strcmp (sla_policy_recipients (self, "north", ASP_SLA_ROLE_MANAGER), "m@north") == 0);
    assert (strcmp (sla_policy_recipients (self, "north", ASP_SLA_ROLE_SUPERVISOR), "s1@x, s2@x") == 0);
    assert (strcmp (sla_policy_recipients (self, "south", ASP_SLA_ROLE_MANAGER), "") == 0);
    assert (strcmp (sla_policy_recipients (self, NULL, ASP_SLA_ROLE_AGENT), "") == 0);
    //  Calendars: north has none of its own, "*"'s serves.
    const asp_calendar_t *cal = sla_policy_calendar (self, "north");
    assert (cal && strcmp (asp_calendar_name (cal), "c") == 0 && !asp_calendar_is_24x7 (cal));
    const asp_calendar_t *cal24 = sla_policy_calendar_24x7 (self, "north");
    assert (cal24 && strcmp (asp_calendar_name (cal24), "c/24x7") == 0 && asp_calendar_is_24x7 (cal24));
    assert (strcmp (asp_calendar_zone (cal24), "UTC") == 0);
    assert (sla_policy_calendar_named (self, "c") == cal);
    assert (sla_policy_calendar_named (self, "c/24x7") == cal24);
    assert (sla_policy_calendar_named (self, "d") == NULL);
    assert (sla_policy_rule (self, "nope") == NULL);
    //  No [approval]: no caps.
    assert (sla_policy_cap (self, ASP_SLA_ROLE_AGENT) == -1);
    assert (strlen (sla_policy_version (self)) == 16);
    sla_policy_destroy (&self);
    assert (self == NULL);
    sla_policy_destroy (&self);
}

static void
s_test_inheritance (void)
{
    sla_policy_t *self = s_parsed (S_MIN
        "warn = 70%\n"
        "ladder = short\n"
        "retarget = yes\n"
        "resolution = 1d12h business pause=customer,parts warn=90% compensation=r\n"
        "callback = 0m ladder=short\n"
        "[ladder short]\n"
        "step = agent 0m\n"
        "step = supervisor 30m\n"
        "[ladder long]\n"
        "step = manager 1d\n"
        "[compensation r]\n"
        "percent = 2.5\n"
        "[policy child]\n"
        "match = region=north\n"
        "base = std\n"
        "ladder = long\n"
        "first_response = 2h ladder=none\n"
        "return_visit = 3d\n"
        "[policy grandchild]\n"
        "match = type=repair\n"
        "base = child\n"
        "warn = 50%\n"
        "retarget = no\n"
        "resolution = off\n");
    const sla_rule_t *std = sla_policy_rule (self, "std");
    assert (std->retarget && std->line == 6 && std->nregions == 0 && std->kinds == 0);
    const sla_target_t *t = &std->clocks [ASP_CLOCK_RESOLUTION];
    assert (t->on && t->basis == ASP_BASIS_BUSINESS && t->target_ms == 36 * S_HOUR_MS && !t->fixed);
    assert (t->pause_mask == ((1u << ASP_PAUSE_CUSTOMER) | (1u << ASP_PAUSE_PARTS)));
    assert (t->warn_pct == 90 && t->comp && t->comp->percent_bp == 250 && t->comp->max == 0);
    assert (t->ladder && strcmp (t->ladder->name, "short") == 0 && t->ladder->nsteps == 2);
    assert (t->ladder->steps [0].role == ASP_SLA_ROLE_AGENT && t->ladder->steps [0].delay_ms == 0);
    assert (t->ladder->steps [1].role == ASP_SLA_ROLE_SUPERVISOR && t->ladder->steps [1].delay_ms == 30 * S_MINUTE_MS);
    t = &std->clocks [ASP_CLOCK_FIRST_RESPONSE];
    assert (t->on && t->basis == ASP_BASIS_CALENDAR && t->target_ms == S_HOUR_MS && t->warn_pct == 70);
    assert (t->pause_mask == 0 && !t->comp && strcmp (t->ladder->name, "short") == 0);
    t = &std->clocks [ASP_CLOCK_CALLBACK];
    assert (t->on && t->target_ms == 0);
    assert (!std->clocks [ASP_CLOCK_RETURN_VISIT].on);

    //  The child: the base's clocks, its own ladder for the lines that
    //  name none, its own lines on top, the base's warn and retarget.
    const sla_rule_t *child = sla_policy_rule (self, "child");
    assert (child->retarget && child->nregions == 1 && strcmp (child->regions [0], "north") == 0);
    t = &child->clocks [ASP_CLOCK_RESOLUTION];
    assert (t->on && t->target_ms == 36 * S_HOUR_MS && t->warn_pct == 90 && t->comp);
    assert (strcmp (t->ladder->name, "long") == 0);        //  the line names none: the child's
    t = &child->clocks [ASP_CLOCK_CALLBACK];
    assert (t->on && strcmp (t->ladder->name, "short") == 0 && t->warn_pct == 70);  //  named on the line
    t = &child->clocks [ASP_CLOCK_FIRST_RESPONSE];
    assert (t->on && t->target_ms == 2 * S_HOUR_MS && t->ladder == NULL);
    t = &child->clocks [ASP_CLOCK_RETURN_VISIT];
    assert (t->on && t->target_ms == 3 * S_DAY_MS);

    //  Two levels down: a clock turned off, warn and retarget overridden.
    const sla_rule_t *gc = sla_policy_rule (self, "grandchild");
    assert (!gc->retarget && gc->nregions == 0 && gc->kinds == 1u << ASP_KIND_REPAIR);
    assert (!gc->clocks [ASP_CLOCK_RESOLUTION].on);
    assert (gc->clocks [ASP_CLOCK_RETURN_VISIT].on && gc->clocks [ASP_CLOCK_RETURN_VISIT].warn_pct == 50);
    assert (gc->clocks [ASP_CLOCK_FIRST_RESPONSE].ladder == NULL);
    assert (strcmp (gc->clocks [ASP_CLOCK_CALLBACK].ladder->name, "short") == 0);
    assert (strcmp (gc->clocks [ASP_CLOCK_RETURN_VISIT].ladder->name, "long") == 0);
    //  The base was defined before; order in the file does not matter.
    sla_policy_destroy (&self);
    self = s_parsed ("[policy late]\nmatch = tier=express\nbase = std\nresolution = 2h\n" S_MIN);
    t = s_target (self, "late", ASP_CLOCK_FIRST_RESPONSE);
    assert (t->on && t->target_ms == S_HOUR_MS && t->warn_pct == S_WARN_DEFAULT && t->ladder == NULL);
    sla_policy_destroy (&self);
}

static void
s_test_compensation (void)
{
    sla_policy_t *self = s_parsed (S_MIN
        "onsite_arrival = 1h compensation=pct\n"
        "resolution = 1h compensation=daily\n"
        "return_visit = 1h compensation=huge\n"
        "[compensation pct]\n"
        "percent = 5\n"
        "min = 1\n"
        "max = 30\n"
        "[compensation daily]\n"
        "per_day = 12.5\n"
        "max = 40\n"
        "[compensation huge]\n"
        "percent = 100\n"
        "[approval]\n"
        "agent = 5\n"
        "supervisor = 20\n"
        "manager = 50.5\n");
    assert (sla_policy_cap (self, ASP_SLA_ROLE_AGENT) == 500);
    assert (sla_policy_cap (self, ASP_SLA_ROLE_SUPERVISOR) == 2000);
    assert (sla_policy_cap (self, ASP_SLA_ROLE_MANAGER) == 5050);
    //  5%, at least 1 (100 fen), at most 30 (3000 fen).
    s_owes (self, "std", ASP_CLOCK_ONSITE_ARRIVAL, 0, 1, 100, ASP_SLA_ROLE_AGENT, false);       //  price unknown: min
    s_owes (self, "std", ASP_CLOCK_ONSITE_ARRIVAL, 1000, 1, 100, ASP_SLA_ROLE_AGENT, false);    //  50 fen < min
    s_owes (self, "std", ASP_CLOCK_ONSITE_ARRIVAL, 2000, 1, 100, ASP_SLA_ROLE_AGENT, false);    //  exactly min
    s_owes (self, "std", ASP_CLOCK_ONSITE_ARRIVAL, 2010, 1, 101, ASP_SLA_ROLE_AGENT, false);    //  100.5: half up
    s_owes (self, "std", ASP_CLOCK_ONSITE_ARRIVAL, 2009, 1, 100, ASP_SLA_ROLE_AGENT, false);    //  100.45: down
    s_owes (self, "std", ASP_CLOCK_ONSITE_ARRIVAL, 10000, 1, 500, ASP_SLA_ROLE_AGENT, false);   //  agent's cap, exactly
    s_owes (self, "std", ASP_CLOCK_ONSITE_ARRIVAL, 10020, 1, 501, ASP_SLA_ROLE_SUPERVISOR, false);
    s_owes (self, "std", ASP_CLOCK_ONSITE_ARRIVAL, 40000, 1, 2000, ASP_SLA_ROLE_SUPERVISOR, false);
    s_owes (self, "std", ASP_CLOCK_ONSITE_ARRIVAL, 40020, 1, 2001, ASP_SLA_ROLE_MANAGER, false);
    s_owes (self, "std", ASP_CLOCK_ONSITE_ARRIVAL, 60000, 1, 3000, ASP_SLA_ROLE_MANAGER, false); //  exactly max
    s_owes (self, "std", ASP_CLOCK_ONSITE_ARRIVAL, 10000000, 1, 3000, ASP_SLA_ROLE_MANAGER, false);
    //  Per started day, at least one, at most 40.
    s_owes (self, "std", ASP_CLOCK_RESOLUTION, 0, 1, 1250, ASP_SLA_ROLE_SUPERVISOR, false);
    s_owes (self, "std", ASP_CLOCK_RESOLUTION, 0, 0, 1250, ASP_SLA_ROLE_SUPERVISOR, false);
    s_owes (self, "std", ASP_CLOCK_RESOLUTION, 0, S_DAY_MS, 1250, ASP_SLA_ROLE_SUPERVISOR, false);
    s_owes (self, "std", ASP_CLOCK_RESOLUTION, 99999, S_DAY_MS + 1, 2500, ASP_SLA_ROLE_MANAGER, false);
    s_owes (self, "std", ASP_CLOCK_RESOLUTION, 0, 3 * S_DAY_MS, 3750, ASP_SLA_ROLE_MANAGER, false);
    s_owes (self, "std", ASP_CLOCK_RESOLUTION, 0, 3 * S_DAY_MS + 1, 4000, ASP_SLA_ROLE_MANAGER, false);
    s_owes (self, "std", ASP_CLOCK_RESOLUTION, 0, 300 * S_DAY_MS, 4000, ASP_SLA_ROLE_MANAGER, false);
    //  Above every cap: cut to the highest, capped.
    s_owes (self, "std", ASP_CLOCK_RETURN_VISIT, 5050, 1, 5050, ASP_SLA_ROLE_MANAGER, false);
    s_owes (self, "std", ASP_CLOCK_RETURN_VISIT, 5051, 1, 5050, ASP_SLA_ROLE_MANAGER, true);
    s_owes (self, "std", ASP_CLOCK_RETURN_VISIT, 10000000000LL, 1, 5050, ASP_SLA_ROLE_MANAGER, true);
    sla_policy_destroy (&self);

    //  Caps given for some roles only: the others never approve; the
    //  highest cap need not be the manager's.
    self = s_parsed (S_MIN "resolution = 1h compensation=r\n[compensation r]\npercent = 10\n"
                     "[approval]\nsupervisor = 10\nagent = 20\n");
    assert (sla_policy_cap (self, ASP_SLA_ROLE_MANAGER) == -1);
    s_owes (self, "std", ASP_CLOCK_RESOLUTION, 10000, 1, 1000, ASP_SLA_ROLE_AGENT, false);
    s_owes (self, "std", ASP_CLOCK_RESOLUTION, 30000, 1, 2000, ASP_SLA_ROLE_AGENT, true);
    sla_policy_destroy (&self);
    //  No [approval]: nothing is capped, the manager approves.
    self = s_parsed (S_MIN "resolution = 1h compensation=r\n[compensation r]\npercent = 10\n");
    s_owes (self, "std", ASP_CLOCK_RESOLUTION, 1000000, 1, 100000, ASP_SLA_ROLE_MANAGER, false);
    sla_policy_destroy (&self);
}

//  The shipped default: the seeds' promises, each a named policy.
static void
s_test_default (void)
{
    //  The compiled-in copy is the file.
    FILE *f = fopen (SLA_POLICY_SOURCE, "rb");
    assert (f);
    char *text = (char *) calloc (1, S_FILE_MAX + 1);
    assert (text);
    size_t len = fread (text, 1, S_FILE_MAX, f);
    fclose (f);
    assert (len == strlen (asp_lua_policies) && memcmp (text, asp_lua_policies, len) == 0);
    char why [400];
    sla_policy_t *file = sla_policy_load (SLA_POLICY_SOURCE, why, sizeof why);
    assert (file);
    sla_policy_t *self = sla_policy_default ();
    assert (strcmp (sla_policy_version (self), sla_policy_version (file)) == 0);
    sla_policy_destroy (&file);
    free (text);

    //  The calendar: Beijing time, 9 to 6 on weekdays, 2026's holidays
    //  and make-up days.
    const asp_calendar_t *cn = sla_policy_calendar (self, "anywhere");
    assert (strcmp (asp_calendar_name (cn), "cn") == 0);
    assert (strcmp (asp_calendar_zone (cn), "Asia/Shanghai") == 0);
    const int64_t h = S_HOUR_MS;
    //  2026-09-30 (Wed) 10:00 +08:00 = 02:00Z: a working day.
    int64_t wed = 1790733600000LL;
    assert (asp_calendar_working (cn, wed));
    assert (!asp_calendar_working (cn, wed + S_DAY_MS));            //  1 Oct, National Day
    assert (!asp_calendar_working (cn, wed + 7 * S_DAY_MS));        //  7 Oct
    assert (asp_calendar_working (cn, wed + 8 * S_DAY_MS));         //  8 Oct (Thu)
    assert (asp_calendar_working (cn, wed + 10 * S_DAY_MS));        //  10 Oct, a Saturday worked
    assert (!asp_calendar_working (cn, wed + 11 * S_DAY_MS));       //  11 Oct, Sunday
    assert (asp_calendar_working (cn, wed - 10 * S_DAY_MS));        //  20 Sep, a Sunday worked
    assert (!asp_calendar_working (cn, wed + 8 * S_DAY_MS + 9 * h)); //  19:00
    assert (strcmp (asp_calendar_name (sla_policy_calendar_24x7 (self, NULL)), "cn/24x7") == 0);
    assert (strcmp (sla_policy_recipients (self, "x", ASP_SLA_ROLE_SUPERVISOR), "sup-duty@brand.example") == 0);
    assert (strcmp (sla_policy_recipients (self, "x", ASP_SLA_ROLE_MANAGER), "svc-manager@brand.example") == 0);
    assert (sla_policy_cap (self, ASP_SLA_ROLE_AGENT) == 5000);
    assert (sla_policy_cap (self, ASP_SLA_ROLE_SUPERVISOR) == 50000);
    assert (sla_policy_cap (self, ASP_SLA_ROLE_MANAGER) == 500000);

    //  standard: the catch-all.
    const sla_rule_t *r = sla_policy_select (self, ASP_KIND_INSTALLATION, ASP_TIER_STANDARD, ASP_CLASS_B, "x");
    assert (strcmp (r->name, "standard") == 0 && !r->retarget);
    static const struct { asp_clock_t clock; int64_t ms; asp_basis_t basis; } standard [] = {
        { ASP_CLOCK_FIRST_RESPONSE, 4 * S_HOUR_MS, ASP_BASIS_CALENDAR },
        { ASP_CLOCK_PARTNER_ACCEPTANCE, 2 * S_HOUR_MS, ASP_BASIS_CALENDAR },
        { ASP_CLOCK_APPOINTMENT_MADE, 4 * S_HOUR_MS, ASP_BASIS_BUSINESS },
        { ASP_CLOCK_ONSITE_ARRIVAL, 24 * S_HOUR_MS, ASP_BASIS_CALENDAR },
        { ASP_CLOCK_APPOINTMENT_KEPT, 30 * S_MINUTE_MS, ASP_BASIS_CALENDAR },
        { ASP_CLOCK_RESOLUTION, 24 * S_HOUR_MS, ASP_BASIS_CALENDAR },
        { ASP_CLOCK_CALLBACK, 0, ASP_BASIS_CALENDAR },
        { ASP_CLOCK_RETURN_VISIT, 24 * S_HOUR_MS, ASP_BASIS_CALENDAR },
    };
    int on = 0;
    for (int c = 0; c < ASP_CLOCK_COUNT; c++)
        on += r->clocks [c].on;
    assert (on == (int) (sizeof standard / sizeof standard [0]));
    for (size_t i = 0; i < sizeof standard / sizeof standard [0]; i++) {
        const sla_target_t *t = &r->clocks [standard [i].clock];
        assert (t->on && !t->fixed && t->target_ms == standard [i].ms && t->basis == standard [i].basis);
        assert (t->warn_pct == 80 && t->ladder && strcmp (t->ladder->name, "standard") == 0);
    }
    const sla_ladder_t *ladder = r->clocks [ASP_CLOCK_RESOLUTION].ladder;
    assert (ladder->nsteps == 2);
    assert (ladder->steps [0].role == ASP_SLA_ROLE_SUPERVISOR && ladder->steps [0].delay_ms == 2 * S_HOUR_MS);
    assert (ladder->steps [1].role == ASP_SLA_ROLE_MANAGER && ladder->steps [1].delay_ms == 8 * S_HOUR_MS);
    assert (r->clocks [ASP_CLOCK_RESOLUTION].pause_mask == 3);
    //  Late on site: 5% of the price, 1 to 30 yuan.
    s_owes (self, "standard", ASP_CLOCK_ONSITE_ARRIVAL, 19900, S_HOUR_MS, 995, ASP_SLA_ROLE_AGENT, false);
    s_owes (self, "standard", ASP_CLOCK_ONSITE_ARRIVAL, 1000, S_HOUR_MS, 100, ASP_SLA_ROLE_AGENT, false);
    s_owes (self, "standard", ASP_CLOCK_ONSITE_ARRIVAL, 999900, S_HOUR_MS, 3000, ASP_SLA_ROLE_AGENT, false);

    //  express-6h: on site and resolved within 6 h, whatever the type.
    r = sla_policy_select (self, ASP_KIND_REPAIR, ASP_TIER_EXPRESS, ASP_CLASS_A, "x");
    assert (strcmp (r->name, "express-6h") == 0);
    assert (r->clocks [ASP_CLOCK_ONSITE_ARRIVAL].target_ms == 6 * S_HOUR_MS);
    assert (r->clocks [ASP_CLOCK_RESOLUTION].target_ms == 6 * S_HOUR_MS);
    assert (r->clocks [ASP_CLOCK_FIRST_RESPONSE].target_ms == 4 * S_HOUR_MS);     //  inherited
    s_owes (self, "express-6h", ASP_CLOCK_RESOLUTION, 0, 3 * S_DAY_MS - 1, 6000, ASP_SLA_ROLE_SUPERVISOR, false);
    s_owes (self, "express-6h", ASP_CLOCK_RESOLUTION, 0, 30 * S_DAY_MS, 20000, ASP_SLA_ROLE_SUPERVISOR, false);

    //  lg-lightning-12h: class A repairs on the standard tier.
    r = sla_policy_select (self, ASP_KIND_REPAIR, ASP_TIER_STANDARD, ASP_CLASS_A, "x");
    assert (strcmp (r->name, "lg-lightning-12h") == 0);
    assert (r->clocks [ASP_CLOCK_RESOLUTION].target_ms == 12 * S_HOUR_MS);
    assert (r->clocks [ASP_CLOCK_RESOLUTION].basis == ASP_BASIS_CALENDAR);
    assert (strcmp (sla_policy_select (self, ASP_KIND_REPAIR, ASP_TIER_STANDARD, ASP_CLASS_B, "x")->name, "standard") == 0);

    //  complaint-24h-1m: answered in 24 h, resolved in 30 days.
    r = sla_policy_select (self, ASP_KIND_COMPLAINT, ASP_TIER_STANDARD, ASP_CLASS_C, "x");
    assert (strcmp (r->name, "complaint-24h-1m") == 0);
    assert (r->clocks [ASP_CLOCK_COMPLAINT_ANSWER].on && r->clocks [ASP_CLOCK_COMPLAINT_ANSWER].target_ms == 24 * S_HOUR_MS);
    assert (r->clocks [ASP_CLOCK_COMPLAINT_RESOLVED].target_ms == 30 * S_DAY_MS);
    assert (!r->clocks [ASP_CLOCK_FIRST_RESPONSE].on && !r->clocks [ASP_CLOCK_RESOLUTION].on);
    assert (r->clocks [ASP_CLOCK_RETURN_VISIT].on);
    assert (!sla_policy_rule (self, "standard")->clocks [ASP_CLOCK_COMPLAINT_ANSWER].on);

    //  next-day-10am: consultations answered by 10:00 the next day.
    r = sla_policy_select (self, ASP_KIND_CONSULTATION, ASP_TIER_STANDARD, ASP_CLASS_B, "x");
    assert (strcmp (r->name, "next-day-10am") == 0);
    const sla_target_t *t = &r->clocks [ASP_CLOCK_FIRST_RESPONSE];
    assert (t->on && t->fixed && t->at_hh == 10 && t->at_mm == 0 && t->at_days == 1 && !t->at_working);
    assert (t->basis == ASP_BASIS_CALENDAR);

    //  answer-3-working-days: returns answered by 18:00 on the third working day.
    r = sla_policy_select (self, ASP_KIND_RETURN, ASP_TIER_STANDARD, ASP_CLASS_B, "x");
    assert (strcmp (r->name, "answer-3-working-days") == 0);
    t = &r->clocks [ASP_CLOCK_FIRST_RESPONSE];
    assert (t->on && t->fixed && t->at_hh == 18 && t->at_mm == 0 && t->at_days == 3 && t->at_working);
    assert (t->basis == ASP_BASIS_BUSINESS);
    sla_policy_destroy (&self);
}

static void
s_test_watch (void)
{
    char dir [] = "/tmp/sla-policy-XXXXXX";
    assert (mkdtemp (dir));
    char path [128];
    snprintf (path, sizeof path, "%s/policies.conf", dir);
    char why [400] = "";
    //  A file that cannot be loaded at start: no watcher.
    assert (!sla_policy_watch_new (path, why, sizeof why) && strstr (why, "cannot open"));
    s_write_file (path, S_MIN "[policy express]\nmatch = tier=express\nfirst_response = 2h ; hours\n");
    sla_policy_watch_t *w = sla_policy_watch_new (path, why, sizeof why);
    assert (w);
    const sla_policy_t *first = sla_policy_watch_current (w);
    char version [17];
    snprintf (version, sizeof version, "%s", sla_policy_version (first));
    assert (sla_policy_select (first, ASP_KIND_REPAIR, ASP_TIER_EXPRESS, ASP_CLASS_A, NULL)
            ->clocks [ASP_CLOCK_FIRST_RESPONSE].target_ms == 2 * S_HOUR_MS);
    assert (strcmp (sla_policy_watch_error (w), "") == 0);
    //  Unchanged: nothing.
    int64_t now = 1000000;
    assert (sla_policy_watch_check (w, now) == 0);
    assert (sla_policy_watch_check (w, now += 1000) == 0);

    //  Good: loaded (within a second of the change, not before).
    s_write_file (path, S_MIN "[policy express]\nmatch = tier=express\nfirst_response = 3h\n");
    assert (sla_policy_watch_check (w, now + 500) == 0);
    assert (sla_policy_watch_check (w, now += 1000) == 1);
    const sla_policy_t *second = sla_policy_watch_current (w);
    assert (strcmp (sla_policy_version (second), version) != 0);
    assert (sla_policy_select (second, ASP_KIND_REPAIR, ASP_TIER_EXPRESS, ASP_CLASS_A, NULL)
            ->clocks [ASP_CLOCK_FIRST_RESPONSE].target_ms == 3 * S_HOUR_MS);
    snprintf (version, sizeof version, "%s", sla_policy_version (second));

    //  Bad: refused with its line, the old one stays, once per change.
    s_write_file (path, S_MIN "[policy express]\nmatch = tier=express\nfirst_response = -3h\n");
    assert (sla_policy_watch_check (w, now += 1000) == -1);
    char want [256];
    snprintf (want, sizeof want, "%s:10: bad target '-3h'", path);
    assert (strncmp (sla_policy_watch_error (w), want, strlen (want)) == 0);
    assert (sla_policy_watch_current (w) == second);
    assert (strcmp (sla_policy_version (sla_policy_watch_current (w)), version) == 0);
    assert (sla_policy_watch_check (w, now += 1000) == 0);
    assert (strncmp (sla_policy_watch_error (w), want, strlen (want)) == 0);
    //  SIGHUP: read again at once, still bad.
    sla_policy_watch_hup (w);
    assert (sla_policy_watch_check (w, now += 1) == -1);
    //  Gone: refused too, the old one stays.
    assert (unlink (path) == 0);
    assert (sla_policy_watch_check (w, now += 1000) == -1);
    assert (strstr (sla_policy_watch_error (w), "cannot open"));
    assert (sla_policy_watch_current (w) == second);

    //  Good again: loaded, the error cleared.
    s_write_file (path, S_MIN "[policy express]\nmatch = tier=express\nfirst_response = 5h\n");
    assert (sla_policy_watch_check (w, now += 1000) == 1);
    assert (strcmp (sla_policy_watch_error (w), "") == 0);
    assert (sla_policy_select (sla_policy_watch_current (w), ASP_KIND_REPAIR, ASP_TIER_EXPRESS, ASP_CLASS_A, NULL)
            ->clocks [ASP_CLOCK_FIRST_RESPONSE].target_ms == 5 * S_HOUR_MS);
    //  SIGHUP with the file unchanged: read again (same text, same version).
    snprintf (version, sizeof version, "%s", sla_policy_version (sla_policy_watch_current (w)));
    sla_policy_watch_hup (w);
    assert (sla_policy_watch_check (w, now += 1) == 1);
    assert (strcmp (sla_policy_version (sla_policy_watch_current (w)), version) == 0);
    sla_policy_watch_destroy (&w);
    assert (w == NULL);

    //  No file: the compiled-in default, never reloaded.
    w = sla_policy_watch_new (NULL, why, sizeof why);
    assert (w && sla_policy_rule (sla_policy_watch_current (w), "express-6h"));
    sla_policy_watch_hup (w);
    assert (sla_policy_watch_check (w, now += 5000) == 0);
    sla_policy_watch_destroy (&w);
    unlink (path);
    rmdir (dir);
}

void
sla_policy_test (void)
{
    s_test_refusals ();
    s_test_syntax_and_selection ();
    s_test_inheritance ();
    s_test_compensation ();
    s_test_default ();
    s_test_watch ();
}
