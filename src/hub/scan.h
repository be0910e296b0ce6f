/* scan.h — what the Hugging Face cache holds and how to delete from it, as `hf cache scan` and
 * `hf cache delete` do: repositories with their size on disk, revisions (snapshots) with the refs
 * that name them, and deletion of a repository or of one revision together with the blobs that
 * no other revision uses. */
#ifndef HUB_SCAN_H
#define HUB_SCAN_H

#include <stdint.h>
#include <time.h>

#include "milrun.h"

typedef struct hub_cache_rev {
  char commit[64];
  char refs[256];   /* the refs naming it, comma-separated ("main, v1.0"); "" for none */
  int64_t files;    /* files in the snapshot */
  int64_t bytes;    /* bytes of those files (what the snapshot's links point to) */
  time_t modified;  /* newest file */
} hub_cache_rev;

typedef struct hub_cache_repo {
  char *repo;             /* ORG/NAME */
  char *dir;              /* <cache>/models--ORG--NAME */
  int64_t bytes;          /* every regular file below dir: blobs, partial downloads, unzipped bundles */
  int64_t partial_bytes;  /* blobs/<etag>.incomplete: resumable downloads */
  time_t modified;
  hub_cache_rev *revs;
  int nrevs;
} hub_cache_repo;

/* The model repositories of `cache`, sorted by name. A missing cache folder is an empty list. */
int hub_cache_scan(const char *cache, hub_cache_repo **repos, int *n, mr_error *err);
void hub_cache_scan_free(hub_cache_repo *repos, int n);

/* Delete `repo` (ORG/NAME) from the cache, or with `rev` (a ref or commit) only that revision, its
 * refs and the blobs no remaining revision links to. *freed = bytes removed. MR_ENOTFOUND when the
 * repository or revision is not there. */
int hub_cache_delete(const char *cache, const char *repo, const char *rev, int64_t *freed, mr_error *err);

#endif
