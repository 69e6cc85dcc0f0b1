/* Unit tests for manifest/pattern: the ECMAScript-subset dialect (what compiles, what is
 * refused and why) and search semantics over code points. The node-based agreement test
 * (tests/agreement) checks the same engine against JavaScript's RegExp on a corpus. */
#include "manifest/pattern.h"
#include "manifest_testutil.h"

static bool m(const char *pat, const char *subject)
{
    char err[PATTERN_ERR_MAX];
    pattern_t *p = pattern_compile(pat, strlen(pat), err);
    ck_assert_msg(p != NULL, "/%s/ does not compile: %s", pat, err);
    bool r = pattern_match(p, subject, strlen(subject));
    pattern_free(p);
    return r;
}

#define MATCH(pat, s) ck_assert_msg(m(pat, s), "/%s/ should match \"%s\"", pat, s)
#define NO_MATCH(pat, s) ck_assert_msg(!m(pat, s), "/%s/ should not match \"%s\"", pat, s)

static void refused(const char *pat, const char *msg)
{
    char err[PATTERN_ERR_MAX];
    pattern_t *p = pattern_compile(pat, strlen(pat), err);
    ck_assert_msg(p == NULL, "/%s/ compiled but should not", pat);
    ck_assert_msg(strstr(err, msg) != NULL, "/%s/: got \"%s\", want \"%s\"", pat, err, msg);
}

START_TEST(literals_and_search)
{
    MATCH("", "");
    MATCH("", "abc");
    MATCH("b", "abc");
    NO_MATCH("d", "abc");
    MATCH("^abc$", "abc");
    NO_MATCH("^abc$", "abcd");
    NO_MATCH("^abc$", "xabc");
    MATCH("c$", "abc");
    NO_MATCH("^b", "abc");
    MATCH("a|x", "xyz");
    MATCH("^(a|b)+$", "abba");
    NO_MATCH("^(a|b)+$", "abca");
    MATCH("^(?:ab)*$", "ababab");
    NO_MATCH("^(?:ab)*$", "aba");
    MATCH("^a|b$", "ax");
    MATCH("^a|b$", "xb");
    NO_MATCH("^a|b$", "xbx");
    MATCH("^(|a)$", "");
    MATCH("^()$", "");
}
END_TEST

START_TEST(quantifiers)
{
    MATCH("^a{3}$", "aaa");
    NO_MATCH("^a{3}$", "aa");
    NO_MATCH("^a{3}$", "aaaa");
    MATCH("^a{2,}$", "aaaaa");
    NO_MATCH("^a{2,}$", "a");
    MATCH("^a{1,3}$", "aaa");
    NO_MATCH("^a{1,3}$", "aaaa");
    MATCH("^a{0}$", "");
    MATCH("^a{0,0}b$", "b");
    MATCH("^a*?b+?c??$", "aabb");
    MATCH("^a{2,3}?$", "aa");
    MATCH("^(a*)*$", "aaa"); /* empty loops terminate */
    MATCH("^(a?){3}$", "aa");
    MATCH("^(ab|a)(bc|c)$", "abc");
    MATCH("^[A-Z]{2}[0-9]{2}[A-Z0-9]{1,30}$", "DE89370400440532013000");
}
END_TEST

