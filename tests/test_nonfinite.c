/* test_nonfinite.c: the trainer's NaN/Inf guard, with faults injected through
 * sf_trainer_args.grad_hook: a few bad batches are skipped and counted and
 * training goes on; max_nonfinite of them in a row stop it with SF_ERR_NUMERIC,
 * a message naming the checkpoint, and that checkpoint untouched, loadable and
 * resumable (or, when the run had saved none yet, the last good state saved). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_io.h"
#include "sf_test.h"
#include "train/trainer.h"

static char g_dir[4096];

typedef struct fault {
    int64_t from, to;   /* poison batch attempts from..to (1-based; a skipped batch
                           does not advance the step, so attempts are counted) */
    int in_loss;        /* 1: report a NaN loss; 0: write Inf/NaN into the gradients */
    int calls, poisoned;
    const char *ckpt;   /* when set: its bytes at the first poisoned call */
    char *ckpt_bytes;
    size_t ckpt_n;
} fault;

static int poison(void *ctx, int64_t step, float *grads, int64_t n)
{
    fault *f = ctx;
    f->calls++;
    if (f->calls < f->from || f->calls > f->to)
        return 0;
    if (f->ckpt && !f->ckpt_bytes)
        f->ckpt_bytes = sf_test_read_file(f->ckpt, &f->ckpt_n);
    f->poisoned++;
    if (f->in_loss)
        return 1;
    grads[(step * 7919) % n] = step % 2 ? INFINITY : NAN;
    return 0;
}

static void args(sf_trainer_args *a, const char *out, fault *f)
{
    static char src[4200], tgt[4200];
    snprintf(src, sizeof src, "%s/train.src", g_dir);
    snprintf(tgt, sizeof tgt, "%s/train.tgt", g_dir);
    memset(a, 0, sizeof *a);
    sf_model_config_default(&a->cfg);
    sf_train_opts_default(&a->opts);
    a->src = src, a->tgt = tgt, a->out_dir = out, a->device = "cpu";
    a->cfg.emb_size = a->cfg.hidden_size = 16, a->cfg.enc_layers = a->cfg.dec_layers = 1;
    a->cfg.src_vocab_size = a->cfg.tgt_vocab_size = 40;
    a->opts.max_tokens = 200, a->opts.threads = 1, a->opts.log_every = 1000;
    a->grad_hook = poison, a->grad_hook_ctx = f;
}

static int64_t ckpt_step(const char *path)
{
    sf_model_file m;
    ck_assert_msg(sf_model_load(path, &m) == SF_OK, "%s", sf_last_error());
    const char *state = sf_st_meta(m.st, "train_state"), *p = strstr(state, "\"step\":");
    int64_t step = p ? atoll(p + 7) : -1;
    sf_model_file_free(&m);
    return step;
}

/* Resume from out's checkpoint without faults and run to max_steps. */
static void resume_to(const char *out, int64_t max_steps)
{
    sf_trainer_args a;
    sf_trainer_result res;
    args(&a, out, NULL);
    a.grad_hook = NULL, a.resume = 1, a.opts.max_steps = max_steps;
    ck_assert_msg(sf_train(&a, &res) == SF_OK, "resume: %s", sf_last_error());
    ck_assert_int_eq(res.steps, max_steps);
}

typedef struct skip_case {
    const char *name;
    fault f;
    int64_t skipped;
} skip_case;

static const skip_case skip_cases[] = {
    {"NaN/Inf gradients in batches 3-4", {3, 4, 0, 0, 0, NULL, NULL, 0}, 2},
    {"NaN loss in batch 6", {6, 6, 1, 0, 0, NULL, NULL, 0}, 1},
    {"NaN/Inf gradients in batches 2-4 (one short of the limit)", {2, 4, 0, 0, 0, NULL, NULL, 0},
     3},
};

/* A few bad batches: skipped, counted, training reaches max_steps and the
 * saved model holds no NaN (the loader would refuse it). */
