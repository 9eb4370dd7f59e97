/*
 * libkvmi - tools/dump_format.c: the one-line text form of a decoded
 * message (direction, name, seq, vCPU, event and key fields) in any
 * dialect, and telling a capture's dialect from its first replies.
 * Fields are chosen by the message's common id (codec.h), names are the
 * dialect's.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dump_format.h"

struct out {
	char *p;
	size_t left;
	int total;
};

__attribute__((format(printf, 2, 3))) static void put(struct out *o,
						      const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(o->p, o->left, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	o->total += n;
	if ((size_t)n >= o->left) {
		o->p += o->left ? o->left - 1 : 0;
		o->left = o->left ? 1 : 0;
	} else {
		o->p += n;
		o->left -= (size_t)n;
	}
}

#define GET(type, var, src)                                                    \
	type var;                                                              \
	memset(&var, 0, sizeof(var));                                          \
	memcpy(&var, (src), sizeof(var))

static void event_fields(struct out *o, enum kvmi_dialect dl,
			 const struct kvmi_msg *m)
{
	const struct kvmi_event *c = m->u.event.common;
	const union kvmi_event_data *d = m->u.event.data;
	int v6 = dl == KVMI_DIALECT_V6;
	int id = kvmi_dialect_event_from_wire(dl, c->event);

	put(o, " vcpu=%u %s", c->vcpu, kvmi_event_name_d(dl, c->event));
	if (c->size != sizeof(struct kvmi_event) &&
	    !(dl == KVMI_DIALECT_V12 && id == KVMI_EVENT_UNHOOK))
		put(o, " common_size=%u", c->size);
	if ((dl == KVMI_DIALECT_V7 || dl == KVMI_DIALECT_V7_2023) &&
	    kvmi_v7_event_view(c))
		put(o, " view=%u", kvmi_v7_event_view(c));
	if (!v6 && id == KVMI_EVENT_TRAP) {
		put(o, " vector=%u error_code=0x%x cr2=0x%" PRIx64,
		    d->v7_trap.vector, d->v7_trap.error_code,
		    (uint64_t)d->v7_trap.cr2);
		id = -1;
	} else if (!v6 && id == KVMI_EVENT_SINGLESTEP) {
		put(o, " failed=%u", d->v7_singlestep.failed);
	} else if (id == KVMI_V7_EVENT_CPUID) {
		put(o, " function=0x%x index=%u insn_length=%u",
		    d->v7_cpuid.function, d->v7_cpuid.index,
		    d->v7_cpuid.insn_length);
	} else if (id == KVMI_V7_EVENT_CMD_ERROR) {
		put(o, " err=%d(%s) msg_seq=%u msg_id=%u", d->v7_cmd_error.err,
		    kvmi_host_error_name(d->v7_cmd_error.err),
		    d->v7_cmd_error.msg_seq, d->v7_cmd_error.msg_id);
	}
	switch (id) {
	case KVMI_EVENT_CR:
		put(o, " cr=%u old=0x%" PRIx64 " new=0x%" PRIx64, d->cr.cr,
		    (uint64_t)d->cr.old_value, (uint64_t)d->cr.new_value);
		break;
	case KVMI_EVENT_MSR:
		put(o, " msr=0x%x old=0x%" PRIx64 " new=0x%" PRIx64, d->msr.msr,
		    (uint64_t)d->msr.old_value, (uint64_t)d->msr.new_value);
		break;
	case KVMI_EVENT_BREAKPOINT:
		put(o, " gpa=0x%" PRIx64 " insn_len=%u",
		    (uint64_t)d->breakpoint.gpa, d->breakpoint.insn_len);
		break;
	case KVMI_EVENT_PF:
		put(o, " gva=0x%" PRIx64 " gpa=0x%" PRIx64 " access=%u",
		    (uint64_t)d->pf.gva, (uint64_t)d->pf.gpa, d->pf.access);
		break;
	case KVMI_EVENT_TRAP:
		put(o, " vector=%u type=0x%x error_code=0x%x cr2=0x%" PRIx64,
		    d->trap.vector, d->trap.type, d->trap.error_code,
		    (uint64_t)d->trap.cr2);
		break;
	case KVMI_EVENT_DESCRIPTOR:
		put(o, " descriptor=%u write=%u", d->descriptor.descriptor,
		    d->descriptor.write);
		break;
	default:
		break;
	}
	if (id != KVMI_EVENT_UNHOOK && id != KVMI_V7_EVENT_CMD_ERROR &&
	    (v6 || kvmi_dialect_event_from_wire(dl, c->event) !=
			   KVMI_EVENT_UNHOOK))
		put(o, " rip=0x%" PRIx64, (uint64_t)c->arch.regs.rip);
}

/* GET_VERSION: the reply itself says which dialect wrote it */
static void version_fields(struct out *o, const __u8 *p, size_t n)
{
	struct kvmi_v7_get_version_reply r7;
	struct kvmi_v12_get_version_reply r12;
	enum kvmi_dialect d;

	memset(&r7, 0, sizeof(r7));
	memcpy(&r7, p, n < sizeof(r7) ? n : sizeof(r7));
	memcpy(&r12, &r7, sizeof(r12));
	put(o, " version=%u", r7.version);
	if (kvmi_dialect_from_version_reply(p, n, &d) ||
	    d == KVMI_DIALECT_V6)
		return;
	if (d == KVMI_DIALECT_V12)
		put(o, " max_msg_size=%u singlestep=%u", r12.max_msg_size,
		    r12.features.singlestep);
	else
		put(o, " spp=%u vmfunc=%u eptp=%u ve=%u singlestep=%u",
		    r7.features.spp, r7.features.vmfunc, r7.features.eptp,
		    r7.features.ve, r7.features.singlestep);
}

