"""Shared harness for the integration tests (stdlib + zmq + msgpack only).

Run tests with /usr/bin/python3 (Debian's python3-zmq and python3-msgpack).
ctest sets the environment; by hand, build first and run e.g.

    ASP_BIN_DIR=build/bin /usr/bin/python3 tests/flow_test.py

Environment:
    ASP_BIN_DIR       where the binaries are (default <source>/build/bin)
    ASP_SOURCE_DIR    the source tree (default: this file's parent's parent)
    ASP_SANITIZED=1   binaries are built with ASan/UBSan: they are several
                      times slower, so tests scale their load down
                      (see SANITIZED and scaled()) and wait_for() waits longer
    ASP_TIMEOUT_SCALE multiplies every wait_for() timeout (default 1, or 3
                      when sanitized)
    ASP_KEEP_TMP=1    keep the temporary directory (logs, redis data, certs)
                      even when the test passed
    ASP_TEST_REDIS_CLUSTER=1
                      every Redis started here runs in cluster mode
                      (--cluster-enabled yes, all 16384 slots on it): Redis
                      then refuses any script that touches keys of two
                      slots, so the test proves the key scheme

What is here:
    free_port()                a free TCP port on 127.0.0.1
    wait_for(pred, timeout)    polls pred until it returns something truthy
    Redis                      a throwaway redis-server (AOF everysec,
                               password) with a small RESP client; kill -9
                               and restart on the same directory and port
    Cluster                    the five services, N simulated partners and
                               the simulated customer, on free ports, with
                               certificates; kill/restart any of them; HTTP
                               helpers for the public API
    Bus                        a DEALER that talks to a service's bus inbox
                               and returns its ACK/NAK answer (a CURVE
                               client when given keys)
    BusCerts, curve_client     the services' bus certificates (CurveZMQ)
                               and the keys a test's own bus socket uses
    envelope(...)              encodes a bus message (common/asp_envelope.h)
    key(fmt, owner)            a Redis key in the owner's shard
                               (common/asp_keys.h), e.g. key("t:%s", tid)
    shard_keys(name)           the name in every shard, e.g. the outboxes
    sla_policy(text)           an SLA policy file for sla-timer
                               (ASP_SLA_POLICY_FILE), short targets for tests

Every process started here is killed when the test ends, however it ends:
context managers, atexit, and PR_SET_PDEATHSIG (a child dies with the test
process even when ctest kills the test with SIGKILL on a timeout).
"""

import atexit
import ctypes
import http.client
import json
import os
import queue
import random
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import threading
import time

import msgpack
import zmq
import zmq.auth

SOURCE_DIR = os.environ.get("ASP_SOURCE_DIR") or os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))
BIN_DIR = os.environ.get("ASP_BIN_DIR") or os.path.join(SOURCE_DIR, "build", "bin")
SANITIZED = os.environ.get("ASP_SANITIZED") == "1"
TIMEOUT_SCALE = float(os.environ.get("ASP_TIMEOUT_SCALE") or (3 if SANITIZED else 1))
ENVELOPE_VERSION = 1
SERVICES = ("intake", "routing", "sla-timer", "notification", "feedback")
REDIS_CLUSTER = os.environ.get("ASP_TEST_REDIS_CLUSTER") == "1"
SHARDS = 16                 # ASP_SHARDS in common/asp_keys.h


def shard_of(owner):
    """The shard of a ticket (or other owning id): FNV-1a, as asp_shard_of."""
    h = 2166136261
    for b in owner.encode():
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h % SHARDS


def key(fmt, owner):
    """The Redis key fmt % owner (or fmt, when it names no %s) in owner's
    shard: "{s<n>}:" + name."""
    return "{s%d}:%s" % (shard_of(owner), fmt % owner if "%s" in fmt else fmt)


def ticket_record(redis, tid):
    """A ticket's hash and its timeline without notification's entries
    (notification.delivered/dead arrive whenever a delivery settles and
    change nothing else): what a refused request must leave unchanged."""
    tl = [e for e in redis.cmd("LRANGE", key("t:%s:tl", tid), 0, -1)
          if not (e if isinstance(e, str) else e.decode()).startswith('{"type":"notification.')]
    return redis.hgetall(key("t:%s", tid)), tl


def shard_keys(name):
    """name in every shard (e.g. "sla:due", "ob:intake:routing")."""
    return ["{s%d}:%s" % (n, name) for n in range(SHARDS)]
# The head of a test's SLA policy file: one calendar open every hour (UTC)
# and the region every ticket falls in (docs/sla.md, "The policy file").
SLA_POLICY_HEAD = """[calendar always]
zone = UTC
hours = mon-sun 00:00-24:00
[region *]
calendar = always
supervisor = sup@test.example
manager = mgr@test.example
"""

_sla_dirs = []


def sla_policy(text, head=True):
    """Writes an SLA policy file of text (after SLA_POLICY_HEAD unless
    head=False) into a temporary directory removed at exit; returns its
    path. Pass {"ASP_SLA_POLICY_FILE": path} in sla-timer's service_env."""
    if not _sla_dirs:
        _sla_dirs.append(tempfile.mkdtemp(prefix="asp-sla-policy-"))
        atexit.register(shutil.rmtree, _sla_dirs[0], True)
    fd, path = tempfile.mkstemp(suffix=".conf", dir=_sla_dirs[0])
    with os.fdopen(fd, "w") as f:
        f.write((SLA_POLICY_HEAD if head else "") + text)
    return path


# Bus names as in common/asp_events.c: service -> (env var of its bus endpoint).
BUS_VARS = {
    "intake": "ASP_INTAKE_BUS",
    "routing": "ASP_ROUTING_BUS",
    "sla-timer": "ASP_SLA_BUS",
    "notification": "ASP_NOTIFICATION_BUS",
    "feedback": "ASP_FEEDBACK_BUS",
}


# A test that cannot run exits with this status; ctest (SKIP_RETURN_CODE,
# CMakeLists.txt's ASP_SKIP_CODE) reports it as skipped, never as passed.
SKIP_CODE = 77


class Skip(Exception):
    """Raised by skip(): the test did not run, and says why."""


def skip(reason):
    """Ends the test as skipped (exit SKIP_CODE via run()), with the reason."""
    raise Skip(reason)


class HarnessError(Exception):
    """The harness could not do what the test asked (not an assertion)."""


def scaled(normal, sanitized):
    """normal, or sanitized when the binaries are built with ASan."""
    return sanitized if SANITIZED else normal


def log(*args):
    print("[harness %s]" % time.strftime("%H:%M:%S"), *args, file=sys.stderr, flush=True)


# --- processes -------------------------------------------------------------

_LIBC = None


def _die_with_parent():
    """preexec_fn: the child gets SIGKILL when the test process dies."""
    global _LIBC
    try:
        if _LIBC is None:
            _LIBC = ctypes.CDLL("libc.so.6", use_errno=True)
        _LIBC.prctl(1, signal.SIGKILL)      # PR_SET_PDEATHSIG
    except OSError:
        pass


_LIVE = set()          # every Proc still possibly running, for atexit


