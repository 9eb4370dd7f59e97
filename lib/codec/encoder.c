/*
 * libkvmi - encoder.c: build whole messages a tool sends (commands and
 * event replies) into caller buffers (the host side: host_encoder.c).
 *
 * Every message is assembled from up to three parts after the header
 * (vCPU header, fixed struct, variable tail); structs are built zeroed so
 * padding always goes out as zero.  Arguments the protocol forbids are
 * refused before anything is written.  The *_d encoders take the dialect
 * (the v6 entry points are them with KVMI_DIALECT_V6): they map the
 * operation's common id to the dialect's wire id and build the dialect's
 * layout, and refuse with -EOPNOTSUPP what the dialect does not have.
 */
#include <errno.h>
#include <string.h>

#include <kvmi/codec.h>

#include "emit.h"

/* A command with an optional vCPU header, a fixed struct and a tail. */
static int cmd(void *buf, size_t cap, uint16_t id, uint32_t seq, int vcpu,
	       const void *fixed, size_t flen, const void *tail, size_t tlen)
{
	struct kvmi_vcpu_hdr vh = {.vcpu = (__u16)(vcpu < 0 ? 0 : vcpu)};
	struct kvmi__part parts[3];
	size_t n = 0;

	if (vcpu >= 0)
		parts[n++] = (struct kvmi__part){&vh, sizeof(vh)};
	parts[n++] = (struct kvmi__part){fixed, flen};
	parts[n++] = (struct kvmi__part){tail, tlen};
	return kvmi__emit(buf, cap, id, seq, KVMI_MSG_SIZE_VALUE, parts, n);
}

/* the wire id of common id @op in @d, or a negative error */
static int wire_id(enum kvmi_dialect d, unsigned op)
{
	int id;

	if ((unsigned)d >= KVMI_NUM_DIALECTS)
		return -EINVAL;
	id = kvmi_dialect_msg_to_wire(d, op);
	return id < 0 ? -EOPNOTSUPP : id;
}

/* cmd() for the operation with common id @op in dialect @d */
static int dcmd(enum kvmi_dialect d, void *buf, size_t cap, unsigned op,
		uint32_t seq, int vcpu, const void *fixed, size_t flen,
		const void *tail, size_t tlen)
{
	int id = wire_id(d, op);

	if (id < 0)
		return id;
	return cmd(buf, cap, (uint16_t)id, seq, vcpu, fixed, flen, tail, tlen);
}

static int is_v7(enum kvmi_dialect d)
{
	return d == KVMI_DIALECT_V7 || d == KVMI_DIALECT_V7_2023;
}

KVMI_EXPORT int kvmi_encode_get_version(void *buf, size_t cap, uint32_t seq)
{
	return cmd(buf, cap, KVMI_GET_VERSION, seq, -1, NULL, 0, NULL, 0);
}

KVMI_EXPORT int kvmi_encode_check_command_d(enum kvmi_dialect d, void *buf,
					    size_t cap, uint32_t seq,
					    uint16_t id)
{
	struct kvmi_check_command c = {.id = id};

	return dcmd(d, buf, cap, KVMI_CHECK_COMMAND, seq, -1, &c, sizeof(c),
		    NULL, 0);
}

KVMI_EXPORT int kvmi_encode_check_command(void *buf, size_t cap, uint32_t seq,
					  uint16_t id)
{
	return kvmi_encode_check_command_d(KVMI_DIALECT_V6, buf, cap, seq, id);
}

KVMI_EXPORT int kvmi_encode_check_event_d(enum kvmi_dialect d, void *buf,
					  size_t cap, uint32_t seq,
					  uint16_t event_id)
{
	struct kvmi_check_event c = {.id = event_id};

	return dcmd(d, buf, cap, KVMI_CHECK_EVENT, seq, -1, &c, sizeof(c), NULL,
		    0);
}

KVMI_EXPORT int kvmi_encode_check_event(void *buf, size_t cap, uint32_t seq,
					uint16_t event_id)
{
	return kvmi_encode_check_event_d(KVMI_DIALECT_V6, buf, cap, seq,
					 event_id);
}

KVMI_EXPORT int kvmi_encode_get_guest_info_d(enum kvmi_dialect d, void *buf,
					     size_t cap, uint32_t seq)
{
	return dcmd(d, buf, cap, KVMI_GET_GUEST_INFO, seq, -1, NULL, 0, NULL, 0);
}

KVMI_EXPORT int kvmi_encode_get_guest_info(void *buf, size_t cap, uint32_t seq)
{
	return kvmi_encode_get_guest_info_d(KVMI_DIALECT_V6, buf, cap, seq);
}

KVMI_EXPORT int kvmi_encode_get_vcpu_info_d(enum kvmi_dialect d, void *buf,
					    size_t cap, uint32_t seq,
					    uint16_t vcpu)
{
	return dcmd(d, buf, cap, KVMI_GET_VCPU_INFO, seq, vcpu, NULL, 0, NULL,
		    0);
}

KVMI_EXPORT int kvmi_encode_get_vcpu_info(void *buf, size_t cap, uint32_t seq,
					  uint16_t vcpu)
{
	return kvmi_encode_get_vcpu_info_d(KVMI_DIALECT_V6, buf, cap, seq, vcpu);
}

