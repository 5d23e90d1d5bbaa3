#include "rt_queue.h"
#include "rt_orders.h"
#include <assert.h>

//  Levels: express before standard, then priority 1..5.
#define S_LEVELS (2 * 5)

typedef enum { S_QUEUED, S_PARKED, S_HELD } s_where_t;

typedef struct s_class_t s_class_t;

typedef struct s_node_t {
    rt_order_t *order;
    s_class_t *cls;
    struct s_node_t *prev, *next;
    int level;                      //  S_LEVELS for the parked list
    int64_t seq;                    //  FIFO rank; a front insertion is below every other
    s_where_t where;
} s_node_t;

typedef struct {
    s_node_t *head, *tail;
} s_list_t;

struct s_class_t {
    char *key;                      //  category \x1f region
    s_list_t levels [S_LEVELS];
    s_list_t parked;                //  wakeable parked orders
    size_t queued;
    bool touched;
    size_t heap_pos;                //  valid while in the round's heap
    s_node_t *cursor;               //  the round's next order in this class
};

struct rt_queue_t {
    zhashx_t *classes;              //  key -> s_class_t, owned
    zhashx_t *by_category;          //  category -> zlistx of s_class_t
    zhashx_t *by_region;            //  region -> zlistx of s_class_t
    zlistx_t *all;                  //  every s_class_t
    s_class_t **touched;            //  touched since the last round
    size_t ntouched, touched_cap;
    s_class_t **heap;               //  the round: min-heap on the cursor's rank
    size_t nheap, heap_cap;
    int64_t back_seq, front_seq;
    size_t size;
};

//  --------------------------------------------------------------------------
//  Lists and ranks

static void
s_link (s_list_t *list, s_node_t *node, bool front)
{
    node->prev = node->next = NULL;
    if (!list->head)
        list->head = list->tail = node;
    else
    if (front) {
        node->next = list->head;
        list->head->prev = node;
        list->head = node;
    }
    else {
        node->prev = list->tail;
        list->tail->next = node;
        list->tail = node;
    }
}

static void
s_unlink (s_list_t *list, s_node_t *node)
{
    if (node->prev)
        node->prev->next = node->next;
    else
        list->head = node->next;
    if (node->next)
        node->next->prev = node->prev;
    else
        list->tail = node->prev;
    node->prev = node->next = NULL;
}

static int
s_level (const rt_order_t *order)
{
    int64_t p = order->priority < 1? 1: order->priority > 5? 5: order->priority;
    return (order->tier == ASP_TIER_EXPRESS? 0: 5) + (int) (p - 1);
}

//  The first queued node at or after level.
static s_node_t *
s_first_from (s_class_t *cls, int level)
{
    for (int l = level; l < S_LEVELS; l++)
        if (cls->levels [l].head)
            return cls->levels [l].head;
    return NULL;
}

static s_node_t *
s_successor (s_node_t *node)
{
    return node->next? node->next: s_first_from (node->cls, node->level + 1);
}

static bool
s_before (const s_class_t *a, const s_class_t *b)
{
    const s_node_t *x = a->cursor, *y = b->cursor;
    if (!x || !y)
        return x != NULL;
    return x->level < y->level || (x->level == y->level && x->seq < y->seq);
}

//  --------------------------------------------------------------------------
//  The heap of a round

static void
s_heap_swap (rt_queue_t *self, size_t i, size_t j)
{
    s_class_t *t = self->heap [i];
    self->heap [i] = self->heap [j];
    self->heap [j] = t;
    self->heap [i]->heap_pos = i;
    self->heap [j]->heap_pos = j;
}

static void
s_heap_down (rt_queue_t *self, size_t i)
{
    for (;;) {
        size_t best = i, l = 2 * i + 1, r = l + 1;
        if (l < self->nheap && s_before (self->heap [l], self->heap [best]))
            best = l;
        if (r < self->nheap && s_before (self->heap [r], self->heap [best]))
            best = r;
        if (best == i)
            return;
        s_heap_swap (self, i, best);
        i = best;
    }
}

static void
s_heap_pop (rt_queue_t *self)
{
    assert (self->nheap);
    self->heap [0]->heap_pos = SIZE_MAX;
    self->heap [0] = self->heap [--self->nheap];
    if (self->nheap) {
        self->heap [0]->heap_pos = 0;
        s_heap_down (self, 0);
    }
}

