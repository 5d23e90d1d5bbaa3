#include "intake_events.h"
#include "asp_json.h"
#include "intake_archive.h"
#include "intake_dispatch.h"
#include "intake_notify.h"
#include "intake_sla.h"
#include "intake_ticket.h"
#include <string.h>

extern const char asp_lua_ticket [];
extern const char asp_lua_event [];

typedef struct {
    asp_script_t *script;
} s_ctx_t;

static s_ctx_t s_ctx;

//  An installation's completion makes its partner and technician the
//  unit's installer of record, and a repair ticket's work order completed
//  fixed makes them the unit's latest repair (for feedback's repeat
//  repairs: ticket.created carries both), in the same script as the event
//  (the unit lives in the ticket's shard). The script needs the unit's
//  key, so the ticket's serial and type are read here: they never change
//  once the ticket exists, and the script checks the serial (a failed read
//  is retried, not guessed). Adds the fields to a and returns the serial
//  of the unit key to pass ("" for none).
static const char *
s_install (asp_svc_t *svc, const asp_envelope_t *env, asp_mpmap_t *a, char *serial, size_t len)
{
    char result [16], partner [64] = "", tech [64] = "";
    *serial = 0;
    if (strcmp (env->type, ASP_EV_WO_COMPLETED) != 0
    ||  asp_mp_get_str (env->body, "result", result, sizeof result) != 0)
        return "";
    int kind = asp_vocab_parse (&asp_vocab_result, result);
    if (kind != ASP_RESULT_INSTALLED && kind != ASP_RESULT_FIXED)
        return "";
    asp_mp_get_str (env->body, "partner_id", partner, sizeof partner);
    asp_mp_get_str (env->body, "technician", tech, sizeof tech);
    char key [ASP_KEY_MAX];
    intake_key (key, sizeof key, INTAKE_KEY_TICKET, env->ticket);
    redisReply *r = asp_rds_cmd (asp_svc_rds (svc), "HMGET %s serial type", key);
    bool repair = false;
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
        if (r->element [0]->type == REDIS_REPLY_STRING)
            snprintf (serial, len, "%s", r->element [0]->str);
        repair = r->element [1]->type == REDIS_REPLY_STRING
              && asp_vocab_parse (&asp_vocab_kind, r->element [1]->str) == ASP_KIND_REPAIR;
    }
    else
        snprintf (serial, len, "?");            //  never a serial: the script refuses
    if (r)
        freeReplyObject (r);
    if (kind == ASP_RESULT_FIXED && !repair)
        return "";
    //  Tickets from before the archive may live outside their unit's shard.
    bool unit = *serial && *serial != '?' && asp_shard_of (serial) == asp_shard_of (env->ticket);
    asp_mpmap_bool (a, kind == ASP_RESULT_INSTALLED? "install": "repair", true);
    asp_mpmap_str (a, "serial", serial);
    asp_mpmap_bool (a, "unit", unit);
    asp_mpmap_str (a, "partner", partner);
    asp_mpmap_str (a, "technician", tech);
    asp_mpmap_int (a, "date_ms", env->time_ms);
    return unit? serial: "";
}

//  Fields an event may set on the ticket record, copied when present and
//  the event is about the ticket's current work order (event.lua).
static const char *s_copied [] = { "partner_id", "wo_id", "score", "result", NULL };
#define S_COPIED_MAX 4

//  What the ops view keeps of the event (event.lua: sla, due, parts): an
//  SLA clock's risk, and whether the partner waits for parts (its latest
//  progress stage says so; a later stage or the completion ends it).
static void
s_ops_args (const asp_envelope_t *env, asp_mpmap_t *a)
{
    const char *sla = streq (env->type, ASP_EV_SLA_WARNING)? "warning":
                      streq (env->type, ASP_EV_SLA_BREACHED)? "breached":
                      streq (env->type, ASP_EV_SLA_ESCALATED)? "escalated": "";
    int64_t due = 0;
    if (*sla && asp_mp_get_int (env->body, "due_ms", &due) != 0)
        due = 0;
    asp_mpmap_str (a, "sla", sla);
    asp_mpmap_int (a, "due", due);
    char stage [32] = "";
    const char *parts = "";
    if (streq (env->type, ASP_EV_WO_PROGRESS) && asp_mp_get_str (env->body, "stage", stage, sizeof stage) == 0)
        parts = streq (stage, "waiting_parts")? "1": streq (stage, "note")? "": "0";
    else
    if (streq (env->type, ASP_EV_WO_COMPLETED))
        parts = "0";
    asp_mpmap_str (a, "parts", parts);
}

