#include "notify_file.h"
#include "asp_log.h"
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

struct notify_file_t {
    int fd;                     //  -1: stdout
    char path [512];
};

//  Workers share the file: one line at a time, never interleaved.
static pthread_mutex_t s_file_lock = PTHREAD_MUTEX_INITIALIZER;

notify_file_t *
notify_file_new (const char *path)
{
    notify_file_t *self = (notify_file_t *) calloc (1, sizeof *self);
    assert (self);
    self->fd = -1;
    if (path) {
        snprintf (self->path, sizeof self->path, "%s", path);
        self->fd = open (path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
        if (self->fd < 0) {
            asp_log_error ("bad configuration: ASP_NOTIFY_FILE='%s': %s", path, strerror (errno));
            free (self);
            return NULL;
        }
    }
    return self;
}

void
notify_file_destroy (notify_file_t **self_p)
{
    notify_file_t *self = *self_p;
    if (!self)
        return;
    if (self->fd >= 0)
        close (self->fd);
    free (self);
    *self_p = NULL;
}

notify_result_t
notify_file_send (notify_file_t *self, const notify_msg_t *msg, char *err, size_t errlen)
{
    notify_result_t result = NOTIFY_SENT;
    size_t len = msg->json_len;
    if (self->fd >= 0) {
        struct iovec iov [2] = { { (void *) msg->json, len }, { (void *) "\n", 1 } };
        pthread_mutex_lock (&s_file_lock);
        ssize_t n = writev (self->fd, iov, 2);
        pthread_mutex_unlock (&s_file_lock);
        if (n != (ssize_t) len + 1) {
            snprintf (err, errlen, "%s: %s", self->path, n < 0? strerror (errno): "short write");
            result = NOTIFY_FAILED;
        }
    }
    else {
        flockfile (stdout);
        fwrite (msg->json, 1, len, stdout);
        fputc ('\n', stdout);
        if (fflush (stdout) || ferror (stdout)) {
            snprintf (err, errlen, "stdout: %s", strerror (errno));
            clearerr (stdout);
            result = NOTIFY_FAILED;
        }
        funlockfile (stdout);
    }
    return result;
}

void
notify_file_test (void)
{
    //  The file channel appends whole lines.
    char path [] = "/tmp/notify-file-test-XXXXXX";
    int fd = mkstemp (path);
    assert (fd >= 0);
    close (fd);
    notify_file_t *f = notify_file_new (path);
    assert (f);
    char err [200];
    notify_msg_t m1 = { .id = "N1", .json = "{\"id\":\"N1\"}", .json_len = 11 };
    notify_msg_t m2 = { .id = "N2", .json = "{\"id\":\"N2\"}", .json_len = 11 };
    assert (notify_file_send (f, &m1, err, sizeof err) == NOTIFY_SENT);
    assert (notify_file_send (f, &m2, err, sizeof err) == NOTIFY_SENT);
    notify_file_destroy (&f);
    FILE *in = fopen (path, "r");
    assert (in);
    char buf [100] = "";
    size_t n = fread (buf, 1, sizeof buf - 1, in);
    fclose (in);
    buf [n] = 0;
    assert (strcmp (buf, "{\"id\":\"N1\"}\n{\"id\":\"N2\"}\n") == 0);
    unlink (path);
    assert (notify_file_new ("/nonexistent-dir/x") == NULL);
    printf ("notify_file_test: ok\n");
}
