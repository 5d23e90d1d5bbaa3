#include "sla_fire.h"
#include "asp_clocks.h"
#include "asp_config.h"
#include "asp_log.h"
#include "asp_sighup.h"
#include "asp_vocab.h"
#include "sla_clocks.h"
#include "sla_heap.h"
#include "sla_plan.h"
#include <assert.h>
#include <stdatomic.h>

extern const char asp_lua_apply [];

#define S_MEMBER_MAX    (ASP_ID_MAX + 48)
#define S_LOAD_LIMIT    2000        //  members per shard per read of the window
#define S_HEAP_MAX      200000      //  the window held in memory at most
#define S_RETRY_MS      100         //  Redis failed: try the batch again after this
#define S_WALK_COUNT    500         //  ZSCAN COUNT of one retarget step
#define S_NEVER         "9999999999999999"

struct sla_fire_t {
    asp_svc_t *svc;
    sla_policy_watch_t *watch;
    asp_script_t *apply;
    sla_heap_t *heap;
    int64_t window_ms;
    int64_t horizon;                //  the heap holds every member due by then
    size_t batch;
    int fire_timer;                 //  zloop timer at the heap's earliest, -1 none
    int64_t fire_at;
    int window_timer;
    asp_sighup_t *hup;          //  SIGHUP, read in the loop
    //  The walk of the due sets after a reload (retarget = yes).
    bool walking;
    unsigned walk_shard;
    char walk_cursor [32];
    atomic_llong pending;
    asp_counter_t *m_warnings, *m_breaches, *m_escalations, *m_compensations;
    asp_counter_t *m_reloads, *m_reload_errors, *m_retargeted;
    asp_histo_t *m_lateness;
    asp_family_t *m_fired;          //  phases by clock, region, phase (s_fired_t)
};

//  What firing a member did, as the metrics name it.
typedef enum { S_FIRED_NONE, S_FIRED_WARNING, S_FIRED_BREACH, S_FIRED_ESCALATION, S_FIRED_COMPENSATION,
               S_FIRED_KINDS } s_fired_t;

static const char *s_fired_names [S_FIRED_KINDS] = { "", "warning", "breach", "escalation", "compensation" };

//  One member taken from the heap, and what firing it did.
typedef struct {
    char member [S_MEMBER_MAX];
    char ticket [ASP_ID_MAX];
    unsigned shard;
    int64_t due;                    //  its score (the heap's)
    asp_clock_t clock;
    int phase;
    redisReply *hash;               //  borrowed: the ticket's HGETALL
    asp_txn_t *txn;
    asp_counter_t *counter;         //  bumped when it applied
    s_fired_t fired;                //  what counter counts
    int64_t fired_due;              //  the phase's time (lateness), 0 none
    char next [S_MEMBER_MAX];       //  the member it adds, "" none
    int64_t next_at;
} s_item_t;

//  ---------------------------------------------------------------------
//  Reading a clock hash (HGETALL reply).

static const char *
s_field (const redisReply *hash, const char *name)
{
    if (!hash || hash->type != REDIS_REPLY_ARRAY)
        return NULL;
    for (size_t i = 0; i + 1 < hash->elements; i += 2)
        if (strcmp (hash->element [i]->str, name) == 0)
            return hash->element [i + 1]->str;
    return NULL;
}

static const char *
s_cfield (const redisReply *hash, asp_clock_t clock, const char *suffix)
{
    char name [64];
    snprintf (name, sizeof name, "%s:%s", asp_vocab_name (&asp_vocab_clock, clock), suffix);
    return s_field (hash, name);
}

static int64_t
s_cint (const redisReply *hash, asp_clock_t clock, const char *suffix)
{
    const char *v = s_cfield (hash, clock, suffix);
    return v? strtoll (v, NULL, 10): 0;
}

//  ---------------------------------------------------------------------
//  Decisions: each one guarded apply.lua txn.

typedef struct {
    const char *ticket;
    asp_clock_t clock;
    const char *state, *gen, *nx;   //  as read ("" absent)
    const char *set [64];
    size_t nset;
    const char *del [32];
    size_t ndel;
    char buf [16][SLA_PH_TEXT_MAX]; //  values formatted here
    int nbuf;
} s_dec_t;

static void
s_dec_init (s_dec_t *d, const s_item_t *it)
{
    memset (d, 0, sizeof *d);
    d->ticket = it->ticket;
    d->clock = it->clock;
    const char *state = s_field (it->hash, asp_vocab_name (&asp_vocab_clock, it->clock));
    const char *gen = s_cfield (it->hash, it->clock, "gen");
    const char *nx = s_cfield (it->hash, it->clock, "nx");
    d->state = state? state: "";
    d->gen = gen? gen: "";
    d->nx = nx? nx: "";
}

//  Field names live in a static table: the clock's name plus a suffix.
static const char *
s_name (asp_clock_t clock, const char *suffix)
{
    static char names [ASP_CLOCK_COUNT][24][32];
    static const char *suffixes [] = {
        "", "pol", "bs", "cal", "tg", "st", "due", "wn", "ph", "nx", "lv", "pm", "pa", "ps", "end",
        "cmp", "apr", "cap", "gen", "chg", NULL
    };
    for (int i = 0; suffixes [i]; i++)
        if (strcmp (suffixes [i], suffix) == 0) {
            if (!*names [clock][i])
                snprintf (names [clock][i], sizeof names [clock][i], *suffix? "%s:%s": "%s%s",
                          asp_vocab_name (&asp_vocab_clock, clock), suffix);
            return names [clock][i];
        }
    assert (false);
    return NULL;
}

static void
s_set (s_dec_t *d, const char *suffix, const char *value)
{
    assert (d->nset + 2 <= sizeof d->set / sizeof d->set [0]);
    d->set [d->nset++] = s_name (d->clock, suffix);
    d->set [d->nset++] = value;
}

static void s_setf (s_dec_t *d, const char *suffix, const char *fmt, ...) __attribute__ ((format (printf, 3, 4)));
static void
s_setf (s_dec_t *d, const char *suffix, const char *fmt, ...)
{
    assert (d->nbuf < 16);
    char *buf = d->buf [d->nbuf++];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (buf, SLA_PH_TEXT_MAX, fmt, ap);
    va_end (ap);
    s_set (d, suffix, buf);
}

static void
s_del (s_dec_t *d, const char *suffix)
{
    assert (d->ndel < sizeof d->del / sizeof d->del [0]);
    d->del [d->ndel++] = s_name (d->clock, suffix);
}

