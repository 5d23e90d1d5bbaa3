/*  intake_api: assembles the HTTP API: the shared state, the scripts and
    the route table that says who may call what (docs/http-api.md, Roles). */
#include "intake_api.h"
#include "intake_actions.h"
#include "asp_config.h"
#include "asp_log.h"
#include "intake_archive_routes.h"
#include "intake_dashboard.h"
#include "intake_dispatch.h"
#include "intake_http.h"
#include "intake_notify.h"
#include "intake_ops.h"
#include "intake_ops_stream.h"
#include "intake_partners.h"
#include "intake_recovery.h"
#include "intake_reports.h"
#include "intake_search.h"
#include "intake_tickets.h"
#include "intake_visits.h"
#include "intake_warranty_api.h"
#include <assert.h>
#include <string.h>

extern const char asp_lua_ticket [];
extern const char asp_lua_create [];
extern const char asp_lua_survey [];
extern const char asp_lua_idem [];
extern const char asp_lua_arc_customer [];
extern const char asp_lua_arc_phone [];
extern const char asp_lua_arc_cust [];
extern const char asp_lua_arc_unit [];
extern const char asp_lua_arc_merge [];
extern const char asp_lua_join [];
extern const char asp_lua_note [];
extern const char asp_lua_wait [];
extern const char asp_lua_update [];
extern const char asp_lua_cancel [];
extern const char asp_lua_close [];
extern const char asp_lua_redispatch [];
extern const char asp_lua_override [];
extern const char asp_lua_pt_write [];
extern const char asp_lua_respond [];
extern const char asp_lua_strike_review [];
extern const char asp_lua_visit_claim [];
extern const char asp_lua_visit_outcome [];
extern const char asp_lua_notify_replay [];
extern const char asp_lua_recovery [];

//  In intake_script_id_t order.
static const struct {
    const char *name;
    const char *source;
} s_scripts [INTAKE_SCRIPT_COUNT] = {
    [INTAKE_SCRIPT_CREATE] = { "intake_create", asp_lua_create },
    [INTAKE_SCRIPT_SURVEY] = { "intake_survey", asp_lua_survey },
    [INTAKE_SCRIPT_IDEM] = { "intake_idem", asp_lua_idem },
    [INTAKE_SCRIPT_ARC_CUSTOMER] = { "intake_arc_customer", asp_lua_arc_customer },
    [INTAKE_SCRIPT_ARC_PHONE] = { "intake_arc_phone", asp_lua_arc_phone },
    [INTAKE_SCRIPT_ARC_CUST] = { "intake_arc_cust", asp_lua_arc_cust },
    [INTAKE_SCRIPT_ARC_UNIT] = { "intake_arc_unit", asp_lua_arc_unit },
    [INTAKE_SCRIPT_ARC_MERGE] = { "intake_arc_merge", asp_lua_arc_merge },
    [INTAKE_SCRIPT_JOIN] = { "intake_join", asp_lua_join },
    [INTAKE_SCRIPT_NOTE] = { "intake_note", asp_lua_note },
    [INTAKE_SCRIPT_WAIT] = { "intake_wait", asp_lua_wait },
    [INTAKE_SCRIPT_UPDATE] = { "intake_update", asp_lua_update },
    [INTAKE_SCRIPT_CANCEL] = { "intake_cancel", asp_lua_cancel },
    [INTAKE_SCRIPT_CLOSE] = { "intake_close", asp_lua_close },
    [INTAKE_SCRIPT_REDISPATCH] = { "intake_redispatch", asp_lua_redispatch },
    [INTAKE_SCRIPT_OVERRIDE] = { "intake_override", asp_lua_override },
    [INTAKE_SCRIPT_RESPOND] = { "intake_respond", asp_lua_respond },
    [INTAKE_SCRIPT_PARTNER] = { "intake_pt_write", asp_lua_pt_write },
    [INTAKE_SCRIPT_STRIKE_REVIEW] = { "intake_strike_review", asp_lua_strike_review },
    [INTAKE_SCRIPT_NOTIFY_REPLAY] = { "intake_notify_replay", asp_lua_notify_replay },
    [INTAKE_SCRIPT_RECOVERY] = { "intake_recovery", asp_lua_recovery },
    [INTAKE_SCRIPT_VISIT_CLAIM] = { "intake_visit_claim", asp_lua_visit_claim },
    [INTAKE_SCRIPT_VISIT_OUTCOME] = { "intake_visit_outcome", asp_lua_visit_outcome },
};

