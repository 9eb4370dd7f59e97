/*
 * libkvmi - handshake.c: the I/O-less reader of QEMU's handshake struct.
 *
 * QEMU sends struct_size (4 bytes, counting itself) and then struct_size-4
 * more.  We keep what we know (up to the 104-byte form with max_gpa),
 * skip the rest, refuse sizes below 32 or above 64 KiB, and never ask for
 * a byte beyond the announced size: whatever follows belongs to the host
 * kernel's KVMI stream.
 */
#include <string.h>

#include "internal.h"

size_t kvmi__hs_want(const struct kvmi__hs *h)
{
	if (h->have < 4)
		return 4 - h->have;
	return h->size - h->have;
}

int kvmi__hs_feed(struct kvmi__hs *h, const uint8_t *p, size_t n)
{
	if (n > kvmi__hs_want(h))
		return -EINVAL;
	if (h->have < sizeof(h->buf)) {
		size_t keep = sizeof(h->buf) - h->have;

		memcpy(h->buf + h->have, p, n < keep ? n : keep);
	}
	h->have += n;
	if (h->have == 4 && !h->size) {
		memcpy(&h->size, h->buf, 4);
		if (h->size < KVMI_HANDSHAKE_MIN_QEMU_SIZE ||
		    h->size > KVMI_HANDSHAKE_MAX_QEMU_SIZE)
			return KVMI_E_HANDSHAKE_SIZE;
	}
	return h->size && h->have == h->size;
}

void kvmi__hs_identity(const struct kvmi__hs *h, struct kvmi_guest_identity *id)
{
	struct kvmi_qemu2introspector_ext q;
	size_t have = h->size < sizeof(q) ? h->size : sizeof(q);

	memset(&q, 0, sizeof(q));
	memcpy(&q, h->buf, have);
	memset(id, 0, sizeof(*id));
	memcpy(id->uuid, q.base.uuid, sizeof(id->uuid));
	q.base.name[sizeof(q.base.name) - 1] = 0;
	memcpy(id->name, q.base.name, sizeof(id->name));
	id->start_time = q.base.start_time;
	id->max_gpa = h->size >= sizeof(q) ? q.max_gpa : 0;
	id->struct_size = h->size;
}
