/* proto_write.h — a program (IR) and its metadata as a Core ML Model message (the model.mlmodel of
 * a package), the inverse of proto_read.h. */
#ifndef MIL_PROTO_WRITE_H
#define MIL_PROTO_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "mil/ir.h"
#include "mil/metadata.h"

/* Encode `p` with description and metadata; `md` may be NULL. specificationVersion follows the
 * opsets used (iOS18 = 9 when there are states or several functions). *out is new (mr_free).
 * Constructs the protobuf form cannot hold (a per-op opset, a non-multi-array I/O) are
 * MR_ENOTSUP naming them. */
int mil_proto_write(const mil_program *p, const mil_metadata *md, uint8_t **out, size_t *len, mr_error *err);
/* The specificationVersion mil_proto_write writes for `p`. */
int mil_proto_spec_version_of(const mil_program *p);

#endif
