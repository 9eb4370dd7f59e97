/*
 * libkvmi - commands.c: one synchronous function per core command, on
 * top of kvmi__command (send, wait for the (id, seq) reply).  Physical
 * accesses are split per page and page-access lists per message, sent
 * pipelined and waited for together.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "internal.h"

#define MSG_MAX KVMI_ENCODE_MAX

/* reserve room for one message in the output buffer */
static int reserve(struct kvmi_dom *dom, uint8_t **where)
{
	if (!kvmi__dom_usable(dom))
		return -ENOTCONN;
	return kvmi__out_reserve(dom, MSG_MAX, where);
}

/* queue an encoded message (at the end of the output buffer) as a command
 * whose reply goes to @w */
static int queue(struct kvmi_dom *dom, int len, struct kvmi__waiter *w)
{
	struct kvmi_msg_hdr hdr;
	int err;

	if (len < 0)
		return len;
	memcpy(&hdr, dom->out + dom->out_len, sizeof(hdr));
	err = kvmi__pending_add(dom, hdr.id, hdr.seq, false, w);
	if (err)
		return err;
	kvmi__out_commit(dom, (size_t)len);
	return 0;
}

int kvmi__command(struct kvmi_dom *dom, const uint8_t *msg, int len,
		  void *out, size_t out_cap, size_t *out_len)
{
	struct kvmi__waiter w = {.out = out, .out_cap = out_cap};
	struct kvmi__waiter *ws[1] = {&w};
	int err;

	(void)msg; /* the message was encoded in place by the caller */
	err = queue(dom, len, &w);
	if (err)
		return err;
	err = kvmi__dom_wait(dom, ws, 1);
	if (err)
		return err;
	if (out_len)
		*out_len = w.out_len;
	return w.result;
}

int kvmi__write_physical_async(struct kvmi_dom *dom, uint64_t gpa,
			       const void *buf, size_t len,
			       struct kvmi__waiter *w)
{
	uint8_t *where;
	int err = reserve(dom, &where);

	if (err)
		return err;
	return queue(dom,
		     kvmi_encode_write_physical(where, MSG_MAX,
						kvmi_seq_next(&dom->seq), gpa,
						buf, len),
		     w);
}

/* encode with EXPR into `where` (declared by the caller) and run it */
#define RUN(dom, out, cap, outlen, EXPR)                                       \
	({                                                                     \
		uint8_t *where;                                                \
		int _e = reserve(dom, &where);                                 \
		if (!_e)                                                       \
			_e = kvmi__command(dom, where,                         \
					   (EXPR), out, cap, outlen);          \
		_e;                                                            \
	})
#define SEQ (kvmi_seq_next(&dom->seq))

KVMI_EXPORT int kvmi_dom_get_version(struct kvmi_dom *dom, uint32_t *version)
{
	struct kvmi_get_version_reply r = {0};
	int err;

	if (!dom || !version)
		return -EINVAL;
	err = RUN(dom, &r, sizeof(r), NULL,
		  kvmi_encode_get_version(where, MSG_MAX, SEQ));
	if (!err)
		*version = r.version;
	return err;
}

KVMI_EXPORT int kvmi_dom_check_command(struct kvmi_dom *dom, uint16_t id)
{
	if (!dom)
		return -EINVAL;
	return RUN(dom, NULL, 0, NULL,
		   kvmi_encode_check_command(where, MSG_MAX, SEQ, id));
}

KVMI_EXPORT int kvmi_dom_check_event(struct kvmi_dom *dom, uint16_t event_id)
{
	if (!dom)
		return -EINVAL;
	return RUN(dom, NULL, 0, NULL,
		   kvmi_encode_check_event(where, MSG_MAX, SEQ, event_id));
}

KVMI_EXPORT int kvmi_dom_get_guest_info(struct kvmi_dom *dom,
					uint32_t *vcpu_count)
{
	struct kvmi_get_guest_info_reply r = {0};
	int err;

	if (!dom || !vcpu_count)
		return -EINVAL;
	err = RUN(dom, &r, sizeof(r), NULL,
		  kvmi_encode_get_guest_info(where, MSG_MAX, SEQ));
	if (!err)
		*vcpu_count = r.vcpu_count;
	return err;
}

KVMI_EXPORT int kvmi_dom_get_vcpu_info(struct kvmi_dom *dom, uint16_t vcpu,
				       uint64_t *tsc_speed)
{
	struct kvmi_get_vcpu_info_reply r = {0};
	int err;

	if (!dom || !tsc_speed)
		return -EINVAL;
	err = RUN(dom, &r, sizeof(r), NULL,
		  kvmi_encode_get_vcpu_info(where, MSG_MAX, SEQ, vcpu));
	if (!err)
		*tsc_speed = r.tsc_speed;
	return err;
}

