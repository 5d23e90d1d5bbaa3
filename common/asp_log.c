#include "asp_log.h"
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static char s_service [32] = "asp";
static asp_log_level_t s_level = ASP_LOG_INFO;
static const char *s_names [] = { "debug", "info", "warn", "error" };

void
asp_log_init (const char *service)
{
    snprintf (s_service, sizeof s_service, "%s", service);
    const char *lvl = getenv ("ASP_LOG_LEVEL");
    if (lvl)
        for (int i = 0; i < 4; i++)
            if (strcasecmp (lvl, s_names [i]) == 0)
                s_level = (asp_log_level_t) i;
}

void
asp_log_set_level (asp_log_level_t level)
{
    s_level = level;
}

size_t
asp_json_escape (char *out, size_t outlen, const char *s, size_t len)
{
    size_t o = 0;
    if (outlen == 0)
        return 0;
    for (size_t i = 0; i < len && o + 7 < outlen; i++) {
        unsigned char c = (unsigned char) s [i];
        if (c == '"' || c == '\\') {
            out [o++] = '\\';
            out [o++] = (char) c;
        }
        else
        if (c == '\n') { out [o++] = '\\'; out [o++] = 'n'; }
        else
        if (c == '\r') { out [o++] = '\\'; out [o++] = 'r'; }
        else
        if (c == '\t') { out [o++] = '\\'; out [o++] = 't'; }
        else
        if (c < 0x20 || c == 0x7f)
            o += (size_t) snprintf (out + o, outlen - o, "\\u%04x", c);
        else
            out [o++] = (char) c;
    }
    out [o] = 0;
    return o;
}

//  Builds the line prefix: {"ts":"...","level":"...","svc":"...","msg":"..."
static size_t
s_head (char *line, size_t size, asp_log_level_t level, const char *msg)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r (&ts.tv_sec, &tm);
    size_t n = (size_t) snprintf (line, size,
        "{\"ts\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\",\"level\":\"%s\",\"svc\":\"%s\",\"msg\":\"",
        tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
        ts.tv_nsec / 1000000, s_names [level], s_service);
    n += asp_json_escape (line + n, size - n, msg, strlen (msg));
    if (n + 2 < size)
        line [n++] = '"';
    return n;
}

static void
s_emit (char *line, size_t n, size_t size)
{
    if (n + 3 > size)
        n = size - 3;
    line [n++] = '}';
    line [n++] = '\n';
    line [n] = 0;
    //  One fwrite per line under the stdio lock: threads never interleave.
    flockfile (stdout);
    fwrite (line, 1, n, stdout);
    fflush (stdout);
    funlockfile (stdout);
}

static void
s_vlog (asp_log_level_t level, const char *fmt, va_list ap)
{
    if (level < s_level)
        return;
    char msg [2048];
    vsnprintf (msg, sizeof msg, fmt, ap);
    char line [4600];
    size_t n = s_head (line, sizeof line, level, msg);
    s_emit (line, n, sizeof line);
}

#define ASP_LOG_FN(name, level) \
    void name (const char *fmt, ...) { va_list ap; va_start (ap, fmt); s_vlog (level, fmt, ap); va_end (ap); }
ASP_LOG_FN (asp_log_debug, ASP_LOG_DEBUG)
ASP_LOG_FN (asp_log_info,  ASP_LOG_INFO)
ASP_LOG_FN (asp_log_warn,  ASP_LOG_WARN)
ASP_LOG_FN (asp_log_error, ASP_LOG_ERROR)

//  Appends text to line[n..], never past size-3 (room for "}\n\0").
static size_t
s_put (char *line, size_t n, size_t size, const char *text)
{
    size_t len = strlen (text);
    if (n + len + 3 > size)
        return n;
    memcpy (line + n, text, len);
    return n + len;
}

void
asp_log_kv (asp_log_level_t level, const char *msg, ...)
{
    if (level < s_level)
        return;
    char line [4600];
    size_t n = s_head (line, sizeof line, level, msg);
    va_list ap;
    va_start (ap, msg);
    const char *key;
    while ((key = va_arg (ap, const char *)) != NULL) {
        const char *val = va_arg (ap, const char *);
        if (!val)
            val = "";
        //  Each field is written whole or not at all, so the line stays
        //  valid JSON however long the values are.
        char field [1200];
        size_t f = 0;
        field [f++] = ',';
        field [f++] = '"';
        f += asp_json_escape (field + f, 200, key, strlen (key));
        field [f++] = '"';
        field [f++] = ':';
        field [f++] = '"';
        f += asp_json_escape (field + f, sizeof field - f - 2, val, strlen (val));
        field [f++] = '"';
        field [f] = 0;
        n = s_put (line, n, sizeof line, field);
    }
    va_end (ap);
    s_emit (line, n, sizeof line);
}

void
asp_mask_phone (const char *phone, char *out, size_t outlen)
{
    size_t len = phone? strlen (phone): 0;
    if (outlen == 0)
        return;
    if (len >= outlen)
        len = outlen - 1;
    for (size_t i = 0; i < len; i++) {
        //  Keep the first three and the last four characters of a long
        //  number (the carrier prefix and what people recognise), two for a
        //  short one; mask the rest.
        int keep = len >= 11? (i < 3 || i >= len - 4): (len > 2 && i >= len - 2);
        out [i] = keep? phone [i]: '*';
    }
    out [len] = 0;
}

void
asp_log_test (void)
{
    //  Long fields never overflow the line.
    char big [3000];
    memset (big, 'x', sizeof big - 1);
    big [sizeof big - 1] = 0;
    asp_log_set_level (ASP_LOG_ERROR);
    asp_log_kv (ASP_LOG_ERROR, "long fields", "a", big, "b", big, "c", big, NULL);
    asp_log_set_level (ASP_LOG_INFO);
    char out [64];
    asp_mask_phone ("13812345678", out, sizeof out);
    assert (strcmp (out, "138****5678") == 0);
    asp_mask_phone ("12345", out, sizeof out);
    assert (strcmp (out, "***45") == 0);
    asp_json_escape (out, sizeof out, "a\"b\n", 4);
    assert (strcmp (out, "a\\\"b\\n") == 0);
    asp_json_escape (out, 4, "abcdefgh", 8);
    assert (strlen (out) < 4);
}
