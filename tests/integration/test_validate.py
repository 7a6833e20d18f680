#!/usr/bin/env python3
"""seccompd validate, end to end through the binary: the shared corpus, our per-rule cases, and the
command-line contract (output shapes, exit codes)."""
import glob
import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

SECCOMPD = os.environ["SECCOMPD"]
ROOT = os.environ["SOURCE_ROOT"]
SHARED = os.path.normpath(os.path.join(ROOT, "..", "shared", "profiles"))


def run(*args, stdin=None):
    return subprocess.run([SECCOMPD, *args], input=stdin, capture_output=True, text=True, timeout=60)


def validate_json(path, *args):
    p = run("validate", "--json", *args, path)
    assert p.returncode in (0, 1), (path, p.returncode, p.stderr)
    doc = json.loads(p.stdout)
    return p.returncode, doc["files"][0]


def read_table(path):
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                yield line.rstrip("\n").split("\t")


class Corpus(unittest.TestCase):
    def test_every_corpus_file_has_its_expected_verdict(self):
        self.assertTrue(os.path.isdir(SHARED), f"the shared corpus is missing at {SHARED}")
        rows = list(read_table(os.path.join(ROOT, "tests", "corpus-expected.tsv")))
        listed = {(r[0], r[1]) for r in rows}
        files = sorted(os.path.relpath(f, SHARED) for f in glob.glob(os.path.join(SHARED, "**", "*.json"), recursive=True))
        for f in files:
            for runtime in ("containerd", "cri-o"):
                self.assertIn((f, runtime), listed, f"{f} has no expected verdict for {runtime}")
        for f, runtime, verdict, codes in rows:
            with self.subTest(file=f, runtime=runtime):
                rc, doc = validate_json(os.path.join(SHARED, f), "--runtime", runtime)
                errors = sorted({d["code"] for d in doc["diagnostics"] if d["severity"] == "error"})
                self.assertEqual(doc["valid"], verdict == "valid", doc["diagnostics"][:5])
                self.assertEqual(rc, 0 if verdict == "valid" else 1)
                self.assertEqual(",".join(errors) or "-", codes)

    def test_cases(self):
        rows = list(read_table(os.path.join(ROOT, "tests", "cases", "manifest.tsv")))
        self.assertGreater(len(rows), 50)
        for f, runtime, verdict, codes, args in rows:
            with self.subTest(case=f):
                extra = [] if args == "-" else args.split()
                _, doc = validate_json(os.path.join(ROOT, "tests", "cases", f), "--runtime", runtime, *extra)
                seen = {d["code"] for d in doc["diagnostics"]}
                self.assertEqual(doc["valid"], verdict == "valid", doc["diagnostics"])
                for c in codes.split(","):
                    if c != "-":
                        self.assertIn(c, seen, doc["diagnostics"])

    def test_every_code_is_exercised(self):
        """Each diagnostic code documented in docs/diagnostics.md is produced by at least one case."""
        with open(os.path.join(ROOT, "docs", "diagnostics.md"), encoding="utf-8") as f:
            documented = {line.split("`")[1] for line in f if line.startswith("| `")}
        produced = set()
        for row in read_table(os.path.join(ROOT, "tests", "cases", "manifest.tsv")):
            produced |= set(row[3].split(","))
        produced |= {"json-too-large", "filter-too-large"}  # generated below
        self.assertEqual(documented - produced, set())


