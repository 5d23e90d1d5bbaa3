/*  libFuzzer target: the bus envelope decoder (asp_envelope), what any
    process that reaches a bus inbox can send.                              */
#include "asp_envelope.h"
#include <assert.h>
#include <string.h>

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    char err [200] = "";
    asp_envelope_t *env = asp_envelope_decode (data, size, err, sizeof err);
    if (!env) {
        assert (*err);
        return 0;
    }
    //  Accepted: every string is a whole, valid field (no NUL inside).
    assert (asp_id_valid (env->id, strlen (env->id)));
    assert (!*env->ticket || asp_id_valid (env->ticket, strlen (env->ticket)));
    assert (env->body && env->body->type == MSGPACK_OBJECT_MAP);
    asp_envelope_destroy (&env);
    return 0;
}
