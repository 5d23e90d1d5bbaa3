#include "notify_channel.h"
#include "asp_config.h"
#include "asp_log.h"
#include "notify_file.h"
#include "notify_http.h"
#include "notify_sms.h"
#include "notify_smtp.h"
#include "notify_webhook.h"
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

//  ASP_NOTIFY_WEBHOOK_SECRET: one secret, or "new,old" while rotating;
//  each at least ASP_HOOKSIG_KEY_MIN bytes (a short one is guessable).
static int
s_secrets_load (notify_config_t *self)
{
    char why [160];
    if (asp_hooksig_parse (asp_cfg_str ("ASP_NOTIFY_WEBHOOK_SECRET", NULL), &self->secrets, why, sizeof why)) {
        asp_log_error ("bad configuration: ASP_NOTIFY_WEBHOOK_SECRET: %s", why);
        return -1;
    }
    return 0;
}

static int
s_smtp_load (notify_config_t *self)
{
    self->smtp_url = asp_cfg_str ("ASP_NOTIFY_SMTP_URL", NULL);
    self->smtp_from = asp_cfg_str ("ASP_NOTIFY_SMTP_FROM", NULL);
    self->smtp_user = asp_cfg_str ("ASP_NOTIFY_SMTP_USER", NULL);
    self->smtp_password = asp_cfg_str ("ASP_NOTIFY_SMTP_PASSWORD", NULL);
    self->smtp_starttls = asp_cfg_int ("ASP_NOTIFY_SMTP_STARTTLS", 0, 0, 1) == 1;
    if (!self->smtp_url)
        return 0;
    if (strncmp (self->smtp_url, "smtp://", 7) != 0 && strncmp (self->smtp_url, "smtps://", 8) != 0) {
        asp_log_error ("bad configuration: ASP_NOTIFY_SMTP_URL='%s' must be an smtp:// or smtps:// URL",
                       self->smtp_url);
        return -1;
    }
    const char *from = self->smtp_from;
    if (!from || !strchr (from, '@') || strlen (from) > 254 || strpbrk (from, " <>\",\r\n\t")) {
        asp_log_error ("bad configuration: ASP_NOTIFY_SMTP_FROM='%s' must be the sender's e-mail "
                       "address (user@domain) when ASP_NOTIFY_SMTP_URL is set", from? from: "");
        return -1;
    }
    self->configured [ASP_NOTIFY_EMAIL] = true;
    return 0;
}

static int
s_sms_load (notify_config_t *self)
{
    self->sms_url = asp_cfg_str ("ASP_NOTIFY_SMS_URL", NULL);
    self->sms_token = asp_cfg_str ("ASP_NOTIFY_SMS_TOKEN", NULL);
    if (!self->sms_url)
        return 0;
    if (!self->sms_token || strpbrk (self->sms_token, "\r\n") || strlen (self->sms_token) > 512) {
        asp_log_error ("bad configuration: ASP_NOTIFY_SMS_TOKEN (the gateway's bearer token, one "
                       "line, at most 512 bytes) is required when ASP_NOTIFY_SMS_URL is set");
        return -1;
    }
    self->configured [ASP_NOTIFY_SMS] = true;
    return 0;
}

int
notify_config_load (notify_config_t *self)
{
    memset (self, 0, sizeof *self);
    self->webhook_url = asp_cfg_str ("ASP_NOTIFY_WEBHOOK_URL", NULL);
    self->file = asp_cfg_str ("ASP_NOTIFY_FILE", NULL);
    self->configured [ASP_NOTIFY_WEBHOOK] = self->webhook_url != NULL;
    self->configured [ASP_NOTIFY_FILE] = self->file != NULL;
    self->configured [ASP_NOTIFY_STDOUT] = true;
    if (s_secrets_load (self) || s_smtp_load (self) || s_sms_load (self))
        return -1;
    const char *name = asp_cfg_str ("ASP_NOTIFY_CHANNEL", NULL);
    if (name) {
        int kind = asp_vocab_parse (&asp_vocab_notify_channel, name);
        if (kind < 0 || !self->configured [kind]) {
            char words [80];
            asp_log_error ("bad configuration: ASP_NOTIFY_CHANNEL='%s' must be one of %s, and "
                           "configured (its URL or file set)", name,
                           asp_vocab_join (&asp_vocab_notify_channel, words, sizeof words));
            return -1;
        }
        self->fallback = (asp_notify_channel_t) kind;
    }
    else
        self->fallback = self->webhook_url? ASP_NOTIFY_WEBHOOK: self->file? ASP_NOTIFY_FILE: ASP_NOTIFY_STDOUT;
    if (self->webhook_url && self->secrets.count == 0)
        asp_log_warn ("ASP_NOTIFY_WEBHOOK_SECRET is not set: webhooks go unsigned and receivers "
                      "cannot tell them from forgeries");
    return 0;
}

