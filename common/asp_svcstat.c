#include "asp_svcstat.h"
#include "asp_config.h"
#include "asp_id.h"
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct asp_svcstat_writer_t {
    char key [96];
    asp_counter_t *counter;
    asp_histo_t *histo;
    //  The meters at the start of the interval.
    int64_t since_ms;               //  monotonic
    uint64_t count;
    asp_histo_snap_t snap;
};

//  What the rate counts: the counter, else the histogram's observations.
static uint64_t
s_count (asp_svcstat_writer_t *self, const asp_histo_snap_t *snap)
{
    return self->counter? asp_counter_value (self->counter): snap->count;
}

static void
s_start (asp_svcstat_writer_t *self, int64_t mono_ms)
{
    memset (&self->snap, 0, sizeof self->snap);
    if (self->histo)
        asp_histo_snap (self->histo, &self->snap);
    self->count = s_count (self, &self->snap);
    self->since_ms = mono_ms;
}

asp_svcstat_writer_t *
asp_svcstat_writer_new (const char *service, asp_counter_t *counter, asp_histo_t *histo)
{
    asp_svcstat_writer_t *self = (asp_svcstat_writer_t *) calloc (1, sizeof *self);
    assert (self);
    snprintf (self->key, sizeof self->key, ASP_SVCSTAT_KEY, service);
    asp_svcstat_writer_meters (self, counter, histo);
    return self;
}

void
asp_svcstat_writer_destroy (asp_svcstat_writer_t **self_p)
{
    free (*self_p);
    *self_p = NULL;
}

void
asp_svcstat_writer_meters (asp_svcstat_writer_t *self, asp_counter_t *counter, asp_histo_t *histo)
{
    self->counter = counter;
    self->histo = histo;
    s_start (self, asp_mono_ms ());
}

void
asp_svcstat_writer_measure (asp_svcstat_writer_t *self, int64_t mono_ms, int64_t now_ms, asp_svcstat_t *out)
{
    asp_histo_snap_t snap = { { 0 }, 0 };
    if (self->histo)
        asp_histo_snap (self->histo, &snap);
    uint64_t count = s_count (self, &snap);
    int64_t span = mono_ms - self->since_ms;
    out->time_ms = now_ms;
    out->rate_per_s = span > 0 && count > self->count? (double) (count - self->count) * 1000.0 / (double) span: 0;
    out->p50_ms = asp_histo_quantile_ms (&snap, &self->snap, 0.50);
    out->p99_ms = asp_histo_quantile_ms (&snap, &self->snap, 0.99);
    self->snap = snap;
    self->count = count;
    self->since_ms = mono_ms;
}

int
asp_svcstat_writer_write (asp_svcstat_writer_t *self, asp_rds_t *rds, int64_t mono_ms, int64_t now_ms)
{
    asp_svcstat_t st;
    asp_svcstat_writer_measure (self, mono_ms, now_ms, &st);
    char time [24], rate [32], p50 [32], p99 [32], ttl [16];
    snprintf (time, sizeof time, "%lld", (long long) st.time_ms);
    snprintf (rate, sizeof rate, "%.3f", st.rate_per_s);
    snprintf (p50, sizeof p50, "%.3f", st.p50_ms);
    snprintf (p99, sizeof p99, "%.3f", st.p99_ms);
    snprintf (ttl, sizeof ttl, "%d", ASP_SVCSTAT_TTL_MS);
    const char *hset [] = { "HSET", self->key, ASP_SVCSTAT_TIME, time, ASP_SVCSTAT_RATE, rate,
                            ASP_SVCSTAT_P50, p50, ASP_SVCSTAT_P99, p99 };
    const char *expire [] = { "PEXPIRE", self->key, ttl };
    size_t hlens [10], elens [3];
    for (int i = 0; i < 10; i++)
        hlens [i] = strlen (hset [i]);
    for (int i = 0; i < 3; i++)
        elens [i] = strlen (expire [i]);
    if (asp_rds_append (rds, 10, hset, hlens) || asp_rds_append (rds, 3, expire, elens))
        return -1;
    int rc = 0;
    for (int i = 0; i < 2; i++) {
        redisReply *r = asp_rds_reply (rds);
        if (!r || r->type == REDIS_REPLY_ERROR)
            rc = -1;
        if (r)
            freeReplyObject (r);
    }
    return rc;
}

const char *
asp_svcstat_service (asp_svc_id_t id)
{
    return id == ASP_SVC_SLA? "sla-timer": asp_svc_name (id);
}

static const char *
s_hfield (const redisReply *r, const char *name)
{
    for (size_t i = 0; i + 1 < r->elements; i += 2)
        if (r->element [i]->type == REDIS_REPLY_STRING && strcmp (r->element [i]->str, name) == 0)
            return r->element [i + 1]->type == REDIS_REPLY_STRING? r->element [i + 1]->str: NULL;
    return NULL;
}

