#include "notify_templates.h"
#include "asp_json.h"
#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const char asp_lua_templates_zh_CN [];
extern const char asp_lua_templates_en [];

//  Every key the code asks for (notify_text), in the files' order.
static const char *const s_keys [] = {
    "subject",
    "received",
    "received.link",
    "partner_assigned",
    "progress.scheduled",
    "progress.scheduled_open",
    "progress.on_the_way",
    "progress.on_site",
    "progress.waiting_parts",
    "progress.note",
    "progress.other",
    "progress.remark",
    "completed.fixed",
    "completed.installed",
    "completed.not_fixed",
    "completed.other",
    "survey_request",
    "survey_request.link",
    "survey_reminder",
    "survey_reminder.link",
    "closed",
    "cancelled",
    "redispatched",
    "appointment.booked",
    "appointment.changed",
    "appointment_missed",
    "unroutable.no_eligible_partner",
    "unroutable.refusals_exceeded",
    "unroutable.other",
    "returned",
    "returned.note",
    "strike.warning",
    "strike.penalty",
    "strike.removal",
    "strike.withdrawn",
    "strike.upheld",
    "strike.overturned",
    "strike.reinstated",
    "quality_warning",
    "unable.no_skill",
    "unable.no_parts",
    "unable.out_of_area",
    "unable.customer_refused",
    "unable.unsafe",
    "unable.other",
    "unable.partner_removed",
    "sla_warning",
    "sla_breached",
    "sla_escalated",
    "sla_escalated.nobody",
    "sla_compensation",
    "recovery_resolved",
    "role.agent",
    "role.supervisor",
    "role.manager",
    "clock.first_response",
    "clock.partner_acceptance",
    "clock.appointment_made",
    "clock.onsite_arrival",
    "clock.appointment_kept",
    "clock.resolution",
    "clock.callback",
    "clock.complaint_answer",
    "clock.complaint_resolved",
    "clock.return_visit",
    "clock.response",
    NULL
};
#define S_NKEYS (sizeof s_keys / sizeof s_keys [0] - 1)

struct notify_templates_t {
    char *text [NOTIFY_LANG_COUNT][S_NKEYS];    //  owned
};

static int
s_key_index (const char *key, size_t len)
{
    for (size_t i = 0; i < S_NKEYS; i++)
        if (strlen (s_keys [i]) == len && memcmp (s_keys [i], key, len) == 0)
            return (int) i;
    return -1;
}

//  0 when every {name} of text is a variable, else -1 and why.
static int
s_check_vars (const char *text, char *why, size_t whylen)
{
    for (const char *p = text; (p = strchr (p, '{'));) {
        const char *close = strchr (p, '}');
        const char *reopen = strchr (p + 1, '{');
        if (!close || (reopen && reopen < close)) {
            snprintf (why, whylen, "a '{' without its '}'");
            return -1;
        }
        size_t n = (size_t) (close - p - 1);
        bool known = false;
        for (int i = 0; notify_text_vars [i]; i++)
            known = known || (strlen (notify_text_vars [i]) == n && memcmp (notify_text_vars [i], p + 1, n) == 0);
        if (!known) {
            snprintf (why, whylen, "unknown variable {%.*s}", (int) (n < 40? n: 40), p + 1);
            return -1;
        }
        p = close + 1;
    }
    return 0;
}

//  Parses one language's text into self->text [lang]. 0, or -1 with
//  "<name>:<line>: why".
static int
s_parse_one (notify_templates_t *self, notify_lang_t lang, const char *name, const char *text,
             char *why, size_t whylen)
{
    char reason [160] = "";
    int lineno = 0, bad = 0;
    size_t lead;
    char *copy;
    while (!bad && (copy = notify_conf_line (&text, &lineno, &lead))) {
        size_t len = strlen (copy);
        char *eq = strstr (copy, " = ");
        int key = -1;
        if (!asp_utf8_valid (copy, len))
            snprintf (reason, sizeof reason, "not UTF-8 text");
        else
        if (!eq || lead)
            snprintf (reason, sizeof reason, "a line must be '<key> = <text>'");
        else
        if ((key = s_key_index (copy, (size_t) (eq - copy))) < 0)
            snprintf (reason, sizeof reason, "unknown template '%.*s'", (int) ((eq - copy) < 60? (eq - copy): 60), copy);
        else
        if (self->text [lang][key])
            snprintf (reason, sizeof reason, "template '%s' given twice", s_keys [key]);
        else {
            const char *value = eq + 3;
            value += strspn (value, " \t");
            if (!*value)
                snprintf (reason, sizeof reason, "template '%s' is empty", s_keys [key]);
            else
            if (s_check_vars (value, reason, sizeof reason) == 0) {
                self->text [lang][key] = strdup (value);
                assert (self->text [lang][key]);
            }
        }
        free (copy);
        bad = *reason != 0;
    }
    for (size_t k = 0; !bad && k < S_NKEYS; k++)
        if (!self->text [lang][k]) {
            snprintf (reason, sizeof reason, "template '%s' is missing", s_keys [k]);
            lineno++;               //  the line after the last
            bad = 1;
        }
    if (bad)
        snprintf (why, whylen, "%s:%d: %s", name, lineno, reason);
    return bad? -1: 0;
}

