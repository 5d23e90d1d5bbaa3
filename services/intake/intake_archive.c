/*  intake_archive: the archive's keys, reads and the find-or-create
    steps of ticket creation (see the header for the order of steps).     */
#include "intake_archive.h"
#include "asp_log.h"
#include "asp_selftest.h"
#include "intake_ticket.h"
#include <assert.h>
#include <string.h>

void
intake_archive_customer_keys (asp_txn_t *txn, const char *cid)
{
    assert (asp_txn_shard (txn) == asp_shard_of (cid));
    asp_txn_key (txn, INTAKE_KEY_CUSTOMER, cid);
    asp_txn_key (txn, INTAKE_KEY_CUST_TICKETS, cid);
    asp_txn_key (txn, INTAKE_KEY_CUST_UNITS, cid);
}

const char *
intake_hash_field (const redisReply *r, const char *field)
{
    if (!r || r->type != REDIS_REPLY_ARRAY)
        return NULL;
    for (size_t i = 0; i + 1 < r->elements; i += 2)
        if (r->element [i]->type == REDIS_REPLY_STRING && strcmp (r->element [i]->str, field) == 0)
            return r->element [i + 1]->type == REDIS_REPLY_STRING? r->element [i + 1]->str: NULL;
    return NULL;
}

static void
s_copy (char *dst, size_t len, const char *src)
{
    snprintf (dst, len, "%s", src? src: "");
}

int
intake_archive_unit (asp_rds_t *rds, const char *serial, intake_unit_t *unit)
{
    memset (unit, 0, sizeof *unit);
    char k1 [ASP_KEY_MAX], k2 [ASP_KEY_MAX], last [16];
    intake_key (k1, sizeof k1, INTAKE_KEY_UNIT, serial);
    intake_key (k2, sizeof k2, INTAKE_KEY_UNIT_TICKETS, serial);
    snprintf (last, sizeof last, "%d", INTAKE_UNIT_TICKETS - 1);
    const char *a1 [] = { "HGETALL", k1 };
    const char *a2 [] = { "ZREVRANGE", k2, "0", last };
    if (!asp_rds_ready (rds) || asp_rds_append (rds, 2, a1, NULL) || asp_rds_append (rds, 4, a2, NULL))
        return -1;
    redisReply *h = asp_rds_reply (rds);
    redisReply *t = h? asp_rds_reply (rds): NULL;
    int rc = -1;
    if (h && t && h->type == REDIS_REPLY_ARRAY && t->type == REDIS_REPLY_ARRAY) {
        rc = h->elements? 0: 1;
        s_copy (unit->serial, sizeof unit->serial, serial);
        s_copy (unit->model, sizeof unit->model, intake_hash_field (h, "model"));
        s_copy (unit->category, sizeof unit->category, intake_hash_field (h, "category"));
        s_copy (unit->customer, sizeof unit->customer, intake_hash_field (h, "customer"));
        s_copy (unit->purchase_channel, sizeof unit->purchase_channel, intake_hash_field (h, "purchase_channel"));
        s_copy (unit->installer_partner, sizeof unit->installer_partner, intake_hash_field (h, "installer_partner"));
        s_copy (unit->installer_technician, sizeof unit->installer_technician,
                intake_hash_field (h, "installer_technician"));
        const char *v;
        if ((v = intake_hash_field (h, "purchase_date")))
            unit->purchase_ms = strtoll (v, NULL, 10);
        if ((v = intake_hash_field (h, "install_date")))
            unit->install_ms = strtoll (v, NULL, 10);
        for (size_t i = 0; i < t->elements && i < INTAKE_UNIT_TICKETS; i++)
            s_copy (unit->tickets [unit->ntickets++], ASP_ID_MAX, t->element [i]->str);
    }
    if (h)
        freeReplyObject (h);
    if (t)
        freeReplyObject (t);
    return rc;
}

