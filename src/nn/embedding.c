/* embedding.c: argument checks around the backend's embedding lookup and
 * scatter-add ops (see embedding.h). */
#include "nn/embedding.h"

static sf_status check_embed_args(const char *fn, int64_t N, int E, int V, int ld,
                                  const void *table, const int32_t *ids, const void *rows)
{
    if (N < 0 || E < 1 || V < 1 || ld < E)
        return sf_error(SF_ERR_INVALID_ARG, "%s: bad shape N=%lld E=%d V=%d ld=%d (need "
                        "N >= 0, E, V >= 1, ld >= E)", fn, (long long)N, E, V, ld);
    if (N > 0 && (!table || !ids || !rows))
        return sf_error(SF_ERR_INVALID_ARG, "%s: NULL table, ids or rows", fn);
    return SF_OK;
}

sf_status sf_embed_fwd(sf_backend *be, int64_t N, int E, const float *table, int V,
                       const int32_t *ids, float *out, int ldo)
{
    SF_TRY(check_embed_args(__func__, N, E, V, ldo, table, ids, out));
    return be->embed_fwd(be, N, E, table, V, ids, out, ldo);
}

sf_status sf_embed_bwd(sf_backend *be, int64_t N, int E, const float *dout, int lddo,
                       const int32_t *ids, float *dtable, int V)
{
    SF_TRY(check_embed_args(__func__, N, E, V, lddo, dtable, ids, dout));
    return be->embed_bwd(be, N, E, dout, lddo, ids, dtable, V);
}
