/*  libFuzzer target: the SLA policy file (ASP_SLA_POLICY_FILE), parsed as
    sla-timer does at start and on every reload, calendars and all. Every
    input is either a policy with a version and a catch-all (every ticket
    gets a policy) or a refusal naming the file and a line; either way
    nothing leaks (ASan's leak check at exit).                              */
#include "sla_policy.h"
#include <assert.h>
#include <stdlib.h>
#include <string.h>

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    //  sla_policy_load refuses a NUL byte before parsing; parse takes text.
    if (memchr (data, 0, size))
        return 0;
    char *text = (char *) malloc (size + 1);
    assert (text);
    memcpy (text, data, size);
    text [size] = 0;
    char why [400] = "";
    sla_policy_t *policy = sla_policy_parse ("f", text, why, sizeof why);
    if (policy) {
        assert (*sla_policy_version (policy));
        for (int k = 0; k < asp_vocab_kind.count; k++)
            for (int t = 0; t < asp_vocab_tier.count; t++)
                for (int c = 0; c < asp_vocab_class.count; c++)
                    assert (sla_policy_select (policy, (asp_kind_t) k, (asp_tier_t) t, (asp_class_t) c, "x"));
        assert (sla_policy_calendar (policy, "x") && sla_policy_calendar_24x7 (policy, "x"));
        sla_policy_destroy (&policy);
        assert (!policy);
    }
    else
        assert (strncmp (why, "f:", 2) == 0 && strtol (why + 2, NULL, 10) >= 1);
    free (text);
    return 0;
}
