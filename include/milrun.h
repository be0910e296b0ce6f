/*
 * milrun.h — the public C API of milrun, a portable runtime for Core ML ML Program bundles
 * (.mlmodelc) and the LLMs that Anemll splits into them.
 *
 * Conventions:
 *  - Every function that can fail returns an int: MR_OK (0) or a negative MR_E... code, and takes a
 *    trailing mr_error *err that it fills with a message a user can act on (file, line:column, what
 *    was expected). err may be NULL: then only the code is returned. No handle keeps an error.
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

/* ---- threads ----------------------------------------------------------------------------- */
/* Threads used by the CPU executor's large ops (matrix products, convolutions): n >= 1, or 0 for
 * automatic ($MILRUN_THREADS, else the number of online CPUs). Results do not depend on it. It
 * takes effect at the next mr_call_run of every bundle, including bundles already open (a bundle
 * opened with mr_bundle_options.threads uses at most that many). Call it when no prediction is
 * running. */
MR_API void mr_set_threads(int n);
/* The CPU executor's kernels: one table per instruction set, chosen at first use as the widest
 * this CPU runs unless $MILRUN_KERNELS names another. mr_kernels_names: every name this build has
 * (NULL-terminated, available or not); mr_kernels: the one in use; mr_set_kernels: use `name`
 * from now on (MR_EINVAL when this build or CPU cannot run it: nothing changes). Results agree
 * between tables within the bounds docs/runtime.md states. Call it when no prediction runs. */
MR_API const char *const *mr_kernels_names(void);
MR_API const char *mr_kernels(void);
MR_API int mr_set_kernels(const char *name, mr_error *err);
/* Integer products for 4- and 8-bit LUT weights: -1 when the kernels in use have none, else 1 on
 * (the default) or 0 off ($MILRUN_LUT_INT8=0: the float kernels, slower, exact palette values). */
MR_API int mr_lut_int8(void);

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
/* n fp16 values (as an fp16 output holds them) to floats, exactly, with the CPU's vector
 * conversion where it has one: 150K logits a token take a few microseconds, not a quarter of a
 * millisecond. */
MR_API void mr_f16_to_f32(const uint16_t *src, float *dst, size_t n);

/* ---- ML Program bundles (.mlmodelc) ---------------------------------------------------- */
typedef struct mr_bundle mr_bundle; /* a loaded .mlmodelc: program, metadata, an executor */
typedef struct mr_state mr_state;   /* a state buffer (e.g. a KV cache) of one bundle */
typedef struct mr_call mr_call;     /* a prepared call of one function of a bundle */

/* Description of one input, output or state of a function. */
typedef struct mr_io_info {
  const char *name;
  mr_dtype dtype;
  int rank;
  int64_t shape[MR_MAX_RANK]; /* -1 where the dimension is flexible ('?') */
} mr_io_info;

/* Options of mr_bundle_open; zero-initialise, every field has a default. */
typedef struct mr_bundle_options {
  const char *backend; /* the executor: "cpu", or "coreml" (built in on Apple systems only); NULL: "coreml"
                          where built in for what Core ML can load (.mlpackage, .mlmodel, a .mlmodelc
                          compiled by Apple's tools), else "cpu" */
  int threads;         /* at most this many threads for this bundle's ops; 0: mr_set_threads's setting */
  const char *compute_units; /* coreml: "all", "cpu-and-ne" (NULL: the default), "cpu-and-gpu", "cpu" */
} mr_bundle_options;

/* Open the bundle at `path` (a .mlmodelc directory, or a Core ML package: a .mlpackage directory or
 * a .mlmodel file holding an ML Program): read its program and description, map the weight files,
 * and prepare every function for execution on the chosen executor (constants folded, LUT weights
 * kept packed). opts may be NULL. On success *out is a new bundle (close it with
 * mr_bundle_close). On failure *out is NULL and err says what is wrong, naming the file; an unknown
 * backend is MR_ENOTFOUND. Thread-safe with respect to other bundles. */
MR_API int mr_bundle_open(const char *path, const mr_bundle_options *opts, mr_bundle **out, mr_error *err);
MR_API void mr_bundle_close(mr_bundle *b);
/* The name of the executor running the bundle ("cpu", "coreml"). */
MR_API const char *mr_bundle_backend(const mr_bundle *b);
/* The compute units the coreml executor loaded the bundle with ("cpu-and-ne"); NULL for cpu. */
MR_API const char *mr_bundle_compute_units(const mr_bundle *b);

