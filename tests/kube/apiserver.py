#!/usr/bin/env python3
"""A protocol-faithful fake Kubernetes API server for seccompd's tests (Python 3 stdlib + openssl CLI).

It is cross-checked against the real kubectl by tests/integration/test_apiserver.py; the behaviours it
reproduces are those of /work/shared/reference/kubernetes-api.md §1, §2, §5, §6 and §8.

Usage
-----
    srv = ApiServer(tmpdir)            # CA, server cert (SAN IP:127.0.0.1, DNS:localhost), client cert (openssl CLI)
    srv.start()                        # HTTPS on 127.0.0.1:0, HTTP/1.1 only (ALPN http/1.1), daemonic threads
    srv.url, srv.ca_file, srv.port
    srv.kubeconfig(path, user="token"|"tokenfile"|"cert", namespace="default")
    srv.token, srv.token_file, srv.token_user, srv.cert_user, srv.client_cert, srv.client_key
    srv.rotate_token(keep_old=False)   # new token written atomically to token_file; the old one then gets 401
    srv.forbid(verb, resource, namespace=None) / srv.allow_all()
    srv.apply(obj) -> obj              # create or update (same code path as HTTP; bumps the RV, notifies watchers)
    srv.delete(kind, namespace, name) -> obj | None
    srv.get(kind, namespace, name) -> obj | None        # kind: "ConfigMap", "configmaps", "Node", "nodes", "Pod", ...
    srv.list(kind, namespace) -> [obj]                  # sorted by name
    srv.rv                              # current global resourceVersion (int)
    srv.requests                        # [{method, path, query, status, watch, user, resource, namespace, name,
                                        #   subresource, headers}]
    srv.count(method=None, resource=None, watch=None, status=None, path=None)
    srv.wait_for_request(pred, timeout) -> request dict   (raises TimeoutError)
    srv.max_in_flight(method=None, resource=None)  # the most requests being handled at once (a hung one
                                        #   counts until stop()); a client's own count is never lower
    srv.faults, srv.clear_faults()      # the faults still queued; drop them
    srv.close_watches()                 # end every open watch cleanly (after the events already queued)
    srv.restart(expire_history=True, down=0.0, unready=0)
    srv.use_certificate(kind)          # "good", "expired" (notAfter yesterday), "wrong-host" (SAN DNS:elsewhere.example
                                       # only): served from the next connection on, same CA
    srv.stop()
Tunables (attributes): min_watch_seconds=1800, max_watch_seconds=3600 (watch lifetime without timeoutSeconds),
bookmark_interval=60 (with allowWatchBookmarks: a bookmark that often and 2 s before timeoutSeconds ends the
watch, each only if something was written since the watch started, as the watch cache does),
too_large_timeout=3.0, history_size=1000, watch_list=True (sendInitialEvents allowed; False: the WatchList
feature gate off, 422; "no-progress-notify": allowed, but the storage lacks RequestWatchProgress, as with
etcd 3.4: ERROR 500 in the stream), record_sent=False (True: each watch event sent is appended to srv.sent as
(time.monotonic(), bytes)).
tests/cluster/test_parity.py sends the same requests to this fake and to a real kube-apiserver and compares.

Faults
------
    srv.fault(kind, times=1, method=None, resource=None, watch=None, namespace=None, name=None, **params)
queues a fault consumed by the next `times` matching requests (times=None: forever). Filters are exact
matches; None matches anything; `resource` may be "nodes/status". At the start of a request the first
matching *request fault* is consumed and answers it. Otherwise, for a watch, every matching *stream fault*
(at most one per kind) is consumed and shapes that watch stream; "after" counts the events already sent
on that stream (initial ADDED events included).

Request faults:
    "status"    code=500, retry_after=None (int, or a str sent verbatim such as an HTTP-date), reason=None,
                message=None, body=None ("apf": the plain-text APF body; a str/bytes: sent verbatim as text/plain;
                None: a Status JSON)
    "apf"       retry_after=1: 429, plain-text "Too many requests, please try again later.", X-Kubernetes-PF-* headers
    "reset"     TCP reset before any response (SO_LINGER 0, close)
    "hang"      half-open: read the request, send nothing, never close (until stop())
    "slow"      delay=0.1: wait that long, then answer as usual (a slow server, e.g. etcd under load)
    "continue_expired"  new_continue=True: a list with ?continue= gets 410 Expired, with or without a new
                (inconsistent) metadata.continue token
    "redirect"  location (required), code=302: a redirect with that Location and a short HTML body, as Go's
                http.Redirect writes it (a proxy or load balancer in front of the API server; the API server
                itself never redirects these requests)
Stream faults (watch only):
    "split"     size=1, wire=False, delay=0.0: every event is written as pieces of `size` bytes, each its own
                chunk and its own socket write (mid-UTF-8, mid-escape); wire=True splits the raw chunked
                encoding instead, so chunk headers are split too
    "coalesce"  events=10, wait=0.5: up to `events` events (waiting at most `wait` s) go out in one chunk
    "error"     after=0, code=410, reason="Expired" (or "Gone", ...), message=None: ERROR event then clean close
    "close"     after=0: clean close (zero-length chunk) after `after` events
    "reset"     after=0: TCP reset after `after` events
    "hang"      after=0: half-open after `after` events (socket kept, nothing sent, never closed until stop())
    "inject"    after=0, line=b"garbage\\n": raw bytes injected as a chunk, then the stream continues
                (e.g. b'{"type":"UPSERTED","object":{}}\\n' for an unknown event type)
    "bookmark"  after=0, creation_timestamp_null=True, initial_events_end=False: inject a BOOKMARK at the
                current RV (even without allowWatchBookmarks)
The faults, the redirect and the certificates are what a real API server will not do on demand; everything
else is checked against one (tests/cluster/test_parity.py), so a test that needs neither belongs there.

CLI: python3 tests/kube/apiserver.py --dir DIR [--port N]  (writes DIR/kubeconfig, prints the URL, serves)
"""
import argparse
import base64
import binascii
import copy
import datetime
import email.utils
import gzip
import http.server
import json
import os
import queue
import random
import re
import secrets
import socket
import socketserver
import ssl
import struct
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from collections import deque

MAX_SIZE = 1024 * 1024
MAX_BODY = 3 * 1024 * 1024
GZIP_MIN = 128 * 1024
APF_BODY = "Too many requests, please try again later.\n"

# resource -> (kind, namespaced, shortNames, verbs)
ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
CORE = {
    "configmaps": ("ConfigMap", True, ["cm"], ALL_VERBS),
    "secrets": ("Secret", True, [], ALL_VERBS),
    "events": ("Event", True, ["ev"], ALL_VERBS),
    "nodes": ("Node", False, ["no"], ALL_VERBS),
    "pods": ("Pod", True, ["po"], ALL_VERBS),
    "namespaces": ("Namespace", False, ["ns"], ["create", "delete", "get", "list", "patch", "update", "watch"]),
}
EVENTS_GROUP = "events.k8s.io"
GROUPS = {"": CORE, EVENTS_GROUP: {"events": ("Event", True, ["ev"], ALL_VERBS)}}
KIND_TO_RESOURCE = {"ConfigMap": "configmaps", "Secret": "secrets", "Event": "events", "Node": "nodes",
                    "Namespace": "namespaces", "Pod": "pods"}

# Fields Go's encoding/json leaves out when empty (omitempty): a {} or [] written there reads back
# absent, so a later JSON patch "add /data/k" fails on the missing parent, as on the real server.
OMIT_EMPTY = {"*": [("metadata", "labels"), ("metadata", "annotations"), ("metadata", "finalizers"),
                    ("metadata", "ownerReferences")],
              "configmaps": [("data",), ("binaryData",)], "secrets": [("data",)],
              "nodes": [("spec", "taints"), ("status", "conditions"), ("status", "addresses")]}

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")

SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
                 "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
                 "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
CONFIG_KEY_MSG = ("a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  "
                  "or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')")


def go_json(obj):
    """Encode like Go's encoding/json: compact, UTF-8, <>& and U+2028/9 escaped."""
    s = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    return (s.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")).encode("utf-8", "surrogatepass")


def now_ts():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class ApiError(Exception):
    def __init__(self, code, reason, message, details=None, headers=None, metadata=None):
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message
        self.details, self.headers, self.metadata = details, headers or {}, metadata

    def status(self):
        s = {"kind": "Status", "apiVersion": "v1", "metadata": self.metadata or {}, "status": "Failure",
             "message": self.message, "reason": self.reason}
        if self.details is not None:
            s["details"] = self.details
        s["code"] = self.code
        return s


def not_found(resource, name):
    return ApiError(404, "NotFound", f'{resource} "{name}" not found', {"name": name, "kind": resource})


def bad_request(msg):
    return ApiError(400, "BadRequest", msg)


def conflict(resource, name):
    return ApiError(409, "Conflict", f'Operation cannot be fulfilled on {resource} "{name}": the object has been '
                    "modified; please apply your changes to the latest version and try again",
                    {"name": name, "kind": resource})


CONTINUE_EXPIRED_MSG = ("The provided continue parameter is too old to display a consistent list result. You can "
                        "start a new list without the continue parameter, or use the continue token in this response "
                        "to retrieve the remainder of the results. Continuing with the provided token results in an "
                        "inconsistent list - objects that were created, modified, or deleted between the time the "
                        "first chunk was returned and now may show up in the list.")


def continue_token(rv, start):
    return base64.b64encode(json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": start},
                                       separators=(",", ":")).encode()).decode()


