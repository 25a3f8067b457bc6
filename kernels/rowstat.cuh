// rowstat.cuh: per-row statistics of logits shared by loss.cu (cross-entropy,
// log-softmax) and topk.cu (log-softmax fused into the beam step), so both get
// the same log-sum-exp bit for bit: same code, same block size.
#ifndef SF_KERNELS_ROWSTAT_CUH
#define SF_KERNELS_ROWSTAT_CUH

#include "launch.cuh"

#define SF_ROW_THREADS 256 // per row of V logits (V is thousands)

// Row max (-Inf when every value is NaN or -Inf) over x: [V]; all threads get it.
__device__ static inline float sf_row_max(const float *x, int V, float *red)
{
    float m = -INFINITY;
    for (int v = threadIdx.x; v < V; v += blockDim.x)
        m = fmaxf(m, x[v]);
    return sf_block_reduce(m, sf_op_max(), red);
}

// Sum of exp(x - m) over x: [V] in double; all threads get it.
__device__ static inline double sf_row_sumexp(const float *x, int V, float m, double *red)
{
    double se = 0.0;
    for (int v = threadIdx.x; v < V; v += blockDim.x)
        se += expf(x[v] - m);
    return sf_block_reduce(se, sf_op_add(), red);
}

// log(sum_v exp(x[v])) rounded to float, as log-softmax subtracts it (out = x -
// lse): max-subtracted, the sum in double. x: [V]; all threads get it.
__device__ static inline float sf_row_lse(const float *x, int V, float *redf, double *redd)
{
    float m = sf_row_max(x, V, redf);
    double se = sf_row_sumexp(x, V, m, redd);
    return (float)(m + log(se));
}

#endif
