/*
 * libkvmi - lib/compat/commands.c: the 1.x command calls of <libkvmi.h>
 * (capabilities, event control, vCPU state, memory, EPT views, gfn
 * allocation): each encodes its message with the codec's encoder for
 * the connected host's dialect (kvmi_encode_*_d) under the domain's lock,
 * so its sequence number comes from the domain's session, and waits for
 * the reply with kvmi1__cmd_locked.  Calls the dialect has no message for
 * (kvmi-v7 ones on v6, v7-2023 ones on v7-2021) fail with EOPNOTSUPP
 * without a round trip; reads, writes and page-access lists are split to
 * the protocol's per-message limits.  What the unhook safety net must
 * undo (single-step, EPT views, gfns) is noted with kvmi1__net_hook.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "compat.h"

#define DOM(dom)                                                               \
	struct kvmi1_dom *d = (dom);                                           \
	if (!d)                                                                \
	return kvmi1__ret(-EINVAL)

/* run one command whose message ENC_d(dialect, buf, cap, seq, ...)
 * builds in the connected host's dialect (an encoder's -EOPNOTSUPP: the
 * dialect has no such message, nothing is sent) */
#define RUN(err, out, cap, lenp, ENC, ...)                                     \
	do {                                                                   \
		uint8_t msg_[KVMI_ENCODE_MAX]; /* copied by the session */     \
		pthread_mutex_lock(&d->lock);                                  \
		(err) = kvmi1__cmd_locked(                                     \
		    d, msg_,                                                   \
		    ENC##_d(kvmi1__dialect(d), msg_, sizeof(msg_),             \
			    kvmi_session_next_seq(d->s), __VA_ARGS__),         \
		    (out), (cap), (lenp));                                     \
		pthread_mutex_unlock(&d->lock);                                \
	} while (0)

/* the same for a message without arguments */
#define RUN0(err, out, cap, lenp, ENC)                                         \
	do {                                                                   \
		uint8_t msg_[KVMI_ENCODE_MAX]; /* copied by the session */     \
		pthread_mutex_lock(&d->lock);                                  \
		(err) = kvmi1__cmd_locked(                                     \
		    d, msg_,                                                   \
		    ENC##_d(kvmi1__dialect(d), msg_, sizeof(msg_),             \
			    kvmi_session_next_seq(d->s)),                      \
		    (out), (cap), (lenp));                                     \
		pthread_mutex_unlock(&d->lock);                                \
	} while (0)

KVMI_EXPORT int kvmi_check_command(void *dom, int id)
{
	DOM(dom);
	int err;

	if (id < 0 || id > UINT16_MAX)
		return kvmi1__ret(-EINVAL);
	RUN(err, NULL, 0, NULL, kvmi_encode_check_command, (uint16_t)id);
	return kvmi1__ret(err);
}

KVMI_EXPORT int kvmi_check_event(void *dom, int id)
{
	DOM(dom);
	int err;

	if (id < 0 || id > UINT16_MAX)
		return kvmi1__ret(-EINVAL);
	RUN(err, NULL, 0, NULL, kvmi_encode_check_event, (uint16_t)id);
	return kvmi1__ret(err);
}

KVMI_EXPORT int kvmi_control_events(void *dom, unsigned short vcpu, int id,
				    bool enable)
{
	DOM(dom);
	int err;

	if (id < 0 || id > UINT16_MAX)
		return kvmi1__ret(-EINVAL);
	RUN(err, NULL, 0, NULL, kvmi_encode_control_events, vcpu, (uint16_t)id,
	    enable);
	return kvmi1__ret(err);
}

KVMI_EXPORT int kvmi_control_vm_events(void *dom, int id, bool enable)
{
	DOM(dom);
	int err;

	if (id < 0 || id > UINT16_MAX)
		return kvmi1__ret(-EINVAL);
	if (id == KVMI_EVENT_UNHOOK) {
		/* the tool's own UNHOOK handling comes first; turned off,
		 * it stays on on the host for the safety net */
		d->tool_unhook = enable;
		if (!enable && d->net)
			return 0;
	}
	RUN(err, NULL, 0, NULL, kvmi_encode_control_vm_events, (uint16_t)id,
	    enable);
	return kvmi1__ret(err);
}

