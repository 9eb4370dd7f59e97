/*
 * libkvmi - wire-v7.h: the wire facts of the "kvmi-v7" dialect (KVM-VMI's
 * kvmi-v7 branch, Linux 5.4.24), both its 2021 and 2023 generations.
 *
 * Included by <kvmi/wire.h>; do not include it alone.  Facts come from
 * ../shared/protocol/KVMI-V7.md (section numbers below refer to it).
 * Names are the kernel's with a KVMI_V7_ / kvmi_v7_ prefix, because the
 * v12 dialect uses the same kernel names for other numbers.  Every
 * structure that is byte-identical to v6 (KVMI-V7.md sec. 4) is not
 * repeated: use the v6 one from wire.h.  Sizes and key offsets are
 * checked at compile time at the end.
 */
#ifndef KVMI_WIRE_V7_H
#define KVMI_WIRE_V7_H

#ifndef KVMI_WIRE_H
#error "include <kvmi/wire.h>, not <kvmi/wire-v7.h>"
#endif

/* ------------------------------------------------------------------ */
/* Message ids (sec. 3).  "2023" marks the v7-2023 additions; a        */
/* v7-2021 host answers them -KVM_ENOSYS.                              */
/* ------------------------------------------------------------------ */

enum {
	KVMI_V7_EVENT_REPLY = 0,
	KVMI_V7_EVENT = 1,
	KVMI_V7_GET_VERSION = 2,
	KVMI_V7_VM_CHECK_COMMAND = 3,
	KVMI_V7_VM_CHECK_EVENT = 4,
	KVMI_V7_VM_GET_INFO = 5,
	KVMI_V7_VCPU_GET_INFO = 6,
	KVMI_V7_VCPU_PAUSE = 7, /* vCPU header, but runs on the VM thread */
	KVMI_V7_VM_CONTROL_EVENTS = 8,
	KVMI_V7_VCPU_CONTROL_EVENTS = 9,
	KVMI_V7_VCPU_CONTROL_CR = 10,
	KVMI_V7_VCPU_CONTROL_MSR = 11,
	/* 12 (v6 CONTROL_VE) is gone */
	KVMI_V7_VCPU_GET_REGISTERS = 13,
	KVMI_V7_VCPU_SET_REGISTERS = 14,
	KVMI_V7_VCPU_GET_CPUID = 15,
	KVMI_V7_VCPU_GET_XSAVE = 16,
	KVMI_V7_VM_READ_PHYSICAL = 17,
	KVMI_V7_VM_WRITE_PHYSICAL = 18,
	KVMI_V7_VCPU_INJECT_EXCEPTION = 19,
	/* 20 (v6 GET_PAGE_ACCESS) is gone */
	KVMI_V7_VM_SET_PAGE_ACCESS = 21,
	KVMI_V7_VM_GET_MAP_TOKEN = 22,
	KVMI_V7_VCPU_GET_MTRR_TYPE = 23,
	KVMI_V7_VM_CONTROL_SPP = 24,
	/* 25 (v6 GET_PAGE_WRITE_BITMAP) is gone */
	KVMI_V7_VM_SET_PAGE_WRITE_BITMAP = 26, /* never allowable (sec. 3) */
	KVMI_V7_VM_CONTROL_CMD_RESPONSE = 27,
	KVMI_V7_VCPU_SET_VE_INFO = 28,
	KVMI_V7_VM_GET_MAX_GFN = 29,
	KVMI_V7_VM_SET_PAGE_SVE = 30,
	KVMI_V7_VM_GET_NEXT_AVAILABLE_GFN = 31, /* 2023 */
	KVMI_V7_VCPU_SET_EPT_VIEW = 32,
	KVMI_V7_VCPU_DISABLE_VE = 33,
	KVMI_V7_VCPU_GET_EPT_VIEW = 34,
	KVMI_V7_VCPU_TRANSLATE_GVA = 35,
	KVMI_V7_VCPU_CONTROL_EPT_VIEW = 36,
	KVMI_V7_VCPU_GET_XCR = 37,
	KVMI_V7_VCPU_SET_XSAVE = 38,
	KVMI_V7_VM_QUERY_PHYSICAL = 39,	  /* 2023 */
	KVMI_V7_VCPU_ALLOC_GFN = 41,	  /* 2023 */
	KVMI_V7_VCPU_FREE_GFN = 42,	  /* 2023 */
	KVMI_V7_VM_CREATE_EPT_VIEW = 43,  /* 2023 */
	KVMI_V7_VM_DESTROY_EPT_VIEW = 44, /* 2023 */
	KVMI_V7_VCPU_CHANGE_GFN = 60,
	KVMI_V7_VCPU_CONTROL_SINGLESTEP = 63,

