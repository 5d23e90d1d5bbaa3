#include "asp_outbox.h"
#include "asp_config.h"
#include "asp_id.h"
#include "asp_log.h"
#include <assert.h>
#include <stdatomic.h>

extern const char asp_lua_outbox_dead [];

typedef struct s_entry_t {
    struct s_entry_t *prev, *next;  //  in its destination's resend queue
    asp_svc_id_t dst;
    unsigned shard;                 //  of the outbox hash that holds it
    char key [ASP_ID_MAX + 4];      //  "<dst>:<id>"
    const char *id;                 //  points into key
    char *data;
    size_t size;
    int64_t due;                    //  monotonic ms of the next resend
    uint32_t tries;
} s_entry_t;

typedef struct {
    zsock_t *dealer;
    s_entry_t *head, *tail;         //  ordered by due (constant interval)
    bool recovered;
    zlistx_t *forget [ASP_SHARDS];  //  acknowledged ids still to HDEL, per shard
    zlistx_t *dead;                 //  refused messages still to move (s_dead_letter)
} s_peer_t;

struct asp_outbox_t {
    asp_svc_id_t self;
    asp_rds_t *rds;
    s_peer_t peers [ASP_SVC_COUNT];
    zhashx_t *entries;              //  key -> s_entry_t
    zsock_t *inproc;                //  PULL from other threads
    char inproc_ep [64];
    zloop_t *loop;
    int resend_ms;
    int resend_batch;
    atomic_size_t pending;
    uint64_t lost_seen;             //  asp_txn_lost_total at the last (re)scan
    asp_script_t *dead_script;
    uint64_t sent, resent, acked, dead;
};

static zlistx_t *
s_strlist (void)
{
    zlistx_t *list = zlistx_new ();
    assert (list);
    zlistx_set_duplicator (list, (zlistx_duplicator_fn *) strdup);
    zlistx_set_destructor (list, (zlistx_destructor_fn *) zstr_free);
    return list;
}

static void
s_entry_destroy (void **item)
{
    s_entry_t *e = (s_entry_t *) *item;
    if (e) {
        free (e->data);
        free (e);
        *item = NULL;
    }
}

static void
s_unlink (s_peer_t *p, s_entry_t *e)
{
    if (e->prev) e->prev->next = e->next; else p->head = e->next;
    if (e->next) e->next->prev = e->prev; else p->tail = e->prev;
    e->prev = e->next = NULL;
}

static void
s_append (s_peer_t *p, s_entry_t *e)
{
    e->prev = p->tail;
    e->next = NULL;
    if (p->tail) p->tail->next = e; else p->head = e;
    p->tail = e;
}

asp_outbox_t *
asp_outbox_new (asp_svc_id_t self_svc, asp_rds_t *rds, asp_curve_t *curve)
{
    asp_outbox_t *self = (asp_outbox_t *) calloc (1, sizeof *self);
    assert (self);
    self->self = self_svc;
    self->rds = rds;
    self->resend_ms = (int) asp_cfg_int ("ASP_RESEND_MS", 1000, 10, 600000);
    self->resend_batch = (int) asp_cfg_int ("ASP_RESEND_BATCH", 2000, 1, 1000000);
    self->dead_script = asp_rds_script (rds, "outbox_dead", asp_lua_outbox_dead);
    self->lost_seen = asp_txn_lost_total ();
    self->entries = zhashx_new ();
    zhashx_set_destructor (self->entries, s_entry_destroy);
    for (int d = 0; d < ASP_SVC_COUNT; d++) {
        if (d == (int) self_svc)
            continue;
        const char *ep = asp_cfg_str (asp_svc_bus_var ((asp_svc_id_t) d), asp_svc_bus_default ((asp_svc_id_t) d));
        zsock_t *s = zsock_new (ZMQ_DEALER);
        assert (s);
        zsock_set_immediate (s, 1);
        zsock_set_sndhwm (s, 100000);
        zsock_set_rcvhwm (s, 100000);
        zsock_set_linger (s, 0);        //  everything unacked is in Redis
        zsock_set_maxmsgsize (s, 1024 * 1024);
        zsock_set_reconnect_ivl (s, 100);
        zsock_set_reconnect_ivl_max (s, 1000);
        asp_curve_bus_client (curve, s, (asp_svc_id_t) d);
        if (zsock_connect (s, "%s", ep)) {
            asp_log_error ("outbox: cannot connect to %s at %s", asp_svc_name ((asp_svc_id_t) d), ep);
            exit (2);
        }
        self->peers [d].dealer = s;
        for (int n = 0; n < ASP_SHARDS; n++)
            self->peers [d].forget [n] = s_strlist ();
        self->peers [d].dead = s_strlist ();
    }
    snprintf (self->inproc_ep, sizeof self->inproc_ep, "inproc://outbox-%p", (void *) self);
    self->inproc = zsock_new_pull (self->inproc_ep);
    assert (self->inproc);
    zsock_set_rcvhwm (self->inproc, 0);    //  bounded upstream by ASP_OUTBOX_MAX
    return self;
}