KVMI_EXPORT int kvmi_control_cr(void *dom, unsigned short vcpu, unsigned int cr,
				bool enable)
{
	DOM(dom);
	int err;

	RUN(err, NULL, 0, NULL, kvmi_encode_control_cr, vcpu, cr, enable);
	return kvmi1__ret(err);
}

KVMI_EXPORT int kvmi_control_msr(void *dom, unsigned short vcpu,
				 unsigned int msr, bool enable)
{
	DOM(dom);
	int err;

	RUN(err, NULL, 0, NULL, kvmi_encode_control_msr, vcpu, msr, enable);
	return kvmi1__ret(err);
}

KVMI_EXPORT int kvmi_control_singlestep(void *dom, unsigned short vcpu,
					bool enable)
{
	int err;

	DOM(dom);
	/* remembered before it is sent (turning it off twice is harmless) */
	if (enable)
		kvmi1__net_hook(d, KVMI1_HOOK_SINGLESTEP, vcpu, 0, true);
	RUN(err, NULL, 0, NULL, kvmi_encode_control_singlestep, vcpu, enable);
	if (!err && !enable)
		kvmi1__net_hook(d, KVMI1_HOOK_SINGLESTEP, vcpu, 0, false);
	return kvmi1__ret(err);
}

/* ---- vCPU and VM state ---- */

KVMI_EXPORT int kvmi_get_vcpu_count(void *dom, unsigned int *count)
{
	struct kvmi_get_guest_info_reply r = {0};
	int err;

	DOM(dom);
	RUN0(err, &r, sizeof(r), NULL, kvmi_encode_get_guest_info);
	if (!err && count)
		*count = r.vcpu_count;
	return kvmi1__ret(err);
}

KVMI_EXPORT int kvmi_get_tsc_speed(void *dom, unsigned long long int *speed)
{
	struct kvmi_get_vcpu_info_reply r = {0};
	int err;

	DOM(dom);
	RUN(err, &r, sizeof(r), NULL, kvmi_encode_get_vcpu_info, 0);
	if (!err && speed)
		*speed = r.tsc_speed;
	return kvmi1__ret(err);
}

KVMI_EXPORT int kvmi_get_cpuid(void *dom, unsigned short vcpu,
			       unsigned int function, unsigned int index,
			       unsigned int *eax, unsigned int *ebx,
			       unsigned int *ecx, unsigned int *edx)
{
	struct kvmi_get_cpuid_reply r = {0};
	int err;

	DOM(dom);
	RUN(err, &r, sizeof(r), NULL, kvmi_encode_get_cpuid, vcpu, function,
	    index);
	if (!err) {
		if (eax)
			*eax = r.eax;
		if (ebx)
			*ebx = r.ebx;
		if (ecx)
			*ecx = r.ecx;
		if (edx)
			*edx = r.edx;
	}
	return kvmi1__ret(err);
}

KVMI_EXPORT int kvmi_get_registers(void *dom, unsigned short vcpu,
				   struct kvm_regs *regs,
				   struct kvm_sregs *sregs,
				   struct kvm_msrs *msrs, unsigned int *mode)
{
	uint32_t idx[KVMI_GET_REGISTERS_MAX_MSRS];
	struct kvmi_get_registers_reply *r;
	size_t n = msrs ? msrs->nmsrs : 0, want, len = 0;
	int err;

