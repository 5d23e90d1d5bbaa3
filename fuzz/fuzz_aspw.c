/*  libFuzzer target: ASPW/1 partner commands, what an authenticated
    partner's socket hands routing. Decoder: rt_cmd_decode (kept to this one
    call so the target follows the codec wherever it moves).

    Input: frames, each a 2-byte little-endian length then that many bytes
    (the last frame takes what is left when the length runs past the end),
    at most 6 frames: e.g. "ASPW1", "READY", a msgpack body.               */
#include "rt_proto.h"
#include <assert.h>

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    zmsg_t *msg = zmsg_new ();
    size_t pos = 0;
    while (pos < size && zmsg_size (msg) < 6) {
        size_t len = 0;
        if (size - pos >= 2) {
            len = (size_t) data [pos] | (size_t) data [pos + 1] << 8;
            pos += 2;
        }
        if (len > size - pos)
            len = size - pos;
        zmsg_addmem (msg, data + pos, len);
        pos += len;
    }
    rt_cmd_t *cmd = rt_cmd_new ();
    char err [256] = "";
    int rc = rt_cmd_decode (cmd, msg, err, sizeof err);
    assert (rc == 0 || (rc == -1 && *err));
    rt_cmd_destroy (&cmd);
    zmsg_destroy (&msg);
    return 0;
}
