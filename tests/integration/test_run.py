#!/usr/bin/env python3
"""seccompd run, through the real binary: --once and its exit codes, the daemon reacting to source
changes and drift (synchronised on its sd_notify messages, never on sleeps), a full filesystem, and
kill -9 at random moments during large syncs."""
import base64
import hashlib
import json
import os
import random
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import unittest

import harness

SECCOMPD = os.environ["SECCOMPD"]
ROOT = os.environ["SOURCE_ROOT"]


def profile(i, version=0):
    """A small valid profile, distinct per (i, version)."""
    return json.dumps({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1 + (i * 7 + version) % 200}]}) + "\n"


def once(source, root, *extra):
    return subprocess.run([SECCOMPD, "run", "--source", f"dir:{source}", "--root", root, "--once", *extra],
                          capture_output=True, text=True, timeout=300)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


class Once(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.src = os.path.join(self.tmp, "src")
        self.root = os.path.join(self.tmp, "root")
        os.mkdir(self.src)

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def test_embedded_default(self):
        p = once(os.path.join(ROOT, "examples", "source"), self.root)
        self.assertEqual(p.returncode, 0, p.stderr)
        for name in ("audit", "violation", "fine-grained"):
            with self.subTest(profile=name):
                self.assertEqual(json.loads(read(f"{self.root}/profiles/{name}.json")),
                                 json.loads(read(f"{ROOT}/examples/profiles/{name}.json")))
                self.assertEqual(os.stat(f"{self.root}/profiles/{name}.json").st_mode & 0o7777, 0o644)
        self.assertIn("installed path=profiles/violation.json", p.stderr)
        self.assertIn("[container-cannot-start]", p.stderr)  # the warning reaches the log
        # Said once: the level is the line's prefix (issue 13: "warning: profile warning: ...").
        self.assertRegex(p.stderr, r"(?m)^warning: defaultAction: .*\[container-cannot-start\] "
                                   r"path=profiles/violation\.json")
        self.assertNotIn("profile warning", p.stderr)

    def test_recording_profile_with_a_directory_source(self):
        """--recording-profile works with any source: the built-in entry comes before the source's."""
        write(f"{self.src}/a.json", profile(1))
        p = once(self.src, self.root, "--recording-profile")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(read(f"{self.root}/seccompd/record.json"), '{"defaultAction":"SCMP_ACT_LOG"}\n')
        self.assertIn("installed path=seccompd/record.json source=built-in (--recording-profile)", p.stderr)
        self.assertIn("f 0 seccompd/record.json\n", read(f"{self.root}/..seccompd-state"))
        self.assertEqual(read(f"{self.root}/a.json"), profile(1))
        p = once(self.src, self.root)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertFalse(os.path.exists(f"{self.root}/seccompd"))
        self.assertNotIn("seccompd/record.json", read(f"{self.root}/..seccompd-state"))
        self.assertEqual(read(f"{self.root}/a.json"), profile(1))

    def test_rejected_and_conflicting_exit_1_valid_ones_installed(self):
        write(f"{self.src}/good.json", profile(1))
        write(f"{self.src}/bad.json", '{"defaultAction": "SCMP_ACT_NOPE"}')
        write(f"{self.src}/taken.json", profile(2))
        os.makedirs(self.root)
        write(f"{self.root}/taken.json", "FOREIGN")
        p = once(self.src, self.root)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertEqual(read(f"{self.root}/good.json"), profile(1))
        self.assertFalse(os.path.exists(f"{self.root}/bad.json"))
        self.assertEqual(read(f"{self.root}/taken.json"), "FOREIGN")
        self.assertRegex(p.stderr, r"profile rejected: defaultAction: unknown action .* path=bad\.json source=.*bad\.json")
        self.assertRegex(p.stderr, r"conflict: .* path=taken\.json")

    def test_foreign_objects_on_a_target_path_are_conflicts(self):
        """A symlink, a FIFO, a directory or a file where seccompd would write is something it did not
        write: a conflict (exit 1), left as it is and never followed, not a failing disk (exit 3). The
        other profiles are installed."""
        elsewhere = f"{self.tmp}/elsewhere"
        os.mkdir(elsewhere)
        write(f"{elsewhere}/victim", "PRECIOUS")
        write(f"{self.src}/good.json", profile(1))
        write(f"{self.src}/cm.yaml", """apiVersion: v1
kind: ConfigMap
metadata: {name: d, labels: {seccompd.io/profile: "true"}, annotations: {seccompd.io/directory: d}}
data: {p.json: '{"defaultAction":"SCMP_ACT_LOG"}'}
""")
        plants = {
            "symlink": lambda t: os.symlink(f"{elsewhere}/victim", t),
            "dangling symlink": lambda t: os.symlink(f"{elsewhere}/absent", t),
            "fifo": os.mkfifo,
            "directory": os.mkdir,
        }
        for what, plant in plants.items():
            for target in ("taken.json", "d"):  # the target itself, or a directory on its path
                if (what, target) == ("directory", "d"):
                    continue  # that is where the file goes
                with self.subTest(what=what, at=target):
                    shutil.rmtree(self.root, ignore_errors=True)
                    os.makedirs(self.root)
                    write(f"{self.src}/taken.json", profile(2))
                    plant(f"{self.root}/{target}")
                    before = os.lstat(f"{self.root}/{target}")
                    p = once(self.src, self.root)
                    self.assertEqual(p.returncode, 1, p.stderr)
                    self.assertEqual(read(f"{self.root}/good.json"), profile(1))
                    after = os.lstat(f"{self.root}/{target}")
                    self.assertEqual((after.st_mode, after.st_ino), (before.st_mode, before.st_ino))
                    self.assertEqual(read(f"{elsewhere}/victim"), "PRECIOUS")
                    self.assertEqual(sorted(os.listdir(elsewhere)), ["victim"])
                    rel = "taken\\.json" if target == "taken.json" else "d/p\\.json"
                    self.assertRegex(p.stderr, rf"conflict: .*; left alone path={rel}")
                    self.assertNotIn("cannot install", p.stderr)
        # A plain file where a directory should be.
        shutil.rmtree(self.root)
        os.makedirs(self.root)
        write(f"{self.root}/d", "FOREIGN")
        p = once(self.src, self.root)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertEqual(read(f"{self.root}/d"), "FOREIGN")
        self.assertRegex(p.stderr, r"conflict: d is not a directory, and seccompd did not write it.* path=d/p\.json")

    def test_foreign_objects_replacing_own_files_are_conflicts(self):
        """An own file, or the directory holding it, replaced by something else: also a conflict, and
        the thing planted is not touched."""
        write(f"{self.src}/own.json", profile(1))
        write(f"{self.src}/cm.yaml", """apiVersion: v1
kind: ConfigMap
metadata: {name: d, labels: {seccompd.io/profile: "true"}, annotations: {seccompd.io/directory: d}}
data: {p.json: '{"defaultAction":"SCMP_ACT_LOG"}'}
""")
        self.assertEqual(once(self.src, self.root).returncode, 0)
        write(f"{self.src}/own.json", profile(1, 1))  # a change, so the engine must write
        os.unlink(f"{self.root}/own.json")
        os.mkfifo(f"{self.root}/own.json")
        elsewhere = f"{self.tmp}/elsewhere"
        os.mkdir(elsewhere)
        shutil.rmtree(f"{self.root}/d")
        os.symlink(elsewhere, f"{self.root}/d")
        p = once(self.src, self.root)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertTrue(stat.S_ISFIFO(os.lstat(f"{self.root}/own.json").st_mode))
        self.assertEqual(os.readlink(f"{self.root}/d"), elsewhere)
        self.assertEqual(os.listdir(elsewhere), [])
        self.assertRegex(p.stderr, r"conflict: something other than a regular file .* path=own\.json")
        self.assertRegex(p.stderr, r"conflict: a symlink stands at d, where a directory must be.* path=d/p\.json")
        # Left the source with the symlink still there: its removal is blocked the same way.
        os.unlink(f"{self.src}/cm.yaml")
        p = once(self.src, self.root)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertEqual(os.listdir(elsewhere), [])
        self.assertRegex(p.stderr, r"conflict: a symlink stands at d, where a directory must be.* path=d/p\.json")

    def test_invalid_update_keeps_last_good_across_runs(self):
        write(f"{self.src}/p.json", profile(1))
        self.assertEqual(once(self.src, self.root).returncode, 0)
        write(f"{self.src}/p.json", '{"defaultAction": ')
        p = once(self.src, self.root)
        self.assertEqual(p.returncode, 1)
        self.assertIn("the last good profile stays", p.stderr)
        self.assertEqual(read(f"{self.root}/p.json"), profile(1))

    def test_unreadable_source_removes_nothing(self):
        write(f"{self.src}/p.json", profile(1))
        self.assertEqual(once(self.src, self.root).returncode, 0)
        p = once(os.path.join(self.tmp, "missing"), self.root)
        self.assertEqual(p.returncode, 3)
        self.assertEqual(read(f"{self.root}/p.json"), profile(1))

    def test_deletion_and_json_logs(self):
        write(f"{self.src}/p.json", profile(1))
        self.assertEqual(once(self.src, self.root).returncode, 0)
        os.unlink(f"{self.src}/p.json")
        p = once(self.src, self.root, "--log-format", "json")
        self.assertEqual(p.returncode, 0)
        self.assertFalse(os.path.exists(f"{self.root}/p.json"))
        lines = [json.loads(l) for l in p.stderr.splitlines()]
        self.assertIn({"level": "info", "msg": "removed", "path": "p.json"},
                      [{k: v for k, v in l.items() if k != "time"} for l in lines])

    def test_log_lines_cannot_be_forged_or_dropped(self):
        """Finding 15 of issue 12: a newline in an annotation forged a line in the text log, and
        --log-format json dropped a line whose text was not UTF-8 (a file name) or was cut inside a
        character. Control characters and bytes that are not UTF-8 are written as \\xNN."""
        write(f"{self.src}/cm.yaml", """apiVersion: v1
kind: ConfigMap
metadata: {name: x, labels: {seccompd.io/profile: "true"},
           annotations: {seccompd.io/directory: "a\\nerror: forged line\\e[2J"}}
data: {a.json: '{"defaultAction":"SCMP_ACT_LOG"}'}
""")
        p = once(self.src, self.root)
        self.assertFalse([l for l in p.stderr.splitlines() if l.startswith("error: forged")], p.stderr)
        self.assertNotIn("\x1b", p.stderr)
        self.assertIn("a\\x0aerror: forged line\\x1b[2J", p.stderr)

        os.unlink(f"{self.src}/cm.yaml")
        with open(os.path.join(self.src.encode(), b"caf\xe9.json"), "w") as f:  # Latin-1, not UTF-8
            f.write(profile(1))
        # A message that fills the line buffer with multi-byte characters is cut, never mid-character.
        write(f"{self.src}/long.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: y, labels: "
              "{seccompd.io/profile: \"true\"}, annotations: {seccompd.io/directory: \"" + "\u00e9" * 3000 +
              "\"}}\ndata: {b.json: '{}'}\n")
        p = subprocess.run([SECCOMPD, "run", "--source", f"dir:{self.src}".encode(), "--root", self.root, "--once",
                            "--log-format", "json"], capture_output=True, timeout=300)
        lines = [json.loads(l) for l in p.stderr.decode("utf-8").splitlines()]  # every line is UTF-8 JSON
        self.assertTrue([l for l in lines if "caf\\xe9.json" in l.get("source", "") + l.get("msg", "")],
                        lines)
        self.assertTrue([l for l in lines if "seccompd.io/directory \"\u00e9\u00e9" in l.get("source", "")], lines)

    def test_symlinked_root_is_named(self):
        """Finding 15 of issue 12: a root replaced by a symlink said only "Not a directory"."""
        os.makedirs(f"{self.tmp}/real")
        os.symlink(f"{self.tmp}/real", f"{self.tmp}/link")
        write(f"{self.src}/p.json", profile(1))
        p = once(self.src, f"{self.tmp}/link")
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertIn("it is a symbolic link, and seccompd never follows one", p.stderr)
        self.assertEqual(os.listdir(f"{self.tmp}/real"), [])

    def test_names_refused(self):
        write(f"{self.src}/cm.yaml", """apiVersion: v1
kind: ConfigMap
metadata: {name: x, labels: {seccompd.io/profile: "true"}, annotations: {seccompd.io/directory: ../escape}}
data: {a.json: '{"defaultAction":"SCMP_ACT_LOG"}'}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: y, labels: {seccompd.io/profile: "true"}}
data: {"..a.json": 'x', "b.txt": 'x'}
""")
        p = once(self.src, self.root)
        self.assertEqual([n for n in os.listdir(self.root) if not n.startswith("..seccompd")], [])
        self.assertIn('annotation seccompd.io/directory "../escape"', p.stderr)
        self.assertIn("data[..a.json]", p.stderr)
        self.assertIn("data[b.txt]", p.stderr)

    def test_unpadded_base64_key_not_used(self):
        """Secret data and ConfigMap binaryData are base64 as Kubernetes writes it (Go's StdEncoding:
        padding required). An unpadded value is refused key by key, as the API path refuses it, and
        nothing is installed for it."""
        padded = base64.b64encode(profile(1).encode()).decode()
        unpadded = base64.b64encode(profile(2).encode()).decode().rstrip("=")
        self.assertNotEqual(len(unpadded) % 4, 0)
        write(f"{self.src}/s.yaml", f"""apiVersion: v1
kind: Secret
metadata: {{name: s, namespace: apps, labels: {{seccompd.io/profile: "true"}}}}
data: {{good.json: {padded}, x.json: {unpadded}, empty.json: e30}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: c, namespace: apps, labels: {{seccompd.io/profile: "true"}}}}
binaryData: {{y.json: {unpadded}}}
""")
        p = once(self.src, self.root)
        self.assertEqual(read(f"{self.root}/good.json"), profile(1))
        for name in ("x.json", "empty.json", "y.json"):
            self.assertFalse(os.path.exists(f"{self.root}/{name}"), p.stderr)
        self.assertRegex(p.stderr, r"s\.yaml: Secret apps/s: data\[x\.json\]: not valid base64")
        self.assertRegex(p.stderr, r"s\.yaml: Secret apps/s: data\[empty\.json\]: not valid base64")
        self.assertRegex(p.stderr, r"s\.yaml: ConfigMap apps/c: binaryData\[y\.json\]: not valid base64")

    def test_configmap_volume_layout(self):
        """A mounted ConfigMap volume: keys are symlinks into ..data, which points at a timestamped
        directory swapped atomically on update. Symlinks leaving the directory are refused."""
        os.mkdir(f"{self.src}/..2026_11_28_01")
        write(f"{self.src}/..2026_11_28_01/audit.json", profile(1))
        os.symlink("..2026_11_28_01", f"{self.src}/..data")
        os.symlink("..data/audit.json", f"{self.src}/audit.json")
        write(f"{self.tmp}/outside.json", profile(9))
        os.symlink(f"{self.tmp}/outside.json", f"{self.src}/escape.json")
        p = once(self.src, self.root)
        self.assertEqual(read(f"{self.root}/audit.json"), profile(1))
        self.assertFalse(os.path.exists(f"{self.root}/escape.json"))
        self.assertIn("a symlink that leaves the directory", p.stderr)
        self.assertEqual(sorted(n for n in os.listdir(self.root) if not n.startswith("..seccompd")), ["audit.json"])

    def test_symlinks_leaving_in_two_hops_refused(self):
        """Finding 9 of issue 12: only a link's own text was checked, so a link to a link (or through a
        directory link) that leaves the source had the file outside installed, 0644. The whole chain is
        resolved beneath the directory now; a mounted ConfigMap volume's layout still works beside it."""
        outside = f"{self.tmp}/outside"
        os.mkdir(outside)
        write(f"{outside}/secret.json", profile(9))
        os.symlink(f"{outside}/secret.json", f"{self.src}/.hop")
        os.symlink(".hop", f"{self.src}/a.json")                       # a.json → .hop → /outside/...
        os.symlink(outside, f"{self.src}/.dirhop")
        os.symlink(".dirhop/secret.json", f"{self.src}/x.json")        # x.json → .dirhop/ → /outside
        os.mkdir(f"{self.src}/sub")
        os.symlink("../../outside/secret.json", f"{self.src}/sub/up")
        os.symlink("sub/up", f"{self.src}/y.json")                     # y.json → sub/up → ../../outside
        os.mkdir(f"{self.src}/..2026_12_01_22_10_01.123")
        write(f"{self.src}/..2026_12_01_22_10_01.123/audit.json", profile(1))
        os.symlink("..2026_12_01_22_10_01.123", f"{self.src}/..data")
        os.symlink("..data/audit.json", f"{self.src}/audit.json")
        os.symlink("sub/../audit.json", f"{self.src}/inside.json")      # '..' that stays inside is fine
        p = once(self.src, self.root)
        for name in ("a.json", "x.json", "y.json"):
            self.assertFalse(os.path.exists(f"{self.root}/{name}"), p.stderr)
            self.assertRegex(p.stderr, rf"/src/{name}: a symlink that leaves the directory")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(read(f"{self.root}/audit.json"), profile(1))
        self.assertEqual(read(f"{self.root}/inside.json"), profile(1))

    def test_yaml_aliases_refused_the_rest_installed(self):
        """Finding 7 of issue 12: values aliasing one anchored 1 MiB string ask for a copy each (a
        1.1 MiB file of them, about 5 GB); the sync failed for the whole directory with no word of the
        file. Aliases are refused, naming the file and the position; the other files are installed and
        what the file provided before stays (the read is incomplete: nothing is deleted)."""
        header = """apiVersion: v1
kind: ConfigMap
metadata: {name: x, labels: {seccompd.io/profile: "true"}}
data:
"""
        write(f"{self.src}/cm.yaml", header + "  kept.json: '{\"defaultAction\":\"SCMP_ACT_LOG\"}'\n")
        write(f"{self.src}/other.json", profile(1))
        self.assertEqual(once(self.src, self.root).returncode, 0)
        bomb = header + "  k0.json: &a '" + "x" * (1 << 20) + "'\n" + "".join(f"  k{i}.json: *a\n" for i in range(1, 200))
        write(f"{self.tmp}/bomb", bomb)
        os.rename(f"{self.tmp}/bomb", f"{self.src}/cm.yaml")
        write(f"{self.src}/new.json", profile(2))
        p = once(self.src, self.root)
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertRegex(p.stderr, r"source object not used source=\S*/src/cm\.yaml:6:12: .*alias")
        self.assertEqual(read(f"{self.root}/new.json"), profile(2))
        self.assertEqual(read(f"{self.root}/other.json"), profile(1))
        self.assertTrue(os.path.exists(f"{self.root}/kept.json"))
        self.assertEqual([n for n in os.listdir(self.root) if n.startswith("k") and n != "kept.json"], [])

    def test_deep_yaml_nesting_refused_while_parsing(self):
        """Finding 8 of issue 12: libyaml 0.2.5 scans flow nesting in time quadratic in the depth (0.6 s
        for 20k levels, over 7 minutes for 6 MB: the watchdog's end). The reader stops at 64 levels, the
        JSON reader's bound, and says where."""
        write(f"{self.src}/deep.yaml", "[" * 20000 + "]" * 20000 + "\n")
        write(f"{self.src}/p.json", profile(1))
        p = once(self.src, self.root)
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertRegex(p.stderr, r"source object not used source=\S*/src/deep\.yaml:1:65: nesting deeper than 64 levels")
        self.assertEqual(read(f"{self.root}/p.json"), profile(1))

    def test_validate_reads_manifests_key_by_key(self):
        write(f"{self.src}/cm.yaml", """apiVersion: v1
kind: ConfigMap
metadata: {name: team, namespace: apps, labels: {seccompd.io/profile: "true"}}
data:
  good.json: '{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["execve","exit_group"],"action":"SCMP_ACT_ALLOW"}]}'
  bad.json: '{"defaultAction":"SCMP_ACT_NOPE"}'
---
apiVersion: v1
kind: ConfigMap
metadata: {name: unlabeled}
data: {x.json: '{}'}
""")
        p = subprocess.run([SECCOMPD, "validate", f"{self.src}/cm.yaml"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 1)
        self.assertIn("cm.yaml: ConfigMap apps/team data[good.json]: valid for containerd", p.stdout)
        # The manifest's line and column, where the profile's bytes stand verbatim (issue 13).
        self.assertRegex(p.stdout, r"cm\.yaml:6:31: error: ConfigMap apps/team data\[bad\.json\]: defaultAction: "
                                   r"unknown action .*\[unknown-action\]")
        # Not read, but a key of it looks like a profile's: named, with what would make it read.
        self.assertRegex(p.stdout, r"cm\.yaml:8:1: error: ConfigMap unlabeled: not labeled seccompd\.io/profile: "
                                   r"\"true\", so seccompd installs nothing from it; .*\[object-unlabeled\]")

    def test_untrusted_state_file_exit_2_nothing_outside_touched(self):
        """Finding 14 of issue 12: "f 1 ../victim/x.json" in the state file had seccompd delete a file
        outside the root, and a corrupt state file said only "Bad message"."""
        write(f"{self.src}/good.json", profile(1))
        victim = f"{self.tmp}/victim/x.json"
        os.makedirs(os.path.dirname(victim))
        os.makedirs(self.root)
        state = f"{self.root}/..seccompd-state"
        for content, line in ((b"seccompd-state 1\nf 1 ../victim/x.json\n", "line 2"),
                              (f"seccompd-state 1\nf 0 good.json\nf 1 {victim}\n".encode(), "line 3"),
                              (b"seccompd-state 1\nd 0 ../victim\n", "line 2"),
                              (b"seccompd-state 1\nf 0 x.json\0../victim/x.json\n", "line 2"),
                              (b"seccompd-state 1\n\x1b[2J garbage\n", "line 2"),
                              (b"", "empty")):
            with self.subTest(state=content):
                write(victim, "VICTIM")
                if os.path.exists(f"{self.root}/good.json"):
                    os.unlink(f"{self.root}/good.json")  # installed by a run that trusted the state
                with open(state, "wb") as f:
                    f.write(content)
                p = once(self.src, self.root, "--delete-grace", "0")
                self.assertEqual(p.returncode, 2, p.stderr)
                self.assertEqual(read(victim), "VICTIM")
                self.assertFalse(os.path.exists(f"{self.root}/good.json"))
                self.assertIn(f"{state}: ", p.stderr)
                self.assertIn(line, p.stderr)
                self.assertIn("Inspect it", p.stderr)
                self.assertIn("become foreign", p.stderr)
                self.assertNotIn("\x1b", p.stderr)  # a garbage line cannot write to the terminal
                self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
        # Removed, as the message says: seccompd starts afresh, and still nothing outside is touched.
        os.unlink(state)
        p = once(self.src, self.root, "--delete-grace", "0")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(read(victim), "VICTIM")
        self.assertEqual(read(f"{self.root}/good.json"), profile(1))

    def test_usage_errors_exit_2(self):
        self.assertEqual(subprocess.run([SECCOMPD, "run", "--once"], capture_output=True).returncode, 2)
        # Not in a cluster and no kubeconfig: said so, before anything on the node is touched.
        r = subprocess.run([SECCOMPD, "run", "--source", "kube", "--once", "--root", f"{self.tmp}/kube-root"],
                           capture_output=True, text=True, env={k: v for k, v in os.environ.items()
                                                                if not k.startswith("KUBE")})
        self.assertEqual(r.returncode, 2)
        self.assertIn("not running in a cluster", r.stderr)
        self.assertFalse(os.path.exists(f"{self.tmp}/kube-root"))
        self.assertEqual(subprocess.run([SECCOMPD, "run", "--source", f"dir:{self.src}", "--delete-grace", "soon"],
                                        capture_output=True).returncode, 2)

    def test_delete_grace_is_parsed_strictly(self):
        """A grace that is not a plain duration, or past the limit, is a usage error naming the flag:
        strtod() once made "inf", "1e30h" and "1e15s" overflow to 0 (delete at once) and "nan" never."""
        write(f"{self.src}/a.json", profile(1))
        self.assertEqual(once(self.src, self.root).returncode, 0)
        os.unlink(f"{self.src}/a.json")  # a.json now waits for --delete-grace
        for bad in ("inf", "nan", "1e30h", "1e15s", "-1s", " 5s", "5 s", "1.s", ".5h", "5x", "0x10s",
                    "1.0000000001s", "876001h", "5124095576h", "18446744073709551616s"):
            with self.subTest(grace=bad):
                p = once(self.src, self.root, "--delete-grace", bad)
                self.assertEqual(p.returncode, 2, p.stderr)
                self.assertIn(f'seccompd run: --delete-grace "{bad}": ', p.stderr)
                self.assertEqual(read(f"{self.root}/a.json"), profile(1))
        # A grace counts again from a start: with --once any grace above 0 keeps the file pending.
        for good in ("90s", "5m", "5min", "1.5h", "250ms", "1", "876000h", "0.000001s"):
            with self.subTest(grace=good):
                p = once(self.src, self.root, "--delete-grace", good)
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertEqual(read(f"{self.root}/a.json"), profile(1))
        p = once(self.src, self.root, "--delete-grace", "0s")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertFalse(os.path.exists(f"{self.root}/a.json"))


class FullFilesystem(unittest.TestCase):
    def test_full_disk_is_a_clear_error_and_loses_nothing(self):
        self.assertEqual(os.geteuid(), 0, "this test mounts a small tmpfs: run the suite as root, as CI does")
        tmp = tempfile.mkdtemp()
        src, root = f"{tmp}/src", f"{tmp}/root"
        os.mkdir(src)
        os.mkdir(root)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", root], check=True)
        try:
            write(f"{src}/p.json", profile(1))
            self.assertEqual(once(src, root).returncode, 0)
            with open(f"{root}/filler", "wb") as f:  # a foreign file that fills the disk
                try:
                    f.write(b"x" * (1 << 20))
                except OSError:
                    pass
            write(f"{src}/p.json", profile(1) + " " * 20000)
            write(f"{src}/q.json", profile(2) + " " * 20000)
            p = once(src, root)
            self.assertEqual(p.returncode, 3, p.stderr)
            self.assertIn("No space left on device", p.stderr)
            self.assertEqual(read(f"{root}/p.json"), profile(1))
            self.assertFalse([n for n in os.listdir(root) if n.startswith("..seccompd-tmp")])
        finally:
            subprocess.run(["umount", root], check=True)
            shutil.rmtree(tmp)


class UnsafeRoots(unittest.TestCase):
    def test_unwritable_root_is_a_clear_error(self):
        self.assertEqual(os.geteuid(), 0, "this test bind-mounts the root read-only: run the suite as root")
        tmp = tempfile.mkdtemp()
        src, root = f"{tmp}/src", f"{tmp}/root"
        os.mkdir(src)
        write(f"{src}/p.json", profile(1))
        self.assertEqual(once(src, root).returncode, 0)
        write(f"{src}/p.json", profile(1, 1))
        subprocess.run(["mount", "--bind", root, root], check=True)
        try:
            subprocess.run(["mount", "-o", "remount,bind,ro", root], check=True)
            p = once(src, root)
            self.assertEqual(p.returncode, 3, p.stderr)
            self.assertIn("Read-only file system", p.stderr)
            self.assertEqual(read(f"{root}/p.json"), profile(1))
        finally:
            subprocess.run(["umount", root], check=True)
            shutil.rmtree(tmp)

    def test_symlink_swapped_in_during_syncs(self):
        """A directory on the path is swapped with a symlink to elsewhere while syncs run: nothing is
        ever written elsewhere (every descriptor is taken with O_NOFOLLOW from the root down)."""
        tmp = tempfile.mkdtemp()
        src, root, elsewhere = f"{tmp}/src", f"{tmp}/root", f"{tmp}/elsewhere"
        os.mkdir(src)
        os.mkdir(elsewhere)
        write(f"{src}/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, labels: "
              "{seccompd.io/profile: \"true\"}, annotations: {seccompd.io/directory: d}}\ndata:\n" +
              "".join(f"  p{i}.json: '{profile(i).strip()}'\n" for i in range(50)))
        self.assertEqual(once(src, root).returncode, 0)
        stop = False
        swaps = [0]

        def swapper():
            # Alternate d between the real directory and a symlink to elsewhere, as an attacker would.
            # The daemon may recreate d in between: every step is allowed to fail and is retried.
            while not stop:
                try:
                    os.rename(f"{root}/d", f"{root}/d.real")
                    os.symlink(elsewhere, f"{root}/d")
                    swaps[0] += 1
                except OSError:
                    pass
                try:
                    if os.path.islink(f"{root}/d"):
                        os.unlink(f"{root}/d")
                    if os.path.isdir(f"{root}/d.real"):
                        if os.path.isdir(f"{root}/d") and not os.path.islink(f"{root}/d"):
                            # A sync recreated d while the old one was aside: drop the old one.
                            shutil.rmtree(f"{root}/d.real")
                        else:
                            os.rename(f"{root}/d.real", f"{root}/d")
                except OSError:
                    pass

        import threading
        t = threading.Thread(target=swapper)
        t.start()
        try:
            # Syncs until the swapper has raced them often enough, however fast this machine is.
            runs = 0
            while swaps[0] < 200 or runs < 20:
                runs += 1
                self.assertLess(runs, 2000, "the swapper made no progress")
                write(f"{src}/cm.yaml", read(f"{src}/cm.yaml").replace('"errnoRet": ', '"errnoRet":  '))
                once(src, root)
        finally:
            stop = True
            t.join()
        self.assertEqual(os.listdir(elsewhere), [])
        shutil.rmtree(tmp)


class Daemon(unittest.TestCase):
    """The daemon is driven through its sd_notify messages: READY=1, and a STATUS per sync."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.src, self.root = f"{self.tmp}/src", f"{self.tmp}/root"
        os.mkdir(self.src)
        self.daemon = None

    def tearDown(self):
        if self.daemon:
            if self.daemon.running():
                self.assertEqual(self.daemon.stop(), 0)
            self.daemon.close()
        shutil.rmtree(self.tmp)

    def start(self, *extra, env=None):
        self.daemon = harness.Daemon(["--source", f"dir:{self.src}", "--root", self.root, *extra], env=env,
                                     dir=self.tmp)
        self.daemon.ready()

    def test_failed_install_is_tried_again(self):
        """Finding 11 of issue 12: an install that failed with ENOSPC stayed missing after space was
        freed, until SIGHUP. It is tried again with backoff, and STATUS says what fails meanwhile."""
        self.assertEqual(os.geteuid(), 0, "this test mounts a small tmpfs: run the suite as root, as CI does")
        os.mkdir(self.root)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", self.root], check=True)
        try:
            write(f"{self.src}/p.json", profile(1))
            self.start(env={"SECCOMPD_TEST_TIME_SCALE": "0.05"})
            # A foreign file fills the disk where no watch sees it come and go: only the retry can notice.
            filler = harness.fill_disk(f"{self.root}/other")
            big = profile(1, 1) + " " * 20000
            write(f"{self.src}/p.json", big)
            self.daemon.wait_status(lambda st: "1 failed" in st)
            self.assertEqual(read(f"{self.root}/p.json"), profile(1))  # the last good one stays
            os.unlink(filler)
            self.daemon.until(lambda: read(f"{self.root}/p.json") == big)
            self.assertIn("trying again to install what failed", self.daemon.log_text())
            self.assertEqual(self.daemon.stop(), 0)
        finally:
            if self.daemon.running():
                self.daemon.stop()
            subprocess.run(["umount", self.root], check=True)

    def test_changes_are_applied_as_they_happen(self):
        write(f"{self.src}/a.json", profile(1))
        self.start()
        self.assertEqual(read(f"{self.root}/a.json"), profile(1))

        write(f"{self.src}/a.json", profile(1, 1))             # update
        self.daemon.until(lambda: read(f"{self.root}/a.json") == profile(1, 1))
        write(f"{self.src}/b.json", profile(2))                # add
        self.daemon.until(lambda: os.path.exists(f"{self.root}/b.json"))
        write(f"{self.src}/a.json", "{")                       # invalid: last good stays
        self.daemon.next_sync()
        self.assertEqual(read(f"{self.root}/a.json"), profile(1, 1))
        os.unlink(f"{self.src}/b.json")                        # delete
        self.daemon.until(lambda: not os.path.exists(f"{self.root}/b.json"))

    def test_broken_source_file_never_deletes_what_it_provided(self):
        write(f"{self.src}/cm.yaml", """apiVersion: v1
kind: ConfigMap
metadata: {name: x, labels: {seccompd.io/profile: "true"}}
data: {kept.json: '{"defaultAction":"SCMP_ACT_LOG"}'}
""")
        write(f"{self.src}/other.json", profile(1))
        self.start()
        self.assertTrue(os.path.exists(f"{self.root}/kept.json"))
        # Unreadable now. Written whole and renamed into place: a file truncated and rewritten in place
        # can be read half-way, as a valid but shorter manifest (see the README on editing sources).
        write(f"{self.tmp}/broken", "kind: ConfigMap\nmetadata: [unterminated")
        os.rename(f"{self.tmp}/broken", f"{self.src}/cm.yaml")
        self.daemon.next_sync()
        write(f"{self.src}/other.json", profile(1, 1))                       # a later, unrelated change
        while True:  # checked after a sync reported, so its deletions are done too
            self.daemon.next_sync()
            if read(f"{self.root}/other.json") == profile(1, 1):
                break
        self.assertTrue(os.path.exists(f"{self.root}/kept.json"))

    def test_own_writes_are_not_taken_for_drift(self):
        """Each change costs one sync: the events our own rename makes in the root are recognised, so
        they do not start another. A change is renamed into place (one event), and the sync after the
        one that installed it must be the one that installs the next change."""
        write(f"{self.src}/a.json", profile(1))
        self.start()

        def replace(name, text):
            write(f"{self.src}/.{name}", text)
            os.rename(f"{self.src}/.{name}", f"{self.src}/{name}")

        def sync_number(msg):
            return int(msg.split()[1].rstrip(":"))

        replace("a.json", profile(1, 1))
        n = sync_number(self.daemon.next_sync())
        self.assertEqual(read(f"{self.root}/a.json"), profile(1, 1))
        for i in range(2, 6):
            replace(f"n{i}.json", profile(i))
            msg = self.daemon.next_sync()
            self.assertEqual(sync_number(msg), n + 1, msg)
            self.assertEqual(read(f"{self.root}/n{i}.json"), profile(i))
            n += 1

    def test_ready_despite_a_symlink_on_a_target(self):
        """A symlink planted where one profile goes does not hold the node back: READY=1 once the
        others are on disk, and the symlink is left alone."""
        os.makedirs(self.root)
        write(f"{self.tmp}/victim", "PRECIOUS")
        os.symlink(f"{self.tmp}/victim", f"{self.root}/taken.json")
        write(f"{self.src}/good.json", profile(1))
        write(f"{self.src}/taken.json", profile(2))
        self.start()  # waits for READY=1
        self.assertEqual(read(f"{self.root}/good.json"), profile(1))
        self.assertEqual(os.readlink(f"{self.root}/taken.json"), f"{self.tmp}/victim")
        self.assertEqual(read(f"{self.tmp}/victim"), "PRECIOUS")

    def test_drift_is_repaired(self):
        write(f"{self.src}/a.json", profile(1))
        self.start()
        os.unlink(f"{self.root}/a.json")
        self.daemon.until(lambda: os.path.exists(f"{self.root}/a.json") and read(f"{self.root}/a.json") == profile(1))
        write(f"{self.root}/a.json", "tampered")
        self.daemon.until(lambda: read(f"{self.root}/a.json") == profile(1))

    def test_sighup_and_grace(self):
        write(f"{self.src}/a.json", profile(1))
        self.start("--delete-grace", "1s")
        os.unlink(f"{self.src}/a.json")
        self.daemon.wait_status(lambda s: "1 pending deletion" in s)
        self.assertTrue(os.path.exists(f"{self.root}/a.json"))
        self.daemon.until(lambda: not os.path.exists(f"{self.root}/a.json"))  # the grace timer fires a sync
        self.daemon.proc.send_signal(signal.SIGHUP)
        self.daemon.next_sync()

    def test_a_grace_below_a_second(self):
        """250ms is a quarter of a second: the file goes, and not before that."""
        write(f"{self.src}/a.json", profile(1))
        self.start("--delete-grace", "250ms")
        left = time.monotonic()
        os.unlink(f"{self.src}/a.json")
        self.daemon.until(lambda: not os.path.exists(f"{self.root}/a.json"))
        self.assertGreaterEqual(time.monotonic() - left, 0.25)

    def step_wall_clock_during_grace(self, seconds):
        """A profile pending deletion with a grace of an hour; then the daemon's wall clock (alone, through
        an LD_PRELOAD shim) is stepped and a full sync asked for: the grace runs on CLOCK_MONOTONIC,
        so the file must stay, still pending."""
        offset = f"{self.tmp}/wallclock-offset"
        write(offset, "0")
        write(f"{self.src}/a.json", profile(1))
        # ASan wants its runtime first among the libraries; the shim comes before it under LD_PRELOAD.
        asan = ":".join(filter(None, [os.environ.get("ASAN_OPTIONS"), "verify_asan_link_order=0"]))
        self.start("--delete-grace", "1h", env={"LD_PRELOAD": os.environ["WALLCLOCK_SHIM"],
                                                "SECCOMPD_TEST_WALLCLOCK_OFFSET": offset, "ASAN_OPTIONS": asan})
        os.unlink(f"{self.src}/a.json")
        self.daemon.wait_status(lambda s: "1 pending deletion" in s)
        write(offset, str(seconds))
        self.daemon.proc.send_signal(signal.SIGHUP)
        msg = self.daemon.next_sync()
        self.assertIn("1 pending deletion", msg)
        self.assertTrue(os.path.exists(f"{self.root}/a.json"))

    def test_wall_clock_stepped_forward_does_not_end_the_grace(self):
        self.step_wall_clock_during_grace(2 * 3600)

    def test_wall_clock_stepped_back_does_not_end_the_grace(self):
        self.step_wall_clock_during_grace(-2 * 3600)

    def test_second_instance_waits_for_the_lock(self):
        self.start()
        p = subprocess.Popen([SECCOMPD, "run", "--source", f"dir:{self.src}", "--root", self.root, "--once"],
                             stderr=subprocess.PIPE, text=True)
        line = p.stderr.readline()
        self.assertIn("another seccompd holds the lock", line)
        self.assertIsNone(p.poll())
        self.assertEqual(self.daemon.stop(), 0)
        self.assertEqual(p.wait(timeout=30), 0)


class CrashSafety(unittest.TestCase):
    KILLS = 200
    PROFILES = 300

    def test_kill_9_at_random_moments(self):
        rnd = random.Random(int(os.environ.get("SECCOMPD_TEST_SEED", "1")))
        tmp = tempfile.mkdtemp()
        src, root = f"{tmp}/src", f"{tmp}/root"
        os.mkdir(src)
        os.makedirs(f"{root}/p")
        write(f"{root}/p/foreign.json", "FOREIGN")               # never touched
        versions = {}                                            # target -> every complete version written
        current = {}
        killed = 0
        try:
            for i in range(self.PROFILES):
                current[i] = 0
                write(f"{src}/p{i}.json", profile(i, 0))
            self.assertEqual(once(src, root).returncode, 0)
            # One complete round of changes, to learn how long a round takes here: kills land inside it.
            for i in range(40):
                write(f"{src}/p{i}.json", profile(i, 1000))
            started = time.monotonic()
            self.assertEqual(once(src, root).returncode, 0)
            window = time.monotonic() - started
            for i in range(40):
                write(f"{src}/p{i}.json", profile(i, 0))
                versions[f"p{i}.json"] = {hashlib.sha256(profile(i, 1000).encode()).hexdigest()}
            rounds = 0
            while killed < self.KILLS:
                rounds += 1
                self.assertLess(rounds, 10 * self.KILLS, "runs finish before any kill lands")
                kill = rounds
                for i in rnd.sample(range(self.PROFILES), 40):   # a new version for some, others removed/added
                    current[i] += 1
                    if current[i] % 5 == 4:
                        if os.path.exists(f"{src}/p{i}.json"):
                            os.unlink(f"{src}/p{i}.json")
                    else:
                        write(f"{src}/p{i}.json", profile(i, current[i]))
                for i in range(self.PROFILES):
                    versions.setdefault(f"p{i}.json", set()).update(
                        hashlib.sha256(profile(i, v).encode()).hexdigest() for v in range(current[i] + 1))
                proc = subprocess.Popen([SECCOMPD, "run", "--source", f"dir:{src}", "--root", root, "--once"],
                                        stderr=subprocess.DEVNULL)
                try:
                    proc.wait(timeout=rnd.uniform(0.0, window))
                except subprocess.TimeoutExpired:
                    proc.send_signal(signal.SIGKILL)
                    proc.wait()
                killed += proc.returncode == -signal.SIGKILL
                for name in os.listdir(root):
                    if name.startswith("..seccompd"):
                        continue                                 # state, lock and temporaries: no profile name
                    if name == "p":
                        continue
                    digest = hashlib.sha256(open(f"{root}/{name}", "rb").read()).hexdigest()
                    self.assertIn(digest, versions[name], f"kill {kill}: {name} is not a complete version")
                self.assertEqual(read(f"{root}/p/foreign.json"), "FOREIGN")
            p = once(src, root)
            self.assertEqual(p.returncode, 0, p.stderr)
            for i in range(self.PROFILES):
                target = f"{root}/p{i}.json"
                if os.path.exists(f"{src}/p{i}.json"):
                    self.assertEqual(read(target), read(f"{src}/p{i}.json"))
                else:
                    self.assertFalse(os.path.exists(target))
            self.assertEqual(read(f"{root}/p/foreign.json"), "FOREIGN")
        finally:
            shutil.rmtree(tmp)


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=2).result
    sys.exit(0 if result.wasSuccessful() and result.testsRun > 0 else 1)
