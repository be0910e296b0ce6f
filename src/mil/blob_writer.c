/* blob_writer.c — MILBlob v2 writer. */
#include "mil/blob_writer.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "mil/blob.h"
#include "util/alloc.h"
#include "util/error.h"

static void put32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void put64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

void mil_bits_pack(const uint8_t *values, int64_t count, int bits, uint8_t *out) {
  memset(out, 0, (size_t)((count * bits + 7) / 8));
  for (int64_t i = 0; i < count; i++) {
    uint64_t bit = (uint64_t)i * (uint64_t)bits;
    unsigned v = values[i] & ((1u << bits) - 1);
    out[bit >> 3] |= (uint8_t)(v << (bit & 7));
    if ((bit & 7) + (unsigned)bits > 8) out[(bit >> 3) + 1] |= (uint8_t)(v >> (8 - (bit & 7)));
  }
}

static int write_at_end(mil_blob_writer *w, const void *p, size_t n) {
  if (w->failed || fwrite(p, 1, n, w->f) != n) {
    w->failed = 1;
    return -1;
  }
  w->pos += n;
  return 0;
}

static int pad_to_64(mil_blob_writer *w) {
  static const uint8_t zeros[64];
  size_t pad = (size_t)((64 - w->pos % 64) % 64);
  return pad ? write_at_end(w, zeros, pad) : 0;
}

int mil_blob_writer_open(mil_blob_writer *w, const char *path, mr_error *err) {
  memset(w, 0, sizeof *w);
  w->path = util_strdup(path);
  size_t n = strlen(path) + 16;
  w->tmp_path = mr_alloc(n);
  if (!w->path || !w->tmp_path) {
    mil_blob_writer_abort(w);
    return util_err_nomem(err, path);
  }
  snprintf(w->tmp_path, n, "%s.partial", path);
  w->f = fopen(w->tmp_path, "wb");
  if (!w->f) {
    int rc = util_err(err, MR_EIO, "%s: %s", w->tmp_path, strerror(errno));
    mil_blob_writer_abort(w);
    return rc;
  }
  uint8_t header[64] = {0};
  put32(header + 4, 2);
  write_at_end(w, header, sizeof header);
  return MR_OK;
}

int mil_blob_writer_add(mil_blob_writer *w, mil_dtype dtype, const void *data, int64_t count,
                        uint64_t *offset, mr_error *err) {
  uint32_t code = mil_blob_dtype_code(dtype);
  if (!code) return util_err(err, MR_EINVAL, "%s: dtype %s cannot be stored in a weight file", w->path, mil_dtype_name(dtype));
  int bits = mil_dtype_bits(dtype);
  uint64_t nbytes = ((uint64_t)count * (uint64_t)bits + 7) / 8;
  pad_to_64(w);
  uint8_t rec[64] = {0};
  *offset = w->pos;
  put32(rec, 0xDEADBEEFu);
  put32(rec + 4, code);
  put64(rec + 8, nbytes);
  put64(rec + 16, w->pos + 64);
  put64(rec + 24, bits < 8 ? (8 - ((uint64_t)count * (uint64_t)bits) % 8) % 8 : 0);
  write_at_end(w, rec, sizeof rec);
  write_at_end(w, data, (size_t)nbytes);
  w->count++;
  if (w->failed) return util_err(err, MR_EIO, "%s: write failed: %s", w->tmp_path, strerror(errno));
  return MR_OK;
}

int mil_blob_writer_close(mil_blob_writer *w, mr_error *err) {
  uint8_t cnt[4];
  put32(cnt, w->count);
  int ok = !w->failed && fseek(w->f, 0, SEEK_SET) == 0 && fwrite(cnt, 1, 4, w->f) == 4;
  ok = (fclose(w->f) == 0) && ok;
  w->f = NULL;
  if (!ok || rename(w->tmp_path, w->path) != 0) {
    int rc = util_err(err, MR_EIO, "%s: cannot write: %s", w->path, strerror(errno));
    mil_blob_writer_abort(w);
    return rc;
  }
  mr_free(w->path);
  mr_free(w->tmp_path);
  memset(w, 0, sizeof *w);
  return MR_OK;
}

void mil_blob_writer_abort(mil_blob_writer *w) {
  if (w->f) fclose(w->f);
  if (w->tmp_path) unlink(w->tmp_path);
  mr_free(w->path);
  mr_free(w->tmp_path);
  memset(w, 0, sizeof *w);
}
