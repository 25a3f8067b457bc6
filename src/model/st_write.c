/* st_write.c: the safetensors writer. Collects tensors (copied, in insertion
 * order) and __metadata__, then saves atomically: temp file in the same
 * folder, fsync, rename over the target, fsync the folder. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/status_internal.h"
#include "core/tensor.h"
#include "core/utf8.h"
#include "model/st_internal.h"

typedef struct st_wtensor {
    char *name;
    sf_dtype dtype;
    int ndim;
    int64_t shape[SF_ST_MAX_DIMS];
    uint8_t *data; /* [nbytes], little-endian */
    uint64_t nbytes;
} st_wtensor;

struct sf_st_writer {
    st_wtensor *t;
    int64_t count, cap;
    struct st_wmeta {
        char *key, *val;
    } *meta; /* __metadata__, insertion order */
    int64_t meta_count, meta_cap;
};

sf_status sf_st_writer_create(sf_st_writer **out)
{
    if (!out)
        return SF_FAIL(SF_ERR_INVALID_ARG, "out is NULL");
    *out = calloc(1, sizeof **out);
    if (!*out)
        return SF_FAIL(SF_ERR_OOM, "cannot allocate a writer");
    return SF_OK;
}

void sf_st_writer_free(sf_st_writer *w)
{
    if (!w)
        return;
    for (int64_t i = 0; i < w->count; i++) {
        free(w->t[i].name);
        free(w->t[i].data);
    }
    for (int64_t i = 0; i < w->meta_count; i++) {
        free(w->meta[i].key);
        free(w->meta[i].val);
    }
    free(w->t);
    free(w->meta);
    free(w);
}

/* Grow an array of `size`-byte items to hold one more; 0 on success. */
static int st_grow(void **arr, int64_t *cap, int64_t count, size_t size)
{
    if (count < *cap)
        return 0;
    int64_t ncap = *cap ? *cap * 2 : 16;
    void *p = realloc(*arr, (size_t)ncap * size);
    if (!p)
        return -1;
    *arr = p;
    *cap = ncap;
    return 0;
}

/* A string fit for a JSON key or value: non-NULL, valid UTF-8. */
static sf_status st_check_str(const char *what, const char *s)
{
    size_t bad;
    if (!s)
        return SF_FAIL(SF_ERR_INVALID_ARG, "%s is NULL", what);
    if (!sf_utf8_valid(s, strlen(s), &bad))
        return SF_FAIL(SF_ERR_INVALID_ARG, "%s \"%.60s\" is not valid UTF-8 (bad byte at "
                       "offset %zu)", what, s, bad);
    return SF_OK;
}

/* Validate a new tensor and reserve its slot with an allocated data buffer;
 * the caller fills t->data. shape: [ndim]; data (source) only checked. */
static sf_status st_w_reserve(sf_st_writer *w, const char *name, sf_dtype dtype, int ndim,
                              const int64_t *shape, const void *data, st_wtensor **slot)
{
    if (!w)
        return SF_FAIL(SF_ERR_INVALID_ARG, "writer is NULL");
    SF_TRY(st_check_str("tensor name", name));
    if (name[0] == '\0' || strcmp(name, "__metadata__") == 0)
        return SF_FAIL(SF_ERR_INVALID_ARG, "tensor name \"%s\" is reserved or empty", name);
    if ((unsigned)dtype >= SF_DTYPE_COUNT)
        return SF_FAIL(SF_ERR_INVALID_ARG, "tensor '%s': dtype %d is not an sf_dtype", name,
                       (int)dtype);
    if (ndim < 0 || ndim > SF_ST_MAX_DIMS || (ndim > 0 && !shape))
        return SF_FAIL(SF_ERR_INVALID_ARG, "tensor '%s': ndim %d outside 0..%d (or shape "
                       "NULL)", name, ndim, SF_ST_MAX_DIMS);
    int64_t numel;
    uint64_t nbytes;
    char sh[160];
    if (st_nbytes(dtype, ndim, shape, &numel, &nbytes) != ST_SIZE_OK || nbytes >= SIZE_MAX)
        return SF_FAIL(SF_ERR_INVALID_ARG, "tensor '%s': shape %s has a negative dimension "
                       "or overflows", name, st_shape_str(ndim, shape, sh, sizeof sh));
    if (!data && nbytes > 0)
        return SF_FAIL(SF_ERR_INVALID_ARG, "tensor '%s': data is NULL", name);
    for (int64_t i = 0; i < w->count; i++)
        if (strcmp(w->t[i].name, name) == 0)
            return SF_FAIL(SF_ERR_INVALID_ARG, "duplicate tensor name '%s'", name);
    if (st_grow((void **)&w->t, &w->cap, w->count, sizeof *w->t) != 0)
        return SF_FAIL(SF_ERR_OOM, "cannot grow the tensor list for '%s'", name);
    st_wtensor *t = &w->t[w->count];
    memset(t, 0, sizeof *t);
    t->name = strdup(name);
    t->data = malloc((size_t)nbytes + 1);
    if (!t->name || !t->data) {
        free(t->name);
        free(t->data);
        return SF_FAIL(SF_ERR_OOM, "tensor '%s': cannot allocate %llu bytes", name,
                       (unsigned long long)nbytes);
    }
    t->dtype = dtype;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++)
        t->shape[i] = shape[i];
    t->nbytes = nbytes;
    w->count++;
    *slot = t;
    return SF_OK;
}

