/*
 * libkvmi - wire.h: the KVMI wire ABI (protocol version 1, "v6 era").
 *
 * Message ids, event ids, actions, page-access bits, host error codes and
 * every request / reply / event structure exchanged between an
 * introspection tool and a KVMI-enabled host kernel, plus the QEMU
 * handshake structures.  Names follow the kernel's uapi header so code
 * written against <linux/kvmi.h> reads the same; sizes and offsets are
 * those of ../shared/protocol/KVMI-PROTOCOL.md (x86-64) and are checked at
 * compile time below.
 *
 * This header is self-contained: it needs only <linux/types.h> and
 * <linux/kvm.h> (for struct kvm_regs, kvm_sregs, kvm_msrs, kvm_xsave),
 * which every stock Linux system ships.  It must not be combined with a
 * kernel's own <linux/kvmi.h> in one translation unit.
 *
 * All integers are in host byte order (little-endian on x86-64).  Every
 * field named padding* must be sent as zero.
 *
 * The other dialects a host may speak (enum kvmi_dialect) are described
 * in <kvmi/wire-v7.h> (kvmi-v7, 2021 and 2023) and <kvmi/wire-v12.h> (the
 * 2021 upstream series), included at the end of this header.
 */
#ifndef KVMI_WIRE_H
#define KVMI_WIRE_H

#include <linux/types.h>
#include <linux/kvm.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The dialects of the protocol (all report version 1 in GET_VERSION; the
 * reply's size and contents tell them apart, KVMI-V7.md sec. 14).
 */
enum kvmi_dialect {
	KVMI_DIALECT_V6 = 0,	  /* KVMI-PROTOCOL.md: this header */
	KVMI_DIALECT_V7 = 1,	  /* kvmi-v7 branch, 2021 generation */
	KVMI_DIALECT_V7_2023 = 2, /* kvmi-v7 branch after the 2023 additions */
	KVMI_DIALECT_V12 = 3,	  /* kvmi-v12 branch / 2021 series */
};
#define KVMI_NUM_DIALECTS 4

/* ------------------------------------------------------------------ */
/* Versions and limits                                                 */
/* ------------------------------------------------------------------ */

#define KVMI_VERSION 0x00000001

/* Largest payload (after the 8-byte header) the host accepts from a tool. */
#define KVMI_MSG_SIZE (4096 * 2 - sizeof(struct kvmi_msg_hdr))
#define KVMI_MSG_SIZE_VALUE 8184
/* Largest payload a host sends (GET_REGISTERS with 482 MSRs). */
#define KVMI_HOST_MSG_SIZE_VALUE 8192

#define KVMI_PAGE_SHIFT 12
#define KVMI_PAGE_SIZE 4096u

/* Derived per-message limits (see the protocol reference, sec. 3.2). */
#define KVMI_SET_PAGE_ACCESS_MAX_ENTRIES 511
#define KVMI_GET_PAGE_ACCESS_MAX_GPAS 1022
#define KVMI_SET_PAGE_WRITE_BITMAP_MAX_ENTRIES 511
#define KVMI_GET_PAGE_WRITE_BITMAP_MAX_GPAS 1022
#define KVMI_GET_REGISTERS_MAX_MSRS 482
#define KVMI_PF_REPLY_CTX_MAX 256

/* ------------------------------------------------------------------ */
/* Message ids (sec. 4.1)                                              */
/* ------------------------------------------------------------------ */

enum {
	KVMI_EVENT_REPLY = 0,
	KVMI_EVENT = 1,

