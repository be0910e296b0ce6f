/* coreml_standin.c — Core ML and Foundation stand-ins over GCC's libobjc (see coreml_standin.h).
 * Objects follow Cocoa's ownership rules (alloc/new/copy give +1, the rest autoreleased), so the
 * live-object count shows whether the executor balances its retains and releases. */
#include "coreml_standin.h"

#include <objc/message.h>
#include <objc/runtime.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exec/coreml/objc.h"
#include "mil/model.h"
#include "mil/print.h"
#include "util/file.h"

/* ASan's leak check sees the runtime's class tables (allocated once, reachable only from libobjc). */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:libobjc.so\nleak:objc_malloc\n"; }

enum { F16 = 0x10010, F32 = 0x10020, I32 = 0x20020 };

typedef struct payload {
  long rc;
  char *str;                /* NSString, NSURL (path), NSError (description) */
  long long num;            /* NSNumber */
  id *items, *keys;         /* NSArray, NSDictionary (retained) */
  long n;
  void *data;               /* MLMultiArray */
  int owns_data;
  long dtype;
  int rank;
  int64_t shape[MR_MAX_RANK], strides[MR_MAX_RANK];
  long units;               /* MLModelConfiguration */
  char function[64];
  mr_bundle *bundle;        /* MLModel: the CPU bundle; MLState: the bundle that made it */
  mr_state *state;          /* MLState */
  int busy, used;
  id ref;                   /* MLFeatureValue: array; provider: dictionary; options: backings */
} payload;

static payload *P(id o) { return object_getIndexedIvars(o); }

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static standin_stats g_stats;
static long g_live;
static int g_os = 15, g_fail_compile, g_delay_us;
static char g_hidden[64];
static int g_compiled_n;

standin_stats *standin_stats_get(void) { return &g_stats; }
long standin_live_objects(void) { return g_live; }
void standin_set_os_major(int major) { g_os = major; }
void standin_fail_next_compile(void) { g_fail_compile = 1; }
void standin_hide_function(const char *name) { snprintf(g_hidden, sizeof g_hidden, "%s", name ? name : ""); }
void standin_set_prediction_delay_us(int us) { g_delay_us = us; }

static void count(int *field) {
  pthread_mutex_lock(&g_lock);
  (*field)++;
  pthread_mutex_unlock(&g_lock);
}

/* ---- NSObject, autorelease pools ------------------------------------------------------------ */

static id new_of(const char *cls) {
  id o = class_createInstance(objc_getClass(cls), sizeof(payload));
  memset(P(o), 0, sizeof(payload));
  P(o)->rc = 1;
  pthread_mutex_lock(&g_lock);
  if (getenv("STANDIN_TRACE")) fprintf(stderr, "+ %s %p\n", cls, (void *)o);
  g_live++;
  pthread_mutex_unlock(&g_lock);
  return o;
}

static id m_alloc(id cls, SEL s) { return new_of(class_getName((Class)cls)); }
static id m_init(id self, SEL s) { return self; }
static id m_new(id cls, SEL s) { return new_of(class_getName((Class)cls)); }
static id m_retain(id self, SEL s) {
  __atomic_add_fetch(&P(self)->rc, 1, __ATOMIC_SEQ_CST);
  return self;
}

static void release_all(id *objs, long n) {
  for (long i = 0; objs && i < n; i++) oc_release(objs[i]);
}

static void m_release(id self, SEL s) {
  if (__atomic_sub_fetch(&P(self)->rc, 1, __ATOMIC_SEQ_CST) > 0) return;
  payload *p = P(self);
  release_all(p->items, p->n);
  release_all(p->keys, p->n);
  free(p->items), free(p->keys), free(p->str);
  if (p->owns_data) free(p->data);
  oc_release(p->ref);
  if (p->state) mr_state_free(p->state);
  if (p->bundle && !strcmp(object_getClassName(self), "MLModel")) mr_bundle_close(p->bundle);
  if (getenv("STANDIN_TRACE")) fprintf(stderr, "- %s %p\n", object_getClassName(self), (void *)self);
  object_dispose(self);
  pthread_mutex_lock(&g_lock);
  g_live--;
  pthread_mutex_unlock(&g_lock);
}

