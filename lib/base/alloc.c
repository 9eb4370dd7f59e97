/*
 * libkvmi - alloc.c: allocation wrappers; with KVMI_TEST_HOOKS (the
 * internal archive the fault-injection tests link, never the shared
 * library) the hook of alloc.h makes the N-th allocation fail.
 */
#include <stdlib.h>

#include "alloc.h"

#ifdef KVMI_TEST_HOOKS
long kvmi__alloc_fail_at;
long kvmi__alloc_count;

static int fail_now(void)
{
	if (!kvmi__alloc_fail_at)
		return 0;
	return ++kvmi__alloc_count == kvmi__alloc_fail_at;
}
#else
static inline int fail_now(void)
{
	return 0;
}
#endif

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
