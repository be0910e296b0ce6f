/* pull.c — one revision of a repository into the cache, as huggingface_hub's snapshot_download
 * does it: the revision API gives the commit, the tree API lists every file (an .mlmodelc is a
 * folder on the hub), a HEAD of each missing file's resolve URL gives its blob name (ETag) and
 * where to get it, the bodies come over a few parallel connections into blobs/<etag>.incomplete
 * (resumed with Range), LFS files are checked against their sha256, and only then renamed to
 * blobs/<etag> and linked from snapshots/<commit>/. Files with the same content share one blob,
 * which is fetched once and linked from each of them. *.mlmodelc.zip files are unzipped last. */
#include "hub/pull.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hub/http.h"
#include "hub/progress.h"
#include "hub/sha256.h"
#include "hub/unzip.h"
#include "util/alloc.h"
#include "util/error.h"
#include "util/file.h"
#include "util/strbuf.h"

/* One file of the listing that the snapshot lacks. */
typedef struct job {
  char *path;       /* in the repository */
  char *etag;       /* blob name */
  char *url;        /* where the body comes from (the resolve URL or the CDN it redirects to) */
  char *blob;       /* blobs/<etag> */
  char *part;       /* blobs/<etag>.incomplete */
  int64_t size;     /* expected bytes */
  FILE *out;        /* the open, locked .incomplete file while downloading */
  int get;          /* index into the GET array, or -1 */
  int same;         /* index of an earlier job with the same blob (it downloads, this one links), or -1 */
  int installed;    /* the blob is in place and this file is linked to it */
} job;

typedef struct pull {
  const hub_config *cfg;
  const hub_pull_args *a;
  char *commit;
  char *repo_dir;
  char *snap;        /* snapshots/<commit> */
  char **files;      /* every listed file that matches the include globs */
  int nfiles;
  job *jobs;
  int njobs;
  int failures;      /* files that failed; the first one's message is in `first` */
  mr_error first;
  int unreachable;
} pull;

/* ---- errors -------------------------------------------------------------------------------- */

static int has_code(const hub_http_resp *r, const char *code) { return r->error_code && !strcmp(r->error_code, code); }

/* The message huggingface_hub would give for an HTTP error, with what to do about it. `file` is
 * the file being fetched, NULL for repository-level requests. */
static int http_error(const pull *p, const hub_http_resp *r, const char *file, const char *url, mr_error *err) {
  const char *repo = p->a->repo, *ep = p->cfg->endpoint;
  if (has_code(r, "GatedRepo"))
    return util_err(err, MR_ENET, "%s is a gated repository: accept its conditions at %s/%s while logged in, "
                    "then set HF_TOKEN or run huggingface-cli login", repo, ep, repo);
  if (r->status == 401)
    return util_err(err, MR_ENET, "401 Unauthorized for %s: set HF_TOKEN or run huggingface-cli login%s", repo,
                    p->cfg->token ? " (the token in use was refused, or the repository does not exist)" : "");
  if (r->status == 403)
    return util_err(err, MR_ENET, "403 Forbidden for %s: your token is not allowed to read it; check its "
                    "permissions at %s/settings/tokens", repo, ep);
  if (r->status == 404 && has_code(r, "RevisionNotFound"))
    return util_err(err, MR_ENOTFOUND, "revision '%s' of %s not found on %s: check the revision name", p->a->rev,
                    repo, ep);
  if (r->status == 404 && file)
    return util_err(err, MR_ENOTFOUND, "%s not found in %s at revision %s", file, repo, p->a->rev);
  if (r->status == 404)
    return util_err(err, MR_ENOTFOUND, "404 Not Found: %s does not exist on %s: check the repository name", repo, ep);
  return util_err(err, MR_ENET, "HTTP %ld from %s%s%s: try again later", r->status, url,
                  r->error_message ? ": " : "", r->error_message ? r->error_message : "");
}

/* Keep the first per-file error and count the others, so one bad file does not stop the rest. */
static void fail(pull *p, const mr_error *e) {
  if (p->failures++ == 0) p->first = *e;
}

/* ---- listing ------------------------------------------------------------------------------ */

static char *api_url(const pull *p, const char *kind, const char *rev, const char *tail) {
  char *erev = hub_url_escape(rev, 0);
  util_sb sb = {0};
  util_sb_printf(&sb, "%s/api/models/%s/%s/%s%s", p->cfg->endpoint, p->a->repo, kind, erev ? erev : "", tail);
  mr_free(erev);
  return erev ? util_sb_take(&sb) : (util_sb_free(&sb), NULL);
}

