/*  asp_partner: the partner side of the Partner Worker Protocol (ASPW/1),
    the library a partner service center links (the partner SDK).

    A partner service center runs one asp_partner_t per identity. It connects
    a DEALER to the platform's ROUTER with CURVE, says READY, and then lives
    on the caller's zloop: it answers nothing by itself except heartbeats,
    hands offers and resumed work orders to the caller's callbacks, and sends
    the caller's ACCEPT / DECLINE / PROGRESS / COMPLETE, keeping each until
    the platform confirms it (resent after 2 x heartbeat and after every
    WELCOME). Several partners can share one zloop: each uses one reader and
    one timer.

    The protocol is docs/partner-protocol.md; this class is its reference
    client, and every message goes through the codec aspw_proto (the one
    routing uses). Work orders are deduplicated by wo_id: an OFFER or
    ASSIGNED for a wo_id the partner holds is the same job, never a second
    one.

    The SDK writes nothing to stdout or stderr: it reports what happens
    through the optional log handler. It links libzmq, CZMQ and msgpack-c
    only; after `cmake --install`, build against it with
    `pkg-config --cflags --libs aspw-partner`.

    Callbacks run on the loop thread. They may call the action functions
    (accept, decline, progress, complete) but must not destroy the partner.
    Strings passed to callbacks are valid during the call only.            */
#ifndef ASP_PARTNER_H
#define ASP_PARTNER_H
#include "aspw_proto.h"
#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct asp_partner_t asp_partner_t;

//  Where a job stands, as this partner sees it.
typedef enum {
    ASP_JOB_OFFERED = 0,    //  offered, not answered yet
    ASP_JOB_ACCEPTING,      //  ACCEPT sent, not confirmed
    ASP_JOB_ACCEPTED,       //  ours: accepted and confirmed, or ASSIGNED
    ASP_JOB_DECLINING,      //  DECLINE sent, not confirmed
    ASP_JOB_COMPLETING,     //  COMPLETE sent, not confirmed
    ASP_JOB_DONE            //  COMPLETE confirmed (kept a while for dedup)
} asp_job_state_t;

//  One work order. Strings are NUL-terminated copies.
typedef struct {
    char wo_id [ASPW_STR_MAX + 1];
    char offer_id [ASPW_STR_MAX + 1];   //  the current offer (ASSIGNED names it too)
    char ticket_id [ASPW_STR_MAX + 1];
    asp_kind_t kind;
    char category [ASPW_STR_MAX + 1];
    char region [ASPW_STR_MAX + 1];
    asp_tier_t tier;
    char summary [ASPW_NOTE_MAX + 1];
    int64_t priority;
    int64_t expires_ms;     //  as received in OFFER; 0 for ASSIGNED
    int64_t seq;            //  last PROGRESS seq sent or known to the platform
    asp_job_state_t state;
    //  Where the job stands as the platform recorded it (ASSIGNED's details,
    //  platform feature "detail"): each has_ false when not said.
    bool has_stage;
    asp_stage_t stage;                  //  the last stage reported
    int64_t appointment_ms;             //  0 = none
    int64_t end_ms;                     //  0 = no slot end
    char technician [ASPW_STR_MAX + 1];
    char note [ASPW_NOTE_MAX + 1];      //  the last note
} asp_partner_job_t;

//  A PROGRESS with every optional field (asp_partner_progress_ex). Zero
//  or NULL means absent.
typedef struct {
    asp_stage_t stage;
    const char *note;
    int64_t appointment_ms;     //  with ASP_STAGE_SCHEDULED: books or changes the appointment
    int64_t end_ms;             //  the slot's end (after appointment_ms; a booking only)
    const char *part;           //  the part waited for (ASP_STAGE_WAITING_PARTS)
    const char *technician;
} asp_partner_progress_t;

//  A COMPLETE with every optional field (asp_partner_complete_ex). NULL
//  means absent; fee < 0 means absent.
typedef struct {
    asp_result_t result;
    const char *note;
    const char *technician;
    const char *resolution;     //  1..64 characters of [a-z0-9_]
    const aspw_part_t *parts;   //  nparts of them, 0..64, qty 1..1000
    size_t nparts;
    int64_t fee;                //  0..100000000 minor currency units
} asp_partner_completion_t;

