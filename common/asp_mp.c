#include "asp_mp.h"
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Total number of objects one input may contain: a cheap bound on work and
//  on msgpack-c's zone allocations, independent of nesting.
#define ASP_MP_MAX_OBJECTS 65536

static uint64_t
s_be (const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | p [i];
    return v;
}

#define FAIL(...) do { if (err && errlen) snprintf (err, errlen, __VA_ARGS__); return -1; } while (0)

int
asp_mp_check (const void *buf, size_t len, int max_depth, char *err, size_t errlen)
{
    const uint8_t *p = (const uint8_t *) buf;
    size_t pos = 0;
    //  pending[d] = objects still expected at depth d; depth 0 expects one.
    uint64_t pending [ASP_MP_MAX_DEPTH + 2];
    int depth = 0;
    size_t objects = 0;
    if (max_depth > ASP_MP_MAX_DEPTH)
        max_depth = ASP_MP_MAX_DEPTH;
    if (!p || len == 0)
        FAIL ("empty message");
    pending [0] = 1;
    while (depth >= 0) {
        if (pending [depth] == 0) {
            depth--;
            continue;
        }
        if (pos >= len)
            FAIL ("truncated msgpack at byte %zu", pos);
        if (++objects > ASP_MP_MAX_OBJECTS)
            FAIL ("too many msgpack objects");
        pending [depth]--;
        uint8_t c = p [pos++];
        uint64_t skip = 0;          //  payload bytes to skip
        uint64_t children = 0;      //  container elements that follow
        int lenbytes = 0;
        if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3)
            ;
        else
        if ((c & 0xf0) == 0x80)
            children = 2 * (uint64_t) (c & 0x0f);
        else
        if ((c & 0xf0) == 0x90)
            children = c & 0x0f;
        else
        if ((c & 0xe0) == 0xa0)
            skip = c & 0x1f;
        else
        switch (c) {
            case 0xc4: case 0xd9: lenbytes = 1; break;           //  bin8, str8
            case 0xc5: case 0xda: lenbytes = 2; break;           //  bin16, str16
            case 0xc6: case 0xdb: lenbytes = 4; break;           //  bin32, str32
            case 0xca: skip = 4; break;                          //  float32
            case 0xcb: skip = 8; break;                          //  float64
            case 0xcc: case 0xd0: skip = 1; break;
            case 0xcd: case 0xd1: skip = 2; break;
            case 0xce: case 0xd2: skip = 4; break;
            case 0xcf: case 0xd3: skip = 8; break;
            case 0xdc: case 0xdd: case 0xde: case 0xdf: {        //  array/map 16/32
                int n = (c == 0xdc || c == 0xde)? 2: 4;
                if (len - pos < (size_t) n)
                    FAIL ("truncated container header at byte %zu", pos - 1);
                children = s_be (p + pos, n);
                pos += (size_t) n;
                if (c >= 0xde)
                    children *= 2;
                break;
            }
            default:
                FAIL ("unsupported msgpack type 0x%02x at byte %zu", c, pos - 1);
        }
        if (lenbytes) {
            if (len - pos < (size_t) lenbytes)
                FAIL ("truncated length at byte %zu", pos - 1);
            skip = s_be (p + pos, lenbytes);
            pos += (size_t) lenbytes;
        }
        if (skip > len - pos)
            FAIL ("declared length %llu exceeds the %zu bytes left", (unsigned long long) skip, len - pos);
        pos += (size_t) skip;
        if (children) {
            //  Every element takes at least one byte: a count larger than
            //  what is left is a lie, refused before anyone allocates for it.
            if (children > len - pos)
                FAIL ("declared %llu elements but only %zu bytes left", (unsigned long long) children, len - pos);
            if (depth + 1 > max_depth)
                FAIL ("nesting deeper than %d", max_depth);
            pending [++depth] = children;
        }
    }
    if (pos != len)
        FAIL ("%zu trailing bytes after the message", len - pos);
    return 0;
}

int
asp_mp_unpack (msgpack_unpacked *u, const void *buf, size_t len, char *err, size_t errlen)
{
    if (asp_mp_check (buf, len, ASP_MP_MAX_DEPTH, err, errlen))
        return -1;
    size_t off = 0;
    msgpack_unpack_return rc = msgpack_unpack_next (u, (const char *) buf, len, &off);
    if (rc != MSGPACK_UNPACK_SUCCESS || off != len)
        FAIL ("msgpack decode failed");
    return 0;
}

