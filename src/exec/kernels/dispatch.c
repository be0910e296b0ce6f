/* dispatch.c — choosing the kernel table: the widest instruction set this build and CPU have,
 * unless $MILRUN_KERNELS names another one that is available. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "exec/kernels/kernels.h"
#include "milrun.h"
#include "util/error.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

int exec_cpu_has_f16c(void) {
  unsigned a, b, c, d;
  return __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 29));
}
#endif

typedef const exec_kernel_table *(*table_fn)(void);

static const char *const names[] = {"avx512", "avx2", "neon", "portable", NULL};
static const table_fn tables[] = {exec_kernels_avx512, exec_kernels_avx2, exec_kernels_neon, exec_kernels_portable};

/* Set once by the first caller; worker threads may race to set it to the same value. */
static _Atomic(const exec_kernel_table *) current;

const char *const *exec_kernels_names(void) { return names; }

static const exec_kernel_table *by_name(const char *name) {
  for (int i = 0; names[i]; i++)
    if (!strcmp(names[i], name)) return tables[i]();
  return NULL;
}

static const exec_kernel_table *detect(void) {
  const char *env = getenv("MILRUN_KERNELS");
  const exec_kernel_table *t = env && *env ? by_name(env) : NULL;
  for (int i = 0; !t && names[i]; i++) t = tables[i]();
  return t;
}

const exec_kernel_table *exec_kernels(void) {
  const exec_kernel_table *t = atomic_load_explicit(&current, memory_order_acquire);
  if (!t) {
    t = detect();
    atomic_store_explicit(&current, t, memory_order_release);
  }
  return t;
}

/* -1: not decided yet ($MILRUN_LUT_INT8 is read on first use). */
static _Atomic int int8_on = -1;

void exec_kernels_set_int8(int on) { atomic_store(&int8_on, on != 0); }

int exec_kernels_int8(void) {
  int on = atomic_load(&int8_on);
  if (on < 0) {
    const char *env = getenv("MILRUN_LUT_INT8");
    on = !(env && !strcmp(env, "0"));
    atomic_store(&int8_on, on);
  }
  return on;
}

int exec_kernels_select(const char *name) {
  const exec_kernel_table *t = by_name(name);
  if (!t) return -1;
  atomic_store_explicit(&current, t, memory_order_release);
  return 0;
}

const char *const *mr_kernels_names(void) { return names; }

const char *mr_kernels(void) { return exec_kernels()->name; }

int mr_set_kernels(const char *name, mr_error *err) {
  if (name && exec_kernels_select(name) == 0) return MR_OK;
  return util_err(err, MR_EINVAL, "kernels '%s': not ones this build can run on this CPU", name ? name : "(null)");
}

int mr_lut_int8(void) { return exec_kernels()->xq_prepare ? exec_kernels_int8() : -1; }

void mr_f16_to_f32(const uint16_t *src, float *dst, size_t n) {
  exec_kernels()->f16_decode((const uint8_t *)src, (int64_t)n, dst);
}
