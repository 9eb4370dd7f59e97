/*
 * libkvmi - dom_info.c: a domain's accessors (include/kvmi/domain.h):
 * identity, server, vCPUs, dialect, features, version, user pointer,
 * state and error, command timeout, socket, byte counts, and the capture
 * of its traffic.
 */
#include <errno.h>

#include "internal.h"

KVMI_EXPORT const struct kvmi_guest_identity *
kvmi_dom_identity(const struct kvmi_dom *dom)
{
	return dom ? &dom->identity : NULL;
}

KVMI_EXPORT struct kvmi_server *kvmi_dom_server(const struct kvmi_dom *dom)
{
	return dom ? dom->srv : NULL;
}

KVMI_EXPORT unsigned int kvmi_dom_vcpu_count(const struct kvmi_dom *dom)
{
	return dom ? kvmi_session_vcpu_count(dom->sess) : 0;
}

KVMI_EXPORT enum kvmi_dialect kvmi_dom_dialect(const struct kvmi_dom *dom)
{
	return kvmi_session_dialect(dom ? dom->sess : NULL);
}

KVMI_EXPORT int kvmi_dom_features(const struct kvmi_dom *dom,
				  struct kvmi_host_features *out)
{
	return kvmi_session_features(dom ? dom->sess : NULL, out);
}

KVMI_EXPORT uint32_t kvmi_dom_version(const struct kvmi_dom *dom)
{
	return dom ? kvmi_session_version(dom->sess) : 0;
}

KVMI_EXPORT void kvmi_dom_set_user(struct kvmi_dom *dom, void *user)
{
	if (dom)
		dom->user = user;
}

KVMI_EXPORT void *kvmi_dom_user(const struct kvmi_dom *dom)
{
	return dom ? dom->user : NULL;
}

KVMI_EXPORT int kvmi_dom_is_connected(const struct kvmi_dom *dom)
{
	return kvmi__dom_usable(dom);
}

KVMI_EXPORT int kvmi_dom_error(const struct kvmi_dom *dom)
{
	return dom ? dom->error : -EINVAL;
}

KVMI_EXPORT int kvmi_dom_set_command_timeout(struct kvmi_dom *dom,
					     unsigned int ms)
{
	if (!dom)
		return -EINVAL;
	return kvmi_session_set_timeout(dom->sess, ms);
}

KVMI_EXPORT int kvmi_dom_fd(const struct kvmi_dom *dom)
{
	return kvmi__dom_open(dom) ? dom->fd : -1;
}

KVMI_EXPORT void kvmi_dom_bytes(const struct kvmi_dom *dom, uint64_t *in,
				uint64_t *out)
{
	if (in)
		*in = dom ? dom->bytes_in : 0;
	if (out)
		*out = dom ? dom->bytes_out : 0;
}

KVMI_EXPORT int kvmi_dom_capture_start(struct kvmi_dom *dom, const char *path)
{
	struct kvmi_capture_writer *w;
	int err;

	if (!dom || !path)
		return -EINVAL;
	if (!kvmi__dom_usable(dom))
		return -ENOTCONN;
	err = kvmi_capture_writer_open(path, &w);
	if (err)
		return err;
	kvmi_dom_capture_stop(dom);
	dom->capture = w;
	return 0;
}

KVMI_EXPORT void kvmi_dom_capture_stop(struct kvmi_dom *dom)
{
	if (!dom || !dom->capture)
		return;
	kvmi_capture_writer_close(dom->capture);
	dom->capture = NULL;
}
