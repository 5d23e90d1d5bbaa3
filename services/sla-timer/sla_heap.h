/*  sla_heap: the near window of timers, in memory, earliest first.

    A binary min-heap of (due ms, member) with an index by member, so a
    member is in the heap at most once: putting it again moves it to its
    new due time. sla_fire keeps in it every member of the Redis due sets
    that falls due within the next two windows, and sets one zloop timer
    at the earliest; the heap is only a cache of Redis (rebuilt by reading
    the due sets after a restart), so an entry may be stale: firing it
    costs a guarded script that answers stale.

    Each entry remembers the shard whose due set holds its member.
    O(log n) put, pop and remove; no allocation per pop (the caller's
    buffer receives the member).

    Ownership: the heap owns copies of the members.                        */
#ifndef SLA_HEAP_H
#define SLA_HEAP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sla_heap_t sla_heap_t;

sla_heap_t *sla_heap_new (void);
void sla_heap_destroy (sla_heap_t **self_p);
//  Adds member (of shard's due set) at due, or moves it there when it
//  is in the heap already.
void sla_heap_put (sla_heap_t *self, const char *member, unsigned shard, int64_t due);
//  Removes member; false when it was not in the heap.
bool sla_heap_remove (sla_heap_t *self, const char *member);
bool sla_heap_has (sla_heap_t *self, const char *member);
size_t sla_heap_size (sla_heap_t *self);
//  The earliest due time, INT64_MAX when empty.
int64_t sla_heap_peek (sla_heap_t *self);
//  Takes the earliest entry when it is due at or before now: its member
//  into member (len bytes; a longer one is truncated), its shard, and
//  returns its due time; -1 when nothing is due.
int64_t sla_heap_pop (sla_heap_t *self, int64_t now, char *member, size_t len, unsigned *shard);

void sla_heap_test (void);
#endif
