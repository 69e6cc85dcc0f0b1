#include "http/http.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *http_param(const http_req_t *req, const char *name)
{
    size_t n = strlen(name);
    for (int i = 0; i < req->n_params; i++) {
        const char *pn = req->param_names[i];
        /* names point into the route pattern and end at '/' or NUL */
        if (!strncmp(pn, name, n) && (pn[n] == '/' || pn[n] == '\0'))
            return req->param_values[i];
    }
    return NULL;
}

const char *http_query(const http_req_t *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *http_header(const http_req_t *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

void http_add_header(http_req_t *req, const char *name, const char *value)
{
    if (req->n_resp_headers >= HTTP_MAX_RESP_HEADERS)
        return;
    req->resp_headers[req->n_resp_headers][0] = strdup(name);
    req->resp_headers[req->n_resp_headers][1] = strdup(value);
    req->n_resp_headers++;
}

static void set_body(http_req_t *req, int status, const char *type, char *body, size_t len)
{
    free(req->resp_body);
    req->status = status;
    if (type && type != req->resp_type_buf)
        snprintf(req->resp_type_buf, sizeof req->resp_type_buf, "%s", type);
    req->resp_type = type ? req->resp_type_buf : NULL;
    req->resp_body = body;
    req->resp_len = len;
}

void http_respond_json(http_req_t *req, int status, json_t *body)
{
    char *text = body ? json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    if (body)
        json_decref(body);
    if (!text) {
        text =
            strdup("{\"error\":{\"code\":\"internal_error\",\"message\":\"Could not encode the response\"}}");
        status = 500;
    }
    set_body(req, status, "application/json; charset=utf-8", text, strlen(text));
}

void http_respond_bytes(http_req_t *req, int status, const char *content_type, const void *data, size_t len)
{
    char *copy = malloc(len ? len : 1);
    if (!copy) {
        http_error(req, 500, "internal_error", "Out of memory", NULL);
        return;
    }
    if (len)
        memcpy(copy, data, len);
    set_body(req, status, content_type, copy, len);
}

void http_respond_fd(http_req_t *req, int status, const char *content_type, int fd, uint64_t offset,
                     uint64_t len)
{
    set_body(req, status, content_type, NULL, 0);
    req->resp_fd = fd;
    req->resp_fd_offset = offset;
    req->resp_fd_len = len;
}

void http_error(http_req_t *req, int status, const char *code, const char *message, json_t *issues)
{
    json_t *err = json_pack("{s:s, s:s}", "code", code, "message", message);
    if (issues)
        json_object_set_new(err, "issues", issues);
    http_respond_json(req, status, json_pack("{s:o}", "error", err));
}

/* http_suspend/http_resume are implemented by the server (server.c), which owns the request's
 * connection state. */
