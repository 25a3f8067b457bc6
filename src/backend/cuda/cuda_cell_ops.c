/* cuda_cell_ops.c: the CUDA twins of the recurrent-cell ops (CPU reference:
 * src/backend/cpu/cpu_cells.c; kernels in kernels/cells.cu): cell_fwd, cell_bwd
 * and gather_rows. Every array, the mask and idx included, is a device array
 * (rnn.c uploads the layer's masks and index table into its cache), so these
 * ops only check their arguments (the CPU's messages) and enqueue one kernel. */
#include <stdint.h>

#include "backend/cuda/cuda_impl.h"

// xg, hg: [B, G*h] (strides ldxg, ldhg); b_ih, b_hh: [G*h]; h_prev, c_prev, h_out,
// c_out: [B, h] (c: lstm, else NULL); mask: [B] device or NULL; saved: [B, Sv*h]
static sf_status cuda_cell_fwd(sf_backend *be, int cell, int B, int h, const float *xg,
                               int ldxg, const float *hg, int ldhg, const float *b_ih,
                               const float *b_hh, const float *h_prev, const float *c_prev,
                               const float *mask, float *h_out, float *c_out, float *saved)
{
    SF_TRY(sf_backend_check_cell_fwd(__func__, cell, B, h, ldxg, ldhg, c_prev, c_out));
    if (B == 0)
        return SF_OK;
    SF_TRY(cuda_enter(be));
    SF_CUDA_CHECK(sf_kernel_cell_fwd(cell, B, h, xg, ldxg, hg, ldhg, b_ih, b_hh, h_prev,
                                     cell == 2 ? c_prev : NULL, mask, h_out,
                                     cell == 2 ? c_out : NULL, saved, cuda_impl(be)->stream));
    return SF_OK;
}

// saved: [B, Sv*h]; h_prev, c_prev, dh, dc, dh_prev, dc_prev: [B, h]; mask: [B]
// device or NULL; dxg, dhg: [B, G*h] (strides lddxg, lddhg; dhg gru only)
static sf_status cuda_cell_bwd(sf_backend *be, int cell, int B, int h, const float *saved,
                               const float *h_prev, const float *c_prev, const float *mask,
                               const float *dh, const float *dc, float *dxg, int lddxg,
                               float *dhg, int lddhg, float *dh_prev, float *dc_prev)
{
    SF_TRY(sf_backend_check_cell_bwd(__func__, cell, B, h, lddxg, lddhg, dhg, h_prev, c_prev));
    const int lstm = cell == 2;
    /* as cpu_cell_bwd (same words): backend.h gives lstm no NULL dc or dc_prev, and
     * rnn.c passes zeros for a missing dc, so the backends refuse it alike */
    if (lstm && (!dc || !dc_prev))
        return SF_FAIL(SF_ERR_INVALID_ARG, "cell %d: lstm needs dc and dc_prev", cell);
    if (B == 0)
        return SF_OK;
    SF_TRY(cuda_enter(be));
    SF_CUDA_CHECK(sf_kernel_cell_bwd(cell, B, h, saved, h_prev, c_prev, mask, dh,
                                     lstm ? dc : NULL, dxg, lddxg, cell == 1 ? dhg : NULL,
                                     lddhg, dh_prev, lstm ? dc_prev : NULL,
                                     cuda_impl(be)->stream));
    return SF_OK;
}

// src: [*, w] stride lds; idx: [n] device; dst: [n, w] stride ldd (not overlapping src)
static sf_status cuda_gather_rows(sf_backend *be, int n, int w, const float *src, int lds,
                                  const int32_t *idx, float beta, float *dst, int ldd)
{
    SF_TRY(sf_backend_check_gather(__func__, n, w, lds, ldd, beta));
    if (n == 0 || w == 0)
        return SF_OK;
    SF_TRY(cuda_enter(be));
    SF_CUDA_CHECK(sf_kernel_gather_rows(n, w, src, lds, idx, beta != 0.0f, dst, ldd,
                                        cuda_impl(be)->stream));
    return SF_OK;
}

void sf_cuda_install_cell_ops(sf_backend *be)
{
    be->cell_fwd = cuda_cell_fwd;
    be->cell_bwd = cuda_cell_bwd;
    be->gather_rows = cuda_gather_rows;
}
