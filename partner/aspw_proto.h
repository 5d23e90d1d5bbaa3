/*  aspw_proto: the Partner Worker Protocol (ASPW/1) codec.

    One module for both ends, like Malamute's mlm_proto serving mlm_client
    and mlm_server: routing (the platform) and asp_partner (the partner
    SDK) both decode and encode every message through it, so the
    signature, the limits, the command table, the vocabularies and the
    field rules exist once. The contract is docs/partner-protocol.md.

    A message on the wire is [signature "ASPW1", COMMAND, body], the body
    one msgpack map with string keys (a ROUTER sees a routing id before
    them). aspw_msg_t holds one decoded (or to be encoded) message: the
    command and every field any command has; each field says which
    commands carry it.

    Decoding is strict and total: frames, signature, size, command name
    and direction, the msgpack body (pre-checked by asp_mp against
    msgpack-c's unbounded allocations), and every field the command
    requires, with its type, range, UTF-8 validity and vocabulary. Any
    defect is -1 with a reason; unknown keys are ignored (forward
    compatibility). After a failure, name, wo_id, offer_id and seq hold what
    could be read, so that an ERROR can echo them.

    Encoding has one encoder per command (aspw_msg_encode picks it by
    id); aspw_msg_send sends without blocking.

    Ownership: aspw_msg_t owns its strings and lists; the zmsg_t given to
    aspw_msg_decode stays the caller's.                                   */
#ifndef ASPW_PROTO_H
#define ASPW_PROTO_H
#include "asp_mp.h"
#include "asp_vocab.h"
#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

#define ASPW_SIGNATURE      "ASPW1"
#define ASPW_MSG_MAX        (64 * 1024)     //  bigger: refused (ERROR bad_message)
#define ASPW_TRANSPORT_MAX  (1024 * 1024)   //  bigger: dropped by ZMQ_MAXMSGSIZE
#define ASPW_STR_MAX        256             //  a string field, in bytes
#define ASPW_NOTE_MAX       2000            //  note (and summary) fields
#define ASPW_LIST_MAX       64              //  skills, regions entries
#define ASPW_CAPACITY_MAX   1000            //  READY capacity is 0..1000 (0 = drain)
#define ASPW_PARTS_MAX      64              //  COMPLETE parts entries
#define ASPW_QTY_MAX        1000            //  a part's qty is 1..1000
#define ASPW_FEE_MAX        100000000       //  COMPLETE fee, minor currency units
#define ASPW_RESOLUTION_MAX 64              //  COMPLETE resolution, [a-z0-9_]
#define ASPW_PRIORITY_MAX   5               //  priorities are 1..5
#define ASPW_NAME_MAX       15              //  a command name
#define ASPW_RID_MAX        256             //  ZeroMQ routing ids are at most 255 bytes
//  The WITHDRAW reason that takes back even an accepted work order: its
//  ticket was cancelled or re-dispatched (protocol 4); stop the work.
#define ASPW_WITHDRAW_CANCELLED "cancelled"

//  Extensions of ASPW/1, negotiated by name: a partner lists what it can
//  use in READY's features, the platform what it offers in WELCOME's.
//  A partner sends LIST or UNABLE only when WELCOME listed them; a partner
//  that lists nothing is served exactly as the first ASPW/1 (new keys in
//  platform messages are optional, and unknown keys are ignored).
#define ASPW_FEATURE_LIST        "list"         //  LIST -> ASSIGNED/OFFER..., LISTED
#define ASPW_FEATURE_UNABLE      "unable"       //  UNABLE
#define ASPW_FEATURE_APPOINTMENT "appointment"  //  PROGRESS end_ms, bad_appointment
#define ASPW_FEATURE_DETAIL      "detail"       //  PROGRESS/COMPLETE/ASSIGNED details
#define ASPW_FEATURES_MAX        ASPW_LIST_MAX

