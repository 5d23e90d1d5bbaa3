#include "asp_curve.h"
#include "asp_config.h"
#include "asp_log.h"
#include <assert.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define S_LOG_EVERY_MS 10000        //  a flood of bad peers must not flood the log

struct asp_curve_t {
    asp_svc_id_t self;
    bool secure;
    zcert_t *cert;                  //  this service's key pair (secure only)
    const char *cert_dir;           //  from the environment
    zactor_t *zap;
    zsock_t *monitor;               //  the inbox's handshake failures, while it is served
    zloop_t *loop;
    asp_counter_t *refused;
    int64_t logged_ms;
};

//  A service may exit () on a configuration error after this class started
//  its actors. CZMQ's atexit handler then closes every socket, the actors'
//  pipes included, under the running actor threads, which assert. atexit
//  handlers run in reverse order and zsys_init registered CZMQ's first, so
//  this one stops our actors before that happens.
static asp_curve_t *s_live;

static void
s_at_exit (void)
{
    if (s_live) {
        zsock_destroy (&s_live->monitor);
        zactor_destroy (&s_live->zap);
    }
}

static void
s_fatal (const char *what)
{
    asp_log_error ("bus authentication: %s", what);
    exit (2);
}

//  --------------------------------------------------------------------------
//  The ZAP actor: one certificate store per domain

typedef struct {
    zsock_t *handler;               //  REP bound on the ZAP endpoint
    zhashx_t *domains;              //  domain -> zcertstore_t
    zhashx_t *verdicts;             //  "<domain> <Z85 key>" -> asp_curve_verdict_t (as a pointer)
} s_zap_t;

static void
s_store_destroy (void **item)
{
    zcertstore_destroy ((zcertstore_t **) item);
}

//  The verdict on one request: status code, and the User-Id when allowed.
static const char *
s_zap_judge (s_zap_t *self, const char *domain, const char *mechanism, zframe_t *cred, char *user_id)
{
    if (streq (mechanism, "NULL"))
        return "200";
    if (!streq (mechanism, "CURVE") || !cred || zframe_size (cred) != 32)
        return "400";
    zmq_z85_encode (user_id, zframe_data (cred), 32);
    char name [128];
    snprintf (name, sizeof name, "%.80s %s", domain, user_id);
    intptr_t verdict = (intptr_t) zhashx_lookup (self->verdicts, name);
    if (verdict)
        return verdict == ASP_CURVE_KEY_ALLOW? "200": "400";
    zcertstore_t *store = (zcertstore_t *) zhashx_lookup (self->domains, domain);
    return store && zcertstore_lookup (store, user_id)? "200": "400";
}

//  Request: version, request id, domain, address, routing id, mechanism,
//  credentials. Reply: version, request id, status, text, User-Id, metadata.
static void
s_zap_handle (s_zap_t *self)
{
    zmsg_t *req = zmsg_recv (self->handler);
    if (!req)
        return;
    char *version = zmsg_popstr (req);
    zframe_t *req_id = zmsg_pop (req);
    char *domain = zmsg_popstr (req);
    char *address = zmsg_popstr (req);
    zframe_t *routing_id = zmsg_pop (req);
    char *mechanism = zmsg_popstr (req);
    zframe_t *cred = zmsg_pop (req);
    char user_id [41] = "";
    const char *status = "400";
    if (version && streq (version, "1.0") && req_id && domain && mechanism)
        status = s_zap_judge (self, domain, mechanism, cred, user_id);
    zmsg_t *reply = zmsg_new ();
    zmsg_addstr (reply, "1.0");
    if (req_id)
        zmsg_append (reply, &req_id);
    else
        zmsg_addstr (reply, "");
    zmsg_addstr (reply, status);
    zmsg_addstr (reply, streq (status, "200")? "OK": "No access");
    zmsg_addstr (reply, streq (status, "200")? user_id: "");
    zmsg_addmem (reply, NULL, 0);   //  no metadata
    if (zmsg_send (&reply, self->handler))
        zmsg_destroy (&reply);
    zstr_free (&version);
    zstr_free (&domain);
    zstr_free (&address);
    zstr_free (&mechanism);
    zframe_destroy (&req_id);
    zframe_destroy (&routing_id);
    zframe_destroy (&cred);
    zmsg_destroy (&req);
}