int
intake_archive_find (intake_api_t *api, intake_party_t *p, char *code, size_t codelen,
                     char *msg, size_t msglen)
{
    *code = *msg = 0;
    p->unit_known = p->phone_owner_exists = false;
    p->unit_purchase_ms = 0;
    p->fault_earlier = 0;
    *p->fault_last = 0;
    *p->unit_customer = *p->unit_model = *p->unit_category = *p->unit_installer = *p->phone_owner = *p->cid = 0;
    *p->unit_installer_tech = *p->repair_partner = *p->repair_tech = 0;
    p->unit_install_ms = p->repair_ms = 0;
    //  The unit, and the customer (by id or by the phone's index): one
    //  round trip.
    char ku [ASP_KEY_MAX], kc [ASP_KEY_MAX], digits [INTAKE_DIGITS_MAX];
    intake_key (ku, sizeof ku, INTAKE_KEY_UNIT, p->serial);
    //  With a fault, the unit's latest ticket and count for it too (the
    //  repeat-contact and 三包 decisions).
    char ff [96], fn [96];
    snprintf (ff, sizeof ff, "fault:%s", p->fault_key? p->fault_key: "");
    snprintf (fn, sizeof fn, "faults:%s", p->fault_key? p->fault_key: "");
    const char *a1 [] = { "HMGET", ku, "customer", "model", "category", "purchase_date", "installer_partner",
                          "installer_technician", "install_date", "last_repair_partner",
                          "last_repair_technician", "last_repair_ms", ff, fn };
    int n1 = p->fault_key? 14: 12;
    const char *a2 [] = { "EXISTS", kc };
    const char *a3 [] = { "GET", kc };
    if (p->customer_id)
        intake_key (kc, sizeof kc, INTAKE_KEY_CUSTOMER, p->customer_id);
    else
    if (p->phone) {
        intake_phone_digits (p->phone, digits, sizeof digits);
        intake_key (kc, sizeof kc, INTAKE_KEY_PHONE, digits);
    }
    bool second = p->customer_id || p->phone;
    if (!asp_rds_ready (api->rds) || asp_rds_append (api->rds, n1, a1, NULL)
    ||  (second && asp_rds_append (api->rds, 2, p->customer_id? a2: a3, NULL)))
        return -1;
    redisReply *u = asp_rds_reply (api->rds);
    redisReply *c = u && second? asp_rds_reply (api->rds): NULL;
    int rc = 0;
    if (!u || u->type != REDIS_REPLY_ARRAY || u->elements != (size_t) n1 - 2 || (second && !c))
        rc = -1;
    else {
        p->unit_known = u->element [1]->type == REDIS_REPLY_STRING;
        if (u->element [0]->type == REDIS_REPLY_STRING)
            s_copy (p->unit_customer, sizeof p->unit_customer, u->element [0]->str);
        if (p->unit_known) {
            s_copy (p->unit_model, sizeof p->unit_model, u->element [1]->str);
            if (u->element [2]->type == REDIS_REPLY_STRING)
                s_copy (p->unit_category, sizeof p->unit_category, u->element [2]->str);
            if (u->element [3]->type == REDIS_REPLY_STRING)
                p->unit_purchase_ms = strtoll (u->element [3]->str, NULL, 10);
            if (u->element [4]->type == REDIS_REPLY_STRING)
                s_copy (p->unit_installer, sizeof p->unit_installer, u->element [4]->str);
            if (u->element [5]->type == REDIS_REPLY_STRING)
                s_copy (p->unit_installer_tech, sizeof p->unit_installer_tech, u->element [5]->str);
            if (u->element [6]->type == REDIS_REPLY_STRING)
                p->unit_install_ms = strtoll (u->element [6]->str, NULL, 10);
            if (u->element [7]->type == REDIS_REPLY_STRING)
                s_copy (p->repair_partner, sizeof p->repair_partner, u->element [7]->str);
            if (u->element [8]->type == REDIS_REPLY_STRING)
                s_copy (p->repair_tech, sizeof p->repair_tech, u->element [8]->str);
            if (u->element [9]->type == REDIS_REPLY_STRING)
                p->repair_ms = strtoll (u->element [9]->str, NULL, 10);
        }
        if (p->fault_key && u->element [10]->type == REDIS_REPLY_STRING)
            s_copy (p->fault_last, sizeof p->fault_last, u->element [10]->str);
        if (p->fault_key && u->element [11]->type == REDIS_REPLY_STRING)
            p->fault_earlier = atoi (u->element [11]->str);
        if (p->customer_id && c->integer == 0) {
            snprintf (code, codelen, "unknown_customer");
            snprintf (msg, msglen, "no customer %s", p->customer_id);
            rc = 1;
        }
        if (!p->customer_id && p->phone && c->type == REDIS_REPLY_STRING)
            s_copy (p->phone_owner, sizeof p->phone_owner, c->str);
        if (rc == 0 && !p->unit_known && (!p->model || !p->category)) {
            snprintf (code, codelen, "unknown_unit");
            snprintf (msg, msglen, "product.serial %s is not in the archive: give product.model and "
                      "product.category to register it", p->serial);
            rc = 1;
        }
        if (rc == 0 && !p->customer_id && !p->phone && !*p->unit_customer) {
            snprintf (code, codelen, "customer_required");
            snprintf (msg, msglen, "customer (or customer_id) is required: unit %s has no customer on record",
                      p->serial);
            rc = 1;
        }
    }
    if (u)
        freeReplyObject (u);
    if (c)
        freeReplyObject (c);
    //  The index's customer is taken to exist: a dangling index (a crash
    //  between a further phone's claim and its customer) shows up in the
    //  customer's step, which then takes the phone over.
    p->phone_owner_exists = rc == 0 && *p->phone_owner;
    return rc;
}

