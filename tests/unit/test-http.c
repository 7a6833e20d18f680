/* SPDX-License-Identifier: Apache-2.0 */
/* The server runs in this process's sd-event loop, as in the daemon; a forked child is the client
 * (libcurl, or raw sockets for the bounds). After each request the child sends what it saw over a pipe
 * and waits for the parent's go-ahead, so the parent can change state (readiness) between requests.
 * The loop runs until the child closes the pipe, under a deadline. */
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <systemd/sd-event.h>

#include "http.h"
#include "metrics.h"
#include "shared/macro.h"

#define DEADLINE_USEC (30 * 1000000ULL)

/* What the child saw for one request. */
typedef struct Record {
        long status; /* HTTP status; for raw socket steps a value of the step's own */
        long content_length;
        char content_type[96];
        char allow[64];
        size_t body_len;
} Record;

typedef struct Result {
        Record r;
        char *body;
} Result;

typedef struct Ctx Ctx;
struct Ctx {
        sd_event *event;
        HttpServer *server;
        Metrics *metrics;
        unsigned port;
        bool ready;
        unsigned ready_calls;
        /* child side */
        int out_fd, ack_fd;
        void (*child)(Ctx *c);
        /* parent side */
        void (*after)(Ctx *c, size_t index);
        char *buf;
        size_t len;
        Result results[32];
        size_t n_results;
};

static bool test_ready(void *userdata, char **ret_reason)
{
        Ctx *c = userdata;
        c->ready_calls++;
        if (c->ready)
                return true;
        *ret_reason = strdup("first sync not done: 3 profiles pending");
        return false;
}

/* ---- child ---- */

static void child_emit(Ctx *c, const Record *r, const char *body)
{
        char ack;
        if (write(c->out_fd, r, sizeof(*r)) != (ssize_t) sizeof(*r))
                _exit(2);
        if (r->body_len > 0 && write(c->out_fd, body, r->body_len) != (ssize_t) r->body_len)
                _exit(2);
        if (read(c->ack_fd, &ack, 1) != 1)
                _exit(2);
}

static size_t on_body(char *data, size_t size, size_t n, void *userdata)
{
        FILE *f = userdata;
        return fwrite(data, size, n, f);
}

static size_t on_header(char *data, size_t size, size_t n, void *userdata)
{
        Record *r = userdata;
        size_t len = size * n;
        if (len > 6 && strncasecmp(data, "Allow:", 6) == 0) {
                size_t k = 0;
                for (size_t i = 6; i < len && k + 1 < sizeof(r->allow); i++)
                        if (data[i] != '\r' && data[i] != '\n' && !(k == 0 && data[i] == ' '))
                                r->allow[k++] = data[i];
                r->allow[k] = 0;
        }
        return len;
}

static void child_request(Ctx *c, const char *method, const char *url)
{
        Record r = {};
        char *body = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&body, &len);
        CURL *curl = curl_easy_init();
        const char *ct = NULL;
        curl_off_t cl = -1;

        if (!f || !curl)
                _exit(3);
        (void) curl_easy_setopt(curl, CURLOPT_URL, url);
        (void) curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
        (void) curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
        (void) curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
        (void) curl_easy_setopt(curl, CURLOPT_WRITEDATA, f);
        (void) curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
        (void) curl_easy_setopt(curl, CURLOPT_HEADERDATA, &r);
        if (strcmp(method, "HEAD") == 0)
                (void) curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
        else if (strcmp(method, "POST") == 0)
                (void) curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "profile=unconfined");
        else if (strcmp(method, "GET") != 0)
                (void) curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);

        CURLcode code = curl_easy_perform(curl);
        if (code != CURLE_OK)
                r.status = -(long) code;
        else
                (void) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.status);
        if (curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct)
                (void) snprintf(r.content_type, sizeof(r.content_type), "%s", ct);
        if (curl_easy_getinfo(curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) == CURLE_OK)
                r.content_length = (long) cl;
        curl_easy_cleanup(curl);
        (void) fclose(f);
        r.body_len = len;
        child_emit(c, &r, body);
        free(body);
}

