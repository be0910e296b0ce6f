/* http_curl.c — hub/http.h over libcurl, the only file that includes curl. HEAD and JSON GETs
 * use one easy handle each; downloads run side by side through one curl multi handle, so the
 * caller stays single-threaded (progress drawing and file installation need no locks). */
#include "hub/http.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "util/alloc.h"
#include "util/error.h"
#include "util/strbuf.h"

#define USER_AGENT "milrun/" MR_VERSION
#define MAX_TEXT (64u << 20)

void hub_http_resp_free(hub_http_resp *r) {
  mr_free(r->location);
  mr_free(r->etag);
  mr_free(r->linked_etag);
  mr_free(r->repo_commit);
  mr_free(r->error_code);
  mr_free(r->error_message);
  mr_free(r->link_next);
  memset(r, 0, sizeof *r);
  r->linked_size = r->content_length = -1;
}

int hub_http_global_init(mr_error *err) {
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    return util_err(err, MR_ENET, "cannot initialise libcurl");
  return MR_OK;
}

void hub_http_global_cleanup(void) { curl_global_cleanup(); }

/* The rel="next" target of a Link header: `<URL>; rel="next", <URL2>; rel="prev"`. */
static char *link_next(const char *v, size_t n) {
  const char *end = v + n;
  while (v < end) {
    const char *lt = memchr(v, '<', (size_t)(end - v));
    if (!lt) return NULL;
    const char *gt = memchr(lt, '>', (size_t)(end - lt));
    if (!gt) return NULL;
    const char *comma = memchr(gt, ',', (size_t)(end - gt));
    const char *stop = comma ? comma : end;
    for (const char *p = gt; p + 10 <= stop; p++)
      if (!strncasecmp(p, "rel=\"next\"", 10)) return util_strndup(lt + 1, (size_t)(gt - lt - 1));
    v = stop;
  }
  return NULL;
}

static void set_str(char **slot, const char *v, size_t n) {
  mr_free(*slot);
  *slot = util_strndup(v, n);
}

/* CURLOPT_HEADERFUNCTION: a status line starts a new response (after a followed redirect), so
 * the previous one's headers are dropped; then each "Name: value" we care about is kept. */
static size_t on_header(char *line, size_t size, size_t nitems, void *ud) {
  hub_http_resp *r = ud;
  size_t n = size * nitems, len = n;
  while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) len--;
  if (len >= 5 && !strncmp(line, "HTTP/", 5)) {
    hub_http_resp_free(r);
    return n;
  }
  const char *colon = memchr(line, ':', len);
  if (!colon) return n;
  size_t klen = (size_t)(colon - line);
  const char *v = colon + 1, *end = line + len;
  while (v < end && isspace((unsigned char)*v)) v++;
  size_t vlen = (size_t)(end - v);
#define IS(name) (klen == sizeof(name) - 1 && !strncasecmp(line, name, klen))
  if (IS("location")) set_str(&r->location, v, vlen);
  else if (IS("etag")) set_str(&r->etag, v, vlen);
  else if (IS("x-linked-etag")) set_str(&r->linked_etag, v, vlen);
  else if (IS("x-repo-commit")) set_str(&r->repo_commit, v, vlen);
  else if (IS("x-error-code")) set_str(&r->error_code, v, vlen);
  else if (IS("x-error-message")) set_str(&r->error_message, v, vlen);
  else if (IS("x-linked-size")) r->linked_size = strtoll(v, NULL, 10);
  else if (IS("content-length")) r->content_length = strtoll(v, NULL, 10);
  else if (IS("link")) {
    mr_free(r->link_next);
    r->link_next = link_next(v, vlen);
  }
#undef IS
  return n;
}

/* An easy handle with the options every request shares; *hdrs receives the header list to free. */
static CURL *new_handle(const char *url, const char *token, struct curl_slist **hdrs, char *errbuf) {
  CURL *c = curl_easy_init();
  if (!c) return NULL;
  *hdrs = NULL;
  if (token && *token) {
    util_sb sb = {0};
    util_sb_printf(&sb, "Authorization: Bearer %s", token);
    if (!util_sb_failed(&sb)) *hdrs = curl_slist_append(*hdrs, util_sb_cstr(&sb));
    util_sb_free(&sb);
  }
  /* Sizes in headers must be those of the file, not of a compressed transfer. */
  struct curl_slist *h2 = curl_slist_append(*hdrs, "Accept-Encoding: identity");
  if (h2) *hdrs = h2;
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, *hdrs);
  curl_easy_setopt(c, CURLOPT_USERAGENT, USER_AGENT);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
  /* A stalled connection (no byte for 30 s) is an error rather than a hang. */
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 30L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
  errbuf[0] = 0;
  return c;
}

