/* test_exec_kernels_neon.c — the NEON kernel table, which this x86 machine cannot run natively:
 * builds test_exec_kernels_paths.c with the kernels for AArch64 (Debian's gcc-aarch64-linux-gnu)
 * and runs it under qemu-aarch64 with the NEON table required. Without the cross toolchain or
 * qemu (scripts/setup.sh installs both) the test says so and skips. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "harness.h"

static int have(const char *tool) {
  char cmd[256];
  snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", tool);
  return system(cmd) == 0;
}

static void test_neon_under_qemu(void) {
  const char *src = getenv("MR_SOURCE");
  if (!src || !have("aarch64-linux-gnu-gcc") || !have("qemu-aarch64")) {
    printf("  SKIPPED: needs MR_SOURCE, aarch64-linux-gnu-gcc and qemu-aarch64 (scripts/setup.sh installs them)\n");
    return;
  }
  char dir[] = "/tmp/mr_neon_XXXXXX", cmd[4096];
  CHECK(mkdtemp(dir) != NULL);
  const char *k = "src/exec/kernels/";
  snprintf(cmd, sizeof cmd,
           "cd '%s' && aarch64-linux-gnu-gcc -std=c11 -O2 -static -Wall -Wextra -Werror -Wno-unused-parameter "
           "-D_POSIX_C_SOURCE=200809L -Iinclude -Isrc -Itests tests/test_exec_kernels_paths.c tests/harness.c "
           "%sportable.c %sarm_neon.c %sx86_avx2.c %sx86_avx512.c %sdispatch.c %swmat.c src/util/error.c -lm -o '%s/paths'",
           src, k, k, k, k, k, k, dir);
  CHECK_MSG(system(cmd) == 0, "cross build failed: %s", cmd);
  snprintf(cmd, sizeof cmd, "MR_REQUIRE_KERNELS=neon qemu-aarch64 '%s/paths'", dir);
  CHECK_MSG(system(cmd) == 0, "the kernel test failed under qemu-aarch64");
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  CHECK(system(cmd) == 0);
}

int main(int argc, char **argv) {
  static const th_case cases[] = {{"NEON kernels under qemu-aarch64", test_neon_under_qemu}, {NULL, NULL}};
  return th_run(cases, argc, argv);
}
