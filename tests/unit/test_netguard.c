/* Unit tests for src/core/netguard: address classification, URL syntax, and real fetches
 * from a local stub server that the guard must refuse (or allow with allow_private). */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "core/netguard.h"
#include "stub_http.h"
#include "tu.h"

static const struct {
    const char *ip;
    bool allowed; /* with allow_private = false */
} addr_cases[] = {
    /* public */
    {"8.8.8.8", true},
    {"1.1.1.1", true},
    {"93.184.216.34", true},
    {"100.63.255.255", true}, /* just below CGNAT */
    {"100.128.0.0", true},    /* just above CGNAT */
    {"172.15.255.255", true}, /* just below 172.16/12 */
    {"172.32.0.0", true},     /* just above */
    {"192.167.255.255", true},
    {"192.169.0.0", true},
    {"169.253.255.255", true},
    {"11.0.0.0", true},
    {"126.255.255.255", true},
    {"128.0.0.1", true},
    {"223.255.255.255", true},
    {"2606:4700:4700::1111", true},
    {"2001:4860:4860::8888", true},
    {"::ffff:8.8.8.8", true},
    {"64:ff9b::808:808", true}, /* NAT64 of 8.8.8.8 */
    {"2002:808:808::1", true},  /* 6to4 of 8.8.8.8 */
    {"::8.8.8.8", true},        /* deprecated IPv4-compatible, public */
    {"fbff:ffff::1", true},     /* just below fc00::/7 */
    {"fe00::1", true},          /* between ULA and link-local... global per table */
    /* loopback */
    {"127.0.0.1", false},
    {"127.255.255.254", false},
    {"::1", false},
    {"::ffff:127.0.0.1", false},
    {"::127.0.0.1", false},
    {"64:ff9b::7f00:1", false},
    {"2002:7f00:1::1", false},
    /* unspecified / this network */
    {"0.0.0.0", false},
    {"0.1.2.3", false},
    {"::", false},
    {"::ffff:0.0.0.0", false},
    /* private */
    {"10.0.0.1", false},
    {"10.255.255.255", false},
    {"172.16.0.1", false},
    {"172.31.255.255", false},
    {"192.168.0.1", false},
    {"192.168.255.255", false},
    {"::ffff:10.1.2.3", false},
    {"::ffff:192.168.1.1", false},
    {"2002:c0a8:101::1", false}, /* 6to4 of 192.168.1.1 */
    /* link-local, including cloud metadata */
    {"169.254.0.1", false},
    {"169.254.169.254", false},
    {"::ffff:169.254.169.254", false},
    {"64:ff9b::a9fe:a9fe", false},
    {"fe80::1", false},
    {"febf:ffff::1", false},
    /* CGNAT */
    {"100.64.0.1", false},
    {"100.127.255.255", false},
    /* multicast, broadcast, reserved */
    {"224.0.0.1", false},
    {"239.255.255.255", false},
    {"240.0.0.1", false},
    {"255.255.255.255", false},
    {"ff02::1", false},
    {"ff0e::1", false},
    /* IPv6 special */
    {"fc00::1", false},
    {"fd12:3456:789a::1", false},
    {"fec0::1", false},
    {"64:ff9b:1::1", false},
    {"100::1", false},
    {"2001:db8::1", false},
    {"2001:0:4136:e378:8000:63bf:80ff:fffe", false}, /* Teredo, client 127.0.0.1 */
    {"2001:0:4136:e378:8000:63bf:f7f7:f7f7", true},  /* Teredo, client 8.8.8.8 */
    /* other special IPv4 */
    {"192.0.0.8", false},
    {"192.0.2.1", false},
    {"198.18.0.1", false},
    {"198.51.100.1", false},
    {"203.0.113.1", false},
    {"192.88.99.1", false},
};

START_TEST(address_table)
{
    const char *ip = addr_cases[_i].ip;
    ck_assert_msg(netguard_ip_allowed(ip, false) == addr_cases[_i].allowed, "%s: expected %s", ip,
                  addr_cases[_i].allowed ? "allowed" : "refused");
    ck_assert_msg(netguard_ip_allowed(ip, true), "%s must be allowed with allow_private", ip);
}
END_TEST

START_TEST(not_addresses_and_other_families)
{
    ck_assert(!netguard_ip_allowed(NULL, true));
    ck_assert(!netguard_ip_allowed("", true));
    ck_assert(!netguard_ip_allowed("localhost", true));
    ck_assert(!netguard_ip_allowed("127.1", true)); /* inet_pton refuses short forms */
    ck_assert(!netguard_ip_allowed("0x7f.0.0.1", true));
    ck_assert(!netguard_ip_allowed("1.2.3.4.5", true));
    ck_assert(!netguard_addr_allowed(NULL, true));
    struct sockaddr sa = {.sa_family = AF_UNIX};
    ck_assert(!netguard_addr_allowed(&sa, true));
    ck_assert(!netguard_addr_allowed(&sa, false));
}
END_TEST

static const struct {
    const char *url;
    bool ok;
} url_cases[] = {
    {"https://example.com/logo.png", true},
    {"http://example.com", true},
    {"HTTPS://EXAMPLE.COM/a?b=c#d", true},
    {"https://[2606:4700::1]:8443/x", true},
    {"http://127.0.0.1/x", true}, /* syntactically fine; refused at connect time */
    {"", false},
    {"example.com/logo.png", false},
    {"ftp://example.com/x", false},
    {"file:///etc/passwd", false},
    {"gopher://example.com/", false},
    {"javascript:alert(1)", false},
    {"data:image/png;base64,AAAA", false},
    {"http://", false},
    {"https:///path", false},
    {"http:/example.com", false},
    {"https://user:pass@example.com/", false},
    {"https://user@example.com/", false},
    {"https://@example.com/", false},
    {"https://exa mple.com/", false},
    {"https://example.com/\r\nHost: evil", false},
    {"https://example.com/\t", false},
    {" https://example.com/", false},
};

