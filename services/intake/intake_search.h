/*  intake_search: list and search tickets, and the agent's queue counts.

    Every ticket is in its shard's ix:all (created_ms -> id) and, while it
    is open, in ix:open (intake_ticket.h; ticket.lua's set_status keeps
    both). A query walks the ASP_SHARDS shards' sets merged by
    (created_ms, id) in the sort order, reads the fields its filters need
    for a batch of candidates (one pipelined HMGET each, one round trip
    per batch), keeps those that match every filter, reads the matches'
    summaries (one more round trip) and stops at the page's limit.
    from/to bound the walk itself (the sets' scores); a filter that
    admits only open tickets (a status of the open part of the life,
    at_risk=true) walks ix:open, which holds only the tickets still in
    play, instead of every ticket ever made.

    The work per request is bounded: at most ASP_SEARCH_SCAN_MAX records
    (default 2000) are examined. When the budget runs out before the
    page is full, the answer says "partial": true and its next_cursor
    continues after the last record examined, so a rare filter over a
    large archive answers in milliseconds, a page at a time.

    The cursor is opaque: base64url of "<a|d><created_ms>.<ticket id>"
    and a BLAKE2b tag over it and the query's filters, so garbage, an
    edited cursor or one of another query is refused (400
    invalid_cursor). It names a position, not a snapshot: the next page
    starts after the last ticket shown, so tickets created meanwhile never
    make a ticket appear twice or vanish. The tag is a checksum, not a
    secret: a cursor grants nothing the query itself does not.

    The queue counts sum ix:status (and, for one owner, ix:owner) over
    the shards: one pipelined round trip each.                           */
#ifndef INTAKE_SEARCH_H
#define INTAKE_SEARCH_H
#include "intake_http.h"

//  A time bound of a query (from, to): a date YYYY-MM-DD (its first ms,
//  or with end_of_day its last) or ms since the epoch; *out keeps its
//  value when absent. false with err naming name.
bool intake_search_v_time (const cJSON *j, const char *name, bool end_of_day, int64_t *out,
                           intake_err_t *err);
//  The largest time bound: the last ms of the year 9999.
#define INTAKE_MS_MAX 253402300799999LL

//  GET /v1/tickets?status=&type=&...&sort=&limit=&cursor=
void intake_search_list (intake_api_t *api, const intake_call_t *call, const asp_http_req_t *req,
                         asp_http_res_t *res);
//  GET /v1/tickets/counts?owner=
void intake_search_counts (intake_api_t *api, const intake_call_t *call, const asp_http_req_t *req,
                           asp_http_res_t *res);

void intake_search_test (void);
#endif
