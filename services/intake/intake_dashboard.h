/*  intake_dashboard: serves the ops dashboard's static files (web/dashboard/)
    under /dashboard/.

    The page holds no data: every API call it makes carries the user's
    token, so the files themselves are open (no token). Only regular files
    inside the folder are served, never a listing: a path is a series of
    plain names ([A-Za-z0-9_-], dots inside a name only), and what it
    resolves to (symlinks followed) must still be inside the folder. Every
    answer, errors included, says nosniff and carries a strict
    Content-Security-Policy (scripts and styles from this origin only, no
    inline script). Vendored files (vendor/) are cached for a year (their
    names change with their versions); the page and its own modules are
    revalidated every time (no-cache).                                      */
#ifndef INTAKE_DASHBOARD_H
#define INTAKE_DASHBOARD_H
#include "asp_httpd.h"
#include <stdbool.h>

typedef struct intake_dashboard_t intake_dashboard_t;

//  Serves dir (NULL: ASP_DASHBOARD_DIR, else the source tree's
//  web/dashboard, compiled in). A folder that is not there is logged once
//  and every file is then a 404: the API works without the page.
intake_dashboard_t *intake_dashboard_new (const char *dir);
void intake_dashboard_destroy (intake_dashboard_t **self_p);

//  True when url is the dashboard's: "/dashboard" or below "/dashboard/".
bool intake_dashboard_owns (const char *url);
//  Answers a request intake_dashboard_owns: the file, a redirect from
//  "/dashboard" to "/dashboard/", or a JSON 404/405. Thread-safe (reads
//  only its settings).
void intake_dashboard_handle (const intake_dashboard_t *self, const asp_http_req_t *req, asp_http_res_t *res);

void intake_dashboard_test (void);
#endif
