/* template.c — chat templates, rendered natively per family.
 *
 * tokenizer_config.json carries a Jinja template. Rather than interpret Jinja, milrun recognises
 * the template families it knows from marker strings in the template text and renders each with
 * C code that follows its template statement by statement (the comments quote the template).
 * A template that matches no family is refused (MR_ENOTSUP): rendering it "close enough" would
 * silently change what the model sees. Families:
 *   qwen3    Qwen3 hybrid thinking: <think> blocks of earlier turns dropped, enable_thinking
 *   qwen2.5  ChatML with the default system prompt "You are Qwen, created by Alibaba Cloud. ..."
 *   llama3   Llama-3 (3.0) headers and <|eot_id|>; 3.1+ (tools, knowledge-date preamble) refused */
#include <string.h>

#include "tok/tok.h"
#include "util/alloc.h"
#include "util/error.h"

static int has(const char *s, const char *needle) { return strstr(s, needle) != NULL; }

int tok_chat_detect(const char *tpl) {
  if (!tpl) return TOK_CHAT_NONE;
  if (has(tpl, "<|start_header_id|>") && has(tpl, "<|end_header_id|>") && has(tpl, "<|eot_id|>") && has(tpl, "trim") &&
      has(tpl, "bos_token") && !has(tpl, "Cutting Knowledge") && !has(tpl, "tools") && !has(tpl, "date_string"))
    return TOK_CHAT_LLAMA3;
  if (has(tpl, "<|im_start|>") && has(tpl, "<think>") && has(tpl, "last_query_index") && has(tpl, "enable_thinking") &&
      has(tpl, "reasoning_content") && !has(tpl, "<|im_start|>assistant\\n<think>\\n'"))
    return TOK_CHAT_QWEN3;
  if (has(tpl, "<|im_start|>") && has(tpl, "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.") &&
      !has(tpl, "<think>"))
    return TOK_CHAT_QWEN25;
  return TOK_CHAT_NONE;
}

const char *tok_chat_family_name(int family) {
  switch (family) {
  case TOK_CHAT_QWEN3: return "qwen3";
  case TOK_CHAT_QWEN25: return "qwen2.5";
  case TOK_CHAT_LLAMA3: return "llama3";
  default: return NULL;
  }
}

const char *mr_tokenizer_chat_family(const mr_tokenizer *t) { return t ? tok_chat_family_name(t->chat_family) : NULL; }

static int role_is(const mr_chat_message *m, const char *role) { return !strcmp(m->role, role); }

static int starts_with(const char *s, size_t n, const char *p) { return n >= strlen(p) && !memcmp(s, p, strlen(p)); }
static int ends_with(const char *s, size_t n, const char *p) {
  size_t k = strlen(p);
  return n >= k && !memcmp(s + n - k, p, k);
}

/* A slice of a message, for Python's str methods. */
typedef struct slice {
  const char *s;
  size_t n;
} slice;

static slice lstrip_nl(slice x) {
  while (x.n && x.s[0] == '\n') x.s++, x.n--;
  return x;
}
static slice rstrip_nl(slice x) {
  while (x.n && x.s[x.n - 1] == '\n') x.n--;
  return x;
}
static const char *find_last(const char *s, size_t n, const char *p) {
  size_t k = strlen(p);
  for (size_t i = n >= k ? n - k + 1 : 0; i-- > 0;)
    if (!memcmp(s + i, p, k)) return s + i;
  return NULL;
}

/* ---- Qwen3 --------------------------------------------------------------------------------- */
/* The last user turn that is not a tool response ({%- for message in messages[::-1] %} ...). */
static size_t qwen3_last_query(const mr_chat_message *m, size_t n) {
  for (size_t i = n; i-- > 0;) {
    size_t k = strlen(m[i].content);
    if (role_is(&m[i], "user") && !(starts_with(m[i].content, k, "<tool_response>") && ends_with(m[i].content, k, "</tool_response>")))
      return i;
  }
  return n - 1;
}

/* An assistant turn: split "<think>...</think>" off the content as the template does. */
static void qwen3_assistant(util_sb *o, const mr_chat_message *m, int after_query, int last) {
  slice content = {m->content, strlen(m->content)}, reasoning = {"", 0};
  const char *end = strstr(content.s, "</think>");
  if (end) {
    /* content = message.content.split('</think>')[-1].lstrip('\n') */
    const char *lastend = find_last(content.s, content.n, "</think>");
    slice after = {lastend + 8, content.n - (size_t)(lastend + 8 - content.s)};
    /* reasoning = content.split('</think>')[0].rstrip('\n').split('<think>')[-1].lstrip('\n') */
    slice before = rstrip_nl((slice){content.s, (size_t)(end - content.s)});
    const char *open = find_last(before.s, before.n, "<think>");
    if (open) before = (slice){open + 7, before.n - (size_t)(open + 7 - before.s)};
    reasoning = lstrip_nl(before);
    content = lstrip_nl(after);
  }
  util_sb_puts(o, "<|im_start|>assistant\n");
  if (after_query && (last || reasoning.n)) {
    slice r = rstrip_nl(lstrip_nl(reasoning));
    util_sb_puts(o, "<think>\n");
    util_sb_append(o, r.s, r.n);
    util_sb_puts(o, "\n</think>\n\n");
    content = lstrip_nl(content);
  }
  util_sb_append(o, content.s, content.n);
  util_sb_puts(o, "<|im_end|>\n");
}

