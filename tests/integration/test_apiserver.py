#!/usr/bin/env python3
"""The fake Kubernetes API server (tests/kube/apiserver.py) cross-checked against the real kubectl: if kubectl
agrees with it (discovery, CRUD, apply, patches, selectors, pagination, watch streams cut at any byte, errors,
retries, auth), the fake is a fair stand-in for kube-apiserver in seccompd's own tests. A few protocol details
kubectl cannot show (watch resume/expiry, bookmarks, gzip, RV too large) are checked over raw HTTP.
Synchronised on the server's request log and on kubectl exiting, never on sleeps."""
import base64
import gzip
import http.client
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest

ROOT = os.environ.get("SOURCE_ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "kube"))
from apiserver import ApiServer  # noqa: E402

KUBECTL = shutil.which("kubectl")
if KUBECTL is None:  # fail loudly: without kubectl the fake is unchecked
    raise SystemExit("test_apiserver: kubectl not found in PATH; it is required to cross-check the fake API server")


def decode_stream(text):
    """kubectl -o json prints one (pretty or compact) JSON value per event."""
    dec, out, i = json.JSONDecoder(), [], 0
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            return out
        v, i = dec.raw_decode(text, i)
        out.append(v)


def cm(name, ns, data=None, labels=None, **extra):
    o = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}}
    if labels:
        o["metadata"]["labels"] = labels
    if data is not None:
        o["data"] = data
    o.update(extra)
    return o