	KVMI_GET_VERSION = 2,
	KVMI_CHECK_COMMAND = 3,
	KVMI_CHECK_EVENT = 4,
	KVMI_GET_GUEST_INFO = 5,
	KVMI_GET_VCPU_INFO = 6,
	KVMI_PAUSE_VCPU = 7,
	KVMI_CONTROL_VM_EVENTS = 8,
	KVMI_CONTROL_EVENTS = 9,
	KVMI_CONTROL_CR = 10,
	KVMI_CONTROL_MSR = 11,
	KVMI_CONTROL_VE = 12, /* reserved: no handler in v6 */
	KVMI_GET_REGISTERS = 13,
	KVMI_SET_REGISTERS = 14,
	KVMI_GET_CPUID = 15,
	KVMI_GET_XSAVE = 16,
	KVMI_READ_PHYSICAL = 17,
	KVMI_WRITE_PHYSICAL = 18,
	KVMI_INJECT_EXCEPTION = 19,
	KVMI_GET_PAGE_ACCESS = 20,
	KVMI_SET_PAGE_ACCESS = 21,
	KVMI_GET_MAP_TOKEN = 22,
	KVMI_GET_MTRR_TYPE = 23,
	KVMI_CONTROL_SPP = 24,
	KVMI_GET_PAGE_WRITE_BITMAP = 25,
	KVMI_SET_PAGE_WRITE_BITMAP = 26,
	KVMI_CONTROL_CMD_RESPONSE = 27,
	/* 28 is unused in v6 (KVMI_SET_VE_INFO_PAGE in the extension) */
	KVMI_GET_MAX_GFN = 29,

	KVMI_NEXT_AVAILABLE_COMMAND = 30,
};

/*
 * Bitdefender extension messages (NOT part of protocol version 1 "v6";
 * a v6 host answers every one of them with -KVM_EOPNOTSUPP).  Declared so
 * our id space never collides with them.
 */
enum {
	KVMI_EXT_SET_VE_INFO_PAGE = 28,
	KVMI_EXT_GET_NEXT_AVAILABLE_GFN = 31,
	KVMI_EXT_SWITCH_EPT_VIEW = 32,
	KVMI_EXT_DISABLE_VE = 33,
	KVMI_EXT_GET_EPT_VIEW = 34,
	KVMI_EXT_VCPU_TRANSLATE_GVA = 35,
	KVMI_EXT_CONTROL_EPT_VIEW = 36,
	KVMI_EXT_VCPU_GET_XCR = 37,
	KVMI_EXT_VCPU_SET_XSAVE = 38,
	KVMI_EXT_QUERY_PHYSICAL = 39,
	KVMI_EXT_VCPU_ALLOC_GFN = 41,
	KVMI_EXT_VCPU_FREE_GFN = 42,
	KVMI_EXT_CREATE_EPT_VIEW = 43,
	KVMI_EXT_DESTROY_EPT_VIEW = 44,
	KVMI_EXT_VCPU_CHANGE_GFN = 60,
	KVMI_EXT_VCPU_CONTROL_SINGLESTEP = 63,
	KVMI_EXT_NUM_MESSAGES = 64,
};

/* ------------------------------------------------------------------ */
/* Event ids (sec. 5)                                                  */
/* ------------------------------------------------------------------ */

enum {
	KVMI_EVENT_UNHOOK = 0,
	KVMI_EVENT_CR = 1,
	KVMI_EVENT_MSR = 2,
	KVMI_EVENT_XSETBV = 3,
	KVMI_EVENT_BREAKPOINT = 4,
	KVMI_EVENT_HYPERCALL = 5,
	KVMI_EVENT_PF = 6,
	KVMI_EVENT_TRAP = 7,
	KVMI_EVENT_DESCRIPTOR = 8,
	KVMI_EVENT_CREATE_VCPU = 9,
	KVMI_EVENT_PAUSE_VCPU = 10,
	KVMI_EVENT_SINGLESTEP = 11,

	KVMI_NUM_EVENTS = 12,
};

/* Extension event (not part of v6). */
#define KVMI_EXT_EVENT_CPUID 13

/* Event reply actions. */
enum {
	KVMI_EVENT_ACTION_CONTINUE = 0,
	KVMI_EVENT_ACTION_RETRY = 1,
	KVMI_EVENT_ACTION_CRASH = 2,
};

