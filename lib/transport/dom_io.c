/*
 * libkvmi - dom_io.c: a domain's socket: writing the session's output
 * (never waiting), reading into the session, QEMU's handshake struct and
 * its answer, and the poll() of a synchronous call, which waits on this
 * domain's socket alone.  Loop-agnostic: whatever drives the domain
 * (domain.c's process) calls these when the socket is ready.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"

/* ---- writing ---- */

/* write what the socket takes now (never waits: the rest goes when the
 * poll says writable); 0, or the error that failed the domain */
int kvmi__dom_flush(struct kvmi_dom *dom)
{
	int err = 0;

	for (;;) {
		size_t len;
		const uint8_t *p = kvmi_session_output(dom->sess, &len);
		ssize_t n;

		if (!len || !kvmi__dom_open(dom))
			break;
		n = send(dom->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			dom->writes++;
			dom->bytes_out += (uint64_t)n;
			if (dom->capture &&
			    kvmi_capture_writer_add(dom->capture,
						    KVMI_CAPTURE_DATA,
						    KVMI_DIR_TOOL_TO_HOST,
						    UINT64_MAX, p,
						    (size_t)n) < 0)
				kvmi_dom_capture_stop(dom);
			kvmi_session_output_done(dom->sess, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		err = n < 0 ? -errno : -EPIPE;
		if (err == -EPIPE)
			err = -ECONNRESET;
		break;
	}
	if (err) {
		kvmi__dom_fail(dom, err);
		return err;
	}
	kvmi__dom_update_poll(dom);
	return 0;
}

void kvmi__dom_output(struct kvmi_dom *dom)
{
	/* inside a tool callback the dispatch that runs it flushes when it
	 * returns; otherwise send at once */
	if (kvmi__dom_usable(dom) && dom->depth == 0)
		kvmi__dom_flush(dom);
}

/* ---- reading ---- */

int kvmi__dom_read(struct kvmi_dom *dom, int max_reads)
{
	struct kvmi_server *srv = dom->srv;

	for (int i = 0; i < max_reads && kvmi__dom_open(dom); i++) {
		ssize_t n = recv(dom->fd, srv->rbuf, sizeof(srv->rbuf),
				 MSG_DONTWAIT);
		ssize_t r;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0) {
			int err = n == 0 ? -ECONNRESET : -errno;

			kvmi__dom_fail(dom, err);
			return err;
		}
		dom->bytes_in += (uint64_t)n;
		if (dom->capture &&
		    kvmi_capture_writer_add(dom->capture, KVMI_CAPTURE_DATA,
					    KVMI_DIR_HOST_TO_TOOL, UINT64_MAX,
					    srv->rbuf, (size_t)n) < 0)
			kvmi_dom_capture_stop(dom);
		r = kvmi_session_recv(dom->sess, srv->rbuf, (size_t)n);
		if (r < 0) {
			kvmi__dom_fail(dom, (int)r);
			return (int)r;
		}
		if ((size_t)n < sizeof(srv->rbuf))
			return 0;
	}
	return 0;
}

/* ---- synchronous waits ---- */

void kvmi__sync_cb(struct kvmi_dom *dom, int result, void *ctx)
{
	struct kvmi__sync *sc = ctx;

	(void)dom;
	sc->result = result;
	sc->done = true;
}

int kvmi__dom_sync_wait(struct kvmi_dom *dom, struct kvmi__sync *sc)
{
	int err = 0;

	kvmi_dom_ref(dom);
	/* never block on writing alone: a host that stops reading us until
	 * we read its output would deadlock; write what the socket takes
	 * and keep reading while the rest waits for POLLOUT */
	kvmi__dom_flush(dom);
	for (;;) {
		struct pollfd p = {.fd = dom->fd, .events = POLLIN};
		uint64_t now, due;
		size_t pending;
		int r;

		kvmi__sess_deliver_sync(dom->sess);
		if (sc->done || !kvmi__dom_usable(dom))
			break;
		now = kvmi__now_ms();
		if (kvmi_session_expire(dom->sess, now) < 0) {
			kvmi__dom_fail(dom, -ETIMEDOUT);
			continue;
		}
		due = kvmi_session_next_deadline(dom->sess);
		kvmi_session_output(dom->sess, &pending);
		if (pending)
			p.events |= POLLOUT;
		r = poll(&p, 1, due == UINT64_MAX ? -1 : (int)(due - now) + 1);
		if (r < 0 && errno != EINTR) {
			kvmi__dom_fail(dom, -errno);
			continue;
		}
		if (r <= 0)
			continue;
		if (p.revents & POLLOUT)
			kvmi__dom_flush(dom);
		if (p.revents & (POLLIN | POLLHUP | POLLERR))
			kvmi__dom_read(dom, 1);
	}
	/* a failed domain finished every command: deliver ours */
	kvmi__sess_deliver_sync(dom->sess);
	err = sc->done ? sc->result : -ENOTCONN;
	if (kvmi_session_has_work(dom->sess) && dom->depth == 0)
		kvmi__dom_schedule_dispatch(dom);
	kvmi__dom_timer_update(dom);
	kvmi_dom_unref(dom);
	return err;
}

/* handshake: QEMU's struct; 1 when complete, 0 for more, <0 error */
static int handshake_read(struct kvmi_dom *dom)
{
	uint8_t chunk[4096];

	for (;;) {
		size_t want = kvmi__hs_want(&dom->hs);
		ssize_t n;
		int r;

		n = recv(dom->fd, chunk, want < sizeof(chunk) ? want : sizeof(chunk),
			 MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0)
			return n == 0 ? -ECONNRESET : -errno;
		dom->bytes_in += (uint64_t)n;
		r = kvmi__hs_feed(&dom->hs, chunk, (size_t)n);
		if (r == KVMI_E_HANDSHAKE_SIZE)
			kvmi__log(dom->srv, dom, KVMI_LOG_ERROR,
				  "QEMU handshake struct_size %u is outside "
				  "%u..%u",
				  dom->hs.size, KVMI_HANDSHAKE_MIN_QEMU_SIZE,
				  KVMI_HANDSHAKE_MAX_QEMU_SIZE);
		if (r)
			return r;
	}
}

static int handshake_finish(struct kvmi_dom *dom)
{
	struct kvmi_server *srv = dom->srv;
	struct kvmi_introspector2qemu reply = {.struct_size = sizeof(reply)};
	struct kvmi_guest_identity *id = &dom->identity;
	int err;

	kvmi__hs_identity(&dom->hs, id);

	if (srv->cfg.handshake) {
		err = srv->cfg.handshake(srv, id, srv->cfg.ctx);
		if (err < 0) {
			kvmi__log(srv, dom, KVMI_LOG_WARNING,
				  "handshake callback refused the guest (%d)",
				  err);
			return KVMI_E_HANDSHAKE_REFUSED;
		}
	}
	memcpy(reply.cookie_hash, srv->cookie, sizeof(reply.cookie_hash));
	err = kvmi__out_append(dom->sess, &reply, sizeof(reply));
	if (err)
		return err;
	kvmi__log(srv, dom, KVMI_LOG_DEBUG,
		  "handshake: struct_size %u, start_time %lld", dom->hs.size,
		  (long long)id->start_time);
	kvmi__dom_start_session(dom);
	return 0;
}

int kvmi__dom_handshake_input(struct kvmi_dom *dom)
{
	int r = handshake_read(dom);

	return r == 1 ? handshake_finish(dom) : r;
}
