/* test_infer.c: the decoding path (encode once, start state, step, reorder)
 * against the training path, which the golden tests tie to PyTorch: fed the
 * reference target (teacher forcing), steps must reproduce the training
 * log-probabilities for every golden config; rows reordered, duplicated and
 * dropped must carry their states exactly. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/infer.h"
#include "nn/loss.h"
#include "seqfuse/modelfile.h"
#include "sf_test.h"

static const char *const cases[] = {
    "lstm_dot", "lstm_general", "lstm_mlp", "gru_dot", "gru_general", "gru_mlp",
    "rnn_dot", "rnn_general", "rnn_mlp", "lstm_general_tied", "gru_mlp_unidir",
    "lstm_dot_zero_bridge", "lstm_general_l1", "lstm_general_init1",
};
#define NCASES (int)(sizeof cases / sizeof *cases)
#define TOL 2e-5 /* absolute, on log-probabilities of order 1 (float32 both ways) */

typedef struct fixture {
    sf_st_file *f;
    sf_backend *be;
    sf_s2s *m;
    int B, S, T, V;
    int32_t src[64], src_len[8], tgt_in[64], tgt_out[64];
} fixture;

static void copy_i32(const sf_st_file *f, const char *name, int32_t *dst, size_t cap)
{
    const sf_st_info *t = sf_st_find(f, name);
    ck_assert(t && t->dtype == SF_I32 && t->nbytes <= cap * 4);
    memcpy(dst, sf_st_data(f, t), t->nbytes);
}

static void fixture_open(fixture *x, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/golden/%s.safetensors", SF_TEST_DATA_DIR, name);
    memset(x, 0, sizeof *x);
    ck_assert_msg(sf_st_open(path, 0, &x->f) == SF_OK, "%s", sf_last_error());
    cJSON *cfg = cJSON_Parse(sf_st_meta(x->f, "config"));
    cJSON_DeleteItemFromObject(cfg, "torch_version");
    char *json = cJSON_PrintUnformatted(cfg);
    cJSON_Delete(cfg);
    sf_model_config c;
    ck_assert_int_eq(sf_model_config_from_json(json, name, &c), SF_OK);
    free(json);
    ck_assert_int_eq(sf_backend_open("cpu", &x->be), SF_OK);
    ck_assert_int_eq(sf_s2s_create(x->be, &c, 0, &x->m), SF_OK);
    for (int i = 0; i < x->m->layout.count; i++) {
        const sf_param *p = &x->m->layout.list[i];
        ck_assert_int_eq(sf_st_read_f32(x->f, p->name, p->ndim, p->shape,
                                        x->m->params + p->offset), SF_OK);
    }
    const sf_st_info *s = sf_st_find(x->f, "input.src"), *t = sf_st_find(x->f, "input.tgt_in");
    x->B = (int)s->shape[0], x->S = (int)s->shape[1], x->T = (int)t->shape[1];
    x->V = c.tgt_vocab_size;
    copy_i32(x->f, "input.src", x->src, 64);
    copy_i32(x->f, "input.src_len", x->src_len, 8);
    copy_i32(x->f, "input.tgt_in", x->tgt_in, 64);
    copy_i32(x->f, "input.tgt_out", x->tgt_out, 64);
}

static void fixture_close(fixture *x)
{
    sf_s2s_free(x->m);
    sf_backend_close(x->be);
    sf_st_close(x->f);
}

/* Training-path log-probabilities [T,B,V]. */
static float *train_logprobs(fixture *x)
{
    size_t n = (size_t)x->T * x->B * x->V;
    float *lp = malloc(n * sizeof(float));
    sf_s2s_batch b = {x->B, x->S, x->T, x->src, x->src_len, x->tgt_in, x->tgt_out};
    sf_s2s_loss loss;
    ck_assert_msg(sf_s2s_forward_backward(x->m, &b, 0, 0, 1.0f, &loss, lp) == SF_OK, "%s",
                  sf_last_error());
    ck_assert_int_eq(sf_log_softmax(x->be, (int64_t)x->T * x->B, x->V, lp, lp), SF_OK);
    return lp;
}

