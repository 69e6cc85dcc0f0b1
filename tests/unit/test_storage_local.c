/* Unit tests for the local storage backend and the /files route logic: keys and path tricks,
 * filename sanitising, atomic writes (also when the disk "fills up"), the signing secret,
 * signed links (tamper, expiry, malformed), Range parsing, ETag matching, headers. */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/config.h"
#include "core/crypto.h"
#include "storage/download.h"
#include "storage/localfs.h"
#include "storage/storage.h"
#include "tu.h"

#define PROJECT "0190a6f2-3c4d-7e5f-8a9b-0c1d2e3f4a5b"
#define RENDER "0190a6f2-3c4d-7e5f-8a9b-0c1d2e3f4a6c"
#define KEY "renders/" PROJECT "/" RENDER "/invoice.pdf"

static char tmpdir[256];
static char datadir[300];

static void make_tmp(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/craftkit-storage-test.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    snprintf(datadir, sizeof datadir, "%s/data", tmpdir);
}

static void remove_tmp(void)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

static config_t local_cfg(const char *secret)
{
    config_t c = {0};
    c.storage = STORAGE_LOCAL;
    c.data_dir = datadir;
    c.public_url = "http://files.example";
    c.signing_secret = (char *)secret;
    c.download_ttl = 3600;
    return c;
}

static storage_t *new_local(const char *secret)
{
    config_t c = local_cfg(secret);
    char err[256] = "";
    storage_t *s = storage_new(&c, err, sizeof err);
    ck_assert_msg(s != NULL, "storage_new: %s", err);
    return s;
}

