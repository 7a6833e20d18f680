#!/usr/bin/env python3
"""seccompd run --source kube, end to end: the real binary against our test API server (itself
cross-checked with kubectl in test_apiserver.py), objects changed with the real kubectl, files checked
on disk. Synchronised on the daemon's sd_notify messages and the server's request log, never on
sleeps. Protocol timers are compressed with SECCOMPD_TEST_TIME_SCALE."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

SECCOMPD = os.environ["SECCOMPD"]
ROOT = os.environ["SOURCE_ROOT"]
sys.path.insert(0, os.path.join(ROOT, "tests", "kube"))
from apiserver import ApiServer  # noqa: E402
from harness import Daemon, configmap, fill_disk, free_port, http_get, profile, read  # noqa: E402

KUBECTL = shutil.which("kubectl")
SCALE = "0.01"  # 300-600 s watches last 3-6 s; backoff starts at 8 ms
STARTUP_TAINT = "startup-taint.cluster-autoscaler.kubernetes.io/seccompd-not-ready"


def keys_only(name, size, key_len=253):
    """A ConfigMap of about size bytes made only of keys: the API server counts values, not keys,
    toward its 1 MiB limit, so only etcd's 1.5 MiB request limit bounds such an object."""
    return configmap(name, {f"{i:0{key_len}d}": "" for i in range(size // (key_len + 6))})


def vm_hwm(pid):
    """Peak resident memory in KiB."""
    with open(f"/proc/{pid}/status") as f:
        return int(next(line for line in f if line.startswith("VmHWM:")).split()[1])


def from_seccompd(request):
    return request["headers"].get("User-Agent", "").startswith("seccompd/")


class Node(Daemon):
    """One seccompd, as on one node: its own root, notify socket and HTTP port, under home."""

    def __init__(self, srv, home, name="node-1", kubeconfig=None, extra=(), root=None, scale=SCALE):
        self.root = root or f"{home}/root"
        self.port = free_port()
        super().__init__(["--source", "kube", "--kubeconfig", kubeconfig or srv.kubeconfig_path,
                          "--namespace", "default", "--root", self.root, "--listen", f"127.0.0.1:{self.port}",
                          "--log-format", "json", *extra],
                         env={"SECCOMPD_TEST_TIME_SCALE": scale, "NODE_NAME": name, "KUBECONFIG": None}, dir=home)

    def file(self, rel):
        return read(f"{self.root}/{rel}")

    def get(self, path):
        return http_get(self.port, path)

    def metric(self, name, labels=""):
        """The value of one sample of /metrics, None when it is not there."""
        want = f"{name}{{{labels}}}" if labels else name
        for line in self.get("/metrics")[1].splitlines():
            if line.split(" ")[0] == want:
                return float(line.split(" ")[1])
        return None

    def until_events_settled(self, timeout=None):
        """Until no Event POST is in flight or waiting: what the server counted then is all there will
        be. A POST ending makes no sync, so each look waits for one that SIGHUP asks for (which posts
        nothing: every Event is wanted once per version), never on a sleep."""
        deadline = self._deadline(timeout)
        while not (self.metric("seccompd_kube_events_in_flight") == 0
                   and self.metric("seccompd_kube_events_waiting") == 0):
            self.proc.send_signal(signal.SIGHUP)
            self.next_sync(max(deadline - time.monotonic(), 0.001))


class KubeCase(unittest.TestCase):
    def setUp(self):
        self.assertIsNotNone(KUBECTL, "kubectl (>= 1.32) must be on PATH: these tests do not skip")
        self.tmp = tempfile.mkdtemp()
        self.srv = ApiServer(f"{self.tmp}/srv")
        self.srv.start()
        self.srv.kubeconfig_path = self.srv.kubeconfig(f"{self.tmp}/kubeconfig", user="token")
        self.nodes = []

    def tearDown(self):
        for n in self.nodes:
            if n.running():
                self.assertEqual(n.stop(), 0, n.log_tail())
            n.close()
        self.srv.stop()
        shutil.rmtree(self.tmp)

    def node(self, **kw):
        n = Node(self.srv, tempfile.mkdtemp(dir=self.tmp), **kw)
        self.nodes.append(n)
        return n

    def kubectl(self, *args, input=None, check=True):
        r = subprocess.run([KUBECTL, "--kubeconfig", self.srv.kubeconfig_path, "--cache-dir", f"{self.tmp}/cache",
                            *args], input=input, capture_output=True, text=True, timeout=60)
        if check:
            self.assertEqual(r.returncode, 0, r.stderr)
        return r

    def apply(self, obj):
        return self.kubectl("apply", "--validate=false", "-f", "-", input=json.dumps(obj))

    def events(self, reason, namespace="default"):
        out = self.kubectl("get", "events", "-n", namespace, "-o", "json").stdout
        return [e for e in json.loads(out)["items"] if e.get("reason") == reason]

    def created_events(self):
        """Events the server created (201): each name once; another node's, or a repeat, gets 409."""
        return self.srv.count(method="POST", resource="events", status=201)


class Lifecycle(KubeCase):
    def test_create_update_relabel_delete(self):
        self.apply(configmap("web", {"web.json": profile(1), "db.json": profile(2)},
                             annotations={"seccompd.io/directory": "profiles"}))
        n = self.node()
        n.ready()
        self.assertEqual(n.file("profiles/web.json"), profile(1))
        self.assertEqual(n.file("profiles/db.json"), profile(2))
        status, body = n.get("/readyz")
        self.assertEqual(status, 200, body)

        self.apply(configmap("web", {"web.json": profile(1, 1), "db.json": profile(2)},
                             annotations={"seccompd.io/directory": "profiles"}))
        n.until(lambda: n.file("profiles/web.json") == profile(1, 1))

        # Out of the selector: the server sends DELETED with the previous object; the files go.
        self.kubectl("label", "configmap", "web", "seccompd.io/profile=false", "--overwrite")
        n.until(lambda: n.file("profiles/web.json") is None and n.file("profiles/db.json") is None)
        self.kubectl("label", "configmap", "web", "seccompd.io/profile=true", "--overwrite")
        n.until(lambda: n.file("profiles/web.json") == profile(1, 1))

        self.kubectl("delete", "configmap", "web")
        n.until(lambda: n.file("profiles/web.json") is None)
        # Deleted and recreated under the same name: a new UID, installed again.
        self.apply(configmap("web", {"web.json": profile(1, 2)}))
        n.until(lambda: n.file("web.json") == profile(1, 2))

        status, metrics = n.get("/metrics")
        self.assertEqual(status, 200)
        self.assertIn('seccompd_profiles{state="installed"} 1', metrics)
        status, body = n.get("/healthz")
        self.assertEqual(status, 200)

    def test_drift_is_repaired(self):
        """Finding 1 of issue 12: a managed file deleted or overwritten stayed wrong with --source kube
        (the entries were trusted after the first sync, and the bytes dropped). Drift (inotify), and
        SIGHUP, now make a sync that trusts nothing and lists the object again for its bytes."""
        self.apply(configmap("web", {"web.json": profile(1)}, annotations={"seccompd.io/directory": "d"}))
        n = self.node()
        n.ready()
        self.assertEqual(n.file("d/web.json"), profile(1))
        path = f"{n.root}/d/web.json"
        with open(path, "w") as f:
            f.write('{"defaultAction":"SCMP_ACT_ALLOW"}')
        n.until(lambda: n.file("d/web.json") == profile(1))
        os.unlink(path)
        n.until(lambda: n.file("d/web.json") == profile(1))
        self.assertIn("repaired", n.log_text())
        # Changed behind inotify's back, through a hard link elsewhere (a directory watch sees only
        # what is done through its own names): SIGHUP looks at everything.
        link = f"{self.tmp}/elsewhere"
        os.link(path, link)
        with open(link, "w") as f:
            f.write('{"defaultAction":"SCMP_ACT_ALLOW"}')
        self.assertEqual(n.file("d/web.json"), '{"defaultAction":"SCMP_ACT_ALLOW"}')
        n.proc.send_signal(signal.SIGHUP)
        n.until(lambda: n.file("d/web.json") == profile(1))

    def test_failing_installs_make_the_node_not_ready_until_retried(self):
        """Finding 11 of issue 12: /readyz stayed 200 while installs failed (a full disk), and the
        failed install was never tried again. Now /readyz says what fails, a metric counts it, and the
        install is retried with backoff until it lands."""
        self.assertEqual(os.geteuid(), 0, "this test mounts a small tmpfs: run the suite as root, as CI does")
        self.apply(configmap("web", {"web.json": profile(1)}))
        home = tempfile.mkdtemp(dir=self.tmp)
        os.makedirs(f"{home}/root")
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", f"{home}/root"], check=True)
        n = Node(self.srv, home)  # started on the small disk
        self.nodes.append(n)
        try:
            n.ready()
            filler = fill_disk(f"{n.root}/other")
            big = profile(1, 1) + " " * 20000
            self.apply(configmap("web", {"web.json": big}))
            n.wait_status(lambda st: "1 failed" in st)
            status, body = n.get("/readyz")
            self.assertEqual(status, 503, body)
            self.assertIn("1 profile cannot be installed", body)
            self.assertIn("web.json", body)
            self.assertIn('seccompd_profiles{state="failed"} 1', n.get("/metrics")[1])
            self.assertEqual(n.file("web.json"), profile(1))
            os.unlink(filler)
            n.until(lambda: n.file("web.json") == big)
            self.assertEqual(n.get("/readyz")[0], 200)
            self.assertEqual(n.stop(), 0)
        finally:
            if n.running():
                n.stop()
            subprocess.run(["umount", n.root], check=True)

    def test_secrets_only_with_the_flag(self):
        self.kubectl("create", "secret", "generic", "sec", f"--from-literal=s.json={profile(5)}")
        self.kubectl("label", "secret", "sec", "seccompd.io/profile=true")
        self.apply(configmap("cm", {"c.json": profile(6)}))
        plain = self.node(name="plain")
        plain.ready()
        self.assertIsNone(plain.file("s.json"))
        self.assertEqual([r for r in self.srv.requests if r["resource"] == "secrets" and from_seccompd(r)], [])
        with_secrets = self.node(name="secrets", extra=("--secrets",))
        with_secrets.ready()
        self.assertEqual(with_secrets.file("s.json"), profile(5))
        self.assertEqual(with_secrets.file("c.json"), profile(6))

    def test_once(self):
        self.apply(configmap("one", {"a.json": profile(1)}))
        root = f"{self.tmp}/once-root"
        r = subprocess.run([SECCOMPD, "run", "--source", "kube", "--kubeconfig", self.srv.kubeconfig_path,
                            "--namespace", "default", "--root", root, "--once"], capture_output=True, text=True,
                           timeout=60, env=dict(os.environ, SECCOMPD_TEST_TIME_SCALE=SCALE))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(read(f"{root}/a.json"), profile(1))

    def test_once_value_with_nul_not_used(self):
        """Finding 15: a value holding "\\u0000" was cut at the NUL (strlen), so what was validated and
        installed was less than the object held. The key is refused, as in a manifest."""
        self.srv.apply(configmap("nul", {"nul.json": profile(1) + "\0" + "junk", "ok.json": profile(2)}))
        root = f"{self.tmp}/once-root"
        r = subprocess.run([SECCOMPD, "run", "--source", "kube", "--kubeconfig", self.srv.kubeconfig_path,
                            "--namespace", "default", "--root", root, "--once"], capture_output=True, text=True,
                           timeout=60, env=dict(os.environ, SECCOMPD_TEST_TIME_SCALE=SCALE))
        self.assertEqual(read(f"{root}/ok.json"), profile(2), r.stderr)
        self.assertIsNone(read(f"{root}/nul.json"))
        self.assertIn("ConfigMap default/nul: data[nul.json]: the value holds a NUL byte; not used path=nul.json",
                      r.stderr)

    def test_once_symlink_on_a_target_is_a_conflict(self):
        """A symlink planted where a profile goes: exit 1 (in conflict), not 3 (failing disk), the other
        profile installed and the symlink left alone."""
        self.apply(configmap("one", {"a.json": profile(1), "taken.json": profile(2)}))
        root = f"{self.tmp}/once-root"
        os.makedirs(root)
        os.symlink(f"{self.tmp}/victim", f"{root}/taken.json")
        r = subprocess.run([SECCOMPD, "run", "--source", "kube", "--kubeconfig", self.srv.kubeconfig_path,
                            "--namespace", "default", "--root", root, "--once"], capture_output=True, text=True,
                           timeout=60, env=dict(os.environ, SECCOMPD_TEST_TIME_SCALE=SCALE))
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertEqual(read(f"{root}/a.json"), profile(1))
        self.assertEqual(os.readlink(f"{root}/taken.json"), f"{self.tmp}/victim")
        self.assertFalse(os.path.lexists(f"{self.tmp}/victim"))
        self.assertRegex(r.stderr, r"taken\.json: conflict: a symlink .*; not installed")

    def test_configuration_errors(self):
        bad = f"{self.tmp}/exec-kubeconfig"
        with open(bad, "w") as f:
            f.write(f"""apiVersion: v1
kind: Config
current-context: c
contexts: [{{name: c, context: {{cluster: k, user: u}}}}]
clusters: [{{name: k, cluster: {{server: "{self.srv.url}", certificate-authority: "{self.srv.ca_file}"}}}}]
users: [{{name: u, user: {{exec: {{apiVersion: client.authentication.k8s.io/v1beta1, command: aws}}}}}}]
""")
        r = subprocess.run([SECCOMPD, "run", "--source", "kube", "--kubeconfig", bad, "--namespace", "default",
                            "--root", f"{self.tmp}/r"], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 2)
        self.assertIn("exec", r.stderr)
        self.assertIn('"u"', r.stderr)


    def test_removal_blocked_by_a_symlink_is_logged(self):
        """A profile leaves the source while a symlink stands where its directory was: nothing is
        followed or removed, and the conflict is logged although no Event names it."""
        self.apply(configmap("d", {"p.json": profile(1)}, annotations={"seccompd.io/directory": "d"}))
        n = self.node()
        n.ready()
        self.assertEqual(n.file("d/p.json"), profile(1))
        elsewhere = f"{self.tmp}/elsewhere"
        os.mkdir(elsewhere)
        with open(f"{elsewhere}/p.json", "w") as f:
            f.write("PRECIOUS")
        shutil.rmtree(f"{n.root}/d")
        os.symlink(elsewhere, f"{n.root}/d")
        self.kubectl("delete", "configmap", "d")
        n.until(lambda: any(l.get("path") == "d/p.json" and l["msg"].startswith("conflict: a symlink")
                            for l in n.log_lines()))
        self.assertEqual(read(f"{elsewhere}/p.json"), "PRECIOUS")
        self.assertEqual(os.readlink(f"{n.root}/d"), elsewhere)

    def test_kubeconfig_from_the_environment(self):
        """KUBECONFIG names one file. kubectl merges a ':'-separated list; seccompd reads one file and
        refuses a list (a usage error, before the node is touched) rather than read part of it.
        --kubeconfig wins over KUBECONFIG, as with kubectl."""
        self.apply(configmap("one", {"a.json": profile(1)}))
        env = {k: v for k, v in os.environ.items() if not k.startswith("KUBE")}
        env["SECCOMPD_TEST_TIME_SCALE"] = SCALE

        def once(root, *extra, kubeconfig):
            return subprocess.run([SECCOMPD, "run", "--source", "kube", "--namespace", "default", "--root", root,
                                   "--once", *extra], capture_output=True, text=True, timeout=60,
                                  env=dict(env, KUBECONFIG=kubeconfig))

        listed = f"{self.srv.kubeconfig_path}:{self.tmp}/other-kubeconfig"
        r = once(f"{self.tmp}/r1", kubeconfig=listed)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(f'KUBECONFIG="{listed}" lists several files: seccompd reads one kubeconfig file', r.stderr)
        self.assertFalse(os.path.exists(f"{self.tmp}/r1"))

        r = once(f"{self.tmp}/r2", kubeconfig=self.srv.kubeconfig_path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(read(f"{self.tmp}/r2/a.json"), profile(1))

        r = once(f"{self.tmp}/r3", "--kubeconfig", self.srv.kubeconfig_path, kubeconfig=listed)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(read(f"{self.tmp}/r3/a.json"), profile(1))


class Reporting(KubeCase):
    def test_invalid_update_keeps_last_good_and_one_event_for_many_nodes(self):
        self.apply(configmap("p", {"p.json": profile(1)}))
        nodes = [self.node(name=f"node-{i}") for i in range(3)]
        for n in nodes:
            n.ready()
        self.apply(configmap("p", {"p.json": '{"defaultAction": "SCMP_ACT_NOPE"}'}))
        self.srv.wait_for_request(lambda r: r["method"] == "POST" and r["path"].endswith("/events"), timeout=30)
        for n in nodes:
            n.until(lambda: any("invalid update rejected" in l.get("msg", "")
                                for l in n.log_lines()))
            self.assertEqual(n.file("p.json"), profile(1))
        # Every node posts the same deterministic name: one Event, the others get 409.
        self.srv.wait_for_request(lambda r: r["method"] == "POST" and r["path"].endswith("/events")
                                  and self.srv.count(method="POST", resource="events") >= 3, timeout=30)
        events = self.events("ProfileRejected")
        self.assertEqual(len(events), 1, events)
        self.assertEqual(events[0]["involvedObject"]["name"], "p")
        self.assertIn("SCMP_ACT_NOPE", events[0]["message"])
        self.assertLessEqual(len(events[0]["message"]), 1024)

    def test_conflict_oldest_wins(self):
        # The older object wins even though its name sorts last.
        self.apply(configmap("zz-old", {"same.json": profile(1)}))
        born = self.srv.get("ConfigMap", "default", "zz-old")["metadata"]["creationTimestamp"]
        deadline = time.monotonic() + 10
        while True:  # creationTimestamp has whole seconds: recreate until the second has moved on
            self.apply(configmap("aa-new", {"same.json": profile(2)}))
            if self.srv.get("ConfigMap", "default", "aa-new")["metadata"]["creationTimestamp"] != born:
                break
            self.assertLess(time.monotonic(), deadline)
            self.kubectl("delete", "configmap", "aa-new")
        n = self.node()
        n.ready()
        self.assertEqual(n.file("same.json"), profile(1))
        self.srv.wait_for_request(lambda r: r["method"] == "POST" and r["path"].endswith("/events"), timeout=30)
        events = self.events("ProfileConflict")
        self.assertEqual([e["involvedObject"]["name"] for e in events], ["aa-new"])
        # The winner goes: the other object's profile takes the path. Its bytes were dropped once it was
        # judged, so seccompd lists again to get them (a relist, counted).
        def lists():
            return sum(1 for r in self.srv.requests
                       if r["resource"] == "configmaps" and not r["watch"] and r["method"] == "GET"
                       and from_seccompd(r))
        before = lists()
        self.kubectl("delete", "configmap", "zz-old")
        n.until(lambda: n.file("same.json") == profile(2))
        self.assertEqual(lists(), before + 1)

    def test_bounds_refuse_whole_objects_and_keep_the_last_version(self):
        """Finding 4 of issue 12: memory is bounded by design. One object gives at most 256 profiles, a
        tenant namespace at most 512 and 8 MiB; an object over a bound is refused whole with an
        ObjectRejected Event, and its last accepted version stays on disk."""
        self.srv._namespaces.add("tenant")
        self.apply(configmap("wide", {f"w{i}.json": profile(i) for i in range(300)}))
        self.apply(configmap("web", {"web.json": profile(1)}))
        pad = " " * 1000000
        for i in range(8):  # 8 MB, under the tenant's 8 MiB
            self.srv.apply(configmap(f"t{i}", {f"t{i}.json": profile(i) + pad}, namespace="tenant"))
        n = self.node(extra=("--tenant-namespace", "tenant"))
        n.ready()
        self.assertIsNone(n.file("w0.json"))
        self.assertEqual(n.file("web.json"), profile(1))
        self.assertEqual(n.file("tenant/t7.json"), profile(7) + pad)
        self.srv.apply(configmap("t8", {"t8.json": profile(8) + pad}, namespace="tenant"))
        # An update that goes over: the version before stays.
        self.apply(configmap("web", {f"v{i}.json": profile(i) for i in range(257)}))
        self.srv.wait_for_request(lambda r: self.created_events() >= 3, timeout=30)
        self.assertEqual(n.file("web.json"), profile(1))
        self.assertIsNone(n.file("tenant/t8.json"))
        messages = {e["involvedObject"]["name"]: e["message"] for e in self.events("ObjectRejected")}
        messages.update({e["involvedObject"]["name"]: e["message"] for e in self.events("ObjectRejected", "tenant")})
        self.assertIn("it has 300 keys; at most 256 profiles are read from one object", messages["wide"])
        self.assertIn("its last accepted version stays", messages["web"])
        self.assertIn("a tenant holds at most 512 profiles and 8 MiB", messages["t8"])

    def test_tenants(self):
        self.apply(configmap("t", {"x.json": profile(1), "open.json": '{"defaultAction": "SCMP_ACT_ALLOW"}'},
                             namespace="team-a"))
        self.apply(configmap("admin", {"y.json": profile(2)}, annotations={"seccompd.io/directory": "team-a"}))
        self.apply(configmap("admin2", {"z.json": profile(3)}))
        n = self.node(extra=("--tenant-namespace", "team-a"))
        n.ready()  # both namespaces listed and synced
        self.assertEqual(n.file("team-a/x.json"), profile(1))
        self.assertIsNone(n.file("team-a/open.json"))  # confines nothing: rejected for a tenant
        self.assertIsNone(n.file("team-a/y.json"))     # an admin object inside a tenant's directory
        self.assertEqual(n.file("z.json"), profile(3), n.log_text())
        self.assertIsNone(n.file("x.json"))

    def test_many_namespaces(self):
        """--namespace and --tenant-namespace are merged into one list: 70 of them in total once
        overflowed a 65-entry array, and the first tenants were then taken for admin namespaces (their
        ALLOW profile installed outside <root>/<tenant>/). Every one must stay what it was given as."""
        admins, tenants = [f"admin-{i}" for i in range(10)], [f"team-{i}" for i in range(60)]
        for ns in (tenants[0], tenants[4], tenants[59]):
            self.srv.apply(configmap("t", {"x.json": profile(1), "open.json": '{"defaultAction": "SCMP_ACT_ALLOW"}'},
                                     namespace=ns))
        self.srv.apply(configmap("admin", {"z.json": profile(3)}, namespace=admins[9]))
        root = f"{self.tmp}/root"
        args = [a for ns in admins for a in ("--namespace", ns)] + \
               [a for ns in tenants for a in ("--tenant-namespace", ns)]
        r = subprocess.run([SECCOMPD, "run", "--source", "kube", "--kubeconfig", self.srv.kubeconfig_path,
                            "--root", root, "--once", *args], capture_output=True, text=True, timeout=120,
                           env={k: v for k, v in os.environ.items() if k != "SECCOMPD_TEST_TIME_SCALE"})
        # (unscaled: --once gives 70 namespaces its full 60 s to be listed)
        self.assertEqual(r.returncode, 1, r.stderr[-3000:])  # open.json rejected for each tenant
        self.assertNotIn("runtime error", r.stderr)  # UBSan, when built with it
        self.assertIn("in 70 namespaces", r.stderr)
        for ns in (tenants[0], tenants[4], tenants[59]):
            with self.subTest(tenant=ns):
                self.assertEqual(read(f"{root}/{ns}/x.json"), profile(1), r.stderr[-3000:])
                self.assertIsNone(read(f"{root}/{ns}/open.json"))
        self.assertIsNone(read(f"{root}/open.json"))
        self.assertIsNone(read(f"{root}/x.json"))
        self.assertEqual(read(f"{root}/z.json"), profile(3))


RECORD = "seccompd/record.json"
RECORD_BYTES = '{"defaultAction":"SCMP_ACT_LOG"}\n'


def state_paths(root):
    """The paths the state file says seccompd owns (files only)."""
    with open(f"{root}/..seccompd-state", encoding="utf-8") as f:
        return [line.split(" ", 2)[2].rstrip("\n") for line in f.readlines()[1:] if line.startswith("f ")]


class RecordingProfile(KubeCase):
    """run --recording-profile: the profile a pod runs under while the recorder agent records it."""

    def test_installed_owned_wins_its_path_and_goes_with_the_flag(self):
        self.apply(configmap("web", {"web.json": profile(1)}))
        # An object that would land on the built-in path: its key loses, and its Event says why.
        self.apply(configmap("clash", {"record.json": profile(2), "other.json": profile(3)},
                             annotations={"seccompd.io/directory": "seccompd"}))
        home = tempfile.mkdtemp(dir=self.tmp)
        n = self.node(extra=("--recording-profile",), root=f"{home}/root")
        n.ready()
        self.assertEqual(n.file(RECORD), RECORD_BYTES)
        self.assertEqual(os.stat(f"{n.root}/{RECORD}").st_mode & 0o7777, 0o644)
        self.assertEqual(n.file("web.json"), profile(1))
        self.assertEqual(n.file("seccompd/other.json"), profile(3))
        self.assertEqual(sorted(state_paths(n.root)), sorted([RECORD, "seccompd/other.json", "web.json"]))
        self.srv.wait_for_request(lambda r: self.created_events() >= 1, timeout=30)
        (event,) = self.events("ProfileConflict")
        self.assertEqual(event["involvedObject"]["name"], "clash")
        self.assertIn(f"{RECORD}: conflict: seccompd's built-in profile holds the path", event["message"])
        self.assertTrue(any(l.get("path") == RECORD and l["msg"] == "installed"
                            and l.get("source") == "built-in (--recording-profile)" for l in n.log_lines()),
                        n.log_tail())
        # Drift is repaired like any own file's.
        with open(f"{n.root}/{RECORD}", "w") as f:
            f.write('{"defaultAction":"SCMP_ACT_ALLOW"}')
        n.until(lambda: n.file(RECORD) == RECORD_BYTES)
        # The object that lost goes: the built-in profile stays.
        self.kubectl("delete", "configmap", "clash")
        n.until(lambda: n.file("seccompd/other.json") is None)
        self.assertEqual(n.file(RECORD), RECORD_BYTES)
        self.assertEqual(n.stop(), 0)

        # Without the flag: it left the desired set, so it goes after --delete-grace, like any profile.
        again = self.node(root=n.root, extra=("--delete-grace", "1s"))
        again.ready()
        # The first sync kept it, waiting out the grace (the STATUS of each sync is recorded).
        self.assertIn("STATUS=sync 1: 1 installed, 0 rejected, 0 in conflict, 0 failed, 1 pending deletion",
                      again.messages)
        again.until(lambda: again.file(RECORD) is None)
        self.assertNotIn(RECORD, state_paths(again.root))
        self.assertFalse(os.path.exists(f"{again.root}/seccompd"))  # its directory, made by seccompd, too
        self.assertEqual(again.file("web.json"), profile(1))

    def test_a_tenant_named_like_its_directory_is_a_usage_error(self):
        r = subprocess.run([SECCOMPD, "run", "--source", "kube", "--kubeconfig", self.srv.kubeconfig_path,
                            "--tenant-namespace", "seccompd", "--recording-profile", "--root", f"{self.tmp}/r"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("--tenant-namespace seccompd", r.stderr)
        self.assertFalse(os.path.exists(f"{self.tmp}/r"))  # refused before the node is touched


class TenantProblems(KubeCase):
    """Finding 3a: one tenant's broken object is that object's problem, never the node's. It is
    reported (an Event on it, the log, a metric), and the node still becomes ready: READY=1, /readyz
    200, its startup taint removed."""

    def node_gated(self):
        self.srv.apply({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1"},
                        "spec": {"taints": [{"key": STARTUP_TAINT, "effect": "NoSchedule"}]}})
        n = self.node(extra=("--tenant-namespace", "team-a", "--remove-startup-taint", STARTUP_TAINT))
        n.ready()
        status, body = n.get("/readyz")
        self.assertEqual(status, 200, body)
        self.srv.wait_for_request(lambda r: not self.srv.get("Node", None, "node-1")["spec"].get("taints"),
                                  timeout=30)
        return n

    def test_directory_component_longer_than_name_max(self):
        """A component over 255 characters passed the path rules and failed at mkdir (ENAMETOOLONG)
        on every sync: SYNC_FAILED, so the node never became ready."""
        self.apply(configmap("good", {"ok.json": profile(1)}, namespace="team-a"))
        self.apply(configmap("long", {"x.json": profile(2)}, namespace="team-a",
                             annotations={"seccompd.io/directory": "d" * 300}))
        n = self.node_gated()
        self.assertEqual(n.file("team-a/ok.json"), profile(1))
        self.assertTrue(n.wait_log(r"ConfigMap team-a/long: annotation seccompd.io/directory .*longer than 255"),
                        n.log_tail())
        self.srv.wait_for_request(lambda r: self.created_events() >= 1, timeout=30)
        (event,) = self.events("ObjectRejected", namespace="team-a")
        self.assertEqual(event["involvedObject"]["name"], "long")
        self.assertIn("longer than 255", event["message"])
        self.assertEqual(n.metric("seccompd_kube_refusals"), 1)

    def test_directory_through_a_profile_file(self):
        """The directory annotation "a.json" where a.json is already a profile: the directory would
        have to be that file. A conflict naming what stands in the way (the log blamed a symlink that
        does not exist)."""
        self.apply(configmap("a", {"a.json": profile(1)}, namespace="team-a"))
        self.apply(configmap("b", {"x.json": profile(2)}, namespace="team-a",
                             annotations={"seccompd.io/directory": "a.json"}))
        n = self.node_gated()
        self.assertEqual(n.file("team-a/a.json"), profile(1))
        line = next(line for line in n.log_lines() if line.get("path") == "team-a/a.json/x.json")
        self.assertIn("team-a/a.json is a profile file seccompd installed", line["msg"])
        self.assertNotIn("symlink", line["msg"])
        n.until(lambda: n.metric("seccompd_profiles", 'state="conflict"') == 1)
        self.srv.wait_for_request(lambda r: self.created_events() >= 1, timeout=30)
        (event,) = self.events("ProfileConflict", namespace="team-a")
        self.assertEqual(event["involvedObject"]["name"], "b")
        self.assertIn("team-a/a.json is a profile file seccompd installed", event["message"])


BAD = '{"defaultAction": "SCMP_ACT_NOPE"}'


class EventDelivery(KubeCase):
    """Events are wanted once per version of what they are about, kept until the server has them, and
    paced: whatever the cluster holds, the POSTs in flight and the log stay bounded."""

    def test_failed_posts_are_retried(self):
        """Finding 16: an Event was remembered as sent before its POST succeeded, so one that met a
        5xx, a reset or a hung connection was lost for good."""
        for i in range(100):
            self.srv.apply(configmap(f"bad-{i:03}", {f"p{i:03}.json": BAD}))
        for kind, kw in (("status", dict(code=500)), ("status", dict(code=503)),
                         ("status", dict(code=429, retry_after=1)), ("reset", {}), ("hang", {})):
            self.srv.fault(kind, times=5, method="POST", resource="events", **kw)
        n = self.node()
        n.ready()
        self.srv.wait_for_request(lambda r: self.created_events() >= 100, timeout=60)
        self.assertEqual(self.srv.faults, [])  # every fault was met
        events = self.events("ProfileRejected")
        self.assertEqual(sorted(e["involvedObject"]["name"] for e in events), [f"bad-{i:03}" for i in range(100)])
        n.until_events_settled()
        self.assertEqual(self.created_events(), 100)
        self.assertEqual(self.srv.count(method="POST", resource="events"), 125)  # none posted twice
        self.assertEqual(n.metric("seccompd_kube_event_posts_total", 'result="created"'), 100)
        # (libcurl itself resends a request that met a reset on a reused connection: fewer failures
        # than faults may reach seccompd.)
        self.assertGreaterEqual(n.metric("seccompd_kube_event_posts_total", 'result="failed"'), 10)
        self.assertLessEqual(n.metric("seccompd_kube_event_posts_total", 'result="failed"'), 25)
        # Said when posting starts failing and when it works again, not once per failure.
        failing = [line for line in n.log_lines() if line["msg"].startswith("cannot create Event ")]
        self.assertGreaterEqual(len(failing), 1)
        self.assertLess(len(failing), 25)

    def test_many_rejected_keys_are_reported_once_and_paced(self):
        """Finding 5: past 512 rejected keys (a 20 KB ConfigMap) the dedup ring overflowed, so every
        sync re-posted and re-logged every Event, with no bound on the POSTs in flight. One object now
        gives at most 256 profiles (finding 4), so the 600 keys are in three objects; the spam filter's
        budget is per object, so 75 are posted at once and the rest wait."""
        keys = 600
        for part in range(3):
            self.srv.apply(configmap(f"many{part}", {f"k{i:03}.json": BAD for i in range(part * 200, part * 200 + 200)}))
        self.srv.apply(configmap("other", {"other.json": profile(1)}))
        self.srv.fault("slow", times=None, method="POST", resource="events", delay=0.05)
        n = self.node()
        n.ready()
        for version in range(1, 6):  # five syncs that have nothing to do with "many"
            self.srv.apply(configmap("other", {"other.json": profile(1, version)}))
            n.until(lambda: n.file("other.json") == profile(1, version))
        # Each rejection logged once (a sync logs before it reports STATUS=), not once per sync.
        self.assertEqual(sum("invalid profile not installed" in line["msg"] for line in n.log_lines()), keys)
        self.assertLessEqual(self.srv.max_in_flight("POST", "events"), 4)
        # client-go's spam filter: 25 about one object at once, then one per 5 minutes; the rest
        # wait, counted.
        self.assertGreater(n.metric("seccompd_kube_events_waiting"), 0)
        self.assertLessEqual(self.srv.count(method="POST", resource="events"), keys)

    def test_refusals_are_events(self):
        """Finding 17: what the decoder refuses (a directory annotation like "../up", a key that is not
        a profile's name) was only logged, and the admin has no access to the node's log."""
        self.apply(configmap("up", {"a.json": profile(1)}, annotations={"seccompd.io/directory": "../up"}))
        self.apply(configmap("keys", {"ok.json": profile(2), "notes.yaml": "hello"}))
        n = self.node()
        n.ready()
        self.assertEqual(n.file("ok.json"), profile(2))
        self.srv.wait_for_request(lambda r: self.created_events() >= 2, timeout=30)
        (whole,) = self.events("ObjectRejected")
        self.assertEqual(whole["involvedObject"]["name"], "up")
        self.assertIn('annotation seccompd.io/directory "../up"', whole["message"])
        (key,) = self.events("ProfileRejected")
        self.assertEqual(key["involvedObject"]["name"], "keys")
        self.assertIn("data[notes.yaml]", key["message"])
        self.assertEqual(n.metric("seccompd_kube_refusals"), 2)
        # A new version of the object with the same refusal: nothing posted or logged again.
        self.apply(configmap("keys", {"ok.json": profile(2), "two.json": profile(3), "notes.yaml": "hello"}))
        n.until(lambda: n.file("two.json") == profile(3))
        n.until_events_settled()
        self.assertEqual(self.srv.count(method="POST", resource="events"), 2)
        self.assertEqual(sum("data[notes.yaml]" in line["msg"] for line in n.log_lines()), 1)
        self.assertEqual(len(self.events("ProfileRejected")), 1)
        # Fixed: no refusal left.
        self.apply(configmap("keys", {"ok.json": profile(2), "two.json": profile(3)}))
        n.until(lambda: n.metric("seccompd_kube_refusals") == 1)


class Faults(KubeCase):
    """Each fault: the daemon converges (a later change arrives on disk), nothing installed is lost,
    and the number of requests it took stays small."""

    def converge(self, n, version):
        self.apply(configmap("f", {"f.json": profile(9, version)}))
        n.until(lambda: n.file("f.json") == profile(9, version), timeout=30)
        self.assertEqual(n.file("keep.json"), profile(8))

    def next_watch_gets(self, kind, **kw):
        """Queues a fault for the next configmaps watch and ends the current one, so the daemon's
        re-watch meets it now rather than at its timeout."""
        watches = self.srv.count(resource="configmaps", watch=True)
        self.srv.fault(kind, watch=True, resource="configmaps", **kw)
        self.srv.close_watches()
        return watches

    def test_every_fault(self):
        self.apply(configmap("keep", {"keep.json": profile(8)}))
        n = self.node()
        n.ready()
        huge = configmap("huge", {"h.json": "x" * (4 * 1024 * 1024)})
        huge["metadata"].update(uid="0000-huge", resourceVersion="99999", creationTimestamp="2026-01-01T00:00:00Z")
        faults = [
            ("split", dict(size=1)),                                 # a 1-byte trickle, mid-UTF-8, mid-escape
            ("split", dict(size=7, wire=True)),                      # chunk headers split too
            ("coalesce", dict(events=10, wait=0.2)),                 # many events in one chunk
            ("error", dict(code=410, reason="Expired")),             # ERROR 410 mid-stream: relist
            ("error", dict(code=410, reason="Gone")),
            ("status", dict(code=410, reason="Expired")),            # HTTP 410 on watch open: relist
            ("close", dict(after=0)),                                # ends at once with no event
            ("status", dict(code=429, retry_after=1)),               # Retry-After honoured, same version
            ("apf", dict(retry_after=1)),                            # API Priority and Fairness' plain text
            ("status", dict(code=500)),
            ("status", dict(code=503, retry_after="Fri, 31 Dec 1999 23:59:59 GMT")),  # a date: ignored
            ("reset", {}),                                           # TCP reset instead of a response
            ("reset", dict(after=0)),                                # TCP reset mid-stream
            ("inject", dict(line=b"garbage\n")),                     # not JSON: abort, relist
            ("inject", dict(line=b'{"type":"UPSERTED","object":{}}\n')),  # unknown type: the same
            ("bookmark", dict(creation_timestamp_null=True)),        # moves the resourceVersion only
            ("inject", dict(line=json.dumps({"type": "ADDED", "object": huge}).encode() + b"\n")),  # > 3 MiB
        ]
        for version, (kind, kw) in enumerate(faults, 1):
            with self.subTest(fault=kind, **{k: str(v)[:40] for k, v in kw.items()}):
                # The rounds wait on the server's log, not on the daemon: read what the last one left
                # on the notify socket, whose queue is short (net.unix.max_dgram_qlen, 10 by default)
                # and blocks the daemon when full.
                n.drain()
                before = len(self.srv.requests)
                watches = self.next_watch_gets(kind, **kw)
                self.srv.wait_for_request(lambda r: r["resource"] == "configmaps" and r["watch"]
                                          and self.srv.count(resource="configmaps", watch=True) > watches,
                                          timeout=30)
                self.converge(n, version)
                took = len(self.srv.requests) - before
                self.assertLess(took, 12, f"{kind}: {took} requests")
        self.assertIn("over 3 MiB was refused", n.log_text())
        self.assertIsNone(n.file("h.json"))

    def test_restart_expires_history_and_outage_keeps_profiles(self):
        self.apply(configmap("keep", {"keep.json": profile(8)}))
        n = self.node()
        n.ready()
        lists = self.srv.count(method="GET", resource="configmaps", watch=False)
        self.srv.restart(expire_history=True, unready=2)
        self.assertEqual(n.file("keep.json"), profile(8))
        self.assertEqual(n.get("/readyz")[0], 200)  # ready through an outage
        self.converge(n, 1)
        # The old resourceVersion got 410: a relist or two (429s while "initialising"), not a loop.
        relists = self.srv.count(method="GET", resource="configmaps", watch=False) - lists
        self.assertGreaterEqual(relists, 1)
        self.assertLessEqual(relists, 4)

    def test_half_open_watch_is_ended_by_the_deadline(self):
        self.apply(configmap("keep", {"keep.json": profile(8)}))
        n = self.node()
        n.ready()
        watches = self.next_watch_gets("hang", after=0)
        # The hung watch sends nothing and never closes: the client's deadline (timeoutSeconds + 30 s,
        # compressed) ends it, and the next watch starts.
        self.srv.wait_for_request(lambda r: r["watch"] and r["resource"] == "configmaps"
                                  and self.srv.count(resource="configmaps", watch=True) > watches + 1, timeout=30)
        self.converge(n, 1)

    def test_expired_continue_restarts_the_list(self):
        for i in range(60):  # seven pages of 10
            self.srv.apply(configmap(f"p{i:02}", {f"p{i:02}.json": profile(i)}))
        self.apply(configmap("keep", {"keep.json": profile(8)}))
        self.srv.fault("continue_expired", times=1, resource="configmaps", new_continue=False)
        n = self.node()
        n.ready()
        self.assertTrue(all(n.file(f"p{i:02}.json") == profile(i) for i in range(60)))
        pages = [r for r in self.srv.requests if r["resource"] == "configmaps" and not r["watch"] and from_seccompd(r)]
        self.assertTrue(all(r["query"].get("limit") == "10" for r in pages), pages)
        self.assertEqual(sum(1 for r in pages if r["status"] == 410), 1)


    def test_every_watch_410_relists_with_backoff(self):
        """Finding 10 of issue 12: when every watch ends in 410 Gone, seccompd relisted at once, about
        4 full relists a second per reflector. client-go's Run() waits out its backoff manager
        between every ListAndWatch return, 410 included: the relists now come after waits of 0.8 s
        doubling, jittered up to twice as long (compressed 10 times here, so that they stand out
        from the ~0.25 s a list and a refused watch take with this server)."""
        scale = 0.1
        self.apply(configmap("keep", {"keep.json": profile(8)}))
        n = self.node(scale=str(scale))
        n.ready()

        def lists():
            return sum(1 for r in self.srv.requests if r["resource"] == "configmaps" and not r["watch"]
                       and from_seccompd(r))
        before = lists()
        self.srv.fault("status", times=None, watch=True, resource="configmaps", code=410, reason="Gone",
                       message="too old resource version: 1 (2)")
        self.srv.close_watches()
        expired = []
        n.wait_notify(lambda m: m.startswith("STATUS=watch configmaps in namespace default failed")
                      and len(expired.append(m) or expired) >= 7, timeout=60)
        # Seven 410s, six relists between them after waits of at least 0.8, 1.6, 3.2, 6.4, 12.8 and
        # 25.6 s, scaled, as the daemon announces them; and no more lists than 410s (no loop). No
        # assertion on elapsed time: the counts say it, whatever the machine's speed.
        waits = [float(m.group(1)) for m in re.finditer(r"resourceVersion expired; listing again in ([0-9.]+) s",
                                                        n.log_text())]
        self.assertGreaterEqual(len(waits), 6, n.log_tail())
        for i, wait in enumerate(waits[:6]):
            self.assertGreaterEqual(wait, 0.8 * 2 ** i * scale - 0.001, waits)
            self.assertLess(wait, 2 * 0.8 * 2 ** i * scale + 0.001, waits)
        # Each relist was the answer to one 410, not a loop of them.
        self.assertGreaterEqual(lists() - before, 6)
        self.assertLessEqual(self.srv.count(resource="configmaps", watch=True, status=410), lists() - before + 1)
        self.srv.clear_faults()
        self.converge(n, 1)


class Auth(KubeCase):
    def test_forbidden_is_reported_and_not_ready_without_a_tight_loop(self):
        self.srv.forbid("list", "configmaps", "default")
        n = self.node()
        t0 = time.monotonic()
        # Five refused lists: client-go's backoff waits at least 0.8+1.6+3.2+6.4 s between them
        # (compressed 100 times: 0.12 s), so they cannot have come faster than that.
        self.srv.wait_for_request(lambda r: self.srv.count(resource="configmaps", status=403) >= 5, timeout=30)
        self.assertGreaterEqual(time.monotonic() - t0, 0.12)
        status, body = n.get("/readyz")
        self.assertEqual(status, 503)
        self.assertIn("forbidden", body)
        self.assertIn("configmaps in namespace default", body)
        line = next(l for l in n.log_lines() if "forbidden" in json.dumps(l))
        self.assertIn("list configmaps in namespace default", json.dumps(line))
        self.assertIn('cannot list resource', json.dumps(line))
        # Applied while still refused, so the first list that succeeds holds it: READY=1 then means
        # it is on disk (applied after, a list between the two could make the node ready without it).
        self.apply(configmap("ok", {"ok.json": profile(1)}))
        self.srv.allow_all()
        n.ready()
        self.assertEqual(n.file("ok.json"), profile(1))
        self.assertEqual(n.get("/readyz")[0], 200)
        n.until(lambda: 'code="403"' in n.get("/metrics")[1])
        self.assertIn('seccompd_kube_errors_total{verb="list",resource="configmaps",code="403"}',
                      n.get("/metrics")[1])

    def test_server_certificate_is_always_verified(self):
        # Another server's CA: the certificate does not verify, and nothing is trusted from it.
        other = ApiServer(f"{self.tmp}/other")
        with open(self.srv.kubeconfig_path) as f:
            text = f.read()
        bad = f"{self.tmp}/kubeconfig-bad-ca"
        with open(bad, "w") as f:
            f.write(text.replace(self.srv.ca_file, other.ca_file))
        self.apply(configmap("a", {"a.json": profile(1)}))
        n = self.node(kubeconfig=bad)
        n.wait_status(lambda s: s.startswith("list configmaps in namespace default failed"))
        line = next(l for l in n.log_lines() if "list configmaps" in l.get("msg", ""))
        self.assertIn("certificate", line["msg"].lower())
        self.assertIsNone(n.file("a.json"))
        status, body = n.get("/readyz")
        self.assertEqual(status, 503)
        self.assertEqual([r for r in self.srv.requests if from_seccompd(r)], [])

    def test_token_rotation(self):
        kc = self.srv.kubeconfig(f"{self.tmp}/kubeconfig-file", user="tokenfile")
        self.apply(configmap("a", {"a.json": profile(1)}))
        n = self.node(kubeconfig=kc)
        n.ready()
        old = self.srv.token
        self.srv.rotate_token()
        self.assertNotEqual(old, self.srv.token)
        # The open watch was authenticated when it opened; the next one must carry the new token.
        watches = self.srv.count(resource="configmaps", watch=True)
        self.srv.close_watches()
        # A request racing the rotation may meet a 401; the token is read again for the next one.
        r = self.srv.wait_for_request(lambda r: r["watch"] and r["resource"] == "configmaps" and r["status"] == 200
                                      and self.srv.count(resource="configmaps", watch=True) > watches, timeout=30)
        self.assertEqual(r["headers"]["Authorization"], f"Bearer {self.srv.token}")
        self.assertLessEqual(self.srv.count(status=401), 2)
        self.srv.apply(configmap("a", {"a.json": profile(1, 1)}))  # the test's own kubeconfig has the old token
        n.until(lambda: n.file("a.json") == profile(1, 1))


    def test_token_file_removed_is_logged(self):
        """Finding 15 of issue 12 said token read failures were not logged. They are since the client
        tells its owner (kube_client_on_token): a token file that goes away is said once, naming it
        and why, requests go on with the last token, and its return is said too."""
        kc = self.srv.kubeconfig(f"{self.tmp}/kubeconfig-file", user="tokenfile")
        n = self.node(kubeconfig=kc)
        n.ready()
        token = self.srv.token_file
        os.rename(token, token + ".away")
        for _ in range(2):  # two more requests: said once, not per request
            watches = self.srv.count(resource="configmaps", watch=True)
            self.srv.close_watches()
            self.srv.wait_for_request(lambda r: r["watch"] and r["resource"] == "configmaps" and r["status"] == 200
                                      and self.srv.count(resource="configmaps", watch=True) > watches, timeout=30)
        expected = (f"cannot read the API token file {token}: No such file or directory; requests go on with the "
                    "last token read")
        self.assertTrue(n.wait_log(re.escape(expected)), n.log_tail())
        self.assertEqual(sum(expected in line["msg"] for line in n.log_lines()), 1)
        os.rename(token + ".away", token)
        self.srv.close_watches()
        self.assertTrue(n.wait_log(re.escape(f"the API token file {token} is readable again")), n.log_tail())

    def test_token_file_replaced_by_a_fifo(self):
        """Finding 13 of issue 12: a FIFO in the token file's place blocked the event loop in open()
        (the token is read before every request), so /healthz timed out until a writer came."""
        kc = self.srv.kubeconfig(f"{self.tmp}/kubeconfig-file", user="tokenfile")
        self.apply(configmap("a", {"a.json": profile(1)}))
        n = self.node(kubeconfig=kc)
        n.ready()
        token = self.srv.token_file
        os.unlink(token)
        os.mkfifo(token)
        watches = self.srv.count(resource="configmaps", watch=True)
        self.srv.close_watches()  # the next watch reads the token again
        try:
            # The server has not rotated the token: a watch with the last good one is accepted.
            self.srv.wait_for_request(lambda r: r["watch"] and r["resource"] == "configmaps"
                                      and self.srv.count(resource="configmaps", watch=True) > watches, timeout=15)
            status, body = n.get("/healthz")
        except OSError:  # TimeoutError, urllib's URLError
            # The old code is stuck in open(): a writer lets it go, so the node can be stopped.
            fd = os.open(token, os.O_WRONLY | os.O_NONBLOCK)
            os.close(fd)
            raise
        self.assertEqual(status, 200, body)
        expected = f"cannot read the API token file {token}: it is not a regular file"
        self.assertTrue(n.wait_log(re.escape(expected), timeout=30), n.log_tail())
        self.assertEqual(sum(expected in line["msg"] for line in n.log_lines()), 1)  # once, not per request

        # A regular token file put back (a new token, the old one refused): used from the next request.
        os.unlink(token)
        self.srv.rotate_token()
        self.srv.close_watches()
        r = self.srv.wait_for_request(lambda r: r["watch"] and r["resource"] == "configmaps" and r["status"] == 200
                                      and r["headers"].get("Authorization") == f"Bearer {self.srv.token}",
                                      timeout=30)
        self.assertIsNotNone(r)
        self.srv.apply(configmap("a", {"a.json": profile(1, 1)}))
        n.until(lambda: n.file("a.json") == profile(1, 1))
        self.assertTrue(any(f"the API token file {token} is readable again" in line["msg"]
                            for line in n.log_lines()), n.log_tail())
        status, body = n.get("/healthz")
        self.assertEqual(status, 200, body)


class Bounds(KubeCase):
    """What one response may cost: pages sized so that objects the reflector accepts fit, smaller
    pages when they do not, and a bound on the JSON values and nesting of every response."""

    def lists(self):
        return [r for r in self.srv.requests if r["resource"] == "configmaps" and not r["watch"]
                and from_seccompd(r)]

    def test_keys_only_objects_list_in_smaller_pages(self):
        """Finding 3b of issue 12: 25 ConfigMaps of 1.5 MB made only of keys put the first page of 25
        past the 32 MiB page bound, and the list failed the same way forever: never ready. Pages of
        10 fit ten of the 3 MiB objects the reflector accepts."""
        for i in range(25):
            self.srv.apply(keys_only(f"keys-{i:02}", 1_500_000))
        self.srv.apply(configmap("zz-profile", {"p.json": profile(1)}))
        n = self.node()
        n.ready(timeout=120)
        self.assertEqual(n.file("p.json"), profile(1))
        pages = self.lists()
        self.assertEqual([r["query"]["limit"] for r in pages], ["10", "10", "10"], pages)
        self.assertEqual([r["status"] for r in pages], [200, 200, 200])

    def test_object_over_the_page_bound_is_skipped(self):
        """Finding 3b: a page over a bound is asked for again in pages half the size, down to one
        object; an object alone over the bound (here 33 MiB of keys, which only our test server
        stores) is skipped and named, the objects after it are listed, and the list counts as
        incomplete: a profile whose object left meanwhile is not removed on its strength."""
        self.srv.apply(configmap("keep", {"keep.json": profile(8)}))
        self.srv.apply(configmap("gone", {"gone.json": profile(7)}))
        first = self.node()
        first.ready()
        self.assertEqual(first.stop(), 0, first.log_tail())
        self.srv.delete("ConfigMap", "default", "gone")
        self.srv.apply(keys_only("huge", 33 * 1024 * 1024))
        self.srv.apply(configmap("zz-after", {"after.json": profile(9)}))

        mark = len(self.lists())
        n = self.node(root=first.root)
        n.until(lambda: n.file("after.json") == profile(9), timeout=120)
        self.assertTrue(n.wait_log(r"object huge alone holds more than 32 MiB, over the bound for a list page: "
                                   r"skipped; the list is incomplete, so nothing it lacks is removed"), n.log_tail())
        self.assertEqual(n.file("gone.json"), profile(7))
        self.assertEqual(n.file("keep.json"), profile(8))
        # 10, 5, 2 and 1 per page until the one object is alone, then on from it, one at a time.
        self.assertEqual([r["query"]["limit"] for r in self.lists()[mark:mark + 6]], ["10", "5", "2", "1", "1", "1"])

    def test_page_of_nested_arrays_is_refused_with_bounded_memory(self):
        """Finding 4c of issue 12: a 30 MiB list page of empty arrays from a broken server made the
        daemon peak at 1.44 GB (jansson spends ~136 bytes per []). Every response is scanned before
        it is decoded: this one is cut off at the 262145th value, reported with what bound it broke,
        asked for in smaller pages, then retried with the backoff; nothing is removed."""
        self.apply(configmap("keep", {"keep.json": profile(8)}))
        n = self.node()
        n.ready()
        body = (b'{"kind":"ConfigMapList","apiVersion":"v1","metadata":{"resourceVersion":"1"},"items":['
                + b"[]," * (10 * 1024 * 1024) + b"[]]}")
        self.srv.fault("status", times=5, method="GET", resource="configmaps", watch=False, code=200, body=body)
        mark = len(self.lists())
        self.next_watch_gets_410()
        self.srv.wait_for_request(lambda r: not self.srv.faults, timeout=60)
        self.apply(configmap("f", {"f.json": profile(9)}))
        n.until(lambda: n.file("f.json") == profile(9), timeout=30)
        self.assertEqual(n.file("keep.json"), profile(8))
        self.assertLess(vm_hwm(n.proc.pid), 256 * 1024, "peak memory over 256 MiB")
        line = next(l["msg"] for l in n.log_lines() if "JSON values" in l["msg"])
        self.assertIn("list configmaps in namespace default: response over a bound", line)
        self.assertIn("a page of 10 objects holds more than 262144 JSON values, over the bound for a list page; "
                      "asking for 5 per page", line)
        self.assertTrue(n.wait_log(r"a page of one object holds more than 262144 JSON values, over the bound for a "
                                   r"list page, and does not begin like a list; retrying"), n.log_tail())
        # 10, 5, 2 and 1 per page, then (the first bytes name no object) after the backoff.
        self.assertEqual([r["query"]["limit"] for r in self.lists()[mark:mark + 5]], ["10", "5", "2", "1", "1"])

    def next_watch_gets_410(self):
        self.srv.fault("error", watch=True, resource="configmaps", code=410, reason="Gone")
        self.srv.close_watches()


class Messages(KubeCase):
    """Finding 15 of issue 12 (messages): each failure says what happened, not what it resembles."""

    def failed_status(self, n):
        return n.wait_status(lambda s: s.startswith("list configmaps in namespace default failed"))

    def test_redirect_is_not_followed_and_says_so(self):
        """A 302 was reported as "server error". It is a redirect, and it is not followed: the token
        never goes to the other server."""
        other = ApiServer(f"{self.tmp}/other")
        other.start()
        self.addCleanup(other.stop)
        target = f"{other.url}/api/v1/namespaces/default/configmaps?limit=10"
        self.srv.fault("redirect", times=None, resource="configmaps", watch=False, location=target)
        n = self.node()
        self.assertEqual(self.failed_status(n), "list configmaps in namespace default failed: redirected "
                         "(HTTP 302 Found); redirects are not followed")
        line = next(l["msg"] for l in n.log_lines() if l["msg"].startswith("list configmaps"))
        self.assertIn(f"Location: {target}", line)
        self.assertNotIn("server error", line)
        self.assertEqual(other.requests, [])

    def test_malformed_watch_line_says_what_was_wrong(self):
        """A garbage watch line was reported as curl's "Failure writing output to destination". Now:
        what was wrong with it and an excerpt, bounded and escaped (no terminal escape reaches the
        log)."""
        self.apply(configmap("keep", {"keep.json": profile(8)}))
        n = self.node()
        n.ready()
        for line, expected in (
                (b"garbage \x1b[2J\n", r'not JSON: .* at byte \d+: "garbage \\x1b\[2J"'),
                (b'{"type":"UPSERTED","object":{}}\n', r'unknown event type "UPSERTED": "\{"type":"UPSERTED"'),
                (b'{"type":"ADDED","object":[]}\n', r'its "object" is not an object'),
                (b"x" * 100000 + b"\n", r'not JSON: .*: "x{64}\.\.\."$')):
            with self.subTest(line=line[:40]):
                mark = len(n.log_lines())
                watches = self.srv.count(resource="configmaps", watch=True)
                self.srv.fault("inject", watch=True, resource="configmaps", line=line)
                self.srv.close_watches()
                self.srv.wait_for_request(lambda r: r["watch"] and r["resource"] == "configmaps"
                                          and self.srv.count(resource="configmaps", watch=True) > watches + 1,
                                          timeout=30)
                self.assertTrue(n.wait_log(r"a malformed watch event was refused"), n.log_tail())
                msgs = [l["msg"] for l in n.log_lines()[mark:] if "malformed watch event" in l["msg"]]
                self.assertTrue(msgs, n.log_tail())
                self.assertTrue(msgs[0].startswith("watch configmaps in namespace default: malformed response; "
                                                   "a malformed watch event was refused: "), msgs[0])
                self.assertRegex(msgs[0], expected)
                self.assertNotIn("Failure writing output", msgs[0])
                self.assertLess(len(msgs[0]), 1024)
        self.assertNotIn("\x1b", n.log_text())

    def test_certificate_problems_are_named(self):
        """An expired or wrong-host certificate was reported as "does not verify against the configured
        CA". libcurl's CURLINFO_SSL_VERIFYRESULT says which it was. Refused before any request."""
        self.apply(configmap("a", {"a.json": profile(1)}))
        for kind, text in (("expired", "TLS: the server's certificate has expired"),
                           ("wrong-host", "TLS: the server's certificate is not for the host in the server URL")):
            with self.subTest(kind=kind):
                self.srv.use_certificate(kind)
                n = self.node()
                self.assertEqual(self.failed_status(n), f"list configmaps in namespace default failed: {text}")
                line = next(l["msg"] for l in n.log_lines() if l["msg"].startswith("list configmaps"))
                self.assertIn("SSL", line)  # curl's own words follow
                self.assertIsNone(n.file("a.json"))
                self.assertEqual(n.get("/readyz")[0], 503)
                self.assertEqual(n.stop(), 0)
        self.assertEqual([r for r in self.srv.requests if from_seccompd(r)], [])


class NodeGating(KubeCase):
    def test_taint_removed_and_condition_set(self):
        self.srv.apply({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1"},
                        "spec": {"taints": [{"key": "other", "effect": "NoSchedule"},
                                            {"key": STARTUP_TAINT, "effect": "NoSchedule"}]},
                        "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                                   "message": "kubelet is posting ready status",
                                                   "lastHeartbeatTime": "2026-01-01T00:00:00Z",
                                                   "lastTransitionTime": "2026-01-01T00:00:00Z"}]}})
        self.apply(configmap("a", {"a.json": profile(1)}))
        self.srv.fault("status", method="PATCH", resource="nodes", code=409)
        n = self.node(extra=("--remove-startup-taint", STARTUP_TAINT, "--node-condition"))
        n.ready()

        def settled():
            node = self.srv.get("Node", None, "node-1")
            taints = [t["key"] for t in node["spec"].get("taints", [])]
            conds = {c["type"]: c for c in node["status"].get("conditions", [])}
            return taints == ["other"] and conds.get("SeccompProfilesReady", {}).get("status") == "True" \
                and conds["Ready"]["reason"] == "KubeletReady"
        self.srv.wait_for_request(lambda r: settled(), timeout=30)
        out = json.loads(self.kubectl("get", "node", "node-1", "-o", "json").stdout)
        self.assertEqual([t["key"] for t in out["spec"]["taints"]], ["other"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
