/* seqfuse.c: the one binary. Global flags, then a subcommand from the table. */
#include <stdio.h>
#include <string.h>

#include "backend/backend.h"
#include "cli.h"
#include "core/log.h"

static const sf_command *const sf_commands[] = {
    &sf_cmd_train,
    &sf_cmd_translate,
    &sf_cmd_score_model,
    &sf_cmd_score,
    &sf_cmd_bench,
    &sf_cmd_vocab,
    &sf_cmd_info,
    NULL, /* the table ends with NULL */
};

static void sf_main_usage(FILE *out)
{
    fprintf(out,
            "seqfuse %s: RNN encoder-decoder translation engine (CPU and CUDA)\n\n"
            "usage: seqfuse [--quiet | --verbose] COMMAND [OPTIONS]\n"
            "       seqfuse COMMAND --help\n"
            "       seqfuse --version\n\ncommands:\n",
            sf_version());
    for (size_t i = 0; sf_commands[i]; i++)
        fprintf(out, "  %-12s %s\n", sf_commands[i]->name, sf_commands[i]->summary);
    fprintf(out, "\nexit codes: 0 success, 1 runtime error, 2 bad usage\n");
}

/* The version, then what this build and machine offer for the products. */
static void sf_print_version(void)
{
    printf("seqfuse %s\n", sf_version());
    sf_backend *be = NULL;
    if (sf_backend_open("cpu", &be) == SF_OK) {
        printf("cpu products: %s", sf_backend_gemm_info(be));
        if (sf_backend_set_precision(be, SF_PREC_BF16) == SF_OK)
            printf("; --matmul-precision bf16: %s\n", sf_backend_gemm_info(be));
        else
            printf("; --matmul-precision bf16: unavailable (%s)\n", sf_last_error());
        sf_backend_close(be);
    }
    if (sf_cuda_compiled())
        printf("cuda: compiled in, %d device(s) visible\n", sf_cuda_device_count());
    else
        printf("cuda: not compiled in\n");
}

int main(int argc, char **argv)
{
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--quiet") == 0 || strcmp(argv[i], "-q") == 0) {
            sf_log_set_level(SF_LOG_ERROR);
        } else if (strcmp(argv[i], "--verbose") == 0 || strcmp(argv[i], "-v") == 0) {
            sf_log_set_level(SF_LOG_DEBUG);
        } else if (strcmp(argv[i], "--version") == 0) {
            sf_print_version();
            return SF_EXIT_OK;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            sf_main_usage(stdout);
            return SF_EXIT_OK;
        } else {
            fprintf(stderr, "seqfuse: unknown option '%s'\n", argv[i]);
            sf_main_usage(stderr);
            return SF_EXIT_USAGE;
        }
    }
    if (i >= argc) {
        sf_main_usage(stderr);
        return SF_EXIT_USAGE;
    }
    for (size_t c = 0; sf_commands[c]; c++) {
        if (strcmp(argv[i], sf_commands[c]->name) == 0) {
            for (int k = i + 1; k < argc; k++) {
                if (strcmp(argv[k], "--help") == 0 || strcmp(argv[k], "-h") == 0) {
                    sf_commands[c]->usage();
                    return SF_EXIT_OK;
                }
            }
            return sf_commands[c]->run(argc - i, argv + i);
        }
    }
    fprintf(stderr, "seqfuse: unknown command '%s'\n", argv[i]);
    sf_main_usage(stderr);
    return SF_EXIT_USAGE;
}
