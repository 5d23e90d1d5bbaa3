/*  asp_svcstat: each service's heartbeat in Redis, read by the ops summary.

    Every ASP_SVCSTAT_INTERVAL_MS each service (asp_svc's loop) writes one
    hash, ASP_SVCSTAT_KEY with its name as ops know it (asp_svcstat_service:
    intake, routing, sla-timer, notification, feedback; the names of
    docker-compose.yml and of /v1/ops/summary), that expires after
    ASP_SVCSTAT_TTL_MS: a service that stopped writing drops out by itself.

      asp:svcstat:<service>   hash, PEXPIRE 30 s
        time_ms      when it was written (ms since the epoch)
        rate_per_s   messages or requests handled per second over the
                     last interval (the service's main counter)
        p50_ms       median and 99th percentile of the service's main
        p99_ms       latency histogram over the last interval,
                     interpolated inside the bucket; 0 when idle

    The key has no shard tag on purpose: it belongs to no ticket and is
    only ever touched alone (one HSET, one PEXPIRE), so any cluster node
    may hold it. This header is the contract between the writer (the
    services) and the readers (intake's /v1/ops/summary).                  */
#ifndef ASP_SVCSTAT_H
#define ASP_SVCSTAT_H
#include "asp_events.h"
#include "asp_metrics.h"
#include "asp_rds.h"
#include <hiredis/hiredis.h>
#include <stdint.h>

#define ASP_SVCSTAT_KEY         "asp:svcstat:%s"
#define ASP_SVCSTAT_TIME        "time_ms"
#define ASP_SVCSTAT_RATE        "rate_per_s"
#define ASP_SVCSTAT_P50         "p50_ms"
#define ASP_SVCSTAT_P99         "p99_ms"
#define ASP_SVCSTAT_INTERVAL_MS 5000
#define ASP_SVCSTAT_TTL_MS      30000

typedef struct {
    int64_t time_ms;
    double rate_per_s;
    double p50_ms, p99_ms;
} asp_svcstat_t;

//  The name in the key: the process's (sla-timer), not the bus's (sla).
const char *asp_svcstat_service (asp_svc_id_t id);

//  Reads service's heartbeat. 0 when found (out filled), 1 when there is
//  none (never written, or expired), -1 when Redis failed (hiredis: the
//  context cannot be used again; an asp_rds owner calls asp_rds_drop).
int asp_svcstat_read (redisContext *ctx, const char *service, asp_svcstat_t *out);

//  The writer: what one service measured since its last write.
typedef struct asp_svcstat_writer_t asp_svcstat_writer_t;
//  counter counts what the service handles (NULL: the histogram's count);
//  histo times it. Both owned by the caller's metrics, may be NULL.
asp_svcstat_writer_t *asp_svcstat_writer_new (const char *service, asp_counter_t *counter, asp_histo_t *histo);
void asp_svcstat_writer_destroy (asp_svcstat_writer_t **self_p);
//  Measures other meters from now on.
void asp_svcstat_writer_meters (asp_svcstat_writer_t *self, asp_counter_t *counter, asp_histo_t *histo);
//  The figures of the interval since the last call (or since new), at
//  mono_ms (asp_mono_ms) and now_ms (asp_now_ms); starts the next one.
void asp_svcstat_writer_measure (asp_svcstat_writer_t *self, int64_t mono_ms, int64_t now_ms, asp_svcstat_t *out);
//  Measures and writes the hash (HSET and PEXPIRE, one round trip). 0, or
//  -1 when Redis failed (the interval is measured all the same).
int asp_svcstat_writer_write (asp_svcstat_writer_t *self, asp_rds_t *rds, int64_t mono_ms, int64_t now_ms);

void asp_svcstat_test (void);
#endif