class Base(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp()
        cls.srv = ApiServer(os.path.join(cls.tmp, "srv"))
        cls.srv.start()
        cls.kc = cls.srv.kubeconfig(os.path.join(cls.tmp, "kubeconfig"))
        cls.cache = os.path.join(cls.tmp, "cache")

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        shutil.rmtree(cls.tmp)

    def setUp(self):
        self.ns = self.id().rsplit(".", 1)[-1].replace("_", "-")[:63].strip("-")
        self.srv.clear_faults()
        self.srv.allow_all()

    def kubectl(self, *args, stdin=None, kubeconfig=None, ok=True, timeout=30):
        p = subprocess.run([KUBECTL, "--kubeconfig", kubeconfig or self.kc, "--cache-dir", self.cache, "-n", self.ns,
                            *args], input=stdin, capture_output=True, text=True, timeout=timeout)
        if ok is True:
            self.assertEqual(p.returncode, 0, f"kubectl {' '.join(args)}: {p.stderr}")
        elif ok is False:
            self.assertNotEqual(p.returncode, 0, f"kubectl {' '.join(args)} succeeded: {p.stdout}")
        return p

    def create(self, obj, ok=True):
        return self.kubectl("create", "--validate=false", "-f", "-", stdin=json.dumps(obj), ok=ok)

    def get_json(self, *args):
        return json.loads(self.kubectl("get", *args, "-o", "json").stdout)

    def start_watch(self, *args):
        """kubectl get -w in the background; returns once its watch request reached the server."""
        seen = len(self.srv.requests)
        p = subprocess.Popen([KUBECTL, "--kubeconfig", self.kc, "--cache-dir", self.cache, "-n", self.ns, "get",
                              "configmaps", "-w", "--output-watch-events", "-o", "json", *args],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        def cleanup():
            if p.poll() is None:
                p.kill()
            p.communicate()
        self.addCleanup(cleanup)
        try:
            self.srv.wait_for_request(lambda r: r["watch"] and r["namespace"] == self.ns and r["status"] == 200
                                      and self.srv.requests.index(r) >= seen, timeout=15)
        except TimeoutError:
            p.kill()
            self.fail(f"kubectl never watched: {p.communicate()[1]}")
        return p

    def finish_watch(self, p):
        """End the watch cleanly from the server; kubectl exits 0 at the end of the stream."""
        self.srv.close_watches()
        out, err = p.communicate(timeout=20)
        self.assertEqual(p.returncode, 0, err)
        return decode_stream(out)

    # raw HTTP, for what kubectl cannot show
    def http(self, method, path, body=None, headers=None, timeout=20):
        ctx = ssl.create_default_context(cafile=self.srv.ca_file)
        c = http.client.HTTPSConnection("127.0.0.1", self.srv.port, context=ctx, timeout=timeout)
        h = {"Authorization": f"Bearer {self.srv.token}"}
        h.update(headers or {})
        self.addCleanup(c.close)
        c.request(method, path, body=json.dumps(body) if body is not None else None, headers=h)
        return c.getresponse()

    def watch_lines(self, path):
        r = self.http("GET", path)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.getheader("Transfer-Encoding"), "chunked")
        out = []
        for line in r:
            out.append(json.loads(line))
        return out


class Crud(Base):
    def test_create_get_apply_patch_delete_configmap(self):
        data = {"a.json": '{"x":"<&>"}', "e": "é日本語 \u2028 😀"}
        self.create(cm("p", self.ns, data, {"seccompd.io/profile": "true"}))
        o = self.get_json("configmap", "p")
        self.assertEqual(o["data"], data)
        self.assertIsInstance(o["metadata"]["resourceVersion"], str)
        self.assertEqual(len(o["metadata"]["uid"]), 36)
        self.assertRegex(o["metadata"]["creationTimestamp"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        p = self.create(cm("p", self.ns, data), ok=False)
        self.assertIn('configmaps "p" already exists', p.stderr)

        # apply: create, then change (client-side apply: GET, create / PATCH with last-applied)
        ap = cm("q", self.ns, {"k": "1"})
        self.kubectl("apply", "--validate=false", "-f", "-", stdin=json.dumps(ap))
        ap["data"] = {"k": "2", "l": "3"}
        self.assertIn("configured", self.kubectl("apply", "--validate=false", "-f", "-", stdin=json.dumps(ap)).stdout)
        q = self.get_json("configmap", "q")
        self.assertEqual(q["data"], {"k": "2", "l": "3"})
        self.assertIn("kubectl.kubernetes.io/last-applied-configuration", q["metadata"]["annotations"])
        ap["data"] = {"l": "3"}  # apply removes a key it had set
        self.kubectl("apply", "--validate=false", "-f", "-", stdin=json.dumps(ap))
        self.assertEqual(self.get_json("configmap", "q")["data"], {"l": "3"})
        self.assertGreater(self.srv.count(method="PATCH", resource="configmaps"), 0)

        # merge patch; an RV precondition in the patch -> 409
        self.kubectl("patch", "configmap", "q", "--type=merge", "-p", '{"data":{"m":"4","l":null}}')
        q2 = self.get_json("configmap", "q")
        self.assertEqual(q2["data"], {"m": "4"})
        self.assertGreater(int(q2["metadata"]["resourceVersion"]), int(q["metadata"]["resourceVersion"]))
        p = self.kubectl("patch", "configmap", "q", "--type=merge", "-p",
                         '{"metadata":{"resourceVersion":"1"},"data":{"m":"5"}}', ok=False)
        self.assertIn("the object has been modified", p.stderr)
        # JSON patch with a failing test op -> 422, shown by kubectl
        p = self.kubectl("patch", "configmap", "q", "--type=json", "-p",
                         '[{"op":"test","path":"/data/m","value":"nope"},{"op":"remove","path":"/data/m"}]', ok=False)
        # the real server leaves out which op failed (tests/cluster/test_parity.py)
        self.assertIn("The request is invalid: the server rejected our request due to an error in our request",
                      p.stderr)
        self.kubectl("patch", "configmap", "q", "--type=json", "-p",
                     '[{"op":"test","path":"/data/m","value":"4"},{"op":"remove","path":"/data/m"}]')
        self.assertNotIn("m", self.get_json("configmap", "q").get("data", {}))

        self.kubectl("delete", "configmap", "p")
        p = self.kubectl("get", "configmap", "p", ok=False)
        self.assertIn('configmaps "p" not found', p.stderr)

    def test_secrets(self):
        # kubectl's typed client sends protobuf here
        self.kubectl("create", "secret", "generic", "s", "--from-literal=k=värde <x>", "--from-literal=e=")
        o = self.get_json("secret", "s")
        self.assertEqual(o["type"], "Opaque")
        self.assertEqual({k: base64.b64decode(v).decode() for k, v in o["data"].items()}, {"k": "värde <x>", "e": ""})
        # stringData is merged into data on write
        self.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "t"}, "data": {"a": "YQ=="},
                     "stringData": {"b": "bé"}})
        t = self.get_json("secret", "t")
        self.assertNotIn("stringData", t)
        self.assertEqual(t["data"], {"a": "YQ==", "b": base64.b64encode("bé".encode()).decode()})
        p = self.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "u"}, "data": {"a": "!!"}}, ok=False)
        self.assertIn("illegal base64", p.stderr)
        self.kubectl("delete", "secret", "s", "t")
        self.assertEqual(self.get_json("secrets")["items"], [])

    def test_label_selector_and_items_shape(self):
        for name, labels in (("a", {"seccompd.io/profile": "true"}), ("b", {"seccompd.io/profile": "false"}),
                             ("c", None), ("d", {"seccompd.io/profile": "true", "skip": "1"})):
            self.create(cm(name, self.ns, {"k": name}, labels))
        lst = self.get_json("configmaps", "-l", "seccompd.io/profile=true")
        self.assertEqual([i["metadata"]["name"] for i in lst["items"]], ["a", "d"])
        for sel, want in (("seccompd.io/profile!=true", ["b", "c"]), ("seccompd.io/profile", ["a", "b", "d"]),
                          ("!seccompd.io/profile", ["c"]), ("seccompd.io/profile in (true,false),!skip", ["a", "b"]),
                          ("seccompd.io/profile notin (true)", ["b", "c"]), ("seccompd.io/profile==true,skip=1", ["d"])):
            with self.subTest(sel=sel):
                self.assertEqual([i["metadata"]["name"] for i in self.get_json("configmaps", "-l", sel)["items"]], want)
        # raw list: items without kind/apiVersion, RV a string, no remainingItemCount with a selector
        r = self.http("GET", f"/api/v1/namespaces/{self.ns}/configmaps?labelSelector=seccompd.io%2Fprofile%3Dtrue"
                             "&limit=1")
        body = json.loads(r.read())
        self.assertEqual((body["kind"], body["apiVersion"]), ("ConfigMapList", "v1"))
        self.assertNotIn("kind", body["items"][0])
        self.assertIn("continue", body["metadata"])
        self.assertNotIn("remainingItemCount", body["metadata"])
        body = json.loads(self.http("GET", f"/api/v1/namespaces/{self.ns}/configmaps?limit=1").read())
        self.assertEqual(body["metadata"]["remainingItemCount"], 3)
        body = json.loads(self.http("GET", f"/api/v1/namespaces/{self.ns}/configmaps?limit=1&resourceVersion=0").read())
        self.assertEqual(len(body["items"]), 4)  # RV=0 ignores limit
        self.assertNotIn("continue", body["metadata"])

    def test_pagination_chunk_size(self):
        for i in range(5):
            self.create(cm(f"c{i}", self.ns, {"i": str(i)}))
        first = self.srv.rv
        seen = len(self.srv.requests)
        lst = self.get_json("configmaps", "--chunk-size=2")
        self.assertEqual([i["metadata"]["name"] for i in lst["items"]], [f"c{i}" for i in range(5)])
        lists = [r for r in self.srv.requests[seen:] if r["resource"] == "configmaps" and not r["watch"]]
        self.assertEqual([r["query"].get("limit") for r in lists], ["2", "2", "2"])
        self.assertEqual([bool(r["query"].get("continue")) for r in lists], [False, True, True])
        # every page reports the first page's RV even after writes in between
        b1 = json.loads(self.http("GET", f"/api/v1/namespaces/{self.ns}/configmaps?limit=2").read())
        self.srv.apply(cm("zz", self.ns, {}))
        cont = b1["metadata"]["continue"]
        b2 = json.loads(self.http("GET", f"/api/v1/namespaces/{self.ns}/configmaps?limit=2&continue={cont}").read())
        self.assertEqual(b1["metadata"]["resourceVersion"], b2["metadata"]["resourceVersion"])
        self.assertEqual(b1["metadata"]["resourceVersion"], str(first))
        # an expired continue: 410, with or without a new token; kubectl shows it
        for new in (True, False):
            self.srv.fault("continue_expired", resource="configmaps", new_continue=new)
            p = self.kubectl("get", "configmaps", "--chunk-size=2", "-o", "name", ok=False)
            self.assertIn("Error from server (Expired): The provided continue parameter is too old", p.stderr)

    def test_validation_shown_by_kubectl(self):
        for data, msg in (({"..x": "1"}, "data[..x]: Invalid value: \"..x\": must not start with '..'"),
                          ({"a/b": "1"}, "a valid config key must consist of alphanumeric characters"),
                          ({".": "1"}, "must not be '.'")):
            with self.subTest(data=data):
                p = self.create(cm("bad", self.ns, data), ok=False)
                self.assertIn('The ConfigMap "bad" is invalid', p.stderr)
                self.assertIn(msg, p.stderr)
        p = self.create(cm("dup", self.ns, {"k": "1"}, binaryData={"k": "MQ=="}), ok=False)
        self.assertIn("duplicate of key present in binaryData", p.stderr)
        p = self.create(cm("Bad_Name", self.ns, {}), ok=False)
        self.assertIn("a lowercase RFC 1123 subdomain", p.stderr)
        # size: exactly 1 MiB of values accepted, one byte more rejected, a >3 MiB body is 413
        self.create(cm("big", self.ns, {"k": "x" * (1024 * 1024)}))
        p = self.create(cm("big2", self.ns, {"k": "x" * (1024 * 1024 + 1)}), ok=False)
        self.assertIn("Too long: must have at most 1048576 bytes", p.stderr)
        huge = os.path.join(self.tmp, "huge.json")
        with open(huge, "w") as f:
            json.dump(cm("huge", self.ns, {"k": "x" * (3 * 1024 * 1024)}), f)
        p = self.kubectl("create", "--raw", f"/api/v1/namespaces/{self.ns}/configmaps", "-f", huge, ok=False)
        self.assertIn("Request entity too large", p.stderr)
        self.assertEqual(self.srv.count(status=413), 1)


