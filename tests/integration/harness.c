#include "harness.h"

#include <check.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"

extern char **environ;

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "harness: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(3);
}

int th_run_and_stop(Suite *s, th_server_t *srv)
{
    int rc = tu_run(s);
    if (th_stop(srv) != 0)
        rc = EXIT_FAILURE;
    return rc;
}

void th_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

bool th_wait_until(bool (*fn)(void *), void *arg, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 20) {
        if (fn(arg))
            return true;
        th_sleep_ms(20);
    }
    return false;
}

/* Reads KEY from $CRAFTKIT_TEST_SERVICES/env. */
static char *services_env(const char *key)
{
    const char *state = getenv("CRAFTKIT_TEST_SERVICES");
    if (!state)
        die("CRAFTKIT_TEST_SERVICES is not set (run through ctest)");
    char path[1024], line[1024];
    snprintf(path, sizeof path, "%s/env", state);
    FILE *f = fopen(path, "r");
    if (!f)
        die("cannot read %s: the services fixture did not start", path);
    char *val = NULL;
    size_t klen = strlen(key);
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, key, klen) && line[klen] == '=') {
            line[strcspn(line, "\n")] = '\0';
            val = strdup(line + klen + 1);
            break;
        }
    }
    fclose(f);
    return val;
}

char *th_services_env(const char *key)
{
    return services_env(key);
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || getsockname(fd, (struct sockaddr *)&a, &len))
        die("no free port");
    int port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static void admin_sql(const char *sql)
{
    char *host = services_env("PGHOST");
    char conninfo[1024];
    snprintf(conninfo, sizeof conninfo, "host=%s user=postgres dbname=postgres", host);
    free(host);
    PGconn *c = PQconnectdb(conninfo);
    if (PQstatus(c) != CONNECTION_OK)
        die("postgres: %s", PQerrorMessage(c));
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        die("postgres: %s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
}

/* Builds the child environment: ours + the server settings + extras. */
static char **child_env(th_server_t *s, const char *const *more)
{
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = calloc(n + 64 + (size_t)s->n_extra_env, sizeof *env);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        env[k++] = strdup(environ[i]);
    char tmp[2048];
#define ADD(...) (snprintf(tmp, sizeof tmp, __VA_ARGS__), env[k++] = strdup(tmp))
    ADD("DATABASE_URL=%s", s->database_url);
    ADD("REDIS_URL=%s", s->redis_url);
    ADD("CRAFTKIT_LISTEN=127.0.0.1:%d", s->port);
    ADD("CRAFTKIT_PUBLIC_URL=%s", s->base_url);
    ADD("CRAFTKIT_ADMIN_KEY=%s", TH_ADMIN_KEY);
    ADD("CRAFTKIT_DATA_DIR=%s/data", s->dir);
    ADD("CRAFTKIT_WORKERS=2");
    ADD("CRAFTKIT_HTTP_THREADS=4");
    ADD("CRAFTKIT_ALLOW_PRIVATE_URLS=1");
    ADD("CRAFTKIT_SWEEP_INTERVAL_MS=500");
    ADD("CRAFTKIT_RENDER_BACKOFF_BASE_MS=100");
    ADD("CRAFTKIT_WEBHOOK_BACKOFF_BASE_MS=100");
    ADD("CRAFTKIT_HEARTBEAT_TTL=3");
#undef ADD
    /* Later entries win in getenv() only if earlier duplicates are removed: put extras last and
     * drop any earlier entry with the same name. */
    for (int i = 0; i < s->n_extra_env; i++)
        env[k++] = strdup(s->extra_env[i]);
    for (size_t i = 0; more && more[i]; i++)
        env[k++] = strdup(more[i]);
    for (size_t i = 0; i < k; i++) {
        size_t nl = strcspn(env[i], "=");
        for (size_t j = i + 1; j < k; j++) {
            if (env[i] && !strncmp(env[i], env[j], nl) && env[j][nl] == '=') {
                free(env[i]);
                env[i] = NULL;
                break;
            }
        }
    }
    size_t w = 0;
    for (size_t i = 0; i < k; i++)
        if (env[i])
            env[w++] = env[i];
    env[w] = NULL;
    return env;
}

static void free_env(char **env)
{
    for (size_t i = 0; env[i]; i++)
        free(env[i]);
    free(env);
}

static pid_t spawn(char *const argv[], char **env, const char *log_path, int stdout_fd)
{
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        /* Never outlive the test: a failed assertion skips the th_stop() of a test's servers. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 2);
            dup2(stdout_fd >= 0 ? stdout_fd : fd, 1);
        }
        execve(argv[0], argv, env);
        _exit(127);
    }
    return pid;
}

static const char *bin(void)
{
    const char *b = getenv("CRAFTKIT_BIN");
    if (!b)
        die("CRAFTKIT_BIN is not set");
    return b;
}

/* A reply cut at the harness's cap would make a test judge half an answer: stop instead.
 * (Not ck_assert: these helpers also run outside a test, where Check cannot report.) */
static void whole_or_die(const buf_t *b, const char *what)
{
    if (buf_error(b) != BUF_OK) {
        fprintf(stderr, "harness: %s is over the harness's buffer cap\n", what);
        abort();
    }
}

int th_cli(th_server_t *s, char **out, const char *const *args)
{
    char *argv[32];
    int n = 0;
    argv[n++] = (char *)bin();
    for (int i = 0; args[i] && n < 30; i++)
        argv[n++] = (char *)args[i];
    argv[n] = NULL;
    int pipefd[2];
    if (pipe(pipefd) != 0)
        die("pipe");
    char log[700];
    snprintf(log, sizeof log, "%s/cli.log", s->dir);
    char **env = child_env(s, NULL);
    pid_t pid = spawn(argv, env, log, pipefd[1]);
    free_env(env);
    close(pipefd[1]);
    buf_t b;
    buf_init(&b, 1 << 20);
    char chunk[4096];
    ssize_t got;
    while ((got = read(pipefd[0], chunk, sizeof chunk)) > 0)
        buf_put(&b, chunk, (size_t)got);
    close(pipefd[0]);
    int st;
    waitpid(pid, &st, 0);
    whole_or_die(&b, "an answer");
    if (out)
        *out = buf_detach(&b, NULL);
    else
        buf_free(&b);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static bool redis_up(void *arg)
{
    th_server_t *s = arg;
    char *out = th_redis_cli(s, "PING");
    bool ok = out && strstr(out, "PONG");
    free(out);
    return ok;
}

void th_redis_start(th_server_t *s)
{
    char log[700];
    snprintf(log, sizeof log, "%s/redis.log", s->dir);
    char *argv[] = {"/usr/bin/redis-server",
                    "--port",
                    "0",
                    "--unixsocket",
                    s->redis_sock,
                    "--unixsocketperm",
                    "700",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    s->dir,
                    NULL};
    s->redis_pid = spawn(argv, environ, log, -1);
    if (!th_wait_until(redis_up, s, 10000))
        die("redis did not start (see %s)", log);
}

void th_redis_stop(th_server_t *s)
{
    if (!s->redis_pid)
        return;
    kill(s->redis_pid, SIGKILL);
    waitpid(s->redis_pid, NULL, 0);
    s->redis_pid = 0;
    unlink(s->redis_sock);
}

char *th_redis_cli(th_server_t *s, const char *args)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "redis-cli -s '%s' %s 2>/dev/null", s->redis_sock, args);
    FILE *p = popen(cmd, "r");
    if (!p)
        return NULL;
    buf_t b;
    buf_init(&b, 1 << 20);
    char chunk[4096];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, p)) > 0)
        buf_put(&b, chunk, got);
    pclose(p);
    whole_or_die(&b, "an answer");
    return buf_detach(&b, NULL);
}

