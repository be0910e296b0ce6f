/* proto_read.h — a Core ML Model message (the model.mlmodel of a package) holding an ML Program, as
 * the same IR the model.mil parser builds, plus its description in the form of metadata.json. */
#ifndef MIL_PROTO_READ_H
#define MIL_PROTO_READ_H

#include <stddef.h>
#include <stdint.h>

#include "mil/ir.h"
#include "mil/metadata.h"

/* Decode `data` (not consumed). On success *prog owns a new program and *md a description (free
 * with mil_metadata_free). A NeuralNetwork model is MR_ENOTSUP "not an ML Program (NeuralNetwork
 * models are not supported)"; malformed or self-contradicting messages are MR_EFORMAT naming the
 * field. The program's version reads "1.3" for an iOS18 program, else "1.0": the message carries
 * only an integer version. */
int mil_proto_read(const uint8_t *data, size_t len, const char *path, mil_program **prog, mil_metadata *md,
                   mr_error *err);

#endif
