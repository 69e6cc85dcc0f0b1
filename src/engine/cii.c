/* cii — EN 16931 CII XML from data through a mapping (see cii.h). */
#include "engine/cii.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "engine/xmlcheck.h"

#define CII_RATES_MAX 16
#define CII_XML_MAX (ENGINE_FACTURX_XML_MAX)
#define CII_AMOUNT_MAX 1e13 /* cents fit in 64 bits with room for sums */
#define CII_ISSUES_MAX 100  /* data paths reported; a 10,000-line invoice gets a bounded answer */

/* ------------------------------------------------------------ the mapping's shape */

typedef struct shape {
    const char *key;
    bool required;
    const struct shape *sub; /* an object of terms, or NULL for a term */
} shape_t;

static const shape_t party[] = {{"name", true, NULL},    {"vatId", false, NULL},    {"country", true, NULL},
                                {"street", false, NULL}, {"postcode", false, NULL}, {"city", false, NULL},
                                {NULL, false, NULL}};
static const shape_t lines[] = {{"each", true, NULL},       {"name", true, NULL},
                                {"quantity", true, NULL},   {"unitPrice", true, NULL},
                                {"lineTotal", false, NULL}, {"vatRate", false, NULL},
                                {"unitCode", false, NULL},  {NULL, false, NULL}};
static const shape_t totals[] = {{"net", false, NULL},     {"vat", false, NULL}, {"grand", false, NULL},
                                 {"prepaid", false, NULL}, {"due", false, NULL}, {NULL, false, NULL}};
static const shape_t payment[] = {{"iban", false, NULL}, {"terms", false, NULL}, {NULL, false, NULL}};
static const shape_t mapping[] = {
    {"number", true, NULL},   {"issueDate", true, NULL}, {"dueDate", false, NULL},
    {"currency", true, NULL}, {"note", false, NULL},     {"buyerReference", false, NULL},
    {"vatRate", false, NULL}, {"seller", true, party},   {"buyer", true, party},
    {"lines", true, lines},   {"totals", false, totals}, {"payment", false, payment},
    {NULL, false, NULL}};

typedef void (*report_fn)(void *arg, const char *path, const char *msg);

static bool is_term(const json_t *v)
{
    if (json_is_string(v))
        return json_string_length(v) > 0;
    json_t *lit = json_object_get(v, "value");
    return json_is_object(v) && json_object_size(v) == 1 && (json_is_string(lit) || json_is_number(lit));
}

static void check_shape(const json_t *o, const shape_t *s, const char *path, report_fn report, void *arg,
                        int *bad)
{
    char p[256], msg[200];
    if (!json_is_object(o)) {
        report(arg, path, "Expected an object");
        (*bad)++;
        return;
    }
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)o, key, v)
    {
        const shape_t *f = s;
        while (f->key && strcmp(f->key, key))
            f++;
        snprintf(p, sizeof p, "%s.%s", path, key);
        if (!f->key) {
            snprintf(msg, sizeof msg, "Unknown e-invoice term \"%.60s\"", key);
            report(arg, p, msg);
            (*bad)++;
        } else if (f->sub) {
            check_shape(v, f->sub, p, report, arg, bad);
        } else if (!is_term(v)) {
            report(arg, p, "Expected a data path such as \"invoice.number\" or {\"value\": \"EUR\"}");
            (*bad)++;
        }
    }
    for (const shape_t *f = s; f->key; f++)
        if (f->required && !json_object_get(o, f->key)) {
            snprintf(p, sizeof p, "%s.%s", path, f->key);
            report(arg, p, "Required");
            (*bad)++;
        }
}

