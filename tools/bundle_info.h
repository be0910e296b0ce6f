/* bundle_info.h — what `milrun inspect` reports about one bundle's program, shared by the bundle
 * and the model-directory descriptions: weight bytes by storage kind (fp16, LUT n-bit, int8
 * affine_dequantize, ...; each blob counted once however many functions use it), the bytes of the
 * weight files, and each function's inputs, outputs, states and op histogram as JSON and text. */
#ifndef TOOLS_BUNDLE_INFO_H
#define TOOLS_BUNDLE_INFO_H

#include <cjson/cJSON.h>

#include "mil/model.h"

typedef struct tool_weight_kind {
  char name[48];
  double bytes;
  int tensors;
} tool_weight_kind;

typedef struct tool_weights {
  tool_weight_kind *kinds; /* in the order first met */
  int n;
} tool_weights;

/* Add the weights of m's program to w (which may already hold other bundles'); MR_ENOMEM. */
int tool_weights_add(tool_weights *w, const mil_model *m);
void tool_weights_free(tool_weights *w);
/* {"KIND": bytes, ...} */
cJSON *tool_weights_json(const tool_weights *w);
/* One line per kind: "<indent>KIND   N bytes in T tensors". */
void tool_weights_print(const tool_weights *w, int indent);

/* Bytes of the weight files the program names; *missing counts those that do not exist. */
double tool_weight_file_bytes(const mil_model *m, int *missing);

/* [{"name", "dtype", "shape"}, ...] */
cJSON *tool_io_json(const mr_io_info *info, int n);
/* {"name", "opset", "inputs", "outputs", "states", "ops": {op: count}} of function f. */
cJSON *tool_function_json(const mil_model *m, int f);
/* "function NAME<OPSET>  (default)", then inputs, states and outputs (and the op histogram when
 * ops is set), indented by indent spaces. */
void tool_function_print(const mil_model *m, int f, int indent, int ops);

#endif
