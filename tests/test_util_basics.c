/* test_util_basics.c — fp16 conversion, string builder, arena, allocator fault injection. */
#include <stdint.h>
#include <stdlib.h>

#include "harness.h"
#include "util/alloc.h"
#include "util/arena.h"
#include "util/fp16.h"
#include "util/strbuf.h"

/* Reference fp16 decode in double, straight from the IEEE 754 definition. */
static double ref_f16(uint16_t h) {
  int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
  double v;
  if (e == 0) v = ldexp(m, -24);
  else if (e == 31) v = m ? NAN : INFINITY;
  else v = ldexp(1024 + m, e - 25);
  return s ? -v : v;
}

static void test_f16_all_values(void) {
  for (uint32_t h = 0; h < 65536; h++) {
    double r = ref_f16((uint16_t)h);
    float f = util_f16_to_f32((uint16_t)h);
    if (isnan(r)) {
      CHECK(isnan(f));
      continue;
    }
    CHECK((double)f == r);
    CHECK(util_f32_to_f16(f) == h); /* exact round trip */
  }
}

static void test_f16_rounding(void) {
  /* Ties to even and overflow, checked against a search over all fp16 values in double. */
  const float probes[] = {1.0f + 1.0f / 2048, 1.0f + 3.0f / 2048, 65519.0f, 65520.0f, 1e-8f,
                          2.98e-8f, 5.96e-8f, -0.1f, 3.14159f, 1e5f, 6.1e-5f};
  for (size_t i = 0; i < sizeof probes / sizeof *probes; i++) {
    float x = probes[i];
    double best = INFINITY;
    uint16_t bh = 0;
    for (uint32_t h = 0; h < 0x7c00; h++) { /* positive finite */
      double d = fabs(ref_f16((uint16_t)h) - fabs((double)x));
      if (d < best || (d == best && !(h & 1))) {
        best = d;
        bh = (uint16_t)h;
      }
    }
    double lim = 65520.0;
    uint16_t got = util_f32_to_f16(x);
    if (fabs((double)x) >= lim) CHECK((got & 0x7fff) == 0x7c00);
    else CHECK_MSG((got & 0x7fff) == bh, "x=%g got %04x want %04x", (double)x, got, bh);
  }
}

static void test_strbuf(void) {
  util_sb sb = {0};
  util_sb_puts(&sb, "a");
  for (int i = 0; i < 1000; i++) util_sb_printf(&sb, "%d,", i);
  CHECK(sb.len > 3000);
  CHECK(!strncmp(util_sb_cstr(&sb), "a0,1,2,", 7));
  char *s = util_sb_take(&sb);
  CHECK(s && s[0] == 'a');
  mr_free(s);
  util_alloc_fail_after(0);
  util_sb_puts(&sb, "x");
  util_alloc_fail_after(-1);
  CHECK(util_sb_failed(&sb));
  CHECK_EQ_STR(util_sb_cstr(&sb), "");
  util_sb_free(&sb);
}

static void test_arena(void) {
  util_arena a = {0};
  for (int i = 0; i < 10000; i++) {
    char *p = util_arena_alloc(&a, (size_t)(i % 97) + 1);
    CHECK(p && ((uintptr_t)p % 16) == 0);
  }
  char *big = util_arena_alloc(&a, 1 << 22);
  CHECK(big != NULL);
  util_arena_free(&a);
  util_alloc_fail_after(0);
  CHECK(util_arena_alloc(&a, 10) == NULL);
  util_alloc_fail_after(-1);
}

int main(int argc, char **argv) {
  static const th_case cases[] = {
    {"f16_all_values", test_f16_all_values},
    {"f16_rounding", test_f16_rounding},
    {"strbuf", test_strbuf},
    {"arena", test_arena},
    {NULL, NULL}};
  return th_run(cases, argc, argv);
}
