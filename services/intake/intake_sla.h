/*  intake_sla: what a ticket shows of sla-timer's events.

    sla-timer tells intake about the ticket's clocks with events
    (common/asp_events.h); intake_events applies each to the ticket in one
    script (event.lua), a timeline entry each (data: the event's body):
      sla.warning, sla.breached
                        sla_alert: the ticket is at risk until it closes
                        (search's at_risk); the entry names the ticket's
                        owner (data.owner)
      sla.escalated     a step of a breached clock's ladder {clock, level,
                        step, role, to, due_ms?, policy?, basis?}: at risk
                        too, the entry names the owner
      sla.compensation  {clock, amount (minor units), rule, approver,
                        capped, late_ms?, price?, policy?, basis?}: the
                        ticket shows compensation {amount, approver,
                        capped, clock, rule} (the latest by the event's
                        time, when several clocks owe one) and
                        compensation_ms
    A body of the last two that does not fit (a missing or mistyped
    field, a word outside its vocabulary) is refused with the reason (NAK)
    and changes nothing. The first two are taken as they come (older
    engines sent other clock names).                                     */
#ifndef INTAKE_SLA_H
#define INTAKE_SLA_H
#include "asp_envelope.h"
#include "asp_mp.h"
#include <cjson/cJSON.h>
#include <stdbool.h>

//  True for the sla.* events intake applies.
bool intake_sla_is (const char *type);
//  Checks env (an sla.* event routed to intake) and adds to the script's
//  arguments a what it changes (event.lua: view, name_owner,
//  compensation); *alert is set when the ticket is at risk from now on.
//  0, or -1 with the reason (refuse it).
int intake_sla_event (const asp_envelope_t *env, asp_mpmap_t *a, bool *alert, char *reason, size_t reason_len);

void intake_sla_test (void);
#endif
