/*  rt_proto: the platform side of the Partner Worker Protocol (ASPW/1) codec.

    A partner message, as the ROUTER hands it over, is [routing id, "ASPW1",
    COMMAND, body]. rt_cmd_decode checks the frames, the signature, the
    command name, the size and the msgpack body (strictly, with asp_mp) and
    every field the command requires; any defect is a bad_message with a
    reason, and nothing is half-decoded into the caller's state.

    rt_proto_send sends one platform command to one routing id without
    blocking: with ROUTER_MANDATORY, -1 and errno EHOSTUNREACH means the
    partner's connection is gone, EAGAIN that it is not reading.
    The contract is docs/partner-protocol.md.                              */
#ifndef RT_PROTO_H
#define RT_PROTO_H
#include "asp_mp.h"
#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

#define RT_SIGNATURE    "ASPW1"
#define RT_MSG_MAX      (64 * 1024)     //  bigger: ERROR bad_message
#define RT_TRANSPORT_MAX (1024 * 1024)  //  bigger: dropped by ZMQ_MAXMSGSIZE
#define RT_STR_MAX      256
#define RT_NOTE_MAX     2000
#define RT_LIST_MAX     64
#define RT_CAPACITY_MAX 1000
#define RT_RID_MAX      256             //  ZeroMQ routing ids are at most 255 bytes
#define RT_WO_ID_MAX    64              //  "W" + ticket id, with room to spare

typedef enum {
    RT_CMD_READY = 0,
    RT_CMD_HEARTBEAT,
    RT_CMD_ACCEPT,
    RT_CMD_DECLINE,
    RT_CMD_PROGRESS,
    RT_CMD_COMPLETE,
    RT_CMD_DISCONNECT
} rt_cmd_type_t;

//  One decoded partner command. Strings are NUL-terminated copies.
typedef struct {
    rt_cmd_type_t type;
    char name [16];                 //  command name, "" until recognised
    char wo_id [RT_STR_MAX + 1];    //  "" when the command has none
    char offer_id [RT_STR_MAX + 1];
    int64_t attempt;                //  attempt named by offer_id, 0 when it names none
    //  READY
    int64_t capacity;
    char **skills;
    size_t nskills;
    char **regions;
    size_t nregions;
    char software [RT_STR_MAX + 1];
    //  DECLINE
    char reason [RT_STR_MAX + 1];
    //  PROGRESS
    int64_t seq;
    char stage [16];
    int64_t appointment_ms;
    bool has_appointment;
    //  PROGRESS, COMPLETE
    char note [RT_NOTE_MAX + 1];
    bool has_note;
    //  COMPLETE
    char result [16];
    char technician [RT_STR_MAX + 1];
    bool has_technician;
} rt_cmd_t;

rt_cmd_t *rt_cmd_new (void);
void rt_cmd_destroy (rt_cmd_t **self_p);
//  Decodes msg (routing id already popped). 0, or -1 with a reason; after
//  a failure name and wo_id hold what could be read, for the ERROR reply.
int  rt_cmd_decode (rt_cmd_t *self, zmsg_t *msg, char *err, size_t errlen);

//  True when s can name a work order: "W" then 1..63 id characters.
bool rt_wo_id_valid (const char *s);
//  True when s is valid UTF-8 of n bytes without control characters other
//  than tab, newline and carriage return.
bool rt_text_valid (const char *s, size_t n);
//  Copies s into out (outlen bytes) cut at a UTF-8 character boundary.
void rt_text_cut (char *out, size_t outlen, const char *s);

//  Sends [rid, "ASPW1", command, body]. body may be NULL (empty map).
//  0, or -1 with errno set; never blocks.
int  rt_proto_send (zsock_t *sock, const void *rid, size_t rid_len,
                    const char *command, asp_mpmap_t *body);

void rt_proto_test (void);
#endif