class Nodes(Base):
    def node(self):
        self.srv.apply({"apiVersion": "v1", "kind": "Node", "metadata": {"name": f"{self.ns}-n"},
                        "spec": {"taints": [{"key": "seccompd.io/not-ready", "effect": "NoSchedule"},
                                            {"key": "other", "value": "x", "effect": "NoExecute"}]},
                        "status": {"conditions": [
                            {"type": "Ready", "status": "True", "reason": "KubeletReady"},
                            {"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory"}]}})
        return f"{self.ns}-n"

    def test_status_conditions_merge_by_type(self):
        n = self.node()
        self.kubectl("patch", "node", n, "--subresource=status", "--type=strategic", "-p", json.dumps({
            "status": {"conditions": [{"type": "SeccompdReady", "status": "True", "reason": "ProfilesInstalled"},
                                      {"type": "MemoryPressure", "status": "Unknown"}]},
            "spec": {"taints": []}}))
        o = self.get_json("node", n)
        conds = {c["type"]: c for c in o["status"]["conditions"]}
        self.assertEqual(sorted(conds), ["MemoryPressure", "Ready", "SeccompdReady"])
        self.assertEqual(conds["MemoryPressure"], {"type": "MemoryPressure", "status": "Unknown",
                                                   "reason": "KubeletHasSufficientMemory"})
        self.assertEqual(len(o["spec"]["taints"]), 2)  # /status ignores spec
        # a merge patch replaces the whole list (why the daemon must not use one)
        self.kubectl("patch", "node", n, "--subresource=status", "--type=merge", "-p",
                     '{"status":{"conditions":[{"type":"SeccompdReady","status":"False"}]}}')
        self.assertEqual([c["type"] for c in self.get_json("node", n)["status"]["conditions"]], ["SeccompdReady"])
        # the main resource ignores status
        self.kubectl("patch", "node", n, "--type=merge", "-p", '{"status":{"conditions":[]}}')
        self.assertEqual(len(self.get_json("node", n)["status"]["conditions"]), 1)

    def test_taints_atomic_and_json_patch_test(self):
        n = self.node()
        t0 = {"key": "seccompd.io/not-ready", "effect": "NoSchedule"}
        remove = json.dumps([{"op": "test", "path": "/spec/taints/0", "value": t0},
                             {"op": "remove", "path": "/spec/taints/0"}])
        self.kubectl("patch", "node", n, "--type=json", "-p", remove)
        self.assertEqual([t["key"] for t in self.get_json("node", n)["spec"]["taints"]], ["other"])
        p = self.kubectl("patch", "node", n, "--type=json", "-p", remove, ok=False)
        self.assertIn("the server rejected our request due to an error in our request", p.stderr)
        # strategic merge: taints are atomic; an RV precondition that is stale -> 409
        rv = self.get_json("node", n)["metadata"]["resourceVersion"]
        self.kubectl("patch", "node", n, "--type=strategic", "-p",
                     json.dumps({"metadata": {"resourceVersion": rv}, "spec": {"taints": [t0]}}))
        self.assertEqual(self.get_json("node", n)["spec"]["taints"], [t0])
        p = self.kubectl("patch", "node", n, "--type=strategic", "-p",
                         json.dumps({"metadata": {"resourceVersion": rv}, "spec": {"taints": []}}), ok=False)
        self.assertIn("Operation cannot be fulfilled on nodes", p.stderr)


