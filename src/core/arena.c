/* arena.c: bump allocator over one aligned host block. */
#include "core/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

sf_status sf_arena_init(sf_arena *a, size_t cap, const char *name)
{
    memset(a, 0, sizeof *a);
    a->name = name ? name : "arena";
    if (cap == 0)
        return SF_OK;
    size_t rounded = (cap + SF_ARENA_ALIGN - 1) / SF_ARENA_ALIGN * SF_ARENA_ALIGN;
    if (rounded < cap)
        return SF_FAIL(SF_ERR_OOM, "%s: size %zu bytes overflows", a->name, cap);
    a->base = aligned_alloc(SF_ARENA_ALIGN, rounded);
    if (!a->base)
        return SF_FAIL(SF_ERR_OOM, "%s: could not allocate %zu bytes of host memory; "
                       "try a smaller batch or model", a->name, rounded);
    memset(a->base, 0, rounded);
    a->cap = rounded;
    return SF_OK;
}

void sf_arena_init_external(sf_arena *a, void *base, size_t cap, const char *name)
{
    memset(a, 0, sizeof *a);
    a->name = name ? name : "arena";
    a->base = base;
    a->cap = cap;
    a->external = 1;
}

void sf_arena_init_measure(sf_arena *a, const char *name)
{
    memset(a, 0, sizeof *a);
    a->name = name ? name : "arena";
    a->measure = 1;
}

sf_status sf_arena_alloc(sf_arena *a, size_t n, void **out)
{
    *out = NULL;
    size_t start = (a->used + SF_ARENA_ALIGN - 1) / SF_ARENA_ALIGN * SF_ARENA_ALIGN;
    if (a->measure) {
        if (start < a->used || n > SIZE_MAX - start)
            return SF_FAIL(SF_ERR_OOM, "%s: size overflows", a->name);
        a->used = start + n;
        a->peak = a->used > a->peak ? a->used : a->peak;
        return SF_OK;
    }
    if (start < a->used || n > SIZE_MAX - start || start + n > a->cap)
        return SF_FAIL(SF_ERR_OOM, "%s: asked for %zu bytes with %zu of %zu in use",
                       a->name, n, a->used, a->cap);
    *out = a->base + start;
    if (!a->external)
        memset(*out, 0, n);
    a->used = start + n;
    if (a->used > a->peak)
        a->peak = a->used;
    return SF_OK;
}

size_t sf_arena_mark(const sf_arena *a) { return a->used; }

void sf_arena_rewind(sf_arena *a, size_t mark)
{
    if (mark <= a->used)
        a->used = mark;
}

void sf_arena_reset(sf_arena *a) { a->used = 0; }

void sf_arena_free(sf_arena *a)
{
    if (!a)
        return;
    if (!a->external)
        free(a->base);
    memset(a, 0, sizeof *a);
}