	KVMI_V7_NUM_MESSAGES = 64,
};

/* Known-command masks (sec. 3): what QEMU's allow-all can allow.  26 is
 * missing from both, so SET_PAGE_WRITE_BITMAP always gets -KVM_EPERM. */
#define KVMI_V7_2021_KNOWN_COMMANDS                                            \
	((0x3ffull << 2) /* 2-11 */ | (0x7full << 13) /* 13-19 */ |            \
	 (0xfull << 21) /* 21-24 */ | (0xfull << 27) /* 27-30 */ |             \
	 (0x7full << 32) /* 32-38 */ | (1ull << 60) | (1ull << 63))
#define KVMI_V7_2023_KNOWN_COMMANDS                                            \
	(KVMI_V7_2021_KNOWN_COMMANDS | (1ull << 31) | (1ull << 39) |           \
	 (0xfull << 41) /* 41-44 */)

/* ------------------------------------------------------------------ */
/* Event ids (sec. 7): the v6 ones plus two                            */
/* ------------------------------------------------------------------ */

enum {
	KVMI_V7_EVENT_CMD_ERROR = 12, /* no reply; vcpu 0, zero arch */
	KVMI_V7_EVENT_CPUID = 13,
	KVMI_V7_NUM_EVENTS = 14,
};

/* Page-access bit accepted only by SET_PAGE_SVE semantics (sec. 10.2);
 * SET_PAGE_ACCESS refuses it. */
#define KVMI_V7_PAGE_SVE 8

/* Error codes beyond v6's (sec. 2): ALLOC/FREE_GFN without QEMU's helper */
#ifndef KVM_ETIME
#define KVM_ETIME 62
#endif

/* Views: v7-2021 has three fixed views, v7-2023 up to 511 created ones. */
#define KVMI_V7_2021_MAX_EPT_VIEWS 3
#define KVMI_V7_2023_MAX_EPT_VIEWS 512

/* ------------------------------------------------------------------ */
/* Structures that differ from v6 or are new (sec. 4)                  */
/* ------------------------------------------------------------------ */

/* GET_VERSION reply: 16 bytes; padding is 0 (v12 puts 8184 there). */
struct kvmi_v7_features {
	__u8 spp;
	__u8 vmfunc;
	__u8 eptp;
	__u8 ve;
	__u8 singlestep;
	__u8 padding[3];
};

struct kvmi_v7_get_version_reply {
	__u32 version;
	__u32 padding;
	struct kvmi_v7_features features;
};

/* Event common part: byte 2-3 of arch is the vCPU's current EPT view. */
struct kvmi_v7_event_arch {
	__u8 mode;
	__u8 padding1;
	__u16 view;
	__u32 padding2;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvmi_event_msrs msrs;
};

struct kvmi_v7_event {
	__u16 size;
	__u16 vcpu;
	__u8 event;
	__u8 padding[3];
	struct kvmi_v7_event_arch arch;
};

/* the view of a (v6-typed) decoded v7 event common struct */
static inline __u16 kvmi_v7_event_view(const struct kvmi_event *ev)
{
	return ev->arch.view;
}

struct kvmi_v7_event_trap {
	__u8 vector;
	__u8 padding1;
	__u16 padding2;
	__u32 error_code;
	__u64 cr2;
};

