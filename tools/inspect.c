/* inspect.c — `milrun inspect BUNDLE [--json]`: what a .mlmodelc holds: functions with their inputs,
 * outputs and states, an op histogram, weight bytes by storage kind, and the metadata. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "backend.h"
#include "commands.h"
#include "mil/blob.h"
#include "mil/model.h"
#include "mil/print.h"
#include "util/alloc.h"
#include "util/strmap.h"

#define MAX_KINDS 32

typedef struct weight_kind {
  char name[32];
  double bytes;
  int tensors;
} weight_kind;

typedef struct weight_stats {
  weight_kind kinds[MAX_KINDS];
  int n;
  util_strmap seen; /* blob offsets already counted (shared between functions) */
  char keys[4096][24];
  int n_keys;
} weight_stats;

static void add_kind(weight_stats *ws, const char *name, double bytes) {
  int i = 0;
  while (i < ws->n && strcmp(ws->kinds[i].name, name)) i++;
  if (i == ws->n) {
    if (ws->n == MAX_KINDS) return;
    snprintf(ws->kinds[ws->n++].name, sizeof ws->kinds[0].name, "%s", name);
  }
  ws->kinds[i].bytes += bytes;
  ws->kinds[i].tensors++;
}

/* Bytes of one BLOBFILE value; 0 if it was counted already (same offset in another function). */
static double blob_bytes(weight_stats *ws, const mil_value *v) {
  if (!v || v->kind != MIL_VALUE_BLOB) return 0;
  char key[24];
  snprintf(key, sizeof key, "%llu", (unsigned long long)v->blob_offset);
  if (util_strmap_get(&ws->seen, key, strlen(key), NULL)) return 0;
  if (ws->n_keys < 4096) {
    memcpy(ws->keys[ws->n_keys], key, sizeof key);
    util_strmap_put(&ws->seen, ws->keys[ws->n_keys], strlen(key), 1);
    ws->n_keys++;
  }
  int64_t n = mil_type_count(v->type);
  return n < 0 ? 0 : (double)n * mil_dtype_bits(v->type->dtype) / 8.0;
}

static const mil_value *arg_value(const mil_op *op, const char *name) {
  const mil_arg *a = mil_op_arg(op, name);
  return a && a->n_items == 1 && !a->items[0].var ? a->items[0].value : NULL;
}

static void weight_op(weight_stats *ws, const mil_op *op) {
  char kind[32];
  if (!strcmp(op->type, "const")) {
    const mil_value *v = arg_value(op, "val");
    double b = blob_bytes(ws, v);
    if (b > 0) add_kind(ws, mil_dtype_name(v->type->dtype), b);
  } else if (!strcmp(op->type, "constexpr_lut_to_dense")) {
    const mil_value *idx = arg_value(op, "indices"), *lut = arg_value(op, "lut");
    double b = blob_bytes(ws, idx) + blob_bytes(ws, lut);
    int bits = 0;
    if (lut && lut->type->kind == MIL_TYPE_TENSOR && lut->type->rank >= 1) {
      int64_t p = lut->type->dims[arg_value(op, "shape") ? lut->type->rank - 1 : lut->type->rank - 2];
      while (p > 1) { p >>= 1; bits++; }
    }
    snprintf(kind, sizeof kind, "LUT %d-bit", bits);
    if (b > 0) add_kind(ws, kind, b);
  } else if (!strncmp(op->type, "constexpr_", 10)) {
    double b = 0;
    const mil_value *data = NULL;
    for (int i = 0; i < op->n_args; i++) {
      const mil_value *v = op->args[i].n_items == 1 && !op->args[i].items[0].var ? op->args[i].items[0].value : NULL;
      if (v && v->kind == MIL_VALUE_BLOB && (!data || mil_type_count(v->type) > mil_type_count(data->type))) data = v;
      b += blob_bytes(ws, v);
    }
    snprintf(kind, sizeof kind, "%s %s", data ? mil_dtype_name(data->type->dtype) : "?", op->type + 10);
    if (b > 0) add_kind(ws, kind, b);
  }
}

typedef struct op_count {
  const char *name;
  int n;
} op_count;

static int cmp_count(const void *a, const void *b) {
  const op_count *x = a, *y = b;
  return x->n != y->n ? y->n - x->n : strcmp(x->name, y->name);
}

static int histogram(const mil_function *fn, op_count *out, int max) {
  int n = 0;
  for (int i = 0; i < fn->body.n_ops; i++) {
    const char *t = fn->body.ops[i].type;
    int k = 0;
    while (k < n && strcmp(out[k].name, t)) k++;
    if (k == n) {
      if (n == max) continue;
      out[n++] = (op_count){t, 0};
    }
    out[k].n++;
  }
  qsort(out, (size_t)n, sizeof *out, cmp_count);
  return n;
}

