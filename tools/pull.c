/* pull.c — `milrun pull ORG/NAME[@REVISION]`: download a model into the Hugging Face cache and
 * print its snapshot folder. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "milrun.h"

#define MAX_INCLUDE 64

static void usage(FILE *f) {
  fprintf(f,
          "usage: milrun pull [options] ORG/NAME[@REVISION]\n\n"
          "Download a Hugging Face model repository into the standard Hugging Face cache (shared with\n"
          "huggingface_hub and llama.cpp; files already there are not downloaded again) and print the\n"
          "snapshot folder. *.mlmodelc.zip files are unzipped beside themselves.\n\n"
          "options:\n"
          "  --include GLOB     only files whose repository path matches GLOB (repeatable; default: all)\n"
          "  --revision REV     branch, tag or commit (default: the @REVISION of the name, else main)\n"
          "  --cache-dir DIR    cache folder (default: $HF_HUB_CACHE, else $HF_HOME/hub,\n"
          "                     else ~/.cache/huggingface/hub)\n"
          "  --jobs N           parallel connections, 1-32 (default: 4)\n"
          "  --quiet            no progress bars (they are drawn only when stdout is a terminal)\n"
          "  -h, --help         this help\n\n"
          "environment: HF_ENDPOINT (default https://huggingface.co), HF_TOKEN (else the file\n"
          "$HF_HOME/token), HF_HUB_OFFLINE=1 (use only the cache).\n"
          "default model of chat/generate: %s\n",
          MR_DEFAULT_MODEL);
}

static int bad_usage(const char *fmt, const char *arg) {
  fprintf(stderr, "milrun pull: ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\n(milrun pull --help lists the options)\n");
  return 2;
}

int tool_pull(int argc, char **argv) {
  const char *include[MAX_INCLUDE + 1] = {0};
  int ninclude = 0;
  mr_hub_options o = {0};
  const char *spec = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int has_value = i + 1 < argc;
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      usage(stdout);
      return 0;
    } else if (!strcmp(a, "--quiet")) {
      o.quiet = 1;
    } else if (!strcmp(a, "--include") || !strcmp(a, "--revision") || !strcmp(a, "--cache-dir") ||
               !strcmp(a, "--jobs")) {
      if (!has_value) return bad_usage("%s needs a value", a);
      const char *v = argv[++i];
      if (!strcmp(a, "--include")) {
        if (ninclude == MAX_INCLUDE) return bad_usage("too many --include patterns (at most 64)%s", "");
        include[ninclude++] = v;
      } else if (!strcmp(a, "--revision")) {
        o.revision = v;
      } else if (!strcmp(a, "--cache-dir")) {
        o.cache_dir = v;
      } else {
        char *end;
        long n = strtol(v, &end, 10);
        if (*end || n < 1 || n > 32) return bad_usage("--jobs expects a number from 1 to 32, got '%s'", v);
        o.jobs = (int)n;
      }
    } else if (a[0] == '-') {
      return bad_usage("unknown option '%s'", a);
    } else if (spec) {
      return bad_usage("one repository at a time (extra argument '%s')", a);
    } else {
      spec = a;
    }
  }
  if (!spec) return bad_usage("%smissing the repository (ORG/NAME[@REVISION])", "");
  o.include = ninclude ? include : NULL;
  char *snapshot = NULL;
  mr_error err = {0};
  if (mr_hub_pull(spec, &o, &snapshot, &err) != MR_OK) {
    fprintf(stderr, "milrun pull: %s\n", err.msg);
    return err.code == MR_EINVAL ? 2 : 1;
  }
  printf("%s\n", snapshot);
  mr_free(snapshot);
  return 0;
}
