/*  asp_partner: the partner side of ASPW/1. See asp_partner.h and
    docs/partner-protocol.md.

    The connection is a small state machine driven by one zloop timer:

        WAITING --(reconnect_at)--> CONNECTING --(WELCOME)--> ACTIVE
           ^                            |                        |
           +---- lost: no WELCOME, silence, DISCONNECT, not_ready +

    Losing a connection always destroys the socket (a fresh socket drops
    whatever was queued for the dead peer) and waits: reconnect_ms, doubled
    on each failure up to reconnect_max_ms, back to reconnect_ms after a
    WELCOME.

    Commands that need a CONFIRM live in the pending list, in the order the
    caller made them, until a CONFIRM or ERROR names them. The list is sent
    again, in order, after every WELCOME, and each entry again when it has
    waited 2 x heartbeat. Order matters: the platform must see ACCEPT before
    PROGRESS before COMPLETE of the same work order.                       */
#include "asp_partner.h"
#include "asp_id.h"
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WHY_MAX             192
#define MAX_RECV_BATCH      64          //  messages read per reader callback
#define MAX_PENDING_PER_JOB 64          //  unconfirmed PROGRESS per job
#define DONE_KEEP_MS        (10 * 60 * 1000)
#define DONE_KEEP_MAX       1024

typedef enum { S_IDLE, S_WAITING, S_CONNECTING, S_ACTIVE } conn_state_t;

//  A command waiting for CONFIRM or ERROR.
typedef struct {
    aspw_command_t cmd;
    char wo_id [ASPW_STR_MAX + 1];
    char offer_id [ASPW_STR_MAX + 1];           //  ACCEPT, DECLINE
    char reason [ASPW_STR_MAX + 1];             //  DECLINE
    int64_t seq;                                //  PROGRESS
    char *body;
    size_t size;
    int64_t sent_ms;        //  last send (mono ms); 0 never sent, -1 sent on an old connection
    int sends;              //  sends on this connection, all unanswered
    void *handle;                               //  in self->pending
} pending_t;

//  Answers still owed to ACCEPT/DECLINE sends for an offer we no longer
//  wait on (withdrawn, re-offered under a new offer_id, or answered while
//  resent copies were in flight). The platform answers in order, so when an
//  answer does not name its offer_id these absorb it before it can be taken
//  for the answer to the current offer.
typedef struct {
    aspw_command_t cmd;
    char wo_id [ASPW_STR_MAX + 1];
    char offer_id [ASPW_STR_MAX + 1];
    int count;
} orphan_t;
#define MAX_ORPHANS 256

typedef struct {
    asp_partner_job_t pub;
    int64_t expires_at;         //  monotonic ms when an unanswered offer lapses
    int64_t done_at;            //  monotonic ms when COMPLETE was confirmed
    char *complete_body;        //  kept to answer a late OFFER/ASSIGNED
    size_t complete_size;
    bool returning;             //  UNABLE sent, not confirmed yet
} job_t;

struct asp_partner_t {
    zloop_t *loop;
    zsock_t *sock;
    uint64_t conn_gen;          //  bumped whenever the socket is replaced
    int timer_id;
    int tick_ms;
    conn_state_t state;
    //  Settings
    char *endpoint;
    zcert_t *cert;
    char server_key [41];
    int capacity;
    char **skills;
    size_t skill_count;
    char **regions;
    size_t region_count;
    char *software;
    int cfg_heartbeat_ms;
    int cfg_liveness;
    int reconnect_ms;
    int reconnect_max_ms;
    //  Session
    int heartbeat_ms;
    int liveness;
    int64_t offer_timeout_ms;
    int backoff_ms;
    int64_t reconnect_at;
    int64_t handshake_deadline;
    int64_t heartbeat_at;
    int64_t expiry_at;
    char partner_id [ASPW_STR_MAX + 1];
    char cert_partner_id [ASPW_STR_MAX + 1];
    char **features;            //  the platform's, from the last WELCOME
    size_t nfeatures;
    asp_partner_listed_fn *listed;
    aspw_msg_t *msg;            //  the message being handled
    //  Work
    zhashx_t *jobs;             //  wo_id -> job_t
    zlistx_t *pending;          //  pending_t, oldest first
    zlistx_t *done;             //  wo_id of DONE jobs, oldest first
    zlistx_t *orphans;          //  orphan_t, oldest first; reset per connection
    asp_partner_handlers_t handlers;
    void *arg;
    char errstr [WHY_MAX];
    asp_partner_stats_t stats;
};

static void s_lost (asp_partner_t *self, const char *why);
static int  s_tick (zloop_t *loop, int timer_id, void *arg);

//  --------------------------------------------------------------------------
//  Small helpers

static int
s_fail (asp_partner_t *self, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (self->errstr, sizeof self->errstr, fmt, ap);
    va_end (ap);
    return -1;
}

//  Hands msg and up to three key/value pairs (NULL-terminated), tagged
//  with the partner, to the application's log handler, if any.
static void
s_log (asp_partner_t *self, asp_partner_log_level_t level, const char *msg, ...)
{
    if (!self->handlers.log)
        return;
    const char *fields [10] = { "partner", asp_partner_id (self) };
    va_list ap;
    va_start (ap, msg);
    for (int i = 2; i < 8; i += 2) {
        fields [i] = va_arg (ap, const char *);
        if (!fields [i])
            break;
        fields [i + 1] = va_arg (ap, const char *);
    }
    va_end (ap);
    self->handlers.log (self, level, msg, fields, self->arg);
}

//  Splits a comma list into trimmed entries. 0 or -1 with a reason.
static int
s_split (const char *list, char ***out, size_t *count, char *err, size_t errlen)
{
    *out = NULL;
    *count = 0;
    if (!list || !*list)
        list = "*";
    char *copy = strdup (list);
    assert (copy);
    char **items = (char **) calloc (ASPW_LIST_MAX, sizeof (char *));
    assert (items);
    size_t n = 0;
    int rc = 0;
    char *save = NULL;
    //  strtok_r would skip empty entries; "a,,b" is a mistake worth naming.
    for (char *p = copy; p && rc == 0; p = save) {
        save = strchr (p, ',');
        if (save)
            *save++ = 0;
        while (*p == ' ')
            p++;
        size_t len = strlen (p);
        while (len && p [len - 1] == ' ')
            p [--len] = 0;
        if (len == 0) {
            snprintf (err, errlen, "empty entry in list '%s'", list);
            rc = -1;
        }
        else
        if (len > ASPW_STR_MAX) {
            snprintf (err, errlen, "entry longer than %d bytes in list", ASPW_STR_MAX);
            rc = -1;
        }
        else
        if (n == ASPW_LIST_MAX) {
            snprintf (err, errlen, "more than %d entries in list", ASPW_LIST_MAX);
            rc = -1;
        }
        else
            items [n++] = strdup (p);
    }
    free (copy);
    if (rc) {
        for (size_t i = 0; i < n; i++)
            free (items [i]);
        free (items);
        return -1;
    }
    *out = items;
    *count = n;
    return 0;
}

static void
s_strv_free (char ***items, size_t count)
{
    if (*items) {
        for (size_t i = 0; i < count; i++)
            free ((*items) [i]);
        free (*items);
        *items = NULL;
    }
}

static void
s_job_free (void **item)
{
    job_t *job = (job_t *) *item;
    if (job) {
        free (job->complete_body);
        free (job);
        *item = NULL;
    }
}

static void
s_free (void **item)
{
    free (*item);
    *item = NULL;
}

static void
s_pending_free (void **item)
{
    pending_t *p = (pending_t *) *item;
    if (p) {
        free (p->body);
        free (p);
        *item = NULL;
    }
}

//  --------------------------------------------------------------------------
//  Sending

//  Sends an encoded body (NULL: the empty map) of command cmd.
static int
s_send (asp_partner_t *self, aspw_command_t cmd, const char *body, size_t size)
{
    if (!self->sock)
        return -1;
    //  Never blocks: a full pipe (dead peer) fails now instead of blocking
    //  the loop. Whatever needs delivery is pending and goes again after
    //  the next WELCOME.
    if (aspw_send_body (self->sock, NULL, 0, cmd, body, size)) {
        s_log (self, ASP_PARTNER_LOG_DEBUG, "partner: send failed", "command", aspw_command_name (cmd),
               "error", zmq_strerror (errno), NULL);
        return -1;
    }
    self->stats.sent++;
    return 0;
}

static void
s_send_ready (asp_partner_t *self)
{
    aspw_msg_t *m = aspw_msg_new (ASPW_READY);
    m->capacity = self->capacity;
    m->skills = self->skills;               //  borrowed for the encoding
    m->nskills = self->skill_count;
    m->regions = self->regions;
    m->nregions = self->region_count;
    if (self->software)
        snprintf (m->software, sizeof m->software, "%s", self->software);
    //  What this library can use; a platform without extensions ignores it.
    static const char *features [] = {
        ASPW_FEATURE_LIST, ASPW_FEATURE_UNABLE, ASPW_FEATURE_APPOINTMENT, ASPW_FEATURE_DETAIL
    };
    aspw_strv_set (&m->features, &m->nfeatures, features, 4);
    char *data;
    size_t size;
    aspw_msg_encode (m, &data, &size);
    m->skills = m->regions = NULL;
    m->nskills = m->nregions = 0;
    aspw_msg_destroy (&m);
    s_send (self, ASPW_READY, data, size);
    free (data);
}

static void
s_pending_send (asp_partner_t *self, pending_t *p, bool resend)
{
    if (self->state != S_ACTIVE)
        return;             //  goes out after the next WELCOME
    if (s_send (self, p->cmd, p->body, p->size) == 0) {
        p->sends++;
        if (resend)
            self->stats.resends++;
    }
    //  Counted as sent even when the pipe refused it: retry after 2 x hb.
    p->sent_ms = asp_mono_ms ();
}

//  --------------------------------------------------------------------------
//  Pending commands

//  Encodes m as the body of p.
static void
s_pending_body (pending_t *p, const aspw_msg_t *m)
{
    free (p->body);
    aspw_msg_encode (m, &p->body, &p->size);
}

//  ACCEPT and DECLINE bodies are rebuilt when a re-offer changes the
//  offer_id; PROGRESS and COMPLETE bodies are built once by the caller.
static void
s_answer_body (pending_t *p)
{
    aspw_msg_t *m = aspw_msg_new (p->cmd);
    snprintf (m->wo_id, sizeof m->wo_id, "%s", p->wo_id);
    snprintf (m->offer_id, sizeof m->offer_id, "%s", p->offer_id);
    snprintf (m->reason, sizeof m->reason, "%s", p->reason);
    s_pending_body (p, m);
    aspw_msg_destroy (&m);
}

static pending_t *
s_pending_new (aspw_command_t cmd, const char *wo_id)
{
    pending_t *p = (pending_t *) calloc (1, sizeof *p);
    assert (p);
    p->cmd = cmd;
    snprintf (p->wo_id, sizeof p->wo_id, "%s", wo_id);
    return p;
}

//  Queues p (at the front when it must precede what is already queued for
//  the same work order) and sends it when connected.
static void
s_pending_add (asp_partner_t *self, pending_t *p, bool front)
{
    p->handle = front? zlistx_add_start (self->pending, p): zlistx_add_end (self->pending, p);
    s_pending_send (self, p, false);
}

//  Oldest pending cmd for wo_id, and for seq unless 0, and for offer_id
//  unless NULL or "".
static pending_t *
s_pending_match (asp_partner_t *self, aspw_command_t cmd, const char *wo_id, int64_t seq,
                 const char *offer_id)
{
    for (pending_t *p = (pending_t *) zlistx_first (self->pending); p;
         p = (pending_t *) zlistx_next (self->pending))
        if (p->cmd == cmd && streq (p->wo_id, wo_id) && (seq == 0 || p->seq == seq)
        &&  (!offer_id || !*offer_id || streq (p->offer_id, offer_id)))
            return p;
    return NULL;
}

static pending_t *
s_pending_find (asp_partner_t *self, aspw_command_t cmd, const char *wo_id, int64_t seq)
{
    return s_pending_match (self, cmd, wo_id, seq, NULL);
}

static void
s_orphan_note (asp_partner_t *self, const pending_t *p, int count)
{
    if (count <= 0 || !(p->cmd == ASPW_ACCEPT || p->cmd == ASPW_DECLINE))
        return;
    if (zlistx_size (self->orphans) >= MAX_ORPHANS)
        zlistx_delete (self->orphans, NULL);        //  bounded; costs a resend at worst
    orphan_t *o = (orphan_t *) calloc (1, sizeof *o);
    assert (o);
    o->cmd = p->cmd;
    snprintf (o->wo_id, sizeof o->wo_id, "%s", p->wo_id);
    snprintf (o->offer_id, sizeof o->offer_id, "%s", p->offer_id);
    o->count = count;
    zlistx_add_end (self->orphans, o);
}

