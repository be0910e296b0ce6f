/* utf8.h — checking that bytes are valid UTF-8 (prompts, JSON strings from clients). */
#ifndef UTIL_UTF8_H
#define UTIL_UTF8_H

#include <stddef.h>

/* Offset of the first byte of s[0..n) that is not part of valid UTF-8 (overlong forms, surrogates
 * and code points past U+10FFFF included), or -1 when all of it is. */
long util_utf8_invalid(const char *s, size_t n);

#endif
