#!/usr/bin/env python3
"""seccompd on a real Kubernetes: kube-apiserver, kube-controller-manager, kube-scheduler and a
kubelet built from k8s.io/kubernetes, etcd, containerd and runc from Debian (tests/cluster/up).
Everything an admin would do goes through kubectl and helm; what the node does is read from the
kubelet's own seccomp directory and from the pods' status as the kubelet and containerd report it.

Run by tests/run (the cluster tier); by hand against a cluster already up:
  SECCOMPD_CLUSTER_DIR=DIR python3 tests/cluster/test_cluster.py -v
A component that is missing fails the tier: nothing here skips."""

import http.client
import json
import os
import re
import ssl
import subprocess
import sys
import tempfile
import unittest

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tier import NODE, NS, ROOT, SECCOMP, TAINT, Tier, main  # noqa: E402

T = None
TUTORIAL = os.path.join(ROOT, "deploy", "examples", "profiles")
# The tutorial's pods run http-echo, which cannot be pulled here: busybox stands in, doing what the
# test needs to see (a syscall the profile denies, then staying up like a server).
# One stream (2>&1), so the log holds mkdir's complaint before the exit status in every case.
MKDIR = ["sh", "-c", "mkdir /tmp/denied 2>&1; echo mkdir-exit=$?"]


def setUpModule():
    global T
    T = Tier()
    T.kubectl("create", "namespace", NS, check=False)


def tearDownModule():
    if T:
        T.close()


def deny_mkdir(errno):
    return {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno}]}


def tutorial_configmap():
    """deploy/examples' ConfigMap as kubectl renders it (its fine-pod needs http-echo: left out)."""
    docs = yaml.safe_load_all(T.kubectl("kustomize", os.path.join(ROOT, "deploy", "examples")).stdout)
    return [d for d in docs if d and d["kind"] == "ConfigMap"]


