/* cuda_nn_ops.c: the CUDA twins of the attention, loss and embedding ops (CPU
 * reference: src/backend/cpu/cpu_attn.c; kernels in kernels/{attention,loss,
 * embed}.cu). src_len is a host array (checked here, copied to a cached device
 * buffer); ids and targets are device arrays, range-checked on the device, the
 * first bad row read back, so errors carry the CPU's row and value. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cuda/cuda_impl.h"

sf_status sf_cuda_work(cuda_backend *cb, cuda_work_slot slot, size_t bytes, void **out)
{
    *out = NULL;
    if (cb->work_bytes[slot] < bytes) {
        if (cb->capturing)
            return SF_FAIL(SF_ERR_INTERNAL, "work buffer %d must grow to %zu bytes while a "
                           "graph is recorded (it cannot wait for the device); run the same "
                           "ops once without recording first", (int)slot, bytes);
        SF_CUDA_CHECK(cudaStreamSynchronize(cb->stream)); /* the old buffer may be in use */
        SF_CUDA_CHECK(cudaFree(cb->work[slot]));
        cb->work[slot] = NULL;
        cb->work_bytes[slot] = 0;
        size_t want = bytes < 4096 ? 4096 : bytes + bytes / 2; /* room to grow */
        cudaError_t err = cudaMalloc(&cb->work[slot], want);
        if (err == cudaErrorMemoryAllocation)
            return sf_cuda_oom(want, cb->be.name, __func__);
        SF_CUDA_CHECK(err);
        cb->work_bytes[slot] = want;
    }
    *out = cb->work[slot];
    return SF_OK;
}

/* ------------------------------------------------------------- attention */

/* Lengths up to this have a fixed device table (iota[i] = i) to point into. */
#define CUDA_IOTA_CAP 65536

/* *dev = a device int32 holding L (one sentence's src_len, L < CUDA_IOTA_CAP): a
 * pointer into the table, made on first use and never moved (graphs may hold
 * pointers into it), so steps that attend one sentence at a time never wait. */
static sf_status src_len_one(cuda_backend *cb, int32_t L, const int32_t **dev)
{
    if (!cb->iota) {
        if (cb->capturing)
            return SF_FAIL(SF_ERR_INTERNAL, "the length table is made while a graph is "
                           "recorded; run the same ops once without recording first");
        int32_t *host = malloc(sizeof(int32_t) * CUDA_IOTA_CAP), *table = NULL;
        if (!host)
            return SF_FAIL(SF_ERR_OOM, "could not allocate the length table");
        for (int i = 0; i < CUDA_IOTA_CAP; i++)
            host[i] = i;
        cudaError_t err = cudaMalloc((void **)&table, sizeof(int32_t) * CUDA_IOTA_CAP);
        if (err == cudaSuccess)
            err = cudaMemcpy(table, host, sizeof(int32_t) * CUDA_IOTA_CAP,
                             cudaMemcpyHostToDevice);
        free(host);
        if (err != cudaSuccess) {
            (void)cudaFree(table);
            return sf_cuda_fail(err, "making the length table", __FILE__, __LINE__, __func__);
        }
        cb->iota = table;
    }
    *dev = cb->iota + L;
    return SF_OK;
}

/* Checks the host array src_len [B] (sf_backend_check_src_len: the CPU's
 * message) and sets *dev to a device copy (NULL when B == 0). B = 1 points into
 * a table of lengths (src_len_one). Otherwise the backend keeps the last array
 * uploaded, with a host copy: the same lengths again (every step of a batch)
 * cost a memcmp; new ones wait for the stream (the pending upload may still
 * read the host copy), then are copied into it and uploaded from there. The
 * caller's array is not read after return. */
