#include "aspw_proto.h"
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  The command table: names, and who may send each.
#define BY_PARTNER  1
#define BY_PLATFORM 2

static const struct {
    const char *name;
    int senders;
} s_commands [ASPW_COMMAND_COUNT] = {
    [ASPW_READY]      = { "READY", BY_PARTNER },
    [ASPW_ACCEPT]     = { "ACCEPT", BY_PARTNER },
    [ASPW_DECLINE]    = { "DECLINE", BY_PARTNER },
    [ASPW_PROGRESS]   = { "PROGRESS", BY_PARTNER },
    [ASPW_COMPLETE]   = { "COMPLETE", BY_PARTNER },
    [ASPW_WELCOME]    = { "WELCOME", BY_PLATFORM },
    [ASPW_OFFER]      = { "OFFER", BY_PLATFORM },
    [ASPW_ASSIGNED]   = { "ASSIGNED", BY_PLATFORM },
    [ASPW_CONFIRM]    = { "CONFIRM", BY_PLATFORM },
    [ASPW_WITHDRAW]   = { "WITHDRAW", BY_PLATFORM },
    [ASPW_ERROR]      = { "ERROR", BY_PLATFORM },
    [ASPW_HEARTBEAT]  = { "HEARTBEAT", BY_PARTNER | BY_PLATFORM },
    [ASPW_DISCONNECT] = { "DISCONNECT", BY_PARTNER | BY_PLATFORM },
    [ASPW_LIST]       = { "LIST", BY_PARTNER },
    [ASPW_UNABLE]     = { "UNABLE", BY_PARTNER },
    [ASPW_LISTED]     = { "LISTED", BY_PLATFORM },
};

const char *
aspw_command_name (aspw_command_t id)
{
    return id < ASPW_COMMAND_COUNT? s_commands [id].name: "";
}

int
aspw_command_parse (const char *name)
{
    for (int i = 0; i < ASPW_COMMAND_COUNT; i++)
        if (strcmp (name, s_commands [i].name) == 0)
            return i;
    return -1;
}

//  --------------------------------------------------------------------------
//  Construction

static void
s_strv_free (char ***v, size_t *n)
{
    for (size_t i = 0; i < *n; i++)
        free ((*v) [i]);
    free (*v);
    *v = NULL;
    *n = 0;
}

aspw_msg_t *
aspw_msg_new (aspw_command_t id)
{
    aspw_msg_t *self = (aspw_msg_t *) calloc (1, sizeof *self);
    assert (self);
    self->id = id;
    return self;
}

void
aspw_msg_reset (aspw_msg_t *self, aspw_command_t id)
{
    s_strv_free (&self->skills, &self->nskills);
    s_strv_free (&self->regions, &self->nregions);
    s_strv_free (&self->features, &self->nfeatures);
    free (self->parts);
    memset (self, 0, sizeof *self);
    self->id = id;
}

void
aspw_msg_destroy (aspw_msg_t **self_p)
{
    aspw_msg_t *self = *self_p;
    if (!self)
        return;
    aspw_msg_reset (self, ASPW_HEARTBEAT);
    free (self);
    *self_p = NULL;
}

//  --------------------------------------------------------------------------
//  Text

bool
aspw_text_valid (const char *s, size_t n)
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
aspw_text_cut (char *out, size_t outlen, const char *s)
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

//  --------------------------------------------------------------------------
//  Field readers

#define FAIL(...) do { snprintf (err, errlen, __VA_ARGS__); return -1; } while (0)

int
aspw_get_text (const msgpack_object *map, const char *key, char *out, size_t outlen,
               int flags, bool *present, char *err, size_t errlen)
{
    *out = 0;
    int rc = asp_mp_get_str (map, key, out, outlen);
    if (present)
        *present = rc == 0;
    if (rc == 1) {
        if (flags & ASPW_REQUIRED)
            FAIL ("field '%s' is required", key);
        return 0;
    }
    if (rc == -1) {
        *out = 0;
        FAIL ("field '%s' must be a string of at most %zu bytes", key, outlen - 1);
    }
    if (!aspw_text_valid (out, strlen (out))) {
        *out = 0;               //  never echo invalid text back
        FAIL ("field '%s' must be valid UTF-8 text", key);
    }
    if ((flags & ASPW_NONEMPTY) == ASPW_NONEMPTY && !*out)
        FAIL ("field '%s' must not be empty", key);
    return 0;
}

int
aspw_get_int (const msgpack_object *map, const char *key, int64_t min, int64_t max,
              int64_t *out, int flags, bool *present, char *err, size_t errlen)
{
    int64_t value = 0;
    int rc = asp_mp_get_int (map, key, &value);
    if (present)
        *present = rc == 0;
    if (rc == 1) {
        if (flags & ASPW_REQUIRED)
            FAIL ("field '%s' is required", key);
        return 0;
    }
    if (rc == -1 || value < min || value > max)
        FAIL ("field '%s' must be an integer in %lld..%lld", key, (long long) min, (long long) max);
    *out = value;
    return 0;
}

int
aspw_get_bool (const msgpack_object *map, const char *key, bool *out, char *err, size_t errlen)
{
    int rc = asp_mp_get_bool (map, key, out);
    if (rc == 1)
        FAIL ("field '%s' is required", key);
    if (rc == -1)
        FAIL ("field '%s' must be a boolean", key);
    return 0;
}

int
aspw_get_word (const msgpack_object *map, const char *key, const asp_vocab_t *vocab,
               int *out, char *err, size_t errlen)
{
    char word [64];
    int rc = asp_mp_get_str (map, key, word, sizeof word);
    if (rc == 1)
        FAIL ("field '%s' is required", key);
    if (rc == 0 && (*out = asp_vocab_parse (vocab, word)) >= 0)
        return 0;
    char list [160];
    FAIL ("field '%s' must be one of %s", key, asp_vocab_join (vocab, list, sizeof list));
}

//  An array of min..ASPW_LIST_MAX strings; optional ones may be absent.
static int
s_get_list (const msgpack_object *map, const char *key, uint32_t min, int flags, char ***out,
            size_t *count, char *err, size_t errlen)
{
    const msgpack_object *o = asp_mp_get (map, key);
    if (!o || o->type == MSGPACK_OBJECT_NIL) {
        if (flags & ASPW_REQUIRED)
            FAIL ("field '%s' is required", key);
        s_strv_free (out, count);
        return 0;
    }
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size < min || o->via.array.size > ASPW_LIST_MAX)
        FAIL ("field '%s' must be an array of %u..%d strings", key, min, ASPW_LIST_MAX);
    for (uint32_t i = 0; i < o->via.array.size; i++) {
        const msgpack_object *e = &o->via.array.ptr [i];
        if (e->type != MSGPACK_OBJECT_STR || e->via.str.size == 0 || e->via.str.size > ASPW_STR_MAX
        ||  memchr (e->via.str.ptr, 0, e->via.str.size)
        ||  !aspw_text_valid (e->via.str.ptr, e->via.str.size))
            FAIL ("field '%s' must hold non-empty UTF-8 strings of at most %d bytes", key, ASPW_STR_MAX);
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

int
aspw_get_list (const msgpack_object *map, const char *key, char ***out, size_t *count,
               char *err, size_t errlen)
{
    return s_get_list (map, key, 1, ASPW_REQUIRED, out, count, err, errlen);
}

int
aspw_get_list_opt (const msgpack_object *map, const char *key, char ***out, size_t *count,
                   char *err, size_t errlen)
{
    return s_get_list (map, key, 0, ASPW_OPTIONAL, out, count, err, errlen);
}

void
aspw_strv_set (char ***out, size_t *count, const char *const *list, size_t n)
{
    s_strv_free (out, count);
    if (n == 0)
        return;
    *out = (char **) calloc (n, sizeof (char *));
    assert (*out);
    for (size_t i = 0; i < n; i++) {
        (*out) [i] = strdup (list [i]);
        assert ((*out) [i]);
    }
    *count = n;
}

bool
aspw_strv_has (char *const *list, size_t count, const char *name)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp (list [i], name) == 0)
            return true;
    return false;
}

