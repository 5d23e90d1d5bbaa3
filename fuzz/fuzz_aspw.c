/*  libFuzzer target: ASPW/1 messages, decoded by the one codec both ends
    use (partner/aspw_proto): as routing decodes what a partner sends, and
    as the partner SDK decodes what the platform sends.

    Input: frames, each a 2-byte little-endian length then that many bytes
    (the last frame takes what is left when the length runs past the end),
    at most 6 frames: e.g. "ASPW1", "READY", a msgpack body.
    What decodes is encoded again and must decode again to the same
    command (every encoder, the extensions' included, round-trips).       */
#include "aspw_proto.h"
#include <assert.h>

static zmsg_t *
s_frames (const uint8_t *data, size_t size)
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
    return msg;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    const aspw_sender_t senders [] = { ASPW_FROM_PARTNER, ASPW_FROM_PLATFORM };
    for (size_t s = 0; s < 2; s++) {
        zmsg_t *msg = s_frames (data, size);
        aspw_msg_t *decoded = aspw_msg_new (ASPW_HEARTBEAT);
        char err [256] = "";
        int rc = aspw_msg_decode (decoded, msg, senders [s], err, sizeof err);
        assert (rc == 0 || (rc == -1 && *err));
        if (rc == 0) {
            char *body;
            size_t body_size;
            aspw_msg_encode (decoded, &body, &body_size);
            zmsg_t *again = zmsg_new ();
            zmsg_addstr (again, ASPW_SIGNATURE);
            zmsg_addstr (again, aspw_command_name (decoded->id));
            zmsg_addmem (again, body, body_size);
            aspw_msg_t *twice = aspw_msg_new (ASPW_HEARTBEAT);
            //  A body near the size limit may grow past it when encoded.
            if (body_size < ASPW_MSG_MAX - 64)
                assert (aspw_msg_decode (twice, again, senders [s], err, sizeof err) == 0
                        && twice->id == decoded->id);
            aspw_msg_destroy (&twice);
            zmsg_destroy (&again);
            free (body);
        }
        aspw_msg_destroy (&decoded);
        zmsg_destroy (&msg);
    }
    return 0;
}
