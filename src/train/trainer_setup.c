/* trainer_setup.c: everything the training loop needs, built from the
 * arguments: SentencePiece models (given, trained on the training data, or
 * from the checkpoint), corpora, backend, model, optimizer and batcher. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "model/model_io.h"
#include "train/pretrained.h"
#include "train/trainer_internal.h"

double sf_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static sf_status sf_encode_cb(void *ctx, const char *text, size_t len, int32_t **ids, int64_t *n)
{
    return sf_spm_encode((const sf_spm *)ctx, text, len, ids, n);
}

/* Split a TSV corpus into two plain-text files for SentencePiece training. */
static sf_status sf_split_tsv(const char *tsv, const char *src_out, const char *tgt_out)
{
    FILE *in = fopen(tsv, "rb");
    if (!in)
        return sf_error(SF_ERR_IO, "cannot open %s: %s", tsv, strerror(errno));
    FILE *fs = fopen(src_out, "wb"), *ft = fopen(tgt_out, "wb");
    sf_status st = fs && ft ? SF_OK
                            : sf_error(SF_ERR_IO, "cannot write %s: %s", src_out, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while (st == SF_OK && (len = getline(&line, &cap, in)) >= 0) {
        char *tab = memchr(line, '\t', (size_t)len);
        if (!tab)
            continue; /* the corpus reader reports such lines */
        fwrite(line, 1, (size_t)(tab - line), fs);
        fputc('\n', fs);
        fwrite(tab + 1, 1, (size_t)(line + len - tab - 1), ft);
        if (len > 0 && line[len - 1] != '\n')
            fputc('\n', ft);
    }
    free(line);
    fclose(in);
    if (fs && fclose(fs) != 0 && st == SF_OK)
        st = sf_error(SF_ERR_IO, "writing %s failed", src_out);
    if (ft && fclose(ft) != 0 && st == SF_OK)
        st = sf_error(SF_ERR_IO, "writing %s failed", tgt_out);
    return st;
}

static sf_status sf_train_spm(sf_trainer *t, const char *const *inputs, int n, const char *name,
                              int vocab, sf_spm **out)
{
    char prefix[4200], model[4300];
    snprintf(prefix, sizeof prefix, "%s/%s", t->a->out_dir, name);
    snprintf(model, sizeof model, "%s.model", prefix);
    sf_spm_train_opts o;
    sf_spm_train_opts_default(&o);
    o.inputs = inputs;
    o.n_inputs = n;
    o.model_prefix = prefix;
    o.vocab_size = vocab;
    o.model_type = t->o.spm_type ? "bpe" : "unigram";
    o.character_coverage = t->o.character_coverage;
    o.input_sentence_size = 2000000;
    o.seed = (uint64_t)t->o.seed;
    sf_log_info("training SentencePiece model %s (at most %d pieces)", model, vocab);
    SF_TRY(sf_spm_train(&o));
    return sf_spm_load_file(model, out);
}

static sf_status sf_setup_tokenizers(sf_trainer *t)
{
    const sf_trainer_args *a = t->a;
    if (a->src_spm || a->tgt_spm) {
        if (!a->src_spm || !a->tgt_spm)
            return sf_error(SF_ERR_INVALID_ARG, "give both --src-spm and --tgt-spm (or neither, "
                            "to train them on the training data)");
        SF_TRY(sf_spm_load_file(a->src_spm, &t->spm_src));
        return sf_spm_load_file(a->tgt_spm, &t->spm_tgt);
    }
    char s_txt[4200], t_txt[4200];
    const char *src = a->src, *tgt = a->tgt;
    if (a->tsv) {
        snprintf(s_txt, sizeof s_txt, "%s/.spm-input.src", a->out_dir);
        snprintf(t_txt, sizeof t_txt, "%s/.spm-input.tgt", a->out_dir);
        SF_TRY(sf_split_tsv(a->tsv, s_txt, t_txt));
        src = s_txt, tgt = t_txt;
    }
    sf_status st;
    if (t->o.joint_vocab) {
        const char *both[2] = {src, tgt};
        st = sf_train_spm(t, both, 2, "spm.joint", t->cfg.src_vocab_size, &t->spm_src);
        if (st == SF_OK) {
            char model[4300];
            snprintf(model, sizeof model, "%s/spm.joint.model", a->out_dir);
            st = sf_spm_load_file(model, &t->spm_tgt);
        }
    } else {
        st = sf_train_spm(t, &src, 1, "spm.src", t->cfg.src_vocab_size, &t->spm_src);
        if (st == SF_OK)
            st = sf_train_spm(t, &tgt, 1, "spm.tgt", t->cfg.tgt_vocab_size, &t->spm_tgt);
    }
    if (a->tsv) {
        remove(s_txt);
        remove(t_txt);
    }
    return st;
}

static sf_status sf_setup_corpora(sf_trainer *t)
{
    const sf_trainer_args *a = t->a;
    sf_corpus_opts o = {0};
    o.src_path = a->tsv ? NULL : a->src;
    o.tgt_path = a->tsv ? NULL : a->tgt;
    o.tsv_path = a->tsv;
    o.encode_src = sf_encode_cb;
    o.src_ctx = t->spm_src;
    o.encode_tgt = sf_encode_cb;
    o.tgt_ctx = t->spm_tgt;
    o.max_src_len = t->o.max_src_len;
    o.max_tgt_len = t->o.max_tgt_len;
    o.src_append_eos = t->cfg.src_append_eos;
    SF_TRY(sf_corpus_load(&o, &t->train));
    sf_log_info("training data: %lld pairs kept of %lld lines (%lld empty, %lld too long, %lld "
                "invalid skipped)", (long long)t->train->stats.pairs_kept,
                (long long)t->train->stats.lines_read, (long long)t->train->stats.skipped_empty,
                (long long)t->train->stats.skipped_too_long,
                (long long)t->train->stats.skipped_invalid);
    if (!a->valid_src && !a->valid_tgt)
        return SF_OK;
    if (!a->valid_src || !a->valid_tgt)
        return sf_error(SF_ERR_INVALID_ARG, "give both --valid-src and --valid-tgt");
    o.tsv_path = NULL;
    o.src_path = a->valid_src;
    o.tgt_path = a->valid_tgt;
    o.max_src_len = o.max_tgt_len = 0; /* validate on everything */
    SF_TRY(sf_corpus_load(&o, &t->valid));
    sf_log_info("validation data: %lld pairs", (long long)t->valid->n);
    return SF_OK;
}

/* Pretrained vectors into the host copy of the freshly initialised weights. */
static sf_status sf_setup_pretrained(sf_trainer *t, float *host)
{
    const sf_trainer_args *a = t->a;
    const sf_param *enc = sf_param_find(&t->m->layout, "encoder.embeddings.weight");
    const sf_param *dec = sf_param_find(&t->m->layout, "decoder.embeddings.weight");
    if (a->src_embeddings)
        SF_TRY(sf_pretrained_apply(a->src_embeddings, SF_EMB_AUTO, t->spm_src,
                                   t->cfg.src_vocab_size, t->cfg.emb_size, host + enc->offset,
                                   NULL));
    if (a->tgt_embeddings)
        SF_TRY(sf_pretrained_apply(a->tgt_embeddings, SF_EMB_AUTO, t->spm_tgt,
                                   t->cfg.tgt_vocab_size, t->cfg.emb_size, host + dec->offset,
                                   NULL));
    if (t->o.freeze_embeddings && !a->src_embeddings && !a->tgt_embeddings)
        sf_log_warn("--freeze-embeddings without pretrained embeddings keeps random ones fixed");
    return SF_OK;
}

sf_status sf_trainer_open_backend(sf_trainer *t)
{
    SF_TRY(sf_backend_open(t->a->device, &t->be)); /* NULL: auto */
    SF_TRY(sf_backend_set_precision(t->be, (sf_precision)t->o.matmul_precision));
    sf_log_info("products: %s", sf_backend_gemm_info(t->be));
    return t->a->cudnn_rnn ? sf_cuda_backend_set_cudnn_rnn(t->be, 1) : SF_OK;
}

/* Vocabulary sizes come from the tokenizers; the config's are upper bounds. */
static sf_status sf_setup_model(sf_trainer *t)
{
    t->cfg.src_vocab_size = sf_spm_vocab_size(t->spm_src);
    t->cfg.tgt_vocab_size = sf_spm_vocab_size(t->spm_tgt);
    SF_TRY(sf_model_config_validate(&t->cfg, "model config"));
    SF_TRY(sf_trainer_open_backend(t));
    SF_TRY(sf_s2s_create(t->be, &t->cfg, 1, &t->m));
    t->m->freeze_embeddings = t->o.freeze_embeddings;
    sf_rng_seed(&t->m->dropout_rng, (uint64_t)t->o.seed * 2 + 1);
    size_t bytes = sizeof(float) * (size_t)t->m->layout.total;
    float *host = malloc(bytes);
    if (!host)
        return SF_FAIL(SF_ERR_OOM, "%zu bytes for initial parameters", bytes);
    sf_rng init;
    sf_rng_seed(&init, (uint64_t)t->o.seed);
    sf_params_init_uniform(&t->m->layout, host, 0.1f, &init);
    sf_status st = sf_setup_pretrained(t, host);
    if (st == SF_OK)
        st = t->be->upload(t->be, t->m->params, host, bytes);
    free(host);
    SF_TRY(st);
    SF_TRY(sf_optim_init(&t->opt, t->be, &t->m->layout, &t->o));
    SF_TRY(sf_spm_serialize(t->spm_src, &t->spm_src_bytes, &t->spm_src_n));
    SF_TRY(sf_spm_serialize(t->spm_tgt, &t->spm_tgt_bytes, &t->spm_tgt_n));
    sf_log_info("model: %s encoder %d x %d%s, decoder %d x %d, %s attention, vocab %d -> %d, "
                "%lld parameters", sf_model_config_spec[0].names[t->cfg.cell], t->cfg.enc_layers,
                t->cfg.hidden_size, t->cfg.bidirectional ? " (bidirectional)" : "",
                t->cfg.dec_layers, t->cfg.hidden_size,
                sf_model_config_spec[1].names[t->cfg.attention], t->cfg.src_vocab_size,
                t->cfg.tgt_vocab_size, (long long)t->m->layout.total);
    return SF_OK;
}

static sf_status sf_make_dir(const char *dir)
{
    if (mkdir(dir, 0755) == 0 || errno == EEXIST) {
        struct stat sb;
        if (stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode))
            return SF_OK;
    }
    return sf_error(SF_ERR_IO, "cannot create output folder %s: %s", dir, strerror(errno));
}

