#!/usr/bin/env python3
"""Recording a profile with kubectl alone, on the real cluster: seccompd with the recorder component
(deploy/overlays/recorder), a Deployment of two replicas under seccompd/record.json labeled
seccompd.io/record=web, exercised over HTTP and kubectl exec. Nothing runs on the node but what the
DaemonSets run; what the test reads of the node is the kubelet's seccomp directory and the
printk rate limit (to show it was never touched).

By hand against a cluster already up:
  SECCOMPD_CLUSTER_DIR=DIR python3 tests/cluster/test_recorder.py -v"""

import json
import os
import sys
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tier import BUSYBOX, NS, Tier, main  # noqa: E402

T = None
NAME = "web"
CM = f"seccompd-recording-{NAME}"
RECORD = "seccompd/record.json"
# busybox httpd serving the container's own files: GET /etc/hostname answers with the pod's name.
HTTPD = ["httpd", "-f", "-p", "8080", "-h", "/"]


def setUpModule():
    global T
    T = Tier()
    T.kubectl("create", "namespace", NS, check=False)


def tearDownModule():
    if T:
        T.close()


def names(profile_text):
    return {n for rule in json.loads(profile_text).get("syscalls", []) for n in rule.get("names", [])}


def printk_ratelimit():
    with open("/proc/sys/kernel/printk_ratelimit") as f:
        return f.read().strip()


