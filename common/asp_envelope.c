#include "asp_envelope.h"
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAIL(...) do { snprintf (err, errlen, __VA_ARGS__); asp_envelope_destroy (&self); return NULL; } while (0)

//  Copies a string field. An embedded NUL is refused (as asp_mp_get_str does):
//  the copy would end there, and "m1\0a" and "m1\0b" would both become "m1",
//  two different messages sharing one dedup key.
static int
s_copy_str (const msgpack_object *o, char *out, size_t outlen, bool allow_empty)
{
    if (o->type != MSGPACK_OBJECT_STR || o->via.str.size >= outlen)
        return -1;
    if (!allow_empty && o->via.str.size == 0)
        return -1;
    if (memchr (o->via.str.ptr, 0, o->via.str.size))
        return -1;
    memcpy (out, o->via.str.ptr, o->via.str.size);
    out [o->via.str.size] = 0;
    return 0;
}

static bool
s_type_valid (const char *t)
{
    if (!*t)
        return false;
    for (; *t; t++)
        if (!((*t >= 'a' && *t <= 'z') || *t == '.' || *t == '_'))
            return false;
    return true;
}

asp_envelope_t *
asp_envelope_decode (const void *data, size_t size, char *err, size_t errlen)
{
    asp_envelope_t *self = (asp_envelope_t *) calloc (1, sizeof *self);
    assert (self);
    msgpack_unpacked_init (&self->unpacked);
    if (size > ASP_ENVELOPE_MAX)
        FAIL ("message of %zu bytes exceeds the %d byte limit", size, ASP_ENVELOPE_MAX);
    char why [160];
    if (asp_mp_unpack (&self->unpacked, data, size, why, sizeof why))
        FAIL ("bad msgpack: %s", why);
    const msgpack_object *top = &self->unpacked.data;
    if (top->type != MSGPACK_OBJECT_ARRAY || top->via.array.size != 7)
        FAIL ("envelope must be an array of 7 elements");
    const msgpack_object *f = top->via.array.ptr;
    if (f [0].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        FAIL ("envelope version must be a positive integer");
    self->version = (int64_t) f [0].via.u64;
    if (self->version != ASP_ENVELOPE_VERSION)
        FAIL ("unsupported envelope version %lld", (long long) self->version);
    if (s_copy_str (&f [1], self->type, sizeof self->type, false) || !s_type_valid (self->type))
        FAIL ("envelope type must be a string of [a-z._], 1..%d chars", ASP_TYPE_MAX - 1);
    if (s_copy_str (&f [2], self->id, sizeof self->id, false)
    ||  !asp_id_valid (self->id, strlen (self->id)))
        FAIL ("envelope id must be an id string");
    if (s_copy_str (&f [3], self->ticket, sizeof self->ticket, true)
    ||  (*self->ticket && !asp_id_valid (self->ticket, strlen (self->ticket))))
        FAIL ("envelope ticket_id must be an id string or empty");
    if (s_copy_str (&f [4], self->trace, sizeof self->trace, true)
    ||  (*self->trace && !asp_id_valid (self->trace, strlen (self->trace))))
        FAIL ("envelope trace_id must be an id string or empty");
    if (f [5].type != MSGPACK_OBJECT_POSITIVE_INTEGER || f [5].via.u64 > INT64_MAX)
        FAIL ("envelope time_ms must be a positive integer");
    self->time_ms = (int64_t) f [5].via.u64;
    if (f [6].type != MSGPACK_OBJECT_MAP)
        FAIL ("envelope body must be a map");
    for (uint32_t i = 0; i < f [6].via.map.size; i++)
        if (f [6].via.map.ptr [i].key.type != MSGPACK_OBJECT_STR)
            FAIL ("envelope body keys must be strings");
    self->body = &f [6];
    return self;
}

void
asp_envelope_destroy (asp_envelope_t **self_p)
{
    if (*self_p) {
        msgpack_unpacked_destroy (&(*self_p)->unpacked);
        free (*self_p);
        *self_p = NULL;
    }
}

asp_msg_t *
asp_msg_new (const char *type, const char *ticket, const char *trace)
{
    asp_msg_t *self = (asp_msg_t *) calloc (1, sizeof *self);
    assert (self);
    snprintf (self->type, sizeof self->type, "%s", type);
    snprintf (self->ticket, sizeof self->ticket, "%s", ticket? ticket: "");
    asp_id_new (self->id, "m");
    if (trace && *trace)
        snprintf (self->trace, sizeof self->trace, "%s", trace);
    else
        asp_id_new (self->trace, "tr");
    self->time_ms = asp_now_ms ();
    self->body = asp_mpmap_new ();
    return self;
}

asp_msg_t *
asp_msg_reply (const char *type, const asp_envelope_t *cause)
{
    return asp_msg_new (type, cause->ticket, cause->trace);
}

void
asp_msg_destroy (asp_msg_t **self_p)
{
    if (*self_p) {
        asp_mpmap_destroy (&(*self_p)->body);
        free (*self_p);
        *self_p = NULL;
    }
}

static void
s_pack_str (msgpack_packer *pk, const char *s)
{
    size_t n = strlen (s);
    msgpack_pack_str (pk, n);
    msgpack_pack_str_body (pk, s, n);
}

void
asp_msg_encode (asp_msg_t *self, char **data, size_t *size)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array (&pk, 7);
    msgpack_pack_int64 (&pk, ASP_ENVELOPE_VERSION);
    s_pack_str (&pk, self->type);
    s_pack_str (&pk, self->id);
    s_pack_str (&pk, self->ticket);
    s_pack_str (&pk, self->trace);
    msgpack_pack_int64 (&pk, self->time_ms);
    asp_mpmap_pack (self->body, &pk);
    *size = sb.size;
    *data = msgpack_sbuffer_release (&sb);
    msgpack_sbuffer_destroy (&sb);
}

