/*
 * localfs — the local-disk side of storage: object keys mapped to files under a root directory.
 *
 * Keys are relative paths of segments made of [A-Za-z0-9._-], none empty, none starting with
 * '.', so "." / ".." / hidden files (the signing secret, temp files) can never be named. Every
 * path is resolved from an fd on the root, one segment at a time with O_NOFOLLOW, so neither
 * ".." nor a symlink planted inside the tree can lead outside it.
 * Writes are atomic: a temp file in the target directory, fsync, rename over the final name,
 * fsync of the directory. A crash or a full disk leaves the old file (or none), never half a
 * file under the final name.
 *
 * Threads: any; functions share no state (each call opens its own fds).
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
/* localfs_write_atomic, except that when it creates key's own directory, the fsync of that
 * directory's parent (which makes its entry durable) is left to the caller: unsynced_dir
 * (dir_len bytes) gets the parent as a key-relative path ("" when nothing was left), and the
 * file is durable once localfs_sync_dir(root, unsynced_dir) returned 0. Callers storing many
 * keys of one directory sync it once for all (storage_put_deferred). 0 or -1 + err. */
int localfs_write_atomic_deferred(const char *root, const char *key, const void *data, size_t len,
                                  char *unsynced_dir, size_t dir_len, char *err, size_t err_len);
/* fsyncs the directory root/dir (a key-relative path; "" = root). 0 or -1 + err. */
int localfs_sync_dir(const char *root, const char *dir, char *err, size_t err_len);
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
