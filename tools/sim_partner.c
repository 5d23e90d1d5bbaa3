/*  asp-sim-partner: a simulated partner service center.

    It connects to routing as one partner (asp_partner), accepts a share of
    the offers after a delay, reports PROGRESS steps and COMPLETE over a
    simulated working time, and resumes whatever the platform says is still
    its own (ASSIGNED) after a restart. Every event can be appended to a
    journal, one JSON object per line, so that tests can check that no work
    order is ever handled twice as two different jobs.

    All timing runs on one zloop timer over a binary heap of due actions; an
    action carries the generation of the job it was planned for, so actions
    for a job that was withdrawn (and maybe offered again) fall away.      */
#include "asp_config.h"
#include "asp_id.h"
#include "asp_log.h"
#include "asp_partner.h"
#include <assert.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TICK_MS 5

typedef struct {
    const char *endpoint;
    const char *cert;
    const char *server_cert;
    const char *server_key;
    const char *skills;
    const char *regions;
    const char *journal;
    int64_t capacity;
    double accept_ratio;
    int64_t accept_delay_ms;
    int64_t work_ms;
    int64_t progress;
    int64_t reconnect_ms;
    int64_t seed;
    int64_t fail_first;
} sim_opts_t;

typedef enum { ACT_ACCEPT, ACT_DECLINE, ACT_PROGRESS, ACT_COMPLETE } act_kind_t;

typedef struct {
    int64_t due;                //  monotonic ms
    uint64_t order;             //  ties run in planning order
    uint64_t gen;               //  job generation it was planned for
    act_kind_t kind;
    int64_t step;               //  PROGRESS step (1-based)
    char wo_id [ASPW_STR_MAX + 1];
} action_t;

typedef struct {
    sim_opts_t opts;
    asp_partner_t *partner;
    zhashx_t *gens;             //  wo_id -> generation (uint64_t *) of live jobs
    zhashx_t *planned;          //  wo_id -> generation whose work is planned
    uint64_t next_gen;
    action_t *heap;
    size_t heap_size;
    size_t heap_alloc;
    uint64_t order;
    uint64_t rng;
    int journal_fd;
} sim_t;

//  --------------------------------------------------------------------------
//  Journal

static void
s_journal (sim_t *self, const char *event, const char *wo_id, cJSON *extra)
{
    if (self->journal_fd < 0) {
        cJSON_Delete (extra);
        return;
    }
    cJSON *o = extra? extra: cJSON_CreateObject ();
    cJSON_AddNumberToObject (o, "ts_ms", (double) asp_now_ms ());
    cJSON_AddStringToObject (o, "partner", asp_partner_id (self->partner));
    cJSON_AddStringToObject (o, "event", event);
    cJSON_AddStringToObject (o, "wo_id", wo_id);
    cJSON_AddNumberToObject (o, "pid", (double) getpid ());
    char *text = cJSON_PrintUnformatted (o);
    cJSON_Delete (o);
    size_t len = strlen (text);
    text [len] = '\n';
    //  One write per line on an O_APPEND descriptor: lines from several
    //  processes sharing the journal never interleave.
    ssize_t rc = write (self->journal_fd, text, len + 1);
    if (rc != (ssize_t) len + 1)
        asp_log_error ("journal write failed: %s", rc < 0? strerror (errno): "short write");
    free (text);
}

static cJSON *
s_fields (const char *key, const char *value, ...)
{
    //  key, value pairs of strings, NULL-terminated.
    cJSON *o = cJSON_CreateObject ();
    va_list ap;
    va_start (ap, value);
    while (key) {
        cJSON_AddStringToObject (o, key, value? value: "");
        key = va_arg (ap, const char *);
        if (key)
            value = va_arg (ap, const char *);
    }
    va_end (ap);
    return o;
}

//  --------------------------------------------------------------------------
//  Actions: a binary min-heap on (due, order)

static bool
s_before (const action_t *a, const action_t *b)
{
    return a->due < b->due || (a->due == b->due && a->order < b->order);
}

static void
s_swap (action_t *a, action_t *b)
{
    action_t t = *a;
    *a = *b;
    *b = t;
}