static sf_status src_len_to_device(sf_backend *be, const char *fn, int B, int K, int S,
                                   const int32_t *src_len, const int32_t **dev)
{
    *dev = NULL;
    SF_TRY(sf_backend_check_src_len(fn, B, K, S, src_len));
    if (B == 0)
        return SF_OK;
    SF_TRY(cuda_enter(be));
    cuda_backend *cb = cuda_impl(be);
    if (B == 1 && src_len[0] < CUDA_IOTA_CAP)
        return src_len_one(cb, src_len[0], dev);
    size_t bytes = (size_t)B * sizeof(int32_t);
    if (cb->len_count != B || memcmp(cb->len_host, src_len, bytes) != 0) {
        if (cb->capturing)
            return SF_FAIL(SF_ERR_INTERNAL, "%s: src_len of %d sentences is new while a graph "
                           "is recorded; run the same ops once without recording first", fn,
                           B);
        SF_CUDA_CHECK(cudaStreamSynchronize(cb->stream));
        cb->len_count = 0;
        if (cb->len_cap < B) {
            int32_t *grown = realloc(cb->len_host, bytes);
            if (!grown)
                return SF_FAIL(SF_ERR_OOM, "could not allocate %zu bytes for src_len", bytes);
            cb->len_host = grown;
            cb->len_cap = B;
        }
        void *buf = NULL;
        SF_TRY(sf_cuda_work(cb, CUDA_WORK_SRC_LEN, bytes, &buf));
        memcpy(cb->len_host, src_len, bytes);
        SF_CUDA_CHECK(cudaMemcpyAsync(buf, cb->len_host, bytes, cudaMemcpyHostToDevice,
                                      cb->stream));
        cb->len_count = B;
    }
    *dev = cb->work[CUDA_WORK_SRC_LEN];
    return SF_OK;
}

// scores, align: [B*K, S]; src_len: [B] host
static sf_status cuda_attn_softmax_fwd(sf_backend *be, int B, int K, int S,
                                       const int32_t *src_len, const float *scores,
                                       float *align)
{
    const int32_t *len = NULL;
    SF_TRY(src_len_to_device(be, __func__, B, K, S, src_len, &len));
    SF_CUDA_CHECK(sf_kernel_attn_softmax_fwd((int64_t)B * K, K, S, len, scores, align,
                                             cuda_impl(be)->stream));
    return SF_OK;
}

// align, dalign, dscores: [R, S]
static sf_status cuda_attn_softmax_bwd(sf_backend *be, int64_t R, int S, const float *align,
                                       const float *dalign, float *dscores)
{
    if (R <= 0 || S <= 0)
        return SF_OK;
    SF_TRY(cuda_enter(be));
    SF_CUDA_CHECK(sf_kernel_attn_softmax_bwd(R, S, align, dalign, dscores,
                                             cuda_impl(be)->stream));
    return SF_OK;
}

// keys: [B, S, H]; q: [B*K, H]; b_q, v: [H]; scores: [B*K, S]; src_len: [B] host
static sf_status cuda_attn_mlp_score_fwd(sf_backend *be, int B, int K, int S, int H,
                                         const int32_t *src_len, const float *keys,
                                         const float *q, const float *b_q, const float *v,
                                         float *scores)
{
    const int32_t *len = NULL;
    SF_TRY(src_len_to_device(be, __func__, B, K, S, src_len, &len));
    SF_CUDA_CHECK(sf_kernel_attn_mlp_score_fwd(B, K, S, H, len, keys, q, b_q, v, scores,
                                               cuda_impl(be)->stream));
    return SF_OK;
}

/* dq [B*K, H] overwritten; dkeys [B, S, H], db_q [H], dv [H] (+=; NULL skips).
 * db_q and dv are column sums (in double, no atomics) of dq and of the kernel's
 * per-row dv parts. dscores: [B*K, S]; src_len: [B] host */
