#include "notify_events.h"
#include "asp_config.h"
#include "asp_json.h"
#include "asp_log.h"
#include "notify_store.h"
#include <assert.h>
#include <ctype.h>

extern const char asp_lua_record [];
extern const char asp_lua_replay [];

#define S_STR_MAX 4096          //  longest string field we accept (notes)

typedef enum { F_STR, F_INT, F_UINT } s_kind_t;       //  F_UINT: not negative

typedef struct {
    const char *name;
    s_kind_t kind;
    bool required;
    size_t max;                 //  strings: bytes
} s_field_t;

//  What each event becomes, and the body fields it needs. Fields not
//  listed pass through untouched into "data" (forward compatible).
typedef struct {
    const char *type;
    const char *tpl;
    const char *audience;
    s_field_t fields [8];
} s_event_t;

static const s_event_t s_events [] = {
    { ASP_EV_TICKET_CREATED, "received", "customer", {
        { "customer_name", F_STR, true, 256 }, { "customer_phone", F_STR, true, 64 },
        { "type", F_STR, false, 64 }, { "summary", F_STR, false, S_STR_MAX },
        //  The customer's own e-mail, preferred channel and language
        //  (the archive's; each optional).
        { "customer_email", F_STR, false, 254 }, { "customer_channel", F_STR, false, 16 },
        { "customer_language", F_STR, false, 16 }, { "customer_tz", F_STR, false, 63 } } },
    { ASP_EV_WO_ASSIGNED, "partner_assigned", "customer", {
        { "wo_id", F_STR, true, ASP_CHILD_ID_MAX - 1 }, { "partner_id", F_STR, true, 256 } } },
    { ASP_EV_WO_PROGRESS, "progress", "customer", {
        { "wo_id", F_STR, true, ASP_CHILD_ID_MAX - 1 }, { "stage", F_STR, true, 64 },
        { "note", F_STR, false, S_STR_MAX }, { "appointment_ms", F_INT, false, 0 },
        { "seq", F_INT, false, 0 } } },
    { ASP_EV_WO_COMPLETED, "completed", "customer", {
        { "wo_id", F_STR, true, ASP_CHILD_ID_MAX - 1 }, { "result", F_STR, true, 64 },
        { "note", F_STR, false, S_STR_MAX }, { "technician", F_STR, false, 256 } } },
    { ASP_EV_VISIT_SCHEDULED, "survey_request", "customer", {
        { "visit_id", F_STR, true, ASP_CHILD_ID_MAX - 1 }, { "due_ms", F_INT, false, 0 } } },
    //  Feedback: the return visit's survey is still unanswered.
    { ASP_EV_VISIT_REMINDER, "survey_reminder", "customer", {
        { "visit_id", F_STR, true, ASP_CHILD_ID_MAX - 1 } } },
    { ASP_EV_TICKET_CLOSED, "closed", "customer", {
        { "reason", F_STR, false, 256 }, { "score", F_INT, false, 0 } } },
    { ASP_EV_TICKET_CANCELLED, "cancelled", "customer", {
        { "reason", F_STR, true, 512 }, { "wo_id", F_STR, false, ASP_CHILD_ID_MAX - 1 } } },
    { ASP_EV_TICKET_REDISPATCHED, "redispatched", "customer", {
        { "wo_id", F_STR, true, ASP_CHILD_ID_MAX - 1 }, { "cause", F_STR, false, 64 } } },
    //  Routing's dispatch: the customer hears about the appointment; ops
    //  about work no partner takes or a partner hands back.
    { ASP_EV_WO_APPOINTMENT, "appointment", "customer", {
        { "wo_id", F_STR, true, ASP_CHILD_ID_MAX - 1 }, { "partner_id", F_STR, true, 256 },
        { "appointment_ms", F_INT, true, 0 }, { "end_ms", F_INT, false, 0 },
        { "previous_ms", F_INT, false, 0 } } },
    { ASP_EV_WO_APPOINTMENT_MISSED, "appointment_missed", "customer", {
        { "wo_id", F_STR, true, ASP_CHILD_ID_MAX - 1 }, { "partner_id", F_STR, true, 256 },
        { "appointment_ms", F_INT, true, 0 } } },
    { ASP_EV_WO_UNROUTABLE, "unroutable", "ops", {
        { "wo_id", F_STR, true, ASP_CHILD_ID_MAX - 1 }, { "reason", F_STR, true, 64 },
        { "refusals", F_INT, false, 0 } } },
    { ASP_EV_WO_RETURNED, "returned", "ops", {
        { "wo_id", F_STR, true, ASP_CHILD_ID_MAX - 1 }, { "partner_id", F_STR, true, 256 },
        { "reason", F_STR, true, 64 }, { "note", F_STR, false, S_STR_MAX } } },
    //  A step of a partner's three-strike ladder (feedback), for ops: the
    //  text names the partner, the technician and the step.
    { ASP_EV_PARTNER_STRIKE, "strike", "ops", {
        { "partner_id", F_STR, true, 256 }, { "strike_id", F_STR, true, 2 * ASP_ID_MAX },
        { "notice", F_STR, true, 32 }, { "step", F_STR, false, 32 },
        { "technician_id", F_STR, false, 256 }, { "reason", F_STR, false, 512 } } },
    //  A service-recovery record resolved with compensation (intake sends
    //  it here only then): the customer's apology with what they get.
    { ASP_EV_RECOVERY_RECORDED, "recovery_resolved", "customer", {
        { "recovery_id", F_STR, true, ASP_ID_MAX - 1 }, { "category", F_STR, true, 32 },
        { "outcome", F_STR, true, 16 }, { "amount", F_UINT, true, 0 } } },
    //  The early warning (feedback): a partner's, region's or category's
    //  complaint or SLA rate rising, for ops; note says which and how much.
    { ASP_EV_QUALITY_WARNING, "quality_warning", "ops", {
        { "scope", F_STR, true, 16 }, { "id", F_STR, true, 256 }, { "metric", F_STR, true, 32 },
        { "recent", F_UINT, true, 0 }, { "baseline", F_UINT, true, 0 }, { "note", F_STR, true, 512 } } },
    { ASP_EV_SLA_WARNING, "sla_warning", "staff", {
        { "clock", F_STR, true, 32 }, { "due_ms", F_INT, true, 0 }, { "level", F_INT, false, 0 } } },
    { ASP_EV_SLA_BREACHED, "sla_breached", "staff", {
        { "clock", F_STR, true, 32 }, { "due_ms", F_INT, true, 0 }, { "level", F_INT, false, 0 } } },
    //  A step of the escalation ladder: for the staff it names (to: the
    //  recipients, comma-separated; the channel's receiver routes by them).
    { ASP_EV_SLA_ESCALATED, "sla_escalated", "staff", {
        { "clock", F_STR, true, 32 }, { "role", F_STR, true, 32 }, { "step", F_UINT, true, 0 },
        { "to", F_STR, false, 1000 }, { "due_ms", F_INT, false, 0 } } },
    //  The customer's apology, with what they are owed (minor units).
    { ASP_EV_SLA_COMPENSATION, "sla_compensation", "customer", {
        { "clock", F_STR, true, 32 }, { "amount", F_UINT, true, 0 }, { "rule", F_STR, true, 64 },
        { "approver", F_STR, true, 32 } } },
};
#define S_NEVENTS (sizeof s_events / sizeof s_events [0])