//  True when this answer (offer_id "" when not named) is owed to an
//  orphaned send; it is then consumed.
static bool
s_orphan_take (asp_partner_t *self, int cmd, const char *wo_id, const char *offer_id)
{
    for (orphan_t *o = (orphan_t *) zlistx_first (self->orphans); o;
         o = (orphan_t *) zlistx_next (self->orphans))
        if ((int) o->cmd == cmd && streq (o->wo_id, wo_id)
        &&  (!*offer_id || streq (o->offer_id, offer_id))) {
            if (--o->count == 0)
                zlistx_delete (self->orphans, zlistx_cursor (self->orphans));
            return true;
        }
    return false;
}

//  Removes p; answered says whether an answer to it arrived (the other
//  sends of it are still owed an answer each).
static void
s_pending_remove (asp_partner_t *self, pending_t *p, bool answered)
{
    s_orphan_note (self, p, answered? p->sends - 1: p->sends);
    zlistx_delete (self->pending, p->handle);
}

//  Drops pending commands of wo_id; cmd -1 = all of them.
static void
s_pending_drop (asp_partner_t *self, const char *wo_id, int cmd)
{
    for (pending_t *p = (pending_t *) zlistx_first (self->pending); p;
         p = (pending_t *) zlistx_next (self->pending))
        if (streq (p->wo_id, wo_id) && (cmd == -1 || (int) p->cmd == cmd))
            s_pending_remove (self, p, false);
}

static size_t
s_pending_count (asp_partner_t *self, const char *wo_id, aspw_command_t cmd)
{
    size_t n = 0;
    for (pending_t *p = (pending_t *) zlistx_first (self->pending); p;
         p = (pending_t *) zlistx_next (self->pending))
        if (streq (p->wo_id, wo_id) && p->cmd == cmd)
            n++;
    return n;
}

//  Queues ACCEPT or DECLINE for wo_id/offer_id, or, when one is queued
//  already (a re-offer carries a new offer_id), updates it and sends it
//  now. reason NULL keeps the queued one's reason.
static void
s_answer (asp_partner_t *self, aspw_command_t cmd, const char *wo_id, const char *offer_id,
          const char *reason, bool front)
{
    pending_t *p = s_pending_find (self, cmd, wo_id, 0);
    bool fresh = !p;
    if (fresh)
        p = s_pending_new (cmd, wo_id);
    else
    if (!streq (p->offer_id, offer_id)) {
        s_orphan_note (self, p, p->sends);
        p->sends = 0;
    }
    snprintf (p->offer_id, sizeof p->offer_id, "%s", offer_id);
    if (reason)
        snprintf (p->reason, sizeof p->reason, "%s", reason);
    s_answer_body (p);
    if (fresh)
        s_pending_add (self, p, front);
    else
        s_pending_send (self, p, true);
}

//  Queues the stored COMPLETE of a job again.
static void
s_recomplete (asp_partner_t *self, job_t *job)
{
    if (!job->complete_body || s_pending_find (self, ASPW_COMPLETE, job->pub.wo_id, 0))
        return;
    pending_t *p = s_pending_new (ASPW_COMPLETE, job->pub.wo_id);
    p->body = (char *) malloc (job->complete_size);
    assert (p->body);
    memcpy (p->body, job->complete_body, job->complete_size);
    p->size = job->complete_size;
    s_pending_add (self, p, false);
}

//  --------------------------------------------------------------------------
//  Jobs

static job_t *
s_job (asp_partner_t *self, const char *wo_id)
{
    return (job_t *) zhashx_lookup (self->jobs, wo_id);
}

static void
s_job_drop (asp_partner_t *self, const char *wo_id)
{
    s_pending_drop (self, wo_id, -1);
    char key [ASPW_STR_MAX + 1];
    snprintf (key, sizeof key, "%s", wo_id);    //  wo_id may live in the job
    zhashx_delete (self->jobs, key);
}

static bool
s_counts (const job_t *job)
{
    //  Counted against capacity: what the partner still has to do. A job
    //  being declined or completed is free as soon as the caller decided,
    //  so a CONFIRM that races a new OFFER never looks like an overflow.
    return job->pub.state == ASP_JOB_OFFERED
        || job->pub.state == ASP_JOB_ACCEPTING
        || job->pub.state == ASP_JOB_ACCEPTED;
}

size_t
asp_partner_held (asp_partner_t *self)
{
    size_t n = 0;
    for (job_t *job = (job_t *) zhashx_first (self->jobs); job;
         job = (job_t *) zhashx_next (self->jobs))
        if (s_counts (job))
            n++;
    return n;
}

//  The job a decoded OFFER or ASSIGNED describes.
static void
s_job_of (const aspw_msg_t *m, asp_partner_job_t *j)
{
    memset (j, 0, sizeof *j);
    snprintf (j->wo_id, sizeof j->wo_id, "%s", m->wo_id);
    snprintf (j->offer_id, sizeof j->offer_id, "%s", m->offer_id);
    snprintf (j->ticket_id, sizeof j->ticket_id, "%s", m->ticket_id);
    j->kind = m->kind;
    snprintf (j->category, sizeof j->category, "%s", m->category);
    snprintf (j->region, sizeof j->region, "%s", m->region);
    j->priority = m->priority;
    j->tier = m->tier;
    snprintf (j->summary, sizeof j->summary, "%s", m->summary);
    j->expires_ms = m->id == ASPW_OFFER? m->expires_ms: 0;
}

//  --------------------------------------------------------------------------
//  Commands from the platform, decoded and checked by aspw_proto.

static void
s_on_welcome (asp_partner_t *self, const aspw_msg_t *m)
{
    snprintf (self->partner_id, sizeof self->partner_id, "%s", m->partner_id);
    self->heartbeat_ms = (int) m->heartbeat_ms;
    self->liveness = (int) m->liveness;
    self->offer_timeout_ms = m->offer_timeout_ms;
    aspw_strv_set (&self->features, &self->nfeatures, (const char *const *) m->features, m->nfeatures);
    self->state = S_ACTIVE;
    self->backoff_ms = self->reconnect_ms;
    int64_t now = asp_mono_ms ();
    self->expiry_at = now + (int64_t) self->heartbeat_ms * self->liveness;
    self->heartbeat_at = now + self->heartbeat_ms;
    self->stats.welcomes++;
    //  The platform may ask for a faster heartbeat than we tick.
    if (self->heartbeat_ms / 4 < self->tick_ms) {
        zloop_timer_end (self->loop, self->timer_id);
        self->tick_ms = self->heartbeat_ms / 4 < 5? 5: self->heartbeat_ms / 4;
        self->timer_id = zloop_timer (self->loop, (size_t) self->tick_ms, 0, s_tick, self);
    }
    char hb [24];
    snprintf (hb, sizeof hb, "%d", self->heartbeat_ms);
    char pend [24];
    snprintf (pend, sizeof pend, "%zu", zlistx_size (self->pending));
    s_log (self, ASP_PARTNER_LOG_INFO, "partner: welcomed", "heartbeat_ms", hb, "pending", pend, NULL);
    //  Everything unconfirmed goes again, oldest first: the platform may
    //  have lost it with the old connection, and duplicates are harmless.
    for (pending_t *p = (pending_t *) zlistx_first (self->pending); p;
         p = (pending_t *) zlistx_next (self->pending))
        s_pending_send (self, p, p->sent_ms != 0);
    if (self->handlers.welcome)
        self->handlers.welcome (self, self->partner_id, self->arg);
}

//  An OFFER for a work order we hold: the same job, never a new one.
static void
s_reoffer (asp_partner_t *self, job_t *job, const asp_partner_job_t *j)
{
    bool same = streq (job->pub.offer_id, j->offer_id);
    snprintf (job->pub.offer_id, sizeof job->pub.offer_id, "%s", j->offer_id);
    job->pub.expires_ms = j->expires_ms;
    job->expires_at = asp_mono_ms () + j->expires_ms;
    s_log (self, ASP_PARTNER_LOG_INFO, "partner: offer for a work order already held (same job)",
           "wo_id", j->wo_id, "offer_id", j->offer_id, NULL);
    switch (job->pub.state) {
        case ASP_JOB_OFFERED:
            break;              //  the caller is still deciding
        case ASP_JOB_ACCEPTING:
        case ASP_JOB_DECLINING:
            //  Our answer named an older offer: answer this one.
            if (!same) {
                aspw_command_t cmd = job->pub.state == ASP_JOB_ACCEPTING? ASPW_ACCEPT: ASPW_DECLINE;
                s_answer (self, cmd, j->wo_id, j->offer_id, NULL, false);
            }
            break;
        case ASP_JOB_ACCEPTED:
            //  The platform forgot our ACCEPT (its state went back): say it
            //  again before anything else we have queued for this job.
            s_answer (self, ASPW_ACCEPT, j->wo_id, j->offer_id, NULL, true);
            job->pub.state = ASP_JOB_ACCEPTING;
            break;
        case ASP_JOB_COMPLETING:
            s_answer (self, ASPW_ACCEPT, j->wo_id, j->offer_id, NULL, true);
            break;
        case ASP_JOB_DONE:
            s_answer (self, ASPW_ACCEPT, j->wo_id, j->offer_id, NULL, true);
            s_recomplete (self, job);
            job->pub.state = ASP_JOB_COMPLETING;
            break;
    }
}

static void
s_on_offer (asp_partner_t *self, const aspw_msg_t *m)
{
    asp_partner_job_t j;
    s_job_of (m, &j);
    job_t *job = s_job (self, j.wo_id);
    if (job) {
        s_reoffer (self, job, &j);
        return;
    }
    if (asp_partner_held (self) >= (size_t) self->capacity) {
        //  The platform must not do this (credit); refusing keeps our
        //  memory bounded whatever it does.
        self->stats.auto_declines++;
        s_log (self, ASP_PARTNER_LOG_WARN, "partner: offer over capacity declined", "wo_id", j.wo_id, NULL);
        s_answer (self, ASPW_DECLINE, j.wo_id, j.offer_id, "over capacity", false);
        return;
    }
    job = (job_t *) calloc (1, sizeof *job);
    assert (job);
    job->pub = j;
    job->pub.state = ASP_JOB_OFFERED;
    job->expires_at = asp_mono_ms () + j.expires_ms;
    zhashx_insert (self->jobs, j.wo_id, job);
    s_log (self, ASP_PARTNER_LOG_DEBUG, "partner: offer", "wo_id", j.wo_id, "offer_id", j.offer_id, NULL);
    self->handlers.offer (self, &job->pub, self->arg);
}

//  An OFFER we can name but not read is declined at once, so that it goes
//  to another partner now instead of waiting for its timeout.
static void
s_on_bad_offer (asp_partner_t *self, const aspw_msg_t *m, const char *why)
{
    if (!*m->wo_id || !*m->offer_id || s_job (self, m->wo_id))
        return;
    char reason [ASPW_STR_MAX + 1];
    snprintf (reason, sizeof reason, "malformed offer: %s", why);
    s_answer (self, ASPW_DECLINE, m->wo_id, m->offer_id, reason, false);
}

//  ASSIGNED's details (the platform's record of the job), when it has them.
static void
s_job_details (asp_partner_job_t *j, const aspw_msg_t *m)
{
    j->has_stage = m->has_stage;
    j->stage = m->stage;
    j->appointment_ms = m->has_appointment? m->appointment_ms: 0;
    j->end_ms = m->has_end? m->end_ms: 0;
    snprintf (j->technician, sizeof j->technician, "%s", m->has_technician? m->technician: "");
    snprintf (j->note, sizeof j->note, "%s", m->has_note? m->note: "");
}

