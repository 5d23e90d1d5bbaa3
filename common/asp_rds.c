#include "asp_rds.h"
#include "asp_selftest.h"
#include "asp_config.h"
#include "asp_id.h"
#include "asp_keys.h"
#include "asp_log.h"
#include <assert.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const char asp_lua_prelude [];

struct asp_script_t {
    char name [48];
    char *text;                 //  prelude + body
    char sha [41];
    asp_script_t *next;
};

struct asp_rds_t {
    redisContext *ctx;
    char host [256];
    int port;
    char password [256];
    int timeout_ms;
    asp_script_t *scripts;
    int pending;                //  replies still to read
    int64_t retry_at;           //  monotonic ms of the next connect attempt
    int backoff_ms;
    //  Atomic: /metrics reads them from the HTTP thread.
    atomic_uint_fast64_t round_trips;
    atomic_uint_fast64_t commands;
    bool warned;
};

asp_rds_t *
asp_rds_new (void)
{
    asp_rds_t *self = (asp_rds_t *) calloc (1, sizeof *self);
    assert (self);
    snprintf (self->host, sizeof self->host, "%s", asp_cfg_str ("ASP_REDIS_HOST", "127.0.0.1"));
    self->port = (int) asp_cfg_int ("ASP_REDIS_PORT", 6379, 1, 65535);
    snprintf (self->password, sizeof self->password, "%s", asp_cfg_str ("ASP_REDIS_PASSWORD", ""));
    self->timeout_ms = (int) asp_cfg_int ("ASP_REDIS_TIMEOUT_MS", 2000, 10, 60000);
    self->backoff_ms = 100;
    return self;
}

void
asp_rds_destroy (asp_rds_t **self_p)
{
    asp_rds_t *self = *self_p;
    if (!self)
        return;
    asp_rds_drop (self);
    while (self->scripts) {
        asp_script_t *next = self->scripts->next;
        free (self->scripts->text);
        free (self->scripts);
        self->scripts = next;
    }
    free (self);
    *self_p = NULL;
}

asp_script_t *
asp_rds_script (asp_rds_t *self, const char *name, const char *body)
{
    return asp_rds_script_lib (self, name, NULL, body);
}

asp_script_t *
asp_rds_script_lib (asp_rds_t *self, const char *name, const char *lib, const char *body)
{
    asp_script_t *s = (asp_script_t *) calloc (1, sizeof *s);
    assert (s);
    snprintf (s->name, sizeof s->name, "%s", name);
    if (!lib)
        lib = "";
    size_t n = strlen (asp_lua_prelude) + strlen (lib) + strlen (body) + 3;
    s->text = (char *) malloc (n);
    assert (s->text);
    snprintf (s->text, n, "%s\n%s\n%s", asp_lua_prelude, lib, body);
    s->next = self->scripts;
    self->scripts = s;
    return s;
}

const char *
asp_rds_script_name (asp_script_t *script)
{
    return script->name;
}

void
asp_rds_drop (asp_rds_t *self)
{
    if (self->ctx) {
        redisFree (self->ctx);
        self->ctx = NULL;
    }
    self->pending = 0;
}

static bool
s_load_scripts (asp_rds_t *self)
{
    for (asp_script_t *s = self->scripts; s; s = s->next) {
        redisReply *r = (redisReply *) redisCommand (self->ctx, "SCRIPT LOAD %s", s->text);
        if (!r || r->type != REDIS_REPLY_STRING || r->len != 40) {
            asp_log_error ("redis: cannot load script %s: %s", s->name,
                           r && r->type == REDIS_REPLY_ERROR? r->str: "no reply");
            if (r)
                freeReplyObject (r);
            return false;
        }
        memcpy (s->sha, r->str, 40);
        s->sha [40] = 0;
        freeReplyObject (r);
    }
    return true;
}

static bool
s_connect (asp_rds_t *self)
{
    struct timeval tv = { self->timeout_ms / 1000, (self->timeout_ms % 1000) * 1000 };
    self->ctx = redisConnectWithTimeout (self->host, self->port, tv);
    if (!self->ctx || self->ctx->err) {
        if (!self->warned)
            asp_log_warn ("redis: cannot connect to %s:%d: %s", self->host, self->port,
                          self->ctx? self->ctx->errstr: "out of memory");
        self->warned = true;
        asp_rds_drop (self);
        return false;
    }
    redisSetTimeout (self->ctx, tv);
    if (*self->password) {
        redisReply *r = (redisReply *) redisCommand (self->ctx, "AUTH %s", self->password);
        bool ok = r && r->type == REDIS_REPLY_STATUS;
        if (!ok)
            asp_log_error ("redis: AUTH refused: %s", r && r->type == REDIS_REPLY_ERROR? r->str: "no reply");
        if (r)
            freeReplyObject (r);
        if (!ok) {
            asp_rds_drop (self);
            return false;
        }
    }
    if (!s_load_scripts (self)) {
        asp_rds_drop (self);
        return false;
    }
    if (self->warned)
        asp_log_info ("redis: connected to %s:%d", self->host, self->port);
    self->warned = false;
    return true;
}