static sf_status cuda_attn_mlp_score_bwd(sf_backend *be, int B, int K, int S, int H,
                                         const int32_t *src_len, const float *keys,
                                         const float *q, const float *b_q, const float *v,
                                         const float *dscores, float *dq, float *dkeys,
                                         float *db_q, float *dv)
{
    const int32_t *len = NULL;
    SF_TRY(src_len_to_device(be, __func__, B, K, S, src_len, &len));
    if (B == 0 || H <= 0)
        return SF_OK;
    cuda_backend *cb = cuda_impl(be);
    int64_t R = (int64_t)B * K;
    void *dvpart = NULL; // [R, H]
    if (dv)
        SF_TRY(sf_cuda_work(cb, CUDA_WORK_ROWS, (size_t)R * H * sizeof(float), &dvpart));
    SF_CUDA_CHECK(sf_kernel_attn_mlp_score_bwd(B, K, S, H, len, keys, q, b_q, v, dscores, dq,
                                               dkeys, dvpart, cb->stream));
    if (db_q)
        SF_CUDA_CHECK(sf_kernel_colsum_acc(R, H, dq, H, db_q, cb->stream));
    if (dv)
        SF_CUDA_CHECK(sf_kernel_colsum_acc(R, H, dvpart, H, dv, cb->stream));
    return SF_OK;
}

// x: [N, H]; bias: [H] or NULL
static sf_status cuda_bias_act_fwd(sf_backend *be, int64_t N, int H, int use_tanh,
                                   const float *bias, float *x)
{
    if (N <= 0 || H <= 0)
        return SF_OK;
    SF_TRY(cuda_enter(be));
    SF_CUDA_CHECK(sf_kernel_bias_act_fwd(N, H, use_tanh, bias, x, cuda_impl(be)->stream));
    return SF_OK;
}

// y, dy, dx: [N, H]; dbias: [H] (+= column sums of dx, in double) or NULL
static sf_status cuda_bias_act_bwd(sf_backend *be, int64_t N, int H, int use_tanh,
                                   const float *y, const float *dy, float *dx, float *dbias)
{
    if (N <= 0 || H <= 0)
        return SF_OK;
    SF_TRY(cuda_enter(be));
    cudaStream_t s = cuda_impl(be)->stream;
    SF_CUDA_CHECK(sf_kernel_bias_act_bwd(N, H, use_tanh, y, dy, dx, s));
    if (dbias)
        SF_CUDA_CHECK(sf_kernel_colsum_acc(N, H, dx, H, dbias, s));
    return SF_OK;
}

/* ------------------------------------------------------- loss, embedding */

/* Reads the backend's result block back (waits for the stream). When the range
 * check of ids [N] (device) failed, fetches the bad value and returns the CPU
 * backend's SF_ERR_INVALID_ARG message naming row and value. While a graph is
 * recorded nothing can be read: the caller has checked the ids (backend.h). */
static sf_status read_result(sf_backend *be, const char *fn, const char *what,
                             const int32_t *ids, int V, sf_kernel_result *out)
{
    cuda_backend *cb = cuda_impl(be);
    if (cb->capturing)
        return SF_OK;
    SF_CUDA_CHECK(cudaMemcpyAsync(out, cb->result, sizeof *out, cudaMemcpyDeviceToHost,
                                  cb->stream));
    SF_CUDA_CHECK(cudaStreamSynchronize(cb->stream));
    if (out->bad_row == SF_KERNEL_NO_BAD_ROW)
        return SF_OK;
    int32_t value = 0;
    SF_CUDA_CHECK(cudaMemcpyAsync(&value, ids + out->bad_row, sizeof value,
                                  cudaMemcpyDeviceToHost, cb->stream));
    SF_CUDA_CHECK(cudaStreamSynchronize(cb->stream));
    return sf_error(SF_ERR_INVALID_ARG, "%s: %s at row %llu is %d, outside [0, V=%d); check "
                    "that the data was encoded with this model's vocabulary", fn, what,
                    out->bad_row, (int)value, V);
}

