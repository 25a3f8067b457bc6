/* test_cuda_rnn.c: the CUDA backend's recurrent-cell ops (cell_fwd, cell_bwd,
 * gather_rows) against the CPU backend's, directly and through nn/rnn.h (step
 * and layer, forward and reverse, padded lengths): inputs made on the host,
 * uploaded, every output and gradient compared. Exits 77 (skipped) with no GPU. */
#include <math.h>

#include "nn/rnn.h"
#include "sf_test_cuda.h"

/* Tolerances (atol = rtol, as in sf_test_tol_ratio), and why:
 * - OP_TOL: the ops alone, same inputs on both: device expf/tanhf are within
 *   2 ulp of glibc's and nvcc fuses some a*b+c (one rounding fewer), so values
 *   of O(1) differ by a few 1e-7.
 * - FWD_TOL: through rnn.h, products by cuBLAS vs OpenBLAS (sums of <= 129
 *   terms in another order, ~1e-6) carried through up to 9 steps with weights
 *   at PyTorch's init scale 1/sqrt(h) (the recurrence does not amplify).
 * - GRAD_TOL: gradients, also summed over up to T*B = 45 rows by GEMMs. */
#define OP_TOL 1e-5
#define FWD_TOL 1e-5
#define GRAD_TOL 1e-4

static const sf_cell_type cells[3] = {SF_CELL_RNN, SF_CELL_GRU, SF_CELL_LSTM};

/* Floats per row of `saved` (backend.h). */
static int saved_cols(sf_cell_type t, int h)
{
    return (t == SF_CELL_RNN ? 1 : t == SF_CELL_GRU ? 4 : 5) * h;
}

/* ============================================================ the ops alone */

enum {
    C_XG, C_HG, C_BIH, C_BHH, C_HP, C_CP, C_MASK, /* fwd inputs */
    C_HO, C_CO, C_SAVED,                          /* fwd outputs */
    C_DH, C_DC, C_DXG, C_DHG, C_DHP, C_DCP,       /* bwd (C_DC is also dc_prev when aliased) */
    C_N
};
static const char *const cell_fields[C_N] = {
    "xg", "hg", "b_ih", "b_hh", "h_prev", "c_prev", "mask", "h_out", "c_out", "saved",
    "dh", "dc", "dxg", "dhg", "dh_prev", "dc_prev",
};

typedef enum { MASK_NONE, MASK_SOME, MASK_ALL } mask_kind;

/* pad: extra floats per row in the gate strides (0: strides = G*h). */
static const struct {
    int B, h, pad;
    mask_kind mask;
} op_shapes[] = {
    {1, 1, 0, MASK_NONE}, {1, 7, 3, MASK_ALL},       {7, 33, 5, MASK_SOME},
    {33, 7, 0, MASK_SOME}, {129, 129, 11, MASK_SOME}, {3, 1, 2, MASK_NONE},
};
#define N_OP_SHAPES ((int)(sizeof op_shapes / sizeof *op_shapes))

typedef struct op_case {
    sf_cell_type t;
    int B, h, W, ldxg, ldhg, lddxg, lddhg, masked;
    int dc_mode; /* lstm: 0 dc and dc_prev apart, 1 dc all 0 (rnn.c's "no dc"), 2 dc_prev = dc */
    char name[96];
} op_case;

static op_case op_case_of(int i)
{
    int si = i / 3;
    op_case c;
    c.t = cells[i % 3], c.B = op_shapes[si].B, c.h = op_shapes[si].h;
    c.W = sf_cell_gates(c.t) * c.h;
    int pad = op_shapes[si].pad;
    c.ldxg = c.W + pad, c.ldhg = c.W + 2 * pad, c.lddxg = c.W + 3 * pad, c.lddhg = c.W + pad;
    c.masked = op_shapes[si].mask != MASK_NONE;
    c.dc_mode = si % 3;
    snprintf(c.name, sizeof c.name, "%s B=%d h=%d pad=%d mask=%s dc_mode=%d",
             sf_cell_name(c.t), c.B, c.h, pad, c.masked ? (op_shapes[si].mask == MASK_ALL ?
             "all-0" : "some-0") : "none", c.dc_mode);
    return c;
}