START_TEST(classes_and_escapes)
{
    MATCH("^[abc]+$", "cab");
    NO_MATCH("^[abc]+$", "cad");
    MATCH("^[^abc]+$", "xyz");
    NO_MATCH("^[^abc]+$", "xaz");
    MATCH("^[a-c-]+$", "a-b");
    MATCH("^[-a]$", "-");
    MATCH("^[\\]\\[]+$", "][");
    MATCH("^[\\-]$", "-");
    MATCH("^[.]$", ".");
    NO_MATCH("^[.]$", "x");
    NO_MATCH("^[]$", "");
    NO_MATCH("[]", "a");
    MATCH("^[^]$", "\n");
    MATCH("^\\d+$", "0123456789");
    NO_MATCH("^\\d$", "\xd9\xa3"); /* Arabic-Indic digit: \d is ASCII only */
    MATCH("^\\D$", "x");
    MATCH("^\\w+$", "a_Z9");
    NO_MATCH("^\\w$", "\xc3\xa9");
    MATCH("^\\W$", "\xc3\xa9");
    MATCH("^\\s$", " ");
    MATCH("^\\s$", "\t");
    MATCH("^\\s$", "\xc2\xa0");        /* U+00A0 */
    MATCH("^\\s$", "\xe3\x80\x80");    /* U+3000 */
    MATCH("^\\s$", "\xef\xbb\xbf");    /* U+FEFF */
    NO_MATCH("^\\s$", "\xe2\x80\x8b"); /* U+200B is not white space */
    MATCH("^\\S$", "x");
    MATCH("^[\\d\\s]+$", "1 2");
    MATCH("^[^\\d]$", "x");
    NO_MATCH("^[^\\d]$", "5");
    MATCH("^[\\D]$", "x");
    MATCH("^\\t\\n\\v\\f\\r$", "\t\n\v\f\r");
    MATCH("^\\x41\\u0042\\u{43}$", "ABC");
    MATCH("^\\u{1F600}$", "\xf0\x9f\x98\x80");
    MATCH("^\\ud83d\\ude00$", "\xf0\x9f\x98\x80"); /* a surrogate pair is one code point */
    MATCH("^\\cJ$", "\n");
    MATCH("^[\\b]$", "\b");
    char err[PATTERN_ERR_MAX];
    pattern_t *p = pattern_compile("^\\0$", 4, err);
    ck_assert(pattern_match(p, "\0", 1));
    ck_assert(!pattern_match(p, "0", 1));
    pattern_free(p);
    MATCH("^\\^\\$\\\\\\.\\*\\+\\?\\(\\)\\[\\]\\{\\}\\|\\/$", "^$\\.*+?()[]{}|/");
    MATCH("^[\\u00e0-\\u00ff]+$", "\xc3\xa9\xc3\xa0");
}
END_TEST

START_TEST(dot_and_code_points)
{
    MATCH("^.$", "a");
    MATCH("^.$", "\xc3\xa9");         /* é is one character */
    MATCH("^.$", "\xf0\x9f\x98\x80"); /* so is an emoji */
    NO_MATCH("^..$", "\xf0\x9f\x98\x80");
    NO_MATCH("^.$", "\n");
    NO_MATCH("^.$", "\r");
    NO_MATCH("^.$", "\xe2\x80\xa8"); /* U+2028 */
    MATCH("^.$", "\t");
    MATCH("^\xc3\xa9t\xc3\xa9$", "\xc3\xa9t\xc3\xa9");
    MATCH("^[\xc3\xa0-\xc3\xbf]$", "\xc3\xa9");
}
END_TEST

START_TEST(word_boundaries)
{
    MATCH("\\bcat\\b", "a cat sat");
    NO_MATCH("\\bcat\\b", "concatenate");
    MATCH("\\Bcat\\B", "concatenate");
    MATCH("^\\b", "a");
    NO_MATCH("^\\b", " a");
    MATCH("a\\b$", "a");
    MATCH("\\b", "x");
    NO_MATCH("\\b", "");
    NO_MATCH("\\b", " ");
}
END_TEST