class _Spawner:
    """Runs every fork on one daemon thread that lives until the test
    process ends, so PR_SET_PDEATHSIG (tied to the forking thread) fires
    only when the test process dies, even for processes that a short-lived
    thread (e.g. a chaos thread) asked to start."""

    def __init__(self):
        self.requests = queue.Queue()
        self.lock = threading.Lock()
        self.thread = None

    def run(self, fn):
        with self.lock:
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._loop, name="harness-spawner", daemon=True)
                self.thread.start()
        box, done = {}, threading.Event()
        self.requests.put((fn, box, done))
        done.wait()
        if "error" in box:
            raise box["error"]
        return box["value"]

    def _loop(self):
        while True:
            fn, box, done = self.requests.get()
            try:
                box["value"] = fn()
            except BaseException as e:      # handed to the caller
                box["error"] = e
            done.set()


_SPAWNER = _Spawner()


def _kill_everything():
    for proc in list(_LIVE):
        proc.kill()


atexit.register(_kill_everything)


def _on_term(signum, frame):
    # ctest or a user stopped us: run the atexit cleanup on the way out.
    raise SystemExit(128 + signum)


if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
    signal.signal(signal.SIGTERM, _on_term)


def binary(name):
    """Full path of a project binary; a clear error when it is not built."""
    path = os.path.join(BIN_DIR, name)
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise HarnessError(
            "binary %s not found in %s: build the project first "
            "(./scripts/test.sh, or cmake -S . -B build && cmake --build build), "
            "or point ASP_BIN_DIR at the bin/ folder of a build tree" % (name, BIN_DIR))
    return path


class Proc:
    """One child process with its log file (stdout + stderr, appended)."""

    def __init__(self, name, argv, env, log_path, cwd=None):
        self.name = name
        self.argv = argv
        self.env = env
        self.log_path = log_path
        self.cwd = cwd
        self.popen = None
        self.killed = False         # we sent SIGKILL on purpose
        self.failures = []          # unexpected exits seen so far

    def start(self):
        if self.running():
            raise HarnessError("%s is already running" % self.name)
        self.note_exit()
        with open(self.log_path, "ab") as out:
            out.write(("--- %s start: %s\n" % (time.strftime("%H:%M:%S"), " ".join(self.argv))).encode())
            out.flush()
            # PR_SET_PDEATHSIG fires when the *thread* that forked exits, so
            # every child is forked by the one spawner thread, which lives
            # as long as the test process (whichever thread asks).
            self.popen = _SPAWNER.run(lambda: subprocess.Popen(
                self.argv, env=self.env, cwd=self.cwd, stdin=subprocess.DEVNULL,
                stdout=out, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent))
        self.killed = False
        _LIVE.add(self)
        return self

    @property
    def pid(self):
        return self.popen.pid if self.popen else None

    def running(self):
        return self.popen is not None and self.popen.poll() is None

    def note_exit(self):
        """Records an exit we did not cause (crash, sanitizer report, exit 2)."""
        if self.popen is None or self.popen.poll() is None:
            return
        rc = self.popen.returncode
        if not self.killed and rc not in (0, -signal.SIGTERM):
            self.failures.append(rc)
            log("%s exited unexpectedly with %s (see %s)" % (self.name, _rc_text(rc), self.log_path))
        self.killed = True          # counted once

    def kill(self):
        """SIGKILL, as a crash would."""
        if self.running():
            self.killed = True
            self.popen.kill()
            self.popen.wait()
        _LIVE.discard(self)

    def terminate(self, timeout=None):
        """SIGTERM and wait for a clean exit; SIGKILL after timeout.
        Returns the exit status (None when it had to be killed)."""
        if timeout is None:
            timeout = 10 * TIMEOUT_SCALE
        if not self.popen:
            return 0
        if self.popen.poll() is not None:
            self.note_exit()
            _LIVE.discard(self)
            return self.popen.returncode
        self.popen.send_signal(signal.SIGTERM)
        try:
            rc = self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            log("%s did not stop within %.0f s of SIGTERM: killing it" % (self.name, timeout))
            self.killed = True
            self.popen.kill()
            self.popen.wait()
            self.failures.append("hung on SIGTERM")
            _LIVE.discard(self)
            return None
        if rc not in (0, -signal.SIGTERM):
            self.failures.append(rc)
            log("%s exited with %s after SIGTERM (see %s)" % (self.name, _rc_text(rc), self.log_path))
        self.killed = True
        _LIVE.discard(self)
        return rc

    def tail(self, lines=40):
        try:
            with open(self.log_path, "rb") as f:
                data = f.read()
        except OSError:
            return ""
        return "\n".join(data.decode("utf-8", "replace").splitlines()[-lines:])


def _rc_text(rc):
    if rc is None:
        return "no status"
    if rc < 0:
        try:
            return "signal %s" % signal.Signals(-rc).name
        except ValueError:
            return "signal %d" % -rc
    return "status %d" % rc


# --- small helpers -----------------------------------------------------------

_HANDED_OUT = set()


