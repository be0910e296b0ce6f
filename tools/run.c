/* run.c — `milrun run`: one prediction of one function of a bundle, tensors in and out as .npy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "commands.h"
#include "milrun.h"
#include "model_path.h"
#include "opts.h"
#include "util/alloc.h"
#include "util/file.h"
#include "util/fp16.h"
#include "util/npy.h"

/* xorshift64*: reproducible across platforms for a given seed. */
static uint64_t next_random(uint64_t *s) {
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return *s * 2685821657736338717ull;
}

static int fill_random(mr_tensor *t, const mr_io_info *info, uint64_t *seed) {
  t->dtype = info->dtype == MR_FLOAT16 ? MR_FLOAT32 : info->dtype;
  t->rank = info->rank;
  memcpy(t->shape, info->shape, sizeof t->shape);
  for (int d = 0; d < t->rank; d++)
    if (t->shape[d] < 0) t->shape[d] = 1;
  int64_t n = mr_tensor_count(t);
  t->data = mr_alloc((size_t)n * mr_dtype_size(t->dtype) + 1);
  if (!t->data) return -1;
  for (int64_t i = 0; i < n; i++) {
    uint64_t r = next_random(seed);
    if (t->dtype == MR_FLOAT32) ((float *)t->data)[i] = (float)((double)(r >> 11) / 9007199254740992.0 * 2.0 - 1.0);
    else if (t->dtype == MR_INT32) ((int32_t *)t->data)[i] = (int32_t)(r >> 60);
    else ((uint8_t *)t->data)[i] = (uint8_t)(r >> 63);
  }
  return 0;
}

/* One NAME=FILE option: name is argv's text up to the '='. */
typedef struct named_file {
  const char *name, *file;
  size_t name_len;
} named_file;

/* NAME=FILE into the next entry of nf (sized argc: there cannot be more options than arguments). */
static int name_file(const char *v, named_file *nf, int *n, char *why, size_t whysz) {
  const char *eq = strchr(v, '=');
  if (!eq || eq == v || !eq[1]) return snprintf(why, whysz, "expected NAME=FILE.npy, got '%s'", v), 1;
  nf[(*n)++] = (named_file){v, eq + 1, (size_t)(eq - v)};
  return 0;
}

static int is_named(const named_file *nf, const char *name) {
  return strlen(name) == nf->name_len && !memcmp(nf->name, name, nf->name_len);
}

typedef struct run_args {
  const char *bundle, *function, *out_dir;
  named_file *in, *st; /* argc entries each: there cannot be more options than arguments */
  int n_in, n_st, have_seed, verbose;
  uint64_t seed;
  mr_bundle_options opts;
} run_args;

static int input_opt(void *dest, const char *v, char *why, size_t whysz) {
  run_args *a = dest;
  return name_file(v, a->in, &a->n_in, why, whysz);
}

static int state_opt(void *dest, const char *v, char *why, size_t whysz) {
  run_args *a = dest;
  return name_file(v, a->st, &a->n_st, why, whysz);
}

static int seed_opt(void *dest, const char *v, char *why, size_t whysz) {
  run_args *a = dest;
  char *end;
  a->seed = strtoull(v, &end, 10);
  if (end == v || *end || v[0] == '-') return snprintf(why, whysz, "expected an integer seed, got '%s'", v), 1;
  a->seed = a->seed * 2654435761u + 88172645463325252ull;
  a->have_seed = 1;
  return 0;
}

