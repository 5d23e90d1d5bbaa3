#include "notify_text.h"
#include "notify_templates.h"
#include "asp_mp.h"
#include "asp_vocab.h"
#include <assert.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

//  The variables a template may name, in the order of the V_ indexes.
const char *const notify_text_vars [] = {
    "ticket", "partner", "stage", "note", "result", "clock", "appointment", "due", "reason", "link",
    "wo", "previous", "refusals", "role", "step", "to", "amount", "technician", "notice", NULL
};

static const char *
s_phrase (const notify_templates_t *t, const char *key, notify_lang_t lang)
{
    return notify_templates_get (t, lang, key);
}

int
notify_lang_parse (const char *name, notify_lang_t *lang)
{
    if (!name)
        return -1;
    if (strcasecmp (name, "zh-CN") == 0 || strcasecmp (name, "zh") == 0 || strcasecmp (name, "zh_CN") == 0)
        *lang = NOTIFY_LANG_ZH;
    else
    if (strcasecmp (name, "en") == 0 || strncasecmp (name, "en-", 3) == 0 || strncasecmp (name, "en_", 3) == 0)
        *lang = NOTIFY_LANG_EN;
    else
        return -1;
    return 0;
}

const char *
notify_lang_name (notify_lang_t lang)
{
    return lang == NOTIFY_LANG_EN? "en": "zh-CN";
}

//  Placeholder values taken from the event body.
#define S_VALUE_MAX 4200
typedef struct {
    const char *name;
    char value [S_VALUE_MAX];
    bool set;
} s_var_t;

enum { V_TICKET, V_PARTNER, V_STAGE, V_NOTE, V_RESULT, V_CLOCK, V_APPOINTMENT, V_DUE, V_REASON, V_LINK,
       V_WO, V_PREVIOUS, V_REFUSALS, V_ROLE, V_STEP, V_TO, V_AMOUNT, V_TECHNICIAN, V_NOTICE, V_COUNT };

static void
s_var_str (s_var_t *v, const msgpack_object *body, const char *field)
{
    v->set = asp_mp_get_str (body, field, v->value, sizeof v->value) == 0 && *v->value;
}

static void
s_var_time (s_var_t *v, const msgpack_object *body, const char *field, const asp_calendar_t *zone)
{
    int64_t ms;
    if (asp_mp_get_int (body, field, &ms) || ms <= 0)
        return;
    if (zone) {
        //  The reader's own zone (asp_calendar: no libc time-zone state).
        asp_calendar_local (zone, ms, v->value, sizeof v->value);
        v->set = *v->value != 0;
        return;
    }
    time_t secs = (time_t) (ms / 1000);
    struct tm tm;
    if (!localtime_r (&secs, &tm))
        return;
    v->set = strftime (v->value, sizeof v->value, "%Y-%m-%d %H:%M", &tm) > 0;
}

//  Writes phrase into out with every {name} replaced by its value; an
//  unknown or unset placeholder stays as written (visible, never a crash).
static void
s_expand (FILE *out, const char *phrase, const s_var_t *vars)
{
    const char *p = phrase;
    while (*p) {
        const char *open = strchr (p, '{');
        const char *close = open? strchr (open, '}'): NULL;
        if (!close) {
            fputs (p, out);
            return;
        }
        fwrite (p, 1, (size_t) (open - p), out);
        size_t n = (size_t) (close - open - 1);
        const s_var_t *hit = NULL;
        for (int i = 0; i < V_COUNT; i++)
            if (vars [i].set && strlen (vars [i].name) == n && memcmp (vars [i].name, open + 1, n) == 0)
                hit = &vars [i];
        if (hit)
            fputs (hit->value, out);
        else
            fwrite (open, 1, n + 2, out);
        p = close + 1;
    }
}

