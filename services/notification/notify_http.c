#include "notify_http.h"
#include "asp_config.h"
#include "asp_curl.h"
#include "asp_log.h"
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct notify_http_t {
    CURL *curl;                 //  kept, so its connection is reused
    char curl_err [CURL_ERROR_SIZE];
    asp_curl_head_t reply;      //  start of the receiver's answer, for errors
};

notify_http_t *
notify_http_new (const char *env, const char *url)
{
    if (strncmp (url, "http://", 7) != 0 && strncmp (url, "https://", 8) != 0) {
        asp_log_error ("bad configuration: %s='%s' must be an http:// or https:// URL", env, url);
        return NULL;
    }
    notify_http_t *self = (notify_http_t *) calloc (1, sizeof *self);
    assert (self);
    long connect_ms = (long) asp_cfg_int ("ASP_NOTIFY_CONNECT_TIMEOUT_MS", 2000, 10, 600000);
    long total_ms = (long) asp_cfg_int ("ASP_NOTIFY_TIMEOUT_MS", 10000, 10, 600000);
    self->curl = curl_easy_init ();
    if (!self->curl) {
        asp_log_error ("notification: cannot create a libcurl handle");
        notify_http_destroy (&self);
        return NULL;
    }
    CURL *c = self->curl;
    if (curl_easy_setopt (c, CURLOPT_URL, url) != CURLE_OK) {
        asp_log_error ("bad configuration: %s='%s' is not a usable URL", env, url);
        notify_http_destroy (&self);
        return NULL;
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
    return self;
}

void
notify_http_destroy (notify_http_t **self_p)
{
    notify_http_t *self = *self_p;
    if (!self)
        return;
    if (self->curl)
        curl_easy_cleanup (self->curl);
    free (self);
    *self_p = NULL;
}

notify_result_t
notify_http_classify (long status)
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

notify_result_t
notify_http_post (notify_http_t *self, struct curl_slist *headers, const char *body, size_t len,
                  char *err, size_t errlen)
{
    //  Ours go in front of the caller's list, and come off again after.
    struct curl_slist ctype = { (char *) "Content-Type: application/json; charset=utf-8", headers };
    struct curl_slist expect = { (char *) "Expect:", &ctype };     //  no 100-continue round trip
    CURL *c = self->curl;
    curl_easy_setopt (c, CURLOPT_HTTPHEADER, &expect);
    curl_easy_setopt (c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt (c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) len);
    self->curl_err [0] = 0;
    asp_curl_head_reset (&self->reply);
    CURLcode rc = curl_easy_perform (c);
    curl_easy_setopt (c, CURLOPT_HTTPHEADER, NULL);
    if (rc != CURLE_OK) {
        snprintf (err, errlen, "%s", *self->curl_err? self->curl_err: curl_easy_strerror (rc));
        return NOTIFY_FAILED;
    }
    long status = 0;
    curl_easy_getinfo (c, CURLINFO_RESPONSE_CODE, &status);
    notify_result_t result = notify_http_classify (status);
    if (result != NOTIFY_SENT) {
        //  Keep the reason short and on one line for the log.
        for (char *p = self->reply.text; *p; p++)
            if (*p == '\n' || *p == '\r')
                *p = ' ';
        snprintf (err, errlen, "http %ld%s%.200s", status, *self->reply.text? ": ": "", self->reply.text);
    }
    return result;
}

void
notify_http_test (void)
{
    assert (notify_http_classify (200) == NOTIFY_SENT);
    assert (notify_http_classify (204) == NOTIFY_SENT);
    assert (notify_http_classify (500) == NOTIFY_FAILED);
    assert (notify_http_classify (503) == NOTIFY_FAILED);
    assert (notify_http_classify (429) == NOTIFY_FAILED);
    assert (notify_http_classify (408) == NOTIFY_FAILED);
    assert (notify_http_classify (301) == NOTIFY_FAILED);
    assert (notify_http_classify (400) == NOTIFY_REFUSED);
    assert (notify_http_classify (404) == NOTIFY_REFUSED);
    assert (notify_http_new ("X", "ftp://example.com/") == NULL);
    //  Nothing listens on port 1: a temporary failure with a reason.
    notify_http_t *h = notify_http_new ("X", "http://127.0.0.1:1/hook");
    assert (h);
    char err [200] = "";
    assert (notify_http_post (h, NULL, "{}", 2, err, sizeof err) == NOTIFY_FAILED && *err);
    notify_http_destroy (&h);
    printf ("notify_http_test: ok\n");
}
