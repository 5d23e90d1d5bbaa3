/*  A ticket's SLA clock hash, read and shown (asp_clocks.h).   */
#include "asp_clocks.h"
#include <assert.h>
#include <stdio.h>
#include <string.h>

const char *
asp_clocks_field (char out [ASP_CLOCKS_FIELD_MAX], asp_clock_t clock, const char *suffix)
{
    const char *name = asp_vocab_name (&asp_vocab_clock, (int) clock);
    assert (name);
    if (suffix && *suffix)
        snprintf (out, ASP_CLOCKS_FIELD_MAX, "%s:%s", name, suffix);
    else
        snprintf (out, ASP_CLOCKS_FIELD_MAX, "%s", name);
    return out;
}

int
asp_clocks_field_parse (const char *field, asp_clock_t *clock, const char **suffix)
{
    const char *colon = strchr (field, ':');
    size_t len = colon? (size_t) (colon - field): strlen (field);
    char name [ASP_CLOCKS_FIELD_MAX];
    if (len == 0 || len >= sizeof name || (colon && !colon [1]))
        return -1;
    memcpy (name, field, len);
    name [len] = 0;
    int c = asp_vocab_parse (&asp_vocab_clock, name);
    if (c < 0)
        return -1;
    *clock = (asp_clock_t) c;
    *suffix = colon? colon + 1: "";
    return 0;
}

//  A non-negative decimal number of at most 18 digits (no sign, no
//  spaces: what the engine writes), else -1: Redis is shared, and a value
//  someone else wrote is shown as absent, never guessed.
static int64_t
s_number (const char *s)
{
    if (!s || !*s || strlen (s) > 18)
        return -1;
    int64_t n = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        n = n * 10 + (*p - '0');
    }
    return n;
}

static void
s_view_reset (asp_clock_view_t *v)
{
    memset (v, 0, sizeof *v);
    v->basis = v->approver = -1;
    v->target_ms = v->started_ms = v->due_ms = v->warn_ms = v->level = v->pause_mask = -1;
    v->paused_at_ms = v->paused_total_ms = v->end_ms = v->compensation = v->capped = v->gen = -1;
}

//  Sets v's field named suffix from value (a field outside the scheme is
//  ignored: a newer engine may add some).
static void
s_view_set (asp_clock_view_t *v, const char *suffix, const char *value)
{
    static const struct {
        const char *suffix;
        size_t offset;
    } numbers [] = {
        { ASP_CF_TARGET, offsetof (asp_clock_view_t, target_ms) },
        { ASP_CF_STARTED, offsetof (asp_clock_view_t, started_ms) },
        { ASP_CF_DUE, offsetof (asp_clock_view_t, due_ms) },
        { ASP_CF_WARN, offsetof (asp_clock_view_t, warn_ms) },
        { ASP_CF_LEVEL, offsetof (asp_clock_view_t, level) },
        { ASP_CF_PAUSE_MASK, offsetof (asp_clock_view_t, pause_mask) },
        { ASP_CF_PAUSED_AT, offsetof (asp_clock_view_t, paused_at_ms) },
        { ASP_CF_PAUSED_TOTAL, offsetof (asp_clock_view_t, paused_total_ms) },
        { ASP_CF_END, offsetof (asp_clock_view_t, end_ms) },
        { ASP_CF_COMPENSATION, offsetof (asp_clock_view_t, compensation) },
        { ASP_CF_CAPPED, offsetof (asp_clock_view_t, capped) },
        { ASP_CF_GEN, offsetof (asp_clock_view_t, gen) },
    };
    if (!*suffix) {
        int state = asp_vocab_parse (&asp_vocab_clock_state, value);
        v->started = state >= 0;
        v->state = state >= 0? (asp_clock_state_t) state: ASP_CLOCK_RUNNING;
    }
    else
    if (strcmp (suffix, ASP_CF_POLICY) == 0)
        v->policy = *value? value: NULL;
    else
    if (strcmp (suffix, ASP_CF_CALENDAR) == 0)
        v->calendar = *value? value: NULL;
    else
    if (strcmp (suffix, ASP_CF_BASIS) == 0)
        v->basis = asp_vocab_parse (&asp_vocab_basis, value);
    else
    if (strcmp (suffix, ASP_CF_APPROVER) == 0)
        v->approver = asp_vocab_parse (&asp_vocab_sla_role, value);
    else
        for (size_t i = 0; i < sizeof numbers / sizeof numbers [0]; i++)
            if (strcmp (suffix, numbers [i].suffix) == 0) {
                *(int64_t *) ((char *) v + numbers [i].offset) = s_number (value);
                break;
            }
}

