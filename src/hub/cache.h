/* cache.h — the Hugging Face cache on disk, laid out exactly as huggingface_hub lays it out so
 * that it, llama.cpp and milrun share files:
 *   <cache>/models--ORG--NAME/blobs/<etag>               file contents (sha256 for LFS files,
 *                                                         git sha1 for the others)
 *   <cache>/models--ORG--NAME/blobs/<etag>.incomplete    a download in progress (resumable)
 *   <cache>/models--ORG--NAME/snapshots/<commit>/<path>  relative symlink ../../blobs/<etag>
 *   <cache>/models--ORG--NAME/refs/<revision>            the commit a branch or tag points at
 *   <cache>/models--ORG--NAME/.no_exist/<commit>/<path>  empty: the file is known to be absent
 * Also the user's settings: HF_HOME, HF_HUB_CACHE, HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE. */
#ifndef HUB_CACHE_H
#define HUB_CACHE_H

#include "milrun.h"

/* Settings from mr_hub_options, else the environment, else huggingface_hub's defaults. */
typedef struct hub_config {
  char *cache;    /* the hub cache folder */
  char *endpoint; /* e.g. https://huggingface.co, no trailing slash */
  char *token;    /* NULL when there is none */
  int offline;
} hub_config;

int hub_config_load(hub_config *c, const mr_hub_options *o, mr_error *err);
void hub_config_free(hub_config *c);

/* "ORG/NAME[@REV]" -> *repo and *rev (new strings; rev is "main" without @, or `revision` when that
 * is given). MR_EINVAL with a message naming the spec when it is not a valid repository id. */
int hub_parse_spec(const char *spec, const char *revision, char **repo, char **rev, mr_error *err);

/* A relative path from a file listing that is safe to create under a folder: no absolute path,
 * no "." or ".." component, no empty component, no backslash or control character. */
int hub_safe_relpath(const char *path);

/* <cache>/models--ORG--NAME (new string, NULL when out of memory). */
char *hub_cache_repo_dir(const char *cache, const char *repo);

/* The commit of `rev` in the cache: `rev` itself when it is a 40-hex commit with a snapshot,
 * else the content of refs/<rev>. MR_ENOTFOUND when unknown. *commit is a new string. */
int hub_cache_read_ref(const char *repo_dir, const char *rev, char **commit, mr_error *err);
int hub_cache_write_ref(const char *repo_dir, const char *rev, const char *commit, mr_error *err);

/* snapshots/<commit>/<path> -> ../(..)/blobs/<etag>, created atomically (replacing a stale one). */
int hub_cache_link(const char *repo_dir, const char *commit, const char *path, const char *etag, mr_error *err);
/* Record that <path> does not exist at <commit>; and ask whether that is recorded. */
int hub_cache_mark_no_exist(const char *repo_dir, const char *commit, const char *path, mr_error *err);
int hub_cache_is_no_exist(const char *repo_dir, const char *commit, const char *path);

/* "W/\"abc\"" -> "abc" in place (ETag quoting and weak marker removed). */
void hub_etag_normalize(char *etag);
/* Percent-encode for a URL; keep_slash leaves '/' alone (file paths, not revisions). */
char *hub_url_escape(const char *s, int keep_slash);

#endif
