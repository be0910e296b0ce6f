/* input.h — all of standard input, byte for byte. */
#ifndef TOOLS_INPUT_H
#define TOOLS_INPUT_H

#include <stddef.h>

/* A new NUL-terminated buffer (mr_free) of *n bytes, or NULL on a read error or out of memory. */
char *tool_read_stdin(size_t *n);

#endif
