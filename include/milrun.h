/*
 * milrun.h — the public C API of milrun, a portable runtime for Core ML ML Program bundles
 * (.mlmodelc) and the LLMs that Anemll splits into them.
 *
 * Conventions (docs/STYLE.md of the design notes):
 *  - Every function that can fail returns an int: MR_OK (0) or a negative MR_E... code, and fills an
 *    mr_error with a message a user can act on (file, line:column, what was expected).
 *  - Handles are opaque; X_open/X_close and X_new/X_free come in pairs; freeing NULL does nothing.
 *  - All heap memory goes through mr_alloc/mr_realloc/mr_free, which an embedder may replace.
 *  - Unless said otherwise a handle is not thread-safe: use one per thread, or lock around it.
 */
#ifndef MILRUN_H
#define MILRUN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(MR_BUILDING)
#define MR_API __declspec(dllexport)
#elif defined(__GNUC__)
#define MR_API __attribute__((visibility("default")))
#else
#define MR_API
#endif

#define MR_VERSION "0.1.0"

/* ---- errors ------------------------------------------------------------------------------ */
enum {
  MR_OK = 0,
  MR_ENOMEM = -1,    /* out of memory */
  MR_EIO = -2,       /* a file could not be opened, read or written */
  MR_EFORMAT = -3,   /* malformed input file (model.mil, weight.bin, JSON, ...) */
  MR_EINVAL = -4,    /* invalid argument or misuse of the API */
  MR_ENOTSUP = -5,   /* valid input that milrun does not support (unknown op, dtype, ...) */
  MR_ESHAPE = -6,    /* tensor shape or dtype mismatch */
  MR_ENOTFOUND = -7, /* a named function, input, output, state or file does not exist */
  MR_ENET = -8,      /* network failure, HTTP error */
  MR_ECANCEL = -9,   /* cancelled by the caller */
  MR_EINTERNAL = -10 /* a bug in milrun: please report it */
};

#define MR_ERRMSG_MAX 1024
/* An error: a code and a message. Zero-initialise it; functions overwrite it only on failure. */
typedef struct mr_error {
  int code;
  char msg[MR_ERRMSG_MAX];
} mr_error;

/* A short generic text for an error code ("out of memory", ...). Never NULL. */
MR_API const char *mr_strerror(int code);

/* ---- memory ------------------------------------------------------------------------------ */
/* Replace the allocator used by every part of milrun. realloc_fn(ptr, size) follows C realloc
 * semantics; size 0 frees. Call before any other milrun function; not thread-safe. NULL restores
 * the C library allocator. */
typedef void *(*mr_realloc_fn)(void *ud, void *ptr, size_t size);
MR_API void mr_set_allocator(mr_realloc_fn realloc_fn, void *ud);
MR_API void *mr_alloc(size_t size);
MR_API void *mr_realloc(void *ptr, size_t size);
MR_API void mr_free(void *ptr);

/* ---- tensors ----------------------------------------------------------------------------- */
typedef enum mr_dtype {
  MR_FLOAT32 = 0,
  MR_FLOAT16 = 1,
  MR_INT32 = 2,
  MR_BOOL = 3, /* one byte per element, 0 or 1 */
  MR_DTYPE_COUNT
} mr_dtype;

#define MR_MAX_RANK 8

/* A dense row-major tensor. `data` is owned by whoever filled it (see each function). */
typedef struct mr_tensor {
  mr_dtype dtype;
  int rank;
  int64_t shape[MR_MAX_RANK];
  void *data;
} mr_tensor;

MR_API const char *mr_dtype_name(mr_dtype dtype);
MR_API size_t mr_dtype_size(mr_dtype dtype);
MR_API int64_t mr_tensor_count(const mr_tensor *t); /* number of elements (1 for rank 0) */

/* ---- ML Program bundles (.mlmodelc) ---------------------------------------------------- */
typedef struct mr_bundle mr_bundle; /* a loaded .mlmodelc: program, weights, metadata */
typedef struct mr_state mr_state;   /* a state buffer (e.g. a KV cache) of one bundle */

/* Description of one input, output or state of a function. */
typedef struct mr_io_info {
  const char *name;
  mr_dtype dtype;
  int rank;
  int64_t shape[MR_MAX_RANK]; /* -1 where the dimension is flexible ('?') */
} mr_io_info;

/* Open the .mlmodelc directory at `path`: parse model.mil, read metadata.json, map the weight
 * files, and prepare every function for execution (constants folded, LUT weights kept packed).
 * On success *out is a new bundle (close it with mr_bundle_close). On failure *out is NULL and
 * err says what is wrong, naming the file. Thread-safe with respect to other bundles. */
MR_API int mr_bundle_open(const char *path, mr_bundle **out, mr_error *err);
MR_API void mr_bundle_close(mr_bundle *b);

/* The last error of a call on this bundle. */
MR_API const char *mr_bundle_errmsg(const mr_bundle *b);

/* Functions: names in program order; the default one is metadata.json's defaultFunctionName, else
 * the only/first function. Returned strings are owned by the bundle. */
MR_API int mr_bundle_function_count(const mr_bundle *b);
MR_API const char *mr_bundle_function_name(const mr_bundle *b, int i);
MR_API const char *mr_bundle_default_function(const mr_bundle *b);

/* Inputs (function parameters that are not states), outputs and states of `function` (NULL = the
 * default function). *info points into the bundle. Returns the count, or MR_ENOTFOUND. */
MR_API int mr_bundle_inputs(const mr_bundle *b, const char *function, const mr_io_info **info);
MR_API int mr_bundle_outputs(const mr_bundle *b, const char *function, const mr_io_info **info);
MR_API int mr_bundle_states(const mr_bundle *b, const char *function, const mr_io_info **info);

/* A new zero-filled state named `name` (as declared by the bundle's functions). Any function of the
 * bundle that declares a state of this name and type can use it. Free with mr_state_free. */
MR_API int mr_state_new(mr_bundle *b, const char *name, mr_state **out);
MR_API void mr_state_free(mr_state *s);
/* Borrow the state's contents (dtype and shape as declared; fp16 states are fp16). The view
 * stays valid until the state is freed; writes through view->data change the state. */
MR_API void mr_state_view(mr_state *s, mr_tensor *view);
MR_API void mr_state_reset(mr_state *s); /* back to zeros */

/* Run `function` (NULL = default) once. inputs[i] is bound to the input named input_names[i]; its
 * dtype and shape must match the declaration (fp32 data is also accepted for fp16 inputs).
 * states[i] is bound to the state parameter named state_names[i]. On success outputs[i] receives
 * output number i in declaration order (n_outputs may be smaller than the count): dtype, shape and
 * a data pointer borrowed from the bundle, valid until the next predict on this bundle or its close.
 * Copy what you keep. */
MR_API int mr_bundle_predict(mr_bundle *b, const char *function,
                             int n_inputs, const char *const *input_names, const mr_tensor *inputs,
                             int n_states, const char *const *state_names, mr_state *const *states,
                             int n_outputs, mr_tensor *outputs);

/* Bytes of weight memory held after loading: mapped file bytes that are referenced plus any
 * decoded copies. Used by `milrun inspect` and the memory benchmark. */
MR_API size_t mr_bundle_weight_bytes(const mr_bundle *b);

#ifdef __cplusplus
}
#endif
#endif /* MILRUN_H */
