/* inspect.c — `milrun inspect` (being written). */
#include <stdio.h>
#include "commands.h"
int tool_inspect(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "milrun inspect: not built yet\n"); return 1; }