struct notify_events_t {
    asp_script_t *record;
    asp_script_t *replay;
    notify_bell_t *bell;
    notify_lang_t lang;
    const notify_config_t *config;
    const notify_templates_t *templates;    //  borrowed; replaced on a reload
    char channels [64];         //  the configured channels, "webhook,email,..."
    asp_counter_t *fallback;
    asp_svc_t *svc;
    zhashx_t *zones;            //  zone name -> asp_calendar_t (24x7), made on first use
    int64_t contact_ttl_s;
    int64_t max_queue;
    asp_counter_t *queued;
};

void
notify_id (const char *source_id, const char *tpl, char *out)
{
    zdigest_t *d = zdigest_new ();
    assert (d);
    zdigest_update (d, (const byte *) source_id, strlen (source_id));
    zdigest_update (d, (const byte *) "/", 1);
    zdigest_update (d, (const byte *) tpl, strlen (tpl));
    const char *hex = zdigest_string (d);
    out [0] = 'N';
    for (int i = 0; i < 24; i++)
        out [1 + i] = (char) tolower ((unsigned char) hex [i]);
    out [25] = 0;
    zdigest_destroy (&d);
}

static const s_event_t *
s_lookup (const char *type)
{
    for (size_t i = 0; i < S_NEVENTS; i++)
        if (strcmp (s_events [i].type, type) == 0)
            return &s_events [i];
    return NULL;
}

