/* st_read.c: the safetensors reader. Reads a whole file into one buffer,
 * validates the 8-byte header length, the JSON header, every tensor entry,
 * the data layout and (optionally) the seqfuse __metadata__ into an
 * sf_st_file (lookups on it live in st_access.c). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/status_internal.h"
#include "core/tensor.h"
#include "core/utf8.h"
#include "model/st_internal.h"
#include "seqfuse/modelfile.h"

/* A message that names the file: ST_FAIL(f, SF_ERR_FORMAT, "tensor '%s': ...", n). */
#define ST_FAIL(f, st, fmt, ...) SF_FAIL(st, "%s: " fmt, (f)->name, ##__VA_ARGS__)

/* JSON integers must be exact doubles: at most 2^53. */
#define ST_MAX_JSON_INT 9007199254740992.0

/* ---------------------------------------------------------------- helpers */

st_size_err st_nbytes(sf_dtype dt, int ndim, const int64_t *shape, int64_t *numel,
                      uint64_t *nbytes)
{
    uint64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return ST_SIZE_NEG_DIM;
        uint64_t d = (uint64_t)shape[i];
        if (d != 0 && n > (uint64_t)INT64_MAX / d)
            return ST_SIZE_NUMEL;
        n *= d;
    }
    uint64_t es = sf_dtype_size(dt);
    if (es == 0 || n > UINT64_MAX / es)
        return ST_SIZE_BYTES;
    *numel = (int64_t)n;
    *nbytes = n * es;
    return ST_SIZE_OK;
}

const char *st_shape_str(int ndim, const int64_t *shape, char *buf, size_t n)
{
    size_t used = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < ndim && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, i ? ", %lld" : "%lld",
                                 (long long)shape[i]);
    if (used < n)
        snprintf(buf + used, n - used, "]");
    return buf;
}

static const char *st_json_type(const cJSON *j)
{
    if (cJSON_IsObject(j))
        return "an object";
    if (cJSON_IsArray(j))
        return "an array";
    if (cJSON_IsString(j))
        return "a string";
    if (cJSON_IsNumber(j))
        return "a number";
    if (cJSON_IsBool(j))
        return "a boolean";
    if (cJSON_IsNull(j))
        return "null";
    return "an invalid value";
}

/* A JSON number that is a non-negative integer <= 2^53; 0 on success. */
static int st_json_uint(const cJSON *j, uint64_t *out)
{
    if (!cJSON_IsNumber(j))
        return -1;
    double d = j->valuedouble;
    if (!isfinite(d) || d < 0 || d > ST_MAX_JSON_INT || d != floor(d))
        return -1;
    *out = (uint64_t)d;
    return 0;
}


/* ---------------------------------------------------------------- entries */

static sf_status st_parse_dtype(sf_st_file *f, const char *tn, const cJSON *j, sf_dtype *out)
{
    if (!cJSON_IsString(j))
        return ST_FAIL(f, SF_ERR_FORMAT, "tensor '%s': \"dtype\" is %s, expected a string "
                       "such as \"F32\"", tn, st_json_type(j));
    for (int i = 0; i < SF_DTYPE_COUNT; i++) {
        if (strcmp(j->valuestring, sf_dtype_name((sf_dtype)i)) == 0) {
            *out = (sf_dtype)i;
            return SF_OK;
        }
    }
    return ST_FAIL(f, SF_ERR_FORMAT, "tensor '%s': unknown dtype \"%s\" (expected one of "
                   "F32, F16, BF16, F64, I32, I64, U8)", tn, j->valuestring);
}

static sf_status st_parse_shape(sf_st_file *f, const char *tn, const cJSON *j, sf_st_info *t)
{
    if (!cJSON_IsArray(j))
        return ST_FAIL(f, SF_ERR_FORMAT, "tensor '%s': \"shape\" is %s, expected an array "
                       "of non-negative integers", tn, st_json_type(j));
    int n = cJSON_GetArraySize(j);
    if (n > SF_ST_MAX_DIMS)
        return ST_FAIL(f, SF_ERR_FORMAT, "tensor '%s': shape has %d dims, at most %d are "
                       "supported", tn, n, SF_ST_MAX_DIMS);
    t->ndim = n;
    int i = 0;
    for (const cJSON *d = j->child; d; d = d->next, i++) {
        uint64_t v;
        if (st_json_uint(d, &v) != 0) {
            char *txt = cJSON_PrintUnformatted(d);
            sf_status st = ST_FAIL(f, SF_ERR_FORMAT, "tensor '%s': shape[%d] is %s, expected "
                                   "a non-negative integer <= 2^53", tn, i,
                                   txt ? txt : "?");
            cJSON_free(txt);
            return st;
        }
        t->shape[i] = (int64_t)v;
    }
    return SF_OK;
}

