#!/usr/bin/env python3
"""Keep the fake honest (issue 10, item 7): the same requests go to the cluster tier's real
kube-apiserver and to the fake one seccompd's other tests use (tests/kube/apiserver.py, started
here in-process), and what comes back is compared, so a drift of the fake names itself: each
comparison is its own test method.

Only what legitimately differs is normalised (norm(), server_defaults()): uids, the values of
resourceVersions and server timestamps, managedFields, the continue token's encoding, and the
objects and defaults the real control plane adds that the fake does not model, listed there with why.

The cluster is shared with other runs: everything here lives in the namespace `parity` and in Nodes
named parity-node-*, and a request refused while another run restarts the API server is retried
(a scenario it cut is done again). The Nodes go at the end; the namespace stays, empty but for the
root CA's ConfigMap (a deleted one would still be terminating when the next run wants it).

  SECCOMPD_CLUSTER_DIR=/var/tmp/sdc python3 tests/cluster/test_parity.py -v
"""

import base64
import functools
import http.client
import json
import os
import shutil
import socket
import ssl
import sys
import tempfile
import time
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from tier import ROOT, TAINT, Tier, main  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "tests", "kube"))
from apiserver import ApiServer  # noqa: E402

NS = "parity"
NODE1, NODE2 = "parity-node-1", "parity-node-2"
CONDITION = "SeccompProfilesReady"  # daemon/kube-node.h
HISTORY = 20  # the fake's event history; more writes than this make RV 1 too old there
OUTAGE = 120  # seconds a refused connection is retried for
NOW = "2026-01-02T03:04:05Z"
CM_BASE = f"/api/v1/namespaces/{NS}/configmaps"
ROOT_CA = "kube-root-ca.crt"

T = None
FAKE = None
TMP = None


class Outage(Exception):
    """The real server went away mid-scenario (another run restarts it): the scenario is done again."""


class Resp:
    def __init__(self, status, raw):
        self.status, self.raw = status, raw
        try:
            self.json = json.loads(raw) if raw else None
        except ValueError:
            self.json = None

    def __repr__(self):
        return f"<{self.status} {self.raw[:300]!r}>"


class Side:
    """One API server, over http.client with its own CA and credentials."""

    def __init__(self, name, url, ca, cert=None, token=None):
        self.name = name
        u = urllib.parse.urlsplit(url)
        self.host, self.port = u.hostname, u.port
        self.ctx = ssl.create_default_context(cafile=ca)
        if cert:
            self.ctx.load_cert_chain(*cert)
        self.auth = {"Authorization": f"Bearer {token}"} if token else {}

    def __repr__(self):
        return self.name

    def _open(self, method, path, data, ctype, timeout):
        """The response to one request; a refused connection (the server restarting) is retried, and so
        is a GET cut before its answer. 429 and 503 mean the request was not served: retried too."""
        deadline = time.monotonic() + OUTAGE
        while True:
            c = http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=timeout)
            headers = {"Accept": "application/json", **self.auth}
            if data is not None:
                headers["Content-Type"] = ctype
            try:
                c.request(method, path, body=data, headers=headers)
                r = c.getresponse()
                if r.status in (429, 503) and time.monotonic() < deadline:
                    r.read()
                    c.close()
                    time.sleep(1)  # retry backoff, not synchronisation: the server said come back
                    continue
                return c, r
            except (ConnectionRefusedError, ConnectionResetError, http.client.RemoteDisconnected,
                    ssl.SSLEOFError, BrokenPipeError) as e:
                c.close()
                if not (isinstance(e, ConnectionRefusedError) or method == "GET"):
                    raise Outage(f"{self.name}: {method} {path}: {e!r}")
                if time.monotonic() > deadline:
                    raise Outage(f"{self.name}: refused for {OUTAGE} s: {method} {path}")
                time.sleep(0.5)  # retry backoff while the API server restarts

    def request(self, method, path, body=None, ctype="application/json"):
        data = None if body is None else body.encode() if isinstance(body, str) else json.dumps(body).encode()
        c, r = self._open(method, path, data, ctype, 30)
        try:
            return Resp(r.status, r.read())
        except (ConnectionResetError, http.client.IncompleteRead, ssl.SSLError) as e:
            raise Outage(f"{self.name}: {method} {path}: {e!r}")
        finally:
            c.close()

    def get(self, path):
        return self.request("GET", path)

    def post(self, path, body):
        return self.request("POST", path, body)

    def patch(self, path, body, ctype):
        return self.request("PATCH", path, body if isinstance(body, str) else json.dumps(body), ctype)

    def delete(self, path):
        return self.request("DELETE", path)

    def watch(self, query, timeout, base=CM_BASE, until=None):
        """(status, events, seconds): every event of a watch the server ends itself (timeoutSeconds,
        or an ERROR), or up to the first for which until(event) is true; read with a socket
        timeout, never a sleep."""
        w = Watch(self, query, timeout, base)
        try:
            if w.status() != 200:
                return w.status(), w.error, w.took()
            events = []
            while True:
                e = w.next()
                if e is None:
                    return 200, events, w.took()
                events.append(e)
                if until and until(e):
                    return 200, events, w.took()
        finally:
            w.close()


