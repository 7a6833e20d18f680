"""The real runtimes, run the way a node runs them, for tests and measurements that ask "what does the
runtime do with this profile?":

- containerd: the profile file's JSON decoded into the OCI LinuxSeccomp type and re-marshalled into
  config.json's linux.seccomp (oci_seccomp()), then `runc run` on a bundle shaped like the one
  containerd's CRI plugin writes for a default pod: root, the 14 default capabilities, and
  noNewPrivileges only when the container sets allowPrivilegeEscalation: false;
- CRI-O: containers-common's loader, which is what `podman --security-opt seccomp=FILE` uses, with
  podman's own runc.

Every run has a bound: a profile can leave runc blocked forever (a KILL action kills one thread of runc's
init and the others wait; a NOTIFY rule with no agent blocks the init in the syscall). A run that is
still going after HANG_SECONDS is reported as "hung" and its whole process group is killed; the bound is
a classification, not a synchronisation: a start takes well under a second here.

Needs root, runc, podman and busybox-static (tests/run installs them)."""
import ctypes
import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time

RUNC = shutil.which("runc")
PODMAN = shutil.which("podman")
BUSYBOX = "/bin/busybox"  # busybox-static: a rootfs with no shared libraries to copy
HANG_SECONDS = 15
APPLETS = ("sh", "echo", "cat", "mkdir", "true")

# containerd's (and Docker's) default capability set, as the CRI plugin writes it for a container that
# asks for nothing more.
DEFAULT_CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
                "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
                "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"]


def missing_tools():
    """What this module needs and the machine lacks, for a test to fail on (never skip)."""
    missing = [name for name, path in (("runc", RUNC), ("podman", PODMAN), ("gcc", shutil.which("gcc")))
               if not path]
    if not os.path.exists(BUSYBOX):
        missing.append("busybox-static (/bin/busybox)")
    if os.geteuid() != 0:
        missing.append("root")
    return missing


class Pairs(list):
    """A JSON object as Go's decoder sees it: every key, duplicates included, in order."""


def oci_seccomp(raw):
    """The installed file as containerd puts it into config.json (contrib/seccomp WithProfile):
    encoding/json into specs.LinuxSeccomp, so only OCI fields survive, keys match case-insensitively,
    the last duplicate wins; then re-marshalled, dropping the omitempty fields that are empty."""
    strings = {"defaultAction", "listenerPath", "listenerMetadata", "action", "index", "value", "valueTwo", "op"}

    def pick(obj, fields):
        out = {}
        if not isinstance(obj, Pairs):
            return out
        for key, value in obj:  # in order: a later key (any case) overrides an earlier one
            for name in fields:
                # null into a Go string or number leaves it as it was; into a slice or pointer it clears
                if key.lower() == name.lower() and not (value is None and name in strings):
                    out[name] = value
        return out

    def omit_empty(obj, omitempty):
        return {k: v for k, v in obj.items() if not (k in omitempty and v in (None, "", 0, [], {}))}

    s = pick(json.loads(raw, object_pairs_hook=Pairs), ["defaultAction", "defaultErrnoRet", "architectures", "flags", "listenerPath",
                               "listenerMetadata", "syscalls"])
    syscalls = []
    for rule in s.get("syscalls") or []:
        r = pick(rule, ["names", "action", "errnoRet", "args"])
        r["args"] = [omit_empty(pick(a, ["index", "value", "valueTwo", "op"]), {"valueTwo"})
                     for a in r.get("args") or []]
        syscalls.append(omit_empty(r, {"args"}))
    s["syscalls"] = syscalls
    s.setdefault("defaultAction", "")
    return omit_empty(s, {"architectures", "flags", "listenerPath", "listenerMetadata", "syscalls"})


def predicted_failures(diagnostics):
    """What `seccompd validate --json` predicts, from a file's diagnostics: {mode: True (no container
    starts), "sometimes" (some starts fail: a call Go's runtime makes only sometimes), False} for mode
    "no-nnp" (Kubernetes's default) and "nnp" (allowPrivilegeEscalation: false)."""
    fails = {"no-nnp": False, "nnp": False}

    def mark(mode, sometimes):
        if fails[mode] is not True:
            fails[mode] = "sometimes" if sometimes else True

    for d in diagnostics:
        some = d["message"].startswith(f"{d['path']}: some starts fail under this profile")
        # An architecture or flag only a newer libseccomp knows: runc built with an older one refuses the
        # profile. Debian's runc is built with the libseccomp seccompd is (2.5.4): it is older.
        if d["code"] == "needs-newer-libseccomp" and d["path"].startswith(("architectures", "flags")):
            mark("no-nnp", False)
            mark("nnp", False)
        elif d["code"] == "container-needs-no-new-privileges":
            mark("no-nnp", some)
        elif d["code"] == "container-cannot-start":
            mark("nnp", some)
            if "when it sets allowPrivilegeEscalation: false" not in d["message"]:
                mark("no-nnp", some)
    return fails


