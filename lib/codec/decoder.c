/*
 * libkvmi - decoder.c: the streaming, validating message decoder.
 *
 * Fed arbitrary chunks, it yields whole messages.  When a message lies
 * whole in the fed chunk it is decoded in place (zero-copy); otherwise its
 * bytes are gathered in one reassembly buffer allocated on first need.
 * Event common structs and event data are copied to aligned storage and
 * normalized (the host's common struct may be larger or smaller than
 * ours).  Errors are sticky until kvmi_decoder_reset().  The dialect
 * (v6 by default) decides the ids, event sizes and reply sizes accepted;
 * a v12 vCPU event's 8-byte event header is folded into the common
 * struct's event byte so every dialect's events look alike.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kvmi/codec.h>

#include "alloc.h"
#include "names.h"

#define HDR_SIZE sizeof(struct kvmi_msg_hdr)
#define COMMON_MIN offsetof(struct kvmi_event, arch)

struct kvmi_decoder {
	enum kvmi_direction dir;
	enum kvmi_dialect dialect;
	int error;		/* sticky error, 0 when none */
	size_t max_payload;
	uint64_t offset;	/* bytes consumed */
	uint64_t msg_start;	/* stream offset of the buffered message */
	uint64_t err_offset;
	__u8 *buf;		/* reassembly buffer: HDR_SIZE + max_payload */
	size_t buf_cap;
	size_t have;		/* bytes of the current message in buf */
	struct kvmi_msg_hdr hdr; /* header of the buffered message */
	struct kvmi_msg msg;
	struct kvmi_event common;
	size_t common_hi;	/* bytes of common that may be non-zero */
	union kvmi_event_data data;
	char errtext[160];
};

KVMI_EXPORT struct kvmi_decoder *kvmi_decoder_new(enum kvmi_direction dir)
{
	struct kvmi_decoder *d;

	if (dir != KVMI_DIR_HOST_TO_TOOL && dir != KVMI_DIR_TOOL_TO_HOST)
		return NULL;
	d = kvmi__calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->dir = dir;
	d->max_payload = dir == KVMI_DIR_HOST_TO_TOOL ? KVMI_HOST_MSG_SIZE_VALUE
						      : KVMI_MSG_SIZE_VALUE;
	return d;
}

KVMI_EXPORT void kvmi_decoder_free(struct kvmi_decoder *d)
{
	if (!d)
		return;
	free(d->buf);
	free(d);
}

KVMI_EXPORT int kvmi_decoder_set_max_size(struct kvmi_decoder *d,
					  size_t max_payload)
{
	if (!d || max_payload < 1 || max_payload > 65535)
		return -EINVAL;
	if (d->have)
		return -EBUSY;
	if (d->buf && d->buf_cap < HDR_SIZE + max_payload) {
		free(d->buf);
		d->buf = NULL;
		d->buf_cap = 0;
	}
	d->max_payload = max_payload;
	return 0;
}

KVMI_EXPORT int kvmi_decoder_set_dialect(struct kvmi_decoder *d,
					 enum kvmi_dialect dialect)
{
	if (!d || (unsigned)dialect >= KVMI_NUM_DIALECTS)
		return -EINVAL;
	if (d->have)
		return -EBUSY;
	d->dialect = dialect;
	return 0;
}

KVMI_EXPORT enum kvmi_dialect kvmi_decoder_dialect(const struct kvmi_decoder *d)
{
	return d ? d->dialect : KVMI_DIALECT_V6;
}

KVMI_EXPORT void kvmi_decoder_reset(struct kvmi_decoder *d)
{
	if (!d)
		return;
	d->error = 0;
	d->offset = 0;
	d->msg_start = 0;
	d->err_offset = 0;
	d->have = 0;
	d->errtext[0] = 0;
}

KVMI_EXPORT const char *kvmi_decoder_error(const struct kvmi_decoder *d,
					   uint64_t *offset)
{
	if (!d || !d->error)
		return NULL;
	if (offset)
		*offset = d->err_offset;
	return d->errtext;
}

KVMI_EXPORT uint64_t kvmi_decoder_offset(const struct kvmi_decoder *d)
{
	return d ? d->offset : 0;
}

KVMI_EXPORT size_t kvmi_decoder_buffered(const struct kvmi_decoder *d)
{
	return d ? d->have : 0;
}

