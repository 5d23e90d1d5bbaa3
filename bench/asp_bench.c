/*  asp-bench: drives N tickets through their whole life on a running
    cluster and prints what it measured. Not a test: it asserts nothing.

    1. POSTs N tickets over keep-alive connections (--concurrency at a
       time, optionally paced to --rate per second): intake ack latency.
    2. Waits until feedback's tickets_closed_total has grown by N (one
       metrics GET every 100 ms, nothing per ticket).
    3. Reads every ticket's timeline: created -> first offer (routing sent
       the OFFER to a partner) and created -> closed (the whole life).
    4. Reads the services' Redis counters before and after: round trips and
       commands per ticket life.
    5. Lists and searches (--queries of each kind, over every ticket in
       Redis, not only this run's): newest page, a filtered page, a rare
       filter (one serial: the scan budget's worst case) and the queue
       counts; requests per second and latency.


    With --lookup-units N it measures the agent's first screen instead:
    loads N product units (two per customer, with their customers and
    phone indexes) straight into Redis with pipelined writes, in the
    archive's key scheme (intake_archive.h names the keys; the same
    intake_key builds them), then times --lookups GET /v1/lookup by phone
    and as many by serial over HTTP, then as many ticket creations for
    known units (find path, 三包 decision) against the same archive.       */
#include "asp_id.h"
#include "asp_keys.h"
#include "asp_log.h"
#include "intake_archive.h"
#include "intake_ticket.h"
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <getopt.h>
#include <stdbool.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    const char *url;
    int tickets;
    int concurrency;
    double rate;
    const char *token;
    const char *watch;              //  feedback /metrics
    char *metrics;                  //  comma list of /metrics URLs
    const char *redis;              //  host:port
    const char *redis_password;
    int timeout_s;
    int queries;                    //  per kind of list/search request
    bool only_queries;              //  phase 5 alone, over tickets 0..N-1 made before
    int lookup_units;               //  >0: the lookup benchmark
    int lookups;
} s_opts_t;

typedef struct {
    char id [ASP_ID_MAX];
    int64_t ack_us;
    int status;
    double offer_ms, life_ms;
    int64_t created_ms, closed_ms;
} s_ticket_t;

typedef struct {
    CURL *easy;
    char *body;
    size_t len;
    int index;
    int64_t started_us;
    struct curl_slist *headers;
} s_conn_t;

static size_t
s_write (char *data, size_t size, size_t n, void *arg)
{
    s_conn_t *c = (s_conn_t *) arg;
    size_t add = size * n;
    c->body = (char *) realloc (c->body, c->len + add + 1);
    memcpy (c->body + c->len, data, add);
    c->len += add;
    c->body [c->len] = 0;
    return add;
}

//  Runs count requests through up to `concurrency` reused connections.
//  make() fills the URL/body for request i; done() sees its status and body.
typedef void (s_make_fn) (int i, char *url, size_t urllen, char **post, void *arg);
typedef void (s_done_fn) (int i, int status, const char *body, int64_t latency_us, void *arg);

