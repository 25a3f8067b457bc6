/* tensor.h: dtypes and a tensor view (shape + pointer into an arena or a
 * device block). Tensors never own memory; arenas do. */
#ifndef SF_CORE_TENSOR_H
#define SF_CORE_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"

#include "seqfuse/types.h"

#define SF_MAX_DIMS 4

typedef struct sf_tensor {
    sf_dtype dtype;
    int ndim;
    int64_t shape[SF_MAX_DIMS];
    void *data;
} sf_tensor;

/* Bytes per element, and safetensors' name ("F32", "BF16", "U8"...). */
size_t sf_dtype_size(sf_dtype dt);
const char *sf_dtype_name(sf_dtype dt);
/* Parse a safetensors dtype name; SF_ERR_FORMAT for unknown names. */
sf_status sf_dtype_parse(const char *name, sf_dtype *out);

/* Element count; -1 if a dimension is negative or the product overflows. */
int64_t sf_tensor_numel(const sf_tensor *t);
/* Byte size into *out; SF_ERR_FORMAT on overflow. */
sf_status sf_tensor_nbytes(const sf_tensor *t, size_t *out);

/* A tensor of the given shape allocated from arena a (zeroed). */
sf_status sf_tensor_alloc(sf_arena *a, sf_dtype dt, int ndim, const int64_t *shape,
                          sf_tensor *out);
/* Shorthand for f32 tensors of 1..4 dims: sf_tensor_f32(a, &t, 2, rows, cols). */
sf_status sf_tensor_f32(sf_arena *a, sf_tensor *out, int ndim, ...);

/* Shape as "[2, 3, 4]" into buf. */
const char *sf_tensor_shape_str(const sf_tensor *t, char *buf, size_t n);

/* f16 / bf16 <-> f32 conversion (round to nearest even). */
uint16_t sf_f32_to_f16(float f);
float sf_f16_to_f32(uint16_t h);
uint16_t sf_f32_to_bf16(float f);
float sf_bf16_to_f32(uint16_t h);

#endif
