/* backend.c: choosing and opening a backend from a device string. */
#include "backend/backend.h"

#include <stdlib.h>
#include <string.h>

sf_status sf_backend_open(const char *spec, sf_backend **out)
{
    *out = NULL;
    if (!spec || strcmp(spec, "cpu") == 0)
        return sf_cpu_backend_create(out);
    if (strncmp(spec, "cuda", 4) == 0) {
        int index = 0;
        if (spec[4] == ':') {
            char *end = NULL;
            long v = strtol(spec + 5, &end, 10);
            if (end == spec + 5 || *end != '\0' || v < 0 || v > 1023)
                return SF_FAIL(SF_ERR_INVALID_ARG, "bad device \"%s\" (expected cpu, cuda "
                               "or cuda:N)", spec);
            index = (int)v;
        } else if (spec[4] != '\0') {
            return SF_FAIL(SF_ERR_INVALID_ARG, "bad device \"%s\" (expected cpu, cuda or "
                           "cuda:N)", spec);
        }
        return sf_cuda_backend_create(index, out);
    }
    return SF_FAIL(SF_ERR_INVALID_ARG, "unknown device \"%s\" (expected cpu, cuda or cuda:N)",
                   spec);
}

void sf_backend_close(sf_backend *be)
{
    if (be && be->destroy)
        be->destroy(be);
}

sf_status sf_backend_check_gemm(sf_trans ta, sf_trans tb, int M, int N, int K, int lda,
                                    int ldb, int ldc)
{
    int a_cols = ta == SF_NO_TRANS ? K : M;
    int b_cols = tb == SF_NO_TRANS ? N : K;
    if (M < 0 || N < 0 || K < 0 || lda < (a_cols > 1 ? a_cols : 1) ||
        ldb < (b_cols > 1 ? b_cols : 1) || ldc < (N > 1 ? N : 1))
        return sf_error(SF_ERR_INVALID_ARG, "sgemm: bad shape M=%d N=%d K=%d lda=%d ldb=%d "
                       "ldc=%d", M, N, K, lda, ldb, ldc);
    return SF_OK;
}
