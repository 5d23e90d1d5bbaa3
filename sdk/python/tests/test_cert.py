"""Certificates: what aspw.certgen writes is what CZMQ writes and reads
(zcert_load through libczmq itself), and aspw reads CZMQ's files."""
import ctypes
import ctypes.util
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import unittest

import zmq.auth

from aspw import cert

SDK = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN_DIR = os.environ.get("ASP_BIN_DIR")


def certgen(*args):
    return subprocess.run([sys.executable, "-m", "aspw.certgen"] + list(args), cwd=SDK,
                          env=dict(os.environ, PYTHONPATH=SDK), capture_output=True, text=True, timeout=30)


def shape(path):
    """The lines of a certificate with its keys and date blanked."""
    with open(path) as f:
        text = f.read()
    text = re.sub(r'-key = "[^"]{40}"', '-key = "KEY"', text)
    return re.sub(r"Generated on [0-9: -]+ by", "Generated on DATE by", text).splitlines()


class Certs(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="aspw-cert-test-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_certgen(self):
        r = certgen("--partner-id", "P1", "--out", self.dir)
        self.assertEqual(r.returncode, 0, r.stderr)
        pub, sec = os.path.join(self.dir, "P1.cert"), os.path.join(self.dir, "P1.cert_secret")
        self.assertEqual(stat.S_IMODE(os.stat(sec).st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(os.stat(pub).st_mode), 0o644)
        p, s = cert.load(pub), cert.load(sec)
        self.assertEqual((p.public, p.secret, p.partner_id, p.meta["name"]), (s.public, None, "P1", "P1"))
        self.assertTrue(cert.z85_valid(s.secret))
        self.assertIn(p.public, r.stdout)
        self.assertEqual([f for f in os.listdir(self.dir) if f.startswith(".")], [])   # no temporaries
        # pyzmq reads them too.
        self.assertEqual(zmq.auth.load_certificate(sec), (p.public.encode(), s.secret.encode()))
        # Existing files stay unless --force; bad arguments exit 2.
        self.assertEqual(certgen("--partner-id", "P1", "--out", self.dir).returncode, 1)
        self.assertEqual(cert.load(sec).secret, s.secret)
        self.assertEqual(certgen("--partner-id", "P1", "--out", self.dir, "--force").returncode, 0)
        self.assertNotEqual(cert.load(sec).secret, s.secret)
        for bad in (["--partner-id", "P 1", "--out", self.dir], ["--name", ".x", "--out", self.dir],
                    ["--partner-id", "P" * 48, "--out", self.dir], ["--out", self.dir],
                    ["--partner-id", "P2"]):
            self.assertEqual(certgen(*bad).returncode, 2, bad)
        r = certgen("--partner-id", "P3", "--name", "center-3", "--out", self.dir)
        self.assertEqual(r.returncode, 0)
        self.assertEqual(cert.load(os.path.join(self.dir, "center-3.cert")).meta,
                         {"name": "center-3", "partner_id": "P3"})

    def test_load_refusals(self):
        bad = os.path.join(self.dir, "bad.cert")
        for text in ("", "curve\n    public-key = \"short\"\n", "metadata\n    name = \"x\"\n",
                     "curve\n    public-key = \"%s\"\n    secret-key = \"x\"\n" % ("a" * 40),
                     "curve\n  public-key \"%s\n" % ("a" * 40)):
            with open(bad, "w") as f:
                f.write(text)
            with self.assertRaises(cert.CertError):
                cert.load(bad)
        with self.assertRaises(cert.CertError):
            cert.load(os.path.join(self.dir, "missing.cert"))

    def test_same_as_czmq(self):
        """The platform's asp-certgen (CZMQ's zcert_save) and aspw.certgen
        write the same lines, and each side reads the other's files: CZMQ's
        zcert_load (libczmq, through ctypes) reads aspw's."""
        if not BIN_DIR:
            self.skipTest("ASP_BIN_DIR not set (run by ctest)")
        c_dir, py_dir = os.path.join(self.dir, "c"), os.path.join(self.dir, "py")
        subprocess.run([os.path.join(BIN_DIR, "asp-certgen"), "--partner-id", "P1", "--out", c_dir],
                       check=True, capture_output=True, timeout=30)
        self.assertEqual(certgen("--partner-id", "P1", "--out", py_dir).returncode, 0)
        for name in ("P1.cert", "P1.cert_secret"):
            self.assertEqual(shape(os.path.join(c_dir, name)), shape(os.path.join(py_dir, name)))
            self.assertEqual(stat.S_IMODE(os.stat(os.path.join(c_dir, name)).st_mode),
                             stat.S_IMODE(os.stat(os.path.join(py_dir, name)).st_mode))
        c = cert.load(os.path.join(c_dir, "P1.cert_secret"))
        self.assertEqual((c.partner_id, len(c.secret)), ("P1", 40))

        czmq = ctypes.CDLL(ctypes.util.find_library("czmq") or "libczmq.so.4")
        czmq.zcert_load.restype = ctypes.c_void_p
        czmq.zcert_load.argtypes = [ctypes.c_char_p]
        for fn in ("zcert_public_txt", "zcert_secret_txt"):
            getattr(czmq, fn).restype = ctypes.c_char_p
            getattr(czmq, fn).argtypes = [ctypes.c_void_p]
        czmq.zcert_meta.restype = ctypes.c_char_p
        czmq.zcert_meta.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        czmq.zcert_destroy.argtypes = [ctypes.POINTER(ctypes.c_void_p)]
        mine = cert.load(os.path.join(py_dir, "P1.cert_secret"))
        for name, secret in (("P1.cert", "0" * 40), ("P1.cert_secret", mine.secret)):
            handle = czmq.zcert_load(os.path.join(py_dir, name).encode())
            self.assertTrue(handle, "zcert_load refused %s" % name)
            try:
                self.assertEqual(czmq.zcert_public_txt(handle).decode(), mine.public)
                if name.endswith("_secret"):
                    self.assertEqual(czmq.zcert_secret_txt(handle).decode(), secret)
                self.assertEqual(czmq.zcert_meta(handle, b"partner_id"), b"P1")
            finally:
                h = ctypes.c_void_p(handle)
                czmq.zcert_destroy(ctypes.byref(h))


if __name__ == "__main__":
    unittest.main()
