#include "asp_txn.h"
#include "asp_config.h"
#include "asp_log.h"
#include <assert.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define streq(a, b) ((a) && strcmp ((a), (b)) == 0)

typedef struct {
    char *ptr;
    size_t len;
} s_buf_t;

typedef struct {
    asp_svc_id_t dst;
    char id [ASP_ID_MAX];
    char *data;
    size_t size;
} s_out_t;

struct asp_txn_t {
    asp_script_t *script;
    unsigned shard;
    char inbox_id [ASP_ID_MAX];
    s_buf_t *keys;
    size_t nkeys, keys_cap;
    s_buf_t *args;
    size_t nargs, args_cap;
    s_out_t *outs;
    size_t nouts, outs_cap;
    redisReply *reply;
    asp_txn_outcome_t outcome;
    void *user;
};

//  Written once by asp_txn_init before any thread starts, then only read.
static int64_t s_inbox_ttl_s;
static atomic_uint_fast64_t s_lost_total;

void
asp_txn_init (void)
{
    s_inbox_ttl_s = asp_cfg_int ("ASP_INBOX_TTL_S", 7 * 86400, 60, 365 * 86400);
}

asp_txn_t *
asp_txn_new (asp_script_t *script, unsigned shard)
{
    assert (shard < ASP_SHARDS);
    asp_txn_t *self = (asp_txn_t *) calloc (1, sizeof *self);
    assert (self);
    self->script = script;
    self->shard = shard;
    self->outcome = ASP_TXN_NEW;
    return self;
}

void
asp_txn_destroy (asp_txn_t **self_p)
{
    asp_txn_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->nkeys; i++)
        free (self->keys [i].ptr);
    for (size_t i = 0; i < self->nargs; i++)
        free (self->args [i].ptr);
    for (size_t i = 0; i < self->nouts; i++)
        free (self->outs [i].data);
    free (self->keys);
    free (self->args);
    free (self->outs);
    if (self->reply)
        freeReplyObject (self->reply);
    free (self);
    *self_p = NULL;
}

static void
s_push (s_buf_t **arr, size_t *n, size_t *cap, char *ptr, size_t len)
{
    if (*n == *cap) {
        *cap = *cap? *cap * 2: 8;
        *arr = (s_buf_t *) realloc (*arr, *cap * sizeof (s_buf_t));
        assert (*arr);
    }
    (*arr) [*n].ptr = ptr;
    (*arr) [*n].len = len;
    (*n)++;
}

static char *
s_vformat (const char *fmt, va_list ap, size_t *len)
{
    char *s = NULL;
    int n = vasprintf (&s, fmt, ap);
    assert (n >= 0 && s);
    *len = (size_t) n;
    return s;
}

void
asp_txn_inbox (asp_txn_t *self, const char *msg_id)
{
    snprintf (self->inbox_id, sizeof self->inbox_id, "%s", msg_id);
}

void
asp_txn_key (asp_txn_t *self, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    size_t len;
    char *name = s_vformat (fmt, ap, &len);
    va_end (ap);
    char *key = NULL;
    int n = asprintf (&key, "{s%u}:%s", self->shard, name);
    assert (n > 0 && key);
    free (name);
    s_push (&self->keys, &self->nkeys, &self->keys_cap, key, (size_t) n);
}

void
asp_txn_arg (asp_txn_t *self, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    size_t len;
    char *s = s_vformat (fmt, ap, &len);
    va_end (ap);
    s_push (&self->args, &self->nargs, &self->args_cap, s, len);
}

void
asp_txn_argb (asp_txn_t *self, const void *data, size_t len)
{
    char *s = (char *) malloc (len + 1);
    assert (s);
    memcpy (s, data, len);
    s [len] = 0;
    s_push (&self->args, &self->nargs, &self->args_cap, s, len);
}

void
asp_txn_arg_map (asp_txn_t *self, asp_mpmap_t **map_p)
{
    char *data; size_t size;
    asp_mpmap_bytes (*map_p, &data, &size);
    s_push (&self->args, &self->nargs, &self->args_cap, data, size);
    asp_mpmap_destroy (map_p);
}

