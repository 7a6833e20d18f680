#!/usr/bin/env python3
"""seccompd record through the binary: every input shape from files, the journal through real journal
files written by systemd-journal-remote, and the real thing: a workload in a podman + runc container
under an audit profile, recorded from /dev/kmsg, then run under the recorded profile; the audit
multicast group against /dev/kmsg on one workload (both counts printed), the fallback where the group
cannot be read, and --pod against the test API server with real podman containers.

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

sys.path.insert(0, os.path.join(os.environ["SOURCE_ROOT"], "tests", "kube"))
from apiserver import ApiServer  # noqa: E402

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
        /* "wait": stay alive until stdin closes, so that its records are attributed while it runs;
         * umask (which nothing else in the container calls) marks that every call before it is made */
        if (argc > 1 && strcmp(argv[1], "wait") == 0) {
                fflush(stdout);
                umask(022);
                while (read(0, buf, sizeof(buf)) > 0)
                        ;
        }
        return 0;
}
"""

LOGWL_C = r"""
#include <seccomp.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* logwl COMM N: under {"defaultAction":"SCMP_ACT_LOG"} with getpid allowed, N getppid calls, then
 * exit: exactly N + 1 records (the measurement of ../shared/reference/seccomp-profiles.md). */
int main(int argc, char **argv)
{
        scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_LOG);
        if (argc != 3 || !ctx || prctl(PR_SET_NAME, argv[1], 0, 0, 0) < 0 ||
            seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(getpid), 0) < 0 || seccomp_load(ctx) < 0)
                return 1;
        for (int i = atoi(argv[2]); i > 0; i--)
                syscall(SYS_getppid);
        _exit(0);
}
"""


def build_workloads(tmp):
    """The static container workload in tmp/rootfs (with /etc/workload.conf), the LOG profile
    tmp/audit.json, and the host workload tmp/logwl."""
    for tool in ("podman", "runc", "gcc"):
        if not shutil.which(tool):
            raise AssertionError(f"{tool} is required for the end-to-end test (tests/run installs it)")
    rootfs = os.path.join(tmp, "rootfs")
    os.makedirs(os.path.join(rootfs, "etc"))
    with open(os.path.join(rootfs, "etc", "workload.conf"), "w", encoding="ascii") as f:
        f.write("hello\n")
    for name, text in (("workload.c", WORKLOAD_C), ("logwl.c", LOGWL_C)):
        with open(os.path.join(tmp, name), "w", encoding="ascii") as f:
            f.write(text)
    subprocess.run(["gcc", "-static", "-O2", "-o", os.path.join(rootfs, "workload"), os.path.join(tmp, "workload.c")],
                   check=True)
    # The same under a name of its own: --comm wl-audit sees no other test's "workload" (CI may run
    # other suites on this kernel meanwhile).
    shutil.copy(os.path.join(rootfs, "workload"), os.path.join(rootfs, "wl-audit"))
    subprocess.run(["gcc", "-O2", "-o", os.path.join(tmp, "logwl"), os.path.join(tmp, "logwl.c"), "-lseccomp"],
                   check=True)
    audit = os.path.join(tmp, "audit.json")
    with open(audit, "w", encoding="ascii") as f:
        f.write('{"defaultAction":"SCMP_ACT_LOG"}\n')
    return rootfs, audit


def matched_log(err):
    """How many LOG records the recorder took: "N matched (M LOG, ...)"."""
    m = re.search(r"matched \((\d+) LOG", err)
    return int(m.group(1)) if m else 0


