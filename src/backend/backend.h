/* backend.h: the table of device operations. Only the backend knows which
 * device runs an op; model, search and training code call through this table.
 * Pointers passed to ops are device pointers of that backend (host memory for
 * the CPU backend). Matrices are row-major. */
#ifndef SF_BACKEND_BACKEND_H
#define SF_BACKEND_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "core/status_internal.h"

typedef enum sf_device_kind {
    SF_DEVICE_CPU = 0,
    SF_DEVICE_CUDA = 1,
} sf_device_kind;

typedef enum sf_trans {
    SF_NO_TRANS = 0,
    SF_TRANS = 1,
} sf_trans;

typedef struct sf_backend sf_backend;

/* The arguments of the vendor recurrent-layer ops (rnn_layer_*): one direction of
 * one layer (nn/rnn.h), rows in processing order (step s of sequence b is row
 * s*B + b), every pointer a device pointer except len. */
typedef struct sf_rnn_layer_io {
    int cell, T, B, in, h;        /* cell: 0 rnn (tanh), 1 gru, 2 lstm */
    const int32_t *len;           /* [B] host, each in 1..T */
    const int32_t *dev_len;       /* [B] device copy of len */
    const float *w_ih, *w_hh, *b_ih, *b_hh; /* PyTorch layout (nn/rnn.h) */
    const float *x;               /* [T*B, in] */
    const float *h0, *c0;         /* [B, h] or NULL (zeros; c0: lstm only) */
    float *y;                     /* [T*B, h]: fwd writes it (0 at pads), bwd reads it */
    float *hT, *cT;               /* [B, h] fwd out (after each sequence's last step), or NULL */
    void *reserve;                /* [reserve_bytes] fwd writes, bwd reads (rnn_layer_reserve) */
    size_t reserve_bytes;
    const float *dy;              /* [T*B, h] bwd in (pads ignored) */
    const float *dhT, *dcT;       /* [B, h] bwd in, or NULL (zeros) */
    float *dx;                    /* [T*B, in] bwd_data out (=) */
    float *dh0, *dc0;             /* [B, h] bwd_data out (=), or NULL */
    float *gw_ih, *gw_hh, *gb_ih, *gb_hh; /* bwd_weights: += the weight gradients */
} sf_rnn_layer_io;

/* A recorded sequence of a backend's ops that can be replayed (CUDA graphs). */
typedef struct sf_graph sf_graph;

struct sf_backend {
    const char *name;          /* "cpu", "cuda:0" */
    sf_device_kind kind;
    int device_index;
    void *impl;                /* backend-private state (handles, streams) */

    /* memory */
    sf_status (*alloc)(sf_backend *be, size_t bytes, void **out);
    void (*free)(sf_backend *be, void *ptr);
    sf_status (*upload)(sf_backend *be, void *dst_dev, const void *src_host, size_t bytes);
    sf_status (*download)(sf_backend *be, void *dst_host, const void *src_dev, size_t bytes);
    sf_status (*sync)(sf_backend *be);

