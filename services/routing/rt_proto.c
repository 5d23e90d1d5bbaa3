#include "rt_proto.h"
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    rt_cmd_type_t type;
} s_commands [] = {
    { "READY", RT_CMD_READY },
    { "HEARTBEAT", RT_CMD_HEARTBEAT },
    { "ACCEPT", RT_CMD_ACCEPT },
    { "DECLINE", RT_CMD_DECLINE },
    { "PROGRESS", RT_CMD_PROGRESS },
    { "COMPLETE", RT_CMD_COMPLETE },
    { "DISCONNECT", RT_CMD_DISCONNECT },
};

static const char *s_stages [] = { "scheduled", "on_the_way", "on_site", "waiting_parts", "note", NULL };
static const char *s_results [] = { "fixed", "not_fixed", "installed", NULL };

rt_cmd_t *
rt_cmd_new (void)
{
    rt_cmd_t *self = (rt_cmd_t *) calloc (1, sizeof *self);
    assert (self);
    return self;
}

static void
s_strv_free (char ***v, size_t *n)
{
    for (size_t i = 0; i < *n; i++)
        free ((*v) [i]);
    free (*v);
    *v = NULL;
    *n = 0;
}

void
rt_cmd_destroy (rt_cmd_t **self_p)
{
    rt_cmd_t *self = *self_p;
    if (!self)
        return;
    s_strv_free (&self->skills, &self->nskills);
    s_strv_free (&self->regions, &self->nregions);
    free (self);
    *self_p = NULL;
}

bool
rt_text_valid (const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *) s;
    size_t i = 0;
    while (i < n) {
        unsigned char c = p [i];
        if (c < 0x80) {
            if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f)
                return false;
            i++;
            continue;
        }
        size_t len;
        uint32_t cp;
        if ((c & 0xe0) == 0xc0) { len = 2; cp = c & 0x1f; }
        else
        if ((c & 0xf0) == 0xe0) { len = 3; cp = c & 0x0f; }
        else
        if ((c & 0xf8) == 0xf0) { len = 4; cp = c & 0x07; }
        else
            return false;
        if (n - i < len)
            return false;
        for (size_t k = 1; k < len; k++) {
            if ((p [i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p [i + k] & 0x3f);
        }
        //  Overlong forms, surrogates and values beyond Unicode are invalid.
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)
        ||  (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
            return false;
        i += len;
    }
    return true;
}

void
rt_text_cut (char *out, size_t outlen, const char *s)
{
    size_t n = strlen (s);
    if (n >= outlen) {
        n = outlen - 1;
        //  Back off to the start of the character that does not fit.
        while (n > 0 && ((unsigned char) s [n] & 0xc0) == 0x80)
            n--;
    }
    memcpy (out, s, n);
    out [n] = 0;
}

bool
rt_wo_id_valid (const char *s)
{
    size_t n = strlen (s);
    if (n < 2 || n >= RT_WO_ID_MAX || s [0] != 'W')
        return false;
    for (size_t i = 1; i < n; i++) {
        char c = s [i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
        ||    c == '.' || c == '_' || c == ':' || c == '-'))
            return false;
    }
    return true;
}

#define FAIL(...) do { snprintf (err, errlen, __VA_ARGS__); return -1; } while (0)

//  A text field: 0 ok (or absent and optional), -1 with a reason.
static int
s_text (const msgpack_object *map, const char *key, char *out, size_t outlen, bool required,
        bool *present, char *err, size_t errlen)
{
    int rc = asp_mp_get_str (map, key, out, outlen);
    if (present)
        *present = rc == 0;
    if (rc == 1) {
        *out = 0;
        if (required)
            FAIL ("field '%s' is required", key);
        return 0;
    }
    if (rc == -1)
        FAIL ("field '%s' must be a string of at most %zu bytes", key, outlen - 1);
    if (!rt_text_valid (out, strlen (out))) {
        *out = 0;               //  never echo invalid text back in an ERROR
        FAIL ("field '%s' must be valid UTF-8 text", key);
    }
    return 0;
}

