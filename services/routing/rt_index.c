#include "rt_index.h"
#include <assert.h>

typedef struct s_bucket_t s_bucket_t;
typedef struct s_pent_t s_pent_t;

//  One partner in one bucket.
typedef struct s_entry_t {
    s_pent_t *pent;
    s_bucket_t *bucket;
    struct s_entry_t *prev, *next;          //  in the bucket's partners
    struct s_entry_t *av_prev, *av_next;    //  in its available ones
    bool available;
} s_entry_t;

struct s_bucket_t {
    s_entry_t *all;
    s_entry_t *avail;
};

//  One partner: its entries.
struct s_pent_t {
    rt_partner_t *partner;
    s_entry_t *entries;
    size_t nentries;
    uint64_t stamp;                 //  the last walk that met it
};

struct rt_index_t {
    zhashx_t *buckets;              //  skill \x1f region -> s_bucket_t
    zhashx_t *partners;             //  partner id -> s_pent_t
    uint64_t stamp;
};

static void
s_free (void **item)
{
    free (*item);
    *item = NULL;
}

static void
s_pent_free (void **item)
{
    s_pent_t *pent = (s_pent_t *) *item;
    if (pent) {
        free (pent->entries);
        free (pent);
        *item = NULL;
    }
}

rt_index_t *
rt_index_new (void)
{
    rt_index_t *self = (rt_index_t *) calloc (1, sizeof *self);
    assert (self);
    self->buckets = zhashx_new ();
    zhashx_set_destructor (self->buckets, s_free);
    self->partners = zhashx_new ();
    zhashx_set_destructor (self->partners, s_pent_free);
    return self;
}

void
rt_index_destroy (rt_index_t **self_p)
{
    rt_index_t *self = *self_p;
    if (!self)
        return;
    zhashx_destroy (&self->partners);
    zhashx_destroy (&self->buckets);
    free (self);
    *self_p = NULL;
}

static s_bucket_t *
s_bucket (rt_index_t *self, const char *skill, const char *region, bool create)
{
    char key [2 * (ASPW_STR_MAX + 1) + 2];
    snprintf (key, sizeof key, "%s\x1f%s", skill, region);
    s_bucket_t *bucket = (s_bucket_t *) zhashx_lookup (self->buckets, key);
    if (!bucket && create) {
        bucket = (s_bucket_t *) calloc (1, sizeof *bucket);
        assert (bucket);
        zhashx_insert (self->buckets, key, bucket);
    }
    return bucket;
}

static void
s_avail_out (s_entry_t *e)
{
    if (!e->available)
        return;
    if (e->av_prev)
        e->av_prev->av_next = e->av_next;
    else
        e->bucket->avail = e->av_next;
    if (e->av_next)
        e->av_next->av_prev = e->av_prev;
    e->av_prev = e->av_next = NULL;
    e->available = false;
}

static void
s_avail_in (s_entry_t *e)
{
    if (e->available)
        return;
    e->av_prev = NULL;
    e->av_next = e->bucket->avail;
    if (e->av_next)
        e->av_next->av_prev = e;
    e->bucket->avail = e;
    e->available = true;
}

static void
s_unindex (s_pent_t *pent)
{
    for (size_t i = 0; i < pent->nentries; i++) {
        s_entry_t *e = &pent->entries [i];
        s_avail_out (e);
        if (e->prev)
            e->prev->next = e->next;
        else
            e->bucket->all = e->next;
        if (e->next)
            e->next->prev = e->prev;
    }
    free (pent->entries);
    pent->entries = NULL;
    pent->nentries = 0;
}

