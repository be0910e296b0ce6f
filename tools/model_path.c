/* model_path.c — model arguments to local paths (model_path.h) through mr_hub_resolve. */
#include "model_path.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "util/alloc.h"
#include "util/error.h"

int tool_model_path(const char *arg, char **path, mr_error *err) {
  struct stat st;
  const char *colon = strchr(arg, ':');
  const char *slash = strchr(arg, '/'), *ext = strstr(arg, ".mlmodelc");
  int local = stat(arg, &st) == 0 || !slash || arg[0] == '/' || arg[0] == '.' ||
              (!colon && (strchr(slash + 1, '/') || (ext && !ext[9]))); /* ORG/NAME has one '/' */
  if (local) {
    *path = util_strdup(arg); /* a local path (a missing one is reported by whoever opens it) */
    return *path ? MR_OK : util_err_nomem(err, arg);
  }
  if (!colon) return mr_hub_resolve(arg, NULL, path, err);
  char repo[512], inc_dir[1024], inc_zip[1024];
  const char *sub = colon + 1;
  if ((size_t)(colon - arg) >= sizeof repo || !*sub || strlen(sub) >= sizeof inc_dir - 8)
    return util_err(err, MR_EINVAL, "'%s': expected ORG/NAME[@REVISION]:path/in/repo", arg);
  snprintf(repo, sizeof repo, "%.*s", (int)(colon - arg), arg);
  snprintf(inc_dir, sizeof inc_dir, "%s/", sub);
  snprintf(inc_zip, sizeof inc_zip, "%s.zip", sub);
  const char *include[] = {inc_dir, inc_zip, NULL};
  mr_hub_options o = {.include = include};
  char *snap = NULL;
  int rc = mr_hub_pull(repo, &o, &snap, err);
  if (rc != MR_OK) return rc;
  size_t n = strlen(snap) + strlen(sub) + 2;
  *path = mr_alloc(n);
  if (*path) snprintf(*path, n, "%s/%s", snap, sub);
  mr_free(snap);
  return *path ? MR_OK : util_err_nomem(err, arg);
}
