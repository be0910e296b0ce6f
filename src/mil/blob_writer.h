/* blob_writer.h — writing MILBlob v2 weight files (docs/formats.md §3.4), the inverse of blob.h:
 * records at 64-byte aligned offsets, each a 64-byte metadata record followed by its payload. Used by
 * the converter and by tests that build bundles. The file appears under its final name only when
 * mil_blob_writer_close succeeds. */
#ifndef MIL_BLOB_WRITER_H
#define MIL_BLOB_WRITER_H

#include <stdint.h>
#include <stdio.h>

#include "mil/ir.h"

typedef struct mil_blob_writer {
  FILE *f;
  char *path, *tmp_path;
  uint64_t pos;      /* current end of file */
  uint32_t count;
  int failed;
} mil_blob_writer;

int mil_blob_writer_open(mil_blob_writer *w, const char *path, mr_error *err);
/* Append a blob of `count` elements of `dtype` (sub-byte types packed LSB-first, docs/formats.md §3.5); *offset
 * receives the offset to write in BLOBFILE(offset = ...). */
int mil_blob_writer_add(mil_blob_writer *w, mil_dtype dtype, const void *data, int64_t count,
                        uint64_t *offset, mr_error *err);
int mil_blob_writer_close(mil_blob_writer *w, mr_error *err);
/* Abandon the file (removes the temporary). */
void mil_blob_writer_abort(mil_blob_writer *w);

/* Pack `count` values (each < 2^bits) LSB-first into out (ceil(count*bits/8) bytes, zeroed first). */
void mil_bits_pack(const uint8_t *values, int64_t count, int bits, uint8_t *out);

#endif
