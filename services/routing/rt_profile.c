#include "rt_profile.h"
#include "asp_hours.h"
#include "asp_json.h"
#include "asp_id.h"
#include "aspw_proto.h"
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_WORD_MAX 130              //  a region, category or "region/area"

typedef struct {
    int from, to;                   //  minutes of the local day
} s_range_t;

struct rt_profile_t {
    char id [ASP_ID_MAX];
    asp_partner_status_t status;
    char **regions, **areas, **categories;
    size_t nregions, nareas, ncategories;
    unsigned kinds;                 //  bit per asp_kind_t; 0 = every kind of field work
    int64_t cap;
    bool express;
    bool has_hours;
    int offset;                     //  minutes east of UTC
    s_range_t ranges [7][ASP_HOURS_RANGES];
    int nranges [7];
    char key [41];                  //  "" when none
    int64_t version;
};

#define FAIL(...) do { snprintf (err, errlen, __VA_ARGS__); return -1; } while (0)

//  A string value into out (outlen bytes with the NUL); -1 when it is not one.
static int
s_str (const msgpack_object *o, char *out, size_t outlen)
{
    if (o->type != MSGPACK_OBJECT_STR || o->via.str.size == 0 || o->via.str.size >= outlen
    ||  memchr (o->via.str.ptr, 0, o->via.str.size))
        return -1;
    memcpy (out, o->via.str.ptr, o->via.str.size);
    out [o->via.str.size] = 0;
    return 0;
}

//  An array of strings (required: at least one) into a new vector.
static int
s_strv (const msgpack_object *map, const char *key, bool required, char ***out, size_t *n,
        char *err, size_t errlen)
{
    const msgpack_object *a = asp_mp_get (map, key);
    *out = NULL;
    *n = 0;
    if (!a || a->type == MSGPACK_OBJECT_NIL) {
        if (required)
            FAIL ("partner record: '%s' is required", key);
        return 0;
    }
    if (a->type != MSGPACK_OBJECT_ARRAY || a->via.array.size > 256 || (required && a->via.array.size == 0))
        FAIL ("partner record: '%s' must be an array of strings", key);
    *out = (char **) calloc (a->via.array.size + 1, sizeof (char *));
    assert (*out);
    for (uint32_t i = 0; i < a->via.array.size; i++) {
        char word [S_WORD_MAX];
        if (s_str (&a->via.array.ptr [i], word, sizeof word))
            FAIL ("partner record: '%s' must hold strings of 1..%d bytes", key, S_WORD_MAX - 1);
        (*out) [(*n)++] = strdup (word);
    }
    return 0;
}

static void
s_strv_free (char ***v, size_t *n)
{
    for (size_t i = 0; *v && i < *n; i++)
        free ((*v) [i]);
    free (*v);
    *v = NULL;
    *n = 0;
}

static int
s_hours (rt_profile_t *self, const msgpack_object *h, char *err, size_t errlen)
{
    char text [16];
    const msgpack_object *days = asp_mp_get (h, "days");
    if (h->type != MSGPACK_OBJECT_MAP || asp_mp_get_str (h, "utc_offset", text, sizeof text)
    ||  !asp_hours_offset (text, &self->offset) || !days || days->type != MSGPACK_OBJECT_MAP)
        FAIL ("partner record: 'hours' must be {utc_offset, days}");
    for (uint32_t i = 0; i < days->via.map.size; i++) {
        const msgpack_object_kv *kv = &days->via.map.ptr [i];
        char name [8];
        int d = s_str (&kv->key, name, sizeof name)? -1: asp_hours_day (name);
        //  A day named twice must not hold more than a day's room.
        if (d < 0 || kv->val.type != MSGPACK_OBJECT_ARRAY
        ||  kv->val.via.array.size > (uint32_t) (ASP_HOURS_RANGES - self->nranges [d]))
            FAIL ("partner record: 'hours.days' must map mon..sun to at most %d ranges", ASP_HOURS_RANGES);
        for (uint32_t k = 0; k < kv->val.via.array.size; k++) {
            s_range_t *r = &self->ranges [d][self->nranges [d]];
            if (s_str (&kv->val.via.array.ptr [k], text, sizeof text) || !asp_hours_range (text, &r->from, &r->to))
                FAIL ("partner record: 'hours.days.%s' must hold ranges HH:MM-HH:MM", name);
            self->nranges [d]++;
        }
    }
    self->has_hours = true;
    return 0;
}