//  Commands: ALLOW domain dir, KEY domain key verdict (each answered
//  with a signal), $TERM.
static bool
s_zap_command (s_zap_t *self, zsock_t *pipe)
{
    char *cmd = NULL, *domain = NULL, *dir = NULL, *verdict = NULL;
    if (zstr_recvx (pipe, &cmd, &domain, &dir, &verdict, NULL) < 1)
        return false;
    bool go_on = !streq (cmd, "$TERM");
    if (streq (cmd, "ALLOW") && domain && dir) {
        zhashx_update (self->domains, domain, zcertstore_new (dir));
        zsock_signal (pipe, 0);
    }
    if (streq (cmd, "KEY") && domain && dir && verdict) {
        char name [128];
        snprintf (name, sizeof name, "%.80s %s", domain, dir);
        intptr_t v = atoi (verdict);
        if (v == ASP_CURVE_KEY_FORGET)
            zhashx_delete (self->verdicts, name);
        else
            zhashx_update (self->verdicts, name, (void *) v);
        zsock_signal (pipe, 0);
    }
    zstr_free (&cmd);
    zstr_free (&domain);
    zstr_free (&dir);
    zstr_free (&verdict);
    return go_on;
}

static void
s_zap_actor (zsock_t *pipe, void *arg)
{
    (void) arg;
    s_zap_t self = { zsock_new (ZMQ_REP), zhashx_new (), zhashx_new () };
    assert (self.handler && self.domains && self.verdicts);
    zhashx_set_destructor (self.domains, s_store_destroy);
    //  Only one handler may exist per process (asp_svc makes it).
    int rc = zsock_bind (self.handler, S_ZAP_ENDPOINT);
    assert (rc == 0);
    zpoller_t *poller = zpoller_new (pipe, self.handler, NULL);
    //  A stop signal must not end this thread: the main thread may still
    //  be sending it ALLOW (and would wait forever), and stops it with
    //  $TERM anyway.
    zpoller_set_nonstop (poller, true);
    zsock_signal (pipe, 0);
    while (true) {
        void *which = zpoller_wait (poller, -1);
        if (which == pipe) {
            if (!s_zap_command (&self, pipe))
                break;
        }
        else
        if (which == self.handler)
            s_zap_handle (&self);
        else
        if (zmq_errno () == ETERM)
            break;                  //  the context is gone
        //  else a signal interrupted the poll: serve on until $TERM
    }
    zpoller_destroy (&poller);
    zsock_unbind (self.handler, S_ZAP_ENDPOINT);
    zsock_destroy (&self.handler);
    zhashx_destroy (&self.domains);
    zhashx_destroy (&self.verdicts);
}

//  --------------------------------------------------------------------------
//  Configuration

static zcert_t *
s_load_secret (const char *file)
{
    zcert_t *cert = zcert_load (file);
    if (!cert) {
        asp_log_error ("bus authentication: cannot load ASP_BUS_CERT='%s': "
                       "file missing, unreadable or not a certificate", file);
        exit (2);
    }
    if (streq (zcert_secret_txt (cert), "0000000000000000000000000000000000000000")) {
        asp_log_error ("bus authentication: ASP_BUS_CERT='%s' has no secret key "
                       "(it must name this service's .cert_secret file)", file);
        exit (2);
    }
    return cert;
}