/* Page-access bits (SET/GET_PAGE_ACCESS, PF event). */
enum {
	KVMI_PAGE_ACCESS_R = 1 << 0,
	KVMI_PAGE_ACCESS_W = 1 << 1,
	KVMI_PAGE_ACCESS_X = 1 << 2,
};
#define KVMI_PAGE_ACCESS_RWX                                                   \
	(KVMI_PAGE_ACCESS_R | KVMI_PAGE_ACCESS_W | KVMI_PAGE_ACCESS_X)
/* Extension only: suppress #VE. */
#define KVMI_EXT_PAGE_ACCESS_SVE (1 << 3)

/* Descriptor ids of KVMI_EVENT_DESCRIPTOR. */
enum {
	KVMI_DESC_IDTR = 1,
	KVMI_DESC_GDTR = 2,
	KVMI_DESC_LDTR = 3,
	KVMI_DESC_TR = 4,
};

/* x86 vCPU modes reported in kvmi_event_arch.mode / get_registers_reply. */
#define KVMI_MODE_16 2
#define KVMI_MODE_32 4
#define KVMI_MODE_64 8

/* ------------------------------------------------------------------ */
/* Host error codes (sec. 3.7): sent negated in kvmi_error_code.err.   */
/* ------------------------------------------------------------------ */

#ifndef KVM_EPERM
#define KVM_EPERM 1
#endif
#ifndef KVM_ENOENT
#define KVM_ENOENT 2
#endif
#ifndef KVM_E2BIG
#define KVM_E2BIG 7
#endif
#ifndef KVM_EAGAIN
#define KVM_EAGAIN 11
#endif
#ifndef KVM_ENOMEM
#define KVM_ENOMEM 12
#endif
#ifndef KVM_EFAULT
#define KVM_EFAULT 14
#endif
#ifndef KVM_EBUSY
#define KVM_EBUSY 16
#endif
#ifndef KVM_EINVAL
#define KVM_EINVAL 22
#endif
#ifndef KVM_EOPNOTSUPP
#define KVM_EOPNOTSUPP 95
#endif
#ifndef KVM_ENOSYS
#define KVM_ENOSYS 1000
#endif

/* ------------------------------------------------------------------ */
/* Common structures (sec. 6.2)                                        */
/* ------------------------------------------------------------------ */

struct kvmi_msg_hdr {
	__u16 id;
	__u16 size; /* payload bytes following this header */
	__u32 seq;
};

struct kvmi_error_code {
	__s32 err; /* 0 or -KVM_E* */
	__u32 padding;
};

struct kvmi_vcpu_hdr {
	__u16 vcpu;
	__u16 padding1;
	__u32 padding2;
};

/* ------------------------------------------------------------------ */
/* Command requests and replies (sec. 6.3)                             */
/* ------------------------------------------------------------------ */

struct kvmi_get_version_reply {
	__u32 version;
	__u32 padding;
};

/* Extension hosts append this block to the version reply (16 bytes). */
struct kvmi_ext_features {
	__u8 spp;
	__u8 vmfunc;
	__u8 eptp;
	__u8 ve;
	__u8 padding[4];
};

struct kvmi_control_cmd_response {
	__u8 enable;
	__u8 now;
	__u16 padding1;
	__u32 padding2;
};

struct kvmi_check_command {
	__u16 id;
	__u16 padding1;
	__u32 padding2;
};

struct kvmi_check_event {
	__u16 id;
	__u16 padding1;
	__u32 padding2;
};

struct kvmi_get_guest_info_reply {
	__u32 vcpu_count;
	__u32 padding[3];
};

struct kvmi_get_vcpu_info_reply {
	__u64 tsc_speed;
};

struct kvmi_pause_vcpu {
	__u8 wait;
	__u8 padding1;
	__u16 padding2;
	__u32 padding3;
};

struct kvmi_control_vm_events {
	__u16 event_id;
	__u8 enable;
	__u8 padding1;
	__u32 padding2;
};