struct kvmi_v7_event_singlestep {
	__u8 failed;
	__u8 padding[7];
};

struct kvmi_v7_event_cpuid {
	__u32 function;
	__u32 index;
	__u8 insn_length;
	__u8 padding1[3];
	__u32 padding2;
};

struct kvmi_v7_event_cmd_error {
	__s32 err;
	__u32 msg_seq;
	__u16 msg_id;
	__u16 padding1;
	__u32 padding2;
};

/* PF event: bytes 18-19 are padding (the view is in arch.view). */
struct kvmi_v7_event_pf {
	__u64 gva;
	__u64 gpa;
	__u8 access;
	__u8 padding1;
	__u16 padding2;
	__u32 padding3;
};

/* PF reply: byte 12 (v6 singlestep) is padding; non-zero closes. */
struct kvmi_v7_event_pf_reply {
	__u64 ctx_addr;
	__u32 ctx_size;
	__u8 padding1;
	__u8 rep_complete;
	__u16 padding2;
	__u8 ctx_data[256];
};

/* INJECT_EXCEPTION: byte 1 (v6 has_error) is padding; the host decides
 * whether the vector carries the error code. */
struct kvmi_v7_vcpu_inject_exception {
	__u8 nr;
	__u8 padding1;
	__u16 padding2;
	__u32 error_code;
	__u64 address;
};

struct kvmi_v7_vm_control_cmd_response {
	__u8 enable;
	__u8 now;
	__u8 flags; /* bit 0: CMD_ERROR events while replies are off */
	__u8 padding1;
	__u32 padding2;
};
#define KVMI_V7_CMD_RESPONSE_ERROR_EVENTS 1

/* SET_PAGE_WRITE_BITMAP: v6's view is padding here. */
struct kvmi_v7_vm_set_page_write_bitmap {
	__u16 padding1;
	__u16 count;
	__u32 padding2;
	struct kvmi_page_write_bitmap_entry entries[];
};

struct kvmi_v7_vm_set_page_sve {
	__u16 view;
	__u8 suppress;
	__u8 padding1;
	__u32 padding2;
	__u64 gpa;
};

struct kvmi_v7_vcpu_get_ept_view_reply {
	__u16 view;
	__u16 padding1;
	__u32 padding2;
};

struct kvmi_v7_vcpu_set_ept_view {
	__u16 view;
	__u16 padding1;
	__u32 padding2;
};

struct kvmi_v7_vcpu_control_ept_view {
	__u16 view;
	__u8 visible;
	__u8 padding1;
	__u32 padding2;
};

struct kvmi_v7_vcpu_set_ve_info {
	__u64 gpa;
	__u8 trigger_vmexit;
	__u8 padding1;
	__u16 padding2;
	__u32 padding3;
};

struct kvmi_v7_vcpu_get_xcr {
	__u8 xcr;
	__u8 padding[7];
};

struct kvmi_v7_vcpu_get_xcr_reply {
	__u64 value;
};

struct kvmi_v7_vcpu_translate_gva {
	__u64 gva;
};

struct kvmi_v7_vcpu_translate_gva_reply {
	__u64 gpa; /* ~0 when unmapped */
};

struct kvmi_v7_vcpu_control_singlestep {
	__u8 enable;
	__u8 padding[7];
};

/* CHANGE_GFN, v7-2021: in the vCPU's current view. */
struct kvmi_v7_vcpu_change_gfn {
	__u64 old_gfn;
	__u64 new_gfn;
};

/* CHANGE_GFN, v7-2023: explicit view. */
struct kvmi_v7_2023_vcpu_change_gfn {
	__u16 view;
	__u16 padding1;
	__u32 padding2;
	__u64 old_gfn;
	__u64 new_gfn;
};

/* QUERY_PHYSICAL (2023) */
struct kvmi_v7_vm_query_physical {
	__u64 gfn;
};