static void
s_run (const s_opts_t *o, int count, int concurrency, double rate, s_make_fn *make, s_done_fn *done, void *arg)
{
    CURLM *multi = curl_multi_init ();
    s_conn_t *conns = (s_conn_t *) calloc ((size_t) concurrency, sizeof *conns);
    char **posts = (char **) calloc ((size_t) concurrency, sizeof *posts);
    int next = 0, running = 0, finished = 0;
    int64_t t0 = asp_mono_us ();
    for (int k = 0; k < concurrency; k++) {
        conns [k].easy = curl_easy_init ();
        conns [k].index = -1;
        conns [k].headers = curl_slist_append (NULL, "Content-Type: application/json");
        if (o->token) {
            char h [300];
            snprintf (h, sizeof h, "Authorization: Bearer %s", o->token);
            conns [k].headers = curl_slist_append (conns [k].headers, h);
        }
    }
    while (finished < count) {
        //  Start requests on idle connections, paced if asked.
        for (int k = 0; k < concurrency && next < count; k++) {
            if (conns [k].index >= 0)
                continue;
            if (rate > 0 && asp_mono_us () < t0 + (int64_t) (next * 1e6 / rate))
                break;
            s_conn_t *c = &conns [k];
            char url [512];
            char *post = NULL;
            make (next, url, sizeof url, &post, arg);
            free (posts [k]);
            posts [k] = post;
            c->index = next++;
            c->len = 0;
            curl_easy_setopt (c->easy, CURLOPT_URL, url);
            curl_easy_setopt (c->easy, CURLOPT_HTTPHEADER, c->headers);
            curl_easy_setopt (c->easy, CURLOPT_WRITEFUNCTION, s_write);
            curl_easy_setopt (c->easy, CURLOPT_WRITEDATA, c);
            curl_easy_setopt (c->easy, CURLOPT_TIMEOUT, 30L);
            if (post) {
                curl_easy_setopt (c->easy, CURLOPT_POSTFIELDS, post);
            }
            else
                curl_easy_setopt (c->easy, CURLOPT_HTTPGET, 1L);
            c->started_us = asp_mono_us ();
            curl_multi_add_handle (multi, c->easy);
            running++;
        }
        int still;
        curl_multi_perform (multi, &still);
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read (multi, &left))) {
            if (m->msg != CURLMSG_DONE)
                continue;
            s_conn_t *c = NULL;
            for (int k = 0; k < concurrency; k++)
                if (conns [k].easy == m->easy_handle)
                    c = &conns [k];
            long status = 0;
            curl_easy_getinfo (c->easy, CURLINFO_RESPONSE_CODE, &status);
            curl_multi_remove_handle (multi, c->easy);
            done (c->index, m->data.result == CURLE_OK? (int) status: 0, c->body? c->body: "",
                  asp_mono_us () - c->started_us, arg);
            c->index = -1;
            finished++;
            running--;
        }
        if (finished < count)
            curl_multi_poll (multi, NULL, 0, 1, NULL);
    }
    for (int k = 0; k < concurrency; k++) {
        curl_easy_cleanup (conns [k].easy);
        curl_slist_free_all (conns [k].headers);
        free (conns [k].body);
        free (posts [k]);
    }
    free (conns);
    free (posts);
    curl_multi_cleanup (multi);
}

typedef struct {
    const s_opts_t *o;
    s_ticket_t *t;
    int failures;
} s_state_t;

static void
s_make_ticket (int i, char *url, size_t urllen, char **post, void *arg)
{
    s_state_t *st = (s_state_t *) arg;
    snprintf (url, urllen, "%s/v1/tickets", st->o->url);
    static const char *regions [] = { "shanghai", "beijing", "guangzhou", "shenzhen" };
    if (asprintf (post, "{\"type\":\"repair\",\"tier\":\"%s\",\"priority\":3,"
                  "\"customer\":{\"name\":\"Bench %d\",\"phone\":\"138%08d\",\"region\":\"%s\"},"
                  "\"product\":{\"serial\":\"SN%08d\",\"model\":\"H-60\",\"category\":\"water_heater\"},"
                  "\"description\":\"benchmark ticket %d: no hot water\",\"channel\":\"hotline\"}",
                  i % 10? "standard": "express", i, i, regions [i % 4], i, i) < 0)
        *post = NULL;
}

static void
s_done_ticket (int i, int status, const char *body, int64_t latency_us, void *arg)
{
    s_state_t *st = (s_state_t *) arg;
    st->t [i].status = status;
    st->t [i].ack_us = latency_us;
    cJSON *j = cJSON_Parse (body);
    const cJSON *id = cJSON_GetObjectItem (j, "id");
    if (status == 201 && cJSON_IsString (id))
        snprintf (st->t [i].id, sizeof st->t [i].id, "%s", id->valuestring);
    else
        st->failures++;
    cJSON_Delete (j);
}

