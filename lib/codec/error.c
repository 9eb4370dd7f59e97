/*
 * libkvmi - error.c: names of error codes and the host error mapping.
 */
#include <errno.h>
#include <string.h>

#include <kvmi/error.h>
#include <kvmi/wire.h>

struct err_desc {
	int code;
	const char *name;
	const char *text;
};

static const struct err_desc lib_errors[] = {
	{KVMI_E_MSG_TOO_BIG, "KVMI_E_MSG_TOO_BIG",
	 "message size exceeds the maximum"},
	{KVMI_E_TRUNC_HEADER, "KVMI_E_TRUNC_HEADER",
	 "stream ended inside a message header"},
	{KVMI_E_TRUNC_BODY, "KVMI_E_TRUNC_BODY",
	 "stream ended inside a message body"},
	{KVMI_E_UNKNOWN_MSG, "KVMI_E_UNKNOWN_MSG", "unknown message id"},
	{KVMI_E_UNKNOWN_EVENT, "KVMI_E_UNKNOWN_EVENT", "unknown event id"},
	{KVMI_E_EVENT_COMMON_SHORT, "KVMI_E_EVENT_COMMON_SHORT",
	 "event common struct size below the minimum"},
	{KVMI_E_EVENT_COMMON_OVERRUN, "KVMI_E_EVENT_COMMON_OVERRUN",
	 "event common struct size beyond the message"},
	{KVMI_E_EVENT_PAYLOAD_SHORT, "KVMI_E_EVENT_PAYLOAD_SHORT",
	 "event payload too short for its event"},
	{KVMI_E_MSG_SHORT, "KVMI_E_MSG_SHORT",
	 "message shorter than its fixed part"},
	{KVMI_E_MSG_SIZE, "KVMI_E_MSG_SIZE",
	 "message size does not match its contents"},
	{KVMI_E_DECODER_FAILED, "KVMI_E_DECODER_FAILED",
	 "decoder failed earlier and refuses input until reset"},
	{KVMI_E_PAGE_CROSS, "KVMI_E_PAGE_CROSS",
	 "physical access empty, larger than a page or crossing a 4 KiB page"},
	{KVMI_E_TOO_MANY, "KVMI_E_TOO_MANY",
	 "more elements than one message can carry"},
	{KVMI_E_NOSPACE, "KVMI_E_NOSPACE", "buffer too small"},
	{KVMI_E_UNEXPECTED_REPLY, "KVMI_E_UNEXPECTED_REPLY",
	 "reply matches no outstanding command"},
	{KVMI_E_QUEUE_FULL, "KVMI_E_QUEUE_FULL", "event queue overflow"},
	{KVMI_E_ALREADY_REPLIED, "KVMI_E_ALREADY_REPLIED",
	 "event already replied to"},
	{KVMI_E_EVENT_REPLY_REJECTED, "KVMI_E_EVENT_REPLY_REJECTED",
	 "host rejected an event reply"},
	{KVMI_E_HANDSHAKE_SIZE, "KVMI_E_HANDSHAKE_SIZE",
	 "handshake struct size out of range"},
	{KVMI_E_HANDSHAKE_REFUSED, "KVMI_E_HANDSHAKE_REFUSED",
	 "handshake refused"},
	{KVMI_E_VERSION, "KVMI_E_VERSION", "unsupported protocol version"},
	{KVMI_E_CAPTURE_FORMAT, "KVMI_E_CAPTURE_FORMAT",
	 "malformed capture file"},
	{KVMI_E_PEER_REFUSED, "KVMI_E_PEER_REFUSED",
	 "peer credentials not allowed"},
	{KVMI_E_DEADLINE, "KVMI_E_DEADLINE",
	 "deadline passed before every hook was restored"},
	{KVMI_E_VERIFY, "KVMI_E_VERIFY",
	 "restored state did not read back as expected"},
};

#define N_LIB_ERRORS (sizeof(lib_errors) / sizeof(lib_errors[0]))

