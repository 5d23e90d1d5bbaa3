/*  rt_queue: the pending work orders, by class, in the order of offers.

    A class is a (category, region) pair. Each class keeps its queued
    orders express first, then priority ascending (1 = most urgent), then
    first come first served: one FIFO per (tier, priority) level, so adding
    and removing cost O(1) whatever the backlog.

    Dispatch never walks the whole backlog. A change that may allow an
    offer touches the classes it concerns (a new order: its class; credit
    freed or a partner READY: the classes of the partner's skills and
    regions, "*" matching every one). A round looks only at the touched
    classes, through a heap of their next orders, so express and urgent
    work is offered first across classes; the dispatcher passes over an
    order it cannot place yet, or ends a class for the round when nothing
    can take its work.

    An order may be parked: out of the rounds until something wakes it.
    A wakeable one (unroutable, or refused by every fitting partner) comes
    back when its class is woken (a fitting partner READY or changed); a
    held one (waiting for an override partner) only by rt_queue_unpark.

    The queue does not own the orders (rt_orders does); it keeps a node in
    order->queued while the order is in it.                                */
#ifndef RT_QUEUE_H
#define RT_QUEUE_H
#include <stdbool.h>
#include <stddef.h>

typedef struct rt_queue_t rt_queue_t;
typedef struct rt_order_t rt_order_t;     //  rt_orders.h

rt_queue_t *rt_queue_new (void);
void rt_queue_destroy (rt_queue_t **self_p);

//  Queues a pending order in its class at the tail of its level (at the
//  head when front: it was offered before) and touches the class.
void rt_queue_add (rt_queue_t *self, rt_order_t *order, bool front);
//  Takes the order out, queued or parked.
void rt_queue_remove (rt_queue_t *self, rt_order_t *order);
//  Parks a queued order: wakeable, or held until rt_queue_unpark.
void rt_queue_park (rt_queue_t *self, rt_order_t *order, bool wakeable);
bool rt_queue_parked (const rt_order_t *order);
//  Back into the rounds, ahead of its level (it waited longest).
void rt_queue_unpark (rt_queue_t *self, rt_order_t *order);

//  Touches the classes a partner with this skill and region may serve
//  ("*" matches every category or region).
void rt_queue_touch (rt_queue_t *self, const char *skill, const char *region);
//  Same, and their wakeable parked orders come back into the rounds.
void rt_queue_wake (rt_queue_t *self, const char *skill, const char *region);

//  Starts a round over the classes touched since the last one.
void rt_queue_round (rt_queue_t *self);
//  The next order of the round (the best next order of the touched
//  classes), or NULL when the round is over.
rt_order_t *rt_queue_peek (rt_queue_t *self);
//  The peeked order stays where it is; the round moves past it.
void rt_queue_pass (rt_queue_t *self);
//  Ends the peeked order's class for this round.
void rt_queue_end_class (rt_queue_t *self);
//  Ends the round early: the classes it did not finish stay touched.
void rt_queue_stop (rt_queue_t *self);

//  Orders in the queue, parked ones included.
size_t rt_queue_size (rt_queue_t *self);

void rt_queue_test (void);
#endif