/* Autoreleased objects of this thread's innermost pool. */
typedef struct pool_frame {
  id *objs;
  long n, cap;
} pool_frame;
static _Thread_local pool_frame t_pools[16];
static _Thread_local int t_depth;

static id m_autorelease(id self, SEL s) {
  if (t_depth == 0) {
    fprintf(stderr, "standin: %s autoreleased with no pool in place\n", object_getClassName(self));
    abort();
  }
  pool_frame *f = &t_pools[t_depth - 1];
  if (f->n == f->cap) f->objs = realloc(f->objs, sizeof(id) * (size_t)(f->cap = f->cap ? 2 * f->cap : 32));
  f->objs[f->n++] = self;
  return self;
}

static id autoreleased(id o) { return m_autorelease(o, NULL); }

static id m_pool_init(id self, SEL s) {
  t_pools[t_depth++].n = 0;
  return self;
}

static void m_pool_drain(id self, SEL s) {
  pool_frame *f = &t_pools[--t_depth];
  for (long i = 0; i < f->n; i++) oc_release(f->objs[i]);
  free(f->objs);
  memset(f, 0, sizeof *f);
  oc_release(self);
}

/* Methods that appeared in macOS 15: gone when standing in for an older Core ML. */
static int newer_than_os(const char *sel) {
  return g_os < 15 && (!strcmp(sel, "setFunctionName:") || !strcmp(sel, "newState") ||
                       !strcmp(sel, "predictionFromFeatures:usingState:options:error:"));
}

static BOOL m_instances_respond(id cls, SEL s, SEL q) {
  return class_respondsToSelector((Class)cls, q) && !newer_than_os(sel_getName(q));
}

/* ---- Foundation values ---------------------------------------------------------------------- */

