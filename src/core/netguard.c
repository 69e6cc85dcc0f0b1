/* netguard — SSRF guard for outgoing requests; see netguard.h. */
#include "core/netguard.h"

#include "core/errmsg.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* ---- address classification ---------------------------------------------------------- */

typedef struct {
    uint32_t net; /* host byte order */
    int prefix;
} v4_range_t;

/* IPv4 ranges never reachable from a client-supplied URL (RFC 6890 special-purpose and the
 * usual SSRF targets). Documentation/benchmark ranges are included: they are never a
 * legitimate public image host, and refusing them costs nothing. */
static const v4_range_t v4_blocked[] = {
    {0x00000000u, 8},  /* 0.0.0.0/8 "this network", includes unspecified */
    {0x0A000000u, 8},  /* 10.0.0.0/8 private */
    {0x64400000u, 10}, /* 100.64.0.0/10 carrier-grade NAT */
    {0x7F000000u, 8},  /* 127.0.0.0/8 loopback */
    {0xA9FE0000u, 16}, /* 169.254.0.0/16 link-local (cloud metadata lives here) */
    {0xAC100000u, 12}, /* 172.16.0.0/12 private */
    {0xC0000000u, 24}, /* 192.0.0.0/24 IETF protocol assignments */
    {0xC0000200u, 24}, /* 192.0.2.0/24 documentation */
    {0xC0586300u, 24}, /* 192.88.99.0/24 6to4 relay anycast */
    {0xC0A80000u, 16}, /* 192.168.0.0/16 private */
    {0xC6120000u, 15}, /* 198.18.0.0/15 benchmarking */
    {0xC6336400u, 24}, /* 198.51.100.0/24 documentation */
    {0xCB007100u, 24}, /* 203.0.113.0/24 documentation */
    {0xE0000000u, 4},  /* 224.0.0.0/4 multicast */
    {0xF0000000u, 4},  /* 240.0.0.0/4 reserved, includes 255.255.255.255 broadcast */
};

static bool v4_public(uint32_t a)
{
    for (size_t i = 0; i < sizeof v4_blocked / sizeof v4_blocked[0]; i++) {
        uint32_t mask = 0xFFFFFFFFu << (32 - v4_blocked[i].prefix);
        if ((a & mask) == v4_blocked[i].net)
            return false;
    }
    return true;
}

static uint32_t be32_at(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bool bytes_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

/* IPv6: refuse the local/special scopes, and judge addresses that embed an IPv4 address
 * (mapped, compatible, NAT64, 6to4, Teredo) by that IPv4 address — otherwise
 * ::ffff:127.0.0.1 or 64:ff9b::a9fe:a9fe would reach loopback or the metadata service. */
static bool v6_public(const uint8_t a[16])
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
    static const uint8_t nat64[12] = {0, 0x64, 0xFF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0};

    if (memcmp(a, mapped, 12) == 0 || memcmp(a, nat64, 12) == 0)
        return v4_public(be32_at(a + 12));
    if (bytes_zero(a, 12)) /* ::/96: unspecified, loopback, deprecated IPv4-compatible; :: and
                              ::1 fall into 0.0.0.0/8 */
        return v4_public(be32_at(a + 12));
    if (a[0] == 0x00 && a[1] == 0x64 && a[2] == 0xFF && a[3] == 0x9B && a[4] == 0 && a[5] == 1)
        return false; /* 64:ff9b:1::/48 local-use NAT64 */
    if (a[0] == 0x01 && a[1] == 0x00 && bytes_zero(a + 2, 6))
        return false;                 /* 100::/64 discard-only */
    if (a[0] == 0x20 && a[1] == 0x02) /* 2002::/16 6to4: IPv4 in bits 16..47 */
        return v4_public(be32_at(a + 2));
    if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0 && a[3] == 0) /* 2001::/32 Teredo */
        return v4_public(~be32_at(a + 12));                     /* client IPv4, inverted */
    if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0D && a[3] == 0xB8)
        return false; /* 2001:db8::/32 documentation */
    if ((a[0] & 0xFE) == 0xFC)
        return false; /* fc00::/7 unique local */
    if (a[0] == 0xFE && (a[1] & 0xC0) == 0x80)
        return false; /* fe80::/10 link-local */
    if (a[0] == 0xFE && (a[1] & 0xC0) == 0xC0)
        return false; /* fec0::/10 site-local (deprecated, still routed internally) */
    if (a[0] == 0xFF)
        return false; /* ff00::/8 multicast */
    return true;
}

