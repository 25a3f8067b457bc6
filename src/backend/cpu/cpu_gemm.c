/* cpu_gemm.c: the CPU backend's products. f32 through oneDNN's sgemm when the
 * build has it (0-20% faster than OpenBLAS on this AVX-512 machine), else OpenBLAS; with
 * precision bf16, oneDNN's matmul on bf16 copies of the operands (AMX or
 * AVX512-BF16 units, f32 accumulation and result). Parameters get a bf16 shadow
 * converted once per change, not once per product. */
#include <cblas.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/cpu_ops.h"

#ifdef SEQFUSE_HAVE_DNNL
#include <oneapi/dnnl/dnnl.h>
#endif

#define SF_CPU_MAX_PARAM_RANGES 8
/* Products without a parameter operand go to bf16 from this size (M*N*K) on:
 * below it the conversions cost more than the faster product gives back. */
#define SF_BF16_MIN_MNK (1 << 22)

typedef struct sf_cpu_param_range {
    const float *base;   /* NULL = free slot */
    int64_t n;
    uint16_t *shadow;    /* [n] bf16, NULL until first used */
    uint64_t gen, shadow_gen;
} sf_cpu_param_range;

struct sf_cpu_gemm {
    int use_dnnl;                 /* f32 products through oneDNN */
    sf_precision prec;
    char info[96];
    sf_cpu_param_range ranges[SF_CPU_MAX_PARAM_RANGES];
    uint16_t *scratch[2];         /* bf16 copies of non-parameter A and B */
    size_t scratch_cap[2];        /* elements */
#ifdef SEQFUSE_HAVE_DNNL
    dnnl_engine_t eng;
    dnnl_stream_t stream;
#endif
};

static sf_cpu_gemm *gemm_of(sf_backend *be) { return (sf_cpu_gemm *)be->impl; }

/* The K = 0 product: C = beta C (BLAS semantics: beta 0 ignores C). */
static void scale_c(int M, int N, float beta, float *C, int ldc)
{
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++)
            C[(int64_t)i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[(int64_t)i * ldc + j];
}

#ifdef SEQFUSE_HAVE_DNNL

static sf_status dnnl_fail(dnnl_status_t s, const char *what, int M, int N, int K)
{
    sf_status code = s == dnnl_out_of_memory  ? SF_ERR_OOM
                          : s == dnnl_unimplemented ? SF_ERR_UNSUPPORTED
                                                    : SF_ERR_INTERNAL;
    return SF_FAIL(code, "oneDNN %s failed (status %d) for a %d x %d x %d product%s", what,
                   (int)s, M, N, K,
                   s == dnnl_out_of_memory ? "; try a smaller batch or model" : "");
}

#define SF_DNNL(call, what)                                  \
    do {                                                     \
        dnnl_status_t s_ = (call);                           \
        if (s_ != dnnl_success) {                            \
            st = dnnl_fail(s_, what, M, N, K);               \
            goto done;                                       \
        }                                                    \
    } while (0)

/* dst (bf16, strides d0, d1) = src (f32, strides s0, s1), [rows, cols]. */
static sf_status dnnl_to_bf16(sf_cpu_gemm *g, const float *src, int64_t rows, int64_t cols,
                              int64_t s0, int64_t s1, uint16_t *dst, int64_t d0, int64_t d1)
{
    sf_status st = SF_OK;
    const int M = (int)rows, N = (int)cols, K = 0; /* for the messages */
    dnnl_memory_desc_t smd, dmd;
    dnnl_dims_t dims = {rows, cols}, ss = {s0, s1}, ds = {d0, d1};
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_t p = NULL;
    dnnl_memory_t ms = NULL, md = NULL;
    SF_DNNL(dnnl_memory_desc_init_by_strides(&smd, 2, dims, dnnl_f32, ss), "source layout");
    SF_DNNL(dnnl_memory_desc_init_by_strides(&dmd, 2, dims, dnnl_bf16, ds), "bf16 layout");
    SF_DNNL(dnnl_reorder_primitive_desc_create(&pd, &smd, g->eng, &dmd, g->eng, NULL),
            "bf16 conversion");
    SF_DNNL(dnnl_primitive_create(&p, pd), "bf16 conversion");
    SF_DNNL(dnnl_memory_create(&ms, &smd, g->eng, (void *)src), "memory");
    SF_DNNL(dnnl_memory_create(&md, &dmd, g->eng, dst), "memory");
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, ms}, {DNNL_ARG_TO, md}};
    SF_DNNL(dnnl_primitive_execute(p, g->stream, 2, args), "bf16 conversion");
    SF_DNNL(dnnl_stream_wait(g->stream), "bf16 conversion");
