/* format — STUB: the real implementation follows; see format.h. */
#include "engine/format.h"

#include <stdio.h>

bool format_filter_known(const char *name) { return false; }

int format_apply(const char *name, const char *arg, const json_t *value, buf_t *out, char *err, size_t err_len)
{
    snprintf(err, err_len, "filter %s is not implemented yet", name ? name : "");
    return -1;
}

int format_manifest(const char *spec, const char *data_type, const json_t *value, buf_t *out, char *err, size_t err_len)
{
    format_plain(value, out);
    return 0;
}

void format_plain(const json_t *value, buf_t *out)
{
    if (value && json_is_string(value))
        buf_append(out, json_string_value(value), json_string_length(value));
}
