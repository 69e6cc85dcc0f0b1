#include "worker/batchmerge.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/errmsg.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/timeutil.h"
#include "db/batches_repo.h"
#include "pdf/pdfdoc.h"
#include "storage/storage.h"
#include "storage/zipw.h"

#define MISSING_TITLE "Missing items"
#define MISSING_ENTRY "missing-items.txt"

/* One merge in progress: the claim, the items, a scratch directory. */
typedef struct merge {
    db_t *db;
    const char *batch_id;
    int lease_ms;
    batch_merge_claim_t claim;
    batch_merge_item_t *items;
    int n_items;
    storage_t *storage;
    char dir[PATH_MAX / 2]; /* "" until created */
    char out[PATH_MAX];
} merge_t;

/* A scratch directory under $TMPDIR (else /tmp). 0 or -1 + err. */
static int make_dir(merge_t *m, char *err, size_t err_len)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(m->dir, sizeof m->dir, "%s/craftkit-merge-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(m->dir)) {
        int e = errno;
        m->dir[0] = 0;
        return errmsg_fail(err, err_len, "cannot create a scratch directory: %s", strerror(e));
    }
    snprintf(m->out, sizeof m->out, "%s/merged.%s", m->dir, m->claim.merge);
    return 0;
}

static void part_path(const merge_t *m, int i, char *out, size_t len)
{
    snprintf(out, len, "%s/%d.pdf", m->dir, i);
}

/* Removes the scratch directory and what is in it. */
static void remove_dir(merge_t *m)
{
    if (!m->dir[0])
        return;
    char path[PATH_MAX];
    for (int i = 0; i < m->n_items; i++) {
        part_path(m, i, path, sizeof path);
        unlink(path);
    }
    unlink(m->out);
    rmdir(m->dir);
}

/* Why an item is not in the merged file, or NULL when it is. */
static const char *missing_reason(const batch_merge_item_t *it)
{
    if (!strcmp(it->status, "succeeded") && it->storage_key)
        return NULL;
    return !strcmp(it->status, "failed")      ? "failed"
           : !strcmp(it->status, "cancelled") ? "cancelled"
                                              : it->status;
}

/* The list of missing items ("Item 3: failed", ...), in request order, headed by a sentence;
 * "" when nothing is missing. Caller frees; NULL when out of memory or past the cap. */
static char *missing_note(const merge_t *m, int *n_missing)
{
    buf_t b;
    buf_init(&b, BATCHMERGE_NOTE_MAX);
    size_t n_invalid = json_array_size(m->claim.invalid), next_invalid = 0;
    int total = m->n_items + (int)n_invalid, missing = 0;
    bool ok = true;
    /* items and skipped ones, merged by index (both are sorted) */
    for (int i = 0; ok && (i < m->n_items || next_invalid < n_invalid);) {
        json_t *inv = json_array_get(m->claim.invalid, next_invalid);
        long long inv_index = inv ? json_integer_value(json_object_get(inv, "index")) : -1;
        if (inv && (i >= m->n_items || inv_index < m->items[i].index)) {
            ok = buf_printf(&b, "Item %lld: skipped (invalid input)\n", inv_index) == BUF_OK;
            next_invalid++;
            missing++;
            continue;
        }
        const char *why = missing_reason(&m->items[i]);
        if (why) {
            ok = buf_printf(&b, "Item %d: %s\n", m->items[i].index, why) == BUF_OK;
            missing++;
        }
        i++;
    }
    *n_missing = missing;
    char *list = ok ? buf_detach(&b, NULL) : NULL;
    buf_free(&b);
    if (!list || missing == 0)
        return list;
    char *note = NULL;
    if (asprintf(&note,
                 "%d of the %d items of batch %s are not in this file (item numbers count from 0, in "
                 "the order of the request):\n%s",
                 missing, total, m->batch_id, list) < 0)
        note = NULL;
    free(list);
    return note;
}

/* Renews the lease every BATCHMERGE_RENEW_EVERY items. */
static void maybe_renew(merge_t *m, int i)
{
    char err[ERRMSG_LEN];
    if (i > 0 && i % BATCHMERGE_RENEW_EVERY == 0 &&
        batches_merge_renew(m->db, m->batch_id, m->lease_ms, err, sizeof err) != 0)
        log_warn("batch %s: cannot renew the merge lease: %s", m->batch_id, err);
}