class Watch:
    """A watch request sent at once; its response read later, an event at a time (so a test can
    write between opening a watch and reading it)."""

    def __init__(self, side, query, timeout, base=CM_BASE):
        self.side, self.query, self.t0, self.r, self.error = side, query, time.monotonic(), None, None
        deadline = self.t0 + OUTAGE
        while True:
            self.c = http.client.HTTPSConnection(side.host, side.port, context=side.ctx, timeout=timeout + 20)
            try:
                self.c.request("GET", f"{base}?watch=1&{query}&timeoutSeconds={timeout}",
                               headers={"Accept": "application/json", **side.auth})
                return
            except ConnectionRefusedError:
                self.c.close()
                if time.monotonic() > deadline:
                    raise Outage(f"{side}: refused for {OUTAGE} s: watch {query}")
                time.sleep(0.5)  # retry backoff while the API server restarts

    def _cut(self, e):
        raise Outage(f"{self.side}: watch {self.query}: {e!r}")

    def status(self):
        if self.r is None:
            try:
                self.r = self.c.getresponse()
            except (ConnectionResetError, http.client.RemoteDisconnected, ssl.SSLError, socket.timeout) as e:
                self._cut(e)
            if self.r.status != 200:
                self.error = Resp(self.r.status, self.r.read()).json
        return self.r.status

    def next(self):
        """The next event; None at the stream's end."""
        if self.status() != 200:
            raise AssertionError(f"{self.side}: watch {self.query}: {self.r.status} {self.error}")
        try:
            line = self.r.readline()
        except (ConnectionResetError, http.client.IncompleteRead, ssl.SSLError, socket.timeout) as e:
            self._cut(e)
        return json.loads(line) if line else None

    def rest(self):
        out = []
        while (e := self.next()) is not None:
            out.append(e)
        return out

    def took(self):
        return time.monotonic() - self.t0

    def close(self):
        self.c.close()


# ---- what legitimately differs ------------------------------------------------------------------

def norm(o):
    """Values that are the server's own, as placeholders (so their presence still counts): uids,
    resourceVersions, creationTimestamps (but a null stays null: bookmarks carry one), the continue
    token (opaque; the real one is unpadded base64url of the etcd key, the fake's padded standard
    base64 on purpose, so a client that forgets to URL-escape it fails there); managedFields dropped
    (the fake keeps none: server-side apply's bookkeeping, which seccompd never sends or reads)."""
    if isinstance(o, list):
        return [norm(x) for x in o]
    if not isinstance(o, dict):
        return o
    out = {}
    for k, v in o.items():
        if k == "metadata" and isinstance(v, dict):
            v = {mk: mv for mk, mv in v.items() if mk != "managedFields"}
            for f in ("uid", "resourceVersion", "creationTimestamp", "continue"):
                if isinstance(v.get(f), str):
                    v[f] = f"<{f}>"
        out[k] = norm(v)
    return out


NODE_TAINTS = "node.kubernetes.io/"
NODE_CONTROLLER_CONDITIONS = {"Ready", "MemoryPressure", "DiskPressure", "PIDPressure", "NetworkUnavailable"}


