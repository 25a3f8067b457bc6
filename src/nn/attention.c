/* attention.c: one decoder step of global attention (dot, general, mlp) and the
 * output combination h~, forward and backward, as backend sgemm calls around the
 * fused backend ops. Shapes and conventions are in attention.h. */
#include "nn/attention.h"

#include <limits.h>
#include <string.h>

static const char *const attn_names[] = {"dot", "general", "mlp"};

sf_status sf_attn_parse(const char *name, sf_attn_type *out)
{
    for (int i = 0; i < 3; i++)
        if (name && strcmp(name, attn_names[i]) == 0) {
            *out = (sf_attn_type)i;
            return SF_OK;
        }
    return SF_FAIL(SF_ERR_INVALID_ARG, "unknown attention type \"%s\" (valid: dot, general, "
                   "mlp)", name ? name : "(null)");
}

const char *sf_attn_name(sf_attn_type type)
{
    return (unsigned)type <= SF_ATTN_MLP ? attn_names[type] : "?";
}

size_t sf_attn_step_cache_floats(sf_attn_type type, int B, int K, int S, int H)
{
    (void)S;
    return type == SF_ATTN_DOT ? 0 : (size_t)B * K * H; /* q = W_a h or W_q h */
}

size_t sf_attn_step_work_floats(sf_attn_type type, int B, int K, int S, int H)
{
    (void)type;
    return (size_t)B * K * (2 * (size_t)H + S); /* dpre, dc (then dq), dscores */
}

static sf_status need(const char *fn, const void *ptr, const char *what, sf_attn_type type)
{
    if (!ptr)
        return sf_error(SF_ERR_INVALID_ARG, "%s: %s is NULL but %s attention needs it", fn,
                        what, sf_attn_name(type));
    return SF_OK;
}

/* Shapes in range (every product's row count fits an int) and a known type. */
static sf_status check_shape(const char *fn, sf_attn_type type, int B, int K, int S, int H)
{
    if ((unsigned)type > SF_ATTN_MLP)
        return sf_error(SF_ERR_INVALID_ARG, "%s: unknown attention type %d (valid: 0 dot, "
                        "1 general, 2 mlp)", fn, (int)type);
    if (B < 0 || K < 1 || S < 1 || H < 1 || (int64_t)B * K * (S > H ? S : H) > INT_MAX ||
        (int64_t)B * S * H > INT_MAX || 2 * (int64_t)H > INT_MAX)
        return sf_error(SF_ERR_INVALID_ARG, "%s: bad shape B=%d K=%d S=%d H=%d (need B >= 0, "
                        "K, S, H >= 1 and B*S*H within int range)", fn, B, K, S, H);
    return SF_OK;
}

/* Everything a step needs for its type is present. */
static sf_status check_step(const char *fn, sf_attn_type type, int B, int K, int S, int H,
                            const float *M, const float *keys, const int32_t *src_len,
                            const sf_attn_weights *w)
{
    SF_TRY(check_shape(fn, type, B, K, S, H));
    SF_TRY(need(fn, w, "weights", type));
    SF_TRY(need(fn, M, "memory M", type));
    SF_TRY(need(fn, src_len, "src_len", type));
    SF_TRY(need(fn, w->w_c, "w_c (linear_out.weight)", type));
    if (type == SF_ATTN_GENERAL)
        SF_TRY(need(fn, w->w_a, "w_a (linear_in.weight)", type));
    if (type != SF_ATTN_MLP)
        return SF_OK;
    SF_TRY(need(fn, keys, "keys", type));
    SF_TRY(need(fn, w->w_q, "w_q (linear_query.weight)", type));
    SF_TRY(need(fn, w->b_q, "b_q (linear_query.bias)", type));
    SF_TRY(need(fn, w->v, "v (v.weight)", type));
    return need(fn, w->b_c, "b_c (linear_out.bias)", type);
}

sf_status sf_attn_keys_fwd(sf_backend *be, sf_attn_type type, int B, int S, int H,
                           const float *M, const sf_attn_weights *w, float *keys)
{
    SF_TRY(check_shape(__func__, type, B, 1, S, H));
    if (type != SF_ATTN_MLP || B == 0)
        return SF_OK;
    SF_TRY(need(__func__, w ? w->w_k : NULL, "w_k (linear_context.weight)", type));
    SF_TRY(need(__func__, keys, "keys", type));
    // keys [B*S, H] = M [B*S, H] W_k^T
    return be->sgemm(be, SF_NO_TRANS, SF_TRANS, B * S, H, H, 1.0f, M, H, w->w_k, H, 0.0f, keys,
                     H);
}