/* GET a JSON document from the API; HTTP errors become the messages above. */
static int get_json(pull *p, const char *url, cJSON **json, char **next, mr_error *err) {
  char *body = NULL;
  hub_http_resp r;
  int rc = hub_http_get_text(url, p->cfg->token, &body, &r, err);
  if (rc == MR_ENET) p->unreachable = 1;
  if (rc != MR_OK) return rc;
  if (r.status != 200) rc = http_error(p, &r, NULL, url, err);
  else if (!(*json = cJSON_Parse(body))) rc = util_err(err, MR_EFORMAT, "%s: the reply is not valid JSON", url);
  if (rc == MR_OK && next) {
    *next = r.link_next;
    r.link_next = NULL;
  }
  hub_http_resp_free(&r);
  mr_free(body);
  return rc;
}

static int is_commit(const char *s) {
  size_t n = 0;
  while (isxdigit((unsigned char)s[n]) && !isupper((unsigned char)s[n])) n++;
  return n == 40 && !s[n];
}

/* GET /api/models/REPO/revision/REV -> the commit sha. */
static int fetch_commit(pull *p, mr_error *err) {
  char *url = api_url(p, "revision", p->a->rev, "");
  if (!url) return util_err_nomem(err, p->a->repo);
  cJSON *j = NULL;
  int rc = get_json(p, url, &j, NULL, err);
  if (rc == MR_OK) {
    const cJSON *sha = cJSON_GetObjectItemCaseSensitive(j, "sha");
    if (!cJSON_IsString(sha) || !is_commit(sha->valuestring))
      rc = util_err(err, MR_EFORMAT, "%s: the reply has no 40-digit \"sha\"", url);
    else if (!(p->commit = util_strdup(sha->valuestring)))
      rc = util_err_nomem(err, url);
  }
  cJSON_Delete(j);
  mr_free(url);
  return rc;
}

static int add_file(pull *p, const char *path, const char *url, mr_error *err) {
  if (!hub_safe_relpath(path))
    return util_err(err, MR_EFORMAT, "%s: unsafe file path '%s' in the listing", url, path);
  if (!hub_include_match(p->a->include, path)) return MR_OK;
  if (p->a->exclude && *p->a->exclude && hub_include_match(p->a->exclude, path)) return MR_OK;
  char **nf = mr_realloc(p->files, (size_t)(p->nfiles + 1) * sizeof *nf);
  if (!nf) return util_err_nomem(err, url);
  p->files = nf;
  if (!(p->files[p->nfiles] = util_strdup(path))) return util_err_nomem(err, url);
  p->nfiles++;
  return MR_OK;
}

/* GET /api/models/REPO/tree/COMMIT?recursive=true, following the Link: rel="next" pages. */
static int fetch_tree(pull *p, mr_error *err) {
  char *url = api_url(p, "tree", p->commit, "?recursive=true");
  if (!url) return util_err_nomem(err, p->a->repo);
  int rc = MR_OK;
  for (int page = 0; url && rc == MR_OK; page++) {
    cJSON *j = NULL;
    char *next = NULL;
    if (page > 10000) rc = util_err(err, MR_EFORMAT, "%s: the file listing does not end", url);
    if (rc == MR_OK) rc = get_json(p, url, &j, &next, err);
    if (rc == MR_OK && !cJSON_IsArray(j)) rc = util_err(err, MR_EFORMAT, "%s: expected a JSON array of files", url);
    const cJSON *e, *list = rc == MR_OK ? j : NULL;
    cJSON_ArrayForEach(e, list) {
      const cJSON *type = cJSON_GetObjectItemCaseSensitive(e, "type");
      const cJSON *path = cJSON_GetObjectItemCaseSensitive(e, "path");
      if (!cJSON_IsString(type) || !cJSON_IsString(path)) {
        rc = util_err(err, MR_EFORMAT, "%s: a listing entry lacks \"type\" or \"path\"", url);
        break;
      }
      if (!strcmp(type->valuestring, "file") && (rc = add_file(p, path->valuestring, url, err)) != MR_OK) break;
    }
    cJSON_Delete(j);
    mr_free(url);
    url = rc == MR_OK ? next : (mr_free(next), NULL);
  }
  mr_free(url);
  return rc;
}

