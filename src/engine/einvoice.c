/* einvoice — the checks on what a render embeds: Factur-X profiles and XML, attachment names
 * and relationships (declared in include/craftkit/engine.h). */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "craftkit/engine.h"
#include "engine/xmlcheck.h"
#include "core/errmsg.h"

#define CII_NS "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"

static int lookup(const char *name, const char *const *names, int n)
{
    for (int i = 0; name && i < n; i++)
        if (names[i] && !strcmp(name, names[i]))
            return i;
    return -1;
}

static const char *const profile_names[] = {
    [ENGINE_FX_MINIMUM] = "MINIMUM",  [ENGINE_FX_BASIC_WL] = "BASIC WL", [ENGINE_FX_BASIC] = "BASIC",
    [ENGINE_FX_EN16931] = "EN 16931", [ENGINE_FX_EXTENDED] = "EXTENDED", [ENGINE_FX_XRECHNUNG] = "XRECHNUNG",
};

int engine_fx_profile_parse(const char *name)
{
    return lookup(name, profile_names, (int)(sizeof profile_names / sizeof profile_names[0]));
}

int engine_af_parse(const char *name)
{
    static const char *const names[] = {
        [ENGINE_AF_UNSPECIFIED] = "Unspecified",
        [ENGINE_AF_ALTERNATIVE] = "Alternative",
        [ENGINE_AF_DATA] = "Data",
        [ENGINE_AF_SOURCE] = "Source",
        [ENGINE_AF_SUPPLEMENT] = "Supplement",
    };
    return lookup(name, names, (int)(sizeof names / sizeof names[0]));
}

int engine_attachment_name_check(const char *name, char *err, size_t err_len)
{
    size_t n = name ? strlen(name) : 0;
    if (n < 1 || n > ENGINE_ATTACHMENT_NAME_MAX) {
        return errmsg_fail(err, err_len, "A file name must have 1 to %d bytes", ENGINE_ATTACHMENT_NAME_MAX);
    }
    if (name[0] == '.' || name[0] == ' ' || name[n - 1] == ' ' || name[n - 1] == '.') {
        return errmsg_fail(err, err_len,
                           "A file name must not start with a dot or a space, nor end with one");
    }
    const unsigned char *p = (const unsigned char *)name, *end = p + n;
    while (p < end) {
        unsigned cp;
        size_t k = xmlcheck_utf8(p, (size_t)(end - p), &cp);
        if (!k) {
            return errmsg_fail(err, err_len, "A file name must be valid UTF-8");
        }
        /* Paths, drive letters, reserved characters, controls and bidirectional overrides
         * (U+202E makes "invoice<U+202E>fdp.exe" look like "invoiceexe.pdf"). */
        if (cp < 0x20 || cp == 0x7f || (cp < 0x80 && strchr("/\\:*?\"<>|", (int)cp)) ||
            (cp >= 0x80 && cp < 0xa0) || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
            cp == 0x200e || cp == 0x200f) {
            return errmsg_fail(
                err, err_len,
                "A file name must not contain path separators, control or bidirectional characters, "
                "or any of : * ? \" < > |");
        }
        p += k;
    }
    return 0;
}

int engine_facturx_check(const char *xml, size_t len, char *err, size_t err_len)
{
    if (len > ENGINE_FACTURX_XML_MAX) {
        return errmsg_fail(err, err_len, "The XML is larger than %u MB", ENGINE_FACTURX_XML_MAX >> 20);
    }
    if (len == 0) {
        return errmsg_fail(err, err_len, "The XML is empty");
    }
    xmlcheck_root_t root;
    char why[200];
    if (xmlcheck_document(xml, len, &root, why, sizeof why) < 0) {
        return errmsg_fail(err, err_len, "The XML is not well-formed: %s", why);
    }
    if (root.local_len != 20 || memcmp(root.local, "CrossIndustryInvoice", 20) || !root.ns ||
        root.ns_len != strlen(CII_NS) || memcmp(root.ns, CII_NS, root.ns_len)) {
        return errmsg_fail(
            err, err_len,
            "The XML is not a UN/CEFACT Cross Industry Invoice: its root must be rsm:CrossIndustryInvoice "
            "in the namespace " CII_NS);
    }
    return 0;
}