static void
s_make_timeline (int i, char *url, size_t urllen, char **post, void *arg)
{
    s_state_t *st = (s_state_t *) arg;
    snprintf (url, urllen, "%s/v1/tickets/%s/timeline", st->o->url, st->t [i].id);
    *post = NULL;
}

static void
s_done_timeline (int i, int status, const char *body, int64_t latency_us, void *arg)
{
    (void) latency_us;
    s_state_t *st = (s_state_t *) arg;
    s_ticket_t *t = &st->t [i];
    t->offer_ms = t->life_ms = -1;
    cJSON *j = status == 200? cJSON_Parse (body): NULL;
    const cJSON *e;
    int64_t created = 0, offered = 0, closed = 0;
    cJSON_ArrayForEach (e, cJSON_GetObjectItem (j, "events")) {
        const char *type = cJSON_GetStringValue (cJSON_GetObjectItem (e, "type"));
        int64_t at = (int64_t) cJSON_GetNumberValue (cJSON_GetObjectItem (e, "time_ms"));
        if (!type)
            continue;
        if (strcmp (type, "ticket.created") == 0) created = at;
        if (strcmp (type, "workorder.offered") == 0 && (!offered || at < offered)) offered = at;
        if (strcmp (type, "ticket.closed") == 0) closed = at;
    }
    if (created && offered)
        t->offer_ms = (double) (offered - created);
    if (created && closed)
        t->life_ms = (double) (closed - created);
    t->created_ms = created;
    t->closed_ms = closed;
    cJSON_Delete (j);
}

//  The list/search requests phase 5 measures, one kind at a time.
static const struct {
    const char *what;
    const char *query;              //  %d: the request's number
} s_queries [] = {
    { "list: newest 20", "/v1/tickets?limit=20" },
    { "search: region+status, 20", "/v1/tickets?region=shanghai&status=closed&limit=20" },
    { "search: one serial (rare)", "/v1/tickets?serial=SN%08d&limit=20" },
    { "search: one phone, oldest first", "/v1/tickets?phone=138%08d&sort=created&limit=20" },
    { "queue counts of an owner", "/v1/tickets/counts?owner=agent-%d" },
};

typedef struct {
    const s_opts_t *o;
    int kind, tickets, failures, partial;
    double *ms;
} s_query_state_t;

static void
s_make_query (int i, char *url, size_t urllen, char **post, void *arg)
{
    s_query_state_t *st = (s_query_state_t *) arg;
    char path [200];
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    snprintf (path, sizeof path, s_queries [st->kind].query, (i * 7919) % st->tickets);
#pragma GCC diagnostic pop
    snprintf (url, urllen, "%s%s", st->o->url, path);
    *post = NULL;
}

static void
s_done_query (int i, int status, const char *body, int64_t latency_us, void *arg)
{
    s_query_state_t *st = (s_query_state_t *) arg;
    st->ms [i] = latency_us / 1000.0;
    if (status != 200)
        st->failures++;
    if (strstr (body, "\"partial\":true"))
        st->partial++;
}

//  Sums every sample of the named metric at url (0 when unreachable).
static double
s_metric (const char *url, const char *name)
{
    CURL *c = curl_easy_init ();
    s_conn_t conn = { 0 };
    curl_easy_setopt (c, CURLOPT_URL, url);
    curl_easy_setopt (c, CURLOPT_WRITEFUNCTION, s_write);
    curl_easy_setopt (c, CURLOPT_WRITEDATA, &conn);
    curl_easy_setopt (c, CURLOPT_TIMEOUT, 5L);
    double sum = 0;
    if (curl_easy_perform (c) == CURLE_OK && conn.body) {
        size_t n = strlen (name);
        for (char *line = strtok (conn.body, "\n"); line; line = strtok (NULL, "\n"))
            if (strncmp (line, name, n) == 0 && (line [n] == '{' || line [n] == ' ')) {
                char *sp = strrchr (line, ' ');
                if (sp)
                    sum += strtod (sp + 1, NULL);
            }
    }
    free (conn.body);
    curl_easy_cleanup (c);
    return sum;
}

