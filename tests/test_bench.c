/* test_bench.c: `seqfuse bench decode|train` through the CLI on tiny models: the
 * JSON fields and their sanity (positive rates, shares of the total, exact step
 * counts and shape-counted costs), CSV rows, a well-formed SVG chart, a model
 * file as input, and usage errors. Nothing here asserts on speed beyond "positive". */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_io.h"
#include "sf_test.h"

/* Small ceilings keep each run well under a second. */
#define QUICK "--repeat 1 --copy-mb 16 --gemm-n 128"

static char g_dir[1024];

/* Run `seqfuse ARGS > out_file`; returns the exit code, *log gets stderr. */
static int run_cli(const char *args, const char *out_file, char **log)
{
    char cmd[7000];
    snprintf(cmd, sizeof cmd, "%s %s > '%s'", SF_SEQFUSE_BIN, args, out_file);
    return sf_test_sh(cmd, log);
}

/* Run `seqfuse ARGS` that must succeed; returns its stdout (malloc'd). */
static char *run_ok(const char *args)
{
    char out[1200], *log = NULL;
    snprintf(out, sizeof out, "%s/stdout.txt", g_dir);
    const int rc = run_cli(args, out, &log);
    ck_assert_msg(rc == 0, "seqfuse %s: exit %d: %s", args, rc, log);
    free(log);
    return sf_test_read_file(out, NULL);
}

static double num(const cJSON *obj, const char *key, const char *where)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    ck_assert_msg(cJSON_IsNumber(v), "%s: no number \"%s\"", where, key);
    return v->valuedouble;
}

/* Exact-looking figures printed with %.6g: compare to 1e-5 relative. */
static void ck_close(double got, double want, const char *what)
{
    ck_assert_msg(fabs(got - want) <= 1e-5 * fabs(want), "%s: got %.9g, expected %.9g", what,
                  got, want);
}

/* Shares of the total: each stage in [0, total], and they add up to it. */
static void check_point(const cJSON *p, int i, int32_t want_steps)
{
    char where[64];
    snprintf(where, sizeof where, "point %d", i);
    static const char *const positive[] = {"sentences_per_s", "tgt_tokens_per_s", "ms_total",
                                           "ms_per_step", "bytes_per_step", "flops_per_step",
                                           "gb_per_s", "gflop_per_s", "floor_ms_per_step",
                                           "roofline_fraction", "encoder_flops", "ms_encoder",
                                           "ms_cells", "ms_attention", "ms_output"};
    for (size_t k = 0; k < sizeof positive / sizeof *positive; k++) {
        const double v = num(p, positive[k], where);
        ck_assert_msg(isfinite(v) && v > 0, "%s: %s = %g, expected > 0", where, positive[k], v);
    }
    ck_assert_msg(num(p, "steps", where) == want_steps, "%s: %g steps, expected %d", where,
                  num(p, "steps", where), (int)want_steps);
    static const char *const parts[] = {"ms_encoder", "ms_cells", "ms_attention", "ms_output",
                                        "ms_search"};
    const double total = num(p, "ms_total", where);
    double sum = 0;
    for (size_t k = 0; k < sizeof parts / sizeof *parts; k++) {
        const double v = num(p, parts[k], where), share = v / total;
        ck_assert_msg(share >= 0 && share <= 1 + 1e-5, "%s: %s is %g of the total", where,
                      parts[k], share);
        sum += v;
    }
    const double reorder = num(p, "ms_reorder", where);
    ck_assert_msg(reorder >= 0 && reorder <= num(p, "ms_search", where) * (1 + 1e-5) + 1e-6,
                  "%s: reorder %g ms outside search %g ms", where, reorder,
                  num(p, "ms_search", where));
    ck_assert_msg(fabs(sum - total) <= 1e-4 * total + 1e-5, "%s: stages add to %g ms, total %g",
                  where, sum, total);
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(p, "bound");
    ck_assert_msg(cJSON_IsString(b) && (!strcmp(b->valuestring, "memory") ||
                                        !strcmp(b->valuestring, "compute")),
                  "%s: bound", where);
}

/* Costs per step of the tiny preset (LSTM, general attention, input feeding, E 32,
 * H 64, V 500, one decoder layer) over R rows of n sentences, source length S, by
 * the formulas of tools/bench_decode.c written out. */
static void tiny_costs(double R, double n, double S, double *flops, double *bytes)
{
    const double G = 4, H = 64, E = 32, V = 500;
    *flops = R * (2 * G * H * (E + H + H) + 2 * 2 * S * H + 2 * H * 2 * H + 2 * H * H +
                  2 * H * V + 5 * V);
    const double w = G * H * (E + H + H) + 2 * G * H + H * H + 2 * H * H + V * H + V;
    *bytes = 4 * (w + n * S * H + R * (E + 2 * 2 * H + 2 * H) + 2 * R * V);
}

