/*  intake_dispatch: what a ticket shows about routing's work on it, and
    the ops queue of work orders no partner can take.

    Routing tells intake about the ticket's current work order with events
    (common/asp_events.h); intake_events applies each to the ticket in one
    script (event.lua). This class checks what the dispatch events carry
    and says what they add to the ticket's record, beyond the timeline:
      workorder.offered     dispatch {partner_id, choice, score, candidates,
                            free, at_ms}: why this partner (the timeline
                            entry says it in words: data.why)
      workorder.unroutable  unroutable {reason, refusals, wo_id, at_ms} and
                            an entry in the shard's unroutable queue
                            (ix:unroutable, intake_ticket.h)
      workorder.appointment appointment {at_ms, end_ms, changes,
                            late_changes, missed}
      workorder.appointment_missed
                            appointment.missed and the flag
                            appointment_missed
      workorder.returned    the ticket waits for a partner again: status
                            received, no partner, no appointment
    A work order leaves the unroutable queue when it is offered or
    assigned, when the ticket gets a new work order (re-dispatch, reopen)
    or ends (cancelled, closed). A body that does not fit (a missing or
    mistyped field, a word outside its vocabulary) is refused with the
    reason (NAK) and changes nothing.

    GET /v1/queues/unroutable lists the queue, oldest first, across the
    shards (docs/http-api.md).                                             */
#ifndef INTAKE_DISPATCH_H
#define INTAKE_DISPATCH_H
#include "intake_http.h"
#include "asp_envelope.h"

//  One body field an event carries: its type ('s' string, 'i' integer,
//  'b' boolean), whether it must be there, and for a string its longest
//  length (at most INTAKE_FIELD_TEXT_MAX) and its vocabulary (NULL: any
//  text).
typedef struct {
    const char *name;
    char type;
    bool required;
    size_t max;
    const asp_vocab_t *vocab;
} intake_field_t;
#define INTAKE_FIELD_TEXT_MAX 2000

//  0 when body has each of the n fields (fewer when one's name is NULL)
//  as it must be: an optional one may be absent or "", an integer is not
//  negative (but a score); else -1 and why, naming event type and the
//  field. Shared by the events intake checks (intake_sla.h too).
int intake_event_check (const char *type, const intake_field_t *fields, size_t n, const msgpack_object *body,
                        char *reason, size_t len);

//  Checks env (an event routed to intake) and adds its view to the
//  script's arguments a (event.lua: view, clears, dispatch, ...) and its
//  words to data (the timeline entry's data). *copy_fields is set false
//  when the body's fields must not be copied to the ticket (a returned
//  work order's partner). 0, or -1 with the reason (refuse it).
int intake_dispatch_event (const asp_envelope_t *env, asp_mpmap_t *a, cJSON *data, bool *copy_fields,
                           char *reason, size_t reason_len);

//  GET /v1/queues/unroutable?limit=
intake_route_fn intake_dispatch_queue;

void intake_dispatch_test (void);
#endif