static const struct err_desc *find_lib(int err)
{
	for (size_t i = 0; i < N_LIB_ERRORS; i++)
		if (lib_errors[i].code == err)
			return &lib_errors[i];
	return NULL;
}

KVMI_EXPORT const char *kvmi_strerror(int err)
{
	const struct err_desc *d;

	if (err == 0)
		return "success";
	d = find_lib(err);
	if (d)
		return d->text;
	if (err < 0 && err > -KVMI_ERRNO_BASE) {
		const char *s = strerrordesc_np(-err);

		if (s)
			return s;
	}
	return "unknown error";
}

KVMI_EXPORT const char *kvmi_err_name(int err)
{
	const struct err_desc *d;

	if (err == 0)
		return "0";
	d = find_lib(err);
	if (d)
		return d->name;
	if (err < 0 && err > -KVMI_ERRNO_BASE) {
		const char *s = strerrorname_np(-err);

		if (s)
			return s;
	}
	return "UNKNOWN";
}

KVMI_EXPORT int kvmi_host_error_to_errno(int32_t host_err)
{
	switch (host_err) {
	case 0:
		return 0;
	case -KVM_EPERM:
	case -KVM_ENOENT:
	case -KVM_E2BIG:
	case -KVM_EAGAIN:
	case -KVM_ENOMEM:
	case -KVM_EFAULT:
	case -KVM_EBUSY:
	case -KVM_EINVAL:
	case -KVM_EOPNOTSUPP:
	case -KVM_ETIME: /* kvmi-v7 2023: ALLOC/FREE_GFN without QEMU's helper */
		return host_err;
	case -KVM_ENOSYS:
		return -ENOSYS;
	default:
		return -EPROTO;
	}
}

KVMI_EXPORT const char *kvmi_host_error_name(int32_t host_err)
{
	int32_t e = host_err < 0 ? -host_err : host_err;

	switch (e) {
	case 0:
		return "0";
	case KVM_EPERM:
		return "KVM_EPERM";
	case KVM_ENOENT:
		return "KVM_ENOENT";
	case KVM_E2BIG:
		return "KVM_E2BIG";
	case KVM_EAGAIN:
		return "KVM_EAGAIN";
	case KVM_ENOMEM:
		return "KVM_ENOMEM";
	case KVM_EFAULT:
		return "KVM_EFAULT";
	case KVM_EBUSY:
		return "KVM_EBUSY";
	case KVM_EINVAL:
		return "KVM_EINVAL";
	case KVM_EOPNOTSUPP:
		return "KVM_EOPNOTSUPP";
	case KVM_ENOSYS:
		return "KVM_ENOSYS";
	case KVM_ETIME:
		return "KVM_ETIME";
	default:
		return "KVM_E?";
	}
}

KVMI_EXPORT int kvmi_error_is_fatal(int err)
{
	switch (err) {
	case KVMI_E_MSG_TOO_BIG:
	case KVMI_E_TRUNC_HEADER:
	case KVMI_E_TRUNC_BODY:
	case KVMI_E_UNKNOWN_MSG:
	case KVMI_E_UNKNOWN_EVENT:
	case KVMI_E_EVENT_COMMON_SHORT:
	case KVMI_E_EVENT_COMMON_OVERRUN:
	case KVMI_E_EVENT_PAYLOAD_SHORT:
	case KVMI_E_MSG_SHORT:
	case KVMI_E_MSG_SIZE:
	case KVMI_E_DECODER_FAILED:
	case KVMI_E_UNEXPECTED_REPLY:
	case KVMI_E_QUEUE_FULL:
	case KVMI_E_EVENT_REPLY_REJECTED:
	case KVMI_E_HANDSHAKE_SIZE:
	case KVMI_E_HANDSHAKE_REFUSED:
	case KVMI_E_VERSION:
	case KVMI_E_PEER_REFUSED:
	case -ECONNRESET:
	case -ECONNABORTED:
	case -EPIPE:
	case -ENOTCONN:
	case -EPROTO:
	case -ESHUTDOWN:
		return 1;
	default:
		return 0;
	}
}
