/* SPDX-License-Identifier: Apache-2.0 */
/* /proc/PID/cgroup → container and pod, on the text of every layout a node shows. The containerd
 * cgroupfs ones were read from a real kubelet 1.34 + containerd 1.6 node (../shared/reference/
 * real-cluster.md), the podman ones from podman 4.3 + runc on this machine kind. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "cgroup.h"
#include "record.h"

#define ID     "f0f617bd0356fe5562e7960bdaee571cc818b4ea5f7591ef0384caaedc8908c6"
#define ID_UP  "F0F617BD0356FE5562E7960BDAEE571CC818B4EA5F7591EF0384CAAEDC8908C6"
#define ID2    "67a42302aaaff4b1e7e2ac3761ca03b7c44138c98c8f03c3edfc5e61038cf3dd"
#define UID    "ec91eb53-e8b2-4d4c-8259-086d5db68387"
#define UID_SD "ec91eb53_e8b2_4d4c_8259_086d5db68387"

static CgroupIdentity parse_ok(const char *text)
{
        CgroupIdentity id;
        assert_int_equal(cgroup_identity_parse(text, &id), 0);
        return id;
}

static void assert_identity(const char *text, CgroupRuntime runtime, const char *container, const char *pod)
{
        CgroupIdentity id = parse_ok(text);
        assert_int_equal(id.runtime, runtime);
        assert_string_equal(id.container_id, container);
        assert_string_equal(id.pod_uid, pod);
}

static void test_containerd_cgroupfs(void **state)
{
        /* Burstable, then Guaranteed (no QoS level), as the real node showed them; v1 and v2 lines. */
        assert_identity("9:name=systemd:/kubepods/burstable/pod" UID "/" ID "\n"
                        "8:pids:/kubepods/burstable/pod" UID "/" ID "\n"
                        "4:memory:/kubepods/burstable/pod" UID "/" ID "\n"
                        "0::/kubepods/burstable/pod" UID "/" ID "\n",
                        CGROUP_RUNTIME_CONTAINERD, ID, UID);
        assert_identity("0::/kubepods/pod7ac50faf-4923-4663-95f0-fe34afd6e7c8/" ID "\n",
                        CGROUP_RUNTIME_CONTAINERD, ID, "7ac50faf-4923-4663-95f0-fe34afd6e7c8");
        assert_identity("0::/kubepods/besteffort/pod" UID "/" ID "\n", CGROUP_RUNTIME_CONTAINERD, ID, UID);
        /* ctr run: /<namespace>/<id>, no pod */
        assert_identity("0::/default/" ID "\n", CGROUP_RUNTIME_CONTAINERD, ID, "");
        /* a "pod..." component outside kubepods is not a pod */
        assert_identity("0::/pod" UID "/" ID "\n", CGROUP_RUNTIME_CONTAINERD, ID, "");
}

static void test_containerd_systemd(void **state)
{
        assert_identity("0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_SD
                        ".slice/cri-containerd-" ID ".scope\n",
                        CGROUP_RUNTIME_CONTAINERD, ID, UID);
        assert_identity("0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_SD
                        ".slice/cri-containerd-" ID ".scope\n",
                        CGROUP_RUNTIME_CONTAINERD, ID, UID);
        /* Guaranteed */
        assert_identity("0::/kubepods.slice/kubepods-pod" UID_SD ".slice/cri-containerd-" ID ".scope\n",
                        CGROUP_RUNTIME_CONTAINERD, ID, UID);
        /* a static pod: the kubelet's 32-hex hash as UID; uppercase is lowered */
        assert_identity("0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-"
                        "pod5E5BF30D1C3A3D0E9C6F3E0C6D1B7C1B.slice/cri-containerd-" ID_UP ".scope\n",
                        CGROUP_RUNTIME_CONTAINERD, ID, "5e5bf30d1c3a3d0e9c6f3e0c6d1b7c1b");
        /* cgroup v1, systemd driver, several hierarchies */
        assert_identity(
                "12:pids:/kubepods.slice/kubepods-pod" UID_SD ".slice/cri-containerd-" ID ".scope\n"
                "11:cpu,cpuacct:/kubepods.slice/kubepods-pod" UID_SD ".slice/cri-containerd-" ID ".scope\n"
                "1:name=systemd:/kubepods.slice/kubepods-pod" UID_SD ".slice/cri-containerd-" ID ".scope\n",
                CGROUP_RUNTIME_CONTAINERD, ID, UID);
}

