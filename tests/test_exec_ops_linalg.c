/* test_exec_ops_linalg.c — linear, matmul and conv against float64 references written here, with
 * F32, packed fp16 and packed 4-bit LUT weights. Tolerance: 1e-5 * (1 + sum |a_i b_i|) per output
 * (fp32 accumulation of up to ~100 products). */
#include <math.h>

#include "exec_ops_util.h"
#include "harness.h"

enum { W_F32, W_F16, W_LUT };

static exec_tensor *weight(tnode *t, int kind, int rank, const int64_t *shape, float *vals) {
  int64_t count = 1;
  for (int i = 0; i < rank; i++) count *= shape[i];
  for (int64_t i = 0; i < count; i++) vals[i] = tu_rand();
  if (kind == W_F16) return tt_packed_f16(t, rank, shape, vals);
  if (kind == W_LUT) return tt_packed_lut4(t, rank, shape, vals);
  return tt_f32(t, rank, shape, vals);
}

static void check_linear(int kind, int xr, const int64_t *xs, int64_t dout, int bias) {
  tnode t;
  tn_init(&t, "linear", 1);
  int64_t din = xs[xr - 1];
  exec_tensor *x = tt_new(&t, MIL_FP32, xr, xs);
  tu_fill(x);
  float w[4096], b[64];
  tn_in(&t, "x", x);
  tn_in(&t, "weight", weight(&t, kind, 2, SH(dout, din), w));
  for (int64_t o = 0; o < dout; o++) b[o] = bias ? tu_rand() : 0;
  if (bias) tn_in(&t, "bias", tt_f32(&t, 1, SH(dout), b));
  int64_t os[MR_MAX_RANK];
  memcpy(os, xs, (size_t)xr * sizeof *os);
  os[xr - 1] = dout;
  exec_tensor *o = tn_out(&t, 0, MIL_FP32, xr, os);
  int rc = tn_run(&t);
  CHECK_MSG(rc == 0, "%s", t.err.msg);
  int64_t m = x->count / din;
  for (int64_t r = 0; rc == 0 && r < m; r++)
    for (int64_t j = 0; j < dout; j++) {
      double want = b[j], mag = 0;
      for (int64_t k = 0; k < din; k++) {
        want += (double)exec_f32(x)[r * din + k] * w[j * din + k];
        mag += fabs((double)exec_f32(x)[r * din + k] * w[j * din + k]);
      }
      CHECK_NEAR(exec_f32(o)[r * dout + j], want, 1e-5 * (1 + mag));
    }
  tn_free(&t);
}

static void test_linear(void) {
  for (int kind = 0; kind < 3; kind++) {
    check_linear(kind, 1, SH(37), 5, 1);
    check_linear(kind, 2, SH(7, 37), 9, 1); /* 7 rows: the 4-row block plus leftovers */
    check_linear(kind, 3, SH(2, 3, 16), 4, 0);
    check_linear(kind, 2, SH(0, 8), 4, 1);
    check_linear(kind, 3, SH(2, 9, 37), 7, 1); /* 18 rows: the blocked prefill path */
    check_linear(kind, 2, SH(8, 5), 4, 0);
  }
}

