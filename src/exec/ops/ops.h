/* ops.h — what the op families (ops/<family>.c) export to the one op table (registry.c), and the
 * small shape helpers several families share. Nothing outside src/exec/ops/ includes this. */
#ifndef EXEC_OPS_OPS_H
#define EXEC_OPS_OPS_H

#include "exec/op.h"
#include "exec/weights.h"
#include "exec/ops/params.h"

/* One plan/run pair per family or op; a family tells its ops apart by n->def->variant, one of the
 * constants below (the table in registry.c gives each op its variant). */
enum { B_ADD, B_SUB, B_MUL, B_DIV, B_FLOORDIV, B_MOD, B_POW, B_MAX, B_MIN, B_EQ, B_NE, B_GT, B_GE,
       B_LT, B_LE, B_AND, B_OR, B_XOR };
enum { U_SQRT, U_EXP, U_EXP2, U_FLOOR, U_CEIL, U_ROUND, U_SIGN, U_ABS, U_SQUARE, U_SIN, U_COS, U_TAN,
       U_TANH, U_SINH, U_COSH, U_ASIN, U_ACOS, U_ATAN, U_ATANH, U_ERF, U_NOT, U_RELU, U_RELU6,
       U_SIGMOID, U_SILU, U_SOFTSIGN, U_SOFTPLUS, U_RSQRT, U_INVERSE, U_LOG, U_THRESHOLD, U_LEAKY,
       U_ELU, U_THRELU, U_PRELU, U_CLIP, U_CLAMPED, U_LINEAR, U_SCALED_TANH, U_SIGHARD, U_GELU,
       U_GELU_TANH, U_GELU_SIGMOID, U_COUNT }; /* the last two: gelu's modes, chosen in plan() */
enum { R_SUM, R_MEAN, R_MAX, R_MIN, R_PROD, R_L1, R_L2, R_SUMSQ, R_LOGSUM, R_LOGSUMEXP };
enum { ARG_MAX, ARG_MIN };
enum { RS_RESHAPE, RS_EXPAND_DIMS, RS_SQUEEZE, RS_FLATTEN2D, RS_IDENTITY };

#define EXEC_OP_FNS(fam)                                      \
  int exec_##fam##_plan(exec_node *n, mr_error *err);         \
  int exec_##fam##_run(exec_node *n, mr_error *err)

EXEC_OP_FNS(binary);
EXEC_OP_FNS(unary);
EXEC_OP_FNS(reduce);
EXEC_OP_FNS(argreduce);
EXEC_OP_FNS(softmax);
EXEC_OP_FNS(linear);
EXEC_OP_FNS(matmul);
/* A planned matmul (linalg.c): out[b] = op(x[b]) . op(y[b]) for b < batch, (m, k) . (k, n), op a
 * transpose where tx / ty say; x and y broadcast over the batch dims bshape (strides in whole
 * matrices). */
typedef struct exec_mm_plan {
  int tx, ty, brank;
  int64_t m, n, k, batch;
  int64_t bshape[MR_MAX_RANK], xstr[MR_MAX_RANK], ystr[MR_MAX_RANK];
} exec_mm_plan;
/* Rows of x at or above which matmul runs through the prefill micro-kernel rather than one
 * matrix-vector product per row (decode). */
#define EXEC_MATMUL_GEMM_ROWS 8
/* Element offsets of batch b's matrices in x and y. */
void exec_matmul_batch(const exec_mm_plan *p, int64_t b, int64_t *xoff, int64_t *yoff);
/* The columns of a (m rows, lda apart) up to the last one nonzero in some row. */
int64_t exec_used_cols(const float *a, int64_t m, int64_t lda);
/* Output columns of a matmul worth computing: up to the last one that some row of the mask after
 * it (exec_node.hidden_by, plan_attention.c) leaves visible; all n without a mask. */
int64_t exec_visible_cols(const exec_tensor *mask, int64_t n);
/* Run the decode attention that matmul n holds (exec_node.attention; attention_decode.c). */
void exec_attention_decode(const exec_node *n);
EXEC_OP_FNS(conv);
/* Whether n (a conv) runs as a decode product: 1x1, one position, batch 1, one group, its weights
 * read by the kernels as *m (plan_gemv.c groups such products). */
int exec_conv_decode_rows(const exec_node *n, exec_wmat *m);
/* Decode products (decode.c): out[i] = m[i] . x + bias[i] (bias[i] may be NULL) for count <=
 * EXEC_GEMV_GROUP matrices of x's length, in one job of n's pool; out[i] for i > 0 are rounded to
 * fp16 when they are fp16 (steps fused into n). */
void exec_decode_products(const exec_node *n, const float *x, int count, const exec_wmat *m, exec_tensor *const *out,
                          const exec_tensor *const *bias);
EXEC_OP_FNS(conv_transpose);
EXEC_OP_FNS(layer_norm);
EXEC_OP_FNS(batch_norm);
EXEC_OP_FNS(instance_norm);
EXEC_OP_FNS(l2_norm);
EXEC_OP_FNS(reshape);     /* reshape, expand_dims, squeeze, flatten2d, identity */
EXEC_OP_FNS(transpose);
EXEC_OP_FNS(shape);
EXEC_OP_FNS(concat);
EXEC_OP_FNS(split);
EXEC_OP_FNS(stack);
EXEC_OP_FNS(tile);
EXEC_OP_FNS(pad);
EXEC_OP_FNS(slice_by_index);
EXEC_OP_FNS(slice_by_size);
EXEC_OP_FNS(slice_update);
EXEC_OP_FNS(gather);
EXEC_OP_FNS(gather_along_axis);
EXEC_OP_FNS(scatter);
EXEC_OP_FNS(scatter_along_axis);
EXEC_OP_FNS(one_hot);
EXEC_OP_FNS(select);
EXEC_OP_FNS(band_part);
EXEC_OP_FNS(range_1d);
EXEC_OP_FNS(fill);
EXEC_OP_FNS(fill_like);
EXEC_OP_FNS(cast);
EXEC_OP_FNS(topk);
EXEC_OP_FNS(argsort);
EXEC_OP_FNS(cumsum);
EXEC_OP_FNS(lstm);
EXEC_OP_FNS(sdpa);