def server_defaults(o):
    """What the real control plane adds to our objects that the fake does not model, and seccompd
    does not read; removed from the real server's answers (a no-op on the fake's):
    - Node status.daemonEndpoints and status.nodeInfo: zero-valued structs, which Go always encodes;
    - Node annotation node.alpha.kubernetes.io/ttl: kube-controller-manager's TTL controller;
    - Node taints node.kubernetes.io/*: the TaintNodesByCondition admission plugin adds not-ready at
      creation, the node lifecycle controller removes it and adds unreachable for a node without a
      kubelet (about a minute in);
    - Node conditions of the kubelet's types: the node lifecycle controller sets them Unknown then;
    - Event eventTime: null: core/v1 Event's MicroTime is a struct, so Go encodes the zero as null.
    A list that only the control plane's entries made non-empty goes away with them; one that was
    already empty stays, so an empty list kept where the real server drops it still shows."""
    o = json.loads(json.dumps(o))
    if not isinstance(o, dict):
        return o
    if o.get("kind") == "Event" and o.get("eventTime", "") is None:
        del o["eventTime"]
    if o.get("kind") == "Node":
        st = o.get("status") or {}
        st.pop("daemonEndpoints", None)
        st.pop("nodeInfo", None)
        ann = o.get("metadata", {}).get("annotations")
        if ann is not None:
            ann.pop("node.alpha.kubernetes.io/ttl", None)
            if not ann:
                del o["metadata"]["annotations"]
        for parent, field, ours in ((o.get("spec"), "taints", lambda t: not t["key"].startswith(NODE_TAINTS)),
                                    (st, "conditions", lambda c: c["type"] not in NODE_CONTROLLER_CONDITIONS)):
            if parent and parent.get(field):
                kept = [x for x in parent[field] if ours(x)]
                if kept:
                    parent[field] = kept
                else:
                    del parent[field]
    return o


def status_view(o, message=True):
    """A Status as a client sees it: kind, apiVersion, status, reason, code, the metadata's and
    details' keys and values (uids as placeholders), the causes; the message when it is meant to
    match (clients print it: kubectl, seccompd's logs)."""
    v = {k: o.get(k) for k in ("kind", "apiVersion", "status", "reason", "code")}
    v["metadata"] = sorted((o.get("metadata") or {}).keys())
    if "details" in o:
        d = dict(o["details"])
        if "uid" in d:
            d["uid"] = "<uid>"
        if not message and "causes" in d:
            d["causes"] = [{k: c.get(k) for k in ("reason", "field")} for c in d["causes"]]
        v["details"] = d
    if message:
        v["message"] = o.get("message")
    return v


def cm(name, data=None, labels=None, **meta):
    o = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, **meta}}
    if labels is not None:
        o["metadata"]["labels"] = labels
    if data is not None:
        o["data"] = data
    return o


# ---- what seccompd sends (lib/kube/report.c), in Python -----------------------------------------

def event(name, obj_name, obj_uid, reason="ProfileInvalid", message="parity: a profile seccompd rejected"):
    """kube_event_new's Event."""
    return {"apiVersion": "v1", "kind": "Event",
            "metadata": {"name": name, "namespace": NS},
            "involvedObject": {"kind": "ConfigMap", "namespace": NS, "name": obj_name, "uid": obj_uid,
                               "apiVersion": "v1"},
            "reason": reason, "message": message, "type": "Warning",
            "source": {"component": "seccompd", "host": NODE1},
            "reportingComponent": "seccompd", "reportingInstance": NODE1,
            "firstTimestamp": NOW, "lastTimestamp": NOW, "count": 1}


def taint_removal_patch(node, key):
    """kube_taint_removal_patch: a test of the resourceVersion, then, from the last taint to the
    first, a test of each taint with the key and its removal; None when there is none."""
    ops = []
    rv = (node.get("metadata") or {}).get("resourceVersion")
    if rv is not None:
        ops.append({"op": "test", "path": "/metadata/resourceVersion", "value": rv})
    taints = (node.get("spec") or {}).get("taints") or []
    removed = 0
    for i in reversed(range(len(taints))):
        if taints[i]["key"] == key:
            ops.append({"op": "test", "path": f"/spec/taints/{i}", "value": taints[i]})
            ops.append({"op": "remove", "path": f"/spec/taints/{i}"})
            removed += 1
    return json.dumps(ops, separators=(",", ":")) if removed else None


def condition_patch(type_, status, reason, message, transition=NOW):
    """kube_condition_patch's strategic-merge patch of nodes/NAME/status."""
    return json.dumps({"status": {"conditions": [{
        "type": type_, "status": "True" if status else "False", "reason": reason, "message": message,
        "lastHeartbeatTime": NOW, "lastTransitionTime": transition}]}}, separators=(",", ":"))


