#!/usr/bin/env python3
"""End to end with a real runtime: a profile goes from a ConfigMap (applied with the real kubectl to the
test API server) through `seccompd run --source kube` into the seccomp directory, and a real container
then runs under the installed file, read the way each node runtime reads it:

- containerd: `json.Unmarshal` into the OCI `LinuxSeccomp` struct, re-marshalled into config.json's
  `linux.seccomp`, then `runc run` (oci_seccomp() below does the same with a bundle of our own);
- CRI-O: containers-common's loader, which is what `podman --security-opt seccomp=FILE` uses.

The kernel enforces the filter, so what the workload sees (the errno of a denied syscall, a container
that cannot start) is what a pod would see. Needs root, kubectl, podman, runc and busybox-static
(tests/run installs them); a missing one fails the test: CI must not pass without running it.
Synchronised on sd_notify messages and the daemon's log, never on sleeps."""
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

ROOT = os.environ["SOURCE_ROOT"]
sys.path.insert(0, os.path.join(ROOT, "tests", "kube"))
from apiserver import ApiServer  # noqa: E402
from harness import Daemon  # noqa: E402

KUBECTL = shutil.which("kubectl")
PODMAN = shutil.which("podman")
RUNC = shutil.which("runc")
BUSYBOX = "/bin/busybox"  # busybox-static: a rootfs with no shared libraries to copy
SCALE = "0.01"
MARKER = "e2e-workload-started"
# The workload: allowed work (echo, write and read a file, read /etc) must succeed, mkdir is what the
# profiles deny. /tmp is a fresh tmpfs in every container, so a mkdir that is not denied succeeds.
WORKLOAD = ["/bin/sh", "-c", f'echo {MARKER}; echo data >/tmp/f && cat /tmp/f && cat /etc/motd; '
            'mkdir /tmp/x; echo "mkdir exit $?"']


def deny_mkdir(errno):
    # mkdirat too: aarch64 has no mkdir syscall, and busybox uses whichever the arch has.
    return json.dumps({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno}]}, indent=1)


