#include "cli/assetdir.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/errmsg.h"
#include "engine/fontprobe.h"
#include "engine/woff.h"

/* The whole file (at most max bytes); NULL when unreadable or larger. */
static unsigned char *slurp(const char *path, size_t max, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *d = malloc(max + 1);
    *len = d ? fread(d, 1, max + 1, f) : 0;
    fclose(f);
    if (!d || *len > max) {
        free(d);
        return NULL;
    }
    return d;
}

static int write_all(const char *path, const unsigned char *d, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(d, 1, len, f);
    return fclose(f) == 0 && w == len ? 0 : -1;
}

/* Appends one asset (strings copied). */
static int add(assetdir_t *d, const char *name, const char *kind, const char *path, const char *family)
{
    engine_asset_t *v = realloc(d->assets, (d->n + 1) * sizeof *v);
    if (!v)
        return -1;
    d->assets = v;
    v[d->n] = (engine_asset_t){.name = strdup(name),
                               .id = strdup(name),
                               .kind = kind,
                               .sha256 = "",
                               .path = strdup(path),
                               .family = family ? strdup(family) : NULL};
    d->n++;
    return v[d->n - 1].name && v[d->n - 1].id && v[d->n - 1].path && (!family || v[d->n - 1].family) ? 0 : -1;
}

/* A WOFF/WOFF2 file unpacked into d->tmp; its path in out. */
static int unpack(assetdir_t *d, const char *name, const unsigned char *bytes, size_t len, char *out,
                  size_t out_len, char *err, size_t err_len)
{
    if (!d->tmp[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(d->tmp, sizeof d->tmp, "%s/craftkit-fonts-XXXXXX", base && *base ? base : "/tmp");
        if (!mkdtemp(d->tmp)) {
            d->tmp[0] = '\0';
            return errmsg_fail(err, err_len, "cannot create a temporary directory for WOFF fonts");
        }
    }
    unsigned char *sfnt;
    size_t sfnt_len;
    char why[300];
    if (woff_to_sfnt(bytes, len, ASSETDIR_FONT_MAX_BYTES, &sfnt, &sfnt_len, why, sizeof why) != 0)
        return errmsg_fail(err, err_len, "%s: %s", name, why);
    snprintf(out, out_len, "%s/%zu.otf", d->tmp, d->n);
    int rc = write_all(out, sfnt, sfnt_len);
    free(sfnt);
    return rc == 0 ? 0 : errmsg_fail(err, err_len, "cannot write %s", out);
}

/* One file of the directory. */
static int load_file(assetdir_t *d, const char *dir, const char *name, char *err, size_t err_len)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return 0;
    size_t len = 0;
    unsigned char *bytes = slurp(path, ASSETDIR_FONT_MAX_BYTES, &len);
    if (!bytes || !fontprobe_is_font(bytes, len)) {
        free(bytes);
        return add(d, name, "image", path, NULL);
    }
    fontprobe_t fp;
    char why[300], sfnt_path[400];
    int rc = -1;
    if (fontprobe(bytes, len, ASSETDIR_FONT_MAX_BYTES, &fp, why, sizeof why) != 0)
        errmsg_fail(err, err_len, "%s: %s", path, why);
    else if (woff_is_woff(bytes, len) &&
             unpack(d, path, bytes, len, sfnt_path, sizeof sfnt_path, err, err_len) != 0)
        ;
    else
        rc = add(d, name, "font", woff_is_woff(bytes, len) ? sfnt_path : path, fp.family);
    free(bytes);
    return rc;
}

int assetdir_load(const char *dir, assetdir_t *out, char *err, size_t err_len)
{
    memset(out, 0, sizeof *out);
    DIR *dh = opendir(dir);
    if (!dh)
        return errmsg_fail(err, err_len, "cannot read the assets directory %s", dir);
    struct dirent *e;
    int rc = 0, files = 0;
    while (rc == 0 && (e = readdir(dh))) {
        if (e->d_name[0] == '.')
            continue;
        if (++files > ASSETDIR_FILES_MAX)
            rc = errmsg_fail(err, err_len, "%s holds more than %d files", dir, ASSETDIR_FILES_MAX);
        else
            rc = load_file(out, dir, e->d_name, err, err_len);
    }
    closedir(dh);
    size_t fonts = 0;
    for (size_t i = 0; i < out->n; i++)
        fonts += !strcmp(out->assets[i].kind, "font");
    out->families = rc == 0 ? calloc(fonts + 1, sizeof *out->families) : NULL;
    if (rc == 0 && !out->families)
        rc = errmsg_fail(err, err_len, "out of memory");
    for (size_t i = 0; rc == 0 && i < out->n; i++)
        if (!strcmp(out->assets[i].kind, "font"))
            out->families[out->nfamilies++] = out->assets[i].family;
    if (rc != 0 || fonts == 0)
        assetdir_free(out); /* without fonts, asset:NAME keeps reading DIR (engine_ctx_opts_t.assets_dir) */
    return rc;
}

void assetdir_free(assetdir_t *d)
{
    for (size_t i = 0; i < d->n; i++) {
        if (d->tmp[0] && !strncmp(d->assets[i].path, d->tmp, strlen(d->tmp)))
            unlink(d->assets[i].path);
        free((char *)d->assets[i].name);
        free((char *)d->assets[i].id);
        free((char *)d->assets[i].path);
        free((char *)d->assets[i].family);
    }
    if (d->tmp[0])
        rmdir(d->tmp);
    free(d->assets);
    free(d->families);
    memset(d, 0, sizeof *d);
}
