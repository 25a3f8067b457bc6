/* test_translate.c: the translator on a small model trained here to reverse
 * word sequences: correct output, one line out per line in for a table of bad
 * lines (with their messages), batch-size invariance, n-best format and order,
 * scores equal to forced decoding, SVG files, and the CLI's exit codes and
 * atomic output. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "search/translator.h"
#include "sf_test.h"
#include "train/trainer.h"

static char g_dir[4096], g_model[4300];
static const char *const words[] = {"red", "green", "blue", "cyan", "black", "white",
                                    "pink", "brown", "gray", "gold", "teal", "plum"};

static void write_lines(const char *path, const char *text)
{
    sf_test_write_file(path, text, strlen(text));
}

/* Train once for the whole binary (about 10 s). */
static void train_model(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/sftest-translate-XXXXXX");
    if (!mkdtemp(g_dir))
        abort();
    sf_test_train_reversal(g_dir, g_model, sizeof g_model);
}

/* Translate `input` through the library; returns the output text (malloc'd). */
static char *translate(const char *input, const sf_translate_opts *o, sf_translate_stats *s)
{
    sf_translator *t;
    ck_assert_msg(sf_translator_open(g_model, "cpu", &t) == SF_OK, "%s", sf_last_error());
    FILE *in = fmemopen((void *)input, strlen(input), "r");
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    sf_translate_stats st;
    ck_assert_msg(sf_translate_stream(t, in, "input.txt", out, o, s ? s : &st) == SF_OK, "%s",
                  sf_last_error());
    fclose(in);
    fclose(out);
    sf_translator_free(t);
    return buf;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

START_TEST(test_reverses)
{
    sf_translate_opts o;
    sf_translate_opts_default(&o);
    char *out = translate("red green blue\nteal gold plum pink\n", &o, NULL);
    ck_assert_str_eq(out, "blue green red\npink plum gold teal\n");
    free(out);
    o.search.beam = 1;
    out = translate("red green blue\nteal gold plum pink\n", &o, NULL);
    ck_assert_str_eq(out, "blue green red\npink plum gold teal\n");
    free(out);
}
END_TEST

START_TEST(test_pieces_and_ids)
{
    sf_translator *t;
    ck_assert_int_eq(sf_translator_open(g_model, "cpu", &t), SF_OK);
    char *pieces = NULL, ids_text[256] = "";
    int32_t *ids = NULL;
    int64_t n = 0;
    ck_assert_int_eq(sf_spm_encode_pieces(t->spm_src, "red green blue", 14, &pieces), SF_OK);
    ck_assert_int_eq(sf_spm_encode(t->spm_src, "red green blue", 14, &ids, &n), SF_OK);
    for (int64_t i = 0; i < n; i++)
        snprintf(ids_text + strlen(ids_text), sizeof ids_text - strlen(ids_text), "%s%d",
                 i ? " " : "", ids[i]);
    strcat(ids_text, "\n");
    char *line = malloc(strlen(pieces) + 2);
    sprintf(line, "%s\n", pieces);
    sf_translate_opts o;
    sf_translate_opts_default(&o);
    o.no_spm = 1;
    char *out_pieces = translate(line, &o, NULL);
    o.no_spm = 2;
    char *out_ids = translate(ids_text, &o, NULL);
    /* both equal the pieces / ids of the text translation "blue green red" */
    char *want_pieces = NULL;
    int32_t *want = NULL;
    int64_t wn = 0;
    ck_assert_int_eq(sf_spm_encode_pieces(t->spm_tgt, "blue green red", 14, &want_pieces), SF_OK);
    ck_assert_int_eq(sf_spm_encode(t->spm_tgt, "blue green red", 14, &want, &wn), SF_OK);
    ck_assert_int_eq(strncmp(out_pieces, want_pieces, strlen(want_pieces)), 0);
    char want_ids[256] = "";
    for (int64_t i = 0; i < wn; i++)
        snprintf(want_ids + strlen(want_ids), sizeof want_ids - strlen(want_ids), "%s%d",
                 i ? " " : "", want[i]);
    strcat(want_ids, "\n");
    ck_assert_str_eq(out_ids, want_ids);
    free(pieces), free(ids), free(line), free(out_pieces), free(out_ids), free(want_pieces);
    free(want);
    sf_translator_free(t);
}
END_TEST

START_TEST(test_bad_lines)
{
    /* line: 1 ok, 2 empty, 3 spaces, 4 invalid UTF-8, 5 CRLF, 6 NUL byte, 7 too long, 8 ok
       without a final newline */
    static const char input[] = "red green blue\n\n   \n\xff\xfe gray\nblue gold\r\n"
                                "cyan\0cyan\nred red red red red red red red red red red red\n"
                                "teal gold";
    char *in = malloc(sizeof input);
    memcpy(in, input, sizeof input);
    sf_translate_opts o;
    sf_translate_opts_default(&o);
    o.max_src_len = 6;
    sf_translator *t;
    ck_assert_int_eq(sf_translator_open(g_model, "cpu", &t), SF_OK);
    FILE *fin = fmemopen(in, sizeof input - 1, "r");
    char *buf = NULL, *err = NULL;
    size_t len = 0, elen = 0;
    FILE *out = open_memstream(&buf, &len), *errs = open_memstream(&err, &elen);
    FILE *saved = stderr;
    stderr = errs; /* capture the messages */
    sf_translate_stats s;
    sf_status st = sf_translate_stream(t, fin, "input.txt", out, &o, &s);
    stderr = saved;
    fclose(fin), fclose(out), fclose(errs);
    ck_assert_int_eq(st, SF_OK);
    ck_assert_int_eq(count_lines(buf), 8);
    ck_assert_int_eq(s.lines, 8);
    ck_assert_int_eq(s.bad, 2);
    ck_assert_int_eq(s.truncated, 1);
    ck_assert_msg(strstr(err, "input.txt:4: invalid UTF-8"), "stderr: %s", err);
    ck_assert_msg(strstr(err, "input.txt:6: contains a NUL byte"), "stderr: %s", err);
    ck_assert_msg(strstr(err, "input.txt:7:") && strstr(err, "cut to 6"), "stderr: %s", err);
    char *lines[8], *p = buf;
    for (int i = 0; i < 8; i++) {
        char *nl = strchr(p, '\n');
        *nl = '\0';
        lines[i] = p;
        p = nl + 1;
    }
    ck_assert_str_eq(lines[0], "blue green red");
    ck_assert_str_eq(lines[1], "");
    ck_assert_str_eq(lines[2], "");
    ck_assert_str_eq(lines[3], "");
    ck_assert_str_eq(lines[4], "gold blue");
    ck_assert_str_eq(lines[5], "");
    ck_assert_str_eq(lines[7], "gold teal");
    free(buf), free(err), free(in);
    sf_translator_free(t);
}
END_TEST

START_TEST(test_batch_invariance)
{
    char text[8192] = "";
    sf_rng r;
    sf_rng_seed(&r, 77);
    for (int i = 0; i < 40; i++) {
        int k = 2 + (int)sf_rng_below(&r, 6);
        for (int j = 0; j < k; j++) {
            strcat(text, words[sf_rng_below(&r, 12)]);
            strcat(text, j + 1 < k ? " " : "\n");
        }
    }
    sf_translate_opts o;
    sf_translate_opts_default(&o);
    o.scores = 1;
    char *big = translate(text, &o, NULL);
    o.max_tokens = 1; /* every sentence alone */
    char *one = translate(text, &o, NULL);
    o.max_tokens = 20, o.chunk_lines = 7; /* small batches, small chunks */
    char *mid = translate(text, &o, NULL);
    /* texts identical; scores equal to float precision (BLAS sums rows of different
       batch shapes in different orders, so the last digits may move) */
    const char *const others[2] = {one, mid};
    for (int k = 0; k < 2; k++) {
        const char *a = big, *b = others[k];
        for (int line = 1; *a || *b; line++) {
            const char *ea = strchr(a, '\n'), *eb = strchr(b, '\n');
            ck_assert_msg(ea && eb, "line %d missing", line);
            const char *sa = strstr(a, " ||| "), *sb = strstr(b, " ||| ");
            ck_assert_msg(sa - a == sb - b && !strncmp(a, b, (size_t)(sa - a)),
                          "line %d: '%.*s' vs '%.*s'", line, (int)(ea - a), a, (int)(eb - b), b);
            ck_assert_double_eq_tol(atof(sa + 5), atof(sb + 5), 1e-4);
            a = ea + 1, b = eb + 1;
        }
    }
    ck_assert_int_eq(count_lines(big), 40);
    free(big), free(one), free(mid);
}
END_TEST

START_TEST(test_nbest_and_scores)
{
    sf_translate_opts o;
    sf_translate_opts_default(&o);
    o.nbest = 1, o.search.n_best = 3, o.search.beam = 4;
    char *out = translate("red green blue\n\nteal gold\n", &o, NULL);
    ck_assert_int_eq(count_lines(out), 3 + 1 + 3);
    double prev = INFINITY;
    int id = -1, n = 0;
    char text[256];
    double lp, score;
    for (char *p = out; *p; p = strchr(p, '\n') + 1) {
        int got = sscanf(p, "%d ||| %255[^|]||| F0= %lf ||| %lf", &id, text, &lp, &score);
        ck_assert_int_eq(got, id == 1 ? 1 : 4); /* the empty line has no text field */
        if (id != 1) { /* scores fall within one sentence's list */
            if (n++ % 3 == 0)
                prev = INFINITY;
            ck_assert(score <= prev);
            prev = score;
        }
    }
    ck_assert_ptr_nonnull(strstr(out, "0 ||| blue green red ||| F0="));
    ck_assert_ptr_nonnull(strstr(out, "1 |||  ||| F0= 0 ||| 0\n"));
    free(out);
    /* the best hypothesis' log-probability equals forced decoding of its output */
    sf_translator *t;
    ck_assert_int_eq(sf_translator_open(g_model, "cpu", &t), SF_OK);
    int32_t *src, *tgt;
    int64_t ns, nt;
    ck_assert_int_eq(sf_spm_encode(t->spm_src, "red green blue", 14, &src, &ns), SF_OK);
    ck_assert_int_eq(sf_spm_encode(t->spm_tgt, "blue green red", 14, &tgt, &nt), SF_OK);
    double forced;
    ck_assert_int_eq(sf_translator_score_pair(t, src, (int32_t)ns, tgt, (int32_t)nt, &forced),
                     SF_OK);
    out = translate("red green blue\n", &o, NULL);
    sscanf(out, "%d ||| %255[^|]||| F0= %lf", &id, text, &lp);
    ck_assert_double_eq_tol(lp, forced, 1e-4);
    free(out), free(src), free(tgt);
    sf_translator_free(t);
}
END_TEST

START_TEST(test_alignment_and_svg)
{
    char svgdir[4200];
    snprintf(svgdir, sizeof svgdir, "%s/svg", g_dir);
    char cmd[8800];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", svgdir);
    ck_assert_int_eq(system(cmd), 0);
    sf_translate_opts o;
    sf_translate_opts_default(&o);
    o.alignment = SF_ALIGN_HARD, o.svg_dir = svgdir;
    char *out = translate("red green blue\n", &o, NULL);
    /* reversal: target piece t attends to source piece (n-1-t) */
    ck_assert_msg(strstr(out, " ||| ") && strstr(out, "0-2"), "alignment: %s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "%s/1.svg", svgdir);
    size_t n;
    char *svg = sf_test_read_file(cmd, &n);
    ck_assert_ptr_nonnull(svg);
    ck_assert_ptr_nonnull(strstr(svg, "<svg"));
    ck_assert_ptr_nonnull(strstr(svg, "</svg>"));
    free(svg);
}
END_TEST

START_TEST(test_cli)
{
    char cmd[16384], in[4200], out[4200];
    snprintf(in, sizeof in, "%s/cli.in", g_dir);
    snprintf(out, sizeof out, "%s/cli.out", g_dir);
    /* training sentences have 3 to 6 words: shorter ones are out of distribution */
    write_lines(in, "red blue gray\ngold teal plum\n");
    char *text = NULL;
    snprintf(cmd, sizeof cmd, "%s -q translate -m %s -i %s -o %s -b 3", SF_SEQFUSE_BIN, g_model,
             in, out);
    ck_assert_int_eq(sf_test_sh(cmd, &text), 0);
    free(text);
    size_t n;
    char *got = sf_test_read_file(out, &n);
    ck_assert_str_eq(got, "gray blue red\nplum teal gold\n");
    free(got);
    /* a missing model: exit 1 with the file named, and no output file */
    snprintf(cmd, sizeof cmd, "%s translate -m %s/none.safetensors -i %s -o %s.x", SF_SEQFUSE_BIN,
             g_dir, in, out);
    ck_assert_int_eq(sf_test_sh(cmd, &text), 1);
    ck_assert_ptr_nonnull(strstr(text, "none.safetensors"));
    free(text);
    snprintf(cmd, sizeof cmd, "%s.x", out);
    ck_assert_ptr_null(sf_test_read_file(cmd, &n));
    /* bad usage: exit 2 */
    snprintf(cmd, sizeof cmd, "%s translate -i %s", SF_SEQFUSE_BIN, in);
    ck_assert_int_eq(sf_test_sh(cmd, &text), 2);
    free(text);
    snprintf(cmd, sizeof cmd, "%s translate -m %s --beam zero", SF_SEQFUSE_BIN, g_model);
    ck_assert_int_eq(sf_test_sh(cmd, &text), 2);
    free(text);
}
END_TEST

int main(void)
{
    train_model();
    Suite *s = suite_create("translate");
    TCase *tc = tcase_create("translator");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_reverses);
    tcase_add_test(tc, test_pieces_and_ids);
    tcase_add_test(tc, test_bad_lines);
    tcase_add_test(tc, test_batch_invariance);
    tcase_add_test(tc, test_nbest_and_scores);
    tcase_add_test(tc, test_alignment_and_svg);
    tcase_add_test(tc, test_cli);
    suite_add_tcase(s, tc);
    int rc = sf_test_main(s);
    sf_test_rmtree(g_dir);
    return rc;
}
