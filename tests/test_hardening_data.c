/* test_hardening_data.c: bad corpora and configs through sf_train and
 * `seqfuse train`, out of memory through `seqfuse bench train`, and a failed
 * `seqfuse translate -o` leaving nothing behind. Each case of a table checks
 * the status or exit code and a message naming the file, line or field.
 * (Corrupt model files: test_hardening.c.) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sf_test.h"
#include "train/trainer.h"

static char g_dir[4096], g_src[4200], g_tgt[4200], g_spm[4200];

static void fixture(void)
{
    sf_test_tmpdir(g_dir, sizeof g_dir);
    snprintf(g_src, sizeof g_src, "%s/base.src", g_dir);
    snprintf(g_tgt, sizeof g_tgt, "%s/base.tgt", g_dir);
    snprintf(g_spm, sizeof g_spm, "%s/vocab", g_dir);
    sf_test_write_words(g_src, g_tgt, 20, 1, 17);
    char *out = NULL;
    int rc = sf_test_cli(&out, "-q vocab --src '%s' --tgt '%s' -o '%s' --vocab-size 40", g_src,
                         g_tgt, g_spm);
    ck_assert_msg(rc == 0, "seqfuse vocab: %s", out);
    free(out);
}

static void teardown(void) { sf_test_rmtree(g_dir); }

/* ---------------------------------------------------------------- corpora */

typedef struct corpus_case {
    const char *name;
    const char *fault; /* crlf bom nul utf8 empty long extra allempty missing mixed */
    int line;          /* the damaged line (1-based) */
    int side;          /* 0 source, 1 target */
    int train_spm;     /* 1: SentencePiece models trained on this corpus */
    int exit_code;
    const char *msg;   /* in the CLI output; for failures also in sf_last_error() */
} corpus_case;

static const corpus_case corpus_cases[] = {
    {"CRLF line ends", "crlf", 0, 0, 0, 0, "trained 2 steps"},
    {"byte-order mark", "bom", 1, 1, 0, 0, "20 pairs kept of 20 lines"},
    {"NUL byte", "nul", 5, 0, 0, 0, "train.src:5: skipped (invalid)"},
    {"invalid UTF-8", "utf8", 7, 1, 0, 0, "train.tgt:7: skipped (invalid)"},
    {"empty line", "empty", 3, 0, 0, 0, "train.src:3: skipped (empty)"},
    {"1 MB line", "long", 9, 0, 0, 0, "train.src:9: skipped (too long)"},
    {"line counts differ", "extra", 0, 1, 0, 1, "21"},
    {"nothing usable", "allempty", 0, 0, 0, 1, "no usable sentence pair"},
    {"missing file", "missing", 0, 0, 0, 1, "cannot open"},
    {"every fault, tokenizers trained on it", "mixed", 0, 0, 1, 0, "trained 2 steps"},
};

static void put_line(FILE *f, const corpus_case *c, int side, int line, const char *text)
{
    const char *fault = c->fault;
    int here = !strcmp(fault, "mixed") || (side == c->side && line == c->line) ||
               (side == c->side && !strcmp(fault, "allempty"));
    if (!here || !strcmp(fault, "crlf") || !strcmp(fault, "extra")) {
        fprintf(f, "%s%s", text, !strcmp(fault, "crlf") && side == c->side ? "\r\n" : "\n");
    } else if (!strcmp(fault, "bom")) {
        fprintf(f, "\xef\xbb\xbf%s\n", text);
    } else if (!strcmp(fault, "nul") || (!strcmp(fault, "mixed") && line == 5)) {
        fwrite("red\0green\n", 1, 10, f);
    } else if (!strcmp(fault, "utf8") || (!strcmp(fault, "mixed") && line == 7)) {
        fprintf(f, "red \xff\xfe green\n");
    } else if (!strcmp(fault, "long") || (!strcmp(fault, "mixed") && line == 9)) {
        for (int i = 0; i < 262144; i++)
            fputs(i % 2 ? "red " : "blue", f);
        fputc('\n', f);
    } else if (!strcmp(fault, "mixed")) {
        fprintf(f, "%s%s%s", line == 1 ? "\xef\xbb\xbf" : "", line == 3 ? "" : text,
                line % 2 ? "\r\n" : "\n");
    } else { /* empty, allempty */
        fputc('\n', f);
    }
}

/* The base corpus with the case's fault written into train.src/train.tgt. */
static void write_corpus(const corpus_case *c, const char *dir)
{
    const char *base[2] = {g_src, g_tgt}, *names[2] = {"train.src", "train.tgt"};
    for (int side = 0; side < 2; side++) {
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", dir, names[side]);
        if (!strcmp(c->fault, "missing") && side == 0)
            continue;
        char *text = sf_test_read_file(base[side], NULL), *save = NULL;
        FILE *f = fopen(path, "wb");
        int line = 1;
        for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save), line++)
            put_line(f, c, side, line, l);
        if (!strcmp(c->fault, "extra") && side == c->side)
            fputs("one line too many\n", f);
        fclose(f);
        free(text);
    }
}

