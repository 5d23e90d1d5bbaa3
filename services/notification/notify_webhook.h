/*  notify_webhook: signed webhooks (docs/notifications.md, "Webhook").

    POSTs the notification's JSON to ASP_NOTIFY_WEBHOOK_URL with
      Idempotency-Key: <notification id>      (repeats carry the same)
      X-ASP-Attempt:   <attempt, from 1>
      X-ASP-Timestamp: <unix seconds, at this attempt>
      X-ASP-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>
    (the Stripe scheme: asp_hooksig, libsodium's crypto_auth_hmacsha256). With two
    secrets in ASP_NOTIFY_WEBHOOK_SECRET ("new,old", while rotating) the
    header carries two signatures, "v1=<new>,v1=<old>". Without a secret
    the posts go unsigned (a warning at start). The receiver recomputes,
    compares in constant time, refuses a timestamp more than 300 s away
    from its clock and an Idempotency-Key it has already seen.           */
#ifndef NOTIFY_WEBHOOK_H
#define NOTIFY_WEBHOOK_H
#include "notify_channel.h"

typedef struct notify_webhook_t notify_webhook_t;

//  config is borrowed. NULL with a logged reason when the URL is unusable.
notify_webhook_t *notify_webhook_new (const notify_config_t *config);
void notify_webhook_destroy (notify_webhook_t **self_p);
notify_result_t notify_webhook_send (notify_webhook_t *self, const notify_msg_t *msg, char *err,
                                     size_t errlen);

void notify_webhook_test (void);
#endif
