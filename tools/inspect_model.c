/* inspect_model.c — `milrun inspect MODEL_DIR` (inspect_model.h): meta.yaml's entries, each
 * component found as llm/layout.c resolves it (functions, I/O, states, weight bytes by kind), the
 * tokenizer, and whether the pieces fit together as docs/anemll.md §2 requires: the embeddings'
 * hidden size is every chunk's input and output and the LM head's input, every chunk declares the
 * same one KV state, the chunks take batch_size tokens in prefill and context_length mask columns,
 * the tokenizer's ids are within the LM head's logits. Components are read through the format
 * layer only (no weights mapped), so a large model is described in milliseconds. */
#include "inspect_model.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bundle_info.h"
#include "llm/layout.h"
#include "llm/model.h"
#include "milrun.h"
#include "util/alloc.h"
#include "util/file.h"

typedef struct component {
  char label[48]; /* "embeddings", "FFN chunk 2 of 3", "LM head" */
  const char *path;
  mil_model *m; /* NULL when missing or unreadable */
  double file_bytes;
  tool_weights w;
} component;

typedef struct report {
  const char *dir;
  llm_meta meta;
  llm_meta_pair *info, *params;
  int n_info, n_params;
  llm_layout layout;
  component *parts; /* embeddings, the chunks in order, the LM head */
  int n_parts;
  int64_t hidden, vocab;
  int lm_parts;
  const mr_io_info *state; /* the first chunk's state, which every chunk must declare alike */
  char *tok_path;
  mr_tokenizer *tok;
  tool_weights total;
  double file_bytes;
  cJSON *problems;
} report;