KVMI_EXPORT int kvmi_dom_pause_vcpu(struct kvmi_dom *dom, uint16_t vcpu,
				    int wait)
{
	if (!dom)
		return -EINVAL;
	return RUN(dom, NULL, 0, NULL,
		   kvmi_encode_pause_vcpu(where, MSG_MAX, SEQ, vcpu, wait));
}

KVMI_EXPORT int kvmi_dom_pause_all(struct kvmi_dom *dom)
{
	struct kvmi_batch *b;
	int err;

	if (!dom)
		return -EINVAL;
	err = kvmi_batch_new(dom, 0, &b);
	if (err)
		return err;
	for (unsigned int v = 0; v < dom->vcpu_count && !err; v++) {
		int r = kvmi_batch_pause_vcpu(b, (uint16_t)v, 1);

		if (r < 0)
			err = r;
	}
	if (!err)
		err = kvmi_batch_commit(b);
	kvmi_batch_free(b);
	return err;
}

KVMI_EXPORT int kvmi_dom_control_vm_events(struct kvmi_dom *dom,
					   uint16_t event_id, int enable)
{
	if (!dom)
		return -EINVAL;
	return RUN(dom, NULL, 0, NULL,
		   kvmi_encode_control_vm_events(where, MSG_MAX, SEQ, event_id,
						 enable));
}

KVMI_EXPORT int kvmi_dom_control_events(struct kvmi_dom *dom, uint16_t vcpu,
					uint16_t event_id, int enable)
{
	if (!dom)
		return -EINVAL;
	return RUN(dom, NULL, 0, NULL,
		   kvmi_encode_control_events(where, MSG_MAX, SEQ, vcpu,
					      event_id, enable));
}

KVMI_EXPORT int kvmi_dom_control_cr(struct kvmi_dom *dom, uint16_t vcpu,
				    uint32_t cr, int enable)
{
	if (!dom)
		return -EINVAL;
	return RUN(dom, NULL, 0, NULL,
		   kvmi_encode_control_cr(where, MSG_MAX, SEQ, vcpu, cr, enable));
}

KVMI_EXPORT int kvmi_dom_control_msr(struct kvmi_dom *dom, uint16_t vcpu,
				     uint32_t msr, int enable)
{
	if (!dom)
		return -EINVAL;
	return RUN(dom, NULL, 0, NULL,
		   kvmi_encode_control_msr(where, MSG_MAX, SEQ, vcpu, msr,
					   enable));
}

KVMI_EXPORT int kvmi_dom_get_registers(struct kvmi_dom *dom, uint16_t vcpu,
				       struct kvm_regs *regs,
				       struct kvm_sregs *sregs,
				       struct kvm_msr_entry *msrs,
				       size_t nmsrs, uint32_t *mode)
{
	size_t cap = sizeof(struct kvmi_get_registers_reply) +
		     nmsrs * sizeof(struct kvm_msr_entry);
	uint32_t idx[KVMI_GET_REGISTERS_MAX_MSRS];
	struct kvmi_get_registers_reply *r;
	size_t got = 0;
	int err;

	if (!dom || (nmsrs && !msrs))
		return -EINVAL;
	if (nmsrs > KVMI_GET_REGISTERS_MAX_MSRS)
		return KVMI_E_TOO_MANY;
	for (size_t i = 0; i < nmsrs; i++)
		idx[i] = msrs[i].index;
	r = kvmi__calloc(1, cap);
	if (!r)
		return -ENOMEM;
	err = RUN(dom, r, cap, &got,
		  kvmi_encode_get_registers(where, MSG_MAX, SEQ, vcpu, idx,
					    nmsrs));
	if (!err && (got != cap || r->msrs.nmsrs != nmsrs))
		err = KVMI_E_MSG_SIZE;
	if (!err) {
		struct kvm_msr_entry *e = (struct kvm_msr_entry *)(r + 1);

		if (regs)
			*regs = r->regs;
		if (sregs)
			*sregs = r->sregs;
		if (mode)
			*mode = r->mode;
		for (size_t i = 0; i < nmsrs; i++)
			msrs[i].data = e[i].data;
	}
	free(r);
	return err;
}

KVMI_EXPORT int kvmi_dom_set_registers(struct kvmi_dom *dom, uint16_t vcpu,
				       const struct kvm_regs *regs)
{
	if (!dom || !regs)
		return -EINVAL;
	return RUN(dom, NULL, 0, NULL,
		   kvmi_encode_set_registers(where, MSG_MAX, SEQ, vcpu, regs));
}

KVMI_EXPORT int kvmi_dom_get_cpuid(struct kvmi_dom *dom, uint16_t vcpu,
				   uint32_t function, uint32_t index,
				   struct kvmi_get_cpuid_reply *out)
{
	struct kvmi_get_cpuid_reply r = {0};
	int err;

