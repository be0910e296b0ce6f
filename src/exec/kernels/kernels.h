/* kernels.h — the SIMD kernels that read weights in their packed form (fp16 values, 4- and 8-bit
 * LUT indices into fp16 palettes) and the fp32 prefill micro-kernel, in one table per instruction
 * set, chosen once at startup from the CPU's features (AVX-512 VBMI, AVX2+FMA+F16C, NEON, portable
 * C). $MILRUN_KERNELS=avx512|avx2|neon|portable overrides the choice; exec_kernels_select lets a
 * test force each one. Kernels never allocate and never fail; every path agrees with a float64
 * reference to fp32 rounding (tests/test_exec_kernels_paths.c states the bound). */
#ifndef EXEC_KERNELS_KERNELS_H
#define EXEC_KERNELS_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "exec/weights.h"

typedef struct exec_kernel_table {
  const char *name;
  /* y[r] = sum_i w_r[i] * x[i] for r < rows, w_r the row at w + r * ld (bytes): fp16 values, or
   * 8-bit / 4-bit (LSB-first nibbles) indices into one palette `pal` of 256 / 16 fp16 entries. */
  void (*f32_gemv)(const float *w, int64_t ld, int64_t rows, const float *x, int64_t n, float *y); /* ld: floats */
  void (*f16_gemv)(const uint8_t *w, int64_t ld, int64_t rows, const float *x, int64_t n, float *y);
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
} exec_kernel_table;

/* The table in use (selected on first call). */
const exec_kernel_table *exec_kernels(void);
/* Use the named table ("avx512", "avx2", "neon", "portable"). Returns 0, or -1 when this build or
 * CPU cannot run it (the current table is then unchanged). Not thread-safe: call between runs. */
int exec_kernels_select(const char *name);
/* Names of the tables this build has, NULL-terminated (available or not on this CPU). */
const char *const *exec_kernels_names(void);

/* Per instruction set; each returns NULL when it is not compiled in or the CPU lacks it. */
const exec_kernel_table *exec_kernels_portable(void);
const exec_kernel_table *exec_kernels_avx2(void);
/* x86: whether the CPU has F16C (CPUID.1:ECX bit 29). Asked through cpuid because clang 14's
 * __builtin_cpu_supports does not know "f16c". */
int exec_cpu_has_f16c(void);
const exec_kernel_table *exec_kernels_avx512(void);
const exec_kernel_table *exec_kernels_neon(void);

/* Drivers over a weight matrix (kernels/wmat.c), with the current table: y[r - lo] = row r . x
 * for r in [lo, hi) (x has m->cols values), and elements [start, start + n) of m (row-major) to
 * fp32. Palette groups and index widths other than 4 and 8 bits are handled here. */
void exec_wmat_gemv(const exec_wmat *m, int64_t lo, int64_t hi, const float *x, float *y);
void exec_wmat_read(const exec_wmat *m, int64_t start, int64_t n, float *dst);

#endif