class Install(unittest.TestCase):
    """1. Install as the README says."""

    def test_0_up_refuses_a_second_cluster(self):
        """One kubelet per machine: a second up stops before touching anything, the first runs on."""
        with tempfile.TemporaryDirectory(dir="/var/tmp") as other:
            p = subprocess.run([os.path.join(ROOT, "tests", "cluster", "up"), other], text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertIn("a kubelet is already running", p.stderr)
            self.assertEqual(os.listdir(other), [])
        self.assertTrue(T.c.node_ready())

    def test_1_kustomize_pod_is_ready_through_readyz(self):
        pod = T.install()
        name = pod["metadata"]["name"]
        probe = pod["spec"]["containers"][0]["readinessProbe"]["httpGet"]
        self.assertEqual(probe["path"], "/readyz")
        # The kubelet's probe went to this endpoint; the API server's proxy reaches it the same way.
        code, body = T.pod_proxy(name, "/readyz")
        self.assertEqual(code, 200, body)
        self.assertEqual(pod["spec"]["containers"][0]["image"], "localhost/seccompd:dev")
        T.uninstall()

    def test_2_helm_install(self):
        T.helm("install", "seccompd", os.path.join(ROOT, "charts", "seccompd"), "-n", NS,
               "--set", "image.repository=localhost/seccompd", "--set", "image.tag=dev", "--wait",
               "--timeout", "3m")
        try:
            pod = T.seccompd_pod()
            self.assertEqual(T.pod_proxy(pod["metadata"]["name"], "/readyz")[0], 200)
            owner = pod["metadata"]["ownerReferences"][0]
            ds = T.get("daemonset", "-n", NS, owner["name"])
            self.assertEqual(ds["metadata"]["labels"].get("app.kubernetes.io/managed-by"), "Helm")
            self.assertEqual(pod["spec"]["containers"][0]["image"], "localhost/seccompd:dev")
        finally:
            T.helm("uninstall", "seccompd", "-n", NS, "--wait")
        T.wait("the chart's pod to be gone", lambda: not T.get(
            "pods", "-n", NS, "-l", "app.kubernetes.io/name=seccompd")["items"])

    def test_3_server_dry_run_of_every_overlay_and_chart_setting(self):
        """The API server's own validation (schemas, CEL of the admission policy, RBAC objects) of
        everything deploy/ and the chart can render."""
        sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
        from chart_values import CHART_VALUES  # the settings the chart's own tests render
        for ns in {"team-a"} | {n for v in CHART_VALUES for n in v.get("namespaces", []) + v.get("tenantNamespaces", [])}:
            T.kubectl("create", "namespace", ns, check=False)
        crd = os.path.join(os.path.dirname(os.path.abspath(__file__)), "servicemonitor-crd.yaml")
        T.kubectl("apply", "-f", crd)
        T.kubectl("delete", "pod", "fine-pod", "--ignore-not-found", "--wait=true")  # deploy/examples' own
        T.kubectl("wait", "--for=condition=Established", "crd/servicemonitors.monitoring.coreos.com")
        paths = ["deploy", "deploy/examples"] + sorted(
            os.path.join("deploy", "overlays", d) for d in os.listdir(os.path.join(ROOT, "deploy", "overlays")))
        for path in paths:
            with self.subTest(kustomization=path):
                rendered = T.kubectl("kustomize", os.path.join(ROOT, path)).stdout
                p = T.kubectl("apply", "--dry-run=server", "-f", "-", input=rendered, check=False)
                self.assertEqual(p.returncode, 0, p.stderr)
        for values in CHART_VALUES:
            with self.subTest(values=values):
                with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
                    json.dump(values, f)
                    f.flush()
                    rendered = T.helm("template", "seccompd", os.path.join(ROOT, "charts", "seccompd"),
                                      "-n", NS, "-f", f.name, "--kube-version", T.server_version()).stdout
                p = T.kubectl("apply", "--dry-run=server", "-f", "-", input=rendered, check=False)
                self.assertEqual(p.returncode, 0, f"{values}: {p.stderr}")


class Tutorial(unittest.TestCase):
    """2. The tutorial, verbatim: its profiles as the example ConfigMap, its pods with localhostProfile."""

    @classmethod
    def setUpClass(cls):
        cls.pod = T.install()["metadata"]["name"]
        T.apply(tutorial_configmap())
        for f in ("audit", "violation", "fine-grained"):
            with open(os.path.join(TUTORIAL, f + ".json"), "rb") as src:
                T.wait_file(f"profiles/{f}.json", src.read())

    @classmethod
    def tearDownClass(cls):
        T.kubectl("delete", "pods", "--all", "-n", "default", "--wait=true")

    def test_fine_grained_runs_and_denies_with_its_errno(self):
        # The tutorial sets allowPrivilegeEscalation: false; its profile then only has to cover
        # what the workload does once runc has loaded the filter.
        # mkdir is the container's process itself: the profile lets it start and run, but not
        # wait4, so a shell would not wait for its child and the child's output would race the
        # end of the container. mkdir is not in its list: the default action answers, ERRNO, EPERM.
        code, out = T.run_pod("fine-pod", "profiles/fine-grained.json", ["mkdir", "/tmp/denied"])
        self.assertEqual(code, 1)
        self.assertIn("mkdir: can't create directory '/tmp/denied': Operation not permitted", out)

    def test_violation_fails_to_start_and_seccompd_warned(self):
        T.apply(T.pod("violation-pod", "profiles/violation.json", ["sh", "-c", "echo never"]))

        def failed():
            st = T.container_state("default", "violation-pod")
            term = st and (st.get("state", {}).get("terminated") or st.get("lastState", {}).get("terminated"))
            return term if term and term.get("reason") == "StartError" else None
        term = T.wait("violation-pod to fail with StartError", failed)
        self.assertIn("failed to start containerd task", term.get("message", ""))
        log = T.logs(self.pod)
        self.assertTrue(any("container-cannot-start" in line and "path=profiles/violation.json" in line
                            for line in log.splitlines()), log)
        ev = T.wait("the ProfileWarning Event on the ConfigMap", lambda: T.events(
            NS, "ConfigMap", "seccomp-tutorial", "ProfileWarning"))
        self.assertTrue(any("profiles/violation.json" in e["message"] and "container-cannot-start" in e["message"]
                            for e in ev), ev)
        T.kubectl("delete", "pod", "violation-pod", "--wait=true")

    def test_missing_profile_is_createcontainererror(self):
        T.apply(T.pod("missing-pod", "profiles/thisprofiledoesnotexist.json", ["sh", "-c", "echo never"]))

        def waiting():
            st = T.container_state("default", "missing-pod")
            w = st and st.get("state", {}).get("waiting")
            return w if w and w.get("reason") == "CreateContainerError" else None
        w = T.wait("missing-pod to report CreateContainerError", waiting)
        self.assertIn('cannot load seccomp profile "/var/lib/kubelet/seccomp/profiles/thisprofiledoesnotexist.json"',
                      w["message"])
        self.assertIn("no such file or directory", w["message"])
        T.kubectl("delete", "pod", "missing-pod", "--wait=true")

    def test_audit_runs(self):
        code, out = T.run_pod("audit-pod", "profiles/audit.json", MKDIR)
        self.assertEqual(code, 0)
        self.assertIn("mkdir-exit=0", out)  # LOG lets everything through


class LiveUpdate(unittest.TestCase):
    """3. Live update and last good, for ConfigMaps, Secrets and tenants."""

    def check_source(self, make, ns, rel, profile, kind, name, pod_ns="default"):
        T.apply(make(deny_mkdir(1)))
        T.wait_file(rel, json.dumps(deny_mkdir(1)).encode())
        _, out = T.run_pod("live", profile, MKDIR, ns=pod_ns)
        self.assertIn("Operation not permitted", out)
        # The next container gets the new version.
        T.apply(make(deny_mkdir(13)))
        T.wait_file(rel, json.dumps(deny_mkdir(13)).encode())
        _, out = T.run_pod("live", profile, MKDIR, ns=pod_ns)
        self.assertIn("Permission denied", out)
        # An invalid version: rejected with one Event; the file and the pods keep the last good one.
        T.apply(make({"defaultAction": "SCMP_ACT_KILL_EVERYTHING"}))
        ev = T.wait("the ProfileRejected Event", lambda: T.events(ns, kind, name, "ProfileRejected"))
        self.assertEqual(len(ev), 1, ev)
        self.assertIn("invalid update rejected, the last good profile stays", ev[0]["message"])
        self.assertIn("defaultAction", ev[0]["message"])
        self.assertEqual(T.file(rel), json.dumps(deny_mkdir(13)).encode())
        _, out = T.run_pod("live", profile, MKDIR, ns=pod_ns)
        self.assertIn("Permission denied", out)
        # What the admin sees: `kubectl describe` lists a ConfigMap's Events (its describer lists none
        # for a Secret: `kubectl events --for` does).
        shown = T.kubectl("describe", "configmap", "-n", ns, name).stdout if kind == "ConfigMap" else \
            T.kubectl("events", "-n", ns, "--for", f"secret/{name}").stdout
        self.assertRegex(shown, r"Warning\s+ProfileRejected")
        T.kubectl("delete", "pod", "-n", pod_ns, "live", "--wait=true")

    def test_configmap(self):
        T.install()
        self.check_source(lambda p: T.configmap("live-cm", {"live.json": p}, directory="live"), NS,
                          "live/live.json", "live/live.json", "ConfigMap", "live-cm")

    def test_secret(self):
        T.uninstall()
        T.install("deploy/overlays/secrets")

        def secret(p):
            return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                    "metadata": {"name": "live-secret", "namespace": NS,
                                 "labels": {"seccompd.io/profile": "true"},
                                 "annotations": {"seccompd.io/directory": "secret"}},
                    "stringData": {"live.json": json.dumps(p)}}
        self.check_source(secret, NS, "secret/live.json", "secret/live.json", "Secret", "live-secret")
        T.uninstall("deploy/overlays/secrets")

    def test_tenant(self):
        T.kubectl("create", "namespace", "team-a", check=False)
        T.install("deploy/overlays/tenants")
        self.check_source(lambda p: T.configmap("live-cm", {"live.json": p}, ns="team-a"), "team-a",
                          "team-a/live.json", "team-a/live.json", "ConfigMap", "live-cm", pod_ns="team-a")
        # A tenant's profile that confines nothing is refused, with its Event.
        T.apply(T.configmap("allow-all", {"allow.json": {"defaultAction": "SCMP_ACT_ALLOW"}}, ns="team-a"))
        ev = T.wait("the tenant's ProfileRejected Event",
                    lambda: T.events("team-a", "ConfigMap", "allow-all", "ProfileRejected"))
        self.assertIn("confines-nothing", ev[0]["message"])
        self.assertIsNone(T.file("team-a/allow.json"))
        T.uninstall("deploy/overlays/tenants")


