/*  notify_rules: who hears of which event, how, and when (the rules file).

    ASP_NOTIFY_RULES names the file (deploy/notify/rules.conf is compiled
    in as the default). docs/notifications.md, section "Rules", is the
    reference; in short:

        [settings]
        dedup = 10m                     ; default de-duplication window (0: off)
        quiet = sms 21:00-08:00         ; customers: no SMS then (their zone)
        rate = sms 5/1h                 ; per recipient and channel: N per window

        [event sla.breached]
        notify = duty sla_breached default
        notify = owner sla_breached preferred business_hours dedup=30m

        [calendar office]               ; staff business hours (asp_calendar)
        zone = Asia/Shanghai
        hours = mon-fri 09:00-18:00

        [staff li.lei]                  ; the directory: a person ...
        email = li.lei@brand.example
        channel = email
        lang = zh-CN
        calendar = office

        [group duty-supervisors]        ; ... or a group of them
        members = li.lei, han.meimei

    A rule is "<recipient> <template> <channel> [flags]": recipient one of
    customer, owner (the ticket's owning agent), supervisor / manager (an
    SLA escalation's `to` at that role), escalation (its `to` whatever the
    role), duty (today's staff audience, no address), ops, partner, or
    staff:<name> (a directory entry or group); channel a channel word,
    "preferred" (the recipient's own) or "default" (the process's);
    flags urgent, business_hours, dedup=<duration>.

    Strict like the templates: any error refuses the whole file with
    "<file>:<line>: <why>". An event without a section keeps no
    notification at all (the shipped file names every event).

    Immutable once parsed: the service loop reads it, a reload makes a new
    one. Owns its calendars and directory.                                 */
#ifndef NOTIFY_RULES_H
#define NOTIFY_RULES_H
#include "asp_calendar.h"
#include "asp_vocab.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    NOTIFY_RCPT_CUSTOMER = 0,
    NOTIFY_RCPT_OWNER,
    NOTIFY_RCPT_SUPERVISOR,
    NOTIFY_RCPT_MANAGER,
    NOTIFY_RCPT_ESCALATION,
    NOTIFY_RCPT_DUTY,
    NOTIFY_RCPT_OPS,
    NOTIFY_RCPT_PARTNER,
    NOTIFY_RCPT_STAFF,
    NOTIFY_RCPT_KINDS
} notify_rcpt_kind_t;

#define NOTIFY_CH_PREFERRED  -1     //  the recipient's own channel
#define NOTIFY_CH_DEFAULT    -2     //  the process default
#define NOTIFY_NAME_MAX      64
#define NOTIFY_RULES_MAX     8      //  recipients per event at most

typedef struct {
    notify_rcpt_kind_t kind;
    char name [NOTIFY_NAME_MAX];    //  staff:<name>: the directory entry
    char tpl [32];
    int channel;                    //  asp_notify_channel_t, or NOTIFY_CH_*
    bool urgent;                    //  passes quiet hours and rate limits
    bool business_hours;            //  waits for the staff calendar's opening
    int64_t dedup_ms;               //  0: never de-duplicated
} notify_rule_t;

//  A directory entry (a person; a group is expanded to these).
typedef struct {
    char name [NOTIFY_NAME_MAX];
    char email [256], phone [64], hook [256];   //  "" when none
    int channel;                    //  preferred, or -1: the first address given
    char lang [16];                 //  "" the process default
    const asp_calendar_t *calendar; //  NULL: always open; owned by the rules
} notify_staff_t;

typedef struct notify_rules_t notify_rules_t;

//  Parses text (name for the messages). NULL and "<name>:<line>: <why>".
notify_rules_t *notify_rules_parse (const char *name, const char *text, char *why, size_t whylen);
//  Reads path (NULL: the compiled-in copy of deploy/notify/rules.conf).
notify_rules_t *notify_rules_load (const char *path, char *why, size_t whylen);
void notify_rules_destroy (notify_rules_t **self_p);

//  The rules of event type: *count of them (0: nobody hears of it).
const notify_rule_t *notify_rules_of (const notify_rules_t *self, const char *type, size_t *count);
//  The people name stands for: one entry, a group's members (up to max),
//  or none (0) when the directory does not know it.
size_t notify_rules_staff (const notify_rules_t *self, const char *name, const notify_staff_t **out,
                           size_t max);
//  Quiet hours of channel for customers as minutes after local midnight;
//  false when the channel has none.
bool notify_rules_quiet (const notify_rules_t *self, asp_notify_channel_t channel, int *from_min,
                         int *to_min);
//  The rate limit of channel: at most *max per *window_ms (false: none).
bool notify_rules_rate (const notify_rules_t *self, asp_notify_channel_t channel, int64_t *max,
                        int64_t *window_ms);
//  True for the recipients whose notification id is made from the source
//  message and the template alone, as before the rules (customer, duty,
//  ops); the others' ids also name the recipient.
bool notify_rcpt_plain (notify_rcpt_kind_t kind);
//  "customer", "owner", ... for logs and the recipient field.
const char *notify_rcpt_name (notify_rcpt_kind_t kind);

void notify_rules_test (void);
#endif
