/* cpu_topk.c: the CPU twin of beam_topk (backend.h): per group of rows, the
 * log-softmax of the backend's log_softmax op when raw, then core/topk.c's
 * selection, the same code the search runs on full log-prob rows. */
#include <omp.h>
#include <stdio.h>
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

/* Groups go to OpenMP threads (each with its own scratch; the log-softmax inside
 * then runs on one thread); the first failing group in order reports, its
 * message carried over from the thread that failed (messages are per thread).
 * x: [rows, V]; nb: [G]; beam_lp: [rows]; score, beam, token: [G, k2]; n_out: [G] */
static sf_status cpu_beam_topk(sf_backend *be, int G, const int32_t *nb, int V, int k2,
                               int raw, uint32_t ban, const float *x, const double *beam_lp,
                               double *score, int32_t *beam, int32_t *token, int32_t *n_out)
{
    int64_t rows = 0;
    SF_TRY(sf_backend_check_beam_topk(__func__, G, nb, V, k2, &rows));
    int max_nb = 0;
    for (int g = 0; g < G; g++)
        max_nb = nb[g] > max_nb ? nb[g] : max_nb;
    const int T = G > 1 && rows * V > (1 << 16) ? omp_get_max_threads() : 1;
    const size_t lp_n = raw ? (size_t)max_nb * (size_t)V : 0;
    float *lp = raw ? malloc(sizeof(float) * (lp_n * (size_t)T + 1)) : NULL;
    sf_topk_cand *cand = malloc(sizeof *cand * (size_t)k2 * (size_t)T);
    int64_t *r0 = malloc(sizeof(int64_t) * ((size_t)G + 1));
    sf_status *gst = malloc(sizeof(sf_status) * ((size_t)G + 1));
    if (!cand || (raw && !lp) || !r0 || !gst) {
        free(lp), free(cand), free(r0), free(gst);
        return SF_FAIL(SF_ERR_OOM, "scratch for %d threads x %d rows of V=%d", T, max_nb, V);
    }
    r0[0] = 0;
    for (int g = 0; g < G; g++)
        r0[g + 1] = r0[g] + nb[g];
    int bad = G;
    char msg[512] = "";
#pragma omp parallel for num_threads(T) schedule(dynamic, 1) if (T > 1)
    for (int g = 0; g < G; g++) {
        const int th = omp_get_thread_num();
        sf_topk_cand *c = cand + (size_t)th * (size_t)k2;
        int32_t n = 0;
        gst[g] = topk_group(be, nb[g], V, k2, raw, ban, x + r0[g] * V, beam_lp + r0[g],
                            lp ? lp + (size_t)th * lp_n : NULL, c, &n);
        if (gst[g] != SF_OK) {
#pragma omp critical(sf_cpu_topk_error)
            if (g < bad) {
                bad = g;
                snprintf(msg, sizeof msg, "%s", sf_last_error());
            }
        }
        for (int32_t i = 0; gst[g] == SF_OK && i < n; i++) {
            int64_t at = (int64_t)g * k2 + i;
            score[at] = c[i].score, beam[at] = c[i].beam, token[at] = c[i].token;
        }
        n_out[g] = n;
    }
    sf_status st = bad < G ? sf_error(gst[bad], "%s: group %d (rows from %lld): %s", __func__,
                                      bad, (long long)r0[bad], msg)
                           : SF_OK;
    free(lp), free(cand), free(r0), free(gst);
    return st;
}

void sf_cpu_install_topk_op(sf_backend *be)
{
    be->beam_topk = cpu_beam_topk;
}
