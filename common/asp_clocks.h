/*  asp_clocks: the field scheme of a ticket's SLA clock hash, and how a
    ticket shows its clocks.

    sla-timer owns the hash and writes it (services/sla-timer/sla_clocks.h
    says how its scripts use it); intake only reads it, once per ticket
    read (GET /v1/tickets/{id}, .../clocks). Both include this header: it
    is the one place that names the fields.

    Key, in the ticket's shard (asp_keys.h: "{s<n>}:" + name):
      sla:t:<ticket>    hash (ASP_CLOCKS_KEY, one %s: the ticket id)

    The ticket's facts, written at ticket.created (and kept by the events
    that change them), so that events which carry no ticket facts can
    still start a clock:
      price             the order's price, minor units (absent: unknown)
      region            the customer's region (the calendar's)
      owner             the ticket's first-contact owner (escalation step
                        "agent")
      kind              the ticket's type (asp_vocab_kind word)
      pol               the policy selected at creation (its name)
      wait_customer     "1" while the ticket waits for the customer
      wait_parts        "1" while the partner waits for parts
      done              "1" once the ticket ended (no clock starts)
      early             sla-timer's own: events parked until the
                        ticket's ticket.created (msgpack; not a clock)

    Per clock c (its asp_vocab_clock word; a clock never started has none
    of its fields), field "<c>" or "<c>:<suffix>":
      c                 state: an asp_vocab_clock_state word
      c:pol             the policy whose target it runs under
      c:bs              basis: an asp_vocab_basis word
      c:cal             the calendar's name
      c:tg              target, ms (in the basis's units; the grace for a
                        clock dated by its event: appointment_kept,
                        callback, return_visit)
      c:st              started, wall ms
      c:due             due, wall ms (moves on resume by the paused time,
                        in the basis)
      c:wn              warning, wall ms
      c:ph              the phases' wall times "w,d,e1,e2,..." (ms)
      c:nx              the next phase's index, or "r" (a re-arm pending)
      c:lv              level fired: 0 none, 1 warned, 2 breached, 2+k
                        escalation step k
      c:pm              pause mask: bit asp_pause_t set when the clock
                        pauses for that reason
      c:pa              paused at, wall ms (0: not paused)
      c:ps              paused in total, wall ms (pauses that ended)
      c:end             stopped, wall ms
      c:cmp             compensation owed, minor units
      c:apr             who must approve it: an asp_vocab_sla_role word
      c:cap             "1" when the compensation was capped
      c:gen             generation: how many times the clock (re)started
    Numbers are decimal strings. Names are short on purpose: Redis memory
    per pending clock is measured (issue 8).                               */
#ifndef ASP_CLOCKS_H
#define ASP_CLOCKS_H
#include "asp_vocab.h"
#include <cjson/cJSON.h>
#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ASP_CLOCKS_KEY          "sla:t:%s"

//  The ticket's facts.
#define ASP_CLOCKS_PRICE        "price"
#define ASP_CLOCKS_REGION       "region"
#define ASP_CLOCKS_OWNER        "owner"
#define ASP_CLOCKS_KIND         "kind"
#define ASP_CLOCKS_POLICY       "pol"
#define ASP_CLOCKS_WAIT_CUSTOMER "wait_customer"
#define ASP_CLOCKS_WAIT_PARTS   "wait_parts"

//  A clock's field suffixes (asp_clocks_field).
#define ASP_CF_STATE            ""
#define ASP_CF_POLICY           "pol"
#define ASP_CF_BASIS            "bs"
#define ASP_CF_CALENDAR         "cal"
#define ASP_CF_TARGET           "tg"
#define ASP_CF_STARTED          "st"
#define ASP_CF_DUE              "due"
#define ASP_CF_WARN             "wn"
#define ASP_CF_PHASES           "ph"
#define ASP_CF_NEXT             "nx"
#define ASP_CF_LEVEL            "lv"
#define ASP_CF_PAUSE_MASK       "pm"
#define ASP_CF_PAUSED_AT        "pa"
#define ASP_CF_PAUSED_TOTAL     "ps"
#define ASP_CF_END              "end"
#define ASP_CF_COMPENSATION     "cmp"
#define ASP_CF_APPROVER         "apr"
#define ASP_CF_CAPPED           "cap"
#define ASP_CF_GEN              "gen"

//  Longest field name: the longest clock word, ':', the longest suffix.
#define ASP_CLOCKS_FIELD_MAX    40

//  Writes clock's field with suffix (ASP_CF_*; "" or NULL: the state
//  field) into out and returns out: asp_clocks_field (f, ASP_CLOCK_RESOLUTION,
//  ASP_CF_DUE) is "resolution:due".
const char *asp_clocks_field (char out [ASP_CLOCKS_FIELD_MAX], asp_clock_t clock, const char *suffix);
//  The clock a field belongs to and its suffix ("" for the state field):
//  0, or -1 for a ticket fact or a name outside the scheme.
int asp_clocks_field_parse (const char *field, asp_clock_t *clock, const char **suffix);

//  One clock as the hash holds it. Numbers are -1 when absent or
//  malformed; strings NULL when absent (they point into the reply).
typedef struct {
    bool started;                   //  its state field holds a state word
    asp_clock_state_t state;
    const char *policy, *calendar;
    int basis;                      //  asp_basis_t, or -1
    int approver;                   //  asp_sla_role_t, or -1
    int64_t target_ms, started_ms, due_ms, warn_ms, level, pause_mask;
    int64_t paused_at_ms, paused_total_ms, end_ms, compensation, capped, gen;
} asp_clock_view_t;

//  Reads every clock of an HGETALL reply of sla:t:<ticket> into views
//  (indexed by asp_clock_t). Any reply is safe: NULL, an error, an odd
//  count, non-string elements, garbage values (read as absent). Returns
//  how many clocks were started.
int asp_clocks_parse (const redisReply *hgetall, asp_clock_view_t views [ASP_CLOCK_COUNT]);

//  The ticket's clocks as the API shows them (docs/http-api.md, "SLA
//  clocks"): an array, in the vocabulary's order, of the clocks that
//  started, each {clock, state, policy?, basis?, calendar?, target_ms?,
//  started_ms?, due_ms?, warn_ms?, elapsed_ms? (wall time it ran: until
//  now or its stop, less its pauses), remaining_ms? (due - now, or due -
//  paused_at while paused; negative when overdue; absent once stopped),
//  paused_ms, paused, level, escalation_step, breached, stopped_ms?,
//  compensation? {amount, approver?, capped}}; now_ms is the time to
//  measure against. Never NULL (an empty array for a missing or garbage
//  reply); the caller owns it.
cJSON *asp_clocks_json (const redisReply *hgetall, int64_t now_ms);

void asp_clocks_test (void);
#endif
