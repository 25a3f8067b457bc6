/* cuda_backend.c: the backend table on one CUDA device. Every op is enqueued
 * on the backend's stream; products through cuBLAS (bound to that stream),
 * element-wise ops, Adam and reductions through kernels/{elementwise,adam,
 * reduce}.cu; the attention, loss and embedding ops are in cuda_nn_ops.c, the
 * recurrent-cell ops in cuda_cell_ops.c.
 * upload/download (and ops that return host values) return only when done. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "backend/cuda/cuda_impl.h"
#include "core/log.h"

/* ------------------------------------------------------------------ memory */

static sf_status cuda_alloc(sf_backend *be, size_t bytes, void **out)
{
    *out = NULL;
    if (bytes == 0)
        return SF_OK;
    SF_TRY(cuda_enter(be));
    void *p = NULL;
    cudaError_t err = cudaMalloc(&p, bytes);
    if (err == cudaErrorMemoryAllocation)
        return sf_cuda_oom(bytes, be->name, __func__);
    SF_CUDA_CHECK(err);
    /* zeroed, as the CPU backend's memory is */
    err = cudaMemsetAsync(p, 0, bytes, cuda_impl(be)->stream);
    if (err != cudaSuccess) {
        sf_status st = sf_cuda_fail(err, "cudaMemsetAsync(p, 0, bytes, stream)", __FILE__,
                                    __LINE__, __func__);
        (void)cudaFree(p);
        return st;
    }
    *out = p;
    return SF_OK;
}

static void cuda_free(sf_backend *be, void *ptr)
{
    if (!ptr)
        return;
    cudaError_t err = cudaSetDevice(be->device_index);
    if (err == cudaSuccess)
        err = cudaFree(ptr);
    if (err != cudaSuccess) {
        sf_log_warn("%s: cudaFree failed: %s", be->name, cudaGetErrorString(err));
        (void)cudaGetLastError();
    }
}

/* A copy on the backend's stream, complete when this returns. */
static sf_status cuda_memcpy_sync(sf_backend *be, void *dst, const void *src, size_t bytes,
                                  enum cudaMemcpyKind kind)
{
    if (bytes == 0)
        return SF_OK;
    SF_TRY(cuda_enter(be));
    cudaStream_t s = cuda_impl(be)->stream;
    SF_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, kind, s));
    SF_CUDA_CHECK(cudaStreamSynchronize(s));
    return SF_OK;
}

static sf_status cuda_upload(sf_backend *be, void *dst_dev, const void *src_host, size_t bytes)
{
    return cuda_memcpy_sync(be, dst_dev, src_host, bytes, cudaMemcpyHostToDevice);
}

static sf_status cuda_download(sf_backend *be, void *dst_host, const void *src_dev,
                               size_t bytes)
{
    return cuda_memcpy_sync(be, dst_host, src_dev, bytes, cudaMemcpyDeviceToHost);
}

static sf_status cuda_sync(sf_backend *be)
{
    SF_TRY(cuda_enter(be));
    SF_CUDA_CHECK(cudaStreamSynchronize(cuda_impl(be)->stream));
    return SF_OK;
}

/* ---------------------------------------------------------------- products */

static cublasOperation_t cuda_op(sf_trans t)
{
    return t == SF_TRANS ? CUBLAS_OP_T : CUBLAS_OP_N;
}

/* Row-major C[M,N] = op(A) op(B) is column-major C^T[N,M] = op(B)^T op(A)^T, so
 * cuBLAS gets B first, A second and (N, M, K). With K == 0 there is no product:
 * C = beta * C (C = 0 when beta == 0), done by our kernel, as BLAS defines it. */
