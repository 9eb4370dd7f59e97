/*
 * libkvmi - encoder.c: build whole messages (commands, event replies and,
 * for simulated hosts, events and replies) into caller buffers.
 *
 * Every message is assembled from up to three parts after the header
 * (vCPU header, fixed struct, variable tail); structs are built zeroed so
 * padding always goes out as zero.  Arguments the protocol forbids are
 * refused before anything is written.
 */
#include <errno.h>
#include <string.h>

#include <kvmi/codec.h>

#define HDR_SIZE sizeof(struct kvmi_msg_hdr)

struct part {
	const void *p;
	size_t len;
};

static int emit(void *buf, size_t cap, uint16_t id, uint32_t seq,
		size_t max_payload, const struct part *parts, size_t nparts)
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

/* A command with an optional vCPU header, a fixed struct and a tail. */
static int cmd(void *buf, size_t cap, uint16_t id, uint32_t seq, int vcpu,
	       const void *fixed, size_t flen, const void *tail, size_t tlen)
{
	struct kvmi_vcpu_hdr vh = {.vcpu = (__u16)(vcpu < 0 ? 0 : vcpu)};
	struct part parts[3];
	size_t n = 0;

	if (vcpu >= 0)
		parts[n++] = (struct part){&vh, sizeof(vh)};
	parts[n++] = (struct part){fixed, flen};
	parts[n++] = (struct part){tail, tlen};
	return emit(buf, cap, id, seq, KVMI_MSG_SIZE_VALUE, parts, n);
}

KVMI_EXPORT int kvmi_encode_get_version(void *buf, size_t cap, uint32_t seq)
{
	return cmd(buf, cap, KVMI_GET_VERSION, seq, -1, NULL, 0, NULL, 0);
}

KVMI_EXPORT int kvmi_encode_check_command(void *buf, size_t cap, uint32_t seq,
					  uint16_t id)
{
	struct kvmi_check_command c = {.id = id};

	return cmd(buf, cap, KVMI_CHECK_COMMAND, seq, -1, &c, sizeof(c), NULL,
		   0);
}

KVMI_EXPORT int kvmi_encode_check_event(void *buf, size_t cap, uint32_t seq,
					uint16_t event_id)
{
	struct kvmi_check_event c = {.id = event_id};

	return cmd(buf, cap, KVMI_CHECK_EVENT, seq, -1, &c, sizeof(c), NULL, 0);
}

KVMI_EXPORT int kvmi_encode_get_guest_info(void *buf, size_t cap, uint32_t seq)
{
	return cmd(buf, cap, KVMI_GET_GUEST_INFO, seq, -1, NULL, 0, NULL, 0);
}

KVMI_EXPORT int kvmi_encode_get_vcpu_info(void *buf, size_t cap, uint32_t seq,
					  uint16_t vcpu)
{
	return cmd(buf, cap, KVMI_GET_VCPU_INFO, seq, vcpu, NULL, 0, NULL, 0);
}

KVMI_EXPORT int kvmi_encode_pause_vcpu(void *buf, size_t cap, uint32_t seq,
				       uint16_t vcpu, int wait)
{
	struct kvmi_pause_vcpu c = {.wait = wait ? 1 : 0};

	return cmd(buf, cap, KVMI_PAUSE_VCPU, seq, vcpu, &c, sizeof(c), NULL, 0);
}

KVMI_EXPORT int kvmi_encode_control_vm_events(void *buf, size_t cap,
					      uint32_t seq, uint16_t event_id,
					      int enable)
{
	struct kvmi_control_vm_events c = {.event_id = event_id,
					   .enable = enable ? 1 : 0};

	if (event_id != KVMI_EVENT_UNHOOK && event_id != KVMI_EVENT_CREATE_VCPU)
		return -EINVAL;
	return cmd(buf, cap, KVMI_CONTROL_VM_EVENTS, seq, -1, &c, sizeof(c),
		   NULL, 0);
}

static int is_vcpu_event(unsigned int id)
{
	return id < KVMI_NUM_EVENTS && id != KVMI_EVENT_UNHOOK &&
	       id != KVMI_EVENT_CREATE_VCPU;
}

KVMI_EXPORT int kvmi_encode_control_events(void *buf, size_t cap, uint32_t seq,
					   uint16_t vcpu, uint16_t event_id,
					   int enable)
{
	struct kvmi_control_events c = {.event_id = event_id,
					.enable = enable ? 1 : 0};

	if (!is_vcpu_event(event_id))
		return -EINVAL;
	return cmd(buf, cap, KVMI_CONTROL_EVENTS, seq, vcpu, &c, sizeof(c),
		   NULL, 0);
}

