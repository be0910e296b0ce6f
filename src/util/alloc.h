/* alloc.h — allocation helpers over the mr_alloc hook (see alloc.c). */
#ifndef UTIL_ALLOC_H
#define UTIL_ALLOC_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "milrun.h"

/* Zeroed array of n elements of `size` bytes; NULL on overflow or out of memory. */
void *util_calloc(size_t n, size_t size);
char *util_strdup(const char *s);
char *util_strndup(const char *s, size_t n);

/* Number of allocations that have failed in this process (see alloc.c). */
unsigned long util_alloc_failures(void);

/* Tests only: let n more allocations succeed, then fail every one; n < 0 turns it off. */
void util_alloc_fail_after(long n);

#endif