static void reply_fields(struct out *o, enum kvmi_dialect dl,
			 const struct kvmi_msg *m)
{
	const __u8 *p = m->u.reply.data;
	size_t n = m->u.reply.data_len;

	put(o, " err=%d", m->u.reply.host_err);
	if (m->u.reply.host_err)
		put(o, "(%s)", kvmi_host_error_name(m->u.reply.host_err));
	if (!p)
		return;
	switch (kvmi_dialect_msg_from_wire(dl, m->hdr.id)) {
	case KVMI_GET_VERSION:
		version_fields(o, p, n);
		break;
	case KVMI_V7_VCPU_GET_EPT_VIEW:
	case KVMI_V7_VM_CREATE_EPT_VIEW: {
		GET(__u16, view, p);
		put(o, " view=%u", view);
		break;
	}
	case KVMI_V7_VCPU_TRANSLATE_GVA: {
		GET(__u64, gpa, p);
		put(o, " gpa=0x%" PRIx64, (uint64_t)gpa);
		break;
	}
	case KVMI_V7_VCPU_GET_XCR: {
		GET(__u64, value, p);
		put(o, " value=0x%" PRIx64, (uint64_t)value);
		break;
	}
	case KVMI_V7_VM_GET_NEXT_AVAILABLE_GFN: {
		GET(__u64, gfn, p);
		put(o, " gfn=0x%" PRIx64, (uint64_t)gfn);
		break;
	}
	case KVMI_V7_VM_QUERY_PHYSICAL: {
		GET(struct kvmi_v7_vm_query_physical_reply, r, p);
		put(o, " gfn=0x%" PRIx64 " size=%" PRIu64, (uint64_t)r.gfn,
		    (uint64_t)r.size);
		break;
	}
	case KVMI_GET_GUEST_INFO: {
		GET(struct kvmi_get_guest_info_reply, r, p);
		put(o, " vcpu_count=%u", r.vcpu_count);
		break;
	}
	case KVMI_GET_VCPU_INFO: {
		GET(struct kvmi_get_vcpu_info_reply, r, p);
		put(o, " tsc_speed=%" PRIu64, (uint64_t)r.tsc_speed);
		break;
	}
	case KVMI_GET_REGISTERS: {
		GET(struct kvmi_get_registers_reply, r, p);
		put(o, " mode=%u rip=0x%" PRIx64 " cr3=0x%" PRIx64 " nmsrs=%u",
		    r.mode, (uint64_t)r.regs.rip, (uint64_t)r.sregs.cr3,
		    r.msrs.nmsrs);
		break;
	}
	case KVMI_GET_CPUID: {
		GET(struct kvmi_get_cpuid_reply, r, p);
		put(o, " eax=0x%x ebx=0x%x ecx=0x%x edx=0x%x", r.eax, r.ebx,
		    r.ecx, r.edx);
		break;
	}
	case KVMI_GET_MTRR_TYPE:
		put(o, " type=%u", p[0]);
		break;
	case KVMI_GET_MAX_GFN: {
		GET(struct kvmi_get_max_gfn_reply, r, p);
		put(o, " gfn=0x%" PRIx64, (uint64_t)r.gfn);
		break;
	}
	case KVMI_GET_PAGE_ACCESS:
		put(o, " access=");
		for (size_t i = 0; i < n && i < 8; i++)
			put(o, "%s%u", i ? "," : "", p[i]);
		if (n > 8)
			put(o, ",...");
		break;
	default:
		put(o, " len=%zu", n);
		break;
	}
}