//  An ERROR from the platform.
typedef struct {
    const char *ref;        //  command refused ("" when not known)
    const char *wo_id;      //  "" when not about one work order
    const char *code;       //  bad_message, not_yours, offer_expired, ...
    const char *reason;     //  human-readable
    int64_t seq;            //  PROGRESS seq when given, else 0
    bool job_dropped;       //  the partner no longer holds wo_id
} asp_partner_error_t;

//  Log levels of the log handler.
typedef enum {
    ASP_PARTNER_LOG_DEBUG = 0, ASP_PARTNER_LOG_INFO, ASP_PARTNER_LOG_WARN, ASP_PARTNER_LOG_ERROR
} asp_partner_log_level_t;

typedef struct {
    //  A new work order is offered: answer with accept or decline before
    //  job->expires_ms. Required.
    void (*offer) (asp_partner_t *self, const asp_partner_job_t *job, void *arg);
    //  A work order is yours and this partner did not know it (for example
    //  after a restart): resume it. job->seq is the last PROGRESS seq the
    //  platform reported (0 when it did not say). Required.
    void (*assigned) (asp_partner_t *self, const asp_partner_job_t *job, void *arg);
    //  An offer is no longer yours (the platform said so, or it expired
    //  while the platform could not tell us). Do not start it. Optional.
    void (*withdraw) (asp_partner_t *self, const char *wo_id, const char *reason, void *arg);
    //  The platform refused a command for good. Optional.
    void (*error) (asp_partner_t *self, const asp_partner_error_t *error, void *arg);
    //  The platform recorded a command (ref ACCEPT, DECLINE, PROGRESS or
    //  COMPLETE; seq for PROGRESS). An ASSIGNED for a job whose ACCEPT was
    //  not confirmed yet also proves the ACCEPT recorded: it is reported
    //  here once, as ref ACCEPT with duplicate true. Optional.
    void (*confirm) (asp_partner_t *self, const char *ref, const char *wo_id,
                     int64_t seq, bool duplicate, void *arg);
    //  A WELCOME arrived (first connection or reconnection). Optional.
    void (*welcome) (asp_partner_t *self, const char *partner_id, void *arg);
    //  Something worth logging happened: msg, and fields as key, value
    //  pairs ending with NULL (the partner's id is always the first).
    //  Optional: without it the library says nothing.
    void (*log) (asp_partner_t *self, asp_partner_log_level_t level, const char *msg,
                 const char *const *fields, void *arg);
} asp_partner_handlers_t;

//  LISTED answered asp_partner_list: the ASSIGNED (assigned handler for
//  jobs this partner did not hold) and OFFERs it counts came before it.
//  (Set apart from asp_partner_handlers_t, whose layout partners' code
//  initialises positionally.)
typedef void (asp_partner_listed_fn) (asp_partner_t *self, int64_t assigned, int64_t offered, void *arg);
void asp_partner_set_listed (asp_partner_t *self, asp_partner_listed_fn *handler);

//  Settings; strings are copied by asp_partner_new. Zero means default.
typedef struct {
    const char *endpoint;           //  e.g. tcp://routing:7110 (required)
    const char *cert_file;          //  this partner's secret certificate (required)
    const char *server_key;         //  platform public key, Z85 (40 chars), or
    const char *server_cert_file;   //  the platform's public certificate file
    int capacity;                   //  1..1000 (default 1); asp_partner_set_capacity may drain to 0
    const char *skills;             //  comma list; NULL or "" = "*"
    const char *regions;            //  comma list; NULL or "" = "*"
    const char *software;           //  optional, sent in READY
    int heartbeat_ms;               //  until WELCOME says otherwise (1000)
    int liveness;                   //  until WELCOME says otherwise (3)
    int reconnect_ms;               //  first reconnect delay (1000)
    int reconnect_max_ms;           //  reconnect delay cap (32000)
} asp_partner_cfg_t;

