/* Unit tests for the checks on what a render embeds (src/engine/einvoice, src/engine/xmlcheck):
 * the Factur-X XML (hostile documents: DTDs, entities, bad UTF-8, deep nesting, wrong root),
 * attachment names (path tricks, controls, bidi overrides) and the profile/relationship names. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "craftkit/engine.h"
#include "engine/xmlcheck.h"
#include "tu.h"

#define CII_OPEN                                                                                             \
    "<rsm:CrossIndustryInvoice xmlns:rsm=\"urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100\" "  \
    "xmlns:ram=\"urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100\">"
#define CII_CLOSE "</rsm:CrossIndustryInvoice>"

static const struct {
    const char *xml;
    const char *err; /* NULL: accepted; else a piece of the message */
} xml_cases[] = {
    {"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" CII_OPEN "<ram:ID>1 &amp; &#x41;&#66;</ram:ID>" CII_CLOSE,
     NULL},
    {"\xEF\xBB\xBF" CII_OPEN "<!-- c --><![CDATA[<x>]]><?pi x?><a b='1' c=\"2\"/>Grüße" CII_CLOSE
     "\n<!-- end -->",
     NULL},
    {"<CrossIndustryInvoice xmlns=\"urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100\"/>", NULL},
    {"<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>" CII_OPEN
     "&xxe;" CII_CLOSE,
     "DOCTYPE"},
    {"<!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;\">]><lolz>&lol2;</lolz>", "DOCTYPE"},
    {CII_OPEN "&xxe;" CII_CLOSE, "undeclared entity"},
    {CII_OPEN "&#0;" CII_CLOSE, "character reference"},
    {CII_OPEN "<!ENTITY x \"y\">" CII_CLOSE, "declaration"},
    {"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>" CII_OPEN CII_CLOSE, "UTF-8"},
    {CII_OPEN "caf\xE9" CII_CLOSE, "not valid UTF-8"},
    {CII_OPEN "\xC0\xAF" CII_CLOSE, "not valid UTF-8"},     /* overlong '/' */
    {CII_OPEN "\xED\xA0\x80" CII_CLOSE, "not valid UTF-8"}, /* a surrogate */
    {CII_OPEN "\x01" CII_CLOSE, "does not allow"},
    {CII_OPEN "<a>" CII_CLOSE, "does not close"},
    {CII_OPEN, "not closed"},
    {CII_OPEN "<a x=\"1\" x=\"2\"/>" CII_CLOSE, "twice"},
    {CII_OPEN "<a x=1/>" CII_CLOSE, "quoted"},
    {CII_OPEN "<a x=\"<\"/>" CII_CLOSE, "'<'"},
    {CII_OPEN CII_CLOSE "<second/>", "after the root"},
    {CII_OPEN CII_CLOSE "trailing", "after the root"},
    {"", "empty"},
    {"just text", "root element"},
    {"</x>", "root element"},
    {"<Invoice xmlns=\"urn:oasis:names:specification:ubl:schema:xsd:Invoice-2\"/>", "Cross Industry Invoice"},
    {"<rsm:CrossIndustryInvoice xmlns:rsm=\"urn:example\"/>", "Cross Industry Invoice"},
    {"<rsm:CrossIndustryInvoice "
     "xmlns:other=\"urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100\"/>",
     "Cross Industry Invoice"},
    {"<CrossIndustryInvoice/>", "Cross Industry Invoice"},
    {CII_OPEN "<!-- never closed" CII_CLOSE, "comment is not closed"},
};

START_TEST(facturx_xml)
{
    char err[300];
    const char *xml = xml_cases[_i].xml;
    int rc = engine_facturx_check(xml, strlen(xml), err, sizeof err);
    if (!xml_cases[_i].err) {
        ck_assert_msg(rc == 0, "case %d: %s", _i, err);
    } else {
        ck_assert_msg(rc < 0, "case %d accepted", _i);
        ck_assert_msg(strstr(err, xml_cases[_i].err), "case %d: %s", _i, err);
    }
}
END_TEST

START_TEST(facturx_xml_limits)
{
    char err[300];
    /* over 5 MB: refused before it is read */
    size_t big = ENGINE_FACTURX_XML_MAX + 1;
    char *x = malloc(big);
    memset(x, ' ', big);
    ck_assert_int_eq(engine_facturx_check(x, big, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "larger than 5 MB"), "%s", err);
    free(x);
    /* nesting past the cap: an error, not a stack overflow */
    size_t depth = XMLCHECK_DEPTH_MAX + 5, n = 0;
    x = malloc(strlen(CII_OPEN) + depth * 7 + 64);
    n += (size_t)sprintf(x, "%s", CII_OPEN);
    for (size_t i = 0; i < depth; i++)
        n += (size_t)sprintf(x + n, "<a>");
    ck_assert_int_eq(engine_facturx_check(x, n, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "deeper than 256"), "%s", err);
    free(x);
    /* a NUL inside is not XML */
    const char with_nul[] = CII_OPEN "a\0b" CII_CLOSE;
    ck_assert_int_eq(engine_facturx_check(with_nul, sizeof with_nul - 1, err, sizeof err), -1);
    /* line numbers in messages */
    const char *lines = CII_OPEN "\n\n<a></b>" CII_CLOSE;
    ck_assert_int_eq(engine_facturx_check(lines, strlen(lines), err, sizeof err), -1);
    ck_assert_msg(strstr(err, "line 3"), "%s", err);
}
END_TEST

