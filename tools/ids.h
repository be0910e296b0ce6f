/* ids.h — token ids as users type them: "1,2,3", "1 2 3" or "[1, 2, 3]". */
#ifndef TOOLS_IDS_H
#define TOOLS_IDS_H

#include <stddef.h>
#include <stdint.h>

/* Append the ids of `text` to *ids (grown with mr_realloc; *n ids, capacity *cap). Returns 0, or -1
 * for something that is not a non-negative 32-bit id (or out of memory). */
int tool_ids_parse(const char *text, int32_t **ids, size_t *n, size_t *cap);

#endif
