/*  libFuzzer target: the notification rules file (ASP_NOTIFY_RULES),
    parsed as asp-notification does at start and on every reload. Every
    input is either a set of rules whose lookups answer, or a refusal
    naming the file and a line; either way nothing leaks (ASan's leak check
    at exit).                                                              */
#include "notify_rules.h"
#include "asp_events.h"
#include "fuzz_text.h"
#include <assert.h>
#include <stdlib.h>
#include <string.h>

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    char *text = fuzz_text (data, size);
    if (!text)
        return 0;
    char why [400] = "";
    notify_rules_t *r = notify_rules_parse ("f", text, why, sizeof why);
    if (r) {
        size_t n;
        const notify_rule_t *rules = notify_rules_of (r, ASP_EV_SLA_ESCALATED, &n);
        for (size_t i = 0; i < n; i++) {
            const notify_staff_t *who [16];
            assert (rules [i].kind < NOTIFY_RCPT_KINDS && *rules [i].tpl);
            if (rules [i].kind == NOTIFY_RCPT_STAFF)
                assert (notify_rules_staff (r, rules [i].name, who, 16) >= 1);
        }
        notify_rules_destroy (&r);
        assert (!r);
    }
    else
        assert (strncmp (why, "f:", 2) == 0 && strtol (why + 2, NULL, 10) >= 1);
    free (text);
    return 0;
}
