/* inspect.c — `milrun inspect BUNDLE [--json | --mil]`: what a bundle (.mlmodelc, .mlpackage, .mlmodel) holds: functions with their
 * inputs, outputs and states, an op histogram, weight bytes by storage kind, and the metadata; or
 * its program as canonical model.mil text. A folder with meta.yaml is an Anemll model, described
 * as a whole by inspect_model.c. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bundle_info.h"
#include "backend.h"
#include "commands.h"
#include "inspect_model.h"
#include "mil/model.h"
#include "mil/print.h"
#include "model_path.h"
#include "opts.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/file.h"

/* The bundle's program (or a .mil file's) through the one printer: Apple's layout, no comments. */
static int print_mil(const char *path) {
  size_t n = strlen(path);
  int is_text = n > 4 && !strcmp(path + n - 4, ".mil");
  mil_model *m = NULL;
  mil_program *own = NULL;
  mr_error err = {0};
  /* A bundle through the format layer (whatever its files are); a bare .mil file parsed as is. */
  if ((is_text ? mil_parse_file(path, &own, &err) : mil_model_load(path, 0, &m, &err)) != MR_OK) {
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

/* The description of one bundle at path (a local folder). */
static int describe(const char *path, int json, const mr_bundle_options *bo) {
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
  double wfile = tool_weight_file_bytes(m, &missing);
  int no_weights = m->n_weight_files && missing == m->n_weight_files;
  tool_weights ws = {0};
  if ((!no_weights && mr_bundle_open(path, bo, &b, &err) != MR_OK) ||
      (tool_weights_add(&ws, m) && util_err_nomem(&err, path))) {
    fprintf(stderr, "milrun inspect: %s\n", err.msg);
    tool_weights_free(&ws);
    mr_bundle_close(b);
    mil_model_free(m);
    return 1;
  }
  if (no_weights && !json) printf("(no weight files: described from the program and metadata only)\n");
  const mil_program *prog = m->prog;
  const mil_metadata *md = m->has_md ? &m->md : NULL;
  cJSON *root = cJSON_CreateObject(), *funcs = cJSON_AddArrayToObject(root, "functions");
  cJSON_AddStringToObject(root, "path", path);
  cJSON_AddStringToObject(root, "program_version", prog->version ? prog->version : "");
  cJSON_AddStringToObject(root, "default_function", m->funcs[m->default_fn].fn->name);
  cJSON_AddBoolToObject(root, "weights_loaded", !no_weights);
  if (!json) printf("%s  (program %s, %d function%s)\n", path, prog->version ? prog->version : "?", prog->n_funcs, prog->n_funcs == 1 ? "" : "s");
  for (int f = 0; f < m->n_funcs; f++) {
    cJSON_AddItemToArray(funcs, tool_function_json(m, f));
    if (json) continue;
    printf("\n");
    tool_function_print(m, f, 2, 1);
  }
  cJSON *wo = cJSON_AddObjectToObject(root, "weights");
  cJSON_AddNumberToObject(wo, "file_bytes", wfile);
  size_t held = b ? mr_bundle_weight_bytes(b) : 0;
  cJSON_AddNumberToObject(wo, "resident_bytes", (double)held);
  cJSON_AddItemToObject(wo, "by_kind", tool_weights_json(&ws));
  if (!json) {
    printf("\n  weights: %d file%s, %.0f bytes; held after load %zu bytes\n", m->n_weight_files,
           m->n_weight_files == 1 ? "" : "s", wfile, held);
    tool_weights_print(&ws, 4);
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
  tool_weights_free(&ws);
  mr_bundle_close(b);
  mil_model_free(m);
  return 0;
}

int tool_inspect(int argc, char **argv) {
  const char *arg = NULL;
  int json = 0, mil = 0;
  mr_bundle_options bo = {0};
  const tool_opt opts[] = {
    {"json", 0, OPT_FLAG, &json, NULL, "print one JSON object instead of text", 0, 0, NULL},
    TOOL_BACKEND_OPTS(&bo),
    {"mil", 0, OPT_FLAG, &mil, NULL, "print the program as canonical model.mil text (BUNDLE may also be" OPT_NL "a .mil file)", 0, 0, NULL},
    {NULL, 0, 0, NULL, NULL, NULL, 0, 0, NULL}};
  const tool_cmd cmd = {
    "inspect", "BUNDLE|MODEL [--json | --mil]",
    "Describe a Core ML model: functions (default marked), inputs, outputs and states\n"
    "with dtypes and shapes, an op histogram, weight bytes by storage kind and the metadata.\n"
    "BUNDLE is a .mlmodelc or .mlpackage folder, a .mlmodel file, or ORG/NAME[@REV]:path/in/repo.mlmodelc\n"
    "(downloaded on first use).\n\n"
    "MODEL, an Anemll model directory (a folder with meta.yaml, or ORG/NAME[@REV]), is described as a\n"
    "whole: meta.yaml's entries, context and batch, each component (embeddings, FFN chunks, LM head)\n"
    "with its functions, I/O, states and weight bytes by kind, the tokenizer, and whether the pieces\n"
    "fit together (hidden sizes, the one KV state shared by every chunk, batch and context of the\n"
    "chunks, tokenizer ids within the logits). The exit status is 1 when they do not (each problem\n"
    "is listed).",
    opts, NULL, 1, 1, "BUNDLE or MODEL"};
  int npos;
  int rc = tool_parse(&cmd, argc, argv, &arg, &npos);
  if (rc) return tool_parse_exit(rc);
  if (json && mil) return tool_usage_error(&cmd, "--json and --mil exclude each other");
  char *path = NULL;
  mr_error err = {0};
  if (tool_model_path(arg, &path, &err) != MR_OK) {
    fprintf(stderr, "milrun inspect: %s\n", err.msg);
    return 1;
  }
  int model = tool_is_model_dir(path);
  if (model && mil) rc = tool_usage_error(&cmd, "--mil takes one bundle; %s is a model directory", arg);
  else rc = model ? tool_inspect_model(path, json) : mil ? print_mil(path) : describe(path, json, &bo);
  mr_free(path);
  return rc;
}
