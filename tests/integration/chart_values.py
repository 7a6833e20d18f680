"""The chart settings test_deploy.py renders, in one place: the cluster tier
(tests/cluster/test_cluster.py) sends each rendering through the real API server's dry run."""

TAINT = "startup-taint.cluster-autoscaler.kubernetes.io/seccompd-not-ready"

# The chart's values for each kustomization: the same settings must give the same objects.
EQUIVALENT = {
    ".": {},
    "overlays/secrets": {"secrets": True},
    "overlays/node-gating": {"nodeGating": {"enabled": True}},
    "overlays/node-condition": {"nodeGating": {"enabled": True, "taintKey": ""}},
    "overlays/tenants": {"tenantNamespaces": ["team-a"]},
    "overlays/k0s": {"kubeletRoot": "/var/lib/k0s/kubelet"},
    "overlays/microk8s": {"kubeletRoot": "/var/snap/microk8s/common/var/lib/kubelet"},
    "overlays/recorder": {"recorder": {"enabled": True}},
    "overlays/all": {"tenantNamespaces": ["team-a"], "secrets": True, "nodeGating": {"enabled": True}},
}

POD_VALUES = {"namespaces": ["profiles", "more"], "selector": "team=sec", "logFormat": "json",
              "runtime": "cri-o", "runcVersion": "1.2", "deleteGrace": "10m", "extraArgs": ["--once"],
              "image": {"tag": "0.2.0"}, "metrics": {"port": 9500},
              "nodeSelector": {"pool": "general"},
              "tolerations": [{"key": TAINT, "operator": "Exists"}]}
SERVICE_MONITOR = {"metrics": {"serviceMonitor": {"enabled": True, "labels": {"release": "prom"}}}}
NO_ADMISSION_POLICY = {"nodeGating": {"enabled": True, "admissionPolicy": False}}

# Every setting that renders: what an API server must accept.
CHART_VALUES = list(EQUIVALENT.values()) + [POD_VALUES, SERVICE_MONITOR, NO_ADMISSION_POLICY]
