/*  asp-sim-customer: a simulated customer and webhook sink, for demos and
    tests.

    It receives the notification service's webhook POSTs (POST / or
    POST /webhook), checks each body against the notification contract
    (400 with the reason when it does not hold), and appends it to the
    record file as one JSON line with "duplicate": true/false and
    "received_ms". Duplicates are recognised by the Idempotency-Key (which
    must equal the body's id), also across restarts: the record file is
    read back at start. With ASP_NOTIFY_WEBHOOK_SECRET (the notifier's
    variable, "secret" or "new,old") it verifies every request's
    X-ASP-Signature and X-ASP-Timestamp (asp_hooksig: +-300 s) first and
    answers a bad or missing one 401 (counted as forged). For a
    survey_request it answers the survey like a
    customer would (sim_survey: from its own thread, with retries); a
    survey_reminder (the request was not answered in time) is only
    recorded.

    No survey is lost to a kill: the request's line is in the record (and
    fsynced) before the webhook is answered 200, and each answer intake
    took is written to <record>.surveys (sim_survey's done file). At start
    every survey_request of the record not settled there is queued again.
    customer.jsonl stays one line per notification received.

    GET /stats     counts: received, duplicates, unique, invalid, forged, surveys_*
    GET /metrics   the same as Prometheus counters; GET /healthz

    Usage: asp-sim-customer [--port N] [--record FILE] [--intake URL]
                            [--survey-tries N] [--survey-delay-ms N] [--bind ADDR]
    Environment (options win): ASP_SIM_PORT (8090), ASP_SIM_RECORD,
    ASP_SIM_INTAKE_URL (http://127.0.0.1:8080), ASP_SIM_TOKEN (bearer token
    for intake), ASP_SIM_SURVEY_TRIES (20), ASP_SIM_SURVEY_DELAY_MS (0),
    ASP_SIM_BIND (all interfaces), ASP_SIM_MAX_IDS (1000000),
    ASP_NOTIFY_WEBHOOK_SECRET (none: unsigned requests taken), ASP_LOG_LEVEL.
    Stops cleanly on SIGINT/SIGTERM.                                       */
#include "asp_config.h"
#include "asp_hooksig.h"
#include "asp_httpd.h"
#include "asp_id.h"
#include "asp_json.h"
#include "asp_log.h"
#include "sim_survey.h"
#include <czmq.h>
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <time.h>
#include <unistd.h>

#define S_MAX_BODY (1024 * 1024)

typedef struct {
    pthread_mutex_t lock;       //  guards seen and record
    zhashx_t *seen;             //  notification ids received
    size_t max_ids;
    FILE *record;               //  NULL when not recording
    char record_path [512];
    sim_survey_t *survey;
    asp_metrics_t *metrics;
    asp_counter_t *received, *duplicates, *invalid;
    asp_hooksig_keys_t secrets;     //  none: signatures are not checked
    asp_counter_t *forged;          //  refused 401: bad or missing signature
    asp_counter_t *resumed;     //  surveys queued again at start
} s_sim_t;

static const char *s_templates [] = {
    "received", "partner_assigned", "progress", "completed", "survey_request", "survey_reminder", "closed",
    "cancelled", "redispatched", "appointment", "appointment_missed", "unroutable", "returned",
    "sla_warning", "sla_breached", "sla_escalated", "sla_compensation", NULL
};

static bool
s_in (const char *s, const char **set)
{
    for (; *set; set++)
        if (strcmp (s, *set) == 0)
            return true;
    return false;
}

