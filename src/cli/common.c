#include "cli/common.h"

#include <stdio.h>

#include "core/errmsg.h"
#include "core/log.h"

int cli_load_config(config_t *cfg)
{
    char err[ERRMSG_LEN];
    if (config_load(cfg, err, sizeof err) != 0) {
        fprintf(stderr, "craftkit: configuration error: %s\n", err);
        return -1;
    }
    config_set(cfg);
    log_set_json(cfg->log_format == CONFIG_LOG_JSON);
    return 0;
}

db_t *cli_open_db(const config_t *cfg)
{
    char err[ERRMSG_LEN];
    db_t *db = db_open(cfg->database_url, err, sizeof err);
    if (!db)
        fprintf(stderr, "craftkit: %s\n", err);
    return db;
}
