#!/usr/bin/env python3
"""seccompd recorder against the test API server (tests/kube/apiserver.py): the real kernel's audit
multicast group and real cgroups, pods that only exist as API objects (no kubelet here; the cluster
tier, tests/cluster/test_recorder.py, runs the real one). Each workload is a process put into the
cgroup a containerd container of that pod would have (cgroupfs layout, under a directory of this
test's own in the pids hierarchy), under a LOG filter (tests/integration/under-log.c).

What only this server can do: several agents as several nodes writing one ConfigMap at once, with
conflicts forced (409) — the merge must converge on the union."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "kube"))
sys.path.insert(0, HERE)
from apiserver import ApiServer  # noqa: E402
from harness import Daemon  # noqa: E402

PYTHON = "/usr/bin/python3"
NS = "seccompd-system"
CGROUP_BASE = "/sys/fs/cgroup/pids" if os.path.isdir("/sys/fs/cgroup/pids") else "/sys/fs/cgroup"


def names(text):
    return {n for r in json.loads(text).get("syscalls", []) for n in r.get("names", [])}


class Pod:
    """A pod as the API server holds it, and the cgroup its one container would have on the node."""

    def __init__(self, test, name, node, record=None):
        self.name, self.node, self.record, self.uid = name, node, record, None
        self.cid = uuid.uuid4().hex + uuid.uuid4().hex
        self.uid = test.srv.apply(self.object(listed=False))["metadata"]["uid"]  # the server's
        self.cgroup = os.path.join(test.cgroot, "kubepods", "besteffort", f"pod{self.uid}", self.cid)
        os.makedirs(self.cgroup)

    def object(self, listed):
        labels = {"app": self.name}
        if self.record:
            labels["seccompd.io/record"] = self.record
        status = {"phase": "Running"}
        if listed:
            status["containerStatuses"] = [{"name": "c", "containerID": f"containerd://{self.cid}", "ready": True}]
        return {"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": self.name, "namespace": "default", "labels": labels,
                             **({"uid": self.uid} if self.uid else {})},
                "spec": {"nodeName": self.node, "containers": [{"name": "c", "image": "busybox"}]},
                "status": status}

    def list_container(self, srv):
        srv.apply(self.object(listed=True))

    def hold(self, code):
        """A process of this pod's container running Python code, alive until release(): a record is
        attributed by reading its process's cgroup, so a process must outlive its records' arrival
        (the agent counts those that do not, and says so)."""
        return subprocess.Popen([os.environ["UNDER_LOG"], self.cgroup, PYTHON, "-c", code + "; sys.stdin.read()"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def release(p):
    out, _ = p.communicate(timeout=30)
    if p.returncode != 0:
        raise AssertionError(f"workload failed ({p.returncode}): {out}")


class RecorderTest(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.srv = ApiServer(f"{self.tmp}/srv")
        self.srv.start()
        self.addCleanup(self.srv.stop)
        self.kubeconfig = self.srv.kubeconfig(f"{self.tmp}/kubeconfig", user="token", namespace=NS)
        self.cgroot = tempfile.mkdtemp(prefix="seccompd-test-", dir=CGROUP_BASE)
        self.addCleanup(self.remove_cgroups)
        self.agents = []

    def remove_cgroups(self):
        for d, _, _ in sorted(os.walk(self.cgroot), key=lambda w: -len(w[0])):
            os.rmdir(d)

    def agent(self, node, *args):
        a = Daemon(["--kubeconfig", self.kubeconfig, "--node", node, "--namespace", NS, *args],
                   verb="recorder", env={"KUBECONFIG": None}, dir=tempfile.mkdtemp(dir=self.tmp))
        self.agents.append(a)
        self.addCleanup(self.stop, a)
        return a

    def stop(self, a):
        if a.running():
            self.assertEqual(a.stop(), 0, a.log_tail())
        a.close()

    def watching(self, a, n):
        self.assertIsNotNone(a.wait_log(rf"watching {n} pods? labeled"), a.log_tail())

    def recording(self, name):
        cm = self.srv.get("ConfigMap", NS, f"seccompd-recording-{name}")
        return cm, (cm or {}).get("data", {}).get(f"{name}.json")

    def writes(self):
        return sum(self.srv.count(method=m, resource="configmaps") for m in ("PUT", "POST"))

    def wait_recorded(self, a, name, *syscalls):
        """Once the agent has added each syscall, until a write has put them all in the ConfigMap (a
        write already in flight may not hold the last one): the ConfigMap then."""
        for s in syscalls:
            self.assertIsNotNone(a.wait_log(rf"recording {name}: \+ {s} "), a.log_tail())
        deadline = time.monotonic() + 30
        while True:
            seen = self.writes()
            cm, text = self.recording(name)
            if text and set(syscalls) <= names(text):
                return cm, text
            left = deadline - time.monotonic()
            self.assertGreater(left, 0, f"no write put {syscalls} in the recording: {text}\n{a.log_tail()}")
            self.srv.wait_for_request(lambda r: self.writes() > seen, left)

    def workload(self, pod, code):
        """The workload's code in the pod's container, once it has made its syscalls: the process,
        still alive (release() ends it)."""
        p = pod.hold(code + "; print('done', flush=True)")
        self.addCleanup(lambda: p.poll() is not None or p.kill() or p.wait())
        self.assertEqual(p.stdout.readline().strip(), "done")
        return p

    def added(self, a, name, syscall):
        self.assertIsNotNone(a.wait_log(rf"recording {name}: \+ {syscall} "), a.log_tail())

    def test_records_a_labeled_pod_only_once_its_status_lists_the_container(self):
        web = Pod(self, "web", "node-a", record="web")
        other = Pod(self, "other", "node-a")
        a = self.agent("node-a")
        self.watching(a, 1)
        # Start-up comes before the kubelet lists the container: kept until it does.
        w1 = self.workload(web, f"import os, sys; os.mkdir({self.tmp + '/made'!r})")
        web.list_container(self.srv)
        other.list_container(self.srv)
        self.added(a, "web", "mkdir")
        # The unlabeled pod makes a FIFO; then the labeled one a syscall of its own, which the agent
        # can only have read after the FIFO's records (one socket, in the kernel's order).
        o = self.workload(other, f"import os, sys; os.mkfifo({self.tmp + '/fifo'!r})")
        w2 = self.workload(web, "import os, sys\ntry: os.rmdir('/nonexistent')\nexcept OSError: pass")
        cm, text = self.wait_recorded(a, "web", "rmdir")
        for p in (w1, w2, o):
            release(p)
        got = names(text)
        self.assertIn("mkdir", got)
        self.assertFalse({"mknod", "mknodat"} & got, "the unlabeled pod's syscalls were attributed")
        self.assertEqual(cm["metadata"]["labels"]["seccompd.io/recording"], "web")
        self.assertNotIn("seccompd.io/profile", cm["metadata"]["labels"])
        self.assertEqual(cm["metadata"]["annotations"]["seccompd.io/recording-complete"], "true", cm)
        # The runtime's start-up baseline is in (record --baseline runc, the default).
        self.assertIn("capset", got)
        self.srv.wait_for_request(lambda r: r["method"] == "POST" and r["resource"] == "events" and
                                  r["status"] == 201, 30)
        ev = [e for e in self.srv.list("Event", "default") if e["reason"] == "ProfileRecorded"]
        self.assertEqual([e["involvedObject"]["name"] for e in ev], ["web"], ev)
        self.assertEqual(ev[0]["type"], "Normal")
        self.assertIn("seccompd-recording-web", ev[0]["message"])
        # seccompd validate takes the ConfigMap as kubectl prints it.
        path = f"{self.tmp}/cm.yaml"
        with open(path, "w") as f:
            yaml.safe_dump(cm, f)
        v = subprocess.run([os.environ["SECCOMPD"], "validate", path], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        self.assertEqual(v.returncode, 0, v.stdout)

    def test_nodes_writing_one_recording_converge_on_the_union(self):
        pa = Pod(self, "web-a", "node-a", record="shared")
        pb = Pod(self, "web-b", "node-b", record="shared")
        pa.list_container(self.srv)
        pb.list_container(self.srv)
        # The first PUT of each node is refused as a lost race would be: each must read again and merge.
        self.srv.fault("status", times=2, method="PUT", resource="configmaps", code=409, reason="Conflict",
                       message='Operation cannot be fulfilled on configmaps "seccompd-recording-shared": the '
                               'object has been modified; please apply your changes to the latest version and '
                               'try again')
        a, b = self.agent("node-a", "--write-interval", "0.1"), self.agent("node-b", "--write-interval", "0.1")
        self.watching(a, 1)
        self.watching(b, 1)
        procs = [self.workload(pa, f"import os, sys; os.mkdir({self.tmp + '/a'!r})"),
                 self.workload(pb, "import os, sys\ntry: os.rmdir('/nonexistent')\nexcept OSError: pass"),
                 self.workload(pa, f"import os, sys; os.symlink('/x', {self.tmp + '/l'!r})"),
                 self.workload(pb, f"import os, sys; os.mkfifo({self.tmp + '/f'!r})")]
        # The kernel multicasts from its own thread: each agent must have had them before it stops.
        for agent, pattern in ((a, "mkdir"), (a, "(symlink|symlinkat)"), (b, "rmdir"), (b, "(mknod|mknodat)")):
            self.added(agent, "shared", pattern)
        for p in procs:
            release(p)
        for agent in (a, b):
            self.stop(agent)  # SIGTERM: what is pending is written first
        _, text = self.recording("shared")
        got = names(text)
        self.assertTrue({"mkdir", "rmdir"} <= got, sorted(got))
        self.assertTrue({"symlink", "symlinkat"} & got and {"mknod", "mknodat"} & got, sorted(got))
        conflicts = self.srv.count(method="PUT", resource="configmaps", status=409)
        print(f"# two nodes, one recording: {conflicts} PUTs answered 409, union of {len(got)} syscalls",
              file=sys.stderr)
        self.assertGreaterEqual(conflicts, 1)

    def test_sigterm_writes_what_is_pending(self):
        p = Pod(self, "job", "node-a", record="job")
        p.list_container(self.srv)
        a = self.agent("node-a", "--write-interval", "3600")
        self.watching(a, 1)
        w1 = self.workload(p, f"import os, sys; os.mkdir({self.tmp + '/one'!r})")
        self.wait_recorded(a, "job", "mkdir")
        # The next write would be an hour away; SIGTERM must not lose it.
        w2 = self.workload(p, "import os, sys\ntry: os.rmdir('/nonexistent')\nexcept OSError: pass")
        self.added(a, "job", "rmdir")
        self.stop(a)
        self.assertIn("rmdir", names(self.recording("job")[1]))
        release(w1)
        release(w2)

    def test_a_reviewed_profile_and_a_foreign_configmap_are_never_written(self):
        p = Pod(self, "web", "node-a", record="web")
        q = Pod(self, "db", "node-a", record="db")
        p.list_container(self.srv)
        q.list_container(self.srv)
        foreign = {"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": "seccompd-recording-db", "namespace": NS},
                   "data": {"db.json": '{"defaultAction":"SCMP_ACT_ALLOW"}'}}
        self.srv.apply(foreign)
        a = self.agent("node-a")
        self.watching(a, 2)
        w = self.workload(p, f"import os, sys; os.mkdir({self.tmp + '/one'!r})")
        d = self.workload(q, f"import os, sys; os.mkdir({self.tmp + '/two'!r})")
        cm, text = self.wait_recorded(a, "web", "mkdir")
        self.assertIsNotNone(a.wait_log(r"seccompd-recording-db exists without the label"), a.log_tail())
        self.assertEqual(self.recording("db")[1], '{"defaultAction":"SCMP_ACT_ALLOW"}')
        cm["metadata"]["labels"]["seccompd.io/profile"] = "true"
        self.srv.apply(cm)
        w2 = self.workload(p, "import os, sys\ntry: os.rmdir('/nonexistent')\nexcept OSError: pass")
        self.assertIsNotNone(a.wait_log(r"a reviewed profile, no longer written"), a.log_tail())
        self.assertEqual(self.recording("web")[1], text)
        for x in (w, d, w2):
            release(x)

    def test_unattributed_syscalls_of_another_node_matter_until_the_union_has_them(self):
        """Another node saw records of mkdir and rmdir from processes that had exited before they could
        be attributed (a short-lived process can beat the kernel's audit thread), and a loss; this node
        records mkdir: rmdir alone stays doubtful, and the loss stays for ever."""
        p = Pod(self, "web", "node-a", record="web")
        p.list_container(self.srv)
        self.srv.apply({"apiVersion": "v1", "kind": "ConfigMap",
                        "metadata": {"name": "seccompd-recording-web", "namespace": NS,
                                     "labels": {"seccompd.io/recording": "web"},
                                     "annotations": {"seccompd.io/recording-complete": "false",
                                                     "seccompd.io/recording-unattributed": "mkdir,rmdir"}},
                        "data": {"web.json": '{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64"],'
                                             '"syscalls":[{"names":["getpid"],"action":"SCMP_ACT_ALLOW"}]}'}})
        a = self.agent("node-a")
        self.watching(a, 1)
        w = self.workload(p, f"import os, sys; os.mkdir({self.tmp + '/one'!r})")
        cm, text = self.wait_recorded(a, "web", "mkdir")
        ann = cm["metadata"]["annotations"]
        self.assertEqual(ann["seccompd.io/recording-complete"], "false")
        self.assertEqual(ann["seccompd.io/recording-unattributed"], "rmdir")
        self.assertIn("rmdir", ann["seccompd.io/recording-incomplete-reason"])
        self.assertIn("getpid", names(text))  # the other node's syscalls stay
        w2 = self.workload(p, "import os, sys\ntry: os.rmdir('/nonexistent')\nexcept OSError: pass")
        cm, text = self.wait_recorded(a, "web", "rmdir")
        ann = cm["metadata"]["annotations"]
        self.assertEqual(ann["seccompd.io/recording-complete"], "true", ann)
        self.assertNotIn("seccompd.io/recording-unattributed", ann)
        self.assertNotIn("seccompd.io/recording-incomplete-reason", ann)
        for x in (w, w2):
            release(x)

    def test_needs_the_initial_network_namespace(self):
        a = Daemon(["--kubeconfig", self.kubeconfig, "--node", "n", "--namespace", NS], verb="recorder",
                   env={"KUBECONFIG": None}, dir=tempfile.mkdtemp(dir=self.tmp), wrap=["unshare", "--net"])
        self.addCleanup(a.close)
        self.assertEqual(a.proc.wait(timeout=30), 2)
        self.assertIn("not in the initial network namespace", a.log_text())


if __name__ == "__main__":
    unittest.main(verbosity=2)