//  --------------------------------------------------------------------------
//  Decoders, one per command

#define TEXT(key, field, flags, present) \
    aspw_get_text (b, key, self->field, sizeof self->field, flags, present, err, errlen)
#define INT(key, min, max, field, flags, present) \
    aspw_get_int (b, key, min, max, &self->field, flags, present, err, errlen)
#define WORD(key, vocab, field) \
    aspw_get_word (b, key, vocab, &word, err, errlen) || ((self->field = word), 0)

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
s_decode_ready (aspw_msg_t *self, const msgpack_object *b, char *err, size_t errlen)
{
    return INT ("capacity", 0, ASPW_CAPACITY_MAX, capacity, ASPW_REQUIRED, NULL)
        || aspw_get_list (b, "skills", &self->skills, &self->nskills, err, errlen)
        || aspw_get_list (b, "regions", &self->regions, &self->nregions, err, errlen)
        || TEXT ("software", software, ASPW_OPTIONAL, NULL)
        || aspw_get_list_opt (b, "features", &self->features, &self->nfeatures, err, errlen);
}

//  ACCEPT, DECLINE: the platform answers an empty wo_id with
//  unknown_work_order, so only its type is checked here.
static int
s_decode_answer (aspw_msg_t *self, const msgpack_object *b, char *err, size_t errlen)
{
    if (TEXT ("wo_id", wo_id, ASPW_REQUIRED, NULL)
    ||  TEXT ("offer_id", offer_id, ASPW_REQUIRED, NULL))
        return -1;
    self->attempt = s_attempt (self->wo_id, self->offer_id);
    return self->id == ASPW_DECLINE? TEXT ("reason", reason, ASPW_OPTIONAL, NULL): 0;
}

static int
s_decode_progress (aspw_msg_t *self, const msgpack_object *b, char *err, size_t errlen)
{
    int word;
    return TEXT ("wo_id", wo_id, ASPW_REQUIRED, NULL)
        || INT ("seq", 1, INT32_MAX, seq, ASPW_REQUIRED, NULL)
        || WORD ("stage", &asp_vocab_stage, stage)
        || (self->has_stage = true, 0)
        || TEXT ("note", note, ASPW_OPTIONAL, &self->has_note)
        || INT ("appointment_ms", 0, INT64_MAX, appointment_ms, ASPW_OPTIONAL, &self->has_appointment)
        || INT ("end_ms", 0, INT64_MAX, end_ms, ASPW_OPTIONAL, &self->has_end)
        || TEXT ("part", part, ASPW_OPTIONAL, &self->has_part)
        || TEXT ("technician", technician, ASPW_OPTIONAL, &self->has_technician);
}

//  COMPLETE's resolution: a code of [a-z0-9_].
static int
s_decode_resolution (aspw_msg_t *self, const msgpack_object *b, char *err, size_t errlen)
{
    if (TEXT ("resolution", resolution, ASPW_OPTIONAL, &self->has_resolution))
        return -1;
    const char *r = self->resolution;
    if (self->has_resolution && (!*r || strspn (r, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen (r)))
        FAIL ("field 'resolution' must be 1..%d characters of [a-z0-9_]", ASPW_RESOLUTION_MAX);
    return 0;
}

//  COMPLETE's parts: [{part str, qty int}, ...].
static int
s_decode_parts (aspw_msg_t *self, const msgpack_object *b, char *err, size_t errlen)
{
    const msgpack_object *o = asp_mp_get (b, "parts");
    if (!o || o->type == MSGPACK_OBJECT_NIL)
        return 0;
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size > ASPW_PARTS_MAX)
        FAIL ("field 'parts' must be an array of at most %d maps", ASPW_PARTS_MAX);
    if (o->via.array.size == 0)
        return 0;
    self->parts = (aspw_part_t *) calloc (o->via.array.size, sizeof (aspw_part_t));
    assert (self->parts);
    for (uint32_t i = 0; i < o->via.array.size; i++) {
        const msgpack_object *e = &o->via.array.ptr [i];
        aspw_part_t *part = &self->parts [self->nparts++];
        bool ok = e->type == MSGPACK_OBJECT_MAP
               && asp_mp_get_str (e, "part", part->part, sizeof part->part) == 0 && *part->part
               && aspw_text_valid (part->part, strlen (part->part))
               && asp_mp_get_int (e, "qty", &part->qty) == 0 && part->qty >= 1 && part->qty <= ASPW_QTY_MAX;
        if (!ok)
            FAIL ("field 'parts' must hold maps {part: text of 1..%d bytes, qty: 1..%d}", ASPW_STR_MAX,
                  ASPW_QTY_MAX);
    }
    return 0;
}

static int
s_decode_complete (aspw_msg_t *self, const msgpack_object *b, char *err, size_t errlen)
{
    int word;
    return TEXT ("wo_id", wo_id, ASPW_REQUIRED, NULL)
        || WORD ("result", &asp_vocab_result, result)
        || TEXT ("note", note, ASPW_OPTIONAL, &self->has_note)
        || TEXT ("technician", technician, ASPW_OPTIONAL, &self->has_technician)
        || s_decode_resolution (self, b, err, errlen)
        || s_decode_parts (self, b, err, errlen)
        || INT ("fee", 0, ASPW_FEE_MAX, fee, ASPW_OPTIONAL, &self->has_fee);
}

//  UNABLE: the reason is a word of unable_reason, but never
//  partner_removed (the platform's own).
static int
s_decode_unable (aspw_msg_t *self, const msgpack_object *b, char *err, size_t errlen)
{
    int word;
    if (TEXT ("wo_id", wo_id, ASPW_REQUIRED, NULL)
    ||  WORD ("reason", &asp_vocab_unable_reason, unable)
    ||  TEXT ("note", note, ASPW_OPTIONAL, &self->has_note))
        return -1;
    if (self->unable == ASP_UNABLE_PARTNER_REMOVED)
        FAIL ("field 'reason' must not be partner_removed (the platform's own reason)");
    snprintf (self->reason, sizeof self->reason, "%s", asp_vocab_name (&asp_vocab_unable_reason, self->unable));
    return 0;
}

static int
s_decode_listed (aspw_msg_t *self, const msgpack_object *b, char *err, size_t errlen)
{
    return INT ("count", 0, INT32_MAX, listed_count, ASPW_REQUIRED, NULL)
        || INT ("assigned", 0, INT32_MAX, listed_assigned, ASPW_REQUIRED, NULL)
        || INT ("offered", 0, INT32_MAX, listed_offered, ASPW_REQUIRED, NULL);
}

static int
s_decode_welcome (aspw_msg_t *self, const msgpack_object *b, char *err, size_t errlen)
{
    return TEXT ("partner_id", partner_id, ASPW_NONEMPTY, NULL)
        || INT ("heartbeat_ms", 10, 3600000, heartbeat_ms, ASPW_REQUIRED, NULL)
        || INT ("liveness", 1, 100, liveness, ASPW_REQUIRED, NULL)
        || INT ("offer_timeout_ms", 0, 86400000, offer_timeout_ms, ASPW_REQUIRED, NULL)
        || aspw_get_list_opt (b, "features", &self->features, &self->nfeatures, err, errlen);
}

