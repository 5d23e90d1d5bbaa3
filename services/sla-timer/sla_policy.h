/*  sla_policy: the SLA policy file — calendars, regions, escalation
    ladders, compensation rules, approval caps and the policies that give
    each ticket its clocks' targets.

    The file (ASP_SLA_POLICY_FILE; none: the shipped deploy/sla/policies.conf
    compiled in) is INI, read with libinih; its format is docs/sla.md's
    "The policy file". A file with any error is refused whole, with
    "<file>:<line>: <why>" for its first error; the caller keeps the
    policies it had (sla_policy_watch).

    Selecting: a ticket gets the policy whose match (type, tier, class,
    region; a key left out matches anything) fits it with the most keys
    given; of equally specific ones the first in the file. The file must
    have a policy that matches everything ("[policy standard]" with no
    match line, usually), so every ticket gets one.

    Money is in minor units (fen, cents) everywhere in the code and on the
    bus; the file writes major units with up to two decimals ("30", "0.5").

    Ownership: a loaded policy is immutable (its calendars too) and owned
    by whoever loaded it; the watcher owns the current one and hands out
    borrowed pointers that stay valid until the next sla_policy_watch_check
    that returns 1.                                                         */
#ifndef SLA_POLICY_H
#define SLA_POLICY_H
#include "asp_calendar.h"
#include "asp_vocab.h"
#include <stdbool.h>
#include <stdint.h>

#define SLA_NAME_MAX    64          //  names of policies, calendars, rules, ladders
#define SLA_STEPS_MAX   8           //  escalation steps per ladder

typedef struct sla_policy_t sla_policy_t;

//  One step of an escalation ladder: to role, delay after the breach in
//  the clock's basis (business clocks escalate in business time).
typedef struct {
    asp_sla_role_t role;
    int64_t delay_ms;
} sla_step_t;

typedef struct {
    char name [SLA_NAME_MAX];
    int nsteps;
    sla_step_t steps [SLA_STEPS_MAX];
} sla_ladder_t;

//  "percent of the ticket's price, at least min, at most max" or "per_day
//  for each started day late, at most max" (one of percent / per_day).
typedef struct {
    char name [SLA_NAME_MAX];
    int64_t percent_bp;             //  basis points: 5% = 500; 0 when per_day
    int64_t per_day;                //  minor units; 0 when percent
    int64_t min, max;               //  minor units; max 0 = no maximum
} sla_comp_t;

//  A clock's target in a policy.
typedef struct {
    bool on;                        //  the policy runs this clock
    asp_basis_t basis;
    //  A duration (basis units), or for clocks dated by their event
    //  (appointment_kept: the booked slot's end; callback: the promised
    //  time) the grace after that time.
    int64_t target_ms;
    //  A fixed time instead ("at 10:00 +1d", "at 18:00 +3wd"): local time
    //  in the region's calendar's zone, days after the start's local date,
    //  counting working days when at_working.
    bool fixed;
    int at_days, at_hh, at_mm;
    bool at_working;
    int warn_pct;                   //  warning at this share of the target, 1..99
    unsigned pause_mask;            //  bits (1u << asp_pause_t) that pause this clock
    const sla_ladder_t *ladder;     //  NULL: breach only
    const sla_comp_t *comp;         //  NULL: no compensation
} sla_target_t;

typedef struct {
    char name [SLA_NAME_MAX];
    int line;                       //  where it starts in the file
    unsigned kinds, tiers, classes; //  bit masks of asp_kind_t / asp_tier_t / asp_class_t; 0 = any
    int nregions;                   //  0 = any
    const char *const *regions;
    bool retarget;                  //  running clocks take this policy's new targets on reload
    sla_target_t clocks [ASP_CLOCK_COUNT];
} sla_rule_t;

//  Loads path; NULL and why ("<path>:<line>: <reason>") on any error.
sla_policy_t *sla_policy_load (const char *path, char *why, size_t why_len);
//  The same from text in memory (name is used in messages).
sla_policy_t *sla_policy_parse (const char *name, const char *text, char *why, size_t why_len);
//  The compiled-in default (deploy/sla/policies.conf).
sla_policy_t *sla_policy_default (void);
void sla_policy_destroy (sla_policy_t **self_p);

//  A short hash of the source text (hex, 16 chars): which file is live.
const char *sla_policy_version (const sla_policy_t *self);
//  The policy for a ticket (never NULL for a loaded policy).
const sla_rule_t *sla_policy_select (const sla_policy_t *self, asp_kind_t kind, asp_tier_t tier,
                                     asp_class_t cclass, const char *region);
//  The policy called name, or NULL.
const sla_rule_t *sla_policy_rule (const sla_policy_t *self, const char *name);
//  The calendar of region (its [region] section, else the "*" region's),
//  never NULL; and the calendar called name, or NULL. The 24x7 calendar in
//  the same zone is asp_calendar-built as "<name>/24x7":
//  sla_policy_calendar_24x7 returns the region's.
const asp_calendar_t *sla_policy_calendar (const sla_policy_t *self, const char *region);
const asp_calendar_t *sla_policy_calendar_24x7 (const sla_policy_t *self, const char *region);
const asp_calendar_t *sla_policy_calendar_named (const sla_policy_t *self, const char *name);
//  The recipients of role in region (comma list from the file, else
//  the "*" region's), "" when none. The agent role's recipient is the
//  ticket's owner, not from the file: the engine names it.
const char *sla_policy_recipients (const sla_policy_t *self, const char *region, asp_sla_role_t role);
//  The approval cap of role, minor units (-1: the file gives none).
int64_t sla_policy_cap (const sla_policy_t *self, asp_sla_role_t role);

//  What a late clock owes: the amount by rule for price (minor units;
//  0 = unknown price: percent rules give their min) and lateness late_ms
//  (> 0), then the lowest role whose cap covers it in *approver; when no
//  cap does, the amount is cut to the highest cap and *capped is set.
int64_t sla_policy_compensation (const sla_policy_t *self, const sla_comp_t *rule, int64_t price,
                                 int64_t late_ms, asp_sla_role_t *approver, bool *capped);

//  The current policy of a file that ops edit: loaded at start, reloaded
//  when the file changes (checked at most every second) or at once after
//  SIGHUP (sla_policy_watch_hup, async-signal-safe). A bad change keeps
//  the old policy and records the error.
typedef struct sla_policy_watch_t sla_policy_watch_t;
//  path NULL: the compiled-in default, never reloaded. NULL and why when
//  the file cannot be loaded at start.
sla_policy_watch_t *sla_policy_watch_new (const char *path, char *why, size_t why_len);
void sla_policy_watch_destroy (sla_policy_watch_t **self_p);
//  1 when a new policy was loaded, 0 nothing changed, -1 a change was
//  refused (sla_policy_watch_error says why). now_ms paces the stat.
int sla_policy_watch_check (sla_policy_watch_t *self, int64_t now_ms);
void sla_policy_watch_hup (sla_policy_watch_t *self);
const sla_policy_t *sla_policy_watch_current (const sla_policy_watch_t *self);
//  The last refused change's "<file>:<line>: <why>", "" when none since
//  the last good load.
const char *sla_policy_watch_error (const sla_policy_watch_t *self);

void sla_policy_test (void);
#endif
