/* proto_types.h — the correspondences between Core ML's protobuf spellings and milrun's IR that
 * both directions share: element types, opset names, the specification version an opset needs. */
#ifndef MIL_PROTO_TYPES_H
#define MIL_PROTO_TYPES_H

#include "mil/ir.h"

/* MILSpec.DataType number of a dtype (0 if none), and back (-1 if unknown). */
int mil_proto_dtype_code(mil_dtype t);
int mil_proto_dtype_from_code(int code, mil_dtype *out);
/* "ios18" <-> "CoreML8"; NULL if the name is not known. */
const char *mil_proto_opset_name(const char *text_opset);
const char *mil_proto_opset_text(const char *proto_opset);
/* Model.specificationVersion a program of this text opset needs (0 if unknown). */
int mil_proto_spec_version(const char *text_opset);
/* ArrayFeatureType.ArrayDataType of a dtype (0 if a multi-array cannot hold it), and the
 * metadata.json spelling ("Float16") of such a code (NULL if unknown). */
int mil_proto_array_dtype(mil_dtype t);
const char *mil_proto_array_dtype_name(int code);

#endif
