/* cmd_vocab.c: `seqfuse vocab`: train SentencePiece models for the source and
 * target sides (or one joint model) with seqfuse's special ids. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void vocab_usage(void)
{
    printf("usage: seqfuse vocab --src FILE --tgt FILE -o PREFIX [options]\n\n"
           "Train SentencePiece models (ids: 0 <pad>, 1 <unk>, 2 <s>, 3 </s>).\n"
           "Writes PREFIX.src.model and PREFIX.tgt.model, or PREFIX.joint.model with --joint\n"
           "(each with a .vocab listing beside it).\n\n"
           "  --src FILE            source-side text, one sentence per line (repeatable)\n"
           "  --tgt FILE            target-side text (repeatable)\n"
           "  -o, --out PREFIX      output prefix\n"
           "  --vocab-size N        vocabulary size, an upper bound for small corpora (8000)\n"
           "  --joint               one model trained on both sides\n"
           "  --type unigram|bpe    model type (unigram)\n"
           "  --character-coverage F  (1.0; 0.9995 suits large alphabets)\n"
           "  --max-sentences N     sample at most N lines per model (0 = all; 2000000)\n"
           "  --seed N              sampling seed (1)\n"
           "  --threads N           training threads (2)\n");
}

#define SF_VOCAB_MAX_FILES 16

typedef struct vocab_args {
    const char *src[SF_VOCAB_MAX_FILES], *tgt[SF_VOCAB_MAX_FILES];
    int nsrc, ntgt, joint;
    const char *out;
    sf_spm_train_opts opts;
} vocab_args;

static int vocab_train_one(const vocab_args *a, const char *const *files, int n,
                           const char *suffix)
{
    char prefix[4096];
    snprintf(prefix, sizeof prefix, "%s.%s", a->out, suffix);
    sf_spm_train_opts o = a->opts;
    o.inputs = files;
    o.n_inputs = n;
    o.model_prefix = prefix;
    sf_status st = sf_spm_train(&o);
    if (st != SF_OK)
        return sf_cli_fail("vocab", st);
    char model[4200];
    snprintf(model, sizeof model, "%s.model", prefix);
    sf_spm *spm = NULL;
    st = sf_spm_load_file(model, &spm);
    if (st != SF_OK)
        return sf_cli_fail("vocab", st);
    printf("%s: %d pieces\n", model, sf_spm_vocab_size(spm));
    sf_spm_free(spm);
    return SF_EXIT_OK;
}

static int vocab_parse(int argc, char **argv, vocab_args *a)
{
    static const struct option longopts[] = {
        {"src", required_argument, 0, 's'}, {"tgt", required_argument, 0, 't'},
        {"out", required_argument, 0, 'o'}, {"vocab-size", required_argument, 0, 'v'},
        {"joint", no_argument, 0, 'j'},     {"type", required_argument, 0, 'y'},
        {"character-coverage", required_argument, 0, 'c'},
        {"max-sentences", required_argument, 0, 'm'}, {"seed", required_argument, 0, 'e'},
        {"threads", required_argument, 0, 'n'}, {0, 0, 0, 0},
    };
    long v;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:", longopts, NULL)) != -1) {
        switch (c) {
        case 's':
        case 't':
            if ((c == 's' ? a->nsrc : a->ntgt) >= SF_VOCAB_MAX_FILES)
                return sf_cli_usage_error("vocab", "at most %d files per side",
                                          SF_VOCAB_MAX_FILES);
            if (c == 's')
                a->src[a->nsrc++] = optarg;
            else
                a->tgt[a->ntgt++] = optarg;
            break;
        case 'o': a->out = optarg; break;
        case 'j': a->joint = 1; break;
        case 'y': a->opts.model_type = optarg; break;
        case 'v':
        case 'm':
        case 'e':
        case 'n':
            if (sf_cli_parse_int(optarg, c == 'v' ? 5 : 0, c == 'e' ? 2147483647L : 100000000L,
                                 &v))
                return sf_cli_usage_error("vocab", "bad number '%s'", optarg);
            if (c == 'v') a->opts.vocab_size = (int)v;
            if (c == 'm') a->opts.input_sentence_size = v;
            if (c == 'e') a->opts.seed = (uint64_t)v;
            if (c == 'n') a->opts.num_threads = (int)v;
            break;
        case 'c':
            if (sf_cli_parse_float(optarg, &a->opts.character_coverage))
                return sf_cli_usage_error("vocab", "bad number '%s'", optarg);
            break;
        default: return sf_cli_usage_error("vocab", "unknown option");
        }
    }
    if (optind < argc)
        return sf_cli_usage_error("vocab", "unexpected argument '%s'", argv[optind]);
    if (!a->out || a->nsrc == 0 || a->ntgt == 0)
        return sf_cli_usage_error("vocab", "--src, --tgt and --out are required");
    return SF_EXIT_OK;
}

static int vocab_run(int argc, char **argv)
{
    vocab_args a;
    memset(&a, 0, sizeof a);
    sf_spm_train_opts_default(&a.opts);
    a.opts.input_sentence_size = 2000000;
    int rc = vocab_parse(argc, argv, &a);
    if (rc != SF_EXIT_OK)
        return rc;
    if (a.joint) {
        const char *all[2 * SF_VOCAB_MAX_FILES];
        int n = 0;
        for (int i = 0; i < a.nsrc; i++)
            all[n++] = a.src[i];
        for (int i = 0; i < a.ntgt; i++)
            all[n++] = a.tgt[i];
        return vocab_train_one(&a, all, n, "joint");
    }
    rc = vocab_train_one(&a, a.src, a.nsrc, "src");
    return rc != SF_EXIT_OK ? rc : vocab_train_one(&a, a.tgt, a.ntgt, "tgt");
}

const sf_command sf_cmd_vocab = {"vocab", "train SentencePiece models for source and target",
                                 vocab_run, vocab_usage};