/* Reference matmul on the logical (untransposed) matrices, with batch broadcast. */
static void check_matmul(int xr, const int64_t *xs, int yr, const int64_t *ys, int tx, int ty, int xkind, int ykind) {
  tnode t;
  tn_init(&t, "matmul", 1);
  float xv[2048], yv[2048];
  int64_t xst[MR_MAX_RANK], yst[MR_MAX_RANK]; /* stored shapes: the last two dims swapped when transposed */
  memcpy(xst, xs, (size_t)xr * 8);
  memcpy(yst, ys, (size_t)yr * 8);
  if (tx && xr > 1) xst[xr - 2] = xs[xr - 1], xst[xr - 1] = xs[xr - 2];
  if (ty && yr > 1) yst[yr - 2] = ys[yr - 1], yst[yr - 1] = ys[yr - 2];
  xs = xst, ys = yst;
  exec_tensor *x = weight(&t, xkind, xr, xs, xv), *y = weight(&t, ykind, yr, ys, yv);
  tn_in(&t, "x", x);
  tn_in(&t, "y", y);
  if (tx) tn_in(&t, "transpose_x", tt_sb(&t, 1));
  if (ty) tn_in(&t, "transpose_y", tt_sb(&t, 1));
  int64_t X[MR_MAX_RANK], Y[MR_MAX_RANK];
  int rx = xr < 2 ? 2 : xr, ry = yr < 2 ? 2 : yr;
  if (xr == 1) X[0] = 1, X[1] = xs[0];
  else memcpy(X, xs, (size_t)xr * 8);
  if (yr == 1) Y[0] = ys[0], Y[1] = 1;
  else memcpy(Y, ys, (size_t)yr * 8);
  int64_t M = tx && xr > 1 ? X[rx - 1] : X[rx - 2], K = tx && xr > 1 ? X[rx - 2] : X[rx - 1];
  int64_t N = ty && yr > 1 ? Y[ry - 2] : Y[ry - 1];
  int br = (rx > ry ? rx : ry) - 2;
  int64_t os[MR_MAX_RANK], bcount = 1;
  for (int i = 0; i < br; i++) {
    int ix = i - (br - (rx - 2)), iy = i - (br - (ry - 2));
    int64_t a = ix >= 0 ? X[ix] : 1, b = iy >= 0 ? Y[iy] : 1;
    os[i] = a == 1 ? b : a;
    bcount *= os[i];
  }
  int orank = br;
  if (xr > 1) os[orank++] = M;
  if (yr > 1) os[orank++] = N;
  exec_tensor *o = tn_out(&t, 0, MIL_FP32, orank, os);
  int rc = tn_run(&t);
  CHECK_MSG(rc == 0, "%s", t.err.msg);
  for (int64_t bi = 0; rc == 0 && bi < bcount; bi++) {
    int64_t c[MR_MAX_RANK];
    tu_unravel(bi, br, os, c);
    int64_t xoff = tu_bindex(c, br, rx - 2, X) * X[rx - 2] * X[rx - 1];
    int64_t yoff = tu_bindex(c, br, ry - 2, Y) * Y[ry - 2] * Y[ry - 1];
    for (int64_t i = 0; i < M; i++)
      for (int64_t j = 0; j < N; j++) {
        double want = 0, mag = 0;
        for (int64_t k = 0; k < K; k++) {
          double a = xv[xoff + (tx && xr > 1 ? k * M + i : i * K + k)];
          double b = yv[yoff + (ty && yr > 1 ? j * K + k : k * N + j)];
          want += a * b, mag += fabs(a * b);
        }
        CHECK_NEAR(exec_f32(o)[(bi * M + i) * N + j], want, 1e-5 * (1 + mag));
      }
  }
  tn_free(&t);
}

static void test_matmul(void) {
  for (int kx = 0; kx < 3; kx++)
    for (int ky = 0; ky < 3; ky++)
      for (int tx = 0; tx < 2; tx++)
        for (int ty = 0; ty < 2; ty++) {
          check_matmul(2, SH(3, 4), 2, SH(4, 5), tx, ty, kx, ky);
          check_matmul(4, SH(2, 1, 5, 6), 3, SH(3, 6, 7), tx, ty, kx, ky); /* batch broadcast */
          check_matmul(3, SH(2, 9, 17), 3, SH(2, 17, 11), tx, ty, kx, ky); /* >= 8 rows: micro-kernel */
        }
  check_matmul(1, SH(6), 2, SH(6, 3), 0, 0, W_F32, W_F32);
  check_matmul(3, SH(2, 4, 6), 1, SH(6), 0, 0, W_F32, W_F32);
  check_matmul(1, SH(6), 1, SH(6), 0, 0, W_F32, W_F16); /* rank 0 result */
  check_matmul(2, SH(1, 33), 2, SH(33, 9), 0, 1, W_F32, W_LUT); /* decode: one row */
  check_matmul(2, SH(0, 4), 2, SH(4, 5), 0, 0, W_F32, W_F32);
}

typedef struct conv_case {
  int ns;
  int64_t n, cin, cout, groups, in[3], k[3], st[3], dl[3];
  const char *pad_type;
  int64_t pad[6];
} conv_case;

