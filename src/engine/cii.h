/*
 * cii — builds the EN 16931 CII XML (UN/CEFACT Cross Industry Invoice, as Factur-X and
 * ZUGFeRD embed it) from a render's data through a layout's "einvoice" mapping, and checks the
 * arithmetic that EN 16931's BR-CO rules ask for, reporting problems at the data's paths
 * (docs/einvoice.md, "Generating the XML").
 *
 * Threads: any (a compiled mapping is read-only). Memory: cii_build returns malloc'd XML and a
 * new reference in *issues.
 */
#ifndef CRAFTKIT_ENGINE_CII_H
#define CRAFTKIT_ENGINE_CII_H

#include <jansson.h>
#include <stddef.h>

#include "craftkit/engine.h"

/* Checks layout.einvoice (shape, known keys, required terms); problems go to compile issues
 * through report(path, message). Returns the profile, or -1 when the mapping is unusable. */
int cii_check_mapping(const json_t *einvoice, void (*report)(void *arg, const char *path, const char *msg),
                      void *arg);

/* Builds the XML. Returns 0 with *xml and *len, or -1 with *issues
 * ({"formErrors":[],"fieldErrors":{"items.3.total":["…"]}}) when the data lack a required term
 * or do not add up. */
int cii_build(const json_t *einvoice, const json_t *data, char **xml, size_t *len, json_t **issues);

#endif
