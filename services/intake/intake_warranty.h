/*  intake_warranty: the 三包 guarantee (包修 repair, 包换 exchange, 包退
    refund): the periods per product category and the remedy they give.

    A policy is one rule per category plus the default rule "*": refund
    within refund_days of the purchase (7), exchange within exchange_days
    (15), repair free within repair_months (12), and a unit repaired
    repairs_for_exchange times (2) for the same fault within the repair
    period qualifies for exchange (0: never). Days are whole UTC days
    since the purchase date: the purchase day is day 0, so "within 7
    days" ends with day 7 (the law counts from the day after the sale).
    The repair period ends with the same date repair_months later (the
    last day of the month when that date does not exist).

    The decision (intake_warranty_decide_rule) is a pure function of the
    rule and intake_warranty_in_t:
      return ticket        refund, else exchange, else (within the repair
                           period) exchange after K same-fault repairs or
                           a free repair, else paid_repair
      repair, maintenance  exchange after K same-fault repairs within the
                           repair period, else repair within it, else
                           paid_repair
      installation, complaint, consultation
                           no remedy (applies is false)
      purchase date unknown (return, repair, maintenance)
                           paid_repair: every 三包 remedy rests on proof
                           of purchase; once a date is recorded the
                           decision is taken again. Paid is the answer
                           that can only improve for the customer, never
                           one the brand must take back.

    The policy file (ASP_WARRANTY_FILE; unset: the built-in "*" rule
    only) has one rule per line, fields separated by spaces or tabs, '#'
    starting a comment:
        # category     refund_days exchange_days repair_months repairs_for_exchange
        *              7           15            12            2
        water_heater   7           15            36            2
    A category is "*" or 1 to 63 characters of [A-Za-z0-9._-]; without a
    "*" line the built-in default rule serves every other category. A
    file that breaks a rule is refused whole with "<file>:<line>: <why>".

    The class keeps the live policy for every thread of the process: a
    mutex guards it. Where the policy is used (decide, describe) it looks
    at the file's mtime, size and inode at most once a second
    (asp_filewatch) and reloads when they changed; SIGHUP (intake_warranty_watch_sighup) reloads at
    once. A reload that fails keeps the old policy, logs the error, counts
    it (asp_warranty_reload_errors_total) and shows it as last_error.    */
#ifndef INTAKE_WARRANTY_H
#define INTAKE_WARRANTY_H
#include "asp_metrics.h"
#include "asp_vocab.h"
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define INTAKE_WARRANTY_CATEGORY_MAX 64     //  with the NUL
#define INTAKE_WARRANTY_RULES_MAX    256    //  rules in one file
#define INTAKE_WARRANTY_LINE_MAX     255    //  bytes in one line
#define INTAKE_WARRANTY_FILE_MAX     65536  //  bytes in one file
#define INTAKE_WARRANTY_UNKNOWN      INT64_MIN  //  purchase date not known

typedef struct {
    char category [INTAKE_WARRANTY_CATEGORY_MAX];   //  "*": the default
    int refund_days;                //  0..365
    int exchange_days;              //  refund_days..365
    int repair_months;              //  0..120
    int repairs_for_exchange;       //  0..100; 0: never
} intake_warranty_rule_t;

//  What the decision needs to know about a request.
typedef struct {
    asp_kind_t type;
    const char *category;           //  the product's category
    int64_t purchase_ms;            //  midnight UTC of the purchase date, or
                                    //  INTAKE_WARRANTY_UNKNOWN
    int64_t now_ms;
    int same_fault_repairs;         //  earlier completed repairs of this
                                    //  unit for the same fault
} intake_warranty_in_t;

//  The decision: the remedy and, for people, why.
typedef struct {
    bool applies;                   //  false: the type has no 三包 remedy
    asp_remedy_t remedy;            //  when applies
    int64_t days;                   //  since the purchase; -1 when unknown
    intake_warranty_rule_t rule;    //  the rule that decided
    char reason [256];
} intake_warranty_out_t;

typedef struct intake_warranty_t intake_warranty_t;

//  The built-in default rule ("*": 7, 15, 12, 2).
void intake_warranty_default_rule (intake_warranty_rule_t *rule);
//  The remedy of in under rule, into out. Pure: no clock, no lock.
void intake_warranty_decide_rule (const intake_warranty_rule_t *rule, const intake_warranty_in_t *in,
                                  intake_warranty_out_t *out);

//  Parses a policy file's text (len bytes, anything) named name (for the
//  messages) into rules (INTAKE_WARRANTY_RULES_MAX of them), *count set.
//  0 when valid; else -1 and "<name>:<line>: <why>" in err. Safe on any
//  input (fuzzed: fuzz/fuzz_warranty).
int intake_warranty_parse (const char *text, size_t len, const char *name,
                           intake_warranty_rule_t *rules, int *count, char *err, size_t errlen);

//  A policy from the file at path (NULL: the built-in default only), or
//  NULL with "<path>:<line>: <why>" in err. metrics may be NULL (tests).
intake_warranty_t *intake_warranty_new (const char *path, asp_metrics_t *metrics, char *err, size_t errlen);
//  Same from ASP_WARRANTY_FILE; a bad file exits 2 with the message.
intake_warranty_t *intake_warranty_new_env (asp_metrics_t *metrics);
void intake_warranty_destroy (intake_warranty_t **self_p);

//  Decides under the live policy (the category's rule, else "*"); first
//  reloads the file when it changed (looked at most once a second).
//  Thread-safe.
void intake_warranty_decide (intake_warranty_t *self, const intake_warranty_in_t *in,
                             intake_warranty_out_t *out);
//  Reloads the file now: 0 when the new policy is live, -1 when it was
//  refused (the old one stays; the error is in last_error). Thread-safe.
int intake_warranty_reload (intake_warranty_t *self);
//  The live policy for people: {"source","loaded_ms","rules":[...],
//  "reloads","reload_errors","last_error":{"message","time_ms"}|null}.
//  The caller deletes it. Thread-safe.
cJSON *intake_warranty_describe (intake_warranty_t *self);

//  Reloads self on every SIGHUP, from a thread of its own (sigwait),
//  until self is destroyed. SIGHUP must be blocked in every thread
//  (asp_sighup_block first thing in main): one that reached a zloop's
//  poll would end the loop (CZMQ treats EINTR as shutdown).
void intake_warranty_watch_sighup (intake_warranty_t *self);

void intake_warranty_test (void);
#endif
