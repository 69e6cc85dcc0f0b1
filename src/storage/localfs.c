#include "storage/localfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/crypto.h"
#include "core/errmsg.h"

#define LOCALFS_TMP_RANDOM 24 /* base62 chars in a temp file name */

static bool segment_char_ok(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

bool localfs_key_valid(const char *key)
{
    if (!key)
        return false;
    size_t len = strlen(key), seg = 0;
    if (len == 0 || len > LOCALFS_KEY_MAX)
        return false;
    for (size_t i = 0; i <= len; i++) {
        char c = key[i];
        if (c == '/' || c == '\0') {
            if (seg == 0) /* empty segment: leading, trailing or double slash */
                return false;
            seg = 0;
            continue;
        }
        if (!segment_char_ok(c) || (seg == 0 && c == '.') || ++seg > LOCALFS_SEGMENT_MAX)
            return false;
    }
    return true;
}

static void set_err(char *err, size_t err_len, const char *what, const char *path, int e)
{
    if (e == ENOSPC || e == EDQUOT)
        errmsg_fail(err, err_len, "disk full while %s %s: %s", what, path, strerror(e));
    else
        errmsg_fail(err, err_len, "%s %s: %s", what, path, strerror(e));
}

int localfs_mkdirs(const char *dir, char *err, size_t err_len)
{
    char path[4096];
    int n = snprintf(path, sizeof path, "%s", dir);
    if (n <= 0 || (size_t)n >= sizeof path)
        return errmsg_fail(err, err_len, "data directory path is empty or too long");
    for (char *p = path + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char saved = *p;
            *p = '\0';
            if (mkdir(path, 0750) != 0 && errno != EEXIST) {
                set_err(err, err_len, "creating directory", path, errno);
                return -1;
            }
            *p = saved;
            if (!saved)
                break;
        }
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return errmsg_fail(err, err_len, "data directory %s is not a directory", dir);
    return 0;
}

static int open_root(const char *root, char *err, size_t err_len)
{
    int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        set_err(err, err_len, "opening data directory", root, errno);
    return fd;
}

/*
 * Walks from rootfd through every segment of key but the last, one openat(O_NOFOLLOW) at a
 * time, creating directories when create is set (each new directory's entry fsynced when
 * sync_new is). Returns the parent directory's fd and points *leaf at the last segment;
 * LOCALFS_NOT_FOUND when a directory is missing (and !create).
 */
static int open_parent(int rootfd, const char *key, bool create, bool sync_new, int *dirfd, const char **leaf,
                       char *err, size_t err_len)
{
    int cur = dup(rootfd);
    if (cur < 0) {
        set_err(err, err_len, "dup", "data directory", errno);
        return LOCALFS_ERROR;
    }
    const char *seg = key;
    for (const char *slash; (slash = strchr(seg, '/')) != NULL; seg = slash + 1) {
        char name[LOCALFS_SEGMENT_MAX + 1];
        size_t n = (size_t)(slash - seg);
        memcpy(name, seg, n);
        name[n] = '\0';
        if (create) {
            if (mkdirat(cur, name, 0750) == 0) {
                /* the new directory's entry is durable once its parent is synced */
                if (sync_new && fsync(cur) != 0) {
                    set_err(err, err_len, "syncing a new directory of", key, errno);
                    close(cur);
                    return LOCALFS_ERROR;
                }
            } else if (errno != EEXIST) {
                set_err(err, err_len, "creating directory for", key, errno);
                close(cur);
                return LOCALFS_ERROR;
            }
        }
        int next = openat(cur, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int e = errno;
        close(cur);
        if (next < 0) {
            if (e == ENOENT)
                return LOCALFS_NOT_FOUND;
            /* ELOOP / ENOTDIR: a symlink or a file where a directory should be. */
            set_err(err, err_len, "opening directory for", key, e);
            return LOCALFS_ERROR;
        }
        cur = next;
    }
    *dirfd = cur;
    *leaf = seg;
    return LOCALFS_OK;
}

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Creates a uniquely named hidden temp file in dirfd; fills name. */
static int create_temp(int dirfd, mode_t mode, char name[LOCALFS_TMP_RANDOM + 8])
{
    for (int tries = 0; tries < 8; tries++) {
        char rnd[LOCALFS_TMP_RANDOM + 1];
        if (crypto_random_base62(rnd, LOCALFS_TMP_RANDOM) != 0)
            return -1;
        snprintf(name, LOCALFS_TMP_RANDOM + 8, ".tmp-%s", rnd);
        int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    errno = EEXIST;
    return -1;
}

/* Writes data to a new temp file in dirfd, and fsyncs it when sync is set; on failure nothing
 * is left behind. */
static int write_temp(int dirfd, const void *data, size_t len, mode_t mode, bool sync,
                      char tmp[LOCALFS_TMP_RANDOM + 8], const char *what, char *err, size_t err_len)
{
    int fd = create_temp(dirfd, mode, tmp);
    if (fd < 0) {
        set_err(err, err_len, "creating a temp file for", what, errno);
        return -1;
    }
    int rc = write_all(fd, data, len);
    if (rc == 0 && sync)
        rc = fsync(fd);
    int e = errno;
    if (close(fd) != 0 && rc == 0) {
        rc = -1;
        e = errno;
    }
    if (rc != 0) {
        unlinkat(dirfd, tmp, 0);
        set_err(err, err_len, "writing", what, e);
        return -1;
    }
    return 0;
}

/* Makes the writes of pending include one more, to the directory dirfd (opened before the
 * write, so that a writeback error of it is reported by the run): pending's file system, or
 * *own when dirfd is on another one. */
static localfs_sync_t *join_pending(localfs_sync_t *pending, localfs_sync_t *own, int dirfd, const char *key,
                                    char *err, size_t err_len)
{
    struct stat st;
    if (fstat(dirfd, &st) != 0) {
        set_err(err, err_len, "inspecting the directory of", key, errno);
        return NULL;
    }
    localfs_sync_t *into = pending->n > 0 && pending->dev != st.st_dev ? own : pending;
    if (into->n == 0) {
        into->fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0); /* shares dirfd's error sample */
        if (into->fd < 0) {
            set_err(err, err_len, "dup", key, errno);
            return NULL;
        }
        into->dev = st.st_dev;
    }
    into->n++;
    return into;
}

/* localfs_write_atomic, or with pending (not NULL) localfs_write_unsynced. */
static int write_atomic(const char *root, const char *key, const void *data, size_t len,
                        localfs_sync_t *pending, char *err, size_t err_len)
{
    if (!localfs_key_valid(key))
        return errmsg_fail(err, err_len, "invalid storage key");
    int rootfd = open_root(root, err, err_len), dirfd = -1, rc = -1;
    const char *leaf;
    char tmp[LOCALFS_TMP_RANDOM + 8];
    localfs_sync_t own = {0}, *into = NULL;
    if (rootfd < 0)
        return -1;
    int walked = open_parent(rootfd, key, true, pending == NULL, &dirfd, &leaf, err, err_len);
    if (walked == LOCALFS_NOT_FOUND)
        errmsg_fail(err, err_len, "a directory of %s vanished while writing it", key);
    if (walked != LOCALFS_OK)
        goto cleanup;
    if (pending && (into = join_pending(pending, &own, dirfd, key, err, err_len)) == NULL)
        goto cleanup;
    if (write_temp(dirfd, data, len, 0640, pending == NULL, tmp, key, err, err_len) != 0)
        goto cleanup;
    if (renameat(dirfd, tmp, dirfd, leaf) != 0) {
        set_err(err, err_len, "renaming the temp file to", key, errno);
        unlinkat(dirfd, tmp, 0);
        goto cleanup;
    }
    if (!pending && fsync(dirfd) != 0) {
        set_err(err, err_len, "syncing the directory of", key, errno);
        goto cleanup;
    }
    rc = 0;
cleanup:
    /* a failed write owes no sync (pending's fd stays while others do) */
    if (rc != 0 && into == pending && pending && --pending->n == 0)
        close(pending->fd);
    /* a write to another file system than pending's is synced on its own, now */
    if (own.n > 0 && localfs_sync_run(&own, rc == 0 ? err : NULL, err_len) != 0)
        rc = -1;
    if (dirfd >= 0)
        close(dirfd);
    close(rootfd);
    return rc;
}

int localfs_write_atomic(const char *root, const char *key, const void *data, size_t len, char *err,
                         size_t err_len)
{
    return write_atomic(root, key, data, len, NULL, err, err_len);
}

int localfs_write_unsynced(const char *root, const char *key, const void *data, size_t len,
                           localfs_sync_t *pending, char *err, size_t err_len)
{
    return write_atomic(root, key, data, len, pending, err, err_len);
}

int localfs_sync_run(localfs_sync_t *pending, char *err, size_t err_len)
{
    if (pending->n == 0)
        return 0;
    int rc = syncfs(pending->fd), e = errno;
    close(pending->fd);
    pending->n = 0;
    if (rc != 0) {
        set_err(err, err_len, "syncing the file system of", "the data directory", e);
        return -1;
    }
    return 0;
}

int localfs_open(const char *root, const char *key, int *fd, struct stat *st, char *err, size_t err_len)
{
    *fd = -1;
    if (!localfs_key_valid(key))
        return LOCALFS_NOT_FOUND; /* a key we could never have written */
    int rootfd = open_root(root, err, err_len), dirfd = -1, rc;
    const char *leaf;
    if (rootfd < 0)
        return LOCALFS_ERROR;
    rc = open_parent(rootfd, key, false, NULL, &dirfd, &leaf, err, err_len);
    if (rc != LOCALFS_OK)
        goto cleanup;
    int f = openat(dirfd, leaf, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (f < 0) {
        rc = errno == ENOENT ? LOCALFS_NOT_FOUND : LOCALFS_ERROR;
        if (rc == LOCALFS_ERROR)
            set_err(err, err_len, "opening", key, errno);
        goto cleanup;
    }
    if (fstat(f, st) != 0 || !S_ISREG(st->st_mode)) {
        errmsg_fail(err, err_len, "%s is not a regular file", key);
        close(f);
        rc = LOCALFS_ERROR;
        goto cleanup;
    }
    /* O_NONBLOCK only guarded the open against FIFOs; regular files ignore it, drop it anyway. */
    fcntl(f, F_SETFL, 0);
    *fd = f;
    rc = LOCALFS_OK;
cleanup:
    if (dirfd >= 0)
        close(dirfd);
    close(rootfd);
    return rc;
}

int localfs_read(const char *root, const char *key, buf_t *out, char *err, size_t err_len)
{
    int fd;
    struct stat st;
    int rc = localfs_open(root, key, &fd, &st, err, err_len);
    if (rc != LOCALFS_OK)
        return rc;
    if ((uint64_t)st.st_size > out->max) {
        errmsg_fail(err, err_len, "%s is %lld bytes, more than the %zu allowed", key, (long long)st.st_size,
                    out->max);
        close(fd);
        return LOCALFS_ERROR;
    }
    char chunk[65536];
    for (;;) {
        ssize_t got = read(fd, chunk, sizeof chunk);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            set_err(err, err_len, "reading", key, errno);
            rc = LOCALFS_ERROR;
            break;
        }
        if (got == 0)
            break;
        if (buf_append(out, chunk, (size_t)got) != BUF_OK) {
            errmsg_fail(err, err_len, "%s grew past the %zu bytes allowed while reading", key, out->max);
            rc = LOCALFS_ERROR;
            break;
        }
    }
    close(fd);
    return rc;
}

int localfs_delete(const char *root, const char *key, char *err, size_t err_len)
{
    if (!localfs_key_valid(key))
        return errmsg_fail(err, err_len, "invalid storage key");
    int rootfd = open_root(root, err, err_len), dirfd = -1, rc;
    const char *leaf;
    if (rootfd < 0)
        return -1;
    rc = open_parent(rootfd, key, false, NULL, &dirfd, &leaf, err, err_len);
    if (rc == LOCALFS_NOT_FOUND) {
        rc = 0;
    } else if (rc == LOCALFS_OK) {
        if (unlinkat(dirfd, leaf, 0) != 0 && errno != ENOENT) {
            set_err(err, err_len, "deleting", key, errno);
            rc = -1;
        }
        close(dirfd);
    }
    close(rootfd);
    return rc == 0 ? 0 : -1;
}

/* Reads the secret file; LOCALFS_NOT_FOUND when it does not exist. */
static int read_secret(int rootfd, char **secret, char *err, size_t err_len)
{
    int fd = openat(rootfd, LOCALFS_SECRET_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return LOCALFS_NOT_FOUND;
        set_err(err, err_len, "opening", LOCALFS_SECRET_FILE, errno);
        return LOCALFS_ERROR;
    }
    char data[LOCALFS_SECRET_MAX + 1];
    ssize_t got = read(fd, data, LOCALFS_SECRET_MAX + 1);
    close(fd);
    if (got < 0) {
        set_err(err, err_len, "reading", LOCALFS_SECRET_FILE, errno);
        return LOCALFS_ERROR;
    }
    size_t n = (size_t)got;
    while (n > 0 && (data[n - 1] == '\n' || data[n - 1] == '\r' || data[n - 1] == ' '))
        n--;
    if (got > LOCALFS_SECRET_MAX || n < 16 || memchr(data, '\0', n)) {
        errmsg_fail(err, err_len,
                    "%s in the data directory must hold 16 to %d printable characters; fix or "
                    "remove it",
                    LOCALFS_SECRET_FILE, LOCALFS_SECRET_MAX);
        return LOCALFS_ERROR;
    }
    *secret = strndup(data, n);
    return *secret ? LOCALFS_OK : LOCALFS_ERROR;
}

int localfs_load_secret(const char *root, char **secret, char *err, size_t err_len)
{
    *secret = NULL;
    int rootfd = open_root(root, err, err_len), rc = -1;
    if (rootfd < 0)
        return -1;
    int got = read_secret(rootfd, secret, err, err_len);
    if (got != LOCALFS_NOT_FOUND) {
        rc = got == LOCALFS_OK ? 0 : -1;
        goto cleanup;
    }
    char fresh[LOCALFS_SECRET_LEN + 2], tmp[LOCALFS_TMP_RANDOM + 8];
    if (crypto_random_base62(fresh, LOCALFS_SECRET_LEN) != 0) {
        errmsg_fail(err, err_len, "no randomness for the signing secret");
        goto cleanup;
    }
    strcat(fresh, "\n");
    if (write_temp(rootfd, fresh, LOCALFS_SECRET_LEN + 1, 0600, true, tmp, LOCALFS_SECRET_FILE, err,
                   err_len) != 0)
        goto cleanup;
    /* link() never replaces: if another process created the file first, we use theirs. */
    int linked = linkat(rootfd, tmp, rootfd, LOCALFS_SECRET_FILE, 0);
    int e = errno;
    unlinkat(rootfd, tmp, 0);
    if (linked != 0 && e != EEXIST) {
        set_err(err, err_len, "creating", LOCALFS_SECRET_FILE, e);
        goto cleanup;
    }
    fsync(rootfd);
    rc = read_secret(rootfd, secret, err, err_len) == LOCALFS_OK ? 0 : -1;
cleanup:
    close(rootfd);
    return rc;
}

int localfs_check_writable(const char *root, char *err, size_t err_len)
{
    int rootfd = open_root(root, err, err_len);
    if (rootfd < 0)
        return -1;
    char tmp[LOCALFS_TMP_RANDOM + 8];
    int rc = write_temp(rootfd, "ok\n", 3, 0600, true, tmp, "the data directory", err, err_len);
    if (rc == 0)
        unlinkat(rootfd, tmp, 0);
    close(rootfd);
    return rc;
}