sf_status sf_attn_keys_bwd(sf_backend *be, sf_attn_type type, int B, int S, int H,
                           const float *M, const sf_attn_weights *w, const float *dkeys,
                           float *dM, sf_attn_grads *g)
{
    SF_TRY(check_shape(__func__, type, B, 1, S, H));
    if (type != SF_ATTN_MLP || B == 0)
        return SF_OK;
    SF_TRY(need(__func__, w ? w->w_k : NULL, "w_k (linear_context.weight)", type));
    SF_TRY(need(__func__, dkeys, "dkeys", type));
    if (dM)
        SF_TRY(be->sgemm(be, SF_NO_TRANS, SF_NO_TRANS, B * S, H, H, 1.0f, dkeys, H, w->w_k, H,
                         1.0f, dM, H));
    if (g && g->w_k)
        SF_TRY(be->sgemm(be, SF_TRANS, SF_NO_TRANS, H, H, B * S, 1.0f, dkeys, H, M, H, 1.0f,
                         g->w_k, H));
    return SF_OK;
}

/* Per sentence b: out[b] [K, S] = X[b] [K, H] M[b]^T (scores from queries). */
static sf_status mem_scores(sf_backend *be, int B, int K, int S, int H, const float *X,
                            const float *M, float *out)
{
    return be->sgemm_strided(be, SF_NO_TRANS, SF_TRANS, K, S, H, 1.0f, X, H, (int64_t)K * H,
                             M, H, (int64_t)S * H, 0.0f, out, S, (int64_t)K * S, B);
}

/* Per sentence b: out[b] [K, H] = A[b] [K, S] M[b] + beta out[b] (weighted sums). */
static sf_status mem_mix(sf_backend *be, int B, int K, int S, int H, const float *A,
                         const float *M, float beta, float *out)
{
    return be->sgemm_strided(be, SF_NO_TRANS, SF_NO_TRANS, K, H, S, 1.0f, A, S,
                             (int64_t)K * S, M, H, (int64_t)S * H, beta, out, H,
                             (int64_t)K * H, B);
}

/* Per sentence b: dM[b] [S, H] += A[b]^T [S, K] X[b] [K, H]. */
static sf_status mem_outer_acc(sf_backend *be, int B, int K, int S, int H, const float *A,
                               const float *X, float *dM)
{
    return be->sgemm_strided(be, SF_TRANS, SF_NO_TRANS, S, H, K, 1.0f, A, S, (int64_t)K * S,
                             X, H, (int64_t)K * H, 1.0f, dM, H, (int64_t)S * H, B);
}

sf_status sf_attn_step_fwd(sf_backend *be, sf_attn_type type, int B, int K, int S, int H,
                           const float *M, const float *keys, const int32_t *src_len,
                           const sf_attn_weights *w, const float *h, float *align, float *ctx,
                           float *htilde, float *cache)
{
    SF_TRY(check_step(__func__, type, B, K, S, H, M, keys, src_len, w));
    if (B == 0)
        return SF_OK;
    int R = B * K;
    const float *q = h; // q: [R, H]
    if (type != SF_ATTN_DOT) {
        SF_TRY(need(__func__, cache, "cache", type));
        q = cache;
        SF_TRY(be->sgemm(be, SF_NO_TRANS, SF_TRANS, R, H, H, 1.0f, h, H,
                         type == SF_ATTN_GENERAL ? w->w_a : w->w_q, H, 0.0f, cache, H));
    }
    if (type == SF_ATTN_MLP)
        SF_TRY(be->attn_mlp_score_fwd(be, B, K, S, H, src_len, keys, q, w->b_q, w->v, align));
    else
        SF_TRY(mem_scores(be, B, K, S, H, q, M, align));
    SF_TRY(be->attn_softmax_fwd(be, B, K, S, src_len, align, align));
    SF_TRY(mem_mix(be, B, K, S, H, align, M, 0.0f, ctx));
    // htilde [R, H] = ctx W_c[:, :H]^T + h W_c[:, H:]^T, then tanh or + b_c
    SF_TRY(be->sgemm(be, SF_NO_TRANS, SF_TRANS, R, H, H, 1.0f, ctx, H, w->w_c, 2 * H, 0.0f,
                     htilde, H));
    SF_TRY(be->sgemm(be, SF_NO_TRANS, SF_TRANS, R, H, H, 1.0f, h, H, w->w_c + H, 2 * H, 1.0f,
                     htilde, H));
    return be->bias_act_fwd(be, R, H, type != SF_ATTN_MLP,
                            type == SF_ATTN_MLP ? w->b_c : NULL, htilde);
}

/* A query projection q = h W^T: dh += dq W, dW += dq^T h (when dW). dq, h, dh: [R, H] */
static sf_status proj_bwd(sf_backend *be, int R, int H, const float *W, const float *h,
                          const float *dq, float *dh, float *dW)
{
    SF_TRY(be->sgemm(be, SF_NO_TRANS, SF_NO_TRANS, R, H, H, 1.0f, dq, H, W, H, 1.0f, dh, H));
    if (dW)
        SF_TRY(be->sgemm(be, SF_TRANS, SF_NO_TRANS, H, H, R, 1.0f, dq, H, h, H, 1.0f, dW, H));
    return SF_OK;
}

