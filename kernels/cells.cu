// cells.cu: the fused pointwise half of a recurrent step (CPU twins in
// src/backend/cpu/cpu_cells.c): rnn, gru and lstm gates, state update, padding
// mask and saved activations, their backward, and the row gather of rnn.c.
// One thread per (row, hidden unit), grid-stride; consecutive threads take
// consecutive units of a row, so every gate slice is read and written coalesced.
// Accuracy first: expf/tanhf (no fast-math intrinsics), IEEE division; the
// sums keep the CPU's order, but nvcc may fuse a*b+c (one rounding fewer).
#include <type_traits>

#include "kernels.h"
#include "launch.cuh"

enum { SF_KCELL_RNN = 0, SF_KCELL_GRU = 1, SF_KCELL_LSTM = 2 }; // = sf_cell_type

// Gates per cell and floats per row of `saved` (in units of h), as backend.h.
template <int CELL> struct sf_cell_dims {
    static constexpr int gates = CELL == SF_KCELL_LSTM ? 4 : CELL == SF_KCELL_GRU ? 3 : 1;
    static constexpr int saved = CELL == SF_KCELL_LSTM ? 5 : CELL == SF_KCELL_GRU ? 4 : 1;
};

__device__ static inline float sf_sigm(float x) { return 1.0f / (1.0f + expf(-x)); }

// Pre-activation of gate g at unit j, summed in the CPU's order: x + b_ih + h + b_hh.
__device__ static inline float sf_gate_in(const float *x, const float *r, const float *bi,
                                          const float *bh, int g, int h, int j)
{
    int k = g * h + j;
    return x[k] + bi[k] + r[k] + bh[k];
}

// xg: [B, G*h] stride ldxg; hg: [B, G*h] stride ldhg; b_ih, b_hh: [G*h];
// h_prev, c_prev, h_out, c_out: [B, h] (c: lstm); mask: [B] or NULL; saved: [B, Sv*h]
template <int CELL>
__global__ static void sf_cell_fwd_kernel(int B, int h, const float *xg, int ldxg,
                                          const float *hg, int ldhg, const float *b_ih,
                                          const float *b_hh, const float *h_prev,
                                          const float *c_prev, const float *mask,
                                          float *h_out, float *c_out, float *saved)
{
    const int64_t n = (int64_t)B * h, S = (int64_t)sf_cell_dims<CELL>::saved * h;
    for (int64_t i = sf_ew_first(); i < n; i += sf_ew_stride()) {
        int64_t b = i / h;
        int j = (int)(i - b * h);
        if (mask && mask[b] == 0.0f) { // padding: the state passes through unchanged
            h_out[i] = h_prev[i];
            if (CELL == SF_KCELL_LSTM)
                c_out[i] = c_prev[i];
            continue;
        }
        const float *x = xg + b * ldxg, *r = hg + b * ldhg;
        float *sv = saved + b * S + j;
        if (CELL == SF_KCELL_RNN) {
            float y = tanhf(sf_gate_in(x, r, b_ih, b_hh, 0, h, j));
            h_out[i] = y;
            sv[0] = y;
        } else if (CELL == SF_KCELL_GRU) {
            float rg = sf_sigm(sf_gate_in(x, r, b_ih, b_hh, 0, h, j));
            float z = sf_sigm(sf_gate_in(x, r, b_ih, b_hh, 1, h, j));
            float hn = r[2 * h + j] + b_hh[2 * h + j];
            float nn = tanhf(x[2 * h + j] + b_ih[2 * h + j] + rg * hn);
            h_out[i] = (1.0f - z) * nn + z * h_prev[i];
            sv[0] = rg, sv[h] = z, sv[2 * h] = nn, sv[3 * h] = hn;
        } else {
            float ig = sf_sigm(sf_gate_in(x, r, b_ih, b_hh, 0, h, j));
            float f = sf_sigm(sf_gate_in(x, r, b_ih, b_hh, 1, h, j));
            float g = tanhf(sf_gate_in(x, r, b_ih, b_hh, 2, h, j));
            float o = sf_sigm(sf_gate_in(x, r, b_ih, b_hh, 3, h, j));
            float c = f * c_prev[i] + ig * g;
            float tc = tanhf(c);
            c_out[i] = c;
            h_out[i] = o * tc;
            sv[0] = ig, sv[h] = f, sv[2 * h] = g, sv[3 * h] = o, sv[4 * h] = tc;
        }
    }
}

