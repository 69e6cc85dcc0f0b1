/*
 * zipw — a small streaming ZIP writer for the merged output of batches (issue 22,
 * options.merge "zip"): one file per entry, stored (not compressed: the entries are PDFs,
 * whose streams are compressed already), CRC-32 by zlib, names in UTF-8 (flag bit 11).
 *
 * Streaming: an entry is copied from a file descriptor in ZIPW_COPY_CHUNK pieces straight to
 * the output file; its local header is written first with a zero CRC and sizes and patched
 * in place (pwrite) once the data is through, so the output must be a regular file. Memory
 * holds only the central directory (names and offsets), not the entries.
 *
 * Names are made unique here: a name already in the archive gets "-2", "-3", ... before its
 * extension ("invoice.pdf", "invoice-2.pdf"), so an archive never holds two entries of one
 * name. No ZIP64: an archive past ZIPW_MAX_BYTES (4 GiB - 1) or ZIPW_MAX_ENTRIES entries is
 * refused with a message, never written wrong.
 *
 * The output is deterministic: every entry carries the same timestamp (given at open), so
 * writing the same entries again gives the same bytes.
 *
 * Threads: a zipw_t belongs to one thread. Memory: zipw_free releases everything (the output
 * fd stays the caller's).
 */
#ifndef CRAFTKIT_STORAGE_ZIPW_H
#define CRAFTKIT_STORAGE_ZIPW_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define ZIPW_MAX_BYTES 0xFFFFFFFFull /* no ZIP64: sizes and offsets are 32-bit */
#define ZIPW_MAX_ENTRIES 65535
#define ZIPW_NAME_MAX 1024       /* bytes in an entry name (unique suffix included) */
#define ZIPW_COPY_CHUNK 65536    /* bytes copied per read */
#define ZIPW_UNIQUE_TRIES 100000 /* "-2" ... before giving up on a name */

typedef struct zipw zipw_t;

/* Starts an archive at offset 0 of fd (a regular file, opened read-write, truncated by the
 * caller); mtime stamps every entry. NULL + err when out of memory. */
zipw_t *zipw_open(int fd, time_t mtime, char *err, size_t err_len);
/* Appends the whole of src_fd (read from its current offset to its end) as an entry named
 * name (made unique, see above; the name used goes to used when not NULL, ZIPW_NAME_MAX + 1
 * bytes). 0, or -1 + err (a read or write error, an empty or too long name, the archive
 * would pass ZIPW_MAX_BYTES or ZIPW_MAX_ENTRIES). After an error the archive is unusable. */
int zipw_add_fd(zipw_t *z, const char *name, int src_fd, char *used, char *err, size_t err_len);
/* Same from memory. */
int zipw_add(zipw_t *z, const char *name, const void *data, size_t len, char *used, char *err,
             size_t err_len);
/* Writes the central directory; *size (may be NULL) gets the archive's length. 0 or -1 + err. */
int zipw_finish(zipw_t *z, uint64_t *size, char *err, size_t err_len);
void zipw_free(zipw_t *z);

/* The unique form of name among taken (a JSON object used as a set; the result is added to
 * it): name itself, else "<stem>-<n><ext>" for the smallest free n >= 2, where ext is the last
 * ".xyz" of name (none for ".hidden" or a name without a dot). 0, or -1 when out of room. */
int zipw_unique_name(json_t *taken, const char *name, char *out, size_t out_len);

#endif
