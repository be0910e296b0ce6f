/* blob.h — MILBlob v2 weight files (docs/formats.md §3): a 64-byte header, then for each blob a
 * 64-byte metadata record followed by its payload. The file is mapped, never copied; every offset
 * and size is checked against the file before it is used. */
#ifndef MIL_BLOB_H
#define MIL_BLOB_H

#include <stdint.h>

#include "mil/ir.h"
#include "util/file.h"

typedef struct mil_blob_file {
  char *path;
  util_map map;
  uint32_t count;      /* blobs announced by the header */
} mil_blob_file;

/* One blob's payload, pointing into the mapping. */
typedef struct mil_blob {
  const uint8_t *data;
  uint64_t size;          /* bytes */
  mil_dtype dtype;
  uint64_t padding_bits;  /* unused bits in the last byte (sub-byte dtypes) */
} mil_blob;

int mil_blob_open(mil_blob_file *f, const char *path, mr_error *err);
/* The same over bytes in memory (borrowed: they must outlive f); `name` is used in messages. */
int mil_blob_open_mem(mil_blob_file *f, const void *data, size_t size, const char *name, mr_error *err);
void mil_blob_close(mil_blob_file *f);

/* The blob whose metadata record is at `offset`, checked to hold `count` elements of `dtype` (as the
 * text type says). iOS16 LUT indices are declared uint8 but hold packed n-bit fields: pass the
 * declared dtype and count; the check is on bytes. */
int mil_blob_get(const mil_blob_file *f, uint64_t offset, mil_dtype dtype, int64_t count,
                 mil_blob *out, mr_error *err);

/* The blob-file dtype code (docs/formats.md §3.3) of a MIL dtype, or 0 if it has none. */
uint32_t mil_blob_dtype_code(mil_dtype t);

/* Element i of an LSB-first packed bit stream of `bits`-wide fields (docs/formats.md §3.5); bits in 1..8. The
 * caller guarantees the field lies inside the buffer. */
static inline unsigned mil_bits_get(const uint8_t *data, int64_t i, int bits) {
  uint64_t bit = (uint64_t)i * (uint64_t)bits;
  const uint8_t *p = data + (bit >> 3);
  unsigned shift = (unsigned)(bit & 7);
  unsigned v = p[0] >> shift;
  if (shift + (unsigned)bits > 8) v |= (unsigned)p[1] << (8 - shift);
  return v & ((1u << bits) - 1);
}

#endif