class Events(Base):
    def test_events_both_groups(self):
        self.create({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "n.17a"},
                     "involvedObject": {"kind": "Node", "name": "n", "apiVersion": "v1"}, "reason": "ProfileInstalled",
                     "message": "installed <p>", "type": "Normal", "source": {"component": "seccompd"}, "count": 1,
                     "reportingComponent": "seccompd"})
        items = self.get_json("events")["items"]
        self.assertEqual([(e["metadata"]["name"], e["reason"], e["message"]) for e in items],
                         [("n.17a", "ProfileInstalled", "installed <p>")])
        # the same storage through events.k8s.io/v1
        ev = self.get_json("events.v1.events.k8s.io", "n.17a")
        self.assertEqual((ev["apiVersion"], ev["note"], ev["regarding"]["name"], ev["reportingController"]),
                         ("events.k8s.io/v1", "installed <p>", "n", "seccompd"))
        p = self.create({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "x"},
                         "reason": "R", "type": "Normal"}, ok=False)
        self.assertIn("eventTime: Required value", p.stderr)
        self.create({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "y"},
                     "eventTime": "2025-01-02T03:04:05.123456Z", "reportingController": "seccompd.io/agent",
                     "reportingInstance": "n", "action": "Install", "reason": "R", "type": "Warning", "note": "z"})
        self.assertEqual(len(self.get_json("events")["items"]), 2)


