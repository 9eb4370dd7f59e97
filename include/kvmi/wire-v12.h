/*
 * libkvmi - wire-v12.h: the wire facts of the 2021 upstream series
 * ("v12", KVM-VMI's kvmi-v12 branch, Linux 5.15).
 *
 * Included by <kvmi/wire.h>; do not include it alone.  Facts come from
 * ../shared/protocol/KVMI-V12.md.  Only GET_VERSION (id 2) means the same
 * as in v6 / kvmi-v7.  VM messages and VM events have even ids, vCPU ones
 * odd ids; events travel as KVMI_V12_VM_EVENT (0) / KVMI_V12_VCPU_EVENT
 * (1) messages whose payload starts with struct kvmi_v12_event_hdr, and
 * the reply to a vCPU event is message 1 too.  Structures that v12 shares
 * with kvmi-v7 (TRAP and SINGLESTEP events, INJECT_EXCEPTION, GET_XCR,
 * TRANSLATE_GVA, CONTROL_SINGLESTEP) are the kvmi_v7_* ones; those shared
 * with v6 are the v6 ones.  Sizes are checked at compile time at the end.
 */
#ifndef KVMI_WIRE_V12_H
#define KVMI_WIRE_V12_H

#ifndef KVMI_WIRE_H
#error "include <kvmi/wire.h>, not <kvmi/wire-v12.h>"
#endif

/* ------------------------------------------------------------------ */
/* Message ids (sec. 2.1)                                              */
/* ------------------------------------------------------------------ */

enum {
	KVMI_V12_VM_EVENT = 0,
	KVMI_V12_VCPU_EVENT = 1, /* H->T event; T->H event reply */
	KVMI_V12_GET_VERSION = 2,
	KVMI_V12_VCPU_GET_INFO = 3,
	KVMI_V12_VM_CHECK_COMMAND = 4,
	KVMI_V12_VCPU_CONTROL_EVENTS = 5,
	KVMI_V12_VM_CHECK_EVENT = 6,
	KVMI_V12_VCPU_GET_REGISTERS = 7,
	KVMI_V12_VM_GET_INFO = 8,
	KVMI_V12_VCPU_SET_REGISTERS = 9,
	KVMI_V12_VM_CONTROL_EVENTS = 10,
	KVMI_V12_VCPU_GET_CPUID = 11,
	KVMI_V12_VM_READ_PHYSICAL = 12,
	KVMI_V12_VCPU_CONTROL_CR = 13,
	KVMI_V12_VM_WRITE_PHYSICAL = 14,
	KVMI_V12_VCPU_INJECT_EXCEPTION = 15,
	KVMI_V12_VM_PAUSE_VCPU = 16, /* VM message: vCPU index inside */
	KVMI_V12_VCPU_GET_XCR = 17,
	KVMI_V12_VM_CONTROL_CLEANUP = 18,
	KVMI_V12_VCPU_GET_XSAVE = 19,
	KVMI_V12_VM_SET_PAGE_ACCESS = 20,
	KVMI_V12_VCPU_SET_XSAVE = 21,
	KVMI_V12_VCPU_GET_MTRR_TYPE = 23,
	KVMI_V12_VCPU_CONTROL_MSR = 25,
	KVMI_V12_VCPU_CONTROL_SINGLESTEP = 27,
	KVMI_V12_VCPU_TRANSLATE_GVA = 29,

	KVMI_V12_NUM_MESSAGES = 30,
};

/* ------------------------------------------------------------------ */
/* Event ids (sec. 2.2): even = VM event, odd = vCPU event             */
/* ------------------------------------------------------------------ */

enum {
	KVMI_V12_VM_EVENT_UNHOOK = 0, /* never replied */
	KVMI_V12_VCPU_EVENT_PAUSE = 1,
	KVMI_V12_VCPU_EVENT_HYPERCALL = 3,
	KVMI_V12_VCPU_EVENT_BREAKPOINT = 5,
	KVMI_V12_VCPU_EVENT_CR = 7,
	KVMI_V12_VCPU_EVENT_TRAP = 9,
	KVMI_V12_VCPU_EVENT_XSETBV = 11,
	KVMI_V12_VCPU_EVENT_DESCRIPTOR = 13,
	KVMI_V12_VCPU_EVENT_MSR = 15,
	KVMI_V12_VCPU_EVENT_PF = 17, /* no reply struct */
	KVMI_V12_VCPU_EVENT_SINGLESTEP = 19,

	KVMI_V12_NUM_EVENTS = 20,
};

/* ------------------------------------------------------------------ */
/* Structures that differ (sec. 3)                                     */
/* ------------------------------------------------------------------ */

struct kvmi_v12_features {
	__u8 singlestep;
	__u8 padding[7];
};

