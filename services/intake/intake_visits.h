/*  intake_visits: the return visits (回访) as staff's tasks
    (docs/http-api.md, "Return visits"; docs/openapi/visits.yaml).

    GET /v1/visits?state=&due_before=&limit=&offset=, GET /v1/visits/{id}:
    feedback's visits, read through common/asp_visits.h (intake only reads
    them). POST /v1/visits/{id}/claim: an agent takes an open visit
    (visit_claim.lua, visit.claimed); POST /v1/visits/{id}/outcome: what
    the call found (visit_outcome.lua): reached, it is the visit's one
    answer, sent to feedback as survey.submitted with the outcome's fields
    (the same answer the customer's own survey gives, whichever comes
    first); not reached, visit.attempted counts an attempt. Agents,
    supervisors and admins read every visit; an agent records only a
    visit they claimed, a supervisor or admin any.

    Keys: intake's t:<ticket>:vclaim (string "<visit id>|<agent>": who
    claimed the ticket's visit) and t:<ticket>:survey (the one answer,
    intake_ticket.h), both in the ticket's shard with feedback's record. */
#ifndef INTAKE_VISITS_H
#define INTAKE_VISITS_H
#include "intake_http.h"

#define INTAKE_KEY_VCLAIM "t:%s:vclaim"

void intake_visits_list (intake_api_t *api, const intake_call_t *call, const asp_http_req_t *req,
                         asp_http_res_t *res);
void intake_visits_get (intake_api_t *api, const intake_call_t *call, const asp_http_req_t *req,
                        asp_http_res_t *res);
void intake_visits_claim (intake_api_t *api, const intake_call_t *call, const asp_http_req_t *req,
                          asp_http_res_t *res);
void intake_visits_outcome (intake_api_t *api, const intake_call_t *call, const asp_http_req_t *req,
                            asp_http_res_t *res);
#endif
