#!/usr/bin/python3
"""The partner SDK as a partner's engineer gets it: installed, then used
through pkg-config only.

1. `cmake --install <build tree> --prefix <tmp> --component sdk` must work
   and install the headers, the libraries and aspw-partner.pc.
2. pkg-config (PKG_CONFIG_PATH = the prefix only) gives the flags; they
   name no service dependency (hiredis, libmicrohttpd, libcurl, cJSON),
   and the headers come from the prefix, never from the source tree.
3. partner/example_partner.c is compiled and linked with those flags
   alone, and the binary links none of those libraries either.
4. It runs against the real platform (harness.Cluster without simulated
   partners): its certificate is added to routing's folder, it connects
   with CURVE, gets WELCOME, takes the offer of a new ticket, reports
   PROGRESS and COMPLETE, and exits 0; the ticket reaches "completed".
   Its stdout holds only its own lines; the SDK spoke through the log
   handler (stderr).
Any step that cannot run fails the test.

    ASP_BIN_DIR=build/bin /usr/bin/python3 tests/sdk_install_test.py
"""
# ctest: TIMEOUT 300 LABELS integration

import glob
import os
import shutil
import subprocess
import tempfile

import harness
from harness import Cluster, HarnessError, binary, run

FORBIDDEN = ("hiredis", "microhttpd", "curl", "cjson")


def log(*args):
    print("[sdk_install_test]", *args, flush=True)


def sh(argv, env=None, what=None):
    r = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=240)
    if r.returncode != 0:
        raise HarnessError("%s failed (exit %d):\n%s%s" % (what or argv[0], r.returncode, r.stdout, r.stderr))
    return r.stdout


def install(prefix):
    build_dir = os.path.dirname(os.path.abspath(harness.BIN_DIR))
    if not os.path.isfile(os.path.join(build_dir, "CMakeCache.txt")):
        raise HarnessError("%s is not a CMake build tree" % build_dir)
    sh(["cmake", "--install", build_dir, "--prefix", prefix, "--component", "sdk"],
       what="cmake --install")
    pcs = glob.glob(os.path.join(prefix, "**", "aspw-partner.pc"), recursive=True)
    if len(pcs) != 1:
        raise HarnessError("aspw-partner.pc not installed (found %r)" % pcs)
    for name in ("asp_partner.h", "aspw_proto.h", "asp_vocab.h", "asp_mp.h", "asp_id.h"):
        if not os.path.isfile(os.path.join(prefix, "include", "aspw", name)):
            raise HarnessError("header %s not installed" % name)
    for lib in ("libaspw-partner.a", "libasp-core.a"):
        if not glob.glob(os.path.join(prefix, "**", lib), recursive=True):
            raise HarnessError("%s not installed" % lib)
    return os.path.dirname(pcs[0])


def build_example(prefix, pc_dir, out):
    env = dict(os.environ, PKG_CONFIG_PATH=pc_dir)
    env.pop("PKG_CONFIG_LIBDIR", None)
    flags = sh(["pkg-config", "--cflags", "--libs", "aspw-partner"], env=env, what="pkg-config").split()
    log("pkg-config flags:", " ".join(flags))
    requires = sh(["pkg-config", "--print-requires", "aspw-partner"], env=env)
    for bad in FORBIDDEN:
        if bad in " ".join(flags).lower() or bad in requires.lower():
            raise HarnessError("the SDK's flags name %s: %r %r" % (bad, flags, requires))
    include = os.path.realpath(os.path.join(prefix, "include", "aspw"))
    if not any(f.startswith("-I") and os.path.realpath(f[2:]) == include for f in flags):
        raise HarnessError("Cflags do not point into the prefix: %r" % flags)
    source = os.path.join(harness.SOURCE_DIR, "partner", "example_partner.c")
    extra = ["-fsanitize=address,undefined"] if harness.SANITIZED else []
    # Built outside the source tree so that only the installed headers can be found.
    src_copy = os.path.join(os.path.dirname(out), "example_partner.c")
    shutil.copy(source, src_copy)
    sh(["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", src_copy, "-o", out] + extra + flags,
       what="cc example_partner.c")
    libs = sh(["ldd", out])
    for bad in FORBIDDEN:
        if bad in libs.lower():
            raise HarnessError("the example links %s:\n%s" % (bad, libs))


def run_example(example, tmp):
    with Cluster(partners=0, customer=False, name="sdk") as c:
        sh([binary("asp-certgen"), "--partner-id", "P900", "--out", tmp], what="asp-certgen")
        shutil.copy(os.path.join(tmp, "P900.cert"), os.path.join(c.partner_cert_dir, "P900.cert"))
        out_path, err_path = os.path.join(tmp, "example.out"), os.path.join(tmp, "example.err")
        with open(out_path, "w") as out, open(err_path, "w") as err:
            p = subprocess.Popen([example, c.partner_endpoint, os.path.join(tmp, "P900.cert_secret"),
                                  os.path.join(c.cert_dir, "routing.cert"), "1"], stdout=out, stderr=err)
            try:
                c.wait_partners(1, timeout=20)
                tid = c.create_ticket()["id"]
                rc = p.wait(timeout=30 * harness.TIMEOUT_SCALE)
            finally:
                if p.poll() is None:
                    p.kill()
                    p.wait()
        stdout, stderr = open(out_path).read(), open(err_path).read()
        log("example stdout:\n" + stdout)
        if rc != 0:
            raise HarnessError("example_partner exited %d; stderr:\n%s" % (rc, stderr))
        lines = stdout.splitlines()
        if lines != ["welcome P900", "offer W%s (repair)" % tid, "completed W%s" % tid]:
            raise HarnessError("example stdout is not only its own lines: %r" % lines)
        if "log 1: partner: welcomed partner=P900" not in stderr:
            raise HarnessError("the SDK did not log through the handler:\n" + stderr)
        c.wait_for(lambda: c.ticket(tid)["status"] in ("completed", "visit_scheduled", "closed"),
                   20, what="ticket %s completed by the SDK partner" % tid)


def main():
    tmp = tempfile.mkdtemp(prefix="asp-sdk-test-")
    ok = False
    try:
        prefix = os.path.join(tmp, "prefix")
        pc_dir = install(prefix)
        log("installed into", prefix)
        example = os.path.join(tmp, "example_partner")
        build_example(prefix, pc_dir, example)
        run_example(example, tmp)
        ok = True
    finally:
        if ok and not os.environ.get("ASP_KEEP_TMP"):
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            log("kept", tmp)


if __name__ == "__main__":
    run(main, name="sdk_install_test")