//  The notification contract (team brief, "Notification webhook").
//  0 when j holds it, else -1 and the first defect in why.
static int
s_check (const cJSON *j, char *why, size_t whylen)
{
#define BAD(...) do { snprintf (why, whylen, __VA_ARGS__); return -1; } while (0)
    static const char *audiences [] = { "customer", "staff", "ops", NULL };
    const char *s;
    if (!cJSON_IsObject (j))
        BAD ("the body must be a JSON object");
    if (asp_json_str (j, "id", 1, 128, &s))
        BAD ("'id' must be a string of 1..128 characters");
    if (asp_json_str (j, "ticket_id", 1, ASP_ID_MAX - 1, &s) || !asp_id_valid (s, strlen (s)))
        BAD ("'ticket_id' must be a ticket id");
    if (asp_json_str (j, "event", 1, 64, &s))
        BAD ("'event' must be a string of 1..64 characters");
    if (asp_json_str (j, "template", 1, 64, &s) || !s_in (s, s_templates))
        BAD ("'template' must be one of received, partner_assigned, progress, completed, "
             "survey_request, survey_reminder, closed, cancelled, redispatched, appointment, appointment_missed, "
             "unroutable, returned, sla_warning, sla_breached, sla_escalated, sla_compensation");
    if (asp_json_str (j, "audience", 1, 16, &s) || !s_in (s, audiences))
        BAD ("'audience' must be customer, staff or ops");
    if (asp_json_str (j, "lang", 1, 16, &s))
        BAD ("'lang' must be a language tag");
    if (asp_json_str (j, "text", 1, 16384, &s))
        BAD ("'text' must be a non-empty string without control characters");
    const cJSON *to = cJSON_GetObjectItemCaseSensitive (j, "to");
    if (!to || !(cJSON_IsNull (to) || cJSON_IsObject (to)))
        BAD ("'to' must be an object or null");
    if (cJSON_IsObject (to) && (asp_json_str (to, "name", 0, 256, &s) == -1
                            ||  asp_json_str (to, "phone", 0, 64, &s) == -1))
        BAD ("'to.name' and 'to.phone' must be strings");
    if (!cJSON_IsObject (cJSON_GetObjectItemCaseSensitive (j, "data")))
        BAD ("'data' must be an object");
    const cJSON *created = cJSON_GetObjectItemCaseSensitive (j, "created_ms");
    if (!cJSON_IsNumber (created) || created->valuedouble <= 0)
        BAD ("'created_ms' must be a positive number");
    return 0;
#undef BAD
}

static void
s_stats (s_sim_t *self, asp_http_res_t *res)
{
    sim_survey_stats_t st;
    sim_survey_stats (self->survey, &st);
    pthread_mutex_lock (&self->lock);
    size_t unique = zhashx_size (self->seen);
    pthread_mutex_unlock (&self->lock);
    cJSON *j = cJSON_CreateObject ();
    cJSON_AddNumberToObject (j, "received", (double) asp_counter_value (self->received));
    cJSON_AddNumberToObject (j, "duplicates", (double) asp_counter_value (self->duplicates));
    cJSON_AddNumberToObject (j, "unique", (double) unique);
    cJSON_AddNumberToObject (j, "invalid", (double) asp_counter_value (self->invalid));
    cJSON_AddNumberToObject (j, "forged", (double) asp_counter_value (self->forged));
    cJSON_AddNumberToObject (j, "surveys_queued", (double) st.queued);
    cJSON_AddNumberToObject (j, "surveys_answered", (double) st.answered);
    cJSON_AddNumberToObject (j, "surveys_already_answered", (double) st.already);
    cJSON_AddNumberToObject (j, "surveys_retries", (double) st.retries);
    cJSON_AddNumberToObject (j, "surveys_failed", (double) st.failed);
    cJSON_AddNumberToObject (j, "surveys_pending", (double) st.pending);
    cJSON_AddNumberToObject (j, "surveys_resumed", (double) asp_counter_value (self->resumed));
    asp_http_json (res, 200, cJSON_PrintUnformatted (j));
    cJSON_Delete (j);
}