static int
s_parse (rt_profile_t *self, const msgpack_object *m, char *err, size_t errlen)
{
    char status [16];
    if (m->type != MSGPACK_OBJECT_MAP)
        FAIL ("partner record: not a map");
    if (asp_mp_get_str (m, "partner_id", self->id, sizeof self->id) || !asp_id_valid (self->id, strlen (self->id)))
        FAIL ("partner record: 'partner_id' must be a partner id");
    int st = asp_mp_get_str (m, "status", status, sizeof status)? -1: asp_vocab_parse (&asp_vocab_partner_status, status);
    if (st < 0)
        FAIL ("partner record: 'status' must be active, suspended or removed");
    self->status = (asp_partner_status_t) st;
    if (asp_mp_get_int (m, "version", &self->version) || self->version < 1)
        FAIL ("partner record: 'version' must be a positive integer");
    if (asp_mp_get_int (m, "capacity_cap", &self->cap) || self->cap < 1 || self->cap > 1000)
        FAIL ("partner record: 'capacity_cap' must be an integer in 1..1000");
    if (asp_mp_get_bool (m, "express", &self->express) == -1)
        FAIL ("partner record: 'express' must be a boolean");
    if (s_strv (m, "regions", true, &self->regions, &self->nregions, err, errlen)
    ||  s_strv (m, "categories", true, &self->categories, &self->ncategories, err, errlen)
    ||  s_strv (m, "areas", false, &self->areas, &self->nareas, err, errlen))
        return -1;
    char **kinds = NULL;
    size_t nkinds = 0;
    int rc = s_strv (m, "kinds", false, &kinds, &nkinds, err, errlen);
    for (size_t i = 0; rc == 0 && i < nkinds; i++) {
        int k = asp_vocab_parse (&asp_vocab_kind, kinds [i]);
        if (k < 0)
            rc = (snprintf (err, errlen, "partner record: 'kinds' must hold kind words"), -1);
        else
            self->kinds |= 1u << k;
    }
    s_strv_free (&kinds, &nkinds);
    if (rc)
        return -1;
    const msgpack_object *h = asp_mp_get (m, "hours");
    if (h && h->type != MSGPACK_OBJECT_NIL && s_hours (self, h, err, errlen))
        return -1;
    rc = asp_mp_get_str (m, "curve_key", self->key, sizeof self->key);
    if (rc == -1 || (rc == 0 && strlen (self->key) != 40))
        FAIL ("partner record: 'curve_key' must be 40 characters of Z85");
    return 0;
}

rt_profile_t *
rt_profile_parse (const msgpack_object *record, char *err, size_t errlen)
{
    rt_profile_t *self = (rt_profile_t *) calloc (1, sizeof *self);
    assert (self);
    if (s_parse (self, record, err, errlen))
        rt_profile_destroy (&self);
    return self;
}

void
rt_profile_destroy (rt_profile_t **self_p)
{
    rt_profile_t *self = *self_p;
    if (!self)
        return;
    s_strv_free (&self->regions, &self->nregions);
    s_strv_free (&self->areas, &self->nareas);
    s_strv_free (&self->categories, &self->ncategories);
    free (self);
    *self_p = NULL;
}

const char *rt_profile_id (const rt_profile_t *p) { return p->id; }
int64_t rt_profile_version (const rt_profile_t *p) { return p->version; }
const char *rt_profile_key (const rt_profile_t *p) { return *p->key? p->key: NULL; }
//  A partner without a record (NULL) has READY's capacity and is active.
int64_t rt_profile_cap (const rt_profile_t *p) { return p? p->cap: ASPW_CAPACITY_MAX; }
asp_partner_status_t rt_profile_status (const rt_profile_t *p) { return p? p->status: ASP_PARTNER_ACTIVE; }

bool
rt_words_match (char **v, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp (v [i], "*") == 0 || strcmp (v [i], what) == 0)
            return true;
    return false;
}

bool
rt_profile_open (const rt_profile_t *p, int64_t now_epoch_ms)
{
    if (!p->has_hours)
        return true;
    int day, minute;
    asp_hours_local (now_epoch_ms, p->offset, &day, &minute);
    for (int i = 0; i < p->nranges [day]; i++)
        if (minute >= p->ranges [day][i].from && minute < p->ranges [day][i].to)
            return true;
    return false;
}