void
asp_outbox_destroy (asp_outbox_t **self_p)
{
    asp_outbox_t *self = *self_p;
    if (!self)
        return;
    if (self->loop) {
        for (int d = 0; d < ASP_SVC_COUNT; d++)
            if (self->peers [d].dealer)
                zloop_reader_end (self->loop, self->peers [d].dealer);
        zloop_reader_end (self->loop, self->inproc);
    }
    for (int d = 0; d < ASP_SVC_COUNT; d++) {
        zsock_destroy (&self->peers [d].dealer);
        for (int n = 0; n < ASP_SHARDS; n++)
            zlistx_destroy (&self->peers [d].forget [n]);
        zlistx_destroy (&self->peers [d].dead);
    }
    zsock_destroy (&self->inproc);
    zhashx_destroy (&self->entries);
    free (self);
    *self_p = NULL;
}

static void
s_send (asp_outbox_t *self, s_entry_t *e, int64_t now)
{
    s_peer_t *p = &self->peers [e->dst];
    //  Moved to the tail even when the send fails: it is retried after
    //  resend_ms, like a send whose ACK never came.
    s_unlink (p, e);
    e->due = now + self->resend_ms;
    s_append (p, e);
    zmq_msg_t m;
    zmq_msg_init_size (&m, e->size);
    memcpy (zmq_msg_data (&m), e->data, e->size);
    if (zmq_msg_send (&m, zsock_resolve (p->dealer), ZMQ_DONTWAIT) == -1) {
        zmq_msg_close (&m);
        return;
    }
    if (e->tries++)
        self->resent++;
    else
        self->sent++;
}

static void
s_track (asp_outbox_t *self, asp_svc_id_t dst, unsigned shard, const char *id, const char *data,
         size_t size, bool send_now)
{
    if (dst == self->self || !self->peers [dst].dealer)
        return;
    char key [ASP_ID_MAX + 4];
    snprintf (key, sizeof key, "%d:%s", (int) dst, id);
    if (zhashx_lookup (self->entries, key))
        return;                     //  already tracked (recovered and handed over)
    s_entry_t *e = (s_entry_t *) calloc (1, sizeof *e);
    assert (e);
    e->dst = dst;
    e->shard = shard;
    snprintf (e->key, sizeof e->key, "%s", key);
    e->id = strchr (e->key, ':') + 1;
    e->data = (char *) malloc (size? size: 1);
    assert (e->data);
    memcpy (e->data, data, size);
    e->size = size;
    zhashx_insert (self->entries, key, e);
    s_append (&self->peers [dst], e);
    atomic_fetch_add (&self->pending, 1);
    if (send_now)
        s_send (self, e, asp_mono_ms ());
    else
        e->due = 0;                 //  recovered: due at the next tick
}

