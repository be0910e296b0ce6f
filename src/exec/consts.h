/* consts.h — constants of a bundle: `const` values (inline or BLOBFILE) and the results of the
 * constexpr_* decompression ops, folded once at load into exec_tensors that live as long as the
 * bundle. Large weights stay packed (weights.h); a packed tensor that reaches an op which cannot
 * read packed data is expanded once, on demand, and the copy is shared. */
#ifndef EXEC_CONSTS_H
#define EXEC_CONSTS_H

#include "exec/tensor.h"
#include "mil/blob.h"
#include "util/strmap.h"

typedef struct exec_consts exec_consts;
struct exec_consts {
  const char *model_dir;   /* resolves @model_path */
  util_arena arena;        /* every constant tensor and decoded table */
  mil_blob_file *files;    /* weight files opened so far */
  int n_files;
  util_strmap cache;       /* signature -> index in tensors */
  exec_tensor **tensors;
  int n_tensors, cap_tensors;
  size_t mapped_bytes;     /* payload bytes of referenced blobs (each blob once) */
  util_strmap blob_seen;   /* "file|offset" of blobs already counted */
  size_t decoded_bytes;    /* bytes of palettes, expanded copies and other decoded data */
};

int exec_consts_init(exec_consts *c, const char *model_dir, mr_error *err);
void exec_consts_free(exec_consts *c);

/* The tensor for a literal or BLOBFILE value. `where` prefixes messages ("model.mil:3:5"). */
int exec_const_value(exec_consts *c, const mil_value *v, const char *where, exec_tensor **out,
                     mr_error *err);
/* Fold a constexpr_* op whose params are already bound (names -> tensors). */
int exec_const_constexpr(exec_consts *c, const mil_op *op, const char *where,
                         exec_tensor *const *params, const char *const *names, int n_params,
                         exec_tensor **out, mr_error *err);
/* A dense (F32/I32/U8) version of t: t itself, or the shared expanded copy of a packed tensor. */
int exec_const_dense(exec_consts *c, exec_tensor *t, exec_tensor **out, mr_error *err);
/* Bytes held for weights: referenced mapped payloads plus decoded data. */
size_t exec_consts_bytes(const exec_consts *c);

#endif
