/* craftkit healthcheck: asks this machine's server for GET /health (for Docker's HEALTHCHECK,
 * which then needs no curl in the image). Exit 0 when it answers 200 within 3 s, 1 otherwise. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

#define HEALTH_TIMEOUT_MS 3000

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

/* The port of CRAFTKIT_LISTEN ("host:port" or "port"; default 8080). */
static long listen_port(void)
{
    const char *v = getenv("CRAFTKIT_LISTEN");
    if (!v || !*v)
        return 8080;
    const char *colon = strrchr(v, ':');
    long port = strtol(colon ? colon + 1 : v, NULL, 10);
    return port > 0 && port < 65536 ? port : 8080;
}

int cli_healthcheck(int argc, char **argv)
{
    (void)argv;
    if (argc != 1) {
        fprintf(stderr, "usage: craftkit healthcheck   (asks 127.0.0.1:<CRAFTKIT_LISTEN port>/health)\n");
        return CLI_USAGE;
    }
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%ld/health", listen_port());
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *c = curl_easy_init();
    long status = 0;
    CURLcode rc = CURLE_FAILED_INIT;
    if (c) {
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)HEALTH_TIMEOUT_MS);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_PROXY, "");
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
        rc = curl_easy_perform(c);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_cleanup(c);
    }
    curl_global_cleanup();
    if (rc == CURLE_OK && status == 200) {
        printf("healthy\n");
        return CLI_OK;
    }
    fprintf(stderr, "craftkit healthcheck: %s: %s\n", url,
            rc != CURLE_OK ? curl_easy_strerror(rc) : "did not answer 200");
    return CLI_FAIL;
}