/* A SIGKILL (or power loss) during a save leaves NAME.tmp.XXXXXX next to the
 * intact real file. Remove such leftovers of our own two names only. */
static void sf_remove_stale_temps(const char *dir)
{
    static const char *const names[] = {"model.safetensors.tmp.",
                                        "checkpoint.safetensors.tmp."};
    DIR *d = opendir(dir);
    if (!d)
        return;
    char path[8400];
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        for (int i = 0; i < 2; i++) {
            size_t n = strlen(names[i]);
            if (strncmp(e->d_name, names[i], n) || strlen(e->d_name + n) != 6)
                continue;
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            if (unlink(path) == 0)
                sf_log_info("removed %s, left by an interrupted save", path);
        }
    }
    closedir(d);
}

sf_status sf_trainer_setup(sf_trainer *t, const sf_trainer_args *a)
{
    memset(t, 0, sizeof *t);
    t->a = a;
    t->cfg = a->cfg;
    t->o = a->opts;
    t->t_start = sf_now();
    t->ckpt_step = -1;
    if (!a->out_dir)
        return sf_error(SF_ERR_INVALID_ARG, "an output folder (--out) is required");
    if (!a->tsv && (!a->src || !a->tgt))
        return sf_error(SF_ERR_INVALID_ARG, "training data: give --src and --tgt, or --tsv");
    SF_TRY(sf_make_dir(a->out_dir));
    sf_remove_stale_temps(a->out_dir);
    if (t->o.threads > 0)
        sf_cpu_set_threads(t->o.threads);
    snprintf(t->model_path, sizeof t->model_path, "%s/model.safetensors", a->out_dir);
    snprintf(t->ckpt_path, sizeof t->ckpt_path, "%s/checkpoint.safetensors", a->out_dir);
    if (a->resume) {
        SF_TRY(sf_trainer_restore(t, t->ckpt_path));
    } else {
        SF_TRY(sf_setup_tokenizers(t));
        SF_TRY(sf_setup_model(t));
    }
    if (a->grad_hook && t->be->kind != SF_DEVICE_CPU)
        return sf_error(SF_ERR_INVALID_ARG, "grad_hook (fault injection) works on the CPU "
                        "backend only, not on %s", t->be->name);
    SF_TRY(sf_setup_corpora(t));
    sf_batcher_opts bo = sf_batcher_default_opts();
    bo.max_tokens = t->o.max_tokens;
    bo.max_sentences = t->o.max_sentences;
    bo.seed = (uint64_t)t->o.seed;
    SF_TRY(sf_batcher_create(t->train, &bo, &t->batcher));
    if (a->resume) {
        sf_status st = sf_batcher_set_pos(t->batcher, t->resume_epoch, t->resume_index);
        if (st != SF_OK)
            return sf_error_prefix(st, "resuming at epoch %lld batch %lld (was the training "
                                   "data or batch size changed?)", (long long)t->resume_epoch,
                                   (long long)t->resume_index);
    }
    return SF_OK;
}

void sf_trainer_teardown(sf_trainer *t)
{
    sf_batcher_free(t->batcher);
    sf_corpus_free(t->train);
    sf_corpus_free(t->valid);
    sf_optim_free(&t->opt);
    sf_s2s_free(t->m);
    sf_backend_close(t->be);
    sf_spm_free(t->spm_src);
    sf_spm_free(t->spm_tgt);
    free(t->spm_src_bytes);
    free(t->spm_tgt_bytes);
    memset(t, 0, sizeof *t);
}
