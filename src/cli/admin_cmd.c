#include <stdio.h>

#include "cli/cli.h"

/* Temporary: filled in with the foundation (serve, migrate, project, key). */
int cli_serve(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "not yet\n"); return CLI_FAIL; }
int cli_migrate(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "not yet\n"); return CLI_FAIL; }
int cli_project(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "not yet\n"); return CLI_FAIL; }
int cli_key(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "not yet\n"); return CLI_FAIL; }
