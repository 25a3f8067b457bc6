/* cuda_cudnn_rnn.c: the rnn_layer_* ops (backend.h) through cuDNN v9's RNN API:
 * one unidirectional layer over padded sequence-major data with per-sequence
 * lengths (cudnnRNNForward, cudnnRNNBackwardData_v8, cudnnRNNBackwardWeights_v8),
 * our PyTorch-layout weights copied into cuDNN's weight space each call
 * (cudnnGetRNNWeightParams gives every gate block) and the weight gradients added
 * back from a gradient space. Offered after sf_cuda_backend_set_cudnn_rnn(be, 1);
 * the parity test is tests/test_cuda_cudnn.c. */
#include <stdint.h>
#include <string.h>

#include "backend/cuda/cuda_impl.h"
#include "core/log.h"

#ifdef SEQFUSE_HAVE_CUDNN
#include <cudnn.h>

/* SF_ERR_CUDA naming the call and cuDNN's error text; SF_OK on success. */
static sf_status cudnn_status(cudnnStatus_t s, const char *call, int line, const char *func)
{
    if (s == CUDNN_STATUS_SUCCESS)
        return SF_OK;
    return sf_error(SF_ERR_CUDA, "%s: %s failed at cuda_cudnn_rnn.c:%d: %s", func, call, line,
                    cudnnGetErrorString(s));
}
#define CUDNN_ST(call) cudnn_status((call), #call, __LINE__, __func__)

/* The descriptors of one layer call and the sizes cuDNN asks for. */
typedef struct rnn_call {
    cudnnHandle_t h;
    cudnnRNNDescriptor_t rnn;
    cudnnRNNDataDescriptor_t xd, yd;
    cudnnTensorDescriptor_t hd, md, bd; /* states [1, B, h]; weight-param queries */
    cudnnDropoutDescriptor_t drop;
    size_t w_bytes, ws_bytes, reserve_bytes;
} rnn_call;

static void rnn_call_free(rnn_call *c)
{
    if (c->rnn)
        (void)cudnnDestroyRNNDescriptor(c->rnn);
    if (c->xd)
        (void)cudnnDestroyRNNDataDescriptor(c->xd);
    if (c->yd)
        (void)cudnnDestroyRNNDataDescriptor(c->yd);
    cudnnTensorDescriptor_t t[3] = {c->hd, c->md, c->bd};
    for (int i = 0; i < 3; i++)
        if (t[i])
            (void)cudnnDestroyTensorDescriptor(t[i]);
    if (c->drop)
        (void)cudnnDestroyDropoutDescriptor(c->drop);
}

/* Descriptors for io's layer (no dropout, double bias, padded I/O); FP32 FMA
 * math unless the backend allows TF32. Free with rnn_call_free even on failure. */
