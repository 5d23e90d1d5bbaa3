#include "rt_partners.h"
#include "asp_log.h"
#include "rt_profile.h"
#include <assert.h>

extern const char asp_lua_pt_store [];

struct rt_partners_t {
    asp_svc_t *svc;
    rt_registry_t *registry;
    asp_script_t *store;
    zhashx_t *keys;                 //  Z85 key -> rt_partner_t (borrowed)
    zhashx_t *known;                //  partner id -> rt_partner_t with a profile (borrowed)
    bool loaded;
};

rt_partners_t *
rt_partners_new (asp_svc_t *svc, rt_registry_t *registry)
{
    rt_partners_t *self = (rt_partners_t *) calloc (1, sizeof *self);
    assert (self);
    self->svc = svc;
    self->registry = registry;
    self->store = asp_svc_script (svc, "pt_store", asp_lua_pt_store);
    self->keys = zhashx_new ();
    self->known = zhashx_new ();
    return self;
}

void
rt_partners_destroy (rt_partners_t **self_p)
{
    rt_partners_t *self = *self_p;
    if (!self)
        return;
    zhashx_destroy (&self->keys);
    zhashx_destroy (&self->known);
    free (self);
    *self_p = NULL;
}

asp_txn_t *
rt_partners_store (rt_partners_t *self, const asp_envelope_t *env, char *reason, size_t reason_len)
{
    rt_profile_t *p = rt_profile_parse (env->body, reason, reason_len);
    if (!p)
        return NULL;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_object (&pk, *env->body);
    asp_txn_t *txn = asp_txn_new (self->store, asp_shard_of (rt_profile_id (p)));
    asp_txn_inbox (txn, env->id);
    asp_txn_key (txn, RT_KEY_PARTNERS);
    asp_txn_arg (txn, "%s", rt_profile_id (p));
    asp_txn_arg (txn, "%lld", (long long) rt_profile_version (p));
    asp_txn_argb (txn, sb.data, sb.size);
    msgpack_sbuffer_destroy (&sb);
    rt_profile_destroy (&p);
    return txn;
}

//  The handshake's verdict on key follows the partner's status.
static void
s_key (rt_partners_t *self, const char *key, asp_curve_verdict_t verdict)
{
    asp_curve_key (asp_svc_curve (self->svc), ASP_CURVE_PARTNERS, key, verdict);
}

rt_partner_t *
rt_partners_apply (rt_partners_t *self, const msgpack_object *record, asp_partner_status_t *was)
{
    char err [200];
    rt_profile_t *p = rt_profile_parse (record, err, sizeof err);
    if (!p) {
        asp_log_error ("partner record not applied: %s", err);
        return NULL;
    }
    rt_partner_t *partner = rt_registry_partner (self->registry, rt_profile_id (p), true);
    rt_profile_t *old = partner->profile;
    if (old && rt_profile_version (old) >= rt_profile_version (p)) {
        rt_profile_destroy (&p);
        return NULL;
    }
    *was = old? rt_profile_status (old): ASP_PARTNER_ACTIVE;
    const char *was_key = old? rt_profile_key (old): NULL, *key = rt_profile_key (p);
    if (was_key && (!key || strcmp (was_key, key) != 0)) {
        zhashx_delete (self->keys, was_key);
        s_key (self, was_key, ASP_CURVE_KEY_FORGET);
    }
    if (key) {
        zhashx_update (self->keys, key, partner);
        s_key (self, key, rt_profile_status (p) == ASP_PARTNER_REMOVED? ASP_CURVE_KEY_DENY: ASP_CURVE_KEY_ALLOW);
    }
    partner->profile = p;
    rt_profile_destroy (&old);
    zhashx_update (self->known, partner->id, partner);
    char version [24];
    snprintf (version, sizeof version, "%lld", (long long) rt_profile_version (p));
    asp_log_kv (ASP_LOG_INFO, "partner record applied", "partner", partner->id, "status",
                asp_vocab_name (&asp_vocab_partner_status, rt_profile_status (p)), "version", version, NULL);
    return partner;
}

