/* harness.h — a minimal test harness. Each test program registers cases in a table, runs them, and
 * prints "N passed, N failed"; ctest runs the programs and prints the suite's summary. */
#ifndef TEST_HARNESS_H
#define TEST_HARNESS_H

#include <math.h>
#include <stdio.h>
#include <string.h>

extern int th_failures; /* failures in the current case */

#define CHECK(cond)                                                                       \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      fprintf(stderr, "  %s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);         \
      th_failures++;                                                                      \
    }                                                                                     \
  } while (0)

#define CHECK_MSG(cond, ...)                                                              \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      fprintf(stderr, "  %s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);         \
      fprintf(stderr, __VA_ARGS__);                                                       \
      fprintf(stderr, "\n");                                                              \
      th_failures++;                                                                      \
    }                                                                                     \
  } while (0)

#define CHECK_EQ_INT(a, b)                                                                \
  do {                                                                                    \
    long long th_a = (long long)(a), th_b = (long long)(b);                               \
    if (th_a != th_b) {                                                                   \
      fprintf(stderr, "  %s:%d: %s == %s failed: %lld != %lld\n", __FILE__, __LINE__, #a, #b, \
              th_a, th_b);                                                                \
      th_failures++;                                                                      \
    }                                                                                     \
  } while (0)

#define CHECK_EQ_STR(a, b)                                                                \
  do {                                                                                    \
    const char *th_a = (a), *th_b = (b);                                                  \
    if (!th_a || !th_b || strcmp(th_a, th_b) != 0) {                                      \
      fprintf(stderr, "  %s:%d: %s == %s failed:\n    got:      %s\n    expected: %s\n",  \
              __FILE__, __LINE__, #a, #b, th_a ? th_a : "(null)", th_b ? th_b : "(null)");  \
      th_failures++;                                                                      \
    }                                                                                     \
  } while (0)

#define CHECK_NEAR(a, b, tol)                                                             \
  do {                                                                                    \
    double th_a = (double)(a), th_b = (double)(b);                                        \
    if (!(fabs(th_a - th_b) <= (tol))) {                                                  \
      fprintf(stderr, "  %s:%d: |%s - %s| <= %g failed: %.9g vs %.9g\n", __FILE__, __LINE__, \
              #a, #b, (double)(tol), th_a, th_b);                                         \
      th_failures++;                                                                      \
    }                                                                                     \
  } while (0)

typedef struct th_case {
  const char *name;
  void (*fn)(void);
} th_case;

/* Run the cases (all, or those whose name contains argv[1]); returns the process exit code: 0 when
 * all passed, 1 when one failed, 2 when no case ran (a filter that matches nothing, or no cases). */
int th_run(const th_case *cases, int argc, char **argv);

/* Path of a fixture under tests/fixtures (from $MR_FIXTURES); static buffer, valid until next call. */
const char *th_fixture(const char *rel);
/* A fresh temporary directory for this test program (removed by the OS's tmp cleaner). */
const char *th_tmpdir(void);
/* A weightless bundle TMP/NAME holding the fixture REL as its model.mil; returns its path (static
 * buffer, valid until the next call), or NULL after reporting a failed check. */
const char *th_bundle_from_fixture(const char *name, const char *rel);

/* Run `python3 -c SCRIPT ARG` (an independent reference, e.g. hashlib) and put the first word it
 * prints into out (cap bytes). Returns 1 on success, 0 if Python failed or printed nothing. */
int th_python_word(const char *script, const char *arg, char *out, size_t cap);
/* Run `$MR_MILRUN ARGS` (args quoted by the caller) with stderr joined to stdout; the first cap-1
 * bytes of its output go to out (NUL-terminated), the rest is read and dropped so the command never
 * blocks on a full pipe. Returns its exit status, or -1 when it could not run or was killed. */
int th_milrun(const char *args, char *out, size_t cap);

#endif
