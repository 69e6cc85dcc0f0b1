/* codes — STUB: the real implementation follows; see codes.h. */
#include "engine/codes.h"

#include <stdio.h>

int codes_check(const char *kind, const char *data, char *err, size_t err_len)
{
    snprintf(err, err_len, "codes are not implemented yet");
    return -1;
}

int codes_draw(cairo_t *cr, const char *kind, const char *data, double x, double y, double w, double h, bool show_text, char *err, size_t err_len)
{
    snprintf(err, err_len, "codes are not implemented yet");
    return -1;
}