static bool
s_is_str (const redisReply *r)
{
    return r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) && r->str;
}

int
asp_clocks_parse (const redisReply *hgetall, asp_clock_view_t views [ASP_CLOCK_COUNT])
{
    for (int c = 0; c < ASP_CLOCK_COUNT; c++)
        s_view_reset (&views [c]);
    bool pairs = hgetall && hgetall->type == REDIS_REPLY_ARRAY;
#ifdef REDIS_REPLY_MAP
    pairs = pairs || (hgetall && hgetall->type == REDIS_REPLY_MAP);     //  RESP3
#endif
    if (!pairs || !hgetall->element)
        return 0;
    for (size_t i = 0; i + 1 < hgetall->elements; i += 2) {
        const redisReply *k = hgetall->element [i], *v = hgetall->element [i + 1];
        asp_clock_t clock;
        const char *suffix;
        //  A value with a NUL inside is not one the engine wrote.
        if (!s_is_str (k) || !s_is_str (v) || strlen (v->str) != v->len
        ||  asp_clocks_field_parse (k->str, &clock, &suffix))
            continue;
        s_view_set (&views [clock], suffix, v->str);
    }
    int started = 0;
    for (int c = 0; c < ASP_CLOCK_COUNT; c++)
        started += views [c].started;
    return started;
}

static bool
s_stopped (asp_clock_state_t state)
{
    return state == ASP_CLOCK_MET || state == ASP_CLOCK_LATE || state == ASP_CLOCK_CANCELLED;
}

static void
s_num (cJSON *obj, const char *name, int64_t v)
{
    if (v >= 0)
        cJSON_AddNumberToObject (obj, name, (double) v);
}

//  One started clock as the API shows it.
static cJSON *
s_clock_json (asp_clock_t clock, const asp_clock_view_t *v, int64_t now_ms)
{
    cJSON *j = cJSON_CreateObject ();
    bool stopped = s_stopped (v->state);
    bool paused = v->state == ASP_CLOCK_PAUSED;
    cJSON_AddStringToObject (j, "clock", asp_vocab_name (&asp_vocab_clock, (int) clock));
    cJSON_AddStringToObject (j, "state", asp_vocab_name (&asp_vocab_clock_state, (int) v->state));
    if (v->policy)
        cJSON_AddStringToObject (j, "policy", v->policy);
    if (v->basis >= 0)
        cJSON_AddStringToObject (j, "basis", asp_vocab_name (&asp_vocab_basis, v->basis));
    if (v->calendar)
        cJSON_AddStringToObject (j, "calendar", v->calendar);
    s_num (j, "target_ms", v->target_ms);
    s_num (j, "started_ms", v->started_ms);
    s_num (j, "due_ms", v->due_ms);
    s_num (j, "warn_ms", v->warn_ms);
    //  Measured until its stop, or now; a pause still open counts up to
    //  there too (pa is 0 when not paused).
    int64_t until = stopped && v->end_ms >= 0? v->end_ms: now_ms;
    int64_t paused_ms = v->paused_total_ms > 0? v->paused_total_ms: 0;
    if (v->paused_at_ms > 0 && until > v->paused_at_ms)
        paused_ms += until - v->paused_at_ms;
    if (v->started_ms >= 0) {
        int64_t elapsed = until - v->started_ms - paused_ms;
        cJSON_AddNumberToObject (j, "elapsed_ms", (double) (elapsed > 0? elapsed: 0));
    }
    //  A paused clock's remaining time stands still: its due moves by the
    //  pause when it resumes.
    if (!stopped && v->due_ms >= 0) {
        int64_t from = paused && v->paused_at_ms > 0? v->paused_at_ms: now_ms;
        cJSON_AddNumberToObject (j, "remaining_ms", (double) (v->due_ms - from));
    }
    cJSON_AddNumberToObject (j, "paused_ms", (double) paused_ms);
    cJSON_AddBoolToObject (j, "paused", paused);
    int64_t level = v->level > 0? v->level: 0;
    cJSON_AddNumberToObject (j, "level", (double) level);
    cJSON_AddNumberToObject (j, "escalation_step", (double) (level > 2? level - 2: 0));
    cJSON_AddBoolToObject (j, "breached", level >= 2 || v->state == ASP_CLOCK_BREACHED || v->state == ASP_CLOCK_LATE);
    if (stopped)
        s_num (j, "stopped_ms", v->end_ms);
    if (v->compensation >= 0) {
        cJSON *c = cJSON_AddObjectToObject (j, "compensation");
        cJSON_AddNumberToObject (c, "amount", (double) v->compensation);
        if (v->approver >= 0)
            cJSON_AddStringToObject (c, "approver", asp_vocab_name (&asp_vocab_sla_role, v->approver));
        cJSON_AddBoolToObject (c, "capped", v->capped == 1);
    }
    return j;
}