//  The public certificate of svc in the folder; exits when missing.
static zcert_t *
s_load_public (const char *dir, asp_svc_id_t svc)
{
    char path [PATH_MAX];
    snprintf (path, sizeof path, "%s/%s.cert", dir, asp_svc_name (svc));
    zcert_t *cert = access (path, R_OK) == 0? zcert_load (path): NULL;
    if (!cert) {
        asp_log_error ("bus authentication: no public certificate for %s: '%s' is missing "
                       "or not a certificate (ASP_BUS_CERT_DIR)", asp_svc_name (svc), path);
        exit (2);
    }
    return cert;
}

//  Reads and checks the settings; they are fatal when wrong, since a
//  service that silently ran without authentication would be worse.
static void
s_configure (asp_curve_t *self)
{
    const char *insecure = asp_cfg_str ("ASP_BUS_INSECURE", "0");
    if (streq (insecure, "1")) {
        asp_log_warn ("ASP_BUS_INSECURE=1: the bus runs without authentication; "
                      "anything that reaches a bus port can inject events");
        return;
    }
    if (!streq (insecure, "0"))
        s_fatal ("ASP_BUS_INSECURE must be 0 or 1");
    if (!zsys_has_curve ())
        s_fatal ("libzmq has no CURVE support");
    const char *file = asp_cfg_str ("ASP_BUS_CERT", NULL);
    self->cert_dir = asp_cfg_str ("ASP_BUS_CERT_DIR", NULL);
    if (!file)
        s_fatal ("ASP_BUS_CERT is not set: it must name this service's secret certificate "
                 "(or set ASP_BUS_INSECURE=1 to run the bus without authentication)");
    if (!self->cert_dir)
        s_fatal ("ASP_BUS_CERT_DIR is not set: it must name the folder of the services' "
                 "public certificates (or set ASP_BUS_INSECURE=1)");
    struct stat st;
    if (stat (self->cert_dir, &st) || !S_ISDIR (st.st_mode))
        s_fatal ("ASP_BUS_CERT_DIR is not a folder");
    self->cert = s_load_secret (file);
    //  Our own public certificate must be the one the others trust, or
    //  every message we send would be refused: say so now, not later.
    zcert_t *mine = s_load_public (self->cert_dir, self->self);
    bool same = streq (zcert_public_txt (mine), zcert_public_txt (self->cert));
    zcert_destroy (&mine);
    if (!same) {
        asp_log_error ("bus authentication: ASP_BUS_CERT's public key differs from %s/%s.cert: "
                       "the other services would refuse this one", self->cert_dir, asp_svc_name (self->self));
        exit (2);
    }
    self->secure = true;
    asp_log_info ("bus: CURVE on, key %s, trusted certificates in %s",
                  zcert_public_txt (self->cert), self->cert_dir);
}

asp_curve_t *
asp_curve_new (asp_svc_id_t svc)
{
    asp_curve_t *self = (asp_curve_t *) calloc (1, sizeof *self);
    assert (self);
    self->self = svc;
    s_configure (self);
    static bool registered = false;
    if (!registered) {
        zsys_init ();               //  CZMQ's atexit handler before ours
        atexit (s_at_exit);
        registered = true;
    }
    s_live = self;
    self->zap = zactor_new (s_zap_actor, NULL);
    assert (self->zap);
    if (self->secure)
        asp_curve_allow (self, ASP_CURVE_BUS, self->cert_dir);
    return self;
}

void
asp_curve_destroy (asp_curve_t **self_p)
{
    asp_curve_t *self = *self_p;
    if (!self)
        return;
    asp_curve_bus_server_end (self);
    zactor_destroy (&self->zap);
    if (s_live == self)
        s_live = NULL;
    zcert_destroy (&self->cert);
    free (self);
    *self_p = NULL;
}

void
asp_curve_allow (asp_curve_t *self, const char *domain, const char *dir)
{
    zstr_sendx (self->zap, "ALLOW", domain, dir, NULL);
    zsock_wait (self->zap);
}

