/* test_svg.c: the attention SVG writer: nasty pieces (markup characters, control
 * codes, invalid UTF-8, empty and long pieces) must give a well-formed document,
 * checked by a small XML well-formedness checker defined here (itself tested on
 * good and bad snippets) and, where installed, by xmllint or python3's
 * xml.etree; argument errors leave no file behind. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"
#include "sf_test.h"
#include "text/svg.h"

/* ------------------------------------------------ well-formedness checker */

typedef struct xml_chk {
    const char *s;
    size_t n, i;
    const char *stack[64];
    size_t stack_len[64];
    int depth, roots;
    char err[160];
} xml_chk;

static int xfail(xml_chk *x, const char *what)
{
    snprintf(x->err, sizeof x->err, "%s at byte %zu", what, x->i);
    return 0;
}

static int is_name_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}
static int is_name_char(char c)
{
    return is_name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
}
static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static size_t skip_ws(xml_chk *x)
{
    size_t k = 0;
    while (x->i < x->n && is_ws(x->s[x->i]))
        x->i++, k++;
    return k;
}

static int name(xml_chk *x, const char **p, size_t *len)
{
    size_t st = x->i;
    if (x->i >= x->n || !is_name_start(x->s[x->i]))
        return xfail(x, "expected a name");
    while (x->i < x->n && is_name_char(x->s[x->i]))
        x->i++;
    *p = x->s + st;
    *len = x->i - st;
    return 1;
}

