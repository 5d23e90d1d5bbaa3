#include "notify_rules.h"
#include "asp_events.h"
#include "asp_json.h"
#include "notify_templates.h"
#include <assert.h>
#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const char asp_lua_rules [];

#define S_GROUP_MAX 16              //  members of a group at most

typedef struct {
    char type [64];
    notify_rule_t rules [NOTIFY_RULES_MAX];
    size_t count;
} s_event_t;

typedef struct {
    char name [NOTIFY_NAME_MAX];
    char members [S_GROUP_MAX][NOTIFY_NAME_MAX];
    size_t count;
} s_group_t;

struct notify_rules_t {
    zhashx_t *events;               //  type -> s_event_t (owned)
    zhashx_t *staff;                //  name -> notify_staff_t (owned)
    zhashx_t *groups;               //  name -> s_group_t (owned)
    zhashx_t *calendars;            //  name -> asp_calendar_t (owned)
    int64_t dedup_ms;               //  [settings] dedup: a rule's default
    int quiet_from [ASP_NOTIFY_CHANNELS], quiet_to [ASP_NOTIFY_CHANNELS];  //  -1: none
    int64_t rate_max [ASP_NOTIFY_CHANNELS], rate_win [ASP_NOTIFY_CHANNELS];  //  0: none
};

//  What the parser is in: the section and what it builds.
typedef enum { S_NONE, S_SETTINGS, S_EVENT, S_CALENDAR, S_STAFF, S_GROUP } s_section_t;

typedef struct {
    notify_rules_t *self;
    s_section_t section;
    s_event_t *event;
    notify_staff_t *person;
    s_group_t *group;
    asp_calbuild_t *cal;            //  the calendar section being read
    char cal_name [NOTIFY_NAME_MAX];
    char person_cal [64][NOTIFY_NAME_MAX];     //  entries' calendar names, resolved at the end
    notify_staff_t *person_of [64];
    size_t npersons;
    char reason [200];
} s_parser_t;

static const char *s_rcpt_names [NOTIFY_RCPT_KINDS] = {
    "customer", "owner", "supervisor", "manager", "escalation", "duty", "ops", "partner", "staff"
};

const char *
notify_rcpt_name (notify_rcpt_kind_t kind)
{
    return kind < NOTIFY_RCPT_KINDS? s_rcpt_names [kind]: "";
}

bool
notify_rcpt_plain (notify_rcpt_kind_t kind)
{
    return kind == NOTIFY_RCPT_CUSTOMER || kind == NOTIFY_RCPT_DUTY || kind == NOTIFY_RCPT_OPS;
}

static void
s_free (void **item)
{
    free (*item);
    *item = NULL;
}

static void
s_cal_free (void **item)
{
    asp_calendar_destroy ((asp_calendar_t **) item);
}

void
notify_rules_destroy (notify_rules_t **self_p)
{
    if (*self_p) {
        notify_rules_t *self = *self_p;
        zhashx_destroy (&self->events);
        zhashx_destroy (&self->staff);
        zhashx_destroy (&self->groups);
        zhashx_destroy (&self->calendars);
        free (self);
        *self_p = NULL;
    }
}

//  "0", "90s", "10m", "2h", "1d": milliseconds, or -1.
static int64_t
s_duration (const char *s)
{
    char *end;
    long long n = strtoll (s, &end, 10);
    if (end == s || n < 0 || n > 1000000 || *s == '+' || *s == '-')
        return -1;
    int64_t unit = *end == 's'? 1000: *end == 'm'? 60000: *end == 'h'? 3600000: *end == 'd'? 86400000: 0;
    if (n == 0 && *end == 0)
        return 0;
    return unit && end [1] == 0? n * unit: -1;
}

//  "HH:MM": minutes after midnight, or -1.
static int
s_hhmm (const char *s)
{
    int h, m;
    char tail;
    if (strlen (s) != 5 || sscanf (s, "%2d:%2d%c", &h, &m, &tail) != 2 || h < 0 || h > 23 || m < 0 || m > 59)
        return -1;
    return h * 60 + m;
}

static int
s_channel (const char *word)
{
    return asp_vocab_parse (&asp_vocab_notify_channel, word);
}

