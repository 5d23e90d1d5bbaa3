#include "rt_dispatch.h"
#include "rt_deadlines.h"
#include "asp_log.h"
#include <assert.h>

//  Orders a round may pass over (none of their partners has credit now)
//  before it stops: the rest waits for the next change or tick.
#define S_PASS_MAX 4096

struct rt_dispatch_t {
    rt_registry_t *registry;
    rt_orders_t *orders;
    rt_index_t *index;
    rt_deadlines_t *parked;         //  when parked orders come back (key wo_id)
    zlistx_t *overrides;            //  wo_ids held for an override partner (strings)
    bool overrides_due;             //  something changed that may let one go
    int64_t score_prior;
    int64_t round_ms;
    int64_t grace_until;
    bool grace_over;
    size_t passes;                  //  in this round
    //  s_registered's last answer, for orders alike in the same round
    char memo [4 * (ASPW_STR_MAX + 1) + 24];
    bool memo_fits;
};

rt_dispatch_t *
rt_dispatch_new (rt_registry_t *registry, rt_orders_t *orders, int64_t score_prior, int64_t round_ms)
{
    rt_dispatch_t *self = (rt_dispatch_t *) calloc (1, sizeof *self);
    assert (self);
    self->registry = registry;
    self->orders = orders;
    self->index = rt_index_new ();
    self->parked = rt_deadlines_new ();
    self->overrides = zlistx_new ();
    zlistx_set_destructor (self->overrides, (zlistx_destructor_fn *) zstr_free);
    zlistx_set_duplicator (self->overrides, (zlistx_duplicator_fn *) strdup);
    zlistx_set_comparator (self->overrides, (zlistx_comparator_fn *) strcmp);
    self->score_prior = score_prior;
    self->round_ms = round_ms;
    self->grace_over = true;
    return self;
}

void
rt_dispatch_destroy (rt_dispatch_t **self_p)
{
    rt_dispatch_t *self = *self_p;
    if (!self)
        return;
    zlistx_destroy (&self->overrides);
    rt_deadlines_destroy (&self->parked);
    rt_index_destroy (&self->index);
    free (self);
    *self_p = NULL;
}

bool
rt_dispatch_eligible (const rt_partner_t *partner, const rt_order_t *order, int64_t now_epoch_ms,
                      const char **why)
{
    if (rt_profile_status (partner->profile) != ASP_PARTNER_ACTIVE) {
        *why = "not_active";
        return false;
    }
    if (partner->removed) {
        *why = "removed";
        return false;
    }
    if (!rt_partner_fits (partner, order->category, order->region)) {
        *why = "ready_does_not_fit";
        return false;
    }
    return rt_profile_admits (partner->profile, order->kind, order->tier, order->category,
                              order->region, order->area, now_epoch_ms, why);
}

void
rt_dispatch_grace (rt_dispatch_t *self, int64_t until_mono)
{
    self->grace_until = until_mono;
    self->grace_over = false;
}

//  --------------------------------------------------------------------------
//  Changes

void
rt_dispatch_partner (rt_dispatch_t *self, rt_partner_t *partner)
{
    rt_index_set (self->index, partner);
    rt_queue_t *queue = rt_orders_queue (self->orders);
    for (size_t i = 0; i < partner->nskills; i++)
        for (size_t j = 0; j < partner->nregions; j++)
            rt_queue_wake (queue, partner->skills [i], partner->regions [j]);
    self->overrides_due = zlistx_size (self->overrides) > 0;
}

void
rt_dispatch_forget (rt_dispatch_t *self, rt_partner_t *partner)
{
    rt_index_remove (self->index, partner);
}

void
rt_dispatch_credit (rt_dispatch_t *self, rt_partner_t *partner)
{
    if (!rt_partner_live (partner) || rt_partner_free (partner) == 0)
        return;
    rt_index_avail (self->index, partner);
    rt_queue_t *queue = rt_orders_queue (self->orders);
    for (size_t i = 0; i < partner->nskills; i++)
        for (size_t j = 0; j < partner->nregions; j++)
            rt_queue_touch (queue, partner->skills [i], partner->regions [j]);
    self->overrides_due = zlistx_size (self->overrides) > 0;
}