struct kvmi_v7_vm_query_physical_reply {
	__u64 gfn;  /* memslot base */
	__u64 size; /* memslot pages */
};

/* GET_NEXT_AVAILABLE_GFN reply (2023) */
struct kvmi_v7_vm_get_next_available_gfn_reply {
	__u64 gfn;
};

/* ALLOC_GFN / FREE_GFN (2023; vCPU 0 only, sec. 10.6) */
struct kvmi_v7_vcpu_alloc_gfn {
	__u64 gfn;
};

struct kvmi_v7_vcpu_free_gfn {
	__u64 gfn;
};

/* CREATE_EPT_VIEW reply / DESTROY_EPT_VIEW request (2023) */
struct kvmi_v7_vm_create_ept_view_reply {
	__u16 view;
	__u16 padding1;
	__u32 padding2;
};

struct kvmi_v7_vm_destroy_ept_view {
	__u16 view;
	__u16 padding1;
	__u32 padding2;
};

/* ------------------------------------------------------------------ */
/* Compile-time layout checks (sec. 4)                                 */
/* ------------------------------------------------------------------ */

_Static_assert(__builtin_popcountll(KVMI_V7_2021_KNOWN_COMMANDS) == 34,
	       "v7-2021 known commands");
_Static_assert(__builtin_popcountll(KVMI_V7_2023_KNOWN_COMMANDS) == 40,
	       "v7-2023 known commands");
