#!/usr/bin/env python3
"""seccompd record through the binary: every input shape from files, the journal through real journal
files written by systemd-journal-remote, and the real thing: a workload in a podman + runc container
under an audit profile, recorded from /dev/kmsg, then run under the recorded profile.

Touches /dev/kmsg and kernel.printk_ratelimit: runs alone (is_parallel: false in meson)."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

import yaml

from harness import Daemon

SECCOMPD = os.environ["SECCOMPD"]
ROOT = os.environ["SOURCE_ROOT"]
CASES = os.path.join(ROOT, "tests", "cases", "record")
RATELIMIT = "/proc/sys/kernel/printk_ratelimit"
JOURNAL_REMOTE = "/lib/systemd/systemd-journal-remote"
PODMAN = ["podman", "--runtime", "runc", "--cgroup-manager=cgroupfs", "run", "--rm", "--network", "none",
          "--ulimit", "nofile=20000:20000", "--ulimit", "nproc=1000:1000"]


def run(*args, stdin=None, timeout=60):
    return subprocess.run([SECCOMPD, *args], input=stdin, capture_output=True, text=True, timeout=timeout)


def names_of(profile_text):
    doc = json.loads(profile_text)
    rules = doc["syscalls"]
    assert len(rules) == 1 and rules[0]["action"] == "SCMP_ACT_ALLOW", rules
    return rules[0]["names"]


def record(*args, stdin=None):
    """Records with the baseline left out, so what was recorded is what the profile holds."""
    p = run("record", "--baseline", "none", *args, stdin=stdin)
    return p, (names_of(p.stdout) if p.returncode == 0 else None)


class Shapes(unittest.TestCase):
    WORKLOAD = ["exit_group", "openat", "read", "write"]

    def test_syslog(self):
        p, names = record("--from", os.path.join(CASES, "syslog.log"), "--comm", "workload")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(names, self.WORKLOAD)  # sorted; the other command's mkdir is not in it
        self.assertIn("1 other lines", p.stderr)  # the systemd line: ignored, counted
        self.assertNotIn("lost", p.stderr)

    def test_dmesg_with_loss(self):
        p, names = record("--from", os.path.join(CASES, "dmesg.log"), "--comm", "workload")
        self.assertEqual(p.returncode, 0, p.stderr)  # warnings do not change the exit status
        self.assertEqual(names, self.WORKLOAD)
        self.assertIn("records were lost", p.stderr)
        self.assertIn("audit serials skip 17 records", p.stderr)
        self.assertIn("17 callbacks suppressed", p.stderr)
        self.assertIn("--unthrottle", p.stderr)

    def test_kmsg(self):
        p, names = record("--from", os.path.join(CASES, "kmsg.log"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(names, self.WORKLOAD)
        self.assertNotIn("lost", p.stderr)

    def test_auditd_enriched_and_hex(self):
        path = os.path.join(CASES, "audit.log")
        p, names = record("--from", path, "--comm", "workload")
        self.assertEqual(p.returncode, 0, p.stderr)
        # read came from the command "work load", hex-encoded; mkdir was an ERRNO, not a recording
        self.assertEqual(names, ["exit_group", "openat", "write"])
        self.assertRegex(p.stderr, r"enforcement: ERRNO mkdir \(x86_64, syscall 83\) by comm \"workload\"")
        p, names = record("--from", path, "--comm", "work load")
        self.assertEqual(names, ["read"])
        p, names = record("--from", path, "--exe", "/work load")
        self.assertEqual(names, ["read"])

    def test_journal_export_lines(self):
        p, names = record("--from", os.path.join(CASES, "journal-export.txt"), "--comm", "workload")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(names, self.WORKLOAD)

    def test_stdin(self):
        with open(os.path.join(CASES, "syslog.log"), encoding="utf-8") as f:
            p, names = record("--from", "-", "--comm", "workload", stdin=f.read())
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(names, self.WORKLOAD)

    def test_filters(self):
        path = os.path.join(CASES, "syslog.log")
        self.assertEqual(record("--from", path, "--pid", "4343")[1], ["mkdir"])
        self.assertEqual(record("--from", path, "--exe", "/usr/bin/other")[1], ["mkdir"])
        self.assertEqual(record("--from", path, "--comm", "other", "--comm", "workload")[1],
                         sorted(self.WORKLOAD + ["mkdir"]))
        # kinds must all match
        self.assertEqual(record("--from", path, "--comm", "workload", "--pid", "4343")[0].returncode, 1)
        # --since: the last record is at 1700000000.104
        self.assertEqual(record("--from", path, "--since", "@1700000000")[1], sorted(self.WORKLOAD + ["mkdir"]))
        self.assertEqual(record("--from", path, "--since", "@1700000001")[0].returncode, 1)

    def test_baseline_and_default_action(self):
        path = os.path.join(CASES, "syslog.log")
        p = run("record", "--from", path, "--comm", "workload")
        self.assertEqual(p.returncode, 0, p.stderr)
        doc = json.loads(p.stdout)
        self.assertEqual(doc["defaultAction"], "SCMP_ACT_ERRNO")
        self.assertEqual(doc["architectures"], ["SCMP_ARCH_X86_64"])
        names = doc["syscalls"][0]["names"]
        self.assertEqual(names, sorted(names))
        for n in ["execve", "capset", "fstatfs", "getdents64", "openat", "exit_group"]:
            self.assertIn(n, names)
        crun = names_of(run("record", "--from", path, "--comm", "workload", "--baseline", "crun").stdout)
        self.assertIn("close_range", crun)
        p = run("record", "--from", path, "--default-action", "SCMP_ACT_KILL_PROCESS")
        self.assertEqual(json.loads(p.stdout)["defaultAction"], "SCMP_ACT_KILL_PROCESS")

    def test_merge(self):
        with tempfile.TemporaryDirectory() as d:
            old = os.path.join(d, "old.json")
            with open(old, "w", encoding="utf-8") as f:
                json.dump({"defaultAction": "SCMP_ACT_KILL_PROCESS", "architectures": ["SCMP_ARCH_X86_64"],
                           "syscalls": [{"names": ["nanosleep", "write"], "action": "SCMP_ACT_ALLOW"}]}, f)
            p = run("record", "--from", os.path.join(CASES, "syslog.log"), "--comm", "workload",
                    "--baseline", "none", "--merge", old)
            self.assertEqual(p.returncode, 0, p.stderr)
            doc = json.loads(p.stdout)
            self.assertEqual(doc["defaultAction"], "SCMP_ACT_KILL_PROCESS")
            self.assertEqual(doc["syscalls"][0]["names"], ["exit_group", "nanosleep", "openat", "read", "write"])
            with open(old, "w", encoding="utf-8") as f:
                f.write("[1]")
            p = run("record", "--from", os.path.join(CASES, "syslog.log"), "--merge", old)
            self.assertEqual(p.returncode, 2)
            self.assertIn("cannot merge", p.stderr)

    def test_merge_recordings_of_two_architectures(self):
        """What README says to do for amd64 and arm64 nodes: each recording lists only its own arch
        and the names made there; --merge of one into the other gives both."""
        with tempfile.TemporaryDirectory() as d:
            amd64 = os.path.join(d, "amd64.json")
            p = run("record", "--from", os.path.join(CASES, "syslog.log"), "--comm", "workload", "--baseline", "none",
                    "-o", amd64)
            self.assertEqual(p.returncode, 0, p.stderr)
            with open(amd64, encoding="utf-8") as f:
                self.assertEqual(json.load(f)["architectures"], ["SCMP_ARCH_X86_64"])
            p = run("record", "--from", os.path.join(CASES, "syslog-arm64.log"), "--comm", "workload",
                    "--baseline", "none", "--merge", amd64, "--configmap", "workload", "-o", f"{d}/cm.yaml")
            self.assertEqual(p.returncode, 0, p.stderr)
            with open(f"{d}/cm.yaml", encoding="utf-8") as f:
                doc = json.loads(yaml.safe_load(f)["data"]["workload.json"])
            self.assertEqual(doc["architectures"], ["SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64"])
            # futex only on the arm64 node, the rest on both.
            self.assertEqual(names_of(json.dumps(doc)), ["exit_group", "futex", "openat", "read", "write"])
            for arch in ("x86_64", "aarch64"):
                v = run("validate", "--arch", arch, f"{d}/cm.yaml")
                self.assertEqual(v.returncode, 0, v.stdout)

    def test_output_file_passes_validate(self):
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "workload.json")
            p = run("record", "--from", os.path.join(CASES, "syslog.log"), "--comm", "workload", "-o", out)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(p.stdout, "")
            self.assertEqual(os.listdir(d), ["workload.json"])  # no temporary file left
            v = run("validate", out)
            self.assertEqual(v.returncode, 0, v.stdout)
            self.assertIn("valid for containerd", v.stdout)

    def test_configmap(self):
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "cm.yaml")
            p = run("record", "--from", os.path.join(CASES, "kmsg.log"), "--configmap", "my-app",
                    "--namespace", "prod", "-o", out)
            self.assertEqual(p.returncode, 0, p.stderr)
            with open(out, encoding="utf-8") as f:
                doc = yaml.safe_load(f)
            self.assertEqual(doc["kind"], "ConfigMap")
            self.assertEqual(doc["metadata"]["name"], "my-app")
            self.assertEqual(doc["metadata"]["namespace"], "prod")
            self.assertEqual(doc["metadata"]["labels"], {"seccompd.io/profile": "true"})
            profile = json.loads(doc["data"]["my-app.json"])
            self.assertIn("openat", profile["syscalls"][0]["names"])
            v = run("validate", out)
            self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
            self.assertIn("prod/my-app data[my-app.json]: valid", v.stdout)
            # Without --namespace: seccompd's own (deploy/'s), where it watches, said on stderr (kubectl
            # apply would otherwise put it in the context's namespace, which seccompd does not watch).
            p = run("record", "--from", os.path.join(CASES, "kmsg.log"), "--configmap", "my-app")
            self.assertEqual(p.returncode, 0, p.stderr)
            with open(os.path.join(ROOT, "deploy", "base", "namespace.yaml"), encoding="utf-8") as f:
                namespace = yaml.safe_load(f)["metadata"]["name"]
            self.assertEqual(yaml.safe_load(p.stdout)["metadata"]["namespace"], namespace)
            self.assertIn(f"seccompd record: ConfigMap my-app in namespace {namespace}, the one seccompd watches "
                          "by default; --namespace to choose another\n", p.stderr)
            for bad in (["--configmap", "My_App"], ["--namespace", "x"], ["--configmap", "a", "--namespace", "a.b"]):
                self.assertEqual(run("record", "--from", os.path.join(CASES, "kmsg.log"), *bad).returncode, 2, bad)

    def test_exit_codes(self):
        path = os.path.join(CASES, "syslog.log")
        p = run("record", "--from", path, "--comm", "nobody")
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stdout, "")
        self.assertIn("no LOG record matched the filters", p.stderr)
        self.assertEqual(run("record", "--from", "/nonexistent/log").returncode, 2)
        with tempfile.NamedTemporaryFile("w", suffix=".log") as f:
            f.write("nothing to see\n")
            f.flush()
            self.assertEqual(run("record", "--from", f.name).returncode, 1)
        for bad in (["--baseline", "docker"], ["--since", "yesterday"], ["--default-action", "SCMP_ACT_ALLOW"],
                    ["--default-action", "ERRNO"], ["--pid", "x"], ["--container", "not-hex"], ["extra"],
                    ["--bogus"], ["--from", "journal:/nonexistent"]):
            self.assertEqual(run("record", "--from", path, *bad).returncode, 2, bad)
        self.assertEqual(run("record", "--from", path, "-o", "/nonexistent/dir/x.json").returncode, 2)
        self.assertEqual(run("record", "--help").returncode, 0)


class Journal(unittest.TestCase):
    """No journald runs here: systemd-journal-remote writes real journal files from export text."""

    def test_journal_file_and_directory(self):
        self.assertTrue(os.access(JOURNAL_REMOTE, os.X_OK), "systemd-journal-remote is required (tests/run installs it)")
        with tempfile.TemporaryDirectory() as d:
            journal = os.path.join(d, "out.journal")
            with open(os.path.join(CASES, "journal-export.txt"), "rb") as f:
                subprocess.run([JOURNAL_REMOTE, "-o", journal, "-"], stdin=f, check=True, capture_output=True,
                               timeout=60)
            for source in ("journal:" + journal, "journal:" + d):
                p, names = record("--from", source)
                self.assertEqual(p.returncode, 0, p.stderr)
                # kernel and audit transports; the syslog entry that looks like a record is not read
                self.assertEqual(names, Shapes.WORKLOAD, source)
                self.assertIn("4 SECCOMP records", p.stderr)
                # the audit transport's serials come from _AUDIT_ID: 1000..1003 are consecutive
                self.assertNotIn("lost", p.stderr)
            p = run("record", "--from", "journal:" + journal, "--since", "@1700000000", "--comm", "nobody")
            self.assertEqual(p.returncode, 1)


def stop_recording(rec):
    """SIGINT, as a person ends a recording; returns the exit status and all of stderr."""
    return rec.stop(signal.SIGINT, timeout=60), rec.log_text()


def read_ratelimit():
    with open(RATELIMIT, encoding="ascii") as f:
        return f.read().strip()


def write_ratelimit(value):
    with open(RATELIMIT, "w", encoding="ascii") as f:
        f.write(value)


WORKLOAD_C = r"""
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A small static workload: open/read/close/write/getpid/exit. With "mkdir DIR" it tries the one
 * syscall it otherwise never makes and prints what happened. */
