/*
 * libkvmi - domain.c: one guest connection, whatever loop drives it:
 * the domain's state (handshake, start-up, ready, draining, closing),
 * what it wants watched (the socket's readiness, one deadline - the
 * handshake timeout, then the session's and the extensions' - and a
 * dispatch for the next iteration), kvmi__dom_process that acts on what
 * came, dispatch, the closing drain and the close/free lifecycle.
 *
 * Nothing here waits or names a loop: a driver (struct kvmi__driver:
 * uv_binding.c on the server's libuv loop, own_loop.c on the tool's)
 * watches what the domain wants and calls kvmi__dom_process.  The
 * socket's bytes: dom_io.c; the accessors: dom_info.c.  Bytes read go
 * into the session (which calls nothing back); what the session has to
 * deliver is dispatched afterwards, so no tool code ever runs while input
 * is being parsed.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "alloc.h"
#include "internal.h"

static void dom_dispatch(struct kvmi_dom *dom);

static void drain_end(struct kvmi_dom *dom, const char *why);

/* tell the driver what the domain wants now; inside kvmi__dom_process
 * it looks once, when the outermost process returns */
static void changed(struct kvmi_dom *dom)
{
	dom->dirty = true;
	if (dom->in_process)
		return;
	dom->dirty = false;
	dom->drv->update(dom);
}

static void set_due(struct kvmi_dom *dom, uint64_t due)
{
	if (due == dom->due)
		return;
	dom->due = due;
	changed(dom);
}

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
void kvmi__dom_update_poll(struct kvmi_dom *dom)
{
	size_t pending;
	int ev = POLLIN;
	bool full;

	if (!kvmi__dom_open(dom))
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
		ev |= POLLOUT;
	if (ev == dom->want)
		return;
	dom->want = ev;
	changed(dom);
}

/* ---- the one deadline ---- */

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
	if (!kvmi__dom_usable(dom) || dom->state != KVMI__DOM_READY)
		return; /* the handshake timeout runs until ready */
	set_due(dom, next_due(dom));
}

/* the deadline came */
static void on_due(struct kvmi_dom *dom, uint64_t now)
{
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
	dom->due = UINT64_MAX; /* recomputed below */
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

/* (out of line: kvmi_dom_unref runs several times per event and stays a
 * decrement and a test) */
__attribute__((noinline, cold)) static void dom_free(struct kvmi_dom *dom)
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
 * The driver let go of a closed domain: close the fd, deliver the failed
 * commands' callbacks, tell the extensions and then the tool (from the
 * loop, never from inside one of its own frames), and drop the
 * connection's reference.
 */
void kvmi__dom_released(struct kvmi_dom *dom)
{
	struct kvmi_server *srv = dom->srv;

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
	dom->want = 0;
	dom->run_soon = false;
	dom->due = UINT64_MAX;
	dom->drv->release(dom);
}

static void drain_begin(struct kvmi_dom *dom, uint32_t mark);

/* the extensions take their hooks back (and answer the open events);
 * the number of restores they queued */
static unsigned int take_hooks_back(struct kvmi_dom *dom, bool by_tool)
{
	unsigned int n = 0;

	for (struct kvmi__ext *e = dom->exts; e; e = e->next)
		if (e->ops->closing)
			n += e->ops->closing(dom, by_tool, e->state);
	return n;
}

KVMI_EXPORT void kvmi_dom_close(struct kvmi_dom *dom)
{
	unsigned int restores = 0;
	uint32_t mark;
	size_t n;

	if (!kvmi__dom_usable(dom))
		return;
	/* the library's hooks still in the guest go first, as when the
	 * library closes on its own: the guest never keeps them */
	mark = kvmi__sess_drain_mark(dom->sess);
	if (dom->state == KVMI__DOM_READY)
		restores = take_hooks_back(dom, true);
	/* events received but never dispatched get the default reply now:
	 * what the host would assume, said explicitly, so every event the
	 * tool read is answered exactly once */
	n = kvmi__events_answer_queued(dom->sess);
	kvmi__log(dom->srv, dom, KVMI_LOG_INFO,
		  "closing the connection (%zu undispatched events answered "
		  "CONTINUE, %u hook restores sent first)",
		  n, restores);
	if (restores) {
		kvmi_session_fail(dom->sess, -ENOTCONN);
		drain_begin(dom, mark);
		return;
	}
	kvmi__dom_flush(dom); /* best effort: we are closing */
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
	case -EIO:
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
	dom->run_soon = false;
	dom->due = UINT64_MAX;
	set_due(dom, dom->drain_since + KVMI__CLOSING_DRAIN_MS);
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
		if (take_hooks_back(dom, false)) {
			kvmi_session_fail(dom->sess, err);
			drain_begin(dom, mark);
			return;
		}
		kvmi__dom_flush(dom); /* the answers to the open events */
	}
	if (kvmi__dom_usable(dom)) /* (a failed flush tore it down) */
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

