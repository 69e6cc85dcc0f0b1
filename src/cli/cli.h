/*
 * cli — the craftkit subcommands. Each takes the arguments after its own name
 * (argv[0] is the subcommand) and returns the process exit code:
 *   0 success, 1 runtime failure (a message on stderr), 2 usage error (usage on stderr).
 * Called from main() on the main thread only.
 */
#ifndef CRAFTKIT_CLI_CLI_H
#define CRAFTKIT_CLI_CLI_H

enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

/* craftkit serve [--migrate]: --migrate applies pending migrations first. */
int cli_serve(int argc, char **argv);
int cli_migrate(int argc, char **argv);
int cli_project(int argc, char **argv);
int cli_key(int argc, char **argv);
/* GET /health of the local server; for container health checks. */
int cli_healthcheck(int argc, char **argv);
/* Offline render of a layout + data to PDF/PNG (engine only, no services). */
int cli_render(int argc, char **argv);

#endif
