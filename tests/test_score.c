/* test_score.c: BLEU, chrF2 and the 13a tokenizer against sacreBLEU 2.6.0's
 * values stored by scripts/make_score_fixtures.py (tests/data/score/), plus
 * the line reader (BOM, CRLF, NUL) and the input errors. Tolerances: scores,
 * precisions, BP and ratio within 1e-6 absolute (the contract is 0.01; the
 * arithmetic is the same as sacreBLEU's, so they agree to rounding); lengths,
 * counts, signatures and the printed score lines exactly. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sf_test.h"
#include "text/score.h"
#include "text/score_internal.h"

#define SCORE_DIR SF_TEST_DATA_DIR "/score"
#define SCORE_TOL 1e-6

static void expect_st(const char *ctx, sf_status got, sf_status want, const char *sub)
{
    ck_assert_msg(got == want, "%s: status \"%s\", expected \"%s\" (message: %s)", ctx,
                  sf_status_str(got), sf_status_str(want), sf_last_error());
    if (sub)
        ck_assert_msg(strstr(sf_last_error(), sub) != NULL, "%s: message \"%s\" lacks \"%s\"",
                      ctx, sf_last_error(), sub);
}

static cJSON *load_expected(void)
{
    char *txt = sf_test_read_file(SCORE_DIR "/expected.json", NULL);
    ck_assert_msg(txt != NULL, "cannot read %s/expected.json (run scripts/make_score_fixtures.py)",
                  SCORE_DIR);
    cJSON *j = cJSON_Parse(txt);
    free(txt);
    ck_assert_msg(j != NULL, "expected.json does not parse");
    cJSON *v = cJSON_GetObjectItem(j, "sacrebleu_version");
    ck_assert_msg(cJSON_IsString(v) && strcmp(v->valuestring, SF_SACREBLEU_VERSION) == 0,
                  "fixtures were made with sacrebleu %s, the code matches %s",
                  cJSON_IsString(v) ? v->valuestring : "?", SF_SACREBLEU_VERSION);
    return j;
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItem(o, key);
    ck_assert_msg(cJSON_IsNumber(v), "expected.json: no number \"%s\"", key);
    return v->valuedouble;
}

static const char *str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItem(o, key);
    ck_assert_msg(cJSON_IsString(v), "expected.json: no string \"%s\"", key);
    return v->valuestring;
}

/* ------------------------------------------------------------------ 13a */

START_TEST(test_tok13a_fixture)
{
    cJSON *j = load_expected();
    cJSON *cases = cJSON_GetObjectItem(j, "tok13a");
    ck_assert(cJSON_GetArraySize(cases) > 50);
    sf_toks t = {0};
    char *joined = NULL;
    int idx = 0;
    for (cJSON *c = cases->child; c; c = c->next, idx++) {
        const char *in = cJSON_GetArrayItem(c, 0)->valuestring;
        const char *want = cJSON_GetArrayItem(c, 1)->valuestring;
        ck_assert_msg(sf_tok13a(in, &t) == SF_OK, "case %d: %s", idx, sf_last_error());
        joined = realloc(joined, strlen(t.text) + 1);
        size_t w = 0;
        for (int64_t k = 0; k < t.n; k++) {
            if (k)
                joined[w++] = ' ';
            size_t len = (size_t)(t.span[2 * k + 1] - t.span[2 * k]);
            memcpy(joined + w, t.text + t.span[2 * k], len);
            w += len;
        }
        joined[w] = '\0';
        ck_assert_msg(strcmp(joined, want) == 0,
                      "tok13a case %d (\"%s\"): got \"%s\", expected \"%s\"", idx, in, joined,
                      want);
    }
    free(joined);
    sf_toks_free(&t);
    cJSON_Delete(j);
}
END_TEST

/* ------------------------------------------------------------ fixtures */

static void read_case(const cJSON *c, sf_text *hyp, sf_text refs[2], int32_t *n_refs)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", SCORE_DIR, str(c, "hyp"));
    ck_assert_msg(sf_text_read(path, hyp) == SF_OK, "%s", sf_last_error());
    const cJSON *rs = cJSON_GetObjectItem(c, "refs");
    *n_refs = cJSON_GetArraySize(rs);
    ck_assert(*n_refs >= 1 && *n_refs <= 2);
    for (int32_t k = 0; k < *n_refs; k++) {
        snprintf(path, sizeof path, "%s/%s", SCORE_DIR, cJSON_GetArrayItem(rs, k)->valuestring);
        ck_assert_msg(sf_text_read(path, &refs[k]) == SF_OK, "%s", sf_last_error());
    }
}