//  A name for an entry, a group or a calendar: letters, digits and . _ @ -
static bool
s_name_ok (const char *name)
{
    size_t len = strlen (name);
    return len > 0 && len < NOTIFY_NAME_MAX && strspn (name, "abcdefghijklmnopqrstuvwxyz"
        "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._@-+") == len;
}

static int
s_fail (s_parser_t *p, const char *fmt, const char *arg)
{
    snprintf (p->reason, sizeof p->reason, fmt, arg);
    return -1;
}

//  Ends the calendar section being read (builds it).
static int
s_end_calendar (s_parser_t *p)
{
    if (!p->cal)
        return 0;
    char why [160];
    asp_calendar_t *cal = asp_calbuild_build (&p->cal, why, sizeof why);
    if (!cal)
        return s_fail (p, "calendar: %s", why);
    zhashx_insert (p->self->calendars, p->cal_name, cal);
    return 0;
}

static int
s_section (s_parser_t *p, char *head)
{
    if (s_end_calendar (p))
        return -1;
    notify_rules_t *self = p->self;
    char *arg = strchr (head, ' ');
    if (arg)
        *arg++ = 0;
    if (strcmp (head, "settings") == 0 && !arg) {
        p->section = S_SETTINGS;
        return 0;
    }
    if (!arg || !*arg || strchr (arg, ' '))
        return s_fail (p, "a section is [settings], [event <type>], [calendar <name>], [staff <name>] "
                       "or [group <name>]%s", "");
    if (strcmp (head, "event") == 0) {
        //  Only the events the bus routes to notification (asp_events).
        //  (notification.replay and ticket.owner_changed it obeys, not announces).
        if (strcmp (arg, ASP_EV_NOTIFICATION_REPLAY) == 0 || strcmp (arg, ASP_EV_TICKET_OWNER_CHANGED) == 0
        ||  !(asp_event_subscribers (arg) & ASP_BIT (ASP_SVC_NOTIFICATION)))
            return s_fail (p, "event '%.60s' is not one notification receives", arg);
        if (zhashx_lookup (self->events, arg))
            return s_fail (p, "event '%.60s' given twice", arg);
        p->event = (s_event_t *) calloc (1, sizeof *p->event);
        assert (p->event);
        snprintf (p->event->type, sizeof p->event->type, "%s", arg);
        zhashx_insert (self->events, arg, p->event);
        p->section = S_EVENT;
        return 0;
    }
    if (!s_name_ok (arg))
        return s_fail (p, "name '%.60s': letters, digits and . _ @ - + only, at most 63", arg);
    if (zhashx_lookup (self->staff, arg) || zhashx_lookup (self->groups, arg)
    ||  zhashx_lookup (self->calendars, arg) || (p->cal && strcmp (p->cal_name, arg) == 0))
        return s_fail (p, "name '%s' given twice", arg);
    if (strcmp (head, "calendar") == 0) {
        snprintf (p->cal_name, sizeof p->cal_name, "%s", arg);
        p->section = S_CALENDAR;
        return 0;                   //  the zone comes first: built by its line
    }
    if (strcmp (head, "staff") == 0) {
        if (p->npersons == sizeof p->person_of / sizeof p->person_of [0])
            return s_fail (p, "more than 64 staff entries%s", "");
        p->person = (notify_staff_t *) calloc (1, sizeof *p->person);
        assert (p->person);
        snprintf (p->person->name, sizeof p->person->name, "%s", arg);
        p->person->channel = -1;
        zhashx_insert (self->staff, arg, p->person);
        p->person_of [p->npersons++] = p->person;
        p->section = S_STAFF;
        return 0;
    }
    if (strcmp (head, "group") == 0) {
        p->group = (s_group_t *) calloc (1, sizeof *p->group);
        assert (p->group);
        snprintf (p->group->name, sizeof p->group->name, "%s", arg);
        zhashx_insert (self->groups, arg, p->group);
        p->section = S_GROUP;
        return 0;
    }
    return s_fail (p, "unknown section '%.60s'", head);
}