/* Some repositories ship X.mlmodelc both as a folder and as X.mlmodelc.zip; the zip would only
 * unpack to what the folder already gives, so it is left out (half the download). */
static void drop_redundant_zips(pull *p) {
  static const char ext[] = ".mlmodelc.zip";
  int kept = 0;
  for (int i = 0; i < p->nfiles; i++) {
    const char *f = p->files[i];
    size_t n = strlen(f), e = sizeof ext - 1;
    int redundant = 0;
    if (n > e && !strcmp(f + n - e, ext))
      for (int k = 0; k < p->nfiles && !redundant; k++)
        redundant = !strncmp(p->files[k], f, n - 4) && p->files[k][n - 4] == '/';
    if (redundant) mr_free(p->files[i]);
    else p->files[kept++] = p->files[i];
  }
  p->nfiles = kept;
}

int hub_include_match(const char *const *include, const char *path) {
  if (!include || !*include) return 1;
  for (const char *const *g = include; *g; g++) {
    size_t n = strlen(*g);
    if (n && (*g)[n - 1] == '/') { /* "dir/" means everything below dir */
      if (!strncmp(*g, path, n)) return 1;
    } else if (fnmatch(*g, path, 0) == 0) {
      return 1;
    }
  }
  return 0;
}

/* ---- one file's metadata -------------------------------------------------------------------- */

/* The token goes only to the endpoint itself, never to a CDN or another host. */
static const char *token_for(const pull *p, const char *url) {
  size_t n = strlen(p->cfg->endpoint);
  return !strncmp(url, p->cfg->endpoint, n) && (url[n] == '/' || !url[n]) ? p->cfg->token : NULL;
}

/* Resolve a Location against the URL that sent it. */
static char *follow(const char *base, const char *loc) {
  if (!strncmp(loc, "http://", 7) || !strncmp(loc, "https://", 8)) return util_strdup(loc);
  const char *host = strstr(base, "://");
  host = host ? host + 3 : base;
  const char *cut = loc[0] == '/' ? host + strcspn(host, "/") : strrchr(base, '/') + 1;
  util_sb sb = {0};
  util_sb_append(&sb, base, (size_t)(cut - base));
  util_sb_puts(&sb, loc[0] == '/' || cut[-1] == '/' ? "" : "/");
  util_sb_puts(&sb, loc);
  return util_sb_take(&sb);
}

/* HEAD the resolve URL of j->path: relative redirects (a renamed repository) are followed; an
 * absolute one (the CDN of an LFS file) is where the body will come from. The response that
 * carries the ETag gives the blob name and size. */
static int head_file(pull *p, job *j, mr_error *err) {
  char *epath = hub_url_escape(j->path, 1);
  if (!epath) return util_err_nomem(err, j->path);
  util_sb sb = {0};
  util_sb_printf(&sb, "%s/%s/resolve/%s/%s", p->cfg->endpoint, p->a->repo, p->commit, epath);
  mr_free(epath);
  char *url = util_sb_take(&sb);
  if (!url) return util_err_nomem(err, j->path);
  int rc = MR_OK;
  for (int hops = 0;; hops++) {
    hub_http_resp r;
    if ((rc = hub_http_head(url, token_for(p, url), &r, err)) != MR_OK) {
      p->unreachable = 1;
      break;
    }
    int redirect = r.status >= 300 && r.status < 400 && r.location;
    const char *tag = r.linked_etag ? r.linked_etag : r.etag;
    if (redirect && hops < 10 && (r.location[0] == '/' || !tag || !strstr(r.location, "://"))) {
      char *next = follow(url, r.location);
      mr_free(url);
      url = next;
      hub_http_resp_free(&r);
      if (!url) return util_err_nomem(err, j->path);
      continue;
    }
    if (r.status == 404 && p->commit) hub_cache_mark_no_exist(p->repo_dir, p->commit, j->path, NULL);
    if (r.status >= 400 || (!redirect && r.status != 200)) rc = http_error(p, &r, j->path, url, err);
    else if (!tag) rc = util_err(err, MR_EFORMAT, "%s: the server sent no ETag: cannot name the file in the cache", url);
    else {
      j->etag = util_strdup(tag);
      j->url = redirect ? follow(url, r.location) : util_strdup(url);
      j->size = r.linked_size >= 0 ? r.linked_size : r.content_length;
      if (!j->etag || !j->url) rc = util_err_nomem(err, j->path);
      else hub_etag_normalize(j->etag);
      if (rc == MR_OK && (!hub_safe_relpath(j->etag) || strchr(j->etag, '/')))
        rc = util_err(err, MR_EFORMAT, "%s: unusable ETag '%s'", url, j->etag);
    }
    hub_http_resp_free(&r);
    break;
  }
  mr_free(url);
  return rc;
}

