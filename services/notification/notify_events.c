#include "notify_events.h"
#include "asp_config.h"
#include "asp_json.h"
#include "asp_log.h"
#include "notify_store.h"
#include <assert.h>
#include <ctype.h>

extern const char asp_lua_record [];
extern const char asp_lua_replay [];
extern const char asp_lua_owner [];

#define S_STR_MAX 4096          //  longest string field we accept (notes)

typedef enum { F_STR, F_INT, F_UINT } s_kind_t;       //  F_UINT: not negative

typedef struct {
    const char *name;
    s_kind_t kind;
    bool required;
    size_t max;                 //  strings: bytes
} s_field_t;

//  The body fields each event needs (whom it tells, with which template,
//  is the rules file's: notify_rules). Fields not listed pass through
//  untouched into "data" (forward compatible).
typedef struct {
    const char *type;
    s_field_t fields [8];
} s_event_t;

static const s_event_t s_events [] = {
    { ASP_EV_TICKET_CREATED, {
        { "customer_name", F_STR, true, 256 }, { "customer_phone", F_STR, true, 64 },
        { "type", F_STR, false, 64 }, { "summary", F_STR, false, S_STR_MAX },
        //  The customer's own e-mail, preferred channel and language
        //  (the archive's; each optional).
        { "customer_email", F_STR, false, 254 }, { "customer_channel", F_STR, false, 16 },
        { "customer_language", F_STR, false, 16 }, { "customer_tz", F_STR, false, 63 } } },
    { ASP_EV_WO_ASSIGNED, {
        { "wo_id", F_STR, true, ASP_CHILD_ID_MAX - 1 }, { "partner_id", F_STR, true, 256 } } },
    { ASP_EV_WO_PROGRESS, {
        { "wo_id", F_STR, true, ASP_CHILD_ID_MAX - 1 }, { "stage", F_STR, true, 64 },
        { "note", F_STR, false, S_STR_MAX }, { "appointment_ms", F_INT, false, 0 },
        { "seq", F_INT, false, 0 } } },
    { ASP_EV_WO_COMPLETED, {
        { "wo_id", F_STR, true, ASP_CHILD_ID_MAX - 1 }, { "result", F_STR, true, 64 },
        { "note", F_STR, false, S_STR_MAX }, { "technician", F_STR, false, 256 } } },
    { ASP_EV_VISIT_SCHEDULED, {
        { "visit_id", F_STR, true, ASP_CHILD_ID_MAX - 1 }, { "due_ms", F_INT, false, 0 } } },
    //  Feedback: the return visit's survey is still unanswered.
    { ASP_EV_VISIT_REMINDER, {
        { "visit_id", F_STR, true, ASP_CHILD_ID_MAX - 1 } } },
    { ASP_EV_TICKET_CLOSED, {
        { "reason", F_STR, false, 256 }, { "score", F_INT, false, 0 } } },
    { ASP_EV_TICKET_CANCELLED, {
        { "reason", F_STR, true, 512 }, { "wo_id", F_STR, false, ASP_CHILD_ID_MAX - 1 } } },
    { ASP_EV_TICKET_REDISPATCHED, {
        { "wo_id", F_STR, true, ASP_CHILD_ID_MAX - 1 }, { "cause", F_STR, false, 64 } } },
    //  Routing's dispatch: the customer hears about the appointment; ops
    //  about work no partner takes or a partner hands back.
    { ASP_EV_WO_APPOINTMENT, {
        { "wo_id", F_STR, true, ASP_CHILD_ID_MAX - 1 }, { "partner_id", F_STR, true, 256 },
        { "appointment_ms", F_INT, true, 0 }, { "end_ms", F_INT, false, 0 },
        { "previous_ms", F_INT, false, 0 } } },
    { ASP_EV_WO_APPOINTMENT_MISSED, {
        { "wo_id", F_STR, true, ASP_CHILD_ID_MAX - 1 }, { "partner_id", F_STR, true, 256 },
        { "appointment_ms", F_INT, true, 0 } } },
    { ASP_EV_WO_UNROUTABLE, {
        { "wo_id", F_STR, true, ASP_CHILD_ID_MAX - 1 }, { "reason", F_STR, true, 64 },
        { "refusals", F_INT, false, 0 } } },
    { ASP_EV_WO_RETURNED, {
        { "wo_id", F_STR, true, ASP_CHILD_ID_MAX - 1 }, { "partner_id", F_STR, true, 256 },
        { "reason", F_STR, true, 64 }, { "note", F_STR, false, S_STR_MAX } } },
    //  A step of a partner's three-strike ladder (feedback), for ops: the
    //  text names the partner, the technician and the step.
    { ASP_EV_PARTNER_STRIKE, {
        { "partner_id", F_STR, true, 256 }, { "strike_id", F_STR, true, 2 * ASP_ID_MAX },
        { "notice", F_STR, true, 32 }, { "step", F_STR, false, 32 },
        { "technician_id", F_STR, false, 256 }, { "reason", F_STR, false, 512 } } },
    //  A service-recovery record resolved with compensation (intake sends
    //  it here only then): the customer's apology with what they get.
    { ASP_EV_RECOVERY_RECORDED, {
        { "recovery_id", F_STR, true, ASP_ID_MAX - 1 }, { "category", F_STR, true, 32 },
        { "outcome", F_STR, true, 16 }, { "amount", F_UINT, true, 0 } } },
    //  The early warning (feedback): a partner's, region's or category's
    //  complaint or SLA rate rising, for ops; note says which and how much.
    { ASP_EV_QUALITY_WARNING, {
        { "scope", F_STR, true, 16 }, { "id", F_STR, true, 256 }, { "metric", F_STR, true, 32 },
        { "recent", F_UINT, true, 0 }, { "baseline", F_UINT, true, 0 }, { "note", F_STR, true, 512 } } },
    { ASP_EV_SLA_WARNING, {
        { "clock", F_STR, true, 32 }, { "due_ms", F_INT, true, 0 }, { "level", F_INT, false, 0 } } },
    { ASP_EV_SLA_BREACHED, {
        { "clock", F_STR, true, 32 }, { "due_ms", F_INT, true, 0 }, { "level", F_INT, false, 0 } } },
    //  A step of the escalation ladder: for the staff it names (to: the
    //  recipients, comma-separated; the channel's receiver routes by them).
    { ASP_EV_SLA_ESCALATED, {
        { "clock", F_STR, true, 32 }, { "role", F_STR, true, 32 }, { "step", F_UINT, true, 0 },
        { "to", F_STR, false, 1000 }, { "due_ms", F_INT, false, 0 } } },
    //  The customer's apology, with what they are owed (minor units).
    { ASP_EV_SLA_COMPENSATION, {
        { "clock", F_STR, true, 32 }, { "amount", F_UINT, true, 0 }, { "rule", F_STR, true, 64 },
        { "approver", F_STR, true, 32 } } },
};
#define S_NEVENTS (sizeof s_events / sizeof s_events [0])