static sf_status rnn_call_init(cuda_backend *cb, const sf_rnn_layer_io *io, rnn_call *c)
{
    static const cudnnRNNMode_t modes[3] = {CUDNN_RNN_TANH, CUDNN_GRU, CUDNN_LSTM};
    memset(c, 0, sizeof *c);
    c->h = (cudnnHandle_t)cb->cudnn;
    float zero = 0.0f; /* padding fill of y */
    int dims[3] = {1, io->B, io->h}, strides[3] = {io->B * io->h, io->h, 1};
    SF_TRY(CUDNN_ST(cudnnCreateDropoutDescriptor(&c->drop)));
    SF_TRY(CUDNN_ST(cudnnSetDropoutDescriptor(c->drop, c->h, 0.0f, NULL, 0, 0)));
    SF_TRY(CUDNN_ST(cudnnCreateRNNDescriptor(&c->rnn)));
    SF_TRY(CUDNN_ST(cudnnSetRNNDescriptor_v8(
        c->rnn, CUDNN_RNN_ALGO_STANDARD, modes[io->cell], CUDNN_RNN_DOUBLE_BIAS,
        CUDNN_UNIDIRECTIONAL, CUDNN_LINEAR_INPUT, CUDNN_DATA_FLOAT, CUDNN_DATA_FLOAT,
        cb->allow_tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH, io->in, io->h, io->h, 1, c->drop,
        CUDNN_RNN_PADDED_IO_ENABLED)));
    SF_TRY(CUDNN_ST(cudnnCreateRNNDataDescriptor(&c->xd)));
    SF_TRY(CUDNN_ST(cudnnCreateRNNDataDescriptor(&c->yd)));
    SF_TRY(CUDNN_ST(cudnnSetRNNDataDescriptor(c->xd, CUDNN_DATA_FLOAT,
                                              CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED, io->T,
                                              io->B, io->in, (const int *)io->len, &zero)));
    SF_TRY(CUDNN_ST(cudnnSetRNNDataDescriptor(c->yd, CUDNN_DATA_FLOAT,
                                              CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED, io->T,
                                              io->B, io->h, (const int *)io->len, &zero)));
    SF_TRY(CUDNN_ST(cudnnCreateTensorDescriptor(&c->hd)));
    SF_TRY(CUDNN_ST(cudnnSetTensorNdDescriptor(c->hd, CUDNN_DATA_FLOAT, 3, dims, strides)));
    SF_TRY(CUDNN_ST(cudnnCreateTensorDescriptor(&c->md)));
    SF_TRY(CUDNN_ST(cudnnCreateTensorDescriptor(&c->bd)));
    SF_TRY(CUDNN_ST(cudnnGetRNNWeightSpaceSize(c->h, c->rnn, &c->w_bytes)));
    return CUDNN_ST(cudnnGetRNNTempSpaceSizes(c->h, c->rnn, CUDNN_FWD_MODE_TRAINING, c->xd,
                                              &c->ws_bytes, &c->reserve_bytes));
}

/* A weight block cuDNN gave: present and of the expected element count. */
static sf_status check_param(cudnnTensorDescriptor_t d, const void *addr, int64_t want,
                             int lin, const char *what)
{
    cudnnDataType_t dt;
    int nd = 0, dims[8], strides[8];
    SF_TRY(CUDNN_ST(cudnnGetTensorNdDescriptor(d, 8, &dt, &nd, dims, strides)));
    int64_t n = 1;
    for (int i = 0; i < nd; i++)
        n *= dims[i];
    if (!addr || n != want)
        return SF_FAIL(SF_ERR_INTERNAL, "cuDNN's linear layer %d %s has %lld elements at %p, "
                       "expected %lld; its weight layout is not PyTorch's", lin, what,
                       (long long)n, addr, (long long)want);
    return SF_OK;
}

/* to_space: copy io's weights into cuDNN's weight space; else add the gradient
 * space's blocks into io->gw_* (+=). Gate g of w_ih [G*h, in] is rows g*h..; cuDNN's
 * linear layers 0..G-1 are the input gates, G..2G-1 the recurrent ones, in PyTorch's
 * gate order. space: [c->w_bytes] device */
