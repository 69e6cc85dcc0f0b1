/*
 * format — value formatting for templates: filters (`{{ total | currency:"EUR" }}`) and the
 * manifest `format` specs ("money:EUR", "number:2", "date:DD/MM/YYYY", "percent").
 *
 * Pure functions apart from ICU's locale data (engine/intl, per-thread caches): callable from
 * any thread.
 * Memory: results are appended to a caller-owned buf_t (its cap bounds the output); the
 * json_t values are borrowed, never kept. A NULL value means "missing" (same as json null).
 * format_apply/format_manifest fail (appending nothing) when the result does not fit in out;
 * format_plain cuts its text at out's cap on a UTF-8 boundary and says so.
 * The exact syntax of every filter is documented at the top of format.c.
 */
#ifndef CRAFTKIT_ENGINE_FORMAT_H
#define CRAFTKIT_ENGINE_FORMAT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "core/buf.h"

bool format_filter_known(const char *name); /* currency number percent date upper lower title default ... */
/* Applies filter `name` with optional `arg` (NULL when none) to value; appends text to out. 0 or -1 + err. */
int format_apply(const char *name, const char *arg, const json_t *value, buf_t *out, char *err,
                 size_t err_len);
/* Applies a manifest `format` spec ("money:EUR", "number:2", "date:DD/MM/YYYY", "percent") given the variable's dataType. */
int format_manifest(const char *spec, const char *data_type, const json_t *value, buf_t *out, char *err,
                    size_t err_len);
/* Additions beyond the engine's original contract (validation without a value): */
/* Checks a filter name and its argument (e.g. a bad locale or date pattern) at template-parse time. 0 or -1 + err. */
int format_check(const char *name, const char *arg, char *err, size_t err_len);
/* Checks a manifest `format` spec at manifest-validation time (NULL/"" is valid). 0 or -1 + err. */
int format_check_spec(const char *spec, char *err, size_t err_len);
/* True when code is an ISO 4217 currency code (three letters, any case; the list of active
 * codes and funds, as published by the maintenance agency). The currency filter itself prints
 * any three letters; this is the check for codes that come from the data. */
bool format_currency_iso4217(const char *code);
/* Locale-aware filters (date names and styles, words) use the text's language `lang` (a BCP 47
 * tag, NULL = none) when their argument names no locale: */
int format_apply_in(const char *name, const char *arg, const char *lang, const json_t *value, buf_t *out,
                    char *err, size_t err_len);
int format_manifest_in(const char *spec, const char *data_type, const char *lang, const json_t *value,
                       buf_t *out, char *err, size_t err_len);
/* format_check for a text in language lang: also refuses a language without ICU locale data. */
int format_check_in(const char *name, const char *arg, const char *lang, char *err, size_t err_len);
/* True when the filter takes its locale from the text's language (no locale of its own). */
bool format_needs_locale(const char *name, const char *arg);
/* Plain text of a value: strings as-is, numbers shortest round-trip, booleans true/false, null "".
 * Returns 0; -1 when the text was cut at out's cap (what fits is appended); FORMAT_NOT_TEXT
 * (appending nothing) for a list or an object, which has no text of its own. */
#define FORMAT_NOT_TEXT (-2)
int format_plain(const json_t *value, buf_t *out);

#endif
