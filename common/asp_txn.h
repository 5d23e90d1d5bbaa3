/*  asp_txn: one atomic state change in Redis and the messages it produces.

    A transaction is one EVALSHA of a service script. It carries the
    inbound message id (so the script applies it once: the idempotent
    consumer), the script's own keys and args, and candidate outgoing
    messages. The script decides; when it calls emit() the messages are
    written to the service's outbox in the same atomic step (the
    transactional outbox), and only then may the caller send them.

    Every transaction belongs to one shard (asp_keys.h): its inbox entry,
    its own keys and its outbox entries all carry that shard's hash tag,
    added here, so a script can never be handed a key of another slot and
    runs unchanged on Redis Cluster. Scripts follow the Lua prelude's
    convention (common/lua/prelude.lua): K[], A[], seen(), emit(), and a
    reply { code, emitted, why, extra... }.

    The script's code is parsed once into asp_txn_outcome_t; asp_txn adds
    ERROR for a Redis error reply and LOST when the connection failed (the
    script may or may not have run: the sender retries, and the outbox
    looks again for what may have been committed; see
    asp_txn_lost_total).

    Many transactions run as one pipeline: one round trip.                  */
#ifndef ASP_TXN_H
#define ASP_TXN_H
#include "asp_envelope.h"
#include "asp_events.h"
#include "asp_keys.h"
#include "asp_rds.h"

typedef struct asp_txn_t asp_txn_t;

typedef enum {
    ASP_TXN_NEW = 0,    //  not run yet
    ASP_TXN_OK,         //  applied (asp_txn_emitted says if messages were committed)
    ASP_TXN_DUP,        //  the message id was applied before: nothing done
    ASP_TXN_STALE,      //  a guard failed (late or out of order): nothing done
    ASP_TXN_REJECT,     //  invalid: asp_txn_reason says why; nothing done
    ASP_TXN_ERROR,      //  Redis answered an error (or an unknown code)
    ASP_TXN_LOST        //  no answer: unknown whether it ran
} asp_txn_outcome_t;

//  Reads ASP_INBOX_TTL_S (how long a message id is remembered); exits 2
//  when invalid. Call once at start, before any thread runs a txn.
void asp_txn_init (void);

//  A transaction of script in shard (0..ASP_SHARDS-1).
asp_txn_t *asp_txn_new (asp_script_t *script, unsigned shard);
void asp_txn_destroy (asp_txn_t **self_p);
//  Applies at most once per (service, message id).
void asp_txn_inbox (asp_txn_t *self, const char *msg_id);
//  Adds a key: "{s<shard>}:" followed by the formatted name.
void asp_txn_key (asp_txn_t *self, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
void asp_txn_arg (asp_txn_t *self, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
void asp_txn_argb (asp_txn_t *self, const void *data, size_t len);
//  Adds one argument holding the whole map, msgpack-encoded (the script
//  reads it with arg(i)); takes ownership of the map.
void asp_txn_arg_map (asp_txn_t *self, asp_mpmap_t **map_p);
//  Adds msg for one destination; takes ownership.
void asp_txn_send (asp_txn_t *self, asp_svc_id_t dst, asp_msg_t **msg_p);
//  Adds msg for every subscriber of its type; takes ownership.
void asp_txn_publish (asp_txn_t *self, asp_msg_t **msg_p);
//  The same for an event its publisher also consumes from others (e.g.
//  ticket.closed, which intake and feedback both publish and receive):
//  every subscriber but me.
void asp_txn_publish_others (asp_txn_t *self, asp_svc_id_t me, asp_msg_t **msg_p);

//  Runs txns as one pipeline against rds on behalf of service self_svc.
//  Afterwards each txn has its outcome and reply. Returns 0, or -1 when
//  Redis was unreachable or the connection failed (outcome LOST where
//  unknown).
int asp_txn_exec (asp_rds_t *rds, asp_svc_id_t self_svc, asp_txn_t **txns, size_t count);

asp_txn_outcome_t asp_txn_outcome (asp_txn_t *self);
//  "ok", "dup", ... for logs and metrics.
const char *asp_txn_outcome_name (asp_txn_outcome_t outcome);
//  True for OK, DUP, STALE and REJECT: Redis answered the script.
bool asp_txn_known (asp_txn_t *self);
unsigned asp_txn_shard (asp_txn_t *self);
//  How many transactions, in this process, ever ended LOST after they
//  were sent (their script may have committed messages nobody holds in
//  memory). The outbox watches it and rereads its Redis hashes.
uint64_t asp_txn_lost_total (void);
//  The reason (why) of a stale, reject or error, else "".
const char *asp_txn_reason (asp_txn_t *self);
//  The raw reply (owned by the txn), NULL before exec or when lost.
const redisReply *asp_txn_reply (asp_txn_t *self);
//  Element i of the reply array as a string (NULL if absent / not a
//  string); 3 and up are the script's extra values.
const char *asp_txn_reply_str (asp_txn_t *self, size_t i);
//  True when the script committed the candidate messages.
bool asp_txn_emitted (asp_txn_t *self);
size_t asp_txn_out_count (asp_txn_t *self);
//  Outgoing message i: its destination, id and encoded bytes (owned by txn).
void asp_txn_out (asp_txn_t *self, size_t i, asp_svc_id_t *dst, const char **id,
                  const char **data, size_t *size);
//  Free slot for the caller (e.g. whom to acknowledge).
void  asp_txn_set_user (asp_txn_t *self, void *user);
void *asp_txn_user (asp_txn_t *self);

//  Test support: commits a message from self_svc to dst about ticket with
//  a script that outlasts a 100 ms client timeout, so that its reply is
//  lost after Redis applied it (outcome LOST, counted); the message id
//  goes into msg_id (ASP_ID_MAX bytes). Needs ASP_REDIS_PORT's Redis.
void asp_txn_test_lost (asp_svc_id_t self_svc, asp_svc_id_t dst, const char *ticket, char *msg_id);

void asp_txn_test (void);
#endif
