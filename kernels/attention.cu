// attention.cu: the fused parts of an attention step (CPU twins in
// src/backend/cpu/cpu_attn.c): the masked softmax over source positions and
// its backward (one block per query row), Bahdanau's additive score and its
// backward, and bias + activation forward and backward (element-wise).
// Nothing here uses atomics: every sum has a fixed order.
#include "kernels.h"
#include "launch.cuh"

#define SF_ATTN_THREADS 128 // per softmax row: source lengths are tens to hundreds

// scores, align: [R, S] (may alias); src_len: [R / K]
__global__ static void sf_attn_softmax_fwd_kernel(int64_t R, int K, int S,
                                                  const int32_t *src_len, const float *scores,
                                                  float *align)
{
    __shared__ float red[32];
    for (int64_t r = blockIdx.x; r < R; r += gridDim.x) {
        int len = src_len[r / K];
        const float *x = scores + r * S;
        float *a = align + r * S;
        float m = -INFINITY;
        for (int s = threadIdx.x; s < len; s += blockDim.x)
            m = fmaxf(m, x[s]);
        m = sf_block_reduce(m, sf_op_max(), red); // every read of x is done past here
        float sum = 0.0f;
        for (int s = threadIdx.x; s < len; s += blockDim.x) {
            float e = expf(x[s] - m);
            a[s] = e;
            sum += e;
        }
        sum = sf_block_reduce(sum, sf_op_add(), red);
        float inv = len > 0 ? 1.0f / sum : 0.0f;
        for (int s = threadIdx.x; s < S; s += blockDim.x) // a thread rereads only its own a[s]
            a[s] = s < len ? a[s] * inv : 0.0f;
    }
}

// align, dalign, dscores: [R, S]; dscores may alias the inputs
__global__ static void sf_attn_softmax_bwd_kernel(int64_t R, int S, const float *align,
                                                  const float *dalign, float *dscores)
{
    __shared__ float red[32];
    for (int64_t r = blockIdx.x; r < R; r += gridDim.x) {
        const float *a = align + r * S, *da = dalign + r * S;
        float dot = 0.0f;
        for (int s = threadIdx.x; s < S; s += blockDim.x)
            dot += a[s] * da[s];
        dot = sf_block_reduce(dot, sf_op_add(), red);
        float *ds = dscores + r * S;
        for (int s = threadIdx.x; s < S; s += blockDim.x)
            ds[s] = a[s] * (da[s] - dot);
    }
}

// keys: [B, S, H]; q: [R, H]; b_q, v: [H]; scores: [R, S]; one warp per (r, s),
// its lanes over h, so the loads of a key row are coalesced.
__global__ static void sf_attn_mlp_score_fwd_kernel(int64_t R, int K, int S, int H,
                                                    const int32_t *src_len, const float *keys,
                                                    const float *q, const float *b_q,
                                                    const float *v, float *scores)
{
    int lane = threadIdx.x & 31;
    int64_t warps = sf_ew_stride() >> 5;
    for (int64_t i = sf_ew_first() >> 5; i < R * S; i += warps) { // warp-uniform
        int64_t r = i / S, b = r / K;
        int s = (int)(i % S);
        float acc = 0.0f;
        if (s < src_len[b]) {
            const float *ks = keys + (b * S + s) * H, *qr = q + r * H;
            for (int h = lane; h < H; h += 32)
                acc += v[h] * tanhf(qr[h] + b_q[h] + ks[h]);
            acc = sf_warp_reduce(acc, sf_op_add());
        }
        if (lane == 0)
            scores[i] = acc;
    }
}

// One thread per (r, h): dq[r, h] = sum_s g, dvpart[r, h] = sum_s dscores t,
// over s < src_len[b] in order. q, dq, dvpart: [R, H]; dscores: [R, S]
__global__ static void sf_attn_mlp_dq_kernel(int64_t R, int K, int S, int H,
                                             const int32_t *src_len, const float *keys,
                                             const float *q, const float *b_q, const float *v,
                                             const float *dscores, float *dq, float *dvpart)
{
    for (int64_t i = sf_ew_first(); i < R * H; i += sf_ew_stride()) {
        int64_t r = i / H, b = r / K;
        int h = (int)(i % H), len = src_len[b];
        float qh = q[i] + b_q[h], vh = v[h], acc_q = 0.0f, acc_v = 0.0f;
        for (int s = 0; s < len; s++) {
            float t = tanhf(qh + keys[(b * S + s) * H + h]), d = dscores[r * S + s];
            acc_q += d * vh * (1.0f - t * t);
            acc_v += d * t;
        }
        dq[i] = acc_q;
        if (dvpart)
            dvpart[i] = acc_v;
    }
}

// One thread per (b, s, h) with s < src_len[b]: dkeys += g of the K rows of
// sentence b, in row order (as the CPU loop adds them). keys, dkeys: [B, S, H]
__global__ static void sf_attn_mlp_dkeys_kernel(int64_t B, int K, int S, int H,
                                                const int32_t *src_len, const float *keys,
                                                const float *q, const float *b_q,
                                                const float *v, const float *dscores,
                                                float *dkeys)
{
    for (int64_t i = sf_ew_first(); i < B * S * H; i += sf_ew_stride()) {
        int64_t b = i / ((int64_t)S * H);
        int s = (int)(i / H % S), h = (int)(i % H);
        if (s >= src_len[b])
            continue;
        float k = keys[i], bh = b_q[h], vh = v[h], acc = dkeys[i];
        for (int64_t r = b * K; r < (b + 1) * K; r++) {
            float t = tanhf(q[r * H + h] + bh + k);
            acc += dscores[r * S + s] * vh * (1.0f - t * t);
        }
        dkeys[i] = acc;
    }
}

