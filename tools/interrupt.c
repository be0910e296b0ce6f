/* interrupt.c — SIGINT handlers of interrupt.h (only async-signal-safe calls inside them). */
#include "interrupt.h"

#include <string.h>
#include <unistd.h>

volatile sig_atomic_t tool_interrupted;
static const char *exit_note;

static void on_flag(int sig) {
  tool_interrupted = 1;
  signal(sig, SIG_DFL); /* a second Ctrl-C ends the process */
}

static void on_exit_now(int sig) {
  (void)sig;
  if (exit_note && write(2, exit_note, strlen(exit_note)) < 0) {}
  _exit(TOOL_EXIT_INTERRUPTED);
}

static void install(void (*fn)(int)) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = fn;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
}

void tool_interrupt_flag(void) { install(on_flag); }

void tool_interrupt_exit(const char *note) {
  exit_note = note;
  install(on_exit_now);
}
