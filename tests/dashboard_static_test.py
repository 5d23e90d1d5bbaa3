#!/usr/bin/python3
"""intake serves the dashboard's static files, and nothing else, under
/dashboard/ (services/intake/intake_dashboard.c).

Over real HTTP against intake with tokens on: the page and its files are
open (no token); every answer, errors included, says nosniff and carries a
Content-Security-Policy that admits scripts from this origin only; the
page is revalidated (no-cache), vendored files are cached long; content
types are right; no listing of a folder; and no path gets out of the
folder: "..", "%2e%2e", encoded slashes, a NUL, absolute paths, a symlink
that leads out. Other methods are a JSON 405, missing files a JSON 404.
A folder given by ASP_DASHBOARD_DIR holds a secret beside it and a link
to it inside.

    ASP_BIN_DIR=build/bin /usr/bin/python3 tests/dashboard_static_test.py
"""
# ctest: TIMEOUT 300 LABELS integration

import os
import tempfile

from harness import Cluster, HarnessError, log, run

SECRET = "secret-outside-the-dashboard"


def make_folder():
    top = tempfile.mkdtemp(prefix="asp-dashboard-static-")
    web = os.path.join(top, "web")
    os.makedirs(os.path.join(web, "vendor"))
    os.makedirs(os.path.join(web, "folder"))
    files = {"index.html": "<!doctype html><title>t</title>", "app.js": "export const x = 1;",
             "vendor/lib.mjs": "export default 1;", "style.css": "body{}", "folder/a.js": "1"}
    for name, text in files.items():
        with open(os.path.join(web, name), "w") as f:
            f.write(text)
    with open(os.path.join(top, "secret.js"), "w") as f:
        f.write(SECRET)
    os.symlink(os.path.join(top, "secret.js"), os.path.join(web, "out.js"))
    os.symlink("/etc/passwd", os.path.join(web, "passwd.txt"))
    return web, files


def check_security(r, what):
    h = r.headers
    if h.get("x-content-type-options") != "nosniff":
        raise HarnessError("%s: no nosniff: %r" % (what, h))
    csp = h.get("content-security-policy", "")
    if "default-src 'self'" not in csp or "script-src 'self'" not in csp or "unsafe-inline" in csp:
        raise HarnessError("%s: weak or missing Content-Security-Policy %r" % (what, csp))


def main():
    web, files = make_folder()
    with Cluster(partners=0, customer=False, env={"ASP_DASHBOARD_DIR": web,
                                                  "ASP_API_TOKENS": "tok-ops:ops"},
                 name="dashboard-static") as c:
        c.token = None          # the files are open: no Authorization header
        types = {"index.html": "text/html", "app.js": "text/javascript", "vendor/lib.mjs": "text/javascript",
                 "style.css": "text/css"}
        for name, ctype in types.items():
            r = c.http("GET", "/dashboard/" + name)
            if r.status != 200 or r.body != files[name]:
                raise HarnessError("GET /dashboard/%s: %s %r" % (name, r.status, r.body))
            if not r.headers.get("content-type", "").startswith(ctype):
                raise HarnessError("/dashboard/%s: content type %r" % (name, r.headers.get("content-type")))
            check_security(r, name)
            cache = r.headers.get("cache-control", "")
            want = "max-age=31536000" if name.startswith("vendor/") else "no-cache"
            if want not in cache:
                raise HarnessError("/dashboard/%s: Cache-Control %r, want %r" % (name, cache, want))
        r = c.http("GET", "/dashboard/")
        if r.status != 200 or r.body != files["index.html"]:
            raise HarnessError("GET /dashboard/: %s %r" % (r.status, r.body))
        r = c.http("GET", "/dashboard")
        if r.status != 301 or r.headers.get("location") != "/dashboard/":
            raise HarnessError("GET /dashboard: %s %r" % (r.status, r.headers))
        check_security(r, "/dashboard")
        refused = ["/dashboard/folder", "/dashboard/folder/", "/dashboard/vendor/", "/dashboard/missing.js",
                   "/dashboard/out.js", "/dashboard/passwd.txt",
                   "/dashboard/../secret.js", "/dashboard/%2e%2e/secret.js", "/dashboard/%2E%2E%2Fsecret.js",
                   "/dashboard/vendor/..%2f..%2fsecret.js", "/dashboard/vendor%2f..%2f..%2fsecret.js",
                   "/dashboard//etc/passwd", "/dashboard/%2fetc%2fpasswd", "/dashboard/.%2e/.%2e/etc/passwd",
                   "/dashboard/..\\secret.js", "/dashboard/%5c..%5csecret.js", "/dashboard/.hidden",
                   "/dashboard/app.js%00.png", "/dashboard/%00", "/dashboard/secret.js"]
        for path in refused:
            r = c.http("GET", path)
            # libmicrohttpd cuts the decoded path at a NUL: "app.js%00.png"
            # may serve app.js and "%00" the page, both inside; nothing
            # may ever show what is outside.
            if path == "/dashboard/app.js%00.png" and r.status == 200 and r.body == files["app.js"]:
                continue
            if path == "/dashboard/%00" and r.status == 200 and r.body == files["index.html"]:
                continue
            if r.status != 404 or not isinstance(r.body, dict) or r.body.get("error", {}).get("code") != "not_found":
                raise HarnessError("GET %s: want a JSON 404, got %s %r" % (path, r.status, r.body))
            if SECRET in str(r.body) or "root:" in str(r.body):
                raise HarnessError("GET %s leaked a file outside the folder" % path)
            check_security(r, path)
        for method in ("POST", "PUT", "DELETE", "PATCH"):
            r = c.http(method, "/dashboard/index.html", body={})
            if r.status != 405 or r.body.get("error", {}).get("code") != "method_not_allowed":
                raise HarnessError("%s /dashboard/index.html: want a JSON 405, got %s %r" % (method, r.status, r.body))
            check_security(r, method)
        r = c.http("HEAD", "/dashboard/app.js")
        if r.status != 200:
            raise HarnessError("HEAD /dashboard/app.js: %s" % r.status)
        # The API next to it still wants a token.
        r = c.http("GET", "/v1/tickets")
        if r.status != 401:
            raise HarnessError("GET /v1/tickets without a token: want 401, got %s" % r.status)
        log("dashboard files served; %d hostile paths refused" % len(refused))


if __name__ == "__main__":
    run(main, name="dashboard_static_test")
