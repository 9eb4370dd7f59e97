/*
 * kvmi-fakehost - buf.h: a growable byte buffer (bytes waiting to be sent).
 */
#ifndef FH_BUF_H
#define FH_BUF_H

#include <stddef.h>
#include <stdint.h>

struct fh_buf {
	uint8_t *data;
	size_t len; /* bytes held */
	size_t cap; /* bytes allocated */
};

/* fh_buf_reserve - make room for @n more bytes; returns a pointer to the
 * free space (valid until the next call) or NULL when out of memory. */
uint8_t *fh_buf_reserve(struct fh_buf *b, size_t n);
/* fh_buf_append - copy @n bytes; 0 or -ENOMEM. */
int fh_buf_append(struct fh_buf *b, const void *data, size_t n);
/* fh_buf_consume - drop the first @n bytes (n <= len). */
void fh_buf_consume(struct fh_buf *b, size_t n);
/* fh_buf_free - release the storage; the buffer becomes empty. */
void fh_buf_free(struct fh_buf *b);

#endif
