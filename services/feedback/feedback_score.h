/*  feedback_score: the partners' and technicians' quality scores over
    rolling windows, published as partner.scored.

    A subject's counts (feedback_visits.h: fb:days in every shard, by UTC
    day) summed over the last ASP_QUALITY_SHORT_D (30) and
    ASP_QUALITY_LONG_D (90) days, today included, give seven components,
    each in ‰ (0..1000, higher is better):
      on_time       appointments and arrivals kept: of the first bookings
                    plus the survey answers on punctuality, the share not
                    missed, not changed late, not answered "late"
      first_fix     of the completed work orders, the share done (fixed,
                    installed) and never redone (no later re-dispatch or
                    reopen of the ticket)
      repeat        of the work orders done, the share WITHOUT a repeat
                    repair (a reopen, or the unit's next repair ticket
                    within ASP_REPEAT_WINDOW_D)
      install_return  of the installations done, the share WITHOUT a
                    first-install return (初装返修率: a repair ticket of the
                    unit within ASP_INSTALL_RETURN_D of its installation)
      satisfaction  the survey scores 1..5 mapped to 0..1000
      complaints    of the work orders completed, the share without a
                    complaint (a survey answer with complaint: true)
      sla           of the work orders completed, the share without a
                    breach of a partner's SLA clock (partner_acceptance,
                    appointment_made, onsite_arrival, appointment_kept,
                    resolution)
    Each component is shrunk towards a prior, so that a subject with few
    samples lands near it, neither top nor bottom:
        c = (1000 × good + prior × k) / (n + k)
    (n its samples, good those that went right, prior ASP_SCORE_PRIOR ‰,
    k ASP_SCORE_PRIOR_SAMPLES; rounded). The score is their weighted mean
    (ASP_SCORE_WEIGHTS), and samples the sum of the components' n.

    partner.scored's score and components are the long window's: routing
    ranks partners by it, and 90 days hold enough work orders of a small
    partner for the score to mean something (a month holds a handful: one
    bad job would swing it), while still forgetting what was fixed a season
    ago. The body also carries each window's complaints_n, breaches and
    compensation (minor units paid for the partner's late clocks), the
    short window's figures with "short_" in front, and the partner's
    technicians ("technicians": an array, in order of id, of
    {technician_id, the same figures}), which routing ignores.

    The counting scripts mark a partner (fb:dirty, in the ticket's shard)
    in the same step as its counts or its technicians' change. A zloop
    timer, every ASP_SCORE_INTERVAL_MS, reads the marks of every shard, the
    marked partners' counts (one pipelined read per 256), and publishes each score
    with a small script in the partner's shard that also clears its mark
    there (scored.lua; at most once per partner per interval, even across
    restarts); only then are its marks in other shards cleared. A crash
    between steps leaves a mark: the score is published again, never lost.
    A mark that changed since it was read stays, so the next tick scores
    the newer counts. On the first tick of a UTC day (and at start) it
    marks every partner last scored on an earlier day: days left its
    windows, so it is scored again without a new fact. The same timer
    drops the count fields of days older than ASP_QUALITY_KEEP_D and of
    months older than ASP_REPORT_KEEP_M (prune.lua), and every
    ASP_WARN_INTERVAL_MS runs the early warning (common/asp_report.h's
    asp_warn_read): each rising rate is published as quality.warning, once
    per scope, id and metric per UTC day (warned.lua, fb:warned).                                    */
#ifndef FEEDBACK_SCORE_H
#define FEEDBACK_SCORE_H
#include "asp_svc.h"

//  A subject's counts over a window, summed over every shard and day
//  (feedback_visits.h lists them).
typedef struct {
    int64_t completed, fixed, redone, repeats, installs, install_returns;
    int64_t surveys, score_sum, resolved, arrivals, late_arrivals;
    int64_t booked, late, missed;
    int64_t complaints, breaches, compensation;
} feedback_counts_t;

//  The windows and lifetimes, in days (ASP_QUALITY_SHORT_D, _LONG_D,
//  _KEEP_D, ASP_REPEAT_WINDOW_D, ASP_INSTALL_RETURN_D), and how many
//  months the reports' counts by month are kept (ASP_REPORT_KEEP_M).
typedef struct {
    int64_t short_d, long_d, keep_d, repeat_d, install_d;
    int64_t keep_m;
} feedback_quality_t;

#define FEEDBACK_WINDOWS 2          //  short, long
#define FEEDBACK_DAY_MS  86400000LL

typedef enum {
    FEEDBACK_ON_TIME,
    FEEDBACK_FIRST_FIX,
    FEEDBACK_REPEAT,
    FEEDBACK_INSTALL_RETURN,
    FEEDBACK_SATISFACTION,
    FEEDBACK_COMPLAINTS,
    FEEDBACK_SLA,
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

//  Reads the quality windows (exit 2 naming the variable when one is bad:
//  the long window must be longer than the short, keep at least the long).
void feedback_quality_config (feedback_quality_t *quality);

//  Reads ASP_SCORE_WEIGHTS, ASP_SCORE_PRIOR, ASP_SCORE_PRIOR_SAMPLES,
//  ASP_SCORE_INTERVAL_MS and the quality windows (exit 2 naming the
//  variable when one is bad) and starts the timer on svc's loop.
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

//  For the self-tests: the counts of n partners over the 366 days up to
//  today, from a plain read of every fb:days field.
int  feedback_test_counts (asp_rds_t *rds, const char **partners, size_t n, feedback_counts_t *counts);

void feedback_score_test (void);

#endif