static void child_requestf(Ctx *c, const char *method, const char *fmt, ...) _printf_(3, 4);
static void child_requestf(Ctx *c, const char *method, const char *fmt, ...)
{
        char url[256];
        va_list ap;
        va_start(ap, fmt);
        (void) vsnprintf(url, sizeof(url), fmt, ap);
        va_end(ap);
        child_request(c, method, url);
}

/* ---- parent ---- */

static void parse_records(Ctx *c)
{
        while (c->len >= sizeof(Record)) {
                Record r;
                memcpy(&r, c->buf, sizeof(r));
                size_t total = sizeof(r) + r.body_len;
                if (c->len < total)
                        return;
                assert_true(c->n_results < ELEMENTSOF(c->results));
                Result *res = c->results + c->n_results;
                res->r = r;
                res->body = strndup(c->buf + sizeof(r), r.body_len);
                memmove(c->buf, c->buf + total, c->len - total);
                c->len -= total;
                if (c->after)
                        c->after(c, c->n_results);
                c->n_results++;
                char ack = 'k';
                assert_int_equal(write(c->ack_fd, &ack, 1), 1);
        }
}

static int on_child_output(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        Ctx *c = userdata;
        char chunk[4096];
        ssize_t n = read(fd, chunk, sizeof(chunk));

        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        if (n <= 0)
                return sd_event_exit(c->event, 0); /* the child is done */
        c->buf = realloc(c->buf, c->len + (size_t) n);
        assert_non_null(c->buf);
        memcpy(c->buf + c->len, chunk, (size_t) n);
        c->len += (size_t) n;
        parse_records(c);
        return 0;
}

static int on_deadline(sd_event_source *s, uint64_t usec, void *userdata)
{
        Ctx *c = userdata;
        return sd_event_exit(c->event, -ETIMEDOUT);
}

/* Forks the client, serves it from the loop until it is done, returns its exit status. */
static void run_client(Ctx *c, void (*child)(Ctx *c))
{
        int out[2], ack[2], status;
        sd_event_source *io = NULL, *deadline = NULL;
        uint64_t now;

        assert_int_equal(pipe2(out, O_CLOEXEC), 0);
        assert_int_equal(pipe2(ack, O_CLOEXEC), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                close(out[0]);
                close(ack[1]);
                c->out_fd = out[1];
                c->ack_fd = ack[0];
                if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                        _exit(3);
                child(c);
                curl_global_cleanup();
                _exit(0); /* not exit(): the parent's state is not ours to tear down */
        }
        close(out[1]);
        close(ack[0]);
        c->ack_fd = ack[1];
        assert_int_equal(fcntl(out[0], F_SETFL, O_NONBLOCK), 0);
        assert_int_equal(sd_event_add_io(c->event, &io, out[0], EPOLLIN, on_child_output, c), 0);
        assert_true(sd_event_now(c->event, CLOCK_MONOTONIC, &now) >= 0);
        assert_int_equal(sd_event_add_time(c->event, &deadline, CLOCK_MONOTONIC, now + DEADLINE_USEC, 0,
                                           on_deadline, c),
                         0);
        int r = sd_event_loop(c->event);
        sd_event_source_disable_unref(io);
        sd_event_source_disable_unref(deadline);
        close(out[0]);
        close(ack[1]);
        if (r < 0)
                (void) kill(pid, SIGKILL);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_int_equal(r, 0);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        assert_int_equal(c->len, 0);
}

static int setup(void **state)
{
        Ctx *c = calloc(1, sizeof(Ctx));
        assert_non_null(c);
        assert_int_equal(sd_event_new(&c->event), 0);
        assert_int_equal(metrics_new(&c->metrics), 0);
        assert_int_equal(
                metrics_declare(c->metrics, "seccompd_syncs_total", METRIC_COUNTER, "Syncs run.", NULL, 0),
                0);
        assert_int_equal(metrics_add(c->metrics, "seccompd_syncs_total", "result=\"ok\"", 42), 0);
        *state = c;
        return 0;
}

