#!/usr/bin/env python3
"""How seccompd is installed in a cluster: deploy/ (kustomize) and charts/seccompd (Helm).

Renders every kustomization offline with kubectl and the chart with real helm (`helm template`;
helm comes from tests/cluster/build), then checks what an admin would check before applying them:
least-privilege RBAC, the one hostPath, the pod's confinement, probes, flags the daemon really has,
scheduling on every Linux node and no virtual one; and that the chart, for each setting, renders
exactly the objects of the matching overlay. kubectl and helm are required: without them this
fails, it does not skip."""
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import yaml

from built import built_tool
from chart_values import CHART_VALUES, EQUIVALENT, NO_ADMISSION_POLICY, POD_VALUES, SERVICE_MONITOR

ROOT = os.environ["SOURCE_ROOT"]
BUILD = os.environ["BUILD_ROOT"]
SECCOMPD = os.environ.get("SECCOMPD") or os.path.join(BUILD, "daemon", "seccompd")
DEPLOY = os.path.join(ROOT, "deploy")
CHART = os.path.join(ROOT, "charts", "seccompd")
NS = "seccompd-system"
SEAT = "/var/lib/kubelet/seccomp"
TAINT = "startup-taint.cluster-autoscaler.kubernetes.io/seccompd-not-ready"
NODE_NAME_EXTRA = "authentication.kubernetes.io/node-name"
READ = ["list", "watch"]


def tool(name):
    path = shutil.which(name)
    if not path:
        raise AssertionError(f"{name} is required on PATH for the deployment tests (not skipping)")
    return path


HELM = None
HELM_HOME = None
# The Kubernetes helm renders for unless a test says otherwise: the suite's cluster's. helm's own
# default comes from link-time flags that a plain `go install` does not set (it says v1.20.0).
with open(os.path.join(ROOT, "tests", "cluster", "k8s", "go.mod"), encoding="utf-8") as f:
    KUBE_VERSION = re.search(r"^require k8s\.io/kubernetes (v\S+)$", f.read(), re.M).group(1)


def setUpModule():
    """helm from tests/cluster/build (a second run answers from its cache in a second)."""
    global HELM, HELM_HOME
    tool("kubectl")
    HELM = built_tool("helm")
    HELM_HOME = tempfile.TemporaryDirectory()


def tearDownModule():
    HELM_HOME.cleanup()


def helm(values, *argv):
    """Real helm, offline: no kubeconfig to reach a cluster with, its config, cache and data in a
    directory of the test's own."""
    home = HELM_HOME.name
    env = dict(os.environ, KUBECONFIG=os.path.join(home, "no-kubeconfig"), HELM_CONFIG_HOME=home + "/config",
               HELM_CACHE_HOME=home + "/cache", HELM_DATA_HOME=home + "/data")
    if "--kube-version" not in argv:
        argv += ("--kube-version", KUBE_VERSION)
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
        yaml.safe_dump(values or {}, f)
        f.flush()
        return subprocess.run([HELM, *argv, "-f", f.name], env=env, capture_output=True, text=True, timeout=60)


def docs(text):
    return [d for d in yaml.safe_load_all(text) if d]