bool
asp_rds_ready (asp_rds_t *self)
{
    if (self->ctx)
        return true;
    int64_t now = asp_mono_ms ();
    if (now < self->retry_at)
        return false;
    if (s_connect (self)) {
        self->backoff_ms = 100;
        return true;
    }
    self->retry_at = now + self->backoff_ms;
    if (self->backoff_ms < 2000)
        self->backoff_ms *= 2;
    return false;
}

int
asp_rds_append (asp_rds_t *self, int argc, const char **argv, const size_t *lens)
{
    if (!self->ctx)
        return -1;
    if (redisAppendCommandArgv (self->ctx, argc, argv, lens) != REDIS_OK) {
        asp_rds_drop (self);
        return -1;
    }
    self->pending++;
    self->commands++;
    return 0;
}

int
asp_rds_append_script (asp_rds_t *self, asp_script_t *script, int nkeys, int nargs,
                       const char **argv, const size_t *lens)
{
    int argc = 3 + nkeys + nargs;
    const char *stack_argv [64];
    size_t stack_lens [64];
    const char **av = argc <= 64? stack_argv: (const char **) malloc (sizeof (char *) * (size_t) argc);
    size_t *al = argc <= 64? stack_lens: (size_t *) malloc (sizeof (size_t) * (size_t) argc);
    assert (av && al);
    char nk [16];
    snprintf (nk, sizeof nk, "%d", nkeys);
    av [0] = "EVALSHA"; al [0] = 7;
    av [1] = script->sha; al [1] = 40;
    av [2] = nk; al [2] = strlen (nk);
    for (int i = 0; i < nkeys + nargs; i++) {
        av [3 + i] = argv [i];
        al [3 + i] = lens [i];
    }
    int rc = asp_rds_append (self, argc, av, al);
    if (av != stack_argv) {
        free (av);
        free (al);
    }
    return rc;
}

redisReply *
asp_rds_reply (asp_rds_t *self)
{
    if (!self->ctx || self->pending == 0)
        return NULL;
    if (self->ctx->obuf && *self->ctx->obuf)
        self->round_trips++;        //  the first read flushes the pipeline
    void *reply = NULL;
    if (redisGetReply (self->ctx, &reply) != REDIS_OK || !reply) {
        asp_log_warn ("redis: connection lost: %s", self->ctx->errstr);
        asp_rds_drop (self);
        return NULL;
    }
    self->pending--;
    redisReply *r = (redisReply *) reply;
    if (r->type == REDIS_REPLY_ERROR && strncmp (r->str, "NOSCRIPT", 8) == 0) {
        //  Scripts vanished (SCRIPT FLUSH): reconnecting reloads them. The
        //  caller sees an error reply and retries later.
        asp_log_warn ("redis: scripts missing; reconnecting to reload them");
        self->pending = 0;
        asp_rds_drop (self);
    }
    return r;
}

redisReply *
asp_rds_cmdv (asp_rds_t *self, int argc, const char **argv, const size_t *lens)
{
    if (!asp_rds_ready (self) || asp_rds_append (self, argc, argv, lens))
        return NULL;
    return asp_rds_reply (self);
}

redisReply *
asp_rds_hgetall (asp_rds_t *self, const char *key)
{
    const char *argv [] = { "HGETALL", key };
    redisReply *r = asp_rds_cmdv (self, 2, argv, NULL);
    if (r && r->type != REDIS_REPLY_ARRAY) {
        freeReplyObject (r);
        r = NULL;
    }
    return r;
}

int
asp_rds_each_shard (asp_rds_t *self, int argc, const char **argv, redisReply **replies)
{
    assert (argc >= 2 && argc <= 32);
    for (unsigned n = 0; n < ASP_SHARDS; n++)
        replies [n] = NULL;
    if (!asp_rds_ready (self))
        return -1;
    const char *args [32];
    size_t lens [32];
    for (int i = 0; i < argc; i++) {
        args [i] = argv [i];
        lens [i] = strlen (argv [i]);
    }
    for (unsigned n = 0; n < ASP_SHARDS; n++) {
        char key [ASP_KEY_MAX];
        if (asp_key_fmt (key, sizeof key, n, "%s", argv [1]) < 0)
            return -1;
        args [1] = key;
        lens [1] = strlen (key);
        if (asp_rds_append (self, argc, args, lens))
            return -1;
    }
    int rc = 0;
    for (unsigned n = 0; n < ASP_SHARDS; n++) {
        replies [n] = asp_rds_reply (self);
        if (!replies [n] || replies [n]->type == REDIS_REPLY_ERROR)
            rc = -1;
    }
    return rc;
}

