/*  asp_sighup: SIGHUP read from a signalfd in a zloop (asp_sighup.h).   */
#include "asp_sighup.h"
#include "asp_log.h"
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

struct asp_sighup_t {
    zloop_t *loop;
    zmq_pollitem_t item;
    asp_sighup_fn *fn;
    void *arg;
    char name [32];
};

static void
s_set (sigset_t *set)
{
    sigemptyset (set);
    sigaddset (set, SIGHUP);
}

void
asp_sighup_block (void)
{
    sigset_t set;
    s_set (&set);
    pthread_sigmask (SIG_BLOCK, &set, NULL);
}

static int
s_on_signal (zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    (void) loop;
    asp_sighup_t *self = (asp_sighup_t *) arg;
    struct signalfd_siginfo info;
    bool hup = false;
    //  Drain every pending one: a burst of SIGHUPs is one reload.
    while (read (item->fd, &info, sizeof info) == sizeof info)
        hup = hup || info.ssi_signo == SIGHUP;
    if (hup) {
        asp_log_info ("%s: SIGHUP, reloading", self->name);
        self->fn (self->arg);
    }
    return 0;
}

asp_sighup_t *
asp_sighup_new (zloop_t *loop, const char *name, asp_sighup_fn *fn, void *arg)
{
    assert (loop && name && fn);
    sigset_t set;
    s_set (&set);
    int fd = signalfd (-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0) {
        asp_log_error ("%s: no signalfd (%s): SIGHUP does not reload", name, strerror (errno));
        return NULL;
    }
    asp_sighup_t *self = (asp_sighup_t *) calloc (1, sizeof *self);
    assert (self);
    self->loop = loop;
    self->fn = fn;
    self->arg = arg;
    snprintf (self->name, sizeof self->name, "%s", name);
    self->item = (zmq_pollitem_t) { NULL, fd, ZMQ_POLLIN, 0 };
    if (zloop_poller (loop, &self->item, s_on_signal, self) != 0) {
        asp_log_error ("%s: cannot poll the signalfd: SIGHUP does not reload", name);
        close (fd);
        free (self);
        return NULL;
    }
    return self;
}

void
asp_sighup_destroy (asp_sighup_t **self_p)
{
    assert (self_p);
    asp_sighup_t *self = *self_p;
    if (!self)
        return;
    zloop_poller_end (self->loop, &self->item);
    close (self->item.fd);
    free (self);
    *self_p = NULL;
}

//  ---------------------------------------------------------------------

static void
s_test_count (void *arg)
{
    (*(int *) arg)++;
}

static int
s_test_raise (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop; (void) timer_id; (void) arg;
    //  To this thread: SIGHUP is blocked, so it waits on the signalfd.
    //  Twice before the loop looks: one reload.
    pthread_kill (pthread_self (), SIGHUP);
    pthread_kill (pthread_self (), SIGHUP);
    return 0;
}

static int
s_test_end (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop; (void) timer_id; (void) arg;
    return -1;
}

void
asp_sighup_test (void)
{
    asp_sighup_block ();
    zloop_t *loop = zloop_new ();
    assert (loop);
    int calls = 0;
    asp_sighup_t *hup = asp_sighup_new (loop, "test", s_test_count, &calls);
    assert (hup);
    zloop_timer (loop, 10, 1, s_test_raise, NULL);
    zloop_timer (loop, 300, 1, s_test_end, NULL);
    zloop_start (loop);
    assert (calls == 1);
    //  Gone: a SIGHUP now waits, blocked, and reaches nobody.
    asp_sighup_destroy (&hup);
    assert (hup == NULL);
    asp_sighup_destroy (&hup);
    pthread_kill (pthread_self (), SIGHUP);
    zloop_timer (loop, 50, 1, s_test_end, NULL);
    zloop_start (loop);
    assert (calls == 1);
    //  Take the pending one, so it outlives nothing.
    sigset_t set;
    s_set (&set);
    int sig;
    assert (sigwait (&set, &sig) == 0 && sig == SIGHUP);
    zloop_destroy (&loop);
}
