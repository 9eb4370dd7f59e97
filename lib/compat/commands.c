/*
 * libkvmi - lib/compat/commands.c: the 1.x command calls of <libkvmi.h>
 * (capabilities, event control, vCPU state, memory, EPT views, gfn
 * allocation): each encodes its message with the codec under the
 * domain's lock, so its sequence number comes from the domain's session,
 * and waits for the reply with kvmi1__cmd_locked.  Extension-only calls
 * fail with EOPNOTSUPP on a v6 host (kvmi1__need_ext); reads, writes and
 * page-access lists are split to the protocol's per-message limits.
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

/* run one command whose message ENC(buf, cap, seq, ...) builds */
#define RUN(err, out, cap, lenp, ENC, ...)                                     \
	do {                                                                   \
		pthread_mutex_lock(&d->lock);                                  \
		(err) = kvmi1__cmd_locked(d, d->msg,                           \
					  ENC(d->msg, sizeof(d->msg),          \
					      kvmi_session_next_seq(d->s),     \
					      __VA_ARGS__),                    \
					  (out), (cap), (lenp));               \
		pthread_mutex_unlock(&d->lock);                                \
	} while (0)

/* kvmi_encode_command_raw with the sequence number where RUN puts it */
static int encode_ext(void *buf, size_t cap, uint32_t seq, uint16_t id,
		      int has_vcpu, uint16_t vcpu, const void *body, size_t len)
{
	return kvmi_encode_command_raw(buf, cap, id, seq, has_vcpu, vcpu, body,
				       len);
}

/* an extension command: @has_vcpu/@vcpu, @body of @len bytes */
static int ext(struct kvmi1_dom *d, uint16_t id, int has_vcpu, uint16_t vcpu,
	       const void *body, size_t len, void *out, size_t cap)
{
	int err = kvmi1__need_ext(d);

	if (!err)
		RUN(err, out, cap, NULL, encode_ext, id, has_vcpu, vcpu, body,
		    len);
	return err;
}

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
	uint8_t body[8] = {enable};

	DOM(dom);
	return kvmi1__ret(ext(d, KVMI_EXT_VCPU_CONTROL_SINGLESTEP, 1, vcpu,
			      body, sizeof(body), NULL, 0));
}

/* ---- vCPU and VM state ---- */

/* a VM command without arguments (@enc builds it) */
static int vm_cmd(struct kvmi1_dom *d, int (*enc)(void *, size_t, uint32_t),
		  void *out, size_t cap)
{
	int err;

	pthread_mutex_lock(&d->lock);
	err = kvmi1__cmd_locked(
	    d, d->msg, enc(d->msg, sizeof(d->msg), kvmi_session_next_seq(d->s)),
	    out, cap, NULL);
	pthread_mutex_unlock(&d->lock);
	return err;
}

KVMI_EXPORT int kvmi_get_vcpu_count(void *dom, unsigned int *count)
{
	struct kvmi_get_guest_info_reply r = {0};
	int err;

	DOM(dom);
	err = vm_cmd(d, kvmi_encode_get_guest_info, &r, sizeof(r));
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
	uint8_t body[8] = {xcr};
	__u64 v = 0;
	int err;

	DOM(dom);
	err = ext(d, KVMI_EXT_VCPU_GET_XCR, 1, vcpu, body, sizeof(body), &v,
		  sizeof(v));
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
	DOM(dom);
	if (!buffer || size > sizeof(struct kvm_xsave))
		return kvmi1__ret(-EINVAL);
	return kvmi1__ret(
	    ext(d, KVMI_EXT_VCPU_SET_XSAVE, 1, vcpu, buffer, size, NULL, 0));
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
	/* an extended host decides from the vector itself: byte 1 is 0 */
	RUN(err, NULL, 0, NULL, kvmi_encode_inject_exception, vcpu, vector,
	    d->ext ? 0 : has_error_code(vector), error, gva);
	return kvmi1__ret(err);
}