static void
s_plan (sim_t *self, const char *wo_id, uint64_t gen, act_kind_t kind, int64_t step, int64_t delay_ms)
{
    if (self->heap_size == self->heap_alloc) {
        self->heap_alloc = self->heap_alloc? self->heap_alloc * 2: 64;
        self->heap = (action_t *) realloc (self->heap, self->heap_alloc * sizeof (action_t));
        assert (self->heap);
    }
    action_t *a = &self->heap [self->heap_size];
    memset (a, 0, sizeof *a);
    a->due = asp_mono_ms () + delay_ms;
    a->order = self->order++;
    a->gen = gen;
    a->kind = kind;
    a->step = step;
    snprintf (a->wo_id, sizeof a->wo_id, "%s", wo_id);
    size_t i = self->heap_size++;
    while (i > 0 && s_before (&self->heap [i], &self->heap [(i - 1) / 2])) {
        s_swap (&self->heap [i], &self->heap [(i - 1) / 2]);
        i = (i - 1) / 2;
    }
}

static void
s_pop (sim_t *self, action_t *out)
{
    *out = self->heap [0];
    self->heap [0] = self->heap [--self->heap_size];
    size_t i = 0;
    while (true) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < self->heap_size && s_before (&self->heap [l], &self->heap [m]))
            m = l;
        if (r < self->heap_size && s_before (&self->heap [r], &self->heap [m]))
            m = r;
        if (m == i)
            break;
        s_swap (&self->heap [i], &self->heap [m]);
        i = m;
    }
}

//  --------------------------------------------------------------------------
//  Jobs

static void
s_gen_free (void **item)
{
    free (*item);
    *item = NULL;
}

static uint64_t
s_new_gen (sim_t *self, const char *wo_id)
{
    uint64_t *gen = (uint64_t *) malloc (sizeof *gen);
    assert (gen);
    *gen = ++self->next_gen;
    zhashx_update (self->gens, wo_id, gen);
    return *gen;
}

static bool
s_live (sim_t *self, const char *wo_id, uint64_t gen)
{
    uint64_t *g = (uint64_t *) zhashx_lookup (self->gens, wo_id);
    return g && *g == gen;
}

