/*
 * libkvmi - libkvmi.h: the libkvmi 1.x compatible interface.
 *
 * Tools written for Bitdefender's libkvmi 1.1 (LibVMI's KVM driver,
 * hookguest-style tools) build against this header and run on our
 * library unchanged: every function, type, constant and struct of the 1.x
 * public header, with the same names, signatures, layouts and sizes,
 * exported under the symbol version KVMI_1.0.  Written from the facts in
 * ../shared/protocol/LIBKVMI1-API.md; the implementation (lib/compat/)
 * drives our I/O-less session (<kvmi/session.h>) from the 1.x threading
 * model.
 *
 * Kernel uapi names: the message and event ids, actions, page-access
 * bits and wire structs come from <kvmi/wire.h> (same names as the
 * kernel's <linux/kvmi.h>), which this header includes.  Where the 1.x
 * bundled <linux/kvmi.h> (the Bitdefender-extended layout, protocol
 * reference sec. 11) differs from wire.h:
 *  - struct kvmi_event_arch: byte 1 padding1, __u16 view at offset 2,
 *    padding2[4] - wire.h declares exactly that (view is 0 on a v6 host);
 *  - the trap event is 16 bytes in 1.x (vector u8, error_code at 4, cr2
 *    at 8) but 24 in v6: wire.h keeps the v6 struct kvmi_event_trap, and
 *    struct kvmi_dom_event's trap member has the 1.x layout under its own
 *    name, struct kvmi_event_trap_ext; the library converts v6 trap
 *    events into it (so a 1.x tool reads a v6 host's traps correctly);
 *  - struct kvmi_inject_exception: 1.x has no has_error byte.  Tools do
 *    not build it (kvmi_inject_exception() does), so wire.h's v6 struct
 *    stays; on a v6 host the library sets has_error from the vector, as
 *    an extended host decides it;
 *  - KVMI_NUM_EVENTS is 14 in 1.x (CPUID = 13) and 12 in wire.h's enum:
 *    this header redefines it as the macro 14, so 1.x tools size their
 *    per-event tables for CPUID.  A file that includes both headers sees
 *    14 after this one; no native header uses the name.
 *  - the additions of the extension (KVMI_EVENT_CPUID, its event struct,
 *    the single-step event struct, the feature block of the version
 *    reply, KVMI_PAGE_ACCESS_SVE, the extension message ids under their
 *    1.x names) are declared here only.
 * Every other name is in one header only, so <libkvmi.h> and the native
 * headers (<kvmi/kvmi.h>, <kvmi/session.h>, ...) can be included in one
 * file; the native typedefs and batch functions that once had 1.x names
 * are kvmi_server_log_cb, kvmi_server_handshake_cb and kvmi_pipeline_*.
 *
 * Errors: int functions return 0 on success and -1 with errno set on
 * failure (host error codes become the errno values of the protocol
 * reference sec. 3.7, e.g. -KVM_EPERM -> EPERM; anything unknown
 * EPROTO); see each function for the rest.
 *
 * Dialects: each domain speaks its host's dialect, told from the host's
 * GET_VERSION reply at connection: v6, or kvmi-v7 (the branch Bitdefender's
 * libkvmi HEAD speaks; a 16-byte reply with the feature block), 2021 or
 * 2023 generation.  Every call is encoded in that dialect (e.g. kvmi-v7's
 * INJECT_EXCEPTION without has_error, SET_PAGE_ACCESS with its view) and
 * events arrive in struct kvmi_dom_event as 1.x delivers them (kvmi-v7's
 * 16-byte TRAP, SINGLESTEP with failed, CPUID, arch.view).  Calls whose
 * message the dialect lacks ("[ext]" below on v6; GET_NEXT_AVAILABLE_GFN,
 * ALLOC/FREE_GFN, CREATE/DESTROY_EPT_VIEW on the 2021 generation) fail
 * with errno EOPNOTSUPP without a round trip.  A kvmi-v7 host also
 * answers SET_REGISTERS outside an event with EOPNOTSUPP and reports
 * every injected exception with a TRAP event, which the tool answers.
 *
 * Threads (as in 1.x): kvmi_init_* starts one accept thread per context;
 * unlike 1.x, each accepted connection's handshake and start-up run on a
 * thread of their own, so a slow or stalled peer never holds the next
 * guest; the new-guest and handshake callbacks run on those threads, one
 * callback at a time per context (as on 1.x's one thread).  Every
 * domain call may come from any thread: calls on one domain are
 * serialised by its mutex;
 * kvmi_wait_event waits without holding it, so another thread can send
 * commands (e.g. reply to events) meanwhile.  Commands wait for their
 * replies at most the session's command timeout (10 s); kvmi_wait_event
 * waits exactly the caller's timeout.
 *
 * The unhook safety net (on unless KVMI_SAFETY_NET=0 is in the
 * environment when a guest connects): the library enables
 * KVMI_EVENT_UNHOOK itself, remembers the original byte under every INT3
 * written with kvmi_write_physical and every page whose access
 * kvmi_set_page_access / kvmi_queue_page_access restricted, and when the
 * host asks to unhook a tool that did not enable UNHOOK itself, it writes
 * those bytes back, makes those pages rwx, answers the open events
 * (RETRY for a hit on a restored INT3) and shuts the connection down;
 * on a kvmi-v7 host it restores the pages in every view they were
 * restricted in and also turns off the single-stepping, moves back to
 * view 0 the vCPUs, hides the views, destroys the views and frees the
 * gfns the tool turned on, switched, showed, created or allocated;
 * the tool's calls then fail with ENOTCONN.  It runs in whichever call
 * is reading the domain (kvmi_wait_event in an event loop).  A tool that
 * enables UNHOOK with kvmi_control_vm_events gets it from kvmi_pop_event
 * (event id KVMI_EVENT_UNHOOK, seq 0, no reply needed) and unhooks itself.
 *
 * Differences from 1.x on purpose (the weaknesses of the facts page,
 * sec. 8): the unix socket is created 0600 (not 0777); accepted sockets
 * are close-on-exec; sequence numbers count per connection; a reply that
 * does not match, a malformed message or a timed-out command closes the
 * domain instead of leaving the stream misaligned; events wait in the
 * session (at most one per vCPU, never dropped) and the 8768-byte struct
 * kvmi_dom_event is allocated only when popped, with only the used bytes
 * written (buf beyond the event's payload is unspecified).
 */