//  notify = <recipient> <template> <channel> [urgent] [business_hours] [dedup=<d>]
static int
s_rule (s_parser_t *p, char *value)
{
    s_event_t *ev = p->event;
    if (ev->count == NOTIFY_RULES_MAX)
        return s_fail (p, "more than 8 recipients for one event%s", "");
    notify_rule_t *r = &ev->rules [ev->count];
    memset (r, 0, sizeof *r);
    r->dedup_ms = -1;
    char *save, *word = strtok_r (value, " \t", &save);
    char *tpl = strtok_r (NULL, " \t", &save), *channel = strtok_r (NULL, " \t", &save);
    if (!word || !tpl || !channel)
        return s_fail (p, "a rule is 'notify = <recipient> <template> <channel> [flags]'%s", "");
    int kind = -1;
    for (int k = 0; k < NOTIFY_RCPT_KINDS; k++)
        if (k != NOTIFY_RCPT_STAFF && strcmp (word, s_rcpt_names [k]) == 0)
            kind = k;
    if (kind < 0 && strncmp (word, "staff:", 6) == 0) {
        kind = NOTIFY_RCPT_STAFF;
        if (!s_name_ok (word + 6))
            return s_fail (p, "recipient '%.60s': staff:<name> with a directory name", word);
        snprintf (r->name, sizeof r->name, "%s", word + 6);
    }
    if (kind < 0)
        return s_fail (p, "unknown recipient '%.60s' (customer, owner, supervisor, manager, escalation, "
                       "duty, ops, partner, staff:<name>)", word);
    r->kind = (notify_rcpt_kind_t) kind;
    if (!notify_templates_known (tpl) || strlen (tpl) >= sizeof r->tpl)
        return s_fail (p, "unknown template '%.60s'", tpl);
    snprintf (r->tpl, sizeof r->tpl, "%s", tpl);
    r->channel = strcmp (channel, "preferred") == 0? NOTIFY_CH_PREFERRED:
                 strcmp (channel, "default") == 0? NOTIFY_CH_DEFAULT: s_channel (channel);
    if (r->channel == -1 && strcmp (channel, "preferred") != 0)
        return s_fail (p, "unknown channel '%.60s' (preferred, default, webhook, email, sms, file, stdout)",
                       channel);
    while ((word = strtok_r (NULL, " \t", &save))) {
        if (strcmp (word, "urgent") == 0 && !r->urgent)
            r->urgent = true;
        else
        if (strcmp (word, "business_hours") == 0 && !r->business_hours)
            r->business_hours = true;
        else
        if (strncmp (word, "dedup=", 6) == 0 && r->dedup_ms < 0) {
            if ((r->dedup_ms = s_duration (word + 6)) < 0)
                return s_fail (p, "dedup '%.60s': a duration (0, 90s, 10m, 2h, 1d)", word + 6);
        }
        else
            return s_fail (p, "unknown or repeated flag '%.60s' (urgent, business_hours, dedup=<duration>)", word);
    }
    //  customer, duty and ops keep the id they had before the rules (source
    //  and template only: notify_rcpt_plain), so only one of them per template.
    for (size_t i = 0; i < ev->count; i++)
        if (strcmp (ev->rules [i].tpl, r->tpl) == 0
        &&  ((ev->rules [i].kind == r->kind && strcmp (ev->rules [i].name, r->name) == 0)
         ||  (notify_rcpt_plain (r->kind) && notify_rcpt_plain (ev->rules [i].kind))))
            return s_fail (p, "recipient '%.60s' given twice with that template (customer, duty and ops "
                           "count as one)", notify_rcpt_name (r->kind));
    ev->count++;
    return 0;
}

