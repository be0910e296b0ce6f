/* pull.h — downloading one revision of a repository into the cache (pull.c). */
#ifndef HUB_PULL_H
#define HUB_PULL_H

#include "hub/cache.h"

typedef struct hub_pull_args {
  const char *repo;           /* ORG/NAME */
  const char *rev;            /* branch, tag or commit */
  const char *const *include; /* NULL-terminated globs, or NULL for every file */
  const char *const *exclude; /* NULL-terminated globs of files to skip, or NULL */
  int jobs;                   /* parallel connections (>= 1) */
  int quiet;
} hub_pull_args;

/* Ask the hub for the commit of a->rev and its file tree, download what the cache lacks, and
 * return the snapshot folder in *snapshot (new string). *unreachable is set to 1 when the hub
 * gave no answer at all (the caller may then fall back to the cache). */
int hub_pull_online(const hub_config *cfg, const hub_pull_args *a, char **snapshot, int *unreachable,
                    mr_error *err);

/* Does `path` match one of the globs (fnmatch, '*' also crossing '/'; a trailing '/' matches everything below)? */
int hub_include_match(const char *const *include, const char *path);

#endif
