/* fuzz_safetensors.c: libFuzzer target for the model-file readers. The input
 * is a whole file: sf_st_open_memory with and without SF_ST_SEQFUSE (then
 * every tensor read back, every metadata entry touched, the config parsed and
 * its layout built), and sf_model_load on the same bytes as a file. Any
 * failure must be a status with a message; ASan/UBSan catch the rest. */
#include "fuzz_util.h" /* first: it sets _GNU_SOURCE */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_io.h"

static volatile uint64_t sf_fuzz_sink; /* keeps the reads from being optimised away */

static void sf_fuzz_walk(const sf_st_file *f)
{
    for (int64_t i = 0; i < sf_st_count(f); i++) {
        const sf_st_info *t = sf_st_at(f, i);
        const uint8_t *p = sf_st_data(f, t);
        for (uint64_t b = 0; b < t->nbytes; b += 61)
            sf_fuzz_sink += p[b];
        if (t->nbytes > 0)
            sf_fuzz_sink += p[t->nbytes - 1];
        if (sf_st_find(f, t->name) == NULL)
            abort(); /* a tensor the file lists must be found by name */
        float *dst = t->nbytes <= (1u << 22) ? malloc(t->nbytes * 4 + 4) : NULL;
        uint32_t bits = 0;
        if (dst && sf_st_read_f32(f, t->name, t->ndim, t->shape, dst) == SF_OK && t->nbytes)
            memcpy(&bits, dst, sizeof bits), sf_fuzz_sink += bits;
        free(dst);
    }
    for (int64_t i = 0; i < sf_st_meta_count(f); i++)
        sf_fuzz_sink += strlen(sf_st_meta(f, sf_st_meta_key(f, i)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    for (unsigned flags = 0; flags <= SF_ST_SEQFUSE; flags += SF_ST_SEQFUSE) {
        sf_st_file *f = (sf_st_file *)&flags;
        if (sf_st_open_memory(data, n, "fuzz.safetensors", flags, &f) != SF_OK) {
            if (f != NULL || !*sf_last_error())
                abort(); /* failures leave no handle and a message */
            continue;
        }
        sf_fuzz_walk(f);
        sf_model_config cfg;
        sf_param_layout l;
        if (flags && sf_model_config_from_json(sf_st_meta(f, "config"), "config", &cfg) == SF_OK &&
            sf_param_layout_build(&cfg, &l) == SF_OK)
            sf_param_layout_free(&l);
        sf_st_close(f);
    }
    char path[64];
    int fd = sf_fuzz_memfile(data, n, path, sizeof path);
    sf_model_file m;
    if (sf_model_load(path, &m) == SF_OK)
        sf_model_file_free(&m);
    else if (m.params || m.st || !*sf_last_error())
        abort(); /* a failed load frees everything and says why */
    close(fd);
    return 0;
}
