#!/usr/bin/env python3
"""A real single-node Kubernetes on this machine, for seccompd's cluster tier.

  up DIR     build what is missing, start etcd, kube-apiserver, kube-controller-manager,
             kube-scheduler (in a network namespace of their own), containerd, the kubelet and
             kube-proxy (in the initial one, fenced), import the images, wait for the Node to be
             Ready, print KUBECONFIG=DIR/kubeconfig as the last line.
  down DIR   stop everything up started and remove what it created: processes, mounts, the network
             namespace, links, iptables chains, /var/lib/kubelet, ip_forward as it was.

Why this shape (../shared/reference/real-cluster.md has the measurements):
- The control plane gets its own network namespace because the API server's advertise address
  becomes the `kubernetes` Service's endpoint, and Endpoints refuse loopback addresses.
- The node (containerd, kubelet, kube-proxy) stays in the initial network namespace: a hostNetwork
  pod shares it, and the kernel sends audit records only to listeners there.
- A fence in the mangle table's FORWARD chain lets pod traffic reach only the cluster's own
  addresses; nothing leaves the machine.
- The kubelet's root is the standard /var/lib/kubelet, so deploy/ applies unchanged.

The module is also imported by the tests, for the faults they cause (restarting a component,
compacting etcd, re-registering the node).
"""

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

NETNS = "seccompd-cp"
VETH_NODE, VETH_CP = "sd-node0", "sd-cp0"
NODE_IP, CP_IP, LINK_CIDR = "10.77.1.1", "10.77.1.2", "10.77.1.0/24"
POD_CIDR, POD_GATEWAY, BRIDGE = "10.88.0.0/24", "10.88.0.1", "sd-cni0"
SERVICE_CIDR, SERVICE_IP = "10.96.0.0/24", "10.96.0.1"
FENCE = "SECCOMPD-FENCE"
NODE = "seccompd-node"
KUBELET_ROOT = "/var/lib/kubelet"
MARKER = os.path.join(KUBELET_ROOT, ".seccompd-test-cluster")
API = f"https://{CP_IP}:6443"

CONTROL_PLANE = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"]
NODE_COMPONENTS = ["containerd", "kubelet", "kube-proxy"]


def log(msg):
    print(f"cluster: {msg}", file=sys.stderr, flush=True)


def run(*cmd, check=True, capture=False, netns=False, **kw):
    if netns:
        cmd = ("nsenter", f"--net=/var/run/netns/{NETNS}", "--") + cmd
    p = subprocess.run(cmd, text=True, stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
                       stderr=subprocess.PIPE, **kw)
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}): {p.stderr.strip()}")
    return p