//  The phrase key for this template and event, e.g. progress.on_site.
static const char *
s_choose (const notify_templates_t *t, const char *tpl, const s_var_t *vars, notify_lang_t lang, char *key, size_t keylen)
{
    const char *variant = NULL;
    //  A stage or result outside the vocabulary (a newer partner) gets the
    //  "other" phrase, which names it.
    if (strcmp (tpl, "progress") == 0) {
        int stage = asp_vocab_parse (&asp_vocab_stage, vars [V_STAGE].value);
        variant = stage < 0? "other": asp_vocab_name (&asp_vocab_stage, stage);
        if (stage == ASP_STAGE_SCHEDULED && !vars [V_APPOINTMENT].set)
            variant = "scheduled_open";
        if (stage == ASP_STAGE_NOTE && !vars [V_NOTE].set)
            variant = "other";
    }
    else
    if (strcmp (tpl, "completed") == 0) {
        int result = asp_vocab_parse (&asp_vocab_result, vars [V_RESULT].value);
        variant = result < 0? "other": asp_vocab_name (&asp_vocab_result, result);
    }
    else
    if ((strcmp (tpl, "received") == 0 || strcmp (tpl, "survey_request") == 0
         || strcmp (tpl, "survey_reminder") == 0) && vars [V_LINK].set)
        variant = "link";           //  the customer's own link to the ticket
    else
    if (strcmp (tpl, "appointment") == 0)
        variant = vars [V_PREVIOUS].set? "changed": "booked";
    else
    if (strcmp (tpl, "unroutable") == 0)
        variant = vars [V_REASON].value;
    else
    if (strcmp (tpl, "returned") == 0 && vars [V_NOTE].set)
        variant = "note";
    else
    if (strcmp (tpl, "sla_escalated") == 0 && !vars [V_TO].set)
        variant = "nobody";         //  no recipient named (an agent step of an unowned ticket)
    else
    if (strcmp (tpl, "strike") == 0)
        variant = vars [V_NOTICE].value;    //  feedback's word for it (partner.strike)
    if (!variant)
        snprintf (key, keylen, "%s", tpl);
    else {
        snprintf (key, keylen, "%.24s.%.32s", tpl, variant);
        if (!s_phrase (t, key, lang))
            snprintf (key, keylen, "%s.other", tpl);
        if (!s_phrase (t, key, lang))
            snprintf (key, keylen, "%s", tpl);
    }
    return s_phrase (t, key, lang);
}

char *
notify_text_subject (const notify_templates_t *t, notify_lang_t lang, const char *ticket)
{
    if (lang >= NOTIFY_LANG_COUNT)
        return NULL;
    s_var_t *vars = (s_var_t *) calloc (V_COUNT, sizeof (s_var_t));
    assert (vars);
    vars [V_TICKET].name = "ticket";
    snprintf (vars [V_TICKET].value, S_VALUE_MAX, "%s", ticket);
    vars [V_TICKET].set = true;
    for (int i = 1; i < V_COUNT; i++)
        vars [i].name = "";
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&text, &size);
    assert (out);
    s_expand (out, s_phrase (t, "subject", lang), vars);
    fclose (out);
    free (vars);
    return text;
}

