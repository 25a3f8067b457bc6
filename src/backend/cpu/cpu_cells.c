/* cpu_cells.c: the CPU twins of the recurrent-cell pointwise ops (rnn, gru,
 * lstm forward and backward with the padding mask) and the row gather used to
 * reorder time-major batches. Vectorized row loops with our own exp/tanh; OpenMP
 * over rows only for very large work (see SF_CELL_OMP_MIN). */
#include <string.h>

#include "backend/cpu/cpu_math.h"
#include "backend/cpu/cpu_ops.h"

/* Rows go to OpenMP threads only above this many elements. The activations
 * vectorize (~3 ns per lstm element), and an OpenMP region between two of
 * OpenBLAS's (pthread) GEMMs costs far more than it saves: both pools spin on the
 * same 2 cores. Measured on an lstm layer T=30 B=64 h=512: threading rows from
 * 8192 elements made fwd+bwd 1.9x slower. */
#define SF_CELL_OMP_MIN (1L << 22)

enum { CELL_RNN = 0, CELL_GRU = 1, CELL_LSTM = 2 }; /* = sf_cell_type (nn/rnn.h) */

/* Gates per cell, and floats per row of `saved` (see backend.h). */
static int cell_gates(int cell) { return cell == CELL_LSTM ? 4 : cell == CELL_GRU ? 3 : 1; }
static int cell_saved(int cell) { return cell == CELL_LSTM ? 5 : cell == CELL_GRU ? 4 : 1; }

/* ---------------------------------------------------------------- forward rows */

/* h' = tanh(xg + hg + b); sv: [h] = h'. */
SF_SIMD_CLONES
static void rnn_row_fwd(int h, const float *xg, const float *hg, const float *bi,
                        const float *bh, float *hout, float *sv)
{
#pragma omp simd
    for (int j = 0; j < h; j++) {
        float y = sf_tanh(xg[j] + bi[j] + hg[j] + bh[j]);
        hout[j] = y;
        sv[j] = y;
    }
}

/* r,z = sig; n = tanh(xn + r*(hn + b_hn)); h' = (1-z) n + z h; sv: [r z n hn]. */
SF_SIMD_CLONES
static void gru_row_fwd(int h, const float *xg, const float *hg, const float *bi,
                        const float *bh, const float *hp, float *hout, float *sv)
{
#pragma omp simd
    for (int j = 0; j < h; j++) {
        float r = sigm(xg[j] + bi[j] + hg[j] + bh[j]);
        float z = sigm(xg[h + j] + bi[h + j] + hg[h + j] + bh[h + j]);
        float hn = hg[2 * h + j] + bh[2 * h + j];
        float n = sf_tanh(xg[2 * h + j] + bi[2 * h + j] + r * hn);
        hout[j] = (1.0f - z) * n + z * hp[j];
        sv[j] = r, sv[h + j] = z, sv[2 * h + j] = n, sv[3 * h + j] = hn;
    }
}

/* i,f,o = sig, g = tanh; c' = f c + i g; h' = o tanh(c'); sv: [i f g o tanh(c')]. */
SF_SIMD_CLONES
static void lstm_row_fwd(int h, const float *xg, const float *hg, const float *bi,
                         const float *bh, const float *cp, float *hout, float *cout, float *sv)
{
#pragma omp simd
    for (int j = 0; j < h; j++) {
        float i = sigm(xg[j] + bi[j] + hg[j] + bh[j]);
        float f = sigm(xg[h + j] + bi[h + j] + hg[h + j] + bh[h + j]);
        float g = sf_tanh(xg[2 * h + j] + bi[2 * h + j] + hg[2 * h + j] + bh[2 * h + j]);
        float o = sigm(xg[3 * h + j] + bi[3 * h + j] + hg[3 * h + j] + bh[3 * h + j]);
        float c = f * cp[j] + i * g;
        float tc = sf_tanh(c);
        cout[j] = c;
        hout[j] = o * tc;
        sv[j] = i, sv[h + j] = f, sv[2 * h + j] = g, sv[3 * h + j] = o, sv[4 * h + j] = tc;
    }
}

