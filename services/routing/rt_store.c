#include "rt_store.h"
#include "rt_work.h"
#include "asp_selftest.h"
#include "asp_events.h"
#include "asp_log.h"
#include <assert.h>

extern const char asp_lua_wo_common [];
extern const char asp_lua_wo_create [];
extern const char asp_lua_wo_offer [];
extern const char asp_lua_wo_withdraw [];
extern const char asp_lua_wo_accept [];
extern const char asp_lua_wo_decline [];
extern const char asp_lua_wo_cancel [];
extern const char asp_lua_wo_redispatch [];
extern const char asp_lua_wo_unroutable [];
extern const char asp_lua_wo_override [];
extern const char asp_lua_rt_score [];
extern const char asp_lua_rt_removed [];

#define RT_LOAD_CHUNK   500

struct rt_store_t {
    asp_rds_t *rds;
    //  PROGRESS, COMPLETE and UNABLE are rt_work's
    asp_script_t *create, *offer, *withdraw, *accept, *decline, *cancel, *redispatch, *unroutable, *override, *score,
                 *removed;
};

static asp_script_t *
s_script (asp_rds_t *rds, const char *name, const char *body)
{
    return asp_rds_script_lib (rds, name, asp_lua_wo_common, body);
}

rt_store_t *
rt_store_new (asp_rds_t *rds)
{
    rt_store_t *self = (rt_store_t *) calloc (1, sizeof *self);
    assert (self);
    self->rds = rds;
    self->create = s_script (rds, "wo_create", asp_lua_wo_create);
    self->offer = s_script (rds, "wo_offer", asp_lua_wo_offer);
    self->withdraw = s_script (rds, "wo_withdraw", asp_lua_wo_withdraw);
    self->accept = s_script (rds, "wo_accept", asp_lua_wo_accept);
    self->decline = s_script (rds, "wo_decline", asp_lua_wo_decline);
    self->cancel = s_script (rds, "wo_cancel", asp_lua_wo_cancel);
    self->redispatch = s_script (rds, "wo_redispatch", asp_lua_wo_redispatch);
    self->unroutable = s_script (rds, "wo_unroutable", asp_lua_wo_unroutable);
    self->override = s_script (rds, "wo_override", asp_lua_wo_override);
    self->score = s_script (rds, "rt_score", asp_lua_rt_score);
    self->removed = s_script (rds, "rt_removed", asp_lua_rt_removed);
    return self;
}

void
rt_store_destroy (rt_store_t **self_p)
{
    //  The scripts belong to the Redis connection.
    free (*self_p);
    *self_p = NULL;
}

//  --------------------------------------------------------------------------
//  ticket.created

#define FAIL(...) do { snprintf (err, errlen, __VA_ARGS__); return -1; } while (0)

static int
s_required_text (const msgpack_object *body, const char *key, char *out, size_t outlen,
                 char *err, size_t errlen)
{
    if (asp_mp_get_str (body, key, out, outlen) != 0 || !*out || !aspw_text_valid (out, strlen (out)))
        FAIL ("field '%s' must be UTF-8 text of 1..%zu bytes", key, outlen - 1);
    return 0;
}

//  An optional text field: absent, nil or "" leaves out empty.
static int
s_optional_text (const msgpack_object *body, const char *key, char *out, size_t outlen,
                 char *err, size_t errlen)
{
    const msgpack_object *o = asp_mp_get (body, key);
    if (!o || o->type == MSGPACK_OBJECT_NIL || (o->type == MSGPACK_OBJECT_STR && o->via.str.size == 0))
        return 0;
    return s_required_text (body, key, out, outlen, err, errlen);
}

int
rt_ticket_parse (const msgpack_object *body, rt_ticket_t *t, char *err, size_t errlen)
{
    memset (t, 0, sizeof *t);
    int word;
    if (aspw_get_word (body, "type", &asp_vocab_kind, &word, err, errlen))
        return -1;
    t->kind = (asp_kind_t) word;
    t->tier = ASP_TIER_STANDARD;
    const msgpack_object *tier = asp_mp_get (body, "tier");
    if (tier && tier->type != MSGPACK_OBJECT_NIL) {
        if (aspw_get_word (body, "tier", &asp_vocab_tier, &word, err, errlen))
            return -1;
        t->tier = (asp_tier_t) word;
    }
    int rc = asp_mp_get_int (body, "priority", &t->priority);
    if (rc == 1)
        t->priority = 3;
    else
    if (rc == -1 || t->priority < 1 || t->priority > 5)
        FAIL ("field 'priority' must be an integer in 1..5");
    if (s_required_text (body, "category", t->category, sizeof t->category, err, errlen)
    ||  s_required_text (body, "region", t->region, sizeof t->region, err, errlen))
        return -1;
    const msgpack_object *summary = asp_mp_get (body, "summary");
    if (summary && summary->type == MSGPACK_OBJECT_STR) {
        //  Intake's summary may be longer than a protocol string: keep
        //  the first 256 bytes, cut on a character boundary.
        if (memchr (summary->via.str.ptr, 0, summary->via.str.size)
        ||  !aspw_text_valid (summary->via.str.ptr, summary->via.str.size))
            FAIL ("field 'summary' must be UTF-8 text");
        char *copy = strndup (summary->via.str.ptr, summary->via.str.size);
        assert (copy);
        aspw_text_cut (t->summary, sizeof t->summary, copy);
        free (copy);
    }
    else
    if (summary && summary->type != MSGPACK_OBJECT_NIL)
        FAIL ("field 'summary' must be a string");
    //  Optional (issue 7): the installer of record and the area.
    if (s_optional_text (body, "area", t->area, sizeof t->area, err, errlen)
    ||  s_optional_text (body, "installer", t->installer, sizeof t->installer, err, errlen))
        return -1;
    if (*t->installer && !asp_id_valid (t->installer, strlen (t->installer)))
        FAIL ("field 'installer' must be a partner id");
    return 0;
}