#define S_RCPT_MAX 16           //  notifications one event makes at most

struct notify_events_t {
    asp_script_t *record;
    const notify_rules_t *rules;    //  borrowed; replaced on a reload
    const sla_policy_watch_t *sla;  //  borrowed, may be NULL: regions' supervisors, managers
    bool quiet_on;              //  ASP_NOTIFY_QUIET_HOURS
    asp_counter_t *deduplicated, *scheduled, *unaddressed;
    asp_script_t *replay;
    asp_script_t *owner;
    notify_bell_t *bell;
    notify_lang_t lang;
    const notify_config_t *config;
    const notify_templates_t *templates;    //  borrowed; replaced on a reload
    char channels [64];         //  the configured channels, "webhook,email,..."
    asp_counter_t *fallback;
    asp_svc_t *svc;
    zhashx_t *zones;            //  zone name -> asp_calendar_t (24x7), made on first use
    int64_t contact_ttl_s;
    int64_t max_queue;
    asp_counter_t *queued;
};

void
notify_id (const char *source_id, const char *tpl, const char *rcpt, char *out)
{
    zdigest_t *d = zdigest_new ();
    assert (d);
    zdigest_update (d, (const byte *) source_id, strlen (source_id));
    zdigest_update (d, (const byte *) "/", 1);
    zdigest_update (d, (const byte *) tpl, strlen (tpl));
    if (rcpt) {
        zdigest_update (d, (const byte *) "/", 1);
        zdigest_update (d, (const byte *) rcpt, strlen (rcpt));
    }
    const char *hex = zdigest_string (d);
    out [0] = 'N';
    for (int i = 0; i < 24; i++)
        out [1 + i] = (char) tolower ((unsigned char) hex [i]);
    out [25] = 0;
    zdigest_destroy (&d);
}

static const s_event_t *
s_lookup (const char *type)
{
    for (size_t i = 0; i < S_NEVENTS; i++)
        if (strcmp (s_events [i].type, type) == 0)
            return &s_events [i];
    return NULL;
}

//  0 when the envelope carries what this event needs, else -1 and why.
static int
s_validate (const s_event_t *ev, const asp_envelope_t *env, char *reason, size_t reason_len)
{
    if (!*env->ticket) {
        snprintf (reason, reason_len, "%s: the envelope's ticket_id is required", env->type);
        return -1;
    }
    char *buf = (char *) malloc (S_STR_MAX + 1);
    assert (buf);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sizeof ev->fields / sizeof ev->fields [0] && ev->fields [i].name; i++) {
        const s_field_t *f = &ev->fields [i];
        int got;
        if (f->kind == F_STR) {
            got = asp_mp_get_str (env->body, f->name, buf, f->max + 1);
            if (got == 0 && f->required && !*buf)
                got = 1;
        }
        else {
            int64_t v = 0;
            got = asp_mp_get_int (env->body, f->name, &v);
            if (got == 0 && f->kind == F_UINT && v < 0)
                got = -1;
        }
        if (got == -1) {
            if (f->kind == F_STR)
                snprintf (reason, reason_len, "%s: field '%s' must be a string of at most %zu bytes",
                          env->type, f->name, f->max);
            else
                snprintf (reason, reason_len, "%s: field '%s' must be %s", env->type, f->name,
                          f->kind == F_UINT? "an integer, not negative": "an integer");
            rc = -1;
        }
        else
        if (got == 1 && f->required) {
            snprintf (reason, reason_len, "%s: field '%s' is required", env->type, f->name);
            rc = -1;
        }
    }
    free (buf);
    return rc;
}

//  The customer's e-mail, preferred channel and language from
//  ticket.created; a word notification does not know (a newer intake) is
//  dropped with a warning: the notification still goes, by the default.
static void
s_contact_prefs (const asp_envelope_t *env, char *email, size_t email_len, char *pref,
                 size_t pref_len, char *clang, size_t clang_len)
{
    asp_mp_get_str (env->body, "customer_email", email, email_len);
    char word [17] = "";
    asp_mp_get_str (env->body, "customer_channel", word, sizeof word);
    int channel = asp_vocab_parse (&asp_vocab_notify_channel, word);
    if (*word && (channel < 0 || channel == ASP_NOTIFY_FILE || channel == ASP_NOTIFY_STDOUT))
        asp_log_kv (ASP_LOG_WARN, "unknown preferred channel ignored", "ticket", env->ticket,
                    "channel", word, NULL);
    else
        snprintf (pref, pref_len, "%s", word);
    asp_mp_get_str (env->body, "customer_language", word, sizeof word);
    notify_lang_t lang;
    if (*word && notify_lang_parse (word, &lang))
        asp_log_kv (ASP_LOG_WARN, "unknown customer language ignored", "ticket", env->ticket,
                    "language", word, NULL);
    else
    if (*word)
        snprintf (clang, clang_len, "%s", notify_lang_name (lang));
}

