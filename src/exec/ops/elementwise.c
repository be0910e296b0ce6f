/* elementwise.c — elementwise binary ops with NumPy broadcasting (arithmetic, comparisons,
 * logical) and elementwise unary ops and activations (docs/formats.md §4.3, §4.4).
 * Float tensors take a fast path with one tight loop per op; integer arithmetic stays integer
 * (int64 then wrapped to int32), comparisons and logical ops go through a generic per-element path
 * (they are small: masks and positions). */
#include <math.h>
#include <string.h>

#include "exec/kernels/kernels.h"
#include "exec/ops/ops.h"


/* Broadcast plan: the output shape with adjacent dims merged where both inputs allow it, and
 * each input's stride per merged dim (0 along a broadcast dim). */
typedef struct bin_plan {
  int op, rank;
  int64_t shape[MR_MAX_RANK], sa[MR_MAX_RANK], sb[MR_MAX_RANK];
} bin_plan;

/* Merge dim i into i+1 when both inputs walk them as one contiguous dim; drop size-1 dims. */
static void collapse(bin_plan *p) {
  int r = 0;
  for (int i = 0; i < p->rank; i++) {
    if (p->shape[i] == 1) continue;
    if (r > 0 && p->sa[r - 1] == p->sa[i] * p->shape[i] && p->sb[r - 1] == p->sb[i] * p->shape[i]) {
      p->shape[r - 1] *= p->shape[i];
      p->sa[r - 1] = p->sa[i], p->sb[r - 1] = p->sb[i];
      continue;
    }
    p->shape[r] = p->shape[i], p->sa[r] = p->sa[i], p->sb[r] = p->sb[i];
    r++;
  }
  if (r == 0) p->shape[0] = 1, p->sa[0] = p->sb[0] = 0, r = 1;
  p->rank = r;
}

int exec_binary_plan(exec_node *n, mr_error *err) {
  const exec_tensor *a = exec_in(n, P_binary_x), *b = exec_in(n, P_binary_y);
  int rc = exec_need(n, P_binary_x, err);
  if (rc || (rc = exec_need(n, P_binary_y, err))) return rc;
  int op = n->def->variant;
  exec_storage os = n->out[0]->storage;
  if (op >= B_AND) {
    if (a->storage != EXEC_U8 || b->storage != EXEC_U8 || os != EXEC_U8)
      return exec_node_err(n, err, MR_ESHAPE, "inputs and output must be bool, got %s and %s -> %s",
                           exec_dtype_name(a->dtype), exec_dtype_name(b->dtype), exec_dtype_name(n->out[0]->dtype));
  } else {
    if (a->storage != EXEC_F32 && a->storage != EXEC_I32) return exec_err_storage(n, err, "x", a);
    if (b->storage != EXEC_F32 && b->storage != EXEC_I32) return exec_err_storage(n, err, "y", b);
    if (op >= B_EQ && os != EXEC_U8)
      return exec_node_err(n, err, MR_ESHAPE, "output must be bool, declared %s", exec_dtype_name(n->out[0]->dtype));
    if (op < B_EQ && os != EXEC_F32 && os != EXEC_I32)
      return exec_node_err(n, err, MR_ESHAPE, "output must be a number, declared %s", exec_dtype_name(n->out[0]->dtype));
  }
  bin_plan *p = exec_priv(n, sizeof *p, err);
  if (!p) return err->code;
  p->op = op;
  int64_t shape[MR_MAX_RANK];
  int r;
  if ((rc = exec_broadcast(n, a->rank, a->shape, b->rank, b->shape, &r, shape, err))) return rc;
  if ((rc = exec_set_out_shape(n, 0, r, shape, err))) return rc;
  p->rank = r;
  memcpy(p->shape, shape, sizeof shape);
  exec_broadcast_strides(a, r, shape, p->sa);
  exec_broadcast_strides(b, r, shape, p->sb);
  collapse(p);
  return MR_OK;
}

/* Python's float %: the result has the sign of the divisor. */
static inline float pymod(float a, float b) {
  float r = fmodf(a, b);
  if (r != 0 && ((r < 0) != (b < 0))) r += b;
  return r;
}

