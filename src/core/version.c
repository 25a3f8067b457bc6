/* version.c: the library version and the caller-facing free. */
#include <stdlib.h>

#include "seqfuse/seqfuse.h"

const char *sf_version(void) { return SEQFUSE_VERSION; }

void sf_free(void *p) { free(p); }