//  Lists ticket (and serial, when not NULL) on the existing customer cid
//  and reads what the ticket record needs. 0 done, 1 merged (into holds
//  the other customer) or unknown (into ""), -1 Redis unavailable.
static int
s_touch (intake_api_t *api, intake_party_t *p, const char *cid, const char *ticket, int64_t created_ms,
         const char *serial, char *into)
{
    *into = 0;
    asp_mpmap_t *a = asp_mpmap_new ();
    char score [24];
    snprintf (score, sizeof score, "%lld", (long long) created_ms);
    const char *tickets [] = { score, ticket };
    asp_mpmap_strv (a, "fields", NULL, 0);
    asp_mpmap_strv (a, "phones", NULL, 0);
    asp_mpmap_strv (a, "units", &serial, serial? 1: 0);
    asp_mpmap_strv (a, "tickets", tickets, 2);
    asp_mpmap_int (a, "now", created_ms);
    asp_txn_t *txn = asp_txn_new (api->script [INTAKE_SCRIPT_ARC_CUST], asp_shard_of (cid));
    intake_archive_customer_keys (txn, cid);
    asp_txn_arg_map (txn, &a);
    asp_txn_exec (api->rds, ASP_SVC_INTAKE, &txn, 1);
    int rc = -1;
    if (asp_txn_outcome (txn) == ASP_TXN_REJECT)
        rc = 1;
    else
    if (asp_txn_outcome (txn) == ASP_TXN_OK && strcmp (asp_txn_reply_str (txn, 3), "merged") == 0) {
        s_copy (into, ASP_ID_MAX, asp_txn_reply_str (txn, 4));
        rc = 1;
    }
    else
    if (asp_txn_outcome (txn) == ASP_TXN_OK) {
        s_copy (p->cid, sizeof p->cid, cid);
        s_copy (p->c_name, sizeof p->c_name, asp_txn_reply_str (txn, 5));
        //  The first of their phones.
        const char *phones = asp_txn_reply_str (txn, 6);
        size_t n = phones? strcspn (phones, ","): 0;
        snprintf (p->c_phone, sizeof p->c_phone, "%.*s", (int) n, phones? phones: "");
        s_copy (p->c_region, sizeof p->c_region, asp_txn_reply_str (txn, 7));
        s_copy (p->c_address, sizeof p->c_address, asp_txn_reply_str (txn, 8));
        s_copy (p->c_class, sizeof p->c_class, asp_txn_reply_str (txn, 9));
        s_copy (p->c_language, sizeof p->c_language, asp_txn_reply_str (txn, 10));
        s_copy (p->c_email, sizeof p->c_email, asp_txn_reply_str (txn, 11));
        s_copy (p->c_channel, sizeof p->c_channel, asp_txn_reply_str (txn, 12));
        s_copy (p->c_tz, sizeof p->c_tz, asp_txn_reply_str (txn, 13));
        rc = 0;
    }
    asp_txn_destroy (&txn);
    return rc;
}