cJSON *
asp_clocks_json (const redisReply *hgetall, int64_t now_ms)
{
    asp_clock_view_t views [ASP_CLOCK_COUNT];
    asp_clocks_parse (hgetall, views);
    cJSON *out = cJSON_CreateArray ();
    for (int c = 0; c < ASP_CLOCK_COUNT; c++)
        if (views [c].started)
            cJSON_AddItemToArray (out, s_clock_json ((asp_clock_t) c, &views [c], now_ms));
    return out;
}

//  --------------------------------------------------------------------------
//  Self-test: hand-made replies, as hiredis would build them.

#define S_TEST_MAX 64

typedef struct {
    redisReply top;
    redisReply items [S_TEST_MAX];
    redisReply *ptrs [S_TEST_MAX];
} s_test_reply_t;

//  An HGETALL reply of the NULL-terminated field, value, ... pairs.
static const redisReply *
s_test_reply (s_test_reply_t *r, const char **kv)
{
    memset (r, 0, sizeof *r);
    size_t n = 0;
    while (kv [n]) {
        assert (n < S_TEST_MAX);
        r->items [n].type = REDIS_REPLY_STRING;
        r->items [n].str = (char *) kv [n];
        r->items [n].len = strlen (kv [n]);
        r->ptrs [n] = &r->items [n];
        n++;
    }
    r->top.type = REDIS_REPLY_ARRAY;
    r->top.elements = n;
    r->top.element = r->ptrs;
    return &r->top;
}

//  The item of clock in the array, or NULL.
static const cJSON *
s_test_find (const cJSON *arr, const char *clock)
{
    const cJSON *i;
    cJSON_ArrayForEach (i, arr)
        if (strcmp (cJSON_GetObjectItem (i, "clock")->valuestring, clock) == 0)
            return i;
    return NULL;
}

static double
s_test_num (const cJSON *obj, const char *name)
{
    const cJSON *n = cJSON_GetObjectItem (obj, name);
    assert (cJSON_IsNumber (n));
    return n->valuedouble;
}

static bool
s_test_true (const cJSON *obj, const char *name)
{
    return cJSON_IsTrue (cJSON_GetObjectItem (obj, name));
}