START_TEST(test_decode_json_svg)
{
    char svg[1200], args[3000], *log = NULL;
    snprintf(svg, sizeof svg, "%s/chart.svg", g_dir);
    snprintf(args, sizeof args, "bench decode --config tiny --batch 1,4 --beam 1,2 --src-len 5 "
             "--tgt-len 4 --threads 1 --json --svg '%s' " QUICK, svg);
    char *text = run_ok(args);
    cJSON *j = cJSON_Parse(text);
    ck_assert_msg(j != NULL, "not JSON: %s", text);
    ck_assert_str_eq(cJSON_GetObjectItem(j, "bench")->valuestring, "decode");
    ck_assert_str_eq(cJSON_GetObjectItem(j, "device")->valuestring, "cpu");
    ck_assert_str_eq(cJSON_GetObjectItem(j, "config")->valuestring, "tiny");
    const cJSON *c = cJSON_GetObjectItem(j, "ceilings");
    ck_assert_msg(num(c, "copy_gb_per_s", "ceilings") > 0, "copy ceiling");
    ck_assert_msg(num(c, "gemm_gflop_per_s", "ceilings") > 0, "gemm ceiling");
    const cJSON *pts = cJSON_GetObjectItem(j, "points");
    ck_assert_int_eq(cJSON_GetArraySize(pts), 4);
    static const int batch[] = {1, 4, 1, 4}, beam[] = {1, 1, 2, 2};
    for (int i = 0; i < 4; i++) {
        const cJSON *p = cJSON_GetArrayItem(pts, i);
        ck_assert_msg(num(p, "batch", "p") == batch[i] && num(p, "beam", "p") == beam[i] &&
                      num(p, "src_len", "p") == 5 && num(p, "tgt_len", "p") == 4,
                      "point %d is not batch %d beam %d", i, batch[i], beam[i]);
        check_point(p, i, 4);
        /* rows: n at the first step, n * beam after it (no hypothesis ends) */
        const double R = (batch[i] + 3.0 * batch[i] * beam[i]) / 4.0;
        double flops, bytes;
        tiny_costs(R, batch[i], 5, &flops, &bytes);
        ck_close(num(p, "flops_per_step", "p"), flops, "flops_per_step");
        ck_close(num(p, "bytes_per_step", "p"), bytes, "bytes_per_step");
    }
    cJSON_Delete(j);
    free(text);
    size_t n = 0;
    char *s = sf_test_read_file(svg, &n);
    ck_assert_msg(s && (!strncmp(s, "<?xml", 5) || !strncmp(s, "<svg", 4)), "SVG start");
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
        s[--n] = '\0';
    ck_assert_msg(n > 6 && !strcmp(s + n - 6, "</svg>"), "SVG end: %s", s + (n > 40 ? n - 40 : 0));
    ck_assert_msg(strstr(s, ">beam 1</text>") && strstr(s, ">beam 2</text>"), "legend");
    ck_assert_msg(strstr(s, "<polyline") && strstr(s, "tiny"), "lines and title");
    free(s);
    if (sf_test_sh("command -v xmllint", &log) == 0) {
        free(log);
        snprintf(args, sizeof args, "xmllint --noout '%s'", svg);
        ck_assert_msg(sf_test_sh(args, &log) == 0, "xmllint rejects the chart: %s", log);
    }
    free(log);
}
END_TEST

START_TEST(test_decode_csv_and_table)
{
    char *text = run_ok("bench decode --config tiny --batch 1,4 --beam 1,2 --src-len 5 "
                        "--tgt-len 4 --threads 1 --csv " QUICK);
    int lines = 0, commas = -1;
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        int k = 0;
        for (const char *q = l; *q; q++)
            k += *q == ',';
        if (lines++ == 0) {
            ck_assert_msg(!strncmp(l, "device,config,threads,batch,beam,src_len", 40), "header %s",
                          l);
            commas = k;
        } else {
            ck_assert_msg(k == commas, "row %d has %d fields, the header %d", lines, k + 1,
                          commas + 1);
            ck_assert_msg(!strncmp(l, "cpu,tiny,1,", 11), "row %d: %s", lines, l);
        }
    }
    ck_assert_int_eq(lines, 5);
    free(text);
    text = run_ok("bench decode --config tiny --batch 2 --beam 2 --src-len 3 --tgt-len 2 "
                  "--threads 1 " QUICK);
    ck_assert_msg(strstr(text, "ceilings: copy") && strstr(text, "tok/s") &&
                  strstr(text, "floor%") && strstr(text, "products: "), "table: %s", text);
    free(text);
    /* both selection paths run (the search checks every sentence's length) */
    static const char *const topk[] = {"host", "backend"};
    for (int i = 0; i < 2; i++) {
        char args[400];
        snprintf(args, sizeof args, "bench decode --config tiny --batch 3 --beam 1,3 --src-len 4 "
                 "--tgt-len 3 --threads 1 --topk %s --csv " QUICK, topk[i]);
        free(run_ok(args));
    }
    /* the short model options --hidden and --vocab */
    text = run_ok("bench decode --config tiny --hidden 32 --vocab 300 --batch 2 --beam 1 "
                  "--src-len 4 --tgt-len 3 --threads 1 " QUICK);
    ck_assert_msg(strstr(text, "H 32,") && strstr(text, "V 300 -> 300"), "header: %s", text);
    free(text);
    ck_assert_int_eq(sf_test_cli(&text, "bench decode --config tiny --topk gpu"), 2);
    ck_assert_msg(strstr(text, "--topk"), "%s", text);
    free(text);
}
END_TEST

