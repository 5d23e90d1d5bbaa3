/*  asp-partner-selftest: the self tests of the partner SDK.
    Usage: asp-partner-selftest [proto] [partner]   (both when none named)  */
#include "asp_partner.h"
#include "aspw_proto.h"
#include <stdio.h>
#include <string.h>

int
main (int argc, char *argv [])
{
    bool proto = argc < 2, partner = argc < 2;
    for (int i = 1; i < argc; i++) {
        if (strcmp (argv [i], "proto") == 0)
            proto = true;
        else
        if (strcmp (argv [i], "partner") == 0)
            partner = true;
        else {
            fprintf (stderr, "usage: asp-partner-selftest [proto] [partner]\n");
            return 2;
        }
    }
    if (proto)
        aspw_proto_test ();
    if (partner) {
        printf (" * asp_partner: ");
        fflush (stdout);
        asp_partner_test ();
        printf ("OK\n");
    }
    return 0;
}
