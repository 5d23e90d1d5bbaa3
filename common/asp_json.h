/*  asp_json: msgpack <-> JSON for the HTTP side (cJSON).                   */
#ifndef ASP_JSON_H
#define ASP_JSON_H
#include <cjson/cJSON.h>
#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>
#include "asp_mp.h"

//  Converts a decoded msgpack object to a new cJSON value (binary becomes
//  a string of its bytes; depth is already bounded by asp_mp_check).
cJSON *asp_json_from_mp (const msgpack_object *o);
//  Adds a JSON object's string/number/bool members to a msgpack map
//  builder (nested objects and arrays are packed recursively).
void asp_json_to_mpmap (const cJSON *obj, asp_mpmap_t *map);
//  Strict string field: 0 ok, 1 absent/null, -1 wrong type or length out of
//  [minlen, maxlen] or contains control characters, -2 not valid UTF-8
//  (cJSON passes any bytes through).
int asp_json_str (const cJSON *obj, const char *key, size_t minlen, size_t maxlen, const char **out);
//  The same checks on a value itself (e.g. an array's item): 0, -1, -2.
int asp_json_text (const cJSON *j, size_t minlen, size_t maxlen);
//  A member of a document the service wrote itself (read back from
//  Redis): the number's integer part, else def (absent, null, another type).
int64_t asp_json_get_int (const cJSON *obj, const char *key, int64_t def);

//  True when len bytes at s are well-formed UTF-8 (RFC 3629: no overlong
//  forms, no surrogates, nothing past U+10FFFF).
bool asp_utf8_valid (const char *s, size_t len);

void asp_json_test (void);
#endif