int
asp_svcstat_read (redisContext *ctx, const char *service, asp_svcstat_t *out)
{
    memset (out, 0, sizeof *out);
    char key [96];
    snprintf (key, sizeof key, ASP_SVCSTAT_KEY, service);
    redisReply *r = ctx? (redisReply *) redisCommand (ctx, "HGETALL %s", key): NULL;
    if (!r)
        return -1;
    int rc = -1;
    if (r->type == REDIS_REPLY_ARRAY) {
        const char *time = s_hfield (r, ASP_SVCSTAT_TIME), *rate = s_hfield (r, ASP_SVCSTAT_RATE);
        const char *p50 = s_hfield (r, ASP_SVCSTAT_P50), *p99 = s_hfield (r, ASP_SVCSTAT_P99);
        rc = 1;                     //  none, or half a hash: treated as none
        if (time && rate && p50 && p99) {
            out->time_ms = atoll (time);
            out->rate_per_s = atof (rate);
            out->p50_ms = atof (p50);
            out->p99_ms = atof (p99);
            rc = 0;
        }
    }
    freeReplyObject (r);
    return rc;
}

//  --------------------------------------------------------------------------
//  Self-test (a real Redis).

#include "asp_selftest.h"

void
asp_svcstat_test (void)
{
    //  The figures of an interval: 200 handled in 2 s, latencies in
    //  (2 ms, 5 ms] and one in (0.5 s, 2 s].
    asp_metrics_t *m = asp_metrics_new ("svcstat");
    asp_counter_t *c = asp_metrics_counter (m, "handled_total", "Handled.");
    asp_histo_t *h = asp_metrics_histo (m, "handle_seconds", "Handling.");
    asp_counter_add (c, 7);         //  before the writer: not in its interval
    asp_svcstat_writer_t *w = asp_svcstat_writer_new ("selftest", c, h);
    int64_t t0 = asp_mono_ms ();
    asp_svcstat_writer_measure (w, t0, 1000, &(asp_svcstat_t) { 0 });
    for (int i = 0; i < 199; i++)
        asp_histo_observe_us (h, 3500);
    asp_histo_observe_us (h, 1000000);
    asp_counter_add (c, 200);
    asp_svcstat_t st;
    asp_svcstat_writer_measure (w, t0 + 2000, 123456, &st);
    assert (st.time_ms == 123456);
    assert (st.rate_per_s > 99.9 && st.rate_per_s < 100.1);
    assert (st.p50_ms > 2.0 && st.p50_ms <= 5.0);
    assert (st.p99_ms > 2.0 && st.p99_ms <= 5.0);
    //  Nothing in the next interval: rate and quantiles 0.
    asp_svcstat_writer_measure (w, t0 + 7000, 123457, &st);
    assert (st.rate_per_s == 0 && st.p50_ms == 0 && st.p99_ms == 0);
    //  Without a counter the histogram's count is the rate.
    asp_svcstat_writer_meters (w, NULL, h);
    for (int i = 0; i < 10; i++)
        asp_histo_observe_us (h, 1500);
    asp_svcstat_writer_measure (w, asp_mono_ms () + 1000, 1, &st);
    assert (st.rate_per_s > 8 && st.rate_per_s <= 10.01);
    assert (st.p50_ms > 1.0 && st.p50_ms <= 2.0);

    assert (strcmp (asp_svcstat_service (ASP_SVC_SLA), "sla-timer") == 0);
    assert (strcmp (asp_svcstat_service (ASP_SVC_INTAKE), "intake") == 0);

    //  Written and read back through Redis, with its expiry.
    asp_selftest_need_redis ("asp_svcstat_test");
    asp_rds_t *rds = asp_rds_new ();
    assert (asp_rds_ready (rds));
    redisReply *del = asp_rds_cmd (rds, "DEL asp:svcstat:selftest");
    assert (del);
    freeReplyObject (del);
    redisContext *ctx = redisConnect (asp_cfg_str ("ASP_REDIS_HOST", "127.0.0.1"),
                                      (int) asp_cfg_int ("ASP_REDIS_PORT", 6379, 1, 65535));
    assert (ctx && !ctx->err);
    const char *pw = asp_cfg_str ("ASP_REDIS_PASSWORD", "");
    if (*pw)
        freeReplyObject (redisCommand (ctx, "AUTH %s", pw));
    assert (asp_svcstat_read (ctx, "selftest", &st) == 1);
    asp_histo_observe_us (h, 1500);
    assert (asp_svcstat_writer_write (w, rds, asp_mono_ms () + 5000, 4242) == 0);
    assert (asp_svcstat_read (ctx, "selftest", &st) == 0);
    assert (st.time_ms == 4242 && st.rate_per_s > 0 && st.p50_ms > 1.0 && st.p99_ms <= 2.0);
    redisReply *ttl = (redisReply *) redisCommand (ctx, "PTTL asp:svcstat:selftest");
    assert (ttl && ttl->type == REDIS_REPLY_INTEGER && ttl->integer > 0 && ttl->integer <= ASP_SVCSTAT_TTL_MS);
    freeReplyObject (ttl);
    freeReplyObject (redisCommand (ctx, "DEL asp:svcstat:selftest"));
    redisFree (ctx);
    asp_rds_destroy (&rds);
    asp_svcstat_writer_destroy (&w);
    asp_metrics_destroy (&m);
}
