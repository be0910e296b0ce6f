/* logits.c — `milrun logits MODEL_DIR --ids 1,2,3 [--out FILE] [--last]`: the numeric probe of a
 * converted bundle. It runs the prompt as chat.py does (prefill in batches, then infer at each
 * position p with token p, which rewrites slot p with the same values) and writes the logits of
 * every prompt position as little-endian float32 rows [T, V], or prints the top 5 per position. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "llm/model.h"
#include "util/alloc.h"

static int usage(FILE *f) {
  fprintf(f,
          "usage: milrun logits MODEL_DIR --ids 1,2,3 [--out FILE] [--last]\n\n"
          "Run token ids through an Anemll-layout bundle (meta.yaml + .mlmodelc or .mlpackage components)\n"
          "as chat.py does and report the logits of every prompt position.\n\n"
          "options:\n"
          "  --ids LIST     comma-separated token ids (required)\n"
          "  --out FILE     write float32 rows [T, V] (little-endian, no header) instead of printing\n"
          "  --last         only the last position (exactly chat.py's first generation step)\n"
          "  --help         this help\n");
  return f == stdout ? 0 : 2;
}

static int parse_ids(const char *s, int32_t **ids, int *n) {
  int cap = 16;
  *n = 0;
  *ids = mr_alloc((size_t)cap * sizeof **ids);
  while (*ids && *s) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || errno || v < 0 || v > INT32_MAX || (*end && *end != ',')) return -1;
    if (*n == cap) {
      int32_t *g = mr_realloc(*ids, (size_t)(cap *= 2) * sizeof **ids);
      if (!g) return -1;
      *ids = g;
    }
    (*ids)[(*n)++] = (int32_t)v;
    s = *end ? end + 1 : end;
  }
  return *ids && *n > 0 ? 0 : -1;
}

static void print_top5(int pos, const float *l, int64_t V) {
  int64_t best[5] = {-1, -1, -1, -1, -1};
  for (int64_t i = 0; i < V; i++) {
    int k = 5;
    while (k > 0 && (best[k - 1] < 0 || l[i] > l[best[k - 1]])) k--;
    if (k >= 5) continue;
    memmove(&best[k + 1], &best[k], (size_t)(4 - k) * sizeof *best);
    best[k] = i;
  }
  printf("%d:", pos);
  for (int k = 0; k < 5 && best[k] >= 0; k++) printf(" %lld(%.4f)", (long long)best[k], l[best[k]]);
  printf("\n");
}

int tool_logits(int argc, char **argv) {
  const char *dir = NULL, *ids_arg = NULL, *out = NULL;
  int last = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return usage(stdout);
    if (!strcmp(argv[i], "--last")) last = 1;
    else if (!strcmp(argv[i], "--ids") && i + 1 < argc) ids_arg = argv[++i];
    else if (!strcmp(argv[i], "--out") && i + 1 < argc) out = argv[++i];
    else if (argv[i][0] != '-' && !dir) dir = argv[i];
    else {
      fprintf(stderr, "milrun logits: bad argument '%s'\n", argv[i]);
      return usage(stderr);
    }
  }
  if (!dir || !ids_arg) return usage(stderr);
  int32_t *ids = NULL;
  int n;
  if (parse_ids(ids_arg, &ids, &n)) {
    fprintf(stderr, "milrun logits: --ids must be a comma-separated list of token ids, got '%s'\n", ids_arg);
    mr_free(ids);
    return 2;
  }
  mr_error err = {0};
  llm_model *m;
  if (llm_model_open(dir, &m, &err)) {
    fprintf(stderr, "milrun logits: %s\n", err.msg);
    mr_free(ids);
    return 1;
  }
  int64_t V = llm_model_vocab(m);
  float *logits = mr_alloc((size_t)(V > 0 ? V : 1) * sizeof(float));
  FILE *f = NULL;
  int rc = logits ? 0 : 1;
  if (rc) fprintf(stderr, "milrun logits: out of memory\n");
  if (!rc && out && !(f = fopen(out, "wb"))) {
    fprintf(stderr, "milrun logits: %s: %s\n", out, strerror(errno));
    rc = 1;
  }
  for (int i = 0; !rc && i < n; i++)
    if (V && ids[i] >= V) {
      fprintf(stderr, "milrun logits: id %d is outside the vocabulary of %lld\n", ids[i], (long long)V);
      rc = 2;
    }
  if (!rc && llm_model_prefill(m, ids, n, &err)) rc = 1;
  for (int p = last ? n - 1 : 0; !rc && p < n; p++) {
    if (llm_model_infer(m, ids[p], p, logits, &err)) rc = 1;
    else if (f && fwrite(logits, sizeof(float), (size_t)V, f) != (size_t)V) {
      fprintf(stderr, "milrun logits: %s: write failed\n", out);
      rc = 1;
    } else if (!f) {
      print_top5(p, logits, V);
    }
  }
  if (rc == 1 && err.msg[0]) fprintf(stderr, "milrun logits: %s\n", err.msg);
  if (f && fclose(f) && !rc) {
    fprintf(stderr, "milrun logits: %s: write failed\n", out);
    rc = 1;
  }
  mr_free(logits);
  mr_free(ids);
  llm_model_close(m);
  return rc;
}
