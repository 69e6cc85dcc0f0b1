/*
 * harness_render — helpers for tests of the render pipeline: templates, polling renders until
 * they are terminal, reading PDFs back as text, and firing requests from many threads at once.
 * Memory: returned strings and responses belong to the caller (free / th_resp_free).
 */
#ifndef CRAFTKIT_TEST_HARNESS_RENDER_H
#define CRAFTKIT_TEST_HARNESS_RENDER_H

#include "harness.h"

/* A small invoice manifest with a required text, a currency, an optional image and a loop. */
#define TH_INVOICE_MANIFEST                                                                                  \
    "{\"variables\":[{\"key\":\"customer.name\",\"label\":\"Customer\",\"dataType\":\"text\",\"required\":"  \
    "true},"                                                                                                 \
    "{\"key\":\"total\",\"dataType\":\"currency\",\"format\":\"money:EUR\",\"required\":true},"              \
    "{\"key\":\"logo\",\"dataType\":\"image\"}],"                                                            \
    "\"loops\":[{\"key\":\"items\",\"itemFields\":[{\"key\":\"name\",\"dataType\":\"text\",\"required\":"    \
    "true},"                                                                                                 \
    "{\"key\":\"qty\",\"dataType\":\"number\",\"required\":true}]}]}"

/* Data that TH_INVOICE_MANIFEST accepts. */
#define TH_INVOICE_DATA                                                                                      \
    "{\"customer\":{\"name\":\"Ada Lovelace\"},\"total\":\"49.90\",\"items\":[{\"name\":\"Analytical "       \
    "engine\",\"qty\":2}]}"

/* th_invoice_project, then PATCHes the project's rate limits (limits: a JSON body such as
 * {"rateLimit":0.01,"rateBurst":3}); asserts 200. */
void th_limited_project(th_server_t *s, const char *name, const char *slug, const char *limits, char id[64],
                        char key[128]);
/* POST /v1/templates/<slug>/render with body and headers (NULL-terminated or NULL). */
th_resp_t *th_render_post(th_server_t *s, const char *key, const char *slug, const char *body,
                          const char *const *headers);
/* Creates a template with this slug and manifest (and the generated layout); aborts unless 201. */
void th_template(th_server_t *s, const char *key, const char *slug, const char *manifest);
/* A new project (live key) with one TH_INVOICE_MANIFEST template under slug: what most render
 * tests start from. */
void th_invoice_project(th_server_t *s, const char *name, const char *slug, char id[64], char key[128]);
/* Polls GET /v1/renders/:id until the status is terminal or timeout_ms passes; returns the last
 * response (never NULL). */
th_resp_t *th_wait_render(th_server_t *s, const char *key, const char *id, int timeout_ms);
/* GET /v1/batches/:id. */
th_resp_t *th_get_batch(th_server_t *s, const char *key, const char *id);
/* Polls the batch until completedAt is set, an answer is not 200, or timeout_ms passes; returns
 * the last response (never NULL). */
th_resp_t *th_wait_batch(th_server_t *s, const char *key, const char *id, int timeout_ms);
/* Polls the batch until it shows expiredAt (its merged file went under retention); false when
 * timeout_ms passes first. */
bool th_wait_merge_expired(th_server_t *s, const char *key, const char *id, int timeout_ms);
/* A string member of o, "" when absent or not a string. */
const char *th_str(const json_t *o, const char *k);
/* POSTs body to base_url's /v1/templates/<slug>/render, asserts 202 and copies the render id
 * (inside a Check test). base_url NULL: the server's own. */
void th_submit_ok(th_server_t *s, const char *base_url, const char *key, const char *slug, const char *body,
                  char id[64]);
/* GET /v1/renders/:id/download must answer 409 not_ready, its message containing needle
 * (unless NULL): the file of a render that is not (or never will be) succeeded. */
void th_assert_not_ready(th_server_t *s, const char *key, const char *id, const char *needle);
/* GET /v1/renders/:id/download of a succeeded render, asserting 200 (inside a Check test), saved
 * as <server dir>/<prefix>-<id>.pdf with that path in file (for a tool that reads files). Returns
 * the response (th_resp_free). */
th_resp_t *th_download_to(th_server_t *s, const char *key, const char *id, const char *prefix, char *file,
                          size_t file_len);
/* The status string of a render response ("" when absent). */
const char *th_status(const th_resp_t *r);
/* A render body for TH_INVOICE_MANIFEST with rows loop items (a long document); caller frees. */
char *th_long_invoice_body(int rows);
/* Text of a PDF (pdftotext), or NULL when it is not one. */
char *th_pdf_text(const char *pdf, size_t len);

/* Sends the same request from n threads at once (all start together); fills out[n]. */
void th_parallel(th_server_t *s, int n, const char *method, const char *path, const char *auth,
                 const char *body, const char *const *headers, th_resp_t **out);

/* A loopback HTTP server (in a child process) that serves one SVG image, optionally slowly:
 * /logo.svg now, /slow.svg after delay_ms, anything else 404. Stop with th_images_stop. */
typedef struct th_images {
    int pid;
    int port;
} th_images_t;
void th_images_start(th_images_t *im, int delay_ms);
void th_images_stop(th_images_t *im);

#endif
