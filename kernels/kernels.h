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
/* C: batch x [rows, cols] row-major, leading dim ld, matrices `stride` apart;
 * C = beta * C, and C = 0 when beta == 0 (BLAS: C is not read). The K = 0 case
 * of sgemm. */
cudaError_t sf_kernel_gemm_beta(float *C, int rows, int cols, int ld, int64_t stride,
                                int batch, float beta, cudaStream_t stream);

#ifdef __cplusplus
}
#endif
#endif
