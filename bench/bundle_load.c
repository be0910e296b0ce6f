/* bundle_load.c — memory and time of loading and running a .mlmodelc.
 *
 *   bench_bundle_load BUNDLE [RUNS [FUNCTION]]
 *
 * Reports the resident memory added by mr_bundle_open (VmRSS before and after, so it counts the
 * weight pages actually touched plus everything decoded) against the size of weights/weight.bin,
 * the bytes the bundle says it holds for weights, and the mean time of RUNS predictions of FUNCTION
 * (default: the bundle's default function) on inputs filled with a fixed pattern. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "milrun.h"

static long rss_kb(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kb = -1;
  while (f && fgets(line, sizeof line, f))
    if (!strncmp(line, "VmRSS:", 6)) kb = strtol(line + 6, NULL, 10);
  if (f) fclose(f);
  return kb;
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s BUNDLE.mlmodelc [RUNS [FUNCTION]]\n", argv[0]);
    return 2;
  }
  int runs = argc > 2 ? atoi(argv[2]) : 20;
  char wpath[4096];
  snprintf(wpath, sizeof wpath, "%s/weights/weight.bin", argv[1]);
  struct stat st;
  double wsize = stat(wpath, &st) == 0 ? (double)st.st_size : 0;
  long before = rss_kb();
  double t0 = now();
  mr_bundle *b;
  mr_error err = {0};
  if (mr_bundle_open(argv[1], NULL, &b, &err)) {
    fprintf(stderr, "%s\n", err.msg);
    return 1;
  }
  double t_load = now() - t0;
  long after = rss_kb();
  printf("bundle            %s\n", argv[1]);
  printf("weight.bin        %.0f bytes\n", wsize);
  printf("load time         %.2f ms\n", t_load * 1e3);
  printf("RSS added by load %ld KiB = %.2f x weight.bin\n", after - before, wsize ? (after - before) * 1024.0 / wsize : 0);
  printf("weights held      %zu bytes = %.2f x weight.bin (mapped payloads + decoded tables)\n",
         mr_bundle_weight_bytes(b), wsize ? (double)mr_bundle_weight_bytes(b) / wsize : 0);
  const char *fn = argc > 3 ? argv[3] : mr_bundle_default_function(b);
  const mr_io_info *in, *si;
  int ni = mr_bundle_inputs(b, fn, &in), ns = mr_bundle_states(b, fn, &si);
  mr_tensor *ts = calloc((size_t)ni + 1, sizeof *ts);
  mr_state **states = calloc((size_t)ns + 1, sizeof *states);
  mr_call *call;
  if (mr_call_new(b, fn, &call, &err)) {
    fprintf(stderr, "%s\n", err.msg);
    return 1;
  }
  for (int i = 0; i < ni; i++) {
    ts[i].dtype = in[i].dtype == MR_FLOAT16 ? MR_FLOAT32 : in[i].dtype;
    ts[i].rank = in[i].rank;
    memcpy(ts[i].shape, in[i].shape, sizeof ts[i].shape);
    int64_t n = mr_tensor_count(&ts[i]);
    ts[i].data = calloc((size_t)n + 1, 4);
    for (int64_t k = 0; k < n && ts[i].dtype == MR_FLOAT32; k++) ((float *)ts[i].data)[k] = (float)((k % 17) - 8) / 16.0f;
    mr_call_set_input(call, in[i].name, &ts[i], &err);
  }
  for (int i = 0; i < ns; i++) {
    mr_state_new(b, si[i].name, &states[i], &err);
    mr_call_set_state(call, si[i].name, states[i], &err);
  }
  double t1 = now();
  for (int r = 0; r < runs; r++)
    if (mr_call_run(call, &err)) {
      fprintf(stderr, "%s\n", err.msg);
      return 1;
    }
  printf("predict (%s)     %.3f ms mean over %d runs\n", fn, (now() - t1) / runs * 1e3, runs);
  printf("RSS after runs    %ld KiB\n", rss_kb());
  mr_call_free(call);
  for (int i = 0; i < ni; i++) free(ts[i].data);
  for (int i = 0; i < ns; i++) mr_state_free(states[i]);
  free(ts), free(states);
  mr_bundle_close(b);
  return 0;
}