//  Creates the customer of an inline phone with its index (or finds the
//  one a concurrent request just made: 'found' into owner). 0 created, 1
//  found, -1 Redis unavailable.
static int
s_create (intake_api_t *api, intake_party_t *p, const char *ticket, int64_t created_ms, const char *serial,
          const char *expect, char *owner)
{
    char digits [INTAKE_DIGITS_MAX], cid [ASP_ID_MAX], now [24];
    intake_phone_digits (p->phone, digits, sizeof digits);
    asp_shard_id_new (cid, "C", asp_shard_of (digits));
    snprintf (now, sizeof now, "%lld", (long long) created_ms);
    const char *fields [] = {
        "id", cid, "name", p->name, "phones", p->phone, "region", p->region,
        "address", p->address? p->address: "", "class", p->cclass,
        "language", asp_vocab_name (&asp_vocab_lang, ASP_LANG_ZH_CN),
        "created_ms", now, "updated_ms", now
    };
    asp_mpmap_t *a = asp_mpmap_new ();
    asp_mpmap_str (a, "cid", cid);
    asp_mpmap_strv (a, "fields", fields, sizeof fields / sizeof fields [0]);
    asp_mpmap_bool (a, "find", true);
    asp_mpmap_str (a, "expect", expect);
    asp_mpmap_str (a, "ticket", ticket);
    asp_mpmap_int (a, "created_ms", created_ms);
    asp_mpmap_str (a, "serial", serial? serial: "");
    asp_txn_t *txn = asp_txn_new (api->script [INTAKE_SCRIPT_ARC_CUSTOMER], asp_shard_of (digits));
    asp_txn_key (txn, INTAKE_KEY_PHONE, digits);
    intake_archive_customer_keys (txn, cid);
    asp_txn_arg_map (txn, &a);
    asp_txn_exec (api->rds, ASP_SVC_INTAKE, &txn, 1);
    int rc = -1;
    if (asp_txn_outcome (txn) == ASP_TXN_OK) {
        const char *what = asp_txn_reply_str (txn, 3);
        s_copy (owner, ASP_ID_MAX, asp_txn_reply_str (txn, 4));
        rc = what && strcmp (what, "created") == 0? 0: 1;
        if (rc == 0) {
            s_copy (p->cid, sizeof p->cid, cid);
            s_copy (p->c_name, sizeof p->c_name, p->name);
            s_copy (p->c_phone, sizeof p->c_phone, p->phone);
            s_copy (p->c_region, sizeof p->c_region, p->region);
            s_copy (p->c_address, sizeof p->c_address, p->address);
            s_copy (p->c_class, sizeof p->c_class, p->cclass);
            s_copy (p->c_language, sizeof p->c_language, asp_vocab_name (&asp_vocab_lang, ASP_LANG_ZH_CN));
            *p->c_email = *p->c_channel = *p->c_tz = 0;
        }
    }
    asp_txn_destroy (&txn);
    return rc;
}