KVMI_EXPORT int kvmi_encode_pause_vcpu_d(enum kvmi_dialect d, void *buf,
					 size_t cap, uint32_t seq,
					 uint16_t vcpu, int wait)
{
	struct kvmi_pause_vcpu c = {.wait = wait ? 1 : 0};
	struct kvmi_v12_vm_pause_vcpu c12 = {.vcpu = vcpu,
					     .wait = wait ? 1 : 0};

	if (d == KVMI_DIALECT_V12)
		return dcmd(d, buf, cap, KVMI_PAUSE_VCPU, seq, -1, &c12,
			    sizeof(c12), NULL, 0);
	return dcmd(d, buf, cap, KVMI_PAUSE_VCPU, seq, vcpu, &c, sizeof(c),
		    NULL, 0);
}

KVMI_EXPORT int kvmi_encode_pause_vcpu(void *buf, size_t cap, uint32_t seq,
				       uint16_t vcpu, int wait)
{
	return kvmi_encode_pause_vcpu_d(KVMI_DIALECT_V6, buf, cap, seq, vcpu,
					wait);
}

/* the event @id of @d (a wire id) is a VM event CONTROL_VM_EVENTS takes */
static int is_vm_event(enum kvmi_dialect d, unsigned int id)
{
	int common = kvmi_dialect_event_from_wire(d, id);

	if (d == KVMI_DIALECT_V12)
		return common == KVMI_EVENT_UNHOOK;
	return common == KVMI_EVENT_UNHOOK || common == KVMI_EVENT_CREATE_VCPU ||
	       (is_v7(d) && common == KVMI_V7_EVENT_CMD_ERROR);
}

/* ... a vCPU event CONTROL_EVENTS takes (v12: not PAUSE nor TRAP, which
 * only commands produce) */
static int is_vcpu_event(enum kvmi_dialect d, unsigned int id)
{
	int common = kvmi_dialect_event_from_wire(d, id);

	if (common < 0 || common == KVMI_EVENT_UNHOOK ||
	    common == KVMI_EVENT_CREATE_VCPU)
		return 0;
	if (d == KVMI_DIALECT_V12)
		return common != KVMI_EVENT_PAUSE_VCPU &&
		       common != KVMI_EVENT_TRAP;
	return 1;
}

KVMI_EXPORT int kvmi_encode_control_vm_events_d(enum kvmi_dialect d,
						void *buf, size_t cap,
						uint32_t seq,
						uint16_t event_id, int enable)
{
	struct kvmi_control_vm_events c = {.event_id = event_id,
					   .enable = enable ? 1 : 0};

	if ((unsigned)d < KVMI_NUM_DIALECTS && !is_vm_event(d, event_id))
		return -EINVAL;
	return dcmd(d, buf, cap, KVMI_CONTROL_VM_EVENTS, seq, -1, &c,
		    sizeof(c), NULL, 0);
}

KVMI_EXPORT int kvmi_encode_control_vm_events(void *buf, size_t cap,
					      uint32_t seq, uint16_t event_id,
					      int enable)
{
	return kvmi_encode_control_vm_events_d(KVMI_DIALECT_V6, buf, cap, seq,
					       event_id, enable);
}

KVMI_EXPORT int kvmi_encode_control_events_d(enum kvmi_dialect d, void *buf,
					     size_t cap, uint32_t seq,
					     uint16_t vcpu, uint16_t event_id,
					     int enable)
{
	struct kvmi_control_events c = {.event_id = event_id,
					.enable = enable ? 1 : 0};

	if ((unsigned)d < KVMI_NUM_DIALECTS && !is_vcpu_event(d, event_id))
		return -EINVAL;
	return dcmd(d, buf, cap, KVMI_CONTROL_EVENTS, seq, vcpu, &c, sizeof(c),
		    NULL, 0);
}

KVMI_EXPORT int kvmi_encode_control_events(void *buf, size_t cap, uint32_t seq,
					   uint16_t vcpu, uint16_t event_id,
					   int enable)
{
	return kvmi_encode_control_events_d(KVMI_DIALECT_V6, buf, cap, seq,
					    vcpu, event_id, enable);
}

KVMI_EXPORT int kvmi_encode_control_cr_d(enum kvmi_dialect d, void *buf,
					 size_t cap, uint32_t seq,
					 uint16_t vcpu, uint32_t cr, int enable)
{
	struct kvmi_control_cr c = {.enable = enable ? 1 : 0, .cr = cr};
	struct kvmi_v12_vcpu_control_cr c12 = {.cr = (__u8)cr,
					       .enable = enable ? 1 : 0};

	if (cr != 0 && cr != 3 && cr != 4)
		return -EINVAL;
	if (d == KVMI_DIALECT_V12)
		return dcmd(d, buf, cap, KVMI_CONTROL_CR, seq, vcpu, &c12,
			    sizeof(c12), NULL, 0);
	return dcmd(d, buf, cap, KVMI_CONTROL_CR, seq, vcpu, &c, sizeof(c),
		    NULL, 0);
}

KVMI_EXPORT int kvmi_encode_control_cr(void *buf, size_t cap, uint32_t seq,
				       uint16_t vcpu, uint32_t cr, int enable)
{
	return kvmi_encode_control_cr_d(KVMI_DIALECT_V6, buf, cap, seq, vcpu,
					cr, enable);
}

static int msr_ok(uint32_t msr)
{
	return msr <= 0x1fff || (msr >= 0xc0000000u && msr <= 0xc0001fffu);
}