void
asp_clocks_test (void)
{
    char f [ASP_CLOCKS_FIELD_MAX];
    assert (strcmp (asp_clocks_field (f, ASP_CLOCK_RESOLUTION, ASP_CF_DUE), "resolution:due") == 0);
    assert (strcmp (asp_clocks_field (f, ASP_CLOCK_FIRST_RESPONSE, ASP_CF_STATE), "first_response") == 0);
    assert (strcmp (asp_clocks_field (f, ASP_CLOCK_CALLBACK, NULL), "callback") == 0);
    //  Every field name of every clock fits, and reads back.
    const char *suffixes [] = { ASP_CF_POLICY, ASP_CF_BASIS, ASP_CF_CALENDAR, ASP_CF_TARGET, ASP_CF_STARTED,
        ASP_CF_DUE, ASP_CF_WARN, ASP_CF_PHASES, ASP_CF_NEXT, ASP_CF_LEVEL, ASP_CF_PAUSE_MASK, ASP_CF_PAUSED_AT,
        ASP_CF_PAUSED_TOTAL, ASP_CF_END, ASP_CF_COMPENSATION, ASP_CF_APPROVER, ASP_CF_CAPPED, ASP_CF_GEN, NULL };
    for (int c = 0; c < ASP_CLOCK_COUNT; c++)
        for (int s = 0; suffixes [s]; s++) {
            asp_clocks_field (f, (asp_clock_t) c, suffixes [s]);
            assert (strlen (f) + 1 < ASP_CLOCKS_FIELD_MAX);
            asp_clock_t back;
            const char *suffix;
            assert (asp_clocks_field_parse (f, &back, &suffix) == 0 && (int) back == c);
            assert (strcmp (suffix, suffixes [s]) == 0);
        }
    asp_clock_t clock;
    const char *suffix;
    assert (asp_clocks_field_parse (ASP_CLOCKS_PRICE, &clock, &suffix) == -1);
    assert (asp_clocks_field_parse (ASP_CLOCKS_WAIT_CUSTOMER, &clock, &suffix) == -1);
    assert (asp_clocks_field_parse (":due", &clock, &suffix) == -1);

    int64_t now = 1800000000000LL;
    s_test_reply_t r;
    const char *running [] = {
        ASP_CLOCKS_PRICE, "129900", ASP_CLOCKS_REGION, "north", ASP_CLOCKS_POLICY, "standard",
        "first_response", "running", "first_response:pol", "standard", "first_response:bs", "calendar",
        "first_response:cal", "cn-24x7", "first_response:tg", "14400000",
        "first_response:st", "1799999000000", "first_response:due", "1800013400000",
        "first_response:wn", "1800010520000", "first_response:lv", "0", "first_response:pa", "0",
        "first_response:ps", "0", "first_response:ph", "1800010520000,1800013400000", "first_response:nx", "0",
        "first_response:gen", "1", NULL };
    cJSON *j = asp_clocks_json (s_test_reply (&r, running), now);
    assert (cJSON_GetArraySize (j) == 1);
    const cJSON *c = s_test_find (j, "first_response");
    assert (strcmp (cJSON_GetObjectItem (c, "state")->valuestring, "running") == 0);
    assert (strcmp (cJSON_GetObjectItem (c, "policy")->valuestring, "standard") == 0);
    assert (strcmp (cJSON_GetObjectItem (c, "basis")->valuestring, "calendar") == 0);
    assert (strcmp (cJSON_GetObjectItem (c, "calendar")->valuestring, "cn-24x7") == 0);
    assert (s_test_num (c, "target_ms") == 14400000 && s_test_num (c, "elapsed_ms") == 1000000);
    assert (s_test_num (c, "remaining_ms") == 13400000 && s_test_num (c, "paused_ms") == 0);
    assert (s_test_num (c, "warn_ms") == 1800010520000.0 && s_test_num (c, "level") == 0);
    assert (!s_test_true (c, "paused") && !s_test_true (c, "breached"));
    assert (!cJSON_GetObjectItem (c, "stopped_ms") && !cJSON_GetObjectItem (c, "compensation"));
    cJSON_Delete (j);

    //  Paused for 10 minutes after 5 minutes paused before: the remaining
    //  time stands still at the pause.
    const char *paused [] = {
        "resolution", "paused", "resolution:bs", "business", "resolution:st", "1799990000000",
        "resolution:due", "1800050000000", "resolution:pa", "1799999400000", "resolution:ps", "300000",
        "resolution:pm", "1", "resolution:lv", "1", NULL };
    j = asp_clocks_json (s_test_reply (&r, paused), now);
    c = s_test_find (j, "resolution");
    assert (c && s_test_true (c, "paused") && s_test_num (c, "paused_ms") == 900000);
    assert (s_test_num (c, "elapsed_ms") == 10000000 - 900000);
    assert (s_test_num (c, "remaining_ms") == 50600000 && s_test_num (c, "level") == 1);
    assert (!s_test_true (c, "breached") && !cJSON_GetObjectItem (c, "policy"));
    cJSON_Delete (j);

    //  Breached, then the second step of its ladder: overdue is negative.
    const char *escalated [] = {
        "onsite_arrival", "breached", "onsite_arrival:st", "1799900000000", "onsite_arrival:due", "1799990000000",
        "onsite_arrival:lv", "4", "onsite_arrival:pa", "0", NULL };
    j = asp_clocks_json (s_test_reply (&r, escalated), now);
    c = s_test_find (j, "onsite_arrival");
    assert (c && s_test_true (c, "breached") && s_test_num (c, "level") == 4);
    assert (s_test_num (c, "escalation_step") == 2 && s_test_num (c, "remaining_ms") == -10000000);
    cJSON_Delete (j);

    //  Met: measured until its stop, no remaining time; late with its
    //  compensation; a clock stopped while paused counts that pause.
    const char *stopped [] = {
        "first_response", "met", "first_response:st", "1799000000000", "first_response:due", "1799100000000",
        "first_response:end", "1799050000000", "first_response:lv", "1",
        "onsite_arrival", "late", "onsite_arrival:st", "1799000000000", "onsite_arrival:due", "1799100000000",
        "onsite_arrival:end", "1799200000000", "onsite_arrival:lv", "3", "onsite_arrival:cmp", "3000",
        "onsite_arrival:apr", "supervisor", "onsite_arrival:cap", "1",
        "callback", "cancelled", "callback:st", "1799000000000", "callback:pa", "1799400000000",
        "callback:end", "1799500000000", "callback:ps", "0", NULL };
    j = asp_clocks_json (s_test_reply (&r, stopped), now);
    assert (cJSON_GetArraySize (j) == 3);
    c = s_test_find (j, "first_response");
    assert (s_test_num (c, "elapsed_ms") == 50000000 && s_test_num (c, "stopped_ms") == 1799050000000.0);
    assert (!cJSON_GetObjectItem (c, "remaining_ms") && !s_test_true (c, "breached"));
    c = s_test_find (j, "onsite_arrival");
    assert (s_test_true (c, "breached") && s_test_num (c, "escalation_step") == 1);
    const cJSON *comp = cJSON_GetObjectItem (c, "compensation");
    assert (comp && s_test_num (comp, "amount") == 3000 && s_test_true (comp, "capped"));
    assert (strcmp (cJSON_GetObjectItem (comp, "approver")->valuestring, "supervisor") == 0);
    c = s_test_find (j, "callback");
    assert (s_test_num (c, "paused_ms") == 100000000 && s_test_num (c, "elapsed_ms") == 400000000);
    assert (!s_test_true (c, "paused"));
    //  The clocks come in the vocabulary's order.
    assert (strcmp (cJSON_GetArrayItem (j, 0)->child->valuestring, "first_response") == 0);
    assert (strcmp (cJSON_GetArrayItem (j, 2)->child->valuestring, "callback") == 0);
    cJSON_Delete (j);

    //  Garbage: unknown clocks and states, numbers that are not, a clock
    //  with fields but no state (never started), values with a NUL, an
    //  unknown basis: skipped or shown as absent, never a crash.
    const char *garbage [] = {
        "response", "running", "resolution", "stopped", "resolution:due", "1",
        "first_response:due", "1800000000000", "return_visit", "running", "return_visit:st", "-5",
        "return_visit:due", "12ab", "return_visit:bs", "lunar", "return_visit:lv", "99999999999999999999",
        "return_visit:cmp", "", "return_visit:apr", "king", "callback", "met", "callback:end", "1e3",
        "", "", ":", "x", "complaint_answer:", "running", NULL };
    j = asp_clocks_json (s_test_reply (&r, garbage), now);
    assert (cJSON_GetArraySize (j) == 2);
    c = s_test_find (j, "return_visit");
    assert (c && !cJSON_GetObjectItem (c, "started_ms") && !cJSON_GetObjectItem (c, "due_ms"));
    assert (!cJSON_GetObjectItem (c, "basis") && !cJSON_GetObjectItem (c, "elapsed_ms"));
    assert (!cJSON_GetObjectItem (c, "remaining_ms") && !cJSON_GetObjectItem (c, "compensation"));
    assert (s_test_num (c, "level") == 0);
    c = s_test_find (j, "callback");
    assert (c && !cJSON_GetObjectItem (c, "stopped_ms"));
    cJSON_Delete (j);
    const char *nul [] = { "first_response", "running", NULL };
    s_test_reply (&r, nul);
    r.items [1].len = 9;            //  "running", a NUL and a tail
    j = asp_clocks_json (&r.top, now);
    assert (cJSON_GetArraySize (j) == 0);
    cJSON_Delete (j);
    //  An odd count, a non-string element, an error, no reply at all.
    const char *odd [] = { "first_response", "running", "callback", NULL };
    j = asp_clocks_json (s_test_reply (&r, odd), now);
    assert (cJSON_GetArraySize (j) == 1);
    cJSON_Delete (j);
    s_test_reply (&r, running);
    r.items [7].type = REDIS_REPLY_INTEGER;
    r.items [7].str = NULL;
    j = asp_clocks_json (&r.top, now);
    assert (cJSON_GetArraySize (j) == 0);
    cJSON_Delete (j);
    redisReply err = { .type = REDIS_REPLY_ERROR, .str = (char *) "ERR", .len = 3 };
    j = asp_clocks_json (&err, now);
    assert (cJSON_IsArray (j) && cJSON_GetArraySize (j) == 0);
    cJSON_Delete (j);
    j = asp_clocks_json (NULL, now);
    assert (cJSON_IsArray (j) && cJSON_GetArraySize (j) == 0);
    cJSON_Delete (j);
    printf ("asp_clocks_test: ok\n");
}