static sf_status st_parse_offsets(sf_st_file *f, const char *tn, const cJSON *j,
                                  uint64_t *begin, uint64_t *end)
{
    if (!cJSON_IsArray(j) || cJSON_GetArraySize(j) != 2 ||
        st_json_uint(j->child, begin) != 0 || st_json_uint(j->child->next, end) != 0) {
        char *txt = cJSON_PrintUnformatted(j);
        sf_status st = ST_FAIL(f, SF_ERR_FORMAT, "tensor '%s': \"data_offsets\" is %.80s, "
                               "expected [begin, end] (two non-negative integers)", tn,
                               txt ? txt : "?");
        cJSON_free(txt);
        return st;
    }
    if (*end < *begin)
        return ST_FAIL(f, SF_ERR_FORMAT, "tensor '%s': data_offsets [%llu, %llu] end before "
                       "begin", tn, (unsigned long long)*begin, (unsigned long long)*end);
    if (*end > f->data_size)
        return ST_FAIL(f, SF_ERR_FORMAT, "tensor '%s': data_offsets [%llu, %llu] outside the "
                       "data section (%llu bytes; file truncated?)", tn,
                       (unsigned long long)*begin, (unsigned long long)*end,
                       (unsigned long long)f->data_size);
    return SF_OK;
}

/* Find dtype/shape/data_offsets in an entry; each exactly once. */
static sf_status st_entry_fields(sf_st_file *f, const cJSON *e, const cJSON *fields[3])
{
    static const char *const keys[3] = {"dtype", "shape", "data_offsets"};
    for (const cJSON *c = e->child; c; c = c->next) {
        for (int k = 0; k < 3; k++) {
            if (strcmp(c->string, keys[k]) != 0)
                continue;
            if (fields[k])
                return ST_FAIL(f, SF_ERR_FORMAT, "tensor '%s': duplicate key \"%s\"",
                               e->string, keys[k]);
            fields[k] = c;
        }
    }
    for (int k = 0; k < 3; k++)
        if (!fields[k])
            return ST_FAIL(f, SF_ERR_FORMAT, "tensor '%s': missing \"%s\" (each entry needs "
                           "dtype, shape and data_offsets)", e->string, keys[k]);
    return SF_OK;
}

static sf_status st_parse_entry(sf_st_file *f, const cJSON *e, sf_st_info *t)
{
    const char *tn = e->string;
    if (!cJSON_IsObject(e))
        return ST_FAIL(f, SF_ERR_FORMAT, "tensor '%s': entry is %s, expected an object with "
                       "dtype, shape and data_offsets", tn, st_json_type(e));
    const cJSON *fields[3] = {NULL, NULL, NULL};
    SF_TRY(st_entry_fields(f, e, fields));
    t->name = tn;
    SF_TRY(st_parse_dtype(f, tn, fields[0], &t->dtype));
    SF_TRY(st_parse_shape(f, tn, fields[1], t));
    uint64_t begin, end;
    SF_TRY(st_parse_offsets(f, tn, fields[2], &begin, &end));
    char sh[160];
    int64_t numel;
    uint64_t need;
    switch (st_nbytes(t->dtype, t->ndim, t->shape, &numel, &need)) {
    case ST_SIZE_OK:
        break;
    case ST_SIZE_NUMEL:
        return ST_FAIL(f, SF_ERR_FORMAT, "tensor '%s': shape %s: element count overflows "
                       "64 bits", tn, st_shape_str(t->ndim, t->shape, sh, sizeof sh));
    default:
        return ST_FAIL(f, SF_ERR_FORMAT, "tensor '%s': shape %s: byte size overflows "
                       "64 bits", tn, st_shape_str(t->ndim, t->shape, sh, sizeof sh));
    }
    if (end - begin != need)
        return ST_FAIL(f, SF_ERR_FORMAT, "tensor '%s': data_offsets [%llu, %llu] hold %llu "
                       "bytes, but %s x shape %s needs %llu bytes", tn,
                       (unsigned long long)begin, (unsigned long long)end,
                       (unsigned long long)(end - begin), sf_dtype_name(t->dtype),
                       st_shape_str(t->ndim, t->shape, sh, sizeof sh),
                       (unsigned long long)need);
    t->offset = begin;
    t->nbytes = need;
    return SF_OK;
}

