/* cuda_util.h: turning failing CUDA runtime and cuBLAS calls into sf_status
 * values whose message names the call, its file:line and the CUDA error text,
 * and device allocation failures into SF_ERR_OOM with the free memory. */
#ifndef SF_BACKEND_CUDA_UTIL_H
#define SF_BACKEND_CUDA_UTIL_H

#include <stddef.h>

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include "core/status_internal.h"

/* SF_ERR_CUDA: "<func>: <call> failed at <file>:<line>: <error text> (<name>)".
 * Also clears the runtime's last-error state so later checks start clean. */
sf_status sf_cuda_fail(cudaError_t err, const char *call, const char *file, int line,
                       const char *func);
/* The same for a cuBLAS status. */
sf_status sf_cublas_fail(cublasStatus_t st, const char *call, const char *file, int line,
                         const char *func);
/* SF_ERR_OOM: how many bytes were asked for, how many are free on the current
 * device (cudaMemGetInfo), and a hint to use a smaller batch. */
sf_status sf_cuda_oom(size_t bytes, const char *device_name, const char *func);

/* Return from the enclosing sf_status function when a CUDA call fails. */
#define SF_CUDA_CHECK(call)                                                      \
    do {                                                                         \
        cudaError_t sf_cuda_err_ = (call);                                       \
        if (sf_cuda_err_ != cudaSuccess)                                         \
            return sf_cuda_fail(sf_cuda_err_, #call, __FILE__, __LINE__, __func__); \
    } while (0)

/* Return from the enclosing sf_status function when a cuBLAS call fails. */
#define SF_CUBLAS_CHECK(call)                                                    \
    do {                                                                         \
        cublasStatus_t sf_cublas_st_ = (call);                                   \
        if (sf_cublas_st_ != CUBLAS_STATUS_SUCCESS)                              \
            return sf_cublas_fail(sf_cublas_st_, #call, __FILE__, __LINE__, __func__); \
    } while (0)

#endif
