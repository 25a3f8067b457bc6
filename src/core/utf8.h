/* utf8.h: strict UTF-8 validation (no overlongs, no surrogates, <= U+10FFFF). */
#ifndef SF_CORE_UTF8_H
#define SF_CORE_UTF8_H

#include <stddef.h>

/* 1 if s[0..n) is valid UTF-8; otherwise 0 and *bad = offset of the first bad byte. */
int sf_utf8_valid(const char *s, size_t n, size_t *bad);

#endif