class Auth(Base):
    def test_token_rotation_with_token_file(self):
        kc = self.srv.kubeconfig(os.path.join(self.tmp, "kc-file"), user="tokenfile")
        inline = self.srv.kubeconfig(os.path.join(self.tmp, "kc-inline"), user="token")
        self.kubectl("get", "configmaps", kubeconfig=kc)
        self.srv.rotate_token()
        self.kubectl("get", "configmaps", kubeconfig=kc)  # kubectl re-reads the file per invocation
        p = self.kubectl("get", "configmaps", kubeconfig=inline, ok=False)
        self.assertIn("error: You must be logged in to the server (Unauthorized)", p.stderr)
        r = self.http("GET", "/api/v1/namespaces/x/configmaps", headers={"Authorization": "Bearer nope"})
        self.assertEqual((r.status, json.loads(r.read())["reason"]), (401, "Unauthorized"))
        r = self.http("GET", "/api/v1/namespaces/x/configmaps", headers={"Authorization": f"bEaReR {self.srv.token}"})
        self.assertEqual(r.status, 200)

    def test_client_certificate(self):
        kc = self.srv.kubeconfig(os.path.join(self.tmp, "kc-cert"), user="cert")
        self.kubectl("get", "configmaps", kubeconfig=kc)
        self.assertEqual(self.srv.requests[-1]["user"], self.srv.cert_user)

    def test_forbidden_message(self):
        self.srv.forbid("list", "configmaps", self.ns)
        p = self.kubectl("get", "configmaps", ok=False)
        self.assertIn(f'Error from server (Forbidden): configmaps is forbidden: User "{self.srv.token_user}" cannot '
                      f'list resource "configmaps" in API group "" in the namespace "{self.ns}"', p.stderr)
        self.srv.forbid("patch", "nodes/status")
        self.srv.apply({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "fb"}})
        p = self.kubectl("patch", "node", "fb", "--subresource=status", "-p", '{"status":{}}', ok=False)
        self.assertIn('nodes "fb" is forbidden: User "system:serviceaccount:kube-system:seccompd" cannot patch '
                      'resource "nodes/status" in API group "" at the cluster scope', p.stderr)