    /* C[M,N] = alpha * op(A) op(B) + beta * C, row-major with leading dims.
     * op(A) is [M,K], op(B) is [K,N]. */
    sf_status (*sgemm)(sf_backend *be, sf_trans ta, sf_trans tb, int M, int N, int K,
                       float alpha, const float *A, int lda, const float *B, int ldb,
                       float beta, float *C, int ldc);
    /* Same over `batch` matrices spaced by strides (in elements). */
    sf_status (*sgemm_strided)(sf_backend *be, sf_trans ta, sf_trans tb, int M, int N,
                               int K, float alpha, const float *A, int lda, int64_t sa,
                               const float *B, int ldb, int64_t sb, float beta, float *C,
                               int ldc, int64_t sc, int batch);
    /* Optional (NULL: use sf_backend_gemm_bias, which falls back to sgemm then
     * add_rowvec): C[M,N] = op(A) op(B) + bias on every row, in one pass over C.
     * bias: [N] */
    sf_status (*sgemm_bias)(sf_backend *be, sf_trans ta, sf_trans tb, int M, int N, int K,
                            const float *A, int lda, const float *B, int ldb,
                            const float *bias, float *C, int ldc);
    /* x[0..n) = v */
    sf_status (*fill)(sf_backend *be, float *x, int64_t n, float v);
    /* dst[0..n) = src[0..n) */
    sf_status (*copy)(sf_backend *be, float *dst, const float *src, int64_t n);
    /* y += a * x */
    sf_status (*axpy)(sf_backend *be, int64_t n, float a, const float *x, float *y);
    /* x *= a */
    sf_status (*scale)(sf_backend *be, int64_t n, float a, float *x);
    /* z = x * y element-wise (z may alias x or y) */
    sf_status (*mul)(sf_backend *be, int64_t n, const float *x, const float *y, float *z);
    /* dst[r, 0..cols) = src[r, 0..cols) for r < rows, with row strides */
    sf_status (*copy2d)(sf_backend *be, int64_t rows, int cols, const float *src, int lds,
                        float *dst, int ldd);
    /* x[r, c] += bias[c] for x [rows, cols] (contiguous) */
    sf_status (*add_rowvec)(sf_backend *be, int64_t rows, int cols, const float *bias, float *x);
    /* out[c] += sum_r x[r, c] for x [rows, cols] with row stride ldx */
    sf_status (*colsum_acc)(sf_backend *be, int64_t rows, int cols, const float *x, int ldx,
                            float *out);
    /* Adam (PyTorch's formula) on n parameters; g is multiplied by gscale
     * first (gradient clipping). bc1 = 1 - b1^step, bc2 = 1 - b2^step. */
    sf_status (*adam)(sf_backend *be, int64_t n, float *p, const float *g, float *m, float *v,
                      float gscale, float lr, float b1, float b2, float eps, float bc1,
                      float bc2);
    /* sum of squares of x[0..n), accumulated in double, written to host *out */
    sf_status (*sumsq)(sf_backend *be, int64_t n, const float *x, double *out);