static int teardown(void **state)
{
        Ctx *c = *state;
        for (size_t i = 0; i < c->n_results; i++)
                free(c->results[i].body);
        free(c->buf);
        http_server_free(c->server);
        metrics_free(c->metrics);
        sd_event_unref(c->event);
        free(c);
        return 0;
}

static void start(Ctx *c, const char *listen, const HttpLimits *limits)
{
        assert_int_equal(
                http_server_new_with_limits(c->event, listen, limits, test_ready, c->metrics, c, &c->server),
                0);
        c->port = http_server_port(c->server);
        assert_true(c->port > 0);
}

static void assert_result(const Ctx *c, size_t i, long status, const char *content_type, const char *body)
{
        const Result *r = c->results + i;
        assert_true(i < c->n_results);
        if (r->r.status != status)
                print_error("request %zu: status %ld, expected %ld\n", i, r->r.status, status);
        assert_int_equal(r->r.status, status);
        if (content_type)
                assert_string_equal(r->r.content_type, content_type);
        if (body) {
                assert_string_equal(r->body, body);
                assert_int_equal(r->r.body_len, strlen(body));
        }
}

static const char expected_metrics[] =
        "# HELP seccompd_metrics_dropped_total Metric updates dropped because a family had reached its "
        "bound of label sets.\n"
        "# TYPE seccompd_metrics_dropped_total counter\n"
        "seccompd_metrics_dropped_total 0\n"
        "# HELP seccompd_syncs_total Syncs run.\n"
        "# TYPE seccompd_syncs_total counter\n"
        "seccompd_syncs_total{result=\"ok\"} 42\n";

#define TEXT "text/plain; charset=utf-8"

static void endpoints_client(Ctx *c)
{
        child_requestf(c, "GET", "http://127.0.0.1:%u/healthz", c->port);
        child_requestf(c, "HEAD", "http://127.0.0.1:%u/healthz", c->port);
        child_requestf(c, "GET", "http://127.0.0.1:%u/readyz", c->port);
        child_requestf(c, "GET", "http://127.0.0.1:%u/readyz", c->port); /* the parent flipped it */
        child_requestf(c, "GET", "http://127.0.0.1:%u/metrics", c->port);
        child_requestf(c, "HEAD", "http://127.0.0.1:%u/metrics", c->port);
        child_requestf(c, "GET", "http://127.0.0.1:%u/metrics?name[]=x", c->port);
        child_requestf(c, "POST", "http://127.0.0.1:%u/metrics", c->port);
        child_requestf(c, "DELETE", "http://127.0.0.1:%u/healthz", c->port);
        child_requestf(c, "PUT", "http://127.0.0.1:%u/readyz", c->port);
        child_requestf(c, "GET", "http://127.0.0.1:%u/", c->port);
        child_requestf(c, "GET", "http://127.0.0.1:%u/healthz/", c->port);
        child_requestf(c, "GET", "http://127.0.0.1:%u/metricsx", c->port);
        child_requestf(c, "POST", "http://127.0.0.1:%u/nope", c->port);
        child_requestf(c, "GET", "http://127.0.0.1:%u/healthz", c->port); /* still serving after all that */
}

static void flip_ready_after_first_readyz(Ctx *c, size_t index)
{
        if (index == 2) {
                assert_false(c->ready);
                c->ready = true;
        }
}

