#include "asp_probe.h"
#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

struct asp_probe_t {
    asp_svc_id_t svc;
    zsock_t *sender;                        //  DEALER to svc's inbox
    zsock_t *peers [ASP_SVC_COUNT];         //  ROUTERs: the other services
    asp_rds_t *rds;
    zmsg_t *last [ASP_SVC_COUNT];           //  holds what asp_probe_recv's envelope points into
    asp_svc_t *running;
    pthread_t thread;
};

asp_probe_t *
asp_probe_new (asp_svc_id_t svc)
{
    static atomic_int serial;
    asp_probe_t *self = (asp_probe_t *) calloc (1, sizeof *self);
    assert (self);
    self->svc = svc;
    zsys_init ();
    zsys_set_logstream (NULL);
    int n = atomic_fetch_add (&serial, 1);
    for (int d = 0; d < ASP_SVC_COUNT; d++) {
        char ep [128];
        snprintf (ep, sizeof ep, "ipc:///tmp/asp-probe-%d-%d-%s", (int) getpid (), n,
                  asp_svc_name ((asp_svc_id_t) d));
        setenv (asp_svc_bus_var ((asp_svc_id_t) d), ep, 1);
        if (d == (int) svc) {
            self->sender = zsock_new (ZMQ_DEALER);
            assert (self->sender && zsock_connect (self->sender, "%s", ep) == 0);
        }
        else {
            self->peers [d] = zsock_new (ZMQ_ROUTER);
            assert (self->peers [d] && zsock_bind (self->peers [d], "%s", ep) == 0);
        }
    }
    unsetenv ("ASP_BUS_BIND");
    //  Plain ZeroMQ on the bus: the probe is no service with a key. Bus
    //  authentication has its own tests (asp_curve_test, bus_auth_test).
    setenv ("ASP_BUS_INSECURE", "1", 1);
    self->rds = asp_rds_new ();
    return self;
}

void
asp_probe_destroy (asp_probe_t **self_p)
{
    asp_probe_t *self = *self_p;
    if (!self)
        return;
    asp_probe_stop (self);
    zsock_destroy (&self->sender);
    for (int d = 0; d < ASP_SVC_COUNT; d++) {
        zsock_destroy (&self->peers [d]);
        zmsg_destroy (&self->last [d]);
    }
    asp_rds_destroy (&self->rds);
    free (self);
    *self_p = NULL;
}

static void *
s_run (void *arg)
{
    asp_svc_run ((asp_svc_t *) arg);
    return NULL;
}

void
asp_probe_start (asp_probe_t *self, asp_svc_t *svc)
{
    assert (!self->running);
    self->running = svc;
    assert (pthread_create (&self->thread, NULL, s_run, svc) == 0);
}

void
asp_probe_stop (asp_probe_t *self)
{
    if (!self->running)
        return;
    asp_svc_stop (self->running);
    pthread_join (self->thread, NULL);
    self->running = NULL;
}

void
asp_probe_send (asp_probe_t *self, const void *data, size_t size)
{
    zframe_t *f = zframe_new (data, size);
    assert (zframe_send (&f, self->sender, 0) == 0);
}

void
asp_probe_send_msg (asp_probe_t *self, asp_msg_t *msg)
{
    char *data; size_t size;
    asp_msg_encode (msg, &data, &size);
    asp_probe_send (self, data, size);
    free (data);
}

//  Next message on sock within timeout_ms, or NULL.
static zmsg_t *
s_recv (zsock_t *sock, int timeout_ms)
{
    zpoller_t *poller = zpoller_new (sock, NULL);
    zmsg_t *msg = zpoller_wait (poller, timeout_ms)? zmsg_recv (sock): NULL;
    zpoller_destroy (&poller);
    return msg;
}

zmsg_t *
asp_probe_answer (asp_probe_t *self, int timeout_ms)
{
    return s_recv (self->sender, timeout_ms);
}

bool
asp_probe_expect (asp_probe_t *self, const char *verdict, const char *id, int timeout_ms)
{
    int64_t until = asp_mono_ms () + timeout_ms;
    while (asp_mono_ms () < until) {
        zmsg_t *msg = asp_probe_answer (self, (int) (until - asp_mono_ms ()));
        if (!msg)
            return false;
        bool found = false;
        if (zframe_streq (zmsg_first (msg), verdict))
            for (zframe_t *f = zmsg_next (msg); f && !found; f = zmsg_next (msg))
                found = zframe_streq (f, id);
        zmsg_destroy (&msg);
        if (found)
            return true;
    }
    return false;
}

asp_envelope_t *
asp_probe_recv (asp_probe_t *self, asp_svc_id_t peer, zframe_t **identity, int timeout_ms)
{
    assert (self->peers [peer]);
    zmsg_t *msg = s_recv (self->peers [peer], timeout_ms);
    if (!msg)
        return NULL;
    assert (zmsg_size (msg) == 2);
    zframe_t *who = zmsg_pop (msg);
    zframe_t *body = zmsg_first (msg);
    char err [160];
    asp_envelope_t *env = asp_envelope_decode (zframe_data (body), zframe_size (body), err, sizeof err);
    assert (env);
    if (identity)
        *identity = who;
    else
        zframe_destroy (&who);
    //  The envelope points into the frame: keep it until the next receive.
    zmsg_destroy (&self->last [peer]);
    self->last [peer] = msg;
    return env;
}

int
asp_probe_drain (asp_probe_t *self, asp_svc_id_t peer, int quiet_ms)
{
    int n = 0;
    asp_envelope_t *env;
    while ((env = asp_probe_recv (self, peer, NULL, quiet_ms))) {
        asp_envelope_destroy (&env);
        n++;
    }
    return n;
}

void
asp_probe_reply (asp_probe_t *self, asp_svc_id_t peer, zframe_t *identity,
                 const char *verdict, const char *id, const char *reason)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_addmem (msg, zframe_data (identity), zframe_size (identity));
    zmsg_addstr (msg, verdict);
    zmsg_addstr (msg, id);
    if (reason)
        zmsg_addstr (msg, reason);
    assert (zmsg_send (&msg, self->peers [peer]) == 0);
}

asp_rds_t *
asp_probe_rds (asp_probe_t *self)
{
    return self->rds;
}

//  The key names tests read (asp_keys.h's scheme): the only place a
//  self-test spells one. Sums the hashes of every shard.
static long long
s_hlen (asp_probe_t *self, const char *kind, asp_svc_id_t peer)
{
    long long n = 0;
    for (unsigned shard = 0; shard < ASP_SHARDS; shard++) {
        char key [ASP_KEY_MAX];
        asp_key_fmt (key, sizeof key, shard, "%s:%s:%s", kind, asp_svc_name (self->svc), asp_svc_name (peer));
        redisReply *r = asp_rds_cmd (self->rds, "HLEN %s", key);
        assert (r && r->type == REDIS_REPLY_INTEGER);
        n += r->integer;
        freeReplyObject (r);
    }
    return n;
}

long long
asp_probe_outbox_len (asp_probe_t *self, asp_svc_id_t peer)
{
    return s_hlen (self, "ob", peer);
}

long long
asp_probe_dead_len (asp_probe_t *self, asp_svc_id_t peer)
{
    return s_hlen (self, "dl", peer);
}
