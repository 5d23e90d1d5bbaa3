#include "sim_survey.h"
#include "asp_id.h"
#include "asp_curl.h"
#include "asp_log.h"
#include <assert.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <czmq.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define S_BACKOFF_MS     200
#define S_BACKOFF_MAX_MS 5000

#define S_ID_MAX 129             //  a notification id and its null

typedef struct {
    char id [S_ID_MAX];         //  of the notification that asked
    char ticket [ASP_ID_MAX];
    int tries;                  //  attempts made
    int64_t due;                //  monotonic ms
} s_job_t;

//  S_GONE: intake has no such ticket (404); final like S_FAILED, but settled.
typedef enum { S_DONE, S_ALREADY, S_GONE, S_RETRY, S_FAILED } s_outcome_t;

struct sim_survey_t {
    char url [512];             //  base, without a trailing slash
    char auth [300];            //  "Authorization: Bearer ..." or ""
    int max_tries;
    int delay_ms;
    CURL *curl;
    asp_curl_head_t reply;      //  start of intake's answer
    FILE *done_file;            //  settled ids, appended; NULL for none
    char done_path [512];
    pthread_t thread;
    bool started;
    pthread_mutex_t lock;       //  guards what follows
    pthread_cond_t wake;
    bool stop;
    s_job_t *jobs;
    size_t njobs, max_jobs;
    zhashx_t *done;             //  ids settled, in this run or an earlier one
    asp_counter_t *queued, *answered, *already, *retries, *failed;
};

static const char *s_comments [] = {
    "师傅很专业，问题已解决，谢谢！",
    "上门准时，服务态度很好。",
    "Quick and friendly service, thank you.",
    "工程师讲解很耐心，满意。",
    "Fixed on the first visit. Well done.",
};

//  What intake's answer means for this survey.
static s_outcome_t
s_classify (long status, const char *body)
{
    if (status == 202)
        return S_DONE;
    if (status == 409) {
        cJSON *j = cJSON_Parse (body);
        cJSON *err = cJSON_GetObjectItemCaseSensitive (j, "error");
        cJSON *code = cJSON_GetObjectItemCaseSensitive (err, "code");
        bool already = cJSON_IsString (code) && strcmp (code->valuestring, "already_answered") == 0;
        cJSON_Delete (j);
        //  not_completed (or any other conflict): the work may not be
        //  recorded as completed yet; ask again later.
        return already? S_ALREADY: S_RETRY;
    }
    if (status == 429 || status == 408 || status >= 500)
        return S_RETRY;
    return status == 404? S_GONE: S_FAILED;
}

static int64_t
s_backoff_ms (int tries)
{
    int64_t delay = S_BACKOFF_MS;
    for (int i = 1; i < tries && delay < S_BACKOFF_MAX_MS; i++)
        delay *= 2;
    return delay < S_BACKOFF_MAX_MS? delay: S_BACKOFF_MAX_MS;
}

