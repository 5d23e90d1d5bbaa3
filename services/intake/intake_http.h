/*  intake_http: what every intake route shares.

    The route table (intake_api.c) maps a method and a path pattern such as
    "/v1/tickets/{id}/timeline" to a handler and the roles that may call
    it. The router matches the path, copies the {..} parameters (each 1 to
    ASP_ID_MAX-1 characters of [A-Za-z0-9._:-], anything else is a 404),
    authenticates the caller (intake_auth) and refuses a role the route does
    not admit with 403 before the handler runs: a handler never checks
    roles, only, where it matters, who the caller is.

    Handlers run in the HTTP server's one thread and share the intake_api_t
    below: its Redis connection, its scripts and the outbox remote. The
    ZeroMQ endpoint (intake_zmq) runs the same routes in its own thread
    with an intake_api_t of its own. Each
    refusal names the field and carries a stable error code; nothing is
    written before a request is valid.

    The validation helpers fill an intake_err_t with a message that names
    the field (its JSON path) and return false, so checks chain with &&.  */
#ifndef INTAKE_HTTP_H
#define INTAKE_HTTP_H
#include "asp_httpd.h"
#include "asp_id.h"
#include "asp_report.h"
#include "asp_svc.h"
#include "asp_vocab.h"
#include "intake_auth.h"
#include "intake_limit.h"
#include "intake_warranty.h"
#include "sla_policy.h"
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

//  The scripts intake's HTTP side runs (one asp_script_t each on its own
//  connection); intake_api.c has their sources in the same order.
typedef enum {
    INTAKE_SCRIPT_CREATE = 0,
    INTAKE_SCRIPT_SURVEY,
    INTAKE_SCRIPT_IDEM,             //  claim an Idempotency-Key
    INTAKE_SCRIPT_ARC_CUSTOMER,     //  the archive (intake_archive.h)
    INTAKE_SCRIPT_ARC_PHONE,
    INTAKE_SCRIPT_ARC_CUST,
    INTAKE_SCRIPT_ARC_UNIT,
    INTAKE_SCRIPT_ARC_MERGE,
    INTAKE_SCRIPT_JOIN,             //  a repeat contact joins its open ticket
    INTAKE_SCRIPT_NOTE,             //  the staff actions (intake_actions)
    INTAKE_SCRIPT_WAIT,
    INTAKE_SCRIPT_UPDATE,
    INTAKE_SCRIPT_CANCEL,
    INTAKE_SCRIPT_CLOSE,
    INTAKE_SCRIPT_REDISPATCH,
    INTAKE_SCRIPT_OVERRIDE,         //  a supervisor's choice of partner
    INTAKE_SCRIPT_RESPOND,          //  an answer to the customer
    INTAKE_SCRIPT_PARTNER,          //  the partner registry (intake_partners.h)
    INTAKE_SCRIPT_STRIKE_REVIEW,    //  ops' review of a strike (intake_partners.h)
    INTAKE_SCRIPT_NOTIFY_REPLAY,    //  a dead letter replayed (intake_notify.h)
    INTAKE_SCRIPT_RECOVERY,         //  a service-recovery record (intake_recovery.h)
    INTAKE_SCRIPT_VISIT_CLAIM,      //  the return visits (intake_visits.h)
    INTAKE_SCRIPT_VISIT_OUTCOME,
    INTAKE_SCRIPT_COUNT
} intake_script_id_t;

#define INTAKE_LINK_MAX 256