static sf_status rnn_weights(cuda_backend *cb, const rnn_call *c, const sf_rnn_layer_io *io,
                             void *space, int to_space)
{
    const int G = io->cell == 2 ? 4 : io->cell == 1 ? 3 : 1, h = io->h;
    for (int lin = 0; lin < 2 * G; lin++) {
        const int rec = lin >= G, cols = rec ? h : io->in;
        const size_t wo = (size_t)(lin % G) * h * cols, bo = (size_t)(lin % G) * h;
        void *m = NULL, *b = NULL;
        SF_TRY(CUDNN_ST(cudnnGetRNNWeightParams(c->h, c->rnn, 0, c->w_bytes, space, lin, c->md,
                                                &m, c->bd, &b)));
        SF_TRY(check_param(c->md, m, (int64_t)h * cols, lin, "matrix"));
        SF_TRY(check_param(c->bd, b, h, lin, "bias"));
        if (to_space) {
            const float *w = rec ? io->w_hh : io->w_ih, *bias = rec ? io->b_hh : io->b_ih;
            SF_CUDA_CHECK(cudaMemcpyAsync(m, w + wo, sizeof(float) * h * cols,
                                          cudaMemcpyDeviceToDevice, cb->stream));
            SF_CUDA_CHECK(cudaMemcpyAsync(b, bias + bo, sizeof(float) * h,
                                          cudaMemcpyDeviceToDevice, cb->stream));
        } else {
            float *gw = rec ? io->gw_hh : io->gw_ih, *gb = rec ? io->gb_hh : io->gb_ih;
            SF_CUDA_CHECK(sf_kernel_axpy((int64_t)h * cols, 1.0f, m, gw + wo, cb->stream));
            SF_CUDA_CHECK(sf_kernel_axpy(h, 1.0f, b, gb + bo, cb->stream));
        }
    }
    return SF_OK;
}

/* Descriptors, checks, and the work buffers: the weight space (filled with io's
 * weights when fill) and the workspace. */
static sf_status rnn_prepare(sf_backend *be, const sf_rnn_layer_io *io, rnn_call *c, int fill,
                             void **space, void **ws)
{
    SF_TRY(cuda_enter(be));
    cuda_backend *cb = cuda_impl(be);
    if (!cb->cudnn)
        return SF_FAIL(SF_ERR_INVALID_ARG, "cuDNN RNN is off on %s", be->name);
    SF_TRY(rnn_call_init(cb, io, c));
    if (io->reserve && c->reserve_bytes > io->reserve_bytes)
        return SF_FAIL(SF_ERR_INVALID_ARG, "a reserve of %zu bytes, cuDNN needs %zu for T=%d "
                       "B=%d h=%d", io->reserve_bytes, c->reserve_bytes, io->T, io->B, io->h);
    SF_TRY(sf_cuda_work(cb, CUDA_WORK_RNN_SPACE, c->w_bytes, space));
    SF_TRY(sf_cuda_work(cb, CUDA_WORK_RNN_WS, c->ws_bytes ? c->ws_bytes : 1, ws));
    return fill ? rnn_weights(cb, c, io, *space, 1) : SF_OK;
}

static sf_status cudnn_rnn_reserve(sf_backend *be, const sf_rnn_layer_io *io, size_t *bytes)
{
    rnn_call c = {0};
    SF_TRY(cuda_enter(be));
    sf_status st = cuda_impl(be)->cudnn ? rnn_call_init(cuda_impl(be), io, &c)
                                        : SF_FAIL(SF_ERR_INVALID_ARG, "cuDNN RNN is off");
    *bytes = st == SF_OK ? c.reserve_bytes : 0;
    rnn_call_free(&c);
    return st;
}

// x: [T*B, in]; y: [T*B, h]; h0, c0, hT, cT: [B, h]
static sf_status cudnn_rnn_fwd(sf_backend *be, const sf_rnn_layer_io *io)
{
    rnn_call c = {0};
    void *space = NULL, *ws = NULL;
    sf_status st = rnn_prepare(be, io, &c, 1, &space, &ws);
    if (st == SF_OK)
        st = CUDNN_ST(cudnnRNNForward(c.h, c.rnn, CUDNN_FWD_MODE_TRAINING, io->dev_len, c.xd,
                                      io->x, c.yd, io->y, c.hd, io->h0, io->hT, c.hd, io->c0,
                                      io->cT, c.w_bytes, space, c.ws_bytes, ws,
                                      c.reserve_bytes, io->reserve));
    rnn_call_free(&c);
    return st;
}