/* Mask, and the values that must pass untouched or saturate cleanly: NaN in a
 * masked row and in the stride gaps (never read), +-Inf in real rows' gates. */
static void op_specials(const op_case *c, mask_kind mk, float **h)
{
    for (int b = 0; b < c->B; b++)
        h[C_MASK][b] = mk == MASK_ALL || (mk == MASK_SOME && b % 3 == 1) ? 0.0f : 1.0f;
    for (int b = 0; b < c->B; b++) {
        for (int k = c->W; k < c->ldxg; k++)
            h[C_XG][(int64_t)b * c->ldxg + k] = NAN;
        for (int k = c->W; k < c->ldhg; k++)
            h[C_HG][(int64_t)b * c->ldhg + k] = NAN;
    }
    if (mk == MASK_SOME && c->B >= 3) {
        h[C_XG][(int64_t)1 * c->ldxg] = NAN; /* row 1 is masked */
        h[C_HG][(int64_t)1 * c->ldhg + c->W - 1] = NAN;
        h[C_XG][0] = INFINITY;
        h[C_XG][(int64_t)2 * c->ldxg + c->W - 1] = -INFINITY;
    }
}

static sf_status op_fwd(sf_backend *be, const op_case *c, float **p)
{
    int lstm = c->t == SF_CELL_LSTM;
    return be->cell_fwd(be, (int)c->t, c->B, c->h, p[C_XG], c->ldxg, p[C_HG], c->ldhg,
                        p[C_BIH], p[C_BHH], p[C_HP], lstm ? p[C_CP] : NULL,
                        c->masked ? p[C_MASK] : NULL, p[C_HO], lstm ? p[C_CO] : NULL,
                        p[C_SAVED]);
}

static sf_status op_bwd(sf_backend *be, const op_case *c, float **p)
{
    int lstm = c->t == SF_CELL_LSTM, gru = c->t == SF_CELL_GRU;
    const float *dc = lstm ? p[C_DC] : NULL; /* both backends refuse an lstm without dc */
    float *dcp = !lstm ? NULL : c->dc_mode == 2 ? p[C_DC] : p[C_DCP];
    return be->cell_bwd(be, (int)c->t, c->B, c->h, p[C_SAVED], p[C_HP], lstm ? p[C_CP] : NULL,
                        c->masked ? p[C_MASK] : NULL, p[C_DH], dc, p[C_DXG], c->lddxg,
                        gru ? p[C_DHG] : NULL, c->lddhg, p[C_DHP], dcp);
}

/* _i = shape * 3 + cell. Forward, then the backward from the CPU's saved values
 * (both backends get the same inputs); whole strided buffers are compared, so
 * a write into a stride gap or a masked row's saved block fails too. */
START_TEST(test_cell_ops)
{
    op_case c = op_case_of(_i);
    const int64_t B = c.B, h = c.h;
    const int64_t size[C_N] = {
        B * c.ldxg, B * c.ldhg, c.W, c.W, B * h, B * h, B, B * h, B * h,
        B * saved_cols(c.t, c.h), B * h, B * h, B * c.lddxg, B * c.lddhg, B * h, B * h,
    };
    sf_test_bundle bd;
    sf_test_bundle_init(&bd, C_N, cell_fields, size, -2.0f, 2.0f, 500 + (uint64_t)_i);
    op_specials(&c, op_shapes[_i / 3].mask, bd.h);
    if (c.dc_mode == 1) /* the dc rnn.c fills in when its caller has none */
        memset(bd.h[C_DC], 0, (size_t)size[C_DC] * sizeof(float));
    sf_test_bundle_put(&bd);
    ck_assert_msg(op_fwd(g_cpu, &c, bd.h) == SF_OK, "%s: cpu fwd: %s", c.name, sf_last_error());
    ck_assert_msg(op_fwd(g_gpu, &c, bd.d) == SF_OK, "%s: cuda fwd: %s", c.name, sf_last_error());
    sf_test_bundle_expect(&bd, c.name, C_HO, C_SAVED + 1, OP_TOL, OP_TOL);
    ck_assert_int_eq(g_gpu->upload(g_gpu, bd.d[C_SAVED], bd.h[C_SAVED],
                                   (size_t)size[C_SAVED] * sizeof(float)), SF_OK);
    ck_assert_msg(op_bwd(g_cpu, &c, bd.h) == SF_OK, "%s: cpu bwd: %s", c.name, sf_last_error());
    ck_assert_msg(op_bwd(g_gpu, &c, bd.d) == SF_OK, "%s: cuda bwd: %s", c.name, sf_last_error());
    sf_test_bundle_expect(&bd, c.name, C_DH, C_N, OP_TOL, OP_TOL);
    sf_test_bundle_free(&bd);
}
END_TEST