def node_taints():
    return [t["key"] for t in T.get("node", NODE)["spec"].get("taints", [])]


def node_condition():
    for c in T.get("node", NODE).get("status", {}).get("conditions", []):
        if c["type"] == "SeccompProfilesReady":
            return c
    return None


def reregister(taints=None):
    """What a node does when its Node object has to be created again: the kubelet restarts and
    registers with its --register-with-taints."""
    T.kubectl("delete", "node", NODE, "--wait=true")
    T.c.restart_kubelet(taints)


class NodeGating(unittest.TestCase):
    """4. Node gating for real: the startup taint, the condition, the node-only admission policy."""

    def test_1_pod_stays_pending_until_the_profiles_are_on_disk(self):
        T.uninstall_any()
        T.apply(tutorial_configmap())
        reregister([f"{TAINT}=true:NoSchedule"])
        self.assertIn(TAINT, node_taints())
        # No seccompd yet: a profile the pod names is not there (removed by hand, as on a new node).
        os.unlink(os.path.join(SECCOMP, "profiles", "fine-grained.json"))
        T.apply(T.pod("gated", "profiles/fine-grained.json", ["sh", "-c", "echo gated-ran"], tolerate=False))

        def unschedulable():
            for c in T.get("pod", "gated").get("status", {}).get("conditions", []):
                if c["type"] == "PodScheduled" and c["status"] == "False":
                    return c
            return None
        c = T.wait("the scheduler to find no node for the gated pod", unschedulable)
        self.assertIn("untolerated taint", c.get("message", ""))
        T.install("deploy/overlays/node-gating")
        T.wait("the taint to be removed", lambda: TAINT not in node_taints())
        T.wait("the gated pod to run", lambda: (T.container_state("default", "gated") or {}).get(
            "state", {}).get("terminated"))
        self.assertIn("gated-ran", T.logs("gated", "default"))
        self.assertIsNotNone(T.file("profiles/fine-grained.json"))
        c = T.wait("SeccompProfilesReady", node_condition)
        self.assertEqual(c["status"], "True")
        T.kubectl("delete", "pod", "gated", "--wait=true")

    def test_2_admission_policy_lets_seccompd_change_its_own_node_only(self):
        pod = T.seccompd_pod()["metadata"]["name"]
        token = T.kubectl("exec", "-n", NS, pod, "--", "cat",
                          "/var/run/secrets/kubernetes.io/serviceaccount/token").stdout.strip()
        T.apply({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "other-node", "labels": {"test": "other"}}})
        # The requests seccompd itself makes (kube-node.c), with its pod's own bound token: a
        # strategic-merge patch of the status, and a JSON patch of the node.
        ctx = ssl.create_default_context(cafile=os.path.join(T.c.pki, "ca.crt"))

        def patch(node, sub, ctype, body):
            conn = http.client.HTTPSConnection(T.api.split("//")[1].split(":")[0], 6443, context=ctx)
            conn.request("PATCH", f"/api/v1/nodes/{node}{sub}", body=json.dumps(body),
                         headers={"Authorization": f"Bearer {token}", "Content-Type": ctype})
            r = conn.getresponse()
            out = r.status, json.loads(r.read())
            conn.close()
            return out
        cond = {"status": {"conditions": [{"type": "SeccompProfilesReady", "status": "True", "reason": "Test",
                                           "message": "test"}]}}
        label = [{"op": "add", "path": "/metadata/labels/x", "value": "y"}]
        try:
            for sub, ctype, body in (("/status", "application/strategic-merge-patch+json", cond),
                                     ("", "application/json-patch+json", label)):
                code, st = patch("other-node", sub, ctype, body)
                self.assertEqual(code, 403, st)
                self.assertIn("seccompd may change only the node its pod runs on, not other-node", st["message"])
                self.assertIn("ValidatingAdmissionPolicy 'seccompd-own-node-only'", st["message"])
            code, st = patch(NODE, "/status", "application/strategic-merge-patch+json", cond)
            self.assertEqual(code, 200, st)
        finally:
            T.kubectl("delete", "node", "other-node", "--wait=false")

    def test_3_condition_only_with_the_shipped_rbac(self):
        T.uninstall("deploy/overlays/node-gating")
        reregister()
        self.assertIsNone(node_condition())
        T.install("deploy/overlays/node-condition")
        c = T.wait("SeccompProfilesReady", node_condition)
        self.assertEqual(c["status"], "True")
        self.assertNotIn(TAINT, node_taints())
        log = T.logs(T.seccompd_pod()["metadata"]["name"])
        self.assertNotRegex(log, r"(?i)forbidden")
        T.uninstall("deploy/overlays/node-condition")