def continue_expired(start="\0", new_continue=True):
    """410 for a continue token whose RV was compacted: like the real server, with an inconsistent
    token (rv -1: the rest of the list at the current RV) in the Status's own metadata."""
    return ApiError(410, "Expired", CONTINUE_EXPIRED_MSG,
                    metadata={"continue": continue_token(-1, start)} if new_continue else {})


def invalid(kind, name, errs, group=""):
    """errs: [(reason, field, message)] in the apimachinery field.Error rendering."""
    msgs = [f"{f}: {m}" if f else m for _, f, m in errs]
    qualified = f"{kind}.{group}" if group else kind  # schema.GroupKind.String()
    msg = f'{qualified} "{name}" is invalid: ' + (msgs[0] if len(msgs) == 1 else "[" + ", ".join(msgs) + "]")
    details = {"name": name, "group": group, "kind": kind,
               "causes": [{"reason": r, "message": m, "field": f} for r, f, m in errs]}
    for k in ("name", "group"):  # omitempty, as for ListOptions' errors
        if not details[k]:
            del details[k]
    return ApiError(422, "Invalid", msg, details)


# ---------------------------------------------------------------- selectors

class Selector:
    """Label selector (equality and set-based) or field selector (equality only)."""

    def __init__(self, text, field=False):
        self.reqs = []  # (key, op, values)
        self.text = text or ""
        if not self.text.strip():
            return
        for part in self._split(self.text):
            part = part.strip()
            if not part:
                raise bad_request(f'unable to parse requirement: found \'\', expected: identifier')
            m = re.match(r"^(\S+?)\s+(in|notin)\s+\((.*)\)$", part)
            if m and not field:
                vals = [v.strip() for v in m.group(3).split(",")]
                self.reqs.append((m.group(1), m.group(2), set(vals)))
                continue
            m = re.match(r"^([^=!<>\s]+)\s*(==|=|!=)\s*(.*)$", part)
            if m:
                op = "!=" if m.group(2) == "!=" else "="
                self.reqs.append((m.group(1), op, {m.group(3).strip()}))
                continue
            if field:
                raise bad_request(f'invalid selector: \'{self.text}\'; can\'t understand \'{part}\'')
            if part.startswith("!") and re.match(r"^![^\s=!()]+$", part):
                self.reqs.append((part[1:], "!", set()))
            elif re.match(r"^[^\s=!(),]+$", part):
                self.reqs.append((part, "exists", set()))
            else:
                raise bad_request(f'unable to parse requirement: invalid label selector "{self.text}"')
        if not field:
            for key, _, vals in self.reqs:
                prefix, _, nm = key.rpartition("/")
                if not QUALIFIED_NAME.match(nm) or len(nm) > 63 or (prefix and not DNS1123_SUBDOMAIN.match(prefix)):
                    raise bad_request(f'unable to parse requirement: values[0][{key}]: Invalid value: "{key}": '
                                      "name part must consist of alphanumeric characters")

    @staticmethod
    def _split(text):
        parts, depth, cur = [], 0, ""
        for c in text:
            if c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
            if c == "," and depth == 0:
                parts.append(cur)
                cur = ""
            else:
                cur += c
        parts.append(cur)
        return parts

    def empty(self):
        return not self.reqs

    def matches(self, obj, field=False):
        for key, op, vals in self.reqs:
            if field:
                v = obj
                for p in key.split("."):
                    v = v.get(p) if isinstance(v, dict) else None
                v = "" if v is None else str(v)
                present = True
            else:
                labels = obj.get("metadata", {}).get("labels") or {}
                present = key in labels
                v = labels.get(key)
            if op == "=" and not (present and v in vals):
                return False
            if op == "!=" and present and v in vals:
                return False
            if op == "in" and not (present and v in vals):
                return False
            if op == "notin" and present and v in vals:
                return False
            if op == "exists" and not present:
                return False
            if op == "!" and present:
                return False
        return True


# ---------------------------------------------------------------- patches

SMP_MERGE_KEYS = {("status", "conditions"): "type", ("status", "addresses"): "type",
                  ("metadata", "ownerReferences"): "uid", ("metadata", "finalizers"): None}


