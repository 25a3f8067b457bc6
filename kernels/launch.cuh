// launch.cuh: what seqfuse's kernel files share: grid sizes for grid-stride
// loops (over flat elements, or one block per row), and block- and warp-wide
// reductions whose order is fixed by the launch shape (deterministic).
#ifndef SF_KERNELS_LAUNCH_CUH
#define SF_KERNELS_LAUNCH_CUH

#include <stdint.h>

#define SF_EW_THREADS 256
#define SF_EW_MAX_BLOCKS 4096   // ~4 waves of resident blocks on a 132-SM H100
#define SF_ROW_MAX_BLOCKS 65535 // one block per row up to this many rows, then they stride

// Blocks for n elements: enough to cover n once, capped (the loop strides on).
static inline unsigned int sf_ew_blocks(int64_t n)
{
    int64_t blocks = (n - 1) / SF_EW_THREADS + 1; // n > 0; no overflow near INT64_MAX
    return (unsigned int)(blocks < SF_EW_MAX_BLOCKS ? blocks : SF_EW_MAX_BLOCKS);
}

// Blocks for a kernel that gives each of `rows` rows (> 0) one whole block.
static inline unsigned int sf_row_blocks(int64_t rows)
{
    return (unsigned int)(rows < SF_ROW_MAX_BLOCKS ? rows : SF_ROW_MAX_BLOCKS);
}

__device__ static inline int64_t sf_ew_first(void)
{
    return (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
}

__device__ static inline int64_t sf_ew_stride(void)
{
    return (int64_t)gridDim.x * blockDim.x;
}

struct sf_op_add {
    template <typename T> __device__ T operator()(T a, T b) const { return a + b; }
};

// fmaxf ignores a NaN operand, like the CPU loops' `x > m ? x : m` from -Inf.
struct sf_op_max {
    __device__ float operator()(float a, float b) const { return fmaxf(a, b); }
};

// op over the 32 lanes of a warp; every lane gets the result (butterfly).
template <typename T, typename Op> __device__ static inline T sf_warp_reduce(T v, Op op)
{
    for (int off = 16; off > 0; off >>= 1)
        v = op(v, __shfl_xor_sync(0xffffffffu, v, off));
    return v;
}

// op over the whole block (blockDim.x a multiple of 32, every thread calling);
// every thread gets the same result. shared: [32] scratch, reusable right after.
template <typename T, typename Op> __device__ static inline T sf_block_reduce(T v, Op op,
                                                                              T *shared)
{
    v = sf_warp_reduce(v, op);
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    if (lane == 0)
        shared[warp] = v;
    __syncthreads();
    T r = shared[0];
    for (int w = 1; w < warps; w++)
        r = op(r, shared[w]);
    __syncthreads(); // shared may be written again by the next reduction
    return r;
}

#endif
