// embed.cu: the id range check shared by the ops that index with device ids
// (first bad row found with atomicMin), embedding lookup, and its gradient
// scatter-add, either deterministic (no atomics: the CPU's order of adds) or
// with one atomicAdd per element. CPU twins in src/backend/cpu/cpu_attn.c.
#include "kernels.h"
#include "launch.cuh"

#define SF_EMB_COLS 128 // columns per block of the deterministic scatter-add
#define SF_EMB_PARTS 32 // id classes (id % parts) per column range: blocks in y

// ids: [N]
__global__ static void sf_check_ids_kernel(int64_t N, const int32_t *ids, int V,
                                           sf_kernel_result *res)
{
    for (int64_t n = sf_ew_first(); n < N; n += sf_ew_stride())
        if (ids[n] < 0 || ids[n] >= V)
            atomicMin(&res->bad_row, (unsigned long long)n);
}

// table: [V, E]; ids: [N]; out: [N, ldo]
__global__ static void sf_embed_fwd_kernel(int64_t N, int E, const float *table,
                                           const int32_t *ids, float *out, int ldo,
                                           const sf_kernel_result *res)
{
    if (res->bad_row != SF_KERNEL_NO_BAD_ROW)
        return;
    for (int64_t i = sf_ew_first(); i < N * E; i += sf_ew_stride()) {
        int64_t n = i / E, e = i % E;
        out[n * ldo + e] = table[(int64_t)ids[n] * E + e];
    }
}

// dout: [N, lddo]; ids: [N]; dtable: [V, E]. One atomicAdd per element.
__global__ static void sf_embed_bwd_atomic_kernel(int64_t N, int E, const float *dout,
                                                  int lddo, const int32_t *ids, float *dtable,
                                                  const sf_kernel_result *res)
{
    if (res->bad_row != SF_KERNEL_NO_BAD_ROW)
        return;
    for (int64_t i = sf_ew_first(); i < N * E; i += sf_ew_stride()) {
        int64_t n = i / E, e = i % E;
        if (ids[n] != 0)
            atomicAdd(dtable + (int64_t)ids[n] * E + e, dout[n * lddo + e]);
    }
}

// Block (x, y) owns columns [x*SF_EMB_COLS, +SF_EMB_COLS) of the ids with
// id % SF_EMB_PARTS == y, and walks every row in order, a tile of ids at a time
// through shared memory: each dtable element is touched by one thread only,
// in row order. dout: [N, lddo]; ids: [N]; dtable: [V, E]
__global__ static void sf_embed_bwd_ordered_kernel(int64_t N, int E, const float *dout,
                                                   int lddo, const int32_t *ids,
                                                   float *__restrict__ dtable,
                                                   const sf_kernel_result *res)
{
    __shared__ int32_t tile[SF_EMB_COLS];
    if (res->bad_row != SF_KERNEL_NO_BAD_ROW)
        return;
    int e = blockIdx.x * SF_EMB_COLS + threadIdx.x;
    int part = blockIdx.y;
    for (int64_t n0 = 0; n0 < N; n0 += SF_EMB_COLS) {
        int count = N - n0 < SF_EMB_COLS ? (int)(N - n0) : SF_EMB_COLS;
        if ((int)threadIdx.x < count)
            tile[threadIdx.x] = ids[n0 + threadIdx.x];
        __syncthreads();
        for (int j = 0; j < count && e < E; j++) {
            int32_t id = tile[j];
            if (id != 0 && id % SF_EMB_PARTS == part)
                dtable[(int64_t)id * E + e] += dout[(n0 + j) * lddo + e];
        }
        __syncthreads(); // the tile is rewritten next round
    }
}

extern "C" cudaError_t sf_kernel_check_ids(int64_t N, const int32_t *ids, int V,
                                           sf_kernel_result *res, cudaStream_t stream)
{
    cudaError_t err = cudaMemsetAsync(&res->bad_row, 0xff, sizeof res->bad_row, stream);
    if (err != cudaSuccess || N <= 0)
        return err;
    sf_check_ids_kernel<<<sf_ew_blocks(N), SF_EW_THREADS, 0, stream>>>(N, ids, V, res);
    return cudaGetLastError();
}

extern "C" cudaError_t sf_kernel_embed_fwd(int64_t N, int E, const float *table,
                                           const int32_t *ids, float *out, int ldo,
                                           const sf_kernel_result *res, cudaStream_t stream)
{
    if (N <= 0 || E <= 0)
        return cudaSuccess;
    sf_embed_fwd_kernel<<<sf_ew_blocks(N * E), SF_EW_THREADS, 0, stream>>>(N, E, table, ids,
                                                                          out, ldo, res);
    return cudaGetLastError();
}

extern "C" cudaError_t sf_kernel_embed_bwd(int64_t N, int E, const float *dout, int lddo,
                                           const int32_t *ids, float *dtable,
                                           int deterministic, const sf_kernel_result *res,
                                           cudaStream_t stream)
{
    if (N <= 0 || E <= 0)
        return cudaSuccess;
    if (deterministic) {
        dim3 grid((unsigned int)((E - 1) / SF_EMB_COLS + 1), SF_EMB_PARTS);
        sf_embed_bwd_ordered_kernel<<<grid, SF_EMB_COLS, 0, stream>>>(N, E, dout, lddo, ids,
                                                                      dtable, res);
    } else {
        sf_embed_bwd_atomic_kernel<<<sf_ew_blocks(N * E), SF_EW_THREADS, 0, stream>>>(
            N, E, dout, lddo, ids, dtable, res);
    }
    return cudaGetLastError();
}