//  Holds order (its override is set) until its partner can take it.
static void
s_hold (rt_dispatch_t *self, rt_order_t *order)
{
    if (order->queued)
        rt_queue_park (rt_orders_queue (self->orders), order, false);
    if (!zlistx_find (self->overrides, order->id))
        zlistx_add_end (self->overrides, order->id);
    self->overrides_due = true;
}

void
rt_dispatch_override (rt_dispatch_t *self, rt_order_t *order, const char *partner_id)
{
    snprintf (order->override, sizeof order->override, "%s", partner_id);
    s_hold (self, order);
}

//  --------------------------------------------------------------------------
//  The choice

typedef struct {
    rt_dispatch_t *self;
    const rt_order_t *order;
    int64_t now;
    rt_partner_t *best, *installer;
    int64_t best_score, best_free;
    int64_t candidates;
    int64_t fitting;                //  s_fits: eligible partners (any state)
    int64_t open;                   //  s_fits: of those, live and not refused
} s_pick_t;

static bool
s_candidate (void *arg, rt_partner_t *p)
{
    s_pick_t *pick = (s_pick_t *) arg;
    const char *why;
    if (rt_order_excluded (pick->order, p->id) || !rt_dispatch_eligible (p, pick->order, pick->now, &why))
        return true;
    pick->candidates++;
    if (*pick->order->installer && streq (p->id, pick->order->installer))
        pick->installer = p;
    int64_t score = p->score >= 0? p->score: pick->self->score_prior;
    int64_t free_credit = rt_partner_free (p);
    if (!pick->best || score > pick->best_score
    || (score == pick->best_score && (free_credit > pick->best_free
    || (free_credit == pick->best_free && p->last_offer < pick->best->last_offer)))) {
        pick->best = p;
        pick->best_score = score;
        pick->best_free = free_credit;
    }
    return true;
}

static bool
s_fits (void *arg, rt_partner_t *p)
{
    s_pick_t *pick = (s_pick_t *) arg;
    const char *why;
    if (rt_dispatch_eligible (p, pick->order, pick->now, &why)) {
        pick->fitting++;
        if (rt_partner_live (p) && !rt_order_excluded (pick->order, p->id))
            pick->open++;
    }
    return true;
}

//  The record admits the order at some hour (rt_profile_admits looks at
//  the hours last); a partner with no record: its READY decides.
static bool
s_admits_ever (const rt_profile_t *profile, const rt_order_t *order)
{
    const char *why = "";
    return rt_profile_admits (profile, order->kind, order->tier, order->category, order->region, order->area,
                              0, &why)
        || streq (why, "outside_hours");
}

//  rt_index_each: a partner of the class, live or not, that may take the
//  order some day (stops the walk).
static bool
s_could (void *arg, rt_partner_t *p)
{
    s_pick_t *pick = (s_pick_t *) arg;
    //  A partner its strikes removed takes nothing until a review
    //  reinstates it: no reason for the order to wait for it.
    if (p->removed || !s_admits_ever (p->profile, pick->order))
        return true;
    pick->fitting++;
    return false;
}

//  Some partner whose READY covers the order's class, live or not, has no
//  record or one that admits the order at some hour: the order waits for
//  its credit. (READY's cover alone would hold, for ever, an order whose
//  only cover's record refuses it.)
static bool
s_covered (rt_dispatch_t *self, const rt_order_t *order)
{
    s_pick_t pick = { .self = self, .order = order };
    rt_index_each (self->index, order->category, order->region, false, s_could, &pick);
    return pick.fitting > 0;
}

static void
s_park (rt_dispatch_t *self, rt_order_t *order, int64_t until)
{
    rt_queue_park (rt_orders_queue (self->orders), order, true);
    rt_deadlines_add (self->parked, until, order->id, 0);
}