//  ASSIGNED's optional details: where the job stands.
static int
s_decode_details (aspw_msg_t *self, const msgpack_object *b, char *err, size_t errlen)
{
    int word;
    const msgpack_object *stage = asp_mp_get (b, "stage");
    if (stage && stage->type != MSGPACK_OBJECT_NIL) {
        if (WORD ("stage", &asp_vocab_stage, stage))
            return -1;
        self->has_stage = true;
    }
    return INT ("appointment_ms", 0, INT64_MAX, appointment_ms, ASPW_OPTIONAL, &self->has_appointment)
        || INT ("end_ms", 0, INT64_MAX, end_ms, ASPW_OPTIONAL, &self->has_end)
        || TEXT ("technician", technician, ASPW_OPTIONAL, &self->has_technician)
        || TEXT ("note", note, ASPW_OPTIONAL, &self->has_note);
}

//  OFFER and ASSIGNED: wo_id and offer_id first, so that a partner can
//  name (and decline) an offer whose other fields it cannot read.
static int
s_decode_job (aspw_msg_t *self, const msgpack_object *b, char *err, size_t errlen)
{
    int word;
    if (TEXT ("wo_id", wo_id, ASPW_NONEMPTY, NULL)
    ||  TEXT ("offer_id", offer_id, ASPW_NONEMPTY, NULL))
        return -1;
    self->attempt = s_attempt (self->wo_id, self->offer_id);
    if (TEXT ("ticket_id", ticket_id, ASPW_NONEMPTY, NULL)
    ||  WORD ("kind", &asp_vocab_kind, kind)
    ||  TEXT ("category", category, ASPW_REQUIRED, NULL)
    ||  TEXT ("region", region, ASPW_REQUIRED, NULL)
    ||  INT ("priority", 1, ASPW_PRIORITY_MAX, priority, ASPW_REQUIRED, NULL)
    ||  WORD ("tier", &asp_vocab_tier, tier)
    ||  TEXT ("summary", summary, ASPW_REQUIRED, NULL))
        return -1;
    if (self->id == ASPW_OFFER)
        return INT ("expires_ms", 0, 86400000, expires_ms, ASPW_REQUIRED, NULL);
    return INT ("seq", 0, INT32_MAX, seq, ASPW_OPTIONAL, NULL)
        || s_decode_details (self, b, err, errlen);
}

static int
s_decode_confirm (aspw_msg_t *self, const msgpack_object *b, char *err, size_t errlen)
{
    if (TEXT ("ref", ref, ASPW_REQUIRED, NULL))
        return -1;
    int ref = aspw_command_parse (self->ref);
    if (ref != ASPW_ACCEPT && ref != ASPW_DECLINE && ref != ASPW_PROGRESS && ref != ASPW_COMPLETE
    &&  ref != ASPW_UNABLE)
        FAIL ("field 'ref' must be one of ACCEPT, DECLINE, PROGRESS, COMPLETE, UNABLE");
    return TEXT ("wo_id", wo_id, ASPW_NONEMPTY, NULL)
        || TEXT ("offer_id", offer_id, ASPW_OPTIONAL, NULL)
        || INT ("seq", 1, INT32_MAX, seq, ref == ASPW_PROGRESS? ASPW_REQUIRED: ASPW_OPTIONAL, NULL)
        || aspw_get_bool (b, "duplicate", &self->duplicate, err, errlen);
}

static int
s_decode_error (aspw_msg_t *self, const msgpack_object *b, char *err, size_t errlen)
{
    return TEXT ("ref", ref, ASPW_REQUIRED, NULL)
        || TEXT ("wo_id", wo_id, ASPW_REQUIRED, NULL)
        || TEXT ("offer_id", offer_id, ASPW_OPTIONAL, NULL)
        || TEXT ("code", code, ASPW_NONEMPTY, NULL)
        || TEXT ("reason", reason, ASPW_REQUIRED, NULL)
        || INT ("seq", 0, INT32_MAX, seq, ASPW_OPTIONAL, NULL);
}

static int
s_decode_withdraw (aspw_msg_t *self, const msgpack_object *b, char *err, size_t errlen)
{
    return TEXT ("wo_id", wo_id, ASPW_NONEMPTY, NULL)
        || TEXT ("reason", reason, ASPW_REQUIRED, NULL);
}

static int
s_decode_disconnect (aspw_msg_t *self, const msgpack_object *b, aspw_sender_t sender)
{
    //  The platform's reason is informative: whatever it says, the partner
    //  must reconnect, so a malformed one does not void the DISCONNECT.
    if (sender == ASPW_FROM_PLATFORM && asp_mp_get_str (b, "reason", self->reason, sizeof self->reason) != 0)
        snprintf (self->reason, sizeof self->reason, "(none)");
    return 0;
}

static int
s_fields (aspw_msg_t *self, const msgpack_object *b, aspw_sender_t sender, char *err, size_t errlen)
{
    switch (self->id) {
        case ASPW_READY:        return s_decode_ready (self, b, err, errlen);
        case ASPW_ACCEPT:
        case ASPW_DECLINE:      return s_decode_answer (self, b, err, errlen);
        case ASPW_PROGRESS:     return s_decode_progress (self, b, err, errlen);
        case ASPW_COMPLETE:     return s_decode_complete (self, b, err, errlen);
        case ASPW_WELCOME:      return s_decode_welcome (self, b, err, errlen);
        case ASPW_OFFER:
        case ASPW_ASSIGNED:     return s_decode_job (self, b, err, errlen);
        case ASPW_CONFIRM:      return s_decode_confirm (self, b, err, errlen);
        case ASPW_ERROR:        return s_decode_error (self, b, err, errlen);
        case ASPW_WITHDRAW:     return s_decode_withdraw (self, b, err, errlen);
        case ASPW_DISCONNECT:   return s_decode_disconnect (self, b, sender);
        case ASPW_UNABLE:       return s_decode_unable (self, b, err, errlen);
        case ASPW_LISTED:       return s_decode_listed (self, b, err, errlen);
        default:                return 0;
    }
}

//  Keeps the command name when it looks like one, for an ERROR's ref.
static void
s_name (aspw_msg_t *self, zframe_t *cmd)
{
    if (!cmd || zframe_size (cmd) == 0 || zframe_size (cmd) > ASPW_NAME_MAX)
        return;
    const char *p = (const char *) zframe_data (cmd);
    size_t n = zframe_size (cmd), i = 0;
    while (i < n && ((p [i] >= 'A' && p [i] <= 'Z') || p [i] == '_'))
        i++;
    if (i == n) {
        memcpy (self->name, p, n);
        self->name [n] = 0;
    }
}