//  0 when the envelope carries what this event needs, else -1 and why.
static int
s_validate (const s_event_t *ev, const asp_envelope_t *env, char *reason, size_t reason_len)
{
    if (!*env->ticket) {
        snprintf (reason, reason_len, "%s: the envelope's ticket_id is required", env->type);
        return -1;
    }
    char *buf = (char *) malloc (S_STR_MAX + 1);
    assert (buf);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sizeof ev->fields / sizeof ev->fields [0] && ev->fields [i].name; i++) {
        const s_field_t *f = &ev->fields [i];
        int got;
        if (f->kind == F_STR) {
            got = asp_mp_get_str (env->body, f->name, buf, f->max + 1);
            if (got == 0 && f->required && !*buf)
                got = 1;
        }
        else {
            int64_t v = 0;
            got = asp_mp_get_int (env->body, f->name, &v);
            if (got == 0 && f->kind == F_UINT && v < 0)
                got = -1;
        }
        if (got == -1) {
            if (f->kind == F_STR)
                snprintf (reason, reason_len, "%s: field '%s' must be a string of at most %zu bytes",
                          env->type, f->name, f->max);
            else
                snprintf (reason, reason_len, "%s: field '%s' must be %s", env->type, f->name,
                          f->kind == F_UINT? "an integer, not negative": "an integer");
            rc = -1;
        }
        else
        if (got == 1 && f->required) {
            snprintf (reason, reason_len, "%s: field '%s' is required", env->type, f->name);
            rc = -1;
        }
    }
    free (buf);
    return rc;
}

//  The customer's e-mail, preferred channel and language from
//  ticket.created; a word notification does not know (a newer intake) is
//  dropped with a warning: the notification still goes, by the default.
static void
s_contact_prefs (const asp_envelope_t *env, char *email, size_t email_len, char *pref,
                 size_t pref_len, char *clang, size_t clang_len)
{
    asp_mp_get_str (env->body, "customer_email", email, email_len);
    char word [17] = "";
    asp_mp_get_str (env->body, "customer_channel", word, sizeof word);
    int channel = asp_vocab_parse (&asp_vocab_notify_channel, word);
    if (*word && (channel < 0 || channel == ASP_NOTIFY_FILE || channel == ASP_NOTIFY_STDOUT))
        asp_log_kv (ASP_LOG_WARN, "unknown preferred channel ignored", "ticket", env->ticket,
                    "channel", word, NULL);
    else
        snprintf (pref, pref_len, "%s", word);
    asp_mp_get_str (env->body, "customer_language", word, sizeof word);
    notify_lang_t lang;
    if (*word && notify_lang_parse (word, &lang))
        asp_log_kv (ASP_LOG_WARN, "unknown customer language ignored", "ticket", env->ticket,
                    "language", word, NULL);
    else
    if (*word)
        snprintf (clang, clang_len, "%s", notify_lang_name (lang));
}