struct kvmi_control_events {
	__u16 event_id;
	__u8 enable;
	__u8 padding1;
	__u32 padding2;
};

struct kvmi_control_cr {
	__u8 enable;
	__u8 padding1;
	__u16 padding2;
	__u32 cr;
};

struct kvmi_control_msr {
	__u8 enable;
	__u8 padding1;
	__u16 padding2;
	__u32 msr;
};

struct kvmi_get_registers {
	__u16 nmsrs;
	__u16 padding1;
	__u32 padding2;
	__u32 msrs_idx[];
};

struct kvmi_get_registers_reply {
	__u32 mode;
	__u32 padding;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_msrs msrs; /* nmsrs kvm_msr_entry follow */
};

struct kvmi_get_cpuid {
	__u32 function;
	__u32 index;
};

struct kvmi_get_cpuid_reply {
	__u32 eax;
	__u32 ebx;
	__u32 ecx;
	__u32 edx;
};

struct kvmi_get_xsave_reply {
	__u32 region[0];
};

struct kvmi_read_physical {
	__u64 gpa;
	__u64 size;
};

struct kvmi_write_physical {
	__u64 gpa;
	__u64 size;
	__u8 data[];
};

/* v6 layout (the extension renames has_error/padding, see sec. 11). */
struct kvmi_inject_exception {
	__u8 nr;
	__u8 has_error;
	__u16 padding;
	__u32 error_code;
	__u64 address;
};

struct kvmi_get_page_access {
	__u16 view;
	__u16 count;
	__u32 padding;
	__u64 gpa[];
};

struct kvmi_get_page_access_reply {
	__u8 access[0];
};

struct kvmi_page_access_entry {
	__u64 gpa;
	__u8 access;
	__u8 padding1;
	__u16 padding2;
	__u32 padding3;
};

struct kvmi_set_page_access {
	__u16 view;
	__u16 count;
	__u32 padding;
	struct kvmi_page_access_entry entries[];
};

struct kvmi_control_spp {
	__u8 enable;
	__u8 padding1;
	__u16 padding2;
	__u32 padding3;
};

struct kvmi_get_page_write_bitmap {
	__u16 view;
	__u16 count;
	__u32 padding;
	__u64 gpa[];
};

struct kvmi_get_page_write_bitmap_reply {
	__u32 bitmap[0];
};

struct kvmi_page_write_bitmap_entry {
	__u64 gpa;
	__u32 bitmap;
	__u32 padding;
};

struct kvmi_set_page_write_bitmap {
	__u16 view;
	__u16 count;
	__u32 padding;
	struct kvmi_page_write_bitmap_entry entries[];
};

struct kvmi_get_mtrr_type {
	__u64 gpa;
};

struct kvmi_get_mtrr_type_reply {
	__u8 type;
	__u8 padding[7];
};

struct kvmi_map_mem_token {
	__u64 token[4];
};

struct kvmi_get_map_token_reply {
	struct kvmi_map_mem_token token;
};

/* Guest-side remote-mapping ioctl argument (for completeness). */
struct kvmi_mem_map {
	struct kvmi_map_mem_token token;
	__u64 gpa;
	__u64 gva;
};

struct kvmi_get_max_gfn_reply {
	__u64 gfn;
};

/* ------------------------------------------------------------------ */
/* Events (sec. 6.4)                                                   */
/* ------------------------------------------------------------------ */

/* The MSRs every event carries (the same in every dialect). */
struct kvmi_event_msrs {
	__u64 sysenter_cs;
	__u64 sysenter_esp;
	__u64 sysenter_eip;
	__u64 efer;
	__u64 star;
	__u64 lstar;
	__u64 cstar;
	__u64 pat;
	__u64 shadow_gs;
};

struct kvmi_event_arch {
	__u8 mode; /* 2, 4 or 8 */
	__u8 padding1;
	__u16 view; /* padding (0) in v6; the EPT view in the extension */
	__u8 padding2[4];
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvmi_event_msrs msrs;
};