typedef struct {
    uint64_t connects;          //  sockets opened
    uint64_t welcomes;          //  WELCOMEs received
    uint64_t received;          //  well-formed messages received
    uint64_t bad_messages;      //  messages ignored as malformed
    uint64_t sent;              //  messages handed to the socket
    uint64_t resends;           //  commands sent again
    uint64_t auto_declines;     //  offers declined because capacity was full
} asp_partner_stats_t;

//  Creates a partner on loop; does not connect yet. NULL with a reason in
//  err when the settings or certificates are unusable.
asp_partner_t *asp_partner_new (zloop_t *loop, const asp_partner_cfg_t *cfg,
                                const asp_partner_handlers_t *handlers, void *arg,
                                char *err, size_t errlen);
//  Says DISCONNECT when connected (accepted work orders stay ours), then
//  closes the socket and leaves the loop.
void asp_partner_destroy (asp_partner_t **self_p);
//  Connects and sends READY. 0, or -1 when already started.
int  asp_partner_start (asp_partner_t *self);

//  Actions. Each returns 0 when the command is queued (it is sent now if
//  connected, and kept until confirmed), -1 with asp_partner_errstr set when
//  it is refused locally (unknown work order, wrong state, bad field).
int  asp_partner_accept (asp_partner_t *self, const char *wo_id);
int  asp_partner_decline (asp_partner_t *self, const char *wo_id, const char *reason);
//  note may be NULL; appointment_ms 0 = none. Returns the seq used (>= 1)
//  or -1.
int64_t asp_partner_progress (asp_partner_t *self, const char *wo_id, asp_stage_t stage,
                              const char *note, int64_t appointment_ms);
//  The same with every optional field (end_ms, part, technician).
int64_t asp_partner_progress_ex (asp_partner_t *self, const char *wo_id,
                                 const asp_partner_progress_t *progress);
//  note, technician may be NULL.
int  asp_partner_complete (asp_partner_t *self, const char *wo_id, asp_result_t result,
                           const char *note, const char *technician);
//  The same with every optional field (resolution, parts, fee).
int  asp_partner_complete_ex (asp_partner_t *self, const char *wo_id,
                              const asp_partner_completion_t *completion);
//  Hands an accepted work order back (UNABLE; platform feature "unable"):
//  it goes to another partner. reason is any asp_unable_reason_t but
//  ASP_UNABLE_PARTNER_REMOVED; note may be NULL. The job stays accepted
//  (no more PROGRESS or COMPLETE) until the platform confirms, then is
//  dropped. 0 or -1.
int  asp_partner_unable (asp_partner_t *self, const char *wo_id, asp_unable_reason_t reason,
                         const char *note);
//  Asks for every open work order again (LIST; platform feature "list"):
//  ASSIGNED and OFFER as after READY, then the listed handler. 0, or -1
//  when not connected or the platform does not offer it.
int  asp_partner_list (asp_partner_t *self);
//  True when the platform's WELCOME offered feature (ASPW_FEATURE_*).
bool asp_partner_feature (asp_partner_t *self, const char *feature);
//  Changes capacity and sends READY again when connected: 0..1000, where
//  0 drains (no new offers; accepted work stays and can be finished). 0 or -1.
int  asp_partner_set_capacity (asp_partner_t *self, int capacity);

//  The job for wo_id, or NULL when not held. Valid until the next call
//  into the partner or the next loop event.
const asp_partner_job_t *asp_partner_job (asp_partner_t *self, const char *wo_id);
//  Jobs counted against capacity (offered or accepted, not completed).
size_t asp_partner_held (asp_partner_t *self);
int    asp_partner_capacity (asp_partner_t *self);
//  True between a WELCOME and the loss of that connection.
bool   asp_partner_connected (asp_partner_t *self);
//  The partner_id from WELCOME, else from the certificate's metadata, else "".
const char *asp_partner_id (asp_partner_t *self);
//  Why the last local call returned -1.
const char *asp_partner_errstr (asp_partner_t *self);
asp_partner_stats_t asp_partner_stats (asp_partner_t *self);
//  Number of commands waiting for CONFIRM or ERROR.
size_t asp_partner_pending (asp_partner_t *self);

//  Self test: runs a fake platform (ROUTER + zauth CURVE) in process.
void asp_partner_test (void);
#endif