/* gather_rows: n = 37 rows of w from a strided source, every 5th index -1,
 * beta 0 into NaN (overwritten) and beta 1 (added): a copy or one add per
 * element, so bit-identical. */
START_TEST(test_gather_rows)
{
    enum { N = 37, W = 129, LDS = 140, LDD = 131, ROWS = 50 };
    static const char *const names[2] = {"src", "dst"};
    const float beta = (float)_i;
    const int64_t size[2] = {(int64_t)ROWS * LDS, (int64_t)N * LDD};
    int32_t idx[N];
    for (int r = 0; r < N; r++)
        idx[r] = r % 5 == 3 ? -1 : (r * 7) % ROWS;
    sf_test_bundle bd;
    sf_test_bundle_init(&bd, 2, names, size, -1.0f, 1.0f, 600 + (uint64_t)_i);
    if (beta == 0.0f)
        for (int64_t k = 0; k < size[1]; k++)
            bd.h[1][k] = NAN;
    sf_test_bundle_put(&bd);
    int32_t *d_idx = put_i(idx, N);
    ck_assert_int_eq(g_cpu->gather_rows(g_cpu, N, W, bd.h[0], LDS, idx, beta, bd.h[1], LDD),
                     SF_OK);
    ck_assert_msg(g_gpu->gather_rows(g_gpu, N, W, bd.d[0], LDS, d_idx, beta, bd.d[1], LDD) ==
                  SF_OK, "%s", sf_last_error());
    expect_same(beta == 0.0f ? "gather_rows beta=0" : "gather_rows beta=1", "dst", bd.d[1],
                bd.h[1], size[1]);
    g_gpu->free(g_gpu, d_idx);
    sf_test_bundle_free(&bd);
}
END_TEST

/* A call the shared checks refuse (every pointer NULL: nothing is read). */
static sf_status bad_call(sf_backend *be, int k)
{
    switch (k) {
    case 0: /* unknown cell */
        return be->cell_fwd(be, 3, 2, 4, NULL, 4, NULL, 4, NULL, NULL, NULL, NULL, NULL, NULL,
                            NULL, NULL);
    case 1: /* lstm gate stride < 4h */
        return be->cell_fwd(be, 2, 2, 4, NULL, 15, NULL, 16, NULL, NULL, NULL, NULL, NULL, NULL,
                            NULL, NULL);
    case 2: /* lstm without c */
        return be->cell_fwd(be, 2, 2, 4, NULL, 16, NULL, 16, NULL, NULL, NULL, NULL, NULL, NULL,
                            NULL, NULL);
    case 3: /* gru without dhg */
        return be->cell_bwd(be, 1, 2, 4, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 12, NULL, 12,
                            NULL, NULL);
    case 4: /* h = 0 */
        return be->cell_bwd(be, 0, 2, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 1, NULL, 1,
                            NULL, NULL);
    case 5: { /* lstm without dc (c_prev only has to be non-NULL: nothing is read) */
        static const float not_read[1];
        return be->cell_bwd(be, 2, 2, 4, NULL, NULL, not_read, NULL, NULL, NULL, NULL, 16,
                            NULL, 16, NULL, NULL);
    }
    default: /* beta not 0 or 1 */
        return be->gather_rows(be, 3, 4, NULL, 4, NULL, 0.5f, NULL, 4);
    }
}
#define N_BAD_CALLS 7

/* The message past its "op_name: " prefix (which names the backend's function). */
static const char *past_prefix(const char *msg)
{
    const char *p = strstr(msg, ": ");
    return p ? p + 2 : msg;
}

