/* hub.c — the public hub API: mr_hub_pull (online, falling back to the cache when the hub cannot
 * be reached, as huggingface_hub does) and mr_hub_resolve (what `--model` calls). */
#include <string.h>

#include "hub/cache.h"
#include "hub/http.h"
#include "hub/pull.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/file.h"
#include "util/strbuf.h"

/* The cached snapshot of repo@rev, or MR_ENOTFOUND. */
static int from_cache(const hub_config *cfg, const char *repo, const char *rev, char **snapshot, mr_error *err) {
  char *dir = hub_cache_repo_dir(cfg->cache, repo);
  if (!dir) return util_err_nomem(err, repo);
  char *commit = NULL;
  int rc = hub_cache_read_ref(dir, rev, &commit, err);
  if (rc == MR_OK) {
    util_sb sb = {0};
    util_sb_printf(&sb, "%s/snapshots/%s", dir, commit);
    *snapshot = util_sb_take(&sb);
    if (!*snapshot) rc = util_err_nomem(err, repo);
    else if (!util_is_dir(*snapshot)) {
      rc = util_err(err, MR_ENOTFOUND, "%s: missing snapshot", *snapshot);
      mr_free(*snapshot);
      *snapshot = NULL;
    }
  }
  mr_free(commit);
  mr_free(dir);
  return rc;
}

static int pull(const char *spec, const mr_hub_options *o, char **snapshot, mr_error *err) {
  *snapshot = NULL;
  hub_config cfg;
  int rc = hub_config_load(&cfg, o, err);
  if (rc != MR_OK) return rc;
  char *repo = NULL, *rev = NULL;
  rc = hub_parse_spec(spec, o ? o->revision : NULL, &repo, &rev, err);
  if (rc == MR_OK && cfg.offline) {
    if (from_cache(&cfg, repo, rev, snapshot, NULL) != MR_OK)
      rc = util_err(err, MR_ENOTFOUND, "%s@%s is not in the cache at %s and offline mode is on (HF_HUB_OFFLINE): "
                    "unset HF_HUB_OFFLINE and run `milrun pull %s`", repo, rev, cfg.cache, repo);
  } else if (rc == MR_OK && (rc = hub_http_global_init(err)) == MR_OK) {
    hub_pull_args a = {.repo = repo, .rev = rev, .include = o ? o->include : NULL,
                       .exclude = o ? o->exclude : NULL,
                       .jobs = o && o->jobs > 0 ? o->jobs : 4, .quiet = o ? o->quiet : 0};
    int unreachable = 0;
    rc = hub_pull_online(&cfg, &a, snapshot, &unreachable, err);
    hub_http_global_cleanup();
    if (rc != MR_OK && unreachable) {
      if (from_cache(&cfg, repo, rev, snapshot, NULL) == MR_OK) rc = MR_OK;
      else if (err) {
        mr_error first = *err;
        util_err(err, rc, "%s; %s@%s is not in the cache at %s either: check your connection or HF_ENDPOINT",
                 first.msg, repo, rev, cfg.cache);
      }
    }
  }
  mr_free(repo);
  mr_free(rev);
  hub_config_free(&cfg);
  return rc;
}

MR_API int mr_hub_pull(const char *repo_spec, const mr_hub_options *opts, char **snapshot_dir, mr_error *err) {
  if (!repo_spec || !snapshot_dir) return util_err(err, MR_EINVAL, "mr_hub_pull: NULL argument");
  return pull(repo_spec, opts, snapshot_dir, err);
}

MR_API int mr_hub_resolve(const char *model, const mr_hub_options *opts, char **path, mr_error *err) {
  if (!model || !path) return util_err(err, MR_EINVAL, "mr_hub_resolve: NULL argument");
  if (util_is_dir(model)) {
    *path = util_strdup(model);
    return *path ? MR_OK : util_err_nomem(err, model);
  }
  return pull(model, opts, path, err);
}