//  Appends the notification to the record file. 0, or -1 with errno. A
//  survey request goes through to the disk: the record is what a restart
//  answers unsettled surveys from, and the 200 tells notification it is
//  done with it.
static int
s_record (s_sim_t *self, cJSON *j, bool duplicate, bool survey)
{
    if (!self->record)
        return 0;
    cJSON_AddBoolToObject (j, "duplicate", duplicate);
    cJSON_AddNumberToObject (j, "received_ms", (double) asp_now_ms ());
    char *line = cJSON_PrintUnformatted (j);
    if (!line) {
        errno = ENOMEM;
        return -1;
    }
    int rc = fputs (line, self->record) < 0 || fputc ('\n', self->record) == EOF
          || fflush (self->record) || (survey && fsync (fileno (self->record)))? -1: 0;
    cJSON_free (line);
    return rc;
}

static void
s_log_received (const cJSON *j, bool duplicate)
{
    const cJSON *to = cJSON_GetObjectItemCaseSensitive (j, "to");
    const cJSON *phone = cJSON_GetObjectItemCaseSensitive (to, "phone");
    char masked [64] = "";
    if (cJSON_IsString (phone))
        asp_mask_phone (phone->valuestring, masked, sizeof masked);
    asp_log_kv (ASP_LOG_INFO, duplicate? "notification received again (duplicate)": "notification received",
                "id", cJSON_GetObjectItemCaseSensitive (j, "id")->valuestring,
                "ticket", cJSON_GetObjectItemCaseSensitive (j, "ticket_id")->valuestring,
                "template", cJSON_GetObjectItemCaseSensitive (j, "template")->valuestring,
                "to", masked, NULL);
}

static void
s_webhook (s_sim_t *self, const asp_http_req_t *req, asp_http_res_t *res)
{
    //  The signature first: an unsigned or forged request is not read.
    char why [300];
    if (self->secrets.count
    &&  asp_hooksig_verify (&self->secrets, asp_http_header (req, "X-ASP-Timestamp"),
                            asp_http_header (req, "X-ASP-Signature"), req->body, req->body_len,
                            (int64_t) time (NULL), ASP_HOOKSIG_WINDOW_S, why, sizeof why)) {
        asp_counter_inc (self->forged);
        asp_log_kv (ASP_LOG_WARN, "webhook refused: bad signature", "reason", why, NULL);
        asp_http_error (res, 401, "bad_signature", "%s", why);
        return;
    }
    const char *end = NULL;
    cJSON *j = strlen (req->body) == req->body_len? cJSON_ParseWithOpts (req->body, &end, 1): NULL;
    if (!j) {
        asp_counter_inc (self->invalid);
        asp_http_error (res, 400, "invalid_json", "the body is not one JSON value%s",
                        req->body_len? "": " (it is empty)");
        return;
    }
    if (s_check (j, why, sizeof why)) {
        asp_counter_inc (self->invalid);
        asp_http_error (res, 400, "invalid_field", "%s", why);
        cJSON_Delete (j);
        return;
    }
    const char *id = cJSON_GetObjectItemCaseSensitive (j, "id")->valuestring;
    const char *key = asp_http_header (req, "Idempotency-Key");
    if (!key || strcmp (key, id) != 0) {
        asp_counter_inc (self->invalid);
        asp_http_error (res, 400, "invalid_header", "the Idempotency-Key header must be present "
                        "and equal the body's id");
        cJSON_Delete (j);
        return;
    }
    char ticket [ASP_ID_MAX];
    snprintf (ticket, sizeof ticket, "%s", cJSON_GetObjectItemCaseSensitive (j, "ticket_id")->valuestring);
    bool survey = strcmp (cJSON_GetObjectItemCaseSensitive (j, "template")->valuestring, "survey_request") == 0;

    pthread_mutex_lock (&self->lock);
    bool duplicate = zhashx_lookup (self->seen, id) != NULL;
    int status = 200;
    if (!duplicate && zhashx_size (self->seen) >= self->max_ids) {
        asp_http_error (res, 503, "full", "the sink remembers %zu ids at most", self->max_ids);
        status = 503;
    }
    else
    if (!duplicate && survey && sim_survey_full (self->survey)) {
        asp_http_error (res, 503, "busy", "too many surveys waiting; retry later");
        res->retry_after = 1;
        status = 503;
    }
    else
    if (s_record (self, j, duplicate, survey && !duplicate)) {
        asp_http_error (res, 500, "record_failed", "cannot append to %s: %s", self->record_path,
                        strerror (errno));
        status = 500;
    }
    else
    if (!duplicate)
        zhashx_insert (self->seen, id, (void *) 1);
    pthread_mutex_unlock (&self->lock);

    if (status == 200) {
        asp_counter_inc (self->received);
        if (duplicate)
            asp_counter_inc (self->duplicates);
        s_log_received (j, duplicate);
        if (!duplicate && survey && sim_survey_add (self->survey, id, ticket) < 0)
            asp_log_kv (ASP_LOG_WARN, "survey queue full; survey not answered", "ticket", ticket, NULL);
        cJSON *ok = cJSON_CreateObject ();
        cJSON_AddStringToObject (ok, "status", "received");
        cJSON_AddStringToObject (ok, "id", id);
        cJSON_AddBoolToObject (ok, "duplicate", duplicate);
        asp_http_json (res, 200, cJSON_PrintUnformatted (ok));
        cJSON_Delete (ok);
    }
    cJSON_Delete (j);
}