//  The txn: the member must be due by now (S_NEVER: whenever), the clock
//  as read; then d's changes, and the member add (at).
static asp_txn_t *
s_dec_txn (sla_fire_t *self, s_dec_t *d, const char *member, const char *now, const char *add, int64_t at)
{
    asp_txn_t *txn = asp_txn_new (self->apply, asp_shard_of (d->ticket));
    asp_txn_key (txn, SLA_KEY_DUE);
    asp_txn_key (txn, SLA_KEY_CLOCKS, d->ticket);
    asp_mpmap_t *m = asp_mpmap_new ();
    asp_mpmap_str (m, "m", member);
    asp_mpmap_str (m, "now", now);
    asp_mpmap_str (m, "c", asp_vocab_name (&asp_vocab_clock, d->clock));
    asp_mpmap_str (m, "st", d->state);
    asp_mpmap_str (m, "g", d->gen);
    asp_mpmap_str (m, "x", d->nx);
    asp_mpmap_strv (m, "set", d->set, d->nset);
    asp_mpmap_strv (m, "del", d->del, d->ndel);
    asp_mpmap_str (m, "add", add? add: "");
    asp_mpmap_int (m, "at", at);
    asp_txn_arg_map (txn, &m);
    return txn;
}

static asp_txn_t *
s_drop_txn (sla_fire_t *self, const char *member, unsigned shard, int64_t now)
{
    asp_txn_t *txn = asp_txn_new (self->apply, shard);
    asp_txn_key (txn, SLA_KEY_DUE);
    asp_txn_key (txn, SLA_KEY_CLOCKS, "-");
    asp_mpmap_t *m = asp_mpmap_new ();
    asp_mpmap_str (m, "m", member);
    asp_mpmap_int (m, "now", now);
    asp_mpmap_bool (m, "drop", true);
    asp_txn_arg_map (txn, &m);
    return txn;
}

static void
s_member (char *out, size_t len, const char *ticket, asp_clock_t clock, int phase)
{
    if (phase == SLA_PHASE_REARM)
        snprintf (out, len, "%s|%s|r", ticket, asp_vocab_name (&asp_vocab_clock, clock));
    else
        snprintf (out, len, "%s|%s|%d", ticket, asp_vocab_name (&asp_vocab_clock, clock), phase);
}

//  The rule a clock runs under: its policy by name, else (the policy is
//  gone from the file) the one the ticket would get now.
static const sla_rule_t *
s_rule (const sla_policy_t *policy, const redisReply *hash, asp_clock_t clock)
{
    const char *name = s_cfield (hash, clock, "pol");
    if (!name || !*name)
        name = s_field (hash, "pol");
    const sla_rule_t *rule = name? sla_policy_rule (policy, name): NULL;
    if (rule)
        return rule;
    const char *kind = s_field (hash, "kind");
    int k = kind? asp_vocab_parse (&asp_vocab_kind, kind): -1;
    return sla_policy_select (policy, k < 0? ASP_KIND_REPAIR: (asp_kind_t) k, ASP_TIER_STANDARD,
                              ASP_CLASS_B, s_field (hash, "region"));
}

//  The business calendar a clock counts in (NULL: calendar time).
static const asp_calendar_t *
s_calendar (const sla_policy_t *policy, const redisReply *hash, asp_clock_t clock)
{
    const char *basis = s_cfield (hash, clock, "bs");
    if (!basis || asp_vocab_parse (&asp_vocab_basis, basis) != ASP_BASIS_BUSINESS)
        return NULL;
    const char *name = s_cfield (hash, clock, "cal");
    const asp_calendar_t *cal = name? sla_policy_calendar_named (policy, name): NULL;
    return cal? cal: sla_policy_calendar (policy, s_field (hash, "region"));
}

static asp_msg_t *
s_event (const char *type, const s_item_t *it, const char *policy, const char *basis)
{
    asp_msg_t *msg = asp_msg_new (type, it->ticket, NULL);
    asp_mpmap_str (msg->body, "clock", asp_vocab_name (&asp_vocab_clock, it->clock));
    asp_mpmap_str (msg->body, "policy", policy? policy: "");
    asp_mpmap_str (msg->body, "basis", basis? basis: "calendar");
    return msg;
}

//  Adds msg to txn for its subscribers; an event nobody consumes (yet)
//  is dropped.
static void
s_publish (asp_txn_t *txn, asp_msg_t **msg_p)
{
    if (asp_event_subscribers ((*msg_p)->type))
        asp_txn_publish (txn, msg_p);
    else
        asp_msg_destroy (msg_p);
}

//  What a late clock owes by rule: the fields and the event.
static asp_msg_t *
s_compensate (sla_fire_t *self, s_dec_t *d, const s_item_t *it, const sla_comp_t *rule, int64_t late_ms)
{
    const sla_policy_t *policy = sla_policy_watch_current (self->watch);
    const char *price_s = s_field (it->hash, "price");
    int64_t price = price_s? strtoll (price_s, NULL, 10): 0;
    asp_sla_role_t approver = ASP_SLA_ROLE_AGENT;
    bool capped = false;
    if (late_ms < 1)
        late_ms = 1;
    int64_t amount = sla_policy_compensation (policy, rule, price, late_ms, &approver, &capped);
    const char *role = asp_vocab_name (&asp_vocab_sla_role, approver);
    s_setf (d, "cmp", "%lld", (long long) amount);
    s_set (d, "apr", role);
    if (capped)
        s_set (d, "cap", "1");
    asp_msg_t *msg = s_event (ASP_EV_SLA_COMPENSATION, it, s_cfield (it->hash, it->clock, "pol"),
                              s_cfield (it->hash, it->clock, "bs"));
    asp_mpmap_int (msg->body, "amount", amount);
    asp_mpmap_str (msg->body, "rule", rule->name);
    asp_mpmap_str (msg->body, "approver", role);
    asp_mpmap_bool (msg->body, "capped", capped);
    asp_mpmap_int (msg->body, "late_ms", late_ms);
    asp_mpmap_int (msg->body, "price", price);
    return msg;
}