static void
s_on_assigned (asp_partner_t *self, const aspw_msg_t *m)
{
    asp_partner_job_t j;
    s_job_of (m, &j);
    job_t *job = s_job (self, j.wo_id);
    bool resume = false, confirmed = false;
    if (!job) {
        job = (job_t *) calloc (1, sizeof *job);
        assert (job);
        job->pub = j;
        zhashx_insert (self->jobs, j.wo_id, job);
        resume = true;
    }
    else
    switch (job->pub.state) {
        case ASP_JOB_OFFERED:
            resume = true;      //  ours now; tell the caller to do it
            break;
        case ASP_JOB_ACCEPTING:
            //  ASSIGNED proves our ACCEPT was recorded. The caller hears
            //  it as that ACCEPT's CONFIRM: it may wait for one before it
            //  starts the work, and the CONFIRM itself may never come (a
            //  platform that restarted after recording the ACCEPT answers
            //  the resent one only after this ASSIGNED, and that answer
            //  then matches nothing pending).
            s_pending_drop (self, j.wo_id, ASPW_ACCEPT);
            job->pub.state = ASP_JOB_ACCEPTED;
            confirmed = true;
            break;
        case ASP_JOB_DECLINING:
            s_log (self, ASP_PARTNER_LOG_WARN, "partner: work order assigned while our DECLINE is pending",
                   "wo_id", j.wo_id, NULL);
            s_pending_drop (self, j.wo_id, ASPW_DECLINE);
            resume = true;
            break;
        case ASP_JOB_ACCEPTED:
        case ASP_JOB_COMPLETING:
            break;              //  same job; pending commands carry on
        case ASP_JOB_DONE:
            //  The platform did not keep our COMPLETE: say it again.
            s_recomplete (self, job);
            job->pub.state = ASP_JOB_COMPLETING;
            break;
    }
    if (m->seq > job->pub.seq)
        job->pub.seq = m->seq;
    s_job_details (&job->pub, m);
    if (resume) {
        job->pub.state = ASP_JOB_ACCEPTED;
        job->pub.expires_ms = 0;
        s_log (self, ASP_PARTNER_LOG_INFO, "partner: resuming assigned work order", "wo_id", j.wo_id, NULL);
        self->handlers.assigned (self, &job->pub, self->arg);
    }
    if (confirmed && self->handlers.confirm)
        self->handlers.confirm (self, "ACCEPT", j.wo_id, 0, true, self->arg);
}

static void
s_on_confirm (asp_partner_t *self, const aspw_msg_t *m)
{
    int ref = aspw_command_parse (m->ref);      //  one of the four, checked by the codec
    const char *wo_id = m->wo_id;
    //  offer_id (when the platform echoes it) tells the answer to an old
    //  offer from the answer to the current one.
    if (s_orphan_take (self, ref, wo_id, m->offer_id)) {
        s_log (self, ASP_PARTNER_LOG_DEBUG, "partner: CONFIRM for an earlier offer", "ref", m->ref,
               "wo_id", wo_id, NULL);
        return;
    }
    int64_t seq = ref == ASPW_PROGRESS? m->seq: 0;
    pending_t *p = s_pending_match (self, (aspw_command_t) ref, wo_id, seq, m->offer_id);
    if (!p) {
        //  The answer to a resent copy: the first answer did the work.
        s_log (self, ASP_PARTNER_LOG_DEBUG, "partner: CONFIRM for nothing pending", "ref", m->ref,
               "wo_id", wo_id, NULL);
        return;
    }
    s_pending_remove (self, p, true);
    job_t *job = s_job (self, wo_id);
    if (job) {
        if (ref == ASPW_ACCEPT && job->pub.state == ASP_JOB_ACCEPTING)
            job->pub.state = ASP_JOB_ACCEPTED;
        else
        if ((ref == ASPW_DECLINE && job->pub.state == ASP_JOB_DECLINING)
        ||  (ref == ASPW_UNABLE && job->returning)) {
            s_pending_drop (self, wo_id, ASPW_PROGRESS);
            s_job_drop (self, wo_id);
        }
        else
        if (ref == ASPW_COMPLETE) {
            //  Kept a while, so that a late OFFER or ASSIGNED for it is
            //  recognised as this job, not a new one.
            s_pending_drop (self, wo_id, ASPW_PROGRESS);
            job->pub.state = ASP_JOB_DONE;
            job->done_at = asp_mono_ms ();
            zlistx_add_end (self->done, strdup (wo_id));
        }
    }
    if (self->handlers.confirm)
        self->handlers.confirm (self, m->ref, wo_id, seq, m->duplicate, self->arg);
}

static void
s_on_withdraw (asp_partner_t *self, const aspw_msg_t *m)
{
    const char *wo_id = m->wo_id, *reason = m->reason;
    job_t *job = s_job (self, wo_id);
    if (!job) {
        //  e.g. an offer we declined without holding it
        s_pending_drop (self, wo_id, -1);
        return;
    }
    asp_job_state_t state = job->pub.state;
    bool cancelled = streq (reason, ASPW_WITHDRAW_CANCELLED);
    if (!cancelled && (state == ASP_JOB_ACCEPTED || state == ASP_JOB_COMPLETING || state == ASP_JOB_DONE)) {
        //  Accepted work orders stay ours (protocol 6) unless the platform
        //  cancelled them; any other WITHDRAW for one is a platform
        //  mistake, and dropping the job would strand it.
        s_log (self, ASP_PARTNER_LOG_WARN, "partner: WITHDRAW for an accepted work order ignored",
               "wo_id", wo_id, "reason", reason, NULL);
        return;
    }
    s_job_drop (self, wo_id);
    s_log (self, ASP_PARTNER_LOG_INFO, cancelled? "partner: work order cancelled": "partner: offer withdrawn",
           "wo_id", wo_id, "reason", reason, NULL);
    if (state != ASP_JOB_DECLINING && self->handlers.withdraw)
        self->handlers.withdraw (self, wo_id, reason, self->arg);
}

static void
s_on_error (asp_partner_t *self, const aspw_msg_t *m)
{
    const char *ref = m->ref, *wo_id = m->wo_id, *code = m->code;
    int ref_id = aspw_command_parse (ref);
    bool answerable = ref_id == ASPW_ACCEPT || ref_id == ASPW_DECLINE
                   || ref_id == ASPW_PROGRESS || ref_id == ASPW_COMPLETE || ref_id == ASPW_UNABLE;
    if (streq (code, "not_ready")) {
        //  The platform does not know this connection: nothing was refused
        //  for good. Reconnect; pending commands go again after WELCOME.
        s_lost (self, "platform says not_ready");
        return;
    }
    //  Without offer_id, an offer_expired for an ACCEPT of an older offer
    //  would end the job we just accepted again under its new offer_id.
    if (*wo_id && s_orphan_take (self, ref_id, wo_id, m->offer_id)) {
        s_log (self, ASP_PARTNER_LOG_DEBUG, "partner: ERROR for an earlier offer", "ref", ref, "wo_id", wo_id, NULL);
        return;
    }
    pending_t *p = answerable && *wo_id?
        s_pending_match (self, (aspw_command_t) ref_id, wo_id, m->seq, m->offer_id): NULL;
    if (!p && answerable) {
        //  The answer to a resent copy: the first answer did the work.
        s_log (self, ASP_PARTNER_LOG_DEBUG, "partner: ERROR for nothing pending", "ref", ref, "wo_id", wo_id, NULL);
        return;
    }
    s_log (self, ASP_PARTNER_LOG_WARN, "partner: platform refused a command",
           "ref", ref, "wo_id", wo_id, "code", code, NULL);
    bool dropped = false;
    if (p && streq (code, "not_accepted")) {
        //  Our ACCEPT of the current offer crossed this command: keep it;
        //  the next resend comes after the ACCEPT is recorded.
        s_log (self, ASP_PARTNER_LOG_INFO, "partner: command waits for the ACCEPT of the current offer",
               "ref", ref, "wo_id", wo_id, NULL);
        return;
    }
    if (p) {
        s_pending_remove (self, p, true);
        job_t *job = s_job (self, wo_id);
        //  A refused PROGRESS costs that step only, unless the job is not
        //  ours at all; anything else ends the job here.
        bool gone = ref_id != ASPW_PROGRESS
                 || streq (code, "not_yours") || streq (code, "unknown_work_order");
        if (job && gone)
            s_job_drop (self, wo_id);
        dropped = gone || !job;
    }
    if (self->handlers.error) {
        asp_partner_error_t e = { ref, wo_id, code, m->reason, m->seq, dropped };
        self->handlers.error (self, &e, self->arg);
    }
}

static void
s_on_disconnect (asp_partner_t *self, const aspw_msg_t *m)
{
    char msg [ASPW_STR_MAX + 40];
    snprintf (msg, sizeof msg, "platform sent DISCONNECT: %s", m->reason);
    s_lost (self, msg);
}

static void
s_bad (asp_partner_t *self, const char *why)
{
    self->stats.bad_messages++;
    s_log (self, ASP_PARTNER_LOG_WARN, "partner: ignored malformed message from platform", "reason", why, NULL);
}

//  Decodes, then dispatches. Only a well-formed message is a sign of
//  life: a peer that sends garbage is as good as gone.
static void
s_handle (asp_partner_t *self, zmsg_t *msg)
{
    aspw_msg_t *m = self->msg;
    char err [WHY_MAX], why [WHY_MAX + 32];
    if (aspw_msg_decode (m, msg, ASPW_FROM_PLATFORM, err, sizeof err)) {
        snprintf (why, sizeof why, "%s%s%s", m->name, *m->name? ": ": "", err);
        s_bad (self, why);
        if (m->id == ASPW_OFFER && *m->name)
            s_on_bad_offer (self, m, err);
        return;
    }
    self->stats.received++;
    self->expiry_at = asp_mono_ms () + (int64_t) self->heartbeat_ms * self->liveness;
    switch (m->id) {
        case ASPW_WELCOME:      s_on_welcome (self, m); break;
        case ASPW_OFFER:        s_on_offer (self, m); break;
        case ASPW_ASSIGNED:     s_on_assigned (self, m); break;
        case ASPW_CONFIRM:      s_on_confirm (self, m); break;
        case ASPW_WITHDRAW:     s_on_withdraw (self, m); break;
        case ASPW_ERROR:        s_on_error (self, m); break;
        case ASPW_DISCONNECT:   s_on_disconnect (self, m); break;
        case ASPW_LISTED:
            if (self->listed)
                self->listed (self, m->listed_assigned, m->listed_offered, self->arg);
            break;
        default:                break;          //  HEARTBEAT: a sign of life
    }
}

static int
s_on_socket (zloop_t *loop, zsock_t *reader, void *arg)
{
    (void) loop; (void) reader;
    asp_partner_t *self = (asp_partner_t *) arg;
    uint64_t gen = self->conn_gen;
    //  A batch per wake-up; stop when the socket was replaced under us.
    for (int i = 0; i < MAX_RECV_BATCH && self->sock && self->conn_gen == gen; i++) {
        zmsg_t *msg = zmsg_recv (self->sock);
        if (!msg)
            break;                  //  nothing more (zero receive timeout)
        s_handle (self, msg);
        zmsg_destroy (&msg);
    }
    return 0;
}

//  --------------------------------------------------------------------------
//  Connection

static void
s_close (asp_partner_t *self)
{
    if (self->sock) {
        zloop_reader_end (self->loop, self->sock);
        zsock_destroy (&self->sock);
        self->conn_gen++;
    }
}

static void
s_lost (asp_partner_t *self, const char *why)
{
    s_close (self);
    self->state = S_WAITING;
    //  Up to half the delay again, at random: partners that lost the
    //  platform together (its restart) do not all come back in one burst.
    int delay_ms = self->backoff_ms + (int) (random () % (self->backoff_ms / 2 + 1));
    self->reconnect_at = asp_mono_ms () + delay_ms;
    char delay [24];
    snprintf (delay, sizeof delay, "%d", delay_ms);
    s_log (self, ASP_PARTNER_LOG_WARN, "partner: connection lost", "reason", why, "retry_in_ms", delay, NULL);
    self->backoff_ms = self->backoff_ms * 2 > self->reconnect_max_ms? self->reconnect_max_ms
                                                                     : self->backoff_ms * 2;
}

static zsock_t *
s_socket (asp_partner_t *self)
{
    zsock_t *sock = zsock_new (ZMQ_DEALER);
    if (!sock)
        return NULL;
    zcert_apply (self->cert, sock);
    zsock_set_curve_serverkey (sock, self->server_key);
    zsock_set_maxmsgsize (sock, ASPW_TRANSPORT_MAX);
    zsock_set_sndtimeo (sock, 0);
    zsock_set_rcvtimeo (sock, 0);
    zsock_set_linger (sock, 0);
    if (zsock_connect (sock, "%s", self->endpoint)) {
        zsock_destroy (&sock);
        return NULL;
    }
    return sock;
}

static void
s_connect (asp_partner_t *self)
{
    s_close (self);
    self->sock = s_socket (self);
    self->stats.connects++;
    if (!self->sock) {
        s_lost (self, "cannot create or connect the socket");
        return;
    }
    zloop_reader (self->loop, self->sock, s_on_socket, self);
    self->state = S_CONNECTING;
    //  Until WELCOME names them, our own settings bound the handshake.
    self->heartbeat_ms = self->cfg_heartbeat_ms;
    self->liveness = self->cfg_liveness;
    self->handshake_deadline = asp_mono_ms () + (int64_t) self->heartbeat_ms * self->liveness;
    //  Pending commands were sent on the old connection; they go again
    //  after WELCOME.
    for (pending_t *p = (pending_t *) zlistx_first (self->pending); p;
         p = (pending_t *) zlistx_next (self->pending)) {
        p->sent_ms = p->sent_ms? -1: 0;
        p->sends = 0;
    }
    //  Answers to the old connection's sends never come now.
    zlistx_purge (self->orphans);
    s_log (self, ASP_PARTNER_LOG_INFO, "partner: connecting", "endpoint", self->endpoint, NULL);
    s_send_ready (self);
}

