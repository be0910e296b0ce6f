/* exec_plan_util.h — planning one function of a bundle on disk as the CPU executor does, for the
 * tests that check what the planner made of it (tests/test_exec_*.c: grouped products, masked
 * scores, decode attention). */
#ifndef TEST_EXEC_PLAN_UTIL_H
#define TEST_EXEC_PLAN_UTIL_H

#include "exec/consts.h"
#include "exec/plan.h"
#include "harness.h"
#include "mil/model.h"

/* Plan function `fn` of the bundle at dir and pass the plan to inspect(f, arg). Returns 0, or -1
 * (a failed CHECK) when the bundle cannot be loaded or the function planned. */
static inline int tp_inspect_plan(const char *dir, const char *fn, void (*inspect)(const exec_function *f, void *arg),
                                  void *arg) {
  mil_model *m;
  exec_consts consts;
  exec_function f;
  mr_error err = {0};
  int rc = -1;
  CHECK_MSG(mil_model_load(dir, 0, &m, &err) == MR_OK, "%s", err.msg);
  if (!m) return -1;
  CHECK(exec_consts_init(&consts, m->weights_root, &err) == MR_OK);
  const mil_model_function *d = mil_model_function_find(m, fn);
  CHECK_MSG(d != NULL, "%s: no function %s", dir, fn);
  if (d && exec_function_plan(&f, m->prog, d->fn, m->program_file, &consts, NULL, &err) == MR_OK) {
    inspect(&f, arg);
    exec_function_free(&f);
    rc = 0;
  } else if (d) {
    CHECK_MSG(0, "%s", err.msg);
  }
  exec_consts_free(&consts);
  mil_model_free(m);
  return rc;
}

#endif