static double
s_metric_all (const s_opts_t *o, const char *name)
{
    if (!o->metrics)
        return 0;
    char *copy = strdup (o->metrics), *save = NULL;
    double sum = 0;
    for (char *u = strtok_r (copy, ",", &save); u; u = strtok_r (NULL, ",", &save))
        sum += s_metric (u, name);
    free (copy);
    return sum;
}

//  Each service's Redis round trips (main loop and HTTP thread), in the
//  order of --metrics; returns how many (at most max).
static int
s_trips_each (const s_opts_t *o, double *out, int max)
{
    if (!o->metrics)
        return 0;
    char *copy = strdup (o->metrics), *save = NULL;
    int n = 0;
    for (char *u = strtok_r (copy, ",", &save); u && n < max; u = strtok_r (NULL, ",", &save))
        out [n++] = s_metric (u, "asp_redis_round_trips") + s_metric (u, "asp_http_redis_round_trips");
    free (copy);
    return n;
}

static double
s_redis_commands (const s_opts_t *o)
{
    if (!o->redis)
        return -1;
    char host [256];
    int port = 6379;
    snprintf (host, sizeof host, "%s", o->redis);
    char *colon = strrchr (host, ':');
    if (colon) {
        *colon = 0;
        port = atoi (colon + 1);
    }
    redisContext *ctx = redisConnect (host, port);
    if (!ctx || ctx->err) {
        if (ctx)
            redisFree (ctx);
        return -1;
    }
    if (o->redis_password) {
        redisReply *a = (redisReply *) redisCommand (ctx, "AUTH %s", o->redis_password);
        if (a)
            freeReplyObject (a);
    }
    double v = -1;
    redisReply *r = (redisReply *) redisCommand (ctx, "INFO stats");
    if (r && r->type == REDIS_REPLY_STRING) {
        const char *p = strstr (r->str, "total_commands_processed:");
        if (p)
            v = strtod (p + 25, NULL);
    }
    if (r)
        freeReplyObject (r);
    redisFree (ctx);
    return v;
}

static int
s_cmp (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y? -1: x > y;
}

static void
s_report (const char *what, double *v, int n, const char *unit)
{
    if (n == 0) {
        printf ("  %-34s no samples\n", what);
        return;
    }
    qsort (v, (size_t) n, sizeof *v, s_cmp);
    printf ("  %-34s p50 %9.3f  p99 %9.3f  max %9.3f %s  (n=%d)\n", what,
            v [n / 2], v [(int) ((n - 1) * 0.99)], v [n - 1], unit, n);
}

//  ---------------------------------------------------------------------
//  The lookup benchmark

static redisContext *
s_redis_connect (const s_opts_t *o)
{
    char host [256];
    int port = 6379;
    snprintf (host, sizeof host, "%s", o->redis? o->redis: "127.0.0.1:6379");
    char *colon = strrchr (host, ':');
    if (colon) {
        *colon = 0;
        port = atoi (colon + 1);
    }
    redisContext *ctx = redisConnect (host, port);
    if (!ctx || ctx->err) {
        fprintf (stderr, "asp-bench: cannot connect to Redis at %s:%d\n", host, port);
        exit (1);
    }
    if (o->redis_password) {
        redisReply *a = (redisReply *) redisCommand (ctx, "AUTH %s", o->redis_password);
        if (a)
            freeReplyObject (a);
    }
    return ctx;
}

//  Unit i's serial, and its customer's phone (units 2k and 2k+1 share one).
static void
s_unit_names (int i, char *serial, char *phone)
{
    snprintf (serial, INTAKE_SERIAL_MAX, "BN%08d", i);
    snprintf (phone, INTAKE_DIGITS_MAX, "13%09d", i / 2);
}