def oci_seccomp(raw):
    """The installed file as containerd puts it into config.json (contrib/seccomp WithProfile):
    encoding/json into specs.LinuxSeccomp, so only OCI fields survive, keys match case-insensitively,
    the last duplicate wins; then re-marshalled, dropping the omitempty fields that are empty."""
    def pick(obj, fields):
        out = {}
        if not isinstance(obj, dict):
            return out
        for key, value in obj.items():  # in order: a later key (any case) overrides an earlier one
            for name in fields:
                if key.lower() == name.lower():
                    out[name] = value
        return out

    def omit_empty(obj, omitempty):
        return {k: v for k, v in obj.items() if not (k in omitempty and v in (None, "", 0, [], {}))}

    s = pick(json.loads(raw), ["defaultAction", "defaultErrnoRet", "architectures", "flags", "listenerPath",
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


def make_rootfs(path):
    for d in ("bin", "etc", "tmp", "proc", "dev", "sys", "run"):
        os.makedirs(f"{path}/{d}")
    shutil.copy2(BUSYBOX, f"{path}/bin/busybox")
    for applet in ("sh", "echo", "cat", "mkdir"):
        os.symlink("busybox", f"{path}/bin/{applet}")
    with open(f"{path}/etc/motd", "w") as f:
        f.write("allowed read\n")


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


class RealRuntime(unittest.TestCase):
    def setUp(self):
        # Fail, never skip: a CI run without the runtimes must not look green.
        for name, path in (("kubectl (>= 1.32)", KUBECTL), ("podman", PODMAN), ("runc", RUNC)):
            self.assertIsNotNone(path, f"{name} must be on PATH: this test does not skip (tests/run installs it)")
        self.assertTrue(os.path.exists(BUSYBOX), "busybox-static must be installed (/bin/busybox)")
        ldd = subprocess.run(["ldd", BUSYBOX], capture_output=True, text=True)
        self.assertNotEqual(ldd.returncode, 0, f"{BUSYBOX} must be static (busybox-static), not {ldd.stdout}")
        self.assertEqual(os.geteuid(), 0, "runc and podman run here as root")
        self.tmp = tempfile.mkdtemp(prefix="seccompd-e2e-")
        self.runs = 0
        make_rootfs(f"{self.tmp}/rootfs")
        self.srv = ApiServer(f"{self.tmp}/srv")
        self.srv.start()
        self.addCleanup(self.cleanup)
        self.kubeconfig = self.srv.kubeconfig(f"{self.tmp}/kubeconfig", user="token")
        self.root = f"{self.tmp}/seccomp"
        # seccompd run --source kube, as on one node.
        self.daemon = Daemon(["--source", "kube", "--kubeconfig", self.kubeconfig, "--namespace", "default",
                              "--root", self.root, "--listen", "none", "--log-format", "json"],
                             env={"SECCOMPD_TEST_TIME_SCALE": SCALE, "KUBECONFIG": None}, dir=self.tmp)

    def cleanup(self):
        if self.daemon.running():
            self.assertEqual(self.daemon.stop(), 0, self.daemon.log_tail())
        self.daemon.close()
        self.srv.stop()
        wait_for_exit_of_processes_naming(f"{self.tmp}/", timeout=30)
        shutil.rmtree(self.tmp)

    def kubectl_apply(self, name, data):
        cm = {"apiVersion": "v1", "kind": "ConfigMap", "data": data,
              "metadata": {"name": name, "namespace": "default", "labels": {"seccompd.io/profile": "true"}}}
        r = subprocess.run([KUBECTL, "--kubeconfig", self.kubeconfig, "--cache-dir", f"{self.tmp}/cache",
                            "apply", "--validate=false", "-f", "-"], input=json.dumps(cm),
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)

    def podman(self, profile):
        """CRI-O's reading: containers-common loads the file. Storage, run and temp directories of our
        own, so the test neither sees nor leaves containers in the machine's podman state. The global
        flags are those DEVELOPERS.md explains (runc, cgroupfs: these machines have hybrid cgroups)."""
        p = f"{self.tmp}/podman"
        return subprocess.run(
            [PODMAN, "--root", f"{p}/storage", "--runroot", f"{p}/run", "--tmpdir", f"{p}/tmp",
             "--storage-driver", "vfs", "--events-backend", "file",
             "--runtime", "runc", "--cgroup-manager=cgroupfs", "run", "--rm", "--network", "none",
             "--ulimit", "nofile=20000:20000", "--ulimit", "nproc=1000:1000", "--tmpfs", "/tmp",
             "--security-opt", f"seccomp={profile}", "--rootfs", f"{self.tmp}/rootfs", *WORKLOAD],
            capture_output=True, text=True, timeout=60)

    def runc(self, profile):
        """containerd's reading: the file's JSON as linux.seccomp of a bundle made from `runc spec`.
        No cgroupsPath: runc then uses /<id> with its cgroupfs manager, which works on hybrid cgroups
        (the systemd manager needs systemd as PID 1)."""
        self.runs += 1
        bundle = f"{self.tmp}/bundle-{self.runs}"
        os.mkdir(bundle)
        subprocess.run([RUNC, "spec", "--bundle", bundle], check=True)
        with open(f"{bundle}/config.json") as f:
            config = json.load(f)
        with open(profile, "rb") as f:
            config["linux"]["seccomp"] = oci_seccomp(f.read())
        config["process"].update(terminal=False, args=WORKLOAD)
        config["root"] = {"path": f"{self.tmp}/rootfs", "readonly": True}
        config["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
                                 "options": ["nosuid", "nodev", "mode=1777"]})
        with open(f"{bundle}/config.json", "w") as f:
            json.dump(config, f)
        container = f"seccompd-e2e-{os.getpid()}-{self.runs}"
        try:
            return subprocess.run([RUNC, "--root", f"{self.tmp}/runc", "run", "--bundle", bundle, container],
                                  stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
        finally:
            # A container whose start failed half-way may be left behind, with its cgroup.
            subprocess.run([RUNC, "--root", f"{self.tmp}/runc", "delete", "--force", container],
                           capture_output=True)

    def both(self, profile):
        return {"podman (CRI-O)": self.podman(profile), "runc (containerd)": self.runc(profile)}

    def assert_denies_mkdir(self, profile, message):
        for runtime, r in self.both(profile).items():
            with self.subTest(runtime=runtime, expect=message):
                out = f"exit {r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}"
                self.assertEqual(r.returncode, 0, out)
                self.assertEqual(r.stdout.splitlines(), [MARKER, "data", "allowed read", "mkdir exit 1"], out)
                self.assertIn(f"mkdir: can't create directory '/tmp/x': {message}", r.stderr, out)

    def test_profile_from_configmap_enforced_by_both_runtimes(self):
        self.daemon.ready(30)
        installed = f"{self.root}/deny-mkdir.json"

        def on_disk():
            try:
                with open(installed) as f:
                    return f.read()
            except FileNotFoundError:
                return None

        # 1. Installed from the ConfigMap; the denied syscall gets the profile's errno, the rest runs.
        v1 = deny_mkdir(1)
        self.kubectl_apply("e2e", {"deny-mkdir.json": v1})
        self.daemon.until(lambda: on_disk() == v1)
        self.assert_denies_mkdir(installed, "Operation not permitted")

        # 2. An update: the next container runs under the new profile.
        v2 = deny_mkdir(13)
        self.kubectl_apply("e2e", {"deny-mkdir.json": v2})
        self.daemon.until(lambda: on_disk() == v2)
        self.assert_denies_mkdir(installed, "Permission denied")

        # 3. An invalid update is rejected: the file keeps the last good bytes, containers still run.
        self.kubectl_apply("e2e", {"deny-mkdir.json": '{"defaultAction": "SCMP_ACT_NOPE"}'})
        self.daemon.until(lambda: any("invalid update rejected" in l.get("msg", "")
                                      for l in self.daemon.log_lines()))
        self.assertEqual(on_disk(), v2)
        self.assert_denies_mkdir(installed, "Permission denied")

        # 4. The tutorial's violation.json: valid JSON that no container can start under. seccompd
        # installs it (it is what the admin asked for) and says so in its log.
        with open(f"{ROOT}/examples/profiles/violation.json") as f:
            violation = f.read()
        self.kubectl_apply("e2e", {"deny-mkdir.json": violation})
        self.daemon.until(lambda: on_disk() == violation)
        warnings = [l for l in self.daemon.log_lines()
                    if l["level"] == "warning" and "[container-cannot-start]" in l["msg"]]
        self.assertEqual(len(warnings), 1, self.daemon.log_text())
        self.assertEqual(warnings[0]["path"], "deny-mkdir.json")
        self.assertIn("default/e2e", warnings[0]["source"])
        self.assertIn("no container can start", warnings[0]["msg"])

        runs = self.both(installed)
        for runtime, r in runs.items():
            with self.subTest(runtime=runtime, expect="cannot start"):
                out = f"exit {r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}"
                self.assertNotIn(MARKER, r.stdout, out)  # the workload never ran
        # runc's init dies on its first denied syscall; runc reports it, and nothing more precise.
        r = runs["runc (containerd)"]
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("runc run failed", r.stderr)
        # podman: 126/127 are its codes for "the command could not be run"; which one and the message
        # (runc's start failure, or conmon's attach socket gone) depend on when runc's init died.
        r = runs["podman (CRI-O)"]
        self.assertIn(r.returncode, (126, 127), r.stderr)
        self.assertTrue(any(line.startswith("Error: ") for line in r.stderr.splitlines()), r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