//  The calendar of zone, for showing times there (cached; NULL when the
//  zone is unknown here: the times are shown in TZ, and the log says so).
static const asp_calendar_t *
s_zone (notify_events_t *self, const char *zone)
{
    if (!zone || !*zone)
        return NULL;
    asp_calendar_t *cal = (asp_calendar_t *) zhashx_lookup (self->zones, zone);
    if (cal)
        return cal;
    char why [200];
    cal = asp_calendar_new_24x7 ("tz", zone, why, sizeof why);
    if (!cal) {
        asp_log_kv (ASP_LOG_WARN, "customer's time zone unknown here; times in TZ", "reason", why, NULL);
        return NULL;
    }
    if (zhashx_size (self->zones) >= 256)
        zhashx_purge (self->zones);         //  bounded; made again when needed
    zhashx_insert (self->zones, zone, cal);
    return cal;
}

//  The customer's zone for an event that shows them a time: ticket.created
//  names it; later events read it from the contact (one HGET; only events
//  with an appointment time). "" when none or unknown.
static void
s_customer_zone (notify_events_t *self, const s_event_t *ev, const asp_envelope_t *env, char *zone,
                 size_t len)
{
    *zone = 0;
    if (strcmp (ev->audience, "customer") != 0)
        return;
    if (strcmp (env->type, ASP_EV_TICKET_CREATED) == 0) {
        asp_mp_get_str (env->body, "customer_tz", zone, len);
        return;
    }
    int64_t ms;
    if (asp_mp_get_int (env->body, "appointment_ms", &ms) != 0 && asp_mp_get_int (env->body, "previous_ms", &ms) != 0)
        return;
    char key [ASP_KEY_MAX];
    asp_key (key, sizeof key, asp_shard_of (env->ticket), NOTIFY_KEY_CONTACT, env->ticket);
    redisReply *r = asp_rds_cmd (asp_svc_rds (self->svc), "HGET %s tz", key);
    if (r && r->type == REDIS_REPLY_STRING)
        snprintf (zone, len, "%s", r->str);
    if (r)
        freeReplyObject (r);
}