void
asp_outbox_add (asp_outbox_t *self, asp_svc_id_t dst, unsigned shard, const char *id,
                const char *data, size_t size)
{
    assert (shard < ASP_SHARDS);
    s_track (self, dst, shard, id, data, size, true);
}

void
asp_outbox_add_txn (asp_outbox_t *self, asp_txn_t *txn)
{
    if (!asp_txn_emitted (txn))
        return;
    for (size_t i = 0; i < asp_txn_out_count (txn); i++) {
        asp_svc_id_t dst; const char *id, *data; size_t size;
        asp_txn_out (txn, i, &dst, &id, &data, &size);
        asp_outbox_add (self, dst, asp_txn_shard (txn), id, data, size);
    }
}

size_t
asp_outbox_pending (asp_outbox_t *self)
{
    return atomic_load (&self->pending);
}

//  Forgets an acknowledged entry; returns its shard, or -1 when it was
//  not tracked.
static int
s_forget (asp_outbox_t *self, asp_svc_id_t dst, const char *id, size_t idlen)
{
    char key [ASP_ID_MAX + 4];
    if (idlen >= ASP_ID_MAX || memchr (id, 0, idlen))
        return -1;
    snprintf (key, sizeof key, "%d:%.*s", (int) dst, (int) idlen, id);
    s_entry_t *e = (s_entry_t *) zhashx_lookup (self->entries, key);
    if (!e)
        return -1;
    int shard = (int) e->shard;
    s_unlink (&self->peers [dst], e);
    zhashx_delete (self->entries, key);
    atomic_fetch_sub (&self->pending, 1);
    return shard;
}

//  A refused message leaves memory now (it must not be resent) and is
//  queued to move, in Redis, from the outbox to the dead letters; the
//  move is retried until Redis confirms it, so a Redis outage cannot
//  drop it from the outbox without a dead letter.
static void
s_dead_letter (asp_outbox_t *self, asp_svc_id_t dst, const char *id, size_t idlen,
               const char *reason, size_t rlen)
{
    char idbuf [ASP_ID_MAX];
    snprintf (idbuf, sizeof idbuf, "%.*s", (int) (idlen < ASP_ID_MAX? idlen: 0), id);
    char why [256];
    snprintf (why, sizeof why, "%.*s", (int) (rlen < 255? rlen: 255), reason);
    int shard = s_forget (self, dst, id, idlen);
    if (shard < 0)
        return;                     //  not ours (or already settled)
    asp_log_kv (ASP_LOG_ERROR, "message refused by receiver; moving it to the dead letters",
                "to", asp_svc_name (dst), "id", idbuf, "reason", why, NULL);
    char *item = NULL;
    //  "<shard>\n<id>\n<reason>": ids never hold a newline.
    int n = asprintf (&item, "%d\n%s\n%s", shard, idbuf, why);
    assert (n > 0 && item);
    zlistx_add_end (self->peers [dst].dead, item);
    zstr_free (&item);
    self->dead++;
}

//  Moves refused messages to the dead letters, one script each.
static void
s_flush_dead (asp_outbox_t *self, int dst)
{
    zlistx_t *list = self->peers [dst].dead;
    const char *me = asp_svc_name (self->self), *to = asp_svc_name ((asp_svc_id_t) dst);
    for (char *item = (char *) zlistx_first (list); item; item = (char *) zlistx_first (list)) {
        char *id = strchr (item, '\n') + 1;
        char *why = strchr (id, '\n');
        asp_txn_t *txn = asp_txn_new (self->dead_script, (unsigned) atoi (item));
        asp_txn_key (txn, "ob:%s:%s", me, to);
        asp_txn_key (txn, "dl:%s:%s", me, to);
        asp_txn_key (txn, "dlr:%s:%s", me, to);
        asp_txn_arg (txn, "%.*s", (int) (why - id), id);
        asp_txn_arg (txn, "%s", why + 1);
        asp_txn_exec (self->rds, self->self, &txn, 1);
        bool done = asp_txn_known (txn);
        asp_txn_destroy (&txn);
        if (!done)
            return;                 //  Redis away: the tick tries again
        char *gone = (char *) zlistx_detach (list, NULL);
        zstr_free (&gone);
    }
}