#define BLOOP(expr)                                                                       \
  do {                                                                                    \
    if (sa == 1 && sb == 1)                                                               \
      for (int64_t i = 0; i < len; i++) { float x = a[i], y = b[i]; o[i] = (expr); }      \
    else                                                                                  \
      for (int64_t i = 0; i < len; i++) { float x = a[i * sa], y = b[i * sb]; o[i] = (expr); } \
  } while (0)

_Static_assert((int)B_ADD == (int)EXEC_BIN_ADD && (int)B_SUB == (int)EXEC_BIN_SUB && (int)B_MUL == (int)EXEC_BIN_MUL &&
                   (int)B_DIV == (int)EXEC_BIN_DIV,
               "the kernel table's binary ops are the first four");

static void bin_f32(int op, const float *a, int64_t sa, const float *b, int64_t sb, float *o, int64_t len) {
  if (op <= B_DIV && sa <= 1 && sb <= 1) { /* arithmetic on rows or scalars: the SIMD kernels */
    exec_kernels()->binary(op, a, sa, b, sb, o, len);
    return;
  }
  switch (op) {
  case B_ADD: BLOOP(x + y); break;
  case B_SUB: BLOOP(x - y); break;
  case B_MUL: BLOOP(x * y); break;
  case B_DIV: BLOOP(x / y); break;
  case B_FLOORDIV: BLOOP(floorf(x / y)); break;
  case B_MOD: BLOOP(pymod(x, y)); break;
  case B_POW: BLOOP(powf(x, y)); break;
  case B_MAX: BLOOP(x > y || isnan(x) ? x : y); break;
  case B_MIN: BLOOP(x < y || isnan(x) ? x : y); break;
  default: break;
  }
}

static int64_t ifloordiv(int64_t x, int64_t y) {
  if (y == 0) return 0; /* undefined in MIL; 0 rather than a trap */
  int64_t q = x / y;
  return (x % y != 0 && ((x < 0) != (y < 0))) ? q - 1 : q;
}

static double bin_generic(int op, double x, double y, int ints) {
  switch (op) {
  case B_ADD: return x + y;
  case B_SUB: return x - y;
  case B_MUL: return ints ? (double)(int32_t)(uint32_t)((uint64_t)(int64_t)x * (uint64_t)(int64_t)y) : x * y;
  case B_DIV: return x / y;
  case B_FLOORDIV: return ints ? (double)ifloordiv((int64_t)x, (int64_t)y) : floor(x / y);
  case B_MOD: return ints ? (y == 0 ? 0 : x - (double)ifloordiv((int64_t)x, (int64_t)y) * y) : (double)pymod((float)x, (float)y);
  case B_POW: return pow(x, y);
  case B_MAX: return x > y ? x : y;
  case B_MIN: return x < y ? x : y;
  case B_EQ: return x == y;
  case B_NE: return x != y;
  case B_GT: return x > y;
  case B_GE: return x >= y;
  case B_LT: return x < y;
  case B_LE: return x <= y;
  case B_AND: return (x != 0) && (y != 0);
  case B_OR: return (x != 0) || (y != 0);
  default: return (x != 0) != (y != 0);
  }
}

/* Rows [lo, hi) of the output (its last dim), each from its broadcast rows of a and b. */
static void binary_part(const exec_node *n, void *ctx, int ith, int nth) {
  const bin_plan *p = n->priv;
  const exec_tensor *a = exec_in(n, P_binary_x), *b = exec_in(n, P_binary_y);
  exec_tensor *o = n->out[0];
  int fast = p->op < B_EQ && a->storage == EXEC_F32 && b->storage == EXEC_F32 && o->storage == EXEC_F32;
  int ints = o->storage == EXEC_I32, r = p->rank;
  int64_t len = p->shape[r - 1], sa = p->sa[r - 1], sb = p->sb[r - 1], lo, hi;
  int64_t c[MR_MAX_RANK] = {0}, ia = 0, ib = 0;
  (void)ctx;
  exec_split(o->count / len, 1, ith, nth, &lo, &hi);
  for (int64_t j = r - 2, rem = lo; j >= 0; j--) { /* the odometer at row lo */
    c[j] = rem % p->shape[j], rem /= p->shape[j];
    ia += c[j] * p->sa[j], ib += c[j] * p->sb[j];
  }
  for (int64_t off = lo * len; off < hi * len; off += len) {
    if (fast) {
      bin_f32(p->op, exec_f32(a) + ia, sa, exec_f32(b) + ib, sb, exec_f32(o) + off, len);
    } else {
      for (int64_t i = 0; i < len; i++)
        exec_put(o, off + i, bin_generic(p->op, exec_get(a, ia + i * sa), exec_get(b, ib + i * sb), ints));
    }
    for (int j = r - 2; j >= 0; j--) {
      ia += p->sa[j], ib += p->sb[j];
      if (++c[j] < p->shape[j]) break;
      ia -= p->sa[j] * p->shape[j], ib -= p->sb[j] * p->shape[j];
      c[j] = 0;
    }
  }
}