//  A txn on one work order (K[1]), in its shard.
asp_txn_t *
rt_store_wo_txn (asp_script_t *script, const char *wo_id)
{
    asp_txn_t *txn = asp_txn_new (script, rt_wo_shard (wo_id));
    asp_txn_key (txn, RT_KEY_WO, wo_id);
    return txn;
}

unsigned
rt_wo_shard (const char *wo_id)
{
    char ticket [ASP_ID_MAX];
    if (asp_wo_ticket (wo_id, ticket, sizeof ticket))
        ticket [0] = 0;             //  callers pass checked ids; any shard will refuse it
    return asp_shard_of (ticket);
}

//  The arguments of a new work order (wo_create.lua, wo_redispatch.lua).
static void
s_create_args (asp_txn_t *txn, const char *wo_id, const char *ticket_id, const char *trace,
               const rt_ticket_t *t)
{
    char priority [24], now [24];
    snprintf (priority, sizeof priority, "%lld", (long long) t->priority);
    snprintf (now, sizeof now, "%lld", (long long) asp_now_ms ());
    asp_mpmap_t *a = asp_mpmap_new ();
    asp_mpmap_str (a, "wo_id", wo_id);
    asp_mpmap_str (a, "ticket", ticket_id);
    asp_mpmap_str (a, "trace", trace);
    asp_mpmap_str (a, "kind", asp_vocab_name (&asp_vocab_kind, t->kind));
    asp_mpmap_str (a, "tier", asp_vocab_name (&asp_vocab_tier, t->tier));
    asp_mpmap_str (a, "priority", priority);
    asp_mpmap_str (a, "category", t->category);
    asp_mpmap_str (a, "region", t->region);
    asp_mpmap_str (a, "summary", t->summary);
    asp_mpmap_str (a, "installer", t->installer);
    asp_mpmap_str (a, "area", t->area);
    asp_mpmap_str (a, "now", now);
    asp_txn_arg_map (txn, &a);
}

asp_txn_t *
rt_store_create (rt_store_t *self, const char *wo_id, const char *ticket_id, const char *trace,
                 const rt_ticket_t *t, const char *msg_id)
{
    asp_txn_t *txn = rt_store_wo_txn (self->create, wo_id);
    asp_txn_inbox (txn, msg_id);
    asp_txn_key (txn, RT_KEY_OPEN);
    s_create_args (txn, wo_id, ticket_id, trace, t);
    return txn;
}

asp_txn_t *
rt_store_redispatch (rt_store_t *self, const char *wo_id, const char *previous, const char *ticket_id,
                     const char *trace, const rt_ticket_t *t, const char *msg_id)
{
    asp_txn_t *txn = rt_store_wo_txn (self->redispatch, wo_id);
    asp_txn_inbox (txn, msg_id);
    asp_txn_key (txn, RT_KEY_OPEN);
    asp_txn_key (txn, RT_KEY_WO, previous);
    asp_txn_key (txn, RT_KEY_UNROUTABLE);
    s_create_args (txn, wo_id, ticket_id, trace, t);
    return txn;
}

asp_txn_t *
rt_store_cancel (rt_store_t *self, const char *wo_id, const char *msg_id)
{
    asp_txn_t *txn = rt_store_wo_txn (self->cancel, wo_id);
    asp_txn_inbox (txn, msg_id);
    asp_txn_key (txn, RT_KEY_OPEN);
    asp_txn_key (txn, RT_KEY_UNROUTABLE);
    asp_txn_arg (txn, "%lld", (long long) asp_now_ms ());
    return txn;
}

//  --------------------------------------------------------------------------
//  Work order steps

//  An event about a work order, for its ticket.
static asp_msg_t *
s_event (const char *type, const char *wo_id, const rt_order_t *order)
{
    const char *trace = order && *order->trace? order->trace: NULL;
    char ticket [ASP_ID_MAX] = "";
    if (!order)
        asp_wo_ticket (wo_id, ticket, sizeof ticket);
    asp_msg_t *msg = asp_msg_new (type, order? order->ticket: ticket, trace);
    asp_mpmap_str (msg->body, "wo_id", wo_id);
    return msg;
}

asp_msg_t *
rt_store_event (const char *type, const char *wo_id, const rt_order_t *order)
{
    return s_event (type, wo_id, order);
}

