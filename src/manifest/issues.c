#include "manifest/issues.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void issues_init(issues_t *is, size_t max_paths)
{
    memset(is, 0, sizeof *is);
    is->max_paths = max_paths;
}

void issues_free(issues_t *is)
{
    json_decref(is->form);
    json_decref(is->fields);
    is->form = is->fields = NULL;
    is->paths = 0;
    is->truncated = false;
}

bool issues_any(const issues_t *is)
{
    return is->form || is->fields;
}

bool issues_full(const issues_t *is)
{
    return is->truncated;
}

static int append_form(issues_t *is, const char *msg)
{
    if (!is->form && !(is->form = json_array()))
        return -1;
    return json_array_append_new(is->form, json_string(msg));
}

/* Cuts off a multi-byte character that an earlier snprintf left incomplete at msg's end. */
static void drop_partial_tail(char *msg)
{
    size_t len = strlen(msg), lead = len;
    while (lead > 0 && ((unsigned char)msg[lead - 1] & 0xC0) == 0x80)
        lead--;
    if (lead > 0 && ((unsigned char)msg[lead - 1] & 0x80)) {
        unsigned char c = (unsigned char)msg[lead - 1];
        size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
        if (len - (lead - 1) < need)
            msg[lead - 1] = '\0';
    }
}

/* msg may come from client data, cut short by whoever formatted it: the JSON string is always
 * valid UTF-8 — cut at a character boundary past ISSUES_MESSAGE_MAX, without a character left
 * incomplete at its end, and as a last resort with every non-ASCII byte shown as '?' (json_string
 * refuses invalid UTF-8, which would leave a path without a message). */
static json_t *message_string(const char *msg)
{
    char buf[ISSUES_MESSAGE_MAX];
    size_t len = strlen(msg);
    if (len >= ISSUES_MESSAGE_MAX) {
        size_t cut = ISSUES_MESSAGE_MAX - 4;
        while (cut > 0 && ((unsigned char)msg[cut] & 0xC0) == 0x80)
            cut--;
        memcpy(buf, msg, cut);
        memcpy(buf + cut, "...", 4);
    } else {
        memcpy(buf, msg, len + 1);
    }
    json_t *s = json_string(buf);
    if (s)
        return s;
    drop_partial_tail(buf);
    if ((s = json_string(buf)) != NULL)
        return s;
    for (char *p = buf; *p; p++)
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    return json_string(buf);
}

bool issues_add(issues_t *is, const char *path, const char *msg)
{
    if (is->truncated)
        return false;
    if (!path || !*path) {
        if (!is->form && !(is->form = json_array()))
            return false;
        json_array_append_new(is->form, message_string(msg));
        return true;
    }
    if (!is->fields && !(is->fields = json_object()))
        return false;
    json_t *list = json_object_get(is->fields, path);
    if (!list) {
        if (is->paths >= is->max_paths) {
            is->truncated = true;
            char note[128];
            snprintf(note, sizeof note, "Too many errors: only the first %zu fields with errors are reported",
                     is->max_paths);
            append_form(is, note);
            return false;
        }
        list = json_array();
        if (!list || json_object_set_new(is->fields, path, list) != 0)
            return false;
        is->paths++;
    }
    if (json_array_size(list) < ISSUES_PER_PATH_MAX)
        json_array_append_new(list, message_string(msg));
    return true;
}

bool issues_addf(issues_t *is, const char *path, const char *fmt, ...)
{
    char msg[ISSUES_MESSAGE_MAX + 4];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    drop_partial_tail(msg); /* vsnprintf may cut a multi-byte character in half */
    return issues_add(is, path, msg);
}

void issues_json_field(json_t *issues, const char *path, const char *msg)
{
    json_t *fields = json_object_get(issues, "fieldErrors");
    json_t *list = json_object_get(fields, path);
    if (!list) {
        list = json_array();
        json_object_set_new(fields, path, list);
    }
    json_array_append_new(list, json_string(msg));
}

json_t *issues_take(issues_t *is)
{
    json_t *out = json_object();
    json_object_set_new(out, "formErrors", is->form ? is->form : json_array());
    json_object_set_new(out, "fieldErrors", is->fields ? is->fields : json_object());
    is->form = is->fields = NULL;
    is->paths = 0;
    is->truncated = false;
    return out;
}
