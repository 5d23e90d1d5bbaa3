/*  rt_orders: the open work orders, mirrored in memory.

    Redis holds the truth (one hash per work order, see the .lua scripts);
    this mirror lets routing choose partners and count credit without a
    round trip. It is loaded from Redis at start and changed only from the
    replies of the scripts, so it follows what was committed.

    rt_orders_set is the one place that moves an order between pending,
    offered and assigned: it keeps the pending queue (rt_queue: by class,
    in the order of offers) and each partner's held set (its used credit)
    in step with the order's state, and tells the release hook when a
    partner's credit frees.                                                */
#ifndef RT_ORDERS_H
#define RT_ORDERS_H
#include "asp_id.h"
#include "asp_vocab.h"
#include "rt_queue.h"
#include "rt_registry.h"

//  A work order id: "W" + its ticket id (routing's name for the common
//  limit, asp_id.h).
#define RT_WO_ID_MAX ASP_CHILD_ID_MAX

typedef struct rt_orders_t rt_orders_t;

struct rt_order_t {
    char id [RT_WO_ID_MAX];
    char ticket [ASP_ID_MAX];
    char trace [ASP_ID_MAX];
    asp_kind_t kind;
    asp_tier_t tier;
    char *category, *region, *summary;
    int64_t priority;
    asp_wo_state_t state;           //  never ASP_WO_COMPLETED: completed orders leave the mirror
    rt_partner_t *partner;          //  offered to / assigned to; NULL when pending
    int64_t attempt;                //  of the current (or last) offer
    int64_t expires;                //  monotonic ms when the current offer lapses
    int64_t seq;                    //  highest PROGRESS seq recorded
    char **excluded;                //  partners that declined it or let an offer lapse
    size_t nexcluded;
    int64_t excluded_at;            //  monotonic ms of the latest exclusion
    void *queued;                   //  its node in the pending queue, NULL when not pending
    char installer [RT_PARTNER_ID_MAX];     //  the unit's installer of record, "" when unknown
    char *area;                     //  finer territory inside region, "" when none
    int64_t refusals;               //  declines and lapses so far
    bool escalated;                 //  workorder.unroutable refusals_exceeded sent
    bool unroutable;                //  in the unroutable queue (no_eligible_partner)
    char override [RT_PARTNER_ID_MAX];      //  supervisor's choice waiting to be offered, or ""
};

rt_orders_t *rt_orders_new (void);
void rt_orders_destroy (rt_orders_t **self_p);

//  A new pending order; strings are copied (NULL counts as "").
rt_order_t *rt_order_new (const char *id, const char *ticket, const char *trace,
                          asp_kind_t kind, asp_tier_t tier, const char *category,
                          const char *region, const char *summary, int64_t priority);
void rt_order_destroy (rt_order_t **self_p);
void rt_order_exclude (rt_order_t *order, const char *partner_id);
bool rt_order_excluded (const rt_order_t *order, const char *partner_id);
//  Starts a new round of offers: every partner may be asked again.
void rt_order_clear_exclusions (rt_order_t *order);

//  Takes ownership of a new pending order and queues it (rt_queue_add).
//  Returns it, or NULL (and destroys it) when the id is known.
rt_order_t *rt_orders_insert (rt_orders_t *self, rt_order_t **order_p);
rt_order_t *rt_orders_lookup (rt_orders_t *self, const char *id);
//  Moves an order to state with partner (NULL when pending) and attempt.
//  A pending order goes to the head of its level when front, else the tail.
void rt_orders_set (rt_orders_t *self, rt_order_t *order, asp_wo_state_t state,
                    rt_partner_t *partner, int64_t attempt, bool front);
//  Forgets a completed order.
void rt_orders_remove (rt_orders_t *self, rt_order_t *order);
//  The pending orders (borrowed).
rt_queue_t *rt_orders_queue (rt_orders_t *self);
//  Called with a partner whenever an order stops counting against it
//  (its credit may have freed).
typedef void (rt_release_fn) (void *arg, rt_partner_t *partner);
void rt_orders_on_release (rt_orders_t *self, rt_release_fn *fn, void *arg);
//  Sets order->unroutable, keeping the count of unroutable orders.
void rt_orders_set_unroutable (rt_orders_t *self, rt_order_t *order, bool unroutable);
size_t rt_orders_unroutable (rt_orders_t *self);
//  Sets the area (copied; NULL = none).
void rt_order_set_area (rt_order_t *order, const char *area);
size_t rt_orders_size (rt_orders_t *self);

void rt_orders_test (void);
#endif