    /* attention, loss, embedding (src/nn/attention.c, loss.c, embedding.c) */
    /* Rows r = b*K + j: K query rows per sentence b (beam width; 1 in training)
     * share that sentence's source memory and src_len[b] (0 <= src_len[b] <= S).
     * src_len: HOST array on every backend (the batch owns it; the CUDA backend
     * copies it to a device buffer inside the op, so it may change on return).
     * ids, targets: DEVICE arrays (uploaded with be->upload), like the floats. */
    /* Masked softmax over s < src_len[b]; align is exactly 0 beyond (an empty
     * row is all 0). May run in place. scores, align: [B*K, S]; src_len: [B] host */
    sf_status (*attn_softmax_fwd)(sf_backend *be, int B, int K, int S,
                                  const int32_t *src_len, const float *scores, float *align);
    /* dscores = align * (dalign - sum_s align*dalign); may run in place.
     * align, dalign, dscores: [R, S] */
    sf_status (*attn_softmax_bwd)(sf_backend *be, int64_t R, int S, const float *align,
                                  const float *dalign, float *dscores);
    /* Additive score: scores[r,s] = v . tanh(q[r] + b_q + keys[b,s]) for s < src_len[b],
     * 0 beyond. keys: [B, S, H]; q: [B*K, H] (W_q h); b_q, v: [H]; scores: [B*K, S];
     * src_len: [B] host */
    sf_status (*attn_mlp_score_fwd)(sf_backend *be, int B, int K, int S, int H,
                                    const int32_t *src_len, const float *keys, const float *q,
                                    const float *b_q, const float *v, float *scores);
    /* Its backward: dq [B*K, H] overwritten; dkeys [B, S, H], db_q [H], dv [H]
     * accumulated (+=; db_q and dv may be NULL). dscores: [B*K, S]; src_len: [B] host */
    sf_status (*attn_mlp_score_bwd)(sf_backend *be, int B, int K, int S, int H,
                                    const int32_t *src_len, const float *keys, const float *q,
                                    const float *b_q, const float *v, const float *dscores,
                                    float *dq, float *dkeys, float *db_q, float *dv);
    /* x = act(x + bias) in place; act tanh if use_tanh else identity; bias [H] or
     * NULL. x: [N, H] */
    sf_status (*bias_act_fwd)(sf_backend *be, int64_t N, int H, int use_tanh,
                              const float *bias, float *x);
    /* dx = dy * act'(y) with y the forward output (dx may alias dy); dbias [H] +=
     * column sums of dx when non-NULL. y, dy, dx: [N, H] */
    sf_status (*bias_act_bwd)(sf_backend *be, int64_t N, int H, int use_tanh, const float *y,
                              const float *dy, float *dx, float *dbias);
    /* Label-smoothed cross-entropy, fused with softmax. logits [N, V]; targets [N]
     * (device; 0 = pad: skipped). Per token (1-eps)(-log p_gold) + eps/V sum_v(-log p_v).
     * Sets host *loss_sum, *nll_sum (summed in double) and *ntok. dlogits [N, V]
     * (may alias logits, or NULL for forward only) = grad_scale * dloss/dlogits,
     * pad rows 0. A target outside [0, V) is SF_ERR_INVALID_ARG naming row and value,
     * nothing written. CUDA: waits for its sums (one stream sync per call). */
    sf_status (*xent_fwd_bwd)(sf_backend *be, int64_t N, int V, const float *logits,
                              const int32_t *targets, float eps, float grad_scale,
                              float *dlogits, double *loss_sum, double *nll_sum,
                              int64_t *ntok);
    /* out = x - logsumexp(x) per row; may run in place. x, out: [N, V] */
    sf_status (*log_softmax)(sf_backend *be, int64_t N, int V, const float *x, float *out);
    /* out[n, 0:E] = table[ids[n]] (row stride ldo). table: [V, E]; ids: [N] (device).
     * An id outside [0, V) is SF_ERR_INVALID_ARG naming row and value, nothing
     * written (CUDA: checked on the device, one stream sync per call; so in bwd). */
    sf_status (*embed_fwd)(sf_backend *be, int64_t N, int E, const float *table, int V,
                           const int32_t *ids, float *out, int ldo);
    /* dtable[ids[n]] += dout[n, 0:E] (row stride lddo), skipping id 0 (pad row
     * never changes); deterministic (the CPU's order of adds; on CUDA unless
     * sf_cuda_backend_set_deterministic(be, 0)). dtable: [V, E]; ids: [N] (device) */
    sf_status (*embed_bwd)(sf_backend *be, int64_t N, int E, const float *dout, int lddo,
                           const int32_t *ids, float *dtable, int V);