def build_workloads(directory):
    """Compiles tests/startup's workloads (gcc, static): exit0, which makes one syscall (exit), and
    probe, a static glibc program. Returns (host file, path inside the rootfs) pairs for Runtimes."""
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "startup")
    subprocess.run(["gcc", "-nostdlib", "-static", "-O2", "-o", f"{directory}/exit0", f"{src}/exit0.c"],
                   check=True)
    subprocess.run(["gcc", "-static", "-O2", "-o", f"{directory}/probe", f"{src}/probe.c"], check=True)
    return [(f"{directory}/exit0", "bin/exit0"), (f"{directory}/probe", "bin/probe")]


def make_rootfs(path, extra=()):
    """A busybox rootfs; extra: (host file, path inside) pairs, e.g. a static probe binary."""
    for d in ("bin", "etc", "tmp", "proc", "dev", "sys", "run"):
        os.makedirs(f"{path}/{d}", exist_ok=True)
    shutil.copy2(BUSYBOX, f"{path}/bin/busybox")
    for applet in APPLETS:
        if not os.path.lexists(f"{path}/bin/{applet}"):
            os.symlink("busybox", f"{path}/bin/{applet}")
    with open(f"{path}/etc/motd", "w") as f:
        f.write("allowed read\n")
    for src, dst in extra:
        shutil.copy2(src, f"{path}/{dst}")


def unmount_under(path):
    """Unmounts what is mounted below path, deepest first: a podman container killed while hung leaves
    its /dev/shm mounted in our storage directory (podman's cleanup would have unmounted it)."""
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4].replace("\\040", " ") for line in f]
    for point in sorted((p for p in points if p.startswith(path + "/")), key=len, reverse=True):
        subprocess.run(["umount", point], check=True)


class Outcome:
    """What one container start did. state: "ran" (runc started the process and it exited; returncode
    is its status), "refused" (the runtime reported an error before or while starting the process),
    "hung" (still running after HANG_SECONDS: killed)."""

    def __init__(self, state, returncode, stdout, stderr):
        self.state, self.returncode, self.stdout, self.stderr = state, returncode, stdout, stderr

    @property
    def started(self):
        return self.state == "ran" and self.returncode == 0

    def __repr__(self):
        tail = " | ".join(self.stderr.strip().splitlines()[-2:])
        return f"<{self.state} exit={self.returncode} stderr={tail!r}>"


def wait_for_exit_of_processes_naming(path, timeout):
    """conmon runs `podman container cleanup` (with our --root) after the container exits, possibly
    after `podman run` returned: wait for such stragglers to exit (pidfd, no polling) before removing
    the directories they write to."""
    deadline = time.monotonic() + timeout
    for pid in os.listdir("/proc"):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if path.encode() not in f.read():
                    continue
            fd = os.pidfd_open(int(pid))
        except (ValueError, OSError):  # not a process, or already gone
            continue
        try:
            select.select([fd], [], [], max(deadline - time.monotonic(), 0))
        finally:
            os.close(fd)


PR_SET_CHILD_SUBREAPER = 36


def _become_subreaper():
    """conmon double-forks, and a hung runc's init outlives runc: as a subreaper this process inherits
    them instead of PID 1 (which on these machines never reaps), so it can kill and reap them."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def _descendants():
    children = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (ValueError, OSError):
            continue
        children.setdefault(ppid, []).append(int(pid))
    out, pending = [], [os.getpid()]
    while pending:
        for c in children.get(pending.pop(), []):
            out.append(c)
            pending.append(c)
    return out


def _reap():
    """Collects every exited child (orphans inherited as a subreaper); call with no Popen running."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _kill_descendants():
    for pid in _descendants():
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for pid in _descendants():  # only direct children can be waited for; the rest were reparented
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
    _reap()