START_TEST(test_teacher_forcing)
{
    fixture x;
    fixture_open(&x, cases[_i]);
    float *want = train_logprobs(&x);
    sf_infer *inf;
    ck_assert_msg(sf_infer_start(x.m, x.B, x.S, x.src, x.src_len, x.B, &inf) == SF_OK, "%s",
                  sf_last_error());
    int32_t sent[8], prev[8];
    float *lp = malloc(sizeof(float) * (size_t)x.B * x.V), *attn = malloc(sizeof(float) * 64);
    for (int b = 0; b < x.B; b++)
        sent[b] = b;
    for (int t = 0; t < x.T; t++) {
        for (int b = 0; b < x.B; b++)
            prev[b] = x.tgt_in[b * x.T + t];
        ck_assert_int_eq(sf_infer_step(inf, x.B, sent, prev, lp, attn), SF_OK);
        double r = sf_test_tol_ratio(lp, want + (size_t)t * x.B * x.V, (int64_t)x.B * x.V, TOL,
                                     0);
        ck_assert_msg(r <= 1.0, "%s: step %d log-probs differ from training (%.3g x tol)",
                      cases[_i], t, r);
        for (int b = 0; b < x.B; b++) { /* attention rows: a distribution over real tokens */
            double sum = 0;
            for (int s = 0; s < x.S; s++) {
                sum += attn[b * x.S + s];
                if (s >= x.src_len[b])
                    ck_assert_float_eq(attn[b * x.S + s], 0.0f);
            }
            ck_assert_double_eq_tol(sum, 1.0, 1e-5);
        }
    }
    free(lp), free(attn), free(want);
    sf_infer_free(inf);
    fixture_close(&x);
}
END_TEST

START_TEST(test_reorder)
{
    fixture x;
    fixture_open(&x, cases[_i]);
    const int V = x.V;
    sf_infer *a, *b;
    ck_assert_int_eq(sf_infer_start(x.m, x.B, x.S, x.src, x.src_len, 4 * x.B, &a), SF_OK);
    ck_assert_int_eq(sf_infer_start(x.m, x.B, x.S, x.src, x.src_len, 4 * x.B, &b), SF_OK);
    int32_t sent[32], prev[32], from[32];
    float *la = malloc(sizeof(float) * 32 * V), *lb = malloc(sizeof(float) * 32 * V);
    for (int i = 0; i < x.B; i++)
        sent[i] = i, prev[i] = 2;
    ck_assert_int_eq(sf_infer_step(a, x.B, sent, prev, la, NULL), SF_OK);
    ck_assert_int_eq(sf_infer_step(b, x.B, sent, prev, lb, NULL), SF_OK);
    /* b: each sentence's row tripled (beam layout, rows of a sentence adjacent);
       then sentence 0 is dropped */
    int rows = 0;
    for (int i = 1; i < x.B; i++)
        for (int k = 0; k < 3; k++)
            from[rows] = i, sent[rows] = i, prev[rows] = 4 + k, rows++;
    ck_assert_int_eq(sf_infer_reorder(b, rows, from), SF_OK);
    ck_assert_int_eq(sf_infer_step(b, rows, sent, prev, lb, NULL), SF_OK);
    /* a: the same rows one at a time, as a fresh reorder of the original rows */
    for (int r = 0; r < rows; r++) {
        sf_infer *c;
        int32_t s1 = sent[r], p1 = prev[r], f1 = from[r];
        ck_assert_int_eq(sf_infer_start(x.m, x.B, x.S, x.src, x.src_len, 4 * x.B, &c), SF_OK);
        int32_t s0[8], p0[8];
        for (int i = 0; i < x.B; i++)
            s0[i] = i, p0[i] = 2;
        ck_assert_int_eq(sf_infer_step(c, x.B, s0, p0, la, NULL), SF_OK);
        ck_assert_int_eq(sf_infer_reorder(c, 1, &f1), SF_OK);
        ck_assert_int_eq(sf_infer_step(c, 1, &s1, &p1, la, NULL), SF_OK);
        double e = sf_test_tol_ratio(la, lb + (size_t)r * V, V, 1e-6, 0);
        ck_assert_msg(e <= 1.0, "%s: row %d differs after reorder (%.3g x tol)", cases[_i], r, e);
        sf_infer_free(c);
    }
    ck_assert_int_eq(sf_infer_step(b, rows + 1, sent, prev, lb, NULL), SF_ERR_INVALID_ARG);
    free(la), free(lb);
    sf_infer_free(a);
    sf_infer_free(b);
    fixture_close(&x);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("infer");
    TCase *tc = tcase_create("decode");
    tcase_add_loop_test(tc, test_teacher_forcing, 0, NCASES);
    tcase_add_loop_test(tc, test_reorder, 0, NCASES);
    suite_add_tcase(s, tc);
    return sf_test_main(s);
}
