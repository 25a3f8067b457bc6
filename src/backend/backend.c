/* backend.c: choosing and opening a backend from a device string, and the
 * checks shared by every backend (a complete op table, and the argument checks
 * of sgemm, the attention ops, the cell ops and beam_topk, so every backend words
 * them alike). */
#include "backend/backend.h"

#include "backend/cpu/cpu_ops.h"
#include "core/log.h"

#include <stdlib.h>
#include <string.h>

sf_status sf_backend_open(const char *spec, sf_backend **out)
{
    *out = NULL;
    if (!spec || strcmp(spec, "auto") == 0) {
        /* the GPU when one is visible and works, else the CPU */
        if (sf_cuda_compiled() && sf_cuda_device_count() > 0) {
            if (sf_cuda_backend_create(0, out) == SF_OK) {
                sf_log_info("device: cuda:0 (a GPU is visible; --device cpu to use the CPU)");
                return SF_OK;
            }
            sf_log_warn("device: the visible GPU could not be used (%s); using the CPU",
                        sf_last_error());
        }
        return sf_cpu_backend_create(out);
    }
    if (strcmp(spec, "cpu") == 0)
        return sf_cpu_backend_create(out);
    if (strncmp(spec, "cuda", 4) == 0) {
        int index = 0;
        if (spec[4] == ':') {
            char *end = NULL;
            long v = strtol(spec + 5, &end, 10);
            if (end == spec + 5 || *end != '\0' || v < 0 || v > 1023)
                return SF_FAIL(SF_ERR_INVALID_ARG, "bad device \"%s\" (expected auto, cpu, "
                               "cuda or cuda:N)", spec);
            index = (int)v;
        } else if (spec[4] != '\0') {
            return SF_FAIL(SF_ERR_INVALID_ARG, "bad device \"%s\" (expected auto, cpu, cuda "
                           "or cuda:N)", spec);
        }
        return sf_cuda_backend_create(index, out);
    }
    return SF_FAIL(SF_ERR_INVALID_ARG, "unknown device \"%s\" (expected auto, cpu, cuda or "
                   "cuda:N)", spec);
}

sf_status sf_backend_gemm_bias(sf_backend *be, sf_trans ta, sf_trans tb, int M, int N, int K,
                               const float *A, int lda, const float *B, int ldb,
                               const float *bias, float *C, int ldc)
{
    if (be->sgemm_bias)
        return be->sgemm_bias(be, ta, tb, M, N, K, A, lda, B, ldb, bias, C, ldc);
    if (ldc != N)
        return SF_FAIL(SF_ERR_INVALID_ARG, "gemm_bias: ldc %d != N %d without sgemm_bias",
                       ldc, N);
    SF_TRY(be->sgemm(be, ta, tb, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C, ldc));
    return be->add_rowvec(be, M, N, bias, C);
}

const char *const sf_precision_names[] = {"f32", "tf32", "bf16", NULL};

sf_status sf_backend_set_precision(sf_backend *be, sf_precision p)
{
    if ((int)p < 0 || p > SF_PREC_BF16)
        return SF_FAIL(SF_ERR_INVALID_ARG, "unknown matmul precision %d", (int)p);
    if (be->kind == SF_DEVICE_CPU)
        return sf_cpu_set_precision(be, p);
    if (p == SF_PREC_BF16)
        return SF_FAIL(SF_ERR_UNSUPPORTED, "matmul precision bf16 is not implemented on CUDA "
                       "devices yet; use tf32 or f32");
    return sf_cuda_backend_set_tf32(be, p == SF_PREC_TF32);
}

const char *sf_backend_gemm_info(const sf_backend *be)
{
    return be->kind == SF_DEVICE_CPU ? sf_cpu_gemm_info(be) : "cuBLAS";
}

void sf_backend_params_register(sf_backend *be, const float *p, int64_t n)
{
    if (be->kind == SF_DEVICE_CPU)
        sf_cpu_params_register(be, p, n);
}

void sf_backend_params_changed(sf_backend *be, const float *p, int64_t n)
{
    if (be->kind == SF_DEVICE_CPU && n > 0)
        sf_cpu_note_write(be, p, sizeof(float) * (size_t)n);
}

void sf_backend_close(sf_backend *be)
{
    if (be && be->destroy)
        be->destroy(be);
}

sf_status sf_backend_check_gemm(sf_trans ta, sf_trans tb, int M, int N, int K, int lda,
                                    int ldb, int ldc)
{
    int a_cols = ta == SF_NO_TRANS ? K : M;
    int b_cols = tb == SF_NO_TRANS ? N : K;
    if (M < 0 || N < 0 || K < 0 || lda < (a_cols > 1 ? a_cols : 1) ||
        ldb < (b_cols > 1 ? b_cols : 1) || ldc < (N > 1 ? N : 1))
        return sf_error(SF_ERR_INVALID_ARG, "sgemm: bad shape M=%d N=%d K=%d lda=%d ldb=%d "
                       "ldc=%d", M, N, K, lda, ldb, ldc);
    return SF_OK;
}

sf_status sf_backend_check_src_len(const char *fn, int B, int K, int S,
                                   const int32_t *src_len)
{
    if (B < 0 || K < 1 || S < 1)
        return sf_error(SF_ERR_INVALID_ARG, "%s: bad shape B=%d K=%d S=%d (need B >= 0, "
                        "K >= 1, S >= 1)", fn, B, K, S);
    for (int b = 0; b < B; b++)
        if (src_len[b] < 0 || src_len[b] > S)
            return sf_error(SF_ERR_INVALID_ARG, "%s: src_len[%d] = %d outside [0, S=%d]; "
                            "the memory must be padded to the longest source", fn, b,
                            src_len[b], S);
    return SF_OK;
}

