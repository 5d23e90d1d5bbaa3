/*  notify_events: from bus events to recorded, queued notifications.

    One handler per event type that asp_events routes to notification. It
    checks the body (a missing or mistyped field is a NAK with the reason,
    nothing changes), asks the rules (notify_rules: the rules file) whom
    the event tells, resolves each recipient (the customer; the ticket's
    owner, the names an escalation's `to` carries and staff:<name> through
    the rules' directory; duty, ops and partner without an address),
    renders each one's text and e-mail subject in every language from the
    templates, and prepares one Lua step (record.lua) that, once per
    message id (the inbox), records every notification, remembers or looks
    up the customer's contact, and queues each for the workers, schedules
    it (quiet hours, business hours: the retry set) or records it
    deduplicated: one atomic step in the ticket's shard, one round trip
    (plus one HMGET of the contact first when a rule needs the customer's
    zone or the owner and the event does not carry them).

    A notification id is derived from the source message id, the template
    and the recipient ("N" + 24 hex digits of SHA-1; customer, duty and ops
    without the recipient, as before the rules), so an event delivered
    twice can never make two notifications, even after the inbox forgot it.

    ticket.created remembers the customer's name, phone, e-mail, preferred
    channel, language, time zone and the owning agent for the ticket
    (ASP_NOTIFY_CONTACT_TTL_S, 90 days); ticket.owner_changed updates the
    owner (owner.lua). Later customer notifications take the contact from
    there, or go out without contact ("to": null) when unknown. Each is
    recorded with its channel (the rule's; "preferred": the recipient's
    own when configured here, else the default: logged and counted) and
    address, in the recipient's language (the process's, ASP_NOTIFY_LANG,
    when none), its times in the customer's time zone (TZ when none) or
    the staff member's calendar's.

    notification.replay {id, by} (ops, through intake's API) is a command,
    not a message to send: replay.lua, once per message id, moves a dead
    letter back to pending with its attempts reset (docs/notifications.md,
    section 6); one that is not dead any more is stale and left alone.

    Bounded: when ASP_NOTIFY_MAX_QUEUE (1000000) notifications already wait
    (pending + retry), the step fails without writing anything; the event
    is not acknowledged and its producer's outbox sends it again later, so
    a long webhook outage holds events upstream instead of growing here.  */
#ifndef NOTIFY_EVENTS_H
#define NOTIFY_EVENTS_H
#include "asp_svc.h"
#include "notify_channel.h"
#include "notify_rules.h"
#include "sla_policy.h"
#include "notify_templates.h"
#include "notify_text.h"
#include "notify_worker.h"

typedef struct notify_events_t notify_events_t;

//  Registers every handler on svc (call before asp_svc_run). queued is
//  counted and bell (may be NULL) rung for each notification recorded;
//  both are borrowed.
//  config (borrowed, outlives it) names the configured channels and the
//  default; fallback is counted for each customer notification whose
//  preferred channel is not configured here.
//  templates (borrowed) give the words, until notify_events_set_templates
//  names others (a reload).
//  rules (borrowed) say who hears of each event, until
//  notify_events_set_rules names others (a reload).
notify_events_t *notify_events_new (asp_svc_t *svc, notify_lang_t lang, const notify_config_t *config,
                                    const notify_templates_t *templates, const notify_rules_t *rules,
                                    asp_counter_t *queued, asp_counter_t *fallback, notify_bell_t *bell);
void notify_events_set_templates (notify_events_t *self, const notify_templates_t *templates);
void notify_events_set_rules (notify_events_t *self, const notify_rules_t *rules);
//  sla (borrowed, may be NULL) names a region's supervisor and manager
//  (sla-timer's policy file) for the rules' supervisor and manager
//  recipients of events that carry no `to`.
void notify_events_set_sla (notify_events_t *self, const sla_policy_watch_t *sla);
void notify_events_destroy (notify_events_t **self_p);

//  Writes the notification id for (source message id, template, recipient)
//  into out (ASP_ID_MAX bytes); rcpt NULL for customer, duty and ops, whose
//  ids stay what they were before the rules (notify_rcpt_plain).
void notify_id (const char *source_id, const char *tpl, const char *rcpt, char *out);

void notify_events_test (void);
#endif
