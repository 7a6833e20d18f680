/* SPDX-License-Identifier: Apache-2.0 */
/* The test cluster's pod sandbox (containerd's sandbox_image), built by tests/cluster/images with
 * gcc -static: holds the pod's namespaces open until it is told to stop, and reaps any child
 * reparented to it. */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static void stop(int sig)
{
        (void) sig;
        _exit(0);
}

static void reap(int sig)
{
        (void) sig;
        while (waitpid(-1, NULL, WNOHANG) > 0)
                ;
}

int main(void)
{
        struct sigaction sa = {.sa_handler = stop};
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        sa.sa_handler = reap;
        sa.sa_flags = SA_NOCLDSTOP | SA_RESTART;
        sigaction(SIGCHLD, &sa, NULL);
        for (;;)
                pause();
}