/* Functions: names in program order; the default one is metadata.json's defaultFunctionName, else
 * "main", else the first function. Returned strings are owned by the bundle. */
MR_API int mr_bundle_function_count(const mr_bundle *b);
MR_API const char *mr_bundle_function_name(const mr_bundle *b, int i);
MR_API const char *mr_bundle_default_function(const mr_bundle *b);

/* Inputs (function parameters that are not states), outputs and states of `function` (NULL = the
 * default function) as declared: a flexible dimension is -1 (the outputs of a run carry the actual
 * shapes). *info points into the bundle and stays valid until it is closed. Returns the count, or
 * MR_ENOTFOUND when there is no such function. */
MR_API int mr_bundle_inputs(const mr_bundle *b, const char *function, const mr_io_info **info);
MR_API int mr_bundle_outputs(const mr_bundle *b, const char *function, const mr_io_info **info);
MR_API int mr_bundle_states(const mr_bundle *b, const char *function, const mr_io_info **info);

/* Bytes of weight memory held after loading: mapped file bytes that are referenced plus any
 * decoded copies. Used by `milrun inspect` and the memory benchmark. */
MR_API size_t mr_bundle_weight_bytes(const mr_bundle *b);

/* A new zero-filled state named `name` (as declared by the bundle's functions), in its declared
 * dtype and shape. Any function that declares a state of this name, dtype and shape can use it, in
 * any bundle opened with the same backend (one KV cache shared by an LLM's chunks). Free it with
 * mr_state_free after the calls that use it. */
MR_API int mr_state_new(mr_bundle *b, const char *name, mr_state **out, mr_error *err);
MR_API void mr_state_free(mr_state *s);
/* Borrow the state's contents: dtype and shape as declared (an fp16 state is fp16 data, two bytes
 * per element). The view stays valid until the state is freed; writes through view->data change
 * the state. On the coreml executor, whose states Core ML keeps, the view is a copy taken by this
 * call: writes through it reach the state at its next run, and a later run's changes need a new
 * view (view->data is NULL when there was no memory for the copy). */
MR_API void mr_state_view(mr_state *s, mr_tensor *view);
MR_API void mr_state_reset(mr_state *s); /* back to zeros */

/* A prepared call of `function` (NULL = the default): bind inputs and states by name once, then
 * run it any number of times; a run allocates nothing (a function with flexible inputs is planned
 * again when the input shapes change). Free with mr_call_free before closing the bundle. */
MR_API int mr_call_new(mr_bundle *b, const char *function, mr_call **out, mr_error *err);
/* Bind input `name` to t. Its dtype and shape must match the declaration (a flexible dimension
 * takes any size; fp32 data is also accepted for fp16 inputs and fp16 data for fp32 ones). t itself
 * is copied; t->data is borrowed and read at every run until the input is bound again or the call
 * is freed, so a caller may bind once and change the data between runs. */
MR_API int mr_call_set_input(mr_call *c, const char *name, const mr_tensor *t, mr_error *err);
/* Bind the state parameter `name` to s (borrowed likewise; s must outlive its use). */
MR_API int mr_call_set_state(mr_call *c, const char *name, mr_state *s, mr_error *err);
/* Run the function once. Every input and state must be bound (MR_EINVAL names the first missing). */
MR_API int mr_call_run(mr_call *c, mr_error *err);
/* Outputs of the last successful run, in declaration order: dtype, actual shape and data borrowed
 * from the bundle, valid until the next run of any call of this bundle or its close. Copy what you
 * keep. mr_call_output returns MR_OK, or MR_EINVAL when i is out of range or nothing has run yet. */
MR_API int mr_call_output_count(const mr_call *c);
MR_API int mr_call_output(const mr_call *c, int i, mr_tensor *out);
MR_API int mr_call_output_by_name(const mr_call *c, const char *name, mr_tensor *out, mr_error *err);
MR_API void mr_call_free(mr_call *c);

/* ---- Hugging Face hub -------------------------------------------------------------------- */
/* Models are kept in the standard Hugging Face cache (models--ORG--NAME/{blobs,snapshots,refs}),
 * shared with huggingface_hub and llama.cpp: a file already there is never downloaded again. */
