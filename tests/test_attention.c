/* test_attention.c: one attention step (dot, general, mlp) on a padded batch:
 * forward against a naive double implementation, masking, every gradient against
 * central finite differences, the beam layout (K rows per sentence) against K = 1,
 * and argument errors. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "nn/attention.h"
#include "sf_test.h"

/* The CPU backend; fails the test if it cannot open. */
static sf_backend *open_cpu(void)
{
    sf_backend *be = NULL;
    ck_assert_msg(sf_backend_open("cpu", &be) == SF_OK, "cpu backend: %s", sf_last_error());
    return be;
}

enum { B = 3, S = 5, H = 6 };
static const int32_t src_len[B] = {5, 2, 4};
static const sf_attn_type types[] = {SF_ATTN_DOT, SF_ATTN_GENERAL, SF_ATTN_MLP};

/* Inputs, weights, and the loss weights: L = sum(htilde * rh) + sum(align * ra). */
typedef struct problem {
    float M[B * S * H], h[B * H];
    float w_a[H * H], w_q[H * H], b_q[H], w_k[H * H], v[H], w_c[H * 2 * H], b_c[H];
    float rh[B * H], ra[B * S];
} problem;

/* Outputs and gradients of one run. */
typedef struct result {
    float keys[B * S * H], align[B * S], ctx[B * H], ht[B * H], cache[B * H];
    float dh[B * H], dM[B * S * H], dkeys[B * S * H];
    float g_w_a[H * H], g_w_q[H * H], g_b_q[H], g_w_k[H * H], g_v[H], g_w_c[H * 2 * H],
        g_b_c[H];
    float work[B * (2 * H + S)];
} result;

static void problem_init(problem *p, uint64_t seed)
{
    /* every float field, pads of M included (masking must ignore them) */
    sf_test_randu((float *)p, sizeof *p / sizeof(float), -0.8f, 0.8f, seed);
}

static sf_attn_weights weights_of(const problem *p)
{
    return (sf_attn_weights){p->w_a, p->w_q, p->b_q, p->w_k, p->v, p->w_c, p->b_c};
}

static double run_fwd(sf_backend *be, sf_attn_type t, const problem *p, result *r)
{
    sf_attn_weights w = weights_of(p);
    ck_assert_int_eq(sf_attn_keys_fwd(be, t, B, S, H, p->M, &w, r->keys), SF_OK);
    ck_assert_msg(sf_attn_step_fwd(be, t, B, 1, S, H, p->M, r->keys, src_len, &w, p->h,
                                   r->align, r->ctx, r->ht, r->cache) == SF_OK,
                  "%s: %s", sf_attn_name(t), sf_last_error());
    double L = 0.0;
    for (int i = 0; i < B * H; i++)
        L += (double)r->ht[i] * p->rh[i];
    for (int i = 0; i < B * S; i++)
        L += (double)r->align[i] * p->ra[i];
    return L;
}

static void run_bwd(sf_backend *be, sf_attn_type t, const problem *p, result *r)
{
    run_fwd(be, t, p, r);
    memset(r->dh, 0, offsetof(result, work) - offsetof(result, dh)); /* all gradients */
    sf_attn_weights w = weights_of(p);
    sf_attn_grads g = {r->g_w_a, r->g_w_q, r->g_b_q, r->g_w_k, r->g_v, r->g_w_c, r->g_b_c};
    ck_assert_msg(sf_attn_step_bwd(be, t, B, 1, S, H, p->M, r->keys, src_len, &w, p->h,
                                   r->align, r->ctx, r->ht, r->cache, p->rh, p->ra, r->dh,
                                   r->dM, r->dkeys, &g, r->work) == SF_OK,
                  "%s: %s", sf_attn_name(t), sf_last_error());
    ck_assert_int_eq(sf_attn_keys_bwd(be, t, B, S, H, p->M, &w, r->dkeys, r->dM, &g), SF_OK);
}