static void
s_add_out (asp_txn_t *self, asp_svc_id_t dst, const char *id, char *data, size_t size)
{
    if (self->nouts == self->outs_cap) {
        self->outs_cap = self->outs_cap? self->outs_cap * 2: 4;
        self->outs = (s_out_t *) realloc (self->outs, self->outs_cap * sizeof (s_out_t));
        assert (self->outs);
    }
    s_out_t *o = &self->outs [self->nouts++];
    o->dst = dst;
    snprintf (o->id, sizeof o->id, "%s", id);
    o->data = data;
    o->size = size;
}

void
asp_txn_send (asp_txn_t *self, asp_svc_id_t dst, asp_msg_t **msg_p)
{
    char *data; size_t size;
    asp_msg_encode (*msg_p, &data, &size);
    s_add_out (self, dst, (*msg_p)->id, data, size);
    asp_msg_destroy (msg_p);
}

void
asp_txn_publish (asp_txn_t *self, asp_msg_t **msg_p)
{
    asp_txn_publish_others (self, ASP_SVC_COUNT, msg_p);
}

void
asp_txn_publish_others (asp_txn_t *self, asp_svc_id_t me, asp_msg_t **msg_p)
{
    unsigned subs = asp_event_subscribers ((*msg_p)->type);
    assert (subs);              //  an unknown type is a programming error
    if (me < ASP_SVC_COUNT)
        subs &= ~ASP_BIT (me);
    char *data; size_t size;
    asp_msg_encode (*msg_p, &data, &size);
    for (int dst = 0; dst < ASP_SVC_COUNT; dst++)
        if (subs & ASP_BIT (dst)) {
            char *copy = (char *) malloc (size);
            assert (copy);
            memcpy (copy, data, size);
            s_add_out (self, (asp_svc_id_t) dst, (*msg_p)->id, copy, size);
        }
    free (data);
    asp_msg_destroy (msg_p);
}

//  Builds the argv of one EVALSHA following the prelude's convention.
static void
s_build (asp_txn_t *self, asp_svc_id_t me, const char ***argv_p,
         size_t **lens_p, char **scratch_p, int *nkeys_p, int *nargs_p)
{
    bool inbox = *self->inbox_id != 0;
    size_t nk = (inbox? 1: 0) + self->nkeys + self->nouts;
    size_t na = 4 + self->nargs + 2 * self->nouts;
    const char **argv = (const char **) calloc (nk + na, sizeof (char *));
    size_t *lens = (size_t *) calloc (nk + na, sizeof (size_t));
    //  Scratch holds the keys and numbers we format here.
    size_t scratch_size = 4 * 24 + (1 + self->nouts) * (ASP_ID_MAX + 48);
    char *scratch = (char *) malloc (scratch_size);
    assert (argv && lens && scratch);
    char *sp = scratch;
    size_t i = 0;
#define PUT_FMT(...) do { int n = snprintf (sp, scratch_size - (size_t) (sp - scratch), __VA_ARGS__); \
        assert (n > 0 && (size_t) n < scratch_size - (size_t) (sp - scratch)); \
        argv [i] = sp; lens [i++] = (size_t) n; sp += n + 1; } while (0)
    if (inbox)
        PUT_FMT ("{s%u}:in:%s:%s", self->shard, asp_svc_name (me), self->inbox_id);
    for (size_t k = 0; k < self->nkeys; k++) {
        argv [i] = self->keys [k].ptr;
        lens [i++] = self->keys [k].len;
    }
    for (size_t o = 0; o < self->nouts; o++)
        PUT_FMT ("{s%u}:ob:%s:%s", self->shard, asp_svc_name (me), asp_svc_name (self->outs [o].dst));
    PUT_FMT ("%zu", self->nkeys);
    PUT_FMT ("%zu", self->nouts);
    PUT_FMT ("%lld", (long long) s_inbox_ttl_s);
    PUT_FMT ("%d", inbox? 1: 0);
    for (size_t a = 0; a < self->nargs; a++) {
        argv [i] = self->args [a].ptr;
        lens [i++] = self->args [a].len;
    }
    for (size_t o = 0; o < self->nouts; o++) {
        argv [i] = self->outs [o].id;
        lens [i++] = strlen (self->outs [o].id);
        argv [i] = self->outs [o].data;
        lens [i++] = self->outs [o].size;
    }