def again(fn):
    """A scenario that another run's API server restart cut is done again from a clean slate."""
    @functools.wraps(fn)
    def run(self):
        last = None
        for _ in range(3):
            try:
                return fn(self)
            except Outage as e:
                last = e
                self.clean()
        raise AssertionError(f"the real API server kept going away: {last}")
    return run


def setUpModule():
    global T, FAKE, TMP
    T = Tier()
    TMP = tempfile.mkdtemp(prefix="sd-parity-")
    FAKE = ApiServer(os.path.join(TMP, "fake"), history_size=HISTORY).start()


def tearDownModule():
    if FAKE:
        FAKE.stop()
    if TMP:
        shutil.rmtree(TMP, ignore_errors=True)
    if T:
        T.close()


class Parity(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.real = Side("real", T.api, os.path.join(T.c.pki, "ca.crt"),
                        cert=(os.path.join(T.c.pki, "admin.crt"), os.path.join(T.c.pki, "admin.key")))
        cls.fake = Side("fake", FAKE.url, FAKE.ca_file, token=FAKE.token)
        cls.sides = (cls.real, cls.fake)
        r = cls.real.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
        if r.status not in (201, 409):
            raise AssertionError(f"creating namespace {NS}: {r}")
        # kube-controller-manager's root-CA publisher puts this ConfigMap in every namespace; the fake
        # has no controllers, so it gets a copy: unselected lists then count the same objects.
        ca, deadline = None, time.monotonic() + 30
        while ca is None and time.monotonic() < deadline:
            listed = cls.real.get(f"{CM_BASE}?fieldSelector=metadata.name%3D{ROOT_CA}").json
            ca = next(iter(listed["items"]), None)
            if ca is None:  # a new namespace: wait for the controller's write (an ERROR 504 if none comes)
                _, events, _ = cls.real.watch(f"fieldSelector=metadata.name%3D{ROOT_CA}&resourceVersion="
                                              f"{listed['metadata']['resourceVersion']}", 10,
                                              until=lambda e: e["type"] in ("ADDED", "ERROR"))
                ca = next((e["object"] for e in events if e["type"] == "ADDED"), None)
        if ca is None:
            raise AssertionError(f"no {ROOT_CA} ConfigMap in namespace {NS} within 30 s")
        FAKE.apply(cm(ROOT_CA, ca.get("data"), ca["metadata"].get("labels"), namespace=NS,
                      annotations=ca["metadata"].get("annotations") or {}))
        cls.clean()

    @classmethod
    def tearDownClass(cls):
        cls.clean()

    @classmethod
    def clean(cls):
        """Our ConfigMaps (all but the root CA's), Events and Nodes, on both sides."""
        for side in cls.sides:
            for path in (CM_BASE, f"/api/v1/namespaces/{NS}/events"):
                items = side.get(path).json["items"]
                for o in items:
                    if o["metadata"]["name"] != ROOT_CA:
                        side.delete(f"{path}/{o['metadata']['name']}")
            for n in (NODE1, NODE2):
                side.delete(f"/api/v1/nodes/{n}")

    def setUp(self):
        self.clean()

    # ---- helpers ------------------------------------------------------------------------------

    def both(self, method, path, body=None, ctype="application/json"):
        """The same request to each side: {side: Resp}."""
        return {s: s.request(method, path, body if body is None or isinstance(body, str) else json.dumps(body),
                             ctype) for s in self.sides}

    def create(self, *objs, base=CM_BASE):
        """Create objects on both sides; {side: [created objects]}."""
        out = {s: [] for s in self.sides}
        for o in objs:
            for s, r in self.both("POST", base, o).items():
                self.assertEqual(r.status, 201, f"{s}: create {o['metadata']['name']}: {r}")
                out[s].append(r.json)
        return out

    def same(self, got, view=lambda o: server_defaults(norm(o)), what=""):
        """The views of the real and the fake answer are equal."""
        real, fake = view(got[self.real]), view(got[self.fake])
        self.assertEqual(fake, real, f"{what}: the fake (first) drifts from the real server (second)")
        return real

    def same_status(self, got, code, message=True):
        for s, r in got.items():
            self.assertEqual(r.status, code, f"{s}: {r}")
        self.same({s: r.json for s, r in got.items()}, lambda o: status_view(o, message), "Status")

    def age_history(self):
        """More writes than the fake keeps history for, on both sides: RV 1 is too old on each then
        (the real one's watch cache starts far later, and etcd compacts every 5 minutes)."""
        self.create(cm("aging", {"n": "0"}))
        for i in range(HISTORY + 1):
            for s, r in self.both("PATCH", f"{CM_BASE}/aging", {"data": {"n": str(i)}},
                                  "application/merge-patch+json").items():
                self.assertEqual(r.status, 200, f"{s}: {r}")

    def pages(self, side, query):
        """Every page of a list with limit=2, following metadata.continue."""
        out, cont = [], None
        while True:
            q = query + (f"&continue={urllib.parse.quote(cont, safe='')}" if cont else "")
            r = side.get(f"{CM_BASE}?limit=2&{q}")
            self.assertEqual(r.status, 200, f"{side}: {r}")
            out.append(r.json)
            cont = r.json["metadata"].get("continue")
            if not cont or len(out) > 10:
                return out

    def page_view(self, page):
        return {"kind": page.get("kind"), "apiVersion": page.get("apiVersion"),
                "metadata": norm({"metadata": page["metadata"]})["metadata"],
                "items": [norm(i) for i in page["items"]]}

    # ---- lists --------------------------------------------------------------------------------

    @again
    def test_list_pages_with_selector(self):
        """limit=2 over 5 labeled ConfigMaps: 3 pages, continue on all but the last, never a
        remainingItemCount (a selector makes it unknown), items without kind/apiVersion."""
        self.create(*(cm(f"list-{i}", {"k": f"v{i}"}, {"parity": "list"}) for i in range(1, 6)))
        self.create(cm("list-unlabeled", {"k": "x"}))
        got = {s: self.pages(s, "labelSelector=parity%3Dlist") for s in self.sides}
        self.assertEqual(len(got[self.real]), 3)
        self.same(got, lambda ps: [self.page_view(p) for p in ps], "pages")

    @again
    def test_list_pages_without_selector_count_the_rest(self):
        """Without a selector each page but the last says how many items remain."""
        self.create(*(cm(f"list-{i}", {"k": f"v{i}"}, {"parity": "list"}) for i in range(1, 6)))
        got = {s: self.pages(s, "") for s in self.sides}
        self.assertEqual([p["metadata"].get("remainingItemCount") for p in got[self.real]], [4, 2, None])
        self.same(got, lambda ps: [self.page_view(p) for p in ps], "pages")

    @again
    def test_list_expired_continue_410_then_inconsistent_token(self):
        """A continue token whose RV is compacted: 410 Expired with a new token in the Status's
        metadata, which lists the rest at the current RV."""
        self.create(*(cm(f"list-{i}", {"k": f"v{i}"}, {"parity": "list"}) for i in range(1, 6)))
        page = f"{CM_BASE}?limit=2&labelSelector=parity%3Dlist"
        first = {s: s.get(page).json for s in self.sides}
        self.age_history()
        got, rest = {}, {}
        for s in self.sides:
            tok = first[s]["metadata"]["continue"]
            d = json.loads(base64.urlsafe_b64decode(tok.replace("+", "-").replace("/", "_") + "=" * (-len(tok) % 4)))
            d["rv"] = 1  # the token's format is the server's own: each is aged in its own encoding
            raw = json.dumps(d, separators=(",", ":")).encode()
            old = (base64.urlsafe_b64encode(raw).decode().rstrip("=") if s is self.real
                   else base64.b64encode(raw).decode())
            got[s] = s.get(f"{page}&continue={urllib.parse.quote(old, safe='')}")
            if s is self.real and got[s].status == 200:
                self.skipTest("etcd has not compacted revision 1 yet (the API server compacts every 5 minutes)")
            new = (got[s].json.get("metadata") or {}).get("continue")
            self.assertTrue(new, f"{s}: no new continue token in the 410: {got[s]}")
            rest[s] = s.get(f"{page}&continue={urllib.parse.quote(new, safe='')}")
        self.same_status(got, 410)
        for s, r in rest.items():
            self.assertEqual(r.status, 200, f"{s}: {r}")
        self.same({s: r.json for s, r in rest.items()}, self.page_view, "the rest after the inconsistent token")

    # ---- watches ------------------------------------------------------------------------------

    @again
    def test_watch_from_list_rv_events_then_bookmark(self):
        """Watch from a list's RV with allowWatchBookmarks, then the changes: each as the selector
        sees it (one that loses the label is DELETED, with its last labeled content at the new RV),
        at its write's RV; then one bookmark 2 s before timeoutSeconds, shaped like the real one,
        at an RV that covers the write the selector hid."""
        sel = "labelSelector=parity%3Dwatch"
        self.create(*(cm(f"watch-{i}", {"k": f"v{i}"}, {"parity": "watch"}) for i in range(1, 4)))
        listed = {s: s.get(f"{CM_BASE}?{sel}").json["metadata"]["resourceVersion"] for s in self.sides}
        # Opened before the writes, read after: the real server may hold the response until its
        # watch cache has caught up with the list's RV, which only a write to ConfigMaps makes it do.
        watches = {s: Watch(s, f"{sel}&allowWatchBookmarks=true&resourceVersion={listed[s]}", 5) for s in self.sides}
        try:
            rvs = {s: [] for s in self.sides}

            def write(method, path, body=None, ctype="application/json"):
                for s, r in self.both(method, path, body, ctype).items():
                    self.assertIn(r.status, (200, 201), f"{s}: {method} {path}: {r}")
                    rvs[s].append(r.json["metadata"].get("resourceVersion") if r.json["kind"] != "Status" else None)
            write("PATCH", f"{CM_BASE}/watch-1", {"data": {"k": "changed"}}, "application/merge-patch+json")
            write("PATCH", f"{CM_BASE}/watch-2", {"metadata": {"labels": {"parity": None}}},
                  "application/merge-patch+json")
            write("POST", CM_BASE, cm("watch-4", {"k": "v4"}, {"parity": "watch"}))
            write("DELETE", f"{CM_BASE}/watch-3")
            got = {}
            for s, w in watches.items():
                got[s] = [w.next() for _ in range(4)]
                if s is self.real and (None in got[s] or any(e["type"] == "ERROR" for e in got[s])):
                    raise Outage(f"the real watch ended or failed early (an API server restart?): {got[s]}")
            # A write the selector hides, once each watch is surely delivering live events: the real
            # watch cache counts what it replays on registering as seen, and bookmarks only past that.
            write("POST", CM_BASE, cm("watch-unlabeled", {"k": "x"}))
            for s, w in watches.items():
                got[s] += w.rest()
                if s is self.real and w.took() < 4:
                    raise Outage(f"the real watch ended after {w.took():.1f} s: {got[s]}")
        finally:
            for w in watches.values():
                w.close()
        for s, events in got.items():
            # The real watch cache's bookmark timer has 1 s buckets: a bookmark due 2 s before the end can
            # go out early enough to be due again, at the same RV. One or two, then; the fake sends one.
            if [e["type"] for e in events[4:]] == ["BOOKMARK", "BOOKMARK"] and events[4] == events[5]:
                del events[5]
            self.assertEqual([e["type"] for e in events], ["MODIFIED", "DELETED", "ADDED", "DELETED", "BOOKMARK"],
                             f"{s}: {events}")
            ev_rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
            # each event at the RV its write returned (a DELETE returns a Status: only later than the last)
            self.assertEqual([str(x) for x in ev_rvs[:3]], rvs[s][:3], f"{s}: event RVs")
            self.assertGreater(ev_rvs[3], ev_rvs[2], f"{s}: the DELETED's RV")
            self.assertGreaterEqual(ev_rvs[4], int(rvs[s][4]), f"{s}: the bookmark's RV")
        self.same(got, lambda evs: [{"type": e["type"], "object": norm(e["object"])} for e in evs], "watch events")

    @again
    def test_watch_list_initial_events_end_bookmark(self):
        """sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true: the
        initial ADDEDs, then a bookmark annotated k8s.io/initial-events-end. A real server whose
        storage lacks RequestWatchProgress (etcd 3.4, as in the cluster tier) answers an ERROR 500
        instead: then that is what the fake's watch_list="no-progress-notify" must answer."""
        sel = "labelSelector=parity%3Dwl"
        made = self.create(*(cm(f"wl-{i}", {"k": f"v{i}"}, {"parity": "wl"}) for i in range(1, 3)))
        q = f"{sel}&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true"
        status, real, _ = self.real.watch(q, 3)
        self.assertEqual(status, 200, real)
        unsupported = (len(real) == 1 and real[0]["type"] == "ERROR"
                       and "RequestWatchProgress is disabled" in real[0]["object"].get("message", ""))
        saved = FAKE.watch_list
        FAKE.watch_list = "no-progress-notify" if unsupported else True
        try:
            status, fake, _ = self.fake.watch(q, 3)
        finally:
            FAKE.watch_list = saved
        self.assertEqual(status, 200, fake)
        got = {self.real: real, self.fake: fake}
        if unsupported:
            self.same(got, lambda evs: [{"type": e["type"], "object": status_view(e["object"])} for e in evs],
                      "the watch-list ERROR")
            return
        for s, events in got.items():
            self.assertEqual([e["type"] for e in events][:3], ["ADDED", "ADDED", "BOOKMARK"], f"{s}: {events}")
            bm = events[2]["object"]["metadata"]
            self.assertEqual(bm.get("annotations"), {"k8s.io/initial-events-end": "true"}, f"{s}: {events[2]}")
            self.assertGreaterEqual(int(bm["resourceVersion"]), int(made[s][-1]["metadata"]["resourceVersion"]))
        self.same({s: e[:3] for s, e in got.items()},
                  lambda evs: [{"type": e["type"], "object": norm(e["object"])} for e in evs], "watch-list events")

    @again
    def test_watch_list_without_resource_version_match_422(self):
        got = self.both("GET", f"{CM_BASE}?watch=1&sendInitialEvents=true&allowWatchBookmarks=true&timeoutSeconds=1")
        self.same_status(got, 422)

    # ---- Status objects -----------------------------------------------------------------------

    @again
    def test_status_404_get_missing(self):
        self.same_status(self.both("GET", f"{CM_BASE}/parity-missing"), 404)

    @again
    def test_status_409_create_existing(self):
        self.create(cm("exists", {"k": "v"}))
        self.same_status(self.both("POST", CM_BASE, cm("exists", {"k": "v"})), 409)

    @again
    def test_status_409_conflict_stale_resource_version(self):
        """A patch carrying an old resourceVersion: 409 Conflict, the object has been modified."""
        self.create(cm("stale", {"k": "v"}))
        got = {}
        for s in self.sides:
            old = s.get(f"{CM_BASE}/stale").json["metadata"]["resourceVersion"]
            s.patch(f"{CM_BASE}/stale", {"data": {"k": "w"}}, "application/merge-patch+json")
            got[s] = s.patch(f"{CM_BASE}/stale", {"metadata": {"resourceVersion": old}, "data": {"k": "x"}},
                             "application/merge-patch+json")
        self.same_status(got, 409)

    @again
    def test_status_410_watch_too_old(self):
        """A watch from RV 1 after enough writes: a 200 stream of one ERROR 410 Expired, then its end."""
        self.age_history()
        got = {}
        for s in self.sides:
            status, events, _ = s.watch("resourceVersion=1", 5)
            self.assertEqual(status, 200, f"{s}: {events}")
            self.assertEqual([e["type"] for e in events], ["ERROR"], f"{s}: {events}")
            self.assertRegex(events[0]["object"]["message"], r"^too old resource version: 1 \(\d+\)$", s)
            got[s] = events[0]["object"]
        self.same(got, lambda o: status_view(o, message=False), "ERROR 410")

    @again
    def test_status_422_invalid_name(self):
        self.same_status(self.both("POST", CM_BASE, cm("Not_A_Name", {"k": "v"})), 422)

    @again
    def test_status_422_json_patch_test_fails(self):
        self.create(cm("jp", {"k": "v"}))
        self.same_status(self.both("PATCH", f"{CM_BASE}/jp", [{"op": "test", "path": "/data/k", "value": "nope"},
                                                               {"op": "remove", "path": "/data/k"}],
                                   "application/json-patch+json"), 422)

    @again
    def test_delete_returns_a_success_status(self):
        self.create(cm("gone", {"k": "v"}))
        self.same_status(self.both("DELETE", f"{CM_BASE}/gone"), 200)
        self.same_status(self.both("DELETE", f"{CM_BASE}/gone"), 404)

    @again
    def test_empty_maps_read_back_absent(self):
        """Go drops empty omitempty maps: {} labels, annotations and data read back absent, and a
        JSON patch removing the last key leaves no parent for a later add (422)."""
        got = self.both("POST", CM_BASE, cm("empty", {}, {}, annotations={}))
        self.same({s: r.json for s, r in got.items()}, what="create with empty maps")
        self.create(cm("emptied", {"k": "v"}, {"a": "b"}))
        got = self.both("PATCH", f"{CM_BASE}/emptied", [{"op": "remove", "path": "/data/k"},
                                                        {"op": "remove", "path": "/metadata/labels/a"}],
                        "application/json-patch+json")
        self.same({s: r.json for s, r in got.items()}, what="the last keys removed")
        self.same_status(self.both("PATCH", f"{CM_BASE}/emptied", [{"op": "add", "path": "/data/j", "value": "w"}],
                                   "application/json-patch+json"), 422)

    # ---- Events -------------------------------------------------------------------------------

    @again
    def test_event_create_then_409(self):
        """kube_event_new's Event: created as sent (plus the server's fields); the same name again is
        409 AlreadyExists, which seccompd takes as already reported."""
        base = f"/api/v1/namespaces/{NS}/events"
        ev = event("parity-cm.1839a2b4c5d6e7f8", "parity-cm", "0b9cbd1e-6d3c-4f0e-9a55-2a5f0c1d2e3f")
        got = self.both("POST", base, ev)
        for s, r in got.items():
            self.assertEqual(r.status, 201, f"{s}: {r}")
        self.same({s: r.json for s, r in got.items()}, what="the Event")
        self.same_status(self.both("POST", base, ev), 409)

    # ---- Nodes --------------------------------------------------------------------------------

    @again
    def test_node_taint_removal_json_patch(self):
        """daemon/kube-node.c's taint removal: a stale resourceVersion and a wrong taint each fail
        their test op (422, as on_patched expects); seccompd's own patch removes the taint."""
        node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": NODE1},
                "spec": {"taints": [{"key": TAINT, "effect": "NoSchedule"}]}}
        created = self.create(node, base="/api/v1/nodes")
        self.same({s: o[0] for s, o in created.items()}, what="the created Node")
        path = f"/api/v1/nodes/{NODE1}"
        stale, wrong, ok = {}, {}, {}
        for s in self.sides:
            n = s.get(path).json
            p = json.loads(taint_removal_patch(n, TAINT))
            stale[s] = s.patch(path, json.dumps([{**p[0], "value": "1"}] + p[1:]), "application/json-patch+json")
            bad = json.loads(json.dumps(p))
            bad[1]["value"]["effect"] = "NoExecute"
            wrong[s] = s.patch(path, json.dumps(bad), "application/json-patch+json")
            for _ in range(5):  # the real node's controllers may write it between our GET and PATCH
                ok[s] = s.patch(path, taint_removal_patch(s.get(path).json, TAINT), "application/json-patch+json")
                if ok[s].status != 422 or s is self.fake:
                    break
        self.same_status(stale, 422)
        self.same_status(wrong, 422)
        for s, r in ok.items():
            self.assertEqual(r.status, 200, f"{s}: {r}")
            self.assertFalse(any(t["key"] == TAINT for t in (r.json.get("spec") or {}).get("taints") or []), s)
        self.same({s: r.json for s, r in ok.items()}, what="the Node without its taint")

    @again
    def test_node_status_strategic_merge_condition(self):
        """kube_condition_patch on nodes/NAME/status: a condition merges by type; a new one goes
        before the conditions already there; a change of status replaces it in place."""
        self.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": NODE2}}, base="/api/v1/nodes")
        path = f"/api/v1/nodes/{NODE2}/status"
        smp = "application/strategic-merge-patch+json"
        for patch in (condition_patch("ParityStandIn", True, "Kubelet", "as if a kubelet had one"),
                      condition_patch(CONDITION, False, "Syncing", "profiles not yet on disk"),
                      condition_patch(CONDITION, True, "ProfilesInstalled", "2 profiles on disk", NOW)):
            got = self.both("PATCH", path, patch, smp)
            for s, r in got.items():
                self.assertEqual(r.status, 200, f"{s}: {r}")
            self.same({s: r.json for s, r in got.items()}, what=f"after {patch}")
        conds = server_defaults(got[self.real].json)["status"]["conditions"]
        self.assertEqual([(c["type"], c["status"]) for c in conds], [(CONDITION, "True"), ("ParityStandIn", "True")])
        got = self.both("GET", f"/api/v1/nodes/{NODE2}")
        self.same({s: r.json for s, r in got.items()}, what="the Node read back")


if __name__ == "__main__":
    main(sys.modules[__name__])
