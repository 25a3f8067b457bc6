/* sf_test_cuda.h: helpers for the CUDA-vs-CPU parity tests (tests/test_cuda_*.c):
 * opening both backends (exit code 77 without a GPU), device buffers from host
 * data and back, random floats and ids. Header-only (static inline), since each
 * test binary links only its own file and sf_test.c. */
#ifndef SF_TEST_CUDA_H
#define SF_TEST_CUDA_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "sf_test.h"

static sf_backend *g_cpu, *g_gpu;

/* 0: both backends open; 77: no GPU (skip); 1: a backend failed to open. */
static inline int sf_test_cuda_open(void)
{
    int count = sf_cuda_device_count();
    if (count == 0) {
        printf("SKIP: no CUDA device (%s)\n",
               sf_cuda_compiled() ? "CUDA compiled in" : "built without CUDA");
        return 77;
    }
    if (sf_backend_open("cpu", &g_cpu) != SF_OK || sf_backend_open("cuda:0", &g_gpu) != SF_OK) {
        fprintf(stderr, "cannot open the backends: %s\n", sf_last_error());
        sf_backend_close(g_cpu);
        return 1;
    }
    return 0;
}

static inline void sf_test_cuda_close(void)
{
    sf_backend_close(g_gpu);
    sf_backend_close(g_cpu);
}

/* A test binary's main: opens both backends (77 without a GPU), runs the suite
 * make() builds, closes them; returns the exit code. */
static inline int sf_test_cuda_main(Suite *(*make)(void))
{
    int rc = sf_test_cuda_open();
    if (rc != 0)
        return rc;
    rc = sf_test_main(make());
    sf_test_cuda_close();
    return rc;
}

/* A device copy of bytes at h (NULL when bytes == 0). */
static inline void *sf_test_dev_put(const void *h, size_t bytes)
{
    void *d = NULL;
    ck_assert_msg(g_gpu->alloc(g_gpu, bytes, &d) == SF_OK, "alloc: %s", sf_last_error());
    ck_assert_msg(g_gpu->upload(g_gpu, d, h, bytes) == SF_OK, "upload: %s", sf_last_error());
    return d;
}

/* A malloc'd host copy of n floats at d. */
static inline float *sf_test_dev_get(const float *d, int64_t n)
{
    float *h = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    ck_assert_ptr_nonnull(h);
    ck_assert_msg(g_gpu->download(g_gpu, h, d, (size_t)n * sizeof(float)) == SF_OK,
                  "download: %s", sf_last_error());
    return h;
}

/* Error ratio (sf_test_tol_ratio) of n device floats d against host want. */
static inline double sf_test_dev_ratio(const float *d, const float *want, int64_t n,
                                       double atol, double rtol)
{
    float *got = sf_test_dev_get(d, n);
    double ratio = sf_test_tol_ratio(got, want, n, atol, rtol);
    free(got);
    return ratio;
}

/* n malloc'd floats, uniform in [lo, hi). */
static inline float *sf_test_rand_floats(int64_t n, float lo, float hi, uint64_t seed)
{
    float *x = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    ck_assert_ptr_nonnull(x);
    sf_test_randu(x, n, lo, hi, seed);
    return x;
}

/* n malloc'd ids uniform in [0, V), every pad_every-th one 0 (pad_every 0: none). */
static inline int32_t *sf_test_rand_ids(int64_t n, int V, int pad_every, uint64_t seed)
{
    float *u = sf_test_rand_floats(n, 0.0f, 1.0f, seed);
    int32_t *ids = malloc((size_t)(n > 0 ? n : 1) * sizeof(int32_t));
    ck_assert_ptr_nonnull(ids);
    for (int64_t i = 0; i < n; i++) {
        int32_t id = (int32_t)(u[i] * (float)V);
        ids[i] = pad_every > 0 && i % pad_every == 0 ? 0 : (id < V ? id : V - 1);
    }
    free(u);
    return ids;
}

/* Short names for the many device copies and frees of a parity test. */
static inline float *put_f(const float *h, int64_t n)
{
    return sf_test_dev_put(h, (size_t)n * sizeof(float));
}

static inline int32_t *put_i(const int32_t *h, int64_t n)
{
    return sf_test_dev_put(h, (size_t)n * sizeof(int32_t));
}