//  The calendar of zone, for showing times there (cached; NULL when the
//  zone is unknown here: the times are shown in TZ, and the log says so).
static const asp_calendar_t *
s_zone (notify_events_t *self, const char *zone)
{
    if (!zone || !*zone)
        return NULL;
    asp_calendar_t *cal = (asp_calendar_t *) zhashx_lookup (self->zones, zone);
    if (cal)
        return cal;
    char why [200];
    cal = asp_calendar_new_24x7 ("tz", zone, why, sizeof why);
    if (!cal) {
        asp_log_kv (ASP_LOG_WARN, "customer's time zone unknown here; times in TZ", "reason", why, NULL);
        return NULL;
    }
    if (zhashx_size (self->zones) >= 256)
        zhashx_purge (self->zones);         //  bounded; made again when needed
    zhashx_insert (self->zones, zone, cal);
    return cal;
}

//  What record.lua needs to know of the ticket before it runs: the
//  customer's zone (times shown, quiet hours), the owning agent (a rule
//  for "owner"), the region (its supervisor and manager) and the
//  customer's own link (their self-service page and survey, which the
//  received and survey texts carry). ticket.created carries them; later
//  events read them from the contact, one HMGET, and only when a rule
//  needs them.
typedef struct {
    char zone [64];
    char owner [64];
    char region [65];
    char link [1024];
} s_facts_t;

static void
s_ticket_facts (notify_events_t *self, const asp_envelope_t *env, const notify_rule_t *rules, size_t n,
                s_facts_t *f)
{
    *f->zone = *f->owner = *f->region = *f->link = 0;
    if (strcmp (env->type, ASP_EV_TICKET_CREATED) == 0) {
        asp_mp_get_str (env->body, "customer_tz", f->zone, sizeof f->zone);
        asp_mp_get_str (env->body, "owner", f->owner, sizeof f->owner);
        asp_mp_get_str (env->body, "region", f->region, sizeof f->region);
        asp_mp_get_str (env->body, "customer_link", f->link, sizeof f->link);
        return;
    }
    bool need = false;
    for (size_t i = 0; i < n && !need; i++)
        need = rules [i].kind == NOTIFY_RCPT_OWNER
            || rules [i].kind == NOTIFY_RCPT_SUPERVISOR || rules [i].kind == NOTIFY_RCPT_MANAGER
            || (rules [i].kind == NOTIFY_RCPT_CUSTOMER && self->quiet_on)
            || (rules [i].kind == NOTIFY_RCPT_CUSTOMER && strncmp (rules [i].tpl, "survey_", 7) == 0);
    int64_t ms;
    if (asp_mp_get_int (env->body, "appointment_ms", &ms) == 0 || asp_mp_get_int (env->body, "previous_ms", &ms) == 0)
        need = true;                //  a time to show in the customer's zone
    if (!need)
        return;
    char key [ASP_KEY_MAX];
    asp_key (key, sizeof key, asp_shard_of (env->ticket), NOTIFY_KEY_CONTACT, env->ticket);
    redisReply *r = asp_rds_cmd (asp_svc_rds (self->svc), "HMGET %s tz owner region link", key);
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 4) {
        char *to [] = { f->zone, f->owner, f->region, f->link };
        size_t len [] = { sizeof f->zone, sizeof f->owner, sizeof f->region, sizeof f->link };
        for (size_t i = 0; i < 4; i++)
            if (r->element [i]->type == REDIS_REPLY_STRING)
                snprintf (to [i], len [i], "%s", r->element [i]->str);
    }
    if (r)
        freeReplyObject (r);
}

//  When the quiet hours [from, to) (local minutes) that hold now end, in
//  the zone of cal (NULL: the process's TZ); 0 when now is not quiet.
static int64_t
s_quiet_end (const asp_calendar_t *cal, int from, int to, int64_t now)
{
    int hh, mm;
    struct tm tm;
    time_t secs = (time_t) (now / 1000);
    if (cal) {
        char local [32];
        asp_calendar_local (cal, now, local, sizeof local);
        if (sscanf (local, "%*d-%*d-%*d %d:%d", &hh, &mm) != 2)
            return 0;
    }
    else {
        localtime_r (&secs, &tm);
        hh = tm.tm_hour;
        mm = tm.tm_min;
    }
    int m = hh * 60 + mm;
    bool quiet = from < to? m >= from && m < to: m >= from || m < to;
    if (!quiet)
        return 0;
    int days = m < to? 0: 1;        //  the end is later today, or tomorrow
    if (cal) {
        int64_t end = asp_calendar_at (cal, now, days, to / 60, to % 60, false);
        return end > now? end: 0;
    }
    tm.tm_mday += days;
    tm.tm_hour = to / 60;
    tm.tm_min = to % 60;
    tm.tm_sec = 0;
    tm.tm_isdst = -1;
    return (int64_t) mktime (&tm) * 1000;
}

//  The next opening of a staff member's calendar (0: open now or always).
static int64_t
s_opening (const notify_staff_t *staff, int64_t now)
{
    if (!staff || !staff->calendar || asp_calendar_working (staff->calendar, now))
        return 0;
    //  The first working millisecond after now, less that millisecond.
    int64_t t = asp_calendar_add (staff->calendar, now, 1);
    return t > 0? t - 1: 0;
}

//  One recipient of an event, resolved from a rule.
typedef struct {
    const notify_rule_t *rule;
    const notify_staff_t *staff;    //  NULL: customer, duty, ops, partner
    char rcpt [NOTIFY_NAME_MAX + 16];   //  "customer", "owner:li.lei", "staff:sups:li.lei"
} s_rcpt_t;

