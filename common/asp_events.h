/*  asp_events: the services, the event types, and who consumes what.

    This table is the one place that says which service receives which event:
    producers publish an event and the outbox fans it out to every subscriber.
    Adding a consumer is one line here, not a change in the producer.        */
#ifndef ASP_EVENTS_H
#define ASP_EVENTS_H
#include <stdbool.h>

typedef enum {
    ASP_SVC_INTAKE = 0,
    ASP_SVC_ROUTING,
    ASP_SVC_SLA,
    ASP_SVC_NOTIFICATION,
    ASP_SVC_FEEDBACK,
    ASP_SVC_COUNT
} asp_svc_id_t;

#define ASP_BIT(svc) (1u << (svc))

//  Short service name, used in keys and logs: intake, routing, sla, ...
const char *asp_svc_name (asp_svc_id_t svc);
//  -1 when unknown.
int asp_svc_lookup (const char *name);
//  Environment variable with the bus endpoint others connect to, and its default.
const char *asp_svc_bus_var (asp_svc_id_t svc);
const char *asp_svc_bus_default (asp_svc_id_t svc);
//  Bit set of services that consume this event type; 0 when unknown.
unsigned asp_event_subscribers (const char *type);
bool asp_event_known (const char *type);

//  Event types.
#define ASP_EV_TICKET_CREATED     "ticket.created"
#define ASP_EV_WO_OFFERED         "workorder.offered"
#define ASP_EV_WO_DECLINED        "workorder.declined"
#define ASP_EV_WO_ASSIGNED        "workorder.assigned"
#define ASP_EV_WO_PROGRESS        "workorder.progress"
#define ASP_EV_WO_COMPLETED       "workorder.completed"
#define ASP_EV_VISIT_SCHEDULED    "visit.scheduled"
#define ASP_EV_SURVEY_SUBMITTED   "survey.submitted"
//  Intake: staff took a return visit, or called without reaching the
//  customer (feedback applies both); feedback: a survey reminder due.
#define ASP_EV_VISIT_CLAIMED      "visit.claimed"
#define ASP_EV_VISIT_ATTEMPTED    "visit.attempted"
#define ASP_EV_VISIT_REMINDER     "visit.reminder"
#define ASP_EV_TICKET_CLOSED      "ticket.closed"
#define ASP_EV_SLA_WARNING        "sla.warning"
#define ASP_EV_SLA_BREACHED       "sla.breached"
//  sla-timer: a step of a breached clock's escalation ladder, and the
//  compensation a late clock owes the customer (docs/sla.md).
#define ASP_EV_SLA_ESCALATED      "sla.escalated"
#define ASP_EV_SLA_COMPENSATION   "sla.compensation"
//  Staff actions on a ticket (intake), for the services they concern.
#define ASP_EV_TICKET_WAITING     "ticket.waiting"
#define ASP_EV_TICKET_RESUMED     "ticket.resumed"
//  An agent answered the customer (first response, complaint answer, a
//  promised call-back kept), optionally promising the next call-back.
#define ASP_EV_TICKET_RESPONDED   "ticket.responded"
#define ASP_EV_TICKET_CANCELLED   "ticket.cancelled"
#define ASP_EV_TICKET_REDISPATCHED "ticket.redispatched"
//  A supervisor sends the ticket's work order to a partner they name.
#define ASP_EV_TICKET_OVERRIDE    "ticket.override"
#define ASP_EV_TICKET_OWNER_CHANGED "ticket.owner_changed"
//  Routing: no partner can take a work order (or all refused it too often).
#define ASP_EV_WO_UNROUTABLE      "workorder.unroutable"
//  Routing: an appointment booked or changed by the partner, and one missed.
#define ASP_EV_WO_APPOINTMENT     "workorder.appointment"
#define ASP_EV_WO_APPOINTMENT_MISSED "workorder.appointment_missed"
//  Routing: the partner handed an accepted work order back (pending again).
#define ASP_EV_WO_RETURNED        "workorder.returned"
//  The partner registry (intake) and the partners' quality score (feedback).
#define ASP_EV_PARTNER_CHANGED    "partner.changed"
#define ASP_EV_PARTNER_SCORED     "partner.scored"
//  Feedback: a step of a partner's three-strike ladder (a strike, one
//  withdrawn, ops' review); routing keeps whether the partner is removed.
#define ASP_EV_PARTNER_STRIKE     "partner.strike"
//  Feedback: a partner's, region's or category's complaint or SLA rate
//  is rising (the early warning, common/asp_report.h), once a day each.
#define ASP_EV_QUALITY_WARNING    "quality.warning"
//  Intake: ops upheld or overturned a strike (feedback applies it).
#define ASP_EV_STRIKE_REVIEWED    "strike.reviewed"
//  Intake: a service-recovery record was resolved (or given up) or its
//  compensation set: feedback counts it in the ticket's quality facts;
//  notification tells the customer of a resolved one with compensation
//  (intake sends it there only then: intake_recovery.h).
#define ASP_EV_RECOVERY_RECORDED  "recovery.recorded"
//  Ops ask notification (through intake's API) to send a dead letter again.
#define ASP_EV_NOTIFICATION_REPLAY "notification.replay"
//  Notification: a customer's notification reached its receiver, or is a
//  dead letter (its final states, for the ticket's timeline).
#define ASP_EV_NOTIFICATION_DELIVERED "notification.delivered"
#define ASP_EV_NOTIFICATION_DEAD  "notification.dead"

void asp_events_test (void);
#endif
