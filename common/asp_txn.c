#include "asp_txn.h"
#include "asp_config.h"
#include "asp_log.h"
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    char inbox_id [ASP_ID_MAX];
    s_buf_t *keys;
    size_t nkeys, keys_cap;
    s_buf_t *args;
    size_t nargs, args_cap;
    s_out_t *outs;
    size_t nouts, outs_cap;
    redisReply *reply;
    char code [16];
    void *user;
};

asp_txn_t *
asp_txn_new (asp_script_t *script)
{
    asp_txn_t *self = (asp_txn_t *) calloc (1, sizeof *self);
    assert (self);
    self->script = script;
    snprintf (self->code, sizeof self->code, "new");
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
    char *s = s_vformat (fmt, ap, &len);
    va_end (ap);
    s_push (&self->keys, &self->nkeys, &self->keys_cap, s, len);
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
    unsigned subs = asp_event_subscribers ((*msg_p)->type);
    assert (subs);              //  an unknown type is a programming error
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
s_build (asp_txn_t *self, asp_svc_id_t me, int64_t ttl, const char ***argv_p,
         size_t **lens_p, char **scratch_p, int *nkeys_p, int *nargs_p)
{
    size_t nk = 1 + self->nkeys + self->nouts;
    size_t na = 3 + self->nargs + 2 * self->nouts;
    const char **argv = (const char **) calloc (nk + na, sizeof (char *));
    size_t *lens = (size_t *) calloc (nk + na, sizeof (size_t));
    //  Scratch holds the keys and numbers we format here.
    size_t scratch_size = 3 * 24 + (1 + self->nouts) * 80;
    char *scratch = (char *) malloc (scratch_size);
    assert (argv && lens && scratch);
    char *sp = scratch;
    size_t i = 0;
#define PUT_FMT(...) do { int n = snprintf (sp, scratch_size - (size_t) (sp - scratch), __VA_ARGS__); \
        argv [i] = sp; lens [i++] = (size_t) n; sp += n + 1; } while (0)
    if (*self->inbox_id)
        PUT_FMT ("in:%s:%s", asp_svc_name (me), self->inbox_id);
    else
        PUT_FMT ("%s", "");
    for (size_t k = 0; k < self->nkeys; k++) {
        argv [i] = self->keys [k].ptr;
        lens [i++] = self->keys [k].len;
    }
    for (size_t o = 0; o < self->nouts; o++)
        PUT_FMT ("ob:%s:%s", asp_svc_name (me), asp_svc_name (self->outs [o].dst));
    PUT_FMT ("%zu", self->nkeys);
    PUT_FMT ("%zu", self->nouts);
    PUT_FMT ("%lld", (long long) ttl);
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

static void
s_set_code (asp_txn_t *self)
{
    redisReply *r = self->reply;
    if (r->type == REDIS_REPLY_ERROR)
        snprintf (self->code, sizeof self->code, "error");
    else
    if (r->type == REDIS_REPLY_ARRAY && r->elements >= 2 && r->element [0]->type == REDIS_REPLY_STRING)
        snprintf (self->code, sizeof self->code, "%s", r->element [0]->str);
    else
        snprintf (self->code, sizeof self->code, "error");
}

int
asp_txn_exec (asp_rds_t *rds, asp_svc_id_t self_svc, asp_txn_t **txns, size_t count)
{
    static int64_t ttl = 0;
    if (!ttl)
        ttl = asp_cfg_int ("ASP_INBOX_TTL_S", 7 * 86400, 60, 365 * 86400);
    for (size_t t = 0; t < count; t++)
        snprintf (txns [t]->code, sizeof txns [t]->code, "lost");
    if (!asp_rds_ready (rds))
        return -1;
    size_t appended = 0;
    for (size_t t = 0; t < count; t++) {
        const char **argv; size_t *lens; char *scratch; int nk, na;
        s_build (txns [t], self_svc, ttl, &argv, &lens, &scratch, &nk, &na);
        int rc = asp_rds_append_script (rds, txns [t]->script, nk, na, argv, lens);
        free (argv);
        free (lens);
        free (scratch);
        if (rc)
            break;
        appended++;
    }
    for (size_t t = 0; t < appended; t++) {
        redisReply *r = asp_rds_reply (rds);
        if (!r)
            return -1;
        if (txns [t]->reply)
            freeReplyObject (txns [t]->reply);
        txns [t]->reply = r;
        s_set_code (txns [t]);
        if (asp_txn_is (txns [t], "error") || asp_txn_is (txns [t], "reject"))
            asp_log_warn ("script %s: %s: %s", asp_rds_script_name (txns [t]->script),
                          txns [t]->code, asp_txn_reason (txns [t]));
    }
    return appended == count? 0: -1;
}

const char *
asp_txn_code (asp_txn_t *self)
{
    return self->code;
}

bool
asp_txn_is (asp_txn_t *self, const char *code)
{
    return strcmp (self->code, code) == 0;
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
asp_txn_test (void)
{
    if (!getenv ("ASP_REDIS_PORT")) {
        printf ("asp_txn_test: skipped (no ASP_REDIS_PORT)\n");
        return;
    }
    asp_rds_t *rds = asp_rds_new ();
    //  Sets K[1] to A[1] once per message; emits when it changed.
    asp_script_t *set = asp_rds_script (rds, "test_set",
        "if A[1] == 'bad' then return reject('bad value') end\n"
        "if seen() then return dup() end\n"
        "if redis.call('GET', K[1]) == A[1] then return stale('same') end\n"
        "redis.call('SET', K[1], A[1])\n"
        "return ok()\n");
    assert (asp_rds_ready (rds));
    redisReply *r = asp_rds_cmd (rds, "DEL asp:txn:k ob:intake:routing ob:intake:sla");
    freeReplyObject (r);
    char mid [ASP_ID_MAX];
    asp_id_new (mid, "m");

    asp_txn_t *txns [4];
    for (int i = 0; i < 4; i++) {
        txns [i] = asp_txn_new (set);
        asp_txn_key (txns [i], "asp:txn:%s", "k");
    }
    asp_txn_inbox (txns [0], mid);
    asp_txn_arg (txns [0], "v1");
    asp_msg_t *msg = asp_msg_new (ASP_EV_TICKET_CREATED, "T1", NULL);
    asp_txn_publish (txns [0], &msg);
    assert (msg == NULL && asp_txn_out_count (txns [0]) == 3);
    asp_txn_inbox (txns [1], mid);          //  same message again: dup
    asp_txn_arg (txns [1], "v1");
    asp_txn_arg (txns [2], "v1");           //  no inbox id, same value: stale
    asp_txn_arg (txns [3], "bad");
    assert (asp_txn_exec (rds, ASP_SVC_INTAKE, txns, 4) == 0);
    assert (asp_txn_is (txns [0], "ok") && asp_txn_emitted (txns [0]));
    assert (asp_txn_is (txns [1], "dup") && !asp_txn_emitted (txns [1]));
    assert (asp_txn_is (txns [2], "stale"));
    assert (asp_txn_is (txns [3], "reject") && strcmp (asp_txn_reason (txns [3]), "bad value") == 0);
    r = asp_rds_cmd (rds, "HLEN ob:intake:routing");
    assert (r && r->integer == 1);
    freeReplyObject (r);
    asp_svc_id_t dst; const char *id, *data; size_t size;
    asp_txn_out (txns [0], 0, &dst, &id, &data, &size);
    r = asp_rds_cmd (rds, "HGET ob:intake:%s %s", asp_svc_name (dst), id);
    assert (r && r->type == REDIS_REPLY_STRING && r->len == size && memcmp (r->str, data, size) == 0);
    freeReplyObject (r);
    for (int i = 0; i < 4; i++)
        asp_txn_destroy (&txns [i]);
    r = asp_rds_cmd (rds, "DEL asp:txn:k ob:intake:routing ob:intake:sla ob:intake:notification in:intake:%s", mid);
    freeReplyObject (r);
    asp_rds_destroy (&rds);
}
