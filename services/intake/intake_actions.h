/*  intake_actions: the staff operations on a ticket (docs/http-api.md,
    "Staff actions").

    Each action is one route and one script (note, wait, update, cancel,
    close, redispatch, respond .lua): the guard (the ticket's status, who may act,
    nothing changed since it was read), the change, the timeline entry
    naming who acted and when, and the events other services need, in one
    atomic step. Status changes go through ticket.lua's set_status.

    A handler reads the ticket first (one round trip) for what its events
    carry (the current work order, the fields routing needs for a new
    one) and passes the work order generation it read; the script refuses
    with ticket_changed when another action started a new generation in
    between, so nothing is decided on a stale read. A refusal changes
    nothing and answers a stable code: 404 not_found, 403 not_owner (an
    agent acts on cancel, close and re-dispatch only for tickets they
    own), 409 for an action the ticket's status does not allow.

    Work order generations: a ticket's first work order is W<ticket id>;
    reopen and re-dispatch start generation n >= 2, W<ticket id>.<n>, and
    publish ticket.redispatched; events about any other work order than
    the current one stay on the timeline without moving the ticket.

    Configuration: ASP_REOPEN_DAYS (30): how long after closing a ticket
    may be reopened for the same fault.                                    */
#ifndef INTAKE_ACTIONS_H
#define INTAKE_ACTIONS_H
#include "intake_http.h"

//  Reads the configuration into api (exits 2 on a bad value).
void intake_actions_init (intake_api_t *api);

intake_route_fn intake_actions_note;
intake_route_fn intake_actions_waiting;
intake_route_fn intake_actions_resume;
intake_route_fn intake_actions_update;
intake_route_fn intake_actions_owner;
intake_route_fn intake_actions_cancel;
intake_route_fn intake_actions_close;
intake_route_fn intake_actions_reopen;
intake_route_fn intake_actions_redispatch;
//  POST /v1/tickets/{id}/respond {message, promise_ms?}: staff answered
//  the customer (an agent on their own tickets, a lead on any): the
//  ticket's responded_ms and promise_ms, a timeline entry, and
//  ticket.responded {message (its first 200 bytes), promise_ms?} for
//  sla-timer. promise_ms: a call-back promised, a future time at most 90
//  days ahead. 409 for a closed or cancelled ticket.
intake_route_fn intake_actions_respond;
//  POST /v1/tickets/{id}/dispatch {partner_id, note?}: a supervisor sends
//  the ticket's current work order to the partner they name
//  (ticket.override; routing offers it there). 202, or 409
//  no_open_work_order when the ticket has no open field work order.
intake_route_fn intake_actions_override;

//  Reopens ticket id for caller because the customer reported its fault
//  again (the ticket creation's automatic reopen), as POST .../reopen with
//  reason would. 0 reopened; 1 refused (not closed, out of the window,
//  changed meanwhile: the caller decides again); -1 Redis unavailable.
int intake_actions_reopen_for (intake_api_t *api, const intake_caller_t *caller, const char *id,
                               const char *reason);

void intake_actions_test (void);
#endif
