/* test_slow_volume.c: 100,000 lines through `seqfuse translate -i -o` with
 * bad lines mixed in (invalid UTF-8, NUL bytes, empty lines, over-long lines
 * up to 1 MB): exactly one output line per input line, in order (checked by
 * the n-best IDs, which count input lines), empty output for each bad line
 * with a message naming its line, cut lines reported, and the good lines
 * translated (the reversal model of test_translate.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/rng.h"
#include "sf_test.h"

#define N_LINES 100000

static char g_dir[4096], g_model[4300];

static const char *const words[] = {"red",  "green", "blue", "cyan", "black", "white",
                                    "pink", "brown", "gray", "gold", "teal",  "plum"};

/* What line i (0-based) holds. */
typedef enum { GOOD, BAD_UTF8, BAD_NUL, EMPTY, LONG } line_kind;

static line_kind kind_of(int i)
{
    if (i % 997 == 13)
        return BAD_UTF8;
    if (i % 1009 == 500)
        return BAD_NUL;
    if (i % 503 == 77)
        return EMPTY;
    if (i % 9973 == 4242 || i == N_LINES / 2)
        return LONG;
    return GOOD;
}

/* Writes the input; expected[i] gets the reversed words of good line i. */
static void write_input(const char *path, char **expected)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    sf_rng r;
    sf_rng_seed(&r, 11);
    for (int i = 0; i < N_LINES; i++) {
        expected[i] = NULL;
        switch (kind_of(i)) {
        case BAD_UTF8: fputs("red \xc3\x28 blue\n", f); continue;
        case BAD_NUL: fwrite("gold\0teal\n", 1, 10, f); continue;
        case EMPTY: fputc('\n', f); continue;
        case LONG: {
            int n = i == N_LINES / 2 ? 200000 : 2000; /* the first about 1 MB */
            for (int k = 0; k < n; k++)
                fprintf(f, "%s%s", k ? " " : "", words[k % 12]);
            fputc('\n', f);
            continue;
        }
        case GOOD: break;
        }
        int k = 3 + (int)sf_rng_below(&r, 4), ids[8];
        char rev[128] = "";
        for (int j = 0; j < k; j++)
            ids[j] = (int)sf_rng_below(&r, 12);
        for (int j = 0; j < k; j++) {
            fprintf(f, "%s%s", j ? " " : "", words[ids[j]]);
            strcat(strcat(rev, j ? " " : ""), words[ids[k - 1 - j]]);
        }
        fputc('\n', f);
        expected[i] = strdup(rev);
    }
    fclose(f);
}

START_TEST(test_volume)
{
    char in[4400], out[4400], log[4400], **expected = calloc(N_LINES, sizeof(char *));
    snprintf(in, sizeof in, "%s/in.txt", g_dir);
    snprintf(out, sizeof out, "%s/out.txt", g_dir);
    snprintf(log, sizeof log, "%s/log.txt", g_dir);
    write_input(in, expected);
    char cmd[32768], *text = NULL;
    /* one thread: on a shared machine OpenMP's spinning threads cost more than they give */
    snprintf(cmd, sizeof cmd, "'%s' translate -m '%s' -i '%s' -o '%s' --n-best 1 -b 1 "
             "--threads 1 2> '%s'", SF_SEQFUSE_BIN, g_model, in, out, log);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = sf_test_sh(cmd, &text);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    char *err = sf_test_read_file(log, NULL);
    ck_assert_msg(rc == 0, "exit %d: %s%s", rc, text, err);
    free(text);
    printf("%d lines in %.1f s\n", N_LINES,
           (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
    size_t n;
    char *buf = sf_test_read_file(out, &n), *p = buf;
    ck_assert_ptr_nonnull(buf);
    int good = 0, right = 0, bad = 0;
    char want[128];
    for (int i = 0; i < N_LINES; i++) {
        char *nl = strchr(p, '\n');
        ck_assert_msg(nl != NULL, "output ends at line %d of %d", i + 1, N_LINES);
        *nl = '\0';
        /* "ID ||| text ||| F0= ..." with an empty text for a bad line */
        char *sep = NULL;
        long id = strtol(p, &sep, 10);
        ck_assert_msg(sep != p && id == i && !strncmp(sep, " ||| ", 5),
                      "output line %d is '%.80s' (expected ID %d)", i + 1, p, i);
        const char *txt = sep + 5, *end = strstr(sep + 4, " ||| F0=");
        ck_assert_msg(end != NULL, "output line %d: '%.80s'", i + 1, p);
        if (end < txt)
            txt = end; /* empty text */
        line_kind k = kind_of(i);
        if (k == BAD_UTF8 || k == BAD_NUL || k == EMPTY) {
            ck_assert_msg(end == txt, "line %d should be empty: '%.80s'", i + 1, p);
            snprintf(want, sizeof want, "in.txt:%d: %s", i + 1,
                     k == BAD_UTF8 ? "invalid UTF-8" : "contains a NUL byte");
            ck_assert_msg(k == EMPTY || strstr(err, want), "no message '%s'", want);
            bad += k != EMPTY;
        } else if (k == LONG) {
            snprintf(want, sizeof want, "in.txt:%d: ", i + 1);
            ck_assert_msg(strstr(err, want) && strstr(strstr(err, want), "cut to"),
                          "no cut message for line %d", i + 1);
        } else {
            good++;
            right += (size_t)(end - txt) == strlen(expected[i]) &&
                     !strncmp(txt, expected[i], (size_t)(end - txt));
        }
        free(expected[i]);
        p = nl + 1;
    }
    ck_assert_msg(*p == '\0', "more than %d output lines", N_LINES);
    printf("%d good lines, %d translated exactly; %d bad lines reported\n", good, right, bad);
    /* the reversal model is right on nearly every line; a shifted output
       would be wrong on nearly every one */
    ck_assert_msg(right >= good * 0.97, "only %d of %d good lines match their reversal", right,
                  good);
    free(buf), free(err), free(expected);
}
END_TEST

int main(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/sftest-volume-XXXXXX");
    if (!mkdtemp(g_dir))
        abort();
    sf_test_train_reversal(g_dir, g_model, sizeof g_model);
    Suite *s = suite_create("slow_volume");
    TCase *tc = tcase_create("volume");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_volume);
    suite_add_tcase(s, tc);
    int rc = sf_test_main(s);
    sf_test_rmtree(g_dir);
    return rc;
}
