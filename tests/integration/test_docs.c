/* The commands of docs/quickstart.md and README.md, run as written (tests/docs/run_blocks.sh)
 * against the real server: a newcomer's path from a key to a downloaded PDF keeps working. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static th_server_t *srv;
static char key[128];

/* Runs the sh test blocks of doc (relative to the source dir) in a fresh directory. */
static int run_doc(const char *doc, char *dir, size_t dir_len)
{
    snprintf(dir, dir_len, "%s/doc-XXXXXX", srv->dir);
    if (!mkdtemp(dir))
        return -1;
    const char *src = getenv("CRAFTKIT_SOURCE_DIR");
    char cmd[2048];
    snprintf(
        cmd, sizeof cmd,
        "cd '%s' && CRAFTKIT_URL='%s' KEY='%s' bash '%s/tests/docs/run_blocks.sh' '%s/%s' >output.txt 2>&1",
        dir, srv->base_url, key, src, src, doc);
    int rc = system(cmd);
    if (rc != 0) {
        snprintf(cmd, sizeof cmd, "cat '%s/output.txt' >&2", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "(no output)\n");
    }
    return rc;
}

static bool is_pdf(const char *dir, const char *name)
{
    char path[1024], head[5] = "";
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return false;
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    size_t n = fread(head, 1, sizeof head, f);
    fclose(f);
    return n == 5 && !memcmp(head, "%PDF-", 5);
}

/* What the blocks printed (caller frees), or NULL. */
static char *read_output(const char *dir)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/output.txt", dir);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 20, len = 0;
    char *out = malloc(cap + 1);
    if (out)
        len = fread(out, 1, cap, f), out[len] = '\0';
    fclose(f);
    return out;
}

START_TEST(quickstart_commands_work)
{
    char dir[1024];
    ck_assert_int_eq(run_doc("docs/quickstart.md", dir, sizeof dir), 0);
    ck_assert(is_pdf(dir, "INV-1001.pdf"));
    /* Polling (step 4) and the sync request (step 6) both printed a succeeded render. */
    char *out = read_output(dir);
    ck_assert_ptr_nonnull(out);
    const char *p = out;
    int succeeded = 0;
    while ((p = strstr(p, "\"status\":\"succeeded\"")) != NULL)
        succeeded++, p++;
    ck_assert_msg(succeeded >= 2, "%d succeeded renders in the output:\n%s", succeeded, out);
    free(out);
}
END_TEST

START_TEST(readme_commands_work)
{
    char dir[1024];
    ck_assert_int_eq(run_doc("README.md", dir, sizeof dir), 0);
    ck_assert(is_pdf(dir, "hello.pdf"));
}
END_TEST

int main(void)
{
    srv = th_start("docs", NULL);
    char id[64];
    th_project(srv, "Docs", false, id, key);
    Suite *s = suite_create("docs");
    TCase *tc = tcase_create("commands");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, quickstart_commands_work);
    tcase_add_test(tc, readme_commands_work);
    suite_add_tcase(s, tc);
    return th_run_and_stop(s, srv);
}
