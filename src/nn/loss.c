/* loss.c: argument checks around the backend's fused softmax + label-smoothed
 * cross-entropy and log-softmax ops (see loss.h). */
#include "nn/loss.h"

#include <math.h>

static sf_status check_loss_args(const char *fn, int64_t N, int V, const void *logits,
                                 const int32_t *targets, float eps, const double *loss_sum,
                                 const double *nll_sum, const int64_t *ntok)
{
    if (N < 0 || V < 1)
        return sf_error(SF_ERR_INVALID_ARG, "%s: bad shape N=%lld V=%d (need N >= 0, V >= 1)",
                        fn, (long long)N, V);
    if (!(eps >= 0.0f && eps < 1.0f))
        return sf_error(SF_ERR_INVALID_ARG, "%s: label smoothing eps = %g outside [0, 1); "
                        "the usual value is 0.1", fn, (double)eps);
    if ((N > 0 && (!logits || !targets)) || !loss_sum || !nll_sum || !ntok)
        return sf_error(SF_ERR_INVALID_ARG, "%s: NULL logits, targets or result pointer", fn);
    return SF_OK;
}

sf_status sf_loss_fwd_bwd(sf_backend *be, int64_t N, int V, float *logits,
                          const int32_t *targets, float eps, float grad_scale,
                          double *loss_sum, double *nll_sum, int64_t *ntok)
{
    SF_TRY(check_loss_args(__func__, N, V, logits, targets, eps, loss_sum, nll_sum, ntok));
    if (!isfinite(grad_scale))
        return SF_FAIL(SF_ERR_INVALID_ARG, "grad_scale = %g is not finite", (double)grad_scale);
    return be->xent_fwd_bwd(be, N, V, logits, targets, eps, grad_scale, logits, loss_sum,
                            nll_sum, ntok);
}

sf_status sf_loss_fwd(sf_backend *be, int64_t N, int V, const float *logits,
                      const int32_t *targets, float eps, double *loss_sum, double *nll_sum,
                      int64_t *ntok)
{
    SF_TRY(check_loss_args(__func__, N, V, logits, targets, eps, loss_sum, nll_sum, ntok));
    return be->xent_fwd_bwd(be, N, V, logits, targets, eps, 0.0f, NULL, loss_sum, nll_sum,
                            ntok);
}

sf_status sf_log_softmax(sf_backend *be, int64_t N, int V, const float *logits, float *out)
{
    if (N < 0 || V < 1)
        return SF_FAIL(SF_ERR_INVALID_ARG, "bad shape N=%lld V=%d (need N >= 0, V >= 1)",
                       (long long)N, V);
    if (N > 0 && (!logits || !out))
        return SF_FAIL(SF_ERR_INVALID_ARG, "NULL logits or output");
    return be->log_softmax(be, N, V, logits, out);
}