/* Both backends refuse the call with SF_ERR_INVALID_ARG and the same words. */
START_TEST(test_bad_args_same_message)
{
    char cpu_msg[512];
    ck_assert_int_eq(bad_call(g_cpu, _i), SF_ERR_INVALID_ARG);
    snprintf(cpu_msg, sizeof cpu_msg, "%s", past_prefix(sf_last_error()));
    ck_assert_int_eq(bad_call(g_gpu, _i), SF_ERR_INVALID_ARG);
    ck_assert_msg(strcmp(past_prefix(sf_last_error()), cpu_msg) == 0, "bad call %d: cuda says "
                  "\"%s\", cpu \"%s\"", _i, sf_last_error(), cpu_msg);
}
END_TEST

/* ============================================================ through rnn.h */

/* Weights at PyTorch's init scale: fields [first, first + 4) (w_ih, w_hh, b_ih,
 * b_hh) from [-1, 1) to [-1/sqrt(h), 1/sqrt(h)). */
static void scale_weights(sf_test_bundle *bd, int first, int hid)
{
    float k = 1.0f / sqrtf((float)hid);
    for (int f = first; f < first + 4; f++)
        for (int64_t i = 0; i < bd->size[f]; i++)
            bd->h[f][i] *= k;
}

/* ------------------------------------------------------------------ step */

enum {
    S_X, S_WIH, S_WHH, S_BIH, S_BHH, S_HP, S_CP, S_MASK, /* inputs */
    S_HO, S_CO, S_CACHE,                                /* fwd */
    S_DH, S_DC, S_DX, S_DHP, S_DCP, S_GWIH, S_GWHH, S_GBIH, S_GBHH, /* bwd (+= where rnn.h says) */
    S_N
};
static const char *const step_fields[S_N] = {
    "x", "w_ih", "w_hh", "b_ih", "b_hh", "h_prev", "c_prev", "mask", "h_out", "c_out", "cache",
    "dh", "dc", "dx", "dh_prev", "dc_prev", "g.w_ih", "g.w_hh", "g.b_ih", "g.b_hh",
};

static const struct {
    int B, in, ldx, h, lddx;
} step_shapes[] = {{7, 5, 9, 33, 11}, {1, 1, 1, 1, 3}, {33, 17, 17, 129, 20}};
#define N_STEP_SHAPES ((int)(sizeof step_shapes / sizeof *step_shapes))

static sf_rnn_weights weights_at(float **p, int first)
{
    return (sf_rnn_weights){p[first], p[first + 1], p[first + 2], p[first + 3]};
}

static sf_rnn_grads grads_at(float **p, int first)
{
    return (sf_rnn_grads){p[first], p[first + 1], p[first + 2], p[first + 3]};
}

/* sf_rnn_step_fwd then sf_rnn_step_bwd with every output on be. */
static void run_step(sf_backend *be, sf_cell_type t, int si, int masked, float **p,
                     const char *cname)
{
    const int B = step_shapes[si].B, in = step_shapes[si].in, h = step_shapes[si].h;
    const int lstm = t == SF_CELL_LSTM;
    const float *mask = masked ? p[S_MASK] : NULL;
    sf_rnn_weights w = weights_at(p, S_WIH);
    sf_rnn_grads g = grads_at(p, S_GWIH);
    ck_assert_msg(sf_rnn_step_fwd(be, t, B, in, h, p[S_X], step_shapes[si].ldx, &w, p[S_HP],
                                  lstm ? p[S_CP] : NULL, mask, p[S_HO], lstm ? p[S_CO] : NULL,
                                  p[S_CACHE]) == SF_OK,
                  "%s: %s step_fwd: %s", cname, be->name, sf_last_error());
    ck_assert_msg(sf_rnn_step_bwd(be, t, B, in, h, p[S_X], step_shapes[si].ldx, &w, p[S_HP],
                                  lstm ? p[S_CP] : NULL, mask, p[S_CACHE], p[S_DH],
                                  lstm ? p[S_DC] : NULL, p[S_DX], step_shapes[si].lddx,
                                  p[S_DHP], lstm ? p[S_DCP] : NULL, &g) == SF_OK,
                  "%s: %s step_bwd: %s", cname, be->name, sf_last_error());
}

