/*
 * libkvmi - domain.c: one guest connection on the libuv loop: QEMU's
 * handshake, the session's bytes in and out of the socket, the domain's
 * one timer (handshake timeout, then the session's and the extensions'
 * deadlines), dispatch from the loop, synchronous waits, the closing
 * drain and the close/free lifecycle (the accessors: dom_info.c).
 *
 * The socket is non-blocking and watched with a uv_poll_t; all reads and
 * writes are ours.  Bytes read go into the session (which calls nothing
 * back); what the session has to deliver is dispatched afterwards, from
 * the loop, so no tool code ever runs while input is being parsed.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "alloc.h"
#include "internal.h"

static void on_poll(uv_poll_t *h, int status, int events);
static void on_timer(uv_timer_t *t);
static void dom_dispatch(struct kvmi_dom *dom);

int kvmi__dom_usable(const struct kvmi_dom *dom)
{
	return dom && dom->state < KVMI__DOM_DRAINING;
}

/* the socket is still ours to read and write: usable, or draining */
static bool dom_open(const struct kvmi_dom *dom)
{
	return dom && dom->state <= KVMI__DOM_DRAINING;
}

static void drain_end(struct kvmi_dom *dom, const char *why);

/* the time a domain may stay past its output bound (cfg.output_stall_ms,
 * 0: its command timeout) */
static uint64_t out_stall_ms(const struct kvmi_dom *dom)
{
	unsigned int ms = dom->srv->cfg.output_stall_ms;

	return ms ? ms : dom->sess->cfg.command_timeout_ms;
}

/* watch for writability only while output waits; restarting the poll
 * handle costs two epoll_ctl calls, so only when that changes.  Past the
 * output bound, stop reading: a host that does not read our replies gets
 * no more of them (its vCPUs wait for them anyway) until it does */
static void update_poll(struct kvmi_dom *dom)
{
	size_t pending;
	int ev = UV_READABLE;
	bool full;

	if (!dom_open(dom))
		return;
	kvmi_session_output(dom->sess, &pending);
	full = pending > dom->srv->cfg.output_max;
	if (full != (dom->out_full_since != 0)) {
		dom->out_full_since = full ? kvmi__now_ms() | 1 : 0;
		if (full)
			kvmi__log(dom->srv, dom, KVMI_LOG_WARNING,
				  "the host does not read: %zu bytes unsent "
				  "(bound %zu), reading paused",
				  pending, dom->srv->cfg.output_max);
		kvmi__dom_timer_update(dom);
	}
	if (full)
		ev = 0;
	if (pending)
		ev |= UV_WRITABLE;
	if (ev == dom->poll_events)
		return;
	dom->poll_events = ev;
#ifdef KVMI_TEST_HOOKS
	dom->poll_restarts++;
#endif
	uv_poll_start(&dom->poll, ev, on_poll);
}

/* ---- the one timer ---- */

static uint64_t next_due(struct kvmi_dom *dom)
{
	uint64_t due = kvmi_session_next_deadline(dom->sess);

	for (struct kvmi__ext *e = dom->exts; e; e = e->next) {
		uint64_t d;

		if (!e->ops->deadline)
			continue;
		d = e->ops->deadline(dom, e->state);
		if (d < due)
			due = d;
	}
	if (dom->out_full_since && dom->out_full_since + out_stall_ms(dom) < due)
		due = dom->out_full_since + out_stall_ms(dom);
	return due;
}

void kvmi__dom_timer_update(struct kvmi_dom *dom)
{
	uint64_t due, now;

	if (!kvmi__dom_usable(dom) || dom->state != KVMI__DOM_READY)
		return; /* the handshake timeout runs until ready */
	due = next_due(dom);
	if (due == dom->timer_due)
		return;
	dom->timer_due = due;
	if (due == UINT64_MAX) {
		uv_timer_stop(&dom->timer);
		return;
	}
	now = kvmi__now_ms();
	uv_timer_start(&dom->timer, on_timer, due > now ? due - now : 0, 0);
}