#define MR_DEFAULT_MODEL "anemll/anemll-Qwen-Qwen3-0.6B-LUT888-ctx512_0.3.4"

/* Options of a download; zero-initialise, every field has a default. */
typedef struct mr_hub_options {
  const char *cache_dir;       /* NULL: $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub */
  const char *endpoint;        /* NULL: $HF_ENDPOINT, else https://huggingface.co */
  const char *token;           /* NULL: $HF_TOKEN, else the file $HF_HOME/token, else none */
  const char *revision;        /* NULL: the @REV of the spec, else "main" */
  const char *const *include;  /* NULL-terminated globs of repository paths to get; NULL: all */
  int jobs;                    /* parallel connections; 0: 4 */
  int quiet;                   /* 1: no progress bars (drawn only when stdout is a terminal) */
  int offline;                 /* 1: use only the cache, as HF_HUB_OFFLINE=1 does */
  const char *const *exclude;  /* NULL-terminated globs of repository paths to skip; NULL: none */
} mr_hub_options;

/* Download "ORG/NAME[@REVISION]" into the cache: list its files with the tree API, fetch the
 * missing ones (resuming partial ones), check LFS files' sha256, link them into the snapshot and
 * unzip *.mlmodelc.zip files there. When the hub cannot be reached and the cache holds the
 * revision, that snapshot is used. On success *snapshot_dir is a new string (free with mr_free):
 * the snapshot folder. Errors: MR_ENET (unreachable, 401, gated, corrupted download), MR_ENOTFOUND
 * (no such repository, revision or file), MR_EINVAL (bad spec), MR_EIO; the message says what to
 * do. Thread-safe; two processes may share a cache (a file being downloaded is locked). */
MR_API int mr_hub_pull(const char *repo_spec, const mr_hub_options *opts, char **snapshot_dir,
                       mr_error *err);

/* What `--model X` calls: an existing local folder X is returned as is; otherwise X is a
 * repository spec handled as mr_hub_pull does (offline: the cache only). *path as above. */
MR_API int mr_hub_resolve(const char *model, const mr_hub_options *opts, char **path, mr_error *err);

/* ---- tokenizer (src/tok/) ---------------------------------------------------------------- */
/* A byte-level BPE tokenizer read from a Hugging Face tokenizer.json (Qwen2/2.5/3, Llama-3, GPT-2
 * style), giving the same ids as HF `tokenizers` with add_special_tokens=False, plus the chat
 * template of tokenizer_config.json. A handle is not thread-safe (encode uses scratch buffers and a
 * word cache inside it); use one per thread. */
typedef struct mr_tokenizer mr_tokenizer;

/* Open `path`: a tokenizer.json file, or a directory holding one. tokenizer_config.json (and
 * chat_template.jinja) next to it are read when present. On failure *out is NULL and err names the
 * file and the problem; a tokenizer kind milrun cannot reproduce exactly fails with MR_ENOTSUP. */
MR_API int mr_tokenizer_open(const char *path, mr_tokenizer **out, mr_error *err);
MR_API void mr_tokenizer_close(mr_tokenizer *t);

/* Encode flags. */
#define MR_TOK_PARSE_SPECIAL 1 /* special added tokens in the text become their ids (HF's default);
                                  without it they are encoded as ordinary text */
/* Encode `len` bytes of `text` (any bytes: invalid UTF-8 bytes become their byte tokens). On success
 * *ids is a new array of *n_ids ids (free with mr_free; NULL when *n_ids is 0). */
MR_API int mr_tokenizer_encode(mr_tokenizer *t, const char *text, size_t len, int flags, int32_t **ids,
                               size_t *n_ids, mr_error *err);

/* Decode flags. */
#define MR_TOK_SKIP_SPECIAL 2 /* leave out special tokens */
/* Decode ids to UTF-8 text (*text is new, NUL-terminated, free with mr_free; *len may be NULL).
 * Byte sequences that are not valid UTF-8 become U+FFFD, as HF's decode does. Ids in the padding
 * between the tokenizer's tokens and the model's vocabulary size decode to nothing; ids outside
 * [0, vocab size) fail with MR_EINVAL. */
MR_API int mr_tokenizer_decode(const mr_tokenizer *t, const int32_t *ids, size_t n, int flags, char **text,
                               size_t *len, mr_error *err);