char *
notify_text_render (const notify_templates_t *t, notify_lang_t lang, const char *tpl, const char *ticket,
                    const msgpack_object *body, const asp_calendar_t *zone, const char *link)
{
    if (lang >= NOTIFY_LANG_COUNT)
        return NULL;
    s_var_t *vars = (s_var_t *) calloc (V_COUNT, sizeof (s_var_t));
    assert (vars);
    for (int i = 0; i < V_COUNT; i++)
        vars [i].name = notify_text_vars [i];
    snprintf (vars [V_TICKET].value, S_VALUE_MAX, "%s", ticket);
    vars [V_TICKET].set = true;
    s_var_str (&vars [V_PARTNER], body, "partner_id");
    s_var_str (&vars [V_STAGE], body, "stage");
    s_var_str (&vars [V_NOTE], body, "note");
    s_var_str (&vars [V_RESULT], body, "result");
    s_var_str (&vars [V_CLOCK], body, "clock");
    s_var_time (&vars [V_APPOINTMENT], body, "appointment_ms", zone);
    s_var_time (&vars [V_DUE], body, "due_ms", zone);
    s_var_str (&vars [V_REASON], body, "reason");
    if (!link)
        s_var_str (&vars [V_LINK], body, "customer_link");
    else
    if (*link)
        vars [V_LINK].set = snprintf (vars [V_LINK].value, S_VALUE_MAX, "%s", link) > 0;
    s_var_str (&vars [V_WO], body, "wo_id");
    s_var_time (&vars [V_PREVIOUS], body, "previous_ms", zone);
    int64_t refusals;
    if (asp_mp_get_int (body, "refusals", &refusals) == 0)
        vars [V_REFUSALS].set = snprintf (vars [V_REFUSALS].value, S_VALUE_MAX, "%lld", (long long) refusals) > 0;
    int64_t step, amount;
    if (asp_mp_get_int (body, "step", &step) == 0)
        vars [V_STEP].set = snprintf (vars [V_STEP].value, S_VALUE_MAX, "%lld", (long long) step) > 0;
    else
        s_var_str (&vars [V_STEP], body, "step");       //  a strike's step: a word
    s_var_str (&vars [V_TECHNICIAN], body, "technician_id");
    s_var_str (&vars [V_NOTICE], body, "notice");
    //  Minor units (fen) in major units (yuan), two decimals; not negative
    //  (notify_events checked).
    if (asp_mp_get_int (body, "amount", &amount) == 0 && amount >= 0)
        vars [V_AMOUNT].set = snprintf (vars [V_AMOUNT].value, S_VALUE_MAX, "%lld.%02lld",
                                        (long long) (amount / 100), (long long) (amount % 100)) > 0;
    s_var_str (&vars [V_TO], body, "to");
    s_var_str (&vars [V_ROLE], body, "role");
    //  The clock's name in the reader's language (the raw value if new).
    char key [64];
    snprintf (key, sizeof key, "clock.%.48s", vars [V_CLOCK].value);
    const char *clock = s_phrase (t, key, lang);
    if (clock)
        snprintf (vars [V_CLOCK].value, S_VALUE_MAX, "%s", clock);
    //  The escalation's role in the reader's words.
    snprintf (key, sizeof key, "role.%.48s", vars [V_ROLE].value);
    const char *role = s_phrase (t, key, lang);
    if (role)
        snprintf (vars [V_ROLE].value, S_VALUE_MAX, "%s", role);

    //  A partner's reason for handing work back, in the reader's words.
    snprintf (key, sizeof key, "unable.%.48s", vars [V_REASON].value);
    const char *unable = strcmp (tpl, "returned") == 0? s_phrase (t, key, lang): NULL;
    char *text = NULL;
    const char *phrase = s_choose (t, tpl, vars, lang, key, sizeof key);
    if (phrase) {
        size_t size = 0;
        FILE *out = open_memstream (&text, &size);
        assert (out);
        if (unable)
            snprintf (vars [V_REASON].value, S_VALUE_MAX, "%s", unable);
        s_expand (out, phrase, vars);
        //  A progress step's remark follows its headline.
        if (strcmp (tpl, "progress") == 0 && vars [V_NOTE].set && strcmp (key, "progress.note") != 0) {
            fputs (lang == NOTIFY_LANG_EN? " ": "", out);
            s_expand (out, s_phrase (t, "progress.remark", lang), vars);
        }
        fclose (out);
    }
    free (vars);
    return text;
}

//  Builds a msgpack map from key/value string pairs (NULL-terminated; a
//  key ending in _ms, or starting with '#' (left out of the name), takes
//  its value as an integer) and renders it; for the self-test.
static notify_templates_t *s_test_t;     //  the built-in templates
static asp_calendar_t *s_test_zone;     //  NULL: TZ
static const char *s_test_link;         //  NULL: the body's customer_link

static char *
s_render_test (notify_lang_t lang, const char *tpl, int64_t time_ms, ...)
{
    asp_mpmap_t *map = asp_mpmap_new ();
    va_list ap;
    va_start (ap, time_ms);
    const char *k;
    while ((k = va_arg (ap, const char *)) != NULL) {
        const char *v = va_arg (ap, const char *);
        if (*k == '#')
            asp_mpmap_int (map, k + 1, strtoll (v, NULL, 10));
        else
        if (strlen (k) > 3 && strcmp (k + strlen (k) - 3, "_ms") == 0)
            asp_mpmap_int (map, k, strtoll (v, NULL, 10));
        else
            asp_mpmap_str (map, k, v);
    }
    va_end (ap);
    if (time_ms) {
        asp_mpmap_int (map, "appointment_ms", time_ms);
        asp_mpmap_int (map, "due_ms", time_ms);
    }
    char *data; size_t size;
    asp_mpmap_bytes (map, &data, &size);
    msgpack_unpacked u;
    msgpack_unpacked_init (&u);
    char err [100];
    int rc = asp_mp_unpack (&u, data, size, err, sizeof err);
    assert (rc == 0);
    char *text = notify_text_render (s_test_t, lang, tpl, "T42", &u.data, s_test_zone, s_test_link);
    msgpack_unpacked_destroy (&u);
    free (data);
    asp_mpmap_destroy (&map);
    return text;
}