static void test_endpoints(void **state)
{
        Ctx *c = *state;

        start(c, "127.0.0.1:0", NULL);
        c->after = flip_ready_after_first_readyz;
        run_client(c, endpoints_client);
        assert_int_equal(c->n_results, 15);

        assert_result(c, 0, 200, TEXT, "ok\n");
        assert_result(c, 1, 200, TEXT, ""); /* HEAD: GET's headers, no body */
        assert_int_equal(c->results[1].r.content_length, 3);
        assert_result(c, 2, 503, TEXT, "first sync not done: 3 profiles pending\n");
        assert_result(c, 3, 200, TEXT, "ok\n");
        assert_int_equal(c->ready_calls, 2);
        assert_result(c, 4, 200, "text/plain; version=0.0.4; charset=utf-8", expected_metrics);
        assert_result(c, 5, 200, "text/plain; version=0.0.4; charset=utf-8", "");
        assert_int_equal(c->results[5].r.content_length, strlen(expected_metrics));
        assert_result(c, 6, 200, NULL, expected_metrics);
        for (size_t i = 7; i <= 9; i++) {
                assert_result(c, i, 405, TEXT, "method not allowed\n");
                assert_string_equal(c->results[i].r.allow, "GET, HEAD");
        }
        for (size_t i = 10; i <= 13; i++) {
                assert_result(c, i, 404, TEXT, "not found\n");
                assert_string_equal(c->results[i].r.allow, "");
        }
        assert_result(c, 14, 200, TEXT, "ok\n");
}

static bool have_ipv6(void)
{
        int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
        bool ok = fd >= 0 && bind(fd, (struct sockaddr *) &a, sizeof(a)) == 0;
        if (fd >= 0)
                close(fd);
        return ok;
}

static void any_address_client(Ctx *c)
{
        child_requestf(c, "GET", "http://127.0.0.1:%u/healthz", c->port);
        if (have_ipv6())
                child_requestf(c, "GET", "http://[::1]:%u/readyz", c->port);
}

/* ":PORT" is every address: IPv4 and, where the host has it, IPv6 on the same port. */
static void test_any_address(void **state)
{
        Ctx *c = *state;

        c->ready = true;
        start(c, ":0", NULL);
        run_client(c, any_address_client);
        assert_result(c, 0, 200, TEXT, "ok\n");
        if (have_ipv6())
                assert_result(c, 1, 200, TEXT, "ok\n");
        else
                print_message("# no IPv6 on this host: only IPv4 checked\n");
}

static void ipv6_client(Ctx *c)
{
        child_requestf(c, "GET", "http://[::1]:%u/metrics", c->port);
}

static void test_ipv6_address(void **state)
{
        Ctx *c = *state;

        if (!have_ipv6())
                skip();
        start(c, "[::1]:0", NULL);
        run_client(c, ipv6_client);
        assert_result(c, 0, 200, NULL, expected_metrics);
}

/* A connection to the server from 127.0.0.<host>: all of 127/8 is loopback on Linux, so one machine can
 * be several clients, each with an address (and a per-address count in the server) of its own. */
