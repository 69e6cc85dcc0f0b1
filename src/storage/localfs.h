/*
 * localfs — the local-disk side of storage: object keys mapped to files under a root directory.
 *
 * Keys are relative paths of segments made of [A-Za-z0-9._-], none empty, none starting with
 * '.', so "." / ".." / hidden files (the signing secret, temp files) can never be named. Every
 * path is resolved from an fd on the root, one segment at a time with O_NOFOLLOW, so neither
 * ".." nor a symlink planted inside the tree can lead outside it.
 * Writes are atomic: a temp file in the target directory, fsync, rename over the final name,
 * fsync of the directory. A crash or a full disk leaves the old file (or none), never half a
 * file under the final name. Unsynced writes (localfs_write_unsynced) skip the fsyncs and share
 * one sync of the file system instead; they may be relied on only after it.
 *
 * Threads: any; functions share no state (each call opens its own fds) but a localfs_sync_t,
 * which belongs to one thread.
 * Memory: localfs_load_secret() returns a malloc'd string (caller frees); buf_t's are the
 * caller's.
 */
#ifndef CRAFTKIT_STORAGE_LOCALFS_H
#define CRAFTKIT_STORAGE_LOCALFS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "core/buf.h"

#define LOCALFS_KEY_MAX 1024    /* bytes in a key */
#define LOCALFS_SEGMENT_MAX 200 /* bytes in one key segment (leaves room for temp names) */
#define LOCALFS_SECRET_FILE ".signing-secret"
#define LOCALFS_SECRET_LEN 64   /* generated secret: 64 base62 chars (~381 bits) */
#define LOCALFS_SECRET_MAX 1024 /* longest secret file we read */

enum { LOCALFS_OK = 0, LOCALFS_ERROR = -1, LOCALFS_NOT_FOUND = -2 };

/* True when key is a safe relative key (see above). */
bool localfs_key_valid(const char *key);
/* Creates dir and its parents (0750) when missing. 0 or -1 + err. */
int localfs_mkdirs(const char *dir, char *err, size_t err_len);
/* Writes data under root/key atomically, creating parent directories. 0 or -1 + err
 * ("disk full while writing ..." on ENOSPC/EDQUOT). */
int localfs_write_atomic(const char *root, const char *key, const void *data, size_t len, char *err,
                         size_t err_len);
/* Writes whose durability is left to one sync of their file system (localfs_sync_run)
 * instead of two or three fsyncs each. Zero-initialised = empty. */
typedef struct localfs_sync {
    int n;     /* writes since the last run; fd and dev are meaningful only when n > 0 */
    int fd;    /* a directory of their file system, opened before the first of them */
    dev_t dev; /* that file system */
} localfs_sync_t;
/* localfs_write_atomic without its fsyncs (of the file, of its directory after the rename, of
 * a new directory's parent): the temp file is written and renamed over root/key, and is
 * durable only once localfs_sync_run(pending) returned 0 — until then a crash may leave the
 * key missing, empty or partly written, so callers record it as stored only after the run.
 * A key on another file system than pending's (a mount inside root) is synced on its own
 * before the call returns; pending is left as it was. 0, or -1 + err: pending still stands
 * and owes nothing for this write, whose key holds nothing new — unless only its own sync
 * failed (then the key may hold the new bytes, not to be relied on). */
int localfs_write_unsynced(const char *root, const char *key, const void *data, size_t len,
                           localfs_sync_t *pending, char *err, size_t err_len);
/* syncfs(2) of pending's file system — its every dirty file, ours and others', and one device
 * flush — then empties pending (closing its fd). Linux (5.8 and later) reports through it any
 * writeback error on that file system since pending's fd was opened. An empty pending is 0.
 * 0, or -1 + err (then none of the writes since the last run can be relied on). */
int localfs_sync_run(localfs_sync_t *pending, char *err, size_t err_len);
/* Opens root/key read-only for streaming; it must be a regular file. *fd is the caller's to
 * close. LOCALFS_OK, LOCALFS_NOT_FOUND, or LOCALFS_ERROR + err. */
int localfs_open(const char *root, const char *key, int *fd, struct stat *st, char *err, size_t err_len);
/* Reads root/key into out (bounded by out->max). Same codes as localfs_open. */
int localfs_read(const char *root, const char *key, buf_t *out, char *err, size_t err_len);
/* Removes root/key; a missing file is success. 0 or -1 + err. */
int localfs_delete(const char *root, const char *key, char *err, size_t err_len);
/* Loads root/.signing-secret, or generates one and persists it (0600) when absent; two
 * processes starting at once end up with the same secret. 0 or -1 + err. */
int localfs_load_secret(const char *root, char **secret, char *err, size_t err_len);
/* Proves root is writable: creates, fsyncs and removes a small temp file. 0 or -1 + err. */
int localfs_check_writable(const char *root, char *err, size_t err_len);

#endif
