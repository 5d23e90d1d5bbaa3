/*  The ops event stream (intake_ops_stream.h).                           */
#include "intake_ops_stream.h"
#include "asp_config.h"
#include "asp_keys.h"
#include "asp_log.h"
#include "asp_rds.h"
#include "intake_ops.h"
#include "intake_ticket.h"
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

//  Frames of changes a client may get in one tick when it is behind.
#define S_CATCH_UP      25

//  A position in one shard's feed: a stream id.
typedef struct {
    uint64_t ms, seq;
} s_sid_t;

typedef struct {
    s_sid_t at [ASP_SHARDS];
} s_cursor_t;

typedef struct s_client_t {
    asp_http_stream_t *stream;
    bool started;                   //  its first summary went out
    bool resume;                    //  it asked to resume after cursor
    s_cursor_t cursor;
    int64_t sent_ms;                //  when it was last sent anything
    struct s_client_t *next;
} s_client_t;

struct intake_ops_stream_t {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stop;
    s_client_t *added;              //  new clients, under lock
    size_t nclients;                //  added + served, under lock
    //  The thread's own
    asp_rds_t *rds;
    s_client_t *clients;
    char *summary;                  //  the last summary sent, without its times
    int64_t interval_ms, keepalive_ms, max;
};

//  ---------------------------------------------------------------------
//  Cursors

static int
s_sid_cmp (const s_sid_t *a, const s_sid_t *b)
{
    if (a->ms != b->ms) return a->ms < b->ms? -1: 1;
    if (a->seq != b->seq) return a->seq < b->seq? -1: 1;
    return 0;
}

static bool
s_sid_parse (const char *s, size_t len, s_sid_t *out)
{
    char buf [48];
    if (len == 0 || len >= sizeof buf)
        return false;
    memcpy (buf, s, len);
    buf [len] = 0;
    char *dash = strchr (buf, '-');
    if (!dash || dash == buf || !dash [1] || strspn (buf, "0123456789") != (size_t) (dash - buf)
    ||  strspn (dash + 1, "0123456789") != strlen (dash + 1) || dash - buf > 19 || strlen (dash + 1) > 19)
        return false;
    out->ms = strtoull (buf, NULL, 10);
    out->seq = strtoull (dash + 1, NULL, 10);
    return true;
}

static void
s_cursor_print (const s_cursor_t *c, char *out, size_t len)
{
    size_t at = 0;
    for (unsigned n = 0; n < ASP_SHARDS && at < len; n++)
        at += (size_t) snprintf (out + at, len - at, "%s%" PRIu64 "-%" PRIu64, n? ".": "", c->at [n].ms,
                                 c->at [n].seq);
}

static bool
s_cursor_parse (const char *s, s_cursor_t *c)
{
    for (unsigned n = 0; n < ASP_SHARDS; n++) {
        size_t len = strcspn (s, ".");
        if (!s_sid_parse (s, len, &c->at [n]))
            return false;
        s += len;
        if (n + 1 < ASP_SHARDS && *s++ != '.')
            return false;
    }
    return *s == 0;
}

//  ---------------------------------------------------------------------
//  Clients

int
intake_ops_stream_add (intake_ops_stream_t *self, asp_http_stream_t *stream, const char *last_event_id)
{
    s_client_t *c = (s_client_t *) calloc (1, sizeof *c);
    assert (c);
    c->stream = stream;
    //  An id that is not one of ours is a cursor that is gone: reset.
    c->resume = last_event_id != NULL;
    if (last_event_id && !s_cursor_parse (last_event_id, &c->cursor))
        memset (&c->cursor, 0xff, sizeof c->cursor);
    pthread_mutex_lock (&self->lock);
    int rc = -1;
    if ((int64_t) self->nclients < self->max) {
        c->next = self->added;
        self->added = c;
        self->nclients++;
        pthread_cond_signal (&self->wake);
        rc = 0;
    }
    pthread_mutex_unlock (&self->lock);
    if (rc)
        free (c);
    return rc;
}

