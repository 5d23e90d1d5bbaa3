/*  intake_ops_stream: GET /v1/ops/stream, the ops dashboard's live feed
    (Server-Sent Events; docs/http-api.md, "Ops").

    One thread with its own Redis connection serves every client: once per
    ASP_OPS_STREAM_MS (default 1000) it reads the summary (intake_ops.h)
    and sends it to the clients when it changed, and reads the ticket
    change feed (ix:feed, one capped stream per shard, written by the
    ticket scripts: intake_ticket.h) after each distinct cursor its clients
    hold (usually one: a read per interval for all of them), then the
    changed tickets' records, and sends them as one `tickets` frame (at
    most INTAKE_OPS_FRAME_MAX changes; "more": true when some wait for the
    next). A cursor (the frame's id) names the last entry read of every
    shard's feed; a client that reconnects with it (Last-Event-ID) goes on
    from there while the feeds still hold what follows, else gets
    `event: reset`, a fresh summary and the changes from now. A new client
    is served at once (the thread is woken). A `: keepalive` comment goes
    to a client after ASP_OPS_KEEPALIVE_MS (15000) of silence: it is also
    how a client that went away is noticed (libmicrohttpd does not watch a
    suspended connection), and its slot freed. At most ASP_OPS_STREAM_MAX
    (64) clients: beyond, 503 + Retry-After.                               */
#ifndef INTAKE_OPS_STREAM_H
#define INTAKE_OPS_STREAM_H
#include "asp_httpd.h"
#include <stdbool.h>

#define INTAKE_OPS_FRAME_MAX 200
//  A cursor: ASP_SHARDS stream ids "<ms>-<seq>", joined by '.'.
#define INTAKE_OPS_CURSOR_MAX (16 * 42)

typedef struct intake_ops_stream_t intake_ops_stream_t;

//  Reads ASP_OPS_STREAM_MS, ASP_OPS_STREAM_MAX, ASP_OPS_KEEPALIVE_MS (exits
//  2 naming one that is malformed) and starts the thread.
intake_ops_stream_t *intake_ops_stream_new (void);
//  Stops the thread and lets go of every client's stream.
void intake_ops_stream_destroy (intake_ops_stream_t **self_p);
//  Takes stream (the writer's handle) as a new client, resuming after
//  last_event_id when not NULL. 0, or -1 when ASP_OPS_STREAM_MAX clients
//  are served already (stream is left to the caller).
int intake_ops_stream_add (intake_ops_stream_t *self, asp_http_stream_t *stream, const char *last_event_id);
//  Seconds a refused client should wait.
int intake_ops_stream_retry_s (intake_ops_stream_t *self);

void intake_ops_stream_test (void);
#endif