class Kernel(unittest.TestCase):
    """The end-to-end proof: real kernel, real runtime. Requires root, podman, runc and gcc -static."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="seccompd-record-")
        cls.rootfs, cls.audit = build_workloads(cls.tmp)
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


class AuditGroup(unittest.TestCase):
    """The audit multicast group against /dev/kmsg, on the real kernel, with the printk rate limit at its
    default; and where the group cannot be read. Requires root in the initial network namespace."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="seccompd-record-audit-")
        cls.rootfs, cls.audit = build_workloads(cls.tmp)
        cls.logwl = os.path.join(cls.tmp, "logwl")
        cls.original_ratelimit = read_ratelimit()

    @classmethod
    def tearDownClass(cls):
        write_ratelimit(cls.original_ratelimit)
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        if read_ratelimit() == "0":  # left by someone else: the default is the point here
            write_ratelimit("5")

    def recorder(self, *args, wrap=None):
        rec = Daemon(list(args), verb="record", wrap=wrap)
        self.addCleanup(rec.close)
        return rec

    def path(self, name):
        return os.path.join(self.tmp, name)

    def test_audit_loses_nothing_where_kmsg_loses(self):
        calls = 200
        made = calls + 1  # and exit_group
        audit = self.recorder("--follow", "--comm", "wl-measure", "--baseline", "none", "-o", self.path("a.json"))
        kmsg = self.recorder("--follow", "--from", "kmsg", "--comm", "wl-measure", "--baseline", "none",
                             "-o", self.path("k.json"))
        # --follow without --from: the audit group, here where it can be read
        self.assertTrue(audit.wait_log(r"recording from the audit multicast group \(lossless\); stop with Ctrl-C"),
                        audit.log_text())
        self.assertTrue(kmsg.wait_log(r"recording from /dev/kmsg"), kmsg.log_text())
        ratelimit = read_ratelimit()
        subprocess.run([self.logwl, "wl-measure", str(calls)], check=True, timeout=60)
        # kauditd sends in order: once exit_group is in, every record of the workload is
        self.assertTrue(audit.wait_log(r"\+ exit_group \(x86_64, wl-measure\)"), audit.log_text())
        # The printk rate limit drops silently until its interval (5 s) ends: the next record printed
        # after that reveals the gap. Poke with other records until the kmsg recorder says so.
        deadline = time.monotonic() + 60
        while not kmsg.wait_log(r"warning: records were lost", timeout=2):
            self.assertLess(time.monotonic(), deadline, "the kmsg recorder never reported lost records")
            subprocess.run([self.logwl, "wl-poke", "5"], check=True, timeout=60)
        rc_a, err_a = stop_recording(audit)
        rc_k, err_k = stop_recording(kmsg)
        got_a, got_k = matched_log(err_a), matched_log(err_k)
        print(f"\n# printk_ratelimit={ratelimit}: audit {got_a}/{made}, kmsg {got_k}/{made} "
              f"(records received / made by one workload)", file=sys.stderr)
        self.assertEqual(read_ratelimit(), ratelimit)  # neither touched it
        self.assertEqual(rc_a, 0, err_a)
        self.assertEqual(got_a, made, err_a)
        self.assertNotIn("records were lost", err_a)
        with open(self.path("a.json"), encoding="utf-8") as f:
            self.assertEqual(names_of(f.read()), ["exit_group", "getppid"])
        self.assertIn(rc_k, (0, 1), err_k)
        self.assertLess(got_k, made, err_k)
        self.assertIn("records were lost, the profile is probably incomplete", err_k)
        self.assertIn("callbacks suppressed", err_k)
        # the advice fits the source: kmsg is told about the audit group and --unthrottle
        self.assertIn("fix: record with --follow from the audit multicast group", err_k)
        self.assertIn("--unthrottle", err_k)

    def test_container_workload_recorded_completely(self):
        """The default source with --follow, on a podman + runc container under a LOG profile: every
        syscall of the workload, no loss, no rate limit lifted."""
        before = read_ratelimit()
        rec = self.recorder("--follow", "--comm", "wl-audit", "--baseline", "none", "-o", self.path("c.json"))
        self.assertTrue(rec.wait_log(r"recording from the audit multicast group"), rec.log_text())
        p = subprocess.run([*PODMAN, "--security-opt", "seccomp=" + self.audit, "--rootfs", self.rootfs, "/wl-audit"],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(rec.wait_log(r"\+ exit_group \(x86_64, wl-audit\)"), rec.log_text())
        rc, err = stop_recording(rec)
        self.assertEqual(rc, 0, err)
        self.assertNotIn("records were lost", err)
        self.assertEqual(read_ratelimit(), before)
        with open(self.path("c.json"), encoding="utf-8") as f:
            names = names_of(f.read())
        # what the static workload does after execve, its C library's start included
        for n in ("arch_prctl", "brk", "openat", "read", "close", "write", "exit_group"):
            self.assertIn(n, names)
        self.assertNotIn("mkdir", names)
        self.assertNotIn("execve", names)  # runc's, under its own comm

    def test_falls_back_to_kmsg_in_another_network_namespace(self):
        rec = self.recorder("--follow", "--comm", "nothing-runs-as-this", wrap=["unshare", "--net"])
        self.assertTrue(rec.wait_log(r"recording from /dev/kmsg"), rec.log_text())
        self.assertIn("seccompd record: cannot read the audit multicast group: this process is not in the initial "
                      "network namespace", rec.log_text())
        rc, err = stop_recording(rec)
        self.assertEqual(rc, 1, err)  # nothing matched, stopped cleanly
        # asked for by name: an error, naming why
        p = subprocess.run(["unshare", "--net", SECCOMPD, "record", "--from", "audit"], capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("--from audit: cannot read the audit multicast group: this process is not in the initial "
                      "network namespace", p.stderr)

    def test_falls_back_to_kmsg_without_cap_audit_read(self):
        drop = ["setpriv", "--inh-caps=-audit_read", "--bounding-set=-audit_read"]
        rec = self.recorder("--follow", "--comm", "nothing-runs-as-this", wrap=drop)
        self.assertTrue(rec.wait_log(r"recording from /dev/kmsg"), rec.log_text())
        self.assertIn("cannot read the audit multicast group: EPERM: binding it needs CAP_AUDIT_READ", rec.log_text())
        self.assertEqual(stop_recording(rec)[0], 1)
        p = subprocess.run([*drop, SECCOMPD, "record", "--from", "audit"], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("EPERM: binding it needs CAP_AUDIT_READ", p.stderr)

    def test_unthrottle_is_for_kmsg(self):
        p = run("record", "--from", "audit", "--unthrottle")
        self.assertEqual(p.returncode, 2)
        self.assertIn("--unthrottle is for --from kmsg", p.stderr)
        # the default source: README's "record --follow --unthrottle" keeps working, and leaves the
        # rate limit alone where the audit group is read
        before = read_ratelimit()
        rec = self.recorder("--follow", "--unthrottle", "--comm", "nothing-runs-as-this")
        self.assertTrue(rec.wait_log(r"recording from the audit multicast group"), rec.log_text())
        self.assertIn("--unthrottle is for /dev/kmsg; the audit group has no rate limit", rec.log_text())
        self.assertEqual(read_ratelimit(), before)
        self.assertEqual(stop_recording(rec)[0], 1)

    def test_without_follow_the_past_kernel_log(self):
        """The audit group has no past: without --follow the default is what /dev/kmsg still holds."""
        p = run("record", "--comm", "nothing-runs-as-this")
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("reading the records the kernel log still holds (/dev/kmsg)", p.stderr)
        self.assertIn("with --follow, records are read live from the audit multicast group", p.stderr)


PODMAN_BASE = ["podman", "--runtime", "runc", "--cgroup-manager=cgroupfs"]
PODMAN_OPTS = ["--network", "none", "--ulimit", "nofile=20000:20000", "--ulimit", "nproc=1000:1000"]


class Pod(unittest.TestCase):
    """--pod against the test API server, whose Pod objects name real podman containers (podman's
    cgroups: libpod-<id>; with --cgroup-parent under kubepods, also the pod's UID, as the kubelet's)."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="seccompd-record-pod-")
        cls.rootfs, cls.audit = build_workloads(cls.tmp)
        cls.logwl = os.path.join(cls.tmp, "logwl")
        cls.srv = ApiServer(os.path.join(cls.tmp, "srv"))
        cls.srv.start()
        cls.kubeconfig = cls.srv.kubeconfig(os.path.join(cls.tmp, "kubeconfig"), user="token")

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.tmp, name)

    def create_pod(self, name, containers, init=()):
        spec = {"containers": [{"name": c, "image": "localhost/workload"} for c in containers]}
        if init:
            spec["initContainers"] = [{"name": c, "image": "localhost/workload"} for c in init]
        pod = self.srv.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
                              "spec": spec, "status": {"phase": "Pending"}})
        self.addCleanup(self.srv.delete, "Pod", "default", name)
        return pod["metadata"]["uid"]

    def set_status(self, name, ids):
        """The kubelet's part: containerStatuses naming each container's ID."""
        pod = self.srv.get("Pod", "default", name)
        pod["status"] = {"phase": "Running", "containerStatuses": [
            {"name": n, "containerID": "containerd://" + i, "ready": True} for n, i in ids.items()]}
        self.srv.apply(pod)

    def container(self, *cmd, pod_uid=None, interactive=False):
        """podman create: its ID (removed at cleanup). With pod_uid, its cgroup is under the pod's
        (/kubepods/besteffort/pod<uid>/libpod-<id>), as the kubelet lays a pod out."""
        args = [*PODMAN_BASE, "create", *(["-i"] if interactive else []), *PODMAN_OPTS,
                "--security-opt", "seccomp=" + self.audit]
        if pod_uid:
            args += ["--cgroup-parent", f"/kubepods/besteffort/pod{pod_uid}"]
        p = subprocess.run([*args, "--rootfs", self.rootfs, *cmd], capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        cid = p.stdout.strip().splitlines()[-1]
        self.addCleanup(subprocess.run, [*PODMAN_BASE, "rm", "-f", cid], capture_output=True, timeout=120)
        return cid

    def recorder(self, *args):
        rec = Daemon(["--follow", "--kubeconfig", self.kubeconfig, "--baseline", "none", *args], verb="record")
        self.addCleanup(rec.close)
        self.assertTrue(rec.wait_log(r"recording from the audit multicast group"), rec.log_text())
        return rec

    def run_waiting(self, cid, seen):
        """Starts a container made with ("/workload", "wait"), waits until it has made its calls and the
        recorder has attributed them (the log matches seen, a pattern for its umask), lets it exit."""
        with subprocess.Popen([*PODMAN_BASE, "start", "-ai", cid], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True) as a:
            try:
                self.assertIn("workload ok", a.stdout.readline())  # its calls are made; it waits, alive
                return seen()
            finally:
                a.stdin.close()  # and it exits
                a.wait(timeout=120)

    def test_records_of_the_pods_containers_only(self):
        uid = self.create_pod("web", ["app", "side"])
        # app: in the pod's cgroup, and like every container at first, not yet in the pod's status
        app = self.container("/workload", "wait", pod_uid=uid, interactive=True)
        # side: a cgroup without the pod (podman's own), known by the ID the status names
        side = self.container("/workload", "mkdir", "/made-by-side")
        self.set_status("web", {"side": side})
        gets = self.srv.count(method="GET", resource="pods")
        rec = self.recorder("--pod", "default/web", "--container", "app", "-o", self.path("web.json"))

        # A process gone before its records are read: the recorder is stopped meanwhile.
        rec.proc.send_signal(signal.SIGSTOP)
        subprocess.run([self.logwl, "seccompd-gone", "5"], check=True, timeout=60)
        rec.proc.send_signal(signal.SIGCONT)

        p = subprocess.run([*PODMAN_BASE, "start", "-a", side], capture_output=True, text=True, timeout=120)
        self.assertIn("mkdir: ok", p.stdout, p.stderr)
        os.rmdir(os.path.join(self.rootfs, "made-by-side"))
        # its records, attributed by the pod's UID in its cgroup before the status names it
        self.assertTrue(self.run_waiting(app, lambda: rec.wait_log(
            rf"\+ umask \(x86_64, workload\) in container {app[:12]} \(not named by the pod yet\)")), rec.log_text())
        self.set_status("web", {"side": side, "app": app})  # the kubelet catches up
        rc, err = stop_recording(rec)
        self.assertEqual(rc, 0, err)
        self.assertGreater(self.srv.count(method="GET", resource="pods") - gets, 2, "fetched once, never again")
        self.assertRegex(err, rf"  container app \({app[:12]}\): \d+ records, \d+ syscalls\n")
        self.assertRegex(err, rf"  container side \({side[:12]}\): \d+ records, \d+ syscalls: left out \(--container\)")
        m = re.search(r"warning: (\d+) records? could not be attributed: the process had exited", err)
        self.assertTrue(m, err)
        self.assertGreaterEqual(int(m.group(1)), 6)  # seccompd-gone's 5 getppid and exit_group at least
        with open(self.path("web.json"), encoding="utf-8") as f:
            names = names_of(f.read())
        self.assertIn("execve", names)  # runc's start-up in app's cgroup: kept, named at the end
        for n in ("openat", "read", "write"):
            self.assertIn(n, names)
        self.assertNotIn("mkdir", names)  # side's
        print(f"\n# --pod default/web --container app: {len(names)} syscalls; {m.group(1)} records unattributed",
              file=sys.stderr)

    def test_pod_deleted_while_recording(self):
        uid = self.create_pod("brief", ["app"])
        app = self.container("/workload", "wait", pod_uid=uid, interactive=True)
        self.set_status("brief", {"app": app})
        rec = self.recorder("--pod", "default/brief", "-o", self.path("brief.json"))
        self.assertTrue(self.run_waiting(app, lambda: rec.wait_log(r"\+ umask \(x86_64, workload\) in container app\n")),
                        rec.log_text())
        self.srv.delete("Pod", "default", "brief")
        rc, err = stop_recording(rec)
        self.assertEqual(rc, 0, err)
        self.assertIn("seccompd record: pod default/brief was deleted; keeping what was recorded", err)
        self.assertRegex(err, rf"  container app \({app[:12]}\): \d+ records")
        with open(self.path("brief.json"), encoding="utf-8") as f:
            self.assertIn("openat", names_of(f.read()))

    def test_errors(self):
        self.create_pod("two", ["app", "side"], init=["setup"])
        base = ["record", "--follow", "--kubeconfig", self.kubeconfig]
        p = run(*base, "--pod", "default/nowhere")
        self.assertEqual(p.returncode, 2)
        self.assertIn("--pod: pod default/nowhere does not exist", p.stderr)
        p = run(*base, "--pod", "default/two", "--container", "nope")
        self.assertEqual(p.returncode, 2)
        self.assertIn('pod default/two has no container "nope"; its containers: app, side, init container setup',
                      p.stderr)
        for bad in (["--pod", "two"], ["--pod", "default/Two_"], ["--pod", "/two"],
                    ["--pod", "default/two", "--container", "Not_A_Name"]):
            self.assertEqual(run(*base, *bad).returncode, 2, bad)
        self.assertEqual(run("record", "--kubeconfig", self.kubeconfig).returncode, 2)  # without --pod


if __name__ == "__main__":
    unittest.main()
