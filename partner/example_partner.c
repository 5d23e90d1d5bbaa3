/*  example_partner: the smallest useful partner, built against the
    installed SDK only:

        cc example_partner.c $(pkg-config --cflags --libs aspw-partner)

    Usage: example_partner ENDPOINT PARTNER_CERT_SECRET PLATFORM_CERT [JOBS]

    It connects with CURVE, accepts every offer, reports one PROGRESS step
    and completes the work order once the platform confirmed its ACCEPT,
    and exits 0 after JOBS completions are confirmed (0, the default:
    right after the first WELCOME). What it prints on stdout is its own;
    the SDK's log lines go to stderr through the log handler.              */
#include <asp_partner.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int jobs;                   //  completions to wait for
    int done;
} app_t;

static void
s_offer (asp_partner_t *p, const asp_partner_job_t *job, void *arg)
{
    (void) arg;
    printf ("offer %s (%s)\n", job->wo_id, asp_vocab_name (&asp_vocab_kind, job->kind));
    asp_partner_accept (p, job->wo_id);
}

static void
s_assigned (asp_partner_t *p, const asp_partner_job_t *job, void *arg)
{
    (void) arg;
    asp_partner_complete (p, job->wo_id, ASP_RESULT_FIXED, NULL, NULL);
}

static void
s_confirm (asp_partner_t *p, const char *ref, const char *wo_id, int64_t seq,
           bool duplicate, void *arg)
{
    (void) seq; (void) duplicate;
    app_t *app = (app_t *) arg;
    if (strcmp (ref, "ACCEPT") == 0) {
        asp_partner_progress (p, wo_id, ASP_STAGE_ON_SITE, "technician arrived", 0);
        asp_partner_complete (p, wo_id, ASP_RESULT_FIXED, "replaced the fuse", "Li Wei");
    }
    else
    if (strcmp (ref, "COMPLETE") == 0) {
        printf ("completed %s\n", wo_id);
        if (++app->done >= app->jobs)
            zsys_interrupted = 1;           //  ends zloop_start
    }
}

static void
s_welcome (asp_partner_t *p, const char *partner_id, void *arg)
{
    (void) p;
    app_t *app = (app_t *) arg;
    printf ("welcome %s\n", partner_id);
    if (app->jobs == 0)
        zsys_interrupted = 1;
}

static void
s_log (asp_partner_t *p, asp_partner_log_level_t level, const char *msg,
       const char *const *fields, void *arg)
{
    (void) p; (void) arg;
    fprintf (stderr, "log %d: %s", (int) level, msg);
    for (int i = 0; fields [i] && fields [i + 1]; i += 2)
        fprintf (stderr, " %s=%s", fields [i], fields [i + 1]);
    fprintf (stderr, "\n");
}

int
main (int argc, char *argv [])
{
    if (argc < 4 || argc > 5) {
        fprintf (stderr, "usage: example_partner ENDPOINT PARTNER_CERT_SECRET PLATFORM_CERT [JOBS]\n");
        return 2;
    }
    app_t app = { argc == 5? atoi (argv [4]): 0, 0 };
    zsys_init ();
    zloop_t *loop = zloop_new ();
    asp_partner_handlers_t handlers = {
        .offer = s_offer, .assigned = s_assigned, .confirm = s_confirm,
        .welcome = s_welcome, .log = s_log
    };
    asp_partner_cfg_t cfg = {
        .endpoint = argv [1], .cert_file = argv [2], .server_cert_file = argv [3],
        .capacity = 2, .skills = "water_heater", .software = "example_partner/1"
    };
    char err [256];
    asp_partner_t *partner = asp_partner_new (loop, &cfg, &handlers, &app, err, sizeof err);
    if (!partner) {
        fprintf (stderr, "example_partner: %s\n", err);
        zloop_destroy (&loop);
        return 2;
    }
    asp_partner_start (partner);
    zloop_start (loop);
    int rc = app.done >= app.jobs? 0: 1;
    asp_partner_destroy (&partner);
    zloop_destroy (&loop);
    return rc;
}