//  An override whose partner can take it now, or NULL. Forgets those
//  whose order is gone or no longer waits.
static rt_order_t *
s_override_due (rt_dispatch_t *self, rt_partner_t **partner)
{
    char *id = (char *) zlistx_first (self->overrides);
    while (id) {
        rt_order_t *order = rt_orders_lookup (self->orders, id);
        if (!order || !*order->override) {
            zlistx_delete (self->overrides, zlistx_cursor (self->overrides));
            id = (char *) zlistx_first (self->overrides);       //  the cursor went with it
            continue;
        }
        rt_partner_t *p = rt_registry_partner (self->registry, order->override, false);
        if (order->state == ASP_WO_PENDING && p && rt_partner_live (p) && rt_partner_free (p) > 0
        &&  rt_profile_status (p->profile) == ASP_PARTNER_ACTIVE) {
            zlistx_delete (self->overrides, zlistx_cursor (self->overrides));
            *partner = p;
            return order;
        }
        id = (char *) zlistx_next (self->overrides);
    }
    return NULL;
}

//  True when some partner in the registry, connected or not, has a record
//  that admits the order whatever the hour (rt_profile_admits checks the
//  hours last): it may connect, or open, later, so the order waits for it
//  rather than being called unroutable. A walk of every partner, but only
//  for an order about to be called unroutable, and once a round for
//  orders alike (kind, tier, category, region, area).
static bool
s_registered (rt_dispatch_t *self, const rt_order_t *order)
{
    char memo [sizeof self->memo];
    int len = snprintf (memo, sizeof memo, "%d\x1f%d\x1f%s\x1f%s\x1f%s", (int) order->kind,
                        (int) order->tier, order->category, order->region, order->area);
    bool remember = len > 0 && (size_t) len < sizeof memo;     //  else asked each time
    if (remember && streq (memo, self->memo))
        return self->memo_fits;
    bool fits = false;
    zhashx_t *partners = rt_registry_partners (self->registry);
    for (rt_partner_t *p = (rt_partner_t *) zhashx_first (partners); p && !fits;
         p = (rt_partner_t *) zhashx_next (partners))
        fits = p->profile && !p->removed && s_admits_ever (p->profile, order);
    if (remember) {
        snprintf (self->memo, sizeof self->memo, "%s", memo);
        self->memo_fits = fits;
    }
    return fits;
}

void
rt_dispatch_round (rt_dispatch_t *self)
{
    self->passes = 0;
    self->memo [0] = 0;             //  the registry may have changed since
    rt_queue_round (rt_orders_queue (self->orders));
}

void
rt_dispatch_stop (rt_dispatch_t *self)
{
    rt_queue_stop (rt_orders_queue (self->orders));
}