int
intake_archive_attach (intake_api_t *api, intake_party_t *p, const char *ticket, int64_t created_ms)
{
    //  Which customer: the one named, the phone's, or the unit's owner.
    char cid [ASP_ID_MAX], into [ASP_ID_MAX], expect [ASP_ID_MAX] = "";
    if (p->customer_id)
        s_copy (cid, sizeof cid, p->customer_id);
    else
    if (p->phone && p->phone_owner_exists)
        s_copy (cid, sizeof cid, p->phone_owner);
    else
    if (p->phone) {
        //  A dangling index (its customer was never written: a crash
        //  between a further phone's claim and its customer) is free.
        s_copy (expect, sizeof expect, p->phone_owner);
        *cid = 0;
    }
    else
        s_copy (cid, sizeof cid, p->unit_customer);
    //  A new unit (or one without an owner, or already theirs) joins the
    //  customer's units before the unit itself is written.
    for (int hops = 0; hops < 8; hops++) {
        if (!*cid) {
            const char *serial = !p->unit_known || !*p->unit_customer? p->serial: NULL;
            int rc = s_create (api, p, ticket, created_ms, serial, expect, cid);
            if (rc <= 0)
                return rc;
            continue;           //  found: someone created it just now
        }
        const char *serial = !p->unit_known || !*p->unit_customer || strcmp (p->unit_customer, cid) == 0?
                             p->serial: NULL;
        int rc = s_touch (api, p, cid, ticket, created_ms, serial, into);
        if (rc <= 0)
            return rc;
        if (!*into) {
            //  The phone's index names a customer that was never written
            //  (intent first, cut short): the phone is free, take it.
            if (!p->phone || p->customer_id)
                return -1;
            s_copy (expect, sizeof expect, cid);
            *cid = 0;
            continue;
        }
        s_copy (cid, sizeof cid, into);         //  merged: follow
    }
    asp_log_error ("customer chain too long at %s (merge loop?)", cid);
    return -1;
}

void
intake_archive_test (void)
{
    redisReply f = { .type = REDIS_REPLY_STRING, .str = (char *) "model" };
    redisReply v = { .type = REDIS_REPLY_STRING, .str = (char *) "WH-1" };
    redisReply *els [] = { &f, &v };
    redisReply h = { .type = REDIS_REPLY_ARRAY, .elements = 2, .element = els };
    assert (strcmp (intake_hash_field (&h, "model"), "WH-1") == 0);
    assert (intake_hash_field (&h, "category") == NULL && intake_hash_field (NULL, "x") == NULL);
    char key [ASP_KEY_MAX];
    intake_key (key, sizeof key, INTAKE_KEY_PHONE, "13812345678");
    char want [64];
    snprintf (want, sizeof want, "{s%u}:ph:13812345678", asp_shard_of ("13812345678"));
    assert (strcmp (key, want) == 0);

    //  The unit as the warranty decision reads it.
    asp_selftest_need_redis ("intake_archive_test");
    asp_rds_t *rds = asp_rds_new ();
    assert (asp_rds_ready (rds));
    char ku [ASP_KEY_MAX], kt [ASP_KEY_MAX];
    intake_key (ku, sizeof ku, INTAKE_KEY_UNIT, "SN-selftest");
    intake_key (kt, sizeof kt, INTAKE_KEY_UNIT_TICKETS, "SN-selftest");
    redisReply *r = asp_rds_cmd (rds, "DEL %s %s", ku, kt);
    freeReplyObject (r);
    intake_unit_t unit;
    assert (intake_archive_unit (rds, "SN-selftest", &unit) == 1);
    r = asp_rds_cmd (rds, "HSET %s model WH-1 category water_heater customer C1 purchase_date 1709164800000 "
                     "installer_partner P001", ku);
    freeReplyObject (r);
    r = asp_rds_cmd (rds, "ZADD %s 1 T1 2 T2", kt);
    freeReplyObject (r);
    assert (intake_archive_unit (rds, "SN-selftest", &unit) == 0);
    assert (strcmp (unit.category, "water_heater") == 0 && strcmp (unit.customer, "C1") == 0);
    assert (unit.purchase_ms == 1709164800000LL && unit.install_ms == 0);
    assert (strcmp (unit.installer_partner, "P001") == 0);
    assert (unit.ntickets == 2 && strcmp (unit.tickets [0], "T2") == 0);     //  newest first
    r = asp_rds_cmd (rds, "DEL %s %s", ku, kt);
    freeReplyObject (r);
    asp_rds_destroy (&rds);
}
