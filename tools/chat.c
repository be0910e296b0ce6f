/* chat.c — placeholder replaced below */
#include "commands.h"
int tool_chat(int argc, char **argv) { (void)argc; (void)argv; return 2; }
