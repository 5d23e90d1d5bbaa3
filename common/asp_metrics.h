/*  asp_metrics: counters, gauges and histograms in Prometheus text format.

    Values are atomics, so the loop thread updates them and the HTTP thread
    renders them without locks. Names get the prefix asp_ and a label
    service="<name>".                                                      */
#ifndef ASP_METRICS_H
#define ASP_METRICS_H
#include <stdint.h>

typedef struct asp_metrics_t asp_metrics_t;
typedef struct asp_counter_t asp_counter_t;
typedef struct asp_histo_t asp_histo_t;
typedef double (asp_gauge_fn) (void *arg);

asp_metrics_t *asp_metrics_new (const char *service);
void asp_metrics_destroy (asp_metrics_t **self_p);
//  Registers a counter (name without prefix). Returns a handle owned by self.
asp_counter_t *asp_metrics_counter (asp_metrics_t *self, const char *name, const char *help);
void asp_counter_inc (asp_counter_t *c);
void asp_counter_add (asp_counter_t *c, uint64_t n);
uint64_t asp_counter_value (asp_counter_t *c);
//  A gauge read through fn(arg) at render time; fn must be thread-safe.
void asp_metrics_gauge (asp_metrics_t *self, const char *name, const char *help, asp_gauge_fn *fn, void *arg);
//  Latency histogram in seconds, fixed buckets 100 us .. 10 s.
asp_histo_t *asp_metrics_histo (asp_metrics_t *self, const char *name, const char *help);
void asp_histo_observe_us (asp_histo_t *h, int64_t us);
//  Renders all metrics; caller frees.
char *asp_metrics_render (asp_metrics_t *self);

void asp_metrics_test (void);
#endif