done:
    dnnl_memory_destroy(ms);
    dnnl_memory_destroy(md);
    dnnl_primitive_destroy(p);
    dnnl_primitive_desc_destroy(pd);
    return st;
}

/* A bf16 operand for an f32 one ([rows, cols] with strides s0, s1): the
 * parameter shadow at the same offset when x lies in a registered range (the
 * strides stay), else a dense copy in scratch slot `slot` (strides rewritten). */
static sf_status bf16_operand(sf_cpu_gemm *g, int slot, const float *x, int64_t rows,
                              int64_t cols, int64_t *s0, int64_t *s1, const uint16_t **out)
{
    for (int i = 0; i < SF_CPU_MAX_PARAM_RANGES; i++) {
        sf_cpu_param_range *r = &g->ranges[i];
        if (!r->base || x < r->base || x >= r->base + r->n)
            continue;
        if (!r->shadow) {
            r->shadow = aligned_alloc(64, ((size_t)r->n * 2 + 63) / 64 * 64);
            if (!r->shadow)
                return SF_FAIL(SF_ERR_OOM, "could not allocate the bf16 copy of %lld "
                               "parameters (%.2f GiB)", (long long)r->n,
                               (double)r->n * 2 / (1u << 30));
            r->shadow_gen = r->gen - 1;
        }
        if (r->shadow_gen != r->gen) {
            SF_TRY(dnnl_to_bf16(g, r->base, 1, r->n, r->n, 1, r->shadow, r->n, 1));
            r->shadow_gen = r->gen;
        }
        *out = r->shadow + (x - r->base);
        return SF_OK;
    }
    size_t need = (size_t)rows * (size_t)cols;
    if (need > g->scratch_cap[slot]) {
        free(g->scratch[slot]);
        g->scratch_cap[slot] = 0;
        g->scratch[slot] = aligned_alloc(64, (need * 2 + 63) / 64 * 64);
        if (!g->scratch[slot])
            return SF_FAIL(SF_ERR_OOM, "could not allocate %zu bytes for a bf16 operand; try "
                           "a smaller batch", need * 2);
        g->scratch_cap[slot] = need;
    }
    /* keep the operand's orientation, packed densely */
    const int64_t d0 = *s1 == 1 ? cols : 1, d1 = *s1 == 1 ? 1 : rows;
    SF_TRY(dnnl_to_bf16(g, x, rows, cols, *s0, *s1, g->scratch[slot], d0, d1));
    *s0 = d0;
    *s1 = d1;
    *out = g->scratch[slot];
    return SF_OK;
}

static int in_params(const sf_cpu_gemm *g, const float *x)
{
    for (int i = 0; i < SF_CPU_MAX_PARAM_RANGES; i++)
        if (g->ranges[i].base && x >= g->ranges[i].base && x < g->ranges[i].base + g->ranges[i].n)
            return 1;
    return 0;
}

/* C = alpha op(A) op(B) (+ bias[N] on every row) + beta C through oneDNN's matmul,
 * on bf16 copies of A and B when bf16, else on them as they are (f32). */