class Rbac(unittest.TestCase):
    """5. RBAC is minimal, proven by the real authorizer: everything above ran with exactly the
    shipped rules; here each verb of each shipped rule is taken away in turn, and what breaks
    without it is shown. A verb that no check needs fails the test: no rule is there by habit."""

    # Tenants, Secrets and node gating: every rule deploy/ ships for seccompd's own account. The
    # recorder agent's (components/recorder) are not in overlays/all; its verbs need the agent to show.
    OVERLAY = "deploy/overlays/all"

    @classmethod
    def setUpClass(cls):
        T.uninstall()
        T.kubectl("create", "namespace", "team-a", check=False)
        cls.docs = [d for d in yaml.safe_load_all(T.kustomize(cls.OVERLAY)) if d]

    @classmethod
    def tearDownClass(cls):
        T.uninstall()

    def shipped(self):
        """(kind, namespace, resource, verb) for every verb the manifests grant."""
        out = []
        for d in self.docs:
            if d["kind"] not in ("Role", "ClusterRole"):
                continue
            for rule in d["rules"]:
                for res in rule["resources"]:
                    for verb in rule["verbs"]:
                        out.append((d["kind"], d["metadata"].get("namespace"), res, verb))
        return out

    def without(self, kind, ns, res, verb):
        docs = json.loads(json.dumps(self.docs))
        for d in docs:
            if d["kind"] == kind and d["metadata"].get("namespace") == ns:
                for rule in d["rules"]:
                    if res in rule["resources"]:
                        rule["verbs"] = [v for v in rule["verbs"] if v != verb]
                d["rules"] = [r for r in d["rules"] if r["verbs"]]
        return docs

    def start(self, docs, taint=False):
        """Apply the variant on a node as a new node is: registered again (with the startup taint if
        asked), no condition; then seccompd's pod Running (maybe never Ready)."""
        T.uninstall()
        reregister([f"{TAINT}=true:NoSchedule"] if taint else None)
        T.apply(docs)
        return T.seccompd_pod(ready=False)["metadata"]["name"]

    def said(self, pod, pattern):
        return T.wait(f"seccompd's log to say /{pattern}/", lambda: re.search(pattern, T.logs(pod)), 90)

    # ---- what breaks, for each verb ------------------------------------------------------------

    def breaks_list(self, pod, ns, res):
        self.said(pod, rf"list {res} in namespace {ns}: forbidden \(403\)")
        code, body = T.pod_proxy(pod, "/readyz")
        self.assertEqual(code, 503, f"ready without being able to list its profiles: {body}")
        self.assertIn("403", body)

    def breaks_watch(self, pod, ns, res):
        self.said(pod, rf"watch {res} in namespace {ns}: forbidden \(403\)")
        code, body = T.pod_proxy(pod, "/readyz")
        self.assertEqual(code, 503, f"ready without being able to watch its profiles: {body}")
        self.assertIn("403", body)

    def breaks_events(self, pod, ns):
        T.apply(T.configmap("rbac-bad", {"bad.json": {"defaultAction": "SCMP_ACT_NOPE"}}, ns=ns))
        self.said(pod, r"cannot create Event [^ ]+ in namespace [^ ]+: .*forbidden")
        self.assertEqual(T.events(ns, "ConfigMap", "rbac-bad"), [])
        T.kubectl("delete", "configmap", "-n", ns, "rbac-bad")

    def breaks_taint(self, pod, verb):
        self.said(pod, rf"cannot {'read' if verb == 'get' else 'remove the taint from|patch'} node {NODE}.*forbidden"
                  if verb == "get" else rf"node {NODE}.*forbidden")
        self.assertIn(TAINT, node_taints())

    def breaks_condition(self, pod):
        self.said(pod, rf"node {NODE}.*forbidden")
        self.assertIsNone(node_condition())

    def test_every_shipped_verb_is_needed(self):
        checks = {
            ("Role", NS, "configmaps", "list"): lambda p: self.breaks_list(p, NS, "configmaps"),
            ("Role", NS, "configmaps", "watch"): lambda p: self.breaks_watch(p, NS, "configmaps"),
            ("Role", NS, "secrets", "list"): lambda p: self.breaks_list(p, NS, "secrets"),
            ("Role", NS, "secrets", "watch"): lambda p: self.breaks_watch(p, NS, "secrets"),
            ("Role", NS, "events", "create"): lambda p: self.breaks_events(p, NS),
            ("Role", "team-a", "configmaps", "list"): lambda p: self.breaks_list(p, "team-a", "configmaps"),
            ("Role", "team-a", "configmaps", "watch"): lambda p: self.breaks_watch(p, "team-a", "configmaps"),
            ("Role", "team-a", "secrets", "list"): lambda p: self.breaks_list(p, "team-a", "secrets"),
            ("Role", "team-a", "secrets", "watch"): lambda p: self.breaks_watch(p, "team-a", "secrets"),
            ("Role", "team-a", "events", "create"): lambda p: self.breaks_events(p, "team-a"),
            ("ClusterRole", None, "nodes", "get"): lambda p: self.breaks_taint(p, "get"),
            ("ClusterRole", None, "nodes", "patch"): lambda p: self.breaks_taint(p, "patch"),
            ("ClusterRole", None, "nodes/status", "patch"): self.breaks_condition,
        }
        shipped = self.shipped()
        self.assertEqual(sorted(set(shipped) - set(checks)), [], "shipped verbs no check shows are needed")
        for key in shipped:
            with self.subTest(without=key):
                pod = self.start(self.without(*key), taint=key[2] == "nodes")
                checks[key](pod)


