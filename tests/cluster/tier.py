"""What the cluster tier's tests and bench/bench-cluster.py share: the cluster (brought up once, or
the one KUBECONFIG names), kubectl, seccompd installed the way the README says, and waiting on what
the real components report."""

import ctypes
import http.client
import json
import os
import ssl
import struct
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import cluster  # noqa: E402

NS = "seccompd-system"
SECCOMP = "/var/lib/kubelet/seccomp"
IMAGE = "localhost/seccompd:dev"
BUSYBOX = "localhost/busybox:dev"
TAINT = "startup-taint.cluster-autoscaler.kubernetes.io/seccompd-not-ready"
NODE = cluster.NODE


class Tier:
    """The cluster: up at start unless SECCOMPD_CLUSTER_DIR names one already up (by hand), down at
    the end if we brought it up."""

    def __init__(self):
        given = os.environ.get("SECCOMPD_CLUSTER_DIR")
        self.owned = not given
        self.dir = given or tempfile.mkdtemp(prefix="sd-cluster-", dir="/var/tmp")
        self.c = cluster.Cluster(self.dir)
        if self.owned:
            p = subprocess.run([os.path.join(HERE, "up"), self.dir], stdout=subprocess.PIPE, text=True)
            last = p.stdout.strip().splitlines()[-1:] or [""]
            if p.returncode != 0 or last[0] != f"KUBECONFIG={self.c.kubeconfig}":
                raise AssertionError(f"tests/cluster/up {self.dir} failed ({p.returncode}): {p.stdout}")
        with open(os.path.join(self.dir, "bin")) as f:
            self.c.bin = f.read().strip()
        self.kubeconfig = self.c.kubeconfig
        self.api = cluster.API
        self.helm_bin = os.path.join(self.c.bin, "helm")

    def close(self):
        if self.owned:
            subprocess.run([os.path.join(HERE, "down"), self.dir], check=True)

    # ---- kubectl and helm ------------------------------------------------------------------

    def kubectl(self, *args, input=None, check=True, timeout=180):
        p = subprocess.run(["kubectl", "--kubeconfig", self.kubeconfig, *args], input=input, text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({p.returncode}):\n{p.stderr}{p.stdout}")
        return p

    def get(self, *args):
        return json.loads(self.kubectl("get", "-o", "json", *args).stdout)

    def apply(self, manifest, *args):
        """kubectl apply of objects given as dicts (or YAML/JSON text)."""
        if not isinstance(manifest, str):
            manifest = json.dumps({"apiVersion": "v1", "kind": "List", "items": manifest}
                                  if isinstance(manifest, list) else manifest)
        return self.kubectl("apply", "-f", "-", *args, input=manifest)

    def helm(self, *args, check=True):
        p = subprocess.run([self.helm_bin, "--kubeconfig", self.kubeconfig, *args], text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
        if check and p.returncode != 0:
            raise AssertionError(f"helm {' '.join(args)} failed ({p.returncode}):\n{p.stderr}{p.stdout}")
        return p

    def kustomize(self, path):
        """A kustomization of deploy/ as the README applies it, with only the image set to the local
        tag (kustomize's own `images:`), rendered by kubectl."""
        with tempfile.TemporaryDirectory(dir=os.path.join(ROOT, "build") if os.path.isdir(
                os.path.join(ROOT, "build")) else None) as d:
            rel = os.path.relpath(os.path.join(ROOT, path), d)
            with open(os.path.join(d, "kustomization.yaml"), "w") as f:
                f.write(f"""apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - {rel}
images:
  - name: ghcr.io/seccompd/seccompd
    newName: localhost/seccompd
    newTag: dev
""")
            return self.kubectl("kustomize", d).stdout

    # ---- waiting ---------------------------------------------------------------------------

    def wait(self, what, check, timeout=120, interval=0.2):
        """Poll the real components' reported state until check() returns something true."""
        deadline = time.monotonic() + timeout
        last = None
        while True:
            try:
                got = check()
            except AssertionError as e:
                got, last = None, e
            if got:
                return got
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout} s waiting for {what}" +
                                     (f" (last error: {last})" if last else ""))
            time.sleep(interval)

    def seccompd_pod(self, ns=NS, ready=True):
        """The DaemonSet's pod on the node, once Ready (or just Running)."""
        def find():
            pods = self.get("pods", "-n", ns, "-l", "app.kubernetes.io/name=seccompd")["items"]
            for p in pods:
                if p["metadata"].get("deletionTimestamp"):
                    continue
                st = p.get("status", {})
                conds = {c["type"]: c["status"] for c in st.get("conditions", [])}
                if st.get("phase") == "Running" and (not ready or conds.get("Ready") == "True"):
                    return p
            return None
        return self.wait(f"seccompd's pod in {ns} to be {'Ready' if ready else 'Running'}", find)

    def logs(self, pod, ns=NS, container=None, previous=False):
        args = ["logs", "-n", ns, pod] + (["-c", container] if container else []) + \
            (["--previous"] if previous else [])
        return self.kubectl(*args, check=False).stdout

    def pod_proxy(self, pod, path, ns=NS, port=9464):
        """GET on the pod's HTTP port through the API server's proxy, as the kubelet's probe would:
        (HTTP status, body)."""
        ctx = ssl.create_default_context(cafile=os.path.join(self.c.pki, "ca.crt"))
        ctx.load_cert_chain(os.path.join(self.c.pki, "admin.crt"), os.path.join(self.c.pki, "admin.key"))
        conn = http.client.HTTPSConnection(self.api.split("//")[1].split(":")[0], 6443, context=ctx, timeout=30)
        try:
            conn.request("GET", f"/api/v1/namespaces/{ns}/pods/{pod}:{port}/proxy{path}")
            r = conn.getresponse()
            return r.status, r.read().decode(errors="replace")
        finally:
            conn.close()

    def events(self, ns, kind, name, reason=None):
        items = self.get("events", "-n", ns, "--field-selector",
                         f"involvedObject.kind={kind},involvedObject.name={name}")["items"]
        return [e for e in items if reason is None or e["reason"] == reason]

    def file(self, rel):
        try:
            with open(os.path.join(SECCOMP, rel), "rb") as f:
                return f.read()
        except FileNotFoundError:
            return None

    def wait_file(self, rel, content=None, timeout=60):
        """Until the installed file exists (with these bytes, if given)."""
        def check():
            got = self.file(rel)
            return got is not None and (content is None or got == content)
        self.wait(f"{SECCOMP}/{rel}" + (" to have the new bytes" if content else " to be installed"),
                  check, timeout)

    def container_state(self, ns, pod, container=None):
        p = self.get("pod", "-n", ns, pod)
        sts = p.get("status", {}).get("containerStatuses") or []
        for s in sts:
            if container is None or s["name"] == container:
                return s
        return None

    # ---- workloads -------------------------------------------------------------------------

    def pod(self, name, profile, command, ns="default", labels=None, tolerate=True, extra=None,
            restart="Never", privesc=False):
        """The tutorial's pod shape: one container under `localhostProfile: profile`, on the busybox
        image (the tutorial's hashicorp/http-echo cannot be pulled here)."""
        spec = {
            "restartPolicy": restart,
            "securityContext": {"seccompProfile": {"type": "Localhost", "localhostProfile": profile}}
            if profile else {},
            "containers": [{
                "name": "test-container", "image": BUSYBOX, "imagePullPolicy": "Never",
                "command": command,
                "securityContext": {"allowPrivilegeEscalation": privesc},
            }],
            "terminationGracePeriodSeconds": 1,
        }
        if not tolerate:
            spec["tolerations"] = []
        if extra:
            spec.update(extra)
        return {"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": name, "namespace": ns, "labels": labels or {"app": name}}, "spec": spec}

    def run_pod(self, name, profile, command, ns="default", timeout=90, **kw):
        """Create the pod, wait for it to finish, return (exit code, log)."""
        self.kubectl("delete", "pod", "-n", ns, name, "--ignore-not-found", "--wait=true")
        self.apply(self.pod(name, profile, command, ns=ns, **kw))

        def done():
            st = self.container_state(ns, name)
            term = st and st.get("state", {}).get("terminated")
            if st and st.get("state", {}).get("waiting", {}).get("reason") in ("CreateContainerError",
                                                                               "ErrImageNeverPull"):
                raise AssertionError(f"pod {name}: {st['state']['waiting']}")
            return term
        term = self.wait(f"pod {ns}/{name} to finish", done, timeout)
        return term["exitCode"], self.logs(name, ns)

    def configmap(self, name, data, ns=NS, directory=None, labels=None):
        meta = {"name": name, "namespace": ns, "labels": labels if labels is not None
                else {"seccompd.io/profile": "true"}}
        if directory:
            meta["annotations"] = {"seccompd.io/directory": directory}
        return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta,
                "data": {k: v if isinstance(v, str) else json.dumps(v) for k, v in data.items()}}

    # ---- install ---------------------------------------------------------------------------

    def install(self, path="deploy"):
        self.apply(self.kustomize(path))
        self.kubectl("-n", NS, "rollout", "status", "daemonset/seccompd", "--timeout=180s")
        return self.seccompd_pod()

    def uninstall(self, path=None):
        """Remove every seccompd install (kustomize or helm, any namespace) but the namespaces, and
        wait for its pods to be gone. The profiles' ConfigMaps and the installed files stay."""
        self.kubectl("delete", "daemonset,role,rolebinding,clusterrole,clusterrolebinding,serviceaccount,"
                     "resourcequota,validatingadmissionpolicy,validatingadmissionpolicybinding",
                     "-A", "-l", "app.kubernetes.io/name in (seccompd,seccompd-recorder)", "--ignore-not-found",
                     "--wait=true")
        self.wait("seccompd's pods to be gone", lambda: not self.get(
            "pods", "-A", "-l", "app.kubernetes.io/name in (seccompd,seccompd-recorder)")["items"], 120)

    uninstall_any = uninstall

    def server_version(self):
        return json.loads(self.kubectl("version", "-o", "json").stdout)["serverVersion"]["gitVersion"]


