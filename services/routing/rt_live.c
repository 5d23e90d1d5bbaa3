/*  Routing's live view of the partners (rt_live.h).                      */
#include "rt_live.h"
#include <assert.h>
#include <inttypes.h>
#include <string.h>

void
rt_live_value (const rt_partner_t *partner, char *out, size_t len)
{
    int64_t load = partner->held? (int64_t) zhashx_size (partner->held): 0;
    snprintf (out, len, "%d|%" PRId64 "|%" PRId64, rt_partner_live (partner)? 1: 0, load,
              rt_partner_free (partner) + load);
}

int
rt_live_write (asp_rds_t *rds, rt_registry_t *registry, int64_t now_ms)
{
    if (!asp_rds_ready (rds))
        return -1;
    zhashx_t *partners = rt_registry_partners (registry);
    size_t n = zhashx_size (partners);
    //  HSET key time_ms <now> (id value)...
    size_t argc = 4 + 2 * n;
    const char **argv = (const char **) calloc (argc, sizeof *argv);
    size_t *lens = (size_t *) calloc (argc, sizeof *lens);
    char (*values) [64] = calloc (n + 1, sizeof *values);
    assert (argv && lens && values);
    char now [24], ttl [24];
    snprintf (now, sizeof now, "%" PRId64, now_ms);
    snprintf (ttl, sizeof ttl, "%d", RT_LIVE_TTL_MS);
    argv [0] = "HSET";
    argv [1] = RT_LIVE_KEY;
    argv [2] = "time_ms";
    argv [3] = now;
    size_t i = 4, k = 0;
    for (rt_partner_t *p = (rt_partner_t *) zhashx_first (partners); p; p = (rt_partner_t *) zhashx_next (partners)) {
        rt_live_value (p, values [k], sizeof values [k]);
        argv [i++] = p->id;
        argv [i++] = values [k++];
    }
    for (size_t j = 0; j < argc; j++)
        lens [j] = strlen (argv [j]);
    const char *multi [] = { "MULTI" }, *exec [] = { "EXEC" };
    const char *del [] = { "DEL", RT_LIVE_KEY }, *expire [] = { "PEXPIRE", RT_LIVE_KEY, ttl };
    size_t lmulti [] = { 5 }, lexec [] = { 4 }, ldel [] = { 3, strlen (RT_LIVE_KEY) },
           lexpire [] = { 7, strlen (RT_LIVE_KEY), strlen (ttl) };
    int rc = asp_rds_append (rds, 1, multi, lmulti) || asp_rds_append (rds, 2, del, ldel)
          || asp_rds_append (rds, (int) argc, argv, lens) || asp_rds_append (rds, 3, expire, lexpire)
          || asp_rds_append (rds, 1, exec, lexec)? -1: 0;
    for (int r = 0; rc == 0 && r < 5; r++) {
        redisReply *reply = asp_rds_reply (rds);
        if (!reply)
            rc = -1;
        else {
            if (reply->type == REDIS_REPLY_ERROR || (r == 4 && reply->type != REDIS_REPLY_ARRAY))
                rc = -1;
            freeReplyObject (reply);
        }
    }
    free (values);
    free (lens);
    free (argv);
    return rc;
}

void
rt_live_test (void)
{
    rt_registry_t *reg = rt_registry_new ();
    rt_partner_t *p = rt_registry_partner (reg, "P1", true);
    char *skills [] = { "*" }, *regions [] = { "*" };
    rt_partner_set (p, 5, skills, 1, regions, 1);
    char v [64];
    rt_live_value (p, v, sizeof v);
    //  Known, not connected, holding nothing: its capacity is its credit.
    assert (strncmp (v, "0|0|", 4) == 0);
    rt_registry_destroy (&reg);
}