static cJSON *io_json(const mr_io_info *info, int n) {
  cJSON *arr = cJSON_CreateArray();
  for (int i = 0; i < n; i++) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", info[i].name);
    cJSON_AddStringToObject(o, "dtype", mr_dtype_name(info[i].dtype));
    cJSON *shape = cJSON_AddArrayToObject(o, "shape");
    for (int d = 0; d < info[i].rank; d++) cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)info[i].shape[d]));
    cJSON_AddItemToArray(arr, o);
  }
  return arr;
}

static void print_io(const char *title, const mr_io_info *info, int n) {
  if (!n) return;
  printf("    %s:\n", title);
  for (int i = 0; i < n; i++) {
    printf("      %-28s %-5s [", info[i].name, mr_dtype_name(info[i].dtype));
    for (int d = 0; d < info[i].rank; d++) printf(info[i].shape[d] < 0 ? "%s?" : "%s%lld", d ? ", " : "", (long long)info[i].shape[d]);
    printf("]\n");
  }
}

/* Bytes of the weight files the program names; *missing counts those that do not exist. */
static double weight_file_bytes(const mil_model *m, int *missing) {
  double total = 0;
  *missing = 0;
  for (int i = 0; i < m->n_weight_files; i++) {
    struct stat st;
    if (stat(m->weight_files[i], &st) == 0) total += (double)st.st_size;
    else (*missing)++;
  }
  return total;
}

static int usage(FILE *f) {
  fprintf(f, "usage: milrun inspect BUNDLE.mlmodelc [--json | --mil]\n\n"
             "Describe a compiled Core ML model: functions (default marked), inputs, outputs and states\n"
             "with dtypes and shapes, an op histogram, weight bytes by storage kind and the metadata.\n\n"
             "options:\n  --json   print one JSON object instead of text\n"
             "  --mil    print the program as canonical model.mil text (BUNDLE may also be a .mil file)\n"
             "  --help   this help\n"
             "the bundle is opened (for its weight bytes) with:\n" TOOL_BACKEND_HELP);
  return f == stdout ? 0 : 2;
}

/* The bundle's program (or a .mil file's) through the one printer: Apple's layout, no comments. */
static int print_mil(const char *path) {
  struct stat st;
  int is_dir = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
  mil_model *m = NULL;
  mil_program *own = NULL;
  mr_error err = {0};
  /* A bundle through the format layer (whatever its files are); a bare .mil file parsed as is. */
  if ((is_dir ? mil_model_load(path, 0, &m, &err) : mil_parse_file(path, &own, &err)) != MR_OK) {
    fprintf(stderr, "milrun inspect: %s\n", err.msg);
    return 1;
  }
  util_sb sb = {0};
  mil_print(m ? m->prog : own, &sb);
  int rc = util_sb_failed(&sb) ? 1 : 0;
  if (rc) fprintf(stderr, "milrun inspect: out of memory\n");
  else fwrite(sb.buf, 1, sb.len, stdout); /* the exact bytes: redirected, it is a model.mil */
  util_sb_free(&sb);
  if (m) mil_model_free(m);
  else mil_program_free(own);
  return rc;
}