static id make_string(const char *cls, const char *text) {
  id o = new_of(cls);
  P(o)->str = strdup(text);
  return o;
}
static id error_with(id *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static id error_with(id *err, const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (err) *err = autoreleased(make_string("NSError", buf));
  return nil;
}

static id m_string_utf8(id cls, SEL s, const char *u) { return autoreleased(make_string("NSString", u)); }
static const char *m_utf8(id self, SEL s) { return P(self)->str; }
static id m_description(id self, SEL s) { return autoreleased(make_string("NSString", P(self)->str)); }
static id m_url_path(id cls, SEL s, id path) { return autoreleased(make_string("NSURL", P(path)->str)); }
static id m_path(id self, SEL s) { return autoreleased(make_string("NSString", P(self)->str)); }

static id m_number(id cls, SEL s, long long v) {
  id o = new_of("NSNumber");
  P(o)->num = v;
  return autoreleased(o);
}
static long long m_ll(id self, SEL s) { return P(self)->num; }

static id *retained_copy(const id *objs, unsigned long n) {
  id *c = calloc(n + 1, sizeof(id));
  for (unsigned long i = 0; i < n; i++) c[i] = oc_retain(objs[i]);
  return c;
}

static id m_array(id cls, SEL s, const id *objs, unsigned long n) {
  id o = new_of("NSArray");
  P(o)->items = retained_copy(objs, n);
  P(o)->n = (long)n;
  return autoreleased(o);
}
static unsigned long m_count(id self, SEL s) { return (unsigned long)P(self)->n; }
static id m_object_at(id self, SEL s, unsigned long i) {
  if ((long)i >= P(self)->n) {
    fprintf(stderr, "standin: NSArray index %lu beyond %ld\n", i, P(self)->n);
    abort();
  }
  return P(self)->items[i];
}

static id m_dictionary(id cls, SEL s, const id *values, const id *keys, unsigned long n) {
  id o = new_of("NSDictionary");
  P(o)->items = retained_copy(values, n);
  P(o)->keys = retained_copy(keys, n);
  P(o)->n = (long)n;
  return autoreleased(o);
}

static id dict_get(id dict, const char *key) {
  for (long i = 0; dict && i < P(dict)->n; i++)
    if (!strcmp(P(P(dict)->keys[i])->str, key)) return P(dict)->items[i];
  return nil;
}

static id m_default_manager(id cls, SEL s) { return autoreleased(new_of("NSFileManager")); }
static BOOL m_move(id self, SEL s, id from, id to, id *err) {
  if (rename(P(from)->str, P(to)->str) == 0) return 1;
  error_with(err, "“%s” couldn’t be moved to “%s”.", P(from)->str, P(to)->str);
  return 0;
}

/* ---- MLMultiArray --------------------------------------------------------------------------- */

static size_t elem_size(long dtype) { return dtype == F16 ? 2 : 4; }

static id m_init_data(id self, SEL s, void *data, id shape, long dtype, id strides, void *dealloc, id *err) {
  payload *p = P(self);
  count(&g_stats.arrays_wrapped);
  if (dtype != F16 && dtype != F32 && dtype != I32) {
    oc_release(self);
    return error_with(err, "Unsupported MLMultiArrayDataType %ld", dtype);
  }
  if (!shape || !strides || P(shape)->n != P(strides)->n || P(shape)->n < 1 || P(shape)->n > MR_MAX_RANK) {
    oc_release(self);
    return error_with(err, "shape and strides must be arrays of equal length");
  }
  p->data = data, p->dtype = dtype, p->rank = (int)P(shape)->n;
  for (int d = 0; d < p->rank; d++) p->shape[d] = P(P(shape)->items[d])->num, p->strides[d] = P(P(strides)->items[d])->num;
  for (int d = 0; d < p->rank; d++)
    if (p->shape[d] <= 0) {
      long long size = (long long)p->shape[d];
      oc_release(self);
      return error_with(err, "MultiArray dimension %d has size %lld; sizes must be positive", d, size);
    }
  for (int d = 0; d < p->rank; d++)
    if (p->strides[d] <= 0) {
      long long stride = (long long)p->strides[d];
      oc_release(self);
      return error_with(err, "MultiArray dimension %d has stride %lld", d, stride);
    }
  return self;
}

static id dims_array(const int64_t *v, int n) {
  id nums[MR_MAX_RANK];
  for (int i = 0; i < n; i++) nums[i] = m_number(nil, NULL, v[i]);
  return m_array(nil, NULL, nums, (unsigned long)n);
}
static id m_shape(id self, SEL s) { return dims_array(P(self)->shape, P(self)->rank); }
static id m_strides(id self, SEL s) { return dims_array(P(self)->strides, P(self)->rank); }
static long m_data_type(id self, SEL s) { return P(self)->dtype; }

static long span_bytes(const payload *p) {
  int64_t last = 0;
  for (int d = 0; d < p->rank; d++) last += (p->shape[d] - 1) * p->strides[d];
  return (long)((last + 1) * (int64_t)elem_size(p->dtype));
}

static void m_get_bytes(id self, SEL s, oc_block *blk) {
  ((void (*)(oc_block *, const void *, long))blk->invoke)(blk, P(self)->data, span_bytes(P(self)));
}
static void m_get_mutable_bytes(id self, SEL s, oc_block *blk) {
  ((void (*)(oc_block *, void *, long, id))blk->invoke)(blk, P(self)->data, span_bytes(P(self)), m_strides(self, NULL));
}

static int dense(const payload *p) {
  int64_t want = 1;
  for (int d = p->rank - 1; d >= 0; d--) {
    if (p->strides[d] != want) return 0;
    want *= p->shape[d];
  }
  return 1;
}

/* ---- feature values and providers ----------------------------------------------------------- */

static id m_feature_value(id cls, SEL s, id array) {
  id o = new_of("MLFeatureValue");
  P(o)->ref = oc_retain(array);
  return autoreleased(o);
}
static id m_multi_array_value(id self, SEL s) { return P(self)->ref; }

static id m_provider_init(id self, SEL s, id dict, id *err) {
  for (long i = 0; i < P(dict)->n; i++)
    if (strcmp(object_getClassName(P(dict)->items[i]), "MLFeatureValue")) {
      oc_release(self);
      return error_with(err, "feature '%s' is not an MLFeatureValue", P(P(dict)->keys[i])->str);
    }
  P(self)->ref = oc_retain(dict);
  return self;
}
static id m_feature_value_for(id self, SEL s, id name) { return dict_get(P(self)->ref, P(name)->str); }

static void m_set_backings(id self, SEL s, id dict) {
  oc_release(P(self)->ref);
  P(self)->ref = oc_retain(dict);
}

/* ---- MLModelConfiguration ------------------------------------------------------------------- */

static void m_set_units(id self, SEL s, long u) {
  if (u < 0 || u > 3) {
    fprintf(stderr, "standin: MLComputeUnits %ld does not exist\n", u);
    abort();
  }
  P(self)->units = u;
}
static void m_set_function(id self, SEL s, id name) { snprintf(P(self)->function, 64, "%s", P(name)->str); }

/* ---- MLModel -------------------------------------------------------------------------------- */

/* "Compiling": what coremlcompiler keeps of a package that milrun runs, model.mil (printed from the
 * program the package holds) and the weight files, in a folder of the temporary directory. */
static int write_compiled(const mil_model *m, const char *dir) {
  mr_error e = {0};
  util_sb sb = {0};
  mil_print(m->prog, &sb);
  char path[4200];
  snprintf(path, sizeof path, "%s/model.mil", dir);
  int rc = util_mkdirs(dir, &e) || util_sb_failed(&sb) || util_write_file_atomic(path, sb.buf, sb.len, &e);
  util_sb_free(&sb);
  size_t root = strlen(m->weights_root);
  for (int i = 0; !rc && i < m->n_weight_files; i++) {
    util_map map;
    char *slash;
    snprintf(path, sizeof path, "%s/%s", dir, m->weight_files[i] + root + 1);
    if ((slash = strrchr(path, '/'))) *slash = 0;
    rc = util_mkdirs(path, &e);
    if (slash) *slash = '/';
    if (!rc) rc = util_map_open(&map, m->weight_files[i], &e);
    if (!rc) rc = util_write_file_atomic(path, map.data, map.size, &e), util_map_close(&map);
  }
  snprintf(path, sizeof path, "%s/coremldata.bin", dir);
  return rc || util_write_file_atomic(path, "standin", 7, &e);
}

static id m_compile(id cls, SEL s, id url, id *err) {
  count(&g_stats.compiles);
  if (g_fail_compile) {
    g_fail_compile = 0;
    return error_with(err, "Failed to parse the model specification. Error: Unable to parse ML Program");
  }
  mil_model *m = NULL;
  mr_error e = {0};
  if (mil_model_load(P(url)->str, 0, &m, &e)) return error_with(err, "compiler error: %s", e.msg);
  char dir[600];
  snprintf(dir, sizeof dir, "%s/standin-compiled-%d-%d.mlmodelc", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
           (int)getpid(), g_compiled_n++);
  int rc = write_compiled(m, dir);
  mil_model_free(m);
  if (rc) return error_with(err, "compiler error: cannot write %s", dir);
  return autoreleased(make_string("NSURL", dir));
}

static id m_model_load(id cls, SEL s, id url, id cfg, id *err) {
  count(&g_stats.loads);
  g_stats.last_units = P(cfg)->units;
  snprintf(g_stats.last_function, sizeof g_stats.last_function, "%s", P(cfg)->function);
  const char *path = P(url)->str;
  size_t n = strlen(path);
  if (n < 9 || strcmp(path + n - 9, ".mlmodelc"))
    return error_with(err, "Compile the model with Xcode or `MLModel.compileModel(at:)`: %s", path);
  mr_bundle_options o = {"cpu", 0, NULL};
  mr_bundle *b = NULL;
  mr_error e = {0};
  if (mr_bundle_open(path, &o, &b, &e)) return error_with(err, "Error opening %s: %s", path, e.msg);
  const char *fn = P(cfg)->function[0] ? P(cfg)->function : mr_bundle_default_function(b);
  const mr_io_info *info;
  if (mr_bundle_inputs(b, fn, &info) < 0 || !strcmp(fn, g_hidden)) {
    mr_bundle_close(b);
    return error_with(err, "Function name '%s' not found in the model.", fn);
  }
  id model = new_of("MLModel");
  P(model)->bundle = b;
  snprintf(P(model)->function, 64, "%s", fn);
  return autoreleased(model);
}

static id m_new_state(id self, SEL s) {
  const mr_io_info *info;
  int n = mr_bundle_states(P(self)->bundle, P(self)->function, &info);
  if (n < 1) return nil;
  id st = new_of("MLState");
  mr_error e = {0};
  if (mr_state_new(P(self)->bundle, info[0].name, &P(st)->state, &e)) {
    fprintf(stderr, "standin: %s\n", e.msg);
    abort();
  }
  P(st)->bundle = P(self)->bundle;
  snprintf(P(st)->function, 64, "%s", info[0].name); /* the state's name */
  count(&g_stats.states_made);
  return st;
}

static void m_state_access(id self, SEL s, id name, oc_block *blk) {
  count(&g_stats.state_accesses);
  mr_tensor v;
  mr_state_view(P(self)->state, &v);
  if (strcmp(P(name)->str, P(self)->function)) return; /* Core ML: no such state, no call */
  int64_t strides[MR_MAX_RANK], st = 1;
  for (int d = v.rank - 1; d >= 0; d--) strides[d] = st, st *= v.shape[d];
  id a = new_of("MLMultiArray");
  payload *p = P(a);
  p->data = v.data, p->dtype = v.dtype == MR_FLOAT16 ? F16 : v.dtype == MR_INT32 ? I32 : F32, p->rank = v.rank;
  memcpy(p->shape, v.shape, sizeof p->shape);
  memcpy(p->strides, strides, sizeof p->strides);
  ((void (*)(oc_block *, id))blk->invoke)(blk, a);
  oc_release(a);
}

static long dtype_code(mr_dtype t) { return t == MR_FLOAT16 ? F16 : t == MR_INT32 ? I32 : F32; }

/* Input `info` from the provider, checked as Core ML checks it, bound to the CPU call. */
static int bind_feature(mr_call *c, id provider, const mr_io_info *info, id *err) {
  id fv = m_feature_value_for(provider, NULL, m_string_utf8(nil, NULL, info->name));
  id a = fv ? P(fv)->ref : nil;
  if (!a) return error_with(err, "Feature %s is required but not specified.", info->name), -1;
  payload *p = P(a);
  int ok = p->rank == info->rank && p->dtype == dtype_code(info->dtype) && dense(p);
  for (int d = 0; ok && d < p->rank; d++) ok = info->shape[d] < 0 || info->shape[d] == p->shape[d];
  if (!ok)
    return error_with(err, "MultiArray shape, strides or data type of input '%s' does not match the model description",
                      info->name), -1;
  mr_tensor t = {info->dtype, p->rank, {0}, p->data};
  memcpy(t.shape, p->shape, sizeof t.shape);
  mr_error e = {0};
  if (mr_call_set_input(c, info->name, &t, &e)) return error_with(err, "%s", e.msg), -1;
  return 0;
}

/* Output i of the run: into the caller's backing when one is given (it must fit exactly), else into
 * an array of the stand-in's own with rows padded to 32 elements, as the Neural Engine pads them. */
static id output_array(const mr_tensor *t, const char *name, id backings, id *err) {
  id b = dict_get(backings, name);
  if (b) {
    payload *p = P(b);
    int ok = p->rank == t->rank && p->dtype == dtype_code(t->dtype) && dense(p);
    for (int d = 0; ok && d < t->rank; d++) ok = p->shape[d] == t->shape[d];
    if (!ok) return error_with(err, "The output backing for '%s' does not match the output's shape or type", name);
    memcpy(p->data, t->data, (size_t)mr_tensor_count(t) * mr_dtype_size(t->dtype));
    count(&g_stats.outputs_backed);
    return b;
  }
  id a = new_of("MLMultiArray");
  payload *p = P(a);
  p->dtype = dtype_code(t->dtype), p->rank = t->rank, p->owns_data = 1;
  memcpy(p->shape, t->shape, sizeof p->shape);
  int64_t cols = t->shape[t->rank - 1], padded = (cols + 31) / 32 * 32, rows = mr_tensor_count(t) / (cols ? cols : 1);
  int64_t st = padded;
  p->strides[t->rank - 1] = 1;
  for (int d = t->rank - 2; d >= 0; d--) p->strides[d] = st, st *= t->shape[d];
  size_t es = mr_dtype_size(t->dtype);
  p->data = calloc((size_t)(rows * padded) + 1, es);
  for (int64_t r = 0; r < rows; r++)
    memcpy((char *)p->data + (size_t)(r * padded) * es, (const char *)t->data + (size_t)(r * cols) * es, (size_t)cols * es);
  count(&g_stats.outputs_made);
  return autoreleased(a);
}

static id predict(id self, id provider, id state, id options, id *err) {
  payload *m = P(self);
  count(&g_stats.predictions);
  const mr_io_info *ins, *outs, *sts;
  int n_in = mr_bundle_inputs(m->bundle, m->function, &ins), n_out = mr_bundle_outputs(m->bundle, m->function, &outs);
  int n_st = mr_bundle_states(m->bundle, m->function, &sts);
  if ((n_st > 0) != (state != nil)) return error_with(err, "This model %s a state", n_st ? "needs" : "takes no");
  mr_call *c = NULL;
  mr_error e = {0};
  mr_call_new(m->bundle, m->function, &c, &e);
  id out = nil;
  int rc = 0;
  for (int i = 0; !rc && i < n_in; i++) rc = bind_feature(c, provider, &ins[i], err);
  if (!rc && state) {
    payload *s = P(state);
    pthread_mutex_lock(&g_lock);
    g_stats.overlaps += s->busy;
    s->busy++;
    g_stats.distinct_states += !s->used;
    s->used = 1;
    g_stats.stateful_predictions++;
    pthread_mutex_unlock(&g_lock);
    if (g_delay_us) usleep((useconds_t)g_delay_us);
    if (mr_call_set_state(c, sts[0].name, s->state, &e)) rc = -1, error_with(err, "State mismatch: %s", e.msg);
  }
  if (!rc && mr_call_run(c, &e)) rc = -1, error_with(err, "Prediction failed: %s", e.msg);
  if (state) __atomic_sub_fetch(&P(state)->busy, 1, __ATOMIC_SEQ_CST);
  if (!rc) {
    id *vals = calloc((size_t)n_out + 1, sizeof(id)), *keys = calloc((size_t)n_out + 1, sizeof(id));
    for (int i = 0; !rc && i < n_out; i++) {
      mr_tensor t;
      mr_call_output(c, i, &t);
      keys[i] = m_string_utf8(nil, NULL, outs[i].name);
      id a = output_array(&t, outs[i].name, options ? P(options)->ref : nil, err);
      if (!a) rc = -1;
      else vals[i] = m_feature_value(nil, NULL, a);
    }
    if (!rc) out = autoreleased(m_provider_init(new_of("MLDictionaryFeatureProvider"), NULL,
                                                m_dictionary(nil, NULL, vals, keys, (unsigned long)n_out), err));
    free(vals), free(keys);
  }
  mr_call_free(c);
  return out;
}

static id m_predict(id self, SEL s, id provider, id options, id *err) { return predict(self, provider, nil, options, err); }
static id m_predict_state(id self, SEL s, id provider, id state, id options, id *err) {
  return predict(self, provider, state, options, err);
}

/* ---- registration --------------------------------------------------------------------------- */

typedef struct method {
  const char *sel;
  void (*fn)(void);
  int is_class;
} method;
#define M(sel, fn) {sel, (void (*)(void))fn, 0}
#define C(sel, fn) {sel, (void (*)(void))fn, 1}

static void define(const char *name, const char *super, const method *ms) {
  Class cls = objc_allocateClassPair(super ? objc_getClass(super) : Nil, name, 0);
  if (!super) class_addIvar(cls, "isa", sizeof(Class), 3, "#");
  for (; ms->sel; ms++)
    class_addMethod(ms->is_class ? object_getClass((id)cls) : cls, sel_registerName(ms->sel), (IMP)ms->fn, "@@:");
  objc_registerClassPair(cls);
}

void standin_register(void) {
  memset(&g_stats, 0, sizeof g_stats);
  g_os = 15, g_fail_compile = 0, g_delay_us = 0, g_hidden[0] = 0;
  if (objc_getClass("MLModel")) return;
  define("NSObject", NULL, (const method[]){C("alloc", m_alloc), C("new", m_new), C("instancesRespondToSelector:", m_instances_respond),
                                           M("init", m_init), M("retain", m_retain), M("release", m_release),
                                           M("autorelease", m_autorelease), {0}});
  define("NSAutoreleasePool", "NSObject", (const method[]){M("init", m_pool_init), M("drain", m_pool_drain), {0}});
  define("NSString", "NSObject", (const method[]){C("stringWithUTF8String:", m_string_utf8), M("UTF8String", m_utf8), {0}});
  define("NSURL", "NSObject", (const method[]){C("fileURLWithPath:", m_url_path), M("path", m_path), {0}});
  define("NSError", "NSObject", (const method[]){M("localizedDescription", m_description), {0}});
  define("NSNumber", "NSObject", (const method[]){C("numberWithLongLong:", m_number), M("longLongValue", m_ll), {0}});
  define("NSArray", "NSObject", (const method[]){C("arrayWithObjects:count:", m_array), M("count", m_count),
                                                 M("objectAtIndex:", m_object_at), {0}});
  define("NSDictionary", "NSObject", (const method[]){C("dictionaryWithObjects:forKeys:count:", m_dictionary), {0}});
  define("NSFileManager", "NSObject", (const method[]){C("defaultManager", m_default_manager),
                                                       M("moveItemAtURL:toURL:error:", m_move), {0}});
  define("MLMultiArray", "NSObject", (const method[]){M("initWithDataPointer:shape:dataType:strides:deallocator:error:", m_init_data),
                                                      M("shape", m_shape), M("strides", m_strides), M("dataType", m_data_type),
                                                      M("getBytesWithHandler:", m_get_bytes),
                                                      M("getMutableBytesWithHandler:", m_get_mutable_bytes), {0}});
  define("MLFeatureValue", "NSObject", (const method[]){C("featureValueWithMultiArray:", m_feature_value),
                                                        M("multiArrayValue", m_multi_array_value), {0}});
  define("MLDictionaryFeatureProvider", "NSObject", (const method[]){M("initWithDictionary:error:", m_provider_init),
                                                                     M("featureValueForName:", m_feature_value_for), {0}});
  define("MLPredictionOptions", "NSObject", (const method[]){M("setOutputBackings:", m_set_backings), {0}});
  define("MLModelConfiguration", "NSObject", (const method[]){M("setComputeUnits:", m_set_units),
                                                              M("setFunctionName:", m_set_function), {0}});
  define("MLState", "NSObject", (const method[]){M("getMultiArrayForStateNamed:handler:", m_state_access), {0}});
  define("MLModel", "NSObject", (const method[]){C("compileModelAtURL:error:", m_compile),
                                                 C("modelWithContentsOfURL:configuration:error:", m_model_load),
                                                 M("newState", m_new_state), M("predictionFromFeatures:options:error:", m_predict),
                                                 M("predictionFromFeatures:usingState:options:error:", m_predict_state), {0}});
}
