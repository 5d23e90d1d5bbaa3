/*  asp-vocab: prints the domain vocabularies (common/asp_vocab) as JSON,
    {"kind": ["installation", ...], ...}, in enum order. Tests use it to
    check the docs' tables and to give the Python fakes the same words.   */
#include "asp_vocab.h"
#include <stdio.h>

int
main (int argc, char *argv [])
{
    (void) argv;
    if (argc > 1) {
        fprintf (stderr, "usage: asp-vocab   (prints the vocabularies as JSON)\n");
        return 2;
    }
    printf ("{");
    for (int v = 0; asp_vocabs [v]; v++) {
        printf ("%s\"%s\": [", v? ", ": "", asp_vocabs [v]->name);
        for (int i = 0; i < asp_vocabs [v]->count; i++)
            printf ("%s\"%s\"", i? ", ": "", asp_vocabs [v]->names [i]);
        printf ("]");
    }
    printf ("}\n");
    return 0;
}
