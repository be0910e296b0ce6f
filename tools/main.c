/* main.c — the milrun command: one table of subcommands (STYLE rule 19), one file each. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "milrun.h"

static const tool_command commands[] = {
  {"inspect", tool_inspect, "describe a .mlmodelc bundle: functions, I/O, ops, weights"},
  {"run", tool_run, "run one function of a .mlmodelc bundle on .npy inputs"},
  {"pull", tool_pull, "download a model from Hugging Face into the standard cache"},
  {"tokenize", tool_tokenize, "encode text (argument or stdin) to token ids"},
  {"template", tool_template, "render a conversation with the chat template"},
  {"convert", tool_convert, "convert a Hugging Face checkpoint into an Anemll-layout bundle"},
  {"logits", tool_logits, "run a converted LLM bundle on token ids and print or save the logits"},
  {"bench", tool_bench, "measure prompt and generation speed of an LLM bundle (llama-bench style)"},
  {NULL, NULL, NULL}
};

static void usage(FILE *f) {
  fprintf(f, "milrun %s — run Core ML ML Program bundles and Anemll LLMs anywhere\n\n", MR_VERSION);
  fprintf(f, "usage: milrun <command> [options]   (milrun <command> --help for its options)\n\ncommands:\n");
  for (const tool_command *c = commands; c->name; c++) fprintf(f, "  %-10s %s\n", c->name, c->help);
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
  if (!strcmp(argv[1], "--version")) {
    printf("milrun %s\n", MR_VERSION);
    return 0;
  }
  for (const tool_command *c = commands; c->name; c++)
    if (!strcmp(argv[1], c->name)) return c->fn(argc - 1, argv + 1);
  fprintf(stderr, "milrun: unknown command '%s'\n", argv[1]);
  usage(stderr);
  return 2;
}