int
aspw_msg_decode (aspw_msg_t *self, zmsg_t *msg, aspw_sender_t sender, char *err, size_t errlen)
{
    aspw_msg_reset (self, ASPW_HEARTBEAT);
    size_t frames = zmsg_size (msg);
    zframe_t *sig = zmsg_first (msg);
    zframe_t *cmd = zmsg_next (msg);
    zframe_t *body = zmsg_next (msg);
    s_name (self, cmd);
    if (frames != 3)
        FAIL ("expected 3 frames (signature, command, body), got %zu", frames);
    if (zmsg_content_size (msg) > ASPW_MSG_MAX)
        FAIL ("message of %zu bytes exceeds the %d byte limit", zmsg_content_size (msg), ASPW_MSG_MAX);
    if (zframe_size (sig) != strlen (ASPW_SIGNATURE)
    ||  memcmp (zframe_data (sig), ASPW_SIGNATURE, strlen (ASPW_SIGNATURE)) != 0)
        FAIL ("bad protocol signature (expected %s)", ASPW_SIGNATURE);
    int id = *self->name? aspw_command_parse (self->name): -1;
    int mask = sender == ASPW_FROM_PARTNER? BY_PARTNER: BY_PLATFORM;
    if (id < 0 || !(s_commands [id].senders & mask))
        FAIL ("unknown command '%s'", self->name);
    self->id = (aspw_command_t) id;

    msgpack_unpacked u;
    msgpack_unpacked_init (&u);
    char why [160];
    int rc = -1;
    if (asp_mp_unpack (&u, zframe_data (body), zframe_size (body), why, sizeof why))
        snprintf (err, errlen, "bad msgpack body: %s", why);
    else
    if (u.data.type != MSGPACK_OBJECT_MAP)
        snprintf (err, errlen, "body must be a msgpack map");
    else {
        rc = 0;
        for (uint32_t k = 0; k < u.data.via.map.size && rc == 0; k++)
            if (u.data.via.map.ptr [k].key.type != MSGPACK_OBJECT_STR) {
                snprintf (err, errlen, "body keys must be strings");
                rc = -1;
            }
        if (rc == 0)
            rc = s_fields (self, &u.data, sender, err, errlen)? -1: 0;
    }
    msgpack_unpacked_destroy (&u);
    return rc;
}

//  --------------------------------------------------------------------------
//  Encoders, one per command

static void
s_encode_ready (const aspw_msg_t *self, asp_mpmap_t *m)
{
    asp_mpmap_int (m, "capacity", self->capacity);
    asp_mpmap_strv (m, "skills", (const char **) self->skills, self->nskills);
    asp_mpmap_strv (m, "regions", (const char **) self->regions, self->nregions);
    if (*self->software)
        asp_mpmap_str (m, "software", self->software);
    if (self->nfeatures)
        asp_mpmap_strv (m, "features", (const char **) self->features, self->nfeatures);
}

static void
s_encode_answer (const aspw_msg_t *self, asp_mpmap_t *m)
{
    asp_mpmap_str (m, "wo_id", self->wo_id);
    asp_mpmap_str (m, "offer_id", self->offer_id);
    if (self->id == ASPW_DECLINE && *self->reason)
        asp_mpmap_str (m, "reason", self->reason);
}

//  The optional keys PROGRESS, COMPLETE and ASSIGNED share, when set.
static void
s_encode_optional (const aspw_msg_t *self, asp_mpmap_t *m)
{
    if (self->has_note)
        asp_mpmap_str (m, "note", self->note);
    if (self->has_appointment)
        asp_mpmap_int (m, "appointment_ms", self->appointment_ms);
    if (self->has_end)
        asp_mpmap_int (m, "end_ms", self->end_ms);
    if (self->has_technician)
        asp_mpmap_str (m, "technician", self->technician);
}

static void
s_encode_progress (const aspw_msg_t *self, asp_mpmap_t *m)
{
    asp_mpmap_str (m, "wo_id", self->wo_id);
    asp_mpmap_int (m, "seq", self->seq);
    asp_mpmap_str (m, "stage", asp_vocab_name (&asp_vocab_stage, self->stage));
    s_encode_optional (self, m);
    if (self->has_part)
        asp_mpmap_str (m, "part", self->part);
}

//  COMPLETE's parts as an array of {part, qty} maps.
static void
s_encode_parts (const aspw_msg_t *self, asp_mpmap_t *m)
{
    msgpack_object_kv *kv = (msgpack_object_kv *) calloc (2 * self->nparts, sizeof *kv);
    msgpack_object *maps = (msgpack_object *) calloc (self->nparts, sizeof *maps);
    assert (kv && maps);
    for (size_t i = 0; i < self->nparts; i++) {
        msgpack_object_kv *e = &kv [2 * i];
        e [0].key.type = e [1].key.type = MSGPACK_OBJECT_STR;
        e [0].key.via.str.ptr = "part";
        e [0].key.via.str.size = 4;
        e [0].val.type = MSGPACK_OBJECT_STR;
        e [0].val.via.str.ptr = self->parts [i].part;
        e [0].val.via.str.size = (uint32_t) strlen (self->parts [i].part);
        e [1].key.via.str.ptr = "qty";
        e [1].key.via.str.size = 3;
        e [1].val.type = MSGPACK_OBJECT_POSITIVE_INTEGER;
        e [1].val.via.u64 = (uint64_t) self->parts [i].qty;
        maps [i].type = MSGPACK_OBJECT_MAP;
        maps [i].via.map.size = 2;
        maps [i].via.map.ptr = e;
    }
    msgpack_object array = { .type = MSGPACK_OBJECT_ARRAY };
    array.via.array.size = (uint32_t) self->nparts;
    array.via.array.ptr = maps;
    asp_mpmap_obj (m, "parts", &array);
    free (maps);
    free (kv);
}

static void
s_encode_complete (const aspw_msg_t *self, asp_mpmap_t *m)
{
    asp_mpmap_str (m, "wo_id", self->wo_id);
    asp_mpmap_str (m, "result", asp_vocab_name (&asp_vocab_result, self->result));
    s_encode_optional (self, m);
    if (self->has_resolution)
        asp_mpmap_str (m, "resolution", self->resolution);
    if (self->nparts)
        s_encode_parts (self, m);
    if (self->has_fee)
        asp_mpmap_int (m, "fee", self->fee);
}

static void
s_encode_unable (const aspw_msg_t *self, asp_mpmap_t *m)
{
    asp_mpmap_str (m, "wo_id", self->wo_id);
    asp_mpmap_str (m, "reason", asp_vocab_name (&asp_vocab_unable_reason, self->unable));
    if (self->has_note)
        asp_mpmap_str (m, "note", self->note);
}

static void
s_encode_listed (const aspw_msg_t *self, asp_mpmap_t *m)
{
    asp_mpmap_int (m, "count", self->listed_count);
    asp_mpmap_int (m, "assigned", self->listed_assigned);
    asp_mpmap_int (m, "offered", self->listed_offered);
}

static void
s_encode_welcome (const aspw_msg_t *self, asp_mpmap_t *m)
{
    asp_mpmap_str (m, "partner_id", self->partner_id);
    asp_mpmap_int (m, "heartbeat_ms", self->heartbeat_ms);
    asp_mpmap_int (m, "liveness", self->liveness);
    asp_mpmap_int (m, "offer_timeout_ms", self->offer_timeout_ms);
    if (self->nfeatures)
        asp_mpmap_strv (m, "features", (const char **) self->features, self->nfeatures);
}

static void
s_encode_job (const aspw_msg_t *self, asp_mpmap_t *m)
{
    asp_mpmap_str (m, "wo_id", self->wo_id);
    asp_mpmap_str (m, "offer_id", self->offer_id);
    asp_mpmap_str (m, "ticket_id", self->ticket_id);
    asp_mpmap_str (m, "kind", asp_vocab_name (&asp_vocab_kind, self->kind));
    asp_mpmap_str (m, "category", self->category);
    asp_mpmap_str (m, "region", self->region);
    asp_mpmap_int (m, "priority", self->priority);
    asp_mpmap_str (m, "tier", asp_vocab_name (&asp_vocab_tier, self->tier));
    asp_mpmap_str (m, "summary", self->summary);
    if (self->id == ASPW_OFFER) {
        asp_mpmap_int (m, "expires_ms", self->expires_ms);
        return;
    }
    asp_mpmap_int (m, "seq", self->seq);
    //  ASSIGNED's details: new optional keys (an ASPW/1 partner that does
    //  not know them ignores them).
    if (self->has_stage)
        asp_mpmap_str (m, "stage", asp_vocab_name (&asp_vocab_stage, self->stage));
    s_encode_optional (self, m);
}

