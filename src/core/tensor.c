/* tensor.c: dtype tables, sizes with overflow checks, half-precision conversion. */
#include "core/tensor.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    size_t size;
} sf_dtypes[SF_DTYPE_COUNT] = {
    [SF_F32] = {"F32", 4}, [SF_F16] = {"F16", 2}, [SF_BF16] = {"BF16", 2},
    [SF_F64] = {"F64", 8}, [SF_I32] = {"I32", 4}, [SF_I64] = {"I64", 8},
    [SF_U8] = {"U8", 1},
};

size_t sf_dtype_size(sf_dtype dt)
{
    return (unsigned)dt < SF_DTYPE_COUNT ? sf_dtypes[dt].size : 0;
}

const char *sf_dtype_name(sf_dtype dt)
{
    return (unsigned)dt < SF_DTYPE_COUNT ? sf_dtypes[dt].name : "?";
}

sf_status sf_dtype_parse(const char *name, sf_dtype *out)
{
    for (int i = 0; i < SF_DTYPE_COUNT; i++) {
        if (strcmp(name, sf_dtypes[i].name) == 0) {
            *out = (sf_dtype)i;
            return SF_OK;
        }
    }
    return SF_FAIL(SF_ERR_FORMAT, "unknown dtype \"%s\" (expected one of F32, F16, BF16, "
                   "F64, I32, I64, U8)", name);
}

int64_t sf_tensor_numel(const sf_tensor *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) {
        int64_t d = t->shape[i];
        if (d < 0)
            return -1;
        if (d != 0 && n > INT64_MAX / d)
            return -1;
        n *= d;
    }
    return n;
}

sf_status sf_tensor_nbytes(const sf_tensor *t, size_t *out)
{
    int64_t n = sf_tensor_numel(t);
    size_t es = sf_dtype_size(t->dtype);
    if (n < 0 || es == 0 || (uint64_t)n > SIZE_MAX / es)
        return SF_FAIL(SF_ERR_FORMAT, "tensor byte size overflows");
    *out = (size_t)n * es;
    return SF_OK;
}

sf_status sf_tensor_alloc(sf_arena *a, sf_dtype dt, int ndim, const int64_t *shape,
                          sf_tensor *out)
{
    memset(out, 0, sizeof *out);
    if (ndim < 0 || ndim > SF_MAX_DIMS)
        return SF_FAIL(SF_ERR_INVALID_ARG, "ndim %d outside 0..%d", ndim, SF_MAX_DIMS);
    out->dtype = dt;
    out->ndim = ndim;
    for (int i = 0; i < ndim; i++)
        out->shape[i] = shape[i];
    size_t nb;
    SF_TRY(sf_tensor_nbytes(out, &nb));
    return sf_arena_alloc(a, nb, &out->data);
}

sf_status sf_tensor_f32(sf_arena *a, sf_tensor *out, int ndim, ...)
{
    int64_t shape[SF_MAX_DIMS] = {0};
    va_list ap;
    va_start(ap, ndim);
    for (int i = 0; i < ndim && i < SF_MAX_DIMS; i++)
        shape[i] = va_arg(ap, int64_t);
    va_end(ap);
    return sf_tensor_alloc(a, SF_F32, ndim, shape, out);
}

const char *sf_tensor_shape_str(const sf_tensor *t, char *buf, size_t n)
{
    size_t used = 0;
    used += (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < t->ndim && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, i ? ", %lld" : "%lld",
                                 (long long)t->shape[i]);
    if (used < n)
        snprintf(buf + used, n - used, "]");
    return buf;
}

typedef union {
    float f;
    uint32_t u;
} sf_fbits;

uint16_t sf_f32_to_bf16(float f)
{
    sf_fbits b = {.f = f};
    if ((b.u & 0x7fffffffu) > 0x7f800000u) /* NaN: keep it quiet NaN */
        return (uint16_t)((b.u >> 16) | 0x40);
    uint32_t rounding = 0x7fffu + ((b.u >> 16) & 1u);
    return (uint16_t)((b.u + rounding) >> 16);
}

float sf_bf16_to_f32(uint16_t h)
{
    sf_fbits b = {.u = (uint32_t)h << 16};
    return b.f;
}

uint16_t sf_f32_to_f16(float f)
{
    sf_fbits b = {.f = f};
    uint32_t sign = (b.u >> 16) & 0x8000u;
    uint32_t absu = b.u & 0x7fffffffu;
    if (absu > 0x7f800000u)
        return (uint16_t)(sign | 0x7e00u);           /* NaN */
    if (absu >= 0x47800000u)
        return (uint16_t)(sign | 0x7c00u);           /* overflow -> Inf */
    if (absu < 0x38800000u) {                        /* subnormal or zero in f16 */
        if (absu < 0x33000000u)
            return (uint16_t)sign;
        uint32_t mant = (absu & 0x007fffffu) | 0x00800000u;
        /* value = mant * 2^(e-23); the f16 subnormal unit is 2^-24 */
        int e = (int)(absu >> 23) - 127;             /* unbiased exponent, -25..-15 */
        int rshift = -e - 1;                         /* bits to drop: 14..24 */
        uint32_t q = mant >> rshift;
        uint32_t rem = mant & ((1u << rshift) - 1u);
        uint32_t halfway = 1u << (rshift - 1);
        if (rem > halfway || (rem == halfway && (q & 1u)))
            q++;
        return (uint16_t)(sign | q);
    }
    uint32_t r = absu - 0x38000000u;                 /* rebias exponent 127 -> 15 */
    uint32_t q = r >> 13;
    uint32_t rem = r & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (q & 1u)))
        q++;
    return (uint16_t)(sign | q);
}

float sf_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t mant = h & 0x3ffu;
    sf_fbits b;
    if (exp == 0) {
        if (mant == 0) {
            b.u = sign;
        } else { /* subnormal: normalize */
            int e = -1;
            do {
                mant <<= 1;
                e++;
            } while (!(mant & 0x400u));
            b.u = sign | ((uint32_t)(127 - 15 - e) << 23) | ((mant & 0x3ffu) << 13);
        }
    } else if (exp == 31) {
        b.u = sign | 0x7f800000u | (mant << 13);
    } else {
        b.u = sign | ((exp + 127 - 15) << 23) | (mant << 13);
    }
    return b.f;
}
