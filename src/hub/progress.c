/* progress.c — text progress bars for downloads (progress.h). Lines are redrawn by moving the
 * cursor up over the previous drawing (ANSI "ESC[nA" and "ESC[K"), which every terminal that
 * milrun targets understands; when output is a pipe or a file nothing is written at all. */
#include "hub/progress.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

#define LABEL_COLS 30
#define MAX_LINES 8

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

void hub_progress_init(hub_progress *p, FILE *out, int quiet) {
  memset(p, 0, sizeof *p);
  p->out = out;
  p->enabled = !quiet && isatty(STDOUT_FILENO) && isatty(fileno(out));
}

/* Decimal units, as huggingface_hub's bars show them. */
static void human(char *buf, size_t cap, int64_t n) {
  static const char *units[] = {"B", "kB", "MB", "GB", "TB"};
  double v = (double)n;
  int u = 0;
  while (v >= 1000 && u < 4) {
    v /= 1000;
    u++;
  }
  if (u == 0) snprintf(buf, cap, "%lld B", (long long)n);
  else snprintf(buf, cap, "%.1f %s", v, units[u]);
}

void hub_progress_format(char *buf, size_t cap, const char *label, int64_t done, int64_t total, int width) {
  char lab[LABEL_COLS + 1], d[32], t[32], bar[130];
  size_t n = strlen(label);
  /* Keep the end of a long path: the file name matters more than its folders. */
  const char *l = n > LABEL_COLS ? label + n - (LABEL_COLS - 3) : label;
  snprintf(lab, sizeof lab, "%s%s", n > LABEL_COLS ? "..." : "", l);
  human(d, sizeof d, done);
  if (total < 0) {
    snprintf(buf, cap, "%-*s %s", LABEL_COLS, lab, d);
    return;
  }
  human(t, sizeof t, total);
  if (width > 128) width = 128;
  int fill = total > 0 ? (int)((double)done / (double)total * width) : width;
  if (fill > width) fill = width;
  bar[0] = '[';
  for (int i = 0; i < width; i++) bar[1 + i] = i < fill ? '#' : '-';
  bar[1 + width] = ']';
  bar[2 + width] = 0;
  int pct = total > 0 ? (int)((double)done * 100 / (double)total) : 100;
  snprintf(buf, cap, "%-*s %s %3d%%  %s / %s", LABEL_COLS, lab, bar, pct, d, t);
}

void hub_progress_draw(hub_progress *p, const char *const *labels, const int64_t *done,
                       const int64_t *total, int n, int force) {
  if (!p->enabled) return;
  double t = now();
  if (!force && t - p->last_draw < 0.1) return;
  p->last_draw = t;
  if (p->lines) fprintf(p->out, "\x1b[%dA", p->lines);
  char line[256];
  int drawn = 0, files_done = 0;
  int64_t sum = 0, all = 0;
  for (int i = 0; i < n; i++) {
    sum += done[i];
    all += total[i] > 0 ? total[i] : 0;
    if (done[i] >= total[i]) files_done++;
    else if (done[i] > 0 && drawn < MAX_LINES) {
      hub_progress_format(line, sizeof line, labels[i], done[i], total[i], 20);
      fprintf(p->out, "\r%s\x1b[K\n", line);
      drawn++;
    }
  }
  char label[64];
  snprintf(label, sizeof label, "total (%d/%d files)", files_done, n);
  hub_progress_format(line, sizeof line, label, sum, all, 20);
  fprintf(p->out, "\r%s\x1b[K\n", line);
  drawn++;
  /* Clear lines left over from a taller previous drawing. */
  for (int i = drawn; i < p->lines; i++) fprintf(p->out, "\x1b[K\n");
  if (p->lines > drawn) fprintf(p->out, "\x1b[%dA", p->lines - drawn);
  p->lines = drawn;
  fflush(p->out);
}
