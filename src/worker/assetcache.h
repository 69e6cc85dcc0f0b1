/*
 * assetcache — the brand assets of one render as local files, for the engine.
 *
 * The engine reads assets only from local disk (engine_asset_t.path), so that a render needs
 * neither storage nor the database and runs the same in this process or a helper. This module
 * asks Postgres which assets the render may use (db/assets_repo: assets_for_render, with a
 * published version's pinned bytes) and makes sure each is a file CRAFTKIT_ASSET_CACHE_DIR/
 * <sha256>: missing ones are read from storage once, checked against their sha256 and written
 * atomically (temporary file, rename), so every instance fills its own cache on first use and
 * concurrent fills of the same file are harmless. Files never change once written (the name is
 * the content's hash).
 * Threads: any thread with its own db and storage (storage_thread()).
 * Memory: assetcache_set_t owns its arrays; assetcache_set_free releases them.
 */
#ifndef CRAFTKIT_WORKER_ASSETCACHE_H
#define CRAFTKIT_WORKER_ASSETCACHE_H

#include <craftkit/engine.h>
#include <stddef.h>

#include "db/assets_repo.h"

typedef struct assetcache_set {
    engine_asset_t *assets; /* for engine_render_opts_t.assets (never NULL after a load) */
    size_t n;
    asset_file_t *rows;
    char (*paths)[1024];
} assetcache_set_t;

/* Loads the assets a render of version_id (NULL/"" for an unsaved layout) of project_id may
 * use. 0, or -1 with err (the database, the storage, or a stored object whose bytes differ). */
int assetcache_load(db_t *db, const char *project_id, const char *version_id, assetcache_set_t *out,
                    char *err, size_t err_len);
void assetcache_set_free(assetcache_set_t *s);

#endif
