/*  rt_registry: the partners and their connections, as routing sees them.

    A partner is known by the partner_id of its certificate. It is live
    while one connection of it has said READY and has not gone silent; the
    READY sets its capacity, skills and regions. A partner that is not live
    is still remembered, because the work orders it accepted count against
    it until they complete.

    Connections are keyed by the ROUTER's routing id. Only a connection
    whose READY was accepted (or refused, to answer not_ready) is known;
    anything else is an unknown peer.

    Free credit is the capacity (capped by the partner's registry record)
    minus the open work orders it holds. Which partner gets a work order is
    rt_dispatch's business (by class, through rt_index).                  */
#ifndef RT_REGISTRY_H
#define RT_REGISTRY_H
#include "asp_id.h"
#include "aspw_proto.h"
#include "rt_profile.h"
#include <czmq.h>

//  Partner ids are ids (the common limit, asp_id.h).
#define RT_PARTNER_ID_MAX ASP_ID_MAX

typedef struct rt_registry_t rt_registry_t;
typedef struct rt_conn_t rt_conn_t;

typedef struct {
    char id [RT_PARTNER_ID_MAX];
    rt_conn_t *conn;                //  its READY connection; NULL when not live
    int64_t capacity;
    char **skills;
    size_t nskills;
    char **regions;
    size_t nregions;
    zhashx_t *held;                 //  wo_id -> order (borrowed): offered or assigned
    uint64_t last_offer;            //  offer counter at its last offer, 0 = never
    rt_profile_t *profile;          //  its registry record (owned); NULL = unregistered
    int64_t score;                  //  quality score in ‰ (partner.scored); -1 = unscored
    bool removed;                   //  removed by its strike ladder (partner.strike): no work
    int64_t removed_version;        //  the ladder version that said so, 0 = none heard
} rt_partner_t;

typedef enum { RT_CONN_READY = 0, RT_CONN_REFUSED } rt_conn_state_t;

struct rt_conn_t {
    char key [2 * ASPW_RID_MAX + 1];  //  routing id in hex
    uint8_t rid [ASPW_RID_MAX];
    size_t rid_len;
    char user_id [41];              //  the CURVE key (Z85) it authenticated with
    rt_partner_t *partner;
    rt_conn_state_t state;
    int64_t last_heard;             //  monotonic ms of its last message
    int64_t last_sent;              //  monotonic ms of our last heartbeat to it
    //  Flood limit (rt_work_admit): a token bucket, and the last refusal told
    double tokens;
    int64_t tokens_at;              //  monotonic ms; 0 = not started (full)
    int64_t limited_at;
};

rt_registry_t *rt_registry_new (void);
void rt_registry_destroy (rt_registry_t **self_p);

//  The partner with this id; created (not live) when create is true.
rt_partner_t *rt_registry_partner (rt_registry_t *self, const char *id, bool create);
//  Capacity, skills and regions from a READY (copied).
void rt_partner_set (rt_partner_t *partner, int64_t capacity, char **skills, size_t nskills,
                     char **regions, size_t nregions);
bool rt_partner_live (const rt_partner_t *partner);
//  Capacity minus what it holds; 0 when it holds more. With a registry
//  record the capacity is min (READY's, capacity_cap), and a partner that
//  is not active, or removed by its strike ladder, has none (no new
//  offers).
int64_t rt_partner_free (const rt_partner_t *partner);
bool rt_partner_fits (const rt_partner_t *partner, const char *category, const char *region);

//  The connection with this routing id, or NULL.
rt_conn_t *rt_registry_conn (rt_registry_t *self, const void *rid, size_t rid_len);
//  Records a connection (or updates it). A READY connection becomes its
//  partner's connection; the caller drops the one it replaces first.
rt_conn_t *rt_registry_connect (rt_registry_t *self, const void *rid, size_t rid_len,
                                const char *user_id, rt_partner_t *partner,
                                rt_conn_state_t state, int64_t now);
//  Forgets a connection; its partner is no longer live through it.
void rt_registry_drop (rt_registry_t *self, rt_conn_t *conn);
//  Every known connection (iterate with zhashx_first/next; do not drop
//  while iterating).
zhashx_t *rt_registry_conns (rt_registry_t *self);
//  Every known partner, live or not, id -> rt_partner_t (iterate with
//  zhashx_first/next; do not create or forget partners while iterating).
zhashx_t *rt_registry_partners (rt_registry_t *self);
size_t rt_registry_live (rt_registry_t *self);
//  Sum of free credit over live partners.
int64_t rt_registry_free (rt_registry_t *self);

void rt_registry_test (void);
#endif