//  Offers nobody answered and the platform could not withdraw (we were
//  away when they lapsed): drop them a little after their expiry.
static void
s_expire_offers (asp_partner_t *self, int64_t now)
{
    int64_t grace = 2 * (int64_t) self->heartbeat_ms;
    zlistx_t *expired = NULL;
    for (job_t *job = (job_t *) zhashx_first (self->jobs); job;
         job = (job_t *) zhashx_next (self->jobs))
        if (job->pub.state == ASP_JOB_OFFERED && now > job->expires_at + grace) {
            if (!expired) {
                expired = zlistx_new ();
                zlistx_set_destructor (expired, (czmq_destructor *) zstr_free);
            }
            zlistx_add_end (expired, strdup (job->pub.wo_id));
        }
    if (!expired)
        return;
    for (char *wo_id = (char *) zlistx_first (expired); wo_id;
         wo_id = (char *) zlistx_next (expired)) {
        s_job_drop (self, wo_id);
        s_log (self, ASP_PARTNER_LOG_INFO, "partner: unanswered offer expired", "wo_id", wo_id, NULL);
        if (self->handlers.withdraw)
            self->handlers.withdraw (self, wo_id, "expired", self->arg);
    }
    zlistx_destroy (&expired);
}

static void
s_prune_done (asp_partner_t *self, int64_t now)
{
    char *wo_id;
    while ((wo_id = (char *) zlistx_first (self->done))) {
        job_t *job = s_job (self, wo_id);
        bool keep = job && job->pub.state == ASP_JOB_DONE
                 && now - job->done_at < DONE_KEEP_MS
                 && zlistx_size (self->done) <= DONE_KEEP_MAX;
        if (keep)
            break;
        //  Entries of jobs that came back to life are stale: skip them.
        if (job && job->pub.state == ASP_JOB_DONE)
            zhashx_delete (self->jobs, wo_id);
        zlistx_delete (self->done, NULL);
    }
}

static int
s_tick (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop; (void) timer_id;
    asp_partner_t *self = (asp_partner_t *) arg;
    int64_t now = asp_mono_ms ();
    if (self->state == S_WAITING && now >= self->reconnect_at)
        s_connect (self);
    else
    if (self->state == S_CONNECTING && now >= self->handshake_deadline) {
        char why [WHY_MAX];
        snprintf (why, sizeof why, "no WELCOME within %lld ms (check the endpoint, the "
                  "platform key, and that our certificate is registered)",
                  (long long) self->heartbeat_ms * self->liveness);
        s_lost (self, why);
    }
    else
    if (self->state == S_ACTIVE && now >= self->expiry_at) {
        char why [WHY_MAX];
        snprintf (why, sizeof why, "platform silent for %lld ms",
                  (long long) self->heartbeat_ms * self->liveness);
        s_lost (self, why);
    }
    else
    if (self->state == S_ACTIVE) {
        if (now >= self->heartbeat_at) {
            s_send (self, ASPW_HEARTBEAT, NULL, 0);
            self->heartbeat_at = now + self->heartbeat_ms;
        }
        int64_t patience = 2 * (int64_t) self->heartbeat_ms;
        for (pending_t *p = (pending_t *) zlistx_first (self->pending); p;
             p = (pending_t *) zlistx_next (self->pending))
            if (p->sent_ms <= 0 || now - p->sent_ms >= patience)
                s_pending_send (self, p, true);
    }
    s_expire_offers (self, now);
    s_prune_done (self, now);
    return 0;
}

//  --------------------------------------------------------------------------
//  Constructor and destructor

static int
s_check_z85_key (const char *key)
{
    byte bin [32];
    return key && strlen (key) == 40 && zmq_z85_decode (bin, key)? 0: -1;
}

static int
s_configure (asp_partner_t *self, const asp_partner_cfg_t *cfg, char *err, size_t errlen)
{
    if (!cfg->endpoint || !*cfg->endpoint) {
        snprintf (err, errlen, "no endpoint given");
        return -1;
    }
    //  Try the endpoint once, so that a typo fails now, not in a loop.
    zsock_t *probe = zsock_new (ZMQ_DEALER);
    int rc = probe? zsock_connect (probe, "%s", cfg->endpoint): -1;
    zsock_destroy (&probe);
    if (rc) {
        snprintf (err, errlen, "bad endpoint '%s'", cfg->endpoint);
        return -1;
    }
    self->endpoint = strdup (cfg->endpoint);
    if (!cfg->cert_file || !*cfg->cert_file) {
        snprintf (err, errlen, "no partner certificate given");
        return -1;
    }
    if (access (cfg->cert_file, R_OK)) {
        snprintf (err, errlen, "cannot read certificate %s: %s", cfg->cert_file, strerror (errno));
        return -1;
    }
    self->cert = zcert_load (cfg->cert_file);
    if (!self->cert) {
        snprintf (err, errlen, "%s is not a CURVE certificate", cfg->cert_file);
        return -1;
    }
    static const byte zero [32] = { 0 };
    if (memcmp (zcert_secret_key (self->cert), zero, 32) == 0) {
        snprintf (err, errlen, "%s holds no secret key (give the _secret file)", cfg->cert_file);
        return -1;
    }
    const char *meta = zcert_meta (self->cert, "partner_id");
    snprintf (self->cert_partner_id, sizeof self->cert_partner_id, "%s", meta? meta: "");
    if (cfg->server_key && *cfg->server_key) {
        if (s_check_z85_key (cfg->server_key)) {
            snprintf (err, errlen, "server key is not a 40-character Z85 key");
            return -1;
        }
        snprintf (self->server_key, sizeof self->server_key, "%s", cfg->server_key);
    }
    else
    if (cfg->server_cert_file && *cfg->server_cert_file) {
        zcert_t *server = access (cfg->server_cert_file, R_OK) == 0? zcert_load (cfg->server_cert_file): NULL;
        if (!server) {
            snprintf (err, errlen, "cannot load platform certificate %s", cfg->server_cert_file);
            return -1;
        }
        snprintf (self->server_key, sizeof self->server_key, "%s", zcert_public_txt (server));
        zcert_destroy (&server);
    }
    else {
        snprintf (err, errlen, "no platform key or platform certificate given");
        return -1;
    }
    self->capacity = cfg->capacity? cfg->capacity: 1;
    if (self->capacity < 1 || self->capacity > 1000) {
        snprintf (err, errlen, "capacity %d is not in 1..1000", cfg->capacity);
        return -1;
    }
    char why [WHY_MAX];
    if (s_split (cfg->skills, &self->skills, &self->skill_count, why, sizeof why)) {
        snprintf (err, errlen, "skills: %s", why);
        return -1;
    }
    if (s_split (cfg->regions, &self->regions, &self->region_count, why, sizeof why)) {
        snprintf (err, errlen, "regions: %s", why);
        return -1;
    }
    if (cfg->software && strlen (cfg->software) > ASPW_STR_MAX) {
        snprintf (err, errlen, "software name longer than %d bytes", ASPW_STR_MAX);
        return -1;
    }
    self->software = cfg->software? strdup (cfg->software): NULL;
    self->cfg_heartbeat_ms = cfg->heartbeat_ms? cfg->heartbeat_ms: 1000;
    self->cfg_liveness = cfg->liveness? cfg->liveness: 3;
    self->reconnect_ms = cfg->reconnect_ms? cfg->reconnect_ms: 1000;
    self->reconnect_max_ms = cfg->reconnect_max_ms? cfg->reconnect_max_ms: 32000;
    if (self->cfg_heartbeat_ms < 10 || self->cfg_liveness < 1 || self->cfg_liveness > 100
    ||  self->reconnect_ms < 1 || self->reconnect_max_ms < self->reconnect_ms) {
        snprintf (err, errlen, "bad timing settings (heartbeat >= 10 ms, liveness 1..100, "
                  "0 < reconnect_ms <= reconnect_max_ms)");
        return -1;
    }
    return 0;
}

asp_partner_t *
asp_partner_new (zloop_t *loop, const asp_partner_cfg_t *cfg,
                 const asp_partner_handlers_t *handlers, void *arg,
                 char *err, size_t errlen)
{
    assert (loop && cfg && handlers);
    if (!handlers->offer || !handlers->assigned) {
        snprintf (err, errlen, "offer and assigned handlers are required");
        return NULL;
    }
    asp_partner_t *self = (asp_partner_t *) calloc (1, sizeof *self);
    assert (self);
    self->loop = loop;
    self->timer_id = -1;
    self->handlers = *handlers;
    self->arg = arg;
    self->jobs = zhashx_new ();
    zhashx_set_destructor (self->jobs, s_job_free);
    self->msg = aspw_msg_new (ASPW_HEARTBEAT);
    self->pending = zlistx_new ();
    zlistx_set_destructor (self->pending, s_pending_free);
    self->done = zlistx_new ();
    zlistx_set_destructor (self->done, (czmq_destructor *) zstr_free);
    self->orphans = zlistx_new ();
    zlistx_set_destructor (self->orphans, s_free);
    if (s_configure (self, cfg, err, errlen)) {
        asp_partner_destroy (&self);
        return NULL;
    }
    self->heartbeat_ms = self->cfg_heartbeat_ms;
    self->liveness = self->cfg_liveness;
    self->backoff_ms = self->reconnect_ms;
    int base = self->heartbeat_ms < self->reconnect_ms? self->heartbeat_ms: self->reconnect_ms;
    self->tick_ms = base / 4 < 5? 5: base / 4 > 100? 100: base / 4;
    return self;
}

int
asp_partner_start (asp_partner_t *self)
{
    if (self->state != S_IDLE)
        return s_fail (self, "already started");
    self->timer_id = zloop_timer (self->loop, (size_t) self->tick_ms, 0, s_tick, self);
    s_connect (self);
    return 0;
}

void
asp_partner_destroy (asp_partner_t **self_p)
{
    asp_partner_t *self = *self_p;
    if (!self)
        return;
    if (self->sock && self->state == S_ACTIVE) {
        //  Goodbye must leave before the socket closes.
        zsock_set_linger (self->sock, 500);
        s_send (self, ASPW_DISCONNECT, NULL, 0);
        s_log (self, ASP_PARTNER_LOG_INFO, "partner: disconnected", NULL);
    }
    s_close (self);
    if (self->timer_id >= 0)
        zloop_timer_end (self->loop, self->timer_id);
    zhashx_destroy (&self->jobs);
    zlistx_destroy (&self->pending);
    zlistx_destroy (&self->done);
    zlistx_destroy (&self->orphans);
    zcert_destroy (&self->cert);
    aspw_msg_destroy (&self->msg);
    s_strv_free (&self->skills, self->skill_count);
    s_strv_free (&self->regions, self->region_count);
    aspw_strv_set (&self->features, &self->nfeatures, NULL, 0);
    free (self->software);
    free (self->endpoint);
    free (self);
    *self_p = NULL;
}

//  --------------------------------------------------------------------------
//  Actions

static job_t *
s_job_for (asp_partner_t *self, const char *wo_id)
{
    job_t *job = wo_id? s_job (self, wo_id): NULL;
    if (!job)
        s_fail (self, "unknown work order %.64s", wo_id? wo_id: "(null)");
    return job;
}

int
asp_partner_accept (asp_partner_t *self, const char *wo_id)
{
    job_t *job = s_job_for (self, wo_id);
    if (!job)
        return -1;
    if (job->pub.state == ASP_JOB_ACCEPTING || job->pub.state == ASP_JOB_ACCEPTED)
        return 0;               //  already ours or on its way
    if (job->pub.state != ASP_JOB_OFFERED)
        return s_fail (self, "work order %.64s is not an open offer", wo_id);
    job->pub.state = ASP_JOB_ACCEPTING;
    s_answer (self, ASPW_ACCEPT, job->pub.wo_id, job->pub.offer_id, NULL, false);
    return 0;
}

int
asp_partner_decline (asp_partner_t *self, const char *wo_id, const char *reason)
{
    job_t *job = s_job_for (self, wo_id);
    if (!job)
        return -1;
    if (reason && strlen (reason) > ASPW_STR_MAX)
        return s_fail (self, "reason longer than %d bytes", ASPW_STR_MAX);
    if (job->pub.state == ASP_JOB_DECLINING)
        return 0;
    if (job->pub.state != ASP_JOB_OFFERED)
        return s_fail (self, "work order %.64s is not an open offer", wo_id);
    job->pub.state = ASP_JOB_DECLINING;
    s_answer (self, ASPW_DECLINE, job->pub.wo_id, job->pub.offer_id, reason, false);
    return 0;
}

