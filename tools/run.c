/* run.c — `milrun run`: one prediction of one function of a bundle, tensors in and out as .npy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "milrun.h"
#include "util/alloc.h"
#include "backend.h"
#include "util/file.h"
#include "util/fp16.h"
#include "util/npy.h"

static int usage(FILE *f) {
  fprintf(f,
          "usage: milrun run BUNDLE.mlmodelc [options]\n\n"
          "Run one function once. Inputs and (optionally) initial states come from .npy files;\n"
          "outputs and final states are written as DIR/<name>.npy.\n\n"
          "options:\n"
          "  --function F         function to run (default: the bundle's default function)\n"
          "  --input NAME=FILE    an input as .npy (float32, float16, int32 or bool); repeatable\n"
          "  --random SEED        fill inputs not given with reproducible random values\n"
          "                       (floats uniform in [-1, 1), integers in [0, 16), bools 0/1;\n"
          "                       a flexible '?' dimension is 1)\n"
          "  --state NAME=FILE    initial contents of a state (default: zeros); repeatable\n"
          "  --output-dir DIR     where to write outputs and final states (required)\n"
          TOOL_BACKEND_HELP
          "  --verbose            say which executor and compute units run the bundle\n"
          "  --help               this help\n");
  return f == stdout ? 0 : 2;
}

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

static int split_arg(const char *opt, const char *arg, named_file *nf) {
  const char *eq = strchr(arg, '=');
  if (!eq || eq == arg || !eq[1]) {
    fprintf(stderr, "milrun run: %s expects NAME=FILE.npy, got '%s'\n", opt, arg);
    return -1;
  }
  *nf = (named_file){arg, eq + 1, (size_t)(eq - arg)};
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

static int parse_args(int argc, char **argv, run_args *a) {
  for (int i = 1; i < argc; i++) {
    const char *o = argv[i];
    int has_val = i + 1 < argc;
    if (!strcmp(o, "--help") || !strcmp(o, "-h")) return usage(stdout) - 1;
    if (tool_backend_option(argc, argv, &i, &a->opts)) continue;
    if (!strcmp(o, "--verbose")) a->verbose = 1;
    else if (!strcmp(o, "--function") && has_val) a->function = argv[++i];
    else if (!strcmp(o, "--output-dir") && has_val) a->out_dir = argv[++i];
    else if (!strcmp(o, "--random") && has_val) {
      char *end;
      a->seed = strtoull(argv[++i], &end, 10);
      if (*end) {
        fprintf(stderr, "milrun run: --random expects an integer seed\n");
        return 2;
      }
      a->seed = a->seed * 2654435761u + 88172645463325252ull;
      a->have_seed = 1;
    } else if ((!strcmp(o, "--input") || !strcmp(o, "--state")) && has_val) {
      int is_in = o[2] == 'i';
      if (split_arg(o, argv[++i], is_in ? &a->in[a->n_in++] : &a->st[a->n_st++])) return 2;
    } else if (o[0] != '-' && !a->bundle) a->bundle = o;
    else {
      fprintf(stderr, "milrun run: unexpected argument '%s'\n", o);
      return usage(stderr);
    }
  }
  if (!a->bundle || !a->out_dir) {
    fprintf(stderr, "milrun run: %s is required\n", a->bundle ? "--output-dir" : "BUNDLE");
    return usage(stderr);
  }
  return 0;
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
  if (util_npy_read(nf->file, &init, &err)) {
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
  if (!ok) fprintf(stderr, "milrun run: %s: shape or dtype does not match state '%.*s'\n", nf->file, (int)nf->name_len, nf->name);
  return !ok;
}

/* Bind every input: from its --input file, else random values with --random. */
static int bind_inputs(run_args *a, mr_call *c, const mr_io_info *info, int ni, mr_tensor *inputs) {
  mr_error err = {0};
  for (int i = 0; i < ni; i++) {
    int k = 0;
    while (k < a->n_in && !is_named(&a->in[k], info[i].name)) k++;
    if (k < a->n_in) {
      if (util_npy_read(a->in[k].file, &inputs[i], &err)) break;
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

static int unknown_input(const run_args *a, const char *fn, const mr_io_info *info, int ni) {
  for (int k = 0; k < a->n_in; k++) {
    int known = 0;
    for (int i = 0; i < ni; i++) known |= is_named(&a->in[k], info[i].name);
    if (!known) {
      fprintf(stderr, "milrun run: function '%s' has no input '%.*s'\n", fn, (int)a->in[k].name_len, a->in[k].name);
      return 1;
    }
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
  mr_tensor *inputs = util_calloc((size_t)ni + 1, sizeof *inputs);
  mr_state **states = util_calloc((size_t)ns + 1, sizeof *states);
  mr_call *c = NULL;
  mr_error err = {0};
  if (!inputs || !states || mr_call_new(b, fn, &c, &err)) {
    fprintf(stderr, "milrun run: %s\n", err.code ? err.msg : "out of memory");
    goto done;
  }
  if (unknown_input(a, fn, in_info, ni) || bind_inputs(a, c, in_info, ni, inputs) || bind_states(a, b, c, st_info, ns, states))
    goto done;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  if (mr_call_run(c, &err) || util_mkdirs(a->out_dir, &err)) {
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
  int rc = a.in && a.st ? parse_args(argc, argv, &a) : 1;
  if (!a.in || !a.st) fprintf(stderr, "milrun run: out of memory\n");
  if (!rc) {
    mr_bundle *b;
    mr_error err = {0};
    if (mr_bundle_open(a.bundle, &a.opts, &b, &err)) {
      fprintf(stderr, "milrun run: %s\n", err.msg);
      rc = 1;
    } else {
      if (a.verbose) tool_backend_describe(stderr, a.bundle, b);
      rc = run(&a, b);
      mr_bundle_close(b);
    }
  }
  mr_free(a.in);
  mr_free(a.st);
  return rc < 0 ? 0 : rc;
}
