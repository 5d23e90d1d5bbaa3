#include "asp_metrics.h"
#include <assert.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_BUCKETS 12
static const double s_bounds [S_BUCKETS] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.1, 0.5, 2.0, 10.0
};

struct asp_counter_t {
    atomic_uint_fast64_t value;
};

struct asp_histo_t {
    atomic_uint_fast64_t buckets [S_BUCKETS + 1];
    atomic_uint_fast64_t count;
    atomic_uint_fast64_t sum_us;
};

typedef enum { S_COUNTER, S_GAUGE, S_HISTO } s_kind_t;

typedef struct s_metric_t {
    struct s_metric_t *next;
    s_kind_t kind;
    char name [64];
    char help [160];
    asp_counter_t counter;
    asp_histo_t histo;
    asp_gauge_fn *fn;
    void *arg;
} s_metric_t;

struct asp_metrics_t {
    char service [32];
    pthread_mutex_t lock;       //  guards the list, not the values
    s_metric_t *head, *tail;
};

asp_metrics_t *
asp_metrics_new (const char *service)
{
    asp_metrics_t *self = (asp_metrics_t *) calloc (1, sizeof *self);
    assert (self);
    snprintf (self->service, sizeof self->service, "%s", service);
    pthread_mutex_init (&self->lock, NULL);
    return self;
}

void
asp_metrics_destroy (asp_metrics_t **self_p)
{
    asp_metrics_t *self = *self_p;
    if (!self)
        return;
    while (self->head) {
        s_metric_t *next = self->head->next;
        free (self->head);
        self->head = next;
    }
    pthread_mutex_destroy (&self->lock);
    free (self);
    *self_p = NULL;
}

static s_metric_t *
s_add (asp_metrics_t *self, s_kind_t kind, const char *name, const char *help)
{
    s_metric_t *m = (s_metric_t *) calloc (1, sizeof *m);
    assert (m);
    m->kind = kind;
    snprintf (m->name, sizeof m->name, "asp_%s", name);
    snprintf (m->help, sizeof m->help, "%s", help);
    pthread_mutex_lock (&self->lock);
    if (self->tail) self->tail->next = m; else self->head = m;
    self->tail = m;
    pthread_mutex_unlock (&self->lock);
    return m;
}

asp_counter_t *
asp_metrics_counter (asp_metrics_t *self, const char *name, const char *help)
{
    return &s_add (self, S_COUNTER, name, help)->counter;
}

void asp_counter_inc (asp_counter_t *c) { atomic_fetch_add (&c->value, 1); }
void asp_counter_add (asp_counter_t *c, uint64_t n) { atomic_fetch_add (&c->value, n); }
uint64_t asp_counter_value (asp_counter_t *c) { return atomic_load (&c->value); }

void
asp_metrics_gauge (asp_metrics_t *self, const char *name, const char *help, asp_gauge_fn *fn, void *arg)
{
    s_metric_t *m = s_add (self, S_GAUGE, name, help);
    m->fn = fn;
    m->arg = arg;
}

asp_histo_t *
asp_metrics_histo (asp_metrics_t *self, const char *name, const char *help)
{
    return &s_add (self, S_HISTO, name, help)->histo;
}

void
asp_histo_observe_us (asp_histo_t *h, int64_t us)
{
    double s = (double) us / 1e6;
    int b = 0;
    while (b < S_BUCKETS && s > s_bounds [b])
        b++;
    atomic_fetch_add (&h->buckets [b], 1);
    atomic_fetch_add (&h->count, 1);
    atomic_fetch_add (&h->sum_us, (uint64_t) (us > 0? us: 0));
}

typedef struct {
    char *buf;
    size_t len, cap;
} s_out_t;

static void
s_printf (s_out_t *o, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

static void
s_printf (s_out_t *o, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start (ap, fmt);
        int n = vsnprintf (o->buf + o->len, o->cap - o->len, fmt, ap);
        va_end (ap);
        if (n >= 0 && (size_t) n < o->cap - o->len) {
            o->len += (size_t) n;
            return;
        }
        o->cap = o->cap * 2 + (size_t) n + 64;
        o->buf = (char *) realloc (o->buf, o->cap);
        assert (o->buf);
    }
}

char *
asp_metrics_render (asp_metrics_t *self)
{
    s_out_t o = { (char *) malloc (4096), 0, 4096 };
    assert (o.buf);
    o.buf [0] = 0;
    const char *svc = self->service;
    pthread_mutex_lock (&self->lock);
    for (s_metric_t *m = self->head; m; m = m->next) {
        const char *type = m->kind == S_COUNTER? "counter": m->kind == S_GAUGE? "gauge": "histogram";
        s_printf (&o, "# HELP %s %s\n# TYPE %s %s\n", m->name, m->help, m->name, type);
        if (m->kind == S_COUNTER)
            s_printf (&o, "%s{service=\"%s\"} %llu\n", m->name, svc,
                      (unsigned long long) atomic_load (&m->counter.value));
        else
        if (m->kind == S_GAUGE)
            s_printf (&o, "%s{service=\"%s\"} %.6g\n", m->name, svc, m->fn (m->arg));
        else {
            uint64_t cum = 0;
            for (int b = 0; b < S_BUCKETS; b++) {
                cum += atomic_load (&m->histo.buckets [b]);
                s_printf (&o, "%s_bucket{service=\"%s\",le=\"%g\"} %llu\n", m->name, svc,
                          s_bounds [b], (unsigned long long) cum);
            }
            cum += atomic_load (&m->histo.buckets [S_BUCKETS]);
            s_printf (&o, "%s_bucket{service=\"%s\",le=\"+Inf\"} %llu\n", m->name, svc, (unsigned long long) cum);
            s_printf (&o, "%s_sum{service=\"%s\"} %.6f\n", m->name, svc,
                      (double) atomic_load (&m->histo.sum_us) / 1e6);
            s_printf (&o, "%s_count{service=\"%s\"} %llu\n", m->name, svc,
                      (unsigned long long) atomic_load (&m->histo.count));
        }
    }
    pthread_mutex_unlock (&self->lock);
    return o.buf;
}

static double
s_test_gauge (void *arg)
{
    return *(double *) arg;
}

void
asp_metrics_test (void)
{
    asp_metrics_t *m = asp_metrics_new ("test");
    asp_counter_t *c = asp_metrics_counter (m, "things_total", "Things.");
    asp_counter_inc (c);
    asp_counter_add (c, 2);
    assert (asp_counter_value (c) == 3);
    double g = 1.5;
    asp_metrics_gauge (m, "level", "Level.", s_test_gauge, &g);
    asp_histo_t *h = asp_metrics_histo (m, "latency_seconds", "Latency.");
    asp_histo_observe_us (h, 150);
    asp_histo_observe_us (h, 50000000);
    char *text = asp_metrics_render (m);
    assert (strstr (text, "asp_things_total{service=\"test\"} 3\n"));
    assert (strstr (text, "asp_level{service=\"test\"} 1.5\n"));
    assert (strstr (text, "asp_latency_seconds_bucket{service=\"test\",le=\"0.00025\"} 1\n"));
    assert (strstr (text, "asp_latency_seconds_count{service=\"test\"} 2\n"));
    free (text);
    asp_metrics_destroy (&m);
}