//  CONFIRM and ERROR: the answered command's ref and wo_id, and its
//  offer_id and seq when it had them.
static void
s_encode_answered (const aspw_msg_t *self, asp_mpmap_t *m)
{
    asp_mpmap_str (m, "ref", self->ref);
    asp_mpmap_str (m, "wo_id", self->wo_id);
    if (*self->offer_id)
        asp_mpmap_str (m, "offer_id", self->offer_id);
    if (self->seq > 0)
        asp_mpmap_int (m, "seq", self->seq);
    if (self->id == ASPW_CONFIRM)
        asp_mpmap_bool (m, "duplicate", self->duplicate);
    else {
        asp_mpmap_str (m, "code", self->code);
        asp_mpmap_str (m, "reason", self->reason);
    }
}

static void
s_encode_withdraw (const aspw_msg_t *self, asp_mpmap_t *m)
{
    asp_mpmap_str (m, "wo_id", self->wo_id);
    asp_mpmap_str (m, "reason", self->reason);
}

static void
s_encode_disconnect (const aspw_msg_t *self, asp_mpmap_t *m)
{
    if (*self->reason)
        asp_mpmap_str (m, "reason", self->reason);
}

void
aspw_msg_encode (const aspw_msg_t *self, char **data, size_t *size)
{
    asp_mpmap_t *m = asp_mpmap_new ();
    switch (self->id) {
        case ASPW_READY:        s_encode_ready (self, m); break;
        case ASPW_ACCEPT:
        case ASPW_DECLINE:      s_encode_answer (self, m); break;
        case ASPW_PROGRESS:     s_encode_progress (self, m); break;
        case ASPW_COMPLETE:     s_encode_complete (self, m); break;
        case ASPW_WELCOME:      s_encode_welcome (self, m); break;
        case ASPW_OFFER:
        case ASPW_ASSIGNED:     s_encode_job (self, m); break;
        case ASPW_CONFIRM:
        case ASPW_ERROR:        s_encode_answered (self, m); break;
        case ASPW_WITHDRAW:     s_encode_withdraw (self, m); break;
        case ASPW_DISCONNECT:   s_encode_disconnect (self, m); break;
        case ASPW_UNABLE:       s_encode_unable (self, m); break;
        case ASPW_LISTED:       s_encode_listed (self, m); break;
        default:                break;
    }
    asp_mpmap_bytes (m, data, size);
    asp_mpmap_destroy (&m);
}

int
aspw_send_body (zsock_t *sock, const void *rid, size_t rid_len, aspw_command_t id,
                const char *body, size_t size)
{
    static const char empty_map [1] = { (char) 0x80 };
    const char *name = aspw_command_name (id);
    void *handle = zsock_resolve (sock);
    //  Only the first part can fail with EHOSTUNREACH (gone) or EAGAIN
    //  (full); once it is accepted the other parts of the message are too.
    int rc = 0;
    if (rid_len)
        rc = zmq_send (handle, rid, rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    if (rc != -1)
        rc = zmq_send (handle, ASPW_SIGNATURE, strlen (ASPW_SIGNATURE), ZMQ_SNDMORE | ZMQ_DONTWAIT);
    if (rc != -1) {
        zmq_send (handle, name, strlen (name), ZMQ_SNDMORE | ZMQ_DONTWAIT);
        rc = zmq_send (handle, body? body: empty_map, body? size: 1, ZMQ_DONTWAIT);
    }
    return rc == -1? -1: 0;
}

int
aspw_msg_send (const aspw_msg_t *self, zsock_t *sock, const void *rid, size_t rid_len)
{
    if (self->id == ASPW_HEARTBEAT || (self->id == ASPW_DISCONNECT && !*self->reason))
        return aspw_send_body (sock, rid, rid_len, self->id, NULL, 0);
    char *data;
    size_t size;
    aspw_msg_encode (self, &data, &size);
    int rc = aspw_send_body (sock, rid, rid_len, self->id, data, size);
    int saved = errno;
    free (data);
    errno = saved;
    return rc;
}

//  --------------------------------------------------------------------------
//  Self test

static zmsg_t *
s_frames (const char *sig, const char *cmd, const void *body, size_t size)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, sig);
    zmsg_addstr (msg, cmd);
    zmsg_addmem (msg, body, size);
    return msg;
}

static zmsg_t *
s_map_msg (const char *cmd, asp_mpmap_t **map_p)
{
    char *data;
    size_t size;
    asp_mpmap_bytes (*map_p, &data, &size);
    asp_mpmap_destroy (map_p);
    zmsg_t *msg = s_frames (ASPW_SIGNATURE, cmd, data, size);
    free (data);
    return msg;
}

//  Decodes and destroys msg.
static int
s_try (aspw_msg_t *m, zmsg_t *msg, aspw_sender_t sender, char *err, size_t errlen)
{
    int rc = aspw_msg_decode (m, msg, sender, err, errlen);
    zmsg_destroy (&msg);
    return rc;
}

//  Encodes src, decodes the result as sent by sender into dst.
static void
s_round_trip (const aspw_msg_t *src, aspw_msg_t *dst, aspw_sender_t sender)
{
    char *data, err [200];
    size_t size;
    aspw_msg_encode (src, &data, &size);
    zmsg_t *msg = s_frames (ASPW_SIGNATURE, aspw_command_name (src->id), data, size);
    free (data);
    int rc = s_try (dst, msg, sender, err, sizeof err);
    if (rc)
        fprintf (stderr, "aspw_proto test: %s: %s\n", aspw_command_name (src->id), err);
    assert (rc == 0 && dst->id == src->id);
}