// x: [N, H] as total = N*H elements; bias: [H] or NULL
__global__ static void sf_bias_act_fwd_kernel(int64_t total, int H, int use_tanh,
                                              const float *bias, float *x)
{
    for (int64_t i = sf_ew_first(); i < total; i += sf_ew_stride()) {
        float z = bias ? __fadd_rn(x[i], bias[i % H]) : x[i];
        x[i] = use_tanh ? tanhf(z) : z;
    }
}

// y, dy, dx: [total]; dx may alias dy (each element read, then written, by one thread)
__global__ static void sf_bias_act_bwd_kernel(int64_t total, int use_tanh, const float *y,
                                              const float *dy, float *dx)
{
    for (int64_t i = sf_ew_first(); i < total; i += sf_ew_stride())
        dx[i] = use_tanh ? __fmul_rn(dy[i], __fsub_rn(1.0f, __fmul_rn(y[i], y[i]))) : dy[i];
}

extern "C" cudaError_t sf_kernel_attn_softmax_fwd(int64_t R, int K, int S,
                                                  const int32_t *src_len, const float *scores,
                                                  float *align, cudaStream_t stream)
{
    if (R <= 0 || S <= 0)
        return cudaSuccess;
    sf_attn_softmax_fwd_kernel<<<sf_row_blocks(R), SF_ATTN_THREADS, 0, stream>>>(
        R, K, S, src_len, scores, align);
    return cudaGetLastError();
}

extern "C" cudaError_t sf_kernel_attn_softmax_bwd(int64_t R, int S, const float *align,
                                                  const float *dalign, float *dscores,
                                                  cudaStream_t stream)
{
    if (R <= 0 || S <= 0)
        return cudaSuccess;
    sf_attn_softmax_bwd_kernel<<<sf_row_blocks(R), SF_ATTN_THREADS, 0, stream>>>(
        R, S, align, dalign, dscores);
    return cudaGetLastError();
}

extern "C" cudaError_t sf_kernel_attn_mlp_score_fwd(int B, int K, int S, int H,
                                                    const int32_t *src_len, const float *keys,
                                                    const float *q, const float *b_q,
                                                    const float *v, float *scores,
                                                    cudaStream_t stream)
{
    int64_t R = (int64_t)B * K;
    if (R <= 0 || S <= 0)
        return cudaSuccess;
    sf_attn_mlp_score_fwd_kernel<<<sf_ew_blocks(R * S * 32), SF_EW_THREADS, 0, stream>>>(
        R, K, S, H, src_len, keys, q, b_q, v, scores);
    return cudaGetLastError();
}

extern "C" cudaError_t sf_kernel_attn_mlp_score_bwd(int B, int K, int S, int H,
                                                    const int32_t *src_len, const float *keys,
                                                    const float *q, const float *b_q,
                                                    const float *v, const float *dscores,
                                                    float *dq, float *dkeys, float *dvpart,
                                                    cudaStream_t stream)
{
    int64_t R = (int64_t)B * K;
    if (R <= 0 || S <= 0 || H <= 0)
        return cudaSuccess;
    sf_attn_mlp_dq_kernel<<<sf_ew_blocks(R * H), SF_EW_THREADS, 0, stream>>>(
        R, K, S, H, src_len, keys, q, b_q, v, dscores, dq, dvpart);
    cudaError_t err = cudaGetLastError();
    if (err != cudaSuccess)
        return err;
    int64_t n = (int64_t)B * S * H;
    sf_attn_mlp_dkeys_kernel<<<sf_ew_blocks(n), SF_EW_THREADS, 0, stream>>>(
        B, K, S, H, src_len, keys, q, b_q, v, dscores, dkeys);
    return cudaGetLastError();
}

extern "C" cudaError_t sf_kernel_bias_act_fwd(int64_t N, int H, int use_tanh,
                                              const float *bias, float *x, cudaStream_t stream)
{
    if (N <= 0 || H <= 0 || (!bias && !use_tanh))
        return cudaSuccess;
    sf_bias_act_fwd_kernel<<<sf_ew_blocks(N * H), SF_EW_THREADS, 0, stream>>>(
        N * H, H, use_tanh, bias, x);
    return cudaGetLastError();
}

extern "C" cudaError_t sf_kernel_bias_act_bwd(int64_t N, int H, int use_tanh, const float *y,
                                              const float *dy, float *dx, cudaStream_t stream)
{
    if (N <= 0 || H <= 0 || (!use_tanh && dx == dy))
        return cudaSuccess;
    sf_bias_act_bwd_kernel<<<sf_ew_blocks(N * H), SF_EW_THREADS, 0, stream>>>(N * H, use_tanh,
                                                                             y, dy, dx);
    return cudaGetLastError();
}
