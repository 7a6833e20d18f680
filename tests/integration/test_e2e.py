#!/usr/bin/env python3
"""End to end with a real runtime: a profile goes from a ConfigMap (applied with the real kubectl to the
test API server) through `seccompd run --source kube` into the seccomp directory, and a real container
then runs under the installed file, read the way each node runtime reads it:

- containerd: `json.Unmarshal` into the OCI `LinuxSeccomp` struct, re-marshalled into config.json's
  `linux.seccomp`, then `runc run` (tests/runtimes.py does the same with a bundle of our own);
- CRI-O: containers-common's loader, which is what `podman --security-opt seccomp=FILE` uses.

The kernel enforces the filter, so what the workload sees (the errno of a denied syscall, a container
that cannot start) is what a pod would see. Needs root, kubectl, podman, runc and busybox-static
(tests/run installs them); a missing one fails the test: CI must not pass without running it.
Synchronised on sd_notify messages and the daemon's log, never on sleeps."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = os.environ["SOURCE_ROOT"]
sys.path.insert(0, os.path.join(ROOT, "tests", "kube"))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import runtimes  # noqa: E402
from apiserver import ApiServer  # noqa: E402
from harness import Daemon  # noqa: E402

KUBECTL = shutil.which("kubectl")
PODMAN = runtimes.PODMAN
RUNC = runtimes.RUNC
BUSYBOX = runtimes.BUSYBOX
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
        self.rt = runtimes.Runtimes()
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
        self.rt.close()
        shutil.rmtree(self.tmp)

    def kubectl_apply(self, name, data):
        cm = {"apiVersion": "v1", "kind": "ConfigMap", "data": data,
              "metadata": {"name": name, "namespace": "default", "labels": {"seccompd.io/profile": "true"}}}
        r = subprocess.run([KUBECTL, "--kubeconfig", self.kubeconfig, "--cache-dir", f"{self.tmp}/cache",
                            "apply", "--validate=false", "-f", "-"], input=json.dumps(cm),
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)

    def both(self, profile):
        """The installed file as each runtime reads it (tests/runtimes.py): containerd + runc, and
        podman for CRI-O, in a default pod (no no_new_privs, the default capabilities)."""
        with open(profile) as f:
            raw = f.read()
        return {"podman (CRI-O)": self.rt.podman(raw, WORKLOAD), "runc (containerd)": self.rt.runc(raw, WORKLOAD)}

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
