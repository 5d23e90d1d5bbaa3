/*  asp-ctl: operations on the platform through intake's HTTP API, for ops
    at a shell and for scripts (README, Operations).

        asp-ctl [--url URL] [--token TOKEN] [--json] dead-letters [--limit N] [--offset N] [--ticket T]
        asp-ctl [--url URL] [--token TOKEN] [--json] replay ID... | --all [--ticket T]

    URL and TOKEN default to ASP_INTAKE_URL (http://127.0.0.1:8080) and
    ASP_TOKEN. dead-letters prints a table (newest first) or, with --json,
    intake's answer as it came. replay asks for each id (202: notification
    sends it again under the same id); --all lists the dead letters first
    (of one ticket with --ticket) and replays every one listed.

    Exit status, for scripts: 0 everything done; 1 the API refused a
    request (an id unknown, not a dead letter, malformed: the rest were
    still tried); 2 usage; 3 the token was refused (401/403); 4 intake was
    unreachable or failing (5xx, an answer that is not JSON).          */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { EXIT_OK = 0, EXIT_REFUSED = 1, EXIT_USAGE = 2, EXIT_AUTH = 3, EXIT_DOWN = 4 };

#define S_PAGE 200              //  intake's largest page (INTAKE_NOTIFY_LIMIT_MAX)
#define S_BODY_MAX (16 << 20)   //  never buffer more than this of an answer

typedef struct {
    const char *url;
    const char *token;
    bool json;
} s_ctx_t;

typedef struct {
    char *data;
    size_t len;
} s_buf_t;

static size_t
s_write (char *ptr, size_t size, size_t nmemb, void *arg)
{
    s_buf_t *b = (s_buf_t *) arg;
    size_t n = size * nmemb;
    if (b->len + n > S_BODY_MAX)
        return 0;                   //  curl fails the transfer
    char *grown = (char *) realloc (b->data, b->len + n + 1);
    if (!grown)
        return 0;
    b->data = grown;
    memcpy (b->data + b->len, ptr, n);
    b->len += n;
    b->data [b->len] = 0;
    return n;
}

