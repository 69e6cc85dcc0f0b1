/*
 * engfix — what the engine's Check tests share: an engine context per test, layouts compiled
 * from JSON text, the issues of layouts that must not compile, and the pages of a debug layout.
 * Every helper fails the running test (ck_abort) instead of returning an error.
 *
 * Threads: the test's. Memory: the json_t and engine_template_t results are the caller's
 * (json_decref / engine_template_free); engfix_ctx belongs to the fixture.
 */
#ifndef CRAFTKIT_TESTS_ENGFIX_H
#define CRAFTKIT_TESTS_ENGFIX_H

#include <jansson.h>
#include <stdbool.h>

#include "craftkit/engine.h"

/* The context engfix_setup made for the running test. */
extern engine_ctx_t *engfix_ctx;

/* A checked fixture (tcase_add_checked_fixture), so that it runs in the forked test process:
 * pango starts a fontconfig thread of its own, and a fork while that thread holds a lock would
 * leave the child waiting forever; so nothing pango-related may happen before Check forks. */
void engfix_setup(void);
void engfix_teardown(void);

/* s parsed as JSON (a test's literal). */
json_t *engfix_json(const char *s);
/* A layout that must compile (no page config, no manifest). */
engine_template_t *engfix_compile(const char *layout);
/* The issues object of a layout that must not compile. */
json_t *engfix_issues(const char *layout);
/* Whether issues has a message containing needle at path (fieldErrors). */
bool engfix_has_issue(const json_t *issues, const char *path, const char *needle);
/* Fails the test, printing every issue, when issues has no such message. */
void engfix_expect_issue(const json_t *issues, const char *path, const char *needle);
/* The "pages" of t's debug layout (engine_debug_layout) with data (NULL: none). */
json_t *engfix_pages(engine_template_t *t, json_t *data);
/* Fails the test unless laying out layout (which must compile) with data (NULL: none) fails with
 * an error that contains needle. */
void engfix_expect_layout_error(const char *layout, json_t *data, const char *needle);
/* engfix_pages of a layout that must compile (engfix_compile), freed again. */
json_t *engfix_pages_of(const char *layout, json_t *data);
/* {"lines": ["line 1", …, "line n"]}: data for a loop of n one-line paragraphs. */
json_t *engfix_lines(int n);
/* Renders t to an uncompressed PDF and fails the test unless it holds each of want[0..n). */
void engfix_expect_in_pdf(engine_template_t *t, const char *const *want, size_t n);
/* The items of page p (0-based) of such pages (borrowed). */
json_t *engfix_items(const json_t *pages, int p);
/* The first text item equal to s on page p (borrowed), or NULL. */
json_t *engfix_text_item(const json_t *pages, int p, const char *s);
/* The first page with a text item equal to s, or -1. */
int engfix_page_with(const json_t *pages, const char *s);

#endif