int
intake_ops_stream_retry_s (intake_ops_stream_t *self)
{
    return (int) (self->keepalive_ms / 1000) + 1;
}

static void
s_send (s_client_t *c, const char *event, const char *id, const char *data, int64_t now)
{
    char *frame = asp_sse_frame (event, id, data);
    if (frame) {
        asp_http_stream_write (c->stream, frame, strlen (frame));
        free (frame);
    }
    c->sent_ms = now;
}

//  ---------------------------------------------------------------------
//  Reading the feeds

//  Every shard's latest feed id (where a new client starts): false when
//  Redis failed.
static bool
s_tails (asp_rds_t *rds, s_cursor_t *c)
{
    const char *argv [] = { "XREVRANGE", INTAKE_KEY_FEED, "+", "-", "COUNT", "1" };
    redisReply *r [ASP_SHARDS];
    int rc = asp_rds_each_shard (rds, 6, argv, r);
    for (unsigned n = 0; rc == 0 && n < ASP_SHARDS; n++) {
        c->at [n] = (s_sid_t) { 0, 0 };
        if (r [n]->type == REDIS_REPLY_ARRAY && r [n]->elements == 1
        &&  r [n]->element [0]->type == REDIS_REPLY_ARRAY && r [n]->element [0]->elements == 2) {
            const redisReply *id = r [n]->element [0]->element [0];
            s_sid_parse (id->str, id->len, &c->at [n]);
        }
    }
    for (unsigned n = 0; n < ASP_SHARDS; n++)
        if (r [n])
            freeReplyObject (r [n]);
    return rc == 0;
}

//  The field value of an XINFO STREAM reply's name, as an id.
static bool
s_xinfo_id (const redisReply *r, const char *name, s_sid_t *out)
{
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2)
        if (r->element [i]->type == REDIS_REPLY_STRING && strcmp (r->element [i]->str, name) == 0
        &&  r->element [i + 1]->type == REDIS_REPLY_STRING)
            return s_sid_parse (r->element [i + 1]->str, r->element [i + 1]->len, out);
    return false;
}

//  Whether the feeds still hold everything after c: no entry after it
//  was trimmed (Redis 7's max-deleted-entry-id), and it is not beyond the
//  feed's end (a Redis that lost its data). 1 held, 0 gone, -1 Redis failed.
static int
s_held (asp_rds_t *rds, const s_cursor_t *c)
{
    //  (The key is XINFO's third word: asp_rds_each_shard tags the second.)
    redisReply *r [ASP_SHARDS] = { 0 };
    bool sent = asp_rds_ready (rds);
    for (unsigned n = 0; sent && n < ASP_SHARDS; n++) {
        char key [ASP_KEY_MAX];
        asp_key (key, sizeof key, n, INTAKE_KEY_FEED, NULL);
        const char *argv [] = { "XINFO", "STREAM", key };
        size_t lens [] = { 5, 6, strlen (key) };
        sent = asp_rds_append (rds, 3, argv, lens) == 0;
    }
    for (unsigned n = 0; sent && n < ASP_SHARDS; n++)
        r [n] = asp_rds_reply (rds);
    int held = 1;
    for (unsigned n = 0; n < ASP_SHARDS; n++) {
        s_sid_t last = { 0, 0 }, deleted = { 0, 0 };
        bool zero = c->at [n].ms == 0 && c->at [n].seq == 0;
        if (!r [n])
            held = -1;
        else
        if (r [n]->type == REDIS_REPLY_ERROR) {
            //  No such key: held only by a cursor from before any entry.
            if (!zero && held == 1)
                held = 0;
        }
        else
        if (!s_xinfo_id (r [n], "last-generated-id", &last) || !s_xinfo_id (r [n], "max-deleted-entry-id", &deleted)
        ||  s_sid_cmp (&c->at [n], &last) > 0 || s_sid_cmp (&deleted, &c->at [n]) > 0) {
            if (held == 1)
                held = 0;
        }
    }
    for (unsigned n = 0; n < ASP_SHARDS; n++)
        if (r [n])
            freeReplyObject (r [n]);
    return held;
}

