/* fuzz_translate.c: libFuzzer target for the translate input path: the line
 * reader, BOM/CRLF handling, the UTF-8 and NUL checks, SentencePiece encoding
 * (or --no-spm pieces), batching, search and output formatting, on a tiny
 * model made at start-up (SentencePiece models trained on a few lines, random
 * weights). The first input byte picks options; the rest is the input text.
 * Whatever the text, the run succeeds and writes one line per input line. */
#include "fuzz_util.h" /* first: it sets _GNU_SOURCE */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "core/rng.h"
#include "model/model_io.h"
#include "search/translator.h"

static sf_translator *g_t;

static const char *const sf_fuzz_words[] = {"red", "green", "blue", "niño", "façade",
                                           "über", "日本語", "don't", "3.14", "Ωmega"};

static void sf_fuzz_check(sf_status st)
{
    if (st != SF_OK) {
        fprintf(stderr, "fuzz_translate set-up failed: %s\n", sf_last_error());
        abort();
    }
}

/* SentencePiece models on a few lines, a small config, random weights. */
static void sf_fuzz_make_model(const char *dir, char *model, size_t cap)
{
    char text[4200], prefix[4200], spm_path[4300];
    snprintf(text, sizeof text, "%s/text.txt", dir);
    FILE *f = fopen(text, "w");
    sf_rng r;
    sf_rng_seed(&r, 1);
    for (int i = 0; f && i < 300; i++)
        for (int k = 0, n = 2 + (int)sf_rng_below(&r, 5); k < n; k++)
            fprintf(f, "%s%s", sf_fuzz_words[sf_rng_below(&r, 10)], k + 1 < n ? " " : "\n");
    if (!f || fclose(f) != 0)
        abort();
    void *bytes[2];
    size_t len[2];
    sf_model_config cfg;
    sf_model_config_default(&cfg);
    cfg.emb_size = 8, cfg.hidden_size = 8, cfg.enc_layers = cfg.dec_layers = 1;
    for (int side = 0; side < 2; side++) {
        sf_spm_train_opts o;
        sf_spm_train_opts_default(&o);
        const char *in[1] = {text};
        snprintf(prefix, sizeof prefix, "%s/spm%d", dir, side);
        o.inputs = in, o.n_inputs = 1, o.model_prefix = prefix, o.vocab_size = 48;
        o.num_threads = 1;
        sf_fuzz_check(sf_spm_train(&o));
        snprintf(spm_path, sizeof spm_path, "%s.model", prefix);
        sf_spm *s;
        sf_fuzz_check(sf_spm_load_file(spm_path, &s));
        sf_fuzz_check(sf_spm_serialize(s, &bytes[side], &len[side]));
        *(side ? &cfg.tgt_vocab_size : &cfg.src_vocab_size) = sf_spm_vocab_size(s);
        sf_spm_free(s);
    }
    sf_param_layout l;
    sf_fuzz_check(sf_param_layout_build(&cfg, &l));
    float *p = malloc(sizeof(float) * (size_t)l.total);
    sf_params_init_uniform(&l, p, 0.5f, &r);
    sf_model_blobs blobs = {bytes[0], bytes[1], len[0], len[1]};
    snprintf(model, cap, "%s/model.safetensors", dir);
    sf_fuzz_check(sf_model_save(model, &cfg, &l, p, NULL, NULL, &blobs, NULL, 0, SF_F32));
    free(p), free(bytes[0]), free(bytes[1]);
    sf_param_layout_free(&l);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    char dir[] = "/tmp/seqfuse-fuzz-XXXXXX", model[4300], cmd[128];
    if (!mkdtemp(dir))
        abort();
    sf_fuzz_make_model(dir, model, sizeof model);
    sf_cpu_set_threads(1);
    sf_fuzz_check(sf_translator_open(model, "cpu", &g_t));
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return 0;
}

/* Lines as getline sees them: every '\n' ends one, plus an unterminated last. */
static int64_t sf_fuzz_lines(const uint8_t *p, size_t n)
{
    int64_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += p[i] == '\n';
    return k + (n > 0 && p[n - 1] != '\n');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    if (n < 2)
        return 0;
    const uint8_t bits = data[0];
    sf_translate_opts o;
    sf_translate_opts_default(&o);
    o.nbest = (bits >> 1) & 1, o.search.n_best = o.nbest ? 2 : 1;
    o.search.beam = bits & 1 || o.nbest ? 2 : 1; /* as the CLI: beam >= n_best */
    o.scores = (bits >> 2) & 1;
    o.alignment = (sf_align_mode)((bits >> 3) % 3);
    o.no_spm = (bits >> 5) & 1;
    o.chunk_lines = bits & 64 ? 3 : 10000;
    o.max_tokens = bits & 128 ? 8 : 2048;
    o.max_src_len = 24, o.search.max_len_a = 1.0f, o.search.max_len_b = 4.0f;
    char *text = malloc(n - 1), *out_buf = NULL;
    memcpy(text, data + 1, n - 1);
    size_t out_len = 0;
    FILE *in = fmemopen(text, n - 1, "r"), *out = open_memstream(&out_buf, &out_len);
    if (!in || !out)
        abort();
    sf_translate_stats s;
    sf_status st = sf_translate_stream(g_t, in, "fuzz", out, &o, &s);
    fclose(in), fclose(out);
    if (st != SF_OK) {
        fprintf(stderr, "translate failed: %s\n", sf_last_error());
        abort();
    }
    const int64_t lines = sf_fuzz_lines(data + 1, n - 1), got = sf_fuzz_lines(
        (const uint8_t *)out_buf, out_len);
    if (s.lines != lines || (o.nbest ? got < lines : got != lines)) {
        fprintf(stderr, "%lld input lines, stats %lld, %lld output lines\n", (long long)lines,
                (long long)s.lines, (long long)got);
        abort();
    }
    free(out_buf), free(text);
    return 0;
}