struct kvmi_event {
	__u16 size; /* common struct size as built by the host */
	__u16 vcpu;
	__u8 event;
	__u8 padding[3];
	struct kvmi_event_arch arch;
};

struct kvmi_event_reply {
	__u8 action;
	__u8 event;
	__u16 padding1;
	__u32 padding2;
};

struct kvmi_event_cr {
	__u16 cr;
	__u16 padding[3];
	__u64 old_value;
	__u64 new_value;
};

struct kvmi_event_cr_reply {
	__u64 new_val;
};

struct kvmi_event_msr {
	__u32 msr;
	__u32 padding;
	__u64 old_value;
	__u64 new_value;
};

struct kvmi_event_msr_reply {
	__u64 new_val;
};

struct kvmi_event_breakpoint {
	__u64 gpa;
	__u8 insn_len;
	__u8 padding[7];
};

struct kvmi_event_pf {
	__u64 gva;
	__u64 gpa;
	__u8 access;
	__u8 padding1;
	__u16 view;
	__u32 padding2;
};

struct kvmi_event_pf_reply {
	__u64 ctx_addr;
	__u32 ctx_size;
	__u8 singlestep;
	__u8 rep_complete;
	__u16 padding;
	__u8 ctx_data[256];
};

/* v6 layout (the extension's is 16 bytes, see sec. 11). */
struct kvmi_event_trap {
	__u32 vector;
	__u32 type;
	__u32 error_code;
	__u32 padding;
	__u64 cr2;
};

struct kvmi_event_descriptor {
	__u8 descriptor;
	__u8 write;
	__u8 padding[6];
};

/* ------------------------------------------------------------------ */
/* QEMU handshake (sec. 2)                                             */
/* ------------------------------------------------------------------ */

/* QEMU -> tool.  struct_size counts every byte QEMU sends. */
struct kvmi_qemu2introspector {
	__u32 struct_size;
	__u8 uuid[16];
	__u32 padding;
	__s64 start_time;
	char name[64];
	/* newer KVM-VMI QEMU appends __u64 max_gpa (struct_size 104) */
};

/* Newest KVM-VMI QEMU form (struct_size 104). */
struct kvmi_qemu2introspector_ext {
	struct kvmi_qemu2introspector base;
	__u64 max_gpa;
};

/* tool -> QEMU. */
struct kvmi_introspector2qemu {
	__u32 struct_size;    /* send 24 */
	__u8 cookie_hash[20]; /* SHA-1 of the shared secret */
};

#define KVMI_HANDSHAKE_MIN_QEMU_SIZE 32 /* offsetof(name) */
#define KVMI_HANDSHAKE_MAX_QEMU_SIZE 65536
#define KVMI_HANDSHAKE_COOKIE_LEN 20

/* ------------------------------------------------------------------ */
/* Whole-message payload sizes (sec. 6.5)                              */
/* ------------------------------------------------------------------ */

#define KVMI_EVENT_REPLY_BASE_SIZE                                             \
	(sizeof(struct kvmi_vcpu_hdr) + sizeof(struct kvmi_event_reply))

/* ------------------------------------------------------------------ */
/* Compile-time layout checks (x86-64 values from the reference)       */
/* ------------------------------------------------------------------ */