static double
s_random (sim_t *self)
{
    //  xorshift64*: reproducible with --seed, good enough for a ratio.
    self->rng ^= self->rng >> 12;
    self->rng ^= self->rng << 25;
    self->rng ^= self->rng >> 27;
    return (double) ((self->rng * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

//  Plans the work of an accepted job: the PROGRESS steps after done_steps,
//  evenly spread over the working time, then COMPLETE.
static void
s_plan_work (sim_t *self, const char *wo_id, uint64_t gen, int64_t done_steps)
{
    uint64_t *planned = (uint64_t *) zhashx_lookup (self->planned, wo_id);
    if (planned && *planned == gen)
        return;                 //  this generation's work is under way
    uint64_t *g = (uint64_t *) malloc (sizeof *g);
    assert (g);
    *g = gen;
    zhashx_update (self->planned, wo_id, g);
    int64_t steps = self->opts.progress;
    for (int64_t i = done_steps + 1; i <= steps; i++)
        s_plan (self, wo_id, gen, ACT_PROGRESS, i, self->opts.work_ms * i / (steps + 1));
    s_plan (self, wo_id, gen, ACT_COMPLETE, 0, self->opts.work_ms);
}

static void
s_do (sim_t *self, const action_t *a)
{
    const asp_partner_job_t *job = asp_partner_job (self->partner, a->wo_id);
    if (!job) {
        zhashx_delete (self->gens, a->wo_id);
        zhashx_delete (self->planned, a->wo_id);
        return;
    }
    switch (a->kind) {
        case ACT_ACCEPT:
            //  The technician goes out only once the platform CONFIRMs the
            //  ACCEPT (s_on_confirm): an ACCEPT that crossed a re-offer
            //  elsewhere must not lead to work done twice.
            if (asp_partner_accept (self->partner, a->wo_id) == 0)
                s_journal (self, "accept", a->wo_id, s_fields ("offer_id", job->offer_id, NULL));
            else
                asp_log_warn ("accept %s refused: %s", a->wo_id, asp_partner_errstr (self->partner));
            break;
        case ACT_DECLINE:
            if (asp_partner_decline (self->partner, a->wo_id, "simulated decline") == 0)
                s_journal (self, "decline", a->wo_id,
                           s_fields ("offer_id", job->offer_id, "reason", "simulated decline", NULL));
            zhashx_delete (self->gens, a->wo_id);
            zhashx_delete (self->planned, a->wo_id);
            break;
        case ACT_PROGRESS: {
            if (a->step <= job->seq)
                break;          //  the platform has this step already
            //  Steps walk through the stages in their order.
            asp_stage_t stage = (asp_stage_t) ((a->step - 1) % asp_vocab_stage.count);
            char note [64];
            snprintf (note, sizeof note, "simulated step %lld", (long long) a->step);
            int64_t appointment = stage == ASP_STAGE_SCHEDULED? asp_now_ms () + self->opts.work_ms: 0;
            int64_t seq = asp_partner_progress (self->partner, a->wo_id, stage, note, appointment);
            if (seq < 0) {
                asp_log_warn ("progress %s refused: %s", a->wo_id, asp_partner_errstr (self->partner));
                break;
            }
            cJSON *f = s_fields ("stage", asp_vocab_name (&asp_vocab_stage, stage), NULL);
            cJSON_AddNumberToObject (f, "seq", (double) seq);
            s_journal (self, "progress", a->wo_id, f);
            break;
        }
        case ACT_COMPLETE: {
            asp_result_t result = job->kind == ASP_KIND_INSTALLATION? ASP_RESULT_INSTALLED: ASP_RESULT_FIXED;
            //  A ticket's first work order (no ".<generation>") fails on
            //  request, so tests can drive a re-dispatch.
            if (self->opts.fail_first && !strchr (a->wo_id, '.'))
                result = ASP_RESULT_NOT_FIXED;
            if (asp_partner_complete (self->partner, a->wo_id, result, "simulated work done",
                                      "sim-technician") == 0) {
                s_journal (self, "complete", a->wo_id,
                           s_fields ("result", asp_vocab_name (&asp_vocab_result, result), NULL));
                asp_log_kv (ASP_LOG_DEBUG, "completed", "wo_id", a->wo_id, NULL);
            }
            else
                asp_log_warn ("complete %s refused: %s", a->wo_id, asp_partner_errstr (self->partner));
            zhashx_delete (self->gens, a->wo_id);
            zhashx_delete (self->planned, a->wo_id);
            break;
        }
    }
}

static int
s_tick (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop; (void) timer_id;
    sim_t *self = (sim_t *) arg;
    int64_t now = asp_mono_ms ();
    action_t a;
    while (self->heap_size && self->heap [0].due <= now) {
        s_pop (self, &a);
        if (s_live (self, a.wo_id, a.gen))
            s_do (self, &a);
    }
    return 0;
}

//  --------------------------------------------------------------------------
//  Partner callbacks

static void
s_on_offer (asp_partner_t *partner, const asp_partner_job_t *job, void *arg)
{
    (void) partner;
    sim_t *self = (sim_t *) arg;
    s_journal (self, "offer", job->wo_id,
               s_fields ("offer_id", job->offer_id, "ticket_id", job->ticket_id,
                         "kind", asp_vocab_name (&asp_vocab_kind, job->kind),
                         "category", job->category, "region", job->region, NULL));
    uint64_t gen = s_new_gen (self, job->wo_id);
    bool accept = s_random (self) < self->opts.accept_ratio;
    s_plan (self, job->wo_id, gen, accept? ACT_ACCEPT: ACT_DECLINE, 0, self->opts.accept_delay_ms);
}

static void
s_on_assigned (asp_partner_t *partner, const asp_partner_job_t *job, void *arg)
{
    (void) partner;
    sim_t *self = (sim_t *) arg;
    cJSON *f = s_fields ("ticket_id", job->ticket_id, NULL);
    cJSON_AddNumberToObject (f, "seq", (double) job->seq);
    s_journal (self, "assigned", job->wo_id, f);
    asp_log_kv (ASP_LOG_INFO, "resuming work order", "wo_id", job->wo_id, NULL);
    s_plan_work (self, job->wo_id, s_new_gen (self, job->wo_id), job->seq);
}

static void
s_on_withdraw (asp_partner_t *partner, const char *wo_id, const char *reason, void *arg)
{
    (void) partner;
    sim_t *self = (sim_t *) arg;
    s_journal (self, "withdraw", wo_id, s_fields ("reason", reason, NULL));
    zhashx_delete (self->gens, wo_id);
    zhashx_delete (self->planned, wo_id);
}

static void
s_on_error (asp_partner_t *partner, const asp_partner_error_t *e, void *arg)
{
    (void) partner;
    sim_t *self = (sim_t *) arg;
    cJSON *f = s_fields ("ref", e->ref, "code", e->code, "reason", e->reason, NULL);
    if (e->seq)
        cJSON_AddNumberToObject (f, "seq", (double) e->seq);
    cJSON_AddBoolToObject (f, "dropped", e->job_dropped);
    s_journal (self, "error", e->wo_id, f);
    if (e->job_dropped) {
        zhashx_delete (self->gens, e->wo_id);
        zhashx_delete (self->planned, e->wo_id);
    }
}

static void
s_on_confirm (asp_partner_t *partner, const char *ref, const char *wo_id, int64_t seq,
              bool duplicate, void *arg)
{
    (void) partner;
    sim_t *self = (sim_t *) arg;
    cJSON *f = s_fields ("ref", ref, NULL);
    if (seq)
        cJSON_AddNumberToObject (f, "seq", (double) seq);
    cJSON_AddBoolToObject (f, "duplicate", duplicate);
    s_journal (self, "confirm", wo_id, f);
    uint64_t *gen = (uint64_t *) zhashx_lookup (self->gens, wo_id);
    const asp_partner_job_t *job = asp_partner_job (self->partner, wo_id);
    if (streq (ref, "ACCEPT") && gen && job)
        s_plan_work (self, wo_id, *gen, job->seq);
}

//  The SDK's log lines become this process's JSON log lines.
static void
s_on_log (asp_partner_t *partner, asp_partner_log_level_t level, const char *msg,
          const char *const *f, void *arg)
{
    (void) partner; (void) arg;
    const char *kv [8] = { NULL };
    for (int i = 0; i < 8 && f [i]; i++)
        kv [i] = f [i];
    asp_log_kv ((asp_log_level_t) level, msg, kv [0], kv [1], kv [2], kv [3], kv [4], kv [5],
                kv [6], kv [7], NULL);
}

//  --------------------------------------------------------------------------
//  Options: each has a flag and an environment variable; the flag wins.

typedef enum { OPT_STR, OPT_INT, OPT_RATIO } opt_type_t;

static const struct {
    const char *flag;
    const char *env;
    opt_type_t type;
    int64_t min, max;
    size_t offset;
    const char *help;
} s_opts [] = {
    { "endpoint", "ASP_SIM_ENDPOINT", OPT_STR, 0, 0, offsetof (sim_opts_t, endpoint),
      "platform endpoint (tcp://127.0.0.1:7110)" },
    { "cert", "ASP_SIM_CERT", OPT_STR, 0, 0, offsetof (sim_opts_t, cert),
      "this partner's secret certificate file (required)" },
    { "server-cert", "ASP_SIM_SERVER_CERT", OPT_STR, 0, 0, offsetof (sim_opts_t, server_cert),
      "the platform's public certificate file" },
    { "server-key", "ASP_SIM_SERVER_KEY", OPT_STR, 0, 0, offsetof (sim_opts_t, server_key),
      "the platform's public key, Z85 (instead of --server-cert)" },
    { "capacity", "ASP_SIM_CAPACITY", OPT_INT, 1, 1000, offsetof (sim_opts_t, capacity),
      "work orders held at once, 1..1000 (10)" },
    { "accept-ratio", "ASP_SIM_ACCEPT_RATIO", OPT_RATIO, 0, 1, offsetof (sim_opts_t, accept_ratio),
      "share of offers accepted, 0..1 (1.0)" },
    { "accept-delay-ms", "ASP_SIM_ACCEPT_DELAY_MS", OPT_INT, 0, 3600000,
      offsetof (sim_opts_t, accept_delay_ms), "time to answer an offer (50)" },
    { "work-ms", "ASP_SIM_WORK_MS", OPT_INT, 0, 86400000, offsetof (sim_opts_t, work_ms),
      "time from accept to COMPLETE (200)" },
    { "progress", "ASP_SIM_PROGRESS", OPT_INT, 0, 32, offsetof (sim_opts_t, progress),
      "PROGRESS steps before COMPLETE, 0..32 (1)" },
    { "skills", "ASP_SIM_SKILLS", OPT_STR, 0, 0, offsetof (sim_opts_t, skills),
      "product categories, comma list (*)" },
    { "regions", "ASP_SIM_REGIONS", OPT_STR, 0, 0, offsetof (sim_opts_t, regions),
      "regions, comma list (*)" },
    { "journal", "ASP_SIM_JOURNAL", OPT_STR, 0, 0, offsetof (sim_opts_t, journal),
      "append one JSON line per event to this file" },
    { "reconnect-ms", "ASP_SIM_RECONNECT_MS", OPT_INT, 1, 32000, offsetof (sim_opts_t, reconnect_ms),
      "first reconnect delay, doubling to 32 s (1000)" },
    { "seed", "ASP_SIM_SEED", OPT_INT, 0, INT64_MAX, offsetof (sim_opts_t, seed),
      "random seed for accept decisions (0 = random)" },
    { "fail-first", "ASP_SIM_FAIL_FIRST", OPT_INT, 0, 1, offsetof (sim_opts_t, fail_first),
      "1: complete each ticket's first work order as not_fixed, later ones fixed (0)" },
};
#define OPT_COUNT (sizeof s_opts / sizeof s_opts [0])

static void
s_usage (FILE *out)
{
    fprintf (out, "usage: asp-sim-partner [options]\n"
                  "A simulated partner service center (ASPW/1 worker).\n\n");
    for (size_t i = 0; i < OPT_COUNT; i++)
        fprintf (out, "  --%-16s %s\n  %-18s   env %s\n", s_opts [i].flag, s_opts [i].help,
                 "", s_opts [i].env);
    fprintf (out, "  --%-16s %s\n", "help", "show this text");
}

//  Stores one option value; exits 2 with a clear message when it is bad.
static void
s_set (sim_opts_t *opts, size_t i, const char *value, const char *source)
{
    char *field = (char *) opts + s_opts [i].offset;
    if (s_opts [i].type == OPT_STR) {
        if (!*value) {
            fprintf (stderr, "asp-sim-partner: %s must not be empty\n", source);
            exit (2);
        }
        *(const char **) field = value;
    }
    else
    if (s_opts [i].type == OPT_INT) {
        int64_t v;
        if (asp_parse_int (value, s_opts [i].min, s_opts [i].max, &v)) {
            fprintf (stderr, "asp-sim-partner: %s='%s' must be an integer in %lld..%lld\n",
                     source, value, (long long) s_opts [i].min, (long long) s_opts [i].max);
            exit (2);
        }
        *(int64_t *) field = v;
    }
    else {
        char *end = NULL;
        errno = 0;
        double v = strtod (value, &end);
        if (!*value || errno || *end || !isfinite (v) || v < 0 || v > 1) {
            fprintf (stderr, "asp-sim-partner: %s='%s' must be a number in 0..1\n", source, value);
            exit (2);
        }
        *(double *) field = v;
    }
}

static void
s_parse (sim_opts_t *opts, int argc, char *argv [])
{
    *opts = (sim_opts_t) {
        .endpoint = "tcp://127.0.0.1:7110", .skills = "*", .regions = "*",
        .capacity = 10, .accept_ratio = 1.0, .accept_delay_ms = 50, .work_ms = 200,
        .progress = 1, .reconnect_ms = 1000
    };
    for (size_t i = 0; i < OPT_COUNT; i++) {
        const char *v = getenv (s_opts [i].env);
        if (v && *v)
            s_set (opts, i, v, s_opts [i].env);
    }
    struct option longopts [OPT_COUNT + 2];
    for (size_t i = 0; i < OPT_COUNT; i++)
        longopts [i] = (struct option) { s_opts [i].flag, required_argument, NULL, (int) i + 1 };
    longopts [OPT_COUNT] = (struct option) { "help", no_argument, NULL, 'h' };
    longopts [OPT_COUNT + 1] = (struct option) { NULL, 0, NULL, 0 };
    int c;
    opterr = 0;
    while ((c = getopt_long (argc, argv, ":h", longopts, NULL)) != -1) {
        if (c == 'h') {
            s_usage (stdout);
            exit (0);
        }
        if (c == '?' || c == ':') {
            fprintf (stderr, "asp-sim-partner: %s '%s' (see --help)\n",
                     c == ':'? "missing value for": "unknown option", argv [optind - 1]);
            exit (2);
        }
        char source [40];
        snprintf (source, sizeof source, "--%s", s_opts [c - 1].flag);
        s_set (opts, (size_t) c - 1, optarg, source);
    }
    if (optind < argc) {
        fprintf (stderr, "asp-sim-partner: unexpected argument '%s' (see --help)\n", argv [optind]);
        exit (2);
    }
    if (!opts->cert) {
        fprintf (stderr, "asp-sim-partner: --cert (or ASP_SIM_CERT) is required\n");
        exit (2);
    }
    if (!opts->server_cert && !opts->server_key) {
        fprintf (stderr, "asp-sim-partner: --server-cert or --server-key "
                         "(or ASP_SIM_SERVER_CERT / ASP_SIM_SERVER_KEY) is required\n");
        exit (2);
    }
}

int
main (int argc, char *argv [])
{
    asp_log_init ("sim-partner");
    sim_t sim = { .journal_fd = -1 };
    sim_t *self = &sim;
    s_parse (&self->opts, argc, argv);
    self->rng = self->opts.seed? (uint64_t) self->opts.seed: (asp_rand64 () | 1);
    if (self->opts.journal) {
        self->journal_fd = open (self->opts.journal, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (self->journal_fd < 0) {
            fprintf (stderr, "asp-sim-partner: cannot open journal %s: %s\n",
                     self->opts.journal, strerror (errno));
            return 2;
        }
    }
    //  Installs CZMQ's SIGINT/SIGTERM handler before anything can block.
    zsys_init ();
    zloop_t *loop = zloop_new ();
    asp_partner_handlers_t handlers = { s_on_offer, s_on_assigned, s_on_withdraw,
                                        s_on_error, s_on_confirm, NULL, s_on_log };
    asp_partner_cfg_t cfg = {
        .endpoint = self->opts.endpoint, .cert_file = self->opts.cert,
        .server_cert_file = self->opts.server_cert, .server_key = self->opts.server_key,
        .capacity = (int) self->opts.capacity, .skills = self->opts.skills,
        .regions = self->opts.regions, .software = "asp-sim-partner/1",
        .reconnect_ms = (int) self->opts.reconnect_ms,
    };
    char err [256];
    self->partner = asp_partner_new (loop, &cfg, &handlers, self, err, sizeof err);
    if (!self->partner) {
        fprintf (stderr, "asp-sim-partner: %s\n", err);
        asp_log_error ("cannot start: %s", err);
        zloop_destroy (&loop);
        return 2;
    }
    self->gens = zhashx_new ();
    zhashx_set_destructor (self->gens, s_gen_free);
    self->planned = zhashx_new ();
    zhashx_set_destructor (self->planned, s_gen_free);
    zloop_timer (loop, TICK_MS, 0, s_tick, self);
    asp_partner_start (self->partner);
    char capacity [16];
    snprintf (capacity, sizeof capacity, "%d", (int) self->opts.capacity);
    asp_log_kv (ASP_LOG_INFO, "sim partner started", "endpoint", self->opts.endpoint,
                "partner_id", asp_partner_id (self->partner), "capacity", capacity,
                "journal", self->opts.journal? self->opts.journal: "", NULL);
    zloop_start (loop);

    //  SIGINT/SIGTERM: say DISCONNECT (accepted work stays ours) and go.
    asp_log_kv (ASP_LOG_INFO, "sim partner stopping", "partner_id", asp_partner_id (self->partner), NULL);
    asp_partner_destroy (&self->partner);
    zloop_destroy (&loop);
    zhashx_destroy (&self->gens);
    zhashx_destroy (&self->planned);
    free (self->heap);
    if (self->journal_fd >= 0)
        close (self->journal_fd);
    return 0;
}