static sf_status cuda_sgemm_strided(sf_backend *be, sf_trans ta, sf_trans tb, int M, int N,
                                    int K, float alpha, const float *A, int lda, int64_t sa,
                                    const float *B, int ldb, int64_t sb, float beta, float *C,
                                    int ldc, int64_t sc, int batch)
{
    if (batch < 0)
        return SF_FAIL(SF_ERR_INVALID_ARG, "negative batch %d", batch);
    if (batch == 0)
        return SF_OK;
    SF_TRY(sf_backend_check_gemm(ta, tb, M, N, K, lda, ldb, ldc));
    if (M == 0 || N == 0)
        return SF_OK;
    SF_TRY(cuda_enter(be));
    cuda_backend *cb = cuda_impl(be);
    if (K == 0) {
        SF_CUDA_CHECK(sf_kernel_gemm_beta(C, M, N, ldc, sc, batch, beta, cb->stream));
        return SF_OK;
    }
    if (batch == 1) {
        SF_CUBLAS_CHECK(cublasSgemm(cb->blas, cuda_op(tb), cuda_op(ta), N, M, K, &alpha, B,
                                    ldb, A, lda, &beta, C, ldc));
        return SF_OK;
    }
    SF_CUBLAS_CHECK(cublasSgemmStridedBatched(cb->blas, cuda_op(tb), cuda_op(ta), N, M, K,
                                              &alpha, B, ldb, (long long)sb, A, lda,
                                              (long long)sa, &beta, C, ldc, (long long)sc,
                                              batch));
    return SF_OK;
}

static sf_status cuda_sgemm(sf_backend *be, sf_trans ta, sf_trans tb, int M, int N, int K,
                            float alpha, const float *A, int lda, const float *B, int ldb,
                            float beta, float *C, int ldc)
{
    return cuda_sgemm_strided(be, ta, tb, M, N, K, alpha, A, lda, 0, B, ldb, 0, beta, C, ldc,
                              0, 1);
}

/* ------------------------------------------------------------- elementwise */

/* Whether the rows x cols blocks at a (row stride lda) and b (row stride ldb)
 * may share an element. Exact for one row or equal strides (then the blocks
 * interleave untouched when b's columns, taken modulo the stride, miss
 * [0, cols)); with different strides any overlap of their spans counts. */
static int cuda_blocks_overlap(const float *a, int64_t lda, const float *b, int64_t ldb,
                               int64_t rows, int64_t cols)
{
    uintptr_t ua = (uintptr_t)a, ub = (uintptr_t)b;
    uintptr_t la = (uintptr_t)((rows - 1) * lda + cols) * sizeof(float);
    uintptr_t lb = (uintptr_t)((rows - 1) * ldb + cols) * sizeof(float);
    if (!(ua < ub + lb && ub < ua + la))
        return 0;
    if (rows == 1 || lda != ldb || (ub - ua) % sizeof(float) != 0)
        return 1;
    int64_t d = (int64_t)(intptr_t)(ub - ua) / (int64_t)sizeof(float);
    int64_t rem = (d % lda + lda) % lda;
    return !(rem >= cols && rem + cols <= lda);
}

/* rows x cols with row stride ld: sizes not negative, ld >= cols when rows > 1. */
static sf_status cuda_check_rows(const char *func, int64_t rows, int cols, const char *ld_name,
                                 int ld)
{
    if (rows < 0 || cols < 0 || (rows > 1 && ld < cols))
        return sf_error(SF_ERR_INVALID_ARG, "%s: bad shape rows=%lld cols=%d %s=%d (need "
                        "rows >= 0, cols >= 0 and %s >= cols)", func, (long long)rows, cols,
                        ld_name, ld, ld_name);
    return SF_OK;
}

static sf_status cuda_fill(sf_backend *be, float *x, int64_t n, float v)
{
    if (n <= 0)
        return SF_OK;
    SF_TRY(cuda_enter(be));
    SF_CUDA_CHECK(sf_kernel_fill(x, n, v, cuda_impl(be)->stream));
    return SF_OK;
}

/* dst and src may be the same array, but may not partly overlap (the CPU
 * backend's memmove allows it; a device copy does not). */
