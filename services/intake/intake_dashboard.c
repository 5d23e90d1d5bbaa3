#include "intake_dashboard.h"
#include "asp_config.h"
#include "asp_log.h"
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef ASP_DASHBOARD_SOURCE
#define ASP_DASHBOARD_SOURCE "web/dashboard"
#endif
#define S_PREFIX "/dashboard/"
#define S_PREFIX_LEN (sizeof S_PREFIX - 1)
//  The largest file served: the vendored libraries are tens of kB, the
//  screenshots are not served from here.
#define S_FILE_MAX (4 * 1024 * 1024)
#define S_NAME_MAX 128

struct intake_dashboard_t {
    char root [PATH_MAX];       //  the folder, resolved; "" when missing
};

//  Scripts, styles, fetches and images from this origin only (data: for
//  the charts' exported images); nothing inline, no plugins, no framing.
#define S_CSP "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " \
              "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; " \
              "form-action 'self'; frame-ancestors 'none'"
#define S_SECURITY "X-Content-Type-Options", "nosniff", "Content-Security-Policy", S_CSP, \
                   "Referrer-Policy", "no-referrer", "X-Frame-Options", "DENY"

static const char *const s_hdr_page [] = { "Cache-Control", "no-cache", S_SECURITY, NULL };
static const char *const s_hdr_vendor [] = { "Cache-Control", "public, max-age=31536000, immutable",
                                              S_SECURITY, NULL };
static const char *const s_hdr_error [] = { "Cache-Control", "no-store", S_SECURITY, NULL };
static const char *const s_hdr_405 [] = { "Cache-Control", "no-store", "Allow", "GET, HEAD", S_SECURITY, NULL };

static const struct {
    const char *ext;
    const char *type;
} s_types [] = {
    { ".html", "text/html; charset=utf-8" },
    { ".js", "text/javascript; charset=utf-8" },
    { ".mjs", "text/javascript; charset=utf-8" },
    { ".css", "text/css; charset=utf-8" },
    { ".json", "application/json" },
    { ".svg", "image/svg+xml" },
    { ".png", "image/png" },
    { ".ico", "image/x-icon" },
    { ".woff2", "font/woff2" },
    { ".txt", "text/plain; charset=utf-8" },
    { ".md", "text/plain; charset=utf-8" },
};

intake_dashboard_t *
intake_dashboard_new (const char *dir)
{
    intake_dashboard_t *self = (intake_dashboard_t *) calloc (1, sizeof *self);
    assert (self);
    if (!dir)
        dir = asp_cfg_str ("ASP_DASHBOARD_DIR", ASP_DASHBOARD_SOURCE);
    struct stat st;
    if (!realpath (dir, self->root) || stat (self->root, &st) != 0 || !S_ISDIR (st.st_mode)) {
        asp_log_warn ("dashboard: no folder '%.200s' (ASP_DASHBOARD_DIR): /dashboard/ answers 404", dir);
        self->root [0] = 0;
    }
    return self;
}

void
intake_dashboard_destroy (intake_dashboard_t **self_p)
{
    free (*self_p);
    *self_p = NULL;
}

bool
intake_dashboard_owns (const char *url)
{
    return strcmp (url, "/dashboard") == 0 || strncmp (url, S_PREFIX, S_PREFIX_LEN) == 0;
}

//  A relative path of plain names: [A-Za-z0-9_-] and dots inside a name
//  (never first, so no "..", no hidden files), one '/' between names. The
//  URL arrives percent-decoded, so "%2e%2e" and "%2f" are checked here as
//  the dots and slashes they became.
static bool
s_path_ok (const char *rel)
{
    size_t name = 0;
    if (!*rel)
        return false;
    for (const char *p = rel; ; p++) {
        char c = *p;
        if (c == '/' || c == 0) {
            if (name == 0 || p [-1] == '.')
                return false;
            if (c == 0)
                return true;
            name = 0;
        }
        else
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'
            || (c == '.' && name > 0)) {
            if (++name > S_NAME_MAX)
                return false;
        }
        else
            return false;
    }
}

static const char *
s_type (const char *rel)
{
    const char *dot = strrchr (rel, '.');
    for (size_t i = 0; dot && i < sizeof s_types / sizeof s_types [0]; i++)
        if (strcmp (dot, s_types [i].ext) == 0)
            return s_types [i].type;
    return NULL;
}

