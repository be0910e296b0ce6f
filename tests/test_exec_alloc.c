/* test_exec_alloc.c — memory discipline of the runtime (docs/style.md §8, §10): every allocation
 * goes through the replaceable allocator and is returned; running a loaded bundle allocates
 * nothing; and a failure of any allocation while loading is a clean MR_ENOMEM (ASan reports any
 * leak or bad access on those paths). */
#include <stdlib.h>

#include "harness.h"
#include "util/alloc.h"

static long live, calls;

static void *counting_realloc(void *ud, void *ptr, size_t size) {
  (void)ud;
  if (size == 0) {
    if (ptr) live--;
    free(ptr);
    return NULL;
  }
  calls++;
  if (!ptr) live++;
  return realloc(ptr, size);
}

static const char *bundle(void) { return th_fixture("silero-vad/unified_palette_8bit.mlmodelc"); }

/* A prepared call of the default function with its three inputs bound. */
static mr_call *prepare(mr_bundle *b) {
  static float audio[576], h[128], c[128];
  mr_tensor in[3] = {{MR_FLOAT32, 2, {1, 576}, audio}, {MR_FLOAT32, 2, {1, 128}, h}, {MR_FLOAT32, 2, {1, 128}, c}};
  const char *names[3] = {"audio_input", "hidden_state", "cell_state"};
  for (int i = 0; i < 576; i++) audio[i] = (float)((i * 37) % 101 - 50) / 100.0f;
  mr_call *call;
  mr_error err = {0};
  CHECK(mr_call_new(b, NULL, &call, &err) == MR_OK);
  for (int i = 0; i < 3; i++) CHECK(mr_call_set_input(call, names[i], &in[i], &err) == MR_OK);
  return call;
}

static void test_all_memory_through_the_hook(void) {
  mr_bundle *b;
  mr_error err = {0};
  /* a first load starts the process-wide thread pool, which lives until exit */
  CHECK_MSG(mr_bundle_open(bundle(), NULL, &b, &err) == MR_OK, "%s", err.msg);
  mr_bundle_close(b);
  mr_set_allocator(counting_realloc, NULL);
  live = calls = 0;
  CHECK_MSG(mr_bundle_open(bundle(), NULL, &b, &err) == MR_OK, "%s", err.msg);
  CHECK(calls > 10);
  mr_call *call = prepare(b);
  long before = calls;
  for (int i = 0; i < 16; i++) CHECK(mr_call_run(call, NULL) == MR_OK);
  mr_tensor out;
  for (int i = 0; i < mr_call_output_count(call); i++) CHECK(mr_call_output(call, i, &out) == MR_OK);
  CHECK_EQ_INT(calls - before, 0); /* running a prepared call never allocates */
  mr_call_free(call);
  mr_bundle_close(b);
  CHECK_EQ_INT(live, 0);
  mr_set_allocator(NULL, NULL);
}

/* Fail each allocation of a load in turn, all of them, not a sample: every one is a clean MR_ENOMEM
 * (ASan catches a leak or bad access on its path), and with none failing the load succeeds. */
static void test_every_allocation_failure_while_loading(void) {
  mr_set_allocator(counting_realloc, NULL); /* routes cJSON through the hook too */
  mr_bundle *b;
  mr_error err = {0};
  /* The first load may start the process-wide thread pool; from then on every load allocates alike. */
  CHECK(mr_bundle_open(bundle(), NULL, &b, &err) == MR_OK);
  mr_bundle_close(b);
  calls = 0;
  CHECK(mr_bundle_open(bundle(), NULL, &b, &err) == MR_OK);
  mr_bundle_close(b);
  long total = calls;
  CHECK(total > 100);
  for (long n = 0; n <= total && !th_failures; n++) {
    util_alloc_fail_after(n);
    mr_error e = {0};
    int rc = mr_bundle_open(bundle(), NULL, &b, &e);
    util_alloc_fail_after(-1);
    if (rc == MR_OK) mr_bundle_close(b);
    if (n == total) {
      CHECK_MSG(rc == MR_OK, "no allocation failed, yet: %s", e.msg);
    } else {
      CHECK_MSG(rc == MR_ENOMEM && strstr(e.msg, "out of memory") != NULL, "allocation %ld of %ld failed: rc %d: %s",
                n + 1, total, rc, e.msg);
    }
  }
  mr_set_allocator(NULL, NULL);
}

int main(int argc, char **argv) {
  static const th_case cases[] = {
    {"all_memory_through_the_hook", test_all_memory_through_the_hook},
    {"every_allocation_failure_while_loading", test_every_allocation_failure_while_loading},
    {NULL, NULL}};
  return th_run(cases, argc, argv);
}