int exec_binary_run(exec_node *n, mr_error *err) {
  (void)err;
  if (n->out[0]->count == 0) return MR_OK;
  exec_parallel(n, n->out[0]->count, binary_part, NULL);
  return MR_OK;
}

/* ---- unary ------------------------------------------------------------------------------ */


typedef struct un_plan {
  int op;
  float alpha, beta, eps;
  int64_t channels, inner; /* prelu: alpha[c] for c = (i / inner) % channels */
} un_plan;

/* Default alpha/beta/epsilon per op; NAN marks a required value. */
static void un_defaults(int op, double *alpha, double *beta, double *eps) {
  *alpha = NAN, *beta = NAN, *eps = 0;
  switch (op) {
  case U_RSQRT: *eps = 1e-12; break;
  case U_INVERSE: *eps = 1e-4; break;
  case U_LOG: *eps = 1e-45; break;
  case U_LEAKY: *alpha = 0.01; break;
  case U_ELU: case U_THRELU: *alpha = 1.0; break;
  case U_LINEAR: *beta = 0; break;
  case U_SCALED_TANH: *alpha = 1, *beta = 1; break;
  case U_SIGHARD: *alpha = 0.2, *beta = 0.5; break;
  default: break;
  }
}

static int un_params(exec_node *n, un_plan *p, mr_error *err) {
  double alpha, beta, eps;
  un_defaults(p->op, &alpha, &beta, &eps);
  int rc = exec_param_float(n, P_unary_epsilon, eps, &eps, err);
  if (!rc && p->op != U_PRELU) rc = exec_param_float(n, P_unary_alpha, alpha, &alpha, err);
  if (!rc) rc = exec_param_float(n, P_unary_beta, beta, &beta, err);
  if (rc) return rc;
  if (((n->def->accepts & EXEC_PBIT(unary, alpha)) && p->op != U_PRELU && isnan(alpha)) ||
      ((n->def->accepts & EXEC_PBIT(unary, beta)) && isnan(beta)))
    return exec_node_err(n, err, MR_EINVAL, "missing required parameter '%s'", isnan(alpha) ? "alpha" : "beta");
  if (p->op == U_CLIP && !(alpha <= beta))
    return exec_node_err(n, err, MR_EINVAL, "clip needs alpha <= beta, got %g and %g", alpha, beta);
  p->alpha = (float)alpha, p->beta = (float)beta, p->eps = (float)eps;
  if (p->op == U_GELU) {
    const char *mode;
    if ((rc = exec_param_str(n, P_unary_mode, "EXACT", &mode, err))) return rc;
    if (strcmp(mode, "TANH_APPROXIMATION") == 0) p->op = U_GELU_TANH;
    else if (strcmp(mode, "SIGMOID_APPROXIMATION") == 0) p->op = U_GELU_SIGMOID;
    else if (strcmp(mode, "EXACT") != 0)
      return exec_node_err(n, err, MR_EINVAL, "unknown gelu mode '%s'", mode);
  }
  return MR_OK;
}

