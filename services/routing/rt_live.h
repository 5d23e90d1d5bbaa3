/*  rt_live: routing's live view of the partners, published for the ops
    dashboard (intake_ops.h: GET /v1/ops/summary, partners).

    Which partner is connected and how much it holds lives in routing's
    memory only (rt_registry). Every RT_LIVE_EVERY_MS routing renews one
    Redis hash's expiry (RT_LIVE_TTL_MS), and when the partners' state
    changed replaces it whole in one MULTI (a reader never sees half; an
    unchanged state writes no data, so Redis stays as it was): a hash that
    is absent means routing is down, and the dashboard shows null rather
    than stale figures.

    Key (not a ticket's: no shard tag; written by plain commands):
      asp:rtlive    hash: up -> "1" (so that no partner is not no hash);
                    <partner id> ->
                    "<connected 0|1>|<load>|<capacity>": load the work
                    orders it holds (offered or assigned), capacity its
                    free credit plus its load (the READY's capacity,
                    capped by its registry record; 0 when suspended or
                    removed)                                                */
#ifndef RT_LIVE_H
#define RT_LIVE_H
#include "asp_rds.h"
#include "rt_registry.h"

#define RT_LIVE_KEY         "asp:rtlive"
#define RT_LIVE_EVERY_MS    2000
#define RT_LIVE_TTL_MS      15000

//  One partner's value into out ("c|load|capacity").
void rt_live_value (const rt_partner_t *partner, char *out, size_t len);
//  Renews the hash, and replaces it with registry's partners when they
//  differ from *last (what was written last, a string the caller owns:
//  NULL at first; updated here). 0, or -1 when Redis failed (*last is
//  then NULL: the next call writes again).
int rt_live_write (asp_rds_t *rds, rt_registry_t *registry, char **last);

void rt_live_test (void);
#endif