bool netguard_addr_allowed(const struct sockaddr *sa, bool allow_private)
{
    if (!sa)
        return false;
    if (sa->sa_family == AF_INET) {
        if (allow_private)
            return true;
        struct sockaddr_in sin;
        memcpy(&sin, sa, sizeof sin);
        return v4_public(ntohl(sin.sin_addr.s_addr));
    }
    if (sa->sa_family == AF_INET6) {
        if (allow_private)
            return true;
        struct sockaddr_in6 sin6;
        memcpy(&sin6, sa, sizeof sin6);
        return v6_public(sin6.sin6_addr.s6_addr);
    }
    return false; /* AF_UNIX and friends: never for a client-supplied URL */
}

bool netguard_ip_allowed(const char *ip, bool allow_private)
{
    if (!ip)
        return false;
    struct sockaddr_in sin = {.sin_family = AF_INET};
    if (inet_pton(AF_INET, ip, &sin.sin_addr) == 1)
        return netguard_addr_allowed((const struct sockaddr *)&sin, allow_private);
    struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6};
    if (inet_pton(AF_INET6, ip, &sin6.sin6_addr) == 1)
        return netguard_addr_allowed((const struct sockaddr *)&sin6, allow_private);
    return false;
}

/* ---- curl integration ---------------------------------------------------------------- */

/* Called by curl for every socket it is about to connect, with the address it resolved —
 * the check happens here, not on the URL text, so a re-resolving name cannot slip past. */
static curl_socket_t guarded_open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *address)
{
    netguard_t *g = clientp;
    if (purpose != CURLSOCKTYPE_IPCXN || !netguard_addr_allowed(&address->addr, g->allow_private)) {
        g->refused = true;
        return CURL_SOCKET_BAD;
    }
    return socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

int netguard_setup_curl(CURL *c, netguard_t *g)
{
    if (!c || !g)
        return -1;
    g->refused = false;
    CURLcode rc = CURLE_OK;
    if (!rc)
        rc = curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    if (!rc)
        rc = curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    if (!rc)
        rc = curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    /* An (environment) proxy would make the connection for us to an address we never see. */
    if (!rc)
        rc = curl_easy_setopt(c, CURLOPT_PROXY, "");
    if (!rc)
        rc = curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, guarded_open_socket);
    if (!rc)
        rc = curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, g);
    return rc == CURLE_OK ? 0 : -1;
}

/* ---- URL syntax ---------------------------------------------------------------------- */

int netguard_check_url(const char *url, char *err, size_t err_len)
{
    if (!url || !*url)
        return errmsg_fail(err, err_len, "URL is empty");
    size_t n = strnlen(url, NETGUARD_URL_MAX + 1);
    if (n > NETGUARD_URL_MAX)
        return errmsg_fail(err, err_len, "URL is too long");
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)url[i];
        if (ch <= 0x20 || ch == 0x7F)
            return errmsg_fail(err, err_len, "URL contains whitespace or control characters");
    }
    if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0)
        return errmsg_fail(err, err_len, "URL must start with http:// or https://");
    const char *authority = strstr(url, "://") + 3;
    if (!*authority || strchr("/?#", *authority)) /* curl would take "https:///x" as host x */
        return errmsg_fail(err, err_len, "URL has no host");

    int ret = -1;
    char *host = NULL, *user = NULL, *password = NULL;
    CURLU *u = curl_url();
    if (!u)
        return errmsg_fail(err, err_len, "out of memory");
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK) {
        errmsg_fail(err, err_len, "URL is not valid");
        goto cleanup;
    }
    if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host || !*host) {
        errmsg_fail(err, err_len, "URL has no host");
        goto cleanup;
    }
    if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
        curl_url_get(u, CURLUPART_PASSWORD, &password, 0) == CURLUE_OK) {
        errmsg_fail(err, err_len, "URL must not contain a user name or password");
        goto cleanup;
    }
    ret = 0;
cleanup:
    curl_free(host);
    curl_free(user);
    curl_free(password);
    curl_url_cleanup(u);
    return ret;
}