size_t exec_linear_scratch(const exec_node *n);
size_t exec_matmul_scratch(const exec_node *n);
size_t exec_conv_scratch(const exec_node *n);
size_t exec_conv_transpose_scratch(const exec_node *n);
size_t exec_sort_scratch(const exec_node *n);
size_t exec_lstm_scratch(const exec_node *n);
size_t exec_sdpa_scratch(const exec_node *n);

/* Plan data: zeroed n->arena memory, or NULL after an out-of-memory error. */
void *exec_priv(exec_node *n, size_t size, mr_error *err);

/* Reduction geometry (reduce.c): x's dims split into kept dims and reduced dims (in the order
 * given, which layer_norm's gamma layout follows). */
typedef struct exec_red_geom {
  int nk, nr;
  int64_t kshape[MR_MAX_RANK], kstride[MR_MAX_RANK]; /* kept dims and their strides in x */
  int64_t rshape[MR_MAX_RANK], rstride[MR_MAX_RANK]; /* reduced dims and their strides in x */
  int64_t kcount, rcount;
  uint8_t reduced[MR_MAX_RANK];                      /* per dim of x */
} exec_red_geom;
/* axes: count values (negative allowed), or count < 0 for all dims. Errors on a bad or repeated
 * axis, naming the param `pname`. */
int exec_red_geom_init(const exec_node *n, const exec_tensor *x, const int64_t *axes, int count,
                       exec_red_geom *g, mr_error *err);
/* Offset in x of kept element k, and of reduced element r relative to it. */
int64_t exec_red_kept(const exec_red_geom *g, int64_t k);
int64_t exec_red_item(const exec_red_geom *g, int64_t r);

/* Whether a planned slice_by_index/slice_by_size node takes a fixed, contiguous run of its x (so its
 * output could be a view of x): 1 with *base = the run's first element, else 0. */
int exec_slice_contiguous(const exec_node *n, int64_t *base);

/* Row-major strides (in elements) of a shape. */
void exec_strides(int rank, const int64_t *shape, int64_t *strides);

/* Copy a strided n-d block (rank <= 2 * MR_MAX_RANK): the element at coordinates c (of shape) moves
 * from src[sum c_i * sstr_i] to dst[sum c_i * dstr_i]; esize is 1, 2 or 4 bytes. */
void exec_copy_strided(size_t esize, int rank, const int64_t *shape, const void *src,
                       const int64_t *sstr, void *dst, const int64_t *dstr);
/* The same between two storages: equal ones, or EXEC_F16 <-> EXEC_F32 (converting; to fp16 rounds
 * to nearest even). */
void exec_copy_strided_as(exec_storage from, exec_storage to, int rank, const int64_t *shape, const void *src,
                          const int64_t *sstr, void *dst, const int64_t *dstr);
/* The same, split between the threads of n's pool along the first dim longer than 1 (the rows it
 * writes are disjoint). */
void exec_copy_strided_par(const exec_node *n, exec_storage from, exec_storage to, int rank, const int64_t *shape,
                           const void *src, const int64_t *sstr, void *dst, const int64_t *dstr);

/* Element i of a numeric tensor as double (F32, I32, U8 storage). */
double exec_get(const exec_tensor *t, int64_t i);
/* Store v into element i of a numeric tensor (I32: truncated toward zero and wrapped modulo 2^32;
 * NaN and +-inf give 0; U8: v != 0). */
void exec_put(exec_tensor *t, int64_t i, double v);

/* Integers of a (const or run-time) int tensor, any rank, flattened: at most max; returns the
 * count or -1 when there are more than max or the storage is not integer. */
int exec_read_ints(const exec_tensor *t, int64_t *out, int max);

/* model.mil spelling of a dtype ("fp16"). */
const char *exec_dtype_name(mil_dtype t);

/* Errors shared by several ops. */
int exec_err_storage(const exec_node *n, mr_error *err, const char *what, const exec_tensor *t);
int exec_need(const exec_node *n, int i, mr_error *err); /* required param i is present */
/* Output i must have the same storage as tensor t (data-movement ops). */
int exec_same_storage(const exec_node *n, int i, const exec_tensor *t, mr_error *err);
/* plan() of an op whose output shape depends on run-time params: keep the declared shape (and set
 * its count when every dim is known). */
int exec_keep_declared(const exec_node *n, int i, mr_error *err);
/* At run time: the shape computed from run-time params must equal output i's allocated shape. */
int exec_check_run_shape(const exec_node *n, int i, int rank, const int64_t *shape, mr_error *err);

/* Element strides of t (rank <= ro) broadcast to the output shape oshape (rank ro): 0 along the
 * dims where t has size 1 and the output does not. */
void exec_broadcast_strides(const exec_tensor *t, int ro, const int64_t *oshape, int64_t *st);

#endif
