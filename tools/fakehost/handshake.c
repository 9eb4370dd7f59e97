/*
 * kvmi-fakehost - handshake.c: QEMU's side of the handshake (handshake.h).
 */
#include "handshake.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <nettle/sha1.h>

#include <kvmi/wire.h>

int fh_handshake_message(const struct fh_identity *id, struct fh_buf *out)
{
	struct kvmi_qemu2introspector_ext q;
	uint8_t *p = fh_buf_reserve(out, id->struct_size);
	size_t n = id->struct_size < sizeof(q) ? id->struct_size : sizeof(q);

	if (!p)
		return -ENOMEM;
	memset(&q, 0, sizeof(q));
	q.base.struct_size = id->struct_size;
	memcpy(q.base.uuid, id->uuid, sizeof(q.base.uuid));
	q.base.start_time = id->start_time;
	memcpy(q.base.name, id->name, sizeof(q.base.name) - 1);
	q.max_gpa = id->max_gpa;
	memset(p, 0, id->struct_size);
	memcpy(p, &q, n);
	out->len += id->struct_size;
	return 0;
}

void fh_handshake_init(struct fh_handshake *h, const void *secret, size_t len)
{
	memset(h, 0, sizeof(*h));
	if (secret) {
		struct sha1_ctx ctx;

		sha1_init(&ctx);
		sha1_update(&ctx, len, secret);
		sha1_digest(&ctx, SHA1_DIGEST_SIZE, h->cookie);
		h->check_cookie = 1;
	}
}

static void finish(struct fh_handshake *h)
{
	if (h->check_cookie &&
	    memcmp(h->head + 4, h->cookie, KVMI_HANDSHAKE_COOKIE_LEN)) {
		h->state = FH_HS_FAILED;
		snprintf(h->error, sizeof(h->error),
			 "introspection: the tool's cookie hash does not match "
			 "the secret (not authenticated)");
		return;
	}
	h->state = FH_HS_OK;
}

size_t fh_handshake_feed(struct fh_handshake *h, const void *data, size_t len)
{
	const uint8_t *p = data;
	size_t used = 0;

	while (used < len) {
		switch (h->state) {
		case FH_HS_READ_SIZE:
			h->head[h->got++] = p[used++];
			if (h->got < 4)
				break;
			memcpy(&h->size, h->head, 4);
			if (h->size < 4) {
				/* QEMU stops reading; the timer ends it */
				h->state = FH_HS_STALLED;
				snprintf(h->error, sizeof(h->error),
					 "introspection: the tool's struct_size %u "
					 "is below 4: handshake stalled",
					 h->size);
				return used;
			}
			if (h->size < sizeof(struct kvmi_introspector2qemu)) {
				h->state = FH_HS_FAILED;
				snprintf(h->error, sizeof(h->error),
					 "introspection: the tool's handshake struct "
					 "is too small (struct_size %u < %zu)",
					 h->size,
					 sizeof(struct kvmi_introspector2qemu));
				return used;
			}
			h->state = FH_HS_READ_BODY;
			break;
		case FH_HS_READ_BODY: {
			uint64_t want = h->size - h->got;
			size_t n = len - used < want ? len - used : (size_t)want;

			if (h->got < sizeof(h->head)) {
				size_t keep = sizeof(h->head) - h->got;

				memcpy(h->head + h->got, p + used,
				       n < keep ? n : keep);
			}
			h->got += n;
			used += n;
			if (h->got == h->size) {
				finish(h);
				return used;
			}
			break;
		}
		default:
			return used;
		}
	}
	return used;
}
