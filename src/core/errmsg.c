/* errmsg — error-string helper; see errmsg.h. */
#include "core/errmsg.h"

#include <stdarg.h>
#include <stdio.h>

int errmsg_fail(char *err, size_t err_len, const char *fmt, ...)
{
    if (err && err_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
    }
    return -1;
}

const char *errmsg_json_type(const json_t *v)
{
    if (!v)
        return "undefined";
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_INTEGER:
    case JSON_REAL: return "number";
    case JSON_TRUE:
    case JSON_FALSE: return "boolean";
    default: return "null";
    }
}

const char *errmsg_json(const json_error_t *e)
{
    switch (json_error_code(e)) {
    case json_error_null_character:
        return "a string contains \\u0000 (a NUL character), which is not accepted";
    case json_error_null_byte_in_key: return "an object key contains a NUL character, which is not accepted";
    default: return e->text;
    }
}