static s_outcome_t
s_post (sim_survey_t *self, const char *ticket, char *why, size_t whylen)
{
    char url [700];
    snprintf (url, sizeof url, "%s/v1/tickets/%s/survey", self->url, ticket);
    cJSON *body = cJSON_CreateObject ();
    cJSON_AddNumberToObject (body, "score", 4 + (double) (asp_rand64 () % 2));
    cJSON_AddBoolToObject (body, "resolved", 1);
    cJSON_AddStringToObject (body, "comment",
                             s_comments [asp_rand64 () % (sizeof s_comments / sizeof s_comments [0])]);
    char *json = cJSON_PrintUnformatted (body);
    cJSON_Delete (body);
    assert (json);
    struct curl_slist *headers = curl_slist_append (NULL, "Content-Type: application/json");
    headers = curl_slist_append (headers, "Expect:");
    if (*self->auth)
        headers = curl_slist_append (headers, self->auth);
    curl_easy_setopt (self->curl, CURLOPT_URL, url);
    curl_easy_setopt (self->curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt (self->curl, CURLOPT_POSTFIELDS, json);
    curl_easy_setopt (self->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) strlen (json));
    asp_curl_head_reset (&self->reply);
    CURLcode rc = curl_easy_perform (self->curl);
    curl_easy_setopt (self->curl, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all (headers);
    cJSON_free (json);
    if (rc != CURLE_OK) {
        snprintf (why, whylen, "%s", curl_easy_strerror (rc));
        return S_RETRY;
    }
    long status = 0;
    curl_easy_getinfo (self->curl, CURLINFO_RESPONSE_CODE, &status);
    for (char *p = self->reply.text; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    snprintf (why, whylen, "http %ld %.300s", status, self->reply.text);
    return s_classify (status, self->reply.text);
}

//  Index of the job due first, or -1. Called with the lock held.
static int
s_next (sim_survey_t *self)
{
    int best = -1;
    for (size_t i = 0; i < self->njobs; i++)
        if (best < 0 || self->jobs [i].due < self->jobs [best].due)
            best = (int) i;
    return best;
}

//  Waits until the first job is due (or a new one or stop arrives).
static void
s_wait (sim_survey_t *self, int64_t due)
{
    if (due < 0) {
        pthread_cond_wait (&self->wake, &self->lock);
        return;
    }
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    int64_t wait_ms = due - asp_mono_ms ();
    ts.tv_sec += wait_ms / 1000;
    ts.tv_nsec += (long) (wait_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait (&self->wake, &self->lock, &ts);
}

//  Writes the job's id to the done file and the done set, so no later
//  start answers it again. Written through to the disk: the point is to
//  survive a kill (and a crash) at any moment.
static void
s_mark_done (sim_survey_t *self, const s_job_t *job, s_outcome_t outcome)
{
    pthread_mutex_lock (&self->lock);
    zhashx_insert (self->done, job->id, (void *) 1);
    pthread_mutex_unlock (&self->lock);
    if (!self->done_file)
        return;
    const char *what = outcome == S_DONE? "answered": outcome == S_ALREADY? "already_answered": "no_ticket";
    if (fprintf (self->done_file, "%s %s %s\n", job->id, job->ticket, what) < 0
    ||  fflush (self->done_file) || fsync (fileno (self->done_file)))
        //  Not fatal: after a restart the survey is posted again and
        //  intake answers already_answered.
        asp_log_kv (ASP_LOG_ERROR, "cannot write the survey done file", "path", self->done_path,
                    "ticket", job->ticket, "reason", strerror (errno), NULL);
}

static void
s_settle (sim_survey_t *self, s_job_t *job, s_outcome_t outcome, const char *why)
{
    char tries [16];
    snprintf (tries, sizeof tries, "%d", job->tries);
    if (outcome == S_DONE || outcome == S_ALREADY || outcome == S_GONE)
        s_mark_done (self, job, outcome);
    if (outcome == S_DONE) {
        asp_counter_inc (self->answered);
        asp_log_kv (ASP_LOG_INFO, "survey answered", "ticket", job->ticket, "attempt", tries, NULL);
    }
    else
    if (outcome == S_ALREADY) {
        asp_counter_inc (self->already);
        asp_log_kv (ASP_LOG_INFO, "survey was already answered", "ticket", job->ticket, NULL);
    }
    else
    if (outcome == S_RETRY && job->tries < self->max_tries) {
        asp_counter_inc (self->retries);
        asp_log_kv (ASP_LOG_INFO, "survey not taken yet; will try again", "ticket", job->ticket,
                    "attempt", tries, "reason", why, NULL);
        job->due = asp_mono_ms () + s_backoff_ms (job->tries);
        pthread_mutex_lock (&self->lock);
        self->jobs [self->njobs++] = *job;      //  room: it was taken out
        pthread_mutex_unlock (&self->lock);
    }
    else {
        asp_counter_inc (self->failed);
        asp_log_kv (ASP_LOG_WARN, "survey answer given up", "ticket", job->ticket, "attempt", tries,
                    "reason", why, NULL);
    }
}

static void *
s_run (void *arg)
{
    sim_survey_t *self = (sim_survey_t *) arg;
    pthread_mutex_lock (&self->lock);
    while (!self->stop) {
        int i = s_next (self);
        if (i < 0 || self->jobs [i].due > asp_mono_ms ()) {
            s_wait (self, i < 0? -1: self->jobs [i].due);
            continue;
        }
        s_job_t job = self->jobs [i];
        self->jobs [i] = self->jobs [--self->njobs];
        pthread_mutex_unlock (&self->lock);
        job.tries++;
        char why [400];
        s_outcome_t outcome = s_post (self, job.ticket, why, sizeof why);
        s_settle (self, &job, outcome, why);
        pthread_mutex_lock (&self->lock);
    }
    pthread_mutex_unlock (&self->lock);
    return NULL;
}

//  Reads the ids an earlier run settled, then opens the file to append.
//  A last line without its newline (a crash while writing it) does not
//  count: that survey is answered again. 0, or -1 logged.
static int
s_open_done (sim_survey_t *self, const char *path)
{
    snprintf (self->done_path, sizeof self->done_path, "%s", path);
    FILE *f = fopen (path, "r");
    bool newline = true;
    size_t loaded = 0;
    if (f) {
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        while ((n = getline (&line, &cap, f)) > 0) {
            newline = line [n - 1] == '\n';
            size_t len = strcspn (line, " \n");
            if (!newline || len == 0 || len >= S_ID_MAX)
                continue;
            line [len] = 0;
            if (!zhashx_lookup (self->done, line)) {
                zhashx_insert (self->done, line, (void *) 1);
                loaded++;
            }
        }
        free (line);
        fclose (f);
    }
    else
    if (errno != ENOENT) {
        asp_log_error ("cannot read the survey done file %s: %s", path, strerror (errno));
        return -1;
    }
    self->done_file = fopen (path, "a");
    if (!self->done_file) {
        asp_log_error ("cannot open the survey done file %s: %s", path, strerror (errno));
        return -1;
    }
    if (!newline && (fputc ('\n', self->done_file) == EOF || fflush (self->done_file))) {
        asp_log_error ("cannot write the survey done file %s: %s", path, strerror (errno));
        return -1;
    }
    if (loaded)
        asp_log_info ("survey done file %s: %zu survey(s) settled in earlier runs", path, loaded);
    return 0;
}

sim_survey_t *
sim_survey_new (const sim_survey_cfg_t *cfg, asp_metrics_t *metrics)
{
    sim_survey_t *self = (sim_survey_t *) calloc (1, sizeof *self);
    assert (self);
    snprintf (self->url, sizeof self->url, "%s", cfg->intake_url);
    size_t n = strlen (self->url);
    while (n > 0 && self->url [n - 1] == '/')
        self->url [--n] = 0;
    if (cfg->token && *cfg->token)
        snprintf (self->auth, sizeof self->auth, "Authorization: Bearer %s", cfg->token);
    self->max_tries = cfg->max_tries > 0? cfg->max_tries: 1;
    self->delay_ms = cfg->delay_ms;
    self->max_jobs = cfg->max_queue > 0? cfg->max_queue: 1;
    self->jobs = (s_job_t *) calloc (self->max_jobs, sizeof (s_job_t));
    assert (self->jobs);
    self->queued = asp_metrics_counter (metrics, "sim_surveys_queued_total", "Survey answers queued.");
    self->answered = asp_metrics_counter (metrics, "sim_surveys_answered_total", "Surveys taken by intake (202).");
    self->already = asp_metrics_counter (metrics, "sim_surveys_already_total", "Surveys intake had already (409).");
    self->retries = asp_metrics_counter (metrics, "sim_surveys_retries_total", "Survey posts to try again.");
    self->failed = asp_metrics_counter (metrics, "sim_surveys_failed_total", "Survey answers given up.");
    pthread_mutex_init (&self->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init (&attr);
    pthread_condattr_setclock (&attr, CLOCK_MONOTONIC);
    pthread_cond_init (&self->wake, &attr);
    pthread_condattr_destroy (&attr);
    self->done = zhashx_new ();
    if (cfg->done_path && s_open_done (self, cfg->done_path)) {
        sim_survey_destroy (&self);
        return NULL;
    }
    self->curl = curl_easy_init ();
    if (!self->curl) {
        asp_log_error ("sim customer: cannot create a libcurl handle");
        sim_survey_destroy (&self);
        return NULL;
    }
    curl_easy_setopt (self->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt (self->curl, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt (self->curl, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
    curl_easy_setopt (self->curl, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt (self->curl, CURLOPT_USERAGENT, "asp-sim-customer/1");
    curl_easy_setopt (self->curl, CURLOPT_WRITEFUNCTION, asp_curl_keep_head);
    curl_easy_setopt (self->curl, CURLOPT_WRITEDATA, &self->reply);
    curl_easy_setopt (self->curl, CURLOPT_PROTOCOLS_STR, "http,https");
    int rc = pthread_create (&self->thread, NULL, s_run, self);
    if (rc) {
        asp_log_error ("sim customer: cannot start the survey thread: %s", strerror (rc));
        sim_survey_destroy (&self);
        return NULL;
    }
    self->started = true;
    return self;
}

void
sim_survey_destroy (sim_survey_t **self_p)
{
    sim_survey_t *self = *self_p;
    if (!self)
        return;
    if (self->started) {
        pthread_mutex_lock (&self->lock);
        self->stop = true;
        pthread_cond_signal (&self->wake);
        pthread_mutex_unlock (&self->lock);
        pthread_join (self->thread, NULL);
    }
    if (self->njobs)
        asp_log_warn ("sim customer: %zu survey answer(s) left unsent at exit", self->njobs);
    if (self->curl)
        curl_easy_cleanup (self->curl);
    if (self->done_file)
        fclose (self->done_file);
    zhashx_destroy (&self->done);
    pthread_cond_destroy (&self->wake);
    pthread_mutex_destroy (&self->lock);
    free (self->jobs);
    free (self);
    *self_p = NULL;
}

bool
sim_survey_full (sim_survey_t *self)
{
    pthread_mutex_lock (&self->lock);
    bool full = self->njobs + 1 >= self->max_jobs;      //  as in sim_survey_add
    pthread_mutex_unlock (&self->lock);
    return full;
}

int
sim_survey_add (sim_survey_t *self, const char *id, const char *ticket)
{
    pthread_mutex_lock (&self->lock);
    if (zhashx_lookup (self->done, id)) {
        pthread_mutex_unlock (&self->lock);
        return 1;
    }
    //  Keep one slot free for the job being posted, which comes back into
    //  the queue when it must be tried again.
    bool full = self->njobs + 1 >= self->max_jobs;
    if (!full) {
        s_job_t *job = &self->jobs [self->njobs++];
        memset (job, 0, sizeof *job);
        snprintf (job->id, sizeof job->id, "%s", id);
        snprintf (job->ticket, sizeof job->ticket, "%s", ticket);
        job->due = asp_mono_ms () + self->delay_ms;
        pthread_cond_signal (&self->wake);
    }
    pthread_mutex_unlock (&self->lock);
    if (full)
        return -1;
    asp_counter_inc (self->queued);
    return 0;
}

void
sim_survey_stats (sim_survey_t *self, sim_survey_stats_t *stats)
{
    stats->queued = asp_counter_value (self->queued);
    stats->answered = asp_counter_value (self->answered);
    stats->already = asp_counter_value (self->already);
    stats->retries = asp_counter_value (self->retries);
    stats->failed = asp_counter_value (self->failed);
    pthread_mutex_lock (&self->lock);
    stats->pending = self->njobs;
    pthread_mutex_unlock (&self->lock);
}

void
sim_survey_test (void)
{
    assert (s_classify (202, "") == S_DONE);
    assert (s_classify (409, "{\"error\":{\"code\":\"already_answered\",\"message\":\"x\"}}") == S_ALREADY);
    assert (s_classify (409, "{\"error\":{\"code\":\"not_completed\",\"message\":\"x\"}}") == S_RETRY);
    assert (s_classify (409, "garbage") == S_RETRY);
    assert (s_classify (503, "") == S_RETRY);
    assert (s_classify (429, "") == S_RETRY);
    assert (s_classify (400, "") == S_FAILED);
    assert (s_classify (404, "") == S_GONE);
    assert (s_classify (401, "") == S_FAILED);
    assert (s_backoff_ms (1) == 200 && s_backoff_ms (2) == 400);
    assert (s_backoff_ms (50) == S_BACKOFF_MAX_MS);

    //  The queue refuses beyond its bound (one slot stays free for the
    //  survey in flight); a long delay keeps the worker from taking any.
    asp_metrics_t *m = asp_metrics_new ("test");
    sim_survey_cfg_t cfg = { "http://127.0.0.1:1/", NULL, 2, 60000, 3, NULL };
    sim_survey_t *s = sim_survey_new (&cfg, m);
    assert (s);
    assert (strcmp (s->url, "http://127.0.0.1:1") == 0);
    assert (sim_survey_add (s, "N1", "T1") == 0);
    assert (sim_survey_add (s, "N2", "T2") == 0);
    assert (sim_survey_add (s, "N3", "T3") == -1);
    sim_survey_destroy (&s);

    //  The done file: whole lines settle their ids, a cut last line does
    //  not (and is ended, so the next line is whole); settling writes one.
    char path [] = "/tmp/sim_survey_test.XXXXXX";
    int fd = mkstemp (path);
    assert (fd >= 0);
    const char *text = "N1 T1 answered\nN2 T2 already_answered\nN3 T3 answ";
    assert (write (fd, text, strlen (text)) == (ssize_t) strlen (text));
    close (fd);
    cfg.done_path = path;
    asp_metrics_t *m2 = asp_metrics_new ("test2");     //  the counters below stay clean
    s = sim_survey_new (&cfg, m2);
    assert (s);
    assert (sim_survey_add (s, "N1", "T1") == 1);
    assert (sim_survey_add (s, "N2", "T2") == 1);
    assert (sim_survey_add (s, "N3", "T3") == 0);
    s_job_t job = { "N4", "T4", 1, 0 };
    s_settle (s, &job, S_GONE, "http 404");
    assert (sim_survey_add (s, "N4", "T4") == 1);
    sim_survey_destroy (&s);
    FILE *f = fopen (path, "r");
    assert (f);
    char all [200] = "";
    size_t got = fread (all, 1, sizeof all - 1, f);
    all [got] = 0;
    fclose (f);
    assert (strcmp (all, "N1 T1 answered\nN2 T2 already_answered\nN3 T3 answ\nN4 T4 no_ticket\n") == 0);
    unlink (path);
    asp_metrics_destroy (&m2);
    cfg.done_path = NULL;
    //  Nothing listens on port 1: each survey is given up after max_tries.
    cfg.delay_ms = 0;
    s = sim_survey_new (&cfg, m);
    assert (s);
    assert (sim_survey_add (s, "N1", "T1") == 0);
    assert (sim_survey_add (s, "N2", "T2") == 0);
    sim_survey_stats_t st;
    for (int i = 0; i < 100; i++) {
        sim_survey_stats (s, &st);
        if (st.failed == 2)
            break;
        struct timespec ts = { 0, 50 * 1000000L };
        nanosleep (&ts, NULL);
    }
    assert (st.failed == 2 && st.answered == 0 && st.pending == 0 && st.retries == 2);
    sim_survey_destroy (&s);
    asp_metrics_destroy (&m);
    printf ("sim_survey_test: ok\n");
}
