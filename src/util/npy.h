/* npy.h — NumPy .npy files (format versions 1-3), the tensor exchange format of `milrun run`.
 * Reads little-endian float32/float16/float64/int32/int64/bool arrays in C order; float64 and
 * int64 are narrowed to float32 and int32 (int64 values outside int32 are an error). */
#ifndef UTIL_NPY_H
#define UTIL_NPY_H

#include "milrun.h"

/* On success t->data is a new buffer owned by the caller (mr_free). */
int util_npy_read(const char *path, mr_tensor *t, mr_error *err);
/* The same, and *stored = NumPy's name of what the file holds ("float64", "uint8", ...), so that a
 * caller can say what it converted or refuse it by its real name. */
int util_npy_read_stored(const char *path, mr_tensor *t, const char **stored, mr_error *err);
int util_npy_write(const char *path, const mr_tensor *t, mr_error *err);

#endif