/* Counts directory entries whose name starts with '.' (temp files left behind). */
static int hidden_files(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (e->d_name[0] == '.' && strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

/* ---- keys, names ---- */

START_TEST(key_validation)
{
    static const char *good[] = {"a", "renders/p/r/invoice.pdf", "a-b_c.d/e", "x/y..z"};
    static const char *bad[] = {
        "",          "/etc/passwd",     "a/",  "a//b", "../x",  "a/../b",      "a/./b", "./a", "..", ".",
        "a/.hidden", ".signing-secret", "a b", "a\\b", "a/b\n", "caf\xc3\xa9", "a%2fb", "a:b"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        ck_assert_msg(storage_key_valid(good[i]), "should accept %s", good[i]);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(!storage_key_valid(bad[i]), "should reject %s", bad[i]);
    ck_assert(!storage_key_valid(NULL));
    char longkey[LOCALFS_KEY_MAX + 2];
    memset(longkey, 'a', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = '\0';
    for (size_t i = 100; i < sizeof longkey - 1; i += 100)
        longkey[i] = '/';
    ck_assert(!storage_key_valid(longkey));
    longkey[LOCALFS_KEY_MAX] = '\0';
    ck_assert(storage_key_valid(longkey));
    char seg[LOCALFS_SEGMENT_MAX + 2];
    memset(seg, 'b', sizeof seg - 1);
    seg[sizeof seg - 1] = '\0';
    ck_assert(!storage_key_valid(seg));
}
END_TEST

static const struct {
    const char *in;
    const char *out;
} names[] = {
    {"invoice-2026-005.pdf", "invoice-2026-005.pdf"},
    {"invoice-2026-005", "invoice-2026-005.pdf"},
    {"Invoice.PDF", "Invoice.PDF"},
    {"my invoice (final).pdf", "my_invoice_final_.pdf"},
    {"../../etc/passwd", "etc_passwd.pdf"},
    {"..", RENDER ".pdf"},
    {".", RENDER ".pdf"},
    {"", RENDER ".pdf"},
    {"...", RENDER ".pdf"},
    {"///", RENDER ".pdf"},
    {".pdf", "pdf.pdf"},
    {".hidden", "hidden.pdf"},
    {"report.", "report.pdf"},
    {"Facture \xc3\xa9t\xc3\xa9 2026.pdf", "Facture_t_2026.pdf"},
    {"a\r\nContent-Type: text/html", "a_Content-Type_text_html.pdf"},
    {"quote\"name\".pdf", "quote_name_.pdf"},
    {"C:\\Users\\x.pdf", "C_Users_x.pdf"},
    {"na\x01me", "na_me.pdf"},
};

START_TEST(sanitize_filename_table)
{
    char out[STORAGE_FILENAME_MAX + 1];
    storage_sanitize_filename(names[_i].in, RENDER, out, sizeof out);
    ck_assert_str_eq(out, names[_i].out);
}
END_TEST

START_TEST(sanitize_filename_limits)
{
    char out[STORAGE_FILENAME_MAX + 1], in[400];
    storage_sanitize_filename(NULL, RENDER, out, sizeof out);
    ck_assert_str_eq(out, RENDER ".pdf");
    storage_sanitize_filename(NULL, NULL, out, sizeof out);
    ck_assert_str_eq(out, "download.pdf");
    storage_sanitize_filename("..", "not-a-uuid/../x", out, sizeof out);
    ck_assert_str_eq(out, "download.pdf");
    memset(in, 'x', 300);
    in[300] = '\0';
    storage_sanitize_filename(in, RENDER, out, sizeof out);
    ck_assert_int_eq(strlen(out), STORAGE_FILENAME_MAX);
    ck_assert_str_eq(out + STORAGE_FILENAME_MAX - 4, ".pdf");
    memcpy(in + 296, ".pdf", 5);
    storage_sanitize_filename(in, RENDER, out, sizeof out);
    ck_assert_int_eq(strlen(out), STORAGE_FILENAME_MAX);
    /* Every result is a valid key segment and idempotent. */
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char again[STORAGE_FILENAME_MAX + 1];
        storage_sanitize_filename(names[i].in, RENDER, out, sizeof out);
        ck_assert(storage_key_valid(out));
        storage_sanitize_filename(out, RENDER, again, sizeof again);
        ck_assert_str_eq(out, again);
    }
}
END_TEST

static const struct {
    const char *in, *out;
} display_names[] = {
    {"Facture n\xc2\xb0"
     "12 \xe2\x80\x93 M\xc3\xbcller.pdf",
     "Facture n\xc2\xb0"
     "12 \xe2\x80\x93 M\xc3\xbcller.pdf"},
    {"March invoice", "March invoice.pdf"},
    {"chart.png", "chart.png"},
    {"report.v2 final", "report.v2 final.pdf"},
    {"../../etc/passwd", "etc_passwd.pdf"},
    {"a\r\nb", "a__b.pdf"},
    {"C:\\x.pdf", "C:_x.pdf"},
    {"  .hidden", "hidden.pdf"},
    {"report. ", "report.pdf"},
    {"..", RENDER ".pdf"},
    {"bad\xff", "bad_.pdf"},
};

START_TEST(display_filename_table)
{
    char out[STORAGE_DISPLAY_FILENAME_MAX + 1], again[STORAGE_DISPLAY_FILENAME_MAX + 1];
    storage_display_filename(display_names[_i].in, RENDER, out, sizeof out);
    ck_assert_str_eq(out, display_names[_i].out);
    storage_display_filename(out, RENDER, again, sizeof again);
    ck_assert_str_eq(out, again);
}
END_TEST

START_TEST(display_filename_limits)
{
    /* 120 characters, not bytes: 130 two-byte characters keep 116 + ".pdf". */
    char in[400] = "", out[STORAGE_DISPLAY_FILENAME_MAX + 1];
    for (int i = 0; i < 130; i++)
        strcat(in, "\xc3\xa9");
    storage_display_filename(in, RENDER, out, sizeof out);
    ck_assert_int_eq(strlen(out), 116 * 2 + 4);
    ck_assert_str_eq(out + 232, ".pdf");
    ck_assert_ptr_nonnull(storage_filename_problem(in, 260));
    in[240] = '\0';
    ck_assert_ptr_null(storage_filename_problem(in, 240));
    ck_assert_ptr_nonnull(storage_filename_problem("a\0b", 3));
    ck_assert_ptr_nonnull(storage_filename_problem("", 0));
}
END_TEST

START_TEST(render_key_rules)
{
    char key[STORAGE_KEY_MAX];
    ck_assert_int_eq(storage_render_key(PROJECT, RENDER, "invoice.pdf", key, sizeof key), 0);
    ck_assert_str_eq(key, KEY);
    ck_assert_int_eq(
        storage_render_key("0190A6F2-3C4D-7E5F-8A9B-0C1D2E3F4A5B", RENDER, "Invoice.pdf", key, sizeof key),
        0);
    ck_assert_str_eq(key, "renders/" PROJECT "/" RENDER "/Invoice.pdf");
    ck_assert_int_eq(storage_render_key("..", RENDER, "invoice.pdf", key, sizeof key), -1);
    ck_assert_int_eq(storage_render_key(PROJECT, "x/../y", "invoice.pdf", key, sizeof key), -1);
    ck_assert_int_eq(storage_render_key(PROJECT, RENDER, "../invoice.pdf", key, sizeof key), -1);
    ck_assert_int_eq(storage_render_key(PROJECT, RENDER, "invoice", key, sizeof key), -1);
    ck_assert_int_eq(storage_render_key(PROJECT, RENDER, "", key, sizeof key), -1);
    ck_assert_int_eq(storage_render_key(PROJECT, RENDER, "invoice.pdf", key, 20), -1);
}
END_TEST

/* ---- backend ---- */

START_TEST(put_get_delete_roundtrip)
{
    make_tmp();
    storage_t *s = new_local("a-configured-secret-0123456789");
    const char *pdf = "%PDF-1.7 fake bytes";
    char sha[65], want[65], err[256] = "";
    ck_assert_int_eq(storage_put(s, KEY, pdf, strlen(pdf), "application/pdf", sha, err, sizeof err), 0);
    crypto_sha256_hex(pdf, strlen(pdf), want);
    ck_assert_str_eq(sha, want);

    buf_t b;
    buf_init(&b, 1 << 20);
    ck_assert_int_eq(storage_get(s, KEY, &b, err, sizeof err), 0);
    ck_assert_str_eq(buf_cstr(&b), pdf);

    /* Overwrite replaces the whole file; nothing else is left in the directory. */
    ck_assert_int_eq(storage_put(s, KEY, "v2", 2, "application/pdf", sha, err, sizeof err), 0);
    buf_reset(&b);
    ck_assert_int_eq(storage_get(s, KEY, &b, err, sizeof err), 0);
    ck_assert_str_eq(buf_cstr(&b), "v2");
    char dir[600];
    snprintf(dir, sizeof dir, "%s/renders/%s/%s", datadir, PROJECT, RENDER);
    ck_assert_int_eq(hidden_files(dir), 0);

    /* The output buffer's cap is honoured. */
    buf_t small;
    buf_init(&small, 1);
    ck_assert_int_eq(storage_get(s, KEY, &small, err, sizeof err), -1);
    buf_free(&small);

    ck_assert_int_eq(storage_delete(s, KEY, err, sizeof err), 0);
    ck_assert_int_eq(storage_delete(s, KEY, err, sizeof err), 0); /* idempotent */
    buf_reset(&b);
    ck_assert_int_eq(storage_get(s, KEY, &b, err, sizeof err), STORAGE_NOT_FOUND);
    ck_assert_int_eq(storage_get(s, "renders/nope/x.pdf", &b, err, sizeof err), STORAGE_NOT_FOUND);
    ck_assert_int_eq(storage_put(s, "../escape.pdf", "x", 1, NULL, sha, err, sizeof err), -1);
    ck_assert_str_eq(err, "invalid storage key");
    ck_assert_int_eq(storage_health(s, err, sizeof err), 0);
    ck_assert_int_eq(hidden_files(datadir), 0); /* health leaves nothing behind */
    buf_free(&b);
    storage_free(s);
    remove_tmp();
}
END_TEST

/* Open file descriptors of this process. */
static int open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    ck_assert_ptr_nonnull(d);
    int n = 0;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

/* Deferred puts (a worker's group of batch items) skip their fsyncs and share one sync of the
 * file system, storage_sync_run: readable at once, one fd held while something is pending,
 * none after; a put that fails owes nothing. */
START_TEST(deferred_puts_share_one_sync)
{
    make_tmp();
    storage_t *s = new_local("a-configured-secret-0123456789");
    storage_sync_t p = {0};
    char sha[65], want[65], err[256] = "";
    int fds = open_fds();
    ck_assert_int_eq(storage_put_deferred(s, KEY, "one", 3, "application/pdf", sha, &p, err, sizeof err), 0);
    crypto_sha256_hex("one", 3, want);
    ck_assert_str_eq(sha, want);
    ck_assert_int_eq(p.n, 1);
    ck_assert_int_eq(open_fds(), fds + 1);
    int fd = p.fd;
    ck_assert_int_eq(
        storage_put_deferred(s, "renders/" PROJECT "/r2/a.pdf", "two", 3, NULL, sha, &p, err, sizeof err), 0);
    ck_assert_int_eq(storage_put_deferred(s, KEY, "one", 3, NULL, sha, &p, err, sizeof err), 0);
    ck_assert_int_eq(storage_put_deferred(s, "renders/p2/r1/a.pdf", "x", 1, NULL, sha, &p, err, sizeof err),
                     0);
    ck_assert_int_eq(p.n, 4);
    ck_assert_int_eq(p.fd, fd);
    ck_assert_int_eq(open_fds(), fds + 1);
    buf_t b;
    buf_init(&b, 1024);
    ck_assert_int_eq(storage_get(s, "renders/" PROJECT "/r2/a.pdf", &b, err, sizeof err), 0);
    ck_assert_str_eq(buf_cstr(&b), "two");
    buf_free(&b);
    ck_assert_int_eq(storage_put_deferred(s, "../x/y.pdf", "x", 1, NULL, sha, &p, err, sizeof err), -1);
    ck_assert_str_eq(err, "invalid storage key");
    /* a write that fails half-way (the file size limit standing in for a full disk) */
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit old, rl;
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
    rl = (struct rlimit){4096, old.rlim_max};
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
    static char big[64 * 1024];
    ck_assert_int_eq(storage_put_deferred(s, KEY, big, sizeof big, NULL, sha, &p, err, sizeof err), -1);
    ck_assert_int_eq(p.n, 4);
    ck_assert_int_eq(storage_sync_run(s, &p, err, sizeof err), 0);
    ck_assert_int_eq(p.n, 0);
    ck_assert_int_eq(open_fds(), fds);
    ck_assert_int_eq(fcntl(fd, F_GETFD), -1);
    /* the first put of a group failing: nothing pending, no fd kept */
    ck_assert_int_eq(storage_put_deferred(s, KEY, big, sizeof big, NULL, sha, &p, err, sizeof err), -1);
    ck_assert_int_eq(p.n, 0);
    ck_assert_int_eq(open_fds(), fds);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
    ck_assert_int_eq(storage_sync_run(s, &p, err, sizeof err), 0); /* empty: nothing to do */
    buf_init(&b, 1024);
    ck_assert_int_eq(storage_get(s, KEY, &b, err, sizeof err), 0);
    ck_assert_str_eq(buf_cstr(&b), "one");
    buf_free(&b);
    char dir[600];
    snprintf(dir, sizeof dir, "%s/renders/%s/%s", datadir, PROJECT, RENDER);
    ck_assert_int_eq(hidden_files(dir), 0);
    storage_free(s);
    remove_tmp();
}
END_TEST

/* A deferred put on another file system than the group's (a mount inside the data directory)
 * is synced on its own at once; the group's pending sync stays as it was. */
START_TEST(deferred_put_elsewhere_is_synced_alone)
{
    make_tmp();
    storage_t *s = new_local("a-configured-secret-0123456789");
    char other[400], err[256] = "", sha[65];
    snprintf(other, sizeof other, "%s/renders/other", datadir);
    ck_assert_int_eq(localfs_mkdirs(other, err, sizeof err), 0);
    if (unshare(CLONE_NEWNS) != 0 || mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("tmpfs", other, "tmpfs", 0, "size=64k") != 0) {
        fprintf(stderr, "deferred_put_elsewhere_is_synced_alone: skipped (a private tmpfs needs root)\n");
        storage_free(s);
        remove_tmp();
        return;
    }
    storage_sync_t p = {0};
    ck_assert_int_eq(storage_put_deferred(s, KEY, "one", 3, NULL, sha, &p, err, sizeof err), 0);
    int fds = open_fds();
    dev_t dev = p.dev;
    ck_assert_int_eq(
        storage_put_deferred(s, "renders/other/r1/a.pdf", "x", 1, NULL, sha, &p, err, sizeof err), 0);
    ck_assert_int_eq(p.n, 1);
    ck_assert_int_eq(p.dev, dev);
    ck_assert_int_eq(open_fds(), fds);
    buf_t b;
    buf_init(&b, 1024);
    ck_assert_int_eq(storage_get(s, "renders/other/r1/a.pdf", &b, err, sizeof err), 0);
    ck_assert_str_eq(buf_cstr(&b), "x");
    buf_free(&b);
    ck_assert_int_eq(storage_sync_run(s, &p, err, sizeof err), 0);
    /* a group that starts there syncs that file system */
    ck_assert_int_eq(
        storage_put_deferred(s, "renders/other/r2/a.pdf", "y", 1, NULL, sha, &p, err, sizeof err), 0);
    ck_assert_int_ne(p.dev, dev);
    ck_assert_int_eq(storage_sync_run(s, &p, err, sizeof err), 0);
    storage_free(s);
    ck_assert_int_eq(umount(other), 0);
    remove_tmp();
}
END_TEST

/* A write that fails half-way (file size limit standing in for a full disk) reports an error,
 * leaves the previous object intact and no temp file behind. */
START_TEST(failed_write_leaves_old_file)
{
    make_tmp();
    storage_t *s = new_local("a-configured-secret-0123456789");
    char sha[65], err[256] = "";
    ck_assert_int_eq(storage_put(s, KEY, "old", 3, "application/pdf", sha, err, sizeof err), 0);
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit rl = {4096, 4096};
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
    static char big[64 * 1024];
    memset(big, 'x', sizeof big);
    ck_assert_int_eq(storage_put(s, KEY, big, sizeof big, "application/pdf", sha, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "writing") != NULL, "err: %s", err);
    buf_t b;
    buf_init(&b, 1 << 20);
    ck_assert_int_eq(storage_get(s, KEY, &b, err, sizeof err), 0);
    ck_assert_str_eq(buf_cstr(&b), "old");
    char dir[600];
    snprintf(dir, sizeof dir, "%s/renders/%s/%s", datadir, PROJECT, RENDER);
    ck_assert_int_eq(hidden_files(dir), 0);
    buf_free(&b);
    storage_free(s);
    remove_tmp();
}
END_TEST

/* A real full disk: a 64 KiB tmpfs in a private mount namespace (root only; skipped else). */
START_TEST(disk_full_is_clean)
{
    make_tmp();
    if (unshare(CLONE_NEWNS) != 0 || mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("tmpfs", tmpdir, "tmpfs", 0, "size=64k") != 0) {
        fprintf(stderr, "disk_full_is_clean: skipped (a private tmpfs needs root)\n");
        remove_tmp();
        return;
    }
    storage_t *s = new_local("a-configured-secret-0123456789");
    char sha[65], err[256] = "";
    ck_assert_int_eq(storage_put(s, KEY, "old", 3, "application/pdf", sha, err, sizeof err), 0);
    static char big[128 * 1024];
    memset(big, 'x', sizeof big);
    ck_assert_int_eq(storage_put(s, KEY, big, sizeof big, "application/pdf", sha, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "disk full") != NULL, "err: %s", err);
    buf_t b;
    buf_init(&b, 1 << 20);
    ck_assert_int_eq(storage_get(s, KEY, &b, err, sizeof err), 0);
    ck_assert_str_eq(buf_cstr(&b), "old");
    char dir[600];
    snprintf(dir, sizeof dir, "%s/renders/%s/%s", datadir, PROJECT, RENDER);
    ck_assert_int_eq(hidden_files(dir), 0);
    /* Space freed: writes work again. */
    ck_assert_int_eq(storage_put(s, KEY, "new", 3, "application/pdf", sha, err, sizeof err), 0);
    buf_free(&b);
    storage_free(s);
    ck_assert_int_eq(umount(tmpdir), 0);
    remove_tmp();
}
END_TEST

START_TEST(symlinks_never_followed)
{
    make_tmp();
    storage_t *s = new_local("a-configured-secret-0123456789");
    char outside[400], link[700], sha[65], err[256] = "";
    snprintf(outside, sizeof outside, "%s/outside", tmpdir);
    ck_assert_int_eq(mkdir(outside, 0755), 0);
    /* A directory symlink inside the tree pointing outside it. */
    char renders[400];
    snprintf(renders, sizeof renders, "%s/renders", datadir);
    ck_assert_int_eq(mkdir(renders, 0755), 0);
    snprintf(link, sizeof link, "%s/renders/%s", datadir, PROJECT);
    ck_assert_int_eq(symlink(outside, link), 0);
    ck_assert_int_eq(storage_put(s, KEY, "x", 1, NULL, sha, err, sizeof err), -1);
    ck_assert_int_eq(hidden_files(outside), 0);
    DIR *d = opendir(outside);
    int entries = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        entries++;
    closedir(d);
    ck_assert_int_eq(entries, 2); /* only . and .. */

    /* A file symlink at the leaf pointing at a secret elsewhere. */
    char secret_file[500];
    snprintf(secret_file, sizeof secret_file, "%s/secret.txt", outside);
    FILE *f = fopen(secret_file, "w");
    fputs("top secret", f);
    fclose(f);
    unlink(link);
    snprintf(link, sizeof link, "%s/renders/%s/%s", datadir, PROJECT, RENDER);
    char mid[600];
    snprintf(mid, sizeof mid, "%s/renders/%s", datadir, PROJECT);
    ck_assert_int_eq(mkdir(mid, 0755), 0);
    ck_assert_int_eq(mkdir(link, 0755), 0);
    strcat(link, "/invoice.pdf");
    ck_assert_int_eq(symlink(secret_file, link), 0);
    int fd;
    struct stat st;
    ck_assert_int_eq(storage_local_open(s, KEY, &fd, &st, err, sizeof err), -1);
    ck_assert_int_eq(fd, -1);
    buf_t b;
    buf_init(&b, 1024);
    ck_assert_int_eq(storage_get(s, KEY, &b, err, sizeof err), -1);
    ck_assert_int_eq(b.len, 0);
    buf_free(&b);

    /* Path tricks never reach the file system. */
    static const char *tricks[] = {"../outside/secret.txt", "/etc/passwd", "renders/../../x", "renders/./x",
                                   ".signing-secret"};
    for (size_t i = 0; i < sizeof tricks / sizeof tricks[0]; i++) {
        ck_assert_int_eq(storage_local_open(s, tricks[i], &fd, &st, err, sizeof err), STORAGE_NOT_FOUND);
        ck_assert_int_eq(fd, -1);
    }
    storage_free(s);
    remove_tmp();
}
END_TEST

START_TEST(open_for_streaming)
{
    make_tmp();
    storage_t *s = new_local("a-configured-secret-0123456789");
    char sha[65], err[256] = "";
    ck_assert_int_eq(storage_put(s, KEY, "0123456789", 10, NULL, sha, err, sizeof err), 0);
    int fd;
    struct stat st;
    ck_assert_int_eq(storage_local_open(s, KEY, &fd, &st, err, sizeof err), 0);
    ck_assert_int_eq(st.st_size, 10);
    char got[11] = "";
    ck_assert_int_eq(pread(fd, got, 4, 3), 4);
    ck_assert_str_eq(got, "3456");
    close(fd);
    /* A directory is not a file. */
    ck_assert_int_eq(storage_local_open(s, "renders", &fd, &st, err, sizeof err), -1);
    storage_free(s);
    remove_tmp();
}
END_TEST

/* ---- signing secret ---- */

static void read_url_parts(const char *url, char *key, char *expires, char *sig)
{
    const char *k = strstr(url, "/files/") + 7, *q = strchr(url, '?');
    memcpy(key, k, (size_t)(q - k));
    key[q - k] = '\0';
    ck_assert_int_eq(sscanf(q, "?expires=%20[0-9]&signature=%64[0-9a-f]", expires, sig), 2);
}

START_TEST(secret_generated_persisted_and_reused)
{
    make_tmp();
    storage_t *a = new_local(NULL);
    char path[400];
    snprintf(path, sizeof path, "%s/%s", datadir, LOCALFS_SECRET_FILE);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    ck_assert_int_eq(st.st_size, LOCALFS_SECRET_LEN + 1);

    char *u1, *u2, err[256];
    ck_assert_int_eq(storage_download_url_at(a, KEY, NULL, 60, 1000, &u1, err, sizeof err), 0);
    storage_t *b = new_local(NULL); /* a restart: same secret, same links */
    ck_assert_int_eq(storage_download_url_at(b, KEY, NULL, 60, 1000, &u2, err, sizeof err), 0);
    ck_assert_str_eq(u1, u2);
    char key[600], exp[32], sig[80];
    read_url_parts(u1, key, exp, sig);
    ck_assert_int_eq(storage_local_verify(b, key, NULL, exp, sig, 1000), DOWNLOAD_LINK_OK);
    /* A configured secret wins over the file. */
    storage_t *c = new_local("another-secret-0123456789abcdef");
    ck_assert_int_eq(storage_local_verify(c, key, NULL, exp, sig, 1000), DOWNLOAD_LINK_BAD_SIGNATURE);
    free(u1);
    free(u2);
    storage_free(a);
    storage_free(b);
    storage_free(c);
    remove_tmp();
}
END_TEST

START_TEST(secret_race_gives_one_secret)
{
    make_tmp();
    char err[256];
    ck_assert_int_eq(localfs_mkdirs(datadir, err, sizeof err), 0);
    enum { N = 6 };
    int pipes[N][2];
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(pipe(pipes[i]), 0);
        if (fork() == 0) {
            char *secret = NULL;
            if (localfs_load_secret(datadir, &secret, err, sizeof err) != 0)
                _exit(1);
            ssize_t w = write(pipes[i][1], secret, strlen(secret));
            _exit(w > 0 ? 0 : 1);
        }
        close(pipes[i][1]);
    }
    char first[LOCALFS_SECRET_MAX] = "";
    for (int i = 0; i < N; i++) {
        char got[LOCALFS_SECRET_MAX] = "";
        ssize_t r = read(pipes[i][0], got, sizeof got - 1);
        ck_assert(r > 0);
        close(pipes[i][0]);
        if (i == 0)
            strcpy(first, got);
        ck_assert_str_eq(got, first);
    }
    for (int i = 0; i < N; i++) {
        int st;
        wait(&st);
        ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    ck_assert_int_eq(hidden_files(datadir), 1); /* only .signing-secret */
    remove_tmp();
}
END_TEST

START_TEST(bad_secret_file_is_an_error)
{
    make_tmp();
    char err[256], path[400];
    ck_assert_int_eq(localfs_mkdirs(datadir, err, sizeof err), 0);
    snprintf(path, sizeof path, "%s/%s", datadir, LOCALFS_SECRET_FILE);
    FILE *f = fopen(path, "w");
    fputs("short\n", f);
    fclose(f);
    config_t c = local_cfg(NULL);
    ck_assert_ptr_null(storage_new(&c, err, sizeof err));
    ck_assert_msg(strstr(err, LOCALFS_SECRET_FILE) != NULL, "err: %s", err);
    remove_tmp();
}
END_TEST

/* ---- signed links ---- */

#define SECRET "link-secret-0123456789abcdef"

START_TEST(link_verify)
{
    char *url;
    ck_assert_int_eq(download_url("https://pdf.example.com", SECRET, KEY, NULL, 2000, &url), 0);
    char key[600], exp[32], sig[80];
    read_url_parts(url, key, exp, sig);
    ck_assert(!strncmp(url, "https://pdf.example.com/files/" KEY "?expires=2000&signature=", 30));
    ck_assert_str_eq(key, KEY);
    ck_assert_str_eq(exp, "2000");
    /* Exactly what is signed: HMAC-SHA256(secret, key + "\n" + expires). */
    char want[65];
    crypto_hmac_sha256_hex(SECRET, strlen(SECRET), KEY "\n2000", strlen(KEY "\n2000"), want);
    ck_assert_str_eq(sig, want);

    ck_assert_int_eq(download_verify(SECRET, KEY, NULL, "2000", sig, 1999), DOWNLOAD_LINK_OK);
    ck_assert_int_eq(download_verify(SECRET, KEY, NULL, "2000", sig, 2000), DOWNLOAD_LINK_OK);
    ck_assert_int_eq(download_verify(SECRET, KEY, NULL, "2000", sig, 2001), DOWNLOAD_LINK_EXPIRED);
    /* Tampering: another file, a longer expiry, another secret, one flipped hex digit. */
    ck_assert_int_eq(
        download_verify(SECRET, "renders/" PROJECT "/" RENDER "/other.pdf", NULL, "2000", sig, 1000),
        DOWNLOAD_LINK_BAD_SIGNATURE);
    ck_assert_int_eq(download_verify(SECRET, KEY, NULL, "9999999999", sig, 1000),
                     DOWNLOAD_LINK_BAD_SIGNATURE);
    ck_assert_int_eq(download_verify("other-secret-0123456789", KEY, NULL, "2000", sig, 1000),
                     DOWNLOAD_LINK_BAD_SIGNATURE);
    char flipped[80];
    strcpy(flipped, sig);
    flipped[10] = flipped[10] == '0' ? '1' : '0';
    ck_assert_int_eq(download_verify(SECRET, KEY, NULL, "2000", flipped, 1000), DOWNLOAD_LINK_BAD_SIGNATURE);
    /* Tampered AND expired still says bad signature (the signature is checked first). */
    ck_assert_int_eq(download_verify(SECRET, KEY, NULL, "2000", flipped, 5000), DOWNLOAD_LINK_BAD_SIGNATURE);
    /* Uppercase hex is the same signature. */
    char upper[80];
    for (size_t i = 0; i <= strlen(sig); i++)
        upper[i] = (sig[i] >= 'a' && sig[i] <= 'f') ? (char)(sig[i] - 32) : sig[i];
    ck_assert_int_eq(download_verify(SECRET, KEY, NULL, "2000", upper, 1000), DOWNLOAD_LINK_OK);
    /* Malformed values. */
    ck_assert_int_eq(download_verify(SECRET, KEY, NULL, NULL, sig, 1000), DOWNLOAD_LINK_MALFORMED);
    ck_assert_int_eq(download_verify(SECRET, KEY, NULL, "2000", NULL, 1000), DOWNLOAD_LINK_MALFORMED);
    ck_assert_int_eq(download_verify(SECRET, KEY, NULL, "02000", sig, 1000), DOWNLOAD_LINK_MALFORMED);
    ck_assert_int_eq(download_verify(SECRET, KEY, NULL, "+2000", sig, 1000), DOWNLOAD_LINK_MALFORMED);
    ck_assert_int_eq(download_verify(SECRET, KEY, NULL, "2000 ", sig, 1000), DOWNLOAD_LINK_MALFORMED);
    ck_assert_int_eq(download_verify(SECRET, KEY, NULL, "1234567890123", sig, 1000), DOWNLOAD_LINK_MALFORMED);
    ck_assert_int_eq(download_verify(SECRET, KEY, NULL, "2000", "abc", 1000), DOWNLOAD_LINK_MALFORMED);
    ck_assert_int_eq(download_verify(SECRET, KEY, NULL, "2000", "zz", 1000), DOWNLOAD_LINK_MALFORMED);
    ck_assert_int_eq(download_verify(SECRET, "../" KEY, NULL, "2000", sig, 1000), DOWNLOAD_LINK_MALFORMED);
    ck_assert_str_eq(download_link_reason(DOWNLOAD_LINK_EXPIRED), "link expired");
    free(url);
    ck_assert_int_eq(download_url("https://x", SECRET, "../etc/passwd", NULL, 2000, &url), -1);
    ck_assert_ptr_null(url);
}
END_TEST

START_TEST(storage_link_uses_ttl_and_public_url)
{
    make_tmp();
    storage_t *s = new_local(SECRET);
    char *url, err[256];
    ck_assert_int_eq(storage_download_url_at(s, KEY, "invoice.pdf", 0, 1000, &url, err, sizeof err), 0);
    ck_assert(!strncmp(url, "http://files.example/files/" KEY "?expires=4600&signature=", 20));
    char key[600], exp[32], sig[80];
    read_url_parts(url, key, exp, sig);
    ck_assert_str_eq(exp, "4600");        /* default TTL from config: 3600 */
    ck_assert(!strstr(url, "filename=")); /* the key's own name needs no parameter */
    ck_assert_int_eq(storage_local_verify(s, key, NULL, exp, sig, 4600), DOWNLOAD_LINK_OK);
    ck_assert_int_eq(storage_local_verify(s, key, NULL, exp, sig, 4601), DOWNLOAD_LINK_EXPIRED);
    free(url);
    ck_assert_int_eq(storage_download_url_at(s, "bad/../key", NULL, 10, 1000, &url, err, sizeof err), -1);
    storage_free(s);
    remove_tmp();
}
END_TEST

/* ---- Range ---- */

static const struct {
    const char *header;
    uint64_t size;
    download_range_t want;
    uint64_t first, last;
} ranges[] = {
    {NULL, 100, DOWNLOAD_RANGE_NONE, 0, 0},
    {"bytes=0-9", 100, DOWNLOAD_RANGE_PARTIAL, 0, 9},
    {"bytes=10-", 100, DOWNLOAD_RANGE_PARTIAL, 10, 99},
    {"bytes=-10", 100, DOWNLOAD_RANGE_PARTIAL, 90, 99},
    {"bytes=-1000", 100, DOWNLOAD_RANGE_PARTIAL, 0, 99},
    {"bytes=0-1000", 100, DOWNLOAD_RANGE_PARTIAL, 0, 99},
    {"bytes=99-99", 100, DOWNLOAD_RANGE_PARTIAL, 99, 99},
    {"Bytes = 5-6 ", 100, DOWNLOAD_RANGE_PARTIAL, 5, 6},
    {"bytes=0-99999999999999999999999", 100, DOWNLOAD_RANGE_PARTIAL, 0, 99},
    {"bytes=100-", 100, DOWNLOAD_RANGE_UNSATISFIABLE, 0, 0},
    {"bytes=100-200", 100, DOWNLOAD_RANGE_UNSATISFIABLE, 0, 0},
    {"bytes=99999999999999999999999-", 100, DOWNLOAD_RANGE_UNSATISFIABLE, 0, 0},
    {"bytes=-0", 100, DOWNLOAD_RANGE_UNSATISFIABLE, 0, 0},
    {"bytes=0-", 0, DOWNLOAD_RANGE_UNSATISFIABLE, 0, 0},
    {"bytes=-5", 0, DOWNLOAD_RANGE_UNSATISFIABLE, 0, 0},
    {"bytes=9-0", 100, DOWNLOAD_RANGE_NONE, 0, 0},
    {"bytes=0-1,5-6", 100, DOWNLOAD_RANGE_NONE, 0, 0},
    {"bytes=", 100, DOWNLOAD_RANGE_NONE, 0, 0},
    {"bytes=-", 100, DOWNLOAD_RANGE_NONE, 0, 0},
    {"bytes=a-b", 100, DOWNLOAD_RANGE_NONE, 0, 0},
    {"bytes=1-2x", 100, DOWNLOAD_RANGE_NONE, 0, 0},
    {"bytes=--1", 100, DOWNLOAD_RANGE_NONE, 0, 0},
    {"items=0-1", 100, DOWNLOAD_RANGE_NONE, 0, 0},
    {"bytes 0-1", 100, DOWNLOAD_RANGE_NONE, 0, 0},
};

START_TEST(range_table)
{
    uint64_t first = 12345, last = 12345;
    download_range_t got = download_parse_range(ranges[_i].header, ranges[_i].size, &first, &last);
    ck_assert_msg(got == ranges[_i].want, "%s: got %d", ranges[_i].header, got);
    if (got == DOWNLOAD_RANGE_PARTIAL) {
        ck_assert_uint_eq(first, ranges[_i].first);
        ck_assert_uint_eq(last, ranges[_i].last);
    }
}
END_TEST

/* ---- ETag, headers ---- */

START_TEST(etag_and_conditionals)
{
    struct stat st = {0};
    st.st_ino = 0x1234;
    st.st_size = 100;
    st.st_mtim.tv_sec = 1;
    st.st_mtim.tv_nsec = 5;
    char etag[DOWNLOAD_ETAG_MAX];
    download_etag(&st, etag);
    ck_assert_str_eq(etag, "\"1234-64-3b9aca05\"");
    st.st_mtim.tv_nsec = 6;
    char other[DOWNLOAD_ETAG_MAX];
    download_etag(&st, other);
    ck_assert_str_ne(etag, other);

    ck_assert(download_etag_match("\"1234-64-3b9aca05\"", etag, true));
    ck_assert(download_etag_match("\"x\", W/\"1234-64-3b9aca05\"", etag, true));
    ck_assert(!download_etag_match("W/\"1234-64-3b9aca05\"", etag, false));
    ck_assert(download_etag_match("\"1234-64-3b9aca05\"", etag, false));
    ck_assert(download_etag_match("*", etag, true));
    ck_assert(!download_etag_match("\"nope\"", etag, true));
    ck_assert(!download_etag_match("Wed, 21 Oct 2015 07:28:00 GMT", etag, false));
    ck_assert(!download_etag_match("\"unterminated", etag, true));
    ck_assert(!download_etag_match(NULL, etag, true));
    ck_assert(!download_etag_match("", etag, true));
}
END_TEST

START_TEST(named_link)
{
    char *url;
    const char *name = "M\xc3\xbcller 1.pdf";
    ck_assert_int_eq(download_url("https://x", SECRET, KEY, name, 2000, &url), 0);
    ck_assert(strstr(url, "&filename=M%C3%BCller%201.pdf"));
    char key[600], exp[32], sig[80];
    read_url_parts(url, key, exp, sig);
    ck_assert_int_eq(download_verify(SECRET, KEY, name, "2000", sig, 1000), DOWNLOAD_LINK_OK);
    ck_assert_int_eq(download_verify(SECRET, KEY, "other.pdf", "2000", sig, 1000),
                     DOWNLOAD_LINK_BAD_SIGNATURE);
    ck_assert_int_eq(download_verify(SECRET, KEY, NULL, "2000", sig, 1000), DOWNLOAD_LINK_BAD_SIGNATURE);
    free(url);
}
END_TEST

START_TEST(disposition_and_type)
{
    char cd[DOWNLOAD_DISPOSITION_MAX];
    download_content_disposition("invoice-1.pdf", cd, sizeof cd);
    ck_assert_str_eq(cd, "attachment; filename=\"invoice-1.pdf\"; filename*=UTF-8''invoice-1.pdf");
    download_content_disposition("a\"b\r\n.pdf", cd, sizeof cd);
    ck_assert_str_eq(cd, "attachment; filename=\"a_b__.pdf\"; filename*=UTF-8''a%22b%0D%0A.pdf");
    download_content_disposition(NULL, cd, sizeof cd);
    ck_assert_str_eq(cd, "attachment; filename=\"download\"; filename*=UTF-8''download");
    /* RFC 6266: an ASCII fallback (one '_' per character) and the UTF-8 name. */
    download_content_disposition("Facture n\xc2\xb0"
                                 "12 \xe2\x80\x93 M\xc3\xbcller.pdf",
                                 cd, sizeof cd);
    ck_assert_str_eq(cd, "attachment; filename=\"Facture n_12 _ M_ller.pdf\"; "
                         "filename*=UTF-8''Facture%20n%C2%B012%20%E2%80%93%20M%C3%BCller.pdf");
    ck_assert_str_eq(download_content_type(KEY), "application/pdf");
    ck_assert_str_eq(download_content_type("a/b.PDF"), "application/pdf");
    ck_assert_str_eq(download_content_type("a/b.png"), "image/png");
    ck_assert_str_eq(download_content_type("a.b/c"), "application/octet-stream");
    ck_assert_str_eq(download_content_type("noext"), "application/octet-stream");
}
END_TEST

START_TEST(health_fails_without_data_dir)
{
    make_tmp();
    storage_t *s = new_local(SECRET);
    char err[256] = "";
    ck_assert_int_eq(storage_health(s, err, sizeof err), 0);
    remove_tmp();
    ck_assert_int_eq(storage_health(s, err, sizeof err), -1);
    ck_assert_msg(strstr(err, datadir) != NULL, "err: %s", err);
    storage_free(s);
}
END_TEST

/* Writes that create many directory levels, or share some with an earlier write; a write
 * refused below a file, or failing after it created directories, leaks no descriptor. */
START_TEST(new_directories_and_failed_writes)
{
    make_tmp();
    char err[256] = "";
    ck_assert_int_eq(localfs_mkdirs(datadir, err, sizeof err), 0);
    int fds = open_fds();
    const char *deep = "a/b/c/d/e/f/g/h/i/j/k/l/file.pdf";
    ck_assert_int_eq(localfs_write_atomic(datadir, deep, "deep", 4, err, sizeof err), 0);
    ck_assert_int_eq(localfs_write_atomic(datadir, "a/b/c/other/file.pdf", "other", 5, err, sizeof err), 0);
    buf_t b;
    buf_init(&b, 1 << 10);
    ck_assert_int_eq(localfs_read(datadir, deep, &b, err, sizeof err), LOCALFS_OK);
    ck_assert_str_eq(buf_cstr(&b), "deep");
    buf_reset(&b);
    ck_assert_int_eq(localfs_read(datadir, "a/b/c/other/file.pdf", &b, err, sizeof err), LOCALFS_OK);
    ck_assert_str_eq(buf_cstr(&b), "other");
    /* A file where a directory should be. */
    ck_assert_int_eq(localfs_write_atomic(datadir, "x/y/blocker", "f", 1, err, sizeof err), 0);
    ck_assert_int_eq(localfs_write_atomic(datadir, "x/y/blocker/z/file.pdf", "no", 2, err, sizeof err), -1);
    /* A write that fails after creating directories (file size limit standing in for a full disk). */
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit old;
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
    struct rlimit rl = {4096, old.rlim_max}; /* the soft limit only: it can be raised again */
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
    static char big[64 * 1024];
    ck_assert_int_eq(localfs_write_atomic(datadir, "p/q/r/file.pdf", big, sizeof big, err, sizeof err), -1);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
    ck_assert_int_eq(open_fds(), fds);
    buf_free(&b);
    remove_tmp();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("storage_local");
    TCase *tc = tcase_create("names");
    tcase_add_test(tc, key_validation);
    tcase_add_loop_test(tc, sanitize_filename_table, 0, sizeof names / sizeof names[0]);
    tcase_add_test(tc, sanitize_filename_limits);
    tcase_add_test(tc, render_key_rules);
    tcase_add_loop_test(tc, display_filename_table, 0, sizeof display_names / sizeof display_names[0]);
    tcase_add_test(tc, display_filename_limits);
    tcase_add_test(tc, named_link);
    suite_add_tcase(s, tc);
    tc = tcase_create("backend");
    tcase_add_test(tc, put_get_delete_roundtrip);
    tcase_add_test(tc, deferred_puts_share_one_sync);
    tcase_add_test(tc, deferred_put_elsewhere_is_synced_alone);
    tcase_add_test(tc, failed_write_leaves_old_file);
    tcase_add_test(tc, new_directories_and_failed_writes);
    tcase_add_test(tc, disk_full_is_clean);
    tcase_add_test(tc, symlinks_never_followed);
    tcase_add_test(tc, open_for_streaming);
    tcase_add_test(tc, secret_generated_persisted_and_reused);
    tcase_add_test(tc, secret_race_gives_one_secret);
    tcase_add_test(tc, bad_secret_file_is_an_error);
    tcase_add_test(tc, health_fails_without_data_dir);
    suite_add_tcase(s, tc);
    tc = tcase_create("route_logic");
    tcase_add_test(tc, link_verify);
    tcase_add_test(tc, storage_link_uses_ttl_and_public_url);
    tcase_add_loop_test(tc, range_table, 0, sizeof ranges / sizeof ranges[0]);
    tcase_add_test(tc, etag_and_conditionals);
    tcase_add_test(tc, disposition_and_type);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
