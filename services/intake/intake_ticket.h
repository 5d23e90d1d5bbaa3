/*  intake_ticket: what a ticket's status is and how its timeline reads.

    Intake owns the ticket record (hash t:<id>) and its timeline (list
    t:<id>:tl). Other services never write them: they publish events, and
    intake_events applies those here.                                       */
#ifndef INTAKE_TICKET_H
#define INTAKE_TICKET_H
#include "asp_vocab.h"
#include <cjson/cJSON.h>
#include <stdint.h>

//  The status an event moves a ticket to, and its rank (its asp_status_t:
//  statuses are ordered, and a ticket's rank only grows); NULL and 0 when
//  the event only adds to the timeline.
const char *intake_event_status (const char *event_type, int *rank);
//  A timeline entry: {"type":..,"time_ms":..,"data":data}. Takes data
//  (may be NULL). Returns a string the caller frees.
char *intake_timeline_entry (const char *type, int64_t time_ms, cJSON *data);

void intake_ticket_test (void);
#endif