/* The BT-24 ids of each profile; an entry ending in '_' is a prefix (a version follows). */
static const char *const guideline_ids[][3] = {
    [ENGINE_FX_MINIMUM] = {"urn:factur-x.eu:1p0:minimum", "urn:zugferd.de:2p0:minimum", NULL},
    [ENGINE_FX_BASIC_WL] = {"urn:factur-x.eu:1p0:basicwl", "urn:zugferd.de:2p0:basicwl", NULL},
    [ENGINE_FX_BASIC] = {"urn:cen.eu:en16931:2017#compliant#urn:factur-x.eu:1p0:basic",
                         "urn:cen.eu:en16931:2017#compliant#urn:zugferd.de:2p0:basic", NULL},
    [ENGINE_FX_EN16931] = {"urn:cen.eu:en16931:2017",
                           "urn:cen.eu:en16931:2017#compliant#urn:factur-x.eu:1p0:en16931", NULL},
    [ENGINE_FX_EXTENDED] = {"urn:cen.eu:en16931:2017#conformant#urn:factur-x.eu:1p0:extended",
                            "urn:cen.eu:en16931:2017#conformant#urn:zugferd.de:2p0:extended", NULL},
    [ENGINE_FX_XRECHNUNG] = {"urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_",
                             "urn:cen.eu:en16931:2017#compliant#urn:xoev-de:kosit:standard:xrechnung_", NULL},
};

/* The text of the ID element inside GuidelineSpecifiedDocumentContextParameter, trimmed; false
 * when the XML has none. The element is unique in a CII document and the XML is well-formed
 * (engine_facturx_check), so a text search finds it. */
static bool declared_guideline(const char *xml, size_t len, const char **id, size_t *id_len)
{
    static const char tag[] = "GuidelineSpecifiedDocumentContextParameter";
    const char *end = xml + len, *p = memmem(xml, len, tag, sizeof tag - 1);
    if (!p)
        return false;
    p += sizeof tag - 1;
    /* The ID must be inside the parameter: before the parameter's closing tag. */
    const char *close = memmem(p, (size_t)(end - p), tag, sizeof tag - 1);
    const char *open = memmem(p, (size_t)(end - p), "ID>", 3);
    if (!open || !close || open > close)
        return false;
    p = open + 3;
    while (p < end && strchr(" \t\r\n", *p))
        p++;
    const char *q = memchr(p, '<', (size_t)(end - p));
    if (!q)
        return false;
    while (q > p && strchr(" \t\r\n", q[-1]))
        q--;
    *id = p;
    *id_len = (size_t)(q - p);
    return true;
}

static bool guideline_matches(const char *id, size_t id_len, const char *known)
{
    size_t k = strlen(known);
    if (known[k - 1] == '_')
        return id_len > k && !memcmp(id, known, k);
    return id_len == k && !memcmp(id, known, k);
}

int engine_facturx_profile_check(const char *xml, size_t len, engine_fx_profile_t profile, char *err,
                                 size_t err_len)
{
    const char *id;
    size_t id_len;
    if (profile <= ENGINE_FX_NONE || profile > ENGINE_FX_XRECHNUNG ||
        !declared_guideline(xml, len, &id, &id_len))
        return 0;
    const char *const *known = guideline_ids[profile];
    for (int i = 0; known[i]; i++)
        if (guideline_matches(id, id_len, known[i]))
            return 0;
    const char *named = "another profile";
    for (int p = ENGINE_FX_MINIMUM; p <= ENGINE_FX_XRECHNUNG; p++)
        for (int i = 0; guideline_ids[p][i]; i++)
            if (guideline_matches(id, id_len, guideline_ids[p][i]))
                named = profile_names[p];
    return errmsg_fail(
        err, err_len,
        "The XML declares the guideline \"%.*s\" (BT-24, %s), not the profile given (expected \"%s%s\"): "
        "the profile must be the one the XML was made for",
        (int)(id_len > 120 ? 120 : id_len), id, named, known[0],
        known[0][strlen(known[0]) - 1] == '_' ? "…" : "");
}