int64_t
asp_partner_progress (asp_partner_t *self, const char *wo_id, asp_stage_t stage,
                      const char *note, int64_t appointment_ms)
{
    asp_partner_progress_t progress = { .stage = stage, .note = note, .appointment_ms = appointment_ms };
    return asp_partner_progress_ex (self, wo_id, &progress);
}

//  A text field of at most max bytes, or -1 (with errstr) naming it.
static int
s_check_text (asp_partner_t *self, const char *name, const char *text, size_t max)
{
    if (text && strlen (text) > max)
        return s_fail (self, "%s longer than %zu bytes", name, max);
    if (text && !aspw_text_valid (text, strlen (text)))
        return s_fail (self, "%s is not UTF-8 text", name);
    return 0;
}

int64_t
asp_partner_progress_ex (asp_partner_t *self, const char *wo_id, const asp_partner_progress_t *pr)
{
    job_t *job = s_job_for (self, wo_id);
    if (!job)
        return -1;
    if ((job->pub.state != ASP_JOB_ACCEPTING && job->pub.state != ASP_JOB_ACCEPTED) || job->returning)
        return s_fail (self, "work order %.64s is not accepted, or completed or handed back", wo_id);
    char list [128];
    if (!asp_vocab_name (&asp_vocab_stage, (int) pr->stage))
        return s_fail (self, "stage %d is not one of %s", (int) pr->stage,
                       asp_vocab_join (&asp_vocab_stage, list, sizeof list));
    if (s_check_text (self, "note", pr->note, ASPW_NOTE_MAX)
    ||  s_check_text (self, "part", pr->part, ASPW_STR_MAX)
    ||  s_check_text (self, "technician", pr->technician, ASPW_STR_MAX))
        return -1;
    if (pr->appointment_ms < 0 || pr->end_ms < 0)
        return s_fail (self, "appointment_ms or end_ms is negative");
    if (pr->end_ms && (pr->stage != ASP_STAGE_SCHEDULED || pr->end_ms <= pr->appointment_ms))
        return s_fail (self, "end_ms needs a scheduled appointment that starts before it");
    if (s_pending_count (self, wo_id, ASPW_PROGRESS) >= MAX_PENDING_PER_JOB)
        return s_fail (self, "%d progress reports of %.64s wait for confirmation",
                       MAX_PENDING_PER_JOB, wo_id);
    pending_t *p = s_pending_new (ASPW_PROGRESS, job->pub.wo_id);
    p->seq = ++job->pub.seq;
    aspw_msg_t *m = aspw_msg_new (ASPW_PROGRESS);
    snprintf (m->wo_id, sizeof m->wo_id, "%s", job->pub.wo_id);
    m->seq = p->seq;
    m->stage = pr->stage;
    m->has_note = pr->note != NULL;
    snprintf (m->note, sizeof m->note, "%s", pr->note? pr->note: "");
    m->has_appointment = pr->appointment_ms != 0;
    m->appointment_ms = pr->appointment_ms;
    m->has_end = pr->end_ms != 0;
    m->end_ms = pr->end_ms;
    m->has_part = pr->part != NULL;
    snprintf (m->part, sizeof m->part, "%s", pr->part? pr->part: "");
    m->has_technician = pr->technician != NULL;
    snprintf (m->technician, sizeof m->technician, "%s", pr->technician? pr->technician: "");
    s_pending_body (p, m);
    aspw_msg_destroy (&m);
    s_pending_add (self, p, false);
    return p->seq;
}

int
asp_partner_complete (asp_partner_t *self, const char *wo_id, asp_result_t result,
                      const char *note, const char *technician)
{
    asp_partner_completion_t completion = { .result = result, .note = note, .technician = technician,
                                            .fee = -1 };
    return asp_partner_complete_ex (self, wo_id, &completion);
}

int
asp_partner_complete_ex (asp_partner_t *self, const char *wo_id, const asp_partner_completion_t *c)
{
    job_t *job = s_job_for (self, wo_id);
    if (!job)
        return -1;
    if ((job->pub.state != ASP_JOB_ACCEPTING && job->pub.state != ASP_JOB_ACCEPTED) || job->returning)
        return s_fail (self, "work order %.64s is not accepted, or completed or handed back", wo_id);
    char list [128];
    if (!asp_vocab_name (&asp_vocab_result, (int) c->result))
        return s_fail (self, "result %d is not one of %s", (int) c->result,
                       asp_vocab_join (&asp_vocab_result, list, sizeof list));
    if (s_check_text (self, "note", c->note, ASPW_NOTE_MAX)
    ||  s_check_text (self, "technician", c->technician, ASPW_STR_MAX))
        return -1;
    const char *r = c->resolution;
    if (r && (!*r || strlen (r) > ASPW_RESOLUTION_MAX
              || strspn (r, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen (r)))
        return s_fail (self, "resolution must be 1..%d characters of [a-z0-9_]", ASPW_RESOLUTION_MAX);
    if (c->nparts > ASPW_PARTS_MAX)
        return s_fail (self, "more than %d parts", ASPW_PARTS_MAX);
    for (size_t i = 0; i < c->nparts; i++)
        if (!*c->parts [i].part || c->parts [i].qty < 1 || c->parts [i].qty > ASPW_QTY_MAX
        ||  s_check_text (self, "part", c->parts [i].part, ASPW_STR_MAX))
            return s_fail (self, "part %zu must be named and have a qty of 1..%d", i, ASPW_QTY_MAX);
    if (c->fee > ASPW_FEE_MAX)
        return s_fail (self, "fee above %d", ASPW_FEE_MAX);
    pending_t *p = s_pending_new (ASPW_COMPLETE, job->pub.wo_id);
    aspw_msg_t *m = aspw_msg_new (ASPW_COMPLETE);
    snprintf (m->wo_id, sizeof m->wo_id, "%s", job->pub.wo_id);
    m->result = c->result;
    m->has_note = c->note != NULL;
    snprintf (m->note, sizeof m->note, "%s", c->note? c->note: "");
    m->has_technician = c->technician != NULL;
    snprintf (m->technician, sizeof m->technician, "%s", c->technician? c->technician: "");
    m->has_resolution = r != NULL;
    snprintf (m->resolution, sizeof m->resolution, "%s", r? r: "");
    m->has_fee = c->fee >= 0;
    m->fee = c->fee;
    m->parts = (aspw_part_t *) c->parts;    //  borrowed for the encoding
    m->nparts = c->nparts;
    s_pending_body (p, m);
    m->parts = NULL;
    m->nparts = 0;
    aspw_msg_destroy (&m);
    job->complete_body = (char *) malloc (p->size);
    assert (job->complete_body);
    memcpy (job->complete_body, p->body, p->size);
    job->complete_size = p->size;
    job->pub.state = ASP_JOB_COMPLETING;
    s_pending_add (self, p, false);
    return 0;
}

int
asp_partner_unable (asp_partner_t *self, const char *wo_id, asp_unable_reason_t reason, const char *note)
{
    job_t *job = s_job_for (self, wo_id);
    if (!job)
        return -1;
    if (job->returning)
        return 0;
    if (job->pub.state != ASP_JOB_ACCEPTED)
        return s_fail (self, "work order %.64s is not accepted (confirmed) or already completed", wo_id);
    if (!asp_partner_feature (self, ASPW_FEATURE_UNABLE))
        return s_fail (self, "the platform does not offer UNABLE");
    if (!asp_vocab_name (&asp_vocab_unable_reason, (int) reason) || reason == ASP_UNABLE_PARTNER_REMOVED)
        return s_fail (self, "reason %d is not a partner's reason", (int) reason);
    if (s_check_text (self, "note", note, ASPW_NOTE_MAX))
        return -1;
    pending_t *p = s_pending_new (ASPW_UNABLE, job->pub.wo_id);
    aspw_msg_t *m = aspw_msg_new (ASPW_UNABLE);
    snprintf (m->wo_id, sizeof m->wo_id, "%s", job->pub.wo_id);
    m->unable = reason;
    m->has_note = note != NULL;
    snprintf (m->note, sizeof m->note, "%s", note? note: "");
    s_pending_body (p, m);
    aspw_msg_destroy (&m);
    job->returning = true;
    s_pending_add (self, p, false);
    return 0;
}

int
asp_partner_list (asp_partner_t *self)
{
    if (self->state != S_ACTIVE)
        return s_fail (self, "not connected");
    if (!asp_partner_feature (self, ASPW_FEATURE_LIST))
        return s_fail (self, "the platform does not offer LIST");
    return s_send (self, ASPW_LIST, NULL, 0) == 0? 0: s_fail (self, "LIST not sent");
}

void
asp_partner_set_listed (asp_partner_t *self, asp_partner_listed_fn *handler)
{
    self->listed = handler;
}

bool
asp_partner_feature (asp_partner_t *self, const char *feature)
{
    return aspw_strv_has (self->features, self->nfeatures, feature);
}

int
asp_partner_set_capacity (asp_partner_t *self, int capacity)
{
    if (capacity < 0 || capacity > ASPW_CAPACITY_MAX)
        return s_fail (self, "capacity %d is not in 0..%d", capacity, ASPW_CAPACITY_MAX);
    self->capacity = capacity;
    if (self->state == S_ACTIVE)
        s_send_ready (self);
    return 0;
}

//  --------------------------------------------------------------------------
//  Accessors

const asp_partner_job_t *
asp_partner_job (asp_partner_t *self, const char *wo_id)
{
    job_t *job = wo_id? s_job (self, wo_id): NULL;
    return job? &job->pub: NULL;
}

int
asp_partner_capacity (asp_partner_t *self)
{
    return self->capacity;
}

bool
asp_partner_connected (asp_partner_t *self)
{
    return self->state == S_ACTIVE;
}

const char *
asp_partner_id (asp_partner_t *self)
{
    return *self->partner_id? self->partner_id: self->cert_partner_id;
}

const char *
asp_partner_errstr (asp_partner_t *self)
{
    return self->errstr;
}

asp_partner_stats_t
asp_partner_stats (asp_partner_t *self)
{
    return self->stats;
}

size_t
asp_partner_pending (asp_partner_t *self)
{
    return zlistx_size (self->pending);
}

//  --------------------------------------------------------------------------
//  Self test: a fake platform (ROUTER + zauth CURVE over a certificate
//  folder) in this thread, two partners on one zloop in an actor thread.
//  P1 is registered, P2 is not and must never get through.

//  The fake platform takes the first free port of these, so that several
//  runs can share a machine.
#define TEST_BIND "tcp://127.0.0.1:*[17210-17249]"

typedef struct {
    char dir [128];
    char endpoint [64];
    char p1_cert [200];
    char p2_cert [200];
    char server_cert [200];
    atomic_int offers, assigned, withdraws, errors, confirms, welcomes, w4_confirms;
    atomic_int last_dropped, bad_messages, held, p2_connects, p2_welcomes, logs;
    atomic_int listed;
} test_state_t;

typedef struct {
    test_state_t *ts;
    asp_partner_t *p1;
    asp_partner_t *p2;
} test_actor_t;

static void
s_test_offer (asp_partner_t *self, const asp_partner_job_t *job, void *arg)
{
    test_state_t *ts = (test_state_t *) arg;
    ts->offers++;
    assert (job->state == ASP_JOB_OFFERED);
    if (strncmp (job->wo_id, "WH", 2) == 0)
        return;                 //  held: the test withdraws or lets it expire
    int rc = strncmp (job->wo_id, "WX", 2) == 0? asp_partner_decline (self, job->wo_id, "busy")
                                              : asp_partner_accept (self, job->wo_id);
    assert (rc == 0);
    assert (asp_partner_accept (self, job->wo_id) == (strncmp (job->wo_id, "WX", 2)? 0: -1));
}

static void
s_test_assigned (asp_partner_t *self, const asp_partner_job_t *job, void *arg)
{
    test_state_t *ts = (test_state_t *) arg;
    ts->assigned++;
    assert (job->state == ASP_JOB_ACCEPTED);
    //  Continues after the platform's last recorded seq.
    int64_t seq = asp_partner_progress (self, job->wo_id, ASP_STAGE_ON_SITE, NULL, 0);
    assert (seq == job->seq);
}

static void
s_test_withdraw (asp_partner_t *self, const char *wo_id, const char *reason, void *arg)
{
    (void) reason;
    test_state_t *ts = (test_state_t *) arg;
    ts->withdraws++;
    assert (asp_partner_job (self, wo_id) == NULL);
}

static void
s_test_error (asp_partner_t *self, const asp_partner_error_t *error, void *arg)
{
    (void) self;
    test_state_t *ts = (test_state_t *) arg;
    ts->last_dropped = error->job_dropped;
    ts->errors++;
}

static void
s_test_confirm (asp_partner_t *self, const char *ref, const char *wo_id, int64_t seq,
                bool duplicate, void *arg)
{
    (void) seq; (void) duplicate;
    test_state_t *ts = (test_state_t *) arg;
    ts->confirms++;
    if (streq (ref, "ACCEPT") && streq (wo_id, "W4") && duplicate) {
        ts->w4_confirms++;          //  ours now: do the work
        assert (asp_partner_complete (self, wo_id, ASP_RESULT_FIXED, NULL, NULL) == 0);
    }
    if (streq (ref, "ACCEPT") && !duplicate && streq (wo_id, "WU1")) {
        //  Handed back: no more steps, dropped once the platform confirms.
        assert (asp_partner_unable (self, wo_id, ASP_UNABLE_PARTNER_REMOVED, NULL) == -1);
        assert (asp_partner_unable (self, wo_id, ASP_UNABLE_NO_PARTS, "compressor") == 0);
        assert (asp_partner_unable (self, wo_id, ASP_UNABLE_NO_PARTS, NULL) == 0);
        assert (asp_partner_progress (self, wo_id, ASP_STAGE_NOTE, NULL, 0) == -1);
    }
    if (streq (ref, "ACCEPT") && !duplicate && streq (wo_id, "WU2")) {
        aspw_part_t parts [] = { { "PCB-7", 1 } };
        asp_partner_progress_t pr = { .stage = ASP_STAGE_SCHEDULED, .appointment_ms = 1800000000000,
                                      .end_ms = 1800000000000 + 3600000, .technician = "T-9" };
        assert (asp_partner_progress_ex (self, wo_id, &pr) == 1);
        asp_partner_completion_t done = { .result = ASP_RESULT_FIXED, .resolution = "Bad!", .fee = -1 };
        assert (asp_partner_complete_ex (self, wo_id, &done) == -1);
        done.resolution = "replaced_board";
        done.parts = parts;
        done.nparts = 1;
        done.fee = 9900;
        assert (asp_partner_complete_ex (self, wo_id, &done) == 0);
    }
    if (streq (ref, "ACCEPT") && !duplicate && (streq (wo_id, "W1") || streq (wo_id, "W3"))) {
        assert (asp_partner_progress (self, wo_id, ASP_STAGE_ON_THE_WAY, "leaving now", 0) == 1);
        assert (asp_partner_progress (self, wo_id, (asp_stage_t) 99, NULL, 0) == -1);
        assert (strstr (asp_partner_errstr (self), "stage"));
        assert (asp_partner_complete (self, wo_id, (asp_result_t) -1, NULL, NULL) == -1);
        assert (asp_partner_complete (self, wo_id, ASP_RESULT_FIXED, "replaced fuse", "Li Wei") == 0);
        assert (asp_partner_complete (self, wo_id, ASP_RESULT_FIXED, NULL, NULL) == -1);
    }
}

static void
s_test_welcome (asp_partner_t *self, const char *partner_id, void *arg)
{
    (void) self;
    test_state_t *ts = (test_state_t *) arg;
    assert (streq (partner_id, "P1"));
    ts->welcomes++;
}

//  The log handler: the library's only voice.
static void
s_test_log (asp_partner_t *self, asp_partner_log_level_t level, const char *msg,
            const char *const *fields, void *arg)
{
    (void) level;
    test_state_t *ts = (test_state_t *) arg;
    assert (msg && *msg && streq (fields [0], "partner") && fields [1]);
    if (streq (asp_partner_id (self), "P1"))
        ts->logs++;
}

static int
s_test_stats (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop; (void) timer_id;
    test_actor_t *a = (test_actor_t *) arg;
    a->ts->bad_messages = (int) asp_partner_stats (a->p1).bad_messages;
    a->ts->held = (int) asp_partner_held (a->p1);
    a->ts->p2_connects = (int) asp_partner_stats (a->p2).connects;
    a->ts->p2_welcomes = (int) asp_partner_stats (a->p2).welcomes;
    return 0;
}

static void
s_test_listed (asp_partner_t *self, int64_t assigned, int64_t offered, void *arg)
{
    (void) self;
    test_state_t *ts = (test_state_t *) arg;
    assert (assigned == 2 && offered == 1);
    ts->listed++;
}

//  $TERM ends the actor; LIST makes P1 ask for its work again.
static int
s_test_pipe (zloop_t *loop, zsock_t *pipe, void *arg)
{
    (void) loop;
    test_actor_t *a = (test_actor_t *) arg;
    char *cmd = zstr_recv (pipe);
    bool term = !cmd || streq (cmd, "$TERM");
    if (cmd && streq (cmd, "LIST"))
        assert (asp_partner_list (a->p1) == 0);
    zstr_free (&cmd);
    return term? -1: 0;
}

static void
s_test_actor (zsock_t *pipe, void *arg)
{
    test_state_t *ts = (test_state_t *) arg;
    zloop_t *loop = zloop_new ();
    asp_partner_handlers_t h = { s_test_offer, s_test_assigned, s_test_withdraw,
                                 s_test_error, s_test_confirm, s_test_welcome, s_test_log };
    asp_partner_cfg_t cfg = {
        .endpoint = ts->endpoint, .cert_file = ts->p1_cert,
        .server_cert_file = ts->server_cert, .capacity = 3, .skills = "heater, ac",
        .software = "selftest", .heartbeat_ms = 100, .liveness = 3,
        .reconnect_ms = 50, .reconnect_max_ms = 400
    };
    char err [256];
    test_actor_t a = { ts, NULL, NULL };
    a.p1 = asp_partner_new (loop, &cfg, &h, ts, err, sizeof err);
    assert (a.p1);
    cfg.cert_file = ts->p2_cert;
    a.p2 = asp_partner_new (loop, &cfg, &h, ts, err, sizeof err);
    assert (a.p2);
    assert (streq (asp_partner_id (a.p1), "P1"));   //  from the certificate
    assert (asp_partner_start (a.p1) == 0);
    assert (asp_partner_start (a.p1) == -1);
    assert (asp_partner_start (a.p2) == 0);
    asp_partner_set_listed (a.p1, s_test_listed);
    zloop_reader (loop, pipe, s_test_pipe, &a);
    zloop_timer (loop, 10, 0, s_test_stats, &a);
    zsock_signal (pipe, 0);
    zloop_start (loop);
    asp_partner_destroy (&a.p1);
    asp_partner_destroy (&a.p2);
    zloop_destroy (&loop);
}

//  The fake platform.
typedef struct {
    zsock_t *router;
    zpoller_t *poller;
    zframe_t *peer;             //  routing id of the last partner message
    bool echo;                  //  answer HEARTBEAT with HEARTBEAT
    char p1_key [41];
    int foreign;                //  messages from any key but P1's
} fake_t;

typedef struct {
    char cmd [16];
    char partner_meta [32];
    zframe_t *body_frame;       //  the decoded body points into it
    msgpack_unpacked u;
    const msgpack_object *body;
} fake_msg_t;

static void
s_fake_msg_done (fake_msg_t *m)
{
    msgpack_unpacked_destroy (&m->u);
    zframe_destroy (&m->body_frame);
}

static void
s_fake_send_raw (fake_t *f, const char *sig, const char *cmd, const void *body, size_t size)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_append (msg, &(zframe_t *) { zframe_dup (f->peer) });
    zmsg_addstr (msg, sig);
    zmsg_addstr (msg, cmd);
    zmsg_addmem (msg, body, size);
    assert (zmsg_send (&msg, f->router) == 0);
}