START_TEST(url_table)
{
    char err[128] = "";
    int rc = netguard_check_url(url_cases[_i].url, err, sizeof err);
    ck_assert_msg((rc == 0) == url_cases[_i].ok, "%s: rc=%d err=%s", url_cases[_i].url, rc, err);
    if (rc != 0)
        ck_assert(err[0] != 0);
}
END_TEST

START_TEST(url_too_long_or_null)
{
    char err[128];
    ck_assert_int_eq(netguard_check_url(NULL, err, sizeof err), -1);
    static char url[NETGUARD_URL_MAX + 100];
    strcpy(url, "https://example.com/");
    memset(url + strlen(url), 'a', sizeof url - strlen(url) - 1);
    ck_assert_int_eq(netguard_check_url(url, err, sizeof err), -1);
    ck_assert_str_eq(err, "URL is too long");
}
END_TEST

/* ---- real fetches against 127.0.0.1 ---- */

static stub_http_t server;
static const stub_route_t routes[] = {
    {"/ok", 200, "text/plain", "hello", 5, 0, 0, NULL},
    {"/redirect", 302, "text/plain", "", 0, 0, 0, "Location: /ok\r\n"},
};

static void server_up(void)
{
    ck_assert_int_eq(stub_http_start(&server, routes, 2), 0);
}
static void server_down(void)
{
    stub_http_stop(&server);
}

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
    strncat(ud, p, size * n < 63 ? size * n : 63);
    return size * n;
}

/* Fetches url through the guard; returns the curl code, fills HTTP status and body. */
static CURLcode fetch(const char *url, bool allow_private, const char *resolve, netguard_t *g, long *status,
                      char body[64])
{
    CURL *c = curl_easy_init();
    ck_assert_ptr_nonnull(c);
    struct curl_slist *res = resolve ? curl_slist_append(NULL, resolve) : NULL;
    body[0] = 0;
    *status = 0;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L); /* the guard must turn this off */
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
    if (res)
        curl_easy_setopt(c, CURLOPT_RESOLVE, res);
    g->allow_private = allow_private;
    ck_assert_int_eq(netguard_setup_curl(c, g), 0);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    curl_easy_cleanup(c);
    curl_slist_free_all(res);
    return rc;
}

START_TEST(loopback_fetch_refused_then_allowed)
{
    char url[128], body[64];
    long status;
    netguard_t g;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/ok", server.port);

    CURLcode rc = fetch(url, false, NULL, &g, &status, body);
    ck_assert_int_ne(rc, CURLE_OK);
    ck_assert(g.refused);
    ck_assert_str_eq(body, "");

    rc = fetch(url, true, NULL, &g, &status, body);
    ck_assert_int_eq(rc, CURLE_OK);
    ck_assert(!g.refused);
    ck_assert_int_eq(status, 200);
    ck_assert_str_eq(body, "hello");
}
END_TEST

/* A public-looking name that resolves to loopback (what DNS rebinding produces) is refused,
 * because the check runs on the resolved address at connect time. */
START_TEST(name_resolving_to_loopback_refused)
{
    char url[128], resolve[128], body[64];
    long status;
    netguard_t g;
    snprintf(url, sizeof url, "http://images.example.com:%d/ok", server.port);
    snprintf(resolve, sizeof resolve, "images.example.com:%d:127.0.0.1", server.port);
    ck_assert_int_ne(fetch(url, false, resolve, &g, &status, body), CURLE_OK);
    ck_assert(g.refused);
    snprintf(url, sizeof url, "http://localhost:%d/ok", server.port);
    ck_assert_int_ne(fetch(url, false, NULL, &g, &status, body), CURLE_OK);
    ck_assert(g.refused);
}
END_TEST

START_TEST(redirects_not_followed_and_protocols_limited)
{
    char url[128], body[64];
    long status;
    netguard_t g;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/redirect", server.port);
    ck_assert_int_eq(fetch(url, true, NULL, &g, &status, body), CURLE_OK);
    ck_assert_int_eq(status, 302);
    ck_assert_str_eq(body, "");
    ck_assert_int_eq(fetch("file:///etc/hostname", true, NULL, &g, &status, body),
                     CURLE_UNSUPPORTED_PROTOCOL);
}
END_TEST

static Suite *netguard_suite(void)
{
    Suite *s = suite_create("netguard");
    TCase *t = tcase_create("classify");
    tcase_add_loop_test(t, address_table, 0, sizeof addr_cases / sizeof addr_cases[0]);
    tcase_add_test(t, not_addresses_and_other_families);
    tcase_add_loop_test(t, url_table, 0, sizeof url_cases / sizeof url_cases[0]);
    tcase_add_test(t, url_too_long_or_null);
    suite_add_tcase(s, t);

    TCase *f = tcase_create("fetch");
    tcase_add_checked_fixture(f, server_up, server_down);
    tcase_add_test(f, loopback_fetch_refused_then_allowed);
    tcase_add_test(f, name_resolving_to_loopback_refused);
    tcase_add_test(f, redirects_not_followed_and_protocols_limited);
    suite_add_tcase(s, f);
    return s;
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = tu_run(netguard_suite());
    curl_global_cleanup();
    return rc;
}