def kustomize(rel):
    p = subprocess.run([tool("kubectl"), "kustomize", os.path.join(DEPLOY, rel)],
                       capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise AssertionError(f"kubectl kustomize deploy/{rel} failed:\n{p.stderr}")
    return docs(p.stdout)


def render(values=None, *args, name="seccompd", namespace=NS, check=True):
    """The chart as `helm template NAME charts/seccompd -n NS -f VALUES ARGS...` renders it."""
    p = helm(values, "template", name, CHART, "-n", namespace, *args)
    if not check:
        return p
    if p.returncode != 0:
        raise AssertionError(f"rendering the chart with {values} failed:\n{p.stderr}")
    return docs(p.stdout)


# helm renders NOTES.txt in the same template set as the manifests, but prints it only from
# `helm install`, which needs a cluster even with --dry-run=client (helm 3.19: Install.RunWithContext
# checks that the cluster is reachable, reads its discovery and looks up every object unless in
# `helm template`'s client-only mode). So a copy of the chart gets one more template that
# includes NOTES.txt, and `helm template` prints it.
NOTES_PROBE = """apiVersion: v1
kind: ConfigMap
metadata:
  name: notes-probe
data:
  NOTES.txt: {{ include "seccompd/templates/NOTES.txt" . | toJson }}
"""


def notes(values=None, name="seccompd", namespace=NS):
    """NOTES.txt as `helm install NAME charts/seccompd -n NS -f VALUES` prints it."""
    with tempfile.TemporaryDirectory() as d:
        chart = os.path.join(d, "seccompd")
        shutil.copytree(CHART, chart)
        with open(os.path.join(chart, "templates", "notes-probe.yaml"), "w", encoding="utf-8") as f:
            f.write(NOTES_PROBE)
        p = helm(values, "template", name, chart, "-n", namespace, "--show-only", "templates/notes-probe.yaml")
    if p.returncode != 0:
        raise AssertionError(f"rendering NOTES.txt with {values} failed:\n{p.stderr}")
    (cm,) = docs(p.stdout)
    return cm["data"]["NOTES.txt"]


def index(objs):
    out = {}
    for o in objs:
        key = (o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"])
        assert key not in out, f"{key} twice"
        out[key] = o
    return out


def one(objs, kind, name=None, namespace=None):
    found = [o for o in objs if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)
             and (namespace is None or o["metadata"].get("namespace") == namespace)]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def container(objs):
    ds = one(objs, "DaemonSet", "seccompd")
    (c,) = ds["spec"]["template"]["spec"]["containers"]
    return c


def args(objs):
    return container(objs)["args"]


def rule(resources, verbs):
    return {"apiGroups": [""], "resources": resources, "verbs": verbs}


class Base(unittest.TestCase):
    """`kubectl apply -k deploy/`."""

    @classmethod
    def setUpClass(cls):
        cls.objs = kustomize(".")
        cls.ds = one(cls.objs, "DaemonSet", "seccompd", NS)
        cls.pod = cls.ds["spec"]["template"]["spec"]
        cls.c = container(cls.objs)

    def test_exactly_these_objects(self):
        self.assertEqual(sorted(index(self.objs)), sorted([
            ("Namespace", None, NS), ("ServiceAccount", NS, "seccompd"), ("Role", NS, "seccompd"),
            ("RoleBinding", NS, "seccompd"), ("ResourceQuota", NS, "seccompd-critical-pods"),
            ("DaemonSet", NS, "seccompd")]))

    def test_namespace_admits_a_hostpath(self):
        labels = one(self.objs, "Namespace")["metadata"]["labels"]
        self.assertEqual(labels["pod-security.kubernetes.io/enforce"], "privileged")

    def test_rbac_is_read_configmaps_and_create_events_in_its_namespace(self):
        role = one(self.objs, "Role", "seccompd", NS)
        self.assertEqual(role["rules"], [rule(["configmaps"], READ), rule(["events"], ["create"])])
        rb = one(self.objs, "RoleBinding", "seccompd", NS)
        self.assertEqual(rb["roleRef"], {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "seccompd"})
        self.assertEqual(rb["subjects"], [{"kind": "ServiceAccount", "name": "seccompd", "namespace": NS}])
        self.assertEqual(self.pod["serviceAccountName"], "seccompd")
        self.assertFalse([o for o in self.objs if o["kind"] in ("ClusterRole", "ClusterRoleBinding")])

    def test_only_the_seccomp_directory_from_the_host(self):
        self.assertEqual(self.pod["volumes"], [
            {"name": "seccomp", "hostPath": {"path": SEAT, "type": "DirectoryOrCreate"}}])
        self.assertEqual(self.c["volumeMounts"], [{"name": "seccomp", "mountPath": SEAT}])
        self.assertIn(f"--root={SEAT}", self.c["args"])
        for key in ("hostNetwork", "hostPID", "hostIPC"):
            self.assertFalse(self.pod.get(key), key)

    def test_confined_root_without_capabilities(self):
        sc = self.c["securityContext"]
        self.assertEqual(sc["runAsUser"], 0)
        self.assertEqual(sc["capabilities"], {"drop": ["ALL"]})
        self.assertTrue(sc["readOnlyRootFilesystem"])
        self.assertFalse(sc["allowPrivilegeEscalation"])
        self.assertFalse(sc.get("privileged", False))
        profile = sc.get("seccompProfile") or self.pod["securityContext"]["seccompProfile"]
        self.assertEqual(profile, {"type": "RuntimeDefault"})

    def test_token_only_for_the_pod(self):
        self.assertIs(one(self.objs, "ServiceAccount")["automountServiceAccountToken"], False)
        self.assertIs(self.pod["automountServiceAccountToken"], True)

    def test_node_and_namespace_from_the_downward_api(self):
        env = {e["name"]: e["valueFrom"]["fieldRef"]["fieldPath"] for e in self.c["env"]}
        self.assertEqual(env, {"NODE_NAME": "spec.nodeName", "POD_NAMESPACE": "metadata.namespace"})

    def test_probes_hit_readyz_and_healthz_on_the_listen_port(self):
        listen = [a for a in self.c["args"] if a.startswith("--listen=")]
        self.assertEqual(listen, ["--listen=:9464"])
        ports = {p["name"]: p["containerPort"] for p in self.c["ports"]}
        for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
            get = self.c[probe]["httpGet"]
            self.assertEqual(get["path"], path)
            port = ports.get(get["port"], get["port"])
            self.assertEqual(port, 9464, probe)

    def test_runs_the_daemon_from_the_kube_source(self):
        self.assertEqual(self.c["command"], ["/usr/bin/seccompd"])
        self.assertEqual(self.c["args"][:2], ["run", "--source=kube"])
        self.assertNotIn("--recording-profile", self.c["args"])  # only with the recorder
        self.assertIn("--log-format=text", self.c["args"])
        self.assertRegex(self.c["image"], r"^ghcr\.io/seccompd/seccompd:\d+\.\d+\.\d+$")

    def test_every_node_whatever_its_taints_but_only_real_linux_nodes(self):
        self.assertIn({"operator": "Exists"}, self.pod["tolerations"])
        terms = self.pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
        self.assertEqual(len(terms), 1)
        exprs = {e["key"]: (e["operator"], e["values"]) for e in terms[0]["matchExpressions"]}
        self.assertEqual(exprs, {
            "kubernetes.io/os": ("In", ["linux"]),
            "type": ("NotIn", ["virtual-kubelet"]),
            "eks.amazonaws.com/compute-type": ("NotIn", ["fargate"]),
        })

    def test_resources_priority_and_the_quota_gke_needs(self):
        self.assertEqual(self.c["resources"], {"requests": {"cpu": "10m", "memory": "24Mi"},
                                               "limits": {"memory": "64Mi"}})
        self.assertEqual(self.pod["priorityClassName"], "system-node-critical")
        quota = one(self.objs, "ResourceQuota")
        self.assertEqual(quota["spec"]["scopeSelector"]["matchExpressions"], [
            {"scopeName": "PriorityClass", "operator": "In", "values": ["system-node-critical"]}])
        self.assertIn("pods", quota["spec"]["hard"])

    def test_rolling_update(self):
        s = self.ds["spec"]["updateStrategy"]
        self.assertEqual(s["type"], "RollingUpdate")
        self.assertEqual(s["rollingUpdate"]["maxUnavailable"], "10%")
        self.assertEqual(self.ds["spec"]["selector"]["matchLabels"],
                         {k: v for k, v in self.ds["spec"]["template"]["metadata"]["labels"].items()})

    def test_image_tag_is_the_charts_app_version(self):
        with open(os.path.join(CHART, "Chart.yaml"), encoding="utf-8") as f:
            app = yaml.safe_load(f)["appVersion"]
        self.assertEqual(self.c["image"], f"ghcr.io/seccompd/seccompd:{app}")


class Overlays(unittest.TestCase):
    def test_every_overlay_and_component_renders(self):
        for d in sorted(os.listdir(os.path.join(DEPLOY, "overlays"))):
            with self.subTest(overlay=d):
                self.assertTrue(kustomize(os.path.join("overlays", d)))
        used = set()
        for d in os.listdir(os.path.join(DEPLOY, "overlays")):
            with open(os.path.join(DEPLOY, "overlays", d, "kustomization.yaml"), encoding="utf-8") as f:
                used.update(os.path.basename(c) for c in yaml.safe_load(f).get("components", []))
        self.assertEqual(used, set(os.listdir(os.path.join(DEPLOY, "components"))),
                         "every component has an overlay that renders it")

    def test_secrets(self):
        objs = kustomize("overlays/secrets")
        self.assertEqual(args(objs)[-1], "--secrets")
        self.assertEqual(one(objs, "Role", "seccompd", NS)["rules"], [
            rule(["configmaps"], READ), rule(["secrets"], READ), rule(["events"], ["create"])])

    def test_node_gating(self):
        objs = kustomize("overlays/node-gating")
        self.assertEqual(args(objs)[-2:], [f"--remove-startup-taint={TAINT}", "--node-condition"])
        cr = one(objs, "ClusterRole", "seccompd-node-gating")
        self.assertEqual(cr["rules"], [rule(["nodes"], ["get", "patch"]), rule(["nodes/status"], ["patch"])])
        crb = one(objs, "ClusterRoleBinding", "seccompd-node-gating")
        self.assertEqual(crb["roleRef"]["name"], "seccompd-node-gating")
        self.assertEqual(crb["subjects"], [{"kind": "ServiceAccount", "name": "seccompd", "namespace": NS}])
        # The pod tolerates the taint it removes.
        tolerations = one(objs, "DaemonSet")["spec"]["template"]["spec"]["tolerations"]
        self.assertTrue(any(t.get("operator") == "Exists" and not t.get("key") or t.get("key") == TAINT
                            for t in tolerations))

    def test_node_condition(self):
        objs = kustomize("overlays/node-condition")
        self.assertEqual(args(objs)[-1], "--node-condition")
        self.assertNotIn("--remove-startup-taint", " ".join(args(objs)))
        # seccompd reads its node before patching its status (daemon/kube-node.c): get, never patch, nodes.
        cr = one(objs, "ClusterRole", "seccompd-node-gating")
        self.assertEqual(cr["rules"], [rule(["nodes"], ["get"]), rule(["nodes/status"], ["patch"])])
        crb = one(objs, "ClusterRoleBinding", "seccompd-node-gating")
        self.assertEqual(crb["roleRef"]["name"], "seccompd-node-gating")
        self.assertEqual(crb["subjects"], [{"kind": "ServiceAccount", "name": "seccompd", "namespace": NS}])

    def test_node_gating_admission_policy_scopes_seccompd_to_its_own_node(self):
        for overlay in ("overlays/node-gating", "overlays/node-condition"):
            with self.subTest(overlay=overlay):
                self.check_own_node_only(kustomize(overlay))

    def check_own_node_only(self, objs):
        vap = one(objs, "ValidatingAdmissionPolicy", "seccompd-own-node-only")
        spec = vap["spec"]
        self.assertEqual(vap["apiVersion"], "admissionregistration.k8s.io/v1")
        self.assertEqual(spec["failurePolicy"], "Fail")
        (rr,) = spec["matchConstraints"]["resourceRules"]
        self.assertEqual(rr["operations"], ["UPDATE"])  # a PATCH is admitted as an UPDATE
        self.assertEqual(sorted(rr["resources"]), ["nodes", "nodes/status"])
        (cond,) = spec["matchConditions"]
        self.assertIn(f"'system:serviceaccount:{NS}:seccompd'", cond["expression"])
        self.assertIn("request.userInfo.username", cond["expression"])
        (v,) = spec["validations"]
        self.assertIn(f"request.userInfo.extra['{NODE_NAME_EXTRA}']", v["expression"])
        self.assertIn("object.metadata.name", v["expression"])
        binding = one(objs, "ValidatingAdmissionPolicyBinding", "seccompd-own-node-only")
        self.assertEqual(binding["spec"], {"policyName": "seccompd-own-node-only", "validationActions": ["Deny"]})

    def test_tenants(self):
        objs = kustomize("overlays/tenants")
        # With a tenant, seccompd watches its own namespace only when given with --namespace.
        self.assertEqual(args(objs)[-2:], ["--namespace=$(POD_NAMESPACE)", "--tenant-namespace=team-a"])
        self.assertEqual(one(objs, "Role", "seccompd", "team-a")["rules"],
                         [rule(["configmaps"], READ), rule(["events"], ["create"])])
        rb = one(objs, "RoleBinding", "seccompd", "team-a")
        self.assertEqual(rb["subjects"], [{"kind": "ServiceAccount", "name": "seccompd", "namespace": NS}])

    def test_all_components_together(self):
        objs = kustomize("overlays/all")
        for ns in (NS, "team-a"):
            self.assertEqual(one(objs, "Role", "seccompd", ns)["rules"], [
                rule(["configmaps"], READ), rule(["secrets"], READ), rule(["events"], ["create"])])

    def test_kubelet_roots(self):
        for overlay, root in (("k0s", "/var/lib/k0s/kubelet"),
                              ("microk8s", "/var/snap/microk8s/common/var/lib/kubelet")):
            with self.subTest(overlay=overlay):
                pod = one(kustomize("overlays/" + overlay), "DaemonSet")["spec"]["template"]["spec"]
                self.assertEqual(pod["volumes"], [{"name": "seccomp", "hostPath": {
                    "path": root + "/seccomp", "type": "DirectoryOrCreate"}}])
                # The container's side does not move.
                self.assertEqual(pod["containers"][0]["volumeMounts"][0]["mountPath"], SEAT)

    def test_every_flag_is_one_the_daemon_has(self):
        p = subprocess.run([SECCOMPD, "run", "--help"], capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        known = set(re.findall(r"--[a-z][a-z-]*", p.stdout))
        self.assertIn("--tenant-namespace", known)
        for overlay in [".", *("overlays/" + d for d in os.listdir(os.path.join(DEPLOY, "overlays")))]:
            for a in args(kustomize(overlay))[1:]:
                with self.subTest(overlay=overlay, arg=a):
                    self.assertIn(a.split("=", 1)[0], known)


RECORDER = "seccompd-recorder"
RECORDER_SECURITY_CONTEXT = {
    "runAsUser": 0, "runAsNonRoot": False, "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
    "privileged": False, "capabilities": {"drop": ["ALL"], "add": ["AUDIT_READ", "AUDIT_WRITE"]}}


def recorder_objects(objs):
    return [o for o in objs if "recorder" in o["metadata"]["name"]
            or "recorder" in o["metadata"].get("labels", {}).get("app.kubernetes.io/name", "")]


class Recorder(unittest.TestCase):
    """The recorder agent, from components/recorder and from the chart's recorder.enabled: exactly the
    privileges docs/deploy.md explains, nothing more; and nothing of it without them."""

    def check(self, objs, ns=NS, name=RECORDER, main="seccompd"):
        self.assertEqual(sorted((o["kind"], o["metadata"].get("namespace")) for o in recorder_objects(objs)),
                         sorted([("ServiceAccount", ns), ("ClusterRole", None), ("ClusterRoleBinding", None),
                                 ("Role", ns), ("RoleBinding", ns), ("DaemonSet", ns)]))
        for o in recorder_objects(objs):
            self.assertEqual(o["metadata"]["name"], name)
        sa = one(objs, "ServiceAccount", name, ns)
        self.assertIs(sa["automountServiceAccountToken"], False)
        subject = [{"kind": "ServiceAccount", "name": name, "namespace": ns}]

        # RBAC: exactly these rules, no other verb, resource or group (no secrets, no wildcard).
        self.assertEqual(one(objs, "ClusterRole", name)["rules"],
                         [rule(["pods"], ["get", "list", "watch"]), rule(["events"], ["create"])])
        self.assertEqual(one(objs, "Role", name, ns)["rules"],
                         [rule(["configmaps"], ["create", "get", "update", "patch"])])
        for kind, role in (("ClusterRoleBinding", "ClusterRole"), ("RoleBinding", "Role")):
            b = one(objs, kind, name)
            self.assertEqual(b["roleRef"], {"apiGroup": "rbac.authorization.k8s.io", "kind": role, "name": name})
            self.assertEqual(b["subjects"], subject)
        # seccompd's own account gains nothing.
        for b in objs:
            if b["kind"] in ("RoleBinding", "ClusterRoleBinding") and b["metadata"]["name"] != name:
                self.assertNotEqual(b["roleRef"]["name"], name)

        ds = one(objs, "DaemonSet", name, ns)
        pod = ds["spec"]["template"]["spec"]
        main_ds = one(objs, "DaemonSet", main, ns)
        main_pod = main_ds["spec"]["template"]["spec"]
        self.assertEqual(pod["serviceAccountName"], name)
        self.assertIs(pod["automountServiceAccountToken"], True)
        self.assertIs(pod["hostNetwork"], True)
        self.assertIs(pod["hostPID"], True)
        self.assertFalse(pod.get("hostIPC"))
        self.assertEqual(pod["dnsPolicy"], "ClusterFirstWithHostNet")
        self.assertEqual(pod["securityContext"], {"seccompProfile": {"type": "RuntimeDefault"}})
        self.assertNotIn("volumes", pod)  # no hostPath, no volume at all
        self.assertEqual(pod["tolerations"], main_pod["tolerations"])
        self.assertIn({"operator": "Exists"}, pod["tolerations"])
        self.assertEqual(pod["affinity"], main_pod["affinity"])
        (c,) = pod["containers"]
        self.assertEqual(c["securityContext"], RECORDER_SECURITY_CONTEXT)
        self.assertEqual(c["image"], main_pod["containers"][0]["image"])
        self.assertEqual(c["command"], ["/usr/bin/seccompd"])
        self.assertEqual(c["args"][0], "recorder")
        env = {e["name"]: e["valueFrom"]["fieldRef"]["fieldPath"] for e in c["env"]}
        self.assertEqual(env, {"NODE_NAME": "spec.nodeName", "POD_NAMESPACE": "metadata.namespace"})
        for key in ("volumeMounts", "ports", "readinessProbe", "livenessProbe", "startupProbe"):
            self.assertNotIn(key, c)  # it serves no HTTP
        self.assertEqual(c["resources"], {"requests": {"cpu": "10m", "memory": "32Mi"},
                                          "limits": {"cpu": "500m", "memory": "64Mi"}})
        # Neither DaemonSet selects the other's pods.
        mine, theirs = ds["spec"]["selector"]["matchLabels"], main_ds["spec"]["selector"]["matchLabels"]
        self.assertEqual(ds["spec"]["template"]["metadata"]["labels"], mine)
        pod_labels = ds["spec"]["template"]["metadata"]["labels"]
        self.assertFalse(all(pod_labels.get(k) == v for k, v in theirs.items()))
        main_labels = main_ds["spec"]["template"]["metadata"]["labels"]
        self.assertFalse(all(main_labels.get(k) == v for k, v in mine.items()))
        # seccompd installs the profile recorded pods run under.
        self.assertEqual(main_pod["containers"][0]["args"].count("--recording-profile"), 1)

    def test_component(self):
        objs = kustomize("overlays/recorder")
        self.check(objs)
        self.assertEqual(args(objs)[-1], "--recording-profile")
        # The rest is the default install, unchanged.
        base = index(kustomize("."))
        got = index(objs)
        for key, obj in base.items():
            if key != ("DaemonSet", NS, "seccompd"):
                self.assertEqual(got[key], obj, key)

    def test_chart(self):
        objs = render({"recorder": {"enabled": True}})
        self.check(objs)
        other = render({"recorder": {"enabled": True}}, name="prof", namespace="security")
        self.check(other, ns="security", name="prof-seccompd-recorder", main="prof-seccompd")
        res = {"requests": {"cpu": "20m", "memory": "48Mi"}, "limits": {"cpu": "1", "memory": "128Mi"}}
        ds = one(render({"recorder": {"enabled": True, "resources": res}}), "DaemonSet", RECORDER)
        self.assertEqual(ds["spec"]["template"]["spec"]["containers"][0]["resources"], res)
        text = notes({"recorder": {"enabled": True}})
        self.assertIn(f"DaemonSet {NS}/{RECORDER}", text)
        self.assertIn("seccompd.io/profile=true", text)
        self.assertIn("confines nothing", text)

    def test_nothing_of_it_without_the_component_or_the_value(self):
        without = [(f"kustomize {o}", kustomize(o)) for o in
                   [".", *("overlays/" + d for d in os.listdir(os.path.join(DEPLOY, "overlays")) if d != "recorder")]]
        without += [(f"chart {v}", render(v)) for v in CHART_VALUES if not v.get("recorder", {}).get("enabled")]
        without.append(("chart recorder.enabled=false", render({"recorder": {"enabled": False}})))
        self.assertTrue(any(what.startswith("chart {}") for what, _ in without))
        for what, objs in without:
            with self.subTest(rendering=what):
                self.assertEqual(recorder_objects(objs), [])
                self.assertNotIn("--recording-profile", args(objs))
                for o in objs:
                    if o["kind"] == "DaemonSet":
                        spec = o["spec"]["template"]["spec"]
                        self.assertFalse(spec.get("hostNetwork") or spec.get("hostPID"), what)


class Examples(unittest.TestCase):
    def test_tutorial_profiles_as_a_labeled_configmap_and_a_pod_that_uses_one(self):
        objs = kustomize("examples")
        cm = one(objs, "ConfigMap", "seccomp-tutorial", NS)
        self.assertEqual(cm["metadata"]["labels"], {"seccompd.io/profile": "true"})
        self.assertEqual(cm["metadata"]["annotations"], {"seccompd.io/directory": "profiles"})
        src = os.path.join(ROOT, "examples", "profiles")
        self.assertEqual(sorted(cm["data"]), sorted(os.listdir(src)))
        for key, text in cm["data"].items():
            with open(os.path.join(src, key), encoding="utf-8") as f:
                self.assertEqual(text, f.read(), f"deploy/examples/profiles/{key} is a copy of examples/profiles/{key}")
        pod = one(objs, "Pod", "fine-pod")
        profile = pod["spec"]["securityContext"]["seccompProfile"]
        self.assertEqual(profile, {"type": "Localhost", "localhostProfile": "profiles/fine-grained.json"})
        directory, key = profile["localhostProfile"].split("/")
        self.assertEqual(directory, cm["metadata"]["annotations"]["seccompd.io/directory"])
        self.assertIn(key, cm["data"])

    def test_seccompd_installs_the_file_the_pod_names(self):
        """The rendered example, read by the daemon itself (a directory source takes the same
        manifests as the API), lands where the pod's localhostProfile points."""
        objs = kustomize("examples")
        want = one(objs, "Pod", "fine-pod")["spec"]["securityContext"]["seccompProfile"]["localhostProfile"]
        with tempfile.TemporaryDirectory() as src, tempfile.TemporaryDirectory() as root:
            with open(os.path.join(src, "examples.yaml"), "w", encoding="utf-8") as f:
                yaml.safe_dump_all([o for o in objs if o["kind"] == "ConfigMap"], f)
            p = subprocess.run([SECCOMPD, "run", "--source", "dir:" + src, "--root", root, "--once"],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr)
            with open(os.path.join(root, want), encoding="utf-8") as f:
                installed = f.read()
        with open(os.path.join(ROOT, "examples", "profiles", os.path.basename(want)), encoding="utf-8") as f:
            self.assertEqual(installed, f.read())


class ChartMatchesDeploy(unittest.TestCase):
    def test_every_overlay_has_its_chart_settings(self):
        self.assertEqual(set(EQUIVALENT) - {"."},
                         {"overlays/" + d for d in os.listdir(os.path.join(DEPLOY, "overlays"))})

    def test_same_objects_for_the_same_settings(self):
        for overlay, values in EQUIVALENT.items():
            with self.subTest(overlay=overlay, values=values):
                want = index(kustomize(overlay))
                # helm installs into a namespace it does not own: the chart has no Namespace.
                del want[("Namespace", None, NS)]
                got = index(render(values))
                self.assertEqual(sorted(got), sorted(want))
                for key in want:
                    self.assertEqual(got[key], want[key], key)


class Chart(unittest.TestCase):
    def test_other_release_and_namespace(self):
        objs = render({}, namespace="security")
        self.assertTrue(all(o["metadata"].get("namespace") == "security" for o in objs))
        self.assertEqual(one(objs, "RoleBinding")["subjects"][0]["namespace"], "security")
        other = render({"nodeGating": {"enabled": True}}, name="prof", namespace="security")
        ds = one(other, "DaemonSet")
        self.assertEqual(ds["metadata"]["name"], "prof-seccompd")
        vap = one(other, "ValidatingAdmissionPolicy")
        self.assertIn("'system:serviceaccount:security:prof-seccompd'",
                      vap["spec"]["matchConditions"][0]["expression"])

    def test_values_reach_the_pod(self):
        objs = render(POD_VALUES)
        c = container(objs)
        self.assertEqual(c["args"], ["run", "--source=kube", f"--root={SEAT}", "--listen=:9500",
                                     "--log-format=json", "--namespace=profiles", "--namespace=more",
                                     "--selector=team=sec", "--runtime=cri-o", "--runc-version=1.2",
                                     "--delete-grace=10m", "--once"])
        self.assertEqual(c["image"], "ghcr.io/seccompd/seccompd:0.2.0")
        self.assertEqual(c["ports"][0]["containerPort"], 9500)
        pod = one(objs, "DaemonSet")["spec"]["template"]["spec"]
        self.assertEqual(pod["nodeSelector"], {"pool": "general"})
        self.assertEqual(sorted(o["metadata"]["namespace"] for o in objs if o["kind"] == "Role"),
                         ["more", "profiles"])

    def test_node_gating_condition_only(self):
        objs = render({"nodeGating": {"enabled": True, "taintKey": ""}})
        self.assertEqual(args(objs)[-1], "--node-condition")
        self.assertNotIn("--remove-startup-taint", " ".join(args(objs)))
        # The status patch follows a GET of the node (daemon/kube-node.c advance()).
        self.assertEqual(one(objs, "ClusterRole")["rules"],
                         [rule(["nodes"], ["get"]), rule(["nodes/status"], ["patch"])])

    def test_admission_policy_needs_kubernetes_1_30(self):
        p = render({"nodeGating": {"enabled": True}}, "--kube-version", "v1.29.4", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("1.30", p.stderr)
        objs = render(NO_ADMISSION_POLICY, "--kube-version", "v1.29.4")
        self.assertFalse([o for o in objs if o["kind"].startswith("ValidatingAdmissionPolicy")])

    def test_service_monitor(self):
        objs = render(SERVICE_MONITOR)
        sm = one(objs, "ServiceMonitor")
        self.assertEqual(sm["metadata"]["labels"]["release"], "prom")
        self.assertEqual(sm["spec"]["endpoints"][0]["port"], "metrics")
        self.assertEqual(sm["spec"]["endpoints"][0]["path"], "/metrics")
        svc = one(objs, "Service")
        self.assertEqual(svc["spec"]["selector"], one(objs, "DaemonSet")["spec"]["selector"]["matchLabels"])

    def test_schema_rejects_bad_values(self):
        # helm (3.18 and later: santhosh-tekuri/jsonschema) names the field as a JSON pointer.
        for values, field in (({"logFormat": "xml"}, "at '/logFormat'"),
                              ({"metrics": {"port": 70000}}, "at '/metrics/port'"),
                              ({"nodeGating": {"enabled": "yes"}}, "at '/nodeGating/enabled'"),
                              ({"tenantNamespaces": ["Team_A"]}, "at '/tenantNamespaces/0'"),
                              ({"kubeletRoot": "var/lib/kubelet"}, "at '/kubeletRoot'"),
                              ({"recorder": {"enabled": "true"}}, "at '/recorder/enabled'"),
                              ({"recorder": {"enable": True}}, "additional properties 'enable' not allowed"),
                              ({"secret": True}, "additional properties 'secret' not allowed")):
            with self.subTest(values=values):
                p = render(values, check=False)
                self.assertNotEqual(p.returncode, 0)
                self.assertIn("values don't meet the specifications of the schema", p.stderr)
                self.assertIn(field, p.stderr)

    def test_helm_lint_strict(self):
        """The release workflow lints before it packages: a tag must not be the first to find out."""
        for values in ({}, {"nodeGating": {"enabled": True}, "secrets": True, "tenantNamespaces": ["team-a"]},
                       {"metrics": {"serviceMonitor": {"enabled": True}}}, {"recorder": {"enabled": True}}):
            with self.subTest(values=values):
                p = helm(values, "lint", "--strict", CHART)
                self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_schema_is_json_and_values_yaml_follows_it(self):
        with open(os.path.join(CHART, "values.schema.json"), encoding="utf-8") as f:
            schema = json.load(f)
        with open(os.path.join(CHART, "values.yaml"), encoding="utf-8") as f:
            values = yaml.safe_load(f)
        self.assertEqual(set(values) - {"global"}, set(schema["properties"]) - {"global"})
        self.assertIs(schema["additionalProperties"], False)

    def test_notes_tell_how_to_check_rollout_and_readiness(self):
        text = notes({"nodeGating": {"enabled": True}})
        self.assertIn(f"kubectl -n {NS} rollout status daemonset/seccompd", text)
        self.assertIn("/readyz", text)
        self.assertIn(TAINT, text)


class Docs(unittest.TestCase):
    def test_every_kustomization_the_docs_apply_exists_and_renders(self):
        with open(os.path.join(ROOT, "docs", "deploy.md"), encoding="utf-8") as f:
            text = f.read()
        paths = set(re.findall(r"kubectl apply -k (deploy/[\w/.-]*)", text))
        self.assertIn("deploy/", paths)
        for d in os.listdir(os.path.join(DEPLOY, "overlays")):
            self.assertIn(f"deploy/overlays/{d}", paths, f"docs/deploy.md does not show overlays/{d}")
        for p in paths:
            with self.subTest(path=p):
                self.assertTrue(kustomize(os.path.relpath(os.path.join(ROOT, p), DEPLOY)))
        self.assertIn("helm install seccompd charts/seccompd -n seccompd-system --create-namespace", text)

    def test_your_own_registry_reaches_the_pod_both_ways(self):
        """docs/deploy.md's kustomization with `images:` and its helm --set for another registry
        run the same image (a wrong `name:` there would leave ghcr.io's silently)."""
        with open(os.path.join(ROOT, "docs", "deploy.md"), encoding="utf-8") as f:
            text = f.read()
        (kust,) = [k for k in re.findall(r"cat > my-seccompd/kustomization.yaml <<'EOF'\n(.*?\n)EOF\n", text, re.S)
                   if "images:" in k]
        (image,) = yaml.safe_load(kust)["images"]
        want = f"{image['newName']}:{image['newTag']}"
        self.assertNotIn("ghcr.io", want)
        with tempfile.TemporaryDirectory() as d:
            os.mkdir(os.path.join(d, "my-seccompd"))
            os.symlink(DEPLOY, os.path.join(d, "deploy"))
            with open(os.path.join(d, "my-seccompd", "kustomization.yaml"), "w", encoding="utf-8") as f:
                f.write(kust)
            self.assertEqual(container(kustomize(os.path.join(d, "my-seccompd")))["image"], want)
        (cmd,) = re.findall(r"^helm install seccompd charts/seccompd .*--set image\.repository=.*$", text, re.M)
        sets = re.findall(r"--set (\S+)", cmd)
        self.assertEqual(container(render({}, *(a for v in sets for a in ("--set", v))))["image"], want)


if __name__ == "__main__":
    unittest.main()