/* ---------------------------------------------------------------- metadata */

static sf_status st_parse_meta(sf_st_file *f, const cJSON *m)
{
    if (f->has_meta)
        return ST_FAIL(f, SF_ERR_FORMAT, "duplicate \"__metadata__\" entry in the header");
    f->has_meta = 1;
    if (!cJSON_IsObject(m))
        return ST_FAIL(f, SF_ERR_FORMAT, "__metadata__ is %s, expected an object of string "
                       "values", st_json_type(m));
    int n = cJSON_GetArraySize(m);
    f->meta = calloc((size_t)n + 1, sizeof *f->meta);
    if (!f->meta)
        return ST_FAIL(f, SF_ERR_OOM, "cannot allocate %d metadata entries", n);
    for (cJSON *c = m->child; c; c = c->next) {
        if (!cJSON_IsString(c))
            return ST_FAIL(f, SF_ERR_FORMAT, "__metadata__ entry '%s' is %s, expected a "
                           "string", c->string, st_json_type(c));
        for (int64_t i = 0; i < f->meta_count; i++)
            if (strcmp(f->meta[i]->string, c->string) == 0)
                return ST_FAIL(f, SF_ERR_FORMAT, "duplicate __metadata__ key '%s'",
                               c->string);
        f->meta[f->meta_count++] = c;
    }
    return SF_OK;
}

/* "1", "2"...: digits only, no sign, positive; -1 otherwise. */
static long st_parse_version(const char *s)
{
    long v = 0;
    size_t n = strlen(s);
    if (n == 0 || n > 9)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v > 0 ? v : -1;
}

static sf_status st_check_seqfuse(sf_st_file *f)
{
    if (!f->has_meta)
        return ST_FAIL(f, SF_ERR_FORMAT, "no __metadata__ (expected format, version and "
                       "config; is this a seqfuse model file?)");
    const char *fmt = sf_st_meta(f, "format");
    if (!fmt || strcmp(fmt, "seqfuse") != 0)
        return ST_FAIL(f, SF_ERR_FORMAT, "__metadata__ format is %s%s%s, expected "
                       "\"seqfuse\" (not a seqfuse model file)", fmt ? "\"" : "",
                       fmt ? fmt : "missing", fmt ? "\"" : "");
    const char *ver = sf_st_meta(f, "version");
    if (!ver)
        return ST_FAIL(f, SF_ERR_FORMAT, "__metadata__ version is missing, expected a "
                       "positive integer such as \"%d\"", SF_MODEL_FORMAT_VERSION);
    long v = st_parse_version(ver);
    if (v < 0)
        return ST_FAIL(f, SF_ERR_FORMAT, "__metadata__ version \"%.40s\" is not a positive "
                       "integer", ver);
    if (v > SF_MODEL_FORMAT_VERSION)
        return ST_FAIL(f, SF_ERR_UNSUPPORTED, "model format version %ld is newer than this "
                       "build reads (up to %d); upgrade seqfuse", v, SF_MODEL_FORMAT_VERSION);
    const char *cfg = sf_st_meta(f, "config");
    if (!cfg)
        return ST_FAIL(f, SF_ERR_FORMAT, "__metadata__ config is missing, expected a JSON "
                       "object with the model's hyper-parameters");
    cJSON *c = cJSON_Parse(cfg);
    int ok = cJSON_IsObject(c);
    cJSON_Delete(c);
    if (!ok)
        return ST_FAIL(f, SF_ERR_FORMAT, "__metadata__ config is not a JSON object (got "
                       "\"%.60s\")", cfg);
    return SF_OK;
}