/* Reads item it's stored file into b (reset first). 0 or -1 + err. */
static int fetch(merge_t *m, const batch_merge_item_t *it, buf_t *b, char *err, size_t err_len)
{
    buf_reset(b);
    char why[512];
    int rc = storage_get(m->storage, it->storage_key, b, why, sizeof why);
    if (rc != 0)
        return errmsg_fail(err, err_len, "item %d (%s): %s", it->index, it->storage_key,
                           rc == STORAGE_NOT_FOUND ? "its file is no longer stored" : why);
    return 0;
}

static int write_file(const char *path, const void *data, size_t len, char *err, size_t err_len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return errmsg_fail(err, err_len, "cannot create %s: %s", path, strerror(errno));
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = errno;
            close(fd);
            return errmsg_fail(err, err_len, "cannot write %s: %s", path,
                               n < 0 ? strerror(e) : "short write");
        }
        p += n;
        len -= (size_t)n;
    }
    return close(fd) == 0 ? 0 : errmsg_fail(err, err_len, "cannot write %s: %s", path, strerror(errno));
}

/* "pdf": every succeeded item to a part file, then one qpdf pass. *pages gets the count. */
static int merge_pdf(merge_t *m, const char *note, int *pages, char *err, size_t err_len)
{
    pdfdoc_part_t *parts = calloc(m->n_items > 0 ? (size_t)m->n_items : 1, sizeof *parts);
    char **titles = calloc(m->n_items > 0 ? (size_t)m->n_items : 1, sizeof *titles);
    int n = 0, rc = 0;
    buf_t b;
    buf_init(&b, BATCHMERGE_ITEM_MAX);
    if (!parts || !titles)
        rc = errmsg_fail(err, err_len, "out of memory");
    for (int i = 0; rc == 0 && i < m->n_items; i++) {
        const batch_merge_item_t *it = &m->items[i];
        maybe_renew(m, i);
        if (missing_reason(it))
            continue;
        char path[PATH_MAX];
        part_path(m, i, path, sizeof path);
        if ((rc = fetch(m, it, &b, err, err_len)) != 0 ||
            (rc = write_file(path, b.data, b.len, err, err_len)) != 0)
            break;
        if (asprintf(&titles[n], "Item %d: %s", it->index, it->filename ? it->filename : "") < 0) {
            titles[n] = NULL;
            rc = errmsg_fail(err, err_len, "out of memory");
            break;
        }
        parts[n].path = strdup(path);
        parts[n].title = titles[n];
        n++;
        if (!parts[n - 1].path)
            rc = errmsg_fail(err, err_len, "out of memory");
    }
    buf_free(&b);
    if (rc == 0)
        rc = pdfdoc_merge_files(parts, (size_t)n, MISSING_TITLE, note, m->out, pages, err, err_len);
    for (int i = 0; i < n; i++)
        free((char *)parts[i].path);
    for (int i = 0; titles && i < m->n_items; i++)
        free(titles[i]);
    free(parts);
    free(titles);
    return rc;
}