static void
s_handle (const asp_http_req_t *req, asp_http_res_t *res, void *arg)
{
    s_sim_t *self = (s_sim_t *) arg;
    bool get = strcmp (req->method, "GET") == 0;
    bool post = strcmp (req->method, "POST") == 0;
    bool hook = strcmp (req->url, "/") == 0 || strcmp (req->url, "/webhook") == 0;
    if (strcmp (req->url, "/stats") == 0 && get)
        s_stats (self, res);
    else
    if (hook && post)
        s_webhook (self, req, res);
    else
    if (hook || strcmp (req->url, "/stats") == 0)
        asp_http_error (res, 405, "method_not_allowed", "%s is not allowed on %s", req->method, req->url);
    else
        asp_http_error (res, 404, "not_found", "no such endpoint: %s %s", req->method, req->url);
}

static bool
s_health (void *arg, char *detail, size_t len)
{
    s_sim_t *self = (s_sim_t *) arg;
    snprintf (detail, len, "{\"received\":%llu}", (unsigned long long) asp_counter_value (self->received));
    return true;
}

//  Queues again a survey request an earlier run recorded, unless its
//  answer is settled (sim_survey's done file). The record holds a line
//  only for a request it was also queued for, or about to be.
static void
s_resume_survey (s_sim_t *self, const cJSON *j, size_t *lost)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive (j, "id");
    const cJSON *ticket = cJSON_GetObjectItemCaseSensitive (j, "ticket_id");
    const cJSON *tpl = cJSON_GetObjectItemCaseSensitive (j, "template");
    if (!cJSON_IsString (ticket) || !cJSON_IsString (tpl) || strcmp (tpl->valuestring, "survey_request"))
        return;
    int rc = sim_survey_add (self->survey, id->valuestring, ticket->valuestring);
    if (rc == 0)
        asp_counter_inc (self->resumed);
    else
    if (rc < 0)
        (*lost)++;
}

