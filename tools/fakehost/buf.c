/*
 * kvmi-fakehost - buf.c: the growable byte buffer of buf.h.
 */
#include "buf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

uint8_t *fh_buf_reserve(struct fh_buf *b, size_t n)
{
	if (b->cap - b->len < n) {
		size_t cap = b->cap ? b->cap : 4096;
		uint8_t *p;

		while (cap - b->len < n)
			cap *= 2;
		p = realloc(b->data, cap);
		if (!p)
			return NULL;
		b->data = p;
		b->cap = cap;
	}
	return b->data + b->len;
}

int fh_buf_append(struct fh_buf *b, const void *data, size_t n)
{
	uint8_t *p = fh_buf_reserve(b, n);

	if (!p)
		return -ENOMEM;
	memcpy(p, data, n);
	b->len += n;
	return 0;
}

void fh_buf_consume(struct fh_buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
}

void fh_buf_free(struct fh_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
