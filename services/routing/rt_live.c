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

//  Reads n replies; -1 when one is lost or an error.
static int
s_replies (asp_rds_t *rds, int n)
{
    int rc = 0;
    for (int r = 0; r < n; r++) {
        redisReply *reply = rc? NULL: asp_rds_reply (rds);
        if (!reply || reply->type == REDIS_REPLY_ERROR)
            rc = -1;
        if (reply)
            freeReplyObject (reply);
    }
    return rc;
}

int
rt_live_write (asp_rds_t *rds, rt_registry_t *registry, char **last)
{
    if (!asp_rds_ready (rds)) {
        free (*last);
        *last = NULL;
        return -1;
    }
    zhashx_t *partners = rt_registry_partners (registry);
    size_t n = zhashx_size (partners);
    //  HSET key up 1 (id value)..., and the same as one string to compare.
    size_t argc = 4 + 2 * n;
    const char **argv = (const char **) calloc (argc, sizeof *argv);
    size_t *lens = (size_t *) calloc (argc, sizeof *lens);
    char (*values) [64] = calloc (n + 1, sizeof *values);
    assert (argv && lens && values);
    argv [0] = "HSET";
    argv [1] = RT_LIVE_KEY;
    argv [2] = "up";
    argv [3] = "1";
    size_t i = 4, k = 0, textlen = 1;
    for (rt_partner_t *p = (rt_partner_t *) zhashx_first (partners); p; p = (rt_partner_t *) zhashx_next (partners)) {
        rt_live_value (p, values [k], sizeof values [k]);
        argv [i++] = p->id;
        argv [i++] = values [k++];
    }
    for (size_t j = 0; j < argc; j++)
        textlen += (lens [j] = strlen (argv [j])) + 1;
    char *text = (char *) calloc (1, textlen);
    assert (text);
    for (size_t j = 2; j < argc; j++) {
        strcat (text, argv [j]);
        strcat (text, "\n");
    }
    char ttl [24];
    snprintf (ttl, sizeof ttl, "%d", RT_LIVE_TTL_MS);
    const char *expire [] = { "PEXPIRE", RT_LIVE_KEY, ttl };
    size_t lexpire [] = { 7, strlen (RT_LIVE_KEY), strlen (ttl) };
    int rc;
    if (*last && strcmp (*last, text) == 0) {
        //  Unchanged: only the expiry moves.
        rc = asp_rds_append (rds, 3, expire, lexpire) || s_replies (rds, 1)? -1: 0;
        free (text);
    }
    else {
        const char *multi [] = { "MULTI" }, *exec [] = { "EXEC" }, *del [] = { "DEL", RT_LIVE_KEY };
        size_t lmulti [] = { 5 }, lexec [] = { 4 }, ldel [] = { 3, strlen (RT_LIVE_KEY) };
        rc = asp_rds_append (rds, 1, multi, lmulti) || asp_rds_append (rds, 2, del, ldel)
          || asp_rds_append (rds, (int) argc, argv, lens) || asp_rds_append (rds, 3, expire, lexpire)
          || asp_rds_append (rds, 1, exec, lexec) || s_replies (rds, 5)? -1: 0;
        free (*last);
        *last = text;
    }
    if (rc) {
        free (*last);
        *last = NULL;
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