int tool_inspect(int argc, char **argv) {
  const char *path = NULL;
  int json = 0, mil = 0;
  mr_bundle_options opts = {0};
  for (int i = 1; i < argc; i++) {
    if (tool_backend_option(argc, argv, &i, &opts)) continue;
    if (!strcmp(argv[i], "--json")) json = 1;
    else if (!strcmp(argv[i], "--mil")) mil = 1;
    else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return usage(stdout);
    else if (argv[i][0] == '-' || path) {
      fprintf(stderr, "milrun inspect: unexpected argument '%s'\n", argv[i]);
      return usage(stderr);
    } else path = argv[i];
  }
  if (!path || (json && mil)) return usage(stderr);
  if (mil) return print_mil(path);
  /* The description comes from the format layer; the bundle is opened (weights mapped, functions
   * planned) only when there are weights, for the bytes it holds: a converter's --dry-run output
   * has none and is described from model.mil and metadata.json alone. */
  mil_model *m;
  mr_bundle *b = NULL;
  mr_error err = {0};
  if (mil_model_load(path, 0, &m, &err) != MR_OK) {
    fprintf(stderr, "milrun inspect: %s\n", err.msg);
    return 1;
  }
  int missing;
  double wfile = weight_file_bytes(m, &missing);
  int no_weights = m->n_weight_files && missing == m->n_weight_files;
  if (!no_weights && mr_bundle_open(path, &opts, &b, &err) != MR_OK) {
    fprintf(stderr, "milrun inspect: %s\n", err.msg);
    mil_model_free(m);
    return 1;
  }
  if (no_weights && !json) printf("(no weight files: described from the program and metadata only)\n");
  const mil_program *prog = m->prog;
  const mil_metadata *md = m->has_md ? &m->md : NULL;
  const char *default_fn = m->funcs[m->default_fn].fn->name;
  static weight_stats ws;
  memset(&ws, 0, sizeof ws);
  for (int f = 0; f < prog->n_funcs; f++)
    for (int i = 0; i < prog->funcs[f].body.n_ops; i++) weight_op(&ws, &prog->funcs[f].body.ops[i]);
  cJSON *root = cJSON_CreateObject(), *funcs = cJSON_AddArrayToObject(root, "functions");
  cJSON_AddStringToObject(root, "path", path);
  cJSON_AddStringToObject(root, "program_version", prog->version ? prog->version : "");
  cJSON_AddStringToObject(root, "default_function", default_fn);
  cJSON_AddBoolToObject(root, "weights_loaded", !no_weights);
  if (!json) printf("%s  (program %s, %d function%s)\n", path, prog->version ? prog->version : "?", prog->n_funcs, prog->n_funcs == 1 ? "" : "s");
  for (int f = 0; f < m->n_funcs; f++) {
    const mil_model_function *d = &m->funcs[f];
    const char *name = d->fn->name;
    const mr_io_info *in = d->inputs, *out = d->outputs, *st = d->states;
    int ni = d->n_inputs, no = d->n_outputs, ns = d->n_states;
    op_count hist[256];
    int nh = histogram(&prog->funcs[f], hist, 256);
    cJSON *fo = cJSON_CreateObject();
    cJSON_AddStringToObject(fo, "name", name);
    cJSON_AddStringToObject(fo, "opset", prog->funcs[f].opset);
    cJSON_AddItemToObject(fo, "inputs", io_json(in, ni));
    cJSON_AddItemToObject(fo, "outputs", io_json(out, no));
    cJSON_AddItemToObject(fo, "states", io_json(st, ns));
    cJSON *ops = cJSON_AddObjectToObject(fo, "ops");
    for (int k = 0; k < nh; k++) cJSON_AddNumberToObject(ops, hist[k].name, hist[k].n);
    cJSON_AddItemToArray(funcs, fo);
    if (json) continue;
    printf("\n  function %s<%s>%s\n", name, prog->funcs[f].opset,
           !strcmp(name, default_fn) ? "  (default)" : "");
    print_io("inputs", in, ni);
    print_io("states", st, ns);
    print_io("outputs", out, no);
    printf("    ops: %d:", prog->funcs[f].body.n_ops);
    for (int k = 0; k < nh; k++) printf("%s %s %d", k ? "," : "", hist[k].name, hist[k].n);
    printf("\n");
  }
  cJSON *wo = cJSON_AddObjectToObject(root, "weights");
  cJSON_AddNumberToObject(wo, "file_bytes", wfile);
  size_t held = b ? mr_bundle_weight_bytes(b) : 0;
  cJSON_AddNumberToObject(wo, "resident_bytes", (double)held);
  cJSON *kinds = cJSON_AddObjectToObject(wo, "by_kind");
  for (int k = 0; k < ws.n; k++) cJSON_AddNumberToObject(kinds, ws.kinds[k].name, ws.kinds[k].bytes);
  if (!json) {
    printf("\n  weights: %d file%s, %.0f bytes; held after load %zu bytes\n", m->n_weight_files,
           m->n_weight_files == 1 ? "" : "s", wfile, held);
    for (int k = 0; k < ws.n; k++)
      printf("    %-28s %12.0f bytes in %d tensor%s\n", ws.kinds[k].name, ws.kinds[k].bytes, ws.kinds[k].tensors,
             ws.kinds[k].tensors == 1 ? "" : "s");
  }
  if (md) {
    cJSON *user = cJSON_AddObjectToObject(root, "metadata");
    if (!json && md->n_user) printf("\n  metadata:\n");
    for (int k = 0; k < md->n_user; k++) {
      cJSON_AddStringToObject(user, md->user_keys[k], md->user_values[k]);
      if (!json) printf("    %s = %s\n", md->user_keys[k], md->user_values[k]);
    }
  }
  if (json) {
    char *s = cJSON_Print(root);
    if (s) printf("%s\n", s);
    cJSON_free(s);
  }
  cJSON_Delete(root);
  util_strmap_free(&ws.seen);
  mr_bundle_close(b);
  mil_model_free(m);
  return 0;
}