def _port_range():
    """Where free_port() picks: just below the kernel's ephemeral range, so
    an outgoing connection (any process's) never takes a port between our
    pick and the server's bind."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    return (max(1024, low - 12000), low - 1) if low > 3048 else (1024, 65535)


def _reserve(port):
    """True when this process may hand out port: a file per port in a shared
    folder, created exclusively, so concurrent tests never pick the same
    one; a file whose owner is gone is taken over."""
    os.makedirs(_PORT_DIR, exist_ok=True)
    path = os.path.join(_PORT_DIR, str(port))
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                with open(path) as f:
                    owner = int(f.read().strip() or 0)
            except (OSError, ValueError):
                owner = 0
            if owner and os.path.exists("/proc/%d" % owner):
                return False
            try:
                os.unlink(path)         # its owner died: take it over
            except OSError:
                pass
            continue
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        return True
    return False


def _release_ports():
    for port in _HANDED_OUT:
        try:
            os.unlink(os.path.join(_PORT_DIR, str(port)))
        except OSError:
            pass


_PORT_DIR = os.path.join(tempfile.gettempdir(), "asp-test-ports")
atexit.register(_release_ports)


def free_port():
    """A TCP port that is free now on 127.0.0.1, reserved for this test
    process (never handed out twice, nor to a concurrent test), below the
    ephemeral range (see _port_range)."""
    lo, hi = _port_range()
    rng = random.Random()
    for _ in range(500):
        port = rng.randint(lo, hi)
        if port in _HANDED_OUT or not _reserve(port):
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                os.unlink(os.path.join(_PORT_DIR, str(port)))
                continue
        _HANDED_OUT.add(port)
        return port
    raise HarnessError("no free port found")


def wait_for(predicate, timeout=10.0, interval=0.05, what=None):
    """Calls predicate() until it returns something truthy and returns that.
    Raises HarnessError after timeout seconds (scaled by TIMEOUT_SCALE).
    Exceptions from predicate propagate."""
    deadline = time.monotonic() + timeout * TIMEOUT_SCALE
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise HarnessError("timed out after %.1f s waiting for %s" % (
                timeout * TIMEOUT_SCALE, what or getattr(predicate, "__name__", "a condition")))
        time.sleep(interval)


def new_id(prefix="m"):
    """An id that common/asp_id.c accepts ([A-Za-z0-9._:-], < 48 chars)."""
    alphabet = string.ascii_lowercase + string.digits
    return prefix + "".join(random.choice(alphabet) for _ in range(20))


# --- envelope and bus ----------------------------------------------------------

def envelope(type, ticket, body, id=None, trace=None, time_ms=None, version=ENVELOPE_VERSION):
    """Encodes one bus message as common/asp_envelope.h describes it:
    msgpack [version, type, id, ticket_id, trace_id, time_ms, body]."""
    if id is None:
        id = new_id("m")
    if trace is None:
        trace = new_id("tr")
    if time_ms is None:
        time_ms = int(time.time() * 1000)
    return msgpack.packb([version, type, id, ticket or "", trace, time_ms, body], use_bin_type=True)


class Bus:
    """A DEALER connected to one service's bus inbox (a ROUTER).

    send(frames) sends raw frames; publish(type, ticket, body) sends one
    encoded envelope. Both return the service's answer as a list of str
    frames, e.g. ["ACK", id] or ["NAK", id, reason], or None on timeout."""

    def __init__(self, endpoint, timeout=5.0, curve=None):
        self.endpoint = endpoint
        self.timeout = timeout
        self.ctx = zmq.Context.instance()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        curve_client(self.sock, curve)
        self.sock.connect(endpoint)

    def send(self, frames, timeout=None):
        if isinstance(frames, (bytes, bytearray, str)):
            frames = [frames]
        frames = [f.encode() if isinstance(f, str) else bytes(f) for f in frames]
        self.sock.send_multipart(frames)
        return self.recv(timeout)

    def recv(self, timeout=None):
        t = (self.timeout if timeout is None else timeout) * TIMEOUT_SCALE
        if not self.sock.poll(int(t * 1000)):
            return None
        return [f.decode("utf-8", "replace") for f in self.sock.recv_multipart()]

    def publish(self, type, ticket, body, id=None, timeout=None, **kw):
        return self.send([envelope(type, ticket, body, id=id, **kw)], timeout)

    def close(self):
        self.sock.close(0)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# --- bus certificates (CurveZMQ between the services) -------------------------------
#
# Every bus inbox is a CURVE server that admits only the keys in
# ASP_BUS_CERT_DIR (common/asp_curve.h), so whatever talks to a bus (the
# services, and the tests' own Bus) needs a service certificate.

# The certificate name of each service: its short name in common/asp_events.c.
BUS_CERT_NAMES = {"intake": "intake", "routing": "routing", "sla-timer": "sla",
                  "notification": "notification", "feedback": "feedback"}
# The tests' own certificate, trusted like a service's.
BUS_CLIENT = "harness"


class BusCerts:
    """Service certificates made with asp-certgen: dir/keys/<name>.cert_secret
    (each one's secret), dir/trusted/<name>.cert (the public folder every
    inbox trusts: ASP_BUS_CERT_DIR). Existing certificates are kept, so a
    restarted service keeps its key.

    env(svc) is the environment svc needs; curve(svc) the keys for a Bus
    (or curve_client) talking to svc's inbox as the tests' own service."""

    def __init__(self, dir, names=None):
        self.dir = dir
        self.keys = os.path.join(dir, "keys")
        self.trusted = os.path.join(dir, "trusted")
        os.makedirs(self.keys, exist_ok=True)
        os.makedirs(self.trusted, exist_ok=True)
        for name in list(names or BUS_CERT_NAMES.values()) + [BUS_CLIENT]:
            self.make(name, trusted=True)

    def make(self, name, trusted=True):
        """Makes name's key pair unless it exists; trusted: its public
        certificate goes into the folder the inboxes trust."""
        secret = self.secret(name)
        if not os.path.isfile(secret):
            argv = [binary("asp-certgen"), "--name", name, "--out", self.keys]
            r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            if r.returncode != 0 or not os.path.isfile(secret):
                raise HarnessError("%s failed (%s):\n%s" % (
                    " ".join(argv), _rc_text(r.returncode), r.stdout.decode("utf-8", "replace")))
        if trusted:
            shutil.copy(os.path.join(self.keys, name + ".cert"), os.path.join(self.trusted, name + ".cert"))
        return secret

    def secret(self, name):
        return os.path.join(self.keys, name + ".cert_secret")

    def env(self, svc):
        return {"ASP_BUS_CERT": self.secret(BUS_CERT_NAMES[svc]), "ASP_BUS_CERT_DIR": self.trusted}

    def curve(self, svc, name=BUS_CLIENT):
        """(public, secret, server public) in Z85 for a client named name."""
        public, secret = zmq.auth.load_certificate(self.secret(name))
        server, _ = zmq.auth.load_certificate(os.path.join(self.keys, BUS_CERT_NAMES[svc] + ".cert"))
        return public, secret, server


def curve_client(sock, curve):
    """Makes sock (not yet connected) a CURVE client; curve is
    (public, secret, server public) or None for a plain socket."""
    if curve:
        sock.curve_publickey, sock.curve_secretkey, sock.curve_serverkey = curve


# --- redis -----------------------------------------------------------------------

class RedisError(Exception):
    pass


class Redis:
    """A throwaway redis-server: AOF on (everysec), a password, its own
    directory and port. kill() is SIGKILL; restart() starts it again on the
    same directory and port, so it replays its AOF."""

    def __init__(self, dir=None, port=None, password="asp-test", log_path=None, fsync="everysec"):
        self.own_dir = dir is None
        self.dir = dir or tempfile.mkdtemp(prefix="asp-redis-")
        os.makedirs(self.dir, exist_ok=True)
        self.port = port or free_port()
        self.password = password
        self.host = "127.0.0.1"
        argv = [shutil.which("redis-server") or "/usr/bin/redis-server",
                "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", self.dir, "--appendonly", "yes", "--appendfsync", fsync,
                "--save", "", "--daemonize", "no", "--maxmemory-policy", "noeviction"]
        if password:
            argv += ["--requirepass", password]
        if REDIS_CLUSTER:
            # An explicit cluster bus port: the default, port + 10000, can
            # be taken or above 65535.
            self.cluster_port = free_port()
            argv += ["--cluster-enabled", "yes", "--cluster-port", str(self.cluster_port),
                     "--cluster-config-file", os.path.join(self.dir, "nodes.conf")]
        self.proc = Proc("redis", argv, dict(os.environ), log_path or os.path.join(self.dir, "redis.log"))
        self._sock = None
        self._buf = b""
        self._lock = threading.RLock()      # one connection, any thread

    def start(self, timeout=10.0):
        self.proc.start()
        self._close()
        wait_for(self._pingable, timeout, what="redis-server on port %d" % self.port)
        if REDIS_CLUSTER:
            # One node owns every slot (kept in nodes.conf across restarts).
            if "cluster_state:ok" not in self.cmd("CLUSTER", "INFO"):
                if not self.cmd("CLUSTER", "SLOTS"):
                    self.cmd("CLUSTER", "ADDSLOTSRANGE", 0, 16383)
                wait_for(lambda: "cluster_state:ok" in self.cmd("CLUSTER", "INFO"), timeout,
                         what="redis cluster state ok")
            # The proof works only if Redis refuses a cross-slot script.
            try:
                self.cmd("EVAL", "#!lua\nredis.call('GET', KEYS[1])\nreturn redis.call('GET', '{s1}:x')",
                         1, "{s0}:x")
            except RedisError as e:
                if "same slot" not in str(e):
                    raise
            else:
                raise HarnessError("redis in cluster mode ran a cross-slot script")
        return self

    def _pingable(self):
        if not self.proc.running():
            raise HarnessError("redis-server exited:\n" + self.proc.tail(20))
        try:
            return self.cmd("PING") == "PONG"
        except (OSError, RedisError):
            self._close()
            return False

    def kill(self):
        self._close()
        self.proc.kill()

    def restart(self, timeout=30.0):
        self.kill()
        return self.start(timeout)

    def stop(self):
        self._close()
        if self.proc.running():
            self.proc.terminate()
        _LIVE.discard(self.proc)
        if self.own_dir and os.environ.get("ASP_KEEP_TMP") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def env(self):
        return {"ASP_REDIS_HOST": self.host, "ASP_REDIS_PORT": str(self.port),
                "ASP_REDIS_PASSWORD": self.password or ""}

    # A small RESP2 client: one connection, reconnects after any error.
    def _close(self):
        with self._lock:
            self._close_locked()

    def _close_locked(self):
        if self._sock:
            try:
                self._sock.close()
            except OSError:
                pass
        self._sock = None
        self._buf = b""

    def _connect(self):
        self._sock = socket.create_connection((self.host, self.port), timeout=5)
        self._buf = b""
        if self.password:
            self._send(("AUTH", self.password))
            self._read()

    def _send(self, args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            if isinstance(a, str):
                a = a.encode()
            elif isinstance(a, (int, float)):
                a = str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self._sock.sendall(b"".join(out))

    def _line(self):
        while b"\r\n" not in self._buf:
            chunk = self._sock.recv(65536)
            if not chunk:
                raise OSError("redis closed the connection")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self._buf) < n + 2:
            chunk = self._sock.recv(65536)
            if not chunk:
                raise OSError("redis closed the connection")
            self._buf += chunk
        data, self._buf = self._buf[:n], self._buf[n + 2:]
        return data

    def _read(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RedisError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._decode(self._exact(n))
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n)]
        raise RedisError("bad reply line %r" % line)

    @staticmethod
    def _decode(data):
        try:
            return data.decode()
        except UnicodeDecodeError:
            return data         # binary values (msgpack) stay bytes

    def cmd(self, *args):
        """One command; returns str / int / list / None / bytes (binary
        bulk strings). Raises RedisError on an error reply."""
        with self._lock:
            if self._sock is None:
                self._connect()
            try:
                self._send(args)
                return self._read()
            except OSError:
                self._close_locked()
                raise

    def hgetall(self, key):
        flat = self.cmd("HGETALL", key) or []
        return dict(zip(flat[0::2], flat[1::2]))

    def keys(self, pattern="*"):
        """All keys matching pattern (SCAN, not KEYS)."""
        cursor, found = "0", []
        while True:
            cursor, batch = self.cmd("SCAN", cursor, "MATCH", pattern, "COUNT", 1000)
            found += batch
            if cursor == "0":
                return found

    def pipeline(self, commands):
        """Many commands in one write and one read: their replies in order,
        a RedisError object (not raised) for each error reply, so that the
        replies after it are still read."""
        with self._lock:
            if self._sock is None:
                self._connect()
            try:
                for args in commands:
                    self._send(args)
                out = []
                for _ in commands:
                    try:
                        out.append(self._read())
                    except RedisError as e:
                        out.append(e)
                return out
            except OSError:
                self._close_locked()
                raise

    # A key's content as its type and a digest of it, made in Redis: a
    # snapshot of thousands of keys is then a reply of 40 bytes a key, one
    # pipelined round trip (one key a call: Redis Cluster's slots allow
    # nothing wider). Lengths prefix every piece, so no two contents join
    # into the same string; a hash's or set's pieces are sorted.
    _DIGEST = """
