/* cuda_stub.c: stands in for the CUDA backend in builds without CUDA, so that
 * `--device cuda` says why it cannot run instead of failing to link. */
#include "backend/backend.h"

sf_status sf_cuda_backend_create(int device_index, sf_backend **out)
{
    (void)device_index;
    *out = NULL;
    return SF_FAIL(SF_ERR_UNSUPPORTED, "this seqfuse was built without CUDA; rebuild with "
                   "-DSEQFUSE_CUDA=ON on a machine with the CUDA toolkit, or use --device cpu");
}

sf_status sf_cuda_backend_set_tf32(sf_backend *be, int on)
{
    (void)be;
    (void)on;
    return SF_FAIL(SF_ERR_UNSUPPORTED, "this seqfuse was built without CUDA, so there is no "
                   "TF32 setting; rebuild with -DSEQFUSE_CUDA=ON");
}

sf_status sf_cuda_backend_set_deterministic(sf_backend *be, int on)
{
    (void)be;
    (void)on;
    return SF_FAIL(SF_ERR_UNSUPPORTED, "this seqfuse was built without CUDA, so there is no "
                   "deterministic-mode setting; rebuild with -DSEQFUSE_CUDA=ON");
}

sf_status sf_cuda_backend_set_graphs(sf_backend *be, int on)
{
    (void)be;
    (void)on;
    return SF_FAIL(SF_ERR_UNSUPPORTED, "this seqfuse was built without CUDA, so there are no "
                   "CUDA graphs; rebuild with -DSEQFUSE_CUDA=ON");
}

sf_status sf_cuda_backend_set_cudnn_rnn(sf_backend *be, int on)
{
    (void)be;
    (void)on;
    return SF_FAIL(SF_ERR_UNSUPPORTED, "this seqfuse was built without CUDA, so there is no "
                   "cuDNN RNN; rebuild with -DSEQFUSE_CUDA=ON (and cuDNN installed)");
}

int sf_cuda_compiled(void) { return 0; }
int sf_cuda_device_count(void) { return 0; }
