#!/usr/bin/env python3
"""The container image's runtime layout, testable without building an image (no engine on these
machines): install the daemon the way the Containerfile's build stage does (meson setup --prefix=/usr,
meson install --destdir), then check the installed binary's shared-library closure against the
packages the Containerfile's run stage installs. The run stage is debian:12-slim plus that list, and
this host is Debian 12, so the libraries the loader resolves here are the ones the image will have.

The rule, exact in both directions:
  1. Every library the binary needs directly (its DT_NEEDED) comes from a package listed in the run
     stage, except libc6 (every listed library depends on it, and the base image has it); and every
     listed package but the data packages in DATA_PACKAGES provides one of those libraries. Nothing
     needed is missing, nothing listed is dead weight.
  2. Every library in the full closure (what ldd resolves, recursively) comes from a package that
     installing the listed packages pulls in: a listed one or one in their recursive Depends and
     Pre-Depends (apt-cache depends --recurse, recommends and suggests off, as the Containerfile
     installs with --no-install-recommends).
  3. Each library resolves to a file some Debian package owns (dpkg -S), so nothing comes from
     /usr/local or the build tree, and the binary carries no RPATH/RUNPATH."""
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import unittest

ROOT = os.environ["SOURCE_ROOT"]
CONTAINERFILE = os.path.join(ROOT, "Containerfile")
# Listed in the run stage for something other than a shared library, with the reason.
DATA_PACKAGES = {
    "ca-certificates": "libcurl's default trust store, used when a kubeconfig names no certificate-authority",
}
ENTRYPOINT = '["/usr/bin/seccompd", "run", "--source", "kube"]'


def stages(text):
    """The Containerfile's stages, each a list of instructions (continuation lines joined)."""
    text = re.sub(r"\\\n", " ", text)
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            out.append([])
        out[-1].append(line)
    return out


def apt_installed(instructions):
    """The package names of every `apt-get install` in a stage's RUN instructions."""
    pkgs = []
    for ins in instructions:
        if not ins.startswith("RUN "):
            continue
        for command in re.split(r"&&|;|\|\|", ins[4:]):
            words = shlex.split(command)
            if words[:2] == ["apt-get", "install"]:
                pkgs += [w for w in words[2:] if not w.startswith("-")]
    return pkgs


def run(*cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kw)
    if r.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout[-2000:]}{r.stderr[-2000:]}")
    return r.stdout


def owners(paths):
    """path -> the Debian package that owns it, however usrmerge spells its directory (one dpkg-query
    for all: each call reads the whole file database)."""
    spellings = {}
    for path in paths:
        for p in {path, os.path.realpath(path)}:
            for q in (p, p[4:] if p.startswith("/usr/") else "/usr" + p):
                spellings.setdefault(q, set()).add(path)
    r = subprocess.run(["dpkg-query", "-S", *sorted(spellings)], capture_output=True, text=True)
    found = {}
    for line in r.stdout.splitlines():
        if line.startswith("diversion ") or ": " not in line:
            continue
        pkg, p = line.rsplit(": ", 1)
        for path in spellings.get(p, ()):
            found[path] = pkg.split(",")[0].split(":")[0]
    return found


def needed(binary):
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", run("readelf", "-d", binary))


def closure(binary):
    """soname -> resolved path, for every library the loader maps (ldd; the vDSO has no file)."""
    libs = {}
    for line in run("ldd", binary).splitlines():
        m = re.match(r"\s*(\S+) => (\S+|not found)", line)
        if m:
            libs[m.group(1)] = m.group(2)
        elif re.match(r"\s*/", line):  # the dynamic loader itself
            path = line.split()[0]
            libs[os.path.basename(path)] = path
    return libs


class Image(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(CONTAINERFILE) as f:
            cls.stages = stages(f.read())
        cls.tmp = tempfile.mkdtemp(prefix="seccompd-image-")
        build, cls.destdir = f"{cls.tmp}/build", f"{cls.tmp}/out"
        # The Containerfile's build stage, with a temporary build directory and destdir.
        run("meson", "setup", build, "--prefix=/usr", "--buildtype=release", cwd=ROOT)
        run("ninja", "-C", build, "daemon/seccompd")
        run("meson", "install", "-C", build, "--no-rebuild", "--destdir", cls.destdir)
        cls.binary = f"{cls.destdir}/usr/bin/seccompd"

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def listed(self):
        return apt_installed(self.stages[-1])

    def test_containerfile_shape(self):
        self.assertEqual(len(self.stages), 2, "a build stage and a run stage")
        build, final = self.stages
        self.assertEqual(build[0], "FROM docker.io/library/debian:12 AS build")
        self.assertEqual(final[0], "FROM docker.io/library/debian:12-slim")
        self.assertTrue(any("meson setup /build --prefix=/usr --buildtype=release" in i for i in build),
                        "the build stage configures as this test does")
        self.assertIn("meson install -C /build --no-rebuild --destdir /out", " ".join(build))
        self.assertIn("COPY --from=build /out/usr/bin/seccompd /usr/bin/seccompd", final)
        self.assertIn("USER root", final)
        self.assertEqual([i for i in final if i.startswith("ENTRYPOINT")], [f"ENTRYPOINT {ENTRYPOINT}"])
        listed = self.listed()
        self.assertEqual(len(listed), len(set(listed)), listed)
        # Each one a real Debian 12 package: a typo would otherwise show only when the image is built.
        shown = run("apt-cache", "show", "--no-all-versions", *listed)
        self.assertEqual(sorted(re.findall(r"^Package: (\S+)$", shown, re.M)), sorted(listed))

    def test_installed_binary(self):
        self.assertTrue(os.access(self.binary, os.X_OK), f"{self.binary} is not installed")
        self.assertIn("seccompd", run(self.binary, "--version"))
        dynamic = run("readelf", "-d", self.binary)
        self.assertNotRegex(dynamic, r"\((RPATH|RUNPATH)\)", "an installed binary must not point into the build tree")

    def test_library_closure_is_exactly_the_run_stage_packages(self):
        listed = set(self.listed())
        self.assertLessEqual(set(DATA_PACKAGES), listed, "a data package is no longer installed: drop it here")
        libs = closure(self.binary)
        missing = sorted(s for s, p in libs.items() if p == "not found")
        self.assertEqual(missing, [], "libraries the loader cannot find")
        by_path = owners(libs.values())
        unowned = sorted(f"{s} ({p})" for s, p in libs.items() if p not in by_path)
        self.assertEqual(unowned, [], "libraries no Debian package owns")
        package = {s: by_path[p] for s, p in libs.items()}

        # Rule 1: the direct needs and the listed library packages are the same set.
        direct = {package[s] for s in needed(self.binary)} - {"libc6"}
        self.assertEqual(direct, listed - set(DATA_PACKAGES),
                         "run stage packages vs the packages of the binary's DT_NEEDED libraries")

        # Rule 2: everything else in the closure comes with them.
        out = run("apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests", "--no-conflicts",
                  "--no-breaks", "--no-replaces", "--no-enhances", *sorted(listed))
        pulled = {line.split(":")[0] for line in out.splitlines() if line and not line[0].isspace()
                  and not line.startswith("<")}
        stray = {f"{s} ({p})" for s, p in package.items() if p not in pulled}
        self.assertEqual(stray, set(), "libraries the run stage's packages do not bring")


if __name__ == "__main__":
    unittest.main(verbosity=2)
