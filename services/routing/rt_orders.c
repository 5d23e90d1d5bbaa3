#include "rt_orders.h"
#include <assert.h>

struct rt_orders_t {
    zhashx_t *orders;               //  id -> rt_order_t, owned
    rt_queue_t *pending;            //  pending rt_order_t, borrowed
    rt_release_fn *on_release;
    void *release_arg;
    size_t unroutable;
};

static char *
s_dup (const char *s)
{
    char *copy = strdup (s? s: "");
    assert (copy);
    return copy;
}

rt_order_t *
rt_order_new (const char *id, const char *ticket, const char *trace, asp_kind_t kind,
              asp_tier_t tier, const char *category, const char *region, const char *summary,
              int64_t priority)
{
    rt_order_t *self = (rt_order_t *) calloc (1, sizeof *self);
    assert (self);
    snprintf (self->id, sizeof self->id, "%s", id);
    snprintf (self->ticket, sizeof self->ticket, "%s", ticket? ticket: "");
    snprintf (self->trace, sizeof self->trace, "%s", trace? trace: "");
    self->kind = kind;
    self->tier = tier;
    self->category = s_dup (category);
    self->region = s_dup (region);
    self->summary = s_dup (summary);
    self->area = s_dup (NULL);
    self->priority = priority;
    self->state = ASP_WO_PENDING;
    return self;
}

void
rt_order_destroy (rt_order_t **self_p)
{
    rt_order_t *self = *self_p;
    if (!self)
        return;
    free (self->category);
    free (self->region);
    free (self->summary);
    free (self->area);
    for (size_t i = 0; i < self->nexcluded; i++)
        free (self->excluded [i]);
    free (self->excluded);
    free (self);
    *self_p = NULL;
}

void
rt_order_set_area (rt_order_t *order, const char *area)
{
    free (order->area);
    order->area = s_dup (area);
}

void
rt_order_exclude (rt_order_t *order, const char *partner_id)
{
    if (rt_order_excluded (order, partner_id))
        return;
    order->excluded = (char **) realloc (order->excluded, (order->nexcluded + 1) * sizeof (char *));
    assert (order->excluded);
    order->excluded [order->nexcluded++] = s_dup (partner_id);
    order->excluded_at = asp_mono_ms ();
}

void
rt_order_clear_exclusions (rt_order_t *order)
{
    for (size_t i = 0; i < order->nexcluded; i++)
        free (order->excluded [i]);
    free (order->excluded);
    order->excluded = NULL;
    order->nexcluded = 0;
}

bool
rt_order_excluded (const rt_order_t *order, const char *partner_id)
{
    for (size_t i = 0; i < order->nexcluded; i++)
        if (strcmp (order->excluded [i], partner_id) == 0)
            return true;
    return false;
}

static void
s_order_free (void **item)
{
    rt_order_destroy ((rt_order_t **) item);
}

rt_orders_t *
rt_orders_new (void)
{
    rt_orders_t *self = (rt_orders_t *) calloc (1, sizeof *self);
    assert (self);
    self->orders = zhashx_new ();
    zhashx_set_destructor (self->orders, s_order_free);
    self->pending = rt_queue_new ();
    return self;
}

void
rt_orders_destroy (rt_orders_t **self_p)
{
    rt_orders_t *self = *self_p;
    if (!self)
        return;
    //  Orders point at partners (not the other way round for ownership):
    //  release the partners' held sets so nothing dangles. Each leaves the
    //  queue: one held for an override partner is in none of its lists.
    for (rt_order_t *o = (rt_order_t *) zhashx_first (self->orders); o; o = (rt_order_t *) zhashx_next (self->orders)) {
        if (o->partner)
            zhashx_delete (o->partner->held, o->id);
        rt_queue_remove (self->pending, o);
    }
    rt_queue_destroy (&self->pending);
    zhashx_destroy (&self->orders);
    free (self);
    *self_p = NULL;
}

rt_order_t *
rt_orders_insert (rt_orders_t *self, rt_order_t **order_p)
{
    rt_order_t *order = *order_p;
    *order_p = NULL;
    if (zhashx_lookup (self->orders, order->id)) {
        rt_order_destroy (&order);
        return NULL;
    }
    zhashx_insert (self->orders, order->id, order);
    order->state = ASP_WO_PENDING;
    order->partner = NULL;
    rt_queue_add (self->pending, order, false);
    return order;
}

rt_order_t *
rt_orders_lookup (rt_orders_t *self, const char *id)
{
    return (rt_order_t *) zhashx_lookup (self->orders, id);
}