bool
rt_profile_admits (const rt_profile_t *p, asp_kind_t kind, asp_tier_t tier, const char *category,
                   const char *region, const char *area, int64_t now_epoch_ms, const char **why)
{
    const char *no = NULL;
    if (!p)
        return true;                //  unregistered: its READY alone decides
    if (p->status != ASP_PARTNER_ACTIVE)
        no = "not_active";
    else
    if (p->kinds? !(p->kinds & (1u << kind)): !asp_kind_field_work (kind))
        no = "kind_not_served";
    else
    if (!rt_words_match (p->categories, p->ncategories, category))
        no = "category_not_served";
    else
    if (!rt_words_match (p->regions, p->nregions, region))
        no = "region_not_served";
    else
    if (p->nareas && area && *area) {
        char full [2 * S_WORD_MAX];
        snprintf (full, sizeof full, "%s/%s", region, area);
        if (!rt_words_match (p->areas, p->nareas, full))
            no = "area_not_served";
    }
    if (!no && tier == ASP_TIER_EXPRESS && !p->express)
        no = "no_express";
    if (!no && !rt_profile_open (p, now_epoch_ms))
        no = "outside_hours";
    if (why)
        *why = no? no: "";
    return no == NULL;
}

rt_profile_t *
rt_profile_from_json (const char *json, char *err, size_t errlen)
{
    cJSON *j = cJSON_Parse (json);
    if (!j) {
        snprintf (err, errlen, "partner record: not JSON");
        return NULL;
    }
    asp_mpmap_t *m = asp_mpmap_new ();
    asp_json_to_mpmap (j, m);
    cJSON_Delete (j);
    char *data; size_t size;
    asp_mpmap_bytes (m, &data, &size);
    asp_mpmap_destroy (&m);
    msgpack_unpacked u;
    msgpack_unpacked_init (&u);
    rt_profile_t *p = asp_mp_unpack (&u, data, size, err, errlen) == 0? rt_profile_parse (&u.data, err, errlen): NULL;
    msgpack_unpacked_destroy (&u);
    free (data);
    return p;
}

//  --------------------------------------------------------------------------
//  Self-test