static int
s_int (const msgpack_object *map, const char *key, int64_t min, int64_t max, int64_t *out,
       bool required, bool *present, char *err, size_t errlen)
{
    int rc = asp_mp_get_int (map, key, out);
    if (present)
        *present = rc == 0;
    if (rc == 1) {
        if (required)
            FAIL ("field '%s' is required", key);
        return 0;
    }
    if (rc == -1 || *out < min || *out > max)
        FAIL ("field '%s' must be an integer in %lld..%lld", key, (long long) min, (long long) max);
    return 0;
}

static int
s_enum (const msgpack_object *map, const char *key, const char **values, char *out, size_t outlen,
        char *err, size_t errlen)
{
    if (s_text (map, key, out, outlen, true, NULL, err, errlen))
        return -1;
    for (int i = 0; values [i]; i++)
        if (strcmp (out, values [i]) == 0)
            return 0;
    char list [160] = "";
    for (int i = 0; values [i]; i++)
        snprintf (list + strlen (list), sizeof list - strlen (list), "%s%s", i? ", ": "", values [i]);
    FAIL ("field '%s' must be one of %s", key, list);
}

//  An array of 1..64 non-empty strings.
static int
s_list (const msgpack_object *map, const char *key, char ***out, size_t *count, char *err, size_t errlen)
{
    const msgpack_object *o = asp_mp_get (map, key);
    if (!o || o->type == MSGPACK_OBJECT_NIL)
        FAIL ("field '%s' is required", key);
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size < 1 || o->via.array.size > RT_LIST_MAX)
        FAIL ("field '%s' must be an array of 1..%d strings", key, RT_LIST_MAX);
    for (uint32_t i = 0; i < o->via.array.size; i++) {
        const msgpack_object *e = &o->via.array.ptr [i];
        if (e->type != MSGPACK_OBJECT_STR || e->via.str.size == 0 || e->via.str.size > RT_STR_MAX
        ||  memchr (e->via.str.ptr, 0, e->via.str.size)
        ||  !rt_text_valid (e->via.str.ptr, e->via.str.size))
            FAIL ("field '%s' must hold non-empty UTF-8 strings of at most %d bytes", key, RT_STR_MAX);
    }
    char **v = (char **) calloc (o->via.array.size, sizeof (char *));
    assert (v);
    for (uint32_t i = 0; i < o->via.array.size; i++) {
        const msgpack_object *e = &o->via.array.ptr [i];
        v [i] = strndup (e->via.str.ptr, e->via.str.size);
        assert (v [i]);
    }
    s_strv_free (out, count);
    *out = v;
    *count = o->via.array.size;
    return 0;
}

//  The attempt an offer_id names: "<wo_id>.<n>", n from 1, no leading zero.
static int64_t
s_attempt (const char *wo_id, const char *offer_id)
{
    size_t n = strlen (wo_id);
    if (!*wo_id || strncmp (offer_id, wo_id, n) != 0 || offer_id [n] != '.')
        return 0;
    const char *d = offer_id + n + 1;
    size_t digits = strlen (d);
    if (digits == 0 || digits > 9 || *d == '0')
        return 0;
    for (size_t i = 0; i < digits; i++)
        if (d [i] < '0' || d [i] > '9')
            return 0;
    return strtoll (d, NULL, 10);
}

static int
s_fields (rt_cmd_t *self, const msgpack_object *body, char *err, size_t errlen)
{
    switch (self->type) {
        case RT_CMD_READY:
            if (s_int (body, "capacity", 1, RT_CAPACITY_MAX, &self->capacity, true, NULL, err, errlen)
            ||  s_list (body, "skills", &self->skills, &self->nskills, err, errlen)
            ||  s_list (body, "regions", &self->regions, &self->nregions, err, errlen)
            ||  s_text (body, "software", self->software, sizeof self->software, false, NULL, err, errlen))
                return -1;
            return 0;
        case RT_CMD_HEARTBEAT:
        case RT_CMD_DISCONNECT:
            return 0;
        default:
            break;
    }
    if (s_text (body, "wo_id", self->wo_id, sizeof self->wo_id, true, NULL, err, errlen))
        return -1;
    switch (self->type) {
        case RT_CMD_ACCEPT:
        case RT_CMD_DECLINE:
            if (s_text (body, "offer_id", self->offer_id, sizeof self->offer_id, true, NULL, err, errlen))
                return -1;
            self->attempt = s_attempt (self->wo_id, self->offer_id);
            if (self->type == RT_CMD_DECLINE
            &&  s_text (body, "reason", self->reason, sizeof self->reason, false, NULL, err, errlen))
                return -1;
            return 0;
        case RT_CMD_PROGRESS:
            if (s_int (body, "seq", 1, INT64_MAX, &self->seq, true, NULL, err, errlen)
            ||  s_enum (body, "stage", s_stages, self->stage, sizeof self->stage, err, errlen)
            ||  s_text (body, "note", self->note, sizeof self->note, false, &self->has_note, err, errlen)
            ||  s_int (body, "appointment_ms", 0, INT64_MAX, &self->appointment_ms, false,
                       &self->has_appointment, err, errlen))
                return -1;
            return 0;
        case RT_CMD_COMPLETE:
            if (s_enum (body, "result", s_results, self->result, sizeof self->result, err, errlen)
            ||  s_text (body, "note", self->note, sizeof self->note, false, &self->has_note, err, errlen)
            ||  s_text (body, "technician", self->technician, sizeof self->technician, false,
                        &self->has_technician, err, errlen))
                return -1;
            return 0;
        default:
            return 0;
    }
}

