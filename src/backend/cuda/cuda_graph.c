/* cuda_graph.c: graphs for the CUDA backend (backend.h's graph_* ops): stream
 * capture on the backend's stream into a cudaGraph, instantiated once and then
 * updated in place (cudaGraphExecUpdate) when a new recording has the same
 * shape, replayed with cudaGraphLaunch. Offered only after
 * sf_cuda_backend_set_graphs(be, 1). */
#include <stdlib.h>

#include "backend/cuda/cuda_impl.h"
#include "core/log.h"

/* cuBLAS's workspace while graphs are on: recorded products must not allocate
 * one per recording (cuBLAS's advice: 32 MiB on Hopper, less before). */
#define CUDA_BLAS_WORKSPACE ((size_t)32 << 20)

struct sf_graph {
    cudaGraphExec_t exec;
};

static sf_status cuda_graph_begin(sf_backend *be)
{
    SF_TRY(cuda_enter(be));
    cuda_backend *cb = cuda_impl(be);
    if (cb->capturing)
        return SF_FAIL(SF_ERR_INTERNAL, "a graph is already being recorded on %s", be->name);
    SF_CUDA_CHECK(cudaStreamBeginCapture(cb->stream, cudaStreamCaptureModeThreadLocal));
    cb->capturing = 1;
    return SF_OK;
}

static void cuda_graph_free(sf_backend *be, sf_graph *g)
{
    if (!g)
        return;
    if (cudaSetDevice(be->device_index) != cudaSuccess ||
        cudaGraphExecDestroy(g->exec) != cudaSuccess) {
        sf_log_warn("%s: cudaGraphExecDestroy failed", be->name);
        (void)cudaGetLastError();
    }
    free(g);
}

/* *g = graph instantiated (a new sf_graph when *g is NULL). */
static sf_status graph_instantiate(cudaGraph_t graph, sf_graph **g)
{
    sf_graph *n = *g ? *g : calloc(1, sizeof *n);
    if (!n)
        return SF_FAIL(SF_ERR_OOM, "graph handle");
    cudaError_t err = cudaGraphInstantiate(&n->exec, graph, 0);
    if (err != cudaSuccess) {
        free(n);
        *g = NULL;
        return sf_cuda_fail(err, "cudaGraphInstantiate(&exec, graph, 0)", __FILE__, __LINE__,
                            __func__);
    }
    *g = n;
    return SF_OK;
}

static sf_status cuda_graph_end(sf_backend *be, int discard, sf_graph **g)
{
    SF_TRY(cuda_enter(be));
    cuda_backend *cb = cuda_impl(be);
    cudaGraph_t graph = NULL;
    cudaError_t err = cudaStreamEndCapture(cb->stream, &graph);
    cb->capturing = 0;
    if (discard) { /* keep the failing op's message */
        if (graph)
            (void)cudaGraphDestroy(graph);
        (void)cudaGetLastError();
        return SF_OK;
    }
    SF_CUDA_CHECK(err);
    if (*g) {
        cudaGraphExecUpdateResultInfo info;
        if (cudaGraphExecUpdate((*g)->exec, graph, &info) == cudaSuccess) {
            (void)cudaGraphDestroy(graph);
            return SF_OK;
        }
        (void)cudaGetLastError(); /* another shape: instantiate anew */
        (void)cudaGraphExecDestroy((*g)->exec);
    }
    sf_status st = graph_instantiate(graph, g);
    (void)cudaGraphDestroy(graph);
    return st;
}

static sf_status cuda_graph_launch(sf_backend *be, sf_graph *g)
{
    if (!g)
        return SF_FAIL(SF_ERR_INVALID_ARG, "no graph to launch");
    SF_TRY(cuda_enter(be));
    SF_CUDA_CHECK(cudaGraphLaunch(g->exec, cuda_impl(be)->stream));
    return SF_OK;
}

void sf_cuda_graph_release(cuda_backend *cb)
{
    if (cb->blas_ws && cudaFree(cb->blas_ws) != cudaSuccess) {
        sf_log_warn("%s: cudaFree(cuBLAS workspace) failed", cb->be.name);
        (void)cudaGetLastError();
    }
    cb->blas_ws = NULL;
}

sf_status sf_cuda_backend_set_graphs(sf_backend *be, int on)
{
    if (!be || be->kind != SF_DEVICE_CUDA || !be->impl)
        return SF_FAIL(SF_ERR_INVALID_ARG, "graphs are a CUDA setting; backend %s is not CUDA",
                       be && be->name ? be->name : "(null)");
    cuda_backend *cb = cuda_impl(be);
    SF_TRY(cuda_enter(be));
    if (on && !cb->blas_ws) {
        cudaError_t err = cudaMalloc(&cb->blas_ws, CUDA_BLAS_WORKSPACE);
        if (err == cudaErrorMemoryAllocation)
            return sf_cuda_oom(CUDA_BLAS_WORKSPACE, be->name, __func__);
        SF_CUDA_CHECK(err);
        SF_CUBLAS_CHECK(cublasSetWorkspace(cb->blas, cb->blas_ws, CUDA_BLAS_WORKSPACE));
    }
    be->graph_begin = on ? cuda_graph_begin : NULL;
    be->graph_end = on ? cuda_graph_end : NULL;
    be->graph_launch = on ? cuda_graph_launch : NULL;
    be->graph_free = cuda_graph_free; /* kept when off: graphs made before still need it */
    return SF_OK;
}