static sf_status cuda_copy(sf_backend *be, float *dst, const float *src, int64_t n)
{
    if (n <= 0 || dst == src)
        return SF_OK;
    if (cuda_blocks_overlap(dst, n, src, n, 1, n))
        return SF_FAIL(SF_ERR_INVALID_ARG, "the %lld-float ranges at dst and src overlap "
                       "(offset %lld); copy through a separate buffer", (long long)n,
                       (long long)(dst - src));
    SF_TRY(cuda_enter(be));
    SF_CUDA_CHECK(cudaMemcpyAsync(dst, src, (size_t)n * sizeof(float), cudaMemcpyDeviceToDevice,
                                  cuda_impl(be)->stream));
    return SF_OK;
}

static sf_status cuda_axpy(sf_backend *be, int64_t n, float a, const float *x, float *y)
{
    if (n <= 0)
        return SF_OK;
    SF_TRY(cuda_enter(be));
    SF_CUDA_CHECK(sf_kernel_axpy(n, a, x, y, cuda_impl(be)->stream));
    return SF_OK;
}

static sf_status cuda_scale(sf_backend *be, int64_t n, float a, float *x)
{
    if (n <= 0)
        return SF_OK;
    SF_TRY(cuda_enter(be));
    SF_CUDA_CHECK(sf_kernel_scale(n, a, x, cuda_impl(be)->stream));
    return SF_OK;
}

static sf_status cuda_mul(sf_backend *be, int64_t n, const float *x, const float *y, float *z)
{
    if (n <= 0)
        return SF_OK;
    SF_TRY(cuda_enter(be));
    SF_CUDA_CHECK(sf_kernel_mul(n, x, y, z, cuda_impl(be)->stream));
    return SF_OK;
}

/* One device-to-device 2D copy; blocks that share elements are refused (the
 * CPU's per-row memmove allows it, a device copy does not), as in cuda_copy. */
static sf_status cuda_copy2d(sf_backend *be, int64_t rows, int cols, const float *src, int lds,
                             float *dst, int ldd)
{
    SF_TRY(cuda_check_rows(__func__, rows, cols, "lds", lds));
    SF_TRY(cuda_check_rows(__func__, rows, cols, "ldd", ldd));
    if (rows == 0 || cols == 0 || (dst == src && lds == ldd))
        return SF_OK;
    if (cuda_blocks_overlap(dst, ldd, src, lds, rows, cols))
        return SF_FAIL(SF_ERR_INVALID_ARG, "the %lld x %d blocks at dst (ldd=%d) and src "
                       "(lds=%d) overlap (offset %lld); copy through a separate buffer",
                       (long long)rows, cols, ldd, lds, (long long)(dst - src));
    SF_TRY(cuda_enter(be));
    size_t width = (size_t)cols * sizeof(float); /* one row: the pitches do not matter */
    size_t spitch = rows > 1 ? (size_t)lds * sizeof(float) : width;
    size_t dpitch = rows > 1 ? (size_t)ldd * sizeof(float) : width;
    SF_CUDA_CHECK(cudaMemcpy2DAsync(dst, dpitch, src, spitch, width, (size_t)rows,
                                    cudaMemcpyDeviceToDevice, cuda_impl(be)->stream));
    return SF_OK;
}

static sf_status cuda_add_rowvec(sf_backend *be, int64_t rows, int cols, const float *bias,
                                 float *x)
{
    SF_TRY(cuda_check_rows(__func__, rows, cols, "ld", cols)); /* contiguous */
    if (rows == 0 || cols == 0)
        return SF_OK;
    SF_TRY(cuda_enter(be));
    SF_CUDA_CHECK(sf_kernel_add_rowvec(rows, cols, bias, x, cuda_impl(be)->stream));
    return SF_OK;
}

/* ------------------------------------------------------------- reductions */