local k = KEYS[1]
local t = redis.call('TYPE', k).ok
if t == 'none' then return false end
local a
if t == 'hash' then
  local h = redis.call('HGETALL', k)
  a = {}
  for i = 1, #h, 2 do a[#a + 1] = #h[i] .. ':' .. h[i] .. #h[i + 1] .. ':' .. h[i + 1] end
  table.sort(a)
elseif t == 'set' then
  a = redis.call('SMEMBERS', k)
  table.sort(a)
elseif t == 'zset' then
  a = redis.call('ZRANGE', k, 0, -1, 'WITHSCORES')
elseif t == 'list' then
  a = redis.call('LRANGE', k, 0, -1)
else
  a = {redis.call('DUMP', k)}
end
local parts = {}
for i = 1, #a do parts[i] = #a[i] .. ':' .. a[i] end
return t .. ':' .. redis.sha1hex(table.concat(parts))
"""

    def snapshot(self):
        """Every key with a digest of its content, compared by meaning:
        equal snapshots, same data. Not DUMP: a hash or set in hashtable
        encoding serializes in its dict's order, which a read's incremental
        rehash changes while the data stays the same."""
        keys = self.keys()
        sha = self.cmd("SCRIPT", "LOAD", self._DIGEST)
        replies = self.pipeline([("EVALSHA", sha, 1, k) for k in keys])
        for r in replies:
            if isinstance(r, RedisError):
                raise r
        return {k: r for k, r in zip(keys, replies) if r is not None}


# --- the cluster -------------------------------------------------------------------

DEFAULT_PARTNERS = (
    {"capacity": 10, "accept_ratio": 1.0, "accept_delay_ms": 50, "work_ms": 300},
    {"capacity": 10, "accept_ratio": 1.0, "accept_delay_ms": 100, "work_ms": 500},
)


def _merge(base, over):
    """Deep merge of dicts: over's values win; nested dicts merge."""
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


class Response(tuple):
    """(status, body) of an HTTP call. Unpacks as a pair; also indexes the
    JSON body by key: r["id"] is r.body["id"]."""

    def __new__(cls, status, body, headers=None):
        self = tuple.__new__(cls, (status, body))
        self.headers = headers or {}
        return self

    status = property(lambda self: tuple.__getitem__(self, 0))
    body = property(lambda self: tuple.__getitem__(self, 1))

    def __getitem__(self, key):
        if isinstance(key, str):
            if not isinstance(self.body, dict) or key not in self.body:
                raise KeyError("%r not in the HTTP answer: status %s, body %r" % (
                    key, self.status, self.body))
            return self.body[key]
        return tuple.__getitem__(self, key)

    def get(self, key, default=None):
        return self.body.get(key, default) if isinstance(self.body, dict) else default

    @property
    def id(self):
        return self.get("id")


