// bench_axpy.cu: y += a * x on two 1 GiB vectors. Each variant is first
// checked against a CPU loop, then timed (CUDA events, warm-up, median of 20)
// and printed in GB/s next to the ceiling measured here: a 1 GiB cudaMemcpy
// device-to-device. Not part of the library build; scripts/bench_kernels.sh or
//   nvcc -arch=sm_90 -O3 -o bench_axpy bench_axpy.cu -lcublas && ./bench_axpy [MiB]
// v1 is the library's own kernel (elementwise.cu is included, not copied).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "../elementwise.cu"
#include "bench_util.cuh"

// v2: 16-byte loads and stores; a grid sized to fill the device once
// (persistent), each thread striding over float4s; the n % 4 tail by thread 0..3.
// x, y: [n], 16-byte aligned (cudaMalloc gives 256).
__global__ static void axpy_float4_kernel(int64_t n, float a, const float *x, float *y)
{
    int64_t n4 = n / 4, first = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    int64_t stride = (int64_t)gridDim.x * blockDim.x;
    const float4 *x4 = reinterpret_cast<const float4 *>(x);
    float4 *y4 = reinterpret_cast<float4 *>(y);
    for (int64_t i = first; i < n4; i += stride) {
        float4 xv = x4[i], yv = y4[i];
        yv.x = __fadd_rn(yv.x, __fmul_rn(a, xv.x));
        yv.y = __fadd_rn(yv.y, __fmul_rn(a, xv.y));
        yv.z = __fadd_rn(yv.z, __fmul_rn(a, xv.z));
        yv.w = __fadd_rn(yv.w, __fmul_rn(a, xv.w));
        y4[i] = yv;
    }
    if (first < n - n4 * 4)
        y[n4 * 4 + first] = __fadd_rn(y[n4 * 4 + first], __fmul_rn(a, x[n4 * 4 + first]));
}

struct bench {
    int64_t n;
    float a;
    float *x, *y, *y0;      // device: [n] each; y0 keeps y's starting values
    const float *ref;       // host: [n], y0 + a * x by the CPU loop
    cublasHandle_t blas;
    int persistent_blocks;  // v2's grid
};

static void run_variant(const bench &b, int v)
{
    if (v == 1) {
        BENCH_CHECK(sf_kernel_axpy(b.n, b.a, b.x, b.y, 0));
    } else if (v == 2) {
        axpy_float4_kernel<<<b.persistent_blocks, 256>>>(b.n, b.a, b.x, b.y);
        BENCH_CHECK(cudaGetLastError());
    } else if (cublasSaxpy(b.blas, (int)b.n, &b.a, b.x, 1, b.y, 1) != CUBLAS_STATUS_SUCCESS) {
        fprintf(stderr, "cublasSaxpy failed\n");
        exit(1);
    }
}

// One run from y0, compared with the CPU result (cuBLAS may fuse the
// multiply-add: allow one rounding's difference). Returns mismatches.
static int64_t validate(const bench &b, int v, std::vector<float> &got)
{
    BENCH_CHECK(cudaMemcpy(b.y, b.y0, b.n * sizeof(float), cudaMemcpyDeviceToDevice));
    run_variant(b, v);
    BENCH_CHECK(cudaMemcpy(got.data(), b.y, b.n * sizeof(float), cudaMemcpyDeviceToHost));
    int64_t bad = 0;
    for (int64_t i = 0; i < b.n; i++) {
        if (!(fabsf(got[i] - b.ref[i]) <= 1e-6f * (fabsf(b.ref[i]) + 1.0f))) {
            if (bad++ == 0)
                fprintf(stderr, "v%d: y[%lld] = %.9g, CPU %.9g\n", v, (long long)i, got[i],
                        b.ref[i]);
        }
    }
    return bad;
}

int main(int argc, char **argv)
{
    size_t mib = argc > 1 ? strtoull(argv[1], NULL, 10) : 1024;
    bench b = {};
    b.n = (int64_t)(mib << 20) / (int64_t)sizeof(float);
    b.a = 0.5f;
    size_t bytes = b.n * sizeof(float);
    cudaDeviceProp prop;
    BENCH_CHECK(cudaGetDeviceProperties(&prop, 0));
    int per_sm = 0;
    BENCH_CHECK(
        cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, axpy_float4_kernel, 256, 0));
    b.persistent_blocks = prop.multiProcessorCount * per_sm;
    printf("%s, %d SMs; vectors of %zu MiB (%lld floats)\n", prop.name,
           prop.multiProcessorCount, mib, (long long)b.n);

    std::vector<float> hx(b.n), hy(b.n), ref(b.n), got(b.n);
    uint32_t s = 12345;
    for (int64_t i = 0; i < b.n; i++) {
        s = s * 1664525u + 1013904223u;
        hx[i] = (float)(s >> 8) / 8388608.0f - 1.0f; // [-1, 1)
        s = s * 1664525u + 1013904223u;
        hy[i] = (float)(s >> 8) / 8388608.0f - 1.0f;
        ref[i] = hy[i] + b.a * hx[i];
    }
    b.ref = ref.data();
    BENCH_CHECK(cudaMalloc(&b.x, bytes));
    BENCH_CHECK(cudaMalloc(&b.y, bytes));
    BENCH_CHECK(cudaMalloc(&b.y0, bytes));
    BENCH_CHECK(cudaMemcpy(b.x, hx.data(), bytes, cudaMemcpyHostToDevice));
    BENCH_CHECK(cudaMemcpy(b.y0, hy.data(), bytes, cudaMemcpyHostToDevice));
    if (cublasCreate(&b.blas) != CUBLAS_STATUS_SUCCESS) {
        fprintf(stderr, "cublasCreate failed\n");
        return 1;
    }

    // ceiling: a device-to-device copy reads and writes `bytes` each
    float copy_ms = bench_median_ms(
        [&] { BENCH_CHECK(cudaMemcpyAsync(b.y, b.x, bytes, cudaMemcpyDeviceToDevice)); });
    double ceiling = 2.0 * bytes / 1e9 / (copy_ms / 1e3);
    printf("ceiling  cudaMemcpy D2D     %8.3f ms  %7.1f GB/s\n", copy_ms, ceiling);

    const char *names[] = {"", "v1 library grid-stride", "v2 float4 persistent",
                           "v3 cublasSaxpy"};
    int failed = 0;
    for (int v = 1; v <= 3; v++) {
        int64_t bad = validate(b, v, got);
        if (bad) {
            printf("%-28s INVALID: %lld of %lld values differ from the CPU\n", names[v],
                   (long long)bad, (long long)b.n);
            failed = 1;
            continue;
        }
        float ms = bench_median_ms([&] { run_variant(b, v); });
        double gbs = 3.0 * bytes / 1e9 / (ms / 1e3); // read x, read y, write y
        printf("%-28s %8.3f ms  %7.1f GB/s  %5.1f%% of ceiling\n", names[v], ms, gbs,
               100.0 * gbs / ceiling);
    }
    cublasDestroy(b.blas);
    BENCH_CHECK(cudaFree(b.x));
    BENCH_CHECK(cudaFree(b.y));
    BENCH_CHECK(cudaFree(b.y0));
    return failed;
}
