#include "notify_channel.h"
#include "asp_config.h"
#include "asp_curl.h"
#include "asp_log.h"
#include <assert.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

typedef enum { S_WEBHOOK, S_FILE, S_STDOUT } s_kind_t;

struct notify_channel_t {
    s_kind_t kind;
    CURL *curl;                 //  webhook: kept, so its connection is reused
    char curl_err [CURL_ERROR_SIZE];
    asp_curl_head_t reply;      //  start of the receiver's answer, for errors
    int fd;                     //  file
    char path [512];
};

//  Workers share the file: one line at a time, never interleaved.
static pthread_mutex_t s_file_lock = PTHREAD_MUTEX_INITIALIZER;

static int
s_webhook_init (notify_channel_t *self, const char *url)
{
    if (strncmp (url, "http://", 7) != 0 && strncmp (url, "https://", 8) != 0) {
        asp_log_error ("bad configuration: ASP_NOTIFY_WEBHOOK_URL='%s' must be an http:// or https:// URL", url);
        return -1;
    }
    long connect_ms = (long) asp_cfg_int ("ASP_NOTIFY_CONNECT_TIMEOUT_MS", 2000, 10, 600000);
    long total_ms = (long) asp_cfg_int ("ASP_NOTIFY_TIMEOUT_MS", 10000, 10, 600000);
    self->curl = curl_easy_init ();
    if (!self->curl) {
        asp_log_error ("notification: cannot create a libcurl handle");
        return -1;
    }
    CURL *c = self->curl;
    if (curl_easy_setopt (c, CURLOPT_URL, url) != CURLE_OK) {
        asp_log_error ("bad configuration: ASP_NOTIFY_WEBHOOK_URL='%s' is not a usable URL", url);
        return -1;
    }
    //  NOSIGNAL: we are one of several threads; signals are CZMQ's.
    curl_easy_setopt (c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt (c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt (c, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    curl_easy_setopt (c, CURLOPT_TIMEOUT_MS, total_ms);
    curl_easy_setopt (c, CURLOPT_USERAGENT, "asp-notification/1");
    curl_easy_setopt (c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt (c, CURLOPT_ERRORBUFFER, self->curl_err);
    curl_easy_setopt (c, CURLOPT_WRITEFUNCTION, asp_curl_keep_head);
    curl_easy_setopt (c, CURLOPT_WRITEDATA, &self->reply);
    curl_easy_setopt (c, CURLOPT_PROTOCOLS_STR, "http,https");
    return 0;
}

notify_channel_t *
notify_channel_new (void)
{
    notify_channel_t *self = (notify_channel_t *) calloc (1, sizeof *self);
    assert (self);
    self->fd = -1;
    const char *url = asp_cfg_str ("ASP_NOTIFY_WEBHOOK_URL", NULL);
    const char *file = asp_cfg_str ("ASP_NOTIFY_FILE", NULL);
    int rc = 0;
    if (url && file) {
        asp_log_error ("bad configuration: set ASP_NOTIFY_WEBHOOK_URL or ASP_NOTIFY_FILE, not both");
        rc = -1;
    }
    else
    if (url) {
        self->kind = S_WEBHOOK;
        rc = s_webhook_init (self, url);
    }
    else
    if (file) {
        self->kind = S_FILE;
        snprintf (self->path, sizeof self->path, "%s", file);
        self->fd = open (file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
        if (self->fd < 0) {
            asp_log_error ("bad configuration: ASP_NOTIFY_FILE='%s': %s", file, strerror (errno));
            rc = -1;
        }
    }
    else
        self->kind = S_STDOUT;
    if (rc)
        notify_channel_destroy (&self);
    return self;
}

void
notify_channel_destroy (notify_channel_t **self_p)
{
    notify_channel_t *self = *self_p;
    if (!self)
        return;
    if (self->curl)
        curl_easy_cleanup (self->curl);
    if (self->fd >= 0)
        close (self->fd);
    free (self);
    *self_p = NULL;
}

const char *
notify_channel_kind (notify_channel_t *self)
{
    return self->kind == S_WEBHOOK? "webhook": self->kind == S_FILE? "file": "stdout";
}

//  What an HTTP status means for this notification.
static notify_result_t
s_classify (long status)
{
    if (status >= 200 && status < 300)
        return NOTIFY_SENT;
    //  Timeouts, throttling and server trouble pass; the rest of 4xx means
    //  the receiver refuses this request as it is, now and later.
    if (status == 408 || status == 425 || status == 429)
        return NOTIFY_FAILED;
    if (status >= 400 && status < 500)
        return NOTIFY_REFUSED;
    return NOTIFY_FAILED;
}

static notify_result_t
s_post (notify_channel_t *self, const char *id, const char *json, size_t len, int attempt,
        char *err, size_t errlen)
{
    char key [128], tries [32];
    snprintf (key, sizeof key, "Idempotency-Key: %s", id);
    snprintf (tries, sizeof tries, "X-ASP-Attempt: %d", attempt);
    struct curl_slist *headers = NULL;
    headers = curl_slist_append (headers, "Content-Type: application/json; charset=utf-8");
    headers = curl_slist_append (headers, key);
    headers = curl_slist_append (headers, tries);
    headers = curl_slist_append (headers, "Expect:");     //  no 100-continue round trip
    if (!headers) {
        snprintf (err, errlen, "out of memory");
        return NOTIFY_FAILED;
    }
    CURL *c = self->curl;
    curl_easy_setopt (c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt (c, CURLOPT_POSTFIELDS, json);
    curl_easy_setopt (c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) len);
    self->curl_err [0] = 0;
    asp_curl_head_reset (&self->reply);
    CURLcode rc = curl_easy_perform (c);
    curl_easy_setopt (c, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all (headers);
    if (rc != CURLE_OK) {
        snprintf (err, errlen, "%s", *self->curl_err? self->curl_err: curl_easy_strerror (rc));
        return NOTIFY_FAILED;
    }
    long status = 0;
    curl_easy_getinfo (c, CURLINFO_RESPONSE_CODE, &status);
    notify_result_t result = s_classify (status);
    if (result != NOTIFY_SENT) {
        //  Keep the reason short and on one line for the log.
        for (char *p = self->reply.text; *p; p++)
            if (*p == '\n' || *p == '\r')
                *p = ' ';
        snprintf (err, errlen, "http %ld%s%.200s", status, *self->reply.text? ": ": "", self->reply.text);
    }
    return result;
}

static notify_result_t
s_write_line (notify_channel_t *self, const char *json, size_t len, char *err, size_t errlen)
{
    notify_result_t result = NOTIFY_SENT;
    if (self->kind == S_FILE) {
        struct iovec iov [2] = { { (void *) json, len }, { (void *) "\n", 1 } };
        pthread_mutex_lock (&s_file_lock);
        ssize_t n = writev (self->fd, iov, 2);
        pthread_mutex_unlock (&s_file_lock);
        if (n != (ssize_t) len + 1) {
            snprintf (err, errlen, "%s: %s", self->path, n < 0? strerror (errno): "short write");
            result = NOTIFY_FAILED;
        }
    }
    else {
        flockfile (stdout);
        fwrite (json, 1, len, stdout);
        fputc ('\n', stdout);
        if (fflush (stdout) || ferror (stdout)) {
            snprintf (err, errlen, "stdout: %s", strerror (errno));
            clearerr (stdout);
            result = NOTIFY_FAILED;
        }
        funlockfile (stdout);
    }
    return result;
}

notify_result_t
notify_channel_send (notify_channel_t *self, const char *id, const char *json, size_t len,
                     int attempt, char *err, size_t errlen)
{
    *err = 0;
    if (self->kind == S_WEBHOOK)
        return s_post (self, id, json, len, attempt, err, errlen);
    return s_write_line (self, json, len, err, errlen);
}

void
notify_channel_test (void)
{
    assert (s_classify (200) == NOTIFY_SENT);
    assert (s_classify (204) == NOTIFY_SENT);
    assert (s_classify (500) == NOTIFY_FAILED);
    assert (s_classify (503) == NOTIFY_FAILED);
    assert (s_classify (429) == NOTIFY_FAILED);
    assert (s_classify (408) == NOTIFY_FAILED);
    assert (s_classify (301) == NOTIFY_FAILED);
    assert (s_classify (400) == NOTIFY_REFUSED);
    assert (s_classify (404) == NOTIFY_REFUSED);

    //  The file channel appends whole lines.
    char path [] = "/tmp/notify-channel-test-XXXXXX";
    int fd = mkstemp (path);
    assert (fd >= 0);
    close (fd);
    char *saved_url = getenv ("ASP_NOTIFY_WEBHOOK_URL")? strdup (getenv ("ASP_NOTIFY_WEBHOOK_URL")): NULL;
    unsetenv ("ASP_NOTIFY_WEBHOOK_URL");
    setenv ("ASP_NOTIFY_FILE", path, 1);
    notify_channel_t *ch = notify_channel_new ();
    assert (ch && strcmp (notify_channel_kind (ch), "file") == 0);
    char err [200];
    assert (notify_channel_send (ch, "N1", "{\"id\":\"N1\"}", 11, 1, err, sizeof err) == NOTIFY_SENT);
    assert (notify_channel_send (ch, "N2", "{\"id\":\"N2\"}", 11, 1, err, sizeof err) == NOTIFY_SENT);
    notify_channel_destroy (&ch);
    FILE *f = fopen (path, "r");
    assert (f);
    char buf [100] = "";
    size_t n = fread (buf, 1, sizeof buf - 1, f);
    fclose (f);
    buf [n] = 0;
    assert (strcmp (buf, "{\"id\":\"N1\"}\n{\"id\":\"N2\"}\n") == 0);
    unlink (path);

    //  Both set, or a URL that is not http(s): refused.
    setenv ("ASP_NOTIFY_WEBHOOK_URL", "http://127.0.0.1:1/x", 1);
    assert (notify_channel_new () == NULL);
    unsetenv ("ASP_NOTIFY_FILE");
    setenv ("ASP_NOTIFY_WEBHOOK_URL", "ftp://example.com/", 1);
    assert (notify_channel_new () == NULL);
    //  Nothing listens on port 1: a temporary failure with a reason.
    setenv ("ASP_NOTIFY_WEBHOOK_URL", "http://127.0.0.1:1/hook", 1);
    ch = notify_channel_new ();
    assert (ch && strcmp (notify_channel_kind (ch), "webhook") == 0);
    assert (notify_channel_send (ch, "N1", "{}", 2, 1, err, sizeof err) == NOTIFY_FAILED && *err);
    notify_channel_destroy (&ch);
    if (saved_url)
        setenv ("ASP_NOTIFY_WEBHOOK_URL", saved_url, 1);
    else
        unsetenv ("ASP_NOTIFY_WEBHOOK_URL");
    free (saved_url);
    printf ("notify_channel_test: ok\n");
}
