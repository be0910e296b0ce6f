/* registry.c — the one op table (STYLE rule 11): every MIL op the CPU executor runs, with its
 * param names (the planner binds model.mil arguments to them by name), which params may stay
 * packed, how many outputs it declares, and its family's plan/run/scratch functions.
 * The table is an X-macro so that the name list and the table cannot disagree, and so that an
 * entry without a plan or run function is a compile/link error rather than a NULL at run time
 * (C has no static_assert on function addresses; tests/test_exec_ops_registry.c checks the rest). */
#include <string.h>

#include "exec/ops/ops.h"

#define BIN(nm) X(nm, binary, 0, 1, 1, NULL, "x", "y")
#define UN(nm) X(nm, unary, 0, 1, 1, NULL, "x")
#define UN_EPS(nm) X(nm, unary, 0, 1, 1, NULL, "x", "epsilon")
#define UN_A(nm) X(nm, unary, 0, 1, 1, NULL, "x", "alpha")
#define UN_AB(nm) X(nm, unary, 0, 1, 1, NULL, "x", "alpha", "beta")
#define RED(nm) X(nm, reduce, 0, 1, 1, NULL, "x", "axes", "keep_dims")
#define SLICE_MASKS "stride", "begin_mask", "end_mask", "squeeze_mask"