/* Output size and before-padding per dim, computed from the spec's formulas. */
static void ref_pads(const conv_case *c, int64_t *out, int64_t *pb) {
  for (int d = 0; d < c->ns; d++) {
    int64_t eff = (c->k[d] - 1) * c->dl[d] + 1;
    if (!strcmp(c->pad_type, "custom")) {
      pb[d] = c->pad[2 * d];
      out[d] = (c->in[d] + c->pad[2 * d] + c->pad[2 * d + 1] - eff) / c->st[d] + 1;
    } else if (!strcmp(c->pad_type, "valid")) {
      pb[d] = 0;
      out[d] = (c->in[d] - eff) / c->st[d] + 1;
    } else {
      out[d] = (c->in[d] + c->st[d] - 1) / c->st[d];
      int64_t total = c->st[d] * out[d] - c->in[d] + eff - c->st[d];
      if (total < 0) total = 0;
      pb[d] = !strcmp(c->pad_type, "same") ? total / 2 : total - total / 2;
    }
  }
}

static void check_conv(const conv_case *c, int kind, int bias) {
  tnode t;
  tn_init(&t, "conv", 1);
  int ns = c->ns, rank = ns + 2;
  int64_t xs[5] = {c->n, c->cin}, ws[5] = {c->cout, c->cin / c->groups}, os[5] = {c->n, c->cout}, pb[3];
  int64_t out[3];
  ref_pads(c, out, pb);
  for (int d = 0; d < ns; d++) xs[2 + d] = c->in[d], ws[2 + d] = c->k[d], os[2 + d] = out[d];
  exec_tensor *x = tt_new(&t, MIL_FP32, rank, xs);
  tu_fill(x);
  static float w[8192];
  float b[64];
  tn_in(&t, "x", x);
  tn_in(&t, "weight", weight(&t, kind, rank, ws, w));
  for (int64_t i = 0; i < c->cout; i++) b[i] = tu_rand();
  if (bias) tn_in(&t, "bias", tt_f32(&t, 1, SH(c->cout), b));
  int32_t st[3], dl[3], pad[6];
  for (int d = 0; d < ns; d++) st[d] = (int32_t)c->st[d], dl[d] = (int32_t)c->dl[d];
  for (int d = 0; d < 2 * ns; d++) pad[d] = (int32_t)c->pad[d];
  tn_in(&t, "strides", tt_i32(&t, 1, SH(ns), st));
  tn_in(&t, "dilations", tt_i32(&t, 1, SH(ns), dl));
  tn_in(&t, "pad_type", tt_str(&t, c->pad_type));
  tn_in(&t, "pad", tt_i32(&t, 1, SH(2 * ns), pad));
  tn_in(&t, "groups", tt_si(&t, (int32_t)c->groups));
  exec_tensor *o = tn_out(&t, 0, MIL_FP32, rank, os);
  int rc = tn_run(&t);
  CHECK_MSG(rc == 0, "%s", t.err.msg);
  int64_t cin_g = c->cin / c->groups, cout_g = c->cout / c->groups;
  for (int64_t i = 0; rc == 0 && i < o->count; i++) {
    int64_t oc[5] = {0}, p[3] = {0, 0, 0}, q[3] = {0, 0, 0};
    tu_unravel(i, rank, os, oc);
    int64_t bn = oc[0], co = oc[1], g = co / cout_g, kvol = 1;
    for (int d = 0; d < ns; d++) p[d] = oc[2 + d], kvol *= c->k[d];
    double want = bias ? b[co] : 0, mag = 0;
    for (int64_t ci = 0; ci < cin_g; ci++)
      for (int64_t kk = 0; kk < kvol; kk++) {
        tu_unravel(kk, ns, c->k, q);
        int64_t xoff = bn * c->cin + g * cin_g + ci, inside = 1;
        for (int d = 0; d < ns; d++) {
          int64_t id = p[d] * c->st[d] - pb[d] + q[d] * c->dl[d];
          inside &= id >= 0 && id < c->in[d];
          xoff = xoff * c->in[d] + id;
        }
        if (!inside) continue;
        double prod = (double)exec_f32(x)[xoff] * w[(co * cin_g + ci) * kvol + kk];
        want += prod, mag += fabs(prod);
      }
    CHECK_MSG(fabs(exec_f32(o)[i] - want) <= 1e-5 * (1 + mag), "conv out[%lld] = %g, want %g", (long long)i,
              exec_f32(o)[i], want);
  }
  tn_free(&t);
}