static void
s_touch_class (rt_queue_t *self, s_class_t *cls)
{
    if (cls->touched || cls->queued == 0)
        return;
    if (self->ntouched == self->touched_cap) {
        self->touched_cap = self->touched_cap? 2 * self->touched_cap: 64;
        self->touched = (s_class_t **) realloc (self->touched, self->touched_cap * sizeof (s_class_t *));
        assert (self->touched);
    }
    self->touched [self->ntouched++] = cls;
    cls->touched = true;
}

//  --------------------------------------------------------------------------
//  Classes

static void
s_class_free (void **item)
{
    s_class_t *cls = (s_class_t *) *item;
    if (cls) {
        free (cls->key);
        free (cls);
        *item = NULL;
    }
}

static void
s_list_free (void **item)
{
    zlistx_destroy ((zlistx_t **) item);
}

static void
s_index_class (zhashx_t *by, const char *name, s_class_t *cls)
{
    zlistx_t *list = (zlistx_t *) zhashx_lookup (by, name);
    if (!list) {
        list = zlistx_new ();
        zhashx_insert (by, name, list);
    }
    zlistx_add_end (list, cls);
}

static s_class_t *
s_class (rt_queue_t *self, const char *category, const char *region)
{
    char *key = zsys_sprintf ("%s\x1f%s", category, region);
    s_class_t *cls = (s_class_t *) zhashx_lookup (self->classes, key);
    if (cls) {
        zstr_free (&key);
        return cls;
    }
    cls = (s_class_t *) calloc (1, sizeof *cls);
    assert (cls);
    cls->key = strdup (key);
    assert (cls->key);
    zstr_free (&key);
    cls->heap_pos = SIZE_MAX;
    zhashx_insert (self->classes, cls->key, cls);
    s_index_class (self->by_category, category, cls);
    s_index_class (self->by_region, region, cls);
    zlistx_add_end (self->all, cls);
    return cls;
}

rt_queue_t *
rt_queue_new (void)
{
    rt_queue_t *self = (rt_queue_t *) calloc (1, sizeof *self);
    assert (self);
    self->classes = zhashx_new ();
    zhashx_set_destructor (self->classes, s_class_free);
    self->by_category = zhashx_new ();
    zhashx_set_destructor (self->by_category, s_list_free);
    self->by_region = zhashx_new ();
    zhashx_set_destructor (self->by_region, s_list_free);
    self->all = zlistx_new ();
    return self;
}

void
rt_queue_destroy (rt_queue_t **self_p)
{
    rt_queue_t *self = *self_p;
    if (!self)
        return;
    //  Nodes still queued: their orders stay with their owner.
    for (s_class_t *cls = (s_class_t *) zlistx_first (self->all); cls; cls = (s_class_t *) zlistx_next (self->all)) {
        for (int l = 0; l <= S_LEVELS; l++) {
            s_list_t *list = l < S_LEVELS? &cls->levels [l]: &cls->parked;
            while (list->head) {
                s_node_t *node = list->head;
                s_unlink (list, node);
                node->order->queued = NULL;
                free (node);
            }
        }
    }
    zlistx_destroy (&self->all);
    zhashx_destroy (&self->by_region);
    zhashx_destroy (&self->by_category);
    zhashx_destroy (&self->classes);
    free (self->touched);
    free (self->heap);
    free (self);
    *self_p = NULL;
}

//  --------------------------------------------------------------------------
//  Orders in and out

//  Takes node out of its list; the round's cursor moves past it.
static void
s_detach (s_node_t *node)
{
    s_class_t *cls = node->cls;
    if (cls->cursor == node)
        cls->cursor = s_successor (node);
    if (node->where == S_QUEUED) {
        s_unlink (&cls->levels [node->level], node);
        cls->queued--;
    }
    else
    if (node->where == S_PARKED)
        s_unlink (&cls->parked, node);
}

static void
s_queue_node (rt_queue_t *self, s_node_t *node, bool front)
{
    node->where = S_QUEUED;
    node->level = s_level (node->order);
    node->seq = front? --self->front_seq: ++self->back_seq;
    s_link (&node->cls->levels [node->level], node, front);
    node->cls->queued++;
    s_touch_class (self, node->cls);
}

void
rt_queue_add (rt_queue_t *self, rt_order_t *order, bool front)
{
    assert (!order->queued);
    s_node_t *node = (s_node_t *) calloc (1, sizeof *node);
    assert (node);
    node->order = order;
    node->cls = s_class (self, order->category, order->region);
    order->queued = node;
    s_queue_node (self, node, front);
    self->size++;
}

void
rt_queue_remove (rt_queue_t *self, rt_order_t *order)
{
    s_node_t *node = (s_node_t *) order->queued;
    if (!node)
        return;
    s_detach (node);
    order->queued = NULL;
    free (node);
    self->size--;
}