rt_next_t
rt_dispatch_next (rt_dispatch_t *self, int64_t now_mono, int64_t now_epoch, rt_order_t **order_p,
                  rt_partner_t **partner_p, rt_why_t *why)
{
    memset (why, 0, sizeof *why);
    rt_queue_t *queue = rt_orders_queue (self->orders);
    for (;;) {
        if (self->overrides_due) {
            rt_order_t *order = s_override_due (self, partner_p);
            if (order) {
                why->choice = ASP_CHOICE_OVERRIDE;
                why->score = (*partner_p)->score;
                why->candidates = 1;
                why->free = rt_partner_free (*partner_p);
                order->override [0] = 0;        //  used up: a refusal resumes normal routing
                *order_p = order;
                return RT_NEXT_OFFER;
            }
            self->overrides_due = false;
        }
        rt_order_t *order = rt_queue_peek (queue);
        if (!order)
            return RT_NEXT_NONE;
        if (*order->override) {
            s_hold (self, order);
            continue;
        }
        s_pick_t pick = { .self = self, .order = order, .now = now_epoch };
        if (rt_index_any_available (self->index, order->category, order->region))
            rt_index_each (self->index, order->category, order->region, true, s_candidate, &pick);
        else
        if (now_mono < self->grace_until || s_covered (self, order)) {
            rt_queue_end_class (queue);         //  nobody can take this class's work now
            continue;
        }
        if (pick.best) {
            rt_partner_t *p = pick.installer? pick.installer: pick.best;
            why->choice = pick.installer? ASP_CHOICE_ORIGINAL_INSTALLER: ASP_CHOICE_BEST_SCORE;
            why->score = p->score;
            why->candidates = pick.candidates;
            why->free = rt_partner_free (p);
            *order_p = order;
            *partner_p = p;
            return RT_NEXT_OFFER;
        }
        //  Nobody can take it now: why? (Nobody covers the class: none fits.)
        rt_index_each (self->index, order->category, order->region, false, s_fits, &pick);
        if (pick.fitting == 0 && now_mono >= self->grace_until) {
            s_park (self, order, now_mono + self->round_ms);
            //  A registered partner that fits wakes it with its READY.
            if (!order->unroutable && !s_registered (self, order)) {
                *order_p = order;
                return RT_NEXT_UNROUTABLE;
            }
        }
        else
        if (pick.fitting && pick.open == 0 && order->nexcluded) {
            if (now_mono - order->excluded_at >= self->round_ms) {
                //  Every fitting partner said no (or let the offer lapse)
                //  a while ago: a new round rather than strand the ticket.
                asp_log_kv (ASP_LOG_INFO, "new round of offers", "wo_id", order->id, NULL);
                rt_order_clear_exclusions (order);
            }
            else
                s_park (self, order, order->excluded_at + self->round_ms);
        }
        else
        if (++self->passes > S_PASS_MAX) {
            rt_queue_stop (queue);
            return RT_NEXT_NONE;
        }
        else
            rt_queue_pass (queue);
    }
}

bool
rt_dispatch_tick (rt_dispatch_t *self, int64_t now_mono)
{
    bool any = false;
    rt_queue_t *queue = rt_orders_queue (self->orders);
    if (!self->grace_over && now_mono >= self->grace_until) {
        //  Orders passed over during the grace may be unroutable now.
        self->grace_over = true;
        rt_queue_touch (queue, "*", "*");
        any = true;
    }
    char id [RT_WO_ID_MAX];
    int64_t tag;
    while (rt_deadlines_pop (self->parked, now_mono, id, sizeof id, &tag)) {
        rt_order_t *order = rt_orders_lookup (self->orders, id);
        if (order && rt_queue_parked (order) && !*order->override) {
            rt_queue_unpark (queue, order);
            any = true;
        }
    }
    return any;
}

//  --------------------------------------------------------------------------
//  Self test: choices on a registry in memory.

static rt_partner_t *
s_test_partner (rt_registry_t *registry, rt_dispatch_t *self, const char *id, int64_t capacity,
                const char *skill, const char *region, int64_t score)
{
    char *skills [] = { (char *) skill }, *regions [] = { (char *) region };
    rt_partner_t *p = rt_registry_partner (registry, id, true);
    rt_partner_set (p, capacity, skills, 1, regions, 1);
    char rid [8];
    snprintf (rid, sizeof rid, "r%s", id);
    rt_registry_connect (registry, rid, strlen (rid), "key", p, RT_CONN_READY, 0);
    p->score = score;
    rt_dispatch_partner (self, p);
    rt_dispatch_credit (self, p);
    return p;
}

static int64_t s_test_now;

//  The next decision, applied as routing would (offered at once).
static rt_next_t
s_test_next (rt_dispatch_t *self, rt_orders_t *orders, const char *want_order, const char *want_partner,
             asp_choice_t want_choice)
{
    rt_order_t *order = NULL;
    rt_partner_t *partner = NULL;
    rt_why_t why;
    rt_next_t next = rt_dispatch_next (self, s_test_now, 0, &order, &partner, &why);
    if (next == RT_NEXT_OFFER) {
        if (want_order)
            assert (streq (order->id, want_order) && streq (partner->id, want_partner) && why.choice == want_choice);
        rt_orders_set (orders, order, ASP_WO_OFFERED, partner, order->attempt + 1, false);
    }
    else
    if (next == RT_NEXT_UNROUTABLE) {
        assert (want_order && streq (order->id, want_order) && !want_partner);
        rt_orders_set_unroutable (orders, order, true);
    }
    else
        assert (!want_order);
    return next;
}