#define KVMI__CHECK_SIZE(t, n) _Static_assert(sizeof(t) == (n), #t " size")
#define KVMI__CHECK_OFF(t, f, n)                                               \
	_Static_assert(__builtin_offsetof(t, f) == (n), #t "." #f " offset")

KVMI__CHECK_SIZE(struct kvm_regs, 144);
KVMI__CHECK_SIZE(struct kvm_segment, 24);
KVMI__CHECK_SIZE(struct kvm_dtable, 16);
KVMI__CHECK_SIZE(struct kvm_sregs, 312);
KVMI__CHECK_SIZE(struct kvm_msr_entry, 16);
KVMI__CHECK_SIZE(struct kvm_msrs, 8);
KVMI__CHECK_SIZE(struct kvm_xsave, 4096);

KVMI__CHECK_SIZE(struct kvmi_msg_hdr, 8);
KVMI__CHECK_OFF(struct kvmi_msg_hdr, size, 2);
KVMI__CHECK_OFF(struct kvmi_msg_hdr, seq, 4);
KVMI__CHECK_SIZE(struct kvmi_error_code, 8);
KVMI__CHECK_SIZE(struct kvmi_vcpu_hdr, 8);
KVMI__CHECK_OFF(struct kvmi_vcpu_hdr, padding2, 4);

KVMI__CHECK_SIZE(struct kvmi_get_version_reply, 8);
KVMI__CHECK_SIZE(struct kvmi_ext_features, 8);
KVMI__CHECK_SIZE(struct kvmi_control_cmd_response, 8);
KVMI__CHECK_OFF(struct kvmi_control_cmd_response, now, 1);
KVMI__CHECK_SIZE(struct kvmi_check_command, 8);
KVMI__CHECK_SIZE(struct kvmi_check_event, 8);
KVMI__CHECK_SIZE(struct kvmi_get_guest_info_reply, 16);
KVMI__CHECK_SIZE(struct kvmi_get_vcpu_info_reply, 8);
KVMI__CHECK_SIZE(struct kvmi_pause_vcpu, 8);
KVMI__CHECK_SIZE(struct kvmi_control_vm_events, 8);
KVMI__CHECK_OFF(struct kvmi_control_vm_events, enable, 2);
KVMI__CHECK_SIZE(struct kvmi_control_events, 8);
KVMI__CHECK_OFF(struct kvmi_control_events, enable, 2);
KVMI__CHECK_SIZE(struct kvmi_control_cr, 8);
KVMI__CHECK_OFF(struct kvmi_control_cr, cr, 4);
KVMI__CHECK_SIZE(struct kvmi_control_msr, 8);
KVMI__CHECK_OFF(struct kvmi_control_msr, msr, 4);
KVMI__CHECK_SIZE(struct kvmi_get_registers, 8);
KVMI__CHECK_OFF(struct kvmi_get_registers, msrs_idx, 8);
KVMI__CHECK_SIZE(struct kvmi_get_registers_reply, 472);
KVMI__CHECK_OFF(struct kvmi_get_registers_reply, regs, 8);
KVMI__CHECK_OFF(struct kvmi_get_registers_reply, sregs, 152);
KVMI__CHECK_OFF(struct kvmi_get_registers_reply, msrs, 464);
KVMI__CHECK_SIZE(struct kvmi_get_cpuid, 8);
KVMI__CHECK_SIZE(struct kvmi_get_cpuid_reply, 16);
KVMI__CHECK_SIZE(struct kvmi_read_physical, 16);
KVMI__CHECK_SIZE(struct kvmi_write_physical, 16);
KVMI__CHECK_OFF(struct kvmi_write_physical, data, 16);
KVMI__CHECK_SIZE(struct kvmi_inject_exception, 16);
KVMI__CHECK_OFF(struct kvmi_inject_exception, error_code, 4);
KVMI__CHECK_OFF(struct kvmi_inject_exception, address, 8);
KVMI__CHECK_SIZE(struct kvmi_get_page_access, 8);
KVMI__CHECK_OFF(struct kvmi_get_page_access, gpa, 8);
KVMI__CHECK_SIZE(struct kvmi_page_access_entry, 16);
KVMI__CHECK_OFF(struct kvmi_page_access_entry, access, 8);
KVMI__CHECK_SIZE(struct kvmi_set_page_access, 8);
KVMI__CHECK_OFF(struct kvmi_set_page_access, entries, 8);
KVMI__CHECK_SIZE(struct kvmi_control_spp, 8);
KVMI__CHECK_SIZE(struct kvmi_get_page_write_bitmap, 8);
KVMI__CHECK_SIZE(struct kvmi_page_write_bitmap_entry, 16);
KVMI__CHECK_SIZE(struct kvmi_set_page_write_bitmap, 8);
KVMI__CHECK_SIZE(struct kvmi_get_mtrr_type, 8);
KVMI__CHECK_SIZE(struct kvmi_get_mtrr_type_reply, 8);
KVMI__CHECK_SIZE(struct kvmi_get_map_token_reply, 32);
KVMI__CHECK_SIZE(struct kvmi_mem_map, 48);
KVMI__CHECK_SIZE(struct kvmi_get_max_gfn_reply, 8);

KVMI__CHECK_SIZE(struct kvmi_event_msrs, 72);
KVMI__CHECK_SIZE(struct kvmi_event_arch, 536);
KVMI__CHECK_OFF(struct kvmi_event_arch, view, 2);
KVMI__CHECK_OFF(struct kvmi_event_arch, regs, 8);
KVMI__CHECK_OFF(struct kvmi_event_arch, sregs, 152);
KVMI__CHECK_OFF(struct kvmi_event_arch, msrs, 464);
KVMI__CHECK_OFF(struct kvmi_event_arch, msrs.shadow_gs, 528);
KVMI__CHECK_SIZE(struct kvmi_event, 544);
KVMI__CHECK_OFF(struct kvmi_event, vcpu, 2);
KVMI__CHECK_OFF(struct kvmi_event, event, 4);
KVMI__CHECK_OFF(struct kvmi_event, arch, 8);
KVMI__CHECK_OFF(struct kvmi_event, arch.regs.rip, 144);
KVMI__CHECK_OFF(struct kvmi_event, arch.sregs.cr3, 400);
KVMI__CHECK_OFF(struct kvmi_event, arch.msrs, 472);
KVMI__CHECK_SIZE(struct kvmi_event_reply, 8);
KVMI__CHECK_SIZE(struct kvmi_event_cr, 24);
KVMI__CHECK_OFF(struct kvmi_event_cr, old_value, 8);
KVMI__CHECK_SIZE(struct kvmi_event_cr_reply, 8);
KVMI__CHECK_SIZE(struct kvmi_event_msr, 24);
KVMI__CHECK_OFF(struct kvmi_event_msr, old_value, 8);
KVMI__CHECK_SIZE(struct kvmi_event_msr_reply, 8);
KVMI__CHECK_SIZE(struct kvmi_event_breakpoint, 16);
KVMI__CHECK_OFF(struct kvmi_event_breakpoint, insn_len, 8);
KVMI__CHECK_SIZE(struct kvmi_event_pf, 24);
KVMI__CHECK_OFF(struct kvmi_event_pf, access, 16);
KVMI__CHECK_OFF(struct kvmi_event_pf, view, 18);
KVMI__CHECK_SIZE(struct kvmi_event_pf_reply, 272);
KVMI__CHECK_OFF(struct kvmi_event_pf_reply, singlestep, 12);
KVMI__CHECK_OFF(struct kvmi_event_pf_reply, ctx_data, 16);
KVMI__CHECK_SIZE(struct kvmi_event_trap, 24);
KVMI__CHECK_OFF(struct kvmi_event_trap, cr2, 16);
KVMI__CHECK_SIZE(struct kvmi_event_descriptor, 8);

KVMI__CHECK_SIZE(struct kvmi_qemu2introspector, 96);
KVMI__CHECK_OFF(struct kvmi_qemu2introspector, start_time, 24);
KVMI__CHECK_OFF(struct kvmi_qemu2introspector, name, 32);
KVMI__CHECK_SIZE(struct kvmi_qemu2introspector_ext, 104);
KVMI__CHECK_SIZE(struct kvmi_introspector2qemu, 24);

#include <kvmi/wire-v7.h>
#include <kvmi/wire-v12.h>

#ifdef __cplusplus
}
#endif

#endif /* KVMI_WIRE_H */
