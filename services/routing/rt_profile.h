/*  rt_profile: one partner's registry record, as routing uses it.

    The registry part of a partner's eligibility for a work order: what
    the brand set for the partner (status, categories, kinds, regions,
    areas, express, hours, capacity cap), on top of what its READY says.
    A partner without a record (profile NULL) is admitted by it: its READY
    alone decides, as before the registry.

    This is the minimal version of the interface (issue 7's contract): no
    record is built here yet, so every partner is NULL and admitted. The
    registry's projection (partner.changed) fills it in.                  */
#ifndef RT_PROFILE_H
#define RT_PROFILE_H
#include "asp_vocab.h"
#include <stdbool.h>
#include <stdint.h>

typedef struct rt_profile_t rt_profile_t;

//  True when the record admits the order (the registry part of
//  eligibility, not READY's part, not liveness or credit); why gets a
//  snake_case reason when not. NULL admits everything.
bool rt_profile_admits (const rt_profile_t *p, asp_kind_t kind, asp_tier_t tier,
                        const char *category, const char *region, const char *area,
                        int64_t now_epoch_ms, const char **why);
//  The brand-set capacity cap; INT64_MAX (no cap) for NULL.
int64_t rt_profile_cap (const rt_profile_t *p);
//  Active for NULL.
asp_partner_status_t rt_profile_status (const rt_profile_t *p);
#endif