/* The step written out in double, straight from the formulas. */
static void naive_step(sf_attn_type t, const problem *p, double *align, double *ctx,
                       double *ht)
{
    for (int b = 0; b < B; b++) {
        const float *hb = p->h + b * H;
        double q[H], sc[S], mx = -INFINITY, z = 0.0;
        for (int i = 0; i < H; i++) {
            q[i] = t == SF_ATTN_DOT ? hb[i] : t == SF_ATTN_MLP ? p->b_q[i] : 0.0;
            for (int j = 0; j < H && t != SF_ATTN_DOT; j++)
                q[i] += (double)(t == SF_ATTN_GENERAL ? p->w_a : p->w_q)[i * H + j] * hb[j];
        }
        for (int s = 0; s < src_len[b]; s++) {
            const float *m = p->M + (b * S + s) * H;
            sc[s] = 0.0;
            for (int i = 0; i < H; i++) {
                if (t != SF_ATTN_MLP) {
                    sc[s] += q[i] * m[i];
                    continue;
                }
                double k = 0.0;
                for (int j = 0; j < H; j++)
                    k += (double)p->w_k[i * H + j] * m[j];
                sc[s] += p->v[i] * tanh(q[i] + k);
            }
            mx = sc[s] > mx ? sc[s] : mx;
        }
        for (int s = 0; s < S; s++) {
            align[b * S + s] = s < src_len[b] ? exp(sc[s] - mx) : 0.0;
            z += align[b * S + s];
        }
        for (int s = 0; s < S; s++)
            align[b * S + s] /= z;
        for (int i = 0; i < H; i++) {
            ctx[b * H + i] = 0.0;
            for (int s = 0; s < S; s++)
                ctx[b * H + i] += align[b * S + s] * p->M[(b * S + s) * H + i];
        }
        for (int i = 0; i < H; i++) {
            double pre = t == SF_ATTN_MLP ? p->b_c[i] : 0.0;
            for (int j = 0; j < H; j++)
                pre += p->w_c[i * 2 * H + j] * ctx[b * H + j] + p->w_c[i * 2 * H + H + j] * hb[j];
            ht[b * H + i] = t == SF_ATTN_MLP ? pre : tanh(pre);
        }
    }
}

static void check_close(const char *case_name, const char *what, const float *got,
                        const double *want, int n, double atol, double rtol)
{
    for (int i = 0; i < n; i++)
        ck_assert_msg(fabs(got[i] - want[i]) <= atol + rtol * fabs(want[i]),
                      "%s: %s[%d] = %.8g, naive double gives %.8g", case_name, what, i,
                      (double)got[i], want[i]);
}

START_TEST(test_forward_vs_naive)
{
    sf_attn_type t = types[_i];
    sf_backend *be = open_cpu();
    problem *p = malloc(sizeof *p);
    result *r = malloc(sizeof *r);
    problem_init(p, 11 + _i);
    run_fwd(be, t, p, r);
    double align[B * S], ctx[B * H], ht[B * H];
    naive_step(t, p, align, ctx, ht);
    /* float32 vs double on O(1) values: 1e-5 absolute + 1e-4 relative */
    check_close(sf_attn_name(t), "align", r->align, align, B * S, 1e-5, 1e-4);
    check_close(sf_attn_name(t), "ctx", r->ctx, ctx, B * H, 1e-5, 1e-4);
    check_close(sf_attn_name(t), "htilde", r->ht, ht, B * H, 1e-5, 1e-4);
    for (int b = 0; b < B; b++) {
        double sum = 0.0;
        for (int s = 0; s < S; s++) {
            if (s >= src_len[b])
                ck_assert_msg(r->align[b * S + s] == 0.0f, "%s: align[%d,%d] = %g at a pad",
                              sf_attn_name(t), b, s, (double)r->align[b * S + s]);
            sum += r->align[b * S + s];
        }
        ck_assert_msg(fabs(sum - 1.0) < 1e-6, "%s: align row %d sums to %.9f",
                      sf_attn_name(t), b, sum);
    }
    free(p), free(r);
    sf_backend_close(be);
}
END_TEST

/* Parameters checked by finite differences: where they live in problem, where
 * their gradient lives in result, and which types use them (bit mask). */
static const struct {
    const char *name;
    size_t off, goff;
    int n, types;
} fd_params[] = {
    {"h", offsetof(problem, h), offsetof(result, dh), B * H, 7},
    {"M", offsetof(problem, M), offsetof(result, dM), B * S * H, 7},
    {"w_a", offsetof(problem, w_a), offsetof(result, g_w_a), H * H, 2},
    {"w_q", offsetof(problem, w_q), offsetof(result, g_w_q), H * H, 4},
    {"b_q", offsetof(problem, b_q), offsetof(result, g_b_q), H, 4},
    {"w_k", offsetof(problem, w_k), offsetof(result, g_w_k), H * H, 4},
    {"v", offsetof(problem, v), offsetof(result, g_v), H, 4},
    {"w_c", offsetof(problem, w_c), offsetof(result, g_w_c), H * 2 * H, 7},
    {"b_c", offsetof(problem, b_c), offsetof(result, g_b_c), H, 4},
};
#define N_FD_PARAMS ((int)(sizeof fd_params / sizeof *fd_params))