KVMI_EXPORT int kvmi_encode_control_cr(void *buf, size_t cap, uint32_t seq,
				       uint16_t vcpu, uint32_t cr, int enable)
{
	struct kvmi_control_cr c = {.enable = enable ? 1 : 0, .cr = cr};

	if (cr != 0 && cr != 3 && cr != 4)
		return -EINVAL;
	return cmd(buf, cap, KVMI_CONTROL_CR, seq, vcpu, &c, sizeof(c), NULL, 0);
}

static int msr_ok(uint32_t msr)
{
	return msr <= 0x1fff || (msr >= 0xc0000000u && msr <= 0xc0001fffu);
}

KVMI_EXPORT int kvmi_encode_control_msr(void *buf, size_t cap, uint32_t seq,
					uint16_t vcpu, uint32_t msr,
					int enable)
{
	struct kvmi_control_msr c = {.enable = enable ? 1 : 0, .msr = msr};

	if (!msr_ok(msr))
		return -EINVAL;
	return cmd(buf, cap, KVMI_CONTROL_MSR, seq, vcpu, &c, sizeof(c), NULL,
		   0);
}

KVMI_EXPORT int kvmi_encode_get_registers(void *buf, size_t cap, uint32_t seq,
					  uint16_t vcpu, const uint32_t *msrs,
					  size_t nmsrs)
{
	struct kvmi_get_registers c = {0};

	if (nmsrs && !msrs)
		return -EINVAL;
	if (nmsrs > KVMI_GET_REGISTERS_MAX_MSRS)
		return KVMI_E_TOO_MANY;
	c.nmsrs = (__u16)nmsrs;
	return cmd(buf, cap, KVMI_GET_REGISTERS, seq, vcpu, &c, sizeof(c), msrs,
		   nmsrs * sizeof(uint32_t));
}

KVMI_EXPORT int kvmi_encode_set_registers(void *buf, size_t cap, uint32_t seq,
					  uint16_t vcpu,
					  const struct kvm_regs *regs)
{
	if (!regs)
		return -EINVAL;
	return cmd(buf, cap, KVMI_SET_REGISTERS, seq, vcpu, regs, sizeof(*regs),
		   NULL, 0);
}

KVMI_EXPORT int kvmi_encode_get_cpuid(void *buf, size_t cap, uint32_t seq,
				      uint16_t vcpu, uint32_t function,
				      uint32_t index)
{
	struct kvmi_get_cpuid c = {.function = function, .index = index};

	return cmd(buf, cap, KVMI_GET_CPUID, seq, vcpu, &c, sizeof(c), NULL, 0);
}

KVMI_EXPORT int kvmi_encode_get_xsave(void *buf, size_t cap, uint32_t seq,
				      uint16_t vcpu)
{
	return cmd(buf, cap, KVMI_GET_XSAVE, seq, vcpu, NULL, 0, NULL, 0);
}

static int page_ok(uint64_t gpa, size_t size)
{
	return size > 0 && size <= KVMI_PAGE_SIZE &&
	       (gpa & (KVMI_PAGE_SIZE - 1)) + size <= KVMI_PAGE_SIZE;
}

KVMI_EXPORT int kvmi_encode_read_physical(void *buf, size_t cap, uint32_t seq,
					  uint64_t gpa, size_t size)
{
	struct kvmi_read_physical c = {.gpa = gpa, .size = size};

	if (!page_ok(gpa, size))
		return KVMI_E_PAGE_CROSS;
	return cmd(buf, cap, KVMI_READ_PHYSICAL, seq, -1, &c, sizeof(c), NULL,
		   0);
}

KVMI_EXPORT int kvmi_encode_write_physical(void *buf, size_t cap, uint32_t seq,
					   uint64_t gpa, const void *data,
					   size_t size)
{
	struct kvmi_write_physical c = {.gpa = gpa, .size = size};

	if (!data)
		return -EINVAL;
	if (!page_ok(gpa, size))
		return KVMI_E_PAGE_CROSS;
	return cmd(buf, cap, KVMI_WRITE_PHYSICAL, seq, -1, &c, sizeof(c), data,
		   size);
}