START_TEST(test_skip_and_count)
{
    const skip_case *c = &skip_cases[_i];
    char out[4200];
    snprintf(out, sizeof out, "%s/skip%d", g_dir, _i);
    fault f = c->f;
    sf_trainer_args a;
    sf_trainer_result res;
    args(&a, out, &f);
    a.opts.max_steps = 8, a.opts.max_nonfinite = 4;
    ck_assert_msg(sf_train(&a, &res) == SF_OK, "%s: %s", c->name, sf_last_error());
    ck_assert_int_eq(res.steps, 8);
    ck_assert_msg(res.skipped_nonfinite == c->skipped && f.poisoned == c->skipped,
                  "%s: skipped %lld, poisoned %d, expected %lld", c->name,
                  (long long)res.skipped_nonfinite, f.poisoned, (long long)c->skipped);
    ck_assert_int_eq(f.calls, 8 + (int)c->skipped);
    sf_model_file m;
    ck_assert_msg(sf_model_load(res.model_path, &m) == SF_OK, "%s", sf_last_error());
    sf_model_file_free(&m);
    ck_assert_int_eq(ckpt_step(res.checkpoint_path), 8);
}
END_TEST

/* max_nonfinite in a row after a checkpoint at step 4: SF_ERR_NUMERIC, the
 * message names the checkpoint and its step, the file is byte for byte what
 * it was before the faults, and it loads and resumes. */
START_TEST(test_stop_keeps_checkpoint)
{
    char out[4200], ckpt[4300];
    snprintf(out, sizeof out, "%s/stop", g_dir);
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.safetensors", out);
    fault f = {5, 1000, 0, 0, 0, ckpt, NULL, 0};
    sf_trainer_args a;
    sf_trainer_result res;
    args(&a, out, &f);
    a.opts.max_steps = 50, a.opts.save_every = 2, a.opts.max_nonfinite = 3;
    sf_status st = sf_train(&a, &res);
    const char *msg = sf_last_error();
    ck_assert_msg(st == SF_ERR_NUMERIC, "got %s: %s", sf_status_str(st), msg);
    ck_assert_msg(strstr(msg, ckpt) && strstr(msg, "(step 4)") && strstr(msg, "is intact") &&
                      strstr(msg, "3 batches in a row"), "message: %s", msg);
    ck_assert_int_eq(res.steps, 4);
    ck_assert_int_eq(f.poisoned, 3);
    size_t n;
    char *now = sf_test_read_file(ckpt, &n);
    ck_assert_msg(f.ckpt_bytes && n == f.ckpt_n && !memcmp(now, f.ckpt_bytes, n),
                  "the checkpoint changed after the faults");
    free(now), free(f.ckpt_bytes);
    ck_assert_int_eq(ckpt_step(ckpt), 4);
    resume_to(out, 7);
}
END_TEST

/* The faults start before any checkpoint was written: the last good state
 * (parameters untouched by the skipped batches) is saved and resumable. */
START_TEST(test_stop_saves_when_none)
{
    char out[4200], ckpt[4300];
    snprintf(out, sizeof out, "%s/none", g_dir);
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.safetensors", out);
    fault f = {3, 1000, 1, 0, 0, NULL, NULL, 0};
    sf_trainer_args a;
    sf_trainer_result res;
    args(&a, out, &f);
    a.opts.max_steps = 50, a.opts.max_nonfinite = 2; /* save_every stays 500 */
    sf_status st = sf_train(&a, &res);
    ck_assert_msg(st == SF_ERR_NUMERIC, "got %s: %s", sf_status_str(st), sf_last_error());
    ck_assert_msg(strstr(sf_last_error(), ckpt) && strstr(sf_last_error(), "(step 2) was saved"),
                  "message: %s", sf_last_error());
    ck_assert_int_eq(ckpt_step(ckpt), 2);
    resume_to(out, 5);
}
END_TEST

static void setup(void)
{
    sf_test_tmpdir(g_dir, sizeof g_dir);
    char src[4200], tgt[4200];
    snprintf(src, sizeof src, "%s/train.src", g_dir);
    snprintf(tgt, sizeof tgt, "%s/train.tgt", g_dir);
    sf_test_write_words(src, tgt, 200, 1, 23);
}

static void teardown(void) { sf_test_rmtree(g_dir); }

int main(void)
{
    Suite *s = suite_create("nonfinite");
    TCase *tc = tcase_create("guard");
    tcase_set_timeout(tc, 300);
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, test_skip_and_count, 0,
                        (int)(sizeof skip_cases / sizeof *skip_cases));
    tcase_add_test(tc, test_stop_keeps_checkpoint);
    tcase_add_test(tc, test_stop_saves_when_none);
    suite_add_tcase(s, tc);
    return sf_test_main(s);
}
