/* cuda_impl.h: the CUDA backend's private state, shared by the files that fill
 * its op table (cuda_backend.c: memory, products, element-wise ops; cuda_nn_ops.c:
 * attention, loss and embedding ops; cuda_cell_ops.c: recurrent cells;
 * cuda_topk.c: the beam-search step; cuda_graph.c: graphs; cuda_cudnn_rnn.c:
 * encoder layers through cuDNN), and its cached device work buffers. */
#ifndef SF_BACKEND_CUDA_IMPL_H
#define SF_BACKEND_CUDA_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include "backend/backend.h"
#include "backend/cuda/cuda_util.h"
#include "kernels.h" /* kernels/ is on the library's include path */

/* Cached device buffers the ops need for a moment; each grows when a call needs
 * more. Ops are stream-ordered, so one of each per backend suffices. */
typedef enum cuda_work_slot {
    CUDA_WORK_SRC_LEN = 0, /* int32 [B]: the last src_len uploaded (len_host) */
    CUDA_WORK_ROWS = 1,    /* per-row partial results (xent: [N, 2] doubles; mlp: dv parts) */
    CUDA_WORK_TOPK = 2,    /* beam_topk's inputs, per-row lists and results */
    CUDA_WORK_RNN_SPACE = 3, /* cuDNN RNN: weight space (+ gradient space) */
    CUDA_WORK_RNN_WS = 4,  /* cuDNN RNN: workspace */
    CUDA_WORK_SLOTS = 5,
} cuda_work_slot;

typedef struct cuda_backend {
    sf_backend be;          /* first: be.impl points back at this struct */
    cudaStream_t stream;
    cublasHandle_t blas;    /* bound to stream */
    int allow_tf32;         /* sgemm may use TF32 tensor cores (off by default) */
    int deterministic;      /* embed_bwd without atomics (on by default) */
    double *scratch;        /* [SF_KERNEL_SUMSQ_BLOCKS + 1] for sumsq */
    sf_kernel_result *result; /* [1]: range-check result and sums read back by ops */
    void *work[CUDA_WORK_SLOTS];
    size_t work_bytes[CUDA_WORK_SLOTS];
    int32_t *len_host;      /* [len_cap]: host copy of the src_len in work[CUDA_WORK_SRC_LEN] */
    int len_count, len_cap; /* its length (0: none yet) and capacity */
    void *topk_host;        /* beam_topk's host staging (inputs, then results) */
    size_t topk_host_bytes;
    int32_t *iota;          /* [65536] device, iota[i] = i: src_len of one sentence */
    int capturing;          /* ops are being recorded into a graph: no waiting */
    void *blas_ws;          /* cuBLAS's fixed workspace once graphs are on (else NULL) */
    void *cudnn;            /* cudnnHandle_t once cuDNN RNN is on (else NULL) */
    char name[24];          /* "cuda:N" */
} cuda_backend;

static inline cuda_backend *cuda_impl(sf_backend *be) { return (cuda_backend *)be->impl; }

/* Make this backend's device current for the calling thread. */
static inline sf_status cuda_enter(sf_backend *be)
{
    SF_CUDA_CHECK(cudaSetDevice(be->device_index));
    return SF_OK;
}

/* A device buffer of at least `bytes` in slot (contents undefined); growing it
 * first waits for the stream, since queued kernels may still use the old one. */
sf_status sf_cuda_work(cuda_backend *cb, cuda_work_slot slot, size_t bytes, void **out);

/* Fills the "attention, loss, embedding" block of the table (cuda_nn_ops.c). */
void sf_cuda_install_nn_ops(sf_backend *be);
/* Fills cell_fwd, cell_bwd and gather_rows (cuda_cell_ops.c). */
void sf_cuda_install_cell_ops(sf_backend *be);
/* Fills beam_topk (cuda_topk.c). */
void sf_cuda_install_topk_op(sf_backend *be);
/* Releases the graph state (cuda_graph.c): the cuBLAS workspace. */
void sf_cuda_graph_release(cuda_backend *cb);
/* Releases the cuDNN handle (cuda_cudnn_rnn.c). */
void sf_cuda_cudnn_release(cuda_backend *cb);

#endif