/* ---------------------------------------------------------------- layout */

int st_cmp_name(const void *a, const void *b)
{
    const sf_st_info *ta = *(const sf_st_info *const *)a, *tb = *(const sf_st_info *const *)b;
    return strcmp(ta->name, tb->name);
}

static int st_cmp_offset(const void *a, const void *b)
{
    const sf_st_info *ta = *(const sf_st_info *const *)a, *tb = *(const sf_st_info *const *)b;
    if (ta->offset != tb->offset)
        return ta->offset < tb->offset ? -1 : 1;
    if (ta->nbytes != tb->nbytes)
        return ta->nbytes < tb->nbytes ? -1 : 1;
    return (ta > tb) - (ta < tb);
}

static void st_sort(const sf_st_file *f, const sf_st_info **idx,
                    int (*cmp)(const void *, const void *))
{
    for (int64_t i = 0; i < f->count; i++)
        idx[i] = &f->tensors[i];
    if (f->count > 1)
        qsort(idx, (size_t)f->count, sizeof *idx, cmp);
}

static sf_status st_check_offsets(sf_st_file *f, const sf_st_info **order)
{
    uint64_t expect = 0;
    const sf_st_info *prev = NULL;
    for (int64_t i = 0; i < f->count; i++) {
        const sf_st_info *t = order[i];
        if (t->offset < expect)
            return ST_FAIL(f, SF_ERR_FORMAT, "tensors '%s' [%llu, %llu] and '%s' [%llu, "
                           "%llu] overlap", prev->name, (unsigned long long)prev->offset,
                           (unsigned long long)(prev->offset + prev->nbytes), t->name,
                           (unsigned long long)t->offset,
                           (unsigned long long)(t->offset + t->nbytes));
        if (t->offset > expect)
            return ST_FAIL(f, SF_ERR_FORMAT, "hole in the data section: bytes [%llu, %llu) "
                           "belong to no tensor (before '%s'); tensors must cover the data "
                           "contiguously", (unsigned long long)expect,
                           (unsigned long long)t->offset, t->name);
        expect = t->offset + t->nbytes;
        prev = t;
    }
    if (expect != f->data_size)
        return ST_FAIL(f, SF_ERR_FORMAT, "data section is %llu bytes but the tensors cover "
                       "only %llu (trailing bytes belong to no tensor)",
                       (unsigned long long)f->data_size, (unsigned long long)expect);
    return SF_OK;
}

/* Names unique; tensors cover the data section exactly, without overlap. */
static sf_status st_check_layout(sf_st_file *f)
{
    st_sort(f, f->by_name, st_cmp_name);
    for (int64_t i = 1; i < f->count; i++)
        if (strcmp(f->by_name[i - 1]->name, f->by_name[i]->name) == 0)
            return ST_FAIL(f, SF_ERR_FORMAT, "duplicate tensor name '%s'",
                           f->by_name[i]->name);
    const sf_st_info **order = malloc(((size_t)f->count + 1) * sizeof *order);
    if (!order)
        return ST_FAIL(f, SF_ERR_OOM, "cannot allocate %lld indices", (long long)f->count);
    st_sort(f, order, st_cmp_offset);
    sf_status st = st_check_offsets(f, order);
    free(order);
    return st;
}

/* ---------------------------------------------------------------- header */

/* Strict UTF-8 without raw control bytes (JSON allows only \t \n \r). */
static sf_status st_check_text(sf_st_file *f, const uint8_t *h, uint64_t hlen)
{
    size_t bad;
    if (!sf_utf8_valid((const char *)h, (size_t)hlen, &bad))
        return ST_FAIL(f, SF_ERR_FORMAT, "header is not valid UTF-8 (bad byte 0x%02x at "
                       "offset %zu of the header)", h[bad], bad);
    for (uint64_t i = 0; i < hlen; i++)
        if (h[i] < 0x20 && h[i] != '\t' && h[i] != '\n' && h[i] != '\r')
            return ST_FAIL(f, SF_ERR_FORMAT, "header is not valid JSON: control byte 0x%02x "
                           "at offset %llu", h[i], (unsigned long long)i);
    return SF_OK;
}