/* logits, dlogits: [N, V]; targets: [N] device. Host sums written only on success. */
static sf_status cuda_xent_fwd_bwd(sf_backend *be, int64_t N, int V, const float *logits,
                                   const int32_t *targets, float eps, float grad_scale,
                                   float *dlogits, double *loss_sum, double *nll_sum,
                                   int64_t *ntok)
{
    sf_kernel_result res = {SF_KERNEL_NO_BAD_ROW, {0.0, 0.0}, 0};
    if (cuda_impl(be)->capturing)
        return SF_FAIL(SF_ERR_INTERNAL, "the loss sums go to the host, so this op cannot be "
                       "recorded into a graph");
    if (N > 0) {
        SF_TRY(cuda_enter(be));
        cuda_backend *cb = cuda_impl(be);
        void *rows = NULL; // [N, 2] doubles
        SF_TRY(sf_cuda_work(cb, CUDA_WORK_ROWS, (size_t)N * 2 * sizeof(double), &rows));
        SF_CUDA_CHECK(sf_kernel_check_ids(N, targets, V, cb->result, cb->stream));
        SF_CUDA_CHECK(sf_kernel_xent_fwd_bwd(N, V, logits, targets, eps, grad_scale, dlogits,
                                             rows, cb->result, cb->stream));
        SF_TRY(read_result(be, __func__, "target", targets, V, &res));
    }
    *loss_sum = res.sum[0];
    *nll_sum = res.sum[1];
    *ntok = res.count;
    return SF_OK;
}

// x, out: [N, V]
static sf_status cuda_log_softmax(sf_backend *be, int64_t N, int V, const float *x, float *out)
{
    if (N <= 0 || V <= 0)
        return SF_OK;
    SF_TRY(cuda_enter(be));
    SF_CUDA_CHECK(sf_kernel_log_softmax(N, V, x, out, cuda_impl(be)->stream));
    return SF_OK;
}

// table: [V, E]; ids: [N] device; out: [N, ldo]. Waits for the check's result.
static sf_status cuda_embed_fwd(sf_backend *be, int64_t N, int E, const float *table, int V,
                                const int32_t *ids, float *out, int ldo)
{
    if (N <= 0)
        return SF_OK;
    SF_TRY(cuda_enter(be));
    cuda_backend *cb = cuda_impl(be);
    SF_CUDA_CHECK(sf_kernel_check_ids(N, ids, V, cb->result, cb->stream));
    SF_CUDA_CHECK(sf_kernel_embed_fwd(N, E, table, ids, out, ldo, cb->result, cb->stream));
    sf_kernel_result res;
    return read_result(be, __func__, "id", ids, V, &res);
}

/* dout: [N, lddo]; ids: [N] device; dtable: [V, E] (+=, row 0 never). Without
 * atomics (the CPU's order, bit for bit) unless the backend's deterministic
 * setting is off. Waits for the check's result. */
static sf_status cuda_embed_bwd(sf_backend *be, int64_t N, int E, const float *dout, int lddo,
                                const int32_t *ids, float *dtable, int V)
{
    if (N <= 0)
        return SF_OK;
    SF_TRY(cuda_enter(be));
    cuda_backend *cb = cuda_impl(be);
    SF_CUDA_CHECK(sf_kernel_check_ids(N, ids, V, cb->result, cb->stream));
    SF_CUDA_CHECK(sf_kernel_embed_bwd(N, E, dout, lddo, ids, dtable, cb->deterministic,
                                      cb->result, cb->stream));
    sf_kernel_result res;
    return read_result(be, __func__, "id", ids, V, &res);
}

void sf_cuda_install_nn_ops(sf_backend *be)
{
    be->attn_softmax_fwd = cuda_attn_softmax_fwd;
    be->attn_softmax_bwd = cuda_attn_softmax_bwd;
    be->attn_mlp_score_fwd = cuda_attn_mlp_score_fwd;
    be->attn_mlp_score_bwd = cuda_attn_mlp_score_bwd;
    be->bias_act_fwd = cuda_bias_act_fwd;
    be->bias_act_bwd = cuda_bias_act_bwd;
    be->xent_fwd_bwd = cuda_xent_fwd_bwd;
    be->log_softmax = cuda_log_softmax;
    be->embed_fwd = cuda_embed_fwd;
    be->embed_bwd = cuda_embed_bwd;
}