#define R(role) INTAKE_ROLE_BIT (INTAKE_ROLE_##role)
#define CUSTOMER R (CUSTOMER)
#define LEADS (R (SUPERVISOR) | R (ADMIN))
#define PARTNER_WRITERS (R (OPS) | R (ADMIN))

//  Who may do what. Agents and supervisors serve customers; ops watch;
//  systems integrate (order management, logistics, the survey channel);
//  admin may do everything; a customer's per-ticket token reads its
//  ticket and answers its survey. The first route whose pattern and
//  method match serves the request.
static const intake_route_t s_routes [] = {
    { "POST", "/v1/tickets", INTAKE_STAFF | R (SYSTEM), "create tickets", intake_tickets_create },
    { "GET",  "/v1/tickets", INTAKE_READERS, "list tickets", intake_search_list },
    //  Before /v1/tickets/{id}, which the same path would match.
    { "GET",  "/v1/tickets/counts", INTAKE_READERS, "read queue counts", intake_search_counts },
    { "GET",  "/v1/tickets/{id}", INTAKE_READERS | CUSTOMER, "read tickets", intake_tickets_get },
    { "GET",  "/v1/tickets/{id}/timeline", INTAKE_READERS | CUSTOMER, "read tickets", intake_tickets_timeline },
    { "GET",  "/v1/tickets/{id}/clocks", INTAKE_READERS | CUSTOMER, "read tickets", intake_tickets_clocks },
    { "POST", "/v1/tickets/{id}/survey", INTAKE_STAFF | R (SYSTEM) | CUSTOMER, "record survey answers",
      intake_tickets_survey },
    { "POST", "/v1/customers", INTAKE_STAFF | R (SYSTEM), "change the archive", intake_customers_create },
    { "GET",  "/v1/customers/{id}", INTAKE_READERS, "read the archive", intake_customers_get },
    { "PATCH", "/v1/customers/{id}", INTAKE_STAFF | R (SYSTEM), "change the archive", intake_customers_patch },
    { "POST", "/v1/customers/{id}/merge", LEADS, "merge customers", intake_customers_merge },
    { "POST", "/v1/units", INTAKE_STAFF | R (SYSTEM), "change the archive", intake_units_create },
    { "GET",  "/v1/units/{serial}", INTAKE_READERS, "read the archive", intake_units_get },
    { "PATCH", "/v1/units/{serial}", INTAKE_STAFF | R (SYSTEM), "change the archive", intake_units_patch },
    { "GET",  "/v1/lookup", INTAKE_READERS, "read the archive", intake_lookup },
    //  Staff actions (intake_actions). Any agent may note, park and resume
    //  a ticket and reopen one (whoever takes the customer's call back);
    //  answer, cancel, close and re-dispatch are the owner's (an agent's
    //  own tickets; the script checks) or a lead's; priority, tier and
    //  the owner are the leads'. Ops act on the live operation from the
    //  dashboard: they reassign and re-dispatch (as a lead does, no
    //  ownership check) and override the partner.
    { "POST", "/v1/tickets/{id}/notes", INTAKE_STAFF, "add notes", intake_actions_note },
    { "POST", "/v1/tickets/{id}/waiting", INTAKE_STAFF, "park tickets", intake_actions_waiting },
    { "POST", "/v1/tickets/{id}/resume", INTAKE_STAFF, "resume tickets", intake_actions_resume },
    { "PATCH", "/v1/tickets/{id}", LEADS, "change priority or tier", intake_actions_update },
    { "POST", "/v1/tickets/{id}/owner", LEADS | R (OPS), "reassign tickets", intake_actions_owner },
    { "POST", "/v1/tickets/{id}/cancel", INTAKE_STAFF, "cancel tickets", intake_actions_cancel },
    { "POST", "/v1/tickets/{id}/close", INTAKE_STAFF, "close tickets", intake_actions_close },
    { "POST", "/v1/tickets/{id}/reopen", INTAKE_STAFF, "reopen tickets", intake_actions_reopen },
    { "POST", "/v1/tickets/{id}/redispatch", INTAKE_STAFF | R (OPS), "re-dispatch tickets", intake_actions_redispatch },
    { "POST", "/v1/tickets/{id}/respond", INTAKE_STAFF, "answer customers", intake_actions_respond },
    //  Service recovery (intake_recovery): any staff member who handles
    //  the customer opens and works a record, within their role's cap;
    //  ops read the recovery database across tickets with staff.
    { "POST", "/v1/tickets/{id}/recovery", INTAKE_STAFF, "record service recovery", intake_recovery_open },
    { "GET",  "/v1/tickets/{id}/recovery", INTAKE_READERS, "read service recovery", intake_recovery_ticket },
    { "PATCH", "/v1/tickets/{id}/recovery/{rid}", INTAKE_STAFF, "record service recovery", intake_recovery_patch },
    { "GET",  "/v1/recovery", INTAKE_STAFF | R (OPS), "read service recovery", intake_recovery_list },
    //  Routing's work (intake_dispatch): a lead or ops name the partner;
    //  leads and ops watch the work orders no partner can take.
    { "POST", "/v1/tickets/{id}/dispatch", LEADS | R (OPS), "override the dispatch", intake_actions_override },
    { "GET",  "/v1/queues/unroutable", LEADS | R (OPS), "read the unroutable queue", intake_dispatch_queue },
    { "GET",  "/v1/warranty/policy", INTAKE_READERS, "read the warranty policy", intake_warranty_api_policy },
    { "POST", "/v1/warranty/check", INTAKE_READERS, "check warranty remedies", intake_warranty_api_check },
    //  The partner registry (intake_partners): ops run the partner
    //  network, supervisors read who serves where.
    { "POST", "/v1/partners", PARTNER_WRITERS, "change the partner registry", intake_partners_create },
    { "GET",  "/v1/partners", PARTNER_WRITERS | R (SUPERVISOR), "read the partner registry", intake_partners_list },
    { "GET",  "/v1/partners/{id}", PARTNER_WRITERS | R (SUPERVISOR), "read the partner registry",
      intake_partners_get },
    { "PATCH", "/v1/partners/{id}", PARTNER_WRITERS, "change the partner registry", intake_partners_patch },
    //  Their quality, as feedback last published it.
    { "GET",  "/v1/partners/{id}/quality", PARTNER_WRITERS | R (SUPERVISOR), "read the partner registry",
      intake_partners_quality },
    //  Their three-strike ladder (feedback's): read, and ops' review.
    { "GET",  "/v1/partners/{id}/strikes", PARTNER_WRITERS | R (SUPERVISOR), "read the partner registry",
      intake_partners_strikes },
    { "POST", "/v1/partners/{id}/strikes/{strike}/review", PARTNER_WRITERS, "review strikes",
      intake_partners_review },
    //  Reports and the early warning (intake_reports): for the leads,
    //  who manage the service, and ops, who run the partner network.
    { "GET",  "/v1/reports", LEADS | R (OPS), "read reports", intake_reports_get },
    { "GET",  "/v1/warnings", LEADS | R (OPS), "read reports", intake_reports_warnings },
    //  Notification's dead letters (intake_notify): ops, who run the
    //  channels, and admins replay them; supervisors may look.
    { "GET",  "/v1/notifications/dead", LEADS | R (OPS), "read dead letters", intake_notify_dead },
    { "POST", "/v1/notifications/{id}/replay", R (OPS) | R (ADMIN), "replay dead letters", intake_notify_replay },
    //  Return visits (intake_visits, feedback's): staff read and work
    //  them; an agent records the visits they claimed, a lead any. Ops
    //  read them: the dashboard's open-visits queue drills down here.
    { "GET",  "/v1/visits", INTAKE_STAFF | R (OPS), "read return visits", intake_visits_list },
    { "GET",  "/v1/visits/{id}", INTAKE_STAFF | R (OPS), "read return visits", intake_visits_get },
    { "POST", "/v1/visits/{id}/claim", INTAKE_STAFF, "claim return visits", intake_visits_claim },
    { "POST", "/v1/visits/{id}/outcome", INTAKE_STAFF, "record return visits", intake_visits_outcome },
    //  The ops dashboard (intake_ops): the leads and ops, who watch the
    //  queues, the SLA risk and the partners live.
    { "GET",  "/v1/ops/summary", LEADS | R (OPS), "read the ops view", intake_ops_get_summary },
    { "GET",  "/v1/ops/stream", LEADS | R (OPS), "read the ops view", intake_ops_get_stream },
};

