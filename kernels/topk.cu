// topk.cu: a beam-search step's candidates on the device (backend op beam_topk;
// CPU twin: src/backend/cpu/cpu_topk.c over core/topk.c). Stage 1, one block per
// row: the optional log-softmax (rowstat.cuh, as the log-softmax kernel), a check
// for NaN/+inf, then the row's best k2 (score, token) by k2 rounds of a block-wide
// argmax, each taking the best item ranked after the previous one. Stage 2, one
// block per group of rows: a k2-way merge of its rows' sorted lists. Ranking as
// core/topk.h: score in double descending, then lower beam, then lower token.
#include <limits.h>

#include "kernels.h"
#include "rowstat.cuh"

// An item under ranking: score and a key whose lower value wins ties
// (beam * V + token); key LLONG_MAX = none.
struct sf_rank {
    double s;
    long long key;
};

__device__ static inline bool sf_rank_better(sf_rank a, sf_rank b)
{
    return a.s > b.s || (a.s == b.s && a.key < b.key);
}

// The best over the block (every thread calling, blockDim.x a multiple of 32);
// all threads get it. sh_s, sh_k: [32] scratch, reusable right after.
__device__ static sf_rank sf_block_best(sf_rank v, double *sh_s, long long *sh_k)
{
    for (int off = 16; off > 0; off >>= 1) {
        sf_rank o = {__shfl_xor_sync(0xffffffffu, v.s, off),
                     __shfl_xor_sync(0xffffffffu, v.key, off)};
        if (sf_rank_better(o, v))
            v = o;
    }
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    if (lane == 0)
        sh_s[warp] = v.s, sh_k[warp] = v.key;
    __syncthreads();
    sf_rank r = {sh_s[0], sh_k[0]};
    for (int w = 1; w < warps; w++) {
        sf_rank o = {sh_s[w], sh_k[w]};
        if (sf_rank_better(o, r))
            r = o;
    }
    __syncthreads();
    return r;
}

__device__ static inline bool sf_banned(uint32_t ban, int v)
{
    return v < 32 && ((ban >> v) & 1u);
}

// The first v with lp[v] NaN or +inf (V when none); all threads get it.
__device__ static int sf_first_bad(const float *x, int V, int raw, float lse, int *red)
{
    int first = V;
    for (int v = threadIdx.x; v < V; v += blockDim.x) {
        float l = raw ? x[v] - lse : x[v];
        if (!(l < INFINITY)) {
            first = v; // v grows, so this thread's first
            break;
        }
    }
    struct min_op {
        __device__ int operator()(int a, int b) const { return a < b ? a : b; }
    };
    return sf_block_reduce(first, min_op(), red);
}

// Stage 1. x: [rows, V]; beam_lp: [rows]; row_cand: [rows, k2] (beam 0; stage 2
// sets it); row_n: [rows]; bad_val: [rows] (written for bad rows); *bad: min of
// r*V + v over bad values (initialised to all ones by the launcher).
__global__ static void __launch_bounds__(SF_ROW_THREADS)
sf_topk_rows_kernel(int64_t rows, int V, int k2, int raw, uint32_t ban, const float *x,
                    const double *beam_lp, sf_topk_item *row_cand, int32_t *row_n,
                    float *bad_val, unsigned long long *bad)
{
    __shared__ float redf[32];
    __shared__ double redd[32];
    __shared__ int redi[32];
    __shared__ long long redk[32];
    for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const float *xr = x + r * V;
        const double blp = beam_lp[r];
        const float lse = raw ? sf_row_lse(xr, V, redf, redd) : 0.0f;
        int fb = sf_first_bad(xr, V, raw, lse, redi);
        if (fb < V) {
            if (threadIdx.x == 0) {
                bad_val[r] = raw ? xr[fb] - lse : xr[fb];
                row_n[r] = 0;
                atomicMin(bad, (unsigned long long)r * (unsigned long long)V + fb);
            }
            continue;
        }
        sf_rank prev = {INFINITY, -1}; // everything ranks after it
        int n = 0;
        for (; n < k2; n++) {
            sf_rank best = {-INFINITY, LLONG_MAX};
            for (int v = threadIdx.x; v < V; v += blockDim.x) {
                float l = raw ? xr[v] - lse : xr[v];
                if (l == -INFINITY || sf_banned(ban, v))
                    continue;
                sf_rank c = {blp + (double)l, v};
                if (sf_rank_better(c, prev) || c.key == prev.key)
                    continue; // taken in an earlier round
                if (sf_rank_better(c, best))
                    best = c;
            }
            best = sf_block_best(best, redd, redk);
            if (best.key == LLONG_MAX)
                break; // no eligible item left (every thread sees the same)
            if (threadIdx.x == 0)
                row_cand[r * k2 + n] = sf_topk_item{best.s, 0, (int32_t)best.key};
            prev = best;
        }
        if (threadIdx.x == 0)
            row_n[r] = n;
    }
}

