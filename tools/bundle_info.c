/* bundle_info.c — weights by kind and function descriptions for `milrun inspect` (bundle_info.h). */
#include "bundle_info.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mil/blob.h"
#include "util/alloc.h"

/* One BLOBFILE value a weight op reads, and the storage kind of the op. */
typedef struct blob_ref {
  const char *path;
  uint64_t offset;
  double bytes;
  int kind;         /* index into tool_weights.kinds */
  int first;        /* the op's first blob: counts the tensor */
} blob_ref;

typedef struct blob_list {
  blob_ref *v;
  int n, cap, failed;
} blob_list;

static double value_bytes(const mil_value *v) {
  int64_t n = mil_type_count(v->type);
  return n < 0 ? 0 : (double)n * mil_dtype_bits(v->type->dtype) / 8.0;
}

static const mil_value *blob_value(const mil_arg *a) {
  const mil_value *v = a && a->n_items == 1 && !a->items[0].var ? a->items[0].value : NULL;
  return v && v->kind == MIL_VALUE_BLOB ? v : NULL;
}

static const mil_value *arg_value(const mil_op *op, const char *name) {
  const mil_arg *a = mil_op_arg(op, name);
  return a && a->n_items == 1 && !a->items[0].var ? a->items[0].value : NULL;
}

/* The storage kind of a weight op, or 0 for an op that holds no weights. */
static int op_kind(const mil_op *op, char *kind, size_t size) {
  if (!strcmp(op->type, "const")) {
    const mil_value *v = arg_value(op, "val");
    return v ? snprintf(kind, size, "%s", mil_dtype_name(v->type->dtype)) : 0;
  }
  if (!strcmp(op->type, "constexpr_lut_to_dense")) {
    const mil_value *lut = arg_value(op, "lut");
    int bits = 0;
    if (lut && lut->type->kind == MIL_TYPE_TENSOR && lut->type->rank >= 1) {
      int64_t p = lut->type->dims[arg_value(op, "shape") ? lut->type->rank - 1 : lut->type->rank - 2];
      while (p > 1) p >>= 1, bits++;
    }
    return snprintf(kind, size, "LUT %d-bit", bits);
  }
  if (strncmp(op->type, "constexpr_", 10)) return 0;
  const mil_value *data = NULL; /* the largest blob names the kind: "int8 affine_dequantize" */
  for (int i = 0; i < op->n_args; i++) {
    const mil_value *v = blob_value(&op->args[i]);
    if (v && (!data || mil_type_count(v->type) > mil_type_count(data->type))) data = v;
  }
  return snprintf(kind, size, "%s %s", data ? mil_dtype_name(data->type->dtype) : "?", op->type + 10);
}

static int kind_index(tool_weights *w, const char *kind) {
  for (int i = 0; i < w->n; i++)
    if (!strcmp(w->kinds[i].name, kind)) return i;
  tool_weight_kind *k = mr_realloc(w->kinds, (size_t)(w->n + 1) * sizeof *k);
  if (!k) return -1;
  w->kinds = k;
  memset(&k[w->n], 0, sizeof *k);
  snprintf(k[w->n].name, sizeof k->name, "%s", kind);
  return w->n++;
}

static void push(blob_list *l, const mil_value *v, int kind, int first) {
  if (l->n == l->cap) {
    int cap = l->cap ? 2 * l->cap : 64;
    blob_ref *g = mr_realloc(l->v, (size_t)cap * sizeof *g);
    if (!g) {
      l->failed = 1;
      return;
    }
    l->v = g;
    l->cap = cap;
  }
  l->v[l->n++] = (blob_ref){v->blob_path, v->blob_offset, value_bytes(v), kind, first};
}