asp_txn_t *
rt_store_offer (rt_store_t *self, const rt_order_t *order, const char *partner_id, const rt_why_t *why)
{
    char offer_id [RT_WO_ID_MAX + 24];
    int64_t attempt = order->attempt + 1;
    const char *choice = asp_vocab_name (&asp_vocab_choice, why->choice);
    snprintf (offer_id, sizeof offer_id, "%s.%lld", order->id, (long long) attempt);
    asp_txn_t *txn = rt_store_wo_txn (self->offer, order->id);
    asp_txn_key (txn, RT_KEY_UNROUTABLE);
    asp_txn_arg (txn, "%s", partner_id);
    asp_txn_arg (txn, "%lld", (long long) order->attempt);
    asp_txn_arg (txn, "%s", offer_id);
    asp_txn_arg (txn, "%lld", (long long) asp_now_ms ());
    asp_txn_arg (txn, "%s", choice);
    asp_msg_t *msg = s_event (ASP_EV_WO_OFFERED, order->id, order);
    asp_mpmap_str (msg->body, "offer_id", offer_id);
    asp_mpmap_str (msg->body, "partner_id", partner_id);
    asp_mpmap_int (msg->body, "attempt", attempt);
    asp_mpmap_str (msg->body, "choice", choice);
    asp_mpmap_int (msg->body, "score", why->score);
    asp_mpmap_int (msg->body, "candidates", why->candidates);
    asp_mpmap_int (msg->body, "free", why->free);
    asp_txn_publish (txn, &msg);
    return txn;
}

asp_txn_t *
rt_store_unroutable (rt_store_t *self, const rt_order_t *order, asp_unroutable_reason_t reason)
{
    const char *word = asp_vocab_name (&asp_vocab_unroutable_reason, reason);
    asp_txn_t *txn = rt_store_wo_txn (self->unroutable, order->id);
    asp_txn_key (txn, RT_KEY_UNROUTABLE);
    asp_txn_arg (txn, "%s", word);
    asp_txn_arg (txn, "%lld", (long long) asp_now_ms ());
    asp_msg_t *msg = s_event (ASP_EV_WO_UNROUTABLE, order->id, order);
    asp_mpmap_str (msg->body, "reason", word);
    asp_mpmap_int (msg->body, "refusals", order->refusals);
    asp_txn_publish (txn, &msg);
    return txn;
}

asp_txn_t *
rt_store_override (rt_store_t *self, const char *wo_id, const char *partner_id, const char *by,
                   const char *msg_id)
{
    asp_txn_t *txn = rt_store_wo_txn (self->override, wo_id);
    asp_txn_inbox (txn, msg_id);
    asp_txn_arg (txn, "%s", partner_id);
    asp_txn_arg (txn, "%s", by);
    asp_txn_arg (txn, "%lld", (long long) asp_now_ms ());
    return txn;
}

asp_txn_t *
rt_store_score (rt_store_t *self, const char *partner_id, int64_t score, const char *msg_id)
{
    asp_txn_t *txn = asp_txn_new (self->score, asp_shard_of (partner_id));
    asp_txn_inbox (txn, msg_id);
    asp_txn_key (txn, RT_KEY_SCORES);
    asp_txn_arg (txn, "%s", partner_id);
    asp_txn_arg (txn, "%lld", (long long) score);
    return txn;
}

asp_txn_t *
rt_store_removed (rt_store_t *self, const char *partner_id, int64_t version, bool removed,
                  const char *msg_id)
{
    asp_txn_t *txn = asp_txn_new (self->removed, asp_shard_of (partner_id));
    asp_txn_inbox (txn, msg_id);
    asp_txn_key (txn, RT_KEY_REMOVED);
    asp_txn_arg (txn, "%s", partner_id);
    asp_txn_arg (txn, "%lld", (long long) version);
    asp_txn_arg (txn, "%s", removed? "1": "0");
    return txn;
}

asp_txn_t *
rt_store_withdraw (rt_store_t *self, const rt_order_t *order, const char *partner_id, int64_t attempt,
                   const char *reason, bool exclude)
{
    char offer_id [RT_WO_ID_MAX + 24];
    snprintf (offer_id, sizeof offer_id, "%s.%lld", order->id, (long long) attempt);
    asp_txn_t *txn = rt_store_wo_txn (self->withdraw, order->id);
    asp_txn_arg (txn, "%s", offer_id);
    asp_txn_arg (txn, "%s", partner_id);
    asp_txn_arg (txn, "%s", exclude? "expired": "");
    asp_txn_arg (txn, "%lld", (long long) asp_now_ms ());
    asp_msg_t *msg = s_event (ASP_EV_WO_DECLINED, order->id, order);
    asp_mpmap_str (msg->body, "offer_id", offer_id);
    asp_mpmap_str (msg->body, "partner_id", partner_id);
    asp_mpmap_str (msg->body, "reason", reason);
    asp_txn_publish (txn, &msg);
    return txn;
}

asp_txn_t *
rt_store_command (rt_store_t *self, const aspw_msg_t *cmd, const char *partner_id, const rt_order_t *order)
{
    asp_txn_t *txn = NULL;
    asp_msg_t *msg = NULL;
    long long now = (long long) asp_now_ms ();
    switch (cmd->id) {
        case ASPW_ACCEPT:
        case ASPW_DECLINE: {
            bool accept = cmd->id == ASPW_ACCEPT;
            txn = rt_store_wo_txn (accept? self->accept: self->decline, cmd->wo_id);
            asp_txn_arg (txn, "%s", partner_id);
            asp_txn_arg (txn, "%s", cmd->offer_id);
            asp_txn_arg (txn, "%lld", (long long) cmd->attempt);
            asp_txn_arg (txn, "%lld", now);
            msg = s_event (accept? ASP_EV_WO_ASSIGNED: ASP_EV_WO_DECLINED, cmd->wo_id, order);
            asp_mpmap_str (msg->body, "offer_id", cmd->offer_id);
            asp_mpmap_str (msg->body, "partner_id", partner_id);
            if (!accept)
                asp_mpmap_str (msg->body, "reason", *cmd->reason? cmd->reason: "declined");
            break;
        }
        default:
            assert (false);     //  PROGRESS, COMPLETE, UNABLE: rt_work_command
    }
    asp_txn_publish (txn, &msg);
    return txn;
}

