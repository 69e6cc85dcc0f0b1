#include "tu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tu_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

cairo_status_t tu_bytes_append(void *closure, const unsigned char *data, unsigned int len)
{
    tu_bytes_t *b = closure;
    unsigned char *grown = realloc(b->data, b->len + len);
    if (!grown)
        return CAIRO_STATUS_NO_MEMORY;
    b->data = grown;
    memcpy(b->data + b->len, data, len);
    b->len += len;
    return CAIRO_STATUS_SUCCESS;
}

tu_bytes_t tu_bytes_load(const char *path)
{
    tu_bytes_t b = {0};
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    b.len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    b.data = malloc(b.len);
    ck_assert(fread(b.data, 1, b.len, f) == b.len);
    fclose(f);
    return b;
}
