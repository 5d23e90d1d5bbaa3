/*  intake_notify: notification's dead letters as staff see them, and the
    replay they ask for (docs/notifications.md, docs/http-api.md).

    intake reads notification's keys read-only (asp_notify_keys.h names
    them). GET /v1/notifications/dead lists the dead letters newest first
    across the shards: each shard's dead list is newest first already, so
    a page [offset, offset + limit) needs at most offset + limit ids of
    each shard (one pipeline), then their hashes (one more), merged by
    dead_ms. With ?ticket= only that ticket's shard is read, at most
    INTAKE_NOTIFY_SCAN ids of it. Addresses are masked (phones as the logs
    mask them, e-mail addresses to their first character and domain).

    POST /v1/notifications/{id}/replay finds the notification by id in
    every shard (one HGET each, one round trip: the id does not name its
    shard), then one script in the ticket's shard (notify_replay.lua)
    checks it is still a dead letter, adds a timeline entry naming who
    asked and commits notification.replay {id, by} to the outbox.
    Notification applies it once (its inbox) and moves the id back to
    pending. Two requests before notification applied the first commit two
    commands: the second finds it not dead any more and does nothing.   */
#ifndef INTAKE_NOTIFY_H
#define INTAKE_NOTIFY_H
#include "intake_http.h"
#include "intake_dispatch.h"

#define INTAKE_NOTIFY_LIMIT_MAX  200    //  items per page
#define INTAKE_NOTIFY_OFFSET_MAX 10000  //  deepest page start
#define INTAKE_NOTIFY_SCAN       10000  //  ids of one shard a ?ticket= filter reads

void intake_notify_dead (intake_api_t *api, const intake_call_t *call, const asp_http_req_t *req,
                         asp_http_res_t *res);
void intake_notify_replay (intake_api_t *api, const intake_call_t *call, const asp_http_req_t *req,
                           asp_http_res_t *res);
//  An address as staff may see it: a phone as asp_mask_phone masks it,
//  an e-mail address as its first character, "***" and its domain.
void intake_notify_mask (const char *to, char *out, size_t outlen);

//  True for notification's events about a ticket (notification.delivered,
//  notification.dead: a customer's notification reached its receiver, or
//  will not be tried again).
bool intake_notify_is (const char *type);
//  Checks env's body, every field (id a notification id, template,
//  channel one of asp_vocab_notify_channel's words, attempts, and a dead
//  letter's error), and sets event.lua's view arguments in a: the event
//  only adds to the timeline. 0, or -1 with the reason naming the field.
int intake_notify_event (const asp_envelope_t *env, asp_mpmap_t *a, char *reason, size_t reason_len);

void intake_notify_test (void);
#endif
