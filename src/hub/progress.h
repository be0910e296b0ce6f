/* progress.h — download progress bars: one line per file in flight and a total line, redrawn in
 * place on a terminal. Nothing is drawn when the output is not a terminal or in quiet mode. */
#ifndef HUB_PROGRESS_H
#define HUB_PROGRESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct hub_progress {
  FILE *out;
  int enabled;
  int lines;          /* lines drawn last time, to move back over */
  double last_draw;   /* seconds, monotonic */
} hub_progress;

/* enabled = !quiet && stdout and `out` are terminals. */
void hub_progress_init(hub_progress *p, FILE *out, int quiet);

/* One line: label cut or padded to 30 columns, a bar of `width` cells, percent and sizes, e.g.
 * "weights/weight.bin             [##########----------]  50%  79.5 kB / 158.9 kB". total < 0
 * means unknown (no bar). Always NUL-terminated. */
void hub_progress_format(char *buf, size_t cap, const char *label, int64_t done, int64_t total, int width);

/* Redraw (at most 10 times a second unless `force`): the files with 0 < done < total, then the
 * total over all n files. */
void hub_progress_draw(hub_progress *p, const char *const *labels, const int64_t *done,
                       const int64_t *total, int n, int force);

#endif