#ifndef LIBKVMI_H
#define LIBKVMI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <kvmi/common.h>
#include <kvmi/wire.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Extension names of the 1.x uapi header                              */
/* ------------------------------------------------------------------ */

/* Message ids of the Bitdefender extension (protocol reference 4.2). */
#define KVMI_SET_VE_INFO_PAGE	     KVMI_EXT_SET_VE_INFO_PAGE
#define KVMI_GET_NEXT_AVAILABLE_GFN  KVMI_EXT_GET_NEXT_AVAILABLE_GFN
#define KVMI_SWITCH_EPT_VIEW	     KVMI_EXT_SWITCH_EPT_VIEW
#define KVMI_DISABLE_VE		     KVMI_EXT_DISABLE_VE
#define KVMI_GET_EPT_VIEW	     KVMI_EXT_GET_EPT_VIEW
#define KVMI_VCPU_TRANSLATE_GVA	     KVMI_EXT_VCPU_TRANSLATE_GVA
#define KVMI_CONTROL_EPT_VIEW	     KVMI_EXT_CONTROL_EPT_VIEW
#define KVMI_VCPU_GET_XCR	     KVMI_EXT_VCPU_GET_XCR
#define KVMI_VCPU_SET_XSAVE	     KVMI_EXT_VCPU_SET_XSAVE
#define KVMI_QUERY_PHYSICAL	     KVMI_EXT_QUERY_PHYSICAL
#define KVMI_VCPU_ALLOC_GFN	     KVMI_EXT_VCPU_ALLOC_GFN
#define KVMI_VCPU_FREE_GFN	     KVMI_EXT_VCPU_FREE_GFN
#define KVMI_CREATE_EPT_VIEW	     KVMI_EXT_CREATE_EPT_VIEW
#define KVMI_DESTROY_EPT_VIEW	     KVMI_EXT_DESTROY_EPT_VIEW
#define KVMI_VCPU_CHANGE_GFN	     KVMI_EXT_VCPU_CHANGE_GFN
#define KVMI_VCPU_CONTROL_SINGLESTEP KVMI_EXT_VCPU_CONTROL_SINGLESTEP
#define KVM_NUM_MESSAGES	     KVMI_EXT_NUM_MESSAGES