void
asp_curve_key (asp_curve_t *self, const char *domain, const char *key, asp_curve_verdict_t verdict)
{
    char v [4];
    snprintf (v, sizeof v, "%d", (int) verdict);
    zstr_sendx (self->zap, "KEY", domain, key, v, NULL);
    zsock_wait (self->zap);
}

bool asp_curve_secure (asp_curve_t *self) { return self->secure; }

//  --------------------------------------------------------------------------
//  Sockets

//  One event from the inbox's monitor (libzmq's format: [16-bit event,
//  32-bit value][endpoint]).
static int
s_on_monitor (zloop_t *loop, zsock_t *reader, void *arg)
{
    (void) loop;
    asp_curve_t *self = (asp_curve_t *) arg;
    zmsg_t *msg = zmsg_recv (reader);
    if (!msg)
        return 0;
    zframe_t *head = zmsg_first (msg);
    uint16_t event = 0;
    if (head && zframe_size (head) >= 2)
        memcpy (&event, zframe_data (head), 2);
    const char *name = event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH? "HANDSHAKE_FAILED_AUTH":
                       event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL? "HANDSHAKE_FAILED_PROTOCOL":
                       "HANDSHAKE_FAILED_NO_DETAIL";
    asp_counter_inc (self->refused);
    int64_t now = zclock_mono ();
    if (self->logged_ms == 0 || now - self->logged_ms >= S_LOG_EVERY_MS) {
        self->logged_ms = now;
        char total [24];
        snprintf (total, sizeof total, "%llu", (unsigned long long) asp_counter_value (self->refused));
        asp_log_kv (ASP_LOG_WARN, "bus handshake refused (no service certificate?)",
                    "event", name, "refused_total", total, NULL);
    }
    zmsg_destroy (&msg);
    return 0;
}

void
asp_curve_bus_server (asp_curve_t *self, zsock_t *sock, zloop_t *loop, asp_counter_t *refused)
{
    assert (!self->monitor);
    if (self->secure) {
        zcert_apply (self->cert, sock);
        zsock_set_curve_server (sock, 1);
        zsock_set_zap_domain (sock, ASP_CURVE_BUS);
    }
    self->loop = loop;
    self->refused = refused;
    //  libzmq's own socket monitor, read in the service's loop. (CZMQ's
    //  zmonitor actor reads from a NULL socket, and aborts, when a stop
    //  signal lands before its START: zsys_interrupted ends its poll.)
    char endpoint [64];
    snprintf (endpoint, sizeof endpoint, "inproc://asp-bus-monitor-%p", (void *) self);
    int rc = zmq_socket_monitor (zsock_resolve (sock), endpoint, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH
                                 | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL);
    assert (rc == 0);
    self->monitor = zsock_new_pair (endpoint);
    assert (self->monitor);
    zloop_reader (loop, self->monitor, s_on_monitor, self);
}

void
asp_curve_bus_server_end (asp_curve_t *self)
{
    if (!self->monitor)
        return;
    zloop_reader_end (self->loop, self->monitor);
    zsock_destroy (&self->monitor);
}

void
asp_curve_bus_client (asp_curve_t *self, zsock_t *sock, asp_svc_id_t dst)
{
    if (!self->secure)
        return;
    zcert_t *server = s_load_public (self->cert_dir, dst);
    zcert_apply (self->cert, sock);
    zsock_set_curve_serverkey (sock, zcert_public_txt (server));
    zcert_destroy (&server);
}

//  --------------------------------------------------------------------------
//  Self test: a CURVE inbox admits a service key and refuses, and counts,
//  an unknown key, a plain socket and a partner key.

static int
s_test_stop (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop; (void) timer_id; (void) arg;
    return -1;
}

static void
s_test_save (zcert_t *cert, const char *dir, const char *name, bool secret)
{
    char path [PATH_MAX];
    snprintf (path, sizeof path, "%s/%s", dir, name);
    int rc = secret? zcert_save_secret (cert, path): zcert_save_public (cert, path);
    assert (rc == 0);
}