static void on_timer(uv_timer_t *t)
{
	struct kvmi_dom *dom = t->data;
	uint64_t now = kvmi__now_ms();

	if (dom->state == KVMI__DOM_DRAINING) {
		drain_end(dom, "deadline");
		return;
	}
	if (!kvmi__dom_usable(dom))
		return;
	if (dom->state != KVMI__DOM_READY) {
		kvmi__log(dom->srv, dom, KVMI_LOG_ERROR,
			  "%s did not complete within %u ms",
			  dom->state == KVMI__DOM_HANDSHAKE ? "QEMU handshake"
							    : "start-up",
			  dom->srv->cfg.handshake_timeout_ms);
		kvmi__dom_fail(dom, -ETIMEDOUT);
		return;
	}
	if (dom->out_full_since && now >= dom->out_full_since + out_stall_ms(dom)) {
		kvmi__log(dom->srv, dom, KVMI_LOG_ERROR,
			  "the host read none of our output for %u ms past "
			  "the %zu-byte bound",
			  (unsigned int)out_stall_ms(dom),
			  dom->srv->cfg.output_max);
		kvmi__dom_fail(dom, -ENOBUFS);
		return;
	}
	kvmi_dom_ref(dom);
	dom->timer_due = UINT64_MAX;
	if (kvmi_session_expire(dom->sess, now) < 0)
		kvmi__dom_fail(dom, -ETIMEDOUT);
	for (struct kvmi__ext *e = dom->exts; e && kvmi__dom_usable(dom);
	     e = e->next)
		if (e->ops->expire && e->ops->deadline &&
		    e->ops->deadline(dom, e->state) <= now)
			e->ops->expire(dom, now, e->state);
	if (kvmi__dom_usable(dom)) {
		dom_dispatch(dom);
		kvmi__dom_timer_update(dom);
	}
	kvmi_dom_unref(dom);
}

/* ---- lifecycle ---- */

static void dom_free(struct kvmi_dom *dom)
{
	struct kvmi__ext *e;

	kvmi_session_free(dom->sess);
	while ((e = dom->exts) != NULL) {
		dom->exts = e->next;
		if (e->ops->free)
			e->ops->free(dom, e->state);
		free(e);
	}
	kvmi__handlers_free(dom->handlers);
	if (dom->capture)
		kvmi_capture_writer_close(dom->capture);
	free(dom);
}

KVMI_EXPORT void kvmi_dom_ref(struct kvmi_dom *dom)
{
	if (dom)
		dom->refs++;
}

KVMI_EXPORT void kvmi_dom_unref(struct kvmi_dom *dom)
{
	if (!dom || !dom->refs)
		return;
	if (--dom->refs == 0)
		dom_free(dom);
}

/*
 * The last handle of a closed domain is released: close the fd, deliver
 * the failed commands' callbacks, tell the extensions and then the tool
 * (from the loop, never from inside one of its own frames), and drop the
 * connection's reference.
 */
static void on_handle_closed(uv_handle_t *h)
{
	struct kvmi_dom *dom = h->data;
	struct kvmi_server *srv = dom->srv;

	if (--dom->open_handles)
		return;
	if (dom->fd >= 0)
		close(dom->fd);
	dom->fd = -1;
	dom->state = KVMI__DOM_CLOSED;
	while (kvmi_session_dispatch(dom->sess) > 0)
		;
	for (struct kvmi__ext *e = dom->exts; e; e = e->next)
		if (e->ops->gone)
			e->ops->gone(dom, e->state);
	if (dom->reported && !dom->disconnected) {
		dom->disconnected = true;
		if (srv->cfg.disconnect)
			srv->cfg.disconnect(dom, dom->error, srv->cfg.ctx);
	}
	kvmi_dom_unref(dom); /* the connection's reference */
	srv->closing_doms--;
	kvmi__server_maybe_free(srv);
}

void kvmi__dom_unlink(struct kvmi_dom *dom)
{
	struct kvmi_server *srv = dom->srv;

	if (!dom->prev && srv->doms != dom)
		return; /* not linked */
	if (dom->prev)
		dom->prev->next = dom->next;
	else
		srv->doms = dom->next;
	if (dom->next)
		dom->next->prev = dom->prev;
	else
		srv->doms_tail = dom->prev;
	dom->next = dom->prev = NULL;
	if (dom->reported)
		srv->ndoms_ready--;
	kvmi__server_check_empty(srv);
}

