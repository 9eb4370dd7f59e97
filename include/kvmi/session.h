/*
 * libkvmi - session.h: one KVMI connection's protocol state, without I/O.
 *
 * A session is what a tool needs to talk to one KVMI host over any byte
 * transport, and nothing else: bytes the host sent go in
 * (kvmi_session_recv), bytes for the host come out (kvmi_session_output /
 * kvmi_session_output_done), timers are a deadline to ask for
 * (kvmi_session_next_deadline) and a call to make when it passes
 * (kvmi_session_expire), and everything the tool must hear about - the
 * end of start-up, events, KVMI_EVENT_UNHOOK, finished commands - is
 * delivered by kvmi_session_dispatch, never from inside kvmi_session_recv.
 * No syscalls, no event loop, no global state.  The transport layer
 * (server.h, domain.h) drives one session per guest; tests, fuzzers and
 * replay tools drive sessions directly.
 *
 * What a session owns: the host->tool decoder, the command sequence
 * counter, outstanding commands matched by (id, seq) with their
 * deadlines, replies-disabled mode (a batch sent between
 * CONTROL_CMD_RESPONSE off and on), one event slot per vCPU (a vCPU has
 * at most one event awaiting a reply, so the event queue is bounded by the
 * vCPU count plus KVMI_EVENT_UNHOOK), the exactly-one-reply rule, and the
 * start-up commands (KVMI_GET_VERSION, KVMI_GET_GUEST_INFO).
 *
 * Threads: a session is not thread-safe; one thread at a time calls it,
 * and its callbacks run on that thread from kvmi_session_dispatch.
 *
 * Errors: a protocol violation by the host (malformed message, a reply
 * matching no command, an event for a vCPU that does not exist or whose
 * previous event is not replied, a rejected event reply, a timed-out
 * command) fails the session: the call that saw it returns the error,
 * kvmi_session_error() keeps it, every outstanding command completes with
 * -ENOTCONN (-ETIMEDOUT when a command timed out), and nothing more is
 * accepted.  The transport then closes the
 * connection.
 */
#ifndef KVMI_SESSION_H
#define KVMI_SESSION_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <kvmi/common.h>
#include <kvmi/error.h>
#include <kvmi/wire.h>

