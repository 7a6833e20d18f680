"""The tools tests/cluster/build makes from the Go module proxy (helm, actionlint, crictl, Kubernetes):
a second run answers from its cache in a second. A failed build fails the test that needs the tool."""
import os
import subprocess

ROOT = os.environ.get("SOURCE_ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def built_tool(name):
    p = subprocess.run([os.path.join(ROOT, "tests", "cluster", "build")], capture_output=True, text=True,
                       timeout=3600)
    if p.returncode != 0:
        raise AssertionError(f"tests/cluster/build failed (it builds {name}):\n{p.stderr}")
    path = os.path.join(p.stdout.strip().splitlines()[-1], name)
    if not os.access(path, os.X_OK):
        raise AssertionError(f"tests/cluster/build printed no directory holding {name}: {path}")
    return path