char *th_sql(th_server_t *s, const char *sql)
{
    PGconn *c = PQconnectdb(s->database_url);
    if (PQstatus(c) != CONNECTION_OK)
        die("postgres: %s", PQerrorMessage(c));
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        die("postgres: %s: %s", sql, PQerrorMessage(c));
    char *out = strdup(st == PGRES_TUPLES_OK && PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "");
    PQclear(r);
    PQfinish(c);
    return out;
}

static bool server_healthy(void *arg)
{
    th_server_t *s = arg;
    int st;
    if (s->pid && waitpid(s->pid, &st, WNOHANG) == s->pid) {
        s->pid = 0;
        die("craftkit serve exited during start-up (see %s/server.log)", s->dir);
    }
    th_resp_t *r = th_req(s, "GET", "/health", NULL, NULL, NULL);
    bool ok = r && r->status == 200;
    th_resp_free(r);
    return ok;
}

void th_server_start(th_server_t *s)
{
    char log[700];
    snprintf(log, sizeof log, "%s/server.log", s->dir);
    char *argv[] = {(char *)bin(), "serve", NULL};
    char **env = child_env(s, NULL);
    s->pid = spawn(argv, env, log, -1);
    free_env(env);
    if (!th_wait_until(server_healthy, s, 30000))
        die("craftkit serve did not become healthy (see %s)", log);
}

