/*  intake_ops: the ops dashboard's API (docs/http-api.md, "Ops";
    docs/openapi/ops.yaml): GET /v1/ops/summary and GET /v1/ops/stream.

    The summary (S) is every figure the dashboard shows, read from what
    the services already keep in Redis, in two pipelined round trips
    whatever the number of tickets: per shard the status counts, intake's
    ops counts (ix:ops), the unroutable queue, the SLA risk sets
    (ix:sla:*), feedback's open visits and notification's queues; the
    partner registry (pt:all, pt:<id>), routing's scores and live state
    (rt:scores, asp:rtlive) and each service's figures (asp:svcstat:<svc>).
    Only the region and partner of the tickets at SLA risk are read one by
    one (at most INTAKE_OPS_RISK_MAX of them; sla.partial says when more
    were left out). A figure with no source right now is null.

    The stream (Server-Sent Events) is intake_ops_stream.h's.             */
#ifndef INTAKE_OPS_H
#define INTAKE_OPS_H
#include "intake_http.h"

//  Tickets at SLA risk whose region and partner a summary reads.
#define INTAKE_OPS_RISK_MAX 5000

//  The summary at now_ms, read over rds: a tree the caller deletes, or
//  NULL when Redis failed.
cJSON *intake_ops_summary (asp_rds_t *rds, int64_t now_ms);

//  The routes.
intake_route_fn intake_ops_get_summary;
intake_route_fn intake_ops_get_stream;

void intake_ops_test (void);
#endif
