#include "asp_events.h"
#include <assert.h>
#include <string.h>

static const struct {
    const char *name;
    const char *bus_var;
    const char *bus_default;
} s_services [ASP_SVC_COUNT] = {
    { "intake",       "ASP_INTAKE_BUS",       "tcp://127.0.0.1:7101" },
    { "routing",      "ASP_ROUTING_BUS",      "tcp://127.0.0.1:7102" },
    { "sla",          "ASP_SLA_BUS",          "tcp://127.0.0.1:7103" },
    { "notification", "ASP_NOTIFICATION_BUS", "tcp://127.0.0.1:7104" },
    { "feedback",     "ASP_FEEDBACK_BUS",     "tcp://127.0.0.1:7105" },
};

#define I ASP_BIT (ASP_SVC_INTAKE)
#define R ASP_BIT (ASP_SVC_ROUTING)
#define S ASP_BIT (ASP_SVC_SLA)
#define N ASP_BIT (ASP_SVC_NOTIFICATION)
#define F ASP_BIT (ASP_SVC_FEEDBACK)

static const struct {
    const char *type;
    unsigned subscribers;
} s_events [] = {
    { ASP_EV_TICKET_CREATED,   R | S | N | F },
    { ASP_EV_WO_OFFERED,       I },
    { ASP_EV_WO_DECLINED,      I },
    { ASP_EV_WO_ASSIGNED,      I | S | N },
    { ASP_EV_WO_PROGRESS,      I | S | N },
    { ASP_EV_WO_COMPLETED,     I | S | N | F },
    { ASP_EV_VISIT_SCHEDULED,  I | S | N },
    { ASP_EV_SURVEY_SUBMITTED, F },
    { ASP_EV_VISIT_CLAIMED,    F },
    { ASP_EV_VISIT_ATTEMPTED,  F },
    { ASP_EV_VISIT_REMINDER,   N },
    { ASP_EV_TICKET_CLOSED,    I | S | N | F },
    { ASP_EV_SLA_WARNING,      I | N | F },
    { ASP_EV_SLA_BREACHED,     I | N | F },
    { ASP_EV_SLA_ESCALATED,    I | N },
    { ASP_EV_SLA_COMPENSATION, I | N | F },
    { ASP_EV_TICKET_WAITING,   S },
    { ASP_EV_TICKET_RESUMED,   S },
    { ASP_EV_TICKET_RESPONDED, S },
    { ASP_EV_TICKET_CANCELLED, R | S | N },
    { ASP_EV_TICKET_REDISPATCHED, R | S | N | F },
    { ASP_EV_TICKET_OVERRIDE,  R },
    { ASP_EV_TICKET_OWNER_CHANGED, S | N },
    { ASP_EV_WO_UNROUTABLE,    I | N },
    { ASP_EV_WO_APPOINTMENT,   I | S | N | F },
    { ASP_EV_WO_APPOINTMENT_MISSED, I | S | N | F },
    { ASP_EV_WO_RETURNED,      I | N },
    { ASP_EV_PARTNER_CHANGED,  R },
    { ASP_EV_PARTNER_SCORED,   R },
    { ASP_EV_PARTNER_STRIKE,   R | N },
    { ASP_EV_QUALITY_WARNING,  N },
    { ASP_EV_STRIKE_REVIEWED,  F },
    { ASP_EV_RECOVERY_RECORDED, N | F },
    { ASP_EV_NOTIFICATION_REPLAY, N },
    { ASP_EV_NOTIFICATION_DELIVERED, I },
    { ASP_EV_NOTIFICATION_DEAD, I },
};

const char *
asp_svc_name (asp_svc_id_t svc)
{
    return svc < ASP_SVC_COUNT? s_services [svc].name: "?";
}

int
asp_svc_lookup (const char *name)
{
    for (int i = 0; i < ASP_SVC_COUNT; i++)
        if (strcmp (s_services [i].name, name) == 0)
            return i;
    return -1;
}

const char *
asp_svc_bus_var (asp_svc_id_t svc)
{
    return s_services [svc].bus_var;
}

const char *
asp_svc_bus_default (asp_svc_id_t svc)
{
    return s_services [svc].bus_default;
}

unsigned
asp_event_subscribers (const char *type)
{
    for (size_t i = 0; i < sizeof s_events / sizeof s_events [0]; i++)
        if (strcmp (s_events [i].type, type) == 0)
            return s_events [i].subscribers;
    return 0;
}

bool
asp_event_known (const char *type)
{
    return asp_event_subscribers (type) != 0;
}

void
asp_events_test (void)
{
    assert (asp_svc_lookup ("routing") == ASP_SVC_ROUTING);
    assert (asp_svc_lookup ("nope") == -1);
    assert (asp_event_subscribers (ASP_EV_TICKET_CREATED) & ASP_BIT (ASP_SVC_ROUTING));
    assert (!asp_event_known ("ticket.exploded"));
}