void
rt_store_view (asp_txn_t *txn, rt_view_t *view)
{
    memset (view, 0, sizeof *view);
    const char *s;
    if ((s = asp_txn_reply_str (txn, 2)))
        snprintf (view->why, sizeof view->why, "%s", s);
    if ((s = asp_txn_reply_str (txn, 3)) && *s) {
        int state = asp_vocab_parse (&asp_vocab_wo_state, s);
        if (state < 0)
            asp_log_error ("a routing script answered the unknown work order state '%.32s'", s);
        view->found = state >= 0;
        view->state = state >= 0? (asp_wo_state_t) state: ASP_WO_PENDING;
    }
    if ((s = asp_txn_reply_str (txn, 4)))
        snprintf (view->partner, sizeof view->partner, "%s", s);
    if ((s = asp_txn_reply_str (txn, 5)))
        view->attempt = strtoll (s, NULL, 10);
    if ((s = asp_txn_reply_str (txn, 6)))
        view->seq = strtoll (s, NULL, 10);
}

//  --------------------------------------------------------------------------
//  Loading after a start

//  Value of a field in a HGETALL reply, or NULL.
static const char *
s_hget (const redisReply *r, const char *name)
{
    for (size_t i = 0; i + 1 < r->elements; i += 2)
        if (strcmp (r->element [i]->str, name) == 0)
            return r->element [i + 1]->str;
    return NULL;
}

static void
s_load_one (rt_orders_t *orders, rt_registry_t *registry, const char *wo_id, const redisReply *r)
{
    const char *name = s_hget (r, "state");
    int state = asp_vocab_parse (&asp_vocab_wo_state, name);
    int kind = asp_vocab_parse (&asp_vocab_kind, s_hget (r, "kind"));
    int tier = asp_vocab_parse (&asp_vocab_tier, s_hget (r, "tier"));
    if (state < 0 || state == ASP_WO_COMPLETED || kind < 0 || tier < 0) {
        asp_log_warn ("rt:open lists %s but its work order is %s", wo_id,
                      state == ASP_WO_COMPLETED? "completed": "missing or unreadable");
        return;
    }
    const char *priority = s_hget (r, "priority");
    rt_order_t *order = rt_order_new (wo_id, s_hget (r, "ticket"), s_hget (r, "trace"),
                                      (asp_kind_t) kind, (asp_tier_t) tier, s_hget (r, "category"),
                                      s_hget (r, "region"), s_hget (r, "summary"),
                                      priority? strtoll (priority, NULL, 10): 3);
    order = rt_orders_insert (orders, &order);
    if (!order)
        return;                 //  known already (created since we started)
    const char *attempt = s_hget (r, "attempt");
    const char *seq = s_hget (r, "seq");
    order->attempt = attempt? strtoll (attempt, NULL, 10): 0;
    order->seq = seq? strtoll (seq, NULL, 10): 0;
    for (size_t i = 0; i + 1 < r->elements; i += 2)
        if (strncmp (r->element [i]->str, "x.", 2) == 0)
            rt_order_exclude (order, r->element [i]->str + 2);
    const char *installer = s_hget (r, "installer"), *override = s_hget (r, "override");
    const char *refusals = s_hget (r, "refusals"), *escalated = s_hget (r, "escalated");
    const char *unroutable = s_hget (r, "unroutable");
    snprintf (order->installer, sizeof order->installer, "%s", installer? installer: "");
    snprintf (order->override, sizeof order->override, "%s", override? override: "");
    rt_order_set_area (order, s_hget (r, "area"));
    order->refusals = refusals? strtoll (refusals, NULL, 10): 0;
    order->escalated = escalated && *escalated;
    if (unroutable && *unroutable)
        rt_orders_set_unroutable (orders, order, true);
    const char *partner = s_hget (r, "partner");
    if (state == ASP_WO_ASSIGNED && partner && *partner)
        rt_orders_set (orders, order, ASP_WO_ASSIGNED, rt_registry_partner (registry, partner, true),
                       order->attempt, false);
    //  Pending stays pending; an offer that was in flight when we stopped
    //  is offered again (a new attempt of the same wo_id) once a partner fits.
}

