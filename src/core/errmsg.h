/*
 * errmsg — fills the (char *err, size_t err_len) error strings used across the code base.
 *
 * errmsg_fail() formats into err (when err is non-NULL and err_len > 0; always
 * NUL-terminated, silently truncated) and returns -1, so a failing path reads
 *   return errmsg_fail(err, err_len, "image: HTTP %ld", status);
 * Threads: any. Memory: writes only into the caller's buffer.
 */
#ifndef CRAFTKIT_CORE_ERRMSG_H
#define CRAFTKIT_CORE_ERRMSG_H

#include <stddef.h>

#include <jansson.h>

/* The size of an error buffer a caller declares for an (err, err_len) call: char err[ERRMSG_LEN],
 * passed as err, sizeof err. Room for a message that quotes a path, a name or a value of a
 * client; longer ones are cut (errmsg_fail always NUL-terminates). */
#define ERRMSG_LEN 512

int errmsg_fail(char *err, size_t err_len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* jansson's reason for a JSON parse error in the terms of whoever wrote the JSON: a few of its
 * messages name its own flags ("\\u0000 is not allowed without JSON_ALLOW_NUL"). A static string
 * or e->text. */
const char *errmsg_json(const json_error_t *e);

/* The JSON type of v as messages name it, the names Zod uses in "received …" ("object",
 * "array", "string", "number", "boolean", "null"; "undefined" for a missing value, NULL):
 * "Expected a string, got number". A static string. */
const char *errmsg_json_type(const json_t *v);

#endif
