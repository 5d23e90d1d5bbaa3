/*  asp_vocab: the domain vocabularies, defined once.

    Every closed set of words the platform speaks (ticket types, tiers,
    customer classes, channels, progress stages, completion results,
    ticket statuses, work order states, languages) is an enum here with its one name
    table. Services, the partner SDK, the tools and the docs' tables use
    these: a word is parsed once where it enters (HTTP, bus, partner
    message, Redis reply) and travels as the enum; its name is written
    only where it leaves. tools/asp-vocab prints them all as JSON, and a
    test checks that the docs' tables list exactly these names.

    Enum values are the index in the name table. Where the order means
    something (ticket statuses), it is the order of the table: a ticket
    never moves to a status of a lower value.

    No dependencies beyond libc: the partner SDK links it.                 */
#ifndef ASP_VOCAB_H
#define ASP_VOCAB_H
#include <stdbool.h>
#include <stddef.h>

typedef struct {
    const char *name;               //  e.g. "stage"
    const char *const *names;       //  the words, in enum order
    int count;
} asp_vocab_t;

//  Ticket type (HTTP "type"), the work order's "kind" in ASPW/1.
typedef enum {
    ASP_KIND_INSTALLATION = 0, ASP_KIND_REPAIR, ASP_KIND_MAINTENANCE,
    ASP_KIND_COMPLAINT, ASP_KIND_CONSULTATION, ASP_KIND_RETURN
} asp_kind_t;
//  True when a ticket of kind sends a work order to a partner; a
//  consultation or a complaint is handled by staff (no field work).
bool asp_kind_field_work (asp_kind_t kind);
//  Service tier: standard, or express (the paid fast tier).
typedef enum { ASP_TIER_STANDARD = 0, ASP_TIER_EXPRESS } asp_tier_t;
//  Customer class A, B, C.
typedef enum { ASP_CLASS_A = 0, ASP_CLASS_B, ASP_CLASS_C } asp_class_t;
//  Where a ticket came from.
typedef enum {
    ASP_CHANNEL_HOTLINE = 0, ASP_CHANNEL_WEB, ASP_CHANNEL_APP,
    ASP_CHANNEL_EMAIL, ASP_CHANNEL_LETTER, ASP_CHANNEL_VISIT
} asp_channel_t;
//  A partner's PROGRESS stage.
typedef enum {
    ASP_STAGE_SCHEDULED = 0, ASP_STAGE_ON_THE_WAY, ASP_STAGE_ON_SITE,
    ASP_STAGE_WAITING_PARTS, ASP_STAGE_NOTE
} asp_stage_t;
//  A partner's COMPLETE result.
typedef enum { ASP_RESULT_FIXED = 0, ASP_RESULT_NOT_FIXED, ASP_RESULT_INSTALLED } asp_result_t;
//  A ticket's status, in the order a ticket moves through them. Closed
//  and cancelled are terminal: only a staff action (reopen, of a closed
//  ticket) moves a ticket back; cancelled ranks above every status an
//  event implies, so no late event moves a cancelled ticket.
typedef enum {
    ASP_STATUS_RECEIVED = 0, ASP_STATUS_OFFERED, ASP_STATUS_ASSIGNED,
    ASP_STATUS_IN_PROGRESS, ASP_STATUS_COMPLETED, ASP_STATUS_VISIT_SCHEDULED,
    ASP_STATUS_CLOSED, ASP_STATUS_CANCELLED
} asp_status_t;
//  A work order's state in routing. Completed and cancelled (its ticket
//  was cancelled or re-dispatched: a new work order replaced it) are
//  final.
typedef enum {
    ASP_WO_PENDING = 0, ASP_WO_OFFERED, ASP_WO_ASSIGNED, ASP_WO_COMPLETED, ASP_WO_CANCELLED
} asp_wo_state_t;
//  A customer's language (the archive's "language"; notification's texts).
typedef enum { ASP_LANG_ZH_CN = 0, ASP_LANG_EN } asp_lang_t;
//  The 三包 remedy a ticket is entitled to (intake_warranty): repair under
//  warranty (包修), exchange (包换), refund (包退), or a repair the customer
//  pays for (outside the guarantee).
typedef enum {
    ASP_REMEDY_REPAIR = 0, ASP_REMEDY_EXCHANGE, ASP_REMEDY_REFUND, ASP_REMEDY_PAID_REPAIR
} asp_remedy_t;