notify_templates_t *
notify_templates_parse (const char *const names [NOTIFY_LANG_COUNT], const char *const texts [NOTIFY_LANG_COUNT],
                        char *why, size_t whylen)
{
    notify_templates_t *self = (notify_templates_t *) calloc (1, sizeof *self);
    assert (self);
    for (int lang = 0; lang < NOTIFY_LANG_COUNT; lang++)
        if (s_parse_one (self, (notify_lang_t) lang, names [lang], texts [lang], why, whylen)) {
            notify_templates_destroy (&self);
            break;
        }
    return self;
}

char *
notify_conf_line (const char **text, int *lineno, size_t *lead)
{
    while (**text) {
        const char *line = *text;
        (*lineno)++;
        const char *end = strchr (line, '\n');
        size_t len = end? (size_t) (end - line): strlen (line);
        *text = end? end + 1: line + len;
        while (len && line [len - 1] == '\r')
            len--;
        *lead = strspn (line, " \t");
        if (*lead >= len || line [*lead] == '#' || line [*lead] == ';')
            continue;               //  blank or a comment
        char *copy = (char *) malloc (len + 1);
        assert (copy);
        memcpy (copy, line, len);
        copy [len] = 0;
        return copy;
    }
    return NULL;
}

bool
notify_templates_known (const char *tpl)
{
    //  A template is a key, or the stem of its variants ("progress" for
    //  "progress.on_site"); the shared phrases are not templates.
    size_t len = strlen (tpl);
    if (!len || strncmp (tpl, "role", 4) == 0 || strncmp (tpl, "clock", 5) == 0
    ||  strncmp (tpl, "unable", 6) == 0 || strcmp (tpl, "subject") == 0 || strchr (tpl, '.'))
        return false;
    for (size_t i = 0; i < S_NKEYS; i++)
        if (strncmp (s_keys [i], tpl, len) == 0 && (s_keys [i][len] == 0 || s_keys [i][len] == '.'))
            return true;
    return false;
}

void
notify_templates_path (const char *dir, notify_lang_t lang, char *out, size_t outlen)
{
    snprintf (out, outlen, "%s/%s.conf", dir? dir: "<built-in>", notify_lang_name (lang));
}

char *
notify_conf_read (const char *path, char *why, size_t whylen)
{
    FILE *f = fopen (path, "rb");
    if (!f) {
        snprintf (why, whylen, "%s:0: cannot read: %s", path, strerror (errno));
        return NULL;
    }
    char *text = NULL;
    size_t size = 0, len = 0;
    int c;
    while ((c = fgetc (f)) != EOF && len < 1024 * 1024) {
        if (len + 1 >= size) {
            size = size? size * 2: 4096;
            text = (char *) realloc (text, size);
            assert (text);
        }
        text [len++] = (char) c;
    }
    bool big = c != EOF;
    fclose (f);
    if (!text)
        text = strdup ("");
    else
        text [len] = 0;
    if (big || strlen (text) != len) {
        snprintf (why, whylen, "%s:0: %s", path, big? "larger than 1 MiB": "holds a NUL byte");
        free (text);
        return NULL;
    }
    return text;
}