//  Deletes acknowledged ids from the Redis outbox, 1000 per HDEL. An id
//  stays on the list until Redis confirms, so a Redis outage does not leave
//  acknowledged messages in the hash (to be resent after a restart).
static void
s_flush_forget (asp_outbox_t *self, int dst)
{
    for (int n = 0; n < ASP_SHARDS; n++) {
        zlistx_t *list = self->peers [dst].forget [n];
        char key [64];
        asp_key_fmt (key, sizeof key, (unsigned) n, "ob:%s:%s", asp_svc_name (self->self),
                     asp_svc_name ((asp_svc_id_t) dst));
        while (zlistx_size (list)) {
            const char *argv [1002];
            size_t lens [1002];
            int argc = 2;
            argv [0] = "HDEL"; lens [0] = 4;
            argv [1] = key; lens [1] = strlen (key);
            for (char *id = (char *) zlistx_first (list); id && argc < 1002; id = (char *) zlistx_next (list)) {
                argv [argc] = id;
                lens [argc++] = strlen (id);
            }
            redisReply *r = asp_rds_cmdv (self->rds, argc, argv, lens);
            bool done = r && r->type == REDIS_REPLY_INTEGER;
            if (r)
                freeReplyObject (r);
            if (!done)
                return;             //  Redis away: the tick tries again
            for (int i = 2; i < argc; i++) {
                char *done_id = (char *) zlistx_detach (list, NULL);     //  the first
                zstr_free (&done_id);
            }
        }
    }
}

static void
s_forget_later (asp_outbox_t *self, int dst, int shard, const char *id, size_t idlen)
{
    char buf [ASP_ID_MAX];
    snprintf (buf, sizeof buf, "%.*s", (int) idlen, id);
    zlistx_add_end (self->peers [dst].forget [shard], buf);
}

//  Reads ACK / NAK replies from one destination, then deletes the
//  acknowledged ids from Redis.
static int
s_on_reply (zloop_t *loop, zsock_t *reader, void *arg)
{
    (void) loop;
    asp_outbox_t *self = (asp_outbox_t *) arg;
    int dst = 0;
    while (dst < ASP_SVC_COUNT && self->peers [dst].dealer != reader)
        dst++;
    assert (dst < ASP_SVC_COUNT);
    for (int n = 0; n < 64 && (zsock_events (reader) & ZMQ_POLLIN); n++) {
        zmsg_t *msg = zmsg_recv (reader);
        if (!msg)
            break;
        zframe_t *cmd = zmsg_first (msg);
        if (zframe_streq (cmd, "ACK")) {
            for (zframe_t *f = zmsg_next (msg); f; f = zmsg_next (msg)) {
                int shard = s_forget (self, (asp_svc_id_t) dst, (const char *) zframe_data (f), zframe_size (f));
                if (shard >= 0) {
                    s_forget_later (self, dst, shard, (const char *) zframe_data (f), zframe_size (f));
                    self->acked++;
                }
            }
        }
        else
        if (zframe_streq (cmd, "NAK") && zmsg_size (msg) == 3) {
            zframe_t *id = zmsg_next (msg);
            zframe_t *why = zmsg_next (msg);
            s_dead_letter (self, (asp_svc_id_t) dst, (const char *) zframe_data (id), zframe_size (id),
                           (const char *) zframe_data (why), zframe_size (why));
        }
        else
            asp_log_warn ("outbox: unexpected reply from %s", asp_svc_name ((asp_svc_id_t) dst));
        zmsg_destroy (&msg);
    }
    s_flush_forget (self, dst);
    s_flush_dead (self, dst);
    return 0;
}

