/*  sla_clocks: the events that start, stop, pause and resume a ticket's
    clocks (docs/sla.md, "Clocks"), each turned into one transaction of
    clock.lua on the ticket's shard, with no read before it.

    Keys (sla-timer owns them; common/asp_clocks.h reads the hash too):
      {s<n>}:sla:due      sorted set, one per shard: at most one member per
                          clock, "<ticket>|<clock>|<phase>", its next phase
                          (0 warning, 1 breach, 2.. ladder steps, r: the
                          tick must look at it: a start whose phases need
                          the policy, a resume, a late clock's
                          compensation), score the wall ms it falls due
      {s<n>}:sla:t:<id>   hash, the ticket's facts and clocks:
        pol region owner kind fw price wg   the ticket's policy (chosen at
                          ticket.created), region, owner, type, 1 for
                          field work, price (minor units), work order
                          generation; wait_customer, wait_parts: 1 while
                          the ticket waits for that reason; done: 1 once
                          closed or cancelled (no clock starts then), 0
                          again after a re-dispatch; early: the events
                          that came before ticket.created (clock.lua),
                          applied and removed when it comes (the hash
                          expires, like a tombstone, until then)
        <c>               the state word of clock c (asp_clock_state_t)
        <c>:pol :bs :cal  its policy, basis word, calendar
        <c>:tg            target ms in its basis (grace for event-dated)
        <c>:st :due :wn   started, due, warning (wall ms)
        <c>:ph            the phases' wall times "w,d,e1,e2,..."
        <c>:nx            its member's phase in sla:due (absent: none)
        <c>:lv            level fired: 1 warned, 2 breached, 2+k step k
        <c>:pm            pause bits of its policy (1 customer, 2 parts)
        <c>:pa            paused at (wall ms; also while a resume waits
                          for the tick to move its phases: the state is
                          running again, the pause ends at the score of
                          the member r)
        <c>:ps            paused in total (wall ms), pauses that ended
        <c>:end           stopped at
        <c>:cmp :apr :cap compensation owed (minor units), the approving
                          role word, 1 when cut to the highest cap
        <c>:gen           generation (a restart begins a new one)
        <c>:chg           appointment_kept: the booking's changes
      A field that is 0 is left out.                                       */
#ifndef SLA_CLOCKS_H
#define SLA_CLOCKS_H
#include "asp_svc.h"
#include "sla_fire.h"

#define SLA_KEY_DUE     "sla:due"
#define SLA_KEY_CLOCKS  "sla:t:%s"
//  The phase of a member that asks the tick to look (re-arm).
#define SLA_PHASE_REARM (-1)

typedef struct sla_clocks_t sla_clocks_t;

//  Registers the handlers of every event that moves a clock on svc.
//  watch and fire are borrowed for the life of the clocks.
sla_clocks_t *sla_clocks_new (asp_svc_t *svc, sla_policy_watch_t *watch, sla_fire_t *fire);
void sla_clocks_destroy (sla_clocks_t **self_p);

//  Parses "<ticket>|<clock>|<phase>" (phase a number, or r:
//  SLA_PHASE_REARM). 0, or -1 when malformed.
int sla_clocks_parse_member (const char *member, char *ticket, size_t tlen, asp_clock_t *clock, int *phase);

void sla_clocks_test (void);
#endif
