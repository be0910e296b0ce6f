/* pull.c — `milrun pull ORG/NAME[@REVISION]`: download a model into the Hugging Face cache and
 * print its snapshot folder. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "interrupt.h"
#include "milrun.h"
#include "opts.h"

static int pull(const char *spec, mr_hub_options *o, const tool_list *include, const tool_list *exclude, int jobs) {
  o->include = include->v;
  o->exclude = exclude->v;
  o->jobs = jobs;
  /* Finished files are already in the cache and unfinished ones stay as resumable .incomplete
   * blobs; the ref that marks the snapshot whole is written last, so stopping here is safe. */
  tool_interrupt_exit("\nmilrun pull: interrupted; run the same pull again to resume the unfinished files\n");
  char *snapshot = NULL;
  mr_error err = {0};
  if (mr_hub_pull(spec, o, &snapshot, &err) != MR_OK) {
    fprintf(stderr, "milrun pull: %s\n", err.msg);
    return err.code == MR_EINVAL ? 2 : 1;
  }
  printf("%s\n", snapshot);
  mr_free(snapshot);
  return 0;
}

int tool_pull(int argc, char **argv) {
  tool_list include = {0}, exclude = {0};
  mr_hub_options o = {0};
  int jobs = 4;
  const tool_opt opts[] = {
    {"include", 0, OPT_LIST, &include, "GLOB", "only files whose repository path matches GLOB (repeatable;" OPT_NL
     "default: all; '*' also crosses '/', 'dir/' is all below dir)", 0, 0, NULL},
    {"exclude", 0, OPT_LIST, &exclude, "GLOB", "skip files matching GLOB, even if --include takes them" OPT_NL "(repeatable)",
     0, 0, NULL},
    {"revision", 0, OPT_STR, &o.revision, "REV", "branch, tag or commit (default: the @REVISION of the name, else main)", 0, 0, NULL},
    {"cache-dir", 0, OPT_STR, &o.cache_dir, "DIR", "cache folder (default: $HF_HUB_CACHE, else $HF_HOME/hub," OPT_NL
     "else ~/.cache/huggingface/hub)", 0, 0, NULL},
    {"jobs", 'j', OPT_INT, &jobs, "N", "parallel connections, 1-32 (default: 4)", 1, 32, NULL},
    {"quiet", 'q', OPT_FLAG, &o.quiet, NULL, "no progress bars (they are drawn only when stdout is a terminal)", 0, 0, NULL},
    {NULL, 0, 0, NULL, NULL, NULL, 0, 0, NULL}};
  static char epilog[512];
  snprintf(epilog, sizeof epilog,
           "environment: HF_ENDPOINT (default https://huggingface.co), HF_TOKEN (else the file\n"
           "$HF_HOME/token), HF_HUB_OFFLINE=1 (use only the cache).\n"
           "Ctrl-C stops the download (exit 130); the same pull later resumes unfinished files.\n"
           "default model of chat/generate: %s\n", MR_DEFAULT_MODEL);
  const tool_cmd cmd = {
    "pull", "[options] ORG/NAME[@REVISION]",
    "Download a Hugging Face model repository into the standard Hugging Face cache (shared with\n"
    "huggingface_hub and llama.cpp; files already there are not downloaded again) and print the\n"
    "snapshot folder. *.mlmodelc.zip files are unzipped beside themselves.",
    opts, epilog, 1, 1, "the repository (ORG/NAME[@REVISION])"};
  const char *spec;
  int npos;
  int rc = tool_parse(&cmd, argc, argv, &spec, &npos);
  if (rc == TOOL_OK) rc = pull(spec, &o, &include, &exclude, jobs);
  tool_list_free(&include);
  tool_list_free(&exclude);
  return tool_parse_exit(rc);
}
