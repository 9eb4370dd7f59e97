/*
 * libkvmi - alloc.h: the library's allocation functions, with a test hook
 * that makes the N-th allocation fail (fault-injection tests drive it
 * through every allocation site).  Internal; never exported.
 */
#ifndef KVMI_LIB_ALLOC_H
#define KVMI_LIB_ALLOC_H

#include <stddef.h>

/*
 * Test hook, compiled only with KVMI_TEST_HOOKS (the internal archive
 * kvmi_internal that tests link; the shared library has none): when
 * non-zero, the allocation numbered kvmi__alloc_fail_at (counting from
 * the last reset of kvmi__alloc_count) returns NULL.
 */
#ifdef KVMI_TEST_HOOKS
extern long kvmi__alloc_fail_at;
extern long kvmi__alloc_count;
#endif

void *kvmi__malloc(size_t n);
void *kvmi__calloc(size_t n, size_t size);
void *kvmi__realloc(void *p, size_t n);

#endif
