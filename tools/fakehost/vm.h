/*
 * kvmi-fakehost - vm.h: one simulated guest and the host kernel's side of
 * its introspection channel, without any I/O.
 *
 * A struct fh_vm is fed the bytes the tool sent (fh_vm_feed) and appends
 * what the host sends back (command replies, events) to vm->out.  Its vCPUs
 * "execute" a seeded workload when fh_vm_run() is called and raise the
 * events the tool enabled; a vCPU that raised an event waits for its reply
 * as on the real host.  Everything follows the host of the configured
 * dialect: v6 as described in KVMI-PROTOCOL.md, kvmi-v7 (2021 or 2023) as
 * in KVMI-V7.md, v12 as in KVMI-V12.md (validation order, error codes,
 * when the socket is closed).  Internally ids are the common (kvmi-v7)
 * numbering of codec.h; they are mapped to the dialect's at the wire.
 * Tests drive this directly; host.c wires it to a socket.
 *
 * Not thread-safe: one thread per vm.
 */
#ifndef FH_VM_H
#define FH_VM_H

#include <stdint.h>

#include <kvmi/codec.h>
#include <kvmi/wire.h>

#include "buf.h"
#include "memory.h"

#define FH_MAX_VCPUS 1024
#define FH_NMSRS 9 /* the MSRs of kvmi_event_arch.msrs, in that order */
#define FH_NUM_EVENTS KVMI_V7_NUM_EVENTS /* common event ids 0..13 */
#define FH_MAX_GFNS 64 /* kvmi-v7 2023: gfns ALLOC_GFN may add */

/* What SET_PAGE_ACCESS returns when some entries are bad (all variants
 * keep applying the good entries unless told otherwise). */
enum fh_pa_errors {
	FH_PA_ERRORS_LAST = 0,	/* v6 RFC: go on, status of the last entry */
	FH_PA_ERRORS_FIRST = 1, /* Bitdefender branch: go on, first error */
	FH_PA_ERRORS_STOP = 2,	/* documentation: stop at the first error */
};

struct fh_vm_config {
	unsigned vcpus;		  /* online vCPUs at start, 1..FH_MAX_VCPUS */
	unsigned max_vcpus;	  /* hot-plug limit (>= vcpus) */
	uint64_t mem_mb;	  /* guest RAM in MiB (>= 1) */
	uint64_t seed;		  /* memory content and workload */
	const uint64_t *hot_gpas; /* addresses the workload executes (copied) */
	size_t n_hot_gpas;
	unsigned hot_generated;	  /* extra seeded hot addresses */
	uint64_t deny_commands;	  /* bit i: command id i denied by QEMU */
	uint32_t deny_events;	  /* bit i: event id i denied by QEMU */
	enum fh_pa_errors page_access_errors;
	uint64_t events_per_vcpu; /* workload events per vCPU; 0 = no bound */
	uint32_t insn_mask;	  /* bit per enum fh_insn_kind the workload
				     uses; 0 = all, in their usual mix */
	unsigned misbehave;	  /* enum fh_misbehave (misbehave.h) */
	uint64_t misbehave_after; /* events sent before it starts */
	unsigned steps_per_run;	  /* instructions per vCPU and run before it
				     idles without an event; 0 = 256 */
	enum kvmi_dialect dialect; /* the host's dialect (default v6) */
};

enum fh_vcpu_state {
	FH_VCPU_RUNNING = 0, /* executes on the next fh_vm_run() */
	FH_VCPU_IDLE,	     /* nothing happened lately; runs when woken */
	FH_VCPU_WAITING,     /* sent an event, waits for its reply */
	FH_VCPU_HALTED,	     /* workload bound reached */
};

enum fh_insn_kind {
	FH_INSN_NONE = 0,
	FH_INSN_EXEC,  /* fetch and execute the byte at gpa */
	FH_INSN_READ,  /* data read at gpa */
	FH_INSN_WRITE, /* data write at gpa (same value: memory unchanged) */
	FH_INSN_CR3,   /* mov value -> cr3 */
	FH_INSN_MSR,   /* wrmsr msr, value */
	FH_INSN_XSETBV,	    /* xsetbv: XCR0 = value */
	FH_INSN_HYPERCALL,  /* the agent hypercall (rax 34, rdi 24, rsi 0) */
	FH_INSN_DESCRIPTOR, /* sidt/sgdt/sldt/str (value = KVMI_DESC_*) */
	FH_INSN_CPUID,	    /* cpuid leaf value (kvmi-v7 workloads only) */
};

struct fh_insn {
	enum fh_insn_kind kind;
	int access_done; /* the page-access check passed (or PF continued) */
	uint64_t gpa;
	uint64_t value;
	uint32_t msr;
	uint64_t rip; /* where it executes; RETRY with another rip drops it */
};

