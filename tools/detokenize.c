/* detokenize.c — `milrun detokenize`: token ids (arguments, or standard input) to text, the
 * inverse of `milrun tokenize`. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "ids.h"
#include "input.h"
#include "milrun.h"
#include "opts.h"
#include "util/alloc.h"

int tool_detokenize(int argc, char **argv) {
  const char *path = NULL;
  int skip = 0;
  const tool_opt opts[] = {
    {"tokenizer", 't', OPT_STR, &path, "PATH", "tokenizer.json, or a model directory holding it (required)", 0, 0, NULL},
    {"skip-special", 0, OPT_FLAG, &skip, NULL, "leave out special tokens (<|im_end|>, ...)", 0, 0, NULL},
    {NULL, 0, 0, NULL, NULL, NULL, 0, 0, NULL}};
  const tool_cmd cmd = {
    "detokenize", "--tokenizer PATH [options] [IDS...]",
    "Decode token ids to text and print it exactly (no newline added). IDS are separated by spaces\n"
    "or commas (\"1,2,3\", \"1 2 3\", \"[1, 2, 3]\"); without IDS they are read from standard input, so\n"
    "`milrun tokenize ... | milrun detokenize ...` gives the text back.",
    opts, NULL, 0, 1 << 20, NULL};
  const char **pos = mr_alloc((size_t)argc * sizeof *pos);
  int npos, rc = pos ? tool_parse(&cmd, argc, argv, pos, &npos) : 1;
  if (!rc && !path) rc = tool_usage_error(&cmd, "--tokenizer PATH is required");
  int32_t *ids = NULL;
  size_t n = 0, cap = 0;
  int bad = 0;
  for (int i = 0; !rc && i < npos; i++) bad |= tool_ids_parse(pos[i], &ids, &n, &cap);
  mr_free(pos);
  char *in = NULL;
  size_t in_len = 0;
  if (!rc && !npos && !(in = tool_read_stdin(&in_len))) {
    fprintf(stderr, "milrun detokenize: cannot read standard input\n");
    rc = 1;
  }
  if (in) bad |= tool_ids_parse(in, &ids, &n, &cap);
  mr_free(in);
  if (!rc && bad) rc = tool_usage_error(&cmd, "token ids must be non-negative integers separated by spaces or commas");
  if (rc) {
    mr_free(ids);
    return tool_parse_exit(rc);
  }
  mr_error err = {0};
  mr_tokenizer *t = NULL;
  char *text = NULL;
  size_t len = 0;
  rc = mr_tokenizer_open(path, &t, &err);
  if (!rc) rc = mr_tokenizer_decode(t, ids, n, skip ? MR_TOK_SKIP_SPECIAL : 0, &text, &len, &err);
  if (rc) fprintf(stderr, "milrun detokenize: %s\n", err.msg);
  else fwrite(text, 1, len, stdout);
  mr_free(text);
  mr_free(ids);
  mr_tokenizer_close(t);
  return rc ? 1 : 0;
}