#undef PUT_FMT
    assert (i == nk + na);
    *argv_p = argv;
    *lens_p = lens;
    *scratch_p = scratch;
    *nkeys_p = (int) nk;
    *nargs_p = (int) na;
}

static const char *s_outcome_names [] = {
    "new", "ok", "dup", "stale", "reject", "error", "lost"
};

const char *
asp_txn_outcome_name (asp_txn_outcome_t outcome)
{
    return (unsigned) outcome < sizeof s_outcome_names / sizeof s_outcome_names [0]?
           s_outcome_names [outcome]: "?";
}

//  The script's code, parsed once; anything else is an error.
static asp_txn_outcome_t
s_parse_outcome (const redisReply *r)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 3 || r->element [0]->type != REDIS_REPLY_STRING)
        return ASP_TXN_ERROR;
    for (int o = ASP_TXN_OK; o <= ASP_TXN_REJECT; o++)
        if (strcmp (r->element [0]->str, s_outcome_names [o]) == 0)
            return (asp_txn_outcome_t) o;
    return ASP_TXN_ERROR;
}

int
asp_txn_exec (asp_rds_t *rds, asp_svc_id_t self_svc, asp_txn_t **txns, size_t count)
{
    assert (s_inbox_ttl_s > 0);     //  asp_txn_init not called
    for (size_t t = 0; t < count; t++)
        txns [t]->outcome = ASP_TXN_LOST;
    if (!asp_rds_ready (rds))
        return -1;                  //  nothing sent: nothing can have run
    size_t appended = 0;
    for (size_t t = 0; t < count; t++) {
        const char **argv; size_t *lens; char *scratch; int nk, na;
        s_build (txns [t], self_svc, &argv, &lens, &scratch, &nk, &na);
        int rc = asp_rds_append_script (rds, txns [t]->script, nk, na, argv, lens);
        free (argv);
        free (lens);
        free (scratch);
        if (rc)
            break;
        appended++;
    }
    size_t answered = 0;
    for (; answered < appended; answered++) {
        asp_txn_t *txn = txns [answered];
        redisReply *r = asp_rds_reply (rds);
        if (!r)
            break;
        if (txn->reply)
            freeReplyObject (txn->reply);
        txn->reply = r;
        txn->outcome = s_parse_outcome (r);
        if (txn->outcome == ASP_TXN_ERROR || txn->outcome == ASP_TXN_REJECT)
            asp_log_warn ("script %s: %s: %s", asp_rds_script_name (txn->script),
                          asp_txn_outcome_name (txn->outcome), asp_txn_reason (txn));
    }
    if (answered < appended)
        //  Sent but unanswered: these may have committed messages.
        atomic_fetch_add (&s_lost_total, appended - answered);
    return answered == count? 0: -1;
}

asp_txn_outcome_t
asp_txn_outcome (asp_txn_t *self)
{
    return self->outcome;
}

bool
asp_txn_known (asp_txn_t *self)
{
    return self->outcome >= ASP_TXN_OK && self->outcome <= ASP_TXN_REJECT;
}

unsigned
asp_txn_shard (asp_txn_t *self)
{
    return self->shard;
}

uint64_t
asp_txn_lost_total (void)
{
    return atomic_load (&s_lost_total);
}

const char *
asp_txn_reason (asp_txn_t *self)
{
    redisReply *r = self->reply;
    if (!r)
        return "";
    if (r->type == REDIS_REPLY_ERROR)
        return r->str;
    const char *s = asp_txn_reply_str (self, 2);
    return s? s: "";
}

const redisReply *
asp_txn_reply (asp_txn_t *self)
{
    return self->reply;
}

const char *
asp_txn_reply_str (asp_txn_t *self, size_t i)
{
    redisReply *r = self->reply;
    if (!r || r->type != REDIS_REPLY_ARRAY || i >= r->elements)
        return NULL;
    redisReply *e = r->element [i];
    return e->type == REDIS_REPLY_STRING || e->type == REDIS_REPLY_STATUS? e->str: NULL;
}

bool
asp_txn_emitted (asp_txn_t *self)
{
    redisReply *r = self->reply;
    return r && r->type == REDIS_REPLY_ARRAY && r->elements >= 2
        && r->element [1]->type == REDIS_REPLY_INTEGER && r->element [1]->integer == 1;
}

size_t
asp_txn_out_count (asp_txn_t *self)
{
    return self->nouts;
}

