/* End-to-end: the web dashboard in a real browser. Starts the real server (harness), makes a
 * project and a key through the admin API, and runs tests/e2e/dashboard.mjs — playwright-core
 * driving Debian's Chromium headless — against it; the test passes when the script exits 0.
 * Needs node, tests/node_modules (scripts/test-node-deps) and /usr/bin/chromium (scripts/deps),
 * all installed by scripts/test; their absence is a failure, not a skip. Afterwards the server's
 * log must not contain the key anywhere. Screenshots are left
 * in e2e-screenshots/ under the test's working directory (the build tree). */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static int run_node(const char *script, const char *base, const char *key, const char *shots)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        /* the key goes to the script as an argument: this is a throwaway test project */
        execlp("node", "node", script, base, key, shots, (char *)NULL);
        fprintf(stderr, "cannot run node: %s\n", strerror(errno));
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

START_TEST(dashboard_in_chromium)
{
    const char *src = getenv("CRAFTKIT_SOURCE_DIR");
    ck_assert_msg(src != NULL, "CRAFTKIT_SOURCE_DIR is not set (run through ctest)");
    const char *chromium = getenv("CRAFTKIT_CHROMIUM") ? getenv("CRAFTKIT_CHROMIUM") : "/usr/bin/chromium";
    char script[1024], modules[1024], shots[1024], cwd[512];
    snprintf(script, sizeof script, "%s/tests/e2e/dashboard.mjs", src);
    snprintf(modules, sizeof modules, "%s/tests/node_modules/playwright-core/package.json", src);
    ck_assert_msg(access(chromium, X_OK) == 0, "%s is missing: scripts/deps installs Debian's chromium",
                  chromium);
    ck_assert_msg(access(modules, R_OK) == 0, "playwright-core is missing: run scripts/test-node-deps");
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    snprintf(shots, sizeof shots, "%s/e2e-screenshots", cwd);

    /* Retries wait seconds, so a failing render is seen queued with its lastError (and cancelled). */
    const char *env[] = {"CRAFTKIT_RENDER_BACKOFF_BASE_MS=3000", NULL};
    th_server_t *srv = th_start("dashboard_e2e", env);
    char project[64], key[128];
    th_project(srv, "Dashboard & Co <e2e>", false, project, key);
    int rc = run_node(script, srv->base_url, key, shots);
    /* the server logged every request the browser made, and never the key */
    char log[700];
    snprintf(log, sizeof log, "%s/server.log", srv->dir);
    FILE *f = fopen(log, "r");
    ck_assert_ptr_nonnull(f);
    char line[8192];
    int lines = 0;
    while (fgets(line, sizeof line, f)) {
        lines++;
        ck_assert_msg(!strstr(line, key), "the server log has the key: %s", line);
    }
    fclose(f);
    ck_assert_int_gt(lines, 100);
    ck_assert_int_eq(th_stop(srv), 0);
    ck_assert_msg(rc == 0, "tests/e2e/dashboard.mjs exited with %d (screenshots in %s)", rc, shots);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dashboard_e2e");
    TCase *tc = tcase_create("dashboard_e2e");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, dashboard_in_chromium);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