// dy, y: [T*B, h]; dx: [T*B, in]; dhT, dcT, dh0, dc0: [B, h]
static sf_status cudnn_rnn_bwd_data(sf_backend *be, const sf_rnn_layer_io *io)
{
    rnn_call c = {0};
    void *space = NULL, *ws = NULL;
    sf_status st = rnn_prepare(be, io, &c, 1, &space, &ws);
    if (st == SF_OK)
        st = CUDNN_ST(cudnnRNNBackwardData_v8(
            c.h, c.rnn, io->dev_len, c.yd, io->y, io->dy, c.xd, io->dx, c.hd, io->h0, io->dhT,
            io->dh0, c.hd, io->c0, io->dcT, io->dc0, c.w_bytes, space, c.ws_bytes, ws,
            c.reserve_bytes, io->reserve));
    rnn_call_free(&c);
    return st;
}

// x: [T*B, in]; y: [T*B, h]; h0: [B, h]; gw_*: accumulated (+=)
static sf_status cudnn_rnn_bwd_weights(sf_backend *be, const sf_rnn_layer_io *io)
{
    rnn_call c = {0};
    void *space = NULL, *ws = NULL;
    sf_status st = rnn_prepare(be, io, &c, 0, &space, &ws);
    cudaStream_t s = cuda_impl(be)->stream;
    if (st == SF_OK && cudaMemsetAsync(space, 0, c.w_bytes, s) != cudaSuccess)
        st = sf_cuda_fail(cudaGetLastError(), "cudaMemsetAsync(space)", __FILE__, __LINE__,
                          __func__);
    if (st == SF_OK)
        st = CUDNN_ST(cudnnRNNBackwardWeights_v8(c.h, c.rnn, CUDNN_WGRAD_MODE_ADD, io->dev_len,
                                                 c.xd, io->x, c.hd, io->h0, c.yd, io->y,
                                                 c.w_bytes, space, c.ws_bytes, ws,
                                                 c.reserve_bytes, io->reserve));
    if (st == SF_OK)
        st = rnn_weights(cuda_impl(be), &c, io, space, 0);
    rnn_call_free(&c);
    return st;
}

void sf_cuda_cudnn_release(cuda_backend *cb)
{
    if (cb->cudnn && cudnnDestroy((cudnnHandle_t)cb->cudnn) != CUDNN_STATUS_SUCCESS)
        sf_log_warn("%s: cudnnDestroy failed", cb->be.name);
    cb->cudnn = NULL;
}

sf_status sf_cuda_backend_set_cudnn_rnn(sf_backend *be, int on)
{
    if (!be || be->kind != SF_DEVICE_CUDA || !be->impl)
        return SF_FAIL(SF_ERR_INVALID_ARG, "cuDNN RNN is a CUDA setting; backend %s is not "
                       "CUDA", be && be->name ? be->name : "(null)");
    cuda_backend *cb = cuda_impl(be);
    SF_TRY(cuda_enter(be));
    if (on && !cb->cudnn) {
        cudnnHandle_t h = NULL;
        SF_TRY(CUDNN_ST(cudnnCreate(&h)));
        sf_status st = CUDNN_ST(cudnnSetStream(h, cb->stream));
        if (st != SF_OK) {
            (void)cudnnDestroy(h);
            return st;
        }
        cb->cudnn = h;
    }
    be->rnn_layer_reserve = on ? cudnn_rnn_reserve : NULL;
    be->rnn_layer_fwd = on ? cudnn_rnn_fwd : NULL;
    be->rnn_layer_bwd_data = on ? cudnn_rnn_bwd_data : NULL;
    be->rnn_layer_bwd_weights = on ? cudnn_rnn_bwd_weights : NULL;
    return SF_OK;
}

#else /* built without cuDNN */

void sf_cuda_cudnn_release(cuda_backend *cb) { (void)cb; }

sf_status sf_cuda_backend_set_cudnn_rnn(sf_backend *be, int on)
{
    (void)be;
    (void)on;
    return SF_FAIL(SF_ERR_UNSUPPORTED, "this seqfuse was built without cuDNN (not found at "
                   "configure time); install cuDNN 9 and re-run cmake");
}

#endif
