/* main.c — the milrun command: one table of subcommands (docs/style.md §19), one file each. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "milrun.h"

static const tool_command commands[] = {
  {"inspect", tool_inspect, "describe a bundle (.mlmodelc, .mlpackage), or an Anemll model and whether it fits"},
  {"run", tool_run, "run one function of a bundle (.mlmodelc, .mlpackage) on .npy inputs"},
  {"pull", tool_pull, "download a model from Hugging Face into the standard cache"},
  {"cache", tool_cache, "list (ls) or delete (rm) models of the Hugging Face cache"},
  {"tokenize", tool_tokenize, "encode text (argument or stdin) to token ids"},
  {"detokenize", tool_detokenize, "decode token ids (arguments or stdin) to text"},
  {"template", tool_template, "render a conversation with the chat template"},
  {"convert", tool_convert, "convert a Hugging Face checkpoint into an Anemll-layout bundle"},
  {"export", tool_export, "write a bundle as a Core ML .mlpackage, or a package as a .mlmodelc"},
  {"logits", tool_logits, "run a converted LLM bundle on token ids and print or save the logits"},
  {"generate", tool_generate, "generate text after a prompt with an LLM (default: " MR_DEFAULT_MODEL ")"},
  {"chat", tool_chat, "chat with an LLM interactively"},
  {"serve", tool_serve, "serve an LLM over HTTP with OpenAI's API (chat, completions, streaming)"},
  {"bench", tool_bench, "measure prompt and generation speed of an LLM bundle (llama-bench style)"},
  {NULL, NULL, NULL}
};

static void usage(FILE *f) {
  fprintf(f, "milrun %s — run Core ML ML Program bundles and Anemll LLMs anywhere\n\n", MR_VERSION);
  fprintf(f, "usage: milrun <command> [options]   (milrun <command> --help for its options)\n"
             "       milrun --version\n\ncommands:\n");
  for (const tool_command *c = commands; c->name; c++) fprintf(f, "  %-10s %s\n", c->name, c->help);
  fprintf(f, "\nexit status: 0 success, 1 error, 2 usage error (bad option or value), 130 interrupted.\n"
             "environment: MILRUN_THREADS (threads of the CPU executor, 1-64; default one per CPU),\n"
             "MILRUN_KERNELS, MILRUN_LUT_INT8, HF_HOME, HF_HUB_CACHE, HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE\n"
             "(see README.md).\n");
}

/* What the compiler was allowed to use, then what this CPU offers (x86: the features that
 * matter to the kernels). */
static void version(void) {
  printf("milrun %s\n", MR_VERSION);
#ifdef __clang__
  printf("build: clang %s, compiled for:", __clang_version__);
#else
  printf("build: gcc %s, compiled for:", __VERSION__);
#endif
  const char *built[] = {
#if defined(__x86_64__)
    "x86-64",
#elif defined(__aarch64__)
    "arm64",
#endif
#ifdef __SSE2__
    "sse2",
#endif
#ifdef __AVX__
    "avx",
#endif
#ifdef __AVX2__
    "avx2",
#endif
#ifdef __FMA__
    "fma",
#endif
#ifdef __F16C__
    "f16c",
#endif
#ifdef __AVX512F__
    "avx512f",
#endif
#ifdef __ARM_NEON
    "neon",
#endif
#ifdef __ARM_FEATURE_FP16_VECTOR_ARITHMETIC
    "fp16",
#endif
    NULL};
  for (int i = 0; built[i]; i++) printf(" %s", built[i]);
  printf("\n");
  /* the kernels are chosen at run time from the CPU's features, whatever the build's flags */
  int int8 = mr_lut_int8();
  printf("kernels: %s (of", mr_kernels());
  for (const char *const *n = mr_kernels_names(); *n; n++) printf(" %s", *n);
  printf("; $MILRUN_KERNELS picks one), integer LUT products %s\n",
         int8 < 0 ? "not available" : int8 ? "on ($MILRUN_LUT_INT8=0: off)" : "off");
}

/* The variables that tune the executor must say something it can do: a typo would otherwise
 * silently change the speed. */
static int check_environment(void) {
  const char *t = getenv("MILRUN_THREADS"), *k = getenv("MILRUN_KERNELS"), *i8 = getenv("MILRUN_LUT_INT8");
  if (t && *t) {
    char *end;
    long n = strtol(t, &end, 10);
    if (end == t || *end || n < 1 || n > 64) {
      fprintf(stderr, "milrun: MILRUN_THREADS='%s' is not a number of threads from 1 to 64 (unset it to use one per CPU)\n", t);
      return 2;
    }
  }
  if (k && *k && mr_set_kernels(k, NULL) != MR_OK) {
    const char *const *names = mr_kernels_names();
    fprintf(stderr, "milrun: MILRUN_KERNELS='%s' names no kernels this build can run on this CPU (", k);
    for (const char *const *n = names; *n; n++) fprintf(stderr, "%s%s", n == names ? "" : ", ", *n);
    fprintf(stderr, "; unset it to use the widest)\n");
    return 2;
  }
  if (i8 && *i8 && strcmp(i8, "0") && strcmp(i8, "1")) {
    fprintf(stderr, "milrun: MILRUN_LUT_INT8='%s' must be 0 (float LUT products) or 1 (integer, the default)\n", i8);
    return 2;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    usage(stdout);
    return 0;
  }
  if (check_environment()) return 2;
  if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
    version();
    return 0;
  }
  for (const tool_command *c = commands; c->name; c++)
    if (!strcmp(argv[1], c->name)) return c->fn(argc - 1, argv + 1);
  fprintf(stderr, "milrun: unknown command '%s'\n", argv[1]);
  usage(stderr);
  return 2;
}
