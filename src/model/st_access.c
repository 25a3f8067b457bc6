/* st_access.c: lookups on an open safetensors file (tensors by index and
 * name, raw data, __metadata__) and sf_st_read_f32 with its shape check and
 * F16/BF16/F64 -> f32 conversion. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "core/status_internal.h"
#include "core/tensor.h"
#include "model/st_internal.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "sf_st_read_f32 copies F32 data as is: a big-endian host needs byte swaps here"
#endif

/* ---------------------------------------------------------------- access */

int64_t sf_st_count(const sf_st_file *f) { return f ? f->count : 0; }

const sf_st_info *sf_st_at(const sf_st_file *f, int64_t i)
{
    return f && i >= 0 && i < f->count ? &f->tensors[i] : NULL;
}

const sf_st_info *sf_st_find(const sf_st_file *f, const char *name)
{
    if (!f || !name || f->count == 0)
        return NULL;
    sf_st_info key = {.name = name};
    const sf_st_info *kp = &key;
    const sf_st_info **hit =
        bsearch(&kp, f->by_name, (size_t)f->count, sizeof *f->by_name, st_cmp_name);
    return hit ? *hit : NULL;
}

const void *sf_st_data(const sf_st_file *f, const sf_st_info *t)
{
    return f && t ? f->data + t->offset : NULL;
}

const char *sf_st_meta(const sf_st_file *f, const char *key)
{
    for (int64_t i = 0; f && key && i < f->meta_count; i++)
        if (strcmp(f->meta[i]->string, key) == 0)
            return f->meta[i]->valuestring;
    return NULL;
}

int64_t sf_st_meta_count(const sf_st_file *f) { return f ? f->meta_count : 0; }

const char *sf_st_meta_key(const sf_st_file *f, int64_t i)
{
    return f && i >= 0 && i < f->meta_count ? f->meta[i]->string : NULL;
}

/* Convert n little-endian elements of dtype dt at p into f32. */
static int st_to_f32(sf_dtype dt, const uint8_t *p, int64_t n, float *dst)
{
    for (int64_t i = 0; i < n && dt != SF_F32; i++) {
        if (dt == SF_F16 || dt == SF_BF16) {
            uint16_t h = (uint16_t)(p[2 * i] | (p[2 * i + 1] << 8));
            dst[i] = dt == SF_F16 ? sf_f16_to_f32(h) : sf_bf16_to_f32(h);
        } else if (dt == SF_F64) {
            uint64_t u = st_le64(p + 8 * i);
            double d;
            memcpy(&d, &u, sizeof d);
            dst[i] = (float)d;
        } else {
            return -1;
        }
    }
    if (dt == SF_F32 && n > 0)
        memcpy(dst, p, (size_t)n * sizeof *dst);
    return 0;
}

sf_status sf_st_read_f32(const sf_st_file *f, const char *name, int ndim,
                         const int64_t *shape, float *dst)
{
    if (!f || !name || !dst || ndim < 0 || ndim > SF_ST_MAX_DIMS || (ndim > 0 && !shape))
        return SF_FAIL(SF_ERR_INVALID_ARG, "bad arguments (f, name, dst and shape non-NULL, "
                       "ndim %d in 0..%d)", ndim, SF_ST_MAX_DIMS);
    const sf_st_info *t = sf_st_find(f, name);
    if (!t)
        return SF_FAIL(SF_ERR_FORMAT, "tensor '%s' not found in %s", name, f->name);
    char got[160], want[160];
    if (t->ndim != ndim || (ndim > 0 && memcmp(t->shape, shape, (size_t)ndim * sizeof *shape)))
        return SF_FAIL(SF_ERR_FORMAT, "%s: tensor '%s' has shape %s, expected %s", f->name,
                       name, st_shape_str(t->ndim, t->shape, got, sizeof got),
                       st_shape_str(ndim, shape, want, sizeof want));
    int64_t n = (int64_t)(t->nbytes / sf_dtype_size(t->dtype));
    if (st_to_f32(t->dtype, f->data + t->offset, n, dst) != 0)
        return SF_FAIL(SF_ERR_FORMAT, "%s: tensor '%s' has dtype %s, expected a float dtype "
                       "(F32, F16, BF16 or F64)", f->name, name, sf_dtype_name(t->dtype));
    return SF_OK;
}