/* Our own words for the usual failures (curl's texts carry timings that change from run to run);
 * curl's message for the rest. */
static const char *why(CURLcode rc, const char *errbuf) {
  switch (rc) {
  case CURLE_COULDNT_CONNECT: return "could not connect";
  case CURLE_COULDNT_RESOLVE_HOST: return "could not resolve the host name";
  case CURLE_COULDNT_RESOLVE_PROXY: return "could not resolve the proxy";
  case CURLE_OPERATION_TIMEDOUT: return "timed out";
  case CURLE_PARTIAL_FILE: return "the connection closed early";
  case CURLE_RECV_ERROR:
  case CURLE_SEND_ERROR: return "the connection was reset";
  case CURLE_GOT_NOTHING: return "the server sent no reply";
  default: return errbuf[0] ? errbuf : curl_easy_strerror(rc);
  }
}

static int no_response(mr_error *err, const char *url, CURLcode rc, const char *errbuf) {
  return util_err(err, MR_ENET, "cannot reach %s: %s", url, why(rc, errbuf));
}

static void resp_init(hub_http_resp *r) {
  memset(r, 0, sizeof *r);
  r->linked_size = r->content_length = -1;
}

int hub_http_head(const char *url, const char *token, hub_http_resp *r, mr_error *err) {
  resp_init(r);
  char errbuf[CURL_ERROR_SIZE];
  struct curl_slist *hdrs;
  CURL *c = new_handle(url, token, &hdrs, errbuf);
  if (!c) return util_err_nomem(err, url);
  curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
  CURLcode rc = curl_easy_perform(c);
  if (rc == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
  curl_easy_cleanup(c);
  curl_slist_free_all(hdrs);
  if (rc != CURLE_OK) {
    hub_http_resp_free(r);
    return no_response(err, url, rc, errbuf);
  }
  return MR_OK;
}

static size_t on_text(char *p, size_t size, size_t nitems, void *ud) {
  util_sb *sb = ud;
  size_t n = size * nitems;
  if (sb->len + n > MAX_TEXT) return 0; /* aborts the transfer */
  util_sb_append(sb, p, n);
  return util_sb_failed(sb) ? 0 : n;
}

int hub_http_get_text(const char *url, const char *token, char **body, hub_http_resp *r, mr_error *err) {
  resp_init(r);
  *body = NULL;
  char errbuf[CURL_ERROR_SIZE];
  struct curl_slist *hdrs;
  CURL *c = new_handle(url, token, &hdrs, errbuf);
  if (!c) return util_err_nomem(err, url);
  util_sb sb = {0};
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_text);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sb);
  CURLcode rc = curl_easy_perform(c);
  if (rc == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
  curl_easy_cleanup(c);
  curl_slist_free_all(hdrs);
  if (rc != CURLE_OK) {
    int bad_body = util_sb_failed(&sb) || sb.len >= MAX_TEXT;
    util_sb_free(&sb);
    hub_http_resp_free(r);
    if (bad_body) return util_err(err, MR_ENOMEM, "%s: response too large or out of memory", url);
    return no_response(err, url, rc, errbuf);
  }
  util_sb_cstr(&sb);
  if (util_sb_failed(&sb)) {
    util_sb_free(&sb);
    hub_http_resp_free(r);
    return util_err_nomem(err, url);
  }
  *body = sb.buf ? util_sb_take(&sb) : util_strdup("");
  if (!*body) {
    hub_http_resp_free(r);
    return util_err_nomem(err, url);
  }
  return MR_OK;
}

/* ---- parallel downloads ---------------------------------------------------------------- */

typedef struct slot {
  CURL *c;
  struct curl_slist *hdrs;
  hub_http_get *g;
  int started; /* body bytes seen: the Range decision has been taken */
  char errbuf[CURL_ERROR_SIZE];
} slot;

