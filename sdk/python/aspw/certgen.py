"""python3 -m aspw.certgen --partner-id P1 --out DIR [--name NAME] [--force]

Makes a partner's CURVE key pair as two zcert files, like the platform's
asp-certgen, without any C tool:

    DIR/NAME.cert         public key + metadata name and partner_id: send it
                          to the brand (it goes into the platform's partner
                          certificate folder)
    DIR/NAME.cert_secret  public + secret key, mode 0600: keep it

NAME defaults to the partner id. Existing files are left alone unless
--force. Exit status 0 on success, 1 when a file cannot be written, 2 on a
bad argument.
"""
import argparse
import os
import re
import sys

from . import cert

_NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$")
_ID = re.compile(r"^[A-Za-z0-9._:-]{1,47}$")


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m aspw.certgen",
                                 description="Writes DIR/NAME.cert (public, with metadata name and "
                                             "partner_id) and DIR/NAME.cert_secret (keep it private).")
    ap.add_argument("--partner-id", help="'partner_id' metadata: 1..47 of [A-Za-z0-9._:-]")
    ap.add_argument("--name", help="file name and 'name' metadata: 1..64 of [A-Za-z0-9._-], "
                                   "not starting with '.' (default: the partner id)")
    ap.add_argument("--out", required=True, help="output folder (created when missing)")
    ap.add_argument("--force", action="store_true", help="overwrite existing files")
    args = ap.parse_args(argv)
    name = args.name or args.partner_id
    if not name:
        ap.error("--name or --partner-id is required")
    if not _NAME.match(name):
        ap.error("bad --name %r: use 1..64 of [A-Za-z0-9._-], not starting with '.'" % name)
    if args.partner_id is not None and not _ID.match(args.partner_id):
        ap.error("bad --partner-id %r: use 1..47 of [A-Za-z0-9._:-]" % args.partner_id)
    try:
        os.makedirs(args.out, exist_ok=True)
    except OSError as e:
        print("aspw.certgen: cannot create folder %s: %s" % (args.out, e), file=sys.stderr)
        return 1
    public = os.path.join(args.out, name + ".cert")
    secret = os.path.join(args.out, name + ".cert_secret")
    if not args.force and (os.path.exists(public) or os.path.exists(secret)):
        print("aspw.certgen: %s or %s exists; refusing to overwrite (use --force)" % (public, secret),
              file=sys.stderr)
        return 1
    meta = {"name": name}
    if args.partner_id is not None:
        meta["partner_id"] = args.partner_id
    c = cert.Cert.new(meta)
    try:
        # Secret first: a public certificate never exists without its twin.
        cert.save(c, secret, secret=True)
        cert.save(c, public)
    except OSError as e:
        print("aspw.certgen: cannot write: %s" % e, file=sys.stderr)
        return 1
    print("public key %s\nwrote %s\nwrote %s (keep it secret)" % (c.public, public, secret))
    return 0


if __name__ == "__main__":
    sys.exit(main())
