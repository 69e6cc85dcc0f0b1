/* storage/zipw: archives written from files and memory are read back by an independent reader
 * (Python's zipfile: names, sizes, bytes, CRCs via testzip) and by `unzip -t` when installed;
 * names are made unique before the extension; the same entries give the same bytes; an empty
 * archive is valid; past 65,535 entries the writer refuses instead of writing a broken file. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pdffix.h"
#include "storage/zipw.h"
#include "tu.h"

/* A fresh empty file in $TMPDIR (path filled, 64 bytes); its fd, read-write. */
static int temp_file(char path[64])
{
    const char *dir = getenv("TMPDIR");
    snprintf(path, 64, "%s/zipw-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    return fd;
}

/* Python's zipfile reading path: "name size sha256" per entry, then "ok" when testzip found
 * every CRC right; malloc'd. */
static char *zip_listing(const char *path)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "python3 -c 'import zipfile,hashlib,sys\n"
             "z=zipfile.ZipFile(sys.argv[1])\n"
             "for i in z.infolist(): print(i.filename, i.file_size, "
             "hashlib.sha256(z.read(i)).hexdigest()[:8], i.compress_type, i.date_time[0])\n"
             "print(\"ok\" if z.testzip() is None else \"bad\")' %s",
             path);
    return pdffix_run(cmd);
}

static char *sha8(const char *text)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "printf %%s '%s' | sha256sum | cut -c1-8", text);
    char *out = pdffix_run(cmd);
    out[strcspn(out, "\n")] = 0;
    return out;
}

START_TEST(entries_round_trip_with_unique_names)
{
    char out_path[64], src_path[64], used[ZIPW_NAME_MAX + 1], err[256];
    int out = temp_file(out_path), src = temp_file(src_path);
    ck_assert_int_eq(write(src, "from a file", 11), 11);
    ck_assert_int_eq((int)lseek(src, 0, SEEK_SET), 0);
    zipw_t *z = zipw_open(out, 1765000000, err, sizeof err); /* 2025-12-06 */
    ck_assert_ptr_nonnull(z);
    ck_assert_int_eq(zipw_add(z, "invoice.pdf", "first", 5, used, err, sizeof err), 0);
    ck_assert_str_eq(used, "invoice.pdf");
    ck_assert_int_eq(zipw_add_fd(z, "invoice.pdf", src, used, err, sizeof err), 0);
    ck_assert_str_eq(used, "invoice-2.pdf");
    ck_assert_int_eq(zipw_add(z, "invoice.pdf", "", 0, used, err, sizeof err), 0);
    ck_assert_str_eq(used, "invoice-3.pdf");
    ck_assert_int_eq(zipw_add(z, "Rechnung März.pdf", "ü", strlen("ü"), used, err, sizeof err), 0);
    uint64_t size = 0;
    ck_assert_msg(zipw_finish(z, &size, err, sizeof err) == 0, "%s", err);
    zipw_free(z);
    ck_assert_int_eq((long long)size, (long long)lseek(out, 0, SEEK_END));
    close(out);
    close(src);

    char *list = zip_listing(out_path), expect[1024];
    char *a = sha8("first"), *b = sha8("from a file"), *c = sha8(""), *d = sha8("ü");
    snprintf(expect, sizeof expect,
             "invoice.pdf 5 %s 0 2025\ninvoice-2.pdf 11 %s 0 2025\ninvoice-3.pdf 0 %s 0 2025\n"
             "Rechnung März.pdf 2 %s 0 2025\nok\n",
             a, b, c, d);
    ck_assert_str_eq(list, expect);
    free(list);
    free(a);
    free(b);
    free(c);
    free(d);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "command -v unzip >/dev/null && unzip -tq %s || echo skipped", out_path);
    char *t = pdffix_run(cmd);
    ck_assert_msg(strstr(t, "No errors") || strstr(t, "skipped"), "%s", t);
    free(t);
    unlink(out_path);
    unlink(src_path);
}
END_TEST