def merge_patch(target, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            result.pop(k, None)
        else:
            result[k] = merge_patch(result.get(k), v)
    return result


def strategic_merge(orig, patch, path=()):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    result = copy.deepcopy(orig) if isinstance(orig, dict) else {}
    for k, v in patch.items():
        if k == "$patch" or k == "$retainKeys" or k.startswith("$setElementOrder/"):
            continue
        if k.startswith("$deleteFromPrimitiveList/"):
            lk = k.split("/", 1)[1]
            if isinstance(result.get(lk), list):
                result[lk] = [x for x in result[lk] if x not in v]
            continue
        sub = path + (k,)
        if v is None:
            result.pop(k, None)
        elif isinstance(v, dict):
            if v.get("$patch") == "delete":
                result.pop(k, None)
            else:
                result[k] = strategic_merge(result.get(k), v, sub)
        elif isinstance(v, list) and sub[-2:] in SMP_MERGE_KEYS:
            key = SMP_MERGE_KEYS[sub[-2:]]
            server = result.get(k) or []
            out = copy.deepcopy(server)
            patched = []  # the merge keys of the patch's items, in the patch's order
            for item in v:
                if key is None:  # merged primitive list
                    if item not in out:
                        out.append(item)
                    patched.append(item)
                    continue
                if not isinstance(item, dict):
                    raise bad_request(f"unable to find api field in struct for the patch: {k}")
                idx = next((i for i, o in enumerate(out) if isinstance(o, dict) and o.get(key) == item.get(key)), None)
                if item.get("$patch") == "delete":
                    if idx is not None:
                        del out[idx]
                    continue
                if idx is None:
                    out.append(strategic_merge({}, item, sub))
                else:
                    out[idx] = strategic_merge(out[idx], item, sub)
                patched.append(item.get(key))
            result[k] = _smp_order(out, server, patched, key)
        else:
            result[k] = copy.deepcopy(v)
    return result


def _smp_order(merged, server, patched, key):
    """The order the real strategic merge leaves a merged list in (apimachinery's normalizeElementOrder
    and mergeSortedSlice): the patch's items in the patch's order, the server-only items in the
    server's order, interleaved by server position where both have one; so an item the server did not
    have goes before the server's items, not after them."""
    ident = (lambda x: x) if key is None else (lambda x: x.get(key) if isinstance(x, dict) else None)
    order = [ident(x) for x in server]
    right = sorted((x for x in merged if ident(x) in patched), key=lambda x: patched.index(ident(x)))
    left = [x for x in merged if ident(x) not in patched]
    out, i, j = [], 0, 0
    while i < len(left) or j < len(right):
        if j >= len(right):
            out.append(left[i])
            i += 1
        elif i >= len(left):
            out.append(right[j])
            j += 1
        else:
            li = order.index(ident(left[i])) if ident(left[i]) in order else -1
            ri = order.index(ident(right[j])) if ident(right[j]) in order else -1
            if li >= 0 and ri >= 0 and li < ri:
                out.append(left[i])
                i += 1
            else:
                out.append(right[j])
                j += 1
    return out


class JsonPatchError(Exception):
    pass


def _pointer(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise JsonPatchError(f"invalid path: {path}")
    return [t.replace("~1", "/").replace("~0", "~") for t in path[1:].split("/")]


def _container(doc, tokens, path):
    cur = doc
    for t in tokens[:-1]:
        if isinstance(cur, dict) and t in cur:
            cur = cur[t]
        elif isinstance(cur, list) and t.isdigit() and int(t) < len(cur):
            cur = cur[int(t)]
        else:
            raise JsonPatchError(f"doc is missing path: \"{path}\": missing value")
    return cur


def _get(doc, path):
    tokens = _pointer(path)
    if not tokens:
        return doc
    c = _container(doc, tokens, path)
    t = tokens[-1]
    if isinstance(c, dict) and t in c:
        return c[t]
    if isinstance(c, list) and t.isdigit() and int(t) < len(c):
        return c[int(t)]
    raise JsonPatchError(f"doc is missing path: \"{path}\": missing value")


def _add(doc, path, value):
    tokens = _pointer(path)
    if not tokens:
        return value
    c = _container(doc, tokens, path)
    t = tokens[-1]
    if isinstance(c, dict):
        c[t] = value
    elif isinstance(c, list):
        if t == "-":
            c.append(value)
        elif t.isdigit() and int(t) <= len(c):
            c.insert(int(t), value)
        else:
            raise JsonPatchError(f"add operation does not apply: doc is missing path: \"{path}\": missing value")
    else:
        raise JsonPatchError(f"add operation does not apply: doc is missing path: \"{path}\": missing value")
    return doc


def _remove(doc, path, op="remove"):
    tokens = _pointer(path)
    c = _container(doc, tokens, path) if tokens else None
    t = tokens[-1] if tokens else None
    if isinstance(c, dict) and t in c:
        return c.pop(t)
    if isinstance(c, list) and t is not None and t.isdigit() and int(t) < len(c):
        return c.pop(int(t))
    raise JsonPatchError(f"{op} operation does not apply: doc is missing path: \"{path}\": missing value")


def json_patch(doc, ops):
    doc = copy.deepcopy(doc)
    if not isinstance(ops, list):
        raise bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    for op in ops:
        kind, path = op.get("op"), op.get("path", "")
        if kind == "add":
            doc = _add(doc, path, copy.deepcopy(op.get("value")))
        elif kind == "remove":
            _remove(doc, path)
        elif kind == "replace":
            _remove(doc, path, "replace")
            doc = _add(doc, path, copy.deepcopy(op.get("value")))
        elif kind == "move":
            v = _remove(doc, op.get("from", ""), "move")
            doc = _add(doc, path, v)
        elif kind == "copy":
            doc = _add(doc, path, copy.deepcopy(_get(doc, op.get("from", ""))))
        elif kind == "test":
            try:
                cur = _get(doc, path)
            except JsonPatchError:
                cur = None
            if cur != op.get("value") or type(cur) is not type(op.get("value")):
                raise JsonPatchError(f"testing value {path} failed: test failed")
        else:
            raise bad_request(f"Unexpected kind: {kind}")
    return doc


# ---------------------------------------------------------------- protobuf (kubectl's typed clients send it)

def _varint(b, i):
    shift = v = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << shift
        shift += 7
        if not c & 0x80:
            return v, i


def pb_fields(b):
    i = 0
    while i < len(b):
        key, i = _varint(b, i)
        fn, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _varint(b, i)
        elif wt == 2:
            n, i = _varint(b, i)
            v, i = b[i:i + n], i + n
        elif wt == 1:
            v, i = b[i:i + 8], i + 8
        elif wt == 5:
            v, i = b[i:i + 4], i + 4
        else:
            raise ValueError(f"wire type {wt}")
        yield fn, v


def _pb_map(entries, binary=False):
    out = {}
    for e in entries:
        f = dict(pb_fields(e))
        v = f.get(2, b"")
        out[f.get(1, b"").decode()] = base64.b64encode(v).decode() if binary else v.decode("utf-8", "replace")
    return out


def _pb_meta(b):
    md = {}
    labels, annotations = [], []
    for fn, v in pb_fields(b):
        if fn in (1, 2, 3, 5, 6) and v:  # gogo-protobuf writes empty strings too
            md[{1: "name", 2: "generateName", 3: "namespace", 5: "uid", 6: "resourceVersion"}[fn]] = v.decode()
        elif fn == 11:
            labels.append(v)
        elif fn == 12:
            annotations.append(v)
    if labels:
        md["labels"] = _pb_map(labels)
    if annotations:
        md["annotations"] = _pb_map(annotations)
    return md


def decode_protobuf(body):
    """A k8s protobuf envelope (magic k8s\\0 + runtime.Unknown) holding a ConfigMap or Secret, to JSON."""
    if body[:4] != b"k8s\0":
        raise ValueError("missing magic")
    env = dict(pb_fields(body[4:]))
    tm = dict(pb_fields(env.get(1, b"")))
    kind = tm.get(2, b"").decode()
    obj = {"apiVersion": tm.get(1, b"").decode(), "kind": kind}
    groups = {}
    for fn, v in pb_fields(env.get(2, b"")):
        groups.setdefault(fn, []).append(v)
    if kind not in ("ConfigMap", "Secret"):
        raise ValueError(f"protobuf for {kind} is not supported by the fake")
    if 1 in groups:
        obj["metadata"] = _pb_meta(groups[1][-1])
    if kind == "ConfigMap":
        if 2 in groups:
            obj["data"] = _pb_map(groups[2])
        if 3 in groups:
            obj["binaryData"] = _pb_map(groups[3], binary=True)
        if 4 in groups:
            obj["immutable"] = bool(groups[4][-1])
    else:
        if 2 in groups:
            obj["data"] = _pb_map(groups[2], binary=True)
        if groups.get(3, [b""])[-1]:
            obj["type"] = groups[3][-1].decode()
        if 4 in groups:
            obj["stringData"] = _pb_map(groups[4])
        if 5 in groups:
            obj["immutable"] = bool(groups[5][-1])
    return obj


# ---------------------------------------------------------------- events conversion

EV_MAP = [("involvedObject", "regarding"), ("message", "note"), ("reportingComponent", "reportingController"),
          ("source", "deprecatedSource"), ("firstTimestamp", "deprecatedFirstTimestamp"),
          ("lastTimestamp", "deprecatedLastTimestamp"), ("count", "deprecatedCount")]


def convert_event(obj, group):
    """Events are one storage served as core/v1 and events.k8s.io/v1."""
    o = copy.deepcopy(obj)
    want = "events.k8s.io/v1" if group == EVENTS_GROUP else "v1"
    if o.get("apiVersion") == want:
        return o
    pairs = EV_MAP if group == EVENTS_GROUP else [(b, a) for a, b in EV_MAP]
    for a, b in pairs:
        if a in o:
            o[b] = o.pop(a)
    o["apiVersion"] = want
    return o


# ---------------------------------------------------------------- server

STOP = object()


class Watcher:
    def __init__(self, group, resource, namespace):
        self.group, self.resource, self.namespace = group, resource, namespace
        self.q = queue.Queue()


class ApiServer:
    def __init__(self, tmpdir, history_size=1000):
        self.dir = tmpdir
        os.makedirs(tmpdir, exist_ok=True)
        self.min_watch_seconds, self.max_watch_seconds = 1800, 3600
        self.bookmark_interval = 60.0
        self.too_large_timeout = 3.0
        self.watch_list = True
        self.record_sent = False  # benchmarks: append (time.monotonic(), event bytes) to self.sent per event
        self.sent = []
        self.history_size = history_size
        self.token_user = "system:serviceaccount:kube-system:seccompd"
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._req_cond = threading.Condition()
        self._objects = {}  # (resource, ns, name) -> obj, stored with its own apiVersion
        self._namespaces = {"default", "kube-system", "kube-public"}
        self._rv = 1
        self._compacted = 0  # watches from an RV below this get 410
        self._history = deque()  # (rv, type, key, new, old)
        self._watchers = set()
        self._faults = []
        self._forbidden = set()
        self.requests = []
        self._in_flight = {}  # (method, resource) -> requests being handled now
        self._in_flight_max = {}
        self._conns = set()
        self._hung = threading.Event()
        self._httpd = None
        self.port = 0
        self._make_certs()
        self.token_file = os.path.join(tmpdir, "token")
        self.token = None
        self._tokens = set()
        self.rotate_token()

    # ---- certificates and credentials

    def _openssl(self, *args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=self.dir)

    def _make_certs(self):
        d = self.dir
        self.ca_file, ca_key = os.path.join(d, "ca.crt"), os.path.join(d, "ca.key")
        self.server_cert, self.server_key = os.path.join(d, "server.crt"), os.path.join(d, "server.key")
        self.client_cert, self.client_key = os.path.join(d, "client.crt"), os.path.join(d, "client.key")
        self.cert_user = "seccompd-client"
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        self._openssl("req", "-x509", *ec, "-keyout", ca_key, "-out", self.ca_file, "-days", "2",
                      "-subj", "/CN=fake-kube-ca", "-addext", "basicConstraints=critical,CA:TRUE",
                      "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        for cert, key, cn, ext in ((self.server_cert, self.server_key, "kube-apiserver",
                                    "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"),
                                   (self.client_cert, self.client_key, self.cert_user,
                                    "extendedKeyUsage=clientAuth\n")):
            csr, extf = cert + ".csr", cert + ".ext"
            with open(extf, "w") as f:
                f.write(ext)
            self._openssl("req", "-new", *ec, "-keyout", key, "-out", csr, "-subj", f"/CN={cn}")
            self._openssl("x509", "-req", "-in", csr, "-CA", self.ca_file, "-CAkey", ca_key, "-CAcreateserial",
                          "-out", cert, "-days", "2", "-extfile", extf)

    def use_certificate(self, kind="good"):
        """Serve another server certificate from the next connection on (open ones keep theirs): "expired"
        (notAfter yesterday), "wrong-host" (issued by the same CA for DNS:elsewhere.example only), or "good"."""
        exts = {"good": "subjectAltName=IP:127.0.0.1,DNS:localhost\n",
                "expired": "subjectAltName=IP:127.0.0.1,DNS:localhost\n",
                "wrong-host": "subjectAltName=DNS:elsewhere.example\n"}
        cert = self.server_cert if kind == "good" else os.path.join(self.dir, f"server-{kind}.crt")
        if not os.path.exists(cert):
            csr, extf = cert + ".csr", cert + ".ext"
            with open(extf, "w") as f:
                f.write(exts[kind] + "extendedKeyUsage=serverAuth\n")
            self._openssl("req", "-new", "-key", self.server_key, "-out", csr, "-subj", "/CN=kube-apiserver")
            # -days -1: notAfter a day before notBefore (now), so already expired
            self._openssl("x509", "-req", "-in", csr, "-CA", self.ca_file, "-CAkey",
                          os.path.join(self.dir, "ca.key"), "-CAcreateserial", "-out", cert,
                          "-days", "-1" if kind == "expired" else "2", "-extfile", extf)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, self.server_key)
        ctx.load_verify_locations(self.ca_file)
        ctx.verify_mode = ssl.CERT_OPTIONAL
        ctx.set_alpn_protocols(["http/1.1"])
        self._ssl = ctx

    def rotate_token(self, keep_old=False):
        tok = "fake-" + secrets.token_hex(16)
        tmp = self.token_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(tok + "\n")
        with self._lock:
            if not keep_old:
                self._tokens.clear()
            self._tokens.add(tok)
            self.token = tok
        os.replace(tmp, self.token_file)
        return tok

    def kubeconfig(self, path, user="token", namespace="default"):
        if user == "token":
            cred = f'    token: "{self.token}"\n'
        elif user == "tokenfile":
            cred = f'    tokenFile: "{self.token_file}"\n'
        elif user == "cert":
            cred = f'    client-certificate: "{self.client_cert}"\n    client-key: "{self.client_key}"\n'
        else:
            raise ValueError(user)
        with open(path, "w") as f:
            f.write(f"""apiVersion: v1
kind: Config
clusters:
- name: fake
  cluster:
    server: "{self.url}"
    certificate-authority: "{self.ca_file}"
users:
- name: fake-user
  user:
{cred}contexts:
- name: fake
  context:
    cluster: fake
    user: fake-user
    namespace: "{namespace}"
current-context: fake
""")
        return path

    # ---- lifecycle

    def start(self):
        self.use_certificate("good")
        self._serve()
        return self

    def _serve(self):
        api = self

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False
            allow_reuse_address = True

            def finish_request(self, request, client_address):
                with api._lock:
                    api._conns.add(request)
                try:
                    try:
                        tls = api._ssl.wrap_socket(request, server_side=True)
                    except (ssl.SSLError, OSError):
                        return
                    with api._lock:
                        api._conns.add(tls)
                    try:
                        Handler(tls, client_address, self, api)
                    finally:
                        with api._lock:
                            api._conns.discard(tls)
                        tls.close()
                finally:
                    with api._lock:
                        api._conns.discard(request)

        self._httpd = Server(("127.0.0.1", self.port), Handler)
        self.port = self._httpd.server_address[1]
        self.url = f"https://127.0.0.1:{self.port}"
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def _go_down(self):
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        self.close_watches()
        deadline = time.monotonic() + 2
        with self._lock:  # let the watches write their terminating chunk before the sockets go
            while self._watchers and time.monotonic() < deadline:
                self._cond.wait(deadline - time.monotonic())
            conns = list(self._conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def restart(self, expire_history=True, down=0.0, unready=0):
        """Drop every connection (watches end cleanly), refuse connections for `down` seconds, come back on
        the same port with the same objects; expire_history: watches from any earlier RV get 410. unready:
        that many requests then get 429 "storage is (re)initializing" (Retry-After 1)."""
        self._go_down()
        with self._lock:
            if expire_history:
                self._history.clear()
                self._compacted = self._rv + 1
            for _ in range(unready):
                self._faults.append({"kind": "status", "times": 1, "filters": {"cached": True},
                                     "params": {"code": 429, "retry_after": 1,
                                                "message": "storage is (re)initializing"}})
        if down:
            time.sleep(down)
        self._serve()

    def stop(self):
        self._go_down()
        self._hung.set()

    def close_watches(self):
        with self._lock:
            for w in self._watchers:
                w.q.put(STOP)

    # ---- policy and faults

    def forbid(self, verb, resource, namespace=None):
        with self._lock:
            self._forbidden.add((verb, resource, namespace))

    def allow_all(self):
        with self._lock:
            self._forbidden.clear()

    def fault(self, kind, times=1, method=None, resource=None, watch=None, namespace=None, name=None, **params):
        kinds = {"status", "apf", "reset", "hang", "slow", "continue_expired", "redirect", "split", "coalesce",
                 "error",
                 "close", "inject", "bookmark"}
        if kind not in kinds:
            raise ValueError(f"unknown fault {kind}")
        f = {"kind": kind, "times": times, "params": params,
             "filters": {k: v for k, v in (("method", method), ("resource", resource), ("watch", watch),
                                            ("namespace", namespace), ("name", name)) if v is not None}}
        with self._lock:
            self._faults.append(f)
        return f

    @property
    def faults(self):
        """The faults still queued (consumed ones are gone)."""
        with self._lock:
            return [dict(f) for f in self._faults]

    def clear_faults(self):
        with self._lock:
            self._faults.clear()

    def _take_faults(self, req, kinds, many):
        taken = []
        with self._lock:
            for f in list(self._faults):
                if f["kind"] not in kinds or any(req.get(k) != v for k, v in f["filters"].items()):
                    continue
                if f["kind"] in ("reset", "hang") and ("after" in f["params"]) != many:
                    continue  # with "after": a stream fault, else a request fault
                if f["kind"] == "continue_expired" and not req["query"].get("continue"):
                    continue
                if many and any(t["kind"] == f["kind"] for t in taken):
                    continue
                if f["times"] is not None:
                    f["times"] -= 1
                    if f["times"] <= 0:
                        self._faults.remove(f)
                taken.append(f)
                if not many:
                    break
        return taken

    # ---- request log

    def _log(self, req):
        with self._req_cond:
            self.requests.append(req)
            self._req_cond.notify_all()

    def count(self, method=None, resource=None, watch=None, status=None, path=None):
        with self._req_cond:
            return sum(1 for r in self.requests
                       if (method is None or r["method"] == method) and (resource is None or r["resource"] == resource)
                       and (watch is None or r["watch"] == watch) and (status is None or r["status"] == status)
                       and (path is None or r["path"] == path))

    def max_in_flight(self, method=None, resource=None):
        with self._lock:
            return max((n for (m, r), n in self._in_flight_max.items()
                        if (method is None or m == method) and (resource is None or r == resource)), default=0)

    def wait_for_request(self, pred, timeout=10):
        """pred is called outside the request log's lock: it may look at the store (get(), whose lock
        a handler holds while it logs its request) without the two waiting on each other."""
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            with self._req_cond:
                new, seen = self.requests[seen:], len(self.requests)
            for r in new:
                if pred(r):
                    return r
            with self._req_cond:
                while len(self.requests) == seen:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise TimeoutError("no matching request")
                    self._req_cond.wait(left)

    # ---- storage

    @property
    def rv(self):
        return self._rv

    @staticmethod
    def _resource_of(kind):
        if kind in KIND_TO_RESOURCE:
            return KIND_TO_RESOURCE[kind]
        return kind.split("/")[0]

    def get(self, kind, namespace, name):
        res = self._resource_of(kind)
        with self._lock:
            o = self._objects.get((res, namespace if CORE[res][1] else None, name))
            return copy.deepcopy(o)

    def list(self, kind, namespace):
        """Every object of a kind in a namespace (None: cluster-scoped), sorted by name."""
        res = self._resource_of(kind)
        with self._lock:
            return [copy.deepcopy(o) for (r, ns, _), o in sorted(self._objects.items(), key=lambda kv: kv[0][2])
                    if r == res and ns == (namespace if CORE[res][1] else None)]

    def apply(self, obj):
        """Create or update an object (unconditionally), as an HTTP POST/PUT would."""
        res = self._resource_of(obj["kind"])
        group = EVENTS_GROUP if obj.get("apiVersion", "").startswith(EVENTS_GROUP) else ""
        ns = obj.get("metadata", {}).get("namespace", "default") if CORE[res][1] else None
        name = obj["metadata"]["name"]
        with self._lock:
            if (res, ns, name) in self._objects:
                o = copy.deepcopy(obj)
                o["metadata"].pop("resourceVersion", None)
                return self._update(group, res, ns, name, o)
            return self._create(group, res, ns, copy.deepcopy(obj))

    def delete(self, kind, namespace, name):
        res = self._resource_of(kind)
        with self._lock:
            try:
                return self._delete(res, namespace if CORE[res][1] else None, name, None)
            except ApiError:
                return None

    def _bump(self):
        self._rv += 1
        return self._rv

    def _record(self, typ, key, new, old):
        rv = int(new["metadata"]["resourceVersion"])
        self._history.append((rv, typ, key, new, old))
        while len(self._history) > self.history_size:
            ev = self._history.popleft()
            self._compacted = ev[0] + 1
        for w in self._watchers:
            if w.resource == key[0] and (w.namespace is None or w.namespace == key[1]):
                w.q.put((rv, typ, new, old))
        self._cond.notify_all()

    def _validate(self, res, obj, group):
        kind = CORE[res][0] if res in CORE else "Event"
        md = obj.setdefault("metadata", {})
        name = md.get("name", "")
        errs = []
        if not name:
            errs.append(("FieldValueRequired", "metadata.name", "Required value: name or generateName is required"))
        elif res == "namespaces":
            if not DNS1123_LABEL.match(name) or len(name) > 63:
                errs.append(("FieldValueInvalid", "metadata.name", f'Invalid value: "{name}": a lowercase RFC 1123 '
                             "label must consist of lower case alphanumeric characters or '-'"))
        elif len(name) > 253 or not DNS1123_SUBDOMAIN.match(name):
            errs.append(("FieldValueInvalid", "metadata.name", f'Invalid value: "{name}": {SUBDOMAIN_MSG}'))
        for k, v in (md.get("labels") or {}).items():
            prefix, _, nm = k.rpartition("/")
            if not QUALIFIED_NAME.match(nm) or len(nm) > 63 or (prefix and (not DNS1123_SUBDOMAIN.match(prefix)
                                                                             or len(prefix) > 253)):
                errs.append(("FieldValueInvalid", "metadata.labels", f'Invalid value: "{k}": name part must consist '
                             "of alphanumeric characters, '-', '_' or '.', and must start and end with an "
                             "alphanumeric character"))
            if not isinstance(v, str) or len(v) > 63 or not LABEL_VALUE.match(v):
                errs.append(("FieldValueInvalid", "metadata.labels", f'Invalid value: "{v}": a valid label must be '
                             "an empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
                             "start and end with an alphanumeric character"))
        if res in ("configmaps", "secrets"):
            total = 0
            fields = ("data", "binaryData") if res == "configmaps" else ("data",)
            for fld in fields:
                for key, value in (obj.get(fld) or {}).items():
                    for m in self._key_errors(key):
                        errs.append(("FieldValueInvalid", f"{fld}[{key}]", f'Invalid value: "{key}": {m}'))
                    if fld == "binaryData" and key in (obj.get("data") or {}):
                        errs.append(("FieldValueInvalid", f"data[{key}]",
                                     f'Invalid value: "{key}": duplicate of key present in binaryData'))
                    if res == "secrets" or fld == "binaryData":
                        total += len(base64.b64decode(value))
                    else:
                        total += len(value.encode("utf-8", "surrogatepass"))
            if total > MAX_SIZE:
                errs.append(("FieldValueTooLong", "", f"Too long: must have at most {MAX_SIZE} bytes"))
        if res == "events" and group == EVENTS_GROUP:
            for f in ("eventTime", "reportingController", "reportingInstance", "action", "reason"):
                if not obj.get(f):
                    errs.append(("FieldValueRequired", f, "Required value"))
            if obj.get("type") not in ("Normal", "Warning"):
                errs.append(("FieldValueNotSupported", "type", f'Unsupported value: "{obj.get("type", "")}": '
                             'supported values: "Normal", "Warning"'))
        if errs:
            raise invalid(kind, name, errs, group)

    @staticmethod
    def _key_errors(key):
        out = []
        if len(key) > 253:
            out.append("must be no more than 253 characters")
        if not CONFIG_KEY.match(key):
            out.append(CONFIG_KEY_MSG)
        if key == ".":
            out.append("must not be '.'")
        elif key == "..":
            out.append("must not be '..'")
        elif key.startswith(".."):
            out.append("must not start with '..'")
        return out

    def _normalize(self, res, obj):
        """Decode-time checks (400) and write-only field handling, like the apiserver's decoder."""
        kind = CORE[res][0] if res in CORE else "Event"
        for fld in (("data", "binaryData") if res == "configmaps" else ("data",) if res == "secrets" else ()):
            d = obj.get(fld)
            if d is None:
                continue
            if not isinstance(d, dict) or not all(isinstance(v, str) for v in d.values()):
                raise bad_request(f'{kind} in version "v1" cannot be handled as a {kind}: json: cannot unmarshal '
                                  f'into Go struct field {kind}.{fld}')
            if res == "secrets" or fld == "binaryData":
                for k, v in d.items():
                    try:
                        base64.b64decode(v, validate=True)
                    except (binascii.Error, ValueError):
                        raise bad_request(f'{kind} in version "v1" cannot be handled as a {kind}: illegal base64 '
                                          "data at input byte 0")
        if res == "secrets" and "stringData" in obj:
            sd = obj.pop("stringData") or {}
            data = obj.setdefault("data", {}) or {}
            for k, v in sd.items():
                data[k] = base64.b64encode(v.encode()).decode()
            obj["data"] = data
            if not obj["data"]:
                del obj["data"]
        if res == "secrets" and not obj.get("type"):
            obj["type"] = "Opaque"

    @staticmethod
    def _omit_empty(res, obj):
        if res == "nodes":  # NodeSpec and NodeStatus are structs, never omitted
            for f in ("spec", "status"):
                if not isinstance(obj.get(f), dict):
                    obj[f] = {}
        for path in OMIT_EMPTY["*"] + OMIT_EMPTY.get(res, []):
            parent = obj
            for p in path[:-1]:
                parent = parent.get(p) if isinstance(parent, dict) else None
            if isinstance(parent, dict) and parent.get(path[-1]) in ({}, [], None) and path[-1] in parent:
                del parent[path[-1]]

    def _store_form(self, group, res, obj):
        obj["kind"] = CORE[res][0] if res in CORE else "Event"
        obj["apiVersion"] = "events.k8s.io/v1" if group == EVENTS_GROUP else "v1"

    def _create(self, group, res, ns, obj, dry_run=False):
        md = obj.setdefault("metadata", {})
        if ns is not None:
            if md.get("namespace") not in (None, "", ns):
                raise bad_request("the namespace of the provided object does not match the namespace sent on "
                                  "the request")
            md["namespace"] = ns
        if not md.get("name") and md.get("generateName"):
            md["name"] = md["generateName"] + "".join(random.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))
        self._normalize(res, obj)
        self._omit_empty(res, obj)
        self._validate(res, obj, group)
        key = (res, ns, md["name"])
        if key in self._objects or (res == "namespaces" and md["name"] in self._namespaces and
                                    ("namespaces", None, md["name"]) in self._objects):
            raise ApiError(409, "AlreadyExists", f'{res} "{md["name"]}" already exists',
                           {"name": md["name"], "kind": res})
        self._store_form(group, res, obj)
        md.pop("resourceVersion", None)
        md["uid"] = str(uuid.uuid4())
        md["creationTimestamp"] = now_ts()
        if res == "namespaces":
            obj.setdefault("status", {"phase": "Active"})
        if dry_run:
            md["resourceVersion"] = str(self._rv)
            return obj
        md["resourceVersion"] = str(self._bump())
        self._objects[key] = obj
        if ns:
            self._namespaces.add(ns)
        self._record("ADDED", key, copy.deepcopy(obj), None)
        return copy.deepcopy(obj)

    def _update(self, group, res, ns, name, obj, subresource=None, dry_run=False):
        key = (res, ns, name)
        old = self._objects.get(key)
        if old is None:
            raise not_found(res, name)
        md = obj.setdefault("metadata", {})
        if md.get("name", name) != name:
            raise bad_request(f"the name of the object ({md.get('name')}) does not match the name on the URL "
                              f"({name})")
        md["name"] = name
        if ns is not None:
            md["namespace"] = ns
        rv = md.get("resourceVersion")
        if rv not in (None, "") and rv != old["metadata"]["resourceVersion"]:
            raise conflict(res, name)
        if md.get("uid") not in (None, "", old["metadata"]["uid"]):
            raise ApiError(409, "Conflict", f'Operation cannot be fulfilled on {res} "{name}": Precondition failed: '
                           f'UID in precondition: {md["uid"]}, UID in object meta: {old["metadata"]["uid"]}',
                           {"name": name, "kind": res})
        self._normalize(res, obj)
        if res == "nodes" and subresource == "status":
            new = copy.deepcopy(old)
            new["status"] = obj.get("status", {})
            obj = new
        elif res == "nodes" and "status" in old:
            obj["status"] = copy.deepcopy(old["status"])
        self._omit_empty(res, obj)
        self._validate(res, obj, group)
        if res == "configmaps" and old.get("immutable") and (
                obj.get("data") != old.get("data") or obj.get("binaryData") != old.get("binaryData")
                or not obj.get("immutable")):
            raise invalid("ConfigMap", name, [("FieldValueForbidden", "data",
                                               "Forbidden: field is immutable when `immutable` is set")])
        self._store_form(group, res, obj)
        md = obj["metadata"]
        md["uid"] = old["metadata"]["uid"]
        md["creationTimestamp"] = old["metadata"]["creationTimestamp"]
        md.pop("generateName", None) if "generateName" not in old["metadata"] else None
        if dry_run:
            md["resourceVersion"] = old["metadata"]["resourceVersion"]
            return obj
        md["resourceVersion"] = str(self._bump())
        self._objects[key] = obj
        self._record("MODIFIED", key, copy.deepcopy(obj), copy.deepcopy(old))
        return copy.deepcopy(obj)

    def _delete(self, res, ns, name, options, dry_run=False):
        key = (res, ns, name)
        old = self._objects.get(key)
        if old is None:
            raise not_found(res, name)
        pre = (options or {}).get("preconditions") or {}
        if pre.get("uid") and pre["uid"] != old["metadata"]["uid"]:
            raise ApiError(409, "Conflict", f'Operation cannot be fulfilled on {res} "{name}": Precondition failed: '
                           f'UID in precondition: {pre["uid"]}, UID in object meta: {old["metadata"]["uid"]}',
                           {"name": name, "kind": res})
        if pre.get("resourceVersion") and pre["resourceVersion"] != old["metadata"]["resourceVersion"]:
            raise conflict(res, name)
        if dry_run:
            return copy.deepcopy(old)
        del self._objects[key]
        gone = copy.deepcopy(old)
        gone["metadata"]["resourceVersion"] = str(self._bump())
        self._record("DELETED", key, gone, copy.deepcopy(old))
        return copy.deepcopy(gone)

    def _visible(self, res, group, obj):
        if res == "events":
            return convert_event(obj, group)
        return copy.deepcopy(obj)


