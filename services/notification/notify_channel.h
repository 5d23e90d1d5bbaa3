/*  notify_channel: the one interface every channel implements, and the
    set of channels a worker holds.

    Channels (asp_notify_channel_t; docs/notifications.md), each a module:
      webhook   notify_webhook: signed HTTP POST of the JSON notification
      email     notify_smtp: an RFC 5322 e-mail over SMTP (libcurl)
      sms       notify_sms: POST {"id","to","text"} to an SMS gateway
      file      notify_file: one JSON line per notification, appended
      stdout    notify_file: one JSON line per notification on stdout
    A channel is configured when its variables are set (webhook:
    ASP_NOTIFY_WEBHOOK_URL, email: ASP_NOTIFY_SMTP_URL, sms:
    ASP_NOTIFY_SMS_URL, file: ASP_NOTIFY_FILE); stdout always is.

    The process default (ASP_NOTIFY_CHANNEL) takes what names no
    configured channel: staff and ops notifications, and a customer's
    whose preferred channel is not configured here. Without
    ASP_NOTIFY_CHANNEL: webhook when its URL is set, else file when set,
    else stdout.

    Every channel answers sent, failed (temporary: retry later) or refused
    (permanent: the notification goes to the dead letters at once).

    Dispatch is a switch on the channel's enum, in one place; file and
    stdout share a module.   */
#ifndef NOTIFY_CHANNEL_H
#define NOTIFY_CHANNEL_H
#include "asp_hooksig.h"
#include "asp_vocab.h"
#include <stdbool.h>
#include <stddef.h>

typedef enum {
    NOTIFY_SENT = 0,            //  delivered
    NOTIFY_FAILED,              //  temporary failure: retry later
    NOTIFY_REFUSED              //  permanent failure: dead letter
} notify_result_t;

//  The process's channel configuration, read once at start.
typedef struct {
    bool configured [ASP_NOTIFY_CHANNELS];
    asp_notify_channel_t fallback;          //  the process default
    //  webhook
    const char *webhook_url;
    asp_hooksig_keys_t secrets;             //  new first; none: posts go unsigned
    //  email
    const char *smtp_url, *smtp_from, *smtp_user, *smtp_password;
    bool smtp_starttls;                     //  require STARTTLS on smtp://
    //  sms
    const char *sms_url, *sms_token;
    //  file
    const char *file;
} notify_config_t;

//  Reads and checks the configuration from the environment. 0, or -1 with
//  the reason logged (the caller exits 2). Warns when webhooks go unsigned.
int  notify_config_load (notify_config_t *self);

//  One notification as a channel sends it; everything borrowed.
typedef struct {
    const char *id;             //  Idempotency-Key, Message-ID: repeats carry it
    asp_notify_channel_t channel;
    const char *to;             //  the address on that channel ("" when none)
    const char *subject;        //  e-mail subject, UTF-8
    const char *text;           //  the words for a person, UTF-8
    const char *json;           //  the whole notification (webhook, file, stdout)
    size_t json_len;
    int attempt;                //  counts from 1
} notify_msg_t;

//  One instance of each configured channel (each with its own libcurl
//  handle); used by one thread.
typedef struct notify_channels_t notify_channels_t;

//  config is borrowed and must outlive the set. NULL with a logged reason
//  when a channel cannot be set up (the caller exits 2). Call
//  curl_global_init first.
notify_channels_t *notify_channels_new (const notify_config_t *config);
void notify_channels_destroy (notify_channels_t **self_p);
//  The channel a notification recorded for `wanted` goes out on here:
//  wanted when configured, else the default.
asp_notify_channel_t notify_channels_route (const notify_config_t *config, asp_notify_channel_t wanted);
//  Sends msg on msg->channel (which must be configured). On failure
//  writes a short one-line reason into err.
notify_result_t notify_channels_send (notify_channels_t *self, const notify_msg_t *msg,
                                      char *err, size_t errlen);

void notify_channel_test (void);
#endif