__attribute__((format(printf, 4, 5))) static int
fail(struct kvmi_decoder *d, int err, uint64_t at, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(d->errtext, sizeof(d->errtext), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(d->errtext))
		snprintf(d->errtext + n, sizeof(d->errtext) - (size_t)n,
			 " (at byte offset %llu)", (unsigned long long)at);
	d->error = err;
	d->err_offset = at;
	d->have = 0;
	return err;
}

static int check_header(struct kvmi_decoder *d, const struct kvmi_msg_hdr *h,
			uint64_t at)
{
	if (h->size > d->max_payload)
		return fail(d, KVMI_E_MSG_TOO_BIG, at,
			    "message size %u exceeds the maximum %zu",
			    h->size, d->max_payload);
	return 0;
}

/*
 * @in_buf: p points into our reassembly buffer (8-byte aligned, ours
 * until the next feed), so a common struct of our size can be used where
 * it is instead of being copied a second time.  Else p is in the caller's
 * chunk: a common struct of our size there is used in place too when it
 * is aligned (borrowed like the payload: until the next feed, while the
 * chunk is valid - struct kvmi_msg).
 */
static inline __attribute__((always_inline)) int
decode_event(struct kvmi_decoder *d, const __u8 *p, size_t n, uint64_t at,
	     int in_buf, int v12_event, int v6)
{
	struct kvmi_msg *m = &d->msg;
	__u16 csize;
	size_t copy, rem;
	int dsize, id;

	if (n < COMMON_MIN)
		return fail(d, KVMI_E_EVENT_COMMON_SHORT, at,
			    "event message of %zu bytes is shorter than the "
			    "common struct minimum %zu",
			    n, (size_t)COMMON_MIN);
	memcpy(&csize, p, sizeof(csize));
	if (csize < COMMON_MIN)
		return fail(d, KVMI_E_EVENT_COMMON_SHORT, at + HDR_SIZE,
			    "event common size %u is below the minimum %zu",
			    csize, (size_t)COMMON_MIN);
	if (csize > n)
		return fail(d, KVMI_E_EVENT_COMMON_OVERRUN, at + HDR_SIZE,
			    "event common size %u is beyond the message size %zu",
			    csize, n);
	id = v12_event >= 0 ? v12_event : p[offsetof(struct kvmi_event, event)];
	if (v12_event >= 0) {
		dsize = kvmi_event_data_size_d(d->dialect, (unsigned)id);
		at += sizeof(struct kvmi_v12_event_hdr);
		in_buf = 0; /* the event byte is written below */
	} else if (v6) { /* a constant: the v6 path has no dialect test */
		dsize = kvmi__event_data_size((unsigned)id);
	} else {
		dsize = kvmi_event_data_size_d(d->dialect, (unsigned)id);
	}
	if (dsize < 0)
		return fail(d, KVMI_E_UNKNOWN_EVENT,
			    at + HDR_SIZE + (v12_event >= 0 ? 0
				: offsetof(struct kvmi_event, event)),
			    "unknown %s event id %d",
			    kvmi_dialect_name(d->dialect), id);
	rem = n - csize;
	if (rem < (size_t)dsize)
		return fail(d, KVMI_E_EVENT_PAYLOAD_SHORT, at + HDR_SIZE + csize,
			    "%s carries %zu bytes of event data, needs %d",
			    kvmi_event_name_d(d->dialect, (unsigned)id), rem,
			    dsize);

	m->u.event.common = &d->common;
	if (csize == sizeof(d->common) &&
	    (in_buf || (v12_event < 0 &&
			(uintptr_t)p % _Alignof(struct kvmi_event) == 0))) {
		m->u.event.common = (const struct kvmi_event *)(const void *)p;
	} else if (csize == sizeof(d->common)) {
		/* the common case: constant-size copies the compiler inlines */
		memcpy(&d->common, p, sizeof(d->common));
		d->common_hi = sizeof(d->common);
	} else {
		/* another host's size: what we lack reads as zero; only
		 * bytes an earlier, larger copy left behind need clearing */
		copy = csize < sizeof(d->common) ? csize : sizeof(d->common);
		memcpy(&d->common, p, copy);
		if (d->common_hi > copy)
			memset((__u8 *)&d->common + copy, 0,
			       d->common_hi - copy);
		d->common_hi = copy;
	}
	if (v12_event >= 0)
		d->common.event = (__u8)id; /* v12: padding on the wire */
	p += csize;
	switch (dsize) {
	case 0:
		memset(&d->data, 0, sizeof(d->data));
		break;
	case 8:
		memcpy(&d->data, p, 8);
		memset(d->data.raw + 8, 0, sizeof(d->data) - 8);
		break;
	case 16:
		memcpy(&d->data, p, 16);
		memset(d->data.raw + 16, 0, sizeof(d->data) - 16);
		break;
	default: /* 24 */
		memcpy(&d->data, p, 24);
		break;
	}

	m->kind = KVMI_MSG_EVENT;
	m->u.event.data = &d->data;
	m->u.event.data_size = (__u16)dsize;
	return 0;
}

