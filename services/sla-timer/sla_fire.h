/*  sla_fire: the tick — every phase of every clock fired once, on time.

    Precision: the members of the due sets falling due within the next
    two windows (ASP_SLA_WINDOW_MS, 1 s) are held in an in-process
    min-heap (sla_heap); one zloop timer is set at the heap's earliest.
    Every window the due sets are read again (one pipeline over the 16
    shards, BYSCORE up to now + 2 windows), so members another process
    (or an operator) added are found within a window; members this
    process adds (sla_fire_added) go into the heap as soon as their
    script committed.

    Firing: what is due (up to ASP_SLA_BATCH members) is taken from the
    heap, the clock hashes of their tickets are read in one pipeline, the
    decisions are taken in C (sla_plan: phases, ladder, pause shifts;
    sla_policy: recipients, compensation) and committed as guarded
    apply.lua scripts in one pipeline (asp_svc_commit): a script acts only
    if its ZREM removed the member and the clock is as read. A SIGKILL
    anywhere leaves Redis with either the member (it fires after the
    restart) or its effect and the next phase's member (never both).

    Reload: the policy watcher is checked every window and at once on
    SIGHUP (read in the loop, asp_sighup.h: asp_sighup_block first thing
    in main). Running clocks
    keep their phases; after a reload the due sets are walked in bounded
    steps (ZSCAN) and the running clocks of a policy with retarget = yes
    get the new targets.

    Ownership: the watcher is borrowed.                                    */
#ifndef SLA_FIRE_H
#define SLA_FIRE_H
#include "asp_svc.h"
#include "sla_policy.h"

typedef struct sla_fire_t sla_fire_t;

sla_fire_t *sla_fire_new (asp_svc_t *svc, sla_policy_watch_t *watch);
void sla_fire_destroy (sla_fire_t **self_p);
//  A member this process's script added to shard's due set at due: into
//  the heap when it falls within the window.
void sla_fire_added (sla_fire_t *self, const char *member, unsigned shard, int64_t due);

void sla_fire_test (void);
#endif
