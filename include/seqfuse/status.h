/* seqfuse/status.h: the status enum every fallible call returns, and the
 * per-thread message that says what failed, where, and what to do. */
#ifndef SEQFUSE_STATUS_H
#define SEQFUSE_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sf_status {
    SF_OK = 0,
    SF_ERR_INVALID_ARG,   /* a caller passed a bad value (size, name, option) */
    SF_ERR_IO,            /* open/read/write/rename failed */
    SF_ERR_FORMAT,        /* a file's contents are malformed or inconsistent */
    SF_ERR_OOM,           /* host or device allocation failed */
    SF_ERR_UNSUPPORTED,   /* valid request this build or device cannot serve */
    SF_ERR_NO_DEVICE,     /* no usable GPU */
    SF_ERR_CUDA,          /* a CUDA / cuBLAS / cuDNN call failed */
    SF_ERR_TOKENIZER,     /* SentencePiece failed */
    SF_ERR_NUMERIC,       /* NaN/Inf where a finite number is required */
    SF_ERR_INTERRUPTED,   /* stopped by a signal; state was saved */
    SF_ERR_INTERNAL,      /* a bug in seqfuse: please report it */
    SF_STATUS_COUNT
} sf_status;

/* Short name of a status, e.g. "format error". Never NULL. */
const char *sf_status_str(sf_status st);

/* The message left by the last failing call on this thread ("" if none). */
const char *sf_last_error(void);

/* Clear this thread's message. */
void sf_clear_error(void);

#ifdef __cplusplus
}
#endif
#endif
