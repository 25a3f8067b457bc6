/* sf_test.c: shared test helpers (see sf_test.h). */
#include "sf_test.h"

#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/rng.h"
#include "train/trainer.h"

int sf_test_main(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}

void sf_test_tmpdir(char *buf, size_t n)
{
    const char *base = getenv("TMPDIR");
    snprintf(buf, n, "%s/sftest-XXXXXX", base && *base ? base : "/tmp");
    ck_assert_msg(mkdtemp(buf) != NULL, "mkdtemp failed for %s", buf);
}

void sf_test_rmtree(const char *path)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0)
        fprintf(stderr, "warning: could not remove %s\n", path);
}

void sf_test_write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "cannot write %s", path);
    ck_assert_uint_eq(fwrite(data, 1, n, f), n);
    fclose(f);
}

char *sf_test_read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)len + 1);
    size_t got = fread(buf, 1, (size_t)len, f);
    fclose(f);
    buf[got] = '\0';
    if (n)
        *n = got;
    return buf;
}

void sf_test_randu(float *x, int64_t n, float lo, float hi, uint64_t seed)
{
    sf_rng r;
    sf_rng_seed(&r, seed);
    sf_rng_fill_uniform(&r, x, n, lo, hi);
}

double sf_test_tol_ratio(const float *a, const float *b, int64_t n, double atol, double rtol)
{
    double worst = 0.0;
    for (int64_t i = 0; i < n; i++) {
        if (isnan(a[i]) || isnan(b[i])) {
            if (!(isnan(a[i]) && isnan(b[i])))
                return INFINITY;
            continue;
        }
        if (isinf(a[i]) || isinf(b[i])) {
            if (a[i] != b[i])
                return INFINITY;
            continue;
        }
        double r = fabs((double)a[i] - b[i]) / (atol + rtol * fabs((double)b[i]));
        if (r > worst)
            worst = r;
    }
    return worst;
}

int sf_test_sh(const char *cmd, char **out)
{
    char full[8192];
    snprintf(full, sizeof full, "(%s) 2>&1", cmd);
    FILE *p = popen(full, "r");
    if (!p)
        return -1;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t got;
    while ((got = fread(buf + len, 1, cap - len - 1, p)) > 0) {
        len += got;
        if (cap - len < 2) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
    }
    buf[len] = '\0';
    int st = pclose(p);
    if (out)
        *out = buf;
    else
        free(buf);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int sf_test_cli(char **out, const char *fmt, ...)
{
    char cmd[8000];
    int used = snprintf(cmd, sizeof cmd, "'%s' ", SF_SEQFUSE_BIN);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd + used, sizeof cmd - (size_t)used, fmt, ap);
    va_end(ap);
    return sf_test_sh(cmd, out);
}

void sf_test_write_words(const char *src, const char *tgt, int n, int reverse, uint64_t seed)
{
    static const char *const words[] = {"red",  "green", "blue",  "cyan", "black", "white",
                                        "pink", "brown", "gray", "gold", "teal",  "plum"};
    FILE *fs = fopen(src, "w"), *ft = fopen(tgt, "w");
    if (!fs || !ft) { /* also used outside tests (from main) */
        fprintf(stderr, "cannot write %s / %s\n", src, tgt);
        abort();
    }
    sf_rng r;
    sf_rng_seed(&r, seed);
    for (int i = 0; i < n; i++) {
        int k = 3 + (int)sf_rng_below(&r, 4), ids[8];
        for (int j = 0; j < k; j++)
            ids[j] = (int)sf_rng_below(&r, 12);
        for (int j = 0; j < k; j++) {
            fprintf(fs, "%s%s", j ? " " : "", words[ids[j]]);
            fprintf(ft, "%s%s", j ? " " : "", words[ids[reverse ? k - 1 - j : j]]);
        }
        fputc('\n', fs), fputc('\n', ft);
    }
    fclose(fs), fclose(ft);
}

int sf_test_count_named(const char *dir, const char *part)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += strstr(e->d_name, part) != NULL;
    closedir(d);
    return n;
}

void sf_test_reversal_args(sf_trainer_args *a, const char *src, const char *tgt,
                           const char *out_dir)
{
    memset(a, 0, sizeof *a);
    sf_model_config_default(&a->cfg);
    sf_train_opts_default(&a->opts);
    a->src = src, a->tgt = tgt, a->out_dir = out_dir, a->device = "cpu";
    a->cfg.emb_size = 32, a->cfg.hidden_size = 64, a->cfg.enc_layers = a->cfg.dec_layers = 1;
    a->cfg.src_vocab_size = a->cfg.tgt_vocab_size = 40, a->cfg.dropout = 0;
    a->opts.lr = 0.005f, a->opts.max_tokens = 800, a->opts.max_steps = 600, a->opts.threads = 1;
    a->opts.log_every = 10000;
}

void sf_test_train_reversal(const char *dir, char *model, size_t n)
{
    char sp[4200], tp[4200], out[4200];
    snprintf(sp, sizeof sp, "%s/train.src", dir);
    snprintf(tp, sizeof tp, "%s/train.tgt", dir);
    snprintf(out, sizeof out, "%s/model", dir);
    sf_test_write_words(sp, tp, 1500, 1, 5);
    sf_trainer_args a;
    sf_test_reversal_args(&a, sp, tp, out);
    sf_trainer_result res;
    if (sf_train(&a, &res) != SF_OK) {
        fprintf(stderr, "training the test model failed: %s\n", sf_last_error());
        abort();
    }
    snprintf(model, n, "%s", res.model_path);
}