static void
s_test_released (void *arg, rt_partner_t *partner)
{
    rt_dispatch_credit ((rt_dispatch_t *) arg, partner);
}

static rt_order_t *
s_test_order (rt_orders_t *orders, const char *id, asp_tier_t tier, int64_t priority,
              const char *category, const char *region, const char *installer)
{
    rt_order_t *o = rt_order_new (id, id + 1, NULL, ASP_KIND_REPAIR, tier, category, region, NULL, priority);
    snprintf (o->installer, sizeof o->installer, "%s", installer? installer: "");
    return rt_orders_insert (orders, &o);
}

void
rt_dispatch_test (void)
{
    printf (" * rt_dispatch: ");
    rt_registry_t *registry = rt_registry_new ();
    rt_orders_t *orders = rt_orders_new ();
    rt_dispatch_t *self = rt_dispatch_new (registry, orders, 700, 1000);
    rt_orders_on_release (orders, s_test_released, self);
    rt_partner_t *a = s_test_partner (registry, self, "PA", 2, "heater", "sh", 900);
    rt_partner_t *b = s_test_partner (registry, self, "PB", 3, "*", "sh", -1);
    s_test_partner (registry, self, "PC", 1, "heater", "*", 600);

    //  Express first, then priority; the highest score first; then the
    //  installer of record wins over the score.
    s_test_order (orders, "W1", ASP_TIER_STANDARD, 3, "heater", "sh", NULL);
    s_test_order (orders, "W2", ASP_TIER_EXPRESS, 4, "heater", "sh", NULL);
    s_test_order (orders, "W3", ASP_TIER_STANDARD, 1, "heater", "sh", "PC");
    s_test_order (orders, "W4", ASP_TIER_STANDARD, 3, "ac", "bj", NULL);
    rt_dispatch_round (self);
    s_test_next (self, orders, "W2", "PA", ASP_CHOICE_BEST_SCORE);
    s_test_next (self, orders, "W3", "PC", ASP_CHOICE_ORIGINAL_INSTALLER);
    s_test_next (self, orders, "W1", "PA", ASP_CHOICE_BEST_SCORE);
    //  W4: nobody fits at all: unroutable, once.
    s_test_next (self, orders, "W4", NULL, 0);
    assert (rt_orders_unroutable (orders) == 1);
    s_test_next (self, orders, NULL, NULL, 0);
    //  PA is full: the prior (700) beats PC's 600 but PC is full too; PB.
    s_test_order (orders, "W5", ASP_TIER_STANDARD, 3, "heater", "sh", NULL);
    rt_dispatch_round (self);
    s_test_next (self, orders, "W5", "PB", ASP_CHOICE_BEST_SCORE);
    s_test_next (self, orders, NULL, NULL, 0);
    //  W5 declined by PB: PB's credit frees, but the others that fit
    //  have none: passed over, still queued.
    rt_order_t *w5 = rt_orders_lookup (orders, "W5");
    rt_orders_set (orders, w5, ASP_WO_PENDING, NULL, 1, true);
    rt_order_exclude (w5, "PB");
    rt_dispatch_round (self);
    s_test_next (self, orders, NULL, NULL, 0);
    assert (w5->queued && !rt_queue_parked (w5));
    //  Every live fitting partner refused it: parked for the round.
    rt_order_exclude (w5, "PA");
    rt_order_exclude (w5, "PC");
    rt_queue_touch (rt_orders_queue (orders), "*", "*");
    rt_dispatch_round (self);
    s_test_next (self, orders, NULL, NULL, 0);
    assert (rt_queue_parked (w5));
    //  A partner for W4 arrives: woken and offered.
    s_test_partner (registry, self, "PD", 1, "ac", "*", -1);
    rt_dispatch_round (self);
    s_test_next (self, orders, "W4", "PD", ASP_CHOICE_BEST_SCORE);
    //  The round ages: W5 back; its refusals are forgotten once nobody else fits.
    s_test_now = asp_mono_ms () + 5000;
    assert (rt_dispatch_tick (self, s_test_now));
    rt_dispatch_round (self);
    s_test_next (self, orders, "W5", "PB", ASP_CHOICE_BEST_SCORE);
    //  Override: held for PA whatever the territory; PA full, then freed.
    s_test_order (orders, "W6", ASP_TIER_STANDARD, 3, "tv", "gz", NULL);
    rt_dispatch_override (self, rt_orders_lookup (orders, "W6"), "PA");
    rt_dispatch_round (self);
    s_test_next (self, orders, NULL, NULL, 0);
    rt_orders_remove (orders, rt_orders_lookup (orders, "W1"));     //  completed: PA has credit
    rt_dispatch_round (self);
    s_test_next (self, orders, "W6", "PA", ASP_CHOICE_OVERRIDE);
    assert (!*rt_orders_lookup (orders, "W6")->override);
    //  A registered partner whose record fits, offline (never READY): W7
    //  waits for it, not unroutable; W8 (express) its record does not
    //  admit is. Its READY brings W7 an offer.
    char err [200];
    rt_partner_t *r = rt_registry_partner (registry, "PR", true);
    r->profile = rt_profile_from_json ("{\"partner_id\":\"PR\",\"status\":\"active\",\"regions\":[\"xa\"],"
                                       "\"categories\":[\"fan\"],\"capacity_cap\":1,\"express\":false,"
                                       "\"version\":1}", err, sizeof err);
    assert (r->profile);
    s_test_order (orders, "W7", ASP_TIER_STANDARD, 3, "fan", "xa", NULL);
    s_test_order (orders, "W8", ASP_TIER_EXPRESS, 3, "fan", "xa", NULL);
    rt_dispatch_round (self);
    s_test_next (self, orders, "W8", NULL, 0);
    s_test_next (self, orders, NULL, NULL, 0);
    rt_order_t *w7 = rt_orders_lookup (orders, "W7");
    assert (!w7->unroutable && rt_queue_parked (w7) && rt_orders_lookup (orders, "W8")->unroutable);
    s_test_partner (registry, self, "PR", 1, "fan", "xa", -1);
    rt_dispatch_round (self);
    s_test_next (self, orders, "W7", "PR", ASP_CHOICE_BEST_SCORE);
    s_test_next (self, orders, NULL, NULL, 0);
    //  PS's READY covered everything but its record only "zz", and it is
    //  gone: W9 is unroutable, not held for it.
    rt_partner_t *ps = rt_registry_partner (registry, "PS", true);
    ps->profile = rt_profile_from_json ("{\"partner_id\":\"PS\",\"status\":\"active\",\"regions\":[\"zz\"],"
                                        "\"categories\":[\"*\"],\"capacity_cap\":1,\"version\":1}", err, sizeof err);
    s_test_partner (registry, self, "PS", 1, "*", "*", -1);
    rt_registry_drop (registry, ps->conn);
    s_test_order (orders, "W9", ASP_TIER_STANDARD, 3, "fan", "qq", NULL);
    rt_dispatch_round (self);
    s_test_next (self, orders, "W9", NULL, 0);
    //  Held for an override partner nobody knows: freed with the orders.
    rt_dispatch_override (self, rt_orders_lookup (orders, "W9"), "PX");

    const char *why;
    assert (!rt_dispatch_eligible (a, rt_orders_lookup (orders, "W4"), 0, &why) && streq (why, "ready_does_not_fit"));
    assert (rt_dispatch_eligible (b, rt_orders_lookup (orders, "W5"), 0, &why));
    rt_dispatch_forget (self, b);
    rt_dispatch_destroy (&self);
    rt_orders_destroy (&orders);
    rt_registry_destroy (&registry);
    printf ("OK\n");
}
