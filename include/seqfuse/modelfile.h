/* seqfuse/modelfile.h: reading and writing .safetensors files, the one model
 * file format shared by trainer and translator (weights, config and tokenizers).
 *
 * The reader checks everything before handing out a tensor: the 8-byte header
 * length (bounded), the JSON, each tensor's dtype, shape and data offsets (inside
 * the file, not overlapping, together covering the data exactly, byte size equal
 * to dtype size x elements without overflow), unique names, and, with
 * SF_ST_SEQFUSE, the __metadata__ ("format": "seqfuse", a supported "version",
 * "config" a JSON object). Failures name the file and say got/expected.
 *
 * The writer is atomic: it writes a temporary file in the same folder, fsyncs
 * it, renames it over the target and fsyncs the folder, so a crash never
 * leaves a half-written file under the real name. */
#ifndef SEQFUSE_MODELFILE_H
#define SEQFUSE_MODELFILE_H

#include <stddef.h>
#include <stdint.h>

#include "seqfuse/status.h"
#include "seqfuse/types.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SF_ST_MAX_DIMS 8
/* Header JSON larger than this is refused (a real model's is a few KB). */
#define SF_ST_MAX_HEADER (100u * 1024u * 1024u)
/* The model-file version this build writes and the newest it reads. */
#define SF_MODEL_FORMAT_VERSION 1

/* Open flags. */
#define SF_ST_SEQFUSE 1u /* require seqfuse __metadata__ (format, version, config) */

typedef struct sf_st_file sf_st_file;

typedef struct sf_st_info {
    const char *name;
    sf_dtype dtype;
    int ndim;
    int64_t shape[SF_ST_MAX_DIMS];
    uint64_t offset; /* into the data section */
    uint64_t nbytes;
} sf_st_info;

/* Read and validate a file. Statuses: SF_ERR_IO (cannot open/read),
 * SF_ERR_FORMAT (malformed contents), SF_ERR_UNSUPPORTED (with SF_ST_SEQFUSE:
 * a format version newer than SF_MODEL_FORMAT_VERSION), SF_ERR_OOM,
 * SF_ERR_INVALID_ARG (NULL arguments, unknown flags). On failure *out = NULL. */
sf_status sf_st_open(const char *path, unsigned flags, sf_st_file **out);
/* Same over bytes in memory (copied); `name` is used in messages. */
sf_status sf_st_open_memory(const void *data, size_t n, const char *name, unsigned flags,
                            sf_st_file **out);
/* Accepts NULL. */
void sf_st_close(sf_st_file *f);

/* Tensors in header order. */
int64_t sf_st_count(const sf_st_file *f);
const sf_st_info *sf_st_at(const sf_st_file *f, int64_t i);
/* NULL when absent. */
const sf_st_info *sf_st_find(const sf_st_file *f, const char *name);
/* The tensor's raw little-endian bytes (t->nbytes of them; not necessarily
 * aligned to the element size: memcpy before reading). Valid until close. */
const void *sf_st_data(const sf_st_file *f, const sf_st_info *t);

/* __metadata__ entries (string values); NULL when absent. */
const char *sf_st_meta(const sf_st_file *f, const char *key);
int64_t sf_st_meta_count(const sf_st_file *f);
const char *sf_st_meta_key(const sf_st_file *f, int64_t i);

/* Copy a tensor into dst as f32 (converting F16/BF16/F64), after checking it
 * exists and has exactly the expected shape; the message says got/expected. */
sf_status sf_st_read_f32(const sf_st_file *f, const char *name, int ndim,
                         const int64_t *shape, float *dst);

typedef struct sf_st_writer sf_st_writer;

sf_status sf_st_writer_create(sf_st_writer **out);
/* Add a tensor. The data is copied, or (f32 source only) converted when dtype
 * is F16, BF16 or F64. Names must be unique. */
sf_status sf_st_writer_add(sf_st_writer *w, const char *name, sf_dtype dtype, int ndim,
                           const int64_t *shape, const void *data);
sf_status sf_st_writer_add_f32(sf_st_writer *w, const char *name, sf_dtype store_as,
                               int ndim, const int64_t *shape, const float *data);
/* Add or replace a __metadata__ entry. */
sf_status sf_st_writer_meta(sf_st_writer *w, const char *key, const char *value);
/* Write atomically to path (tensors in insertion order, data 8-byte aligned).
 * Replacing keeps the old file's permission bits; a new file gets 0644. On
 * failure the old file is untouched and no temporary file is left. */
sf_status sf_st_writer_save(sf_st_writer *w, const char *path);
/* Accepts NULL. */
void sf_st_writer_free(sf_st_writer *w);

#ifdef __cplusplus
}
#endif
#endif
