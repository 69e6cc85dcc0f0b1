/*
 * netguard — the SSRF guard for every outgoing HTTP request the server makes on behalf of a
 * client (fetched images, outgoing webhooks).
 *
 * netguard_setup_curl() makes a CURL easy handle safe: only http/https (also on redirects),
 * redirects are not followed, and an open-socket callback checks the RESOLVED address right
 * before connect(), so DNS rebinding (a name that resolves to a public address when checked
 * and to 127.0.0.1 when used) cannot bypass it. Refused unless allow_private: loopback,
 * RFC 1918 private, link-local, CGNAT 100.64/10, unspecified, multicast, broadcast, reserved
 * 240/4, "this network" 0/8, IPv6 ULA fc00::/7, site-local fec0::/10, IPv4-mapped/compatible,
 * NAT64 and 6to4 forms of those, and anything that is not AF_INET/AF_INET6.
 * Proxies are disabled on the handle (a proxy would connect on our behalf, unchecked).
 *
 * Threads: all functions are pure and thread-safe; the CURL handle stays the caller's.
 * Memory: nothing is allocated.
 */
#ifndef CRAFTKIT_CORE_NETGUARD_H
#define CRAFTKIT_CORE_NETGUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include <curl/curl.h>

/* Message put in curl's error buffer / returned when an address is refused. */
#define NETGUARD_REFUSED_MSG "address is not allowed (private network)"

/* Per-handle guard state, owned by the caller; must stay valid while c performs transfers
 * (e.g. keep it next to the CURL handle, or on the stack around one curl_easy_perform). */
typedef struct netguard {
    bool allow_private; /* in: skip the address check (operator opt-in; protocol limits stay) */
    bool refused;       /* out: set when a resolved address was refused (reset by setup) */
} netguard_t;

/* Installs the guard on c (protocols, no redirects, no proxy, connect-time address check) and
 * clears g->refused. Returns 0, or -1 if curl refused an option. Call again after
 * curl_easy_reset(). After a failed transfer, g->refused tells whether the guard caused it. */
int netguard_setup_curl(CURL *c, netguard_t *g);

/* True if a connection to sa may be made. */
bool netguard_addr_allowed(const struct sockaddr *sa, bool allow_private);

/* True if the text IPv4/IPv6 literal is allowed (false for text that is not an address). */
bool netguard_ip_allowed(const char *ip, bool allow_private);

/* Syntactic check of a URL a client gave us: http or https only, a host, no userinfo, no
 * whitespace/control characters, at most NETGUARD_URL_MAX bytes. 0, or -1 + err. */
#define NETGUARD_URL_MAX 2048
int netguard_check_url(const char *url, char *err, size_t err_len);

#endif
