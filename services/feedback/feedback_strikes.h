/*  feedback_strikes: the three-strike ladder of partners and technicians.

    A complaint (a survey answer with complaint: true) is a strike, at
    once, against the partner and the technician it counts for
    (feedback_visits.h: the latest completion before the answer). The
    counting scripts (common.lua) queue each strike whose attribution
    changed in the ticket's shard (fb:strikes_due: "<ticket>-<n>" ->
    "<partner>|<technician>|<ms>", '' when it has none any more). A zloop
    timer, every ASP_SCORE_INTERVAL_MS, moves them to the partner's ladder
    in the partner's shard, the way the score marks move: first the
    ladder (a strike already there is a no-op, so a replay after a crash
    counts nothing twice; one delivered to another partner before is
    withdrawn there first), then, in the ticket's shard, the strike is
    recorded as delivered (fb:strikes_sent) and its queue entry dropped if
    it did not change meanwhile. A SIGKILL between steps leaves the entry:
    it is delivered again, idempotently.

    The ladder is a pure function of its set of strikes, so the arrival
    order does not matter: a strike counts (active or upheld; an
    overturned one does not) towards the strikes after it, in order of
    (time, id), within ASP_STRIKE_WINDOW_D days before it; its level is
    its rank among them, its step ASP_STRIKES[level] (the last step from
    then on). A technician's level and step count only that technician's
    strikes. The partner is removed while any counting strike's step is
    "removal": the window decides which strikes lead to a step, not how
    long a removal lasts (only ops lift it, by overturning a strike).
    A technician who reaches "removal" is on record and shown with the
    partner's ladder; routing assigns partners, not technicians, so the
    partner (who assigns its technicians) is the one who acts on it.

    Each change is computed here from the ladder as read, and written by
    ladder.lua only if the ladder's version is still the one read (else
    it is read and tried again on the next tick), with partner.strike in
    the same step: partner_id, action (struck, withdrawn, reviewed),
    strike_id, ticket (the envelope's), technician_id, strike_ms, state,
    level, step, technician_level, technician_step, reason (once
    reviewed), removed (the partner's state after the change) and
    ladder_version (the ladder's version after it: routing keeps the
    newest, whatever the order they arrive in), and notice, the word
    notification tells ops by (the step a new strike reached, withdrawn,
    upheld, overturned, or reinstated when a review ended a removal).

    Key, in the partner's shard:
      fb:ladder:<partner>   hash: "ver" (changes so far), "removed" (1 /
                            absent), "s|<strike>" the strike as JSON
                            {ticket_id, technician_id, ms, state, level,
                            step, technician_level, technician_step, and
                            after a review decision, reason, by,
                            reviewed_ms}                                 */
#ifndef FEEDBACK_STRIKES_H
#define FEEDBACK_STRIKES_H
#include "asp_quality.h"
#include "asp_svc.h"
#include "asp_vocab.h"

#define FEEDBACK_KEY_STRIKES_DUE  "fb:strikes_due"
#define FEEDBACK_KEY_STRIKES_SENT "fb:strikes_sent"
#define FEEDBACK_KEY_LADDER       ASP_QUALITY_KEY_LADDER     //  read by intake too

//  The steps of the ladder (ASP_STRIKES names them, in order), a
//  strike's state (active: counts, not reviewed; upheld: counts, ops
//  confirmed it; overturned: does not count) and ops' decisions are
//  asp_vocab's strike_step, strike_state and strike_review.

//  What a partner.strike tells.
typedef enum {
    FEEDBACK_STRIKE_STRUCK,         //  a strike on the ladder (new, or its work moved)
    FEEDBACK_STRIKE_WITHDRAWN,      //  no longer this partner's (its answer counts for other work)
    FEEDBACK_STRIKE_REVIEWED        //  ops upheld or overturned it
} feedback_strike_action_t;


#define FEEDBACK_LADDER_MAX 8       //  steps at most

//  The ladder's settings.
typedef struct {
    asp_strike_step_t step [FEEDBACK_LADDER_MAX];
    size_t steps;
    int64_t window_ms;
} feedback_ladder_cfg_t;

//  One strike as the ladder keeps it.
typedef struct {
    char id [2 * ASP_ID_MAX];
    char ticket [ASP_ID_MAX];
    char technician [ASP_ID_MAX];
    int64_t ms;
    asp_strike_state_t state;
    int64_t level, technician_level;        //  0 when it does not count
} feedback_strike_t;

typedef struct feedback_strikes_t feedback_strikes_t;

//  Parses steps such as "warning,penalty,removal" (1..FEEDBACK_LADDER_MAX
//  of warning, penalty, removal; removal only last). 0, or -1 with the
//  reason in err.
int  feedback_ladder_steps (feedback_ladder_cfg_t *cfg, const char *spec, char *err, size_t errlen);
const char *feedback_strike_action_name (feedback_strike_action_t action);
//  Sets the levels of n strikes (any order) under cfg; returns true when
//  the partner is removed.
bool feedback_ladder_levels (const feedback_ladder_cfg_t *cfg, feedback_strike_t *strikes, size_t n);

//  Reads ASP_STRIKES and ASP_STRIKE_WINDOW_D (exit 2 naming the variable
//  when one is bad), starts the timer on svc's loop and applies
//  strike.reviewed (ops' decision, from intake: partner_id, strike_id,
//  decision uphold | overturn, reason, by; an unknown strike is NAKed).
feedback_strikes_t *feedback_strikes_new (asp_svc_t *svc);
void feedback_strikes_destroy (feedback_strikes_t **self_p);


void feedback_strikes_test (void);
#endif