void
rt_profile_test (void)
{
    char err [200];
    //  Monday 2024-01-01 10:00 at +08:00 is 02:00 UTC.
    int64_t mon10 = 1704074400000LL;
    rt_profile_t *p = rt_profile_from_json (
        "{\"partner_id\":\"P9\",\"name\":\"N\",\"status\":\"active\",\"regions\":[\"north\"],"
        "\"areas\":[\"north/d1\"],\"categories\":[\"boiler\",\"ac\"],\"kinds\":[\"repair\",\"installation\"],"
        "\"capacity_cap\":3,\"express\":false,\"hours\":{\"utc_offset\":\"+08:00\","
        "\"days\":{\"mon\":[\"08:00-12:00\"]}},\"curve_key\":\"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\","
        "\"technicians\":[],\"version\":4,\"updated_ms\":1}", err, sizeof err);
    assert (p);
    const char *why;
    assert (!strcmp (rt_profile_id (p), "P9") && rt_profile_version (p) == 4 && rt_profile_cap (p) == 3);
    assert (rt_profile_status (p) == ASP_PARTNER_ACTIVE && rt_profile_key (p));
    assert (rt_profile_admits (p, ASP_KIND_REPAIR, ASP_TIER_STANDARD, "ac", "north", "d1", mon10, &why));
    assert (rt_profile_admits (p, ASP_KIND_REPAIR, ASP_TIER_STANDARD, "ac", "north", NULL, mon10, &why));
    assert (!rt_profile_admits (p, ASP_KIND_MAINTENANCE, ASP_TIER_STANDARD, "ac", "north", "", mon10, &why)
            && !strcmp (why, "kind_not_served"));
    assert (!rt_profile_admits (p, ASP_KIND_REPAIR, ASP_TIER_STANDARD, "tv", "north", "", mon10, &why)
            && !strcmp (why, "category_not_served"));
    assert (!rt_profile_admits (p, ASP_KIND_REPAIR, ASP_TIER_STANDARD, "ac", "North", "", mon10, &why)
            && !strcmp (why, "region_not_served"));
    assert (!rt_profile_admits (p, ASP_KIND_REPAIR, ASP_TIER_STANDARD, "ac", "north", "d2", mon10, &why)
            && !strcmp (why, "area_not_served"));
    assert (!rt_profile_admits (p, ASP_KIND_REPAIR, ASP_TIER_EXPRESS, "ac", "north", "", mon10, &why)
            && !strcmp (why, "no_express"));
    assert (!rt_profile_admits (p, ASP_KIND_REPAIR, ASP_TIER_STANDARD, "ac", "north", "", mon10 + 3 * 3600000, &why)
            && !strcmp (why, "outside_hours"));
    assert (!rt_profile_open (p, mon10 + 86400000));        //  Tuesday: closed
    rt_profile_destroy (&p);

    //  Wildcards, no kinds (every kind of field work), no hours, suspended.
    p = rt_profile_from_json ("{\"partner_id\":\"P8\",\"status\":\"suspended\",\"regions\":[\"*\"],\"categories\":[\"*\"],"
                        "\"capacity_cap\":1,\"express\":true,\"version\":1}", err, sizeof err);
    assert (p && !rt_profile_key (p) && rt_profile_status (p) == ASP_PARTNER_SUSPENDED);
    assert (!rt_profile_admits (p, ASP_KIND_RETURN, ASP_TIER_EXPRESS, "x", "y", "z", mon10, &why)
            && !strcmp (why, "not_active"));
    rt_profile_destroy (&p);
    p = rt_profile_from_json ("{\"partner_id\":\"P8\",\"status\":\"active\",\"regions\":[\"*\"],\"categories\":[\"*\"],"
                        "\"capacity_cap\":1,\"express\":true,\"version\":1}", err, sizeof err);
    assert (rt_profile_admits (p, ASP_KIND_RETURN, ASP_TIER_EXPRESS, "x", "y", "z", mon10, &why));
    assert (!rt_profile_admits (p, ASP_KIND_CONSULTATION, ASP_TIER_STANDARD, "x", "y", "", mon10, &why));
    rt_profile_destroy (&p);

    //  Malformed records are refused with a reason.
    const char *bad [] = {
        "{\"status\":\"active\",\"regions\":[\"*\"],\"categories\":[\"*\"],\"capacity_cap\":1,\"version\":1}",
        "{\"partner_id\":\"P1\",\"status\":\"gone\",\"regions\":[\"*\"],\"categories\":[\"*\"],\"capacity_cap\":1,\"version\":1}",
        "{\"partner_id\":\"P1\",\"status\":\"active\",\"regions\":[],\"categories\":[\"*\"],\"capacity_cap\":1,\"version\":1}",
        "{\"partner_id\":\"P1\",\"status\":\"active\",\"regions\":[\"*\"],\"categories\":[\"*\"],\"capacity_cap\":0,\"version\":1}",
        "{\"partner_id\":\"P1\",\"status\":\"active\",\"regions\":[\"*\"],\"categories\":[\"*\"],\"capacity_cap\":1}",
        "{\"partner_id\":\"P1\",\"status\":\"active\",\"regions\":[\"*\"],\"categories\":[\"*\"],\"capacity_cap\":1,"
        "\"version\":1,\"kinds\":[\"x\"]}",
        "{\"partner_id\":\"P1\",\"status\":\"active\",\"regions\":[\"*\"],\"categories\":[\"*\"],\"capacity_cap\":1,"
        "\"version\":1,\"hours\":{\"utc_offset\":\"+08:00\",\"days\":{\"mon\":[\"9-5\"]}}}",
        "{\"partner_id\":\"P1\",\"status\":\"active\",\"regions\":[\"*\"],\"categories\":[\"*\"],\"capacity_cap\":1,"
        "\"version\":1,\"curve_key\":\"short\"}",
        "{\"partner_id\":\"P1\",\"status\":\"active\",\"regions\":[\"*\"],\"categories\":[\"*\"],\"capacity_cap\":1,"
        "\"version\":1,\"hours\":{\"utc_offset\":\"+08:00\",\"days\":{\"mon\":[\"01:00-02:00\",\"02:00-03:00\","
        "\"03:00-04:00\",\"04:00-05:00\",\"05:00-06:00\"],\"mon\":[\"06:00-07:00\",\"07:00-08:00\",\"08:00-09:00\","
        "\"09:00-10:00\"]}}}",
        NULL
    };
    for (int i = 0; bad [i]; i++) {
        err [0] = 0;
        p = rt_profile_from_json (bad [i], err, sizeof err);
        assert (!p && strstr (err, "partner record"));
    }
}
