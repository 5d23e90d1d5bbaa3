#include "sla_clocks.h"
#include "asp_log.h"
#include "asp_vocab.h"
#include "sla_plan.h"
#include <assert.h>

extern const char asp_lua_clock [];

#define S_PRICE_MAX 10000000000LL   //  10^10 minor units

struct sla_clocks_t {
    asp_svc_t *svc;
    sla_policy_watch_t *watch;
    sla_fire_t *fire;
    asp_script_t *clock;
};

//  ---------------------------------------------------------------------
//  The ops of clock.lua: name, count, tokens (see the script's header).

typedef struct {
    char **v;
    size_t n, cap;
    size_t mark;                    //  where the open op's count goes
} s_ops_t;

static void
s_push (s_ops_t *ops, char *s)
{
    assert (s);
    if (ops->n == ops->cap) {
        ops->cap = ops->cap? ops->cap * 2: 32;
        ops->v = (char **) realloc (ops->v, ops->cap * sizeof (char *));
        assert (ops->v);
    }
    ops->v [ops->n++] = s;
}

static void s_tok (s_ops_t *ops, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
static void
s_tok (s_ops_t *ops, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    char *s = NULL;
    int rc = vasprintf (&s, fmt, ap);
    va_end (ap);
    assert (rc >= 0);
    s_push (ops, s);
}

static void
s_op (s_ops_t *ops, const char *name)
{
    s_tok (ops, "%s", name);
    ops->mark = ops->n;
    s_push (ops, strdup (""));
}

//  Closes the open op: its count of tokens.
static void
s_op_end (s_ops_t *ops)
{
    free (ops->v [ops->mark]);
    int rc = asprintf (&ops->v [ops->mark], "%zu", ops->n - ops->mark - 1);
    assert (rc > 0);
}

//  Every clock's name after the op's fixed tokens (pause, resume).
static void
s_all_clocks (s_ops_t *ops)
{
    for (int c = 0; c < ASP_CLOCK_COUNT; c++)
        s_tok (ops, "%s", asp_vocab_name (&asp_vocab_clock, c));
}

static void
s_stop (s_ops_t *ops, asp_clock_t clock, const char *how)
{
    s_op (ops, "stop");
    s_tok (ops, "%s", asp_vocab_name (&asp_vocab_clock, clock));
    s_tok (ops, "%s", how);
    s_op_end (ops);
}

//  A new generation of clock whose phases the tick computes from the
//  ticket's policy; anchor is the event's date for event-dated clocks.
//  changes (> 0) is recorded as c:chg.
static void
s_arm (s_ops_t *ops, asp_clock_t clock, int64_t anchor, int64_t changes)
{
    const char *c = asp_vocab_name (&asp_vocab_clock, clock);
    s_op (ops, "arm");
    s_tok (ops, "%s", c);
    if (anchor)
        s_tok (ops, "%lld", (long long) anchor);
    else
        s_tok (ops, "%s", "");
    if (changes > 0) {
        s_tok (ops, "%s:chg", c);
        s_tok (ops, "%lld", (long long) changes);
    }
    s_op_end (ops);
}

static void
s_wait (s_ops_t *ops, bool pause, asp_pause_t why)
{
    s_op (ops, pause? "pause": "resume");
    s_tok (ops, "%u", 1u << why);
    s_tok (ops, "%s", asp_vocab_name (&asp_vocab_pause, why));
    s_all_clocks (ops);
    s_op_end (ops);
}

static void
s_fact (s_ops_t *ops, const char *name, const char *value)
{
    s_op (ops, "facts");
    s_tok (ops, "%s", name);
    s_tok (ops, "%s", value);
    s_op_end (ops);
}

static void
s_cancel_all (s_ops_t *ops)
{
    for (int c = 0; c < ASP_CLOCK_COUNT; c++)
        s_stop (ops, (asp_clock_t) c, "cancel");
}

//  How an event may find a ticket sla-timer does not know yet.
typedef enum {
    S_KNOWN,                        //  stale: nothing to stop or pause
    S_CREATES,                      //  ticket.created
    S_ENDS                          //  closed, cancelled: a tombstone
} s_unknown_t;

//  The txn of clock.lua for env with ops (consumed); wg is the event's
//  work order generation, 0 when it names none.
static asp_txn_t *
s_txn (sla_clocks_t *self, const asp_envelope_t *env, int64_t wg, s_unknown_t unknown, s_ops_t *ops)
{
    asp_txn_t *txn = asp_txn_new (self->clock, asp_shard_of (env->ticket));
    asp_txn_inbox (txn, env->id);
    asp_txn_key (txn, SLA_KEY_DUE);
    asp_txn_key (txn, SLA_KEY_CLOCKS, env->ticket);
    asp_txn_arg (txn, "%s", env->ticket);
    asp_txn_arg (txn, "%lld", (long long) env->time_ms);
    if (wg)
        asp_txn_arg (txn, "%lld", (long long) wg);
    else
        asp_txn_arg (txn, "%s", "");
    asp_txn_arg (txn, "%s", unknown == S_CREATES? "1": unknown == S_ENDS? "t": "0");
    for (size_t i = 0; i < ops->n; i++) {
        asp_txn_arg (txn, "%s", ops->v [i]);
        free (ops->v [i]);
    }
    free (ops->v);
    memset (ops, 0, sizeof *ops);
    return txn;
}

static bool
s_need_ticket (const asp_envelope_t *env, char *reason, size_t len)
{
    if (*env->ticket)
        return true;
    snprintf (reason, len, "%s needs a ticket id", env->type);
    return false;
}

//  The generation of the work order the event names (body wo_id): 1 for
//  "W<ticket>", n for "W<ticket>.<n>"; 0 when it names none. -1 (and
//  why) when wo_id is not one of this ticket's.
static int64_t
s_wo_gen (const asp_envelope_t *env, char *reason, size_t len)
{
    char wo [ASP_CHILD_ID_MAX] = "", ticket [ASP_ID_MAX];
    int rc = asp_mp_get_str (env->body, "wo_id", wo, sizeof wo);
    if (rc == 1)
        return 0;
    if (rc < 0 || asp_wo_ticket (wo, ticket, sizeof ticket) || strcmp (ticket, env->ticket) != 0) {
        snprintf (reason, len, "%s: wo_id must be a work order of ticket %s", env->type, env->ticket);
        return -1;
    }
    const char *dot = wo + 1 + strlen (ticket);
    return *dot == '.'? strtoll (dot + 1, NULL, 10): 1;
}

//  ---------------------------------------------------------------------
//  ticket.created: the policy is chosen here, from the event's facts, and
//  the clocks that start now get their phases at once.

typedef struct {
    asp_kind_t kind;
    asp_tier_t tier;
    asp_class_t cclass;
    char region [64], owner [128];
    int64_t price;
} s_facts_t;

static int
s_word (const asp_envelope_t *env, const char *key, const asp_vocab_t *vocab, int dflt, bool required,
        char *reason, size_t len)
{
    char word [32], list [160];
    int rc = asp_mp_get_str (env->body, key, word, sizeof word);
    int v = rc == 1? (required? -1: dflt): rc < 0? -1: asp_vocab_parse (vocab, word);
    if (v < 0)
        snprintf (reason, len, "%s must be one of %s", key, asp_vocab_join (vocab, list, sizeof list));
    return v;
}

static int
s_created_facts (const asp_envelope_t *env, s_facts_t *f, char *reason, size_t len)
{
    memset (f, 0, sizeof *f);       //  region and owner may be absent
    int kind = s_word (env, "type", &asp_vocab_kind, 0, true, reason, len);
    int tier = kind < 0? -1: s_word (env, "tier", &asp_vocab_tier, ASP_TIER_STANDARD, false, reason, len);
    int cclass = tier < 0? -1: s_word (env, "customer_class", &asp_vocab_class, ASP_CLASS_B, false, reason, len);
    if (cclass < 0)
        return -1;
    f->kind = (asp_kind_t) kind;
    f->tier = (asp_tier_t) tier;
    f->cclass = (asp_class_t) cclass;
    f->price = 0;
    if (asp_mp_get_str (env->body, "region", f->region, sizeof f->region) < 0
    ||  asp_mp_get_str (env->body, "owner", f->owner, sizeof f->owner) < 0
    ||  asp_mp_get_int (env->body, "price", &f->price) < 0 || f->price < 0 || f->price > S_PRICE_MAX) {
        snprintf (reason, len, "region and owner must be short strings, price an integer 0..10^10");
        return -1;
    }
    if (strchr (f->owner, ',')) {
        snprintf (reason, len, "owner must not contain a comma");
        return -1;
    }
    return 0;
}

//  The start op of one clock planned now.
static void
s_start (s_ops_t *ops, const sla_rule_t *rule, const sla_plan_t *plan, const sla_target_t *target,
         asp_clock_t clock)
{
    const char *c = asp_vocab_name (&asp_vocab_clock, clock);
    char ph [SLA_PH_TEXT_MAX];
    s_op (ops, "start");
    s_tok (ops, "%s", c);
    s_tok (ops, "nx");
    s_tok (ops, "%s:pol", c);  s_tok (ops, "%s", rule->name);
    s_tok (ops, "%s:bs", c);   s_tok (ops, "%s", asp_vocab_name (&asp_vocab_basis, plan->basis));
    s_tok (ops, "%s:cal", c);  s_tok (ops, "%s", plan->cal_name);
    s_tok (ops, "%s:tg", c);   s_tok (ops, "%lld", (long long) plan->target_ms);
    s_tok (ops, "%s:due", c);  s_tok (ops, "%lld", (long long) plan->due);
    s_tok (ops, "%s:wn", c);   s_tok (ops, "%lld", (long long) plan->at [0]);
    s_tok (ops, "%s:ph", c);   s_tok (ops, "%s", sla_plan_format (plan->at, plan->nphases, ph, sizeof ph));
    if (target->pause_mask) {
        s_tok (ops, "%s:pm", c);
        s_tok (ops, "%u", target->pause_mask);
    }
    s_op_end (ops);
}

static asp_txn_t *
s_on_created (asp_svc_t *svc, const asp_envelope_t *env, char *reason, size_t len, void *arg)
{
    (void) svc;
    sla_clocks_t *self = (sla_clocks_t *) arg;
    s_facts_t f;
    if (!s_need_ticket (env, reason, len) || s_created_facts (env, &f, reason, len))
        return NULL;
    const sla_policy_t *policy = sla_policy_watch_current (self->watch);
    const sla_rule_t *rule = sla_policy_select (policy, f.kind, f.tier, f.cclass, f.region);
    bool field = asp_kind_field_work (f.kind);
    s_ops_t ops = { 0 };
    s_op (&ops, "facts");
    s_tok (&ops, "pol");    s_tok (&ops, "%s", rule->name);
    s_tok (&ops, "region"); s_tok (&ops, "%s", f.region);
    s_tok (&ops, "owner");  s_tok (&ops, "%s", f.owner);
    s_tok (&ops, "kind");   s_tok (&ops, "%s", asp_vocab_name (&asp_vocab_kind, f.kind));
    if (field) {
        s_tok (&ops, "fw");
        s_tok (&ops, "1");
    }
    if (f.price) {
        s_tok (&ops, "price");
        s_tok (&ops, "%lld", (long long) f.price);
    }
    s_op_end (&ops);
    //  The clocks that start with the ticket (docs/sla.md, "Clocks").
    for (int c = 0; c < ASP_CLOCK_COUNT; c++) {
        bool starts = c == ASP_CLOCK_FIRST_RESPONSE || c == ASP_CLOCK_RESOLUTION
                   || (field && (c == ASP_CLOCK_PARTNER_ACCEPTANCE || c == ASP_CLOCK_ONSITE_ARRIVAL))
                   || (f.kind == ASP_KIND_COMPLAINT
                       && (c == ASP_CLOCK_COMPLAINT_ANSWER || c == ASP_CLOCK_COMPLAINT_RESOLVED));
        const sla_target_t *target = &rule->clocks [c];
        if (!starts || !target->on)
            continue;
        sla_plan_t plan;
        char why [160];
        if (sla_plan_new (&plan, policy, target, (asp_clock_t) c, f.region, env->time_ms, 0, why, sizeof why)) {
            asp_log_error ("sla: ticket %s: clock %s not started: %s", env->ticket,
                           asp_vocab_name (&asp_vocab_clock, c), why);
            continue;
        }
        s_start (&ops, rule, &plan, target, (asp_clock_t) c);
    }
    return s_txn (self, env, 0, S_CREATES, &ops);
}

//  ---------------------------------------------------------------------
//  The other events: what each stops, starts and pauses.

//  ticket.responded: an answer to the customer; a promised call-back
//  (promise_ms) starts the callback clock anew.
static asp_txn_t *
s_on_responded (asp_svc_t *svc, const asp_envelope_t *env, char *reason, size_t len, void *arg)
{
    (void) svc;
    int64_t promise = 0;
    if (!s_need_ticket (env, reason, len))
        return NULL;
    if (asp_mp_get_int (env->body, "promise_ms", &promise) < 0 || promise < 0) {
        snprintf (reason, len, "promise_ms must be a time (epoch ms)");
        return NULL;
    }
    s_ops_t ops = { 0 };
    s_stop (&ops, ASP_CLOCK_FIRST_RESPONSE, "done");
    s_stop (&ops, ASP_CLOCK_COMPLAINT_ANSWER, "done");
    s_stop (&ops, ASP_CLOCK_CALLBACK, "done");
    if (promise)
        s_arm (&ops, ASP_CLOCK_CALLBACK, promise, 0);
    return s_txn ((sla_clocks_t *) arg, env, 0, S_KNOWN, &ops);
}

static asp_txn_t *
s_on_assigned (asp_svc_t *svc, const asp_envelope_t *env, char *reason, size_t len, void *arg)
{
    (void) svc;
    int64_t wg;
    if (!s_need_ticket (env, reason, len) || (wg = s_wo_gen (env, reason, len)) < 0)
        return NULL;
    s_ops_t ops = { 0 };
    s_stop (&ops, ASP_CLOCK_PARTNER_ACCEPTANCE, "done");
    s_arm (&ops, ASP_CLOCK_APPOINTMENT_MADE, 0, 0);
    return s_txn ((sla_clocks_t *) arg, env, wg, S_KNOWN, &ops);
}

//  workorder.appointment: made; the kept clock runs to the slot's end
//  plus its grace. A re-booking replaces the running one.
static asp_txn_t *
s_on_appointment (asp_svc_t *svc, const asp_envelope_t *env, char *reason, size_t len, void *arg)
{
    (void) svc;
    int64_t wg, at, end = 0, changes = 0;
    bool late = false;
    if (!s_need_ticket (env, reason, len) || (wg = s_wo_gen (env, reason, len)) < 0)
        return NULL;
    if (asp_mp_get_int (env->body, "appointment_ms", &at) != 0 || at <= 0
    ||  asp_mp_get_int (env->body, "end_ms", &end) < 0 || asp_mp_get_int (env->body, "changes", &changes) < 0
    ||  asp_mp_get_bool (env->body, "late", &late) < 0) {
        snprintf (reason, len, "%s: appointment_ms is required; appointment_ms, end_ms and changes "
                  "must be integers, late true or false", env->type);
        return NULL;
    }
    if (strcmp (env->type, ASP_EV_WO_APPOINTMENT_MISSED) == 0)
        return NULL;                //  the kept clock breaches on its own: nothing to do
    s_ops_t ops = { 0 };
    s_stop (&ops, ASP_CLOCK_APPOINTMENT_MADE, "done");
    s_arm (&ops, ASP_CLOCK_APPOINTMENT_KEPT, end > at? end: at, changes);
    return s_txn ((sla_clocks_t *) arg, env, wg, S_KNOWN, &ops);
}

static asp_txn_t *
s_on_progress (asp_svc_t *svc, const asp_envelope_t *env, char *reason, size_t len, void *arg)
{
    (void) svc;
    int64_t wg;
    if (!s_need_ticket (env, reason, len) || (wg = s_wo_gen (env, reason, len)) < 0)
        return NULL;
    int stage = s_word (env, "stage", &asp_vocab_stage, 0, true, reason, len);
    if (stage < 0)
        return NULL;
    if (stage == ASP_STAGE_NOTE)
        return NULL;                //  a note moves no clock
    s_ops_t ops = { 0 };
    if (stage == ASP_STAGE_WAITING_PARTS)
        s_wait (&ops, true, ASP_PAUSE_PARTS);
    else {
        s_wait (&ops, false, ASP_PAUSE_PARTS);
        if (stage == ASP_STAGE_ON_SITE) {
            s_stop (&ops, ASP_CLOCK_ONSITE_ARRIVAL, "done");
            s_stop (&ops, ASP_CLOCK_APPOINTMENT_KEPT, "done");
        }
    }
    return s_txn ((sla_clocks_t *) arg, env, wg, S_KNOWN, &ops);
}

static asp_txn_t *
s_on_completed (asp_svc_t *svc, const asp_envelope_t *env, char *reason, size_t len, void *arg)
{
    (void) svc;
    int64_t wg;
    if (!s_need_ticket (env, reason, len) || (wg = s_wo_gen (env, reason, len)) < 0)
        return NULL;
    s_ops_t ops = { 0 };
    s_stop (&ops, ASP_CLOCK_ONSITE_ARRIVAL, "done");
    s_stop (&ops, ASP_CLOCK_APPOINTMENT_KEPT, "done");
    s_stop (&ops, ASP_CLOCK_RESOLUTION, "done");
    s_wait (&ops, false, ASP_PAUSE_PARTS);
    return s_txn ((sla_clocks_t *) arg, env, wg, S_KNOWN, &ops);
}

static asp_txn_t *
s_on_visit (asp_svc_t *svc, const asp_envelope_t *env, char *reason, size_t len, void *arg)
{
    (void) svc;
    int64_t wg;
    if (!s_need_ticket (env, reason, len) || (wg = s_wo_gen (env, reason, len)) < 0)
        return NULL;
    s_ops_t ops = { 0 };
    s_arm (&ops, ASP_CLOCK_RETURN_VISIT, 0, 0);
    return s_txn ((sla_clocks_t *) arg, env, wg, S_KNOWN, &ops);
}

//  ticket.closed ends every clock: those it meets as met or late, the
//  others cancelled (a breached one late).
static asp_txn_t *
s_on_closed (asp_svc_t *svc, const asp_envelope_t *env, char *reason, size_t len, void *arg)
{
    (void) svc;
    if (!s_need_ticket (env, reason, len))
        return NULL;
    s_ops_t ops = { 0 };
    if (strcmp (env->type, ASP_EV_TICKET_CLOSED) == 0) {
        s_stop (&ops, ASP_CLOCK_RESOLUTION, "staff");
        s_stop (&ops, ASP_CLOCK_COMPLAINT_RESOLVED, "done");
        s_stop (&ops, ASP_CLOCK_RETURN_VISIT, "done");
    }
    s_cancel_all (&ops);
    s_fact (&ops, "done", "1");             //  no clock starts after this
    return s_txn ((sla_clocks_t *) arg, env, 0, S_ENDS, &ops);
}

//  ticket.redispatched: a new work order. The return visit ends; the
//  old work order's appointment clocks are cancelled; partner acceptance
//  and on-site arrival start a new generation (appointment_made starts
//  again at the new work order's workorder.assigned).
static asp_txn_t *
s_on_redispatched (asp_svc_t *svc, const asp_envelope_t *env, char *reason, size_t len, void *arg)
{
    (void) svc;
    int64_t wg;
    if (!s_need_ticket (env, reason, len) || (wg = s_wo_gen (env, reason, len)) < 0)
        return NULL;
    s_ops_t ops = { 0 };
    s_fact (&ops, "done", "0");             //  a reopened ticket lives again
    s_stop (&ops, ASP_CLOCK_RETURN_VISIT, "done");
    s_stop (&ops, ASP_CLOCK_APPOINTMENT_MADE, "cancel");
    s_stop (&ops, ASP_CLOCK_APPOINTMENT_KEPT, "cancel");
    s_arm (&ops, ASP_CLOCK_PARTNER_ACCEPTANCE, 0, 0);
    s_arm (&ops, ASP_CLOCK_ONSITE_ARRIVAL, 0, 0);
    return s_txn ((sla_clocks_t *) arg, env, wg, S_KNOWN, &ops);
}

static asp_txn_t *
s_on_waiting (asp_svc_t *svc, const asp_envelope_t *env, char *reason, size_t len, void *arg)
{
    (void) svc;
    if (!s_need_ticket (env, reason, len))
        return NULL;
    s_ops_t ops = { 0 };
    s_wait (&ops, strcmp (env->type, ASP_EV_TICKET_WAITING) == 0, ASP_PAUSE_CUSTOMER);
    return s_txn ((sla_clocks_t *) arg, env, 0, S_KNOWN, &ops);
}

//  ticket.owner_changed: the owner the ladder's "agent" step names.
static asp_txn_t *
s_on_owner (asp_svc_t *svc, const asp_envelope_t *env, char *reason, size_t len, void *arg)
{
    (void) svc;
    char owner [128];
    if (!s_need_ticket (env, reason, len))
        return NULL;
    int rc = asp_mp_get_str (env->body, "owner", owner, sizeof owner);
    if (rc != 0 || !*owner || strchr (owner, ',')) {
        snprintf (reason, len, "%s: owner must be a string of 1..127 bytes without a comma", env->type);
        return NULL;
    }
    s_ops_t ops = { 0 };
    s_fact (&ops, "owner", owner);
    return s_txn ((sla_clocks_t *) arg, env, 0, S_KNOWN, &ops);
}

//  The members a committed clock.lua added go to the tick's heap.
static void
s_on_committed (asp_svc_t *svc, const asp_envelope_t *env, asp_txn_t *txn, void *arg)
{
    (void) svc; (void) env;
    sla_clocks_t *self = (sla_clocks_t *) arg;
    if (asp_txn_outcome (txn) != ASP_TXN_OK)
        return;
    const char *member, *at;
    for (size_t i = 3; (member = asp_txn_reply_str (txn, i)) && (at = asp_txn_reply_str (txn, i + 1)); i += 2)
        sla_fire_added (self->fire, member, asp_txn_shard (txn), strtoll (at, NULL, 10));
}

sla_clocks_t *
sla_clocks_new (asp_svc_t *svc, sla_policy_watch_t *watch, sla_fire_t *fire)
{
    sla_clocks_t *self = (sla_clocks_t *) calloc (1, sizeof *self);
    assert (self);
    self->svc = svc;
    self->watch = watch;
    self->fire = fire;
    self->clock = asp_svc_script (svc, "sla_clock", asp_lua_clock);
    static const struct {
        const char *type;
        asp_prepare_fn *prepare;
    } handlers [] = {
        { ASP_EV_TICKET_CREATED, s_on_created },
        { ASP_EV_TICKET_RESPONDED, s_on_responded },
        { ASP_EV_WO_ASSIGNED, s_on_assigned },
        { ASP_EV_WO_APPOINTMENT, s_on_appointment },
        { ASP_EV_WO_APPOINTMENT_MISSED, s_on_appointment },
        { ASP_EV_WO_PROGRESS, s_on_progress },
        { ASP_EV_WO_COMPLETED, s_on_completed },
        { ASP_EV_VISIT_SCHEDULED, s_on_visit },
        { ASP_EV_TICKET_CLOSED, s_on_closed },
        { ASP_EV_TICKET_CANCELLED, s_on_closed },
        { ASP_EV_TICKET_REDISPATCHED, s_on_redispatched },
        { ASP_EV_TICKET_WAITING, s_on_waiting },
        { ASP_EV_TICKET_RESUMED, s_on_waiting },
        { ASP_EV_TICKET_OWNER_CHANGED, s_on_owner },
    };
    for (size_t i = 0; i < sizeof handlers / sizeof handlers [0]; i++)
        asp_svc_on (svc, handlers [i].type, handlers [i].prepare, s_on_committed, self);
    return self;
}

void
sla_clocks_destroy (sla_clocks_t **self_p)
{
    if (*self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}

int
sla_clocks_parse_member (const char *member, char *ticket, size_t tlen, asp_clock_t *clock, int *phase)
{
    const char *b = strrchr (member, '|');
    if (!b || b == member)
        return -1;
    const char *a = b - 1;
    while (a > member && *a != '|')
        a--;
    if (a == member || (size_t) (a - member) >= tlen)
        return -1;
    int c = asp_vocab_parsen (&asp_vocab_clock, a + 1, (size_t) (b - a - 1));
    if (c < 0)
        return -1;
    const char *p = b + 1;
    if (strcmp (p, "r") == 0)
        *phase = SLA_PHASE_REARM;
    else {
        char *end;
        long v = strtol (p, &end, 10);
        if (end == p || *end || v < 0 || v >= 2 + SLA_STEPS_MAX)
            return -1;
        *phase = (int) v;
    }
    snprintf (ticket, tlen, "%.*s", (int) (a - member), member);
    *clock = (asp_clock_t) c;
    return 0;
}

void
sla_clocks_test (void)
{
    char t [ASP_ID_MAX];
    asp_clock_t c;
    int p;
    assert (sla_clocks_parse_member ("Tabc|first_response|0", t, sizeof t, &c, &p) == 0);
    assert (strcmp (t, "Tabc") == 0 && c == ASP_CLOCK_FIRST_RESPONSE && p == 0);
    assert (sla_clocks_parse_member ("Tabc|return_visit|r", t, sizeof t, &c, &p) == 0);
    assert (c == ASP_CLOCK_RETURN_VISIT && p == SLA_PHASE_REARM);
    assert (sla_clocks_parse_member ("Tabc|resolution|9", t, sizeof t, &c, &p) == 0 && p == 9);
    assert (sla_clocks_parse_member ("Tabc|resolution|10", t, sizeof t, &c, &p) == -1);
    assert (sla_clocks_parse_member ("Tabc|response|breach|1700", t, sizeof t, &c, &p) == -1);
    assert (sla_clocks_parse_member ("Tabc|resolution|", t, sizeof t, &c, &p) == -1);
    assert (sla_clocks_parse_member ("|resolution|1", t, sizeof t, &c, &p) == -1);
    assert (sla_clocks_parse_member ("garbage", t, sizeof t, &c, &p) == -1);
    assert (sla_clocks_parse_member ("Tabc|resolution|1x", t, sizeof t, &c, &p) == -1);
    assert (sla_clocks_parse_member ("Tabc|resolution|-1", t, sizeof t, &c, &p) == -1);
}