static int
s_on_inproc (zloop_t *loop, zsock_t *reader, void *arg)
{
    (void) loop;
    asp_outbox_t *self = (asp_outbox_t *) arg;
    for (int n = 0; n < 1000 && (zsock_events (reader) & ZMQ_POLLIN); n++) {
        zmsg_t *msg = zmsg_recv (reader);
        if (!msg)
            break;
        //  [dst+shard, id, data] triples, as many as the remote packed.
        while (zmsg_size (msg) >= 3) {
            zframe_t *dst = zmsg_pop (msg);
            zframe_t *id = zmsg_pop (msg);
            zframe_t *data = zmsg_pop (msg);
            char idbuf [ASP_ID_MAX];
            snprintf (idbuf, sizeof idbuf, "%.*s", (int) zframe_size (id), (const char *) zframe_data (id));
            asp_outbox_add (self, (asp_svc_id_t) zframe_data (dst) [0], zframe_data (dst) [1], idbuf,
                            (const char *) zframe_data (data), zframe_size (data));
            zframe_destroy (&dst);
            zframe_destroy (&id);
            zframe_destroy (&data);
        }
        zmsg_destroy (&msg);
    }
    return 0;
}

//  Reads one outbox hash (one destination, one shard); 0 or -1.
static int
s_recover_shard (asp_outbox_t *self, int dst, unsigned shard)
{
    char key [64];
    asp_key_fmt (key, sizeof key, shard, "ob:%s:%s", asp_svc_name (self->self), asp_svc_name ((asp_svc_id_t) dst));
    char cursor [32] = "0";
    do {
        redisReply *r = asp_rds_cmd (self->rds, "HSCAN %s %s COUNT 1000", key, cursor);
        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
            if (r)
                freeReplyObject (r);
            return -1;
        }
        snprintf (cursor, sizeof cursor, "%s", r->element [0]->str);
        redisReply *kv = r->element [1];
        for (size_t i = 0; i + 1 < kv->elements; i += 2)
            s_track (self, (asp_svc_id_t) dst, shard, kv->element [i]->str, kv->element [i + 1]->str,
                     kv->element [i + 1]->len, false);
        freeReplyObject (r);
    } while (strcmp (cursor, "0") != 0);
    return 0;
}

int
asp_outbox_recover (asp_outbox_t *self)
{
    //  A transaction whose reply was lost may have committed messages that
    //  no one holds in memory: read the outbox hashes again.
    uint64_t lost = asp_txn_lost_total ();
    if (lost != self->lost_seen) {
        self->lost_seen = lost;
        for (int d = 0; d < ASP_SVC_COUNT; d++)
            self->peers [d].recovered = false;
    }
    int rc = 0;
    for (int d = 0; d < ASP_SVC_COUNT; d++) {
        s_peer_t *p = &self->peers [d];
        if (!p->dealer || p->recovered)
            continue;
        size_t before = zhashx_size (self->entries);
        int peer_rc = 0;
        for (unsigned n = 0; n < ASP_SHARDS && peer_rc == 0; n++)
            peer_rc = s_recover_shard (self, d, n);
        if (peer_rc == 0) {
            p->recovered = true;
            if (zhashx_size (self->entries) > before)
                asp_log_info ("outbox: recovered %zu unacknowledged messages for %s",
                              zhashx_size (self->entries) - before, asp_svc_name ((asp_svc_id_t) d));
        }
        else
            rc = -1;
    }
    return rc;
}

static int
s_on_tick (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop; (void) timer_id;
    asp_outbox_t *self = (asp_outbox_t *) arg;
    asp_outbox_recover (self);      //  no-op once done
    int64_t now = asp_mono_ms ();
    for (int d = 0; d < ASP_SVC_COUNT; d++) {
        s_peer_t *p = &self->peers [d];
        if (!p->dealer)
            continue;
        s_flush_forget (self, d);
        s_flush_dead (self, d);
        int budget = self->resend_batch;
        while (p->head && p->head->due <= now && budget-- > 0) {
            s_entry_t *e = p->head;
            uint32_t before = e->tries;
            s_send (self, e, now);
            if (e->tries == before)
                break;              //  peer not connected or full: next tick
        }
    }
    return 0;
}