KVMI_EXPORT int kvmi_encode_control_msr_d(enum kvmi_dialect d, void *buf,
					  size_t cap, uint32_t seq,
					  uint16_t vcpu, uint32_t msr,
					  int enable)
{
	struct kvmi_control_msr c = {.enable = enable ? 1 : 0, .msr = msr};

	if (!msr_ok(msr))
		return -EINVAL;
	return dcmd(d, buf, cap, KVMI_CONTROL_MSR, seq, vcpu, &c, sizeof(c),
		    NULL, 0);
}

KVMI_EXPORT int kvmi_encode_control_msr(void *buf, size_t cap, uint32_t seq,
					uint16_t vcpu, uint32_t msr,
					int enable)
{
	return kvmi_encode_control_msr_d(KVMI_DIALECT_V6, buf, cap, seq, vcpu,
					 msr, enable);
}

KVMI_EXPORT int kvmi_encode_get_registers_d(enum kvmi_dialect d, void *buf,
					    size_t cap, uint32_t seq,
					    uint16_t vcpu, const uint32_t *msrs,
					    size_t nmsrs)
{
	struct kvmi_get_registers c = {0};

	if (nmsrs && !msrs)
		return -EINVAL;
	if (nmsrs > KVMI_GET_REGISTERS_MAX_MSRS)
		return KVMI_E_TOO_MANY;
	c.nmsrs = (__u16)nmsrs;
	return dcmd(d, buf, cap, KVMI_GET_REGISTERS, seq, vcpu, &c, sizeof(c),
		    msrs, nmsrs * sizeof(uint32_t));
}

KVMI_EXPORT int kvmi_encode_get_registers(void *buf, size_t cap, uint32_t seq,
					  uint16_t vcpu, const uint32_t *msrs,
					  size_t nmsrs)
{
	return kvmi_encode_get_registers_d(KVMI_DIALECT_V6, buf, cap, seq, vcpu,
					   msrs, nmsrs);
}

KVMI_EXPORT int kvmi_encode_set_registers_d(enum kvmi_dialect d, void *buf,
					    size_t cap, uint32_t seq,
					    uint16_t vcpu,
					    const struct kvm_regs *regs)
{
	if (!regs)
		return -EINVAL;
	return dcmd(d, buf, cap, KVMI_SET_REGISTERS, seq, vcpu, regs,
		    sizeof(*regs), NULL, 0);
}

KVMI_EXPORT int kvmi_encode_set_registers(void *buf, size_t cap, uint32_t seq,
					  uint16_t vcpu,
					  const struct kvm_regs *regs)
{
	return kvmi_encode_set_registers_d(KVMI_DIALECT_V6, buf, cap, seq, vcpu,
					   regs);
}

KVMI_EXPORT int kvmi_encode_get_cpuid_d(enum kvmi_dialect d, void *buf,
					size_t cap, uint32_t seq, uint16_t vcpu,
					uint32_t function, uint32_t index)
{
	struct kvmi_get_cpuid c = {.function = function, .index = index};

	return dcmd(d, buf, cap, KVMI_GET_CPUID, seq, vcpu, &c, sizeof(c), NULL,
		    0);
}

KVMI_EXPORT int kvmi_encode_get_cpuid(void *buf, size_t cap, uint32_t seq,
				      uint16_t vcpu, uint32_t function,
				      uint32_t index)
{
	return kvmi_encode_get_cpuid_d(KVMI_DIALECT_V6, buf, cap, seq, vcpu,
				       function, index);
}

KVMI_EXPORT int kvmi_encode_get_xsave_d(enum kvmi_dialect d, void *buf,
					size_t cap, uint32_t seq, uint16_t vcpu)
{
	return dcmd(d, buf, cap, KVMI_GET_XSAVE, seq, vcpu, NULL, 0, NULL, 0);
}

KVMI_EXPORT int kvmi_encode_get_xsave(void *buf, size_t cap, uint32_t seq,
				      uint16_t vcpu)
{
	return kvmi_encode_get_xsave_d(KVMI_DIALECT_V6, buf, cap, seq, vcpu);
}

static int page_ok(uint64_t gpa, size_t size)
{
	return size > 0 && size <= KVMI_PAGE_SIZE &&
	       (gpa & (KVMI_PAGE_SIZE - 1)) + size <= KVMI_PAGE_SIZE;
}

/* READ/WRITE_PHYSICAL: {gpa, size} (v12: a u16 size and padding) */
static int physical(enum kvmi_dialect d, void *buf, size_t cap, unsigned op,
		    uint32_t seq, uint64_t gpa, const void *data, size_t size)
{
	struct kvmi_read_physical c = {.gpa = gpa, .size = size};
	struct kvmi_v12_vm_read_physical c12 = {.gpa = gpa,
						.size = (__u16)size};

	if (op == KVMI_WRITE_PHYSICAL && !data)
		return -EINVAL;
	if (!page_ok(gpa, size))
		return KVMI_E_PAGE_CROSS;
	if (d == KVMI_DIALECT_V12)
		return dcmd(d, buf, cap, op, seq, -1, &c12, sizeof(c12), data,
			    data ? size : 0);
	return dcmd(d, buf, cap, op, seq, -1, &c, sizeof(c), data,
		    data ? size : 0);
}

KVMI_EXPORT int kvmi_encode_read_physical_d(enum kvmi_dialect d, void *buf,
					    size_t cap, uint32_t seq,
					    uint64_t gpa, size_t size)
{
	return physical(d, buf, cap, KVMI_READ_PHYSICAL, seq, gpa, NULL, size);
}