//  Sends one message from client and runs the loop (which answers ZAP) in
//  short slices until the inbox has it or wait_ms passed; returns what the
//  inbox received (or NULL). A message expected to arrive gets a long wait:
//  under TSan on a loaded machine the handshake and ZAP took over 500 ms.
//  One expected not to arrive gets a short one: nothing can shorten that.
static zmsg_t *
s_test_try (zloop_t *loop, zsock_t *inbox, zsock_t *client, const char *endpoint, int wait_ms)
{
    int rc = zsock_connect (client, "%s", endpoint);
    assert (rc == 0);
    zstr_send (client, "ticket.closed");
    zsock_set_rcvtimeo (inbox, 0);
    for (int waited = 0; waited < wait_ms; waited += 100) {
        zloop_timer (loop, 100, 1, s_test_stop, NULL);
        zloop_start (loop);
        zmsg_t *msg = zmsg_recv (inbox);
        if (msg)
            return msg;
    }
    return NULL;
}

#define S_TEST_ARRIVES  10000
#define S_TEST_REFUSED  500

//  True when a client with key reaches server (a partners' socket).
static bool
s_test_partner (zloop_t *loop, zsock_t *server, zcert_t *key, zcert_t *server_cert, const char *endpoint, bool expect)
{
    zsock_t *client = zsock_new (ZMQ_DEALER);
    zcert_apply (key, client);
    zsock_set_curve_serverkey (client, zcert_public_txt (server_cert));
    zmsg_t *msg = s_test_try (loop, server, client, endpoint, expect? S_TEST_ARRIVES: S_TEST_REFUSED);
    bool arrived = msg != NULL;
    zmsg_destroy (&msg);
    zsock_destroy (&client);
    return arrived;
}