class Timeline(list):
    """The events of a ticket's timeline (a list of {type, time_ms, data});
    t["events"] is the list itself and t.types() their types in order."""

    def __init__(self, body):
        super().__init__(body.get("events", []))
        self.ticket_id = body.get("ticket_id")
        self.raw = body

    def __getitem__(self, key):
        if isinstance(key, str):
            return self.raw[key] if key != "events" else list(self)
        return list.__getitem__(self, key)

    def types(self):
        return [e.get("type") for e in self]


class Cluster:
    """The whole system on free ports in a temporary directory.

        with Cluster() as c:
            tid = c.create_ticket()["id"]
            c.wait_for(lambda: c.ticket(tid)["status"] == "closed", 60)

    Names for kill()/restart()/start()/proc(): "redis", the services
    ("intake", "routing", "sla-timer", "notification", "feedback"), the
    partners by id ("P001", "P002", ...) and "customer".

    Start order: Redis, certificates (asp-certgen), the customer, the five
    services (each until its /healthz answers 200), the partners (until
    routing counts them all live). Defaults that differ from production,
    to keep tests short: ASP_RESEND_MS=500, ASP_OFFER_TIMEOUT_MS=3000; pass
    env= to change them or anything else.

    Arguments:
        partners      list of option dicts, one per simulated partner
                      (keys: capacity, accept_ratio, accept_delay_ms,
                      work_ms, progress, skills, regions, or any other
                      asp-sim-partner flag with - written as _), or an int
                      for that many partners with default options
        customer      start asp-sim-customer as the webhook (default True)
        env           extra ASP_* settings for every service
        service_env   {service: {var: value}} for one service only
        token         bearer token the http() helper sends by default
        start         start everything now (default True)
        wrap          {service: argv prefix}, e.g. valgrind for a service
        redis_fsync   Redis's appendfsync: everysec (default) or always
        check_exit    fail stop() when a process crashed or did not exit
                      cleanly on SIGTERM (sanitizer reports; default True)
    """

    def __init__(self, partners=None, customer=True, env=None, service_env=None,
                 token=None, start=True, check_exit=True, name="cluster", wrap=None,
                 redis_fsync="everysec"):
        if partners is None:
            partners = list(DEFAULT_PARTNERS)
        elif isinstance(partners, int):
            partners = [DEFAULT_PARTNERS[i % len(DEFAULT_PARTNERS)] for i in range(partners)]
        self.partner_opts = {"P%03d" % (i + 1): dict(o) for i, o in enumerate(partners)}
        self.with_customer = customer
        self.extra_env = dict(env or {})
        self.service_env = {k: dict(v) for k, v in (service_env or {}).items()}
        for svc in self.service_env:
            if svc not in SERVICES:
                raise HarnessError("service_env: unknown service %r" % svc)
        self.token = token
        self.check_exit = check_exit
        self.wrap = dict(wrap or {})        # service -> argv prefix (e.g. valgrind)
        self.dir = tempfile.mkdtemp(prefix="asp-%s-" % name)
        self.log_dir = os.path.join(self.dir, "log")
        self.cert_dir = os.path.join(self.dir, "certs")
        self.partner_cert_dir = os.path.join(self.cert_dir, "partners")
        for d in (self.log_dir, self.partner_cert_dir):
            os.makedirs(d, exist_ok=True)
        self.ports = {"http": free_port(), "partners": free_port(), "customer": free_port()}
        for svc in SERVICES:
            self.ports["bus:" + svc] = free_port()
            if svc != "intake":
                self.ports["metrics:" + svc] = free_port()
        self.redis = Redis(dir=os.path.join(self.dir, "redis"),
                           log_path=os.path.join(self.log_dir, "redis.log"), fsync=redis_fsync)
        self.procs = {}
        self.failed = False
        self.stopped = False
        self._buses = []
        self.bus_certs = None               # BusCerts, made by start()
        for b in SERVICES:
            binary("asp-" + b)
        binary("asp-certgen")
        if self.partner_opts:
            binary("asp-sim-partner")
        if customer:
            binary("asp-sim-customer")
        if start:
            try:
                self.start()
            except BaseException:
                self.failed = True
                self.stop()
                raise

    # -- endpoints ----------------------------------------------------------------
    def bus_endpoint(self, svc):
        return "tcp://127.0.0.1:%d" % self.ports["bus:" + svc]

    @property
    def base_url(self):
        return "http://127.0.0.1:%d" % self.ports["http"]

    @property
    def partner_endpoint(self):
        return "tcp://127.0.0.1:%d" % self.ports["partners"]

    @property
    def webhook_url(self):
        return "http://127.0.0.1:%d/webhook" % self.ports["customer"]

    def metrics_port(self, svc):
        return self.ports["http"] if svc == "intake" else self.ports["metrics:" + svc]

    def env(self):
        """The environment every process gets: ASP_* for every port."""
        e = {k: v for k, v in os.environ.items() if not k.startswith("ASP_")}
        e.update(self.redis.env())
        for svc in SERVICES:
            e[BUS_VARS[svc]] = self.bus_endpoint(svc)
        e.update({
            "ASP_HTTP_PORT": str(self.ports["http"]),
            "ASP_HTTP_BIND": "127.0.0.1",
            "ASP_PARTNER_BIND": self.partner_endpoint,
            "ASP_PARTNER_CERTS": self.partner_cert_dir,
            "ASP_ROUTING_CERT": os.path.join(self.cert_dir, "routing.cert_secret"),
            "ASP_LOG_LEVEL": "info",
            "ASP_RESEND_MS": "500",
            "ASP_OFFER_TIMEOUT_MS": "3000",
            # The shipped rules hold customers' SMS from 21:00 to 08:00:
            # tests must not depend on the hour they run at (rules_test
            # turns it on to test it).
            "ASP_NOTIFY_QUIET_HOURS": "off",
        })
        # Notification has one channel: the simulated customer's webhook, or
        # a file when the test runs without the customer.
        if self.with_customer:
            e["ASP_NOTIFY_WEBHOOK_URL"] = self.webhook_url
        else:
            e["ASP_NOTIFY_FILE"] = self.notify_file
        if self.token:
            e["ASP_SIM_TOKEN"] = self.token     # the customer answers surveys with it
        e.update({k: str(v) for k, v in self.extra_env.items()})
        return e

    def service_environment(self, svc):
        e = self.env()
        if svc != "intake":
            e["ASP_METRICS_PORT"] = str(self.ports["metrics:" + svc])
        e.update(self._bus_cert_env(svc))
        e.update({k: str(v) for k, v in self.service_env.get(svc, {}).items()})
        return e

    # -- certificates ---------------------------------------------------------------
    def _certgen(self):
        certgen = binary("asp-certgen")
        runs = [[certgen, "--name", "routing", "--out", self.cert_dir]]
        for pid in self.partner_opts:
            runs.append([certgen, "--partner-id", pid, "--out", self.cert_dir])
        for argv in runs:
            r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=self.env())
            if r.returncode != 0:
                raise HarnessError("%s failed (%s):\n%s" % (
                    " ".join(argv), _rc_text(r.returncode), r.stdout.decode("utf-8", "replace")))
        for pid in self.partner_opts:
            src = os.path.join(self.cert_dir, pid + ".cert")
            if not os.path.isfile(src):
                raise HarnessError("asp-certgen did not write %s" % src)
            shutil.copy(src, os.path.join(self.partner_cert_dir, pid + ".cert"))
        for f in ("routing.cert", "routing.cert_secret"):
            if not os.path.isfile(os.path.join(self.cert_dir, f)):
                raise HarnessError("asp-certgen did not write %s" % f)

    def _bus_certgen(self):
        """The bus certificates (BusCerts in dir/bus-certs), once."""
        if self.bus_certs is None:
            self.bus_certs = BusCerts(os.path.join(self.dir, "bus-certs"))

    def _bus_cert_env(self, svc):
        return self.bus_certs.env(svc) if self.bus_certs else {}

    # -- processes ----------------------------------------------------------------------
    def _make(self, name):
        log_path = os.path.join(self.log_dir, name + ".log")
        if name in SERVICES:
            argv = list(self.wrap.get(name, [])) + [binary("asp-" + name)]
            return Proc(name, argv, self.service_environment(name), log_path)
        if name in self.partner_opts:
            return Proc(name, self.partner_argv(name), self.env(), log_path)
        if name == "customer":
            argv = [binary("asp-sim-customer"), "--port", str(self.ports["customer"]),
                    "--record", self.customer_record_path, "--intake", self.base_url]
            return Proc(name, argv, self.env(), log_path)
        raise HarnessError("unknown process name %r" % name)

    def partner_argv(self, pid):
        opts = dict(self.partner_opts[pid])
        argv = [binary("asp-sim-partner"),
                "--endpoint", self.partner_endpoint,
                "--cert", os.path.join(self.cert_dir, pid + ".cert_secret"),
                "--server-cert", os.path.join(self.cert_dir, "routing.cert"),
                "--journal", self.journal_path(pid)]
        for key, value in opts.items():
            flag = "--" + key.replace("_", "-")
            if value is True:
                argv.append(flag)
            elif value is False or value is None:
                continue
            elif isinstance(value, (list, tuple)):
                argv += [flag, ",".join(str(v) for v in value)]
            else:
                argv += [flag, str(value)]
        return argv

    def journal_path(self, pid):
        return os.path.join(self.dir, "partners-%s.jsonl" % pid)

    @property
    def customer_record_path(self):
        return os.path.join(self.dir, "customer.jsonl")

    def proc(self, name):
        if name == "redis":
            return self.redis.proc
        return self.procs[name]

    def names(self):
        return ["redis"] + list(self.procs)

    def start(self):
        """Redis, certificates, the sim customer, the five services (waits
        until each answers /healthz), then the partners."""
        self.redis.start()
        self._certgen()
        self._bus_certgen()
        if self.with_customer:
            self.procs["customer"] = self._make("customer").start()
            self.wait_port(self.ports["customer"], "asp-sim-customer")
        for svc in SERVICES:
            self.procs[svc] = self._make(svc).start()
        for svc in SERVICES:
            self.wait_healthy(svc)
        for pid in self.partner_opts:
            self.procs[pid] = self._make(pid).start()
        if self.partner_opts:
            self.wait_partners(len(self.partner_opts))
        return self

    def partners_live(self):
        """How many partners routing counts as live (its partners_live gauge)."""
        return int(self.metric("routing", "asp_partners_live"))

    def wait_partners(self, n, timeout=15.0):
        """Waits until routing counts exactly n partners as live."""
        self.wait_for(lambda: self.partners_live() == n, timeout, interval=0.1,
                      what="%d live partner(s) at routing" % n)

    def start_proc(self, name):
        """Starts one process that is not running (after kill())."""
        if name == "redis":
            self.redis.start()
            return
        proc = self.procs.get(name)
        if proc is None or name in SERVICES:
            # Services pick up a changed service_env on restart.
            proc = self._make(name) if proc is None else proc
            if name in SERVICES:
                proc.env = self.service_environment(name)
            self.procs[name] = proc
        proc.start()
        if name in SERVICES:
            self.wait_healthy(name)

    def kill(self, name):
        """SIGKILL, as a crash would."""
        log("kill -9 %s" % name)
        if name == "redis":
            self.redis.kill()
        else:
            self.proc(name).kill()

    def restart(self, name, graceful=False):
        """Stops name (SIGKILL, or SIGTERM when graceful) and starts it again
        with the same ports, directories and certificates; for a service,
        waits until it is healthy."""
        if name == "redis":
            self.redis.restart()
            return
        proc = self.proc(name)
        if graceful:
            proc.terminate()
        else:
            proc.kill()
        self.start_proc(name)

    def alive(self, name):
        return self.proc(name).running()

    def check_alive(self, names=None):
        """Raises when any of names (default: all) is not running although
        nobody killed it."""
        dead = [n for n in (names or self.names())
                if not self.proc(n).running() and not self.proc(n).killed]
        if dead:
            for n in dead:
                self.proc(n).note_exit()
            raise HarnessError("process(es) died: %s" % ", ".join(dead))

    def stop(self):
        """Stops everything (SIGTERM, then SIGKILL after a grace period).
        When check_exit is on and nothing failed yet, raises if any process
        crashed during the test or did not exit cleanly."""
        if self.stopped:
            return
        self.stopped = True
        for b in self._buses:
            b.close()
        order = list(self.partner_opts) + list(reversed(SERVICES)) + ["customer"]
        for name in order:
            if name in self.procs:
                self.procs[name].note_exit()
                self.procs[name].terminate()
        self.redis.stop()
        problems = ["%s: %s" % (n, ", ".join(_rc_text(f) if not isinstance(f, str) else f
                                             for f in p.failures))
                    for n, p in list(self.procs.items()) + [("redis", self.redis.proc)] if p.failures]
        if problems or self.failed:
            self.print_logs()
        keep = self.failed or problems or os.environ.get("ASP_KEEP_TMP") == "1"
        if keep:
            log("kept %s" % self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
        if problems and self.check_exit and not self.failed:
            raise HarnessError("unclean process exits: " + "; ".join(problems))

    def __enter__(self):
        if self.stopped:
            raise HarnessError("cluster already stopped")
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.failed = True
        self.stop()
        return False

    def print_logs(self, lines=40):
        names = ["redis"] + list(self.procs)
        for name in names:
            proc = self.proc(name)
            out = proc.tail(lines)
            sys.stderr.write("\n===== %s (%s, last %d lines) =====\n%s\n" % (
                name, proc.log_path, lines, out))
        sys.stderr.flush()

    def log_text(self, name):
        with open(self.proc(name).log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def log_lines(self, name):
        """The JSON log lines of a process, parsed (other lines skipped)."""
        out = []
        for line in self.log_text(name).splitlines():
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
        return out

    # -- waiting --------------------------------------------------------------------------
    def wait_for(self, predicate, timeout=10.0, interval=0.05, what=None):
        return wait_for(predicate, timeout, interval, what)

    def wait_port(self, port, what, timeout=10.0):
        def up():
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                return True
            except OSError:
                return False
        wait_for(up, timeout, what="%s on port %d" % (what, port))

    def wait_healthy(self, svc, timeout=None):
        # Under valgrind a start-up (parsing the SLA policy file's calendars,
        # 2020-2050 day by day, in intake, sla-timer and notification) is
        # tens of times slower.
        if timeout is None:
            timeout = 120.0 if self.wrap.get(svc) else 20.0
        proc = self.proc(svc)

        def healthy():
            if not proc.running():
                proc.note_exit()
                raise HarnessError("%s exited during start-up:\n%s" % (svc, proc.tail(30)))
            status, _ = self.get_text(self.metrics_port(svc), "/healthz")
            return status == 200
        wait_for(healthy, timeout, interval=0.1, what="%s /healthz" % svc)

    # -- HTTP -----------------------------------------------------------------------------
    def http(self, method, path, body=None, headers=None, port=None, timeout=10.0, raw=False):
        """One HTTP request to intake (or another port). body: a dict/list
        (sent as JSON), str or bytes. Returns Response(status, parsed JSON
        or text); status 0 when the connection failed."""
        hdrs = {}
        if self.token:
            hdrs["Authorization"] = "Bearer " + self.token
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        elif isinstance(body, str):
            body = body.encode()
            hdrs["Content-Type"] = "application/json"
        hdrs.update(headers or {})
        hdrs = {k: v for k, v in hdrs.items() if v is not None}
        conn = http.client.HTTPConnection("127.0.0.1", port or self.ports["http"],
                                          timeout=timeout * TIMEOUT_SCALE)
        try:
            conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            rheaders = {k.lower(): v for k, v in resp.getheaders()}
            # An event stream does not end: its status and headers only
            # (tests/ops_test.py reads one whole).
            if rheaders.get("content-type", "").startswith("text/event-stream"):
                return Response(resp.status, None, rheaders)
            data = resp.read()
        except (OSError, http.client.HTTPException):
            return Response(0, None)
        finally:
            conn.close()
        if raw:
            return Response(resp.status, data, rheaders)
        text = data.decode("utf-8", "replace")
        parsed = text
        if text and (rheaders.get("content-type", "").startswith("application/json")
                     or text[:1] in "{["):
            try:
                parsed = json.loads(text)
            except ValueError:
                parsed = text
        return Response(resp.status, parsed, rheaders)

    def get_text(self, port, path):
        return self.http("GET", path, port=port, timeout=5.0)

    def default_ticket(self):
        n = random.randint(0, 99999999)
        return {
            "type": "repair",
            "tier": "standard",
            "priority": 3,
            "customer": {"name": "张伟", "phone": "138%08d" % n, "region": "north",
                         "address": "1 Test Road", "class": "B"},
            "product": {"serial": "SN%08d" % n, "model": "WH-100", "category": "water_heater"},
            "description": "No hot water since yesterday.",
            "channel": "hotline",
            "agent": "agent-1",
        }

    def ticket_body(self, **overrides):
        """A valid ticket body (the default, deep-merged with overrides:
        customer={"region": "south"} changes only the region; a value None
        removes the field)."""
        return _drop_none(_merge(self.default_ticket(), overrides))

    def create_ticket(self, idempotency_key=None, headers=None, body=None, **overrides):
        """POST /v1/tickets with body, or a valid default body (see
        ticket_body). Returns the Response: unpack it as (status, body) or
        index it: c.create_ticket()["id"]."""
        if body is None:
            body = self.ticket_body(**overrides)
        hdrs = dict(headers or {})
        if idempotency_key:
            hdrs["Idempotency-Key"] = idempotency_key
        return self.http("POST", "/v1/tickets", body, hdrs)

    def new_ticket(self, timeout=30.0, **overrides):
        """Creates a ticket and returns its id, retrying a retryable answer
        (no connection, 429, 503: e.g. right after Redis restarted) with the
        same Idempotency-Key, as a well-behaved client would. Raises
        HarnessError on any other answer or after timeout."""
        key = overrides.pop("idempotency_key", None) or new_id("idem")
        body = self.ticket_body(**overrides)    # a retry is the same request
        last = []

        def created():
            r = self.create_ticket(idempotency_key=key, body=body)
            last[:] = [r]
            if r.status in (200, 201):
                return r["id"]
            if r.status not in (0, 429, 503):
                raise HarnessError("POST /v1/tickets: %s %r" % (r.status, r.body))
            return None
        try:
            return self.wait_for(created, timeout, interval=0.1, what="a ticket to be accepted")
        except HarnessError:
            if last:
                log("last answer: %s %r" % (last[0].status, last[0].body))
            raise

    def get(self, path, timeout=10.0):
        """GET path, retrying a retryable answer (no connection, 429, 503:
        e.g. intake's first request after Redis restarted finds its
        connection gone) as a well-behaved client would, for timeout s."""
        last = []

        def answered():
            r = self.http("GET", path)
            last[:] = [r]
            return r if r.status not in (0, 429, 503) else None
        try:
            return self.wait_for(answered, timeout, interval=0.1, what="GET %s" % path)
        except HarnessError:
            if last:
                return last[0]
            raise

    def ticket(self, tid):
        """The ticket as GET /v1/tickets/{id} returns it; None on 404."""
        r = self.get("/v1/tickets/%s" % tid)
        if r.status == 404:
            return None
        if r.status != 200:
            raise HarnessError("GET ticket %s: %s %r" % (tid, r.status, r.body))
        return r.body

    def status(self, tid):
        t = self.ticket(tid)
        return t and t.get("status")

    def timeline(self, tid):
        """The ticket's timeline events (a Timeline list); None on 404."""
        r = self.get("/v1/tickets/%s/timeline" % tid)
        if r.status == 404:
            return None
        if r.status != 200:
            raise HarnessError("GET timeline %s: %s %r" % (tid, r.status, r.body))
        return Timeline(r.body)

    def survey(self, tid, score=5, resolved=True, **extra):
        body = dict(score=score, resolved=resolved, **extra)
        return self.http("POST", "/v1/tickets/%s/survey" % tid, body)

    def wait_status(self, tid, status, timeout=60.0):
        """Waits until the ticket has status (or any of a list of them)."""
        wanted = (status,) if isinstance(status, str) else tuple(status)
        return self.wait_for(lambda: self.status(tid) in wanted and self.ticket(tid),
                             timeout, interval=0.1, what="ticket %s status %s" % (tid, "/".join(wanted)))

    # -- metrics and health ---------------------------------------------------------------
    def metrics(self, svc):
        """{sample name with labels: value} from a service's /metrics."""
        r = self.get_text(self.metrics_port(svc), "/metrics")
        if r.status != 200:
            raise HarnessError("%s /metrics: status %s" % (svc, r.status))
        out = {}
        for line in str(r.body).splitlines():
            if not line or line.startswith("#"):
                continue
            try:
                name, value = line.rsplit(" ", 1)
                out[name] = float(value)
            except ValueError:
                continue
        return out

    def drained(self):
        """True when no service has anything left to deliver: none holds an
        unacknowledged message, no outbox hash holds one (a message intake's
        HTTP thread committed reaches the loop's count a moment later), and
        notification has sent everything it queued. Tests that check that
        something changed nothing wait for this first."""
        return all(self.metric(s, "asp_outbox_pending") == 0 for s in SERVICES) and \
            all(self.redis.cmd("HLEN", k) == 0 for k in self.redis.keys("{s*}:ob:*")) and \
            all(self.redis.cmd("LLEN", k) == 0 for q in ("notify:pending", "notify:processing")
                for k in shard_keys(q))

    def metric(self, svc, name, default=0.0):
        """Sum of every sample of metric name (any labels)."""
        total, found = 0.0, False
        for sample, value in self.metrics(svc).items():
            if sample == name or sample.startswith(name + "{"):
                total += value
                found = True
        return total if found else default

    def healthz(self, svc):
        return self.get_text(self.metrics_port(svc), "/healthz")

    # -- partners, customer, bus ----------------------------------------------------------
    def journal(self, pid):
        """The partner simulator's journal: one parsed JSON object a line."""
        return _read_jsonl(self.journal_path(pid))

    @property
    def notify_file(self):
        return os.path.join(self.dir, "notifications.jsonl")

    def notifications(self):
        """What notification wrote to ASP_NOTIFY_FILE (Cluster(customer=False))."""
        return _read_jsonl(self.notify_file)

    def customer_records(self):
        """What the simulated customer recorded (one JSON object a line)."""
        return _read_jsonl(self.customer_record_path)

    def bus(self, svc, timeout=5.0):
        """A Bus connected to svc's inbox; closed by stop()."""
        b = Bus(self.bus_endpoint(svc), timeout, curve=self.bus_certs.curve(svc))
        self._buses.append(b)
        return b


def _drop_none(d):
    if isinstance(d, dict):
        return {k: _drop_none(v) for k, v in d.items() if v is not None}
    return d


def _read_jsonl(path):
    out = []
    try:
        with open(path, "rb") as f:
            for line in f.read().decode("utf-8", "replace").splitlines():
                line = line.strip()
                if line:
                    try:
                        out.append(json.loads(line))
                    except ValueError:
                        pass        # a line cut by a kill -9
    except FileNotFoundError:
        pass
    return out


def run(test_fn, name=None):
    """Runs one test function as a script: exit 0 on success, 1 with the
    traceback otherwise, SKIP_CODE when it called skip(reason). Use as:
    if __name__ == "__main__": run(main). With a name, the last line is the
    summary "<name>: 1 passed, 0 failed" (or "0 passed, 1 failed", or
    "0 passed, 0 failed, 1 skipped")."""
    import traceback
    start = time.monotonic()
    try:
        test_fn()
    except Skip as e:
        print("%s: skipped: %s" % (name or "test", e), flush=True)
        if name:
            print("%s: 0 passed, 0 failed, 1 skipped" % name, flush=True)
        sys.exit(SKIP_CODE)
    except BaseException as e:          # noqa: B902 (report everything)
        if isinstance(e, SystemExit) and not e.code:
            raise
        traceback.print_exc()
        print("FAILED after %.1f s" % (time.monotonic() - start), flush=True)
        if name:
            print("%s: 0 passed, 1 failed" % name, flush=True)
        sys.exit(1)
    print("OK (%.1f s)" % (time.monotonic() - start), flush=True)
    if name:
        print("%s: 1 passed, 0 failed" % name, flush=True)


def _selftest():
    """The harness checks itself against the real binaries (ctest:
    harness_selftest): one ticket to the end, every process killed with
    SIGKILL and started again, Redis too, the bus helpers, the exit check.
    Redis runs with appendfsync always (as in kill_test): with everysec a
    SIGKILLed Redis may lose writes it already answered (docs/architecture.md),
    and a ticket whose write was lost would never close."""
    with Redis(fsync="always") as r:
        assert r.cmd("SET", "k", "v") == "OK" and r.cmd("GET", "k") == "v"
        r.cmd("HSET", "h", "bin", b"\x81\xa1a\x01")
        assert r.hgetall("h") == {"bin": b"\x81\xa1a\x01"}
        r.restart()                       # SIGKILL: answered means on disk
        assert r.cmd("GET", "k") == "v", "AOF did not survive kill -9"
        try:
            r.cmd("NOSUCHCOMMAND")
            raise AssertionError("error reply not raised")
        except RedisError:
            pass
    raw = envelope("ticket.created", "T1", {"a": 1}, id="m1", trace="tr1", time_ms=5)
    assert msgpack.unpackb(raw) == [1, "ticket.created", "m1", "T1", "tr1", 5, {"a": 1}]

    with Cluster(name="harness", redis_fsync="always") as c:
        tid = c.new_ticket()
        c.wait_status(tid, "closed", 60)
        tl = c.timeline(tid)
        # The life's own steps (notification's deliveries interleave).
        life = [t for t in tl.types() if not t.startswith("notification.")]
        assert life[0] == "ticket.created" and life[-1] == "ticket.closed", tl.types()
        assert "notification.delivered" in tl.types(), tl.types()
        assert tl["ticket_id"] == tid and tl["events"] == list(tl)
        r = c.create_ticket(priority=9)
        assert r.status == 400 and r.get("error"), r
        status, body = c.create_ticket(customer={"region": "south"})
        assert status == 201 and body["id"].startswith("T"), (status, body)
        assert c.ticket("Tnosuchticket") is None
        ids = [tid, body["id"]]
        for name in ["routing", "intake", "redis", "sla-timer", "notification", "feedback",
                     "P001", "customer"]:
            c.kill(name)
            assert not c.alive(name)
            c.start_proc(name)
            ids.append(c.new_ticket())
        c.restart("P002", graceful=True)
        c.wait_partners(2)
        for t in ids:
            c.wait_status(t, "closed", 90)
        c.check_alive()
        # Bus: garbage is refused with a reason, a valid message is answered.
        bus = c.bus("feedback")
        nak = bus.send([b"\xdd\xff\x00\x00\x00"])
        assert nak and nak[0] == "NAK" and nak[2], nak
        answer = bus.publish("survey.submitted", "Tnosuchticket", {"score": 5, "resolved": True})
        assert answer and answer[0] in ("ACK", "NAK"), answer
        assert c.metric("intake", "asp_bus_refused_total") >= 0
        assert c.healthz("routing").status == 200
        assert any(rec.get("template") == "survey_request" for rec in c.customer_records())
        assert any(j.get("event") == "complete" for p in ("P001", "P002") for j in c.journal(p))
        # A crash is reported when the cluster stops.
        os.kill(c.proc("sla-timer").pid, signal.SIGSEGV)
        c.wait_for(lambda: not c.alive("sla-timer"), 5, what="sla-timer to die")
        c.check_exit = False
        try:
            c.check_alive()
            raise AssertionError("a crash went unnoticed")
        except HarnessError:
            pass
        c.failed = False
        c.stop()
        assert c.proc("sla-timer").failures, "the crash was not recorded"
        shutil.rmtree(c.dir, ignore_errors=True)   # kept because of the crash
    log("harness selftest passed")


if __name__ == "__main__":
    run(_selftest)