/* The extension's event (13) and event count (see the top of the file). */
#define KVMI_EVENT_CPUID KVMI_EXT_EVENT_CPUID
#undef KVMI_NUM_EVENTS
#define KVMI_NUM_EVENTS 14

/* Suppress #VE (extension page-access bit). */
#define KVMI_PAGE_ACCESS_SVE KVMI_EXT_PAGE_ACCESS_SVE

/* Feature block an extended host appends to the GET_VERSION reply. */
struct kvmi_features {
	__u8 spp;
	__u8 vmfunc;
	__u8 eptp;
	__u8 ve;
	__u8 padding[4];
};

/* KVMI_EVENT_SINGLESTEP data (extension; a v6 host sends none: 0). */
struct kvmi_event_singlestep {
	__u8 failed;
	__u8 padding[7];
};

/* KVMI_EVENT_CPUID data (extension). */
struct kvmi_event_cpuid {
	__u32 function;
	__u32 index;
	__u8 insn_length;
	__u8 padding1[3];
	__u32 padding2;
};

/* KVMI_EVENT_TRAP data in the 1.x layout (a v6 host's 24-byte trap is
 * converted into it: vector, error_code and cr2 keep their values). */
struct kvmi_event_trap_ext {
	__u8 vector;
	__u8 padding1;
	__u16 padding2;
	__u32 error_code;
	__u64 cr2;
};

/* ------------------------------------------------------------------ */
/* Types, constants, callbacks (facts page sec. 2)                     */
/* ------------------------------------------------------------------ */

/* Milliseconds for kvmi_wait_event (poll semantics; negative: forever). */
typedef int kvmi_timeout_t;

enum {
	KVMI_NOWAIT = 0, /* do not wait */
	KVMI_WAIT = 150, /* 150 ms */
};

typedef enum {
	KVMI_LOG_LEVEL_DEBUG = 0,
	KVMI_LOG_LEVEL_INFO = 1,
	KVMI_LOG_LEVEL_WARNING = 2,
	KVMI_LOG_LEVEL_ERROR = 3,
} kvmi_log_level;

/*
 * kvmi_new_guest_cb - a guest finished the handshake and start-up: @dom
 * is its domain handle, @uuid its 16-byte VM UUID (borrowed for the call),
 * @ctx the cb_ctx given at init.  Return 0 to keep the domain (it is then
 * the caller's, released with kvmi_domain_close); anything else closes
 * it.  Runs on the connection's handshake thread, never at the same time
 * as another callback of the context; may call kvmi_domain_close on
 * another domain.
 */
typedef int (*kvmi_new_guest_cb)(void *dom, unsigned char (*uuid)[16],
				 void *ctx);

/*
 * kvmi_handshake_cb - QEMU's struct (@qemu, borrowed; at most 96 bytes
 * kept, name NUL-terminated) arrived; @intro is zeroed with struct_size
 * 24: fill cookie_hash (SHA-1 of the secret) if QEMU expects one.  Return
 * < 0 to refuse the connection, >= 0 to send @intro.  The connection's
 * handshake thread, one callback of the context at a time.
 */
typedef int (*kvmi_handshake_cb)(const struct kvmi_qemu2introspector *qemu,
				 struct kvmi_introspector2qemu *intro,
				 void *ctx);

/* kvmi_log_cb - one formatted line @s (borrowed for the call). */
typedef void (*kvmi_log_cb)(kvmi_log_level level, const char *s, void *ctx);

/*
 * struct kvmi_dom_event - an event returned by kvmi_pop_event: allocated
 * by the library (8768 bytes), owned by the caller, released with free().
 * event.common is the common struct (v6 size 544; zero-filled when the
 * host sent less), the union the event-specific data (zero-filled when
 * the host sent less; trap converted to the 1.x layout), buf the payload
 * as received (only its first event.common.size + data bytes are
 * meaningful), seq the value for kvmi_reply_event.
 */
struct kvmi_dom_event {
	void *next; /* NULL */
	struct {
		struct kvmi_event common;
		union {
			struct kvmi_event_cr cr;
			struct kvmi_event_msr msr;
			struct kvmi_event_breakpoint breakpoint;
			struct kvmi_event_pf page_fault;
			struct kvmi_event_trap_ext trap;
			struct kvmi_event_descriptor desc;
			struct kvmi_event_cpuid cpuid;
			struct kvmi_event_singlestep ss;
		};
	} event;
	unsigned char buf[KVMI_MSG_SIZE];
	unsigned int seq;
};