static void test_conv(void) {
  static const conv_case cases[] = {
      {1, 1, 3, 4, 1, {10}, {3}, {1}, {1}, "valid", {0}},
      {1, 2, 4, 6, 2, {11}, {3}, {2}, {2}, "custom", {2, 1}},
      {1, 1, 4, 4, 4, {9}, {5}, {1}, {1}, "same", {0}}, /* depthwise */
      {1, 1, 2, 3, 1, {8}, {4}, {3}, {1}, "same_lower", {0}},
      {1, 1, 2, 3, 1, {8}, {4}, {3}, {1}, "same", {0}},
      {2, 1, 3, 5, 1, {6, 7}, {3, 2}, {2, 1}, {1, 2}, "custom", {1, 0, 0, 2}},
      {2, 2, 4, 4, 2, {5, 5}, {3, 3}, {1, 1}, {1, 1}, "same", {0}},
      {2, 1, 8, 6, 1, {1, 5}, {1, 1}, {1, 1}, {1, 1}, "valid", {0}},   /* 1x1 on [1, C, 1, S] */
      {2, 1, 37, 5, 1, {1, 1}, {1, 1}, {1, 1}, {1, 1}, "valid", {0}},  /* 1x1, one position */
      {2, 1, 8, 6, 2, {1, 5}, {1, 1}, {1, 1}, {1, 1}, "valid", {0}},   /* grouped 1x1 */
      {3, 1, 2, 2, 1, {3, 4, 5}, {2, 2, 3}, {1, 2, 1}, {1, 1, 2}, "same", {0}},
      {1, 1, 3, 2, 1, {4}, {4}, {1}, {1}, "valid", {0}},               /* output length 1 */
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    for (int kind = 0; kind < 3; kind++) check_conv(&cases[i], kind, kind != 1);
}

/* conv_transpose reference: y[o] = bias + sum over input i and tap k with i*s + k*d - crop = o. */
static void check_convt(int ns, const int64_t *in, const int64_t *k, const int64_t *st, const int64_t *dl,
                        const char *pad_type, const int64_t *pad, int64_t cin, int64_t cout, int64_t groups,
                        const int64_t *out_shape, int kind) {
  tnode t;
  tn_init(&t, "conv_transpose", 1);
  int rank = ns + 2;
  int64_t xs[5] = {2, cin}, ws[5] = {cin, cout / groups}, os[5] = {2, cout}, crop[3], kvol = 1, ivol = 1, ovol = 1;
  for (int d = 0; d < ns; d++) {
    int64_t full = st[d] * (in[d] - 1) + (k[d] - 1) * dl[d] + 1;
    int64_t out = !strcmp(pad_type, "same") ? st[d] * in[d] : !strcmp(pad_type, "custom") ? full - pad[2 * d] - pad[2 * d + 1] : full;
    if (out_shape) out = out_shape[2 + d];
    crop[d] = !strcmp(pad_type, "custom") ? pad[2 * d] : !strcmp(pad_type, "same") ? (full - out) / 2 : 0;
    xs[2 + d] = in[d], ws[2 + d] = k[d], os[2 + d] = out;
    kvol *= k[d], ivol *= in[d], ovol *= out;
  }
  exec_tensor *x = tt_new(&t, MIL_FP32, rank, xs);
  tu_fill(x);
  static float w[4096];
  float b[16];
  for (int64_t i = 0; i < cout; i++) b[i] = tu_rand();
  tn_in(&t, "x", x);
  tn_in(&t, "weight", weight(&t, kind, rank, ws, w));
  tn_in(&t, "bias", tt_f32(&t, 1, SH(cout), b));
  int32_t sv[3], dv[3], pv[6], ov[5];
  for (int d = 0; d < ns; d++) sv[d] = (int32_t)st[d], dv[d] = (int32_t)dl[d], pv[2 * d] = (int32_t)pad[2 * d], pv[2 * d + 1] = (int32_t)pad[2 * d + 1];
  tn_in(&t, "strides", tt_i32(&t, 1, SH(ns), sv));
  tn_in(&t, "dilations", tt_i32(&t, 1, SH(ns), dv));
  tn_in(&t, "pad_type", tt_str(&t, pad_type));
  tn_in(&t, "pad", tt_i32(&t, 1, SH(2 * ns), pv));
  tn_in(&t, "groups", tt_si(&t, (int32_t)groups));
  if (out_shape) {
    for (int d = 0; d < rank; d++) ov[d] = (int32_t)out_shape[d];
    tn_in(&t, "output_shape", tt_i32(&t, 1, SH(rank), ov));
  }
  exec_tensor *o = tn_out(&t, 0, MIL_FP32, rank, os);
  int rc = tn_run(&t);
  CHECK_MSG(rc == 0, "%s", t.err.msg);
  static double want[8192];
  int64_t cin_g = cin / groups, cout_g = cout / groups;
  for (int64_t i = 0; i < o->count; i++) want[i] = b[(i / ovol) % cout];
  for (int64_t bn = 0; bn < 2; bn++)
    for (int64_t ci = 0; ci < cin; ci++)
      for (int64_t ii = 0; ii < ivol; ii++)
        for (int64_t col = 0; col < cout_g; col++)
          for (int64_t kk = 0; kk < kvol; kk++) {
            int64_t ic[3], kc[3], oidx = 0, inside = 1;
            tu_unravel(ii, ns, in, ic);
            tu_unravel(kk, ns, k, kc);
            for (int d = 0; d < ns; d++) {
              int64_t od = ic[d] * st[d] + kc[d] * dl[d] - crop[d];
              inside &= od >= 0 && od < os[2 + d];
              oidx = oidx * os[2 + d] + od;
            }
            if (!inside) continue;
            int64_t co = (ci / cin_g) * cout_g + col;
            want[(bn * cout + co) * ovol + oidx] +=
                (double)exec_f32(x)[(bn * cin + ci) * ivol + ii] * w[(ci * cout_g + col) * kvol + kk];
          }
  for (int64_t i = 0; rc == 0 && i < o->count; i++) CHECK_NEAR(exec_f32(o)[i], want[i], 1e-5 * (1 + fabs(want[i])));
  tn_free(&t);
}

static void test_conv_transpose(void) {
  for (int kind = 0; kind < 3; kind++) {
    check_convt(1, SH(5), SH(3), SH(2), SH(1), "valid", SH(0, 0), 3, 4, 1, NULL, kind);
    check_convt(1, SH(6), SH(4), SH(2), SH(1), "same", SH(0, 0), 2, 4, 2, NULL, kind);
    check_convt(1, SH(4), SH(3), SH(3), SH(2), "custom", SH(2, 1), 4, 2, 2, NULL, kind);
    check_convt(2, SH(3, 4), SH(2, 3), SH(2, 1), SH(1, 2), "custom", SH(1, 0, 0, 2), 2, 3, 1, NULL, kind);
    check_convt(1, SH(5), SH(3), SH(2), SH(1), "valid", SH(0, 0), 3, 4, 1, SH(2, 4, 12), kind); /* output_shape */
  }
}

static void test_linalg_errors(void) {
  tnode t;
  tn_init(&t, "linear", 1);
  tn_in(&t, "x", tt_new(&t, MIL_FP32, 2, SH(2, 3)));
  tn_in(&t, "weight", tt_new(&t, MIL_FP32, 2, SH(4, 5)));
  tn_out(&t, 0, MIL_FP32, 2, SH(2, 4));
  CHECK_EQ_INT(tn_plan(&t), MR_ESHAPE);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'linear' (y0): x [2, 3] does not match weight [4, 5] (want x [..., D_in], weight [D_out, D_in])");
  tn_free(&t);

  tn_init(&t, "linear", 1);
  tn_in(&t, "x", tt_new(&t, MIL_FP32, 2, SH(2, 5)));
  tn_in(&t, "weight", tt_new(&t, MIL_FP32, 2, SH(4, 5)));
  tn_in(&t, "bias", tt_new(&t, MIL_FP32, 1, SH(3)));
  tn_out(&t, 0, MIL_FP32, 2, SH(2, 4));
  CHECK_EQ_INT(tn_plan(&t), MR_ESHAPE);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'linear' (y0): bias [3] does not match weight [4, 5]");
  tn_free(&t);

  tn_init(&t, "matmul", 1);
  tn_in(&t, "x", tt_new(&t, MIL_FP32, 3, SH(2, 3, 4)));
  tn_in(&t, "y", tt_new(&t, MIL_FP32, 2, SH(5, 6)));
  tn_out(&t, 0, MIL_FP32, 3, SH(2, 3, 6));
  CHECK_EQ_INT(tn_plan(&t), MR_ESHAPE);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'matmul' (y0): x [2, 3, 4] and y [5, 6] do not match: inner dims 4 and 5");
  tn_free(&t);

  tn_init(&t, "matmul", 1);
  tn_in(&t, "x", tt_new(&t, MIL_FP32, 3, SH(2, 3, 4)));
  tn_in(&t, "y", tt_new(&t, MIL_FP32, 3, SH(3, 4, 6)));
  tn_out(&t, 0, MIL_FP32, 3, SH(2, 3, 6));
  CHECK_EQ_INT(tn_plan(&t), MR_ESHAPE);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'matmul' (y0): shapes [2] and [3] cannot be broadcast together");
  tn_free(&t);

  tn_init(&t, "conv", 1);
  tn_in(&t, "x", tt_new(&t, MIL_FP32, 3, SH(1, 6, 8)));
  tn_in(&t, "weight", tt_new(&t, MIL_FP32, 3, SH(4, 3, 3)));
  tn_in(&t, "groups", tt_si(&t, 4));
  tn_out(&t, 0, MIL_FP32, 3, SH(1, 4, 6));
  CHECK_EQ_INT(tn_plan(&t), MR_ESHAPE);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'conv' (y0): weight [4, 3, 3] does not fit x [1, 6, 8] with groups = 4");
  tn_free(&t);

  tn_init(&t, "conv", 1);
  tn_in(&t, "x", tt_new(&t, MIL_FP32, 3, SH(1, 3, 8)));
  tn_in(&t, "weight", tt_new(&t, MIL_FP32, 3, SH(4, 3, 3)));
  tn_in(&t, "pad_type", tt_str(&t, "reflect"));
  tn_out(&t, 0, MIL_FP32, 3, SH(1, 4, 6));
  CHECK_EQ_INT(tn_plan(&t), MR_EINVAL);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'conv' (y0): unknown pad_type 'reflect'");
  tn_free(&t);

  tn_init(&t, "conv", 1);
  tn_in(&t, "x", tt_new(&t, MIL_FP32, 3, SH(1, 3, 8)));
  tn_in(&t, "weight", tt_new(&t, MIL_FP32, 3, SH(4, 3, 3)));
  tn_in(&t, "pad_type", tt_str(&t, "custom"));
  tn_in(&t, "pad", tt_i32(&t, 1, SH(1), (int32_t[]){1}));
  tn_out(&t, 0, MIL_FP32, 3, SH(1, 4, 6));
  CHECK_EQ_INT(tn_plan(&t), MR_ESHAPE);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'conv' (y0): pad_type 'custom' needs 2 pad values, got 1");
  tn_free(&t);

  tn_init(&t, "conv", 1);
  tn_in(&t, "x", tt_new(&t, MIL_FP32, 3, SH(1, 3, 2)));
  tn_in(&t, "weight", tt_new(&t, MIL_FP32, 3, SH(4, 3, 3)));
  tn_out(&t, 0, MIL_FP32, 3, SH(1, 4, -1));
  CHECK_EQ_INT(tn_plan(&t), MR_ESHAPE);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'conv' (y0): kernel extent 3 is larger than the padded input 2");
  tn_free(&t);

  tn_init(&t, "conv", 1);
  tn_in(&t, "x", tt_new(&t, MIL_FP32, 3, SH(1, 3, 8)));
  tn_in(&t, "weight", tt_new(&t, MIL_FP32, 3, SH(4, 3, 3)));
  tn_in(&t, "strides", tt_i32(&t, 1, SH(2), (int32_t[]){1, 1}));
  tn_out(&t, 0, MIL_FP32, 3, SH(1, 4, 6));
  CHECK_EQ_INT(tn_plan(&t), MR_ESHAPE);
  CHECK_EQ_STR(t.err.msg, "m.mil:7:3: op 'conv' (y0): 'strides' has 2 values for 1 spatial dims");
  tn_free(&t);
}

int main(int argc, char **argv) {
  static const th_case cases[] = {
      {"linear", test_linear},
      {"matmul", test_matmul},
      {"conv", test_conv},
      {"conv_transpose", test_conv_transpose},
      {"linalg_errors", test_linalg_errors},
      {NULL, NULL},
  };
  return th_run(cases, argc, argv);
}
