#include "harness_receiver.h"

#include "harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RX_MAX_REQUESTS 4096 /* test_crash_safety: a drain of 500 renders plus redeliveries */
#define RX_MAX_SCRIPTS 16
#define RX_MAX_CONNS 64
#define RX_HEAD_MAX 16384
#define RX_BODY_MAX (1u << 20)

typedef struct script {
    char path[256];
    int statuses[16];
    int n, served;
    int delay_ms;
    int delays[16]; /* per answer, when n_delays > 0 (else delay_ms for all) */
    int n_delays;
    char location[256]; /* sent as Location: when not empty */
    char *body;         /* malloc'd answer body, or NULL for "answer<status class>" */
} script_t;

typedef struct conn {
    receiver_t *rx;
    int fd;
    pthread_t thread;
} conn_t;

struct receiver {
    int lfd, port;
    pthread_t accept_thread;
    pthread_mutex_t mu;
    _Atomic int stop;
    rx_request_t requests[RX_MAX_REQUESTS];
    int n_requests;
    script_t scripts[RX_MAX_SCRIPTS];
    int n_scripts;
    conn_t *conns[RX_MAX_CONNS];
    int n_conns;
};

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Reads until buf holds a whole header block; returns its length (through "\r\n\r\n") or -1. */
static long read_head(conn_t *c, char *buf, size_t *have)
{
    for (;;) {
        buf[*have] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (end)
            return end + 4 - buf;
        if (*have >= RX_HEAD_MAX - 1 || c->rx->stop)
            return -1;
        struct pollfd p = {.fd = c->fd, .events = POLLIN};
        if (poll(&p, 1, 100) <= 0)
            continue;
        ssize_t got = recv(c->fd, buf + *have, RX_HEAD_MAX - 1 - *have, 0);
        if (got <= 0)
            return -1;
        *have += (size_t)got;
    }
}

/* The status to answer on path (and its delay, Location and body: a malloc'd copy or NULL),
 * advancing its script. */
static int next_status(receiver_t *rx, const char *path, int *delay, char *location, size_t location_len,
                       char **body)
{
    int status = 200;
    *delay = 0;
    location[0] = '\0';
    *body = NULL;
    pthread_mutex_lock(&rx->mu);
    for (int i = 0; i < rx->n_scripts; i++) {
        script_t *s = &rx->scripts[i];
        if (strcmp(s->path, path))
            continue;
        status = s->statuses[s->served < s->n ? s->served : s->n - 1];
        *delay = s->n_delays ? s->delays[s->served < s->n_delays ? s->served : s->n_delays - 1] : s->delay_ms;
        s->served++;
        snprintf(location, location_len, "%s", s->location);
        free(*body);
        *body = s->body ? strdup(s->body) : NULL;
    }
    pthread_mutex_unlock(&rx->mu);
    return status;
}

static void record(receiver_t *rx, const char *path, const char *head, size_t head_len, const char *body,
                   size_t len)
{
    rx_request_t r = {0};
    snprintf(r.path, sizeof r.path, "%s", path);
    r.headers = malloc(head_len + 1);
    for (size_t i = 0, colon = 0; i < head_len; i++) {
        char ch = head[i];
        if (ch == '\n')
            colon = 0;
        else if (ch == ':')
            colon = 1;
        r.headers[i] = !colon && ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
    }
    r.headers[head_len] = '\0';
    r.body = malloc(len + 1);
    memcpy(r.body, body, len);
    r.body[len] = '\0';
    r.len = len;
    pthread_mutex_lock(&rx->mu);
    if (rx->n_requests < RX_MAX_REQUESTS)
        rx->requests[rx->n_requests++] = r;
    else
        rx_request_free(&r);
    pthread_mutex_unlock(&rx->mu);
}

