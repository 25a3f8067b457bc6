/* cpu_ops.h: installers that fill groups of CPU backend-table entries kept in
 * their own files (cpu_cells.c: recurrent-cell pointwise ops; cpu_topk.c: the
 * beam-search step; cpu_gemm.c: the products, whose state is the backend's impl).
 * Called once by sf_cpu_backend_create. */
#ifndef SF_BACKEND_CPU_OPS_H
#define SF_BACKEND_CPU_OPS_H

#include "backend/backend.h"

/* cell_fwd, cell_bwd, gather_rows (cpu_cells.c). */
void sf_cpu_install_cell_ops(sf_backend *be);
/* beam_topk (cpu_topk.c). */
void sf_cpu_install_topk_op(sf_backend *be);

/* The products (cpu_gemm.c). be->impl is an sf_cpu_gemm. */
typedef struct sf_cpu_gemm sf_cpu_gemm;
sf_status sf_cpu_gemm_create(sf_cpu_gemm **out);
void sf_cpu_gemm_free(sf_cpu_gemm *g);
/* The table's sgemm: f32 (oneDNN or OpenBLAS), or bf16 as set below. */
sf_status sf_cpu_sgemm(sf_backend *be, sf_trans ta, sf_trans tb, int M, int N, int K,
                       float alpha, const float *A, int lda, const float *B, int ldb,
                       float beta, float *C, int ldc);
/* The table's optional sgemm_bias (oneDNN's matmul with its bias; OpenBLAS: sgemm
 * then the row add). */
sf_status sf_cpu_sgemm_bias(sf_backend *be, sf_trans ta, sf_trans tb, int M, int N, int K,
                            const float *A, int lda, const float *B, int ldb, const float *bias,
                            float *C, int ldc);
/* What sf_backend_set_precision etc. do for a CPU backend (backend.h). */
sf_status sf_cpu_set_precision(sf_backend *be, sf_precision p);
const char *sf_cpu_gemm_info(const sf_backend *be);
void sf_cpu_params_register(sf_backend *be, const float *p, int64_t n);
/* dst[0..bytes) was written: parameter shadows it overlaps are stale. */
void sf_cpu_note_write(sf_backend *be, const void *dst, size_t bytes);

#endif
