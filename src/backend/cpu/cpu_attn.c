/* cpu_attn.c: CPU reference twins of the fused attention ops (masked softmax,
 * additive score, bias + activation), softmax fused with label-smoothed
 * cross-entropy, log-softmax, and embedding lookup / scatter-add. Plain loops. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "backend/cpu/cpu_attn_ops.h"
#include "backend/cpu/cpu_math.h"

#define SF_ATTN_OMP_MIN 32768 /* elements of work below which threads do not pay */
#define SF_EMBED_CHUNK 64     /* columns per thread task in the embedding scatter-add */

/* Every id must index the vocabulary: 0 <= ids[n] < V. */
static sf_status check_ids(const char *fn, const char *what, int64_t N, const int32_t *ids,
                           int V)
{
    for (int64_t n = 0; n < N; n++)
        if (ids[n] < 0 || ids[n] >= V)
            return sf_error(SF_ERR_INVALID_ARG, "%s: %s at row %lld is %d, outside [0, V=%d); "
                            "check that the data was encoded with this model's vocabulary",
                            fn, what, (long long)n, (int)ids[n], V);
    return SF_OK;
}

// scores, align: [B*K, S]; src_len: [B]
static sf_status cpu_attn_softmax_fwd(sf_backend *be, int B, int K, int S,
                                      const int32_t *src_len, const float *scores, float *align)
{
    (void)be;
    SF_TRY(sf_backend_check_src_len(__func__, B, K, S, src_len));
    int64_t R = (int64_t)B * K;
#pragma omp parallel for if (R * S > SF_ATTN_OMP_MIN)
    for (int64_t r = 0; r < R; r++) {
        int len = src_len[r / K];
        const float *x = scores + r * S;
        float *a = align + r * S;
        float m = -INFINITY, sum = 0.0f;
        for (int s = 0; s < len; s++)
            m = x[s] > m ? x[s] : m;
        for (int s = 0; s < len; s++) {
            a[s] = expf(x[s] - m);
            sum += a[s];
        }
        float inv = len > 0 ? 1.0f / sum : 0.0f;
        for (int s = 0; s < len; s++)
            a[s] *= inv;
        for (int s = len; s < S; s++)
            a[s] = 0.0f;
    }
    return SF_OK;
}

// align, dalign, dscores: [R, S]
static sf_status cpu_attn_softmax_bwd(sf_backend *be, int64_t R, int S, const float *align,
                                      const float *dalign, float *dscores)
{
    (void)be;
#pragma omp parallel for if (R * S > SF_ATTN_OMP_MIN)
    for (int64_t r = 0; r < R; r++) {
        const float *a = align + r * S, *da = dalign + r * S;
        float dot = 0.0f;
        for (int s = 0; s < S; s++)
            dot += a[s] * da[s];
        float *ds = dscores + r * S;
        for (int s = 0; s < S; s++)
            ds[s] = a[s] * (da[s] - dot);
    }
    return SF_OK;
}

// keys: [B, S, H]; q: [B*K, H]; b_q, v: [H]; scores: [B*K, S]
static sf_status cpu_attn_mlp_score_fwd(sf_backend *be, int B, int K, int S, int H,
                                        const int32_t *src_len, const float *keys,
                                        const float *q, const float *b_q, const float *v,
                                        float *scores)
{
    (void)be;
    SF_TRY(sf_backend_check_src_len(__func__, B, K, S, src_len));
    int64_t R = (int64_t)B * K;
#pragma omp parallel for if (R * S * H > SF_ATTN_OMP_MIN)
    for (int64_t r = 0; r < R; r++) {
        int64_t b = r / K;
        int len = src_len[b];
        const float *qr = q + r * H;
        float *out = scores + r * S;
        for (int s = 0; s < len; s++) {
            const float *ks = keys + (b * S + s) * H;
            float acc = 0.0f;
            for (int h = 0; h < H; h++)
                acc += v[h] * sf_tanh(qr[h] + b_q[h] + ks[h]);
            out[s] = acc;
        }
        for (int s = len; s < S; s++)
            out[s] = 0.0f;
    }
    return SF_OK;
}

/* db_q += column sums of dq; dv += sum_{r,s} dscores[r,s] tanh(q[r] + b_q + keys[b,s]).
 * One thread per column h, so the sums are deterministic. */
static void mlp_param_grads(int B, int K, int S, int H, const int32_t *src_len,
                            const float *keys, const float *q, const float *b_q,
                            const float *dscores, const float *dq, float *db_q, float *dv)
{
    int64_t R = (int64_t)B * K;
#pragma omp parallel for if (R * S * H > SF_ATTN_OMP_MIN)
    for (int h = 0; h < H; h++) {
        float acc_q = 0.0f, acc_v = 0.0f;
        for (int64_t r = 0; r < R; r++) {
            int64_t b = r / K;
            acc_q += dq[r * H + h];
            if (!dv)
                continue;
            float qh = q[r * H + h] + b_q[h];
            for (int s = 0; s < src_len[b]; s++)
                acc_v += dscores[r * S + s] * sf_tanh(qh + keys[(b * S + s) * H + h]);
        }
        if (db_q)
            db_q[h] += acc_q;
        if (dv)
            dv[h] += acc_v;
    }
}

