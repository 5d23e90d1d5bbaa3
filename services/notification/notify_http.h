/*  notify_http: the HTTP POST that the webhook and the SMS gateway share.

    One libcurl easy handle per instance (so per worker and channel), kept
    between posts so its connection is reused. ASP_NOTIFY_CONNECT_TIMEOUT_MS
    (2000) and ASP_NOTIFY_TIMEOUT_MS (10000) bound each post; no redirects.

    What an answer means: 2xx sent; 408, 425, 429, 5xx, any other status
    and every transport failure (refused, reset, timeout, garbage instead
    of HTTP) temporary; any other 4xx permanent (the receiver refuses this
    notification as it is, now and later: a dead letter at once).         */
#ifndef NOTIFY_HTTP_H
#define NOTIFY_HTTP_H
#include "notify_channel.h"
#include <curl/curl.h>

typedef struct notify_http_t notify_http_t;

//  A client for url (http:// or https://); NULL with a logged reason
//  naming env (the variable it came from) when it is not usable.
notify_http_t *notify_http_new (const char *env, const char *url);
void notify_http_destroy (notify_http_t **self_p);
//  POSTs body with the headers (borrowed; Content-Type and Expect are
//  added here). On failure writes a short one-line reason into err.
notify_result_t notify_http_post (notify_http_t *self, struct curl_slist *headers, const char *body,
                                  size_t len, char *err, size_t errlen);
//  What an HTTP status means for a notification.
notify_result_t notify_http_classify (long status);

void notify_http_test (void);
#endif
