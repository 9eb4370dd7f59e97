/*
 * libkvmi - host_encoder.c: the host's side of the wire - events, command
 * replies and the host's event-reply error - for the simulated host, the
 * capture generator, benchmarks and tests.  Not part of libkvmi: it is
 * the static library kvmi_host (declared in host_encoder.h), so the
 * library's ABI has only what a tool sends and decodes.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "emit.h"
#include "host_encoder.h"

/* @common as the wire carries it: its size field @common_size, padding
 * zeroed, truncated or zero-extended; the parts (the copy, then zeros)
 * into @parts; @c holds the copy.  0 or -EINVAL */
static int common_parts(const struct kvmi_event *common, size_t common_size,
			size_t max, struct kvmi_event *c,
			struct kvmi__part parts[2])
{
	static const __u8 zeros[256];
	size_t known;

	if (!common || common_size < offsetof(struct kvmi_event, arch) ||
	    common_size > max)
		return -EINVAL;
	*c = *common;
	c->size = (__u16)common_size;
	memset(c->padding, 0, sizeof(c->padding));
	known = common_size < sizeof(*c) ? common_size : sizeof(*c);
	if (common_size - known > sizeof(zeros))
		return -EINVAL;
	parts[0] = (struct kvmi__part){c, known};
	parts[1] = (struct kvmi__part){zeros, common_size - known};
	return 0;
}

int kvmi_encode_event(void *buf, size_t cap, uint32_t seq,
		      const struct kvmi_event *common, size_t common_size,
		      const void *data, size_t data_len)
{
	struct kvmi_event c;
	struct kvmi__part parts[3];

	if ((data_len && !data) ||
	    common_parts(common, common_size, 0xffff, &c, parts))
		return -EINVAL;
	parts[2] = (struct kvmi__part){data, data_len};
	return kvmi__emit(buf, cap, KVMI_EVENT, seq, 0xffff, parts, 3);
}

int kvmi_encode_event_d(enum kvmi_dialect d, void *buf, size_t cap,
			uint32_t seq, const struct kvmi_event *common,
			size_t common_size, const void *data, size_t data_len)
{
	struct kvmi_v12_event_hdr eh = {0};
	struct kvmi_event c;
	struct kvmi__part parts[4] = {{&eh, sizeof(eh)}};

	if ((unsigned)d >= KVMI_NUM_DIALECTS)
		return -EINVAL;
	if (d != KVMI_DIALECT_V12)
		return kvmi_encode_event(buf, cap, seq, common, common_size,
					 data, data_len);
	if (!common || (data_len && !data))
		return -EINVAL;
	eh.event = common->event;
	if (!(eh.event & 1)) { /* a VM event: the header only */
		if (data_len)
			return -EINVAL;
		return kvmi__emit(buf, cap, KVMI_V12_VM_EVENT, seq, 0xffff,
				  parts, 1);
	}
	if (common_parts(common, common_size, 0xffff - sizeof(eh), &c,
			 parts + 1))
		return -EINVAL;
	c.event = 0; /* padding in v12: the id is in the event header */
	parts[3] = (struct kvmi__part){data, data_len};
	return kvmi__emit(buf, cap, KVMI_V12_VCPU_EVENT, seq, 0xffff, parts, 4);
}

int kvmi_encode_reply(void *buf, size_t cap, uint16_t id, uint32_t seq,
		      int32_t host_err, const void *data, size_t data_len)
{
	struct kvmi_error_code ec = {.err = host_err};
	struct kvmi__part parts[2] = {{&ec, sizeof(ec)}, {data, 0}};

	if (host_err > 0)
		return -EINVAL;
	if (host_err == 0) {
		if (data_len && !data)
			return -EINVAL;
		parts[1].len = data_len;
	}
	return kvmi__emit(buf, cap, id, seq, KVMI_HOST_MSG_SIZE_VALUE, parts,
			  2);
}

int kvmi_encode_event_reply_error_d(enum kvmi_dialect d, void *buf, size_t cap,
				    uint32_t seq, int32_t host_err)
{
	struct kvmi_error_code ec = {.err = host_err};
	struct kvmi__part parts[1] = {{&ec, sizeof(ec)}};
	int id = (unsigned)d < KVMI_NUM_DIALECTS
		     ? kvmi_dialect_msg_to_wire(d, KVMI_EVENT_REPLY)
		     : -EINVAL;

	if (id < 0)
		return id;
	/* v12: only an error tells it from a vCPU event (message 1) */
	if (host_err > 0 || (host_err == 0 && d == KVMI_DIALECT_V12))
		return -EINVAL;
	return kvmi__emit(buf, cap, (uint16_t)id, seq, KVMI_HOST_MSG_SIZE_VALUE,
			  parts, 1);
}

int kvmi_encode_event_reply_error(void *buf, size_t cap, uint32_t seq,
				  int32_t host_err)
{
	return kvmi_encode_event_reply_error_d(KVMI_DIALECT_V6, buf, cap, seq,
					       host_err);
}
