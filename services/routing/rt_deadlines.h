/*  rt_deadlines: many deadlines behind one periodic zloop timer.

    A binary min-heap of (due, key, tag): adding and popping cost O(log n).
    Entries are never removed early: whoever pops one checks that what it
    names still waits for it (e.g. the work order is still offered with the
    same attempt), so cancelling costs nothing.                             */
#ifndef RT_DEADLINES_H
#define RT_DEADLINES_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rt_deadlines_t rt_deadlines_t;

rt_deadlines_t *rt_deadlines_new (void);
void rt_deadlines_destroy (rt_deadlines_t **self_p);
//  Adds a deadline; key is copied.
void rt_deadlines_add (rt_deadlines_t *self, int64_t due, const char *key, int64_t tag);
//  Pops the earliest entry due at or before now into key/tag; false when
//  none is due.
bool rt_deadlines_pop (rt_deadlines_t *self, int64_t now, char *key, size_t keylen, int64_t *tag);
size_t rt_deadlines_size (rt_deadlines_t *self);

void rt_deadlines_test (void);
#endif