/* Sends all len bytes of p; false when the peer is gone. */
static bool send_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t sent = send(fd, p, len, MSG_NOSIGNAL);
        if (sent <= 0)
            return false;
        p += sent;
        len -= (size_t)sent;
    }
    return true;
}

/* Serves the requests of one keep-alive connection. */
static void *conn_main(void *arg)
{
    conn_t *c = arg;
    char *buf = malloc(RX_HEAD_MAX + RX_BODY_MAX);
    size_t have = 0;
    while (!c->rx->stop) {
        long head = read_head(c, buf, &have);
        if (head < 0)
            break;
        char path[256] = "";
        sscanf(buf, "%*s %255s", path);
        size_t clen = 0;
        const char *cl = strcasestr(buf, "\r\ncontent-length:");
        if (cl && cl < buf + head)
            clen = strtoul(cl + 17, NULL, 10);
        if (clen > RX_BODY_MAX)
            break;
        while (have < (size_t)head + clen) {
            ssize_t got = recv(c->fd, buf + have, (size_t)head + clen - have, 0);
            if (got <= 0)
                goto done;
            have += (size_t)got;
        }
        char *eol = strstr(buf, "\r\n");
        size_t start = eol ? (size_t)(eol + 2 - buf) : 0;
        record(c->rx, path, buf + start, (size_t)head - start, buf + head, clen);
        char location[256], *body;
        int delay, status = next_status(c->rx, path, &delay, location, sizeof location, &body);
        for (int waited = 0; waited < delay && !c->rx->stop; waited += 20)
            sleep_ms(20);
        char answer[512], fallback[16];
        snprintf(fallback, sizeof fallback, "answer%d", status / 100);
        const char *text = body ? body : fallback;
        int n = snprintf(answer, sizeof answer, "HTTP/1.1 %d Scripted\r\n%s%s%sContent-Length: %zu\r\n\r\n",
                         status, location[0] ? "Location: " : "", location, location[0] ? "\r\n" : "",
                         strlen(text));
        bool sent = send_all(c->fd, answer, (size_t)n) && send_all(c->fd, text, strlen(text));
        free(body);
        if (!sent)
            break;
        memmove(buf, buf + head + clen, have - ((size_t)head + clen));
        have -= (size_t)head + clen;
    }
done:
    free(buf);
    shutdown(c->fd, SHUT_RDWR); /* closed by rx_stop, after the join */
    return NULL;
}