/* An entity reference at x->i ('&'): predefined or numeric. */
static int entity(xml_chk *x)
{
    static const char *const ok[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"};
    for (size_t k = 0; k < 5; k++)
        if (strncmp(x->s + x->i, ok[k], strlen(ok[k])) == 0) {
            x->i += strlen(ok[k]);
            return 1;
        }
    size_t j = x->i + 1;
    if (j < x->n && x->s[j] == '#') {
        int hex = j + 1 < x->n && x->s[j + 1] == 'x';
        j += 1 + (size_t)hex;
        size_t d = j;
        while (j < x->n && (hex ? strchr("0123456789abcdefABCDEF", x->s[j]) && x->s[j]
                                : x->s[j] >= '0' && x->s[j] <= '9'))
            j++;
        if (j > d && j < x->n && x->s[j] == ';') {
            x->i = j + 1;
            return 1;
        }
    }
    return xfail(x, "bad entity reference");
}

/* Character data outside markup (or an attribute value when quote != 0). */
static int chars(xml_chk *x, char quote)
{
    while (x->i < x->n && x->s[x->i] != (quote ? quote : '<')) {
        unsigned char c = (unsigned char)x->s[x->i];
        if (c < 0x20 && !is_ws((char)c))
            return xfail(x, "control character");
        if (c == '<')
            return xfail(x, "'<' in an attribute value");
        if (c == '&') {
            if (!entity(x))
                return 0;
            continue;
        }
        if (!quote && strncmp(x->s + x->i, "]]>", 3) == 0)
            return xfail(x, "']]>' in text");
        if (!quote && x->depth == 0 && !is_ws((char)c))
            return xfail(x, "text outside the root element");
        x->i++;
    }
    return 1;
}

static int open_tag(xml_chk *x)
{
    const char *p;
    size_t len;
    x->i++;
    if (!name(x, &p, &len))
        return 0;
    for (;;) {
        size_t ws = skip_ws(x);
        if (x->i + 1 < x->n && x->s[x->i] == '/' && x->s[x->i + 1] == '>') {
            x->i += 2;
            x->roots += x->depth == 0;
            return 1;
        }
        if (x->i < x->n && x->s[x->i] == '>') {
            x->i++;
            if (x->depth == 64)
                return xfail(x, "nesting too deep");
            x->roots += x->depth == 0;
            x->stack[x->depth] = p;
            x->stack_len[x->depth++] = len;
            return 1;
        }
        const char *an;
        size_t al;
        if (!ws)
            return xfail(x, "no space before an attribute");
        if (!name(x, &an, &al))
            return 0;
        skip_ws(x);
        if (x->i >= x->n || x->s[x->i++] != '=')
            return xfail(x, "attribute without '='");
        skip_ws(x);
        char q = x->i < x->n ? x->s[x->i] : 0;
        if (q != '"' && q != '\'')
            return xfail(x, "unquoted attribute value");
        x->i++;
        if (!chars(x, q))
            return 0;
        if (x->i >= x->n)
            return xfail(x, "unterminated attribute value");
        x->i++;
    }
}

static int close_tag(xml_chk *x)
{
    const char *p;
    size_t len;
    x->i += 2;
    if (!name(x, &p, &len))
        return 0;
    skip_ws(x);
    if (x->i >= x->n || x->s[x->i] != '>')
        return xfail(x, "bad end tag");
    x->i++;
    if (x->depth == 0 || x->stack_len[x->depth - 1] != len ||
        memcmp(x->stack[x->depth - 1], p, len) != 0)
        return xfail(x, "end tag does not match the open element");
    x->depth--;
    return 1;
}

/* Skip from x->i past the first `end` (for <?...?> and <!--...-->). */
static int skip_past(xml_chk *x, const char *end)
{
    const char *e = strstr(x->s + x->i, end);
    if (!e)
        return xfail(x, "unterminated declaration or comment");
    x->i = (size_t)(e - x->s) + strlen(end);
    return 1;
}

/* 1 if s is well-formed XML (a subset: no DOCTYPE, CDATA); else 0 and x->err. */
static int xml_well_formed(const char *s, xml_chk *x)
{
    memset(x, 0, sizeof *x);
    x->s = s;
    x->n = strlen(s);
    size_t bad;
    if (!sf_utf8_valid(s, x->n, &bad))
        return x->i = bad, xfail(x, "invalid UTF-8");
    while (x->i < x->n) {
        int ok;
        if (x->s[x->i] != '<')
            ok = chars(x, 0);
        else if (strncmp(x->s + x->i, "<?", 2) == 0)
            ok = skip_past(x, "?>");
        else if (strncmp(x->s + x->i, "<!--", 4) == 0)
            ok = skip_past(x, "-->");
        else if (strncmp(x->s + x->i, "</", 2) == 0)
            ok = close_tag(x);
        else
            ok = open_tag(x);
        if (!ok)
            return 0;
        if (x->roots > 1)
            return xfail(x, "more than one root element");
    }
    if (x->depth != 0)
        return xfail(x, "unclosed element at the end");
    if (x->roots != 1)
        return xfail(x, "no root element");
    return 1;
}

typedef struct wf_case {
    const char *name, *doc;
    int ok;
} wf_case;

START_TEST(test_checker_itself)
{
    static const wf_case cases[] = {
        {"good",
         "<?xml version=\"1.0\"?>\n<a x='1' y=\"&amp;&#38;&#x26;\"><b/>t&lt;<!-- c --></a>\n",
         1},
        {"misnested", "<a><b></a></b>", 0},
        {"unclosed", "<a>", 0},
        {"unquoted", "<a x=1/>", 0},
        {"bare amp", "<a>x & y</a>", 0},
        {"unknown entity", "<a>&foo;</a>", 0},
        {"raw lt", "<a>1 < 2</a>", 0},
        {"lt in attr", "<a x=\"<\"/>", 0},
        {"control char", "<a>\x01</a>", 0},
        {"two roots", "<a/><b/>", 0},
        {"no space", "<a x=\"1\"y=\"2\"/>", 0},
        {"cdata end", "<a>]]></a>", 0},
        {"bad utf8", "<a>\xff</a>", 0},
        {"no root", "  ", 0},
        {"text outside", "<a/>x", 0},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        xml_chk x;
        int got = xml_well_formed(cases[k].doc, &x);
        ck_assert_msg(got == cases[k].ok, "checker case %s: got %d (%s)", cases[k].name, got,
                      x.err);
    }
}
END_TEST

/* ------------------------------------------------------------- writer */

static int count_substr(const char *s, const char *sub)
{
    int k = 0;
    for (const char *p = s; (p = strstr(p, sub)) != NULL; p += strlen(sub))
        k++;
    return k;
}

/* 1 if folder dir holds a leftover temporary file (name containing ".tmp."). */
static int leftover_temp(const char *dir)
{
    char cmd[700], *out = NULL;
    snprintf(cmd, sizeof cmd, "ls -A '%s'", dir);
    ck_assert_int_eq(sf_test_sh(cmd, &out), 0);
    int found = out && strstr(out, ".tmp.") != NULL;
    free(out);
    return found;
}

/* Run an external XML parser on path if one is installed. */
static void external_check(const char *path)
{
    char cmd[1200], *out = NULL;
    if (sf_test_sh("command -v xmllint", &out) == 0) {
        free(out);
        snprintf(cmd, sizeof cmd, "xmllint --noout '%s' 2>&1", path);
        int rc = sf_test_sh(cmd, &out);
        ck_assert_msg(rc == 0, "xmllint rejects the SVG: %s", out ? out : "");
    } else if (free(out), sf_test_sh("python3 -c 'import xml.etree.ElementTree' 2>&1", &out) == 0) {
        free(out);
        snprintf(cmd, sizeof cmd,
                 "python3 -c 'import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])' "
                 "'%s' 2>&1",
                 path);
        int rc = sf_test_sh(cmd, &out);
        ck_assert_msg(rc == 0, "python3 xml.etree rejects the SVG: %s", out ? out : "");
    } else {
        printf("note: neither xmllint nor python3 is installed; external XML check skipped\n");
    }
    free(out);
}

START_TEST(test_nasty_pieces)
{
    const char *src[] = {"<&>\"'", "\u2581\u00fcber", "", "a\001b\037\177",
                         "bad\xff\xfeutf8", "0123456789012345678901234567890123456789XYZ"};
    const char *tgt[] = {"x", "]]>", "&amp;", "tab\tnew\nline", "\xc2\x85\x63\x31"};
    enum { S = 6, T = 5 };
    float w[T * S];
    sf_test_randu(w, T * S, -0.2f, 1.2f, 7);
    char dir[512], path[600];
    sf_test_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/attn.svg", dir);
    ck_assert_msg(sf_attention_svg_write(path, src, S, tgt, T, w) == SF_OK, "%s", sf_last_error());
    char *doc = sf_test_read_file(path, NULL);
    ck_assert_ptr_nonnull(doc);
    xml_chk x;
    ck_assert_msg(xml_well_formed(doc, &x), "SVG not well-formed: %s", x.err);
    static const char *const want[] = {
        "&lt;&amp;&gt;&quot;&apos;",
        "\u2581\u00fcber",
        ">ab</text>",
        "bad\xef\xbf\xbd\xef\xbf\xbdutf8",
        "]]&gt;",
        "&amp;amp;",
        ">tabnewline</text>",
        ">c1</text>",
        "0123456789012345678901234567890123456789\xe2\x80\xa6<",
        "<title>Attention: 5 target x 6 source",
    };
    for (size_t k = 0; k < sizeof want / sizeof *want; k++)
        ck_assert_msg(strstr(doc, want[k]) != NULL, "SVG lacks \"%s\"", want[k]);
    ck_assert_int_eq(count_substr(doc, "<rect "), S * T + 1); /* cells + background */
    int white = 0, black = 0; /* weights are clamped to [0, 1]: white 0, black 1 */
    for (int k = 0; k < T * S; k++) {
        white += w[k] <= 0.0f;
        black += w[k] >= 1.0f;
    }
    ck_assert_msg(white > 0 && black > 0, "random weights should reach both clamps");
    ck_assert_int_eq(count_substr(doc, "fill=\"rgb(255,255,255)\""), white);
    ck_assert_int_eq(count_substr(doc, "fill=\"rgb(0,0,0)\""), black);
    for (const char *p = doc; *p; p++)
        ck_assert_msg((unsigned char)*p >= 0x20 || *p == '\n', "control byte 0x%02x at %td",
                      (unsigned)(unsigned char)*p, p - doc);
    ck_assert(!leftover_temp(dir));
    external_check(path);
    free(doc);
    sf_test_rmtree(dir);
}
END_TEST

START_TEST(test_errors_leave_no_file)
{
    const char *src[] = {"a", "b", "c"}, *tgt[] = {"x", "y"};
    const char *with_null[] = {"a", NULL, "c"};
    float w[6] = {0.1f, 0.2f, 0.7f, 0.3f, 0.3f, 0.4f};
    char dir[512], path[600];
    sf_test_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/a.svg", dir);
    sf_test_write_file(path, "old", 3);
    float bad[6];
    memcpy(bad, w, sizeof w);
    bad[5] = 0.0f / 0.0f;
    ck_assert_int_eq(sf_attention_svg_write(path, src, 3, tgt, 2, bad), SF_ERR_NUMERIC);
    ck_assert_msg(strstr(sf_last_error(), "[t=1, s=2] is NaN"), "%s", sf_last_error());
    ck_assert_int_eq(sf_attention_svg_write(path, src, 0, tgt, 2, w), SF_ERR_INVALID_ARG);
    ck_assert_int_eq(sf_attention_svg_write(path, with_null, 3, tgt, 2, w), SF_ERR_INVALID_ARG);
    ck_assert_msg(strstr(sf_last_error(), "source piece 1 is NULL"), "%s", sf_last_error());
    ck_assert_int_eq(sf_attention_svg_write(NULL, src, 3, tgt, 2, w), SF_ERR_INVALID_ARG);
    ck_assert_int_eq(sf_attention_svg_write(path, src, 3, tgt, 2, NULL), SF_ERR_INVALID_ARG);
    ck_assert_int_eq(sf_attention_svg_write(path, src, 3000, tgt, 2000, w), SF_ERR_INVALID_ARG);
    char *old = sf_test_read_file(path, NULL);
    ck_assert_str_eq(old, "old"); /* untouched by the failed calls */
    free(old);
    ck_assert_int_eq(sf_attention_svg_write(path, src, 3, tgt, 2, w), SF_OK);
    char *doc = sf_test_read_file(path, NULL);
    ck_assert(strncmp(doc, "<?xml", 5) == 0); /* replaced */
    free(doc);
    char missing[700];
    snprintf(missing, sizeof missing, "%s/no/such/dir/a.svg", dir);
    ck_assert_int_eq(sf_attention_svg_write(missing, src, 3, tgt, 2, w), SF_ERR_IO);
    ck_assert_msg(strstr(sf_last_error(), missing), "%s", sf_last_error());
    ck_assert(!leftover_temp(dir));
    sf_test_rmtree(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("svg");
    TCase *tc = tcase_create("checker");
    tcase_add_test(tc, test_checker_itself);
    suite_add_tcase(s, tc);
    tc = tcase_create("attention_svg");
    tcase_add_test(tc, test_nasty_pieces);
    tcase_add_test(tc, test_errors_leave_no_file);
    suite_add_tcase(s, tc);
    return sf_test_main(s);
}