static double
s_gauge_round_trips (void *arg)
{
    return (double) asp_rds_round_trips (((intake_api_t *) arg)->rds);
}

static double
s_gauge_commands (void *arg)
{
    return (double) asp_rds_commands (((intake_api_t *) arg)->rds);
}

//  What every thread's api has of its own: a Redis connection with the
//  scripts, and a way to the loop's outbox.
static intake_api_t *
s_api_new (asp_svc_t *svc, intake_warranty_t *warranty)
{
    intake_api_t *self = (intake_api_t *) calloc (1, sizeof *self);
    assert (self);
    self->svc = svc;
    self->limit = intake_limit_new ((double) asp_cfg_int ("ASP_API_RATE", 0, 0, 1000000),
                                    (double) asp_cfg_int ("ASP_API_BURST", 100, 1, 1000000));
    self->warranty = warranty;
    self->rds = asp_rds_new ();
    for (int i = 0; i < INTAKE_SCRIPT_COUNT; i++)
        self->script [i] = asp_rds_script_lib (self->rds, s_scripts [i].name, asp_lua_ticket, s_scripts [i].source);
    self->outbox = asp_outbox_remote_new (asp_svc_outbox (svc));
    intake_recovery_init (self);
    return self;
}

//  The page a customer's link opens (ASP_CUSTOMER_LINK): an http(s) URL
//  that the ticket id and token are appended to; exits 2 when malformed.
static void
s_customer_link (intake_api_t *self, const char *url)
{
    bool ok = !*url || ((strncmp (url, "http://", 7) == 0 || strncmp (url, "https://", 8) == 0)
                        && strlen (url) < sizeof self->customer_link);
    for (const char *p = url; ok && *p; p++)
        ok = *p > ' ' && *p < 0x7f;
    if (!ok) {
        asp_log_error ("bad configuration: ASP_CUSTOMER_LINK='%.80s' must be an http:// or https:// URL "
                       "of at most %d characters without spaces", url, INTAKE_LINK_MAX - 1);
        exit (2);
    }
    snprintf (self->customer_link, sizeof self->customer_link, "%s", url);
}

