/* cmd_train.c: `seqfuse train`: defaults, then a preset or config file, then
 * any `--key value` for model or training options; SIGINT/SIGTERM stop the
 * run after the current step with a checkpoint saved (exit 0). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "core/log.h"
#include "train/trainer.h"

static volatile sig_atomic_t sf_stop_requested;

static void sf_on_signal(int sig)
{
    (void)sig;
    sf_stop_requested = 1;
}

static void train_usage(void)
{
    sf_model_config c;
    sf_train_opts o;
    sf_model_config_default(&c);
    sf_train_opts_default(&o);
    printf("usage: seqfuse train (--src FILE --tgt FILE | --tsv FILE) --out DIR [options]\n\n"
           "Train a model. Writes DIR/model.safetensors (the best model by validation\n"
           "perplexity, or the latest without validation data) and DIR/checkpoint.safetensors\n"
           "(the latest state with optimizer moments: --resume continues from it exactly).\n"
           "Without --src-spm/--tgt-spm, SentencePiece models are trained on the training\n"
           "data first (src/tgt_vocab_size are upper bounds). Ctrl-C saves and stops.\n\n"
           "data and files:\n"
           "  --src FILE --tgt FILE       line-aligned training text\n"
           "  --tsv FILE                  or one file: source TAB target\n"
           "  --valid-src FILE --valid-tgt FILE  validation text\n"
           "  --src-spm FILE --tgt-spm FILE      existing SentencePiece models\n"
           "  --src-embeddings FILE --tgt-embeddings FILE  word2vec (text or binary) or\n"
           "                              GloVe vectors for the embeddings (matched to pieces,\n"
           "                              with and without the word-boundary mark);\n"
           "                              --freeze-embeddings true keeps them fixed\n"
           "  --out DIR                   output folder\n"
           "  --config NAME|FILE          preset (%s) or a JSON/YAML file\n"
           "  --resume                    continue from DIR/checkpoint.safetensors\n"
           "  --device auto|cpu|cuda[:N]  (auto: cuda when a GPU is visible, else cpu)\n"
           "  --cudnn-rnn                 encoder layers through cuDNN's RNN (CUDA only; off\n"
           "                              by default until measured)\n\nmodel options:\n",
           sf_preset_names());
    sf_opt_print_help(sf_model_config_spec, &c, stdout);
    printf("\ntraining options:\n");
    sf_opt_print_help(sf_train_opts_spec, &o, stdout);
}

static const struct {
    const char *flag;
    size_t offset;
} train_paths[] = {
    {"--src", offsetof(sf_trainer_args, src)},
    {"--tgt", offsetof(sf_trainer_args, tgt)},
    {"--tsv", offsetof(sf_trainer_args, tsv)},
    {"--valid-src", offsetof(sf_trainer_args, valid_src)},
    {"--valid-tgt", offsetof(sf_trainer_args, valid_tgt)},
    {"--src-spm", offsetof(sf_trainer_args, src_spm)},
    {"--tgt-spm", offsetof(sf_trainer_args, tgt_spm)},
    {"--src-embeddings", offsetof(sf_trainer_args, src_embeddings)},
    {"--tgt-embeddings", offsetof(sf_trainer_args, tgt_embeddings)},
    {"--out", offsetof(sf_trainer_args, out_dir)},
    {"--device", offsetof(sf_trainer_args, device)},
};

static int train_parse(int argc, char **argv, sf_trainer_args *a)
{
    /* the config goes first so that the other options override it */
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--config")) {
            sf_status st = sf_cli_load_config(argv[i + 1], &a->cfg, &a->opts);
            if (st != SF_OK)
                return sf_cli_fail("train", st);
        }
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "--resume")) {
            a->resume = 1;
            continue;
        }
        if (!strcmp(arg, "--cudnn-rnn")) {
            a->cudnn_rnn = 1;
            continue;
        }
        if (strncmp(arg, "--", 2) || i + 1 >= argc)
            return sf_cli_usage_error("train", "unexpected argument '%s'", arg);
        const char *val = argv[++i];
        if (!strcmp(arg, "--config"))
            continue;
        size_t k = 0, n = sizeof train_paths / sizeof *train_paths;
        for (; k < n && strcmp(arg, train_paths[k].flag); k++)
            ;
        if (k < n) {
            *(const char **)((char *)a + train_paths[k].offset) = val;
            continue;
        }
        int handled, rc = sf_cli_set_option("train", arg, val, &a->cfg, &a->opts, &handled);
        if (rc != SF_EXIT_OK)
            return rc;
        if (!handled)
            return sf_cli_usage_error("train", "unknown option '%s'", arg);
    }
    return SF_EXIT_OK;
}

static char *train_join(int argc, char **argv)
{
    size_t n = 16;
    for (int i = 0; i < argc; i++)
        n += strlen(argv[i]) + 1;
    char *s = calloc(1, n);
    if (!s)
        return NULL;
    strcpy(s, "seqfuse");
    for (int i = 0; i < argc; i++)
        strcat(strcat(s, " "), argv[i]);
    return s;
}

static int train_run(int argc, char **argv)
{
    sf_trainer_args a;
    memset(&a, 0, sizeof a);
    sf_model_config_default(&a.cfg);
    sf_train_opts_default(&a.opts);
    int rc = train_parse(argc, argv, &a);
    if (rc != SF_EXIT_OK)
        return rc;
    if (!a.out_dir || (!a.tsv && (!a.src || !a.tgt)))
        return sf_cli_usage_error("train", "--out and training data (--src/--tgt or --tsv) "
                                  "are required");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = sf_on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    a.stop = &sf_stop_requested;
    a.progress_bar = isatty(STDERR_FILENO) && sf_log_get_level() >= SF_LOG_INFO;
    char *cmd = train_join(argc, argv);
    a.command_line = cmd;
    sf_trainer_result res;
    sf_status st = sf_train(&a, &res);
    free(cmd);
    if (st == SF_ERR_INTERRUPTED) {
        fprintf(stderr, "seqfuse train: %s\n", sf_last_error());
        return SF_EXIT_OK;
    }
    if (st != SF_OK)
        return sf_cli_fail("train", st);
    printf("trained %lld steps; model: %s; checkpoint: %s\n", (long long)res.steps,
           res.model_path, res.checkpoint_path);
    return SF_EXIT_OK;
}

const sf_command sf_cmd_train = {"train", "train a model on a parallel corpus", train_run,
                                 train_usage};