notify_templates_t *
notify_templates_load (const char *dir, char *why, size_t whylen)
{
    char names [NOTIFY_LANG_COUNT][600];
    char *texts [NOTIFY_LANG_COUNT] = { NULL };
    bool ok = true;
    for (int lang = 0; lang < NOTIFY_LANG_COUNT; lang++) {
        notify_templates_path (dir, (notify_lang_t) lang, names [lang], sizeof names [lang]);
        if (!dir)
            texts [lang] = strdup (lang == NOTIFY_LANG_EN? asp_lua_templates_en: asp_lua_templates_zh_CN);
        else
        if (ok && !(texts [lang] = notify_conf_read (names [lang], why, whylen)))
            ok = false;
    }
    const char *n [NOTIFY_LANG_COUNT], *t [NOTIFY_LANG_COUNT];
    for (int lang = 0; lang < NOTIFY_LANG_COUNT; lang++) {
        n [lang] = names [lang];
        t [lang] = texts [lang];
    }
    notify_templates_t *self = ok? notify_templates_parse (n, t, why, whylen): NULL;
    for (int lang = 0; lang < NOTIFY_LANG_COUNT; lang++)
        free (texts [lang]);
    return self;
}

void
notify_templates_destroy (notify_templates_t **self_p)
{
    notify_templates_t *self = *self_p;
    if (!self)
        return;
    for (int lang = 0; lang < NOTIFY_LANG_COUNT; lang++)
        for (size_t k = 0; k < S_NKEYS; k++)
            free (self->text [lang][k]);
    free (self);
    *self_p = NULL;
}

const char *
notify_templates_get (const notify_templates_t *self, notify_lang_t lang, const char *key)
{
    int k = lang < NOTIFY_LANG_COUNT? s_key_index (key, strlen (key)): -1;
    return k < 0? NULL: self->text [lang][k];
}

//  Parses text as en (zh-CN the built-in one); the reason, or "" when taken.
static const char *
s_test_en (const char *text)
{
    static char why [300];
    const char *names [] = { "zh.conf", "en.conf" };
    const char *texts [] = { asp_lua_templates_zh_CN, text };
    *why = 0;
    notify_templates_t *t = notify_templates_parse (names, texts, why, sizeof why);
    assert (!t == !!*why);
    notify_templates_destroy (&t);
    return why;
}

void
notify_templates_test (void)
{
    char why [300];
    notify_templates_t *t = notify_templates_load (NULL, why, sizeof why);
    assert (t);
    assert (strcmp (notify_templates_get (t, NOTIFY_LANG_EN, "subject"), "Your service ticket {ticket}") == 0);
    assert (notify_templates_get (t, NOTIFY_LANG_ZH, "clock.resolution"));
    assert (!notify_templates_get (t, NOTIFY_LANG_EN, "nonsense"));
    notify_templates_destroy (&t);
    //  The deploy folder is the compiled-in copy.
    t = notify_templates_load (ASP_SOURCE_DIR "/deploy/notify/templates", why, sizeof why);
    assert (t);
    notify_templates_destroy (&t);
    assert (*s_test_en (asp_lua_templates_en) == 0);

    //  Every refusal names the file and the line.
    char *text = (char *) malloc (strlen (asp_lua_templates_en) + 200);
    assert (text);
    sprintf (text, "%s\nsubject = again {ticket}\n", asp_lua_templates_en);
    assert (strstr (s_test_en (text), "given twice") && strstr (s_test_en (text), "en.conf:"));
    sprintf (text, "%s\nsurvey_link = {link}\n", asp_lua_templates_en);
    assert (strstr (s_test_en (text), "unknown template 'survey_link'"));
    sprintf (text, "# x\nreceived = Ticket {tickt} received\n%s", asp_lua_templates_en);
    assert (strcmp (s_test_en (text), "en.conf:2: unknown variable {tickt}") == 0);
    sprintf (text, "received = Ticket {ticket received\n%s", asp_lua_templates_en);
    assert (strcmp (s_test_en (text), "en.conf:1: a '{' without its '}'") == 0);
    sprintf (text, "\n\nreceived: Ticket {ticket}\n%s", asp_lua_templates_en);
    assert (strcmp (s_test_en (text), "en.conf:3: a line must be '<key> = <text>'") == 0);
    sprintf (text, "received =  \n%s", asp_lua_templates_en);
    assert (strstr (s_test_en (text), "en.conf:1: a line must be") || strstr (s_test_en (text), "is empty"));
    assert (strstr (s_test_en ("subject = {ticket}\n"), "en.conf:2: template 'received' is missing"));
    assert (strstr (s_test_en ("\xff = x\n"), "en.conf:1: not UTF-8"));
    free (text);
    assert (!notify_templates_load ("/nonexistent", why, sizeof why));
    assert (strncmp (why, "/nonexistent/zh-CN.conf:0: cannot read", 38) == 0);
    printf ("notify_templates_test: ok\n");
}
