/* cache.c — `milrun cache ls` and `milrun cache rm ORG/NAME[@REV]`: what the Hugging Face cache
 * holds and deleting from it (src/hub/scan.c), as `hf cache scan` / `hf cache delete` do. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "hub/cache.h"
#include "hub/scan.h"
#include "milrun.h"
#include "opts.h"
#include "util/alloc.h"

static void human(int64_t b, char *buf, size_t n) {
  const char *unit[] = {"B", "kB", "MB", "GB", "TB"};
  double v = (double)b;
  int u = 0;
  while (v >= 1000 && u < 4) v /= 1000, u++;
  snprintf(buf, n, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
}

static void when(time_t t, char *buf, size_t n) {
  struct tm tm;
  if (!t || !localtime_r(&t, &tm) || !strftime(buf, n, "%Y-%m-%d %H:%M", &tm)) snprintf(buf, n, "-");
}

static int list(const hub_config *cfg) {
  hub_cache_repo *repos;
  int n;
  mr_error err = {0};
  if (hub_cache_scan(cfg->cache, &repos, &n, &err) != MR_OK) {
    fprintf(stderr, "milrun cache: %s\n", err.msg);
    return 1;
  }
  int64_t total = 0;
  char size[32], date[32];
  for (int i = 0; i < n; i++) {
    const hub_cache_repo *r = &repos[i];
    total += r->bytes;
    human(r->bytes, size, sizeof size);
    printf("%s  %s  %d revision%s", r->repo, size, r->nrevs, r->nrevs == 1 ? "" : "s");
    if (r->partial_bytes) {
      human(r->partial_bytes, size, sizeof size);
      printf(" (%s of unfinished downloads: `milrun pull` resumes them)", size);
    }
    printf("\n");
    for (int k = 0; k < r->nrevs; k++) {
      const hub_cache_rev *v = &r->revs[k];
      human(v->bytes, size, sizeof size);
      when(v->modified, date, sizeof date);
      printf("  %.12s  %-12s %10s %6lld file%s  %s\n", v->commit, v->refs[0] ? v->refs : "(no ref)", size,
             (long long)v->files, v->files == 1 ? " " : "s", date);
    }
  }
  human(total, size, sizeof size);
  printf("%d repositor%s, %s in %s\n", n, n == 1 ? "y" : "ies", size, cfg->cache);
  hub_cache_scan_free(repos, n);
  return 0;
}

static int remove_repo(const hub_config *cfg, const char *spec) {
  const char *at = strchr(spec, '@');
  char *repo = NULL, *rev = NULL;
  mr_error err = {0};
  int rc = hub_parse_spec(spec, NULL, &repo, &rev, &err);
  int64_t freed = 0;
  if (rc == MR_OK) rc = hub_cache_delete(cfg->cache, repo, at ? rev : NULL, &freed, &err);
  if (rc == MR_OK) {
    char size[32];
    human(freed, size, sizeof size);
    printf("removed %s%s%s from %s (%s freed)\n", repo, at ? "@" : "", at ? rev : "", cfg->cache, size);
  } else {
    fprintf(stderr, "milrun cache: %s\n", err.msg);
  }
  mr_free(repo);
  mr_free(rev);
  return rc == MR_OK ? 0 : rc == MR_EINVAL ? 2 : 1;
}

int tool_cache(int argc, char **argv) {
  mr_hub_options o = {0};
  const tool_opt opts[] = {
    {"cache-dir", 0, OPT_STR, &o.cache_dir, "DIR", "cache folder (default: $HF_HUB_CACHE, else $HF_HOME/hub," OPT_NL
     "else ~/.cache/huggingface/hub)", 0, 0, NULL},
    {NULL, 0, 0, NULL, NULL, NULL, 0, 0, NULL}};
  const tool_cmd cmd = {
    "cache", "ls | rm ORG/NAME[@REVISION] [options]",
    "ls: list the model repositories of the Hugging Face cache with their size on disk and each\n"
    "    revision (commit, the refs naming it, size, files, last change).\n"
    "rm: delete a repository from the cache; with @REVISION (a branch, tag or commit) only that\n"
    "    revision and the files no other revision uses.",
    opts, NULL, 1, 2, "the action (ls or rm)"};
  const char *pos[2];
  int npos;
  int rc = tool_parse(&cmd, argc, argv, pos, &npos);
  if (rc) return tool_parse_exit(rc);
  int is_ls = !strcmp(pos[0], "ls"), is_rm = !strcmp(pos[0], "rm");
  if (!is_ls && !is_rm) return tool_usage_error(&cmd, "unknown action '%s' (ls or rm)", pos[0]);
  if (is_ls && npos != 1) return tool_usage_error(&cmd, "unexpected argument '%s'", pos[1]);
  if (is_rm && npos != 2) return tool_usage_error(&cmd, "rm needs the repository (ORG/NAME[@REVISION])");
  hub_config cfg;
  mr_error err = {0};
  if (hub_config_load(&cfg, &o, &err) != MR_OK) {
    fprintf(stderr, "milrun cache: %s\n", err.msg);
    return 1;
  }
  rc = is_ls ? list(&cfg) : remove_repo(&cfg, pos[1]);
  hub_config_free(&cfg);
  return rc;
}
