/*  asp_filewatch: when to read a configuration file again.               */
#include "asp_filewatch.h"
#include <assert.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct asp_filewatch_t {
    char *path;
    int64_t pace_ms;
    int64_t looked_ms;              //  the last look (or mark)
    struct stat seen;               //  the file as marked
    bool seen_ok;                   //  seen holds a stat that succeeded
    volatile sig_atomic_t hup;      //  set from a signal handler
};

asp_filewatch_t *
asp_filewatch_new (const char *path, int64_t pace_ms)
{
    asp_filewatch_t *self = (asp_filewatch_t *) calloc (1, sizeof *self);
    assert (self);
    self->path = strdup (path);
    assert (self->path);
    self->pace_ms = pace_ms;
    return self;
}

void
asp_filewatch_destroy (asp_filewatch_t **self_p)
{
    asp_filewatch_t *self = *self_p;
    if (self) {
        free (self->path);
        free (self);
        *self_p = NULL;
    }
}

const char *
asp_filewatch_path (const asp_filewatch_t *self)
{
    return self->path;
}

void
asp_filewatch_mark (asp_filewatch_t *self, int64_t now_ms)
{
    self->seen_ok = stat (self->path, &self->seen) == 0;
    self->looked_ms = now_ms;
}

bool
asp_filewatch_due (asp_filewatch_t *self, int64_t now_ms)
{
    if (self->hup) {
        self->hup = 0;
        return true;
    }
    if (now_ms - self->looked_ms < self->pace_ms)
        return false;
    self->looked_ms = now_ms;
    struct stat st;
    bool ok = stat (self->path, &st) == 0;
    if (ok != self->seen_ok)
        return true;
    return ok && (st.st_mtim.tv_sec != self->seen.st_mtim.tv_sec
              ||  st.st_mtim.tv_nsec != self->seen.st_mtim.tv_nsec
              ||  st.st_size != self->seen.st_size || st.st_ino != self->seen.st_ino
              ||  st.st_dev != self->seen.st_dev);
}

void
asp_filewatch_hup (asp_filewatch_t *self)
{
    self->hup = 1;
}

//  ---------------------------------------------------------------------
//  Self-test

static void
s_write (const char *path, const char *text)
{
    FILE *f = fopen (path, "w");
    assert (f);
    fputs (text, f);
    assert (fclose (f) == 0);
}

void
asp_filewatch_test (void)
{
    char dir [] = "/tmp/asp-filewatch-XXXXXX";
    assert (mkdtemp (dir));
    char path [64], other [64];
    snprintf (path, sizeof path, "%s/f.conf", dir);
    snprintf (other, sizeof other, "%s/g.conf", dir);
    s_write (path, "one\n");

    asp_filewatch_t *w = asp_filewatch_new (path, 1000);
    assert (strcmp (asp_filewatch_path (w), path) == 0);
    asp_filewatch_mark (w, 5000);
    //  Unchanged: never due, however long.
    assert (!asp_filewatch_due (w, 5000));
    assert (!asp_filewatch_due (w, 7000));
    //  A change of size is seen, but only once the pace allows a look.
    s_write (path, "one two\n");
    assert (!asp_filewatch_due (w, 7500));      //  7000 was the last look
    assert (asp_filewatch_due (w, 8000));
    //  Until marked it stays due (the caller had not read it yet).
    assert (asp_filewatch_due (w, 9000));
    asp_filewatch_mark (w, 9000);
    assert (!asp_filewatch_due (w, 10000));
    //  Replaced by rename (same size, another inode): due.
    s_write (other, "one tw0\n");
    assert (rename (other, path) == 0);
    assert (asp_filewatch_due (w, 11000));
    asp_filewatch_mark (w, 11000);
    //  SIGHUP: due at once, inside the pace, once.
    asp_filewatch_hup (w);
    assert (asp_filewatch_due (w, 11001));
    assert (!asp_filewatch_due (w, 11002));
    //  Gone, then back.
    assert (unlink (path) == 0);
    assert (asp_filewatch_due (w, 12000));
    asp_filewatch_mark (w, 12000);
    assert (!asp_filewatch_due (w, 13000));
    s_write (path, "three\n");
    assert (asp_filewatch_due (w, 14000));
    asp_filewatch_destroy (&w);
    assert (w == NULL);
    asp_filewatch_destroy (&w);                 //  NULL is fine
    unlink (path);
    rmdir (dir);
}