START_TEST(unique_name_rules)
{
    json_t *taken = json_object();
    char out[64];
    const char *in[] = {"a.pdf",   "a.pdf", "a-2.pdf", "a.pdf",    ".hidden",
                        ".hidden", "noext", "noext",   "x.tar.gz", "x.tar.gz"};
    const char *want[] = {"a.pdf",     "a-2.pdf", "a-2-2.pdf", "a-3.pdf",  ".hidden",
                          ".hidden-2", "noext",   "noext-2",   "x.tar.gz", "x.tar-2.gz"};
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
        ck_assert_int_eq(zipw_unique_name(taken, in[i], out, sizeof out), 0);
        ck_assert_str_eq(out, want[i]);
    }
    char tiny[6];
    ck_assert_int_eq(zipw_unique_name(taken, "a.pdf", tiny, sizeof tiny), -1); /* a-4.pdf does not fit */
    json_decref(taken);
}
END_TEST

/* Writes the same three entries; returns the archive's bytes. */
static tu_bytes_t same_archive(void)
{
    char path[64], err[256];
    int fd = temp_file(path);
    zipw_t *z = zipw_open(fd, 1765000000, err, sizeof err);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(zipw_add(z, "r.pdf", "%PDF-1.7", 8, NULL, err, sizeof err), 0);
    ck_assert_int_eq(zipw_finish(z, NULL, err, sizeof err), 0);
    zipw_free(z);
    close(fd);
    tu_bytes_t b = tu_bytes_load(path);
    unlink(path);
    return b;
}

START_TEST(same_entries_same_bytes)
{
    tu_bytes_t a = same_archive(), b = same_archive();
    ck_assert_int_eq(a.len, b.len);
    ck_assert(memcmp(a.data, b.data, a.len) == 0);
    free(a.data);
    free(b.data);
}
END_TEST

START_TEST(empty_archive_is_valid)
{
    char path[64], err[256];
    int fd = temp_file(path);
    zipw_t *z = zipw_open(fd, 0, err, sizeof err);
    uint64_t size = 0;
    ck_assert_int_eq(zipw_finish(z, &size, err, sizeof err), 0);
    zipw_free(z);
    close(fd);
    ck_assert_int_eq((int)size, 22);
    char *list = zip_listing(path);
    ck_assert_str_eq(list, "ok\n");
    free(list);
    unlink(path);
}
END_TEST

START_TEST(too_many_entries_refused)
{
    char path[64], err[256];
    int fd = temp_file(path);
    zipw_t *z = zipw_open(fd, 0, err, sizeof err);
    for (int i = 0; i < ZIPW_MAX_ENTRIES; i++)
        ck_assert_int_eq(zipw_add(z, "e", "", 0, NULL, err, sizeof err), 0);
    ck_assert_int_eq(zipw_add(z, "e", "", 0, NULL, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "at most 65535 entries"), "%s", err);
    ck_assert_int_eq(zipw_add(z, "", "", 0, NULL, err, sizeof err), -1);
    ck_assert_int_eq(zipw_finish(z, NULL, err, sizeof err), 0); /* a refusal leaves it whole */
    zipw_free(z);
    close(fd);
    char cmd[256];
    snprintf(
        cmd, sizeof cmd,
        "python3 -c 'import zipfile,sys; n=zipfile.ZipFile(sys.argv[1]).namelist(); print(len(n), n[-1])' %s",
        path);
    char *list = pdffix_run(cmd);
    ck_assert_str_eq(list, "65535 e-65535\n");
    free(list);
    unlink(path);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("zipw");
    TCase *tc = tcase_create("zipw");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, entries_round_trip_with_unique_names);
    tcase_add_test(tc, unique_name_rules);
    tcase_add_test(tc, same_entries_same_bytes);
    tcase_add_test(tc, empty_archive_is_valid);
    tcase_add_test(tc, too_many_entries_refused);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
