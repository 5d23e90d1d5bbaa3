/*  asp_notify_keys: notification's keys and fields, for the one service
    that writes them (services/notification, notify_store.h) and the ones
    that only read them (intake's dead-letter view, intake_notify.h).

    Every key lives in the shard of the notification's ticket (asp_keys.h:
    "{s<n>}:" + name), so one script in one slot records, settles or
    replays a notification:
      notify:n:<id>         hash: one notification (fields below)
      notify:contact:<tkt>  hash: the customer's contact, from ticket.created
      notify:pending        list: ids waiting for a worker (pushed left,
                            taken right)
      notify:processing     list: ids a worker took and has not settled
      notify:retry          sorted set: ids waiting for their next attempt
                            (score: due ms)
      notify:dead           list: dead letters, newest first (pushed left);
                            an id leaves it only by a replay
      notify:dd:<digest>    string: a rule's de-duplication window (PX)
      notify:rate:<ch>:<digest>:<n>  counter: a recipient's notifications
                            on channel ch in rate window n; lives in the
                            shard of the recipient's address, not a ticket's

    A notification id is "N" followed by 24 lowercase hex digits (a digest
    of its source message and template): it does not name its shard, so a
    reader looking one up by id alone asks every shard (ASP_SHARDS HGETs,
    one round trip).

    Only notification writes these keys (its C code through these names,
    its scripts record.lua, delivered.lua, failed.lua and replay.lua with
    the same words); the others read them.                                   */
#ifndef ASP_NOTIFY_KEYS_H
#define ASP_NOTIFY_KEYS_H
#include <stdbool.h>
#include <string.h>

#define ASP_NOTIFY_KEY_NOTE       "notify:n:%s"       //  notification id
#define ASP_NOTIFY_KEY_CONTACT    "notify:contact:%s" //  ticket id
#define ASP_NOTIFY_KEY_PENDING    "notify:pending"
#define ASP_NOTIFY_KEY_PROCESSING "notify:processing"
#define ASP_NOTIFY_KEY_RETRY      "notify:retry"
#define ASP_NOTIFY_KEY_DEAD       "notify:dead"
#define ASP_NOTIFY_KEY_DEDUP      "notify:dd:%s"      //  digest of ticket, recipient, template, clock

//  Fields of notify:n:<id> a reader may rely on.
#define ASP_NOTIFY_F_ID           "id"
#define ASP_NOTIFY_F_TICKET       "ticket"
#define ASP_NOTIFY_F_TEMPLATE     "template"
#define ASP_NOTIFY_F_CHANNEL      "channel"     //  an asp_notify_channel_t word
#define ASP_NOTIFY_F_TO           "to"          //  the address on it: unmasked, mask before showing
#define ASP_NOTIFY_F_STATE        "state"       //  ASP_NOTIFY_STATE_*
#define ASP_NOTIFY_F_ATTEMPTS     "attempts"    //  since it was recorded or last replayed
#define ASP_NOTIFY_F_LAST_ERROR   "last_error"
#define ASP_NOTIFY_F_DEAD_MS      "dead_ms"     //  when it became a dead letter
#define ASP_NOTIFY_F_REPLAYS      "replays"     //  how many times ops replayed it

//  The values of its state field (written by notification's scripts).
#define ASP_NOTIFY_STATE_QUEUED    "queued"
#define ASP_NOTIFY_STATE_SCHEDULED "scheduled"      //  waits in retry for quiet or business hours
#define ASP_NOTIFY_STATE_DEFERRED  "deferred"       //  waits in retry: over its recipient's rate limit
#define ASP_NOTIFY_STATE_DEDUPLICATED "deduplicated"    //  recorded, never sent: a repeat in the window
#define ASP_NOTIFY_STATE_RETRY     "retry"
#define ASP_NOTIFY_STATE_DELIVERED "delivered"
#define ASP_NOTIFY_STATE_DEAD      "dead"

//  True for a well-formed notification id ("N" + 24 lowercase hex digits).
static inline bool
asp_notify_id_valid (const char *id)
{
    if (!id || id [0] != 'N' || strlen (id) != 25)
        return false;
    for (int i = 1; i < 25; i++)
        if (!((id [i] >= '0' && id [i] <= '9') || (id [i] >= 'a' && id [i] <= 'f')))
            return false;
    return true;
}
#endif