void
rt_queue_park (rt_queue_t *self, rt_order_t *order, bool wakeable)
{
    (void) self;
    s_node_t *node = (s_node_t *) order->queued;
    assert (node);
    s_detach (node);
    node->where = wakeable? S_PARKED: S_HELD;
    node->level = S_LEVELS;
    if (wakeable)
        s_link (&node->cls->parked, node, false);
}

bool
rt_queue_parked (const rt_order_t *order)
{
    const s_node_t *node = (const s_node_t *) order->queued;
    return node && node->where != S_QUEUED;
}

void
rt_queue_unpark (rt_queue_t *self, rt_order_t *order)
{
    s_node_t *node = (s_node_t *) order->queued;
    if (!node || node->where == S_QUEUED)
        return;
    s_detach (node);
    s_queue_node (self, node, true);
}

//  --------------------------------------------------------------------------
//  Touching classes

//  Calls fn on each class that (skill, region) covers.
static void
s_each_class (rt_queue_t *self, const char *skill, const char *region, bool wake)
{
    bool any_skill = streq (skill, "*"), any_region = streq (region, "*");
    zlistx_t *list = NULL;
    if (!any_skill && !any_region) {
        char *key = zsys_sprintf ("%s\x1f%s", skill, region);
        s_class_t *cls = (s_class_t *) zhashx_lookup (self->classes, key);
        zstr_free (&key);
        if (!cls)
            return;
        if (wake)
            while (cls->parked.tail)        //  from the tail: their order is kept
                rt_queue_unpark (self, cls->parked.tail->order);
        s_touch_class (self, cls);
        return;
    }
    list = any_skill && any_region? self->all
         : any_skill? (zlistx_t *) zhashx_lookup (self->by_region, region)
         : (zlistx_t *) zhashx_lookup (self->by_category, skill);
    if (!list)
        return;
    for (s_class_t *cls = (s_class_t *) zlistx_first (list); cls; cls = (s_class_t *) zlistx_next (list)) {
        if (wake)
            while (cls->parked.tail)
                rt_queue_unpark (self, cls->parked.tail->order);
        s_touch_class (self, cls);
    }
}

void
rt_queue_touch (rt_queue_t *self, const char *skill, const char *region)
{
    s_each_class (self, skill, region, false);
}

void
rt_queue_wake (rt_queue_t *self, const char *skill, const char *region)
{
    s_each_class (self, skill, region, true);
}

//  --------------------------------------------------------------------------
//  Rounds

void
rt_queue_round (rt_queue_t *self)
{
    rt_queue_stop (self);           //  a round left unfinished is touched again
    if (self->heap_cap < self->ntouched) {
        self->heap_cap = self->ntouched;
        self->heap = (s_class_t **) realloc (self->heap, self->heap_cap * sizeof (s_class_t *));
        assert (self->heap);
    }
    self->nheap = 0;
    for (size_t i = 0; i < self->ntouched; i++) {
        s_class_t *cls = self->touched [i];
        cls->touched = false;
        cls->cursor = s_first_from (cls, 0);
        cls->heap_pos = self->nheap;
        self->heap [self->nheap++] = cls;
    }
    self->ntouched = 0;
    for (size_t i = self->nheap / 2; i-- > 0;)
        s_heap_down (self, i);
}

rt_order_t *
rt_queue_peek (rt_queue_t *self)
{
    while (self->nheap) {
        s_class_t *top = self->heap [0];
        if (!top->cursor) {
            s_heap_pop (self);
            continue;
        }
        //  Only the top's cursor moved since the last look.
        s_heap_down (self, 0);
        if (self->heap [0] == top)
            return top->cursor->order;
    }
    return NULL;
}

void
rt_queue_pass (rt_queue_t *self)
{
    if (self->nheap && self->heap [0]->cursor)
        self->heap [0]->cursor = s_successor (self->heap [0]->cursor);
}

void
rt_queue_end_class (rt_queue_t *self)
{
    if (self->nheap) {
        self->heap [0]->cursor = NULL;
        s_heap_pop (self);
    }
}

void
rt_queue_stop (rt_queue_t *self)
{
    while (self->nheap) {
        s_class_t *cls = self->heap [--self->nheap];
        cls->heap_pos = SIZE_MAX;
        cls->cursor = NULL;
        s_touch_class (self, cls);
    }
}

size_t
rt_queue_size (rt_queue_t *self)
{
    return self->size;
}

//  --------------------------------------------------------------------------
//  Self test

