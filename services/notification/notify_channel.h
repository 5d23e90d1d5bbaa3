/*  notify_channel: where notifications go, one instance per worker thread.

    The channel is chosen by configuration:
      ASP_NOTIFY_WEBHOOK_URL   HTTP POST of the JSON body with the header
                               Idempotency-Key: <notification id>; 2xx means
                               delivered. The worker's own libcurl easy
                               handle keeps its connection alive between
                               posts. ASP_NOTIFY_CONNECT_TIMEOUT_MS (2000),
                               ASP_NOTIFY_TIMEOUT_MS (10000) bound each post.
      ASP_NOTIFY_FILE          one JSON line per notification, appended.
      neither                  one JSON line per notification on stdout.
    Setting both is a configuration error.

    A failure is temporary (connection refused, timeout, 5xx, 408, 429:
    retry later) or permanent (any other 4xx: the receiver refuses this
    notification and will refuse it again, so it goes to the dead letters
    at once).                                                              */
#ifndef NOTIFY_CHANNEL_H
#define NOTIFY_CHANNEL_H
#include <stdbool.h>
#include <stddef.h>

typedef enum {
    NOTIFY_SENT = 0,            //  delivered
    NOTIFY_FAILED,              //  temporary failure: retry later
    NOTIFY_REFUSED              //  permanent failure: dead letter
} notify_result_t;

typedef struct notify_channel_t notify_channel_t;

//  Checks the configuration; returns NULL with a logged reason when it is
//  invalid (the caller exits 2). Call curl_global_init first.
notify_channel_t *notify_channel_new (void);
void notify_channel_destroy (notify_channel_t **self_p);
//  "webhook", "file" or "stdout".
const char *notify_channel_kind (notify_channel_t *self);
//  Delivers one notification (attempt counts from 1). On failure writes a
//  short reason into err.
notify_result_t notify_channel_send (notify_channel_t *self, const char *id, const char *json,
                                     size_t len, int attempt, char *err, size_t errlen);

void notify_channel_test (void);
#endif