static sf_status onednn_matmul(sf_cpu_gemm *g, int bf16, sf_trans ta, sf_trans tb, int M, int N,
                             int K, float alpha, const float *A, int lda, const float *B,
                             int ldb, const float *bias, float beta, float *C, int ldc)
{
    sf_status st = SF_OK;
    int64_t a0 = ta == SF_TRANS ? 1 : lda, a1 = ta == SF_TRANS ? lda : 1;
    int64_t b0 = tb == SF_TRANS ? 1 : ldb, b1 = tb == SF_TRANS ? ldb : 1;
    const void *pa = A, *pb = B;
    if (bf16) {
        const uint16_t *ha, *hb;
        SF_TRY(bf16_operand(g, 0, A, M, K, &a0, &a1, &ha));
        SF_TRY(bf16_operand(g, 1, B, K, N, &b0, &b1, &hb));
        pa = ha, pb = hb;
    }
    const dnnl_data_type_t dt = bf16 ? dnnl_bf16 : dnnl_f32;
    dnnl_memory_desc_t amd, bmd, cmd, biasmd;
    dnnl_dims_t ad = {M, K}, bd = {K, N}, cd = {M, N}, biasd = {1, N};
    dnnl_dims_t as = {a0, a1}, bs = {b0, b1}, cs = {ldc, 1}, biass = {N, 1};
    dnnl_matmul_desc_t mm;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_t p = NULL;
    dnnl_memory_t ma = NULL, mb = NULL, mc = NULL, mbias = NULL;
    SF_DNNL(dnnl_memory_desc_init_by_strides(&amd, 2, ad, dt, as), "matmul layout");
    SF_DNNL(dnnl_memory_desc_init_by_strides(&bmd, 2, bd, dt, bs), "matmul layout");
    SF_DNNL(dnnl_memory_desc_init_by_strides(&cmd, 2, cd, dnnl_f32, cs), "matmul layout");
    SF_DNNL(dnnl_memory_desc_init_by_strides(&biasmd, 2, biasd, dnnl_f32, biass), "bias layout");
    SF_DNNL(dnnl_matmul_desc_init(&mm, &amd, &bmd, bias ? &biasmd : NULL, &cmd), "matmul");
    SF_DNNL(dnnl_primitive_attr_create(&attr), "matmul attributes");
    if (alpha != 1.0f)
        SF_DNNL(dnnl_primitive_attr_set_output_scales(attr, 1, 0, &alpha), "matmul alpha");
    if (beta != 0.0f) {
        SF_DNNL(dnnl_post_ops_create(&po), "matmul beta");
        SF_DNNL(dnnl_post_ops_append_sum(po, beta), "matmul beta");
        SF_DNNL(dnnl_primitive_attr_set_post_ops(attr, po), "matmul beta");
    }
    /* oneDNN's primitive cache makes repeated shapes cheap (microseconds) */
    SF_DNNL(dnnl_primitive_desc_create(&pd, &mm, attr, g->eng, NULL), "matmul");
    SF_DNNL(dnnl_primitive_create(&p, pd), "matmul");
    SF_DNNL(dnnl_memory_create(&ma, &amd, g->eng, (void *)pa), "memory");
    SF_DNNL(dnnl_memory_create(&mb, &bmd, g->eng, (void *)pb), "memory");
    SF_DNNL(dnnl_memory_create(&mc, &cmd, g->eng, C), "memory");
    if (bias)
        SF_DNNL(dnnl_memory_create(&mbias, &biasmd, g->eng, (void *)bias), "memory");
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, mb}, {DNNL_ARG_DST, mc},
                               {DNNL_ARG_BIAS, mbias}};
    SF_DNNL(dnnl_primitive_execute(p, g->stream, bias ? 4 : 3, args), "matmul");
    SF_DNNL(dnnl_stream_wait(g->stream), "matmul");
done:
    dnnl_memory_destroy(ma);
    dnnl_memory_destroy(mb);
    dnnl_memory_destroy(mc);
    dnnl_memory_destroy(mbias);
    dnnl_primitive_destroy(p);
    dnnl_primitive_desc_destroy(pd);
    dnnl_post_ops_destroy(po);
    dnnl_primitive_attr_destroy(attr);
    return st;
}

static sf_status dnnl_f32_gemm(sf_trans ta, sf_trans tb, int M, int N, int K, float alpha,
                               const float *A, int lda, const float *B, int ldb, float beta,
                               float *C, int ldc)
{
    dnnl_status_t s = dnnl_sgemm(ta == SF_TRANS ? 'T' : 'N', tb == SF_TRANS ? 'T' : 'N', M, N,
                                 K, alpha, A, lda, B, ldb, beta, C, ldc);
    return s == dnnl_success ? SF_OK : dnnl_fail(s, "sgemm", M, N, K);
}

/* Whether this product runs in bf16: with that precision set, when an operand is
 * a parameter or the product is large. */
