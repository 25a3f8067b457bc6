// reduce.cu: reductions accumulated in double, as the CPU backend does: the sum
// of squares of a flat array (two passes into a scratch buffer, no atomics, so
// the result depends only on n and x) and column sums over rows (one block per
// 32 columns, added to what out already holds).
#include "kernels.h"

#define SF_RED_THREADS 256                // threads per block in sumsq's passes
#define SF_RED_WARPS (SF_RED_THREADS / 32)
#define SF_COL_X 32                       // columns per colsum block: one warp, coalesced rows
#define SF_COL_Y 16                       // row lanes per column (a power of two)

// Sum of v over a block of SF_RED_THREADS threads; the total is valid in
// thread 0 only. shared: [SF_RED_WARPS] scratch in shared memory.
__device__ static double sf_block_sum(double v, double *shared)
{
    for (int off = 16; off > 0; off >>= 1)
        v += __shfl_down_sync(0xffffffffu, v, off);
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0)
        shared[warp] = v;
    __syncthreads();
    v = 0.0;
    if (warp == 0) {
        v = lane < SF_RED_WARPS ? shared[lane] : 0.0;
        for (int off = 16; off > 0; off >>= 1)
            v += __shfl_down_sync(0xffffffffu, v, off);
    }
    return v;
}

// x: [n], partial: [gridDim.x]; partial[b] = sum of x[i]^2 over block b's
// grid-stride share of i, each square and sum in double.
__global__ static void sf_sumsq_partial_kernel(int64_t n, const float *x, double *partial)
{
    __shared__ double shared[SF_RED_WARPS];
    double acc = 0.0;
    int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        double v = (double)x[i];
        acc += v * v;
    }
    acc = sf_block_sum(acc, shared);
    if (threadIdx.x == 0)
        partial[blockIdx.x] = acc;
}

// partial: [count] (count may be 0); one block; *out = sum of partial
__global__ static void sf_sum_partials_kernel(const double *partial, int count, double *out)
{
    __shared__ double shared[SF_RED_WARPS];
    double acc = 0.0;
    for (int i = threadIdx.x; i < count; i += blockDim.x)
        acc += partial[i];
    acc = sf_block_sum(acc, shared);
    if (threadIdx.x == 0)
        *out = acc;
}

// x: [rows, ldx] (columns [0, cols) used), out: [cols]. Block b owns columns
// [32b, 32b + 32): thread (tx, ty) sums rows ty, ty + 16, ... of its column in
// double, the 16 lanes are added in shared memory, and out[c] += (float)sum.
__global__ static void sf_colsum_acc_kernel(int64_t rows, int64_t cols, const float *x,
                                            int64_t ldx, float *out)
{
    __shared__ double part[SF_COL_Y][SF_COL_X];
    int64_t c = (int64_t)blockIdx.x * SF_COL_X + threadIdx.x;
    double acc = 0.0;
    if (c < cols)
        for (int64_t r = threadIdx.y; r < rows; r += SF_COL_Y)
            acc += (double)x[r * ldx + c];
    part[threadIdx.y][threadIdx.x] = acc;
    __syncthreads();
    for (int half = SF_COL_Y / 2; half > 0; half >>= 1) {
        if ((int)threadIdx.y < half)
            part[threadIdx.y][threadIdx.x] += part[threadIdx.y + half][threadIdx.x];
        __syncthreads();
    }
    if (threadIdx.y == 0 && c < cols)
        out[c] = __fadd_rn(out[c], (float)part[0][threadIdx.x]);
}

extern "C" cudaError_t sf_kernel_sumsq(int64_t n, const float *x, double *scratch,
                                       cudaStream_t stream)
{
    int blocks = 0;
    if (n > 0) {
        int64_t want = (n - 1) / SF_RED_THREADS + 1;
        blocks = want < SF_KERNEL_SUMSQ_BLOCKS ? (int)want : SF_KERNEL_SUMSQ_BLOCKS;
        sf_sumsq_partial_kernel<<<blocks, SF_RED_THREADS, 0, stream>>>(n, x, scratch + 1);
        cudaError_t err = cudaGetLastError();
        if (err != cudaSuccess)
            return err;
    }
    sf_sum_partials_kernel<<<1, SF_RED_THREADS, 0, stream>>>(scratch + 1, blocks, scratch);
    return cudaGetLastError();
}

extern "C" cudaError_t sf_kernel_colsum_acc(int64_t rows, int cols, const float *x, int ldx,
                                            float *out, cudaStream_t stream)
{
    if (rows <= 0 || cols <= 0)
        return cudaSuccess;
    unsigned int blocks = (unsigned int)((cols - 1) / SF_COL_X + 1); // <= 2^26: fits grid.x
    sf_colsum_acc_kernel<<<blocks, dim3(SF_COL_X, SF_COL_Y), 0, stream>>>(rows, cols, x, ldx,
                                                                         out);
    return cudaGetLastError();
}