// xg, hg: [B, G*h] (strides ldxg, ldhg); h_prev, c_prev, h_out, c_out: [B, h];
// mask: [B] or NULL; saved: [B, S]
static sf_status cpu_cell_fwd(sf_backend *be, int cell, int B, int h, const float *xg,
                              int ldxg, const float *hg, int ldhg, const float *b_ih,
                              const float *b_hh, const float *h_prev, const float *c_prev,
                              const float *mask, float *h_out, float *c_out, float *saved)
{
    (void)be;
    SF_TRY(sf_backend_check_cell_fwd(__func__, cell, B, h, ldxg, ldhg, c_prev, c_out));
    const int S = cell_saved(cell) * h;
#pragma omp parallel for if ((long)B * h >= SF_CELL_OMP_MIN) schedule(static)
    for (int b = 0; b < B; b++) {
        const float *hp = h_prev + (size_t)b * h;
        float *ho = h_out + (size_t)b * h, *sv = saved + (size_t)b * S;
        const float *x = xg + (size_t)b * ldxg, *r = hg + (size_t)b * ldhg;
        if (mask && mask[b] == 0.0f) {
            memmove(ho, hp, (size_t)h * sizeof(float));
            if (cell == CELL_LSTM)
                memmove(c_out + (size_t)b * h, c_prev + (size_t)b * h, (size_t)h * sizeof(float));
            continue;
        }
        if (cell == CELL_RNN)
            rnn_row_fwd(h, x, r, b_ih, b_hh, ho, sv);
        else if (cell == CELL_GRU)
            gru_row_fwd(h, x, r, b_ih, b_hh, hp, ho, sv);
        else
            lstm_row_fwd(h, x, r, b_ih, b_hh, c_prev + (size_t)b * h, ho, c_out + (size_t)b * h,
                         sv);
    }
    return SF_OK;
}

/* ---------------------------------------------------------------- backward rows */

SF_SIMD_CLONES
static void rnn_row_bwd(int h, const float *sv, const float *dh, float *dx)
{
#pragma omp simd
    for (int j = 0; j < h; j++)
        dx[j] = dh[j] * (1.0f - sv[j] * sv[j]);
}

/* dx = [dr dz dn]; dhgr = [dr dz dn*r]; dhp += z dh. */
SF_SIMD_CLONES
static void gru_row_bwd(int h, const float *sv, const float *hp, const float *dh, float *dx,
                        float *dhgr, float *dhp)
{
    const float *r = sv, *z = sv + h, *n = sv + 2 * h, *hn = sv + 3 * h;
#pragma omp simd
    for (int j = 0; j < h; j++) {
        float dn = dh[j] * (1.0f - z[j]) * (1.0f - n[j] * n[j]);
        float dz = dh[j] * (hp[j] - n[j]) * z[j] * (1.0f - z[j]);
        float dr = dn * hn[j] * r[j] * (1.0f - r[j]);
        dx[j] = dr, dx[h + j] = dz, dx[2 * h + j] = dn;
        dhgr[j] = dr, dhgr[h + j] = dz, dhgr[2 * h + j] = dn * r[j];
        dhp[j] += dh[j] * z[j];
    }
}

/* dx = [di df dg do]; dcp = f (dc + dh o (1 - tanh(c')^2)); dcp may alias dc. */
SF_SIMD_CLONES
static void lstm_row_bwd(int h, const float *sv, const float *cp, const float *dh,
                         const float *dc, float *dx, float *dcp)
{
    const float *i = sv, *f = sv + h, *g = sv + 2 * h, *o = sv + 3 * h, *tc = sv + 4 * h;
#pragma omp simd
    for (int j = 0; j < h; j++) {
        float dct = dc[j] + dh[j] * o[j] * (1.0f - tc[j] * tc[j]);
        dx[j] = dct * g[j] * i[j] * (1.0f - i[j]);
        dx[h + j] = dct * cp[j] * f[j] * (1.0f - f[j]);
        dx[2 * h + j] = dct * i[j] * (1.0f - g[j] * g[j]);
        dx[3 * h + j] = dh[j] * tc[j] * o[j] * (1.0f - o[j]);
        dcp[j] = dct * f[j];
    }
}

