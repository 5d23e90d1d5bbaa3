#include "notify_sms.h"
#include "notify_http.h"
#include <assert.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct notify_sms_t {
    notify_http_t *http;
    char auth [600];            //  "Authorization: Bearer <token>"
};

notify_sms_t *
notify_sms_new (const notify_config_t *config)
{
    notify_sms_t *self = (notify_sms_t *) calloc (1, sizeof *self);
    assert (self);
    snprintf (self->auth, sizeof self->auth, "Authorization: Bearer %s", config->sms_token);
    self->http = notify_http_new ("ASP_NOTIFY_SMS_URL", config->sms_url);
    if (!self->http)
        notify_sms_destroy (&self);
    return self;
}

void
notify_sms_destroy (notify_sms_t **self_p)
{
    notify_sms_t *self = *self_p;
    if (!self)
        return;
    notify_http_destroy (&self->http);
    free (self);
    *self_p = NULL;
}

notify_result_t
notify_sms_send (notify_sms_t *self, const notify_msg_t *msg, char *err, size_t errlen)
{
    if (!msg->to || !*msg->to) {
        snprintf (err, errlen, "no phone number for this notification");
        return NOTIFY_REFUSED;
    }
    cJSON *j = cJSON_CreateObject ();
    cJSON_AddStringToObject (j, "id", msg->id);
    cJSON_AddStringToObject (j, "to", msg->to);
    cJSON_AddStringToObject (j, "text", msg->text);
    char *body = cJSON_PrintUnformatted (j);
    cJSON_Delete (j);
    assert (body);
    char key [128];
    snprintf (key, sizeof key, "Idempotency-Key: %s", msg->id);
    //  libcurl only reads the list: ours can live on the stack.
    struct curl_slist h [2] = { { self->auth, &h [1] }, { key, NULL } };
    notify_result_t result = notify_http_post (self->http, h, body, strlen (body), err, errlen);
    cJSON_free (body);
    return result;
}

void
notify_sms_test (void)
{
    notify_config_t config = { .sms_url = "http://127.0.0.1:1/sms", .sms_token = "t" };
    notify_sms_t *sms = notify_sms_new (&config);
    assert (sms);
    char err [200] = "";
    notify_msg_t msg = { .id = "N1", .to = "", .text = "hi" };
    assert (notify_sms_send (sms, &msg, err, sizeof err) == NOTIFY_REFUSED && strstr (err, "no phone"));
    msg.to = "13812345678";
    assert (notify_sms_send (sms, &msg, err, sizeof err) == NOTIFY_FAILED && *err);
    notify_sms_destroy (&sms);
    config.sms_url = "mailto:x@y";
    assert (notify_sms_new (&config) == NULL);
    printf ("notify_sms_test: ok\n");
}
