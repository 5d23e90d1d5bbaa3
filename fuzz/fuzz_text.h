/*  The fuzz input as text, for the targets whose parser takes a C string
    (a configuration file): NULL when it holds a NUL byte (the loaders
    refuse such a file before parsing), else a new NUL-terminated copy the
    target frees.                                                          */
#ifndef FUZZ_TEXT_H
#define FUZZ_TEXT_H
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static inline char *
fuzz_text (const uint8_t *data, size_t size)
{
    if (memchr (data, 0, size))
        return NULL;
    char *text = (char *) malloc (size + 1);
    assert (text);
    memcpy (text, data, size);
    text [size] = 0;
    return text;
}
#endif
