/*  intake_api: assembles the HTTP API: the shared state, the scripts and
    the route table that says who may call what (docs/http-api.md, Roles). */
#include "intake_api.h"
#include "asp_config.h"
#include "intake_http.h"
#include "intake_tickets.h"
#include "intake_warranty_api.h"
#include <assert.h>
#include <string.h>

extern const char asp_lua_ticket [];
extern const char asp_lua_create [];
extern const char asp_lua_survey [];

//  In intake_script_id_t order.
static const struct {
    const char *name;
    const char *source;
} s_scripts [INTAKE_SCRIPT_COUNT] = {
    [INTAKE_SCRIPT_CREATE] = { "intake_create", asp_lua_create },
    [INTAKE_SCRIPT_SURVEY] = { "intake_survey", asp_lua_survey },
};

#define R(role) INTAKE_ROLE_BIT (INTAKE_ROLE_##role)
#define CUSTOMER R (CUSTOMER)

//  Who may do what. Agents and supervisors serve customers; ops watch;
//  systems integrate (order management, logistics, the survey channel);
//  admin may do everything; a customer's per-ticket token reads its
//  ticket and answers its survey. The first route whose pattern and
//  method match serves the request.
static const intake_route_t s_routes [] = {
    { "POST", "/v1/tickets", INTAKE_STAFF | R (SYSTEM), "create tickets", intake_tickets_create },
    { "GET",  "/v1/tickets/{id}", INTAKE_READERS | CUSTOMER, "read tickets", intake_tickets_get },
    { "GET",  "/v1/tickets/{id}/timeline", INTAKE_READERS | CUSTOMER, "read tickets", intake_tickets_timeline },
    { "POST", "/v1/tickets/{id}/survey", INTAKE_STAFF | R (SYSTEM) | CUSTOMER, "record survey answers",
      intake_tickets_survey },
    { "GET",  "/v1/warranty/policy", INTAKE_READERS, "read the warranty policy", intake_warranty_api_policy },
    { "POST", "/v1/warranty/check", INTAKE_READERS, "check warranty remedies", intake_warranty_api_check },
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
    self->warranty = warranty;
    self->rds = asp_rds_new ();
    for (int i = 0; i < INTAKE_SCRIPT_COUNT; i++)
        self->script [i] = asp_rds_script_lib (self->rds, s_scripts [i].name, asp_lua_ticket, s_scripts [i].source);
    self->outbox = asp_outbox_remote_new (asp_svc_outbox (svc));
    return self;
}

intake_api_t *
intake_api_new_sibling (const intake_api_t *first)
{
    intake_api_t *self = s_api_new (first->svc, first->warranty);
    self->auth = first->auth;
    self->idem_ttl_s = first->idem_ttl_s;
    self->ack_latency = first->ack_latency;
    self->created = first->created;
    self->invalid = first->invalid;
    return self;
}

intake_api_t *
intake_api_new (asp_svc_t *svc, intake_warranty_t *warranty)
{
    intake_api_t *self = s_api_new (svc, warranty);
    self->auth = intake_auth_new ();
    self->owns_auth = true;
    self->idem_ttl_s = asp_cfg_int ("ASP_IDEMPOTENCY_TTL_S", 86400, 60, 30 * 86400);
    asp_metrics_t *m = asp_svc_metrics (svc);
    self->ack_latency = asp_metrics_histo (m, "intake_ack_seconds", "Time to answer a ticket creation.");
    self->created = asp_metrics_counter (m, "tickets_created_total", "Tickets created.");
    self->invalid = asp_metrics_counter (m, "requests_invalid_total", "Requests refused as invalid.");
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
        asp_outbox_remote_destroy (&self->outbox);
        asp_rds_destroy (&self->rds);
        if (self->owns_auth)
            intake_auth_destroy (&self->auth);
        free (self);
        *self_p = NULL;
    }
}

void
intake_api_handle (const asp_http_req_t *req, asp_http_res_t *res, void *arg)
{
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
