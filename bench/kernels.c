/* kernels.c — one core's rate of each decode kernel, the part of a token that is not memory.
 *
 *   bench_kernels [MIB]     (default 512; $MILRUN_KERNELS picks the table as everywhere)
 *
 * For the table in use, on one thread: each matrix-vector kernel (fp16 rows, 8- and 4-bit LUT rows
 * through the fp32 kernels and, where the table has them, the integer ones) over 256 rows of 1024
 * columns that stay in cache (the kernel's own speed, in weights/s and bytes/s), then over MIB of
 * rows read from memory (what one core streams). The best of five passes is reported. Compare the
 * cached bytes/s with `bench_bandwidth`: a kernel below the machine's read rate per core bounds
 * decode by itself. Then fp16 rows from memory with all the pool's threads ($MILRUN_THREADS), each
 * claiming runs of 128 KB to 2 MB from a shared counter: every run that does not follow the
 * thread's last one restarts the hardware prefetchers, which is why exec_wmat_gemv_claim gives
 * each thread a range of its own that it reads in order. */
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "exec/kernels/kernels.h"
#include "util/pool.h"

#define COLS 1024
#define CACHED_ROWS 256
#define GROUP 8 /* rows sharing a palette, as the converter writes them */

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

enum { F16, LUT8, LUT8_INT, LUT4, LUT4_INT, NKINDS };
static const char *const kind_names[NKINDS] = {"fp16 rows", "LUT8 rows (fp32)", "LUT8 rows (integer)",
                                               "LUT4 rows (fp32)", "LUT4 rows (integer)"};
static const double bytes_per_weight[NKINDS] = {2, 1, 1, 0.5, 0.5};

static uint16_t pal[256];
static uint8_t planes[512];
static float ps, x[COLS], y[CACHED_ROWS + GROUP];
static uint8_t xq[EXEC_XQ_BYTES(COLS)];

/* rows rows of kind k at w, a palette group at a time as the drivers call the kernels. */
static void pass(const exec_kernel_table *t, int k, const uint8_t *w, int64_t rows) {
  int64_t ld = (int64_t)(COLS * bytes_per_weight[k]);
  if (k == LUT8_INT || k == LUT4_INT) t->xq_prepare(x, COLS, xq);
  for (int64_t r = 0; r < rows; r += GROUP) {
    const uint8_t *rw = w + r * ld;
    float *yr = y + r % CACHED_ROWS;
    switch (k) {
    case F16: t->f16_gemv(rw, ld, GROUP, x, COLS, yr); break;
    case LUT8: t->lut8_gemv(pal, rw, ld, GROUP, x, COLS, yr); break;
    case LUT8_INT: t->lut8_gemv_xq(planes, ps, rw, ld, GROUP, xq, COLS, yr); break;
    case LUT4: t->lut4_gemv(pal, rw, ld, GROUP, x, COLS, yr); break;
    case LUT4_INT: t->lut4_gemv_xq(planes, ps, rw, ld, GROUP, xq, COLS, yr); break;
    default: break;
    }
  }
}

/* Best weights/s of five timings of `reps` passes over rows rows. */
static double rate(const exec_kernel_table *t, int k, const uint8_t *w, int64_t rows, int reps) {
  double best = 0;
  pass(t, k, w, rows); /* warm */
  for (int run = 0; run < 5; run++) {
    double t0 = now();
    for (int i = 0; i < reps; i++) pass(t, k, w, rows);
    double r = (double)rows * COLS * reps / (now() - t0);
    if (r > best) best = r;
  }
  return best;
}

typedef struct stream_job {
  const exec_kernel_table *t;
  const uint8_t *w;
  int64_t rows, run; /* fp16 rows of COLS in all, rows per claim */
  _Atomic int64_t next;
} stream_job;

static void stream_part(void *ctx, int ith, int nth) {
  stream_job *j = ctx;
  float out[2048];
  (void)ith, (void)nth;
  for (;;) {
    int64_t r = atomic_fetch_add(&j->next, j->run);
    if (r >= j->rows) return;
    int64_t n = r + j->run < j->rows ? j->run : j->rows - r;
    for (int64_t i = 0; i < n; i += 2048) /* out holds up to 2048 rows' results */
      j->t->f16_gemv(j->w + (r + i) * 2 * COLS, 2 * COLS, n - i < 2048 ? n - i : 2048, x, COLS, out);
  }
}

/* Best GB/s of three passes over `rows` fp16 rows by every thread of the pool, in claims of `run`. */
static double stream_rate(const exec_kernel_table *t, const uint8_t *w, int64_t rows, int64_t run) {
  stream_job j = {t, w, rows, run, 0};
  double best = 0;
  for (int pass_i = 0; pass_i < 3; pass_i++) {
    atomic_store(&j.next, 0);
    double t0 = now();
    util_pool_run(util_pool_default(), stream_part, &j);
    double r = (double)rows * 2 * COLS / (now() - t0) / 1e9;
    if (r > best) best = r;
  }
  return best;
}

int main(int argc, char **argv) {
  char *end = NULL;
  long mib = argc > 1 ? strtol(argv[1], &end, 10) : 512;
  if (argc > 2 || (end && *end) || mib < 16 || mib > 65536) {
    fprintf(stderr, "usage: bench_kernels [MIB]   (16 to 65536, default 512)\n");
    return 2;
  }
  const exec_kernel_table *t = exec_kernels();
  size_t big = (size_t)mib << 20;
  uint8_t *w = malloc(big);
  if (!w) {
    fprintf(stderr, "bench_kernels: cannot allocate %ld MiB\n", mib);
    return 1;
  }
  /* fp16 weights near 1 (exponent 0x3c) with random mantissas; random indices for the LUTs */
  uint32_t s = 12345;
  for (size_t i = 0; i < big; i++) {
    s = s * 1103515245u + 12345u;
    w[i] = (i & 1) ? 0x3c : (uint8_t)(s >> 16);
  }
  for (int i = 0; i < 256; i++) pal[i] = (uint16_t)(0x3800 + i * 3);
  ps = exec_palq_make(pal, 256, planes);
  for (int i = 0; i < COLS; i++) x[i] = sinf((float)i);
  printf("kernels %s, 1 thread, rows of %d\n\n", t->name, COLS);
  printf("| kernel               | in cache, G weights/s | in cache, GB/s | from memory (%ld MiB), GB/s |\n", mib);
  printf("| -------------------- | --------------------: | -------------: | -------------------------: |\n");
  for (int k = 0; k < NKINDS; k++) {
    if ((k == LUT8_INT || k == LUT4_INT) && !t->xq_prepare) continue;
    double cached = rate(t, k, w, CACHED_ROWS, 200);
    int64_t rows = (int64_t)(big / (size_t)(COLS * bytes_per_weight[k])) / GROUP * GROUP;
    double mem = rate(t, k, w, rows, 1);
    printf("| %-20s | %21.2f | %14.2f | %26.2f |\n", kind_names[k], cached / 1e9, cached * bytes_per_weight[k] / 1e9,
           mem * bytes_per_weight[k] / 1e9);
  }
  int64_t rows = (int64_t)(big / (2 * COLS));
  printf("\nfp16 rows from memory, %d threads claiming runs of\n\n| run      | GB/s  |\n| -------: | ----: |\n",
         util_pool_size(util_pool_default()));
  for (int64_t kb = 128; kb <= 2048; kb *= 4)
    printf("| %5lld KB | %5.2f |\n", (long long)kb, stream_rate(t, w, rows, kb * 1024 / (2 * COLS)));
  free(w);
  return 0;
}