static asp_txn_t *
s_prepare (asp_svc_t *svc, const asp_envelope_t *env, char *reason, size_t reason_len, void *arg)
{
    s_ctx_t *ctx = (s_ctx_t *) arg;
    if (!*env->ticket) {
        snprintf (reason, reason_len, "%s needs a ticket id", env->type);
        return NULL;
    }
    int rank;
    const char *status = intake_event_status (env->type, &rank);
    asp_mpmap_t *a = asp_mpmap_new ();
    asp_mpmap_int (a, "rank", rank);
    asp_mpmap_str (a, "status", status? status: "");
    bool routed = strncmp (env->type, "workorder.", 10) == 0;      //  routing's
    asp_mpmap_int (a, "time", env->time_ms);
    asp_mpmap_bool (a, "from_routing", routed);
    //  What routing's dispatch events and sla-timer's add to the ticket
    //  (checked first).
    cJSON *data = asp_json_from_mp (env->body);
    bool copy = true, alert = false;
    int refused = intake_sla_is (env->type)? intake_sla_event (env, a, &alert, reason, reason_len):
                  intake_notify_is (env->type)? intake_notify_event (env, a, reason, reason_len):
                  intake_dispatch_event (env, a, data, &copy, reason, reason_len);
    if (refused) {
        cJSON_Delete (data);
        asp_mpmap_destroy (&a);
        return NULL;
    }
    s_ops_args (env, a);
    char *entry = intake_timeline_entry (env->type, env->time_ms, data);
    asp_mpmap_str (a, "entry", entry);
    cJSON_free (entry);
    char now [24];
    snprintf (now, sizeof now, "%lld", (long long) asp_now_ms ());
    asp_mpmap_str (a, "now", now);
    char wo_id [ASP_CHILD_ID_MAX] = "";
    if (asp_mp_get_str (env->body, "wo_id", wo_id, sizeof wo_id) < 0) {
        snprintf (reason, reason_len, "field wo_id must be a work order id");
        asp_mpmap_destroy (&a);
        return NULL;
    }
    asp_mpmap_str (a, "wo_id", wo_id);
    //  field, value, field, value...
    char values [2 * S_COPIED_MAX][128];
    const char *fields [2 * S_COPIED_MAX + 2];
    size_t nfields = 0;
    for (int i = 0; copy && s_copied [i]; i++) {
        const msgpack_object *v = asp_mp_get (env->body, s_copied [i]);
        //  A work order's score is the partner's (workorder.offered), not
        //  the customer's (ticket.closed).
        if (!v || (routed && streq (s_copied [i], "score")))
            continue;
        char *buf = values [nfields + 1];
        size_t bufsize = sizeof values [0];
        int64_t n;
        if (asp_mp_get_str (env->body, s_copied [i], buf, bufsize) == 0)
            ;
        else
        if (asp_mp_get_int (env->body, s_copied [i], &n) == 0)
            snprintf (buf, bufsize, "%lld", (long long) n);
        else {
            snprintf (reason, reason_len, "field %s has the wrong type", s_copied [i]);
            asp_mpmap_destroy (&a);
            return NULL;
        }
        fields [nfields] = s_copied [i];
        fields [nfields + 1] = buf;
        nfields += 2;
    }
    //  A warned, breached or escalated clock puts the ticket at risk until
    //  it closes (search's at_risk filter walks only open tickets).
    if (alert) {
        fields [nfields++] = "sla_alert";
        fields [nfields++] = "1";
    }
    asp_mpmap_strv (a, "fields", fields, nfields);
    char serial [80];       //  older tickets took serials of up to 64 bytes
    const char *unit = s_install (svc, env, a, serial, sizeof serial);
    asp_txn_t *txn = asp_txn_new (ctx->script, asp_shard_of (env->ticket));
    asp_txn_inbox (txn, env->id);
    intake_ticket_keys (txn, env->ticket);
    if (*unit)
        asp_txn_key (txn, INTAKE_KEY_UNIT, unit);
    asp_txn_arg_map (txn, &a);
    return txn;
}

void
intake_events_register (asp_svc_t *svc)
{
    s_ctx.script = asp_svc_script_lib (svc, "intake_event", asp_lua_ticket, asp_lua_event);
    const char *types [] = {
        ASP_EV_WO_OFFERED, ASP_EV_WO_DECLINED, ASP_EV_WO_ASSIGNED, ASP_EV_WO_PROGRESS,
        ASP_EV_WO_COMPLETED, ASP_EV_VISIT_SCHEDULED, ASP_EV_TICKET_CLOSED,
        ASP_EV_SLA_WARNING, ASP_EV_SLA_BREACHED, ASP_EV_SLA_ESCALATED, ASP_EV_SLA_COMPENSATION,
        ASP_EV_WO_UNROUTABLE, ASP_EV_WO_APPOINTMENT,
        ASP_EV_WO_APPOINTMENT_MISSED, ASP_EV_WO_RETURNED,
        ASP_EV_NOTIFICATION_DELIVERED, ASP_EV_NOTIFICATION_DEAD, NULL
    };
    for (int i = 0; types [i]; i++)
        asp_svc_on (svc, types [i], s_prepare, NULL, &s_ctx);
}
