#!/usr/bin/env python3
"""seccompd convert: the flattened profile must be what Docker's own resolution produces (moby's
profiles/seccomp code, run through tests/moby as an oracle), rule by rule, and must pass validate for
containerd."""
import glob
import itertools
import json
import os
import subprocess
import sys
import tempfile
import unittest

SECCOMPD = os.environ["SECCOMPD"]
ROOT = os.environ["SOURCE_ROOT"]
BUILD = os.environ["BUILD_ROOT"]
SHARED = os.path.normpath(os.path.join(ROOT, "..", "shared", "profiles"))
ORACLE = os.path.join(BUILD, "moby-resolve")

DEFAULT_CAPS = ("CAP_CHOWN,CAP_DAC_OVERRIDE,CAP_FSETID,CAP_FOWNER,CAP_MKNOD,CAP_NET_RAW,CAP_SETGID,CAP_SETUID,"
                "CAP_SETFCAP,CAP_SETPCAP,CAP_NET_BIND_SERVICE,CAP_SYS_CHROOT,CAP_KILL,CAP_AUDIT_WRITE")


def setUpModule():
    if not os.path.exists(ORACLE):
        subprocess.run(["bash", os.path.join(ROOT, "tests", "moby", "build.sh"), ORACLE], check=True, timeout=900)


def normalize(p):
    """The fields runc reads, in order, with Go's zero values made explicit."""
    if p is None:
        return None
    rules = []
    for r in p.get("syscalls") or []:
        rules.append({
            "names": r.get("names") or [],
            "action": r["action"],
            "errnoRet": r.get("errnoRet"),
            "args": [(a["index"], a["value"], a.get("valueTwo", 0), a["op"]) for a in r.get("args") or []],
        })
    return {
        "defaultAction": p["defaultAction"],
        "defaultErrnoRet": p.get("defaultErrnoRet"),
        "architectures": p.get("architectures") or [],
        "flags": p.get("flags") or [],
        "listenerPath": p.get("listenerPath", ""),
        "syscalls": rules,
    }


def run(*args):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=120)


class AgainstMoby(unittest.TestCase):
    def test_rule_by_rule(self):
        files = [os.path.join(SHARED, f) for f in ("moby-default.json", "moby-fixture-conditional_include.json",
                                                  "moby-fixture-default-old-format.json", "jessfraz-chrome.json",
                                                  "dockerlabs-default.json", "spo-bpf-recorder.json",
                                                  "runc-seccomp_syscall_test2.json", "k8s-website-fine-grained.json")]
        caps_sets = [DEFAULT_CAPS, "CAP_SYS_ADMIN," + DEFAULT_CAPS, "", "CAP_SYSLOG,CAP_SYS_PTRACE"]
        compared = 0
        for f, arch, kernel, caps in itertools.product(files, ("amd64", "arm64", "s390x"), ("4.4", "6.1"), caps_sets):
            with self.subTest(file=os.path.basename(f), arch=arch, kernel=kernel, caps=caps[:20]):
                oracle = run(ORACLE, "--arch", arch, "--kernel", kernel, "--caps", caps, f)
                ours = run(SECCOMPD, "convert", "--arch", arch, "--kernel", kernel, "--caps", caps, f)
                self.assertEqual(oracle.returncode, 0, oracle.stderr)
                self.assertEqual(ours.returncode, 0, ours.stderr)
                want, got = normalize(json.loads(oracle.stdout)), normalize(json.loads(ours.stdout))
                # Debian's moby 20.10 predates the top-level defaultErrnoRet (it has only the per-rule
                # errnoRet) and drops it; newer moby copies it, as convert does. Checked on its own.
                with open(f, encoding="utf-8") as src:
                    self.assertEqual(got.pop("defaultErrnoRet"), json.load(src).get("defaultErrnoRet"))
                want.pop("defaultErrnoRet")
                self.assertEqual(len(got["syscalls"]), len(want["syscalls"]))
                for i, (g, w) in enumerate(zip(got["syscalls"], want["syscalls"])):
                    self.assertEqual(g, w, f"syscalls[{i}]")
                self.assertEqual(got, want)
                compared += 1
        self.assertEqual(compared, 8 * 3 * 2 * 4)

    def test_errors_moby_also_refuses(self):
        for f in ("neg-moby-test-name-and-names.json", "neg-moby-test-architectures-and-archMap.json"):
            path = os.path.join(SHARED, f)
            self.assertEqual(run(ORACLE, "--arch", "amd64", "--kernel", "6.1", path).returncode, 1)
            p = run(SECCOMPD, "convert", path)
            self.assertEqual(p.returncode, 1)
            self.assertIn(": error: ", p.stderr)


class Output(unittest.TestCase):
    def test_output_passes_validate_for_containerd(self):
        for f in sorted(glob.glob(os.path.join(SHARED, "*.json"))):
            conv = run(SECCOMPD, "convert", f)
            if conv.returncode != 0:
                continue
            with self.subTest(file=os.path.basename(f)), tempfile.NamedTemporaryFile("w", suffix=".json") as t:
                t.write(conv.stdout)
                t.flush()
                v = run(SECCOMPD, "validate", "--json", "--runtime", "containerd", t.name)
                doc = json.loads(v.stdout)["files"][0]
                codes = {d["code"] for d in doc["diagnostics"]}
                self.assertTrue(doc["valid"], doc["diagnostics"][:3])
                self.assertNotIn("containerd-ignored-field", codes)
                self.assertNotIn("archmap-ignored", codes)

    def test_errno_names_become_numbers(self):
        p = run(SECCOMPD, "convert", "--runtime", "cri-o", os.path.join(SHARED, "containers-common-seccomp.json"))
        self.assertEqual(p.returncode, 0, p.stderr)
        doc = json.loads(p.stdout)
        self.assertEqual(doc["defaultErrnoRet"], 38)  # ENOSYS
        self.assertNotIn("defaultErrno", doc)
        self.assertTrue(any(r.get("errnoRet") == 1 for r in doc["syscalls"]))  # "errno": "EPERM"

    def test_values_above_2_63_survive(self):
        src = ('{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["openat"],"action":"SCMP_ACT_ERRNO",'
               '"args":[{"index":0,"value":18446744073709551516,"op":"SCMP_CMP_EQ"}]}]}')
        p = subprocess.run([SECCOMPD, "convert", "-"], input=src, capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)["syscalls"][0]["args"][0]["value"], 18446744073709551516)

    def test_exit_codes(self):
        self.assertEqual(run(SECCOMPD, "convert").returncode, 2)
        self.assertEqual(run(SECCOMPD, "convert", "--kernel", "5", os.path.join(SHARED, "moby-default.json")).returncode, 2)
        self.assertEqual(run(SECCOMPD, "convert", "/nonexistent.json").returncode, 2)
        self.assertEqual(run(SECCOMPD, "convert", os.path.join(SHARED, "cases", "unknown-action.json")).returncode, 1)


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=2).result
    sys.exit(0 if result.wasSuccessful() and result.testsRun > 0 else 1)