static sf_status cuda_colsum_acc(sf_backend *be, int64_t rows, int cols, const float *x,
                                 int ldx, float *out)
{
    SF_TRY(cuda_check_rows(__func__, rows, cols, "ldx", ldx));
    if (rows == 0 || cols == 0)
        return SF_OK;
    SF_TRY(cuda_enter(be));
    SF_CUDA_CHECK(sf_kernel_colsum_acc(rows, cols, x, ldx, out, cuda_impl(be)->stream));
    return SF_OK;
}

/* out: host. Waits for the stream (the value is needed on the host). */
static sf_status cuda_sumsq(sf_backend *be, int64_t n, const float *x, double *out)
{
    *out = 0.0;
    if (n <= 0)
        return SF_OK;
    SF_TRY(cuda_enter(be));
    cuda_backend *cb = cuda_impl(be);
    SF_CUDA_CHECK(sf_kernel_sumsq(n, x, cb->scratch, cb->stream));
    return cuda_memcpy_sync(be, out, cb->scratch, sizeof *out, cudaMemcpyDeviceToHost);
}

/* ------------------------------------------------------------------ adam */

// p, g, m, v: [n]
static sf_status cuda_adam(sf_backend *be, int64_t n, float *p, const float *g, float *m,
                           float *v, float gscale, float lr, float b1, float b2, float eps,
                           float bc1, float bc2)
{
    if (n <= 0)
        return SF_OK;
    SF_TRY(cuda_enter(be));
    SF_CUDA_CHECK(sf_kernel_adam(n, p, g, m, v, gscale, lr, b1, b2, eps, bc1, bc2,
                                 cuda_impl(be)->stream));
    return SF_OK;
}

/* --------------------------------------------------------------- lifetime */

/* Releases whatever cuda_init managed to create; errors only warn. */
static void cuda_destroy(sf_backend *be)
{
    cuda_backend *cb = cuda_impl(be);
    if (cudaSetDevice(be->device_index) == cudaSuccess) {
        if (cb->stream)
            (void)cudaStreamSynchronize(cb->stream);
        if (cb->scratch && cudaFree(cb->scratch) != cudaSuccess)
            sf_log_warn("%s: cudaFree(scratch) failed", be->name);
        if (cb->result && cudaFree(cb->result) != cudaSuccess)
            sf_log_warn("%s: cudaFree(result) failed", be->name);
        if (cb->iota && cudaFree(cb->iota) != cudaSuccess)
            sf_log_warn("%s: cudaFree(iota) failed", be->name);
        sf_cuda_graph_release(cb);
        sf_cuda_cudnn_release(cb);
        for (int i = 0; i < CUDA_WORK_SLOTS; i++)
            if (cb->work[i] && cudaFree(cb->work[i]) != cudaSuccess)
                sf_log_warn("%s: cudaFree(work[%d]) failed", be->name, i);
        if (cb->blas && cublasDestroy(cb->blas) != CUBLAS_STATUS_SUCCESS)
            sf_log_warn("%s: cublasDestroy failed", be->name);
        if (cb->stream && cudaStreamDestroy(cb->stream) != cudaSuccess)
            sf_log_warn("%s: cudaStreamDestroy failed", be->name);
    }
    (void)cudaGetLastError();
    free(cb->len_host);
    free(cb->topk_host);
    free(cb);
}

static sf_status cuda_init(cuda_backend *cb)
{
    SF_CUDA_CHECK(cudaSetDevice(cb->be.device_index));
    SF_CUDA_CHECK(cudaStreamCreate(&cb->stream));
    SF_CUBLAS_CHECK(cublasCreate(&cb->blas));
    SF_CUBLAS_CHECK(cublasSetStream(cb->blas, cb->stream));
    SF_CUBLAS_CHECK(cublasSetMathMode(cb->blas, CUBLAS_DEFAULT_MATH));
    SF_CUDA_CHECK(cudaMalloc((void **)&cb->scratch,
                             (SF_KERNEL_SUMSQ_BLOCKS + 1) * sizeof(double)));
    SF_CUDA_CHECK(cudaMalloc((void **)&cb->result, sizeof *cb->result));
    return SF_OK;
}

