/*
 * api — registers every route of the HTTP API with the router (main thread, before the
 * server starts). One file per resource implements the handlers.
 */
#ifndef CRAFTKIT_API_API_H
#define CRAFTKIT_API_API_H

#include <stdbool.h>
#include <stddef.h>

void api_register_routes(void);
/* Adds a component to GET /ready (e.g. "storage"); fn returns false + err when it is down. */
void system_add_ready_check(const char *name, bool (*fn)(char *err, size_t err_len));

/* Per-resource registration, called by api_register_routes. */
void api_system_routes(void);
void api_projects_routes(void);
void api_files_routes(void);
void api_templates_routes(void);
void api_webhooks_routes(void);
void api_hooks_routes(void);
void api_dashboard_routes(void);
void api_assets_routes(void);
void api_partials_routes(void);

#endif
