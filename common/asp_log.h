/*  asp_log: JSON-lines logging on stdout.

    One line per event: {"ts":"...","level":"info","svc":"intake","msg":"...",
    ...fields}. Lines are written whole, so lines from several threads never
    interleave. Phone numbers must go through asp_mask_phone before logging. */
#ifndef ASP_LOG_H
#define ASP_LOG_H
#include <stddef.h>

typedef enum { ASP_LOG_DEBUG = 0, ASP_LOG_INFO, ASP_LOG_WARN, ASP_LOG_ERROR } asp_log_level_t;

//  Names the service for every line and sets the level from ASP_LOG_LEVEL.
void asp_log_init (const char *service);
void asp_log_set_level (asp_log_level_t level);
//  printf-style message, no extra fields.
void asp_log_debug (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
void asp_log_info  (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
void asp_log_warn  (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
void asp_log_error (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
//  Message with string fields: key, value pairs ending with NULL.
void asp_log_kv (asp_log_level_t level, const char *msg, ...);
//  Appends s as a JSON string body (no quotes) to out; returns bytes written
//  (never more than outlen-1; always NUL-terminates).
size_t asp_json_escape (char *out, size_t outlen, const char *s, size_t len);
//  "13812345678" -> "138****5678"; anything that is not mostly digits is
//  masked whole except its last two characters.
void asp_mask_phone (const char *phone, char *out, size_t outlen);

void asp_log_test (void);
#endif
