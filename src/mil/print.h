/* print.h — the one writer of model.mil text: an IR program in canonical form, the layout Apple's
 * compiler writes. Parsing the text gives back an equal program (mil_program_equal), so
 * print -> parse -> print is a fixed point. */
#ifndef MIL_PRINT_H
#define MIL_PRINT_H

#include <stddef.h>

#include "mil/ir.h"
#include "util/strbuf.h"

/* Append p as model.mil text to sb. An allocation failure is sticky in sb (util_sb_failed). */
void mil_print(const mil_program *p, util_sb *sb);

#endif