int
rt_cmd_decode (rt_cmd_t *self, zmsg_t *msg, char *err, size_t errlen)
{
    size_t frames = zmsg_size (msg);
    zframe_t *sig = zmsg_first (msg);
    zframe_t *cmd = zmsg_next (msg);
    zframe_t *body = zmsg_next (msg);
    //  Keep the command name when it looks like one, for the ERROR's ref.
    if (cmd && zframe_size (cmd) > 0 && zframe_size (cmd) < sizeof self->name) {
        const char *p = (const char *) zframe_data (cmd);
        size_t n = zframe_size (cmd), i = 0;
        while (i < n && ((p [i] >= 'A' && p [i] <= 'Z') || p [i] == '_'))
            i++;
        if (i == n) {
            memcpy (self->name, p, n);
            self->name [n] = 0;
        }
    }
    if (frames != 3)
        FAIL ("expected 3 frames (signature, command, body), got %zu", frames);
    if (zmsg_content_size (msg) > RT_MSG_MAX)
        FAIL ("message of %zu bytes exceeds the %d byte limit", zmsg_content_size (msg), RT_MSG_MAX);
    if (zframe_size (sig) != strlen (RT_SIGNATURE) || memcmp (zframe_data (sig), RT_SIGNATURE, 5) != 0)
        FAIL ("bad protocol signature (expected %s)", RT_SIGNATURE);
    size_t i = 0, ncmds = sizeof s_commands / sizeof s_commands [0];
    while (i < ncmds && strcmp (self->name, s_commands [i].name) != 0)
        i++;
    if (i == ncmds)
        FAIL ("unknown command '%s'", self->name);
    self->type = s_commands [i].type;

    msgpack_unpacked u;
    msgpack_unpacked_init (&u);
    char why [160];
    int rc = 0;
    if (asp_mp_unpack (&u, zframe_data (body), zframe_size (body), why, sizeof why)) {
        snprintf (err, errlen, "bad msgpack body: %s", why);
        rc = -1;
    }
    else
    if (u.data.type != MSGPACK_OBJECT_MAP) {
        snprintf (err, errlen, "body must be a msgpack map");
        rc = -1;
    }
    else {
        for (uint32_t k = 0; k < u.data.via.map.size && rc == 0; k++)
            if (u.data.via.map.ptr [k].key.type != MSGPACK_OBJECT_STR) {
                snprintf (err, errlen, "body keys must be strings");
                rc = -1;
            }
        if (rc == 0)
            rc = s_fields (self, &u.data, err, errlen);
    }
    msgpack_unpacked_destroy (&u);
    return rc;
}

