/* error.h — filling an mr_error (docs/style.md §5). */
#ifndef UTIL_ERROR_H
#define UTIL_ERROR_H

#include <stdarg.h>

#include "milrun.h"

#if defined(__GNUC__)
#define MR_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define MR_PRINTF(a, b)
#endif

/* Set err (may be NULL) to code + formatted message; returns code, so `return util_err(...)`. */
int util_err(mr_error *err, int code, const char *fmt, ...) MR_PRINTF(3, 4);
int util_verr(mr_error *err, int code, const char *fmt, va_list ap);
/* Prefix the existing message with "prefix: " (e.g. a file name). Returns err->code. */
int util_err_prefix(mr_error *err, const char *fmt, ...) MR_PRINTF(2, 3);
/* The out-of-memory error, naming what was being allocated. */
int util_err_nomem(mr_error *err, const char *what);

#endif
