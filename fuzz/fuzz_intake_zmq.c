/*  libFuzzer target: intake's ZeroMQ requests (ASPI/1) as
    intake_zmq_decode sees them. The first byte is the frame count (0..7);
    each frame but the last is a length byte and that many bytes, the last
    takes the rest. A request is decoded or refused with 400/413.        */
#include "intake_zmq.h"
#include <assert.h>
#include <stdlib.h>

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t count = data [0] % 8, at = 1;
    const uint8_t *frame [8];
    size_t len [8];
    for (size_t i = 0; i < count; i++) {
        size_t n = size - at;           //  the last frame: the rest
        if (i + 1 < count && at < size) {
            size_t want = data [at];
            at++;
            n = want < size - at? want: size - at;
        }
        frame [i] = data + at;
        len [i] = n;
        at += n;
    }
    intake_zmq_req_t req;
    asp_http_res_t res = { 0 };
    int rc = intake_zmq_decode (frame, len, count, 1024, &req, &res);
    assert ((rc == 0 && !res.body && req.body) || ((rc == 400 || rc == 413) && res.body && !req.body));
    free (res.body);
    intake_zmq_req_free (&req);
    return 0;
}