//  Every command. Both sides send HEARTBEAT and DISCONNECT.
typedef enum {
    ASPW_READY = 0,         //  partner -> platform
    ASPW_ACCEPT,
    ASPW_DECLINE,
    ASPW_PROGRESS,
    ASPW_COMPLETE,
    ASPW_WELCOME,           //  platform -> partner
    ASPW_OFFER,
    ASPW_ASSIGNED,
    ASPW_CONFIRM,
    ASPW_WITHDRAW,
    ASPW_ERROR,
    ASPW_HEARTBEAT,         //  both
    ASPW_DISCONNECT,
    ASPW_LIST,              //  partner -> platform (feature "list")
    ASPW_UNABLE,            //  partner -> platform (feature "unable")
    ASPW_LISTED,            //  platform -> partner, answers LIST
    ASPW_COMMAND_COUNT
} aspw_command_t;

//  Who sent a message: decides which commands are valid.
typedef enum { ASPW_FROM_PARTNER = 0, ASPW_FROM_PLATFORM } aspw_sender_t;

//  A part used, in COMPLETE.
typedef struct {
    char part [ASPW_STR_MAX + 1];
    int64_t qty;                        //  1..ASPW_QTY_MAX
} aspw_part_t;

//  One message. Strings are NUL-terminated; "" when absent.
typedef struct {
    aspw_command_t id;
    char name [ASPW_NAME_MAX + 1];      //  as received; "" unless it looked like a command
    //  ACCEPT DECLINE PROGRESS COMPLETE OFFER ASSIGNED CONFIRM ERROR WITHDRAW
    char wo_id [ASPW_STR_MAX + 1];
    //  ACCEPT DECLINE OFFER ASSIGNED; echoed by CONFIRM and ERROR ("" = none)
    char offer_id [ASPW_STR_MAX + 1];
    int64_t attempt;                    //  decoded only: n of "<wo_id>.<n>", 0 when not that form
    //  PROGRESS (>= 1); ASSIGNED (last recorded); echoed by CONFIRM, ERROR (0 = none)
    int64_t seq;
    //  READY
    int64_t capacity;
    char **skills;
    size_t nskills;
    char **regions;
    size_t nregions;
    char software [ASPW_STR_MAX + 1];   //  optional
    //  READY (what the partner can use), WELCOME (what the platform
    //  offers): optional, 0..64 names; unknown names are kept, not refused
    char **features;
    size_t nfeatures;
    //  WELCOME
    char partner_id [ASPW_STR_MAX + 1];
    int64_t heartbeat_ms;
    int64_t liveness;
    int64_t offer_timeout_ms;
    //  OFFER, ASSIGNED
    char ticket_id [ASPW_STR_MAX + 1];
    asp_kind_t kind;
    char category [ASPW_STR_MAX + 1];
    char region [ASPW_STR_MAX + 1];
    int64_t priority;
    asp_tier_t tier;
    char summary [ASPW_NOTE_MAX + 1];
    int64_t expires_ms;                 //  OFFER only
    //  PROGRESS; ASSIGNED (optional: the last stage recorded)
    asp_stage_t stage;
    bool has_stage;                     //  always true in a decoded PROGRESS
    //  PROGRESS, ASSIGNED (optional): the appointment, epoch ms
    int64_t appointment_ms;
    bool has_appointment;
    int64_t end_ms;                     //  the slot's end (> appointment_ms)
    bool has_end;
    char part [ASPW_STR_MAX + 1];       //  PROGRESS (optional, for waiting_parts)
    bool has_part;
    //  PROGRESS, COMPLETE, UNABLE, ASSIGNED (optional; ASSIGNED: the last one)
    char note [ASPW_NOTE_MAX + 1];
    bool has_note;
    //  PROGRESS, COMPLETE, ASSIGNED (optional)
    char technician [ASPW_STR_MAX + 1];
    bool has_technician;
    //  COMPLETE
    asp_result_t result;
    char resolution [ASPW_RESOLUTION_MAX + 1];  //  optional, [a-z0-9_]
    bool has_resolution;
    aspw_part_t *parts;                 //  optional, 0..ASPW_PARTS_MAX
    size_t nparts;
    int64_t fee;                        //  optional, minor currency units
    bool has_fee;
    //  UNABLE: the reason word (its text is also in reason)
    asp_unable_reason_t unable;
    //  LISTED
    int64_t listed_count, listed_assigned, listed_offered;
    //  CONFIRM (one of ACCEPT DECLINE PROGRESS COMPLETE UNABLE), ERROR (any text)
    char ref [ASPW_NAME_MAX + 1];
    bool duplicate;                     //  CONFIRM
    char code [64];                     //  ERROR
    //  DECLINE (optional), UNABLE (a word), WITHDRAW, ERROR, DISCONNECT
    //  from the platform
    char reason [ASPW_STR_MAX + 1];
} aspw_msg_t;