KVMI_EXPORT int kvmi_encode_read_physical(void *buf, size_t cap, uint32_t seq,
					  uint64_t gpa, size_t size)
{
	return kvmi_encode_read_physical_d(KVMI_DIALECT_V6, buf, cap, seq, gpa,
					   size);
}

KVMI_EXPORT int kvmi_encode_write_physical_d(enum kvmi_dialect d, void *buf,
					     size_t cap, uint32_t seq,
					     uint64_t gpa, const void *data,
					     size_t size)
{
	return physical(d, buf, cap, KVMI_WRITE_PHYSICAL, seq, gpa, data, size);
}

KVMI_EXPORT int kvmi_encode_write_physical(void *buf, size_t cap, uint32_t seq,
					   uint64_t gpa, const void *data,
					   size_t size)
{
	return kvmi_encode_write_physical_d(KVMI_DIALECT_V6, buf, cap, seq, gpa,
					    data, size);
}

KVMI_EXPORT int kvmi_encode_inject_exception_d(enum kvmi_dialect d, void *buf,
					       size_t cap, uint32_t seq,
					       uint16_t vcpu, uint8_t nr,
					       int has_error,
					       uint32_t error_code,
					       uint64_t address)
{
	struct kvmi_inject_exception c = {.nr = nr,
					  .error_code = error_code,
					  .address = address};

	/* kvmi-v7 and v12: byte 1 is padding, the host decides */
	if (d == KVMI_DIALECT_V6)
		c.has_error = has_error ? 1 : 0;
	return dcmd(d, buf, cap, KVMI_INJECT_EXCEPTION, seq, vcpu, &c,
		    sizeof(c), NULL, 0);
}

KVMI_EXPORT int kvmi_encode_inject_exception(void *buf, size_t cap,
					     uint32_t seq, uint16_t vcpu,
					     uint8_t nr, int has_error,
					     uint32_t error_code,
					     uint64_t address)
{
	return kvmi_encode_inject_exception_d(KVMI_DIALECT_V6, buf, cap, seq,
					      vcpu, nr, has_error, error_code,
					      address);
}

/* GET_PAGE_ACCESS / GET_PAGE_WRITE_BITMAP: view, count, gpa list */
static int gpa_list(void *buf, size_t cap, uint16_t id, uint32_t seq,
		    uint16_t view, const uint64_t *gpas, size_t count)
{
	struct kvmi_get_page_access c = {.view = view};

	if (!gpas || count == 0)
		return -EINVAL;
	if (count > KVMI_GET_PAGE_ACCESS_MAX_GPAS)
		return KVMI_E_TOO_MANY;
	c.count = (__u16)count;
	return cmd(buf, cap, id, seq, -1, &c, sizeof(c), gpas,
		   count * sizeof(uint64_t));
}

KVMI_EXPORT int kvmi_encode_get_page_access(void *buf, size_t cap,
					    uint32_t seq, uint16_t view,
					    const uint64_t *gpas, size_t count)
{
	return gpa_list(buf, cap, KVMI_GET_PAGE_ACCESS, seq, view, gpas, count);
}

KVMI_EXPORT int kvmi_encode_get_page_write_bitmap(void *buf, size_t cap,
						  uint32_t seq, uint16_t view,
						  const uint64_t *gpas,
						  size_t count)
{
	return gpa_list(buf, cap, KVMI_GET_PAGE_WRITE_BITMAP, seq, view, gpas,
			count);
}

/*
 * SET_PAGE_ACCESS / SET_PAGE_WRITE_BITMAP: 8-byte head then 16-byte
 * entries rebuilt one by one so the caller's padding never leaks out.
 * @head is the dialect's head with the count filled in.
 */
static int entry_list(void *buf, size_t cap, int id, uint32_t seq,
		      const void *head, const void *entries, size_t count,
		      int bitmap)
{
	const size_t esz = sizeof(struct kvmi_page_access_entry);
	const size_t hsz = sizeof(struct kvmi_set_page_access);
	size_t payload = hsz + count * esz;
	struct kvmi_msg_hdr hdr = {.seq = seq};
	__u8 *out = buf;

	if (id < 0)
		return id;
	if (!buf || !entries || count == 0)
		return -EINVAL;
	if (count > KVMI_SET_PAGE_ACCESS_MAX_ENTRIES)
		return KVMI_E_TOO_MANY;
	if (HDR_SIZE + payload > cap)
		return KVMI_E_NOSPACE;
	if (!bitmap) {
		const struct kvmi_page_access_entry *e = entries;

		for (size_t i = 0; i < count; i++)
			if (e[i].access & ~KVMI_PAGE_ACCESS_RWX)
				return -EINVAL;
	}
	hdr.id = (__u16)id;
	hdr.size = (__u16)payload;
	memcpy(out, &hdr, HDR_SIZE);
	memcpy(out + HDR_SIZE, head, hsz);
	out += HDR_SIZE + hsz;
	for (size_t i = 0; i < count; i++, out += esz) {
		if (bitmap) {
			const struct kvmi_page_write_bitmap_entry *s =
				(const struct kvmi_page_write_bitmap_entry *)
					entries + i;
			struct kvmi_page_write_bitmap_entry e = {
				.gpa = s->gpa, .bitmap = s->bitmap};

			memcpy(out, &e, esz);
		} else {
			const struct kvmi_page_access_entry *s =
				(const struct kvmi_page_access_entry *)entries +
				i;
			struct kvmi_page_access_entry e = {.gpa = s->gpa,
							   .access = s->access};

			memcpy(out, &e, esz);
		}
	}
	return (int)(HDR_SIZE + payload);
}

