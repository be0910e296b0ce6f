/* fuzz_mil_parse.c — libFuzzer target: any bytes given to mil_parse must produce a program or an
 * error, never a crash, a hang, a leak or a read outside the buffer. A parsed program is also
 * walked (type strings, op lookups) so that the IR it builds is consistent. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mil/ir.h"

static void walk_block(const mil_block *b) {
  char buf[256];
  for (int i = 0; i < b->n_ops; i++) {
    const mil_op *op = &b->ops[i];
    (void)mil_op_name(op);
    for (int k = 0; k < op->n_outputs; k++) mil_type_str(op->outputs[k].type, buf, sizeof buf);
    for (int k = 0; k < op->n_args; k++)
      for (int j = 0; j < op->args[k].n_items; j++)
        if (op->args[k].items[j].value) (void)mil_type_count(op->args[k].items[j].value->type);
    for (int k = 0; k < op->n_blocks; k++) walk_block(&op->blocks[k]);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mil_program *p = NULL;
  mr_error err;
  memset(&err, 0, sizeof err);
  if (mil_parse((const char *)data, size, "fuzz.mil", &p, &err) == MR_OK) {
    char buf[256];
    for (int f = 0; f < p->n_funcs; f++) {
      for (int k = 0; k < p->funcs[f].n_params; k++) mil_type_str(p->funcs[f].params[k].type, buf, sizeof buf);
      walk_block(&p->funcs[f].body);
    }
    (void)mil_program_function(p, "main");
  }
  mil_program_free(p);
  return 0;
}
