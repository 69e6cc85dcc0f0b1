/*
 * libFuzzer target: fixed manifests × arbitrary data JSON → manifest_validate().
 * The first input byte picks the manifest and strict mode; the rest is the data. Invariants
 * (fuzz_common.h): issues well-formed and capped; check-only and normalising runs agree; the
 * normalised copy validates again (strictly) to itself.
 */
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"

static const char *const MANIFESTS[] = {
    /* 0: the benchmark invoice */
    "{\"variables\":["
    "{\"key\":\"invoice.number\",\"dataType\":\"text\",\"required\":true},"
    "{\"key\":\"invoice.date\",\"dataType\":\"date\",\"required\":true},"
    "{\"key\":\"invoice.dueDate\",\"dataType\":\"date\"},"
    "{\"key\":\"company.name\",\"dataType\":\"text\",\"required\":true},"
    "{\"key\":\"company.address\",\"dataType\":\"longtext\"},"
    "{\"key\":\"customer.name\",\"dataType\":\"text\",\"required\":true},"
    "{\"key\":\"subtotal\",\"dataType\":\"currency\",\"format\":\"money:EUR\"},"
    "{\"key\":\"vatRate\",\"dataType\":\"number\"},"
    "{\"key\":\"total\",\"dataType\":\"currency\",\"required\":true}],"
    "\"loops\":[{\"key\":\"items\",\"maxItems\":50,\"itemFields\":["
    "{\"key\":\"pos\",\"dataType\":\"number\",\"integer\":true},"
    "{\"key\":\"name\",\"dataType\":\"text\",\"required\":true},"
    "{\"key\":\"qty\",\"dataType\":\"number\",\"required\":true,\"min\":0}]}]}",
    /* 1: every data type and constraint */
    "{\"variables\":["
    "{\"key\":\"t\",\"dataType\":\"text\",\"minLength\":2,\"maxLength\":8,\"pattern\":\"^[a-z]+(-[a-z]+)*$\"}"
    ","
    "{\"key\":\"lt\",\"dataType\":\"longtext\",\"enum\":[\"a\",\"bb\",\"\\u00e9\"]},"
    "{\"key\":\"n\",\"dataType\":\"number\",\"integer\":true,\"min\":-5,\"max\":5,\"default\":0},"
    "{\"key\":\"c\",\"dataType\":\"currency\",\"enum\":[1,2.5]},"
    "{\"key\":\"d\",\"dataType\":\"date\",\"default\":\"2024-02-29\"},"
    "{\"key\":\"dt\",\"dataType\":\"datetime\"},"
    "{\"key\":\"b\",\"dataType\":\"boolean\",\"default\":true},"
    "{\"key\":\"img\",\"dataType\":\"image\"},"
    "{\"key\":\"u\",\"dataType\":\"url\",\"pattern\":\"\\\\.(png|jpe?g)$\"},"
    "{\"key\":\"e\",\"dataType\":\"email\",\"required\":true}]}",
    /* 2: deep nesting, defaults below absent objects, two loops */
    "{\"variables\":["
    "{\"key\":\"a.b.c.d.e\",\"dataType\":\"text\",\"required\":true},"
    "{\"key\":\"a.b.x\",\"dataType\":\"number\",\"default\":7},"
    "{\"key\":\"a.y\",\"dataType\":\"boolean\"},"
    "{\"key\":\"__proto__.k\",\"dataType\":\"text\"}],"
    "\"loops\":[{\"key\":\"rows\",\"minItems\":1,\"maxItems\":5,\"itemFields\":["
    "{\"key\":\"v\",\"dataType\":\"number\",\"default\":1},{\"key\":\"w\",\"dataType\":\"text\",\"pattern\":"
    "\"(a|b)*c\"}]},"
    "{\"key\":\"tags\",\"itemFields\":[{\"key\":\"t\",\"dataType\":\"text\",\"required\":true}]}]}",
};
#define NMANIFESTS (sizeof MANIFESTS / sizeof *MANIFESTS)

static manifest_t *compiled[NMANIFESTS];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    for (size_t i = 0; i < NMANIFESTS; i++) {
        json_t *j = json_loads(MANIFESTS[i], 0, NULL);
        manifest_status_t st;
        compiled[i] = manifest_compile(j, &st, NULL);
        FUZZ_CHECK(compiled[i] != NULL);
        json_decref(j);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned pick = data[0];
    const manifest_t *m = compiled[pick % NMANIFESTS];
    unsigned flags = (pick / NMANIFESTS) & 1 ? MANIFEST_STRICT : 0;
    json_t *j = json_loadb((const char *)data + 1, size - 1, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (!j)
        return 0;
    fuzz_validate_twice(m, j, flags);
    json_decref(j);
    return 0;
}