static void
s_fake_send (fake_t *f, const char *cmd, asp_mpmap_t *map)
{
    char *data;
    size_t size;
    asp_mpmap_bytes (map, &data, &size);
    s_fake_send_raw (f, ASPW_SIGNATURE, cmd, data, size);
    free (data);
    asp_mpmap_destroy (&map);
}

//  Next partner command other than HEARTBEAT, within timeout_ms.
static bool
s_fake_recv (fake_t *f, int timeout_ms, fake_msg_t *m)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    while (true) {
        int64_t left = deadline - zclock_mono ();
        if (left <= 0 || !zpoller_wait (f->poller, (int) left))
            return false;
        zmsg_t *msg = zmsg_recv (f->router);
        assert (msg && zmsg_size (msg) == 4);
        zframe_t *id = zmsg_pop (msg);
        zframe_t *sig = zmsg_pop (msg);
        assert (zframe_streq (sig, ASPW_SIGNATURE));
        //  CZMQ's zauth puts the client key (Z85) in User-Id and the
        //  certificate's metadata in the frame metadata.
        const char *user_id = zframe_meta (sig, "User-Id");
        if (!user_id || !streq (user_id, f->p1_key))
            f->foreign++;
        const char *meta = zframe_meta (sig, "partner_id");
        memset (m, 0, sizeof *m);
        snprintf (m->partner_meta, sizeof m->partner_meta, "%s", meta? meta: "");
        zframe_destroy (&sig);
        char *cmd = zmsg_popstr (msg);
        snprintf (m->cmd, sizeof m->cmd, "%s", cmd);
        zstr_free (&cmd);
        m->body_frame = zmsg_pop (msg);
        zmsg_destroy (&msg);
        msgpack_unpacked_init (&m->u);
        char err [128];
        assert (asp_mp_unpack (&m->u, zframe_data (m->body_frame), zframe_size (m->body_frame),
                               err, sizeof err) == 0);
        assert (m->u.data.type == MSGPACK_OBJECT_MAP);
        m->body = &m->u.data;
        zframe_destroy (&f->peer);
        f->peer = id;
        if (streq (m->cmd, "HEARTBEAT")) {
            if (f->echo)
                s_fake_send_raw (f, ASPW_SIGNATURE, "HEARTBEAT", "\x80", 1);
            s_fake_msg_done (m);
            continue;
        }
        return true;
    }
}

//  Expects cmd for wo_id next; checks and releases it.
static void
s_fake_expect (fake_t *f, const char *cmd, const char *wo_id, int timeout_ms, fake_msg_t *keep)
{
    fake_msg_t m;
    bool got = s_fake_recv (f, timeout_ms, &m);
    if (!got || !streq (m.cmd, cmd)) {
        fprintf (stderr, "partner test: expected %s %s, got %s\n", cmd, wo_id? wo_id: "",
                 got? m.cmd: "nothing");
        assert (false);
    }
    char w [64] = "";
    if (wo_id) {
        assert (asp_mp_get_str (m.body, "wo_id", w, sizeof w) == 0);
        assert (streq (w, wo_id));
    }
    if (keep) {
        *keep = m;
        keep->body = &keep->u.data;
    }
    else
        s_fake_msg_done (&m);
}

//  Waits for a READY from a new connection, ignoring what the old one
//  still says. Returns false on timeout.
static bool
s_fake_wait_ready (fake_t *f, int timeout_ms)
{
    zframe_t *old = f->peer? zframe_dup (f->peer): NULL;
    int64_t deadline = zclock_mono () + timeout_ms;
    fake_msg_t m;
    bool ready = false;
    while (!ready && s_fake_recv (f, (int) (deadline - zclock_mono ()), &m)) {
        ready = streq (m.cmd, "READY");
        s_fake_msg_done (&m);
    }
    //  A fresh socket has a fresh routing id.
    if (ready && old)
        assert (!zframe_eq (old, f->peer));
    zframe_destroy (&old);
    return ready;
}

static void
s_fake_welcome (fake_t *f)
{
    asp_mpmap_t *m = asp_mpmap_new ();
    asp_mpmap_str (m, "partner_id", "P1");
    asp_mpmap_int (m, "heartbeat_ms", 100);
    asp_mpmap_int (m, "liveness", 5);         //  room for a loaded test machine
    asp_mpmap_int (m, "offer_timeout_ms", 5000);
    const char *features [] = { "list", "unable", "appointment", "detail" };
    asp_mpmap_strv (m, "features", features, 4);
    s_fake_send (f, "WELCOME", m);
}

static void
s_fake_offer (fake_t *f, const char *cmd, const char *wo_id, const char *offer_id,
              int64_t expires_ms, const char *omit)
{
    asp_mpmap_t *m = asp_mpmap_new ();
    asp_mpmap_str (m, "wo_id", wo_id);
    asp_mpmap_str (m, "offer_id", offer_id);
    asp_mpmap_str (m, "ticket_id", wo_id + 1);
    if (!omit || !streq (omit, "kind"))
        asp_mpmap_str (m, "kind", "repair");
    asp_mpmap_str (m, "category", "heater");
    asp_mpmap_str (m, "region", "310000");
    asp_mpmap_int (m, "priority", 3);
    asp_mpmap_str (m, "tier", "express");
    asp_mpmap_str (m, "summary", "no hot water");
    if (streq (cmd, "OFFER"))
        asp_mpmap_int (m, "expires_ms", expires_ms);
    else
        asp_mpmap_int (m, "seq", expires_ms);
    s_fake_send (f, cmd, m);
}