void
rt_orders_set (rt_orders_t *self, rt_order_t *order, asp_wo_state_t state, rt_partner_t *partner,
               int64_t attempt, bool front)
{
    assert ((state == ASP_WO_PENDING) == (partner == NULL));
    rt_partner_t *released = NULL;
    if (order->partner != partner) {
        if (order->partner) {
            zhashx_delete (order->partner->held, order->id);
            released = order->partner;
        }
        if (partner)
            zhashx_insert (partner->held, order->id, order);
    }
    order->state = state;
    order->partner = partner;
    order->attempt = attempt;
    if (state == ASP_WO_PENDING && !order->queued)
        rt_queue_add (self->pending, order, front);
    else
    if (state != ASP_WO_PENDING && order->queued)
        rt_queue_remove (self->pending, order);
    if (released && self->on_release)
        self->on_release (self->release_arg, released);
}

void
rt_orders_remove (rt_orders_t *self, rt_order_t *order)
{
    rt_partner_t *released = order->partner;
    if (released)
        zhashx_delete (released->held, order->id);
    order->partner = NULL;
    rt_queue_remove (self->pending, order);
    rt_orders_set_unroutable (self, order, false);
    zhashx_delete (self->orders, order->id);
    if (released && self->on_release)
        self->on_release (self->release_arg, released);
}

rt_queue_t *
rt_orders_queue (rt_orders_t *self)
{
    return self->pending;
}

void
rt_orders_on_release (rt_orders_t *self, rt_release_fn *fn, void *arg)
{
    self->on_release = fn;
    self->release_arg = arg;
}

void
rt_orders_set_unroutable (rt_orders_t *self, rt_order_t *order, bool unroutable)
{
    if (order->unroutable != unroutable)
        self->unroutable += unroutable? 1: (size_t) -1;
    order->unroutable = unroutable;
}

size_t
rt_orders_unroutable (rt_orders_t *self)
{
    return self->unroutable;
}

size_t
rt_orders_size (rt_orders_t *self)
{
    return zhashx_size (self->orders);
}

static void
s_test_released (void *arg, rt_partner_t *partner)
{
    *(rt_partner_t **) arg = partner;
}

void
rt_orders_test (void)
{
    printf (" * rt_orders: ");
    rt_partner_t *released = NULL;
    rt_registry_t *registry = rt_registry_new ();
    rt_partner_t *p1 = rt_registry_partner (registry, "P1", true);
    rt_partner_t *p2 = rt_registry_partner (registry, "P2", true);
    rt_orders_t *self = rt_orders_new ();
    rt_order_t *a = rt_order_new ("WTa", "Ta", "tr1", ASP_KIND_REPAIR, ASP_TIER_STANDARD, "heater", "sh", "leaks", 3);
    rt_order_t *b = rt_order_new ("WTb", "Tb", NULL, ASP_KIND_REPAIR, ASP_TIER_EXPRESS, "ac", "sh", NULL, 1);
    rt_order_t *dup = rt_order_new ("WTa", "Ta", NULL, ASP_KIND_REPAIR, ASP_TIER_STANDARD, NULL, NULL, NULL, 3);
    assert (rt_orders_insert (self, &a) && !a);
    assert (rt_orders_insert (self, &b));
    assert (rt_orders_insert (self, &dup) == NULL && !dup);
    a = rt_orders_lookup (self, "WTa");
    b = rt_orders_lookup (self, "WTb");
    assert (a && b && rt_queue_size (rt_orders_queue (self)) == 2);
    rt_orders_on_release (self, s_test_released, &released);

    //  Offered then assigned: counted against the partner once.
    rt_orders_set (self, a, ASP_WO_OFFERED, p1, 1, false);
    assert (zhashx_size (p1->held) == 1 && rt_queue_size (rt_orders_queue (self)) == 1 && !a->queued);
    rt_orders_set (self, a, ASP_WO_ASSIGNED, p1, 1, false);
    assert (zhashx_size (p1->held) == 1 && released == NULL);
    //  Declined back to pending at the head of the FIFO.
    rt_orders_set (self, b, ASP_WO_OFFERED, p2, 1, false);
    rt_orders_set (self, b, ASP_WO_PENDING, NULL, 1, true);
    rt_order_exclude (b, "P2");
    rt_order_exclude (b, "P2");
    assert (b->nexcluded == 1 && rt_order_excluded (b, "P2") && !rt_order_excluded (b, "P1"));
    assert (zhashx_size (p2->held) == 0 && b->queued && released == p2);
    //  Completion frees the credit.
    rt_orders_set_unroutable (self, b, true);
    rt_orders_set_unroutable (self, b, true);
    assert (rt_orders_unroutable (self) == 1);
    rt_orders_remove (self, a);
    assert (zhashx_size (p1->held) == 0 && rt_orders_size (self) == 1 && released == p1);
    rt_orders_set (self, b, ASP_WO_OFFERED, p1, 2, false);
    assert (rt_queue_size (rt_orders_queue (self)) == 0);
    rt_orders_destroy (&self);
    assert (zhashx_size (p1->held) == 0);
    rt_registry_destroy (&registry);
    printf ("OK\n");
}
