/*
 * libkvmi - alloc.c: allocation wrappers with the fault-injection hook
 * (see alloc.h).
 */
#include <stdlib.h>

#include "alloc.h"

long kvmi__alloc_fail_at;
long kvmi__alloc_count;

static int fail_now(void)
{
	if (!kvmi__alloc_fail_at)
		return 0;
	return ++kvmi__alloc_count == kvmi__alloc_fail_at;
}

void *kvmi__malloc(size_t n)
{
	return fail_now() ? NULL : malloc(n);
}

void *kvmi__calloc(size_t n, size_t size)
{
	return fail_now() ? NULL : calloc(n, size);
}

void *kvmi__realloc(void *p, size_t n)
{
	return fail_now() ? NULL : realloc(p, n);
}
