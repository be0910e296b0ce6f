/* logits.c — `milrun logits MODEL --ids 1,2,3 [--out FILE] [--last]`: the numeric probe of a
 * converted bundle. It runs the prompt as chat.py does (prefill in batches, then infer at each
 * position p with token p, which rewrites slot p with the same values) and prints the top 5 of
 * every prompt position with the tokens' text, or writes all logits as [T, V] float32. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "ids.h"
#include "llm/model.h"
#include "model_path.h"
#include "opts.h"
#include "util/alloc.h"
#include "util/npy.h"

/* A token's text for the listing: decoded, with control characters escaped; "" without a tokenizer. */
static void token_text(const mr_tokenizer *t, int32_t id, char *buf, size_t size) {
  char *text = NULL;
  buf[0] = 0;
  if (!t || mr_tokenizer_decode(t, &id, 1, 0, &text, NULL, NULL) != MR_OK) return;
  size_t o = 0;
  for (const char *s = text; *s && o + 8 < size; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '\n') o += (size_t)snprintf(buf + o, size - o, "\\n");
    else if (c == '\t') o += (size_t)snprintf(buf + o, size - o, "\\t");
    else if (c < 0x20 || c == '\'' || c == '\\') o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
    else buf[o++] = (char)c;
  }
  buf[o] = 0;
  mr_free(text);
}

static void print_top5(const mr_tokenizer *t, int pos, int32_t id, const float *l, int64_t V) {
  int64_t best[5] = {-1, -1, -1, -1, -1};
  for (int64_t i = 0; i < V; i++) {
    int k = 5;
    while (k > 0 && (best[k - 1] < 0 || l[i] > l[best[k - 1]])) k--;
    if (k >= 5) continue;
    memmove(&best[k + 1], &best[k], (size_t)(4 - k) * sizeof *best);
    best[k] = i;
  }
  char text[256];
  token_text(t, id, text, sizeof text);
  printf("%d %d '%s':", pos, id, text);
  for (int k = 0; k < 5 && best[k] >= 0; k++) {
    token_text(t, (int32_t)best[k], text, sizeof text);
    printf(" %lld '%s' %.4f%s", (long long)best[k], text, l[best[k]], k < 4 ? "," : "");
  }
  printf("\n");
}

static int ends_with(const char *s, const char *tail) {
  size_t n = strlen(s), k = strlen(tail);
  return n >= k && !strcmp(s + n - k, tail);
}

int tool_logits(int argc, char **argv) {
  const char *dir = NULL, *ids_arg = NULL, *out = NULL;
  int last = 0;
  const tool_opt opts[] = {
    {"ids", 0, OPT_STR, &ids_arg, "LIST", "token ids, comma- or space-separated (required)", 0, 0, NULL},
    {"out", 'o', OPT_STR, &out, "FILE", "write the logits instead of printing: FILE.npy as a float32" OPT_NL
     "array [T, V]; any other name as raw little-endian float32 rows", 0, 0, NULL},
    {"last", 0, OPT_FLAG, &last, NULL, "only the last position (exactly chat.py's first generation step)", 0, 0, NULL},
    {NULL, 0, 0, NULL, NULL, NULL, 0, 0, NULL}};
  const tool_cmd cmd = {
    "logits", "MODEL --ids 1,2,3 [options]",
    "Run token ids through an Anemll-layout model (a folder with meta.yaml and the .mlmodelc\n"
    "components, or a Hugging Face id ORG/NAME[@REV]) as chat.py does and report the logits of\n"
    "every prompt position.",
    opts,
    "output: one line per position, `POS ID 'TEXT': ID 'TEXT' LOGIT, ...` with the five largest\n"
    "logits in decreasing order; TEXT is the token decoded by the model's tokenizer (empty when the\n"
    "model has none), with \\n, \\t and other control bytes escaped.\n",
    1, 1, "MODEL"};
  int npos;
  int rc = tool_parse(&cmd, argc, argv, &dir, &npos);
  if (rc) return tool_parse_exit(rc);
  if (!ids_arg) return tool_usage_error(&cmd, "--ids LIST is required");
  int32_t *ids = NULL;
  size_t n = 0, cap = 0;
  if (tool_ids_parse(ids_arg, &ids, &n, &cap) || n == 0 || n > 1 << 20) {
    fprintf(stderr, "milrun logits: --ids must be a comma-separated list of token ids, got '%s'\n", ids_arg);
    mr_free(ids);
    return 2;
  }
  mr_error err = {0};
  llm_model *m = NULL;
  mr_tokenizer *tok = NULL;
  char *path = NULL;
  if (tool_model_path(dir, &path, &err) || llm_model_open(path, &m, &err)) {
    fprintf(stderr, "milrun logits: %s\n", err.msg);
    mr_free(ids);
    mr_free(path);
    return 1;
  }
  if (!out && mr_tokenizer_open(path, &tok, NULL) != MR_OK) tok = NULL; /* text is optional */
  int64_t V = llm_model_vocab(m);
  int npy = out && ends_with(out, ".npy"), rows = last ? 1 : (int)n;
  float *logits = mr_alloc((size_t)(V > 0 ? V : 1) * sizeof(float) * (npy ? (size_t)rows : 1));
  FILE *f = NULL;
  rc = logits ? 0 : 1;
  if (rc) fprintf(stderr, "milrun logits: out of memory\n");
  if (!rc && out && !npy && !(f = fopen(out, "wb"))) {
    fprintf(stderr, "milrun logits: %s: %s\n", out, strerror(errno));
    rc = 1;
  }
  for (size_t i = 0; !rc && i < n; i++)
    if (V && ids[i] >= V) {
      fprintf(stderr, "milrun logits: id %d is outside the vocabulary of %lld\n", ids[i], (long long)V);
      rc = 2;
    }
  if (!rc && llm_model_prefill(m, ids, (int)n, &err)) rc = 1;
  for (int p = last ? (int)n - 1 : 0, r = 0; !rc && p < (int)n; p++, r++) {
    float *row = logits + (npy ? (size_t)r * (size_t)V : 0);
    if (llm_model_infer(m, ids[p], p, row, &err)) rc = 1;
    else if (f && fwrite(row, sizeof(float), (size_t)V, f) != (size_t)V) {
      fprintf(stderr, "milrun logits: %s: write failed\n", out);
      rc = 1;
    } else if (!out) {
      print_top5(tok, p, ids[p], row, V);
    }
  }
  if (rc == 1 && err.msg[0]) fprintf(stderr, "milrun logits: %s\n", err.msg);
  if (!rc && npy) {
    mr_tensor t = {.dtype = MR_FLOAT32, .rank = 2, .shape = {rows, V}, .data = logits};
    if (util_npy_write(out, &t, &err)) {
      fprintf(stderr, "milrun logits: %s\n", err.msg);
      rc = 1;
    }
  }
  if (f && fclose(f) && !rc) {
    fprintf(stderr, "milrun logits: %s: write failed\n", out);
    rc = 1;
  }
  mr_free(logits);
  mr_free(ids);
  mr_free(path);
  mr_tokenizer_close(tok);
  llm_model_close(m);
  return rc;
}
