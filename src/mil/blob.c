/* blob.c — reading MILBlob v2 files over mmap, with every header field checked. */
#include "mil/blob.h"

#include <string.h>

#include "util/alloc.h"
#include "util/error.h"

#define BLOB_SENTINEL 0xDEADBEEFu

static uint32_t rd32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }

uint32_t mil_blob_dtype_code(mil_dtype t) {
  switch (t) {
  case MIL_FP16: return 1;
  case MIL_FP32: return 2;
  case MIL_UINT8: return 3;
  case MIL_INT8: return 4;
  case MIL_BF16: return 5;
  case MIL_INT16: return 6;
  case MIL_UINT16: return 7;
  case MIL_INT4: return 8;
  case MIL_UINT1: return 9;
  case MIL_UINT2: return 10;
  case MIL_UINT4: return 11;
  case MIL_UINT3: return 12;
  case MIL_UINT6: return 13;
  case MIL_INT32: return 14;
  case MIL_UINT32: return 15;
  case MIL_FP8E4M3FN: return 16;
  case MIL_FP8E5M2: return 17;
  default: return 0;
  }
}

static int check_header(mil_blob_file *f, const char *path, mr_error *err) {
  int rc = MR_OK;
  f->path = util_strdup(path);
  if (!f->path) {
    util_map_close(&f->map);
    return util_err_nomem(err, path);
  }
  if (f->map.size < 64) {
    rc = util_err(err, MR_EFORMAT, "%s: not a weight file: %zu bytes, the header alone needs 64", path,
                  f->map.size);
  } else if (rd32(f->map.data + 4) != 2) {
    rc = util_err(err, MR_EFORMAT, "%s: unsupported weight file version %u (expected 2)", path,
                  rd32(f->map.data + 4));
  }
  if (rc) {
    mil_blob_close(f);
    return rc;
  }
  f->count = rd32(f->map.data);
  return MR_OK;
}

int mil_blob_open(mil_blob_file *f, const char *path, mr_error *err) {
  memset(f, 0, sizeof *f);
  int rc = util_map_open(&f->map, path, err);
  return rc ? rc : check_header(f, path, err);
}

int mil_blob_open_mem(mil_blob_file *f, const void *data, size_t size, const char *name, mr_error *err) {
  memset(f, 0, sizeof *f);
  f->map.data = data;
  f->map.size = size;
  f->map.mapped = -1; /* borrowed */
  return check_header(f, name, err);
}

void mil_blob_close(mil_blob_file *f) {
  util_map_close(&f->map);
  mr_free(f->path);
  memset(f, 0, sizeof *f);
}

int mil_blob_get(const mil_blob_file *f, uint64_t offset, mil_dtype dtype, int64_t count,
                 mil_blob *out, mr_error *err) {
  const char *path = f->path;
  uint64_t size = f->map.size;
  if (offset < 64 || offset > size || size - offset < 64)
    return util_err(err, MR_EFORMAT, "%s: blob offset %llu is outside the file (%llu bytes)", path,
                    (unsigned long long)offset, (unsigned long long)size);
  const uint8_t *m = f->map.data + offset;
  if (rd32(m) != BLOB_SENTINEL)
    return util_err(err, MR_EFORMAT, "%s: no blob record at offset %llu (bad sentinel 0x%08x)", path,
                    (unsigned long long)offset, rd32(m));
  uint32_t code = rd32(m + 4);
  uint64_t nbytes = rd64(m + 8), data_off = rd64(m + 16), pad = rd64(m + 24);
  uint32_t want = mil_blob_dtype_code(dtype);
  if (!want)
    return util_err(err, MR_ENOTSUP, "%s: blob at offset %llu: dtype %s cannot be stored in a weight file",
                    path, (unsigned long long)offset, mil_dtype_name(dtype));
  if (code != want)
    return util_err(err, MR_EFORMAT, "%s: blob at offset %llu has dtype code %u, the model declares %s (code %u)",
                    path, (unsigned long long)offset, code, mil_dtype_name(dtype), want);
  if (data_off > size || nbytes > size - data_off)
    return util_err(err, MR_EFORMAT, "%s: blob at offset %llu: payload [%llu, +%llu) is outside the file (%llu bytes)",
                    path, (unsigned long long)offset, (unsigned long long)data_off,
                    (unsigned long long)nbytes, (unsigned long long)size);
  if (pad >= 8)
    return util_err(err, MR_EFORMAT, "%s: blob at offset %llu: invalid padding of %llu bits", path,
                    (unsigned long long)offset, (unsigned long long)pad);
  int bits = mil_dtype_bits(dtype);
  uint64_t need = count < 0 ? 0 : ((uint64_t)count * (uint64_t)bits + 7) / 8;
  if (count < 0 || nbytes != need)
    return util_err(err, MR_EFORMAT, "%s: blob at offset %llu holds %llu bytes, %lld elements of %s need %llu",
                    path, (unsigned long long)offset, (unsigned long long)nbytes, (long long)count,
                    mil_dtype_name(dtype), (unsigned long long)need);
  out->data = f->map.data + data_off;
  out->size = nbytes;
  out->dtype = dtype;
  out->padding_bits = pad;
  return MR_OK;
}
