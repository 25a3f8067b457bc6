/* cuda_util.c: the messages behind SF_CUDA_CHECK, SF_CUBLAS_CHECK and device
 * out-of-memory errors (see cuda_util.h). */
#include "backend/cuda/cuda_util.h"

#include <string.h>

/* "src/backend/cuda/x.c" -> "x.c": messages stay short and machine-independent. */
static const char *sf_cuda_basename(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

sf_status sf_cuda_fail(cudaError_t err, const char *call, const char *file, int line,
                       const char *func)
{
    (void)cudaGetLastError(); /* clear the (non-sticky) error so the next check is clean */
    return sf_error(SF_ERR_CUDA, "%s: %s failed at %s:%d: %s (%s)", func, call,
                    sf_cuda_basename(file), line, cudaGetErrorString(err),
                    cudaGetErrorName(err));
}

sf_status sf_cublas_fail(cublasStatus_t st, const char *call, const char *file, int line,
                         const char *func)
{
    (void)cudaGetLastError();
    return sf_error(SF_ERR_CUDA, "%s: %s failed at %s:%d: %s (%s)", func, call,
                    sf_cuda_basename(file), line, cublasGetStatusString(st),
                    cublasGetStatusName(st));
}

sf_status sf_cuda_oom(size_t bytes, const char *device_name, const char *func)
{
    (void)cudaGetLastError();
    size_t free_b = 0, total_b = 0;
    if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) {
        (void)cudaGetLastError();
        return sf_error(SF_ERR_OOM, "%s: could not allocate %zu bytes on %s (free memory "
                        "unknown); try a smaller batch", func, bytes, device_name);
    }
    return sf_error(SF_ERR_OOM, "%s: could not allocate %zu bytes (%.2f GiB) on %s: only %zu "
                    "bytes (%.2f GiB) free of %zu; try a smaller batch", func, bytes,
                    (double)bytes / (1u << 30), device_name, free_b,
                    (double)free_b / (1u << 30), total_b);
}