static void test_crio(void **state)
{
        assert_identity("0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_SD
                        ".slice/crio-" ID ".scope\n",
                        CGROUP_RUNTIME_CRIO, ID, UID);
        /* CRI-O with cgroupfs, and its "container" subgroup (cgroupns private) */
        assert_identity("0::/kubepods/burstable/pod" UID "/crio-" ID "\n", CGROUP_RUNTIME_CRIO, ID, UID);
        assert_identity("0::/kubepods.slice/kubepods-pod" UID_SD ".slice/crio-" ID ".scope/container\n",
                        CGROUP_RUNTIME_CRIO, ID, UID);
        /* conmon, the monitor: not the container */
        CgroupIdentity id;
        assert_int_equal(cgroup_identity_parse("0::/kubepods.slice/kubepods-pod" UID_SD
                                               ".slice/crio-conmon-" ID ".scope\n",
                                               &id),
                         -ENOENT);
}

static void test_docker_and_podman(void **state)
{
        assert_identity("0::/system.slice/docker-" ID ".scope\n", CGROUP_RUNTIME_DOCKER, ID, "");
        assert_identity("0::/docker/" ID "\n", CGROUP_RUNTIME_DOCKER, ID, "");
        assert_identity("0::/machine.slice/libpod-" ID ".scope\n", CGROUP_RUNTIME_PODMAN, ID, "");
        assert_identity("0::/machine.slice/libpod-" ID ".scope/container\n", CGROUP_RUNTIME_PODMAN, ID, "");
        /* podman --cgroup-manager=cgroupfs, as seen here (v1 + v2) */
        assert_identity("9:name=systemd:/libpod_parent/libpod-" ID "\n"
                        "4:memory:/libpod_parent/libpod-" ID "\n"
                        "0::/libpod_parent/libpod-" ID "\n",
                        CGROUP_RUNTIME_PODMAN, ID, "");
        /* ... and with --cgroup-parent under kubepods, as the integration test runs it */
        assert_identity("0::/kubepods/besteffort/pod" UID "/libpod-" ID "\n", CGROUP_RUNTIME_PODMAN, ID,
                        UID);
        CgroupIdentity id;
        assert_int_equal(cgroup_identity_parse("0::/machine.slice/libpod-conmon-" ID ".scope\n", &id),
                         -ENOENT);
}

static void test_cgroup_namespace(void **state)
{
        /* Read from inside a cgroup namespace rooted elsewhere: ".." up to the common ancestor. */
        assert_identity("0::/../../kubepods-besteffort-pod" UID_SD ".slice/cri-containerd-" ID ".scope\n",
                        CGROUP_RUNTIME_CONTAINERD, ID, UID);
        assert_identity("0::/../../../kubepods/burstable/pod" UID "/" ID "\n", CGROUP_RUNTIME_CONTAINERD, ID,
                        UID);
        /* rooted inside the pod: its cgroup is not visible, the container is */
        assert_identity("0::/../" ID2 "\n", CGROUP_RUNTIME_CONTAINERD, ID2, "");
        /* a process in the reader's own container */
        CgroupIdentity id;
        assert_int_equal(cgroup_identity_parse("0::/\n", &id), -ENOENT);
}

static void test_innermost_wins(void **state)
{
        /* Docker in a pod's container: the inner container is the one that made the call. */
        assert_identity("0::/kubepods/burstable/pod" UID "/" ID "/docker/" ID2 "\n", CGROUP_RUNTIME_DOCKER,
                        ID2, UID);
        /* the deeper of two lines */
        assert_identity("1:name=systemd:/kubepods/burstable/pod" UID "/" ID "\n"
                        "0::/kubepods/burstable/pod" UID "/" ID "/docker/" ID2 "\n",
                        CGROUP_RUNTIME_DOCKER, ID2, UID);
}

