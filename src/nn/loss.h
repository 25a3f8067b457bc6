/* loss.h: the training loss (softmax fused with label-smoothed cross-entropy,
 * pad targets excluded) with its gradient, the same sums without a gradient for
 * validation, and log-softmax for decoding. Thin checks over backend ops. */
#ifndef SF_NN_LOSS_H
#define SF_NN_LOSS_H

#include <stdint.h>

#include "backend/backend.h"

/* logits [N, V] in, overwritten with dlogits = grad_scale * d(loss_sum)/dlogits
 * (pad rows 0). targets [N], id 0 = pad (excluded). Per token:
 *   (1 - eps) (-log p_gold) + (eps / V) sum_v (-log p_v).
 * Sets *loss_sum (smoothed), *nll_sum (plain NLL, for perplexity), both summed in
 * double, and *ntok (non-pad targets). A target outside [0, V) is
 * SF_ERR_INVALID_ARG naming the row and value; logits are then untouched. */
sf_status sf_loss_fwd_bwd(sf_backend *be, int64_t N, int V, float *logits,
                          const int32_t *targets, float eps, float grad_scale,
                          double *loss_sum, double *nll_sum, int64_t *ntok);

/* The same sums; logits [N, V] are left as they are. */
sf_status sf_loss_fwd(sf_backend *be, int64_t N, int V, const float *logits,
                      const int32_t *targets, float eps, double *loss_sum, double *nll_sum,
                      int64_t *ntok);

/* out = logits - logsumexp(logits) per row, numerically stable; out may be logits.
 * logits, out: [N, V] */
sf_status sf_log_softmax(sf_backend *be, int64_t N, int V, const float *logits, float *out);

#endif
