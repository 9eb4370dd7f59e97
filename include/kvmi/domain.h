/*
 * libkvmi - domain.h: one connected guest: events, replies, commands.
 *
 * Threads: loop thread only (see server.h), callbacks included.
 *
 * Events.  Handlers form chains per event id: a domain's own handlers,
 * then the server-wide ones, each list newest first.  Before any of them,
 * the library's own layers (the hooks: breakpoints at our addresses,
 * re-arming, new vCPUs) see the event.  A handler consumes the event by
 * replying to it (kvmi_event_reply*, session.h) or holding it
 * (kvmi_event_hold) to reply later; returning having done neither passes
 * it to the next handler.  When none consumed it, the library replies the
 * default - CONTINUE, with new_val = new_value for CR/MSR and normal
 * emulation for PF - and logs a warning (once per event id when there is
 * no handler at all).  So every event gets exactly one reply; a second
 * one is refused with KVMI_E_ALREADY_REPLIED and nothing is sent.
 * KVMI_EVENT_UNHOOK is never replied to: it goes to the newest unhook
 * handler only (kvmi_*_on_unhook; a domain's before the server's);
 * without one the library just logs it.
 *
 * Handlers run from the loop, never while input is being parsed: events,
 * the new_domain callback and command completions are delivered after
 * the bytes that carried them were consumed, in arrival order.
 *
 * Commands: see "Commands" below (asynchronous and synchronous forms).
 * Host errors come back as negative errno values
 * (kvmi_host_error_to_errno); a closed or lost connection gives
 * -ENOTCONN.  Nothing is written to an output parameter when a command
 * fails.
 */
#ifndef KVMI_DOMAIN_H
#define KVMI_DOMAIN_H

#include <kvmi/codec.h>
#include <kvmi/common.h>
#include <kvmi/error.h>
#include <kvmi/server.h>
#include <kvmi/wire.h>

