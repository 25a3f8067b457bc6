// bench_attn_decode.cu: one decode step of dot attention for B sentences x K
// beam rows over S source positions of H floats: scores = q . M_s, padding
// masked, softmax, context = sum_s a_s M_s. Each variant is checked against a
// CPU loop, then timed (events, warm-up, median of 20) and printed in GB/s of
// necessary traffic (the memory M read once) next to a measured D2D copy.
// Not part of the library build; scripts/bench_kernels.sh or
//   nvcc -arch=sm_90 -O3 -o bench_attn_decode bench_attn_decode.cu -lcublas \
//     && ./bench_attn_decode [B K S H]
// v1 is the library's path (cuBLAS strided products around attention.cu's
// softmax kernel, included, not copied); v2 one fused kernel per query row.
#include <cmath>

#include <cublas_v2.h>

#include "../attention.cu"
#include "bench_util.cuh"

#define FUSED_THREADS 256

// v2: one block per row r = b*K + j. Warps take source positions (a dot of H
// per warp), the scores stay in shared memory, the block normalizes them, then
// threads take hidden units of the context. M: [B, S, H]; q, ctx: [B*K, H];
// align: [B*K, S]; len: [B]. Dynamic shared memory: S floats.
__global__ static void __launch_bounds__(FUSED_THREADS)
attn_fused_kernel(int K, int S, int H, const int32_t *len, const float *__restrict__ M,
                  const float *__restrict__ q, float *__restrict__ align,
                  float *__restrict__ ctx)
{
    extern __shared__ float sc[];
    __shared__ float red[32];
    const int64_t r = blockIdx.x, b = r / K;
    const int L = len[b], lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const float *Mb = M + b * S * H, *qr = q + r * H;
    for (int s = warp; s < L; s += blockDim.x >> 5) {
        float acc = 0.0f;
        for (int k = lane; k < H; k += 32)
            acc += qr[k] * Mb[(int64_t)s * H + k];
        acc = sf_warp_reduce(acc, sf_op_add());
        if (lane == 0)
            sc[s] = acc;
    }
    __syncthreads();
    float m = -INFINITY;
    for (int s = threadIdx.x; s < L; s += blockDim.x)
        m = fmaxf(m, sc[s]);
    m = sf_block_reduce(m, sf_op_max(), red);
    float sum = 0.0f;
    for (int s = threadIdx.x; s < L; s += blockDim.x) {
        float e = expf(sc[s] - m);
        sc[s] = e;
        sum += e;
    }
    sum = sf_block_reduce(sum, sf_op_add(), red); // syncs: every sc[s] written
    float inv = L > 0 ? 1.0f / sum : 0.0f;
    for (int s = threadIdx.x; s < S; s += blockDim.x)
        align[r * S + s] = s < L ? sc[s] * inv : 0.0f;
    for (int k = threadIdx.x; k < H; k += blockDim.x) {
        float acc = 0.0f;
        for (int s = 0; s < L; s++)
            acc += sc[s] * Mb[(int64_t)s * H + k];
        ctx[r * H + k] = acc * inv;
    }
}

struct attn_bench {
    int B, K, S, H;
    const int32_t *len_host;
    int32_t *len;                // device [B]
    float *M, *q, *align, *ctx; // device
    cublasHandle_t blas;
};

static void cublas_ok(cublasStatus_t st, const char *what)
{
    if (st != CUBLAS_STATUS_SUCCESS) {
        fprintf(stderr, "%s failed: %d\n", what, (int)st);
        exit(1);
    }
}

// v1, as nn/attention.c drives the backend for dot attention: per sentence b,
// scores[K, S] = q_b[K, H] M_b[S, H]^T (row-major through cuBLAS's column-major
// view, as cuda_sgemm_strided maps it), the masked softmax kernel, then
// ctx_b[K, H] = align_b[K, S] M_b[S, H].
static void run_v1(const attn_bench &a)
{
    const float one = 1.0f, zero = 0.0f;
    const int K = a.K, S = a.S, H = a.H;
    cublas_ok(cublasSgemmStridedBatched(a.blas, CUBLAS_OP_T, CUBLAS_OP_N, S, K, H, &one, a.M, H,
                                        (long long)S * H, a.q, H, (long long)K * H, &zero,
                                        a.align, S, (long long)K * S, a.B),
              "scores");
    BENCH_CHECK(sf_kernel_attn_softmax_fwd((int64_t)a.B * K, K, S, a.len, a.align, a.align, 0));
    cublas_ok(cublasSgemmStridedBatched(a.blas, CUBLAS_OP_N, CUBLAS_OP_N, H, K, S, &one, a.M, H,
                                        (long long)S * H, a.align, S, (long long)K * S, &zero,
                                        a.ctx, H, (long long)K * H, a.B),
              "context");
}

static void run_variant(const attn_bench &a, int v)
{
    if (v == 1) {
        run_v1(a);
        return;
    }
    attn_fused_kernel<<<a.B * a.K, FUSED_THREADS, a.S * sizeof(float)>>>(
        a.K, a.S, a.H, a.len, a.M, a.q, a.align, a.ctx);
    BENCH_CHECK(cudaGetLastError());
}