KVMI_EXPORT int
kvmi_encode_set_page_access_d(enum kvmi_dialect d, void *buf, size_t cap,
			      uint32_t seq, uint16_t view,
			      const struct kvmi_page_access_entry *entries,
			      size_t count)
{
	struct kvmi_set_page_access head = {.view = view,
					    .count = (__u16)count};
	struct kvmi_v12_vm_set_page_access head12 = {.count = (__u16)count};

	if (d == KVMI_DIALECT_V12) {
		if (view)
			return -EINVAL; /* v12 has no views */
		return entry_list(buf, cap, wire_id(d, KVMI_SET_PAGE_ACCESS),
				  seq, &head12, entries, count, 0);
	}
	return entry_list(buf, cap, wire_id(d, KVMI_SET_PAGE_ACCESS), seq,
			  &head, entries, count, 0);
}

KVMI_EXPORT int
kvmi_encode_set_page_access(void *buf, size_t cap, uint32_t seq, uint16_t view,
			    const struct kvmi_page_access_entry *entries,
			    size_t count)
{
	return kvmi_encode_set_page_access_d(KVMI_DIALECT_V6, buf, cap, seq,
					     view, entries, count);
}

KVMI_EXPORT int kvmi_encode_set_page_write_bitmap_d(
	enum kvmi_dialect d, void *buf, size_t cap, uint32_t seq,
	uint16_t view, const struct kvmi_page_write_bitmap_entry *entries,
	size_t count)
{
	struct kvmi_set_page_write_bitmap head = {.view = view,
						  .count = (__u16)count};

	if (is_v7(d) && view)
		return -EINVAL; /* kvmi-v7: padding, view 0 implied */
	return entry_list(buf, cap, wire_id(d, KVMI_SET_PAGE_WRITE_BITMAP),
			  seq, &head, entries, count, 1);
}

KVMI_EXPORT int kvmi_encode_set_page_write_bitmap(
	void *buf, size_t cap, uint32_t seq, uint16_t view,
	const struct kvmi_page_write_bitmap_entry *entries, size_t count)
{
	return kvmi_encode_set_page_write_bitmap_d(KVMI_DIALECT_V6, buf, cap,
						   seq, view, entries, count);
}

KVMI_EXPORT int kvmi_encode_get_map_token_d(enum kvmi_dialect d, void *buf,
					    size_t cap, uint32_t seq)
{
	return dcmd(d, buf, cap, KVMI_GET_MAP_TOKEN, seq, -1, NULL, 0, NULL, 0);
}

KVMI_EXPORT int kvmi_encode_get_map_token(void *buf, size_t cap, uint32_t seq)
{
	return kvmi_encode_get_map_token_d(KVMI_DIALECT_V6, buf, cap, seq);
}

KVMI_EXPORT int kvmi_encode_get_mtrr_type_d(enum kvmi_dialect d, void *buf,
					    size_t cap, uint32_t seq,
					    uint16_t vcpu, uint64_t gpa)
{
	struct kvmi_get_mtrr_type c = {.gpa = gpa};

	return dcmd(d, buf, cap, KVMI_GET_MTRR_TYPE, seq, vcpu, &c, sizeof(c),
		    NULL, 0);
}

KVMI_EXPORT int kvmi_encode_get_mtrr_type(void *buf, size_t cap, uint32_t seq,
					  uint16_t vcpu, uint64_t gpa)
{
	return kvmi_encode_get_mtrr_type_d(KVMI_DIALECT_V6, buf, cap, seq, vcpu,
					   gpa);
}

KVMI_EXPORT int kvmi_encode_control_spp_d(enum kvmi_dialect d, void *buf,
					  size_t cap, uint32_t seq, int enable)
{
	struct kvmi_control_spp c = {.enable = enable ? 1 : 0};

	return dcmd(d, buf, cap, KVMI_CONTROL_SPP, seq, -1, &c, sizeof(c), NULL,
		    0);
}

KVMI_EXPORT int kvmi_encode_control_spp(void *buf, size_t cap, uint32_t seq,
					int enable)
{
	return kvmi_encode_control_spp_d(KVMI_DIALECT_V6, buf, cap, seq, enable);
}

KVMI_EXPORT int kvmi_encode_control_cmd_response_d(enum kvmi_dialect d,
						   void *buf, size_t cap,
						   uint32_t seq, int enable,
						   int now, uint8_t flags)
{
	struct kvmi_v7_vm_control_cmd_response c = {
		.enable = enable ? 1 : 0, .now = now ? 1 : 0, .flags = flags};

	if ((!is_v7(d) && flags) ||
	    (flags & ~KVMI_V7_CMD_RESPONSE_ERROR_EVENTS))
		return -EINVAL; /* v6: padding; only bit 0 is defined */
	return dcmd(d, buf, cap, KVMI_CONTROL_CMD_RESPONSE, seq, -1, &c,
		    sizeof(c), NULL, 0);
}

