#!/usr/bin/env python3
"""seccompd run --source kube, measured against the test API server on loopback (tests/kube):

- propagation: the server has written a watch event for a ConfigMap update to its socket -> the target
  file is renamed (seen with inotify), over UPDATES updates of a small profile, each from an idle
  daemon; also from the update's start, with the test server's own (Python) work;
- cold start: 100 ConfigMaps holding 500 distinct profiles -> READY=1 with every file on disk;
- steady memory after the sync (RssAnon, VmRSS, PSS);
- requests per hour in steady state, simulated: protocol timers compressed 100 times
  (SECCOMPD_TEST_TIME_SCALE=0.01), so 36 s of running is an hour of watches;
- side by side, the common alternative: a loop running `kubectl get configmaps -l ... -o json` every
  10 s and writing the files (its run time, CPU and peak memory are measured; its propagation delay
  follows from the 10 s period plus the measured run time).

Medians of RUNS runs. Usage: bench-kube.py SECCOMPD [CORPUS_DIR]"""
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "kube"))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
from apiserver import ApiServer  # noqa: E402
from harness import IN_MOVED_TO, Daemon, Inotify  # noqa: E402

SECCOMPD = os.path.abspath(sys.argv[1])
CORPUS = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "..", "..", "shared", "profiles")
RUNS = int(os.environ.get("RUNS", "3"))
UPDATES = int(os.environ.get("UPDATES", "1000"))
STEADY_SECONDS = float(os.environ.get("STEADY_SECONDS", "36"))
LABEL = {"seccompd.io/profile": "true"}


def corpus_profiles():
    out = []
    for name in sorted(os.listdir(CORPUS)):
        path = os.path.join(CORPUS, name)
        if name.endswith(".json") and subprocess.run([SECCOMPD, "validate", path], capture_output=True).returncode == 0:
            out.append(open(path, encoding="utf-8").read().rstrip())
    return out


def configmap(name, data):
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "default", "labels": dict(LABEL)}, "data": data}


def from_seccompd(r):
    return r["headers"].get("User-Agent", "").startswith("seccompd/")


def daemon(kubeconfig, root, scale=None):
    return Daemon(["--source", "kube", "--kubeconfig", kubeconfig, "--namespace", "default", "--root", root,
                   "--listen", "none"], env={"SECCOMPD_TEST_TIME_SCALE": scale} if scale else None,
                  seccompd=SECCOMPD, timeout=120, expect_confined=False)


def propagation(srv, d, root):
    renames = Inotify(root, IN_MOVED_TO)
    small = {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read", "write", "exit_group"],
                                                              "action": "SCMP_ACT_ALLOW"}]}
    lat, whole = [], []
    srv.record_sent = True
    for i in range(UPDATES):
        small["syscalls"][0]["names"][0] = "read" if i % 2 else "pread64"
        body = json.dumps(small) + " " * i  # distinct bytes: validated afresh each time
        srv.sent.clear()
        t_apply = time.monotonic()
        srv.apply(configmap("update", {"update.json": body}))  # stores, then queues the watch event
        assert renames.wait(lambda mask, name: mask & IN_MOVED_TO and name == "update.json", 120), \
            "update.json was not renamed into place in 120 s"
        t1 = time.monotonic()
        # From the moment the server wrote the event to its socket (the server records it; a Python
        # thread of ours, so that moment is after the write returned, never before).
        sent = [t for t, data in srv.sent if b'"update"' in data]
        deadline = time.monotonic() + 5
        while not sent and time.monotonic() < deadline:
            # The server's thread records the event after its write returned: the rename can be seen
            # first. Let that thread run (the GIL) and look again.
            time.sleep(0)
            sent = [t for t, data in srv.sent if b'"update"' in data]
        lat.append((t1 - sent[0]) * 1000)
        whole.append((t1 - t_apply) * 1000)
        d.next_sync()
    srv.record_sent = False
    renames.close()
    lat.sort()
    whole.sort()
    return lat, whole, small


def kubectl_loop(srv, kubeconfig, tmp, iterations=10):
    """One iteration of the usual DaemonSet script: list with kubectl, write every key to a file."""
    out = f"{tmp}/loop-out"
    os.makedirs(out, exist_ok=True)
    times, cpu, rss = [], [], []
    before = len(srv.requests)
    for _ in range(iterations):
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.monotonic()
        p = subprocess.run(["kubectl", "--kubeconfig", kubeconfig, "--cache-dir", f"{tmp}/cache", "get",
                            "configmaps", "-n", "default", "-l", "seccompd.io/profile=true", "-o", "json"],
                           capture_output=True, text=True, check=True)
        for cm in json.loads(p.stdout)["items"]:
            for k, v in cm.get("data", {}).items():
                with open(f"{out}/{k}", "w") as f:  # what the usual script does: no temp file, no rename
                    f.write(v)
        times.append(time.monotonic() - t0)
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append((r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime))
        rss.append(r1.ru_maxrss)
    reqs = (len(srv.requests) - before) / iterations
    return statistics.median(times), statistics.median(cpu), max(rss), reqs