static void
s_test_round_trips (void)
{
    aspw_msg_t *m = aspw_msg_new (ASPW_READY), *d = aspw_msg_new (ASPW_HEARTBEAT);
    const char *skills [] = { "heater", "ac" };
    m->capacity = 5;
    m->skills = (char **) skills;
    m->nskills = 2;
    m->regions = (char **) skills + 1;
    m->nregions = 1;
    s_round_trip (m, d, ASPW_FROM_PARTNER);
    assert (d->capacity == 5 && d->nskills == 2 && streq (d->regions [0], "ac") && !*d->software);
    m->skills = m->regions = NULL;          //  borrowed above
    m->nskills = m->nregions = 0;

    aspw_msg_reset (m, ASPW_PROGRESS);
    snprintf (m->wo_id, sizeof m->wo_id, "WT1");
    m->seq = 2;
    m->stage = ASP_STAGE_WAITING_PARTS;
    m->has_note = true;
    snprintf (m->note, sizeof m->note, "技师已到");
    s_round_trip (m, d, ASPW_FROM_PARTNER);
    assert (d->seq == 2 && d->stage == ASP_STAGE_WAITING_PARTS && d->has_note && !d->has_appointment);
    assert (streq (d->note, "技师已到"));

    aspw_msg_reset (m, ASPW_COMPLETE);
    snprintf (m->wo_id, sizeof m->wo_id, "WT1");
    m->result = ASP_RESULT_NOT_FIXED;
    s_round_trip (m, d, ASPW_FROM_PARTNER);
    assert (d->result == ASP_RESULT_NOT_FIXED && !d->has_note && !d->has_technician);

    aspw_msg_reset (m, ASPW_OFFER);
    snprintf (m->wo_id, sizeof m->wo_id, "WT9");
    snprintf (m->offer_id, sizeof m->offer_id, "WT9.3");
    snprintf (m->ticket_id, sizeof m->ticket_id, "T9");
    m->kind = ASP_KIND_INSTALLATION;
    m->tier = ASP_TIER_EXPRESS;
    m->priority = 5;
    m->expires_ms = 1000;
    s_round_trip (m, d, ASPW_FROM_PLATFORM);
    assert (d->kind == ASP_KIND_INSTALLATION && d->tier == ASP_TIER_EXPRESS && d->attempt == 3);
    assert (d->expires_ms == 1000 && !*d->category && streq (d->ticket_id, "T9"));
    m->id = ASPW_ASSIGNED;
    m->seq = 4;
    s_round_trip (m, d, ASPW_FROM_PLATFORM);
    assert (d->seq == 4 && d->expires_ms == 0);

    aspw_msg_reset (m, ASPW_CONFIRM);
    snprintf (m->ref, sizeof m->ref, "PROGRESS");
    snprintf (m->wo_id, sizeof m->wo_id, "WT1");
    m->seq = 7;
    m->duplicate = true;
    s_round_trip (m, d, ASPW_FROM_PLATFORM);
    assert (d->seq == 7 && d->duplicate && !*d->offer_id);
    aspw_msg_reset (m, ASPW_ERROR);
    snprintf (m->ref, sizeof m->ref, "FLY");
    snprintf (m->code, sizeof m->code, "bad_message");
    snprintf (m->reason, sizeof m->reason, "unknown command 'FLY'");
    s_round_trip (m, d, ASPW_FROM_PLATFORM);
    assert (streq (d->ref, "FLY") && !*d->wo_id && streq (d->code, "bad_message"));

    aspw_msg_reset (m, ASPW_WELCOME);
    snprintf (m->partner_id, sizeof m->partner_id, "P1");
    m->heartbeat_ms = 1000;
    m->liveness = 3;
    m->offer_timeout_ms = 10000;
    s_round_trip (m, d, ASPW_FROM_PLATFORM);
    assert (streq (d->partner_id, "P1") && d->liveness == 3);
    aspw_msg_reset (m, ASPW_DISCONNECT);
    s_round_trip (m, d, ASPW_FROM_PLATFORM);
    assert (streq (d->reason, "(none)"));
    aspw_msg_destroy (&m);
    aspw_msg_destroy (&d);
}

//  The extensions: features, drain, LIST/LISTED, UNABLE, the details of
//  PROGRESS, COMPLETE and ASSIGNED.
static void
s_test_extensions (void)
{
    aspw_msg_t *m = aspw_msg_new (ASPW_READY), *d = aspw_msg_new (ASPW_HEARTBEAT);
    const char *any [] = { "*" }, *features [] = { "list", "unable", "teleport" };
    aspw_strv_set (&m->skills, &m->nskills, any, 1);
    aspw_strv_set (&m->regions, &m->nregions, any, 1);
    s_round_trip (m, d, ASPW_FROM_PARTNER);
    assert (d->nfeatures == 0 && d->features == NULL);     //  a first-ASPW/1 READY
    m->capacity = 0;                                        //  drain
    aspw_strv_set (&m->features, &m->nfeatures, features, 3);
    s_round_trip (m, d, ASPW_FROM_PARTNER);
    assert (d->capacity == 0 && d->nfeatures == 3 && aspw_strv_has (d->features, d->nfeatures, "teleport"));
    assert (!aspw_strv_has (d->features, d->nfeatures, "detail"));

    aspw_msg_reset (m, ASPW_WELCOME);
    snprintf (m->partner_id, sizeof m->partner_id, "P1");
    m->heartbeat_ms = 1000;
    m->liveness = 3;
    aspw_strv_set (&m->features, &m->nfeatures, features, 2);
    s_round_trip (m, d, ASPW_FROM_PLATFORM);
    assert (d->nfeatures == 2 && streq (d->features [1], "unable"));

    aspw_msg_reset (m, ASPW_LIST);
    s_round_trip (m, d, ASPW_FROM_PARTNER);
    aspw_msg_reset (m, ASPW_LISTED);
    m->listed_count = 3;
    m->listed_assigned = 2;
    m->listed_offered = 1;
    s_round_trip (m, d, ASPW_FROM_PLATFORM);
    assert (d->listed_count == 3 && d->listed_assigned == 2 && d->listed_offered == 1);

    aspw_msg_reset (m, ASPW_UNABLE);
    snprintf (m->wo_id, sizeof m->wo_id, "WT1");
    m->unable = ASP_UNABLE_NO_PARTS;
    m->has_note = true;
    snprintf (m->note, sizeof m->note, "压缩机缺货");
    s_round_trip (m, d, ASPW_FROM_PARTNER);
    assert (d->unable == ASP_UNABLE_NO_PARTS && streq (d->reason, "no_parts") && d->has_note);
    m->unable = ASP_UNABLE_PARTNER_REMOVED;                 //  the platform's own word
    char *data, err [200];
    size_t size;
    aspw_msg_encode (m, &data, &size);
    assert (s_try (d, s_frames (ASPW_SIGNATURE, "UNABLE", data, size), ASPW_FROM_PARTNER, err, sizeof err) == -1);
    free (data);
    assert (s_try (d, s_frames (ASPW_SIGNATURE, "UNABLE", "\x80", 1), ASPW_FROM_PLATFORM, err, sizeof err) == -1);

    aspw_msg_reset (m, ASPW_PROGRESS);
    snprintf (m->wo_id, sizeof m->wo_id, "WT1");
    m->seq = 3;
    m->stage = ASP_STAGE_SCHEDULED;
    m->has_appointment = m->has_end = m->has_part = m->has_technician = true;
    m->appointment_ms = 1800000000000;
    m->end_ms = 1800000000000 + 7200000;
    snprintf (m->part, sizeof m->part, "PCB-7");
    snprintf (m->technician, sizeof m->technician, "T-9");
    s_round_trip (m, d, ASPW_FROM_PARTNER);
    assert (d->has_end && d->end_ms == m->end_ms && d->appointment_ms == m->appointment_ms);
    assert (streq (d->part, "PCB-7") && streq (d->technician, "T-9") && d->has_stage);

    aspw_msg_reset (m, ASPW_COMPLETE);
    snprintf (m->wo_id, sizeof m->wo_id, "WT1");
    m->result = ASP_RESULT_FIXED;
    m->has_resolution = m->has_fee = true;
    snprintf (m->resolution, sizeof m->resolution, "replaced_board");
    m->fee = 15000;
    m->parts = (aspw_part_t *) calloc (2, sizeof (aspw_part_t));
    m->nparts = 2;
    snprintf (m->parts [0].part, sizeof m->parts [0].part, "PCB-7");
    m->parts [0].qty = 1;
    snprintf (m->parts [1].part, sizeof m->parts [1].part, "螺丝");
    m->parts [1].qty = 1000;
    s_round_trip (m, d, ASPW_FROM_PARTNER);
    assert (streq (d->resolution, "replaced_board") && d->fee == 15000 && d->nparts == 2);
    assert (streq (d->parts [1].part, "螺丝") && d->parts [1].qty == 1000);
    m->parts [1].qty = 1001;
    aspw_msg_encode (m, &data, &size);
    assert (s_try (d, s_frames (ASPW_SIGNATURE, "COMPLETE", data, size), ASPW_FROM_PARTNER, err, sizeof err) == -1);
    assert (strstr (err, "parts"));
    free (data);
    m->parts [1].qty = 1;
    snprintf (m->resolution, sizeof m->resolution, "Replaced");
    aspw_msg_encode (m, &data, &size);
    assert (s_try (d, s_frames (ASPW_SIGNATURE, "COMPLETE", data, size), ASPW_FROM_PARTNER, err, sizeof err) == -1);
    assert (strstr (err, "resolution"));
    free (data);
    snprintf (m->resolution, sizeof m->resolution, "ok");
    m->fee = ASPW_FEE_MAX + 1;
    aspw_msg_encode (m, &data, &size);
    assert (s_try (d, s_frames (ASPW_SIGNATURE, "COMPLETE", data, size), ASPW_FROM_PARTNER, err, sizeof err) == -1);
    assert (strstr (err, "fee"));
    free (data);

    aspw_msg_reset (m, ASPW_ASSIGNED);
    snprintf (m->wo_id, sizeof m->wo_id, "WT9");
    snprintf (m->offer_id, sizeof m->offer_id, "WT9.1");
    snprintf (m->ticket_id, sizeof m->ticket_id, "T9");
    m->priority = 1;
    m->seq = 2;
    s_round_trip (m, d, ASPW_FROM_PLATFORM);
    assert (!d->has_stage && !d->has_appointment && !d->has_note);  //  details are optional
    m->has_stage = m->has_appointment = m->has_end = m->has_technician = m->has_note = true;
    m->stage = ASP_STAGE_ON_SITE;
    m->appointment_ms = 5;
    m->end_ms = 6;
    snprintf (m->technician, sizeof m->technician, "T-9");
    snprintf (m->note, sizeof m->note, "门铃坏了");
    s_round_trip (m, d, ASPW_FROM_PLATFORM);
    assert (d->has_stage && d->stage == ASP_STAGE_ON_SITE && d->end_ms == 6 && streq (d->note, "门铃坏了"));

    aspw_msg_reset (m, ASPW_CONFIRM);
    snprintf (m->ref, sizeof m->ref, "UNABLE");
    snprintf (m->wo_id, sizeof m->wo_id, "WT1");
    s_round_trip (m, d, ASPW_FROM_PLATFORM);
    assert (streq (d->ref, "UNABLE"));
    aspw_msg_destroy (&m);
    aspw_msg_destroy (&d);
}

