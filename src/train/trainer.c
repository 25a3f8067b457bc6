/* trainer.c: the training loop: batches, forward/backward, NaN/Inf guard,
 * Adam, logging and progress bar, validation with learning-rate decay and
 * early stopping, periodic checkpoints, and a clean stop on request. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "search/translator.h"
#include "text/score.h"
#include "train/trainer_internal.h"

static void sf_hms(double s, char *buf, size_t n)
{
    long v = (long)(s + 0.5);
    snprintf(buf, n, "%ld:%02ld:%02ld", v / 3600, v / 60 % 60, v % 60);
}

static sf_s2s_batch sf_as_s2s(const sf_batch *b)
{
    return (sf_s2s_batch){(int)b->B, (int)b->S, (int)b->T, b->src, b->src_len, b->tgt_in,
                          b->tgt_out};
}

/* Perplexity of the validation set (no dropout). */
static sf_status sf_validate(sf_trainer *t, double *ppl, double *loss_out)
{
    sf_batcher_opts bo = sf_batcher_eval_opts(t->o.max_tokens);
    sf_batcher *vb = NULL;
    sf_batch b = {0};
    SF_TRY(sf_batcher_create(t->valid, &bo, &vb));
    double nll = 0, loss = 0;
    int64_t ntok = 0;
    sf_status st;
    while ((st = sf_batcher_next(vb, &b)) == SF_OK && b.B > 0) {
        sf_s2s_batch sb = sf_as_s2s(&b);
        sf_s2s_loss l;
        if ((st = sf_s2s_forward_backward(t->m, &sb, 0, 0, 1.0f, &l, NULL)) != SF_OK)
            break;
        nll += l.nll_sum, loss += l.loss_sum, ntok += l.ntok;
    }
    sf_batch_free(&b);
    sf_batcher_free(vb);
    SF_TRY(st);
    *ppl = ntok ? exp(nll / (double)ntok) : 0.0;
    *loss_out = ntok ? loss / (double)ntok : 0.0;
    return SF_OK;
}

/* Greedy BLEU of the first valid_bleu_max validation pairs (references are
 * the detokenized target pieces). */
static sf_status sf_validate_bleu(sf_trainer *t, double *bleu)
{
    int64_t n = sf_corpus_count(t->valid);
    if (n > t->o.valid_bleu_max)
        n = t->o.valid_bleu_max;
    const int32_t **src = calloc((size_t)n, sizeof *src);
    int32_t *len = calloc((size_t)n, sizeof *len);
    char **hyp = calloc((size_t)n, sizeof *hyp), **ref = calloc((size_t)n, sizeof *ref);
    sf_status st = src && len && hyp && ref ? SF_OK : SF_FAIL(SF_ERR_OOM, "validation BLEU");
    for (int64_t i = 0; st == SF_OK && i < n; i++) {
        int64_t sl, tl;
        src[i] = sf_corpus_src(t->valid, i, &sl);
        len[i] = (int32_t)sl;
        const int32_t *tgt = sf_corpus_tgt(t->valid, i, &tl);
        st = sf_spm_decode(t->spm_tgt, tgt, tl, &ref[i]);
    }
    sf_search_opts so;
    sf_search_opts_default(&so);
    so.beam = 1;
    if (st == SF_OK)
        st = sf_decode_to_text(t->m, t->spm_tgt, n, src, len, &so, t->o.max_tokens, hyp);
    sf_text th = {"validation output", (const char *const *)hyp, n, NULL};
    sf_text tr = {"validation reference", (const char *const *)ref, n, NULL};
    sf_bleu b;
    if (st == SF_OK && (st = sf_bleu_corpus(&th, &tr, 1, &b)) == SF_OK)
        *bleu = b.score;
    for (int64_t i = 0; i < n; i++) {
        if (hyp)
            free(hyp[i]);
        if (ref)
            free(ref[i]);
    }
    free(src), free(len), free(hyp), free(ref);
    return st;
}