KVMI_EXPORT int kvmi_encode_control_cmd_response(void *buf, size_t cap,
						 uint32_t seq, int enable,
						 int now)
{
	return kvmi_encode_control_cmd_response_d(KVMI_DIALECT_V6, buf, cap,
						  seq, enable, now, 0);
}

KVMI_EXPORT int kvmi_encode_get_max_gfn_d(enum kvmi_dialect d, void *buf,
					  size_t cap, uint32_t seq)
{
	return dcmd(d, buf, cap, KVMI_GET_MAX_GFN, seq, -1, NULL, 0, NULL, 0);
}

KVMI_EXPORT int kvmi_encode_get_max_gfn(void *buf, size_t cap, uint32_t seq)
{
	return kvmi_encode_get_max_gfn_d(KVMI_DIALECT_V6, buf, cap, seq);
}

/* ---- kvmi-v7 / v12 commands without a v6 counterpart ---- */

KVMI_EXPORT int kvmi_encode_set_ve_info_d(enum kvmi_dialect d, void *buf,
					  size_t cap, uint32_t seq,
					  uint16_t vcpu, uint64_t gpa,
					  int trigger_vmexit)
{
	struct kvmi_v7_vcpu_set_ve_info c = {
		.gpa = gpa, .trigger_vmexit = trigger_vmexit ? 1 : 0};

	return dcmd(d, buf, cap, KVMI_V7_VCPU_SET_VE_INFO, seq, vcpu, &c,
		    sizeof(c), NULL, 0);
}

KVMI_EXPORT int kvmi_encode_set_page_sve_d(enum kvmi_dialect d, void *buf,
					   size_t cap, uint32_t seq,
					   uint16_t view, uint64_t gpa,
					   int suppress)
{
	struct kvmi_v7_vm_set_page_sve c = {
		.view = view, .suppress = suppress ? 1 : 0, .gpa = gpa};

	return dcmd(d, buf, cap, KVMI_V7_VM_SET_PAGE_SVE, seq, -1, &c,
		    sizeof(c), NULL, 0);
}

KVMI_EXPORT int kvmi_encode_get_next_available_gfn_d(enum kvmi_dialect d,
						     void *buf, size_t cap,
						     uint32_t seq)
{
	return dcmd(d, buf, cap, KVMI_V7_VM_GET_NEXT_AVAILABLE_GFN, seq, -1,
		    NULL, 0, NULL, 0);
}

/* SET_EPT_VIEW, GET/DESTROY_EPT_VIEW: {u16 view; padding} or nothing */
static int view_cmd(enum kvmi_dialect d, void *buf, size_t cap, unsigned op,
		    uint32_t seq, int vcpu, int view)
{
	struct kvmi_v7_vcpu_set_ept_view c = {.view = (__u16)view};

	return dcmd(d, buf, cap, op, seq, vcpu, &c, view < 0 ? 0 : sizeof(c),
		    NULL, 0);
}

KVMI_EXPORT int kvmi_encode_set_ept_view_d(enum kvmi_dialect d, void *buf,
					   size_t cap, uint32_t seq,
					   uint16_t vcpu, uint16_t view)
{
	return view_cmd(d, buf, cap, KVMI_V7_VCPU_SET_EPT_VIEW, seq, vcpu,
			view);
}

KVMI_EXPORT int kvmi_encode_disable_ve_d(enum kvmi_dialect d, void *buf,
					 size_t cap, uint32_t seq, uint16_t vcpu)
{
	return view_cmd(d, buf, cap, KVMI_V7_VCPU_DISABLE_VE, seq, vcpu, -1);
}

KVMI_EXPORT int kvmi_encode_get_ept_view_d(enum kvmi_dialect d, void *buf,
					   size_t cap, uint32_t seq,
					   uint16_t vcpu)
{
	return view_cmd(d, buf, cap, KVMI_V7_VCPU_GET_EPT_VIEW, seq, vcpu, -1);
}

KVMI_EXPORT int kvmi_encode_create_ept_view_d(enum kvmi_dialect d, void *buf,
					      size_t cap, uint32_t seq)
{
	return view_cmd(d, buf, cap, KVMI_V7_VM_CREATE_EPT_VIEW, seq, -1, -1);
}

KVMI_EXPORT int kvmi_encode_destroy_ept_view_d(enum kvmi_dialect d, void *buf,
					       size_t cap, uint32_t seq,
					       uint16_t view)
{
	return view_cmd(d, buf, cap, KVMI_V7_VM_DESTROY_EPT_VIEW, seq, -1,
			view);
}

/* TRANSLATE_GVA, QUERY_PHYSICAL, ALLOC/FREE_GFN: one u64 */
static int u64_cmd(enum kvmi_dialect d, void *buf, size_t cap, unsigned op,
		   uint32_t seq, int vcpu, uint64_t v)
{
	return dcmd(d, buf, cap, op, seq, vcpu, &v, sizeof(v), NULL, 0);
}

KVMI_EXPORT int kvmi_encode_translate_gva_d(enum kvmi_dialect d, void *buf,
					    size_t cap, uint32_t seq,
					    uint16_t vcpu, uint64_t gva)
{
	return u64_cmd(d, buf, cap, KVMI_V7_VCPU_TRANSLATE_GVA, seq, vcpu, gva);
}

KVMI_EXPORT int kvmi_encode_query_physical_d(enum kvmi_dialect d, void *buf,
					     size_t cap, uint32_t seq,
					     uint64_t gfn)
{
	return u64_cmd(d, buf, cap, KVMI_V7_VM_QUERY_PHYSICAL, seq, -1, gfn);
}

