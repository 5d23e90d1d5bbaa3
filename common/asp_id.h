/*  asp_id: unique ids and clocks.

    Ids are text so they read well in logs, Redis keys and JSON: a prefix, the
    creation time in milliseconds (base 36, so ids sort roughly by age) and 64
    random bits. No coordination is needed, so any process can mint them.     */
#ifndef ASP_ID_H
#define ASP_ID_H
#include <stddef.h>
#include <stdint.h>

//  The one id size limit. Every id (ticket, message, trace, partner,
//  idempotency key) is 1..ASP_ID_MAX-1 characters; ASP_ID_MAX is the
//  buffer that holds one with its NUL.
#define ASP_ID_MAX 48
//  An id made from a ticket id and a one-letter prefix ("W" + ticket id
//  names its work order, "V" + ticket id its return visit): one byte more,
//  so that every valid ticket id has a work order id that fits.
#define ASP_CHILD_ID_MAX (ASP_ID_MAX + 1)

//  Writes "<prefix><time36><rand64 base36>" into buf (at least ASP_ID_MAX).
void    asp_id_new (char *buf, const char *prefix);
//  Wall clock, milliseconds since the epoch.
int64_t asp_now_ms (void);
//  Monotonic clock, milliseconds; for deadlines inside one process.
int64_t asp_mono_ms (void);
//  Monotonic clock, microseconds; for latency measurement.
int64_t asp_mono_us (void);
//  A random 64-bit number (not for cryptography).
uint64_t asp_rand64 (void);
//  True when s is a plausible id: 1..ASP_ID_MAX-1 chars of [A-Za-z0-9._:-].
int     asp_id_valid (const char *s, size_t len);
//  True when s is prefix followed by a valid id (e.g. a work order id:
//  "W" + a ticket id); at most ASP_CHILD_ID_MAX-1 characters.
int     asp_child_id_valid (const char *s, size_t len, char prefix);
//  The id of work order generation gen of ticket: "W" + ticket for the
//  first, "W" + ticket + "." + gen for the later ones (a reopen or a
//  re-dispatch starts one). Minted ticket ids have no '.', so the form is
//  unambiguous. -1 (out "") when it does not fit ASP_CHILD_ID_MAX (a
//  ticket id near the limit has only its first work order).
int     asp_wo_id (const char *ticket, int64_t gen, char *out, size_t outlen);
//  The ticket id of a work order id of either form, into out; -1 when
//  wo_id is not one.
int     asp_wo_ticket (const char *wo_id, char *out, size_t outlen);

void    asp_id_test (void);
#endif
