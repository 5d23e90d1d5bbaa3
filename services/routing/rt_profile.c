#include "rt_profile.h"

struct rt_profile_t {
    asp_partner_status_t status;
    int64_t cap;
};

bool
rt_profile_admits (const rt_profile_t *p, asp_kind_t kind, asp_tier_t tier, const char *category,
                   const char *region, const char *area, int64_t now_epoch_ms, const char **why)
{
    (void) kind; (void) tier; (void) category; (void) region; (void) area; (void) now_epoch_ms;
    if (p && p->status != ASP_PARTNER_ACTIVE) {
        *why = "not_active";
        return false;
    }
    return true;
}

int64_t
rt_profile_cap (const rt_profile_t *p)
{
    return p? p->cap: INT64_MAX;
}

asp_partner_status_t
rt_profile_status (const rt_profile_t *p)
{
    return p? p->status: ASP_PARTNER_ACTIVE;
}