//  Phase it->phase of a running clock: its event, the level, the next
//  phase's member.
static void
s_decide_fire (sla_fire_t *self, s_item_t *it, s_dec_t *d, int64_t now)
{
    int64_t at [SLA_PHASES_MAX];
    int n = sla_plan_parse (s_cfield (it->hash, it->clock, "ph"), at, SLA_PHASES_MAX);
    int p = it->phase;
    int st = asp_vocab_parse (&asp_vocab_clock_state, d->state);
    if (n < 0 || p >= n || (st != ASP_CLOCK_RUNNING && st != ASP_CLOCK_BREACHED)) {
        it->txn = s_drop_txn (self, it->member, it->shard, now);
        return;
    }
    if (at [p] > now) {
        //  The heap was early (a member replaced since it was read): wait.
        sla_heap_put (self->heap, it->member, it->shard, at [p]);
        return;
    }
    const sla_policy_t *policy = sla_policy_watch_current (self->watch);
    const sla_rule_t *rule = s_rule (policy, it->hash, it->clock);
    const sla_target_t *target = &rule->clocks [it->clock];
    const char *pol = s_cfield (it->hash, it->clock, "pol");
    const char *basis = s_cfield (it->hash, it->clock, "bs");
    int64_t due = s_cint (it->hash, it->clock, "due");
    int64_t tg = s_cint (it->hash, it->clock, "tg");
    static const char *types [] = { ASP_EV_SLA_WARNING, ASP_EV_SLA_BREACHED, ASP_EV_SLA_ESCALATED };
    asp_msg_t *msg = s_event (types [p < 2? p: 2], it, pol, basis);
    asp_mpmap_int (msg->body, "due_ms", due);
    asp_mpmap_int (msg->body, "level", p + 1);
    asp_mpmap_int (msg->body, "target_ms", tg);
    asp_msg_t *comp = NULL;
    if (p >= 2) {
        //  Step k of the ladder: its role (the ladder as the policy has it
        //  now; a step it lost goes to the manager) and who hears of it.
        int k = p - 1;
        const sla_ladder_t *ladder = target->ladder;
        asp_sla_role_t role = ladder && k <= ladder->nsteps? ladder->steps [k - 1].role: ASP_SLA_ROLE_MANAGER;
        const char *to = role == ASP_SLA_ROLE_AGENT? s_field (it->hash, "owner"):
                         sla_policy_recipients (policy, s_field (it->hash, "region"), role);
        asp_mpmap_int (msg->body, "step", k);
        asp_mpmap_str (msg->body, "role", asp_vocab_name (&asp_vocab_sla_role, role));
        asp_mpmap_str (msg->body, "to", to? to: "");
        it->counter = self->m_escalations;
        it->fired = S_FIRED_ESCALATION;
    }
    else {
        it->counter = p == 0? self->m_warnings: self->m_breaches;
        it->fired = p == 0? S_FIRED_WARNING: S_FIRED_BREACH;
    }
    s_setf (d, "lv", "%d", p + 1);
    if (p >= 1)
        s_set (d, "", asp_vocab_name (&asp_vocab_clock_state, ASP_CLOCK_BREACHED));
    //  A percent rule compensates at the breach.
    if (p == 1 && target->comp && target->comp->percent_bp > 0 && !s_cfield (it->hash, it->clock, "cmp"))
        comp = s_compensate (self, d, it, target->comp, now - due);
    if (p + 1 < n) {
        s_member (it->next, sizeof it->next, it->ticket, it->clock, p + 1);
        it->next_at = at [p + 1];
        s_setf (d, "nx", "%d", p + 1);
    }
    else
        s_del (d, "nx");
    char now_s [24];
    snprintf (now_s, sizeof now_s, "%lld", (long long) now);
    it->txn = s_dec_txn (self, d, it->member, now_s, *it->next? it->next: NULL, it->next_at);
    it->fired_due = at [p];
    s_publish (it->txn, &msg);
    if (comp) {
        s_publish (it->txn, &comp);
        asp_txn_set_user (it->txn, self->m_compensations);
    }
}

//  A member r of a running clock: its phases computed now (a start that
//  needed the policy), or moved by the pause that just ended.
static void
s_decide_rearm (sla_fire_t *self, s_item_t *it, s_dec_t *d)
{
    const sla_policy_t *policy = sla_policy_watch_current (self->watch);
    const sla_rule_t *rule = s_rule (policy, it->hash, it->clock);
    const char *region = s_field (it->hash, "region");
    int64_t at [SLA_PHASES_MAX];
    int n = sla_plan_parse (s_cfield (it->hash, it->clock, "ph"), at, SLA_PHASES_MAX);
    int64_t paused_at = s_cint (it->hash, it->clock, "pa");
    const asp_calendar_t *cal;
    char text [SLA_PH_TEXT_MAX];
    if (n < 0) {
        //  A fresh start: the clock runs only when the policy has it.
        const sla_target_t *target = &rule->clocks [it->clock];
        bool field = streq (s_field (it->hash, "fw")? s_field (it->hash, "fw"): "", "1");
        bool needs_field = it->clock == ASP_CLOCK_PARTNER_ACCEPTANCE || it->clock == ASP_CLOCK_ONSITE_ARRIVAL;
        sla_plan_t plan;
        char why [160] = "";
        int64_t start = s_cint (it->hash, it->clock, "st");
        bool planned = target->on && (field || !needs_field)
                    && sla_plan_new (&plan, policy, target, it->clock, region? region: "", start,
                                     s_cint (it->hash, it->clock, "due"), why, sizeof why) == 0;
        if (!planned) {
            if (target->on && (field || !needs_field))
                asp_log_error ("sla: ticket %s: clock %s not started: %s", it->ticket,
                               asp_vocab_name (&asp_vocab_clock, it->clock), why);
            //  Not this ticket's clock: it leaves no trace.
            static const char *all [] = {
                "", "pol", "st", "due", "nx", "gen", "chg", "pa", "ps", "lv", NULL
            };
            for (int i = 0; all [i]; i++)
                s_del (d, all [i]);
            it->txn = s_dec_txn (self, d, it->member, S_NEVER, NULL, 0);
            return;
        }
        s_set (d, "pol", rule->name);
        s_set (d, "bs", asp_vocab_name (&asp_vocab_basis, plan.basis));
        s_set (d, "cal", plan.cal_name);
        s_setf (d, "tg", "%lld", (long long) plan.target_ms);
        if (target->pause_mask)
            s_setf (d, "pm", "%u", target->pause_mask);
        n = plan.nphases;
        memcpy (at, plan.at, sizeof at);
        cal = plan.cal;
        //  Started while the ticket waits for a reason that pauses it.
        unsigned waits = (streq (s_field (it->hash, "wait_customer")? s_field (it->hash, "wait_customer"): "", "1")? 1u: 0u)
                       | (streq (s_field (it->hash, "wait_parts")? s_field (it->hash, "wait_parts"): "", "1")? 2u: 0u);
        if (target->pause_mask & waits) {
            s_setf (d, "due", "%lld", (long long) at [1]);
            s_setf (d, "wn", "%lld", (long long) at [0]);
            s_set (d, "ph", sla_plan_format (at, n, text, sizeof text));
            s_set (d, "", asp_vocab_name (&asp_vocab_clock_state, ASP_CLOCK_PAUSED));
            s_setf (d, "pa", "%lld", (long long) start);
            s_del (d, "nx");
            it->txn = s_dec_txn (self, d, it->member, S_NEVER, NULL, 0);
            return;
        }
    }
    else
        cal = s_calendar (policy, it->hash, it->clock);
    int lv = (int) s_cint (it->hash, it->clock, "lv");
    if (paused_at > 0) {
        //  Resumed at the member's score: what was still ahead moves by
        //  the pause in the clock's basis.
        sla_plan_shift (cal, at, n, lv, paused_at, it->due);
        s_del (d, "pa");
        int64_t paused = it->due > paused_at? it->due - paused_at: 0;
        s_setf (d, "ps", "%lld", (long long) (s_cint (it->hash, it->clock, "ps") + paused));
    }
    s_setf (d, "due", "%lld", (long long) at [1]);
    s_setf (d, "wn", "%lld", (long long) at [0]);
    s_set (d, "ph", sla_plan_format (at, n, text, sizeof text));
    if (lv < n) {
        s_member (it->next, sizeof it->next, it->ticket, it->clock, lv);
        it->next_at = at [lv];
        s_setf (d, "nx", "%d", lv);
    }
    else
        s_del (d, "nx");
    it->txn = s_dec_txn (self, d, it->member, S_NEVER, *it->next? it->next: NULL, it->next_at);
}

