/*  asp_envelope: the message every service sends to every other.

    On the wire one ZeroMQ frame holds one msgpack array:
        [ version, type, id, ticket_id, trace_id, time_ms, body ]
    version   int, ASP_ENVELOPE_VERSION (schema version of envelope + bodies)
    type      str, e.g. "ticket.created" (see asp_events.h)
    id        str, unique message id; consumers remember it to apply once
    ticket_id str, the ticket this concerns, "" when none
    trace_id  str, carried unchanged from the request that started it all
    time_ms   int, when the producer created it (ms since the epoch)
    body      map, type-specific fields

    Decoding is strict: size cap, the asp_mp checks, every field typed and
    sized, no extra elements. A failed decode says why.                      */
#ifndef ASP_ENVELOPE_H
#define ASP_ENVELOPE_H
#include "asp_id.h"
#include "asp_mp.h"

#define ASP_ENVELOPE_VERSION 1
#define ASP_ENVELOPE_MAX     (64 * 1024)
#define ASP_TYPE_MAX         48

typedef struct {
    int64_t version;
    char type [ASP_TYPE_MAX];
    char id [ASP_ID_MAX];
    char ticket [ASP_ID_MAX];
    char trace [ASP_ID_MAX];
    int64_t time_ms;
    const msgpack_object *body;     //  a map, owned by unpacked
    msgpack_unpacked unpacked;
} asp_envelope_t;

//  Decodes one frame; NULL with a reason on any defect.
asp_envelope_t *asp_envelope_decode (const void *data, size_t size, char *err, size_t errlen);
void asp_envelope_destroy (asp_envelope_t **self_p);

//  An outgoing message under construction: fill its body, then encode.
typedef struct {
    char type [ASP_TYPE_MAX];
    char id [ASP_ID_MAX];
    char ticket [ASP_ID_MAX];
    char trace [ASP_ID_MAX];
    int64_t time_ms;
    asp_mpmap_t *body;
} asp_msg_t;

//  New message with a fresh id and the current time. trace may be NULL (a new
//  one is minted) and ticket may be NULL ("").
asp_msg_t *asp_msg_new (const char *type, const char *ticket, const char *trace);
//  Same, continuing the trace of a received envelope.
asp_msg_t *asp_msg_reply (const char *type, const asp_envelope_t *cause);
void asp_msg_destroy (asp_msg_t **self_p);
//  Encodes to a new buffer the caller frees.
void asp_msg_encode (asp_msg_t *self, char **data, size_t *size);
//  The envelope a receiver decodes from *self_p, as if it came over the
//  bus (self-tests feed handlers with it); destroys the message. The
//  envelope points into *data, a new buffer the caller frees after
//  destroying the envelope. Never NULL: an encoding always decodes.
asp_envelope_t *asp_msg_to_envelope (asp_msg_t **self_p, char **data);

void asp_envelope_test (void);
#endif
