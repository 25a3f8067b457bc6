// bench_topk.cu: a beam-search step's candidate selection as backend.h's
// beam_topk: G sentences of K rows of V logits, the best k2 = 2K (score =
// beam_lp + log-softmax) per sentence. Each variant is checked against a CPU
// sort, then timed (events, warm-up, median of 20) and printed in GB/s of
// necessary traffic (the logits read once) next to a measured D2D copy.
// Not part of the library build; scripts/bench_kernels.sh or
//   nvcc -arch=sm_90 -O3 -o bench_topk bench_topk.cu && ./bench_topk [G K V]
// Both variants are the library's kernels (topk.cu and loss.cu included, not
// copied): v1 the unfused sequence (log_softmax kernel writes [rows, V], the
// top-k reads it), v2 the top-k with the log-softmax fused (raw = 1).
#include <cmath>

#include "../loss.cu"
#include "../topk.cu"
#include "bench_util.cuh"

#define BAN_MASK 0x5u // tokens 0 and 2 never chosen, as a search bans <pad> and <s>

struct topk_bench {
    int G, K, V, k2;
    int64_t rows;
    float *x, *lp;                  // device [rows, V]: logits, log-probs (v1)
    double *blp;                    // device [rows]
    int32_t *off, *row_n, *head, *n_out; // device
    sf_topk_item *row_cand, *out;   // device [rows, k2], [G, k2]
    float *bad_val;                 // device [rows]
    unsigned long long *bad;        // device
};

static void run_variant(const topk_bench &b, int v)
{
    const float *in = b.x;
    if (v == 1) {
        BENCH_CHECK(sf_kernel_log_softmax(b.rows, b.V, b.x, b.lp, 0));
        in = b.lp;
    }
    BENCH_CHECK(sf_kernel_beam_topk(b.G, b.rows, b.V, b.k2, v == 2, BAN_MASK, in, b.blp, b.off,
                                    b.row_cand, b.row_n, b.head, b.bad_val, b.bad, b.out,
                                    b.n_out, 0));
}

// The CPU reference: per group, every eligible (score, beam, token) sorted by
// core/topk.h's order (score descending, then beam, then token), the first k2.
// lp: the log-softmax as the device computes it (float x - float lse).
static std::vector<sf_topk_item> topk_cpu(const topk_bench &b, const std::vector<float> &x,
                                          const std::vector<double> &blp,
                                          std::vector<int32_t> &n_out)
{
    std::vector<sf_topk_item> out((size_t)b.G * b.k2), all;
    for (int g = 0; g < b.G; g++) {
        all.clear();
        for (int j = 0; j < b.K; j++) {
            int64_t r = (int64_t)g * b.K + j;
            const float *xr = &x[r * b.V];
            float m = *std::max_element(xr, xr + b.V);
            double se = 0.0;
            for (int v = 0; v < b.V; v++)
                se += expf(xr[v] - m);
            float lse = (float)(m + log(se));
            for (int v = 0; v < b.V; v++)
                if (!(v < 32 && ((BAN_MASK >> v) & 1u)))
                    all.push_back({blp[r] + (double)(xr[v] - lse), j, v});
        }
        size_t k = std::min(all.size(), (size_t)b.k2);
        std::partial_sort(all.begin(), all.begin() + k, all.end(),
                          [](const sf_topk_item &p, const sf_topk_item &q) {
                              if (p.score != q.score)
                                  return p.score > q.score;
                              return p.beam != q.beam ? p.beam < q.beam : p.token < q.token;
                          });
        std::copy(all.begin(), all.begin() + k, out.begin() + (size_t)g * b.k2);
        n_out[g] = (int32_t)k;
    }
    return out;
}