int
asp_outbox_attach (asp_outbox_t *self, zloop_t *loop)
{
    self->loop = loop;
    for (int d = 0; d < ASP_SVC_COUNT; d++)
        if (self->peers [d].dealer)
            zloop_reader (loop, self->peers [d].dealer, s_on_reply, self);
    zloop_reader (loop, self->inproc, s_on_inproc, self);
    int tick = self->resend_ms / 4;
    zloop_timer (loop, (size_t) (tick < 10? 10: tick > 250? 250: tick), 0, s_on_tick, self);
    return 0;
}

uint64_t asp_outbox_sent (asp_outbox_t *self) { return self->sent; }
uint64_t asp_outbox_resent (asp_outbox_t *self) { return self->resent; }
uint64_t asp_outbox_acked (asp_outbox_t *self) { return self->acked; }
uint64_t asp_outbox_dead (asp_outbox_t *self) { return self->dead; }

struct asp_outbox_remote_t {
    zsock_t *push;
};

asp_outbox_remote_t *
asp_outbox_remote_new (asp_outbox_t *outbox)
{
    asp_outbox_remote_t *self = (asp_outbox_remote_t *) calloc (1, sizeof *self);
    assert (self);
    self->push = zsock_new_push (outbox->inproc_ep);
    assert (self->push);
    zsock_set_sndhwm (self->push, 0);
    return self;
}

void
asp_outbox_remote_destroy (asp_outbox_remote_t **self_p)
{
    if (*self_p) {
        zsock_destroy (&(*self_p)->push);
        free (*self_p);
        *self_p = NULL;
    }
}

void
asp_outbox_remote_add_txn (asp_outbox_remote_t *self, asp_txn_t *txn)
{
    if (!asp_txn_emitted (txn) || asp_txn_out_count (txn) == 0)
        return;
    zmsg_t *msg = zmsg_new ();
    for (size_t i = 0; i < asp_txn_out_count (txn); i++) {
        asp_svc_id_t dst; const char *id, *data; size_t size;
        asp_txn_out (txn, i, &dst, &id, &data, &size);
        uint8_t d [2] = { (uint8_t) dst, (uint8_t) asp_txn_shard (txn) };
        zmsg_addmem (msg, d, 2);
        zmsg_addstr (msg, id);
        zmsg_addmem (msg, data, size);
    }
    //  inproc with no HWM: this only fails if the outbox is gone, and then
    //  the messages are in Redis and recovered at the next start.
    if (zmsg_send (&msg, self->push))
        zmsg_destroy (&msg);
}

//  --------------------------------------------------------------------------
//  Self-test: the queue logic, then a real outbox on a real Redis sending
//  to real ROUTERs (asp_probe), its loop pumped by this thread.

#include "asp_probe.h"
#include "asp_selftest.h"
#include <pthread.h>

static const char s_test_lua [] = "if seen() then return dup() end\nreturn ok()\n";

static int
s_test_end (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop; (void) timer_id; (void) arg;
    return -1;
}

//  Runs the loop for ms milliseconds.
static void
s_test_pump (zloop_t *loop, int ms)
{
    zloop_timer (loop, (size_t) ms, 1, s_test_end, NULL);
    zloop_start (loop);
}

//  Runs the loop in short slices until cond holds (at most 2 s): a slow
//  build (TSan, valgrind) needs longer than a fixed pause would give.
#define S_PUMP_UNTIL(loop, cond) \
    do { for (int i_ = 0; i_ < 100 && !(cond); i_++) s_test_pump ((loop), 20); } while (0)

