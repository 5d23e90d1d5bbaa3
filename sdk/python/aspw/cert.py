"""aspw.cert: CURVE certificates in CZMQ's zcert format (ZPL text).

A partner's public certificate P1.cert (the brand puts it in the platform's
partner certificate folder) and its secret twin P1.cert_secret (kept by the
partner) look exactly like the ones CZMQ's zcert_save_public/_secret write
(docs/partner-protocol.md, section 1):

    #   ****  Generated on 2026-01-01 10:00:00 by CZMQ  ****
    #   ZeroMQ CURVE Public Certificate
    ...
    metadata
        name = "P1"
        partner_id = "P1"
    curve
        public-key = "<40 characters of Z85>"
        secret-key = "<40 characters of Z85>"     (the secret twin only)

Keys are made by libzmq (zmq.curve_keypair), so no C tool is needed.
"""
import os
import re
import time

import zmq

Z85_LEN = 40
_Z85 = re.compile(r"^[0-9a-zA-Z.\-:+=^!/*?&<>()\[\]{}@%$#]{40}$")
_PUBLIC_HEADER = (
    "#   ZeroMQ CURVE Public Certificate\n"
    "#   Exchange securely, or use a secure mechanism to verify the contents\n"
    "#   of this file after exchange. Store public certificates in your home\n"
    "#   directory, in the .curve subdirectory.\n")
_SECRET_HEADER = (
    "#   ZeroMQ CURVE **Secret** Certificate\n"
    "#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.\n")


class CertError(ValueError):
    """A certificate file that cannot be used."""


class Cert:
    """A key pair (secret None for a public certificate) and its metadata."""

    def __init__(self, public, secret=None, meta=None):
        self.public = public
        self.secret = secret
        self.meta = dict(meta or {})

    @classmethod
    def new(cls, meta=None):
        public, secret = zmq.curve_keypair()
        return cls(public.decode("ascii"), secret.decode("ascii"), meta)

    @property
    def partner_id(self):
        return self.meta.get("partner_id", "")


def z85_valid(key):
    return isinstance(key, str) and bool(_Z85.match(key))


def _text(cert, secret):
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    out = ["#   ****  Generated on %s by CZMQ  ****\n" % stamp,
           _SECRET_HEADER if secret else _PUBLIC_HEADER, "\n", "metadata\n"]
    for k, v in cert.meta.items():
        out.append('    %s = "%s"\n' % (k, v))
    out.append("curve\n")
    out.append('    public-key = "%s"\n' % cert.public)
    if secret:
        out.append('    secret-key = "%s"\n' % cert.secret)
    return "".join(out)


def save(cert, path, secret=False):
    """Writes the public (or, with secret, the secret) certificate to path
    through a hidden temporary name and a rename, so that a folder watched
    by the platform never shows a half-written file; mode 0600 for the
    secret one, 0644 for the public one."""
    folder, name = os.path.split(os.path.abspath(path))
    tmp = os.path.join(folder, ".%s.tmp%d" % (name, os.getpid()))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if secret else 0o644)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(_text(cert, secret))
        os.chmod(tmp, 0o600 if secret else 0o644)
        os.rename(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


_LINE = re.compile(r"""^(\s*)([A-Za-z0-9_.$\-@/*]+)\s*(?:=\s*(?:"([^"]*)"|'([^']*)'|([^\s#]*)))?\s*(?:#.*)?$""")


def load(path):
    """The Cert in a zcert file (public or secret). CertError when the file
    cannot be read or holds no valid public key (or an invalid secret key)."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise CertError("cannot read certificate %s: %s" % (path, e))
    section, meta, curve = None, {}, {}
    for line in lines:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = _LINE.match(line)
        if not m:
            raise CertError("%s: not a certificate line: %r" % (path, line))
        indent, key = m.group(1), m.group(2)
        value = next((g for g in m.group(3, 4, 5) if g is not None), None)
        if not indent:
            section = key
        elif section == "metadata" and value is not None:
            meta[key] = value
        elif section == "curve" and value is not None:
            curve[key] = value
    public, secret = curve.get("public-key"), curve.get("secret-key")
    if not z85_valid(public):
        raise CertError("%s is not a CURVE certificate (no valid public-key)" % path)
    if secret is not None and not z85_valid(secret):
        raise CertError("%s: secret-key is not 40 characters of Z85" % path)
    return Cert(public, secret, meta)
