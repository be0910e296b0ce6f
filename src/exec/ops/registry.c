/* registry.c — the one op table (docs/style.md §11): every MIL op the CPU executor runs, with its
 * param list (ops/params.h: the planner binds model.mil arguments to it by name), which of those
 * params it takes, its variant within a family that shares plan/run, its properties, how many
 * outputs it declares, and its family's plan/run/scratch functions. Op names are written here and
 * nowhere else in the executor: families tell their ops apart by variant. An entry without a plan or
 * run function is a link error rather than a NULL at run time. */
#include <string.h>

#include "exec/ops/ops.h"
#include "exec/ops/params.h"

#define PB EXEC_PBIT
#define ALL EXEC_PALL
#define MOVES EXEC_OP_MOVES_DATA
#define SLICE (EXEC_OP_MOVES_DATA | EXEC_OP_READS_F16_X)

/* X(name, plan/run functions, param list, variant, params taken, min outputs, max outputs,
 *   scratch function, properties, in-place param) */
#define OP(nm, fam, var, props) X(nm, fam, fam, var, ALL(fam), 1, 1, NULL, props, -1)
#define BIN(nm, var) OP(nm, binary, var, 0)
#define UN_P(nm, var, taken) X(nm, unary, unary, var, PB(unary, x) | (taken), 1, 1, NULL, 0, -1)
#define UN(nm, var) UN_P(nm, var, 0)
#define UN_EPS(nm, var) UN_P(nm, var, PB(unary, epsilon))
#define UN_A(nm, var) UN_P(nm, var, PB(unary, alpha))
#define UN_AB(nm, var) UN_P(nm, var, PB(unary, alpha) | PB(unary, beta))
#define RED(nm, var) OP(nm, reduce, var, 0)
#define RESHAPE(nm, var, taken) X(nm, reshape, reshape, var, PB(reshape, x) | (taken), 1, 1, NULL, MOVES, -1)
#define SLICE_MASKS PB(slice, stride) | PB(slice, begin_mask) | PB(slice, end_mask) | PB(slice, squeeze_mask)
#define SLICE_BY_INDEX PB(slice, x) | PB(slice, begin) | PB(slice, end) | SLICE_MASKS
#define SCRATCH(nm, fam, list, scratch, maxo) X(nm, fam, list, 0, ALL(list), 1, maxo, exec_##scratch##_scratch, 0, -1)

