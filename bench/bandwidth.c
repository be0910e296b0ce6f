/* bandwidth.c — the machine's read bandwidth, the ceiling of an LLM's decode step (every weight
 * byte is read once per token).
 *
 *   bench_bandwidth [MIB [THREADS [RUNS]]]     (defaults 1024 MiB, 1 and 2 threads, 5 runs)
 *
 * Each thread sums its share of a buffer far larger than the caches with eight independent 64-bit
 * lanes (no dependency chain, so the loads are the limit); the best of RUNS passes is reported in
 * GB/s (1e9 bytes/s), as llama.cpp and STREAM count. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct part {
  const uint64_t *p;
  size_t n;
  uint64_t sum;
} part;

static void *reader(void *arg) {
  part *t = arg;
  uint64_t acc[8] = {0};
  size_t i = 0;
  for (; i + 8 <= t->n; i += 8)
    for (int l = 0; l < 8; l++) acc[l] += t->p[i + l];
  for (; i < t->n; i++) acc[0] += t->p[i];
  for (int l = 0; l < 8; l++) t->sum += acc[l];
  return NULL;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Best GB/s of `runs` passes over buf with nth threads. */
static double measure(const uint64_t *buf, size_t words, int nth, int runs) {
  part parts[64];
  pthread_t th[64];
  double best = 0;
  uint64_t check = 0;
  for (int r = 0; r < runs; r++) {
    double t0 = now();
    for (int i = 0; i < nth; i++) {
      size_t lo = words * (size_t)i / (size_t)nth, hi = words * (size_t)(i + 1) / (size_t)nth;
      parts[i] = (part){buf + lo, hi - lo, 0};
      pthread_create(&th[i], NULL, reader, &parts[i]);
    }
    for (int i = 0; i < nth; i++) {
      pthread_join(th[i], NULL);
      check += parts[i].sum;
    }
    double gbs = (double)words * 8 / (now() - t0) / 1e9;
    if (gbs > best) best = gbs;
  }
  if (check == 42) printf("(checksum %llu)\n", (unsigned long long)check); /* keeps the sums live */
  return best;
}

int main(int argc, char **argv) {
  size_t mib = argc > 1 ? (size_t)atol(argv[1]) : 1024;
  int only = argc > 2 ? atoi(argv[2]) : 0, runs = argc > 3 ? atoi(argv[3]) : 5;
  if (mib < 1 || only < 0 || only > 64 || runs < 1) {
    fprintf(stderr, "usage: %s [MIB [THREADS [RUNS]]]\n", argv[0]);
    return 2;
  }
  size_t words = mib * 1024 * 1024 / 8;
  uint64_t *buf = malloc(words * 8);
  if (!buf) {
    fprintf(stderr, "cannot allocate %zu MiB\n", mib);
    return 1;
  }
  for (size_t i = 0; i < words; i++) buf[i] = i * 2654435761u; /* touch every page */
  for (int nth = only ? only : 1; nth <= (only ? only : 2); nth++)
    printf("read bandwidth    %.2f GB/s with %d thread%s (%zu MiB, best of %d)\n", measure(buf, words, nth, runs), nth,
           nth > 1 ? "s" : "", mib, runs);
  free(buf);
  return 0;
}
