/* interrupt.h — Ctrl-C in long commands. A command either polls a flag (and cleans up before it
 * exits 130), or, where the work cannot be stopped between steps, exits 130 at once with a note;
 * a second Ctrl-C always ends the process. */
#ifndef TOOLS_INTERRUPT_H
#define TOOLS_INTERRUPT_H

#include <signal.h>

#define TOOL_EXIT_INTERRUPTED 130 /* 128 + SIGINT, what shells report */

/* Set to 1 by the first SIGINT after tool_interrupt_flag(). */
extern volatile sig_atomic_t tool_interrupted;
void tool_interrupt_flag(void);
/* The first SIGINT writes `note` (a static string) to stderr and exits 130. */
void tool_interrupt_exit(const char *note);

#endif