def installed():
    """Every file under the seccomp directory but seccompd's own state: path -> inode."""
    out = {}
    for d, _, files in os.walk(SECCOMP):
        for f in files:
            if not f.startswith(".."):
                p = os.path.join(d, f)
                out[os.path.relpath(p, SECCOMP)] = os.stat(p).st_ino
    return out


class Faults(unittest.TestCase):
    """6. Faults on the real server: after each, nothing installed was removed (every file is the
    same inode), an update made afterwards reaches the disk, and a new pod starts under it."""

    @classmethod
    def setUpClass(cls):
        T.uninstall()
        reregister()
        T.install()
        T.apply(tutorial_configmap())
        T.apply(T.configmap("fault", {"fault.json": deny_mkdir(1)}, directory="fault"))
        T.wait_file("fault/fault.json", json.dumps(deny_mkdir(1)).encode())
        cls.version = 1

    @classmethod
    def tearDownClass(cls):
        T.uninstall()

    def converges(self, before, pod):
        """After a fault: nothing removed, a new version arrives, a pod starts under it."""
        type(self).version += 1
        errno = 1 if self.version % 2 else 13
        T.apply(T.configmap("fault", {"fault.json": deny_mkdir(errno)}, directory="fault"))
        T.wait_file("fault/fault.json", json.dumps(deny_mkdir(errno)).encode())
        after = installed()
        for path, ino in before.items():
            self.assertIn(path, after, f"{path} was removed")
            if path != "fault/fault.json":
                self.assertEqual(after[path], ino, f"{path} was rewritten")
        _, out = T.run_pod("after-fault", "fault/fault.json", MKDIR)
        self.assertIn("Operation not permitted" if errno == 1 else "Permission denied", out)
        self.assertNotIn("removed path=", T.logs(pod))

    def metric(self, pod, name):
        code, body = T.pod_proxy(pod, "/metrics")
        self.assertEqual(code, 200, body)
        return sum(float(line.rsplit(" ", 1)[1]) for line in body.splitlines()
                   if line.startswith(name) and not line.startswith("#"))

    def test_apiserver_restart_under_open_watches(self):
        pod = T.seccompd_pod()["metadata"]["name"]
        before = installed()
        broken = 'seccompd_kube_errors_total{verb="watch",resource="configmaps"'
        errors = self.metric(pod, broken)
        T.c.restart_apiserver()
        self.converges(before, pod)
        # The open watch really broke under seccompd (the server went away mid-stream).
        self.assertGreater(self.metric(pod, broken), errors)
        self.assertRegex(T.logs(pod), r"watch configmaps in namespace seccompd-system: .*not closed cleanly")

    def test_compaction_forces_410_and_a_relist(self):
        pod = T.seccompd_pod()["metadata"]["name"]
        before = installed()
        relists = self.metric(pod, "seccompd_kube_relists_total")
        # Writes seccompd does not watch move etcd's revision past the one it resumes from; the
        # compaction then makes that one too old, and the restarted API server's fresh watch cache
        # answers the resumed watch with 410 Gone.
        for i in range(5):
            T.apply(T.configmap(f"unwatched-{i}", {"x": str(i)}, ns="default", labels={}))
        T.c.compact()
        T.c.restart_apiserver()
        T.wait("seccompd to relist after 410", lambda: self.metric(pod, "seccompd_kube_relists_total") > relists)
        self.converges(before, pod)

    def test_seccompd_pod_killed_mid_sync(self):
        pod = T.seccompd_pod()["metadata"]["name"]
        before = installed()
        many = {f"p{i:03}.json": deny_mkdir(1 + i % 100) for i in range(200)}
        T.apply(T.configmap("many", many, directory="many"))
        T.kubectl("delete", "pod", "-n", NS, pod, "--force", "--grace-period=0")
        new = T.wait("the DaemonSet to recreate the pod", lambda: (
            lambda p: p["metadata"]["name"] != pod and p)(T.seccompd_pod()))["metadata"]["name"]
        for name, p in many.items():
            T.wait_file(f"many/{name}", json.dumps(p).encode())
        self.converges(before, new)


def load_tests(loader, tests, pattern):
    """In the order an admin meets them: install, the tutorial, updates, gating, RBAC, faults."""
    return unittest.TestSuite(loader.loadTestsFromTestCase(c)
                              for c in (Install, Tutorial, LiveUpdate, NodeGating, Rbac, Faults))


if __name__ == "__main__":
    main(sys.modules[__name__])
