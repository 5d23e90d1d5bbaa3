/*  What a ticket shows of sla-timer's events (intake_sla.h).   */
#include "intake_sla.h"
#include "asp_events.h"
#include "asp_vocab.h"
#include "intake_dispatch.h"
#include <assert.h>
#include <string.h>

#define S_FIELDS 9

static const struct {
    const char *type;
    const char *view;               //  event.lua's a.view
    bool alert, name_owner;
    intake_field_t fields [S_FIELDS];
} s_events [] = {
    { ASP_EV_SLA_WARNING, "", true, true, { { NULL, 0, false, 0, NULL } } },
    { ASP_EV_SLA_BREACHED, "", true, true, { { NULL, 0, false, 0, NULL } } },
    { ASP_EV_SLA_ESCALATED, "", true, true, {
        { "clock", 's', true, 32, &asp_vocab_clock }, { "level", 'i', true, 0, NULL },
        { "step", 'i', true, 0, NULL }, { "role", 's', true, 32, &asp_vocab_sla_role },
        { "to", 's', false, 1000, NULL }, { "due_ms", 'i', false, 0, NULL },
        { "policy", 's', false, 64, NULL }, { "basis", 's', false, 32, &asp_vocab_basis } } },
    { ASP_EV_SLA_COMPENSATION, "compensation", false, false, {
        { "clock", 's', true, 32, &asp_vocab_clock }, { "amount", 'i', true, 0, NULL },
        { "rule", 's', true, 64, NULL }, { "approver", 's', true, 32, &asp_vocab_sla_role },
        { "capped", 'b', true, 0, NULL }, { "late_ms", 'i', false, 0, NULL },
        { "price", 'i', false, 0, NULL }, { "policy", 's', false, 64, NULL },
        { "basis", 's', false, 32, &asp_vocab_basis } } },
};
#define S_NEVENTS (sizeof s_events / sizeof s_events [0])

bool
intake_sla_is (const char *type)
{
    for (size_t i = 0; i < S_NEVENTS; i++)
        if (strcmp (s_events [i].type, type) == 0)
            return true;
    return false;
}

//  The compensation as the ticket shows it (checked before).
static char *
s_compensation (const msgpack_object *body)
{
    char clock [33], rule [65], approver [33];
    int64_t amount = 0;
    bool capped = false;
    asp_mp_get_str (body, "clock", clock, sizeof clock);
    asp_mp_get_str (body, "rule", rule, sizeof rule);
    asp_mp_get_str (body, "approver", approver, sizeof approver);
    asp_mp_get_int (body, "amount", &amount);
    asp_mp_get_bool (body, "capped", &capped);
    cJSON *c = cJSON_CreateObject ();
    cJSON_AddNumberToObject (c, "amount", (double) amount);
    cJSON_AddStringToObject (c, "approver", approver);
    cJSON_AddBoolToObject (c, "capped", capped);
    cJSON_AddStringToObject (c, "clock", clock);
    cJSON_AddStringToObject (c, "rule", rule);
    char *json = cJSON_PrintUnformatted (c);
    cJSON_Delete (c);
    return json;
}

int
intake_sla_event (const asp_envelope_t *env, asp_mpmap_t *a, bool *alert, char *reason, size_t reason_len)
{
    size_t i = 0;
    while (i < S_NEVENTS && strcmp (s_events [i].type, env->type))
        i++;
    assert (i < S_NEVENTS);         //  called only when intake_sla_is
    if (intake_event_check (env->type, s_events [i].fields, S_FIELDS, env->body, reason, reason_len))
        return -1;
    asp_mpmap_str (a, "view", s_events [i].view);
    asp_mpmap_bool (a, "clears", false);
    asp_mpmap_bool (a, "name_owner", s_events [i].name_owner);
    if (*s_events [i].view) {
        char *json = s_compensation (env->body);
        asp_mpmap_str (a, "compensation", json);
        cJSON_free (json);
    }
    *alert = s_events [i].alert;
    return 0;
}

//  Checks a body built by the test; frees it.
static int
s_test_check (const char *type, asp_mpmap_t *body, asp_mpmap_t *a, bool *alert, char *why, size_t len)
{
    asp_msg_t *msg = asp_msg_new (type, "T1", NULL);
    asp_mpmap_destroy (&msg->body);
    msg->body = body;
    char *data;
    asp_envelope_t *env = asp_msg_to_envelope (&msg, &data);
    int rc = intake_sla_event (env, a, alert, why, len);
    asp_envelope_destroy (&env);
    free (data);
    return rc;
}

static asp_mpmap_t *
s_test_comp (const char *clock, int64_t amount, const char *approver)
{
    asp_mpmap_t *b = asp_mpmap_new ();
    asp_mpmap_str (b, "clock", clock);
    asp_mpmap_int (b, "amount", amount);
    asp_mpmap_str (b, "rule", "late_onsite");
    asp_mpmap_str (b, "approver", approver);
    asp_mpmap_bool (b, "capped", true);
    asp_mpmap_int (b, "late_ms", 3600000);
    return b;
}

void
intake_sla_test (void)
{
    assert (intake_sla_is (ASP_EV_SLA_ESCALATED) && intake_sla_is (ASP_EV_SLA_WARNING));
    assert (!intake_sla_is (ASP_EV_WO_OFFERED));
    //  Intake is a subscriber of each (a subscriber without a handler
    //  would refuse them forever; one without a subscriber never sees them).
    for (size_t i = 0; i < S_NEVENTS; i++)
        assert (asp_event_subscribers (s_events [i].type) & ASP_BIT (ASP_SVC_INTAKE));
    char why [200];
    bool alert = false;
    asp_mpmap_t *a = asp_mpmap_new ();
    assert (s_test_check (ASP_EV_SLA_COMPENSATION, s_test_comp ("onsite_arrival", 3000, "supervisor"), a, &alert,
                          why, sizeof why) == 0 && !alert);
    asp_mpmap_destroy (&a);
    a = asp_mpmap_new ();
    assert (s_test_check (ASP_EV_SLA_COMPENSATION, s_test_comp ("lunch", 3000, "supervisor"), a, &alert,
                          why, sizeof why) == -1 && strstr (why, "clock must be one of"));
    assert (s_test_check (ASP_EV_SLA_COMPENSATION, s_test_comp ("resolution", -1, "agent"), a, &alert,
                          why, sizeof why) == -1 && strstr (why, "amount must not be negative"));
    assert (s_test_check (ASP_EV_SLA_COMPENSATION, s_test_comp ("resolution", 1, "king"), a, &alert,
                          why, sizeof why) == -1 && strstr (why, "approver must be one of"));
    asp_mpmap_t *b = asp_mpmap_new ();
    asp_mpmap_str (b, "clock", "resolution");
    asp_mpmap_int (b, "level", 3);
    asp_mpmap_int (b, "step", 1);
    asp_mpmap_str (b, "role", "manager");
    asp_mpmap_str (b, "to", "sup@example.com,mgr@example.com");
    assert (s_test_check (ASP_EV_SLA_ESCALATED, b, a, &alert, why, sizeof why) == 0 && alert);
    b = asp_mpmap_new ();
    asp_mpmap_str (b, "clock", "resolution");
    asp_mpmap_str (b, "level", "3");
    assert (s_test_check (ASP_EV_SLA_ESCALATED, b, a, &alert, why, sizeof why) == -1
            && strstr (why, "level must be an integer"));
    asp_mpmap_destroy (&a);
}
