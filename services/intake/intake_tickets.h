/*  intake_tickets: the ticket routes of the HTTP API (docs/http-api.md).

    POST /v1/tickets validates the request, mints the ticket id and
    commits the ticket, its first timeline entry and its ticket.created
    message in one script (create.lua): the ticket is in Redis (AOF) before
    201 is sent. GET reads the record (with its SLA clocks) and the
    timeline; the customer's
    survey answer goes to feedback as survey.submitted.                    */
#ifndef INTAKE_TICKETS_H
#define INTAKE_TICKETS_H
#include "intake_http.h"

intake_route_fn intake_tickets_create;
//  GET /v1/tickets/{id}: the record, and its SLA clocks (clocks: the
//  ticket's sla:t hash as asp_clocks_json shows it; a customer sees only
//  each clock's clock, state and due_ms), read in one round trip.
intake_route_fn intake_tickets_get;
//  GET /v1/tickets/{id}/clocks: {ticket_id, clocks}, the same clocks.
intake_route_fn intake_tickets_clocks;
intake_route_fn intake_tickets_timeline;
intake_route_fn intake_tickets_survey;

//  Validates a body as POST /v1/tickets ("ticket") or its survey
//  ("survey") does, without a server or Redis: 0 when accepted, else -1
//  and the 400's message in err. Safe on any len bytes (fuzzed).
int intake_tickets_check_body (const char *what, const char *body, size_t len, char *err, size_t errlen);

void intake_tickets_test (void);
#endif