static void check_bleu(const char *name, const cJSON *e, const sf_bleu *b)
{
    ck_assert_msg(fabs(b->score - num(e, "score")) < SCORE_TOL, "%s: BLEU %.9f, sacreBLEU %.9f",
                  name, b->score, num(e, "score"));
    ck_assert_msg(fabs(b->bp - num(e, "bp")) < SCORE_TOL, "%s: bp %.9f", name, b->bp);
    ck_assert_msg(fabs(b->ratio - num(e, "ratio")) < SCORE_TOL, "%s: ratio %.9f", name, b->ratio);
    ck_assert_msg(b->hyp_len == (int64_t)num(e, "sys_len"), "%s: hyp_len %lld", name,
                  (long long)b->hyp_len);
    ck_assert_msg(b->ref_len == (int64_t)num(e, "ref_len"), "%s: ref_len %lld", name,
                  (long long)b->ref_len);
    const cJSON *p = cJSON_GetObjectItem(e, "precisions"), *cn = cJSON_GetObjectItem(e, "counts"),
                *tt = cJSON_GetObjectItem(e, "totals");
    for (int n = 0; n < 4; n++) {
        double pw = cJSON_GetArrayItem(p, n)->valuedouble;
        ck_assert_msg(fabs(b->precisions[n] - pw) < SCORE_TOL, "%s: p%d %.9f, sacreBLEU %.9f",
                      name, n + 1, b->precisions[n], pw);
        ck_assert_msg(b->counts[n] == (int64_t)cJSON_GetArrayItem(cn, n)->valuedouble &&
                          b->totals[n] == (int64_t)cJSON_GetArrayItem(tt, n)->valuedouble,
                      "%s: order %d counts %lld/%lld", name, n + 1, (long long)b->counts[n],
                      (long long)b->totals[n]);
    }
    ck_assert_msg(strcmp(b->signature, str(e, "signature")) == 0, "%s: signature \"%s\" vs \"%s\"",
                  name, b->signature, str(e, "signature"));
    ck_assert_msg(strcmp(b->text, str(e, "text")) == 0, "%s: text \"%s\" vs \"%s\"", name, b->text,
                  str(e, "text"));
}

START_TEST(test_fixture_scores)
{
    cJSON *j = load_expected();
    const cJSON *cases = cJSON_GetObjectItem(j, "cases");
    ck_assert(cJSON_GetArraySize(cases) >= 7);
    for (const cJSON *c = cases->child; c; c = c->next) {
        const char *name = str(c, "name");
        sf_text hyp, refs[2];
        int32_t n_refs;
        read_case(c, &hyp, refs, &n_refs);
        sf_bleu b;
        sf_chrf f;
        ck_assert_msg(sf_bleu_corpus(&hyp, refs, n_refs, &b) == SF_OK, "%s: %s", name,
                      sf_last_error());
        ck_assert_msg(sf_chrf_corpus(&hyp, refs, n_refs, &f) == SF_OK, "%s: %s", name,
                      sf_last_error());
        check_bleu(name, cJSON_GetObjectItem(c, "bleu"), &b);
        const cJSON *e = cJSON_GetObjectItem(c, "chrf");
        ck_assert_msg(fabs(f.score - num(e, "score")) < SCORE_TOL, "%s: chrF %.9f, sacreBLEU %.9f",
                      name, f.score, num(e, "score"));
        ck_assert_msg(strcmp(f.signature, str(e, "signature")) == 0, "%s: chrF signature \"%s\"",
                      name, f.signature);
        ck_assert_msg(strcmp(f.text, str(e, "text")) == 0, "%s: chrF text \"%s\"", name, f.text);
        sf_text_free(&hyp);
        for (int32_t k = 0; k < n_refs; k++)
            sf_text_free(&refs[k]);
    }
    cJSON_Delete(j);
}
END_TEST

/* Identical hypothesis and reference: 100 for both; order of references
 * does not matter for BLEU (max over references). */
START_TEST(test_identity_and_ref_order)
{
    const char *a[] = {"The cat sat on the mat.", "Ein Haus, am See!"};
    const char *b[] = {"A cat sat on a mat.", "Ein Haus am See."};
    sf_text h = {.name = "h", .lines = a, .n = 2}, r1 = {.name = "r1", .lines = a, .n = 2},
            r2 = {.name = "r2", .lines = b, .n = 2};
    sf_bleu s;
    sf_chrf c;
    ck_assert(sf_bleu_corpus(&h, &r1, 1, &s) == SF_OK);
    ck_assert_msg(fabs(s.score - 100.0) < 1e-9, "identity BLEU %f", s.score);
    ck_assert(sf_chrf_corpus(&h, &r1, 1, &c) == SF_OK);
    ck_assert_msg(fabs(c.score - 100.0) < 1e-9, "identity chrF %f", c.score);
    sf_text two[2] = {r2, r1}, rev[2] = {r1, r2};
    sf_bleu s2, s3;
    ck_assert(sf_bleu_corpus(&h, two, 2, &s2) == SF_OK && sf_bleu_corpus(&h, rev, 2, &s3) == SF_OK);
    ck_assert_msg(s2.score == s3.score && fabs(s2.score - 100.0) < 1e-9, "2 refs: %f vs %f",
                  s2.score, s3.score);
    ck_assert_str_eq(s2.signature,
                     "nrefs:2|case:mixed|eff:no|tok:13a|smooth:exp|version:" SF_SACREBLEU_VERSION);
}
END_TEST

/* --------------------------------------------------------------- errors */