void
notify_text_test (void)
{
    char why [300];
    s_test_t = notify_templates_load (NULL, why, sizeof why);
    assert (s_test_t);
    const notify_templates_t *tt = s_test_t;
    char *subject = notify_text_subject (tt, NOTIFY_LANG_EN, "T1");
    assert (subject && strcmp (subject, "Your service ticket T1") == 0);
    free (subject);
    subject = notify_text_subject (tt, NOTIFY_LANG_ZH, "T1");
    assert (subject && strcmp (subject, "您的服务单 T1") == 0);
    free (subject);
    //  Every stage and every result of the vocabulary has its own phrase
    //  in every language.
    for (int lang = 0; lang < NOTIFY_LANG_COUNT; lang++) {
        char key [64];
        for (int i = 0; i < asp_vocab_stage.count; i++) {
            snprintf (key, sizeof key, "progress.%s", asp_vocab_stage.names [i]);
            assert (s_phrase (tt, key, (notify_lang_t) lang));
        }
        for (int i = 0; i < asp_vocab_result.count; i++) {
            snprintf (key, sizeof key, "completed.%s", asp_vocab_result.names [i]);
            assert (s_phrase (tt, key, (notify_lang_t) lang));
        }
    }
    notify_lang_t lang;
    assert (notify_lang_parse ("zh-CN", &lang) == 0 && lang == NOTIFY_LANG_ZH);
    assert (notify_lang_parse ("en", &lang) == 0 && lang == NOTIFY_LANG_EN);
    assert (notify_lang_parse ("en-US", &lang) == 0 && lang == NOTIFY_LANG_EN);
    assert (notify_lang_parse ("fr", &lang) == -1);
    assert (strcmp (notify_lang_name (NOTIFY_LANG_ZH), "zh-CN") == 0);

    char *t = s_render_test (NOTIFY_LANG_ZH, "received", 0, NULL);
    assert (t && strcmp (t, "您的服务单 T42 已受理，我们将尽快为您安排服务。") == 0);
    free (t);
    //  With the customer's own link (intake's ASP_CUSTOMER_LINK).
    t = s_render_test (NOTIFY_LANG_EN, "received", 0, "customer_link", "https://s.example/t?ticket=T42&token=c1.x", NULL);
    assert (t && strstr (t, "Follow it here: https://s.example/t?ticket=T42&token=c1.x"));
    free (t);
    t = s_render_test (NOTIFY_LANG_EN, "partner_assigned", 0, "partner_id", "P7", NULL);
    assert (t && strstr (t, "ticket T42") && strstr (t, "center P7."));
    free (t);
    //  The survey asks through the link the contact keeps (given apart
    //  from the body); without one, the words alone. Other texts never
    //  carry it.
    t = s_render_test (NOTIFY_LANG_EN, "survey_request", 0, NULL);
    assert (t && strstr (t, "from 1 to 5.") && !strstr (t, "http"));
    free (t);
    s_test_link = "https://s.example/t?ticket=T42&token=c1.y";
    t = s_render_test (NOTIFY_LANG_EN, "survey_request", 0, NULL);
    assert (t && strstr (t, "here: https://s.example/t?ticket=T42&token=c1.y"));
    free (t);
    t = s_render_test (NOTIFY_LANG_ZH, "survey_reminder", 0, NULL);
    assert (t && strstr (t, "：https://s.example/t?ticket=T42&token=c1.y"));
    free (t);
    t = s_render_test (NOTIFY_LANG_EN, "partner_assigned", 0, "partner_id", "P7", NULL);
    assert (t && !strstr (t, "http"));
    free (t);
    s_test_link = NULL;
    //  2021-01-01 00:00 UTC; the exact local text depends on TZ.
    t = s_render_test (NOTIFY_LANG_EN, "progress", 1609459200000LL, "stage", "scheduled", NULL);
    assert (t && strstr (t, "scheduled for 202") && !strchr (t, '{'));
    free (t);
    t = s_render_test (NOTIFY_LANG_ZH, "progress", 0, "stage", "scheduled", NULL);
    assert (t && strstr (t, "确认时间"));
    free (t);
    t = s_render_test (NOTIFY_LANG_EN, "progress", 0, "stage", "on_site", "note", "bring a ladder", NULL);
    assert (t && strcmp (t, "The technician has arrived (ticket T42). Note: bring a ladder") == 0);
    free (t);
    t = s_render_test (NOTIFY_LANG_EN, "progress", 0, "stage", "note", "note", "parts ordered", NULL);
    assert (t && strcmp (t, "Update on your service ticket T42: parts ordered") == 0);
    free (t);
    t = s_render_test (NOTIFY_LANG_EN, "progress", 0, "stage", "teleported", NULL);
    assert (t && strstr (t, "(teleported)"));
    free (t);
    t = s_render_test (NOTIFY_LANG_ZH, "completed", 0, "result", "not_fixed", NULL);
    assert (t && strstr (t, "问题尚未解决"));
    free (t);
    t = s_render_test (NOTIFY_LANG_ZH, "sla_breached", 1609459200000LL, "clock", "resolution", NULL);
    assert (t && strstr (t, "的解决时限已于 202"));
    free (t);
    t = s_render_test (NOTIFY_LANG_EN, "sla_warning", 1609459200000LL, "clock", "return_visit", NULL);
    assert (t && strstr (t, "The return visit deadline"));
    free (t);
    //  Braces in a value are text, never expanded again.
    t = s_render_test (NOTIFY_LANG_EN, "progress", 0, "stage", "note", "note", "{ticket}", NULL);
    assert (t && strcmp (t, "Update on your service ticket T42: {ticket}") == 0);
    free (t);
    //  Appointments: booked, then moved (the earlier time named).
    t = s_render_test (NOTIFY_LANG_EN, "appointment", 1609459200000LL, NULL);
    assert (t && strstr (t, "is booked for 202") && !strchr (t, '{'));
    free (t);
    t = s_render_test (NOTIFY_LANG_ZH, "appointment", 1609459200000LL, "previous_ms", "1609455600000", NULL);
    assert (t && strstr (t, "上门时间已改为 202") && strstr (t, "（原定 202") && !strchr (t, '{'));
    free (t);
    //  In the customer's own zone: 2021-01-01 00:00 UTC is 08:00 in
    //  Shanghai and 19:00 the day before in New York.
    s_test_zone = asp_calendar_new_24x7 ("tz", "Asia/Shanghai", why, sizeof why);
    assert (s_test_zone);
    t = s_render_test (NOTIFY_LANG_EN, "appointment", 1609459200000LL, NULL);
    assert (t && strstr (t, "is booked for 2021-01-01 08:00."));
    free (t);
    asp_calendar_destroy (&s_test_zone);
    s_test_zone = asp_calendar_new_24x7 ("tz", "America/New_York", why, sizeof why);
    assert (s_test_zone);
    t = s_render_test (NOTIFY_LANG_EN, "appointment", 1609459200000LL, NULL);
    assert (t && strstr (t, "is booked for 2020-12-31 19:00."));
    free (t);
    asp_calendar_destroy (&s_test_zone);
    t = s_render_test (NOTIFY_LANG_ZH, "appointment_missed", 1609459200000LL, NULL);
    assert (t && strstr (t, "非常抱歉") && !strchr (t, '{'));
    free (t);
    t = s_render_test (NOTIFY_LANG_EN, "unroutable", 0, "reason", "no_eligible_partner", "wo_id", "WT42", NULL);
    assert (t && strcmp (t, "[Unroutable] No partner can take work order WT42 of ticket T42: dispatch it by hand.") == 0);
    free (t);
    t = s_render_test (NOTIFY_LANG_EN, "unroutable", 0, "reason", "martian", "wo_id", "WT42", NULL);
    assert (t && strstr (t, "(martian)"));
    free (t);
    //  The strike ladder: feedback's notice picks the phrase; the step is
    //  a word there (an escalation's is a number).
    t = s_render_test (NOTIFY_LANG_EN, "strike", 0, "notice", "removal", "partner_id", "P7",
                       "technician_id", "tech-7", "step", "removal", NULL);
    assert (t && strstr (t, "removes partner P7") && strstr (t, "technician tech-7"));
    free (t);
    t = s_render_test (NOTIFY_LANG_ZH, "strike", 0, "notice", "reinstated", "partner_id", "P7",
                       "reason", "误投诉", NULL);
    assert (t && strstr (t, "恢复派单") && strstr (t, "误投诉"));
    free (t);
    t = s_render_test (NOTIFY_LANG_ZH, "returned", 0, "reason", "no_parts", "wo_id", "WT42", "partner_id", "P7", NULL);
    assert (t && strstr (t, "服务网点 P7 退回") && strstr (t, "原因：缺少配件") && !strchr (t, '{'));
    free (t);
    t = s_render_test (NOTIFY_LANG_EN, "returned", 0, "reason", "unsafe", "wo_id", "WT42", "partner_id", "P7",
                       "note", "dog", NULL);
    assert (t && strstr (t, "(unsafe on site)") && strstr (t, "Note: dog"));
    free (t);
    //  Every reason a partner may give has words in every language.
    for (int lang = 0; lang < NOTIFY_LANG_COUNT; lang++)
        for (int i = 0; i < asp_vocab_unable_reason.count; i++) {
            char key [64];
            snprintf (key, sizeof key, "unable.%s", asp_vocab_unable_reason.names [i]);
            assert (s_phrase (tt, key, (notify_lang_t) lang));
        }
    //  Every clock and escalation role has words in every language.
    for (int lang = 0; lang < NOTIFY_LANG_COUNT; lang++) {
        char key [64];
        for (int i = 0; i < asp_vocab_clock.count; i++) {
            snprintf (key, sizeof key, "clock.%s", asp_vocab_clock.names [i]);
            assert (s_phrase (tt, key, (notify_lang_t) lang));
        }
        for (int i = 0; i < asp_vocab_sla_role.count; i++) {
            snprintf (key, sizeof key, "role.%s", asp_vocab_sla_role.names [i]);
            assert (s_phrase (tt, key, (notify_lang_t) lang));
        }
    }
    t = s_render_test (NOTIFY_LANG_EN, "sla_escalated", 0, "clock", "onsite_arrival", "role", "supervisor",
                       "to", "sup-duty@brand.example", "#step", "1", NULL);
    assert (t && strcmp (t, "[Escalation] The on-site visit deadline of ticket T42 was missed: escalated to the "
                            "supervisor (step 1): sup-duty@brand.example.") == 0);
    free (t);
    //  No recipient (an agent step of an unowned ticket): none named.
    t = s_render_test (NOTIFY_LANG_ZH, "sla_escalated", 0, "clock", "resolution", "role", "manager", "#step", "2", NULL);
    assert (t && strcmp (t, "【升级】服务单 T42 的解决时限已超时，已升级至服务经理（第 2 级）。") == 0);
    free (t);
    //  The amount in yuan, from fen.
    t = s_render_test (NOTIFY_LANG_ZH, "sla_compensation", 0, "clock", "onsite_arrival", "#amount", "3000", NULL);
    assert (t && strcmp (t, "非常抱歉，您的服务单 T42 的上门服务未能在我们承诺的时间内完成。"
                            "我们将为您补偿 30.00 元，以表歉意。") == 0);
    free (t);
    t = s_render_test (NOTIFY_LANG_EN, "sla_compensation", 0, "clock", "first_response", "#amount", "5", NULL);
    assert (t && strstr (t, "the first response for your service ticket T42") && strstr (t, "CNY 0.05 as"));
    free (t);
    assert (s_render_test (NOTIFY_LANG_EN, "no_such_template", 0, NULL) == NULL);
    notify_templates_destroy (&s_test_t);
    printf ("notify_text_test: ok\n");
}