# ---------------------------------------------------------------- HTTP


class Hangup(Exception):
    """The connection was reset or left half-open on purpose: no response, no further use."""


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-kube-apiserver"
    sys_version = ""

    def __init__(self, request, client_address, server, api):
        self.api = api
        self.dead = False
        super().__init__(request, client_address, server)

    def log_message(self, *a):
        pass

    def finish(self):
        if not self.dead:
            try:
                super().finish()
            except OSError:
                pass

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except Hangup:
            self.close_connection = True
        except (ConnectionError, ssl.SSLError, BrokenPipeError):
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = lambda self: self.dispatch()

    # ---- low-level

    def _reset(self):
        self.dead = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        for f in (self.rfile, self.wfile):
            try:
                f.close()
            except (OSError, ValueError):
                pass
        try:
            self.connection.close()
        except OSError:
            pass
        raise Hangup()

    def _hang(self):
        self.api._hung.wait()
        self._reset()

    def _send(self, code, body, ctype="application/json", headers=None):
        self.req["status"] = code
        self.api._log(self.req)
        gz = (len(body) > GZIP_MIN and "gzip" in self.headers.get("Accept-Encoding", ""))
        if gz:
            body = gzip.compress(body, 1)
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Cache-Control", "no-cache, private")
        if gz:
            self.send_header("Content-Encoding", "gzip")
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _send_obj(self, code, obj, headers=None):
        self._send(code, go_json(obj), headers=headers)

    def _send_error(self, e):
        self._send_obj(e.code, e.status(), e.headers)

    # ---- routing

    def _parse_path(self, path):
        """-> (kind, group, resource, namespace, name, subresource) ; kind in api, apis, version, other"""
        parts = [p for p in path.split("/") if p]
        if parts[:2] == ["api", "v1"]:
            group, rest = "", parts[2:]
        elif len(parts) >= 3 and parts[0] == "apis" and parts[1] == EVENTS_GROUP and parts[2] == "v1":
            group, rest = EVENTS_GROUP, parts[3:]
        else:
            return None
        if not rest:
            return (group, None, None, None, None)
        ns = None
        if rest[0] == "namespaces" and len(rest) >= 3:
            ns, rest = rest[1], rest[2:]
        res = rest[0]
        if res not in GROUPS[group]:
            return (group, res, ns, "\0unknown", None)
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if len(rest) > 3:
            return (group, res, ns, "\0unknown", None)
        return (group, res, ns, name, sub)

    def _user(self):
        try:
            cert = self.connection.getpeercert()
        except (ValueError, OSError):
            cert = None
        if cert:
            for rdn in cert.get("subject", ()):
                for k, v in rdn:
                    if k == "commonName":
                        return v
        auth = self.headers.get("Authorization", "")
        scheme, _, tok = auth.partition(" ")
        if scheme.lower() == "bearer" and tok.strip() in self.api._tokens:
            return self.api.token_user
        return None

    def dispatch(self):
        """Counts the request as in flight while it is handled, then handles it."""
        api = self.api
        parsed = self._parse_path(urllib.parse.urlsplit(self.path).path)
        key = (self.command, parsed[1] if parsed else None)
        with api._lock:
            api._in_flight[key] = api._in_flight.get(key, 0) + 1
            api._in_flight_max[key] = max(api._in_flight_max.get(key, 0), api._in_flight[key])
        try:
            return self._dispatch()
        finally:
            with api._lock:
                api._in_flight[key] -= 1

    def _dispatch(self):
        api = self.api
        u = urllib.parse.urlsplit(self.path)
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(u.query, keep_blank_values=True).items()}
        parsed = self._parse_path(u.path)
        unknown = bool(parsed) and parsed[3] == "\0unknown"
        watch = query.get("watch", "") in ("1", "true", "True")
        group = res = ns = name = sub = None
        if parsed:
            group, res, ns, name, sub = parsed
            if name == "\0unknown":
                name = None
        self.req = req = {"method": self.command, "path": u.path, "query": query, "status": None, "watch": watch,
                          "user": None, "resource": (res + "/" + sub) if res and sub else res, "namespace": ns,
                          "name": name, "subresource": sub, "group": group, "res": res, "cached": bool(res), "headers": dict(self.headers.items())}
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.close_connection = True
            return self._send_error(ApiError(413, "RequestEntityTooLarge",
                                             f"Request entity too large: limit is {MAX_BODY}"))
        body = self.rfile.read(length) if length else b""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = self._read_chunked()
            if body is None:
                return self._send_error(ApiError(413, "RequestEntityTooLarge",
                                                 f"Request entity too large: limit is {MAX_BODY}"))
        req["user"] = user = self._user()
        f = api._take_faults(req, {"status", "apf", "reset", "hang", "slow", "continue_expired", "redirect"},
                             many=False)
        if f and f[0]["kind"] == "slow":
            time.sleep(f[0]["params"].get("delay", 0.1))
        elif f:
            return self._request_fault(f[0])
        if u.path in ("/version", "/healthz", "/livez", "/readyz"):
            if u.path == "/version":
                return self._send_obj(200, {"major": "1", "minor": "32", "gitVersion": "v1.32.0-fake",
                                            "gitCommit": "0" * 40, "gitTreeState": "clean",
                                            "buildDate": "2025-01-01T00:00:00Z", "goVersion": "go1.23.0",
                                            "compiler": "gc", "platform": "linux/amd64"})
            return self._send(200, b"ok", "text/plain; charset=utf-8")
        if user is None:
            return self._send_error(ApiError(401, "Unauthorized", "Unauthorized"))
        try:
            if u.path == "/api":
                return self._send_obj(200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                    {"clientCIDR": "0.0.0.0/0", "serverAddress": f"127.0.0.1:{api.port}"}]})
            if u.path == "/apis":
                return self._send_obj(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                    {"name": EVENTS_GROUP, "versions": [{"groupVersion": f"{EVENTS_GROUP}/v1", "version": "v1"}],
                     "preferredVersion": {"groupVersion": f"{EVENTS_GROUP}/v1", "version": "v1"}}]})
            if parsed is None or unknown:
                raise ApiError(404, "NotFound", "the server could not find the requested resource",
                               {"causes": [{"reason": "UnexpectedServerResponse", "message": "404 page not found"}]})
            if res is None:
                return self._discovery(group)
            return self._resource(req, body)
        except ApiError as e:
            return self._send_error(e)

    def _read_chunked(self):
        """A chunked body; None when it exceeds MAX_BODY (the rest is drained so the client sees the 413)."""
        out, size = [], 0
        while True:
            n = int(self.rfile.readline().split(b";")[0].strip(), 16)
            if n == 0:
                self.rfile.readline()
                return b"".join(out) if size <= MAX_BODY else None
            data = self.rfile.read(n)
            size += n
            if size <= MAX_BODY:
                out.append(data)
            self.rfile.readline()

    def _request_fault(self, f):
        p, kind = f["params"], f["kind"]
        if kind == "reset":
            self.req["status"] = "reset"
            self.api._log(self.req)
            self._reset()
        if kind == "hang":
            self.req["status"] = "hang"
            self.api._log(self.req)
            self._hang()
        if kind == "apf" or (kind == "status" and p.get("body") == "apf"):
            ra = p.get("retry_after", 1)
            h = {"X-Kubernetes-Pf-Flowschema-Uid": str(uuid.uuid4()),
                 "X-Kubernetes-Pf-Prioritylevel-Uid": str(uuid.uuid4())}
            if ra is not None:
                h["Retry-After"] = ra
            return self._send(p.get("code", 429), APF_BODY.encode(), "text/plain; charset=utf-8", h)
        if kind == "continue_expired":
            return self._send_error(continue_expired(new_continue=p.get("new_continue", True)))
        if kind == "redirect":
            loc = p["location"]
            body = f'<a href="{loc}">{http.HTTPStatus(p.get("code", 302)).phrase}</a>.\n\n'.encode()
            return self._send(p.get("code", 302), body, "text/html; charset=utf-8", {"Location": loc})
        code = p.get("code", 500)
        defaults = {410: ("Expired", "The resourceVersion for the provided watch is too old."),
                    429: ("TooManyRequests", "Too many requests, please try again later."),
                    500: ("InternalError", "Internal error occurred: injected fault"),
                    503: ("ServiceUnavailable", "The server is currently unable to handle the request"),
                    504: ("Timeout", "Timeout: request did not complete within allowed duration"),
                    401: ("Unauthorized", "Unauthorized"), 403: ("Forbidden", "forbidden")}
        reason, msg = defaults.get(code, ("Unknown", f"injected {code}"))
        h = {}
        if p.get("retry_after") is not None:
            h["Retry-After"] = p["retry_after"]
        if isinstance(p.get("body"), (str, bytes)):
            b = p["body"].encode() if isinstance(p["body"], str) else p["body"]
            return self._send(code, b, "text/plain; charset=utf-8", h)
        details = {"retryAfterSeconds": p["retry_after"]} if isinstance(p.get("retry_after"), int) else None
        e = ApiError(code, p.get("reason") or reason, p.get("message") or msg, details, h)
        return self._send_error(e)

    def _discovery(self, group):
        res = []
        for r, (kind, namespaced, short, verbs) in GROUPS[group].items():
            e = {"name": r, "singularName": kind.lower(), "namespaced": namespaced, "kind": kind, "verbs": verbs}
            if short:
                e["shortNames"] = short
            if group == "" and r == "events":
                pass
            res.append(e)
            if r == "nodes":
                res.append({"name": "nodes/status", "singularName": "", "namespaced": False, "kind": "Node",
                            "verbs": ["get", "patch", "update"]})
        gv = f"{group}/v1" if group else "v1"
        return self._send_obj(200, {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv,
                                    "resources": res})

    def _authorize(self, verb, res, sub, ns, name):
        api = self.api
        full = f"{res}/{sub}" if sub else res
        for v, r, n in api._forbidden:
            if v in (verb, "*") and r in (full, "*") and (n is None or n == ns):
                who = f'{full} "{name}"' if name else full
                who = f'{res} "{name}"' if name else res
                scope = f'in the namespace "{ns}"' if ns else "at the cluster scope"
                g = self.req["group"] or ""
                raise ApiError(403, "Forbidden", f'{who} is forbidden: User "{self.req["user"]}" cannot {verb} '
                               f'resource "{full}" in API group "{g}" {scope}',
                               {"name": name, "group": g, "kind": res} if name else {"group": g, "kind": res})

    def _resource(self, req, body):
        api = self.api
        group, res, ns, name, sub = req["group"], req["res"], req["namespace"], req["name"], req["subresource"]
        kind, namespaced, _, _ = GROUPS[group][res]
        if sub and not (res == "nodes" and sub == "status"):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if ns is not None and not namespaced:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if ns is not None and (not DNS1123_LABEL.match(ns) or len(ns) > 63):
            raise not_found("namespaces", ns)
        m, q = self.command, req["query"]
        verb = {"GET": "get" if name else ("watch" if req["watch"] else "list"), "POST": "create", "PUT": "update",
                "PATCH": "patch", "DELETE": "delete" if name else "deletecollection"}[m]
        self._authorize(verb, res, sub, ns, name)
        if namespaced and name is not None and ns is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        dry = "dryRun" in q
        if res == "namespaces":
            return self._namespaces(m, name, body, req)
        if m == "GET" and name is None:
            if req["watch"]:
                return self._watch(group, res, ns, req)
            return self._list(group, res, ns, req)
        if m == "GET":
            with api._lock:
                o = api._objects.get((res, ns, name))
                if o is None:
                    raise not_found(res, name)
                return self._send_obj(200, api._visible(res, group, o))
        if m == "POST" and name is None:
            obj = self._body_json(body)
            with api._lock:
                return self._send_obj(201, api._visible(res, group, api._create(group, res, ns, obj, dry)))
        if m == "PUT" and name:
            obj = self._body_json(body)
            with api._lock:
                return self._send_obj(200, api._visible(res, group, api._update(group, res, ns, name, obj, sub, dry)))
        if m == "PATCH" and name:
            return self._patch(group, res, ns, name, sub, body, dry)
        if m == "DELETE" and name:
            opts = self._body_json(body) if body else None
            with api._lock:
                gone = api._delete(res, ns, name, opts, dry)
            return self._send_obj(200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                                        "details": {"name": name, "kind": res, "uid": gone["metadata"]["uid"]}})
        raise ApiError(405, "MethodNotAllowed", f"the server does not allow this method on the requested resource")

    def _body_json(self, body):
        ct = self.headers.get("Content-Type", "application/json").split(";")[0].strip()
        if ct == "application/vnd.kubernetes.protobuf":
            try:
                return decode_protobuf(body)
            except (ValueError, IndexError, UnicodeDecodeError) as e:
                raise ApiError(415, "UnsupportedMediaType", f"the fake decodes protobuf only for ConfigMap and "
                               f"Secret: {e}")
        if self.command in ("POST", "PUT") and ct not in ("application/json", "*/*", ""):
            raise ApiError(415, "UnsupportedMediaType", f'the body of the request was in an unknown format - '
                           'accepted media types include: application/json, application/yaml')
        try:
            obj = json.loads(body.decode("utf-8", "replace"))
        except ValueError as e:
            raise bad_request(f"Object 'Kind' is missing in '{body[:100]!r}': {e}")
        if not isinstance(obj, dict):
            raise bad_request("json: cannot unmarshal into Go value of type struct")
        return obj

    def _namespaces(self, m, name, body, req):
        api = self.api
        with api._lock:
            names = sorted(api._namespaces | {n for (r, _, n) in api._objects if r == "namespaces"})

            def ns_obj(n):
                o = api._objects.get(("namespaces", None, n))
                if o:
                    return copy.deepcopy(o)
                return {"kind": "Namespace", "apiVersion": "v1", "metadata": {
                    "name": n, "uid": str(uuid.uuid5(uuid.NAMESPACE_DNS, n)), "resourceVersion": "1",
                    "creationTimestamp": "2025-01-01T00:00:00Z", "labels": {"kubernetes.io/metadata.name": n}},
                    "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}
            if m == "GET" and name:
                if not DNS1123_LABEL.match(name):
                    raise not_found("namespaces", name)
                return self._send_obj(200, ns_obj(name))
            if m == "GET" and not req["watch"]:
                items = []
                for n in names:
                    o = ns_obj(n)
                    o.pop("kind")
                    o.pop("apiVersion")
                    items.append(o)
                return self._send_obj(200, {"kind": "NamespaceList", "apiVersion": "v1",
                                            "metadata": {"resourceVersion": str(api._rv)}, "items": items})
            if m == "POST":
                obj = self._body_json(body)
                return self._send_obj(201, api._create("", "namespaces", None, obj))
        raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    def _patch(self, group, res, ns, name, sub, body, dry):
        api = self.api
        ct = self.headers.get("Content-Type", "").split(";")[0].strip()
        try:
            patch = json.loads(body.decode("utf-8", "replace"))
        except ValueError as e:
            raise bad_request(f"error decoding patch: {e}")
        with api._lock:
            old = api._objects.get((res, ns, name))
            if old is None:
                raise not_found(res, name)
            cur = api._visible(res, group, old)
            if ct == "application/merge-patch+json":
                new = merge_patch(cur, patch)
            elif ct == "application/strategic-merge-patch+json":
                if not isinstance(patch, dict):
                    raise bad_request("json: cannot unmarshal array into Go value of type map[string]interface {}")
                new = strategic_merge(cur, patch)
            elif ct == "application/json-patch+json":
                try:
                    new = json_patch(cur, patch)
                except JsonPatchError:
                    # The real server drops the jsonpatch error's text: NewGenericServerResponse(422, ...,
                    # isUnexpectedResponse=false) leaves details empty, so no client ever sees which op failed.
                    raise ApiError(422, "Invalid", "the server rejected our request due to an error in our request",
                                   {})
            else:
                raise ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - "
                               "accepted media types include: application/json-patch+json, "
                               "application/merge-patch+json, application/apply-patch+yaml, "
                               "application/strategic-merge-patch+json")
            if not isinstance(new, dict):
                raise bad_request("patched object is not an object")
            new.setdefault("metadata", {})
            if new["metadata"].get("resourceVersion") in (None, ""):
                new["metadata"]["resourceVersion"] = ""
            return self._send_obj(200, api._visible(res, group, api._update(group, res, ns, name, new, sub, dry)))

    # ---- list

    def _list(self, group, res, ns, req):
        api = self.api
        q = req["query"]
        labels = Selector(q.get("labelSelector"))
        fields = Selector(q.get("fieldSelector"), field=True)
        rv, match = q.get("resourceVersion"), q.get("resourceVersionMatch")
        cont = q.get("continue", "")
        if match and not rv:
            raise invalid("ListOptions", "", [("FieldValueForbidden", "resourceVersionMatch",
                                               "Forbidden: resourceVersionMatch is forbidden unless resourceVersion "
                                               "is provided")], "meta.k8s.io")
        if match and cont:
            raise invalid("ListOptions", "", [("FieldValueForbidden", "resourceVersionMatch",
                                               "Forbidden: resourceVersionMatch is forbidden when continue is "
                                               "provided")], "meta.k8s.io")
        if match == "Exact" and rv == "0":
            raise invalid("ListOptions", "", [("FieldValueForbidden", "resourceVersionMatch",
                                               'Forbidden: resourceVersionMatch "exact" is forbidden for '
                                               'resourceVersion "0"')], "meta.k8s.io")
        if rv not in (None, "") and not rv.isdigit():
            raise bad_request(f'invalid resource version "{rv}"')
        try:
            limit = int(q.get("limit") or 0)
        except ValueError:
            raise bad_request(f"invalid limit {q.get('limit')}")
        if rv == "0":
            limit = 0
        with api._lock:
            if rv not in (None, "", "0") and int(rv) > api._rv:
                deadline = time.monotonic() + api.too_large_timeout
                while int(rv) > api._rv and time.monotonic() < deadline:
                    api._cond.wait(deadline - time.monotonic())
                if int(rv) > api._rv:
                    raise ApiError(504, "Timeout", f"Too large resource version: {rv}, current: {api._rv}",
                                   {"causes": [{"reason": "ResourceVersionTooLarge",
                                                "message": "Too large resource version"}], "retryAfterSeconds": 1})
            list_rv, start = api._rv, ""
            if cont:
                try:
                    tok = json.loads(base64.b64decode(cont))
                    list_rv, start = int(tok["rv"]), tok["start"]
                except (ValueError, KeyError, TypeError, binascii.Error):
                    raise bad_request("continue key is not valid: incorrect encoded start resourceVersion "
                                      "(version meta.k8s.io/v1)")
                if list_rv < 0:  # the inconsistent token of an expired one: the rest at the current RV
                    list_rv = api._rv
                elif list_rv < api._compacted:
                    raise continue_expired(start)
            keys = sorted(k for k in api._objects if k[0] == res and (ns is None or k[1] == ns))
            items = []
            for k in keys:
                skey = f"{k[1] or ''}/{k[2]}"
                if start and skey <= start:
                    continue
                o = api._objects[k]
                if not labels.matches(o) or not fields.matches(o, field=True):
                    continue
                items.append((skey, api._visible(res, group, o)))
        md = {"resourceVersion": str(list_rv)}
        if limit and len(items) > limit:
            rest = len(items) - limit
            items = items[:limit]
            # Opaque to clients; the real server's is unpadded base64url with the etcd key, this one's
            # alphabet (+ / =) makes a client that forgets to escape it fail.
            md["continue"] = continue_token(list_rv, items[-1][0])
            if labels.empty() and fields.empty():
                md["remainingItemCount"] = rest
        out = []
        for _, o in items:
            o.pop("kind", None)
            o.pop("apiVersion", None)
            out.append(o)
        kind = GROUPS[group][res][0]
        return self._send_obj(200, {"kind": kind + "List", "apiVersion": f"{group}/v1" if group else "v1",
                                    "metadata": md, "items": out})

    # ---- watch

    def _write_chunk(self, data, split=None):
        raw = b"%x\r\n" % len(data) + data + b"\r\n"
        if split and split.get("wire"):
            n = max(1, split.get("size", 1))
            for i in range(0, len(raw), n):
                self.wfile.write(raw[i:i + n])
                if split.get("delay"):
                    time.sleep(split["delay"])
            return
        self.wfile.write(raw)

    def _emit(self, data, split):
        if split and not split.get("wire"):
            n = max(1, split.get("size", 1))
            for i in range(0, len(data), n):
                self._write_chunk(data[i:i + n])
                if split.get("delay"):
                    time.sleep(split["delay"])
        else:
            self._write_chunk(data, split)

    def _watch(self, group, res, ns, req):
        api = self.api
        q = req["query"]
        kind = GROUPS[group][res][0]
        apiv = f"{group}/v1" if group else "v1"
        labels = Selector(q.get("labelSelector"))
        fields = Selector(q.get("fieldSelector"), field=True)
        rv = q.get("resourceVersion", "")
        bookmarks = q.get("allowWatchBookmarks") in ("true", "1")
        send_initial = q.get("sendInitialEvents")
        if send_initial is not None:
            if not api.watch_list:
                raise invalid("ListOptions", "", [("FieldValueForbidden", "sendInitialEvents",
                                                   "Forbidden: sendInitialEvents is forbidden for watch unless the "
                                                   "WatchList feature gate is enabled")], "meta.k8s.io")
            if q.get("resourceVersionMatch") != "NotOlderThan":  # 1.32 does not require allowWatchBookmarks
                raise invalid("ListOptions", "", [("FieldValueForbidden", "resourceVersionMatch",
                                                   "Forbidden: sendInitialEvents requires setting "
                                                   "resourceVersionMatch to NotOlderThan")], "meta.k8s.io")
        send_initial = send_initial == "true"
        if send_initial and api.watch_list == "no-progress-notify":
            error = ApiError(500, "InternalError", "a watch stream was requested by the client but the required "
                             "storage feature RequestWatchProgress is disabled")
        else:
            error = None
        if rv not in ("", "0") and not rv.isdigit():
            raise bad_request(f'invalid resource version "{rv}"')
        try:
            timeout = int(q["timeoutSeconds"]) if q.get("timeoutSeconds") else None
        except ValueError:
            raise bad_request("invalid timeoutSeconds")
        faults = {f["kind"]: f["params"] for f in api._take_faults(
            req, {"split", "coalesce", "error", "close", "reset", "hang", "inject", "bookmark"}, many=True)}
        life = timeout if timeout is not None else random.uniform(api.min_watch_seconds, api.max_watch_seconds)
        deadline = time.monotonic() + life
        w = Watcher(group, res, ns)
        initial = []
        with api._lock:
            if error is None and rv not in ("", "0") and int(rv) > api._rv:
                end = time.monotonic() + api.too_large_timeout
                while int(rv) > api._rv and time.monotonic() < end:
                    api._cond.wait(end - time.monotonic())
                if int(rv) > api._rv:
                    error = ApiError(504, "Timeout", f"Too large resource version: {rv}, current: {api._rv}",
                                     {"causes": [{"reason": "ResourceVersionTooLarge",
                                                  "message": "Too large resource version"}], "retryAfterSeconds": 1})
            if error is None:
                if rv in ("", "0") or send_initial:
                    for k in sorted(api._objects):
                        if k[0] == res and (ns is None or k[1] == ns):
                            initial.append((None, "ADDED", copy.deepcopy(api._objects[k]), None))
                    if send_initial and rv not in ("", "0") and int(rv) > int(api._rv):
                        pass
                else:
                    x = int(rv)
                    if x < api._compacted - 1:
                        error = ApiError(410, "Expired", f"too old resource version: {x} ({api._compacted - 1})")
                    else:
                        initial = [(e[0], e[1], e[3], e[4]) for e in api._history
                                   if e[0] > x and e[2][0] == res and (ns is None or e[2][1] == ns)]
                api._watchers.add(w)
            start_rv = api._rv
        try:
            req["status"] = 200
            api._log(req)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", "no-cache, private")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.flush()
            self._stream(w, kind, apiv, labels, fields, bookmarks, send_initial, initial, error, faults, deadline,
                         start_rv)
        finally:
            with api._lock:
                api._watchers.discard(w)
                api._cond.notify_all()

    def _convert(self, ev, labels, fields, group, res):
        rv, typ, new, old = ev

        def ok(o):
            return o is not None and labels.matches(o) and fields.matches(o, field=True)
        if typ == "ADDED":
            return ("ADDED", new) if ok(new) else None
        if typ == "DELETED":
            return ("DELETED", new) if ok(old) else None
        n, o = ok(new), ok(old)
        if n and o:
            return ("MODIFIED", new)
        if n:
            return ("ADDED", new)
        if o:
            prev = copy.deepcopy(old)
            prev["metadata"]["resourceVersion"] = new["metadata"]["resourceVersion"]
            return ("DELETED", prev)
        return None

    def _stream(self, w, kind, apiv, labels, fields, bookmarks, send_initial, initial, error, faults, deadline,
                start_rv):
        api = self.api
        group, res = w.group, w.resource
        split = faults.get("split")
        coalesce = faults.get("coalesce")
        sent = 0
        pending = deque(initial)
        initial_left = len(initial) if send_initial else -1
        next_bm = time.monotonic() + api.bookmark_interval if bookmarks else None
        final_bm = deadline - 2 if bookmarks and deadline - 2 > time.monotonic() else None

        def event_bytes(typ, obj):
            o = api._visible(res, group, obj) if typ != "BOOKMARK" and typ != "ERROR" else obj
            return go_json({"type": typ, "object": o}) + b"\n"

        def bookmark():
            """A periodic or pre-timeout bookmark, shaped like the real one: an empty object of the kind
            whose zero creationTimestamp Go encodes as null. Like the watch cache, none unless something
            was written after the watch started: the cache's watcher counts the history it replays as
            seen, the events its selector hid included, and sends only bookmarks newer than that (so a
            quiet stream, or one that only replays history, gets none)."""
            with api._lock:
                brv = api._rv if w.q.empty() and not pending else None
            if brv is None or brv <= start_rv:
                return None
            return event_bytes("BOOKMARK", {"kind": kind, "apiVersion": apiv, "metadata": {
                "resourceVersion": str(brv), "creationTimestamp": None}})

        def end():
            self.wfile.write(b"0\r\n\r\n")

        if error is not None:
            self._emit(event_bytes("ERROR", error.status()), split)
            return end()
        while True:
            # faults due after `sent` events
            for fk in ("inject", "bookmark", "error", "close", "reset", "hang"):
                p = faults.get(fk)
                if p is None or p.get("after", 0) != sent:
                    continue
                del faults[fk]
                if fk == "inject":
                    line = p.get("line", b"garbage\n")
                    self._emit(line.encode() if isinstance(line, str) else line, split)
                elif fk == "bookmark":
                    md = {"annotations": {"k8s.io/initial-events-end": "true"}} if p.get("initial_events_end") else None
                    with api._lock:
                        b = event_bytes("BOOKMARK", {"kind": kind, "apiVersion": apiv, "metadata": dict(
                            {"resourceVersion": str(api._rv)},
                            **({"creationTimestamp": None} if p.get("creation_timestamp_null", True) else {}),
                            **(md or {}))})
                    self._emit(b, split)
                elif fk == "error":
                    code = p.get("code", 410)
                    reason = p.get("reason", "Expired")
                    msg = p.get("message") or (f"too old resource version: {start_rv} ({api._rv})" if code == 410
                                               else f"injected error {code}")
                    self._emit(event_bytes("ERROR", ApiError(code, reason, msg).status()), split)
                    return end()
                elif fk == "close":
                    return end()
                elif fk == "reset":
                    self._reset()
                elif fk == "hang":
                    with api._lock:  # a half-open stream is not a watch a restart could end
                        api._watchers.discard(w)
                        api._cond.notify_all()
                    self._hang()
            if initial_left == 0:
                initial_left = -1
                if bookmarks:
                    with api._lock:
                        brv = api._rv
                    self._emit(event_bytes("BOOKMARK", {"kind": kind, "apiVersion": apiv, "metadata": {
                        "resourceVersion": str(brv), "creationTimestamp": None,
                        "annotations": {"k8s.io/initial-events-end": "true"}}}), split)
            # next event
            if pending:
                ev = pending.popleft()
                if initial_left > 0:
                    initial_left -= 1
            else:
                now = time.monotonic()
                wake = deadline
                if next_bm is not None:
                    wake = min(wake, next_bm)
                if final_bm is not None:
                    wake = min(wake, final_bm)
                try:
                    ev = w.q.get(timeout=max(0.0, wake - now))
                except queue.Empty:
                    now = time.monotonic()
                    if now >= deadline:
                        return end()
                    if final_bm is not None and now >= final_bm:
                        final_bm = None
                        b = bookmark()
                        if b:
                            self._emit(b, split)
                    elif next_bm is not None and now >= next_bm:
                        next_bm = now + api.bookmark_interval
                        b = bookmark()
                        if b:
                            self._emit(b, split)
                    continue
            if ev is STOP:
                return end()
            conv = self._convert(ev, labels, fields, group, res)
            if conv is None:
                continue
            data = event_bytes(*conv)
            sent += 1
            if coalesce:
                n, limit = 1, time.monotonic() + coalesce.get("wait", 0.5)
                while n < coalesce.get("events", 10):
                    if pending:
                        nxt = pending.popleft()
                    else:
                        try:
                            nxt = w.q.get(timeout=max(0.0, limit - time.monotonic()))
                        except queue.Empty:
                            break
                    if nxt is STOP:
                        pending.appendleft(nxt)
                        break
                    c = self._convert(nxt, labels, fields, group, res)
                    if c:
                        data += event_bytes(*c)
                        n += 1
                        sent += 1
                self._write_chunk(data, split)
            else:
                self._emit(data, split)
            if api.record_sent:  # for benchmarks: when each event left, to time its propagation
                api.sent.append((time.monotonic(), data))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", required=True)
    ap.add_argument("--port", type=int, default=0)
    a = ap.parse_args()
    srv = ApiServer(a.dir)
    srv.port = a.port
    srv.start()
    srv.kubeconfig(os.path.join(a.dir, "kubeconfig"))
    print(srv.url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        srv.stop()


if __name__ == "__main__":
    main()