/* Number of ids: 1 + the largest id of tokenizer.json, or the model's vocabulary size once set.
 * mr_tokenizer_set_vocab_size pads to the model's embedding rows (151,936 for Qwen3); it fails with
 * MR_EINVAL if n is smaller than the tokenizer's own count. */
MR_API int32_t mr_tokenizer_vocab_size(const mr_tokenizer *t);
MR_API int mr_tokenizer_set_vocab_size(mr_tokenizer *t, int32_t n, mr_error *err);
/* The id of a token string as HF spells it ("<|im_end|>", "Ġworld"), or -1. */
MR_API int32_t mr_tokenizer_token_id(const mr_tokenizer *t, const char *token);
/* The token string of an id (owned by the tokenizer), or NULL for an id without a token. */
MR_API const char *mr_tokenizer_token(const mr_tokenizer *t, int32_t id);
/* The raw bytes an id decodes to (a piece of a UTF-8 character for some ids); returns their count
 * (0 for ids without text). The bytes are owned by the tokenizer and not NUL-terminated. */
MR_API size_t mr_tokenizer_token_bytes(const mr_tokenizer *t, int32_t id, const char **bytes);
/* 1 if id is a special added token (<|im_end|>, ...), else 0. */
MR_API int mr_tokenizer_is_special(const mr_tokenizer *t, int32_t id);
/* The ids of tokenizer_config.json's bos_token / eos_token, or -1 when not set. */
MR_API int32_t mr_tokenizer_bos_id(const mr_tokenizer *t);
MR_API int32_t mr_tokenizer_eos_id(const mr_tokenizer *t);

/* Streaming decoder: push ids one at a time and get back only complete UTF-8 text, so that a
 * character split over several tokens (an emoji) is returned once, whole. */
typedef struct mr_detok mr_detok;
MR_API int mr_detok_new(const mr_tokenizer *t, int flags /* MR_TOK_SKIP_SPECIAL */, mr_detok **out,
                        mr_error *err);
/* Add one id. text and len receive the text that became complete (possibly empty); the pointer stays
 * valid until the next call on d. Invalid byte sequences come out as U+FFFD. */
MR_API int mr_detok_push(mr_detok *d, int32_t id, const char **text, size_t *len, mr_error *err);
/* End of stream: returns what is left (an unfinished sequence becomes U+FFFD) and resets d. */
MR_API void mr_detok_flush(mr_detok *d, const char **text, size_t *len);
MR_API void mr_detok_free(mr_detok *d);

/* Chat templates. milrun renders the template families it knows natively and recognises the
 * family from the template text: Qwen3 (with thinking), Qwen2.5 and Llama-3. Any other template,
 * or a conversation the template would render with features milrun does not implement (tools,
 * other roles), fails with MR_ENOTSUP rather than render something different from transformers. */
typedef struct mr_chat_message {
  const char *role; /* "system", "user" or "assistant" */
  const char *content;
} mr_chat_message;
typedef struct mr_chat_options { /* zero = transformers' defaults */
  int no_generation_prompt;      /* add_generation_prompt=False */
  int no_think;                  /* enable_thinking=False (Qwen3) */
} mr_chat_options;
/* Render messages; *text is new (free with mr_free). opts may be NULL. */
MR_API int mr_tokenizer_chat(const mr_tokenizer *t, const mr_chat_message *msgs, size_t n,
                             const mr_chat_options *opts, char **text, mr_error *err);
/* The recognised family ("qwen3", "qwen2.5", "llama3"), or NULL (no template or not recognised). */
MR_API const char *mr_tokenizer_chat_family(const mr_tokenizer *t);

/* ---- text generation (src/llm/) ---------------------------------------------------------- */
/* Sampling, as llama.cpp's chain in this order: penalties over the last repeat_last_n tokens,
 * top-k, top-p, min-p (on probabilities at temperature 1), temperature, then a seeded draw. */
typedef struct mr_sampling {
  float temperature;       /* 0.8; <= 0: greedy (the largest logit) */
  int top_k;               /* 40; 0: off */
  float top_p;             /* 0.95; 1: off */
  float min_p;             /* 0.05; 0: off */
  float repeat_penalty;    /* 1.0 (off) */
  int repeat_last_n;       /* 64: how many of the last tokens the penalties look at */
  float presence_penalty;  /* 0.0 */
  float frequency_penalty; /* 0.0 */
  uint64_t seed;           /* the same seed, build and thread count give the same tokens */
} mr_sampling;
/* Fill s with the defaults above (seed 0). */
MR_API void mr_sampling_defaults(mr_sampling *s);