/* v12: every event payload starts with kvmi_v12_event_hdr; a VM event
 * (message 0) has nothing else, a vCPU event (message 1) the common
 * struct and data after it. */
static int decode_event_v12(struct kvmi_decoder *d, const __u8 *p, size_t n,
			    uint64_t at, int vcpu)
{
	struct kvmi_msg *m = &d->msg;
	struct kvmi_v12_event_hdr eh;

	if (n < sizeof(eh))
		return fail(d, KVMI_E_EVENT_COMMON_SHORT, at,
			    "v12 event message of %zu bytes has no event header",
			    n);
	memcpy(&eh, p, sizeof(eh));
	if ((eh.event & 1) != vcpu ||
	    kvmi_event_data_size_d(d->dialect, eh.event) < 0)
		return fail(d, KVMI_E_UNKNOWN_EVENT, at + HDR_SIZE,
			    "unknown v12 %s event id %u", vcpu ? "vCPU" : "VM",
			    eh.event);
	if (vcpu)
		return decode_event(d, p + sizeof(eh), n - sizeof(eh), at, 0,
				    eh.event, 0);
	memset(&d->common, 0, sizeof(d->common));
	d->common_hi = 0;
	d->common.event = (__u8)eh.event;
	memset(&d->data, 0, sizeof(d->data));
	m->kind = KVMI_MSG_EVENT;
	m->u.event.common = &d->common;
	m->u.event.data = &d->data;
	m->u.event.data_size = 0;
	return 0;
}

/* @v6: a constant at each call (the v6 path tests no dialect) */
static inline __attribute__((always_inline)) int
decode_reply(struct kvmi_decoder *d, const __u8 *p, size_t n, uint64_t at,
	     int event_reply_error, int v6)
{
	struct kvmi_msg *m = &d->msg;
	struct kvmi_error_code ec;
	size_t min;
	int getregs;

	if (n < sizeof(ec))
		return fail(d, KVMI_E_MSG_SHORT, at,
			    "%s reply of %zu bytes has no error code",
			    kvmi_msg_name_d(d->dialect, m->hdr.id), n);
	memcpy(&ec, p, sizeof(ec));
	m->kind = event_reply_error ? KVMI_MSG_EVENT_REPLY_ERROR
				    : KVMI_MSG_REPLY;
	m->u.reply.host_err = ec.err;
	m->u.reply.err = kvmi_host_error_to_errno(ec.err);
	m->u.reply.data = NULL;
	m->u.reply.data_len = 0;
	if (ec.err != 0 || event_reply_error)
		return 0;

	n -= sizeof(ec);
	if (v6) { /* decode() checked the id */
		min = kvmi__reply_min_data(m->hdr.id);
		getregs = m->hdr.id == KVMI_GET_REGISTERS;
	} else if (!kvmi__is_reply_id_d(d->dialect, m->hdr.id)) {
		return fail(d, KVMI_E_UNKNOWN_MSG, at,
			    "successful reply to unknown %s message id %u",
			    kvmi_dialect_name(d->dialect), m->hdr.id);
	} else {
		min = kvmi__reply_min_data_d(d->dialect, m->hdr.id);
		getregs = kvmi_dialect_msg_from_wire(d->dialect, m->hdr.id) ==
			  KVMI_GET_REGISTERS;
	}
	if (n < min)
		return fail(d, KVMI_E_MSG_SIZE, at,
			    "%s reply carries %zu bytes of data, needs %zu",
			    kvmi_msg_name_d(d->dialect, m->hdr.id), n, min);
	if (getregs) {
		__u32 nmsrs;

		memcpy(&nmsrs,
		       p + sizeof(ec) +
			       offsetof(struct kvmi_get_registers_reply, msrs),
		       sizeof(nmsrs));
		if (n != sizeof(struct kvmi_get_registers_reply) +
				 (size_t)nmsrs * sizeof(struct kvm_msr_entry))
			return fail(d, KVMI_E_MSG_SIZE, at,
				    "%s reply of %zu data bytes does not match "
				    "nmsrs %u",
				    kvmi_msg_name_d(d->dialect, m->hdr.id), n,
				    nmsrs);
	}
	m->u.reply.data = n ? p + sizeof(ec) : NULL;
	m->u.reply.data_len = n;
	return 0;
}

