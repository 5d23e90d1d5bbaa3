/*  asp_txn: one atomic state change in Redis and the messages it produces.

    A transaction is one EVALSHA of a service script. It carries the
    inbound message id (so the script applies it once: the idempotent
    consumer), the script's own keys and args, and candidate outgoing
    messages. The script decides; when it calls emit() the messages are
    written to the service's outbox in the same atomic step (the
    transactional outbox), and only then may the caller send them.

    Script replies are { code, emitted, ... } with code one of
        ok      applied (emitted says whether messages were committed)
        dup     the message id was applied before: nothing done
        stale   a guard failed (late or out-of-order message): nothing done
        reject  invalid: third element is the reason
    asp_txn adds "error" for a Redis error reply and "lost" when the
    connection failed (nothing known: the sender will retry).

    Many transactions run as one pipeline: one round trip.                  */
#ifndef ASP_TXN_H
#define ASP_TXN_H
#include "asp_envelope.h"
#include "asp_events.h"
#include "asp_rds.h"

typedef struct asp_txn_t asp_txn_t;

asp_txn_t *asp_txn_new (asp_script_t *script);
void asp_txn_destroy (asp_txn_t **self_p);
//  Applies at most once per (service, message id).
void asp_txn_inbox (asp_txn_t *self, const char *msg_id);
void asp_txn_key (asp_txn_t *self, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
void asp_txn_arg (asp_txn_t *self, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
void asp_txn_argb (asp_txn_t *self, const void *data, size_t len);
//  Adds msg for one destination; takes ownership.
void asp_txn_send (asp_txn_t *self, asp_svc_id_t dst, asp_msg_t **msg_p);
//  Adds msg for every subscriber of its type; takes ownership.
void asp_txn_publish (asp_txn_t *self, asp_msg_t **msg_p);

//  Runs txns as one pipeline against rds on behalf of service self_svc.
//  Afterwards each txn has its code and reply. Returns 0, or -1 when Redis
//  was unreachable or the connection failed (codes "lost" where unknown).
int asp_txn_exec (asp_rds_t *rds, asp_svc_id_t self_svc, asp_txn_t **txns, size_t count);

const char *asp_txn_code (asp_txn_t *self);
bool asp_txn_is (asp_txn_t *self, const char *code);
//  The reason of a reject or an error, else "".
const char *asp_txn_reason (asp_txn_t *self);
//  The raw reply (owned by the txn), NULL before exec or when lost.
const redisReply *asp_txn_reply (asp_txn_t *self);
//  Element i of the reply array as a string (NULL if absent / not a string).
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

void asp_txn_test (void);
#endif
