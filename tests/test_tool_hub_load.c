/* test_tool_hub_load.c — `milrun pull` end to end against the mock hub, then the pulled bundles
 * (a folder .mlmodelc and an unzipped .mlmodelc.zip) open with mr_bundle_open; plus the command's
 * options, usage errors (exit 2) and runtime errors (exit 1 with what to do). */
#include <stdlib.h>
#include <unistd.h>

#include "harness.h"
#include "hub_mock.h"
#include "milrun.h"

/* Run `milrun ARGS` with HF_ENDPOINT set; stdout into out (first line), stderr into errbuf. */
static int milrun(const char *endpoint, const char *args, char *out, size_t nout, char *errbuf, size_t nerr) {
  char cmd[4096], errfile[600];
  snprintf(errfile, sizeof errfile, "%s/stderr.txt", th_tmpdir());
  /* HF_HOME in the temporary folder keeps the user's token file out of the test. */
  snprintf(cmd, sizeof cmd, "HF_ENDPOINT='%s' HF_HOME='%s/hf-home' HF_TOKEN= HF_TOKEN_PATH= HF_HUB_OFFLINE= "
           "HF_HUB_CACHE= '%s' %s 2>'%s'", endpoint, th_tmpdir(),
           getenv("MR_MILRUN") ? getenv("MR_MILRUN") : "milrun", args, errfile);
  FILE *p = popen(cmd, "r");
  if (!p) return -1;
  size_t n = fread(out, 1, nout - 1, p);
  out[n] = 0;
  int st = pclose(p);
  size_t ne = 0;
  unsigned char *e = hub_slurp(errfile, &ne);
  snprintf(errbuf, nerr, "%.*s", (int)ne, e ? (const char *)e : "");
  free(e);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_pull_then_load(void) {
  char zipdir[600], repo[1400];
  snprintf(zipdir, sizeof zipdir, "%s/zipdir", th_tmpdir());
  CHECK(hub_make_zip(zipdir) == 0);
  snprintf(repo, sizeof repo, "org/model=%s,%s", th_fixture("hub/repo"), zipdir);
  const char *args[] = {"--repo", repo, NULL};
  hub_mock m;
  if (hub_mock_start(&m, args) != 0) {
    CHECK(0);
    return;
  }
  char cmd[1024], out[2048], err[2048];
  snprintf(cmd, sizeof cmd, "pull --jobs 2 --cache-dir '%s/cache' org/model", th_tmpdir());
  CHECK_EQ_INT(milrun(m.endpoint, cmd, out, sizeof out, err, sizeof err), 0);
  CHECK_EQ_STR(err, ""); /* no --quiet, but stdout is a pipe: no progress bars */
  out[strcspn(out, "\n")] = 0;
  char prefix[700];
  snprintf(prefix, sizeof prefix, "%s/cache/models--org--model/snapshots/", th_tmpdir());
  CHECK_MSG(!strncmp(out, prefix, strlen(prefix)), "stdout: %s", out);
  hub_mock_stop(&m);

  static const char *bundles[] = {"models/vad.mlmodelc", "zipped.mlmodelc"};
  for (int i = 0; i < 2; i++) {
    char path[2600], f1[2700], f2[1200];
    snprintf(path, sizeof path, "%s/%s", out, bundles[i]);
    /* Byte-identical to the source... */
    static const char *files[] = {"model.mil", "weights/weight.bin", "metadata.json"};
    for (int k = 0; k < 3; k++) {
      snprintf(f1, sizeof f1, "%s/%s", path, files[k]);
      snprintf(f2, sizeof f2, "%s/models/vad.mlmodelc/%s", th_fixture("hub/repo"), files[k]);
      CHECK_MSG(hub_same_file(f1, f2), "%s", f1);
    }
    /* ...and it loads. */
    mr_bundle *b = NULL;
    mr_error e = {0};
    int rc = mr_bundle_open(path, NULL, &b, &e);
    CHECK_MSG(rc == MR_OK, "mr_bundle_open(%s): %s", path, e.msg);
    if (b) CHECK(mr_bundle_function_count(b) >= 1);
    mr_bundle_close(b);
  }
  /* --model accepts a local folder as is. */
  char *got = NULL;
  mr_error e = {0};
  CHECK_EQ_INT(mr_hub_resolve(out, NULL, &got, &e), MR_OK);
  CHECK_EQ_STR(got, out);
  mr_free(got);
}

static void test_help(void) {
  char out[4096], err[1024];
  CHECK_EQ_INT(milrun("http://127.0.0.1:1", "pull --help", out, sizeof out, err, sizeof err), 0);
  const char *opts[] = {"--include GLOB", "--revision REV", "--cache-dir DIR", "--jobs N", "--quiet", "--help",
                        "HF_ENDPOINT", "HF_TOKEN", "HF_HUB_OFFLINE", MR_DEFAULT_MODEL};
  for (size_t i = 0; i < sizeof opts / sizeof *opts; i++) CHECK_MSG(strstr(out, opts[i]) != NULL, "%s", opts[i]);
  CHECK_EQ_INT(milrun("http://127.0.0.1:1", "--help", out, sizeof out, err, sizeof err), 0);
  CHECK(strstr(out, "pull ") != NULL);
}

static void test_errors(void) {
  static const struct {
    const char *args;
    int code;
    const char *err;
  } cases[] = {
    {"pull", 2, "milrun pull: missing the repository (ORG/NAME[@REVISION])\n(milrun pull --help lists the options)\n"},
    {"pull --jobs 0 org/model", 2, "milrun pull: --jobs expects an integer from 1 to 32, got '0'\n"
     "(milrun pull --help lists the options)\n"},
    {"pull --include", 2, "milrun pull: option '--include' needs a value (GLOB)\n(milrun pull --help lists the options)\n"},
    {"pull --frobnicate org/model", 2, "milrun pull: unknown option '--frobnicate'\n"
     "(milrun pull --help lists the options)\n"},
    {"pull a/b c/d", 2, "milrun pull: unexpected argument 'c/d'\n"
     "(milrun pull --help lists the options)\n"},
    {"pull --quiet org/bad..name", 2, "milrun pull: 'org/bad..name' is not a Hugging Face repository id: "
     "expected ORG/NAME[@REVISION] (letters, digits, '-', '_', '.')\n"},
    {"pull --quiet org/model", 1, "milrun pull: 401 Unauthorized for org/model: set HF_TOKEN or run "
     "huggingface-cli login\n"},
  };
  char repo[1000];
  snprintf(repo, sizeof repo, "org/model=%s", th_fixture("hub/repo"));
  const char *args[] = {"--repo", repo, "--status", "org/model=401", NULL};
  hub_mock m;
  if (hub_mock_start(&m, args) != 0) {
    CHECK(0);
    return;
  }
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char cmd[1024], out[1024], err[2048];
    snprintf(cmd, sizeof cmd, "%s --cache-dir '%s/errcache'", cases[i].args, th_tmpdir());
    if (strstr(cases[i].args, "--include") && !strstr(cases[i].args, "org/")) snprintf(cmd, sizeof cmd, "%s", cases[i].args);
    CHECK_EQ_INT(milrun(m.endpoint, cmd, out, sizeof out, err, sizeof err), cases[i].code);
    CHECK_EQ_STR(err, cases[i].err);
  }
  hub_mock_stop(&m);
}

int main(int argc, char **argv) {
  static const th_case cases[] = {
    {"pull_then_load", test_pull_then_load},
    {"help", test_help},
    {"errors", test_errors},
    {NULL, NULL},
  };
  return th_run(cases, argc, argv);
}