static void cuda_fill_table(sf_backend *be)
{
    be->kind = SF_DEVICE_CUDA;
    be->alloc = cuda_alloc;
    be->free = cuda_free;
    be->upload = cuda_upload;
    be->download = cuda_download;
    be->sync = cuda_sync;
    be->sgemm = cuda_sgemm;
    be->sgemm_strided = cuda_sgemm_strided;
    be->fill = cuda_fill;
    be->copy = cuda_copy;
    be->axpy = cuda_axpy;
    be->scale = cuda_scale;
    be->mul = cuda_mul;
    be->copy2d = cuda_copy2d;
    be->add_rowvec = cuda_add_rowvec;
    be->colsum_acc = cuda_colsum_acc;
    be->sumsq = cuda_sumsq;
    be->adam = cuda_adam;
    be->destroy = cuda_destroy;
    sf_cuda_install_nn_ops(be);
    sf_cuda_install_cell_ops(be);
    sf_cuda_install_topk_op(be);
}

sf_status sf_cuda_backend_create(int device_index, sf_backend **out)
{
    *out = NULL;
    int count = 0;
    cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess || count <= 0) {
        (void)cudaGetLastError();
        return SF_FAIL(SF_ERR_NO_DEVICE, "no CUDA device found (cudaGetDeviceCount: %s); use "
                       "--device cpu", err != cudaSuccess ? cudaGetErrorString(err)
                                                          : "0 devices");
    }
    if (device_index < 0 || device_index >= count)
        return SF_FAIL(SF_ERR_INVALID_ARG, "no device cuda:%d: %d CUDA device(s) visible, "
                       "use cuda:0 to cuda:%d", device_index, count, count - 1);
    cuda_backend *cb = calloc(1, sizeof *cb);
    if (!cb)
        return SF_FAIL(SF_ERR_OOM, "could not allocate the CUDA backend");
    snprintf(cb->name, sizeof cb->name, "cuda:%d", device_index);
    cb->be.name = cb->name;
    cb->be.device_index = device_index;
    cb->be.impl = cb;
    cb->deterministic = 1; /* reproducible runs by default */
    cuda_fill_table(&cb->be);
    sf_status st = cuda_init(cb);
    if (st == SF_OK)
        st = sf_backend_check_complete(&cb->be);
    if (st != SF_OK) {
        cuda_destroy(&cb->be);
        return sf_error_prefix(st, "opening cuda:%d", device_index);
    }
    *out = &cb->be;
    return SF_OK;
}

sf_status sf_cuda_backend_set_tf32(sf_backend *be, int on)
{
    if (!be || be->kind != SF_DEVICE_CUDA || !be->impl)
        return SF_FAIL(SF_ERR_INVALID_ARG, "TF32 is a CUDA setting; backend %s is not CUDA",
                       be && be->name ? be->name : "(null)");
    cuda_backend *cb = cuda_impl(be);
    SF_TRY(cuda_enter(be));
    SF_CUBLAS_CHECK(cublasSetMathMode(cb->blas, on ? CUBLAS_TF32_TENSOR_OP_MATH
                                                   : CUBLAS_DEFAULT_MATH));
    cb->allow_tf32 = on ? 1 : 0;
    return SF_OK;
}

sf_status sf_cuda_backend_set_deterministic(sf_backend *be, int on)
{
    if (!be || be->kind != SF_DEVICE_CUDA || !be->impl)
        return SF_FAIL(SF_ERR_INVALID_ARG, "deterministic mode is a CUDA setting; backend %s "
                       "is not CUDA", be && be->name ? be->name : "(null)");
    cuda_impl(be)->deterministic = on ? 1 : 0;
    return SF_OK;
}

int sf_cuda_compiled(void) { return 1; }

int sf_cuda_device_count(void)
{
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess) {
        (void)cudaGetLastError();
        return 0;
    }
    return count > 0 ? count : 0;
}