_Static_assert(sizeof(struct kvmi_features) == 8, "kvmi_features size");
_Static_assert(sizeof(struct kvmi_event_singlestep) == 8,
	       "kvmi_event_singlestep size");
_Static_assert(sizeof(struct kvmi_event_cpuid) == 16, "kvmi_event_cpuid size");
_Static_assert(sizeof(struct kvmi_event_trap_ext) == 16,
	       "kvmi_event_trap_ext size");
_Static_assert(__builtin_offsetof(struct kvmi_event_trap_ext, error_code) == 4,
	       "kvmi_event_trap_ext.error_code offset");
_Static_assert(__builtin_offsetof(struct kvmi_event_trap_ext, cr2) == 8,
	       "kvmi_event_trap_ext.cr2 offset");
_Static_assert(sizeof(struct kvmi_dom_event) == 8768, "kvmi_dom_event size");
_Static_assert(_Alignof(struct kvmi_dom_event) == 8, "kvmi_dom_event align");
_Static_assert(__builtin_offsetof(struct kvmi_dom_event, event) == 8,
	       "kvmi_dom_event.event offset");
_Static_assert(__builtin_offsetof(struct kvmi_dom_event, event.cr) == 552,
	       "kvmi_dom_event.event union offset");
_Static_assert(sizeof(((struct kvmi_dom_event *)0)->event) == 568,
	       "kvmi_dom_event.event size");
_Static_assert(__builtin_offsetof(struct kvmi_dom_event, buf) == 576,
	       "kvmi_dom_event.buf offset");
_Static_assert(__builtin_offsetof(struct kvmi_dom_event, seq) == 8760,
	       "kvmi_dom_event.seq offset");
_Static_assert(sizeof(struct kvmi_qemu2introspector) == 96,
	       "kvmi_qemu2introspector size");
_Static_assert(_Alignof(struct kvmi_qemu2introspector) == 8,
	       "kvmi_qemu2introspector align");
_Static_assert(sizeof(struct kvmi_introspector2qemu) == 24,
	       "kvmi_introspector2qemu size");
_Static_assert(_Alignof(struct kvmi_introspector2qemu) == 4,
	       "kvmi_introspector2qemu align");

/* ------------------------------------------------------------------ */
/* Library / listener setup                                            */
/* ------------------------------------------------------------------ */

/*
 * kvmi_init_unix_socket - listen on the unix socket @socket (an existing
 * socket file there is replaced; the new one is mode 0600) and start the
 * accept thread; for each guest a thread of its own performs QEMU's
 * handshake (@hsk_cb, optional), starts the KVMI session and calls
 * @accept_cb (mandatory), with @cb_ctx.  At most 64 handshakes run at
 * once (a connection beyond that is closed, logged).  Returns the context, or NULL with errno (EINVAL
 * for a NULL @accept_cb or an empty/too long path).
 * kvmi_init_vsock - the same on AF_VSOCK, any CID, @port (not 0).
 */
KVMI_EXPORT void *kvmi_init_unix_socket(const char *socket,
					kvmi_new_guest_cb accept_cb,
					kvmi_handshake_cb hsk_cb, void *cb_ctx);
KVMI_EXPORT void *kvmi_init_vsock(unsigned int port,
				  kvmi_new_guest_cb accept_cb,
				  kvmi_handshake_cb hsk_cb, void *cb_ctx);
/*
 * kvmi_uninit - stop listening, wake and join the accept thread, end the
 * handshakes in progress (their reads stop at once; a session start-up
 * under way finishes within its 10 s budget) and wait for their threads,
 * free the context (NULL accepted).
 * Domains already handed to the application stay open.
 * kvmi_close - after fork(), in the child: close the listening socket
 * only (the threads belong to the parent).
 */
KVMI_EXPORT void kvmi_uninit(void *ctx);
KVMI_EXPORT void kvmi_close(void *ctx);
/* kvmi_set_log_cb - the process-wide log callback (NULL: none); it may
 * be called from any thread, one call at a time. */
KVMI_EXPORT void kvmi_set_log_cb(kvmi_log_cb cb, void *ctx);

/* ------------------------------------------------------------------ */
/* Domain                                                              */
/* ------------------------------------------------------------------ */