intake_api_t *
intake_api_new_sibling (const intake_api_t *first)
{
    intake_api_t *self = s_api_new (first->svc, first->warranty);
    self->auth = first->auth;
    self->idem_ttl_s = first->idem_ttl_s;
    self->search_scan_max = first->search_scan_max;
    self->warn = first->warn;
    memcpy (self->customer_link, first->customer_link, sizeof self->customer_link);
    self->reopen_window_ms = first->reopen_window_ms;
    self->ack_latency = first->ack_latency;
    self->created = first->created;
    self->invalid = first->invalid;
    self->m_requests = first->m_requests;
    self->m_route_latency = first->m_route_latency;
    self->m_latency = first->m_latency;
    return self;
}

intake_api_t *
intake_api_new (asp_svc_t *svc, intake_warranty_t *warranty)
{
    intake_api_t *self = s_api_new (svc, warranty);
    self->auth = intake_auth_new ();
    self->owns_auth = true;
    self->idem_ttl_s = asp_cfg_int ("ASP_IDEMPOTENCY_TTL_S", 86400, 60, 30 * 86400);
    self->search_scan_max = asp_cfg_int ("ASP_SEARCH_SCAN_MAX", 2000, 10, 1000000);
    asp_warn_config (&self->warn);
    s_customer_link (self, asp_cfg_str ("ASP_CUSTOMER_LINK", ""));
    intake_actions_init (self);
    self->dashboard = intake_dashboard_new (NULL);
    self->ops_stream = intake_ops_stream_new ();
    asp_metrics_t *m = asp_svc_metrics (svc);
    self->ack_latency = asp_metrics_histo (m, "intake_ack_seconds", "Time to answer a ticket creation.");
    self->created = asp_metrics_counter (m, "tickets_created_total", "Tickets created.");
    self->invalid = asp_metrics_counter (m, "requests_invalid_total", "Requests refused as invalid.");
    //  Routes are the templates of s_routes (plus "unmatched"), a bounded set.
    self->m_requests = asp_metrics_counter_family (m, "api_requests_total",
        "API requests (HTTP and ZeroMQ) by route template, method and status class.", "route,method,code", 2000);
    self->m_route_latency = asp_metrics_histo_family (m, "api_route_seconds",
        "Time to answer an API request, by route template.", "route", 500);
    self->m_latency = asp_metrics_histo (m, "api_request_seconds", "Time to answer an API request (every route).");
    asp_svc_heartbeat (svc, NULL, self->m_latency);
    asp_metrics_gauge (m, "http_redis_round_trips", "Redis round trips made by the HTTP thread.",
                       s_gauge_round_trips, self);
    asp_metrics_gauge (m, "http_redis_commands", "Redis commands sent by the HTTP thread.",
                       s_gauge_commands, self);
    return self;
}