int
rt_partners_load (rt_partners_t *self)
{
    if (self->loaded)
        return 0;
    redisReply *r [ASP_SHARDS];
    const char *argv [] = { "HGETALL", RT_KEY_PARTNERS };
    int rc = asp_rds_each_shard (asp_svc_rds (self->svc), 2, argv, r);
    size_t n = 0;
    for (int s = 0; rc == 0 && s < ASP_SHARDS; s++)
        for (size_t i = 0; i + 1 < r [s]->elements; i += 2) {
            msgpack_unpacked u;
            msgpack_unpacked_init (&u);
            char err [200];
            asp_partner_status_t was;
            const redisReply *v = r [s]->element [i + 1];
            if (asp_mp_unpack (&u, v->str, v->len, err, sizeof err) == 0 && rt_partners_apply (self, &u.data, &was))
                n++;
            msgpack_unpacked_destroy (&u);
        }
    for (int s = 0; s < ASP_SHARDS; s++)
        if (r [s])
            freeReplyObject (r [s]);
    if (rc == 0) {
        self->loaded = true;
        asp_log_info ("loaded %zu partner records", n);
    }
    return rc;
}

int
rt_partners_lookup (rt_partners_t *self, const char *key, char *out, size_t outlen, const char **why)
{
    rt_partner_t *partner = (rt_partner_t *) zhashx_lookup (self->keys, key);
    if (!partner)
        return 1;
    if (rt_profile_status (partner->profile) == ASP_PARTNER_REMOVED) {
        *why = "partner removed";
        return -1;
    }
    snprintf (out, outlen, "%s", partner->id);
    return 0;
}

int
rt_partners_admit (rt_partners_t *self, const char *partner_id, const char *key, const char **why)
{
    rt_partner_t *partner = rt_registry_partner (self->registry, partner_id, false);
    if (!partner || !partner->profile || rt_profile_status (partner->profile) != ASP_PARTNER_REMOVED)
        return 0;
    //  Its certificate may still be in the folder: the handshake refuses
    //  the key from now on all the same.
    s_key (self, key, ASP_CURVE_KEY_DENY);
    *why = "partner removed";
    return -1;
}

rt_partner_t *rt_partners_first (rt_partners_t *self) { return (rt_partner_t *) zhashx_first (self->known); }
rt_partner_t *rt_partners_next (rt_partners_t *self) { return (rt_partner_t *) zhashx_next (self->known); }

//  --------------------------------------------------------------------------
//  Self-test: a record stored once and only when newer, applied, reloaded
//  by a new instance; keys looked up; a removed partner's key refused.

#include "asp_probe.h"
#include "asp_selftest.h"

//  The decoded envelope points into its bytes: *data must outlive it.
static asp_envelope_t *
s_test_env (const char *id, const char *status, int64_t version, const char *key, char **data)
{
    asp_msg_t *msg = asp_msg_new (ASP_EV_PARTNER_CHANGED, NULL, NULL);
    const char *any [] = { "*" };
    asp_mpmap_str (msg->body, "partner_id", id);
    asp_mpmap_str (msg->body, "name", "Test");
    asp_mpmap_str (msg->body, "status", status);
    asp_mpmap_strv (msg->body, "regions", any, 1);
    asp_mpmap_strv (msg->body, "categories", any, 1);
    asp_mpmap_int (msg->body, "capacity_cap", 2);
    asp_mpmap_bool (msg->body, "express", false);
    asp_mpmap_str (msg->body, "curve_key", key);
    asp_mpmap_int (msg->body, "version", version);
    return asp_msg_to_envelope (&msg, data);
}

