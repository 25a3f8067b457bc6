/* cmd_info.c: `seqfuse info MODEL`: what a model file holds (config, training
 * provenance, tensor table, tokenizers), after full validation. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "core/tensor.h"
#include "search/translator.h"

static void info_usage(void)
{
    printf("usage: seqfuse info MODEL.safetensors\n\n"
           "Validate a model file as translate loads it (format, config, every tensor's name,\n"
           "dtype, shape and values, both tokenizers and their sizes) and print its config,\n"
           "provenance metadata, tensor table (name, dtype, shape, bytes) and tokenizer sizes.\n"
           "A file that fails validation gets a message saying what is wrong and exit code 1.\n");
}

static void info_print_tokenizer(const sf_st_file *f, const char *name)
{
    const sf_st_info *t = sf_st_find(f, name);
    if (!t) {
        printf("  %-18s absent\n", name);
        return;
    }
    sf_spm *spm = NULL;
    if (t->dtype != SF_U8 || sf_spm_load_bytes(sf_st_data(f, t), t->nbytes, &spm) != SF_OK) {
        printf("  %-18s INVALID (%s)\n", name, sf_last_error());
        return;
    }
    printf("  %-18s SentencePiece, %d pieces, %" PRIu64 " bytes\n", name,
           sf_spm_vocab_size(spm), t->nbytes);
    sf_spm_free(spm);
}

static int info_run(int argc, char **argv)
{
    if (argc != 2)
        return sf_cli_usage_error("info", "expected exactly one model file");
    sf_model_file mf;
    sf_status st = sf_model_load(argv[1], &mf);
    if (st != SF_OK)
        return sf_cli_fail("info", st);
    const sf_st_file *f = mf.st;
    printf("model: %s\nformat: seqfuse version %s\nconfig: %s\n", argv[1],
           sf_st_meta(f, "version"), sf_st_meta(f, "config"));
    for (int64_t i = 0; i < sf_st_meta_count(f); i++) {
        const char *k = sf_st_meta_key(f, i);
        if (strcmp(k, "format") && strcmp(k, "version") && strcmp(k, "config"))
            printf("%s: %s\n", k, sf_st_meta(f, k));
    }
    printf("\n%-52s %-5s %-16s %12s\n", "tensor", "dtype", "shape", "bytes");
    uint64_t total = 0, params = 0;
    for (int64_t i = 0; i < sf_st_count(f); i++) {
        const sf_st_info *t = sf_st_at(f, i);
        char shape[128];
        sf_tensor view = {.dtype = t->dtype, .ndim = t->ndim < SF_MAX_DIMS ? t->ndim : SF_MAX_DIMS};
        memcpy(view.shape, t->shape, sizeof(int64_t) * (size_t)view.ndim);
        printf("%-52s %-5s %-16s %12" PRIu64 "\n", t->name, sf_dtype_name(t->dtype),
               sf_tensor_shape_str(&view, shape, sizeof shape), t->nbytes);
        total += t->nbytes;
        if (strncmp(t->name, "tokenizer.", 10) && strncmp(t->name, "optim.", 6))
            params += t->nbytes / sf_dtype_size(t->dtype);
    }
    printf("%" PRId64 " tensors, %" PRIu64 " bytes, %" PRIu64 " parameters\n\ntokenizers:\n",
           sf_st_count(f), total, params);
    info_print_tokenizer(f, "tokenizer.source");
    info_print_tokenizer(f, "tokenizer.target");
    sf_spm *src, *tgt;
    st = sf_model_file_tokenizers(&mf, argv[1], &src, &tgt);
    sf_spm_free(src), sf_spm_free(tgt);
    sf_model_file_free(&mf);
    return st == SF_OK ? SF_EXIT_OK : sf_cli_fail("info", st);
}

const sf_command sf_cmd_info = {"info", "show and validate a model file", info_run, info_usage};
