/* cuda_topk.c: the CUDA twin of beam_topk (CPU: src/backend/cpu/cpu_topk.c;
 * kernels in kernels/topk.cu). One host-to-device copy of the rows' beam
 * log-probs and group offsets, two kernels, and one device-to-host copy of the
 * [G, k2] results: the [rows, V] log-probs never leave the device. */
#include <stdlib.h>
#include <string.h>

#include "backend/cuda/cuda_impl.h"
#include "core/topk.h"

/* Byte offsets of beam_topk's arrays, each 16-aligned: the inputs (uploaded in
 * one copy), the per-row scratch, and the results (read back in one copy). */
typedef struct topk_layout {
    size_t blp, off, in_end;               /* [rows] double, [G+1] int32 */
    size_t row_cand, row_n, head, bad_val; /* [rows*k2] items, [rows] x3 */
    size_t bad, n_out, out, end;           /* u64, [G] int32, [G*k2] items */
} topk_layout;

static size_t a16(size_t n) { return (n + 15) / 16 * 16; }

static topk_layout topk_layout_of(int G, int64_t rows, int k2)
{
    topk_layout L;
    const size_t R = (size_t)rows, item = sizeof(sf_topk_item);
    L.blp = 0;
    L.off = L.blp + a16(R * sizeof(double));
    L.in_end = L.off + a16(((size_t)G + 1) * sizeof(int32_t));
    L.row_cand = L.in_end;
    L.row_n = L.row_cand + a16(R * (size_t)k2 * item);
    L.head = L.row_n + a16(R * sizeof(int32_t));
    L.bad_val = L.head + a16(R * sizeof(int32_t));
    L.bad = L.bad_val + a16(R * sizeof(float));
    L.n_out = L.bad + a16(sizeof(unsigned long long));
    L.out = L.n_out + a16((size_t)G * sizeof(int32_t));
    L.end = L.out + a16((size_t)G * (size_t)k2 * item);
    return L;
}

/* The backend's host staging of at least `bytes`. */
static sf_status topk_host(cuda_backend *cb, size_t bytes, char **out)
{
    if (cb->topk_host_bytes < bytes) {
        void *p = realloc(cb->topk_host, bytes);
        if (!p)
            return SF_FAIL(SF_ERR_OOM, "could not allocate %zu bytes of host staging", bytes);
        cb->topk_host = p;
        cb->topk_host_bytes = bytes;
    }
    *out = cb->topk_host;
    return SF_OK;
}

/* The error for the first bad log-prob, flat index bad = r*V + v: its value and
 * group read back, worded as the CPU twin's. off: [G+1] host */
static sf_status topk_bad(cuda_backend *cb, const char *dev, const topk_layout *L,
                          const int32_t *off, int G, int V, unsigned long long bad)
{
    int64_t r = (int64_t)(bad / (unsigned long long)V);
    int32_t v = (int32_t)(bad % (unsigned long long)V);
    float val = 0.0f;
    SF_CUDA_CHECK(cudaMemcpyAsync(&val, dev + L->bad_val + (size_t)r * sizeof(float),
                                  sizeof val, cudaMemcpyDeviceToHost, cb->stream));
    SF_CUDA_CHECK(cudaStreamSynchronize(cb->stream));
    int g = 0;
    while (g + 1 < G && off[g + 1] <= r)
        g++;
    sf_status st = sf_topk_bad_logprob("sf_kernel_beam_topk", val, (int32_t)(r - off[g]), v);
    return sf_error_prefix(st, "cuda_beam_topk: group %d (rows from %d)", g, (int)off[g]);
}

// x: [rows, V] device; nb: [G]; beam_lp: [rows]; score, beam, token: [G, k2]; n_out: [G]
static sf_status cuda_beam_topk(sf_backend *be, int G, const int32_t *nb, int V, int k2,
                                int raw, uint32_t ban, const float *x, const double *beam_lp,
                                double *score, int32_t *beam, int32_t *token, int32_t *n_out)
{
    int64_t rows = 0;
    SF_TRY(sf_backend_check_beam_topk(__func__, G, nb, V, k2, &rows));
    if (G == 0)
        return SF_OK;
    SF_TRY(cuda_enter(be));
    cuda_backend *cb = cuda_impl(be);
    topk_layout L = topk_layout_of(G, rows, k2);
    char *host = NULL, *dev = NULL;
    SF_TRY(topk_host(cb, L.in_end + (L.end - L.bad), &host));
    SF_TRY(sf_cuda_work(cb, CUDA_WORK_TOPK, L.end, (void **)&dev));
    memcpy(host + L.blp, beam_lp, (size_t)rows * sizeof(double));
    int32_t *off = (int32_t *)(host + L.off);
    off[0] = 0;
    for (int g = 0; g < G; g++)
        off[g + 1] = off[g] + nb[g];
    SF_CUDA_CHECK(cudaMemcpyAsync(dev, host, L.in_end, cudaMemcpyHostToDevice, cb->stream));
    SF_CUDA_CHECK(sf_kernel_beam_topk(
        G, rows, V, k2, raw, ban, x, (const double *)(dev + L.blp),
        (const int32_t *)(dev + L.off), (sf_topk_item *)(dev + L.row_cand),
        (int32_t *)(dev + L.row_n), (int32_t *)(dev + L.head), (float *)(dev + L.bad_val),
        (unsigned long long *)(dev + L.bad), (sf_topk_item *)(dev + L.out),
        (int32_t *)(dev + L.n_out), cb->stream));
    char *res = host + L.in_end; /* the results: [bad, n_out, out] as on the device */
    SF_CUDA_CHECK(cudaMemcpyAsync(res, dev + L.bad, L.end - L.bad, cudaMemcpyDeviceToHost,
                                  cb->stream));
    SF_CUDA_CHECK(cudaStreamSynchronize(cb->stream));
    unsigned long long bad;
    memcpy(&bad, res, sizeof bad);
    if (bad != ~0ull)
        return topk_bad(cb, dev, &L, off, G, V, bad);
    const int32_t *n = (const int32_t *)(res + (L.n_out - L.bad));
    const sf_topk_item *it = (const sf_topk_item *)(res + (L.out - L.bad));
    for (int g = 0; g < G; g++) {
        n_out[g] = n[g];
        for (int32_t i = 0; i < n[g]; i++) {
            int64_t at = (int64_t)g * k2 + i;
            score[at] = it[at].score, beam[at] = it[at].beam, token[at] = it[at].token;
        }
    }
    return SF_OK;
}

void sf_cuda_install_topk_op(sf_backend *be)
{
    be->beam_topk = cuda_beam_topk;
}
