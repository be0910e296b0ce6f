/* params.h — every param list of the op table, declared once: P(list, name, flags) in binding
 * order. From each list come the names the planner binds model.mil arguments to (registry.c), the
 * index constants the ops read their inputs with (P_<list>_<name>), and which params may stay
 * packed. Ops that share code share a list; an op that takes only some of its list's params says
 * which in its table entry (registry.c), and the planner refuses the others by name. Reordering or
 * inserting a param here moves the constants with it, so no op reads the wrong input. */
#ifndef EXEC_OPS_PARAMS_H
#define EXEC_OPS_PARAMS_H

#include "exec/op.h"

#define EXEC_P_PACKED 1u /* the param may be an EXEC_PACKED weight (the op reads rows itself) */

#define EXEC_PARAMS_binary(P) P(binary, x, 0) P(binary, y, 0)
#define EXEC_PARAMS_unary(P) P(unary, x, 0) P(unary, epsilon, 0) P(unary, alpha, 0) P(unary, beta, 0) P(unary, mode, 0)
#define EXEC_PARAMS_reduce(P) P(reduce, x, 0) P(reduce, axes, 0) P(reduce, keep_dims, 0)
#define EXEC_PARAMS_argreduce(P) \
  P(argreduce, x, 0) P(argreduce, axis, 0) P(argreduce, keep_dims, 0) P(argreduce, output_dtype, 0)
#define EXEC_PARAMS_softmax(P) P(softmax, x, 0) P(softmax, axis, 0)
#define EXEC_PARAMS_linear(P) P(linear, x, 0) P(linear, weight, EXEC_P_PACKED) P(linear, bias, 0)
#define EXEC_PARAMS_matmul(P)                                                                      \
  P(matmul, x, EXEC_P_PACKED) P(matmul, y, EXEC_P_PACKED) P(matmul, transpose_x, 0)                \
  P(matmul, transpose_y, 0)
#define EXEC_PARAMS_conv(P)                                                                        \
  P(conv, x, 0) P(conv, weight, EXEC_P_PACKED) P(conv, bias, 0) P(conv, strides, 0)                \
  P(conv, pad_type, 0) P(conv, pad, 0) P(conv, dilations, 0) P(conv, groups, 0)                    \
  P(conv, output_shape, 0)
#define EXEC_PARAMS_layer_norm(P)                                                                  \
  P(layer_norm, x, 0) P(layer_norm, axes, 0) P(layer_norm, gamma, 0) P(layer_norm, beta, 0)        \
  P(layer_norm, epsilon, 0)
#define EXEC_PARAMS_batch_norm(P)                                                                  \
  P(batch_norm, x, 0) P(batch_norm, mean, 0) P(batch_norm, variance, 0) P(batch_norm, gamma, 0)    \
  P(batch_norm, beta, 0) P(batch_norm, epsilon, 0)
#define EXEC_PARAMS_instance_norm(P)                                                               \
  P(instance_norm, x, 0) P(instance_norm, gamma, 0) P(instance_norm, beta, 0) P(instance_norm, epsilon, 0)
#define EXEC_PARAMS_l2_norm(P) P(l2_norm, x, 0) P(l2_norm, epsilon, 0)
#define EXEC_PARAMS_reshape(P) P(reshape, x, 0) P(reshape, shape, 0) P(reshape, axes, 0) P(reshape, axis, 0)
#define EXEC_PARAMS_transpose(P) P(transpose, x, 0) P(transpose, perm, 0)
#define EXEC_PARAMS_shape(P) P(shape, x, 0)
#define EXEC_PARAMS_concat(P) P(concat, values, 0) P(concat, axis, 0) P(concat, interleave, 0)
#define EXEC_PARAMS_split(P) P(split, x, 0) P(split, num_splits, 0) P(split, split_sizes, 0) P(split, axis, 0)
#define EXEC_PARAMS_stack(P) P(stack, values, 0) P(stack, axis, 0)
#define EXEC_PARAMS_tile(P) P(tile, x, 0) P(tile, reps, 0)
#define EXEC_PARAMS_pad(P) P(pad, x, 0) P(pad, pad, 0) P(pad, mode, 0) P(pad, constant_val, 0)
#define EXEC_PARAMS_slice(P)                                                                       \
  P(slice, x, 0) P(slice, update, 0) P(slice, begin, 0) P(slice, end, 0) P(slice, size, 0)         \
  P(slice, stride, 0) P(slice, begin_mask, 0) P(slice, end_mask, 0) P(slice, squeeze_mask, 0)
#define EXEC_PARAMS_gather(P)                                                                      \
  P(gather, x, EXEC_P_PACKED) P(gather, indices, 0) P(gather, axis, 0) P(gather, batch_dims, 0)    \
  P(gather, validate_indices, 0)