void
intake_api_destroy (intake_api_t **self_p)
{
    intake_api_t *self = *self_p;
    if (self) {
        intake_ops_stream_destroy (&self->ops_stream);
        asp_outbox_remote_destroy (&self->outbox);
        sla_policy_watch_destroy (&self->policy);
        asp_rds_destroy (&self->rds);
        if (self->owns_auth)
            intake_auth_destroy (&self->auth);
        intake_dashboard_destroy (&self->dashboard);
        intake_limit_destroy (&self->limit);
        free (self);
        *self_p = NULL;
    }
}

void
intake_api_handle (const asp_http_req_t *req, asp_http_res_t *res, void *arg)
{
    intake_api_t *self = (intake_api_t *) arg;
    //  The page's static files: open, outside the route table (no token,
    //  no rate limit per caller; intake_dashboard.h says why).
    if (self->dashboard && intake_dashboard_owns (req->url)) {
        intake_dashboard_handle (self->dashboard, req, res);
        return;
    }
    intake_http_dispatch ((intake_api_t *) arg, s_routes, sizeof s_routes / sizeof s_routes [0], NULL, req, res);
}

void
intake_api_handle_as (intake_api_t *self, const intake_caller_t *caller, const asp_http_req_t *req,
                      asp_http_res_t *res)
{
    intake_http_dispatch (self, s_routes, sizeof s_routes / sizeof s_routes [0], caller, req, res);
}

void
intake_api_test (void)
{
    //  Every route's pattern is well formed and names what the 403 says.
    for (size_t i = 0; i < sizeof s_routes / sizeof s_routes [0]; i++) {
        assert (s_routes [i].pattern [0] == '/' && s_routes [i].what && s_routes [i].fn);
        //  Customer routes take the ticket id first (intake_http_dispatch).
        if (s_routes [i].roles & CUSTOMER)
            assert (strncmp (s_routes [i].pattern, "/v1/tickets/{id}", 16) == 0);
    }
}