static asp_txn_t *
s_prepare (asp_svc_t *svc, const asp_envelope_t *env, char *reason, size_t reason_len, void *arg)
{
    (void) svc;
    notify_events_t *self = (notify_events_t *) arg;
    const s_event_t *ev = s_lookup (env->type);
    assert (ev);                //  registered only for the types in the table
    if (s_validate (ev, env, reason, reason_len))
        return NULL;
    cJSON *data = asp_json_from_mp (env->body);
    char *data_json = cJSON_PrintUnformatted (data);
    cJSON_Delete (data);
    assert (data_json);
    char nid [ASP_ID_MAX];
    notify_id (env->id, ev->tpl, nid);
    char name [257] = "", phone [65] = "", email [255] = "", pref [17] = "", clang [17] = "";
    const char *contact = "get";
    if (strcmp (ev->audience, "customer") != 0)
        contact = "none";           //  staff, ops: the channel's receiver routes by audience
    else
    if (strcmp (env->type, ASP_EV_TICKET_CREATED) == 0) {
        contact = "set";
        asp_mp_get_str (env->body, "customer_name", name, sizeof name);
        asp_mp_get_str (env->body, "customer_phone", phone, sizeof phone);
        s_contact_prefs (env, email, sizeof email, pref, sizeof pref, clang, sizeof clang);
    }
    char now [24];
    snprintf (now, sizeof now, "%lld", (long long) asp_now_ms ());
    asp_mpmap_t *a = asp_mpmap_new ();
    asp_mpmap_str (a, "id", nid);
    asp_mpmap_str (a, "ticket", env->ticket);
    asp_mpmap_str (a, "event", env->type);
    asp_mpmap_str (a, "template", ev->tpl);
    asp_mpmap_str (a, "audience", ev->audience);
    asp_mpmap_str (a, "lang", notify_lang_name (self->lang));
    //  The words in every language: the script picks the customer's,
    //  which only it knows (the contact record), in the same round trip.
    char zone [64];
    s_customer_zone (self, ev, env, zone, sizeof zone);
    const asp_calendar_t *cal = s_zone (self, zone);
    for (int lang = 0; lang < NOTIFY_LANG_COUNT; lang++) {
        char *text = notify_text_render (self->templates, (notify_lang_t) lang, ev->tpl, env->ticket, env->body,
                                         cal);
        char *subject = notify_text_subject (self->templates, (notify_lang_t) lang, env->ticket);
        assert (text && subject);   //  every template has words in every language
        char field [32];
        snprintf (field, sizeof field, "text.%s", notify_lang_name ((notify_lang_t) lang));
        asp_mpmap_str (a, field, text);
        snprintf (field, sizeof field, "subject.%s", notify_lang_name ((notify_lang_t) lang));
        asp_mpmap_str (a, field, subject);
        free (text);
        free (subject);
    }
    asp_mpmap_str (a, "data", data_json);
    asp_mpmap_str (a, "now", now);
    asp_mpmap_str (a, "source", env->id);
    asp_mpmap_str (a, "trace", env->trace);
    asp_mpmap_str (a, "contact", contact);
    asp_mpmap_str (a, "name", name);
    asp_mpmap_str (a, "phone", phone);
    asp_mpmap_str (a, "email", email);
    asp_mpmap_str (a, "channel", pref);
    asp_mpmap_str (a, "clang", clang);
    asp_mpmap_str (a, "tz", zone);
    asp_mpmap_str (a, "channels", self->channels);
    asp_mpmap_str (a, "default", asp_vocab_name (&asp_vocab_notify_channel, self->config->fallback));
    asp_mpmap_int (a, "contact_ttl_s", self->contact_ttl_s);
    //  The bound is split evenly over the shards' queues.
    asp_mpmap_int (a, "max_waiting", (self->max_queue + ASP_SHARDS - 1) / ASP_SHARDS);
    asp_txn_t *txn = asp_txn_new (self->record, asp_shard_of (env->ticket));
    asp_txn_inbox (txn, env->id);
    asp_txn_key (txn, NOTIFY_KEY_NOTE, nid);
    asp_txn_key (txn, NOTIFY_KEY_CONTACT, env->ticket);
    asp_txn_key (txn, NOTIFY_KEY_PENDING);
    asp_txn_key (txn, NOTIFY_KEY_RETRY);
    asp_txn_arg_map (txn, &a);
    cJSON_free (data_json);
    return txn;
}

static void
s_committed (asp_svc_t *svc, const asp_envelope_t *env, asp_txn_t *txn, void *arg)
{
    (void) svc;
    notify_events_t *self = (notify_events_t *) arg;
    const s_event_t *ev = s_lookup (env->type);
    if (asp_txn_outcome (txn) == ASP_TXN_OK) {
        asp_counter_inc (self->queued);
        if (self->bell)
            notify_bell_ring (self->bell);
        const char *nid = asp_txn_reply_str (txn, 2);
        const char *phone = asp_txn_reply_str (txn, 3);
        char to [64];
        if (phone && *phone)
            asp_mask_phone (phone, to, sizeof to);
        else
            snprintf (to, sizeof to, "%s", strcmp (ev->audience, "customer") != 0? ev->audience: "unknown");
        const char *channel = asp_txn_reply_str (txn, 4);
        const char *wanted = asp_txn_reply_str (txn, 5);
        asp_log_kv (ASP_LOG_INFO, "notification queued", "id", nid? nid: "", "ticket", env->ticket,
                    "event", env->type, "template", ev->tpl, "to", to, "channel", channel? channel: "",
                    "source", env->id, NULL);
        if (wanted && *wanted) {
            //  Never silently: the customer asked for a channel we lack.
            asp_counter_inc (self->fallback);
            asp_log_kv (ASP_LOG_WARN, "preferred channel not configured here; sent by the default",
                        "id", nid? nid: "", "ticket", env->ticket, "preferred", wanted,
                        "channel", channel? channel: "", NULL);
        }
    }
    else
        asp_log_kv (ASP_LOG_DEBUG, "event already notified", "ticket", env->ticket, "event", env->type,
                    "source", env->id, "outcome", asp_txn_outcome_name (asp_txn_outcome (txn)), NULL);
}

