#include "notify_webhook.h"
#include "asp_log.h"
#include "notify_http.h"
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct notify_webhook_t {
    const notify_config_t *config;
    notify_http_t *http;
};

notify_webhook_t *
notify_webhook_new (const notify_config_t *config)
{
    notify_webhook_t *self = (notify_webhook_t *) calloc (1, sizeof *self);
    assert (self);
    self->config = config;
    self->http = notify_http_new ("ASP_NOTIFY_WEBHOOK_URL", config->webhook_url);
    if (!self->http)
        notify_webhook_destroy (&self);
    return self;
}

void
notify_webhook_destroy (notify_webhook_t **self_p)
{
    notify_webhook_t *self = *self_p;
    if (!self)
        return;
    notify_http_destroy (&self->http);
    free (self);
    *self_p = NULL;
}

notify_result_t
notify_webhook_send (notify_webhook_t *self, const notify_msg_t *msg, char *err, size_t errlen)
{
    //  Stamped at each attempt: a retry hours later is still inside the
    //  receiver's replay window; its Idempotency-Key is what makes it a repeat.
    int64_t now = (int64_t) time (NULL);
    char key [128], tries [32], stamp [48], sig [32 + ASP_HOOKSIG_MAX];
    snprintf (key, sizeof key, "Idempotency-Key: %s", msg->id);
    snprintf (tries, sizeof tries, "X-ASP-Attempt: %d", msg->attempt);
    snprintf (stamp, sizeof stamp, "X-ASP-Timestamp: %lld", (long long) now);
    int n = snprintf (sig, sizeof sig, "X-ASP-Signature: ");
    asp_hooksig_sign (&self->config->secrets, now, msg->json, msg->json_len, sig + n);
    //  libcurl only reads the list: ours can live on the stack.
    struct curl_slist h [4] = {
        { key, &h [1] }, { tries, &h [2] }, { stamp, self->config->secrets.count? &h [3]: NULL }, { sig, NULL }
    };
    return notify_http_post (self->http, h, msg->json, msg->json_len, err, errlen);
}

void
notify_webhook_test (void)
{
    //  The signature itself: asp_hooksig_test; the whole post against a
    //  receiver that checks it: tests/channels_test.py.
    notify_config_t config = { .webhook_url = "http://127.0.0.1:1/hook" };
    notify_webhook_t *hook = notify_webhook_new (&config);
    assert (hook);
    char err [200] = "";
    notify_msg_t msg = { .id = "N1", .json = "{}", .json_len = 2, .attempt = 1 };
    assert (notify_webhook_send (hook, &msg, err, sizeof err) == NOTIFY_FAILED && *err);
    notify_webhook_destroy (&hook);
    config.webhook_url = "ftp://example.com/";
    assert (notify_webhook_new (&config) == NULL);
    printf ("notify_webhook_test: ok\n");
}
