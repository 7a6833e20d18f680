#!/usr/bin/env python3
"""seccompd validate, end to end through the binary: the shared corpus, our per-rule cases, and the
command-line contract (output shapes, exit codes)."""
import functools
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

import yaml

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
        produced |= MANIFEST_CODES  # Manifests.test_every_manifest_code_is_produced
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
        self.assertRegex(p.stdout, r"cannot-start\.json: warning: defaultAction: no container can start.*execve.*"
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
        self.assertIn("valid for containerd + runc 1.1 on aarch64", p.stdout)
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


# The codes of what is wrong with a manifest or its objects, beside the profiles' (docs/diagnostics.md).
MANIFEST_CODES = {"manifest-unreadable", "manifest-no-profile", "object-refused", "object-unlabeled",
                  "object-label-value", "object-empty", "object-recording", "object-recording-incomplete"}

PROFILE = '{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["execve","exit_group"],"action":"SCMP_ACT_ALLOW"}]}'


def kubectl(*args, stdin=None):
    p = subprocess.run(["kubectl", *args], input=stdin, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout


class Manifests(unittest.TestCase):
    """Issue 13: what seccompd would not install is never a silent pass."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp()

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def path(self, name, text):
        p = os.path.join(self.tmp, name)
        with open(p, "w", encoding="utf-8") as f:
            f.write(text)
        return p

    def created_configmap(self, *label):
        """What kubectl create configmap --from-file prints (no namespace, no label), labeled with
        kubectl label --local if asked."""
        profile = self.path("p.json", json.dumps(json.loads(PROFILE), indent=2) + "\n")
        text = kubectl("create", "configmap", "app", f"--from-file={profile}", "-o", "yaml", "--dry-run=client")
        if label:
            text = kubectl("label", "--local", "-f", "-", *label, "-o", "yaml", stdin=text)
        return self.path("cm.yaml", text)

    def test_unlabeled_configmap_fails_and_says_how(self):
        p = run("validate", self.created_configmap())
        self.assertEqual(p.returncode, 1, p.stdout)
        self.assertRegex(p.stdout, r"cm\.yaml:\d+:\d+: error: ConfigMap app: not labeled seccompd\.io/profile: "
                                   r"\"true\", so seccompd installs nothing from it; add the label .*the value "
                                   r"exactly \"true\".*each key of data and binaryData \(base64\) is then one "
                                   r"profile, its name ending in \"\.json\" \[object-unlabeled\]")
        self.assertIn("cm.yaml: INVALID manifest: 1 error in the file or its objects, 0 profiles checked", p.stdout)

    def test_label_not_exactly_true_fails(self):
        for value in ("yes", "True"):
            with self.subTest(value=value):
                f = self.created_configmap(f"seccompd.io/profile={value}")
                p = run("validate", f)
                self.assertEqual(p.returncode, 1, p.stdout)
                line = next(i for i, t in enumerate(open(f, encoding="utf-8"), 1) if "seccompd.io/profile" in t)
                self.assertRegex(p.stdout, rf"cm\.yaml:{line}:\d+: error: ConfigMap app: label seccompd\.io/profile "
                                           rf"is \"{value}\", not \"true\", .* \[object-label-value\]")
        p = run("validate", self.created_configmap("seccompd.io/profile=true"))
        self.assertEqual(p.returncode, 0, p.stdout)
        self.assertIn("cm.yaml: ConfigMap app data[p.json]: valid for containerd", p.stdout)

    def test_unrelated_configmaps_beside_profiles_pass(self):
        """kubectl kustomize output may hold an application's own ConfigMaps: one with no key that
        looks like a profile is no error when the file has profiles; one whose keys do, is."""
        text = (f"kind: ConfigMap\nmetadata: {{name: p, labels: {{seccompd.io/profile: \"true\"}}}}\n"
                f"data: {{p.json: '{PROFILE}'}}\n---\nkind: ConfigMap\nmetadata: {{name: settings}}\n"
                f"data: {{app.ini: x}}\n---\nkind: Deployment\nmetadata: {{name: app}}\n")
        p = run("validate", self.path("ok.yaml", text))
        self.assertEqual(p.returncode, 0, p.stdout)
        self.assertNotIn("settings", p.stdout)
        p = run("validate", self.path("forgot.yaml", text + "---\nkind: ConfigMap\nmetadata: {name: forgot}\n"
                                                             "data: {f.json: '{}'}\n"))
        self.assertEqual(p.returncode, 1, p.stdout)
        self.assertRegex(p.stdout, r"forgot\.yaml:12:1: error: ConfigMap forgot: not labeled .*\[object-unlabeled\]")
        # Nothing a seccompd would read at all: deploy/ itself.
        p = run("validate", "-", stdin=kubectl("kustomize", os.path.join(ROOT, "deploy")))
        self.assertEqual(p.returncode, 1, p.stdout)
        self.assertIn("<stdin>: error: no ConfigMap or Secret in it, so seccompd installs nothing from this file",
                      p.stdout)
        self.assertIn("[manifest-no-profile]", p.stdout)

    def test_list_as_kubectl_get_prints_it(self):
        items = [{"apiVersion": "v1", "kind": "ConfigMap",
                  "metadata": {"name": n, "namespace": "seccompd-system", "labels": {"seccompd.io/profile": "true"}},
                  "data": {f"{n}.json": PROFILE}} for n in ("one", "two")]
        doc = {"apiVersion": "v1", "kind": "List", "items": items, "metadata": {"resourceVersion": ""}}
        for name, text in (("list.yaml", yaml.safe_dump(doc)), ("list.json", json.dumps(doc))):
            with self.subTest(shape=name):
                f = self.path(name, text)
                p = run("validate", f) if name.endswith(".yaml") else run("validate", "-", stdin=text)
                self.assertEqual(p.returncode, 0, p.stdout)
                for n in ("one", "two"):
                    self.assertRegex(p.stdout, rf"ConfigMap seccompd-system/{n} data\[{n}\.json\]: valid for containerd")
        # The daemon's directory source reads the same List.
        src, root = os.path.join(self.tmp, "src"), os.path.join(self.tmp, "root")
        os.mkdir(src)
        self.path("src/list.yaml", yaml.safe_dump(doc))
        p = subprocess.run([SECCOMPD, "run", "--source", f"dir:{src}", "--root", root, "--once", "--no-self-confine"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(sorted(os.listdir(root)), ["..seccompd-state", "one.json", "two.json"])

    def test_yaml_on_stdin_is_a_manifest(self):
        """kubectl kustomize deploy/examples | seccompd validate - was read as JSON: "not valid JSON"."""
        text = kubectl("kustomize", os.path.join(ROOT, "deploy", "examples"))
        p = run("validate", "-", stdin=text)
        self.assertEqual(p.returncode, 0, p.stdout)
        for key in ("audit", "violation", "fine-grained"):
            self.assertIn(f"<stdin>: ConfigMap seccompd-system/seccomp-tutorial data[{key}.json]: valid", p.stdout)
        self.assertEqual(run("validate", "-", stdin="# a comment first\n" + text).returncode, 0)
        # A Kubernetes object in JSON (kubectl get -o json) is one too; a profile stays a profile.
        cm = kubectl("create", "configmap", "x", "--from-literal=x.json={}", "-o", "json", "--dry-run=client")
        p = run("validate", "-", stdin=cm)
        self.assertIn("[object-unlabeled]", p.stdout)
        p = run("validate", "-", stdin=PROFILE)
        self.assertRegex(p.stdout, r"(?m)^<stdin>: valid for containerd")
        p = run("validate", "-", stdin='{"defaultAction": ')
        self.assertIn("[json-syntax]", p.stdout)

    def test_positions_are_the_manifests(self):
        """A profile's line:column mapped into the file where its bytes stand there verbatim (a
        literal block, a one-line scalar without escapes), else the key's, the profile's own kept."""
        text = ("apiVersion: v1\n"                                      # 1
                "kind: ConfigMap\n"
                "metadata:\n"
                "  name: team\n"
                "  namespace: apps\n"                                   # 5
                "  labels: {seccompd.io/profile: \"true\"}\n"
                "data:\n"
                "  block.json: |\n"
                "    {\n"
                "      \"defaultAction\": \"SCMP_ACT_NOPE\"\n"        # 10
                "    }\n"
                "  line.json: '{\"defaultAction\":\"SCMP_ACT_NOPE\"}'\n"
                "  escaped.json: \"{\\\"defaultAction\\\":\\\"SCMP_ACT_NOPE\\\"}\"\n"
                "binaryData:\n"
                "  b.json: eyJkZWZhdWx0QWN0aW9uIjoiU0NNUF9BQ1RfTk9QRSJ9\n")  # 15
        f = self.path("team.yaml", text)
        p = run("validate", f)
        self.assertEqual(p.returncode, 1)
        out = p.stdout.replace(f, "team.yaml")
        for line in ('team.yaml:10:24: error: ConfigMap apps/team data[block.json]: defaultAction: unknown action',
                     'team.yaml:12:32: error: ConfigMap apps/team data[line.json]: defaultAction: unknown action',
                     'team.yaml:13:3: error: ConfigMap apps/team data[escaped.json]:1:18: defaultAction: unknown',
                     'team.yaml:15:3: error: ConfigMap apps/team binaryData[b.json]:1:18: defaultAction: unknown'):
            self.assertIn(line, out)
        self.assertIn("team.yaml: ConfigMap apps/team data[block.json]: INVALID for containerd", out)
        doc = json.loads(run("validate", "--json", f).stdout)
        self.assertEqual(doc["files"][0], {"file": f, "manifest": True, "valid": True, "profiles": 4,
                                           "diagnostics": []})
        block = doc["files"][1]
        self.assertEqual((block["origin"], block["object"], block["field"], block["key"]),
                         ("ConfigMap apps/team data[block.json]",
                          {"kind": "ConfigMap", "namespace": "apps", "name": "team"}, "data", "block.json"))
        d = block["diagnostics"][0]
        self.assertEqual((d["code"], d["line"], d["column"], d["manifestLine"], d["manifestColumn"]),
                         ("unknown-action", 2, 20, 10, 24))
        d = doc["files"][4]["diagnostics"][0]
        self.assertEqual((d["line"], d["column"], d["manifestLine"], d["manifestColumn"]), (1, 18, 15, 3))

    def test_object_errors_in_json(self):
        """A key that does not end in .json printed an error but gave {"files":[]} with exit 1."""
        text = ("kind: ConfigMap\n"
                "metadata: {name: k, namespace: apps, labels: {seccompd.io/profile: \"true\"}}\n"
                "data:\n"
                "  notes.txt: x\n"
                f"  good.json: '{PROFILE}'\n"
                "---\n"
                "kind: Secret\n"
                "metadata: {name: s, labels: {seccompd.io/profile: \"yes\"}}\n"
                "data: {s.json: e30=}\n")
        f = self.path("k.yaml", text)
        p = run("validate", "--json", f)
        self.assertEqual(p.returncode, 1)
        files = json.loads(p.stdout)["files"]
        self.assertEqual([(e["file"], e.get("manifest", False), e["valid"]) for e in files],
                         [(f, True, False), (f, False, True)])
        refused, label = files[0]["diagnostics"]
        self.assertEqual(refused, {
            "severity": "error", "code": "object-refused", "path": "data[notes.txt]", "line": None, "column": None,
            "manifestLine": 4, "manifestColumn": 3,
            "object": {"kind": "ConfigMap", "namespace": "apps", "name": "k"},
            "message": "ConfigMap apps/k: data[notes.txt]: a profile's name must end in \".json\""})
        self.assertEqual((label["code"], label["manifestLine"], label["object"]),
                         ("object-label-value", 8, {"kind": "Secret", "namespace": None, "name": "s"}))
        self.assertEqual(files[1]["key"], "good.json")
        # The same in lines, compiler style, and a summary for the file.
        p = run("validate", f)
        self.assertIn(f"{f}:4:3: error: ConfigMap apps/k: data[notes.txt]: a profile's name must end in \".json\" "
                      "[object-refused]", p.stdout)
        self.assertIn(f"{f}: INVALID manifest: 2 errors in the file or its objects, 1 profile checked", p.stdout)

    def test_every_manifest_code_is_produced(self):
        seen = set()
        for name in sorted(glob.glob(os.path.join(ROOT, "tests", "cases", "manifests", "*.yaml"))) + ["-"]:
            p = run("validate", "--json", name, stdin="kind: Pod\n" if name == "-" else None)
            for entry in json.loads(p.stdout)["files"]:
                seen |= {d["code"] for d in entry["diagnostics"] if entry.get("manifest")}
        self.assertEqual(seen, MANIFEST_CODES)


@functools.cache
def recorded_profile():
    """What seccompd record writes from an audit log: the workload's calls and runc's start-up needs."""
    p = subprocess.run([SECCOMPD, "record", "--from", os.path.join(ROOT, "tests", "cases", "record", "audit.log")],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout


def recording(name="web", complete="true", reason=None, profile=None):
    """A recording ConfigMap as the recorder agent writes it and `kubectl get configmap -o yaml`
    prints it: its server-set fields (managedFields, resourceVersion, uid) included."""
    annotations = {"seccompd.io/recording-complete": complete}
    if reason is not None:
        annotations["seccompd.io/recording-incomplete-reason"] = reason
    cm = {"apiVersion": "v1", "kind": "ConfigMap",
          "data": {f"{name}.json": profile or recorded_profile()},
          "metadata": {
              "name": f"seccompd-recording-{name}", "namespace": "seccompd-system",
              "labels": {"seccompd.io/recording": name}, "annotations": annotations,
              "creationTimestamp": "2026-12-02T15:00:00Z", "resourceVersion": "4242",
              "uid": "0b6a9a57-52d4-4a8f-9a0e-7f9d1c3b2a10",
              "managedFields": [{"apiVersion": "v1", "fieldsType": "FieldsV1", "manager": "seccompd",
                                 "operation": "Update", "time": "2026-12-02T15:00:00Z", "fieldsV1": {
                                     "f:data": {".": {}, f"f:{name}.json": {}},
                                     "f:metadata": {"f:annotations": {".": {}, **{f"f:{k}": {} for k in annotations}},
                                                    "f:labels": {".": {}, "f:seccompd.io/recording": {}}}}}]}}
    return cm


class Recordings(unittest.TestCase):
    """What `seccompd recorder` writes is no mistake to report but a profile to check: validate takes it
    as it is, says it is a recording and how to install it, and checks its profile."""

    LABEL_IT = "`kubectl label configmap seccompd-recording-web -n seccompd-system seccompd.io/profile=true`"

    def setUp(self):
        self.tmp = tempfile.mkdtemp()

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def path(self, name, obj):
        p = os.path.join(self.tmp, name)
        with open(p, "w", encoding="utf-8") as f:
            f.write(yaml.safe_dump(obj) if isinstance(obj, dict) else obj)
        return p

    def test_complete_recording_is_a_note_and_its_profile_is_checked(self):
        f = self.path("rec.yaml", recording())
        p = run("validate", f)
        self.assertEqual(p.returncode, 0, p.stdout)
        self.assertNotIn("object-unlabeled", p.stdout)
        self.assertNotIn(": error:", p.stdout)
        with open(f, encoding="utf-8") as text:
            line = next(i for i, t in enumerate(text, 1) if "seccompd.io/recording: web" in t)
        self.assertIn(f"{f}:{line}:", p.stdout)
        self.assertRegex(p.stdout, r"rec\.yaml:\d+:\d+: note: ConfigMap seccompd-system/seccompd-recording-web: a "
                                   r"complete recording of \"web\" \(seccompd\.io/recording\), not installed: .*"
                                   + re.escape(self.LABEL_IT) + r" installs it \[object-recording\]")
        self.assertIn(f"{f}: ConfigMap seccompd-system/seccompd-recording-web data[web.json]: valid for containerd",
                      p.stdout)
        self.assertNotIn("INVALID", p.stdout)
        self.assertEqual(run("validate", "--strict", f).returncode, 0)  # a note is no warning

        doc = json.loads(run("validate", "--json", f).stdout)
        manifest, prof = doc["files"]
        self.assertEqual((manifest["valid"], manifest["profiles"]), (True, 1))
        (note,) = manifest["diagnostics"]
        self.assertEqual((note["severity"], note["code"], note["object"]),
                         ("note", "object-recording",
                          {"kind": "ConfigMap", "namespace": "seccompd-system", "name": "seccompd-recording-web"}))
        self.assertEqual((prof["valid"], prof["key"], prof["diagnostics"]), (True, "web.json", []))
        self.assertIn("0 errors, 0 warnings", p.stdout)

    def test_as_kubectl_get_prints_it_in_json_on_stdin(self):
        p = run("validate", "-", stdin=json.dumps(recording()))
        self.assertEqual(p.returncode, 0, p.stdout)
        self.assertIn("[object-recording]", p.stdout)
        self.assertIn("<stdin>: ConfigMap seccompd-system/seccompd-recording-web data[web.json]: valid", p.stdout)

    def test_incomplete_recording_is_a_warning_that_says_why(self):
        f = self.path("rec.yaml", recording(complete="false", reason="the kernel dropped 3 audit records"))
        p = run("validate", f)
        self.assertEqual(p.returncode, 0, p.stdout)
        self.assertRegex(p.stdout, r"rec\.yaml:\d+:\d+: warning: ConfigMap seccompd-system/seccompd-recording-web: "
                                   r"an incomplete recording of \"web\" \(seccompd\.io/recording-complete: "
                                   r"\"false\"\): the kernel dropped 3 audit records; .*once the recording is "
                                   r"complete, " + re.escape(self.LABEL_IT) + r" installs it "
                                   r"\[object-recording-incomplete\]")
        self.assertIn("data[web.json]: valid for containerd", p.stdout)
        # Warnings fail with --strict, as a profile's do.
        p = run("validate", "--strict", f)
        self.assertEqual(p.returncode, 1, p.stdout)
        self.assertIn(f"{f}: INVALID manifest with --strict: 1 warning in the file or its objects, 1 profile "
                      "checked", p.stdout)
        (d,) = json.loads(run("validate", "--json", f).stdout)["files"][0]["diagnostics"]
        self.assertEqual((d["severity"], d["code"]), ("warning", "object-recording-incomplete"))
        # No reason given: said so.
        p = run("validate", self.path("noreason.yaml", recording(complete="false")))
        self.assertIn("no reason given (seccompd.io/recording-incomplete-reason)", p.stdout)

    def test_invalid_recorded_profile_fails(self):
        f = self.path("rec.yaml", recording(profile='{"defaultAction":"SCMP_ACT_NOPE"}'))
        p = run("validate", f)
        self.assertEqual(p.returncode, 1, p.stdout)
        self.assertIn("[object-recording]", p.stdout)
        self.assertIn("[unknown-action]", p.stdout)
        self.assertIn("data[web.json]: INVALID for containerd", p.stdout)

    def test_what_the_note_says_installs_it(self):
        """The daemon installs nothing from a recording; labeled as the note says, it is a profile like
        any, and validate says nothing more of it."""
        f = self.path("rec.yaml", recording())
        labeled = kubectl("label", "--local", "-f", f, "seccompd.io/profile=true", "-o", "yaml")
        src, root = os.path.join(self.tmp, "src"), os.path.join(self.tmp, "root")
        os.mkdir(src)
        shutil.copy(f, os.path.join(src, "rec.yaml"))
        p = subprocess.run([SECCOMPD, "run", "--source", f"dir:{src}", "--root", root, "--once", "--no-self-confine"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertFalse(os.path.exists(os.path.join(root, "web.json")))
        self.assertEqual(p.stderr.count("recording"), 0, p.stderr)  # nothing logged of it either

        p = run("validate", "-", stdin=labeled)
        self.assertEqual(p.returncode, 0, p.stdout)
        self.assertNotIn("recording", p.stdout.replace("seccompd-recording-web", ""))
        self.path("src/rec.yaml", labeled)
        p = subprocess.run([SECCOMPD, "run", "--source", f"dir:{src}", "--root", root, "--once", "--no-self-confine"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(os.path.join(root, "web.json"), encoding="utf-8") as out:
            self.assertEqual(out.read(), recording()["data"]["web.json"])

    def test_only_configmaps_are_recordings(self):
        secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "labels": {
            "seccompd.io/recording": "web"}}, "data": {"web.json": "e30="}}
        p = run("validate", self.path("s.yaml", secret))
        self.assertEqual(p.returncode, 1, p.stdout)
        self.assertIn("[object-unlabeled]", p.stdout)


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
