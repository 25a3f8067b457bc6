// loss.cu: softmax fused with label-smoothed cross-entropy (loss sums and the
// gradient in one pass over the logits, no second [N, V] tensor), and
// log-softmax; CPU twins in src/backend/cpu/cpu_attn.c. One block per row,
// max-subtracted, sums of exp in double; the row sums are added by one block
// in a fixed order, so the results do not depend on scheduling.
#include "kernels.h"
#include "rowstat.cuh"

#define SF_LOSS_THREADS SF_ROW_THREADS

// One non-pad row: its smoothed loss and NLL into sums[0..1] (thread 0), and,
// when g (may be x) is non-NULL, g = scale * (p - eps/V - (1-eps) onehot(y)).
// x, g: [V]
__device__ static void sf_xent_row(const float *x, int V, int32_t y, float eps, float scale,
                                   float *g, double *sums, float *redf, double *redd)
{
    float m = sf_row_max(x, V, redf);
    float xy = x[y]; // read before any thread writes g (the reductions below sync)
    double sx = 0.0, se = 0.0;
    for (int v = threadIdx.x; v < V; v += blockDim.x) {
        sx += x[v];
        se += expf(x[v] - m);
    }
    sx = sf_block_reduce(sx, sf_op_add(), redd);
    se = sf_block_reduce(se, sf_op_add(), redd);
    if (threadIdx.x == 0) {
        double lse = m + log(se), nll = lse - xy;
        sums[0] = (1.0 - eps) * nll + eps * (lse - sx / V);
        sums[1] = nll;
    }
    if (!g)
        return;
    float inv = (float)(1.0 / se), off = eps / (float)V, gold = scale * (1.0f - eps);
    for (int v = threadIdx.x; v < V; v += blockDim.x) { // each thread its own elements
        float gv = scale * (expf(x[v] - m) * inv - off);
        g[v] = v == y ? gv - gold : gv;
    }
}

// logits, dlogits: [N, V]; targets: [N]; row_sums: [N, 2]
__global__ static void sf_xent_rows_kernel(int64_t N, int V, const float *logits,
                                           const int32_t *targets, float eps, float scale,
                                           float *dlogits, double *row_sums,
                                           const sf_kernel_result *res)
{
    __shared__ float redf[32];
    __shared__ double redd[32];
    if (res->bad_row != SF_KERNEL_NO_BAD_ROW)
        return; // a target failed its check: write nothing
    for (int64_t n = blockIdx.x; n < N; n += gridDim.x) {
        int32_t y = targets[n];
        float *g = dlogits ? dlogits + n * V : NULL;
        if (y != 0) {
            sf_xent_row(logits + n * V, V, y, eps, scale, g, row_sums + 2 * n, redf, redd);
            continue;
        }
        for (int v = threadIdx.x; g && v < V; v += blockDim.x)
            g[v] = 0.0f;
        if (threadIdx.x == 0)
            row_sums[2 * n] = row_sums[2 * n + 1] = 0.0;
    }
}

// One block: res->sum[k] = sum_n row_sums[n, k]; res->count = non-pad targets.
__global__ static void sf_xent_total_kernel(int64_t N, const int32_t *targets,
                                            const double *row_sums, sf_kernel_result *res)
{
    __shared__ double red[32];
    __shared__ long long redc[32];
    if (res->bad_row != SF_KERNEL_NO_BAD_ROW)
        return;
    double loss = 0.0, nll = 0.0;
    long long count = 0;
    for (int64_t n = threadIdx.x; n < N; n += blockDim.x) {
        loss += row_sums[2 * n];
        nll += row_sums[2 * n + 1];
        count += targets[n] != 0;
    }
    loss = sf_block_reduce(loss, sf_op_add(), red);
    nll = sf_block_reduce(nll, sf_op_add(), red);
    count = sf_block_reduce(count, sf_op_add(), redc);
    if (threadIdx.x == 0) {
        res->sum[0] = loss;
        res->sum[1] = nll;
        res->count = count;
    }
}

// x, out: [N, V] (may alias: all reads of a row precede its writes)
__global__ static void sf_log_softmax_kernel(int64_t N, int V, const float *x, float *out)
{
    __shared__ float redf[32];
    __shared__ double redd[32];
    for (int64_t n = blockIdx.x; n < N; n += gridDim.x) {
        const float *xr = x + n * V;
        float lse = sf_row_lse(xr, V, redf, redd);
        for (int v = threadIdx.x; v < V; v += blockDim.x)
            out[n * V + v] = xr[v] - lse;
    }
}

extern "C" cudaError_t sf_kernel_xent_fwd_bwd(int64_t N, int V, const float *logits,
                                              const int32_t *targets, float eps,
                                              float grad_scale, float *dlogits,
                                              double *row_sums, sf_kernel_result *res,
                                              cudaStream_t stream)
{
    if (N <= 0 || V <= 0)
        return cudaSuccess;
    sf_xent_rows_kernel<<<sf_row_blocks(N), SF_LOSS_THREADS, 0, stream>>>(
        N, V, logits, targets, eps, grad_scale, dlogits, row_sums, res);
    cudaError_t err = cudaGetLastError();
    if (err != cudaSuccess)
        return err;
    sf_xent_total_kernel<<<1, SF_LOSS_THREADS, 0, stream>>>(N, targets, row_sums, res);
    return cudaGetLastError();
}

extern "C" cudaError_t sf_kernel_log_softmax(int64_t N, int V, const float *x, float *out,
                                             cudaStream_t stream)
{
    if (N <= 0 || V <= 0)
        return cudaSuccess;
    sf_log_softmax_kernel<<<sf_row_blocks(N), SF_LOSS_THREADS, 0, stream>>>(N, V, x, out);
    return cudaGetLastError();
}