int
rt_proto_send (zsock_t *sock, const void *rid, size_t rid_len, const char *command, asp_mpmap_t *body)
{
    void *handle = zsock_resolve (sock);
    char *data = NULL;
    size_t size = 0;
    if (body)
        asp_mpmap_bytes (body, &data, &size);
    static const char empty_map [1] = { (char) 0x80 };
    //  The first frame decides: EHOSTUNREACH (gone) or EAGAIN (full). Once
    //  it is accepted the other parts of the message always are.
    int rc = zmq_send (handle, rid, rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    if (rc != -1) {
        zmq_send (handle, RT_SIGNATURE, strlen (RT_SIGNATURE), ZMQ_SNDMORE | ZMQ_DONTWAIT);
        zmq_send (handle, command, strlen (command), ZMQ_SNDMORE | ZMQ_DONTWAIT);
        rc = zmq_send (handle, data? data: empty_map, data? size: 1, ZMQ_DONTWAIT);
    }
    int saved = errno;
    free (data);
    errno = saved;
    return rc == -1? -1: 0;
}

//  --------------------------------------------------------------------------
//  Self test

static zmsg_t *
s_msg (const char *sig, const char *cmd, asp_mpmap_t *body)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, sig);
    zmsg_addstr (msg, cmd);
    char *data; size_t size;
    asp_mpmap_bytes (body, &data, &size);
    zmsg_addmem (msg, data, size);
    free (data);
    return msg;
}

static int
s_try (zmsg_t *msg, rt_cmd_t **cmd_p, char *err, size_t errlen)
{
    rt_cmd_destroy (cmd_p);
    *cmd_p = rt_cmd_new ();
    int rc = rt_cmd_decode (*cmd_p, msg, err, errlen);
    zmsg_destroy (&msg);
    return rc;
}