pid_t th_server_spawn_extra(th_server_t *s, int *port_out, const char *const *extra_env)
{
    return th_server_spawn_args(s, port_out, extra_env, NULL);
}

pid_t th_server_spawn_args(th_server_t *s, int *port_out, const char *const *extra_env,
                           const char *serve_flag)
{
    int port = free_port();
    char listen[64], url[64], log[700];
    snprintf(listen, sizeof listen, "CRAFTKIT_LISTEN=127.0.0.1:%d", port);
    snprintf(url, sizeof url, "CRAFTKIT_PUBLIC_URL=http://127.0.0.1:%d", port);
    snprintf(log, sizeof log, "%s/server-%d.log", s->dir, port);
    const char *more[34];
    int n = 0;
    more[n++] = listen;
    more[n++] = url;
    for (int i = 0; extra_env && extra_env[i] && n < 32; i++)
        more[n++] = extra_env[i];
    more[n] = NULL;
    char *argv[] = {(char *)bin(), "serve", (char *)serve_flag, NULL};
    char **env = child_env(s, more);
    pid_t pid = spawn(argv, env, log, -1);
    free_env(env);
    char health[128];
    snprintf(health, sizeof health, "http://127.0.0.1:%d/health", port);
    for (int i = 0; i < 1500; i++) {
        th_resp_t *r = th_req_url("GET", health, NULL, NULL, NULL);
        bool ok = r && r->status == 200;
        th_resp_free(r);
        if (ok)
            break;
        th_sleep_ms(20);
    }
    *port_out = port;
    return pid;
}

int th_server_stop(th_server_t *s)
{
    if (!s->pid)
        return -1;
    kill(s->pid, SIGTERM);
    int st = 0;
    for (int i = 0; i < 1500; i++) {
        if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
            s->pid = 0;
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
        th_sleep_ms(20);
    }
    kill(s->pid, SIGKILL);
    waitpid(s->pid, &st, 0);
    s->pid = 0;
    return -1;
}

void th_server_kill(th_server_t *s)
{
    if (!s->pid)
        return;
    kill(s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
    s->pid = 0;
}

#define PGBIN "/usr/lib/postgresql/15/bin"

/* Runs a shell command as the postgres user when we are root (initdb refuses root). */
static int as_postgres(const char *cmd)
{
    char full[4096];
    if (getuid() == 0)
        snprintf(full, sizeof full, "runuser -u postgres -- sh -c '%s'", cmd);
    else
        snprintf(full, sizeof full, "%s", cmd);
    return system(full);
}

void th_pg_start(th_server_t *s)
{
    char cmd[3072];
    snprintf(cmd, sizeof cmd,
             PGBIN "/pg_ctl -D %s/data -l %s/pg.log -w -o \"-c listen_addresses= -k %s -c fsync=off\" start"
                   " >/dev/null",
             s->pg_dir, s->pg_dir, s->pg_dir);
    if (as_postgres(cmd) != 0)
        die("own postgres did not start (see %s/pg.log)", s->pg_dir);
}

void th_pg_stop(th_server_t *s)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, PGBIN "/pg_ctl -D %s/data -m fast -w stop >/dev/null 2>&1", s->pg_dir);
    as_postgres(cmd);
}

void th_pg_crash(th_server_t *s)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, PGBIN "/pg_ctl -D %s/data -m immediate -w stop >/dev/null 2>&1", s->pg_dir);
    as_postgres(cmd);
}