#define EXEC_PARAMS_gather_along_axis(P)                                                           \
  P(gather_along_axis, x, 0) P(gather_along_axis, indices, 0) P(gather_along_axis, axis, 0)        \
  P(gather_along_axis, validate_indices, 0)
#define EXEC_PARAMS_scatter(P)                                                                     \
  P(scatter, data, 0) P(scatter, indices, 0) P(scatter, updates, 0) P(scatter, axis, 0)            \
  P(scatter, mode, 0) P(scatter, validate_indices, 0)
#define EXEC_PARAMS_one_hot(P)                                                                     \
  P(one_hot, indices, 0) P(one_hot, one_hot_vector_size, 0) P(one_hot, axis, 0)                    \
  P(one_hot, on_value, 0) P(one_hot, off_value, 0)
#define EXEC_PARAMS_select(P) P(select, cond, 0) P(select, a, 0) P(select, b, 0)
#define EXEC_PARAMS_band_part(P) P(band_part, x, 0) P(band_part, lower, 0) P(band_part, upper, 0)
#define EXEC_PARAMS_range_1d(P) P(range_1d, end, 0) P(range_1d, start, 0) P(range_1d, step, 0)
#define EXEC_PARAMS_fill(P) P(fill, shape, 0) P(fill, value, 0)
#define EXEC_PARAMS_fill_like(P) P(fill_like, ref_tensor, 0) P(fill_like, value, 0)
#define EXEC_PARAMS_cast(P) P(cast, x, 0) P(cast, dtype, 0)
#define EXEC_PARAMS_topk(P)                                                                        \
  P(topk, x, 0) P(topk, k, 0) P(topk, axis, 0) P(topk, ascending, 0) P(topk, sort, 0)              \
  P(topk, return_indices, 0) P(topk, output_indices_dtype, 0)
#define EXEC_PARAMS_argsort(P) P(argsort, x, 0) P(argsort, axis, 0) P(argsort, ascending, 0)
#define EXEC_PARAMS_cumsum(P) P(cumsum, x, 0) P(cumsum, axis, 0) P(cumsum, exclusive, 0) P(cumsum, reverse, 0)
/* peephole and peephole_back are left out (PyTorch LSTMs have none), so an lstm with peepholes is
 * refused as an unknown argument. */
#define EXEC_PARAMS_lstm(P)                                                                        \
  P(lstm, x, 0) P(lstm, initial_h, 0) P(lstm, initial_c, 0) P(lstm, weight_ih, EXEC_P_PACKED)      \
  P(lstm, weight_hh, EXEC_P_PACKED) P(lstm, bias, 0) P(lstm, weight_ih_back, EXEC_P_PACKED)        \
  P(lstm, weight_hh_back, EXEC_P_PACKED) P(lstm, bias_back, 0) P(lstm, direction, 0)               \
  P(lstm, output_sequence, 0) P(lstm, recurrent_activation, 0) P(lstm, cell_activation, 0)         \
  P(lstm, activation, 0) P(lstm, clip, 0)
#define EXEC_PARAMS_sdpa(P) P(sdpa, query, 0) P(sdpa, key, 0) P(sdpa, value, 0) P(sdpa, attn_mask, 0)

#define EXEC_PARAM_LISTS(L)                                                                        \
  L(binary) L(unary) L(reduce) L(argreduce) L(softmax) L(linear) L(matmul) L(conv) L(layer_norm)   \
  L(batch_norm) L(instance_norm) L(l2_norm) L(reshape) L(transpose) L(shape) L(concat) L(split)    \
  L(stack) L(tile) L(pad) L(slice) L(gather) L(gather_along_axis) L(scatter) L(one_hot) L(select)  \
  L(band_part) L(range_1d) L(fill) L(fill_like) L(cast) L(topk) L(argsort) L(cumsum) L(lstm) L(sdpa)

/* P_<list>_<name>: the index of the param in n->in[]; P_<list>_COUNT: how many the list has. */
#define EXEC_PARAM_INDEX(list, name, flags) P_##list##_##name,
#define EXEC_PARAM_ENUM(list)                                                                      \
  enum { EXEC_PARAMS_##list(EXEC_PARAM_INDEX) P_##list##_COUNT };                                  \
  _Static_assert(P_##list##_COUNT < EXEC_MAX_PARAMS, "param list '" #list "' is too long");
EXEC_PARAM_LISTS(EXEC_PARAM_ENUM)
#undef EXEC_PARAM_ENUM

/* Param masks for the table: one param, and every param of a list. */
#define EXEC_PBIT(list, name) (1u << P_##list##_##name)
#define EXEC_PALL(list) ((1u << P_##list##_COUNT) - 1u)

#endif
