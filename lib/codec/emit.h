/*
 * libkvmi - emit.h: one whole message (header, then parts) written into a
 * caller's buffer - what every encoder ends in.  Shared by the library's
 * encoders (encoder.c) and the host-side ones of the simulated hosts and
 * tests (host_encoder.c, not in the library), hence static inline.
 */
#ifndef KVMI_LIB_EMIT_H
#define KVMI_LIB_EMIT_H

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include <kvmi/codec.h>

#define HDR_SIZE sizeof(struct kvmi_msg_hdr)

struct kvmi__part {
	const void *p;
	size_t len;
};

/* @parts after a header {@id, size, @seq} into @buf (@cap bytes): the
 * length written, KVMI_E_TOO_MANY past @max_payload, KVMI_E_NOSPACE past
 * @cap, -EINVAL without a buffer */
static inline int kvmi__emit(void *buf, size_t cap, uint16_t id, uint32_t seq,
			     size_t max_payload, const struct kvmi__part *parts,
			     size_t nparts)
{
	struct kvmi_msg_hdr hdr = {.id = id, .seq = seq};
	size_t payload = 0;
	__u8 *out = buf;

	if (!buf)
		return -EINVAL;
	for (size_t i = 0; i < nparts; i++)
		payload += parts[i].len;
	if (payload > max_payload)
		return KVMI_E_TOO_MANY;
	if (HDR_SIZE + payload > cap)
		return KVMI_E_NOSPACE;
	hdr.size = (__u16)payload;
	memcpy(out, &hdr, HDR_SIZE);
	out += HDR_SIZE;
	for (size_t i = 0; i < nparts; i++) {
		if (parts[i].len)
			memcpy(out, parts[i].p, parts[i].len);
		out += parts[i].len;
	}
	return (int)(HDR_SIZE + payload);
}

#endif /* KVMI_LIB_EMIT_H */