void
asp_txn_out (asp_txn_t *self, size_t i, asp_svc_id_t *dst, const char **id,
             const char **data, size_t *size)
{
    assert (i < self->nouts);
    *dst = self->outs [i].dst;
    *id = self->outs [i].id;
    *data = self->outs [i].data;
    *size = self->outs [i].size;
}

void
asp_txn_set_user (asp_txn_t *self, void *user)
{
    self->user = user;
}

void *
asp_txn_user (asp_txn_t *self)
{
    return self->user;
}

void
asp_txn_test_lost (asp_svc_id_t self_svc, asp_svc_id_t dst, const char *ticket, char *msg_id)
{
    //  The script outlasts the client's timeout: hiredis gives up, Redis
    //  still runs it to the end and commits the message.
    setenv ("ASP_REDIS_TIMEOUT_MS", "100", 1);
    asp_rds_t *rds = asp_rds_new ();
    unsetenv ("ASP_REDIS_TIMEOUT_MS");
    asp_script_t *slow = asp_rds_script (rds, "test_slow",
        "local t = redis.call('TIME')\n"
        "local start = t[1] * 1000000 + t[2]\n"
        "repeat t = redis.call('TIME') until t[1] * 1000000 + t[2] - start > 300000\n"
        "return ok()\n");
    assert (asp_rds_ready (rds));
    asp_txn_t *txn = asp_txn_new (slow, asp_shard_of (ticket));
    asp_msg_t *msg = asp_msg_new (ASP_EV_WO_COMPLETED, ticket, NULL);
    snprintf (msg_id, ASP_ID_MAX, "%s", msg->id);
    asp_txn_send (txn, dst, &msg);
    assert (asp_txn_exec (rds, self_svc, &txn, 1) == -1);
    assert (asp_txn_outcome (txn) == ASP_TXN_LOST && !asp_txn_known (txn) && !asp_txn_emitted (txn));
    asp_txn_destroy (&txn);
    asp_rds_destroy (&rds);
}

