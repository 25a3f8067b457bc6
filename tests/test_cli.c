/* test_cli.c: the seqfuse binary's contract: exit codes (0 ok, 1 runtime
 * error, 2 usage), --help and --version, `info` on a good and on corrupted
 * model files, `vocab`, and `score`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sf_test.h"

static int run(const char *args, char **out)
{
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "%s %s", SF_SEQFUSE_BIN, args);
    return sf_test_sh(cmd, out);
}

static const struct {
    const char *args, *needle;
    int rc;
} cases[] = {
    {"--version", "seqfuse 0.", 0},
    {"--help", "commands:", 0},
    {"", "usage:", 2},
    {"frobnicate", "unknown command 'frobnicate'", 2},
    {"--bogus info", "unknown option '--bogus'", 2},
    {"info --help", "usage: seqfuse info", 0},
    {"train --help", "--max-steps", 0},
    {"translate --help", "--n-best", 0},
    {"vocab --help", "--vocab-size", 0},
    {"score --help", "sacreBLEU", 0},
    {"bench --help", "bench decode", 0},
    {"info", "exactly one model file", 2},
    {"info /nonexistent/m.safetensors", "m.safetensors", 1},
    /* the fixture is a valid safetensors file but not a model: info validates it as one */
    {"info " SF_TEST_DATA_DIR "/st_fixture.safetensors", "config", 1},
    {"train --src a", "required", 2},
    {"train --out x --src a --tgt b --hidden-size -3", "hidden_size", 2},
    {"train --out x --src a --tgt b --cell transformer", "valid: rnn, gru, lstm", 2},
    {"translate -m " SF_TEST_DATA_DIR "/st_fixture.safetensors", "config", 1},
    {"score --hyp " SF_TEST_DATA_DIR "/score/synth.hyp", "--ref", 2},
    /* products: the precision option and what this build and CPU offer */
    {"--version", "cpu products: ", 0},
    {"train --out x --src a --tgt b --matmul-precision fp8", "valid: f32, tf32, bf16", 2},
    {"translate -m x --matmul-precision fp8", "bad value 'fp8'", 2},
    {"bench train --config tiny --steps 1 --matmul-precision tf32", "tf32 is for CUDA", 1},
};

START_TEST(test_exit_codes)
{
    char *out = NULL;
    int rc = run(cases[_i].args, &out);
    ck_assert_msg(rc == cases[_i].rc, "'seqfuse %s': exit %d, expected %d; output:\n%s",
                  cases[_i].args, rc, cases[_i].rc, out);
    ck_assert_msg(strstr(out, cases[_i].needle) != NULL, "'seqfuse %s': output lacks '%s':\n%s",
                  cases[_i].args, cases[_i].needle, out);
    free(out);
}
END_TEST

/* info on truncated and bit-flipped copies of a valid file: exit 1, the file
 * named, never a crash (exit codes above 1 would be signals or usage). */
START_TEST(test_info_corrupted)
{
    size_t n;
    char *good = sf_test_read_file(SF_TEST_DATA_DIR "/st_fixture.safetensors", &n);
    ck_assert_ptr_nonnull(good);
    char dir[4096], path[4200], args[4400];
    sf_test_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/bad.safetensors", dir);
    snprintf(args, sizeof args, "info %s", path);
    const size_t cuts[] = {0, 4, 8, 20, n / 2, n - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        sf_test_write_file(path, good, cuts[i]);
        char *out = NULL;
        ck_assert_int_eq(run(args, &out), 1);
        ck_assert_msg(strstr(out, "bad.safetensors"), "cut at %zu: %s", cuts[i], out);
        free(out);
    }
    for (size_t pos = 0; pos < 120; pos += 7) { /* any outcome but a crash */
        char *copy = malloc(n);
        memcpy(copy, good, n);
        copy[pos] ^= 0x5a;
        sf_test_write_file(path, copy, n);
        char *out = NULL;
        int rc = run(args, &out);
        ck_assert_msg(rc == 0 || rc == 1, "flip at %zu: exit %d\n%s", pos, rc, out);
        free(out), free(copy);
    }
    free(good);
    sf_test_rmtree(dir);
}
END_TEST

START_TEST(test_vocab_and_score)
{
    char dir[2048], path[2100], args[9000];
    sf_test_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/text.txt", dir);
    FILE *f = fopen(path, "w");
    for (int i = 0; i < 300; i++)
        fprintf(f, "the %d quick brown fox jumps over the lazy dog number %d\n", i % 17, i);
    fclose(f);
    snprintf(args, sizeof args, "vocab --src %s --tgt %s -o %s/v --vocab-size 60", path, path,
             dir);
    char *out = NULL;
    ck_assert_int_eq(run(args, &out), 0);
    ck_assert_msg(strstr(out, "v.src.model") && strstr(out, "v.tgt.model"), "%s", out);
    free(out);
    snprintf(args, sizeof args, "score --hyp %s --ref %s --json", path, path);
    ck_assert_int_eq(run(args, &out), 0);
    ck_assert_msg(strstr(out, "\"bleu\": 100.0000"), "%s", out);
    free(out);
    sf_test_rmtree(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("binary");
    tcase_add_loop_test(tc, test_exit_codes, 0, (int)(sizeof cases / sizeof *cases));
    tcase_add_test(tc, test_info_corrupted);
    tcase_add_test(tc, test_vocab_and_score);
    suite_add_tcase(s, tc);
    return sf_test_main(s);
}