//  Commits one message for feedback with script (registered on rds before
//  it connected), as a service does.
static asp_txn_t *
s_test_commit (asp_rds_t *rds, asp_script_t *script, const char *ticket)
{
    asp_txn_t *txn = asp_txn_new (script, asp_shard_of (ticket));
    asp_msg_t *msg = asp_msg_new (ASP_EV_WO_COMPLETED, ticket, NULL);
    asp_txn_inbox (txn, msg->id);
    asp_txn_send (txn, ASP_SVC_FEEDBACK, &msg);
    assert (asp_txn_exec (rds, ASP_SVC_ROUTING, &txn, 1) == 0 && asp_txn_outcome (txn) == ASP_TXN_OK);
    return txn;
}

//  Another thread commits with its own Redis connection and hands the
//  message over through a remote (as intake's HTTP threads do).
static void *
s_test_remote (void *arg)
{
    asp_outbox_remote_t *remote = asp_outbox_remote_new ((asp_outbox_t *) arg);
    asp_rds_t *rds = asp_rds_new ();
    asp_script_t *script = asp_rds_script (rds, "outbox_test", s_test_lua);
    asp_txn_t *txn = s_test_commit (rds, script, "TR");
    asp_outbox_remote_add_txn (remote, txn);
    asp_txn_destroy (&txn);
    asp_rds_destroy (&rds);
    asp_outbox_remote_destroy (&remote);
    return NULL;
}

//  The next message feedback's ROUTER got: its id into id, its sender into *who.
static void
s_test_recv (asp_probe_t *probe, char *id, zframe_t **who)
{
    asp_envelope_t *env = asp_probe_recv (probe, ASP_SVC_FEEDBACK, who, 2000);
    assert (env);
    snprintf (id, ASP_ID_MAX, "%s", env->id);
    asp_envelope_destroy (&env);
}