/* A masked row: gradients pass straight to the previous state, none to gates. */
static void masked_row_bwd(int cell, int h, const float *dh, const float *dc, float *dx,
                           float *dhgr, float *dhp, float *dcp)
{
    int w = cell_gates(cell) * h;
    memset(dx, 0, (size_t)w * sizeof(float));
    if (dhgr)
        memset(dhgr, 0, (size_t)w * sizeof(float));
    for (int j = 0; j < h; j++)
        dhp[j] += dh[j];
    if (cell == CELL_LSTM && dcp != dc)
        memmove(dcp, dc, (size_t)h * sizeof(float));
}

// saved: [B, S]; h_prev, c_prev, dh, dc, dh_prev, dc_prev: [B, h]; mask: [B] or NULL;
// dxg, dhg: [B, G*h] (strides lddxg, lddhg)
static sf_status cpu_cell_bwd(sf_backend *be, int cell, int B, int h, const float *saved,
                              const float *h_prev, const float *c_prev, const float *mask,
                              const float *dh, const float *dc, float *dxg, int lddxg,
                              float *dhg, int lddhg, float *dh_prev, float *dc_prev)
{
    (void)be;
    SF_TRY(sf_backend_check_cell_bwd(__func__, cell, B, h, lddxg, lddhg, dhg, h_prev, c_prev));
    if (cell == CELL_LSTM && (!dc || !dc_prev))
        return SF_FAIL(SF_ERR_INVALID_ARG, "cell %d: lstm needs dc and dc_prev", cell);
    const int S = cell_saved(cell) * h;
#pragma omp parallel for if ((long)B * h >= SF_CELL_OMP_MIN) schedule(static)
    for (int b = 0; b < B; b++) {
        size_t o = (size_t)b * h;
        float *dx = dxg + (size_t)b * lddxg;
        float *dr = cell == CELL_GRU ? dhg + (size_t)b * lddhg : NULL;
        const float *dcb = dc ? dc + o : NULL;
        float *dcp = dc_prev ? dc_prev + o : NULL; /* both set for lstm */
        if (mask && mask[b] == 0.0f)
            masked_row_bwd(cell, h, dh + o, dcb, dx, dr, dh_prev + o, dcp);
        else if (cell == CELL_RNN)
            rnn_row_bwd(h, saved + (size_t)b * S, dh + o, dx);
        else if (cell == CELL_GRU)
            gru_row_bwd(h, saved + (size_t)b * S, h_prev + o, dh + o, dx, dr, dh_prev + o);
        else
            lstm_row_bwd(h, saved + (size_t)b * S, c_prev + o, dh + o, dcb, dx, dcp);
    }
    return SF_OK;
}

/* ---------------------------------------------------------------- gather */

// src: [*, w] stride lds; idx: [n]; dst: [n, w] stride ldd
static sf_status cpu_gather_rows(sf_backend *be, int n, int w, const float *src, int lds,
                                 const int32_t *idx, float beta, float *dst, int ldd)
{
    (void)be;
    SF_TRY(sf_backend_check_gather(__func__, n, w, lds, ldd, beta));
#pragma omp parallel for if ((long)n * w >= SF_CELL_OMP_MIN) schedule(static)
    for (int r = 0; r < n; r++) {
        float *d = dst + (size_t)r * ldd;
        const float *s = idx[r] >= 0 ? src + (size_t)idx[r] * lds : NULL;
        if (beta == 0.0f) {
            if (s)
                memcpy(d, s, (size_t)w * sizeof(float));
            else
                memset(d, 0, (size_t)w * sizeof(float));
        } else if (s) {
            for (int j = 0; j < w; j++)
                d[j] += s[j];
        }
    }
    return SF_OK;
}

// src: [n, w] stride lds; dst: [w], accumulated

void sf_cpu_install_cell_ops(sf_backend *be)
{
    be->cell_fwd = cpu_cell_fwd;
    be->cell_bwd = cpu_cell_bwd;
    be->gather_rows = cpu_gather_rows;
}
