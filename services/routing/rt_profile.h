/*  rt_profile: one partner's registry record (intake's partner registry,
    docs/http-api.md), parsed once from the partner.changed body (or the
    copy routing keeps in Redis), as routing asks it questions.

    The record is the brand's word on a partner: where it may work
    (regions, finer "region/area" areas), what (categories, kinds of
    field work), the express tier, its opening hours, a cap on its
    capacity and its status. READY says what the partner offers today;
    a partner with a record gets only what both allow. A partner with no
    record (a certificate in ASP_PARTNER_CERTS only) is not asked: its
    READY decides, as before the registry.

    Ownership: a profile is immutable once parsed; rt_partner_t owns the
    one it points at (rt_registry.h).                                     */
#ifndef RT_PROFILE_H
#define RT_PROFILE_H
#include "asp_mp.h"
#include "asp_vocab.h"
#include <stdbool.h>
#include <stdint.h>

typedef struct rt_profile_t rt_profile_t;

//  Parses a partner record (a msgpack map: partner_id, status, regions,
//  areas, categories, kinds, capacity_cap, express, hours, curve_key,
//  version, ...; other keys ignored). NULL with a reason in err when a
//  field routing needs is missing or malformed.
rt_profile_t *rt_profile_parse (const msgpack_object *record, char *err, size_t errlen);
void rt_profile_destroy (rt_profile_t **self_p);
//  The same from the record as JSON (self-tests).
rt_profile_t *rt_profile_from_json (const char *json, char *err, size_t errlen);

const char *rt_profile_id (const rt_profile_t *p);
int64_t rt_profile_version (const rt_profile_t *p);
//  The partner's CURVE public key (Z85), or NULL when the record has none.
const char *rt_profile_key (const rt_profile_t *p);

//  True when the record admits the order (the registry part of
//  eligibility, not READY's part, not liveness or credit); why gets a
//  snake_case reason when not: not_active, kind_not_served,
//  category_not_served, region_not_served, area_not_served, no_express,
//  outside_hours. area may be NULL or "" (the order has none). A NULL
//  record (an unregistered partner) admits everything: READY decides.
bool rt_profile_admits (const rt_profile_t *p, asp_kind_t kind, asp_tier_t tier,
                        const char *category, const char *region, const char *area,
                        int64_t now_epoch_ms, const char **why);
//  capacity_cap, and the status; NULL: ASPW_CAPACITY_MAX and active.
int64_t rt_profile_cap (const rt_profile_t *p);
asp_partner_status_t rt_profile_status (const rt_profile_t *p);
//  Inside the partner's hours at now (always, when the record has none).
bool rt_profile_open (const rt_profile_t *p, int64_t now_epoch_ms);

//  True when words (n of them) hold what or "*": exact, case-sensitive, the
//  one way READY's skills and regions and the registry's words match.
bool rt_words_match (char **words, size_t n, const char *what);

void rt_profile_test (void);
#endif
