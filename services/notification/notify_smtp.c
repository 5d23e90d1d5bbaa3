#include "notify_smtp.h"
#include "asp_config.h"
#include "asp_curl.h"
#include "asp_log.h"
#include <assert.h>
#include <curl/curl.h>
#include <czmq.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct notify_smtp_t {
    const notify_config_t *config;
    CURL *curl;                 //  kept: the SMTP connection is reused
    char curl_err [CURL_ERROR_SIZE];
    char from [320];            //  "<address>" for MAIL FROM
};

notify_smtp_t *
notify_smtp_new (const notify_config_t *config)
{
    notify_smtp_t *self = (notify_smtp_t *) calloc (1, sizeof *self);
    assert (self);
    self->config = config;
    snprintf (self->from, sizeof self->from, "<%s>", config->smtp_from);
    long connect_ms = (long) asp_cfg_int ("ASP_NOTIFY_CONNECT_TIMEOUT_MS", 2000, 10, 600000);
    long total_ms = (long) asp_cfg_int ("ASP_NOTIFY_TIMEOUT_MS", 10000, 10, 600000);
    CURL *c = self->curl = curl_easy_init ();
    if (!c || curl_easy_setopt (c, CURLOPT_URL, config->smtp_url) != CURLE_OK) {
        asp_log_error ("bad configuration: ASP_NOTIFY_SMTP_URL='%s' is not a usable URL", config->smtp_url);
        notify_smtp_destroy (&self);
        return NULL;
    }
    curl_easy_setopt (c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt (c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt (c, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    curl_easy_setopt (c, CURLOPT_TIMEOUT_MS, total_ms);
    curl_easy_setopt (c, CURLOPT_ERRORBUFFER, self->curl_err);
    curl_easy_setopt (c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt (c, CURLOPT_MAIL_FROM, self->from);
    curl_easy_setopt (c, CURLOPT_UPLOAD, 1L);
    if (config->smtp_starttls)
        curl_easy_setopt (c, CURLOPT_USE_SSL, (long) CURLUSESSL_ALL);
    if (config->smtp_user)
        curl_easy_setopt (c, CURLOPT_USERNAME, config->smtp_user);
    if (config->smtp_password)
        curl_easy_setopt (c, CURLOPT_PASSWORD, config->smtp_password);
    return self;
}

void
notify_smtp_destroy (notify_smtp_t **self_p)
{
    notify_smtp_t *self = *self_p;
    if (!self)
        return;
    if (self->curl)
        curl_easy_cleanup (self->curl);
    free (self);
    *self_p = NULL;
}

static bool
s_ascii (const char *s)
{
    for (; *s; s++)
        if ((unsigned char) *s >= 0x7f || (unsigned char) *s < 0x20)
            return false;
    return true;
}

//  Appends text as base64, lines of at most 76 characters.
static void
s_base64_lines (zchunk_t *out, const unsigned char *data, size_t len)
{
    for (size_t at = 0; at < len; at += 57) {
        size_t n = len - at < 57? len - at: 57;
        char line [80];
        sodium_bin2base64 (line, sizeof line, data + at, n, sodium_base64_VARIANT_ORIGINAL);
        zchunk_extend (out, line, strlen (line));
        zchunk_extend (out, "\r\n", 2);
    }
}

//  Appends "Subject: " and the subject: as is when it is printable ASCII,
//  else as RFC 2047 B encoded-words of at most 75 characters, folded,
//  each ending on a whole UTF-8 character.
static void
s_subject (zchunk_t *out, const char *subject)
{
    zchunk_extend (out, "Subject: ", 9);
    if (s_ascii (subject) && strlen (subject) < 900) {
        zchunk_extend (out, subject, strlen (subject));
        zchunk_extend (out, "\r\n", 2);
        return;
    }
    size_t len = strlen (subject), at = 0;
    while (at < len) {
        size_t n = len - at < 45? len - at: 45;     //  45 bytes: 60 base64 characters
        while (n > 0 && at + n < len && ((unsigned char) subject [at + n] & 0xC0) == 0x80)
            n--;                //  not in the middle of a character
        if (n == 0)
            n = len - at < 45? len - at: 45;        //  not UTF-8 at all: cut anyway
        char word [80];
        sodium_bin2base64 (word, sizeof word, (const unsigned char *) subject + at, n,
                           sodium_base64_VARIANT_ORIGINAL);
        if (at)
            zchunk_extend (out, "\r\n ", 3);
        zchunk_extend (out, "=?UTF-8?B?", 10);
        zchunk_extend (out, word, strlen (word));
        zchunk_extend (out, "?=", 2);
        at += n;
    }
    zchunk_extend (out, "\r\n", 2);
}

char *
notify_smtp_message (const char *from, const notify_msg_t *msg, int64_t now)
{
    const char *at = strrchr (from, '@');
    const char *domain = at && at [1]? at + 1: "asp.invalid";
    char date [64];
    time_t t = (time_t) now;
    struct tm tm;
    gmtime_r (&t, &tm);
    strftime (date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    zchunk_t *out = zchunk_new (NULL, 1024);
    char line [600];
    int n = snprintf (line, sizeof line, "Date: %s\r\nFrom: <%s>\r\nTo: <%s>\r\n", date, from, msg->to);
    zchunk_extend (out, line, (size_t) n);
    s_subject (out, msg->subject);
    n = snprintf (line, sizeof line, "Message-ID: <%s@%s>\r\nMIME-Version: 1.0\r\n"
                  "Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n",
                  msg->id, domain);
    zchunk_extend (out, line, (size_t) n);
    s_base64_lines (out, (const unsigned char *) msg->text, strlen (msg->text));
    char *text = (char *) malloc (zchunk_size (out) + 1);
    assert (text);
    memcpy (text, zchunk_data (out), zchunk_size (out));
    text [zchunk_size (out)] = 0;
    zchunk_destroy (&out);
    return text;
}

typedef struct {
    const char *data;
    size_t len, at;
} s_upload_t;

static size_t
s_read (char *buffer, size_t size, size_t nitems, void *arg)
{
    s_upload_t *up = (s_upload_t *) arg;
    size_t n = size * nitems;
    if (n > up->len - up->at)
        n = up->len - up->at;
    memcpy (buffer, up->data + up->at, n);
    up->at += n;
    return n;
}

//  An address we put in RCPT TO and To: no brackets, spaces or line
//  breaks that would change the command or the header.
static bool
s_address_ok (const char *to)
{
    const char *at = strchr (to, '@');
    if (!at || at == to || !at [1] || strlen (to) > 254)
        return false;
    for (const char *p = to; *p; p++)
        if ((unsigned char) *p <= ' ' || *p == '<' || *p == '>' || *p == '"' || *p == ',' || *p == 0x7f)
            return false;
    return true;
}

notify_result_t
notify_smtp_send (notify_smtp_t *self, const notify_msg_t *msg, char *err, size_t errlen)
{
    if (!msg->to || !s_address_ok (msg->to)) {
        snprintf (err, errlen, "no usable e-mail address for this notification");
        return NOTIFY_REFUSED;
    }
    char *message = notify_smtp_message (self->config->smtp_from, msg, (int64_t) time (NULL));
    s_upload_t up = { message, strlen (message), 0 };
    char rcpt_to [300];
    snprintf (rcpt_to, sizeof rcpt_to, "<%s>", msg->to);
    struct curl_slist rcpt = { rcpt_to, NULL };     //  libcurl only reads it
    CURL *c = self->curl;
    curl_easy_setopt (c, CURLOPT_MAIL_RCPT, &rcpt);
    curl_easy_setopt (c, CURLOPT_READFUNCTION, s_read);
    curl_easy_setopt (c, CURLOPT_READDATA, &up);
    curl_easy_setopt (c, CURLOPT_INFILESIZE_LARGE, (curl_off_t) up.len);
    self->curl_err [0] = 0;
    CURLcode rc = curl_easy_perform (c);
    curl_easy_setopt (c, CURLOPT_MAIL_RCPT, NULL);
    free (message);
    if (rc == CURLE_OK)
        return NOTIFY_SENT;
    //  The server's last reply code says whose problem it is: 5xx this
    //  message will never be taken; 4xx, or none (the connection failed
    //  or dropped), try again later.
    long code = 0;
    curl_easy_getinfo (c, CURLINFO_RESPONSE_CODE, &code);
    snprintf (err, errlen, "smtp %ld: %s", code, *self->curl_err? self->curl_err: curl_easy_strerror (rc));
    return code >= 500 && code < 600? NOTIFY_REFUSED: NOTIFY_FAILED;
}

void
notify_smtp_test (void)
{
    notify_msg_t msg = { .id = "N0123456789abcdef01234567", .to = "li@example.com",
                         .subject = "工单 T1 已受理 / Ticket T1 received",
                         .text = "您好，李雷：您的工单 T1 已受理。" };
    char *m = notify_smtp_message ("service@brand.example", &msg, 1796188743);
    assert (strstr (m, "Date: Wed, 02 Dec 2026 05:19:03 +0000\r\n") == m);
    assert (strstr (m, "\r\nFrom: <service@brand.example>\r\nTo: <li@example.com>\r\n"));
    assert (strstr (m, "\r\nSubject: =?UTF-8?B?"));
    assert (strstr (m, "\r\nMessage-ID: <N0123456789abcdef01234567@brand.example>\r\n"));
    assert (strstr (m, "\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"));
    //  Every encoded-word at most 75 characters, every line at most 78.
    for (char *line = m, *end; (end = strstr (line, "\r\n")); line = end + 2)
        assert (end - line <= 78);
    free (m);
    msg.subject = "Ticket T1 received";
    m = notify_smtp_message ("service@brand.example", &msg, 1796188743);
    assert (strstr (m, "\r\nSubject: Ticket T1 received\r\n"));
    free (m);
    assert (s_address_ok ("a@b.c"));
    assert (!s_address_ok ("a@b.c>\r\nRCPT TO:<x@y"));
    assert (!s_address_ok ("ab.c") && !s_address_ok ("@b.c") && !s_address_ok ("a@"));
    printf ("notify_smtp_test: ok\n");
}
