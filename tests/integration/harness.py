"""Runs seccompd as a child for the integration tests and the benchmarks, as crun's tests_utils.py does
for crun: one place that starts it, waits on it and stops it.

    d = Daemon(["--source", f"dir:{src}", "--root", root], env={"KUBECONFIG": None}, dir=tmp)
    d.ready()                          # READY=1: the first full sync is on disk
    d.until(lambda: os.path.exists(f"{root}/a.json"))   # re-checked after each finished sync
    d.wait_status(lambda s: "1 pending deletion" in s)  # -> the STATUS= text
    d.wait_log(r"invalid update rejected")              # -> re.Match, or None at the deadline
    d.log_text(), d.log_lines(), d.log_search(pattern), d.log_tail()
    d.next_sync(), d.drain(), d.quiet(), d.memory(), d.running(), d.proc, d.started
    rc = d.stop()                      # SIGTERM (or the signal given), wait, the exit status
    with Daemon(args) as d: ...        # close() on the way out: stopped, socket and private directory gone
    Daemon(["--follow", ...], verb="record")            # another long-running verb: the same waits on its log
    Inotify(root, IN_MOVED_TO).wait(lambda mask, name: name == "a.json", timeout)

Every wait is on an event with a deadline, never a sleep: sd_notify datagrams on a socket the harness
binds (passed as NOTIFY_SOCKET, as PID 1 does), the daemon's exit on a pidfd, log writes with inotify.
The notify waits raise AssertionError (a test failure) with the log's tail when the deadline passes or
seccompd exits first; wait_log returns None instead, so a test can probe for a line and assert itself.

The binary is $SECCOMPD (tests/meson.build sets it); a benchmark passes its own with seccompd=."""
import ctypes
import json
import math
import os
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

IN_MODIFY, IN_MOVED_TO = 0x2, 0x80
LABEL = {"seccompd.io/profile": "true"}


# ---- what the Kubernetes tests and the fault matrix share

def profile(i, version=0):
    """A small valid profile, distinct per (i, version)."""
    return json.dumps({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1 + (i * 7 + version) % 200}]})


def configmap(name, data, namespace="default", labels=LABEL, annotations=None):
    meta = {"name": name, "namespace": namespace, "labels": dict(labels)}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data}


def read(path):
    """A file's text, or None when it is not there."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(port, path):
    """(status, body) of GET path on the daemon's --listen port; an error status is returned too."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def fill_disk(directory):
    """Fills the file system of directory with a file in a new subdirectory of it (one seccompd does
    not manage, so not watched: freeing it is no event the daemon sees); returns the file's path."""
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, "filler")
    with open(path, "wb") as f:
        try:
            f.write(b"x" * (1 << 20))
        except OSError:
            pass
    return path



class Inotify:
    """inotify on one path, through libc (the stdlib has no binding)."""

    def __init__(self, path, mask):
        libc = ctypes.CDLL(None, use_errno=True)
        self.fd = libc.inotify_init1(os.O_CLOEXEC | os.O_NONBLOCK)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), f"inotify_init1: {os.strerror(ctypes.get_errno())}")
        if libc.inotify_add_watch(self.fd, os.fsencode(path), mask) < 0:
            e = ctypes.get_errno()
            os.close(self.fd)
            raise OSError(e, f"inotify_add_watch {path}: {os.strerror(e)}")

    def read(self):
        """The events queued now, as (mask, name); [] when there are none."""
        try:
            buf = os.read(self.fd, 65536)
        except BlockingIOError:
            return []
        out, off = [], 0
        while off < len(buf):
            _, mask, _, length = struct.unpack_from("iIII", buf, off)
            out.append((mask, buf[off + 16:off + 16 + length].rstrip(b"\0").decode()))
            off += 16 + length
        return out

    def wait(self, pred, timeout):
        """Events until pred(mask, name) holds: True, or False at the deadline."""
        deadline = time.monotonic() + timeout
        while select.select([self.fd], [], [], max(deadline - time.monotonic(), 0))[0]:
            if any(pred(mask, name) for mask, name in self.read()):
                return True
        return False

    def close(self):
        os.close(self.fd)