/*
 * kvmi_domain_close - close @dom (shutdown(2) first when @do_shutdown),
 * drop its unpopped events, free it.  The handle is invalid afterwards;
 * no other thread may be using it.  NULL accepted.
 */
KVMI_EXPORT void kvmi_domain_close(void *dom, bool do_shutdown);
/* false once the connection failed or was closed by the host */
KVMI_EXPORT bool kvmi_domain_is_connected(const void *dom);
/* the VM name from the handshake, truncated to @dest_size - 1 bytes */
KVMI_EXPORT void kvmi_domain_name(const void *dom, char *dest,
				  size_t dest_size);
/* the socket (for the caller's own poll loop; do not read or write it) */
KVMI_EXPORT int kvmi_connection_fd(const void *dom);
/* start_time from the handshake */
KVMI_EXPORT int64_t kvmi_get_starttime(const void *dom);
/* the host's KVMI version, known since the guest connected; 0 */
KVMI_EXPORT int kvmi_get_version(void *dom, unsigned int *version);
/* events received and not yet popped */
KVMI_EXPORT size_t kvmi_get_pending_events(void *dom);

/* ------------------------------------------------------------------ */
/* Capabilities                                                        */
/* ------------------------------------------------------------------ */

/* KVMI_CHECK_COMMAND / KVMI_CHECK_EVENT: 0 allowed, -1 EPERM not. */
KVMI_EXPORT int kvmi_check_command(void *dom, int id);
KVMI_EXPORT int kvmi_check_event(void *dom, int id);
/* extension features from the version reply (false on a v6 host); 0 */
KVMI_EXPORT int kvmi_spp_support(void *dom, bool *supported);
KVMI_EXPORT int kvmi_ve_support(void *dom, bool *supported);
KVMI_EXPORT int kvmi_vmfunc_support(void *dom, bool *supported);
KVMI_EXPORT int kvmi_eptp_support(void *dom, bool *supported);

/* ------------------------------------------------------------------ */
/* Event control                                                       */
/* ------------------------------------------------------------------ */

KVMI_EXPORT int kvmi_control_events(void *dom, unsigned short vcpu, int id,
				    bool enable);
/* KVMI_EVENT_UNHOOK or KVMI_EVENT_CREATE_VCPU */
KVMI_EXPORT int kvmi_control_vm_events(void *dom, int id, bool enable);
KVMI_EXPORT int kvmi_control_cr(void *dom, unsigned short vcpu, unsigned int cr,
				bool enable);
KVMI_EXPORT int kvmi_control_msr(void *dom, unsigned short vcpu,
				 unsigned int msr, bool enable);
/* [ext] MTF single-step on/off */
KVMI_EXPORT int kvmi_control_singlestep(void *dom, unsigned short vcpu,
					bool enable);

/* ------------------------------------------------------------------ */
/* Events                                                              */
/* ------------------------------------------------------------------ */

/*
 * kvmi_wait_event - 0 as soon as an event is waiting to be popped (at
 * once if one already is); waits up to @ms (negative: forever) for the
 * host otherwise.  -1 with ETIMEDOUT when none came, ENOTCONN when the
 * connection is gone.  Does not hold the domain's mutex while waiting.
 */
KVMI_EXPORT int kvmi_wait_event(void *dom, kvmi_timeout_t ms);
/*
 * kvmi_pop_event - the oldest waiting event in *@event (the caller's; free
 * it with free()), 0; -1 with EAGAIN and *@event NULL when none waits,
 * ENOMEM.  The event stays open on the host until kvmi_reply_event.
 */
KVMI_EXPORT int kvmi_pop_event(void *dom, struct kvmi_dom_event **event);
/*
 * kvmi_reply_event - answer the event with seq @msg_seq: @data (@data_size
 * bytes) is kvmi_vcpu_hdr + kvmi_event_reply + the event-specific reply,
 * as in 1.x.  It is checked (vCPU, event id, action the event accepts,
 * size) and sent; no answer is awaited.  -1 with EINVAL for a malformed
 * reply or a seq no open event has, ENOTCONN.  A reply to the
 * KVMI_EVENT_UNHOOK event (which the host never expects) is 0, not sent.
 */
KVMI_EXPORT int kvmi_reply_event(void *dom, unsigned int msg_seq,
				 const void *data, size_t data_size);

/* ------------------------------------------------------------------ */
/* VM and vCPU state                                                   */
/* ------------------------------------------------------------------ */

