/* hub_mock.h — start and stop tests/hub_mock_server.py (a fake Hugging Face hub on 127.0.0.1)
 * from a test program, plus the file helpers the hub tests share. Header-only: each hub test
 * program includes it once. */
#ifndef TEST_HUB_MOCK_H
#define TEST_HUB_MOCK_H

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zip.h>

#include "harness.h"

typedef struct hub_mock {
  pid_t pid;
  int port;
  char endpoint[64]; /* http://127.0.0.1:PORT */
  char log[512];     /* the server's request log */
} hub_mock;

/* Start the server with the extra arguments `args` (NULL-terminated). Returns 0 on success. */
static inline int hub_mock_start(hub_mock *m, const char *const *args) {
  static int serial;
  memset(m, 0, sizeof *m);
  snprintf(m->log, sizeof m->log, "%s/mock-%d-%d.log", th_tmpdir(), (int)getpid(), serial++);
  unlink(m->log);
  const char *src = getenv("MR_SOURCE");
  char script[1024];
  snprintf(script, sizeof script, "%s/tests/hub_mock_server.py", src ? src : ".");
  const char *argv[64] = {"python3", script, "--log", m->log, "--page-size", "3"};
  int argc = 6;
  for (; args && *args && argc < 62; args++) argv[argc++] = *args;
  argv[argc] = NULL;
  int fd[2];
  if (pipe(fd) != 0) return -1;
  fflush(NULL);
  m->pid = fork();
  if (m->pid < 0) return -1;
  if (m->pid == 0) {
    dup2(fd[1], 1);
    close(fd[0]);
    close(fd[1]);
    execvp("python3", (char *const *)argv);
    _exit(127);
  }
  close(fd[1]);
  char line[64] = {0};
  size_t n = 0;
  struct pollfd p = {.fd = fd[0], .events = POLLIN};
  while (n < sizeof line - 1 && !strchr(line, '\n') && poll(&p, 1, 15000) == 1) {
    ssize_t got = read(fd[0], line + n, sizeof line - 1 - n);
    if (got <= 0) break;
    n += (size_t)got;
  }
  close(fd[0]);
  if (sscanf(line, "PORT %d", &m->port) != 1) {
    fprintf(stderr, "  mock server did not start (got '%s')\n", line);
    kill(m->pid, SIGKILL);
    waitpid(m->pid, NULL, 0);
    m->pid = 0;
    return -1;
  }
  snprintf(m->endpoint, sizeof m->endpoint, "http://127.0.0.1:%d", m->port);
  return 0;
}

static inline void hub_mock_stop(hub_mock *m) {
  if (m->pid > 0) {
    kill(m->pid, SIGTERM);
    waitpid(m->pid, NULL, 0);
  }
  m->pid = 0;
}

/* How many lines of the request log contain `needle`. */
static inline int hub_mock_count(const hub_mock *m, const char *needle) {
  FILE *f = fopen(m->log, "r");
  if (!f) return 0;
  char line[4096];
  int n = 0;
  while (fgets(line, sizeof line, f))
    if (strstr(line, needle)) n++;
  fclose(f);
  return n;
}

/* A port on 127.0.0.1 where nothing listens (bound, then released). */
static inline int hub_dead_port(void) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  bind(s, (struct sockaddr *)&a, sizeof a);
  getsockname(s, (struct sockaddr *)&a, &len);
  close(s);
  return ntohs(a.sin_port);
}

/* Whole file into a malloc'd buffer (NULL if unreadable); *n its size. */
static inline unsigned char *hub_slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *buf = malloc((size_t)size + 1);
  *n = fread(buf, 1, (size_t)size, f);
  fclose(f);
  return buf;
}

static inline int hub_same_file(const char *a, const char *b) {
  size_t na = 0, nb = 0;
  unsigned char *x = hub_slurp(a, &na), *y = hub_slurp(b, &nb);
  int same = x && y && na == nb && memcmp(x, y, na) == 0;
  free(x);
  free(y);
  return same;
}

/* The files of the test repository (tests/fixtures/hub/repo), as repository paths. */
static const char *const hub_repo_files[] = {
  "README.md", "config.json", "models/vad.mlmodelc/analytics/coremldata.bin",
  "models/vad.mlmodelc/coremldata.bin", "models/vad.mlmodelc/metadata.json",
  "models/vad.mlmodelc/model.mil", "models/vad.mlmodelc/weights/weight.bin", NULL};

/* Write <dir>/zipped.mlmodelc.zip holding zipped.mlmodelc/<the vad bundle's files>. */
static inline int hub_make_zip(const char *dir) {
  char path[2048];
  snprintf(path, sizeof path, "%s/zipped.mlmodelc.zip", dir);
  mkdir(dir, 0777);
  int e = 0;
  zip_t *z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &e);
  if (!z) return -1;
  for (const char *const *f = hub_repo_files; *f; f++) {
    if (strncmp(*f, "models/vad.mlmodelc/", 20)) continue;
    char src[1024], name[256];
    snprintf(src, sizeof src, "%s", th_fixture("hub/repo"));
    snprintf(src + strlen(src), sizeof src - strlen(src), "/%s", *f);
    snprintf(name, sizeof name, "zipped.mlmodelc/%s", *f + 20);
    zip_source_t *s = zip_source_file(z, src, 0, -1);
    if (!s || zip_file_add(z, name, s, ZIP_FL_OVERWRITE) < 0) {
      zip_source_free(s);
      zip_discard(z);
      return -1;
    }
  }
  return zip_close(z) == 0 ? 0 : -1;
}

#endif
