#include "intake_events.h"
#include "asp_json.h"
#include "intake_ticket.h"

extern const char asp_lua_ticket [];
extern const char asp_lua_event [];

typedef struct {
    asp_script_t *script;
} s_ctx_t;

static s_ctx_t s_ctx;

//  Fields an event may set on the ticket record, copied when present and
//  the event is about the ticket's current work order (event.lua).
static const char *s_copied [] = { "partner_id", "wo_id", "score", "result", NULL };
#define S_COPIED_MAX 4

static asp_txn_t *
s_prepare (asp_svc_t *svc, const asp_envelope_t *env, char *reason, size_t reason_len, void *arg)
{
    (void) svc;
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
    char *entry = intake_timeline_entry (env->type, env->time_ms, asp_json_from_mp (env->body));
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
    const char *fields [2 * S_COPIED_MAX];
    size_t nfields = 0;
    for (int i = 0; s_copied [i]; i++) {
        const msgpack_object *v = asp_mp_get (env->body, s_copied [i]);
        if (!v)
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
    asp_mpmap_strv (a, "fields", fields, nfields);
    asp_txn_t *txn = asp_txn_new (ctx->script, asp_shard_of (env->ticket));
    asp_txn_inbox (txn, env->id);
    intake_ticket_keys (txn, env->ticket);
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
        ASP_EV_SLA_WARNING, ASP_EV_SLA_BREACHED, NULL
    };
    for (int i = 0; types [i]; i++)
        asp_svc_on (svc, types [i], s_prepare, NULL, &s_ctx);
}