class Limits(unittest.TestCase):
    def test_too_large_input(self):
        with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
            f.write('{"defaultAction":"SCMP_ACT_ALLOW","comment":"' + "x" * (1024 * 1024) + '"}')
            f.flush()
            rc, doc = validate_json(f.name)
        self.assertEqual(rc, 1)
        self.assertEqual([d["code"] for d in doc["diagnostics"]], ["json-too-large"])

    def test_filter_too_large_for_the_kernel(self):
        rules = [{"names": ["personality"], "action": "SCMP_ACT_ERRNO",
                  "args": [{"index": 0, "value": i, "op": "SCMP_CMP_EQ"},
                           {"index": 1, "value": i, "op": "SCMP_CMP_EQ"}]} for i in range(450)]
        with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
            json.dump({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
                       "syscalls": rules}, f)
            f.flush()
            rc, doc = validate_json(f.name)
        self.assertEqual(rc, 1)
        self.assertIn("filter-too-large", {d["code"] for d in doc["diagnostics"]})
        self.assertGreater(doc["bpfInstructions"], 4096)

    def test_conditional_rules_per_syscall_bounded(self):
        """Refused before libseccomp spends minutes on it."""
        rules = [{"names": ["personality"], "action": "SCMP_ACT_ERRNO",
                  "args": [{"index": 0, "value": i, "op": "SCMP_CMP_EQ"}]} for i in range(1500)]
        with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
            json.dump({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": rules}, f)
            f.flush()
            rc, doc = validate_json(f.name)
        self.assertEqual(rc, 1)
        self.assertEqual([d["code"] for d in doc["diagnostics"] if d["severity"] == "error"], ["filter-too-large"])


class Cli(unittest.TestCase):
    def case(self, name):
        return os.path.join(ROOT, "tests", "cases", name)

    def test_human_output_is_compiler_style(self):
        p = run("validate", self.case("operator-unknown.json"))
        self.assertEqual(p.returncode, 1)
        first = p.stdout.splitlines()[0]
        self.assertRegex(first, r"^.*operator-unknown\.json:1:\d+: error: syscalls\[1\]\.args\[0\]\.op: unknown "
                                r"operator \"SCMP_CMP_MASKED_NE\".* \[unknown-operator\]$")

    def test_path_in_message_without_line(self):
        p = run("validate", self.case("cannot-start.json"))
        self.assertEqual(p.returncode, 0)
        self.assertRegex(p.stdout, r"cannot-start\.json: warning: defaultAction: .*execve is not allowed.*"
                                   r"\[container-cannot-start\]")

    def test_json_document_shape(self):
        p = run("validate", "--json", self.case("errno-zero.json"), self.case("syntax-error.json"))
        self.assertEqual(p.returncode, 1)
        doc = json.loads(p.stdout)
        self.assertEqual([f["valid"] for f in doc["files"]], [True, False])
        d = doc["files"][1]["diagnostics"][0]
        self.assertEqual(set(d), {"severity", "code", "path", "line", "column", "message"})
        self.assertEqual((d["severity"], d["code"], d["line"], d["column"]), ("error", "json-syntax", 1, 19))

    def test_strict_makes_warnings_fail(self):
        self.assertEqual(run("validate", self.case("errno-zero.json")).returncode, 0)
        p = run("validate", "--strict", self.case("errno-zero.json"))
        self.assertEqual(p.returncode, 1)
        self.assertIn(": error: ", p.stdout)

    def test_stdin(self):
        p = run("validate", "-", stdin='{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"}]}')
        self.assertEqual(p.returncode, 0, p.stdout)
        self.assertTrue(p.stdout.startswith("<stdin>: valid for containerd"))

    def test_usage_and_io_errors_exit_2(self):
        self.assertEqual(run("validate").returncode, 2)
        self.assertEqual(run("validate", "--runtime", "docker", self.case("errno-zero.json")).returncode, 2)
        self.assertEqual(run("validate", "--arch", "vax", self.case("errno-zero.json")).returncode, 2)
        p = run("validate", "/nonexistent/x.json")
        self.assertEqual(p.returncode, 2)
        self.assertIn("cannot read /nonexistent/x.json", p.stderr)
        self.assertEqual(run("validate", ROOT).returncode, 2)
        self.assertEqual(run("frobnicate").returncode, 2)

    def test_allow_notify(self):
        self.assertEqual(run("validate", self.case("notify-not-allowed.json")).returncode, 1)
        self.assertEqual(run("validate", "--allow-notify", "/run/agent.sock", self.case("notify-not-allowed.json")).returncode, 0)
        self.assertEqual(run("validate", "--allow-notify", "relative.sock", self.case("notify-not-allowed.json")).returncode, 2)

    def test_other_architecture(self):
        f = os.path.join(SHARED, "k8s-website-fine-grained.json")
        p = run("validate", "--arch", "aarch64", f)
        self.assertEqual(p.returncode, 0, p.stdout)
        self.assertIn("valid for containerd on aarch64", p.stdout)
        # open(2) exists on x86_64 but not on aarch64: the deny rule is dead there.
        deny_open = '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["open"],"action":"SCMP_ACT_ERRNO"}]}'
        self.assertIn("[syscall-absent-arch]", run("validate", "--arch", "aarch64", "-", stdin=deny_open).stdout)
        self.assertNotIn("[syscall-absent-arch]", run("validate", "--arch", "x86_64", "-", stdin=deny_open).stdout)

    def test_typo_suggestion_counts_a_swap_as_one_edit(self):
        """Issue 13: "clsoe" was two edits from "close" (Levenshtein), past the bound for 5 letters."""
        allow = '{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["execve","clsoe"],"action":"SCMP_ACT_ALLOW"}]}'
        p = run("validate", "-", stdin=allow)
        self.assertEqual(p.returncode, 0, p.stdout)
        self.assertRegex(p.stdout, r'<stdin>:1:\d+: warning: syscalls\[0\]\.names\[1\]: "clsoe" is not a Linux '
                                   r'syscall .*; did you mean "close"\? \[syscall-unknown\]')
        self.assertEqual(run("validate", "--strict", "-", stdin=allow).returncode, 1)
        deny = '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdri"],"action":"SCMP_ACT_ERRNO"}]}'
        p = run("validate", "-", stdin=deny)
        self.assertEqual(p.returncode, 1)
        self.assertIn('did you mean "mkdir"? [syscall-not-linux]', p.stdout)

    def test_every_architecture_validates(self):
        """Issue 13: --arch s390x and mips64 failed with "Numerical argument out of domain" on any profile,
        since libseccomp refuses to put a big-endian arch beside the little-endian host's. Every arch
        of lib/profile/tables.c is either validated or refused as too new for this libseccomp."""
        with open(os.path.join(ROOT, "lib", "profile", "tables.c"), encoding="utf-8") as f:
            arches = re.findall(r'^\s*\{"SCMP_ARCH_\w+", "(\w+)",', f.read(), re.M)
        self.assertGreater(len(arches), 20)
        profiles = {
            "audit": '{"defaultAction":"SCMP_ACT_LOG"}',
            # Rules to compile for the arch, an allow list and a conditional deny.
            "rules": json.dumps({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
                {"names": ["read", "write", "close", "exit_group", "execve", "futex"], "action": "SCMP_ACT_ALLOW"},
                {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                 "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]}]}),
        }
        accepted = []
        for arch in arches:
            for what, profile in profiles.items():
                with self.subTest(arch=arch, profile=what):
                    p = run("validate", "--json", "--arch", arch, "-", stdin=profile)
                    if p.returncode == 2:
                        self.assertRegex(p.stderr, rf"cannot build filters for {arch} \(it needs \d")
                        continue
                    self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
                    doc = json.loads(p.stdout)["files"][0]
                    self.assertTrue(doc["valid"], doc)
                    self.assertGreater(doc["bpfInstructions"], 3)
                    if what == "rules":
                        accepted.append(arch)
        for arch in ("s390x", "s390", "mips64", "mips", "ppc64", "x86_64", "aarch64", "riscv64"):
            self.assertIn(arch, accepted)
        # A profile listing an arch of the other byte order fails as runc fails on such a node.
        p = run("validate", "--json", "--arch", "s390x", "-",
                stdin='{"defaultAction":"SCMP_ACT_LOG","architectures":["SCMP_ARCH_X86_64"]}')
        self.assertEqual(p.returncode, 1)
        d = json.loads(p.stdout)["files"][0]["diagnostics"]
        self.assertIn("libseccomp-rejected", {x["code"] for x in d})
        self.assertIn("byte orders differ", " ".join(x["message"] for x in d))

    def test_help_and_version(self):
        p = run("--version")
        self.assertEqual(p.returncode, 0)
        self.assertRegex(p.stdout, r"^seccompd \d+\.\d+\.\d+ \(libseccomp \d+\.\d+\.\d+\)\n$")
        for verb in ("validate", "convert"):
            p = run(verb, "--help")
            self.assertEqual(p.returncode, 0)
            self.assertIn(f"Usage: seccompd {verb}", p.stdout)
        self.assertIn("validate FILE", run("--help").stdout)


VERBS = ("validate", "convert", "run", "record")


class Commands(unittest.TestCase):
    """What every verb shares: help, and usage errors that name the verb and where to read more."""

    def test_help_verb_is_the_verbs_help(self):
        for verb in VERBS:
            with self.subTest(verb=verb):
                p, q = run("help", verb), run(verb, "--help")
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertTrue(p.stdout.startswith(f"Usage: seccompd {verb} "), p.stdout[:80])
                self.assertEqual(p.stdout, q.stdout)
        top = run("help")
        self.assertEqual(top.returncode, 0)
        self.assertEqual(top.stdout, run("--help").stdout)
        self.assertIn("seccompd help COMMAND", top.stdout)
        p = run("help", "frobnicate")
        self.assertEqual(p.returncode, 2)
        self.assertEqual(p.stderr, "seccompd help: unknown command \"frobnicate\"; see 'seccompd --help'\n")

    def test_option_errors_name_the_verb_and_its_help(self):
        """getopt's own "unrecognized option" lines said neither which verb nor where to look."""
        for verb in VERBS:
            see = f"; see 'seccompd {verb} --help'\n"
            cases = [(["--x"], "unrecognized option '--x'"), (["-Q"], "invalid option -- 'Q'"),
                     (["--help=yes"], "option '--help' doesn't allow an argument")]
            cases.append({"validate": (["--runtime"], "option '--runtime' requires an argument"),
                          "convert": (["--arch"], "option '--arch' requires an argument"),
                          "run": (["--source"], "option '--source' requires an argument"),
                          "record": (["-o"], "option requires an argument -- 'o'")}[verb])
            for args, message in cases:
                with self.subTest(verb=verb, args=args):
                    p = run(verb, *args)
                    self.assertEqual(p.returncode, 2)
                    self.assertEqual(p.stderr, f"seccompd {verb}: {message}{see}")
        p = run("run", "--no")  # --no-self-confine or --node-name, --node-condition
        self.assertEqual(p.stderr, "seccompd run: option '--no' is ambiguous; see 'seccompd run --help'\n")


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=2).result
    sys.exit(0 if result.wasSuccessful() and result.testsRun > 0 else 1)
