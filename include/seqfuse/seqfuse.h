/* seqfuse.h: the public C API of seqfuse, an RNN encoder-decoder translation
 * engine (bidirectional LSTM/GRU/RNN encoder, attention, input-feeding decoder)
 * with a CPU reference backend and a CUDA backend.
 *
 * Every call that can fail returns an sf_status; on failure sf_last_error()
 * says what failed, which file or line, and what to do about it.
 *
 *   #include <seqfuse/seqfuse.h>
 *   sf_spm *spm = NULL;
 *   if (sf_spm_load_file("en.model", &spm) != SF_OK) {
 *       fprintf(stderr, "%s\n", sf_last_error());
 *       return 1;
 *   }
 *   int32_t *ids = NULL; int64_t n = 0;
 *   if (sf_spm_encode(spm, "In the beginning", 16, &ids, &n) == SF_OK)
 *       printf("%lld pieces\n", (long long)n);
 *   sf_free(ids);
 *   sf_spm_free(spm);
 */
#ifndef SEQFUSE_SEQFUSE_H
#define SEQFUSE_SEQFUSE_H

#include "seqfuse/status.h"
#include "seqfuse/modelfile.h"
#include "seqfuse/tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

/* "0.1.0" */
const char *sf_version(void);

/* Frees memory that a seqfuse call handed to the caller. Accepts NULL. */
void sf_free(void *p);

#ifdef __cplusplus
}
#endif
#endif