asp_envelope_t *
asp_msg_to_envelope (asp_msg_t **self_p, char **data)
{
    assert (self_p && *self_p);
    size_t size;
    asp_msg_encode (*self_p, data, &size);
    asp_msg_destroy (self_p);
    char err [200];
    asp_envelope_t *env = asp_envelope_decode (*data, size, err, sizeof err);
    assert (env);               //  what we encode always decodes
    return env;
}

void
asp_envelope_test (void)
{
    char err [200];
    asp_msg_t *msg = asp_msg_new ("ticket.created", "T123", NULL);
    asp_mpmap_str (msg->body, "type", "repair");
    asp_mpmap_int (msg->body, "priority", 2);
    char *data; size_t size;
    asp_msg_encode (msg, &data, &size);
    asp_envelope_t *env = asp_envelope_decode (data, size, err, sizeof err);
    assert (env);
    assert (strcmp (env->type, "ticket.created") == 0);
    assert (strcmp (env->id, msg->id) == 0);
    assert (strcmp (env->ticket, "T123") == 0);
    assert (strcmp (env->trace, msg->trace) == 0);
    char t [16];
    assert (asp_mp_get_str (env->body, "type", t, sizeof t) == 0 && strcmp (t, "repair") == 0);
    asp_envelope_destroy (&env);
    assert (env == NULL);
    //  Every truncation fails cleanly, with a reason.
    for (size_t cut = 0; cut < size; cut++) {
        env = asp_envelope_decode (data, cut, err, sizeof err);
        assert (env == NULL && *err);
    }
    //  Trailing garbage is refused.
    char *longer = malloc (size + 1);
    memcpy (longer, data, size);
    longer [size] = 0;
    assert (asp_envelope_decode (longer, size + 1, err, sizeof err) == NULL);
    free (longer);
    free (data);
    asp_msg_destroy (&msg);

    //  Wrong shapes.
    const uint8_t not_array [] = { 0x80 };
    assert (!asp_envelope_decode (not_array, 1, err, sizeof err) && strstr (err, "array"));
    //  [2, "x", "id", "", "", 1, {}]: unsupported version
    const uint8_t v2 [] = { 0x97, 0x02, 0xa1, 'x', 0xa2, 'i', 'd', 0xa0, 0xa0, 0x01, 0x80 };
    assert (!asp_envelope_decode (v2, sizeof v2, err, sizeof err) && strstr (err, "version"));
    const uint8_t good [] = { 0x97, 0x01, 0xa1, 'x', 0xa2, 'i', 'd', 0xa0, 0xa0, 0x01, 0x80 };
    env = asp_envelope_decode (good, sizeof good, err, sizeof err);
    assert (env);
    asp_envelope_destroy (&env);
    //  Bad type characters.
    const uint8_t badtype [] = { 0x97, 0x01, 0xa1, 'X', 0xa2, 'i', 'd', 0xa0, 0xa0, 0x01, 0x80 };
    assert (!asp_envelope_decode (badtype, sizeof badtype, err, sizeof err));
    //  An embedded NUL in any string field is refused, never cut short: else
    //  ids "id\0a" and "id\0b" would be one message to the inbox's dedup.
    const uint8_t nul_id [] = { 0x97, 0x01, 0xa1, 'x', 0xa4, 'i', 'd', 0, 'a', 0xa0, 0xa0, 0x01, 0x80 };
    assert (!asp_envelope_decode (nul_id, sizeof nul_id, err, sizeof err) && strstr (err, "id"));
    const uint8_t nul_type [] = { 0x97, 0x01, 0xa3, 'x', 0, 'y', 0xa2, 'i', 'd', 0xa0, 0xa0, 0x01, 0x80 };
    assert (!asp_envelope_decode (nul_type, sizeof nul_type, err, sizeof err) && strstr (err, "type"));
    const uint8_t nul_ticket [] = { 0x97, 0x01, 0xa1, 'x', 0xa2, 'i', 'd', 0xa3, 'T', 0, '1', 0xa0, 0x01, 0x80 };
    assert (!asp_envelope_decode (nul_ticket, sizeof nul_ticket, err, sizeof err) && strstr (err, "ticket"));
    const uint8_t nul_trace [] = { 0x97, 0x01, 0xa1, 'x', 0xa2, 'i', 'd', 0xa0, 0xa1, 0, 0x01, 0x80 };
    assert (!asp_envelope_decode (nul_trace, sizeof nul_trace, err, sizeof err) && strstr (err, "trace"));
    //  Body not a map.
    const uint8_t badbody [] = { 0x97, 0x01, 0xa1, 'x', 0xa2, 'i', 'd', 0xa0, 0xa0, 0x01, 0x90 };
    assert (!asp_envelope_decode (badbody, sizeof badbody, err, sizeof err) && strstr (err, "body"));
    //  Random garbage never crashes.
    uint8_t junk [64];
    for (int round = 0; round < 20000; round++) {
        size_t n = 1 + asp_rand64 () % sizeof junk;
        for (size_t i = 0; i < n; i++)
            junk [i] = (uint8_t) asp_rand64 ();
        if (round % 2)
            junk [0] = 0x97;        //  start like an envelope to go deeper
        env = asp_envelope_decode (junk, n, err, sizeof err);
        asp_envelope_destroy (&env);
    }
}