//  Loads n units and n/2 customers, 2000 commands per round trip.
static void
s_load_archive (const s_opts_t *o, int n)
{
    redisContext *ctx = s_redis_connect (o);
    int64_t t0 = asp_mono_us ();
    int pending = 0;
    char cid [ASP_ID_MAX] = "", now [24];
    snprintf (now, sizeof now, "%lld", (long long) asp_now_ms ());
    for (int i = 0; i < n; i++) {
        char serial [INTAKE_SERIAL_MAX], phone [INTAKE_DIGITS_MAX];
        char ku [ASP_KEY_MAX], kc [ASP_KEY_MAX], kp [ASP_KEY_MAX], kcu [ASP_KEY_MAX];
        s_unit_names (i, serial, phone);
        if (i % 2 == 0) {
            //  As intake mints it: in the shard of the first phone.
            asp_shard_id_new (cid, "C", asp_shard_of (phone));
            intake_key (kc, sizeof kc, INTAKE_KEY_CUSTOMER, cid);
            intake_key (kp, sizeof kp, INTAKE_KEY_PHONE, phone);
            const char *c [] = { "HSET", kc, "id", cid, "name", "Bench customer", "phones", phone,
                                 "region", "shanghai", "address", "", "class", "C", "language", "zh-CN",
                                 "created_ms", now, "updated_ms", now };
            const char *p [] = { "SET", kp, cid };
            redisAppendCommandArgv (ctx, sizeof c / sizeof c [0], c, NULL);
            redisAppendCommandArgv (ctx, 3, p, NULL);
            pending += 2;
        }
        intake_key (ku, sizeof ku, INTAKE_KEY_UNIT, serial);
        intake_key (kcu, sizeof kcu, INTAKE_KEY_CUST_UNITS, cid);
        const char *u [] = { "HSET", ku, "serial", serial, "model", "H-60", "category", "water_heater",
                             "customer", cid, "purchase_date", "1704067200000", "attributes", "{}",
                             "parts", "[]", "created_ms", now, "updated_ms", now };
        const char *s [] = { "SADD", kcu, serial };
        redisAppendCommandArgv (ctx, sizeof u / sizeof u [0], u, NULL);
        redisAppendCommandArgv (ctx, 3, s, NULL);
        pending += 2;
        if (pending >= 2000 || i == n - 1) {
            for (; pending > 0; pending--) {
                redisReply *r = NULL;
                if (redisGetReply (ctx, (void **) &r) != REDIS_OK || !r || r->type == REDIS_REPLY_ERROR) {
                    fprintf (stderr, "asp-bench: loading failed: %s\n", r? r->str: ctx->errstr);
                    exit (1);
                }
                freeReplyObject (r);
            }
        }
    }
    int64_t t1 = asp_mono_us ();
    long long mem = -1;
    redisReply *r = (redisReply *) redisCommand (ctx, "INFO memory");
    const char *p = r && r->type == REDIS_REPLY_STRING? strstr (r->str, "used_memory:"): NULL;
    if (p)
        mem = atoll (p + 12);
    if (r)
        freeReplyObject (r);
    redisFree (ctx);
    printf ("  loaded %d units and %d customers in %.1f s (%.0f units/s, pipelined); Redis used_memory %.0f MB\n",
            n, (n + 1) / 2, (t1 - t0) / 1e6, n / ((t1 - t0) / 1e6), mem / 1048576.0);
}

typedef struct {
    const s_opts_t *o;
    bool by_phone;
    double *ms;
    int failures;
    unsigned seed;
} s_lookup_t;

static void
s_make_lookup (int i, char *url, size_t urllen, char **post, void *arg)
{
    (void) i;
    s_lookup_t *l = (s_lookup_t *) arg;
    char serial [INTAKE_SERIAL_MAX], phone [INTAKE_DIGITS_MAX];
    s_unit_names ((int) (rand_r (&l->seed) % (unsigned) l->o->lookup_units), serial, phone);
    snprintf (url, urllen, "%s/v1/lookup?%s=%s", l->o->url, l->by_phone? "phone": "serial",
              l->by_phone? phone: serial);
    *post = NULL;
}

