#include "core/slug.h"

#include <stdbool.h>
#include <string.h>

void slug_from_name(const char *name, char *out, size_t out_len)
{
    size_t o = 0;
    bool dash = false;
    size_t cap = out_len - 1 < SLUG_MAX ? out_len - 1 : SLUG_MAX;
    for (const unsigned char *p = (const unsigned char *)name; *p && o < cap; p++) {
        unsigned char c = *p;
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c - 'A' + 'a');
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
            if (dash && o > 0 && o + 1 < cap)
                out[o++] = '-';
            dash = false;
            out[o++] = (char)c;
        } else {
            dash = true;
        }
    }
    while (o > 0 && out[o - 1] == '-')
        o--;
    out[o] = '\0';
}

bool slug_valid(const char *slug)
{
    size_t n = strlen(slug);
    if (n == 0 || n > SLUG_MAX || slug[0] == '-' || slug[n - 1] == '-')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = slug[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && !(c == '-' && slug[i + 1] != '-'))
            return false;
    }
    return true;
}