static void corpus_args(sf_trainer_args *a, const char *dir, const char *out, int train_spm)
{
    static char src[4400], tgt[4400], ss[4300], ts[4300];
    snprintf(src, sizeof src, "%s/train.src", dir);
    snprintf(tgt, sizeof tgt, "%s/train.tgt", dir);
    snprintf(ss, sizeof ss, "%s.src.model", g_spm);
    snprintf(ts, sizeof ts, "%s.tgt.model", g_spm);
    memset(a, 0, sizeof *a);
    sf_model_config_default(&a->cfg);
    sf_train_opts_default(&a->opts);
    a->src = src, a->tgt = tgt, a->out_dir = out;
    a->src_spm = train_spm ? NULL : ss, a->tgt_spm = train_spm ? NULL : ts;
    a->cfg.emb_size = a->cfg.hidden_size = 8, a->cfg.enc_layers = a->cfg.dec_layers = 1;
    a->cfg.src_vocab_size = a->cfg.tgt_vocab_size = 40;
    a->opts.max_steps = 2, a->opts.threads = 1, a->opts.max_tokens = 200;
}

START_TEST(test_corpus_table)
{
    const corpus_case *c = &corpus_cases[_i];
    char dir[4300], out[4400];
    snprintf(dir, sizeof dir, "%s/corpus%02d", g_dir, _i);
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    write_corpus(c, dir);
    /* the library */
    sf_trainer_args a;
    sf_trainer_result res;
    snprintf(out, sizeof out, "%s/lib", dir);
    corpus_args(&a, dir, out, c->train_spm);
    sf_status st = sf_train(&a, &res);
    if (c->exit_code == 0)
        ck_assert_msg(st == SF_OK && res.steps == 2, "%s: sf_train: %s", c->name,
                      sf_last_error());
    else
        ck_assert_msg(st != SF_OK && strstr(sf_last_error(), c->msg) &&
                          strstr(sf_last_error(), "train.src"),
                      "%s: sf_train gave %s: %s", c->name, sf_status_str(st), sf_last_error());
    /* the CLI */
    char *text = NULL;
    snprintf(out, sizeof out, "%s/cli", dir);
    int rc = sf_test_cli(&text, "train --config tiny --src '%s' --tgt '%s' %s%s%s%s%s --out '%s' "
                         "--hidden-size 8 --emb-size 8 --max-steps 2 --threads 1 "
                         "--src-vocab-size 40 --tgt-vocab-size 40",
                         a.src, a.tgt, c->train_spm ? "" : "--src-spm '",
                         c->train_spm ? "" : a.src_spm, c->train_spm ? "" : "' --tgt-spm '",
                         c->train_spm ? "" : a.tgt_spm, c->train_spm ? "" : "'", out);
    ck_assert_msg(rc == c->exit_code && strstr(text, c->msg), "%s: exit %d, expected %d with "
                  "'%s': %s", c->name, rc, c->exit_code, c->msg, text);
    free(text);
}
END_TEST

/* ---------------------------------------------------------------- configs */

/* YAML configs start with these 4 lines (a small model); cases add theirs. */
#define BASE_YAML "emb_size: 8\nhidden_size: 8\nenc_layers: 1\ndec_layers: 1\n"

typedef struct config_case {
    const char *name;
    const char *file;  /* config file text after BASE_YAML, or JSON (NULL: no file) */
    const char *flags; /* extra command-line options */
    int exit_code;
    const char *msg;
} config_case;

static const config_case config_cases[] = {
    {"negative size", "cell: gru\nhidden_size: -8\n", "", 1,
     "cfg.yaml:6: hidden_size = -8 is out of range"},
    {"zero size", "emb_size: 0\n", "", 1, "cfg.yaml:5: emb_size = 0 is out of range"},
    {"zero batch", "max_tokens: 0\n", "", 1, "max_tokens = 0 is out of range"},
    {"unknown cell", "cell: transformer\n", "", 1,
     "unknown cell 'transformer' (valid: rnn, gru, lstm)"},
    {"unknown attention", "attention: luong\n", "", 1,
     "unknown attention 'luong' (valid: dot, general, mlp)"},
    {"unknown key", "hiden_size: 8\n", "", 1, "cfg.yaml:5: unknown key 'hiden_size'"},
    {"not key: value", "# a config\njust words\n", "", 1, "cfg.yaml:6: expected 'key: value'"},
    {"not a number", "dropout: lots\n", "", 1, "'lots' is not a number (option dropout)"},
    {"JSON zero size", "{\"hidden_size\": 0}", "", 1, "hidden_size = 0 is out of range"},
    {"JSON array value", "{\"cell\": [1]}", "", 1, "'cell' must be a number, boolean or string"},
    {"JSON broken", "{\"cell\": ", "", 1, "not a JSON object"},
    {"empty file", "", "", 1, "is empty"},
    {"odd hidden size, bidirectional", "hidden_size: 7\nemb_size: 8\n", "", 1,
     "hidden_size 7 must be even"},
    {"tied output, E != H", "tie_output: true\nemb_size: 6\n", "", 1,
     "tie_output needs emb_size (6) = hidden_size (8)"},
    {"bridge copy, layers differ", "enc_layers: 2\n", "", 1,
     "bridge copy needs enc_layers (2) = dec_layers (1)"},
    {"negative size flag", NULL, "--hidden-size -8", 2, "--hidden-size: hidden_size = -8"},
    {"unknown cell flag", NULL, "--cell lstmx", 2, "unknown cell 'lstmx'"},
    {"unknown flag", NULL, "--hidden 8", 2, "unknown option '--hidden'"},
    {"missing config file", NULL, "--config nowhere.yaml", 1, "cannot open config nowhere.yaml"},
};