    /* cells (src/nn/rnn.c): the fused pointwise half of a recurrent step, for
     * B rows of width h. cell is an sf_cell_type (nn/rnn.h): 0 rnn, 1 gru, 2 lstm;
     * G = 1, 3, 4 gates in PyTorch's order (gru r,z,n; lstm i,f,g,o).
     * saved: [B, S] per-row activations kept for the backward, S = h (rnn: h'),
     * 4h (gru: r z n, W_hn h + b_hn), 5h (lstm: i f g o, tanh(c')).
     * mask: [B] DEVICE array like the floats (NULL = all 1; rnn.c keeps the layer's
     * masks in its cache, a step's come from its caller); a 0 row copies
     * h_prev/c_prev to h_out/c_out and leaves its `saved` row unwritten.
     * h_out, c_out may be h_prev, c_prev themselves (not a shifted part).
     * fwd: xg [B, G*h] (x W_ih^T, no bias) row stride ldxg, hg [B, G*h] (h W_hh^T,
     *   no bias) stride ldhg, b_ih/b_hh [G*h], h_prev/c_prev [B, h] (c: lstm only,
     *   else NULL) -> h_out, c_out [B, h], saved. */
    sf_status (*cell_fwd)(sf_backend *be, int cell, int B, int h, const float *xg, int ldxg,
                          const float *hg, int ldhg, const float *b_ih, const float *b_hh,
                          const float *h_prev, const float *c_prev, const float *mask,
                          float *h_out, float *c_out, float *saved);
    /* bwd: reads saved, h_prev (gru), c_prev (lstm) [B, h], dh [B, h] grad wrt
     *   h_out, dc [B, h] wrt c_out (lstm, else NULL) -> dxg [B, G*h] stride lddxg:
     *   grad wrt the input pre-activations (= grad of x W_ih^T and of b_ih; 0 on
     *   masked rows); dhg [B, G*h] stride lddhg: grad wrt h W_hh^T (gru only, else
     *   NULL: it equals dxg); dh_prev [B, h] += the direct part (gru z*dh; dh on
     *   masked rows; the W_hh product is the caller's), must not alias dh;
     *   dc_prev [B, h] = (lstm, may alias dc). mask: as in fwd (device). */
    sf_status (*cell_bwd)(sf_backend *be, int cell, int B, int h, const float *saved,
                          const float *h_prev, const float *c_prev, const float *mask,
                          const float *dh, const float *dc, float *dxg, int lddxg, float *dhg,
                          int lddhg, float *dh_prev, float *dc_prev);
    /* dst[r, :w] = beta * dst[r, :w] + (idx[r] >= 0 ? src[idx[r], :w] : 0) for r < n;
     * idx: [n] int32 on the device; src [*, w] stride lds, dst [n, w] stride ldd;
     * beta 0 or 1 (0 overwrites, even NaN); src and dst must not overlap.
     * Reorders time-major rows. */
    sf_status (*gather_rows)(sf_backend *be, int n, int w, const float *src, int lds,
                             const int32_t *idx, float beta, float *dst, int ldd);

    /* beam search (src/search via src/nn/infer.c) */
    /* A search step's best candidates per group of rows, chosen on the device so
     * only [G, k2] results come back instead of [rows, V] log-probs. Rows come in G
     * groups of nb[g] >= 1 rows, back to back; lp = log_softmax(x) per row when raw
     * (bit for bit this backend's log_softmax), else x itself. For group g, its best
     * min(k2, n) candidates of its rows x V, best first, exactly as core/topk.h's
     * sf_topk_select ranks them (score = beam_lp[r] + (double)lp[r, v] descending,
     * ties: lower beam = row within the group, then lower token; banned tokens
     * (bit v of ban, v < 32) and lp = -inf are not candidates, n counts the rest):
     * score, beam, token: [G, k2] (group g at g*k2), n_out: [G]. x: [rows, V]
     * device; nb: [G], beam_lp: [rows] and the outputs: HOST arrays. A NaN or +inf
     * lp is SF_ERR_NUMERIC naming the first (group, beam, token). CUDA: one stream
     * sync per call. */
    sf_status (*beam_topk)(sf_backend *be, int G, const int32_t *nb, int V, int k2, int raw,
                           uint32_t ban, const float *x, const double *beam_lp,
                           double *score, int32_t *beam, int32_t *token, int32_t *n_out);

    /* Optional: graphs (NULL where the backend has none or they are off; the CUDA
     * backend sets them with sf_cuda_backend_set_graphs). graph_begin starts
     * recording: the ops that follow are checked and recorded, not run, until
     * graph_end, which makes *g replay them: a new graph when *g is NULL, else *g
     * updated in place when only the ops' arguments changed, else replaced (on
     * failure *g is freed and NULL). With discard (an op failed while recording)
     * graph_end only stops recording and leaves *g alone. While recording, ops do
     * not wait for the device: embed_fwd/embed_bwd run their id check but do not
     * read it back (the caller checks ids on the host first), and a src_len array
     * must be one the backend has seen (B = 1 always is; else SF_ERR_INTERNAL).
     * graph_launch replays *g on the backend's stream, reading the same device
     * memory the recorded ops named. graph_free accepts NULL. */
    sf_status (*graph_begin)(sf_backend *be);
    sf_status (*graph_end)(sf_backend *be, int discard, sf_graph **g);
    sf_status (*graph_launch)(sf_backend *be, sf_graph *g);
    void (*graph_free)(sf_backend *be, sf_graph *g);

