/*  notify_store: the notifications and their delivery queues, in Redis.

    The keys and the hash's fields are named in common/asp_notify_keys.h
    (intake reads them for its dead-letter view); the hash also holds what
    to send (text, subject, data, lang), to whom (channel, to, to_name,
    to_phone, to_email) and the contact hash the customer's name, phone,
    email, preferred channel, lang and tz from ticket.created.

    A worker serves a fixed set of shards. It moves one id per shard from
    pending to processing (LMOVE: atomic, so no two workers take the same
    one; all its shards in one round trip), sends each, and settles it with
    one script: delivered, or failed (scheduled for a retry, or dead). A
    crash between sending and settling leaves the id in processing; at
    start-up notify_store_recover puts it back in pending and it is sent
    again. So does a connection lost while claiming (Redis may have moved
    an id whose reply never came): the workers pause until the server has
    recovered processing again. That is at-least-once delivery; the notification id goes along
    as the Idempotency-Key so the receiver can drop the repeat. Recovery
    assumes one notification process per Redis (the deployment runs one).

    Before sending, the worker counts the attempt against the recipient's
    rate limit (notify_store_rate, in the shard of the recipient's address:
    a recipient spans tickets of every shard); over it, the notification
    goes back to the retry set until the next window (notify_store_defer),
    no attempt counted. Notifications scheduled when recorded (quiet hours,
    business hours: record.lua) wait in the same retry set.

    Delivered notifications expire after ASP_INBOX_TTL_S (as long as the
    inbox remembers the events that made them); dead letters stay until
    someone deals with them.

    A store wraps one asp_rds_t and is used by one thread.                  */
#ifndef NOTIFY_STORE_H
#define NOTIFY_STORE_H
#include "asp_id.h"
#include "asp_keys.h"
#include "asp_notify_keys.h"
#include "asp_outbox.h"
#include "asp_rds.h"
#include "asp_vocab.h"
#include <stdbool.h>
#include <stdint.h>

//  The short names notification's code uses (asp_notify_keys.h).
#define NOTIFY_KEY_NOTE       ASP_NOTIFY_KEY_NOTE
#define NOTIFY_KEY_CONTACT    ASP_NOTIFY_KEY_CONTACT
#define NOTIFY_KEY_PENDING    ASP_NOTIFY_KEY_PENDING
#define NOTIFY_KEY_PROCESSING ASP_NOTIFY_KEY_PROCESSING
#define NOTIFY_KEY_RETRY      ASP_NOTIFY_KEY_RETRY
#define NOTIFY_KEY_DEAD       ASP_NOTIFY_KEY_DEAD
#define NOTIFY_KEY_DEDUP      ASP_NOTIFY_KEY_DEDUP
#define NOTIFY_KEY_RATE       "notify:rate:%s"    //  <channel>:<digest of address>:<window>

//  When to try again and when to give up.
typedef struct {
    int max_attempts;           //  ASP_NOTIFY_RETRIES (8): attempts in all
    int64_t backoff_ms;         //  ASP_NOTIFY_BACKOFF_MS (1000): first delay
    int64_t backoff_max_ms;     //  ASP_NOTIFY_BACKOFF_MAX_MS (300000): cap
} notify_policy_t;

//  Reads the policy from the environment (exits 2 when invalid).
void    notify_policy_load (notify_policy_t *self);
//  Delay before the next attempt after `failed` failed attempts (>= 1):
//  backoff_ms * 2^(failed-1), capped, minus up to 20% random jitter so
//  many failures at once do not come back at the same moment.
int64_t notify_policy_delay_ms (const notify_policy_t *self, int failed, uint64_t rnd);