static int
s_settings (s_parser_t *p, const char *key, char *value)
{
    notify_rules_t *self = p->self;
    if (strcmp (key, "dedup") == 0) {
        if ((self->dedup_ms = s_duration (value)) < 0)
            return s_fail (p, "dedup '%.60s': a duration (0, 90s, 10m, 2h, 1d)", value);
        return 0;
    }
    char word [32] = "", spec [64] = "", tail [2];
    if (sscanf (value, "%31s %63s %1s", word, spec, tail) != 2)
        return s_fail (p, "%s = <channel> <value>", key);
    int c = s_channel (word);
    if (c < 0)
        return s_fail (p, "unknown channel '%.60s'", word);
    if (strcmp (key, "quiet") == 0) {
        char *dash = strchr (spec, '-');
        if (dash)
            *dash++ = 0;
        int from = s_hhmm (spec), to = dash? s_hhmm (dash): -1;
        if (from < 0 || to < 0 || from == to)
            return s_fail (p, "quiet '%.60s': <channel> HH:MM-HH:MM (two different times)", value);
        if (self->quiet_from [c] >= 0)
            return s_fail (p, "quiet hours of '%s' given twice", word);
        self->quiet_from [c] = from;
        self->quiet_to [c] = to;
        return 0;
    }
    if (strcmp (key, "rate") == 0) {
        char *slash = strchr (spec, '/');
        if (slash)
            *slash++ = 0;
        char *end;
        long long n = strtoll (spec, &end, 10);
        int64_t win = slash? s_duration (slash): -1;
        if (*end || end == spec || n < 1 || n > 1000000 || win <= 0)
            return s_fail (p, "rate '%.60s': <channel> <N>/<duration>, N >= 1, e.g. sms 5/1h", value);
        if (self->rate_max [c])
            return s_fail (p, "rate of '%s' given twice", word);
        self->rate_max [c] = n;
        self->rate_win [c] = win;
        return 0;
    }
    return s_fail (p, "unknown setting '%.60s' (dedup, quiet, rate)", key);
}

static int
s_calendar (s_parser_t *p, const char *key, const char *value)
{
    char why [160] = "";
    int rc = 0;
    if (strcmp (key, "zone") == 0) {
        if (p->cal)
            return s_fail (p, "zone given twice%s", "");
        p->cal = asp_calbuild_new (p->cal_name, value, why, sizeof why);
        rc = p->cal? 0: -1;
    }
    else
    if (!p->cal)
        return s_fail (p, "a calendar's first line is its zone%s", "");
    else
    if (strcmp (key, "hours") == 0)
        rc = asp_calbuild_hours (p->cal, value, why, sizeof why);
    else
    if (strcmp (key, "holiday") == 0)
        rc = asp_calbuild_holiday (p->cal, value, why, sizeof why);
    else
    if (strcmp (key, "workday") == 0)
        rc = asp_calbuild_workday (p->cal, value, why, sizeof why);
    else
        return s_fail (p, "unknown calendar key '%.60s' (zone, hours, holiday, workday)", key);
    return rc? s_fail (p, "%s", why): 0;
}

static int
s_staff (s_parser_t *p, const char *key, const char *value)
{
    notify_staff_t *s = p->person;
    size_t len = strlen (value);
    if (strcmp (key, "email") == 0 && !*s->email && len < sizeof s->email && strchr (value, '@'))
        snprintf (s->email, sizeof s->email, "%s", value);
    else
    if (strcmp (key, "sms") == 0 && !*s->phone && len < sizeof s->phone)
        snprintf (s->phone, sizeof s->phone, "%s", value);
    else
    if (strcmp (key, "webhook") == 0 && !*s->hook && len < sizeof s->hook)
        snprintf (s->hook, sizeof s->hook, "%s", value);
    else
    if (strcmp (key, "channel") == 0 && s->channel < 0 && s_channel (value) >= 0)
        s->channel = s_channel (value);
    else
    if (strcmp (key, "lang") == 0 && !*s->lang) {
        notify_lang_t lang;
        if (notify_lang_parse (value, &lang))
            return s_fail (p, "unknown language '%.60s' (zh-CN, en)", value);
        snprintf (s->lang, sizeof s->lang, "%s", notify_lang_name (lang));
    }
    else
    if (strcmp (key, "calendar") == 0 && !*p->person_cal [p->npersons - 1] && s_name_ok (value))
        snprintf (p->person_cal [p->npersons - 1], NOTIFY_NAME_MAX, "%s", value);
    else
        return s_fail (p, "'%.60s': a staff entry has email (with @), sms, webhook, channel, lang and "
                       "calendar, each once", key);
    return 0;
}

