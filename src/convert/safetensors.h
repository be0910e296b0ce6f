/* safetensors.h — read-only access to a Hugging Face checkpoint's tensors: one model.safetensors or
 * the shards named by model.safetensors.index.json, each mapped (never copied) and its JSON header
 * checked strictly (dtype, shape, offsets inside the file) before any tensor is used. */
#ifndef CONVERT_SAFETENSORS_H
#define CONVERT_SAFETENSORS_H

#include <stdint.h>

#include "milrun.h"
#include "util/file.h"

typedef enum conv_st_dtype { CONV_ST_F32, CONV_ST_F16, CONV_ST_BF16 } conv_st_dtype;

typedef struct conv_st_tensor {
  char *name;
  conv_st_dtype dtype;
  int rank;
  int64_t shape[4];
  int64_t count;
  const unsigned char *data; /* inside the mapped file */
  int file;                  /* index into conv_st.files */
} conv_st_tensor;

typedef struct conv_st {
  char **files; /* paths of the mapped files */
  util_map *maps;
  int n_files;
  conv_st_tensor *t;
  int n;
} conv_st;

/* Open the checkpoint in directory `dir`: model.safetensors.index.json when present, else
 * model.safetensors. Errors name the file and the problem. */
int conv_st_open(conv_st *st, const char *dir, mr_error *err);
void conv_st_close(conv_st *st);

const conv_st_tensor *conv_st_find(const conv_st *st, const char *name);

/* The tensor `name`, which must exist and have exactly shape[0..rank). */
int conv_st_get(const conv_st *st, const char *name, int rank, const int64_t *shape, const conv_st_tensor **out,
                mr_error *err);

/* Elements [start, start + count) of t (row-major) as float. */
void conv_st_read_f32(const conv_st_tensor *t, int64_t start, int64_t count, float *out);

/* Hint that elements [start, start + count) of t will not be read again: their mapped pages are
 * dropped from memory, so that a conversion's resident size stays at about one tensor instead of
 * growing to the whole checkpoint (the pages come back from the file if read again). Does nothing
 * for a file that was read into memory rather than mapped. */
void conv_st_release(const conv_st *st, const conv_st_tensor *t, int64_t start, int64_t count);

#endif