def main():
    profiles = corpus_profiles()
    tmp = tempfile.mkdtemp()
    srv = ApiServer(f"{tmp}/srv")
    srv.start()
    kubeconfig = srv.kubeconfig(f"{tmp}/kubeconfig", user="token")
    for c in range(100):
        data = {}
        for k in range(5):
            i = c * 5 + k
            data[f"p{i:03}.json"] = profiles[i % len(profiles)] + "\n" + " " * (i // len(profiles))
        srv.apply(configmap(f"cm{c:03}", data))

    cold, mem, p50, p99, w50, w99 = [], [], [], [], [], []
    for run in range(RUNS):
        root = f"{tmp}/root{run}"
        with daemon(kubeconfig, root) as d:
            d.ready()
            cold.append(time.monotonic() - d.started)
            assert len([n for n in os.listdir(root) if n.endswith(".json")]) == 500
            d.quiet()  # steady: no sync reported for a second
            mem.append(d.memory())
            lat, whole, small = propagation(srv, d, root)
            p50.append(lat[len(lat) // 2])
            p99.append(lat[int(len(lat) * 0.99)])
            w50.append(whole[len(whole) // 2])
            w99.append(whole[int(len(whole) * 0.99)])
        srv.delete("ConfigMap", "default", "update")

    # Steady state, an hour compressed into STEADY_SECONDS: how many requests, and were there relists?
    root = f"{tmp}/root-steady"
    d = daemon(kubeconfig, root, scale=str(STEADY_SECONDS / 3600))
    d.ready()
    d.quiet()
    n0 = [r for r in srv.requests if from_seccompd(r)]
    t0 = time.monotonic()
    deadline = t0 + STEADY_SECONDS
    while time.monotonic() < deadline:
        try:
            srv.wait_for_request(lambda r: False, timeout=deadline - time.monotonic())
        except TimeoutError:
            pass
    n1 = [r for r in srv.requests if from_seccompd(r)]
    d.close()
    new = n1[len(n0):]
    hours = (time.monotonic() - t0) / STEADY_SECONDS
    watches = sum(1 for r in new if r["watch"]) / hours
    lists = sum(1 for r in new if not r["watch"]) / hours

    # The in-process validate time of the small profile, for the target.
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        f.write(json.dumps(small))
    bv = os.path.join(os.path.dirname(os.path.dirname(SECCOMPD)), "bench", "bench-validate")
    out = subprocess.run([bv, "--runtime", "containerd", "--runs", "15", f.name], capture_output=True, text=True,
                         check=True).stdout
    os.unlink(f.name)
    validate = float(out.splitlines()[1].split()[1].rstrip("ms"))

    loop_time, loop_cpu, loop_rss, loop_reqs = kubectl_loop(srv, kubeconfig, tmp)
    srv.stop()
    shutil.rmtree(tmp)

    rss, anon, pss = (statistics.median(m[i] for m in mem) for i in range(3))
    target = validate + 5
    print(f"API server: tests/kube/apiserver.py on loopback (TLS); {RUNS} runs; medians of runs")
    print(f"cold start, 100 ConfigMaps / 500 profiles -> READY: {statistics.median(cold) * 1000:8.1f} ms"
          f"   (target <= 5000; runs: {', '.join(f'{x * 1000:.0f}' for x in cold)})")
    print(f"propagation over {UPDATES} updates: p50 {statistics.median(p50):.2f} ms, p99 {statistics.median(p99):.2f} ms"
          f" (p99 per run: {', '.join(f'{x:.2f}' for x in p99)})")
    print(f"  target p99 <= validate + 5 ms = {target:.2f} ms (validate in-process {validate:.2f} ms): "
          f"{'met' if statistics.median(p99) <= target else 'NOT met'}")
    print(f"  including the test server's own work (apply -> stored -> event encoded, in Python): "
          f"p50 {statistics.median(w50):.2f} ms, p99 {statistics.median(w99):.2f} ms")
    print(f"steady memory: RssAnon {anon / 1024:.2f} MiB (target <= 4), VmRSS {rss / 1024:.1f} MiB, "
          f"PSS {pss / 1024:.1f} MiB")
    print(f"steady state: {watches + lists:.1f} requests per hour ({watches:.1f} watches, {lists:.1f} lists)")
    print()
    print(f"{'':34}{'seccompd':>18}{'kubectl loop (10 s)':>24}")
    print(f"{'propagation p50':34}{statistics.median(p50):>15.2f} ms{5000 + loop_time * 1000:>21.0f} ms")
    print(f"{'propagation p99':34}{statistics.median(p99):>15.2f} ms{9900 + loop_time * 1000:>21.0f} ms")
    print(f"{'requests per hour':34}{watches + lists:>18.1f}{3600 / 10 * loop_reqs:>24.0f}")
    print(f"{'memory':34}{anon / 1024:>11.2f} MiB anon{loop_rss / 1024:>14.1f} MiB peak RSS")
    print(f"{'CPU per hour, steady':34}{'(event-driven)':>18}{360 * loop_cpu:>22.1f} s")
    print(f"  kubectl loop: one run {loop_time * 1000:.0f} ms, {loop_cpu * 1000:.0f} ms CPU, "
          f"{loop_reqs:.1f} requests; its propagation is the 10 s period plus one run; it writes files in "
          f"place (no rename), validates nothing and never deletes")


main()