static void problem(report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(report *r, const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  cJSON_AddItemToArray(r->problems, cJSON_CreateString(buf));
}

int tool_is_model_dir(const char *dir) {
  char *p = util_is_dir(dir) ? util_path_join(dir, "meta.yaml") : NULL;
  int yes = p && util_exists(p);
  mr_free(p);
  return yes;
}

static const char *base_name(const char *path) {
  const char *s = strrchr(path, '/');
  return s ? s + 1 : path;
}

static void shape_text(const mr_io_info *io, char *buf, size_t size) {
  size_t o = (size_t)snprintf(buf, size, "%s [", mr_dtype_name(io->dtype));
  for (int d = 0; d < io->rank && o < size; d++)
    o += (size_t)snprintf(buf + o, size - o, io->shape[d] < 0 ? "%s?" : "%s%lld", d ? ", " : "", (long long)io->shape[d]);
  if (o < size) snprintf(buf + o, size - o, "]");
}

static const mr_io_info *find_io(const mr_io_info *v, int n, const char *name) {
  for (int i = 0; i < n; i++)
    if (!strcmp(v[i].name, name)) return &v[i];
  return NULL;
}

static int same_io(const mr_io_info *a, const mr_io_info *b) {
  if (strcmp(a->name, b->name) || a->dtype != b->dtype || a->rank != b->rank) return 0;
  for (int d = 0; d < a->rank; d++)
    if (a->shape[d] != b->shape[d]) return 0;
  return 1;
}

/* ---- reading ------------------------------------------------------------------------------ */

static int read_meta(report *r) {
  mr_error err = {0};
  char *yml = util_path_join(r->dir, "meta.yaml");
  int rc = yml ? llm_meta_read(yml, &r->meta, &err) : util_err_nomem(&err, r->dir);
  if (!rc) rc = llm_meta_pairs(yml, 0, &r->info, &r->n_info, &err);
  if (!rc) rc = llm_meta_pairs(yml, 1, &r->params, &r->n_params, &err);
  if (!rc) rc = llm_layout_resolve(r->dir, &r->meta, &r->layout, &err);
  mr_free(yml);
  if (rc) fprintf(stderr, "milrun inspect: %s\n", err.msg);
  return rc;
}

static void read_component(report *r, component *c, const char *path) {
  mr_error err = {0};
  c->path = path;
  if (!util_is_dir(path)) {
    problem(r, "%s: %s is missing (meta.yaml's parameters name it)", c->label, base_name(path));
    return;
  }
  if (mil_model_load(path, 0, &c->m, &err)) {
    problem(r, "%s: %s", c->label, err.msg);
    return;
  }
  int missing;
  c->file_bytes = tool_weight_file_bytes(c->m, &missing);
  r->file_bytes += c->file_bytes;
  if (missing) problem(r, "%s: %d weight file%s missing", c->label, missing, missing == 1 ? " is" : "s are");
  if (tool_weights_add(&c->w, c->m) || tool_weights_add(&r->total, c->m)) problem(r, "%s: out of memory", c->label);
}

static int read_components(report *r) {
  r->n_parts = r->layout.chunks + 2;
  r->parts = util_calloc((size_t)r->n_parts, sizeof *r->parts);
  if (!r->parts) return fprintf(stderr, "milrun inspect: out of memory\n"), 1;
  snprintf(r->parts[0].label, sizeof r->parts[0].label, "embeddings");
  read_component(r, &r->parts[0], r->layout.embeddings);
  for (int c = 0; c < r->layout.chunks; c++) {
    component *p = &r->parts[1 + c];
    snprintf(p->label, sizeof p->label, "FFN chunk %d of %d", c + 1, r->layout.chunks);
    read_component(r, p, r->layout.ffn[c]);
  }
  snprintf(r->parts[r->n_parts - 1].label, sizeof r->parts[0].label, "LM head");
  read_component(r, &r->parts[r->n_parts - 1], r->layout.lm_head);
  return 0;
}

static void read_tokenizer(report *r) {
  mr_error err = {0};
  r->tok_path = util_path_join(r->dir, "tokenizer.json");
  if (!r->tok_path || !util_exists(r->tok_path))
    problem(r, "tokenizer: no tokenizer.json (commands that take text need --tokenizer)");
  else if (mr_tokenizer_open(r->dir, &r->tok, &err))
    problem(r, "tokenizer: %s", err.msg);
}

/* ---- checks (docs/anemll.md §2) ----------------------------------------------------------- */

static void check_embeddings(report *r, const component *c) {
  const mil_model_function *d = c->m ? mil_model_function_find(c->m, NULL) : NULL;
  if (!d) return;
  const mr_io_info *in = d->n_inputs == 1 ? &d->inputs[0] : NULL, *out = d->n_outputs == 1 ? &d->outputs[0] : NULL;
  if (!in || in->dtype != MR_INT32 || in->rank != 2)
    problem(r, "embeddings: expected one input, int32 token ids [1, T]");
  else if (in->shape[1] > 1 && in->shape[1] != r->meta.batch)
    problem(r, "embeddings: take %lld tokens at a time; the loop passes 1 or batch_size %d", (long long)in->shape[1],
            r->meta.batch);
  if (!out || out->rank != 3) problem(r, "embeddings: expected one output, hidden states [1, T, H]");
  else r->hidden = out->shape[2];
}

/* The first chunk's state is the model's; every other declaration must be the same. */
static void check_state(report *r, const char *where, const mil_model_function *d) {
  if (d->n_states != 1) {
    problem(r, "%s: declares %d states; the chunks share exactly one KV state", where, d->n_states);
    return;
  }
  const mr_io_info *s = &d->states[0];
  char a[128], b[128];
  if (!r->state) r->state = s;
  if (!same_io(s, r->state)) {
    shape_text(s, a, sizeof a);
    shape_text(r->state, b, sizeof b);
    problem(r, "%s: state %s %s differs from %s %s of FFN chunk 1", where, s->name, a, r->state->name, b);
  }
  if (s->rank == 4 && s->shape[2] < r->meta.context)
    problem(r, "%s: state %s holds %lld positions, fewer than context_length %d", where, s->name,
            (long long)s->shape[2], r->meta.context);
}

static void check_hidden(report *r, const char *where, const char *what, const mr_io_info *io) {
  if (!io || io->rank != 3) {
    problem(r, "%s: expected %s [1, T, H]", where, what);
    return;
  }
  if (!r->hidden) r->hidden = io->shape[2];
  if (io->shape[2] != r->hidden)
    problem(r, "%s: %s has hidden size %lld, the embeddings give %lld", where, what, (long long)io->shape[2],
            (long long)r->hidden);
}

static void check_chunk_function(report *r, const component *c, const char *fn, int tokens) {
  char where[96];
  snprintf(where, sizeof where, "%s, %s", c->label, fn);
  const mil_model_function *d = mil_model_function_find(c->m, fn);
  if (!d) {
    problem(r, "%s: no function '%s'", c->label, fn);
    return;
  }
  const mr_io_info *hs = find_io(d->inputs, d->n_inputs, "hidden_states");
  check_hidden(r, where, "input hidden_states", hs);
  if (hs && hs->rank == 3 && hs->shape[1] > 0 && hs->shape[1] != tokens)
    problem(r, "%s: hidden_states takes %lld tokens, %s %d", where, (long long)hs->shape[1],
            tokens == 1 ? "infer takes" : "batch_size is", tokens);
  const mr_io_info *mask = find_io(d->inputs, d->n_inputs, "causal_mask");
  if (!mask || mask->rank != 4) problem(r, "%s: expected input causal_mask [1, 1, T, C]", where);
  else if (mask->shape[3] != r->meta.context)
    problem(r, "%s: causal_mask spans %lld positions, context_length is %d", where, (long long)mask->shape[3],
            r->meta.context);
  check_hidden(r, where, "the output", d->n_outputs ? &d->outputs[0] : NULL);
  check_state(r, where, d);
}

static void check_lm_head(report *r, const component *c) {
  const mil_model_function *d = c->m ? mil_model_function_find(c->m, NULL) : NULL;
  if (!d) return;
  check_hidden(r, "LM head", "input hidden_states", d->n_inputs == 1 ? &d->inputs[0] : NULL);
  r->lm_parts = d->n_outputs;
  for (int i = 0; i < d->n_outputs && !r->meta.argmax_in_model; i++)
    r->vocab += d->outputs[i].rank ? d->outputs[i].shape[d->outputs[i].rank - 1] : 0;
  for (int i = 0; i < r->n_params; i++) /* a meta.yaml without the key has nothing to contradict */
    if ((!strcmp(r->params[i].key, "split_lm_head") || !strcmp(r->params[i].key, "num_logits")) &&
        !r->meta.argmax_in_model && r->meta.split_lm_head != d->n_outputs)
      problem(r, "LM head: %d parts, meta.yaml's %s says %d", d->n_outputs, r->params[i].key, r->meta.split_lm_head);
}

static void check(report *r) {
  check_embeddings(r, &r->parts[0]);
  for (int c = 1; c < r->n_parts - 1; c++)
    if (r->parts[c].m) {
      check_chunk_function(r, &r->parts[c], "prefill", r->meta.batch);
      check_chunk_function(r, &r->parts[c], "infer", 1);
    }
  if (r->parts[r->n_parts - 1].m) check_lm_head(r, &r->parts[r->n_parts - 1]);
  int32_t nt = r->tok ? mr_tokenizer_vocab_size(r->tok) : 0;
  if (r->vocab && nt > r->vocab)
    problem(r, "tokenizer: %d ids, but the LM head gives only %lld logits", nt, (long long)r->vocab);
}

/* ---- output ------------------------------------------------------------------------------- */

static cJSON *pairs_json(const llm_meta_pair *p, int n) {
  cJSON *o = cJSON_CreateObject();
  for (int i = 0; i < n; i++) cJSON_AddStringToObject(o, p[i].key, p[i].value);
  return o;
}

static cJSON *component_json(const component *c) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "component", c->label);
  cJSON_AddStringToObject(o, "file", base_name(c->path));
  cJSON_AddBoolToObject(o, "found", c->m != NULL);
  cJSON *funcs = cJSON_AddArrayToObject(o, "functions");
  for (int f = 0; c->m && f < c->m->n_funcs; f++) cJSON_AddItemToArray(funcs, tool_function_json(c->m, f));
  cJSON *w = cJSON_AddObjectToObject(o, "weights");
  cJSON_AddNumberToObject(w, "file_bytes", c->file_bytes);
  cJSON_AddItemToObject(w, "by_kind", tool_weights_json(&c->w));
  return o;
}