int main(int argc, char **argv)
{
        if (argc > 2 && strcmp(argv[1], "mkdir") == 0) {
                int r = mkdir(argv[2], 0755);
                printf("mkdir: %s\n", r == 0 ? "ok" : strerror(errno));
                return r == 0 ? 0 : 3;
        }
        char buf[64];
        int fd = open("/etc/workload.conf", O_RDONLY);
        if (fd < 0) {
                printf("open: %s\n", strerror(errno));
                return 4;
        }
        ssize_t n = read(fd, buf, sizeof(buf));
        close(fd);
        printf("workload ok pid=%d read=%zd\n", (int) getpid(), n);
        return 0;
}
"""


class Kernel(unittest.TestCase):
    """The end-to-end proof: real kernel, real runtime. Requires root, podman, runc and gcc -static."""

    @classmethod
    def setUpClass(cls):
        for tool in ("podman", "runc", "gcc"):
            if not shutil.which(tool):
                raise AssertionError(f"{tool} is required for the end-to-end test (tests/run installs it)")
        cls.tmp = tempfile.mkdtemp(prefix="seccompd-record-")
        cls.rootfs = os.path.join(cls.tmp, "rootfs")
        os.makedirs(os.path.join(cls.rootfs, "etc"))
        with open(os.path.join(cls.rootfs, "etc", "workload.conf"), "w", encoding="ascii") as f:
            f.write("hello\n")
        src = os.path.join(cls.tmp, "workload.c")
        with open(src, "w", encoding="ascii") as f:
            f.write(WORKLOAD_C)
        subprocess.run(["gcc", "-static", "-O2", "-o", os.path.join(cls.rootfs, "workload"), src], check=True)
        cls.audit = os.path.join(cls.tmp, "audit.json")
        with open(cls.audit, "w", encoding="ascii") as f:
            f.write('{"defaultAction":"SCMP_ACT_LOG"}\n')
        cls.original_ratelimit = read_ratelimit()

    @classmethod
    def tearDownClass(cls):
        write_ratelimit(cls.original_ratelimit)
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def podman(self, profile, *cmd):
        return subprocess.run([*PODMAN, "--security-opt", "seccomp=" + profile, "--rootfs", self.rootfs, *cmd],
                              capture_output=True, text=True, timeout=120)

    def path(self, name):
        return os.path.join(self.tmp, name)

    def recorder(self, *args):
        """seccompd record --follow as a child, its stderr in a log file; the profile goes to -o FILE."""
        rec = Daemon(["--follow", *args], verb="record")
        self.addCleanup(rec.close)
        return rec

    def test_1_recorded_profile_runs_the_workload_and_nothing_else(self):
        if read_ratelimit() == "0":  # left by someone else: the restore must be seen to happen
            write_ratelimit("5")
        before = read_ratelimit()
        full = self.recorder("--from", "kmsg", "--unthrottle", "--comm", "workload", "-o", self.path("workload.json"))
        self.assertTrue(full.wait_log(r"recording from /dev/kmsg"), full.log_text())
        self.assertEqual(read_ratelimit(), "0")
        # The same recording without the runtime's baseline (not unthrottling again: one restorer).
        bare = self.recorder("--from", "kmsg", "--comm", "workload", "--baseline", "none", "-o", self.path("bare.json"))
        self.assertTrue(bare.wait_log(r"recording from /dev/kmsg"), bare.log_text())

        p = self.podman(self.audit, "/workload")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("workload ok", p.stdout)
        # exit_group is the workload's last syscall; kauditd delivers in order, so once it is seen,
        # every record of the workload is in.
        self.assertTrue(full.wait_log(r"\+ exit_group \(x86_64, workload\)"), full.log_text())
        self.assertTrue(bare.wait_log(r"\+ exit_group \(x86_64, workload\)"), bare.log_text())
        rc_bare, err_bare = stop_recording(bare)
        rc, err = stop_recording(full)
        self.assertEqual(rc, 0, err)
        self.assertEqual(rc_bare, 0, err_bare)
        self.assertEqual(read_ratelimit(), before, "kernel.printk_ratelimit was not restored")
        self.assertNotIn("records were lost", err)

        with open(self.path("workload.json"), encoding="utf-8") as f:
            profile = json.load(f)
        with open(self.path("bare.json"), encoding="utf-8") as f:
            bare_names = names_of(f.read())
        names = profile["syscalls"][0]["names"]
        recorded = int(re.search(r"(\d+) syscalls? recorded", err).group(1))
        print(f"\n# recorded {recorded} syscalls from the workload ({', '.join(bare_names)}); "
              f"the profile allows {len(names)} with the runc baseline", file=sys.stderr)
        self.assertEqual(len(bare_names), recorded)
        for n in ("openat", "read", "write", "exit_group"):
            self.assertIn(n, bare_names)
        self.assertNotIn("mkdir", names)
        v = run("validate", self.path("workload.json"))
        self.assertEqual(v.returncode, 0, v.stdout)

        # The same workload under the recorded profile: it runs.
        p = self.podman(self.path("workload.json"), "/workload")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("workload ok", p.stdout)
        # A syscall it never made: EPERM inside the container (defaultAction ERRNO).
        p = self.podman(self.path("workload.json"), "/workload", "mkdir", "/made")
        self.assertEqual(p.returncode, 3, p.stdout + p.stderr)
        self.assertIn("mkdir: Operation not permitted", p.stdout)
        # ... which the audit profile lets through: the denial is the recorded profile's doing.
        p = self.podman(self.audit, "/workload", "mkdir", "/made")
        self.assertIn("mkdir: ok", p.stdout)
        os.rmdir(os.path.join(self.rootfs, "made"))
        # Without the runtime's own start-up syscalls the container does not even start.
        p = self.podman(self.path("bare.json"), "/workload")
        self.assertNotEqual(p.returncode, 0, p.stdout)
        self.assertNotIn("workload ok", p.stdout)
        print(f"# --baseline none: podman exit {p.returncode}: {p.stderr.strip().splitlines()[-1:]}",
              file=sys.stderr)

    def test_3_sigterm_restores_the_rate_limit(self):
        if read_ratelimit() == "0":
            write_ratelimit("5")
        before = read_ratelimit()
        rec = self.recorder("--from", "kmsg", "--unthrottle", "--comm", "nothing-runs-as-this")
        self.assertTrue(rec.wait_log(r"recording from /dev/kmsg"), rec.log_text())
        self.assertEqual(read_ratelimit(), "0")
        self.assertEqual(rec.stop(signal.SIGTERM, timeout=60), 1)  # stopped cleanly: nothing matched
        self.assertEqual(read_ratelimit(), before)

    def test_2_default_rate_limit_loses_records_and_says_so(self):
        if read_ratelimit() == "0":
            write_ratelimit("5")
        self.assertNotEqual(read_ratelimit(), "0")
        rec = self.recorder("--from", "kmsg", "--comm", "workload", "-o", self.path("throttled.json"))
        self.assertTrue(rec.wait_log(r"recording from /dev/kmsg"), rec.log_text())
        # A container start makes far more than the 10 records the printk burst lets through. The
        # kernel reveals the drop only with the next record after its 5 s interval (a serial gap,
        # "callbacks suppressed"), so start containers until the recorder says so, with a deadline.
        deadline = time.monotonic() + 60
        runs = 0
        while True:
            p = self.podman(self.audit, "/workload")
            self.assertEqual(p.returncode, 0, p.stderr)
            runs += 1
            if rec.wait_log(r"warning: records were lost", timeout=2):
                break
            self.assertLess(time.monotonic(), deadline, "the recorder never reported lost records")
        rc, err = stop_recording(rec)
        self.assertIn(rc, (0, 1), err)
        self.assertIn("records were lost, the profile is probably incomplete", err)
        self.assertIn("--unthrottle", err)
        m = re.search(r"audit serials skip (\d+) record", err)
        s = re.search(r"(\d+) callbacks suppressed", err)
        print(f"\n# default rate limit, {runs} container runs: exit {rc}; serial gap {m and m.group(1)} records, "
              f"{s and s.group(1)} callbacks suppressed", file=sys.stderr)
        self.assertTrue(m or s, err)


if __name__ == "__main__":
    unittest.main()