static int prelu_plan(exec_node *n, un_plan *p, mr_error *err) {
  const exec_tensor *x = exec_in(n, P_unary_x), *al = exec_in(n, P_unary_alpha);
  if (!al) return exec_node_err(n, err, MR_EINVAL, "missing required parameter 'alpha'");
  if (x->rank < 2 || x->storage != EXEC_F32 || al->storage != EXEC_F32 || al->rank != 1 || al->shape[0] != x->shape[1]) {
    char sa[96], sx[96];
    return exec_node_err(n, err, MR_ESHAPE, "alpha %s must have one value per channel of x %s",
                         exec_shape_str(al->rank, al->shape, sa, sizeof sa),
                         exec_shape_str(x->rank, x->shape, sx, sizeof sx));
  }
  p->channels = x->shape[1];
  p->inner = 1;
  for (int i = 2; i < x->rank; i++) p->inner *= x->shape[i];
  return MR_OK;
}

int exec_unary_plan(exec_node *n, mr_error *err) {
  int rc = exec_need(n, P_unary_x, err);
  if (rc) return rc;
  const exec_tensor *x = exec_in(n, P_unary_x);
  un_plan *p = exec_priv(n, sizeof *p, err);
  if (!p) return err->code;
  p->op = n->def->variant;
  if (p->op == U_NOT) {
    if (x->storage != EXEC_U8 || n->out[0]->storage != EXEC_U8)
      return exec_node_err(n, err, MR_ESHAPE, "input and output must be bool, got %s -> %s",
                           exec_dtype_name(x->dtype), exec_dtype_name(n->out[0]->dtype));
  } else if ((x->storage != EXEC_F32 && x->storage != EXEC_I32) ||
             (n->out[0]->storage != EXEC_F32 && n->out[0]->storage != EXEC_I32)) {
    return exec_node_err(n, err, MR_ESHAPE, "input and output must be numbers, got %s -> %s",
                         exec_dtype_name(x->dtype), exec_dtype_name(n->out[0]->dtype));
  }
  if ((rc = un_params(n, p, err))) return rc;
  if (p->op == U_PRELU && (rc = prelu_plan(n, p, err))) return rc;
  return exec_set_out_shape(n, 0, x->rank, x->shape, err);
}

static inline float sigm(float v) { return 1.0f / (1.0f + expf(-v)); }
static inline float softplus(float v) { return v > 0 ? v + log1pf(expf(-v)) : log1pf(expf(v)); }

#define ULOOP(expr)                                              \
  for (int64_t i = 0; i < len; i++) {                            \
    float v = x[i];                                              \
    o[i] = (expr);                                               \
  }                                                              \
  break