//  The people a rule names for this event, appended to out (at most max in
//  all); names the directory does not know are logged and counted.
static size_t
s_expand (notify_events_t *self, const asp_envelope_t *env, const notify_rule_t *rule, const char *owner,
          const char *region, s_rcpt_t *out, size_t n, size_t max)
{
    char names [1001] = "";
    notify_rcpt_kind_t kind = rule->kind;
    if (kind == NOTIFY_RCPT_OWNER)
        snprintf (names, sizeof names, "%s", owner);
    else
    if (kind == NOTIFY_RCPT_STAFF)
        snprintf (names, sizeof names, "%s", rule->name);
    else
    if (kind == NOTIFY_RCPT_SUPERVISOR || kind == NOTIFY_RCPT_MANAGER || kind == NOTIFY_RCPT_ESCALATION) {
        //  sla-timer names them in an escalation's `to` (its policy file's
        //  [region] supervisor and manager, or the owner at the agent step).
        char role [33] = "";
        asp_mp_get_str (env->body, "role", role, sizeof role);
        if (kind == NOTIFY_RCPT_ESCALATION || strcmp (role, notify_rcpt_name (kind)) == 0)
            asp_mp_get_str (env->body, "to", names, sizeof names);
        else
        if (!*role && kind != NOTIFY_RCPT_ESCALATION && self->sla) {
            //  Not an escalation: the region's, from the same policy file
            //  sla-timer's escalations take them from.
            const char *to = sla_policy_recipients (sla_policy_watch_current (self->sla), region,
                kind == NOTIFY_RCPT_SUPERVISOR? ASP_SLA_ROLE_SUPERVISOR: ASP_SLA_ROLE_MANAGER);
            snprintf (names, sizeof names, "%s", to? to: "");
        }
    }
    else {
        if (n < max) {
            out [n].rule = rule;
            out [n].staff = NULL;
            snprintf (out [n].rcpt, sizeof out [n].rcpt, "%s", notify_rcpt_name (kind));
            n++;
        }
        return n;
    }
    char *save;
    for (char *name = strtok_r (names, ", ", &save); name; name = strtok_r (NULL, ", ", &save)) {
        const notify_staff_t *who [16];
        size_t found = notify_rules_staff (self->rules, name, who, 16);
        if (!found) {
            asp_counter_inc (self->unaddressed);
            asp_log_kv (ASP_LOG_INFO, "recipient not in the rules' directory; not notified", "ticket", env->ticket,
                        "event", env->type, "recipient", notify_rcpt_name (kind), "name", name, NULL);
        }
        if (n + found > max) {
            //  Bounded: one event makes at most S_RCPT_MAX notifications.
            asp_counter_add (self->unaddressed, n + found - max);
            asp_log_kv (ASP_LOG_WARN, "too many recipients for one event; the rest not notified", "ticket",
                        env->ticket, "event", env->type, "name", name, NULL);
        }
        for (size_t i = 0; i < found && n < max; i++) {
            out [n].rule = rule;
            out [n].staff = who [i];
            snprintf (out [n].rcpt, sizeof out [n].rcpt, "%s:%s", notify_rcpt_name (kind), who [i]->name);
            n++;
        }
    }
    return n;
}

//  The recipient's map for record.lua (docs in record.lua).
static asp_mpmap_t *
s_rcpt_map (notify_events_t *self, const asp_envelope_t *env, const s_rcpt_t *r, const asp_calendar_t *zone,
            const char *link, int64_t now, char *nid)
{
    const notify_rule_t *rule = r->rule;
    const notify_staff_t *st = r->staff;
    bool customer = rule->kind == NOTIFY_RCPT_CUSTOMER;
    notify_id (env->id, rule->tpl, notify_rcpt_plain (rule->kind)? NULL: r->rcpt, nid);
    asp_mpmap_t *m = asp_mpmap_new ();
    asp_mpmap_str (m, "id", nid);
    asp_mpmap_str (m, "rcpt", r->rcpt);
    asp_mpmap_str (m, "audience", customer? "customer": rule->kind == NOTIFY_RCPT_OPS? "ops":
                                  rule->kind == NOTIFY_RCPT_PARTNER? "partner": "staff");
    asp_mpmap_str (m, "template", rule->tpl);
    //  Times in the customer's zone, or the staff member's calendar's.
    const asp_calendar_t *cal = customer? zone: st? st->calendar: NULL;
    for (int lang = 0; lang < NOTIFY_LANG_COUNT; lang++) {
        //  The customer's link is theirs alone: never in a staff text.
        char *text = notify_text_render (self->templates, (notify_lang_t) lang, rule->tpl, env->ticket, env->body,
                                         cal, customer? link: "");
        char *subject = notify_text_subject (self->templates, (notify_lang_t) lang, env->ticket);
        char field [32];
        snprintf (field, sizeof field, "text.%s", notify_lang_name ((notify_lang_t) lang));
        asp_mpmap_str (m, field, text? text: rule->tpl);
        snprintf (field, sizeof field, "subject.%s", notify_lang_name ((notify_lang_t) lang));
        asp_mpmap_str (m, field, subject? subject: "");
        free (text);
        free (subject);
    }
    //  The channel: a word, "default", or "" (the customer's preferred,
    //  which only the script knows); a staff member's own when preferred
    //  or when they have no address on the rule's channel.
    int ch = rule->channel;
    if (st && (ch == NOTIFY_CH_PREFERRED
           || (ch == ASP_NOTIFY_EMAIL && !*st->email) || (ch == ASP_NOTIFY_SMS && !*st->phone)))
        ch = st->channel >= 0? st->channel: *st->email? ASP_NOTIFY_EMAIL: *st->phone? ASP_NOTIFY_SMS: ASP_NOTIFY_WEBHOOK;
    asp_mpmap_str (m, "channel", ch >= 0? asp_vocab_name (&asp_vocab_notify_channel, ch):
                                 ch == NOTIFY_CH_DEFAULT || !customer? "default": "");
    asp_mpmap_str (m, "name", st? st->name: "");
    asp_mpmap_str (m, "phone", st? st->phone: "");
    asp_mpmap_str (m, "email", st? st->email: "");
    asp_mpmap_str (m, "hook", st? st->hook: "");
    asp_mpmap_str (m, "lang", st? st->lang: "");
    asp_mpmap_str (m, "urgent", rule->urgent? "1": "0");
    asp_mpmap_int (m, "due", rule->business_hours? s_opening (st, now): 0);
    for (int c = 0; c < ASP_NOTIFY_CHANNELS; c++) {
        char field [32];
        const char *word = asp_vocab_name (&asp_vocab_notify_channel, c);
        int from, to;
        if (customer && self->quiet_on && notify_rules_quiet (self->rules, (asp_notify_channel_t) c, &from, &to)) {
            snprintf (field, sizeof field, "quiet.%s", word);
            asp_mpmap_int (m, field, s_quiet_end (zone, from, to, now));
        }
        int64_t max, win;
        if (notify_rules_rate (self->rules, (asp_notify_channel_t) c, &max, &win)) {
            char rate [48];
            snprintf (field, sizeof field, "rate.%s", word);
            snprintf (rate, sizeof rate, "%lld/%lld", (long long) max, (long long) win);
            asp_mpmap_str (m, field, rate);
        }
    }
    asp_mpmap_int (m, "dedup_ms", rule->dedup_ms);
    return m;
}