// Stage 2, one block per group g of rows [off[g], off[g+1]): merge the rows'
// sorted lists into the group's best k2. head: [rows] scratch (each row's next
// item). out: [G, k2]; n_out: [G].
__global__ static void __launch_bounds__(SF_ROW_THREADS)
sf_topk_merge_kernel(int G, int V, int k2, const int32_t *off, const sf_topk_item *row_cand,
                     const int32_t *row_n, int32_t *head, sf_topk_item *out, int32_t *n_out)
{
    __shared__ double sh_s[32];
    __shared__ long long sh_k[32];
    for (int g = blockIdx.x; g < G; g += gridDim.x) {
        const int r0 = off[g], nb = off[g + 1] - r0;
        for (int b = threadIdx.x; b < nb; b += blockDim.x)
            head[r0 + b] = 0;
        __syncthreads();
        int n = 0;
        for (; n < k2; n++) {
            sf_rank best = {-INFINITY, LLONG_MAX};
            for (int b = threadIdx.x; b < nb; b += blockDim.x) {
                int h = head[r0 + b];
                if (h >= row_n[r0 + b])
                    continue;
                const sf_topk_item *it = &row_cand[(int64_t)(r0 + b) * k2 + h];
                sf_rank c = {it->score, (long long)b * V + it->token};
                if (sf_rank_better(c, best))
                    best = c;
            }
            best = sf_block_best(best, sh_s, sh_k); // syncs: heads read before the write
            if (best.key == LLONG_MAX)
                break;
            if (threadIdx.x == 0) {
                int b = (int)(best.key / V);
                out[(int64_t)g * k2 + n] = sf_topk_item{best.s, b, (int32_t)(best.key % V)};
                head[r0 + b]++;
            }
            __syncthreads(); // the head update is seen by the next round
        }
        if (threadIdx.x == 0)
            n_out[g] = n;
    }
}

extern "C" cudaError_t sf_kernel_beam_topk(int G, int64_t rows, int V, int k2, int raw,
                                           uint32_t ban, const float *x,
                                           const double *beam_lp, const int32_t *off,
                                           sf_topk_item *row_cand, int32_t *row_n,
                                           int32_t *head, float *bad_val,
                                           unsigned long long *bad, sf_topk_item *out,
                                           int32_t *n_out, cudaStream_t stream)
{
    if (G <= 0 || rows <= 0)
        return cudaSuccess;
    cudaError_t err = cudaMemsetAsync(bad, 0xff, sizeof *bad, stream);
    if (err != cudaSuccess)
        return err;
    sf_topk_rows_kernel<<<sf_row_blocks(rows), SF_ROW_THREADS, 0, stream>>>(
        rows, V, k2, raw, ban, x, beam_lp, row_cand, row_n, bad_val, bad);
    if ((err = cudaGetLastError()) != cudaSuccess)
        return err;
    sf_topk_merge_kernel<<<sf_row_blocks(G), SF_ROW_THREADS, 0, stream>>>(
        G, V, k2, off, row_cand, row_n, head, out, n_out);
    return cudaGetLastError();
}
