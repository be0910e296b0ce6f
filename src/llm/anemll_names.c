/* anemll_names.c — Anemll's component file names (see anemll_names.h). */
#include "llm/anemll_names.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "_lutN", or "" without a LUT. */
static const char *lut_suffix(int lut_bits, char *buf, size_t size) {
  if (lut_bits <= 0) return "";
  snprintf(buf, size, "_lut%d", lut_bits);
  return buf;
}

static int fits(int n, size_t size) { return n >= 0 && (size_t)n < size ? 0 : -1; }

static int component(char *buf, size_t size, const char *prefix, const char *what, int lut_bits) {
  char s[16];
  return fits(snprintf(buf, size, "%s_%s%s.mlmodelc", prefix, what, lut_suffix(lut_bits, s, sizeof s)), size);
}

int anemll_name_embeddings(char *buf, size_t size, const char *prefix, int lut_bits) {
  return component(buf, size, prefix, "embeddings", lut_bits);
}

int anemll_name_lm_head(char *buf, size_t size, const char *prefix, int lut_bits) {
  return component(buf, size, prefix, "lm_head", lut_bits);
}

int anemll_name_ffn_base(char *buf, size_t size, const char *prefix, int lut_bits) {
  return component(buf, size, prefix, "FFN_PF", lut_bits);
}

int anemll_name_ffn_chunk(char *buf, size_t size, const char *prefix, int lut_bits, int chunk, int chunks) {
  char s[16];
  return fits(snprintf(buf, size, "%s_FFN_PF%s_chunk_%02dof%02d.mlmodelc", prefix, lut_suffix(lut_bits, s, sizeof s), chunk,
                       chunks),
              size);
}

int anemll_name_package(char *buf, size_t size, const char *name) {
  static const char ext[] = ".mlmodelc";
  size_t n = strlen(name), e = sizeof ext - 1;
  if (n < e || strcmp(name + n - e, ext)) return -1;
  return fits(snprintf(buf, size, "%.*s.mlpackage", (int)(n - e), name), size);
}

int anemll_lut_bits(const char *text) {
  if (!text || !*text || !strcmp(text, "none")) return 0;
  char *end;
  long bits = strtol(text, &end, 10);
  return *end || end == text || bits < 1 || bits > 8 ? -1 : (int)bits;
}

/* Decimal digits at *p (at least one, at most 9); advances *p. -1 when none. */
static int digits(const char **p) {
  int v = 0, n = 0;
  for (; **p >= '0' && **p <= '9' && n < 9; (*p)++, n++) v = v * 10 + (**p - '0');
  return n ? v : -1;
}

int anemll_parse_chunk(const char *name, int *chunk, int *chunks) {
  const char *at = NULL;
  for (const char *p = strstr(name, "_chunk_"); p; p = strstr(p + 1, "_chunk_")) at = p;
  if (!at) return -1;
  const char *p = at + 7;
  int nn = digits(&p);
  if (nn < 0 || strncmp(p, "of", 2) != 0) return -1;
  p += 2;
  int mm = digits(&p);
  if (mm < 0 || nn < 1 || nn > mm) return -1;
  *chunk = nn;
  *chunks = mm;
  return 0;
}
