/*  asp_report: the service reports and the early warning, read from
    feedback's counts for the readers outside feedback (intake's
    GET /v1/reports and GET /v1/warnings) and for feedback's own scorer
    (quality.warning): the one place that names the count fields they
    read and how the figures are made of them.

    feedback owns the counts and writes them (services/feedback/common.lua's
    settle, in the same step as the ticket's facts); readers only read.

    Keys, in every shard (asp_keys.h: "{s<n>}:" + name):
      fb:days           hash (ASP_REPORT_KEY_DAYS): "<day>|<count>|<g>|<id>"
                        (day: UTC days since 1970), g 'p' a partner, 't' a
                        technician ("<partner>|<technician>"), and for
                        the early warning's counts (created, completed,
                        complaints, breaches, warned) 'r' a region, 'c' a
                        category; kept ASP_QUALITY_KEEP_D days
      fb:dayidx         sorted set: each fb:days field scored by its day
      fb:months         hash (ASP_REPORT_KEY_MONTHS): "m<yyyymm>|<count>|<g>|<id>",
                        g 'p', 'r' or 'c', the reported counts by UTC
                        month; kept ASP_REPORT_KEEP_M months
      fb:monthidx       sorted set: each fb:months field scored yyyymm, so
                        that a period's fields are one ZRANGEBYSCORE

    A ticket's region is its own (ticket.created's), its category its type
    (repair, installation, maintenance, ...: a closed vocabulary, so the
    fields stay bounded; the product category is free text). A partner's
    figures are its own work's; tickets created are by region and
    category only (a ticket has no partner when it is created).           */
#ifndef ASP_REPORT_H
#define ASP_REPORT_H
#include <cjson/cJSON.h>
#include "asp_rds.h"

#define ASP_REPORT_KEY_DAYS        "fb:days"
#define ASP_REPORT_KEY_DAY_INDEX   "fb:dayidx"
#define ASP_REPORT_KEY_MONTHS      "fb:months"
#define ASP_REPORT_KEY_MONTH_INDEX "fb:monthidx"
//  A region's bytes, with its NUL (intake accepts 64).
#define ASP_REPORT_GROUP_MAX 72

typedef enum { ASP_REPORT_MONTH, ASP_REPORT_QUARTER, ASP_REPORT_YEAR } asp_report_period_t;
//  The groups, and the letter their fields carry.
typedef enum { ASP_REPORT_BY_REGION, ASP_REPORT_BY_PARTNER, ASP_REPORT_BY_CATEGORY } asp_report_by_t;

//  Parses period ("month", "quarter", "year") and at ("2026-11",
//  "2026-Q4", "2026": the form the period names) into the months
//  [*first, *last] as yyyymm. 0; -1 when period is bad, -2 when at is.
int asp_report_period (const char *period, const char *at, int *first, int *last);
//  Parses by ("region", "partner", "category"). 0, or -1.
int asp_report_by (const char *by, asp_report_by_t *out);

//  Reads the groups' figures over the months [first, last], two round
//  trips: *groups a new array (caller deletes) of {id, tickets_created
//  (null by partner), work_orders_completed, on_time, sla_compliance,
//  first_time_fix, repeat_repair, install_return, satisfaction (each
//  {rate, numerator, denominator}, rate null when the denominator is 0),
//  complaints, sla_warnings, sla_breaches, compensation}, in order of id.
//  0, or -1 when Redis failed.
int asp_report_read (asp_rds_t *rds, asp_report_by_t by, int first, int last, cJSON **groups);
//  The groups as CSV (RFC 4180: CRLF, a header row, fields quoted when
//  they need it), its first column named by; a new string, caller frees.
char *asp_report_csv (const cJSON *groups, asp_report_by_t by);

//  The early warning's settings (ASP_WARN_*).
typedef struct {
    int recent_d;           //  the recent window, days, today included
    int baseline_d;         //  the window before it, days
    int min_volume;         //  work orders completed in the recent window
    int factor_pct;         //  recent rate > baseline rate × factor_pct / 100
} asp_warn_config_t;

//  Reads ASP_WARN_RECENT_D (7), ASP_WARN_BASELINE_D (30),
//  ASP_WARN_MIN_VOLUME (5), ASP_WARN_FACTOR_PCT (150); exits 2 naming a
//  bad one (asp_config.h).
void asp_warn_config (asp_warn_config_t *config);

//  Reads the partners', regions' and categories' rising rates as of
//  today (UTC days since 1970), two round trips: *warnings a new array
//  (caller deletes) of {scope ("partner", "region", "category"), id,
//  metric ("complaints": complaints per work order completed, "sla":
//  SLA warnings and breaches of partner clocks per work order
//  completed), recent {rate, numerator, denominator}, baseline {...},
//  factor_pct} for each whose recent window holds at least min_volume
//  work orders and whose recent rate is above the baseline's times the
//  factor (and above 0), in order of scope, id, metric. 0, or -1 when
//  Redis failed.
int asp_warn_read (asp_rds_t *rds, const asp_warn_config_t *config, int64_t today, cJSON **warnings);

void asp_report_test (void);
#endif