static sf_status st_parse_json(sf_st_file *f, const uint8_t *h, uint64_t hlen)
{
    SF_TRY(st_check_text(f, h, hlen));
    char *txt = malloc((size_t)hlen + 1);
    if (!txt)
        return ST_FAIL(f, SF_ERR_OOM, "cannot allocate %llu bytes for the header",
                       (unsigned long long)hlen);
    memcpy(txt, h, (size_t)hlen);
    txt[hlen] = '\0';
    const char *end = NULL;
    f->root = cJSON_ParseWithLengthOpts(txt, (size_t)hlen, &end, 0);
    size_t at = end ? (size_t)(end - txt) : 0;
    sf_status st = SF_OK;
    if (!f->root)
        st = ST_FAIL(f, SF_ERR_FORMAT, "header is not valid JSON (parse error at byte %zu of "
                     "%llu, near \"%.24s\")", at, (unsigned long long)hlen,
                     at < hlen ? txt + at : "");
    for (size_t i = at; st == SF_OK && i < hlen; i++)
        if (txt[i] != ' ' && txt[i] != '\t' && txt[i] != '\n' && txt[i] != '\r')
            st = ST_FAIL(f, SF_ERR_FORMAT, "header is not valid JSON: extra bytes after the "
                         "JSON object at byte %zu (the header may only be padded with "
                         "spaces)", i);
    free(txt);
    SF_TRY(st);
    if (!cJSON_IsObject(f->root))
        return ST_FAIL(f, SF_ERR_FORMAT, "header JSON is %s, expected an object mapping "
                       "tensor names to entries", st_json_type(f->root));
    if (h[0] != '{')
        return ST_FAIL(f, SF_ERR_FORMAT, "header must begin with '{' (got byte 0x%02x)", h[0]);
    return SF_OK;
}

static sf_status st_parse_entries(sf_st_file *f)
{
    int n = cJSON_GetArraySize(f->root);
    f->tensors = calloc((size_t)n + 1, sizeof *f->tensors);
    f->by_name = calloc((size_t)n + 1, sizeof *f->by_name);
    if (!f->tensors || !f->by_name)
        return ST_FAIL(f, SF_ERR_OOM, "cannot allocate %d tensor entries", n);
    for (const cJSON *e = f->root->child; e; e = e->next) {
        if (strcmp(e->string, "__metadata__") == 0)
            SF_TRY(st_parse_meta(f, e));
        else
            SF_TRY(st_parse_entry(f, e, &f->tensors[f->count++]));
    }
    return SF_OK;
}

static sf_status st_parse(sf_st_file *f, unsigned flags)
{
    if (f->size < 8)
        return ST_FAIL(f, SF_ERR_FORMAT, "file is %zu bytes, shorter than the 8-byte header "
                       "length (not a safetensors file?)", f->size);
    uint64_t hlen = st_le64(f->buf);
    if (hlen == 0)
        return ST_FAIL(f, SF_ERR_FORMAT, "header length is 0, expected the size of the JSON "
                       "header (not a safetensors file?)");
    if (hlen > SF_ST_MAX_HEADER)
        return ST_FAIL(f, SF_ERR_FORMAT, "header length %llu exceeds the limit of %u bytes "
                       "(corrupt file, or not safetensors)", (unsigned long long)hlen,
                       SF_ST_MAX_HEADER);
    if (hlen > f->size - 8)
        return ST_FAIL(f, SF_ERR_FORMAT, "header length %llu exceeds file size (%zu bytes, "
                       "leaving at most %zu for the header; file truncated?)",
                       (unsigned long long)hlen, f->size, f->size - 8);
    f->data = f->buf + 8 + hlen;
    f->data_size = f->size - 8 - hlen;
    SF_TRY(st_parse_json(f, f->buf + 8, hlen));
    SF_TRY(st_parse_entries(f));
    SF_TRY(st_check_layout(f));
    if (flags & SF_ST_SEQFUSE)
        SF_TRY(st_check_seqfuse(f));
    return SF_OK;
}

/* ---------------------------------------------------------------- open */

