/* cmd_translate.c: `seqfuse translate` (files or stdin/stdout; with -o the
 * output appears under its name only once complete) and `seqfuse score-model`
 * (log-probability of each given pair under the model, for rescoring). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "core/log.h"
#include "search/translator.h"

static void translate_usage(void)
{
    printf("usage: seqfuse translate -m MODEL [-i IN] [-o OUT] [options]\n\n"
           "Translate raw text, one sentence per line (stdin/stdout by default). Every input\n"
           "line gets exactly one output line (or an n-best block), in input order; a line\n"
           "with invalid UTF-8 gets a message on stderr and an empty output line. With -o,\n"
           "the output is written to a temporary file renamed into place at the end.\n\n"
           "  -m, --model FILE       model file (.safetensors with tokenizers)\n"
           "  -i, --input FILE       -o, --output FILE\n"
           "  -b, --beam N           beam size (5; 1 = greedy)\n"
           "  --alpha F              GNMT length penalty (0.6)\n"
           "  --coverage F           GNMT coverage penalty beta (0)\n"
           "  --n-best N             write 'ID ||| text ||| F0= logprob ||| score' for the N best\n"
           "  --scores               append ' ||| score' to 1-best output\n"
           "  --alignment soft|hard  append ' ||| ' + attention (per target piece: weights over\n"
           "                         source pieces, or 'src-tgt' links of the argmax; in pieces)\n"
           "  --attention-svg DIR    one heatmap per sentence: DIR/LINE.svg\n"
           "  --no-spm               input and output are space-separated pieces\n"
           "  --ids                  input and output are space-separated ids\n"
           "  --max-len-a F --max-len-b F  output length limit a*|src|+b (3, 10)\n"
           "  --max-src-len N        cut longer inputs, with a warning (250)\n"
           "  --max-tokens N         batch budget: sentences x longest source (2048)\n"
           "  --device auto|cpu|cuda[:N]  (auto: cuda when a GPU is visible) --threads N\n"
           "  --matmul-precision P   products in f32 (default), tf32 (CUDA tensor cores) or\n"
           "                         bf16 (CPU with AMX or AVX512-BF16, through oneDNN)\n"
           "  --cuda-graphs          record each decoder step once per row layout and replay\n"
           "                         it (CUDA only; off by default until measured)\n"
           "  --cudnn-rnn            encoder layers through cuDNN's RNN (CUDA only; off by\n"
           "                         default until measured)\n");
}

typedef struct tr_args {
    const char *model, *in, *out, *device;
    sf_translate_opts o;
    int threads, cuda_graphs, cudnn_rnn, precision;
} tr_args;

static int tr_parse(int argc, char **argv, tr_args *a)
{
    static const struct option longopts[] = {
        {"model", required_argument, 0, 'm'}, {"input", required_argument, 0, 'i'},
        {"output", required_argument, 0, 'o'}, {"beam", required_argument, 0, 'b'},
        {"alpha", required_argument, 0, 'A'}, {"coverage", required_argument, 0, 'C'},
        {"n-best", required_argument, 0, 'N'}, {"scores", no_argument, 0, 'S'},
        {"alignment", required_argument, 0, 'L'}, {"attention-svg", required_argument, 0, 'G'},
        {"no-spm", no_argument, 0, 'P'}, {"ids", no_argument, 0, 'I'}, {"max-len-a", required_argument, 0, 'a'},
        {"max-len-b", required_argument, 0, 'B'}, {"max-src-len", required_argument, 0, 'X'},
        {"max-tokens", required_argument, 0, 'T'}, {"device", required_argument, 0, 'D'},
        {"threads", required_argument, 0, 'j'}, {"cuda-graphs", no_argument, 0, 'g'},
        {"cudnn-rnn", no_argument, 0, 'R'}, {"matmul-precision", required_argument, 0, 'M'},
        {0, 0, 0, 0},
    };
    int c;
    long v;
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:i:o:b:", longopts, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'm': a->model = optarg; break;
        case 'i': a->in = optarg; break;
        case 'o': a->out = optarg; break;
        case 'D': a->device = optarg; break;
        case 'S': a->o.scores = 1; break;
        case 'P': a->o.no_spm = 1; break;
        case 'I': a->o.no_spm = 2; break;
        case 'g': a->cuda_graphs = 1; break;
        case 'R': a->cudnn_rnn = 1; break;
        case 'G': a->o.svg_dir = optarg; break;
        case 'b': bad = sf_cli_parse_int(optarg, 1, 1000, &v); a->o.search.beam = (int)v; break;
        case 'N': bad = sf_cli_parse_int(optarg, 1, 1000, &v); a->o.search.n_best = (int)v;
                  a->o.nbest = 1; break;
        case 'X': bad = sf_cli_parse_int(optarg, 1, 1 << 20, &v); a->o.max_src_len = (int)v; break;
        case 'T': bad = sf_cli_parse_int(optarg, 1, 1 << 28, &v); a->o.max_tokens = (int)v; break;
        case 'j': bad = sf_cli_parse_int(optarg, 0, 1024, &v); a->threads = (int)v; break;
        case 'A': bad = sf_cli_parse_float(optarg, &a->o.search.alpha); break;
        case 'C': bad = sf_cli_parse_float(optarg, &a->o.search.beta); break;
        case 'a': bad = sf_cli_parse_float(optarg, &a->o.search.max_len_a); break;
        case 'B': bad = sf_cli_parse_float(optarg, &a->o.search.max_len_b); break;
        case 'M':
            for (a->precision = 0; sf_precision_names[a->precision] &&
                                   strcmp(sf_precision_names[a->precision], optarg);
                 a->precision++)
                ;
            bad = !sf_precision_names[a->precision];
            break;
        case 'L':
            bad = strcmp(optarg, "soft") && strcmp(optarg, "hard");
            a->o.alignment = !strcmp(optarg, "soft") ? SF_ALIGN_SOFT : SF_ALIGN_HARD;
            break;
        default: return sf_cli_usage_error("translate", "unknown option");
        }
        if (bad)
            return sf_cli_usage_error("translate", "bad value '%s'", optarg);
    }
    if (optind < argc)
        return sf_cli_usage_error("translate", "unexpected argument '%s'", argv[optind]);
    if (!a->model)
        return sf_cli_usage_error("translate", "a model (-m) is required");
    if (a->o.search.n_best > a->o.search.beam)
        a->o.search.beam = a->o.search.n_best;
    return SF_EXIT_OK;
}

static int tr_run(int argc, char **argv)
{
    tr_args a = {0};
    sf_translate_opts_default(&a.o);
    int rc = tr_parse(argc, argv, &a);
    if (rc != SF_EXIT_OK)
        return rc;
    if (a.threads > 0)
        sf_cpu_set_threads(a.threads);
    if (a.o.svg_dir && sf_cli_mkdir(a.o.svg_dir) != 0)
        return sf_cli_fail("translate", sf_error(SF_ERR_IO, "cannot create %s", a.o.svg_dir));
    sf_translator *t = NULL;
    sf_status st = sf_translator_open(a.model, a.device, &t);
    if (st == SF_OK)
        st = sf_backend_set_precision(t->be, (sf_precision)a.precision);
    if (st == SF_OK && a.precision)
        sf_log_info("products: %s", sf_backend_gemm_info(t->be));
    if (st == SF_OK && a.cuda_graphs)
        st = sf_cuda_backend_set_graphs(t->be, 1);
    if (st == SF_OK && a.cudnn_rnn)
        st = sf_cuda_backend_set_cudnn_rnn(t->be, 1);
    if (st != SF_OK) {
        sf_translator_free(t);
        return sf_cli_fail("translate", st);
    }
    FILE *in = a.in ? fopen(a.in, "rb") : stdin;
    sf_atomic_out out;
    if (!in)
        st = sf_error(SF_ERR_IO, "cannot open %s", a.in);
    else
        st = sf_atomic_out_open(&out, a.out);
    sf_translate_stats s;
    if (st == SF_OK)
        st = sf_translate_stream(t, in, a.in ? a.in : "stdin", out.f, &a.o, &s);
    if (out.f)
        st = sf_atomic_out_close(&out, st);
    if (in && in != stdin)
        fclose(in);
    sf_translator_free(t);
    if (st != SF_OK)
        return sf_cli_fail("translate", st);
    sf_log_info("translated %lld lines (%lld empty, %lld bad, %lld cut) in %.2f s: %.1f "
                "sentences/s, %.0f target tokens/s", (long long)s.lines, (long long)s.empty,
                (long long)s.bad, (long long)s.truncated, s.seconds,
                s.translated / (s.seconds > 0 ? s.seconds : 1),
                s.tgt_tokens / (s.seconds > 0 ? s.seconds : 1));
    return SF_EXIT_OK;
}

const sf_command sf_cmd_translate = {"translate", "translate text with a model", tr_run,
                                     translate_usage};

static void score_model_usage(void)
{
    printf("usage: seqfuse score-model -m MODEL --src FILE --tgt FILE [--device D]\n\n"
           "Forced decoding: for each line pair print log P(target | source) under the model\n"
           "(natural log, </s> included) and the number of target pieces, tab-separated. A\n"
           "pair that cannot be scored (invalid UTF-8, empty source) prints 'nan' and a\n"
           "message on stderr naming the line.\n");
}

static sf_status sm_line(sf_translator *t, const char *s, size_t sl, const char *g, size_t gl,
                         double *lp, int64_t *n)
{
    int32_t *src = NULL, *tgt = NULL;
    int64_t ns = 0;
    sf_status st = sf_spm_encode(t->spm_src, s, sl, &src, &ns);
    if (st == SF_OK)
        st = sf_spm_encode(t->spm_tgt, g, gl, &tgt, n);
    if (st == SF_OK && ns == 0)
        st = sf_error(SF_ERR_INVALID_ARG, "empty source");
    if (st == SF_OK)
        st = sf_translator_score_pair(t, src, (int32_t)ns, tgt, (int32_t)*n, lp);
    free(src), free(tgt);
    return st;
}

static int score_model_run(int argc, char **argv)
{
    const char *model = NULL, *srcp = NULL, *tgtp = NULL, *device = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "-m") || !strcmp(argv[i], "--model")) model = argv[i + 1];
        else if (!strcmp(argv[i], "--src")) srcp = argv[i + 1];
        else if (!strcmp(argv[i], "--tgt")) tgtp = argv[i + 1];
        else if (!strcmp(argv[i], "--device")) device = argv[i + 1];
        else return sf_cli_usage_error("score-model", "unknown option '%s'", argv[i]);
    }
    if (!model || !srcp || !tgtp || argc % 2 == 0)
        return sf_cli_usage_error("score-model", "-m, --src and --tgt are required");
    sf_translator *t = NULL;
    sf_status st = sf_translator_open(model, device, &t);
    FILE *fs = st == SF_OK ? fopen(srcp, "rb") : NULL, *fg = fs ? fopen(tgtp, "rb") : NULL;
    if (st == SF_OK && (!fs || !fg))
        st = sf_error(SF_ERR_IO, "cannot open %s", fs ? tgtp : srcp);
    char *ls = NULL, *lg = NULL;
    size_t cs = 0, cg = 0;
    ssize_t ns, ng;
    for (int64_t line = 1; st == SF_OK; line++) {
        ns = getline(&ls, &cs, fs), ng = getline(&lg, &cg, fg);
        if (ns < 0 || ng < 0) {
            if (ns >= 0 || ng >= 0)
                st = sf_error(SF_ERR_FORMAT, "%s and %s have different line counts (one ends at "
                              "line %lld)", srcp, tgtp, (long long)line);
            break;
        }
        while (ns > 0 && (ls[ns - 1] == '\n' || ls[ns - 1] == '\r'))
            ls[--ns] = '\0';
        while (ng > 0 && (lg[ng - 1] == '\n' || lg[ng - 1] == '\r'))
            lg[--ng] = '\0';
        double lp = 0;
        int64_t n = 0;
        if (sm_line(t, ls, (size_t)ns, lg, (size_t)ng, &lp, &n) == SF_OK) {
            printf("%.6f\t%lld\n", lp, (long long)n + 1);
        } else {
            sf_log_error("line %lld: %s", (long long)line, sf_last_error());
            printf("nan\t0\n");
        }
    }
    free(ls), free(lg);
    if (fs) fclose(fs);
    if (fg) fclose(fg);
    sf_translator_free(t);
    return st == SF_OK ? SF_EXIT_OK : sf_cli_fail("score-model", st);
}

const sf_command sf_cmd_score_model = {"score-model", "log-probability of sentence pairs",
                                       score_model_run, score_model_usage};
