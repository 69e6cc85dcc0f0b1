/*
 * stub_http — a tiny canned-response HTTP/1.1 server for unit tests (header-only).
 *
 * stub_http_start() binds 127.0.0.1:0, forks a child that serves the given routes one
 * connection at a time (Connection: close), and returns its port. Routes can delay the
 * answer (to test timeouts; the delay ends early when the client hangs up) or stream many
 * bytes without a Content-Length (to test size caps). Unknown paths get a 404. A query string
 * is ignored when matching (so "/slow.svg?n=7" gets past a client's cache and still matches).
 * stub_http_stop() kills and reaps the child. The child never returns into the test.
 */
#ifndef CRAFTKIT_TEST_STUB_HTTP_H
#define CRAFTKIT_TEST_STUB_HTTP_H

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
    const char *path;         /* exact request path, e.g. "/logo.png" */
    int status;               /* e.g. 200, 404 */
    const char *content_type; /* NULL: none sent */
    const void *body;         /* may be NULL */
    size_t body_len;
    int delay_ms;              /* wait this long before answering */
    size_t stream_bytes;       /* >0: send this many filler bytes, no Content-Length */
    const char *extra_headers; /* "Name: value\r\n..." or NULL */
} stub_route_t;

typedef struct {
    pid_t pid;
    int port;
} stub_http_t;

static void stub_http_write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        c += w;
        n -= (size_t)w;
    }
}

/* Waits up to ms; returns early (nonzero) if the client closed the connection. */
static int stub_http_wait_for_hangup(int fd, int ms)
{
    while (ms > 0) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int step = ms < 50 ? ms : 50;
        if (poll(&p, 1, step) > 0) {
            char tmp[256];
            if (recv(fd, tmp, sizeof tmp, MSG_DONTWAIT) <= 0)
                return 1;
        }
        ms -= step;
    }
    return 0;
}

static void stub_http_serve_one(int fd, const stub_route_t *routes, size_t n)
{
    char req[8192];
    size_t len = 0;
    while (len < sizeof req - 1) {
        ssize_t r = recv(fd, req + len, sizeof req - 1 - len, 0);
        if (r <= 0)
            return;
        len += (size_t)r;
        req[len] = 0;
        if (strstr(req, "\r\n\r\n"))
            break;
    }
    char path[1024] = "";
    if (sscanf(req, "%*s %1023s", path) != 1)
        return;
    path[strcspn(path, "?")] = 0;
    const stub_route_t *rt = NULL;
    for (size_t i = 0; i < n; i++)
        if (strcmp(routes[i].path, path) == 0)
            rt = &routes[i];
    static const stub_route_t not_found = {"", 404, "text/plain", "not found", 9, 0, 0, NULL};
    if (!rt)
        rt = &not_found;
    if (rt->delay_ms > 0 && stub_http_wait_for_hangup(fd, rt->delay_ms))
        return;
    char head[2048];
    int hl = snprintf(head, sizeof head, "HTTP/1.1 %d Stub\r\nConnection: close\r\n", rt->status);
    if (rt->content_type)
        hl += snprintf(head + hl, sizeof head - (size_t)hl, "Content-Type: %s\r\n", rt->content_type);
    if (!rt->stream_bytes)
        hl += snprintf(head + hl, sizeof head - (size_t)hl, "Content-Length: %zu\r\n", rt->body_len);
    hl += snprintf(head + hl, sizeof head - (size_t)hl, "%s\r\n", rt->extra_headers ? rt->extra_headers : "");
    stub_http_write_all(fd, head, (size_t)hl);
    if (rt->body_len)
        stub_http_write_all(fd, rt->body, rt->body_len);
    if (rt->stream_bytes) {
        static char filler[65536];
        for (size_t sent = 0; sent < rt->stream_bytes; sent += sizeof filler) {
            ssize_t w = send(fd, filler, sizeof filler, MSG_NOSIGNAL);
            if (w <= 0)
                break;
        }
    }
}

static int stub_http_start(stub_http_t *s, const stub_route_t *routes, size_t n)
{
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (lfd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (bind(lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(lfd, 16) != 0 ||
        getsockname(lfd, (struct sockaddr *)&a, &al) != 0) {
        close(lfd);
        return -1;
    }
    s->port = ntohs(a.sin_port);
    fflush(NULL);
    s->pid = fork();
    if (s->pid < 0) {
        close(lfd);
        return -1;
    }
    if (s->pid == 0) {
        /* Never outlive the test: a failed Check test skips its teardown, and an orphan
         * holding ctest's output pipe would stall the run. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() == 1)
            _exit(0);
        alarm(120);
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0) {
            dup2(devnull, STDOUT_FILENO);
            dup2(devnull, STDERR_FILENO);
            close(devnull);
        }
        signal(SIGPIPE, SIG_IGN);
        for (;;) {
            int fd = accept(lfd, NULL, NULL);
            if (fd < 0)
                continue;
            stub_http_serve_one(fd, routes, n);
            shutdown(fd, SHUT_WR);
            close(fd);
        }
    }
    close(lfd);
    return 0;
}

static void stub_http_stop(stub_http_t *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
        s->pid = 0;
    }
}

#endif
