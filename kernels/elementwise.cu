// elementwise.cu: fill, axpy, scale and mul over flat float arrays, the bias
// broadcast add_rowvec, and the beta scaling of sgemm's K = 0 case. Grid-stride
// loops with 64-bit indices: any n works with a bounded grid; n <= 0 launches nothing.
#include "kernels.h"
#include "launch.cuh"

// x: [n]
__global__ static void sf_fill_kernel(float *x, int64_t n, float v)
{
    for (int64_t i = sf_ew_first(); i < n; i += sf_ew_stride())
        x[i] = v;
}

// x, y: [n]. Unfused multiply then add, to round exactly as the CPU loop does.
__global__ static void sf_axpy_kernel(int64_t n, float a, const float *x, float *y)
{
    for (int64_t i = sf_ew_first(); i < n; i += sf_ew_stride())
        y[i] = __fadd_rn(y[i], __fmul_rn(a, x[i]));
}

// x: [n]
__global__ static void sf_scale_kernel(int64_t n, float a, float *x)
{
    for (int64_t i = sf_ew_first(); i < n; i += sf_ew_stride())
        x[i] = a * x[i];
}

// x, y, z: [n]. z may be x or y: each element is read, then written, by one thread.
__global__ static void sf_mul_kernel(int64_t n, const float *x, const float *y, float *z)
{
    for (int64_t i = sf_ew_first(); i < n; i += sf_ew_stride())
        z[i] = __fmul_rn(x[i], y[i]);
}

// x: [total / cols, cols] contiguous, bias: [cols]
__global__ static void sf_add_rowvec_kernel(int64_t total, int64_t cols, const float *bias,
                                            float *x)
{
    for (int64_t i = sf_ew_first(); i < total; i += sf_ew_stride())
        x[i] = __fadd_rn(x[i], bias[i % cols]);
}

// C: batch x [rows, cols], leading dim ld, `stride` apart; total = batch*rows*cols
__global__ static void sf_gemm_beta_kernel(float *C, int64_t rows, int64_t cols, int64_t ld,
                                           int64_t stride, int64_t total, float beta)
{
    for (int64_t i = sf_ew_first(); i < total; i += sf_ew_stride()) {
        int64_t c = i % cols, r = (i / cols) % rows, b = i / (cols * rows);
        float *p = C + b * stride + r * ld + c;
        *p = beta == 0.0f ? 0.0f : beta * *p;
    }
}

extern "C" cudaError_t sf_kernel_fill(float *x, int64_t n, float v, cudaStream_t stream)
{
    if (n <= 0)
        return cudaSuccess;
    sf_fill_kernel<<<sf_ew_blocks(n), SF_EW_THREADS, 0, stream>>>(x, n, v);
    return cudaGetLastError();
}

extern "C" cudaError_t sf_kernel_axpy(int64_t n, float a, const float *x, float *y,
                                      cudaStream_t stream)
{
    if (n <= 0)
        return cudaSuccess;
    sf_axpy_kernel<<<sf_ew_blocks(n), SF_EW_THREADS, 0, stream>>>(n, a, x, y);
    return cudaGetLastError();
}

extern "C" cudaError_t sf_kernel_scale(int64_t n, float a, float *x, cudaStream_t stream)
{
    if (n <= 0)
        return cudaSuccess;
    sf_scale_kernel<<<sf_ew_blocks(n), SF_EW_THREADS, 0, stream>>>(n, a, x);
    return cudaGetLastError();
}

extern "C" cudaError_t sf_kernel_mul(int64_t n, const float *x, const float *y, float *z,
                                     cudaStream_t stream)
{
    if (n <= 0)
        return cudaSuccess;
    sf_mul_kernel<<<sf_ew_blocks(n), SF_EW_THREADS, 0, stream>>>(n, x, y, z);
    return cudaGetLastError();
}

extern "C" cudaError_t sf_kernel_add_rowvec(int64_t rows, int cols, const float *bias,
                                            float *x, cudaStream_t stream)
{
    if (rows <= 0 || cols <= 0)
        return cudaSuccess;
    int64_t total = rows * cols;
    sf_add_rowvec_kernel<<<sf_ew_blocks(total), SF_EW_THREADS, 0, stream>>>(total, cols, bias,
                                                                             x);
    return cudaGetLastError();
}

extern "C" cudaError_t sf_kernel_gemm_beta(float *C, int rows, int cols, int ld,
                                           int64_t stride, int batch, float beta,
                                           cudaStream_t stream)
{
    int64_t total = (int64_t)rows * cols * batch;
    if (rows <= 0 || cols <= 0 || batch <= 0 || beta == 1.0f)
        return cudaSuccess;
    sf_gemm_beta_kernel<<<sf_ew_blocks(total), SF_EW_THREADS, 0, stream>>>(
        C, rows, cols, ld, stride, total, beta);
    return cudaGetLastError();
}