/* _i = (shape * 3 + cell) * 2 + masked. The caches start NaN: reading a part
 * the forward did not write shows as a NaN the CPU does not have. */
START_TEST(test_step_parity)
{
    int si = _i / 6, masked = _i % 2;
    sf_cell_type t = cells[_i / 2 % 3];
    const int64_t B = step_shapes[si].B, in = step_shapes[si].in, h = step_shapes[si].h;
    const int64_t W = sf_cell_gates(t) * h;
    const int64_t size[S_N] = {
        B * step_shapes[si].ldx, W * in, W * h, W, W, B * h, B * h, B, B * h, B * h,
        (int64_t)sf_rnn_step_cache_floats(t, (int)B, (int)h), B * h, B * h,
        B * step_shapes[si].lddx, B * h, B * h, W * in, W * h, W, W,
    };
    char cname[96];
    snprintf(cname, sizeof cname, "step %s B=%d in=%d h=%d%s", sf_cell_name(t), (int)B, (int)in,
             (int)h, masked ? " masked" : "");
    sf_test_bundle bd;
    sf_test_bundle_init(&bd, S_N, step_fields, size, -1.0f, 1.0f, 700 + (uint64_t)_i);
    scale_weights(&bd, S_WIH, (int)h);
    for (int64_t b = 0; b < B; b++)
        bd.h[S_MASK][b] = b % 3 == 1 ? 0.0f : 1.0f;
    for (int64_t k = 0; k < size[S_CACHE]; k++)
        bd.h[S_CACHE][k] = NAN;
    sf_test_bundle_put(&bd);
    run_step(g_cpu, t, si, masked, bd.h, cname);
    run_step(g_gpu, t, si, masked, bd.d, cname);
    sf_test_bundle_expect(&bd, cname, S_HO, S_CACHE, FWD_TOL, FWD_TOL);
    sf_test_bundle_expect(&bd, cname, S_DX, S_N, GRAD_TOL, GRAD_TOL);
    sf_test_bundle_free(&bd);
}
END_TEST

/* ------------------------------------------------------------------ layer */

enum {
    L_X, L_WIH, L_WHH, L_BIH, L_BHH, L_H0, L_C0, /* inputs */
    L_Y, L_HT, L_CT, L_CACHE,                    /* fwd */
    L_DY, L_DHT, L_DCT, L_DX, L_DH0, L_DC0, L_GWIH, L_GWHH, L_GBIH, L_GBHH, /* bwd */
    L_N
};
static const char *const layer_fields[L_N] = {
    "x", "w_ih", "w_hh", "b_ih", "b_hh", "h0", "c0", "y", "hT", "cT", "cache",
    "dy", "dhT", "dcT", "dx", "dh0", "dc0", "g.w_ih", "g.w_hh", "g.b_ih", "g.b_hh",
};

/* y is written into h of ldy columns (the rest must stay); lengths NULL when
 * len[0] < 0 (all T). */
static const struct {
    int T, B, in, h, ldy;
    int32_t len[5];
} layer_shapes[] = {
    {6, 5, 7, 33, 2 * 33 + 3, {6, 1, 0, 4, 5}},
    {3, 1, 2, 1, 1, {2}},
    {9, 3, 16, 129, 258, {-1}},
    {4, 2, 3, 7, 7, {0, 0}},
};
#define N_LAYER_SHAPES ((int)(sizeof layer_shapes / sizeof *layer_shapes))

typedef struct layer_case {
    sf_cell_type t;
    int si, reverse, init; /* init: h0/c0 and dhT/dcT given, else NULL */
    const int32_t *len;
    char name[96];
} layer_case;

static layer_case layer_case_of(int i)
{
    layer_case c;
    c.si = i / 12, c.t = cells[i / 4 % 3], c.reverse = i / 2 % 2, c.init = i % 2;
    c.len = layer_shapes[c.si].len[0] < 0 ? NULL : layer_shapes[c.si].len;
    snprintf(c.name, sizeof c.name, "layer %s T=%d B=%d h=%d %s%s%s", sf_cell_name(c.t),
             layer_shapes[c.si].T, layer_shapes[c.si].B, layer_shapes[c.si].h,
             c.reverse ? "reverse" : "forward", c.init ? " h0" : "", c.len ? "" : " full");
    return c;
}