struct fh_vcpu {
	unsigned index;
	enum fh_vcpu_state state;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	uint64_t msrs[FH_NMSRS];
	uint64_t xcr0;
	uint64_t rng;
	struct fh_insn insn; /* the current instruction (kept for RETRY) */

	/* introspection state */
	uint32_t events;     /* enabled vCPU events, bit per id */
	uint8_t crs;	     /* bit n: CRn intercepted (0, 3, 4) */
	uint8_t *msr_bitmap; /* 2 x 8192 bits; NULL = none intercepted */
	unsigned msrs_intercepted;
	unsigned pause_requests;
	int inject_pending;  /* INJECT_EXCEPTION queued for the next entry */
	uint8_t inject_nr;
	uint32_t inject_error_code;
	uint64_t inject_address;
	int trap_pending;    /* v6: report the dropped injection with TRAP;
				kvmi-v7/v12: report every injection */
	uint8_t trap_vector; /* kvmi-v7/v12: what was actually injected */
	uint32_t trap_error_code;
	uint64_t trap_cr2;
	int singlestep;	     /* kvmi-v7/v12: CONTROL_SINGLESTEP loop on */
	uint16_t view;	     /* kvmi-v7: the EPT view it runs on */
	uint8_t views_visible; /* kvmi-v7: bit per view VMFUNC may pick */
	int singlestep_done; /* send SINGLESTEP (PF reply asked for it) */
	int create_pending;  /* send CREATE_VCPU when it starts */
	int started;	     /* it has run (kvmi-v7: CREATE_VCPU enabled
				before that is sent for it too) */

	/* the event it waits for (state WAITING) */
	uint8_t ev_id;
	uint32_t ev_seq;
	uint64_t ev_new_value; /* CR/MSR: the value the guest writes */
	int have_set_regs;
	struct kvm_regs set_regs;

	uint64_t workload_events;
	unsigned quiet_runs; /* runs in a row that ended without an event */
};

struct fh_stats {
	uint64_t events_sent[FH_NUM_EVENTS];	/* by common event id */
	uint64_t events_replied[FH_NUM_EVENTS];
	uint64_t commands;
	uint64_t guest_integrity_errors; /* #BP/#GP the guest did not expect */
	uint64_t unsupported_actions;
	uint64_t exceptions_injected; /* INJECT_EXCEPTION accepted */
	uint64_t exceptions_dropped;  /* ... but another one was injected */
	uint64_t events_unreplied; /* pending when the channel closed */
	uint64_t guest_int3_continued;
};

struct fh_vm {
	struct fh_vm_config cfg;
	uint64_t *hot;
	size_t nhot;
	uint8_t insn_table[32]; /* workload mix: draw -> enum fh_insn_kind */
	struct fh_memory mem;
	struct fh_vcpu *vcpus; /* cfg.max_vcpus slots */
	unsigned nvcpus;       /* online */

	struct kvmi_decoder *dec;
	struct fh_buf out; /* bytes for the tool */
	uint32_t event_seq;
	int replies_disabled;
	uint8_t cmd_response_flags; /* kvmi-v7: CMD_ERROR events when off */
	uint32_t vm_events; /* enabled VM events (UNHOOK, CREATE_VCPU) */
	uint64_t gfns[FH_MAX_GFNS]; /* kvmi-v7 2023: gfns ALLOC_GFN added */
	unsigned ngfns;
	unsigned view_count;	/* kvmi-v7: valid views are 0..view_count-1 */
	uint8_t views_created;	/* kvmi-v7 2023: bit per created view */
	int wake;	    /* state changed: idle vCPUs run again */

	int closed;		/* the channel is gone (any reason) */
	int host_closed;	/* the host closed it over a bad message */
	char close_reason[200]; /* first reason, "" when the tool closed */
	int crashed;		/* a CRASH reply killed the guest */
	char integrity_first[160]; /* first guest integrity error */

	struct fh_stats stats;

	int mb_done;	    /* the one-shot misbehaviour happened */
	int mb_unhook_sent; /* ... and it sent an UNHOOK event */
	uint32_t mb_last_seq; /* last command seq answered (dup-reply) */
	uint16_t mb_last_id;
};

/* fh_vm_new - a guest per @cfg with its channel up; 0 or -EINVAL/-ENOMEM. */
int fh_vm_new(const struct fh_vm_config *cfg, struct fh_vm **out);
void fh_vm_free(struct fh_vm *vm);

/*
 * fh_vm_feed - bytes the tool sent.  Handles every whole message; replies
 * go to vm->out.  Returns 0, or -1 when the host closed the channel (the
 * reason is in vm->close_reason; later input is ignored).
 */
int fh_vm_feed(struct fh_vm *vm, const void *data, size_t len);

/* fh_vm_handle - one decoded tool->host message (fh_vm_feed's worker). */
void fh_vm_handle(struct fh_vm *vm, const struct kvmi_msg *msg);

