/*  intake_reports: the service reports and the early warning over HTTP
    (docs/http-api.md, "Reports"; docs/openapi/reports.yaml).

    GET /v1/reports?period=&at=&by=&format= answers the figures of each
    region, partner or category over a UTC month, quarter or year, as JSON
    or as CSV (format=csv, or Accept: text/csv); GET /v1/warnings the
    partners, regions and categories whose complaint or SLA rate is
    rising. Both read feedback's counts through common/asp_report.h (which
    names the keys and the figures); intake writes nothing here.          */
#ifndef INTAKE_REPORTS_H
#define INTAKE_REPORTS_H
#include "intake_http.h"

intake_route_fn intake_reports_get;
intake_route_fn intake_reports_warnings;

#endif
