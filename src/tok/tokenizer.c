/* tokenizer.c — the public tokenizer handle: open/close, encode, and the id <-> token queries.
 * Loading the files is load.c's job (tokenizer.json) and config(), here, reads
 * tokenizer_config.json for the special tokens and the chat template. */
#include <cjson/cJSON.h>
#include <string.h>

#include "tok/tok.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/file.h"

void mr_tokenizer_close(mr_tokenizer *t) {
  if (!t) return;
  tok_work_free(&t->work);
  pcre2_match_data_free(t->md);
  pcre2_code_free(t->re);
  pcre2_general_context_free(t->gctx);
  tok_strmap_free(&t->vocab);
  tok_pairmap_free(&t->merges);
  util_sb_free(&t->bytes);
  util_sb_free(&t->strs);
  mr_free(t->tokens);
  mr_free(t->added);
  mr_free(t->chat_template);
  mr_free(t->bos_token);
  mr_free(t->eos_token);
  mr_free(t->path);
  mr_free(t);
}

/* bos_token / eos_token: a string, or an AddedToken object {"content": ...}. */
static char *token_field(const cJSON *cfg, const char *name) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, name);
  if (cJSON_IsObject(v)) v = cJSON_GetObjectItemCaseSensitive(v, "content");
  return cJSON_IsString(v) ? util_strdup(v->valuestring) : NULL;
}

/* chat_template: a string, or a list of {name, template} of which "default" is used. */
static char *template_field(const cJSON *cfg) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, "chat_template"), *e;
  if (cJSON_IsString(v)) return util_strdup(v->valuestring);
  cJSON_ArrayForEach(e, v) {
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "name");
    const cJSON *tpl = cJSON_GetObjectItemCaseSensitive(e, "template");
    if (cJSON_IsString(name) && !strcmp(name->valuestring, "default") && cJSON_IsString(tpl))
      return util_strdup(tpl->valuestring);
  }
  return NULL;
}

int tok_load_config(mr_tokenizer *t, const char *dir, mr_error *err) {
  char *path = util_path_join(dir, "tokenizer_config.json"), *text = NULL;
  if (!path) return util_err_nomem(err, dir);
  int rc = MR_OK;
  if (util_exists(path) && !(rc = util_read_file(path, &text, NULL, err))) {
    cJSON *cfg = cJSON_Parse(text);
    if (!cJSON_IsObject(cfg)) {
      const char *at = cJSON_GetErrorPtr();
      rc = util_err(err, MR_EFORMAT, "%s: not a JSON object (error near byte %ld)", path,
                    at && at >= text ? (long)(at - text) : 0L);
    } else {
      t->bos_token = token_field(cfg, "bos_token");
      t->eos_token = token_field(cfg, "eos_token");
      t->chat_template = template_field(cfg);
    }
    cJSON_Delete(cfg);
    mr_free(text);
  }
  mr_free(path);
  if (!rc && !t->chat_template) { /* transformers >= 4.43 may keep it in its own file */
    path = util_path_join(dir, "chat_template.jinja");
    if (!path) return util_err_nomem(err, dir);
    if (util_exists(path)) rc = util_read_file(path, &t->chat_template, NULL, err);
    mr_free(path);
  }
  if (!rc && t->chat_template) t->chat_family = tok_chat_detect(t->chat_template);
  return rc;
}

/* Directory of a file path ("." when it has none). */
static char *dir_of(const char *path) {
  const char *slash = strrchr(path, '/');
  if (!slash) return util_strdup(".");
  return util_strndup(path, slash == path ? 1 : (size_t)(slash - path));
}

int mr_tokenizer_open(const char *path, mr_tokenizer **out, mr_error *err) {
  *out = NULL;
  if (!path) return util_err(err, MR_EINVAL, "mr_tokenizer_open: no path");
  mr_tokenizer *t = util_calloc(1, sizeof *t);
  if (!t) return util_err_nomem(err, path);
  int isdir = util_is_dir(path);
  t->path = isdir ? util_path_join(path, "tokenizer.json") : util_strdup(path);
  char *dir = isdir ? util_strdup(path) : dir_of(path);
  int rc = (!t->path || !dir) ? util_err_nomem(err, path) : MR_OK;
  if (!rc) rc = tok_load_json(t, t->path, err);
  if (!rc) rc = tok_load_config(t, dir, err);
  mr_free(dir);
  if (rc) {
    mr_tokenizer_close(t);
    return rc;
  }
  *out = t;
  return MR_OK;
}

