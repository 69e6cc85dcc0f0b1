#include <stdio.h>

#include "cli/cli.h"

/* Placeholder until the document engine lands (issue 4). */
int cli_render(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "craftkit render: the document engine is not built yet\n");
    return CLI_FAIL;
}
