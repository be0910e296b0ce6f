/* kernels.h — the SIMD kernels that read weights in their packed form (fp16 values, 4- and 8-bit
 * LUT indices into fp16 palettes) and the fp32 prefill micro-kernel, in one table per instruction
 * set, chosen once at startup from the CPU's features (AVX-512 VBMI, AVX2+FMA+F16C, NEON, portable
 * C). $MILRUN_KERNELS=avx512|avx2|neon|portable overrides the choice; exec_kernels_select lets a
 * test force each one. Kernels never allocate and never fail; every path agrees with a float64
 * reference to fp32 rounding (tests/test_exec_kernels_paths.c states the bound). */
#ifndef EXEC_KERNELS_KERNELS_H
#define EXEC_KERNELS_KERNELS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "exec/weights.h"

typedef struct exec_kernel_table {
  const char *name;
  /* y[r] = sum_i w_r[i] * x[i] for r < rows, w_r the row at w + r * ld (bytes): fp16 values, or
   * 8-bit / 4-bit (LSB-first nibbles) indices into one palette `pal` of 256 / 16 fp16 entries. */
  void (*f32_gemv)(const float *w, int64_t ld, int64_t rows, const float *x, int64_t n, float *y); /* ld: floats */
  void (*f16_gemv)(const uint8_t *w, int64_t ld, int64_t rows, const float *x, int64_t n, float *y);
  /* y[j] += sum_r x[r] * w_r[j] for j < n, r < rows (fp16 rows as above): the transposed product,
   * as attention's probabilities times the V cache. */
  void (*f16_gemv_t)(const uint8_t *w, int64_t ld, int64_t rows, const float *x, int64_t n, float *y);
  void (*lut8_gemv)(const uint16_t *pal, const uint8_t *w, int64_t ld, int64_t rows, const float *x, int64_t n, float *y);
  void (*lut4_gemv)(const uint16_t *pal, const uint8_t *w, int64_t ld, int64_t rows, const float *x, int64_t n, float *y);
  /* n values of the forms above to fp32 (exact). */
  void (*f16_decode)(const uint8_t *src, int64_t n, float *dst);
  void (*lut8_decode)(const uint16_t *pal, const uint8_t *idx, int64_t n, float *dst);
  void (*lut4_decode)(const uint16_t *pal, const uint8_t *idx, int64_t n, float *dst);
  /* y[r * ldy + s] += sum_c w[r * ldw + c] * x[c * ldx + s] for r < nw, s < ns, c < k: the
   * prefill product of a decoded tile of weight rows with activations stored channel-major, each
   * weight element used for every position (exec_kernel_gemm_nn). */
  void (*gemm)(const float *w, int64_t ldw, int64_t nw, const float *x, int64_t ldx, int64_t ns, int64_t k,
               float *y, int64_t ldy);
  /* x[i] = the nearest fp16 value (round to nearest even, overflow to inf), bit for bit
   * util_round_f16: what the executor does to every fp16 output of an op. */
  void (*round_f16)(float *x, int64_t n);
  /* Integer LUT products (NULL in tables without them; AVX-512 VNNI has them). xq_prepare
   * quantises x (n values) once per product into xq (EXEC_XQ_BYTES(n) bytes, any alignment): int8
   * in blocks, each block scaled by its max |x| / 127 (for 4-bit rows 8 consecutive values; for
   * 8-bit rows the n / 16 values one 32-bit lane of the product meets, exec_xq_block says which,
   * with an int8 residual that leaves an error of s / 256 rather than s / 2); it returns -1 and leaves xq
   * unusable when x holds an inf or NaN. lut8_gemv_xq / lut4_gemv_xq then do what lut8_gemv /
   * lut4_gemv do, in int32 (vpdpbusd), against the palette's integer copy (exec_palq_make: planes
   * and its scale p). Error bound (tests/test_exec_kernels_paths.c): the float product's, plus
   * sum_i |w_i| * e_i + sum_i (|x_i| + e_i) * 0.51 p, s_i the scale of x_i's block and e_i x_i's
   * error, s_i / 2 (4-bit rows) or s_i / 256 (8-bit rows, which also leave out up to 128 p s_i a
   * value: x86_avx512.c says why); 0.51 p is half a palette step, and the rounding of p and of its
   * inverse. */
  int (*xq_prepare)(const float *x, int64_t n, void *xq);
  void (*lut8_gemv_xq)(const uint8_t *planes, float p, const uint8_t *w, int64_t ld, int64_t rows, const void *xq,
                       int64_t n, float *y);
  void (*lut4_gemv_xq)(const uint8_t *planes, float p, const uint8_t *w, int64_t ld, int64_t rows, const void *xq,
                       int64_t n, float *y);
  /* Row kernels of the small ops a decode step runs by the hundred, over n contiguous values:
   * y = softmax(x) = exp(x - max) / sum (a row of -inf gives NaN, as the spec says; exp(-inf) is
   * exactly 0); y = x * sigmoid(x); and layer normalisation, mean and variance summed in double in
   * eight lanes (element i in lane i mod 8, the tail first, then the lanes in order), y = (x -
   * mean) / sqrt(var + eps) * gamma + beta (gamma, beta may be NULL), computed in double: the same
   * bits on every table. exp is within 2 ulp of exp(x) (tests/test_exec_kernels_paths.c). */
  void (*softmax)(const float *x, float *y, int64_t n);
  void (*silu)(const float *x, float *y, int64_t n);
  void (*layer_norm)(const float *x, int64_t n, float eps, const float *gamma, const float *beta, float *y);
  /* o[i] = a[i * sa] op b[i * sb] for i < n, op one of EXEC_BIN_*, strides 0 (a scalar) or 1;
   * IEEE-exact, so the same bits on every table. */
  void (*binary)(int op, const float *a, int64_t sa, const float *b, int64_t sb, float *o, int64_t n);
  /* Integer LUT products for prefill (NULL where xq_prepare is): xqt_prepare quantises k channels
   * of ns positions (x[c * ldx + s], as gemm takes them) once per product into xqt
   * (EXEC_XQT_BYTES(k, ns) bytes, any alignment), to 14 bits per position in blocks of 32 channels
   * scaled by their max |x| / 8191; -1 when x holds an inf or NaN. lut_gemm_xq then adds to
   * y[r * ldy + s] (r < nr <= 4, s < ns) the product of weight row r (k indices of `bits` = 8 or
   * 4 into the palette whose integer copy is planes[r], scale p[r]) with x, in int32 (vpdpwssd)
   * on 12-bit weights P / 16 (within 16 p of the palette entry); `tile` is scratch of
   * EXEC_TILE_BYTES(k). Error bound: the float product's, plus sum_c |w_c| * s_c / 2 +
   * sum_c (|x_c| + s_c / 2) * 16 p. */
  int (*xqt_prepare)(const float *x, int64_t ldx, int64_t k, int64_t ns, void *xqt);
  void (*lut_gemm_xq)(int bits, const uint8_t *const rows[4], const uint8_t *const planes[4], const float p[4], int nr,
                      int64_t k, const void *xqt, int64_t ns, float *y, int64_t ldy, uint8_t *tile);
  /* n floats to little-endian IEEE halves, bit for bit util_f32_to_f16 (NaN stays a NaN): the
   * writes of fp16 states (the KV cache). */
  void (*f16_encode)(const float *src, int64_t n, uint8_t *dst);
} exec_kernel_table;