/* Central differences with step 1e-2 on float32 forwards (the loss is summed in
 * double): truncation ~1e-5, rounding ~1e-4; allowed 5e-4 + 5e-3 |grad|. */
#define FD_STEP 1e-2
#define FD_ATOL 5e-4
#define FD_RTOL 5e-3

START_TEST(test_gradients_fd)
{
    sf_attn_type t = types[_i / N_FD_PARAMS];
    int pi = _i % N_FD_PARAMS;
    if (!(fd_params[pi].types & (1 << t)))
        return;
    sf_backend *be = open_cpu();
    problem *p = malloc(sizeof *p);
    result *r = malloc(sizeof *r), *tmp = malloc(sizeof *tmp);
    problem_init(p, 21 + _i);
    run_bwd(be, t, p, r);
    float *x = (float *)((char *)p + fd_params[pi].off);
    const float *grad = (const float *)((const char *)r + fd_params[pi].goff);
    for (int i = 0; i < fd_params[pi].n; i++) {
        float x0 = x[i];
        x[i] = (float)(x0 + FD_STEP);
        double lp = run_fwd(be, t, p, tmp);
        x[i] = (float)(x0 - FD_STEP);
        double lm = run_fwd(be, t, p, tmp);
        x[i] = x0;
        double fd = (lp - lm) / ((double)(float)(x0 + FD_STEP) - (float)(x0 - FD_STEP));
        ck_assert_msg(fabs(grad[i] - fd) <= FD_ATOL + FD_RTOL * fabs(fd),
                      "%s: d%s[%d] = %.7g, finite difference %.7g", sf_attn_name(t),
                      fd_params[pi].name, i, (double)grad[i], fd);
        if (pi == 1 && (i / H) % S >= src_len[i / (S * H)])
            ck_assert_msg(grad[i] == 0.0f, "%s: dM[%d] = %g at a pad position",
                          sf_attn_name(t), i, (double)grad[i]);
    }
    free(p), free(r), free(tmp);
    sf_backend_close(be);
}
END_TEST

/* K = 2 rows per sentence (beam layout) equal two K = 1 runs, forward and backward. */
START_TEST(test_beam_rows)
{
    sf_attn_type t = types[_i];
    sf_backend *be = open_cpu();
    problem *p[2] = {malloc(sizeof(problem)), malloc(sizeof(problem))};
    result *r[2] = {malloc(sizeof(result)), malloc(sizeof(result))};
    problem_init(p[0], 31 + _i);
    *p[1] = *p[0];
    sf_test_randu(p[1]->h, B * H, -0.8f, 0.8f, 41 + _i);
    sf_test_randu(p[1]->rh, B * H, -0.8f, 0.8f, 51 + _i);
    sf_test_randu(p[1]->ra, B * S, -0.8f, 0.8f, 61 + _i);
    for (int k = 0; k < 2; k++)
        run_bwd(be, t, p[k], r[k]);
    /* interleave: row b*2 + k is run k's row b */
    float h2[2 * B * H], rh2[2 * B * H], ra2[2 * B * S], al[2 * B * S], ctx[2 * B * H],
        ht[2 * B * H], cache[2 * B * H], dh[2 * B * H] = {0}, work[2 * B * (2 * H + S)];
    for (int b = 0; b < B; b++)
        for (int k = 0; k < 2; k++) {
            memcpy(h2 + (b * 2 + k) * H, p[k]->h + b * H, H * 4);
            memcpy(rh2 + (b * 2 + k) * H, p[k]->rh + b * H, H * 4);
            memcpy(ra2 + (b * 2 + k) * S, p[k]->ra + b * S, S * 4);
        }
    result *q = calloc(1, sizeof *q);
    sf_attn_weights w = weights_of(p[0]);
    sf_attn_grads g = {q->g_w_a, q->g_w_q, q->g_b_q, q->g_w_k, q->g_v, q->g_w_c, q->g_b_c};
    ck_assert_int_eq(sf_attn_keys_fwd(be, t, B, S, H, p[0]->M, &w, q->keys), SF_OK);
    ck_assert_int_eq(sf_attn_step_fwd(be, t, B, 2, S, H, p[0]->M, q->keys, src_len, &w, h2,
                                      al, ctx, ht, cache), SF_OK);
    ck_assert_int_eq(sf_attn_step_bwd(be, t, B, 2, S, H, p[0]->M, q->keys, src_len, &w, h2,
                                      al, ctx, ht, cache, rh2, ra2, dh, q->dM, q->dkeys, &g,
                                      work), SF_OK);
    ck_assert_int_eq(sf_attn_keys_bwd(be, t, B, S, H, p[0]->M, &w, q->dkeys, q->dM, &g), SF_OK);
    for (int b = 0; b < B; b++)
        for (int k = 0; k < 2; k++) {
            int row = b * 2 + k;
            /* same products in another grouping: 1e-6 absolute + 1e-5 relative */
            double worst = sf_test_tol_ratio(ht + row * H, r[k]->ht + b * H, H, 1e-6, 1e-5);
            double w2 = sf_test_tol_ratio(al + row * S, r[k]->align + b * S, S, 1e-6, 1e-5);
            double w3 = sf_test_tol_ratio(dh + row * H, r[k]->dh + b * H, H, 1e-6, 1e-5);
            worst = fmax(worst, fmax(w2, w3));
            ck_assert_msg(worst <= 1.0, "%s: beam row %d differs from its K = 1 run (ratio %g)",
                          sf_attn_name(t), row, worst);
        }
    /* parameter and memory gradients of the K = 2 run are the two runs' sums */
    for (size_t off = offsetof(result, dM); off < offsetof(result, work); off += 4) {
        float got = *(float *)((char *)q + off);
        float want = *(float *)((char *)r[0] + off) + *(float *)((char *)r[1] + off);
        ck_assert_msg(fabsf(got - want) <= 1e-5f + 1e-4f * fabsf(want),
                      "%s: summed gradient at byte %zu: %g vs %g", sf_attn_name(t), off,
                      (double)got, (double)want);
    }
    free(p[0]), free(p[1]), free(r[0]), free(r[1]), free(q);
    sf_backend_close(be);
}
END_TEST