// saved: [B, Sv*h]; h_prev, c_prev, dh, dc, dh_prev, dc_prev: [B, h]; mask: [B] or
// NULL; dxg, dhg: [B, G*h] strides lddxg, lddhg (dhg: gru). dc and dc_prev may be
// one array: each element is read, then written, by the same thread.
template <int CELL>
__global__ static void sf_cell_bwd_kernel(int B, int h, const float *saved,
                                          const float *h_prev, const float *c_prev,
                                          const float *mask, const float *dh, const float *dc,
                                          float *dxg, int lddxg, float *dhg, int lddhg,
                                          float *dh_prev, float *dc_prev)
{
    const int G = sf_cell_dims<CELL>::gates;
    const int64_t n = (int64_t)B * h, S = (int64_t)sf_cell_dims<CELL>::saved * h;
    for (int64_t i = sf_ew_first(); i < n; i += sf_ew_stride()) {
        int64_t b = i / h;
        int j = (int)(i - b * h);
        float *dx = dxg + b * lddxg + j;
        float *dr = CELL == SF_KCELL_GRU ? dhg + b * lddhg + j : nullptr;
        float dhi = dh[i], dci = CELL == SF_KCELL_LSTM && dc ? dc[i] : 0.0f;
        if (mask && mask[b] == 0.0f) { // padding: gradients pass straight to the state
            for (int g = 0; g < G; g++) {
                dx[g * h] = 0.0f;
                if (CELL == SF_KCELL_GRU)
                    dr[g * h] = 0.0f;
            }
            dh_prev[i] += dhi;
            if (CELL == SF_KCELL_LSTM && dc_prev)
                dc_prev[i] = dci;
            continue;
        }
        const float *sv = saved + b * S + j;
        if (CELL == SF_KCELL_RNN) {
            dx[0] = dhi * (1.0f - sv[0] * sv[0]);
        } else if (CELL == SF_KCELL_GRU) {
            float r = sv[0], z = sv[h], nn = sv[2 * h], hn = sv[3 * h];
            float dn = dhi * (1.0f - z) * (1.0f - nn * nn);
            float dz = dhi * (h_prev[i] - nn) * z * (1.0f - z);
            float drg = dn * hn * r * (1.0f - r);
            dx[0] = drg, dx[h] = dz, dx[2 * h] = dn;
            dr[0] = drg, dr[h] = dz, dr[2 * h] = dn * r;
            dh_prev[i] += dhi * z;
        } else {
            float ig = sv[0], f = sv[h], g = sv[2 * h], o = sv[3 * h], tc = sv[4 * h];
            float dct = dci + dhi * o * (1.0f - tc * tc);
            dx[0] = dct * g * ig * (1.0f - ig);
            dx[h] = dct * c_prev[i] * f * (1.0f - f);
            dx[2 * h] = dct * ig * (1.0f - g * g);
            dx[3 * h] = dhi * tc * o * (1.0f - o);
            if (dc_prev)
                dc_prev[i] = dct * f;
        }
    }
}

// src: [*, w] stride lds; idx: [n]; dst: [n, w] stride ldd; total = n*w
__global__ static void sf_gather_rows_kernel(int64_t total, int w, const float *src, int lds,
                                             const int32_t *idx, int accumulate, float *dst,
                                             int ldd)
{
    for (int64_t i = sf_ew_first(); i < total; i += sf_ew_stride()) {
        int64_t r = i / w;
        int c = (int)(i - r * w);
        int32_t from = idx[r];
        float *d = dst + r * ldd + c;
        if (!accumulate)
            *d = from >= 0 ? src[(int64_t)from * lds + c] : 0.0f;
        else if (from >= 0)
            *d += src[(int64_t)from * lds + c];
    }
}

// Calls launch(std::integral_constant<int, CELL>()) for the run-time cell type;
// cudaErrorInvalidValue for an unknown one, else the launch's error.
template <typename F> static cudaError_t sf_cell_launch(int cell, F launch)
{
    if (cell == SF_KCELL_RNN)
        launch(std::integral_constant<int, SF_KCELL_RNN>());
    else if (cell == SF_KCELL_GRU)
        launch(std::integral_constant<int, SF_KCELL_GRU>());
    else if (cell == SF_KCELL_LSTM)
        launch(std::integral_constant<int, SF_KCELL_LSTM>());
    else
        return cudaErrorInvalidValue;
    return cudaGetLastError();
}

extern "C" cudaError_t sf_kernel_cell_fwd(int cell, int B, int h, const float *xg, int ldxg,
                                          const float *hg, int ldhg, const float *b_ih,
                                          const float *b_hh, const float *h_prev,
                                          const float *c_prev, const float *mask,
                                          float *h_out, float *c_out, float *saved,
                                          cudaStream_t stream)
{
    int64_t n = (int64_t)B * h;
    if (n <= 0)
        return cudaSuccess;
    return sf_cell_launch(cell, [&](auto c) {
        sf_cell_fwd_kernel<decltype(c)::value><<<sf_ew_blocks(n), SF_EW_THREADS, 0, stream>>>(
            B, h, xg, ldxg, hg, ldhg, b_ih, b_hh, h_prev, c_prev, mask, h_out, c_out, saved);
    });
}

extern "C" cudaError_t sf_kernel_cell_bwd(int cell, int B, int h, const float *saved,
                                          const float *h_prev, const float *c_prev,
                                          const float *mask, const float *dh, const float *dc,
                                          float *dxg, int lddxg, float *dhg, int lddhg,
                                          float *dh_prev, float *dc_prev, cudaStream_t stream)
{
    int64_t n = (int64_t)B * h;
    if (n <= 0)
        return cudaSuccess;
    return sf_cell_launch(cell, [&](auto c) {
        sf_cell_bwd_kernel<decltype(c)::value><<<sf_ew_blocks(n), SF_EW_THREADS, 0, stream>>>(
            B, h, saved, h_prev, c_prev, mask, dh, dc, dxg, lddxg, dhg, lddhg, dh_prev,
            dc_prev);
    });
}

extern "C" cudaError_t sf_kernel_gather_rows(int n, int w, const float *src, int lds,
                                             const int32_t *idx, int accumulate, float *dst,
                                             int ldd, cudaStream_t stream)
{
    int64_t total = (int64_t)n * w;
    if (total <= 0)
        return cudaSuccess;
    sf_gather_rows_kernel<<<sf_ew_blocks(total), SF_EW_THREADS, 0, stream>>>(
        total, w, src, lds, idx, accumulate, dst, ldd);
    return cudaGetLastError();
}
