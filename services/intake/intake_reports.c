#include "intake_reports.h"
#include "asp_keys.h"
#include <stdlib.h>
#include <string.h>

//  CSV when asked for by format=csv, or by an Accept that names text/csv
//  (and no format=json). false and a 400 when format is neither.
static bool
s_wants_csv (const asp_http_req_t *req, const char *format, bool *csv, asp_http_res_t *res)
{
    if (format && strcmp (format, "csv") && strcmp (format, "json")) {
        asp_http_error (res, 400, "invalid_query", "format must be json or csv");
        return false;
    }
    const char *accept = asp_http_header (req, "Accept");
    *csv = format? strcmp (format, "csv") == 0: accept && strstr (accept, "text/csv") != NULL;
    return true;
}

void
intake_reports_get (intake_api_t *api, const intake_call_t *call, const asp_http_req_t *req,
                    asp_http_res_t *res)
{
    (void) call;
    static const char *allowed [] = { "period", "at", "by", "format", NULL };
    cJSON *q = intake_query (req, allowed, res);
    if (!q)
        return;
    const char *period = cJSON_GetStringValue (cJSON_GetObjectItem (q, "period"));
    const char *at = cJSON_GetStringValue (cJSON_GetObjectItem (q, "at"));
    const char *by_name = cJSON_GetStringValue (cJSON_GetObjectItem (q, "by"));
    const char *format = cJSON_GetStringValue (cJSON_GetObjectItem (q, "format"));
    int first = 0, last = 0, rc = asp_report_period (period, at, &first, &last);
    asp_report_by_t by;
    bool csv = false;
    if (rc == -1)
        asp_http_error (res, 400, "invalid_query", "period must be month, quarter or year");
    else
    if (rc == -2)
        asp_http_error (res, 400, "invalid_query",
                        "at must name the %s as %s (UTC)", period,
                        strcmp (period, "month") == 0? "YYYY-MM, e.g. 2026-11"
                        : strcmp (period, "quarter") == 0? "YYYY-Qn, e.g. 2026-Q4": "YYYY, e.g. 2026");
    else
    if (asp_report_by (by_name, &by))
        asp_http_error (res, 400, "invalid_query", "by must be region, partner or category");
    if (rc || asp_report_by (by_name, &by) || !s_wants_csv (req, format, &csv, res)) {
        cJSON_Delete (q);
        return;
    }
    cJSON *groups = NULL;
    if (asp_report_read (api->rds, by, first, last, &groups)) {
        cJSON_Delete (q);
        intake_storage_down (res);
        return;
    }
    if (csv) {
        free (res->body);
        res->status = 200;
        res->body = asp_report_csv (groups, by);
        res->body_len = strlen (res->body);
        res->content_type = "text/csv; charset=utf-8; header=present";
    }
    else {
        cJSON *out = cJSON_CreateObject ();
        cJSON_AddStringToObject (out, "period", period);
        cJSON_AddStringToObject (out, "at", at);
        cJSON_AddStringToObject (out, "by", by_name);
        cJSON_AddItemToObject (out, "groups", groups);
        groups = NULL;
        asp_http_json (res, 200, cJSON_PrintUnformatted (out));
        cJSON_Delete (out);
    }
    cJSON_Delete (groups);
    cJSON_Delete (q);
}

void
intake_reports_warnings (intake_api_t *api, const intake_call_t *call, const asp_http_req_t *req,
                         asp_http_res_t *res)
{
    (void) call;
    static const char *allowed [] = { NULL };
    cJSON *q = intake_query (req, allowed, res);
    if (!q)
        return;
    cJSON_Delete (q);
    cJSON *warnings = NULL;
    int64_t today = asp_now_ms () / 86400000;
    if (asp_warn_read (api->rds, &api->warn, today, &warnings)) {
        intake_storage_down (res);
        return;
    }
    cJSON *out = cJSON_CreateObject ();
    cJSON_AddNumberToObject (out, "recent_days", api->warn.recent_d);
    cJSON_AddNumberToObject (out, "baseline_days", api->warn.baseline_d);
    cJSON_AddNumberToObject (out, "min_volume", api->warn.min_volume);
    cJSON_AddNumberToObject (out, "factor_pct", api->warn.factor_pct);
    cJSON_AddItemToObject (out, "warnings", warnings);
    asp_http_json (res, 200, cJSON_PrintUnformatted (out));
    cJSON_Delete (out);
}