// dscores: [B*K, S]; dq: [B*K, H] (overwritten); dkeys: [B, S, H] (+=); db_q, dv: [H] (+=)
static sf_status cpu_attn_mlp_score_bwd(sf_backend *be, int B, int K, int S, int H,
                                        const int32_t *src_len, const float *keys,
                                        const float *q, const float *b_q, const float *v,
                                        const float *dscores, float *dq, float *dkeys,
                                        float *db_q, float *dv)
{
    (void)be;
    SF_TRY(sf_backend_check_src_len(__func__, B, K, S, src_len));
    /* one thread per sentence: its K rows all add into the same dkeys[b] */
#pragma omp parallel for if ((int64_t)B * K * S * H > SF_ATTN_OMP_MIN)
    for (int64_t b = 0; b < B; b++) {
        for (int64_t r = b * K; r < (b + 1) * K; r++) {
            const float *qr = q + r * H;
            float *dqr = dq + r * H;
            memset(dqr, 0, (size_t)H * sizeof(float));
            for (int s = 0; s < src_len[b]; s++) {
                float ds = dscores[r * S + s];
                const float *ks = keys + (b * S + s) * H;
                float *dks = dkeys + (b * S + s) * H;
                for (int h = 0; h < H; h++) {
                    float t = sf_tanh(qr[h] + b_q[h] + ks[h]);
                    float g = ds * v[h] * (1.0f - t * t);
                    dks[h] += g;
                    dqr[h] += g;
                }
            }
        }
    }
    if (db_q || dv)
        mlp_param_grads(B, K, S, H, src_len, keys, q, b_q, dscores, dq, db_q, dv);
    return SF_OK;
}

/* row = act(row + bias): sf_tanh (vectorized, within 5 ulp) where libm's tanhf
 * took 16 ns an element. row: [H]; bias: [H] or NULL */
SF_SIMD_CLONES
static void bias_act_row(float *row, int H, int use_tanh, const float *bias)
{
#pragma omp simd
    for (int h = 0; h < H; h++) {
        float z = row[h] + (bias ? bias[h] : 0.0f);
        row[h] = use_tanh ? sf_tanh(z) : z;
    }
}

// x: [N, H]; bias: [H] or NULL
static sf_status cpu_bias_act_fwd(sf_backend *be, int64_t N, int H, int use_tanh,
                                  const float *bias, float *x)
{
    (void)be;
#pragma omp parallel for if (N * H > SF_ATTN_OMP_MIN)
    for (int64_t n = 0; n < N; n++)
        bias_act_row(x + n * H, H, use_tanh, bias);
    return SF_OK;
}

// y, dy, dx: [N, H]; dbias: [H] (+=) or NULL
static sf_status cpu_bias_act_bwd(sf_backend *be, int64_t N, int H, int use_tanh,
                                  const float *y, const float *dy, float *dx, float *dbias)
{
    (void)be;
#pragma omp parallel for if (N * H > SF_ATTN_OMP_MIN)
    for (int64_t i = 0; i < N * H; i++)
        dx[i] = use_tanh ? dy[i] * (1.0f - y[i] * y[i]) : dy[i];
    if (!dbias)
        return SF_OK;
#pragma omp parallel for if (N * H > SF_ATTN_OMP_MIN)
    for (int h = 0; h < H; h++) {
        float acc = 0.0f;
        for (int64_t n = 0; n < N; n++)
            acc += dx[n * H + h];
        dbias[h] += acc;
    }
    return SF_OK;
}

/* Row max and sum of exp(x - max) in double (a NaN anywhere makes the sum NaN).
 * x: [V] */
SF_SIMD_CLONES
static double row_sumexp(const float *x, int V, float *max_out)
{
    float m = x[0];
#pragma omp simd reduction(max : m)
    for (int v = 1; v < V; v++)
        m = x[v] > m ? x[v] : m;
    double se = 0.0;
#pragma omp simd reduction(+ : se)
    for (int v = 0; v < V; v++)
        se += sf_exp_sm(x[v] - m);
    *max_out = m;
    return se;
}

/* One token: returns its smoothed loss and sets *nll; when g is non-NULL (it may
 * be x) writes g = scale * (p - eps/V - (1-eps) onehot(y)). x, g: [V] */
