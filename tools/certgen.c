/*  asp-certgen: makes a CURVE key pair as two CZMQ certificate files.

    asp-certgen --name NAME [--partner-id ID] --out DIR [--force]

    DIR/NAME.cert         public key + metadata (name, partner_id): give it
                          to the other side (a partner's goes into routing's
                          ASP_PARTNER_CERTS folder; routing's goes to partners)
    DIR/NAME.cert_secret  public + secret key, mode 0600: keep it

    Each file is written under a hidden temporary name and then renamed, so
    a certificate folder watched by zauth never shows a half-written file
    (zcertstore skips names that start with a dot). Existing files are left
    alone unless --force.                                                  */
#include "asp_id.h"
#include <czmq.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NAME_MAX_LEN 64

static void
s_usage (FILE *out)
{
    fprintf (out,
        "usage: asp-certgen --name NAME [--partner-id ID] --out DIR [--force]\n"
        "Writes DIR/NAME.cert (public, with metadata name and partner_id) and\n"
        "DIR/NAME.cert_secret (keep it private). --name defaults to --partner-id.\n"
        "  --name NAME        file name and 'name' metadata: 1..%d of [A-Za-z0-9._-],\n"
        "                     not starting with '.'\n"
        "  --partner-id ID    'partner_id' metadata: 1..%d of [A-Za-z0-9._:-]\n"
        "  --out DIR          output folder (created when missing)\n"
        "  --force            overwrite existing files\n", NAME_MAX_LEN, ASP_ID_MAX - 1);
}

static bool
s_name_ok (const char *name)
{
    size_t len = strlen (name);
    if (len == 0 || len > NAME_MAX_LEN || name [0] == '.')
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name [i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
               || c == '.' || c == '_' || c == '-';
        if (!ok)
            return false;
    }
    return true;
}

//  Saves one file through a hidden temporary name. 0 or -1 (reported).
static int
s_save (zcert_t *cert, bool secret, const char *dir, const char *name, const char *suffix)
{
    char tmp [PATH_MAX], path [PATH_MAX];
    snprintf (tmp, sizeof tmp, "%s/.%s%s.tmp%d", dir, name, suffix, (int) getpid ());
    snprintf (path, sizeof path, "%s/%s%s", dir, name, suffix);
    int rc = secret? zcert_save_secret (cert, tmp): zcert_save_public (cert, tmp);
    if (rc == 0 && chmod (tmp, secret? 0600: 0644))
        rc = -1;
    if (rc == 0 && rename (tmp, path))
        rc = -1;
    if (rc) {
        fprintf (stderr, "asp-certgen: cannot write %s: %s\n", path, strerror (errno));
        unlink (tmp);
    }
    return rc;
}

int
main (int argc, char *argv [])
{
    const char *name = NULL, *partner_id = NULL, *out = NULL;
    bool force = false;
    static struct option longopts [] = {
        { "name", required_argument, NULL, 'n' },
        { "partner-id", required_argument, NULL, 'p' },
        { "out", required_argument, NULL, 'o' },
        { "force", no_argument, NULL, 'f' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    opterr = 0;
    int c;
    while ((c = getopt_long (argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
            case 'n': name = optarg; break;
            case 'p': partner_id = optarg; break;
            case 'o': out = optarg; break;
            case 'f': force = true; break;
            case 'h': s_usage (stdout); return 0;
            default:
                fprintf (stderr, "asp-certgen: %s '%s' (see --help)\n",
                         c == ':'? "missing value for": "unknown option", argv [optind - 1]);
                return 2;
        }
    }
    if (optind < argc) {
        fprintf (stderr, "asp-certgen: unexpected argument '%s' (see --help)\n", argv [optind]);
        return 2;
    }
    if (!name)
        name = partner_id;
    if (!name || !out) {
        fprintf (stderr, "asp-certgen: --name (or --partner-id) and --out are required (see --help)\n");
        return 2;
    }
    if (!s_name_ok (name)) {
        fprintf (stderr, "asp-certgen: bad --name '%s': use 1..%d of [A-Za-z0-9._-], "
                         "not starting with '.'\n", name, NAME_MAX_LEN);
        return 2;
    }
    if (partner_id && !asp_id_valid (partner_id, strlen (partner_id))) {
        fprintf (stderr, "asp-certgen: bad --partner-id '%s': use 1..%d of [A-Za-z0-9._:-]\n",
                 partner_id, ASP_ID_MAX - 1);
        return 2;
    }
    if (!*out || strlen (out) > PATH_MAX - NAME_MAX_LEN - 32) {
        fprintf (stderr, "asp-certgen: bad --out '%s'\n", out);
        return 2;
    }
    if (zsys_dir_create ("%s", out)) {
        fprintf (stderr, "asp-certgen: cannot create folder %s: %s\n", out, strerror (errno));
        return 1;
    }
    char pub [PATH_MAX], sec [PATH_MAX];
    snprintf (pub, sizeof pub, "%s/%s.cert", out, name);
    snprintf (sec, sizeof sec, "%s/%s.cert_secret", out, name);
    if (!force && (access (pub, F_OK) == 0 || access (sec, F_OK) == 0)) {
        fprintf (stderr, "asp-certgen: %s or %s exists; refusing to overwrite (use --force)\n", pub, sec);
        return 1;
    }
    zcert_t *cert = zcert_new ();
    if (!cert) {
        fprintf (stderr, "asp-certgen: cannot make a key pair (libzmq without CURVE?)\n");
        return 1;
    }
    zcert_set_meta (cert, "name", "%s", name);
    if (partner_id)
        zcert_set_meta (cert, "partner_id", "%s", partner_id);
    //  Secret first: a public certificate never exists without its twin.
    int rc = s_save (cert, true, out, name, ".cert_secret");
    if (rc == 0)
        rc = s_save (cert, false, out, name, ".cert");
    if (rc == 0)
        printf ("public key %s\nwrote %s\nwrote %s (keep it secret)\n", zcert_public_txt (cert), pub, sec);
    zcert_destroy (&cert);
    return rc? 1: 0;
}
