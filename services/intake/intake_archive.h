/*  intake_archive: the customer and product archive (客户档案): its keys,
    its reads, and the steps that find or create a ticket's customer and
    unit.

    Keys (asp_keys.h: "{s<n>}:" + name), each in the shard of the id in it:
      c:<cid>            hash: a customer: id, name, phones (comma list, as
                         given), address, region, class (A/B/C), language
                         (zh-CN/en), email and channel (the preferred one for
                         notifications: sms, email, webhook; "" or absent:
                         none), tz (their time zone, IANA; "" or absent:
                         the services'), created_ms, updated_ms, merged_into (after
                         a merge)
      c:<cid>:tickets    zset: created_ms -> ticket id, every ticket of theirs
      c:<cid>:units      set: serials of their units
      ph:<digits>        string: the customer a phone belongs to (its digits:
                         intake_phone_digits)
      u:<serial>         hash: a product unit: serial, model, category,
                         customer, purchase_date and install_date (ms),
                         purchase_channel, installer_partner,
                         installer_technician, installed_by_ticket,
                         last_repair_partner, last_repair_technician,
                         last_repair_ms, last_repair_ticket (its latest
                         repair ticket completed fixed: feedback's repeat
                         repairs), attributes (JSON object), parts (JSON array of
                         {part, qty, date, ticket}), created_ms, updated_ms
      u:<serial>:tickets zset: created_ms -> ticket id
    A customer id is minted in the shard of its first phone
    (asp_shard_id_new): the customer and that phone's index are written by
    one script. A ticket is minted in its unit's shard, so the unit and
    its ticket list change with the ticket in one script (create.lua).

    Steps that span shards are ordered intent first: a reference (an
    index, a list entry) is written before what it points to, readers
    skip references that do not resolve or no longer point back (a unit
    whose customer is someone else), and every step is idempotent. A
    SIGKILL between steps loses nothing; a retry completes the work.
    This header is the one place that names the keys.                      */
#ifndef INTAKE_ARCHIVE_H
#define INTAKE_ARCHIVE_H
#include "intake_http.h"

#define INTAKE_KEY_CUSTOMER      "c:%s"
#define INTAKE_KEY_CUST_TICKETS  "c:%s:tickets"
#define INTAKE_KEY_CUST_UNITS    "c:%s:units"
#define INTAKE_KEY_PHONE         "ph:%s"
#define INTAKE_KEY_UNIT          "u:%s"
#define INTAKE_KEY_UNIT_TICKETS  "u:%s:tickets"

//  A serial: 4 to 40 characters of [A-Za-z0-9._:-] (the buffer with NUL).
#define INTAKE_SERIAL_MAX   41
//  Phone digits (intake_v_phone: at most 20) with room.
#define INTAKE_DIGITS_MAX   24
//  Tickets a unit read keeps (newest first); lookups list at most
//  INTAKE_LOOKUP_MAX tickets and units.
#define INTAKE_UNIT_TICKETS 32
#define INTAKE_LOOKUP_MAX   100

//  The keys of a customer's scripts (arc_cust.lua, arc_merge.lua):
//  c:<cid>, c:<cid>:tickets, c:<cid>:units, in txn (the customer's shard).
void intake_archive_customer_keys (asp_txn_t *txn, const char *cid);

//  The value of field in an HGETALL reply, or NULL.
const char *intake_hash_field (const redisReply *r, const char *field);

//  ---------------------------------------------------------------------
//  A unit as other code reads it (the warranty decision: purchase date,
//  category and the unit's tickets).
typedef struct {
    char serial [INTAKE_SERIAL_MAX];
    char model [65], category [65];
    char customer [ASP_ID_MAX];         //  "" when nobody owns it yet
    char purchase_channel [65];
    int64_t purchase_ms;                //  0 when unknown
    int64_t install_ms;                 //  0 when unknown
    char installer_partner [65], installer_technician [65];
    size_t ntickets;                    //  newest first, at most INTAKE_UNIT_TICKETS
    char tickets [INTAKE_UNIT_TICKETS][ASP_ID_MAX];
} intake_unit_t;

//  Reads the unit serial (one round trip). 0 found, 1 no such unit, -1
//  Redis unavailable.
int intake_archive_unit (asp_rds_t *rds, const char *serial, intake_unit_t *unit);

//  ---------------------------------------------------------------------
//  A ticket's customer and unit, found or created (never duplicated).
//  The caller fills the request's part, calls intake_archive_find (reads
//  only: refusals are decided before anything is written), then, once
//  the ticket id is fixed, intake_archive_attach (the customer's step,
//  which lists the ticket and a new unit on the customer), and last
//  creates the ticket with the unit in the unit's shard.
typedef struct {
    //  The request: a customer by id, or inline (phone set), or neither
    //  (the unit's owner); the unit by serial (model/category NULL when
    //  the request gave only the serial).
    const char *customer_id;
    const char *name, *phone, *region, *address, *cclass;
    const char *serial, *model, *category;
    const char *fault_key;              //  "<type>:<fault>": the unit's history read too
    //  What intake_archive_find saw.
    bool unit_known;
    char unit_customer [ASP_ID_MAX];
    char unit_model [65], unit_category [65];
    int64_t unit_purchase_ms;           //  0 when unknown (the warranty's start)
    char unit_installer [65];           //  its installer of record (a partner id), or ""
    char unit_installer_tech [65];      //  and its technician, or ""
    int64_t unit_install_ms;            //  when it was installed, 0 unknown
    //  Its latest repair done (a repair ticket's work order completed
    //  fixed): for feedback's repeat-repair count. "" / 0 when none.
    char repair_partner [65], repair_tech [65];
    int64_t repair_ms;
    char fault_last [ASP_ID_MAX];       //  the unit's latest ticket for fault_key, or ""
    int fault_earlier;                  //  the unit's tickets for fault_key
    char phone_owner [ASP_ID_MAX];      //  the phone index's customer, or ""
    bool phone_owner_exists;            //  presumed; attach finds out
    //  The customer the ticket is for (after intake_archive_attach), and
    //  what the archive holds about them (for the ticket record).
    char cid [ASP_ID_MAX];
    char c_name [65], c_phone [33], c_region [65], c_address [257], c_class [2];
    //  How they want to be told (ticket.created carries it to notification):
    //  language, e-mail ("" none), preferred channel ("" none).
    char c_language [8], c_email [255], c_channel [17], c_tz [64];
} intake_party_t;

//  Reads what the archive knows about the request's customer and unit in
//  one round trip. Returns 0, -1 (Redis unavailable), or 1 with a
//  refusal in err: "unknown_customer" (customer_id unknown) or
//  "unknown_unit" (only a serial given, and no such unit), "customer_required"
//  (no customer given and the unit has none); message in msg.
int intake_archive_find (intake_api_t *api, intake_party_t *p, char *code, size_t codelen,
                         char *msg, size_t msglen);
//  The customer's step of creating ticket (created at created_ms): finds
//  the customer (by id, by phone) or creates it, lists the ticket on it
//  and the unit when the unit is new or theirs. Follows merges. Fills
//  p->cid and the c_* fields. 0, or -1 (Redis unavailable: retry).
int intake_archive_attach (intake_api_t *api, intake_party_t *p, const char *ticket, int64_t created_ms);

//  Test support: the pure helpers.
void intake_archive_test (void);
#endif
