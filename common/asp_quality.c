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

//  Orders strikes by ms, then id (the ladder's own order).
static int
s_by_time (const void *a, const void *b)
{
    const cJSON *x = *(const cJSON *const *) a, *y = *(const cJSON *const *) b;
    double mx = cJSON_GetNumberValue (cJSON_GetObjectItem (x, "ms"));
    double my = cJSON_GetNumberValue (cJSON_GetObjectItem (y, "ms"));
    if (mx != my)
        return mx < my? -1: 1;
    return strcmp (cJSON_GetStringValue (cJSON_GetObjectItem (x, "strike_id")),
                   cJSON_GetStringValue (cJSON_GetObjectItem (y, "strike_id")));
}

int
asp_quality_strikes (asp_rds_t *rds, const char *partner, cJSON **body)
{
    *body = NULL;
    char key [ASP_KEY_MAX];
    asp_key_fmt (key, sizeof key, asp_shard_of (partner), ASP_QUALITY_KEY_LADDER, partner);
    redisReply *r = asp_rds_hgetall (rds, key);
    if (!r)
        return -1;
    if (r->elements == 0) {
        freeReplyObject (r);
        return 0;
    }
    size_t n = 0;
    cJSON **list = (cJSON **) calloc (r->elements / 2 + 1, sizeof *list);
    assert (list);
    double version = 0;
    bool removed = false;
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const char *f = r->element [i]->str, *v = r->element [i + 1]->str;
        if (!f || !v)
            continue;
        if (strcmp (f, "ver") == 0)
            version = strtod (v, NULL);
        if (strcmp (f, "removed") == 0)
            removed = strcmp (v, "1") == 0;
        if (strncmp (f, "s|", 2) != 0)
            continue;
        cJSON *o = cJSON_Parse (v);
        if (!cJSON_IsObject (o)) {
            cJSON_Delete (o);       //  not feedback's: left out
            continue;
        }
        cJSON_AddStringToObject (o, "strike_id", f + 2);
        list [n++] = o;
    }
    freeReplyObject (r);
    qsort (list, n, sizeof *list, s_by_time);
    cJSON *o = cJSON_CreateObject ();
    cJSON_AddStringToObject (o, "partner_id", partner);
    cJSON_AddBoolToObject (o, "removed", removed);
    cJSON_AddNumberToObject (o, "version", version);
    cJSON *strikes = cJSON_AddArrayToObject (o, "strikes");
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray (strikes, list [i]);
    free (list);
    *body = o;
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

    //  The strike ladder: none, then as feedback writes it, in time order.
    assert (asp_quality_strikes (rds, "PQ1", &body) == 0 && body == NULL);
    asp_key_fmt (key, sizeof key, asp_shard_of ("PQ1"), ASP_QUALITY_KEY_LADDER, "PQ1");
    r = asp_rds_cmd (rds, "HSET %s ver 2 removed 1 s|T2-1 %s s|T1-1 %s s|T3-1 [", key,
                     "{\"ticket_id\":\"T2\",\"ms\":20,\"state\":\"active\"}",
                     "{\"ticket_id\":\"T1\",\"ms\":10,\"state\":\"upheld\"}");
    assert (r && r->type == REDIS_REPLY_INTEGER);
    freeReplyObject (r);
    assert (asp_quality_strikes (rds, "PQ1", &body) == 0 && body);
    assert (cJSON_IsTrue (cJSON_GetObjectItem (body, "removed")));
    assert (cJSON_GetObjectItem (body, "version")->valuedouble == 2);
    cJSON *list = cJSON_GetObjectItem (body, "strikes");
    assert (cJSON_GetArraySize (list) == 2);
    assert (strcmp (cJSON_GetObjectItem (cJSON_GetArrayItem (list, 0), "strike_id")->valuestring, "T1-1") == 0);
    cJSON_Delete (body);
    r = asp_rds_cmd (rds, "DEL %s", key);
    freeReplyObject (r);
    asp_rds_destroy (&rds);
}