//  A new, empty message of command id.
aspw_msg_t *aspw_msg_new (aspw_command_t id);
void aspw_msg_destroy (aspw_msg_t **self_p);
//  Empties every field and sets the command to id.
void aspw_msg_reset (aspw_msg_t *self, aspw_command_t id);

//  Decodes [signature, command, body] (a ROUTER's routing id popped
//  first) sent by sender. 0, or -1 with a reason in err.
int  aspw_msg_decode (aspw_msg_t *self, zmsg_t *msg, aspw_sender_t sender, char *err, size_t errlen);
//  Encodes the body of self's command; the caller frees *data.
void aspw_msg_encode (const aspw_msg_t *self, char **data, size_t *size);
//  Sends self to sock, after the routing id rid when rid_len > 0 (a
//  ROUTER). Never blocks: 0, or -1 with errno (with ROUTER_MANDATORY,
//  EHOSTUNREACH = the peer is gone, EAGAIN = it is not reading).
int  aspw_msg_send (const aspw_msg_t *self, zsock_t *sock, const void *rid, size_t rid_len);
//  Sends an encoded body of command id (NULL: the empty map), as above.
int  aspw_send_body (zsock_t *sock, const void *rid, size_t rid_len, aspw_command_t id,
                     const char *body, size_t size);

//  The name of a command ("READY"), and the command of a name (-1 when
//  none).
const char *aspw_command_name (aspw_command_t id);
int  aspw_command_parse (const char *name);

//  Field readers on a decoded body map. Each returns 0 (the value is in
//  out, or the field is absent and optional: then *present is false), or
//  -1 with a reason naming the field in err.
#define ASPW_OPTIONAL   0
#define ASPW_REQUIRED   1           //  must be present
#define ASPW_NONEMPTY   3           //  present and not ""
//  UTF-8 text without control characters (tab, CR, LF allowed), at most
//  outlen - 1 bytes, no NUL.
int  aspw_get_text (const msgpack_object *map, const char *key, char *out, size_t outlen,
                    int flags, bool *present, char *err, size_t errlen);
int  aspw_get_int (const msgpack_object *map, const char *key, int64_t min, int64_t max,
                   int64_t *out, int flags, bool *present, char *err, size_t errlen);
int  aspw_get_bool (const msgpack_object *map, const char *key, bool *out, char *err, size_t errlen);
//  A required word of vocab; *out is its enum value.
int  aspw_get_word (const msgpack_object *map, const char *key, const asp_vocab_t *vocab,
                    int *out, char *err, size_t errlen);
//  A required array of 1..ASPW_LIST_MAX non-empty text strings; replaces
//  *out (freed first) with copies.
int  aspw_get_list (const msgpack_object *map, const char *key, char ***out, size_t *count,
                    char *err, size_t errlen);
//  The same, optional and possibly empty (0..ASPW_LIST_MAX entries).
int  aspw_get_list_opt (const msgpack_object *map, const char *key, char ***out, size_t *count,
                        char *err, size_t errlen);
//  Replaces *out (freed first) with copies of the count strings of list.
void aspw_strv_set (char ***out, size_t *count, const char *const *list, size_t n);
//  True when name is one of the count strings of list.
bool aspw_strv_has (char *const *list, size_t count, const char *name);

//  True when s is n bytes of UTF-8 text (see aspw_get_text).
bool aspw_text_valid (const char *s, size_t n);
//  Copies s into out (outlen bytes), cut at a UTF-8 character boundary.
void aspw_text_cut (char *out, size_t outlen, const char *s);

void aspw_proto_test (void);
#endif
