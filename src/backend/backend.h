/* backend.h: the table of device operations. Only the backend knows which
 * device runs an op; model, search and training code call through this table.
 * Pointers passed to ops are device pointers of that backend (host memory for
 * the CPU backend). Matrices are row-major. */
#ifndef SF_BACKEND_BACKEND_H
#define SF_BACKEND_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "core/status_internal.h"

typedef enum sf_device_kind {
    SF_DEVICE_CPU = 0,
    SF_DEVICE_CUDA = 1,
} sf_device_kind;

typedef enum sf_trans {
    SF_NO_TRANS = 0,
    SF_TRANS = 1,
} sf_trans;

typedef struct sf_backend sf_backend;

struct sf_backend {
    const char *name;          /* "cpu", "cuda:0" */
    sf_device_kind kind;
    int device_index;
    void *impl;                /* backend-private state (handles, streams) */

    /* memory */
    sf_status (*alloc)(sf_backend *be, size_t bytes, void **out);
    void (*free)(sf_backend *be, void *ptr);
    sf_status (*upload)(sf_backend *be, void *dst_dev, const void *src_host, size_t bytes);
    sf_status (*download)(sf_backend *be, void *dst_host, const void *src_dev, size_t bytes);
    sf_status (*sync)(sf_backend *be);

    /* C[M,N] = alpha * op(A) op(B) + beta * C, row-major with leading dims.
     * op(A) is [M,K], op(B) is [K,N]. */
    sf_status (*sgemm)(sf_backend *be, sf_trans ta, sf_trans tb, int M, int N, int K,
                       float alpha, const float *A, int lda, const float *B, int ldb,
                       float beta, float *C, int ldc);
    /* Same over `batch` matrices spaced by strides (in elements). */
    sf_status (*sgemm_strided)(sf_backend *be, sf_trans ta, sf_trans tb, int M, int N,
                               int K, float alpha, const float *A, int lda, int64_t sa,
                               const float *B, int ldb, int64_t sb, float beta, float *C,
                               int ldc, int64_t sc, int batch);
    /* x[0..n) = v */
    sf_status (*fill)(sf_backend *be, float *x, int64_t n, float v);
    /* dst[0..n) = src[0..n) */
    sf_status (*copy)(sf_backend *be, float *dst, const float *src, int64_t n);
    /* y += a * x */
    sf_status (*axpy)(sf_backend *be, int64_t n, float a, const float *x, float *y);
    /* x *= a */
    sf_status (*scale)(sf_backend *be, int64_t n, float a, float *x);

    /* cells (src/nn/rnn.c): the fused pointwise half of a recurrent step, for
     * B rows of width h. cell is an sf_cell_type (nn/rnn.h): 0 rnn, 1 gru, 2 lstm;
     * G = 1, 3, 4 gates in PyTorch's order (gru r,z,n; lstm i,f,g,o).
     * saved: [B, S] per-row activations kept for the backward, S = h (rnn: h'),
     * 4h (gru: r z n, W_hn h + b_hn), 5h (lstm: i f g o, tanh(c')).
     * mask: [B] (NULL = all 1); a 0 row copies h_prev/c_prev to h_out/c_out.
     * fwd: xg [B, G*h] (x W_ih^T, no bias) row stride ldxg, hg [B, G*h] (h W_hh^T,
     *   no bias) stride ldhg, b_ih/b_hh [G*h], h_prev/c_prev [B, h] (c: lstm only,
     *   else NULL) -> h_out, c_out [B, h], saved. */
    sf_status (*cell_fwd)(sf_backend *be, int cell, int B, int h, const float *xg, int ldxg,
                          const float *hg, int ldhg, const float *b_ih, const float *b_hh,
                          const float *h_prev, const float *c_prev, const float *mask,
                          float *h_out, float *c_out, float *saved);
    /* bwd: reads saved, h_prev (gru), c_prev (lstm) [B, h], dh [B, h] grad wrt
     *   h_out, dc [B, h] wrt c_out (lstm, else NULL) -> dxg [B, G*h] stride lddxg:
     *   grad wrt the input pre-activations (= grad of x W_ih^T and of b_ih; 0 on
     *   masked rows); dhg [B, G*h] stride lddhg: grad wrt h W_hh^T (gru only, else
     *   NULL: it equals dxg); dh_prev [B, h] += the direct part (gru z*dh; dh on
     *   masked rows; the W_hh product is the caller's), must not alias dh;
     *   dc_prev [B, h] = (lstm, may alias dc). */
    sf_status (*cell_bwd)(sf_backend *be, int cell, int B, int h, const float *saved,
                          const float *h_prev, const float *c_prev, const float *mask,
                          const float *dh, const float *dc, float *dxg, int lddxg, float *dhg,
                          int lddhg, float *dh_prev, float *dc_prev);
    /* dst[r, :w] = beta * dst[r, :w] + (idx[r] >= 0 ? src[idx[r], :w] : 0) for r < n;
     * idx: [n] int32 on the device; src [*, w] stride lds, dst [n, w] stride ldd;
     * beta 0 or 1 (0 overwrites, even NaN). Reorders time-major rows. */
    sf_status (*gather_rows)(sf_backend *be, int n, int w, const float *src, int lds,
                             const int32_t *idx, float beta, float *dst, int ldd);
    /* dst[j] += sum over r < n of src[r, j], j < w; src [n, w] stride lds (bias grads). */
    sf_status (*col_sum)(sf_backend *be, int n, int w, const float *src, int lds, float *dst);

    void (*destroy)(sf_backend *be);
};

/* Open a backend. "cpu", "cuda" or "cuda:N". A CUDA request on a build or
 * machine without a GPU returns SF_ERR_NO_DEVICE with a message saying why. */
sf_status sf_backend_open(const char *spec, sf_backend **out);
/* Accepts NULL. */
void sf_backend_close(sf_backend *be);

/* The CPU backend (always built). */
sf_status sf_cpu_backend_create(sf_backend **out);
/* The CUDA backend; returns SF_ERR_UNSUPPORTED when built without CUDA. */
sf_status sf_cuda_backend_create(int device_index, sf_backend **out);
/* Whether this build has CUDA compiled in, and how many devices are visible. */
int sf_cuda_compiled(void);
int sf_cuda_device_count(void);

#endif