//  notification.replay {id, by}: a dead letter goes back to pending
//  (replay.lua), in its ticket's shard, once per command.
static const s_event_t s_replay = { ASP_EV_NOTIFICATION_REPLAY, "", "", {
    { "id", F_STR, true, ASP_ID_MAX - 1 }, { "by", F_STR, true, 256 } } };

static asp_txn_t *
s_replay_prepare (asp_svc_t *svc, const asp_envelope_t *env, char *reason, size_t reason_len, void *arg)
{
    (void) svc;
    notify_events_t *self = (notify_events_t *) arg;
    if (s_validate (&s_replay, env, reason, reason_len))
        return NULL;
    char id [ASP_ID_MAX], by [257];
    asp_mp_get_str (env->body, "id", id, sizeof id);
    asp_mp_get_str (env->body, "by", by, sizeof by);
    if (!asp_notify_id_valid (id)) {
        snprintf (reason, reason_len, "%s: field 'id' must be a notification id (N and 24 hex digits)", env->type);
        return NULL;
    }
    asp_txn_t *txn = asp_txn_new (self->replay, asp_shard_of (env->ticket));
    asp_txn_inbox (txn, env->id);
    asp_txn_key (txn, NOTIFY_KEY_NOTE, id);
    asp_txn_key (txn, NOTIFY_KEY_DEAD);
    asp_txn_key (txn, NOTIFY_KEY_PENDING);
    asp_txn_arg (txn, "%s", id);
    asp_txn_arg (txn, "%lld", (long long) asp_now_ms ());
    asp_txn_arg (txn, "%s", by);
    return txn;
}

static void
s_replay_committed (asp_svc_t *svc, const asp_envelope_t *env, asp_txn_t *txn, void *arg)
{
    (void) svc;
    notify_events_t *self = (notify_events_t *) arg;
    char id [ASP_ID_MAX] = "", by [257] = "";
    asp_mp_get_str (env->body, "id", id, sizeof id);
    asp_mp_get_str (env->body, "by", by, sizeof by);
    asp_txn_outcome_t o = asp_txn_outcome (txn);
    if (o == ASP_TXN_OK && self->bell)
        notify_bell_ring (self->bell);
    asp_log_kv (o == ASP_TXN_OK? ASP_LOG_INFO: ASP_LOG_WARN,
                o == ASP_TXN_OK? "dead letter replayed": "replay ignored: not a dead letter",
                "id", id, "ticket", env->ticket, "by", by, "outcome", asp_txn_outcome_name (o), NULL);
}

static void
s_zone_destroy (void **item)
{
    asp_calendar_destroy ((asp_calendar_t **) item);
}

notify_events_t *
notify_events_new (asp_svc_t *svc, notify_lang_t lang, const notify_config_t *config,
                   const notify_templates_t *templates, asp_counter_t *queued, asp_counter_t *fallback,
                   notify_bell_t *bell)
{
    notify_events_t *self = (notify_events_t *) calloc (1, sizeof *self);
    assert (self);
    self->templates = templates;
    self->lang = lang;
    self->config = config;
    self->svc = svc;
    self->zones = zhashx_new ();
    zhashx_set_destructor (self->zones, s_zone_destroy);
    self->fallback = fallback;
    for (int c = 0; c < ASP_NOTIFY_CHANNELS; c++)
        if (config->configured [c]) {
            size_t used = strlen (self->channels);
            snprintf (self->channels + used, sizeof self->channels - used, "%s%s", used? ",": "",
                      asp_vocab_name (&asp_vocab_notify_channel, c));
        }
    self->queued = queued;
    self->bell = bell;
    self->contact_ttl_s = asp_cfg_int ("ASP_NOTIFY_CONTACT_TTL_S", 90 * 86400, 60, 10LL * 365 * 86400);
    self->max_queue = asp_cfg_int ("ASP_NOTIFY_MAX_QUEUE", 1000000, 1, 1000000000);
    self->record = asp_svc_script (svc, "notify_record", asp_lua_record);
    for (size_t i = 0; i < S_NEVENTS; i++)
        asp_svc_on (svc, s_events [i].type, s_prepare, s_committed, self);
    self->replay = asp_svc_script (svc, "notify_replay", asp_lua_replay);
    asp_svc_on (svc, ASP_EV_NOTIFICATION_REPLAY, s_replay_prepare, s_replay_committed, self);
    return self;
}