/* "zip": every succeeded item appended as it is read. */
static int merge_zip(merge_t *m, const char *note, char *err, size_t err_len)
{
    int fd = open(m->out, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return errmsg_fail(err, err_len, "cannot create %s: %s", m->out, strerror(errno));
    zipw_t *z = zipw_open(fd, (time_t)m->claim.created_unix, err, err_len);
    int rc = z ? 0 : -1;
    buf_t b;
    buf_init(&b, BATCHMERGE_ITEM_MAX);
    for (int i = 0; rc == 0 && i < m->n_items; i++) {
        const batch_merge_item_t *it = &m->items[i];
        maybe_renew(m, i);
        if (missing_reason(it))
            continue;
        if ((rc = fetch(m, it, &b, err, err_len)) == 0)
            rc = zipw_add(z, it->filename && *it->filename ? it->filename : "item.pdf", b.data, b.len, NULL,
                          err, err_len);
    }
    buf_free(&b);
    if (rc == 0 && note)
        rc = zipw_add(z, MISSING_ENTRY, note, strlen(note), NULL, err, err_len);
    if (rc == 0)
        rc = zipw_finish(z, NULL, err, err_len);
    zipw_free(z);
    if (close(fd) != 0 && rc == 0)
        rc = errmsg_fail(err, err_len, "cannot write %s: %s", m->out, strerror(errno));
    return rc;
}

/* Stores the merged file under key (mapped, not read into memory). *bytes gets its size. */
static int store(merge_t *m, const char *key, long long *bytes, char *err, size_t err_len)
{
    int fd = open(m->out, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return errmsg_fail(err, err_len, "cannot read back %s: %s", m->out, strerror(e));
    }
    void *data = st.st_size > 0 ? mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
    close(fd);
    if (st.st_size > 0 && data == MAP_FAILED)
        return errmsg_fail(err, err_len, "cannot map %s: %s", m->out, strerror(errno));
    char sha[65];
    bool pdf = !strcmp(m->claim.merge, "pdf");
    int rc = storage_put(m->storage, key, data ? data : "", (size_t)st.st_size,
                         pdf ? "application/pdf" : "application/zip", sha, err, err_len);
    if (data)
        munmap(data, (size_t)st.st_size);
    *bytes = (long long)st.st_size;
    return rc;
}

/* Builds and stores the file; 0, or -1 + err. */
static int produce(merge_t *m, char *key, size_t key_len, long long *bytes, int *pages, char *err,
                   size_t err_len)
{
    m->storage = storage_thread();
    if (!m->storage)
        return errmsg_fail(err, err_len, "storage is not available");
    m->n_items = batches_merge_items(m->db, m->batch_id, &m->items, err, err_len);
    if (m->n_items < 0)
        return -1;
    if (make_dir(m, err, err_len) != 0)
        return -1;
    int n_missing = 0;
    char *note = missing_note(m, &n_missing);
    if (!note)
        return errmsg_fail(err, err_len, "the list of missing items is too long or out of memory");
    int rc = !strcmp(m->claim.merge, "pdf") ? merge_pdf(m, n_missing ? note : NULL, pages, err, err_len)
                                            : merge_zip(m, n_missing ? note : NULL, err, err_len);
    free(note);
    if (rc != 0)
        return -1;
    snprintf(key, key_len, "batches/%s/%s/merged.%s", m->claim.project_id, m->batch_id, m->claim.merge);
    return store(m, key, bytes, err, err_len);
}

/* The batch settled while its merged file was being made (it was cancelled, and a cancelled
 * batch has no merged file): the stored file is nobody's, so it goes now, not never. */
static void drop_unrecorded(merge_t *m, const char *key)
{
    char err[ERRMSG_LEN];
    log_event(LOG_INFO, "batch cancelled while merging: merged file dropped", "batch", m->batch_id, NULL);
    if (m->storage && storage_delete(m->storage, key, err, sizeof err) != 0)
        log_warn("batch %s: cannot delete the merged file nobody records (%s): %s", m->batch_id, key, err);
}

int batchmerge_run(db_t *db, const char *batch_id, int lease_ms)
{
    merge_t m = {.db = db, .batch_id = batch_id, .lease_ms = lease_ms};
    char err[1024];
    int claimed = batches_merge_claim(db, batch_id, lease_ms, &m.claim, err, sizeof err);
    if (claimed <= 0) {
        if (claimed < 0)
            log_warn("batch %s: cannot claim its merge (the sweeper retries): %s", batch_id, err);
        return claimed;
    }
    int64_t started = time_mono_ms();
    char key[STORAGE_KEY_MAX + 1] = "";
    long long bytes = 0;
    int pages = -1, result;
    int rc = produce(&m, key, sizeof key, &bytes, &pages, err, sizeof err);
    remove_dir(&m);
    char why[256];
    if (rc == 0) {
        int recorded = batches_merge_done(db, batch_id, key, bytes, pages, NULL, why, sizeof why);
        result = recorded < 0 ? -1 : 1;
        if (recorded == 0)
            drop_unrecorded(&m, key);
        else
            log_event(LOG_INFO, "batch merged", "batch", batch_id, "key", key, NULL);
        metrics_histogram_observe("craftkit_batch_merge_seconds", NULL,
                                  (double)(time_mono_ms() - started) / 1e3);
    } else if (m.claim.attempts >= BATCHMERGE_ATTEMPTS) {
        log_error("batch %s: merge failed for good after %d tries: %s", batch_id, m.claim.attempts, err);
        char msg[1200];
        snprintf(msg, sizeof msg, "The merged file could not be made: %s", err);
        result = batches_merge_done(db, batch_id, NULL, 0, -1, msg, why, sizeof why) < 0 ? -1 : 1;
    } else {
        log_warn("batch %s: merge try %d failed (retried): %s", batch_id, m.claim.attempts, err);
        result = -1;
        if (batches_merge_release(db, batch_id, why, sizeof why) != 0)
            log_warn("batch %s: cannot drop the merge lease (it expires): %s", batch_id, why);
    }
    if (result < 0 && rc == 0)
        log_warn("batch %s: merged, but cannot record it (the merge runs again): %s", batch_id, why);
    batches_merge_items_free(m.items, m.n_items);
    json_decref(m.claim.invalid);
    return result;
}
