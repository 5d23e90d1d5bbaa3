/*  libFuzzer target: the HTTP JSON bodies of intake's public API (POST
    /v1/tickets and the survey), parsed and validated as the handlers do.
    The first byte picks the body kind; the rest is the body.              */
#include "asp_log.h"
#include "intake_tickets.h"
#include <assert.h>

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    char err [256] = "";
    const char *what = data [0] & 1? "survey": "ticket";
    int rc = intake_tickets_check_body (what, (const char *) data + 1, size - 1, err, sizeof err);
    assert ((rc == 0 && !*err) || (rc == -1 && *err));
    return 0;
}