//  The de-duplication key's name: the ticket, the recipient, the template
//  and, for SLA events, the clock (two clocks warning are two warnings).
static void
s_dedup_key (const asp_envelope_t *env, const s_rcpt_t *r, char *out)
{
    char what [256], clock [33] = "";
    asp_mp_get_str (env->body, "clock", clock, sizeof clock);
    snprintf (what, sizeof what, "%s/%s", r->rcpt, clock);
    notify_id (env->ticket, r->rule->tpl, what, out);
}

static asp_txn_t *
s_prepare (asp_svc_t *svc, const asp_envelope_t *env, char *reason, size_t reason_len, void *arg)
{
    (void) svc;
    notify_events_t *self = (notify_events_t *) arg;
    const s_event_t *ev = s_lookup (env->type);
    assert (ev);                //  registered only for the types in the table
    if (s_validate (ev, env, reason, reason_len))
        return NULL;
    size_t nrules;
    const notify_rule_t *rules = notify_rules_of (self->rules, env->type, &nrules);
    s_facts_t facts;
    s_ticket_facts (self, env, rules, nrules, &facts);
    const asp_calendar_t *cal = s_zone (self, facts.zone);
    s_rcpt_t rcpts [S_RCPT_MAX];
    size_t n = 0;
    for (size_t i = 0; i < nrules; i++)
        n = s_expand (self, env, &rules [i], facts.owner, facts.region, rcpts, n, S_RCPT_MAX);
    cJSON *data = asp_json_from_mp (env->body);
    char *data_json = cJSON_PrintUnformatted (data);
    cJSON_Delete (data);
    assert (data_json);
    char name [257] = "", phone [65] = "", email [255] = "", pref [17] = "", clang [17] = "";
    bool customer = false;
    for (size_t i = 0; i < n; i++)
        customer = customer || rcpts [i].rule->kind == NOTIFY_RCPT_CUSTOMER;
    const char *contact = customer? "get": "none";
    if (strcmp (env->type, ASP_EV_TICKET_CREATED) == 0) {
        //  Remembered whoever hears of the ticket's creation: later events
        //  need the customer's contact and the owner.
        contact = "set";
        asp_mp_get_str (env->body, "customer_name", name, sizeof name);
        asp_mp_get_str (env->body, "customer_phone", phone, sizeof phone);
        s_contact_prefs (env, email, sizeof email, pref, sizeof pref, clang, sizeof clang);
    }
    int64_t now = asp_now_ms ();
    asp_mpmap_t *a = asp_mpmap_new ();
    asp_mpmap_str (a, "ticket", env->ticket);
    asp_mpmap_str (a, "event", env->type);
    asp_mpmap_str (a, "lang", notify_lang_name (self->lang));
    asp_mpmap_str (a, "data", data_json);
    asp_mpmap_int (a, "now", now);
    asp_mpmap_str (a, "source", env->id);
    asp_mpmap_str (a, "trace", env->trace);
    asp_mpmap_str (a, "contact", contact);
    asp_mpmap_str (a, "name", name);
    asp_mpmap_str (a, "phone", phone);
    asp_mpmap_str (a, "email", email);
    asp_mpmap_str (a, "channel", pref);
    asp_mpmap_str (a, "clang", clang);
    asp_mpmap_str (a, "tz", facts.zone);
    asp_mpmap_str (a, "owner", facts.owner);
    asp_mpmap_str (a, "region", facts.region);
    asp_mpmap_str (a, "link", facts.link);
    asp_mpmap_str (a, "channels", self->channels);
    asp_mpmap_str (a, "default", asp_vocab_name (&asp_vocab_notify_channel, self->config->fallback));
    asp_mpmap_int (a, "contact_ttl_s", self->contact_ttl_s);
    //  The bound is split evenly over the shards' queues.
    asp_mpmap_int (a, "max_waiting", (self->max_queue + ASP_SHARDS - 1) / ASP_SHARDS);
    asp_txn_t *txn = asp_txn_new (self->record, asp_shard_of (env->ticket));
    asp_txn_inbox (txn, env->id);
    asp_txn_key (txn, NOTIFY_KEY_CONTACT, env->ticket);
    asp_txn_key (txn, NOTIFY_KEY_PENDING);
    asp_txn_key (txn, NOTIFY_KEY_RETRY);
    asp_txn_arg_map (txn, &a);
    for (size_t i = 0; i < n; i++) {
        char nid [ASP_ID_MAX], dd [ASP_ID_MAX];
        asp_mpmap_t *m = s_rcpt_map (self, env, &rcpts [i], cal, facts.link, now, nid);
        s_dedup_key (env, &rcpts [i], dd);
        asp_txn_key (txn, NOTIFY_KEY_NOTE, nid);
        asp_txn_key (txn, NOTIFY_KEY_DEDUP, dd);
        asp_txn_arg_map (txn, &m);
    }
    cJSON_free (data_json);
    return txn;
}