void
rt_index_set (rt_index_t *self, rt_partner_t *partner)
{
    s_pent_t *pent = (s_pent_t *) zhashx_lookup (self->partners, partner->id);
    if (!pent) {
        pent = (s_pent_t *) calloc (1, sizeof *pent);
        assert (pent);
        pent->partner = partner;
        zhashx_insert (self->partners, partner->id, pent);
    }
    s_unindex (pent);
    size_t n = partner->nskills * partner->nregions;
    pent->entries = (s_entry_t *) calloc (n? n: 1, sizeof (s_entry_t));
    assert (pent->entries);
    for (size_t i = 0; i < partner->nskills; i++)
        for (size_t j = 0; j < partner->nregions; j++) {
            s_bucket_t *bucket = s_bucket (self, partner->skills [i], partner->regions [j], true);
            s_entry_t *e = &pent->entries [pent->nentries];
            //  The same pair twice in a READY: one entry.
            bool twice = false;
            for (s_entry_t *o = bucket->all; o && !twice; o = o->next)
                twice = o->pent == pent;
            if (twice)
                continue;
            pent->nentries++;
            e->pent = pent;
            e->bucket = bucket;
            e->next = bucket->all;
            if (e->next)
                e->next->prev = e;
            bucket->all = e;
            s_avail_in (e);
        }
}

void
rt_index_remove (rt_index_t *self, rt_partner_t *partner)
{
    s_pent_t *pent = (s_pent_t *) zhashx_lookup (self->partners, partner->id);
    if (pent) {
        s_unindex (pent);
        zhashx_delete (self->partners, partner->id);
    }
}

void
rt_index_avail (rt_index_t *self, rt_partner_t *partner)
{
    s_pent_t *pent = (s_pent_t *) zhashx_lookup (self->partners, partner->id);
    if (pent)
        for (size_t i = 0; i < pent->nentries; i++)
            s_avail_in (&pent->entries [i]);
}

//  Walks one bucket; false when fn stopped the walk.
static bool
s_walk (rt_index_t *self, s_bucket_t *bucket, bool available, rt_index_fn *fn, void *arg)
{
    s_entry_t *e = available? bucket->avail: bucket->all;
    while (e) {
        s_entry_t *next = available? e->av_next: e->next;
        rt_partner_t *p = e->pent->partner;
        if (available && (!rt_partner_live (p) || rt_partner_free (p) == 0))
            s_avail_out (e);        //  back when its credit frees
        else
        if (e->pent->stamp != self->stamp) {
            e->pent->stamp = self->stamp;
            if (!fn (arg, p))
                return false;
        }
        e = next;
    }
    return true;
}

void
rt_index_each (rt_index_t *self, const char *category, const char *region, bool available,
               rt_index_fn *fn, void *arg)
{
    const char *pairs [4][2] = {
        { category, region }, { category, "*" }, { "*", region }, { "*", "*" }
    };
    self->stamp++;
    for (int i = 0; i < 4; i++) {
        s_bucket_t *bucket = s_bucket (self, pairs [i][0], pairs [i][1], false);
        if (bucket && !s_walk (self, bucket, available, fn, arg))
            return;
    }
}

bool
rt_index_covered (rt_index_t *self, const char *category, const char *region)
{
    const char *pairs [4][2] = {
        { category, region }, { category, "*" }, { "*", region }, { "*", "*" }
    };
    for (int i = 0; i < 4; i++) {
        s_bucket_t *bucket = s_bucket (self, pairs [i][0], pairs [i][1], false);
        if (bucket && bucket->all)
            return true;
    }
    return false;
}

static bool
s_found (void *arg, rt_partner_t *partner)
{
    (void) partner;
    *(bool *) arg = true;
    return false;
}

bool
rt_index_any_available (rt_index_t *self, const char *category, const char *region)
{
    bool any = false;
    rt_index_each (self, category, region, true, s_found, &any);
    return any;
}

//  --------------------------------------------------------------------------
//  Self test

static bool
s_test_collect (void *arg, rt_partner_t *partner)
{
    zlistx_add_end ((zlistx_t *) arg, partner->id);
    return true;
}

static int
s_test_cmp (const void *a, const void *b)
{
    return strcmp ((const char *) a, (const char *) b);
}