static sf_status st_read_all(sf_st_file *f)
{
    int fd = open(f->name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return SF_FAIL(SF_ERR_IO, "cannot open %s: %s", f->name, strerror(errno));
    struct stat sb;
    sf_status st = SF_OK;
    if (fstat(fd, &sb) != 0)
        st = SF_FAIL(SF_ERR_IO, "cannot stat %s: %s", f->name, strerror(errno));
    else if (!S_ISREG(sb.st_mode))
        st = SF_FAIL(SF_ERR_IO, "%s is not a regular file", f->name);
    else if ((uint64_t)sb.st_size >= SIZE_MAX)
        st = SF_FAIL(SF_ERR_OOM, "%s is too large to read (%lld bytes)", f->name,
                     (long long)sb.st_size);
    else if (!(f->buf = malloc((size_t)sb.st_size + 1)))
        st = SF_FAIL(SF_ERR_OOM, "cannot allocate %lld bytes to read %s",
                     (long long)sb.st_size, f->name);
    size_t want = st == SF_OK ? (size_t)sb.st_size : 0;
    while (st == SF_OK && f->size < want) {
        ssize_t r = read(fd, f->buf + f->size, want - f->size);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            st = SF_FAIL(SF_ERR_IO, "cannot read %s: %s", f->name, strerror(errno));
        else if (r == 0)
            st = SF_FAIL(SF_ERR_IO, "%s: got %zu bytes, expected %zu (file shrank while "
                         "reading?)", f->name, f->size, want);
        else
            f->size += (size_t)r;
    }
    close(fd);
    return st;
}

static sf_status st_new(const char *name, sf_st_file **out)
{
    sf_st_file *f = calloc(1, sizeof *f);
    if (f)
        f->name = strdup(name);
    if (!f || !f->name) {
        free(f);
        return SF_FAIL(SF_ERR_OOM, "cannot allocate a file handle for %s", name);
    }
    *out = f;
    return SF_OK;
}

static sf_status st_check_args(const char *name, unsigned flags, sf_st_file **out)
{
    if (!out)
        return SF_FAIL(SF_ERR_INVALID_ARG, "out is NULL");
    *out = NULL;
    if (!name)
        return SF_FAIL(SF_ERR_INVALID_ARG, "path/name is NULL");
    if (flags & ~SF_ST_SEQFUSE)
        return SF_FAIL(SF_ERR_INVALID_ARG, "%s: unknown flags 0x%x (known: SF_ST_SEQFUSE)",
                       name, flags & ~SF_ST_SEQFUSE);
    return SF_OK;
}

/* Parse f and hand it out, or free it. */
static sf_status st_finish(sf_st_file *f, sf_status st, unsigned flags, sf_st_file **out)
{
    if (st == SF_OK)
        st = st_parse(f, flags);
    if (st != SF_OK) {
        sf_st_close(f);
        return st;
    }
    *out = f;
    return SF_OK;
}

sf_status sf_st_open(const char *path, unsigned flags, sf_st_file **out)
{
    SF_TRY(st_check_args(path, flags, out));
    sf_st_file *f;
    SF_TRY(st_new(path, &f));
    return st_finish(f, st_read_all(f), flags, out);
}

sf_status sf_st_open_memory(const void *data, size_t n, const char *name, unsigned flags,
                            sf_st_file **out)
{
    SF_TRY(st_check_args(name, flags, out));
    if (!data && n > 0)
        return SF_FAIL(SF_ERR_INVALID_ARG, "%s: data is NULL but n = %zu", name, n);
    sf_st_file *f;
    SF_TRY(st_new(name, &f));
    sf_status st = SF_OK;
    if (n == SIZE_MAX || !(f->buf = malloc(n + 1)))
        st = SF_FAIL(SF_ERR_OOM, "%s: cannot allocate %zu bytes", name, n);
    else if (n > 0)
        memcpy(f->buf, data, n);
    f->size = st == SF_OK ? n : 0;
    return st_finish(f, st, flags, out);
}

void sf_st_close(sf_st_file *f)
{
    if (!f)
        return;
    cJSON_Delete(f->root);
    free(f->tensors);
    free(f->by_name);
    free(f->meta);
    free(f->buf);
    free(f->name);
    free(f);
}