static void
s_committed (asp_svc_t *svc, const asp_envelope_t *env, asp_txn_t *txn, void *arg)
{
    (void) svc;
    notify_events_t *self = (notify_events_t *) arg;
    if (asp_txn_outcome (txn) != ASP_TXN_OK) {
        asp_log_kv (ASP_LOG_DEBUG, "event already notified", "ticket", env->ticket, "event", env->type,
                    "source", env->id, "outcome", asp_txn_outcome_name (asp_txn_outcome (txn)), NULL);
        return;
    }
    //  Per recipient: id, recipient, state, channel, wanted (a preferred
    //  channel not configured here, else "").
    const redisReply *r = asp_txn_reply (txn);
    bool rang = false;
    for (size_t i = 3; r && i + 4 < r->elements; i += 5) {
        const char *nid = asp_txn_reply_str (txn, i), *rcpt = asp_txn_reply_str (txn, i + 1);
        const char *state = asp_txn_reply_str (txn, i + 2), *channel = asp_txn_reply_str (txn, i + 3);
        const char *wanted = asp_txn_reply_str (txn, i + 4);
        if (!nid || !rcpt || !state || !channel || !wanted)
            break;
        if (strcmp (state, "exists") == 0)
            continue;
        if (strcmp (state, ASP_NOTIFY_STATE_DEDUPLICATED) == 0)
            asp_counter_inc (self->deduplicated);
        else
            asp_counter_inc (self->queued);
        if (strcmp (state, ASP_NOTIFY_STATE_SCHEDULED) == 0)
            asp_counter_inc (self->scheduled);
        rang = rang || strcmp (state, ASP_NOTIFY_STATE_QUEUED) == 0;
        asp_log_kv (ASP_LOG_INFO, strcmp (state, ASP_NOTIFY_STATE_QUEUED) == 0? "notification queued":
                    strcmp (state, ASP_NOTIFY_STATE_SCHEDULED) == 0? "notification scheduled":
                    "notification deduplicated", "id", nid, "ticket", env->ticket, "event", env->type,
                    "to", rcpt, "channel", channel, "source", env->id, NULL);
        if (*wanted) {
            //  Never silently: the recipient asked for a channel we lack.
            asp_counter_inc (self->fallback);
            asp_log_kv (ASP_LOG_WARN, "preferred channel not configured here; sent by the default",
                        "id", nid, "ticket", env->ticket, "preferred", wanted, "channel", channel, NULL);
        }
    }
    if (rang && self->bell)
        notify_bell_ring (self->bell);
}

//  notification.replay {id, by}: a dead letter goes back to pending
//  (replay.lua), in its ticket's shard, once per command.
static const s_event_t s_replay = { ASP_EV_NOTIFICATION_REPLAY, {
    { "id", F_STR, true, ASP_ID_MAX - 1 }, { "by", F_STR, true, 256 } } };

static asp_txn_t *
s_replay_prepare (asp_svc_t *svc, const asp_envelope_t *env, char *reason, size_t reason_len, void *arg)
{
    (void) svc;
    notify_events_t *self = (notify_events_t *) arg;
    if (s_validate (&s_replay, env, reason, reason_len))
        return NULL;
    char id [ASP_ID_MAX], by [257];
    asp_mp_get_str (env->body, "id", id, sizeof id);
    asp_mp_get_str (env->body, "by", by, sizeof by);
    if (!asp_notify_id_valid (id)) {
        snprintf (reason, reason_len, "%s: field 'id' must be a notification id (N and 24 hex digits)", env->type);
        return NULL;
    }
    asp_txn_t *txn = asp_txn_new (self->replay, asp_shard_of (env->ticket));
    asp_txn_inbox (txn, env->id);
    asp_txn_key (txn, NOTIFY_KEY_NOTE, id);
    asp_txn_key (txn, NOTIFY_KEY_DEAD);
    asp_txn_key (txn, NOTIFY_KEY_PENDING);
    asp_txn_arg (txn, "%s", id);
    asp_txn_arg (txn, "%lld", (long long) asp_now_ms ());
    asp_txn_arg (txn, "%s", by);
    return txn;
}

static void
s_replay_committed (asp_svc_t *svc, const asp_envelope_t *env, asp_txn_t *txn, void *arg)
{
    (void) svc;
    notify_events_t *self = (notify_events_t *) arg;
    char id [ASP_ID_MAX] = "", by [257] = "";
    asp_mp_get_str (env->body, "id", id, sizeof id);
    asp_mp_get_str (env->body, "by", by, sizeof by);
    asp_txn_outcome_t o = asp_txn_outcome (txn);
    if (o == ASP_TXN_OK && self->bell)
        notify_bell_ring (self->bell);
    asp_log_kv (o == ASP_TXN_OK? ASP_LOG_INFO: ASP_LOG_WARN,
                o == ASP_TXN_OK? "dead letter replayed": "replay ignored: not a dead letter",
                "id", id, "ticket", env->ticket, "by", by, "outcome", asp_txn_outcome_name (o), NULL);
}

//  ticket.owner_changed {owner, previous}: the owner the rules' "owner"
//  recipient names from now on (owner.lua), on the ticket's contact.
static const s_event_t s_owner = { ASP_EV_TICKET_OWNER_CHANGED, {
    { "owner", F_STR, true, 63 }, { "previous", F_STR, false, 63 } } };