bool
asp_mp_str_eq (const msgpack_object *o, const char *s)
{
    size_t n = strlen (s);
    return o && o->type == MSGPACK_OBJECT_STR && o->via.str.size == n
        && memcmp (o->via.str.ptr, s, n) == 0;
}

const msgpack_object *
asp_mp_get (const msgpack_object *map, const char *key)
{
    if (!map || map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    for (uint32_t i = 0; i < map->via.map.size; i++)
        if (asp_mp_str_eq (&map->via.map.ptr [i].key, key))
            return &map->via.map.ptr [i].val;
    return NULL;
}

int
asp_mp_get_str (const msgpack_object *map, const char *key, char *out, size_t outlen)
{
    const msgpack_object *o = asp_mp_get (map, key);
    if (!o || o->type == MSGPACK_OBJECT_NIL)
        return 1;
    if (o->type != MSGPACK_OBJECT_STR || o->via.str.size >= outlen)
        return -1;
    //  Strings point into the input and are not NUL-terminated: copy by size,
    //  and refuse embedded NULs that would silently truncate.
    if (memchr (o->via.str.ptr, 0, o->via.str.size))
        return -1;
    memcpy (out, o->via.str.ptr, o->via.str.size);
    out [o->via.str.size] = 0;
    return 0;
}

int
asp_mp_get_int (const msgpack_object *map, const char *key, int64_t *out)
{
    const msgpack_object *o = asp_mp_get (map, key);
    if (!o || o->type == MSGPACK_OBJECT_NIL)
        return 1;
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT64_MAX)
        *out = (int64_t) o->via.u64;
    else
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        *out = o->via.i64;
    else
        return -1;
    return 0;
}

int
asp_mp_get_bool (const msgpack_object *map, const char *key, bool *out)
{
    const msgpack_object *o = asp_mp_get (map, key);
    if (!o || o->type == MSGPACK_OBJECT_NIL)
        return 1;
    if (o->type != MSGPACK_OBJECT_BOOLEAN)
        return -1;
    *out = o->via.boolean;
    return 0;
}

struct asp_mpmap_t {
    msgpack_sbuffer buf;        //  packed entries, without the map header
    msgpack_packer pk;
    size_t count;
};

asp_mpmap_t *
asp_mpmap_new (void)
{
    asp_mpmap_t *self = (asp_mpmap_t *) calloc (1, sizeof *self);
    assert (self);
    msgpack_sbuffer_init (&self->buf);
    msgpack_packer_init (&self->pk, &self->buf, msgpack_sbuffer_write);
    return self;
}

void
asp_mpmap_destroy (asp_mpmap_t **self_p)
{
    if (*self_p) {
        msgpack_sbuffer_destroy (&(*self_p)->buf);
        free (*self_p);
        *self_p = NULL;
    }
}

static void
s_key (asp_mpmap_t *self, const char *key)
{
    size_t n = strlen (key);
    msgpack_pack_str (&self->pk, n);
    msgpack_pack_str_body (&self->pk, key, n);
    self->count++;
}

void
asp_mpmap_strn (asp_mpmap_t *self, const char *key, const char *value, size_t len)
{
    s_key (self, key);
    msgpack_pack_str (&self->pk, len);
    msgpack_pack_str_body (&self->pk, value, len);
}

void
asp_mpmap_str (asp_mpmap_t *self, const char *key, const char *value)
{
    if (!value) {
        asp_mpmap_nil (self, key);
        return;
    }
    asp_mpmap_strn (self, key, value, strlen (value));
}

void
asp_mpmap_int (asp_mpmap_t *self, const char *key, int64_t value)
{
    s_key (self, key);
    msgpack_pack_int64 (&self->pk, value);
}

void
asp_mpmap_bool (asp_mpmap_t *self, const char *key, bool value)
{
    s_key (self, key);
    if (value)
        msgpack_pack_true (&self->pk);
    else
        msgpack_pack_false (&self->pk);
}

void
asp_mpmap_nil (asp_mpmap_t *self, const char *key)
{
    s_key (self, key);
    msgpack_pack_nil (&self->pk);
}

void
asp_mpmap_strv (asp_mpmap_t *self, const char *key, const char **values, size_t count)
{
    s_key (self, key);
    msgpack_pack_array (&self->pk, count);
    for (size_t i = 0; i < count; i++) {
        size_t n = strlen (values [i]);
        msgpack_pack_str (&self->pk, n);
        msgpack_pack_str_body (&self->pk, values [i], n);
    }
}