/* An LLM in Anemll's layout: embeddings, FFN chunks (prefill + infer over one KV state), LM head
 * (logits parts or in-model argmax), or one 0.3.5 monolithic bundle; with its tokenizer. */
typedef struct mr_model mr_model;

enum { MR_PREFILL_AUTO = 0, /* from meta.yaml: 0.3.4 padded batches, 0.3.5 full batches */
       MR_PREFILL_PADDED,   /* every batch of B through prefill, the last one right-padded with id 0 */
       MR_PREFILL_FULL,     /* full batches through prefill, the rest one token at a time through infer */
       MR_PREFILL_SINGLE }; /* every token through infer */

typedef struct mr_model_options { /* zero-initialise */
  int prefill;                    /* MR_PREFILL_* */
  const mr_hub_options *hub;      /* for a Hugging Face id; NULL: defaults */
  mr_bundle_options bundle;       /* how every component is opened (executor, compute units);
                                     zero: mr_bundle_open's defaults */
} mr_model_options;

/* Open `model`: "demo" (the offline demo model setup.sh builds), a folder with meta.yaml, a
 * model-config JSON file naming each component (candle-coreml's ModelConfig: components.
 * {embeddings, ffn_prefill, ffn_infer, lm_head}.file_path, optional tokenizer), or a Hugging Face id
 * ORG/NAME[@REV] (downloaded into the cache on first use; HF_HUB_OFFLINE honoured). NULL means
 * MR_DEFAULT_MODEL. Shapes, names and the state come from the components' own files. */
MR_API int mr_model_open(const char *model, const mr_model_options *opts, mr_model **out, mr_error *err);
MR_API void mr_model_close(mr_model *m);
MR_API mr_tokenizer *mr_model_tokenizer(const mr_model *m); /* NULL when the model ships none */
MR_API int mr_model_context(const mr_model *m);             /* positions of the KV state */
MR_API int64_t mr_model_vocab(const mr_model *m);
MR_API const char *mr_model_dir(const mr_model *m);          /* where it was found */
/* Token ids that end a generation: the tokenizer's eos, generation_config.json's eos_token_id, and
 * <|im_end|>, <|endoftext|>, <|eot_id|>, <end_of_turn> where they are single tokens. */
MR_API int mr_model_stop_tokens(const mr_model *m, const int32_t **ids);
/* 1 when the LM head returns argmax_idx/argmax_val (0.3.5 --argmax): greedy decoding only. */
MR_API int mr_model_argmax_only(const mr_model *m);
/* Component i of the model, 0.. until NULL: its bundle, and in *what its part ("embeddings",
 * "ffn[1]", "ffn[1].prefill" / "ffn[1].infer" when split, "lm_head", or "model" when monolithic;
 * owned by the model). For saying which executor runs what (mr_bundle_backend). */
MR_API const mr_bundle *mr_model_component(const mr_model *m, int i, const char **what);

/* What an opened model is made of, for benchmarks and listings. */
typedef struct mr_model_info {
  int context, batch, chunks; /* batch: the prefill length; chunks: FFN chunks (0: monolithic) */
  int prefill;                /* MR_PREFILL_* in use (never AUTO) */
  int64_t vocab;
  int64_t file_bytes;         /* every component's files */
  int64_t state_bytes;        /* the KV state (each session holds one) */
  /* The embeddings' files (their table is read from the mapped file, not held), the weight memory
   * (mr_bundle_weight_bytes) of every FFN chunk (a monolithic model's whole bundle) and the LM head. */
  int64_t emb_bytes, ffn_bytes, head_bytes;
} mr_model_info;
MR_API void mr_model_info_get(const mr_model *m, mr_model_info *out);

/* A conversation's KV state and tokens. Each session has its own KV state, so one model can serve
 * several conversations; the model and its sessions are used by one thread at a time (the
 * sessions' calls may interleave between tokens, e.g. from a generation's token callback). Not
 * thread-safe otherwise, except mr_session_cancel. */
