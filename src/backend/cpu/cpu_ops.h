/* cpu_ops.h: installers that fill groups of CPU backend-table entries kept in
 * their own files (cpu_cells.c: recurrent-cell pointwise ops; cpu_topk.c: the
 * beam-search step). Called once by sf_cpu_backend_create. */
#ifndef SF_BACKEND_CPU_OPS_H
#define SF_BACKEND_CPU_OPS_H

#include "backend/backend.h"

/* cell_fwd, cell_bwd, gather_rows (cpu_cells.c). */
void sf_cpu_install_cell_ops(sf_backend *be);
/* beam_topk (cpu_topk.c). */
void sf_cpu_install_topk_op(sf_backend *be);

#endif