#ifdef __cplusplus
extern "C" {
#endif

struct kvmi_session;
struct kvmi_event_ctx;

/* Log levels of the log callbacks. */
enum kvmi_log_level {
	KVMI_LOG_DEBUG = 0,
	KVMI_LOG_INFO = 1,
	KVMI_LOG_WARNING = 2,
	KVMI_LOG_ERROR = 3,
};

/*
 * What a session tells its owner.  Every callback is optional, runs from
 * kvmi_session_dispatch only (log also from the call that logs), and may
 * call any session function but kvmi_session_dispatch (-EBUSY there) and
 * kvmi_session_free.
 *
 * ready: start-up finished (version and vCPU count known).
 * event: an event; reply with kvmi_event_reply* or kvmi_event_hold() it.
 *   When the callback returns having done neither, the session replies
 *   the default (CONTINUE; CR/MSR with the guest's value; PF all zero) and
 *   logs a warning, so every event gets exactly one reply.
 * unhook: KVMI_EVENT_UNHOOK arrived (it is never replied to).
 * log: one formatted line (borrowed for the call).
 * wake: output was queued from outside the session's callbacks (an event
 *   held earlier was replied from a timer, a command was queued): send
 *   it soon.  Called from that reply or command call.
 */
struct kvmi_session_callbacks {
	void (*ready)(struct kvmi_session *s, void *user);
	void (*event)(struct kvmi_session *s, struct kvmi_event_ctx *ev,
		      void *user);
	void (*unhook)(struct kvmi_session *s, void *user);
	void (*log)(struct kvmi_session *s, enum kvmi_log_level level,
		    const char *msg, void *user);
	void (*wake)(struct kvmi_session *s, void *user);
};

/*
 * The dialect: detected from the host's GET_VERSION reply (KVMI-V7.md
 * sec. 14: v6's 8 bytes, kvmi-v7's 16 with a feature block, v12's size
 * word), refined on kvmi-v7 by a CHECK_COMMAND probe that tells the 2023
 * generation; or forced with force_dialect = KVMI_SESSION_DIALECT(d).
 * Everything the session encodes and decodes follows it; event ids are
 * given in the common numbering (kvmi-v7's, which extends v6's) in every
 * dialect and mapped to the host's on the wire.
 */
#define KVMI_SESSION_DIALECT(d) ((unsigned int)(d) + 1)

struct kvmi_session_config {
	size_t size; /* sizeof(struct kvmi_session_config): set it */
	unsigned int max_vcpus;		 /* vCPU indices accepted; 0: 1024 */
	unsigned int command_timeout_ms; /* per command; 0: 10000 */
	unsigned int force_dialect; /* 0: detect; KVMI_SESSION_DIALECT(d) */
};

/*
 * kvmi_session_new - a session with @cfg (copied; NULL for the defaults)
 * and @cbs (copied; NULL for none), passing @user to every callback.
 * Returns 0 and the session in *@out, -EINVAL or -ENOMEM.
 * kvmi_session_free - release it (NULL accepted).  Outstanding commands
 * complete with -ENOTCONN first (their callbacks run); then the memory
 * goes.  Not from inside one of its callbacks.
 */
KVMI_EXPORT int kvmi_session_new(const struct kvmi_session_config *cfg,
				 const struct kvmi_session_callbacks *cbs,
				 void *user, struct kvmi_session **out);
KVMI_EXPORT void kvmi_session_free(struct kvmi_session *s);

/*
 * kvmi_session_start - queue the start-up commands: KVMI_GET_VERSION;
 * once it is answered (and the dialect known), KVMI_GET_GUEST_INFO and on
 * kvmi-v7 the generation probe.  The ready callback follows once all are
 * answered; a host below version 1 fails the session with KVMI_E_VERSION.
 * 0, -EALREADY, or a negative error.
 */
KVMI_EXPORT int kvmi_session_start(struct kvmi_session *s);

/*
 * kvmi_session_recv - consume @len bytes the host sent (any split: one
 * byte at a time works).  Replies are matched and their data copied to
 * where the command asked; events are copied into their vCPU's slot;
 * nothing is called back from here (see kvmi_session_dispatch), so @buf
 * may be reused as soon as this returns.  Returns @len, or a negative
 * error (the session failed; see the top of this file).
 */
KVMI_EXPORT ssize_t kvmi_session_recv(struct kvmi_session *s, const void *buf,
				      size_t len);

/*
 * kvmi_session_output - the bytes waiting to be sent (*@len of them,
 * borrowed until kvmi_session_output_done or the next call that queues
 * output); NULL and 0 when none.
 * kvmi_session_output_done - @n of them were sent (the session may then
 * release the buffer: ask kvmi_session_output again).
 */
KVMI_EXPORT const uint8_t *kvmi_session_output(const struct kvmi_session *s,
					       size_t *len);
KVMI_EXPORT void kvmi_session_output_done(struct kvmi_session *s, size_t n);

/*
 * kvmi_session_dispatch - deliver, in arrival order, what was received
 * before this call: the end of start-up, events, UNHOOK and finished
 * commands' callbacks.  What arrives while callbacks run (a synchronous
 * command reads more input) waits for the next call, so a busy guest
 * cannot keep its caller forever.  Returns the number of deliveries, or
 * -EBUSY when called from inside one of the session's callbacks.
 * kvmi_session_has_work - 1 when dispatch has something to deliver.
 */
KVMI_EXPORT int kvmi_session_dispatch(struct kvmi_session *s);
KVMI_EXPORT int kvmi_session_has_work(const struct kvmi_session *s);

/*
 * kvmi_session_next_deadline - the CLOCK_MONOTONIC time in ms when the
 * oldest outstanding command times out (UINT64_MAX: none).
 * kvmi_session_expire - @now_ms (CLOCK_MONOTONIC ms) is here: a command
 * past its deadline fails the session with -ETIMEDOUT (a late reply could
 * no longer be told from a desynchronized stream).  0 or -ETIMEDOUT.
 */
KVMI_EXPORT uint64_t kvmi_session_next_deadline(const struct kvmi_session *s);
KVMI_EXPORT int kvmi_session_expire(struct kvmi_session *s, uint64_t now_ms);

/*
 * kvmi_session_fail - fail the session with @err (< 0) from outside (the
 * transport lost the connection): outstanding commands complete with
 * @err, queued events are dropped (the host treats unanswered events as
 * CONTINUE when the connection goes).  Idempotent (the first error stays).
 * kvmi_session_error - that error, 0 while the session is usable.
 */
KVMI_EXPORT void kvmi_session_fail(struct kvmi_session *s, int err);
KVMI_EXPORT int kvmi_session_error(const struct kvmi_session *s);

/* kvmi_session_user - the @user given at creation. */
KVMI_EXPORT void *kvmi_session_user(const struct kvmi_session *s);
/* kvmi_session_dialect - the dialect spoken (v6 until the GET_VERSION
 * reply told otherwise). */
KVMI_EXPORT enum kvmi_dialect
kvmi_session_dialect(const struct kvmi_session *s);
/*
 * The host's optional features, from its GET_VERSION reply: kvmi-v7
 * reports spp, vmfunc, eptp, ve and singlestep (KVMI-V7.md sec. 9); v12
 * only singlestep; v6 has no feature block.  Each flag is 1 when the host
 * says it has the feature; @present is 1 when the host sent a block at
 * all (all zero otherwise).
 */
struct kvmi_host_features {
	uint8_t present;
	uint8_t spp;	    /* sub-page write protection */
	uint8_t vmfunc;	    /* VMFUNC (the guest switches EPT views itself) */
	uint8_t eptp;	    /* EPTP switching: views other than 0 */
	uint8_t ve;	    /* virtualization exceptions (#VE) */
	uint8_t singlestep; /* CONTROL_SINGLESTEP (MTF) */
	uint8_t reserved[2];
};

/* kvmi_session_features - the feature block into *@out (all zero before
 * ready and on hosts without one).  0, or -EINVAL for a NULL argument. */
KVMI_EXPORT int kvmi_session_features(const struct kvmi_session *s,
				      struct kvmi_host_features *out);

/* kvmi_session_version - the host's KVMI version (0 before ready). */
KVMI_EXPORT uint32_t kvmi_session_version(const struct kvmi_session *s);
/* kvmi_session_vcpu_count - vCPUs known: GET_GUEST_INFO's count, raised
 * by KVMI_EVENT_CREATE_VCPU events (never above max_vcpus). */
KVMI_EXPORT unsigned int kvmi_session_vcpu_count(const struct kvmi_session *s);
/* kvmi_session_is_ready - 1 once start-up finished and was delivered. */
KVMI_EXPORT int kvmi_session_is_ready(const struct kvmi_session *s);
/* kvmi_session_outstanding - commands sent and not yet answered. */
KVMI_EXPORT size_t kvmi_session_outstanding(const struct kvmi_session *s);
/* kvmi_session_bytes_received - bytes of the host's KVMI stream consumed
 * by kvmi_session_recv so far (QEMU's handshake is not part of it): 0
 * tells a host that never sent a message, e.g. a QEMU that hung up after
 * the handshake over a cookie it refused. */
KVMI_EXPORT uint64_t kvmi_session_bytes_received(const struct kvmi_session *s);

/*
 * kvmi_session_command - queue one encoded command (@msg, @len bytes,
 * built with a kvmi_encode_* function and the seq from
 * kvmi_session_next_seq) and call @cb(@s, result, reply_len, @ctx) from
 * dispatch when its reply arrives: result 0 or the host's error as a
 * negative errno; the reply's data (up to @out_cap bytes) is copied to
 * @out, which must stay valid until the callback.  Also on failure of the
 * session (-ENOTCONN, -ETIMEDOUT, ...).  Returns 0, or a negative error
 * with nothing queued and @cb never called.
 * kvmi_session_next_seq - the sequence number for the next command.
 */
typedef void (*kvmi_session_cmd_cb)(struct kvmi_session *s, int result,
				    size_t reply_len, void *ctx);
KVMI_EXPORT int kvmi_session_command(struct kvmi_session *s, const void *msg,
				     size_t len, void *out, size_t out_cap,
				     kvmi_session_cmd_cb cb, void *ctx);
KVMI_EXPORT uint32_t kvmi_session_next_seq(struct kvmi_session *s);

/* kvmi_session_set_timeout - the timeout of commands queued from now on,
 * in ms (> 0).  0 or -EINVAL. */
KVMI_EXPORT int kvmi_session_set_timeout(struct kvmi_session *s,
					 unsigned int ms);

/* ------------------------------------------------------------------ */
/* Events                                                              */
/* ------------------------------------------------------------------ */

/*
 * A received event (struct kvmi_event_ctx, opaque) is owned by its
 * session and valid until it is replied to (or the session is freed).
 * Every event gets exactly one reply: the handler replies
 * (kvmi_event_reply*), or holds the event to reply later
 * (kvmi_event_hold); otherwise the default reply follows (see the event
 * callback).  A second reply is refused with KVMI_E_ALREADY_REPLIED and
 * nothing is sent.  KVMI_EVENT_UNHOOK never reaches these calls.
 */
KVMI_EXPORT uint32_t kvmi_event_seq(const struct kvmi_event_ctx *ev);
KVMI_EXPORT unsigned int kvmi_event_id(const struct kvmi_event_ctx *ev);
KVMI_EXPORT unsigned int kvmi_event_vcpu(const struct kvmi_event_ctx *ev);
KVMI_EXPORT struct kvmi_session *
kvmi_event_session(const struct kvmi_event_ctx *ev);
/* the common struct (normalized to our size) and the event data;
 * borrowed, valid while the event is */
KVMI_EXPORT const struct kvmi_event *
kvmi_event_common(const struct kvmi_event_ctx *ev);
KVMI_EXPORT const union kvmi_event_data *
kvmi_event_data(const struct kvmi_event_ctx *ev);
/* 1 once replied (and for NULL) */
KVMI_EXPORT int kvmi_event_replied(const struct kvmi_event_ctx *ev);

/*
 * Replies: queued in the session's output (the transport sends it when
 * the handler returns); the event is then done and @ev must not be used
 * again.  -EINVAL for an action the event does not accept (RETRY only
 * for BREAKPOINT, PF, DESCRIPTOR) or a reply call of another event kind,
 * KVMI_E_ALREADY_REPLIED for a second reply, -ENOTCONN when the session
 * failed, -ENOMEM.  kvmi_event_reply on a CR/MSR event sends new_val =
 * new_value (the write as the guest made it); on a PF event an all-zero
 * PF reply.
 */
KVMI_EXPORT int kvmi_event_reply(struct kvmi_event_ctx *ev, uint8_t action);
KVMI_EXPORT int kvmi_event_reply_cr(struct kvmi_event_ctx *ev, uint8_t action,
				    uint64_t new_val);
KVMI_EXPORT int kvmi_event_reply_msr(struct kvmi_event_ctx *ev,
				     uint8_t action, uint64_t new_val);
KVMI_EXPORT int kvmi_event_reply_pf(struct kvmi_event_ctx *ev, uint8_t action,
				    const struct kvmi_event_pf_reply *pf);

/* kvmi_event_hold - keep @ev beyond the handler; reply later. */
KVMI_EXPORT void kvmi_event_hold(struct kvmi_event_ctx *ev);

/*
 * kvmi_session_open_events - up to @max events of @s that were received
 * and not yet replied, oldest first, into @out (NULL to count only);
 * returns how many there are in all (may exceed @max): the held ones and
 * those waiting for dispatch.  Replying to a waiting one takes it out of
 * the queue (its handler will not see it).
 */
KVMI_EXPORT size_t kvmi_session_open_events(struct kvmi_session *s,
					    struct kvmi_event_ctx **out,
					    size_t max);

#ifdef __cplusplus
}
#endif

#endif /* KVMI_SESSION_H */