	DOM(dom);
	if (n > KVMI_GET_REGISTERS_MAX_MSRS)
		return kvmi1__ret(-E2BIG);
	for (size_t i = 0; i < n; i++)
		idx[i] = msrs->entries[i].index;
	want = sizeof(*r) + n * sizeof(struct kvm_msr_entry);
	r = calloc(1, want);
	if (!r)
		return kvmi1__ret(-ENOMEM);
	RUN(err, r, want, &len, kvmi_encode_get_registers, vcpu, idx, n);
	if (!err && len != want) {
		kvmi1__log(KVMI_LOG_LEVEL_ERROR,
			   "%s: GET_REGISTERS reply of %zu bytes, expected %zu",
			   d->qemu.name, len, want);
		err = -E2BIG;
	}
	if (!err) {
		if (regs)
			*regs = r->regs;
		if (sregs)
			*sregs = r->sregs;
		for (size_t i = 0; i < n; i++)
			msrs->entries[i].data = r->msrs.entries[i].data;
		if (mode)
			*mode = r->mode;
	}
	free(r);
	return kvmi1__ret(err);
}

KVMI_EXPORT int kvmi_set_registers(void *dom, unsigned short vcpu,
				   const struct kvm_regs *regs)
{
	int err;

	DOM(dom);
	RUN(err, NULL, 0, NULL, kvmi_encode_set_registers, vcpu, regs);
	return kvmi1__ret(err);
}

KVMI_EXPORT int kvmi_get_xcr(void *dom, unsigned short vcpu, __u8 xcr,
			     __u64 *value)
{
	__u64 v = 0;
	int err;

	DOM(dom);
	RUN(err, &v, sizeof(v), NULL, kvmi_encode_get_xcr, vcpu, xcr);
	if (!err && value)
		*value = v;
	return kvmi1__ret(err);
}

KVMI_EXPORT int kvmi_get_xsave(void *dom, unsigned short vcpu, void *buffer,
			       size_t bufSize)
{
	size_t len = 0;
	int err;

	DOM(dom);
	if (!buffer && bufSize)
		return kvmi1__ret(-EINVAL);
	RUN(err, buffer, bufSize, &len, kvmi_encode_get_xsave, vcpu);
	if (!err && len < bufSize)
		memset((uint8_t *)buffer + len, 0, bufSize - len);
	return kvmi1__ret(err);
}

KVMI_EXPORT int kvmi_set_xsave(void *dom, unsigned short vcpu,
			       const void *buffer, size_t size)
{
	int err;

	DOM(dom);
	if (!buffer || size > sizeof(struct kvm_xsave))
		return kvmi1__ret(-EINVAL);
	RUN(err, NULL, 0, NULL, kvmi_encode_set_xsave, vcpu, buffer, size);
	return kvmi1__ret(err);
}

/* the exceptions that push an error code (#DF, #TS, #NP, #SS, #GP, #PF,
 * #AC, #CP, #VC, #SX) */
static int has_error_code(unsigned char vector)
{
	switch (vector) {
	case 8:
	case 10:
	case 11:
	case 12:
	case 13:
	case 14:
	case 17:
	case 21:
	case 29:
	case 30:
		return 1;
	default:
		return 0;
	}
}

KVMI_EXPORT int kvmi_inject_exception(void *dom, unsigned short vcpu,
				      unsigned long long int gva,
				      unsigned int error, unsigned char vector)
{
	int err;

	DOM(dom);
	/* v6 takes has_error; a kvmi-v7 host decides from the vector itself
	 * (the dialect's encoder leaves that byte 0) */
	RUN(err, NULL, 0, NULL, kvmi_encode_inject_exception, vcpu, vector,
	    has_error_code(vector), error, gva);
	return kvmi1__ret(err);
}

KVMI_EXPORT int kvmi_translate_gva(void *dom, unsigned short vcpu, __u64 gva,
				   __u64 *gpa)
{
	__u64 out = 0;
	int err;

	DOM(dom);
	RUN(err, &out, sizeof(out), NULL, kvmi_encode_translate_gva, vcpu, gva);
	if (!err && gpa)
		*gpa = out;
	return kvmi1__ret(err);
}

/* ---- memory ---- */

size_t kvmi1__access_chunk(struct kvmi_page_access_entry *e,
			   const unsigned long long *gpa,
			   const unsigned char *access, size_t done,
			   size_t count)
{
	size_t n = count - done;

	if (n > KVMI_SET_PAGE_ACCESS_MAX_ENTRIES)
		n = KVMI_SET_PAGE_ACCESS_MAX_ENTRIES;
	memset(e, 0, n * sizeof(e[0]));
	for (size_t i = 0; i < n; i++) {
		e[i].gpa = gpa[done + i];
		e[i].access = access[done + i];
	}
	return n;
}