static int decode_tool_msg(struct kvmi_decoder *d, const __u8 *p, size_t n,
			   uint64_t at)
{
	struct kvmi_msg *m = &d->msg;
	unsigned reply_id = d->dialect == KVMI_DIALECT_V12 ? KVMI_V12_VCPU_EVENT
							   : KVMI_EVENT_REPLY;

	if (m->hdr.id == reply_id) {
		if (n < KVMI_EVENT_REPLY_BASE_SIZE)
			return fail(d, KVMI_E_MSG_SHORT, at,
				    "%s event reply of %zu bytes is shorter "
				    "than %zu",
				    kvmi_dialect_name(d->dialect), n,
				    (size_t)KVMI_EVENT_REPLY_BASE_SIZE);
		m->kind = KVMI_MSG_EVENT_REPLY;
		memcpy(&m->u.event_reply.vcpu, p, sizeof(struct kvmi_vcpu_hdr));
		memcpy(&m->u.event_reply.common,
		       p + sizeof(struct kvmi_vcpu_hdr),
		       sizeof(struct kvmi_event_reply));
		m->u.event_reply.tail = p + KVMI_EVENT_REPLY_BASE_SIZE;
		m->u.event_reply.tail_len = n - KVMI_EVENT_REPLY_BASE_SIZE;
		return 0;
	}

	int has_vcpu = kvmi_command_has_vcpu_d(d->dialect, m->hdr.id);

	m->kind = KVMI_MSG_COMMAND;
	m->u.command.known = has_vcpu >= 0;
	m->u.command.has_vcpu = has_vcpu == 1;
	memset(&m->u.command.vcpu, 0, sizeof(m->u.command.vcpu));
	if (has_vcpu == 1) {
		if (n < sizeof(struct kvmi_vcpu_hdr))
			return fail(d, KVMI_E_MSG_SHORT, at,
				    "%s of %zu bytes has no vCPU header",
				    kvmi_msg_name_d(d->dialect, m->hdr.id), n);
		memcpy(&m->u.command.vcpu, p, sizeof(struct kvmi_vcpu_hdr));
		m->u.command.body = p + sizeof(struct kvmi_vcpu_hdr);
		m->u.command.body_len = n - sizeof(struct kvmi_vcpu_hdr);
	} else {
		m->u.command.body = p;
		m->u.command.body_len = n;
	}
	return 0;
}

/* Decode the whole message at p (header included); 0 or an error. */
static inline __attribute__((always_inline)) int
decode(struct kvmi_decoder *d, const __u8 *p, uint64_t at, int in_buf)
{
	struct kvmi_msg *m = &d->msg;
	size_t n = m->hdr.size;

	m->offset = at;
	m->payload = p + HDR_SIZE;
	p += HDR_SIZE;
	if (d->dir == KVMI_DIR_TOOL_TO_HOST)
		return decode_tool_msg(d, p, n, at);
	if (d->dialect == KVMI_DIALECT_V6) {
		if (m->hdr.id == KVMI_EVENT)
			return decode_event(d, p, n, at, in_buf, -1, 1);
		if (m->hdr.id == KVMI_EVENT_REPLY)
			return decode_reply(d, p, n, at, 1, 1);
		if (kvmi__is_reply_id(m->hdr.id))
			return decode_reply(d, p, n, at, 0, 1);
	} else if (m->hdr.id == KVMI_EVENT && d->dialect != KVMI_DIALECT_V12) {
		/* kvmi-v7: the -KVM_ENOSYS answer to a tool that sent id 1
		 * (an event starts with its size, 544) */
		if (n == sizeof(struct kvmi_error_code) && (p[3] & 0x80))
			return decode_reply(d, p, n, at, 0, 0);
		return decode_event(d, p, n, at, in_buf, -1, 0);
	} else if (d->dialect == KVMI_DIALECT_V12) {
		__s32 first = 0;

		if (n >= sizeof(first))
			memcpy(&first, p, sizeof(first));
		/* an 8-byte message 0 with a negative first word is the
		 * host's error answer to a tool that sent id 0 (an event
		 * header has a small id and zero padding there) */
		if (m->hdr.id == KVMI_V12_VM_EVENT &&
		    n == sizeof(struct kvmi_error_code) && first < 0)
			return decode_reply(d, p, n, at, 0, 0);
		if (m->hdr.id == KVMI_V12_VM_EVENT)
			return decode_event_v12(d, p, n, at, 0);
		/* an 8-byte message 1 is the host refusing an event reply */
		if (m->hdr.id == KVMI_V12_VCPU_EVENT)
			return n == sizeof(struct kvmi_error_code)
				       ? decode_reply(d, p, n, at, 1, 0)
				       : decode_event_v12(d, p, n, at, 1);
	} else if (m->hdr.id == KVMI_EVENT_REPLY) {
		return decode_reply(d, p, n, at, 1, 0);
	}
	/* v7/v12 hosts answer ids they do not know with -KVM_ENOSYS */
	if (d->dialect != KVMI_DIALECT_V6 &&
	    (kvmi__is_reply_id_d(d->dialect, m->hdr.id) ||
	     n >= sizeof(struct kvmi_error_code)))
		return decode_reply(d, p, n, at, 0, 0);
	return fail(d, KVMI_E_UNKNOWN_MSG, at, "unknown %s message id %u",
		    kvmi_dialect_name(d->dialect), m->hdr.id);
}

