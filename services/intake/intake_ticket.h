/*  intake_ticket: intake's keys, what a ticket's status is and how its
    timeline reads.

    Intake owns the ticket record and its timeline. Other services never
    write them: they publish events, and intake_events applies those here.

    Keys, each in the ticket's shard (asp_keys.h: "{s<n>}:" + name):
      t:<id>            hash: the ticket record
      t:<id>:tl         list: its timeline, one JSON entry per event
      t:<id>:survey     string: when the customer's survey answer came
      t:<id>:contacts   set: the ids of the repeat contacts joined to the
                        ticket (so a retried request is not counted twice)
      ix:status         hash, one per shard: status -> tickets in it (the
                        agent's queue counts sum the shards)
      ix:open           zset, one per shard: created_ms -> open ticket id
      ix:all            zset, one per shard: created_ms -> ticket id, every
                        ticket (list and search walk it, or ix:open)
      ix:owner          hash, one per shard: "<status>:<owner>" -> tickets
                        of that owner in that status (an agent's queue)
      ix:unroutable     zset, one per shard: since_ms -> ticket whose
                        work order no partner can take (routing's
                        workorder.unroutable), until it is offered or
                        assigned, re-dispatched, or the ticket ends
                        (GET /v1/queues/unroutable reads them)
      ix:ops            hash, one per shard: the ops view's counts of open
                        tickets: open:<type>, wait_customer (staff parked
                        it), wait_parts (its partner waits for parts)
      ix:feed           stream, one per shard, capped (about 20,000
                        entries): {id} for every ticket change, in the
                        same script (intake_ops' event stream reads it)
      ix:sla:due        zset, one per shard: the earliest warned due time
                        (ms) -> open ticket with a warned, unbreached
                        clock (sla.warning)
      ix:sla:breached   zset, one per shard: since_ms -> open ticket with
                        a breached clock; ix:sla:escalated: the same for
                        an escalated one (records: sla_level 1 warned,
                        2 breached, 3 escalated; sla_due_ms)
      idem:<key>        string: the ticket an Idempotency-Key created; it
                        lives in the key's shard, so a ticket created with
                        one is minted in that shard (asp_shard_id_new)
    This header is the one place that names them.                          */
#ifndef INTAKE_TICKET_H
#define INTAKE_TICKET_H
#include "asp_txn.h"
#include "asp_vocab.h"
#include <cjson/cJSON.h>
#include <stdint.h>

#define INTAKE_KEY_TICKET    "t:%s"
#define INTAKE_KEY_TIMELINE  "t:%s:tl"
#define INTAKE_KEY_SURVEY    "t:%s:survey"
#define INTAKE_KEY_CONTACTS  "t:%s:contacts"
#define INTAKE_KEY_IDEM      "idem:%s"
#define INTAKE_KEY_COUNTS    "ix:status"
#define INTAKE_KEY_OPEN      "ix:open"
#define INTAKE_KEY_ALL       "ix:all"
#define INTAKE_KEY_OWNER     "ix:owner"
#define INTAKE_KEY_UNROUTABLE "ix:unroutable"
#define INTAKE_KEY_OPS       "ix:ops"
#define INTAKE_KEY_FEED      "ix:feed"
#define INTAKE_KEY_SLA_DUE   "ix:sla:due"
#define INTAKE_KEY_SLA_BREACHED "ix:sla:breached"
#define INTAKE_KEY_SLA_ESCALATED "ix:sla:escalated"
#define INTAKE_KEY_RECOVERY  "t:%s:rc"
#define INTAKE_KEY_RECOVERY_INDEX "ix:recovery"

//  Adds the keys every ticket script starts with (ticket.lua: the record,
//  the timeline, the shard's status counts, open set, list of all tickets,
//  owners' counts, unroutable queue, ops counts, change feed and SLA risk sets;
//  K[1..TK]) to txn, which must be in the ticket's
//  shard.
void intake_ticket_keys (asp_txn_t *txn, const char *id);
//  Full key names for plain commands: fmt is one of INTAKE_KEY_*.
void intake_key (char *buf, size_t len, const char *fmt, const char *id);

//  The status an event moves a ticket to, and its rank (its asp_status_t:
//  statuses are ordered, and a ticket's rank only grows); NULL and 0 when
//  the event only adds to the timeline.
const char *intake_event_status (const char *event_type, int *rank);
//  A timeline entry: {"type":..,"time_ms":..,"data":data}. Takes data
//  (may be NULL). Returns a string the caller frees.
char *intake_timeline_entry (const char *type, int64_t time_ms, cJSON *data);

void intake_ticket_test (void);
#endif