/* CURLOPT_WRITEFUNCTION of a download. Error pages (status >= 400) are not written to the file. */
static size_t on_body(char *p, size_t size, size_t nitems, void *ud) {
  slot *s = ud;
  hub_http_get *g = s->g;
  size_t n = size * nitems;
  long status = 0;
  curl_easy_getinfo(s->c, CURLINFO_RESPONSE_CODE, &status);
  if (status >= 400) return n;
  if (!s->started) {
    s->started = 1;
    if (status == 200 && g->offset > 0) { /* Range ignored: the body is the whole file */
      if (fflush(g->out) != 0 || ftruncate(fileno(g->out), 0) != 0 || fseek(g->out, 0, SEEK_SET) != 0) return 0;
      g->offset = 0;
    }
  }
  if (fwrite(p, 1, n, g->out) != n) {
    snprintf(g->error, sizeof g->error, "cannot write the downloaded data (disk full?)");
    return 0;
  }
  g->received += (int64_t)n;
  return n;
}

static int start(CURLM *m, slot *s, hub_http_get *g) {
  memset(s, 0, sizeof *s);
  s->g = g;
  g->received = 0;
  g->status = 0;
  g->failed = 0;
  g->error[0] = 0;
  s->c = new_handle(g->url, g->token, &s->hdrs, s->errbuf);
  if (!s->c) return MR_ENOMEM;
  char range[48];
  if (g->offset > 0) {
    snprintf(range, sizeof range, "%lld-", (long long)g->offset);
    curl_easy_setopt(s->c, CURLOPT_RANGE, range); /* copied by curl */
  }
  curl_easy_setopt(s->c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(s->c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(s->c, CURLOPT_WRITEDATA, s);
  curl_easy_setopt(s->c, CURLOPT_PRIVATE, s);
  if (curl_multi_add_handle(m, s->c) != CURLM_OK) {
    curl_easy_cleanup(s->c);
    curl_slist_free_all(s->hdrs);
    s->c = NULL;
    return MR_ENOMEM;
  }
  return MR_OK;
}

static void finish(CURLM *m, slot *s, CURLcode rc) {
  hub_http_get *g = s->g;
  curl_easy_getinfo(s->c, CURLINFO_RESPONSE_CODE, &g->status);
  /* 416: nothing left after `offset`, the file is already whole; the caller verifies it. */
  if (rc != CURLE_OK && !(g->status == 416)) {
    g->failed = 1;
    if (!g->error[0]) snprintf(g->error, sizeof g->error, "%s", why(rc, s->errbuf));
  }
  if (fflush(g->out) != 0 && !g->failed) {
    g->failed = 1;
    snprintf(g->error, sizeof g->error, "cannot write the downloaded data (disk full?)");
  }
  curl_multi_remove_handle(m, s->c);
  curl_easy_cleanup(s->c);
  curl_slist_free_all(s->hdrs);
  s->c = NULL;
  s->g = NULL;
}

int hub_http_get_many(hub_http_get *gets, int n, int jobs, hub_http_tick tick, void *ud, mr_error *err) {
  if (n <= 0) return MR_OK;
  if (jobs < 1) jobs = 1;
  if (jobs > n) jobs = n;
  CURLM *m = curl_multi_init();
  slot *slots = util_calloc((size_t)jobs, sizeof *slots);
  if (!m || !slots) {
    if (m) curl_multi_cleanup(m);
    mr_free(slots);
    return util_err_nomem(err, "downloads");
  }
  int next = 0, running = 0, rc = MR_OK;
  while (next < jobs && rc == MR_OK) {
    rc = start(m, &slots[next], &gets[next]);
    next++;
    if (rc == MR_OK) running++;
  }
  while (running > 0) {
    int still;
    curl_multi_perform(m, &still);
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(m, &left))) {
      if (msg->msg != CURLMSG_DONE) continue;
      slot *s = NULL;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
      finish(m, s, msg->data.result);
      running--;
      if (next < n && rc == MR_OK) {
        rc = start(m, s, &gets[next++]);
        if (rc == MR_OK) running++;
      }
    }
    if (tick) tick(ud, gets, n);
    if (running > 0) curl_multi_poll(m, NULL, 0, 100, NULL);
  }
  mr_free(slots);
  curl_multi_cleanup(m);
  if (rc != MR_OK) return util_err_nomem(err, "downloads");
  return MR_OK;
}