//  A member r of a late clock: what it owes by the day, once.
static void
s_decide_settle (sla_fire_t *self, s_item_t *it, s_dec_t *d)
{
    const sla_policy_t *policy = sla_policy_watch_current (self->watch);
    const sla_comp_t *rule = s_rule (policy, it->hash, it->clock)->clocks [it->clock].comp;
    asp_msg_t *msg = NULL;
    if (rule && rule->per_day > 0 && !s_cfield (it->hash, it->clock, "cmp")) {
        int64_t late = s_cint (it->hash, it->clock, "end") - s_cint (it->hash, it->clock, "due");
        msg = s_compensate (self, d, it, rule, late);
    }
    s_del (d, "nx");
    it->txn = s_dec_txn (self, d, it->member, S_NEVER, NULL, 0);
    if (msg) {
        s_publish (it->txn, &msg);
        it->counter = self->m_compensations;
        it->fired = S_FIRED_COMPENSATION;
    }
}

static void
s_decide (sla_fire_t *self, s_item_t *it, int64_t now)
{
    s_dec_t d;
    s_dec_init (&d, it);
    char phase [8];
    if (it->phase == SLA_PHASE_REARM)
        snprintf (phase, sizeof phase, "r");
    else
        snprintf (phase, sizeof phase, "%d", it->phase);
    //  Only the clock's own member acts; anything else is dropped.
    if (!*d.state || strcmp (d.nx, phase) != 0) {
        it->txn = s_drop_txn (self, it->member, it->shard, now);
        return;
    }
    int st = asp_vocab_parse (&asp_vocab_clock_state, d.state);
    if (it->phase != SLA_PHASE_REARM)
        s_decide_fire (self, it, &d, now);
    else
    if (st == ASP_CLOCK_RUNNING || st == ASP_CLOCK_BREACHED)
        s_decide_rearm (self, it, &d);
    else
    if (st == ASP_CLOCK_LATE)
        s_decide_settle (self, it, &d);
    else
        it->txn = s_drop_txn (self, it->member, it->shard, now);
}

//  ---------------------------------------------------------------------
//  The heap's timer.

static int s_on_fire (zloop_t *loop, int timer_id, void *arg);

static void
s_schedule (sla_fire_t *self)
{
    int64_t earliest = sla_heap_peek (self->heap);
    if (self->fire_timer >= 0 && self->fire_at == earliest)
        return;
    if (self->fire_timer >= 0)
        zloop_timer_end (asp_svc_loop (self->svc), self->fire_timer);
    self->fire_timer = -1;
    if (earliest == INT64_MAX)
        return;
    int64_t delay = earliest - asp_now_ms ();
    self->fire_timer = zloop_timer (asp_svc_loop (self->svc), delay > 0? (size_t) delay: 0, 1, s_on_fire, self);
    self->fire_at = earliest;
}

void
sla_fire_added (sla_fire_t *self, const char *member, unsigned shard, int64_t due)
{
    if (due > self->horizon)
        return;                     //  the window's read will find it
    sla_heap_put (self->heap, member, shard, due);
    s_schedule (self);
}

//  Reads the clock hashes of the items' tickets, one pipeline (each
//  ticket once); each item's hash points into replies, which the caller
//  frees. -1 when Redis failed.
static int
s_read_hashes (sla_fire_t *self, s_item_t *items, size_t n, redisReply **replies)
{
    asp_rds_t *rds = asp_svc_rds (self->svc);
    if (!asp_rds_ready (rds))
        return -1;
    size_t *slot = (size_t *) calloc (n, sizeof *slot);
    zhashx_t *seen = zhashx_new ();
    assert (slot && seen);
    size_t sent = 0;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        size_t known = (size_t) (uintptr_t) zhashx_lookup (seen, items [i].ticket);
        if (known) {
            slot [i] = known - 1;
            continue;
        }
        char key [ASP_KEY_MAX];
        asp_key_fmt (key, sizeof key, items [i].shard, SLA_KEY_CLOCKS, items [i].ticket);
        const char *argv [] = { "HGETALL", key };
        rc = asp_rds_append (rds, 2, argv, NULL);
        slot [i] = sent++;
        zhashx_insert (seen, items [i].ticket, (void *) (uintptr_t) sent);
    }
    //  Every reply sent is read, so that none is left in the pipeline.
    for (size_t i = 0; i < sent; i++) {
        replies [i] = asp_rds_reply (rds);
        if (!replies [i] || replies [i]->type != REDIS_REPLY_ARRAY)
            rc = -1;
    }
    for (size_t i = 0; i < n && rc == 0; i++)
        items [i].hash = replies [slot [i]];
    zhashx_destroy (&seen);
    free (slot);
    return rc;
}

