#!/usr/bin/env python3
"""seccompd on the real cluster of tests/cluster (kube-apiserver, etcd, kubelet, containerd), installed
with `kubectl apply -k deploy/`: propagation of a ConfigMap change to the file on the node, seen with
inotify on the kubelet's seccomp directory, over UPDATES updates each with distinct bytes:

- `kubectl apply` started -> file renamed into place (what an admin waits for; kubectl's own start,
  its GET and its PATCH included), beside kubectl's own run time;
- PATCH sent by a client already connected -> file renamed (the API server, etcd, the watch and
  seccompd), beside the PATCH's own round trip, for scale.

Brings the cluster up (and down) unless SECCOMPD_CLUSTER_DIR names one that is up. Prints medians and
p99; RUNS runs, the median of each figure across runs."""
import http.client
import json
import os
import ssl
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "cluster"))
from tier import NS, SECCOMP, Inotify, Tier  # noqa: E402

UPDATES = int(os.environ.get("UPDATES", "100"))
RUNS = int(os.environ.get("RUNS", "3"))
NAME, DIRECTORY, KEY = "bench-propagation", "bench", "bench.json"


def profile(i):
    return json.dumps({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1 + i % 4000}]})


def wait_rename(ino, deadline):
    while True:
        for mask, name, t in ino.read(max(0.0, deadline - time.monotonic())):
            if mask & Inotify.IN_MOVED_TO and name == KEY:
                return t
        if time.monotonic() > deadline:
            raise RuntimeError("the update never reached the disk")


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def run_once(t, ino, counter):
    cm = t.configmap(NAME, {KEY: profile(0)}, directory=DIRECTORY)
    applied, kubectl = [], []
    for _ in range(UPDATES):
        counter[0] += 1
        cm["data"][KEY] = profile(counter[0])
        start = time.monotonic()
        t.apply(cm)
        kubectl.append(time.monotonic() - start)
        applied.append(wait_rename(ino, start + 30) - start)
    ctx = ssl.create_default_context(cafile=os.path.join(t.c.pki, "ca.crt"))
    ctx.load_cert_chain(os.path.join(t.c.pki, "admin.crt"), os.path.join(t.c.pki, "admin.key"))
    host = t.api.split("//")[1].split(":")[0]
    conn = http.client.HTTPSConnection(host, 6443, context=ctx)
    patched, rtt = [], []
    for _ in range(UPDATES):
        counter[0] += 1
        body = json.dumps({"data": {KEY: profile(counter[0])}})
        start = time.monotonic()
        conn.request("PATCH", f"/api/v1/namespaces/{NS}/configmaps/{NAME}", body=body,
                     headers={"Content-Type": "application/merge-patch+json"})
        r = conn.getresponse()
        r.read()
        done = time.monotonic()
        if r.status != 200:
            raise RuntimeError(f"PATCH: {r.status}")
        patched.append(wait_rename(ino, start + 30) - start)
        rtt.append(done - start)
    conn.close()
    return applied, kubectl, patched, rtt


def main():
    t = Tier()
    try:
        t.kubectl("create", "namespace", NS, check=False)
        t.uninstall()
        t.install()
        t.apply(t.configmap(NAME, {KEY: profile(0)}, directory=DIRECTORY))
        t.wait_file(f"{DIRECTORY}/{KEY}", profile(0).encode())
        ino = Inotify(os.path.join(SECCOMP, DIRECTORY), Inotify.IN_MOVED_TO)
        counter = [0]
        runs = [run_once(t, ino, counter) for _ in range(RUNS)]
        ino.close()
        print(f"seccompd on the real cluster ({t.server_version()}), {UPDATES} updates per run, {RUNS} runs:")
        for label, i in (("kubectl apply started -> file on disk", 0), ("kubectl apply's own run time", 1),
                         ("PATCH sent -> file on disk", 2), ("PATCH round trip (for scale)", 3)):
            p50 = statistics.median(statistics.median(r[i]) for r in runs) * 1000
            p99 = statistics.median(pct(r[i], 99) for r in runs) * 1000
            print(f"  {label:40s} p50 {p50:7.2f} ms   p99 {p99:7.2f} ms")
        t.kubectl("delete", "configmap", "-n", NS, NAME)
        t.uninstall()
    finally:
        t.close()


if __name__ == "__main__":
    main()