static int
s_group (s_parser_t *p, const char *key, char *value)
{
    if (strcmp (key, "members") != 0 || p->group->count)
        return s_fail (p, "'%.60s': a group has one 'members = <name>, <name>...' line", key);
    char *save;
    for (char *m = strtok_r (value, ", \t", &save); m; m = strtok_r (NULL, ", \t", &save)) {
        if (p->group->count == S_GROUP_MAX || !s_name_ok (m))
            return s_fail (p, "member '%.60s': a directory name, 16 members at most", m);
        snprintf (p->group->members [p->group->count++], NOTIFY_NAME_MAX, "%s", m);
    }
    return p->group->count? 0: s_fail (p, "a group needs members%s", "");
}

static int
s_line (s_parser_t *p, char *line)
{
    if (*line == '[') {
        char *close = strchr (line, ']');
        if (!close || close [1])
            return s_fail (p, "a section line is '[<kind> <name>]'%s", "");
        *close = 0;
        return s_section (p, line + 1);
    }
    char *eq = strstr (line, " = ");
    if (!eq)
        return s_fail (p, "a line must be '<key> = <value>' or a [section]%s", "");
    *eq = 0;
    char *value = eq + 3;
    value += strspn (value, " \t");
    //  An inline comment: " ;" after the value.
    char *comment = strstr (value, " ;");
    if (comment)
        *comment = 0;
    for (size_t n = strlen (value); n && (value [n - 1] == ' ' || value [n - 1] == '\t'); n--)
        value [n - 1] = 0;
    if (!*value)
        return s_fail (p, "'%.60s' has no value", line);
    switch (p->section) {
        case S_SETTINGS: return s_settings (p, line, value);
        case S_EVENT:
            if (strcmp (line, "notify") != 0)
                return s_fail (p, "unknown key '%.60s' in an event (notify)", line);
            return s_rule (p, value);
        case S_CALENDAR: return s_calendar (p, line, value);
        case S_STAFF: return s_staff (p, line, value);
        case S_GROUP: return s_group (p, line, value);
        default: return s_fail (p, "a key before any [section]%s", "");
    }
}

//  After the last line: names must resolve (calendars, members, staff:).
static int
s_resolve (s_parser_t *p, int *lineno)
{
    notify_rules_t *self = p->self;
    if (s_end_calendar (p))
        return -1;
    (*lineno)++;                    //  what is missing: the line after the last
    for (size_t i = 0; i < p->npersons; i++) {
        notify_staff_t *s = p->person_of [i];
        if (!*s->email && !*s->phone && !*s->hook)
            return s_fail (p, "staff '%s' has no address (email, sms or webhook)", s->name);
        if (*p->person_cal [i]) {
            s->calendar = (asp_calendar_t *) zhashx_lookup (self->calendars, p->person_cal [i]);
            if (!s->calendar)
                return s_fail (p, "staff entry's calendar '%s' is not defined", p->person_cal [i]);
        }
    }
    for (s_group_t *g = (s_group_t *) zhashx_first (self->groups); g; g = (s_group_t *) zhashx_next (self->groups))
        for (size_t i = 0; i < g->count; i++)
            if (!zhashx_lookup (self->staff, g->members [i]))
                return s_fail (p, "group member '%s' is not a staff entry", g->members [i]);
    for (s_event_t *e = (s_event_t *) zhashx_first (self->events); e; e = (s_event_t *) zhashx_next (self->events))
        for (size_t i = 0; i < e->count; i++) {
            notify_rule_t *r = &e->rules [i];
            if (r->dedup_ms < 0)
                r->dedup_ms = self->dedup_ms;
            if (r->kind == NOTIFY_RCPT_STAFF && !zhashx_lookup (self->staff, r->name)
            &&  !zhashx_lookup (self->groups, r->name))
                return s_fail (p, "recipient staff:%s is not in the directory", r->name);
        }
    return 0;
}