typedef struct {
    s_sid_t sid;
    unsigned shard;
    const char *id;                 //  the ticket (into the reply)
} s_entry_t;

static int
s_entry_cmp (const void *a, const void *b)
{
    const s_entry_t *x = (const s_entry_t *) a, *y = (const s_entry_t *) b;
    int c = s_sid_cmp (&x->sid, &y->sid);
    return c? c: x->shard < y->shard? -1: x->shard > y->shard;
}

//  The record fields a change shows, in HMGET order.
static const char *s_fields [] = { "status", "type", "customer_region", "partner_id", "priority", "updated_ms" };
#define S_NFIELDS 6

//  One change as a frame shows it, from an HMGET of s_fields.
static cJSON *
s_change (const char *id, const redisReply *h)
{
    cJSON *t = cJSON_CreateObject ();
    cJSON_AddStringToObject (t, "id", id);
    for (int f = 0; f < 4; f++) {
        const redisReply *v = h->element [f];
        const char *name = f == 2? "region": f == 3? "partner": s_fields [f];
        if (v->type == REDIS_REPLY_STRING && *v->str)
            cJSON_AddStringToObject (t, name, v->str);
        else
        if (f == 3)
            cJSON_AddNullToObject (t, name);
        else
            cJSON_AddStringToObject (t, name, "");
    }
    for (int f = 4; f < S_NFIELDS; f++)
        cJSON_AddNumberToObject (t, s_fields [f], h->element [f]->type == REDIS_REPLY_STRING
                                                  ? strtod (h->element [f]->str, NULL): 0);
    return t;
}