static int cmp_ref(const void *a, const void *b) {
  const blob_ref *x = a, *y = b;
  int c = strcmp(x->path, y->path);
  return c ? c : x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Every blob of every weight op, the kind of each op interned in w. */
static int collect(tool_weights *w, const mil_program *p, blob_list *l) {
  for (int f = 0; f < p->n_funcs; f++)
    for (int i = 0; i < p->funcs[f].body.n_ops && !l->failed; i++) {
      const mil_op *op = &p->funcs[f].body.ops[i];
      char kind[48];
      if (!op_kind(op, kind, sizeof kind)) continue;
      int k = kind_index(w, kind), first = 1;
      if (k < 0) return MR_ENOMEM;
      for (int a = 0; a < op->n_args; a++) {
        const mil_value *v = blob_value(&op->args[a]);
        if (v) push(l, v, k, first), first = 0;
      }
    }
  return l->failed ? MR_ENOMEM : MR_OK;
}

int tool_weights_add(tool_weights *w, const mil_model *m) {
  blob_list l = {0};
  int rc = collect(w, m->prog, &l);
  if (!rc && l.n) qsort(l.v, (size_t)l.n, sizeof *l.v, cmp_ref);
  for (int i = 0; !rc && i < l.n; i++) {
    if (i && !cmp_ref(&l.v[i - 1], &l.v[i])) continue; /* the same blob from another function */
    tool_weight_kind *k = &w->kinds[l.v[i].kind];
    k->bytes += l.v[i].bytes;
    k->tensors += l.v[i].first;
  }
  mr_free(l.v);
  return rc;
}

void tool_weights_free(tool_weights *w) {
  mr_free(w->kinds);
  w->kinds = NULL;
  w->n = 0;
}

cJSON *tool_weights_json(const tool_weights *w) {
  cJSON *o = cJSON_CreateObject();
  for (int k = 0; k < w->n; k++)
    if (w->kinds[k].tensors) cJSON_AddNumberToObject(o, w->kinds[k].name, w->kinds[k].bytes);
  return o;
}

void tool_weights_print(const tool_weights *w, int indent) {
  for (int k = 0; k < w->n; k++)
    if (w->kinds[k].tensors)
      printf("%*s%-28s %12.0f bytes in %d tensor%s\n", indent, "", w->kinds[k].name, w->kinds[k].bytes, w->kinds[k].tensors,
             w->kinds[k].tensors == 1 ? "" : "s");
}

double tool_weight_file_bytes(const mil_model *m, int *missing) {
  double total = 0;
  *missing = 0;
  for (int i = 0; i < m->n_weight_files; i++) {
    struct stat st;
    if (stat(m->weight_files[i], &st) == 0) total += (double)st.st_size;
    else (*missing)++;
  }
  return total;
}

cJSON *tool_io_json(const mr_io_info *info, int n) {
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

typedef struct op_count {
  const char *name;
  int n;
} op_count;

static int cmp_count(const void *a, const void *b) {
  const op_count *x = a, *y = b;
  return x->n != y->n ? y->n - x->n : strcmp(x->name, y->name);
}

/* Op types by count, most frequent first; *out is new (mr_free), NULL when out of memory. */
static int histogram(const mil_function *fn, op_count **out) {
  int n = 0;
  *out = mr_alloc((size_t)fn->body.n_ops * sizeof **out + 1);
  for (int i = 0; *out && i < fn->body.n_ops; i++) {
    const char *t = fn->body.ops[i].type;
    int k = 0;
    while (k < n && strcmp((*out)[k].name, t)) k++;
    if (k == n) (*out)[n++] = (op_count){t, 0};
    (*out)[k].n++;
  }
  if (n) qsort(*out, (size_t)n, sizeof **out, cmp_count);
  return n;
}

cJSON *tool_function_json(const mil_model *m, int f) {
  const mil_model_function *d = &m->funcs[f];
  cJSON *fo = cJSON_CreateObject();
  cJSON_AddStringToObject(fo, "name", d->fn->name);
  cJSON_AddStringToObject(fo, "opset", d->fn->opset);
  cJSON_AddItemToObject(fo, "inputs", tool_io_json(d->inputs, d->n_inputs));
  cJSON_AddItemToObject(fo, "outputs", tool_io_json(d->outputs, d->n_outputs));
  cJSON_AddItemToObject(fo, "states", tool_io_json(d->states, d->n_states));
  cJSON *ops = cJSON_AddObjectToObject(fo, "ops");
  op_count *hist;
  int nh = histogram(d->fn, &hist);
  for (int k = 0; k < nh; k++) cJSON_AddNumberToObject(ops, hist[k].name, hist[k].n);
  mr_free(hist);
  return fo;
}

static void print_io(const char *title, const mr_io_info *info, int n, int indent) {
  if (!n) return;
  printf("%*s%s:\n", indent, "", title);
  for (int i = 0; i < n; i++) {
    printf("%*s%-28s %-5s [", indent + 2, "", info[i].name, mr_dtype_name(info[i].dtype));
    for (int d = 0; d < info[i].rank; d++) printf(info[i].shape[d] < 0 ? "%s?" : "%s%lld", d ? ", " : "", (long long)info[i].shape[d]);
    printf("]\n");
  }
}

void tool_function_print(const mil_model *m, int f, int indent, int ops) {
  const mil_model_function *d = &m->funcs[f];
  printf("%*sfunction %s<%s>%s\n", indent, "", d->fn->name, d->fn->opset, f == m->default_fn ? "  (default)" : "");
  print_io("inputs", d->inputs, d->n_inputs, indent + 2);
  print_io("states", d->states, d->n_states, indent + 2);
  print_io("outputs", d->outputs, d->n_outputs, indent + 2);
  if (!ops) return;
  op_count *hist;
  int nh = histogram(d->fn, &hist);
  printf("%*sops: %d:", indent + 2, "", d->fn->body.n_ops);
  for (int k = 0; k < nh; k++) printf("%s %s %d", k ? "," : "", hist[k].name, hist[k].n);
  printf("\n");
  mr_free(hist);
}