class Recorder(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        T.uninstall_any()
        T.kubectl("delete", "configmap", "-n", NS, CM, "--ignore-not-found")
        cls.ratelimit = printk_ratelimit()
        T.install("deploy/overlays/recorder")
        T.kubectl("-n", NS, "rollout", "status", "daemonset/seccompd-recorder", "--timeout=180s")
        T.wait_file(RECORD, b'{"defaultAction":"SCMP_ACT_LOG"}\n')

    @classmethod
    def tearDownClass(cls):
        T.kubectl("delete", "deployment", "-n", "default", NAME, "--ignore-not-found", "--wait=true")
        T.kubectl("delete", "pod", "-n", "default", "other", "enforced", "--ignore-not-found", "--wait=true",
                  "--grace-period=1")
        T.uninstall()
        T.kubectl("delete", "configmap", "-n", NS, CM, "--ignore-not-found")

    def recorder_pod(self):
        def find():
            for p in T.get("pods", "-n", NS, "-l", "app.kubernetes.io/name=seccompd-recorder")["items"]:
                if not p["metadata"].get("deletionTimestamp") and p.get("status", {}).get("phase") == "Running":
                    return p
            return None
        return T.wait("the recorder's pod to be Running", find)

    def web_pods(self, n=2):
        def ready():
            pods = [p for p in T.get("pods", "-n", "default", "-l", f"app={NAME}")["items"]
                    if not p["metadata"].get("deletionTimestamp") and p["status"].get("podIP") and
                    all(c.get("ready") for c in p["status"].get("containerStatuses") or [{}])]
            return pods if len(pods) == n else None
        return T.wait(f"{n} pods of {NAME} to be Ready", ready, 120)

    def recording(self):
        cm = T.get("configmap", "-n", NS, CM)
        return cm, cm["data"][f"{NAME}.json"]

    def wait_recorded(self, *syscalls):
        def check():
            try:
                cm, text = self.recording()
            except (AssertionError, KeyError):
                return None
            got = names(text)
            return (cm, text) if all(any(s in got for s in alts.split("|")) for alts in syscalls) else None
        return T.wait(f"the recording to hold {', '.join(syscalls)}", check, 120)

    def exercise_until_complete(self, pods):
        """httpd forks a child per request, and a child can exit before the kernel's audit thread has
        sent its records: the recorder then cannot attribute them, and lists their syscalls as
        unattributed until some other request's child makes them while it is read. More requests, until
        the recording says it is complete (the recorder's own verdict, never assumed here)."""
        def complete():
            for p in pods:
                self.serve(p)
            cm, text = self.recording()
            ann = cm["metadata"].get("annotations") or {}
            return (cm, text) if ann.get("seccompd.io/recording-complete") == "true" else None
        return T.wait("the recording to be complete", complete, 120, interval=0.5)

    def serve(self, pod):
        try:
            with urllib.request.urlopen(f"http://{pod['status']['podIP']}:8080/etc/hostname", timeout=10) as r:
                return r.status, r.read().decode().strip()
        except OSError as e:  # not listening yet
            raise AssertionError(f"GET from {pod['metadata']['name']}: {e}")

    def exec(self, pod, *cmd, check=True):
        return T.kubectl("exec", "-n", "default", pod["metadata"]["name"], "--", *cmd, check=check)

    def test_record_with_kubectl_alone(self):
        T.apply({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": NAME, "namespace": "default"},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": NAME}},
                "template": {
                    "metadata": {"labels": {"app": NAME, "seccompd.io/record": NAME}},
                    "spec": {
                        "securityContext": {"seccompProfile": {"type": "Localhost", "localhostProfile": RECORD}},
                        "terminationGracePeriodSeconds": 1,
                        "containers": [{"name": "httpd", "image": BUSYBOX, "imagePullPolicy": "Never",
                                        "command": HTTPD,
                                        "securityContext": {"allowPrivilegeEscalation": False},
                                        "readinessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 1}}],
                    }}}})
        # A pod on the same node, under the same recording profile, not labeled: it makes syscalls the
        # web pods never make (umask, times: shell builtins, so made by one long-lived process, which
        # the recorder attributes and leaves out), and must contribute nothing.
        T.apply(T.pod("other", RECORD, ["sh", "-c", "umask 077; times; exec sleep 3600"], restart="Always"))
        T.wait("the unlabeled pod to run", lambda: (T.container_state("default", "other") or {}).get(
            "state", {}).get("running"))
        pods = self.web_pods()
        for p in pods:
            status, body = self.serve(p)
            self.assertEqual((status, body), (200, p["metadata"]["name"]))
        self.wait_recorded("accept|accept4", "execve", "sendfile|write|writev")
        cm, before = self.exercise_until_complete(pods)
        self.assertEqual(cm["metadata"]["labels"].get("seccompd.io/recording"), NAME)
        self.assertNotIn("seccompd.io/profile", cm["metadata"]["labels"])
        for p in pods:
            ev = T.wait(f"the ProfileRecorded Event on {p['metadata']['name']}",
                        lambda: T.events("default", "Pod", p["metadata"]["name"], "ProfileRecorded"))
            self.assertIn(CM, ev[0]["message"])
            self.assertEqual(ev[0]["type"], "Normal")
        recorded = names(before)
        self.assertFalse({"umask", "times"} & recorded, "the unlabeled pod's syscalls were attributed")
        self.assertFalse({"kill", "symlink", "symlinkat"} & recorded, sorted(recorded))

        # Kill the agent mid-recording: what was written stays; the next agent goes on from it.
        old = self.recorder_pod()
        T.kubectl("delete", "pod", "-n", NS, old["metadata"]["name"], "--grace-period=0", "--force")
        new = T.wait("a new recorder pod", lambda: (lambda p: p if p["metadata"]["uid"] != old["metadata"]["uid"]
                                                    else None)(self.recorder_pod()))
        T.wait("the new recorder to watch its pods",
               lambda: "watching 2 pods" in T.logs(new["metadata"]["name"]))
        # kill, a builtin: made by the exec'd shell itself, which then lives on as sleep.
        self.exec(pods[0], "sh", "-c", "kill -0 $$; exec sleep 2")
        self.wait_recorded("kill")
        cm, after = self.exercise_until_complete(pods)
        self.assertLessEqual(recorded, names(after))
        # Lossless with the printk rate limit as the machine has it: the recording never used kmsg.
        self.assertEqual(printk_ratelimit(), self.ratelimit)

        # Reviewed and labeled: seccompd installs it; the recorder writes it no more.
        T.kubectl("label", "configmap", "-n", NS, CM, "seccompd.io/profile=true")
        T.wait_file(f"{NAME}.json")
        self.assertEqual(names(T.file(f"{NAME}.json").decode()), names(after))
        self.exec(pods[1], "sh", "-c", "times; exec sleep 2")  # a new syscall, never written now
        T.wait("the recorder to leave the reviewed profile alone",
               lambda: "no longer written" in T.logs(new["metadata"]["name"]))
        self.assertEqual(self.recording()[1], after)

        # A new pod under the recorded profile serves, and a syscall the workload never made is denied.
        T.apply(T.pod("enforced", f"{NAME}.json", HTTPD, restart="Always"))
        enforced = T.wait("the enforced pod to serve", lambda: (lambda p: p if p["status"].get("podIP") and
                          (p["status"].get("containerStatuses") or [{}])[0].get("state", {}).get("running")
                          else None)(T.get("pod", "-n", "default", "enforced")))
        self.assertEqual(T.wait("an answer", lambda: self.serve(enforced)), (200, "enforced"))
        denied = self.exec(enforced, "ln", "-s", "/x", "/tmp/link", check=False)
        self.assertNotEqual(denied.returncode, 0)
        self.assertIn("Operation not permitted", denied.stderr)
        allowed = self.exec(T.get("pod", "-n", "default", "other"), "ln", "-s", "/x", "/tmp/link", check=False)
        self.assertEqual(allowed.returncode, 0, allowed.stderr)

        # The agent's memory, as the node's kernel counts it.
        pid = self.agent_pid()
        with open(f"/proc/{pid}/status") as f:
            rss = [line.split()[1] for line in f if line.startswith("RssAnon:")][0]
        print(f"# recorder agent: RssAnon {int(rss) / 1024:.2f} MiB; recording: {len(names(after))} syscalls",
              file=sys.stderr)

    def agent_pid(self):
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
            except OSError:
                continue
            if argv[0].endswith(b"seccompd") and argv[1:2] == [b"recorder"]:
                return pid
        raise AssertionError("no seccompd recorder process on the node")


if __name__ == "__main__":
    main(sys.modules[__name__])
