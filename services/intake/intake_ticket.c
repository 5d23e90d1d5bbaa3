#include "intake_ticket.h"
#include <assert.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *event;
    asp_status_t status;
} s_moves [] = {
    { "workorder.offered",   ASP_STATUS_OFFERED },
    { "workorder.assigned",  ASP_STATUS_ASSIGNED },
    { "workorder.progress",  ASP_STATUS_IN_PROGRESS },
    { "workorder.completed", ASP_STATUS_COMPLETED },
    { "visit.scheduled",     ASP_STATUS_VISIT_SCHEDULED },
    { "ticket.closed",       ASP_STATUS_CLOSED },
};

void
intake_ticket_keys (asp_txn_t *txn, const char *id)
{
    assert (asp_txn_shard (txn) == asp_shard_of (id));
    asp_txn_key (txn, INTAKE_KEY_TICKET, id);
    asp_txn_key (txn, INTAKE_KEY_TIMELINE, id);
    asp_txn_key (txn, INTAKE_KEY_COUNTS);
    asp_txn_key (txn, INTAKE_KEY_OPEN);
    asp_txn_key (txn, INTAKE_KEY_ALL);
    asp_txn_key (txn, INTAKE_KEY_OWNER);
    asp_txn_key (txn, INTAKE_KEY_UNROUTABLE);
    asp_txn_key (txn, INTAKE_KEY_OPS);
    asp_txn_key (txn, INTAKE_KEY_FEED);
    asp_txn_key (txn, INTAKE_KEY_SLA_DUE);
    asp_txn_key (txn, INTAKE_KEY_SLA_BREACHED);
    asp_txn_key (txn, INTAKE_KEY_SLA_ESCALATED);
}

void
intake_key (char *buf, size_t len, const char *fmt, const char *id)
{
    asp_key (buf, len, asp_shard_of (id), fmt, id);
}

const char *
intake_event_status (const char *event_type, int *rank)
{
    for (size_t i = 0; i < sizeof s_moves / sizeof s_moves [0]; i++)
        if (strcmp (s_moves [i].event, event_type) == 0) {
            *rank = (int) s_moves [i].status;
            return asp_vocab_name (&asp_vocab_status, s_moves [i].status);
        }
    *rank = 0;
    return NULL;
}

char *
intake_timeline_entry (const char *type, int64_t time_ms, cJSON *data)
{
    cJSON *e = cJSON_CreateObject ();
    cJSON_AddStringToObject (e, "type", type);
    cJSON_AddNumberToObject (e, "time_ms", (double) time_ms);
    cJSON_AddItemToObject (e, "data", data? data: cJSON_CreateObject ());
    char *s = cJSON_PrintUnformatted (e);
    cJSON_Delete (e);
    return s;
}

void
intake_ticket_test (void)
{
    int rank;
    assert (strcmp (intake_event_status ("ticket.closed", &rank), "closed") == 0);
    assert (rank == ASP_STATUS_CLOSED);
    assert (intake_event_status ("sla.breached", &rank) == NULL && rank == 0);
    char *s = intake_timeline_entry ("x", 5, NULL);
    assert (strcmp (s, "{\"type\":\"x\",\"time_ms\":5,\"data\":{}}") == 0);
    cJSON_free (s);
    char key [ASP_KEY_MAX];
    intake_key (key, sizeof key, INTAKE_KEY_TIMELINE, "T1");
    char want [64];
    snprintf (want, sizeof want, "{s%u}:t:T1:tl", asp_shard_of ("T1"));
    assert (strcmp (key, want) == 0);
}