static rt_order_t *
s_test_order (const char *id, asp_tier_t tier, int64_t priority, const char *category, const char *region)
{
    return rt_order_new (id, id + 1, NULL, ASP_KIND_REPAIR, tier, category, region, NULL, priority);
}

//  The ids a round yields, passing over every order, as one string.
static void
s_test_round (rt_queue_t *self, char *out, size_t len)
{
    *out = 0;
    rt_queue_round (self);
    for (rt_order_t *o = rt_queue_peek (self); o; o = rt_queue_peek (self)) {
        size_t n = strlen (out);
        snprintf (out + n, len - n, "%s%s", n? " ": "", o->id);
        rt_queue_pass (self);
    }
}

void
rt_queue_test (void)
{
    printf (" * rt_queue: ");
    rt_queue_t *self = rt_queue_new ();
    rt_order_t *o [8];
    o [0] = s_test_order ("Wa", ASP_TIER_STANDARD, 3, "heater", "sh");
    o [1] = s_test_order ("Wb", ASP_TIER_STANDARD, 1, "heater", "sh");
    o [2] = s_test_order ("Wc", ASP_TIER_EXPRESS, 5, "heater", "sh");
    o [3] = s_test_order ("Wd", ASP_TIER_STANDARD, 3, "ac", "bj");
    o [4] = s_test_order ("We", ASP_TIER_STANDARD, 2, "ac", "bj");
    o [5] = s_test_order ("Wf", ASP_TIER_STANDARD, 3, "heater", "sh");
    o [6] = s_test_order ("Wg", ASP_TIER_EXPRESS, 1, "ac", "sh");
    o [7] = s_test_order ("Wh", ASP_TIER_STANDARD, 3, "heater", "bj");
    for (int i = 0; i < 8; i++)
        rt_queue_add (self, o [i], false);
    assert (rt_queue_size (self) == 8);
    char seen [256];
    //  Across classes: express first, then priority, then FIFO.
    s_test_round (self, seen, sizeof seen);
    assert (streq (seen, "Wg Wc Wb We Wa Wd Wf Wh"));
    //  Nothing touched since: an empty round.
    s_test_round (self, seen, sizeof seen);
    assert (streq (seen, ""));
    //  Touching by skill/region reaches only the classes it covers.
    rt_queue_touch (self, "ac", "*");
    s_test_round (self, seen, sizeof seen);
    assert (streq (seen, "Wg We Wd"));
    rt_queue_touch (self, "*", "bj");
    s_test_round (self, seen, sizeof seen);
    assert (streq (seen, "We Wd Wh"));
    rt_queue_touch (self, "heater", "sh");
    s_test_round (self, seen, sizeof seen);
    assert (streq (seen, "Wc Wb Wa Wf"));
    //  Removing the peeked order (offered) moves the round on; a declined
    //  one comes back at the head of its level.
    rt_queue_touch (self, "*", "*");
    rt_queue_round (self);
    assert (rt_queue_peek (self) == o [6]);
    rt_queue_remove (self, o [6]);
    assert (rt_queue_peek (self) == o [2]);
    rt_queue_end_class (self);                   //  heater/sh is done
    assert (rt_queue_peek (self) == o [4]);
    rt_queue_stop (self);                        //  the rest stays touched
    rt_queue_add (self, o [6], true);
    s_test_round (self, seen, sizeof seen);
    assert (streq (seen, "Wg We Wd Wh"));
    //  Parking: out of the rounds; a wake brings it back, a held one not.
    rt_queue_park (self, o [4], true);
    rt_queue_park (self, o [3], false);
    assert (rt_queue_parked (o [4]) && rt_queue_parked (o [3]) && !rt_queue_parked (o [0]));
    rt_queue_touch (self, "*", "*");
    s_test_round (self, seen, sizeof seen);
    assert (streq (seen, "Wg Wc Wb Wa Wf Wh"));
    rt_queue_wake (self, "ac", "bj");
    s_test_round (self, seen, sizeof seen);
    assert (streq (seen, "We"));
    rt_queue_unpark (self, o [3]);
    s_test_round (self, seen, sizeof seen);
    assert (streq (seen, "We Wd"));            //  unparked: its class again
    assert (rt_queue_size (self) == 8);
    rt_queue_remove (self, o [3]);
    rt_queue_remove (self, o [3]);               //  twice: nothing
    assert (rt_queue_size (self) == 7 && !o [3]->queued);
    rt_queue_destroy (&self);
    for (int i = 0; i < 8; i++) {
        assert (!o [i]->queued);
        rt_order_destroy (&o [i]);
    }
    printf ("OK\n");
}