/* ---- download, verify, install -------------------------------------------------------------- */

static int is_sha256(const char *s) {
  size_t n = 0;
  while (isxdigit((unsigned char)s[n])) n++;
  return n == 64 && !s[n];
}

/* Open (creating) and lock blobs/<etag>.incomplete; *have = bytes already there. On failure the
 * file is closed again (j->out NULL), so nothing later touches a file another process owns. */
static int open_part(job *j, int64_t *have, mr_error *err) {
  j->out = fopen(j->part, "ab");
  if (!j->out) return util_err(err, MR_EIO, "%s: %s", j->part, strerror(errno));
  int rc = MR_OK;
  struct stat st;
  if (flock(fileno(j->out), LOCK_EX | LOCK_NB) != 0)
    rc = util_err(err, MR_EIO, "%s: another process is downloading this file; wait for it or remove the file",
                  j->part);
  else if (fstat(fileno(j->out), &st) != 0)
    rc = util_err(err, MR_EIO, "%s: %s", j->part, strerror(errno));
  else if ((*have = st.st_size) > j->size && j->size >= 0) { /* longer than the file: start over */
    *have = 0;
    if (ftruncate(fileno(j->out), 0) != 0) rc = util_err(err, MR_EIO, "%s: %s", j->part, strerror(errno));
  }
  if (rc != MR_OK) {
    fclose(j->out);
    j->out = NULL;
  }
  return rc;
}

/* Check the finished .incomplete file and move it to its blob name, then link it. */
static int install(pull *p, job *j, mr_error *err) {
  struct stat st;
  if (stat(j->part, &st) != 0) return util_err(err, MR_EIO, "%s: %s", j->part, strerror(errno));
  if (j->size >= 0 && st.st_size != j->size) {
    unlink(j->part);
    return util_err(err, MR_ENET, "%s: received %lld bytes but the server announced %lld: nothing was "
                    "installed; run the pull again", j->path, (long long)st.st_size, (long long)j->size);
  }
  if (is_sha256(j->etag)) {
    char hex[65];
    int rc = hub_sha256_file(j->part, hex, err);
    if (rc != MR_OK) return rc;
    if (strcmp(hex, j->etag) != 0) {
      unlink(j->part);
      return util_err(err, MR_ENET, "%s: sha256 of the download is %s but should be %s (corrupted in "
                      "transit): nothing was installed; run the pull again", j->path, hex, j->etag);
    }
  }
  if (rename(j->part, j->blob) != 0) return util_err(err, MR_EIO, "%s: cannot rename: %s", j->part, strerror(errno));
  int rc = hub_cache_link(p->repo_dir, p->commit, j->path, j->etag, err);
  j->installed = rc == MR_OK;
  return rc;
}

/* Link each file whose blob an earlier job of this pull fetched. A second download of the same
 * blob would find its .incomplete locked by this very process. */
static void link_shared(pull *p) {
  for (int i = 0; i < p->njobs; i++) {
    job *j = &p->jobs[i];
    if (j->same < 0 || j->get == -2) continue;
    const job *owner = &p->jobs[j->same];
    mr_error e = {0};
    if (!owner->installed)
      util_err(&e, MR_ENET, "%s: not installed: it has the same content as %s, which failed", j->path, owner->path);
    else
      hub_cache_link(p->repo_dir, p->commit, j->path, j->etag, &e);
    if (e.code) fail(p, &e);
  }
}

/* Progress over the jobs that download: labels and byte counts. */
typedef struct ticker {
  hub_progress bar;
  const char **labels;
  int64_t *done, *total;
} ticker;

static void tick(void *ud, const hub_http_get *gets, int n) {
  ticker *t = ud;
  for (int i = 0; i < n; i++) t->done[i] = gets[i].offset + gets[i].received;
  hub_progress_draw(&t->bar, t->labels, t->done, t->total, n, 0);
}

