/*  asp_keys: the shard scheme every Redis key follows.

    Redis Cluster runs a script only when every key it touches hashes to one
    slot. So every key carries a hash tag naming one of ASP_SHARDS shards,
    "{s<n>}", and the shard of a key is the shard of the ticket it belongs
    to: a ticket's state, the inbox entries of the messages about it and the
    outbox entries those messages produce all live in one slot, and one
    script can change them together. The shard is also the unit that later
    spreads over cluster nodes and over several instances of a service.

    Keys (<n> the shard, 0..ASP_SHARDS-1):
      {s<n>}:in:<svc>:<msg id>    string: <svc> applied this message (inbox)
      {s<n>}:ob:<svc>:<dst>       hash: <svc>'s unacknowledged messages to <dst>
      {s<n>}:dl:<svc>:<dst>       hash: messages <dst> refused (dead letters)
      {s<n>}:<service keys>       each service's own keys (see its *_store.h
                                  or *_keys.h); built with asp_key_fmt or
                                  asp_txn_key, which add the tag.

    ASP_SHARDS is part of the data format: changing it re-homes every key,
    so it is a constant, not a setting.

    The shard of a ticket is FNV-1a of its id modulo ASP_SHARDS: any
    process computes it from the id alone, with no lookup.                  */
#ifndef ASP_KEYS_H
#define ASP_KEYS_H
#include <stdbool.h>
#include <stddef.h>
#include "asp_id.h"

#define ASP_SHARDS      16
//  Longest tag, "{s15}:", plus room: keys are built in buffers of
//  ASP_KEY_MAX bytes.
#define ASP_KEY_MAX     320

//  Shard of the ticket (or other owning id) id.
unsigned asp_shard_of (const char *id);
//  A new id (asp_id_new) whose shard is shard: a ticket that must live
//  beside a key of a known shard (e.g. its idempotency key). About
//  ASP_SHARDS tries, each a few hundred nanoseconds.
void asp_shard_id_new (char *buf, const char *prefix, unsigned shard);
//  Writes "{s<shard>}:" then the formatted rest into buf; returns the
//  length, or -1 (buf set to "") when it does not fit.
int asp_key_fmt (char *buf, size_t len, unsigned shard, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));

//  The key a service names with a pattern of its header (one %s, or none)
//  and an id, in shard: "{s<shard>}:" + pattern with id. Returns buf.
//  Asserts that it fits (services size buf ASP_KEY_MAX and ids are short).
const char *asp_key (char *buf, size_t len, unsigned shard, const char *pattern, const char *id);

void asp_keys_test (void);
#endif
