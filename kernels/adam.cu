// adam.cu: the Adam update (PyTorch's formula, as cpu_adam) over a flat
// parameter array, one grid-stride kernel. Every product and sum is rounded
// separately (no fused multiply-add), in the CPU loop's order, so the two
// backends agree to the last bit when their sqrt and division are IEEE (they are).
#include "kernels.h"
#include "launch.cuh"

// p, g, m, v: [n]; step = lr / bc1, sqrt_bc2 = sqrt(bc2), computed on the host
__global__ static void sf_adam_kernel(int64_t n, float *p, const float *g, float *m, float *v,
                                      float gscale, float step, float b1, float b2, float eps,
                                      float sqrt_bc2)
{
    const float c1 = 1.0f - b1, c2 = 1.0f - b2;
    for (int64_t i = sf_ew_first(); i < n; i += sf_ew_stride()) {
        float gi = __fmul_rn(g[i], gscale);
        float mi = __fadd_rn(__fmul_rn(b1, m[i]), __fmul_rn(c1, gi));
        float vi = __fadd_rn(__fmul_rn(b2, v[i]), __fmul_rn(__fmul_rn(c2, gi), gi));
        float den = __fadd_rn(__fdiv_rn(__fsqrt_rn(vi), sqrt_bc2), eps);
        m[i] = mi;
        v[i] = vi;
        p[i] = __fsub_rn(p[i], __fdiv_rn(__fmul_rn(step, mi), den));
    }
}

extern "C" cudaError_t sf_kernel_adam(int64_t n, float *p, const float *g, float *m, float *v,
                                      float gscale, float lr, float b1, float b2, float eps,
                                      float bc1, float bc2, cudaStream_t stream)
{
    if (n <= 0)
        return cudaSuccess;
    const float step = lr / bc1, sqrt_bc2 = sqrtf(bc2); // as cpu_adam, on the host
    sf_adam_kernel<<<sf_ew_blocks(n), SF_EW_THREADS, 0, stream>>>(n, p, g, m, v, gscale, step,
                                                                 b1, b2, eps, sqrt_bc2);
    return cudaGetLastError();
}
