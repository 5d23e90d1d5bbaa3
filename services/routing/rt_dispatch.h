/*  rt_dispatch: which pending work order goes to which partner, in order.

    Eligibility of a partner for a work order (rt_dispatch_eligible, the
    one function): active in the registry, its READY's skills and regions
    fit, and its registry record (when it has one) admits the order
    (rt_profile_admits: categories, kinds, regions, areas, express, hours).
    Candidates are the eligible partners that are live, have free credit
    and have not refused this work order. The choice among them: the
    order's installer of record when it is a candidate (original_installer);
    else the highest score (unscored partners count as the prior), then the
    most free credit, then the one offered least recently (best_score).

    The cost of a choice is the available partners of the order's class
    (rt_index), never partners × backlog; the orders looked at are those of
    the classes a change touched (rt_queue). An order nobody can take yet
    is passed over; one no fitting live partner would take (all refused
    it) is parked until its refusals age (the round) or a fitting partner
    comes. One no partner could ever fit is *unroutable*: parked,
    reported once, looked at again when a fitting partner comes, or after
    a round. "Could ever" ignores liveness, credit and hours: a partner
    whose READY covers the order and whose record (if any) admits it, or
    a registered partner whose record admits it, connected or not (its
    READY wakes the order). Looking through the registry costs its
    partners, but only for an order about to be called unroutable, once
    a round for orders alike. A supervisor's override holds the
    order for that partner (any territory, skill, tier or refusal) until
    it is live with credit.

    The caller turns each decision into a Redis step: after RT_NEXT_OFFER
    it moves the order to offered (rt_orders_set), which takes it out of
    the queue, before asking for the next one.                            */
#ifndef RT_DISPATCH_H
#define RT_DISPATCH_H
#include "rt_index.h"
#include "rt_orders.h"
#include "rt_store.h"

typedef struct rt_dispatch_t rt_dispatch_t;

typedef enum {
    RT_NEXT_NONE = 0,               //  nothing more this round
    RT_NEXT_OFFER,                  //  offer order to partner, for why
    RT_NEXT_UNROUTABLE              //  order is unroutable (parked): record it
} rt_next_t;

//  registry and orders are borrowed. score_prior: the score (‰) of an
//  unscored partner; round_ms: how long a refusal keeps a partner away.
rt_dispatch_t *rt_dispatch_new (rt_registry_t *registry, rt_orders_t *orders, int64_t score_prior,
                                int64_t round_ms);
void rt_dispatch_destroy (rt_dispatch_t **self_p);

bool rt_dispatch_eligible (const rt_partner_t *partner, const rt_order_t *order, int64_t now_epoch_ms,
                           const char **why);
//  No unroutable verdict before this monotonic time (after a start, the
//  partners have not reconnected yet).
void rt_dispatch_grace (rt_dispatch_t *self, int64_t until_mono);
//  The partner's READY or record changed: re-indexed; the parked orders
//  of its classes come back.
void rt_dispatch_partner (rt_dispatch_t *self, rt_partner_t *partner);
//  Before the registry forgets a partner: out of the index.
void rt_dispatch_forget (rt_dispatch_t *self, rt_partner_t *partner);
//  The partner may have free credit: its classes are looked at again.
void rt_dispatch_credit (rt_dispatch_t *self, rt_partner_t *partner);
//  Holds order for partner_id (order->override), offered when it can be.
void rt_dispatch_override (rt_dispatch_t *self, rt_order_t *order, const char *partner_id);

//  Starts a round; then call next until RT_NEXT_NONE, or stop.
void rt_dispatch_round (rt_dispatch_t *self);
rt_next_t rt_dispatch_next (rt_dispatch_t *self, int64_t now_mono, int64_t now_epoch,
                            rt_order_t **order, rt_partner_t **partner, rt_why_t *why);
//  Ends the round early (the batch is full): the rest stays touched.
void rt_dispatch_stop (rt_dispatch_t *self);
//  Parked orders whose time came back into the rounds; true when any did.
bool rt_dispatch_tick (rt_dispatch_t *self, int64_t now_mono);

void rt_dispatch_test (void);
#endif
