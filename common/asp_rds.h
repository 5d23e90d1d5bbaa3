/*  asp_rds: one Redis connection, its Lua scripts, and pipelining.

    hiredis 0.14 (Debian 12): synchronous context with a socket timeout. A
    context that saw an I/O error cannot be reused, so any error drops it
    and the next asp_rds_ready() reconnects (with backoff) and reloads the
    scripts. Callers pipeline: append N commands, then read N replies: one
    round trip for a whole batch.

    Scripts are registered once by name; the common Lua prelude (inbox and
    outbox helpers, common/lua/prelude.lua) is prepended to every script.  */
#ifndef ASP_RDS_H
#define ASP_RDS_H
#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct asp_rds_t asp_rds_t;
typedef struct asp_script_t asp_script_t;

//  Reads ASP_REDIS_HOST (127.0.0.1), ASP_REDIS_PORT (6379),
//  ASP_REDIS_PASSWORD (none), ASP_REDIS_TIMEOUT_MS (2000). Does not connect.
asp_rds_t *asp_rds_new (void);
void asp_rds_destroy (asp_rds_t **self_p);
//  Registers a Lua script (prelude + body); valid for the life of self.
asp_script_t *asp_rds_script (asp_rds_t *self, const char *name, const char *body);
//  Same, with a service's own Lua library (functions its scripts share)
//  between the prelude and body; lib may be NULL.
asp_script_t *asp_rds_script_lib (asp_rds_t *self, const char *name, const char *lib, const char *body);
//  True when connected; otherwise tries to connect unless a retry is not due
//  yet (backoff 100 ms .. 2 s). Loads every script on a new connection.
bool asp_rds_ready (asp_rds_t *self);
//  Drops the connection (after an error); the next ready() reconnects.
void asp_rds_drop (asp_rds_t *self);

//  Pipelining. Append returns 0, or -1 when not connected.
int  asp_rds_append (asp_rds_t *self, int argc, const char **argv, const size_t *lens);
//  EVALSHA script: keys then args, in one argv/lens array of nkeys + nargs.
int  asp_rds_append_script (asp_rds_t *self, asp_script_t *script, int nkeys, int nargs,
                            const char **argv, const size_t *lens);
//  Next reply, owned by the caller (freeReplyObject). NULL when the
//  connection failed: it is dropped and every pending reply is lost.
redisReply *asp_rds_reply (asp_rds_t *self);

//  Runs a text command once per shard, all in one round trip: argv [1]
//  is a key name without its tag, and shard n's command gets
//  "{s<n>}:" + argv [1] (asp_keys.h). replies must hold ASP_SHARDS; each
//  is owned by the caller (freeReplyObject), NULL when lost. 0, or -1 when
//  Redis failed or a reply is an error.
int  asp_rds_each_shard (asp_rds_t *self, int argc, const char **argv, redisReply **replies);

//  One command, one round trip (redisCommand format). NULL on failure.
redisReply *asp_rds_cmd (asp_rds_t *self, const char *fmt, ...);
//  Same with argv.
redisReply *asp_rds_cmdv (asp_rds_t *self, int argc, const char **argv, const size_t *lens);
//  HGETALL key: the hash as an array reply (empty when there is none),
//  owned by the caller; NULL when Redis failed or answered otherwise.
redisReply *asp_rds_hgetall (asp_rds_t *self, const char *key);
//  The hiredis connection (for readers that take one, e.g.
//  asp_svcstat_read), or NULL when not connected. After an error on it,
//  call asp_rds_drop.
redisContext *asp_rds_context (asp_rds_t *self);
//  Round trips made so far (each flush of a pipeline counts once).
uint64_t asp_rds_round_trips (asp_rds_t *self);
uint64_t asp_rds_commands (asp_rds_t *self);
const char *asp_rds_script_name (asp_script_t *script);

void asp_rds_test (void);
#endif