//  Fires what is due in the heap, up to one batch.
static void
s_fire_batch (sla_fire_t *self)
{
    int64_t now = asp_now_ms ();
    s_item_t *items = (s_item_t *) calloc (self->batch, sizeof *items);
    assert (items);
    size_t n = 0;
    while (n < self->batch) {
        s_item_t *it = &items [n];
        it->due = sla_heap_pop (self->heap, now, it->member, sizeof it->member, &it->shard);
        if (it->due < 0)
            break;
        if (sla_clocks_parse_member (it->member, it->ticket, sizeof it->ticket, &it->clock, &it->phase) == 0)
            n++;
    }
    if (n == 0) {
        free (items);
        return;
    }
    redisReply **replies = (redisReply **) calloc (n, sizeof *replies);
    asp_txn_t **txns = (asp_txn_t **) calloc (n, sizeof *txns);
    assert (replies && txns);
    size_t ntx = 0;
    bool failed = s_read_hashes (self, items, n, replies) != 0;
    if (!failed) {
        for (size_t i = 0; i < n; i++) {
            s_decide (self, &items [i], now);
            if (items [i].txn)
                txns [ntx++] = items [i].txn;
        }
        if (ntx)
            asp_svc_commit (self->svc, txns, ntx);
    }
    int64_t done = asp_now_ms ();
    for (size_t i = 0; i < n; i++) {
        s_item_t *it = &items [i];
        asp_txn_outcome_t outcome = it->txn? asp_txn_outcome (it->txn): failed? ASP_TXN_LOST: ASP_TXN_OK;
        if (outcome == ASP_TXN_OK && it->txn) {
            if (it->counter)
                asp_counter_inc (it->counter);
            if (it->fired) {
                const char *region = s_field (it->hash, ASP_CLOCKS_REGION);
                asp_counter_inc (asp_family_counter (self->m_fired, asp_vocab_name (&asp_vocab_clock, it->clock),
                                                     region && *region? region: "unknown",
                                                     s_fired_names [it->fired]));
            }
            if (asp_txn_user (it->txn))
                asp_counter_inc ((asp_counter_t *) asp_txn_user (it->txn));
            if (it->fired_due)
                asp_histo_observe_us (self->m_lateness, (done - it->fired_due) * 1000);
            if (*it->next)
                sla_fire_added (self, it->next, it->shard, it->next_at);
        }
        else
        if (outcome == ASP_TXN_LOST || outcome == ASP_TXN_ERROR)
            //  Unknown whether it ran: look again soon (the guard makes a
            //  second try harmless).
            sla_heap_put (self->heap, it->member, it->shard, done + S_RETRY_MS);
        asp_txn_destroy (&it->txn);
    }
    for (size_t i = 0; i < n; i++)
        if (replies [i])
            freeReplyObject (replies [i]);
    free (replies);
    free (txns);
    free (items);
}

static int
s_on_fire (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop; (void) timer_id;
    sla_fire_t *self = (sla_fire_t *) arg;
    self->fire_timer = -1;
    s_fire_batch (self);
    s_schedule (self);
    return 0;
}

//  ---------------------------------------------------------------------
//  The window: every member due by now + 2 windows into the heap.

//  One member read from shard's due set: into the heap, or (malformed,
//  or of a ticket of another shard) out of Redis.
static void
s_take (sla_fire_t *self, unsigned shard, const char *member, const char *score)
{
    char ticket [ASP_ID_MAX];
    asp_clock_t clock;
    int phase;
    if (sla_clocks_parse_member (member, ticket, sizeof ticket, &clock, &phase) || asp_shard_of (ticket) != shard) {
        asp_log_error ("sla: malformed timer '%s' removed", member);
        char key [ASP_KEY_MAX];
        asp_key_fmt (key, sizeof key, shard, SLA_KEY_DUE);
        const char *argv [] = { "ZREM", key, member };
        redisReply *r = asp_rds_cmdv (asp_svc_rds (self->svc), 3, argv, NULL);
        if (r)
            freeReplyObject (r);
        return;
    }
    sla_heap_put (self->heap, member, shard, strtoll (score, NULL, 10));
}

//  Reads one page of shard's window from offset; the count read, -1.
//  *last is the score of the last member read.
static int
s_load_page (sla_fire_t *self, unsigned shard, int64_t horizon, long offset, int64_t *last)
{
    char key [ASP_KEY_MAX], max [24], off [24], limit [16];
    asp_key_fmt (key, sizeof key, shard, SLA_KEY_DUE);
    snprintf (max, sizeof max, "%lld", (long long) horizon);
    snprintf (off, sizeof off, "%ld", offset);
    snprintf (limit, sizeof limit, "%d", S_LOAD_LIMIT);
    const char *argv [] = { "ZRANGE", key, "-inf", max, "BYSCORE", "LIMIT", off, limit, "WITHSCORES" };
    redisReply *r = asp_rds_cmdv (asp_svc_rds (self->svc), 9, argv, NULL);
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        if (r)
            freeReplyObject (r);
        return -1;
    }
    for (size_t i = 0; i + 1 < r->elements; i += 2)
        s_take (self, shard, r->element [i]->str, r->element [i + 1]->str);
    if (r->elements >= 2)
        *last = strtoll (r->element [r->elements - 1]->str, NULL, 10);
    int count = (int) r->elements / 2;
    freeReplyObject (r);
    return count;
}