    /* Optional: a recurrent layer direction through a vendor library (NULL where
     * there is none or it is off; the CUDA backend sets them with
     * sf_cuda_backend_set_cudnn_rnn). The same function as nn/rnn.c's own steps
     * (PyTorch's equations) on io's processing-order rows. rnn_layer_reserve: bytes
     * of reserve the forward needs for io's shapes and lengths. rnn_layer_fwd: y,
     * hT, cT (io->x, h0, c0, weights). rnn_layer_bwd_data, after the forward on the
     * same io: dx, dh0, dc0 from dy, dhT, dcT. rnn_layer_bwd_weights, after
     * bwd_data (x, y, h0 and reserve as in the forward): gw_* += the gradients. */
    sf_status (*rnn_layer_reserve)(sf_backend *be, const sf_rnn_layer_io *io, size_t *bytes);
    sf_status (*rnn_layer_fwd)(sf_backend *be, const sf_rnn_layer_io *io);
    sf_status (*rnn_layer_bwd_data)(sf_backend *be, const sf_rnn_layer_io *io);
    sf_status (*rnn_layer_bwd_weights)(sf_backend *be, const sf_rnn_layer_io *io);

    void (*destroy)(sf_backend *be);
};

/* Argument checks shared by the backends, so each op fails with the same
 * message everywhere (SF_ERR_INVALID_ARG; fn, the op's name, prefixes it). */
/* sgemm shapes (the message starts "sgemm: "). */
sf_status sf_backend_check_gemm(sf_trans ta, sf_trans tb, int M, int N, int K, int lda,
                                int ldb, int ldc);
/* B >= 0, K >= 1, S >= 1 and 0 <= src_len[b] <= S for b < B. src_len: [B] host */
sf_status sf_backend_check_src_len(const char *fn, int B, int K, int S,
                                   const int32_t *src_len);
/* cell_fwd's: a known cell, B >= 0, h >= 1, ldxg and ldhg >= G*h, c_prev and
 * c_out given for lstm. */
sf_status sf_backend_check_cell_fwd(const char *fn, int cell, int B, int h, int ldxg, int ldhg,
                                    const float *c_prev, const float *c_out);
/* cell_bwd's: the same shapes (lddhg checked for gru only), dhg and h_prev given
 * for gru, c_prev for lstm. */
sf_status sf_backend_check_cell_bwd(const char *fn, int cell, int B, int h, int lddxg,
                                    int lddhg, const float *dhg, const float *h_prev,
                                    const float *c_prev);
/* gather_rows': n, w >= 0, strides >= w, beta 0 or 1. */
sf_status sf_backend_check_gather(const char *fn, int n, int w, int lds, int ldd, float beta);
/* beam_topk's: G >= 0, V >= 1, k2 >= 1, nb[g] >= 1; *rows = sum of nb (< 2^31). */
sf_status sf_backend_check_beam_topk(const char *fn, int G, const int32_t *nb, int V, int k2,
                                     int64_t *rows);
/* SF_ERR_INTERNAL naming the first op (function pointer) that is NULL in be's
 * table; every backend's create calls it before handing the table out. */
sf_status sf_backend_check_complete(const sf_backend *be);

/* C[M,N] = op(A) op(B) + bias[N] on every row: be->sgemm_bias where the backend
 * has it, else sgemm then add_rowvec (C must then be dense: ldc = N). */
sf_status sf_backend_gemm_bias(sf_backend *be, sf_trans ta, sf_trans tb, int M, int N, int K,
                               const float *A, int lda, const float *B, int ldb,
                               const float *bias, float *C, int ldc);

