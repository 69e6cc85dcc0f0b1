/* netguard — STUB: the real implementation follows; see netguard.h. */
#include "core/netguard.h"

#include <stdio.h>

int netguard_setup_curl(CURL *c, netguard_t *g) { g->refused = false; return 0; }
bool netguard_addr_allowed(const struct sockaddr *sa, bool allow_private) { return allow_private; }
bool netguard_ip_allowed(const char *ip, bool allow_private) { return allow_private; }
int netguard_check_url(const char *url, char *err, size_t err_len) { return 0; }
