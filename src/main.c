/*
 * craftkit — self-hostable document rendering API.
 * main() only dispatches to a subcommand in src/cli/.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "worker/sandbox.h"

static const char usage[] =
    "usage: craftkit <command> [arguments]\n"
    "\n"
    "commands:\n"
    "  serve [--migrate]                       run the HTTP API and the render workers\n"
    "                                          (--migrate: apply pending migrations first)\n"
    "  migrate                                 apply pending database migrations\n"
    "  project create NAME                     create a project; prints its id and a live key\n"
    "  key create --project ID [--test] [--name N]\n"
    "                                          mint an API key (shown once)\n"
    "  key revoke KEY_ID                       revoke an API key\n"
    "  render --layout L.json [--manifest M.json] --data D.json -o OUT.pdf|OUT.png\n"
    "                                          render offline, no services needed\n"
    "  healthcheck                             ask the local server for /health (exit 0 = healthy)\n"
    "  version                                 print the version\n"
    "  help                                    print this help\n"
    "\n"
    "Settings come from the environment; see docs/operations.md.\n";

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return CLI_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        fputs(usage, stdout);
        return CLI_OK;
    }
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("craftkit %s\n", CRAFTKIT_VERSION);
        return CLI_OK;
    }
    static const struct {
        const char *name;
        int (*run)(int, char **);
    } commands[] = {
        {"serve", cli_serve},
        {"migrate", cli_migrate},
        {"project", cli_project},
        {"key", cli_key},
        {"render", cli_render},
        {"healthcheck", cli_healthcheck},
        /* not in the usage: the render helper processes that `serve` starts (worker/sandbox.h) */
        {"render-helper", sandbox_helper_main},
    };
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(cmd, commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "craftkit: unknown command \"%s\"\n\n%s", cmd, usage);
    return CLI_USAGE;
}
