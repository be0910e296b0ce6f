/* pb.c — protobuf-c behind one file. protobuf-c decodes recursively and has no depth limit, so a
 * first pass walks the wire format with the generated descriptors and refuses too deep nesting and
 * truncated fields, naming the message and field; only then does protobuf-c decode. */
#include "mil/pb.h"

#include <protobuf-c/protobuf-c.h>
#include <string.h>

#include "util/alloc.h"
#include "util/error.h"

static void *pb_alloc(void *ud, size_t size) { return mr_alloc(size ? size : 1); }
static void pb_free(void *ud, void *p) { mr_free(p); }
static ProtobufCAllocator allocator = {pb_alloc, pb_free, NULL};

/* Reads a base-128 varint at *p (< end); returns 0 or -1 if truncated or longer than 10 bytes. */
static int read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v) {
  *v = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    if (*p >= end) return -1;
    uint8_t b = *(*p)++;
    *v |= (uint64_t)(b & 0x7f) << (shift < 64 ? shift : 63);
    if (!(b & 0x80)) return 0;
  }
  return -1;
}

typedef struct wire_ctx {
  const char *path;
  mr_error *err;
} wire_ctx;

static const char *field_name(const ProtobufCMessageDescriptor *d, uint32_t tag) {
  const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(d, (unsigned)tag);
  return f ? f->name : "(unknown field)";
}

/* Checks one message's bytes: every field complete, nested messages checked recursively. */
static int check_wire(const uint8_t *p, const uint8_t *end, const ProtobufCMessageDescriptor *d,
                      int depth, wire_ctx *c) {
  if (depth > MIL_PB_MAX_DEPTH)
    return util_err(c->err, MR_EFORMAT, "%s: %s: messages nested deeper than %d", c->path, d->name,
                    MIL_PB_MAX_DEPTH);
  while (p < end) {
    uint64_t key, n;
    if (read_varint(&p, end, &key))
      return util_err(c->err, MR_EFORMAT, "%s: %s: truncated field key", c->path, d->name);
    uint32_t tag = (uint32_t)(key >> 3);
    int wt = (int)(key & 7);
    if (key >> 32 || tag == 0)
      return util_err(c->err, MR_EFORMAT, "%s: %s: bad field number", c->path, d->name);
    switch (wt) {
    case 0:
      if (read_varint(&p, end, &n)) goto truncated;
      break;
    case 1:
    case 5:
      if ((size_t)(end - p) < (wt == 1 ? 8u : 4u)) goto truncated;
      p += wt == 1 ? 8 : 4;
      break;
    case 2: {
      if (read_varint(&p, end, &n) || n > (uint64_t)(end - p)) goto truncated;
      const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(d, (unsigned)tag);
      if (f && f->type == PROTOBUF_C_TYPE_MESSAGE) {
        int rc = check_wire(p, p + n, f->descriptor, depth + 1, c);
        if (rc) return rc;
      }
      p += n;
      break;
    }
    default:
      return util_err(c->err, MR_EFORMAT, "%s: %s.%s: unsupported wire type %d", c->path, d->name,
                      field_name(d, tag), wt);
    }
    continue;
  truncated:
    return util_err(c->err, MR_EFORMAT, "%s: %s.%s: truncated", c->path, d->name, field_name(d, tag));
  }
  return MR_OK;
}

int mil_pb_decode_model(const uint8_t *data, size_t len, const char *path, pb_model **out, mr_error *err) {
  *out = NULL;
  wire_ctx c = {path, err};
  int rc = check_wire(data, data + len, &core_ml__specification__model__descriptor, 0, &c);
  if (rc) return rc;
  unsigned long failures = util_alloc_failures();
  *out = core_ml__specification__model__unpack(&allocator, len, data);
  if (*out) return MR_OK;
  if (util_alloc_failures() != failures) return util_err_nomem(err, path);
  /* the structure was sound, so what protobuf-c refused is a value: a bad UTF-8 string, a wrong
   * wire type for a known field, a repeated oneof */
  return util_err(err, MR_EFORMAT, "%s: not a valid Core ML model message", path);
}

void mil_pb_free(pb_model *m) {
  if (m) core_ml__specification__model__free_unpacked(m, &allocator);
}

int mil_pb_encode_model(const pb_model *m, uint8_t **out, size_t *len, mr_error *err) {
  *len = core_ml__specification__model__get_packed_size(m);
  *out = mr_alloc(*len ? *len : 1);
  if (!*out) return util_err_nomem(err, "model.mlmodel");
  if (core_ml__specification__model__pack(m, *out) != *len) {
    mr_free(*out);
    *out = NULL;
    return util_err(err, MR_EINTERNAL, "model.mlmodel: protobuf encoding size mismatch");
  }
  return MR_OK;
}