static void test_not_a_container(void **state)
{
        CgroupIdentity id = {.runtime = CGROUP_RUNTIME_PODMAN, .container_id = "keep"};

        /* host processes; a pod's own cgroup without a container below it */
        assert_int_equal(cgroup_identity_parse("0::/user.slice/user-0.slice/session-1.scope\n", &id),
                         -ENOENT);
        assert_int_equal(
                cgroup_identity_parse("4:memory:/process_api/5292c2a7749fa74e4119fa04a6eab720\n0::/\n", &id),
                -ENOENT);
        assert_int_equal(cgroup_identity_parse("0::/kubepods/burstable/pod" UID "\n", &id), -ENOENT);
        /* a 63- or 65-digit component; a prefixed ID longer than 64 digits */
        assert_int_equal(cgroup_identity_parse("0::/kubepods/burstable/pod" UID "/" ID "0\n", &id), -ENOENT);
        assert_int_equal(cgroup_identity_parse("0::/default/" ID2 "x\n", &id), -ENOENT);
        assert_int_equal(cgroup_identity_parse("0::/system.slice/docker-" ID "0.scope\n", &id), -ENOENT);
        /* *ret untouched */
        assert_string_equal(id.container_id, "keep");
}

static void test_garbage(void **state)
{
        CgroupIdentity id;
        static const char *const bad[] = {
                "",
                "\n",
                "garbage",
                "0:/kubepods/" ID "\n",      /* one colon */
                ":cpu:/x\n",                 /* no hierarchy ID */
                "x:cpu:/x\n",                /* not a number */
                "0::kubepods/" ID "\n",      /* relative path */
                "0::\n",                     /* no path */
                "0::/ok\nnot a cgroup line", /* one bad line spoils the text */
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                assert_int_equal(cgroup_identity_parse(bad[i], &id), -EINVAL);
}

static void test_container_id_from_status(void **state)
{
        char id[CGROUP_CONTAINER_ID_MAX + 1];

        assert_int_equal(cgroup_container_id_from_status("containerd://" ID, id), 0);
        assert_string_equal(id, ID);
        assert_int_equal(cgroup_container_id_from_status("cri-o://" ID_UP, id), 0);
        assert_string_equal(id, ID);
        assert_int_equal(cgroup_container_id_from_status("docker://" ID2, id), 0);
        assert_string_equal(id, ID2);
        static const char *const bad[] = {
                "",
                ID,
                "containerd://",
                "containerd://abc",
                "containerd://" ID "0",
                "rkt://" ID,
                "containerd:/" ID,
                "containerd://" ID2 "g",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                assert_int_equal(cgroup_container_id_from_status(bad[i], id), -EINVAL);
}

static void test_matches_container_on_top(void **state)
{
        /* record.h's matcher reads the identity: the innermost container, by ID prefix, any case */
        static const char pod[] = "0::/kubepods/burstable/pod" UID "/" ID "\n";
        assert_true(audit_cgroup_matches_container(pod, "f0f6"));
        assert_true(audit_cgroup_matches_container(pod, "F0F6"));
        assert_true(audit_cgroup_matches_container(pod, ID));
        assert_false(audit_cgroup_matches_container(pod, ID "0"));
        assert_false(audit_cgroup_matches_container(pod, "ec91")); /* the pod UID is not a container ID */
        assert_false(audit_cgroup_matches_container("garbage", "f0f6"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_containerd_cgroupfs),
                cmocka_unit_test(test_containerd_systemd),
                cmocka_unit_test(test_crio),
                cmocka_unit_test(test_docker_and_podman),
                cmocka_unit_test(test_cgroup_namespace),
                cmocka_unit_test(test_innermost_wins),
                cmocka_unit_test(test_not_a_container),
                cmocka_unit_test(test_garbage),
                cmocka_unit_test(test_container_id_from_status),
                cmocka_unit_test(test_matches_container_on_top),
        };
        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