static int ensure_buf(struct kvmi_decoder *d)
{
	size_t need = HDR_SIZE + d->max_payload;

	if (d->buf && d->buf_cap >= need)
		return 0;
	free(d->buf);
	d->buf = kvmi__malloc(need);
	if (!d->buf) {
		d->buf_cap = 0;
		return -ENOMEM;
	}
	d->buf_cap = need;
	return 0;
}

KVMI_EXPORT ssize_t kvmi_decoder_feed(struct kvmi_decoder *d, const void *data,
				      size_t len, const struct kvmi_msg **msg)
{
	const __u8 *in = data;
	size_t used = 0;
	int err;

	if (!d || !msg || (!data && len))
		return -EINVAL;
	*msg = NULL;
	if (d->error)
		return KVMI_E_DECODER_FAILED;

	/* fast path: a whole message at the start of the chunk */
	if (d->have == 0 && len >= HDR_SIZE) {
		memcpy(&d->msg.hdr, in, HDR_SIZE);
		err = check_header(d, &d->msg.hdr, d->offset);
		if (err)
			return err;
		if (len >= HDR_SIZE + d->msg.hdr.size) {
			err = decode(d, in, d->offset, 0);
			if (err)
				return err;
			used = HDR_SIZE + d->msg.hdr.size;
			d->offset += used;
			*msg = &d->msg;
			return (ssize_t)used;
		}
	}

	while (used < len) {
		size_t want, n;

		if (d->have == 0) {
			err = ensure_buf(d);
			if (err)
				return err; /* nothing consumed; not sticky */
			d->msg_start = d->offset + used;
		}
		if (d->have < HDR_SIZE) {
			want = HDR_SIZE - d->have;
			n = len - used < want ? len - used : want;
			memcpy(d->buf + d->have, in + used, n);
			d->have += n;
			used += n;
			if (d->have < HDR_SIZE)
				break;
			memcpy(&d->hdr, d->buf, HDR_SIZE);
			err = check_header(d, &d->hdr, d->msg_start);
			if (err)
				return err;
		}
		want = HDR_SIZE + d->hdr.size - d->have;
		n = len - used < want ? len - used : want;
		memcpy(d->buf + d->have, in + used, n);
		d->have += n;
		used += n;
		if (d->have == HDR_SIZE + d->hdr.size) {
			d->msg.hdr = d->hdr;
			d->have = 0;
			err = decode(d, d->buf, d->msg_start, 1);
			if (err)
				return err;
			d->offset += used;
			*msg = &d->msg;
			return (ssize_t)used;
		}
	}
	d->offset += used;
	return (ssize_t)used;
}

KVMI_EXPORT int kvmi_decoder_finish(struct kvmi_decoder *d)
{
	if (!d)
		return -EINVAL;
	if (d->error)
		return d->error;
	if (d->have == 0)
		return 0;
	if (d->have < HDR_SIZE)
		return fail(d, KVMI_E_TRUNC_HEADER, d->msg_start,
			    "stream ended after %zu of %zu header bytes",
			    d->have, HDR_SIZE);
	return fail(d, KVMI_E_TRUNC_BODY, d->msg_start,
		    "stream ended after %zu of %zu bytes of a %s message",
		    d->have, HDR_SIZE + d->hdr.size,
		    kvmi_msg_name_d(d->dialect, d->hdr.id));
}