static void
s_load_window (sla_fire_t *self)
{
    asp_rds_t *rds = asp_svc_rds (self->svc);
    int64_t horizon = asp_now_ms () + 2 * self->window_ms;
    char max [24], limit [16];
    snprintf (max, sizeof max, "%lld", (long long) horizon);
    snprintf (limit, sizeof limit, "%d", S_LOAD_LIMIT);
    const char *argv [] = { "ZRANGE", SLA_KEY_DUE, "-inf", max, "BYSCORE", "LIMIT", "0", limit, "WITHSCORES" };
    redisReply *replies [ASP_SHARDS] = { NULL };
    if (asp_rds_each_shard (rds, 9, argv, replies) == 0) {
        //  What the heap holds is complete up to held: the horizon, or for
        //  a shard read only in part (a backlog larger than the heap's
        //  room), the last score read there.
        int64_t held = horizon;
        for (unsigned s = 0; s < ASP_SHARDS; s++) {
            redisReply *r = replies [s];
            for (size_t i = 0; i + 1 < r->elements; i += 2)
                s_take (self, s, r->element [i]->str, r->element [i + 1]->str);
            long offset = (long) r->elements / 2;
            int got = (int) offset;
            int64_t last = r->elements >= 2? strtoll (r->element [r->elements - 1]->str, NULL, 10): horizon;
            while (got == S_LOAD_LIMIT && sla_heap_size (self->heap) < S_HEAP_MAX) {
                got = s_load_page (self, s, horizon, offset, &last);
                offset += got;
            }
            if ((got == S_LOAD_LIMIT || got < 0) && last < held)
                held = last;
        }
        self->horizon = held;
    }
    for (unsigned s = 0; s < ASP_SHARDS; s++)
        if (replies [s])
            freeReplyObject (replies [s]);
    //  The gauge: members of every due set (pending clocks, roughly).
    const char *zcard [] = { "ZCARD", SLA_KEY_DUE };
    if (asp_rds_each_shard (rds, 2, zcard, replies) == 0) {
        long long total = 0;
        for (unsigned s = 0; s < ASP_SHARDS; s++)
            total += replies [s]->integer;
        atomic_store (&self->pending, total);
    }
    for (unsigned s = 0; s < ASP_SHARDS; s++)
        if (replies [s])
            freeReplyObject (replies [s]);
    s_schedule (self);
}

//  ---------------------------------------------------------------------
//  Reload, and the running clocks of retarget policies.

//  Phases for clock c of the hash under rule's current target, keeping
//  what fired (phases before lv). The count, or -1 when nothing changes.
static int
s_retarget_plan (sla_fire_t *self, const redisReply *hash, asp_clock_t c, const sla_rule_t *rule,
                 int64_t *at, int64_t *tg_out)
{
    const sla_policy_t *policy = sla_policy_watch_current (self->watch);
    const sla_target_t *target = &rule->clocks [c];
    int64_t old [SLA_PHASES_MAX];
    int n = sla_plan_parse (s_cfield (hash, c, "ph"), old, SLA_PHASES_MAX);
    if (n < 2 || !target->on)
        return -1;
    const asp_calendar_t *cal = target->basis == ASP_BASIS_BUSINESS? s_calendar (policy, hash, c): NULL;
    int64_t due = old [1], tg = s_cint (hash, c, "tg"), start = s_cint (hash, c, "st");
    int64_t new_tg = target->target_ms;
    if (target->fixed) {
        sla_plan_t plan;
        char why [160];
        const char *region = s_field (hash, "region");
        if (sla_plan_new (&plan, policy, target, c, region? region: "", start, 0, why, sizeof why))
            return -1;
        due = plan.due;
        new_tg = plan.target_ms;
    }
    else
        //  The due time moves by the target's change (the pauses so far
        //  stay counted).
        due = sla_plan_add (cal, due, new_tg - tg);
    int lv = (int) s_cint (hash, c, "lv");
    int m = 0;
    int64_t fresh [SLA_PHASES_MAX];
    fresh [m++] = sla_plan_add (cal, due, -(new_tg - new_tg * target->warn_pct / 100));
    fresh [m++] = due;
    for (int k = 0; target->ladder && k < target->ladder->nsteps; k++)
        fresh [m++] = sla_plan_add (cal, due, target->ladder->steps [k].delay_ms);
    for (int i = 0; i < m; i++)
        at [i] = i < lv && i < n? old [i]: fresh [i];
    *tg_out = new_tg;
    if (m == n && memcmp (at, old, (size_t) n * sizeof at [0]) == 0 && new_tg == tg)
        return -1;
    return m;
}

//  One ZSCAN page of the walk's shard: its running clocks of retarget
//  policies re-armed on their new targets. The members seen, -1 when
//  Redis failed.
static int
s_walk_page (sla_fire_t *self)
{
    asp_rds_t *rds = asp_svc_rds (self->svc);
    char key [ASP_KEY_MAX], count [16];
    asp_key_fmt (key, sizeof key, self->walk_shard, SLA_KEY_DUE);
    snprintf (count, sizeof count, "%d", S_WALK_COUNT);
    const char *argv [] = { "ZSCAN", key, self->walk_cursor, "COUNT", count };
    redisReply *r = asp_rds_cmdv (rds, 5, argv, NULL);
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
        if (r)
            freeReplyObject (r);
        return -1;                  //  again next tick
    }
    snprintf (self->walk_cursor, sizeof self->walk_cursor, "%s", r->element [0]->str);
    redisReply *page = r->element [1];
    size_t n = 0;
    s_item_t *items = (s_item_t *) calloc (page->elements / 2 + 1, sizeof *items);
    assert (items);
    for (size_t i = 0; i + 1 < page->elements; i += 2) {
        s_item_t *it = &items [n];
        snprintf (it->member, sizeof it->member, "%s", page->element [i]->str);
        it->shard = self->walk_shard;
        it->due = strtoll (page->element [i + 1]->str, NULL, 10);
        if (sla_clocks_parse_member (it->member, it->ticket, sizeof it->ticket, &it->clock, &it->phase) == 0
        &&  it->phase != SLA_PHASE_REARM)
            n++;
    }
    redisReply **replies = (redisReply **) calloc (n + 1, sizeof *replies);
    asp_txn_t **txns = (asp_txn_t **) calloc (n + 1, sizeof *txns);
    assert (replies && txns);
    size_t ntx = 0;
    if (n && s_read_hashes (self, items, n, replies) == 0) {
        const sla_policy_t *policy = sla_policy_watch_current (self->watch);
        for (size_t i = 0; i < n; i++) {
            s_item_t *it = &items [i];
            const char *pol = s_cfield (it->hash, it->clock, "pol");
            const sla_rule_t *rule = pol? sla_policy_rule (policy, pol): NULL;
            s_dec_t d;
            s_dec_init (&d, it);
            int64_t at [SLA_PHASES_MAX], tg;
            char phase [8], text [SLA_PH_TEXT_MAX];
            snprintf (phase, sizeof phase, "%d", it->phase);
            int st = asp_vocab_parse (&asp_vocab_clock_state, d.state);
            int m;
            if (!rule || !rule->retarget || strcmp (d.nx, phase) != 0
            ||  (st != ASP_CLOCK_RUNNING && st != ASP_CLOCK_BREACHED)
            ||  (m = s_retarget_plan (self, it->hash, it->clock, rule, at, &tg)) < 0)
                continue;
            s_setf (&d, "tg", "%lld", (long long) tg);
            s_setf (&d, "due", "%lld", (long long) at [1]);
            s_setf (&d, "wn", "%lld", (long long) at [0]);
            s_set (&d, "ph", sla_plan_format (at, m, text, sizeof text));
            int lv = (int) s_cint (it->hash, it->clock, "lv");
            if (lv < m) {
                s_member (it->next, sizeof it->next, it->ticket, it->clock, lv);
                it->next_at = at [lv];
                s_setf (&d, "nx", "%d", lv);
            }
            else
                s_del (&d, "nx");
            it->txn = s_dec_txn (self, &d, it->member, S_NEVER, *it->next? it->next: NULL, it->next_at);
            txns [ntx++] = it->txn;
        }
        if (ntx)
            asp_svc_commit (self->svc, txns, ntx);
        for (size_t i = 0; i < n; i++) {
            s_item_t *it = &items [i];
            if (it->txn && asp_txn_outcome (it->txn) == ASP_TXN_OK) {
                asp_counter_inc (self->m_retargeted);
                sla_heap_remove (self->heap, it->member);
                if (*it->next)
                    sla_fire_added (self, it->next, it->shard, it->next_at);
            }
            asp_txn_destroy (&it->txn);
        }
    }
    for (size_t i = 0; i < n; i++)
        if (replies [i])
            freeReplyObject (replies [i]);
    free (replies);
    free (txns);
    free (items);
    int seen = (int) page->elements / 2;
    freeReplyObject (r);
    if (strcmp (self->walk_cursor, "0") == 0 && ++self->walk_shard == ASP_SHARDS) {
        self->walking = false;
        asp_log_info ("sla: retarget walk done");
    }
    return seen;
}

