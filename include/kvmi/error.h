/*
 * libkvmi - error.h: error codes and their names.
 *
 * Convention (libuv's): functions return 0 or a non-negative count on
 * success and a negative value on failure.  A failure is either a negative
 * errno value (-EINVAL, -ENOMEM, -ETIMEDOUT, -ENOTCONN, ...) or one of the
 * library's own protocol errors below, which live in a range above every
 * errno value so the two never collide.
 *
 * Errors reported by the host in a command reply (the negated KVM_E* value
 * of struct kvmi_error_code) are mapped to negative errno values with
 * kvmi_host_error_to_errno(); the original value stays available where the
 * reply is exposed (struct kvmi_msg.reply.host_err).
 *
 * Every function here is pure and callable from any thread.
 */
#ifndef KVMI_ERROR_H
#define KVMI_ERROR_H

#include <kvmi/common.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KVMI_ERRNO_BASE 4096

enum kvmi_error {
	/* --- framing / decoding (fatal for the connection) --- */
	/* header announces a payload above the decoder's maximum */
	KVMI_E_MSG_TOO_BIG = -(KVMI_ERRNO_BASE + 1),
	/* stream ended inside a message header */
	KVMI_E_TRUNC_HEADER = -(KVMI_ERRNO_BASE + 2),
	/* stream ended inside a message body */
	KVMI_E_TRUNC_BODY = -(KVMI_ERRNO_BASE + 3),
	/* message id not valid in this direction */
	KVMI_E_UNKNOWN_MSG = -(KVMI_ERRNO_BASE + 4),
	/* KVMI_EVENT with an unknown event id */
	KVMI_E_UNKNOWN_EVENT = -(KVMI_ERRNO_BASE + 5),
	/* event common struct size below the minimum (8) */
	KVMI_E_EVENT_COMMON_SHORT = -(KVMI_ERRNO_BASE + 6),
	/* event common struct size beyond the message */
	KVMI_E_EVENT_COMMON_OVERRUN = -(KVMI_ERRNO_BASE + 7),
	/* event-specific payload shorter than the event needs */
	KVMI_E_EVENT_PAYLOAD_SHORT = -(KVMI_ERRNO_BASE + 8),
	/* message shorter than its fixed part (reply error code, vcpu hdr,...) */
	KVMI_E_MSG_SHORT = -(KVMI_ERRNO_BASE + 9),
	/* message size inconsistent with its id or its counts */
	KVMI_E_MSG_SIZE = -(KVMI_ERRNO_BASE + 10),
	/* decoder refuses input after an earlier framing error (sticky) */
	KVMI_E_DECODER_FAILED = -(KVMI_ERRNO_BASE + 11),

	/* --- encoding (nothing was built) --- */
	/* physical read/write crossing a 4 KiB page or of size 0 / > 4096 */
	KVMI_E_PAGE_CROSS = -(KVMI_ERRNO_BASE + 20),
	/* element count beyond what one message can carry */
	KVMI_E_TOO_MANY = -(KVMI_ERRNO_BASE + 21),
	/* caller buffer too small */
	KVMI_E_NOSPACE = -(KVMI_ERRNO_BASE + 22),

	/* --- session / connection --- */
	/* reply whose (id, seq) matches no outstanding command */
	KVMI_E_UNEXPECTED_REPLY = -(KVMI_ERRNO_BASE + 30),
	/* bounded event queue overflowed */
	KVMI_E_QUEUE_FULL = -(KVMI_ERRNO_BASE + 31),
	/* the event was already replied to */
	KVMI_E_ALREADY_REPLIED = -(KVMI_ERRNO_BASE + 32),
	/* the host rejected an event reply (host message with id 0) */
	KVMI_E_EVENT_REPLY_REJECTED = -(KVMI_ERRNO_BASE + 33),
	/* handshake: QEMU's struct_size out of range */
	KVMI_E_HANDSHAKE_SIZE = -(KVMI_ERRNO_BASE + 34),
	/* handshake refused by the tool's callback */
	KVMI_E_HANDSHAKE_REFUSED = -(KVMI_ERRNO_BASE + 35),
	/* host speaks a protocol version we do not support */
	KVMI_E_VERSION = -(KVMI_ERRNO_BASE + 36),
	/* capture file malformed or of an unknown version */
	KVMI_E_CAPTURE_FORMAT = -(KVMI_ERRNO_BASE + 37),
	/* peer credentials not in the allow-list */
	KVMI_E_PEER_REFUSED = -(KVMI_ERRNO_BASE + 38),
	/* the unhook deadline passed before every hook was restored */
	KVMI_E_DEADLINE = -(KVMI_ERRNO_BASE + 39),
	/* a restored byte or page access did not read back as expected */
	KVMI_E_VERIFY = -(KVMI_ERRNO_BASE + 40),

	KVMI_E__LAST = -(KVMI_ERRNO_BASE + 99),
};

/*
 * kvmi_strerror - a static, human-readable name for @err.
 * Knows every enum kvmi_error value and every errno value; anything else
 * gives "unknown error".  Never returns NULL.
 */
KVMI_EXPORT const char *kvmi_strerror(int err);

/*
 * kvmi_err_name - the symbolic name of @err ("KVMI_E_MSG_TOO_BIG",
 * "EINVAL", ...), or "UNKNOWN".  Static string, never NULL.
 */
KVMI_EXPORT const char *kvmi_err_name(int err);

/*
 * kvmi_host_error_to_errno - map a host error as sent on the wire
 * (0 or -KVM_E*) to 0 or a negative errno value: the KVM_E* numbers are
 * errno numbers (kvmi-v7 adds KVM_ETIME, 62) except KVM_ENOSYS (1000)
 * which becomes -ENOSYS.  A value that is neither maps to -EPROTO.
 */
KVMI_EXPORT int kvmi_host_error_to_errno(int32_t host_err);

/*
 * kvmi_host_error_name - "KVM_EINVAL", ... for a host error as sent on
 * the wire (negative) or its absolute value; "0" for 0; "KVM_E?" otherwise.
 */
KVMI_EXPORT const char *kvmi_host_error_name(int32_t host_err);

/*
 * kvmi_error_is_fatal - non-zero when @err means the connection it came
 * from can no longer be used and must be closed (framing errors, an
 * unexpected reply, queue overflow, a rejected event reply, -ECONNRESET,
 * -EPIPE, -ENOTCONN, -EPROTO, ...).  Host errors mapped from a reply and
 * argument errors (-EINVAL, KVMI_E_PAGE_CROSS, ...) are not fatal.
 */
KVMI_EXPORT int kvmi_error_is_fatal(int err);

#ifdef __cplusplus
}
#endif

#endif /* KVMI_ERROR_H */