KVMI_EXPORT int kvmi_get_vcpu_count(void *dom, unsigned int *count);
/* TSC frequency (Hz) of vCPU 0 */
KVMI_EXPORT int kvmi_get_tsc_speed(void *dom, unsigned long long int *speed);
KVMI_EXPORT int kvmi_get_cpuid(void *dom, unsigned short vcpu,
			       unsigned int function, unsigned int index,
			       unsigned int *eax, unsigned int *ebx,
			       unsigned int *ecx, unsigned int *edx);
/*
 * kvmi_get_registers - @msrs->nmsrs and entries[i].index set by the
 * caller (at most 482); fills @regs, @sregs, entries[i].data and @mode.
 * -1 E2BIG when the reply has not the expected size.
 */
KVMI_EXPORT int kvmi_get_registers(void *dom, unsigned short vcpu,
				   struct kvm_regs *regs,
				   struct kvm_sregs *sregs,
				   struct kvm_msrs *msrs, unsigned int *mode);
/* applied by the host when the vCPU's pending event is replied */
KVMI_EXPORT int kvmi_set_registers(void *dom, unsigned short vcpu,
				   const struct kvm_regs *regs);
/* [ext] */
KVMI_EXPORT int kvmi_get_xcr(void *dom, unsigned short vcpu, __u8 xcr,
			     __u64 *value);
/* up to @bufSize bytes of the XSAVE area (shortfall zero-filled) */
KVMI_EXPORT int kvmi_get_xsave(void *dom, unsigned short vcpu, void *buffer,
			       size_t bufSize);
/* [ext] */
KVMI_EXPORT int kvmi_set_xsave(void *dom, unsigned short vcpu,
			       const void *buffer, size_t size);
/* queue exception @vector (@gva is CR2 for a #PF); the error code is
 * delivered for the vectors that have one */
KVMI_EXPORT int kvmi_inject_exception(void *dom, unsigned short vcpu,
				      unsigned long long int gva,
				      unsigned int error, unsigned char vector);
/* [ext] */
KVMI_EXPORT int kvmi_translate_gva(void *dom, unsigned short vcpu, __u64 gva,
				   __u64 *gpa);
/*
 * kvmi_pause_all_vcpus - pause vCPUs 0..@count-1 in one write (replies
 * off, PAUSE_VCPU{wait=1} each, replies on); waits for the final reply.
 * Each vCPU then sends a KVMI_EVENT_PAUSE_VCPU the caller must answer.
 * @count 0: 0 at once.
 */
KVMI_EXPORT int kvmi_pause_all_vcpus(void *dom, unsigned int count);

/* ------------------------------------------------------------------ */
/* Guest memory                                                        */
/* ------------------------------------------------------------------ */

/* Reads and writes of any size: split per page by the library. */
KVMI_EXPORT int kvmi_read_physical(void *dom, unsigned long long int gpa,
				   void *buffer, size_t size);
KVMI_EXPORT int kvmi_write_physical(void *dom, unsigned long long int gpa,
				    const void *buffer, size_t size);
/* @count entries (split per 511 by the library) for EPT @view (0 on v6) */
KVMI_EXPORT int kvmi_set_page_access(void *dom, unsigned long long int *gpa,
				     unsigned char *access,
				     unsigned short count, unsigned short view);
KVMI_EXPORT int kvmi_set_page_write_bitmap(void *dom, __u64 *gpa, __u32 *bitmap,
					   unsigned short count);
KVMI_EXPORT int kvmi_get_mtrr_type(void *dom, unsigned long long int gpa,
				   unsigned char *type);
KVMI_EXPORT int kvmi_get_maximum_gfn(void *dom, unsigned long long *gfn);
/* [ext] (not declared in the 1.x header; exported by it) */
KVMI_EXPORT int kvmi_get_next_available_gfn(void *dom, unsigned long long *gfn);
/*
 * Memory mapping.  The hosts the library supports offer no mapping
 * device: kvmi_memory_mapping(dom, true) fails with ENODEV (false is 0),
 * kvmi_map_physical_page returns MAP_FAILED with ENODEV,
 * kvmi_unmap_physical_page -1 with EINVAL for NULL and ENXIO otherwise,
 * kvmi_remote_mapping_v2 false.  Read and write physical memory instead.
 */