static void
s_fake_confirm (fake_t *f, const char *ref, const char *wo_id, int64_t seq, bool duplicate)
{
    asp_mpmap_t *m = asp_mpmap_new ();
    asp_mpmap_str (m, "ref", ref);
    asp_mpmap_str (m, "wo_id", wo_id);
    if (seq)
        asp_mpmap_int (m, "seq", seq);
    asp_mpmap_bool (m, "duplicate", duplicate);
    s_fake_send (f, "CONFIRM", m);
}

static void
s_fake_error_offer (fake_t *f, const char *ref, const char *wo_id, const char *offer_id,
                    const char *code)
{
    asp_mpmap_t *m = asp_mpmap_new ();
    asp_mpmap_str (m, "ref", ref);
    asp_mpmap_str (m, "wo_id", wo_id);
    asp_mpmap_str (m, "offer_id", offer_id);
    asp_mpmap_str (m, "code", code);
    asp_mpmap_str (m, "reason", "test");
    s_fake_send (f, "ERROR", m);
}

static void
s_fake_confirm_offer (fake_t *f, const char *wo_id, const char *offer_id)
{
    asp_mpmap_t *m = asp_mpmap_new ();
    asp_mpmap_str (m, "ref", "ACCEPT");
    asp_mpmap_str (m, "wo_id", wo_id);
    asp_mpmap_str (m, "offer_id", offer_id);
    asp_mpmap_bool (m, "duplicate", false);
    s_fake_send (f, "CONFIRM", m);
}

static void
s_fake_error (fake_t *f, const char *ref, const char *wo_id, const char *code)
{
    asp_mpmap_t *m = asp_mpmap_new ();
    asp_mpmap_str (m, "ref", ref);
    asp_mpmap_str (m, "wo_id", wo_id);
    asp_mpmap_str (m, "code", code);
    asp_mpmap_str (m, "reason", "test");
    s_fake_send (f, "ERROR", m);
}

//  Waits until *counter reaches value, answering heartbeats meanwhile.
static void
s_fake_until (fake_t *f, atomic_int *counter, int value, int timeout_ms)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    fake_msg_t m;
    while (*counter < value && zclock_mono () < deadline)
        if (s_fake_recv (f, 10, &m)) {
            fprintf (stderr, "partner test: unexpected %s\n", m.cmd);
            assert (false);
        }
    if (*counter < value)
        fprintf (stderr, "partner test: counter at %d, expected %d\n", (int) *counter, value);
    assert (*counter >= value);
}

//  Asserts that nothing but heartbeats arrives for ms.
static void
s_fake_quiet (fake_t *f, int ms)
{
    fake_msg_t m;
    if (s_fake_recv (f, ms, &m)) {
        fprintf (stderr, "partner test: unexpected %s\n", m.cmd);
        assert (false);
    }
}