static void
s_test_refusals (void)
{
    aspw_msg_t *m = aspw_msg_new (ASPW_HEARTBEAT);
    char err [200];
    const char *skills [] = { "heater", "*" };
    asp_mpmap_t *b;
#define REFUSED(msg, sender, text) \
    do { err [0] = 0; assert (s_try (m, msg, sender, err, sizeof err) == -1); \
         if (!strstr (err, text)) fprintf (stderr, "aspw_proto test: '%s' lacks '%s'\n", err, text); \
         assert (strstr (err, text)); } while (0)

    //  Framing, signature, size, command names and directions.
    REFUSED (s_frames ("ASPW2", "HEARTBEAT", "\x80", 1), ASPW_FROM_PARTNER, "signature");
    assert (streq (m->name, "HEARTBEAT"));
    REFUSED (s_frames ("ASPW1", "FLY", "\x80", 1), ASPW_FROM_PARTNER, "unknown command 'FLY'");
    assert (streq (m->name, "FLY"));
    REFUSED (s_frames ("ASPW1", "ready", "\x80", 1), ASPW_FROM_PARTNER, "unknown command");
    assert (!*m->name);
    zmsg_t *nul = zmsg_new ();
    zmsg_addstr (nul, "ASPW1");
    zmsg_addmem (nul, "READY\0", 6);
    zmsg_addmem (nul, "\x80", 1);
    REFUSED (nul, ASPW_FROM_PARTNER, "unknown command");
    REFUSED (s_frames ("ASPW1", "WELCOME", "\x80", 1), ASPW_FROM_PARTNER, "unknown command");
    REFUSED (s_frames ("ASPW1", "READY", "\x80", 1), ASPW_FROM_PLATFORM, "unknown command");
    REFUSED (s_frames ("ASPW1", "ABCDEFGHIJKLMNOPQ", "\x80", 1), ASPW_FROM_PLATFORM, "unknown");
    zmsg_t *two = zmsg_new ();
    zmsg_addstr (two, "ASPW1");
    zmsg_addstr (two, "HEARTBEAT");
    REFUSED (two, ASPW_FROM_PARTNER, "frames");
    zmsg_t *four = s_frames ("ASPW1", "HEARTBEAT", "\x80", 1);
    zmsg_addstr (four, "x");
    REFUSED (four, ASPW_FROM_PARTNER, "frames");
    char *big = (char *) calloc (1, ASPW_MSG_MAX + 1);
    assert (big);
    REFUSED (s_frames ("ASPW1", "HEARTBEAT", big, ASPW_MSG_MAX), ASPW_FROM_PARTNER, "limit");
    free (big);

    //  Bodies: the msgpack-c #1013 bomb, truncations, not a map, bad keys.
    REFUSED (s_frames ("ASPW1", "HEARTBEAT", "\xdd\xff\x00\x00\x00", 5), ASPW_FROM_PARTNER, "msgpack");
    REFUSED (s_frames ("ASPW1", "HEARTBEAT", "", 0), ASPW_FROM_PARTNER, "msgpack");
    REFUSED (s_frames ("ASPW1", "HEARTBEAT", "\x90", 1), ASPW_FROM_PARTNER, "map");
    REFUSED (s_frames ("ASPW1", "HEARTBEAT", "\x81\x01\x02", 3), ASPW_FROM_PARTNER, "keys");
    REFUSED (s_frames ("ASPW1", "HEARTBEAT", "\x80\x80", 2), ASPW_FROM_PARTNER, "msgpack");

    //  Every truncation of a good PROGRESS is refused, none crashes.
    b = asp_mpmap_new ();
    asp_mpmap_str (b, "wo_id", "WT1");
    asp_mpmap_int (b, "seq", 3);
    asp_mpmap_str (b, "stage", "on_site");
    asp_mpmap_str (b, "note", "走了");
    char *data;
    size_t size;
    asp_mpmap_bytes (b, &data, &size);
    asp_mpmap_destroy (&b);
    assert (s_try (m, s_frames ("ASPW1", "PROGRESS", data, size), ASPW_FROM_PARTNER, err, sizeof err) == 0);
    for (size_t n = 0; n < size; n++)
        assert (s_try (m, s_frames ("ASPW1", "PROGRESS", data, n), ASPW_FROM_PARTNER, err, sizeof err) == -1);
    free (data);

    //  Fields: missing, wrong types, out of range, oversized, bad words.
    b = asp_mpmap_new ();
    asp_mpmap_int (b, "capacity", ASPW_CAPACITY_MAX + 1);
    asp_mpmap_strv (b, "skills", skills, 2);
    asp_mpmap_strv (b, "regions", skills, 2);
    REFUSED (s_map_msg ("READY", &b), ASPW_FROM_PARTNER, "capacity");
    b = asp_mpmap_new ();
    asp_mpmap_int (b, "capacity", 3);
    REFUSED (s_map_msg ("READY", &b), ASPW_FROM_PARTNER, "field 'skills' is required");
    const char *many [ASPW_LIST_MAX + 1];
    for (int i = 0; i <= ASPW_LIST_MAX; i++)
        many [i] = "x";
    b = asp_mpmap_new ();
    asp_mpmap_int (b, "capacity", 3);
    asp_mpmap_strv (b, "skills", many, ASPW_LIST_MAX + 1);
    REFUSED (s_map_msg ("READY", &b), ASPW_FROM_PARTNER, "skills");
    b = asp_mpmap_new ();
    asp_mpmap_str (b, "wo_id", "WT1");
    asp_mpmap_int (b, "seq", 1);
    asp_mpmap_str (b, "stage", "dancing");
    REFUSED (s_map_msg ("PROGRESS", &b), ASPW_FROM_PARTNER, "one of scheduled, on_the_way");
    assert (streq (m->wo_id, "WT1") && m->seq == 1);        //  kept for the ERROR's echo
    b = asp_mpmap_new ();
    asp_mpmap_str (b, "wo_id", "WT1");
    asp_mpmap_str (b, "seq", "1");
    REFUSED (s_map_msg ("PROGRESS", &b), ASPW_FROM_PARTNER, "'seq' must be an integer");
    b = asp_mpmap_new ();
    asp_mpmap_int (b, "wo_id", 5);
    REFUSED (s_map_msg ("COMPLETE", &b), ASPW_FROM_PARTNER, "wo_id");
    b = asp_mpmap_new ();
    asp_mpmap_str (b, "wo_id", "W\xff\xfe");
    REFUSED (s_map_msg ("COMPLETE", &b), ASPW_FROM_PARTNER, "UTF-8");
    assert (!*m->wo_id);                    //  invalid text is never kept
    b = asp_mpmap_new ();
    asp_mpmap_strn (b, "wo_id", "W1\0W2", 5);
    asp_mpmap_str (b, "result", "fixed");
    REFUSED (s_map_msg ("COMPLETE", &b), ASPW_FROM_PARTNER, "wo_id");
    b = asp_mpmap_new ();
    asp_mpmap_str (b, "wo_id", "WT1");
    asp_mpmap_strn (b, "result", "fixed\0", 6);
    REFUSED (s_map_msg ("COMPLETE", &b), ASPW_FROM_PARTNER, "result");
    char note [ASPW_NOTE_MAX + 2];
    memset (note, 'n', sizeof note - 1);
    note [sizeof note - 1] = 0;
    b = asp_mpmap_new ();
    asp_mpmap_str (b, "wo_id", "WT1");
    asp_mpmap_str (b, "result", "fixed");
    asp_mpmap_str (b, "note", note);
    REFUSED (s_map_msg ("COMPLETE", &b), ASPW_FROM_PARTNER, "at most 2000 bytes");
    b = asp_mpmap_new ();
    asp_mpmap_str (b, "wo_id", "WT1");
    asp_mpmap_str (b, "offer_id", "WT1.1");
    asp_mpmap_str (b, "ticket_id", "T1");
    REFUSED (s_map_msg ("OFFER", &b), ASPW_FROM_PLATFORM, "field 'kind' is required");
    assert (streq (m->wo_id, "WT1") && streq (m->offer_id, "WT1.1"));
    b = asp_mpmap_new ();
    asp_mpmap_str (b, "ref", "OFFER");
    REFUSED (s_map_msg ("CONFIRM", &b), ASPW_FROM_PLATFORM, "ref");
    b = asp_mpmap_new ();
    asp_mpmap_str (b, "partner_id", "P1");
    asp_mpmap_str (b, "heartbeat_ms", "fast");
    REFUSED (s_map_msg ("WELCOME", &b), ASPW_FROM_PLATFORM, "heartbeat_ms");

    //  Unknown keys are ignored; offer_id names its attempt.
    b = asp_mpmap_new ();
    asp_mpmap_str (b, "wo_id", "WT1");
    asp_mpmap_str (b, "offer_id", "WT1.12");
    asp_mpmap_str (b, "future_key", "ignored");
    assert (s_try (m, s_map_msg ("ACCEPT", &b), ASPW_FROM_PARTNER, err, sizeof err) == 0);
    assert (m->id == ASPW_ACCEPT && m->attempt == 12);
    assert (s_attempt ("WT1", "WT1.0") == 0 && s_attempt ("WT1", "WT2.1") == 0);
    assert (s_attempt ("WT1", "WT1.") == 0 && s_attempt ("WT1", "WT1.3x") == 0);
    assert (s_attempt ("", ".1") == 0 && s_attempt ("WT1", "WT1.1234567890") == 0);
    aspw_msg_destroy (&m);
#undef REFUSED
}

