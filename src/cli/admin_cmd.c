/* craftkit migrate | project create NAME | key create ... | key revoke KEY_ID */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/common.h"
#include "db/migrate.h"
#include "db/projects_repo.h"

int cli_migrate(int argc, char **argv)
{
    if (argc != 1) {
        fprintf(stderr, "usage: craftkit migrate\n");
        return CLI_USAGE;
    }
    config_t cfg;
    if (cli_load_config(&cfg) != 0)
        return CLI_FAIL;
    int rc = CLI_FAIL, applied = 0;
    char err[1024];
    db_t *db = cli_open_db(&cfg);
    if (!db)
        goto cleanup;
    if (migrate_apply(db, &applied, err, sizeof err) != 0) {
        fprintf(stderr, "craftkit migrate: %s\n", err);
        goto cleanup;
    }
    printf("migrations: %d applied, database up to date\n", applied);
    rc = CLI_OK;
cleanup:
    db_close(db);
    config_free(&cfg);
    return rc;
}

static int print_repo_error(const char *what, repo_status_t st, const char *err)
{
    if (st == REPO_NOT_FOUND)
        fprintf(stderr, "craftkit: %s: not found\n", what);
    else if (st == REPO_CONFLICT)
        fprintf(stderr, "craftkit: %s: already exists\n", what);
    else
        fprintf(stderr, "craftkit: %s: %s\n", what, err);
    return CLI_FAIL;
}

int cli_project(int argc, char **argv)
{
    if (argc != 3 || strcmp(argv[1], "create") != 0 || !argv[2][0] || strlen(argv[2]) > 120) {
        fprintf(stderr, "usage: craftkit project create NAME   (NAME: 1-120 characters)\n");
        return CLI_USAGE;
    }
    config_t cfg;
    if (cli_load_config(&cfg) != 0)
        return CLI_FAIL;
    int rc = CLI_FAIL;
    char err[1024];
    json_t *project = NULL, *key = NULL;
    db_t *db = cli_open_db(&cfg);
    if (!db)
        goto cleanup;
    repo_status_t st = projects_create(db, argv[2], NULL, &project, err, sizeof err);
    if (st != REPO_OK) {
        rc = print_repo_error("project create", st, err);
        goto cleanup;
    }
    const char *id = json_string_value(json_object_get(project, "id"));
    st = keys_create(db, id, "default", "live", &key, err, sizeof err);
    if (st != REPO_OK) {
        rc = print_repo_error("key create", st, err);
        goto cleanup;
    }
    printf("project_id=%s\nproject_slug=%s\nkey_id=%s\nkey=%s\n", id,
           json_string_value(json_object_get(project, "slug")), json_string_value(json_object_get(key, "id")),
           json_string_value(json_object_get(key, "key")));
    rc = CLI_OK;
cleanup:
    json_decref(project);
    json_decref(key);
    db_close(db);
    config_free(&cfg);
    return rc;
}

static int key_usage(void)
{
    fprintf(stderr, "usage: craftkit key create --project ID [--test] [--name NAME]\n"
                    "       craftkit key revoke KEY_ID\n");
    return CLI_USAGE;
}

int cli_key(int argc, char **argv)
{
    const char *project = NULL, *name = "", *revoke = NULL;
    bool test = false, create = false;
    if (argc >= 2 && !strcmp(argv[1], "create")) {
        create = true;
        for (int i = 2; i < argc; i++) {
            if (!strcmp(argv[i], "--project") && i + 1 < argc)
                project = argv[++i];
            else if (!strcmp(argv[i], "--name") && i + 1 < argc)
                name = argv[++i];
            else if (!strcmp(argv[i], "--test"))
                test = true;
            else
                return key_usage();
        }
        if (!project || strlen(name) > 120)
            return key_usage();
    } else if (argc == 3 && !strcmp(argv[1], "revoke")) {
        revoke = argv[2];
    } else {
        return key_usage();
    }
    config_t cfg;
    if (cli_load_config(&cfg) != 0)
        return CLI_FAIL;
    int rc = CLI_FAIL;
    char err[1024];
    json_t *out = NULL;
    db_t *db = cli_open_db(&cfg);
    if (!db)
        goto cleanup;
    repo_status_t st = create ? keys_create(db, project, name, test ? "test" : "live", &out, err, sizeof err)
                              : keys_revoke(db, NULL, revoke, &out, err, sizeof err);
    if (st != REPO_OK) {
        rc = print_repo_error(create ? "key create: project" : "key revoke: key", st, err);
        goto cleanup;
    }
    if (create)
        printf("key_id=%s\nkey=%s\n", json_string_value(json_object_get(out, "id")),
               json_string_value(json_object_get(out, "key")));
    else
        printf("key_id=%s\nrevoked_at=%s\n", json_string_value(json_object_get(out, "id")),
               json_string_value(json_object_get(out, "revokedAt")));
    rc = CLI_OK;
cleanup:
    json_decref(out);
    db_close(db);
    config_free(&cfg);
    return rc;
}
