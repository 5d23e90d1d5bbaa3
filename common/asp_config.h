/*  asp_config: configuration from environment variables.

    Every setting has a default and a range; a value that is present but
    wrong is fatal at start-up (exit 2 with the variable named), because a
    service that silently ignores its configuration is worse than one that
    refuses to start.                                                        */
#ifndef ASP_CONFIG_H
#define ASP_CONFIG_H
#include <stdint.h>

//  String setting; returns the default when unset or empty.
const char *asp_cfg_str (const char *name, const char *dflt);
//  Integer setting in [min, max]; exits with a clear message when invalid.
int64_t     asp_cfg_int (const char *name, int64_t dflt, int64_t min, int64_t max);
//  Parses an integer strictly (whole string, base 10, in range). 0 on success.
int         asp_parse_int (const char *s, int64_t min, int64_t max, int64_t *out);

void        asp_config_test (void);
#endif