typedef struct intake_dashboard_t intake_dashboard_t;
typedef struct intake_api_t intake_api_t;
struct intake_api_t {
    asp_svc_t *svc;
    asp_rds_t *rds;                 //  this thread's own connection
    asp_script_t *script [INTAKE_SCRIPT_COUNT];
    asp_outbox_remote_t *outbox;    //  messages a request committed
    intake_auth_t *auth;            //  owned by the first api, shared
    bool owns_auth;
    intake_warranty_t *warranty;    //  the process's 三包 policy (shared)
    intake_limit_t *limit;          //  requests per caller (429 beyond)
    char customer_link [INTAKE_LINK_MAX];   //  ASP_CUSTOMER_LINK, or ""
    int64_t idem_ttl_s;
    int64_t search_scan_max;        //  records a list/search may examine
    asp_warn_config_t warn;         //  the early warning's (ASP_WARN_*)
    int64_t reopen_window_ms;       //  ASP_REOPEN_DAYS
    sla_policy_watch_t *policy;     //  the compensation caps (intake_recovery), this thread's own
    asp_histo_t *ack_latency;
    asp_counter_t *created, *invalid;
    asp_family_t *m_requests;       //  by route template, method, status class
    asp_family_t *m_route_latency;  //  by route template
    asp_histo_t *m_latency;         //  every request (the service heartbeat's)
    intake_dashboard_t *dashboard;  //  the page's files (first api only)
    struct intake_ops_stream_t *ops_stream;     //  the first api's (HTTP), else NULL
};

#define INTAKE_MAX_PARAMS 2

//  One request as a handler sees it: who calls, and the path parameters.
typedef struct {
    intake_caller_t caller;
    const char *param [INTAKE_MAX_PARAMS];  //  {..} of the pattern, in order
    char pbuf [INTAKE_MAX_PARAMS][ASP_ID_MAX];
} intake_call_t;

typedef void (intake_route_fn) (intake_api_t *api, const intake_call_t *call,
                                const asp_http_req_t *req, asp_http_res_t *res);

typedef struct {
    const char *method;             //  "GET", "POST", "PATCH"
    const char *pattern;            //  "/v1/tickets/{id}"
    unsigned roles;                 //  INTAKE_ROLE_BIT (..) | ...
    const char *what;               //  for the 403: "read tickets"
    intake_route_fn *fn;
} intake_route_t;

//  Finds the route for req in routes (n of them), checks the caller and
//  runs it; answers 404/405/401/403 itself. The caller is who the
//  Authorization header names, or, when caller is not NULL, that one
//  (authenticated another way: intake_zmq's CURVE keys).
void intake_http_dispatch (intake_api_t *api, const intake_route_t *routes, size_t n,
                           const intake_caller_t *caller, const asp_http_req_t *req, asp_http_res_t *res);

//  ---------------------------------------------------------------------
//  Answers every handler gives the same way.

//  503 + Retry-After: Redis is down or the reply was lost.
void intake_storage_down (asp_http_res_t *res);
//  A script's refusal (its reason code) and what it answers: status, and
//  a message with one %s, the id the request names; a 404 answers
//  not_found.
typedef struct {
    const char *code;
    int status;
    const char *message;
} intake_refusal_t;
//  Answers refusal why from table (n entries) with arg in its message;
//  500 internal when the table does not know why (a script and its table
//  disagree: a bug).
void intake_refuse (asp_http_res_t *res, const intake_refusal_t *table, size_t n, const char *why,
                    const char *arg);
//  Runs txn (a script of intake's HTTP side) and hands what it committed
//  to the outbox: true when it applied (the caller answers); else false
//  and answered: its refusal from refusals (intake_refuse, with arg), or
//  503 when Redis failed or the reply was lost.
bool intake_commit (intake_api_t *api, asp_txn_t *txn, asp_http_res_t *res, const intake_refusal_t *refusals,
                    size_t n, const char *arg);
//  503 + Retry-After when the outbox is over its limit; true if answered.
bool intake_overloaded (intake_api_t *api, asp_http_res_t *res);
//  The request's JSON body: answers 415 (not application/json) or 400
//  (invalid_json, too_deep) and returns NULL; else a tree the caller
//  deletes.
cJSON *intake_body (const asp_http_req_t *req, asp_http_res_t *res);
//  The same checks on bytes (len of them, a NUL after them need not be
//  there): NULL with the reason in err. Safe on any input (fuzzed).
#define INTAKE_JSON_MAX_DEPTH 8
typedef struct {
    char message [256];
} intake_err_t;
cJSON *intake_parse_json (const char *body, size_t len, intake_err_t *err);