//  Why a partner hands an accepted work order back (UNABLE, and
//  workorder.returned); partner_removed is set by the platform only, when
//  the brand removes the partner from the registry.
typedef enum {
    ASP_UNABLE_NO_SKILL = 0, ASP_UNABLE_NO_PARTS, ASP_UNABLE_OUT_OF_AREA,
    ASP_UNABLE_CUSTOMER_REFUSED, ASP_UNABLE_UNSAFE, ASP_UNABLE_OTHER, ASP_UNABLE_PARTNER_REMOVED
} asp_unable_reason_t;
//  Why routing offered a work order to this partner (workorder.offered).
typedef enum { ASP_CHOICE_ORIGINAL_INSTALLER = 0, ASP_CHOICE_BEST_SCORE, ASP_CHOICE_OVERRIDE } asp_choice_t;
//  A partner's status in the registry: suspended gets no new offers but
//  finishes what it accepted; removed is cut off and its work re-routed.
typedef enum { ASP_PARTNER_ACTIVE = 0, ASP_PARTNER_SUSPENDED, ASP_PARTNER_REMOVED } asp_partner_status_t;
//  The three-strike ladder (feedback_strikes.h): a step, a strike's state,
//  and ops' review decision (intake's POST .../strikes/{strike}/review).
typedef enum { ASP_STRIKE_WARNING = 0, ASP_STRIKE_PENALTY, ASP_STRIKE_REMOVAL } asp_strike_step_t;
typedef enum { ASP_STRIKE_ACTIVE = 0, ASP_STRIKE_UPHELD, ASP_STRIKE_OVERTURNED } asp_strike_state_t;
typedef enum { ASP_REVIEW_UPHOLD = 0, ASP_REVIEW_OVERTURN } asp_strike_review_t;
//  A service-recovery record (intake_recovery.h): what failed, as British
//  Airways files its complaints (by type, so that the recovery database
//  can be analysed by kind), adapted to after-sales; and where the
//  recovery stands (open until staff resolve it or give up: unresolved).
typedef enum {
    ASP_RECOVERY_DELAY = 0, ASP_RECOVERY_MISSED_APPOINTMENT, ASP_RECOVERY_WORKMANSHIP,
    ASP_RECOVERY_STAFF_ATTITUDE, ASP_RECOVERY_PARTS, ASP_RECOVERY_BILLING, ASP_RECOVERY_DAMAGE,
    ASP_RECOVERY_COMMUNICATION, ASP_RECOVERY_OTHER
} asp_recovery_category_t;
typedef enum { ASP_RECOVERY_OPEN = 0, ASP_RECOVERY_RESOLVED, ASP_RECOVERY_UNRESOLVED } asp_recovery_outcome_t;
//  A return visit (回访, feedback_visits.h): open until an agent claims it
//  (assigned); done when answered (by staff or the customer's survey),
//  no_response when nobody answered in time, cancelled when the ticket
//  closed or got a new work order first. What the staff's outcome says
//  of the repair and of the technician's arrival.
typedef enum {
    ASP_VISIT_OPEN = 0, ASP_VISIT_ASSIGNED, ASP_VISIT_DONE, ASP_VISIT_NO_RESPONSE, ASP_VISIT_CANCELLED
} asp_visit_state_t;
typedef enum { ASP_REPAIR_FIXED = 0, ASP_REPAIR_PARTLY, ASP_REPAIR_NOT_FIXED } asp_repair_status_t;
typedef enum { ASP_ARRIVAL_ON_TIME = 0, ASP_ARRIVAL_LATE, ASP_ARRIVAL_NO_SHOW } asp_arrival_t;
//  Why a work order is in the unroutable queue (workorder.unroutable).
typedef enum { ASP_UNROUTABLE_NO_ELIGIBLE = 0, ASP_UNROUTABLE_REFUSALS } asp_unroutable_reason_t;
//  The promises sla-timer watches on a ticket (docs/sla.md): each starts
//  and stops on the events named there; which run, and their targets,
//  come from the ticket's SLA policy.
typedef enum {
    ASP_CLOCK_FIRST_RESPONSE = 0, ASP_CLOCK_PARTNER_ACCEPTANCE, ASP_CLOCK_APPOINTMENT_MADE,
    ASP_CLOCK_ONSITE_ARRIVAL, ASP_CLOCK_APPOINTMENT_KEPT, ASP_CLOCK_RESOLUTION, ASP_CLOCK_CALLBACK,
    ASP_CLOCK_COMPLAINT_ANSWER, ASP_CLOCK_COMPLAINT_RESOLVED, ASP_CLOCK_RETURN_VISIT
} asp_clock_t;
#define ASP_CLOCK_COUNT (ASP_CLOCK_RETURN_VISIT + 1)
//  A clock's state: running (or paused) until its stop event; met when it
//  stopped by its due time, late when after; breached while it runs past
//  its due time; cancelled when the ticket ended first (closed, cancelled).
typedef enum {
    ASP_CLOCK_RUNNING = 0, ASP_CLOCK_PAUSED, ASP_CLOCK_MET, ASP_CLOCK_BREACHED, ASP_CLOCK_LATE,
    ASP_CLOCK_CANCELLED
} asp_clock_state_t;
//  What a clock's target counts: every millisecond (calendar) or only the
//  working hours of the ticket's region's calendar (business).
typedef enum { ASP_BASIS_CALENDAR = 0, ASP_BASIS_BUSINESS } asp_basis_t;
//  Who an escalation step goes to, and who may approve a compensation.
typedef enum { ASP_SLA_ROLE_AGENT = 0, ASP_SLA_ROLE_SUPERVISOR, ASP_SLA_ROLE_MANAGER } asp_sla_role_t;
//  Why a ticket waits, pausing the clocks whose policy says so: for the
//  customer (ticket.waiting / ticket.resumed) or for parts (a partner's
//  waiting_parts stage, until its next stage or completion).
typedef enum { ASP_PAUSE_CUSTOMER = 0, ASP_PAUSE_PARTS } asp_pause_t;
//  How a notification reaches its recipient (notification's channels,
//  docs/notifications.md); a customer's preferred channel is one of the
//  first three. Not the ticket's intake channel (asp_channel_t).
typedef enum {
    ASP_NOTIFY_WEBHOOK = 0, ASP_NOTIFY_EMAIL, ASP_NOTIFY_SMS, ASP_NOTIFY_FILE, ASP_NOTIFY_STDOUT
} asp_notify_channel_t;
#define ASP_NOTIFY_CHANNELS (ASP_NOTIFY_STDOUT + 1)

