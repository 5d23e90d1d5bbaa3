/*  intake_partners: the partner registry (docs/http-api.md, docs/openapi/
    partners.yaml): the brand's record of each outsourced service center,
    its territories, skills, capacity cap, express capability, hours,
    status, CURVE key and technicians.

    POST/GET /v1/partners, GET/PATCH /v1/partners/{id}. Ops and admin
    write, supervisors read too. Every change is one script (pt_write.lua)
    that writes the record and emits partner.changed (the whole record,
    version + 1) through the outbox in the same atomic step; routing keeps
    its projection of it (services/routing/rt_profile.h) and applies it at
    once: a suspended partner gets no new offers, a removed one is cut off
    and its work re-routed. Removed is final.

    Keys (asp_keys.h: "{s<n>}:" + name), each in the shard of the id in it:
      pt:<partner_id>   hash: id, record (the record as JSON, the same as
                        GET answers), status, version, curve_key (Z85, ""
                        when none), updated_ms
      pt:all            sorted set, one per shard: every partner id of the
                        shard, score 0 (listed in id order, ZRANGEBYLEX)
      pk:<hex>          string: the partner a CURVE key belongs to (<hex>:
                        the key's 32 bytes in hex), in that name's shard
    A key's index is claimed before the record names it (intent first,
    arc_phone.lua's claim, as the archive does for phones) and given back
    after the record stopped naming it; an index whose partner does not
    name that key (a step that died half-way) is free. So a key belongs to
    one partner at most, on a cluster too, and a SIGKILL between the steps
    loses nothing. A removed partner keeps its key: it must never pass
    the handshake again, for it or for anyone else.                        */
#ifndef INTAKE_PARTNERS_H
#define INTAKE_PARTNERS_H
#include "intake_http.h"

#define INTAKE_KEY_PARTNER      "pt:%s"
#define INTAKE_KEY_PARTNERS     "pt:all"
#define INTAKE_KEY_PARTNER_KEY  "pk:%s"

//  The routes.
intake_route_fn intake_partners_create;
intake_route_fn intake_partners_list;
intake_route_fn intake_partners_get;
//  GET /v1/partners/{id}/quality: the partner's last published quality
//  scores (feedback's, read through common/asp_quality.h): both windows'
//  score, components and figures and its technicians', with scored_ms;
//  scored_ms null when never scored; 404 for a partner neither scored nor
//  in the registry.
intake_route_fn intake_partners_quality;
//  GET /v1/partners/{id}/strikes: the partner's three-strike ladder
//  (feedback's, read through common/asp_quality.h): removed, version and
//  each strike with its step and review; an empty ladder for a registered
//  partner without strikes; 404 for one with neither.
intake_route_fn intake_partners_strikes;
//  POST /v1/partners/{id}/strikes/{strike}/review {decision: uphold |
//  overturn, reason}: 202, strike.reviewed to feedback (by: the caller);
//  404 unknown_strike when the ladder has no such strike; 400 naming the
//  field for anything else.
intake_route_fn intake_partners_review;
intake_route_fn intake_partners_patch;

//  Checks a whole partner record (a POST body, or a PATCH applied to the
//  stored record): true, or false with err naming the field. Safe on any
//  input.
bool intake_partner_valid (const cJSON *record, bool create, intake_err_t *err);
//  The registry's status of partner_id (active, suspended, removed): 0
//  with the word in status, 1 when the registry has no such partner (it
//  may be one admitted by its certificate file only), -1 Redis down.
int intake_partner_status (intake_api_t *api, const char *partner_id, char *status, size_t len);

void intake_partners_test (void);
#endif