size_t kvmi1__bitmap_chunk(struct kvmi_page_write_bitmap_entry *e,
			   const __u64 *gpa, const __u32 *bitmap, size_t done,
			   size_t count)
{
	size_t n = count - done;

	if (n > KVMI_SET_PAGE_WRITE_BITMAP_MAX_ENTRIES)
		n = KVMI_SET_PAGE_WRITE_BITMAP_MAX_ENTRIES;
	memset(e, 0, n * sizeof(e[0]));
	for (size_t i = 0; i < n; i++) {
		e[i].gpa = gpa[done + i];
		e[i].bitmap = bitmap[done + i];
	}
	return n;
}

/* bytes from @gpa to the end of its page, at most @left */
static size_t page_chunk(unsigned long long gpa, size_t left)
{
	size_t room = KVMI_PAGE_SIZE - (gpa & (KVMI_PAGE_SIZE - 1));

	return left < room ? left : room;
}

KVMI_EXPORT int kvmi_read_physical(void *dom, unsigned long long int gpa,
				   void *buffer, size_t size)
{
	uint8_t *p = buffer;
	int err = 0;

	DOM(dom);
	if (!buffer || !size)
		return kvmi1__ret(-EINVAL);
	while (!err && size) {
		size_t n = page_chunk(gpa, size), len = 0;

		RUN(err, p, n, &len, kvmi_encode_read_physical, gpa, n);
		if (!err && len < n)
			memset(p + len, 0, n - len);
		gpa += n;
		p += n;
		size -= n;
	}
	return kvmi1__ret(err);
}

KVMI_EXPORT int kvmi_write_physical(void *dom, unsigned long long int gpa,
				    const void *buffer, size_t size)
{
	const uint8_t *p = buffer;
	int err = 0;

	DOM(dom);
	if (!buffer || !size)
		return kvmi1__ret(-EINVAL);
	while (!err && size) {
		size_t n = page_chunk(gpa, size), len = 0;
		uint8_t orig[KVMI_PAGE_SIZE];
		bool read = false;

		/* the safety net remembers what a planted INT3 covers */
		if (kvmi1__net_needs_read(d, gpa, p, n)) {
			RUN(err, orig, n, &len, kvmi_encode_read_physical, gpa,
			    n);
			read = !err && len == n;
			err = 0;
		}
		/* remembered before the write is sent: the UNHOOK may come
		 * with its reply, and the net runs as soon as it is read */
		if (read)
			kvmi1__net_wrote(d, gpa, p, orig, n);
		RUN(err, NULL, 0, NULL, kvmi_encode_write_physical, gpa, p, n);
		if (!err && !read)
			kvmi1__net_wrote(d, gpa, p, NULL, n);
		gpa += n;
		p += n;
		size -= n;
	}
	return kvmi1__ret(err);
}

KVMI_EXPORT int kvmi_set_page_access(void *dom, unsigned long long int *gpa,
				     unsigned char *access,
				     unsigned short count, unsigned short view)
{
	struct kvmi_page_access_entry e[KVMI_SET_PAGE_ACCESS_MAX_ENTRIES];
	int err = 0;

	DOM(dom);
	if (!count)
		return 0;
	if (!gpa || !access)
		return kvmi1__ret(-EINVAL);
	if (view && !kvmi1__is_v7(d))
		return kvmi1__ret(-EOPNOTSUPP);
	for (size_t done = 0; !err && done < count;) {
		size_t n = kvmi1__access_chunk(e, gpa, access, done, count);

		/* before sending, as for INT3s (restoring more is harmless) */
		kvmi1__net_access(d, gpa + done, access + done, n, view);
		RUN(err, NULL, 0, NULL, kvmi_encode_set_page_access, view, e,
		    n);
		done += n;
	}
	return kvmi1__ret(err);
}