struct kvmi_dom *kvmi__dom_new(struct kvmi_server *srv, int fd,
			       const struct kvmi__driver *drv)
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
	dom->srv = srv;
	dom->fd = fd;
	dom->drv = drv;
	dom->due = UINT64_MAX;
	if (kvmi_session_new(&scfg, &cbs, dom, &dom->sess) < 0 ||
	    drv->init(dom) < 0) {
		kvmi_session_free(dom->sess);
		free(dom);
		return NULL;
	}
	dom->refs = 1;
	dom->state = KVMI__DOM_HANDSHAKE;
	dom->prev = srv->doms_tail;
	if (srv->doms_tail)
		srv->doms_tail->next = dom;
	else
		srv->doms = dom;
	srv->doms_tail = dom;
	return dom;
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
	if (dom->run_soon) {
		dom->run_soon = false;
		dom->dirty = true; /* the driver sees it with the next look */
	}
	kvmi_session_dispatch(dom->sess);
	/* (a domain that began its closing drain meanwhile failed its
	 * session itself: it goes on draining) */
	if (kvmi_session_error(dom->sess) && kvmi__dom_usable(dom))
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

void kvmi__dom_schedule_dispatch(struct kvmi_dom *dom)
{
	if (!kvmi__dom_usable(dom) || dom->run_soon)
		return;
	dom->run_soon = true;
	changed(dom);
}

/* ---- start-up: handshake, then GET_VERSION and GET_GUEST_INFO ---- */

static void on_ready(struct kvmi_session *s, void *user)
{
	struct kvmi_dom *dom = user;
	struct kvmi_server *srv = dom->srv;
	int err;

	set_due(dom, UINT64_MAX); /* the handshake timeout is over */
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

/* the socket's error after POLLERR (0 when it has none left) */
static int socket_error(int fd)
{
	int so = 0;
	socklen_t sl = sizeof(so);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &sl) < 0)
		return -errno;
	return -so;
}

/* the socket is ready (@revents); true when the input was dispatched */
static bool dom_io(struct kvmi_dom *dom, int revents)
{
	bool input = revents & (POLLIN | POLLHUP);

	if (revents & (POLLERR | POLLNVAL)) {
		/* a reset with our bytes unread shows as POLLERR: the
		 * socket's own error says what happened */
		int err = revents & POLLNVAL ? -EBADF : socket_error(dom->fd);

		kvmi__dom_fail(dom, err ? err : -EIO);
		return false;
	}
	if (revents & POLLOUT)
		kvmi__dom_flush(dom);
	if (dom->state == KVMI__DOM_DRAINING) {
		if (input)
			kvmi__dom_read(dom, 4);
		drain_step(dom);
		return false;
	}
	if (!input || !kvmi__dom_usable(dom))
		return false;
	if (dom->state == KVMI__DOM_HANDSHAKE) {
		int r = kvmi__dom_handshake_input(dom);

		if (r < 0)
			kvmi__dom_fail(dom, r);
		return false;
	}
	if (kvmi__dom_read(dom, 4) < 0)
		return false;
	dom_dispatch(dom);
	return true;
}

int kvmi__dom_process(struct kvmi_dom *dom, int revents)
{
	bool dispatched = false;
	int closed;

	kvmi_dom_ref(dom);
	dom->in_process++;
	if (revents && kvmi__dom_open(dom))
		dispatched = dom_io(dom, revents);
	if (kvmi__dom_open(dom) && dom->due != UINT64_MAX) {
		uint64_t now = kvmi__now_ms();

		if (now >= dom->due) {
			on_due(dom, now);
			dispatched = true;
		}
	}
	/* a dispatch left for this iteration, unless one just ran: what
	 * arrived since waits for the next one */
	if (dom->run_soon && !dispatched)
		dom_dispatch(dom);
	dom->in_process--;
	closed = dom->state >= KVMI__DOM_CLOSING;
	if (dom->dirty)
		changed(dom);
	kvmi_dom_unref(dom);
	return closed;
}

void kvmi__dom_begin(struct kvmi_dom *dom)
{
	dom->want = POLLIN;
	dom->due = kvmi__now_ms() + dom->srv->cfg.handshake_timeout_ms;
	changed(dom);
}

/* called by the server for an accepted connection */
int kvmi__dom_accepted(struct kvmi_server *srv, int fd)
{
	struct kvmi_dom *dom = kvmi__dom_new(srv, fd, &kvmi__uv_driver);

	if (!dom)
		return -ENOMEM;
	kvmi__dom_begin(dom);
	return 0;
}