START_TEST(test_parse_and_errors)
{
    sf_attn_type t;
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(sf_attn_parse(sf_attn_name(types[i]), &t), SF_OK);
        ck_assert_int_eq(t, types[i]);
    }
    ck_assert_int_eq(sf_attn_parse("bahdanau", &t), SF_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(sf_last_error(), "dot, general, mlp"));
    ck_assert_str_eq(sf_attn_name((sf_attn_type)9), "?");

    sf_backend *be = open_cpu();
    problem *p = malloc(sizeof *p);
    result *r = malloc(sizeof *r);
    problem_init(p, 5);
    sf_attn_weights w = weights_of(p);
    w.w_a = NULL; /* general needs it, dot does not */
    static const int32_t bad_len[B] = {5, 6, 1}, empty_len[B] = {5, 0, 4};
    static const struct {
        sf_attn_type type;
        int K;
        const int32_t *len;
        const char *want; /* in the message */
    } bad[] = {
        {SF_ATTN_GENERAL, 1, src_len, "w_a"},
        {SF_ATTN_DOT, 1, bad_len, "src_len[1] = 6"},
        {SF_ATTN_DOT, 0, src_len, "K=0"},
    };
    for (size_t c = 0; c < sizeof bad / sizeof *bad; c++) {
        ck_assert_int_eq(sf_attn_step_fwd(be, bad[c].type, B, bad[c].K, S, H, p->M, NULL,
                                          bad[c].len, &w, p->h, r->align, r->ctx, r->ht,
                                          r->cache), SF_ERR_INVALID_ARG);
        ck_assert_msg(strstr(sf_last_error(), bad[c].want), "case %zu: \"%s\" lacks \"%s\"",
                      c, sf_last_error(), bad[c].want);
    }
    /* an empty source row attends nowhere: align and ctx are 0, not NaN */
    ck_assert_int_eq(sf_attn_step_fwd(be, SF_ATTN_DOT, B, 1, S, H, p->M, NULL, empty_len, &w,
                                      p->h, r->align, r->ctx, r->ht, r->cache), SF_OK);
    for (int i = 0; i < S; i++)
        ck_assert(r->align[S + i] == 0.0f);
    for (int i = 0; i < H; i++)
        ck_assert(r->ctx[H + i] == 0.0f && isfinite(r->ht[H + i]));
    free(p), free(r);
    sf_backend_close(be);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("attention");
    TCase *tc = tcase_create("forward");
    tcase_add_loop_test(tc, test_forward_vs_naive, 0, 3);
    tcase_add_loop_test(tc, test_beam_rows, 0, 3);
    tcase_add_test(tc, test_parse_and_errors);
    suite_add_tcase(s, tc);
    tc = tcase_create("backward");
    tcase_add_loop_test(tc, test_gradients_fd, 0, 3 * N_FD_PARAMS);
    suite_add_tcase(s, tc);
    return sf_test_main(s);
}