//  One notification as a worker sees it.
typedef struct {
    char id [ASP_ID_MAX];
    unsigned shard;             //  where its keys live
    char ticket [ASP_ID_MAX];
    char tpl [32];
    char audience [16];         //  customer, staff, ops
    char trace [64];            //  the trace of the event that made it
    char phone [64];            //  full number: mask before logging
    char email [256];
    asp_notify_channel_t channel;   //  as recorded (valid; the default if not)
    char to [256];              //  the address on that channel ("" none)
    char lang [16];
    char *text;                 //  the words for a person (owned)
    char *subject;              //  an e-mail's subject (owned)
    int attempts;               //  attempts made before this one
    bool urgent;                //  passes the rate limit (counted all the same)
    int64_t rate_max, rate_window_ms;   //  the channel's limit when recorded (0: none)
    char *json;                 //  the body to deliver (owned)
    size_t json_len;
} notify_item_t;

void notify_item_reset (notify_item_t *item);

typedef struct {
    int64_t pending, processing, retry, dead;
} notify_depths_t;

typedef struct notify_store_t notify_store_t;

//  Registers the delivery scripts on rds (borrowed; call before it connects
//  or the scripts are loaded only at the next reconnect). remote (borrowed,
//  may be NULL: nothing published) takes the events a settle commits: a
//  customer's notification delivered or dead tells intake
//  (notification.delivered, notification.dead) in the same script as
//  the settle, for the ticket's timeline; a retry tells nobody.
notify_store_t *notify_store_new (asp_rds_t *rds, const notify_policy_t *policy,
                                  asp_outbox_remote_t *remote);
void notify_store_destroy (notify_store_t **self_p);

//  A claimed notification: its id and shard.
typedef struct {
    char id [ASP_ID_MAX];
    unsigned shard;
} notify_claim_t;

//  Takes the oldest pending id of each shard first, first + step, ... (at
//  most max of them) into its processing list, in one round trip. The
//  number claimed (0: nothing pending there), or -1 when Redis is down.
int  notify_store_claim (notify_store_t *self, unsigned first, unsigned step,
                         notify_claim_t *claims, size_t max);
//  Loads a claimed notification and builds its JSON body. 0 ok, 1 when it
//  no longer exists (it is then taken off processing), -1 Redis down.
int  notify_store_load (notify_store_t *self, const notify_claim_t *claim, notify_item_t *item);
//  Settles a successful delivery by channel (the one it went by). 0, or -1
//  when Redis is down (try again: the delivery must be recorded, not
//  repeated).
int  notify_store_delivered (notify_store_t *self, const notify_item_t *item, asp_notify_channel_t channel);
//  What became of a failed attempt.
typedef enum {
    NOTIFY_FATE_RETRY,          //  scheduled for another attempt
    NOTIFY_FATE_DEAD,           //  moved to the dead letters
    NOTIFY_FATE_GONE            //  the notification no longer exists
} notify_fate_t;

//  Settles a failed attempt: a retry after the policy's delay, or a dead
//  letter after the last attempt or when permanent; *fate says which.
//  0, or -1 when Redis is down.
int  notify_store_failed (notify_store_t *self, const notify_item_t *item, asp_notify_channel_t channel,
                          const char *error, bool permanent, notify_fate_t *fate);
//  Counts this attempt against the rate limit of its recipient's address
//  to (on channel), in that address's shard. 0 to send now, 1 when over the
//  limit (*later: the next window's start), -1 Redis down. Nothing counted
//  without a limit or an address. Crash story: counted and then killed
//  before sending, the notification is sent after the restart and counted
//  again: the count errs high (a later one may wait), never low.
int  notify_store_rate (notify_store_t *self, const notify_item_t *item, asp_notify_channel_t channel,
                        const char *to, int64_t *later);
//  Puts a claimed notification back in the retry set until due, no
//  attempt counted (state deferred). 0, or -1 when Redis is down.
int  notify_store_defer (notify_store_t *self, const notify_item_t *item, int64_t due);
//  Moves up to limit due retries of each shard back to pending. Count
//  moved, or -1.
int  notify_store_promote (notify_store_t *self, int limit);
//  Moves everything in processing back to pending, every shard
//  (start-up). Count, or -1.
int  notify_store_recover (notify_store_t *self);
//  Queue lengths, summed over the shards, for the gauges. 0 or -1.
int  notify_store_depths (notify_store_t *self, notify_depths_t *depths);

void notify_store_test (void);
#endif
