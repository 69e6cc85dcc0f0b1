/*
 * uuid7 — RFC 9562 UUIDv7 generation (time-ordered), formatting and parsing of any UUID.
 *
 * Ids from one process are strictly increasing: within one millisecond a 12-bit counter in
 * rand_a is incremented (RFC 9562 §6.2 method 1); when it overflows the timestamp is advanced.
 * Threads: uuid7_new() is safe from any thread (one mutex around the counter).
 */
#ifndef CRAFTKIT_CORE_UUID7_H
#define CRAFTKIT_CORE_UUID7_H

#include <stdbool.h>
#include <stdint.h>

#define UUID_STR_LEN 36

/* Returns 0, or -1 when the CSPRNG fails. */
int uuid7_new(uint8_t out[16]);
/* Lowercase 8-4-4-4-12 form and a NUL. */
void uuid_format(const uint8_t in[16], char out[UUID_STR_LEN + 1]);
/* Convenience: a new v7 id straight into text form. Returns 0 or -1. */
int uuid7_new_str(char out[UUID_STR_LEN + 1]);
/* Accepts the canonical 36-character form (either case); returns true and fills out. */
bool uuid_parse(const char *s, uint8_t out[16]);
/* True when s is a canonical UUID string (any version). */
bool uuid_valid(const char *s);
/* Unix milliseconds stored in a v7 id. */
uint64_t uuid7_time_ms(const uint8_t in[16]);

#endif