redisReply *
asp_rds_cmd (asp_rds_t *self, const char *fmt, ...)
{
    if (!asp_rds_ready (self))
        return NULL;
    va_list ap;
    va_start (ap, fmt);
    int rc = redisvAppendCommand (self->ctx, fmt, ap);
    va_end (ap);
    if (rc != REDIS_OK) {
        asp_rds_drop (self);
        return NULL;
    }
    self->pending++;
    self->commands++;
    return asp_rds_reply (self);
}

redisContext *
asp_rds_context (asp_rds_t *self)
{
    return self->ctx;
}

uint64_t
asp_rds_round_trips (asp_rds_t *self)
{
    return atomic_load (&self->round_trips);
}

uint64_t
asp_rds_commands (asp_rds_t *self)
{
    return atomic_load (&self->commands);
}

void
asp_rds_test (void)
{
    //  Needs a redis-server on ASP_REDIS_PORT; the test runner starts one.
    asp_selftest_need_redis ("asp_rds_test");
    asp_rds_t *rds = asp_rds_new ();
    asp_script_t *echo = asp_rds_script (rds, "echo", "return {ARGV[1], KEYS[1]}");
    assert (asp_rds_ready (rds));
    redisReply *r = asp_rds_cmd (rds, "SET asp:test:k %s", "v");
    assert (r && r->type == REDIS_REPLY_STATUS);
    freeReplyObject (r);
    //  A pipeline of three: one round trip.
    uint64_t trips = asp_rds_round_trips (rds);
    const char *argv [] = { "asp:test:key", "hello" };
    size_t lens [] = { 12, 5 };
    for (int i = 0; i < 3; i++)
        assert (asp_rds_append_script (rds, echo, 1, 1, argv, lens) == 0);
    for (int i = 0; i < 3; i++) {
        r = asp_rds_reply (rds);
        assert (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2);
        assert (strcmp (r->element [0]->str, "hello") == 0);
        freeReplyObject (r);
    }
    assert (asp_rds_round_trips (rds) == trips + 1);
    //  After SCRIPT FLUSH, the error is seen and the next ready() recovers.
    r = asp_rds_cmd (rds, "SCRIPT FLUSH");
    freeReplyObject (r);
    assert (asp_rds_append_script (rds, echo, 1, 1, argv, lens) == 0);
    r = asp_rds_reply (rds);
    assert (r && r->type == REDIS_REPLY_ERROR);
    freeReplyObject (r);
    assert (asp_rds_ready (rds));
    assert (asp_rds_append_script (rds, echo, 1, 1, argv, lens) == 0);
    r = asp_rds_reply (rds);
    assert (r && r->type == REDIS_REPLY_ARRAY);
    freeReplyObject (r);
    r = asp_rds_cmd (rds, "DEL asp:test:k");
    freeReplyObject (r);

    //  One command per shard, one round trip: shard n's key gets its tag.
    r = asp_rds_cmd (rds, "SET {s3}:asp:test:k three");
    freeReplyObject (r);
    redisReply *replies [ASP_SHARDS];
    const char *get [] = { "GET", "asp:test:k" };
    trips = asp_rds_round_trips (rds);
    assert (asp_rds_each_shard (rds, 2, get, replies) == 0);
    assert (asp_rds_round_trips (rds) == trips + 1);
    for (unsigned n = 0; n < ASP_SHARDS; n++) {
        assert (replies [n]);
        assert (n == 3? replies [n]->type == REDIS_REPLY_STRING && strcmp (replies [n]->str, "three") == 0:
                        replies [n]->type == REDIS_REPLY_NIL);
        freeReplyObject (replies [n]);
    }
    const char *bad [] = { "HGET", "asp:test:k", "f" };     //  wrong type in shard 3
    assert (asp_rds_each_shard (rds, 3, bad, replies) == -1);
    assert (replies [3] && replies [3]->type == REDIS_REPLY_ERROR);
    for (unsigned n = 0; n < ASP_SHARDS; n++)
        freeReplyObject (replies [n]);
    r = asp_rds_cmd (rds, "DEL {s3}:asp:test:k");
    freeReplyObject (r);
    asp_rds_destroy (&rds);
}
