#include "rt_registry.h"
#include <assert.h>

struct rt_registry_t {
    zhashx_t *partners;             //  id -> rt_partner_t
    zhashx_t *conns;                //  hex routing id -> rt_conn_t
};

static void
s_strv_free (char ***v, size_t *n)
{
    for (size_t i = 0; i < *n; i++)
        free ((*v) [i]);
    free (*v);
    *v = NULL;
    *n = 0;
}

static void
s_partner_destroy (void **item)
{
    rt_partner_t *p = (rt_partner_t *) *item;
    if (p) {
        s_strv_free (&p->skills, &p->nskills);
        s_strv_free (&p->regions, &p->nregions);
        zhashx_destroy (&p->held);
        rt_profile_destroy (&p->profile);
        free (p);
        *item = NULL;
    }
}

static void
s_conn_destroy (void **item)
{
    free (*item);
    *item = NULL;
}

rt_registry_t *
rt_registry_new (void)
{
    rt_registry_t *self = (rt_registry_t *) calloc (1, sizeof *self);
    assert (self);
    self->partners = zhashx_new ();
    zhashx_set_destructor (self->partners, s_partner_destroy);
    self->conns = zhashx_new ();
    zhashx_set_destructor (self->conns, s_conn_destroy);
    return self;
}

void
rt_registry_destroy (rt_registry_t **self_p)
{
    rt_registry_t *self = *self_p;
    if (!self)
        return;
    zhashx_destroy (&self->conns);
    zhashx_destroy (&self->partners);
    free (self);
    *self_p = NULL;
}

rt_partner_t *
rt_registry_partner (rt_registry_t *self, const char *id, bool create)
{
    rt_partner_t *p = (rt_partner_t *) zhashx_lookup (self->partners, id);
    if (p || !create)
        return p;
    p = (rt_partner_t *) calloc (1, sizeof *p);
    assert (p);
    snprintf (p->id, sizeof p->id, "%s", id);
    p->score = -1;
    p->held = zhashx_new ();
    zhashx_insert (self->partners, id, p);
    return p;
}

static char **
s_strv_dup (char **v, size_t n)
{
    char **copy = (char **) calloc (n? n: 1, sizeof (char *));
    assert (copy);
    for (size_t i = 0; i < n; i++) {
        copy [i] = strdup (v [i]);
        assert (copy [i]);
    }
    return copy;
}

void
rt_partner_set (rt_partner_t *partner, int64_t capacity, char **skills, size_t nskills,
                char **regions, size_t nregions)
{
    s_strv_free (&partner->skills, &partner->nskills);
    s_strv_free (&partner->regions, &partner->nregions);
    partner->capacity = capacity;
    partner->skills = s_strv_dup (skills, nskills);
    partner->nskills = nskills;
    partner->regions = s_strv_dup (regions, nregions);
    partner->nregions = nregions;
}

bool
rt_partner_live (const rt_partner_t *partner)
{
    return partner->conn && partner->conn->state == RT_CONN_READY;
}

int64_t
rt_partner_free (const rt_partner_t *partner)
{
    int64_t held = (int64_t) zhashx_size (partner->held);
    int64_t capacity = partner->capacity;
    if (partner->removed
    ||  (partner->profile && rt_profile_status (partner->profile) != ASP_PARTNER_ACTIVE))
        capacity = 0;
    else
    if (partner->profile && rt_profile_cap (partner->profile) < capacity)
        capacity = rt_profile_cap (partner->profile);
    return capacity > held? capacity - held: 0;
}

static bool
s_match (char **v, size_t n, const char *what)
{
    return rt_words_match (v, n, what);
}

bool
rt_partner_fits (const rt_partner_t *partner, const char *category, const char *region)
{
    return s_match (partner->skills, partner->nskills, category)
        && s_match (partner->regions, partner->nregions, region);
}

static void
s_hex (char *out, const uint8_t *data, size_t len)
{
    static const char digits [] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out [2 * i] = digits [data [i] >> 4];
        out [2 * i + 1] = digits [data [i] & 15];
    }
    out [2 * len] = 0;
}

rt_conn_t *
rt_registry_conn (rt_registry_t *self, const void *rid, size_t rid_len)
{
    if (rid_len == 0 || rid_len > ASPW_RID_MAX)
        return NULL;
    char key [2 * ASPW_RID_MAX + 1];
    s_hex (key, (const uint8_t *) rid, rid_len);
    return (rt_conn_t *) zhashx_lookup (self->conns, key);
}