KVMI_EXPORT int kvmi_translate_gva(void *dom, unsigned short vcpu, __u64 gva,
				   __u64 *gpa)
{
	__u64 out = 0;
	int err;

	DOM(dom);
	err = ext(d, KVMI_EXT_VCPU_TRANSLATE_GVA, 1, vcpu, &gva, sizeof(gva),
		  &out, sizeof(out));
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
	if (view && !d->ext)
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
	err = vm_cmd(d, kvmi_encode_get_max_gfn, &r, sizeof(r));
	if (!err && gfn)
		*gfn = r.gfn;
	return kvmi1__ret(err);
}

KVMI_EXPORT int kvmi_get_next_available_gfn(void *dom, unsigned long long *gfn)
{
	__u64 out = 0;
	int err;

	DOM(dom);
	err = ext(d, KVMI_EXT_GET_NEXT_AVAILABLE_GFN, 0, 0, NULL, 0, &out,
		  sizeof(out));
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
	uint64_t body[2] = {gpa, 0};

	DOM(dom);
	return kvmi1__ret(ext(d, KVMI_EXT_SET_VE_INFO_PAGE, 1, vcpu, body,
			      sizeof(body), NULL, 0));
}

KVMI_EXPORT int kvmi_disable_ve(void *dom, unsigned short vcpu)
{
	DOM(dom);
	return kvmi1__ret(
	    ext(d, KVMI_EXT_DISABLE_VE, 1, vcpu, NULL, 0, NULL, 0));
}

KVMI_EXPORT int kvmi_switch_ept_view(void *dom, unsigned short vcpu,
				     unsigned short view)
{
	uint16_t body[4] = {view};

	DOM(dom);
	return kvmi1__ret(ext(d, KVMI_EXT_SWITCH_EPT_VIEW, 1, vcpu, body,
			      sizeof(body), NULL, 0));
}

KVMI_EXPORT int kvmi_get_ept_view(void *dom, unsigned short vcpu,
				  unsigned short *view)
{
	uint16_t r[4] = {0};
	int err;

	DOM(dom);
	err = ext(d, KVMI_EXT_GET_EPT_VIEW, 1, vcpu, NULL, 0, r, sizeof(r));
	if (!err && view)
		*view = r[0];
	return kvmi1__ret(err);
}

KVMI_EXPORT int kvmi_control_ept_view(void *dom, unsigned short vcpu,
				      unsigned short view, bool visible)
{
	uint8_t body[8] = {0};

	DOM(dom);
	memcpy(body, &view, sizeof(view));
	body[2] = visible;
	return kvmi1__ret(ext(d, KVMI_EXT_CONTROL_EPT_VIEW, 1, vcpu, body,
			      sizeof(body), NULL, 0));
}

KVMI_EXPORT int kvmi_create_ept_view(void *dom, unsigned short *view)
{
	uint16_t r[4] = {0};
	int err;

	DOM(dom);
	err = ext(d, KVMI_EXT_CREATE_EPT_VIEW, 0, 0, NULL, 0, r, sizeof(r));
	if (!err && view)
		*view = r[0];
	return kvmi1__ret(err);
}

KVMI_EXPORT int kvmi_destroy_ept_view(void *dom, unsigned short view)
{
	uint16_t body[4] = {view};

	DOM(dom);
	return kvmi1__ret(ext(d, KVMI_EXT_DESTROY_EPT_VIEW, 0, 0, body,
			      sizeof(body), NULL, 0));
}

KVMI_EXPORT int kvmi_change_gfn(void *dom, unsigned short vcpu,
				unsigned short view, __u64 old_gfn,
				__u64 new_gfn)
{
	uint64_t body[3] = {view, old_gfn, new_gfn};

	DOM(dom);
	return kvmi1__ret(ext(d, KVMI_EXT_VCPU_CHANGE_GFN, 1, vcpu, body,
			      sizeof(body), NULL, 0));
}

KVMI_EXPORT int kvmi_alloc_gfn(void *dom, __u64 gfn)
{
	DOM(dom);
	return kvmi1__ret(
	    ext(d, KVMI_EXT_VCPU_ALLOC_GFN, 1, 0, &gfn, sizeof(gfn), NULL, 0));
}

KVMI_EXPORT int kvmi_free_gfn(void *dom, __u64 gfn)
{
	DOM(dom);
	return kvmi1__ret(
	    ext(d, KVMI_EXT_VCPU_FREE_GFN, 1, 0, &gfn, sizeof(gfn), NULL, 0));
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
