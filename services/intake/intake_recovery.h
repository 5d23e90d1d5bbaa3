/*  intake_recovery: service-recovery records (docs/http-api.md, "Service
    recovery"): what failed on a ticket, why, what staff did about it, what
    the customer got, and whether and how fast it was put right (TARP:
    customers whose complaint is resolved quickly come back most).

    A ticket may have several records. Each is one JSON document in the
    ticket's shard, t:<ticket>:rc (hash: record id -> record), and one
    member "<ticket>|<record id>" of the shard's ix:recovery (zset scored
    by opened_ms), which GET /v1/recovery walks: the ASP_SHARDS sets read
    newest first in one pipelined round trip, merged, at most
    ASP_SEARCH_SCAN_MAX entries examined (the answer says "partial" when
    the budget ran out), then the records read in one more.

    A record is open until staff set its outcome to resolved or
    unresolved; then it is closed and never changes again (409
    recovery_closed). Resolving needs the action taken. Each change is one
    script (recovery.lua), guarded by the record's revision as read (409
    recovery_changed when someone changed it in between), that writes the
    record, its index entry and a timeline entry on the ticket
    (recovery.opened, recovery.updated) and commits the event:

    recovery.recorded {recovery_id, category, outcome, compensation,
    amount (= compensation, the templates' variable), approver, opened_ms,
    resolved_ms (0 while open), rev} when the record is closed or its
    compensation set, to feedback (the ticket's quality facts count its
    latest revision: recoveries, recovered_fast, compensation); and to
    notification as well when it is resolved with compensation (the
    customer is told). Only then: the event table names both, but an open
    record's changes are feedback's business only.

    Compensation (minor units, the currency of the ticket's price) is
    within the approving role's cap: the SLA policy file's [approval]
    section (ASP_SLA_POLICY_FILE, parsed by sla-timer's sla_policy
    library; none: the shipped file compiled in). Intake's agent approves
    up to the agent cap, a supervisor up to the supervisor's, an admin up
    to the manager's (intake has no manager role: the admin is the top of
    its staff). A caller whose cap does not cover the amount gets 403
    over_cap naming the cap and the lowest role that could approve it; a
    record names who approved its compensation and in which role. Each
    api (each serving thread) watches the file on its own: a change is
    picked up within a second of the next request that sets compensation;
    a bad change keeps the caps in force (logged).                       */
#ifndef INTAKE_RECOVERY_H
#define INTAKE_RECOVERY_H
#include "intake_http.h"

//  Starts api's watch of the policy file (exits 2 when it cannot be
//  loaded); intake_api_destroy ends it.
void intake_recovery_init (intake_api_t *api);

//  POST /v1/tickets/{id}/recovery {category, root_cause?, action?,
//  compensation?}: 201 the record.
intake_route_fn intake_recovery_open;
//  PATCH /v1/tickets/{id}/recovery/{rid} {root_cause?, action?,
//  compensation?, outcome?}: 200 the record.
intake_route_fn intake_recovery_patch;
//  GET /v1/tickets/{id}/recovery: 200 {ticket_id, recoveries: [...]},
//  oldest first.
intake_route_fn intake_recovery_ticket;
//  GET /v1/recovery?category&outcome&partner&region&from&to&limit&offset:
//  200 {recoveries, count, scanned, partial}, newest first.
intake_route_fn intake_recovery_list;

void intake_recovery_test (void);
#endif
