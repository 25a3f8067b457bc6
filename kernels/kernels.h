/* kernels.h: the C-callable launchers of seqfuse's own CUDA kernels. Each
 * enqueues its kernel on `stream` and returns the launch's cudaError_t
 * (cudaSuccess without launching anything when there is no work). */
#ifndef SF_KERNELS_H
#define SF_KERNELS_H

#include <stdint.h>

#include <cuda_runtime_api.h>

#ifdef __cplusplus
extern "C" {
#endif

/* x: [n]; x[i] = v */
cudaError_t sf_kernel_fill(float *x, int64_t n, float v, cudaStream_t stream);
/* x, y: [n]; y[i] = y[i] + a * x[i] (product rounded, then sum: as the CPU loop) */
cudaError_t sf_kernel_axpy(int64_t n, float a, const float *x, float *y, cudaStream_t stream);
/* x: [n]; x[i] = a * x[i] */
cudaError_t sf_kernel_scale(int64_t n, float a, float *x, cudaStream_t stream);
/* x, y, z: [n]; z[i] = x[i] * y[i]. z may be x or y (the same pointer), not a
 * shifted part of either. */
cudaError_t sf_kernel_mul(int64_t n, const float *x, const float *y, float *z,
                          cudaStream_t stream);
/* x: [rows, cols] contiguous, bias: [cols]; x[r, c] += bias[c] */
cudaError_t sf_kernel_add_rowvec(int64_t rows, int cols, const float *bias, float *x,
                                 cudaStream_t stream);
/* x: [rows, ldx] (columns [0, cols) used), out: [cols]; out[c] += (float)s_c
 * where s_c = sum over r of x[r, c] in double. Deterministic (no atomics). */
cudaError_t sf_kernel_colsum_acc(int64_t rows, int cols, const float *x, int ldx, float *out,
                                 cudaStream_t stream);
/* Blocks of sumsq's first pass; its scratch holds this many partial sums + 1. */
#define SF_KERNEL_SUMSQ_BLOCKS 1024
/* x: [n] (n may be 0), scratch: [SF_KERNEL_SUMSQ_BLOCKS + 1] device doubles.
 * scratch[0] = sum of x[i]^2 in double, after two launches (block partials,
 * then their sum). Deterministic for a given n and x (no atomics). */
cudaError_t sf_kernel_sumsq(int64_t n, const float *x, double *scratch, cudaStream_t stream);
/* C: batch x [rows, cols] row-major, leading dim ld, matrices `stride` apart;
 * C = beta * C, and C = 0 when beta == 0 (BLAS: C is not read). The K = 0 case
 * of sgemm. */
cudaError_t sf_kernel_gemm_beta(float *C, int rows, int cols, int ld, int64_t stride,
                                int batch, float beta, cudaStream_t stream);

/* ------------------------------------------------ adam.cu */

/* p, g, m, v: [n]; Adam as the CPU's cpu_adam, the same float operations in
 * the same order: gi = g*gscale; m = b1 m + (1-b1) gi; v = b2 v + (1-b2) gi gi;
 * p -= (lr/bc1) m / (sqrt(v)/sqrt(bc2) + eps). */
cudaError_t sf_kernel_adam(int64_t n, float *p, const float *g, float *m, float *v,
                           float gscale, float lr, float b1, float b2, float eps, float bc1,
                           float bc2, cudaStream_t stream);

/* ------------------------------------------------ attention.cu */

/* Rows r = b*K + j use sentence b's src_len[b] (a DEVICE array here; the
 * backend op copies the caller's host array over). */
/* scores, align: [R, S] (may alias); src_len: [R / K]. Masked softmax over
 * s < src_len[b], align 0 beyond; one block per row. */
cudaError_t sf_kernel_attn_softmax_fwd(int64_t R, int K, int S, const int32_t *src_len,
                                       const float *scores, float *align, cudaStream_t stream);
/* align, dalign, dscores: [R, S]; dscores = align * (dalign - sum_s align*dalign);
 * dscores may alias either input. One block per row. */
cudaError_t sf_kernel_attn_softmax_bwd(int64_t R, int S, const float *align,
                                       const float *dalign, float *dscores,
                                       cudaStream_t stream);
/* keys: [B, S, H]; q: [B*K, H]; b_q, v: [H]; src_len: [B]; scores: [B*K, S].
 * scores[r, s] = v . tanh(q[r] + b_q + keys[b, s]) for s < src_len[b], else 0.
 * One warp per (r, s). */
cudaError_t sf_kernel_attn_mlp_score_fwd(int B, int K, int S, int H, const int32_t *src_len,
                                         const float *keys, const float *q, const float *b_q,
                                         const float *v, float *scores, cudaStream_t stream);
/* Its backward with t = tanh(q[r] + b_q + keys[b, s]) and g = dscores[r, s] v (1 - t^2):
 * dq [B*K, H] = sum_s g (overwritten); dkeys [B, S, H] += sum_j g over the K rows of
 * sentence b, in row order (no atomics); dvpart [B*K, H] = sum_s dscores t
 * (overwritten; skipped when NULL). Positions s >= src_len[b] add nothing. */
cudaError_t sf_kernel_attn_mlp_score_bwd(int B, int K, int S, int H, const int32_t *src_len,
                                         const float *keys, const float *q, const float *b_q,
                                         const float *v, const float *dscores, float *dq,
                                         float *dkeys, float *dvpart, cudaStream_t stream);
/* x: [N, H]; bias: [H] or NULL; x = act(x + bias), act tanh if use_tanh else identity */
cudaError_t sf_kernel_bias_act_fwd(int64_t N, int H, int use_tanh, const float *bias,
                                   float *x, cudaStream_t stream);
/* y, dy, dx: [N, H] (dx may alias dy); dx = dy * act'(y), act' = 1 - y^2 for tanh */
cudaError_t sf_kernel_bias_act_bwd(int64_t N, int H, int use_tanh, const float *y,
                                   const float *dy, float *dx, cudaStream_t stream);

/* ------------------------------------------------ embed.cu: id range checks */

/* The few values an op reads back to the host in one copy: the first row whose
 * id failed a range check (SF_KERNEL_NO_BAD_ROW when none), sums and a count. */
typedef struct sf_kernel_result {
    unsigned long long bad_row;
    double sum[2];
    long long count;
} sf_kernel_result;
#define SF_KERNEL_NO_BAD_ROW 0xffffffffffffffffull

/* ids: [N] (device); res->bad_row = the smallest n with ids[n] outside [0, V), or
 * SF_KERNEL_NO_BAD_ROW (set first, by a memset on the stream). The kernels that
 * take `res` below do nothing at all when a bad row was found, so an op that
 * runs this check first writes nothing on bad input. */
cudaError_t sf_kernel_check_ids(int64_t N, const int32_t *ids, int V, sf_kernel_result *res,
                                cudaStream_t stream);

/* ------------------------------------------------ embed.cu */

/* table: [V, E]; ids: [N] (device, checked); out: [N, ldo]; out[n, 0:E] = table[ids[n]] */
cudaError_t sf_kernel_embed_fwd(int64_t N, int E, const float *table, const int32_t *ids,
                                float *out, int ldo, const sf_kernel_result *res,
                                cudaStream_t stream);
/* dout: [N, lddo]; ids: [N] (device, checked); dtable: [V, E];
 * dtable[ids[n]] += dout[n, 0:E] for ids[n] != 0. deterministic: each (id, column)
 * sums its rows in row order, bit for bit as the CPU loop (blocks own column
 * ranges and a share of the ids, scanning all rows); else one atomicAdd per
 * element (faster with many rows, order-dependent rounding). */
cudaError_t sf_kernel_embed_bwd(int64_t N, int E, const float *dout, int lddo,
                                const int32_t *ids, float *dtable, int deterministic,
                                const sf_kernel_result *res, cudaStream_t stream);

/* ------------------------------------------------ loss.cu */

/* logits, dlogits: [N, V] (may alias; dlogits NULL: forward only); targets: [N]
 * (device, checked; 0 = pad); row_sums: [N, 2] device doubles (scratch).
 * One block per row (max-subtracted, sums of exp in double), then one block
 * adds the rows in a fixed order: res->sum[0] = smoothed loss, sum[1] = NLL,
 * count = non-pad rows. Gradient as the CPU's: grad_scale (p - eps/V -
 * (1-eps) onehot), pad rows 0. */
cudaError_t sf_kernel_xent_fwd_bwd(int64_t N, int V, const float *logits,
                                   const int32_t *targets, float eps, float grad_scale,
                                   float *dlogits, double *row_sums, sf_kernel_result *res,
                                   cudaStream_t stream);
/* x, out: [N, V] (may alias); out = x - logsumexp(x) per row, one block per row */
cudaError_t sf_kernel_log_softmax(int64_t N, int V, const float *x, float *out,
                                  cudaStream_t stream);

/* ------------------------------------------------ cells.cu */

/* The fused pointwise half of a recurrent step, as backend.h's cell_fwd (cell:
 * 0 rnn, 1 gru, 2 lstm; G = 1, 3, 4 gates; Sv = 1, 4, 5). xg, hg: [B, G*h]
 * strides ldxg, ldhg; b_ih, b_hh: [G*h]; h_prev, c_prev, h_out, c_out: [B, h]
 * (c: lstm only); mask: [B] device or NULL; saved: [B, Sv*h] (masked rows not
 * written). h_out/c_out may be h_prev/c_prev (the same pointer). One thread per
 * (row, unit). cudaErrorInvalidValue for an unknown cell. */
cudaError_t sf_kernel_cell_fwd(int cell, int B, int h, const float *xg, int ldxg,
                               const float *hg, int ldhg, const float *b_ih, const float *b_hh,
                               const float *h_prev, const float *c_prev, const float *mask,
                               float *h_out, float *c_out, float *saved, cudaStream_t stream);
/* Its backward, as backend.h's cell_bwd: dxg [B, G*h] stride lddxg written (0 on
 * masked rows); dhg (gru) likewise; dh_prev [B, h] += the direct part; dc_prev
 * [B, h] (lstm, may be dc itself, or NULL) written; dc NULL = 0. */
cudaError_t sf_kernel_cell_bwd(int cell, int B, int h, const float *saved, const float *h_prev,
                               const float *c_prev, const float *mask, const float *dh,
                               const float *dc, float *dxg, int lddxg, float *dhg, int lddhg,
                               float *dh_prev, float *dc_prev, cudaStream_t stream);
/* dst[r, :w] = (accumulate ? dst[r, :w] : 0) + (idx[r] >= 0 ? src[idx[r], :w] : 0)
 * for r < n (without accumulate dst is not read: NaN is overwritten). src: [*, w]
 * stride lds; idx: [n] device; dst: [n, w] stride ldd, not overlapping src. */
cudaError_t sf_kernel_gather_rows(int n, int w, const float *src, int lds, const int32_t *idx,
                                  int accumulate, float *dst, int ldd, cudaStream_t stream);

/* ------------------------------------------------ topk.cu */

/* A beam-search candidate: score = beam_lp + log-prob, the beam (row within its
 * group) and the token (the layout of core/topk.h's sf_topk_cand). */
typedef struct sf_topk_item {
    double score;
    int32_t beam;
    int32_t token;
} sf_topk_item;

/* The backend op beam_topk on the device. G groups of rows [off[g], off[g+1])
 * (off: [G+1], off[G] = rows); x: [rows, V], log-softmaxed per row first when raw
 * (the same lse as sf_kernel_log_softmax); beam_lp: [rows] doubles. out: [G, k2]
 * best first, n_out: [G]; scratch row_cand [rows, k2], row_n [rows], head [rows];
 * bad_val: [rows]. *bad = min over NaN/+inf log-probs of r*V + v (all ones when
 * none; set by this launcher first) and bad_val[r] = that value for such rows.
 * Tokens v < 32 with bit v of ban set, and -inf log-probs, are never candidates. */
cudaError_t sf_kernel_beam_topk(int G, int64_t rows, int V, int k2, int raw, uint32_t ban,
                                const float *x, const double *beam_lp, const int32_t *off,
                                sf_topk_item *row_cand, int32_t *row_n, int32_t *head,
                                float *bad_val, unsigned long long *bad, sf_topk_item *out,
                                int32_t *n_out, cudaStream_t stream);

#ifdef __cplusplus
}
#endif
#endif
