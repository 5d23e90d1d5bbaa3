/*  asp_quality: where feedback keeps the partners' published quality
    scores, for the readers outside feedback (intake's
    GET /v1/partners/{id}/quality).

    feedback owns the hash and writes it (services/feedback/scored.lua, in
    the step that commits partner.scored to its outbox); intake only reads
    it. Both use this header: it is the one place that names the fields.

    Key, in the partner's shard (asp_keys.h: "{s<n>}:" + name, n =
    asp_shard_of (partner)):
      fb:scores         hash (ASP_QUALITY_KEY_SCORES), per partner p:
        p:score         the last published score, ‰
        p:ms            when it was published (wall ms)
        p:body          that partner.scored body as JSON: the long and the
                        short window's score, components, samples,
                        complaints_n, breaches and compensation, and the
                        technicians' (docs/architecture.md, "Quality facts
                        and scores")
      fb:ladder:<p>     hash (ASP_QUALITY_KEY_LADDER): partner p's
                        three-strike ladder (services/feedback/
                        feedback_strikes.h): "ver", "removed" (1 or absent),
                        "s|<strike id>" each strike as JSON               */
#ifndef ASP_QUALITY_H
#define ASP_QUALITY_H
#include <cjson/cJSON.h>
#include "asp_rds.h"

#define ASP_QUALITY_KEY_SCORES "fb:scores"
#define ASP_QUALITY_KEY_LADDER "fb:ladder:%s"

//  Reads partner's last published scores in one round trip: *body the
//  partner.scored body (a new object, caller deletes) with "scored_ms"
//  added, or NULL when never scored. 0, or -1 when Redis failed.
int asp_quality_read (asp_rds_t *rds, const char *partner, cJSON **body);

//  Reads partner's strike ladder in one round trip: *body {partner_id,
//  removed, version, strikes: [{strike_id, ticket_id, technician_id, ms,
//  state, level, step, technician_level, technician_step, and once
//  reviewed reason, by, reviewed_ms}, in order of ms then id]} (a new
//  object, caller deletes), or NULL when it has none. 0, or -1 when Redis
//  failed.
int asp_quality_strikes (asp_rds_t *rds, const char *partner, cJSON **body);

void asp_quality_test (void);
#endif
