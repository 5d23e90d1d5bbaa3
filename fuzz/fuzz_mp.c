/*  libFuzzer target: the msgpack pre-check and unpack (asp_mp), the first
    thing every bus and partner byte goes through.                        */
#include "asp_mp.h"
#include <assert.h>
#include <string.h>

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    char err [160] = "";
    msgpack_unpacked u;
    msgpack_unpacked_init (&u);
    int rc = asp_mp_unpack (&u, data, size, err, sizeof err);
    //  Either an object, or a refusal that says why.
    assert (rc == 0 || (rc == -1 && *err));
    if (rc == 0 && u.data.type == MSGPACK_OBJECT_MAP) {
        char out [64];
        int64_t i;
        bool b;
        asp_mp_get_str (&u.data, "id", out, sizeof out);
        asp_mp_get_int (&u.data, "n", &i);
        asp_mp_get_bool (&u.data, "b", &b);
    }
    msgpack_unpacked_destroy (&u);
    return 0;
}