static int connect_from(unsigned port, uint8_t host)
{
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in from = {.sin_family = AF_INET,
                                   .sin_addr.s_addr = htonl(INADDR_LOOPBACK - 1 + host)};
        struct sockaddr_in a = {.sin_family = AF_INET,
                                .sin_port = htons((uint16_t) port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        struct timeval tv = {.tv_sec = 10}; /* a deadline, not a synchronisation */
        if (fd < 0 || bind(fd, (struct sockaddr *) &from, sizeof(from)) < 0 ||
            connect(fd, (struct sockaddr *) &a, sizeof(a)) < 0 ||
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
                _exit(4);
        return fd;
}

static int connect_local(unsigned port)
{
        return connect_from(port, 1);
}

static uint64_t now_usec(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000;
}

/* A read's outcome: 0 for end of file, -errno, or the byte count. */
static long read_outcome(int fd, char *buf, size_t size)
{
        ssize_t n = recv(fd, buf, size, 0);
        return n < 0 ? -(long) errno : (long) n;
}

static void idle_client(Ctx *c)
{
        char buf[64];
        int fd = connect_local(c->port);
        uint64_t t0 = now_usec();
        Record r = {.status = read_outcome(fd, buf, sizeof(buf))};
        r.content_length = (long) ((now_usec() - t0) / 1000); /* ms */
        close(fd);
        child_emit(c, &r, NULL);
        /* The server is still there for others. */
        child_requestf(c, "GET", "http://127.0.0.1:%u/healthz", c->port);
}

/* A client that connects and says nothing is closed after the idle timeout: MHD only notices when it
 * runs, so this proves the timer armed from MHD_get_timeout(). */
static void test_idle_timeout(void **state)
{
        Ctx *c = *state;
        HttpLimits limits = {.idle_timeout_sec = 1};

        start(c, "127.0.0.1:0", &limits);
        run_client(c, idle_client);
        assert_int_equal(c->results[0].r.status, 0); /* end of file: the server closed it */
        assert_true(c->results[0].r.content_length >= 900);
        assert_true(c->results[0].r.content_length < 5000);
        assert_result(c, 1, 200, TEXT, "ok\n");
}

static bool send_healthz(int fd)
{
        static const char req[] = "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n";
        return send(fd, req, strlen(req), MSG_NOSIGNAL) == (ssize_t) strlen(req);
}

/* Reads one response to a /healthz request on a kept-alive connection: headers and "ok\n". */
static long read_healthz(int fd)
{
        char buf[1024];
        size_t len = 0;
        while (len + 1 < sizeof(buf)) {
                long n = read_outcome(fd, buf + len, sizeof(buf) - 1 - len);
                if (n <= 0)
                        return n == 0 ? -EPIPE : n;
                len += (size_t) n;
                buf[len] = 0;
                if (strstr(buf, "\r\n\r\nok\n"))
                        return strncmp(buf, "HTTP/1.1 200 ", 13) == 0 ? 200 : -EBADMSG;
        }
        return -EBADMSG;
}

static void per_ip_client(Ctx *c)
{
        char buf[64];
        int a = connect_local(c->port), b = connect_local(c->port);
        Record r = {};

        /* Two connections from one address are served, and stay open. */
        r.status = send_healthz(a) ? read_healthz(a) : -EIO;
        child_emit(c, &r, NULL);
        r.status = send_healthz(b) ? read_healthz(b) : -EIO;
        child_emit(c, &r, NULL);

        /* A third is closed at once: end of file (or a reset), long before any timeout. */
        int third = connect_local(c->port);
        (void) send_healthz(third);
        r.status = read_outcome(third, buf, sizeof(buf));
        close(third);
        child_emit(c, &r, NULL);

        /* The first two were not touched, and one more request on each is answered. */
        struct pollfd p[2] = {{.fd = a, .events = POLLIN}, {.fd = b, .events = POLLIN}};
        r.status = poll(p, 2, 0);
        child_emit(c, &r, NULL);
        r.status = send_healthz(a) ? read_healthz(a) : -EIO;
        child_emit(c, &r, NULL);
        close(a);
        close(b);
}

static void test_per_ip_limit(void **state)
{
        Ctx *c = *state;
        HttpLimits limits = {.connections_per_ip = 2, .idle_timeout_sec = 60};

        start(c, "127.0.0.1:0", &limits);
        run_client(c, per_ip_client);
        assert_int_equal(c->n_results, 5);
        assert_int_equal(c->results[0].r.status, 200);
        assert_int_equal(c->results[1].r.status, 200);
        if (c->results[2].r.status != 0 && c->results[2].r.status != -ECONNRESET)
                print_error("third connection: %ld\n", c->results[2].r.status);
        assert_true(c->results[2].r.status == 0 || c->results[2].r.status == -ECONNRESET);
        assert_int_equal(c->results[3].r.status, 0); /* nothing readable: neither closed */
        assert_int_equal(c->results[4].r.status, 200);
}

#define CHURN_HOSTS  4
#define CHURN_PER_IP 2
#define CHURN_ROUNDS 4
#define CHURN_STEPS  6 /* records per round */

static void churn_emit(Ctx *c, long status)
{
        Record r = {.status = status};
        child_emit(c, &r, NULL);
}

static void churn_client(Ctx *c)
{
        char buf[64];

        for (unsigned round = 0; round < CHURN_ROUNDS; round++) {
                int held[CHURN_HOSTS * CHURN_PER_IP];
                long answered = 0, closed = 0, excess = 0;
                size_t n = 0;

                /* Every address up to its own limit, all of them together up to the server's. Each
                 * connection is answered once, so the server has taken it, then it says nothing more. */
                for (uint8_t host = 1; host <= CHURN_HOSTS; host++) {
                        for (unsigned i = 0; i < CHURN_PER_IP; i++, n++) {
                                held[n] = connect_from(c->port, host);
                                answered += send_healthz(held[n]) && read_healthz(held[n]) == 200;
                        }
                        if (host == 1) {
                                /* Past the per-address limit while the server has room: closed at once. */
                                int fd = connect_from(c->port, host);
                                (void) send_healthz(fd);
                                excess = read_outcome(fd, buf, sizeof(buf));
                                close(fd);
                        }
                }
                churn_emit(c, answered);
                churn_emit(c, excess);

                /* Past the server's limit, from an address of its own: it waits in the listen queue. */
                int queued = connect_from(c->port, CHURN_HOSTS + 1);
                churn_emit(c, send_healthz(queued));

                /* The server closes every held connection once it has been idle for the timeout. */
                for (size_t i = 0; i < n; i++) {
                        closed += read_outcome(held[i], buf, sizeof(buf)) == 0;
                        close(held[i]);
                }
                churn_emit(c, closed);

                /* Now there is room: the queued request and a new one are answered. */
                long status = read_healthz(queued);
                close(queued);
                churn_emit(c, status);
                if (status != 200)
                        return; /* the server stopped accepting: the next rounds would only wait */
                child_requestf(c, "GET", "http://127.0.0.1:%u/healthz", c->port);
        }
}

static bool can_bind(uint8_t host)
{
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK - 1 + host)};
        bool ok = fd >= 0 && bind(fd, (struct sockaddr *) &a, sizeof(a)) == 0;
        if (fd >= 0)
                close(fd);
        return ok;
}

static void churn_expect(const Ctx *c, unsigned round, unsigned step, long expected, const char *what)
{
        size_t i = (size_t) round * CHURN_STEPS + step;
        long status = i < c->n_results ? c->results[i].r.status : LONG_MIN;
        if (status != expected)
                print_error("round %u: %s: %ld, expected %ld\n", round, what, status, expected);
        assert_int_equal(status, expected);
}

/* Idle connections from several addresses fill the server to both its limits, time out and are closed,
 * round after round: the server must go on accepting. (MHD stops watching its listening socket while it
 * is full, and takes it back only when it runs again after a connection is freed.) */
static void test_connection_churn(void **state)
{
        Ctx *c = *state;
        HttpLimits limits = {.connections = CHURN_HOSTS * CHURN_PER_IP,
                             .connections_per_ip = CHURN_PER_IP,
                             .idle_timeout_sec = 1};

        if (!can_bind(CHURN_HOSTS + 1)) {
                print_message("# cannot bind 127.0.0.%u: no loopback addresses beyond 127.0.0.1\n",
                              CHURN_HOSTS + 1);
                skip();
        }
        start(c, "127.0.0.1:0", &limits);
        run_client(c, churn_client);
        for (unsigned round = 0; round < CHURN_ROUNDS; round++) {
                churn_expect(c, round, 0, CHURN_HOSTS * CHURN_PER_IP, "connections answered");
                long excess = c->results[round * CHURN_STEPS + 1].r.status;
                if (excess != 0 && excess != -ECONNRESET)
                        print_error("round %u: connection past the per-address limit: %ld\n", round, excess);
                assert_true(excess == 0 || excess == -ECONNRESET);
                churn_expect(c, round, 2, true, "queued request sent");
                churn_expect(c, round, 3, CHURN_HOSTS * CHURN_PER_IP, "idle connections closed");
                churn_expect(c, round, 4, 200, "queued /healthz");
                churn_expect(c, round, 5, 200, "new /healthz");
        }
        assert_int_equal(c->n_results, CHURN_ROUNDS * CHURN_STEPS);
}

static void test_bad_listen(void **state)
{
        static const char *const bad[] = {
                "",
                "80",
                ":",
                "127.0.0.1",
                "127.0.0.1:",
                "127.0.0.1:65536",
                "127.0.0.1:123456",
                "127.0.0.1:-1",
                "127.0.0.1:+80",
                "127.0.0.1:8x",
                "127.0.0.1: 80",
                " 127.0.0.1:80",
                "127.0.0.1:80 ",
                "1.2.3:80",
                "256.0.0.1:80",
                "localhost:80",
                "::1:80",
                "[::1]80",
                "[::1]",
                "[::1]:",
                "[]:80",
                "[127.0.0.1]:80",
                "[::1:80",
                "[::1]]:80",
                "[fe80::1%lo]:80",
        };
        Ctx *c = *state;
        HttpServer *s = NULL;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                int r = http_server_new(c->event, bad[i], NULL, NULL, NULL, &s);
                if (r != -EINVAL)
                        print_error("'%s' gave %d\n", bad[i], r);
                assert_int_equal(r, -EINVAL);
                assert_null(s);
        }
        assert_int_equal(http_server_new(c->event, NULL, NULL, NULL, NULL, &s), -EINVAL);
        assert_null(http_server_free(NULL));
        assert_int_equal(http_server_port(NULL), 0);
}

