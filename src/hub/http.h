/* http.h — the HTTP requests the hub needs, behind one file (http_curl.c; docs/style.md §14):
 * a HEAD that does not follow redirects (the resolve endpoint's own headers carry the commit and
 * the blob's ETag), a GET of a small JSON body, and parallel resumable GETs into sinks. */
#ifndef HUB_HTTP_H
#define HUB_HTTP_H

#include <stdint.h>
#include <stdio.h>

#include "milrun.h"

/* What a response said. Strings are NULL when the header was absent; free with hub_http_resp_free. */
typedef struct hub_http_resp {
  long status;          /* HTTP status; 0 when no response came (see hub_http_* return codes) */
  char *location;       /* Location of a redirect, as sent (relative or absolute) */
  char *etag;           /* ETag */
  char *linked_etag;    /* X-Linked-Etag: the LFS blob's sha256 */
  char *repo_commit;    /* X-Repo-Commit */
  char *error_code;     /* X-Error-Code: GatedRepo, RepoNotFound, EntryNotFound, RevisionNotFound */
  char *error_message;  /* X-Error-Message */
  char *link_next;      /* the rel="next" URL of a Link header (tree API pages) */
  int64_t linked_size;  /* X-Linked-Size, -1 when absent */
  int64_t content_length; /* -1 when absent */
} hub_http_resp;

void hub_http_resp_free(hub_http_resp *r);

/* Once per process before any request, and its pair; safe to nest. */
int hub_http_global_init(mr_error *err);
void hub_http_global_cleanup(void);

/* HEAD `url` without following redirects. `token` (may be NULL) is sent as a Bearer token.
 * Fills *r for any HTTP status; returns MR_ENET only when no response came (err says why). */
int hub_http_head(const char *url, const char *token, hub_http_resp *r, mr_error *err);

/* GET `url`, following redirects, into a NUL-terminated *body (free with mr_free; at most 64 MiB).
 * Fills *r for any HTTP status; MR_ENET when no response came. */
int hub_http_get_text(const char *url, const char *token, char **body, hub_http_resp *r, mr_error *err);

/* One download: GET url from byte `offset` on (a Range request when offset > 0), appending to
 * `out`. When the server ignores the Range (200), the file is truncated and written from 0. */
typedef struct hub_http_get {
  const char *url;
  const char *token;   /* NULL: none */
  FILE *out;           /* opened for appending by the caller, positioned at `offset` */
  int64_t offset;      /* bytes already in `out` (after the call: where the body started) */
  int64_t received;    /* body bytes written during this call */
  long status;         /* final HTTP status; 0 if none */
  int failed;          /* 1: transfer error (cut, refused, write error) */
  char error[256];     /* what failed, when `failed` */
} hub_http_get;

/* Progress callback, called at most a few times a second during hub_http_get_many. */
typedef void (*hub_http_tick)(void *ud, const hub_http_get *gets, int n);

/* Run the n downloads with at most `jobs` connections at once. Per-download failures are left
 * in each hub_http_get (status, failed, error); the return code is MR_ENOMEM or MR_OK. */
int hub_http_get_many(hub_http_get *gets, int n, int jobs, hub_http_tick tick, void *ud, mr_error *err);

#endif
