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

#ifdef __cplusplus
}
#endif
#endif