static void
s_done_lookup (int i, int status, const char *body, int64_t latency_us, void *arg)
{
    s_lookup_t *l = (s_lookup_t *) arg;
    l->ms [i] = latency_us / 1000.0;
    if (status != 200 || !strstr (body, "\"units\":[{"))
        l->failures++;
}

//  A new ticket for a unit of the loaded archive, named by its serial and
//  its customer's phone (the find path: both exist); each request reports
//  another fault, so it opens a ticket rather than joining one.
static void
s_make_known_ticket (int i, char *url, size_t urllen, char **post, void *arg)
{
    s_lookup_t *l = (s_lookup_t *) arg;
    char serial [INTAKE_SERIAL_MAX], phone [INTAKE_DIGITS_MAX];
    s_unit_names ((int) (rand_r (&l->seed) % (unsigned) l->o->lookup_units), serial, phone);
    snprintf (url, urllen, "%s/v1/tickets", l->o->url);
    if (asprintf (post, "{\"type\":\"repair\",\"customer\":{\"name\":\"Bench customer\",\"phone\":\"%s\","
                  "\"region\":\"shanghai\"},\"product\":{\"serial\":\"%s\"},\"fault\":\"B%d\","
                  "\"description\":\"benchmark call %d about a known unit\",\"channel\":\"hotline\"}",
                  phone, serial, i, i) < 0)
        *post = NULL;
}

static void
s_done_known_ticket (int i, int status, const char *body, int64_t latency_us, void *arg)
{
    s_lookup_t *l = (s_lookup_t *) arg;
    l->ms [i] = latency_us / 1000.0;
    if (status != 201 || !strstr (body, "\"remedy\""))
        l->failures++;
}

static void
s_lookup_bench (const s_opts_t *o)
{
    printf ("asp-bench: lookup at %d units, %d lookups each by phone and by serial, concurrency %d, against %s\n",
            o->lookup_units, o->lookups, o->concurrency, o->url);
    s_load_archive (o, o->lookup_units);
    printf ("results:\n");
    for (int by_phone = 1; by_phone >= 0; by_phone--) {
        s_lookup_t l = { o, by_phone, (double *) calloc ((size_t) o->lookups, sizeof (double)), 0,
                         (unsigned) asp_rand64 () };
        int64_t t0 = asp_mono_us ();
        s_run (o, o->lookups, o->concurrency, 0, s_make_lookup, s_done_lookup, &l);
        double secs = (asp_mono_us () - t0) / 1e6;
        char what [64];
        snprintf (what, sizeof what, "GET /v1/lookup?%s=", by_phone? "phone": "serial");
        printf ("  %-34s %.0f lookups/s, %d failed\n", what, o->lookups / secs, l.failures);
        s_report (what, l.ms, o->lookups, "ms");
        free (l.ms);
    }
    //  HTTP intake against the same archive: customer and unit found, the
    //  三包 remedy decided from the unit's purchase date.
    s_lookup_t l = { o, false, (double *) calloc ((size_t) o->lookups, sizeof (double)), 0,
                     (unsigned) asp_rand64 () };
    int64_t t0 = asp_mono_us ();
    s_run (o, o->lookups, o->concurrency, 0, s_make_known_ticket, s_done_known_ticket, &l);
    double secs = (asp_mono_us () - t0) / 1e6;
    printf ("  %-34s %.0f tickets/s, %d failed\n", "POST /v1/tickets (known unit)", o->lookups / secs,
            l.failures);
    s_report ("POST /v1/tickets (known unit)", l.ms, o->lookups, "ms");
    free (l.ms);
}

