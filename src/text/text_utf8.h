/* text_utf8.h: small Unicode helpers for the text module: decode one code
 * point of valid UTF-8, and Python's notion of whitespace. */
#ifndef SF_TEXT_TEXT_UTF8_H
#define SF_TEXT_TEXT_UTF8_H

#include <stdint.h>

/* Decode the code point at s (valid UTF-8, s[0] != 0); returns its byte length. */
int sf_utf8_next(const char *s, uint32_t *cp);

/* 1 if cp is whitespace for Python's str.split()/str.isspace(). */
int sf_py_isspace(uint32_t cp);

#endif