static void
s_not_found (asp_http_res_t *res, const char *url)
{
    asp_http_error (res, 404, "not_found", "no such dashboard file: %.100s", url);
    res->headers = s_hdr_error;
}

//  Reads the regular file rel below the root into res; false when it is
//  not one (missing, a folder, a link out of the root, too large).
static bool
s_read (const intake_dashboard_t *self, const char *rel, asp_http_res_t *res)
{
    char path [PATH_MAX], real [PATH_MAX];
    size_t root_len = strlen (self->root);
    if (!root_len || snprintf (path, sizeof path, "%s/%s", self->root, rel) >= (int) sizeof path)
        return false;
    //  Symlinks inside the folder are fine (a packaged tree may link its
    //  vendor files); what they lead to must stay inside.
    if (!realpath (path, real) || strncmp (real, self->root, root_len) != 0 || real [root_len] != '/')
        return false;
    int fd = open (real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return false;
    struct stat st;
    char *body = NULL;
    bool ok = fstat (fd, &st) == 0 && S_ISREG (st.st_mode) && st.st_size <= S_FILE_MAX;
    if (ok) {
        body = (char *) malloc ((size_t) st.st_size + 1);
        ok = body != NULL;
    }
    size_t got = 0;
    while (ok && got < (size_t) st.st_size) {
        ssize_t n = read (fd, body + got, (size_t) st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        ok = n > 0;
        if (ok)
            got += (size_t) n;
    }
    close (fd);
    if (!ok) {
        free (body);
        return false;
    }
    body [got] = 0;
    free (res->body);
    res->status = 200;
    res->body = body;
    res->body_len = got;
    return true;
}

void
intake_dashboard_handle (const intake_dashboard_t *self, const asp_http_req_t *req, asp_http_res_t *res)
{
    if (strcmp (req->method, "GET") != 0 && strcmp (req->method, "HEAD") != 0) {
        asp_http_error (res, 405, "method_not_allowed", "%s is not allowed on %.100s", req->method, req->url);
        res->headers = s_hdr_405;
        return;
    }
    if (strcmp (req->url, "/dashboard") == 0) {
        //  Relative URLs in the page (./app.js) need the trailing slash.
        asp_http_error (res, 301, "moved", "the dashboard is at " S_PREFIX);
        snprintf (res->location, sizeof res->location, "%s", S_PREFIX);
        res->headers = s_hdr_error;
        return;
    }
    const char *rel = req->url + S_PREFIX_LEN;
    if (!*rel)
        rel = "index.html";
    const char *type = s_type (rel);
    if (!s_path_ok (rel) || !type || !s_read (self, rel, res)) {
        s_not_found (res, req->url);
        return;
    }
    res->content_type = type;
    res->headers = strncmp (rel, "vendor/", 7) == 0? s_hdr_vendor: s_hdr_page;
}

//  ---------------------------------------------------------------------
//  Self-test

static void
s_write (const char *dir, const char *name, const char *text)
{
    char path [PATH_MAX];
    snprintf (path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen (path, "w");
    assert (f);
    fputs (text, f);
    fclose (f);
}

static int
s_get (const intake_dashboard_t *self, const char *method, const char *url, asp_http_res_t *res)
{
    free (res->body);
    memset (res, 0, sizeof *res);
    asp_http_req_t req = { method, url, "", 0, NULL, NULL, NULL };
    intake_dashboard_handle (self, &req, res);
    //  Every answer says nosniff and carries the policy.
    bool nosniff = false, csp = false;
    for (const char *const *h = res->headers; h && h [0]; h += 2) {
        nosniff |= strcmp (h [0], "X-Content-Type-Options") == 0 && strcmp (h [1], "nosniff") == 0;
        csp |= strcmp (h [0], "Content-Security-Policy") == 0 && strstr (h [1], "default-src 'self'");
    }
    assert (nosniff && csp);
    return res->status;
}

static const char *
s_header (const asp_http_res_t *res, const char *name)
{
    for (const char *const *h = res->headers; h && h [0]; h += 2)
        if (strcmp (h [0], name) == 0)
            return h [1];
    return NULL;
}

void
intake_dashboard_test (void)
{
    assert (s_path_ok ("index.html") && s_path_ok ("vendor/preact.mjs") && s_path_ok ("a-b_c.1.js"));
    const char *bad [] = { "", "..", ".", "../x", "a/../b", "a//b", "/etc/passwd", ".hidden", "a/.b",
                           "a/", "a.", "a\\b", "a b", "a%2e", "vendor/", "x:y", "\xe4\xb8\xad" };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++)
        assert (!s_path_ok (bad [i]));
    assert (intake_dashboard_owns ("/dashboard") && intake_dashboard_owns ("/dashboard/x.js"));
    assert (!intake_dashboard_owns ("/dashboards") && !intake_dashboard_owns ("/v1/tickets"));

    char top [] = "/tmp/asp-dashboard-XXXXXX";
    assert (mkdtemp (top));
    char dir [64], path [PATH_MAX];
    snprintf (dir, sizeof dir, "%s/web", top);
    assert (mkdir (dir, 0700) == 0);
    snprintf (path, sizeof path, "%s/vendor", dir);
    assert (mkdir (path, 0700) == 0);
    snprintf (path, sizeof path, "%s/sub.js", dir);
    assert (mkdir (path, 0700) == 0);       //  a folder with a file's name
    s_write (dir, "index.html", "<html></html>");
    s_write (dir, "vendor/lib.mjs", "export {}");
    s_write (top, "secret.js", "secret");
    snprintf (path, sizeof path, "%s/out.js", dir);
    assert (symlink ("../secret.js", path) == 0);
    snprintf (path, sizeof path, "%s/in.js", dir);
    assert (symlink ("vendor/lib.mjs", path) == 0);

    intake_dashboard_t *self = intake_dashboard_new (dir);
    asp_http_res_t res = { 0 };
    assert (s_get (self, "GET", "/dashboard/", &res) == 200);
    assert (strcmp (res.body, "<html></html>") == 0 && strstr (res.content_type, "text/html"));
    assert (strcmp (s_header (&res, "Cache-Control"), "no-cache") == 0);
    assert (s_get (self, "HEAD", "/dashboard/index.html", &res) == 200);
    assert (s_get (self, "GET", "/dashboard/vendor/lib.mjs", &res) == 200);
    assert (strstr (res.content_type, "text/javascript") && strstr (s_header (&res, "Cache-Control"), "max-age"));
    assert (s_get (self, "GET", "/dashboard/in.js", &res) == 200);     //  a link that stays inside
    assert (s_get (self, "GET", "/dashboard", &res) == 301 && strcmp (res.location, "/dashboard/") == 0);
    const char *refused [] = { "/dashboard/out.js", "/dashboard/sub.js", "/dashboard/vendor/",
                               "/dashboard/../secret.js", "/dashboard/vendor/../../secret.js",
                               "/dashboard//etc/passwd", "/dashboard/missing.js", "/dashboard/index.htm" };
    for (size_t i = 0; i < sizeof refused / sizeof refused [0]; i++) {
        assert (s_get (self, "GET", refused [i], &res) == 404);
        assert (strstr (res.body, "\"not_found\"") && strcmp (res.content_type, "application/json") == 0);
    }
    assert (s_get (self, "POST", "/dashboard/", &res) == 405 && strcmp (s_header (&res, "Allow"), "GET, HEAD") == 0);
    intake_dashboard_destroy (&self);
    assert (!self);

    //  A missing folder: every file is a 404.
    self = intake_dashboard_new ("/nonexistent/asp-dashboard");
    assert (s_get (self, "GET", "/dashboard/", &res) == 404);
    intake_dashboard_destroy (&self);
    free (res.body);

    const char *names [] = { "out.js", "in.js", "vendor/lib.mjs", "index.html" };
    for (size_t i = 0; i < sizeof names / sizeof names [0]; i++) {
        snprintf (path, sizeof path, "%s/%s", dir, names [i]);
        unlink (path);
    }
    snprintf (path, sizeof path, "%s/secret.js", top), unlink (path);
    snprintf (path, sizeof path, "%s/vendor", dir), rmdir (path);
    snprintf (path, sizeof path, "%s/sub.js", dir), rmdir (path);
    rmdir (dir);
    rmdir (top);
}