static void get_failed(pull *p, job *j, const hub_http_get *g) {
  mr_error e = {0};
  if (g->status >= 400) {
    hub_http_resp r = {.status = g->status};
    http_error(p, &r, j->path, g->url, &e);
  } else {
    util_err(&e, MR_ENET, "%s: the download was interrupted after %lld of %lld bytes (%s): run the same pull "
             "again to resume it", j->path, (long long)(g->offset + g->received), (long long)j->size, g->error);
  }
  fail(p, &e);
}

/* Download every job that needs a body, side by side, then install each one that completed. */
static int download(pull *p, mr_error *err) {
  hub_http_get *gets = util_calloc((size_t)p->njobs + 1, sizeof *gets);
  ticker t = {.labels = util_calloc((size_t)p->njobs + 1, sizeof(char *)),
              .done = util_calloc((size_t)p->njobs + 1, sizeof(int64_t)),
              .total = util_calloc((size_t)p->njobs + 1, sizeof(int64_t))};
  int n = 0, rc = MR_OK;
  if (!gets || !t.labels || !t.done || !t.total) rc = util_err_nomem(err, "downloads");
  for (int i = 0; i < p->njobs && rc == MR_OK; i++) {
    job *j = &p->jobs[i];
    int64_t have = 0;
    mr_error e = {0};
    if (j->get == -2 || j->same >= 0) continue; /* the cache had the blob, or an earlier job fetches it */
    if (open_part(j, &have, &e) != MR_OK) {
      fail(p, &e);
      continue;
    }
    if (j->size >= 0 && have == j->size) continue; /* complete already: only verify */
    gets[n] = (hub_http_get){.url = j->url, .out = j->out, .offset = have};
    gets[n].token = token_for(p, j->url);
    t.labels[n] = j->path;
    t.total[n] = j->size;
    j->get = n++;
  }
  hub_progress_init(&t.bar, stderr, p->a->quiet);
  if (rc == MR_OK) rc = hub_http_get_many(gets, n, p->a->jobs, tick, &t, err);
  if (rc == MR_OK && n) {
    tick(&t, gets, n);
    hub_progress_draw(&t.bar, t.labels, t.done, t.total, n, 1);
  }
  for (int i = 0; i < p->njobs && rc == MR_OK; i++) {
    job *j = &p->jobs[i];
    if (!j->out) continue;
    hub_http_get *g = j->get >= 0 ? &gets[j->get] : NULL;
    mr_error e = {0};
    if (g && (g->failed || g->status >= 400)) get_failed(p, j, g);
    else if (install(p, j, &e) != MR_OK) fail(p, &e);
  }
  if (rc == MR_OK) link_shared(p);
  for (int i = 0; i < p->njobs; i++)
    if (p->jobs[i].out) {
      fclose(p->jobs[i].out); /* also releases the lock */
      p->jobs[i].out = NULL;
    }
  mr_free(gets);
  mr_free(t.labels);
  mr_free(t.done);
  mr_free(t.total);
  return rc;
}

/* Build a job for each listed file that the snapshot lacks; files whose blob is already in the
 * cache (shared with another revision) are only linked. */
static int plan(pull *p, mr_error *err) {
  p->jobs = util_calloc((size_t)p->nfiles + 1, sizeof *p->jobs);
  if (!p->jobs) return util_err_nomem(err, "file list");
  for (int i = 0; i < p->nfiles; i++) {
    char *snap = util_path_join(p->snap, p->files[i]);
    if (!snap) return util_err_nomem(err, p->files[i]);
    int have = util_exists(snap);
    mr_free(snap);
    if (have) continue;
    job *j = &p->jobs[p->njobs];
    j->path = p->files[i];
    j->get = -1;
    j->same = -1;
    mr_error e = {0};
    int rc = head_file(p, j, &e);
    if (rc != MR_OK) {
      if (p->unreachable) return util_err(err, e.code, "%s", e.msg);
      fail(p, &e);
      mr_free(j->etag);
      mr_free(j->url);
      memset(j, 0, sizeof *j);
      continue;
    }
    util_sb sb = {0};
    util_sb_printf(&sb, "%s/blobs/%s", p->repo_dir, j->etag);
    j->blob = util_sb_take(&sb);
    util_sb_printf(&sb, "%s/blobs/%s.incomplete", p->repo_dir, j->etag);
    j->part = util_sb_take(&sb);
    p->njobs++;
    if (!j->blob || !j->part) return util_err_nomem(err, j->path);
    for (int k = 0; k < p->njobs - 1 && j->same < 0; k++)
      if (!strcmp(p->jobs[k].etag, j->etag)) j->same = k;
    if (util_exists(j->blob)) {
      j->get = -2; /* nothing to fetch */
      if (hub_cache_link(p->repo_dir, p->commit, j->path, j->etag, &e) != MR_OK) fail(p, &e);
    }
  }
  return MR_OK;
}

