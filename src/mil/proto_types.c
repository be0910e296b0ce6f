/* proto_types.c — tables of proto_types.h. Numbers are those of Apple's published MIL.proto,
 * FeatureTypes.proto and Model.proto (docs/formats.md). */
#include "mil/proto_types.h"

#include <string.h>

static const struct {
  mil_dtype t;
  int code;
} dtype_codes[] = {
    {MIL_BOOL, 1},     {MIL_STRING, 2},  {MIL_FP16, 10},   {MIL_FP32, 11},         {MIL_FP64, 12},
    {MIL_BF16, 13},    {MIL_INT8, 21},   {MIL_INT16, 22},  {MIL_INT32, 23},        {MIL_INT64, 24},
    {MIL_INT4, 25},    {MIL_UINT8, 31},  {MIL_UINT16, 32}, {MIL_UINT32, 33},       {MIL_UINT64, 34},
    {MIL_UINT4, 35},   {MIL_UINT2, 36},  {MIL_UINT1, 37},  {MIL_UINT6, 38},        {MIL_UINT3, 39},
    {MIL_FP8E4M3FN, 40}, {MIL_FP8E5M2, 41},
};

int mil_proto_dtype_code(mil_dtype t) {
  for (size_t i = 0; i < sizeof dtype_codes / sizeof *dtype_codes; i++)
    if (dtype_codes[i].t == t) return dtype_codes[i].code;
  return 0;
}

int mil_proto_dtype_from_code(int code, mil_dtype *out) {
  for (size_t i = 0; i < sizeof dtype_codes / sizeof *dtype_codes; i++)
    if (dtype_codes[i].code == code) {
      *out = dtype_codes[i].t;
      return 0;
    }
  return -1;
}

/* Text opset, protobuf opset, specification version (coremltools' _OPSET table). */
static const struct {
  const char *text, *proto;
  int spec;
} opsets[] = {
    {"ios15", "CoreML5", 6}, {"ios16", "CoreML6", 7}, {"ios17", "CoreML7", 8},
    {"ios18", "CoreML8", 9}, {"ios26", "CoreML9", 10},
};

const char *mil_proto_opset_name(const char *text_opset) {
  for (size_t i = 0; i < sizeof opsets / sizeof *opsets; i++)
    if (!strcmp(opsets[i].text, text_opset)) return opsets[i].proto;
  return NULL;
}

const char *mil_proto_opset_text(const char *proto_opset) {
  for (size_t i = 0; i < sizeof opsets / sizeof *opsets; i++)
    if (!strcmp(opsets[i].proto, proto_opset)) return opsets[i].text;
  return NULL;
}

int mil_proto_spec_version(const char *text_opset) {
  for (size_t i = 0; i < sizeof opsets / sizeof *opsets; i++)
    if (!strcmp(opsets[i].text, text_opset)) return opsets[i].spec;
  return 0;
}

static const struct {
  mil_dtype t;
  int code;
  const char *name;
} array_dtypes[] = {
    {MIL_FP32, 65568, "Float32"}, {MIL_FP64, 65600, "Double"}, {MIL_INT32, 131104, "Int32"},
    {MIL_INT8, 131080, "Int8"},   {MIL_FP16, 65552, "Float16"},
};

int mil_proto_array_dtype(mil_dtype t) {
  for (size_t i = 0; i < sizeof array_dtypes / sizeof *array_dtypes; i++)
    if (array_dtypes[i].t == t) return array_dtypes[i].code;
  return 0;
}

const char *mil_proto_array_dtype_name(int code) {
  for (size_t i = 0; i < sizeof array_dtypes / sizeof *array_dtypes; i++)
    if (array_dtypes[i].code == code) return array_dtypes[i].name;
  return NULL;
}
