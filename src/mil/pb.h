/* pb.h — Core ML's protobuf messages (src/mil/proto/, compiled by protoc-c at build time)
 * under short names, and the only door to the protobuf-c library: decoding with limits and
 * encoding. Readers and writers of the format (proto_read.c, proto_write.c) use the generated
 * structs; nothing else includes protobuf-c. */
#ifndef MIL_PB_H
#define MIL_PB_H

#include <stddef.h>
#include <stdint.h>

#include "Model.pb-c.h"
#include "milrun.h"

typedef CoreML__Specification__Model pb_model;
typedef CoreML__Specification__ModelDescription pb_desc;
typedef CoreML__Specification__FunctionDescription pb_fdesc;
typedef CoreML__Specification__FeatureDescription pb_feature;
typedef CoreML__Specification__FeatureType pb_ftype;
typedef CoreML__Specification__ArrayFeatureType pb_array_type;
typedef CoreML__Specification__StateFeatureType pb_state_type;
typedef CoreML__Specification__ArrayFeatureType__Shape pb_shape;
typedef CoreML__Specification__ArrayFeatureType__EnumeratedShapes pb_enum_shapes;
typedef CoreML__Specification__ArrayFeatureType__ShapeRange pb_shape_range;
typedef CoreML__Specification__SizeRange pb_size_range;
typedef CoreML__Specification__Metadata pb_metadata;
typedef CoreML__Specification__Metadata__UserDefinedEntry pb_user_entry;
typedef CoreML__Specification__MILSpec__Program pb_program;
typedef CoreML__Specification__MILSpec__Program__FunctionsEntry pb_func_entry;
typedef CoreML__Specification__MILSpec__Program__AttributesEntry pb_prog_attr;
typedef CoreML__Specification__MILSpec__Function pb_function;
typedef CoreML__Specification__MILSpec__Function__BlockSpecializationsEntry pb_block_entry;
typedef CoreML__Specification__MILSpec__Function__AttributesEntry pb_func_attr;
typedef CoreML__Specification__MILSpec__Block pb_block;
typedef CoreML__Specification__MILSpec__Operation pb_op;
typedef CoreML__Specification__MILSpec__Operation__InputsEntry pb_input_entry;
typedef CoreML__Specification__MILSpec__Operation__AttributesEntry pb_op_attr;
typedef CoreML__Specification__MILSpec__Argument pb_argument;
typedef CoreML__Specification__MILSpec__Argument__Binding pb_binding;
typedef CoreML__Specification__MILSpec__NamedValueType pb_named_type;
typedef CoreML__Specification__MILSpec__ValueType pb_type;
typedef CoreML__Specification__MILSpec__TensorType pb_tensor_type;
typedef CoreML__Specification__MILSpec__ListType pb_list_type;
typedef CoreML__Specification__MILSpec__TupleType pb_tuple_type;
typedef CoreML__Specification__MILSpec__DictionaryType pb_dict_type;
typedef CoreML__Specification__MILSpec__StateType pb_state;
typedef CoreML__Specification__MILSpec__Dimension pb_dim;
typedef CoreML__Specification__MILSpec__Dimension__ConstantDimension pb_dim_const;
typedef CoreML__Specification__MILSpec__Dimension__UnknownDimension pb_dim_unknown;
typedef CoreML__Specification__MILSpec__Value pb_value;
typedef CoreML__Specification__MILSpec__Value__ImmediateValue pb_immediate;
typedef CoreML__Specification__MILSpec__Value__BlobFileValue pb_blob_value;
typedef CoreML__Specification__MILSpec__TensorValue pb_tensor_value;
typedef CoreML__Specification__MILSpec__TupleValue pb_tuple_value;
typedef CoreML__Specification__MILSpec__ListValue pb_list_value;
typedef CoreML__Specification__MILSpec__DictionaryValue pb_dict_value;
typedef CoreML__Specification__MILSpec__DictionaryValue__KeyValuePair pb_dict_pair;

/* Nesting deeper than this (messages inside messages) is refused before decoding, so that neither
 * the decoder nor our readers recurse without bound on a hostile file. */
#define MIL_PB_MAX_DEPTH 64

/* Decode a Model message. `path` names the file in messages. On success *out is a new message
 * (free with mil_pb_free). Truncated or malformed input, or nesting beyond MIL_PB_MAX_DEPTH, is an
 * MR_EFORMAT error naming the message and field. */
int mil_pb_decode_model(const uint8_t *data, size_t len, const char *path, pb_model **out, mr_error *err);
void mil_pb_free(pb_model *m);
/* Encode a Model message built by a writer; *out is new (free with mr_free). */
int mil_pb_encode_model(const pb_model *m, uint8_t **out, size_t *len, mr_error *err);

#endif
