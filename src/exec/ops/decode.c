/* decode.c — the decode products of linear and 1x1 conv: one activation row against the rows of up
 * to EXEC_GEMV_GROUP weight matrices read in their packed form (one op, or a conv and the steps
 * fused into it by plan_gemv.c), the rows claimed in runs by the pool's threads; then the biases,
 * and the fp16 rounding of the fused steps' results (the executor rounds the op's own). */
#include "exec/kernels/kernels.h"
#include "exec/ops/ops.h"

_Static_assert(EXEC_GEMV_GROUP <= EXEC_CLAIM_MATRICES, "a decode job's matrices fit exec_claims' row space");

typedef struct decode_job {
  const exec_wmat *m[EXEC_GEMV_GROUP];
  float *y[EXEC_GEMV_GROUP];
  int count;
  const float *x;
  exec_claims claims; /* the rows, the matrices end to end, a range per thread */
} decode_job;

static void decode_part(const exec_node *n, void *ctx, int ith, int nth) {
  decode_job *j = ctx;
  (void)nth; /* the ranges were made for the pool's threads: a thread that does not come leaves
                its range to the others */
  exec_wmat_gemv_claim(j->m, j->count, ith, j->x, j->y, exec_scratch(n, ith), &j->claims);
}

void exec_decode_products(const exec_node *n, const float *x, int count, const exec_wmat *m, exec_tensor *const *out,
                          const exec_tensor *const *bias) {
  decode_job j = {.count = count, .x = x};
  int64_t work = 0;
  for (int i = 0; i < count; i++) {
    j.m[i] = &m[i], j.y[i] = exec_f32(out[i]);
    work += m[i].rows * m[i].cols;
  }
  exec_claims_init(&j.claims, j.m, count, n->nth);
  exec_parallel(n, work, decode_part, &j);
  for (int i = 0; i < count; i++) {
    for (int64_t r = 0; bias[i] && r < out[i]->count; r++) j.y[i][r] += exec_f32(bias[i])[r];
    if (i && out[i]->dtype == MIL_FP16 && out[i]->storage == EXEC_F32) exec_kernels()->round_f16(j.y[i], out[i]->count);
  }
}