//  The changes after *cur: a frame's JSON (the caller frees it), *cur
//  moved past them; "" when there are none; NULL when Redis failed.
static char *
s_changes (asp_rds_t *rds, s_cursor_t *cur, bool *more_out)
{
    if (!asp_rds_ready (rds))
        return NULL;
    bool failed = false;
    for (unsigned n = 0; n < ASP_SHARDS && !failed; n++) {
        char key [ASP_KEY_MAX], from [48], count [16];
        asp_key (key, sizeof key, n, INTAKE_KEY_FEED, NULL);
        snprintf (from, sizeof from, "(%" PRIu64 "-%" PRIu64, cur->at [n].ms, cur->at [n].seq);
        snprintf (count, sizeof count, "%d", INTAKE_OPS_FRAME_MAX);
        const char *argv [] = { "XRANGE", key, from, "+", "COUNT", count };
        size_t lens [6];
        for (int i = 0; i < 6; i++)
            lens [i] = strlen (argv [i]);
        failed = asp_rds_append (rds, 6, argv, lens) != 0;
    }
    redisReply *r [ASP_SHARDS] = { 0 };
    for (unsigned n = 0; n < ASP_SHARDS && !failed; n++) {
        r [n] = asp_rds_reply (rds);
        failed = !r [n] || r [n]->type != REDIS_REPLY_ARRAY;
    }
    s_entry_t *e = NULL;
    size_t ne = 0;
    bool more = false;
    if (!failed) {
        e = (s_entry_t *) calloc (ASP_SHARDS * INTAKE_OPS_FRAME_MAX, sizeof *e);
        assert (e);
        for (unsigned n = 0; n < ASP_SHARDS; n++)
            for (size_t i = 0; i < r [n]->elements; i++) {
                const redisReply *x = r [n]->element [i];
                if (x->type != REDIS_REPLY_ARRAY || x->elements != 2 || x->element [1]->type != REDIS_REPLY_ARRAY
                ||  x->element [1]->elements != 2 || !s_sid_parse (x->element [0]->str, x->element [0]->len, &e [ne].sid))
                    continue;
                e [ne].shard = n;
                e [ne++].id = x->element [1]->element [1]->str;
            }
        //  Oldest first across the shards; a frame takes at most
        //  INTAKE_OPS_FRAME_MAX, the rest comes next time.
        qsort (e, ne, sizeof *e, s_entry_cmp);
        if (ne > INTAKE_OPS_FRAME_MAX) {
            ne = INTAKE_OPS_FRAME_MAX;
            more = true;
        }
        for (unsigned n = 0; n < ASP_SHARDS; n++)
            if (r [n]->elements == INTAKE_OPS_FRAME_MAX)
                more = true;
    }
    //  The cursor moves past the entries the frame takes (the rest, if
    //  any, come next time).
    s_cursor_t to = *cur;
    for (size_t i = 0; !failed && i < ne; i++)
        to.at [e [i].shard] = e [i].sid;
    //  Each changed ticket once (at its latest entry), its record as it
    //  is now.
    s_entry_t *u = (s_entry_t *) calloc (ne + 1, sizeof *u);
    assert (u);
    size_t nu = 0;
    for (size_t i = 0; !failed && i < ne; i++) {
        bool dup = false;
        for (size_t j = i + 1; j < ne && !dup; j++)
            dup = strcmp (e [j].id, e [i].id) == 0;
        if (dup)
            continue;
        char key [ASP_KEY_MAX];
        asp_key (key, sizeof key, e [i].shard, INTAKE_KEY_TICKET, e [i].id);
        const char *argv [2 + S_NFIELDS] = { "HMGET", key };
        size_t lens [2 + S_NFIELDS];
        for (int f = 0; f < S_NFIELDS; f++)
            argv [2 + f] = s_fields [f];
        for (int f = 0; f < 2 + S_NFIELDS; f++)
            lens [f] = strlen (argv [f]);
        failed = asp_rds_append (rds, 2 + S_NFIELDS, argv, lens) != 0;
        u [nu++] = e [i];
    }
    cJSON *out = cJSON_CreateObject ();
    cJSON *arr = cJSON_AddArrayToObject (out, "changes");
    for (size_t i = 0; i < nu && !failed; i++) {
        redisReply *h = asp_rds_reply (rds);
        failed = !h;
        //  A record without a status is gone (never made, or archived).
        if (h && h->type == REDIS_REPLY_ARRAY && h->elements == S_NFIELDS
        &&  h->element [0]->type == REDIS_REPLY_STRING)
            cJSON_AddItemToArray (arr, s_change (u [i].id, h));
        if (h)
            freeReplyObject (h);
    }
    cJSON_AddBoolToObject (out, "more", more);
    *more_out = more;
    char *json = failed? NULL: ne > 0? cJSON_PrintUnformatted (out): strdup ("");
    cJSON_Delete (out);
    free (u);
    if (json)
        *cur = to;
    free (e);
    for (unsigned n = 0; n < ASP_SHARDS; n++)
        if (r [n])
            freeReplyObject (r [n]);
    if (failed) {
        free (json);
        asp_rds_drop (rds);
        return NULL;
    }
    return json;
}

//  ---------------------------------------------------------------------
//  The thread

//  The summary as one line, and the same without the figures that change
//  with the clock alone (to tell whether it changed).
static bool
s_summary (intake_ops_stream_t *self, int64_t now, char **line, char **key)
{
    cJSON *s = intake_ops_summary (self->rds, now);
    if (!s)
        return false;
    *line = cJSON_PrintUnformatted (s);
    cJSON_DeleteItemFromObject (s, "time_ms");
    cJSON *svc;
    cJSON_ArrayForEach (svc, cJSON_GetObjectItem (s, "services"))
        cJSON_DeleteItemFromObject (svc, "age_ms");
    *key = cJSON_PrintUnformatted (s);
    cJSON_Delete (s);
    return true;
}

