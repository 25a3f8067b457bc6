/* cmd_score.c: `seqfuse score`: corpus BLEU and chrF2 of a hypothesis file
 * against one or more references, exactly as sacreBLEU's defaults. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "text/score.h"

#define SF_MAX_REFS 8

static void score_usage(void)
{
    printf("usage: seqfuse score --hyp FILE --ref FILE [--ref FILE2 ...] [--json]\n\n"
           "Corpus BLEU (13a tokenization, 4-grams, brevity penalty, exp smoothing) and\n"
           "chrF2 (character 6-grams, beta 2), equal to sacreBLEU %s's defaults, with\n"
           "their signatures. Files: UTF-8, one sentence per line, line-aligned.\n",
           SF_SACREBLEU_VERSION);
}

static int score_run(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"hyp", required_argument, 0, 'h'}, {"ref", required_argument, 0, 'r'},
        {"json", no_argument, 0, 'j'}, {0, 0, 0, 0},
    };
    const char *hyp_path = NULL, *ref_paths[SF_MAX_REFS];
    int nref = 0, json = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c == 'h')
            hyp_path = optarg;
        else if (c == 'r' && nref < SF_MAX_REFS)
            ref_paths[nref++] = optarg;
        else if (c == 'r')
            return sf_cli_usage_error("score", "at most %d references", SF_MAX_REFS);
        else if (c == 'j')
            json = 1;
        else
            return sf_cli_usage_error("score", "unknown option");
    }
    if (!hyp_path || nref == 0 || optind < argc)
        return sf_cli_usage_error("score", "--hyp and at least one --ref are required");
    sf_text hyp = {0}, refs[SF_MAX_REFS] = {{0}};
    sf_status st = sf_text_read(hyp_path, &hyp);
    for (int i = 0; st == SF_OK && i < nref; i++)
        st = sf_text_read(ref_paths[i], &refs[i]);
    sf_bleu bleu;
    sf_chrf chrf;
    if (st == SF_OK)
        st = sf_bleu_corpus(&hyp, refs, nref, &bleu);
    if (st == SF_OK)
        st = sf_chrf_corpus(&hyp, refs, nref, &chrf);
    sf_text_free(&hyp);
    for (int i = 0; i < nref; i++)
        sf_text_free(&refs[i]);
    if (st != SF_OK)
        return sf_cli_fail("score", st);
    if (json)
        printf("{\"bleu\": %.4f, \"chrf2\": %.4f, \"bleu_signature\": \"%s\", "
               "\"chrf_signature\": \"%s\", \"bleu_verbose\": \"%s\"}\n",
               bleu.score, chrf.score, bleu.signature, chrf.signature, bleu.text);
    else
        printf("%s\n%s\n%s\n%s\n", bleu.text, bleu.signature, chrf.text, chrf.signature);
    return SF_EXIT_OK;
}

const sf_command sf_cmd_score = {"score", "BLEU and chrF2 of a hypothesis file (sacreBLEU)",
                                 score_run, score_usage};