notify_rules_t *
notify_rules_parse (const char *name, const char *text, char *why, size_t whylen)
{
    notify_rules_t *self = (notify_rules_t *) calloc (1, sizeof *self);
    assert (self);
    self->events = zhashx_new ();
    self->staff = zhashx_new ();
    self->groups = zhashx_new ();
    self->calendars = zhashx_new ();
    zhashx_set_destructor (self->events, s_free);
    zhashx_set_destructor (self->staff, s_free);
    zhashx_set_destructor (self->groups, s_free);
    zhashx_set_destructor (self->calendars, s_cal_free);
    for (int c = 0; c < ASP_NOTIFY_CHANNELS; c++)
        self->quiet_from [c] = self->quiet_to [c] = -1;
    s_parser_t *p = (s_parser_t *) calloc (1, sizeof *p);
    assert (p);
    p->self = self;
    int lineno = 0, bad = 0;
    size_t lead;
    char *copy;
    while (!bad && (copy = notify_conf_line (&text, &lineno, &lead))) {
        size_t len = strlen (copy);
        while (len && (copy [len - 1] == ' ' || copy [len - 1] == '\t'))
            copy [--len] = 0;
        if (!asp_utf8_valid (copy, len))
            bad = s_fail (p, "not UTF-8 text%s", "");
        else
        if (lead)
            bad = s_fail (p, "a line must not start with a space%s", "");
        else
            bad = s_line (p, copy);
        free (copy);
    }
    if (!bad)
        bad = s_resolve (p, &lineno);
    if (bad) {
        snprintf (why, whylen, "%s:%d: %s", name, lineno, p->reason);
        asp_calbuild_destroy (&p->cal);
        notify_rules_destroy (&self);
    }
    free (p);
    return self;
}

notify_rules_t *
notify_rules_load (const char *path, char *why, size_t whylen)
{
    if (!path)
        return notify_rules_parse ("<built-in rules.conf>", asp_lua_rules, why, whylen);
    char *text = notify_conf_read (path, why, whylen);
    if (!text)
        return NULL;
    notify_rules_t *self = notify_rules_parse (path, text, why, whylen);
    free (text);
    return self;
}

const notify_rule_t *
notify_rules_of (const notify_rules_t *self, const char *type, size_t *count)
{
    const s_event_t *e = (const s_event_t *) zhashx_lookup (self->events, type);
    *count = e? e->count: 0;
    return e? e->rules: NULL;
}

size_t
notify_rules_staff (const notify_rules_t *self, const char *name, const notify_staff_t **out, size_t max)
{
    const notify_staff_t *s = (const notify_staff_t *) zhashx_lookup (self->staff, name);
    if (s && max) {
        out [0] = s;
        return 1;
    }
    const s_group_t *g = (const s_group_t *) zhashx_lookup (self->groups, name);
    size_t n = 0;
    for (size_t i = 0; g && i < g->count && n < max; i++)
        out [n++] = (const notify_staff_t *) zhashx_lookup (self->staff, g->members [i]);
    return n;
}

bool
notify_rules_quiet (const notify_rules_t *self, asp_notify_channel_t channel, int *from_min, int *to_min)
{
    if ((unsigned) channel >= ASP_NOTIFY_CHANNELS || self->quiet_from [channel] < 0)
        return false;
    *from_min = self->quiet_from [channel];
    *to_min = self->quiet_to [channel];
    return true;
}

bool
notify_rules_rate (const notify_rules_t *self, asp_notify_channel_t channel, int64_t *max, int64_t *window_ms)
{
    if ((unsigned) channel >= ASP_NOTIFY_CHANNELS || !self->rate_max [channel])
        return false;
    *max = self->rate_max [channel];
    *window_ms = self->rate_win [channel];
    return true;
}

//  Parses text; asserts it is refused at line with a reason containing what.
static void
s_test_refused (const char *text, int line, const char *what)
{
    char why [300] = "", want [16];
    notify_rules_t *r = notify_rules_parse ("t.conf", text, why, sizeof why);
    snprintf (want, sizeof want, "t.conf:%d: ", line);
    if (r || strncmp (why, want, strlen (want)) != 0 || !strstr (why, what)) {
        fprintf (stderr, "notify_rules_test: %s\n  got: %s\n", text, why);
        assert (false);
    }
}