class Cluster:
    def __init__(self, state):
        self.dir = os.path.abspath(state)
        self.pki = os.path.join(self.dir, "pki")
        self.logs = os.path.join(self.dir, "logs")
        self.pids = os.path.join(self.dir, "run")
        self.ctd = os.path.join(self.dir, "containerd")
        self.sock = os.path.join(self.ctd, "containerd.sock")
        self.kubeconfig = os.path.join(self.dir, "kubeconfig")
        self.bin = None

    # ---- processes -------------------------------------------------------------------------

    def pidfile(self, name):
        return os.path.join(self.pids, name + ".pid")

    def pid(self, name):
        try:
            with open(self.pidfile(name)) as f:
                pid = int(f.read())
        except (OSError, ValueError):
            return None
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return None
        except OSError:
            return None
        return pid

    def start(self, name, argv, netns=False):
        if netns:
            argv = ["nsenter", f"--net=/var/run/netns/{NETNS}", "--"] + argv
        out = open(os.path.join(self.logs, name + ".log"), "ab")
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                             start_new_session=True, cwd=self.dir)
        out.close()
        with open(self.pidfile(name), "w") as f:
            f.write(str(p.pid))
        return p

    def stop(self, name, timeout=20):
        pid = self.pid(name)
        if pid is None:
            return
        for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10)):
            try:
                os.killpg(pid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline and self.pid(name) == pid:
                try:
                    os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    pass
                time.sleep(0.1)
            if self.pid(name) != pid:
                break
        os.unlink(self.pidfile(name))

    def wait_for(self, what, name, check, timeout):
        """Wait until check() is true; fail with the component's log tail if it died or took too long."""
        deadline = time.monotonic() + timeout
        while True:
            if check():
                return
            if name and self.pid(name) is None:
                raise RuntimeError(f"{name} exited while waiting for {what}:\n{self.tail(name)}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out after {timeout} s waiting for {what}:\n{self.tail(name)}")
            time.sleep(0.2)

    def tail(self, name, lines=30):
        if not name:
            return ""
        try:
            with open(os.path.join(self.logs, name + ".log"), errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""

    # ---- kubectl ---------------------------------------------------------------------------

    def kubectl(self, *args, check=True, input=None, kubeconfig=None):
        p = subprocess.run(["kubectl", "--kubeconfig", kubeconfig or self.kubeconfig, *args], text=True,
                           input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if check and p.returncode != 0:
            raise RuntimeError(f"kubectl {' '.join(args)} failed: {p.stderr.strip()}")
        return p

    def api_ready(self):
        return self.kubectl("get", "--raw", "/readyz", check=False).returncode == 0

    def node_ready(self):
        p = self.kubectl("get", "node", NODE, "-o", "json", check=False)
        if p.returncode != 0:
            return False
        conds = json.loads(p.stdout).get("status", {}).get("conditions", [])
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conds)

    # ---- certificates ----------------------------------------------------------------------

    def cert(self, name, subject, sans=None, server=False):
        key, crt = os.path.join(self.pki, name + ".key"), os.path.join(self.pki, name + ".crt")
        if os.path.exists(crt):
            return
        run("openssl", "genrsa", "-out", key, "2048")
        csr = os.path.join(self.pki, name + ".csr")
        run("openssl", "req", "-new", "-key", key, "-subj", subject, "-out", csr)
        ext = os.path.join(self.pki, name + ".ext")
        with open(ext, "w") as f:
            f.write("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n")
            f.write(f"extendedKeyUsage={'serverAuth' if server else 'clientAuth'}\n")
            if sans:
                f.write("subjectAltName=" + ",".join(sans) + "\n")
        run("openssl", "x509", "-req", "-in", csr, "-CA", self.ca_crt, "-CAkey", self.ca_key,
            "-CAcreateserial", "-days", "30", "-sha256", "-extfile", ext, "-out", crt)
        os.unlink(csr)
        os.unlink(ext)

    def write_kubeconfig(self, path, name, server=API):
        with open(path, "w") as f:
            f.write(f"""apiVersion: v1
kind: Config
clusters:
- name: seccompd-test
  cluster:
    certificate-authority: {self.ca_crt}
    server: {server}
users:
- name: {name}
  user:
    client-certificate: {self.pki}/{name}.crt
    client-key: {self.pki}/{name}.key
contexts:
- name: {name}
  context: {{cluster: seccompd-test, user: {name}}}
current-context: {name}
""")

    def make_pki(self):
        os.makedirs(self.pki, exist_ok=True)
        self.ca_key, self.ca_crt = os.path.join(self.pki, "ca.key"), os.path.join(self.pki, "ca.crt")
        if not os.path.exists(self.ca_crt):
            run("openssl", "genrsa", "-out", self.ca_key, "2048")
            run("openssl", "req", "-x509", "-new", "-key", self.ca_key, "-subj", "/CN=seccompd-test-ca",
                "-days", "30", "-sha256", "-out", self.ca_crt)
        self.cert("apiserver", "/CN=kube-apiserver", server=True, sans=[
            f"IP:{SERVICE_IP}", f"IP:{CP_IP}", "IP:127.0.0.1", "DNS:kubernetes", "DNS:kubernetes.default",
            "DNS:kubernetes.default.svc", "DNS:kubernetes.default.svc.cluster.local", "DNS:localhost"])
        self.cert("kubelet-serving", f"/CN={NODE}", server=True, sans=[f"IP:{NODE_IP}", f"DNS:{NODE}"])
        for name, subject in (("admin", "/O=system:masters/CN=admin"),
                              ("apiserver-kubelet-client", "/O=system:masters/CN=kube-apiserver-kubelet-client"),
                              ("kubelet", f"/O=system:nodes/CN=system:node:{NODE}"),
                              ("kube-controller-manager", "/CN=system:kube-controller-manager"),
                              ("kube-scheduler", "/CN=system:kube-scheduler"),
                              ("kube-proxy", "/CN=system:kube-proxy")):
            self.cert(name, subject)
        sa = os.path.join(self.pki, "sa.key")
        if not os.path.exists(sa):
            run("openssl", "genrsa", "-out", sa, "2048")
            run("openssl", "rsa", "-in", sa, "-pubout", "-out", os.path.join(self.pki, "sa.pub"))
        self.write_kubeconfig(self.kubeconfig, "admin")
        for name in ("kubelet", "kube-controller-manager", "kube-scheduler", "kube-proxy"):
            self.write_kubeconfig(os.path.join(self.dir, name + ".kubeconfig"), name)

    # ---- network ---------------------------------------------------------------------------

    def make_network(self):
        saved = os.path.join(self.pids, "ip_forward")
        if not os.path.exists(saved):
            with open("/proc/sys/net/ipv4/ip_forward") as f, open(saved, "w") as out:
                out.write(f.read().strip())
        run("ip", "netns", "add", NETNS)
        run("ip", "link", "add", VETH_NODE, "type", "veth", "peer", "name", VETH_CP)
        run("ip", "link", "set", VETH_CP, "netns", NETNS)
        run("ip", "addr", "add", f"{NODE_IP}/24", "dev", VETH_NODE)
        run("ip", "link", "set", VETH_NODE, "up")
        run("ip", "link", "set", "lo", "up", netns=True)
        run("ip", "addr", "add", f"{CP_IP}/24", "dev", VETH_CP, netns=True)
        run("ip", "link", "set", VETH_CP, "up", netns=True)
        # The control plane reaches the node and the pods, nothing else (no default route).
        run("ip", "route", "add", POD_CIDR, "via", NODE_IP, netns=True)
        with open("/proc/sys/net/ipv4/ip_forward", "w") as f:
            f.write("1")
        # kube-proxy puts its own chains at the top of filter FORWARD and accepts what it marked:
        # the fence sits in mangle FORWARD, which every forwarded packet passes first.
        run("iptables", "-t", "mangle", "-N", FENCE)
        for rule in (["-d", LINK_CIDR, "-j", "RETURN"], ["-d", POD_CIDR, "-j", "RETURN"],
                     ["-s", POD_CIDR, "-j", "DROP"], ["-i", VETH_NODE, "-j", "DROP"]):
            run("iptables", "-t", "mangle", "-A", FENCE, *rule)
        run("iptables", "-t", "mangle", "-I", "FORWARD", "1", "-j", FENCE)

    # ---- components ------------------------------------------------------------------------

    def start_control_plane(self):
        b = self.bin
        self.start("etcd", ["etcd", "--name", "seccompd-test", "--data-dir", os.path.join(self.dir, "etcd"),
                            "--listen-client-urls", "http://127.0.0.1:2379",
                            "--advertise-client-urls", "http://127.0.0.1:2379",
                            "--listen-peer-urls", "http://127.0.0.1:2380",
                            "--initial-advertise-peer-urls", "http://127.0.0.1:2380",
                            "--initial-cluster", "seccompd-test=http://127.0.0.1:2380",
                            "--listen-metrics-urls", "http://127.0.0.1:2381"], netns=True)
        self.wait_for("etcd", "etcd", lambda: run(
            "etcdctl", "--endpoints=http://127.0.0.1:2379", "endpoint", "health", check=False, netns=True,
            env={**os.environ, "ETCDCTL_API": "3"}).returncode == 0, 60)
        self.start_apiserver()
        p = self.pki
        self.start("kube-controller-manager", [
            f"{b}/kube-controller-manager", f"--kubeconfig={self.dir}/kube-controller-manager.kubeconfig",
            f"--authentication-kubeconfig={self.dir}/kube-controller-manager.kubeconfig",
            f"--authorization-kubeconfig={self.dir}/kube-controller-manager.kubeconfig",
            f"--service-account-private-key-file={p}/sa.key", f"--root-ca-file={p}/ca.crt",
            f"--cluster-signing-cert-file={p}/ca.crt", f"--cluster-signing-key-file={p}/ca.key",
            "--use-service-account-credentials", f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--leader-elect=false", "--bind-address=127.0.0.1"], netns=True)
        self.start("kube-scheduler", [
            f"{b}/kube-scheduler", f"--kubeconfig={self.dir}/kube-scheduler.kubeconfig",
            f"--authentication-kubeconfig={self.dir}/kube-scheduler.kubeconfig",
            f"--authorization-kubeconfig={self.dir}/kube-scheduler.kubeconfig",
            "--leader-elect=false", "--bind-address=127.0.0.1"], netns=True)

    def start_apiserver(self):
        p = self.pki
        self.start("kube-apiserver", [
            f"{self.bin}/kube-apiserver", "--etcd-servers=http://127.0.0.1:2379",
            f"--advertise-address={CP_IP}", "--bind-address=0.0.0.0", "--secure-port=6443",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            f"--client-ca-file={p}/ca.crt", f"--tls-cert-file={p}/apiserver.crt",
            f"--tls-private-key-file={p}/apiserver.key",
            f"--kubelet-client-certificate={p}/apiserver-kubelet-client.crt",
            f"--kubelet-client-key={p}/apiserver-kubelet-client.key",
            f"--kubelet-certificate-authority={p}/ca.crt", "--kubelet-preferred-address-types=InternalIP",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={p}/sa.pub", f"--service-account-signing-key-file={p}/sa.key",
            "--authorization-mode=Node,RBAC", "--enable-admission-plugins=NodeRestriction",
            "--allow-privileged=true", "--endpoint-reconciler-type=lease",
            f"--audit-log-path={self.logs}/audit.log", f"--audit-policy-file={self.audit_policy()}",
            "--audit-log-maxsize=100"], netns=True)
        self.wait_for("kube-apiserver /readyz", "kube-apiserver", self.api_ready, 120)

    def audit_policy(self):
        """Metadata for every request but reads of leases and the health endpoints: what a test
        needs to count the requests a client made and who made them."""
        path = os.path.join(self.dir, "audit-policy.yaml")
        with open(path, "w") as f:
            f.write("""apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: None
  nonResourceURLs: ["/healthz*", "/readyz*", "/livez*", "/version"]
- level: None
  resources: [{group: coordination.k8s.io, resources: [leases]}]
- level: Metadata
""")
        return path

    def start_containerd(self):
        os.makedirs(os.path.join(self.dir, "cni", "net.d"), exist_ok=True)
        with open(os.path.join(self.dir, "cni", "net.d", "10-seccompd-test.conflist"), "w") as f:
            json.dump({"cniVersion": "1.0.0", "name": "seccompd-test", "plugins": [
                {"type": "bridge", "bridge": BRIDGE, "isGateway": True, "ipMasq": False, "hairpinMode": True,
                 "ipam": {"type": "host-local", "dataDir": os.path.join(self.dir, "cni", "ipam"),
                          "ranges": [[{"subnet": POD_CIDR, "gateway": POD_GATEWAY}]],
                          "routes": [{"dst": "0.0.0.0/0"}]}},
                {"type": "portmap", "capabilities": {"portMappings": True}},
                {"type": "loopback"}]}, f)
        cfg = os.path.join(self.ctd, "config.toml")
        with open(cfg, "w") as f:
            f.write(f"""version = 2
root = "{self.ctd}/root"
state = "{self.ctd}/state"
[grpc]
  address = "{self.sock}"
[ttrpc]
  address = "{self.sock}.ttrpc"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "localhost/pause:dev"
  # root here lacks CAP_SYS_RESOURCE: without this every sandbox fails with "can't get final
  # child's PID from pipe: EOF".
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{self.dir}/cni/net.d"
""")
        self.start("containerd", ["containerd", "--config", cfg])
        self.wait_for("containerd", "containerd", lambda: run(
            "ctr", "-a", self.sock, "version", check=False).returncode == 0, 60)

    def start_node(self, taints=None):
        cfg = os.path.join(self.dir, "kubelet.yaml")
        with open(cfg, "w") as f:
            f.write(f"""apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: {NODE_IP}
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
cgroupDriver: cgroupfs
failSwapOn: false
containerRuntimeEndpoint: unix://{self.sock}
resolvConf: ""
tlsCertFile: {self.pki}/kubelet-serving.crt
tlsPrivateKeyFile: {self.pki}/kubelet-serving.key
authentication:
  anonymous: {{enabled: false}}
  webhook: {{enabled: true}}
  x509: {{clientCAFile: {self.pki}/ca.crt}}
authorization: {{mode: Webhook}}
# A test node on a shared disk: images are imported, never pulled again, so never collect them,
# and evict nothing for disk or memory a test did not cause.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {{memory.available: 100Mi, nodefs.available: 1%, imagefs.available: 1%}}
""")
        self.start_kubelet(taints)
        self.start("kube-proxy", [
            f"{self.bin}/kube-proxy", f"--kubeconfig={self.dir}/kube-proxy.kubeconfig",
            f"--hostname-override={NODE}", f"--cluster-cidr={POD_CIDR}", "--proxy-mode=iptables",
            "--iptables-localhost-nodeports=false", "--conntrack-max-per-core=0",
            "--metrics-bind-address=127.0.0.1:10249", "--healthz-bind-address=127.0.0.1:10256"])

    def start_kubelet(self, taints=None):
        argv = [f"{self.bin}/kubelet", f"--config={self.dir}/kubelet.yaml",
                f"--kubeconfig={self.dir}/kubelet.kubeconfig", f"--root-dir={KUBELET_ROOT}",
                f"--hostname-override={NODE}", f"--node-ip={NODE_IP}"]
        if taints:
            argv.append("--register-with-taints=" + ",".join(taints))
        self.start("kubelet", argv)

    def restart_kubelet(self, taints=None):
        """What a kubelet does after its Node object was deleted: register again, with its taints."""
        self.stop("kubelet")
        self.start_kubelet(taints)
        self.wait_for("the Node to be Ready", "kubelet", self.node_ready, 120)

    def restart_apiserver(self):
        self.stop("kube-apiserver")
        self.start_apiserver()

    def etcdctl(self, *args):
        return run("etcdctl", "--endpoints=http://127.0.0.1:2379", *args, capture=True, netns=True,
                   env={**os.environ, "ETCDCTL_API": "3"}).stdout

    def compact(self):
        """Compact etcd to its current revision: every watch from an older resourceVersion gets 410."""
        status = json.loads(self.etcdctl("endpoint", "status", "-w", "json"))
        rev = status[0]["Status"]["header"]["revision"]
        self.etcdctl("compact", str(rev), "--physical")
        return rev

    # ---- up / down -------------------------------------------------------------------------

    def refuse_foreign(self):
        ours = {str(self.pid(n)) for n in CONTROL_PLANE + NODE_COMPONENTS}
        p = run("pgrep", "-x", "kubelet", check=False, capture=True)
        others = [pid for pid in p.stdout.split() if pid not in ours]
        if others:
            raise SystemExit(f"a kubelet is already running (pid {', '.join(others)}); it would share "
                             f"{KUBELET_ROOT} with this cluster's: stop it first")
        if os.path.exists(KUBELET_ROOT):
            try:
                with open(MARKER) as f:
                    other = f.read().strip()
            except OSError:
                raise SystemExit(f"{KUBELET_ROOT} exists and was not made by tests/cluster/up: "
                                 f"it holds another kubelet's state; refusing to touch it")
            stale = Cluster(other)
            if any(stale.pid(n) for n in CONTROL_PLANE + NODE_COMPONENTS):
                raise SystemExit(f"a test cluster already runs from {other}: tests/cluster/down {other}")
            log(f"a stopped test cluster's state is left from {other}: removing it first")
            stale.down()
        if os.path.exists(f"/var/run/netns/{NETNS}"):
            raise SystemExit(f"the network namespace {NETNS} exists without a cluster: "
                             f"`ip netns del {NETNS}` if nothing else uses it")

    def up(self, taints=None):
        t0 = time.monotonic()
        self.refuse_foreign()
        for d in (self.dir, self.logs, self.pids, self.ctd):
            os.makedirs(d, exist_ok=True)
        p = subprocess.run([os.path.join(HERE, "build")], text=True, stdout=subprocess.PIPE)
        if p.returncode != 0:
            raise SystemExit("up: building the Kubernetes binaries failed (above)")
        self.bin = p.stdout.strip().splitlines()[-1]
        with open(os.path.join(self.dir, "bin"), "w") as f:
            f.write(self.bin)
        t_build = time.monotonic()
        os.makedirs(KUBELET_ROOT, exist_ok=True)
        with open(MARKER, "w") as f:
            f.write(self.dir)
        self.make_pki()
        self.make_network()
        self.start_control_plane()
        self.start_containerd()
        p = subprocess.run([os.path.join(HERE, "images"), self.sock])
        if p.returncode != 0:
            raise SystemExit("up: building or importing the images failed (above)")
        t_images = time.monotonic()
        self.start_node(taints)
        self.wait_for("the Node to be registered", "kubelet",
                      lambda: self.kubectl("get", "node", NODE, check=False).returncode == 0, 120)
        self.wait_for("the Node to be Ready", "kubelet", self.node_ready, 180)
        # Pods need their namespace's default ServiceAccount and kube-root-ca.crt, which the
        # controller-manager makes: wait for them in the namespace every test starts with.
        self.wait_for("the default ServiceAccount", "kube-controller-manager",
                      lambda: self.kubectl("get", "sa", "default", check=False).returncode == 0, 60)
        log(f"up in {time.monotonic() - t0:.1f} s (build {t_build - t0:.1f} s, "
            f"control plane, containerd and images {t_images - t_build:.1f} s, node {time.monotonic() - t_images:.1f} s)")

    def tool(self, name):
        """A binary of this cluster's build; None when it is gone (a newer build pruned it)."""
        try:
            with open(os.path.join(self.dir, "bin")) as f:
                path = os.path.join(self.bin or f.read().strip(), name)
        except OSError:
            return None
        return path if os.access(path, os.X_OK) else None

    def crictl(self, *args, check=False):
        return run(self.tool("crictl"), "--runtime-endpoint", f"unix://{self.sock}", "--timeout", "30s", *args,
                   check=check, capture=True)

    def down(self):
        """Idempotent, and works from whatever state a killed up or a crashed test left."""
        self.stop("kubelet")
        if self.pid("containerd") and self.tool("crictl"):
            # Stopping the sandboxes tears down their CNI network namespaces and mounts the way
            # the kubelet would have.
            self.crictl("stopp", *self.crictl("pods", "-q").stdout.split())
            self.crictl("rmp", "-f", *self.crictl("pods", "-q").stdout.split())
        self.stop("kube-proxy")
        if self.tool("kube-proxy"):
            run(self.tool("kube-proxy"), "--cleanup", check=False)
        self.stop("containerd")
        self.kill_leftovers()
        for name in reversed(CONTROL_PLANE):
            self.stop(name)
        self.unmount()
        self.remove_network()
        self.remove_cgroups()
        self.remove_kubelet_root()
        log(f"down: {self.dir} stopped and removed from the machine")

    def remove_kubelet_root(self):
        """/var/lib/kubelet if up made it for this cluster: the marker goes last, so a down that
        fails half-way (a mount still busy) can be run again and finish."""
        try:
            with open(MARKER) as f:
                if f.read().strip() != self.dir:
                    return
        except FileNotFoundError:
            if not os.path.isdir(KUBELET_ROOT) or os.listdir(KUBELET_ROOT):
                return
        for name in os.listdir(KUBELET_ROOT):
            path = os.path.join(KUBELET_ROOT, name)
            if path != MARKER:
                shutil.rmtree(path) if os.path.isdir(path) and not os.path.islink(path) else os.unlink(path)
        if os.path.exists(MARKER):
            os.unlink(MARKER)
        os.rmdir(KUBELET_ROOT)

    def kill_leftovers(self):
        """containerd's shims outlive it, and the containers their shims ran: end both."""
        victims = set()
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmd = f.read()
                with open(f"/proc/{pid}/cgroup") as f:
                    cg = f.read()
            except OSError:
                continue
            if self.sock.encode() in cmd or "/kubepods" in cg:
                victims.add(int(pid))
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        while victims and time.monotonic() < deadline:
            victims = {p for p in victims if os.path.exists(f"/proc/{p}")}
            time.sleep(0.1)

    def unmount(self):
        # The kubelet bind-mounts its root onto itself to make it a shared mount: that one too.
        prefixes = (KUBELET_ROOT + "/", self.dir + "/", "/run/netns/cni-", "/var/run/netns/cni-")
        for _ in range(3):
            with open("/proc/self/mountinfo") as f:
                points = [line.split()[4].replace("\\040", " ") for line in f]
            mine = sorted({m for m in points if m.startswith(prefixes) or m in (KUBELET_ROOT, self.dir)},
                          key=len, reverse=True)
            if not mine:
                break
            for m in mine:
                run("umount", "-l", m, check=False)
        for d in ("/run/netns",):
            if os.path.isdir(d):
                for name in os.listdir(d):
                    if name.startswith("cni-"):
                        os.unlink(os.path.join(d, name))

    def remove_network(self):
        run("ip", "netns", "del", NETNS, check=False)
        for link in (VETH_NODE, BRIDGE):
            run("ip", "link", "del", link, check=False)
        for tool in ("iptables", "ip6tables"):
            for table in ("filter", "nat", "mangle"):
                rules = run(tool, "-t", table, "-S", check=False, capture=True).stdout.splitlines()
                chains = [r.split()[1] for r in rules if r.startswith("-N ") and
                          (r.split()[1].startswith(("KUBE-", "CNI-")) or r.split()[1] == FENCE)]
                for r in rules:
                    words = shlex.split(r)  # kube-proxy's rules carry quoted --comment strings
                    if words[0] == "-A" and "-j" in words and words[words.index("-j") + 1] in chains \
                            and words[1] not in chains:
                        run(tool, "-t", table, "-D", *words[1:], check=False)
                for c in chains:
                    run(tool, "-t", table, "-F", c, check=False)
                for c in chains:
                    run(tool, "-t", table, "-X", c, check=False)
        saved = os.path.join(self.pids, "ip_forward")
        if os.path.exists(saved):
            with open(saved) as f, open("/proc/sys/net/ipv4/ip_forward", "w") as out:
                out.write(f.read().strip())
            os.unlink(saved)

    def remove_cgroups(self):
        """The kubelet's cgroups (kubepods/...) in every v1 hierarchy and the unified one."""
        for top in ("/sys/fs/cgroup",):
            for hier in os.listdir(top):
                base = os.path.join(top, hier, "kubepods")
                if not os.path.isdir(base):
                    continue
                for d, _, _ in sorted(os.walk(base), key=lambda w: len(w[0]), reverse=True):
                    try:
                        os.rmdir(d)
                    except OSError:
                        pass


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ("up", "down"):
        print("usage: cluster.py up|down DIR [--register-with-taints KEY=VALUE:EFFECT]", file=sys.stderr)
        return 2
    c = Cluster(sys.argv[2])
    if sys.argv[1] == "up":
        taints = sys.argv[4].split(",") if len(sys.argv) > 4 and sys.argv[3] == "--register-with-taints" else None
        try:
            c.up(taints)
        except (RuntimeError, SystemExit) as e:
            print(f"up: {e}", file=sys.stderr)
            if os.path.exists(c.pids):
                print(f"up: stopping what was started; the logs stay in {c.logs}", file=sys.stderr)
                c.down()
            return 1
        print(f"KUBECONFIG={c.kubeconfig}")
    else:
        c.down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