void
asp_mpmap_obj (asp_mpmap_t *self, const char *key, const msgpack_object *value)
{
    s_key (self, key);
    msgpack_pack_object (&self->pk, *value);
}

size_t
asp_mpmap_count (asp_mpmap_t *self)
{
    return self->count;
}

void
asp_mpmap_pack (asp_mpmap_t *self, msgpack_packer *pk)
{
    msgpack_pack_map (pk, self->count);
    //  msgpack is a concatenation format: the header and the entries packed
    //  earlier form one valid map.
    pk->callback (pk->data, self->buf.data, self->buf.size);
}

void
asp_mpmap_bytes (asp_mpmap_t *self, char **data, size_t *size)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    asp_mpmap_pack (self, &pk);
    *size = sb.size;
    *data = msgpack_sbuffer_release (&sb);
    if (!*data) {               //  empty buffer: still hand back an allocation
        *data = malloc (1);
        *size = 0;
    }
    msgpack_sbuffer_destroy (&sb);
}

void
asp_mp_test (void)
{
    char err [128];
    //  The 5-byte input from msgpack-c issue #1013: array32 of 0xff000000.
    const uint8_t bomb [] = { 0xdd, 0xff, 0x00, 0x00, 0x00 };
    assert (asp_mp_check (bomb, sizeof bomb, 8, err, sizeof err) == -1);
    assert (strstr (err, "elements"));
    const uint8_t map_bomb [] = { 0xdf, 0x7f, 0xff, 0xff, 0xff, 0x01 };
    assert (asp_mp_check (map_bomb, sizeof map_bomb, 8, err, sizeof err) == -1);
    const uint8_t str_lie [] = { 0xdb, 0x00, 0x10, 0x00, 0x00, 'a' };
    assert (asp_mp_check (str_lie, sizeof str_lie, 8, err, sizeof err) == -1);
    const uint8_t trailing [] = { 0x01, 0x02 };
    assert (asp_mp_check (trailing, 2, 8, err, sizeof err) == -1);
    assert (strstr (err, "trailing"));
    const uint8_t ext [] = { 0xd4, 0x01, 0x02 };
    assert (asp_mp_check (ext, 3, 8, err, sizeof err) == -1);
    const uint8_t never [] = { 0xc1 };
    assert (asp_mp_check (never, 1, 8, err, sizeof err) == -1);
    uint8_t deep [20];
    memset (deep, 0x91, sizeof deep);      //  [[[[...]]]] 20 deep, last is 0x91
    deep [19] = 0x00;
    assert (asp_mp_check (deep, sizeof deep, 8, err, sizeof err) == -1);
    assert (strstr (err, "nesting"));
    assert (asp_mp_check (deep + 14, 6, 8, err, sizeof err) == 0);
    assert (asp_mp_check (NULL, 0, 8, err, sizeof err) == -1);

    //  Round trip through the builder.
    asp_mpmap_t *m = asp_mpmap_new ();
    asp_mpmap_str (m, "name", "王先生");
    asp_mpmap_int (m, "n", -5);
    asp_mpmap_bool (m, "ok", true);
    const char *skills [] = { "heater", "ac" };
    asp_mpmap_strv (m, "skills", skills, 2);
    char *data; size_t size;
    asp_mpmap_bytes (m, &data, &size);
    asp_mpmap_destroy (&m);
    msgpack_unpacked u;
    msgpack_unpacked_init (&u);
    assert (asp_mp_unpack (&u, data, size, err, sizeof err) == 0);
    char name [32]; int64_t n; bool ok;
    assert (asp_mp_get_str (&u.data, "name", name, sizeof name) == 0 && strcmp (name, "王先生") == 0);
    assert (asp_mp_get_str (&u.data, "name", name, 4) == -1);
    assert (asp_mp_get_int (&u.data, "n", &n) == 0 && n == -5);
    assert (asp_mp_get_bool (&u.data, "ok", &ok) == 0 && ok);
    assert (asp_mp_get_int (&u.data, "name", &n) == -1);
    assert (asp_mp_get_str (&u.data, "absent", name, sizeof name) == 1);
    assert (asp_mp_get (&u.data, "skills")->via.array.size == 2);
    msgpack_unpacked_destroy (&u);
    //  Every truncation of a valid message is refused, never crashes.
    for (size_t cut = 0; cut < size; cut++)
        assert (asp_mp_check (data, cut, 8, err, sizeof err) == -1);
    free (data);
}