class Retries(Base):
    def test_429_with_integer_retry_after_is_retried(self):
        self.srv.fault("status", resource="configmaps", watch=False, code=429, retry_after=1, times=2)
        seen = len(self.srv.requests)
        t0 = time.monotonic()
        self.kubectl("get", "configmaps", "-o", "name")
        self.assertGreaterEqual(time.monotonic() - t0, 2.0)
        self.assertEqual([r["status"] for r in self.srv.requests[seen:] if r["resource"] == "configmaps"],
                         [429, 429, 200])

    def test_apf_plain_text_429_retried_and_other_variants_not(self):
        self.srv.fault("apf", resource="configmaps", retry_after=1)
        self.kubectl("get", "configmaps", "-o", "name")
        for kw, msg in (({"code": 429, "retry_after": "Wed, 21 Oct 2015 07:28:00 GMT"}, "TooManyRequests"),
                        ({"code": 429}, "TooManyRequests"), ({"code": 503}, "ServiceUnavailable"),
                        ({"code": 500}, "InternalError")):
            with self.subTest(**kw):
                self.srv.fault("status", resource="configmaps", **kw)
                p = self.kubectl("get", "configmaps", "-o", "name", ok=False)
                self.assertIn(f"Error from server ({msg})", p.stderr)
        self.srv.fault("status", resource="configmaps", code=503, retry_after=1)
        self.kubectl("get", "configmaps", "-o", "name")

    def test_reset_and_http_410_on_watch_open(self):
        self.srv.apply(cm("a", self.ns, {}))
        self.srv.fault("status", resource="configmaps", watch=True, code=410)
        p = self.kubectl("get", "configmaps", "-w", "-o", "name", ok=False)
        self.assertIn("Error from server (Expired)", p.stderr)
        # client-go retries a GET after a connection reset (1 s apart): three resets, then the answer
        self.srv.fault("reset", resource="configmaps", watch=False, times=3)
        seen = len(self.srv.requests)
        self.kubectl("get", "configmaps", "-o", "name")
        self.assertEqual([r["status"] for r in self.srv.requests[seen:] if r["resource"] == "configmaps"],
                         ["reset", "reset", "reset", 200])

    def test_restart_refuses_then_429_then_serves(self):
        self.srv.apply(cm("a", self.ns, {}))
        w = self.start_watch()
        seen = len(self.srv.requests)
        t = threading.Thread(target=self.srv.restart, kwargs={"down": 1.5, "unready": 2})
        t.start()
        w.communicate(timeout=10)
        self.assertEqual(w.returncode, 0)  # the watch ended cleanly
        with self.assertRaises(ConnectionRefusedError):  # down: the watch ended after the listener closed
            socket.create_connection(("127.0.0.1", self.srv.port), timeout=5).close()
        t.join()
        self.assertEqual(self.kubectl("get", "configmaps", "-o", "name").stdout, "configmap/a\n")
        self.assertEqual([r["status"] for r in self.srv.requests[seen:] if r["resource"] == "configmaps"],
                         [429, 429, 200])

    def test_half_open(self):
        """The server keeps the socket and sends nothing: only a client-side deadline ends it."""
        self.srv.apply(cm("a", self.ns, {}))
        self.srv.fault("hang", resource="configmaps", watch=True, namespace=self.ns, after=1)
        r = self.http("GET", f"/api/v1/namespaces/{self.ns}/configmaps?watch=1&resourceVersion=0", timeout=1)
        self.assertEqual(r.status, 200)
        self.assertEqual(json.loads(r.readline())["type"], "ADDED")
        with self.assertRaises(TimeoutError):
            r.readline()
        self.srv.fault("hang", resource="configmaps", watch=False, namespace=self.ns)
        p = self.kubectl("get", "configmaps", "--request-timeout=1", ok=False)
        self.assertRegex(p.stderr, r"context deadline exceeded|Client\.Timeout exceeded while awaiting headers")


