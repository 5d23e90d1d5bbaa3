#include "sla_heap.h"
#include <assert.h>
#include <czmq.h>
#include <string.h>

typedef struct {
    int64_t due;
    size_t at;                      //  its index in the heap array
    unsigned shard;
    char member [];
} s_node_t;

struct sla_heap_t {
    s_node_t **nodes;
    size_t size, cap;
    zhashx_t *index;                //  member -> node (keys are the nodes' own strings)
};

sla_heap_t *
sla_heap_new (void)
{
    sla_heap_t *self = (sla_heap_t *) calloc (1, sizeof *self);
    assert (self);
    self->index = zhashx_new ();
    assert (self->index);
    //  The key is the node's member: no copy, freed with the node.
    zhashx_set_key_duplicator (self->index, NULL);
    zhashx_set_key_destructor (self->index, NULL);
    return self;
}

void
sla_heap_destroy (sla_heap_t **self_p)
{
    sla_heap_t *self = *self_p;
    if (!self)
        return;
    zhashx_destroy (&self->index);
    for (size_t i = 0; i < self->size; i++)
        free (self->nodes [i]);
    free (self->nodes);
    free (self);
    *self_p = NULL;
}

static void
s_place (sla_heap_t *self, s_node_t *node, size_t at)
{
    self->nodes [at] = node;
    node->at = at;
}

static void
s_up (sla_heap_t *self, size_t at)
{
    s_node_t *node = self->nodes [at];
    while (at > 0) {
        size_t parent = (at - 1) / 2;
        if (self->nodes [parent]->due <= node->due)
            break;
        s_place (self, self->nodes [parent], at);
        at = parent;
    }
    s_place (self, node, at);
}

static void
s_down (sla_heap_t *self, size_t at)
{
    s_node_t *node = self->nodes [at];
    while (true) {
        size_t child = 2 * at + 1;
        if (child >= self->size)
            break;
        if (child + 1 < self->size && self->nodes [child + 1]->due < self->nodes [child]->due)
            child++;
        if (node->due <= self->nodes [child]->due)
            break;
        s_place (self, self->nodes [child], at);
        at = child;
    }
    s_place (self, node, at);
}

//  Takes the node at index at out of the heap (not freed, not unindexed).
static void
s_take (sla_heap_t *self, size_t at)
{
    s_node_t *last = self->nodes [--self->size];
    if (at == self->size)
        return;
    s_place (self, last, at);
    s_down (self, at);
    s_up (self, last->at);
}

void
sla_heap_put (sla_heap_t *self, const char *member, unsigned shard, int64_t due)
{
    s_node_t *node = (s_node_t *) zhashx_lookup (self->index, member);
    if (node) {
        node->due = due;
        node->shard = shard;
        s_down (self, node->at);
        s_up (self, node->at);
        return;
    }
    size_t len = strlen (member);
    node = (s_node_t *) malloc (sizeof *node + len + 1);
    assert (node);
    memcpy (node->member, member, len + 1);
    node->due = due;
    node->shard = shard;
    if (self->size == self->cap) {
        self->cap = self->cap? self->cap * 2: 256;
        self->nodes = (s_node_t **) realloc (self->nodes, self->cap * sizeof *self->nodes);
        assert (self->nodes);
    }
    s_place (self, node, self->size++);
    s_up (self, node->at);
    int rc = zhashx_insert (self->index, node->member, node);
    assert (rc == 0);
}

bool
sla_heap_remove (sla_heap_t *self, const char *member)
{
    s_node_t *node = (s_node_t *) zhashx_lookup (self->index, member);
    if (!node)
        return false;
    zhashx_delete (self->index, member);
    s_take (self, node->at);
    free (node);
    return true;
}

bool
sla_heap_has (sla_heap_t *self, const char *member)
{
    return zhashx_lookup (self->index, member) != NULL;
}

size_t
sla_heap_size (sla_heap_t *self)
{
    return self->size;
}

int64_t
sla_heap_peek (sla_heap_t *self)
{
    return self->size? self->nodes [0]->due: INT64_MAX;
}

int64_t
sla_heap_pop (sla_heap_t *self, int64_t now, char *member, size_t len, unsigned *shard)
{
    if (!self->size || self->nodes [0]->due > now)
        return -1;
    s_node_t *node = self->nodes [0];
    int64_t due = node->due;
    snprintf (member, len, "%s", node->member);
    if (shard)
        *shard = node->shard;
    zhashx_delete (self->index, node->member);
    s_take (self, 0);
    free (node);
    return due;
}

void
sla_heap_test (void)
{
    sla_heap_t *heap = sla_heap_new ();
    char m [64];
    unsigned shard;
    assert (sla_heap_peek (heap) == INT64_MAX && sla_heap_pop (heap, INT64_MAX, m, sizeof m, &shard) == -1);
    //  Random order in, sorted out; a put of a member already there moves it.
    int64_t dues [] = { 50, 10, 40, 30, 20, 70, 60, 10 };
    for (int i = 0; i < 8; i++) {
        snprintf (m, sizeof m, "T%d|first_response|0", i);
        sla_heap_put (heap, m, (unsigned) i, dues [i]);
    }
    assert (sla_heap_size (heap) == 8 && sla_heap_peek (heap) == 10);
    sla_heap_put (heap, "T6|first_response|0", 6, 5);          //  moved earlier
    sla_heap_put (heap, "T1|first_response|0", 1, 65);         //  moved later
    assert (sla_heap_size (heap) == 8 && sla_heap_has (heap, "T1|first_response|0"));
    assert (sla_heap_remove (heap, "T3|first_response|0") && !sla_heap_remove (heap, "T3|first_response|0"));
    assert (sla_heap_pop (heap, 4, m, sizeof m, &shard) == -1);     //  nothing due at 4
    int64_t expect [] = { 5, 10, 20, 40, 50, 65, 70 };
    const char *who [] = { "T6", "T7", "T4", "T2", "T0", "T1", "T5" };
    for (int i = 0; i < 7; i++) {
        assert (sla_heap_pop (heap, 100, m, sizeof m, &shard) == expect [i]);
        assert (strncmp (m, who [i], 2) == 0 && shard == (unsigned) (who [i][1] - '0'));
    }
    assert (sla_heap_size (heap) == 0 && !sla_heap_has (heap, "T6|first_response|0"));
    //  Many, with removals in between: always the minimum, the index agrees.
    unsigned seed = 7;
    for (int i = 0; i < 5000; i++) {
        seed = seed * 1103515245u + 12345u;
        snprintf (m, sizeof m, "M%d", i);
        sla_heap_put (heap, m, 0, (int64_t) (seed % 100000));
        if (i % 3 == 0) {
            snprintf (m, sizeof m, "M%d", i / 2);
            sla_heap_remove (heap, m);
        }
    }
    int64_t last = -1;
    size_t n = sla_heap_size (heap);
    for (size_t i = 0; i < n; i++) {
        int64_t due = sla_heap_pop (heap, INT64_MAX, m, sizeof m, NULL);
        assert (due >= last && !sla_heap_has (heap, m));
        last = due;
    }
    assert (sla_heap_size (heap) == 0);
    sla_heap_put (heap, "left", 0, 1);      //  destroy frees what is left
    sla_heap_destroy (&heap);
    assert (heap == NULL);
}
