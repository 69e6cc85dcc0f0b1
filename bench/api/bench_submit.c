/*
 * bench_submit — POSTs the same JSON body N times over C keep-alive connections (libcurl
 * multi), then exits; prints how many were answered 202/200 and the rate.
 * Usage: bench_submit URL KEY BODY_FILE N CONNECTIONS
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "../bench_util.h"

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

static char *read_file(const char *path, long *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    *len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)*len + 1);
    if (buf && fread(buf, 1, (size_t)*len, f) != (size_t)*len) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: bench_submit URL KEY BODY_FILE N CONNECTIONS\n");
        return 2;
    }
    long body_len = 0;
    char *body = read_file(argv[3], &body_len);
    int total = atoi(argv[4]), conns = atoi(argv[5]);
    if (!body || total < 1 || conns < 1) {
        fprintf(stderr, "bench_submit: bad arguments\n");
        return 2;
    }
    char auth[256];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", argv[2]);
    struct curl_slist *headers = curl_slist_append(NULL, auth);
    headers = curl_slist_append(headers, "Content-Type: application/json");
    headers = curl_slist_append(headers, "Expect:");
    curl_global_init(CURL_GLOBAL_ALL);
    CURLM *multi = curl_multi_init();
    CURL **easy = calloc((size_t)conns, sizeof *easy);
    int started = 0, finished = 0, ok = 0, running = 0;
    double t0 = bench_wall_s();
    for (int i = 0; i < conns && started < total; i++, started++) {
        easy[i] = curl_easy_init();
        curl_easy_setopt(easy[i], CURLOPT_URL, argv[1]);
        curl_easy_setopt(easy[i], CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(easy[i], CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(easy[i], CURLOPT_POSTFIELDSIZE, body_len);
        curl_easy_setopt(easy[i], CURLOPT_WRITEFUNCTION, discard);
        curl_multi_add_handle(multi, easy[i]);
    }
    while (finished < total) {
        curl_multi_perform(multi, &running);
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(multi, &left)) != NULL) {
            if (m->msg != CURLMSG_DONE)
                continue;
            long status = 0;
            curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
            finished++;
            ok += m->data.result == CURLE_OK && (status == 202 || status == 200);
            curl_multi_remove_handle(multi, m->easy_handle);
            if (started < total) { /* the same handle, so its connection is reused */
                started++;
                curl_multi_add_handle(multi, m->easy_handle);
            }
        }
        if (finished < total)
            curl_multi_poll(multi, NULL, 0, 100, NULL);
    }
    double secs = bench_wall_s() - t0;
    printf("submitted=%d accepted=%d seconds=%.2f per_s=%.0f\n", total, ok, secs, total / secs);
    for (int i = 0; i < conns; i++)
        if (easy[i])
            curl_easy_cleanup(easy[i]);
    curl_multi_cleanup(multi);
    curl_slist_free_all(headers);
    free(easy);
    free(body);
    curl_global_cleanup();
    return ok == total ? 0 : 1;
}
