/*  asp_metrics: counters, gauges and histograms in Prometheus text format.

    Values are atomics, so the loop thread updates them and the HTTP thread
    renders them without locks. Names get the prefix asp_ and a label
    service="<name>".

    Families carry up to ASP_LABELS_MAX more labels with fixed names. A
    label set is created the first time it is used, in a fixed table
    claimed with compare-and-swap: lookups never lock, from any number of
    threads. Each family has a cap on its label sets (its cardinality);
    past the cap a sample goes to the set whose values are all "other" and
    asp_metric_label_overflow_total{family="<name>"} counts it. Values are
    cut to ASP_LABEL_VALUE_MAX - 1 bytes (on a UTF-8 boundary; bytes that
    are not UTF-8 become '?') and escaped when rendered.                   */
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
#define ASP_HISTO_BUCKETS 12
//  A histogram's counts at one moment (the last bucket is +Inf).
typedef struct {
    uint64_t buckets [ASP_HISTO_BUCKETS + 1];
    uint64_t count;
} asp_histo_snap_t;
void asp_histo_snap (asp_histo_t *h, asp_histo_snap_t *out);
//  The q-quantile (0..1), in ms, of what was observed between prev and
//  now, interpolated linearly inside its bucket (a sample past the last
//  bound counts as the last bound). 0 when nothing was observed.
double asp_histo_quantile_ms (const asp_histo_snap_t *now, const asp_histo_snap_t *prev, double q);

#define ASP_LABELS_MAX      3
#define ASP_LABEL_VALUE_MAX 64
typedef struct asp_family_t asp_family_t;
//  Registers a family of counters or histograms. labels names its labels,
//  comma-separated ("region,partner,outcome"; 1 to ASP_LABELS_MAX, not
//  "service" or "le"); cap bounds its label sets (1 .. 100000). Returns a
//  handle owned by self.
asp_family_t *asp_metrics_counter_family (asp_metrics_t *self, const char *name, const char *help,
                                          const char *labels, unsigned cap);
asp_family_t *asp_metrics_histo_family (asp_metrics_t *self, const char *name, const char *help,
                                        const char *labels, unsigned cap);
//  The counter (histogram) of one label set: values in the order of the
//  labels, NULL for "" and for labels the family does not have. Valid for
//  the life of self; lock-free.
asp_counter_t *asp_family_counter (asp_family_t *f, const char *v1, const char *v2, const char *v3);
asp_histo_t *asp_family_histo (asp_family_t *f, const char *v1, const char *v2, const char *v3);
//  Samples that went to the "other" set because the family was full.
uint64_t asp_family_overflow (asp_family_t *f);

//  Renders all metrics; caller frees.
char *asp_metrics_render (asp_metrics_t *self);

void asp_metrics_test (void);
#endif