extern const asp_vocab_t asp_vocab_kind;
extern const asp_vocab_t asp_vocab_tier;
extern const asp_vocab_t asp_vocab_class;
extern const asp_vocab_t asp_vocab_channel;
extern const asp_vocab_t asp_vocab_stage;
extern const asp_vocab_t asp_vocab_result;
extern const asp_vocab_t asp_vocab_status;
extern const asp_vocab_t asp_vocab_wo_state;
extern const asp_vocab_t asp_vocab_lang;
extern const asp_vocab_t asp_vocab_remedy;
extern const asp_vocab_t asp_vocab_unable_reason;
extern const asp_vocab_t asp_vocab_choice;
extern const asp_vocab_t asp_vocab_partner_status;
extern const asp_vocab_t asp_vocab_unroutable_reason;
extern const asp_vocab_t asp_vocab_clock;
extern const asp_vocab_t asp_vocab_clock_state;
extern const asp_vocab_t asp_vocab_basis;
extern const asp_vocab_t asp_vocab_strike_step;
extern const asp_vocab_t asp_vocab_strike_state;
extern const asp_vocab_t asp_vocab_strike_review;
extern const asp_vocab_t asp_vocab_visit_state;
extern const asp_vocab_t asp_vocab_repair_status;
extern const asp_vocab_t asp_vocab_arrival;
extern const asp_vocab_t asp_vocab_sla_role;
extern const asp_vocab_t asp_vocab_pause;
extern const asp_vocab_t asp_vocab_notify_channel;
extern const asp_vocab_t asp_vocab_recovery_category;
extern const asp_vocab_t asp_vocab_recovery_outcome;
//  All of the above, NULL-terminated (for tools and tests).
extern const asp_vocab_t *const asp_vocabs [];

//  The value of the word s (len bytes, need not be NUL-terminated), or
//  -1 when it is not one of the vocabulary's words.
int  asp_vocab_parsen (const asp_vocab_t *vocab, const char *s, size_t len);
//  Same, for a NUL-terminated word (NULL gives -1).
int  asp_vocab_parse (const asp_vocab_t *vocab, const char *s);
//  The word of value, or NULL when value is out of range.
const char *asp_vocab_name (const asp_vocab_t *vocab, int value);
//  Writes the words as "a, b, c" (for error messages) into out; returns
//  out. Truncated, always NUL-terminated.
const char *asp_vocab_join (const asp_vocab_t *vocab, char *out, size_t outlen);
//  The vocabulary called name ("stage", ...), or NULL.
const asp_vocab_t *asp_vocab_lookup (const char *name);

void asp_vocab_test (void);
#endif
