/*  rt_store: routing's state in Redis.

    Each step of a work order's life is one Lua script (the .lua files next
    to this one) run as an asp_txn: the guard, the state change and the bus
    event it produces (published through the transactional outbox) happen
    in one atomic step, or not at all. This class builds those txns and
    reads their replies; the caller runs many of them as one pipeline with
    asp_svc_commit. Partner commands carry no message id: the guards in the
    scripts make each of them idempotent.

    Keys, in the shard of the work order's ticket (asp_keys.h: "{s<n>}:" +
    name; a wo_id is "W" + its ticket id [+ "." + generation], asp_wo_id,
    so rt_wo_shard needs no lookup):
      rt:wo:<wo_id>   hash: one work order (fields in wo_common.lua)
      rt:open         sorted set: the shard's open work orders, scored by
                      creation time so a restart finds the pending ones in
                      FIFO order
      rt:unroutable   sorted set: the shard's work orders no partner could
                      fit (no_eligible_partner), scored by when; they leave
                      it when offered or cancelled
    and in the shard of a partner id (asp_shard_of):
      rt:scores       hash: partner id -> its quality score in ‰
                      (partner.scored), loaded at start
      rt:removed      hash: partner id -> "<ladder version>|<1 or 0>":
                      whether its three-strike ladder removed it
                      (partner.strike, the newest version kept), loaded at
                      start                                                 */
#ifndef RT_STORE_H
#define RT_STORE_H
#include "asp_rds.h"
#include "asp_txn.h"
#include "aspw_proto.h"
#include "rt_orders.h"
#include "rt_registry.h"

#define RT_KEY_WO    "rt:wo:%s"
#define RT_KEY_OPEN  "rt:open"
#define RT_KEY_UNROUTABLE "rt:unroutable"
#define RT_KEY_SCORES "rt:scores"
#define RT_KEY_REMOVED "rt:removed"

typedef struct rt_store_t rt_store_t;

//  The shard of a work order: its ticket's.
unsigned rt_wo_shard (const char *wo_id);

//  A work order as a script left it; the state is parsed once, here.
typedef struct {
    char why [64];                  //  reject code or stale reason
    bool found;                     //  false: the script saw no such work order
    asp_wo_state_t state;           //  when found
    char partner [RT_PARTNER_ID_MAX];
    int64_t attempt;
    int64_t seq;
} rt_view_t;

//  Fields of a ticket.created that routing keeps.
typedef struct {
    asp_kind_t kind;                //  the ticket's type
    asp_tier_t tier;
    int64_t priority;
    char category [ASPW_STR_MAX + 1];
    char region [ASPW_STR_MAX + 1];
    char summary [ASPW_STR_MAX + 1];    //  cut to the protocol's string limit
    char installer [RT_PARTNER_ID_MAX]; //  optional: partner id of the installer of record
    char area [ASPW_STR_MAX + 1];       //  optional: finer territory inside region
} rt_ticket_t;

//  Why a partner was offered a work order (workorder.offered).
typedef struct {
    asp_choice_t choice;
    int64_t score;                  //  the chosen partner's score (‰), -1 when unscored
    int64_t candidates;             //  eligible live partners with credit
    int64_t free;                   //  the chosen partner's free credit before the offer
} rt_why_t;

//  Registers the scripts on rds (borrowed).
rt_store_t *rt_store_new (asp_rds_t *rds);
void rt_store_destroy (rt_store_t **self_p);

//  Reads the ticket.created body strictly; -1 with a reason when unusable.
int rt_ticket_parse (const msgpack_object *body, rt_ticket_t *ticket, char *err, size_t errlen);

//  Creates the pending work order for a ticket, once per message id.
asp_txn_t *rt_store_create (rt_store_t *self, const char *wo_id, const char *ticket_id,
                            const char *trace, const rt_ticket_t *ticket, const char *msg_id);
//  A new work order generation for a re-dispatched ticket, once per
//  message id: previous (its current work order) is cancelled if still
//  open, wo_id created pending, in one step.
asp_txn_t *rt_store_redispatch (rt_store_t *self, const char *wo_id, const char *previous,
                                const char *ticket_id, const char *trace, const rt_ticket_t *ticket,
                                const char *msg_id);
//  Cancels a work order whose ticket was cancelled, once per message id
//  (a tombstone when it does not exist yet: a late ticket.created does not
//  revive it).
asp_txn_t *rt_store_cancel (rt_store_t *self, const char *wo_id, const char *msg_id);
//  Offers order to partner_id as attempt order->attempt + 1 (workorder.offered
//  with why); it leaves the unroutable queue, its override is used up.
asp_txn_t *rt_store_offer (rt_store_t *self, const rt_order_t *order, const char *partner_id,
                           const rt_why_t *why);
//  Records that order is unroutable for reason (workorder.unroutable),
//  once per reason: no_eligible_partner puts a pending order in the
//  unroutable queue; refusals_exceeded only marks it escalated.
asp_txn_t *rt_store_unroutable (rt_store_t *self, const rt_order_t *order,
                                asp_unroutable_reason_t reason);
//  ticket.override: the work order waits for partner_id (by: staff name),
//  once per message id. Refused for a work order that is not open, or
//  already accepted (stale).
asp_txn_t *rt_store_override (rt_store_t *self, const char *wo_id, const char *partner_id,
                              const char *by, const char *msg_id);
//  partner.scored: the score (‰) of partner_id, once per message id.
asp_txn_t *rt_store_score (rt_store_t *self, const char *partner_id, int64_t score,
                           const char *msg_id);
//  partner.strike: partner_id removed (or not) as of its ladder's version,
//  once per message id; an older version than the one kept is stale.
asp_txn_t *rt_store_removed (rt_store_t *self, const char *partner_id, int64_t version, bool removed,
                             const char *msg_id);
//  Withdraws offer attempt from partner_id (workorder.declined, reason).
//  exclude: the partner is not offered this work order again.
asp_txn_t *rt_store_withdraw (rt_store_t *self, const rt_order_t *order, const char *partner_id,
                              int64_t attempt, const char *reason, bool exclude);
//  ACCEPT, DECLINE, PROGRESS or COMPLETE from partner_id. order may be
//  NULL (not open in memory); the script decides.
asp_txn_t *rt_store_command (rt_store_t *self, const aspw_msg_t *cmd, const char *partner_id,
                             const rt_order_t *order);
//  A new bus event of type about work order wo_id (its ticket and trace
//  from order when the mirror has it), body {wo_id}; the caller adds fields.
asp_msg_t *rt_store_event (const char *type, const char *wo_id, const rt_order_t *order);
//  A txn of script on work order wo_id: in its shard, its hash as KEYS[1]
//  (what every wo_*.lua script expects, wo_common.lua); the caller adds
//  further keys and the arguments.
asp_txn_t *rt_store_wo_txn (asp_script_t *script, const char *wo_id);
//  Reads the reply of one of the txns above.
void rt_store_view (asp_txn_t *txn, rt_view_t *view);

//  Loads every open work order into orders (skipping those it already
//  has); assigned ones count against their partner; and the partners'
//  scores and removals. 0, or -1 when Redis failed (call again later).
int rt_store_load (rt_store_t *self, rt_orders_t *orders, rt_registry_t *registry, size_t *loaded);

//  Needs a redis-server on ASP_REDIS_PORT (skipped otherwise).
void rt_store_test (void);
#endif