static int parse_args(int argc, char **argv, run_args *a) {
  const tool_opt opts[] = {
    {"function", 'f', OPT_STR, &a->function, "F", "function to run (default: the bundle's default function)", 0, 0, NULL},
    {"input", 'i', OPT_FN, a, "NAME=FILE", "an input as .npy (float32/float16 for float inputs, int32," OPT_NL
     "bool; float64, int64 and uint8 are read with a note); repeatable", 0, 0, input_opt},
    {"random", 0, OPT_FN, a, "SEED", "fill inputs not given with reproducible random values" OPT_NL
     "(floats uniform in [-1, 1), integers in [0, 16), bools 0/1;" OPT_NL "a flexible '?' dimension is 1)", 0, 0, seed_opt},
    {"state", 's', OPT_FN, a, "NAME=FILE", "initial contents of a state (default: zeros); repeatable", 0, 0, state_opt},
    {"output-dir", 'o', OPT_STR, &a->out_dir, "DIR", "where to write outputs and final states (required)", 0, 0, NULL},
    TOOL_BACKEND_OPTS(&a->opts),
    {"verbose", 'v', OPT_FLAG, &a->verbose, NULL, "say which executor and compute units run the bundle", 0, 0, NULL},
    {NULL, 0, 0, NULL, NULL, NULL, 0, 0, NULL}};
  const tool_cmd cmd = {
    "run", "BUNDLE [options]",
    "Run one function once. Inputs and (optionally) initial states come from .npy files;\n"
    "outputs and final states are written as DIR/<name>.npy. BUNDLE is a .mlmodelc or .mlpackage\n"
    "folder, a .mlmodel file, or a bundle in a Hugging Face repository, ORG/NAME[@REV]:path/in/repo.mlmodelc (downloaded on first use).\n"
    "Every NAME must exist in the function; the output folder is checked before the model runs.",
    opts, NULL, 1, 1, "BUNDLE"};
  int npos;
  int rc = tool_parse(&cmd, argc, argv, &a->bundle, &npos);
  if (!rc && !a->out_dir) rc = tool_usage_error(&cmd, "--output-dir DIR is required");
  return rc;
}

static int write_npy(const char *dir, const char *name, const mr_tensor *t) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s.npy", dir, name);
  mr_error err = {0};
  if (util_npy_write(path, t, &err)) {
    fprintf(stderr, "milrun run: %s\n", err.msg);
    return 1;
  }
  return 0;
}

static void summarize(const char *name, const mr_tensor *t) {
  int64_t n = mr_tensor_count(t);
  double lo = 0, hi = 0, sum = 0;
  for (int64_t i = 0; i < n; i++) {
    double v = t->dtype == MR_FLOAT32 ? ((float *)t->data)[i]
               : t->dtype == MR_FLOAT16 ? util_f16_to_f32(((uint16_t *)t->data)[i])
               : t->dtype == MR_INT32 ? ((int32_t *)t->data)[i] : ((uint8_t *)t->data)[i];
    if (!i || v < lo) lo = v;
    if (!i || v > hi) hi = v;
    sum += v;
  }
  printf("  %-28s %-5s [", name, mr_dtype_name(t->dtype));
  for (int d = 0; d < t->rank; d++) printf("%s%lld", d ? ", " : "", (long long)t->shape[d]);
  printf("]  min %.6g  max %.6g  mean %.6g\n", lo, hi, n ? sum / (double)n : 0.0);
}

/* Fill a state from a float32 or float16 .npy of its shape (converted to the state's dtype). */
static int load_state(mr_state *s, const named_file *nf) {
  mr_tensor init, view;
  mr_error err = {0};
  const char *stored = NULL;
  if (util_npy_read_stored(nf->file, &init, &stored, &err)) {
    fprintf(stderr, "milrun run: %s\n", err.msg);
    return 1;
  }
  mr_state_view(s, &view);
  int ok = init.rank == view.rank && (init.dtype == MR_FLOAT32 || init.dtype == MR_FLOAT16) &&
           (view.dtype == MR_FLOAT32 || view.dtype == MR_FLOAT16);
  for (int d = 0; ok && d < view.rank; d++) ok = init.shape[d] == view.shape[d];
  for (int64_t e = 0; ok && e < mr_tensor_count(&view); e++) {
    float f = init.dtype == MR_FLOAT32 ? ((float *)init.data)[e] : util_f16_to_f32(((uint16_t *)init.data)[e]);
    if (view.dtype == MR_FLOAT16) ((uint16_t *)view.data)[e] = util_f32_to_f16(f);
    else ((float *)view.data)[e] = f;
  }
  mr_free(init.data);
  if (!ok)
    fprintf(stderr, "milrun run: %s (%s, rank %d) does not match state '%.*s' (float32 or float16, rank %d)\n", nf->file,
            stored, init.rank, (int)nf->name_len, nf->name, view.rank);
  return !ok;
}

