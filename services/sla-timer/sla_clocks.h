/*  sla_clocks: every deadline of every ticket, fired once.

    A clock (response, resolution, return_visit) starts on one event and
    stops on another. Each running clock has two timers in its shard's
    sorted set of due timers (score = when): a warning at ASP_SLA_WARN_PCT
    of its duration and the breach. Starting and stopping are idempotent Lua steps.
    A single zloop timer ticks every ASP_SLA_TICK_MS but only asks Redis
    when the earliest known deadline has come (the hint), so an idle
    platform costs nothing; firing removes the member and publishes its
    event in one atomic step, so a timer fires once even if two ticks, or a
    restart, race for it. Deadlines count from the event's own time, so a
    restart does not move them.

    Keys, in the ticket's shard (asp_keys.h: "{s<n>}:" + name):
      sla:due           sorted set: timers "ticket|clock|phase|due_ms" of
                        the shard's tickets, scored by when they fire
      sla:t:<ticket>    hash: each clock's state (running, stopped,
                        breached), <clock>:due, <clock>:fired_<phase>;
                        waiting ('1' while the ticket waits for the
                        customer, ticket.waiting / ticket.resumed) and
                        waiting_ms, for the pausing policy (not yet used);
                        the work order's appointment (appointment_ms,
                        appointment_end_ms, appointment_changes,
                        appointment_late, appointment_missed, missed_ms:
                        workorder.appointment / _missed) for the on-time
                        policies (not yet used)
    A tick reads the earliest timers of all ASP_SHARDS due sets in one
    pipeline.                                                               */
#ifndef SLA_CLOCKS_H
#define SLA_CLOCKS_H
#include "asp_svc.h"

#define SLA_KEY_DUE     "sla:due"
#define SLA_KEY_CLOCKS  "sla:t:%s"

typedef struct sla_clocks_t sla_clocks_t;

sla_clocks_t *sla_clocks_new (asp_svc_t *svc);
void sla_clocks_destroy (sla_clocks_t **self_p);
//  Parses "ticket|clock|phase|due" (0 ok).
int sla_clocks_parse_member (const char *member, char *ticket, size_t tlen, char *clock,
                             size_t clen, char *phase, size_t plen, int64_t *due);

void sla_clocks_test (void);
#endif
