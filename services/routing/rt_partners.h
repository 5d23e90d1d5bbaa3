/*  rt_partners: routing's projection of the partner registry.

    Intake owns the registry (intake_partners.h) and publishes each change
    as partner.changed, the whole record with its version. Routing keeps
    the newest record it saw of each partner in Redis (pt_store.lua: once
    per message id, and only when the version is newer, so a late or
    replayed message never brings an old record back), parsed in memory
    as the partner's profile (rt_profile.h), and reloads them at start.

    It also answers who a CURVE key is: a key named by a record is that
    partner's (the registry first), and the process's ZAP handler admits
    the keys of active and suspended partners without any file and
    refuses a removed partner's key from then on (asp_curve_key). A key
    the registry does not name is left to the certificate folder
    (ASP_PARTNER_CERTS), as before the registry.

    Keys, in the shard of the partner id (asp_keys.h: "{s<n>}:" + name):
      rt:partners     hash: partner id -> its record (msgpack)

    Ownership: borrows the service and the registry; the profiles belong
    to their rt_partner_t.                                                 */
#ifndef RT_PARTNERS_H
#define RT_PARTNERS_H
#include "asp_svc.h"
#include "rt_registry.h"

#define RT_KEY_PARTNERS "rt:partners"

typedef struct rt_partners_t rt_partners_t;

rt_partners_t *rt_partners_new (asp_svc_t *svc, rt_registry_t *registry);
void rt_partners_destroy (rt_partners_t **self_p);

//  The txn that stores the record of a partner.changed; NULL with a
//  reason when the body is not a valid record.
asp_txn_t *rt_partners_store (rt_partners_t *self, const asp_envelope_t *env, char *reason, size_t reason_len);
//  Applies a record in memory when it is newer than the partner's
//  profile: the partner (created when new) gets it, its key is admitted,
//  or refused when removed. Returns the partner, NULL when the record was
//  not newer or not valid; *was: the status before (active when it had
//  no record).
rt_partner_t *rt_partners_apply (rt_partners_t *self, const msgpack_object *record,
                                 asp_partner_status_t *was);
//  Loads every stored record (once; later calls return 0). 0, or -1
//  when Redis failed (call again).
int rt_partners_load (rt_partners_t *self);

//  The partner a CURVE key (Z85) names in the registry: 0 (its id in
//  out), 1 none (ask the certificate folder), -1 refused (why).
int rt_partners_lookup (rt_partners_t *self, const char *key, char *out, size_t outlen, const char **why);
//  -1 (and why) when the registry removed partner_id, whatever proved
//  the key: it is refused at the handshake from now on. Else 0.
int rt_partners_admit (rt_partners_t *self, const char *partner_id, const char *key, const char **why);

//  The partners with a record: iterate with first/next.
rt_partner_t *rt_partners_first (rt_partners_t *self);
rt_partner_t *rt_partners_next (rt_partners_t *self);

void rt_partners_test (void);
#endif
