/*
 * compile_links — a run's or text block's "link": a URL (made a link when rendering, for the
 * schemes prepare.c allows) or "#" and the name of an anchor ("#terms", "#item-{{item.sku}}"),
 * whose literal names are checked against the layout's anchors with pageOf's (compile_refs.c;
 * names made from the data are checked when rendering, links.c).
 *
 * Threads: one compiler_t, one thread (compile.h).
 * Memory: the link lives in the template arena.
 */
#include <stdio.h>
#include <string.h>

#include "engine/compile.h"

expr_str_t *compile_link(compiler_t *c, const json_t *v, const char *path)
{
    expr_str_t *s = compile_text(c, v, path);
    if (!s || !run_link_internal(s))
        return s;
    if (!s->constant) /* "#item-{{item.sku}}": checked when rendering */
        return s;
    size_t len = s->constant_len - 1;
    if (len == 0 || len > ENGINE_ANCHOR_MAX || memchr(s->constant + 1, 0, len)) {
        compile_issue(c, path, "Expected \"#\" and the name of an anchor (1 to %d bytes), such as \"#terms\"",
                      ENGINE_ANCHOR_MAX);
        return s;
    }
    if (c->anchor_refs) {
        char msg[300];
        snprintf(msg, sizeof msg, "The link \"#%.100s\" goes nowhere: no block has \"anchor\": \"%.100s\"",
                 s->constant + 1, s->constant + 1);
        compile_anchor_ref(c, s->constant + 1, path, msg);
    }
    return s;
}
