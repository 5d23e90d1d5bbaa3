/*  feedback_score: the partners' quality score, published as partner.scored.

    A partner's counts (feedback_visits.h: fb:partners in every shard) give
    four components, each in ‰ (0..1000, higher is better):
      on_time       appointments and arrivals kept: of the first bookings
                    plus the survey answers on punctuality, the share not
                    missed, not changed late, not answered "late"
      first_fix     of the completed work orders, the share done (fixed,
                    installed) and never redone (no later re-dispatch or
                    reopen of the ticket)
      repeat        of the work orders done, the share WITHOUT a repeat
                    repair (the same fault reopened)
      satisfaction  the survey scores 1..5 mapped to 0..1000
    Each component is shrunk towards a prior, so that a partner with few
    samples lands near it, neither top nor bottom:
        c = (1000 × good + prior × k) / (n + k)
    (n its samples, good those that went right, prior ASP_SCORE_PRIOR ‰,
    k ASP_SCORE_PRIOR_SAMPLES; rounded). The score is their weighted mean
    (ASP_SCORE_WEIGHTS), and samples the sum of the components' n.

    The counting scripts mark a partner (fb:dirty, in the ticket's shard)
    in the same step as its counts change. A zloop timer, every
    ASP_SCORE_INTERVAL_MS, reads the marks of every shard, the marked
    partners' counts (one pipelined read per 256), and publishes each score
    with a small script in the partner's shard that also clears its mark
    there (scored.lua; at most once per partner per interval, even across
    restarts); only then are its marks in other shards cleared. A crash
    between steps leaves a mark: the score is published again, never lost.
    A mark that changed since it was read stays, so the next tick scores
    the newer counts.                                                       */
#ifndef FEEDBACK_SCORE_H
#define FEEDBACK_SCORE_H
#include "asp_svc.h"

//  A partner's counts, summed over every shard (the fields of fb:partners).
typedef struct {
    int64_t completed, fixed, redone, repeats;
    int64_t surveys, score_sum, resolved, arrivals, late_arrivals;
    int64_t booked, late, missed;
} feedback_counts_t;

typedef enum {
    FEEDBACK_ON_TIME,
    FEEDBACK_FIRST_FIX,
    FEEDBACK_REPEAT,
    FEEDBACK_SATISFACTION,
    FEEDBACK_COMPONENTS
} feedback_component_t;

//  The formula's settings.
typedef struct {
    int64_t weight [FEEDBACK_COMPONENTS];   //  0..1000 each, sum > 0
    int64_t prior;                          //  ‰
    int64_t prior_samples;
} feedback_formula_t;

//  A partner's score: the body of partner.scored.
typedef struct {
    int64_t score;
    int64_t component [FEEDBACK_COMPONENTS];
    int64_t samples;
} feedback_rating_t;

typedef struct feedback_score_t feedback_score_t;

//  Reads ASP_SCORE_WEIGHTS, ASP_SCORE_PRIOR, ASP_SCORE_PRIOR_SAMPLES and
//  ASP_SCORE_INTERVAL_MS (exit 2 naming the variable when one is bad) and
//  starts the timer on svc's loop.
feedback_score_t *feedback_score_new (asp_svc_t *svc);
void feedback_score_destroy (feedback_score_t **self_p);

//  Parses weights such as "on_time=25,first_fix=30,repeat=20,satisfaction=25"
//  into formula (a component not named weighs 0). 0, or -1 with the
//  reason in err.
int  feedback_formula_weights (feedback_formula_t *formula, const char *spec, char *err, size_t errlen);
//  The rating of counts under formula.
void feedback_formula_rate (const feedback_formula_t *formula, const feedback_counts_t *counts,
                            feedback_rating_t *rating);
//  The name of a component ("on_time", ...), as in partner.scored.
const char *feedback_component_name (feedback_component_t component);

//  Reads the counts of n partners, summed over every shard, in one
//  pipelined round trip. 0, or -1 when Redis failed (counts unreliable).
int  feedback_partner_counts (asp_rds_t *rds, const char **partners, size_t n,
                              feedback_counts_t *counts);

void feedback_score_test (void);

#endif