/* kvmi-v7 and v12 commands v6 does not have; 1 when printed */
static int new_command_fields(struct out *o, enum kvmi_dialect dl, int op,
			      const __u8 *b, size_t n)
{
	switch (op) {
	case KVMI_V7_VCPU_SET_EPT_VIEW:
	case KVMI_V7_VM_DESTROY_EPT_VIEW:
		if (n >= 2) {
			GET(__u16, view, b);
			put(o, " view=%u", view);
		}
		return 1;
	case KVMI_V7_VCPU_CONTROL_EPT_VIEW:
		if (n >= 3)
			put(o, " view=%u visible=%u", b[0] | b[1] << 8, b[2]);
		return 1;
	case KVMI_V7_VM_SET_PAGE_SVE:
		if (n >= sizeof(struct kvmi_v7_vm_set_page_sve)) {
			GET(struct kvmi_v7_vm_set_page_sve, c, b);
			put(o, " view=%u gpa=0x%" PRIx64 " suppress=%u", c.view,
			    (uint64_t)c.gpa, c.suppress);
		}
		return 1;
	case KVMI_V7_VCPU_SET_VE_INFO:
		if (n >= sizeof(struct kvmi_v7_vcpu_set_ve_info)) {
			GET(struct kvmi_v7_vcpu_set_ve_info, c, b);
			put(o, " gpa=0x%" PRIx64 " trigger_vmexit=%u",
			    (uint64_t)c.gpa, c.trigger_vmexit);
		}
		return 1;
	case KVMI_V7_VCPU_TRANSLATE_GVA:
	case KVMI_V7_VM_QUERY_PHYSICAL:
	case KVMI_V7_VCPU_ALLOC_GFN:
	case KVMI_V7_VCPU_FREE_GFN:
		if (n >= 8) {
			GET(__u64, v, b);
			put(o, " %s=0x%" PRIx64,
			    op == KVMI_V7_VCPU_TRANSLATE_GVA ? "gva" : "gfn",
			    (uint64_t)v);
		}
		return 1;
	case KVMI_V7_VCPU_GET_XCR:
		if (n >= 1)
			put(o, " xcr=%u", b[0]);
		return 1;
	case KVMI_V7_VCPU_SET_XSAVE:
		put(o, " len=%zu", n);
		return 1;
	case KVMI_V7_VCPU_CHANGE_GFN:
		if (dl == KVMI_DIALECT_V7_2023 && n >= 24) {
			GET(struct kvmi_v7_2023_vcpu_change_gfn, c, b);
			put(o, " view=%u old_gfn=0x%" PRIx64 " new_gfn=0x%" PRIx64,
			    c.view, (uint64_t)c.old_gfn, (uint64_t)c.new_gfn);
		} else if (n >= 16) {
			GET(struct kvmi_v7_vcpu_change_gfn, c, b);
			put(o, " old_gfn=0x%" PRIx64 " new_gfn=0x%" PRIx64,
			    (uint64_t)c.old_gfn, (uint64_t)c.new_gfn);
		}
		return 1;
	case KVMI_V7_VCPU_CONTROL_SINGLESTEP:
	case KVMI_COMMON_VM_CONTROL_CLEANUP:
		if (n >= 1)
			put(o, " enable=%u", b[0]);
		return 1;
	default:
		return 0;
	}
}