struct notify_channels_t {
    const notify_config_t *config;
    notify_webhook_t *webhook;
    notify_smtp_t *smtp;
    notify_sms_t *sms;
    notify_file_t *file;
    notify_file_t *stdout_;
};

notify_channels_t *
notify_channels_new (const notify_config_t *config)
{
    notify_channels_t *self = (notify_channels_t *) calloc (1, sizeof *self);
    assert (self);
    self->config = config;
    bool ok = true;
    if (config->configured [ASP_NOTIFY_WEBHOOK])
        ok = ok && (self->webhook = notify_webhook_new (config));
    if (config->configured [ASP_NOTIFY_EMAIL])
        ok = ok && (self->smtp = notify_smtp_new (config));
    if (config->configured [ASP_NOTIFY_SMS])
        ok = ok && (self->sms = notify_sms_new (config));
    if (config->configured [ASP_NOTIFY_FILE])
        ok = ok && (self->file = notify_file_new (config->file));
    ok = ok && (self->stdout_ = notify_file_new (NULL));
    if (!ok)
        notify_channels_destroy (&self);
    return self;
}

void
notify_channels_destroy (notify_channels_t **self_p)
{
    notify_channels_t *self = *self_p;
    if (!self)
        return;
    notify_webhook_destroy (&self->webhook);
    notify_smtp_destroy (&self->smtp);
    notify_sms_destroy (&self->sms);
    notify_file_destroy (&self->file);
    notify_file_destroy (&self->stdout_);
    free (self);
    *self_p = NULL;
}

asp_notify_channel_t
notify_channels_route (const notify_config_t *config, asp_notify_channel_t wanted)
{
    return (int) wanted >= 0 && wanted < ASP_NOTIFY_CHANNELS && config->configured [wanted]?
           wanted: config->fallback;
}

notify_result_t
notify_channels_send (notify_channels_t *self, const notify_msg_t *msg, char *err, size_t errlen)
{
    *err = 0;
    assert (self->config->configured [msg->channel]);
    switch (msg->channel) {
        case ASP_NOTIFY_WEBHOOK: return notify_webhook_send (self->webhook, msg, err, errlen);
        case ASP_NOTIFY_EMAIL:   return notify_smtp_send (self->smtp, msg, err, errlen);
        case ASP_NOTIFY_SMS:     return notify_sms_send (self->sms, msg, err, errlen);
        case ASP_NOTIFY_FILE:    return notify_file_send (self->file, msg, err, errlen);
        case ASP_NOTIFY_STDOUT:  return notify_file_send (self->stdout_, msg, err, errlen);
    }
    snprintf (err, errlen, "unknown channel %d", (int) msg->channel);
    return NOTIFY_REFUSED;
}

//  Sets (value not NULL) or clears a variable for the test.
static void
s_test_env (const char *name, const char *value)
{
    if (value)
        setenv (name, value, 1);
    else
        unsetenv (name);
}