static void un_f32(const un_plan *p, const float *x, float *o, int64_t len, const float *prelu) {
  const float al = p->alpha, be = p->beta, eps = p->eps;
  switch (p->op) {
  case U_SQRT: ULOOP(sqrtf(v));
  case U_EXP: ULOOP(expf(v));
  case U_EXP2: ULOOP(exp2f(v));
  case U_FLOOR: ULOOP(floorf(v));
  case U_CEIL: ULOOP(ceilf(v));
  case U_ROUND: ULOOP(nearbyintf(v));
  case U_SIGN: ULOOP(v > 0 ? 1.0f : v < 0 ? -1.0f : v);
  case U_ABS: ULOOP(fabsf(v));
  case U_SQUARE: ULOOP(v * v);
  case U_SIN: ULOOP(sinf(v));
  case U_COS: ULOOP(cosf(v));
  case U_TAN: ULOOP(tanf(v));
  case U_TANH: ULOOP(tanhf(v));
  case U_SINH: ULOOP(sinhf(v));
  case U_COSH: ULOOP(coshf(v));
  case U_ASIN: ULOOP(asinf(v));
  case U_ACOS: ULOOP(acosf(v));
  case U_ATAN: ULOOP(atanf(v));
  case U_ATANH: ULOOP(atanhf(v));
  case U_ERF: ULOOP(erff(v));
  case U_RELU: ULOOP(v > 0 ? v : 0.0f);
  case U_RELU6: ULOOP(v < 0 ? 0.0f : v > 6 ? 6.0f : v);
  case U_SIGMOID: ULOOP(sigm(v));
  case U_SILU:
    exec_kernels()->silu(x, o, len); /* the FFN's activation: vector exp */
    break;
  case U_SOFTSIGN: ULOOP(v / (1 + fabsf(v)));
  case U_SOFTPLUS: ULOOP(softplus(v));
  case U_RSQRT: ULOOP(1.0f / sqrtf(v + eps));
  case U_INVERSE: ULOOP(1.0f / (v + eps));
  case U_LOG: ULOOP(logf(v + eps));
  case U_THRESHOLD: ULOOP(v > al ? v : al);
  case U_LEAKY: ULOOP(v >= 0 ? v : al * v);
  case U_ELU: ULOOP(v > 0 ? v : al * expm1f(v));
  case U_THRELU: ULOOP(v > al ? v : 0.0f);
  case U_PRELU: {
    int64_t inner = p->inner, ch = p->channels;
    for (int64_t i = 0; i < len; i++) o[i] = x[i] >= 0 ? x[i] : prelu[(i / inner) % ch] * x[i];
    break;
  }
  case U_CLIP: ULOOP(v < al ? al : v > be ? be : v);
  case U_CLAMPED: ULOOP(fminf(be, v >= 0 ? v : al * v));
  case U_LINEAR: ULOOP(al * v + be);
  case U_SCALED_TANH: ULOOP(al * tanhf(be * v));
  case U_SIGHARD: ULOOP(fminf(fmaxf(al * v + be, 0.0f), 1.0f));
  case U_GELU: ULOOP(0.5f * v * (1.0f + erff(v * 0.70710678118654752f)));
  case U_GELU_TANH: ULOOP(0.5f * v * (1.0f + tanhf(0.79788456080286536f * (v + 0.044715f * v * v * v))));
  case U_GELU_SIGMOID: ULOOP(v * sigm(1.702f * v));
  default: break;
  }
}

/* Integer inputs: the ops that are exact on integers stay integer; others go through float. */
static double un_int(const un_plan *p, double v) {
  switch (p->op) {
  case U_ABS: return fabs(v);
  case U_SIGN: return v > 0 ? 1 : v < 0 ? -1 : 0;
  case U_SQUARE: return (double)(int32_t)(uint32_t)((uint64_t)(int64_t)v * (uint64_t)(int64_t)v);
  case U_RELU: return v > 0 ? v : 0;
  case U_THRESHOLD: return v > p->alpha ? v : p->alpha;
  case U_CLIP: return v < p->alpha ? p->alpha : v > p->beta ? p->beta : v;
  case U_FLOOR: case U_CEIL: case U_ROUND: return v;
  default: {
    float f = (float)v, r;
    un_f32(p, &f, &r, 1, NULL);
    return r;
  }
  }
}

/* Elements [lo, hi) of a float unary op other than prelu (whose alpha depends on the index). */
static void unary_part(const exec_node *n, void *ctx, int ith, int nth) {
  int64_t lo, hi;
  (void)ctx;
  exec_split(n->out[0]->count, 16, ith, nth, &lo, &hi);
  un_f32(n->priv, exec_f32(exec_in(n, P_unary_x)) + lo, exec_f32(n->out[0]) + lo, hi - lo, NULL);
}

int exec_unary_run(exec_node *n, mr_error *err) {
  const un_plan *p = n->priv;
  const exec_tensor *x = exec_in(n, P_unary_x);
  exec_tensor *o = n->out[0];
  if (p->op == U_NOT) {
    for (int64_t i = 0; i < o->count; i++) exec_u8(o)[i] = !exec_u8(x)[i];
  } else if (x->storage == EXEC_F32 && o->storage == EXEC_F32 && p->op != U_PRELU) {
    exec_parallel(n, 8 * o->count, unary_part, NULL); /* work: a transcendental ~ 8 multiply-adds */
  } else if (x->storage == EXEC_F32 && o->storage == EXEC_F32) {
    un_f32(p, exec_f32(x), exec_f32(o), o->count, exec_f32(exec_in(n, P_unary_alpha)));
  } else {
    for (int64_t i = 0; i < o->count; i++) exec_put(o, i, un_int(p, exec_get(x, i)));
  }
  return MR_OK;
}