static void teardown(struct kvmi_dom *dom, int err)
{
	struct kvmi_server *srv = dom->srv;
	bool counted = dom->state == KVMI__DOM_DRAINING;

	dom->state = KVMI__DOM_CLOSING;
	if (dom->fd >= 0)
		shutdown(dom->fd, SHUT_RDWR);
	kvmi_session_fail(dom->sess, err);
	if (dom->capture) {
		kvmi_capture_writer_add(dom->capture, KVMI_CAPTURE_EOF,
					KVMI_DIR_TOOL_TO_HOST, UINT64_MAX, NULL,
					0);
		kvmi_capture_writer_close(dom->capture);
		dom->capture = NULL;
	}
	/* the disconnect callback comes when the handles are closed */
	if (!counted) {
		srv->closing_doms++;
		kvmi__dom_unlink(dom);
	}
	uv_poll_stop(&dom->poll);
	uv_close((uv_handle_t *)&dom->poll, on_handle_closed);
	uv_close((uv_handle_t *)&dom->timer, on_handle_closed);
	uv_close((uv_handle_t *)&dom->idle, on_handle_closed);
}

KVMI_EXPORT void kvmi_dom_close(struct kvmi_dom *dom)
{
	size_t n;

	if (!kvmi__dom_usable(dom))
		return;
	/* events received but never dispatched get the default reply now:
	 * what the host would assume, said explicitly, so every event the
	 * tool read is answered exactly once */
	n = kvmi__events_answer_queued(dom->sess);
	kvmi__dom_flush(dom); /* best effort: we are closing */
	kvmi__log(dom->srv, dom, KVMI_LOG_INFO,
		  "closing the connection (%zu undispatched events answered "
		  "CONTINUE)",
		  n);
	if (kvmi__dom_usable(dom))
		teardown(dom, -ENOTCONN);
}

/* errors after which nothing more can be sent to the host meaningfully:
 * the socket is gone, or we can no longer tell where its messages start */
static bool stream_lost(int err)
{
	switch (err) {
	case -ECONNRESET:
	case -EPIPE:
	case -ENOTCONN:
	case -EBADF:
		return true;
	default:
		return err <= KVMI_E_MSG_TOO_BIG && err >= KVMI_E_DECODER_FAILED;
	}
}

/* how long a domain the library closes on its own may take to get its
 * restores confirmed, answering the events that keep arriving meanwhile */
#define KVMI__CLOSING_DRAIN_MS 200

/*
 * Closing on the library's own initiative with hooks placed: the
 * extensions queued their restores and answers; the domain leaves the
 * server's list and stops serving the tool, but keeps reading and
 * writing from the loop (no other guest waits): every event the host
 * raised before it applied the restores (a vCPU that reached one of our
 * INT3s meanwhile) is answered, until the host confirms the restores
 * (the reply to the last one), the socket goes, or the deadline.
 */
static void drain_begin(struct kvmi_dom *dom, uint32_t mark)
{
	kvmi__sess_drain_begin(dom->sess, mark);
	dom->state = KVMI__DOM_DRAINING;
	dom->drain_since = kvmi__now_ms();
	dom->srv->closing_doms++;
	kvmi__dom_unlink(dom);
	uv_idle_stop(&dom->idle);
	dom->timer_due = UINT64_MAX;
	uv_timer_start(&dom->timer, on_timer, KVMI__CLOSING_DRAIN_MS, 0);
	kvmi__dom_flush(dom);
}

/* the drain read or wrote: answer what came, end when confirmed */
static void drain_step(struct kvmi_dom *dom)
{
	size_t pending;

	if (dom->state != KVMI__DOM_DRAINING)
		return;
	for (struct kvmi__ext *e = dom->exts; e; e = e->next)
		if (e->ops->drain)
			e->ops->drain(dom, e->state);
	kvmi__dom_flush(dom);
	if (dom->state != KVMI__DOM_DRAINING)
		return; /* the flush found the socket gone */
	kvmi_session_output(dom->sess, &pending);
	if (!pending && !kvmi__sess_drain_waits(dom->sess))
		drain_end(dom, kvmi__sess_drain_confirmed(dom->sess)
				       ? "confirmed"
				       : "nothing to confirm");
}

static void drain_end(struct kvmi_dom *dom, const char *why)
{
	size_t pending;

	kvmi_session_output(dom->sess, &pending);
	/* the outcome of the closing restores: worth an operator's eye
	 * either way (the guest's state depends on it) */
	kvmi__log(dom->srv, dom, KVMI_LOG_WARNING,
		  "closing: the host %s the restores (%s, after %llu ms, "
		  "%zu bytes unsent)",
		  kvmi__sess_drain_confirmed(dom->sess) ? "confirmed"
							: "did not confirm",
		  why,
		  (unsigned long long)(kvmi__now_ms() - dom->drain_since),
		  pending);
	teardown(dom, dom->error);
}

