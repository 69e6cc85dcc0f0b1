/*
 * slug — URL-safe identifiers for projects and templates: lowercase a-z0-9 words joined by
 * single '-', at most SLUG_MAX characters.
 *
 * Threads: any (pure functions). Memory: the caller owns every buffer.
 */
#ifndef CRAFTKIT_CORE_SLUG_H
#define CRAFTKIT_CORE_SLUG_H

#include <stdbool.h>
#include <stddef.h>

#define SLUG_MAX 120

/* A slug made of name's letters and digits (other runs become one '-'), at most SLUG_MAX and
 * out_len - 1 characters; "" when nothing usable. */
void slug_from_name(const char *name, char *out, size_t out_len);
/* Whether s is a valid slug: 1..SLUG_MAX of [a-z0-9], single '-' between words. */
bool slug_valid(const char *slug);

#endif