//  One bounded step of the walk: pages until about S_WALK_COUNT members
//  were seen (or the walk ended).
static void
s_walk_step (sla_fire_t *self)
{
    int seen = 0;
    while (self->walking && seen < S_WALK_COUNT) {
        int n = s_walk_page (self);
        if (n < 0)
            break;
        seen += n + 1;              //  an empty shard costs a round trip too
    }
}

static void
s_check_policy (sla_fire_t *self)
{
    int rc = sla_policy_watch_check (self->watch, asp_now_ms ());
    if (rc == 1) {
        asp_counter_inc (self->m_reloads);
        asp_log_info ("sla: policy reloaded (version %s)",
                      sla_policy_version (sla_policy_watch_current (self->watch)));
        //  Walk the due sets again from the start: the running clocks of
        //  retarget policies take the new targets.
        self->walking = true;
        self->walk_shard = 0;
        snprintf (self->walk_cursor, sizeof self->walk_cursor, "0");
    }
    else
    if (rc < 0) {
        asp_counter_inc (self->m_reload_errors);
        asp_log_error ("sla: policy change refused, the running policy stays: %s",
                       sla_policy_watch_error (self->watch));
    }
}

static int
s_on_window (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop; (void) timer_id;
    sla_fire_t *self = (sla_fire_t *) arg;
    s_check_policy (self);
    if (self->walking)
        s_walk_step (self);
    s_load_window (self);
    return 0;
}

//  SIGHUP: the policy file read again now.
static void
s_on_hup (void *arg)
{
    sla_fire_t *self = (sla_fire_t *) arg;
    sla_policy_watch_hup (self->watch);
    s_check_policy (self);
}

//  ---------------------------------------------------------------------

static double
s_gauge_pending (void *arg)
{
    return (double) atomic_load (&((sla_fire_t *) arg)->pending);
}

sla_fire_t *
sla_fire_new (asp_svc_t *svc, sla_policy_watch_t *watch)
{
    sla_fire_t *self = (sla_fire_t *) calloc (1, sizeof *self);
    assert (self);
    self->svc = svc;
    self->watch = watch;
    self->apply = asp_svc_script (svc, "sla_apply", asp_lua_apply);
    self->heap = sla_heap_new ();
    self->window_ms = asp_cfg_int ("ASP_SLA_WINDOW_MS", 1000, 10, 60000);
    self->batch = (size_t) asp_cfg_int ("ASP_SLA_BATCH", 1000, 1, 100000);
    self->fire_timer = -1;
    self->horizon = 0;              //  nothing held until the first read
    asp_metrics_t *m = asp_svc_metrics (svc);
    self->m_warnings = asp_metrics_counter (m, "sla_warnings_total", "SLA warnings fired.");
    self->m_breaches = asp_metrics_counter (m, "sla_breaches_total", "SLA breaches fired.");
    self->m_escalations = asp_metrics_counter (m, "sla_escalations_total", "SLA escalation steps fired.");
    self->m_compensations = asp_metrics_counter (m, "sla_compensations_total", "SLA compensations owed.");
    self->m_reloads = asp_metrics_counter (m, "sla_policy_reloads_total", "SLA policy files loaded after the start.");
    self->m_reload_errors = asp_metrics_counter (m, "sla_policy_reload_errors_total",
                                                 "SLA policy file changes refused.");
    self->m_retargeted = asp_metrics_counter (m, "sla_retargeted_total",
                                              "Running clocks given a reloaded policy's new target.");
    self->m_lateness = asp_metrics_histo (m, "sla_fire_lateness", "Phase fired minus due (seconds).");
    self->m_fired = asp_metrics_counter_family (m, "sla_fired_total",
        "SLA phases fired, by clock, the ticket's region and phase (warning, breach, escalation, compensation).",
        "clock,region,phase", (unsigned) asp_cfg_int ("ASP_METRICS_REGION_SETS", 1000, 1, 100000));
    asp_metrics_gauge (m, "sla_pending", "Members of the due sets (about one per running clock).",
                       s_gauge_pending, self);
    zloop_t *loop = asp_svc_loop (svc);
    self->window_timer = zloop_timer (loop, (size_t) self->window_ms, 0, s_on_window, self);
    //  The first read at once: deadlines may have passed while we were down.
    zloop_timer (loop, 0, 1, s_on_window, self);
    self->hup = asp_sighup_new (loop, "sla", s_on_hup, self);
    return self;
}