KVMI_EXPORT int kvmi_set_page_write_bitmap(void *dom, __u64 *gpa, __u32 *bitmap,
					   unsigned short count)
{
	struct kvmi_page_write_bitmap_entry
	    e[KVMI_SET_PAGE_WRITE_BITMAP_MAX_ENTRIES];
	int err = 0;

	DOM(dom);
	if (!count)
		return 0;
	if (!gpa || !bitmap)
		return kvmi1__ret(-EINVAL);
	for (size_t done = 0; !err && done < count;) {
		size_t n = kvmi1__bitmap_chunk(e, gpa, bitmap, done, count);

		RUN(err, NULL, 0, NULL, kvmi_encode_set_page_write_bitmap, 0, e,
		    n);
		done += n;
	}
	return kvmi1__ret(err);
}

KVMI_EXPORT int kvmi_get_mtrr_type(void *dom, unsigned long long int gpa,
				   unsigned char *type)
{
	struct kvmi_get_mtrr_type_reply r = {0};
	int err;

	DOM(dom);
	RUN(err, &r, sizeof(r), NULL, kvmi_encode_get_mtrr_type, 0, gpa);
	if (!err && type)
		*type = r.type;
	return kvmi1__ret(err);
}

KVMI_EXPORT int kvmi_get_maximum_gfn(void *dom, unsigned long long *gfn)
{
	struct kvmi_get_max_gfn_reply r = {0};
	int err;

	DOM(dom);
	RUN0(err, &r, sizeof(r), NULL, kvmi_encode_get_max_gfn);
	if (!err && gfn)
		*gfn = r.gfn;
	return kvmi1__ret(err);
}

KVMI_EXPORT int kvmi_get_next_available_gfn(void *dom, unsigned long long *gfn)
{
	__u64 out = 0;
	int err;

	DOM(dom);
	RUN0(err, &out, sizeof(out), NULL,
	     kvmi_encode_get_next_available_gfn);
	if (!err && gfn)
		*gfn = out;
	return kvmi1__ret(err);
}

/* no host we speak offers a mapping device (see <libkvmi.h>) */
KVMI_EXPORT int kvmi_memory_mapping(void *dom, bool enable)
{
	DOM(dom);
	return enable ? kvmi1__ret(-ENODEV) : 0;
}

KVMI_EXPORT void *kvmi_map_physical_page(void *dom, unsigned long long int gpa)
{
	(void)dom;
	(void)gpa;
	errno = ENODEV;
	return MAP_FAILED;
}

KVMI_EXPORT int kvmi_unmap_physical_page(void *dom, void *addr)
{
	(void)dom;
	return kvmi1__ret(addr ? -ENXIO : -EINVAL);
}

KVMI_EXPORT bool kvmi_remote_mapping_v2(void)
{
	return false;
}

/* ---- EPT views, #VE, gfn allocation (extension) ---- */

KVMI_EXPORT int kvmi_set_ve_info_page(void *dom, unsigned short vcpu,
				      unsigned long long int gpa)
{
	int err;

	DOM(dom);
	RUN(err, NULL, 0, NULL, kvmi_encode_set_ve_info, vcpu, gpa, 0);
	return kvmi1__ret(err);
}

KVMI_EXPORT int kvmi_disable_ve(void *dom, unsigned short vcpu)
{
	int err;

	DOM(dom);
	RUN(err, NULL, 0, NULL, kvmi_encode_disable_ve, vcpu);
	return kvmi1__ret(err);
}

KVMI_EXPORT int kvmi_switch_ept_view(void *dom, unsigned short vcpu,
				     unsigned short view)
{
	int err;

	DOM(dom);
	if (view)
		kvmi1__net_hook(d, KVMI1_HOOK_VIEW, vcpu, view, true);
	RUN(err, NULL, 0, NULL, kvmi_encode_set_ept_view, vcpu, view);
	if (!err && !view)
		kvmi1__net_hook(d, KVMI1_HOOK_VIEW, vcpu, 0, false);
	return kvmi1__ret(err);
}

