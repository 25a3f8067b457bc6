// bench_util.cuh: what the kernels/bench/*.cu programs share: error checks
// that exit (these are standalone tools, not library code), the timing loop
// (warm-up, then the median of REPS calls measured with CUDA events), the
// measured memory ceiling (a device-to-device copy) and seeded random inputs.
#ifndef SF_BENCH_UTIL_CUH
#define SF_BENCH_UTIL_CUH

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <cuda_runtime.h>

#define BENCH_WARMUP 3
#define BENCH_REPS 20

#define BENCH_CHECK(call)                                                               \
    do {                                                                                \
        cudaError_t e_ = (call);                                                        \
        if (e_ != cudaSuccess) {                                                        \
            fprintf(stderr, "%s failed at %s:%d: %s\n", #call, __FILE__, __LINE__,      \
                    cudaGetErrorString(e_));                                            \
            exit(1);                                                                    \
        }                                                                               \
    } while (0)

// Median over BENCH_REPS of one call's time in ms (stream 0), after
// BENCH_WARMUP untimed calls.
template <typename F> static float bench_median_ms(F call)
{
    for (int i = 0; i < BENCH_WARMUP; i++)
        call();
    BENCH_CHECK(cudaDeviceSynchronize());
    cudaEvent_t t0, t1;
    BENCH_CHECK(cudaEventCreate(&t0));
    BENCH_CHECK(cudaEventCreate(&t1));
    std::vector<float> ms(BENCH_REPS);
    for (int r = 0; r < BENCH_REPS; r++) {
        BENCH_CHECK(cudaEventRecord(t0));
        call();
        BENCH_CHECK(cudaEventRecord(t1));
        BENCH_CHECK(cudaEventSynchronize(t1));
        BENCH_CHECK(cudaEventElapsedTime(&ms[r], t0, t1));
    }
    BENCH_CHECK(cudaEventDestroy(t0));
    BENCH_CHECK(cudaEventDestroy(t1));
    std::sort(ms.begin(), ms.end());
    return ms[BENCH_REPS / 2];
}

// The memory ceiling in GB/s: a device-to-device copy of `bytes` (read + write
// over its time), measured like the variants. Prints it and returns it.
static double bench_copy_ceiling(size_t bytes)
{
    void *a = nullptr, *b = nullptr;
    BENCH_CHECK(cudaMalloc(&a, bytes));
    BENCH_CHECK(cudaMalloc(&b, bytes));
    BENCH_CHECK(cudaMemset(a, 0, bytes));
    float ms = bench_median_ms(
        [&] { BENCH_CHECK(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice)); });
    BENCH_CHECK(cudaFree(a));
    BENCH_CHECK(cudaFree(b));
    double gbs = 2.0 * (double)bytes / 1e9 / (ms / 1e3);
    printf("%-34s %9.4f ms  %7.1f GB/s  (copy of %.1f MiB)\n", "ceiling cudaMemcpy D2D", ms, gbs,
           (double)bytes / (1 << 20));
    return gbs;
}

// One timed variant's line: time, GB/s over `bytes` of necessary traffic, and
// the share of the ceiling.
static void bench_report(const char *name, float ms, double bytes, double ceiling)
{
    double gbs = bytes / 1e9 / (ms / 1e3);
    printf("%-34s %9.4f ms  %7.1f GB/s  %5.1f%% of ceiling\n", name, ms, gbs,
           100.0 * gbs / ceiling);
}

// A variant that failed validation: reported, not timed.
static void bench_invalid(const char *name, const char *why)
{
    printf("%-34s INVALID: %s\n", name, why);
}

// n floats uniform in [lo, hi) from a seeded LCG (the same on every run).
static std::vector<float> bench_randu(size_t n, float lo, float hi, uint32_t seed)
{
    std::vector<float> x(n);
    uint32_t s = seed * 2654435761u + 1u;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        x[i] = lo + (hi - lo) * (float)(s >> 8) / 16777216.0f;
    }
    return x;
}

// A device copy of a host vector (freed by the caller with cudaFree).
template <typename T> static T *bench_put(const std::vector<T> &h)
{
    T *d = nullptr;
    BENCH_CHECK(cudaMalloc(&d, h.size() * sizeof(T) + 16));
    BENCH_CHECK(cudaMemcpy(d, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice));
    return d;
}

// A host copy of n device values.
template <typename T> static std::vector<T> bench_get(const T *d, size_t n)
{
    std::vector<T> h(n);
    BENCH_CHECK(cudaMemcpy(h.data(), d, n * sizeof(T), cudaMemcpyDeviceToHost));
    return h;
}

// Whether |got - want| <= atol + rtol |want| everywhere (NaN agreeing); on the
// first miss prints it, naming the array.
static bool bench_close(const char *what, const float *got, const float *want, size_t n,
                        double atol, double rtol)
{
    for (size_t i = 0; i < n; i++) {
        double g = got[i], w = want[i];
        bool ok = (g != g && w != w) || std::abs(g - w) <= atol + rtol * std::abs(w);
        if (!ok) {
            fprintf(stderr, "%s[%zu] = %.9g, CPU %.9g\n", what, i, g, w);
            return false;
        }
    }
    return true;
}

#endif
