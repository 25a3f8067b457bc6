/* arena.h: one block per lifetime (parameters, gradients, activations...);
 * allocations are 64-byte aligned bump pointers, freed all at once. */
#ifndef SF_CORE_ARENA_H
#define SF_CORE_ARENA_H

#include <stddef.h>

#include "core/status_internal.h"

typedef struct sf_arena {
    unsigned char *base;
    size_t cap;
    size_t used;
    size_t peak;
    const char *name; /* for messages: "activations", "parameters"... */
    int measure;      /* sizing pass: count bytes, hand out NULL */
    int external;     /* memory owned elsewhere (e.g. a device block): not zeroed, not freed */
} sf_arena;

#define SF_ARENA_ALIGN 64

/* Reserve cap bytes (host memory, zeroed). */
sf_status sf_arena_init(sf_arena *a, size_t cap, const char *name);
/* An arena over memory the caller owns (device memory included): blocks are
 * handed out but never zeroed or freed by the arena. */
void sf_arena_init_external(sf_arena *a, void *base, size_t cap, const char *name);
/* A sizing arena: allocations only count bytes (pointers are NULL), so a
 * function that allocates all its buffers up front can be run once to learn
 * the capacity it needs. */
void sf_arena_init_measure(sf_arena *a, const char *name);
/* Aligned block of n bytes (zeroed unless external); SF_ERR_OOM names the arena and sizes. */
sf_status sf_arena_alloc(sf_arena *a, size_t n, void **out);
/* Mark / rewind for scratch use inside a lifetime. */
size_t sf_arena_mark(const sf_arena *a);
void sf_arena_rewind(sf_arena *a, size_t mark);
void sf_arena_reset(sf_arena *a);
/* Accepts NULL and a zeroed struct. */
void sf_arena_free(sf_arena *a);

#endif