//  Reads back the ids of an earlier run's record (queueing its unsettled
//  surveys again), then opens it to append.
static int
s_open_record (s_sim_t *self, const char *path)
{
    snprintf (self->record_path, sizeof self->record_path, "%s", path);
    FILE *f = fopen (path, "r");
    bool newline = true;        //  the file ends with a whole line
    size_t loaded = 0, lost = 0;
    if (f) {
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        while ((n = getline (&line, &cap, f)) > 0) {
            newline = line [n - 1] == '\n';
            cJSON *j = cJSON_Parse (line);
            const cJSON *id = cJSON_GetObjectItemCaseSensitive (j, "id");
            if (cJSON_IsString (id) && !zhashx_lookup (self->seen, id->valuestring)) {
                zhashx_insert (self->seen, id->valuestring, (void *) 1);
                loaded++;
                s_resume_survey (self, j, &lost);
            }
            cJSON_Delete (j);
        }
        free (line);
        fclose (f);
    }
    else
    if (errno != ENOENT) {
        asp_log_error ("cannot read the record file %s: %s", path, strerror (errno));
        return -1;
    }
    self->record = fopen (path, "a");
    if (!self->record) {
        asp_log_error ("cannot open the record file %s: %s", path, strerror (errno));
        return -1;
    }
    //  A crash mid-line left half a line: end it, so the next is whole.
    if (!newline && (fputc ('\n', self->record) == EOF || fflush (self->record)))
        return -1;
    if (loaded)
        asp_log_info ("record %s: %zu notification id(s) from earlier runs, %llu survey(s) to answer",
                      path, loaded, (unsigned long long) asp_counter_value (self->resumed));
    if (lost)
        asp_log_warn ("record %s: survey queue full; %zu survey(s) of earlier runs not answered",
                      path, lost);
    return 0;
}

static void
s_usage (void)
{
    fprintf (stderr,
        "usage: asp-sim-customer [--port N] [--record FILE] [--intake URL]\n"
        "                        [--survey-tries N] [--survey-delay-ms N] [--bind ADDR]\n"
        "       asp-sim-customer --selftest\n");
}

static int
s_int_arg (const char *name, const char *value, int64_t min, int64_t max, int64_t *out)
{
    if (asp_parse_int (value, min, max, out)) {
        fprintf (stderr, "asp-sim-customer: --%s must be an integer in [%lld, %lld]\n", name,
                 (long long) min, (long long) max);
        return -1;
    }
    return 0;
}

