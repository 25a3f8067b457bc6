/* embedding.h: embedding lookup and its gradient (scatter-add), thin checks over
 * backend ops. Row 0 is <pad>: it stays zero, its gradient is never added. */
#ifndef SF_NN_EMBEDDING_H
#define SF_NN_EMBEDDING_H

#include <stdint.h>

#include "backend/backend.h"

/* out[n, 0:E] = table[ids[n]], rows ldo floats apart (ldo >= E, so the result can
 * land inside a wider buffer such as [emb; h~]). table: [V, E]; ids: [N];
 * out: [N, ldo]. An id outside [0, V) is SF_ERR_INVALID_ARG naming row and id. */
sf_status sf_embed_fwd(sf_backend *be, int64_t N, int E, const float *table, int V,
                       const int32_t *ids, float *out, int ldo);

/* dtable[ids[n]] += dout[n, 0:E] for ids[n] != 0; repeated ids accumulate.
 * dout: [N, lddo]; ids: [N]; dtable: [V, E] (+=; row 0 never touched). */
sf_status sf_embed_bwd(sf_backend *be, int64_t N, int E, const float *dout, int lddo,
                       const int32_t *ids, float *dtable, int V);

#endif