int tok_open_text(const char *name, const char *text, size_t size, mr_tokenizer **out, mr_error *err) {
  *out = NULL;
  mr_tokenizer *t = util_calloc(1, sizeof *t);
  if (!t) return util_err_nomem(err, name);
  t->path = util_strdup(name);
  int rc = t->path ? tok_load_text(t, text, size, err) : util_err_nomem(err, name);
  if (rc) {
    mr_tokenizer_close(t);
    return rc;
  }
  *out = t;
  return MR_OK;
}

int mr_tokenizer_encode(mr_tokenizer *t, const char *text, size_t len, int flags, int32_t **ids, size_t *n_ids,
                        mr_error *err) {
  *ids = NULL;
  *n_ids = 0;
  if (!t || (!text && len)) return util_err(err, MR_EINVAL, "mr_tokenizer_encode: no tokenizer or text");
  const unsigned char *s = (const unsigned char *)text;
  int special = (flags & MR_TOK_PARSE_SPECIAL) != 0;
  tok_ids out = {0};
  size_t pos = 0, b, e;
  int32_t id;
  int rc = MR_OK;
  /* added tokens that match the raw text come out first; the spans between them go through the
   * normaliser, the split regex and BPE one by one */
  while (!rc && tok_added_find(t, s, len, pos, 0, special, &b, &e, &id)) {
    rc = tok_encode_span(t, s + pos, b - pos, special, &out, err);
    tok_ids_push(&out, id);
    pos = e;
  }
  if (!rc) rc = tok_encode_span(t, s + pos, len - pos, special, &out, err);
  if (!rc && out.failed) rc = util_err_nomem(err, "encode");
  if (rc) {
    mr_free(out.v);
    return rc;
  }
  *ids = out.v;
  *n_ids = out.len;
  return MR_OK;
}

int32_t mr_tokenizer_vocab_size(const mr_tokenizer *t) { return t ? t->vocab_size : 0; }

int mr_tokenizer_set_vocab_size(mr_tokenizer *t, int32_t n, mr_error *err) {
  if (!t || n < t->n_tokens)
    return util_err(err, MR_EINVAL, "vocabulary size %d is smaller than the tokenizer's %d tokens", (int)n,
                    t ? (int)t->n_tokens : 0);
  t->vocab_size = n;
  return MR_OK;
}

const char *mr_tokenizer_token(const mr_tokenizer *t, int32_t id) {
  if (!t || id < 0 || id >= t->n_tokens || !(t->tokens[id].flags & TOK_F_PRESENT)) return NULL;
  return t->strs.buf + t->tokens[id].str_off;
}

int32_t mr_tokenizer_token_id(const mr_tokenizer *t, const char *token) {
  if (!t || !token) return -1;
  size_t n = strlen(token);
  for (int k = 0; k < t->n_added; k++)
    if (t->added[k].len == n && !memcmp(t->bytes.buf + t->added[k].off, token, n)) return t->added[k].id;
  util_sb raw = {0};
  int32_t id = -1;
  if (!tok_bytelevel_decode(token, n, &raw)) {
    id = tok_strmap_get(t, raw.buf ? raw.buf : "", raw.len);
  } else { /* a token string outside the byte alphabet: rare, so a scan is fine */
    for (int32_t i = 0; i < t->n_tokens && id < 0; i++)
      if ((t->tokens[i].flags & TOK_F_PRESENT) && t->tokens[i].str_len == n && !memcmp(t->strs.buf + t->tokens[i].str_off, token, n))
        id = i;
  }
  util_sb_free(&raw);
  return id;
}

int mr_tokenizer_is_special(const mr_tokenizer *t, int32_t id) {
  return t && id >= 0 && id < t->n_tokens && (t->tokens[id].flags & TOK_F_SPECIAL) != 0;
}

int32_t mr_tokenizer_bos_id(const mr_tokenizer *t) { return t && t->bos_token ? mr_tokenizer_token_id(t, t->bos_token) : -1; }
int32_t mr_tokenizer_eos_id(const mr_tokenizer *t) { return t && t->eos_token ? mr_tokenizer_token_id(t, t->eos_token) : -1; }
