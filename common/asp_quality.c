#include "asp_quality.h"
#include "asp_keys.h"
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
asp_quality_read (asp_rds_t *rds, const char *partner, cJSON **body)
{
    *body = NULL;
    char key [ASP_KEY_MAX], fms [ASP_ID_MAX + 8], fbody [ASP_ID_MAX + 8];
    asp_key_fmt (key, sizeof key, asp_shard_of (partner), ASP_QUALITY_KEY_SCORES);
    snprintf (fms, sizeof fms, "%s:ms", partner);
    snprintf (fbody, sizeof fbody, "%s:body", partner);
    const char *argv [] = { "HMGET", key, fms, fbody };
    redisReply *r = asp_rds_cmdv (rds, 4, argv, NULL);
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
        if (r)
            freeReplyObject (r);
        return -1;
    }
    //  A body that does not parse (never written by feedback) reads as
    //  never scored rather than as garbage.
    if (r->element [0]->type == REDIS_REPLY_STRING && r->element [1]->type == REDIS_REPLY_STRING) {
        cJSON *o = cJSON_Parse (r->element [1]->str);
        if (cJSON_IsObject (o)) {
            cJSON_AddNumberToObject (o, "scored_ms", strtod (r->element [0]->str, NULL));
            *body = o;
        }
        else
            cJSON_Delete (o);
    }
    freeReplyObject (r);
    return 0;
}

#include "asp_selftest.h"

void
asp_quality_test (void)
{
    asp_selftest_need_redis ("asp_quality_test");
    asp_rds_t *rds = asp_rds_new ();
    assert (asp_rds_ready (rds));
    //  Never scored: NULL.
    cJSON *body;
    assert (asp_quality_read (rds, "PQ1", &body) == 0 && body == NULL);
    //  As feedback writes it: the body with scored_ms, from the partner's shard.
    char key [ASP_KEY_MAX];
    asp_key_fmt (key, sizeof key, asp_shard_of ("PQ1"), ASP_QUALITY_KEY_SCORES);
    redisReply *r = asp_rds_cmd (rds, "HSET %s PQ1:ms 1700000000000 PQ1:score 812 PQ1:body %s", key,
                                 "{\"partner_id\":\"PQ1\",\"score\":812,\"technicians\":[]}");
    assert (r && r->type == REDIS_REPLY_INTEGER);
    freeReplyObject (r);
    assert (asp_quality_read (rds, "PQ1", &body) == 0 && body);
    assert (cJSON_GetObjectItem (body, "score")->valuedouble == 812);
    assert (cJSON_GetObjectItem (body, "scored_ms")->valuedouble == 1700000000000.0);
    cJSON_Delete (body);
    //  Garbage in the body reads as never scored.
    r = asp_rds_cmd (rds, "HSET %s PQ1:body [1,2", key);
    freeReplyObject (r);
    assert (asp_quality_read (rds, "PQ1", &body) == 0 && body == NULL);
    asp_rds_destroy (&rds);
}