/* fh_vm_run - let every runnable vCPU execute until it raises an event or
 * has run cfg.steps_per_run instructions.  Returns the events raised. */
unsigned fh_vm_run(struct fh_vm *vm);

/*
 * fh_vm_keeps_running - 1 when some vCPU stopped only because its run of
 * steps ended (not waiting for a reply, not halted) while it has events
 * enabled, and it raised one within its last FH_QUIET_RUNS runs: a real
 * guest keeps running, so the host should call fh_vm_run_idle() soon
 * rather than wait for the tool to send something.  A vCPU whose enabled
 * events never come up in its workload stops after FH_QUIET_RUNS runs
 * (until the tool sends anything), so a quiet guest costs no CPU.
 */
#define FH_QUIET_RUNS 64
int fh_vm_keeps_running(const struct fh_vm *vm);
/* fh_vm_run_idle - fh_vm_run() that also runs such idle vCPUs */
unsigned fh_vm_run_idle(struct fh_vm *vm);

/* fh_vm_unhook - QEMU's unhook request: sends KVMI_EVENT_UNHOOK when the
 * tool enabled it.  0 sent, -ENOENT not enabled, -EFAULT channel down. */
int fh_vm_unhook(struct fh_vm *vm);

/* fh_vm_hotplug - add a vCPU; its index, or -ENOSPC at max_vcpus. */
int fh_vm_hotplug(struct fh_vm *vm);

/* fh_vm_disconnect - the channel closed: every vCPU still waiting is
 * woken as if the reply were CONTINUE (a #BP at a tool-planted INT3 is
 * re-injected: an integrity error).  Idempotent. */
void fh_vm_disconnect(struct fh_vm *vm);

/* fh_vm_total_events - events sent so far (all ids). */
uint64_t fh_vm_total_events(const struct fh_vm *vm);

/* ---- internal: shared by vm.c, vcpu.c, commands.c ---- */

/* fh_vm_close - the host closes the channel over a bad message (first
 * reason kept). */
void fh_vm_close(struct fh_vm *vm, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* fh_vm_integrity_error - the guest got an exception it did not expect. */
void fh_vm_integrity_error(struct fh_vm *vm, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* fh_vm_emit_event - append an event (common id @id) of @vcpu (NULL: VM
 * event with zero arch, vcpu 0) with @len bytes of specific data in the
 * dialect's framing; returns its seq or 0 on failure (channel closed). */
uint32_t fh_vm_emit_event(struct fh_vm *vm, const struct fh_vcpu *vcpu,
			  uint8_t id, const void *data, size_t len);
/* fh_vm_event_allowed - QEMU's policy allows event @id (common id). */
int fh_vm_event_allowed(const struct fh_vm *vm, unsigned id);
/* fh_vm_is_v7 - the host speaks kvmi-v7 (either generation) */
int fh_vm_is_v7(const struct fh_vm *vm);
/* fh_vm_features - the GET_VERSION feature block this host reports
 * (kvmi-v7; v12 uses only singlestep) */
struct kvmi_v7_features fh_vm_features(const struct fh_vm *vm);

/* vcpu.c */
void fh_vcpu_init(struct fh_vcpu *v, unsigned index, uint64_t seed);
/* fh_vcpu_mix - the workload's draw table for the kinds in @mask (bit per
 * enum fh_insn_kind; 0 = the usual mix), in their usual proportions */
void fh_vcpu_mix(uint8_t table[32], uint32_t mask);
/* the same with one execution in 32 a CPUID (kvmi-v7 workloads) */
void fh_vcpu_mix_cpuid(uint8_t table[32], uint32_t mask);
/* the model CPU's leaf @function; 0, or -1 when it has none */
int fh_cpuid_leaf(uint32_t function, struct kvmi_get_cpuid_reply *out);
/* run one vCPU; 1 if it raised an event */
int fh_vcpu_run(struct fh_vm *vm, struct fh_vcpu *v);
/* apply an event reply (already validated) */
void fh_vcpu_event_reply(struct fh_vm *vm, struct fh_vcpu *v, uint8_t action,
			 const uint8_t *tail, size_t tail_len);
/* kvmi-v7 vectors that carry an error code (the host decides) */
int fh_vector_has_error(uint8_t vector);
/* read an MSR the vCPU models; 0 or -1 when it cannot be read */
int fh_vcpu_get_msr(const struct fh_vcpu *v, uint32_t msr, uint64_t *val);
int fh_vcpu_msr_intercepted(const struct fh_vcpu *v, uint32_t msr);
/* 0, -EINVAL (msr out of both ranges) or -ENOMEM */
int fh_vcpu_set_msr_intercept(struct fh_vcpu *v, uint32_t msr, int enable);
int fh_msr_valid(uint32_t msr);

#endif
