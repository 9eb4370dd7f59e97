/*
 * libkvmi - lib/compat/domain.c: one 1.x domain - a connected socket and
 * the kvmi_session it feeds with poll(2)-driven blocking I/O, the
 * synchronous command helper every 1.x call uses, the error and log
 * conventions, and the domain queries of <libkvmi.h>.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "compat.h"

/* ---- errors and log ---- */

int kvmi1__errno(int err)
{
	if (err > -KVMI_ERRNO_BASE)
		return -err;
	switch (err) {
	case KVMI_E_PAGE_CROSS:
	case KVMI_E_TOO_MANY:
	case KVMI_E_NOSPACE:
	case KVMI_E_ALREADY_REPLIED:
		return EINVAL;
	case KVMI_E_QUEUE_FULL:
		return ENOMEM;
	case KVMI_E_VERSION:
	case KVMI_E_HANDSHAKE_SIZE:
		return EPROTO;
	case KVMI_E_HANDSHAKE_REFUSED:
		return ECONNREFUSED;
	default:
		return EPROTO; /* the host broke the protocol */
	}
}

int kvmi1__ret(int err)
{
	if (err >= 0)
		return err;
	errno = kvmi1__errno(err);
	return -1;
}

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static kvmi_log_cb log_cb;
static void *log_ctx;

KVMI_EXPORT void kvmi_set_log_cb(kvmi_log_cb cb, void *ctx)
{
	pthread_mutex_lock(&log_lock);
	log_cb = cb;
	log_ctx = ctx;
	pthread_mutex_unlock(&log_lock);
}

void kvmi1__log(kvmi_log_level level, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&log_lock);
	if (log_cb)
		log_cb(level, line, log_ctx);
	pthread_mutex_unlock(&log_lock);
}

static void on_session_log(struct kvmi_session *s, enum kvmi_log_level level,
			   const char *msg, void *user)
{
	struct kvmi1_dom *d = user;

	(void)s;
	kvmi1__log((kvmi_log_level)level, "%s: %s", d->qemu.name, msg);
}

/* ---- I/O ---- */

/* the connection is gone: fail the session, forget its events */
static int lost(struct kvmi1_dom *d, int err)
{
	kvmi_session_fail(d->s, err);
	/* the outstanding commands' callbacks run now: their records live
	 * on the stacks of the calls waiting for them */
	kvmi_session_dispatch(d->s);
	atomic_store(&d->connected, false);
	kvmi1__forget_events_locked(d);
	kvmi1__wake(d);
	return err;
}

/* ms until the oldest command times out (-1: none), at least 0 */
static int command_wait_ms(struct kvmi1_dom *d)
{
	uint64_t dl = kvmi_session_next_deadline(d->s), now = kvmi__now_ms();

	if (dl == UINT64_MAX)
		return -1;
	return dl <= now ? 0 : (int)(dl - now > 60000 ? 60000 : dl - now);
}

/* a command timed out: the session fails, its commands complete */
static int expire(struct kvmi1_dom *d)
{
	int err = kvmi_session_expire(d->s, kvmi__now_ms());

	if (err < 0) {
		kvmi_session_dispatch(d->s);
		return lost(d, err);
	}
	return 0;
}

int kvmi1__flush_locked(struct kvmi1_dom *d)
{
	for (;;) {
		size_t len;
		const uint8_t *p = kvmi_session_output(d->s, &len);
		ssize_t n;

		if (!p || !len)
			return 0;
		n = send(d->fd, p, len, MSG_NOSIGNAL);
		if (n > 0) {
			kvmi_session_output_done(d->s, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			struct pollfd pfd = {.fd = d->fd, .events = POLLOUT};
			int ms = command_wait_ms(d);

			if (poll(&pfd, 1, ms < 0 ? KVMI1__HANDSHAKE_MS : ms) ==
			    0) {
				kvmi1__log(KVMI_LOG_LEVEL_ERROR,
					   "%s: the host reads nothing; "
					   "closing",
					   d->qemu.name);
				return lost(d, -ETIMEDOUT);
			}
			continue;
		}
		return lost(d, n < 0 ? -errno : -EPIPE);
	}
}

/* read once (the socket is non-blocking: EAGAIN reads nothing), feed,
 * dispatch; *@more (may be NULL) says whether more may be waiting (the
 * read filled the buffer, or was interrupted) */
static int read_some(struct kvmi1_dom *d, bool *more)
{
	/* on the reader's stack: the session keeps what it needs of it, and
	 * an idle guest then costs no read buffer */
	uint8_t rbuf[16384];
	ssize_t n = recv(d->fd, rbuf, sizeof(rbuf), MSG_DONTWAIT);
	int err;

	if (more)
		*more = (n < 0 && errno == EINTR) || n == (ssize_t)sizeof(rbuf);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		      errno == EINTR))
		return 0;
	if (n == 0)
		return lost(d, -ENOTCONN);
	if (n < 0)
		return lost(d, -errno);
	err = (int)kvmi_session_recv(d->s, rbuf, (size_t)n);
	kvmi_session_dispatch(d->s);
	if (err < 0)
		return lost(d, err);
	if (d->unhook_net && !d->in_net) {
		kvmi1__net_run_locked(d);
		return -ENOTCONN;
	}
	/* what dispatch replied or queued goes out now */
	return kvmi1__flush_locked(d);
}

