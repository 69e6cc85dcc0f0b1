/*
 * cli common — start-up steps shared by subcommands: load and publish the configuration,
 * open a database connection. Main thread only.
 */
#ifndef CRAFTKIT_CLI_COMMON_H
#define CRAFTKIT_CLI_COMMON_H

#include "core/config.h"
#include "db/db.h"

/* Loads the config from the environment into cfg and publishes it; prints the error. 0 or -1. */
int cli_load_config(config_t *cfg);
/* Opens a connection to DATABASE_URL; prints the error. NULL on failure. */
db_t *cli_open_db(const config_t *cfg);

#endif
