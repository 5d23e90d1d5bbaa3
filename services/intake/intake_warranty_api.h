/*  intake_warranty_api: the 三包 routes of the HTTP API (docs/http-api.md,
    docs/openapi/warranty.yaml).

    GET /v1/warranty/policy shows the live policy (intake_warranty_describe):
    its rules, where it came from, when it was loaded and the last reload
    error. POST /v1/warranty/check {category, type, purchase_date?,
    same_fault_repairs?} answers the remedy the live policy gives, so
    agents (and tests) can ask before or without a ticket. Neither touches
    Redis.                                                                 */
#ifndef INTAKE_WARRANTY_API_H
#define INTAKE_WARRANTY_API_H
#include "intake_http.h"

intake_route_fn intake_warranty_api_policy;
intake_route_fn intake_warranty_api_check;

//  Validates a check body as the route does, without a server: 0 when
//  accepted (in filled; category points into *tree, which the caller
//  deletes), else -1 and the 400's message in err.
int intake_warranty_api_parse (const cJSON *j, intake_warranty_in_t *in, intake_err_t *err);

void intake_warranty_api_test (void);
#endif