START_TEST(test_input_errors)
{
    const char *good[] = {"a b c", "d e"};
    const char *bad_utf8[] = {"fine", "caf\xe9 au lait"};
    const char *with_null[] = {"fine", NULL};
    sf_text h = {.name = "hyp.txt", .lines = good, .n = 2};
    sf_text short_ref = {.name = "ref.txt", .lines = good, .n = 1};
    sf_text bad = {.name = "bad.txt", .lines = bad_utf8, .n = 2};
    sf_text nul = {.name = "nul.txt", .lines = with_null, .n = 2};
    sf_text unnamed = {.lines = bad_utf8, .n = 2};
    sf_text empty = {.name = "empty.txt", .lines = good, .n = 0};
    sf_bleu b;
    sf_chrf c;
    expect_st("count", sf_bleu_corpus(&h, &short_ref, 1, &b), SF_ERR_INVALID_ARG,
              "hyp.txt has 2 lines but ref.txt has 1");
    expect_st("count chrf", sf_chrf_corpus(&h, &short_ref, 1, &c), SF_ERR_INVALID_ARG,
              "hyp.txt has 2 lines but ref.txt has 1");
    expect_st("utf8 ref", sf_bleu_corpus(&h, &bad, 1, &b), SF_ERR_FORMAT,
              "bad.txt line 2: invalid UTF-8 at byte 3");
    expect_st("utf8 hyp", sf_chrf_corpus(&bad, &h, 1, &c), SF_ERR_FORMAT, "bad.txt line 2");
    expect_st("utf8 unnamed", sf_chrf_corpus(&h, &unnamed, 1, &c), SF_ERR_FORMAT,
              "reference 1 line 2");
    expect_st("null line", sf_bleu_corpus(&h, &nul, 1, &b), SF_ERR_INVALID_ARG,
              "nul.txt line 2: NULL line");
    expect_st("no refs", sf_bleu_corpus(&h, &h, 0, &b), SF_ERR_INVALID_ARG, "got 0 reference");
    expect_st("no lines", sf_bleu_corpus(&empty, &empty, 1, &b), SF_ERR_INVALID_ARG,
              "empty.txt has no lines");
    expect_st("null out", sf_chrf_corpus(&h, &h, 1, NULL), SF_ERR_INVALID_ARG, "out is NULL");
    expect_st("null hyp", sf_bleu_corpus(NULL, &h, 1, &b), SF_ERR_INVALID_ARG, NULL);
}
END_TEST

/* --------------------------------------------------------------- reader */

typedef struct reader_case {
    const char *name;
    const char *bytes;
    size_t len;
    int64_t n;
    const char *lines[4];
} reader_case;

START_TEST(test_reader)
{
    static const reader_case cases[] = {
        {"plain", "a\nb\n", 4, 2, {"a", "b"}},
        {"no final break", "a\nb", 3, 2, {"a", "b"}},
        {"crlf", "a\r\nb\r\n\r\n", 8, 3, {"a", "b", ""}},
        {"bom", "\xef\xbb\xbfx y\n", 7, 1, {"x y"}},
        {"empty file", "", 0, 0, {NULL}},
        {"only break", "\n", 1, 1, {""}},
        {"lone cr kept", "a\rb\n", 4, 1, {"a\rb"}},
    };
    char dir[512], path[600];
    sf_test_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/t.txt", dir);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const reader_case *c = &cases[i];
        sf_test_write_file(path, c->bytes, c->len);
        sf_text t;
        ck_assert_msg(sf_text_read(path, &t) == SF_OK, "%s: %s", c->name, sf_last_error());
        ck_assert_msg(t.n == c->n, "%s: %lld lines, expected %lld", c->name, (long long)t.n,
                      (long long)c->n);
        for (int64_t k = 0; k < t.n; k++)
            ck_assert_msg(strcmp(t.lines[k], c->lines[k]) == 0, "%s line %lld: \"%s\"", c->name,
                          (long long)k, t.lines[k]);
        ck_assert_str_eq(t.name, path);
        sf_text_free(&t);
    }
    sf_test_write_file(path, "ok\nbad\0line\n", 12);
    sf_text t;
    expect_st("nul byte", sf_text_read(path, &t), SF_ERR_FORMAT, "line 2: contains a NUL byte");
    ck_assert(t.n == 0 && t.owned_ == NULL);
    snprintf(path, sizeof path, "%s/missing.txt", dir);
    expect_st("missing", sf_text_read(path, &t), SF_ERR_IO, "missing.txt");
    sf_text_free(&t);
    sf_text_free(NULL);
    sf_test_rmtree(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("score");
    TCase *tc = tcase_create("tok13a");
    tcase_add_test(tc, test_tok13a_fixture);
    suite_add_tcase(s, tc);
    tc = tcase_create("scores");
    tcase_add_test(tc, test_fixture_scores);
    tcase_add_test(tc, test_identity_and_ref_order);
    tcase_add_test(tc, test_input_errors);
    suite_add_tcase(s, tc);
    tc = tcase_create("reader");
    tcase_add_test(tc, test_reader);
    suite_add_tcase(s, tc);
    return sf_test_main(s);
}