class Watch(Base):
    def test_added_modified_deleted(self):
        self.srv.apply(cm("pre", self.ns, {"k": "0"}))
        w = self.start_watch()
        self.srv.apply(cm("a", self.ns, {"k": "1"}))
        self.srv.apply(cm("a", self.ns, {"k": "2"}))
        self.srv.delete("ConfigMap", self.ns, "a")
        ev = self.finish_watch(w)
        self.assertEqual([(e["type"], e["object"]["metadata"]["name"], e["object"].get("data")) for e in ev],
                         [("ADDED", "pre", {"k": "0"}), ("ADDED", "a", {"k": "1"}), ("MODIFIED", "a", {"k": "2"}),
                          ("DELETED", "a", {"k": "2"})])
        rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in ev[1:]]
        self.assertEqual(rvs, sorted(rvs))
        self.assertTrue(all(e["object"]["kind"] == "ConfigMap" for e in ev))

    def test_label_transitions(self):
        sel = {"seccompd.io/profile": "true"}
        w = self.start_watch("-l", "seccompd.io/profile=true")
        self.srv.apply(cm("a", self.ns, {"k": "1"}, sel))
        self.srv.apply(cm("a", self.ns, {"k": "2"}, {"seccompd.io/profile": "false"}))
        out_rv = self.srv.rv
        self.srv.apply(cm("a", self.ns, {"k": "3"}, sel))
        self.srv.apply(cm("b", self.ns, {"k": "x"}))  # never matches
        ev = self.finish_watch(w)
        self.assertEqual([(e["type"], e["object"]["data"]["k"]) for e in ev], [("ADDED", "1"), ("DELETED", "1"),
                                                                              ("ADDED", "3")])
        # DELETED carries the previous object (old labels) with the new RV
        self.assertEqual(ev[1]["object"]["metadata"]["labels"], sel)
        self.assertEqual(ev[1]["object"]["metadata"]["resourceVersion"], str(out_rv))

    def test_split_faults_same_output(self):
        data = {"k": "é日本語😀 <&> \u2028\u2029 \\\" \n\t end", "ascii": "x" * 50}

        def run(**fault):
            self.srv.delete("ConfigMap", self.ns, "a")
            self.srv.apply(cm("a", self.ns, data, {"l": "1"}))
            if fault:
                self.srv.fault(watch=True, resource="configmaps", namespace=self.ns, **fault)
            w = self.start_watch()
            for i in range(3):
                self.srv.apply(cm("a", self.ns, dict(data, i=str(i)), {"l": "1"}))
            self.srv.delete("ConfigMap", self.ns, "a")
            ev = self.finish_watch(w)
            self.assertEqual(self.srv.faults, [])  # the fault shaped this watch
            for e in ev:
                for k in ("resourceVersion", "uid", "creationTimestamp"):
                    e["object"]["metadata"].pop(k)
            return ev

        base = run()
        self.assertEqual([e["type"] for e in base], ["ADDED", "MODIFIED", "MODIFIED", "MODIFIED", "DELETED"])
        self.assertEqual(base[0]["object"]["data"], data)
        for fault in ({"kind": "split", "size": 1}, {"kind": "split", "size": 2}, {"kind": "split", "size": 7},
                      {"kind": "split", "size": 1, "wire": True}, {"kind": "split", "size": 3, "wire": True},
                      {"kind": "coalesce", "events": 4, "wait": 2}):
            with self.subTest(**fault):
                self.assertEqual(run(**fault), base)

    def test_mid_stream_errors_printed(self):
        self.srv.apply(cm("a", self.ns, {}))
        for reason in ("Expired", "Gone"):
            with self.subTest(reason=reason):
                self.srv.fault("error", watch=True, namespace=self.ns, after=1, reason=reason)
                w = self.start_watch()
                self.srv.apply(cm("b", self.ns, {}))
                out, err = w.communicate(timeout=20)
                ev = decode_stream(out)
                self.assertEqual([e["type"] for e in ev], ["ADDED", "ADDED", "ERROR"])
                self.assertEqual((ev[2]["object"]["code"], ev[2]["object"]["reason"]), (410, reason))
                self.assertIn("too old resource version", ev[2]["object"]["message"])
                self.srv.delete("ConfigMap", self.ns, "b")
        # an unknown event type and a garbage line are client-side decode errors (ERROR 500 ClientWatchDecoding)
        for line, msg in ((b'{"type":"UPSERTED","object":{}}\n', "got invalid watch event type: UPSERTED"),
                          (b"garbage\n", "invalid character 'g'")):
            with self.subTest(line=line):
                self.srv.fault("inject", watch=True, namespace=self.ns, line=line)
                p = self.kubectl("get", "configmaps", "-w", "--output-watch-events", "-o", "json")
                ev = decode_stream(p.stdout)
                self.assertEqual(ev[-1]["type"], "ERROR")
                self.assertIn(msg, ev[-1]["object"]["message"])
        # early clean close with 0 events: kubectl exits 0
        self.srv.fault("close", watch=True, namespace=self.ns, after=0)
        p = self.kubectl("get", "configmaps", "-w", "--output-watch-events", "-o", "json")
        self.assertEqual([e["type"] for e in decode_stream(p.stdout)], ["ADDED"])

    def test_raw_protocol_resume_expiry_bookmarks(self):
        """What kubectl cannot show: watch from RV X, 410 after a restart, TooLarge, bookmarks, timeouts, gzip."""
        base = f"/api/v1/namespaces/{self.ns}/configmaps"
        self.srv.apply(cm("a", self.ns, {"k": "1"}))
        rv = self.srv.rv
        self.srv.apply(cm("a", self.ns, {"k": "2"}))
        self.srv.apply(cm("b", self.ns, {"k": "3"}))
        ev = self.watch_lines(f"{base}?watch=1&resourceVersion={rv}&timeoutSeconds=1")
        self.assertEqual([(e["type"], e["object"]["metadata"]["name"]) for e in ev], [("MODIFIED", "a"), ("ADDED", "b")])
        ev = self.watch_lines(f"{base}?watch=true&resourceVersion=0&timeoutSeconds=1")  # synthetic ADDED first
        self.assertEqual([(e["type"], e["object"]["metadata"]["name"]) for e in ev], [("ADDED", "a"), ("ADDED", "b")])
        # bookmarks only when allowed, and only for writes after the watch started (a quiet stream, or
        # one that only replays history, gets none); one shortly before the timeout
        self.srv.bookmark_interval = 0.3
        try:
            ev = self.watch_lines(f"{base}?watch=1&resourceVersion={self.srv.rv}&timeoutSeconds=1")
            self.assertEqual(ev, [])
            ev = self.watch_lines(f"{base}?watch=1&resourceVersion={self.srv.rv}&timeoutSeconds=1"
                                  "&allowWatchBookmarks=true")
            self.assertEqual(ev, [])
            before = self.srv.rv
            self.srv.apply(cm("a", self.ns, {"k": "bm"}))
            ev = self.watch_lines(f"{base}?watch=1&resourceVersion={before}&timeoutSeconds=1"
                                  "&allowWatchBookmarks=true")
            self.assertEqual([e["type"] for e in ev], ["MODIFIED"])
            r = self.http("GET", f"{base}?watch=1&resourceVersion={self.srv.rv}&timeoutSeconds=3"
                          "&allowWatchBookmarks=true")
            # the headers come once the watch is subscribed: this write is after its start
            self.srv.apply(cm("a", self.ns, {"k": "bm2"}))
            ev = [json.loads(line) for line in r]
            self.assertGreaterEqual(len(ev), 3)
            self.assertEqual(ev[0]["type"], "MODIFIED")
            self.assertEqual(ev[1], {"type": "BOOKMARK", "object": {"kind": "ConfigMap", "apiVersion": "v1",
                                     "metadata": {"resourceVersion": str(self.srv.rv), "creationTimestamp": None}}})
        finally:
            self.srv.bookmark_interval = 60.0
        # watch-list: initial ADDED then the initial-events-end bookmark
        ev = self.watch_lines(f"{base}?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan"
                              "&allowWatchBookmarks=true&timeoutSeconds=1")
        self.assertEqual([e["type"] for e in ev[:3]], ["ADDED", "ADDED", "BOOKMARK"])
        self.assertEqual(ev[2]["object"]["metadata"]["annotations"], {"k8s.io/initial-events-end": "true"})
        # RV too large: ERROR 504 ResourceVersionTooLarge after too_large_timeout
        self.srv.too_large_timeout = 0.2
        ev = self.watch_lines(f"{base}?watch=1&resourceVersion={self.srv.rv + 100}")
        self.srv.too_large_timeout = 3.0
        self.assertEqual((ev[0]["type"], ev[0]["object"]["code"], ev[0]["object"]["details"]["causes"][0]["reason"]),
                         ("ERROR", 504, "ResourceVersionTooLarge"))
        # restart: open watches end cleanly, objects stay, old RVs get ERROR 410 Expired
        r = self.http("GET", f"{base}?watch=1&resourceVersion={self.srv.rv}")
        self.srv.restart(expire_history=True)
        self.assertEqual(r.read(), b"")
        ev = self.watch_lines(f"{base}?watch=1&resourceVersion={rv}")
        self.assertEqual((ev[0]["type"], ev[0]["object"]["reason"], ev[0]["object"]["code"]), ("ERROR", "Expired", 410))
        self.assertRegex(ev[0]["object"]["message"], r"^too old resource version: \d+ \(\d+\)$")
        self.assertEqual(len(json.loads(self.http("GET", base).read())["items"]), 2)
        # gzip above 128 KiB when asked
        self.srv.apply(cm("big", self.ns, {"k": "y" * 200_000}))
        r = self.http("GET", base, headers={"Accept-Encoding": "gzip"})
        self.assertEqual(r.getheader("Content-Encoding"), "gzip")
        self.assertEqual(len(json.loads(gzip.decompress(r.read()))["items"]), 3)
        # Go-style escaping on the wire
        self.srv.apply(cm("esc", self.ns, {"k": "<&>\u2028é"}))
        raw = self.http("GET", f"{base}/esc").read()
        self.assertIn(b'"k":"\\u003c\\u0026\\u003e\\u2028\xc3\xa9"', raw)


if __name__ == "__main__":
    unittest.main()