/* Tool results are grouped into one user turn (Qwen2.5 and Qwen3 alike). */
static void chatml_tool(util_sb *o, const mr_chat_message *m, size_t n, size_t i) {
  if (i == 0 || !role_is(&m[i - 1], "tool")) util_sb_puts(o, "<|im_start|>user");
  util_sb_puts(o, "\n<tool_response>\n");
  util_sb_puts(o, m[i].content);
  util_sb_puts(o, "\n</tool_response>");
  if (i + 1 == n || !role_is(&m[i + 1], "tool")) util_sb_puts(o, "<|im_end|>\n");
}

static void chatml_turn(util_sb *o, const mr_chat_message *m) {
  util_sb_printf(o, "<|im_start|>%s\n", m->role);
  util_sb_puts(o, m->content);
  util_sb_puts(o, "<|im_end|>\n");
}

static void render_qwen3(util_sb *o, const mr_chat_message *m, size_t n, const mr_chat_options *opt) {
  if (role_is(&m[0], "system")) chatml_turn(o, &m[0]);
  size_t last_query = qwen3_last_query(m, n);
  for (size_t i = 0; i < n; i++) {
    if (role_is(&m[i], "user") || (role_is(&m[i], "system") && i > 0)) chatml_turn(o, &m[i]);
    else if (role_is(&m[i], "assistant")) qwen3_assistant(o, &m[i], i > last_query, i + 1 == n);
    else if (role_is(&m[i], "tool")) chatml_tool(o, m, n, i);
    /* any other role: the template prints nothing */
  }
  if (!opt->no_generation_prompt) {
    util_sb_puts(o, "<|im_start|>assistant\n");
    if (opt->no_think) util_sb_puts(o, "<think>\n\n</think>\n\n");
  }
}

/* ---- Qwen2.5 ------------------------------------------------------------------------------- */
static void render_qwen25(util_sb *o, const mr_chat_message *m, size_t n, const mr_chat_options *opt) {
  if (role_is(&m[0], "system")) chatml_turn(o, &m[0]);
  else util_sb_puts(o, "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n");
  for (size_t i = 0; i < n; i++) {
    if (role_is(&m[i], "user") || (role_is(&m[i], "system") && i > 0) || role_is(&m[i], "assistant")) chatml_turn(o, &m[i]);
    else if (role_is(&m[i], "tool")) chatml_tool(o, m, n, i);
  }
  if (!opt->no_generation_prompt) util_sb_puts(o, "<|im_start|>assistant\n");
}

/* ---- Llama-3 ------------------------------------------------------------------------------- */
/* Python's str.isspace() for one code point (Jinja's trim filter is str.strip()). */
static int py_space(int32_t c) {
  return (c >= 9 && c <= 13) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

static slice py_strip(const char *s) {
  size_t n = strlen(s), b = 0;
  int32_t cp;
  int k;
  while (b < n && (k = tok_utf8_decode((const unsigned char *)s + b, n - b, &cp)) > 0 && py_space(cp)) b += (size_t)k;
  size_t e = n;
  while (e > b) { /* step back one character */
    size_t p = e - 1;
    while (p > b && ((unsigned char)s[p] & 0xC0) == 0x80 && e - p < 4) p--;
    k = tok_utf8_decode((const unsigned char *)s + p, e - p, &cp);
    if (k <= 0 || (size_t)k != e - p || !py_space(cp)) break;
    e = p;
  }
  return (slice){s + b, e - b};
}

static void render_llama3(util_sb *o, const mr_chat_message *m, size_t n, const mr_chat_options *opt,
                          const char *bos) {
  for (size_t i = 0; i < n; i++) {
    if (i == 0) util_sb_puts(o, bos);
    util_sb_printf(o, "<|start_header_id|>%s<|end_header_id|>\n\n", m[i].role);
    slice c = py_strip(m[i].content);
    util_sb_append(o, c.s, c.n);
    util_sb_puts(o, "<|eot_id|>");
  }
  if (!opt->no_generation_prompt) util_sb_puts(o, "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

int mr_tokenizer_chat(const mr_tokenizer *t, const mr_chat_message *msgs, size_t n, const mr_chat_options *opts,
                      char **text, mr_error *err) {
  *text = NULL;
  static const mr_chat_options defaults = {0, 0};
  if (!opts) opts = &defaults;
  if (!t) return util_err(err, MR_EINVAL, "mr_tokenizer_chat: no tokenizer");
  if (!t->chat_template)
    return util_err(err, MR_ENOTFOUND, "%s: no chat template (tokenizer_config.json has no chat_template)", t->path);
  if (t->chat_family == TOK_CHAT_NONE)
    return util_err(err, MR_ENOTSUP, "%s: chat template not recognised (milrun renders Qwen3, Qwen2.5 and Llama-3 templates)",
                    t->path);
  if (!n) return util_err(err, MR_EINVAL, "chat: no messages");
  for (size_t i = 0; i < n; i++)
    if (!msgs[i].role || !msgs[i].content) return util_err(err, MR_EINVAL, "chat: message %zu has no role or content", i);
  if (t->chat_family == TOK_CHAT_LLAMA3 && !t->bos_token)
    return util_err(err, MR_EFORMAT, "%s: the Llama-3 template needs bos_token, which tokenizer_config.json lacks", t->path);
  util_sb o = {0};
  switch (t->chat_family) {
  case TOK_CHAT_QWEN3: render_qwen3(&o, msgs, n, opts); break;
  case TOK_CHAT_QWEN25: render_qwen25(&o, msgs, n, opts); break;
  default: render_llama3(&o, msgs, n, opts, t->bos_token); break;
  }
  if (util_sb_failed(&o)) return util_err_nomem(err, "chat template");
  *text = util_sb_take(&o);
  return *text ? MR_OK : util_err_nomem(err, "chat template");
}
