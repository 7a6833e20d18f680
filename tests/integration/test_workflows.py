#!/usr/bin/env python3
"""The GitHub Actions workflows under .github/workflows/: actionlint (built by tests/cluster/build
from the Go module proxy, with shellcheck for every run: script) must report nothing, and the
release workflow publishes what docs/deploy.md says, with no more rights than it needs.
Without actionlint or shellcheck this fails, it does not skip."""
import glob
import os
import shutil
import subprocess
import tempfile
import unittest

import yaml

from built import built_tool

ROOT = os.environ["SOURCE_ROOT"]
WORKFLOWS = os.path.join(ROOT, ".github", "workflows")
RELEASE = os.path.join(WORKFLOWS, "release.yml")
ACTIONLINT = None
SHELLCHECK = None


def setUpModule():
    global ACTIONLINT, SHELLCHECK
    ACTIONLINT = built_tool("actionlint")
    SHELLCHECK = shutil.which("shellcheck")
    if not SHELLCHECK:
        raise AssertionError("shellcheck is required on PATH: without it actionlint silently skips run: scripts")


def actionlint(*files):
    return subprocess.run([ACTIONLINT, "-no-color", "-shellcheck", SHELLCHECK, "-pyflakes", "", *files],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)


def steps(job, action):
    """The steps of job that use action (owner/name, any version)."""
    return [s for s in job["steps"] if s.get("uses", "").split("@")[0] == action]


class Actionlint(unittest.TestCase):
    def test_every_workflow_is_clean(self):
        files = sorted(glob.glob(os.path.join(WORKFLOWS, "*.yml")) + glob.glob(os.path.join(WORKFLOWS, "*.yaml")))
        self.assertIn(RELEASE, files)
        p = actionlint(*files)
        self.assertEqual((p.returncode, p.stdout + p.stderr), (0, ""))

    def test_it_would_say_so(self):
        """A workflow with a shell bug and a permission that does not exist is reported: the check
        above is not passing because actionlint or shellcheck looked at nothing."""
        with tempfile.TemporaryDirectory() as d:
            os.makedirs(os.path.join(d, ".github", "workflows"))
            bad = os.path.join(d, ".github", "workflows", "bad.yml")
            with open(bad, "w", encoding="utf-8") as f:
                f.write("on: push\npermissions:\n  package: write\njobs:\n  a:\n    runs-on: ubuntu-24.04\n"
                        "    steps:\n      - run: echo $1\n")
            p = actionlint(bad)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("SC2086", p.stdout)
        self.assertIn('unknown permission scope "package"', p.stdout)


class Release(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(RELEASE, encoding="utf-8") as f:
            cls.wf = yaml.safe_load(f)
        cls.jobs = cls.wf["jobs"]

    def test_runs_on_a_version_tag_only(self):
        # PyYAML reads the key `on` as the boolean true (YAML 1.1).
        self.assertEqual(self.wf[True], {"push": {"tags": ["v*"]}})

    def test_least_privilege(self):
        self.assertEqual(self.wf["permissions"], {})
        for name, job in self.jobs.items():
            with self.subTest(job=name):
                perms = job["permissions"]
                self.assertEqual(perms.get("contents"), "read")
                self.assertLessEqual(set(perms.items()), {("contents", "read"), ("packages", "write")})
                for s in steps(job, "actions/checkout"):
                    self.assertIs(s["with"]["persist-credentials"], False)

    def test_image_for_amd64_and_arm64_from_the_containerfile(self):
        job = self.jobs["image"]
        (build,) = steps(job, "docker/build-push-action")
        self.assertEqual(build["with"]["file"], "Containerfile")
        self.assertEqual(build["with"]["platforms"].split(","), ["linux/amd64", "linux/arm64"])
        self.assertIs(build["with"]["push"], True)
        self.assertTrue(steps(job, "docker/setup-qemu-action"))
        (meta,) = steps(job, "docker/metadata-action")
        self.assertEqual(meta["with"]["images"], "ghcr.io/${{ needs.version.outputs.owner }}/seccompd")
        self.assertIn("type=semver,pattern={{version}}", meta["with"]["tags"])

    def test_chart_after_the_image_to_the_oci_registry(self):
        job = self.jobs["chart"]
        self.assertIn("image", job["needs"])
        script = "\n".join(s.get("run", "") for s in job["steps"])
        self.assertIn("helm package charts/seccompd", script)
        self.assertIn('helm push "dist/seccompd-$VERSION.tgz" "oci://ghcr.io/$OWNER/charts"', script)


if __name__ == "__main__":
    unittest.main()