//  Loads the open work orders of one shard; 0 or -1.
static int
s_load_shard (rt_store_t *self, unsigned shard, rt_orders_t *orders, rt_registry_t *registry,
              size_t *loaded)
{
    char open_key [ASP_KEY_MAX];
    asp_key_fmt (open_key, sizeof open_key, shard, RT_KEY_OPEN);
    for (long start = 0;; start += RT_LOAD_CHUNK) {
        redisReply *ids = asp_rds_cmd (self->rds, "ZRANGE %s %ld %ld", open_key, start,
                                       start + RT_LOAD_CHUNK - 1);
        if (!ids || ids->type != REDIS_REPLY_ARRAY) {
            if (ids)
                freeReplyObject (ids);
            return -1;
        }
        size_t count = ids->elements;
        for (size_t i = 0; i < count; i++) {
            char key [ASP_KEY_MAX];
            asp_key_fmt (key, sizeof key, shard, RT_KEY_WO, ids->element [i]->str);
            const char *argv [] = { "HGETALL", key };
            size_t lens [] = { 7, strlen (key) };
            if (asp_rds_append (self->rds, 2, argv, lens)) {
                freeReplyObject (ids);
                return -1;
            }
        }
        for (size_t i = 0; i < count; i++) {
            redisReply *r = asp_rds_reply (self->rds);
            if (!r) {
                freeReplyObject (ids);
                return -1;
            }
            if (r->type == REDIS_REPLY_ARRAY && ids->element [i]->len < RT_WO_ID_MAX) {
                s_load_one (orders, registry, ids->element [i]->str, r);
                (*loaded)++;
            }
            freeReplyObject (r);
        }
        freeReplyObject (ids);
        if (count < RT_LOAD_CHUNK)
            return 0;
    }
}

//  The partners' scores and removals (rt:scores, rt:removed of every
//  shard).
static int
s_load_scores (rt_store_t *self, rt_registry_t *registry)
{
    for (unsigned n = 0; n < ASP_SHARDS; n++) {
        char key [ASP_KEY_MAX];
        asp_key_fmt (key, sizeof key, n, RT_KEY_SCORES);
        redisReply *r = asp_rds_cmd (self->rds, "HGETALL %s", key);
        if (!r || r->type != REDIS_REPLY_ARRAY) {
            if (r)
                freeReplyObject (r);
            return -1;
        }
        for (size_t i = 0; i + 1 < r->elements; i += 2)
            if (asp_id_valid (r->element [i]->str, r->element [i]->len))
                rt_registry_partner (registry, r->element [i]->str, true)->score
                    = strtoll (r->element [i + 1]->str, NULL, 10);
        freeReplyObject (r);
        asp_key_fmt (key, sizeof key, n, RT_KEY_REMOVED);
        r = asp_rds_cmd (self->rds, "HGETALL %s", key);
        if (!r || r->type != REDIS_REPLY_ARRAY) {
            if (r)
                freeReplyObject (r);
            return -1;
        }
        for (size_t i = 0; i + 1 < r->elements; i += 2) {
            const char *v = r->element [i + 1]->str, *bar = v? strchr (v, '|'): NULL;
            if (!asp_id_valid (r->element [i]->str, r->element [i]->len) || !bar)
                continue;
            rt_partner_t *p = rt_registry_partner (registry, r->element [i]->str, true);
            p->removed_version = strtoll (v, NULL, 10);
            p->removed = streq (bar + 1, "1");
        }
        freeReplyObject (r);
    }
    return 0;
}

int
rt_store_load (rt_store_t *self, rt_orders_t *orders, rt_registry_t *registry, size_t *loaded)
{
    //  FIFO within each shard; the queue orders them by tier and priority.
    *loaded = 0;
    for (unsigned n = 0; n < ASP_SHARDS; n++)
        if (s_load_shard (self, n, orders, registry, loaded))
            return -1;
    return s_load_scores (self, registry);
}

//  --------------------------------------------------------------------------
//  Self test: runs the scripts against a real Redis.

static asp_txn_outcome_t
s_run (asp_rds_t *rds, asp_txn_t **txn_p, rt_view_t *view)
{
    assert (asp_txn_exec (rds, ASP_SVC_ROUTING, txn_p, 1) == 0);
    asp_txn_outcome_t code = asp_txn_outcome (*txn_p);
    rt_store_view (*txn_p, view);
    asp_txn_destroy (txn_p);
    return code;
}

static aspw_msg_t *
s_cmd (aspw_command_t type, const char *wo_id, const char *offer_id, int64_t attempt)
{
    aspw_msg_t *cmd = aspw_msg_new (type);
    snprintf (cmd->wo_id, sizeof cmd->wo_id, "%s", wo_id);
    snprintf (cmd->offer_id, sizeof cmd->offer_id, "%s", offer_id);
    cmd->attempt = attempt;
    cmd->seq = 1;
    cmd->stage = ASP_STAGE_ON_SITE;
    cmd->result = ASP_RESULT_FIXED;
    return cmd;
}