/* GET_VERSION reply: max_msg_size (8184) where v6/kvmi-v7 have 0. */
struct kvmi_v12_get_version_reply {
	__u32 version;
	__u32 max_msg_size;
	struct kvmi_v12_features features;
};

/* First in every event payload (both VM and vCPU events). */
struct kvmi_v12_event_hdr {
	__u16 event;
	__u16 padding1;
	__u32 padding2;
};

/* The vCPU event common part: v6's layout with no event byte and no view
 * (arch is struct kvmi_event_arch, mode then 7 padding bytes). */
struct kvmi_v12_vcpu_event {
	__u16 size; /* 544 */
	__u16 vcpu;
	__u32 padding;
	struct kvmi_event_arch arch;
};

struct kvmi_v12_vm_read_physical {
	__u64 gpa;
	__u16 size;
	__u16 padding1;
	__u32 padding2;
};

struct kvmi_v12_vm_write_physical {
	__u64 gpa;
	__u16 size;
	__u16 padding1;
	__u32 padding2;
	__u8 data[];
};

struct kvmi_v12_vm_pause_vcpu {
	__u16 vcpu;
	__u8 wait;
	__u8 padding1;
	__u32 padding2;
};

struct kvmi_v12_vm_control_cleanup {
	__u8 enable;
	__u8 padding[7];
};

struct kvmi_v12_vm_set_page_access {
	__u16 count;
	__u16 padding1;
	__u32 padding2;
	struct kvmi_page_access_entry entries[];
};

struct kvmi_v12_vcpu_control_cr {
	__u8 cr;
	__u8 enable;
	__u16 padding1;
	__u32 padding2;
};

struct kvmi_v12_vcpu_event_cr {
	__u8 cr;
	__u8 padding[7];
	__u64 old_value;
	__u64 new_value;
};

/* Whole payload sizes (sec. 3). */
#define KVMI_V12_VM_EVENT_SIZE 8
#define KVMI_V12_VCPU_EVENT_BASE_SIZE                                          \
	(sizeof(struct kvmi_v12_event_hdr) + sizeof(struct kvmi_v12_vcpu_event))

/* The QEMU handshake of the kvmi-v12 QEMU is 104 bytes (adds max_gpa):
 * struct kvmi_qemu2introspector_ext in wire.h. */
#define KVMI_V12_HANDSHAKE_QEMU_SIZE 104

/* ------------------------------------------------------------------ */
/* Compile-time layout checks                                          */
/* ------------------------------------------------------------------ */

KVMI__CHECK_SIZE(struct kvmi_v12_features, 8);
KVMI__CHECK_SIZE(struct kvmi_v12_get_version_reply, 16);
KVMI__CHECK_OFF(struct kvmi_v12_get_version_reply, max_msg_size, 4);
KVMI__CHECK_OFF(struct kvmi_v12_get_version_reply, features, 8);
KVMI__CHECK_SIZE(struct kvmi_v12_event_hdr, 8);
KVMI__CHECK_SIZE(struct kvmi_v12_vcpu_event, 544);
KVMI__CHECK_OFF(struct kvmi_v12_vcpu_event, vcpu, 2);
KVMI__CHECK_OFF(struct kvmi_v12_vcpu_event, arch, 8);
KVMI__CHECK_OFF(struct kvmi_v12_vcpu_event, arch.regs.rip, 144);
KVMI__CHECK_SIZE(struct kvmi_v12_vm_read_physical, 16);
KVMI__CHECK_OFF(struct kvmi_v12_vm_read_physical, size, 8);
KVMI__CHECK_SIZE(struct kvmi_v12_vm_write_physical, 16);
KVMI__CHECK_OFF(struct kvmi_v12_vm_write_physical, data, 16);
KVMI__CHECK_SIZE(struct kvmi_v12_vm_pause_vcpu, 8);
KVMI__CHECK_OFF(struct kvmi_v12_vm_pause_vcpu, wait, 2);
KVMI__CHECK_SIZE(struct kvmi_v12_vm_control_cleanup, 8);
KVMI__CHECK_SIZE(struct kvmi_v12_vm_set_page_access, 8);
KVMI__CHECK_OFF(struct kvmi_v12_vm_set_page_access, entries, 8);
KVMI__CHECK_SIZE(struct kvmi_v12_vcpu_control_cr, 8);
KVMI__CHECK_OFF(struct kvmi_v12_vcpu_control_cr, enable, 1);
KVMI__CHECK_SIZE(struct kvmi_v12_vcpu_event_cr, 24);
KVMI__CHECK_OFF(struct kvmi_v12_vcpu_event_cr, old_value, 8);
_Static_assert(KVMI_V12_VCPU_EVENT_BASE_SIZE == 552, "v12 vCPU event base");

#endif /* KVMI_WIRE_V12_H */