int cii_check_mapping(const json_t *einvoice, report_fn report, void *arg)
{
    int bad = 0;
    if (!json_is_object(einvoice)) {
        report(arg, "layout.einvoice", "Expected an object: {\"profile\": \"EN 16931\", \"mapping\": {…}}");
        return -1;
    }
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)einvoice, key, v) if (strcmp(key, "profile") && strcmp(key, "mapping"))
    {
        report(arg, "layout.einvoice", "Unknown key: use \"profile\" and \"mapping\"");
        bad++;
    }
    json_t *profile = json_object_get(einvoice, "profile");
    int p = profile ? engine_fx_profile_parse(json_string_value(profile)) : ENGINE_FX_EN16931;
    if (p != ENGINE_FX_EN16931 && p != ENGINE_FX_XRECHNUNG && p != ENGINE_FX_EXTENDED) {
        report(arg, "layout.einvoice.profile",
               "Generated invoices carry every EN 16931 term: use 'EN 16931', 'EXTENDED' or 'XRECHNUNG'");
        bad++;
    }
    json_t *m = json_object_get(einvoice, "mapping");
    if (!m) {
        report(arg, "layout.einvoice.mapping", "Required");
        return -1;
    }
    check_shape(m, mapping, "layout.einvoice.mapping", report, arg, &bad);
    return bad ? -1 : p;
}

/* ------------------------------------------------------------ reading the data */

typedef struct ctx {
    json_t *issues;
    int problems;
} ctx_t;