//  Random bytes, and random mutations of good messages: refused or
//  accepted, never a crash, a leak or a sanitizer report.
static void
s_test_random (void)
{
    aspw_msg_t *m = aspw_msg_new (ASPW_HEARTBEAT), *good = aspw_msg_new (ASPW_OFFER);
    snprintf (good->wo_id, sizeof good->wo_id, "WT1");
    snprintf (good->offer_id, sizeof good->offer_id, "WT1.1");
    snprintf (good->ticket_id, sizeof good->ticket_id, "T1");
    snprintf (good->summary, sizeof good->summary, "没有热水");
    char *seed;
    size_t seed_size;
    aspw_msg_encode (good, &seed, &seed_size);
    uint64_t x = 0x9E3779B97F4A7C15ull;
    char buf [256], err [200];
    int accepted = 0;
    for (int round = 0; round < 20000; round++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        size_t n;
        if (round % 2) {
            n = x % sizeof buf;
            for (size_t i = 0; i < n; i++) {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17;
                buf [i] = (char) x;
            }
        }
        else {
            n = seed_size;
            memcpy (buf, seed, n);
            buf [x % n] = (char) (x >> 32);
        }
        const char *cmd = aspw_command_name ((aspw_command_t) (x % ASPW_COMMAND_COUNT));
        if (s_try (m, s_frames ("ASPW1", cmd, buf, n), round % 3? ASPW_FROM_PLATFORM: ASPW_FROM_PARTNER,
                   err, sizeof err) == 0)
            accepted++;
        else
            assert (*err);
    }
    assert (accepted > 0);          //  some mutations leave a valid message
    free (seed);
    aspw_msg_destroy (&m);
    aspw_msg_destroy (&good);
}

void
aspw_proto_test (void)
{
    printf (" * aspw_proto: ");
    assert (aspw_command_parse ("READY") == ASPW_READY && aspw_command_parse ("ready") == -1);
    for (int i = 0; i < ASPW_COMMAND_COUNT; i++)
        assert (aspw_command_parse (aspw_command_name ((aspw_command_t) i)) == i);
    assert (aspw_text_valid ("王先生", strlen ("王先生")));
    assert (!aspw_text_valid ("\xc0\xaf", 2));           //  overlong
    assert (!aspw_text_valid ("\xed\xa0\x80", 3));       //  surrogate
    assert (!aspw_text_valid ("\xe7\x8e", 2));           //  truncated character
    assert (!aspw_text_valid ("a\x01", 2) && !aspw_text_valid ("a\0b", 3));
    char cut [5];
    aspw_text_cut (cut, sizeof cut, "a王b");              //  'a' + 3 bytes fit exactly
    assert (streq (cut, "a王"));
    aspw_text_cut (cut, 3, "a王b");
    assert (streq (cut, "a"));
    s_test_round_trips ();
    s_test_extensions ();
    s_test_refusals ();
    s_test_random ();
    printf ("OK\n");
}