void kvmi__dom_fail(struct kvmi_dom *dom, int err)
{
	uint32_t mark;

	if (dom && dom->state == KVMI__DOM_DRAINING) {
		/* the socket went while draining: nothing more to do */
		drain_end(dom, kvmi_err_name(err));
		return;
	}
	if (!kvmi__dom_usable(dom))
		return;
	dom->error = err;
	kvmi__log(dom->srv, dom,
		  err == -ECONNRESET ? KVMI_LOG_INFO : KVMI_LOG_ERROR,
		  "connection closed: %s (%s)", kvmi_strerror(err),
		  kvmi_err_name(err));
	if (dom->state == KVMI__DOM_READY && !stream_lost(err) && dom->exts) {
		/* closing on our own initiative: take the hooks back first
		 * (the open events are still there to be answered) */
		mark = kvmi__sess_drain_mark(dom->sess);
		for (struct kvmi__ext *e = dom->exts; e; e = e->next)
			if (e->ops->closing)
				e->ops->closing(dom, e->state);
		kvmi_session_fail(dom->sess, err);
		drain_begin(dom, mark);
		return;
	}
	teardown(dom, err);
}

static void on_sess_log(struct kvmi_session *s, enum kvmi_log_level level,
			const char *msg, void *user)
{
	(void)s;
	kvmi__log(((struct kvmi_dom *)user)->srv, user, level, "%s", msg);
}

static void on_ready(struct kvmi_session *s, void *user);

static void on_sess_wake(struct kvmi_session *s, void *user)
{
	(void)s;
	kvmi__dom_output(user);
}

struct kvmi_dom *kvmi__dom_new(struct kvmi_server *srv, int fd)
{
	struct kvmi_session_config scfg = {
		.size = sizeof(scfg),
		.max_vcpus = srv->cfg.max_vcpus,
		.command_timeout_ms = srv->cfg.command_timeout_ms,
		.force_dialect = srv->cfg.force_dialect,
	};
	struct kvmi_session_callbacks cbs = {
		.ready = on_ready,
		.event = kvmi__dom_on_event,
		.unhook = kvmi__dom_on_unhook,
		.log = on_sess_log,
		.wake = on_sess_wake,
	};
	struct kvmi_dom *dom = kvmi__calloc(1, sizeof(*dom));

	if (!dom)
		return NULL;
	if (kvmi_session_new(&scfg, &cbs, dom, &dom->sess) < 0 ||
	    uv_poll_init_socket(srv->loop, &dom->poll, fd) < 0) {
		kvmi_session_free(dom->sess);
		free(dom);
		return NULL;
	}
	dom->srv = srv;
	dom->fd = fd;
	dom->refs = 1;
	dom->state = KVMI__DOM_HANDSHAKE;
	dom->timer_due = UINT64_MAX;
	uv_timer_init(srv->loop, &dom->timer);
	uv_idle_init(srv->loop, &dom->idle);
	dom->poll.data = dom->timer.data = dom->idle.data = dom;
	dom->open_handles = 3;
	dom->prev = srv->doms_tail;
	if (srv->doms_tail)
		srv->doms_tail->next = dom;
	else
		srv->doms = dom;
	srv->doms_tail = dom;
	return dom;
}

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

		if (!len || !dom_open(dom))
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
	update_poll(dom);
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

/* read what is available (at most @max_reads buffers) into the session;
 * 0, or the error that failed the domain */