START_TEST(test_config_table)
{
    const config_case *c = &config_cases[_i];
    char dir[4300], cfg[4400], cfg_flag[4500] = "";
    snprintf(dir, sizeof dir, "%s/config%02d", g_dir, _i);
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    snprintf(cfg, sizeof cfg, "%s/cfg.%s", dir, c->file && c->file[0] == '{' ? "json" : "yaml");
    if (c->file) {
        char text[1024];
        snprintf(text, sizeof text, "%s%s", c->file[0] == '{' || !*c->file ? "" : BASE_YAML,
                 c->file);
        sf_test_write_file(cfg, text, strlen(text));
        snprintf(cfg_flag, sizeof cfg_flag, "--config '%s'", cfg);
    } else {
        snprintf(cfg_flag, sizeof cfg_flag, "--hidden-size 8 --emb-size 8 --enc-layers 1 "
                 "--dec-layers 1");
    }
    char *text = NULL;
    int rc = sf_test_cli(&text, "train %s --src '%s' --tgt '%s' --src-spm '%s.src.model' "
                         "--tgt-spm '%s.tgt.model' --out '%s/out' --max-steps 1 --threads 1 %s",
                         cfg_flag, g_src, g_tgt, g_spm, g_spm, dir, c->flags);
    ck_assert_msg(rc == c->exit_code && strstr(text, c->msg), "%s: exit %d, expected %d with "
                  "'%s': %s", c->name, rc, c->exit_code, c->msg, text);
    free(text);
}
END_TEST

/* ---------------------------------------------------------------- resources */

/* A batch far beyond memory fails with the size asked and a hint, exit 1, not
 * a kill. `ulimit -v` makes the failure deterministic on machines that
 * overcommit; AddressSanitizer reserves terabytes of address space, so the
 * limit cannot be used under it. */
START_TEST(test_out_of_memory)
{
#if defined(__SANITIZE_ADDRESS__)
    printf("out of memory: skipped under AddressSanitizer (ulimit -v)\n");
#else
    char cmd[4400], *text = NULL;
    snprintf(cmd, sizeof cmd, "ulimit -v 3000000; timeout 120 '%s' bench train --batch 100000 "
             "--src-len 5000 --hidden-size 4096 --steps 1 --warmup 0", SF_SEQFUSE_BIN);
    int rc = sf_test_sh(cmd, &text);
    printf("out of memory: %s", text);
    ck_assert_msg(rc == 1, "exit %d: %s", rc, text);
    ck_assert_msg(strstr(text, "out of memory") && strstr(text, " bytes") &&
                      strstr(text, "try a smaller"), "no size or hint: %s", text);
    free(text);
#endif
}
END_TEST

/* A run that fails half way leaves no output file and no temporary file. */
START_TEST(test_failed_translate_leaves_nothing)
{
    char dir[4300], out[4400], *text = NULL;
    snprintf(dir, sizeof dir, "%s/translate", g_dir);
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    int rc = sf_test_cli(&text, "-q train --config tiny --src '%s' --tgt '%s' --src-spm "
                         "'%s.src.model' --tgt-spm '%s.tgt.model' --out '%s' --hidden-size 8 "
                         "--emb-size 8 --max-steps 1 --threads 1", g_src, g_tgt, g_spm, g_spm,
                         dir);
    ck_assert_msg(rc == 0, "%s", text);
    free(text);
    snprintf(out, sizeof out, "%s/out.txt", dir);
    /* reading a folder as input fails after the output was opened */
    rc = sf_test_cli(&text, "translate -m '%s/model.safetensors' -i '%s' -o '%s'", dir, dir, out);
    ck_assert_msg(rc == 1 && strstr(text, "reading") && strstr(text, dir), "exit %d: %s", rc,
                  text);
    free(text);
    ck_assert_ptr_null(sf_test_read_file(out, NULL));
    ck_assert_int_eq(sf_test_count_named(dir, "out.txt"), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("hardening_data");
    TCase *tc = tcase_create("data");
    tcase_set_timeout(tc, 300);
    tcase_add_unchecked_fixture(tc, fixture, teardown);
    tcase_add_loop_test(tc, test_corpus_table, 0,
                        (int)(sizeof corpus_cases / sizeof *corpus_cases));
    tcase_add_loop_test(tc, test_config_table, 0,
                        (int)(sizeof config_cases / sizeof *config_cases));
    tcase_add_test(tc, test_out_of_memory);
    tcase_add_test(tc, test_failed_translate_leaves_nothing);
    suite_add_tcase(s, tc);
    return sf_test_main(s);
}
