/*  notify_smtp: e-mail over SMTP with libcurl (docs/notifications.md,
    "E-mail").

    ASP_NOTIFY_SMTP_URL (smtp://host[:port] or smtps://host[:port]),
    ASP_NOTIFY_SMTP_FROM (the sender address), optional
    ASP_NOTIFY_SMTP_USER / ASP_NOTIFY_SMTP_PASSWORD, and
    ASP_NOTIFY_SMTP_STARTTLS=1 to require STARTTLS on smtp://.

    Each notification is one RFC 5322 message to its `to` address: From,
    To, Subject (an RFC 2047 UTF-8 encoded-word when not ASCII), Date,
    Message-ID <notification id@sender's domain> (a repeat carries the same,
    so a receiver can drop it), MIME-Version, text/plain; charset=UTF-8,
    base64 body.

    What an answer means: delivered when the server took the message; an
    SMTP 5xx (550 no such mailbox, 554 refused, ...) permanent; a 4xx, a
    refused or dropped connection, a timeout temporary.                   */
#ifndef NOTIFY_SMTP_H
#define NOTIFY_SMTP_H
#include "notify_channel.h"
#include <stdint.h>

typedef struct notify_smtp_t notify_smtp_t;

//  config is borrowed. NULL with a logged reason when it is unusable.
notify_smtp_t *notify_smtp_new (const notify_config_t *config);
void notify_smtp_destroy (notify_smtp_t **self_p);
notify_result_t notify_smtp_send (notify_smtp_t *self, const notify_msg_t *msg, char *err,
                                  size_t errlen);

//  The whole message for msg from `from` at time `now` (unix seconds):
//  a new string the caller frees.
char *notify_smtp_message (const char *from, const notify_msg_t *msg, int64_t now);

void notify_smtp_test (void);
#endif