START_TEST(refusals)
{
    refused("*", "nothing to repeat at offset 0");
    refused("a**", "nothing to repeat");
    refused("a{2}*", "nothing to repeat");
    refused("(+)", "nothing to repeat");
    refused("^*", "nothing to repeat");
    refused("\\b+", "nothing to repeat");
    refused("a|*", "nothing to repeat");
    refused("{", "lone quantifier bracket");
    refused("a{", "incomplete quantifier");
    refused("a{1", "incomplete quantifier");
    refused("a{,2}", "incomplete quantifier");
    refused("a{1,2", "incomplete quantifier");
    refused("a{x}", "incomplete quantifier");
    refused("}", "lone quantifier bracket");
    refused("]", "lone ]");
    refused("a{3,2}", "numbers out of order");
    refused("a{1001}", "quantifier bound above 1000");
    refused("(", "unterminated group");
    refused("(a", "unterminated group");
    refused(")", "unmatched )");
    refused("a)", "unmatched )");
    refused("[a", "unterminated character class");
    refused("[z-a]", "range out of order");
    refused("[\\d-z]", "invalid character class range");
    refused("[a-\\d]", "invalid character class range");
    refused("(?=a)", "lookaround and named groups are not supported");
    refused("(?!a)", "lookaround");
    refused("(?<=a)", "lookaround");
    refused("(?<n>a)", "named groups");
    refused("(a)\\1", "backreferences are not supported");
    refused("\\k<n>", "named backreferences are not supported");
    refused("\\p{L}", "Unicode property escapes are not supported");
    refused("\\a", "invalid escape");
    refused("\\-", "invalid escape");
    refused("\\e", "invalid escape");
    refused("[\\B]", "invalid escape \\B in a class");
    refused("\\c1", "invalid \\c escape");
    refused("\\x4", "invalid \\x escape");
    refused("\\u12", "invalid \\u escape");
    refused("\\u{110000}", "beyond U+10FFFF");
    refused("\\u{}", "invalid \\u{...} escape");
    refused("\\01", "invalid octal escape");
    refused("\\", "\\ at end of pattern");
    refused("\xff", "invalid UTF-8");
    refused("((a{1000}){1000})", "pattern too complex");
    char deep[200];
    memset(deep, '(', 60);
    memset(deep + 60, ')', 60);
    deep[120] = '\0';
    refused(deep, "groups nested too deeply");
    char err[PATTERN_ERR_MAX];
    ck_assert_ptr_null(pattern_compile("a\0b", 3, err));
    ck_assert_str_eq(err, "pattern contains a NUL byte");
    char big[PATTERN_SOURCE_MAX + 2];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    refused(big, "pattern longer than 500 bytes");
}
END_TEST

START_TEST(program_size_and_budget)
{
    char err[PATTERN_ERR_MAX];
    pattern_t *p = pattern_compile("a{1000}", 7, err);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(pattern_program_size(p), 1001);
    pattern_free(p);
    /* Nested repetition that is not catastrophic for an NFA: linear time. */
    p = pattern_compile("^(a+)+$", 7, err);
    char *s = malloc(100002);
    memset(s, 'a', 100000);
    s[100000] = '!';
    s[100001] = '\0';
    ck_assert(!pattern_match(p, s, 100001));
    pattern_free(p);
    /* The budget stops a long search and says so. */
    p = pattern_compile("(a?){500}b", 10, err);
    uint64_t budget = 100000;
    ck_assert_int_eq(pattern_match_budget(p, s, 100000, &budget), PATTERN_BUDGET_EXCEEDED);
    ck_assert_uint_eq(budget, 0);
    budget = 100000000;
    ck_assert_int_eq(pattern_match_budget(p, "aab", 3, &budget), PATTERN_MATCH);
    ck_assert_uint_lt(budget, 100000000);
    pattern_free(p);
    free(s);
    /* Invalid UTF-8 in a subject is read as U+FFFD, never past the end. */
    ck_assert(m("^.b$", "\xff"
                        "b"));
    ck_assert(m("^..$", "\xe2\x82")); /* a truncated sequence: one U+FFFD per byte */
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("pattern");
    TCase *tc = tcase_create("pattern");
    tcase_add_test(tc, literals_and_search);
    tcase_add_test(tc, quantifiers);
    tcase_add_test(tc, classes_and_escapes);
    tcase_add_test(tc, dot_and_code_points);
    tcase_add_test(tc, word_boundaries);
    tcase_add_test(tc, refusals);
    tcase_add_test(tc, program_size_and_budget);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(suite());
}