enum { EXEC_BIN_ADD, EXEC_BIN_SUB, EXEC_BIN_MUL, EXEC_BIN_DIV };

/* exp(x) in the SIMD row kernels: n = round(x log2 e), r = x - n ln 2 in two parts (Cody-Waite),
 * exp(r) = 1 + r + r^2 (((((P0 r + P1) r + P2) r + P3) r + P4) r + P5) (Cephes' expf), times 2^n. */
#define EXP_LOG2E 1.44269504088896341f
#define EXP_LN2_HI 0.693359375f
#define EXP_LN2_LO (-2.12194440e-4f)
#define EXP_P0 1.9875691500e-4f
#define EXP_P1 1.3981999507e-3f
#define EXP_P2 8.3334519073e-3f
#define EXP_P3 4.1665795894e-2f
#define EXP_P4 1.6666665459e-1f
#define EXP_P5 5.0000001201e-1f

/* Whether values i and j of x share a block in xq_prepare's quantisation for `bits`-bit rows. */
static inline int exec_xq_block(int bits, int64_t i, int64_t j) { return bits == 4 ? i / 8 == j / 8 : i % 64 / 4 == j % 64 / 4; }

/* Bytes of prepared activations for n values (xq_prepare): for n rounded up to 128, int8 values
 * in two layouts, the 8-bit rows' residuals, the 4-bit blocks' scales and sums (4 n), the 8-bit
 * blocks' scales and sums per 2048 values (64 bytes each), and room to align them. */
#define EXEC_XQ_BYTES(n) ((size_t)((((n) + 127) / 128) * 128) * 4 + (size_t)(((n) + 2047) / 2048 + 1) * 64 + 64)

/* Bytes of prepared prefill activations (xqt_prepare): k rounded up to 32 by ns rounded up to 16
 * int16, a float scale per block and position, room to align. */
#define EXEC_XQT_BYTES(k, ns) ((size_t)((((k) + 31) / 32) * 32) * (size_t)((((ns) + 15) / 16) * 16) * 17 / 8 + 64)

