/* cpu_topk.c: the CPU twin of beam_topk (backend.h): per group of rows, the
 * log-softmax of the backend's log_softmax op when raw, then core/topk.c's
 * selection, the same code the search runs on full log-prob rows. */
#include <stdlib.h>

#include "backend/cpu/cpu_ops.h"
#include "core/topk.h"

/* Group g's rows x + r0*V, log-softmaxed into lp when raw (lp: [nb, V] scratch),
 * then selected into cand [k2]. */
static sf_status topk_group(sf_backend *be, int nb, int V, int k2, int raw, uint32_t ban,
                            const float *x, const double *beam_lp, float *lp,
                            sf_topk_cand *cand, int32_t *n)
{
    if (raw) {
        SF_TRY(be->log_softmax(be, nb, V, x, lp));
        x = lp;
    }
    return sf_topk_select(nb, V, k2, ban, beam_lp, x, cand, n);
}

// x: [rows, V]; nb: [G]; beam_lp: [rows]; score, beam, token: [G, k2]; n_out: [G]
static sf_status cpu_beam_topk(sf_backend *be, int G, const int32_t *nb, int V, int k2,
                               int raw, uint32_t ban, const float *x, const double *beam_lp,
                               double *score, int32_t *beam, int32_t *token, int32_t *n_out)
{
    int64_t rows = 0, r0 = 0;
    SF_TRY(sf_backend_check_beam_topk(__func__, G, nb, V, k2, &rows));
    int max_nb = 0;
    for (int g = 0; g < G; g++)
        max_nb = nb[g] > max_nb ? nb[g] : max_nb;
    float *lp = raw ? malloc(sizeof(float) * (size_t)max_nb * (size_t)V + 1) : NULL;
    sf_topk_cand *cand = malloc(sizeof *cand * (size_t)k2);
    sf_status st = cand && (lp || !raw) ? SF_OK
                                        : SF_FAIL(SF_ERR_OOM, "scratch for %d rows of V=%d",
                                                  max_nb, V);
    for (int g = 0; st == SF_OK && g < G; g++) {
        int32_t n = 0;
        st = topk_group(be, nb[g], V, k2, raw, ban, x + r0 * V, beam_lp + r0, lp, cand, &n);
        if (st != SF_OK) {
            st = sf_error_prefix(st, "%s: group %d (rows from %lld)", __func__, g,
                                 (long long)r0);
            break;
        }
        for (int32_t i = 0; i < n; i++) {
            int64_t at = (int64_t)g * k2 + i;
            score[at] = cand[i].score, beam[at] = cand[i].beam, token[at] = cand[i].token;
        }
        n_out[g] = n;
        r0 += nb[g];
    }
    free(lp), free(cand);
    return st;
}

void sf_cpu_install_topk_op(sf_backend *be)
{
    be->beam_topk = cpu_beam_topk;
}