static void *accept_main(void *arg)
{
    receiver_t *rx = arg;
    while (!rx->stop) {
        struct pollfd p = {.fd = rx->lfd, .events = POLLIN};
        if (poll(&p, 1, 100) <= 0)
            continue;
        int fd = accept(rx->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        pthread_mutex_lock(&rx->mu);
        if (rx->n_conns >= RX_MAX_CONNS) {
            pthread_mutex_unlock(&rx->mu);
            close(fd);
            continue;
        }
        conn_t *c = calloc(1, sizeof *c);
        c->rx = rx;
        c->fd = fd;
        rx->conns[rx->n_conns++] = c;
        pthread_mutex_unlock(&rx->mu);
        pthread_create(&c->thread, NULL, conn_main, c);
    }
    return NULL;
}

receiver_t *rx_start(void)
{
    receiver_t *rx = calloc(1, sizeof *rx);
    pthread_mutex_init(&rx->mu, NULL);
    rx->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (bind(rx->lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(rx->lfd, 64) != 0 ||
        getsockname(rx->lfd, (struct sockaddr *)&a, &len) != 0) {
        fprintf(stderr, "receiver: cannot listen\n");
        exit(3);
    }
    rx->port = ntohs(a.sin_port);
    pthread_create(&rx->accept_thread, NULL, accept_main, rx);
    return rx;
}

int rx_port(const receiver_t *rx)
{
    return rx->port;
}

void rx_script(receiver_t *rx, const char *path, const int *statuses, int n, int delay_ms)
{
    pthread_mutex_lock(&rx->mu);
    if (rx->n_scripts < RX_MAX_SCRIPTS && n > 0) {
        script_t *s = &rx->scripts[rx->n_scripts++];
        snprintf(s->path, sizeof s->path, "%s", path);
        s->n = n < 16 ? n : 16;
        memcpy(s->statuses, statuses, (size_t)s->n * sizeof *statuses);
        s->delay_ms = delay_ms;
    }
    pthread_mutex_unlock(&rx->mu);
}

void rx_script_location(receiver_t *rx, const char *path, const char *location)
{
    pthread_mutex_lock(&rx->mu);
    for (int i = 0; i < rx->n_scripts; i++)
        if (!strcmp(rx->scripts[i].path, path))
            snprintf(rx->scripts[i].location, sizeof rx->scripts[i].location, "%s", location);
    pthread_mutex_unlock(&rx->mu);
}

void rx_script_delays(receiver_t *rx, const char *path, const int *delays_ms, int n)
{
    pthread_mutex_lock(&rx->mu);
    for (int i = 0; i < rx->n_scripts; i++) {
        script_t *s = &rx->scripts[i];
        if (strcmp(s->path, path) || n <= 0)
            continue;
        s->n_delays = n < 16 ? n : 16;
        memcpy(s->delays, delays_ms, (size_t)s->n_delays * sizeof *delays_ms);
    }
    pthread_mutex_unlock(&rx->mu);
}

void rx_script_body(receiver_t *rx, const char *path, const char *body)
{
    pthread_mutex_lock(&rx->mu);
    for (int i = 0; i < rx->n_scripts; i++) {
        if (strcmp(rx->scripts[i].path, path))
            continue;
        free(rx->scripts[i].body);
        rx->scripts[i].body = strdup(body);
    }
    pthread_mutex_unlock(&rx->mu);
}

int rx_count(receiver_t *rx, const char *path)
{
    int n = 0;
    pthread_mutex_lock(&rx->mu);
    for (int i = 0; i < rx->n_requests; i++)
        n += !strcmp(rx->requests[i].path, path);
    pthread_mutex_unlock(&rx->mu);
    return n;
}

bool rx_wait_count(receiver_t *rx, const char *path, int n, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 20) {
        if (rx_count(rx, path) >= n)
            return true;
        sleep_ms(20);
    }
    return false;
}

bool rx_get(receiver_t *rx, const char *path, int i, rx_request_t *out)
{
    bool found = false;
    pthread_mutex_lock(&rx->mu);
    for (int k = 0, seen = 0; k < rx->n_requests && !found; k++) {
        if (strcmp(rx->requests[k].path, path) || seen++ != i)
            continue;
        *out = rx->requests[k];
        out->headers = strdup(rx->requests[k].headers);
        out->body = malloc(out->len + 1);
        memcpy(out->body, rx->requests[k].body, out->len + 1);
        found = true;
    }
    pthread_mutex_unlock(&rx->mu);
    return found;
}

void rx_request_free(rx_request_t *r)
{
    free(r->headers);
    free(r->body);
    r->headers = r->body = NULL;
}

const char *rx_header(const rx_request_t *r, const char *name)
{
    return th_find_header(r->headers, name);
}

void rx_stop(receiver_t *rx)
{
    rx->stop = 1;
    pthread_join(rx->accept_thread, NULL);
    close(rx->lfd);
    for (int i = 0; i < rx->n_conns; i++) {
        shutdown(rx->conns[i]->fd, SHUT_RDWR);
        pthread_join(rx->conns[i]->thread, NULL);
        close(rx->conns[i]->fd);
        free(rx->conns[i]);
    }
    for (int i = 0; i < rx->n_requests; i++)
        rx_request_free(&rx->requests[i]);
    for (int i = 0; i < rx->n_scripts; i++)
        free(rx->scripts[i].body);
    pthread_mutex_destroy(&rx->mu);
    free(rx);
}