KVMI_EXPORT int kvmi_memory_mapping(void *dom, bool enable);
KVMI_EXPORT void *kvmi_map_physical_page(void *dom, unsigned long long int gpa);
KVMI_EXPORT int kvmi_unmap_physical_page(void *dom, void *addr);
KVMI_EXPORT bool kvmi_remote_mapping_v2(void);

/* ------------------------------------------------------------------ */
/* Batches                                                             */
/* ------------------------------------------------------------------ */

/*
 * A batch collects commands and event replies and sends them in one
 * write between CONTROL_CMD_RESPONSE off and on (a batch of one event
 * reply is sent bare).  kvmi_batch_alloc - NULL with errno on failure.
 * kvmi_batch_commit - send, and wait for the reply to the final
 * CONTROL_CMD_RESPONSE (1.x does not wait when the batch holds an event
 * reply; waiting costs one round trip and reports a lost connection).
 * With replies off the host executes the items silently: a failed item
 * is invisible, except the -KVM_EPERM / -KVM_EOPNOTSUPP the host still
 * answers, which become the commit's errno.  Event replies are checked as
 * in kvmi_reply_event.  The batch is emptied.  kvmi_batch_free - free
 * unsent (NULL accepted).  kvmi_queue_* - add one item, checked by the
 * codec (0, or -1 with EINVAL for what the protocol forbids, E2BIG,
 * ENOMEM; a page-access item beyond 511 entries is split).  One batch is
 * used by one thread at a time.
 */
KVMI_EXPORT void *kvmi_batch_alloc(void *dom);
KVMI_EXPORT int kvmi_batch_commit(void *batch);
KVMI_EXPORT void kvmi_batch_free(void *batch);
KVMI_EXPORT int kvmi_queue_registers(void *batch, unsigned short vcpu,
				     const struct kvm_regs *regs);
KVMI_EXPORT int kvmi_queue_reply_event(void *batch, unsigned int msg_seq,
				       const void *data, size_t data_size);
KVMI_EXPORT int kvmi_queue_page_access(void *batch, unsigned long long int *gpa,
				       unsigned char *access,
				       unsigned short count,
				       unsigned short view);
KVMI_EXPORT int kvmi_queue_pause_vcpu(void *batch, unsigned short vcpu);
KVMI_EXPORT int kvmi_queue_spp_access(void *batch, __u64 *gpa, __u32 *bitmap,
				      __u16 view, __u16 count);

/* ------------------------------------------------------------------ */
/* [ext] EPT views, #VE, gfn allocation                                */
/* ------------------------------------------------------------------ */

KVMI_EXPORT int kvmi_set_ve_info_page(void *dom, unsigned short vcpu,
				      unsigned long long int gpa);
KVMI_EXPORT int kvmi_disable_ve(void *dom, unsigned short vcpu);
KVMI_EXPORT int kvmi_switch_ept_view(void *dom, unsigned short vcpu,
				     unsigned short view);
KVMI_EXPORT int kvmi_get_ept_view(void *dom, unsigned short vcpu,
				  unsigned short *view);
KVMI_EXPORT int kvmi_control_ept_view(void *dom, unsigned short vcpu,
				      unsigned short view, bool visible);
/* @view may be NULL */
KVMI_EXPORT int kvmi_create_ept_view(void *dom, unsigned short *view);
KVMI_EXPORT int kvmi_destroy_ept_view(void *dom, unsigned short view);
KVMI_EXPORT int kvmi_change_gfn(void *dom, unsigned short vcpu,
				unsigned short view, __u64 old_gfn,
				__u64 new_gfn);
KVMI_EXPORT int kvmi_alloc_gfn(void *dom, __u64 gfn);
KVMI_EXPORT int kvmi_free_gfn(void *dom, __u64 gfn);

/*
 * Declared by the 1.x header without an implementation there; here they
 * exist and fail with -1 EOPNOTSUPP (no dialect we speak has a message
 * for them).
 */
KVMI_EXPORT int kvmi_shutdown_guest(void *dom);
KVMI_EXPORT int kvmi_set_ept_page_conv(void *dom, unsigned short index,
				       unsigned long long gpa, bool sve);
KVMI_EXPORT int kvmi_get_ept_page_conv(void *dom, unsigned short index,
				       unsigned long long gpa, bool *sve);

#ifdef __cplusplus
}
#endif

#endif /* LIBKVMI_H */
