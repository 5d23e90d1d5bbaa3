/*  libFuzzer target: the 三包 policy file (ASP_WARRANTY_FILE), parsed as
    intake does at start and on every reload. Every input is either a
    policy whose rules keep the file's limits or a refusal naming a line. */
#include "intake_warranty.h"
#include <assert.h>
#include <stdlib.h>
#include <string.h>

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    static intake_warranty_rule_t rules [INTAKE_WARRANTY_RULES_MAX];
    int count = -1;
    char err [320] = "";
    int rc = intake_warranty_parse ((const char *) data, size, "f", rules, &count, err, sizeof err);
    if (rc == 0) {
        assert (!*err && count >= 0 && count <= INTAKE_WARRANTY_RULES_MAX);
        for (int i = 0; i < count; i++)
            assert (rules [i].refund_days <= rules [i].exchange_days && rules [i].repair_months <= 120);
    }
    else
        assert (rc == -1 && strncmp (err, "f:", 2) == 0 && strtol (err + 2, NULL, 10) >= 1);
    return 0;
}
