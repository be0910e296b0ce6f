/* run.c — `milrun run` (being written). */
#include <stdio.h>
#include "commands.h"
int tool_run(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "milrun run: not built yet\n"); return 1; }