sf_status sf_st_writer_add(sf_st_writer *w, const char *name, sf_dtype dtype, int ndim,
                           const int64_t *shape, const void *data)
{
    st_wtensor *t;
    SF_TRY(st_w_reserve(w, name, dtype, ndim, shape, data, &t));
    if (t->nbytes > 0)
        memcpy(t->data, data, (size_t)t->nbytes);
    return SF_OK;
}

sf_status sf_st_writer_add_f32(sf_st_writer *w, const char *name, sf_dtype store_as,
                               int ndim, const int64_t *shape, const float *data)
{
    if (store_as != SF_F32 && store_as != SF_F16 && store_as != SF_BF16 && store_as != SF_F64)
        return SF_FAIL(SF_ERR_INVALID_ARG, "tensor '%s': cannot store f32 data as %s "
                       "(expected F32, F16, BF16 or F64)", name ? name : "?",
                       sf_dtype_name(store_as));
    if (store_as == SF_F32)
        return sf_st_writer_add(w, name, SF_F32, ndim, shape, data);
    st_wtensor *t;
    SF_TRY(st_w_reserve(w, name, store_as, ndim, shape, data, &t));
    int64_t n = (int64_t)(t->nbytes / sf_dtype_size(store_as));
    for (int64_t i = 0; i < n; i++) {
        if (store_as == SF_F64) {
            double d = data[i];
            uint64_t u;
            memcpy(&u, &d, sizeof u);
            for (int b = 0; b < 8; b++)
                t->data[8 * i + b] = (uint8_t)(u >> (8 * b));
        } else {
            uint16_t h = store_as == SF_F16 ? sf_f32_to_f16(data[i]) : sf_f32_to_bf16(data[i]);
            t->data[2 * i] = (uint8_t)(h & 0xff);
            t->data[2 * i + 1] = (uint8_t)(h >> 8);
        }
    }
    return SF_OK;
}

sf_status sf_st_writer_meta(sf_st_writer *w, const char *key, const char *value)
{
    if (!w)
        return SF_FAIL(SF_ERR_INVALID_ARG, "writer is NULL");
    SF_TRY(st_check_str("metadata key", key));
    SF_TRY(st_check_str("metadata value", value));
    char *v = strdup(value);
    if (!v)
        return SF_FAIL(SF_ERR_OOM, "cannot copy the value of metadata '%s'", key);
    for (int64_t i = 0; i < w->meta_count; i++) {
        if (strcmp(w->meta[i].key, key) == 0) {
            free(w->meta[i].val);
            w->meta[i].val = v;
            return SF_OK;
        }
    }
    char *k = strdup(key);
    if (!k || st_grow((void **)&w->meta, &w->meta_cap, w->meta_count, sizeof *w->meta) != 0) {
        free(k);
        free(v);
        return SF_FAIL(SF_ERR_OOM, "cannot add metadata '%s'", key);
    }
    w->meta[w->meta_count].key = k;
    w->meta[w->meta_count++].val = v;
    return SF_OK;
}

/* ---------------------------------------------------------------- save */

/* A JSON integer printed exactly (cJSON would print doubles). */
static cJSON *st_raw_u64(uint64_t v)
{
    char b[24];
    snprintf(b, sizeof b, "%llu", (unsigned long long)v);
    return cJSON_CreateRaw(b);
}

/* Add t's entry to root, its data at *off; 0 on allocation failure. */
static int st_w_entry(cJSON *root, const st_wtensor *t, uint64_t *off)
{
    cJSON *e = cJSON_AddObjectToObject(root, t->name);
    cJSON *shape = NULL, *offs = NULL;
    if (!e || !cJSON_AddStringToObject(e, "dtype", sf_dtype_name(t->dtype)) ||
        !(shape = cJSON_AddArrayToObject(e, "shape")) ||
        !(offs = cJSON_AddArrayToObject(e, "data_offsets")))
        return 0;
    for (int i = 0; i < t->ndim; i++)
        if (!cJSON_AddItemToArray(shape, st_raw_u64((uint64_t)t->shape[i])))
            return 0;
    if (!cJSON_AddItemToArray(offs, st_raw_u64(*off)) ||
        !cJSON_AddItemToArray(offs, st_raw_u64(*off + t->nbytes)))
        return 0;
    *off += t->nbytes;
    return 1;
}

/* The 8-byte length and the compact JSON, padded with spaces so that the
 * data section starts at a multiple of 8. */