KVMI_EXPORT int kvmi_encode_alloc_gfn_d(enum kvmi_dialect d, void *buf,
					size_t cap, uint32_t seq, uint16_t vcpu,
					uint64_t gfn)
{
	return u64_cmd(d, buf, cap, KVMI_V7_VCPU_ALLOC_GFN, seq, vcpu, gfn);
}

KVMI_EXPORT int kvmi_encode_free_gfn_d(enum kvmi_dialect d, void *buf,
				       size_t cap, uint32_t seq, uint16_t vcpu,
				       uint64_t gfn)
{
	return u64_cmd(d, buf, cap, KVMI_V7_VCPU_FREE_GFN, seq, vcpu, gfn);
}

KVMI_EXPORT int kvmi_encode_control_ept_view_d(enum kvmi_dialect d, void *buf,
					       size_t cap, uint32_t seq,
					       uint16_t vcpu, uint16_t view,
					       int visible)
{
	struct kvmi_v7_vcpu_control_ept_view c = {.view = view,
						  .visible = visible ? 1 : 0};

	return dcmd(d, buf, cap, KVMI_V7_VCPU_CONTROL_EPT_VIEW, seq, vcpu, &c,
		    sizeof(c), NULL, 0);
}

KVMI_EXPORT int kvmi_encode_get_xcr_d(enum kvmi_dialect d, void *buf,
				      size_t cap, uint32_t seq, uint16_t vcpu,
				      uint8_t xcr)
{
	struct kvmi_v7_vcpu_get_xcr c = {.xcr = xcr};

	return dcmd(d, buf, cap, KVMI_V7_VCPU_GET_XCR, seq, vcpu, &c, sizeof(c),
		    NULL, 0);
}

KVMI_EXPORT int kvmi_encode_set_xsave_d(enum kvmi_dialect d, void *buf,
					size_t cap, uint32_t seq, uint16_t vcpu,
					const void *area, size_t len)
{
	if ((len && !area) || len > sizeof(struct kvm_xsave))
		return -EINVAL;
	return dcmd(d, buf, cap, KVMI_V7_VCPU_SET_XSAVE, seq, vcpu, NULL, 0,
		    area, len);
}

KVMI_EXPORT int kvmi_encode_change_gfn_d(enum kvmi_dialect d, void *buf,
					 size_t cap, uint32_t seq,
					 uint16_t vcpu, uint16_t view,
					 uint64_t old_gfn, uint64_t new_gfn)
{
	struct kvmi_v7_vcpu_change_gfn c = {.old_gfn = old_gfn,
					    .new_gfn = new_gfn};
	struct kvmi_v7_2023_vcpu_change_gfn c23 = {
		.view = view, .old_gfn = old_gfn, .new_gfn = new_gfn};

	if (d == KVMI_DIALECT_V7_2023)
		return dcmd(d, buf, cap, KVMI_V7_VCPU_CHANGE_GFN, seq, vcpu,
			    &c23, sizeof(c23), NULL, 0);
	if (view)
		return -EINVAL; /* v7-2021: the vCPU's current view */
	return dcmd(d, buf, cap, KVMI_V7_VCPU_CHANGE_GFN, seq, vcpu, &c,
		    sizeof(c), NULL, 0);
}

/* CONTROL_SINGLESTEP, CONTROL_CLEANUP: {u8 enable; padding[7]} */
KVMI_EXPORT int kvmi_encode_control_singlestep_d(enum kvmi_dialect d,
						 void *buf, size_t cap,
						 uint32_t seq, uint16_t vcpu,
						 int enable)
{
	struct kvmi_v7_vcpu_control_singlestep c = {.enable = enable ? 1 : 0};

	return dcmd(d, buf, cap, KVMI_V7_VCPU_CONTROL_SINGLESTEP, seq, vcpu,
		    &c, sizeof(c), NULL, 0);
}

KVMI_EXPORT int kvmi_encode_control_cleanup_d(enum kvmi_dialect d, void *buf,
					      size_t cap, uint32_t seq,
					      int enable)
{
	struct kvmi_v12_vm_control_cleanup c = {.enable = enable ? 1 : 0};

	return dcmd(d, buf, cap, KVMI_COMMON_VM_CONTROL_CLEANUP, seq, -1, &c,
		    sizeof(c), NULL, 0);
}

KVMI_EXPORT int kvmi_encode_command_raw(void *buf, size_t cap, uint16_t id,
					uint32_t seq, int has_vcpu,
					uint16_t vcpu, const void *body,
					size_t body_len)
{
	if (body_len && !body)
		return -EINVAL;
	return cmd(buf, cap, id, seq, has_vcpu ? vcpu : -1, NULL, 0, body,
		   body_len);
}

/* ---- event replies ---- */

/* @action is one event @event_id (a wire id of @d) accepts, and the event
 * is one a tool replies to */
static int action_ok(enum kvmi_dialect d, unsigned int event_id,
		     unsigned int action)
{
	int common = kvmi_dialect_event_from_wire(d, event_id);

	if (common < 0 || kvmi_event_replied_d(d, event_id) != 1)
		return 0;
	if (action == KVMI_EVENT_ACTION_CONTINUE ||
	    action == KVMI_EVENT_ACTION_CRASH)
		return 1;
	if (action == KVMI_EVENT_ACTION_RETRY)
		return common == KVMI_EVENT_BREAKPOINT ||
		       common == KVMI_EVENT_PF || common == KVMI_EVENT_DESCRIPTOR;
	return 0;
}