/* A .npy's stored dtype against the input's: the same kind converts (float64 -> float32 and int64 ->
 * int32 with a note, uint8 -> bool as nonzero), any other kind is refused by its NumPy name. */
static int check_dtype(const char *file, const char *stored, const mr_io_info *info) {
  int is_float = info->dtype == MR_FLOAT32 || info->dtype == MR_FLOAT16;
  const char *same[2] = {is_float ? "float32" : info->dtype == MR_INT32 ? "int32" : "bool", is_float ? "float16" : NULL};
  const char *wide = is_float ? "float64" : info->dtype == MR_INT32 ? "int64" : "uint8";
  if (!strcmp(stored, same[0]) || (same[1] && !strcmp(stored, same[1]))) return 0;
  if (!strcmp(stored, wide)) {
    fprintf(stderr, "milrun run: note: %s holds %s; read as %s for input '%s'%s\n", file, stored, same[0], info->name,
            info->dtype == MR_BOOL ? " (nonzero = true)" : "");
    return 0;
  }
  fprintf(stderr, "milrun run: input '%s' is %s but %s holds %s (save it as %s)\n", info->name, mr_dtype_name(info->dtype),
          file, stored, same[0]);
  return 1;
}

/* Bind every input: from its --input file, else random values with --random. */
static int bind_inputs(run_args *a, mr_call *c, const mr_io_info *info, int ni, mr_tensor *inputs) {
  mr_error err = {0};
  for (int i = 0; i < ni; i++) {
    int k = 0;
    while (k < a->n_in && !is_named(&a->in[k], info[i].name)) k++;
    if (k < a->n_in) {
      const char *stored = NULL;
      if (util_npy_read_stored(a->in[k].file, &inputs[i], &stored, &err)) break;
      if (check_dtype(a->in[k].file, stored, &info[i])) return 1;
    } else if (!a->have_seed) {
      fprintf(stderr, "milrun run: input '%s' is missing (give --input %s=FILE.npy or --random SEED)\n", info[i].name, info[i].name);
      return 1;
    } else if (fill_random(&inputs[i], &info[i], &a->seed)) {
      fprintf(stderr, "milrun run: out of memory\n");
      return 1;
    }
    if (mr_call_set_input(c, info[i].name, &inputs[i], &err)) break;
  }
  if (err.code) fprintf(stderr, "milrun run: %s\n", err.msg);
  return err.code != 0;
}

/* Create every state (zeros, or its --state file) and bind it. */
static int bind_states(run_args *a, mr_bundle *b, mr_call *c, const mr_io_info *info, int ns, mr_state **states) {
  mr_error err = {0};
  for (int i = 0; i < ns; i++) {
    if (mr_state_new(b, info[i].name, &states[i], &err) || mr_call_set_state(c, info[i].name, states[i], &err)) {
      fprintf(stderr, "milrun run: %s\n", err.msg);
      return 1;
    }
    for (int k = 0; k < a->n_st; k++)
      if (is_named(&a->st[k], info[i].name) && load_state(states[i], &a->st[k])) return 1;
  }
  return 0;
}

/* Every name given on the command line must exist: a typo would otherwise run with zeros. */
static int check_names(const char *what, const char *fn, const named_file *nf, int n, const mr_io_info *info, int ni) {
  for (int k = 0; k < n; k++) {
    int i = 0;
    while (i < ni && !is_named(&nf[k], info[i].name)) i++;
    if (i < ni) continue;
    fprintf(stderr, "milrun run: function '%s' has no %s '%.*s' (it has:", fn, what, (int)nf[k].name_len, nf[k].name);
    for (i = 0; i < ni; i++) fprintf(stderr, " %s", info[i].name);
    fprintf(stderr, "%s)\n", ni ? "" : " none");
    return 1;
  }
  return 0;
}