void
asp_curve_test (void)
{
    char dir [] = "/tmp/asp-curve-XXXXXX";
    assert (mkdtemp (dir));
    char pub [PATH_MAX], partners [PATH_MAX], secret [PATH_MAX];
    snprintf (pub, sizeof pub, "%s/bus", dir);
    snprintf (partners, sizeof partners, "%s/partners", dir);
    assert (zsys_dir_create (pub) == 0 && zsys_dir_create (partners) == 0);
    zcert_t *intake = zcert_new ();
    zcert_t *partner = zcert_new ();
    s_test_save (intake, pub, "intake.cert", false);
    s_test_save (intake, dir, "intake.cert_secret", true);
    s_test_save (partner, partners, "P1.cert", false);
    snprintf (secret, sizeof secret, "%s/intake.cert_secret", dir);

    //  Missing settings are fatal unless insecure; insecure needs none.
    setenv ("ASP_BUS_INSECURE", "1", 1);
    asp_curve_t *plain = asp_curve_new (ASP_SVC_INTAKE);
    assert (!asp_curve_secure (plain));
    asp_curve_destroy (&plain);
    unsetenv ("ASP_BUS_INSECURE");
    setenv ("ASP_BUS_CERT", secret, 1);
    setenv ("ASP_BUS_CERT_DIR", pub, 1);
    asp_curve_t *curve = asp_curve_new (ASP_SVC_INTAKE);
    assert (asp_curve_secure (curve));
    asp_curve_allow (curve, ASP_CURVE_PARTNERS, partners);

    asp_metrics_t *metrics = asp_metrics_new ("test");
    asp_counter_t *refused = asp_metrics_counter (metrics, "bus_auth_refused_total", "test");
    zloop_t *loop = zloop_new ();
    zsock_t *inbox = zsock_new (ZMQ_ROUTER);
    asp_curve_bus_server (curve, inbox, loop, refused);
    int port = zsock_bind (inbox, "tcp://127.0.0.1:*");
    assert (port > 0);
    char endpoint [64];
    snprintf (endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", port);

    //  A service key (intake talking to itself): admitted, User-Id is its key.
    zsock_t *client = zsock_new (ZMQ_DEALER);
    asp_curve_bus_client (curve, client, ASP_SVC_INTAKE);
    zmsg_t *msg = s_test_try (loop, inbox, client, endpoint, S_TEST_ARRIVES);
    assert (msg && zmsg_size (msg) == 2);
    const char *user_id = zframe_meta (zmsg_last (msg), "User-Id");
    assert (user_id && streq (user_id, zcert_public_txt (intake)));
    zmsg_destroy (&msg);
    zsock_destroy (&client);
    assert (asp_counter_value (refused) == 0);

    //  An unknown key, a partner's key (another domain) and a plain socket:
    //  nothing arrives, each refusal is counted.
    zcert_t *keys [] = { zcert_new (), partner, NULL };
    for (int i = 0; i < 3; i++) {
        uint64_t before = asp_counter_value (refused);
        client = zsock_new (ZMQ_DEALER);
        if (keys [i]) {
            zcert_apply (keys [i], client);
            zsock_set_curve_serverkey (client, zcert_public_txt (intake));
        }
        msg = s_test_try (loop, inbox, client, endpoint, S_TEST_REFUSED);
        assert (msg == NULL);
        //  The refusal is counted by the ZAP handler or the monitor in the
        //  loop: give a slow machine time to get there.
        for (int waited = 0; asp_counter_value (refused) == before && waited < S_TEST_ARRIVES; waited += 100) {
            zloop_timer (loop, 100, 1, s_test_stop, NULL);
            zloop_start (loop);
        }
        assert (asp_counter_value (refused) > before);
        assert (zmsg_recv (inbox) == NULL);
        zsock_destroy (&client);
    }
    zcert_destroy (&keys [0]);

    //  Keys without files, on a partners' socket: a registry key passes,
    //  a refused one fails even with its certificate in the folder and
    //  passes again once forgotten; no verdict reaches the bus domain.
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    zcert_apply (intake, router);
    zsock_set_curve_server (router, 1);
    zsock_set_zap_domain (router, ASP_CURVE_PARTNERS);
    int pport = zsock_bind (router, "tcp://127.0.0.1:*");
    assert (pport > 0);
    char pend [64];
    snprintf (pend, sizeof pend, "tcp://127.0.0.1:%d", pport);
    zcert_t *extra = zcert_new ();
    assert (s_test_partner (loop, router, partner, intake, pend, true));
    assert (!s_test_partner (loop, router, extra, intake, pend, false));
    asp_curve_key (curve, ASP_CURVE_PARTNERS, zcert_public_txt (extra), ASP_CURVE_KEY_ALLOW);
    assert (s_test_partner (loop, router, extra, intake, pend, true));
    assert (!s_test_partner (loop, inbox, extra, intake, endpoint, false));
    asp_curve_key (curve, ASP_CURVE_PARTNERS, zcert_public_txt (partner), ASP_CURVE_KEY_DENY);
    assert (!s_test_partner (loop, router, partner, intake, pend, false));
    asp_curve_key (curve, ASP_CURVE_PARTNERS, zcert_public_txt (partner), ASP_CURVE_KEY_FORGET);
    assert (s_test_partner (loop, router, partner, intake, pend, true));
    asp_curve_key (curve, ASP_CURVE_PARTNERS, zcert_public_txt (extra), ASP_CURVE_KEY_DENY);
    assert (!s_test_partner (loop, router, extra, intake, pend, false));
    zcert_destroy (&extra);
    zsock_destroy (&router);

    asp_curve_bus_server_end (curve);
    zsock_destroy (&inbox);
    zloop_destroy (&loop);
    asp_curve_destroy (&curve);
    asp_metrics_destroy (&metrics);
    unsetenv ("ASP_BUS_CERT");
    unsetenv ("ASP_BUS_CERT_DIR");
    zcert_destroy (&intake);
    zcert_destroy (&partner);
    zdir_t *tree = zdir_new (dir, NULL);
    zdir_remove (tree, true);
    zdir_destroy (&tree);
}
