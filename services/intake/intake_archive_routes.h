/*  intake_archive_routes: the archive's routes of the HTTP API
    (docs/http-api.md, docs/openapi/archive.yaml).

    POST/GET/PATCH /v1/customers[/{id}], POST /v1/customers/{id}/merge,
    POST/GET/PATCH /v1/units[/{serial}] and GET /v1/lookup?phone=|serial=:
    the agent's first screen (the customer, their units, their past and
    open tickets) in three round trips.

    Every write follows intake_archive.h's order (a reference before what
    it points to) and is refused before it writes anything when the
    request is invalid or names what does not exist. Answers show phones
    whole to the staff who serve customers (agent, supervisor, admin: they
    call back; a lookup by phone already proves the caller knows it) and
    masked to ops and systems, as GET /v1/tickets/{id} does for everyone.  */
#ifndef INTAKE_ARCHIVE_ROUTES_H
#define INTAKE_ARCHIVE_ROUTES_H
#include "intake_http.h"

intake_route_fn intake_customers_create;
intake_route_fn intake_customers_get;
intake_route_fn intake_customers_patch;
intake_route_fn intake_customers_merge;
intake_route_fn intake_units_create;
intake_route_fn intake_units_get;
intake_route_fn intake_units_patch;
intake_route_fn intake_lookup;

void intake_archive_routes_test (void);
#endif