/* The output folder exists (or is made) and is writable before the model runs. */
static int prepare_output(const char *dir) {
  mr_error err = {0};
  if (util_exists(dir) && !util_is_dir(dir)) {
    fprintf(stderr, "milrun run: --output-dir %s is a file, not a folder\n", dir);
    return 1;
  }
  if (util_mkdirs(dir, &err)) {
    fprintf(stderr, "milrun run: %s\n", err.msg);
    return 1;
  }
  if (access(dir, W_OK) != 0) {
    fprintf(stderr, "milrun run: --output-dir %s is not writable\n", dir);
    return 1;
  }
  return 0;
}

/* Outputs, then final states (in their declared dtype), as DIR/<name>.npy. */
static int write_results(const run_args *a, const mr_call *c, const mr_io_info *out_info, const mr_io_info *st_info,
                         mr_state **states, int ns) {
  int rc = 0;
  for (int i = 0; i < mr_call_output_count(c) && !rc; i++) {
    mr_tensor t;
    mr_call_output(c, i, &t);
    summarize(out_info[i].name, &t);
    rc = write_npy(a->out_dir, out_info[i].name, &t);
  }
  for (int i = 0; i < ns && !rc; i++) {
    mr_tensor view;
    mr_state_view(states[i], &view);
    summarize(st_info[i].name, &view);
    rc = write_npy(a->out_dir, st_info[i].name, &view);
  }
  return rc;
}

static int run(run_args *a, mr_bundle *b) {
  const char *fn = a->function ? a->function : mr_bundle_default_function(b);
  const mr_io_info *in_info, *out_info, *st_info;
  int ni = mr_bundle_inputs(b, fn, &in_info);
  if (ni < 0) {
    fprintf(stderr, "milrun run: %s has no function '%s'\n", a->bundle, fn);
    return 1;
  }
  int ns = mr_bundle_states(b, fn, &st_info), rc = 1;
  mr_bundle_outputs(b, fn, &out_info);
  if (check_names("input", fn, a->in, a->n_in, in_info, ni) || check_names("state", fn, a->st, a->n_st, st_info, ns) ||
      prepare_output(a->out_dir))
    return 1;
  mr_tensor *inputs = util_calloc((size_t)ni + 1, sizeof *inputs);
  mr_state **states = util_calloc((size_t)ns + 1, sizeof *states);
  mr_call *c = NULL;
  mr_error err = {0};
  if (!inputs || !states || mr_call_new(b, fn, &c, &err)) {
    fprintf(stderr, "milrun run: %s\n", err.code ? err.msg : "out of memory");
    goto done;
  }
  if (bind_inputs(a, c, in_info, ni, inputs) || bind_states(a, b, c, st_info, ns, states)) goto done;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  if (mr_call_run(c, &err)) {
    fprintf(stderr, "milrun run: %s\n", err.msg);
    goto done;
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  printf("%s: function %s ran in %.3f ms\n", a->bundle, fn, (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
  rc = write_results(a, c, out_info, st_info, states, ns);
done:
  mr_call_free(c);
  for (int i = 0; inputs && i < ni; i++) mr_free(inputs[i].data);
  for (int i = 0; states && i < ns; i++) mr_state_free(states[i]);
  mr_free(inputs);
  mr_free(states);
  return rc;
}

int tool_run(int argc, char **argv) {
  run_args a;
  memset(&a, 0, sizeof a);
  a.in = util_calloc((size_t)argc, sizeof *a.in);
  a.st = util_calloc((size_t)argc, sizeof *a.st);
  int parsed = a.in && a.st ? parse_args(argc, argv, &a) : 1, rc = tool_parse_exit(parsed);
  if (!a.in || !a.st) fprintf(stderr, "milrun run: out of memory\n");
  if (parsed == TOOL_OK) {
    mr_bundle *b = NULL;
    mr_error err = {0};
    char *path = NULL;
    if (tool_model_path(a.bundle, &path, &err) || mr_bundle_open(path, &a.opts, &b, &err)) {
      fprintf(stderr, "milrun run: %s\n", err.msg);
      rc = 1;
    } else {
      if (a.verbose) tool_backend_describe(stderr, a.bundle, b);
      rc = run(&a, b);
      mr_bundle_close(b);
    }
    mr_free(path);
  }
  mr_free(a.in);
  mr_free(a.st);
  return rc;
}