static asp_txn_t *
s_owner_prepare (asp_svc_t *svc, const asp_envelope_t *env, char *reason, size_t reason_len, void *arg)
{
    (void) svc;
    notify_events_t *self = (notify_events_t *) arg;
    if (s_validate (&s_owner, env, reason, reason_len))
        return NULL;
    char owner [64];
    asp_mp_get_str (env->body, "owner", owner, sizeof owner);
    asp_txn_t *txn = asp_txn_new (self->owner, asp_shard_of (env->ticket));
    asp_txn_inbox (txn, env->id);
    asp_txn_key (txn, NOTIFY_KEY_CONTACT, env->ticket);
    asp_txn_arg (txn, "%s", owner);
    return txn;
}

static void
s_owner_committed (asp_svc_t *svc, const asp_envelope_t *env, asp_txn_t *txn, void *arg)
{
    (void) svc; (void) arg;
    asp_log_kv (ASP_LOG_DEBUG, "ticket owner noted", "ticket", env->ticket,
                "outcome", asp_txn_outcome_name (asp_txn_outcome (txn)), NULL);
}

static void
s_zone_destroy (void **item)
{
    asp_calendar_destroy ((asp_calendar_t **) item);
}

notify_events_t *
notify_events_new (asp_svc_t *svc, notify_lang_t lang, const notify_config_t *config,
                   const notify_templates_t *templates, const notify_rules_t *rules, asp_counter_t *queued,
                   asp_counter_t *fallback, notify_bell_t *bell)
{
    notify_events_t *self = (notify_events_t *) calloc (1, sizeof *self);
    assert (self);
    self->templates = templates;
    self->rules = rules;
    //  "off" lets tests and drills ignore the rules' quiet hours.
    const char *quiet = asp_cfg_str ("ASP_NOTIFY_QUIET_HOURS", "on");
    if (strcmp (quiet, "on") != 0 && strcmp (quiet, "off") != 0) {
        asp_log_error ("bad configuration: ASP_NOTIFY_QUIET_HOURS='%s' must be on or off", quiet);
        exit (2);
    }
    self->quiet_on = strcmp (quiet, "on") == 0;
    asp_metrics_t *m = asp_svc_metrics (svc);
    self->deduplicated = asp_metrics_counter (m, "notify_deduplicated_total",
        "Notifications recorded as deduplicated: the same recipient, template and ticket within the rule's window.");
    self->scheduled = asp_metrics_counter (m, "notify_scheduled_total",
        "Notifications recorded to wait for the end of quiet hours or the staff member's business hours.");
    self->unaddressed = asp_metrics_counter (m, "notify_unaddressed_total",
        "Recipients not notified: a name the rules' directory does not know, or past 16 recipients of one event.");
    self->lang = lang;
    self->config = config;
    self->svc = svc;
    self->zones = zhashx_new ();
    zhashx_set_destructor (self->zones, s_zone_destroy);
    self->fallback = fallback;
    for (int c = 0; c < ASP_NOTIFY_CHANNELS; c++)
        if (config->configured [c]) {
            size_t used = strlen (self->channels);
            snprintf (self->channels + used, sizeof self->channels - used, "%s%s", used? ",": "",
                      asp_vocab_name (&asp_vocab_notify_channel, c));
        }
    self->queued = queued;
    self->bell = bell;
    self->contact_ttl_s = asp_cfg_int ("ASP_NOTIFY_CONTACT_TTL_S", 90 * 86400, 60, 10LL * 365 * 86400);
    self->max_queue = asp_cfg_int ("ASP_NOTIFY_MAX_QUEUE", 1000000, 1, 1000000000);
    self->record = asp_svc_script (svc, "notify_record", asp_lua_record);
    for (size_t i = 0; i < S_NEVENTS; i++)
        asp_svc_on (svc, s_events [i].type, s_prepare, s_committed, self);
    self->replay = asp_svc_script (svc, "notify_replay", asp_lua_replay);
    asp_svc_on (svc, ASP_EV_NOTIFICATION_REPLAY, s_replay_prepare, s_replay_committed, self);
    self->owner = asp_svc_script (svc, "notify_owner", asp_lua_owner);
    asp_svc_on (svc, ASP_EV_TICKET_OWNER_CHANGED, s_owner_prepare, s_owner_committed, self);
    return self;
}

void
notify_events_set_templates (notify_events_t *self, const notify_templates_t *templates)
{
    self->templates = templates;
}

void
notify_events_set_rules (notify_events_t *self, const notify_rules_t *rules)
{
    self->rules = rules;
}

void
notify_events_set_sla (notify_events_t *self, const sla_policy_watch_t *sla)
{
    self->sla = sla;
}

void
notify_events_destroy (notify_events_t **self_p)
{
    if (*self_p) {
        zhashx_destroy (&(*self_p)->zones);
        free (*self_p);
        *self_p = NULL;
    }
}

//  Decodes an envelope built from type, ticket and a body, for the test.
//  The envelope's strings point into *data: free it after the envelope.
static asp_envelope_t *
s_test_env (const char *type, const char *ticket, asp_mpmap_t **body_p, char **data)
{
    asp_msg_t *msg = asp_msg_new (type, ticket, NULL);
    asp_mpmap_destroy (&msg->body);
    msg->body = *body_p;
    *body_p = NULL;
    size_t size;
    asp_msg_encode (msg, data, &size);
    char err [160];
    asp_envelope_t *env = asp_envelope_decode (*data, size, err, sizeof err);
    assert (env);
    asp_msg_destroy (&msg);
    return env;
}

//  Validates an envelope; returns the result and frees it.
static int
s_test_validate (const char *type, const char *ticket, asp_mpmap_t *body, char *why, size_t len)
{
    char *data;
    asp_envelope_t *env = s_test_env (type, ticket, &body, &data);
    int rc = s_validate (s_lookup (env->type), env, why, len);
    asp_envelope_destroy (&env);
    free (data);
    return rc;
}