/* Validate, keep the best model, decay on a plateau; *stop on patience. */
static sf_status sf_validate_and_keep(sf_trainer *t, int *stop)
{
    double ppl, loss;
    SF_TRY(sf_validate(t, &ppl, &loss));
    if (!isfinite(ppl)) /* never the best: a NaN best would block every later one */
        sf_log_warn("validation at step %lld: perplexity is %g (NaN/Inf in the validation "
                    "loss); not counted as an improvement", (long long)t->step, ppl);
    int better = isfinite(ppl) && (t->best_valid == 0.0 || ppl < t->best_valid);
    if (better) {
        t->best_valid = ppl;
        t->bad_valids = 0;
        t->plateau = 0;
        SF_TRY(sf_trainer_save(t, t->model_path, 0));
    } else {
        t->bad_valids++;
        if (++t->plateau >= t->o.lr_decay_patience && t->o.lr_decay < 1.0f) {
            sf_optim_decay(&t->opt);
            t->plateau = 0;
            sf_log_info("validation plateau: learning rate now %.3g", t->opt.lr);
        }
    }
    double bleu = -1;
    if (t->o.valid_bleu_max > 0)
        SF_TRY(sf_validate_bleu(t, &bleu));
    char bleu_text[64] = "";
    if (bleu >= 0)
        snprintf(bleu_text, sizeof bleu_text, ", BLEU %.2f (greedy, %lld sentences)", bleu,
                 (long long)(sf_corpus_count(t->valid) < t->o.valid_bleu_max
                                 ? sf_corpus_count(t->valid) : t->o.valid_bleu_max));
    sf_log_info("validation at step %lld: loss %.4f, perplexity %.3f%s%s (best %.3f)",
                (long long)t->step, loss, ppl, bleu_text, better ? " [new best, saved]" : "",
                t->best_valid);
    if (t->o.patience > 0 && t->bad_valids >= t->o.patience) {
        sf_log_info("early stopping: %d validations without improvement", t->bad_valids);
        *stop = 1;
    }
    return SF_OK;
}

typedef struct sf_window {
    double loss, nll, t0;
    int64_t ntok, steps;
} sf_window;

static void sf_log_progress(sf_trainer *t, sf_window *w, float lr, double gnorm, int64_t epoch)
{
    const double now = sf_now(), elapsed = t->elapsed_before + (now - t->t_start);
    char el[32], eta[32] = "?";
    double frac = 0;
    if (t->o.max_steps > 0)
        frac = (double)t->step / (double)t->o.max_steps;
    if (t->o.max_time > 0 && elapsed / t->o.max_time > frac)
        frac = elapsed / t->o.max_time;
    sf_hms(elapsed, el, sizeof el);
    if (frac > 0)
        sf_hms(elapsed / frac - elapsed, eta, sizeof eta);
    if (t->a->progress_bar) {
        int filled = (int)(frac * 30 + 0.5);
        fprintf(stderr, "\r[%-30.*s] %5.1f%% step %lld ", filled,
                "##############################", 100 * frac, (long long)t->step);
        fflush(stderr);
    }
    if (t->step % t->o.log_every != 0 || w->ntok == 0)
        return;
    if (t->a->progress_bar)
        fputc('\n', stderr);
    sf_log_info("step %lld | epoch %lld | loss %.4f | ppl %.2f | %.0f tgt tok/s | lr %.2e | "
                "gnorm %.3f | %s elapsed | ETA %s", (long long)t->step, (long long)epoch + 1,
                w->loss / w->ntok, exp(w->nll / w->ntok), w->ntok / (now - w->t0), lr, gnorm, el,
                eta);
    *w = (sf_window){.t0 = now};
}

/* Too many NaN/Inf batches in a row. Skipped batches change nothing, so the
 * parameters are still those of the last good update: keep this run's
 * checkpoint on disk as it is, or write one if the run has none yet. */
static sf_status sf_numeric_stop(sf_trainer *t)
{
    char where[4400];
    if (t->ckpt_step < 0) {
        SF_TRY(sf_trainer_save(t, t->ckpt_path, 1));
        snprintf(where, sizeof where, "the last good state (step %lld) was saved to %s",
                 (long long)t->step, t->ckpt_path);
    } else {
        snprintf(where, sizeof where, "the last good checkpoint, %s (step %lld), is intact",
                 t->ckpt_path, (long long)t->ckpt_step);
    }
    return sf_error(SF_ERR_NUMERIC, "%lld batches in a row had NaN/Inf loss or gradients "
                    "(max_nonfinite %d); training stopped and %s. Continue with --resume, or "
                    "if it recurs train again with a lower learning rate (--lr) or clipping "
                    "(--clip-norm)", (long long)t->nonfinite_run, t->o.max_nonfinite, where);
}

