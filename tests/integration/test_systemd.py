#!/usr/bin/env python3
"""deploy/systemd/seccompd.service: installed into a temporary prefix (so ExecStart points at a real
binary), it passes systemd-analyze verify, and it is what a node needs: Type=notify, before the
kubelet, sandboxed with only the seccomp directory writable."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = os.environ["SOURCE_ROOT"]


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
        finally:
            shutil.rmtree(tmp)


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=2).result
    sys.exit(0 if result.wasSuccessful() and result.testsRun > 0 else 1)