static void
s_test_api (test_state_t *ts, const char *public_cert)
{
    zloop_t *loop = zloop_new ();
    asp_partner_handlers_t h = { s_test_offer, s_test_assigned, NULL, NULL, NULL, NULL, NULL };
    asp_partner_cfg_t cfg = { .endpoint = ts->endpoint, .cert_file = ts->p1_cert,
                              .server_cert_file = ts->server_cert };
    char err [256];
    asp_partner_t *p = asp_partner_new (loop, &cfg, &h, NULL, err, sizeof err);
    assert (p);
    assert (asp_partner_capacity (p) == 1);
    assert (!asp_partner_connected (p));
    assert (asp_partner_accept (p, "W404") == -1);
    assert (strstr (asp_partner_errstr (p), "unknown work order"));
    assert (asp_partner_progress (p, "W404", ASP_STAGE_ON_SITE, NULL, 0) == -1);
    assert (asp_partner_set_capacity (p, -1) == -1 && asp_partner_set_capacity (p, 1001) == -1);
    assert (asp_partner_set_capacity (p, 0) == 0 && asp_partner_capacity (p) == 0);     //  drain
    assert (asp_partner_set_capacity (p, 7) == 0 && asp_partner_capacity (p) == 7);
    //  The extensions: refused locally before a WELCOME offered them.
    assert (!asp_partner_feature (p, ASPW_FEATURE_LIST));
    assert (asp_partner_list (p) == -1 && strstr (asp_partner_errstr (p), "not connected"));
    assert (asp_partner_unable (p, "W404", ASP_UNABLE_NO_PARTS, NULL) == -1);
    asp_partner_progress_t pr = { .stage = ASP_STAGE_SCHEDULED, .end_ms = 5 };
    assert (asp_partner_progress_ex (p, "W404", &pr) == -1);
    asp_partner_completion_t done = { .result = ASP_RESULT_FIXED, .fee = -1 };
    assert (asp_partner_complete_ex (p, "W404", &done) == -1);
    assert (asp_partner_job (p, "W404") == NULL && asp_partner_held (p) == 0);
    asp_partner_destroy (&p);
    assert (p == NULL);

    struct { const char *field; const char *value; const char *expect; } bad [] = {
        { "cert", "/nonexistent/x.cert_secret", "cannot read" },
        { "cert", public_cert, "no secret key" },
        { "key", "abc", "Z85" },
        { "skills", "a,,b", "empty entry" },
        { "endpoint", "nonsense://x", "bad endpoint" },
        { "capacity", "5000", "capacity" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
        asp_partner_cfg_t c = cfg;
        if (streq (bad [i].field, "cert"))
            c.cert_file = bad [i].value;
        if (streq (bad [i].field, "key"))
            c.server_key = bad [i].value;
        if (streq (bad [i].field, "skills"))
            c.skills = bad [i].value;
        if (streq (bad [i].field, "endpoint"))
            c.endpoint = bad [i].value;
        if (streq (bad [i].field, "capacity"))
            c.capacity = atoi (bad [i].value);
        err [0] = 0;
        assert (asp_partner_new (loop, &c, &h, NULL, err, sizeof err) == NULL);
        if (!strstr (err, bad [i].expect))
            fprintf (stderr, "partner test: error '%s' lacks '%s'\n", err, bad [i].expect);
        assert (strstr (err, bad [i].expect));
    }
    zloop_destroy (&loop);
}

static void
s_rmtree (const char *dir)
{
    zdir_t *d = zdir_new (dir, NULL);
    if (d) {
        zdir_remove (d, true);
        zdir_destroy (&d);
    }
}

void
asp_partner_test (void)
{
    static test_state_t state;
    test_state_t *ts = &state;
    memset (ts, 0, sizeof *ts);
    snprintf (ts->dir, sizeof ts->dir, "/tmp/asp-partner-test-XXXXXX");
    assert (mkdtemp (ts->dir));
    char certs [160], keys [160], public_cert [200];
    snprintf (certs, sizeof certs, "%.120s/certs", ts->dir);
    snprintf (keys, sizeof keys, "%.120s/keys", ts->dir);
    assert (zsys_dir_create ("%s", certs) == 0 && zsys_dir_create ("%s", keys) == 0);
    snprintf (ts->p1_cert, sizeof ts->p1_cert, "%s/P1.cert_secret", keys);
    snprintf (ts->p2_cert, sizeof ts->p2_cert, "%s/P2.cert_secret", keys);
    snprintf (ts->server_cert, sizeof ts->server_cert, "%s/routing.cert", keys);
    snprintf (public_cert, sizeof public_cert, "%s/P1.cert", certs);

    zcert_t *server = zcert_new ();
    zcert_set_meta (server, "name", "routing");
    assert (zcert_save_public (server, ts->server_cert) == 0);
    zcert_t *p1 = zcert_new ();
    zcert_set_meta (p1, "name", "P1");
    zcert_set_meta (p1, "partner_id", "P1");
    assert (zcert_save_public (p1, public_cert) == 0);      //  registered
    assert (zcert_save_secret (p1, ts->p1_cert) == 0);
    zcert_t *p2 = zcert_new ();
    zcert_set_meta (p2, "partner_id", "P2");
    assert (zcert_save_secret (p2, ts->p2_cert) == 0);      //  not registered

    //  The platform: zauth first, so no handshake happens without it.
    zactor_t *auth = zactor_new (zauth, NULL);
    assert (auth);
    zstr_sendx (auth, "CURVE", certs, NULL);
    zsock_wait (auth);
    fake_t fake = { 0 };
    fake_t *f = &fake;
    snprintf (f->p1_key, sizeof f->p1_key, "%s", zcert_public_txt (p1));
    f->router = zsock_new (ZMQ_ROUTER);
    zcert_apply (server, f->router);
    zsock_set_curve_server (f->router, 1);
    zsock_set_zap_domain (f->router, "asp");
    int port = zsock_bind (f->router, "%s", TEST_BIND);
    assert (port >= 17210 && port <= 17249);
    snprintf (ts->endpoint, sizeof ts->endpoint, "tcp://127.0.0.1:%d", port);
    s_test_api (ts, public_cert);
    f->poller = zpoller_new (f->router, NULL);
    f->echo = true;

    zactor_t *actor = zactor_new (s_test_actor, ts);
    fake_msg_t m;

    //  READY carries capacity, skills, regions; the key is authenticated.
    s_fake_expect (f, "READY", NULL, 5000, &m);
    assert (streq (m.partner_meta, "P1"));
    int64_t capacity;
    assert (asp_mp_get_int (m.body, "capacity", &capacity) == 0 && capacity == 3);
    const msgpack_object *skills = asp_mp_get (m.body, "skills");
    assert (skills && skills->type == MSGPACK_OBJECT_ARRAY && skills->via.array.size == 2);
    assert (asp_mp_str_eq (&skills->via.array.ptr [1], "ac"));
    const msgpack_object *regions = asp_mp_get (m.body, "regions");
    assert (regions && regions->via.array.size == 1 && asp_mp_str_eq (&regions->via.array.ptr [0], "*"));
    s_fake_msg_done (&m);
    s_fake_welcome (f);
    s_fake_until (f, &ts->welcomes, 1, 2000);

    //  OFFER -> ACCEPT -> CONFIRM; a repeated OFFER is the same job.
    s_fake_offer (f, "OFFER", "W1", "W1.1", 10000, NULL);
    s_fake_expect (f, "ACCEPT", "W1", 2000, &m);
    char offer_id [32];
    assert (asp_mp_get_str (m.body, "offer_id", offer_id, sizeof offer_id) == 0);
    assert (streq (offer_id, "W1.1"));
    s_fake_msg_done (&m);
    s_fake_offer (f, "OFFER", "W1", "W1.1", 10000, NULL);
    s_fake_confirm (f, "ACCEPT", "W1", 0, false);
    s_fake_expect (f, "PROGRESS", "W1", 2000, &m);
    int64_t seq;
    assert (asp_mp_get_int (m.body, "seq", &seq) == 0 && seq == 1);
    assert (asp_mp_str_eq (asp_mp_get (m.body, "stage"), "on_the_way"));
    s_fake_msg_done (&m);
    s_fake_expect (f, "COMPLETE", "W1", 2000, &m);
    assert (asp_mp_str_eq (asp_mp_get (m.body, "result"), "fixed"));
    assert (asp_mp_str_eq (asp_mp_get (m.body, "technician"), "Li Wei"));
    s_fake_msg_done (&m);
    s_fake_confirm (f, "PROGRESS", "W1", 1, false);

    //  An unconfirmed COMPLETE goes again after 2 x heartbeat, and stops
    //  once confirmed.
    int64_t t0 = zclock_mono ();
    s_fake_expect (f, "COMPLETE", "W1", 2000, NULL);
    assert (zclock_mono () - t0 >= 150);
    s_fake_confirm (f, "COMPLETE", "W1", 0, false);
    s_fake_quiet (f, 500);
    assert (ts->offers == 1);

    //  A late OFFER or ASSIGNED for the completed job is still that job:
    //  accept it and say COMPLETE again, no new offer for the caller.
    s_fake_offer (f, "OFFER", "W1", "W1.2", 10000, NULL);
    s_fake_expect (f, "ACCEPT", "W1", 2000, &m);
    assert (asp_mp_get_str (m.body, "offer_id", offer_id, sizeof offer_id) == 0);
    assert (streq (offer_id, "W1.2"));
    s_fake_msg_done (&m);
    s_fake_expect (f, "COMPLETE", "W1", 2000, NULL);
    s_fake_confirm (f, "ACCEPT", "W1", 0, true);
    s_fake_confirm (f, "COMPLETE", "W1", 0, true);
    s_fake_offer (f, "ASSIGNED", "W1", "W1.2", 0, NULL);
    s_fake_expect (f, "COMPLETE", "W1", 2000, NULL);
    s_fake_confirm (f, "COMPLETE", "W1", 0, true);
    s_fake_quiet (f, 300);
    assert (ts->offers == 1 && ts->assigned == 0);

    //  Garbage from the platform is logged, counted and ignored.
    zmsg_t *two = zmsg_new ();
    zmsg_append (two, &(zframe_t *) { zframe_dup (f->peer) });
    zmsg_addstr (two, ASPW_SIGNATURE);
    zmsg_addstr (two, "HEARTBEAT");
    assert (zmsg_send (&two, f->router) == 0);
    s_fake_send_raw (f, "XXXX1", "HEARTBEAT", "\x80", 1);
    s_fake_send_raw (f, ASPW_SIGNATURE, "OFFER", "\xc1", 1);
    s_fake_send_raw (f, ASPW_SIGNATURE, "OFFER", "\xdd\xff\x00\x00\x00", 5);
    s_fake_send_raw (f, ASPW_SIGNATURE, "OFFER", "\x01", 1);
    s_fake_send_raw (f, ASPW_SIGNATURE, "FROB", "\x80", 1);
    s_fake_send_raw (f, ASPW_SIGNATURE, "offer", "\x80", 1);
    s_fake_send_raw (f, ASPW_SIGNATURE, "CONFIRM", "\x81\xa3" "ref" "\xa6" "ACCEPT", 12);
    asp_mpmap_t *w = asp_mpmap_new ();
    asp_mpmap_str (w, "partner_id", "P1");
    asp_mpmap_str (w, "heartbeat_ms", "fast");
    s_fake_send (f, "WELCOME", w);
    //  An offer we can name but not read is declined at once.
    s_fake_offer (f, "OFFER", "W9", "W9.1", 10000, "kind");
    s_fake_expect (f, "DECLINE", "W9", 2000, &m);
    char reason [128];
    assert (asp_mp_get_str (m.body, "reason", reason, sizeof reason) == 0);
    assert (strstr (reason, "malformed offer: field 'kind' is required"));
    s_fake_msg_done (&m);
    s_fake_confirm (f, "DECLINE", "W9", 0, false);
    s_fake_until (f, &ts->bad_messages, 10, 2000);
    //  ...and the partner carries on.
    s_fake_offer (f, "OFFER", "W2", "W2.1", 10000, NULL);
    s_fake_expect (f, "ACCEPT", "W2", 2000, NULL);

    //  ERROR ends the refused ACCEPT and the job.
    s_fake_error (f, "ACCEPT", "W2", "offer_expired");
    s_fake_until (f, &ts->errors, 1, 2000);
    assert (ts->last_dropped);
    s_fake_quiet (f, 300);
    assert (ts->held == 0);

    //  An ACCEPT recorded but never confirmed (the platform restarted):
    //  ASSIGNED for it is its confirmation, and the caller hears so once;
    //  it is not a second job, and the late CONFIRM of the resent ACCEPT
    //  changes nothing.
    s_fake_offer (f, "OFFER", "W4", "W4.1", 10000, NULL);
    s_fake_expect (f, "ACCEPT", "W4", 2000, NULL);
    s_fake_offer (f, "ASSIGNED", "W4", "W4.1", 0, NULL);
    s_fake_expect (f, "COMPLETE", "W4", 2000, NULL);
    s_fake_confirm (f, "ACCEPT", "W4", 0, true);
    s_fake_confirm (f, "COMPLETE", "W4", 0, false);
    s_fake_quiet (f, 300);
    assert (ts->w4_confirms == 1 && ts->assigned == 0 && ts->held == 0);

    //  WITHDRAW of an unanswered offer; local expiry of another.
    s_fake_offer (f, "OFFER", "WH1", "WH1.1", 10000, NULL);
    s_fake_offer (f, "OFFER", "WH2", "WH2.1", 50, NULL);
    asp_mpmap_t *wd = asp_mpmap_new ();
    asp_mpmap_str (wd, "wo_id", "WH1");
    asp_mpmap_str (wd, "reason", "expired");
    s_fake_send (f, "WITHDRAW", wd);
    s_fake_until (f, &ts->withdraws, 2, 2000);
    assert (ts->offers == 5);

    //  Capacity is enforced locally too: a fourth held job is declined.
    s_fake_offer (f, "OFFER", "WH3", "WH3.1", 10000, NULL);
    s_fake_offer (f, "OFFER", "WH4", "WH4.1", 10000, NULL);
    s_fake_offer (f, "OFFER", "WH5", "WH5.1", 10000, NULL);
    s_fake_offer (f, "OFFER", "WH6", "WH6.1", 10000, NULL);
    s_fake_expect (f, "DECLINE", "WH6", 2000, &m);
    assert (asp_mp_get_str (m.body, "reason", reason, sizeof reason) == 0);
    assert (streq (reason, "over capacity"));
    s_fake_msg_done (&m);
    s_fake_confirm (f, "DECLINE", "WH6", 0, false);
    for (int i = 3; i <= 5; i++) {
        char wo [8];
        snprintf (wo, sizeof wo, "WH%d", i);
        asp_mpmap_t *x = asp_mpmap_new ();
        asp_mpmap_str (x, "wo_id", wo);
        asp_mpmap_str (x, "reason", "test");
        s_fake_send (f, "WITHDRAW", x);
    }
    s_fake_until (f, &ts->withdraws, 5, 2000);

    //  Answers name the offer: an offer_expired for the ACCEPT of an old
    //  offer must not end the job accepted again under a new offer_id,
    //  whether the re-offer came after a WITHDRAW (a new job) or not.
    s_fake_offer (f, "OFFER", "W7", "W7.1", 10000, NULL);
    s_fake_expect (f, "ACCEPT", "W7", 2000, NULL);
    asp_mpmap_t *w7 = asp_mpmap_new ();
    asp_mpmap_str (w7, "wo_id", "W7");
    asp_mpmap_str (w7, "reason", "expired");
    s_fake_send (f, "WITHDRAW", w7);
    s_fake_offer (f, "OFFER", "W7", "W7.2", 10000, NULL);
    s_fake_expect (f, "ACCEPT", "W7", 2000, &m);
    assert (asp_mp_str_eq (asp_mp_get (m.body, "offer_id"), "W7.2"));
    s_fake_msg_done (&m);
    s_fake_offer (f, "OFFER", "W8", "W8.1", 10000, NULL);
    s_fake_offer (f, "OFFER", "W8", "W8.2", 10000, NULL);
    s_fake_expect (f, "ACCEPT", "W8", 2000, &m);
    assert (asp_mp_str_eq (asp_mp_get (m.body, "offer_id"), "W8.1"));
    s_fake_msg_done (&m);
    s_fake_expect (f, "ACCEPT", "W8", 2000, &m);
    assert (asp_mp_str_eq (asp_mp_get (m.body, "offer_id"), "W8.2"));
    s_fake_msg_done (&m);
    //  W7's answers do not name the offer (an older platform): the ERROR
    //  owed to the withdrawn W7.1 is recognised by its place in the order.
    s_fake_error (f, "ACCEPT", "W7", "offer_expired");
    s_fake_error_offer (f, "ACCEPT", "W8", "W8.1", "offer_expired");
    s_fake_confirm (f, "ACCEPT", "W7", 0, false);
    s_fake_confirm_offer (f, "W8", "W8.2");
    s_fake_quiet (f, 300);
    assert (ts->errors == 1 && ts->withdraws == 6 && ts->held == 2);

    //  The extensions: UNABLE hands a job back (dropped on CONFIRM); the
    //  details of PROGRESS and COMPLETE; LIST -> LISTED.
    s_fake_offer (f, "OFFER", "WU1", "WU1.1", 10000, NULL);
    s_fake_expect (f, "ACCEPT", "WU1", 2000, NULL);
    s_fake_confirm (f, "ACCEPT", "WU1", 0, false);
    s_fake_expect (f, "UNABLE", "WU1", 2000, &m);
    assert (asp_mp_str_eq (asp_mp_get (m.body, "reason"), "no_parts"));
    assert (asp_mp_str_eq (asp_mp_get (m.body, "note"), "compressor"));
    s_fake_msg_done (&m);
    s_fake_confirm (f, "UNABLE", "WU1", 0, false);
    s_fake_offer (f, "OFFER", "WU2", "WU2.1", 10000, NULL);
    s_fake_expect (f, "ACCEPT", "WU2", 2000, NULL);
    s_fake_confirm (f, "ACCEPT", "WU2", 0, false);
    s_fake_expect (f, "PROGRESS", "WU2", 2000, &m);
    int64_t end;
    assert (asp_mp_get_int (m.body, "end_ms", &end) == 0 && end == 1800000000000 + 3600000);
    assert (asp_mp_str_eq (asp_mp_get (m.body, "technician"), "T-9"));
    s_fake_msg_done (&m);
    s_fake_expect (f, "COMPLETE", "WU2", 2000, &m);
    int64_t fee;
    assert (asp_mp_get_int (m.body, "fee", &fee) == 0 && fee == 9900);
    assert (asp_mp_str_eq (asp_mp_get (m.body, "resolution"), "replaced_board"));
    assert (asp_mp_get (m.body, "parts") && asp_mp_get (m.body, "parts")->via.array.size == 1);
    s_fake_msg_done (&m);
    s_fake_confirm (f, "PROGRESS", "WU2", 1, false);
    s_fake_confirm (f, "COMPLETE", "WU2", 0, false);
    s_fake_quiet (f, 200);
    assert (ts->held == 2);                 //  W7, W8: WU1 was handed back, WU2 done
    zstr_send (actor, "LIST");
    s_fake_expect (f, "LIST", NULL, 2000, NULL);
    asp_mpmap_t *listed = asp_mpmap_new ();
    asp_mpmap_int (listed, "count", 3);
    asp_mpmap_int (listed, "assigned", 2);
    asp_mpmap_int (listed, "offered", 1);
    s_fake_send (f, "LISTED", listed);
    s_fake_until (f, &ts->listed, 1, 2000);

    //  The platform dies (goes silent): the partner opens a fresh socket,
    //  says READY, and after WELCOME sends what is unconfirmed, in order.
    s_fake_offer (f, "OFFER", "W3", "W3.1", 10000, NULL);
    s_fake_expect (f, "ACCEPT", "W3", 2000, NULL);
    s_fake_confirm (f, "ACCEPT", "W3", 0, false);
    s_fake_expect (f, "PROGRESS", "W3", 2000, NULL);
    s_fake_expect (f, "COMPLETE", "W3", 2000, NULL);
    f->echo = false;
    assert (s_fake_wait_ready (f, 3000));
    f->echo = true;
    s_fake_welcome (f);
    s_fake_expect (f, "PROGRESS", "W3", 2000, NULL);
    s_fake_expect (f, "COMPLETE", "W3", 2000, NULL);
    s_fake_confirm (f, "PROGRESS", "W3", 1, true);
    s_fake_confirm (f, "COMPLETE", "W3", 0, false);
    s_fake_until (f, &ts->welcomes, 2, 2000);

    //  DISCONNECT: a fresh READY. ASSIGNED for an unknown job resumes it
    //  after the platform's seq; a second ASSIGNED is the same job.
    asp_mpmap_t *d = asp_mpmap_new ();
    asp_mpmap_str (d, "reason", "unknown connection");
    s_fake_send (f, "DISCONNECT", d);
    assert (s_fake_wait_ready (f, 3000));
    s_fake_welcome (f);
    s_fake_offer (f, "ASSIGNED", "W5", "W5.1", 2, NULL);
    s_fake_expect (f, "PROGRESS", "W5", 2000, &m);
    assert (asp_mp_get_int (m.body, "seq", &seq) == 0 && seq == 3);
    s_fake_msg_done (&m);
    s_fake_offer (f, "ASSIGNED", "W5", "W5.1", 2, NULL);
    s_fake_confirm (f, "PROGRESS", "W5", 3, false);
    s_fake_quiet (f, 300);
    assert (ts->assigned == 1);


    //  not_ready: reconnect, nothing refused for good.
    s_fake_error (f, "PROGRESS", "W5", "not_ready");
    assert (s_fake_wait_ready (f, 3000));
    s_fake_welcome (f);
    s_fake_until (f, &ts->welcomes, 4, 2000);

    //  P2's key is not in the folder: it tried, and never got through.
    assert (ts->p2_connects >= 2);
    assert (ts->p2_welcomes == 0);
    assert (f->foreign == 0);

    //  Everything the library had to say went to the log handler.
    assert (ts->logs > 10);

    //  Destroying the partner says goodbye.
    zactor_destroy (&actor);
    s_fake_expect (f, "DISCONNECT", NULL, 2000, NULL);

    zframe_destroy (&f->peer);
    zpoller_destroy (&f->poller);
    zsock_destroy (&f->router);
    zactor_destroy (&auth);
    zcert_destroy (&server);
    zcert_destroy (&p1);
    zcert_destroy (&p2);
    s_rmtree (ts->dir);
}