/* Clusters of tests' own, stopped at exit even when a failed assertion skipped th_stop(). */
#define TH_MAX_OWN_PG 8
static th_server_t *own_pg_servers[TH_MAX_OWN_PG];

static void own_pg_teardown(th_server_t *s);

static void stop_leftover_clusters(void)
{
    for (int i = 0; i < TH_MAX_OWN_PG; i++)
        if (own_pg_servers[i])
            own_pg_teardown(own_pg_servers[i]);
}

static void own_pg_register(th_server_t *s, bool on)
{
    static bool hooked;
    if (!hooked)
        atexit(stop_leftover_clusters);
    hooked = true;
    for (int i = 0; i < TH_MAX_OWN_PG; i++) {
        if (on && !own_pg_servers[i]) {
            own_pg_servers[i] = s;
            return;
        }
        if (!on && own_pg_servers[i] == s)
            own_pg_servers[i] = NULL;
    }
}

static void own_pg_setup(th_server_t *s)
{
    /* Under /tmp with 0755, so that the postgres user can reach it. */
    char tmpl[] = "/tmp/craftkit-pg.XXXXXX";
    if (!mkdtemp(tmpl))
        die("mkdtemp");
    chmod(tmpl, 0755);
    snprintf(s->pg_dir, sizeof s->pg_dir, "%s", tmpl);
    char cmd[3072];
    if (getuid() == 0) {
        snprintf(cmd, sizeof cmd, "chown postgres '%s'", s->pg_dir);
        if (system(cmd) != 0)
            die("chown %s", s->pg_dir);
    }
    snprintf(cmd, sizeof cmd,
             PGBIN "/initdb -D %s/data -U postgres --auth=trust --no-sync -E UTF8 >/dev/null", s->pg_dir);
    if (as_postgres(cmd) != 0)
        die("initdb failed in %s", s->pg_dir);
    th_pg_start(s);
    own_pg_register(s, true);
    snprintf(s->dbname, sizeof s->dbname, "postgres");
    snprintf(s->database_url, sizeof s->database_url, "host=%s user=postgres dbname=postgres", s->pg_dir);
}

static void own_pg_teardown(th_server_t *s)
{
    own_pg_register(s, false);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, PGBIN "/pg_ctl -D %s/data -m immediate -w stop >/dev/null 2>&1", s->pg_dir);
    as_postgres(cmd);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s->pg_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "harness: could not remove %s\n", s->pg_dir);
}

static th_server_t *start(const char *name, const char *const *extra_env, bool own_pg)
{
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_ALL);
    th_server_t *s = calloc(1, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", name);
    char tmpl[] = "/tmp/craftkit-it.XXXXXX";
    if (!mkdtemp(tmpl))
        die("mkdtemp");
    snprintf(s->dir, sizeof s->dir, "%s", tmpl);
    for (int i = 0; extra_env && extra_env[i] && s->n_extra_env < 32; i++)
        s->extra_env[s->n_extra_env++] = strdup(extra_env[i]);

    if (own_pg) {
        own_pg_setup(s);
    } else {
        snprintf(s->dbname, sizeof s->dbname, "t_%s_%d", name, (int)getpid());
        char sql[256];
        snprintf(sql, sizeof sql, "CREATE DATABASE \"%s\"", s->dbname);
        admin_sql(sql);
        char *host = services_env("PGHOST");
        snprintf(s->database_url, sizeof s->database_url, "host=%s user=postgres dbname=%s", host, s->dbname);
        free(host);
    }

    snprintf(s->redis_sock, sizeof s->redis_sock, "%s/redis.sock", s->dir);
    snprintf(s->redis_url, sizeof s->redis_url, "unix://%s", s->redis_sock);
    th_redis_start(s);

    s->port = free_port();
    snprintf(s->base_url, sizeof s->base_url, "http://127.0.0.1:%d", s->port);

    char *out = NULL;
    const char *args[] = {"migrate", NULL};
    int rc = th_cli(s, &out, args);
    free(out);
    if (rc != 0)
        die("craftkit migrate failed with %d (see %s/cli.log)", rc, s->dir);
    th_server_start(s);
    return s;
}

th_server_t *th_start(const char *name, const char *const *extra_env)
{
    return start(name, extra_env, false);
}

