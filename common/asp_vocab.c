#include "asp_vocab.h"
#include <assert.h>
#include <stdio.h>
#include <string.h>

//  Each table is indexed by its enum; VOCAB counts it, so a word added to
//  a table without its enum value (or the reverse) fails the self test.
#define VOCAB(var, label, ...) \
    static const char *const var##_names [] = { __VA_ARGS__ }; \
    const asp_vocab_t var = { label, var##_names, (int) (sizeof var##_names / sizeof (char *)) }

VOCAB (asp_vocab_kind, "kind",
       "installation", "repair", "maintenance", "complaint", "consultation", "return");
VOCAB (asp_vocab_tier, "tier", "standard", "express");
VOCAB (asp_vocab_class, "class", "A", "B", "C");
VOCAB (asp_vocab_channel, "channel", "hotline", "web", "app", "email", "letter", "visit");
VOCAB (asp_vocab_stage, "stage", "scheduled", "on_the_way", "on_site", "waiting_parts", "note");
VOCAB (asp_vocab_result, "result", "fixed", "not_fixed", "installed");
VOCAB (asp_vocab_status, "status",
       "received", "offered", "assigned", "in_progress", "completed", "visit_scheduled", "closed",
       "cancelled");
VOCAB (asp_vocab_wo_state, "wo_state", "pending", "offered", "assigned", "completed", "cancelled");
VOCAB (asp_vocab_lang, "lang", "zh-CN", "en");
VOCAB (asp_vocab_remedy, "remedy", "repair", "exchange", "refund", "paid_repair");
VOCAB (asp_vocab_unable_reason, "unable_reason", "no_skill", "no_parts", "out_of_area",
       "customer_refused", "unsafe", "other", "partner_removed");
VOCAB (asp_vocab_choice, "choice", "original_installer", "best_score", "override");
VOCAB (asp_vocab_partner_status, "partner_status", "active", "suspended", "removed");
VOCAB (asp_vocab_unroutable_reason, "unroutable_reason", "no_eligible_partner", "refusals_exceeded");
VOCAB (asp_vocab_clock, "clock", "first_response", "partner_acceptance", "appointment_made",
       "onsite_arrival", "appointment_kept", "resolution", "callback", "complaint_answer",
       "complaint_resolved", "return_visit");
VOCAB (asp_vocab_clock_state, "clock_state", "running", "paused", "met", "breached", "late", "cancelled");
VOCAB (asp_vocab_basis, "basis", "calendar", "business");
VOCAB (asp_vocab_sla_role, "sla_role", "agent", "supervisor", "manager");
VOCAB (asp_vocab_pause, "pause", "customer", "parts");
VOCAB (asp_vocab_notify_channel, "notify_channel", "webhook", "email", "sms", "file", "stdout");
VOCAB (asp_vocab_strike_step, "strike_step", "warning", "penalty", "removal");
VOCAB (asp_vocab_strike_state, "strike_state", "active", "upheld", "overturned");
VOCAB (asp_vocab_strike_review, "strike_review", "uphold", "overturn");
VOCAB (asp_vocab_recovery_category, "recovery_category", "delay", "missed_appointment", "workmanship",
       "staff_attitude", "parts", "billing", "damage", "communication", "other");
VOCAB (asp_vocab_recovery_outcome, "recovery_outcome", "open", "resolved", "unresolved");
VOCAB (asp_vocab_visit_state, "visit_state", "open", "assigned", "done", "no_response", "cancelled");
VOCAB (asp_vocab_repair_status, "repair_status", "fixed", "partly", "not_fixed");
VOCAB (asp_vocab_arrival, "arrival", "on_time", "late", "no_show");

const asp_vocab_t *const asp_vocabs [] = {
    &asp_vocab_kind, &asp_vocab_tier, &asp_vocab_class, &asp_vocab_channel,
    &asp_vocab_stage, &asp_vocab_result, &asp_vocab_status, &asp_vocab_wo_state,
    &asp_vocab_lang, &asp_vocab_remedy, &asp_vocab_unable_reason, &asp_vocab_choice,
    &asp_vocab_partner_status, &asp_vocab_unroutable_reason, &asp_vocab_clock,
    &asp_vocab_clock_state, &asp_vocab_basis, &asp_vocab_sla_role, &asp_vocab_pause,
    &asp_vocab_notify_channel, &asp_vocab_strike_step, &asp_vocab_strike_state,
    &asp_vocab_strike_review, &asp_vocab_recovery_category, &asp_vocab_recovery_outcome,
    &asp_vocab_visit_state, &asp_vocab_repair_status, &asp_vocab_arrival, NULL
};

bool
asp_kind_field_work (asp_kind_t kind)
{
    return kind != ASP_KIND_CONSULTATION && kind != ASP_KIND_COMPLAINT;
}

int
asp_vocab_parsen (const asp_vocab_t *vocab, const char *s, size_t len)
{
    if (!s)
        return -1;
    for (int i = 0; i < vocab->count; i++)
        if (strlen (vocab->names [i]) == len && memcmp (vocab->names [i], s, len) == 0)
            return i;
    return -1;
}

int
asp_vocab_parse (const asp_vocab_t *vocab, const char *s)
{
    return s? asp_vocab_parsen (vocab, s, strlen (s)): -1;
}

const char *
asp_vocab_name (const asp_vocab_t *vocab, int value)
{
    return value >= 0 && value < vocab->count? vocab->names [value]: NULL;
}

const char *
asp_vocab_join (const asp_vocab_t *vocab, char *out, size_t outlen)
{
    size_t used = 0;
    out [0] = 0;
    for (int i = 0; i < vocab->count && used < outlen; i++) {
        int n = snprintf (out + used, outlen - used, "%s%s", i? ", ": "", vocab->names [i]);
        if (n < 0)
            break;
        used += (size_t) n;
    }
    return out;
}

const asp_vocab_t *
asp_vocab_lookup (const char *name)
{
    for (int i = 0; asp_vocabs [i]; i++)
        if (strcmp (asp_vocabs [i]->name, name) == 0)
            return asp_vocabs [i];
    return NULL;
}

void
asp_vocab_test (void)
{
    //  The enums end where the tables end.
    assert (asp_vocab_kind.count == ASP_KIND_RETURN + 1);
    assert (asp_vocab_tier.count == ASP_TIER_EXPRESS + 1);
    assert (asp_vocab_class.count == ASP_CLASS_C + 1);
    assert (asp_vocab_channel.count == ASP_CHANNEL_VISIT + 1);
    assert (asp_vocab_stage.count == ASP_STAGE_NOTE + 1);
    assert (asp_vocab_result.count == ASP_RESULT_INSTALLED + 1);
    assert (asp_vocab_lang.count == ASP_LANG_EN + 1);
    assert (asp_vocab_notify_channel.count == ASP_NOTIFY_CHANNELS);
    assert (asp_vocab_status.count == ASP_STATUS_CANCELLED + 1);
    assert (asp_kind_field_work (ASP_KIND_REPAIR) && asp_kind_field_work (ASP_KIND_INSTALLATION));
    assert (!asp_kind_field_work (ASP_KIND_CONSULTATION) && !asp_kind_field_work (ASP_KIND_COMPLAINT));
    assert (asp_vocab_wo_state.count == ASP_WO_CANCELLED + 1);
    assert (asp_vocab_remedy.count == ASP_REMEDY_PAID_REPAIR + 1);
    assert (asp_vocab_unable_reason.count == ASP_UNABLE_PARTNER_REMOVED + 1);
    assert (asp_vocab_choice.count == ASP_CHOICE_OVERRIDE + 1);
    assert (asp_vocab_partner_status.count == ASP_PARTNER_REMOVED + 1);
    assert (asp_vocab_unroutable_reason.count == ASP_UNROUTABLE_REFUSALS + 1);
    assert (asp_vocab_clock.count == ASP_CLOCK_COUNT);
    assert (asp_vocab_clock_state.count == ASP_CLOCK_CANCELLED + 1);
    assert (asp_vocab_basis.count == ASP_BASIS_BUSINESS + 1);
    assert (asp_vocab_sla_role.count == ASP_SLA_ROLE_MANAGER + 1);
    assert (asp_vocab_pause.count == ASP_PAUSE_PARTS + 1);
    assert (asp_vocab_strike_step.count == ASP_STRIKE_REMOVAL + 1);
    assert (asp_vocab_strike_state.count == ASP_STRIKE_OVERTURNED + 1);
    assert (asp_vocab_strike_review.count == ASP_REVIEW_OVERTURN + 1);
    assert (asp_vocab_recovery_category.count == ASP_RECOVERY_OTHER + 1);
    assert (asp_vocab_recovery_outcome.count == ASP_RECOVERY_UNRESOLVED + 1);
    assert (asp_vocab_visit_state.count == ASP_VISIT_CANCELLED + 1);
    assert (asp_vocab_repair_status.count == ASP_REPAIR_NOT_FIXED + 1);
    assert (asp_vocab_arrival.count == ASP_ARRIVAL_NO_SHOW + 1);
    //  Round trips, and refusals of near misses.
    for (int v = 0; asp_vocabs [v]; v++)
        for (int i = 0; i < asp_vocabs [v]->count; i++) {
            const char *w = asp_vocab_name (asp_vocabs [v], i);
            assert (w && asp_vocab_parse (asp_vocabs [v], w) == i);
            assert (asp_vocab_parsen (asp_vocabs [v], w, strlen (w) - 1) == -1);
        }
    assert (asp_vocab_parse (&asp_vocab_stage, "on_site") == ASP_STAGE_ON_SITE);
    assert (asp_vocab_parse (&asp_vocab_stage, "ON_SITE") == -1);
    assert (asp_vocab_parse (&asp_vocab_stage, NULL) == -1);
    assert (asp_vocab_parse (&asp_vocab_stage, "") == -1);
    assert (asp_vocab_parsen (&asp_vocab_result, "fixed\0x", 7) == -1);     //  embedded NUL
    assert (asp_vocab_parsen (&asp_vocab_result, "fixedx", 5) == ASP_RESULT_FIXED);
    assert (asp_vocab_name (&asp_vocab_tier, 2) == NULL && asp_vocab_name (&asp_vocab_tier, -1) == NULL);
    assert (strcmp (asp_vocab_name (&asp_vocab_wo_state, ASP_WO_ASSIGNED), "assigned") == 0);
    char list [64];
    assert (strcmp (asp_vocab_join (&asp_vocab_tier, list, sizeof list), "standard, express") == 0);
    asp_vocab_join (&asp_vocab_kind, list, 10);
    assert (strlen (list) == 9);
    assert (asp_vocab_lookup ("result") == &asp_vocab_result && asp_vocab_lookup ("x") == NULL);
    //  Statuses are ordered: the order is the rank.
    assert (ASP_STATUS_RECEIVED < ASP_STATUS_ASSIGNED && ASP_STATUS_COMPLETED < ASP_STATUS_CLOSED);
}