void
rt_proto_test (void)
{
    printf (" * rt_proto: ");
    char err [200];
    rt_cmd_t *cmd = NULL;
    const char *skills [] = { "heater", "*" };

    asp_mpmap_t *m = asp_mpmap_new ();
    asp_mpmap_int (m, "capacity", 5);
    asp_mpmap_strv (m, "skills", skills, 2);
    asp_mpmap_strv (m, "regions", skills + 1, 1);
    asp_mpmap_str (m, "future_key", "ignored");
    assert (s_try (s_msg ("ASPW1", "READY", m), &cmd, err, sizeof err) == 0);
    assert (cmd->type == RT_CMD_READY && cmd->capacity == 5 && cmd->nskills == 2);
    assert (strcmp (cmd->skills [0], "heater") == 0 && strcmp (cmd->regions [0], "*") == 0);
    assert (s_try (s_msg ("ASPW2", "READY", m), &cmd, err, sizeof err) == -1 && strstr (err, "signature"));
    assert (strcmp (cmd->name, "READY") == 0);
    assert (s_try (s_msg ("ASPW1", "FLY", m), &cmd, err, sizeof err) == -1 && strstr (err, "unknown"));
    assert (strcmp (cmd->name, "FLY") == 0);
    assert (s_try (s_msg ("ASPW1", "bad\x01", m), &cmd, err, sizeof err) == -1 && *cmd->name == 0);
    asp_mpmap_destroy (&m);

    //  Capacity out of range, skills missing or too many.
    m = asp_mpmap_new ();
    asp_mpmap_int (m, "capacity", 0);
    asp_mpmap_strv (m, "skills", skills, 2);
    asp_mpmap_strv (m, "regions", skills, 2);
    assert (s_try (s_msg ("ASPW1", "READY", m), &cmd, err, sizeof err) == -1 && strstr (err, "capacity"));
    asp_mpmap_destroy (&m);
    m = asp_mpmap_new ();
    asp_mpmap_int (m, "capacity", 3);
    assert (s_try (s_msg ("ASPW1", "READY", m), &cmd, err, sizeof err) == -1 && strstr (err, "skills"));
    const char *many [65];
    for (int i = 0; i < 65; i++)
        many [i] = "x";
    asp_mpmap_strv (m, "skills", many, 65);
    assert (s_try (s_msg ("ASPW1", "READY", m), &cmd, err, sizeof err) == -1 && strstr (err, "skills"));
    asp_mpmap_destroy (&m);

    //  ACCEPT: offer_id names its attempt.
    m = asp_mpmap_new ();
    asp_mpmap_str (m, "wo_id", "WT1");
    asp_mpmap_str (m, "offer_id", "WT1.12");
    assert (s_try (s_msg ("ASPW1", "ACCEPT", m), &cmd, err, sizeof err) == 0);
    assert (cmd->attempt == 12 && strcmp (cmd->wo_id, "WT1") == 0);
    asp_mpmap_destroy (&m);
    assert (s_attempt ("WT1", "WT1.0") == 0 && s_attempt ("WT1", "WT2.1") == 0);
    assert (s_attempt ("WT1", "WT1.") == 0 && s_attempt ("WT1", "WT1.3x") == 0);
    assert (s_attempt ("WT1", "WT1.7") == 7);

    //  PROGRESS: stage enum, seq >= 1, wrong types.
    m = asp_mpmap_new ();
    asp_mpmap_str (m, "wo_id", "WT1");
    asp_mpmap_int (m, "seq", 1);
    asp_mpmap_str (m, "stage", "on_site");
    asp_mpmap_str (m, "note", "技师已到");
    assert (s_try (s_msg ("ASPW1", "PROGRESS", m), &cmd, err, sizeof err) == 0);
    assert (cmd->seq == 1 && cmd->has_note && !cmd->has_appointment);
    asp_mpmap_destroy (&m);
    m = asp_mpmap_new ();
    asp_mpmap_str (m, "wo_id", "WT1");
    asp_mpmap_int (m, "seq", 1);
    asp_mpmap_str (m, "stage", "dancing");
    assert (s_try (s_msg ("ASPW1", "PROGRESS", m), &cmd, err, sizeof err) == -1 && strstr (err, "stage"));
    assert (strcmp (cmd->wo_id, "WT1") == 0);
    asp_mpmap_destroy (&m);
    m = asp_mpmap_new ();
    asp_mpmap_int (m, "wo_id", 5);
    assert (s_try (s_msg ("ASPW1", "COMPLETE", m), &cmd, err, sizeof err) == -1 && strstr (err, "wo_id"));
    asp_mpmap_destroy (&m);
    m = asp_mpmap_new ();
    asp_mpmap_str (m, "wo_id", "W\xff\xfe");
    assert (s_try (s_msg ("ASPW1", "COMPLETE", m), &cmd, err, sizeof err) == -1 && strstr (err, "UTF-8"));
    assert (*cmd->wo_id == 0);
    asp_mpmap_destroy (&m);

    //  Framing and msgpack defects.
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, "ASPW1");
    zmsg_addstr (msg, "HEARTBEAT");
    assert (s_try (msg, &cmd, err, sizeof err) == -1 && strstr (err, "frames"));
    msg = zmsg_new ();
    zmsg_addstr (msg, "ASPW1");
    zmsg_addstr (msg, "HEARTBEAT");
    zmsg_addmem (msg, "\xdd\xff\x00\x00\x00", 5);
    assert (s_try (msg, &cmd, err, sizeof err) == -1 && strstr (err, "msgpack"));
    msg = zmsg_new ();
    zmsg_addstr (msg, "ASPW1");
    zmsg_addstr (msg, "HEARTBEAT");
    zmsg_addmem (msg, "\x90", 1);
    assert (s_try (msg, &cmd, err, sizeof err) == -1 && strstr (err, "map"));
    msg = zmsg_new ();
    zmsg_addstr (msg, "ASPW1");
    zmsg_addstr (msg, "HEARTBEAT");
    zmsg_addmem (msg, "\x80", 1);
    assert (s_try (msg, &cmd, err, sizeof err) == 0 && cmd->type == RT_CMD_HEARTBEAT);
    char *big = calloc (1, RT_MSG_MAX + 10);
    msg = zmsg_new ();
    zmsg_addstr (msg, "ASPW1");
    zmsg_addstr (msg, "HEARTBEAT");
    zmsg_addmem (msg, big, RT_MSG_MAX + 10);
    free (big);
    assert (s_try (msg, &cmd, err, sizeof err) == -1 && strstr (err, "limit"));

    //  Text checks.
    assert (rt_text_valid ("王先生", strlen ("王先生")));
    assert (!rt_text_valid ("\xc0\xaf", 2));            //  overlong
    assert (!rt_text_valid ("\xed\xa0\x80", 3));        //  surrogate
    assert (!rt_text_valid ("a\x01", 2));
    char cut [5];
    rt_text_cut (cut, sizeof cut, "a王b");                //  'a' + 3 bytes fit exactly
    assert (strcmp (cut, "a王") == 0);
    rt_text_cut (cut, 3, "a王b");
    assert (strcmp (cut, "a") == 0);
    assert (rt_wo_id_valid ("WT1abc") && !rt_wo_id_valid ("T1") && !rt_wo_id_valid ("W") && !rt_wo_id_valid ("W a"));
    rt_cmd_destroy (&cmd);
    printf ("OK\n");
}
