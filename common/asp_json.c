#include "asp_json.h"
#include <assert.h>
#include <stdlib.h>
#include <string.h>

cJSON *
asp_json_from_mp (const msgpack_object *o)
{
    switch (o->type) {
        case MSGPACK_OBJECT_NIL: return cJSON_CreateNull ();
        case MSGPACK_OBJECT_BOOLEAN: return cJSON_CreateBool (o->via.boolean);
        case MSGPACK_OBJECT_POSITIVE_INTEGER: return cJSON_CreateNumber ((double) o->via.u64);
        case MSGPACK_OBJECT_NEGATIVE_INTEGER: return cJSON_CreateNumber ((double) o->via.i64);
        case MSGPACK_OBJECT_FLOAT32:
        case MSGPACK_OBJECT_FLOAT64: return cJSON_CreateNumber (o->via.f64);
        case MSGPACK_OBJECT_STR:
        case MSGPACK_OBJECT_BIN: {
            const char *p = o->type == MSGPACK_OBJECT_STR? o->via.str.ptr: o->via.bin.ptr;
            uint32_t n = o->type == MSGPACK_OBJECT_STR? o->via.str.size: o->via.bin.size;
            char *s = (char *) malloc (n + 1);
            assert (s);
            memcpy (s, p, n);
            s [n] = 0;
            cJSON *j = cJSON_CreateString (s);
            free (s);
            return j;
        }
        case MSGPACK_OBJECT_ARRAY: {
            cJSON *a = cJSON_CreateArray ();
            for (uint32_t i = 0; i < o->via.array.size; i++)
                cJSON_AddItemToArray (a, asp_json_from_mp (&o->via.array.ptr [i]));
            return a;
        }
        case MSGPACK_OBJECT_MAP: {
            cJSON *m = cJSON_CreateObject ();
            for (uint32_t i = 0; i < o->via.map.size; i++) {
                const msgpack_object *k = &o->via.map.ptr [i].key;
                if (k->type != MSGPACK_OBJECT_STR)
                    continue;
                char key [128];
                size_t n = k->via.str.size < sizeof key - 1? k->via.str.size: sizeof key - 1;
                memcpy (key, k->via.str.ptr, n);
                key [n] = 0;
                cJSON_AddItemToObject (m, key, asp_json_from_mp (&o->via.map.ptr [i].val));
            }
            return m;
        }
        default: return cJSON_CreateNull ();
    }
}

//  True when d is an integer that int64_t holds. The range comes first:
//  casting 1e300 or NaN to an integer is undefined behaviour.
static bool
s_is_int64 (double d)
{
    return d >= -9223372036854775808.0 && d < 9223372036854775808.0 && d == (double) (int64_t) d;
}

static void
s_pack_json (const cJSON *j, msgpack_packer *pk)
{
    if (cJSON_IsString (j)) {
        size_t n = strlen (j->valuestring);
        msgpack_pack_str (pk, n);
        msgpack_pack_str_body (pk, j->valuestring, n);
    }
    else
    if (cJSON_IsBool (j)) {
        if (cJSON_IsTrue (j)) msgpack_pack_true (pk); else msgpack_pack_false (pk);
    }
    else
    if (cJSON_IsNumber (j)) {
        double d = j->valuedouble;
        if (s_is_int64 (d))
            msgpack_pack_int64 (pk, (int64_t) d);
        else
            msgpack_pack_double (pk, d);
    }
    else
    if (cJSON_IsArray (j)) {
        msgpack_pack_array (pk, (size_t) cJSON_GetArraySize (j));
        for (const cJSON *c = j->child; c; c = c->next)
            s_pack_json (c, pk);
    }
    else
    if (cJSON_IsObject (j)) {
        msgpack_pack_map (pk, (size_t) cJSON_GetArraySize (j));
        for (const cJSON *c = j->child; c; c = c->next) {
            size_t n = strlen (c->string);
            msgpack_pack_str (pk, n);
            msgpack_pack_str_body (pk, c->string, n);
            s_pack_json (c, pk);
        }
    }
    else
        msgpack_pack_nil (pk);
}

void
asp_json_to_mpmap (const cJSON *obj, asp_mpmap_t *map)
{
    for (const cJSON *c = obj? obj->child: NULL; c; c = c->next) {
        if (cJSON_IsString (c))
            asp_mpmap_str (map, c->string, c->valuestring);
        else
        if (cJSON_IsBool (c))
            asp_mpmap_bool (map, c->string, cJSON_IsTrue (c));
        else
        if (cJSON_IsNumber (c) && s_is_int64 (c->valuedouble))
            asp_mpmap_int (map, c->string, (int64_t) c->valuedouble);
        else {
            //  Pack through a scratch buffer, then add as an object.
            msgpack_sbuffer sb;
            msgpack_sbuffer_init (&sb);
            msgpack_packer pk;
            msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
            s_pack_json (c, &pk);
            msgpack_unpacked u;
            msgpack_unpacked_init (&u);
            size_t off = 0;
            if (msgpack_unpack_next (&u, sb.data, sb.size, &off) == MSGPACK_UNPACK_SUCCESS)
                asp_mpmap_obj (map, c->string, &u.data);
            msgpack_unpacked_destroy (&u);
            msgpack_sbuffer_destroy (&sb);
        }
    }
}