/* Open a backend. "cpu", "cuda" or "cuda:N". A CUDA request on a build or
 * machine without a GPU returns SF_ERR_NO_DEVICE with a message saying why.
 * "auto" or NULL: cuda:0 when a GPU is visible and opens, else the CPU. */
sf_status sf_backend_open(const char *spec, sf_backend **out);
/* Accepts NULL. */
void sf_backend_close(sf_backend *be);

/* The CPU backend (always built). */
sf_status sf_cpu_backend_create(sf_backend **out);
/* The CUDA backend; returns SF_ERR_UNSUPPORTED when built without CUDA. */
sf_status sf_cuda_backend_create(int device_index, sf_backend **out);
/* Let a CUDA backend's sgemm use TF32 tensor cores (on = 1) or not (0, the
 * default: full FP32). SF_ERR_INVALID_ARG for a non-CUDA backend;
 * SF_ERR_UNSUPPORTED when built without CUDA. */
sf_status sf_cuda_backend_set_tf32(sf_backend *be, int on);
/* The precision of a backend's products (sgemm, sgemm_strided): f32 (the
 * default, everywhere), tf32 (CUDA tensor cores), bf16 (CPU: oneDNN on AMX or
 * AVX512-BF16; operands rounded to bf16, f32 accumulation and results). */
typedef enum sf_precision { SF_PREC_F32 = 0, SF_PREC_TF32 = 1, SF_PREC_BF16 = 2 } sf_precision;
/* "f32", "tf32", "bf16" (the order of the enum). */
extern const char *const sf_precision_names[];
/* SF_ERR_UNSUPPORTED (with the reason) where the device or build cannot. On the
 * CPU, bf16 applies to products with a parameter operand and to large ones
 * (small activation products, such as attention's, stay f32). */
sf_status sf_backend_set_precision(sf_backend *be, sf_precision p);
/* One line naming the library and precision of the products, for run logs. */
const char *sf_backend_gemm_info(const sf_backend *be);
/* [p, p + n) holds parameters (n = 0: no longer). A reduced-precision backend
 * keeps converted copies of them; they are refreshed after the backend's own
 * writes there (upload, fill, copy, adam) and after sf_backend_params_changed,
 * which whoever writes parameters some other way must call. */
void sf_backend_params_register(sf_backend *be, const float *p, int64_t n);
void sf_backend_params_changed(sf_backend *be, const float *p, int64_t n);
/* Threads for the CPU backend's BLAS and OpenMP loops (0 = all cores). */
void sf_cpu_set_threads(int n);
/* Let a CUDA backend's embed_bwd add with atomics (on = 0: faster with many
 * rows, rounding depends on scheduling) or not (1, the default: each element
 * sums its rows in row order, bit for bit as the CPU backend, so runs are
 * exactly reproducible). Errors as sf_cuda_backend_set_tf32. */
sf_status sf_cuda_backend_set_deterministic(sf_backend *be, int on);
/* Let a CUDA backend offer graphs (on = 1: graph_begin etc. set, so the decoder
 * records each step once per row layout and replays it; 0, the default: NULL).
 * Turning them on gives cuBLAS a fixed workspace (graphs must not allocate).
 * Errors as sf_cuda_backend_set_tf32. */
sf_status sf_cuda_backend_set_graphs(sf_backend *be, int on);
/* Let a CUDA backend run encoder layers through cuDNN's RNN API (on = 1: the
 * rnn_layer_* ops set; 0, the default: NULL, our own kernels). SF_ERR_UNSUPPORTED
 * when built without cuDNN; otherwise errors as sf_cuda_backend_set_tf32. */
sf_status sf_cuda_backend_set_cudnn_rnn(sf_backend *be, int on);
/* Whether this build has CUDA compiled in, and how many devices are visible. */
int sf_cuda_compiled(void);
int sf_cuda_device_count(void);

#endif