static cJSON *tokenizer_json(const report *r) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddBoolToObject(o, "found", r->tok != NULL);
  if (!r->tok) return o;
  const char *family = mr_tokenizer_chat_family(r->tok);
  cJSON_AddNumberToObject(o, "vocab_size", mr_tokenizer_vocab_size(r->tok));
  cJSON_AddNumberToObject(o, "bos_id", mr_tokenizer_bos_id(r->tok));
  cJSON_AddNumberToObject(o, "eos_id", mr_tokenizer_eos_id(r->tok));
  if (family) cJSON_AddStringToObject(o, "chat_template", family);
  else cJSON_AddNullToObject(o, "chat_template");
  return o;
}

static void print_json(const report *r) {
  cJSON *root = cJSON_CreateObject();
  cJSON_AddStringToObject(root, "path", r->dir);
  cJSON_AddStringToObject(root, "kind", "anemll_model");
  cJSON_AddItemToObject(root, "model_info", pairs_json(r->info, r->n_info));
  cJSON_AddItemToObject(root, "parameters", pairs_json(r->params, r->n_params));
  cJSON_AddNumberToObject(root, "context", r->meta.context);
  cJSON_AddNumberToObject(root, "batch", r->meta.batch);
  cJSON_AddNumberToObject(root, "chunks", r->meta.chunks);
  cJSON_AddNumberToObject(root, "hidden_size", (double)r->hidden);
  cJSON_AddNumberToObject(root, "vocab_size", (double)r->vocab);
  cJSON_AddNumberToObject(root, "lm_head_parts", r->lm_parts);
  if (r->state) {
    cJSON *one = tool_io_json(r->state, 1);
    cJSON_AddItemToObject(root, "state", cJSON_DetachItemFromArray(one, 0));
    cJSON_Delete(one);
  }
  cJSON *parts = cJSON_AddArrayToObject(root, "components");
  for (int i = 0; i < r->n_parts; i++) cJSON_AddItemToArray(parts, component_json(&r->parts[i]));
  cJSON_AddItemToObject(root, "tokenizer", tokenizer_json(r));
  cJSON *w = cJSON_AddObjectToObject(root, "weights");
  cJSON_AddNumberToObject(w, "file_bytes", r->file_bytes);
  cJSON_AddItemToObject(w, "by_kind", tool_weights_json(&r->total));
  cJSON_AddBoolToObject(root, "fits", cJSON_GetArraySize(r->problems) == 0);
  cJSON_AddItemReferenceToObject(root, "problems", r->problems);
  char *s = cJSON_Print(root);
  if (s) printf("%s\n", s);
  cJSON_free(s);
  cJSON_Delete(root);
}

