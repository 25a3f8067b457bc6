/* st_internal.h: what the safetensors files share: the open-file struct
 * (st_read.c fills it, st_access.c reads it), overflow-checked byte sizes and
 * shape formatting (also used by the writer, st_write.c). */
#ifndef SF_MODEL_ST_INTERNAL_H
#define SF_MODEL_ST_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "seqfuse/modelfile.h"

typedef struct cJSON cJSON;

/* An open file (see sf_st_open). */
struct sf_st_file {
    char *name;           /* path or memory name, used in messages */
    uint8_t *buf;         /* the whole file */
    size_t size;
    const uint8_t *data;  /* start of the data section inside buf */
    uint64_t data_size;
    cJSON *root;          /* parsed header; names and metadata point into it */
    int64_t count;
    sf_st_info *tensors;  /* [count], header order */
    const sf_st_info **by_name; /* [count], sorted by name */
    int64_t meta_count;
    cJSON **meta;         /* [meta_count], string items of __metadata__ */
    int has_meta;
};

/* Little-endian u64 at p (any alignment). */
static inline uint64_t st_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* Why st_nbytes refused a shape. */
typedef enum st_size_err {
    ST_SIZE_OK = 0,
    ST_SIZE_NEG_DIM,   /* a dimension is negative */
    ST_SIZE_NUMEL,     /* element count does not fit in int64 */
    ST_SIZE_BYTES,     /* byte size does not fit in uint64 */
} st_size_err;

/* Element count and byte size of a tensor with the given shape:
 * shape: [ndim]. */
st_size_err st_nbytes(sf_dtype dt, int ndim, const int64_t *shape, int64_t *numel,
                      uint64_t *nbytes);

/* qsort/bsearch order of `const sf_st_info *` by name. */
int st_cmp_name(const void *a, const void *b);

/* Shape as "[2, 3, 4]" into buf (truncated if n is too small). */
const char *st_shape_str(int ndim, const int64_t *shape, char *buf, size_t n);

#endif