void
notify_channel_test (void)
{
    notify_http_test ();
    notify_webhook_test ();
    notify_smtp_test ();
    notify_sms_test ();
    notify_file_test ();

    static const char *vars [] = { "ASP_NOTIFY_WEBHOOK_URL", "ASP_NOTIFY_WEBHOOK_SECRET",
        "ASP_NOTIFY_FILE", "ASP_NOTIFY_SMTP_URL", "ASP_NOTIFY_SMTP_FROM", "ASP_NOTIFY_SMS_URL",
        "ASP_NOTIFY_SMS_TOKEN", "ASP_NOTIFY_CHANNEL", NULL };
    char *saved [16];
    for (int i = 0; vars [i]; i++) {
        saved [i] = getenv (vars [i])? strdup (getenv (vars [i])): NULL;
        unsetenv (vars [i]);
    }
    notify_config_t c;
    //  Nothing set: stdout only, the default.
    assert (notify_config_load (&c) == 0 && c.fallback == ASP_NOTIFY_STDOUT);
    assert (notify_channels_route (&c, ASP_NOTIFY_SMS) == ASP_NOTIFY_STDOUT);
    //  Today's rule: webhook before file; both may be set now.
    s_test_env ("ASP_NOTIFY_FILE", "/tmp/notify-channel-test.jsonl");
    assert (notify_config_load (&c) == 0 && c.fallback == ASP_NOTIFY_FILE);
    s_test_env ("ASP_NOTIFY_WEBHOOK_URL", "http://127.0.0.1:1/hook");
    assert (notify_config_load (&c) == 0 && c.fallback == ASP_NOTIFY_WEBHOOK && c.secrets.count == 0);
    //  Secrets: at least 32 bytes, at most two.
    s_test_env ("ASP_NOTIFY_WEBHOOK_SECRET", "short");
    assert (notify_config_load (&c) == -1);
    s_test_env ("ASP_NOTIFY_WEBHOOK_SECRET", "0123456789abcdef0123456789abcdef,");
    assert (notify_config_load (&c) == -1);
    s_test_env ("ASP_NOTIFY_WEBHOOK_SECRET", "0123456789abcdef0123456789abcdef,"
                "fedcba9876543210fedcba9876543210,0123456789abcdef0123456789abcdef");
    assert (notify_config_load (&c) == -1);
    s_test_env ("ASP_NOTIFY_WEBHOOK_SECRET", "0123456789abcdef0123456789abcdef,fedcba9876543210fedcba9876543210");
    assert (notify_config_load (&c) == 0 && c.secrets.count == 2 && c.secrets.key [1][0] == 'f');
    //  E-mail needs its sender; SMS its token.
    s_test_env ("ASP_NOTIFY_SMTP_URL", "smtp://127.0.0.1:1");
    assert (notify_config_load (&c) == -1);
    s_test_env ("ASP_NOTIFY_SMTP_FROM", "service@brand.example");
    assert (notify_config_load (&c) == 0 && c.configured [ASP_NOTIFY_EMAIL]);
    s_test_env ("ASP_NOTIFY_SMTP_URL", "http://127.0.0.1:1");
    assert (notify_config_load (&c) == -1);
    s_test_env ("ASP_NOTIFY_SMTP_URL", "smtp://127.0.0.1:1");
    s_test_env ("ASP_NOTIFY_SMS_URL", "http://127.0.0.1:1/sms");
    assert (notify_config_load (&c) == -1);
    s_test_env ("ASP_NOTIFY_SMS_TOKEN", "gateway-token");
    assert (notify_config_load (&c) == 0 && c.configured [ASP_NOTIFY_SMS]);
    //  A preferred channel configured here is taken, else the default.
    assert (notify_channels_route (&c, ASP_NOTIFY_EMAIL) == ASP_NOTIFY_EMAIL);
    assert (notify_channels_route (&c, ASP_NOTIFY_SMS) == ASP_NOTIFY_SMS);
    //  An explicit default must be a configured channel.
    s_test_env ("ASP_NOTIFY_CHANNEL", "sms");
    assert (notify_config_load (&c) == 0 && c.fallback == ASP_NOTIFY_SMS);
    s_test_env ("ASP_NOTIFY_CHANNEL", "pigeon");
    assert (notify_config_load (&c) == -1);
    s_test_env ("ASP_NOTIFY_SMS_URL", NULL);
    s_test_env ("ASP_NOTIFY_CHANNEL", "sms");
    assert (notify_config_load (&c) == -1);
    s_test_env ("ASP_NOTIFY_CHANNEL", NULL);
    assert (notify_config_load (&c) == 0);
    assert (notify_channels_route (&c, ASP_NOTIFY_SMS) == ASP_NOTIFY_WEBHOOK);
    //  One instance of each configured channel.
    notify_channels_t *set = notify_channels_new (&c);
    assert (set && set->webhook && set->smtp && !set->sms && set->file && set->stdout_);
    char err [300];
    notify_msg_t msg = { .id = "N1", .channel = ASP_NOTIFY_WEBHOOK, .to = "", .subject = "s",
                         .text = "t", .json = "{}", .json_len = 2, .attempt = 1 };
    assert (notify_channels_send (set, &msg, err, sizeof err) == NOTIFY_FAILED && *err);
    msg.channel = ASP_NOTIFY_EMAIL;
    assert (notify_channels_send (set, &msg, err, sizeof err) == NOTIFY_REFUSED);     //  no address
    msg.to = "li@example.com";
    assert (notify_channels_send (set, &msg, err, sizeof err) == NOTIFY_FAILED && strstr (err, "smtp"));
    notify_channels_destroy (&set);
    unlink ("/tmp/notify-channel-test.jsonl");
    for (int i = 0; vars [i]; i++) {
        s_test_env (vars [i], saved [i]);
        free (saved [i]);
    }
    printf ("notify_channel_test: ok\n");
}
