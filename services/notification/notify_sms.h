/*  notify_sms: the SMS gateway adapter (docs/notifications.md, "SMS
    gateway contract").

    POSTs {"id","to","text"} (JSON, UTF-8) to ASP_NOTIFY_SMS_URL with
    Authorization: Bearer <ASP_NOTIFY_SMS_TOKEN> and Idempotency-Key: <id>.
    2xx sent; a timeout, 408, 425, 429, 5xx temporary; any other 4xx
    permanent (notify_http). A notification without a phone number is
    refused (a dead letter with the reason).                             */
#ifndef NOTIFY_SMS_H
#define NOTIFY_SMS_H
#include "notify_channel.h"

typedef struct notify_sms_t notify_sms_t;

//  config is borrowed. NULL with a logged reason when it is unusable.
notify_sms_t *notify_sms_new (const notify_config_t *config);
void notify_sms_destroy (notify_sms_t **self_p);
notify_result_t notify_sms_send (notify_sms_t *self, const notify_msg_t *msg, char *err,
                                 size_t errlen);

void notify_sms_test (void);
#endif
