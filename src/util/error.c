/* error.c — error codes and messages. */
#include "util/error.h"

#include <stdio.h>
#include <string.h>

const char *mr_strerror(int code) {
  switch (code) {
  case MR_OK: return "ok";
  case MR_ENOMEM: return "out of memory";
  case MR_EIO: return "input/output error";
  case MR_EFORMAT: return "malformed file";
  case MR_EINVAL: return "invalid argument";
  case MR_ENOTSUP: return "not supported";
  case MR_ESHAPE: return "shape or dtype mismatch";
  case MR_ENOTFOUND: return "not found";
  case MR_ENET: return "network error";
  case MR_ECANCEL: return "cancelled";
  case MR_EINTERNAL: return "internal error";
  default: return "unknown error";
  }
}

int util_verr(mr_error *err, int code, const char *fmt, va_list ap) {
  if (err) {
    err->code = code;
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
  }
  return code;
}

int util_err(mr_error *err, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  util_verr(err, code, fmt, ap);
  va_end(ap);
  return code;
}

int util_err_prefix(mr_error *err, const char *fmt, ...) {
  if (!err) return MR_EINTERNAL;
  char prefix[MR_ERRMSG_MAX], old[MR_ERRMSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  memcpy(old, err->msg, sizeof old);
  /* Truncation is fine here: a message longer than the buffer keeps its beginning. */
  size_t n = strlen(prefix);
  if (n > sizeof err->msg - 3) n = sizeof err->msg - 3;
  memcpy(err->msg, prefix, n);
  memcpy(err->msg + n, ": ", 2);
  size_t room = sizeof err->msg - n - 3, m = strlen(old);
  if (m > room) m = room;
  memcpy(err->msg + n + 2, old, m);
  err->msg[n + 2 + m] = 0;
  return err->code;
}

int util_err_nomem(mr_error *err, const char *what) {
  return util_err(err, MR_ENOMEM, "out of memory (%s)", what);
}