/* A meta.yaml value on one line: a multi-line one (description) shows its first line. */
static void print_pairs(const char *title, const llm_meta_pair *p, int n) {
  printf("  %s:\n", title);
  for (int i = 0; i < n; i++) {
    const char *nl = strchr(p[i].value, '\n');
    printf("    %s = %.*s%s\n", p[i].key, nl ? (int)(nl - p[i].value) : (int)strlen(p[i].value), p[i].value,
           nl && nl[1] ? " ..." : "");
  }
}

/* "<|im_end|> = 151645", or "none". */
static void token_text(const mr_tokenizer *t, int32_t id, char *buf, size_t size) {
  const char *s = id >= 0 ? mr_tokenizer_token(t, id) : NULL;
  if (id < 0) snprintf(buf, size, "none");
  else snprintf(buf, size, "%s = %d", s ? s : "?", id);
}

static void print_tokenizer(const report *r) {
  if (!r->tok) {
    printf("\n  tokenizer: none\n");
    return;
  }
  char bos[128], eos[128];
  token_text(r->tok, mr_tokenizer_bos_id(r->tok), bos, sizeof bos);
  token_text(r->tok, mr_tokenizer_eos_id(r->tok), eos, sizeof eos);
  const char *family = mr_tokenizer_chat_family(r->tok);
  printf("\n  tokenizer: tokenizer.json, %d ids; BOS %s; EOS %s; chat template %s\n", mr_tokenizer_vocab_size(r->tok), bos,
         eos, family ? family : "none recognised");
}