static void
s_queries_run (const s_opts_t *o)
{
    if (o->queries > 0)
        printf ("list and search (%d requests each, concurrency %d):\n", o->queries, o->concurrency);
    for (int k = 0; o->queries > 0 && k < (int) (sizeof s_queries / sizeof s_queries [0]); k++) {
        s_query_state_t qs = { o, k, o->tickets, 0, 0, malloc (sizeof (double) * (size_t) o->queries) };
        int64_t q0 = asp_mono_us ();
        s_run (o, o->queries, o->concurrency, 0, s_make_query, s_done_query, &qs);
        double secs = (asp_mono_us () - q0) / 1e6;
        printf ("  %-34s %.0f requests/s, %d failed, %d partial\n", s_queries [k].what,
                o->queries / secs, qs.failures, qs.partial);
        s_report ("  latency", qs.ms, o->queries, "ms");
        free (qs.ms);
    }
}

static void
s_usage (void)
{
    fprintf (stderr,
        "usage: asp-bench [--url URL] [--tickets N] [--concurrency C] [--rate R] [--token T]\n"
        "                 [--watch FEEDBACK_METRICS_URL] [--metrics URL,URL,...]\n"
        "                 [--redis HOST:PORT] [--redis-password P] [--timeout-s S]\n"
        "                 [--queries Q] [--only-queries]\n"

        "                 [--lookup-units N [--lookups M]]   (the lookup benchmark)\n");
    exit (2);
}