/* Frees up to four device buffers (NULL skipped). */
static inline void gpu_free_all(void *a, void *b, void *c, void *d)
{
    g_gpu->free(g_gpu, a), g_gpu->free(g_gpu, b), g_gpu->free(g_gpu, c), g_gpu->free(g_gpu, d);
}

/* Asserts that n device floats d match host want within (atol, rtol); the
 * message names the case and the array. */
static inline void expect_close(const char *cname, const char *what, const float *d,
                                const float *want, int64_t n, double atol, double rtol)
{
    double ratio = sf_test_dev_ratio(d, want, n, atol, rtol);
    ck_assert_msg(ratio <= 1.0, "%s: %s differs from the CPU's: error ratio %g at atol=%g "
                  "rtol=%g", cname, what, ratio, atol, rtol);
}

/* Asserts that n device floats d equal host want bit for bit. */
static inline void expect_same(const char *cname, const char *what, const float *d,
                               const float *want, int64_t n)
{
    float *got = sf_test_dev_get(d, n);
    ck_assert_msg(memcmp(got, want, (size_t)n * sizeof(float)) == 0, "%s: %s is not bit-"
                  "identical to the expected (CPU or original) values", cname, what);
    free(got);
}

/* ------------------------------------------------------------- bundles
 * A test's arrays as one host block and its device twin, so a call can run on
 * the CPU with h[f] and on the GPU with d[f], and every field is compared in
 * one download. Use: init (random in [lo, hi)), set special host values, put
 * (upload), run both, expect. */
#define SF_TEST_MAX_FIELDS 24
typedef struct sf_test_bundle {
    int n;
    const char *const *names; /* [n] */
    int64_t size[SF_TEST_MAX_FIELDS], total;
    float *host, *dev;
    float *h[SF_TEST_MAX_FIELDS], *d[SF_TEST_MAX_FIELDS];
} sf_test_bundle;

/* p[f] = base + the offset of field f. */
static inline void sf_test_bundle_carve(const sf_test_bundle *b, float *base, float **p)
{
    for (int f = 0; f < b->n; f++) {
        p[f] = base;
        base += b->size[f];
    }
}

static inline void sf_test_bundle_init(sf_test_bundle *b, int n, const char *const *names,
                                       const int64_t *size, float lo, float hi, uint64_t seed)
{
    ck_assert_int_le(n, SF_TEST_MAX_FIELDS);
    memset(b, 0, sizeof *b);
    b->n = n, b->names = names;
    for (int f = 0; f < n; f++)
        b->total += b->size[f] = size[f];
    b->host = sf_test_rand_floats(b->total, lo, hi, seed);
    sf_test_bundle_carve(b, b->host, b->h);
}

/* Uploads the whole host block (the first call allocates the device block). */
static inline void sf_test_bundle_put(sf_test_bundle *b)
{
    if (!b->dev) {
        b->dev = put_f(b->host, b->total);
        sf_test_bundle_carve(b, b->dev, b->d);
    } else {
        ck_assert_msg(g_gpu->upload(g_gpu, b->dev, b->host, (size_t)b->total * sizeof(float))
                      == SF_OK, "upload: %s", sf_last_error());
    }
}

/* Asserts that device fields [from, to) match the host's within (atol, rtol);
 * the message names the case and the field. */
static inline void sf_test_bundle_expect(const sf_test_bundle *b, const char *cname, int from,
                                         int to, double atol, double rtol)
{
    float *got = sf_test_dev_get(b->dev, b->total), *g[SF_TEST_MAX_FIELDS];
    sf_test_bundle_carve(b, got, g);
    for (int f = from; f < to; f++) {
        double ratio = sf_test_tol_ratio(g[f], b->h[f], b->size[f], atol, rtol);
        ck_assert_msg(ratio <= 1.0, "%s: %s differs from the CPU's: error ratio %g at atol=%g "
                      "rtol=%g", cname, b->names[f], ratio, atol, rtol);
    }
    free(got);
}

static inline void sf_test_bundle_free(sf_test_bundle *b)
{
    g_gpu->free(g_gpu, b->dev);
    free(b->host);
}

#endif