static sf_status st_w_header(const sf_st_writer *w, char **out, size_t *n)
{
    cJSON *root = cJSON_CreateObject();
    int ok = root != NULL;
    if (ok && w->meta_count > 0) {
        cJSON *m = cJSON_AddObjectToObject(root, "__metadata__");
        ok = m != NULL;
        for (int64_t i = 0; ok && i < w->meta_count; i++)
            ok = cJSON_AddStringToObject(m, w->meta[i].key, w->meta[i].val) != NULL;
    }
    uint64_t off = 0;
    for (int64_t i = 0; ok && i < w->count; i++)
        ok = st_w_entry(root, &w->t[i], &off);
    char *json = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (!json)
        return SF_FAIL(SF_ERR_OOM, "cannot build the header JSON (%lld tensors)",
                       (long long)w->count);
    size_t jl = strlen(json);
    size_t hl = jl + (8 - jl % 8) % 8;
    char *h = malloc(8 + hl);
    if (h) {
        for (int b = 0; b < 8; b++)
            h[b] = (char)(((uint64_t)hl >> (8 * b)) & 0xff);
        memcpy(h + 8, json, jl);
        memset(h + 8 + jl, ' ', hl - jl);
    }
    cJSON_free(json);
    if (!h)
        return SF_FAIL(SF_ERR_OOM, "cannot allocate a %zu-byte header", hl + 8);
    *out = h;
    *n = 8 + hl;
    return SF_OK;
}

static sf_status st_write_all(int fd, const void *p, uint64_t n, const char *tmp)
{
    const uint8_t *b = p;
    while (n > 0) {
        ssize_t r = write(fd, b, n > (1u << 30) ? (size_t)1 << 30 : (size_t)n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return SF_FAIL(SF_ERR_IO, "cannot write %s: %s", tmp,
                           r < 0 ? strerror(errno) : "wrote 0 bytes");
        b += r;
        n -= (uint64_t)r;
    }
    return SF_OK;
}

static sf_status st_w_body(const sf_st_writer *w, int fd, const char *head, size_t hn,
                           mode_t mode, const char *tmp)
{
    SF_TRY(st_write_all(fd, head, hn, tmp));
    for (int64_t i = 0; i < w->count; i++)
        SF_TRY(st_write_all(fd, w->t[i].data, w->t[i].nbytes, tmp));
    if (fchmod(fd, mode) != 0)
        return SF_FAIL(SF_ERR_IO, "cannot chmod %s: %s", tmp, strerror(errno));
    if (fsync(fd) != 0)
        return SF_FAIL(SF_ERR_IO, "cannot fsync %s: %s", tmp, strerror(errno));
    return SF_OK;
}

/* fsync the folder holding path, so the rename survives a crash. */
static sf_status st_sync_dir(const char *path)
{
    char *dir = strdup(path);
    if (!dir)
        return SF_FAIL(SF_ERR_OOM, "cannot copy %s", path);
    char *slash = strrchr(dir, '/');
    const char *d = !slash ? "." : slash == dir ? "/" : (*slash = '\0', dir);
    sf_status st = SF_OK;
    int fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0)
        st = SF_FAIL(SF_ERR_IO, "saved %s, but cannot fsync its folder %s: %s", path, d,
                     strerror(errno));
    if (fd >= 0)
        close(fd);
    free(dir);
    return st;
}

sf_status sf_st_writer_save(sf_st_writer *w, const char *path)
{
    if (!w || !path || !*path)
        return SF_FAIL(SF_ERR_INVALID_ARG, "writer or path is NULL/empty");
    char *head = NULL;
    size_t hn = 0;
    SF_TRY(st_w_header(w, &head, &hn));
    struct stat sb;
    mode_t mode = stat(path, &sb) == 0 ? (sb.st_mode & 07777) : 0644; /* keep the old mode */
    size_t tl = strlen(path) + sizeof ".tmp.XXXXXX";
    char *tmp = malloc(tl);
    sf_status st = SF_OK;
    int fd = -1;
    if (tmp) {
        snprintf(tmp, tl, "%s.tmp.XXXXXX", path);
        fd = mkstemp(tmp);
    }
    if (!tmp)
        st = SF_FAIL(SF_ERR_OOM, "cannot allocate a temporary name for %s", path);
    else if (fd < 0)
        st = SF_FAIL(SF_ERR_IO, "cannot create a temporary file %s to save %s: %s", tmp, path,
                     strerror(errno));
    if (fd >= 0) {
        st = st_w_body(w, fd, head, hn, mode, tmp);
        if (close(fd) != 0 && st == SF_OK)
            st = SF_FAIL(SF_ERR_IO, "cannot close %s: %s", tmp, strerror(errno));
        if (st == SF_OK && rename(tmp, path) != 0)
            st = SF_FAIL(SF_ERR_IO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        if (st != SF_OK)
            unlink(tmp);
        else
            st = st_sync_dir(path);
    }
    free(tmp);
    free(head);
    return st;
}