static void run_layer(sf_backend *be, const layer_case *c, float **p)
{
    const int T = layer_shapes[c->si].T, B = layer_shapes[c->si].B;
    const int in = layer_shapes[c->si].in, h = layer_shapes[c->si].h;
    const int ldy = layer_shapes[c->si].ldy, lstm = c->t == SF_CELL_LSTM;
    sf_rnn_weights w = weights_at(p, L_WIH);
    sf_rnn_grads g = grads_at(p, L_GWIH);
    const float *h0 = c->init ? p[L_H0] : NULL, *c0 = c->init && lstm ? p[L_C0] : NULL;
    ck_assert_msg(sf_rnn_layer_fwd(be, c->t, T, B, in, h, p[L_X], c->len, c->reverse, &w, h0,
                                   c0, p[L_Y], ldy, p[L_HT], lstm ? p[L_CT] : NULL,
                                   p[L_CACHE]) == SF_OK,
                  "%s: %s layer_fwd: %s", c->name, be->name, sf_last_error());
    ck_assert_msg(sf_rnn_layer_bwd(be, c->t, T, B, in, h, p[L_X], c->len, c->reverse, &w, h0,
                                   c0, p[L_CACHE], p[L_DY], ldy, c->init ? p[L_DHT] : NULL,
                                   c->init && lstm ? p[L_DCT] : NULL, p[L_DX], p[L_DH0],
                                   lstm ? p[L_DC0] : NULL, &g) == SF_OK,
                  "%s: %s layer_bwd: %s", c->name, be->name, sf_last_error());
}

/* _i = (shape * 3 + cell) * 4 + reverse * 2 + init. */
START_TEST(test_layer_parity)
{
    layer_case c = layer_case_of(_i);
    const int64_t T = layer_shapes[c.si].T, B = layer_shapes[c.si].B;
    const int64_t in = layer_shapes[c.si].in, h = layer_shapes[c.si].h;
    const int64_t ldy = layer_shapes[c.si].ldy, W = sf_cell_gates(c.t) * h, TB = T * B;
    const int64_t size[L_N] = {
        TB * in, W * in, W * h, W, W, B * h, B * h, TB * ldy, B * h, B * h,
        (int64_t)sf_rnn_layer_cache_floats(c.t, (int)T, (int)B, (int)in, (int)h),
        TB * ldy, B * h, B * h, TB * in, B * h, B * h, W * in, W * h, W, W,
    };
    sf_test_bundle bd;
    sf_test_bundle_init(&bd, L_N, layer_fields, size, -1.0f, 1.0f, 800 + (uint64_t)_i);
    scale_weights(&bd, L_WIH, (int)h);
    for (int64_t k = 0; k < size[L_CACHE]; k++)
        bd.h[L_CACHE][k] = NAN;
    sf_test_bundle_put(&bd);
    run_layer(g_cpu, &c, bd.h);
    run_layer(g_gpu, &c, bd.d);
    sf_test_bundle_expect(&bd, c.name, L_Y, L_CACHE, FWD_TOL, FWD_TOL);
    sf_test_bundle_expect(&bd, c.name, L_DX, L_N, GRAD_TOL, GRAD_TOL);
    sf_test_bundle_free(&bd);
}
END_TEST

static Suite *cuda_rnn_suite(void)
{
    Suite *s = suite_create("cuda_rnn");
    TCase *tc = tcase_create("ops");
    tcase_add_loop_test(tc, test_cell_ops, 0, 3 * N_OP_SHAPES);
    tcase_add_loop_test(tc, test_gather_rows, 0, 2);
    tcase_add_loop_test(tc, test_bad_args_same_message, 0, N_BAD_CALLS);
    suite_add_tcase(s, tc);
    tc = tcase_create("nn");
    tcase_add_loop_test(tc, test_step_parity, 0, 6 * N_STEP_SHAPES);
    tcase_add_loop_test(tc, test_layer_parity, 0, 12 * N_LAYER_SHAPES);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return sf_test_cuda_main(cuda_rnn_suite); }
