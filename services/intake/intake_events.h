/*  intake_events: applies other services' events to tickets.              */
#ifndef INTAKE_EVENTS_H
#define INTAKE_EVENTS_H
#include "asp_svc.h"

//  Registers the handlers for every event routed to intake.
void intake_events_register (asp_svc_t *svc);
#endif