	if (!dom || !out)
		return -EINVAL;
	err = RUN(dom, &r, sizeof(r), NULL,
		  kvmi_encode_get_cpuid(where, MSG_MAX, SEQ, vcpu, function,
					index));
	if (!err)
		*out = r;
	return err;
}

KVMI_EXPORT int kvmi_dom_get_xsave(struct kvmi_dom *dom, uint16_t vcpu,
				   void *buf, size_t len)
{
	uint8_t *tmp;
	size_t got = 0;
	int err;

	if (!dom || (!buf && len))
		return -EINVAL;
	tmp = kvmi__malloc(KVMI_HOST_MSG_SIZE_VALUE);
	if (!tmp)
		return -ENOMEM;
	err = RUN(dom, tmp, KVMI_HOST_MSG_SIZE_VALUE, &got,
		  kvmi_encode_get_xsave(where, MSG_MAX, SEQ, vcpu));
	if (!err) {
		memcpy(buf, tmp, got < len ? got : len);
		err = (int)(got < len ? got : len);
	}
	free(tmp);
	return err;
}

/* ---- pipelined page-split physical access ---- */

static int physical(struct kvmi_dom *dom, uint64_t gpa, void *rbuf,
		    const void *wbuf, size_t len)
{
	struct kvmi_batch *b;
	int err;

	if (!dom || (!rbuf && !wbuf) || !len)
		return -EINVAL;
	if (gpa + len < gpa)
		return -EINVAL;
	err = kvmi_batch_new(dom, 0, &b);
	if (err)
		return err;
	err = wbuf ? kvmi_batch_write_physical(b, gpa, wbuf, len)
		   : kvmi_batch_read_physical(b, gpa, rbuf, len);
	if (err >= 0)
		err = kvmi_batch_commit(b);
	kvmi_batch_free(b);
	return err;
}

KVMI_EXPORT int kvmi_dom_read_physical(struct kvmi_dom *dom, uint64_t gpa,
				       void *buf, size_t len)
{
	if (!buf)
		return -EINVAL;
	return physical(dom, gpa, buf, NULL, len);
}

KVMI_EXPORT int kvmi_dom_write_physical(struct kvmi_dom *dom, uint64_t gpa,
					const void *buf, size_t len)
{
	if (!buf)
		return -EINVAL;
	return physical(dom, gpa, NULL, buf, len);
}

KVMI_EXPORT int kvmi_dom_inject_exception(struct kvmi_dom *dom, uint16_t vcpu,
					  uint8_t nr, int has_error,
					  uint32_t error_code,
					  uint64_t address)
{
	if (!dom)
		return -EINVAL;
	return RUN(dom, NULL, 0, NULL,
		   kvmi_encode_inject_exception(where, MSG_MAX, SEQ, vcpu, nr,
						has_error, error_code, address));
}

KVMI_EXPORT int kvmi_dom_get_page_access(struct kvmi_dom *dom,
					 const uint64_t *gpas, uint8_t *access,
					 size_t count)
{
	struct kvmi_batch *b;
	int err;

	if (!dom || !gpas || !access || !count)
		return -EINVAL;
	err = kvmi_batch_new(dom, 0, &b);
	if (err)
		return err;
	err = kvmi_batch_get_page_access(b, gpas, access, count);
	if (err >= 0)
		err = kvmi_batch_commit(b);
	kvmi_batch_free(b);
	return err;
}

KVMI_EXPORT int
kvmi_dom_set_page_access(struct kvmi_dom *dom,
			 const struct kvmi_page_access_entry *entries,
			 size_t count)
{
	struct kvmi_batch *b;
	int err;

	if (!dom || !entries || !count)
		return -EINVAL;
	err = kvmi_batch_new(dom, 0, &b);
	if (err)
		return err;
	err = kvmi_batch_set_page_access(b, entries, count);
	if (err >= 0)
		err = kvmi_batch_commit(b);
	kvmi_batch_free(b);
	return err;
}

KVMI_EXPORT int kvmi_dom_get_mtrr_type(struct kvmi_dom *dom, uint16_t vcpu,
				       uint64_t gpa, uint8_t *type)
{
	struct kvmi_get_mtrr_type_reply r = {0};
	int err;

	if (!dom || !type)
		return -EINVAL;
	err = RUN(dom, &r, sizeof(r), NULL,
		  kvmi_encode_get_mtrr_type(where, MSG_MAX, SEQ, vcpu, gpa));
	if (!err)
		*type = r.type;
	return err;
}

KVMI_EXPORT int kvmi_dom_get_max_gfn(struct kvmi_dom *dom, uint64_t *gfn)
{
	struct kvmi_get_max_gfn_reply r = {0};
	int err;

	if (!dom || !gfn)
		return -EINVAL;
	err = RUN(dom, &r, sizeof(r), NULL,
		  kvmi_encode_get_max_gfn(where, MSG_MAX, SEQ));
	if (!err)
		*gfn = r.gfn;
	return err;
}
