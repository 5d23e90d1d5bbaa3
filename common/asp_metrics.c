#include "asp_metrics.h"
#include <assert.h>
#include <stdarg.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_BUCKETS ASP_HISTO_BUCKETS
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

typedef enum { S_COUNTER, S_GAUGE, S_HISTO, S_COUNTER_FAMILY, S_HISTO_FAMILY } s_kind_t;

//  A slot of a family's table goes FREE -> CLAIMED (one writer copies the
//  values in) -> READY (values fixed for ever; readers may compare them).
typedef enum { S_FREE = 0, S_CLAIMED, S_READY } s_slot_state_t;

typedef struct {
    atomic_int state;
    uint64_t hash;
    char values [ASP_LABELS_MAX][ASP_LABEL_VALUE_MAX];
    asp_counter_t counter;
    asp_histo_t histo;
} s_slot_t;

struct asp_family_t {
    int nlabels;
    char labels [ASP_LABELS_MAX][32];
    unsigned cap;
    atomic_uint used;               //  slots claimed, at most cap
    size_t size;                    //  a power of two over 2 * cap: probes stay short
    s_slot_t *slots;
    s_slot_t other;                 //  every value "other"; READY once used
    atomic_uint_fast64_t overflow;
};

typedef struct s_metric_t {
    struct s_metric_t *next;
    s_kind_t kind;
    char name [64];
    char help [160];
    asp_counter_t counter;
    asp_histo_t histo;
    asp_gauge_fn *fn;
    void *arg;
    asp_family_t *family;
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
        if (self->head->family) {
            free (self->head->family->slots);
            free (self->head->family);
        }
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

void
asp_histo_snap (asp_histo_t *h, asp_histo_snap_t *out)
{
    out->count = 0;
    for (int b = 0; b <= S_BUCKETS; b++) {
        out->buckets [b] = atomic_load (&h->buckets [b]);
        out->count += out->buckets [b];
    }
}

double
asp_histo_quantile_ms (const asp_histo_snap_t *now, const asp_histo_snap_t *prev, double q)
{
    uint64_t delta [S_BUCKETS + 1], total = 0;
    for (int b = 0; b <= S_BUCKETS; b++) {
        uint64_t p = prev? prev->buckets [b]: 0;
        delta [b] = now->buckets [b] > p? now->buckets [b] - p: 0;
        total += delta [b];
    }
    if (total == 0)
        return 0;
    double rank = q * (double) total, below = 0;
    for (int b = 0; b <= S_BUCKETS; b++) {
        if (delta [b] == 0 || below + (double) delta [b] < rank) {
            below += (double) delta [b];
            continue;
        }
        if (b == S_BUCKETS)
            return s_bounds [S_BUCKETS - 1] * 1000;
        double lo = b? s_bounds [b - 1]: 0, hi = s_bounds [b];
        return (lo + (hi - lo) * (rank - below) / (double) delta [b]) * 1000;
    }
    return s_bounds [S_BUCKETS - 1] * 1000;
}

//  ---------------------------------------------------------------------
//  Families

static asp_family_t *
s_family_new (const char *labels, unsigned cap)
{
    assert (cap >= 1 && cap <= 100000);
    asp_family_t *f = (asp_family_t *) calloc (1, sizeof *f);
    assert (f);
    f->cap = cap;
    for (const char *p = labels; *p; ) {
        size_t n = strcspn (p, ",");
        assert (f->nlabels < ASP_LABELS_MAX && n > 0 && n < sizeof f->labels [0]);
        snprintf (f->labels [f->nlabels], sizeof f->labels [0], "%.*s", (int) n, p);
        const char *l = f->labels [f->nlabels++];
        //  A name Prometheus accepts, and not one the renderer adds itself.
        assert (strspn (l, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789") == n);
        assert (!(l [0] >= '0' && l [0] <= '9') && strcmp (l, "service") && strcmp (l, "le"));
        p += n + (p [n] == ',');
    }
    assert (f->nlabels >= 1);
    f->size = 4;
    while (f->size < 2 * (size_t) cap)
        f->size *= 2;
    f->slots = (s_slot_t *) calloc (f->size, sizeof *f->slots);
    assert (f->slots);
    for (int i = 0; i < f->nlabels; i++)
        snprintf (f->other.values [i], ASP_LABEL_VALUE_MAX, "other");
    return f;
}

asp_family_t *
asp_metrics_counter_family (asp_metrics_t *self, const char *name, const char *help, const char *labels, unsigned cap)
{
    asp_family_t *f = s_family_new (labels, cap);
    s_add (self, S_COUNTER_FAMILY, name, help)->family = f;
    return f;
}

asp_family_t *
asp_metrics_histo_family (asp_metrics_t *self, const char *name, const char *help, const char *labels, unsigned cap)
{
    asp_family_t *f = s_family_new (labels, cap);
    s_add (self, S_HISTO_FAMILY, name, help)->family = f;
    return f;
}

//  Length of the UTF-8 sequence at s (n bytes left), 0 when it is not one.
static size_t
s_utf8_len (const unsigned char *s, size_t n)
{
    size_t len = s [0] < 0x80? 1: (s [0] >> 5) == 0x6? 2: (s [0] >> 4) == 0xE? 3: (s [0] >> 3) == 0x1E? 4: 0;
    if (len == 0 || len > n || (len == 2 && s [0] < 0xC2))
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s [i] & 0xC0) != 0x80)
            return 0;
    return len;
}

//  Copies v into out as valid UTF-8 of at most ASP_LABEL_VALUE_MAX - 1
//  bytes: promtool (and Prometheus) refuse label values that are not.
static void
s_clean_value (char *out, const char *v)
{
    size_t o = 0, n = v? strlen (v): 0;
    for (size_t i = 0; i < n; ) {
        size_t len = s_utf8_len ((const unsigned char *) v + i, n - i);
        size_t take = len? len: 1;
        if (o + (len? len: 1) > ASP_LABEL_VALUE_MAX - 1)
            break;
        if (len)
            memcpy (out + o, v + i, len);
        else
            out [o] = '?';
        o += len? len: 1;
        i += take;
    }
    out [o] = 0;
}

static uint64_t
s_hash (char values [ASP_LABELS_MAX][ASP_LABEL_VALUE_MAX], int n)
{
    uint64_t h = 1469598103934665603ULL;
    for (int i = 0; i < n; i++)
        for (const char *p = values [i]; ; p++) {
            h = (h ^ (unsigned char) *p) * 1099511628211ULL;
            if (!*p)
                break;          //  the NUL separates the values
        }
    return h;
}

static s_slot_t *
s_overflow (asp_family_t *f)
{
    atomic_fetch_add (&f->overflow, 1);
    int expected = S_FREE;
    atomic_compare_exchange_strong (&f->other.state, &expected, S_READY);
    return &f->other;
}

//  Takes one of the cap label sets; false when all are taken.
static bool
s_take (asp_family_t *f)
{
    unsigned used = atomic_load (&f->used);
    while (used < f->cap)
        if (atomic_compare_exchange_weak (&f->used, &used, used + 1))
            return true;
    return false;
}

static s_slot_t *
s_find (asp_family_t *f, const char *v1, const char *v2, const char *v3)
{
    char values [ASP_LABELS_MAX][ASP_LABEL_VALUE_MAX];
    memset (values, 0, sizeof values);  //  compared whole, padding included
    const char *in [ASP_LABELS_MAX] = { v1, v2, v3 };
    for (int i = 0; i < f->nlabels; i++)
        s_clean_value (values [i], in [i]);
    uint64_t hash = s_hash (values, f->nlabels);
    size_t mask = f->size - 1;
    for (size_t probe = 0, i = (size_t) hash & mask; probe < f->size; probe++, i = (i + 1) & mask) {
        s_slot_t *slot = &f->slots [i];
        int state = atomic_load_explicit (&slot->state, memory_order_acquire);
        if (state == S_FREE) {
            if (!s_take (f))
                return s_overflow (f);
            if (atomic_compare_exchange_strong (&slot->state, &state, S_CLAIMED)) {
                slot->hash = hash;
                memcpy (slot->values, values, sizeof values);
                atomic_store_explicit (&slot->state, S_READY, memory_order_release);
                return slot;
            }
            //  Another thread claimed it first: give the set back and
            //  look at what it wrote (it may be these very values).
            atomic_fetch_sub (&f->used, 1);
        }
        while (state == S_CLAIMED) {
            sched_yield ();         //  the claimer is copying a few bytes
            state = atomic_load_explicit (&slot->state, memory_order_acquire);
        }
        if (slot->hash == hash && memcmp (slot->values, values, (size_t) f->nlabels * sizeof values [0]) == 0)
            return slot;
    }
    return s_overflow (f);          //  not reached: the table is twice the cap
}

asp_counter_t *
asp_family_counter (asp_family_t *f, const char *v1, const char *v2, const char *v3)
{
    return &s_find (f, v1, v2, v3)->counter;
}

asp_histo_t *
asp_family_histo (asp_family_t *f, const char *v1, const char *v2, const char *v3)
{
    return &s_find (f, v1, v2, v3)->histo;
}

uint64_t
asp_family_overflow (asp_family_t *f)
{
    return atomic_load (&f->overflow);
}

//  ---------------------------------------------------------------------
//  Rendering

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

//  Appends v escaped for a label value: backslash, quote and newline.
static void
s_escape (s_out_t *o, const char *v)
{
    for (; *v; v++)
        if (*v == '\\' || *v == '"')
            s_printf (o, "\\%c", *v);
        else
        if (*v == '\n')
            s_printf (o, "\\n");
        else
            s_printf (o, "%c", *v);
}

static void
s_render_histo (s_out_t *o, const char *name, const char *labels, asp_histo_t *h)
{
    uint64_t cum = 0;
    for (int b = 0; b < S_BUCKETS; b++) {
        cum += atomic_load (&h->buckets [b]);
        s_printf (o, "%s_bucket{%s,le=\"%g\"} %llu\n", name, labels, s_bounds [b], (unsigned long long) cum);
    }
    cum += atomic_load (&h->buckets [S_BUCKETS]);
    s_printf (o, "%s_bucket{%s,le=\"+Inf\"} %llu\n", name, labels, (unsigned long long) cum);
    s_printf (o, "%s_sum{%s} %.6f\n", name, labels, (double) atomic_load (&h->sum_us) / 1e6);
    s_printf (o, "%s_count{%s} %llu\n", name, labels, (unsigned long long) atomic_load (&h->count));
}

static void
s_render_slot (s_out_t *o, const char *svc, s_metric_t *m, s_slot_t *slot)
{
    asp_family_t *f = m->family;
    s_out_t labels = { (char *) malloc (256), 0, 256 };
    assert (labels.buf);
    s_printf (&labels, "service=\"%s\"", svc);
    for (int i = 0; i < f->nlabels; i++) {
        s_printf (&labels, ",%s=\"", f->labels [i]);
        s_escape (&labels, slot->values [i]);
        s_printf (&labels, "\"");
    }
    if (m->kind == S_COUNTER_FAMILY)
        s_printf (o, "%s{%s} %llu\n", m->name, labels.buf, (unsigned long long) atomic_load (&slot->counter.value));
    else
        s_render_histo (o, m->name, labels.buf, &slot->histo);
    free (labels.buf);
}

static void
s_render_family (s_out_t *o, const char *svc, s_metric_t *m)
{
    asp_family_t *f = m->family;
    for (size_t i = 0; i < f->size; i++)
        if (atomic_load_explicit (&f->slots [i].state, memory_order_acquire) == S_READY)
            s_render_slot (o, svc, m, &f->slots [i]);
    if (atomic_load_explicit (&f->other.state, memory_order_acquire) == S_READY)
        s_render_slot (o, svc, m, &f->other);
}

char *
asp_metrics_render (asp_metrics_t *self)
{
    s_out_t o = { (char *) malloc (4096), 0, 4096 };
    assert (o.buf);
    o.buf [0] = 0;
    const char *svc = self->service;
    char plain [64];
    snprintf (plain, sizeof plain, "service=\"%s\"", svc);
    bool families = false;
    pthread_mutex_lock (&self->lock);
    for (s_metric_t *m = self->head; m; m = m->next) {
        const char *type = m->kind == S_COUNTER || m->kind == S_COUNTER_FAMILY? "counter":
                           m->kind == S_GAUGE? "gauge": "histogram";
        s_printf (&o, "# HELP %s %s\n# TYPE %s %s\n", m->name, m->help, m->name, type);
        if (m->kind == S_COUNTER)
            s_printf (&o, "%s{%s} %llu\n", m->name, plain, (unsigned long long) atomic_load (&m->counter.value));
        else
        if (m->kind == S_GAUGE)
            s_printf (&o, "%s{%s} %.6g\n", m->name, plain, m->fn (m->arg));
        else
        if (m->kind == S_HISTO)
            s_render_histo (&o, m->name, plain, &m->histo);
        else {
            s_render_family (&o, svc, m);
            families = true;
        }
    }
    if (families) {
        s_printf (&o, "# HELP asp_metric_label_overflow_total Samples counted under the label set \"other\" "
                      "because their family had reached its cap of label sets.\n"
                      "# TYPE asp_metric_label_overflow_total counter\n");
        for (s_metric_t *m = self->head; m; m = m->next)
            if (m->family)
                s_printf (&o, "asp_metric_label_overflow_total{%s,family=\"%s\"} %llu\n", plain, m->name,
                          (unsigned long long) atomic_load (&m->family->overflow));
    }
    pthread_mutex_unlock (&self->lock);
    return o.buf;
}

static double
s_test_gauge (void *arg)
{
    return *(double *) arg;
}

//  Escaping, the length cap, UTF-8, overflow into "other".
static void
s_test_families (asp_metrics_t *m)
{
    asp_family_t *f = asp_metrics_counter_family (m, "events_total", "Events.", "region,partner", 3);
    asp_counter_inc (asp_family_counter (f, "north", "p1", NULL));
    asp_counter_inc (asp_family_counter (f, "north", "p1", "ignored: no third label"));
    assert (asp_family_counter (f, "north", "p1", NULL) == asp_family_counter (f, "north", "p1", NULL));
    asp_counter_inc (asp_family_counter (f, "a\"b\\c\nd", NULL, NULL));
    char longv [200];
    memset (longv, 'x', sizeof longv);
    longv [sizeof longv - 1] = 0;
    //  Two byte characters: the cut must not split one.
    for (int i = 1; i + 1 < (int) sizeof longv - 1; i += 2)
        longv [i] = (char) 0xC3, longv [i + 1] = (char) 0xA9;
    longv [0] = (char) 0xFF;            //  not UTF-8
    asp_counter_inc (asp_family_counter (f, "south", longv, NULL));
    assert (asp_family_overflow (f) == 0);
    //  The fourth set is over the cap of 3: counted as other.
    asp_counter_inc (asp_family_counter (f, "east", "p9", NULL));
    asp_counter_inc (asp_family_counter (f, "east", "p10", NULL));
    assert (asp_family_overflow (f) == 2);
    asp_counter_inc (asp_family_counter (f, "north", "p1", NULL));  //  known sets still count
    assert (asp_family_overflow (f) == 2);

    asp_family_t *hf = asp_metrics_histo_family (m, "route_seconds", "Route latency.", "route", 10);
    asp_histo_observe_us (asp_family_histo (hf, "/v1/tickets/{id}", NULL, NULL), 300);

    char *text = asp_metrics_render (m);
    assert (strstr (text, "# TYPE asp_events_total counter\n"));
    assert (strstr (text, "asp_events_total{service=\"test\",region=\"north\",partner=\"p1\"} 3\n"));
    assert (strstr (text, "asp_events_total{service=\"test\",region=\"a\\\"b\\\\c\\nd\",partner=\"\"} 1\n"));
    assert (strstr (text, "asp_events_total{service=\"test\",region=\"other\",partner=\"other\"} 2\n"));
    assert (strstr (text, "asp_metric_label_overflow_total{service=\"test\",family=\"asp_events_total\"} 2\n"));
    assert (strstr (text, "asp_metric_label_overflow_total{service=\"test\",family=\"asp_route_seconds\"} 0\n"));
    assert (strstr (text, "asp_route_seconds_bucket{service=\"test\",route=\"/v1/tickets/{id}\",le=\"0.0005\"} 1\n"));
    assert (strstr (text, "asp_route_seconds_count{service=\"test\",route=\"/v1/tickets/{id}\"} 1\n"));
    //  The long value: '?' for the bad byte, then whole characters only,
    //  63 bytes at most.
    const char *lv = strstr (text, "partner=\"?");
    assert (lv);
    lv += strlen ("partner=\"");
    size_t len = strcspn (lv, "\"");
    assert (len <= ASP_LABEL_VALUE_MAX - 1 && len >= ASP_LABEL_VALUE_MAX - 3);
    assert ((unsigned char) lv [len - 1] == 0xA9);
    free (text);
}

#define S_TEST_THREADS 4
#define S_TEST_ROUNDS  20000

typedef struct {
    asp_family_t *f;
    int id;
} s_test_worker_t;

static void *
s_test_worker (void *arg)
{
    s_test_worker_t *w = (s_test_worker_t *) arg;
    char v [16];
    //  Every thread walks the same 40 sets (cap 32) from another start:
    //  they race to claim the same slots.
    for (int i = 0; i < S_TEST_ROUNDS; i++) {
        snprintf (v, sizeof v, "p%d", (i + w->id * 7) % 40);
        asp_counter_inc (asp_family_counter (w->f, v, "x", NULL));
    }
    return NULL;
}

static void
s_test_concurrency (void)
{
    asp_metrics_t *m = asp_metrics_new ("test");
    asp_family_t *f = asp_metrics_counter_family (m, "race_total", "Race.", "partner,kind", 32);
    pthread_t threads [S_TEST_THREADS];
    s_test_worker_t workers [S_TEST_THREADS];
    for (int i = 0; i < S_TEST_THREADS; i++) {
        workers [i] = (s_test_worker_t) { f, i };
        assert (pthread_create (&threads [i], NULL, s_test_worker, &workers [i]) == 0);
    }
    //  Render while they count: only whole sets show.
    for (int i = 0; i < 20; i++)
        free (asp_metrics_render (m));
    for (int i = 0; i < S_TEST_THREADS; i++)
        pthread_join (threads [i], NULL);
    //  Exactly 32 distinct sets, no duplicates, and no sample lost.
    uint64_t total = 0;
    int sets = 0;
    for (size_t i = 0; i < f->size; i++)
        if (atomic_load (&f->slots [i].state) == S_READY) {
            sets++;
            total += asp_counter_value (&f->slots [i].counter);
            for (size_t j = i + 1; j < f->size; j++)
                assert (atomic_load (&f->slots [j].state) != S_READY
                     || strcmp (f->slots [i].values [0], f->slots [j].values [0]));
        }
    assert (sets == 32);
    uint64_t other = asp_counter_value (&f->other.counter);
    assert (other == asp_family_overflow (f) && other > 0);
    assert (total + other == (uint64_t) S_TEST_THREADS * S_TEST_ROUNDS);
    asp_metrics_destroy (&m);
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
    assert (!strstr (text, "asp_metric_label_overflow_total"));     //  no family yet
    free (text);

    //  Quantiles of an interval, interpolated in the bucket: 100 samples
    //  in (1 ms, 2 ms], the median half-way.
    asp_histo_snap_t before, after;
    asp_histo_snap (h, &before);
    for (int i = 0; i < 100; i++)
        asp_histo_observe_us (h, 1500);
    asp_histo_snap (h, &after);
    assert (after.count == before.count + 100);
    double p50 = asp_histo_quantile_ms (&after, &before, 0.5);
    assert (p50 > 1.49 && p50 < 1.51);
    assert (asp_histo_quantile_ms (&after, &before, 0.99) <= 2.0);
    assert (asp_histo_quantile_ms (&after, &after, 0.5) == 0);   //  nothing in between

    s_test_families (m);
    s_test_concurrency ();
    asp_metrics_destroy (&m);
}
