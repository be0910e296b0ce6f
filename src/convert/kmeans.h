/* kmeans.h — LUT palettization as coremltools' per_grouped_channel k-means does it: the rows of a
 * weight (output channels) are taken `group` at a time, all values of a group are clustered into
 * 2^bits centroids, and each value is replaced by the index of its nearest centroid. Deterministic:
 * exact 1-D Lloyd iterations from quantile seeds over the group's fp16 values. */
#ifndef CONVERT_KMEANS_H
#define CONVERT_KMEANS_H

#include <stdint.h>

#include "milrun.h"

/* w: rows x cols fp16 bits, row-major. group: rows per LUT (0 = one LUT for the whole tensor; else it
 * must divide rows). lut receives (rows/group) x 2^bits fp16 values, sorted ascending within a group;
 * idx receives rows x cols indices. *err2 and *ref2 are increased by sum (w - w')^2 and sum w^2. */
int conv_kmeans_palettize(const uint16_t *w, int64_t rows, int64_t cols, int bits, int64_t group, uint16_t *lut,
                          uint8_t *idx, double *err2, double *ref2, mr_error *err);

#endif
