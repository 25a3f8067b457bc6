/* cpu_attn_ops.h: installs the CPU reference twins of the attention, loss and
 * embedding ops (src/backend/cpu/cpu_attn.c) into a backend table. */
#ifndef SF_BACKEND_CPU_CPU_ATTN_OPS_H
#define SF_BACKEND_CPU_CPU_ATTN_OPS_H

#include "backend/backend.h"

/* Fills the fields of the "attention, loss, embedding" block of be. */
void sf_cpu_install_attn_ops(sf_backend *be);

#endif