static int use_bf16(const sf_cpu_gemm *g, int M, int N, int K, const float *A, const float *B)
{
    return g->prec == SF_PREC_BF16 &&
           (in_params(g, A) || in_params(g, B) || (double)M * N * K >= SF_BF16_MIN_MNK);
}

/* Whether oneDNN runs bf16 products in hardware on this CPU (AVX512-BF16 or AMX);
 * elsewhere they would be emulated, slower than f32. */
static int dnnl_bf16_native(void)
{
    dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
    return isa == dnnl_cpu_isa_avx512_core_bf16 || isa == dnnl_cpu_isa_avx512_core_amx;
}

#endif /* SEQFUSE_HAVE_DNNL */

sf_status sf_cpu_sgemm(sf_backend *be, sf_trans ta, sf_trans tb, int M, int N, int K,
                       float alpha, const float *A, int lda, const float *B, int ldb,
                       float beta, float *C, int ldc)
{
    SF_TRY(sf_backend_check_gemm(ta, tb, M, N, K, lda, ldb, ldc));
    if (M == 0 || N == 0)
        return SF_OK;
    if (K == 0) {
        scale_c(M, N, beta, C, ldc);
        return SF_OK;
    }
    sf_cpu_gemm *g = gemm_of(be);
#ifdef SEQFUSE_HAVE_DNNL
    if (use_bf16(g, M, N, K, A, B))
        return onednn_matmul(g, 1, ta, tb, M, N, K, alpha, A, lda, B, ldb, NULL, beta, C, ldc);
    if (g->use_dnnl)
        return dnnl_f32_gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#else
    (void)g;
#endif
    cblas_sgemm(CblasRowMajor, ta == SF_TRANS ? CblasTrans : CblasNoTrans,
                tb == SF_TRANS ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B, ldb,
                beta, C, ldc);
    return SF_OK;
}

sf_status sf_cpu_sgemm_bias(sf_backend *be, sf_trans ta, sf_trans tb, int M, int N, int K,
                            const float *A, int lda, const float *B, int ldb, const float *bias,
                            float *C, int ldc)
{
    SF_TRY(sf_backend_check_gemm(ta, tb, M, N, K, lda, ldb, ldc));
    if (M == 0 || N == 0)
        return SF_OK;
#ifdef SEQFUSE_HAVE_DNNL
    sf_cpu_gemm *g = gemm_of(be);
    if (K > 0 && (g->use_dnnl || g->prec == SF_PREC_BF16))
        return onednn_matmul(g, use_bf16(g, M, N, K, A, B), ta, tb, M, N, K, 1.0f, A, lda, B, ldb,
                           bias, 0.0f, C, ldc);
#endif
    SF_TRY(sf_cpu_sgemm(be, ta, tb, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C, ldc));
    for (int i = 0; i < M; i++) {
        float *row = C + (int64_t)i * ldc;
#pragma omp simd
        for (int j = 0; j < N; j++)
            row[j] += bias[j];
    }
    return SF_OK;
}

static void gemm_describe(sf_cpu_gemm *g)
{
#ifdef SEQFUSE_HAVE_DNNL
    const dnnl_version_t *v = dnnl_version();
    if (g->prec == SF_PREC_BF16) {
        snprintf(g->info, sizeof g->info, "oneDNN %d.%d.%d bf16 (%s), f32 for small products",
                 v->major, v->minor, v->patch,
                 dnnl_get_effective_cpu_isa() == dnnl_cpu_isa_avx512_core_amx ? "AMX"
                                                                              : "AVX512-BF16");
        return;
    }
    if (g->use_dnnl) {
        snprintf(g->info, sizeof g->info, "oneDNN %d.%d.%d f32", v->major, v->minor, v->patch);
        return;
    }
#endif
    snprintf(g->info, sizeof g->info, "OpenBLAS %s f32", openblas_get_config());
}