//  Takes the added clients in; lets go of those gone.
static void
s_admit (intake_ops_stream_t *self)
{
    pthread_mutex_lock (&self->lock);
    s_client_t *added = self->added;
    self->added = NULL;
    pthread_mutex_unlock (&self->lock);
    while (added) {
        s_client_t *c = added;
        added = c->next;
        c->next = self->clients;
        self->clients = c;
    }
    size_t gone = 0;
    for (s_client_t **p = &self->clients; *p;) {
        s_client_t *c = *p;
        if (asp_http_stream_gone (c->stream)) {
            *p = c->next;
            asp_http_stream_release (&c->stream);
            free (c);
            gone++;
        }
        else
            p = &c->next;
    }
    pthread_mutex_lock (&self->lock);
    self->nclients -= gone;
    pthread_mutex_unlock (&self->lock);
}

//  New clients: where their changes start, and their first summary.
static void
s_start (intake_ops_stream_t *self, const char *summary, int64_t now)
{
    s_cursor_t tails;
    bool have_tails = false;
    for (s_client_t *c = self->clients; c; c = c->next) {
        if (c->started)
            continue;
        int held = c->resume? s_held (self->rds, &c->cursor): 0;
        if (held < 0)
            return;                 //  Redis failed: next time
        if (c->resume && held == 0)
            s_send (c, "reset", NULL, "{}", now);
        if (!held) {
            if (!have_tails && !s_tails (self->rds, &tails))
                return;
            have_tails = true;
            c->cursor = tails;
        }
        s_send (c, "summary", NULL, summary, now);
        c->started = true;
    }
}

//  The changes after each distinct cursor, to the clients holding it.
static void
s_fan_out (intake_ops_stream_t *self, int64_t now)
{
    for (s_client_t *c = self->clients; c; c = c->next)
        c->resume = false;          //  (reused below: "served this tick")
    for (s_client_t *c = self->clients; c; c = c->next) {
        if (!c->started || c->resume)
            continue;
        //  A backlog (a burst of changes, a client resuming far behind)
        //  goes out in several frames at once, up to S_CATCH_UP of them
        //  a tick: the stream keeps up with any sustained rate below that.
        s_cursor_t from = c->cursor;
        bool more = true;
        for (int frames = 0; more && frames < S_CATCH_UP; frames++) {
            s_cursor_t to = from;
            char *json = s_changes (self->rds, &to, &more);
            if (!json)
                return;
            char id [INTAKE_OPS_CURSOR_MAX];
            s_cursor_print (&to, id, sizeof id);
            for (s_client_t *d = c; d; d = d->next)
                if (d->started && !d->resume && memcmp (&d->cursor, &from, sizeof from) == 0) {
                    if (*json)
                        s_send (d, "tickets", id, json, now);
                    d->cursor = to;
                }
            free (json);
            from = to;
        }
        for (s_client_t *d = c; d; d = d->next)
            if (d->started && memcmp (&d->cursor, &from, sizeof from) == 0)
                d->resume = true;
    }
}

static void
s_keepalive (intake_ops_stream_t *self, int64_t now)
{
    for (s_client_t *c = self->clients; c; c = c->next)
        if (now - c->sent_ms >= self->keepalive_ms) {
            asp_http_stream_write (c->stream, ": keepalive\n\n", 13);
            c->sent_ms = now;
        }
}

static void
s_tick (intake_ops_stream_t *self)
{
    s_admit (self);
    if (!self->clients) {
        free (self->summary);
        self->summary = NULL;       //  the next client gets a fresh one anyway
        return;
    }
    int64_t now = asp_now_ms ();
    char *line = NULL, *key = NULL;
    if (s_summary (self, now, &line, &key)) {
        s_start (self, line, now);
        if (!self->summary || strcmp (self->summary, key)) {
            for (s_client_t *c = self->clients; c; c = c->next)
                if (c->started && c->sent_ms != now)
                    s_send (c, "summary", NULL, line, now);
            free (self->summary);
            self->summary = key;
            key = NULL;
        }
        s_fan_out (self, now);
    }
    else
        asp_rds_drop (self->rds);
    free (line);
    free (key);
    s_keepalive (self, asp_now_ms ());
}