static void
s_test_live (void)
{
    asp_selftest_need_redis ("asp_outbox_test");
    asp_txn_init ();
    setenv ("ASP_RESEND_MS", "100", 1);
    asp_probe_t *probe = asp_probe_new (ASP_SVC_ROUTING);
    asp_rds_t *rds = asp_rds_new ();
    asp_script_t *script = asp_rds_script (rds, "outbox_test", s_test_lua);
    asp_curve_t *curve = asp_curve_new (ASP_SVC_ROUTING);    //  insecure: see asp_probe
    asp_outbox_t *self = asp_outbox_new (ASP_SVC_ROUTING, rds, curve);
    zloop_t *loop = zloop_new ();
    asp_outbox_attach (self, loop);
    assert (asp_outbox_recover (self) == 0);
    s_test_pump (loop, 200);                //  connect

    //  Committed, sent, acknowledged: deleted from Redis.
    asp_txn_t *txn = s_test_commit (rds, script, "T1");
    asp_outbox_add_txn (self, txn);
    asp_txn_destroy (&txn);
    assert (asp_outbox_pending (self) == 1 && asp_probe_outbox_len (probe, ASP_SVC_FEEDBACK) == 1);
    char id [ASP_ID_MAX], again [ASP_ID_MAX];
    zframe_t *who;
    s_test_recv (probe, id, &who);
    asp_probe_reply (probe, ASP_SVC_FEEDBACK, who, "ACK", id, NULL);
    zframe_destroy (&who);
    S_PUMP_UNTIL (loop, asp_outbox_pending (self) == 0);
    assert (asp_outbox_pending (self) == 0 && asp_outbox_acked (self) == 1);
    assert (asp_probe_outbox_len (probe, ASP_SVC_FEEDBACK) == 0);

    //  From another thread; refused by the receiver: a dead letter. (First
    //  drop copies of T1 resent before its ACK landed: a slow build resends.)
    asp_probe_drain (probe, ASP_SVC_FEEDBACK, 50);
    pthread_t thread;
    assert (pthread_create (&thread, NULL, s_test_remote, self) == 0);
    pthread_join (thread, NULL);
    s_test_pump (loop, 100);
    s_test_recv (probe, id, &who);
    asp_probe_reply (probe, ASP_SVC_FEEDBACK, who, "NAK", id, "refused by the test");
    zframe_destroy (&who);
    S_PUMP_UNTIL (loop, asp_outbox_dead (self) == 1);
    assert (asp_outbox_pending (self) == 0 && asp_outbox_dead (self) == 1);
    assert (asp_probe_outbox_len (probe, ASP_SVC_FEEDBACK) == 0);
    assert (asp_probe_dead_len (probe, ASP_SVC_FEEDBACK) == 1);
    s_test_pump (loop, 300);
    asp_probe_drain (probe, ASP_SVC_FEEDBACK, 50);  //  resends of the refused one, if any

    //  Not acknowledged: sent again after ASP_RESEND_MS.
    txn = s_test_commit (rds, script, "T2");
    asp_outbox_add_txn (self, txn);
    asp_txn_destroy (&txn);
    s_test_recv (probe, id, NULL);
    s_test_pump (loop, 300);
    s_test_recv (probe, again, NULL);
    assert (streq (id, again) && asp_outbox_resent (self) >= 1);

    //  A restart: the new outbox finds it in Redis and sends it again.
    asp_outbox_destroy (&self);
    zloop_destroy (&loop);
    asp_probe_drain (probe, ASP_SVC_FEEDBACK, 100);
    self = asp_outbox_new (ASP_SVC_ROUTING, rds, curve);
    loop = zloop_new ();
    asp_outbox_attach (self, loop);
    assert (asp_outbox_recover (self) == 0 && asp_outbox_pending (self) == 1);
    s_test_pump (loop, 300);
    s_test_recv (probe, again, &who);
    assert (streq (id, again));
    asp_probe_reply (probe, ASP_SVC_FEEDBACK, who, "ACK", id, NULL);
    zframe_destroy (&who);
    S_PUMP_UNTIL (loop, asp_outbox_pending (self) == 0 && asp_probe_outbox_len (probe, ASP_SVC_FEEDBACK) == 0);
    assert (asp_outbox_pending (self) == 0 && asp_probe_outbox_len (probe, ASP_SVC_FEEDBACK) == 0);

    //  A reply lost after Redis applied the script (it comes after the
    //  client's timeout): the caller holds nothing to add, the inbound
    //  message would only be a dup when resent, and still the outbox
    //  finds the committed message, without a restart, and sends it.
    char lost_id [ASP_ID_MAX];
    asp_txn_test_lost (ASP_SVC_ROUTING, ASP_SVC_FEEDBACK, "T3", lost_id);
    assert (asp_outbox_pending (self) == 0);
    asp_probe_drain (probe, ASP_SVC_FEEDBACK, 50);      //  late resends of T2
    S_PUMP_UNTIL (loop, asp_outbox_pending (self) == 1);    //  a tick rereads
    s_test_recv (probe, again, &who);
    assert (streq (lost_id, again));
    asp_probe_reply (probe, ASP_SVC_FEEDBACK, who, "ACK", again, NULL);
    zframe_destroy (&who);
    S_PUMP_UNTIL (loop, asp_outbox_pending (self) == 0 && asp_probe_outbox_len (probe, ASP_SVC_FEEDBACK) == 0);
    assert (asp_outbox_pending (self) == 0 && asp_probe_outbox_len (probe, ASP_SVC_FEEDBACK) == 0);

    asp_outbox_destroy (&self);
    zloop_destroy (&loop);
    asp_curve_destroy (&curve);
    asp_rds_destroy (&rds);
    asp_probe_destroy (&probe);
}

void
asp_outbox_test (void)
{
    s_peer_t p = { 0 };
    s_entry_t a = { 0 }, b = { 0 }, c = { 0 };
    s_append (&p, &a);
    s_append (&p, &b);
    s_append (&p, &c);
    s_unlink (&p, &b);
    assert (p.head == &a && a.next == &c && p.tail == &c && c.prev == &a);
    s_unlink (&p, &a);
    s_append (&p, &a);
    assert (p.head == &c && p.tail == &a);
    s_unlink (&p, &c);
    s_unlink (&p, &a);
    assert (!p.head && !p.tail);
    s_test_live ();
}