th_server_t *th_start_own_pg(const char *name, const char *const *extra_env)
{
    return start(name, extra_env, true);
}

int th_stop(th_server_t *s)
{
    if (!s)
        return 0;
    int rc = th_server_stop(s);
    /* A server that does not exit cleanly (a crash, a sanitizer report, a leak) fails the run. */
    int failed = rc != 0 && rc != -1;
    if (failed) {
        fprintf(stderr, "harness: server exited with %d (see %s/server.log); its last lines:\n", rc, s->dir);
        /* CI keeps only the test's output: the log's tail is the only trace of why it died. */
        char cmd[700];
        snprintf(cmd, sizeof cmd, "tail -n 25 '%s/server.log' | cut -c1-400 >&2", s->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "harness: could not show %s/server.log\n", s->dir);
    }
    th_redis_stop(s);
    if (s->pg_dir[0]) {
        own_pg_teardown(s);
    } else {
        char sql[256];
        snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)", s->dbname);
        admin_sql(sql);
    }
    if (!getenv("CRAFTKIT_KEEP_TEST_DIRS") && !failed) {
        char cmd[700];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", s->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "harness: could not remove %s\n", s->dir);
    }
    for (int i = 0; i < s->n_extra_env; i++)
        free(s->extra_env[i]);
    free(s);
    curl_global_cleanup();
    return failed;
}

/* ---- HTTP ---- */

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    buf_put((buf_t *)ud, p, size * n);
    return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    buf_t *b = ud;
    size_t len = size * n;
    /* A new status line (e.g. after 100 Continue) starts a fresh header block. */
    if (len > 5 && !strncmp(p, "HTTP/", 5))
        buf_reset(b);
    size_t colon = 0;
    for (size_t i = 0; i < len; i++) {
        char c = p[i];
        if (!colon && c == ':')
            colon = i;
        if (!colon && c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        buf_putc(b, c);
    }
    return len;
}

th_resp_t *th_req_url(const char *method, const char *url, const char *auth, const char *body,
                      const char *const *headers)
{
    return th_req_url_bytes(method, url, auth, body, body ? strlen(body) : 0, headers);
}

th_resp_t *th_req_url_bytes(const char *method, const char *url, const char *auth, const void *body,
                            size_t body_len, const char *const *headers)
{
    CURL *c = curl_easy_init();
    buf_t rb, hb;
    buf_init(&rb, 256u << 20);
    buf_init(&hb, 1 << 20);
    struct curl_slist *hl = NULL;
    char authz[1024];
    bool has_ct = false;
    if (auth) {
        snprintf(authz, sizeof authz, "Authorization: Bearer %s", auth);
        hl = curl_slist_append(hl, authz);
    }
    for (size_t i = 0; headers && headers[i]; i++) {
        if (!strncasecmp(headers[i], "content-type:", 13))
            has_ct = true;
        hl = curl_slist_append(hl, headers[i]);
    }
    if (body && !has_ct)
        hl = curl_slist_append(hl, "Content-Type: application/json");
    hl = curl_slist_append(hl, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (!strcmp(method, "HEAD"))
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &rb);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &hb);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(c);
    th_resp_t *r = NULL;
    if (rc == CURLE_OK) {
        r = calloc(1, sizeof *r);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
        whole_or_die(&rb, "a response body");
        whole_or_die(&hb, "a response's headers");
        r->body = buf_detach(&rb, &r->len);
        r->headers = buf_detach(&hb, NULL);
        r->json = json_loadb(r->body, r->len, JSON_DECODE_ANY, NULL);
    }
    buf_free(&rb);
    buf_free(&hb);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    return r;
}

th_resp_t *th_req_bytes(th_server_t *s, const char *method, const char *path, const char *auth,
                        const void *body, size_t body_len, const char *const *headers)
{
    char url[4096];
    snprintf(url, sizeof url, "%s%s", s->base_url, path);
    return th_req_url_bytes(method, url, auth, body, body_len, headers);
}

th_resp_t *th_req(th_server_t *s, const char *method, const char *path, const char *auth, const char *body,
                  const char *const *headers)
{
    char url[4096];
    snprintf(url, sizeof url, "%s%s", s->base_url, path);
    return th_req_url(method, url, auth, body, headers);
}