static void command_fields(struct out *o, enum kvmi_dialect dl,
			   const struct kvmi_msg *m)
{
	const __u8 *b = m->u.command.body;
	size_t n = m->u.command.body_len;
	int v12 = dl == KVMI_DIALECT_V12;
	int op = kvmi_dialect_msg_from_wire(dl, m->hdr.id);

	if (m->u.command.has_vcpu)
		put(o, " vcpu=%u", m->u.command.vcpu.vcpu);
	if (new_command_fields(o, dl, op, b, n))
		op = -1;
	switch (op) {
	case KVMI_CHECK_COMMAND:
	case KVMI_CHECK_EVENT:
		if (n >= 2) {
			GET(__u16, id, b);
			put(o, " id=%u", id);
		}
		break;
	case KVMI_CONTROL_VM_EVENTS:
	case KVMI_CONTROL_EVENTS:
		if (n >= sizeof(struct kvmi_control_events)) {
			GET(struct kvmi_control_events, c, b);
			put(o, " %s enable=%u", kvmi_event_name_d(dl, c.event_id),
			    c.enable);
		}
		break;
	case KVMI_CONTROL_CR:
		if (v12 && n >= 2) { /* {u8 cr; u8 enable} */
			put(o, " cr=%u enable=%u", b[0], b[1]);
		} else if (n >= sizeof(struct kvmi_control_cr)) {
			GET(struct kvmi_control_cr, c, b);
			put(o, " cr=%u enable=%u", c.cr, c.enable);
		}
		break;
	case KVMI_CONTROL_MSR:
		if (n >= sizeof(struct kvmi_control_msr)) {
			GET(struct kvmi_control_msr, c, b);
			put(o, " msr=0x%x enable=%u", c.msr, c.enable);
		}
		break;
	case KVMI_READ_PHYSICAL:
	case KVMI_WRITE_PHYSICAL:
		if (v12 && n >= sizeof(struct kvmi_v12_vm_read_physical)) {
			GET(struct kvmi_v12_vm_read_physical, c, b);
			put(o, " gpa=0x%" PRIx64 " size=%u", (uint64_t)c.gpa,
			    c.size);
		} else if (n >= sizeof(struct kvmi_read_physical)) {
			GET(struct kvmi_read_physical, c, b);
			put(o, " gpa=0x%" PRIx64 " size=%" PRIu64,
			    (uint64_t)c.gpa, (uint64_t)c.size);
		}
		break;
	case KVMI_GET_PAGE_ACCESS:
	case KVMI_SET_PAGE_ACCESS:
	case KVMI_GET_PAGE_WRITE_BITMAP:
	case KVMI_SET_PAGE_WRITE_BITMAP:
		if (v12 && n >= 8) {
			GET(struct kvmi_v12_vm_set_page_access, c, b);
			put(o, " count=%u", c.count);
		} else if (n >= 8) {
			GET(struct kvmi_get_page_access, c, b);
			put(o, " view=%u count=%u", c.view, c.count);
		}
		if (n >= 8) {
			GET(struct kvmi_get_page_access, c, b);

			if (v12)
				c.count = c.view; /* count is first in v12 */
			if (op == KVMI_SET_PAGE_ACCESS && c.count &&
			    n >= 8 + 16) {
				GET(struct kvmi_page_access_entry, e, b + 8);
				put(o, " first=0x%" PRIx64 ":%u",
				    (uint64_t)e.gpa, e.access);
			}
		}
		break;
	case KVMI_GET_REGISTERS:
		if (n >= 2) {
			GET(__u16, nmsrs, b);
			put(o, " nmsrs=%u", nmsrs);
		}
		break;
	case KVMI_SET_REGISTERS:
		if (n >= sizeof(struct kvm_regs)) {
			GET(struct kvm_regs, r, b);
			put(o, " rip=0x%" PRIx64, (uint64_t)r.rip);
		}
		break;
	case KVMI_GET_CPUID:
		if (n >= sizeof(struct kvmi_get_cpuid)) {
			GET(struct kvmi_get_cpuid, c, b);
			put(o, " function=0x%x index=%u", c.function, c.index);
		}
		break;
	case KVMI_PAUSE_VCPU:
		if (v12 && n >= 3) /* {u16 vcpu; u8 wait} */
			put(o, " vcpu=%u wait=%u", b[0] | b[1] << 8, b[2]);
		else if (!v12 && n >= 1)
			put(o, " wait=%u", b[0]);
		break;
	case KVMI_INJECT_EXCEPTION:
		if (n >= sizeof(struct kvmi_inject_exception)) {
			GET(struct kvmi_inject_exception, c, b);
			put(o, " nr=%u", c.nr);
			if (dl == KVMI_DIALECT_V6) /* later: padding */
				put(o, " has_error=%u", c.has_error);
			put(o, " error_code=0x%x address=0x%" PRIx64,
			    c.error_code, (uint64_t)c.address);
		}
		break;
	case KVMI_GET_MTRR_TYPE:
		if (n >= 8) {
			GET(__u64, gpa, b);
			put(o, " gpa=0x%" PRIx64, (uint64_t)gpa);
		}
		break;
	case KVMI_CONTROL_CMD_RESPONSE:
		if (n >= 2)
			put(o, " enable=%u now=%u", b[0], b[1]);
		if (n >= 3 && dl != KVMI_DIALECT_V6)
			put(o, " flags=%u", b[2]);
		break;
	case KVMI_CONTROL_SPP:
		if (n >= 1)
			put(o, " enable=%u", b[0]);
		break;
	default:
		break;
	}
	if (!m->u.command.known)
		put(o, " unknown_id len=%zu", n);
}