int
main (int argc, char *argv [])
{
    s_opts_t o = { "http://127.0.0.1:8080", 1000, 32, 0, NULL, "http://127.0.0.1:9105/metrics",
                   NULL, NULL, NULL, 600, 1000, false, 0, 20000 };
    static struct option longs [] = {
        { "url", 1, 0, 'u' }, { "tickets", 1, 0, 'n' }, { "concurrency", 1, 0, 'c' },
        { "rate", 1, 0, 'r' }, { "token", 1, 0, 't' }, { "watch", 1, 0, 'w' },
        { "metrics", 1, 0, 'm' }, { "redis", 1, 0, 'R' }, { "redis-password", 1, 0, 'P' },
        { "timeout-s", 1, 0, 'T' }, { "queries", 1, 0, 'q' },
        { "only-queries", 0, 0, 'Q' }, { "lookup-units", 1, 0, 'L' },
        { "lookups", 1, 0, 'l' }, { 0, 0, 0, 0 }
    };
    int ch;
    while ((ch = getopt_long (argc, argv, "", longs, NULL)) != -1) {
        switch (ch) {
            case 'u': o.url = optarg; break;
            case 'n': o.tickets = atoi (optarg); break;
            case 'c': o.concurrency = atoi (optarg); break;
            case 'r': o.rate = atof (optarg); break;
            case 't': o.token = optarg; break;
            case 'w': o.watch = optarg; break;
            case 'm': o.metrics = optarg; break;
            case 'R': o.redis = optarg; break;
            case 'P': o.redis_password = optarg; break;
            case 'T': o.timeout_s = atoi (optarg); break;
            case 'q': o.queries = atoi (optarg); break;
            case 'Q': o.only_queries = true; break;
            case 'L': o.lookup_units = atoi (optarg); break;
            case 'l': o.lookups = atoi (optarg); break;
            default: s_usage ();
        }
    }
    if (o.tickets < 1 || o.concurrency < 1 || o.concurrency > 1024 || o.rate < 0 || o.timeout_s < 1
    ||  o.queries < 0)
        s_usage ();
    curl_global_init (CURL_GLOBAL_DEFAULT);
    if (o.lookup_units > 0) {
        if (o.lookups < 1)
            s_usage ();
        s_lookup_bench (&o);
        curl_global_cleanup ();
        return 0;
    }
    if (o.only_queries) {
        s_queries_run (&o);
        curl_global_cleanup ();
        return 0;
    }
    s_state_t st = { &o, (s_ticket_t *) calloc ((size_t) o.tickets, sizeof (s_ticket_t)), 0 };
    double closed0 = s_metric (o.watch, "asp_tickets_closed_total");
    double trips0 = s_metric_all (&o, "asp_redis_round_trips") + s_metric_all (&o, "asp_http_redis_round_trips");
    double each0 [16], each1 [16];
    int neach = s_trips_each (&o, each0, 16);
    double cmds0 = s_redis_commands (&o);

    printf ("asp-bench: %d tickets, concurrency %d, rate %s against %s\n", o.tickets, o.concurrency,
            o.rate > 0? "paced": "unpaced", o.url);
    if (o.rate > 0)
        printf ("  pacing: %.0f tickets/s\n", o.rate);
    int64_t t0 = asp_mono_us ();
    s_run (&o, o.tickets, o.concurrency, o.rate, s_make_ticket, s_done_ticket, &st);
    int64_t t1 = asp_mono_us ();
    int accepted = o.tickets - st.failures;
    printf ("  submitted: %d accepted, %d refused in %.2f s (%.0f tickets/s intake)\n",
            accepted, st.failures, (t1 - t0) / 1e6, accepted / ((t1 - t0) / 1e6));

    //  Wait for every accepted ticket to close.
    double closed = closed0;
    int64_t deadline = asp_mono_us () + (int64_t) o.timeout_s * 1000000;
    while (closed < closed0 + accepted && asp_mono_us () < deadline) {
        usleep (100000);
        closed = s_metric (o.watch, "asp_tickets_closed_total");
    }
    int64_t t2 = asp_mono_us ();
    printf ("  closed: %.0f of %d in %.2f s after the first POST\n", closed - closed0, accepted, (t2 - t0) / 1e6);

    //  Timelines.
    int n = 0;
    for (int i = 0; i < o.tickets; i++)
        if (*st.t [i].id)
            st.t [n++] = st.t [i];
    s_run (&o, n, o.concurrency, 0, s_make_timeline, s_done_timeline, &st);
    double *ack = malloc (sizeof (double) * (size_t) (n + 1));
    double *offer = malloc (sizeof (double) * (size_t) (n + 1));
    double *life = malloc (sizeof (double) * (size_t) (n + 1));
    int na = 0, no = 0, nl = 0;
    int64_t first = INT64_MAX, last = 0;
    for (int i = 0; i < n; i++) {
        ack [na++] = st.t [i].ack_us / 1000.0;
        if (st.t [i].offer_ms >= 0) offer [no++] = st.t [i].offer_ms;
        if (st.t [i].life_ms >= 0) {
            life [nl++] = st.t [i].life_ms;
            if (st.t [i].created_ms < first) first = st.t [i].created_ms;
            if (st.t [i].closed_ms > last) last = st.t [i].closed_ms;
        }
    }
    printf ("results:\n");
    if (nl > 1 && last > first)
        printf ("  whole lives: %d closed, %.1f lives/s (first created to last closed, %.2f s)\n",
                nl, nl / ((last - first) / 1000.0), (last - first) / 1000.0);
    s_report ("intake ack latency", ack, na, "ms");
    s_report ("intake -> partner offer", offer, no, "ms");
    s_report ("whole life (created -> closed)", life, nl, "ms");
    double trips1 = s_metric_all (&o, "asp_redis_round_trips") + s_metric_all (&o, "asp_http_redis_round_trips");
    double cmds1 = s_redis_commands (&o);
    if (o.metrics && nl) {
        printf ("  redis round trips per life (all services): %.2f (", (trips1 - trips0) / nl);
        s_trips_each (&o, each1, neach);
        for (int k = 0; k < neach; k++)
            printf ("%s%.2f", k? " ": "by --metrics URL: ", (each1 [k] - each0 [k]) / nl);
        printf (")\n");
    }
    if (cmds0 >= 0 && cmds1 >= 0 && nl)
        printf ("  redis commands per life (server count, incl. this tool's INFO): %.2f\n", (cmds1 - cmds0) / nl);
    s_queries_run (&o);
    free (ack);
    free (offer);
    free (life);
    free (st.t);
    curl_global_cleanup ();
    return 0;
}