bool
asp_utf8_valid (const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *) s, *end = p + len;
    while (p < end) {
        unsigned c = *p;
        size_t n = c < 0x80? 0: (c & 0xE0) == 0xC0? 1: (c & 0xF0) == 0xE0? 2: (c & 0xF8) == 0xF0? 3: 9;
        if (n == 9 || (size_t) (end - p) <= n)
            return n == 0;
        unsigned cp = n == 0? c: c & (0x3F >> n);
        for (size_t i = 1; i <= n; i++) {
            if ((p [i] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (p [i] & 0x3F);
        }
        //  Overlong forms, UTF-16 surrogates and values past U+10FFFF are
        //  not UTF-8 (RFC 3629).
        static const unsigned least [] = { 0, 0x80, 0x800, 0x10000 };
        if (cp < least [n] || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
            return false;
        p += n + 1;
    }
    return true;
}

int
asp_json_str (const cJSON *obj, const char *key, size_t minlen, size_t maxlen, const char **out)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive (obj, key);
    *out = NULL;
    if (!j || cJSON_IsNull (j))
        return 1;
    int rc = asp_json_text (j, minlen, maxlen);
    if (rc == 0)
        *out = j->valuestring;
    return rc;
}

int
asp_json_text (const cJSON *j, size_t minlen, size_t maxlen)
{
    if (!cJSON_IsString (j))
        return -1;
    size_t n = strlen (j->valuestring);
    if (n < minlen || n > maxlen)
        return -1;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char) j->valuestring [i] < 0x20)
            return -1;
    if (!asp_utf8_valid (j->valuestring, n))
        return -2;
    return 0;
}

int64_t
asp_json_get_int (const cJSON *obj, const char *key, int64_t def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive (obj, key);
    return cJSON_IsNumber (v)? (int64_t) v->valuedouble: def;
}

void
asp_json_test (void)
{
    cJSON *j = cJSON_Parse ("{\"a\":\"x\",\"n\":3,\"f\":1.5,\"b\":true,\"o\":{\"k\":[1,\"two\"]}}");
    assert (j);
    assert (asp_json_get_int (j, "n", -1) == 3 && asp_json_get_int (j, "f", -1) == 1);
    assert (asp_json_get_int (j, "a", -1) == -1 && asp_json_get_int (j, "zz", 7) == 7);
    asp_mpmap_t *m = asp_mpmap_new ();
    asp_json_to_mpmap (j, m);
    assert (asp_mpmap_count (m) == 5);
    char *data; size_t size;
    asp_mpmap_bytes (m, &data, &size);
    msgpack_unpacked u;
    msgpack_unpacked_init (&u);
    char err [100];
    assert (asp_mp_unpack (&u, data, size, err, sizeof err) == 0);
    cJSON *back = asp_json_from_mp (&u.data);
    assert (cJSON_Compare (j, back, 1));
    const char *s;
    assert (asp_json_str (j, "a", 1, 5, &s) == 0 && strcmp (s, "x") == 0);
    assert (asp_json_str (j, "n", 1, 5, &s) == -1);
    assert (asp_json_str (j, "zz", 1, 5, &s) == 1);
    assert (asp_json_str (j, "a", 2, 5, &s) == -1);
    assert (asp_utf8_valid ("\xe7\x8e\x8b", 3) && asp_utf8_valid ("", 0));
    assert (!asp_utf8_valid ("\xe7\x8e", 2));             //  cut short
    assert (!asp_utf8_valid ("\xff", 1));
    assert (!asp_utf8_valid ("\xc0\xaf", 2));             //  overlong '/'
    assert (!asp_utf8_valid ("\xed\xa0\x80", 3));         //  a surrogate
    assert (!asp_utf8_valid ("\xf4\x90\x80\x80", 4));     //  past U+10FFFF
    assert (!asp_utf8_valid ("a\x80", 2));
    cJSON_Delete (back);
    cJSON_Delete (j);
    msgpack_unpacked_destroy (&u);
    free (data);
    asp_mpmap_destroy (&m);
    //  Numbers no integer type holds stay doubles (no undefined cast: the
    //  sanitizer trees would abort here).
    cJSON *big = cJSON_Parse ("{\"x\":1e300,\"y\":-9.3e18,\"z\":[1e300,-1e19]}");
    asp_mpmap_t *bm = asp_mpmap_new ();
    asp_json_to_mpmap (big, bm);
    asp_mpmap_destroy (&bm);
    cJSON_Delete (big);
}
