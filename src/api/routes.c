#include "api/api.h"

#include "api/batches.h"
#include "api/renders.h"
#include "http/router.h"

void api_register_routes(void)
{
    router_reset();
    api_system_routes();
    api_projects_routes();
    api_files_routes();
    api_templates_routes();
    api_renders_routes();
    api_batches_routes();
    api_webhooks_routes();
    api_hooks_routes();
    api_dashboard_routes();
    api_assets_routes();
    api_partials_routes();
}
