#include "rt_deadlines.h"
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int64_t due;
    int64_t tag;
    char *key;
} s_entry_t;

struct rt_deadlines_t {
    s_entry_t *heap;
    size_t size, cap;
};

rt_deadlines_t *
rt_deadlines_new (void)
{
    rt_deadlines_t *self = (rt_deadlines_t *) calloc (1, sizeof *self);
    assert (self);
    return self;
}

void
rt_deadlines_destroy (rt_deadlines_t **self_p)
{
    rt_deadlines_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->size; i++)
        free (self->heap [i].key);
    free (self->heap);
    free (self);
    *self_p = NULL;
}

static void
s_swap (s_entry_t *a, s_entry_t *b)
{
    s_entry_t t = *a;
    *a = *b;
    *b = t;
}

void
rt_deadlines_add (rt_deadlines_t *self, int64_t due, const char *key, int64_t tag)
{
    if (self->size == self->cap) {
        self->cap = self->cap? self->cap * 2: 64;
        self->heap = (s_entry_t *) realloc (self->heap, self->cap * sizeof (s_entry_t));
        assert (self->heap);
    }
    size_t i = self->size++;
    self->heap [i].due = due;
    self->heap [i].tag = tag;
    self->heap [i].key = strdup (key);
    assert (self->heap [i].key);
    while (i > 0 && self->heap [(i - 1) / 2].due > self->heap [i].due) {
        s_swap (&self->heap [(i - 1) / 2], &self->heap [i]);
        i = (i - 1) / 2;
    }
}

bool
rt_deadlines_pop (rt_deadlines_t *self, int64_t now, char *key, size_t keylen, int64_t *tag)
{
    if (self->size == 0 || self->heap [0].due > now)
        return false;
    snprintf (key, keylen, "%s", self->heap [0].key);
    *tag = self->heap [0].tag;
    free (self->heap [0].key);
    self->heap [0] = self->heap [--self->size];
    size_t i = 0;
    while (true) {
        size_t l = 2 * i + 1, r = l + 1, min = i;
        if (l < self->size && self->heap [l].due < self->heap [min].due)
            min = l;
        if (r < self->size && self->heap [r].due < self->heap [min].due)
            min = r;
        if (min == i)
            break;
        s_swap (&self->heap [i], &self->heap [min]);
        i = min;
    }
    return true;
}

size_t
rt_deadlines_size (rt_deadlines_t *self)
{
    return self->size;
}

void
rt_deadlines_test (void)
{
    printf (" * rt_deadlines: ");
    rt_deadlines_t *self = rt_deadlines_new ();
    char key [32];
    int64_t tag;
    assert (!rt_deadlines_pop (self, 1000, key, sizeof key, &tag));
    //  Random order in, sorted order out.
    for (int i = 0; i < 1000; i++) {
        int64_t due = (i * 7919) % 1000;
        snprintf (key, sizeof key, "k%lld", (long long) due);
        rt_deadlines_add (self, due, key, due);
    }
    assert (rt_deadlines_size (self) == 1000);
    assert (!rt_deadlines_pop (self, -1, key, sizeof key, &tag));
    int64_t last = -1;
    int n = 0;
    while (rt_deadlines_pop (self, 499, key, sizeof key, &tag)) {
        assert (tag >= last);
        char want [32];
        snprintf (want, sizeof want, "k%lld", (long long) tag);
        assert (strcmp (key, want) == 0);
        last = tag;
        n++;
    }
    assert (n == 500 && rt_deadlines_size (self) == 500);
    rt_deadlines_destroy (&self);
    assert (self == NULL);
    printf ("OK\n");
}