/* A GRU model with mlp attention saved to a file: the bench takes config and weights. */
START_TEST(test_decode_model_file)
{
    sf_model_config c;
    sf_model_config_default(&c);
    c.cell = 1, c.attention = 2, c.emb_size = 16, c.hidden_size = 32, c.enc_layers = 1;
    c.dec_layers = 1, c.src_vocab_size = 200, c.tgt_vocab_size = 300, c.input_feed = 1;
    c.bidirectional = 1, c.tie_output = 0;
    sf_param_layout l;
    ck_assert_int_eq(sf_param_layout_build(&c, &l), SF_OK);
    float *w = malloc(sizeof(float) * (size_t)l.total);
    sf_test_randu(w, l.total, -0.1f, 0.1f, 5);
    char path[1200], args[3000];
    snprintf(path, sizeof path, "%s/m.safetensors", g_dir);
    ck_assert_msg(sf_model_save(path, &c, &l, w, NULL, NULL, NULL, NULL, 0, SF_F32) == SF_OK,
                  "%s", sf_last_error());
    free(w);
    sf_param_layout_free(&l);
    snprintf(args, sizeof args, "bench decode --model '%s' --batch 1 --beam 1 --src-len 3 "
             "--tgt-len 3 --warmup 0 --json " QUICK, path);
    char *text = run_ok(args);
    cJSON *j = cJSON_Parse(text);
    ck_assert_msg(j && cJSON_GetArraySize(cJSON_GetObjectItem(j, "points")) == 1, "%s", text);
    const cJSON *p = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "points"), 0);
    check_point(p, 0, 3);
    /* one row: gru cells 2*3*32*(16+32+32), mlp attention 2*2*3*32 + 2*32*64 + 2*32*32 +
     * 2*3*32, output 2*32*300 + 5*300 */
    ck_close(num(p, "flops_per_step", "model"), 15360 + 6720 + 19200 + 1500, "gru/mlp flops");
    cJSON_Delete(j);
    free(text);
}
END_TEST

START_TEST(test_train)
{
    char *text = run_ok("bench train --config tiny --steps 1 --batch 4 --src-len 5 --tgt-len 5 "
                        "--threads 1");
    ck_assert_msg(strstr(text, "ms/step") && strstr(text, "target tokens/s"), "%s", text);
    free(text);
}
END_TEST

/* Bad command lines: exit code and a word of the message. */
static const struct {
    const char *args;
    int rc;
    const char *says;
} bad_cases[] = {
    {"bench decode --batch 0", 2, "--batch"},
    {"bench decode --batch 1,,2", 2, "--batch"},
    {"bench decode --beam 1,x", 2, "--beam"},
    {"bench decode --batch 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17", 2, "--batch"},
    {"bench decode --steps 3", 2, "--steps"},
    {"bench train --beam 2", 2, "--beam"},
    {"bench train --batch 1,2", 2, "one --batch"},
    {"bench decode --json --csv", 2, "--csv"},
    {"bench decode --frobnicate 1", 2, "frobnicate"},
    {"bench decode --model /nonexistent/m.safetensors", 1, "nonexistent"},
    {"bench decode --model m.safetensors --hidden-size 32", 2, "--model"},
    {"bench decode --tgt-len", 2, "needs a value"},
    {"bench sideways", 2, "sideways"},
};

START_TEST(test_bad_args)
{
    char out[1200], *log = NULL;
    snprintf(out, sizeof out, "%s/bad.txt", g_dir);
    const int i = _i;
    const int rc = run_cli(bad_cases[i].args, out, &log);
    ck_assert_msg(rc == bad_cases[i].rc && strstr(log, bad_cases[i].says),
                  "'%s': exit %d (expected %d), message: %s", bad_cases[i].args, rc,
                  bad_cases[i].rc, log);
    free(log);
}
END_TEST

static void setup(void)
{
    sf_test_tmpdir(g_dir, sizeof g_dir);
}

static void teardown(void)
{
    sf_test_rmtree(g_dir);
}

int main(void)
{
    Suite *s = suite_create("bench");
    TCase *t = tcase_create("cli");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 60);
    tcase_add_test(t, test_decode_json_svg);
    tcase_add_test(t, test_decode_csv_and_table);
    tcase_add_test(t, test_decode_model_file);
    tcase_add_test(t, test_train);
    tcase_add_loop_test(t, test_bad_args, 0, (int)(sizeof bad_cases / sizeof *bad_cases));
    suite_add_tcase(s, t);
    return sf_test_main(s);
}