void
rt_store_test (void)
{
    printf (" * rt_store: ");
    asp_selftest_need_redis ("rt_store_test");
    asp_txn_init ();
    asp_rds_t *rds = asp_rds_new ();
    rt_store_t *self = rt_store_new (rds);
    //  PROGRESS and COMPLETE txns are rt_work's (same scripts' library).
    asp_metrics_t *metrics = asp_metrics_new ("routing");
    rt_work_t *work = rt_work_new (rds, metrics);
    assert (asp_rds_ready (rds));
    char ticket [ASP_ID_MAX], wo [RT_WO_ID_MAX], mid [ASP_ID_MAX], oid [RT_WO_ID_MAX + 24];
    asp_id_new (ticket, "T");
    snprintf (wo, sizeof wo, "W%s", ticket);
    asp_id_new (mid, "m");
    rt_ticket_t t;
    rt_why_t why = { ASP_CHOICE_BEST_SCORE, -1, 1, 1 };
    char err [200];
    asp_mpmap_t *m = asp_mpmap_new ();
    asp_mpmap_str (m, "type", "repair");
    asp_mpmap_str (m, "category", "heater");
    asp_mpmap_str (m, "region", "sh");
    char *data; size_t size;
    asp_mpmap_bytes (m, &data, &size);
    msgpack_unpacked u;
    msgpack_unpacked_init (&u);
    assert (asp_mp_unpack (&u, data, size, err, sizeof err) == 0);
    assert (rt_ticket_parse (&u.data, &t, err, sizeof err) == 0);
    assert (t.priority == 3 && t.kind == ASP_KIND_REPAIR && t.tier == ASP_TIER_STANDARD);
    msgpack_unpacked_destroy (&u);
    free (data);
    asp_mpmap_destroy (&m);

    rt_view_t v;
    asp_txn_t *txn = rt_store_create (self, wo, ticket, "tr", &t, mid);
    assert (s_run (rds, &txn, &v) == ASP_TXN_OK);
    txn = rt_store_create (self, wo, ticket, "tr", &t, mid);
    assert (s_run (rds, &txn, &v) == ASP_TXN_DUP);

    //  Unroutable once (the shard's queue); an override waits, once per
    //  message; the offer takes it out of the queue and uses the override.
    rt_order_t *order = rt_order_new (wo, ticket, "tr", ASP_KIND_REPAIR, ASP_TIER_STANDARD, "heater", "sh", "", 3);
    unsigned wshard = rt_wo_shard (wo);
    char mo [ASP_ID_MAX], ms [ASP_ID_MAX];
    asp_id_new (mo, "m");
    asp_id_new (ms, "m");
    txn = rt_store_unroutable (self, order, ASP_UNROUTABLE_NO_ELIGIBLE);
    assert (s_run (rds, &txn, &v) == ASP_TXN_OK && v.state == ASP_WO_PENDING);
    txn = rt_store_unroutable (self, order, ASP_UNROUTABLE_NO_ELIGIBLE);
    assert (s_run (rds, &txn, &v) == ASP_TXN_DUP);
    redisReply *q = asp_rds_cmd (rds, "ZSCORE {s%u}:rt:unroutable %s", wshard, wo);
    assert (q && q->type == REDIS_REPLY_STRING);
    freeReplyObject (q);
    txn = rt_store_override (self, wo, "P9", "sup", mo);
    assert (s_run (rds, &txn, &v) == ASP_TXN_OK);
    txn = rt_store_override (self, wo, "P9", "sup", mo);
    assert (s_run (rds, &txn, &v) == ASP_TXN_DUP);
    txn = rt_store_override (self, "WTnope", "P9", "sup", mo);
    assert (s_run (rds, &txn, &v) == ASP_TXN_REJECT && streq (v.why, "unknown_work_order"));
    txn = rt_store_score (self, "P1", 850, ms);
    assert (s_run (rds, &txn, &v) == ASP_TXN_OK);
    txn = rt_store_score (self, "P1", 850, ms);
    assert (s_run (rds, &txn, &v) == ASP_TXN_DUP);
    //  Removals by the strike ladder: the newest version wins, whatever
    //  the order; a replay is a dup.
    char mr1 [ASP_ID_MAX], mr2 [ASP_ID_MAX];
    asp_id_new (mr1, "m");
    asp_id_new (mr2, "m");
    txn = rt_store_removed (self, "P1", 3, true, mr1);
    assert (s_run (rds, &txn, &v) == ASP_TXN_OK);
    txn = rt_store_removed (self, "P1", 2, false, mr2);
    assert (s_run (rds, &txn, &v) == ASP_TXN_STALE && streq (v.why, "older_version"));
    txn = rt_store_removed (self, "P1", 4, false, mr1);
    assert (s_run (rds, &txn, &v) == ASP_TXN_DUP);
    txn = rt_store_removed (self, "P2", 1, true, mr2);
    assert (s_run (rds, &txn, &v) == ASP_TXN_OK);
    txn = rt_store_unroutable (self, order, ASP_UNROUTABLE_REFUSALS);
    assert (s_run (rds, &txn, &v) == ASP_TXN_OK);
    txn = rt_store_unroutable (self, order, ASP_UNROUTABLE_REFUSALS);
    assert (s_run (rds, &txn, &v) == ASP_TXN_DUP);

    //  Offer to P1; P2 cannot touch it; P1 accepts once.
    txn = rt_store_offer (self, order, "P1", &why);
    assert (s_run (rds, &txn, &v) == ASP_TXN_OK && v.found && v.state == ASP_WO_OFFERED && v.attempt == 1);
    q = asp_rds_cmd (rds, "ZSCORE {s%u}:rt:unroutable %s", wshard, wo);
    assert (q && q->type == REDIS_REPLY_NIL);
    freeReplyObject (q);
    q = asp_rds_cmd (rds, "HMGET {s%u}:rt:wo:%s override unroutable choice", wshard, wo);
    assert (q && q->element [0]->type == REDIS_REPLY_NIL && q->element [1]->type == REDIS_REPLY_NIL
            && streq (q->element [2]->str, "best_score"));
    freeReplyObject (q);
    order->attempt = 1;
    snprintf (oid, sizeof oid, "%s.1", wo);
    aspw_msg_t *cmd = s_cmd (ASPW_ACCEPT, wo, oid, 1);
    txn = rt_store_command (self, cmd, "P2", order);
    assert (s_run (rds, &txn, &v) == ASP_TXN_REJECT && streq (v.why, "not_yours"));
    //  The offer lapses: withdrawn, P1 excluded; a late ACCEPT is expired.
    txn = rt_store_withdraw (self, order, "P1", 1, "timeout", true);
    assert (s_run (rds, &txn, &v) == ASP_TXN_OK && v.found && v.state == ASP_WO_PENDING);
    txn = rt_store_command (self, cmd, "P1", order);
    assert (s_run (rds, &txn, &v) == ASP_TXN_REJECT && streq (v.why, "offer_expired"));
    txn = rt_store_withdraw (self, order, "P1", 1, "timeout", true);
    assert (s_run (rds, &txn, &v) == ASP_TXN_STALE);
    //  Offer 2 to P2: declined (twice: the second is a duplicate).
    txn = rt_store_offer (self, order, "P2", &why);
    assert (s_run (rds, &txn, &v) == ASP_TXN_OK && v.attempt == 2);
    order->attempt = 2;
    snprintf (oid, sizeof oid, "%s.2", wo);
    aspw_msg_t *decline = s_cmd (ASPW_DECLINE, wo, oid, 2);
    txn = rt_store_command (self, decline, "P2", order);
    assert (s_run (rds, &txn, &v) == ASP_TXN_OK && v.found && v.state == ASP_WO_PENDING);
    txn = rt_store_command (self, decline, "P2", order);
    assert (s_run (rds, &txn, &v) == ASP_TXN_DUP);
    //  A stale expected attempt changes nothing.
    order->attempt = 1;
    txn = rt_store_offer (self, order, "P3", &why);
    assert (s_run (rds, &txn, &v) == ASP_TXN_STALE);
    order->attempt = 2;
    txn = rt_store_offer (self, order, "P3", &why);
    assert (s_run (rds, &txn, &v) == ASP_TXN_OK && v.attempt == 3);
    snprintf (cmd->offer_id, sizeof cmd->offer_id, "%s.3", wo);
    cmd->attempt = 3;
    aspw_msg_t *progress = s_cmd (ASPW_PROGRESS, wo, "", 0);
    txn = rt_work_command (work, progress, "P3", order);
    assert (s_run (rds, &txn, &v) == ASP_TXN_REJECT && streq (v.why, "not_accepted"));
    txn = rt_store_command (self, cmd, "P3", order);
    assert (s_run (rds, &txn, &v) == ASP_TXN_OK && v.found && v.state == ASP_WO_ASSIGNED);
    txn = rt_store_command (self, cmd, "P3", order);
    assert (s_run (rds, &txn, &v) == ASP_TXN_DUP);
    txn = rt_store_command (self, decline, "P3", order);
    assert (s_run (rds, &txn, &v) == ASP_TXN_REJECT && streq (v.why, "offer_expired"));
    txn = rt_work_command (work, progress, "P3", order);
    assert (s_run (rds, &txn, &v) == ASP_TXN_OK && v.seq == 1);
    txn = rt_work_command (work, progress, "P3", order);
    assert (s_run (rds, &txn, &v) == ASP_TXN_DUP);

    //  The open set is loaded back with its assignment.
    rt_registry_t *registry = rt_registry_new ();
    rt_orders_t *orders = rt_orders_new ();
    size_t loaded;
    assert (rt_store_load (self, orders, registry, &loaded) == 0 && loaded >= 1);
    rt_order_t *back = rt_orders_lookup (orders, wo);
    assert (back && back->state == ASP_WO_ASSIGNED && back->attempt == 3 && back->seq == 1);
    assert (streq (back->partner->id, "P3") && rt_order_excluded (back, "P1") && rt_order_excluded (back, "P2"));
    assert (back->refusals == 2 && rt_registry_partner (registry, "P1", false)->score == 850);
    assert (rt_registry_partner (registry, "P1", false)->removed
        &&  rt_registry_partner (registry, "P1", false)->removed_version == 3);
    assert (rt_registry_partner (registry, "P2", false)->removed);
    assert (rt_partner_free (rt_registry_partner (registry, "P1", false)) == 0);
    txn = rt_store_unroutable (self, back, ASP_UNROUTABLE_REFUSALS);
    assert (s_run (rds, &txn, &v) == ASP_TXN_DUP);            //  once, whatever its state since
    rt_orders_destroy (&orders);
    rt_registry_destroy (&registry);

    aspw_msg_t *complete = s_cmd (ASPW_COMPLETE, wo, "", 0);
    txn = rt_work_command (work, complete, "P1", order);
    assert (s_run (rds, &txn, &v) == ASP_TXN_REJECT && streq (v.why, "not_yours"));
    txn = rt_work_command (work, complete, "P3", order);
    assert (s_run (rds, &txn, &v) == ASP_TXN_OK && v.found && v.state == ASP_WO_COMPLETED);
    txn = rt_work_command (work, complete, "P3", order);
    assert (s_run (rds, &txn, &v) == ASP_TXN_DUP);
    aspw_msg_t *unknown = s_cmd (ASPW_COMPLETE, "WTnope", "", 0);
    txn = rt_work_command (work, unknown, "P3", NULL);
    assert (s_run (rds, &txn, &v) == ASP_TXN_REJECT && streq (v.why, "unknown_work_order") && !v.found);

    unsigned shard = rt_wo_shard (wo);
    redisReply *r = asp_rds_cmd (rds, "ZSCORE {s%u}:rt:open %s", shard, wo);
    assert (r && r->type == REDIS_REPLY_NIL);
    freeReplyObject (r);

    //  Re-dispatch: generation 2 of the same ticket, in the same shard,
    //  pending; the completed first one stays completed. Cancelling the
    //  ticket then cancels generation 2, once; an ACCEPT of it is refused.
    char wo2 [RT_WO_ID_MAX], mid2 [ASP_ID_MAX], mid3 [ASP_ID_MAX];
    assert (asp_wo_id (ticket, 2, wo2, sizeof wo2) == 0 && rt_wo_shard (wo2) == shard);
    asp_id_new (mid2, "m");
    asp_id_new (mid3, "m");
    txn = rt_store_redispatch (self, wo2, wo, ticket, "tr", &t, mid2);
    assert (s_run (rds, &txn, &v) == ASP_TXN_OK && v.found && v.state == ASP_WO_PENDING);
    txn = rt_store_redispatch (self, wo2, wo, ticket, "tr", &t, mid2);
    assert (s_run (rds, &txn, &v) == ASP_TXN_DUP);
    txn = rt_work_command (work, complete, "P3", order);
    assert (s_run (rds, &txn, &v) == ASP_TXN_DUP && v.state == ASP_WO_COMPLETED);
    rt_order_t *order2 = rt_order_new (wo2, ticket, "tr", ASP_KIND_REPAIR, ASP_TIER_STANDARD, "heater", "sh", "", 3);
    txn = rt_store_offer (self, order2, "P1", &why);
    assert (s_run (rds, &txn, &v) == ASP_TXN_OK && v.state == ASP_WO_OFFERED);
    txn = rt_store_cancel (self, wo2, mid3);
    assert (s_run (rds, &txn, &v) == ASP_TXN_OK && v.found && v.state == ASP_WO_CANCELLED);
    txn = rt_store_cancel (self, wo2, mid3);
    assert (s_run (rds, &txn, &v) == ASP_TXN_DUP);
    aspw_msg_t *accept2 = s_cmd (ASPW_ACCEPT, wo2, "", 1);
    snprintf (accept2->offer_id, sizeof accept2->offer_id, "%s.1", wo2);
    txn = rt_store_command (self, accept2, "P1", order2);
    assert (s_run (rds, &txn, &v) == ASP_TXN_REJECT && streq (v.why, "offer_expired"));
    r = asp_rds_cmd (rds, "ZSCORE {s%u}:rt:open %s", shard, wo2);
    assert (r && r->type == REDIS_REPLY_NIL);
    freeReplyObject (r);
    //  A cancel that overtook ticket.created leaves a tombstone: the late
    //  creation is stale.
    char wo3 [RT_WO_ID_MAX], mid4 [ASP_ID_MAX];
    assert (asp_wo_id (ticket, 3, wo3, sizeof wo3) == 0);
    asp_id_new (mid4, "m");
    txn = rt_store_cancel (self, wo3, mid4);
    assert (s_run (rds, &txn, &v) == ASP_TXN_OK && v.state == ASP_WO_CANCELLED);
    asp_id_new (mid4, "m");
    txn = rt_store_create (self, wo3, ticket, "tr", &t, mid4);
    assert (s_run (rds, &txn, &v) == ASP_TXN_STALE && v.state == ASP_WO_CANCELLED);
    r = asp_rds_cmd (rds, "DEL {s%u}:rt:wo:%s {s%u}:rt:wo:%s", shard, wo2, shard, wo3);
    freeReplyObject (r);
    aspw_msg_destroy (&accept2);
    rt_order_destroy (&order2);

    r = asp_rds_cmd (rds, "HDEL {s%u}:rt:scores P1", asp_shard_of ("P1"));
    freeReplyObject (r);
    r = asp_rds_cmd (rds, "HDEL {s%u}:rt:removed P1", asp_shard_of ("P1"));
    freeReplyObject (r);
    r = asp_rds_cmd (rds, "HDEL {s%u}:rt:removed P2", asp_shard_of ("P2"));
    freeReplyObject (r);
    r = asp_rds_cmd (rds, "DEL {s%u}:rt:wo:%s {s%u}:ob:routing:intake {s%u}:ob:routing:sla "
                          "{s%u}:ob:routing:notification {s%u}:ob:routing:feedback {s%u}:in:routing:%s",
                     shard, wo, shard, shard, shard, shard, shard, mid);
    freeReplyObject (r);
    aspw_msg_destroy (&cmd);
    aspw_msg_destroy (&decline);
    aspw_msg_destroy (&progress);
    aspw_msg_destroy (&complete);
    aspw_msg_destroy (&unknown);
    rt_order_destroy (&order);
    rt_work_destroy (&work);
    asp_metrics_destroy (&metrics);
    rt_store_destroy (&self);
    asp_rds_destroy (&rds);
    printf ("OK\n");
}