typedef struct mr_session mr_session;
typedef struct mr_session_options { /* zero-initialise */
  int context;                      /* positions used; 0: the model's; at most the model's */
  int keep;                         /* tokens kept at the front when the window shifts */
  int no_shift;                     /* 1: stop at a full context (finish "context") instead of shifting */
  mr_sampling sampling;             /* zero-initialised: mr_sampling_defaults is applied */
  int has_sampling;                 /* 1: use `sampling` as given */
  /* Each component call with its input/output shapes and time, one line (no newline). */
  void (*trace)(void *ud, const char *line);
  void *trace_ud;
} mr_session_options;
MR_API int mr_session_new(mr_model *m, const mr_session_options *opts, mr_session **out, mr_error *err);
MR_API void mr_session_free(mr_session *s);
/* Make ids[0..n) the session's tokens: the longest prefix shared with the tokens already computed
 * keeps its KV entries and only the rest is prefilled (multi-turn chat re-sends the whole
 * conversation). Fails with MR_EINVAL when n exceeds the context. */
MR_API int mr_session_feed(mr_session *s, const int32_t *ids, size_t n, mr_error *err);
MR_API size_t mr_session_tokens(const mr_session *s, const int32_t **ids);
MR_API void mr_session_reset(mr_session *s); /* forget every token */
/* The sampler's random state (to save and restore a conversation exactly). */
MR_API void mr_session_rng(mr_session *s, uint64_t state[4], int set);
/* Sample the following generations with new settings (checked as mr_session_new does; the random
 * generator restarts from their seed). */
MR_API int mr_session_set_sampling(mr_session *s, const mr_sampling *sampling, mr_error *err);
/* Log-probabilities of generated tokens under the model's distribution (softmax of the raw logits:
 * before penalties and temperature). With n >= 0 each step also finds the n most likely tokens;
 * n < 0 turns it off. MR_ENOTSUP for an argmax-only head. */
MR_API int mr_session_set_logprobs(mr_session *s, int n, mr_error *err);
/* From a token callback: the token's log-probability, and the ids and log-probabilities of the n
 * most likely tokens (best first). Returns n, or -1 when turned off. Valid until the next step. */
MR_API int mr_session_logprobs(const mr_session *s, float *chosen, const int32_t **ids, const float **logprobs);

/* Called for each generated token with the UTF-8 text that it completed (possibly empty; a
 * character split over tokens comes whole with its last token); at the end once with id -1 and what
 * the streaming decoder still held. Return nonzero to stop. */
typedef int (*mr_token_fn)(void *ud, int32_t id, const char *text, size_t len);
enum { MR_FINISH_STOP = 0, MR_FINISH_LENGTH, MR_FINISH_CANCEL, MR_FINISH_CONTEXT };
MR_API const char *mr_finish_name(int finish); /* "stop", "length", "cancel", "context" */
typedef struct mr_generate_options { /* zero-initialise */
  int max_tokens;                    /* 0: until a stop token (or a full context with no_shift) */
  int ignore_stop;                   /* 1: stop tokens do not end the generation */
} mr_generate_options;
/* Generate after the fed tokens (each new token is appended to them). The first token comes from
 * the last fed position. *finish receives MR_FINISH_*. Allocates nothing per token. */
MR_API int mr_session_generate(mr_session *s, const mr_generate_options *opts, mr_token_fn cb, void *ud,
                               int *finish, mr_error *err);
/* Stop the running generation after its current step (async-signal-safe: call it from SIGINT). */
MR_API void mr_session_cancel(mr_session *s);

/* Counters since the session was made (times in milliseconds). */
typedef struct mr_session_stats {
  double load_ms;                  /* opening the model */
  int64_t prompt_tokens;           /* tokens fed */
  int64_t prefill_tokens;          /* fed tokens actually computed (the rest reused their KV) */
  double prefill_ms;
  double ttft_ms;                  /* last generation: call to first token */
  int64_t generated_tokens;
  double decode_ms;
  int64_t shifts;                  /* context shifts */
  int64_t calls[4];                /* embeddings, FFN chunks, LM head, sampler */
  double ms[4];
} mr_session_stats;
MR_API void mr_session_stats_get(const mr_session *s, mr_session_stats *out);

#ifdef __cplusplus
}
#endif
#endif /* MILRUN_H */