//  ---------------------------------------------------------------------
//  Field validation. Each returns true when valid; else fills err (the
//  field named by its path, e.g. "customer.phone") and returns false.

bool intake_fail (intake_err_t *err, const char *fmt, const char *field);
//  Answers 400 invalid_field with err's message, and counts it.
void intake_invalid (intake_api_t *api, asp_http_res_t *res, const intake_err_t *err);
//  Only fields named in allowed (NULL-terminated); where = the object's
//  path ("" at the top).
bool intake_v_only (const cJSON *obj, const char **allowed, const char *where, intake_err_t *err);
//  String of minlen..maxlen bytes, valid UTF-8, no control characters;
//  with vocab, one of its words. *out is NULL when absent and optional.
bool intake_v_str (const cJSON *obj, const char *key, const char *path, size_t minlen, size_t maxlen,
                   const asp_vocab_t *vocab, bool required, const char **out, intake_err_t *err);
//  Array of minn..maxn distinct strings, each as intake_v_str checks one
//  (with vocab: its words); *out is the array, NULL when absent and
//  optional.
bool intake_v_strv (const cJSON *obj, const char *key, const char *path, size_t minn, size_t maxn,
                    size_t minlen, size_t maxlen, const asp_vocab_t *vocab, bool required,
                    const cJSON **out, intake_err_t *err);
//  Integer in lo..hi; *out keeps its value when absent and optional.
bool intake_v_int (const cJSON *obj, const char *key, const char *path, int64_t lo, int64_t hi,
                   bool required, int64_t *out, intake_err_t *err);
//  A phone number: digits, '+', '-', spaces; 5 to 20 digits.
bool intake_v_phone (const char *phone, const char *path, intake_err_t *err);
//  An e-mail address as notification sends to it (RFC 5321's mailbox,
//  the common subset): local@domain, at most 254 bytes; the local part 1
//  to 64 of [A-Za-z0-9.!#$%&'*+/=?^_`{|}~-] without a leading, trailing or
//  doubled dot; the domain two or more labels of [A-Za-z0-9-], 1 to 63
//  each, not starting or ending with '-'.
bool intake_v_email (const char *email, const char *path, intake_err_t *err);
//  The digits of a valid phone (its identity for lookups), into out.
void intake_phone_digits (const char *phone, char *out, size_t outlen);
//  A product serial: 4 to 40 characters of [A-Za-z0-9._:-].
bool intake_serial_valid (const char *serial);
bool intake_v_serial (const cJSON *obj, const char *key, const char *path, bool required,
                      const char **out, intake_err_t *err);
//  A calendar date "YYYY-MM-DD" not after today (UTC): ms since the epoch
//  of its midnight UTC in *out_ms.
bool intake_v_date (const cJSON *obj, const char *key, const char *path, bool required,
                    int64_t *out_ms, intake_err_t *err);

//  A calendar date "YYYY-MM-DD" (any, past or future): ms since the epoch
//  of its midnight UTC in *out_ms; else false, err naming path.
bool intake_parse_date (const char *s, const char *path, int64_t *out_ms, intake_err_t *err);

//  The query parameters, each named in allowed (NULL-terminated), as a
//  JSON object of strings, so the field validators above check them
//  (path = the parameter's name). Answers 400 invalid_query naming an
//  unknown or repeated parameter and returns NULL; else the caller
//  deletes the object.
cJSON *intake_query (const asp_http_req_t *req, const char **allowed, asp_http_res_t *res);
//  An integer query parameter ("?limit=20"); absent gives def. false and
//  a 400 answered when it is not an integer in lo..hi.
bool intake_query_int (const asp_http_req_t *req, const char *name, int64_t lo, int64_t hi,
                       int64_t def, int64_t *out, asp_http_res_t *res);

void intake_http_test (void);
#endif