/* Unzip each X.mlmodelc.zip of the snapshot into X.mlmodelc beside it, once. */
static void unzip_all(pull *p) {
  static const char ext[] = ".mlmodelc.zip";
  for (int i = 0; i < p->nfiles; i++) {
    size_t n = strlen(p->files[i]), e = sizeof ext - 1;
    if (n <= e || strcmp(p->files[i] + n - e, ext) != 0) continue;
    char *zip = util_path_join(p->snap, p->files[i]);
    char *dest = zip ? util_strndup(zip, strlen(zip) - 4) : NULL;
    mr_error err = {0};
    if (!zip || !dest) util_err_nomem(&err, p->files[i]);
    else if (util_exists(zip) && !util_is_dir(dest)) hub_unzip(zip, dest, &err);
    if (err.code) fail(p, &err);
    mr_free(zip);
    mr_free(dest);
  }
}

static void pull_free(pull *p) {
  for (int i = 0; i < p->njobs; i++) {
    mr_free(p->jobs[i].etag);
    mr_free(p->jobs[i].url);
    mr_free(p->jobs[i].blob);
    mr_free(p->jobs[i].part);
  }
  mr_free(p->jobs);
  for (int i = 0; i < p->nfiles; i++) mr_free(p->files[i]);
  mr_free(p->files);
  mr_free(p->commit);
  mr_free(p->repo_dir);
  mr_free(p->snap);
}

static int prepare_dirs(pull *p, mr_error *err) {
  util_sb sb = {0};
  util_sb_printf(&sb, "%s/snapshots/%s", p->repo_dir, p->commit);
  p->snap = util_sb_take(&sb);
  util_sb_printf(&sb, "%s/blobs", p->repo_dir);
  char *blobs = util_sb_take(&sb);
  int rc = !p->snap || !blobs ? util_err_nomem(err, p->repo_dir) : util_mkdirs(blobs, err);
  if (rc == MR_OK) rc = util_mkdirs(p->snap, err);
  mr_free(blobs);
  return rc;
}

int hub_pull_online(const hub_config *cfg, const hub_pull_args *a, char **snapshot, int *unreachable,
                    mr_error *err) {
  pull p = {.cfg = cfg, .a = a};
  *snapshot = NULL;
  int rc = (p.repo_dir = hub_cache_repo_dir(cfg->cache, a->repo)) ? MR_OK : util_err_nomem(err, a->repo);
  if (rc == MR_OK) rc = fetch_commit(&p, err);
  if (rc == MR_OK) rc = fetch_tree(&p, err);
  if (rc == MR_OK) drop_redundant_zips(&p);
  if (rc == MR_OK && p.nfiles == 0 && (a->include || a->exclude))
    rc = util_err(err, MR_ENOTFOUND, "no file of %s at revision %s is left by the --include/--exclude patterns",
                  a->repo, a->rev);
  if (rc == MR_OK) rc = prepare_dirs(&p, err);
  if (rc == MR_OK) rc = plan(&p, err);
  if (rc == MR_OK) rc = download(&p, err);
  if (rc == MR_OK) unzip_all(&p);
  if (rc == MR_OK && p.failures) {
    rc = util_err(err, p.first.code, "%s", p.first.msg);
    if (p.failures > 1)
      util_err(err, rc, "%s (and %d more file%s failed)", p.first.msg, p.failures - 1, p.failures > 2 ? "s" : "");
  }
  /* The ref is written last: it tells offline runs that this snapshot is whole. */
  if (rc == MR_OK && strcmp(a->rev, p.commit) != 0) rc = hub_cache_write_ref(p.repo_dir, a->rev, p.commit, err);
  if (rc == MR_OK) {
    *snapshot = p.snap;
    p.snap = NULL;
  }
  *unreachable = p.unreachable;
  pull_free(&p);
  return rc;
}