SF_SIMD_CLONES
static double xent_row(const float *x, int V, int32_t y, float eps, float scale, float *g,
                       double *nll)
{
    float m;
    double se = row_sumexp(x, V, &m), sx = 0.0;
#pragma omp simd reduction(+ : sx)
    for (int v = 0; v < V; v++)
        sx += x[v];
    double lse = m + log(se);
    *nll = lse - x[y];
    double loss = (1.0 - eps) * *nll + eps * (lse - sx / V);
    if (g) {
        float inv = (float)(1.0 / se), off = eps / (float)V;
#pragma omp simd
        for (int v = 0; v < V; v++)
            g[v] = scale * (sf_exp_sm(x[v] - m) * inv - off);
        g[y] -= scale * (1.0f - eps);
    }
    return loss;
}

// logits, dlogits: [N, V]; targets: [N]
static sf_status cpu_xent_fwd_bwd(sf_backend *be, int64_t N, int V, const float *logits,
                                  const int32_t *targets, float eps, float grad_scale,
                                  float *dlogits, double *loss_sum, double *nll_sum,
                                  int64_t *ntok)
{
    (void)be;
    SF_TRY(check_ids(__func__, "target", N, targets, V));
    double loss = 0.0, nll = 0.0;
    int64_t count = 0;
#pragma omp parallel for reduction(+ : loss, nll, count) if (N * V > SF_ATTN_OMP_MIN)
    for (int64_t n = 0; n < N; n++) {
        float *g = dlogits ? dlogits + n * V : NULL;
        if (targets[n] == 0) {
            if (g)
                memset(g, 0, (size_t)V * sizeof(float));
            continue;
        }
        double row_nll;
        loss += xent_row(logits + n * V, V, targets[n], eps, grad_scale, g, &row_nll);
        nll += row_nll;
        count++;
    }
    *loss_sum = loss;
    *nll_sum = nll;
    *ntok = count;
    return SF_OK;
}

// x, out: [N, V]
static sf_status cpu_log_softmax(sf_backend *be, int64_t N, int V, const float *x, float *out)
{
    (void)be;
#pragma omp parallel for if (N * V > SF_ATTN_OMP_MIN)
    for (int64_t n = 0; n < N; n++) {
        float m;
        double se = row_sumexp(x + n * V, V, &m);
        float lse = (float)(m + log(se));
#pragma omp simd
        for (int v = 0; v < V; v++)
            out[n * V + v] = x[n * V + v] - lse;
    }
    return SF_OK;
}

// table: [V, E]; ids: [N]; out: [N, ldo]
static sf_status cpu_embed_fwd(sf_backend *be, int64_t N, int E, const float *table, int V,
                               const int32_t *ids, float *out, int ldo)
{
    (void)be;
    SF_TRY(check_ids(__func__, "id", N, ids, V));
#pragma omp parallel for if (N * E > SF_ATTN_OMP_MIN)
    for (int64_t n = 0; n < N; n++)
        memcpy(out + n * ldo, table + (int64_t)ids[n] * E, (size_t)E * sizeof(float));
    return SF_OK;
}

/* Threads split the columns, never the rows, so repeated ids need no atomics
 * and the sums come out the same on every run. dout: [N, lddo]; dtable: [V, E] */
static sf_status cpu_embed_bwd(sf_backend *be, int64_t N, int E, const float *dout, int lddo,
                               const int32_t *ids, float *dtable, int V)
{
    (void)be;
    SF_TRY(check_ids(__func__, "id", N, ids, V));
    int chunks = (E + SF_EMBED_CHUNK - 1) / SF_EMBED_CHUNK;
#pragma omp parallel for if (N * E > SF_ATTN_OMP_MIN)
    for (int c = 0; c < chunks; c++) {
        int e0 = c * SF_EMBED_CHUNK, e1 = e0 + SF_EMBED_CHUNK < E ? e0 + SF_EMBED_CHUNK : E;
        for (int64_t n = 0; n < N; n++) {
            if (ids[n] == 0)
                continue;
            float *dst = dtable + (int64_t)ids[n] * E;
            const float *src = dout + n * lddo;
            for (int e = e0; e < e1; e++)
                dst[e] += src[e];
        }
    }
    return SF_OK;
}

void sf_cpu_install_attn_ops(sf_backend *be)
{
    be->attn_softmax_fwd = cpu_attn_softmax_fwd;
    be->attn_softmax_bwd = cpu_attn_softmax_bwd;
    be->attn_mlp_score_fwd = cpu_attn_mlp_score_fwd;
    be->attn_mlp_score_bwd = cpu_attn_mlp_score_bwd;
    be->bias_act_fwd = cpu_bias_act_fwd;
    be->bias_act_bwd = cpu_bias_act_bwd;
    be->xent_fwd_bwd = cpu_xent_fwd_bwd;
    be->log_softmax = cpu_log_softmax;
    be->embed_fwd = cpu_embed_fwd;
    be->embed_bwd = cpu_embed_bwd;
}