static void print_text(const report *r) {
  printf("%s  (Anemll model, meta.yaml version %s)\n\n", r->dir, r->meta.version);
  print_pairs("model_info", r->info, r->n_info);
  print_pairs("parameters", r->params, r->n_params);
  printf("\n  context %d, batch %d, %d FFN chunk%s, hidden size %lld, vocabulary %lld logits in %d LM head part%s\n",
         r->meta.context, r->meta.batch, r->meta.chunks, r->meta.chunks == 1 ? "" : "s", (long long)r->hidden,
         (long long)r->vocab, r->lm_parts, r->lm_parts == 1 ? "" : "s");
  if (r->state) {
    char s[128];
    shape_text(r->state, s, sizeof s);
    printf("  KV state %s %s\n", r->state->name, s);
  }
  for (int i = 0; i < r->n_parts; i++) {
    const component *c = &r->parts[i];
    printf("\n  %s: %s%s\n", c->label, base_name(c->path), c->m ? "" : "  (not read)");
    for (int f = 0; c->m && f < c->m->n_funcs; f++) tool_function_print(c->m, f, 4, 0);
    if (c->m) printf("    weights: %.0f bytes\n", c->file_bytes);
    tool_weights_print(&c->w, 6);
  }
  print_tokenizer(r);
  int n_read = 0;
  for (int i = 0; i < r->n_parts; i++) n_read += r->parts[i].m != NULL;
  printf("\n  weights: %.0f bytes in the %d component%s read\n", r->file_bytes, n_read, n_read == 1 ? "" : "s");
  tool_weights_print(&r->total, 4);
  int np = cJSON_GetArraySize(r->problems);
  if (!np) printf("\n  the pieces fit together\n");
  else printf("\n  %d problem%s:\n", np, np == 1 ? "" : "s");
  for (int i = 0; i < np; i++) printf("    %s\n", cJSON_GetArrayItem(r->problems, i)->valuestring);
}

static void report_free(report *r) {
  for (int i = 0; r->parts && i < r->n_parts; i++) {
    mil_model_free(r->parts[i].m);
    tool_weights_free(&r->parts[i].w);
  }
  mr_free(r->parts);
  tool_weights_free(&r->total);
  llm_layout_free(&r->layout);
  llm_meta_pairs_free(r->info, r->n_info);
  llm_meta_pairs_free(r->params, r->n_params);
  mr_tokenizer_close(r->tok);
  mr_free(r->tok_path);
  cJSON_Delete(r->problems);
}

int tool_inspect_model(const char *dir, int json) {
  report r;
  memset(&r, 0, sizeof r);
  r.dir = dir;
  r.problems = cJSON_CreateArray();
  int rc = r.problems ? read_meta(&r) : 1;
  if (!rc) rc = read_components(&r);
  if (!rc) {
    read_tokenizer(&r);
    check(&r);
    if (json) print_json(&r);
    else print_text(&r);
    rc = cJSON_GetArraySize(r.problems) ? 1 : 0;
  }
  report_free(&r);
  return rc;
}