static void issue(ctx_t *c, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void issue(ctx_t *c, const char *path, const char *fmt, ...)
{
    char msg[300];
    if (c->problems++ >= CII_ISSUES_MAX) {
        if (c->problems == CII_ISSUES_MAX + 1)
            json_array_append_new(json_object_get(c->issues, "formErrors"),
                                  json_string("More problems in the e-invoice data were not listed"));
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *fields = json_object_get(c->issues, "fieldErrors");
    json_t *list = json_object_get(fields, path);
    if (!list) {
        list = json_array();
        json_object_set_new(fields, path, list);
    }
    json_array_append_new(list, json_string(msg));
}

/* A term's value: a literal, or the data at its path (below `base`, whose path is `prefix`).
 * *where gets the data path for messages. NULL when absent. */
static const json_t *term(const json_t *map, const char *key, const json_t *base, const char *prefix,
                          char *where, size_t where_len)
{
    const json_t *t = json_object_get(map, key);
    snprintf(where, where_len, "%s", prefix && *prefix ? prefix : "");
    if (!t)
        return NULL;
    if (json_is_object(t)) {
        snprintf(where, where_len, "%s", "einvoice");
        return json_object_get(t, "value");
    }
    const char *path = json_string_value(t);
    snprintf(where, where_len, "%s%s%s", prefix && *prefix ? prefix : "", prefix && *prefix ? "." : "", path);
    const json_t *v = base;
    char seg[128];
    while (v && *path) {
        size_t n = strcspn(path, ".");
        snprintf(seg, sizeof seg, "%.*s", (int)(n < sizeof seg ? n : sizeof seg - 1), path);
        v = json_object_get(v, seg);
        path += n + (path[n] == '.');
    }
    return v && !json_is_null(v) ? v : NULL;
}

static const char *text(ctx_t *c, const json_t *map, const char *key, const json_t *base, const char *prefix,
                        bool required, const char *what)
{
    char where[256];
    const json_t *v = term(map, key, base, prefix, where, sizeof where);
    if (!v) {
        if (required)
            issue(c, where, "Required for the e-invoice (%s)", what);
        return NULL;
    }
    if (!json_is_string(v) || !json_string_length(v)) {
        issue(c, where, "Expected text for the e-invoice (%s)", what);
        return NULL;
    }
    return json_string_value(v);
}

static bool number(ctx_t *c, const json_t *map, const char *key, const json_t *base, const char *prefix,
                   bool required, const char *what, double *out, char *where, size_t where_len)
{
    const json_t *v = term(map, key, base, prefix, where, where_len);
    if (!v) {
        if (required)
            issue(c, where, "Required for the e-invoice (%s)", what);
        return false;
    }
    if (!json_is_number(v) || !isfinite(json_number_value(v)) ||
        fabs(json_number_value(v)) > CII_AMOUNT_MAX / 100) {
        issue(c, where, "Expected a number for the e-invoice (%s)", what);
        return false;
    }
    *out = json_number_value(v);
    return true;
}

static long long cents(double v)
{
    return llround(v * 100.0);
}

static void amount(char out[32], long long c)
{
    snprintf(out, 32, "%s%lld.%02lld", c < 0 ? "-" : "", llabs(c) / 100, llabs(c) % 100);
}

/* A decimal without binary noise: up to 4 decimals, at least 0 ("2", "10.5", "327.03"). */
static void decimal(char out[32], double v)
{
    snprintf(out, 32, "%.4f", v);
    char *dot = strchr(out, '.');
    if (!dot)
        return;
    char *e = out + strlen(out) - 1;
    while (e > dot && *e == '0')
        *e-- = '\0';
    if (e == dot)
        *e = '\0';
}

/* "2024-03-15" (or an ISO timestamp) → "20240315". */
static bool date102(const char *s, char out[9])
{
    if (!s || strlen(s) < 10 || s[4] != '-' || s[7] != '-')
        return false;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return false;
    snprintf(out, 9, "%.4s%.2s%.2s", s, s + 5, s + 8);
    return true;
}

static void el(buf_t *b, const char *name, const char *value)
{
    if (!value)
        return;
    buf_putf(b, "<%s>", name);
    xmlcheck_escape(b, value);
    buf_putf(b, "</%s>", name);
}

/* ------------------------------------------------------------ building */

typedef struct rate {
    double pct;
    long long basis; /* cents */
} rate_t;

static void write_party(ctx_t *c, buf_t *b, const char *tag, const json_t *map, const json_t *data,
                        const char *what)
{
    char role[64];
    snprintf(role, sizeof role, "%s name", what);
    const char *name = text(c, map, "name", data, NULL, true, role);
    snprintf(role, sizeof role, "%s country code", what);
    const char *country = text(c, map, "country", data, NULL, true, role);
    const char *vat = text(c, map, "vatId", data, NULL, false, "VAT id");
    const char *street = text(c, map, "street", data, NULL, false, "street");
    const char *postcode = text(c, map, "postcode", data, NULL, false, "postcode");
    const char *city = text(c, map, "city", data, NULL, false, "city");
    char where[256];
    if (country && (strlen(country) != 2 || country[0] < 'A' || country[0] > 'Z' || country[1] < 'A' ||
                    country[1] > 'Z')) {
        term(map, "country", data, NULL, where, sizeof where);
        issue(c, where, "Expected an ISO 3166-1 alpha-2 country code such as \"DE\"");
    }
    buf_putf(b, "<ram:%s>", tag);
    el(b, "ram:Name", name);
    buf_puts(b, "<ram:PostalTradeAddress>");
    el(b, "ram:PostcodeCode", postcode);
    el(b, "ram:LineOne", street);
    el(b, "ram:CityName", city);
    el(b, "ram:CountryID", country);
    buf_puts(b, "</ram:PostalTradeAddress>");
    if (vat) {
        buf_puts(b, "<ram:SpecifiedTaxRegistration><ram:ID schemeID=\"VA\">");
        xmlcheck_escape(b, vat);
        buf_puts(b, "</ram:ID></ram:SpecifiedTaxRegistration>");
    }
    buf_putf(b, "</ram:%s>", tag);
}

/* The lines: each one's net amount checked (quantity × price), summed per VAT rate. */
static long long write_lines(ctx_t *c, buf_t *b, const json_t *m, const json_t *data, rate_t *rates,
                             int *nrates)
{
    const json_t *lm = json_object_get(m, "lines");
    char where[256], wq[320], wp[320], wt[320], wr[320], prefix[280];
    const json_t *arr = term(lm, "each", data, NULL, where, sizeof where);
    if (!json_is_array(arr) || json_array_size(arr) == 0) {
        issue(c, where, "An e-invoice needs at least one line");
        return 0;
    }
    double default_rate = NAN;
    number(c, m, "vatRate", data, NULL, false, "VAT rate", &default_rate, wr, sizeof wr);
    long long net = 0;
    size_t i;
    const json_t *item;
    json_array_foreach(arr, i, item)
    {
        snprintf(prefix, sizeof prefix, "%s.%zu", where, i);
        const char *name = text(c, lm, "name", item, prefix, true, "item name");
        const char *unit = text(c, lm, "unitCode", item, prefix, false, "unit code");
        double qty = 0, price = 0, total = 0, pct = default_rate;
        bool hq = number(c, lm, "quantity", item, prefix, true, "quantity", &qty, wq, sizeof wq);
        bool hp = number(c, lm, "unitPrice", item, prefix, true, "unit price", &price, wp, sizeof wp);
        bool ht = number(c, lm, "lineTotal", item, prefix, false, "line total", &total, wt, sizeof wt);
        if (!number(c, lm, "vatRate", item, prefix, false, "VAT rate", &pct, wr, sizeof wr) && isnan(pct))
            issue(c, prefix, "No VAT rate for this line: map lines.vatRate or vatRate");
        if (!hq || !hp)
            continue;
        long long line = cents(qty * price);
        char a[32], q[32], p[32];
        decimal(q, qty);
        decimal(p, price);
        amount(a, line);
        if (ht && cents(total) != line) {
            char given[32];
            amount(given, cents(total));
            issue(c, wt, "The line total %s is not quantity × unit price = %s × %s = %s (EN 16931 BR-LIN-04)",
                  given, q, p, a);
        }
        net += line;
        int r = 0;
        while (r < *nrates && rates[r].pct != pct)
            r++;
        if (r == *nrates && !isnan(pct)) {
            if (*nrates == CII_RATES_MAX) {
                issue(c, wr, "More than %d VAT rates", CII_RATES_MAX);
                continue;
            }
            rates[(*nrates)++] = (rate_t){.pct = pct, .basis = 0};
        }
        if (r < *nrates)
            rates[r].basis += line;
        char rate[32];
        decimal(rate, isnan(pct) ? 0 : pct);
        buf_putf(b,
                 "<ram:IncludedSupplyChainTradeLineItem><ram:AssociatedDocumentLineDocument><ram:LineID>%zu"
                 "</ram:LineID></ram:AssociatedDocumentLineDocument><ram:SpecifiedTradeProduct>",
                 i + 1);
        el(b, "ram:Name", name);
        buf_putf(
            b,
            "</ram:SpecifiedTradeProduct><ram:SpecifiedLineTradeAgreement><ram:NetPriceProductTradePrice>"
            "<ram:ChargeAmount>%s</ram:ChargeAmount></ram:NetPriceProductTradePrice>"
            "</ram:SpecifiedLineTradeAgreement><ram:SpecifiedLineTradeDelivery><ram:BilledQuantity "
            "unitCode=\"",
            p);
        xmlcheck_escape(b, unit ? unit : "C62");
        buf_putf(
            b,
            "\">%s</ram:BilledQuantity></ram:SpecifiedLineTradeDelivery><ram:SpecifiedLineTradeSettlement>"
            "<ram:ApplicableTradeTax><ram:TypeCode>VAT</ram:TypeCode><ram:CategoryCode>%s</ram:CategoryCode>"
            "<ram:RateApplicablePercent>%s</ram:RateApplicablePercent></ram:ApplicableTradeTax>"
            "<ram:SpecifiedTradeSettlementLineMonetarySummation><ram:LineTotalAmount>%s</ram:LineTotalAmount>"
            "</ram:SpecifiedTradeSettlementLineMonetarySummation></ram:SpecifiedLineTradeSettlement>"
            "</ram:IncludedSupplyChainTradeLineItem>",
            q, pct > 0 ? "S" : "Z", rate, a);
    }
    return net;
}

/* A mapped total must equal the computed one, to the cent. */
static void check_total(ctx_t *c, const json_t *tm, const char *key, const json_t *data, long long expected,
                        const char *rule, const char *how)
{
    double v;
    char where[256];
    if (!number(c, tm, key, data, NULL, false, key, &v, where, sizeof where) || cents(v) == expected)
        return;
    char got[32], want[32];
    amount(got, cents(v));
    amount(want, expected);
    issue(c, where, "%s is %s but %s gives %s (EN 16931 %s)", key, got, how, want, rule);
}

/* Long because it writes the CII document top to bottom in the order the schema fixes (context,
 * document, lines, agreement, delivery, settlement, totals), checking each term where it is
 * written: read next to the XML it produces, it can be compared with EN 16931 term by term. */
int cii_build(const json_t *einvoice, const json_t *data, char **xml, size_t *len, json_t **issues)
{
    ctx_t c = {.issues = json_pack("{s:[],s:{}}", "formErrors", "fieldErrors")};
    const json_t *m = json_object_get(einvoice, "mapping");
    int profile = engine_fx_profile_parse(json_string_value(json_object_get(einvoice, "profile")));
    const char *guideline = profile == ENGINE_FX_XRECHNUNG
                                ? "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"
                            : profile == ENGINE_FX_EXTENDED
                                ? "urn:cen.eu:en16931:2017#conformant#urn:factur-x.eu:1p0:extended"
                                : "urn:cen.eu:en16931:2017";
    buf_t b;
    buf_init(&b, CII_XML_MAX); /* a failed append (buf_error) is refused below, never cut short */
    char where[256], d_issue[9] = "", d_due[9] = "";
    const char *number_ = text(&c, m, "number", data, NULL, true, "invoice number");
    const char *issued = text(&c, m, "issueDate", data, NULL, true, "issue date");
    const char *due = text(&c, m, "dueDate", data, NULL, false, "due date");
    const char *currency = text(&c, m, "currency", data, NULL, true, "currency");
    if (issued && !date102(issued, d_issue)) {
        term(m, "issueDate", data, NULL, where, sizeof where);
        issue(&c, where, "Expected a date YYYY-MM-DD");
    }
    if (due && !date102(due, d_due)) {
        term(m, "dueDate", data, NULL, where, sizeof where);
        issue(&c, where, "Expected a date YYYY-MM-DD");
    }
    if (currency && (strlen(currency) != 3 || strspn(currency, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != 3)) {
        term(m, "currency", data, NULL, where, sizeof where);
        issue(&c, where, "Expected an ISO 4217 currency code such as \"EUR\"");
    }
    buf_puts(
        &b,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<rsm:CrossIndustryInvoice "
        "xmlns:rsm=\"urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100\" "
        "xmlns:ram=\"urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100\" "
        "xmlns:qdt=\"urn:un:unece:uncefact:data:standard:QualifiedDataType:100\" "
        "xmlns:udt=\"urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100\">\n");
    buf_putf(
        &b,
        "<rsm:ExchangedDocumentContext><ram:GuidelineSpecifiedDocumentContextParameter><ram:ID>%s</ram:ID>"
        "</ram:GuidelineSpecifiedDocumentContextParameter></rsm:ExchangedDocumentContext>\n"
        "<rsm:ExchangedDocument>",
        guideline);
    el(&b, "ram:ID", number_);
    buf_putf(&b,
             "<ram:TypeCode>380</ram:TypeCode><ram:IssueDateTime><udt:DateTimeString format=\"102\">%s"
             "</udt:DateTimeString></ram:IssueDateTime>",
             d_issue);
    const char *note = text(&c, m, "note", data, NULL, false, "note");
    if (note) {
        buf_puts(&b, "<ram:IncludedNote>");
        el(&b, "ram:Content", note);
        buf_puts(&b, "</ram:IncludedNote>");
    }
    buf_puts(&b, "</rsm:ExchangedDocument>\n<rsm:SupplyChainTradeTransaction>\n");
    rate_t rates[CII_RATES_MAX];
    int nrates = 0;
    long long net = write_lines(&c, &b, m, data, rates, &nrates);
    buf_puts(&b, "\n<ram:ApplicableHeaderTradeAgreement>");
    el(&b, "ram:BuyerReference", text(&c, m, "buyerReference", data, NULL, false, "buyer reference"));
    write_party(&c, &b, "SellerTradeParty", json_object_get(m, "seller"), data, "seller");
    write_party(&c, &b, "BuyerTradeParty", json_object_get(m, "buyer"), data, "buyer");
    buf_puts(&b, "</ram:ApplicableHeaderTradeAgreement>\n<ram:ApplicableHeaderTradeDelivery/>\n"
                 "<ram:ApplicableHeaderTradeSettlement>");
    el(&b, "ram:InvoiceCurrencyCode", currency);
    const json_t *pm = json_object_get(m, "payment");
    const char *iban = pm ? text(&c, pm, "iban", data, NULL, false, "IBAN") : NULL;
    const char *terms = pm ? text(&c, pm, "terms", data, NULL, false, "payment terms") : NULL;
    if (iban) {
        buf_puts(&b, "<ram:SpecifiedTradeSettlementPaymentMeans><ram:TypeCode>58</ram:TypeCode>"
                     "<ram:PayeePartyCreditorFinancialAccount>");
        el(&b, "ram:IBANID", iban);
        buf_puts(&b, "</ram:PayeePartyCreditorFinancialAccount></ram:SpecifiedTradeSettlementPaymentMeans>");
    }
    long long vat = 0;
    for (int r = 0; r < nrates; r++) {
        long long v = llround((double)rates[r].basis * rates[r].pct / 100.0);
        vat += v;
        char va[32], ba[32], pct[32];
        amount(va, v);
        amount(ba, rates[r].basis);
        decimal(pct, rates[r].pct);
        buf_putf(&b,
                 "<ram:ApplicableTradeTax><ram:CalculatedAmount>%s</ram:CalculatedAmount><ram:TypeCode>VAT"
                 "</ram:TypeCode><ram:BasisAmount>%s</ram:BasisAmount><ram:CategoryCode>%s</ram:CategoryCode>"
                 "<ram:RateApplicablePercent>%s</ram:RateApplicablePercent></ram:ApplicableTradeTax>",
                 va, ba, rates[r].pct > 0 ? "S" : "Z", pct);
    }
    if (terms || d_due[0]) {
        buf_puts(&b, "<ram:SpecifiedTradePaymentTerms>");
        el(&b, "ram:Description", terms);
        if (d_due[0])
            buf_putf(&b,
                     "<ram:DueDateDateTime><udt:DateTimeString format=\"102\">%s</udt:DateTimeString>"
                     "</ram:DueDateDateTime>",
                     d_due);
        buf_puts(&b, "</ram:SpecifiedTradePaymentTerms>");
    }
    const json_t *tm = json_object_get(m, "totals");
    double prepaid_v = 0;
    char wpre[256];
    long long prepaid =
        tm && number(&c, tm, "prepaid", data, NULL, false, "prepaid", &prepaid_v, wpre, sizeof wpre)
            ? cents(prepaid_v)
            : 0;
    long long grand = net + vat, due_amount = grand - prepaid;
    if (tm) {
        check_total(&c, tm, "net", data, net, "BR-CO-10", "the sum of the line totals");
        check_total(&c, tm, "vat", data, vat, "BR-CO-14", "the VAT of each rate on its lines");
        check_total(&c, tm, "grand", data, grand, "BR-CO-15", "net + VAT");
        check_total(&c, tm, "due", data, due_amount, "BR-CO-16", "total − prepaid");
    }
    char a_net[32], a_vat[32], a_grand[32], a_pre[32], a_due[32];
    amount(a_net, net);
    amount(a_vat, vat);
    amount(a_grand, grand);
    amount(a_pre, prepaid);
    amount(a_due, due_amount);
    buf_putf(
        &b,
        "<ram:SpecifiedTradeSettlementHeaderMonetarySummation><ram:LineTotalAmount>%s</ram:LineTotalAmount>"
        "<ram:TaxBasisTotalAmount>%s</ram:TaxBasisTotalAmount><ram:TaxTotalAmount currencyID=\"",
        a_net, a_net);
    xmlcheck_escape(&b, currency ? currency : "");
    buf_putf(&b, "\">%s</ram:TaxTotalAmount><ram:GrandTotalAmount>%s</ram:GrandTotalAmount>", a_vat, a_grand);
    if (prepaid)
        buf_putf(&b, "<ram:TotalPrepaidAmount>%s</ram:TotalPrepaidAmount>", a_pre);
    buf_putf(&b,
             "<ram:DuePayableAmount>%s</ram:DuePayableAmount></"
             "ram:SpecifiedTradeSettlementHeaderMonetarySummation>"
             "</ram:ApplicableHeaderTradeSettlement>\n</rsm:SupplyChainTradeTransaction>\n"
             "</rsm:CrossIndustryInvoice>\n",
             a_due);
    if (c.problems || !b.data || buf_error(&b) != BUF_OK) {
        if (!c.problems)
            json_array_append_new(json_object_get(c.issues, "formErrors"),
                                  json_string("The e-invoice XML would be larger than 5 MB"));
        buf_free(&b);
        *issues = c.issues;
        return -1;
    }
    json_decref(c.issues);
    *issues = NULL;
    *xml = buf_detach(&b, len);
    return 0;
}
