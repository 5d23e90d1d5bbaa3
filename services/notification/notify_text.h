/*  notify_text: every notification's words, in zh-CN and en, rendered
    from the templates (notify_templates: files, not C).

    A notification's text is rendered once, when it is recorded, from the
    template name and the event body, so every delivery attempt (and every
    redelivery after a crash) sends the same words. Placeholders such as
    {ticket} are filled from the body; times are shown in the customer's
    time zone when known, else in local time (TZ).
    The body was validated by notify_events before it gets here.            */
#ifndef NOTIFY_TEXT_H
#define NOTIFY_TEXT_H
#include "asp_calendar.h"
#include <msgpack.h>

typedef enum { NOTIFY_LANG_ZH = 0, NOTIFY_LANG_EN, NOTIFY_LANG_COUNT } notify_lang_t;
typedef struct notify_templates_t notify_templates_t;

//  The variables a template may name ({ticket}, ...), NULL-terminated.
extern const char *const notify_text_vars [];

//  "zh-CN" or "en" (also "zh", "en-US"...). 0, or -1 when unsupported.
int notify_lang_parse (const char *name, notify_lang_t *lang);
//  The canonical name: "zh-CN" or "en".
const char *notify_lang_name (notify_lang_t lang);

//  Renders template tpl (received, partner_assigned, progress, completed,
//  survey_request, closed, cancelled, redispatched, appointment,
//  appointment_missed, unroutable, returned, strike, sla_warning,
//  sla_breached, sla_escalated, sla_compensation)
//  for ticket from the
//  event body. Returns a new string the caller frees, or NULL when the
//  template is unknown.
//  Times in zone's local time (a 24x7 asp_calendar of the customer's
//  zone), or the process's (TZ) when zone is NULL. link: the customer's
//  own link to the ticket (its self-service page and survey), NULL for
//  the body's customer_link, "" for none; the received and survey texts
//  carry it.
char *notify_text_render (const notify_templates_t *t, notify_lang_t lang, const char *tpl,
                          const char *ticket, const msgpack_object *body, const asp_calendar_t *zone,
                          const char *link);

//  An e-mail's subject for ticket: a new string the caller frees (NULL
//  for an unknown language).
char *notify_text_subject (const notify_templates_t *t, notify_lang_t lang, const char *ticket);

void notify_text_test (void);
#endif