#ifdef __cplusplus
extern "C" {
#endif

struct kvmi_dom;
struct kvmi_event_ctx;
struct kvmi_handler;

/* ------------------------------------------------------------------ */
/* Domain                                                              */
/* ------------------------------------------------------------------ */

/* kvmi_dom_identity - the guest's handshake identity (owned by @dom). */
KVMI_EXPORT const struct kvmi_guest_identity *
kvmi_dom_identity(const struct kvmi_dom *dom);

/* kvmi_dom_server - the server that accepted @dom. */
KVMI_EXPORT struct kvmi_server *kvmi_dom_server(const struct kvmi_dom *dom);

/* kvmi_dom_vcpu_count - vCPUs known: KVMI_GET_GUEST_INFO's count at
 * connection, raised by KVMI_EVENT_CREATE_VCPU events. */
KVMI_EXPORT unsigned int kvmi_dom_vcpu_count(const struct kvmi_dom *dom);

/* kvmi_dom_dialect - the dialect the host speaks (v6, kvmi-v7 2021 or
 * 2023, v12: detected at connection, see session.h).  Calls the dialect
 * lacks fail with -EOPNOTSUPP before anything is sent (GET_PAGE_ACCESS
 * exists in v6 only; GET_MAX_GFN not in v12; the kvmi-v7 calls of
 * <kvmi/domain-v7.h> say which dialects have them). */
KVMI_EXPORT enum kvmi_dialect kvmi_dom_dialect(const struct kvmi_dom *dom);

/* kvmi_dom_features - the host's feature block (struct
 * kvmi_host_features, session.h) into *@out.  0 or -EINVAL. */
KVMI_EXPORT int kvmi_dom_features(const struct kvmi_dom *dom,
				  struct kvmi_host_features *out);

/* kvmi_dom_version - the host's KVMI version (>= 1). */
KVMI_EXPORT uint32_t kvmi_dom_version(const struct kvmi_dom *dom);

/* kvmi_dom_set_user / kvmi_dom_user - one pointer for the tool. */
KVMI_EXPORT void kvmi_dom_set_user(struct kvmi_dom *dom, void *user);
KVMI_EXPORT void *kvmi_dom_user(const struct kvmi_dom *dom);

/* kvmi_dom_ref / kvmi_dom_unref - keep @dom allocated beyond its
 * connection.  The memory goes with the last reference. */
KVMI_EXPORT void kvmi_dom_ref(struct kvmi_dom *dom);
KVMI_EXPORT void kvmi_dom_unref(struct kvmi_dom *dom);

/*
 * kvmi_dom_close - shut the connection down and close it (shutdown, then
 * close once the loop released the fd).  Idempotent; safe from any
 * callback, including @dom's own handlers.  Hooks of the library's
 * (hooks.h) still in the guest are taken back first, as when the library
 * closes a domain on its own: their restores are sent, every open event
 * is answered (RETRY at our breakpoints), and the domain drains until the
 * host confirms them (200 ms at most) before it closes; prefer
 * kvmi_dom_unhook_async, which also verifies.  Without such hooks: events
 * received but not yet dispatched (they arrived during a synchronous
 * command) are answered with the default reply (CONTINUE; CR/MSR with the
 * guest's value), which is what the host would assume; held events are
 * not replied (the host treats them as CONTINUE: reply to them first,
 * with the right action - see kvmi_dom_held_events).
 * The disconnect callback follows from the loop, with reason 0 (unless the
 * connection had already failed).  Pending commands fail with -ENOTCONN.
 */
KVMI_EXPORT void kvmi_dom_close(struct kvmi_dom *dom);

/* kvmi_dom_is_connected - 0 once closed or lost. */
KVMI_EXPORT int kvmi_dom_is_connected(const struct kvmi_dom *dom);

/* kvmi_dom_error - what ended the connection (0 if closed by the tool or
 * still connected). */
KVMI_EXPORT int kvmi_dom_error(const struct kvmi_dom *dom);

/* kvmi_dom_set_command_timeout - per-domain timeout of synchronous
 * commands, in ms (> 0).  -EINVAL for 0. */
KVMI_EXPORT int kvmi_dom_set_command_timeout(struct kvmi_dom *dom,
					     unsigned int ms);

/*
 * kvmi_dom_capture_start - record both directions of the connection from
 * now on into a capture file at @path (capture.h format).  Replaces a
 * capture already running.  Returns 0 or a negative errno.
 * kvmi_dom_capture_stop - stop and close it (no-op when none).
 */
KVMI_EXPORT int kvmi_dom_capture_start(struct kvmi_dom *dom, const char *path);
KVMI_EXPORT void kvmi_dom_capture_stop(struct kvmi_dom *dom);

/* kvmi_dom_fd - the connection's socket (-1 once closed - for a domain
 * the library closes on its own, once it has answered the events the
 * host raised before the restores, see kvmi_dom_error); for diagnostics
 * and for watching an adopted domain (own-loop.h); never read, write or
 * close it. */
KVMI_EXPORT int kvmi_dom_fd(const struct kvmi_dom *dom);

/*
 * kvmi_dom_bytes - bytes read from (*@in) and sent to (*@out) @dom's host
 * since the connection was accepted, QEMU's handshake included; still
 * readable after the connection is gone (the totals stay), e.g. in the
 * disconnect callback.  Either pointer may be NULL; a NULL @dom gives 0.
 */
KVMI_EXPORT void kvmi_dom_bytes(const struct kvmi_dom *dom, uint64_t *in,
				uint64_t *out);

/* ------------------------------------------------------------------ */
/* Event handlers                                                      */
/* ------------------------------------------------------------------ */

typedef void (*kvmi_event_cb)(struct kvmi_dom *dom, struct kvmi_event_ctx *ev,
			      void *ctx);
typedef void (*kvmi_unhook_cb)(struct kvmi_dom *dom, void *ctx);

/*
 * kvmi_server_on_event / kvmi_dom_on_event - add @cb to the chain of
 * @event_id (KVMI_EVENT_CR .. KVMI_EVENT_SINGLESTEP; UNHOOK has its own
 * calls), in front of the handlers already there (see the top of this
 * file for the order).  The handle is stored in *@out when @out is not
 * NULL: it is then yours, valid until kvmi_handler_remove - also after
 * the domain or server is gone (removing it then only frees it).
 * Without @out the registration lives as long as the server or domain.
 * Returns 0, -EINVAL or -ENOMEM.
 */
KVMI_EXPORT int kvmi_server_on_event(struct kvmi_server *srv,
				     unsigned int event_id, kvmi_event_cb cb,
				     void *ctx, struct kvmi_handler **out);
KVMI_EXPORT int kvmi_dom_on_event(struct kvmi_dom *dom, unsigned int event_id,
				  kvmi_event_cb cb, void *ctx,
				  struct kvmi_handler **out);

/* kvmi_server_on_unhook / kvmi_dom_on_unhook - the KVMI_EVENT_UNHOOK
 * handler (same rules; never replied to). */
KVMI_EXPORT int kvmi_server_on_unhook(struct kvmi_server *srv,
				      kvmi_unhook_cb cb, void *ctx,
				      struct kvmi_handler **out);
KVMI_EXPORT int kvmi_dom_on_unhook(struct kvmi_dom *dom, kvmi_unhook_cb cb,
				   void *ctx, struct kvmi_handler **out);

/* kvmi_handler_remove - undo a registration and free its handle (NULL
 * accepted; once per handle).  Safe during dispatch, also from the
 * handler itself or for a handler later in the same chain (it is then
 * not called). */
KVMI_EXPORT void kvmi_handler_remove(struct kvmi_handler *h);

/* ------------------------------------------------------------------ */
/* The event (the rest of its API is in session.h)                     */
/* ------------------------------------------------------------------ */

/* kvmi_event_dom - the domain @ev arrived on. */
KVMI_EXPORT struct kvmi_dom *kvmi_event_dom(const struct kvmi_event_ctx *ev);

/* kvmi_dom_session - @dom's protocol session (owned by @dom): for the
 * session-level calls (kvmi_session_outstanding, ...); never feed it
 * bytes or dispatch it yourself. */
KVMI_EXPORT struct kvmi_session *kvmi_dom_session(const struct kvmi_dom *dom);

/*
 * kvmi_dom_held_events - up to @max events of @dom that were received and
 * not yet replied, oldest first, into @out; returns how many there are in
 * all (may exceed @max).  That is the events handlers hold and those
 * queued for dispatch (arrived during a synchronous command); replying to
 * a queued one takes it out of the queue, its handler will not see it.
 * An unhook helper must answer all of them before closing.
 */
KVMI_EXPORT size_t kvmi_dom_held_events(struct kvmi_dom *dom,
					struct kvmi_event_ctx **out,
					size_t max);

/* ------------------------------------------------------------------ */
/* Commands                                                            */
/* ------------------------------------------------------------------ */

/*
 * Every command has two forms.
 *
 * kvmi_dom_X_async(..., cb, ctx) queues the command (sent when the
 * calling callback returns, or at once outside callbacks) and returns 0,
 * or a negative error with nothing sent and @cb never called.  @cb(dom,
 * result, ctx) runs later, from the loop (never from inside the call, and
 * never while input is being parsed), exactly once: result 0 (or a count
 * where said) or a negative error - the host's error as a negative errno,
 * -ENOTCONN when the connection went first, -ETIMEDOUT when the host did
 * not answer within the domain's command timeout (the domain is then
 * closed: a late reply could not be told from a desynchronized stream).
 * Output pointers (and buffers) must stay valid until @cb; they are
 * written only on success, before @cb runs.  Async commands never make
 * any guest wait: the loop goes on with every other domain meanwhile.
 *
 * kvmi_dom_X(...) is the same command, waited for: it returns the result
 * @cb would get.  While it waits it reads only @dom's socket: events of
 * @dom that arrive meanwhile are queued and dispatched after the calling
 * handler returns, and the loop thread - every other domain of the
 * server - waits too.  Use them in tools with one guest, for guests whose
 * hosts you trust to answer quickly, or with a thread and a server per
 * guest (own-loop.h), where they hold only their own guest; kvmi-unhookd,
 * the hooks and the unhook use only the async forms.
 */
typedef void (*kvmi_dom_cmd_cb)(struct kvmi_dom *dom, int result, void *ctx);

KVMI_EXPORT int kvmi_dom_get_version(struct kvmi_dom *dom, uint32_t *version);
KVMI_EXPORT int kvmi_dom_get_version_async(struct kvmi_dom *dom,
					   uint32_t *version,
					   kvmi_dom_cmd_cb cb, void *ctx);
/* CHECK_COMMAND / CHECK_EVENT: 0 allowed, -EPERM not allowed by QEMU's
 * policy, -EOPNOTSUPP (sent nothing) for a command the dialect has not.
 * @id and @event_id are in the library's common numbering (KVMI_* of
 * wire.h and wire-v7.h, whatever the dialect); the host is asked about
 * its own wire id for it (they differ on v12). */
KVMI_EXPORT int kvmi_dom_check_command(struct kvmi_dom *dom, uint16_t id);
KVMI_EXPORT int kvmi_dom_check_command_async(struct kvmi_dom *dom,
					     uint16_t id, kvmi_dom_cmd_cb cb,
					     void *ctx);
KVMI_EXPORT int kvmi_dom_check_event(struct kvmi_dom *dom, uint16_t event_id);
KVMI_EXPORT int kvmi_dom_check_event_async(struct kvmi_dom *dom,
					   uint16_t event_id,
					   kvmi_dom_cmd_cb cb, void *ctx);
KVMI_EXPORT int kvmi_dom_get_guest_info(struct kvmi_dom *dom,
					uint32_t *vcpu_count);
KVMI_EXPORT int kvmi_dom_get_guest_info_async(struct kvmi_dom *dom,
					      uint32_t *vcpu_count,
					      kvmi_dom_cmd_cb cb, void *ctx);
KVMI_EXPORT int kvmi_dom_get_vcpu_info(struct kvmi_dom *dom, uint16_t vcpu,
				       uint64_t *tsc_speed);
KVMI_EXPORT int kvmi_dom_get_vcpu_info_async(struct kvmi_dom *dom,
					     uint16_t vcpu,
					     uint64_t *tsc_speed,
					     kvmi_dom_cmd_cb cb, void *ctx);
KVMI_EXPORT int kvmi_dom_pause_vcpu(struct kvmi_dom *dom, uint16_t vcpu,
				    int wait);
KVMI_EXPORT int kvmi_dom_pause_vcpu_async(struct kvmi_dom *dom, uint16_t vcpu,
					  int wait, kvmi_dom_cmd_cb cb,
					  void *ctx);
/* one PAUSE_VCPU (wait=1) per known vCPU, pipelined; the first error */
KVMI_EXPORT int kvmi_dom_pause_all(struct kvmi_dom *dom);
KVMI_EXPORT int kvmi_dom_pause_all_async(struct kvmi_dom *dom,
					 kvmi_dom_cmd_cb cb, void *ctx);
KVMI_EXPORT int kvmi_dom_control_vm_events(struct kvmi_dom *dom,
					   uint16_t event_id, int enable);
KVMI_EXPORT int kvmi_dom_control_vm_events_async(struct kvmi_dom *dom,
						 uint16_t event_id, int enable,
						 kvmi_dom_cmd_cb cb, void *ctx);
KVMI_EXPORT int kvmi_dom_control_events(struct kvmi_dom *dom, uint16_t vcpu,
					uint16_t event_id, int enable);
KVMI_EXPORT int kvmi_dom_control_events_async(struct kvmi_dom *dom,
					      uint16_t vcpu, uint16_t event_id,
					      int enable, kvmi_dom_cmd_cb cb,
					      void *ctx);
KVMI_EXPORT int kvmi_dom_control_cr(struct kvmi_dom *dom, uint16_t vcpu,
				    uint32_t cr, int enable);
KVMI_EXPORT int kvmi_dom_control_cr_async(struct kvmi_dom *dom, uint16_t vcpu,
					  uint32_t cr, int enable,
					  kvmi_dom_cmd_cb cb, void *ctx);
KVMI_EXPORT int kvmi_dom_control_msr(struct kvmi_dom *dom, uint16_t vcpu,
				     uint32_t msr, int enable);
KVMI_EXPORT int kvmi_dom_control_msr_async(struct kvmi_dom *dom,
					   uint16_t vcpu, uint32_t msr,
					   int enable, kvmi_dom_cmd_cb cb,
					   void *ctx);
/*
 * kvmi_dom_get_registers - @regs, @sregs, @mode may be NULL; @msrs holds
 * @nmsrs entries whose .index is read and .data filled (<= 482:
 * KVMI_E_TOO_MANY beyond).  A reply of the wrong size: KVMI_E_MSG_SIZE.
 */
KVMI_EXPORT int kvmi_dom_get_registers(struct kvmi_dom *dom, uint16_t vcpu,
				       struct kvm_regs *regs,
				       struct kvm_sregs *sregs,
				       struct kvm_msr_entry *msrs,
				       size_t nmsrs, uint32_t *mode);
KVMI_EXPORT int kvmi_dom_get_registers_async(
	struct kvmi_dom *dom, uint16_t vcpu, struct kvm_regs *regs,
	struct kvm_sregs *sregs, struct kvm_msr_entry *msrs, size_t nmsrs,
	uint32_t *mode, kvmi_dom_cmd_cb cb, void *ctx);
/* only effective while @vcpu waits for an event reply (host rule) */
KVMI_EXPORT int kvmi_dom_set_registers(struct kvmi_dom *dom, uint16_t vcpu,
				       const struct kvm_regs *regs);
KVMI_EXPORT int kvmi_dom_set_registers_async(struct kvmi_dom *dom,
					     uint16_t vcpu,
					     const struct kvm_regs *regs,
					     kvmi_dom_cmd_cb cb, void *ctx);
KVMI_EXPORT int kvmi_dom_get_cpuid(struct kvmi_dom *dom, uint16_t vcpu,
				   uint32_t function, uint32_t index,
				   struct kvmi_get_cpuid_reply *out);
KVMI_EXPORT int kvmi_dom_get_cpuid_async(struct kvmi_dom *dom, uint16_t vcpu,
					 uint32_t function, uint32_t index,
					 struct kvmi_get_cpuid_reply *out,
					 kvmi_dom_cmd_cb cb, void *ctx);
/* the result is the count of bytes copied to @buf: min(XSAVE size,
 * @len) (a positive value, not 0) */
KVMI_EXPORT int kvmi_dom_get_xsave(struct kvmi_dom *dom, uint16_t vcpu,
				   void *buf, size_t len);
KVMI_EXPORT int kvmi_dom_get_xsave_async(struct kvmi_dom *dom, uint16_t vcpu,
					 void *buf, size_t len,
					 kvmi_dom_cmd_cb cb, void *ctx);
/* any length and alignment: split per 4 KiB page, pipelined; the first
 * page error is the result (a read fills nothing then: see batches for
 * per-page results) */
KVMI_EXPORT int kvmi_dom_read_physical(struct kvmi_dom *dom, uint64_t gpa,
				       void *buf, size_t len);
KVMI_EXPORT int kvmi_dom_read_physical_async(struct kvmi_dom *dom,
					     uint64_t gpa, void *buf,
					     size_t len, kvmi_dom_cmd_cb cb,
					     void *ctx);
KVMI_EXPORT int kvmi_dom_write_physical(struct kvmi_dom *dom, uint64_t gpa,
					const void *buf, size_t len);
KVMI_EXPORT int kvmi_dom_write_physical_async(struct kvmi_dom *dom,
					      uint64_t gpa, const void *buf,
					      size_t len, kvmi_dom_cmd_cb cb,
					      void *ctx);
KVMI_EXPORT int kvmi_dom_inject_exception(struct kvmi_dom *dom, uint16_t vcpu,
					  uint8_t nr, int has_error,
					  uint32_t error_code,
					  uint64_t address);
KVMI_EXPORT int kvmi_dom_inject_exception_async(
	struct kvmi_dom *dom, uint16_t vcpu, uint8_t nr, int has_error,
	uint32_t error_code, uint64_t address, kvmi_dom_cmd_cb cb, void *ctx);
/* any count: split per message (1022 gpas / 511 entries), pipelined.  A
 * failed SET may have been applied in part (host rule): verify with GET. */
KVMI_EXPORT int kvmi_dom_get_page_access(struct kvmi_dom *dom,
					 const uint64_t *gpas, uint8_t *access,
					 size_t count);
KVMI_EXPORT int kvmi_dom_get_page_access_async(struct kvmi_dom *dom,
					       const uint64_t *gpas,
					       uint8_t *access, size_t count,
					       kvmi_dom_cmd_cb cb, void *ctx);
KVMI_EXPORT int
kvmi_dom_set_page_access(struct kvmi_dom *dom,
			 const struct kvmi_page_access_entry *entries,
			 size_t count);
KVMI_EXPORT int kvmi_dom_set_page_access_async(
	struct kvmi_dom *dom, const struct kvmi_page_access_entry *entries,
	size_t count, kvmi_dom_cmd_cb cb, void *ctx);
KVMI_EXPORT int kvmi_dom_get_mtrr_type(struct kvmi_dom *dom, uint16_t vcpu,
				       uint64_t gpa, uint8_t *type);
KVMI_EXPORT int kvmi_dom_get_mtrr_type_async(struct kvmi_dom *dom,
					     uint16_t vcpu, uint64_t gpa,
					     uint8_t *type, kvmi_dom_cmd_cb cb,
					     void *ctx);
/* -EOPNOTSUPP from hosts without KVMI_GET_MAX_GFN */
KVMI_EXPORT int kvmi_dom_get_max_gfn(struct kvmi_dom *dom, uint64_t *gfn);
KVMI_EXPORT int kvmi_dom_get_max_gfn_async(struct kvmi_dom *dom,
					   uint64_t *gfn, kvmi_dom_cmd_cb cb,
					   void *ctx);

/* ------------------------------------------------------------------ */
/* Pipelined batches                                                   */
/* ------------------------------------------------------------------ */

struct kvmi_pipeline;

enum kvmi_pipeline_flags {
	/*
	 * Send the batch between CONTROL_CMD_RESPONSE enable=0,now=1 and
	 * enable=1,now=1: the host answers nothing but the final
	 * confirmation (and the -EOPNOTSUPP/-EPERM replies it sends even
	 * then, which become those items' results).  Commands that return
	 * data cannot be queued (-EINVAL).  An item that failed silently on
	 * the host still reads 0: verify what matters.  v6 hosts only: on
	 * kvmi-v7 (where a failure with replies off is only logged by the
	 * host) and v12 (no such mode) the batch gets every reply instead,
	 * with the same results.
	 */
	KVMI_PIPELINE_NO_REPLIES = 1 << 0,
};

/* kvmi_pipeline_new - an empty batch for @dom.  0, -EINVAL, -ENOMEM. */
KVMI_EXPORT int kvmi_pipeline_new(struct kvmi_dom *dom, unsigned int flags,
				  struct kvmi_pipeline **out);
/* kvmi_pipeline_free - release (NULL accepted). */
KVMI_EXPORT void kvmi_pipeline_free(struct kvmi_pipeline *b);

/*
 * Queueing.  Each call adds one or more items (one per message: physical
 * writes are split per page, page access per 511 entries) and returns the
 * index of the first, or a negative error (nothing queued by this call;
 * earlier pages of a split access stay queued).  Buffers for results
 * (@out) are borrowed until kvmi_pipeline_commit returns or
 * kvmi_pipeline_send's callback runs.
 */
KVMI_EXPORT int kvmi_pipeline_write_physical(struct kvmi_pipeline *b,
					     uint64_t gpa, const void *buf,
					     size_t len);
KVMI_EXPORT int kvmi_pipeline_read_physical(struct kvmi_pipeline *b,
					    uint64_t gpa, void *out,
					    size_t len);
KVMI_EXPORT int
kvmi_pipeline_set_page_access(struct kvmi_pipeline *b,
			      const struct kvmi_page_access_entry *entries,
			      size_t count);
KVMI_EXPORT int kvmi_pipeline_get_page_access(struct kvmi_pipeline *b,
					      const uint64_t *gpas,
					      uint8_t *out, size_t count);
KVMI_EXPORT int kvmi_pipeline_control_events(struct kvmi_pipeline *b,
					     uint16_t vcpu, uint16_t event_id,
					     int enable);
KVMI_EXPORT int kvmi_pipeline_control_vm_events(struct kvmi_pipeline *b,
						uint16_t event_id, int enable);
KVMI_EXPORT int kvmi_pipeline_control_cr(struct kvmi_pipeline *b, uint16_t vcpu,
					 uint32_t cr, int enable);
KVMI_EXPORT int kvmi_pipeline_control_msr(struct kvmi_pipeline *b,
					  uint16_t vcpu, uint32_t msr,
					  int enable);
KVMI_EXPORT int kvmi_pipeline_pause_vcpu(struct kvmi_pipeline *b, uint16_t vcpu,
					 int wait);
/*
 * Event replies in a batch: sent in order with the rest; the event counts
 * as replied when the batch is committed (KVMI_E_ALREADY_REPLIED at
 * queueing time when it already is or is queued twice).
 */
KVMI_EXPORT int kvmi_pipeline_event_reply(struct kvmi_pipeline *b,
					  struct kvmi_event_ctx *ev,
					  uint8_t action);
KVMI_EXPORT int kvmi_pipeline_event_reply_cr(struct kvmi_pipeline *b,
					     struct kvmi_event_ctx *ev,
					     uint8_t action, uint64_t new_val);
KVMI_EXPORT int kvmi_pipeline_event_reply_msr(struct kvmi_pipeline *b,
					      struct kvmi_event_ctx *ev,
					      uint8_t action, uint64_t new_val);

/*
 * kvmi_pipeline_send - send everything (as few writes as the socket allows)
 * and call @cb(dom, result, ctx) from the loop when every reply (or the
 * confirmation) is in: result 0 when every item succeeded, else the first
 * item error (kvmi_pipeline_result gives each, inside @cb).  The batch is
 * the library's from this call on: it is freed after @cb returns, and
 * also when this call fails (then @cb is never called).  Buffers given
 * when queueing are borrowed until @cb.
 */
KVMI_EXPORT int kvmi_pipeline_send(struct kvmi_pipeline *b, kvmi_dom_cmd_cb cb,
				   void *ctx);
/* kvmi_pipeline_dom - the domain the batch is for. */
KVMI_EXPORT struct kvmi_dom *kvmi_pipeline_dom(const struct kvmi_pipeline *b);

/*
 * kvmi_pipeline_commit - send everything (as few writes as the socket
 * allows) and wait for every reply (or the confirmation), as a
 * synchronous command does (see above).  Returns 0 when
 * every item succeeded, else the first item error; a transport error or
 * timeout (-ENOTCONN, -ETIMEDOUT) fails every unfinished item.  A batch is
 * committed once; further queueing gives -EBUSY.
 */
KVMI_EXPORT int kvmi_pipeline_commit(struct kvmi_pipeline *b);
/* kvmi_pipeline_count - items queued. */
KVMI_EXPORT size_t kvmi_pipeline_count(const struct kvmi_pipeline *b);
/* kvmi_pipeline_result - item @i's result after commit: 0 or a negative
 * error; -EINVAL for a bad index, -EAGAIN before commit. */
KVMI_EXPORT int kvmi_pipeline_result(const struct kvmi_pipeline *b, size_t i);
/* kvmi_pipeline_writes - write(2) calls the commit needed (for tests and
 * benchmarks). */
KVMI_EXPORT size_t kvmi_pipeline_writes(const struct kvmi_pipeline *b);

#ifdef __cplusplus
}
#endif

#endif /* KVMI_DOMAIN_H */