void
notify_events_set_templates (notify_events_t *self, const notify_templates_t *templates)
{
    self->templates = templates;
}

void
notify_events_destroy (notify_events_t **self_p)
{
    if (*self_p) {
        zhashx_destroy (&(*self_p)->zones);
        free (*self_p);
        *self_p = NULL;
    }
}

//  Decodes an envelope built from type, ticket and a body, for the test.
//  The envelope's strings point into *data: free it after the envelope.
static asp_envelope_t *
s_test_env (const char *type, const char *ticket, asp_mpmap_t **body_p, char **data)
{
    asp_msg_t *msg = asp_msg_new (type, ticket, NULL);
    asp_mpmap_destroy (&msg->body);
    msg->body = *body_p;
    *body_p = NULL;
    size_t size;
    asp_msg_encode (msg, data, &size);
    char err [160];
    asp_envelope_t *env = asp_envelope_decode (*data, size, err, sizeof err);
    assert (env);
    asp_msg_destroy (&msg);
    return env;
}

//  Validates an envelope; returns the result and frees it.
static int
s_test_validate (const char *type, const char *ticket, asp_mpmap_t *body, char *why, size_t len)
{
    char *data;
    asp_envelope_t *env = s_test_env (type, ticket, &body, &data);
    int rc = s_validate (s_lookup (env->type), env, why, len);
    asp_envelope_destroy (&env);
    free (data);
    return rc;
}