// Same beams and tokens, scores within 1e-5 (the device lse, ~17, may differ from
// libm's by an ulp, which can only reorder near-ties: reported as a mismatch).
static bool same_result(const topk_bench &b, const std::vector<sf_topk_item> &want,
                        const std::vector<int32_t> &want_n)
{
    auto got = bench_get(b.out, want.size());
    auto got_n = bench_get(b.n_out, (size_t)b.G);
    for (int g = 0; g < b.G; g++) {
        if (got_n[g] != want_n[g]) {
            fprintf(stderr, "group %d: %d candidates, CPU %d\n", g, got_n[g], want_n[g]);
            return false;
        }
        for (int i = 0; i < want_n[g]; i++) {
            const sf_topk_item &p = got[(size_t)g * b.k2 + i], &q = want[(size_t)g * b.k2 + i];
            if (p.beam != q.beam || p.token != q.token || std::abs(p.score - q.score) > 1e-5) {
                fprintf(stderr, "group %d candidate %d: (%d, %d, %.9g), CPU (%d, %d, %.9g)\n",
                        g, i, p.beam, p.token, p.score, q.beam, q.token, q.score);
                return false;
            }
        }
    }
    return true;
}

int main(int argc, char **argv)
{
    topk_bench b = {};
    b.G = argc > 3 ? atoi(argv[1]) : 64;
    b.K = argc > 3 ? atoi(argv[2]) : 5;
    b.V = argc > 3 ? atoi(argv[3]) : 32000;
    b.k2 = 2 * b.K;
    b.rows = (int64_t)b.G * b.K;
    const size_t n = (size_t)b.rows * b.V;
    cudaDeviceProp prop;
    BENCH_CHECK(cudaGetDeviceProperties(&prop, 0));
    printf("%s, %d SMs; beam top-k G=%d K=%d V=%d k2=%d\n", prop.name, prop.multiProcessorCount,
           b.G, b.K, b.V, b.k2);
    auto x = bench_randu(n, -10, 10, 31);
    std::vector<double> blp(b.rows);
    auto u = bench_randu((size_t)b.rows, -5, 0, 32);
    for (int64_t r = 0; r < b.rows; r++)
        blp[r] = u[r];
    std::vector<int32_t> off(b.G + 1), want_n(b.G);
    for (int g = 0; g <= b.G; g++)
        off[g] = g * b.K;
    auto want = topk_cpu(b, x, blp, want_n);
    b.x = bench_put(x), b.blp = bench_put(blp), b.off = bench_put(off);
    BENCH_CHECK(cudaMalloc(&b.lp, n * 4));
    BENCH_CHECK(cudaMalloc(&b.row_n, b.rows * 4));
    BENCH_CHECK(cudaMalloc(&b.head, b.rows * 4));
    BENCH_CHECK(cudaMalloc(&b.n_out, b.G * 4));
    BENCH_CHECK(cudaMalloc(&b.row_cand, b.rows * b.k2 * sizeof(sf_topk_item)));
    BENCH_CHECK(cudaMalloc(&b.out, (size_t)b.G * b.k2 * sizeof(sf_topk_item)));
    BENCH_CHECK(cudaMalloc(&b.bad_val, b.rows * 4));
    BENCH_CHECK(cudaMalloc(&b.bad, sizeof(unsigned long long)));
    const double bytes = 4.0 * (double)n; // the logits, read once
    double ceiling = bench_copy_ceiling(n * 4);
    const char *names[] = {"", "v1 log_softmax kernel, then top-k", "v2 top-k, log-softmax fused"};
    int failed = 0;
    for (int v = 1; v <= 2; v++) {
        BENCH_CHECK(cudaMemset(b.out, 0xff, (size_t)b.G * b.k2 * sizeof(sf_topk_item)));
        run_variant(b, v);
        auto bad = bench_get(b.bad, 1);
        if (bad[0] != ~0ull || !same_result(b, want, want_n)) {
            bench_invalid(names[v], "differs from the CPU sort");
            failed = 1;
            continue;
        }
        bench_report(names[v], bench_median_ms([&] { run_variant(b, v); }), bytes, ceiling);
    }
    void *bufs[] = {b.x, b.lp, b.blp, b.off, b.row_n, b.head, b.n_out, b.row_cand, b.out,
                    b.bad_val, b.bad};
    for (void *p : bufs)
        BENCH_CHECK(cudaFree(p));
    return failed;
}