int kvmi_dump_format_d(char *buf, size_t len, enum kvmi_dialect dl,
		       enum kvmi_direction dir, const struct kvmi_msg *m)
{
	struct out o = {buf, len, 0};

	if (len)
		buf[0] = 0;
	put(&o, "@%" PRIu64 " %s ", m->offset,
	    dir == KVMI_DIR_HOST_TO_TOOL ? "H>T" : "T>H");
	switch (m->kind) {
	case KVMI_MSG_EVENT:
		put(&o, "%s seq=%u", kvmi_msg_name_d(dl, m->hdr.id), m->hdr.seq);
		event_fields(&o, dl, m);
		break;
	case KVMI_MSG_REPLY:
		put(&o, "reply %s seq=%u", kvmi_msg_name_d(dl, m->hdr.id),
		    m->hdr.seq);
		if (dl != KVMI_DIALECT_V6 &&
		    kvmi_dialect_msg_from_wire(dl, m->hdr.id) < 0)
			put(&o, " id=%u", m->hdr.id);
		reply_fields(&o, dl, m);
		break;
	case KVMI_MSG_EVENT_REPLY_ERROR:
		put(&o, "%s(rejected) seq=%u err=%d(%s)",
		    dl == KVMI_DIALECT_V12 ? "KVMI_VCPU_EVENT" : "KVMI_EVENT_REPLY",
		    m->hdr.seq, m->u.reply.host_err,
		    kvmi_host_error_name(m->u.reply.host_err));
		break;
	case KVMI_MSG_COMMAND:
		put(&o, "%s seq=%u", kvmi_msg_name_d(dl, m->hdr.id), m->hdr.seq);
		if (!m->u.command.known)
			put(&o, " id=%u", m->hdr.id);
		command_fields(&o, dl, m);
		break;
	case KVMI_MSG_EVENT_REPLY: {
		const __u8 *t = m->u.event_reply.tail;
		size_t tl = m->u.event_reply.tail_len;

		int ev = kvmi_dialect_event_from_wire(
			dl, m->u.event_reply.common.event);

		put(&o, "%s seq=%u vcpu=%u %s action=%s",
		    dl == KVMI_DIALECT_V12 ? "KVMI_VCPU_EVENT(reply)"
					   : "KVMI_EVENT_REPLY",
		    m->hdr.seq, m->u.event_reply.vcpu.vcpu,
		    kvmi_event_name_d(dl, m->u.event_reply.common.event),
		    kvmi_action_name(m->u.event_reply.common.action));
		if ((ev == KVMI_EVENT_CR || ev == KVMI_EVENT_MSR) && tl >= 8) {
			GET(__u64, v, t);
			put(&o, " new_val=0x%" PRIx64, (uint64_t)v);
		} else if (ev == KVMI_EVENT_PF && tl >= 16) {
			struct kvmi_event_pf_reply r;

			memset(&r, 0, sizeof(r));
			memcpy(&r, t, tl < sizeof(r) ? tl : sizeof(r));
			put(&o, " ctx_size=%u", r.ctx_size);
			if (dl == KVMI_DIALECT_V6) /* later: padding */
				put(&o, " singlestep=%u", r.singlestep);
			put(&o, " rep_complete=%u", r.rep_complete);
		} else if (tl) {
			put(&o, " tail=%zu", tl);
		}
		break;
	}
	}
	return o.total;
}