static int event_reply(enum kvmi_dialect d, void *buf, size_t cap,
		       uint32_t seq, uint16_t vcpu, int event_id,
		       uint8_t action, const void *tail, size_t tlen)
{
	struct kvmi_vcpu_hdr vh = {.vcpu = vcpu};
	struct kvmi_event_reply r = {.action = action,
				     .event = (__u8)event_id};
	struct kvmi__part parts[3] = {
		{&vh, sizeof(vh)}, {&r, sizeof(r)}, {tail, tlen}};
	int id = wire_id(d, KVMI_EVENT_REPLY);

	if (id < 0)
		return id;
	if (event_id < 0 || !action_ok(d, (unsigned)event_id, action))
		return -EINVAL;
	return kvmi__emit(buf, cap, (uint16_t)id, seq, KVMI_MSG_SIZE_VALUE, parts, 3);
}

KVMI_EXPORT int kvmi_encode_event_reply_d(enum kvmi_dialect d, void *buf,
					  size_t cap, uint32_t seq,
					  uint16_t vcpu, uint8_t event_id,
					  uint8_t action)
{
	if (kvmi_event_reply_data_size_d(d, event_id) != 0)
		return -EINVAL; /* CR, MSR, PF have their own encoders */
	return event_reply(d, buf, cap, seq, vcpu, event_id, action, NULL, 0);
}

KVMI_EXPORT int kvmi_encode_event_reply(void *buf, size_t cap, uint32_t seq,
					uint16_t vcpu, uint8_t event_id,
					uint8_t action)
{
	return kvmi_encode_event_reply_d(KVMI_DIALECT_V6, buf, cap, seq, vcpu,
					 event_id, action);
}

KVMI_EXPORT int kvmi_encode_event_reply_cr_d(enum kvmi_dialect d, void *buf,
					     size_t cap, uint32_t seq,
					     uint16_t vcpu, uint8_t action,
					     uint64_t new_val)
{
	struct kvmi_event_cr_reply r = {.new_val = new_val};

	return event_reply(d, buf, cap, seq, vcpu,
			   kvmi_dialect_event_to_wire(d, KVMI_EVENT_CR), action,
			   &r, sizeof(r));
}

KVMI_EXPORT int kvmi_encode_event_reply_cr(void *buf, size_t cap,
					   uint32_t seq, uint16_t vcpu,
					   uint8_t action, uint64_t new_val)
{
	return kvmi_encode_event_reply_cr_d(KVMI_DIALECT_V6, buf, cap, seq,
					    vcpu, action, new_val);
}

KVMI_EXPORT int kvmi_encode_event_reply_msr_d(enum kvmi_dialect d, void *buf,
					      size_t cap, uint32_t seq,
					      uint16_t vcpu, uint8_t action,
					      uint64_t new_val)
{
	struct kvmi_event_msr_reply r = {.new_val = new_val};

	return event_reply(d, buf, cap, seq, vcpu,
			   kvmi_dialect_event_to_wire(d, KVMI_EVENT_MSR),
			   action, &r, sizeof(r));
}

KVMI_EXPORT int kvmi_encode_event_reply_msr(void *buf, size_t cap,
					    uint32_t seq, uint16_t vcpu,
					    uint8_t action, uint64_t new_val)
{
	return kvmi_encode_event_reply_msr_d(KVMI_DIALECT_V6, buf, cap, seq,
					     vcpu, action, new_val);
}

KVMI_EXPORT int
kvmi_encode_event_reply_pf_d(enum kvmi_dialect d, void *buf, size_t cap,
			     uint32_t seq, uint16_t vcpu, uint8_t action,
			     const struct kvmi_event_pf_reply *pf)
{
	int ev = kvmi_dialect_event_to_wire(d, KVMI_EVENT_PF);
	struct kvmi_event_pf_reply r;

	memset(&r, 0, sizeof(r));
	if (pf) {
		if (pf->ctx_size > KVMI_PF_REPLY_CTX_MAX)
			return -EINVAL;
		/* kvmi-v7: byte 12 is padding (non-zero closes the socket) */
		if (pf->singlestep && d != KVMI_DIALECT_V6)
			return -EINVAL;
		r.ctx_addr = pf->ctx_addr;
		r.ctx_size = pf->ctx_size;
		r.singlestep = pf->singlestep;
		r.rep_complete = pf->rep_complete;
		memcpy(r.ctx_data, pf->ctx_data, pf->ctx_size);
	}
	if (d == KVMI_DIALECT_V12) {
		static const struct kvmi_event_pf_reply zero;

		/* v12: the PF reply has no specific part */
		if (memcmp(&r, &zero, sizeof(r)))
			return -EINVAL;
		return event_reply(d, buf, cap, seq, vcpu, ev, action, NULL, 0);
	}
	return event_reply(d, buf, cap, seq, vcpu, ev, action, &r, sizeof(r));
}

KVMI_EXPORT int kvmi_encode_event_reply_pf(void *buf, size_t cap,
					   uint32_t seq, uint16_t vcpu,
					   uint8_t action,
					   const struct kvmi_event_pf_reply *pf)
{
	return kvmi_encode_event_reply_pf_d(KVMI_DIALECT_V6, buf, cap, seq,
					    vcpu, action, pf);
}