static asp_txn_outcome_t
s_test_store (rt_partners_t *self, asp_svc_t *svc, asp_envelope_t *env)
{
    char reason [200];
    asp_txn_t *txn = rt_partners_store (self, env, reason, sizeof reason);
    assert (txn);
    asp_svc_commit (svc, &txn, 1);
    asp_txn_outcome_t o = asp_txn_outcome (txn);
    asp_txn_destroy (&txn);
    return o;
}

void
rt_partners_test (void)
{
    asp_selftest_need_redis ("rt_partners_test");
    asp_probe_t *probe = asp_probe_new (ASP_SVC_ROUTING);
    asp_svc_t *svc = asp_svc_new (ASP_SVC_ROUTING);
    rt_registry_t *registry = rt_registry_new ();
    rt_partners_t *self = rt_partners_new (svc, registry);
    zcert_t *cert = zcert_new ();
    const char *key = zcert_public_txt (cert);
    char id [ASP_ID_MAX], out [ASP_ID_MAX], reason [200];
    asp_id_new (id, "P");
    const char *why = NULL;
    asp_partner_status_t was;

    //  Version 2 is stored once; version 1 afterwards is stale.
    char *d1, *d2, *d3, *d4;
    asp_envelope_t *v2 = s_test_env (id, "active", 2, key, &d2), *v1 = s_test_env (id, "active", 1, key, &d1);
    assert (s_test_store (self, svc, v2) == ASP_TXN_OK);
    assert (s_test_store (self, svc, v2) != ASP_TXN_OK);
    assert (s_test_store (self, svc, v1) == ASP_TXN_STALE);
    rt_partner_t *p = rt_partners_apply (self, v2->body, &was);
    assert (p && p->profile && was == ASP_PARTNER_ACTIVE && rt_partner_free (p) == 0);
    assert (!rt_partners_apply (self, v1->body, &was));
    assert (rt_partners_lookup (self, key, out, sizeof out, &why) == 0 && streq (out, id));
    assert (rt_partners_lookup (self, "nobody", out, sizeof out, &why) == 1);
    assert (rt_partners_admit (self, id, key, &why) == 0);
    //  READY's capacity is capped by the record.
    rt_partner_set (p, 5, NULL, 0, NULL, 0);
    assert (rt_partner_free (p) == 2);

    //  A body that is not a record is refused with a reason.
    asp_envelope_t *bad = s_test_env (id, "gone", 3, key, &d4);
    assert (!rt_partners_store (self, bad, reason, sizeof reason) && strstr (reason, "status"));
    asp_envelope_destroy (&bad);
    free (d4);

    //  Removed: the key is refused, and a new instance loads what is stored.
    asp_envelope_t *v3 = s_test_env (id, "removed", 3, key, &d3);
    assert (s_test_store (self, svc, v3) == ASP_TXN_OK);
    assert (rt_partners_apply (self, v3->body, &was) == p && was == ASP_PARTNER_ACTIVE);
    assert (rt_partners_lookup (self, key, out, sizeof out, &why) == -1 && streq (why, "partner removed"));
    assert (rt_partners_admit (self, id, key, &why) == -1);
    rt_registry_t *registry2 = rt_registry_new ();
    rt_partners_t *again = rt_partners_new (svc, registry2);
    assert (rt_partners_load (again) == 0);
    p = rt_registry_partner (registry2, id, false);
    assert (p && p->profile && rt_profile_status (p->profile) == ASP_PARTNER_REMOVED);
    assert (rt_partners_first (again) != NULL);

    asp_envelope_destroy (&v1);
    asp_envelope_destroy (&v2);
    asp_envelope_destroy (&v3);
    free (d1);
    free (d2);
    free (d3);
    rt_partners_destroy (&again);
    rt_registry_destroy (&registry2);
    rt_partners_destroy (&self);
    rt_registry_destroy (&registry);
    zcert_destroy (&cert);
    asp_svc_destroy (&svc);
    asp_probe_destroy (&probe);
}