#define EXEC_OPS                                                                                    \
  BIN("add", B_ADD) BIN("sub", B_SUB) BIN("mul", B_MUL) BIN("real_div", B_DIV)                      \
  BIN("floor_div", B_FLOORDIV) BIN("mod", B_MOD) BIN("pow", B_POW) BIN("maximum", B_MAX)            \
  BIN("minimum", B_MIN) BIN("equal", B_EQ) BIN("not_equal", B_NE) BIN("greater", B_GT)              \
  BIN("greater_equal", B_GE) BIN("less", B_LT) BIN("less_equal", B_LE)                              \
  BIN("logical_and", B_AND) BIN("logical_or", B_OR) BIN("logical_xor", B_XOR)                       \
  UN("sqrt", U_SQRT) UN("exp", U_EXP) UN("exp2", U_EXP2) UN("floor", U_FLOOR) UN("ceil", U_CEIL)    \
  UN("round", U_ROUND) UN("sign", U_SIGN) UN("abs", U_ABS) UN("square", U_SQUARE) UN("sin", U_SIN)  \
  UN("cos", U_COS) UN("tan", U_TAN) UN("tanh", U_TANH) UN("sinh", U_SINH) UN("cosh", U_COSH)        \
  UN("asin", U_ASIN) UN("acos", U_ACOS) UN("atan", U_ATAN) UN("atanh", U_ATANH) UN("erf", U_ERF)    \
  UN("logical_not", U_NOT) UN("relu", U_RELU) UN("relu6", U_RELU6) UN("sigmoid", U_SIGMOID)         \
  UN("silu", U_SILU) UN("softsign", U_SOFTSIGN) UN("softplus", U_SOFTPLUS)                          \
  UN_EPS("rsqrt", U_RSQRT) UN_EPS("inverse", U_INVERSE) UN_EPS("log", U_LOG)                        \
  UN_A("threshold", U_THRESHOLD) UN_A("leaky_relu", U_LEAKY) UN_A("elu", U_ELU)                     \
  UN_A("thresholded_relu", U_THRELU) UN_A("prelu", U_PRELU)                                         \
  UN_AB("clip", U_CLIP) UN_AB("clamped_relu", U_CLAMPED) UN_AB("linear_activation", U_LINEAR)       \
  UN_AB("scaled_tanh", U_SCALED_TANH) UN_AB("sigmoid_hard", U_SIGHARD)                              \
  UN_P("gelu", U_GELU, PB(unary, mode))                                                             \
  RED("reduce_sum", R_SUM) RED("reduce_mean", R_MEAN) RED("reduce_max", R_MAX)                      \
  RED("reduce_min", R_MIN) RED("reduce_prod", R_PROD) RED("reduce_l1_norm", R_L1)                   \
  RED("reduce_l2_norm", R_L2) RED("reduce_sum_square", R_SUMSQ) RED("reduce_log_sum", R_LOGSUM)     \
  RED("reduce_log_sum_exp", R_LOGSUMEXP)                                                            \
  OP("reduce_argmax", argreduce, ARG_MAX, 0) OP("reduce_argmin", argreduce, ARG_MIN, 0)             \
  OP("softmax", softmax, 0, 0)                                                                      \
  SCRATCH("linear", linear, linear, linear, 1) X("matmul", matmul, matmul, 0, ALL(matmul), 1, 1, exec_matmul_scratch, EXEC_OP_READS_F16_Y, -1)         \
  X("conv", conv, conv, 0, ALL(conv) & ~PB(conv, output_shape), 1, 1, exec_conv_scratch, 0, -1)     \
  SCRATCH("conv_transpose", conv_transpose, conv, conv_transpose, 1)                                \
  OP("layer_norm", layer_norm, 0, 0) OP("batch_norm", batch_norm, 0, 0)                             \
  OP("instance_norm", instance_norm, 0, 0) OP("l2_norm", l2_norm, 0, 0)                             \
  RESHAPE("reshape", RS_RESHAPE, PB(reshape, shape))                                                \
  RESHAPE("expand_dims", RS_EXPAND_DIMS, PB(reshape, axes))                                         \
  RESHAPE("squeeze", RS_SQUEEZE, PB(reshape, axes))                                                 \
  RESHAPE("flatten2d", RS_FLATTEN2D, PB(reshape, axis)) RESHAPE("identity", RS_IDENTITY, 0)         \
  OP("transpose", transpose, 0, MOVES) OP("shape", shape, 0, 0) OP("concat", concat, 0, MOVES)      \
  X("split", split, split, 0, ALL(split), 1, 256, NULL, MOVES, -1)                                  \
  OP("stack", stack, 0, MOVES) OP("tile", tile, 0, MOVES) OP("pad", pad, 0, 0)                     \
  X("slice_by_index", slice_by_index, slice, 0, SLICE_BY_INDEX, 1, 1, NULL, SLICE, -1)              \
  X("slice_by_size", slice_by_size, slice, 0, PB(slice, x) | PB(slice, begin) | PB(slice, size), 1, \
    1, NULL, SLICE, -1)                                                                             \
  X("slice_update", slice_update, slice, 0, SLICE_BY_INDEX | PB(slice, update), 1, 1, NULL, SLICE,  \
    P_slice_x)                                                                                      \
  OP("gather", gather, 0, MOVES) OP("gather_along_axis", gather_along_axis, 0, MOVES)               \
  X("scatter", scatter, scatter, 0, ALL(scatter), 1, 1, NULL, 0, -1)                                \
  X("scatter_along_axis", scatter_along_axis, scatter, 0, ALL(scatter), 1, 1, NULL, 0, -1)          \
  OP("one_hot", one_hot, 0, 0) OP("select", select, 0, MOVES) OP("band_part", band_part, 0, 0)      \
  OP("range_1d", range_1d, 0, 0) OP("fill", fill, 0, 0) OP("fill_like", fill_like, 0, 0)            \
  OP("cast", cast, 0, 0)                                                                            \
  SCRATCH("topk", topk, topk, sort, 2) SCRATCH("argsort", argsort, argsort, sort, 1)                \
  OP("cumsum", cumsum, 0, 0)                                                                        \
  X("lstm", lstm, lstm, 0, ALL(lstm), 3, 3, exec_lstm_scratch, 0, -1)                               \
  SCRATCH("scaled_dot_product_attention", sdpa, sdpa, sdpa, 1)

#define PARAM_NAME(list, name, flags) #name,
#define PARAM_PACKED(list, name, flags) | ((flags) & EXEC_P_PACKED ? 1u << P_##list##_##name : 0u)
#define X(nm, fam, list, var, taken, mino, maxo, scratch, props, in_place)                            \
  {nm, {EXEC_PARAMS_##list(PARAM_NAME) NULL}, (taken), (0u EXEC_PARAMS_##list(PARAM_PACKED)) & (taken), \
   var, props, in_place, mino, maxo, exec_##fam##_plan, exec_##fam##_run, scratch},
static const exec_op_def table[] = {EXEC_OPS};
#undef X

/* A `taken` mask that names a param outside its list would be refused silently by the planner. */
#define X(nm, fam, list, var, taken, ...) _Static_assert(((taken) & ~ALL(list)) == 0, nm ": takes a param its list lacks");
EXEC_OPS
#undef X

#define X(nm, ...) nm,
static const char *const names[] = {EXEC_OPS NULL};
#undef X

const exec_op_def *exec_op_find(const char *name) {
  for (size_t i = 0; i < sizeof table / sizeof *table; i++)
    if (strcmp(table[i].name, name) == 0) return &table[i];
  return NULL;
}

const char *const *exec_op_names(void) { return names; }

int exec_op_param(const exec_op_def *def, const char *name) {
  for (int i = 0; i < EXEC_MAX_PARAMS && def->params[i]; i++)
    if ((def->accepts >> i & 1u) && !strcmp(def->params[i], name)) return i;
  return -1;
}