/* htilde = act(W_c [ctx; h] (+ b_c)): writes dpre and dctx [R, H], adds into dh, g. */
static sf_status out_bwd(sf_backend *be, sf_attn_type type, int R, int H,
                         const sf_attn_weights *w, const float *h, const float *ctx,
                         const float *htilde, const float *dhtilde, float *dh,
                         sf_attn_grads *g, float *dpre, float *dctx)
{
    int mlp = type == SF_ATTN_MLP;
    SF_TRY(be->bias_act_bwd(be, R, H, !mlp, htilde, dhtilde, dpre,
                            mlp && g ? g->b_c : NULL));
    if (g && g->w_c) {
        SF_TRY(be->sgemm(be, SF_TRANS, SF_NO_TRANS, H, H, R, 1.0f, dpre, H, ctx, H, 1.0f,
                         g->w_c, 2 * H));
        SF_TRY(be->sgemm(be, SF_TRANS, SF_NO_TRANS, H, H, R, 1.0f, dpre, H, h, H, 1.0f,
                         g->w_c + H, 2 * H));
    }
    SF_TRY(be->sgemm(be, SF_NO_TRANS, SF_NO_TRANS, R, H, H, 1.0f, dpre, H, w->w_c + H, 2 * H,
                     1.0f, dh, H));
    return be->sgemm(be, SF_NO_TRANS, SF_NO_TRANS, R, H, H, 1.0f, dpre, H, w->w_c, 2 * H, 0.0f,
                     dctx, H);
}

/* From dscores [R, S] back to the query, the memory, the keys and the score weights.
 * dq: [R, H] scratch. */
static sf_status score_bwd(sf_backend *be, sf_attn_type type, int B, int K, int S, int H,
                           const float *M, const float *keys, const int32_t *src_len,
                           const sf_attn_weights *w, const float *h, const float *cache,
                           const float *ds, float *dq, float *dh, float *dM, float *dkeys,
                           sf_attn_grads *g)
{
    if (type == SF_ATTN_MLP) {
        SF_TRY(be->attn_mlp_score_bwd(be, B, K, S, H, src_len, keys, cache, w->b_q, w->v, ds,
                                      dq, dkeys, g ? g->b_q : NULL, g ? g->v : NULL));
        return proj_bwd(be, B * K, H, w->w_q, h, dq, dh, g ? g->w_q : NULL);
    }
    const float *q = type == SF_ATTN_DOT ? h : cache;
    SF_TRY(mem_outer_acc(be, B, K, S, H, ds, q, dM));
    if (type == SF_ATTN_DOT)
        return mem_mix(be, B, K, S, H, ds, M, 1.0f, dh);
    SF_TRY(mem_mix(be, B, K, S, H, ds, M, 0.0f, dq));
    return proj_bwd(be, B * K, H, w->w_a, h, dq, dh, g ? g->w_a : NULL);
}

sf_status sf_attn_step_bwd(sf_backend *be, sf_attn_type type, int B, int K, int S, int H,
                           const float *M, const float *keys, const int32_t *src_len,
                           const sf_attn_weights *w, const float *h, const float *align,
                           const float *ctx, const float *htilde, const float *cache,
                           const float *dhtilde, const float *dalign, float *dh, float *dM,
                           float *dkeys, sf_attn_grads *g, float *work)
{
    SF_TRY(check_step(__func__, type, B, K, S, H, M, keys, src_len, w));
    SF_TRY(need(__func__, dh, "dh", type));
    SF_TRY(need(__func__, dM, "dM", type));
    SF_TRY(need(__func__, work, "work", type));
    if (type != SF_ATTN_DOT)
        SF_TRY(need(__func__, cache, "cache", type));
    if (type == SF_ATTN_MLP)
        SF_TRY(need(__func__, dkeys, "dkeys", type));
    if (B == 0)
        return SF_OK;
    int R = B * K;
    float *dpre = work, *dc = work + (size_t)R * H, *ds = work + 2 * (size_t)R * H;
    SF_TRY(out_bwd(be, type, R, H, w, h, ctx, htilde, dhtilde, dh, g, dpre, dc));
    // ctx = align M: dalign += dc M^T, dM += align^T dc
    SF_TRY(mem_scores(be, B, K, S, H, dc, M, ds));
    if (dalign)
        SF_TRY(be->axpy(be, (int64_t)R * S, 1.0f, dalign, ds));
    SF_TRY(mem_outer_acc(be, B, K, S, H, align, dc, dM));
    SF_TRY(be->attn_softmax_bwd(be, R, S, align, ds, ds));
    return score_bwd(be, type, B, K, S, H, M, keys, src_len, w, h, cache, ds, dc, dh, dM,
                     dkeys, g);
}