int
main (int argc, char *argv [])
{
    asp_log_init ("sim_customer");
    if (curl_global_init (CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    if (argc == 2 && strcmp (argv [1], "--selftest") == 0) {
        sim_survey_test ();
        curl_global_cleanup ();
        return 0;
    }
    int64_t port = asp_cfg_int ("ASP_SIM_PORT", 8090, 1, 65535);
    int64_t tries = asp_cfg_int ("ASP_SIM_SURVEY_TRIES", 20, 1, 1000);
    int64_t delay = asp_cfg_int ("ASP_SIM_SURVEY_DELAY_MS", 0, 0, 3600 * 1000);
    const char *record = asp_cfg_str ("ASP_SIM_RECORD", NULL);
    const char *intake = asp_cfg_str ("ASP_SIM_INTAKE_URL", "http://127.0.0.1:8080");
    const char *bind = asp_cfg_str ("ASP_SIM_BIND", NULL);
    static const struct option options [] = {
        { "port", required_argument, NULL, 'p' }, { "record", required_argument, NULL, 'r' },
        { "intake", required_argument, NULL, 'i' }, { "survey-tries", required_argument, NULL, 't' },
        { "survey-delay-ms", required_argument, NULL, 'd' }, { "bind", required_argument, NULL, 'b' },
        { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 }
    };
    int opt;
    while ((opt = getopt_long (argc, argv, "p:r:i:t:d:b:h", options, NULL)) != -1) {
        int bad = 0;
        switch (opt) {
            case 'p': bad = s_int_arg ("port", optarg, 1, 65535, &port); break;
            case 't': bad = s_int_arg ("survey-tries", optarg, 1, 1000, &tries); break;
            case 'd': bad = s_int_arg ("survey-delay-ms", optarg, 0, 3600 * 1000, &delay); break;
            case 'r': record = optarg; break;
            case 'i': intake = optarg; break;
            case 'b': bind = optarg; break;
            default: s_usage (); return opt == 'h'? 0: 2;
        }
        if (bad)
            return 2;
    }
    if (optind < argc) {
        s_usage ();
        return 2;
    }
    if (strncmp (intake, "http://", 7) != 0 && strncmp (intake, "https://", 8) != 0) {
        asp_log_error ("bad configuration: the intake URL '%s' must start with http:// or https://", intake);
        return 2;
    }
    //  Signals are taken by sigwait below; every thread started from here
    //  on inherits the mask, so none of them is interrupted.
    signal (SIGPIPE, SIG_IGN);
    sigset_t signals;
    sigemptyset (&signals);
    sigaddset (&signals, SIGINT);
    sigaddset (&signals, SIGTERM);
    pthread_sigmask (SIG_BLOCK, &signals, NULL);

    s_sim_t sim;
    memset (&sim, 0, sizeof sim);
    char why [160];
    if (sodium_init () < 0) {
        asp_log_error ("libsodium failed to initialise");
        return 1;
    }
    if (asp_hooksig_parse (asp_cfg_str ("ASP_NOTIFY_WEBHOOK_SECRET", NULL), &sim.secrets, why, sizeof why)) {
        asp_log_error ("bad configuration: ASP_NOTIFY_WEBHOOK_SECRET: %s", why);
        return 2;
    }
    pthread_mutex_init (&sim.lock, NULL);
    sim.seen = zhashx_new ();
    sim.max_ids = (size_t) asp_cfg_int ("ASP_SIM_MAX_IDS", 1000000, 1, 100000000);
    sim.metrics = asp_metrics_new ("sim_customer");
    sim.received = asp_metrics_counter (sim.metrics, "sim_received_total", "Valid notifications received.");
    sim.duplicates = asp_metrics_counter (sim.metrics, "sim_duplicates_total", "Notifications received again.");
    sim.invalid = asp_metrics_counter (sim.metrics, "sim_invalid_total", "Requests refused as invalid.");
    sim.forged = asp_metrics_counter (sim.metrics, "sim_forged_total",
                                      "Webhook requests refused 401: bad or missing signature.");
    sim.resumed = asp_metrics_counter (sim.metrics, "sim_surveys_resumed_total",
                                       "Surveys of earlier runs queued again at start.");
    //  The survey worker first: reading the record back queues surveys.
    char done [600] = "";
    if (record)
        snprintf (done, sizeof done, "%s.surveys", record);
    sim_survey_cfg_t cfg = { intake, asp_cfg_str ("ASP_SIM_TOKEN", NULL), (int) tries, (int) delay,
                             10000, record? done: NULL };
    int rc = 0;
    if (!(sim.survey = sim_survey_new (&cfg, sim.metrics)))
        rc = 2;
    if (rc == 0 && record && s_open_record (&sim, record))
        rc = 2;
    asp_httpd_t *httpd = NULL;
    if (rc == 0 && !(httpd = asp_httpd_new ((int) port, bind, S_MAX_BODY, s_handle, &sim,
                                            sim.metrics, s_health, &sim)))
        rc = 2;
    if (rc == 0) {
        asp_log_info ("sim customer on port %lld, intake %s, record %s, signatures %s", (long long) port,
                      intake, record? record: "(none)", sim.secrets.count? "checked": "not checked");
        int sig = 0;
        sigwait (&signals, &sig);
        asp_log_info ("sim customer stopping (%s)", sig == SIGINT? "SIGINT": "SIGTERM");
    }
    //  HTTP first (its thread uses the rest), then the survey worker.
    asp_httpd_destroy (&httpd);
    sim_survey_destroy (&sim.survey);
    if (sim.record)
        fclose (sim.record);
    zhashx_destroy (&sim.seen);
    asp_metrics_destroy (&sim.metrics);
    pthread_mutex_destroy (&sim.lock);
    curl_global_cleanup ();
    return rc;
}