th_resp_t *th_upload_asset(th_server_t *s, const char *key, const char *content_type, const void *data,
                           size_t len, const char *query)
{
    char ct[128], path[1024];
    snprintf(ct, sizeof ct, "Content-Type: %s", content_type);
    snprintf(path, sizeof path, "/v1/assets%s", query);
    const char *headers[] = {ct, NULL};
    return th_req_bytes(s, "POST", path, key, data, len, headers);
}

int th_stored_assets(th_server_t *s, const char *project_id)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/data/assets/%s", s->dir, project_id);
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

char *th_raw_request(th_server_t *s, const char *request)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)s->port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    size_t n = strlen(request);
    ck_assert_int_eq(write(fd, request, n), (ssize_t)n);
    size_t cap = 65536, len = 0;
    char *out = malloc(cap);
    ssize_t got;
    while (len + 1 < cap && (got = read(fd, out + len, cap - len - 1)) > 0)
        len += (size_t)got;
    out[len] = '\0';
    close(fd);
    return out;
}

const char *th_find_header(const char *raw, const char *name)
{
    static char value[8192];
    size_t nl = strlen(name);
    for (const char *line = raw; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len > nl && !strncasecmp(line, name, nl) && line[nl] == ':') {
            const char *v = line + nl + 1;
            while (*v == ' ')
                v++;
            size_t vl = len - (size_t)(v - line);
            while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == ' '))
                vl--;
            if (vl >= sizeof value)
                vl = sizeof value - 1;
            memcpy(value, v, vl);
            value[vl] = '\0';
            return value;
        }
        line = end ? end + 1 : NULL;
    }
    return NULL;
}

const char *th_header(const th_resp_t *r, const char *name)
{
    return r ? th_find_header(r->headers, name) : NULL;
}

void th_resp_free(th_resp_t *r)
{
    if (!r)
        return;
    free(r->body);
    free(r->headers);
    if (r->json)
        json_decref(r->json);
    free(r);
}

const char *th_error_code(const th_resp_t *r)
{
    if (!r || !r->json)
        return "";
    const char *code = json_string_value(json_object_get(json_object_get(r->json, "error"), "code"));
    return code ? code : "";
}

void th_assert_error(const th_resp_t *r, long status, const char *code)
{
    ck_assert_msg(r != NULL, "no response");
    ck_assert_msg(r->status == status, "expected %ld %s, got %ld: %s", status, code, r->status, r->body);
    ck_assert_str_eq(th_error_code(r), code);
    ck_assert(json_is_string(json_object_get(json_object_get(r->json, "error"), "message")));
    ck_assert_msg(th_header(r, "x-request-id") != NULL, "missing X-Request-Id");
}

void th_expect_error(th_server_t *s, const char *method, const char *path, const char *auth, const char *body,
                     long status, const char *code)
{
    th_resp_t *r = th_req(s, method, path, auth, body, NULL);
    th_assert_error(r, status, code);
    th_resp_free(r);
}

void th_project(th_server_t *s, const char *name, bool test_key, char id[64], char key[128])
{
    char body[512];
    snprintf(body, sizeof body, "{\"name\":\"%s\"}", name);
    /* No ck_assert here: callers may run this outside a Check test (e.g. in main). */
    th_resp_t *r = th_req(s, "POST", "/v1/projects", TH_ADMIN_KEY, body, NULL);
    if (!r || r->status != 201)
        die("create project: %ld %s", r ? r->status : 0L, r ? r->body : "");
    snprintf(id, 64, "%s", json_string_value(json_object_get(r->json, "id")));
    th_resp_free(r);
    char path[256];
    snprintf(path, sizeof path, "/v1/projects/%s/keys", id);
    snprintf(body, sizeof body, "{\"name\":\"test\",\"environment\":\"%s\"}", test_key ? "test" : "live");
    r = th_req(s, "POST", path, TH_ADMIN_KEY, body, NULL);
    if (!r || r->status != 201)
        die("create key: %ld %s", r ? r->status : 0L, r ? r->body : "");
    snprintf(key, 128, "%s", json_string_value(json_object_get(r->json, "key")));
    th_resp_free(r);
}