//  One request: the status (0 when intake could not be reached) and the
//  body parsed (NULL when it was not JSON); *raw the body as text.
static long
s_call (const s_ctx_t *ctx, const char *method, const char *path, cJSON **json, char **raw)
{
    *json = NULL;
    *raw = NULL;
    CURL *curl = curl_easy_init ();
    if (!curl)
        return 0;
    char url [2048], auth [1024];
    snprintf (url, sizeof url, "%s%s", ctx->url, path);
    struct curl_slist *headers = NULL;
    if (ctx->token && *ctx->token) {
        snprintf (auth, sizeof auth, "Authorization: Bearer %s", ctx->token);
        headers = curl_slist_append (headers, auth);
    }
    s_buf_t body = { NULL, 0 };
    curl_easy_setopt (curl, CURLOPT_URL, url);
    curl_easy_setopt (curl, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp (method, "POST") == 0)
        curl_easy_setopt (curl, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt (curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, s_write);
    curl_easy_setopt (curl, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt (curl, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt (curl, CURLOPT_NOSIGNAL, 1L);
    long status = 0;
    CURLcode rc = curl_easy_perform (curl);
    if (rc == CURLE_OK)
        curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &status);
    else
        fprintf (stderr, "asp-ctl: %s %s: %s\n", method, url, curl_easy_strerror (rc));
    curl_slist_free_all (headers);
    curl_easy_cleanup (curl);
    if (body.data)
        *json = cJSON_Parse (body.data);
    *raw = body.data;
    return status;
}

//  The exit status an answer means; prints why to stderr when not 2xx.
static int
s_verdict (long status, const cJSON *json, const char *what)
{
    if (status >= 200 && status < 300)
        return json? EXIT_OK: EXIT_DOWN;
    if (status == 0)
        return EXIT_DOWN;
    const cJSON *err = cJSON_GetObjectItem (json, "error");
    const char *code = cJSON_GetStringValue (cJSON_GetObjectItem (err, "code"));
    const char *message = cJSON_GetStringValue (cJSON_GetObjectItem (err, "message"));
    fprintf (stderr, "asp-ctl: %s: %ld %s: %s\n", what, status, code? code: "?", message? message: "");
    return status == 401 || status == 403? EXIT_AUTH: status >= 500? EXIT_DOWN: EXIT_REFUSED;
}

static int64_t
s_int (const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItem (o, name);
    return cJSON_IsNumber (v)? (int64_t) v->valuedouble: 0;
}

static const char *
s_str (const cJSON *o, const char *name)
{
    const char *s = cJSON_GetStringValue (cJSON_GetObjectItem (o, name));
    return s? s: "";
}

//  GET one page of dead letters; the answer in *page (caller deletes).
static int
s_page (const s_ctx_t *ctx, int64_t limit, int64_t offset, const char *ticket, cJSON **page, char **raw)
{
    char path [512];
    snprintf (path, sizeof path, "/v1/notifications/dead?limit=%lld&offset=%lld%s%s", (long long) limit,
              (long long) offset, ticket? "&ticket=": "", ticket? ticket: "");
    long status = s_call (ctx, "GET", path, page, raw);
    int rc = s_verdict (status, *page, "list dead letters");
    if (rc == EXIT_OK && !cJSON_IsArray (cJSON_GetObjectItem (*page, "items")))
        rc = EXIT_DOWN;
    return rc;
}

static void
s_table (const cJSON *page)
{
    const cJSON *items = cJSON_GetObjectItem (page, "items");
    printf ("%-25s  %-21s  %-18s  %-7s  %-16s  %8s  %-20s  %s\n", "ID", "TICKET", "TEMPLATE", "CHANNEL", "TO",
            "ATTEMPTS", "DEAD (UTC)", "LAST ERROR");
    const cJSON *it;
    cJSON_ArrayForEach (it, items) {
        time_t t = (time_t) (s_int (it, "dead_ms") / 1000);
        struct tm tm;
        char when [32];
        gmtime_r (&t, &tm);
        strftime (when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
        printf ("%-25s  %-21s  %-18s  %-7s  %-16s  %8lld  %-20s  %s\n", s_str (it, "id"), s_str (it, "ticket_id"),
                s_str (it, "template"), s_str (it, "channel"), *s_str (it, "to")? s_str (it, "to"): "-",
                (long long) s_int (it, "attempts"), when, s_str (it, "last_error"));
    }
    printf ("%d of %lld dead letter(s)\n", cJSON_GetArraySize (items), (long long) s_int (page, "count"));
}

static int
s_dead_letters (const s_ctx_t *ctx, int64_t limit, int64_t offset, const char *ticket)
{
    cJSON *page;
    char *raw;
    int rc = s_page (ctx, limit, offset, ticket, &page, &raw);
    if (rc == EXIT_OK) {
        if (ctx->json)
            printf ("%s\n", raw);
        else
            s_table (page);
    }
    cJSON_Delete (page);
    free (raw);
    return rc;
}

//  Replays one id; prints what happened.
static int
s_replay_one (const s_ctx_t *ctx, const char *id)
{
    char path [256];
    //  An id with characters a path cannot carry is refused by intake as
    //  not found; escape nothing, send nothing odd.
    for (const char *p = id; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')
              || *p == '.' || *p == '_' || *p == ':' || *p == '-') || p - id > 100) {
            fprintf (stderr, "asp-ctl: replay %.100s: not a notification id\n", id);
            return EXIT_REFUSED;
        }
    snprintf (path, sizeof path, "/v1/notifications/%s/replay", id);
    cJSON *json;
    char *raw;
    long status = s_call (ctx, "POST", path, &json, &raw);
    char what [160];
    snprintf (what, sizeof what, "replay %s", id);
    int rc = s_verdict (status, json, what);
    if (rc == EXIT_OK) {
        if (ctx->json)
            printf ("%s\n", raw);
        else
            printf ("%s: replay requested (ticket %s)\n", id, s_str (json, "ticket_id"));
    }
    cJSON_Delete (json);
    free (raw);
    return rc;
}

//  The worse of two exit statuses: down and auth beat a refusal.
static int
s_worse (int a, int b)
{
    return a > b? a: b;
}

static int
s_replay_all (const s_ctx_t *ctx, const char *ticket)
{
    //  Every id first: replayed ones leave the list as notification
    //  applies them, which would shift later pages.
    size_t n = 0, cap = 0;
    char **ids = NULL;
    int rc = EXIT_OK;
    for (int64_t offset = 0;; offset += S_PAGE) {
        cJSON *page;
        char *raw;
        rc = s_page (ctx, S_PAGE, offset, ticket, &page, &raw);
        free (raw);
        const cJSON *items = rc == EXIT_OK? cJSON_GetObjectItem (page, "items"): NULL;
        int got = items? cJSON_GetArraySize (items): 0;
        const cJSON *it;
        cJSON_ArrayForEach (it, items) {
            if (n == cap) {
                cap = cap? 2 * cap: 64;
                ids = (char **) realloc (ids, cap * sizeof *ids);
                if (!ids)
                    abort ();
            }
            ids [n++] = strdup (s_str (it, "id"));
        }
        cJSON_Delete (page);
        if (rc != EXIT_OK || got < S_PAGE || offset + S_PAGE > 10000)
            break;
    }
    int worst = rc;
    for (size_t i = 0; rc == EXIT_OK && i < n; i++)
        worst = s_worse (worst, s_replay_one (ctx, ids [i]));
    if (rc == EXIT_OK && !ctx->json)
        printf ("%zu replay(s) requested\n", n);
    for (size_t i = 0; i < n; i++)
        free (ids [i]);
    free (ids);
    return worst;
}

static int
s_usage (void)
{
    fprintf (stderr,
        "usage: asp-ctl [--url URL] [--token TOKEN] [--json] dead-letters [--limit N] [--offset N] [--ticket T]\n"
        "       asp-ctl [--url URL] [--token TOKEN] [--json] replay ID... | --all [--ticket T]\n"
        "URL: ASP_INTAKE_URL (http://127.0.0.1:8080); TOKEN: ASP_TOKEN.\n"
        "Exit: 0 done, 1 refused, 2 usage, 3 token refused, 4 intake unreachable or failing.\n");
    return EXIT_USAGE;
}

//  A count option's value in lo..hi; false when malformed.
static bool
s_count (const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    char *end;
    long long v = s? strtoll (s, &end, 10): 0;
    if (!s || !*s || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

int
main (int argc, char *argv [])
{
    const char *env_url = getenv ("ASP_INTAKE_URL");
    s_ctx_t ctx = { env_url && *env_url? env_url: "http://127.0.0.1:8080", getenv ("ASP_TOKEN"), false };
    int i = 1;
    for (; i < argc && strncmp (argv [i], "--", 2) == 0; i++) {
        if (strcmp (argv [i], "--url") == 0 && i + 1 < argc)
            ctx.url = argv [++i];
        else
        if (strcmp (argv [i], "--token") == 0 && i + 1 < argc)
            ctx.token = argv [++i];
        else
        if (strcmp (argv [i], "--json") == 0)
            ctx.json = true;
        else
        if (strcmp (argv [i], "--help") == 0) {
            s_usage ();
            return EXIT_OK;
        }
        else
            return s_usage ();
    }
    if (i >= argc)
        return s_usage ();
    const char *cmd = argv [i++];
    int64_t limit = 50, offset = 0;
    const char *ticket = NULL;
    bool all = false;
    int first_id = argc;
    for (; i < argc; i++) {
        if (strcmp (argv [i], "--limit") == 0 && i + 1 < argc) {
            if (!s_count (argv [++i], 1, S_PAGE, &limit))
                return s_usage ();
        }
        else
        if (strcmp (argv [i], "--offset") == 0 && i + 1 < argc) {
            if (!s_count (argv [++i], 0, 10000, &offset))
                return s_usage ();
        }
        else
        if (strcmp (argv [i], "--ticket") == 0 && i + 1 < argc)
            ticket = argv [++i];
        else
        if (strcmp (argv [i], "--all") == 0)
            all = true;
        else
        if (strcmp (argv [i], "--json") == 0)
            ctx.json = true;
        else
        if (argv [i][0] == '-')
            return s_usage ();
        else
        if (first_id == argc)
            first_id = i;
    }
    if (ticket)
        for (const char *p = ticket; *p; p++)
            if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')
                  || *p == '.' || *p == '_' || *p == ':' || *p == '-'))
                return s_usage ();
    curl_global_init (CURL_GLOBAL_DEFAULT);
    int rc;
    if (strcmp (cmd, "dead-letters") == 0 && first_id == argc && !all)
        rc = s_dead_letters (&ctx, limit, offset, ticket);
    else
    if (strcmp (cmd, "replay") == 0 && all && first_id == argc)
        rc = s_replay_all (&ctx, ticket);
    else
    if (strcmp (cmd, "replay") == 0 && !all && !ticket && first_id < argc) {
        rc = EXIT_OK;
        for (int j = first_id; j < argc; j++)
            if (argv [j][0] != '-')
                rc = s_worse (rc, s_replay_one (&ctx, argv [j]));
    }
    else
        rc = s_usage ();
    curl_global_cleanup ();
    return rc;
}