class Inotify:
    """Linux inotify on one directory, through libc: what a test needs to see every rename and unlink
    seccompd makes there, and when."""
    IN_MOVED_TO, IN_DELETE, IN_MOVED_FROM, IN_CLOSE_WRITE = 0x80, 0x200, 0x40, 0x8

    def __init__(self, path, mask=IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM):
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.fd = self.libc.inotify_init1(os.O_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        if self.libc.inotify_add_watch(self.fd, path.encode(), mask) < 0:
            raise OSError(ctypes.get_errno(), f"inotify_add_watch {path}")

    def read(self, timeout):
        """Events as (mask, name, monotonic time read), waiting at most timeout seconds for the first."""
        import select
        r, _, _ = select.select([self.fd], [], [], timeout)
        if not r:
            return []
        buf = os.read(self.fd, 65536)
        now = time.monotonic()
        out, i = [], 0
        while i < len(buf):
            _, mask, _, n = struct.unpack_from("iIII", buf, i)
            name = buf[i + 16:i + 16 + n].rstrip(b"\0").decode()
            out.append((mask, name, now))
            i += 16 + n
        return out

    def close(self):
        os.close(self.fd)


class Result(unittest.TextTestResult):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.passed = 0

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed += 1


def run_tests(suite):
    """Run a suite verbosely; print the closing 'cluster: N passed, N failed'; the exit status."""
    r = unittest.TextTestRunner(verbosity=2, resultclass=Result).run(suite)
    failed = len(r.failures) + len(r.errors) + len(r.unexpectedSuccesses)
    print(f"cluster: {r.passed} passed, {failed} failed", flush=True)
    return 1 if failed or r.testsRun == 0 else 0


def main(module):
    """A test module run by hand: every test, or the TestCase/method names given (Class.test_x)."""
    names = [a for a in sys.argv[1:] if not a.startswith("-")]
    loader = unittest.defaultTestLoader
    sys.exit(run_tests(loader.loadTestsFromNames(names, module) if names else loader.loadTestsFromModule(module)))