static int read_input(struct kvmi_dom *dom, int max_reads)
{
	struct kvmi_server *srv = dom->srv;

	for (int i = 0; i < max_reads && dom_open(dom); i++) {
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
			read_input(dom, 1);
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

/* ---- dispatch from the loop ---- */

static void tell_vcpus(struct kvmi_dom *dom)
{
	unsigned int n = kvmi_session_vcpu_count(dom->sess);

	if (n <= dom->vcpus_told || dom->state != KVMI__DOM_READY)
		return;
	dom->vcpus_told = n;
	for (struct kvmi__ext *e = dom->exts; e && kvmi__dom_usable(dom);
	     e = e->next)
		if (e->ops->vcpus)
			e->ops->vcpus(dom, n, e->state);
}

/*
 * Deliver what the session received so far, oldest first.  What arrives
 * meanwhile (a handler's synchronous command reads the socket) waits for
 * the next loop iteration: a guest that keeps its handlers busy must not
 * hold the loop, and every other guest, timer and signal, forever.
 */
static void dom_dispatch(struct kvmi_dom *dom)
{
	if (!kvmi__dom_usable(dom) || dom->depth)
		return;
	kvmi_dom_ref(dom);
	kvmi_session_dispatch(dom->sess);
	if (kvmi_session_error(dom->sess))
		kvmi__dom_fail(dom, kvmi_session_error(dom->sess));
	tell_vcpus(dom);
	if (kvmi__dom_usable(dom)) {
		if (kvmi_session_has_work(dom->sess))
			kvmi__dom_schedule_dispatch(dom);
		kvmi__dom_flush(dom);
		kvmi__dom_timer_update(dom);
	}
	kvmi_dom_unref(dom);
}

static void on_idle(uv_idle_t *h)
{
	struct kvmi_dom *dom = h->data;

	uv_idle_stop(h);
	dom_dispatch(dom);
}

void kvmi__dom_schedule_dispatch(struct kvmi_dom *dom)
{
	if (kvmi__dom_usable(dom))
		uv_idle_start(&dom->idle, on_idle);
}

/* ---- start-up: handshake, then GET_VERSION and GET_GUEST_INFO ---- */

static void on_ready(struct kvmi_session *s, void *user)
{
	struct kvmi_dom *dom = user;
	struct kvmi_server *srv = dom->srv;
	int err;

	uv_timer_stop(&dom->timer);
	dom->state = KVMI__DOM_READY;
	dom->reported = true;
	srv->ndoms_ready++;
	kvmi__log(srv, dom, KVMI_LOG_INFO,
		  "guest connected: KVMI version %u, %u vCPUs",
		  kvmi_session_version(s), kvmi_session_vcpu_count(s));
	dom->depth++;
	err = srv->cfg.new_domain(dom, srv->cfg.ctx);
	dom->depth--;
	if (err < 0 && kvmi__dom_usable(dom)) {
		kvmi__log(srv, dom, KVMI_LOG_INFO,
			  "new_domain callback refused the guest (%d)", err);
		kvmi_dom_close(dom);
	}
}

void kvmi__dom_start_session(struct kvmi_dom *dom)
{
	int err;

	dom->state = KVMI__DOM_INIT;
	err = kvmi_session_start(dom->sess);
	if (err) {
		kvmi__dom_fail(dom, err);
		return;
	}
	kvmi__dom_flush(dom);
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

static void on_poll(uv_poll_t *h, int status, int events)
{
	struct kvmi_dom *dom = h->data;

	if (!dom_open(dom))
		return;
	kvmi_dom_ref(dom);
	if (status < 0) {
		/* libuv reports a socket error (a reset with our bytes
		 * unread) as UV_EBADF: the socket's own error says what */
		int so = 0;
		socklen_t sl = sizeof(so);

		if (getsockopt(dom->fd, SOL_SOCKET, SO_ERROR, &so, &sl) == 0 &&
		    so)
			status = -so;
		kvmi__dom_fail(dom, status);
		goto out;
	}
	if (events & UV_WRITABLE)
		kvmi__dom_flush(dom);
	if (dom->state == KVMI__DOM_DRAINING) {
		if (events & (UV_READABLE | UV_DISCONNECT))
			read_input(dom, 4);
		drain_step(dom);
		goto out;
	}
	if (!(events & (UV_READABLE | UV_DISCONNECT)) || !kvmi__dom_usable(dom))
		goto out;
	if (dom->state == KVMI__DOM_HANDSHAKE) {
		int r = handshake_read(dom);

		if (r == 1)
			r = handshake_finish(dom);
		if (r < 0)
			kvmi__dom_fail(dom, r);
		goto out;
	}
	if (read_input(dom, 4) == 0)
		dom_dispatch(dom);
out:
	kvmi_dom_unref(dom);
}

/* called by the server for an accepted connection */
int kvmi__dom_accepted(struct kvmi_server *srv, int fd)
{
	struct kvmi_dom *dom = kvmi__dom_new(srv, fd);

	if (!dom)
		return -ENOMEM;
	uv_timer_start(&dom->timer, on_timer, srv->cfg.handshake_timeout_ms, 0);
	dom->poll_events = UV_READABLE;
	uv_poll_start(&dom->poll, UV_READABLE, on_poll);
	return 0;
}
