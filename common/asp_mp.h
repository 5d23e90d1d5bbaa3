/*  asp_mp: strict msgpack for untrusted input, and a small map builder.

    msgpack-c trusts declared lengths: it allocates the element count of an
    array or map before reading the elements, so five bytes can ask for
    ~96 GB (msgpack-c issue #1013). asp_mp_check walks the raw bytes first and
    refuses anything whose declared lengths exceed what is left, that nests
    deeper than a cap, uses ext types or leaves trailing bytes. Only then does
    asp_mp_unpack call msgpack-c, whose allocations are then bounded by the
    input size.

    asp_mpmap_t builds one msgpack map of string keys; values are strings,
    integers, booleans, nil, string arrays or raw msgpack objects.          */
#ifndef ASP_MP_H
#define ASP_MP_H
#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ASP_MP_MAX_DEPTH 8

//  0 when buf holds exactly one well-formed msgpack object within the caps;
//  otherwise -1 and a reason in err.
int  asp_mp_check (const void *buf, size_t len, int max_depth, char *err, size_t errlen);
//  Checks, then unpacks into u (caller inits/destroys u). 0 or -1 + reason.
int  asp_mp_unpack (msgpack_unpacked *u, const void *buf, size_t len, char *err, size_t errlen);

//  Readers on a map object. Each returns NULL / the default when the key is
//  absent; *_req variants write a reason into err when absent or mistyped.
const msgpack_object *asp_mp_get (const msgpack_object *map, const char *key);
//  Copies a string value (NUL-terminated, truncated to outlen-1 is an error).
//  0 ok, 1 absent, -1 wrong type or too long.
int  asp_mp_get_str (const msgpack_object *map, const char *key, char *out, size_t outlen);
//  0 ok, 1 absent, -1 wrong type.
int  asp_mp_get_int (const msgpack_object *map, const char *key, int64_t *out);
int  asp_mp_get_bool (const msgpack_object *map, const char *key, bool *out);
//  True when o is a string equal to s.
bool asp_mp_str_eq (const msgpack_object *o, const char *s);

typedef struct asp_mpmap_t asp_mpmap_t;
asp_mpmap_t *asp_mpmap_new (void);
void asp_mpmap_destroy (asp_mpmap_t **self_p);
void asp_mpmap_str  (asp_mpmap_t *self, const char *key, const char *value);
void asp_mpmap_strn (asp_mpmap_t *self, const char *key, const char *value, size_t len);
void asp_mpmap_int  (asp_mpmap_t *self, const char *key, int64_t value);
void asp_mpmap_bool (asp_mpmap_t *self, const char *key, bool value);
void asp_mpmap_nil  (asp_mpmap_t *self, const char *key);
//  Array of strings (count may be 0).
void asp_mpmap_strv (asp_mpmap_t *self, const char *key, const char **values, size_t count);
//  Any msgpack object (e.g. copied from a decoded message).
void asp_mpmap_obj  (asp_mpmap_t *self, const char *key, const msgpack_object *value);
size_t asp_mpmap_count (asp_mpmap_t *self);
//  Appends the finished map (header + entries) to packer.
void asp_mpmap_pack (asp_mpmap_t *self, msgpack_packer *pk);
//  Packs the map alone into a new buffer; caller frees *data.
void asp_mpmap_bytes (asp_mpmap_t *self, char **data, size_t *size);

void asp_mp_test (void);
#endif
