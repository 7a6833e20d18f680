#!/usr/bin/env python3
"""deploy/systemd/seccompd.service: installed into a temporary prefix (so ExecStart points at a real
binary), it passes systemd-analyze verify, and it is what a node needs: Type=notify, before the
kubelet, sandboxed with only the seccomp directory writable."""
import os
import re
import select
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

ROOT = os.environ["SOURCE_ROOT"]


def exec_lines(text):
    """(setting, argv) of every Exec*= line, with systemd's own unescaping: its prefixes (-@:+!) off,
    $$ for a literal $, quotes as a shell reads them."""
    for m in re.finditer(r"^(Exec\w+)=(.*)$", text, re.M):
        argv = [w.replace("$$", "$") for w in shlex.split(m.group(2))]
        argv[0] = argv[0].lstrip("-@:+!")
        yield m.group(1), argv


def owning_package(path):
    """The Debian package that ships path (or, merged /usr, its /usr twin), and whether it is Essential."""
    for p in (path, "/usr" + path, os.path.realpath(path)):
        q = subprocess.run(["dpkg-query", "-S", p], capture_output=True, text=True)
        owners = [line.split(":")[0] for line in q.stdout.splitlines() if not line.startswith("diversion by ")]
        if q.returncode == 0 and owners:
            package = owners[0].strip()
            essential = subprocess.run(["dpkg-query", "-W", "-f=${Essential}", package],
                                       capture_output=True, text=True, check=True).stdout.strip()
            return package, essential == "yes"
    return None, False


def tests_run_packages():
    with open(os.path.join(ROOT, "tests", "run"), encoding="utf-8") as f:
        m = re.search(r"^packages=\((.*?)\)", f.read(), re.M | re.S)
    return set(m.group(1).split())


def readline(pipe, timeout=30):
    """A line from pipe, or AssertionError after timeout seconds."""
    if not select.select([pipe], [], [], timeout)[0]:
        raise AssertionError(f"nothing read in {timeout} s")
    return pipe.readline()


class Unit(unittest.TestCase):
    def test_verify_installed_unit(self):
        tmp = tempfile.mkdtemp()
        try:
            prefix, build = f"{tmp}/prefix", f"{tmp}/build"
            subprocess.run(["meson", "setup", build, ROOT, f"--prefix={prefix}"], check=True, capture_output=True)
            subprocess.run(["ninja", "-C", build], check=True, capture_output=True)
            subprocess.run(["meson", "install", "-C", build, "--no-rebuild"], check=True,
                           capture_output=True)
            unit = f"{prefix}/lib/systemd/system/seccompd.service"
            self.assertTrue(os.access(f"{prefix}/bin/seccompd", os.X_OK))
            p = subprocess.run(["systemd-analyze", "verify", unit], capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(p.stderr.strip(), "")
            with open(unit, encoding="utf-8") as f:
                text = f.read()
            for line in ("Type=notify", "Before=kubelet.service", "WatchdogSec=", "ProtectSystem=strict",
                         "ReadWritePaths=/var/lib/kubelet/seccomp", "NoNewPrivileges=yes",
                         "SystemCallFilter=@system-service", f"ExecStart={prefix}/bin/seccompd run "):
                self.assertIn(line, text)
            self.assertTrue(os.path.exists(f"{prefix}/lib/tmpfiles.d/seccompd.conf"))
            self.check_commands_need_nothing_outside_essential(text, prefix)
            self.check_reload_is_a_sighup_without_kill_on_path(text, tmp)
        finally:
            shutil.rmtree(tmp)

    def check_commands_need_nothing_outside_essential(self, text, prefix):
        """Issue 13: ExecReload=/bin/kill made verify fail on a Debian without procps, and this test
        passed only because the machine had it. Every command the unit runs is seccompd itself or comes
        from an Essential package (on every Debian), and systemd-analyze from a package tests/run
        installs."""
        commands = dict(exec_lines(text))
        self.assertEqual(set(commands), {"ExecStart", "ExecReload"})
        for setting, argv in commands.items():
            with self.subTest(setting=setting):
                self.assertTrue(os.path.isabs(argv[0]), argv)
                if argv[0] == f"{prefix}/bin/seccompd":
                    continue
                package, essential = owning_package(argv[0])
                self.assertTrue(essential, f"{setting}={argv[0]} comes from {package}, not an Essential package")
        package, _ = owning_package(shutil.which("systemd-analyze"))
        self.assertIn(package, tests_run_packages())

    def check_reload_is_a_sighup_without_kill_on_path(self, text, tmp):
        """systemctl reload runs ExecReload= with MAINPID in its environment: with no kill on PATH at
        all, the main process still gets SIGHUP (what seccompd run takes as "resync in full")."""
        argv = dict(exec_lines(text))["ExecReload"]
        empty = f"{tmp}/empty-path"
        os.mkdir(empty)
        main = subprocess.Popen([sys.executable, "-c", """
import signal, sys
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGHUP})
print("ready", flush=True)
print(signal.Signals(signal.sigwait({signal.SIGHUP})).name, flush=True)
"""], stdout=subprocess.PIPE, text=True)
        try:
            self.assertEqual(readline(main.stdout), "ready\n")
            p = subprocess.run(argv, env={"MAINPID": str(main.pid), "PATH": empty}, capture_output=True,
                               text=True, timeout=30)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(readline(main.stdout), "SIGHUP\n")
            self.assertEqual(main.wait(timeout=30), 0)
        finally:
            if main.poll() is None:
                main.send_signal(signal.SIGKILL)
                main.wait()
            main.stdout.close()


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=2).result
    sys.exit(0 if result.wasSuccessful() and result.testsRun > 0 else 1)
