/*  asp-partner-selftest: runs the self test of the partner library.       */
#include "asp_log.h"
#include "asp_partner.h"
#include <stdio.h>

int
main (void)
{
    asp_log_init ("partner-selftest");
    printf ("selftest partner ...\n");
    asp_partner_test ();
    printf ("selftest partner: passed\n");
    return 0;
}