/* A known cell type, B >= 0, h >= 1 and both gate strides >= G*h. */
static sf_status check_cell_shape(const char *fn, int cell, int B, int h, int ld1, int ld2)
{
    if (cell < 0 || cell > 2)
        return sf_error(SF_ERR_INVALID_ARG, "%s: unknown cell type %d (expected 0 rnn, 1 gru, "
                        "2 lstm)", fn, cell);
    int w = (cell == 2 ? 4 : cell == 1 ? 3 : 1) * h;
    if (B < 0 || h < 1 || ld1 < w || ld2 < w)
        return sf_error(SF_ERR_INVALID_ARG, "%s: bad shape B=%d h=%d strides %d, %d (expected "
                        "B >= 0, h >= 1, strides >= G*h = %d)", fn, B, h, ld1, ld2, w);
    return SF_OK;
}

sf_status sf_backend_check_cell_fwd(const char *fn, int cell, int B, int h, int ldxg, int ldhg,
                                    const float *c_prev, const float *c_out)
{
    SF_TRY(check_cell_shape(fn, cell, B, h, ldxg, ldhg));
    if (cell == 2 && (!c_prev || !c_out))
        return sf_error(SF_ERR_INVALID_ARG, "%s: lstm needs c_prev and c_out", fn);
    return SF_OK;
}

sf_status sf_backend_check_cell_bwd(const char *fn, int cell, int B, int h, int lddxg,
                                    int lddhg, const float *dhg, const float *h_prev,
                                    const float *c_prev)
{
    SF_TRY(check_cell_shape(fn, cell, B, h, lddxg, cell == 1 ? lddhg : lddxg));
    if ((cell == 1 && (!dhg || !h_prev)) || (cell == 2 && !c_prev))
        return sf_error(SF_ERR_INVALID_ARG, "%s: cell %d: missing dhg/h_prev (gru) or c_prev "
                        "(lstm)", fn, cell);
    return SF_OK;
}

sf_status sf_backend_check_gather(const char *fn, int n, int w, int lds, int ldd, float beta)
{
    if (n < 0 || w < 0 || lds < w || ldd < w || (beta != 0.0f && beta != 1.0f))
        return sf_error(SF_ERR_INVALID_ARG, "%s: bad gather n=%d w=%d lds=%d ldd=%d beta=%g "
                        "(expected strides >= w, beta 0 or 1)", fn, n, w, lds, ldd, beta);
    return SF_OK;
}

sf_status sf_backend_check_beam_topk(const char *fn, int G, const int32_t *nb, int V, int k2,
                                     int64_t *rows)
{
    *rows = 0;
    if (G < 0 || V < 1 || k2 < 1 || (G > 0 && !nb))
        return sf_error(SF_ERR_INVALID_ARG, "%s: bad shape G=%d V=%d k2=%d (expected G >= 0, "
                        "V >= 1, k2 >= 1, nb given)", fn, G, V, k2);
    for (int g = 0; g < G; g++) {
        if (nb[g] < 1 || *rows + nb[g] > INT32_MAX)
            return sf_error(SF_ERR_INVALID_ARG, "%s: group %d has %d rows (expected >= 1, "
                            "and fewer than 2^31 rows in all)", fn, g, (int)nb[g]);
        *rows += nb[g];
    }
    return SF_OK;
}

sf_status sf_backend_check_complete(const sf_backend *be)
{
#define SF_BACKEND_OP(f) {#f, be->f != NULL}
    const struct {
        const char *name;
        int set;
    } ops[] = {
        SF_BACKEND_OP(alloc),  SF_BACKEND_OP(free),       SF_BACKEND_OP(upload),
        SF_BACKEND_OP(download), SF_BACKEND_OP(sync),     SF_BACKEND_OP(sgemm),
        SF_BACKEND_OP(sgemm_strided), SF_BACKEND_OP(fill), SF_BACKEND_OP(copy),
        SF_BACKEND_OP(axpy),   SF_BACKEND_OP(scale),      SF_BACKEND_OP(mul),
        SF_BACKEND_OP(copy2d), SF_BACKEND_OP(add_rowvec), SF_BACKEND_OP(colsum_acc),
        SF_BACKEND_OP(sumsq),  SF_BACKEND_OP(adam),       SF_BACKEND_OP(destroy),
        /* attention, loss, embedding */
        SF_BACKEND_OP(attn_softmax_fwd), SF_BACKEND_OP(attn_softmax_bwd),
        SF_BACKEND_OP(attn_mlp_score_fwd), SF_BACKEND_OP(attn_mlp_score_bwd),
        SF_BACKEND_OP(bias_act_fwd), SF_BACKEND_OP(bias_act_bwd), SF_BACKEND_OP(xent_fwd_bwd),
        SF_BACKEND_OP(log_softmax), SF_BACKEND_OP(embed_fwd), SF_BACKEND_OP(embed_bwd),
        /* recurrent cells */
        SF_BACKEND_OP(cell_fwd), SF_BACKEND_OP(cell_bwd), SF_BACKEND_OP(gather_rows),
        /* beam search */
        SF_BACKEND_OP(beam_topk),
    };
#undef SF_BACKEND_OP
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
        if (!ops[i].set)
            return SF_FAIL(SF_ERR_INTERNAL, "backend %s lacks op %s (NULL in its table); "
                           "every op in backend.h must be set by the backend's create",
                           be->name ? be->name : "(unnamed)", ops[i].name);
    return SF_OK;
}