class Daemon:
    """`seccompd VERB ARGS...` as a child: stderr to a log file, stdout to /dev/null, NOTIFY_SOCKET set.

    env adds to (or, with a value of None, removes from) the test's own environment. The notify socket
    (`notify`) and the log (`seccompd.log`) go in dir, which the caller owns, one daemon per dir; without
    dir they go in a private directory that close() removes. timeout is the default deadline, in
    seconds, of every wait."""

    def __init__(self, args, *, verb="run", env=None, dir=None, timeout=30, seccompd=None, expect_confined=True,
                 wrap=None):
        """expect_confined: ready() checks that seccompd run confined itself (benchmarks may run an
        older binary that does not). wrap: a command that execs seccompd as its last arguments (to put
        it in a cgroup first, say)."""
        self.timeout = timeout
        self.expect_confined = expect_confined
        self.verb, self.args = verb, list(args)
        self.private = dir is None
        self.dir = tempfile.mkdtemp(prefix="seccompd-") if self.private else dir
        self.log_path = os.path.join(self.dir, "seccompd.log")
        self.messages = []  # every notify datagram received, in order
        self._log_watch = None
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        self.sock.bind(os.path.join(self.dir, "notify"))
        self.sock.setblocking(False)
        e = dict(os.environ, NOTIFY_SOCKET=os.path.join(self.dir, "notify"))
        for k, v in (env or {}).items():
            if v is None:
                e.pop(k, None)
            else:
                e[k] = v
        with open(self.log_path, "wb") as log:
            self.started = time.monotonic()
            self.proc = subprocess.Popen([*(wrap or []), seccompd or os.environ["SECCOMPD"], verb, *args], env=e,
                                         stdout=subprocess.DEVNULL, stderr=log)
        self.pidfd = os.pidfd_open(self.proc.pid)  # readable once the process has exited
        self._poll = select.poll()
        self._poll.register(self.sock, select.POLLIN)
        self._poll.register(self.pidfd, select.POLLIN)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- the notify socket

    def _recv(self):
        try:
            msg = self.sock.recv(65536).decode()
        except BlockingIOError:
            return None
        self.messages.append(msg)
        return msg

    def _deadline(self, timeout):
        return time.monotonic() + (self.timeout if timeout is None else timeout)

    def _fail(self, what):
        raise AssertionError(f"{what}; last notify messages: {self.messages[-3:]}; log:\n{self.log_tail()}")

    def wait_notify(self, pred, timeout=None):
        """Notify datagrams until pred(message) holds; returns that message. Fails at the deadline, or
        when seccompd has exited and sent nothing more."""
        deadline = self._deadline(timeout)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self._fail("seccompd did not report in time")
            events = dict(self._poll.poll(math.ceil(left * 1000)))
            if events.get(self.sock.fileno()):
                msg = self._recv()
                if msg is not None and pred(msg):
                    return msg
            elif events.get(self.pidfd):
                self._fail(f"seccompd exited with status {self.proc.wait()}")

    def ready(self, timeout=None):
        """Until READY=1: the first full sync is on disk. seccompd run is confined by then (its own
        seccomp filter, no_new_privs, no capability), so every test checks that it runs so."""
        msg = self.wait_notify(lambda m: "READY=1" in m.splitlines(), timeout)
        if self.expect_confined and self.verb == "run" and "--no-self-confine" not in self.args:
            status = self.confinement()
            if status != {"Seccomp": "2", "NoNewPrivs": "1", "CapEff": "0000000000000000"}:
                raise AssertionError(f"seccompd run is not confined: {status}")
        return msg

    def confinement(self):
        """What /proc says of the daemon's confinement."""
        with open(f"/proc/{self.proc.pid}/status") as f:
            fields = dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
        return {k: fields.get(k, "").strip() for k in ("Seccomp", "NoNewPrivs", "CapEff")}

    def wait_status(self, pred, timeout=None):
        """Until a STATUS= line whose text satisfies pred; returns the text (without STATUS=)."""
        def status(m):
            return next((line[7:] for line in m.splitlines() if line.startswith("STATUS=") and pred(line[7:])),
                        None)
        return status(self.wait_notify(lambda m: status(m) is not None, timeout))

    def next_sync(self, timeout=None):
        """Until the next sync has finished (directory fsync and logging included): seccompd reports
        "STATUS=sync N: ..." at the end of each."""
        return self.wait_status(lambda s: s.startswith("sync "), timeout)

    def until(self, check, timeout=None):
        """Until check() holds, checked now and after each finished sync."""
        deadline = self._deadline(timeout)
        while not check():
            self.next_sync(max(deadline - time.monotonic(), 0.001))

    def drain(self):
        """What is queued on the socket now, without waiting. Like PID 1, whoever runs seccompd must
        read: once the socket's queue is full, sd_notify blocks."""
        out = []
        while (msg := self._recv()) is not None:
            out.append(msg)
        return out

    def quiet(self, idle=1.0, timeout=None):
        """Until no message has come for idle seconds (the loop has gone quiet); returns those read."""
        deadline = self._deadline(timeout)
        out = []
        while True:
            if time.monotonic() + idle > deadline:
                self._fail(f"seccompd was not quiet for {idle} s in time")
            events = dict(self._poll.poll(math.ceil(idle * 1000)))
            if not events:
                return out
            if events.get(self.sock.fileno()):
                out += self.drain()
            elif events.get(self.pidfd):
                self._fail(f"seccompd exited with status {self.proc.wait()}")

    # ---- the log

    def log_text(self):
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def log_lines(self):
        """The records of --log-format json."""
        return [json.loads(line) for line in self.log_text().splitlines() if line.startswith("{")]

    def log_tail(self, chars=3000):
        return self.log_text()[-chars:]

    def log_search(self, pattern):
        return re.search(pattern, self.log_text())

    def wait_log(self, pattern, timeout=None):
        """Until the log matches pattern (a regex): the re.Match, or None at the deadline or once
        seccompd has exited without writing it. Woken by inotify on each write to the log."""
        if self._log_watch is None:
            self._log_watch = Inotify(self.log_path, IN_MODIFY)  # before the first look: no write is missed
        deadline = self._deadline(timeout)
        while True:
            self._log_watch.read()
            m = self.log_search(pattern)
            left = deadline - time.monotonic()
            if m or left <= 0:
                return m
            r, _, _ = select.select([self._log_watch.fd, self.pidfd], [], [], left)
            if self.pidfd in r and self._log_watch.fd not in r:
                return self.log_search(pattern)  # written just before the exit, or never

    # ---- the process

    def running(self):
        return self.proc.poll() is None

    def memory(self):
        """VmRSS, RssAnon and PSS in KiB, from /proc."""
        with open(f"/proc/{self.proc.pid}/status") as f:
            status = dict(line.split(":", 1) for line in f)
        with open(f"/proc/{self.proc.pid}/smaps_rollup") as f:
            pss = next(line for line in f if line.startswith("Pss:"))
        return int(status["VmRSS"].split()[0]), int(status["RssAnon"].split()[0]), int(pss.split()[1])

    def stop(self, sig=signal.SIGTERM, timeout=None):
        """Sends sig if seccompd is still running, waits for it; returns its exit status. Its notify
        messages are read meanwhile: the socket queues only net.unix.max_dgram_qlen (10) of them, and
        sd_notify() blocks when it is full, as it would if the service manager stopped reading."""
        if self.running():
            self.proc.send_signal(sig)
        deadline = self._deadline(timeout)
        while self.proc.poll() is None:
            left = deadline - time.monotonic()
            if left <= 0:
                return self.proc.wait(timeout=0.001)  # raises TimeoutExpired, as before
            events = dict(self._poll.poll(math.ceil(left * 1000)))
            if events.get(self.sock.fileno()):
                while self._recv() is not None:
                    pass
        return self.proc.wait()

    def close(self):
        """Stopped (killed if SIGTERM does not do it in time), every descriptor closed, the private
        directory removed. Asserts nothing: a test checks stop()'s status itself."""
        try:
            self.stop()
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.pidfd < 0:
            return  # closed already
        self.sock.close()
        os.close(self.pidfd)
        self.pidfd = -1
        if self._log_watch:
            self._log_watch.close()
        if self.private:
            shutil.rmtree(self.dir, ignore_errors=True)
