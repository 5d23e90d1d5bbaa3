/*  asp_filewatch: when to read a configuration file again.

    A service that lets ops edit a file while it runs (sla-timer's policy
    file, intake's warranty file) reloads it when it changed or on SIGHUP.
    This class is the "when": it remembers the file as it was when last
    read (mtime to the nanosecond, size, inode: an editor that writes a
    new file and renames it over the old one changes the inode), looks at
    it at most once per pace, and holds a SIGHUP flag. Reading, parsing
    and keeping the old contents on a bad change are the caller's.

    Not thread-safe, except asp_filewatch_hup, which is async-signal-safe
    (a signal handler may call it). Ownership: the caller owns the watch;
    it copies path.                                                        */
#ifndef ASP_FILEWATCH_H
#define ASP_FILEWATCH_H
#include <stdbool.h>
#include <stdint.h>

typedef struct asp_filewatch_t asp_filewatch_t;

//  A watch on path, looking at it at most every pace_ms.
asp_filewatch_t *asp_filewatch_new (const char *path, int64_t pace_ms);
void asp_filewatch_destroy (asp_filewatch_t **self_p);
const char *asp_filewatch_path (const asp_filewatch_t *self);
//  Remembers the file as it is now (stat): call just before reading it,
//  so that a change made while it is read is seen by the next look.
//  now_ms (any monotone clock, the same as for _due) starts the pace.
void asp_filewatch_mark (asp_filewatch_t *self, int64_t now_ms);
//  True when the file should be read again: SIGHUP was flagged (the flag
//  is cleared), or pace_ms have passed since the last look and the file
//  differs from the one marked (changed, appeared or went away).
bool asp_filewatch_due (asp_filewatch_t *self, int64_t now_ms);
//  Flags a reload for the next _due. Async-signal-safe.
void asp_filewatch_hup (asp_filewatch_t *self);

void asp_filewatch_test (void);
#endif