def _run_bounded(argv, refused):
    """Runs argv in its own process group; refused(returncode, stderr) tells a runtime error from the
    workload's own exit status. After a hang every process this one started is killed and reaped."""
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, start_new_session=True)
    try:
        out, err = p.communicate(timeout=HANG_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        _kill_descendants()
        return Outcome("hung", None, out, err)
    _reap()
    return Outcome("refused" if refused(p.returncode, err) else "ran", p.returncode, out, err)


class Runtimes:
    """Runs containers under profiles; everything it creates is under one temporary directory, removed
    by close()."""

    def __init__(self, workloads=False):
        """workloads: also build tests/startup's exit0 and probe into the rootfs (/bin)."""
        _become_subreaper()
        self.tmp = tempfile.mkdtemp(prefix="seccompd-runtimes-")
        self.rootfs = f"{self.tmp}/rootfs"
        self.runc_state = f"{self.tmp}/runc"  # both runtimes' runc keeps its state here
        self.runs = 0
        make_rootfs(self.rootfs, build_workloads(self.tmp) if workloads else ())

    def close(self):
        wait_for_exit_of_processes_naming(f"{self.tmp}/", timeout=30)
        _reap()
        self._delete_containers()
        unmount_under(self.tmp)
        shutil.rmtree(self.tmp)

    def _delete_containers(self):
        """What a failed or killed start left in runc's state (and its cgroups)."""
        for container in os.listdir(self.runc_state) if os.path.isdir(self.runc_state) else ():
            subprocess.run([RUNC, "--root", self.runc_state, "delete", "--force", container],
                           capture_output=True)

    def profile_file(self, profile):
        """A path holding profile (a dict, or the raw text of a file)."""
        self.runs += 1
        path = f"{self.tmp}/profile-{self.runs}.json"
        with open(path, "w") as f:
            f.write(profile if isinstance(profile, str) else json.dumps(profile))
        return path

    def runc(self, profile, args=("/bin/true",), no_new_privs=False):
        """containerd + runc. profile: a dict or the raw file text."""
        raw = profile if isinstance(profile, str) else json.dumps(profile)
        self.runs += 1
        bundle = f"{self.tmp}/bundle-{self.runs}"
        os.mkdir(bundle)
        subprocess.run([RUNC, "spec", "--bundle", bundle], check=True)
        with open(f"{bundle}/config.json") as f:
            config = json.load(f)
        config["linux"]["seccomp"] = oci_seccomp(raw)
        caps = {k: list(DEFAULT_CAPS) for k in ("bounding", "effective", "permitted")}
        config["process"].update(terminal=False, args=list(args), noNewPrivileges=no_new_privs,
                                 capabilities=caps)
        config["root"] = {"path": self.rootfs, "readonly": True}
        config["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
                                 "options": ["nosuid", "nodev", "mode=1777"]})
        with open(f"{bundle}/config.json", "w") as f:
            json.dump(config, f)
        container = f"seccompd-rt-{os.getpid()}-{self.runs}"
        try:
            # runc's own failures end in "runc run failed: ..." (exit 1); the workload's status is
            # passed through otherwise.
            return _run_bounded([RUNC, "--root", self.runc_state, "run", "--bundle", bundle, container],
                                lambda rc, err: rc != 0 and "runc run failed" in err)
        finally:
            # A container whose start failed half-way may be left behind, with its cgroup.
            self._delete_containers()

    def podman(self, profile, args=("/bin/true",), no_new_privs=False):
        """CRI-O's reading (containers-common) with podman's runc. Storage, run and temp directories of
        our own, so nothing is seen in or left in the machine's podman state."""
        path = self.profile_file(profile)
        p = f"{self.tmp}/podman"
        argv = [PODMAN, "--root", f"{p}/storage", "--runroot", f"{p}/run", "--tmpdir", f"{p}/tmp",
                "--storage-driver", "vfs", "--events-backend", "file", "--runtime-flag",
                f"root={self.runc_state}", "--runtime", "runc", "--cgroup-manager=cgroupfs", "run", "--rm", "--network", "none",
                "--ulimit", "nofile=20000:20000", "--ulimit", "nproc=1000:1000", "--tmpfs", "/tmp",
                "--security-opt", f"seccomp={path}"]
        if no_new_privs:
            argv += ["--security-opt", "no-new-privileges"]
        argv += ["--rootfs", self.rootfs, *args]
        # 125: podman itself failed (it refused the profile); 126/127: the command could not be run,
        # which is what a runc start failure turns into.
        try:
            return _run_bounded(argv, lambda rc, err: rc in (125, 126, 127))
        finally:
            wait_for_exit_of_processes_naming(f"{self.tmp}/", timeout=30)  # conmon's cleanup
            _reap()
            self._delete_containers()
