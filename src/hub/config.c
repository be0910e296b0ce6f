/* config.c — where the cache is, which server to ask and with what token: mr_hub_options first,
 * then huggingface_hub's environment variables, then its defaults. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hub/cache.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/file.h"
#include "util/strbuf.h"

#define DEFAULT_ENDPOINT "https://huggingface.co"

static const char *env(const char *name) {
  const char *v = getenv(name);
  return v && *v ? v : NULL;
}

/* A copy of `path` with a leading "~/" expanded, as Python's os.path.expanduser does. */
static char *expand_user(const char *path) {
  const char *home = env("HOME");
  if (path[0] == '~' && (path[1] == '/' || !path[1]) && home) return util_path_join(home, path[1] ? path + 2 : "");
  return util_strdup(path);
}

/* $HF_HOME, else $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface. */
static char *hf_home(void) {
  if (env("HF_HOME")) return expand_user(env("HF_HOME"));
  if (env("XDG_CACHE_HOME")) return util_path_join(env("XDG_CACHE_HOME"), "huggingface");
  return expand_user("~/.cache/huggingface");
}

static int truthy(const char *v) {
  return v && (!strcasecmp(v, "1") || !strcasecmp(v, "on") || !strcasecmp(v, "yes") || !strcasecmp(v, "true"));
}

/* The token file's first line, trimmed; NULL when absent or empty. */
static char *token_file(const char *home) {
  char *path = env("HF_TOKEN_PATH") ? expand_user(env("HF_TOKEN_PATH")) : util_path_join(home, "token");
  char *text = NULL;
  if (path) util_read_file(path, &text, NULL, NULL);
  mr_free(path);
  if (!text) return NULL;
  char *s = text;
  while (isspace((unsigned char)*s)) s++;
  size_t n = strcspn(s, "\r\n");
  while (n && isspace((unsigned char)s[n - 1])) n--;
  char *tok = n ? util_strndup(s, n) : NULL;
  mr_free(text);
  return tok;
}

int hub_config_load(hub_config *c, const mr_hub_options *o, mr_error *err) {
  static const mr_hub_options none = {0};
  if (!o) o = &none;
  memset(c, 0, sizeof *c);
  char *home = hf_home();
  if (!home) return util_err_nomem(err, "cache path");
  if (o->cache_dir) c->cache = expand_user(o->cache_dir);
  else if (env("HF_HUB_CACHE")) c->cache = expand_user(env("HF_HUB_CACHE"));
  else c->cache = util_path_join(home, "hub");
  const char *ep = o->endpoint ? o->endpoint : env("HF_ENDPOINT") ? env("HF_ENDPOINT") : DEFAULT_ENDPOINT;
  size_t n = strlen(ep);
  while (n && ep[n - 1] == '/') n--;
  c->endpoint = util_strndup(ep, n);
  if (o->token) c->token = *o->token ? util_strdup(o->token) : NULL;
  else if (env("HF_TOKEN")) c->token = util_strdup(env("HF_TOKEN"));
  else c->token = token_file(home);
  c->offline = o->offline || truthy(env("HF_HUB_OFFLINE"));
  mr_free(home);
  if (!c->cache || !c->endpoint) {
    hub_config_free(c);
    return util_err_nomem(err, "hub settings");
  }
  return MR_OK;
}

void hub_config_free(hub_config *c) {
  mr_free(c->cache);
  mr_free(c->endpoint);
  mr_free(c->token);
  memset(c, 0, sizeof *c);
}

/* Repository ids as the hub accepts them: [ORG/]NAME of letters, digits, '-', '_', '.', with no
 * "--" or ".." and no leading or trailing '-' or '.' in either part, 96 characters at most. */
static int valid_part(const char *s, size_t n) {
  if (n == 0 || n > 96 || s[0] == '-' || s[0] == '.' || s[n - 1] == '-' || s[n - 1] == '.') return 0;
  for (size_t i = 0; i < n; i++) {
    if (!isalnum((unsigned char)s[i]) && !strchr("-_.", s[i])) return 0;
    if (i && ((s[i] == '-' && s[i - 1] == '-') || (s[i] == '.' && s[i - 1] == '.'))) return 0;
  }
  return 1;
}

static int valid_rev(const char *r) {
  if (!*r || *r == '/' || strstr(r, "..") || r[strlen(r) - 1] == '/') return 0;
  for (const char *p = r; *p; p++)
    if ((unsigned char)*p <= ' ' || strchr("\\~^:?*[", *p)) return 0;
  return 1;
}

int hub_parse_spec(const char *spec, const char *revision, char **repo, char **rev, mr_error *err) {
  *repo = *rev = NULL;
  const char *at = strchr(spec, '@');
  size_t n = at ? (size_t)(at - spec) : strlen(spec);
  const char *slash = memchr(spec, '/', n);
  int ok = slash ? valid_part(spec, (size_t)(slash - spec)) && valid_part(slash + 1, n - (size_t)(slash - spec) - 1)
                 : valid_part(spec, n);
  if (!ok)
    return util_err(err, MR_EINVAL, "'%s' is not a Hugging Face repository id: expected ORG/NAME[@REVISION] "
                    "(letters, digits, '-', '_', '.')", spec);
  const char *r = revision ? revision : at ? at + 1 : "main";
  if (!valid_rev(r)) return util_err(err, MR_EINVAL, "'%s' is not a valid revision (branch, tag or commit)", r);
  *repo = util_strndup(spec, n);
  *rev = util_strdup(r);
  if (!*repo || !*rev) {
    mr_free(*repo);
    mr_free(*rev);
    *repo = *rev = NULL;
    return util_err_nomem(err, spec);
  }
  return MR_OK;
}

int hub_safe_relpath(const char *path) {
  if (!*path || *path == '/') return 0;
  for (const char *p = path; *p; p++)
    if ((unsigned char)*p < ' ' || *p == '\\') return 0;
  const char *s = path;
  for (;;) {
    size_t n = strcspn(s, "/");
    if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.')) return 0;
    if (!s[n]) return 1;
    s += n + 1;
  }
}

char *hub_url_escape(const char *s, int keep_slash) {
  util_sb sb = {0};
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (isalnum(*p) || strchr("-_.~", *p) || (keep_slash && *p == '/')) util_sb_putc(&sb, (char)*p);
    else util_sb_printf(&sb, "%%%02X", *p);
  }
  util_sb_cstr(&sb);
  if (util_sb_failed(&sb)) {
    util_sb_free(&sb);
    return NULL;
  }
  return sb.buf ? util_sb_take(&sb) : util_strdup("");
}