static unsigned count_fds(void)
{
        DIR *d = opendir("/proc/self/fd");
        unsigned n = 0;
        assert_non_null(d);
        while (readdir(d))
                n++;
        closedir(d);
        return n;
}

/* Nothing stays behind: not the listening socket, not MHD's epoll fd. A port in use is refused with
 * errno, and the same port is free again once the server is gone. */
static void test_free_releases_everything(void **state)
{
        Ctx *c = *state;
        HttpServer *s = NULL, *again = NULL;
        sd_event_source *timer = NULL;
        char listen[32];

        /* The loop's own timerfd for CLOCK_MONOTONIC, made on first use, is the loop's, not ours. */
        assert_int_equal(sd_event_add_time(c->event, &timer, CLOCK_MONOTONIC, UINT64_MAX, 0, NULL, NULL), 0);
        timer = sd_event_source_unref(timer);
        unsigned before = count_fds();

        assert_int_equal(http_server_new(c->event, "127.0.0.1:0", NULL, NULL, NULL, &s), 0);
        assert_true(count_fds() > before);
        (void) snprintf(listen, sizeof(listen), "127.0.0.1:%u", http_server_port(s));
        assert_int_equal(http_server_new(c->event, listen, NULL, NULL, NULL, &again), -EADDRINUSE);
        assert_null(again);
        assert_null(http_server_free(s));
        assert_int_equal(count_fds(), before);
        assert_int_equal(http_server_new(c->event, listen, NULL, NULL, NULL, &again), 0);
        assert_null(http_server_free(again));
        assert_int_equal(count_fds(), before);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_endpoints, setup, teardown),
                cmocka_unit_test_setup_teardown(test_any_address, setup, teardown),
                cmocka_unit_test_setup_teardown(test_ipv6_address, setup, teardown),
                cmocka_unit_test_setup_teardown(test_idle_timeout, setup, teardown),
                cmocka_unit_test_setup_teardown(test_per_ip_limit, setup, teardown),
                cmocka_unit_test_setup_teardown(test_connection_churn, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bad_listen, setup, teardown),
                cmocka_unit_test_setup_teardown(test_free_releases_everything, setup, teardown),
        };
        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