static void *
s_run (void *arg)
{
    intake_ops_stream_t *self = (intake_ops_stream_t *) arg;
    self->rds = asp_rds_new ();
    pthread_mutex_lock (&self->lock);
    while (!self->stop) {
        struct timespec until;
        clock_gettime (CLOCK_REALTIME, &until);
        until.tv_sec += self->interval_ms / 1000;
        until.tv_nsec += (self->interval_ms % 1000) * 1000000;
        if (until.tv_nsec >= 1000000000) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000;
        }
        //  Sleeps an interval, or less when a client comes.
        while (!self->stop && !self->added)
            if (pthread_cond_timedwait (&self->wake, &self->lock, &until) == ETIMEDOUT)
                break;
        if (self->stop)
            break;
        pthread_mutex_unlock (&self->lock);
        s_tick (self);
        pthread_mutex_lock (&self->lock);
    }
    pthread_mutex_unlock (&self->lock);
    asp_rds_destroy (&self->rds);
    return NULL;
}

intake_ops_stream_t *
intake_ops_stream_new (void)
{
    intake_ops_stream_t *self = (intake_ops_stream_t *) calloc (1, sizeof *self);
    assert (self);
    self->interval_ms = asp_cfg_int ("ASP_OPS_STREAM_MS", 1000, 50, 60000);
    self->max = asp_cfg_int ("ASP_OPS_STREAM_MAX", 64, 1, 10000);
    self->keepalive_ms = asp_cfg_int ("ASP_OPS_KEEPALIVE_MS", 15000, 100, 300000);
    pthread_mutex_init (&self->lock, NULL);
    pthread_cond_init (&self->wake, NULL);
    int rc = pthread_create (&self->thread, NULL, s_run, self);
    assert (rc == 0);
    return self;
}

void
intake_ops_stream_destroy (intake_ops_stream_t **self_p)
{
    intake_ops_stream_t *self = *self_p;
    if (self) {
        pthread_mutex_lock (&self->lock);
        self->stop = true;
        pthread_cond_signal (&self->wake);
        pthread_mutex_unlock (&self->lock);
        pthread_join (self->thread, NULL);
        s_admit (self);
        while (self->clients) {
            s_client_t *c = self->clients;
            self->clients = c->next;
            asp_http_stream_release (&c->stream);
            free (c);
        }
        free (self->summary);
        pthread_cond_destroy (&self->wake);
        pthread_mutex_destroy (&self->lock);
        free (self);
        *self_p = NULL;
    }
}

void
intake_ops_stream_test (void)
{
    //  A cursor prints and parses back; anything else is refused.
    s_cursor_t c, back;
    for (unsigned n = 0; n < ASP_SHARDS; n++)
        c.at [n] = (s_sid_t) { 1764700000000ULL + n, n % 3 };
    char text [INTAKE_OPS_CURSOR_MAX];
    s_cursor_print (&c, text, sizeof text);
    assert (s_cursor_parse (text, &back) && memcmp (&c, &back, sizeof c) == 0);
    const char *bad [] = { "", "1-0", "x", "1-0.2-0", "-1-0", NULL };
    for (int i = 0; bad [i]; i++)
        assert (!s_cursor_parse (bad [i], &back));
    char cut [INTAKE_OPS_CURSOR_MAX + 2];
    snprintf (cut, sizeof cut, "%s.", text);
    assert (!s_cursor_parse (cut, &back));
    s_sid_t a = { 5, 1 }, b = { 5, 2 }, d = { 6, 0 };
    assert (s_sid_cmp (&a, &b) < 0 && s_sid_cmp (&b, &d) < 0 && s_sid_cmp (&d, &d) == 0);
}