START_TEST(attachment_names)
{
    char err[300];
    const char *good[] = {"invoice.pdf", "Rechnung ä 2026.xml", "a", "x.tar.gz", "日本語.txt"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        ck_assert_msg(engine_attachment_name_check(good[i], err, sizeof err) == 0, "%s: %s", good[i], err);
    const char *bad[] = {"",
                         "../../etc/passwd",
                         "a/b",
                         "a\\b",
                         ".hidden",
                         "..",
                         ".",
                         "C:evil.exe",
                         "x\ny",
                         "tab\there",
                         " lead",
                         "trail ",
                         "bad\xFF.txt",
                         "invoice\xE2\x80\xAE"
                         "fdp.exe",
                         "a*b",
                         "a?b",
                         "a|b",
                         "name.",
                         "\xC2\x85next"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(engine_attachment_name_check(bad[i], err, sizeof err) < 0, "accepted %zu: %s", i,
                      bad[i]);
    char longname[ENGINE_ATTACHMENT_NAME_MAX + 2];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    ck_assert_int_eq(engine_attachment_name_check(longname, err, sizeof err), -1);
    longname[ENGINE_ATTACHMENT_NAME_MAX] = '\0';
    ck_assert_int_eq(engine_attachment_name_check(longname, err, sizeof err), 0);
    ck_assert_int_eq(engine_attachment_name_check(NULL, err, sizeof err), -1);
}
END_TEST

#define GUIDELINE(id)                                                                                        \
    CII_OPEN "<rsm:ExchangedDocumentContext><ram:GuidelineSpecifiedDocumentContextParameter>\n <ram:ID> " id \
             " </ram:ID></ram:GuidelineSpecifiedDocumentContextParameter></rsm:ExchangedDocumentContext>"    \
             "<ram:ID>urn:factur-x.eu:1p0:minimum</ram:ID>" CII_CLOSE

START_TEST(profile_matches_the_guideline)
{
    static const struct {
        const char *xml;
        engine_fx_profile_t profile;
        const char *err; /* NULL: accepted */
    } cases[] = {
        {GUIDELINE("urn:cen.eu:en16931:2017"), ENGINE_FX_EN16931, NULL},
        {GUIDELINE("urn:factur-x.eu:1p0:minimum"), ENGINE_FX_MINIMUM, NULL},
        {GUIDELINE("urn:zugferd.de:2p0:basicwl"), ENGINE_FX_BASIC_WL, NULL},
        {GUIDELINE("urn:cen.eu:en16931:2017#compliant#urn:factur-x.eu:1p0:basic"), ENGINE_FX_BASIC, NULL},
        {GUIDELINE("urn:cen.eu:en16931:2017#conformant#urn:factur-x.eu:1p0:extended"), ENGINE_FX_EXTENDED,
         NULL},
        {GUIDELINE("urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_2.3"),
         ENGINE_FX_XRECHNUNG, NULL},
        /* no guideline declared: nothing to compare (an ID elsewhere does not count) */
        {CII_OPEN "<ram:ID>urn:cen.eu:en16931:2017</ram:ID>" CII_CLOSE, ENGINE_FX_MINIMUM, NULL},
        {GUIDELINE("urn:cen.eu:en16931:2017"), ENGINE_FX_BASIC, "(BT-24, EN 16931)"},
        {GUIDELINE("urn:factur-x.eu:1p0:minimum"), ENGINE_FX_EN16931, "expected \"urn:cen.eu:en16931:2017\""},
        {GUIDELINE("urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_"), ENGINE_FX_XRECHNUNG,
         "another profile"},
        {GUIDELINE("urn:example:mine"), ENGINE_FX_EXTENDED, "urn:example:mine"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[400] = "";
        size_t len = strlen(cases[i].xml);
        ck_assert_int_eq(engine_facturx_check(cases[i].xml, len, err, sizeof err), 0);
        int rc = engine_facturx_profile_check(cases[i].xml, len, cases[i].profile, err, sizeof err);
        if (!cases[i].err)
            ck_assert_msg(rc == 0, "case %zu refused: %s", i, err);
        else
            ck_assert_msg(rc == -1 && strstr(err, cases[i].err), "case %zu: rc %d, \"%s\" lacks \"%s\"", i,
                          rc, err, cases[i].err);
    }
}
END_TEST

START_TEST(names_of_profiles_and_relationships)
{
    ck_assert_int_eq(engine_fx_profile_parse("EN 16931"), ENGINE_FX_EN16931);
    ck_assert_int_eq(engine_fx_profile_parse("BASIC WL"), ENGINE_FX_BASIC_WL);
    ck_assert_int_eq(engine_fx_profile_parse("XRECHNUNG"), ENGINE_FX_XRECHNUNG);
    ck_assert_int_eq(engine_fx_profile_parse("en 16931"), -1);
    ck_assert_int_eq(engine_fx_profile_parse("COMFORT"), -1);
    ck_assert_int_eq(engine_fx_profile_parse(NULL), -1);
    ck_assert_int_eq(engine_af_parse("Alternative"), ENGINE_AF_ALTERNATIVE);
    ck_assert_int_eq(engine_af_parse("Unspecified"), ENGINE_AF_UNSPECIFIED);
    ck_assert_int_eq(engine_af_parse("alternative"), -1);
    ck_assert_int_eq(engine_pdfa_parse("3b"), ENGINE_PDFA_3B);
    ck_assert_int_eq(engine_pdfa_parse("1b"), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("einvoice");
    TCase *tc = tcase_create("checks");
    tcase_add_loop_test(tc, facturx_xml, 0, (int)(sizeof xml_cases / sizeof xml_cases[0]));
    tcase_add_test(tc, facturx_xml_limits);
    tcase_add_test(tc, attachment_names);
    tcase_add_test(tc, names_of_profiles_and_relationships);
    tcase_add_test(tc, profile_matches_the_guideline);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
