/* commands.h — the subcommands of the milrun tool. Each gets argv starting at its own name and
 * returns the process exit code: 0 success, 1 runtime error, 2 usage error, 130 interrupted. */
#ifndef TOOLS_COMMANDS_H
#define TOOLS_COMMANDS_H

typedef struct tool_command {
  const char *name;
  int (*fn)(int argc, char **argv);
  const char *help;
} tool_command;

int tool_inspect(int argc, char **argv);
int tool_run(int argc, char **argv);
int tool_pull(int argc, char **argv);
int tool_cache(int argc, char **argv);
int tool_detokenize(int argc, char **argv);
int tool_tokenize(int argc, char **argv);
int tool_template(int argc, char **argv);
int tool_convert(int argc, char **argv);
int tool_logits(int argc, char **argv);
int tool_generate(int argc, char **argv);
int tool_chat(int argc, char **argv);
int tool_bench(int argc, char **argv);
int tool_export(int argc, char **argv);
int tool_serve(int argc, char **argv);

#endif