KVMI_EXPORT int kvmi_encode_inject_exception(void *buf, size_t cap,
					     uint32_t seq, uint16_t vcpu,
					     uint8_t nr, int has_error,
					     uint32_t error_code,
					     uint64_t address)
{
	struct kvmi_inject_exception c = {.nr = nr,
					  .has_error = has_error ? 1 : 0,
					  .error_code = error_code,
					  .address = address};

	return cmd(buf, cap, KVMI_INJECT_EXCEPTION, seq, vcpu, &c, sizeof(c),
		   NULL, 0);
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
 */
static int entry_list(void *buf, size_t cap, uint16_t id, uint32_t seq,
		      uint16_t view, const void *entries, size_t count,
		      int bitmap)
{
	struct kvmi_set_page_access head = {.view = view};
	const size_t esz = sizeof(struct kvmi_page_access_entry);
	size_t payload = sizeof(head) + count * esz;
	struct kvmi_msg_hdr hdr = {.id = id, .seq = seq};
	__u8 *out = buf;

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
	head.count = (__u16)count;
	hdr.size = (__u16)payload;
	memcpy(out, &hdr, HDR_SIZE);
	memcpy(out + HDR_SIZE, &head, sizeof(head));
	out += HDR_SIZE + sizeof(head);
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
kvmi_encode_set_page_access(void *buf, size_t cap, uint32_t seq, uint16_t view,
			    const struct kvmi_page_access_entry *entries,
			    size_t count)
{
	return entry_list(buf, cap, KVMI_SET_PAGE_ACCESS, seq, view, entries,
			  count, 0);
}

KVMI_EXPORT int kvmi_encode_set_page_write_bitmap(
	void *buf, size_t cap, uint32_t seq, uint16_t view,
	const struct kvmi_page_write_bitmap_entry *entries, size_t count)
{
	return entry_list(buf, cap, KVMI_SET_PAGE_WRITE_BITMAP, seq, view,
			  entries, count, 1);
}

KVMI_EXPORT int kvmi_encode_get_map_token(void *buf, size_t cap, uint32_t seq)
{
	return cmd(buf, cap, KVMI_GET_MAP_TOKEN, seq, -1, NULL, 0, NULL, 0);
}

KVMI_EXPORT int kvmi_encode_get_mtrr_type(void *buf, size_t cap, uint32_t seq,
					  uint16_t vcpu, uint64_t gpa)
{
	struct kvmi_get_mtrr_type c = {.gpa = gpa};

	return cmd(buf, cap, KVMI_GET_MTRR_TYPE, seq, vcpu, &c, sizeof(c), NULL,
		   0);
}

KVMI_EXPORT int kvmi_encode_control_spp(void *buf, size_t cap, uint32_t seq,
					int enable)
{
	struct kvmi_control_spp c = {.enable = enable ? 1 : 0};

	return cmd(buf, cap, KVMI_CONTROL_SPP, seq, -1, &c, sizeof(c), NULL, 0);
}

KVMI_EXPORT int kvmi_encode_control_cmd_response(void *buf, size_t cap,
						 uint32_t seq, int enable,
						 int now)
{
	struct kvmi_control_cmd_response c = {.enable = enable ? 1 : 0,
					      .now = now ? 1 : 0};

	return cmd(buf, cap, KVMI_CONTROL_CMD_RESPONSE, seq, -1, &c, sizeof(c),
		   NULL, 0);
}

KVMI_EXPORT int kvmi_encode_get_max_gfn(void *buf, size_t cap, uint32_t seq)
{
	return cmd(buf, cap, KVMI_GET_MAX_GFN, seq, -1, NULL, 0, NULL, 0);
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

static int action_ok(unsigned int event_id, unsigned int action)
{
	if (event_id >= KVMI_NUM_EVENTS || event_id == KVMI_EVENT_UNHOOK)
		return 0;
	if (action == KVMI_EVENT_ACTION_CONTINUE ||
	    action == KVMI_EVENT_ACTION_CRASH)
		return 1;
	if (action == KVMI_EVENT_ACTION_RETRY)
		return event_id == KVMI_EVENT_BREAKPOINT ||
		       event_id == KVMI_EVENT_PF ||
		       event_id == KVMI_EVENT_DESCRIPTOR;
	return 0;
}

static int event_reply(void *buf, size_t cap, uint32_t seq, uint16_t vcpu,
		       uint8_t event_id, uint8_t action, const void *tail,
		       size_t tlen)
{
	struct kvmi_vcpu_hdr vh = {.vcpu = vcpu};
	struct kvmi_event_reply r = {.action = action, .event = event_id};
	struct part parts[3] = {
		{&vh, sizeof(vh)}, {&r, sizeof(r)}, {tail, tlen}};

	if (!action_ok(event_id, action))
		return -EINVAL;
	return emit(buf, cap, KVMI_EVENT_REPLY, seq, KVMI_MSG_SIZE_VALUE, parts,
		    3);
}

KVMI_EXPORT int kvmi_encode_event_reply(void *buf, size_t cap, uint32_t seq,
					uint16_t vcpu, uint8_t event_id,
					uint8_t action)
{
	if (kvmi_event_reply_data_size(event_id) != 0)
		return -EINVAL; /* CR, MSR, PF have their own encoders */
	return event_reply(buf, cap, seq, vcpu, event_id, action, NULL, 0);
}

KVMI_EXPORT int kvmi_encode_event_reply_cr(void *buf, size_t cap,
					   uint32_t seq, uint16_t vcpu,
					   uint8_t action, uint64_t new_val)
{
	struct kvmi_event_cr_reply r = {.new_val = new_val};

	return event_reply(buf, cap, seq, vcpu, KVMI_EVENT_CR, action, &r,
			   sizeof(r));
}

KVMI_EXPORT int kvmi_encode_event_reply_msr(void *buf, size_t cap,
					    uint32_t seq, uint16_t vcpu,
					    uint8_t action, uint64_t new_val)
{
	struct kvmi_event_msr_reply r = {.new_val = new_val};

	return event_reply(buf, cap, seq, vcpu, KVMI_EVENT_MSR, action, &r,
			   sizeof(r));
}

KVMI_EXPORT int kvmi_encode_event_reply_pf(void *buf, size_t cap,
					   uint32_t seq, uint16_t vcpu,
					   uint8_t action,
					   const struct kvmi_event_pf_reply *pf)
{
	struct kvmi_event_pf_reply r;

	memset(&r, 0, sizeof(r));
	if (pf) {
		if (pf->ctx_size > KVMI_PF_REPLY_CTX_MAX)
			return -EINVAL;
		r.ctx_addr = pf->ctx_addr;
		r.ctx_size = pf->ctx_size;
		r.singlestep = pf->singlestep;
		r.rep_complete = pf->rep_complete;
		memcpy(r.ctx_data, pf->ctx_data, pf->ctx_size);
	}
	return event_reply(buf, cap, seq, vcpu, KVMI_EVENT_PF, action, &r,
			   sizeof(r));
}

/* ---- host side ---- */

KVMI_EXPORT int kvmi_encode_event(void *buf, size_t cap, uint32_t seq,
				  const struct kvmi_event *common,
				  size_t common_size, const void *data,
				  size_t data_len)
{
	struct kvmi_event c;
	static const __u8 zeros[256];
	size_t known, extra;

	if (!common || common_size < offsetof(struct kvmi_event, arch) ||
	    common_size > 0xffff || (data_len && !data))
		return -EINVAL;
	c = *common;
	c.size = (__u16)common_size;
	memset(c.padding, 0, sizeof(c.padding));
	known = common_size < sizeof(c) ? common_size : sizeof(c);
	extra = common_size - known;
	if (extra > sizeof(zeros))
		return -EINVAL;
	struct part parts[3] = {{&c, known}, {zeros, extra}, {data, data_len}};

	return emit(buf, cap, KVMI_EVENT, seq, 0xffff, parts, 3);
}

KVMI_EXPORT int kvmi_encode_reply(void *buf, size_t cap, uint16_t id,
				  uint32_t seq, int32_t host_err,
				  const void *data, size_t data_len)
{
	struct kvmi_error_code ec = {.err = host_err};
	struct part parts[2] = {{&ec, sizeof(ec)}, {data, 0}};

	if (host_err > 0)
		return -EINVAL;
	if (host_err == 0) {
		if (data_len && !data)
			return -EINVAL;
		parts[1].len = data_len;
	}
	return emit(buf, cap, id, seq, KVMI_HOST_MSG_SIZE_VALUE, parts, 2);
}

KVMI_EXPORT int kvmi_encode_event_reply_error(void *buf, size_t cap,
					      uint32_t seq, int32_t host_err)
{
	struct kvmi_error_code ec = {.err = host_err};
	struct part parts[1] = {{&ec, sizeof(ec)}};

	if (host_err > 0)
		return -EINVAL;
	return emit(buf, cap, KVMI_EVENT_REPLY, seq, KVMI_HOST_MSG_SIZE_VALUE,
		    parts, 1);
}