void
asp_txn_test (void)
{
    if (!getenv ("ASP_REDIS_PORT")) {
        printf ("asp_txn_test: skipped (no ASP_REDIS_PORT)\n");
        return;
    }
    asp_txn_init ();
    asp_rds_t *rds = asp_rds_new ();
    //  Sets K[1] to A[1] once per message; emits when it changed.
    asp_script_t *set = asp_rds_script (rds, "test_set",
        "if A[1] == 'bad' then return reject('bad_value') end\n"
        "if seen() then return dup() end\n"
        "if redis.call('GET', K[1]) == A[1] then return stale('same') end\n"
        "redis.call('SET', K[1], A[1])\n"
        "return ok(A[1])\n");
    //  Reads a msgpack map argument.
    asp_script_t *map = asp_rds_script (rds, "test_map",
        "local m = arg(1)\n"
        "redis.call('SET', K[1], m.name .. '/' .. m.count)\n"
        "return ok_quiet(m.name)\n");
    asp_script_t *bad = asp_rds_script (rds, "test_bad", "return {'maybe', 0, ''}\n");
    assert (asp_rds_ready (rds));
    unsigned shard = asp_shard_of ("T1");
    redisReply *r = asp_rds_cmd (rds, "DEL {s%u}:asp:txn:k {s%u}:ob:intake:routing {s%u}:ob:intake:sla",
                                 shard, shard, shard);
    freeReplyObject (r);
    char mid [ASP_ID_MAX];
    asp_id_new (mid, "m");

    asp_txn_t *txns [4];
    for (int i = 0; i < 4; i++) {
        txns [i] = asp_txn_new (set, shard);
        asp_txn_key (txns [i], "asp:txn:%s", "k");
        assert (asp_txn_outcome (txns [i]) == ASP_TXN_NEW && asp_txn_shard (txns [i]) == shard);
    }
    asp_txn_inbox (txns [0], mid);
    asp_txn_arg (txns [0], "v1");
    asp_msg_t *msg = asp_msg_new (ASP_EV_TICKET_CREATED, "T1", NULL);
    asp_txn_publish (txns [0], &msg);
    assert (msg == NULL && asp_txn_out_count (txns [0]) == 4);    //  routing, sla, notification, feedback
    asp_txn_inbox (txns [1], mid);          //  same message again: dup
    asp_txn_arg (txns [1], "v1");
    asp_txn_arg (txns [2], "v1");           //  no inbox id, same value: stale
    asp_txn_arg (txns [3], "bad");
    assert (asp_txn_exec (rds, ASP_SVC_INTAKE, txns, 4) == 0);
    assert (asp_txn_outcome (txns [0]) == ASP_TXN_OK && asp_txn_emitted (txns [0]));
    assert (streq (asp_txn_reply_str (txns [0], 3), "v1"));
    assert (asp_txn_outcome (txns [1]) == ASP_TXN_DUP && !asp_txn_emitted (txns [1]));
    assert (asp_txn_outcome (txns [2]) == ASP_TXN_STALE && streq (asp_txn_reason (txns [2]), "same"));
    assert (asp_txn_outcome (txns [3]) == ASP_TXN_REJECT && streq (asp_txn_reason (txns [3]), "bad_value"));
    for (int i = 0; i < 4; i++)
        assert (asp_txn_known (txns [i]));
    r = asp_rds_cmd (rds, "HLEN {s%u}:ob:intake:routing", shard);
    assert (r && r->integer == 1);
    freeReplyObject (r);
    r = asp_rds_cmd (rds, "EXISTS {s%u}:in:intake:%s", shard, mid);
    assert (r && r->integer == 1);
    freeReplyObject (r);
    asp_svc_id_t dst; const char *id, *data; size_t size;
    asp_txn_out (txns [0], 0, &dst, &id, &data, &size);
    r = asp_rds_cmd (rds, "HGET {s%u}:ob:intake:%s %s", shard, asp_svc_name (dst), id);
    assert (r && r->type == REDIS_REPLY_STRING && r->len == size && memcmp (r->str, data, size) == 0);
    freeReplyObject (r);
    for (int i = 0; i < 4; i++)
        asp_txn_destroy (&txns [i]);

    //  A map argument, and a code the convention does not know.
    asp_txn_t *m = asp_txn_new (map, shard);
    asp_txn_key (m, "asp:txn:%s", "k");
    asp_mpmap_t *args = asp_mpmap_new ();
    asp_mpmap_str (args, "name", "wash");
    asp_mpmap_str (args, "count", "3");
    asp_txn_arg_map (m, &args);
    assert (args == NULL);
    asp_txn_t *b = asp_txn_new (bad, shard);
    asp_txn_t *both [2] = { m, b };
    assert (asp_txn_exec (rds, ASP_SVC_INTAKE, both, 2) == 0);
    assert (asp_txn_outcome (m) == ASP_TXN_OK && !asp_txn_emitted (m));
    assert (streq (asp_txn_reply_str (m, 3), "wash"));
    assert (asp_txn_outcome (b) == ASP_TXN_ERROR && !asp_txn_known (b));
    r = asp_rds_cmd (rds, "GET {s%u}:asp:txn:k", shard);
    assert (r && r->type == REDIS_REPLY_STRING && streq (r->str, "wash/3"));
    freeReplyObject (r);
    asp_txn_destroy (&m);
    asp_txn_destroy (&b);

    //  A reply lost after Redis applied the script (here: the reply comes
    //  after the client's timeout): LOST, and counted, because its
    //  messages are in the outbox hash and nobody holds them in memory.
    uint64_t lost = asp_txn_lost_total ();
    char lost_id [ASP_ID_MAX];
    asp_txn_test_lost (ASP_SVC_INTAKE, ASP_SVC_ROUTING, "T1", lost_id);
    assert (streq (asp_txn_outcome_name (ASP_TXN_LOST), "lost"));
    assert (asp_txn_lost_total () == lost + 1);
    usleep (400 * 1000);
    r = asp_rds_cmd (rds, "HLEN {s%u}:ob:intake:routing", shard);
    assert (r && r->integer == 2);         //  committed after all
    freeReplyObject (r);
    r = asp_rds_cmd (rds, "DEL {s%u}:asp:txn:k {s%u}:ob:intake:routing {s%u}:ob:intake:sla "
                     "{s%u}:ob:intake:notification {s%u}:in:intake:%s",
                     shard, shard, shard, shard, shard, mid);
    freeReplyObject (r);
    asp_rds_destroy (&rds);
}
