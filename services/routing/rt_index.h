/*  rt_index: which partners may serve a category in a region.

    Partners are indexed by the (skill, region) pairs of their READY, "*"
    included, so the partners that cover an order of (category, region)
    are those of at most four buckets: (category, region), (category, *),
    (*, region) and (*, *). Each bucket also keeps the partners that are
    *available* (live with free credit): dispatch looks only at those, so
    an offer costs the available partners of one class, not every partner,
    and never the backlog.

    Availability is kept lazily: a partner is made available when its
    credit may have freed (rt_index_avail: a READY, an order released) and
    leaves the lists when a walk finds it not live or full.

    The index borrows the partners (rt_registry owns them): whoever forgets
    a partner calls rt_index_remove first.                                  */
#ifndef RT_INDEX_H
#define RT_INDEX_H
#include "rt_registry.h"

typedef struct rt_index_t rt_index_t;

//  Called for each partner of a walk; false stops the walk.
typedef bool (rt_index_fn) (void *arg, rt_partner_t *partner);

rt_index_t *rt_index_new (void);
void rt_index_destroy (rt_index_t **self_p);

//  (Re)indexes partner by its READY's skills and regions; available.
void rt_index_set (rt_index_t *self, rt_partner_t *partner);
void rt_index_remove (rt_index_t *self, rt_partner_t *partner);
//  The partner may have free credit again.
void rt_index_avail (rt_index_t *self, rt_partner_t *partner);
//  Calls fn once for each partner whose READY covers (category, region);
//  when available, only for live partners with free credit.
void rt_index_each (rt_index_t *self, const char *category, const char *region, bool available,
                    rt_index_fn *fn, void *arg);
//  True when some partner (live or not) covers (category, region).
bool rt_index_covered (rt_index_t *self, const char *category, const char *region);
//  True when some live partner with free credit covers (category, region).
bool rt_index_any_available (rt_index_t *self, const char *category, const char *region);

void rt_index_test (void);
#endif