/* X(name, family, packed_ok bits, min outputs, max outputs, scratch function, params...) */
#define EXEC_OPS                                                                                    \
  BIN("add") BIN("sub") BIN("mul") BIN("real_div") BIN("floor_div") BIN("mod") BIN("pow")           \
  BIN("maximum") BIN("minimum") BIN("equal") BIN("not_equal") BIN("greater") BIN("greater_equal")   \
  BIN("less") BIN("less_equal") BIN("logical_and") BIN("logical_or") BIN("logical_xor")             \
  UN("sqrt") UN("exp") UN("exp2") UN("floor") UN("ceil") UN("round") UN("sign") UN("abs")           \
  UN("square") UN("sin") UN("cos") UN("tan") UN("tanh") UN("sinh") UN("cosh") UN("asin")            \
  UN("acos") UN("atan") UN("atanh") UN("erf") UN("logical_not") UN("relu") UN("relu6")              \
  UN("sigmoid") UN("silu") UN("softsign") UN("softplus")                                            \
  UN_EPS("rsqrt") UN_EPS("inverse") UN_EPS("log")                                                   \
  UN_A("threshold") UN_A("leaky_relu") UN_A("elu") UN_A("thresholded_relu") UN_A("prelu")           \
  UN_AB("clip") UN_AB("clamped_relu") UN_AB("linear_activation") UN_AB("scaled_tanh")               \
  UN_AB("sigmoid_hard")                                                                             \
  X("gelu", unary, 0, 1, 1, NULL, "x", "mode")                                                      \
  RED("reduce_sum") RED("reduce_mean") RED("reduce_max") RED("reduce_min") RED("reduce_prod")       \
  RED("reduce_l1_norm") RED("reduce_l2_norm") RED("reduce_sum_square") RED("reduce_log_sum")        \
  RED("reduce_log_sum_exp")                                                                         \
  X("reduce_argmax", argreduce, 0, 1, 1, NULL, "x", "axis", "keep_dims", "output_dtype")            \
  X("reduce_argmin", argreduce, 0, 1, 1, NULL, "x", "axis", "keep_dims", "output_dtype")            \
  X("softmax", softmax, 0, 1, 1, NULL, "x", "axis")                                                 \
  X("linear", linear, 1u << 1, 1, 1, exec_linear_scratch, "x", "weight", "bias")                    \
  X("matmul", matmul, 3u, 1, 1, exec_matmul_scratch, "x", "y", "transpose_x", "transpose_y")        \
  X("conv", conv, 1u << 1, 1, 1, exec_conv_scratch, "x", "weight", "bias", "strides", "pad_type",   \
    "pad", "dilations", "groups")                                                                   \
  X("conv_transpose", conv_transpose, 1u << 1, 1, 1, exec_conv_transpose_scratch, "x", "weight",    \
    "bias", "strides", "pad_type", "pad", "dilations", "groups", "output_shape")                    \
  X("layer_norm", layer_norm, 0, 1, 1, NULL, "x", "axes", "gamma", "beta", "epsilon")               \
  X("batch_norm", batch_norm, 0, 1, 1, NULL, "x", "mean", "variance", "gamma", "beta", "epsilon")   \
  X("instance_norm", instance_norm, 0, 1, 1, NULL, "x", "gamma", "beta", "epsilon")                 \
  X("l2_norm", l2_norm, 0, 1, 1, NULL, "x", "epsilon")                                              \
  X("reshape", reshape, 0, 1, 1, NULL, "x", "shape")                                                \
  X("expand_dims", reshape, 0, 1, 1, NULL, "x", "axes")                                             \
  X("squeeze", reshape, 0, 1, 1, NULL, "x", "axes")                                                 \
  X("flatten2d", reshape, 0, 1, 1, NULL, "x", "axis")                                               \
  X("identity", reshape, 0, 1, 1, NULL, "x")                                                        \
  X("transpose", transpose, 0, 1, 1, NULL, "x", "perm")                                             \
  X("shape", shape, 0, 1, 1, NULL, "x")                                                             \
  X("concat", concat, 0, 1, 1, NULL, "values", "axis", "interleave")                                \
  X("split", split, 0, 1, 256, NULL, "x", "num_splits", "split_sizes", "axis")                      \
  X("stack", stack, 0, 1, 1, NULL, "values", "axis")                                                \
  X("tile", tile, 0, 1, 1, NULL, "x", "reps")                                                       \
  X("pad", pad, 0, 1, 1, NULL, "x", "pad", "mode", "constant_val")                                  \
  X("slice_by_index", slice_by_index, 0, 1, 1, NULL, "x", "begin", "end", SLICE_MASKS)              \
  X("slice_by_size", slice_by_size, 0, 1, 1, NULL, "x", "begin", "size")                            \
  X("slice_update", slice_update, 0, 1, 1, NULL, "x", "update", "begin", "end", SLICE_MASKS)        \
  X("gather", gather, 1u, 1, 1, NULL, "x", "indices", "axis", "batch_dims",          \
    "validate_indices")                                                                             \
  X("gather_along_axis", gather_along_axis, 0, 1, 1, NULL, "x", "indices", "axis",                  \
    "validate_indices")                                                                             \
  X("scatter", scatter, 0, 1, 1, NULL, "data", "indices", "updates", "axis", "mode",                \
    "validate_indices")                                                                             \
  X("scatter_along_axis", scatter_along_axis, 0, 1, 1, NULL, "data", "indices", "updates", "axis",  \
    "mode", "validate_indices")                                                                     \
  X("one_hot", one_hot, 0, 1, 1, NULL, "indices", "one_hot_vector_size", "axis", "on_value",        \
    "off_value")                                                                                    \
  X("select", select, 0, 1, 1, NULL, "cond", "a", "b")                                              \
  X("band_part", band_part, 0, 1, 1, NULL, "x", "lower", "upper")                                   \
  X("range_1d", range_1d, 0, 1, 1, NULL, "end", "start", "step")                                    \
  X("fill", fill, 0, 1, 1, NULL, "shape", "value")                                                  \
  X("fill_like", fill_like, 0, 1, 1, NULL, "ref_tensor", "value")                                   \
  X("cast", cast, 0, 1, 1, NULL, "x", "dtype")                                                      \
  X("topk", topk, 0, 1, 2, exec_sort_scratch, "x", "k", "axis", "ascending", "sort", "return_indices",           \
    "output_indices_dtype")                                                                         \
  X("argsort", argsort, 0, 1, 1, exec_sort_scratch, "x", "axis", "ascending")                                    \
  X("cumsum", cumsum, 0, 1, 1, NULL, "x", "axis", "exclusive", "reverse")                           \
  /* 15 params at most (EXEC_MAX_PARAMS with its NULL): peephole and peephole_back are left out \
   * (PyTorch LSTMs have none), so an lstm with peepholes is refused as an unknown argument. */    \
  X("lstm", lstm, (1u << 3) | (1u << 4) | (1u << 6) | (1u << 7), 3, 3, exec_lstm_scratch, "x", "initial_h", "initial_c", "weight_ih",           \
    "weight_hh", "bias", "weight_ih_back", "weight_hh_back", "bias_back", "direction",  \
    "output_sequence", "recurrent_activation", "cell_activation", "activation", "clip")            \
  X("scaled_dot_product_attention", sdpa, 0, 1, 1, exec_sdpa_scratch, "query", "key", "value",      \
    "attn_mask")

#define X(nm, fam, packed, mino, maxo, scratch, ...) \
  {nm, {__VA_ARGS__, NULL}, packed, mino, maxo, exec_##fam##_plan, exec_##fam##_run, scratch},
static const exec_op_def table[] = {EXEC_OPS};
#undef X

#define X(nm, ...) nm,
static const char *const names[] = {EXEC_OPS NULL};
#undef X

_Static_assert(sizeof table / sizeof *table + 1 == sizeof names / sizeof *names,
               "op table and name list differ");

const exec_op_def *exec_op_find(const char *name) {
  for (size_t i = 0; i < sizeof table / sizeof *table; i++)
    if (strcmp(table[i].name, name) == 0) return &table[i];
  return NULL;
}

const char *const *exec_op_names(void) { return names; }