//  The ids a walk meets, sorted, as one string.
static const char *
s_test_each (rt_index_t *self, const char *category, const char *region, bool available)
{
    static char out [64];
    zlistx_t *names = zlistx_new ();
    zlistx_set_comparator (names, (zlistx_comparator_fn *) s_test_cmp);
    rt_index_each (self, category, region, available, s_test_collect, names);
    zlistx_sort (names);
    *out = 0;
    for (char *name = (char *) zlistx_first (names); name; name = (char *) zlistx_next (names))
        snprintf (out + strlen (out), sizeof out - strlen (out), "%s%s", *out? " ": "", name);
    zlistx_destroy (&names);
    return out;
}

void
rt_index_test (void)
{
    printf (" * rt_index: ");
    rt_registry_t *registry = rt_registry_new ();
    rt_index_t *self = rt_index_new ();
    char *heat [] = { "heater" }, *all [] = { "*" }, *sh [] = { "sh", "bj", "sh" }, *ac [] = { "ac", "heater" };
    rt_partner_t *p1 = rt_registry_partner (registry, "P1", true);
    rt_partner_t *p2 = rt_registry_partner (registry, "P2", true);
    rt_partner_t *p3 = rt_registry_partner (registry, "P3", true);
    rt_partner_t *p4 = rt_registry_partner (registry, "P4", true);
    rt_partner_set (p1, 1, heat, 1, sh, 3);
    rt_partner_set (p2, 5, all, 1, all, 1);
    rt_partner_set (p3, 3, all, 1, sh, 1);
    rt_partner_set (p4, 2, ac, 2, all, 1);
    rt_index_set (self, p1);
    rt_index_set (self, p2);
    rt_index_set (self, p3);
    rt_index_set (self, p4);
    //  Not live: covered, not available.
    assert (streq (s_test_each (self, "heater", "sh", false), "P1 P2 P3 P4"));
    assert (streq (s_test_each (self, "ac", "bj", false), "P2 P4"));
    assert (streq (s_test_each (self, "tv", "gz", false), "P2"));
    assert (!rt_index_any_available (self, "heater", "sh"));
    //  Live ones come back when made available (a READY).
    rt_registry_connect (registry, "\x00\x01", 2, "k1", p1, RT_CONN_READY, 0);
    rt_registry_connect (registry, "\x00\x02", 2, "k2", p2, RT_CONN_READY, 0);
    rt_registry_connect (registry, "\x00\x04", 2, "k4", p4, RT_CONN_READY, 0);
    rt_index_avail (self, p1);
    rt_index_avail (self, p2);
    rt_index_avail (self, p4);
    assert (streq (s_test_each (self, "heater", "sh", true), "P1 P2 P4"));
    assert (streq (s_test_each (self, "ac", "gz", true), "P2 P4"));
    //  A full partner leaves the available lists until its credit frees.
    zhashx_insert (p1->held, "W1", p1);
    assert (streq (s_test_each (self, "heater", "bj", true), "P2 P4"));
    zhashx_delete (p1->held, "W1");
    assert (streq (s_test_each (self, "heater", "bj", true), "P2 P4"));
    rt_index_avail (self, p1);
    assert (streq (s_test_each (self, "heater", "bj", true), "P1 P2 P4"));
    //  A new READY re-indexes; removal forgets.
    rt_partner_set (p4, 2, heat, 1, sh, 1);
    rt_index_set (self, p4);
    assert (streq (s_test_each (self, "ac", "gz", true), "P2"));
    rt_index_remove (self, p2);
    assert (streq (s_test_each (self, "ac", "gz", false), ""));
    assert (rt_index_any_available (self, "heater", "sh") && !rt_index_any_available (self, "ac", "sh"));
    assert (rt_index_covered (self, "heater", "bj") && !rt_index_covered (self, "ac", "gz"));
    rt_index_destroy (&self);
    rt_registry_destroy (&registry);
    printf ("OK\n");
}