rt_conn_t *
rt_registry_connect (rt_registry_t *self, const void *rid, size_t rid_len, const char *user_id,
                     rt_partner_t *partner, rt_conn_state_t state, int64_t now)
{
    assert (rid_len > 0 && rid_len <= ASPW_RID_MAX);
    rt_conn_t *conn = rt_registry_conn (self, rid, rid_len);
    if (!conn) {
        conn = (rt_conn_t *) calloc (1, sizeof *conn);
        assert (conn);
        s_hex (conn->key, (const uint8_t *) rid, rid_len);
        memcpy (conn->rid, rid, rid_len);
        conn->rid_len = rid_len;
        conn->last_sent = now;
        zhashx_insert (self->conns, conn->key, conn);
    }
    snprintf (conn->user_id, sizeof conn->user_id, "%s", user_id);
    if (conn->partner && conn->partner != partner && conn->partner->conn == conn)
        conn->partner->conn = NULL;
    conn->partner = partner;
    conn->state = state;
    conn->last_heard = now;
    if (state == RT_CONN_READY)
        partner->conn = conn;
    else
    if (partner->conn == conn)
        partner->conn = NULL;
    return conn;
}

void
rt_registry_drop (rt_registry_t *self, rt_conn_t *conn)
{
    if (conn->partner && conn->partner->conn == conn)
        conn->partner->conn = NULL;
    zhashx_delete (self->conns, conn->key);
}

zhashx_t *
rt_registry_conns (rt_registry_t *self)
{
    return self->conns;
}

zhashx_t *
rt_registry_partners (rt_registry_t *self)
{
    return self->partners;
}

size_t
rt_registry_live (rt_registry_t *self)
{
    size_t n = 0;
    for (rt_conn_t *c = (rt_conn_t *) zhashx_first (self->conns); c; c = (rt_conn_t *) zhashx_next (self->conns))
        if (c->state == RT_CONN_READY && c->partner->conn == c)
            n++;
    return n;
}

int64_t
rt_registry_free (rt_registry_t *self)
{
    int64_t n = 0;
    for (rt_conn_t *c = (rt_conn_t *) zhashx_first (self->conns); c; c = (rt_conn_t *) zhashx_next (self->conns))
        if (c->state == RT_CONN_READY && c->partner->conn == c)
            n += rt_partner_free (c->partner);
    return n;
}

//  --------------------------------------------------------------------------
//  Self test

void
rt_registry_test (void)
{
    printf (" * rt_registry: ");
    rt_registry_t *self = rt_registry_new ();
    char *heat [] = { "heater" }, *all [] = { "*" }, *sh [] = { "shanghai", "beijing" };
    rt_partner_t *p1 = rt_registry_partner (self, "P1", true);
    rt_partner_t *p2 = rt_registry_partner (self, "P2", true);
    rt_partner_t *p3 = rt_registry_partner (self, "P3", true);
    assert (rt_registry_partner (self, "P1", false) == p1 && !rt_registry_partner (self, "P9", false));
    rt_partner_set (p1, 2, heat, 1, sh, 2);
    rt_partner_set (p2, 5, all, 1, all, 1);
    rt_partner_set (p3, 3, all, 1, sh, 1);
    rt_conn_t *c1 = rt_registry_connect (self, "\x00\x01", 2, "k1", p1, RT_CONN_READY, 0);
    rt_registry_connect (self, "\x00\x02", 2, "k2", p2, RT_CONN_READY, 0);
    rt_registry_connect (self, "\x00\x03", 2, "k3", p3, RT_CONN_READY, 0);
    assert (rt_registry_conn (self, "\x00\x01", 2) == c1 && !rt_registry_conn (self, "\x00\x09", 2));
    assert (rt_registry_live (self) == 3 && rt_registry_free (self) == 10);
    //  Credit: what a partner holds counts.
    zhashx_insert (p2->held, "W1", p2);
    assert (rt_partner_free (p2) == 4 && rt_registry_free (self) == 9);
    assert (rt_partner_fits (p1, "heater", "beijing") && !rt_partner_fits (p1, "ac", "beijing"));
    assert (rt_partner_fits (p3, "ac", "shanghai") && !rt_partner_fits (p3, "ac", "beijing"));
    assert (p1->score == -1 && !p1->profile);
    //  A newer READY connection replaces the older; dropping makes it not live.
    rt_registry_drop (self, c1);
    assert (!rt_partner_live (p1) && rt_registry_live (self) == 2);
    rt_conn_t *c1b = rt_registry_connect (self, "\x00\x04", 2, "k1", p1, RT_CONN_READY, 5);
    assert (p1->conn == c1b && rt_partner_live (p1));
    rt_registry_connect (self, "\x00\x04", 2, "k1", p1, RT_CONN_REFUSED, 6);
    assert (!rt_partner_live (p1));
    rt_registry_destroy (&self);
    printf ("OK\n");
}