/* Scratch of lut_gemm_xq: 4 weight rows of k rounded up to 64 16-bit integers. */
#define EXEC_TILE_BYTES(k) ((size_t)((((k) + 63) / 64) * 64) * 8 + 64)

/* The integer copy of a palette of `entries` (16 or 256) fp16 values for the integer LUT
 * kernels: P_j = round(v_j / p) with p = max |v| / 32767, stored as P_j + 32768 in two unsigned
 * byte planes, planes[j] = its high byte, planes[entries + j] its low byte. Returns p, or -1 when
 * an entry is inf or NaN (the float kernels must then be used). */
float exec_palq_make(const uint16_t *pal, int entries, uint8_t *planes);

/* The table in use (selected on first call). */
const exec_kernel_table *exec_kernels(void);
/* Use the named table ("avx512", "avx2", "neon", "portable"). Returns 0, or -1 when this build or
 * CPU cannot run it (the current table is then unchanged). Not thread-safe: call between runs. */
int exec_kernels_select(const char *name);
/* Whether LUT products may use the integer kernels (default: on, unless $MILRUN_LUT_INT8=0). */
void exec_kernels_set_int8(int on);
int exec_kernels_int8(void);
/* Names of the tables this build has, NULL-terminated (available or not on this CPU). */
const char *const *exec_kernels_names(void);

/* Per instruction set; each returns NULL when it is not compiled in or the CPU lacks it. */
const exec_kernel_table *exec_kernels_portable(void);
const exec_kernel_table *exec_kernels_avx2(void);
/* x86: whether the CPU has F16C (CPUID.1:ECX bit 29). Asked through cpuid because clang 14's
 * __builtin_cpu_supports does not know "f16c". */
int exec_cpu_has_f16c(void);
/* x86 (AVX2 + FMA + F16C): the fp16 row kernel of the AVX2 table, which the AVX-512 table uses
 * too: decode streams fp16 rows from memory, and there the 512-bit form (a zmm load of x per 16
 * weights, eed3ea7 and before) left a Zen 4 core short of the memory's rate. One thread, fp16
 * model, `bench/paired_decode.py --pairs fp16:F16 -t 1` against llama.cpp: 0.84-0.86 with it,
 * 1.02-1.03 with this one. In cache this one still reads twice memory's speed (bench_kernels). */
void exec_x86_f16_gemv_256(const uint8_t *w, int64_t ld, int64_t rows, const float *x, int64_t n, float *y);
const exec_kernel_table *exec_kernels_avx512(void);
const exec_kernel_table *exec_kernels_neon(void);

/* Drivers over a weight matrix (kernels/wmat.c), with the current table: y[r - lo] = row r . x
 * for r in [lo, hi) (x has m->cols values), and elements [start, start + n) of m (row-major) to
 * fp32. Palette groups and index widths other than 4 and 8 bits are handled here. xq (NULL, or
 * EXEC_XQ_BYTES(m->cols) bytes of scratch) lets 8- and 4-bit LUT rows use the integer products
 * when the table has them and they are on (exec_kernels_set_int8). */
void exec_wmat_gemv(const exec_wmat *m, int64_t lo, int64_t hi, const float *x, float *y, void *xq);
/* The rows of one job's matrices (end to end) in one range per thread, [lo, hi) packed in an
 * atomic: its owner claims runs from lo up, a thread with nothing left of its own from another's hi
 * down. */
#define EXEC_CLAIM_MAX 64
#define EXEC_CLAIM_MATRICES 8 /* matrices one job may hold */
typedef struct exec_claims {
  _Atomic uint64_t range[EXEC_CLAIM_MAX];
  int n;
} exec_claims;
/* Split the rows of count (<= EXEC_CLAIM_MATRICES) matrices between nth threads (at most
 * EXEC_CLAIM_MAX; each has fewer than 2^31 rows). */
void exec_claims_init(exec_claims *c, const exec_wmat *const *m, int count, int nth);
/* y[j][r] = row r of m[j] . x for all rows of count matrices with the same columns (one decode
 * product, or several that read the same x, as an attention's q, k and v), shared by the threads
 * of one job, thread ith calling it once: it computes its own range in runs from the bottom, then
 * takes runs from the top of whichever range has most left, until none has any, so a thread that
 * starts late or streams slower takes fewer. Each row is computed whole by one thread, so the
 * results do not depend on the thread count. */
void exec_wmat_gemv_claim(const exec_wmat *const *m, int count, int ith, const float *x, float *const *y, void *xq,
                          exec_claims *c);
void exec_wmat_read(const exec_wmat *m, int64_t start, int64_t n, float *dst);

#endif