// The CPU reference: align [B*K, S] and ctx [B*K, H], sums in double.
static void attn_cpu(const attn_bench &a, const std::vector<float> &M,
                     const std::vector<float> &q, std::vector<float> &align,
                     std::vector<float> &ctx)
{
    const int K = a.K, S = a.S, H = a.H;
    std::vector<double> e(S);
    for (int64_t r = 0; r < (int64_t)a.B * K; r++) {
        int64_t b = r / K;
        int L = a.len_host[b];
        double mx = -INFINITY, sum = 0.0;
        for (int s = 0; s < L; s++) {
            double d = 0.0;
            for (int k = 0; k < H; k++)
                d += (double)q[r * H + k] * M[(b * S + s) * H + k];
            e[s] = d, mx = std::max(mx, d);
        }
        for (int s = 0; s < L; s++)
            sum += e[s] = std::exp(e[s] - mx);
        for (int s = 0; s < S; s++)
            align[r * S + s] = s < L ? (float)(e[s] / sum) : 0.0f;
        for (int k = 0; k < H; k++) {
            double c = 0.0;
            for (int s = 0; s < L; s++)
                c += e[s] / sum * M[(b * S + s) * H + k];
            ctx[r * H + k] = (float)c;
        }
    }
}

int main(int argc, char **argv)
{
    attn_bench a = {};
    a.B = argc > 4 ? atoi(argv[1]) : 64;
    a.K = argc > 4 ? atoi(argv[2]) : 5;
    a.S = argc > 4 ? atoi(argv[3]) : 80;
    a.H = argc > 4 ? atoi(argv[4]) : 1024;
    const int B = a.B, K = a.K, S = a.S, H = a.H;
    const int64_t R = (int64_t)B * K;
    cudaDeviceProp prop;
    BENCH_CHECK(cudaGetDeviceProperties(&prop, 0));
    printf("%s, %d SMs; dot attention step B=%d K=%d S=%d H=%d\n", prop.name,
           prop.multiProcessorCount, B, K, S, H);
    if (S * sizeof(float) > 48 * 1024) {
        fprintf(stderr, "S=%d: v2 keeps S scores in shared memory (at most 12288)\n", S);
        return 2;
    }
    std::vector<int32_t> len(B);
    for (int b = 0; b < B; b++) // the first full, the others spread over [1, S]
        len[b] = b == 0 ? S : 1 + (int)(((int64_t)b * 2654435761u) % S);
    a.len_host = len.data();
    // scores of a few units, as trained attention has
    auto M = bench_randu((size_t)B * S * H, -1, 1, 11);
    auto q = bench_randu((size_t)R * H, -3.0f / sqrtf((float)H), 3.0f / sqrtf((float)H), 12);
    std::vector<float> align((size_t)R * S), ctx((size_t)R * H);
    attn_cpu(a, M, q, align, ctx);
    a.len = bench_put(len), a.M = bench_put(M), a.q = bench_put(q);
    BENCH_CHECK(cudaMalloc(&a.align, align.size() * 4));
    BENCH_CHECK(cudaMalloc(&a.ctx, ctx.size() * 4));
    if (cublasCreate(&a.blas) != CUBLAS_STATUS_SUCCESS)
        return 1;
    cublas_ok(cublasSetMathMode(a.blas, CUBLAS_DEFAULT_MATH), "math mode"); // FP32, no TF32
    // necessary traffic: M once, q, align and ctx written
    const double bytes = 4.0 * ((double)B * S * H + 2.0 * R * H + (double)R * S);
    double ceiling = bench_copy_ceiling((size_t)(bytes / 2));
    const char *names[] = {"", "v1 library: cuBLAS+softmax+cuBLAS", "v2 fused, block per row"};
    int failed = 0;
    for (int v = 1; v <= 2; v++) {
        BENCH_CHECK(cudaMemset(a.align, 0xff, align.size() * 4));
        BENCH_CHECK(cudaMemset(a.ctx, 0xff, ctx.size() * 4));
        run_variant(a, v);
        auto ga = bench_get(a.align, align.size()), gc = bench_get(a.ctx, ctx.size());
        // float dots of H terms against double ones: 1e-5 relative plus 1e-6
        if (!bench_close("align", ga.data(), align.data(), align.size(), 1e-6, 1e-4) ||
            !bench_close("ctx", gc.data(), ctx.data(), ctx.size(), 1e-5, 1e-4)) {
            bench_invalid(names[v], "differs from the CPU loop");
            failed = 1;
            continue;
        }
        bench_report(names[v], bench_median_ms([&] { run_variant(a, v); }), bytes, ceiling);
    }
    cublasDestroy(a.blas);
    BENCH_CHECK(cudaFree(a.len));
    float *bufs[] = {a.M, a.q, a.align, a.ctx};
    for (float *p : bufs)
        BENCH_CHECK(cudaFree(p));
    return failed;
}