int kvmi1__poll_input_locked(struct kvmi1_dom *d)
{
	int err = kvmi_session_error(d->s);
	bool more = true;

	if (err)
		return err;
	/* no poll first: a read that finds nothing costs the same call, and
	 * one that returns less than the buffer has drained the socket */
	while (more) {
		err = read_some(d, &more);
		if (err)
			return err;
	}
	return expire(d);
}

int kvmi1__pump_locked(struct kvmi1_dom *d, int timeout_ms)
{
	struct pollfd pfd = {.fd = d->fd, .events = POLLIN};
	int err = kvmi_session_error(d->s), n;

	if (err)
		return err;
	n = poll(&pfd, 1, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : lost(d, -errno);
	if (n == 0)
		return expire(d) ? kvmi_session_error(d->s) : -ETIMEDOUT;
	return read_some(d, NULL);
}

void kvmi1__cmd_done(struct kvmi_session *s, int result, size_t len, void *ctx)
{
	struct kvmi1_wait *w = ctx;

	(void)s;
	w->done = true;
	w->result = result;
	w->len = len;
}

int kvmi1__wait_locked(struct kvmi1_dom *d, struct kvmi1_wait *w)
{
	int err = kvmi1__flush_locked(d);

	while (!w->done) {
		err = kvmi1__pump_locked(d, command_wait_ms(d));
		if (err && err != -ETIMEDOUT && !w->done)
			return err;
	}
	return w->result;
}

int kvmi1__cmd_locked(struct kvmi1_dom *d, const void *msg, int msg_len,
		      void *out, size_t cap, size_t *len)
{
	struct kvmi1_wait w = {0};
	int err;

	if (msg_len < 0)
		return msg_len;
	err = kvmi_session_command(d->s, msg, (size_t)msg_len, out, cap,
				   kvmi1__cmd_done, &w);
	if (err)
		return err;
	err = kvmi1__wait_locked(d, &w);
	if (len)
		*len = w.len;
	return err;
}

int kvmi1__cmd(struct kvmi1_dom *d, const void *msg, int msg_len, void *out,
	       size_t cap, size_t *len)
{
	int err;

	if (!d)
		return -EINVAL;
	pthread_mutex_lock(&d->lock);
	err = kvmi1__cmd_locked(d, msg, msg_len, out, cap, len);
	pthread_mutex_unlock(&d->lock);
	return err;
}

/* ---- life ---- */

static void on_ready(struct kvmi_session *s, void *user)
{
	(void)s;
	(void)user;
}

/* the safety net needs UNHOOK: enable it for the tool */
static void enable_net(struct kvmi1_dom *d)
{
	uint8_t msg[KVMI_ENCODE_MAX]; /* copied by the session */
	int err;

	pthread_mutex_lock(&d->lock);
	err = kvmi1__cmd_locked(
	    d, msg,
	    kvmi_encode_control_vm_events_d(kvmi1__dialect(d), msg,
					    sizeof(msg),
					    kvmi_session_next_seq(d->s),
					    KVMI_EVENT_UNHOOK, 1),
	    NULL, 0, NULL);
	pthread_mutex_unlock(&d->lock);
	d->net = err == 0;
	if (err)
		kvmi1__log(KVMI_LOG_LEVEL_WARNING,
			   "%s: the unhook safety net is off: enabling "
			   "KVMI_EVENT_UNHOOK failed: %s",
			   d->qemu.name, kvmi_strerror(err));
}

int kvmi1__dom_new(int fd, const struct kvmi_qemu2introspector *qemu,
		   struct kvmi1_dom **out)
{
	static const struct kvmi_session_callbacks cbs = {
	    .ready = on_ready,
	    .event = kvmi1__on_event,
	    .unhook = kvmi1__on_unhook,
	    .log = on_session_log,
	};
	struct kvmi1_dom *d = calloc(1, sizeof(*d));
	struct kvmi_host_features f;
	uint64_t end;
	int err;

	if (!d) {
		close(fd);
		return -ENOMEM;
	}
	d->fd = fd;
	d->busy_ns = kvmi1__busy_poll_ns();
	d->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	d->qemu = *qemu;
	atomic_init(&d->connected, true);
	pthread_mutex_init(&d->lock, NULL);
	err = d->efd < 0 ? -errno : kvmi_session_new(NULL, &cbs, d, &d->s);
	if (!err)
		err = kvmi_session_start(d->s);
	pthread_mutex_lock(&d->lock);
	if (!err)
		err = kvmi1__flush_locked(d);
	end = kvmi__now_ms() + KVMI1__HANDSHAKE_MS;
	while (!err && !kvmi_session_is_ready(d->s)) {
		uint64_t now = kvmi__now_ms();

		err = now >= end ? -ETIMEDOUT
				 : kvmi1__pump_locked(d, (int)(end - now));
	}
	pthread_mutex_unlock(&d->lock);
	if (err) {
		kvmi1__log(KVMI_LOG_LEVEL_ERROR, "%s: start-up failed: %s",
			   qemu->name, kvmi_strerror(err));
		kvmi1__dom_free(d);
		return err;
	}
	/* the session's start-up asked GET_VERSION and told the dialect
	 * (v6: 8 bytes; kvmi-v7: 16, with the feature block) */
	d->version = kvmi_session_version(d->s);
	kvmi_session_features(d->s, &f);
	d->ext = kvmi1__is_v7(d) && f.present;
	d->features.spp = f.spp;
	d->features.vmfunc = f.vmfunc;
	d->features.eptp = f.eptp;
	d->features.ve = f.ve;
	if (kvmi1__net_wanted())
		enable_net(d);
	*out = d;
	return 0;
}

void kvmi1__dom_free(struct kvmi1_dom *d)
{
	if (!d)
		return;
	kvmi_session_free(d->s);
	if (d->fd >= 0)
		close(d->fd);
	if (d->efd >= 0)
		close(d->efd);
	pthread_mutex_destroy(&d->lock);
	free(d->queued);
	free(d->popped);
	free(d->bytes);
	free(d->pages);
	free(d->hooks);
	free(d);
}

/* ---- the domain calls of <libkvmi.h> ---- */

KVMI_EXPORT void kvmi_domain_close(void *dom, bool do_shutdown)
{
	struct kvmi1_dom *d = dom;

	if (!d)
		return;
	if (do_shutdown)
		shutdown(d->fd, SHUT_RDWR);
	kvmi1__dom_free(d);
}

KVMI_EXPORT bool kvmi_domain_is_connected(const void *dom)
{
	const struct kvmi1_dom *d = dom;

	return d && atomic_load(&d->connected);
}

KVMI_EXPORT void kvmi_domain_name(const void *dom, char *dest, size_t dest_size)
{
	const struct kvmi1_dom *d = dom;

	if (d && dest && dest_size)
		snprintf(dest, dest_size, "%s", d->qemu.name);
}

KVMI_EXPORT int kvmi_connection_fd(const void *dom)
{
	const struct kvmi1_dom *d = dom;

	return d ? d->fd : -1;
}

KVMI_EXPORT int64_t kvmi_get_starttime(const void *dom)
{
	const struct kvmi1_dom *d = dom;

	return d ? d->qemu.start_time : 0;
}

KVMI_EXPORT int kvmi_get_version(void *dom, unsigned int *version)
{
	struct kvmi1_dom *d = dom;

	if (version)
		*version = d ? d->version : 0;
	return 0;
}

static int feature(void *dom, bool *supported, size_t off)
{
	struct kvmi1_dom *d = dom;
	const uint8_t *f = d ? (const uint8_t *)&d->features : NULL;

	if (supported)
		*supported = f && d->ext && f[off];
	return 0;
}

KVMI_EXPORT int kvmi_spp_support(void *dom, bool *supported)
{
	return feature(dom, supported, offsetof(struct kvmi_features, spp));
}

KVMI_EXPORT int kvmi_ve_support(void *dom, bool *supported)
{
	return feature(dom, supported, offsetof(struct kvmi_features, ve));
}

KVMI_EXPORT int kvmi_vmfunc_support(void *dom, bool *supported)
{
	return feature(dom, supported, offsetof(struct kvmi_features, vmfunc));
}

KVMI_EXPORT int kvmi_eptp_support(void *dom, bool *supported)
{
	return feature(dom, supported, offsetof(struct kvmi_features, eptp));
}