KVMI_EXPORT int kvmi_get_ept_view(void *dom, unsigned short vcpu,
				  unsigned short *view)
{
	uint16_t r[4] = {0};
	int err;

	DOM(dom);
	RUN(err, r, sizeof(r), NULL, kvmi_encode_get_ept_view, vcpu);
	if (!err && view)
		*view = r[0];
	return kvmi1__ret(err);
}

KVMI_EXPORT int kvmi_control_ept_view(void *dom, unsigned short vcpu,
				      unsigned short view, bool visible)
{
	int err;

	DOM(dom);
	if (visible)
		kvmi1__net_hook(d, KVMI1_HOOK_VISIBLE, vcpu, view, true);
	RUN(err, NULL, 0, NULL, kvmi_encode_control_ept_view, vcpu, view,
	    visible);
	if (!err && !visible)
		kvmi1__net_hook(d, KVMI1_HOOK_VISIBLE, vcpu, view, false);
	return kvmi1__ret(err);
}

KVMI_EXPORT int kvmi_create_ept_view(void *dom, unsigned short *view)
{
	uint16_t r[4] = {0};
	int err;

	DOM(dom);
	RUN0(err, r, sizeof(r), NULL, kvmi_encode_create_ept_view);
	/* known only from the reply (the host destroys it at unhook too) */
	if (!err)
		kvmi1__net_hook(d, KVMI1_HOOK_CREATED, 0, r[0], true);
	if (!err && view)
		*view = r[0];
	return kvmi1__ret(err);
}

KVMI_EXPORT int kvmi_destroy_ept_view(void *dom, unsigned short view)
{
	int err;

	DOM(dom);
	RUN(err, NULL, 0, NULL, kvmi_encode_destroy_ept_view, view);
	if (!err)
		kvmi1__net_hook(d, KVMI1_HOOK_CREATED, 0, view, false);
	return kvmi1__ret(err);
}

KVMI_EXPORT int kvmi_change_gfn(void *dom, unsigned short vcpu,
				unsigned short view, __u64 old_gfn,
				__u64 new_gfn)
{
	int err;

	DOM(dom);
	RUN(err, NULL, 0, NULL, kvmi_encode_change_gfn, vcpu, view, old_gfn,
	    new_gfn);
	return kvmi1__ret(err);
}

KVMI_EXPORT int kvmi_alloc_gfn(void *dom, __u64 gfn)
{
	int err;

	DOM(dom);
	kvmi1__net_hook(d, KVMI1_HOOK_GFN, 0, gfn, true);
	RUN(err, NULL, 0, NULL, kvmi_encode_alloc_gfn, 0, gfn);
	if (err) /* not the tool's: the net must not free it */
		kvmi1__net_hook(d, KVMI1_HOOK_GFN, 0, gfn, false);
	return kvmi1__ret(err);
}

KVMI_EXPORT int kvmi_free_gfn(void *dom, __u64 gfn)
{
	int err;

	DOM(dom);
	RUN(err, NULL, 0, NULL, kvmi_encode_free_gfn, 0, gfn);
	if (!err)
		kvmi1__net_hook(d, KVMI1_HOOK_GFN, 0, gfn, false);
	return kvmi1__ret(err);
}

/* declared by the 1.x header, implemented nowhere: no message exists */
KVMI_EXPORT int kvmi_shutdown_guest(void *dom)
{
	(void)dom;
	return kvmi1__ret(-EOPNOTSUPP);
}

KVMI_EXPORT int kvmi_set_ept_page_conv(void *dom, unsigned short index,
				       unsigned long long gpa, bool sve)
{
	(void)dom;
	(void)index;
	(void)gpa;
	(void)sve;
	return kvmi1__ret(-EOPNOTSUPP);
}

KVMI_EXPORT int kvmi_get_ept_page_conv(void *dom, unsigned short index,
				       unsigned long long gpa, bool *sve)
{
	(void)dom;
	(void)index;
	(void)gpa;
	(void)sve;
	return kvmi1__ret(-EOPNOTSUPP);
}