KVMI__CHECK_SIZE(struct kvmi_v7_features, 8);
KVMI__CHECK_OFF(struct kvmi_v7_features, singlestep, 4);
KVMI__CHECK_SIZE(struct kvmi_v7_get_version_reply, 16);
KVMI__CHECK_OFF(struct kvmi_v7_get_version_reply, features, 8);
KVMI__CHECK_SIZE(struct kvmi_v7_event_arch, 536);
KVMI__CHECK_OFF(struct kvmi_v7_event_arch, view, 2);
KVMI__CHECK_OFF(struct kvmi_v7_event_arch, regs, 8);
KVMI__CHECK_OFF(struct kvmi_v7_event_arch, msrs, 464);
KVMI__CHECK_SIZE(struct kvmi_v7_event, 544);
KVMI__CHECK_OFF(struct kvmi_v7_event, arch.view, 10);
KVMI__CHECK_OFF(struct kvmi_v7_event, arch.regs.rip, 144);
KVMI__CHECK_OFF(struct kvmi_v7_event, arch.sregs.cr3, 400);
KVMI__CHECK_OFF(struct kvmi_v7_event, arch.msrs, 472);
KVMI__CHECK_SIZE(struct kvmi_v7_event_trap, 16);
KVMI__CHECK_OFF(struct kvmi_v7_event_trap, error_code, 4);
KVMI__CHECK_OFF(struct kvmi_v7_event_trap, cr2, 8);
KVMI__CHECK_SIZE(struct kvmi_v7_event_singlestep, 8);
KVMI__CHECK_SIZE(struct kvmi_v7_event_cpuid, 16);
KVMI__CHECK_OFF(struct kvmi_v7_event_cpuid, insn_length, 8);
KVMI__CHECK_OFF(struct kvmi_v7_event_cpuid, padding2, 12);
KVMI__CHECK_SIZE(struct kvmi_v7_event_cmd_error, 16);
KVMI__CHECK_OFF(struct kvmi_v7_event_cmd_error, msg_seq, 4);
KVMI__CHECK_OFF(struct kvmi_v7_event_cmd_error, msg_id, 8);
KVMI__CHECK_SIZE(struct kvmi_v7_event_pf, 24);
KVMI__CHECK_OFF(struct kvmi_v7_event_pf, access, 16);
KVMI__CHECK_OFF(struct kvmi_v7_event_pf, padding2, 18);
KVMI__CHECK_SIZE(struct kvmi_v7_event_pf_reply, 272);
KVMI__CHECK_OFF(struct kvmi_v7_event_pf_reply, padding1, 12);
KVMI__CHECK_OFF(struct kvmi_v7_event_pf_reply, rep_complete, 13);
KVMI__CHECK_OFF(struct kvmi_v7_event_pf_reply, ctx_data, 16);
KVMI__CHECK_SIZE(struct kvmi_v7_vcpu_inject_exception, 16);
KVMI__CHECK_OFF(struct kvmi_v7_vcpu_inject_exception, padding1, 1);
KVMI__CHECK_OFF(struct kvmi_v7_vcpu_inject_exception, error_code, 4);
KVMI__CHECK_OFF(struct kvmi_v7_vcpu_inject_exception, address, 8);
KVMI__CHECK_SIZE(struct kvmi_v7_vm_control_cmd_response, 8);
KVMI__CHECK_OFF(struct kvmi_v7_vm_control_cmd_response, flags, 2);
KVMI__CHECK_SIZE(struct kvmi_v7_vm_set_page_write_bitmap, 8);
KVMI__CHECK_OFF(struct kvmi_v7_vm_set_page_write_bitmap, count, 2);
KVMI__CHECK_SIZE(struct kvmi_v7_vm_set_page_sve, 16);
KVMI__CHECK_OFF(struct kvmi_v7_vm_set_page_sve, suppress, 2);
KVMI__CHECK_OFF(struct kvmi_v7_vm_set_page_sve, gpa, 8);
KVMI__CHECK_SIZE(struct kvmi_v7_vcpu_get_ept_view_reply, 8);
KVMI__CHECK_SIZE(struct kvmi_v7_vcpu_set_ept_view, 8);
KVMI__CHECK_SIZE(struct kvmi_v7_vcpu_control_ept_view, 8);
KVMI__CHECK_OFF(struct kvmi_v7_vcpu_control_ept_view, visible, 2);
KVMI__CHECK_SIZE(struct kvmi_v7_vcpu_set_ve_info, 16);
KVMI__CHECK_OFF(struct kvmi_v7_vcpu_set_ve_info, trigger_vmexit, 8);
KVMI__CHECK_SIZE(struct kvmi_v7_vcpu_get_xcr, 8);
KVMI__CHECK_SIZE(struct kvmi_v7_vcpu_get_xcr_reply, 8);
KVMI__CHECK_SIZE(struct kvmi_v7_vcpu_translate_gva, 8);
KVMI__CHECK_SIZE(struct kvmi_v7_vcpu_translate_gva_reply, 8);
KVMI__CHECK_SIZE(struct kvmi_v7_vcpu_control_singlestep, 8);
KVMI__CHECK_SIZE(struct kvmi_v7_vcpu_change_gfn, 16);
KVMI__CHECK_OFF(struct kvmi_v7_vcpu_change_gfn, new_gfn, 8);
KVMI__CHECK_SIZE(struct kvmi_v7_2023_vcpu_change_gfn, 24);
KVMI__CHECK_OFF(struct kvmi_v7_2023_vcpu_change_gfn, old_gfn, 8);
KVMI__CHECK_OFF(struct kvmi_v7_2023_vcpu_change_gfn, new_gfn, 16);
KVMI__CHECK_SIZE(struct kvmi_v7_vm_query_physical, 8);
KVMI__CHECK_SIZE(struct kvmi_v7_vm_query_physical_reply, 16);
KVMI__CHECK_OFF(struct kvmi_v7_vm_query_physical_reply, size, 8);
KVMI__CHECK_SIZE(struct kvmi_v7_vm_get_next_available_gfn_reply, 8);
KVMI__CHECK_SIZE(struct kvmi_v7_vcpu_alloc_gfn, 8);
KVMI__CHECK_SIZE(struct kvmi_v7_vcpu_free_gfn, 8);
KVMI__CHECK_SIZE(struct kvmi_v7_vm_create_ept_view_reply, 8);
KVMI__CHECK_SIZE(struct kvmi_v7_vm_destroy_ept_view, 8);

#endif /* KVMI_WIRE_V7_H */