sf_status sf_cpu_gemm_create(sf_cpu_gemm **out)
{
    *out = NULL;
    sf_cpu_gemm *g = calloc(1, sizeof *g);
    if (!g)
        return SF_FAIL(SF_ERR_OOM, "could not allocate the CPU product state");
    /* SEQFUSE_CPU_GEMM=openblas|onednn picks the f32 library (default: oneDNN
     * when built with it), for comparisons and as an escape hatch. */
    const char *want = getenv("SEQFUSE_CPU_GEMM");
    if (want && *want && strcmp(want, "openblas") && strcmp(want, "onednn")) {
        free(g);
        return SF_FAIL(SF_ERR_INVALID_ARG, "SEQFUSE_CPU_GEMM=\"%s\": expected openblas or "
                       "onednn (or unset)", want);
    }
#ifdef SEQFUSE_HAVE_DNNL
    g->use_dnnl = !(want && !strcmp(want, "openblas"));
    if (dnnl_engine_create(&g->eng, dnnl_cpu, 0) != dnnl_success ||
        dnnl_stream_create(&g->stream, g->eng, dnnl_stream_default_flags) != dnnl_success) {
        sf_cpu_gemm_free(g);
        return SF_FAIL(SF_ERR_INTERNAL, "could not create oneDNN's CPU engine");
    }
#else
    if (want && !strcmp(want, "onednn")) {
        free(g);
        return SF_FAIL(SF_ERR_UNSUPPORTED, "SEQFUSE_CPU_GEMM=onednn, but this build has no "
                       "oneDNN (install libdnnl-dev and rebuild)");
    }
#endif
    gemm_describe(g);
    *out = g;
    return SF_OK;
}

void sf_cpu_gemm_free(sf_cpu_gemm *g)
{
    if (!g)
        return;
    for (int i = 0; i < SF_CPU_MAX_PARAM_RANGES; i++)
        free(g->ranges[i].shadow);
    free(g->scratch[0]);
    free(g->scratch[1]);
#ifdef SEQFUSE_HAVE_DNNL
    if (g->stream)
        dnnl_stream_destroy(g->stream);
    if (g->eng)
        dnnl_engine_destroy(g->eng);
#endif
    free(g);
}

sf_status sf_cpu_set_precision(sf_backend *be, sf_precision p)
{
    sf_cpu_gemm *g = gemm_of(be);
    if (p == SF_PREC_TF32)
        return SF_FAIL(SF_ERR_UNSUPPORTED, "matmul precision tf32 is for CUDA devices; on the "
                       "CPU use f32 or bf16");
    if (p == SF_PREC_BF16) {
#ifdef SEQFUSE_HAVE_DNNL
        if (!dnnl_bf16_native())
            return SF_FAIL(SF_ERR_UNSUPPORTED, "matmul precision bf16 needs a CPU with "
                           "AVX512-BF16 or AMX (this one has neither, so bf16 would be slower "
                           "than f32); use f32");
#else
        return SF_FAIL(SF_ERR_UNSUPPORTED, "matmul precision bf16 on the CPU needs oneDNN "
                       "(install libdnnl-dev and rebuild); use f32");
#endif
    }
    g->prec = p;
    gemm_describe(g);
    return SF_OK;
}

const char *sf_cpu_gemm_info(const sf_backend *be) { return ((sf_cpu_gemm *)be->impl)->info; }

void sf_cpu_params_register(sf_backend *be, const float *p, int64_t n)
{
    sf_cpu_gemm *g = gemm_of(be);
    for (int i = 0; i < SF_CPU_MAX_PARAM_RANGES; i++)
        if (g->ranges[i].base == p) { /* re-registering or unregistering (n = 0) */
            free(g->ranges[i].shadow);
            memset(&g->ranges[i], 0, sizeof g->ranges[i]);
        }
    if (!p || n <= 0)
        return;
    /* with every slot taken the range simply gets no shadow: products on it
     * convert per call, correct but slower */
    for (int i = 0; i < SF_CPU_MAX_PARAM_RANGES; i++)
        if (!g->ranges[i].base) {
            g->ranges[i].base = p;
            g->ranges[i].n = n;
            return;
        }
}

void sf_cpu_note_write(sf_backend *be, const void *dst, size_t bytes)
{
    sf_cpu_gemm *g = gemm_of(be);
    const char *d = dst;
    for (int i = 0; i < SF_CPU_MAX_PARAM_RANGES; i++) {
        sf_cpu_param_range *r = &g->ranges[i];
        const char *b = (const char *)r->base;
        if (r->base && d < b + (size_t)r->n * sizeof(float) && d + bytes > b)
            r->gen++;
    }
}