void
notify_events_test (void)
{
    //  Ids: deterministic per (message, template), valid ids, distinct.
    char a [ASP_ID_MAX], b [ASP_ID_MAX], c [ASP_ID_MAX];
    notify_id ("m1abc", "received", NULL, a);
    notify_id ("m1abc", "received", NULL, b);
    notify_id ("m1abc", "closed", NULL, c);
    assert (strcmp (a, b) == 0 && strcmp (a, c) != 0);
    notify_id ("m1abc", "received", "owner:li", b);
    assert (strcmp (a, b) != 0);
    assert (strlen (a) == 25 && a [0] == 'N' && asp_id_valid (a, strlen (a)));

    //  Every event routed to notification has an entry, every entry words.
    const char *routed [] = { ASP_EV_TICKET_CREATED, ASP_EV_WO_ASSIGNED, ASP_EV_WO_PROGRESS,
        ASP_EV_WO_COMPLETED, ASP_EV_VISIT_SCHEDULED, ASP_EV_TICKET_CLOSED, ASP_EV_SLA_WARNING,
        ASP_EV_SLA_BREACHED, ASP_EV_SLA_ESCALATED, ASP_EV_SLA_COMPENSATION, ASP_EV_TICKET_CANCELLED, ASP_EV_TICKET_REDISPATCHED, ASP_EV_WO_APPOINTMENT,
        ASP_EV_WO_APPOINTMENT_MISSED, ASP_EV_WO_UNROUTABLE, ASP_EV_WO_RETURNED };
    for (size_t i = 0; i < sizeof routed / sizeof routed [0]; i++) {
        assert (asp_event_subscribers (routed [i]) & ASP_BIT (ASP_SVC_NOTIFICATION));
        assert (s_lookup (routed [i]));
    }
    for (size_t i = 0; i < S_NEVENTS; i++)
        assert (asp_event_subscribers (s_events [i].type) & ASP_BIT (ASP_SVC_NOTIFICATION));

    char why [200];
    asp_mpmap_t *body = asp_mpmap_new ();
    asp_mpmap_str (body, "wo_id", "WT1");
    asp_mpmap_str (body, "partner_id", "P1");
    assert (s_test_validate (ASP_EV_WO_ASSIGNED, "T1", body, why, sizeof why) == 0);

    //  The id limit: the work order of the longest ticket id passes, one
    //  character more does not.
    char wo [ASP_CHILD_ID_MAX + 1];
    memset (wo, 'x', sizeof wo);
    wo [0] = 'W';
    wo [ASP_CHILD_ID_MAX - 1] = 0;
    body = asp_mpmap_new ();
    asp_mpmap_str (body, "wo_id", wo);
    asp_mpmap_str (body, "partner_id", "P1");
    assert (s_test_validate (ASP_EV_WO_ASSIGNED, "T1", body, why, sizeof why) == 0);
    wo [ASP_CHILD_ID_MAX - 1] = 'x';
    wo [ASP_CHILD_ID_MAX] = 0;
    body = asp_mpmap_new ();
    asp_mpmap_str (body, "wo_id", wo);
    asp_mpmap_str (body, "partner_id", "P1");
    assert (s_test_validate (ASP_EV_WO_ASSIGNED, "T1", body, why, sizeof why) == -1);

    body = asp_mpmap_new ();
    asp_mpmap_str (body, "wo_id", "WT1");
    asp_mpmap_int (body, "partner_id", 7);
    assert (s_test_validate (ASP_EV_WO_ASSIGNED, "T1", body, why, sizeof why) == -1);
    assert (strstr (why, "'partner_id' must be a string"));

    body = asp_mpmap_new ();
    asp_mpmap_str (body, "clock", "response");
    assert (s_test_validate (ASP_EV_SLA_WARNING, "T1", body, why, sizeof why) == -1);
    assert (strstr (why, "'due_ms' is required"));

    body = asp_mpmap_new ();
    asp_mpmap_str (body, "customer_name", "Li");
    asp_mpmap_str (body, "customer_phone", "");
    assert (s_test_validate (ASP_EV_TICKET_CREATED, "T1", body, why, sizeof why) == -1);
    assert (strstr (why, "'customer_phone' is required"));

    body = asp_mpmap_new ();
    asp_mpmap_str (body, "wo_id", "WT1");
    asp_mpmap_str (body, "partner_id", "P1");
    asp_mpmap_str (body, "appointment_ms", "tomorrow");
    assert (s_test_validate (ASP_EV_WO_APPOINTMENT, "T1", body, why, sizeof why) == -1);
    assert (strstr (why, "'appointment_ms' must be an integer"));

    body = asp_mpmap_new ();
    asp_mpmap_str (body, "wo_id", "WT1");
    assert (s_test_validate (ASP_EV_WO_UNROUTABLE, "T1", body, why, sizeof why) == -1);
    assert (strstr (why, "'reason' is required"));

    body = asp_mpmap_new ();
    asp_mpmap_str (body, "clock", "onsite_arrival");
    asp_mpmap_int (body, "amount", -100);
    asp_mpmap_str (body, "rule", "late_onsite");
    asp_mpmap_str (body, "approver", "agent");
    assert (s_test_validate (ASP_EV_SLA_COMPENSATION, "T1", body, why, sizeof why) == -1);
    assert (strstr (why, "'amount' must be an integer, not negative"));

    body = asp_mpmap_new ();
    asp_mpmap_str (body, "clock", "resolution");
    asp_mpmap_str (body, "role", "manager");
    asp_mpmap_int (body, "step", 2);
    asp_mpmap_int (body, "to", 7);
    assert (s_test_validate (ASP_EV_SLA_ESCALATED, "T1", body, why, sizeof why) == -1);
    assert (strstr (why, "'to' must be a string"));

    body = asp_mpmap_new ();
    assert (s_test_validate (ASP_EV_TICKET_CLOSED, NULL, body, why, sizeof why) == -1);
    assert (strstr (why, "ticket_id is required"));
    printf ("notify_events_test: ok\n");
}