/* One batch: forward, backward, guard against NaN/Inf, update. */
static sf_status sf_train_step(sf_trainer *t, const sf_batch *b, sf_window *w, float *lr,
                               double *gnorm, int *skipped)
{
    sf_s2s_batch sb = sf_as_s2s(b);
    sf_s2s_loss l;
    SF_TRY(t->be->fill(t->be, t->m->grads, t->m->layout.total, 0.0f));
    SF_TRY(sf_s2s_forward_backward(t->m, &sb, 1, 1, 1.0f / (float)b->ntok_tgt, &l, NULL));
    if (t->a->grad_hook &&
        t->a->grad_hook(t->a->grad_hook_ctx, t->step + 1, t->m->grads, t->m->layout.total))
        l.loss_sum = NAN;
    int finite = 0;
    SF_TRY(sf_optim_grad_norm(&t->opt, t->m->grads, gnorm, &finite));
    *skipped = !finite || !isfinite(l.loss_sum);
    if (*skipped) {
        t->nonfinite_run++, t->nonfinite_total++;
        sf_log_warn("step %lld: NaN/Inf in the %s; batch skipped (%lld in a row, %lld in all)",
                    (long long)t->step + 1, finite ? "loss" : "gradients",
                    (long long)t->nonfinite_run, (long long)t->nonfinite_total);
        return t->nonfinite_run >= t->o.max_nonfinite ? sf_numeric_stop(t) : SF_OK;
    }
    t->nonfinite_run = 0;
    SF_TRY(sf_optim_step(&t->opt, t->m->params, t->m->grads, *gnorm, lr));
    t->step++;
    w->loss += l.loss_sum, w->nll += l.nll_sum, w->ntok += l.ntok, w->steps++;
    if (t->a->step_hook)
        t->a->step_hook(t->a->step_hook_ctx, t->step, l.loss_sum / (double)l.ntok);
    return SF_OK;
}

static int sf_limits_reached(const sf_trainer *t, int64_t epoch)
{
    const double elapsed = t->elapsed_before + (sf_now() - t->t_start);
    return (t->o.max_steps > 0 && t->step >= t->o.max_steps) ||
           (t->o.max_epochs > 0 && epoch >= t->o.max_epochs) ||
           (t->o.max_time > 0 && elapsed >= t->o.max_time);
}

static sf_status sf_train_loop(sf_trainer *t, sf_trainer_result *res)
{
    sf_batch b = {0};
    sf_window w = {.t0 = sf_now()};
    sf_status st = SF_OK;
    int stop = 0;
    for (;;) {
        int64_t epoch, index;
        sf_batcher_get_pos(t->batcher, &epoch, &index);
        if (sf_limits_reached(t, epoch) || stop)
            break;
        if (t->a->stop && *t->a->stop) {
            st = SF_ERR_INTERRUPTED;
            break;
        }
        if ((st = sf_batcher_next(t->batcher, &b)) != SF_OK)
            break;
        float lr = 0;
        double gnorm = 0;
        int skipped = 0;
        if ((st = sf_train_step(t, &b, &w, &lr, &gnorm, &skipped)) != SF_OK)
            break;
        if (skipped)
            continue;
        res->last_loss = w.steps ? w.loss / (double)w.ntok : res->last_loss;
        sf_log_progress(t, &w, lr, gnorm, b.epoch);
        if (t->valid && t->step % t->o.valid_every == 0 &&
            (st = sf_validate_and_keep(t, &stop)) != SF_OK)
            break;
        if (t->step % t->o.save_every == 0 && (st = sf_trainer_save(t, t->ckpt_path, 1)) != SF_OK)
            break;
    }
    sf_batch_free(&b);
    return st;
}

sf_status sf_train(const sf_trainer_args *a, sf_trainer_result *res)
{
    sf_trainer t;
    memset(res, 0, sizeof *res);
    sf_status st = sf_trainer_setup(&t, a);
    if (st == SF_OK)
        st = sf_train_loop(&t, res);
    if (st == SF_OK || st == SF_ERR_INTERRUPTED) {
        /* the last state, resumable; and the final model when no validation keeps one */
        sf_status s2 = sf_trainer_save(&t, t.ckpt_path, 1);
        if (s2 == SF_OK && (!t.valid || t.best_valid == 0.0))
            s2 = sf_trainer_save(&t, t.model_path, 0);
        if (s2 != SF_OK)
            st = s2;
        else if (st == SF_ERR_INTERRUPTED)
            sf_error(st, "stopped by a signal at step %lld; checkpoint saved to %s (continue "
                     "with --resume)", (long long)t.step, t.ckpt_path);
    }
    res->steps = t.step;
    res->best_valid_ppl = t.best_valid;
    res->skipped_nonfinite = t.nonfinite_total;
    snprintf(res->model_path, sizeof res->model_path, "%s", t.model_path);
    snprintf(res->checkpoint_path, sizeof res->checkpoint_path, "%s", t.ckpt_path);
    sf_trainer_teardown(&t);
    return st;
}
