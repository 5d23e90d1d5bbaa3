#include "rt_orders.h"
#include <assert.h>

struct rt_orders_t {
    zhashx_t *orders;               //  id -> rt_order_t, owned
    zlistx_t *pending;              //  FIFO of pending rt_order_t, borrowed
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
    for (size_t i = 0; i < self->nexcluded; i++)
        free (self->excluded [i]);
    free (self->excluded);
    free (self);
    *self_p = NULL;
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
    self->pending = zlistx_new ();
    return self;
}

void
rt_orders_destroy (rt_orders_t **self_p)
{
    rt_orders_t *self = *self_p;
    if (!self)
        return;
    //  Orders point at partners (not the other way round for ownership):
    //  release the partners' held sets so nothing dangles.
    for (rt_order_t *o = (rt_order_t *) zhashx_first (self->orders); o; o = (rt_order_t *) zhashx_next (self->orders))
        if (o->partner)
            zhashx_delete (o->partner->held, o->id);
    zlistx_destroy (&self->pending);
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
    order->queued = zlistx_add_end (self->pending, order);
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
    if (order->partner != partner) {
        if (order->partner)
            zhashx_delete (order->partner->held, order->id);
        if (partner)
            zhashx_insert (partner->held, order->id, order);
    }
    if (state == ASP_WO_PENDING && !order->queued)
        order->queued = front? zlistx_add_start (self->pending, order): zlistx_add_end (self->pending, order);
    else
    if (state != ASP_WO_PENDING && order->queued) {
        zlistx_detach (self->pending, order->queued);
        order->queued = NULL;
    }
    order->state = state;
    order->partner = partner;
    order->attempt = attempt;
}

void
rt_orders_remove (rt_orders_t *self, rt_order_t *order)
{
    if (order->partner)
        zhashx_delete (order->partner->held, order->id);
    order->partner = NULL;
    if (order->queued)
        zlistx_detach (self->pending, order->queued);
    order->queued = NULL;
    zhashx_delete (self->orders, order->id);
}

zlistx_t *
rt_orders_pending (rt_orders_t *self)
{
    return self->pending;
}

size_t
rt_orders_size (rt_orders_t *self)
{
    return zhashx_size (self->orders);
}

void
rt_orders_test (void)
{
    printf (" * rt_orders: ");
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
    assert (a && b && zlistx_size (rt_orders_pending (self)) == 2);
    assert (zlistx_first (rt_orders_pending (self)) == a);

    //  Offered then assigned: counted against the partner once.
    rt_orders_set (self, a, ASP_WO_OFFERED, p1, 1, false);
    assert (zhashx_size (p1->held) == 1 && zlistx_size (rt_orders_pending (self)) == 1);
    rt_orders_set (self, a, ASP_WO_ASSIGNED, p1, 1, false);
    assert (zhashx_size (p1->held) == 1);
    //  Declined back to pending at the head of the FIFO.
    rt_orders_set (self, b, ASP_WO_OFFERED, p2, 1, false);
    rt_orders_set (self, b, ASP_WO_PENDING, NULL, 1, true);
    rt_order_exclude (b, "P2");
    rt_order_exclude (b, "P2");
    assert (b->nexcluded == 1 && rt_order_excluded (b, "P2") && !rt_order_excluded (b, "P1"));
    assert (zhashx_size (p2->held) == 0 && zlistx_first (rt_orders_pending (self)) == b);
    //  Completion frees the credit.
    rt_orders_remove (self, a);
    assert (zhashx_size (p1->held) == 0 && rt_orders_size (self) == 1);
    rt_orders_set (self, b, ASP_WO_OFFERED, p1, 2, false);
    rt_orders_destroy (&self);
    assert (zhashx_size (p1->held) == 0);
    rt_registry_destroy (&registry);
    printf ("OK\n");
}