int kvmi_dump_format(char *buf, size_t len, enum kvmi_direction dir,
		     const struct kvmi_msg *m)
{
	return kvmi_dump_format_d(buf, len, KVMI_DIALECT_V6, dir, m);
}

void kvmi_dump_detect_init(struct kvmi_dump_detect *t)
{
	memset(t, 0, sizeof(*t));
	t->dialect = KVMI_DIALECT_V6;
}

/* the id of a CHECK_COMMAND that tells v7-2023 from v7-2021 */
#define V7_2023_PROBE KVMI_V7_VM_QUERY_PHYSICAL

int kvmi_dump_detect(struct kvmi_dump_detect *t, enum kvmi_direction dir,
		     const struct kvmi_msg *m, char *note, size_t len)
{
	enum kvmi_dialect d;

	if (dir == KVMI_DIR_TOOL_TO_HOST) {
		/* kvmi-v7: a CHECK_COMMAND of a 2023-only id */
		if (t->dialect == KVMI_DIALECT_V7 &&
		    m->kind == KVMI_MSG_COMMAND &&
		    m->hdr.id == KVMI_V7_VM_CHECK_COMMAND &&
		    m->u.command.body_len >= 2 &&
		    (m->u.command.body[0] | m->u.command.body[1] << 8) ==
			    V7_2023_PROBE) {
			t->probing = 1;
			t->probe_seq = m->hdr.seq;
		}
		return 0;
	}
	if (m->kind != KVMI_MSG_REPLY || m->u.reply.host_err)
		return 0;
	if (m->hdr.id == KVMI_GET_VERSION && !t->seen_version &&
	    !kvmi_dialect_from_version_reply(m->u.reply.data,
					     m->u.reply.data_len, &d)) {
		t->seen_version = 1;
		if (d == t->dialect)
			return 0;
		t->dialect = d;
		snprintf(note, len, "# dialect %s (GET_VERSION reply at @%" PRIu64
				    ")",
			 kvmi_dialect_name(d), m->offset);
		return 1;
	}
	if (t->probing && m->hdr.id == KVMI_V7_VM_CHECK_COMMAND &&
	    m->hdr.seq == t->probe_seq) {
		t->probing = 0;
		t->dialect = KVMI_DIALECT_V7_2023;
		snprintf(note, len, "# dialect %s (CHECK_COMMAND %u allowed at @%"
				    PRIu64 ")",
			 kvmi_dialect_name(t->dialect), V7_2023_PROBE,
			 m->offset);
		return 1;
	}
	return 0;
}