void
sla_fire_destroy (sla_fire_t **self_p)
{
    sla_fire_t *self = *self_p;
    if (!self)
        return;
    asp_sighup_destroy (&self->hup);
    sla_heap_destroy (&self->heap);
    free (self);
    *self_p = NULL;
}

//  --------------------------------------------------------------------------
//  Self-test: the service's loop on a thread (asp_probe), a real Redis,
//  a policy of fractions of a second.

#include "asp_probe.h"
#include "asp_selftest.h"

static const char s_test_policy [] =
    "[calendar c]\nzone = UTC\nhours = mon-sun 00:00-24:00\n"
    "[region *]\ncalendar = c\nsupervisor = sup@x\nmanager = mgr@x\n"
    "[ladder l]\nstep = supervisor 1s\nstep = manager 2s\n"
    "[policy standard]\nwarn = 50%\nladder = l\nfirst_response = 4s calendar\n";

//  The next message sla-timer sends intake: its type and body's clock and
//  level; ACKed.
static void
s_test_expect (asp_probe_t *probe, const char *type, int level)
{
    zframe_t *who = NULL;
    asp_envelope_t *env = asp_probe_recv (probe, ASP_SVC_INTAKE, &who, 5000);
    assert (env);
    int64_t lv = 0;
    char clock [32] = "";
    assert (asp_mp_get_int (env->body, "level", &lv) == 0 && lv == level);
    assert (asp_mp_get_str (env->body, "clock", clock, sizeof clock) == 0 && streq (clock, "first_response"));
    if (!streq (env->type, type))
        fprintf (stderr, "sla_fire_test: got %s, expected %s\n", env->type, type);
    assert (streq (env->type, type));
    asp_probe_reply (probe, ASP_SVC_INTAKE, who, "ACK", env->id, NULL);
    zframe_destroy (&who);
    asp_envelope_destroy (&env);
}

static redisReply *
s_test_hget (asp_probe_t *probe, const char *ticket, const char *field)
{
    char key [ASP_KEY_MAX];
    asp_key_fmt (key, sizeof key, asp_shard_of (ticket), SLA_KEY_CLOCKS, ticket);
    redisReply *r = asp_rds_cmd (asp_probe_rds (probe), "HGET %s %s", key, field);
    assert (r);
    return r;
}

static bool
s_test_field_is (asp_probe_t *probe, const char *ticket, const char *field, const char *value)
{
    redisReply *r = s_test_hget (probe, ticket, field);
    bool is = value? r->type == REDIS_REPLY_STRING && streq (r->str, value): r->type == REDIS_REPLY_NIL;
    freeReplyObject (r);
    return is;
}

static void
s_test_send (asp_probe_t *probe, const char *type, const char *ticket)
{
    asp_msg_t *msg = asp_msg_new (type, ticket, NULL);
    if (streq (type, ASP_EV_TICKET_CREATED)) {
        asp_mpmap_str (msg->body, "type", "consultation");
        asp_mpmap_str (msg->body, "owner", "li");
    }
    asp_probe_send_msg (probe, msg);
    assert (asp_probe_expect (probe, "ACK", msg->id, 5000));
    asp_msg_destroy (&msg);
}

void
sla_fire_test (void)
{
    asp_selftest_need_redis ("sla_fire_test");
    char dir [] = "/tmp/sla-fire-XXXXXX", path [64];
    assert (mkdtemp (dir));
    snprintf (path, sizeof path, "%s/p.conf", dir);
    FILE *f = fopen (path, "w");
    assert (f && fputs (s_test_policy, f) >= 0 && fclose (f) == 0);
    setenv ("ASP_SLA_WINDOW_MS", "100", 1);
    asp_probe_t *probe = asp_probe_new (ASP_SVC_SLA);
    asp_svc_t *svc = asp_svc_new (ASP_SVC_SLA);
    char why [256];
    sla_policy_watch_t *watch = sla_policy_watch_new (path, why, sizeof why);
    assert (watch);
    sla_fire_t *fire = sla_fire_new (svc, watch);
    sla_clocks_t *clocks = sla_clocks_new (svc, watch, fire);
    asp_probe_start (probe, svc);
    char ticket [ASP_ID_MAX], met [ASP_ID_MAX];
    asp_id_new (ticket, "T");
    asp_id_new (met, "T");

    //  Warned at 2 s, breached at 4 s, then the ladder (5 s, 6 s): each
    //  once, in order; then the clock holds no member. The first step is
    //  2 s away so that a slow build (TSan) still sees it pending and
    //  answers the other ticket before its warning.
    s_test_send (probe, ASP_EV_TICKET_CREATED, ticket);
    s_test_send (probe, ASP_EV_TICKET_CREATED, met);
    assert (s_test_field_is (probe, ticket, "first_response", "running"));
    assert (s_test_field_is (probe, ticket, "first_response:nx", "0"));
    //  Met in time: nothing fires for it.
    s_test_send (probe, ASP_EV_TICKET_RESPONDED, met);
    assert (s_test_field_is (probe, met, "first_response", "met"));
    assert (s_test_field_is (probe, met, "first_response:nx", NULL));
    s_test_expect (probe, ASP_EV_SLA_WARNING, 1);
    s_test_expect (probe, ASP_EV_SLA_BREACHED, 2);
    s_test_expect (probe, ASP_EV_SLA_ESCALATED, 3);
    s_test_expect (probe, ASP_EV_SLA_ESCALATED, 4);
    assert (s_test_field_is (probe, ticket, "first_response:lv", "4"));
    assert (s_test_field_is (probe, ticket, "first_response", "breached"));
    assert (s_test_field_is (probe, ticket, "first_response:nx", NULL));
    assert (asp_probe_drain (probe, ASP_SVC_INTAKE, 500) == 0);
    //  A late answer: late, and nothing more fires.
    s_test_send (probe, ASP_EV_TICKET_RESPONDED, ticket);
    assert (s_test_field_is (probe, ticket, "first_response", "late"));
    assert (asp_probe_drain (probe, ASP_SVC_INTAKE, 500) == 0);

    asp_probe_stop (probe);
    sla_clocks_destroy (&clocks);
    sla_fire_destroy (&fire);
    asp_svc_destroy (&svc);
    sla_policy_watch_destroy (&watch);
    asp_probe_destroy (&probe);
    unlink (path);
    rmdir (dir);
    unsetenv ("ASP_SLA_WINDOW_MS");
}