void
notify_rules_test (void)
{
    char why [300] = "";
    notify_rules_t *r = notify_rules_load (NULL, why, sizeof why);
    if (!r)
        fprintf (stderr, "%s\n", why);
    assert (r);
    size_t n;
    const notify_rule_t *rules = notify_rules_of (r, ASP_EV_TICKET_CREATED, &n);
    assert (n >= 1 && rules [0].kind == NOTIFY_RCPT_CUSTOMER && strcmp (rules [0].tpl, "received") == 0);
    int from, to;
    assert (notify_rules_quiet (r, ASP_NOTIFY_SMS, &from, &to) && from == 21 * 60 && to == 8 * 60);
    notify_rules_destroy (&r);

    const char *good =
        "[settings]\ndedup = 10m\nrate = sms 2/1h ; two an hour\n\n"
        "[calendar office]\nzone = UTC\nhours = mon-fri 09:00-18:00\n"
        "[staff li.lei]\nemail = li@x.example\nlang = en\ncalendar = office\nchannel = email\n"
        "[staff han]\nsms = 13800000000\n"
        "[group sups]\nmembers = li.lei, han\n"
        "[event sla.escalated]\nnotify = staff:sups sla_escalated preferred urgent dedup=0\n"
        "notify = owner sla_escalated email business_hours\n";
    r = notify_rules_parse ("t.conf", good, why, sizeof why);
    if (!r)
        fprintf (stderr, "%s\n", why);
    assert (r);
    rules = notify_rules_of (r, ASP_EV_SLA_ESCALATED, &n);
    assert (n == 2 && rules [0].kind == NOTIFY_RCPT_STAFF && rules [0].urgent && rules [0].dedup_ms == 0);
    assert (rules [1].business_hours && rules [1].dedup_ms == 600000 && rules [1].channel == ASP_NOTIFY_EMAIL);
    const notify_staff_t *who [4];
    assert (notify_rules_staff (r, "sups", who, 4) == 2 && strcmp (who [1]->phone, "13800000000") == 0);
    assert (notify_rules_staff (r, "li.lei", who, 4) == 1 && who [0]->calendar && strcmp (who [0]->lang, "en") == 0);
    assert (notify_rules_staff (r, "nobody", who, 4) == 0);
    int64_t max, win;
    assert (notify_rules_rate (r, ASP_NOTIFY_SMS, &max, &win) && max == 2 && win == 3600000);
    assert (!notify_rules_rate (r, ASP_NOTIFY_EMAIL, &max, &win));
    assert (!notify_rules_of (r, ASP_EV_TICKET_CREATED, &n) && n == 0);
    notify_rules_destroy (&r);

    //  Refused: the text, the line named, words of the reason.
    static const struct { const char *text; int line; const char *what; } bad [] = {
        { "[event nope.never]\n", 1, "not one notification receives" },
        { "[event ticket.created]\nnotify = customer nosuch default\n", 2, "unknown template" },
        { "[event ticket.created]\nnotify = boss received default\n", 2, "unknown recipient" },
        { "\n[event ticket.created]\nnotify = customer received pigeon\n", 3, "unknown channel" },
        { "[event ticket.created]\nnotify = customer received sms loud\n", 2, "flag 'loud'" },
        { "[settings]\nquiet = sms 21:00-25:00\n", 2, "quiet" },
        { "[settings]\nrate = sms 0/1h\n", 2, "rate" },
        { "[staff a]\nlang = fr\n", 2, "unknown language" },
        { "[staff a]\nlang = en\n", 3, "no address" },
        { "[event ticket.created]\nnotify = staff:ghost received email\n", 3, "not in the directory" },
        { "[calendar c]\nzone = Mars/Olympus\n", 2, "time zone" },
        { "[staff a]\nemail = a@x\ncalendar = c\n", 4, "calendar 'c' is not defined" },
        { "key = value\n", 1, "before any [section]" },
        { "[event sla.warning]\nnotify = duty sla_warning default\nnotify = ops sla_warning default\n", 3, "given twice" },
        { "[event ticket.created]\n[event ticket.created]\n", 2, "given twice" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++)
        s_test_refused (bad [i].text, bad [i].line, bad [i].what);
    printf ("notify_rules_test: ok\n");
}