void
notify_events_test (void)
{
    //  Ids: deterministic per (message, template), valid ids, distinct.
    char a [ASP_ID_MAX], b [ASP_ID_MAX], c [ASP_ID_MAX];
    notify_id ("m1abc", "received", a);
    notify_id ("m1abc", "received", b);
    notify_id ("m1abc", "closed", c);
    assert (strcmp (a, b) == 0 && strcmp (a, c) != 0);
    assert (strlen (a) == 25 && a [0] == 'N' && asp_id_valid (a, strlen (a)));

    //  Every event routed to notification has an entry, every entry words.
    const char *routed [] = { ASP_EV_TICKET_CREATED, ASP_EV_WO_ASSIGNED, ASP_EV_WO_PROGRESS,
        ASP_EV_WO_COMPLETED, ASP_EV_VISIT_SCHEDULED, ASP_EV_TICKET_CLOSED, ASP_EV_SLA_WARNING,
        ASP_EV_SLA_BREACHED, ASP_EV_SLA_ESCALATED, ASP_EV_SLA_COMPENSATION, ASP_EV_TICKET_CANCELLED, ASP_EV_TICKET_REDISPATCHED, ASP_EV_WO_APPOINTMENT,
        ASP_EV_WO_APPOINTMENT_MISSED, ASP_EV_WO_UNROUTABLE, ASP_EV_WO_RETURNED };
    for (size_t i = 0; i < sizeof routed / sizeof routed [0]; i++) {
        assert (asp_event_subscribers (routed [i]) & ASP_BIT (ASP_SVC_NOTIFICATION));
        assert (s_lookup (routed [i]));
    }
    for (size_t i = 0; i < S_NEVENTS; i++)
        assert (asp_event_subscribers (s_events [i].type) & ASP_BIT (ASP_SVC_NOTIFICATION));

    char why [200];
    asp_mpmap_t *body = asp_mpmap_new ();
    asp_mpmap_str (body, "wo_id", "WT1");
    asp_mpmap_str (body, "partner_id", "P1");
    assert (s_test_validate (ASP_EV_WO_ASSIGNED, "T1", body, why, sizeof why) == 0);

    //  The id limit: the work order of the longest ticket id passes, one
    //  character more does not.
    char wo [ASP_CHILD_ID_MAX + 1];
    memset (wo, 'x', sizeof wo);
    wo [0] = 'W';
    wo [ASP_CHILD_ID_MAX - 1] = 0;
    body = asp_mpmap_new ();
    asp_mpmap_str (body, "wo_id", wo);
    asp_mpmap_str (body, "partner_id", "P1");
    assert (s_test_validate (ASP_EV_WO_ASSIGNED, "T1", body, why, sizeof why) == 0);
    wo [ASP_CHILD_ID_MAX - 1] = 'x';
    wo [ASP_CHILD_ID_MAX] = 0;
    body = asp_mpmap_new ();
    asp_mpmap_str (body, "wo_id", wo);
    asp_mpmap_str (body, "partner_id", "P1");
    assert (s_test_validate (ASP_EV_WO_ASSIGNED, "T1", body, why, sizeof why) == -1);

    body = asp_mpmap_new ();
    asp_mpmap_str (body, "wo_id", "WT1");
    asp_mpmap_int (body, "partner_id", 7);
    assert (s_test_validate (ASP_EV_WO_ASSIGNED, "T1", body, why, sizeof why) == -1);
    assert (strstr (why, "'partner_id' must be a string"));

    body = asp_mpmap_new ();
    asp_mpmap_str (body, "clock", "response");
    assert (s_test_validate (ASP_EV_SLA_WARNING, "T1", body, why, sizeof why) == -1);
    assert (strstr (why, "'due_ms' is required"));

    body = asp_mpmap_new ();
    asp_mpmap_str (body, "customer_name", "Li");
    asp_mpmap_str (body, "customer_phone", "");
    assert (s_test_validate (ASP_EV_TICKET_CREATED, "T1", body, why, sizeof why) == -1);
    assert (strstr (why, "'customer_phone' is required"));

    body = asp_mpmap_new ();
    asp_mpmap_str (body, "wo_id", "WT1");
    asp_mpmap_str (body, "partner_id", "P1");
    asp_mpmap_str (body, "appointment_ms", "tomorrow");
    assert (s_test_validate (ASP_EV_WO_APPOINTMENT, "T1", body, why, sizeof why) == -1);
    assert (strstr (why, "'appointment_ms' must be an integer"));

    body = asp_mpmap_new ();
    asp_mpmap_str (body, "wo_id", "WT1");
    assert (s_test_validate (ASP_EV_WO_UNROUTABLE, "T1", body, why, sizeof why) == -1);
    assert (strstr (why, "'reason' is required"));

    body = asp_mpmap_new ();
    asp_mpmap_str (body, "clock", "onsite_arrival");
    asp_mpmap_int (body, "amount", -100);
    asp_mpmap_str (body, "rule", "late_onsite");
    asp_mpmap_str (body, "approver", "agent");
    assert (s_test_validate (ASP_EV_SLA_COMPENSATION, "T1", body, why, sizeof why) == -1);
    assert (strstr (why, "'amount' must be an integer, not negative"));

    body = asp_mpmap_new ();
    asp_mpmap_str (body, "clock", "resolution");
    asp_mpmap_str (body, "role", "manager");
    asp_mpmap_int (body, "step", 2);
    asp_mpmap_int (body, "to", 7);
    assert (s_test_validate (ASP_EV_SLA_ESCALATED, "T1", body, why, sizeof why) == -1);
    assert (strstr (why, "'to' must be a string"));

    body = asp_mpmap_new ();
    assert (s_test_validate (ASP_EV_TICKET_CLOSED, NULL, body, why, sizeof why) == -1);
    assert (strstr (why, "ticket_id is required"));
    printf ("notify_events_test: ok\n");
}
